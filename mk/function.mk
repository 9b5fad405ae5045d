# The function on its own: the knative func-go CloudEvents runtime serving every
# handler over HTTP, with its state under $(FUNCTION_STATE) (the defaults of
# DATABASE_PATH and MAIL_OUTBOX_DIR).
#
#   make function        run it on $(FUNCTION_LISTEN) until Ctrl-C
#   make function-event  POST a user-created CloudEvent to it, once per handler
#   make function-test   run the function's and its handlers' tests

FUNCTION_LISTEN ?= 127.0.0.1:8080
FUNCTION_STATE ?= .local
FUNCTION_USER ?= u-1
# The event's data: a UserEvent (the line breaks become spaces, valid in JSON).
FUNCTION_EVENT_DATA = {"id":"$(FUNCTION_USER)","name":"Ada Lovelace","email":"ada@example.com",\
	"version":1,"created_at":"2024-05-01T10:00:00Z","updated_at":"2024-05-01T10:00:00Z"}

.PHONY: function function-event function-test
function: ## Run the function alone on $(FUNCTION_LISTEN) (outbox and database in ./.local).
	LISTEN_ADDRESS=$(FUNCTION_LISTEN) \
	DATABASE_PATH=$${DATABASE_PATH:-./$(FUNCTION_STATE)/users.db} \
	MAIL_OUTBOX_DIR=$${MAIL_OUTBOX_DIR:-./$(FUNCTION_STATE)/outbox} \
	LOG_LEVEL=$${LOG_LEVEL:-debug} \
		$(GO) run ./cmd/function

function-event: ## POST a user-created event (FUNCTION_USER) to the running function's handlers.
	@for h in welcome directory; do \
		curl -sS -o /dev/stderr -w "$$h: HTTP %{http_code}\n" http://$(FUNCTION_LISTEN)/ \
			-H "ce-specversion: 1.0" -H "ce-id: created-$(FUNCTION_USER)" \
			-H "ce-source: /make/function-event" \
			-H "ce-type: com.example.users.user.created" -H "ce-handler: $$h" \
			-H "Content-Type: application/json" \
			-d '$(FUNCTION_EVENT_DATA)'; \
	done

function-test: ## Test the function, its handlers and the packages they use.
	$(GO) test -race -count=1 . ./pkg/handler/... ./pkg/store/... ./pkg/mail/... ./functions/...
