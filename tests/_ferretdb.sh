#!/usr/bin/env bash
# _ferretdb.sh CMD ARGS... - runs a Mongo test against FerretDB instead of the Mongo test
# server: TL_MONGO_SRC_URL / TL_MONGO_DST_URL are replaced by TL_FERRETDB_SRC_URL /
# TL_FERRETDB_DST_URL (written by `tools/servers.sh start DIR` into DIR/env.sh) and CMD is
# run unchanged. tests/CMakeLists.txt registers every Mongo test a second time through this
# file (ctest names ending in ".ferretdb", label "ferretdb"), so one test body covers both
# servers. Without FerretDB URLs (no Go >= 1.24 to build it): skipped (77), under CI a
# failure. Not a test itself (the name starts with "_").
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=_lib.sh
source "$(dirname "$0")/_lib.sh"
[ $# -gt 0 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }
if [ -z "${TL_FERRETDB_SRC_URL:-}" ] || [ -z "${TL_FERRETDB_DST_URL:-}" ]; then
  tl_sh_skip "TL_FERRETDB_SRC_URL/TL_FERRETDB_DST_URL not set (FerretDB is built by tools/install-deps.sh with Go >= 1.24 and started by tools/servers.sh)"
fi
export TL_MONGO_SRC_URL=$TL_FERRETDB_SRC_URL TL_MONGO_DST_URL=$TL_FERRETDB_DST_URL
# FerretDB on SQLite reads about ten times slower than the test server (no pushdown, see
# docs/mongodb.md): the crash test's big collection is smaller there, still 60 batches
export TL_MONGO_KILL_DOCS=${TL_MONGO_KILL_DOCS:-30000}
exec "$@"
