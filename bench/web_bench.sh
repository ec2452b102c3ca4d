#!/usr/bin/env bash
# bench/web_bench.sh: latency of the HTTPS API (issue 10) over a store of N
# generated events: p50/p95 of a filtered first page (100 rows) and of the
# chart queries (count with hour / group-by, GET stats), through
# pveaudit-web's own code (web_test_server: the same program with the test
# authenticator of tests/e2e, as a full auditor and as one who sees a part).
#
#   bench/web_bench.sh [--events N] [--build DIR] [--out DIR] [--runs R] [--seed S]
#
# Needs the build targets pveaudit-gen, pveam, web_test_server and web_bench
# (ninja -C build pveaudit-gen pveam web_test_server web_bench). Reuses
# OUT/data when it already holds a store of this size (delete it to rebuild).
set -euo pipefail

EVENTS=1000000 BUILD=build OUT=/tmp/pveaudit-web-bench RUNS=20 SEED=1
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit "$1"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --events) EVENTS="$2"; shift 2 ;;
    --build) BUILD="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "web_bench.sh: unknown argument $1" >&2; usage 2 ;;
  esac
done
[[ "$EVENTS" =~ ^[0-9]+$ && "$EVENTS" -gt 0 ]] || { echo "web_bench.sh: bad --events '$EVENTS'" >&2; exit 2; }
[[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -gt 0 ]] || { echo "web_bench.sh: bad --runs '$RUNS'" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$(realpath -m "$BUILD")"
OUT="$(realpath -m "$OUT")"
GEN="$BUILD/bin/pveaudit-gen" PVEAM="$BUILD/bin/pveam"
SERVER="$BUILD/bin/web_test_server" CLIENT="$BUILD/bin/web_bench"
DATA="$OUT/data"
export LC_ALL=C TZ=UTC PVEAUDIT_CONFIG=/dev/null
die() { echo "web_bench.sh: $*" >&2; exit 1; }
for b in "$GEN" "$PVEAM" "$SERVER" "$CLIENT"; do
  [[ -x "$b" ]] || die "$b not found; build it: ninja -C $BUILD $(basename "$b")"
done
mkdir -p "$OUT"

if [[ "$(cat "$OUT/events" 2>/dev/null)" != "$EVENTS" || ! -f "$DATA/pveaudit.db" ]]; then
  echo "== generating and importing $EVENTS events" >&2
  rm -rf "$OUT/logs" "$DATA"
  "$GEN" --events "$EVENTS" --out "$OUT/logs" --seed "$SEED" >/dev/null
  for n in $(sed -n 's/^nodes=//p' "$OUT/logs/MANIFEST.txt" | tr ',' ' '); do
    "$PVEAM" access import --data-dir "$DATA" --node "$n" \
      "$OUT/logs/$n/access.log" "$OUT/logs/$n/auth.log" "$OUT/logs/$n/tasks/index" >/dev/null
  done
  echo "$EVENTS" >"$OUT/events"
fi
# alice sees her own events and those on /vms/100 (the rule of the test
# authenticator; the real one derives it from the ACL).
cat >"$OUT/auth.json" <<'JSON'
{"root": {"userid": "root@pam", "all": true, "privileges": ["Sys.Audit:/"]},
 "alice": {"userid": "alice@pve", "users": ["alice@pve"], "resources": ["/vms/100"]}}
JSON
mkdir -p "$OUT/pve"
PVEAUDIT_TEST_AUTH="$OUT/auth.json" "$SERVER" --listen 127.0.0.1:0 --data-dir "$DATA" \
  --pve-dir "$OUT/pve" --www "$OUT/none" >"$OUT/server.out" 2>"$OUT/server.err" &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true' EXIT
for _ in $(seq 600); do
  grep -q "listening on" "$OUT/server.out" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/server.err" >&2; die "server exited"; }
  sleep 0.1
done
PORT=$(sed -n 's/.*listening on https:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$OUT/server.out")
[[ -n "$PORT" ]] || die "server did not start: $(cat "$OUT/server.err")"

A=/api2/json/audit/log
bench() {  # bench BEARER PATH...
  local who="$1"; shift
  "$CLIENT" --port "$PORT" --ca "$DATA/web-cert.pem" --bearer "$who" --runs "$RUNS" "$@" |
    while IFS=$'\t' read -r path p50 p95 rows; do
      echo "| $who | \`$path\` | $p50 | $p95 | $rows |"
    done
}
echo "| caller | request | p50 ms | p95 ms | rows |"
echo "|---|---|---:|---:|---:|"
bench root "$A?limit=100" "$A?action=login&failed=1&limit=100" "$A?user=alice@pve&limit=100" \
  "$A?resource=/vms/100&action=power&limit=100" "$A?start=18:00&end=08:00&limit=100" \
  "$A?count=1&group-by=action&start=2025-01-08&end=2025-01-09" \
  "$A?failed=1&count=3&hour=1&group-by=ip" "$A?count=1&group-by=user"
bench alice "$A?limit=100" "$A?count=1&group-by=action&start=2025-01-08&end=2025-01-09"
# The Access view's charts (GET stats): a day, a week, the whole store.
S=/api2/json/audit/stats
bench root "$S?start=2025-01-08&end=2025-01-09" "$S?start=2025-01-08&end=2025-01-15" "$S"
bench alice "$S?start=2025-01-08&end=2025-01-09"
