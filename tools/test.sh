#!/usr/bin/env bash
# test.sh - the README's test command: installs what is needed, builds tideline twice
# (a -Werror release build, and an ASan+UBSan build that runs the suite), starts the
# throwaway MariaDB / PostgreSQL / Mongo-test / FerretDB servers on loopback ports, runs every ctest
# test (unit, integration, conformance, crash), and stops the servers again.
# Conformance cases report "skipped" when ../shared/conformance is absent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash tools/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTL_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTL_SANITIZE=ON -DTL_WERROR=ON >/dev/null
cmake --build build-asan -j "$jobs"

srv=$(mktemp -d /tmp/tideline-servers-XXXXXX)
chmod 755 "$srv"
cleanup() { bash "$root/tools/servers.sh" stop "$srv" >/dev/null 2>&1 || true; rm -rf "$srv"; }
trap cleanup EXIT
TL_PORT_BASE=${TL_PORT_BASE:-23300} bash tools/servers.sh start "$srv"
# shellcheck disable=SC1091
source "$srv/env.sh"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tools/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd build-asan
ctest --output-on-failure --timeout 900 "$@"
