#!/usr/bin/env bash
# bench/alert_cost.sh: what the alert engine costs live ingest. pveauditd
# follows one node's generated logs (pveaudit-gen: access.log, auth.log,
# tasks/index) into a new store, with RULES alert rules enabled beforehand
# (0 = none, up to 10: every type, several per type); the script returns when
# the daemon has read everything and, with rules, the alert engine has judged
# every event; then it stops the daemon. Run it as a whole process in paired
# runs (10 rules against 0) to see the engine's cost.
#
#   bench/alert_cost.sh --logs DIR/pve1 --rules 10 [--build DIR] [--out DIR] [--import]
#
# --import: the node's files are imported first instead (`pveam access
# import` of auth.log, access.log and tasks/index, one after the other),
# then pveauditd starts on empty logs and its engine catches up from the
# store: the alerts must be those of the live run.
# Prints: rules, events stored, seconds, events/s, alerts fired, and
# pveauditd's own CPU seconds (without the script's polling). Needs jq.
set -euo pipefail

LOGS=""
RULES=0
BUILD=build
OUT=/tmp/pveaudit-alert-cost
IMPORT=0
usage() {
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --logs) LOGS="$2"; shift 2 ;;
    --rules) RULES="$2"; shift 2 ;;
    --build) BUILD="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --import) IMPORT=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "alert_cost.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -n "$LOGS" && -f "$LOGS/access.log" ]] || { echo "alert_cost.sh: --logs DIR (with access.log) is required" >&2; exit 2; }
[[ "$RULES" =~ ^[0-9]+$ && "$RULES" -le 10 ]] || { echo "alert_cost.sh: invalid --rules '$RULES' (0..10)" >&2; exit 2; }
command -v jq >/dev/null || { echo "alert_cost.sh: needs jq" >&2; exit 2; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="$(realpath -m "$BUILD")"
LOGS="$(realpath -m "$LOGS")"
PVEAM="$BUILD/bin/pveam"
export LC_ALL=C TZ=UTC PVEAUDIT_DATA_DIR="$OUT/data" PVEAUDIT_CONFIG="$OUT/pveaudit.conf"
NODE="$(basename "$LOGS")"

rm -rf "$OUT"
mkdir -p "$OUT/data"
: >"$OUT/pveaudit.conf"
# Ten rules: every type, the product page's default first.
ALL_RULES=(
  "--type failed-login"
  "--type failed-login --threshold 5 --window 10m --group-by ip"
  "--type brute-force-success"
  "--type brute-force-success --group-by ip --threshold 5 --window 1h"
  "--type action-rate --action vm:create --threshold 10 --window 1h"
  "--type action-rate --action vm:delete --threshold 3 --window 15m"
  "--type off-hours --start 18:00 --end 08:00 --days mon-fri --action login"
  "--type privilege-change"
  "--type privilege-change --resource /"
  "--type new-ip"
)
for ((i = 0; i < RULES; i++)); do
  # shellcheck disable=SC2086  # the rule's words
  "$PVEAM" access alert add ${ALL_RULES[$i]} >/dev/null
done
# Events stored before the logs (the rules' audit events; none without rules).
BASE=0
if [[ $RULES -gt 0 ]]; then BASE=$("$PVEAM" access status --output-format json | jq '.last_id'); fi
WANT=$(cat "$LOGS/access.log" "$LOGS/tasks/index" | wc -l)

start=$(date +%s.%N)
FOLLOW="$LOGS"
if [[ $IMPORT -eq 1 ]]; then
  "$PVEAM" access import --node "$NODE" "$LOGS/auth.log" "$LOGS/access.log" "$LOGS/tasks/index" \
    >"$OUT/import.log" 2>&1
  FOLLOW="$OUT/empty"
  mkdir -p "$FOLLOW/tasks"
  : >"$FOLLOW/access.log"
  : >"$FOLLOW/auth.log"
  : >"$FOLLOW/tasks/index"
fi
"$BUILD/bin/pveauditd" --data-dir "$OUT/data" --node "$NODE" --pve-dir "$OUT/no-pve" \
  --access-log "$FOLLOW/access.log" --auth-log "$FOLLOW/auth.log" --tasks-dir "$FOLLOW/tasks" \
  >"$OUT/daemon.log" 2>&1 &
DPID=$!
trap 'kill $DPID 2>/dev/null || true' EXIT
prev=""
while :; do
  kill -0 $DPID 2>/dev/null || { echo "alert_cost.sh: pveauditd died (see $OUT/daemon.log)" >&2; exit 1; }
  j=$("$PVEAM" access status --output-format json 2>/dev/null || true)
  # Read everything: caught up, and every access/tasks line stored (auth
  # lines are partly noise, so they are not counted here).
  if [[ -n "$j" ]] && [[ $(jq '.daemon.caught_up // false' <<<"$j") == true ]] &&
    [[ $(jq '.events' <<<"$j") -ge $((BASE + WANT)) ]]; then
    [[ $RULES -eq 0 ]] && break
    # Judged everything: the engine's cursor has stopped, and every event
    # after it is one of the alerts it appended.
    c=$(jq '.daemon.alerts.cursor // 0' <<<"$j")
    last=$(jq '.last_id' <<<"$j")
    fired=$(jq '.daemon.alerts.fired // 0' <<<"$j")
    if [[ "$c" == "$prev" && $((last - c)) -le $fired ]]; then
      # Stopped with no more events after its cursor than alerts fired:
      # done when every one of them is an alert (read once, not each poll).
      after=$("$PVEAM" access alerts --output-format json 2>/dev/null |
        jq --argjson c "$c" '[.[] | select(.id > $c)] | length' || echo -1)
      [[ "$after" -eq $((last - c)) ]] && break
    fi
    prev=$c
  fi
  sleep 0.25
done
end=$(date +%s.%N)
# pveauditd's own CPU time (user + system, its threads included), apart from
# this script's polling (pveam, jq), which a whole-process figure counts too.
read -r -a stat < <(sed 's/^.*) //' "/proc/$DPID/stat")
daemon_cpu=$(awk -v u="${stat[11]}" -v s="${stat[12]}" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (u + s) / hz }')
events=$(jq '.events' <<<"$j")
fired=$(jq '.daemon.alerts.fired // 0' <<<"$j")
kill $DPID
wait $DPID 2>/dev/null || true
awk -v a="$start" -v b="$end" -v n="$events" -v r="$RULES" -v f="$fired" -v c="$daemon_cpu" \
  'BEGIN { s = b - a; printf "rules=%d events=%d seconds=%.1f events_per_s=%.0f alerts=%d daemon_cpu_s=%s\n", r, n, s, n / s, f, c }'
