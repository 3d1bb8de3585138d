# Benchmarks: jobtrack side by side with the alternatives.
# Included by the top-level Makefile.
#
#   make bench                 default sizes (10,000 and 100,000 jobs): writes
#                              bench/results/{results.json,results.md,chart.svg}
#   make bench SIZE=1000000    one size
#   make bench-smoke           every part of the bench on tiny data, results to
#                              a temporary directory (part of `make test`;
#                              it asserts no timing)
#
# The bench starts its own throw-away PostgreSQL cluster with the extension
# preloaded (tests/pg_regress/with-cluster.sh --preload) and a temporary
# SQLite file. See bench/README.md.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
SIZE ?=
ifeq ($(strip $(SIZE)),)
BENCH_SIZES := 10000,100000
else
BENCH_SIZES := $(strip $(SIZE))
endif
BENCH_OUT ?= bench/results
PGBENCH_SECONDS ?= 5

.PHONY: bench bench-smoke

bench: install
	$(CARGO) build --release -p jobtrack-bench
	tests/pg_regress/with-cluster.sh --preload -- \
	  ./target/release/jobtrack-bench --sizes $(BENCH_SIZES) --out $(BENCH_OUT) \
	  --pgbench-seconds $(PGBENCH_SECONDS)

bench-smoke: install
	$(CARGO) test -p jobtrack-bench
	$(CARGO) build -p jobtrack-bench
	out="$$(mktemp -d /tmp/jt-bench-smoke.XXXXXX)"; \
	trap 'rm -rf "$$out"' EXIT; \
	tests/pg_regress/with-cluster.sh --preload -- \
	  ./target/debug/jobtrack-bench --smoke --sizes 500 --out "$$out"; \
	test -s "$$out/results.json" && test -s "$$out/results.md" && test -s "$$out/chart.svg"
