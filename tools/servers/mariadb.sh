#!/usr/bin/env bash
# mariadb.sh - starts/stops one throwaway MariaDB server for tests (called by servers.sh).
#
#   tools/servers/mariadb.sh start DIR PORT   data in DIR/mariadb-PORT, loopback only
#   tools/servers/mariadb.sh stop DIR         stops every server started under DIR
#
# Root has no password over TCP. The server is tuned for test speed, not durability.
# TLS is enabled with the test CA of tls.sh (DIR/tls/ca.pem); plain connections still work.
# It must not touch servers it did not start: it only signals PIDs from its own pid files.
# TL_MARIADB_ARGS: extra mariadbd options (e.g. --performance-schema=ON for a private server).
set -euo pipefail

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }

ping_server() { # PORT
  mariadb-admin --no-defaults --protocol=TCP -h127.0.0.1 -P "$1" -uroot --connect-timeout=2 ping >/dev/null 2>&1
}

alive() { # PID
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null
}

# A live mariadbd with this PID (pid files can be stale and PIDs reused).
is_mariadbd() { # PID
  alive "$1" && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = mariadbd ]
}

case "$cmd" in
start)
  port=${3:-}
  [ -n "$port" ] || { echo "usage: $0 start DIR PORT" >&2; exit 2; }
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  d="$dir/mariadb-$port"
  if [ -f "$d/pid" ] && is_mariadbd "$(cat "$d/pid")" && ping_server "$port"; then
    echo "mariadb already running on port $port ($d)"
    exit 0
  fi
  if ping_server "$port"; then
    echo "port $port is already in use by a server not started under $dir" >&2
    exit 1
  fi
  mkdir -p "$d"
  if [ ! -d "$d/mysql" ]; then
    if ! mariadb-install-db --no-defaults --user=root --datadir="$d" \
        --auth-root-authentication-method=normal --skip-test-db >"$d/install.log" 2>&1; then
      echo "mariadb-install-db failed for $d:" >&2
      tail -n 30 "$d/install.log" >&2
      exit 1
    fi
  fi
  "$(dirname "$0")/tls.sh" "$dir"
  rm -f "$d/pid"
  [ -f "$d/err.log" ] && mv -f "$d/err.log" "$d/err.log.prev"
  # setsid: the server must outlive the calling shell and its job control.
  setsid mariadbd --no-defaults --user=root --datadir="$d" --port="$port" \
    --bind-address=127.0.0.1 --socket="$d/sock" --pid-file="$d/pid" \
    --log-error="$d/err.log" --innodb-buffer-pool-size=128M --skip-name-resolve \
    --character-set-server=utf8mb4 --innodb-flush-log-at-trx-commit=2 \
    --max-allowed-packet=256M --ssl-ca="$dir/tls/ca.pem" --ssl-cert="$dir/tls/server.pem" \
    --ssl-key="$dir/tls/server.key" ${TL_MARIADB_ARGS:-} </dev/null >/dev/null 2>&1 &
  launched=$!
  echo "$launched" > "$d/launch.pid"
  for _ in $(seq 1 60); do
    if [ -f "$d/pid" ] && is_mariadbd "$(cat "$d/pid" 2>/dev/null)" && ping_server "$port"; then
      echo "mariadb started on 127.0.0.1:$port ($d)"
      exit 0
    fi
    if grep -q 'Aborting' "$d/err.log" 2>/dev/null; then
      break
    fi
    sleep 0.5
  done
  echo "mariadb on port $port failed to start (aborted or no answer within 30 s); error log tail:" >&2
  tail -n 30 "$d/err.log" >&2 2>/dev/null || true
  # do not leave a half-started server behind
  for p in "$(cat "$d/pid" 2>/dev/null || true)" "$launched"; do
    if [[ "$p" =~ ^[0-9]+$ ]] && is_mariadbd "$p"; then kill -9 "$p" 2>/dev/null || true; fi
  done
  rm -f "$d/pid" "$d/launch.pid"
  exit 1 ;;
stop)
  [ -d "$dir" ] || exit 0
  pids=()
  for d in "$dir"/mariadb-*; do
    [ -d "$d" ] || continue
    for f in "$d/pid" "$d/launch.pid"; do
      [ -f "$f" ] || continue
      p=$(cat "$f" 2>/dev/null || true)
      if [[ "$p" =~ ^[0-9]+$ ]] && is_mariadbd "$p"; then
        kill "$p" 2>/dev/null || true
        pids+=("$p")
      fi
    done
  done
  for p in "${pids[@]+"${pids[@]}"}"; do
    for _ in $(seq 1 40); do
      alive "$p" || break
      sleep 0.5
    done
    if alive "$p"; then
      kill -9 "$p" 2>/dev/null || true
    fi
  done
  for d in "$dir"/mariadb-*; do
    [ -d "$d" ] || continue
    rm -f "$d/pid" "$d/launch.pid"
  done
  exit 0 ;;
*) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
