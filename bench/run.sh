#!/usr/bin/env bash
# bench/run.sh: reproducible pveaudit benchmark against simple peers.
#
#   bench/run.sh [--events N] [--build DIR] [--out DIR] [--runs R] [--seed S]
#                [--skip-pveam]
#
# Defaults: N=10000000, build=build, out=bench/out, R=10 runs per query.
# Generates a data set with pveaudit-gen, then times pveaudit and its peer in
# the same run:
#   a. import  pveam access import        vs  sqlite3 .import + 3 indexes
#   b. query   pveam access log --user U  vs  grep/awk over the raw logs
#                                             (and an indexed sqlite3 SELECT)
#   c. failed  pveam access log --failed  vs  grep | awk | sort | uniq -c
# and prints a Markdown table to stdout and OUT/results.md. See bench/README.md.
# --skip-pveam times the generator and the peers only (for trying the harness
# before pveam is built); without it a missing pveam is an error.
set -euo pipefail

EVENTS=10000000
BUILD=build
OUT=bench/out
RUNS=10
SEED=1
SKIP_PVEAM=0

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --events) EVENTS="$2"; shift 2 ;;
    --build) BUILD="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --skip-pveam) SKIP_PVEAM=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage 2 ;;
  esac
done
[[ "$EVENTS" =~ ^[0-9]+$ && "$EVENTS" -gt 0 ]] || { echo "run.sh: bad --events" >&2; exit 2; }
[[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -gt 0 ]] || { echo "run.sh: bad --runs" >&2; exit 2; }

# Relative --build/--out are taken from the repository root (like the defaults).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="$(realpath -m "$BUILD")"
OUT="$(realpath -m "$OUT")"
GEN="$BUILD/bin/pveaudit-gen"
PVEAM="$BUILD/bin/pveam"
LOGS="$OUT/logs"
DATA="$OUT/data"
PEER="$OUT/peer"
export LC_ALL=C TZ=UTC

die() { echo "run.sh: $*" >&2; exit 1; }
[[ -x "$GEN" ]] || die "$GEN not found; build it: cmake --build $BUILD --target pveaudit-gen"
if [[ $SKIP_PVEAM -eq 0 && ! -x "$PVEAM" ]]; then
  die "$PVEAM not found; build it, or pass --skip-pveam to time the peers only"
fi
command -v sqlite3 >/dev/null || die "sqlite3 not installed (apt-get install sqlite3)"
HAVE_GNU_TIME=0
if [[ -x /usr/bin/time ]] && /usr/bin/time -f '%e' -o /dev/null true 2>/dev/null; then
  HAVE_GNU_TIME=1
fi
HAVE_HYPERFINE=0
if command -v hyperfine >/dev/null && command -v jq >/dev/null; then HAVE_HYPERFINE=1; fi

mkdir -p "$OUT"
RESULTS="$OUT/results.md"
ROWS=()

# ---------------------------------------------------------------- helpers --

now_ns() { date +%s%N; }

# run_timed NAME CMD...: runs once; sets T_WALL (s) and T_RSS_MB (peak RSS of
# the largest process, MB; "n/a" without GNU time). Output goes to
# $OUT/NAME.out, stderr to $OUT/NAME.err; a failing command aborts.
run_timed() {
  local name="$1"; shift
  local tf="$OUT/$name.time"
  local t0 t1 wrap=() kb
  # GNU time supplies the peak RSS; the wall clock is taken here in ns
  # (time's %e has only 10 ms resolution).
  [[ $HAVE_GNU_TIME -eq 1 ]] && wrap=(/usr/bin/time -f '%M' -o "$tf")
  t0=$(now_ns)
  "${wrap[@]}" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" ||
    { cat "$OUT/$name.err" >&2; die "$name failed: $*"; }
  t1=$(now_ns)
  T_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  T_RSS_MB="n/a"
  if [[ $HAVE_GNU_TIME -eq 1 ]]; then
    kb=$(tail -n 1 "$tf")
    T_RSS_MB=$(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }')
  fi
}

# median_ms NAME CMD...: median whole-process wall time of RUNS runs, in ms
# (hyperfine when installed, else a timed loop); the last run's stdout is kept
# in $OUT/NAME.out. Sets T_MED_MS.
median_ms() {
  local name="$1"; shift
  "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" || { cat "$OUT/$name.err" >&2; die "$name failed: $*"; }
  if [[ $HAVE_HYPERFINE -eq 1 ]]; then
    local q=() a
    for a in "$@"; do q+=("$(printf '%q' "$a")"); done
    # Functions are exported so hyperfine's shell can run them.
    hyperfine --shell bash --style none --warmup 1 --runs "$RUNS" --export-json "$OUT/$name.json" \
      "${q[*]}" >/dev/null 2>&1 || die "hyperfine $name failed"
    T_MED_MS=$(jq '.results[0].median * 1000' "$OUT/$name.json" | awk '{ printf "%.1f", $1 }')
    return
  fi
  local i t0 t1 times=()
  for ((i = 0; i < RUNS; i++)); do
    t0=$(now_ns)
    "$@" >/dev/null 2>&1
    t1=$(now_ns)
    times+=("$((t1 - t0))")
  done
  T_MED_MS=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 }
    END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f", m / 1e6 }')
}

# Rows of a JSON result: an array, JSON lines, or an object with one array.
json_rows() {
  if command -v jq >/dev/null; then
    jq -s 'if length == 1 and (.[0] | type) == "array" then .[0] | length
           elif length == 1 and (.[0] | type) == "object" and ([.[0][] | arrays] | length) == 1
           then [.[0][] | arrays][0] | length
           else length end' "$1" 2>/dev/null || echo "?"
  else
    grep -c '^ *{' "$1" || true
  fi
}

rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "n/a" }'; }
per() { awk -v b="$1" -v n="$2" 'BEGIN { printf "%.1f", b / n }'; }
ms() { awk -v s="$1" 'BEGIN { printf "%.0f", s * 1000 }'; }

# row STEP TOOL WALL_MS EVENTS_PER_S RSS_MB BYTES_PER_EVENT ROWS NOTES
row() {
  ROWS+=("| $1 | $2 | $3 | $4 | $5 | $6 | $7 | $8 |")
}

# ----------------------------------------------------------- the data set --

echo "== generating $EVENTS events into $LOGS" >&2
rm -rf "$LOGS" "$DATA" "$PEER"
mkdir -p "$PEER"
run_timed gen "$GEN" --events "$EVENTS" --out "$LOGS" --seed "$SEED"
GEN_WALL=$T_WALL
GEN_RSS=$T_RSS_MB
MANIFEST="$LOGS/MANIFEST.txt"
probe_line=$(grep '^probe_user=' "$MANIFEST")
PROBE_USER=$(sed -n 's/.*probe_user=\([^ ]*\).*/\1/p' <<<"$probe_line")
PROBE_START=$(sed -n 's/.*probe_start=\([^ ]*\).*/\1/p' <<<"$probe_line")
PROBE_END=$(sed -n 's/.*probe_end=\([^ ]*\).*/\1/p' <<<"$probe_line")
PROBE_ROWS=$(sed -n 's/.*probe_rows=\([^ ]*\).*/\1/p' <<<"$probe_line")
SYSLOG_YEAR=$(sed -n 's/^syslog_year=//p' "$MANIFEST")
NODES=$(sed -n 's/^nodes=//p' "$MANIFEST" | tr ',' ' ')
read -r -a NODE_ARR <<<"$NODES"
ACCESS_FILES=() AUTH_FILES=() TASK_FILES=()
for n in "${NODE_ARR[@]}"; do
  ACCESS_FILES+=("$LOGS/$n/access.log")
  AUTH_FILES+=("$LOGS/$n/auth.log")
  TASK_FILES+=("$LOGS/$n/tasks/index")
done
row "generate" "pveaudit-gen" "$(ms "$GEN_WALL")" "$(rate "$EVENTS" "$GEN_WALL")" "$GEN_RSS" \
  "$(per "$(du -sb "$LOGS" | cut -f1)" "$EVENTS")" "$EVENTS" "raw log bytes/line"

# The probe window is [PROBE_START, PROBE_END) in UTC. Pass instants rather than
# bare dates: for pveam a date-only --end includes that whole day.
Q_START="${PROBE_START}T00:00:00Z"
Q_END="${PROBE_END}T00:00:00Z"

# ---------------------------------------------------------------- a. import --

import_pveaudit() {
  # One invocation per node, so every file is attributed to its own node.
  local n
  for n in "${NODE_ARR[@]}"; do
    "$PVEAM" access import --data-dir "$DATA" --node "$n" \
      "$LOGS/$n/access.log" "$LOGS/$n/auth.log" "$LOGS/$n/tasks/index"
  done
}
export -f import_pveaudit
export PVEAM DATA LOGS NODES

if [[ $SKIP_PVEAM -eq 0 ]]; then
  echo "== a. pveam access import" >&2
  # shellcheck disable=SC2016  # expanded by the inner bash
  run_timed import bash -c 'read -r -a NODE_ARR <<<"$NODES"; import_pveaudit'
  row "a. import" "pveam access import" "$(ms "$T_WALL")" "$(rate "$EVENTS" "$T_WALL")" \
    "$T_RSS_MB" "$(per "$(du -sb "$DATA" | cut -f1)" "$EVENTS")" "$EVENTS" \
    "$((${#NODE_ARR[@]})) processes (one per node); bytes = du -sb data dir"
fi

# Peer: convert to CSV (time,node,user,ip,action,resource,status), then
# sqlite3 .import + indexes on user, time, action. Conversion is timed apart.
# Portable awk (no strftime/strtonum): civil date from epoch days, hex by hand.
to_csv() {
  local n
  for n in "${NODE_ARR[@]}"; do
    awk -v node="$n" '{
        # ::ffff:192.0.2.10 - root@pam [08/07/2025:12:42:28 +0000] "POST /api2/json/... HTTP/1.1" 200 69
        ts = substr($4, 2)
        t = substr(ts, 7, 4) "-" substr(ts, 4, 2) "-" substr(ts, 1, 2) " " substr(ts, 12, 8)
        method = substr($6, 2)
        path = $7; sub(/\?.*/, "", path); sub(/^\/api2\/[a-z]+/, "", path)
        user = ($3 == "-") ? "" : $3
        printf "%s,%s,%s,%s,%s,%s,%s\n", t, node, user, $1, method, path, $9
      }' "$LOGS/$n/access.log"
    awk -v node="$n" -v year="$SYSLOG_YEAR" '
      BEGIN { split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", m, " ")
              for (i = 1; i <= 12; i++) mon[m[i]] = sprintf("%02d", i) }
      / pvedaemon\[[0-9]+\]: (<[^>]*> successful auth for user |authentication failure; rhost=)/ {
        t = sprintf("%s-%s-%02d %s", year, mon[$1], $2, $3)
        if ($0 ~ /successful auth/) {
          user = $NF; gsub(/\047/, "", user)
          printf "%s,%s,%s,,login,/access/ticket,ok\n", t, node, user
        } else {
          ip = ""; user = ""
          for (i = 6; i <= NF; i++) {
            if ($i ~ /^rhost=/) ip = substr($i, 7)
            if ($i ~ /^user=/) user = substr($i, 6)
          }
          printf "%s,%s,%s,%s,login-failed,/access/ticket,failed\n", t, node, user, ip
        }
      }' "$LOGS/$n/auth.log"
    awk -v node="$n" -F: '
      function hex(s,   i, v) { v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1; return v }
      function civil(e,   z, era, doe, yoe, doy, mp, d, mo, y, sod) {
        z = int(e / 86400); sod = e - z * 86400; z += 719468
        era = int(z / 146097); doe = z - era * 146097
        yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
        doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100)); mp = int((5 * doy + 2) / 153)
        d = doy - int((153 * mp + 2) / 5) + 1; mo = mp < 10 ? mp + 3 : mp - 9; y = yoe + era * 400 + (mo <= 2)
        return sprintf("%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, int(sod / 3600), int(sod / 60) % 60, sod % 60)
      }
      {
        # UPID:node:pid:pstart:starttime:type:id:user: ENDTIME STATUS
        rest = $0; sub(/^[^ ]* [0-9A-F]+ /, "", rest)
        st = (rest == "OK") ? "ok" : (rest ~ /^WARNINGS/ ? "warning" : "error")
        res = ($7 != "") ? "/vms/" $7 : "/nodes/" $2
        printf "%s,%s,%s,,task:%s,%s,%s\n", civil(hex("" $5)), $2, $8, $6, res, st
      }' "$LOGS/$n/tasks/index"
  done >"$PEER/events.csv"
}
echo "== a. peer: CSV conversion + sqlite3 .import" >&2
export -f to_csv
export PEER SYSLOG_YEAR
# shellcheck disable=SC2016
run_timed csv bash -c 'read -r -a NODE_ARR <<<"$NODES"; to_csv'
CSV_ROWS=$(wc -l <"$PEER/events.csv")
row "a. import (prep)" "awk logs -> CSV" "$(ms "$T_WALL")" "$(rate "$EVENTS" "$T_WALL")" \
  "$T_RSS_MB" "$(per "$(du -sb "$PEER/events.csv" | cut -f1)" "$EVENTS")" "$CSV_ROWS" \
  "prep for the sqlite peer, not in its import time; drops syslog noise"

cat >"$PEER/import.sql" <<EOF
CREATE TABLE events(time TEXT, node TEXT, user TEXT, ip TEXT, action TEXT, resource TEXT, status TEXT);
.mode csv
.import $PEER/events.csv events
CREATE INDEX events_user ON events(user);
CREATE INDEX events_time ON events(time);
CREATE INDEX events_action ON events(action);
EOF
run_timed sqlite_import sqlite3 -bail "$PEER/peer.db" ".read $PEER/import.sql"
row "a. import" "sqlite3 .import + 3 indexes" "$(ms "$T_WALL")" "$(rate "$EVENTS" "$T_WALL")" \
  "$T_RSS_MB" "$(per "$(du -sb "$PEER/peer.db" | cut -f1)" "$EVENTS")" "$CSV_ROWS" \
  "events/s over all $EVENTS input lines"

# ----------------------------------------------------------------- b. query --

echo "== b. query user=$PROBE_USER [$PROBE_START, $PROBE_END)" >&2
if [[ $SKIP_PVEAM -eq 0 ]]; then
  median_ms query "$PVEAM" access log --data-dir "$DATA" --user "$PROBE_USER" \
    --start "$Q_START" --end "$Q_END" --output-format json
  got=$(json_rows "$OUT/query.out")
  note="expected $PROBE_ROWS"
  [[ "$got" == "$PROBE_ROWS" ]] && note="matches probe_rows" || note="MISMATCH: probe_rows=$PROBE_ROWS"
  row "b. query" "pveam access log --user" "$T_MED_MS" "" "" "" "$got" "median of $RUNS; $note"
fi

# Peer 1: grep + awk over the raw logs, same user and day window.
day_acc=$(date -u -d "$PROBE_START" +%d/%m/%Y)
day_sys=$(date -u -d "$PROBE_START" '+%b %e')
t_lo=$(printf '%08X' "$(date -u -d "$PROBE_START" +%s)")
t_hi=$(printf '%08X' "$(date -u -d "$PROBE_END" +%s)")
export PROBE_USER day_acc day_sys t_lo t_hi
grep_query() {
  {
    grep -hF -- " - $PROBE_USER [$day_acc:" "${ACCESS_FILES[@]}" || true
    grep -h -- "^$day_sys " "${AUTH_FILES[@]}" |
      grep -F -e "successful auth for user '$PROBE_USER'" -e " user=$PROBE_USER msg=" || true
    grep -hF -- ":$PROBE_USER: " "${TASK_FILES[@]}" |
      awk -F: -v lo="$t_lo" -v hi="$t_hi" '{ s = "" $5; if (s >= lo && s < hi) print }' || true
  }
}
export -f grep_query
# shellcheck disable=SC2016
median_ms query_grep bash -c 'read -r -a NODE_ARR <<<"$NODES"
  ACCESS_FILES=() AUTH_FILES=() TASK_FILES=()
  for n in "${NODE_ARR[@]}"; do ACCESS_FILES+=("$LOGS/$n/access.log"); AUTH_FILES+=("$LOGS/$n/auth.log"); TASK_FILES+=("$LOGS/$n/tasks/index"); done
  grep_query'
got=$(wc -l <"$OUT/query_grep.out")
[[ "$got" == "$PROBE_ROWS" ]] && note="matches probe_rows" || note="MISMATCH: probe_rows=$PROBE_ROWS"
row "b. query" "grep/awk raw logs (user + day)" "$T_MED_MS" "" "" "" "$got" "median of $RUNS; $note"

# Peer 2: indexed SELECT on the sqlite peer, JSON output.
q_lo="$PROBE_START 00:00:00"
q_hi="$PROBE_END 00:00:00"
median_ms query_sqlite sqlite3 -json "$PEER/peer.db" \
  "SELECT * FROM events WHERE user = '$PROBE_USER' AND time >= '$q_lo' AND time < '$q_hi' ORDER BY time"
got=$(json_rows "$OUT/query_sqlite.out")
[[ "$got" == "$PROBE_ROWS" ]] && note="matches probe_rows" || note="MISMATCH: probe_rows=$PROBE_ROWS"
row "b. query" "sqlite3 SELECT (indexed)" "$T_MED_MS" "" "" "" "$got" "median of $RUNS; $note"

# ------------------------------------------------------- c. failed-login count --

echo "== c. failed logins, count >= 5" >&2
if [[ $SKIP_PVEAM -eq 0 ]]; then
  median_ms failed "$PVEAM" access log --data-dir "$DATA" --failed 1 --count 5
  got=$(grep -c . "$OUT/failed.out" || true)
  row "c. failed >= 5" "pveam access log --failed 1 --count 5" "$T_MED_MS" "" "" "" "$got" \
    "median of $RUNS; output lines"
fi
failed_grep() {
  grep -h 'pvedaemon\[[0-9]*\]: authentication failure; rhost=' "$@" |
    awk '{ ip = ""; u = ""
           for (i = 6; i <= NF; i++) { if ($i ~ /^rhost=/) ip = substr($i, 7); if ($i ~ /^user=/) u = substr($i, 6) }
           print u, ip }' |
    sort | uniq -c | awk '$1 >= 5'
}
export -f failed_grep
median_ms failed_grep bash -c 'failed_grep "$@"' _ "${AUTH_FILES[@]}"
got=$(grep -c . "$OUT/failed_grep.out" || true)
row "c. failed >= 5" "grep \\| awk \\| sort \\| uniq -c" "$T_MED_MS" "" "" "" "$got" \
  "median of $RUNS; (user, rhost) pairs"
median_ms failed_sqlite sqlite3 "$PEER/peer.db" \
  "SELECT user, ip, count(*) FROM events WHERE action = 'login-failed' GROUP BY user, ip HAVING count(*) >= 5"
got=$(grep -c . "$OUT/failed_sqlite.out" || true)
row "c. failed >= 5" "sqlite3 GROUP BY (indexed)" "$T_MED_MS" "" "" "" "$got" \
  "median of $RUNS; (user, rhost) pairs"

# ------------------------------------------------------------------ report --

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null | head -1)" ]]; then rev="$rev (dirty)"; fi
timer="loop of $RUNS runs, median"
[[ $HAVE_HYPERFINE -eq 1 ]] && timer="hyperfine, $RUNS runs + 1 warmup, median"
{
  echo "# pveaudit benchmark"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "- git: $rev"
  echo "- host: $(uname -srm); nproc $(nproc); CPU ${cpu:-unknown}"
  echo "- memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || echo unknown)"
  echo "- tools: $(sqlite3 --version | cut -d' ' -f1) sqlite3; $(grep --version | head -1); query timer: $timer"
  echo "- data set: $EVENTS lines, seed $SEED, nodes $NODES ($LOGS); TZ=UTC"
  echo "- probe: user $PROBE_USER, [$PROBE_START, $PROBE_END) UTC, $PROBE_ROWS rows"
  [[ $SKIP_PVEAM -eq 1 ]] && echo "- pveam skipped (--skip-pveam): peers only"
  echo
  echo "| step | tool | wall ms | events/s | peak RSS MB | bytes/event | rows | notes |"
  echo "|---|---|---:|---:|---:|---:|---:|---|"
  printf '%s\n' "${ROWS[@]}"
} | tee "$RESULTS"
echo "results written to $RESULTS" >&2
