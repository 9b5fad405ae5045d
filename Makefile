# The developer's entry points. `make run` starts the local stack, `make test`
# runs the test suite; the README explains both. Area-specific targets live in
# mk/*.mk and are included below.
SHELL := /bin/bash
GO ?= go

.PHONY: help run publish test vet fmt-check unit bench
help: ## List the targets.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-20s %s\n", $$1, $$2}'

run: ## Start the local stack: embedded Kafka, the function, one dispatcher per handler.
	$(GO) run ./cmd/local run

publish: ## Publish a demo burst: 1,000 user events for 100 users (the stack must run).
	$(GO) run ./cmd/local publish --count 1000 --users 100

test: fmt-check vet unit test-config func-tools-test ## Run every test (KAFKA_BROKERS=host:port: a real broker).

fmt-check: ## Fail when a Go file is not gofmt-formatted.
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: ## go vet every package.
	$(GO) vet ./...

unit: ## go test -race every package.
	$(GO) test -race -count=1 ./...

bench: bench-producer bench-dispatcher ## Run the benchmarks and print the ratios the README quotes.

-include mk/*.mk
