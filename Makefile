# The developer's entry points. `make run` starts the local stack, `make test`
# runs the test suite; the README explains both. Area-specific targets live in
# mk/*.mk and are included below.
SHELL := /bin/bash
GO ?= go

.PHONY: help run test vet fmt-check unit bench
help: ## List the targets.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-20s %s\n", $$1, $$2}'

run: ## Start the local stack: embedded Kafka, the function, one dispatcher per handler.
	$(GO) run ./cmd/local run

test: fmt-check vet unit ## Run the whole test suite (KAFKA_BROKERS=host:port to use a real broker).

fmt-check: ## Fail when a Go file is not gofmt-formatted.
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: ## go vet every package.
	$(GO) vet ./...

unit: ## go test -race every package.
	$(GO) test -race -count=1 ./...

bench: ## Run the benchmarks and print the ratios the README quotes.
	$(GO) test -run '^$$' -bench . -benchtime 1x ./pkg/... 

-include mk/*.mk
