# jobtrack — the one entry point.
#
#   make demo          run the demo pipeline on embedded SQLite
#   make test          every test: core, SQLite, PostgreSQL extension, conformance
#   make lint          rustfmt check and clippy with -D warnings
#   make install       install the extension into the server of PG_CONFIG
#   make installcheck  pg_regress against a running server
#
# Everything a target needs it installs when missing (Debian packages,
# cargo-pgrx, the PostgreSQL server), so these work on a fresh Debian machine
# with Rust.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
PG_CONFIG ?= pg_config
DEMO_DB ?= target/demo/jobtrack-demo.db
# The crates whose tests need no server (jobtrack's PostgreSQL test pg_cli
# is left out of `cargo test -p jobtrack`: mk/pg.mk runs it).
SQLITE_CRATES := -p jobtrack-core -p jobtrack-sqlite -p jobtrack

.PHONY: all demo test lint build-deps sqlite-test

all: test

# A C compiler for rusqlite's bundled SQLite: a fresh Debian image with rustup
# may lack one.
build-deps:
	@if ! command -v cc >/dev/null 2>&1; then \
	  echo "installing a C compiler (gcc)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev; \
	fi

demo: build-deps
	$(CARGO) build --release -p jobtrack --bin jobtrack
	mkdir -p $(dir $(DEMO_DB))
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	./target/release/jobtrack --db $(DEMO_DB) demo

sqlite-test: build-deps
	$(CARGO) test $(SQLITE_CRATES)

test: sqlite-test pg-test bench-smoke

lint: build-deps pg-deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy $(SQLITE_CRATES) -p jobtrack-postgres -p jobtrack-tests --all-targets -- -D warnings
	$(CARGO) clippy -p jobtrack --test pg_cli -- -D warnings
	$(CARGO) clippy -p jobtrack-pg --all-targets -- -D warnings

include mk/pg.mk
include mk/bench.mk
