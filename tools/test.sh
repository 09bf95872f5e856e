#!/usr/bin/env bash
# test.sh - the README's test command: installs what is needed, builds tideline three
# times (a -Werror release build, an ASan+UBSan build that runs the suite, and a
# ThreadSanitizer build), starts the throwaway MariaDB / PostgreSQL / Mongo-test / FerretDB
# servers on loopback ports, runs every ctest test (unit, integration, conformance, crash)
# in the ASan build, then the thread tests (label tsan: parallel and chunk copies with the
# fake driver and against MariaDB) in the TSan build, and stops the servers again.
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
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTL_SANITIZE=thread -DTL_WERROR=ON >/dev/null
cmake --build build-tsan -j "$jobs"

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
status=0
ctest --output-on-failure --timeout 900 "$@" || status=$?
# ThreadSanitizer: any data race fails the test (exit code 66)
cd ../build-tsan
TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:exitcode=66:second_deadlock_stack=1} \
  ctest --output-on-failure --timeout 1800 -L tsan || status=$?
exit "$status"
