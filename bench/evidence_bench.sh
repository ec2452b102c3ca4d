#!/usr/bin/env bash
# bench/evidence_bench.sh: the signed monthly export bundle (pveam access
# export) and its offline check, beside peers from the same run.
#
#   bench/evidence_bench.sh [--events N] [--build DIR] [--out DIR] [--seed S]
#
# Defaults: N=1000000, build=build, out=bench/out-evidence, seed 1.
# Generates N events with pveaudit-gen, imports them, then times (wall
# clock and peak RSS from GNU time, one run each) for the month of the
# first event:
#   pveam access export --month M --output DIR         (csv, json, cef)
#   pveam access export verify DIR --key KEY
# and the peers:
#   pveam access log --start ... --end ... --output-format csv > FILE, then
#     sha256sum FILE                                   (what export adds to)
#   sha256sum -c SHA256SUMS + openssl pkeyutl -verify  (the auditor's tools)
# Prints a Markdown table (also OUT/results.md).
set -euo pipefail

EVENTS=1000000
BUILD=build
OUT=bench/out-evidence
SEED=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --events) EVENTS="$2"; shift 2 ;;
    --build) BUILD="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "evidence_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$EVENTS" =~ ^[0-9]+$ && "$EVENTS" -gt 0 ]] ||
  { echo "evidence_bench.sh: bad --events '$EVENTS'" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="$(realpath -m "$BUILD")"
OUT="$(realpath -m "$OUT")"
GEN="$BUILD/bin/pveaudit-gen"
PVEAM="$BUILD/bin/pveam"
LOGS="$OUT/logs"
DATA="$OUT/data"
export LC_ALL=C TZ=UTC PVEAUDIT_CONFIG=/dev/null
die() { echo "evidence_bench.sh: $*" >&2; exit 1; }
[[ -x "$GEN" && -x "$PVEAM" ]] || die "build pveaudit-gen and pveam first: ninja -C $BUILD"
command -v openssl >/dev/null || die "openssl not installed"

mkdir -p "$OUT"
# shellcheck source=bench/table_lib.sh
source "$ROOT/bench/table_lib.sh"

rm -rf "$LOGS" "$DATA" "$OUT"/bundle-* "$OUT/peer.csv"
generate_and_import
FIRST=$("$PVEAM" access status --data-dir "$DATA" --output-format json |
  sed -n 's/.*"first_time": *"\([0-9]*-[0-9]*\)-.*/\1/p')
[[ "$FIRST" =~ ^[0-9]{4}-[0-9]{2}$ ]] || die "cannot read the store's first month"
Y=${FIRST%-*}; M=${FIRST#*-}
NEXT=$(date -u -d "$FIRST-01 +1 month" +%Y-%m-%d)
"$PVEAM" access key --data-dir "$DATA" --pem >"$OUT/key.pem"

for f in csv json cef; do
  echo "== pveam access export --month $FIRST --output-format $f" >&2
  timed "export-$f" "$PVEAM" access export --data-dir "$DATA" --month "$FIRST" \
    --output-format "$f" --output "$OUT/bundle-$f"
  N=$(sed -n 's/^ *"events": \([0-9]*\),$/\1/p' "$OUT/bundle-$f/manifest.json" | head -n 1)
  row "pveam access export --month $FIRST --output-format $f" "$WALL" "$(rate "$N" "$WALL")" \
    "$RSS" "$N events, $(stat -c %s "$OUT/bundle-$f/events.$f") bytes"
  timed "verify-$f" "$PVEAM" access export verify "$OUT/bundle-$f" --key "$OUT/key.pem"
  row "pveam access export verify (--key, $f)" "$WALL" "$(rate "$N" "$WALL")" "$RSS" ""
done
echo "== peers" >&2
timed peer-log bash -c "'$PVEAM' access log --data-dir '$DATA' --start $Y-$M-01 \
  --end '$NEXT 00:00:00' --output-format csv > '$OUT/peer.csv' && sha256sum '$OUT/peer.csv'"
row "peer: pveam access log --output-format csv > FILE && sha256sum FILE" "$WALL" \
  "$(rate "$N" "$WALL")" "$RSS" ""
timed peer-tools bash -c "cd '$OUT/bundle-csv' && sha256sum -c SHA256SUMS && openssl pkeyutl \
  -verify -pubin -inkey '$OUT/key.pem' -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig"
row "peer: sha256sum -c SHA256SUMS && openssl pkeyutl -verify (csv)" "$WALL" "" "$RSS" ""
cmp -s "$OUT/peer.csv" "$OUT/bundle-csv/events.csv" || die "the bundle's events.csv differs from pveam access log"

{
  echo "$EVENTS generated events, month $FIRST; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "| command | wall s | events/s | peak RSS MB | note |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
} | tee "$OUT/results.md"
