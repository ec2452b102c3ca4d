#!/usr/bin/env bash
# The product page's queries on a PostgreSQL store beside the SQLite store
# holding the same events (issue 11, "Benchmarks"):
#   bench/pg_query.sh --logs DIR [--build DIR] [--runs N] [--work DIR] [--import-only]
#                     [--no-import] [--queries "user failed hour"]
# DIR is a pveaudit-gen data set (pveaudit-gen --out DIR; its MANIFEST.txt
# names a probe user and days). Each node's access.log, auth.log and task
# index are imported once into each store (a scratch PostgreSQL server,
# bench/pg_server.sh, fsync on, on this machine); then each query runs N
# times per store, whole process (`pveam access log ... > /dev/null`), and
# its p50 / p95 wall time is printed:
#   user   --user U --start D1 --end D2      (the page's "who did what")
#   failed --failed 1 --count 5               (brute force, whole store)
#   hour   --start DAY --end DAY+1 --count 1 --hour 1 (a day's activity)
# --import-only stops after the imports (their times are printed first).
# --no-import reuses the stores an earlier run left in --work (100 M events
# take half an hour to import here); --queries runs only the named ones
# (e.g. --runs 1 for the slow one, apart).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
logs="" build="$here/../build" runs=10 work="" import_only=0 no_import=0 only="user failed hour"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --logs) logs=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --import-only) import_only=1; shift ;;
    --no-import) no_import=1; shift ;;
    --queries) only=$2; shift 2 ;;
    *) echo "pg_query.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -f "$logs/MANIFEST.txt" ]] || { echo "pg_query.sh: --logs DIR (a pveaudit-gen data set) required" >&2; exit 2; }
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "pg_query.sh: invalid value '$runs' for --runs" >&2; exit 2; }
pveam="$build/bin/pveam"
[[ -x "$pveam" ]] || { echo "pg_query.sh: $pveam not found (build first)" >&2; exit 2; }
for q in $only; do
  [[ "$q" =~ ^(user|failed|hour)$ ]] || { echo "pg_query.sh: invalid query '$q' in --queries (user, failed, hour)" >&2; exit 2; }
done
if [[ $no_import -eq 1 ]]; then
  [[ -d "$work/sqlite" ]] || { echo "pg_query.sh: --no-import: no stores in --work '$work' (run once without it)" >&2; exit 2; }
fi
[[ -n "$work" ]] || work=$(mktemp -d /tmp/pveaudit-pg-query.XXXXXX)
mkdir -p "$work"
chmod 0755 "$work"
export TZ=UTC LC_ALL=C

. "$here/pg_lib.sh"
read_probe "$logs"

pg_start "$work/pg"
printf 'timezone = "UTC"\n' >"$work/sqlite.toml"

import() {  # CONFIG DATA_DIR
  local n
  for n in $nodes; do
    PVEAUDIT_CONFIG=$1 "$pveam" access import --data-dir "$2" --node "$n" \
      "$logs/$n/access.log" "$logs/$n/auth.log" "$logs/$n/tasks/index" >/dev/null
  done
}
now_ns() { date +%s%N; }
events() { PVEAUDIT_CONFIG=$1 "$pveam" access status --data-dir "$2" --output-format json | jq .events; }
if [[ $no_import -eq 0 ]]; then
  t0=$(now_ns); import "$cfg" "$work/pgdata"; t_pg=$(( ($(now_ns) - t0) / 1000000 ))
  t0=$(now_ns); import "$work/sqlite.toml" "$work/sqlite"; t_sq=$(( ($(now_ns) - t0) / 1000000 ))
  echo "imported $(events "$cfg" "$work/pgdata") events: PostgreSQL $t_pg ms, SQLite $t_sq ms"
else
  n_pg=$(events "$cfg" "$work/pgdata") n_sq=$(events "$work/sqlite.toml" "$work/sqlite")
  [[ "$n_pg" == "$n_sq" ]] || { echo "pg_query.sh: the stores in $work differ: $n_pg events on PostgreSQL, $n_sq on SQLite" >&2; exit 1; }
  echo "reusing $n_pg events in $work"
fi
[[ $import_only -eq 0 ]] || exit 0

# p50 and p95 (nearest rank) of RUNS runs of the command, in ms. The run
# that counts its rows (below) has warmed the caches.
percentiles() {
  local i t0 times=()
  for ((i = 0; i < runs; i++)); do
    t0=$(now_ns)
    "$@" >/dev/null
    times+=("$(( ($(now_ns) - t0) / 1000 ))")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v n="$runs" '{ v[NR] = $1 }
    END { p50 = v[int((n + 1) / 2)]; i95 = int(0.95 * n + 0.999); if (i95 < 1) i95 = 1;
          printf "%.1f / %.1f", p50 / 1000, v[i95] / 1000 }'
}
day_start="${start}T00:00:00Z"
day_end=$(date -u -d "$start + 1 day" +%Y-%m-%dT00:00:00Z)
queries=(
  "user|--user $user --start ${start}T00:00:00Z --end ${end}T00:00:00Z"
  "failed|--failed 1 --count 5"
  "hour|--start $day_start --end $day_end --count 1 --hour 1"
)
echo
echo "| query | rows | PostgreSQL p50 / p95 ms | SQLite p50 / p95 ms |"
echo "|---|---:|---:|---:|"
for q in "${queries[@]}"; do
  name=${q%%|*}
  [[ " $only " == *" $name "* ]] || continue
  read -r -a args <<<"${q#*|}"
  pg=(env PVEAUDIT_CONFIG="$cfg" "$pveam" access log --data-dir "$work/pgdata" --output-format json "${args[@]}")
  sq=(env PVEAUDIT_CONFIG="$work/sqlite.toml" "$pveam" access log --data-dir "$work/sqlite" --output-format json "${args[@]}")
  rows_pg=$("${pg[@]}" | jq length)
  rows_sq=$("${sq[@]}" | jq length)
  [[ "$rows_pg" == "$rows_sq" ]] || { echo "pg_query.sh: $name: $rows_pg rows on PostgreSQL, $rows_sq on SQLite" >&2; exit 1; }
  echo "| $name \`${args[*]}\` | $rows_pg | $(percentiles "${pg[@]}") | $(percentiles "${sq[@]}") |"
done
