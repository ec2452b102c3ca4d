#!/usr/bin/env bash
# bench/archive_bench.sh: retention archives (pveam access archive run and
# archive verify) of one month, and the compliance checks, beside peers
# from the same run.
#
#   bench/archive_bench.sh [--events N] [--users U] [--build DIR] [--out DIR] [--seed S]
#
# Defaults: N=10000000, U=5000, build=build, out=bench/out-archive, seed 1.
# Generates N events of one month (January 2025, pveaudit-gen's default
# window) for U users with a matching Proxmox config, imports them, then
# times (wall clock and peak RSS from GNU time, one run each):
#   pveam compliance check --standard hipaa|pci-dss|sox     (N events online)
#   peer: pveam access log --output-format json | zstd -3    (the month as a file)
#   pveam access archive run        ([retention] online = "13 months": the month goes)
#   pveam access archive verify DIR --key KEY
#   peer: zstd -dc FILE | sha256sum
#   pveam access verify             (the store, and the archives against their records)
#   pveam access log --include-archives --failed 1 --count 5
# Prints a Markdown table (also OUT/results.md).
set -euo pipefail

EVENTS=10000000
USERS=5000
BUILD=build
OUT=bench/out-archive
SEED=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --events) EVENTS="$2"; shift 2 ;;
    --users) USERS="$2"; shift 2 ;;
    --build) BUILD="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "archive_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$EVENTS" =~ ^[0-9]+$ && "$EVENTS" -gt 0 ]] ||
  { echo "archive_bench.sh: bad --events '$EVENTS'" >&2; exit 2; }
[[ "$USERS" =~ ^[0-9]+$ && "$USERS" -gt 0 ]] ||
  { echo "archive_bench.sh: bad --users '$USERS'" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="$(realpath -m "$BUILD")"
OUT="$(realpath -m "$OUT")"
GEN="$BUILD/bin/pveaudit-gen"
PVEAM="$BUILD/bin/pveam"
LOGS="$OUT/logs"
DATA="$OUT/data"
PVE="$OUT/pve"
die() { echo "archive_bench.sh: $*" >&2; exit 1; }
[[ -x "$GEN" && -x "$PVEAM" ]] || die "build pveaudit-gen and pveam first: ninja -C $BUILD"
command -v zstd >/dev/null || die "zstd not installed (apt-get install zstd)"

mkdir -p "$OUT"
# shellcheck source=bench/table_lib.sh
source "$ROOT/bench/table_lib.sh"
rm -rf "$LOGS" "$DATA" "$PVE" "$OUT/peer.json.zst"
printf 'data_dir = "%s"\ntimezone = "UTC"\n[retention]\nonline = "13 months"\n' "$DATA" \
  >"$OUT/pveaudit.toml"
export LC_ALL=C TZ=UTC PVEAUDIT_CONFIG="$OUT/pveaudit.toml"
GEN_ARGS=(--users "$USERS" --pve-dir "$PVE")
generate_and_import
ONLINE=$("$PVEAM" access status --output-format json | sed -n 's/.*"events": *\([0-9]*\).*/\1/p')

for s in hipaa pci-dss sox; do
  echo "== pveam compliance check --standard $s" >&2
  # Exit 1 (a requirement fails) is an answer, not an error.
  timed "check-$s" bash -c "'$PVEAM' compliance check --standard $s --pve-dir '$PVE'; [ \$? -le 1 ]"
  row "pveam compliance check --standard $s ($USERS users)" "$WALL" "$(rate "$ONLINE" "$WALL")" \
    "$RSS" "$ONLINE events online"
done

echo "== peer: the month as a zstd file" >&2
timed peer-write bash -c "'$PVEAM' access log --start 2025-01-01 --end 2025-02-01 \
  --output-format json | zstd -3 -q -o '$OUT/peer.json.zst'"
row "peer: pveam access log --output-format json \| zstd -3 > FILE" "$WALL" \
  "$(rate "$ONLINE" "$WALL")" "$RSS" "$(stat -c %s "$OUT/peer.json.zst") bytes"

echo "== pveam access archive run" >&2
timed archive "$PVEAM" access archive run
ARCHIVED=$("$PVEAM" access archive list --output-format json | tr '{' '\n' |
  sed -n 's/.*"events": *\([0-9]*\).*/\1/p' | awk '{ n += $1 } END { print n + 0 }')
BYTES=$(du -sb "$DATA/archive" | cut -f1)
row "pveam access archive run" "$WALL" "$(rate "$ARCHIVED" "$WALL")" "$RSS" \
  "$ARCHIVED events, $BYTES bytes ($(awk -v b="$BYTES" -v n="$ARCHIVED" \
  'BEGIN { printf "%.1f", b / n }') bytes/event)"
"$PVEAM" access key --pem >"$OUT/key.pem"
timed archive-verify "$PVEAM" access archive verify "$DATA/archive" --key "$OUT/key.pem"
row "pveam access archive verify DIR --key KEY" "$WALL" "$(rate "$ARCHIVED" "$WALL")" "$RSS" ""
timed peer-read bash -c "zstd -dc '$OUT/peer.json.zst' | sha256sum"
row "peer: zstd -dc FILE \| sha256sum" "$WALL" "$(rate "$ONLINE" "$WALL")" "$RSS" ""
timed verify "$PVEAM" access verify
row "pveam access verify (store, archives against their records)" "$WALL" "" "$RSS" ""
timed log-archived "$PVEAM" access log --include-archives --failed 1 --count 5
row "pveam access log --include-archives --failed 1 --count 5" "$WALL" \
  "$(rate "$ARCHIVED" "$WALL")" "$RSS" ""

{
  echo "| command | wall s | events/s | peak RSS MB | note |"
  echo "|---|---:|---:|---:|---|"
  printf '%s\n' "${ROWS[@]}"
} | tee "$OUT/results.md"
