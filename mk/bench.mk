# Benchmarks: jobtrack side by side with the alternatives.
# Included by the top-level Makefile.
#
#   make bench                 default sizes (10,000 and 100,000 jobs): writes
#                              bench/results/{results.json,results.md,chart.svg,
#                              scaling.svg}, rewritten after each size
#   make bench SIZE=1000000    one size
#   make bench SIZE=10000,1000000,10000000 SQLITE_MAX_SIZE=1000000
#                              the scale points, SQLite only up to 1M jobs
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
# Empty: SQLite is measured at every size.
SQLITE_MAX_SIZE ?=
BENCH_SQLITE := $(if $(strip $(SQLITE_MAX_SIZE)),--sqlite-max-size $(strip $(SQLITE_MAX_SIZE)))

.PHONY: bench bench-smoke

bench: install
	$(CARGO) build --release -p jobtrack-bench
	# The export phase runs the CLI, found next to the bench's binary.
	$(CARGO) build --release -p jobtrack --bin jobtrack
	tests/pg_regress/with-cluster.sh --preload -- \
	  ./target/release/jobtrack-bench --sizes $(BENCH_SIZES) --out $(BENCH_OUT) \
	  --pgbench-seconds $(PGBENCH_SECONDS) $(BENCH_SQLITE)

# Two sizes, SQLite only at the smaller one: the run goes through the report
# written after each size and through a size without SQLite, and the files
# must say so (a complete report of both sizes, SQLite not measured at 500).
bench-smoke: install
	$(CARGO) test -p jobtrack-bench
	$(CARGO) build -p jobtrack-bench
	$(CARGO) build -p jobtrack --bin jobtrack
	out="$$(mktemp -d /tmp/jt-bench-smoke.XXXXXX)"; \
	trap 'rm -rf "$$out"' EXIT; \
	tests/pg_regress/with-cluster.sh --preload -- \
	  ./target/debug/jobtrack-bench --smoke --sizes 200,500 --sqlite-max-size 200 --out "$$out"; \
	for f in results.json results.md chart.svg scaling.svg; do \
	  test -s "$$out/$$f" || { echo "bench-smoke: $$f is missing or empty" >&2; exit 1; }; \
	done; \
	grep -q '^## Export of every job in bounded memory' "$$out/results.md" || \
	  { echo "bench-smoke: results.md has no export section" >&2; exit 1; }; \
	grep -q '"complete": true' "$$out/results.json" || \
	  { echo "bench-smoke: results.json is not marked complete" >&2; exit 1; }; \
	test "$$(grep -c '"sqlite_measured": false' "$$out/results.json")" = 1 || \
	  { echo "bench-smoke: results.json should have SQLite unmeasured at one size" >&2; exit 1; }; \
	grep -q '^SQLite was not run at this size: it is measured only at sizes up to 200 jobs' "$$out/results.md" || \
	  { echo "bench-smoke: results.md does not say SQLite was not run at 500 jobs" >&2; exit 1; }; \
	grep -qF '| operation | variant | 200 jobs | 500 jobs | growth 200 → 500 |' "$$out/results.md" || \
	  { echo "bench-smoke: results.md has no growth table over both sizes" >&2; exit 1; }
