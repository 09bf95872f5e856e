#!/usr/bin/env bash
# fuzz.sh - build the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang in build-fuzz/ and
# run one of them for a number of runs or seconds, printing how many inputs it executed.
#
#   tools/fuzz.sh [--runs N] [--seconds S] [--target NAME] [-- extra libFuzzer flags]
#
# Defaults: --target fuzz_logline, --runs 200000 (when neither --runs nor --seconds is
# given). The library is instrumented for coverage too (fuzzer-no-link), so the fuzzer
# sees inside tl_core. New inputs go to build-fuzz/corpus-NAME (seeded from
# tests/fuzz/corpus), never into the source tree; crashes are written to build-fuzz/.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-fuzz"
target=fuzz_logline
runs=""
seconds=""
extra=()

while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--target) target=$2; shift 2 ;;
	-h|--help) sed -n '2,11p' "$0"; exit 0 ;;
	--) shift; extra=("$@"); break ;;
	*) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
if [ -z "$runs" ] && [ -z "$seconds" ]; then
	runs=200000
fi
command -v clang >/dev/null || { echo "fuzz.sh: clang is required" >&2; exit 2; }

san="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -g"
CC=clang cmake -S "$root" -B "$build" -DTL_BUILD_FUZZERS=ON -DTL_WERROR=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
make -C "$build" -j"$(nproc)" "$target" >/dev/null

bin=$(find "$build" -type f -name "$target" -perm -u+x | head -n 1)
[ -n "$bin" ] || { echo "fuzz.sh: $target was not built" >&2; exit 1; }

corpus="$build/corpus-$target"
mkdir -p "$corpus"
# each target has its seed corpus: tests/fuzz/corpus_<suffix> if present, else tests/fuzz/corpus
seeds="$root/tests/fuzz/corpus_${target#fuzz_}"
[ -d "$seeds" ] || seeds="$root/tests/fuzz/corpus"
if [ -d "$seeds" ]; then
	cp -n "$seeds/"* "$corpus/" 2>/dev/null || true
fi

args=(-print_final_stats=1 -max_len=4096 -artifact_prefix="$build/")
[ -n "$runs" ] && args+=(-runs="$runs")
[ -n "$seconds" ] && args+=(-max_total_time="$seconds")
log="$build/$target.log"
set +e
"$bin" "${args[@]}" "${extra[@]}" "$corpus" >"$log" 2>&1
status=$?
set -e
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
if [ -z "$execs" ]; then
	execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
fi
echo "$target: ${execs:-?} executions, exit status $status (log: $log)"
if [ $status -ne 0 ]; then
	grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 20 >&2 || true
fi
exit $status
