#!/usr/bin/env bash
# The memory-limited server test (`make memory-test`): a server under
# `ulimit -v` (address space, inherited by every backend), one session
# connected and idle, and in another a batch too large for the limit:
#
#   jobtrack.batch_create_executions(<500,000 elements built in SQL>)
#
# must fail with SQLSTATE 53200 (out_of_memory) as an ordinary ERROR, with
# no Rust backtrace; the idle session must still be connected (same backend)
# and answer; the postmaster must not have restarted (a backend that aborts,
# as Rust's allocator does on a failed malloc, makes the postmaster end
# every session and reinitialise); nothing of the batch is applied; and
# small batches still work.
#
# The limit (JOBTRACK_MEMORY_ULIMIT_KB, in KB; default 1,000,000) lets the
# server start and ordinary work run, and lets the argument itself be built
# (checked first: otherwise the 53200 would come from jsonb_agg, not from
# jobtrack), but not the batch. Measured here (PostgreSQL 15, x86-64): a
# backend builds the argument under 780,000 KB but not under 700,000 KB
# (jsonb_agg holds about 680 MB until the statement ends); the whole call
# succeeds under 1,400,000 KB and more.
#
#   tests/memory/run.sh        PG_CONFIG chooses the server (default:
#                              pg_config on PATH); the extension must be
#                              installed (make install)
set -euo pipefail

limit_kb="${JOBTRACK_MEMORY_ULIMIT_KB:-1000000}"
here="$(cd "$(dirname "$0")" && pwd)"

if [[ ${1:-} != --in-cluster ]]; then
  # No JIT: LLVM, loaded at the first compiled expression, would take a
  # share of the address space that depends on the plan's cost, and fail
  # with its own XX000 when the limit is near.
  exec "$here/../pg_regress/with-cluster.sh" --preload --ulimit-v "$limit_kb" \
    --conf 'jit = off' -- "$here/run.sh" --in-cluster
fi

# ---------------------------------------------------------------- in the cluster
fail() {
  echo "memory test: FAILED: $*" >&2
  exit 1
}
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
payload="(SELECT jsonb_agg(jsonb_build_object('job_id', 'm' || g, 'pipeline_mode', 'single',
                                               'dataset_name', 'd', 'preset', 'p'))
          FROM generate_series(1, 500000) AS g)"
small_batch() { # small_batch PREFIX: 1,000 executions PREFIX-1…
  q -c "SELECT cardinality(jobtrack.batch_create_executions(
          (SELECT jsonb_agg(jsonb_build_object('job_id', '$1-' || g, 'pipeline_mode', 'batch',
                                               'dataset_name', 'd', 'preset', 'p'))
           FROM generate_series(1, 1000) AS g)))" >/dev/null
}
server_log="$(dirname "$JOBTRACK_PG_DATA")/server.log"

# The limit is on the server.
postmaster_pid="$(head -n 1 "$JOBTRACK_PG_DATA/postmaster.pid")"
applied="$(awk '/^Max address space/ {print $4}' "/proc/$postmaster_pid/limits")"
[[ $applied == $((limit_kb * 1024)) ]] \
  || fail "the postmaster's address space limit is $applied, not $((limit_kb * 1024)) bytes"

q -c 'CREATE EXTENSION jobtrack'
# Ordinary work under the limit.
small_batch before
q -c 'SELECT jobtrack.get_statistics_optimized()' >/dev/null
# The argument alone fits.
n="$(q -c "SELECT jsonb_array_length($payload)")"
[[ $n == 500000 ]] || fail "building the argument gave $n elements"

# The idle session, on fds 7 (its input) and 8 (its output) instead of the
# coprocess's own, which bash closes and unsets when it ends; a write to it
# once it is gone fails instead of killing this script.
trap '' PIPE
coproc IDLE { psql -X -q -At 2>&1; }
idle_pid=$IDLE_PID
exec 7>&"${IDLE[1]}" 8<&"${IDLE[0]}"
eval "exec ${IDLE[1]}>&- ${IDLE[0]}<&-"
ask_idle() {
  echo 'SELECT pg_backend_pid(), pg_postmaster_start_time();' >&7 2>/dev/null \
    && read -r -t 60 "$1" <&8
}
ask_idle idle_before || fail "the idle session did not answer"
start_before="${idle_before#*|}"

# The batch. VERBOSITY verbose shows DETAIL and CONTEXT, where a backtrace
# would be.
set +e
out="$(psql -X -At -v VERBOSITY=verbose 2>&1 <<SQL
SELECT cardinality(jobtrack.batch_create_executions($payload));
\echo sqlstate=:LAST_ERROR_SQLSTATE
SQL
)"
set -e
echo "memory test: the 500,000-element batch under ulimit -v $limit_kb:"
sed 's/^/  | /' <<<"$out"
grep -qx 'sqlstate=53200' <<<"$out" || fail "the batch did not fail with SQLSTATE 53200"
! grep -qiE 'backtrace|panicked|rust_begin_unwind|^ *[0-9]+: ' <<<"$out" \
  || fail "the error carries a Rust backtrace"

ask_idle idle_after || fail "the idle session is gone"
[[ $idle_after == "$idle_before" ]] \
  || fail "the idle session was $idle_before (backend pid | postmaster start), now: $idle_after"
exec 7>&- 8<&-
wait "$idle_pid" || fail "the idle session's psql ended with status $?"

[[ "$(q -c 'SELECT pg_postmaster_start_time()')" == "$start_before" ]] \
  || fail "the postmaster restarted"
! grep -E 'terminated by signal|was terminated|PANIC|all server processes terminated' "$server_log" \
  || fail "the server log shows a crashed backend"

# Nothing of the batch, and the server still takes batches.
small_batch after
[[ "$(q -c 'SELECT count(*) FROM jobtrack.executions')" == 2000 ]] \
  || fail "executions after the failed batch: $(q -c 'SELECT count(*) FROM jobtrack.executions'), not 2000"
[[ -z "$(q -c 'SELECT * FROM jobtrack.verify_statistics()')" ]] \
  || fail "verify_statistics() is not empty"
echo "memory test: passed (53200, the idle session and the postmaster survived, small batches work)"
