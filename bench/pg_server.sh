#!/usr/bin/env bash
# A scratch PostgreSQL server for the benchmarks (never for real data):
#   bench/pg_server.sh start DIR   initdb into DIR (when new), start it on a
#                                  free port of 127.0.0.1, create database
#                                  pveaudit, write DIR/pveaudit.toml (a
#                                  [store] url and passfile for it) and
#                                  print that config's path
#   bench/pg_server.sh stop DIR    fast shutdown
# fsync stays on, as in production. As root the server runs as the
# `postgres` user of the Debian package (initdb refuses root). The same
# server settings as the tests' (src/store/pg_test_server.h).
set -euo pipefail

die() { echo "pg_server.sh: $*" >&2; exit 2; }
[[ $# -eq 2 ]] || die "usage: bench/pg_server.sh start|stop DIR"
cmd=$1
dir=$(realpath -m "$2")
bindir=${PVEAUDIT_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[[ -x "$bindir/initdb" ]] || die "PostgreSQL server binaries not found (apt-get install postgresql)"
as=()
owner=$(id -un)
if [[ $(id -u) -eq 0 ]]; then
  as=(setpriv --reuid=postgres --regid=postgres --clear-groups)
  owner=postgres
fi

case "$cmd" in
  start)
    mkdir -p "$dir" "$dir/log"
    chmod 0755 "$dir"
    chown "$owner" "$dir/log"
    if [[ ! -d "$dir/data" ]]; then
      mkdir -p "$dir/data" "$dir/sock"
      chown "$owner" "$dir/data" "$dir/sock"
      chmod 0700 "$dir/data" "$dir/sock"
      head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$dir/password"
      chmod 0600 "$dir/password"
      cp "$dir/password" "$dir/sock/pw"
      chown "$owner" "$dir/sock/pw"
      "${as[@]}" "$bindir/initdb" -D "$dir/data" -U pveaudit -A scram-sha-256 -E UTF8 \
        --locale=C --no-instructions --pwfile="$dir/sock/pw" > "$dir/initdb.log"
      rm -f "$dir/sock/pw"
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log/server.log" -w \
      -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=on" start > /dev/null
    pw=$(cat "$dir/password")
    printf '127.0.0.1:%s:*:pveaudit:%s\n' "$port" "$pw" > "$dir/pgpass"
    chmod 0600 "$dir/pgpass"
    PGPASSFILE="$dir/pgpass" "$bindir/psql" -q -h 127.0.0.1 -p "$port" -U pveaudit -d postgres \
      -c "CREATE DATABASE pveaudit" 2> /dev/null || true
    printf '[store]\nurl = "postgresql://pveaudit@127.0.0.1:%s/pveaudit?sslmode=disable"\npassfile = "%s"\n' \
      "$port" "$dir/pgpass" > "$dir/pveaudit.toml"
    echo "$dir/pveaudit.toml"
    ;;
  stop)
    "${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null
    ;;
  *) die "unknown command '$cmd': expected start or stop" ;;
esac
