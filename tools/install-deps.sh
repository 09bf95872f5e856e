#!/usr/bin/env bash
# Installs everything tideline needs to build, test and run its demo on Debian 12.
# Idempotent: packages already present are not downloaded again.
# Then builds FerretDB (a real MongoDB wire-protocol server for the Mongo tests) with this
# machine's Go into ~/.cache/tideline (tools/servers/ferretdb.sh build; cached, so only the
# first run pays ~1-2 minutes). Without Go >= 1.24 that is a note and the FerretDB tests
# report "skipped"; under CI (CI set) it is an error, since CI must run them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

ferretdb() {
  local rc=0
  bash "$here/servers/ferretdb.sh" build >/dev/null || rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "install-deps: ferretdb ready ($(bash "$here/servers/ferretdb.sh" path))"
  elif [ "$rc" -eq 3 ] && [ -z "${CI:-}" ]; then
    echo "install-deps: note: no Go >= 1.24 here, FerretDB is not built; its tests will report skipped"
  else
    echo "install-deps: building ferretdb failed${CI:+ (CI is set: the FerretDB tests must run)}" >&2
    exit 1
  fi
}

pkgs=(
  build-essential cmake pkg-config git
  libsqlite3-dev sqlite3
  libmariadb-dev mariadb-server mariadb-client
  mariadb-test-data # world and DBT-3 databases for tests/integration/test_schema_mysql.c
  libpq-dev postgresql postgresql-contrib
  libmongoc-dev libbson-dev
  libcjson-dev libinih-dev
  python3 python3-mockupdb python3-mongomock python3-pymongo python3-bson-ext python3-pymongo-ext
  socat openssl
  clang libclang-rt-14-dev # libFuzzer and the sanitizer runtimes of the fuzz targets (tools/fuzz.sh)
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  ferretdb
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packaged servers must not keep running as system services: tests start their own.
for svc in mariadb postgresql; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
ferretdb
echo "install-deps: done"
