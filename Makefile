# credithub: the two commands are `make demo` and `make test`.
# Builds go to a persistent target directory outside the clone, so that repeated
# runs (and CI on the same machine) reuse the RocksDB build.
CARGO_TARGET_DIR ?= $(HOME)/.cache/credithub/target
export CARGO_TARGET_DIR
CARGO ?= cargo
# The Python environment of the OpenAPI conformance check (tests/openapi), beside the
# build cache; made by tests/openapi/setup.sh.
OPENAPI_VENV ?= $(HOME)/.cache/credithub/openapi-venv
export CREDITHUB_OPENAPI_PYTHON = $(OPENAPI_VENV)/bin/python3

.PHONY: all deps openapi-env build test demo demo-single bench lint fmt clean

all: build

deps:
	@./deploy/install-build-deps.sh

## The OpenAPI check's Python environment (openapi-core and requests from PyPI).
openapi-env: deps
	@./tests/openapi/setup.sh $(OPENAPI_VENV)

build: deps
	$(CARGO) build --workspace --bins

## Build and pass every test of every crate.
test: deps openapi-env
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc

## Build and run the main job on this machine: a seven-node federation on loopback.
demo: build
	$(CARGO_TARGET_DIR)/debug/scenarios three-tier --dir demo-federation

## The single-node demo: import, stats, query and verify on one store.
demo-single: build
	./scenarios/demo.sh

## Benchmarks (release build; prints every figure beside its reference, then one table).
## BENCH_ARGS=--quick for a run of a few minutes.
bench: deps
	$(CARGO) build --release --workspace --bins
	$(CARGO_TARGET_DIR)/release/scenarios bench all $(BENCH_ARGS)

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
