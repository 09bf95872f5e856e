#!/usr/bin/env bash
# bench_store.sh - builds tideline in Release (build-bench/) and runs the checkpoint store
# benchmark: 1,000,000 position.log lines over 100,000 tables imported, then 100,000
# lookups. Prints lines/s and lookup seconds (goals: >= 500k lines/s, <= 1 s).
# Warnings are not errors here (a speed measurement; the Debug build enforces -Werror).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${TL_BENCH_BUILD:-$root/build-bench}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTL_SANITIZE=OFF -DTL_WERROR=OFF >/dev/null
make -C "$build" -j"$(nproc)" bench_store >/dev/null
exec "$build/tests/bench_store"
