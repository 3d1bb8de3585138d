#!/usr/bin/env bash
# The upgrade test (`make upgrade-test`): jobtrack 0.1.0, as released (commit
# e605a1b), is installed and used; then the current build is installed, the
# server restarted, the 0.1.0 catalog used with the new library, and
# `ALTER EXTENSION jobtrack UPDATE` run. Then:
#   - every object of the extension and its definition (catalog.sql) is
#     identical to a fresh `CREATE EXTENSION jobtrack` of the current build;
#   - the data and statistics (record.sql) are what they were under 0.1.0,
#     before the update, between install and update, and after it; and
#     verify_statistics() is empty; a write after the update works;
#   - pg_extension_update_paths('jobtrack') leads from 0.1.0 to the new
#     version.
#
# Both builds go into a private copy of the PostgreSQL installation (its
# binaries copied, every other file a symbolic link to the system one), never
# into the system directories: PostgreSQL finds its share and lib
# directories relative to its binary, so the cluster of this test sees only
# the jobtrack files put there, and other tests running against the system
# installation at the same time are not disturbed. The builds are packaged
# with `cargo pgrx package` (what `cargo pgrx install` writes, into a
# directory of our choice) with the same pg_config as `make install`, so the
# current build reuses make install's artifacts; 0.1.0 is built from
# `git archive` in its own target directory, target/upgrade-0.1.0, kept
# between runs.
#
#   tests/upgrade/run.sh          PG_CONFIG chooses the server (default:
#                                 pg_config on PATH)
set -euo pipefail

old_commit=e605a1b
old_version=0.1.0

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

psql_in() {
  local db="$1"
  shift
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"
}

# Copies a package (the output of cargo pgrx package) into the private
# installation as `cargo pgrx install` would into the system one: files of
# the same name are replaced, others (the previous version's scripts) stay.
# The library is removed before it is copied, so that a running server keeps
# the file it mapped.
install_package() {
  local pkg="$1" tree="$2" sharedir pkglibdir
  sharedir="$("$tree/bin/pg_config" --sharedir)"
  pkglibdir="$("$tree/bin/pg_config" --pkglibdir)"
  rm -f "$pkglibdir/jobtrack.so"
  cp "$pkg/lib/jobtrack.so" "$pkglibdir/"
  cp "$pkg"/extension/jobtrack* "$sharedir/extension/"
}

# ---------------------------------------------------------------- in the cluster
# Runs inside tests/pg_regress/with-cluster.sh, whose server is the private
# installation with 0.1.0 in it.
if [[ ${1:-} == --in-cluster ]]; then
  work="$2" tree="$3" new_version="$4"
  failures=0
  compare() { # compare WHAT EXPECTED ACTUAL
    if diff -u --label "$2" --label "$3" "$work/$2" "$work/$3" >"$work/diff.txt"; then
      echo "upgrade test: $1: identical"
    else
      echo "upgrade test: FAILED: $1 differ (- $2, + $3):" >&2
      cat "$work/diff.txt" >&2
      failures=$((failures + 1))
    fi
  }
  record() { psql_in upgraded -f "$here/record.sql" >"$work/$1"; }

  psql_in postgres -c 'CREATE DATABASE upgraded'
  psql_in upgraded -f "$here/write_0.1.0.sql" >"$work/write_0.1.0.log"
  record data-0.1.0.txt

  install_package "$work/pkg-current" "$tree"
  # The library is preloaded: the postmaster mapped the 0.1.0 build and every
  # backend it forks runs that code until a restart, as on any server with
  # jobtrack in shared_preload_libraries.
  "$JOBTRACK_PG_CTL" restart >/dev/null
  echo "upgrade test: current build installed ($new_version), server restarted"

  # New sessions: the new library under the 0.1.0 catalog, until the update.
  record data-new-library.txt
  compare "data and statistics read by the new library under the 0.1.0 catalog" \
    data-0.1.0.txt data-new-library.txt
  psql_in upgraded -f "$here/write_and_undo.sql" >"$work/write_between.log"
  record data-new-library-after-writes.txt
  compare "data and statistics after writes by the new library under the 0.1.0 catalog" \
    data-0.1.0.txt data-new-library-after-writes.txt

  paths="$(psql_in upgraded -At -c "SELECT path FROM pg_extension_update_paths('jobtrack')
                                    WHERE source = '$old_version' AND target = '$new_version'")"
  if [[ -z $paths ]]; then
    echo "upgrade test: FAILED: pg_extension_update_paths('jobtrack') has no path from $old_version to $new_version" >&2
    psql_in upgraded -c "SELECT * FROM pg_extension_update_paths('jobtrack')" >&2
    failures=$((failures + 1))
  else
    echo "upgrade test: update path $old_version -> $new_version: $paths"
  fi

  psql_in upgraded -c 'ALTER EXTENSION jobtrack UPDATE'
  version="$(psql_in upgraded -At -c "SELECT extversion FROM pg_extension WHERE extname = 'jobtrack'")"
  if [[ $version != "$new_version" ]]; then
    echo "upgrade test: FAILED: after ALTER EXTENSION UPDATE jobtrack is at $version, not $new_version" >&2
    failures=$((failures + 1))
  fi
  record data-updated.txt
  compare "data and statistics after ALTER EXTENSION UPDATE" data-0.1.0.txt data-updated.txt
  psql_in upgraded -f "$here/write_and_undo.sql" >"$work/write_after.log"
  record data-updated-after-writes.txt
  compare "data and statistics after writes on the updated extension" \
    data-0.1.0.txt data-updated-after-writes.txt

  psql_in postgres -c 'CREATE DATABASE fresh'
  psql_in fresh -c 'CREATE EXTENSION jobtrack'
  psql_in upgraded -f "$here/catalog.sql" >"$work/catalog-upgraded.txt"
  psql_in fresh -f "$here/catalog.sql" >"$work/catalog-fresh.txt"
  grep -q "^extension jobtrack | version | $new_version\$" "$work/catalog-fresh.txt" || {
    echo "upgrade test: FAILED: a fresh CREATE EXTENSION jobtrack is not at $new_version" >&2
    failures=$((failures + 1))
  }
  compare "extension objects of a fresh install (-) and of one updated from $old_version (+)" \
    catalog-fresh.txt catalog-upgraded.txt
  echo "upgrade test: $(grep -c . "$work/catalog-fresh.txt") catalog lines," \
    "$(grep -c ' | member | true$' "$work/catalog-fresh.txt") extension members compared"

  if [[ $failures -gt 0 ]]; then
    echo "upgrade test: $failures check(s) FAILED; the files compared are in target/upgrade-test" >&2
    exit 1
  fi
  exit 0
fi

# ---------------------------------------------------------------- outside
start=$SECONDS
pg_config_path="$(command -v "${PG_CONFIG:-pg_config}")"

if ! git -C "$repo" cat-file -e "$old_commit^{commit}" 2>/dev/null; then
  echo "upgrade test: needs the repository history: commit $old_commit (jobtrack $old_version," \
    "the build to upgrade from) is not in this clone; fetch it (git fetch --unshallow)" >&2
  exit 1
fi

work="$(mktemp -d /tmp/jt-upgrade.XXXXXX)"
results="$repo/target/upgrade-test"
# What was recorded and compared stays in target/upgrade-test for a look
# after a failure.
finish() {
  status=$?
  rm -rf "$results"
  mkdir -p "$results"
  cp "$work"/*.txt "$work"/*.log "$results/" 2>/dev/null || true
  rm -rf "$work"
  exit $status
}
trap finish EXIT
trap 'exit 130' INT TERM
chmod 755 "$work"

# The private installation: real directories, the binaries copied (a
# symbolic link would lead PostgreSQL back to the system directories), every
# other file linked, the jobtrack files left out.
bindir="$("$pg_config_path" --bindir)"
sharedir="$("$pg_config_path" --sharedir)"
pkglibdir="$("$pg_config_path" --pkglibdir)"
tree="$work/pg${bindir%/bin}"
mkdir -p "$tree" "$work/pg$(dirname "$sharedir")" "$work/pg$(dirname "$pkglibdir")"
cp -a "$bindir" "$tree/bin"
cp -rs "$sharedir" "$work/pg$sharedir"
cp -rs "$pkglibdir" "$work/pg$pkglibdir"
rm -f "$work/pg$sharedir"/extension/jobtrack* "$work/pg$pkglibdir"/jobtrack*
chmod -R a+rX "$work/pg"
if [[ "$("$tree/bin/pg_config" --sharedir)" != "$work/pg$sharedir" ]]; then
  echo "upgrade test: this PostgreSQL is not relocatable (pg_config of the copy says" \
    "$("$tree/bin/pg_config" --sharedir))" >&2
  exit 1
fi

# cargo pgrx package's output, flattened to lib/ and extension/.
package() { # package CRATE_DIR OUT [env…]
  local dir="$1" out="$2"
  shift 2
  (cd "$dir" && env "$@" cargo pgrx package --pg-config "$pg_config_path" --out-dir "$out/raw")
  mkdir -p "$out/lib" "$out/extension"
  mv "$out/raw$pkglibdir/jobtrack.so" "$out/lib/"
  mv "$out/raw$sharedir"/extension/jobtrack* "$out/extension/"
}

echo "upgrade test: building jobtrack $old_version from commit $old_commit"
mkdir "$work/src-$old_version"
git -C "$repo" archive "$old_commit" | tar -x -C "$work/src-$old_version"
package "$work/src-$old_version/pg_ext" "$work/pkg-$old_version" \
  CARGO_TARGET_DIR="$repo/target/upgrade-$old_version"
built_old=$SECONDS
echo "upgrade test: $old_version built in $((built_old - start)) s"

echo "upgrade test: packaging the current build"
package "$repo/pg_ext" "$work/pkg-current"
new_version="$(sed -n "s/^default_version = '\(.*\)'$/\1/p" "$work/pkg-current/extension/jobtrack.control")"
[[ -n $new_version ]] || { echo "upgrade test: no default_version in jobtrack.control" >&2; exit 1; }
built_new=$SECONDS
echo "upgrade test: current build ($new_version) packaged in $((built_new - built_old)) s"

install_package "$work/pkg-$old_version" "$tree"
PG_CONFIG="$tree/bin/pg_config" "$repo/tests/pg_regress/with-cluster.sh" --preload -- \
  "$here/run.sh" --in-cluster "$work" "$tree" "$new_version"
echo "upgrade test: passed in $((SECONDS - start)) s, of which $((SECONDS - built_new)) s" \
  "on the cluster"
