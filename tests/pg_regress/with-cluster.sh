#!/usr/bin/env bash
# Runs a command against a throw-away PostgreSQL cluster, then stops and
# removes the cluster — always, whether the command succeeds or fails.
#
#   tests/pg_regress/with-cluster.sh [--preload|--no-preload] -- command args…
#
# The cluster lives in a fresh temporary directory, listens on a free port on
# 127.0.0.1 and on a Unix socket in that directory, and is owned by the
# `postgres` OS user when run as root (initdb refuses root). --preload (the
# default) sets shared_preload_libraries = 'jobtrack'. The command sees
# PGHOST, PGPORT, PGUSER and JOBTRACK_PG_URL (a libpq connection string).
# PG_CONFIG chooses the server (default: pg_config on PATH).
set -euo pipefail

preload=yes
while [[ $# -gt 0 ]]; do
  case "$1" in
    --preload) preload=yes; shift ;;
    --no-preload) preload=no; shift ;;
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

stop() {
  status=$?
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
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
  echo "max_connections = 40"
  echo "fsync = off"
  echo "synchronous_commit = off"
  echo "full_page_writes = off"
  echo "deadlock_timeout = '100ms'"
  # pg_cache tests PREPARE TRANSACTION.
  echo "max_prepared_transactions = 4"
  if [[ $preload == yes ]]; then echo "shared_preload_libraries = 'jobtrack'"; fi
} | "${as_owner[@]}" tee -a "$dir/data/postgresql.conf" >/dev/null
"${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null

export PGHOST="$dir" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
export JOBTRACK_PG_URL="host=$dir port=$port user=postgres dbname=postgres"
echo "with-cluster.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on port $port, socket in $dir, shared_preload_libraries: $preload"
"$@"
