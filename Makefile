# Skyport — every command a user or CI runs. `make help` lists them.

SHELL        := /bin/bash
GO           ?= go
BIN          := bin
VERSION      ?= 0.1.0-dev
COMMIT       ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
LDFLAGS      := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
LAMBDAS      := admin publisher cluster authorizer keygen importer
GOLANGCI     := $(shell $(GO) env GOPATH)/bin/golangci-lint
GOLANGCI_VER := v2.15.0
FUZZTIME     ?= 10s
LONG_FUZZTIME ?= 1m
# The slowest test packages, listed first so that go test starts them
# first: the longest one never starts last. The emulator's suites mostly
# wait for moto_server, so one more package than CPUs runs at a time.
SLOW_PKGS    := ./lambdas/store/dynamo ./lambdas/admin ./tests ./cmd/skyport
TEST_P       ?= $(shell echo $$(( $$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2) + 1 )))
# package:FuzzTarget pairs run by `make fuzz` and `make test-long`; their
# seed corpora run in every `go test`.
FUZZ_TARGETS ?= ./internal/declarative:FuzzParse ./internal/snapshot:FuzzDecode ./lambdas/admin:FuzzHandler ./dataplane/h1:FuzzParse

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z0-9_-]+:.*## /{printf "  %-20s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## bin/skyport, and one bootstrap per Lambda (provided.al2023, arm64)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/skyport ./cmd/skyport
	@for l in $(LAMBDAS); do \
	  if [ -d lambdas/cmd/$$l ]; then \
	    echo "lambda $$l"; \
	    CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -tags lambda.norpc -ldflags '-s -w' \
	      -o $(BIN)/lambda/$$l/bootstrap ./lambdas/cmd/$$l || exit 1; \
	  fi; \
	done

.PHONY: run
run: ## build and start `skyport local` (Admin API :8001, proxy :8000/:8443, status 127.0.0.1:8100)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/skyport ./cmd/skyport
	exec $(BIN)/skyport local

.PHONY: test
test: ## every test that runs on this machine (unit, race, conformance, integration, e2e, fuzz seeds, CDK); the first run downloads the test-only modules
	$(GO) test -race -count=1 -p $(TEST_P) -timeout 30m $(SLOW_PKGS) ./...
	@$(MAKE) --no-print-directory test-infra

.PHONY: test-long
test-long: ## what CI runs besides make test: each fuzz target for LONG_FUZZTIME (1m), the proxy's suite on goroutines (SKYPORT_EVENT_LOOP=off), and the measurements
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(LONG_FUZZTIME)
	SKYPORT_EVENT_LOOP=off $(GO) test -count=1 ./dataplane/proxy/
	SKYPORT_MEASURE_BOMB_RSS=1 $(GO) test -count=1 -run '^TestDecodeBombPeakRSS$$' -v ./internal/snapshot

.PHONY: test-short
test-short: ## unit tests only, fast
	$(GO) test -short -count=1 ./...

.PHONY: fuzz
fuzz: ## run each fuzz target briefly (FUZZTIME=10s)
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  if [ -d "$$pkg" ] && grep -rqs "func $$fn(" $$pkg; then \
	    echo "fuzz $$pkg $$fn"; \
	    out=$$($(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) $$pkg 2>&1); rc=$$?; echo "$$out" | tail -3; \
	    if [ $$rc -ne 0 ] && ! echo "$$out" | grep -q "Failing input"; then \
	      echo "fuzz: the engine timed out without a failing input (a known go test issue at the end of -fuzztime); running it once more"; \
	      $(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	    elif [ $$rc -ne 0 ]; then echo "$$out"; exit 1; fi; \
	  fi; \
	done

.PHONY: test-infra
test-infra: build ## CDK assertion tests with cdk-nag, synth, every asset built as `cdk deploy` builds it, cfn-lint
	@$(MAKE) --no-print-directory image-files ARCH=arm64
	$(MAKE) --no-print-directory -C infra test

.PHONY: lint
lint: $(GOLANGCI) ## gofmt, go vet and golangci-lint
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GOLANGCI) run ./...

$(GOLANGCI):
	$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VER)

ARCH ?= $(shell $(GO) env GOARCH)

IMAGE_DIR = $(BIN)/image/linux-$(ARCH)

.PHONY: image image-files
image: image-files ## the data plane container image, tagged skyport:dev (FROM scratch; ARCH=arm64 for Graviton)
	docker build --platform linux/$(ARCH) -t skyport:dev $(IMAGE_DIR)

image-files: ## the image's build context in bin/image/linux-$(ARCH): Dockerfile, static binary, root file system
	rm -rf $(IMAGE_DIR) && mkdir -p $(IMAGE_DIR)/rootfs/etc/ssl/certs $(IMAGE_DIR)/rootfs/var/lib/skyport $(IMAGE_DIR)/rootfs/tmp
	chmod 700 $(IMAGE_DIR)/rootfs/var/lib/skyport # the cache refuses a directory others may write
	CGO_ENABLED=0 GOOS=linux GOARCH=$(ARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(IMAGE_DIR)/skyport ./cmd/skyport
	cp dataplane/Dockerfile $(IMAGE_DIR)/Dockerfile
	cp /etc/ssl/certs/ca-certificates.crt $(IMAGE_DIR)/rootfs/etc/ssl/certs/
	printf 'root:x:0:0::/:/sbin/nologin\nskyport:x:65532:65532::/var/lib/skyport:/sbin/nologin\n' > $(IMAGE_DIR)/rootfs/etc/passwd
	printf 'root:x:0:\nskyport:x:65532:\n' > $(IMAGE_DIR)/rootfs/etc/group

.PHONY: synth
synth: build ## synthesize the CDK stack into infra/cdk.out (what `cdk deploy` deploys)
	@$(MAKE) --no-print-directory image-files ARCH=arm64
	$(MAKE) -C infra synth

.PHONY: bench
bench: ## benchmarks against nginx, Caddy and HAProxy (writes BENCHMARKS.md), then the scale benchmarks at SCALE_ENTITIES (bench-scale; BENCH_SCALE=0 skips them)
	./bench/run.sh
	@if [ "$(BENCH_SCALE)" != 0 ]; then $(MAKE) --no-print-directory bench-scale; fi

BENCH_SCALE ?= 1
SCALE_ENTITIES ?= 10000,110000,1000000
# The AWS path's write → published runs on the emulator, which copies its
# tables per transaction and keeps every object: 110k takes minutes and GBs.
SCALE_AWS_ENTITIES ?= 500,10000

.PHONY: bench-scale
bench-scale: ## the scale benchmarks (bench/scale): POST /config, paging, one write → published, data-plane memory, one write → served by data planes at SCALE_ENTITIES entities (the AWS path's write at SCALE_AWS_ENTITIES); a million takes minutes and GBs
	$(GO) test -run '^$$' -bench 'LoadConfig|ListConsumers|NestedList|ConsumerByCustomID|WritePublish$$' -benchtime 1x -timeout 60m ./bench/scale -args -scale.entities=$(SCALE_ENTITIES)
	$(GO) test -run '^$$' -bench 'WritePublishAWS' -benchtime 3x -timeout 60m ./bench/scale -args -scale.entities=$(SCALE_AWS_ENTITIES)
	$(GO) test -run '^$$' -bench 'DataPlaneMemory' -benchtime 1x -timeout 60m ./bench/scale -args -scale.entities=$(SCALE_ENTITIES)
	$(GO) test -run '^$$' -bench 'WriteServed' -benchtime 20x -timeout 60m ./bench/scale -args -scale.entities=$(SCALE_ENTITIES)

.PHONY: localstack-up localstack-deploy localstack-e2e
localstack-up: ## start LocalStack (needs LOCALSTACK_AUTH_TOKEN)
	./localstack/up.sh
localstack-deploy: build ## deploy the CDK app to LocalStack
	./localstack/deploy.sh
localstack-e2e: ## run the end-to-end suite against LocalStack
	./localstack/e2e.sh

.PHONY: clean
clean: ## remove build output (not ./.skyport state)
	rm -rf $(BIN) cdk.out infra/cdk.out
