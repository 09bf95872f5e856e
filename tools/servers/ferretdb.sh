#!/usr/bin/env bash
# ferretdb.sh - builds (once, cached) and starts/stops FerretDB v1.24.2, a MongoDB
# wire-protocol server that people run in production, as a second real Mongo server for
# the tests beside tools/mongo_test_server.py.
#
#   ferretdb.sh build           build the binary with this machine's Go unless it is cached;
#                               prints its path. Exit 3 when there is no Go >= 1.24 (the
#                               FerretDB tests then report "skipped"; under CI that is an error)
#   ferretdb.sh path            prints the cached binary's path; exit 1 when it is not built
#   ferretdb.sh start DIR PORT  one server on 127.0.0.1:PORT with its SQLite files under
#                               DIR/ferretdb-PORT/ (pid, server.log there); waits (20 s) for ping
#   ferretdb.sh stop DIR        stops every server started under DIR (by pid file)
#
# Cache: ${TL_CACHE_DIR:-$XDG_CACHE_HOME/tideline or ~/.cache/tideline}/ferretdb-v1.24.2/.
# Why not plain `go install …/cmd/ferretdb@v1.24.2`: the module leaves build/version/version.txt
# empty (FerretDB's own build generates it) and such a binary panics at start, so the build
# copies the module source from Go's module cache, writes the version file and builds that.
# GOTOOLCHAIN=local: this machine's Go or nothing, never a toolchain download.
#
# Backend: SQLite, one directory per server: no other server is needed (the PostgreSQL
# backend would tie the Mongo tests to the PostgreSQL test servers and their lifetime, and
# FerretDB would create its schemas in a database the PostgreSQL tests use), and it starts
# in well under a second. See docs/mongodb.md.
#
# Nothing it starts reaches beyond loopback: telemetry is off three ways (--telemetry=disable,
# FERRETDB_TELEMETRY=disable, DO_NOT_TRACK=1) and its reporting URL points at a closed
# loopback port anyway; the debug/metrics HTTP listener is off (--debug-addr=-), OpenTelemetry
# tracing is off (--otel-traces-url=-), and it listens on 127.0.0.1 only.
set -euo pipefail
VERSION=v1.24.2
GO_MIN=1.24
cache=${TL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tideline}/ferretdb-$VERSION
bin=$cache/ferretdb
cmd=${1:-}
usage() { echo "usage: $0 build | path | start DIR PORT | stop DIR" >&2; exit 2; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# go_ok: this machine's Go is at least GO_MIN (prints why not otherwise). Go's own
# installer puts it in /usr/local/go/bin, which not every environment has on PATH.
go_ok() {
  local v
  command -v go >/dev/null 2>&1 || { [ -x /usr/local/go/bin/go ] && PATH=$PATH:/usr/local/go/bin; }
  command -v go >/dev/null 2>&1 || { echo "ferretdb: no Go on PATH or in /usr/local/go/bin (need Go >= $GO_MIN)" >&2; return 1; }
  v=$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null | sed 's/^go//')
  if [ -z "$v" ] || [ "$(printf '%s\n%s\n' "$GO_MIN" "$v" | sort -V | head -n 1)" != "$GO_MIN" ]; then
    echo "ferretdb: Go ${v:-?} is older than $GO_MIN" >&2; return 1
  fi
}

build() {
  local src work
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "^version: $VERSION\$"; then
    echo "$bin"; return 0
  fi
  go_ok || exit 3
  mkdir -p "$cache"
  work=$(mktemp -d /tmp/tl-ferretdb-build-XXXXXX)
  # shellcheck disable=SC2064  # expand now
  trap "chmod -R u+w '$work' 2>/dev/null; rm -rf '$work'" EXIT
  echo "ferretdb: building FerretDB $VERSION with $(go env GOVERSION) into $cache (about 1-2 minutes)" >&2
  src=$(cd "$work" && GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$src" ] && [ -d "$src" ] || { echo "ferretdb: cannot download the FerretDB $VERSION module" >&2; exit 1; }
  cp -r "$src/." "$work/src"
  chmod -R u+w "$work/src"
  echo "$VERSION" > "$work/src/build/version/version.txt"
  echo "tideline-test" > "$work/src/build/version/package.txt"
  (cd "$work/src" && GOTOOLCHAIN=local GOFLAGS=-buildvcs=false go build -trimpath -o "$bin.tmp" ./cmd/ferretdb) \
    || { echo "ferretdb: go build failed" >&2; exit 1; }
  mv "$bin.tmp" "$bin"
  "$bin" --version | grep -q "^version: $VERSION\$" || { echo "ferretdb: the built binary does not run" >&2; exit 1; }
  echo "$bin"
}

ping_server() {
  /usr/bin/python3 - "$1" <<'PY'
import sys
from pymongo import MongoClient
try:
    c = MongoClient("mongodb://127.0.0.1:%s" % sys.argv[1], serverSelectionTimeoutMS=500, connectTimeoutMS=500)
    sys.exit(0 if c.admin.command("ping").get("ok") == 1 else 1)
except Exception:
    sys.exit(1)
PY
}

case "$cmd" in
build) build ;;
path)
  [ -x "$bin" ] || exit 1
  echo "$bin" ;;
start)
  dir=${2:-}; port=${3:-}; [ -n "$dir" ] && [ -n "$port" ] || usage
  [ -x "$bin" ] || { echo "ferretdb: not built ($bin); run tools/install-deps.sh" >&2; exit 3; }
  mkdir -p "$dir/ferretdb-$port"
  d=$(cd "$dir/ferretdb-$port" && pwd)
  if alive "$d/pid"; then
    echo "ferretdb already running on port $port (pid $(cat "$d/pid"))"; exit 0
  fi
  mkdir -p "$d/data" "$d/state"
  DO_NOT_TRACK=1 FERRETDB_TELEMETRY=disable nohup "$bin" --handler=sqlite --sqlite-url="file:$d/data/" \
    --listen-addr="127.0.0.1:$port" --state-dir="$d/state" --telemetry=disable \
    --test-telemetry-url=http://127.0.0.1:9/ --debug-addr=- --otel-traces-url=- \
    --log-level=WARN --log-format=text >>"$d/server.log" 2>&1 </dev/null &
  child=$!
  echo "$child" > "$d/pid"
  for _ in $(seq 1 200); do
    if ! kill -0 "$child" 2>/dev/null; then
      echo "ferretdb on port $port exited; see $d/server.log:" >&2
      tail -n 20 "$d/server.log" >&2 || true
      rm -f "$d/pid"; exit 1
    fi
    if ping_server "$port"; then
      echo "ferretdb $VERSION (SQLite) on 127.0.0.1:$port (pid $child)"; exit 0
    fi
    sleep 0.1
  done
  echo "ferretdb on port $port did not answer ping within 20 s" >&2
  kill "$child" 2>/dev/null || true
  rm -f "$d/pid"; exit 1 ;;
stop)
  dir=${2:-}; [ -n "$dir" ] || usage
  [ -d "$dir" ] || exit 0
  for pidfile in "$dir"/ferretdb-*/pid; do
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
