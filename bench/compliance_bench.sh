#!/usr/bin/env bash
# bench/compliance_bench.sh: `pveam compliance check` on a store whose
# events fall inside the periods the checks read (the last 30 and 90
# days), beside a peer from the same run.
#
#   bench/compliance_bench.sh [--events N] [--days D] [--users U] [--build DIR] [--out DIR]
#                             [--seed S]
#
# Defaults: N=10000000, D=90, U=5000, build=build, out=bench/out-compliance,
# seed 1. Generates N events of the last D days up to today for U users
# with a matching Proxmox config (pveaudit-gen --end-date today), imports
# them, names pool "prod" as the PHI scope ([compliance.hipaa] phi) and the
# financial data ([compliance.sox] data), and times (wall clock and peak RSS
# from GNU time, one run each):
#   pveam compliance check --standard hipaa|pci-dss|sox
#   peer: pveam access log --start (90 days ago) --failed 1 --count 5
#         (one query over the same events)
# The checks read the last 30 or 90 days: --days 90 puts every event there
# (the worst case), --days 2555 spreads them over seven years (a store that
# holds SOX's retention). Prints a Markdown table (also OUT/results.md).
set -euo pipefail

EVENTS=10000000
DAYS=90
USERS=5000
BUILD=build
OUT=bench/out-compliance
SEED=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --events) EVENTS="$2"; shift 2 ;;
    --days) DAYS="$2"; shift 2 ;;
    --users) USERS="$2"; shift 2 ;;
    --build) BUILD="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compliance_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$EVENTS" =~ ^[0-9]+$ && "$EVENTS" -gt 0 ]] ||
  { echo "compliance_bench.sh: bad --events '$EVENTS'" >&2; exit 2; }
[[ "$DAYS" =~ ^[0-9]+$ && "$DAYS" -gt 0 ]] ||
  { echo "compliance_bench.sh: bad --days '$DAYS'" >&2; exit 2; }
[[ "$USERS" =~ ^[0-9]+$ && "$USERS" -gt 0 ]] ||
  { echo "compliance_bench.sh: bad --users '$USERS'" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="$(realpath -m "$BUILD")"
OUT="$(realpath -m "$OUT")"
GEN="$BUILD/bin/pveaudit-gen"
PVEAM="$BUILD/bin/pveam"
LOGS="$OUT/logs"
DATA="$OUT/data"
PVE="$OUT/pve"
die() { echo "compliance_bench.sh: $*" >&2; exit 1; }
[[ -x "$GEN" && -x "$PVEAM" ]] || die "build pveaudit-gen and pveam first: ninja -C $BUILD"

mkdir -p "$OUT"
# shellcheck source=bench/table_lib.sh
source "$ROOT/bench/table_lib.sh"
rm -rf "$LOGS" "$DATA" "$PVE"
cat >"$OUT/pveaudit.toml" <<EOT
data_dir = "$DATA"
timezone = "UTC"
[compliance.hipaa]
phi = ["pool:prod"]
[compliance.sox]
data = ["pool:prod"]
EOT
export LC_ALL=C TZ=UTC PVEAUDIT_CONFIG="$OUT/pveaudit.toml"
GEN_ARGS=(--users "$USERS" --pve-dir "$PVE" --days "$DAYS" --end-date today)
generate_and_import
ONLINE=$("$PVEAM" access status --output-format json | sed -n 's/.*"events": *\([0-9]*\).*/\1/p')

for s in hipaa pci-dss sox; do
  echo "== pveam compliance check --standard $s" >&2
  # Exit 1 (a requirement fails) is an answer, not an error.
  timed "check-$s" bash -c "'$PVEAM' compliance check --standard $s --pve-dir '$PVE' \
    --output '$OUT/check-$s.txt'; [ \$? -le 1 ]"
  row "pveam compliance check --standard $s ($USERS users)" "$WALL" "$(rate "$ONLINE" "$WALL")" \
    "$RSS" "$(grep -cE '^(PASS|FAIL|WARN|N/A|EXCEPTED|UNCHECKED) ' "$OUT/check-$s.txt" || true) requirements"
done
echo "== peer: one query over the same events" >&2
START=$(date -u -d '90 days ago' +%F)
timed peer "$PVEAM" access log --start "$START" --failed 1 --count 5
row "peer: pveam access log --start \$START --failed 1 --count 5" "$WALL" "$(rate "$ONLINE" "$WALL")" \
  "$RSS" ""

{
  echo "$EVENTS lines generated, $ONLINE events stored (last $DAYS days), $USERS users"
  echo
  echo "| command | wall s | events/s | peak RSS MB | note |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
} | tee "$OUT/results.md"
