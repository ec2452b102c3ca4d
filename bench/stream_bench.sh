#!/usr/bin/env bash
# bench/stream_bench.sh: `pveam access log` writing the whole store, in every
# output format, beside peers from the same run.
#
#   bench/stream_bench.sh [--events N] [--build DIR] [--out DIR] [--seed S]
#
# Defaults: N=1000000, build=build, out=bench/out-stream, seed 1.
# Generates N events with pveaudit-gen, imports them, then times (wall clock
# and peak RSS from GNU time, one run each):
#   pveam access log --output-format F > /dev/null   for text, json,
#                                                      json-pretty, csv, yaml
#   pveam access log | head -5                       (a reader that stops)
# and the peers:
#   cat of the raw logs > /dev/null                  (reading the input)
#   sqlite3 -csv / -json: SELECT * of the same rows  (a table of the same
#     columns, loaded from pveam's own CSV output, printed by SQLite's shell)
# Prints a Markdown table (also OUT/results.md).
set -euo pipefail

EVENTS=1000000
BUILD=build
OUT=bench/out-stream
SEED=1

usage() {
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --events) EVENTS="$2"; shift 2 ;;
    --build) BUILD="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "stream_bench.sh: unknown argument $1" >&2; usage 2 ;;
  esac
done
[[ "$EVENTS" =~ ^[0-9]+$ && "$EVENTS" -gt 0 ]] ||
  { echo "stream_bench.sh: bad --events '$EVENTS'" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="$(realpath -m "$BUILD")"
OUT="$(realpath -m "$OUT")"
GEN="$BUILD/bin/pveaudit-gen"
PVEAM="$BUILD/bin/pveam"
LOGS="$OUT/logs"
DATA="$OUT/data"
export LC_ALL=C TZ=UTC PVEAUDIT_CONFIG=/dev/null

die() { echo "stream_bench.sh: $*" >&2; exit 1; }
[[ -x "$GEN" ]] || die "$GEN not found; build it: ninja -C $BUILD pveaudit-gen"
[[ -x "$PVEAM" ]] || die "$PVEAM not found; build it: ninja -C $BUILD pveam"
command -v sqlite3 >/dev/null || die "sqlite3 not installed (apt-get install sqlite3)"
/usr/bin/time -f '%e' -o /dev/null true 2>/dev/null || die "GNU time (/usr/bin/time) needed"

mkdir -p "$OUT"
# shellcheck source=bench/table_lib.sh
source "$ROOT/bench/table_lib.sh"

rm -rf "$LOGS" "$DATA" "$OUT/peer.db"
generate_and_import
SHOWN=$("$PVEAM" access log --data-dir "$DATA" --output-format csv | tail -n +2 | wc -l)
echo "== $SHOWN events shown by pveam access log" >&2

for f in text json json-pretty csv yaml; do
  echo "== pveam access log --output-format $f" >&2
  timed "log-$f" "$PVEAM" access log --data-dir "$DATA" --output-format "$f"
  row "pveam access log --output-format $f > /dev/null" "$WALL" "$(rate "$SHOWN" "$WALL")" "$RSS" ""
done
echo "== pveam access log | head -5" >&2
timed head bash -c "set -o pipefail; '$PVEAM' access log --data-dir '$DATA' | head -5"
row "pveam access log \| head -5" "$WALL" "" "$RSS" "exit 0 (pipefail)"

echo "== peers" >&2
timed cat cat "${RAW[@]}"
row "cat raw logs > /dev/null" "$WALL" "$(rate "$EVENTS" "$WALL")" "$RSS" \
  "$(du -cb "${RAW[@]}" | tail -n 1 | cut -f1) bytes, $EVENTS lines"
"$PVEAM" access log --data-dir "$DATA" --output-format csv >"$OUT/events.csv"
sqlite3 "$OUT/peer.db" ".import --csv $OUT/events.csv events"
rm -f "$OUT/events.csv"
timed sqlite-csv sqlite3 -csv "$OUT/peer.db" "SELECT * FROM events ORDER BY rowid"
row "sqlite3 -csv SELECT * (same rows and columns)" "$WALL" "$(rate "$SHOWN" "$WALL")" "$RSS" ""
timed sqlite-json sqlite3 -json "$OUT/peer.db" "SELECT * FROM events ORDER BY rowid"
row "sqlite3 -json SELECT * (same rows and columns)" "$WALL" "$(rate "$SHOWN" "$WALL")" "$RSS" ""

{
  echo "$EVENTS generated events, $SHOWN shown; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "| command | wall s | events/s | peak RSS MB | note |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
} | tee "$OUT/results.md"
