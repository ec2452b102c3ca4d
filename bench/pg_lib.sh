# Sourced by the PostgreSQL bench scripts (pg_ingest.sh, pg_query.sh,
# pg_layout.sh); $here is the bench directory.

# read_probe DIR: the pveaudit-gen data set's probe user and days and its
# nodes, from DIR/MANIFEST.txt: sets user, start, end (YYYY-MM-DD), nodes.
read_probe() {
  local probe
  probe=$(grep '^probe_user=' "$1/MANIFEST.txt")
  user=$(sed -n 's/.*probe_user=\([^ ]*\).*/\1/p' <<<"$probe")
  start=$(sed -n 's/.*probe_start=\([^ ]*\).*/\1/p' <<<"$probe")
  end=$(sed -n 's/.*probe_end=\([^ ]*\).*/\1/p' <<<"$probe")
  nodes=$(sed -n 's/^nodes=//p' "$1/MANIFEST.txt" | tr ',' ' ')
}

# pg_start DIR: starts a scratch server in DIR (bench/pg_server.sh) and
# stops it when the script exits; sets cfg (its pveaudit config), url,
# port and bindir (the newest PostgreSQL's binaries).
pg_start() {
  pg_dir=$1
  cfg=$("$here/pg_server.sh" start "$pg_dir")
  trap '"$here/pg_server.sh" stop "$pg_dir" >/dev/null 2>&1 || true' EXIT
  url=$(sed -n 's/^url = "\(.*\)"/\1/p' "$cfg")
  port=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' <<<"$url")
  bindir=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/psql | sort -V | tail -1)")
}
