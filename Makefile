# The README's two commands: `make run` and `make test`.
GO ?= go
CONFIG ?= configs/iwf.yaml

.PHONY: run test deps vet lint bench fuzz stress chaos

run:
	$(GO) run ./cmd/iwf -config $(CONFIG)

# test installs what the tests need when it is missing, then runs every test
# with the race detector.
test: deps
	$(GO) test -race -count=1 -timeout 20m ./...

deps:
	./scripts/deps.sh

# vet and lint look at the chaos suite too, which only builds with its tag.
vet:
	$(GO) vet ./...
	$(GO) vet -tags chaos ./cmd/iwf/ ./store/

lint: vet
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck ./...
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck -tags chaos ./cmd/iwf/ ./store/

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# stress runs every test three times with all cores kept busy by other
# processes (scripts/stress.sh): no test may depend on timing.
stress: deps
	./scripts/stress.sh

# chaos runs the chaos suite (cmd/iwf/chaos_test.go and the store's sentinel
# failover, store/failover_chaos_test.go; build tag chaos): the
# daemon, redis-server, an RCS core and partner ESMEs as real processes and
# sockets, one fault per scenario, and a table of what was acknowledged,
# delivered, lost and duplicated. About two minutes.
chaos: deps
	$(GO) test -race -tags chaos -run Chaos -count=1 -v -timeout 20m ./cmd/iwf/ ./store/
