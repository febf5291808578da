# The README's two commands: `make run` and `make test`.
GO ?= go
CONFIG ?= configs/iwf.yaml

.PHONY: run test deps vet lint bench fuzz stress

run:
	$(GO) run ./cmd/iwf -config $(CONFIG)

# test installs what the tests need when it is missing, then runs every test
# with the race detector.
test: deps
	$(GO) test -race -count=1 -timeout 20m ./...

deps:
	./scripts/deps.sh

vet:
	$(GO) vet ./...

lint: vet
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# stress runs every test three times with all cores kept busy by other
# processes (scripts/stress.sh): no test may depend on timing.
stress: deps
	./scripts/stress.sh
