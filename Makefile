# Gatehouse: the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
# Git metadata is not needed to build, and a root-owned CI checkout makes it an error.
export GOFLAGS := -buildvcs=false
HOST := internal/yaegihost
FUZZTIME ?= 10s
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck
STATICCHECK_VERSION := v0.8.2
MODULE := github.com/gatehouse-oidc/gatehouse

.PHONY: all test test-all test-under-load newcomer deps lint bench fuzz demo screenshots

all: test

## deps: install what the tests need and the machine lacks (redis-server, from Debian).
deps:
	@bash .ci/deps.sh

## test: every package's tests, compiled with -race and under Yaegi, with go test
## -short: the slow scenarios (most failovers, long concurrency runs) are left to
## test-all, and each says so. Both halves always run; one summary at the end.
test: deps
	@GO=$(GO) bash .ci/test.sh

## test-all: everything make test runs, and the slow scenarios too.
test-all: deps
	@GO=$(GO) bash .ci/test.sh all

## test-under-load: make test RUNS times (default 5) beside a CPU hog (stress-ng --cpu
## 2), stopping at the first failure, with each run's wall time.
RUNS ?= 5
test-under-load: deps
	@GO=$(GO) bash .ci/test-under-load.sh $(RUNS)

## newcomer: a fresh clone of the committed HEAD in a temporary directory, then what
## the README tells a new user to run: make test, and make demo until it answers
## (stopped with Ctrl-C's signal).
newcomer:
	@bash .ci/newcomer.sh

## lint: gofmt, go vet, staticcheck, Yaegi traps, and the standard-library-only rule.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd $(HOST) && $(GO) vet ./...
	@[ -x $(STATICCHECK) ] || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(STATICCHECK) ./...
	cd $(HOST) && $(STATICCHECK) ./...
	@if grep -qE '^\s*require' go.mod; then echo "go.mod: the root module must not require anything"; exit 1; fi
	@bad=$$($(GO) list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' . | grep -v '^$(MODULE)' || true); \
	  if [ -n "$$bad" ]; then echo "plugin code imports non-standard packages:"; echo "$$bad"; exit 1; fi
	cd $(HOST) && $(GO) run ./cmd/yaegilint ../..
	@echo "lint: clean"

## bench: Go benchmarks, compiled and under Yaegi, with the figures the docs quote;
## first the table of the cached paths under Yaegi against the pass-through floor.
bench: deps
	@GO=$(GO) bash .ci/bench-floor.sh
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...
	cd $(HOST) && $(GO) test -run '^$$' -bench . -skip 'BenchmarkYaegi(CachedPaths|Constructs)AgainstFloor' -benchmem -count=1 -timeout 30m ./...

## screenshots: photograph Gatehouse's pages at phone and desktop width in headless
## Chromium (the browser test of make test) into docs/screenshots for the README.
screenshots: deps
	cd $(HOST) && GATEHOUSE_SCREENSHOTS=1 $(GO) test -count=1 -run TestPagesRenderAtPhoneAndDesktopWidth ./demo/

## fuzz: a short run of every fuzz target (FUZZTIME each, default 10s).
fuzz:
	@bash .ci/fuzz.sh $(FUZZTIME)

## demo: the plugin under Yaegi (as Traefik loads it) in front of a test provider and a
## backend that shows the identity it receives. REDIS_URL=redis://… uses Redis.
DEMO_LISTEN ?= 127.0.0.1:8080
DEMO_PROVIDER ?= 127.0.0.1:9000
# Built, then run in the recipe's place (exec): go run would exit 1 after Ctrl-C
# however the demo ended, and make would report "Error 1".
DEMO_BIN ?= $${TMPDIR:-/tmp}/gatehouse-demo-$$(id -u)
demo:
	@cd $(HOST) && $(GO) build -o $(DEMO_BIN) ./cmd/demo && exec $(DEMO_BIN) -listen $(DEMO_LISTEN) -provider $(DEMO_PROVIDER)
