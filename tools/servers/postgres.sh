#!/usr/bin/env bash
# postgres.sh - starts/stops throwaway PostgreSQL clusters for the tests.
#
#   tools/servers/postgres.sh start DIR PORT   cluster in DIR/pg-PORT on 127.0.0.1:PORT
#   tools/servers/postgres.sh stop DIR         stops every cluster under DIR
#
# Called by tools/servers.sh. Both commands are idempotent. The cluster trusts every local
# user (user "postgres", no password) and is tuned for speed, not durability: never point
# it at data you care about. TLS is on (ssl=on) with the test CA of tls.sh
# (DIR/tls/ca.pem); plain connections still work (pg_hba "host ... trust"). initdb/postgres refuse to run as root, so as root the
# binaries run as the `postgres` system user; otherwise they run as the current user.
# This script must not touch anything outside DIR.
set -euo pipefail

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }

bindir=""
if command -v pg_config >/dev/null 2>&1; then
  bindir=$(pg_config --bindir)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && bindir=$d
  done
fi
[ -n "$bindir" ] && [ -x "$bindir/initdb" ] || { echo "postgres.sh: initdb not found" >&2; exit 1; }

# as_pg CMD...: runs CMD as the postgres user when we are root, else directly.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$cmd" in
start)
  port=${3:-}
  [ -n "$port" ] || { echo "usage: $0 start DIR PORT" >&2; exit 2; }
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  data="$dir/pg-$port"
  if [ "$(id -u)" = 0 ]; then
    # The postgres user must be able to reach DIR (it lives under /tmp).
    chmod a+rx "$dir"
    mkdir -p "$data"
    chown postgres: "$data"
  else
    mkdir -p "$data"
  fi
  chmod 700 "$data"
  if [ ! -f "$data/PG_VERSION" ]; then
    as_pg "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb-$port.log" 2>&1 \
      || { cat "$dir/initdb-$port.log" >&2; exit 1; }
  fi
  if as_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    exit 0
  fi
  # the key must belong to the server's user and be private to it
  "$(dirname "$0")/tls.sh" "$dir"
  cp "$dir/tls/server.key" "$data/tls-server.key"
  cp "$dir/tls/server.pem" "$data/tls-server.pem"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$data/tls-server.key" "$data/tls-server.pem"; fi
  chmod 600 "$data/tls-server.key"
  # Unix socket paths are limited to ~107 bytes; a deep DIR gets TCP only.
  sockdir=$data
  [ ${#data} -lt 80 ] || sockdir="''"
  as_pg "$bindir/pg_ctl" -D "$data" -l "$data/log" \
    -o "-p $port -k $sockdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100 -c ssl=on -c ssl_cert_file=tls-server.pem -c ssl_key_file=tls-server.key" \
    -w start >/dev/null \
    || { tail -n 30 "$data/log" >&2 || true; exit 1; } ;;
stop)
  [ -d "$dir" ] || exit 0
  for data in "$dir"/pg-*; do
    [ -f "$data/PG_VERSION" ] || continue
    if as_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      as_pg "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null || true
    fi
  done ;;
*) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
