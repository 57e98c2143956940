# gameday — run `make help` for the targets.
GO        ?= go
BIN       ?= bin/gameday
PKGS      ?= ./...
STATICCHECK_VERSION ?= v0.8.2
export CGO_ENABLED ?= 0

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/gameday.
	$(GO) build -o $(BIN) ./cmd/gameday

.PHONY: demo
demo: build ## Run the full game day against the embedded sandbox and write reports under out/.
	./$(BIN) run experiments/gameday.yaml --out out/demo

.PHONY: test
test: ## Install test tools if missing (scripts/test-deps.sh), vet, check formatting, cross-compile, run every test.
	bash scripts/test-deps.sh
	@if git grep -nE '^(<<<<<<<|>>>>>>>) ' -- ':!Makefile'; then echo "merge conflict markers left in the files above"; exit 1; fi
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(MAKE) --no-print-directory cross
	$(GO) test -count=1 -timeout 15m $(PKGS)

.PHONY: cross
cross: ## Check that everything builds for darwin and windows too (linux is built by the tests).
	GOOS=darwin $(GO) build $(PKGS)
	GOOS=windows $(GO) build $(PKGS)

.PHONY: lint
lint: ## staticcheck (installed from the module proxy into the Go bin dir).
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)

.PHONY: image
image: ## Build the container image without a Docker daemon (Debian's buildah, as root) into bin/image/gameday.oci.tar.
	bash scripts/image.sh bin/image

.PHONY: bench
BENCH_RUNS ?= 5
bench: build ## Benchmarks: gameday run vs the vegeta CLI (whole process, BENCH_RUNS=5 runs per rate), per-hit allocations, sandbox ALB throughput, 1/2/4 local generators, timeline cost and 10M-hit memory.
	GAMEDAY_BIN=$(CURDIR)/$(BIN) GAMEDAY_BENCH_RUNS=$(BENCH_RUNS) $(GO) test -run '^$$' -bench '^BenchmarkProcessVsVegetaCLI$$' -benchtime 1x -timeout 60m ./attack
	$(GO) test -run '^$$' -bench '^BenchmarkHitPath' -benchtime 50000x -timeout 10m ./attack
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./sandbox/... ./generators/...
	$(GO) test -run '^$$' -bench 'HistogramRecord|TimelineAdd|WindowMemory' ./timeline
	$(GO) test -run '^$$' -bench 'HitPath10M' -benchtime 1x -timeout 10m ./runner

.PHONY: fuzz
FUZZTIME ?= 20s
fuzz: ## Fuzz the experiment loader, --set overrides, expressions and load shapes (FUZZTIME each).
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./experiments
	$(GO) test -run '^$$' -fuzz '^FuzzOverrides$$' -fuzztime $(FUZZTIME) ./experiments
	$(GO) test -run '^$$' -fuzz '^FuzzParseExpr$$' -fuzztime $(FUZZTIME) ./experiments
	$(GO) test -run '^$$' -fuzz '^FuzzShape$$' -fuzztime $(FUZZTIME) ./experiments

.PHONY: vendor-js
vendor-js: ## Re-fetch the HTML report's chart library (uPlot, pinned, sha256-checked) into reports/assets.
	bash scripts/vendor-js.sh

.PHONY: clean
clean: ## Remove build output and demo reports.
	rm -rf bin out
