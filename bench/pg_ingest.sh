#!/usr/bin/env bash
# Ingest into PostgreSQL from 1 and from 3 nodes, beside SQLite in the same
# run (issue 11): `pveam access import` of each node's access.log of a
# pveaudit-gen data set, 3 nodes as 3 processes at once (each its own
# writer, as three pveauditd would be), into an empty store each time.
#   bench/pg_ingest.sh --logs DIR [--build DIR] [--runs N] [--work DIR]
# DIR holds pve1/ pve2/ pve3/ (pveaudit-gen --out DIR). The PostgreSQL
# server is a scratch one started here (bench/pg_server.sh), fsync on,
# on this machine. Prints one row per store and node count: the median
# wall time of N runs and events/s.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
logs="" build="$here/../build" runs=3 work=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --logs) logs=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    *) echo "pg_ingest.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -d "$logs/pve1" && -d "$logs/pve3" ]] || { echo "pg_ingest.sh: --logs DIR with pve1..pve3 required" >&2; exit 2; }
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "pg_ingest.sh: invalid value '$runs' for --runs" >&2; exit 2; }
pveam="$build/bin/pveam"
[[ -x "$pveam" ]] || { echo "pg_ingest.sh: $pveam not found (build first)" >&2; exit 2; }
[[ -n "$work" ]] || work=$(mktemp -d /tmp/pveaudit-pg-ingest.XXXXXX)
chmod 0755 "$work"
. "$here/pg_lib.sh"
pg_start "$work/pg"
reset_pg() {
  PGPASSFILE="$work/pg/pgpass" "$bindir/psql" -q -h 127.0.0.1 -p "$port" -U pveaudit -d postgres \
    -c "DROP DATABASE IF EXISTS pveaudit" -c "CREATE DATABASE pveaudit"
}
for n in 1 2 3; do
  # `node` is a top-level key: it must come before [store].
  printf 'node = "pve%s"\n[store]\nurl = "%s"\npassfile = "%s"\n' "$n" "$url" "$work/pg/pgpass" \
    > "$work/pg-pve$n.toml"
  printf 'node = "pve%s"\n' "$n" > "$work/sq-pve$n.toml"
done
events=0
for n in 1 2 3; do events=$((events + $(wc -l < "$logs/pve$n/access.log"))); done
one=$(wc -l < "$logs/pve1/access.log")

# One import per node, all at once; prints the wall seconds.
run() {  # run STORE NODES
  local store=$1 nodes=$2 start end
  if [[ $store == pg ]]; then reset_pg; else rm -rf "$work/sq"; fi
  start=$(date +%s.%N)
  for n in $(seq 1 "$nodes"); do
    if [[ $store == pg ]]; then
      TZ=UTC PVEAUDIT_CONFIG="$work/pg-pve$n.toml" "$pveam" access import --format pveproxy \
        --node "pve$n" "$logs/pve$n/access.log" > /dev/null 2>&1 &
    else
      TZ=UTC PVEAUDIT_CONFIG="$work/sq-pve$n.toml" PVEAUDIT_DATA_DIR="$work/sq" "$pveam" access \
        import --format pveproxy --node "pve$n" "$logs/pve$n/access.log" > /dev/null 2>&1 &
    fi
  done
  wait
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f\n", b - a}'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '| store | nodes (processes) | events | wall s (median of %s) | events/s |\n|---|---|---|---|---|\n' "$runs"
for nodes in 1 3; do
  total=$([[ $nodes == 1 ]] && echo "$one" || echo "$events")
  for store in pg sqlite; do
    times=()
    for _ in $(seq 1 "$runs"); do times+=("$(run "$store" "$nodes")"); done
    med=$(printf '%s\n' "${times[@]}" | median)
    printf '| %s | %s | %s | %.2f | %s |\n' "$([[ $store == pg ]] && echo PostgreSQL || echo SQLite)" \
      "$nodes" "$total" "$med" "$(awk -v t="$total" -v m="$med" 'BEGIN {printf "%d", t / m}')"
  done
done
