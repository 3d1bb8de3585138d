# The PostgreSQL extension: dependencies, install, pg_regress and the test
# run of `make test`. Included by the top-level Makefile.
#
#   make pg-deps       install what is missing: Debian packages, cargo-pgrx,
#                      `cargo pgrx init` for the system PostgreSQL 15
#   make install       build (release) and install the extension into the
#                      server of PG_CONFIG
#   make installcheck  pg_regress against a running server (PGHOST, PGPORT,
#                      PGUSER honoured; the user must be able to create a
#                      database and the extension)
#   make memory-test   a server under `ulimit -v`: a batch too large for it
#                      fails with 53200, other sessions and the postmaster
#                      live on (tests/memory/run.sh)
#   make upgrade-test  every release (0.1.0, 0.2.0: built from the commits
#                      in tests/upgrade/run.sh, which the clone must have,
#                      once each, kept in target/upgrade-<version>) installed,
#                      used, replaced by the current build and updated:
#                      objects identical to a fresh install, data and
#                      statistics unchanged (tests/upgrade/run.sh). Every
#                      build goes into a private copy of the PostgreSQL
#                      installation, never into the system directories
#   make pg-test       everything: #[pg_test]s, then pg_regress, the
#                      cross-backend and concurrency tests and the CLI on
#                      PostgreSQL (jobtrack's pg_cli) on a throw-away
#                      cluster with shared_preload_libraries = 'jobtrack',
#                      then pg_regress and the conformance suite again on one
#                      without it, then the memory and the upgrade test

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
PG_CONFIG ?= pg_config
PGRX_VERSION := 0.18.1
PG_DEBIAN_PACKAGES := postgresql-15 postgresql-server-dev-15 libclang-dev clang sudo pgbouncer
# pg_regress runs these in order, each in the same database.
PG_REGRESS_TESTS := schema create status claim stale export experiment reads summary counters cleanup prune monitoring explain large_batch errors numbers drop
PG_REGRESS_DB := jobtrack_regress
PGRX_TEST_DIR := /tmp/jt-pgrx
WITH_CLUSTER := tests/pg_regress/with-cluster.sh
MEMORY_TEST := PG_CONFIG=$(PG_CONFIG) tests/memory/run.sh
UPGRADE_TEST := PG_CONFIG=$(PG_CONFIG) tests/upgrade/run.sh
# Root runs the server as `postgres` (initdb refuses root).
AS_ROOT := $(filter 0,$(shell id -u))
SUDO := $(if $(AS_ROOT),,sudo)

.PHONY: pg-deps install installcheck pg-test pg-test-pgrx memory-test upgrade-test

pg-deps:
	@missing=""; \
	for p in $(PG_DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "pg-deps: installing$$missing"; \
	  $(SUDO) apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@if ! $(CARGO) pgrx --version 2>/dev/null | grep -qF "$(PGRX_VERSION)"; then \
	  echo "pg-deps: installing cargo-pgrx $(PGRX_VERSION)"; \
	  $(CARGO) install cargo-pgrx --version $(PGRX_VERSION) --locked; \
	fi
	@if ! grep -qs '^pg15 *=' "$$HOME/.pgrx/config.toml"; then \
	  $(CARGO) pgrx init --pg15 "$$(command -v $(PG_CONFIG))"; \
	fi

install:
	cd pg_ext && $(CARGO) pgrx install --release --pg-config "$$(command -v $(PG_CONFIG))"

installcheck:
	"$$(dirname "$$($(PG_CONFIG) --pgxs)")/../test/regress/pg_regress" \
	  --inputdir=tests/pg_regress --outputdir=tests/pg_regress \
	  --bindir="$$($(PG_CONFIG) --bindir)" --dbname=$(PG_REGRESS_DB) \
	  $(PG_REGRESS_TESTS) \
	  || { cat tests/pg_regress/regression.diffs >&2 2>/dev/null; exit 1; }

# The #[pg_test]s. As root, pgrx runs its server as `postgres` in a data
# directory under a parent that `postgres` owns. It installs a build with the
# test functions into the server's directories: `install` runs after it.
pg-test-pgrx: pg-deps
	rm -rf $(PGRX_TEST_DIR)
	mkdir -p $(PGRX_TEST_DIR)
	$(if $(AS_ROOT),chown postgres $(PGRX_TEST_DIR))
	cd pg_ext && $(CARGO) pgrx test pg15 $(if $(AS_ROOT),--runas postgres) --pgdata $(PGRX_TEST_DIR)/data
	rm -rf $(PGRX_TEST_DIR)

pg-test: pg-test-pgrx
	$(MAKE) --no-print-directory install
	$(WITH_CLUSTER) --preload -- bash -c '$(MAKE) --no-print-directory installcheck && $(CARGO) test -p jobtrack-tests --no-fail-fast && $(CARGO) test -p jobtrack --test pg_cli'
	$(WITH_CLUSTER) --no-preload -- bash -c '$(MAKE) --no-print-directory installcheck && $(CARGO) test -p jobtrack-tests --test conformance postgres_conformance && $(CARGO) test -p jobtrack-tests --test pg_cache'
	$(MEMORY_TEST)
	$(UPGRADE_TEST)

memory-test: install
	$(MEMORY_TEST)

# Needs no `install`: it packages both builds itself.
upgrade-test: pg-deps
	$(UPGRADE_TEST)
