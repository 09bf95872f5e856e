#!/usr/bin/env bash
# bench_fleet.sh - the fleet's speed in the engine (run --worker, #17; docs/benchmarks.md):
# builds tideline in Release (build-bench/), starts throwaway PostgreSQL servers at the port
# base (source base+10, target base+11; the shared store is a schema on the source server)
# and measures, PostgreSQL to PostgreSQL:
#
#   claims    one table of CLAIM_ROWS rows cut into chunks of 100 rows, copied by 1 and by 4
#             worker processes: chunks per second end to end (claim, the chunk's read and
#             write, the chunk's end with its table's checkpoint and statistics), against the
#             same table as one chunk (so the difference per chunk is what a chunk costs)
#   overhead  ROWS rows in one table, a run without --worker (SQLite store) against one worker
#             with the PostgreSQL store, whole table (parallel_type=table) and cut into chunks
#             (parallel_type=chunk, the default chunk of 16 batches): wall time, RUNS runs each,
#             alternating
#   scale     the same table plus three tables of ROWS/4 rows, chunk mode, one worker against
#             four worker processes on this host (each one thread): wall time from the first
#             start to the last exit, RUNS runs each, alternating
#
#   tools/bench_fleet.sh [--port-base 29700] [--rows 2000000] [--claim-rows 100000] [--runs 3]
#                        [claims] [overhead] [scale]          (default: all three)
#
# Every run's target is checked afterwards (row count and a content digest against the
# source): a run that did not copy every row once ends the script with an error, never a
# number. Each part prints its runs, then the medians, and the load average before and after
# (on a shared machine single runs move by tens of per cent: compare the medians).
# Warnings are not errors here (a speed measurement; the Debug build enforces -Werror).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${TL_BENCH_BUILD:-$root/build-bench}"
base=29700 rows=2000000 claim_rows=100000 runs=3 parts=()
while [ $# -gt 0 ]; do
  case "$1" in
  --port-base) base=$2; shift 2 ;;
  --rows) rows=$2; shift 2 ;;
  --claim-rows) claim_rows=$2; shift 2 ;;
  --runs) runs=$2; shift 2 ;;
  claims | overhead | scale) parts+=("$1"); shift ;;
  *) echo "usage: $0 [--port-base N] [--rows N] [--claim-rows N] [--runs N] [claims] [overhead] [scale]" >&2; exit 2 ;;
  esac
done
[ ${#parts[@]} -gt 0 ] || parts=(claims overhead scale)
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTL_SANITIZE=OFF -DTL_WERROR=OFF >/dev/null
make -C "$build" -j"$(nproc)" tideline >/dev/null
bin="$build/tideline"
work=$(mktemp -d /tmp/tl-bench-fleet-XXXXXX)
chmod 755 "$work"
cleanup() { TL_PORT_BASE=$base bash "$root/tools/servers.sh" stop "$work/srv" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
TL_PORT_BASE=$base bash "$root/tools/servers.sh" start "$work/srv" pg >/dev/null
# shellcheck disable=SC1091
source "$work/srv/env.sh"
src="${TL_PG_SRC_URL%/postgres}/tl_bench_fleet" dst="${TL_PG_DST_URL%/postgres}/tl_bench_fleet"
store="$TL_PG_SRC_URL?schema=tl_bench_fleet_store"
for u in "$TL_PG_SRC_URL" "$TL_PG_DST_URL"; do
  psql -q "$u" -c "DROP DATABASE IF EXISTS tl_bench_fleet" -c "CREATE DATABASE tl_bench_fleet" 2>/dev/null
done
tables="big:$rows a:$((rows / 4)) b:$((rows / 4)) c:$((rows / 4)) tiny:$claim_rows"
for t in $tables; do
  n=${t#*:} t=${t%%:*}
  psql -q "$src" -c "CREATE TABLE $t (id bigint PRIMARY KEY, v text, n int)" \
    -c "INSERT INTO $t SELECT g, md5(g::text), g % 1000 FROM generate_series(1, $n) g" -c "ANALYZE $t"
  psql -q "$dst" -c "CREATE TABLE $t (id bigint PRIMARY KEY, v text, n int)"
done

now() { date +%s.%N; }
die() { echo "bench_fleet: $*" >&2; exit 1; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# median of the numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
med() { printf '%s\n' "$@" | median; }
digest() { # URL TABLE: row count and md5 of the rows in key order
  psql -qtA "$1" -c "SELECT count(*) || ' ' || coalesce(md5(string_agg(md5(t::text), '' ORDER BY id)), '') FROM $2 t"
}
# same TABLE...: every table of the target equal to the source's (0 lost, 0 duplicated)
same() {
  local t a b
  for t in "$@"; do
    a=$(digest "$src" "$t") b=$(digest "$dst" "$t")
    [ "$a" = "$b" ] || die "table $t differs after a run: source '$a', target '$b'"
  done
}
# task NAME DO_TBS [SECTION.KEY=VALUE...]: $work/NAME.ini, logs in $work/NAME
task() {
  local name=$1 tbs=$2 kv
  shift 2
  {
    printf '[extractor]\ndb_type=pg\nurl=%s\nbatch_size=2000\n' "$src"
    for kv in "$@"; do if [ "${kv%%.*}" = extractor ]; then printf '%s\n' "${kv#*.}"; fi; done
    printf '[sinker]\ndb_type=pg\nurl=%s\n[filter]\ndo_tbs=%s\n' "$dst" "$tbs"
    printf '[runtime]\nlog_dir=%s/%s\n[global]\ntask_id=%s\n[resumer]\nresume_type=from_log\n' "$work" "$name" "$name"
    for kv in "$@"; do if [ "${kv%%.*}" = resumer ]; then printf '%s\n' "${kv#*.}"; fi; done
  } > "$work/$name.ini"
}
empty() { psql -q "$dst" -c "TRUNCATE $*"; }
# cpu FILE...: the user+system seconds of /usr/bin/time outputs, summed
cpu() { cat "$@" | awk '{ s += $1 + $2 } END { printf "%.2f", s }'; }
# fleet NAME N: N workers of task NAME; prints the wall seconds from the first start to the
# last exit, and the CPU seconds of the workers together (less moved by a busy machine)
fleet() {
  local t0 t1 i pids=()
  t0=$(now)
  for i in $(seq 1 "$2"); do
    /usr/bin/time -f '%U %S' -o "$work/time.$i" "$bin" run "$work/$1.ini" --worker "w$i" >/dev/null 2>&1 & pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || die "a worker of $1 failed (logs in $work/$1)"; done
  t1=$(now)
  echo "$(echo "$t1 - $t0" | bc) $(cpu $(seq -f "$work/time.%g" 1 "$2"))"
}
single() { # NAME: a run without --worker; prints wall and CPU seconds
  local t0 t1
  t0=$(now)
  /usr/bin/time -f '%U %S' -o "$work/time.0" "$bin" run "$work/$1.ini" >/dev/null 2>&1 || die "run $1 failed (logs in $work/$1)"
  t1=$(now)
  echo "$(echo "$t1 - $t0" | bc) $(cpu "$work/time.0")"
}
# ckpt NAME: milliseconds the recorder spent in the store ("checkpoints: ... in X ms"), all logs of the task
ckpt() { { cat "$work/$1"/default.log "$work/$1"/*/default.log 2>/dev/null || true; } | sed -n 's/.*checkpoints: [0-9]* records written in \([0-9.]*\) ms.*/\1/p' | awk '{ s += $1 } END { printf "%.1f", s }'; }
forget() { psql -q "$TL_PG_SRC_URL" -c "DROP SCHEMA IF EXISTS tl_bench_fleet_store CASCADE" 2>/dev/null; rm -rf "${work:?}/$1" "$work/$1.db"*; }

for part in "${parts[@]}"; do
  case "$part" in
  claims)
    echo "== claims: table tiny ($claim_rows rows), chunks of 100 rows against one chunk, PostgreSQL store"
    task c100 'public.tiny' extractor.parallel_type=chunk resumer.store="$store" resumer.chunk_rows=100 resumer.lease_secs=30
    task c1 'public.tiny' extractor.parallel_type=chunk resumer.store="$store" resumer.chunk_rows=$((claim_rows * 2)) resumer.lease_secs=30
    echo "load before: $(load)"
    declare -A cps=() per=()
    for r in $(seq 1 "$runs"); do
      for w in 1 4; do
        forget c100; empty tiny; read -r s _ <<<"$(fleet c100 $w)"; same tiny
        n=$(psql -qtA "$TL_PG_SRC_URL" -c "SELECT count(*) FROM tl_bench_fleet_store.work_item WHERE task_id = 'c100' AND kind = 'chunk'")
        [ "$n" -gt 1 ] || die "table tiny was not cut into chunks ($n): use a larger --claim-rows"
        forget c1; empty tiny; read -r s1 _ <<<"$(fleet c1 $w)"; same tiny
        c=$(echo "$n / $s" | bc -l) d=$(echo "($s - $s1) * 1000 / $n" | bc -l)
        cps[$w]+="$c " per[$w]+="$d "
        printf 'run %d, %d worker(s): %d chunks in %.2f s = %.0f chunks/s; one chunk: %.2f s; %.2f ms more per chunk\n' \
          "$r" "$w" "$n" "$s" "$c" "$s1" "$d"
      done
    done
    for w in 1 4; do
      # shellcheck disable=SC2086  # the lists are words
      printf 'median, %d worker(s): %.0f chunks/s, %.2f ms more per chunk\n' "$w" "$(med ${cps[$w]})" "$(med ${per[$w]})"
    done
    echo "load after: $(load)" ;;
  overhead)
    echo "== overhead: table big ($rows rows), no --worker with the SQLite store against one worker with the PostgreSQL store"
    task lite_t 'public.big'
    task pg_t 'public.big' resumer.store="$store"
    task lite_c 'public.big' extractor.parallel_type=chunk
    task pg_c 'public.big' extractor.parallel_type=chunk resumer.store="$store"
    echo "load before: $(load)"
    # per case: wall seconds, CPU seconds, recorder's store milliseconds
    declare -A W=() U=() K=()
    pct() { echo "($2 - $1) * 100 / $1" | bc -l; }
    for r in $(seq 1 "$runs"); do
      for c in lite_t pg_t lite_c pg_c; do
        forget $c; empty big
        if [ "${c%_*}" = lite ]; then read -r w u <<<"$(single $c)"; else read -r w u <<<"$(fleet $c 1)"; fi
        same big
        k=$(ckpt $c)
        W[$c]+="$w " U[$c]+="$u " K[$c]+="$k "
        printf 'run %d, %-6s: %6.2f s wall, %6.2f s CPU, store %7.1f ms\n' "$r" "$c" "$w" "$u" "$k"
      done
    done
    for m in table chunk; do
      x=lite_${m:0:1} y=pg_${m:0:1}
      # shellcheck disable=SC2086  # the lists are words
      a=$(med ${W[$x]}) b=$(med ${W[$y]}) ua=$(med ${U[$x]}) ub=$(med ${U[$y]}) ka=$(med ${K[$x]}) kb=$(med ${K[$y]})
      printf 'median, %s mode: SQLite, no worker %.2f s (CPU %.2f s, store %.1f ms); PostgreSQL, one worker %.2f s (%+.1f %%; CPU %.2f s, %+.1f %%; store %.1f ms)\n' \
        "$m" "$a" "$ua" "$ka" "$b" "$(pct "$a" "$b")" "$ub" "$(pct "$ua" "$ub")" "$kb"
    done
    echo "load after: $(load)" ;;
  scale)
    echo "== scale: big, a, b, c ($rows + 3 x $((rows / 4)) rows), chunk mode, one worker against four, PostgreSQL store"
    task s1 'public.big,public.a,public.b,public.c' extractor.parallel_type=chunk resumer.store="$store"
    echo "load before: $(load)"
    O=() F=() OU=() FU=()
    for r in $(seq 1 "$runs"); do
      forget s1; empty big, a, b, c; read -r one ou <<<"$(fleet s1 1)"; same big a b c
      forget s1; empty big, a, b, c; read -r four fu <<<"$(fleet s1 4)"; same big a b c
      O+=("$one") F+=("$four") OU+=("$ou") FU+=("$fu")
      printf 'run %d: one worker %.2f s (CPU %.2f s), four workers %.2f s (%+.1f %%; CPU %.2f s together)\n' "$r" "$one" "$ou" "$four" "$(echo "($four - $one) * 100 / $one" | bc -l)" "$fu"
    done
    one=$(med "${O[@]}") four=$(med "${F[@]}") ou=$(med "${OU[@]}") fu=$(med "${FU[@]}")
    printf 'median: one worker %.2f s (CPU %.2f s), four workers %.2f s (%+.1f %%; CPU %.2f s together, %+.1f %%)\n' "$one" "$ou" "$four" "$(echo "($four - $one) * 100 / $one" | bc -l)" "$fu" "$(echo "($fu - $ou) * 100 / $ou" | bc -l)"
    echo "load after: $(load)" ;;
  esac
done
