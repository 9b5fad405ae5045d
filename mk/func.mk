# Compatibility with the real knative func CLI (kn func), without a container
# engine. The CLI is built from tools/go.mod, which pins knative.dev/func, into
# tools/bin/func (ignored); scripts/func-e2e.sh says what is checked.
#
#   make func-check        build the CLI, then build (host builder), run, invoke
#                          and stop the function with it; fails on any mismatch
#   make func-cli          only build tools/bin/func and tools/bin/funccheck
#   make func-tools-test   test tools/funccheck, the script's checker

.PHONY: func-check func-cli func-tools-test
func-check: ## Build, run and invoke the function with the pinned func CLI (host builder).
	scripts/func-e2e.sh

func-cli: ## Build the pinned func CLI into tools/bin/func.
	scripts/func-e2e.sh --tools-only

func-tools-test: ## Test tools/funccheck, the checker func-check uses.
	cd tools/funccheck && $(GO) vet ./... && $(GO) test -race -count=1 ./...
