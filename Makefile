# paasd — run `make help` for the targets.
.DEFAULT_GOAL := help
GO ?= go

.PHONY: help run test test-short build bench lint fuzz

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-12s %s\n", $$1, $$2}'

run: ## run paasd on its embedded defaults
	$(GO) run ./cmd/paasd

test: ## install what the tests need, then run every test (what CI runs)
	bash scripts/test.sh

test-short: ## unit tests only, no system set-up
	$(GO) test -short ./...

build: ## build paasd and paas into bin/
	$(GO) build -o bin/ ./cmd/...

bench: ## run the Go benchmarks (see BENCHMARKS.md for the rest)
	$(GO) test -run '^$$' -bench . -benchmem ./...

lint: ## gofmt, go vet, staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
