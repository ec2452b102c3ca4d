#!/usr/bin/env bash
# bench/export_bench.sh: export throughput of pveauditd into a real rsyslog
# over TCP (CEF, RFC 6587 octet counting), beside a peer in the same run.
#
#   bench/export_bench.sh --store DIR [--build DIR] [--out DIR] [--runs R]
#                         [--pveauditd BIN]
#
# --store: a pveaudit data dir made beforehand (pveaudit-gen + pveam access
# import, see bench/README.md); it is copied to OUT/data once, and every run
# exports all of it from the start through a destination of its own
# (`pveam access syslog --enable --name runN --from-start --hold 0`), so the
# whole store is a backlog. rsyslogd (Debian package rsyslog) is started in
# the foreground with its own config on loopback, writing every message it
# receives to a file (raw template), like tests/e2e/rsyslog_harness.h.
# Per run: seconds from enabling the destination until its cursor reaches
# the store's last event (pveam access syslog), the stored events passed per
# second, and the messages rsyslog wrote. The peer: the messages rsyslog
# wrote in the first run, sent again by `cat` into bash's /dev/tcp to a
# second TCP input of the same rsyslog (newline framing), timed until
# rsyslog has written them all: what rsyslog itself takes in per second.
# --pveauditd: another build of the daemon (e.g. before a change).
set -euo pipefail

STORE=""
BUILD=build
OUT=/tmp/pveaudit-export-bench
RUNS=3
DAEMON=""
usage() {
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --store) STORE="$2"; shift 2 ;;
    --build) BUILD="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --pveauditd) DAEMON="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "export_bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -n "$STORE" && -f "$STORE/pveaudit.db" ]] || { echo "export_bench.sh: --store DIR (with pveaudit.db) is required" >&2; exit 2; }
[[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -gt 0 ]] || { echo "export_bench.sh: invalid --runs '$RUNS'" >&2; exit 2; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="$(realpath -m "$BUILD")"
PVEAM="$BUILD/bin/pveam"
DAEMON="${DAEMON:-$BUILD/bin/pveauditd}"
export LC_ALL=C TZ=UTC PVEAUDIT_DATA_DIR="$OUT/data" PVEAUDIT_CONFIG="$OUT/pveaudit.conf"

now() { date +%s.%N; }
lines() { if [[ -f "$1" ]]; then wc -l <"$1"; else echo 0; fi; }
size() { if [[ -f "$1" ]]; then stat -c %s "$1"; else echo 0; fi; }
# A port nothing listens on now.
free_port() {
  local p
  while :; do
    p=$(shuf -i 20000-60000 -n 1)
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

rm -rf "$OUT"
mkdir -p "$OUT/rsyslog/spool"
echo "== copying the store" >&2
cp -r "$STORE" "$OUT/data"
rm -f "$OUT/data/pveaudit.db-wal" "$OUT/data/pveaudit.db-shm"
: >"$OUT/pveaudit.conf"
LAST=$("$PVEAM" access status --output-format json | sed -n 's/.*"last_id": *\([0-9]*\).*/\1/p' | head -1)
[[ -n "$LAST" ]] || { echo "export_bench.sh: cannot read the store's last id" >&2; exit 1; }

P1=$(free_port)
P2=$(free_port)
cat >"$OUT/rsyslog/rsyslog.conf" <<EOF
global(workDirectory="$OUT/rsyslog/spool" maxMessageSize="64k")
template(name="raw" type="string" string="%rawmsg%\n")
module(load="imtcp" maxSessions="100")
ruleset(name="export") { action(type="omfile" file="$OUT/rsyslog/export.log" template="raw") }
ruleset(name="peer") { action(type="omfile" file="$OUT/rsyslog/peer.log" template="raw") }
input(type="imtcp" address="127.0.0.1" port="$P1" ruleset="export")
input(type="imtcp" address="127.0.0.1" port="$P2" ruleset="peer")
EOF
/usr/sbin/rsyslogd -n -f "$OUT/rsyslog/rsyslog.conf" -i "$OUT/rsyslog/rsyslogd.pid" \
  >"$OUT/rsyslog/out.log" 2>&1 &
RSYSLOG=$!
"$DAEMON" --data-dir "$OUT/data" --node pve1 --pve-dir "$OUT/no-pve" \
  --access-log "$OUT/none.log" --auth-log "$OUT/none-auth.log" >"$OUT/daemon.log" 2>&1 &
DPID=$!
trap 'kill $DPID $RSYSLOG 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  (exec 3<>"/dev/tcp/127.0.0.1/$P1") 2>/dev/null && break
  sleep 0.1
done

# CPU seconds (user + system) a process has used so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"; }

cursor() {  # the cursor of destination $1
  "$PVEAM" access syslog --output-format json 2>/dev/null |
    tr -d ' \n' | grep -o "\"name\":\"$1\"[^}]*" | grep -o '"cursor":[0-9]*' | cut -d: -f2 | head -1 ||
    true  # not yet (or the store was busy): asked again
}

echo "store: $STORE, last id $LAST; daemon $DAEMON"
printf '| run | seconds | stored events/s | messages | messages/s | pveauditd CPU s | events per CPU s | rsyslogd CPU s |\n|---|---|---|---|---|---|---|---|\n'
PREV=""
for r in $(seq 1 "$RUNS"); do
  [[ -n "$PREV" ]] && "$PVEAM" access syslog --disable --name "$PREV" >/dev/null
  before=$(lines "$OUT/rsyslog/export.log")
  t0=$(now)
  c0=$(cpu $DPID)
  r0=$(cpu $RSYSLOG)
  "$PVEAM" access syslog --enable --name "run$r" --server 127.0.0.1 --port "$P1" \
    --protocol tcp --from-start --hold 0 >/dev/null
  # The enable itself is an event: the store's end is now LAST + 2r - 1.
  want=$((LAST + 2 * r - 1))
  while :; do
    c=$(cursor "run$r")
    [[ -n "$c" && "$c" -ge "$want" ]] && break
    kill -0 $DPID 2>/dev/null || { echo "pveauditd died (see $OUT/daemon.log)" >&2; exit 1; }
    sleep 0.2
  done
  t1=$(now)
  c1=$(cpu $DPID)
  # rsyslog has written what was sent (it may lag the cursor a little).
  sleep 2
  after=$(lines "$OUT/rsyslog/export.log")
  msgs=$((after - before))
  r1=$(cpu $RSYSLOG)
  awk -v a="$t0" -v b="$t1" -v n="$want" -v m="$msgs" -v r="$r" -v c0="$c0" -v c1="$c1" \
    -v r0="$r0" -v r1="$r1" \
    'BEGIN { s = b - a; c = c1 - c0; printf "| %d | %.1f | %.0f | %d | %.0f | %.1f | %.0f | %.1f |\n",
             r, s, n / s, m, m / s, c, n / c, r1 - r0 }'
  if [[ $r -eq 1 ]]; then tail -n "$msgs" "$OUT/rsyslog/export.log" >"$OUT/peer-input.log"; fi
  PREV="run$r"
done

echo
echo "peer: cat into /dev/tcp (newline framing), the same rsyslog, the messages of run 1"
printf '| run | seconds | messages | messages/s | rsyslogd CPU s |\n|---|---|---|---|---|\n'
N=$(lines "$OUT/peer-input.log")
B=$(size "$OUT/peer-input.log")
for r in $(seq 1 "$RUNS"); do
  # rsyslog writes each message as received plus a newline: done when the
  # file has grown by the input's size.
  before=$(size "$OUT/rsyslog/peer.log")
  t0=$(now)
  r0=$(cpu $RSYSLOG)
  cat "$OUT/peer-input.log" >"/dev/tcp/127.0.0.1/$P2"
  while [[ $(size "$OUT/rsyslog/peer.log") -lt $((before + B)) ]]; do sleep 0.1; done
  t1=$(now)
  r1=$(cpu $RSYSLOG)
  awk -v a="$t0" -v b="$t1" -v m="$N" -v r="$r" -v r0="$r0" -v r1="$r1" \
    'BEGIN { s = b - a; printf "| %d | %.1f | %d | %.0f | %.1f |\n", r, s, m, m / s, r1 - r0 }'
done
