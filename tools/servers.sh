#!/usr/bin/env bash
# servers.sh - starts/stops the throwaway test servers on loopback ports.
#
#   tools/servers.sh start DIR [mysql] [pg] [mongo] [ferretdb]   (default: all four)
#   tools/servers.sh stop DIR
#
# Each kind gets a source and a target server with data under DIR (use a fresh folder
# under /tmp). `start` writes DIR/env.sh exporting the URLs the tests read:
#   TL_MYSQL_SRC_URL TL_MYSQL_DST_URL TL_PG_SRC_URL TL_PG_DST_URL TL_MONGO_SRC_URL TL_MONGO_DST_URL
#   TL_FERRETDB_SRC_URL TL_FERRETDB_DST_URL
# and TL_TLS_DIR (the test CA of the TLS-enabled MariaDB and PostgreSQL servers, tls.sh).
# Ports: TL_PORT_BASE (default 23300) + 0/1 MariaDB, +10/11 PostgreSQL, +20/21 the Mongo
# test server (tools/mongo_test_server.py), +40/41 FerretDB (tools/servers/ferretdb.sh;
# +30, +50, +70..+99 are the private servers of tests/integration/test_conn_*.c; +35, +55
# those of test_target_mysql/pg.c, +60, +61 those of tests/crash/pg_durable.sh, mysql_durable.sh).
# "mongo" is the Python test server, "ferretdb" the real one; the Mongo tests run against
# both (tests/_ferretdb.sh points TL_MONGO_* at FerretDB). When FerretDB is not built (no
# Go >= 1.24 here) it is left out with a note and its tests report "skipped"; under CI
# (CI set) that is an error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR [kinds...]" >&2; exit 2; }
shift 2
base=${TL_PORT_BASE:-23300}
kinds=("$@"); [ ${#kinds[@]} -gt 0 ] || kinds=(mysql pg mongo ferretdb)

case "$cmd" in
start)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # the base too: a test run by hand after sourcing env.sh uses these servers' offsets
  echo "export TL_PORT_BASE=$base" > "$dir/env.sh"
  # the test CA is made whatever kinds start: the Mongo TLS test (socat in front of the
  # Mongo test server) needs it too when only mongo is started
  "$here/servers/tls.sh" "$dir"
  echo "export TL_TLS_DIR=$dir/tls" >> "$dir/env.sh"
  for k in "${kinds[@]}"; do
    case "$k" in
    mysql)
      "$here/servers/mariadb.sh" start "$dir" $((base + 0))
      "$here/servers/mariadb.sh" start "$dir" $((base + 1))
      echo "export TL_MYSQL_SRC_URL=mysql://root:@127.0.0.1:$((base + 0))" >> "$dir/env.sh"
      echo "export TL_MYSQL_DST_URL=mysql://root:@127.0.0.1:$((base + 1))" >> "$dir/env.sh" ;;
    pg)
      "$here/servers/postgres.sh" start "$dir" $((base + 10))
      "$here/servers/postgres.sh" start "$dir" $((base + 11))
      echo "export TL_PG_SRC_URL=postgres://postgres:@127.0.0.1:$((base + 10))/postgres" >> "$dir/env.sh"
      echo "export TL_PG_DST_URL=postgres://postgres:@127.0.0.1:$((base + 11))/postgres" >> "$dir/env.sh" ;;
    mongo)
      "$here/servers/mongo.sh" start "$dir" $((base + 20))
      "$here/servers/mongo.sh" start "$dir" $((base + 21))
      echo "export TL_MONGO_SRC_URL=mongodb://127.0.0.1:$((base + 20))" >> "$dir/env.sh"
      echo "export TL_MONGO_DST_URL=mongodb://127.0.0.1:$((base + 21))" >> "$dir/env.sh" ;;
    ferretdb)
      if ! "$here/servers/ferretdb.sh" path >/dev/null; then
        [ -z "${CI:-}" ] || { echo "ferretdb is not built and CI is set: run tools/install-deps.sh" >&2; exit 1; }
        echo "note: ferretdb is not built (tools/install-deps.sh needs Go >= 1.24): FerretDB tests will be skipped"
        continue
      fi
      "$here/servers/ferretdb.sh" start "$dir" $((base + 40))
      "$here/servers/ferretdb.sh" start "$dir" $((base + 41))
      echo "export TL_FERRETDB_SRC_URL=mongodb://127.0.0.1:$((base + 40))" >> "$dir/env.sh"
      echo "export TL_FERRETDB_DST_URL=mongodb://127.0.0.1:$((base + 41))" >> "$dir/env.sh" ;;
    *) echo "unknown server kind $k" >&2; exit 2 ;;
    esac
  done
  echo "servers started; source $dir/env.sh" ;;
stop)
  [ -d "$dir" ] || exit 0
  for s in mariadb postgres mongo ferretdb; do "$here/servers/$s.sh" stop "$dir" || true; done ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
