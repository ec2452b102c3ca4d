#!/usr/bin/env bash
# Row layout against block layout on PostgreSQL (issue 11, "compare at
# least a row layout and a block/column layout like the SQLite one"):
#   bench/pg_layout.sh --logs DIR [--build DIR] [--runs N] [--work DIR] [--layouts "row block"]
# DIR is a pveaudit-gen data set. Its nodes' logs are imported into a
# SQLite store once; bench/pg_layout.cc then loads those events into memory
# (content digests computed beforehand, as the importer's parser threads
# do) and appends them to a scratch PostgreSQL server (bench/pg_server.sh,
# fsync on, on this machine) in each layout, from 1 and from 3 writers,
# into an empty database each time. Then the probe user's days and the
# failures of the whole store are read from each layout and from the
# SQLite store (the store's own Scan, in process), N runs each: p50 / p95
# ms, rows and a checksum of the rows that must agree.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
logs="" build="$here/../build" runs=5 work="" layouts="row block"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --logs) logs=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --layouts) layouts=$2; shift 2 ;;
    *) echo "pg_layout.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -f "$logs/MANIFEST.txt" ]] || { echo "pg_layout.sh: --logs DIR (a pveaudit-gen data set) required" >&2; exit 2; }
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "pg_layout.sh: invalid value '$runs' for --runs" >&2; exit 2; }
pveam="$build/bin/pveam" tool="$build/bin/pg_layout"
for b in "$pveam" "$tool"; do [[ -x "$b" ]] || { echo "pg_layout.sh: $b not found (build first)" >&2; exit 2; }; done
[[ -n "$work" ]] || work=$(mktemp -d /tmp/pveaudit-pg-layout.XXXXXX)
mkdir -p "$work"
chmod 0755 "$work"
export TZ=UTC LC_ALL=C

. "$here/pg_lib.sh"
read_probe "$logs"
start_us=$(( $(date -u -d "$start" +%s) * 1000000 ))
end_us=$(( $(date -u -d "$end" +%s) * 1000000 ))

pg_start "$work/pg"
conn="host=127.0.0.1 port=$port user=pveaudit dbname=pveaudit"
export PGPASSFILE="$work/pg/pgpass"
reset_pg() {
  "$bindir/psql" -q -h 127.0.0.1 -p "$port" -U pveaudit -d postgres \
    -c "DROP DATABASE IF EXISTS pveaudit" -c "CREATE DATABASE pveaudit"
}

if [[ ! -f "$work/sqlite/pveaudit.db" ]]; then
  printf 'timezone = "UTC"\n' >"$work/sqlite.toml"
  for n in $nodes; do
    PVEAUDIT_CONFIG=$work/sqlite.toml "$pveam" access import --data-dir "$work/sqlite" --node "$n" \
      "$logs/$n/access.log" "$logs/$n/auth.log" "$logs/$n/tasks/index" >/dev/null
  done
fi

for layout in $layouts; do
  [[ $layout == row || $layout == block ]] || { echo "pg_layout.sh: invalid layout '$layout'" >&2; exit 2; }
  for writers in 1 3; do
    reset_pg
    "$tool" ingest --layout "$layout" --from "$work/sqlite" --conn "$conn" --writers "$writers"
  done
  # The 3-writer store stays for the reads (three chains, as a cluster).
  "$tool" query --layout "$layout" --conn "$conn" --user "$user" --start "$start_us" --end "$end_us" --runs "$runs"
  "$tool" failed --layout "$layout" --conn "$conn" --start 0 --end 9223372036854775807 --runs "$runs"
done
"$tool" query --layout sqlite --from "$work/sqlite" --user "$user" --start "$start_us" --end "$end_us" --runs "$runs"
"$tool" failed --layout sqlite --from "$work/sqlite" --start 0 --end 9223372036854775807 --runs "$runs"
