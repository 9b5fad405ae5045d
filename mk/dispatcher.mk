# The dispatcher's tests and benchmark alone (`make test` and `make bench` run
# them with every other package).
#
#   make test-dispatcher    go test -race the dispatcher (KAFKA_BROKERS=host:port
#                           runs the same tests against a real broker)
#   make bench-dispatcher   dispatcher vs func-go's Kafka transport vs the
#                           CloudEvents receiver, 100k events, 3 rounds; then
#                           the per-record conversion and delivery cost

.PHONY: test-dispatcher bench-dispatcher
test-dispatcher: ## Run the dispatcher's tests with the race detector.
	$(GO) test -race -count=1 ./pkg/dispatcher/...

bench-dispatcher: ## Run the dispatcher throughput benchmark and print its ratios.
	$(GO) test -run '^$$' -bench Throughput -benchtime 3x ./pkg/dispatcher/
	$(GO) test -run '^$$' -bench Dispatch_Record ./pkg/dispatcher/
