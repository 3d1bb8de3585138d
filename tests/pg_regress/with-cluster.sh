#!/usr/bin/env bash
# Runs a command against a throw-away PostgreSQL cluster, then stops and
# removes the cluster — always, whether the command succeeds or fails.
#
#   tests/pg_regress/with-cluster.sh [--preload|--no-preload] [--ulimit-v KB]
#                                    [--conf 'name = value']… -- command args…
#
# The cluster lives in a fresh temporary directory, listens on a free port on
# 127.0.0.1 and on a Unix socket in that directory, and is owned by the
# `postgres` OS user when run as root (initdb refuses root). --preload (the
# default) sets shared_preload_libraries = 'jobtrack'. --ulimit-v KB starts
# the server under `ulimit -v KB` (address space, inherited by every
# backend). --conf adds a line to postgresql.conf after the defaults below
# (a later setting wins); it may be given several times.
#
# The command sees PGHOST, PGPORT, PGUSER, PGDATABASE, JOBTRACK_PG_URL (a
# libpq connection string), JOBTRACK_PG_DATA (the data directory) and
# JOBTRACK_PG_CTL: `"$JOBTRACK_PG_CTL" restart` (or stop, start) runs pg_ctl
# for this cluster as its owner, with the environment and limit it was
# started with. PG_CONFIG chooses the server (default: pg_config on PATH).
set -euo pipefail

preload=yes
ulimit_v=""
conf=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --preload) preload=yes; shift ;;
    --no-preload) preload=no; shift ;;
    --ulimit-v)
      [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] \
        || { echo "with-cluster.sh: --ulimit-v needs a number of KB" >&2; exit 2; }
      ulimit_v="$2"; shift 2 ;;
    --conf)
      [[ $# -ge 2 ]] || { echo "with-cluster.sh: --conf needs a line" >&2; exit 2; }
      conf+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "with-cluster.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $# -gt 0 ]] || { echo "with-cluster.sh: no command given" >&2; exit 2; }

bindir="$("${PG_CONFIG:-pg_config}" --bindir)"
as_owner=()
if [[ "$(id -u)" == 0 ]]; then
  as_owner=(sudo -u postgres --)
fi

dir="$(mktemp -d /tmp/jt-cluster.XXXXXX)"
chmod 755 "$dir"
if [[ ${#as_owner[@]} -gt 0 ]]; then chown postgres "$dir"; fi

# pg_ctl for this cluster, as its owner. RUST_BACKTRACE=1 is always in the
# server's environment, so that every test would show a Rust backtrace if one
# ever reached a client (none may). sudo resets the environment, hence `env`
# after it. The limit is set by the shell that execs pg_ctl, so the
# postmaster and every backend inherit it (sudo may reset limits of its own).
{
  echo '#!/usr/bin/env bash'
  printf 'exec %s env RUST_BACKTRACE=1 bash -c %q _ "$@"\n' \
    "${as_owner[*]}" \
    "${ulimit_v:+ulimit -v $ulimit_v && }exec '$bindir/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -t 60 \"\$@\""
} >"$dir/pg_ctl"
chmod 755 "$dir/pg_ctl"

stop() {
  status=$?
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    # A fast shutdown requested while the server recovers from a crashed
    # backend can hang (seen with PostgreSQL 15): then immediate, then kill.
    "$dir/pg_ctl" -m fast -t 30 stop >/dev/null 2>&1 \
      || "$dir/pg_ctl" -m immediate -t 30 stop >/dev/null 2>&1 \
      || kill -KILL "$(head -n 1 "$dir/data/postmaster.pid")" 2>/dev/null || true
  fi
  if [[ $status -ne 0 && -f "$dir/server.log" ]]; then
    echo "--- last lines of the server log ($dir/server.log) ---" >&2
    tail -n 30 "$dir/server.log" >&2 || true
  fi
  rm -rf "$dir"
  exit $status
}
trap stop EXIT
trap 'exit 130' INT TERM

# A free TCP port: nothing answers on it.
port=54320
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
  port=$((port + 1))
done

"${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust \
  --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
{
  echo "port = $port"
  echo "listen_addresses = '127.0.0.1'"
  echo "unix_socket_directories = '$dir'"
  # pg_counters opens 40 sessions and more at once.
  echo "max_connections = 100"
  echo "fsync = off"
  echo "synchronous_commit = off"
  echo "full_page_writes = off"
  echo "deadlock_timeout = '100ms'"
  # pg_cache tests PREPARE TRANSACTION.
  echo "max_prepared_transactions = 4"
  if [[ $preload == yes ]]; then echo "shared_preload_libraries = 'jobtrack'"; fi
  if [[ ${#conf[@]} -gt 0 ]]; then printf '%s\n' "${conf[@]}"; fi
} | "${as_owner[@]}" tee -a "$dir/data/postgresql.conf" >/dev/null
"$dir/pg_ctl" start >/dev/null

export PGHOST="$dir" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
export JOBTRACK_PG_URL="host=$dir port=$port user=postgres dbname=postgres"
export JOBTRACK_PG_DATA="$dir/data" JOBTRACK_PG_CTL="$dir/pg_ctl"
echo "with-cluster.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on port $port, socket in $dir, shared_preload_libraries: $preload${ulimit_v:+, ulimit -v $ulimit_v}"
"$@"
