# Sourced by the bench scripts that time whole commands one run each and
# print a Markdown table (stream_bench.sh, evidence_bench.sh,
# archive_bench.sh). They set
# OUT, LOGS, DATA, GEN, PVEAM, EVENTS, SEED and define die() first.

ROWS=()
GEN_ARGS=()

# timed NAME CMD...: one run, stdout to /dev/null; sets WALL (s) and RSS (MB,
# the largest process of the command).
timed() {
  local name="$1"; shift
  local t0 t1
  t0=$(date +%s%N)
  /usr/bin/time -f '%M' -o "$OUT/$name.time" "$@" >/dev/null 2>"$OUT/$name.err" ||
    { cat "$OUT/$name.err" >&2; die "$name failed: $*"; }
  t1=$(date +%s%N)
  WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
  RSS=$(awk -v k="$(tail -n 1 "$OUT/$name.time")" 'BEGIN { printf "%.0f", k / 1024 }')
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "n/a" }'; }
row() { ROWS+=("| $1 | $2 | $3 | $4 | $5 |"); }

# generate_and_import: EVENTS lines of pveaudit-gen (SEED, and GEN_ARGS when
# set) into LOGS, each node's access.log, auth.log and task index imported
# into DATA; sets NODES and RAW (the raw files).
generate_and_import() {
  echo "== generating $EVENTS events" >&2
  "$GEN" --events "$EVENTS" --out "$LOGS" --seed "$SEED" "${GEN_ARGS[@]}" >/dev/null
  NODES=$(sed -n 's/^nodes=//p' "$LOGS/MANIFEST.txt" | tr ',' ' ')
  RAW=()
  echo "== importing" >&2
  local n
  for n in $NODES; do
    RAW+=("$LOGS/$n/access.log" "$LOGS/$n/auth.log" "$LOGS/$n/tasks/index")
    "$PVEAM" access import --data-dir "$DATA" --node "$n" \
      "$LOGS/$n/access.log" "$LOGS/$n/auth.log" "$LOGS/$n/tasks/index" >/dev/null
  done
}
