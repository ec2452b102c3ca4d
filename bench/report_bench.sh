#!/usr/bin/env bash
# bench/report_bench.sh: times the access-control reports on a generated
# Proxmox config dir.
#
#   bench/report_bench.sh [--build DIR] [--out DIR] [--users N] [--groups N]
#                         [--acls N] [--guests N] [--seed S] [--format csv|json]
#                         [--runs N]
#
# Defaults: build=build, out=bench/out/report, 5000 users, 500 groups,
# 50000 ACL entries, 10000 guests, seed 1, format csv, 1 run. Generates the
# config dir with report_gen, then runs (no event store, fixed --now)
#   pveum user report   --output OUT/user-access-report.FORMAT
#   pveum acl report    --output OUT/permission-report.FORMAT
#   pveum audit quarterly --quarter 2026Q4 --output OUT/review
# each under /usr/bin/time -v (--runs N: N rounds of the three; the table
# gives the median wall time and peak RSS, and every wall time), and prints
# a Markdown table (wall time, peak RSS, output size) to stdout and
# OUT/results.md, with the load average before and after.
set -euo pipefail

BUILD=build
OUT=bench/out/report
USERS=5000
NGROUPS=500
ACLS=50000
GUESTS=10000
SEED=1
FORMAT=csv
RUNS=1

usage() {
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --users) USERS="$2"; shift 2 ;;
    --groups) NGROUPS="$2"; shift 2 ;;
    --acls) ACLS="$2"; shift 2 ;;
    --guests) GUESTS="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --format) FORMAT="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "report_bench.sh: unknown argument $1" >&2; usage 2 ;;
  esac
done

PVEUM="$BUILD/bin/pveum"
GEN="$BUILD/bin/report_gen"
for f in "$PVEUM" "$GEN" /usr/bin/time; do
  [[ -x "$f" ]] || { echo "report_bench.sh: $f not found (build pveam and report_gen)" >&2; exit 2; }
done

mkdir -p "$OUT"
PVE="$OUT/pve"
rm -rf "$PVE" "$OUT/review"
"$GEN" --out "$PVE" --users "$USERS" --groups "$NGROUPS" --acls "$ACLS" --guests "$GUESTS" \
  --seed "$SEED" >&2

NOW=2026-12-15T12:00:00Z
NOSTORE="$OUT/no-store"  # never created: the reports run without an event store
COMMON=(--pve-dir "$PVE" --data-dir "$NOSTORE" --config /dev/null --now "$NOW")

# run NAME OUTPUT CMD...: runs CMD under /usr/bin/time -v; records its wall
# time (s) and peak RSS (MB) in WALL[NAME] and RSS[NAME] (space-separated).
declare -A WALL RSS
run() {
  local name="$1" output="$2"
  shift 2
  local tf="$OUT/$name.time"
  if ! /usr/bin/time -v -o "$tf" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"; then
    echo "report_bench.sh: $name failed:" >&2
    cat "$OUT/$name.err" >&2
    exit 1
  fi
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tf" |
    awk -F: '{ if (NF == 3) s = $1 * 3600 + $2 * 60 + $3; else s = $1 * 60 + $2; printf "%.2f", s }')
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$tf")
  WALL[$name]+="$wall "
  RSS[$name]+="$rss "
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ((round = 1; round <= RUNS; round++)); do
  run "user-report" "$OUT/user-access-report.$FORMAT" \
    "$PVEUM" user report "${COMMON[@]}" --output "$OUT/user-access-report.$FORMAT"
  run "acl-report" "$OUT/permission-report.$FORMAT" \
    "$PVEUM" acl report "${COMMON[@]}" --output "$OUT/permission-report.$FORMAT"
  run "audit-quarterly" "$OUT/review" \
    "$PVEUM" audit quarterly "${COMMON[@]}" --quarter 2026Q4 --user bench@pam --output "$OUT/review"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

ROWS=()
row() {
  local name="$1" output="$2" size
  size=$(du -sb "$output" | awk '{printf "%.1f", $1 / 1048576}')
  if ((RUNS > 1)); then
    ROWS+=("| \`$name\` | $(median <<<"${WALL[$name]}") | $(median <<<"${RSS[$name]}") | $size | ${WALL[$name]% } |")
  else
    ROWS+=("| \`$name\` | ${WALL[$name]% } | ${RSS[$name]% } | $size |")
  fi
}
row "user-report" "$OUT/user-access-report.$FORMAT"
row "acl-report" "$OUT/permission-report.$FORMAT"
row "audit-quarterly" "$OUT/review"

{
  echo "Reports on $USERS users, $NGROUPS groups, $ACLS ACL entries, $GUESTS guests" \
    "(report_gen --seed $SEED; $(nproc) CPUs; format $FORMAT; no event store;" \
    "$RUNS run(s); load average $LOAD_BEFORE before, $LOAD_AFTER after)"
  echo
  if ((RUNS > 1)); then
    echo "| command | wall (s), median | peak RSS (MB), median | output (MB) | all wall times (s) |"
    echo "|---|---:|---:|---:|---|"
  else
    echo "| command | wall (s) | peak RSS (MB) | output (MB) |"
    echo "|---|---:|---:|---:|"
  fi
  printf '%s\n' "${ROWS[@]}"
  echo
  grep -h '^wrote' "$OUT/acl-report.err" || true
} | tee "$OUT/results.md"
