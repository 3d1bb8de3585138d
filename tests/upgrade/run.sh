#!/usr/bin/env bash
# The upgrade test (`make upgrade-test`), from every released version: for
# each release in RELEASES, that release, as built from its commit, is
# installed and used; then the current build is installed, the server
# restarted, the old catalog used with the new library, and
# `ALTER EXTENSION jobtrack UPDATE` run. Then, per release:
#   - every object of the extension and its definition (catalog.sql) is
#     identical to a fresh `CREATE EXTENSION jobtrack` of the current build;
#   - the data and statistics (record.sql) are what they were under the
#     release, between install and update (before and after writes by the
#     new library), and after the update (before and after writes); and
#     verify_statistics() is empty; writes after the update work;
#   - every job exported from the updated database (export_jobs) and
#     imported into a new one (import_jobs) gives the same data and
#     statistics there, and the same export again;
#   - pg_extension_update_paths('jobtrack') leads from the release to the
#     new version.
# Each release runs on a cluster of its own, which sees only that release's
# files and then the current build's.
#
# Every build goes into a private copy of the PostgreSQL installation (its
# binaries copied, every other file a symbolic link to the system one),
# never into the system directories: PostgreSQL finds its share and lib
# directories relative to its binary, so the clusters of this test see only
# the jobtrack files put there, and other tests running against the system
# installation at the same time are not disturbed. The builds are packaged
# with `cargo pgrx package` (what `cargo pgrx install` writes, into a
# directory of our choice) with the same pg_config as `make install`, so the
# current build reuses make install's artifacts. A release is built from
# `git archive` of its commit into target/upgrade-<version>, kept between
# runs together with its package: a released commit never changes, so the
# package is rebuilt only when the server (pg_config --version) is another
# one. The releases share one cargo target directory,
# target/upgrade-builds: their dependencies (pgrx and its bindings above
# all) are mostly the same versions, built once instead of once per
# release: on a clean checkout the first release builds in about two
# minutes and each one after it in about half a minute (132 s, then
# 29-42 s each, measured here), instead of about four minutes each.
#
#   tests/upgrade/run.sh          PG_CONFIG chooses the server (default:
#                                 pg_config on PATH)
set -euo pipefail

# Every released version and its commit, oldest first. A release adds itself
# here (and its commit must stay in the history).
RELEASES=(0.1.0:e605a1b 0.2.0:25140a7 0.3.0:e6d9a5b 0.4.0:63dce7c 0.5.0:bd0a4c1 0.6.0:d32b8a9 0.7.0:6070497)

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

# Removes every jobtrack file from the private installation.
uninstall_all() {
  local tree="$1"
  rm -f "$("$tree/bin/pg_config" --sharedir)"/extension/jobtrack* \
    "$("$tree/bin/pg_config" --pkglibdir)"/jobtrack*
}

# ---------------------------------------------------------------- in the cluster
# Runs inside tests/pg_regress/with-cluster.sh, whose server is the private
# installation with the release in it.
if [[ ${1:-} == --in-cluster ]]; then
  work="$2" tree="$3" old_version="$4" new_version="$5"
  out="$work/from-$old_version"
  mkdir -p "$out"
  failures=0
  say() { echo "upgrade test: from $old_version: $*"; }
  compare() { # compare WHAT EXPECTED ACTUAL
    if diff -u --label "$2" --label "$3" "$out/$2" "$out/$3" >"$out/diff.txt"; then
      say "$1: identical"
    else
      echo "upgrade test: from $old_version: FAILED: $1 differ (- $2, + $3):" >&2
      cat "$out/diff.txt" >&2
      failures=$((failures + 1))
    fi
  }
  record() { psql_in "${2:-upgraded}" -f "$here/record.sql" >"$out/$1"; }
  # Every job of database $1 as one JSON array of export_jobs' rows, times
  # in UTC (as import_jobs reads them).
  export_all() {
    psql_in "$1" -At -c "SET TimeZone = 'UTC'" \
      -c "SELECT COALESCE(jsonb_agg(to_jsonb(x)), '[]') FROM jobtrack.export_jobs() AS x" \
      >"$out/$2"
  }

  psql_in postgres -c 'CREATE DATABASE upgraded'
  psql_in upgraded -v release="$old_version" -f "$here/write_release.sql" \
    >"$out/write_release.log"
  record data-$old_version.txt

  install_package "$work/pkg-current" "$tree"
  # The library is preloaded: the postmaster mapped the release's build and
  # every backend it forks runs that code until a restart, as on any server
  # with jobtrack in shared_preload_libraries.
  "$JOBTRACK_PG_CTL" restart >/dev/null
  say "current build installed ($new_version), server restarted"

  # New sessions: the new library under the old catalog, until the update.
  record data-new-library.txt
  compare "data and statistics read by the new library under the $old_version catalog" \
    data-$old_version.txt data-new-library.txt
  psql_in upgraded -f "$here/write_and_undo.sql" >"$out/write_between.log"
  record data-new-library-after-writes.txt
  compare "data and statistics after writes by the new library under the $old_version catalog" \
    data-$old_version.txt data-new-library-after-writes.txt

  paths="$(psql_in upgraded -At -c "SELECT path FROM pg_extension_update_paths('jobtrack')
                                    WHERE source = '$old_version' AND target = '$new_version'")"
  if [[ -z $paths ]]; then
    echo "upgrade test: from $old_version: FAILED: pg_extension_update_paths('jobtrack') has no" \
      "path from $old_version to $new_version" >&2
    psql_in upgraded -c "SELECT * FROM pg_extension_update_paths('jobtrack')" >&2
    failures=$((failures + 1))
  else
    say "update path $old_version -> $new_version: $paths"
  fi

  psql_in upgraded -c 'ALTER EXTENSION jobtrack UPDATE'
  version="$(psql_in upgraded -At -c "SELECT extversion FROM pg_extension WHERE extname = 'jobtrack'")"
  if [[ $version != "$new_version" ]]; then
    echo "upgrade test: from $old_version: FAILED: after ALTER EXTENSION UPDATE jobtrack is at" \
      "$version, not $new_version" >&2
    failures=$((failures + 1))
  fi
  record data-updated.txt
  compare "data and statistics after ALTER EXTENSION UPDATE" data-$old_version.txt data-updated.txt
  psql_in upgraded -f "$here/write_and_undo.sql" >"$out/write_after.log"
  record data-updated-after-writes.txt
  compare "data and statistics after writes on the updated extension" \
    data-$old_version.txt data-updated-after-writes.txt

  # Whole jobs out of the updated database and into a new one.
  export_all upgraded export-updated.json
  psql_in postgres -c 'CREATE DATABASE imported'
  psql_in imported -c 'CREATE EXTENSION jobtrack'
  psql_in imported -v file="$out/export-updated.json" >"$out/import.log" <<'SQL'
\set jobs `cat :'file'`
SELECT jobtrack.import_jobs(:'jobs');
SQL
  record data-imported.txt imported
  compare "data and statistics of the jobs exported from the updated database and imported" \
    data-$old_version.txt data-imported.txt
  export_all imported export-imported.json
  compare "exports of the updated database and of the one it was imported into" \
    export-updated.json export-imported.json

  psql_in postgres -c 'CREATE DATABASE fresh'
  psql_in fresh -c 'CREATE EXTENSION jobtrack'
  psql_in upgraded -f "$here/catalog.sql" >"$out/catalog-upgraded.txt"
  psql_in fresh -f "$here/catalog.sql" >"$out/catalog-fresh.txt"
  grep -q "^extension jobtrack | version | $new_version\$" "$out/catalog-fresh.txt" || {
    echo "upgrade test: from $old_version: FAILED: a fresh CREATE EXTENSION jobtrack is not at" \
      "$new_version" >&2
    failures=$((failures + 1))
  }
  compare "extension objects of a fresh install (-) and of one updated from $old_version (+)" \
    catalog-fresh.txt catalog-upgraded.txt
  say "$(grep -c . "$out/catalog-fresh.txt") catalog lines," \
    "$(grep -c ' | member | true$' "$out/catalog-fresh.txt") extension members compared"

  if [[ $failures -gt 0 ]]; then
    echo "upgrade test: from $old_version: $failures check(s) FAILED; the files compared are in" \
      "target/upgrade-test/from-$old_version" >&2
    exit 1
  fi
  exit 0
fi

# ---------------------------------------------------------------- outside
start=$SECONDS
pg_config_path="$(command -v "${PG_CONFIG:-pg_config}")"

for release in "${RELEASES[@]}"; do
  commit="${release#*:}"
  if ! git -C "$repo" cat-file -e "$commit^{commit}" 2>/dev/null; then
    echo "upgrade test: needs the repository history: commit $commit (jobtrack ${release%%:*}," \
      "a build to upgrade from) is not in this clone; fetch it (git fetch --unshallow)" >&2
    exit 1
  fi
done

work="$(mktemp -d /tmp/jt-upgrade.XXXXXX)"
results="$repo/target/upgrade-test"
# What was recorded and compared stays in target/upgrade-test for a look
# after a failure.
finish() {
  status=$?
  rm -rf "$results"
  mkdir -p "$results"
  for dir in "$work"/from-*; do
    [[ -d $dir ]] && cp -r "$dir" "$results/"
  done
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
uninstall_all "$tree"
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
  rm -rf "$out"
  (cd "$dir" && env "$@" cargo pgrx package --pg-config "$pg_config_path" --out-dir "$out/raw")
  mkdir -p "$out/lib" "$out/extension"
  mv "$out/raw$pkglibdir/jobtrack.so" "$out/lib/"
  mv "$out/raw$sharedir"/extension/jobtrack* "$out/extension/"
  rm -rf "$out/raw"
}

# A release's package, built once: target/upgrade-<version>/package, with a
# stamp of the commit and the server it was built for.
server="$("$pg_config_path" --version) $pkglibdir"
for release in "${RELEASES[@]}"; do
  version="${release%%:*}" commit="${release#*:}"
  kept="$repo/target/upgrade-$version"
  stamp="$commit $server"
  if [[ -f $kept/package.stamp && "$(cat "$kept/package.stamp")" == "$stamp" ]]; then
    echo "upgrade test: jobtrack $version (commit $commit): kept build in target/upgrade-$version"
    continue
  fi
  began=$SECONDS
  echo "upgrade test: building jobtrack $version from commit $commit in target/upgrade-$version"
  rm -rf "$kept/src" "$kept/package.stamp"
  mkdir -p "$kept/src"
  git -C "$repo" archive "$commit" | tar -x -C "$kept/src"
  package "$kept/src/pg_ext" "$kept/package" CARGO_TARGET_DIR="$repo/target/upgrade-builds"
  echo "$stamp" >"$kept/package.stamp"
  echo "upgrade test: $version built in $((SECONDS - began)) s"
done

began=$SECONDS
echo "upgrade test: packaging the current build"
package "$repo/pg_ext" "$work/pkg-current"
new_version="$(sed -n "s/^default_version = '\(.*\)'$/\1/p" "$work/pkg-current/extension/jobtrack.control")"
[[ -n $new_version ]] || { echo "upgrade test: no default_version in jobtrack.control" >&2; exit 1; }
echo "upgrade test: current build ($new_version) packaged in $((SECONDS - began)) s"

built=$SECONDS
failed=()
for release in "${RELEASES[@]}"; do
  version="${release%%:*}"
  if [[ $version == "$new_version" ]]; then
    echo "upgrade test: FAILED: the current build is at $version, a released version:" \
      "bump the version (Cargo.toml) before changing the SQL" >&2
    exit 1
  fi
  began=$SECONDS
  # A cluster that did not start (its port taken by another test's cluster
  # between with-cluster.sh's probe and the bind) ran nothing: again, twice
  # at most.
  for attempt in 1 2 3; do
    uninstall_all "$tree"
    install_package "$repo/target/upgrade-$version/package" "$tree"
    rm -rf "$work/from-$version"
    if PG_CONFIG="$tree/bin/pg_config" "$repo/tests/pg_regress/with-cluster.sh" --preload -- \
      "$here/run.sh" --in-cluster "$work" "$tree" "$version" "$new_version"; then
      echo "upgrade test: from $version: passed in $((SECONDS - began)) s"
      break
    elif [[ -d $work/from-$version || $attempt == 3 ]]; then
      failed+=("$version")
      break
    fi
    echo "upgrade test: from $version: the cluster did not start (attempt $attempt); again" >&2
  done
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "upgrade test: FAILED from ${failed[*]}" >&2
  exit 1
fi
echo "upgrade test: passed from ${#RELEASES[@]} releases (${RELEASES[*]%%:*}) to $new_version in" \
  "$((SECONDS - start)) s, of which $((SECONDS - built)) s on the clusters"
