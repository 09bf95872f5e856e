#!/usr/bin/env bash
# mongo.sh - starts/stops the in-memory MongoDB wire-protocol test server
# (tools/mongo_test_server.py; no real mongod is installed on test machines).
#
#   mongo.sh start DIR PORT   start one server on 127.0.0.1:PORT, pid in DIR/mongo-PORT/pid,
#                             log in DIR/mongo-PORT/server.log; waits (20 s) until it answers ping
#   mongo.sh stop DIR         stop every server started under DIR (by pid file)
#
# The server needs Debian's python3 modules (mockupdb, mongomock, bson/pymongo with the C
# extensions), so it always runs with /usr/bin/python3, whatever python3 is first on PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3
cmd=${1:-}; dir=${2:-}
usage() { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }
[ -n "$cmd" ] && [ -n "$dir" ] || usage

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

ping_server() {
  "$py" - "$1" <<'PY'
import socket, struct, sys
import bson
port = int(sys.argv[1])
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    body = bson.encode({"ping": 1, "$db": "admin"})
    msg = struct.pack("<IB", 0, 0) + body
    s.sendall(struct.pack("<iiii", 16 + len(msg), 1, 0, 2013) + msg)
    hdr = b""
    while len(hdr) < 16:
        chunk = s.recv(16 - len(hdr))
        if not chunk:
            sys.exit(1)
        hdr += chunk
    n = struct.unpack("<i", hdr[:4])[0] - 16
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            sys.exit(1)
        data += chunk
    sys.exit(0 if bson.decode(data[5:]).get("ok") == 1 else 1)
except OSError:
    sys.exit(1)
PY
}

case "$cmd" in
start)
  port=${3:-}; [ -n "$port" ] || usage
  mkdir -p "$dir/mongo-$port"
  d=$(cd "$dir/mongo-$port" && pwd)
  if alive "$d/pid"; then
    echo "mongo test server already running on port $port (pid $(cat "$d/pid"))"
    exit 0
  fi
  rm -f "$d/pid"
  nohup "$py" "$here/mongo_test_server.py" --port "$port" --pidfile "$d/pid" --log "$d/server.log" \
    >>"$d/stdout.log" 2>&1 </dev/null &
  child=$!
  for _ in $(seq 1 200); do
    if ! kill -0 "$child" 2>/dev/null; then
      echo "mongo test server on port $port exited; see $d/stdout.log:" >&2
      tail -n 20 "$d/stdout.log" >&2 || true
      exit 1
    fi
    if [ -f "$d/pid" ] && ping_server "$port"; then
      echo "mongo test server on 127.0.0.1:$port (pid $child)"
      exit 0
    fi
    sleep 0.1
  done
  echo "mongo test server on port $port did not answer ping within 20 s" >&2
  kill "$child" 2>/dev/null || true
  exit 1 ;;
stop)
  [ -d "$dir" ] || exit 0
  for pidfile in "$dir"/mongo-*/pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done ;;
*) usage ;;
esac
