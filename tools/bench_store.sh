#!/usr/bin/env bash
# bench_store.sh - builds tideline in Release (build-bench/) and measures the checkpoint store.
#
#   tools/bench_store.sh            import: 1,000,000 position.log lines over 100,000 tables
#                                   imported, then 100,000 lookups (goals: >= 500k lines/s, <= 1 s)
#   tools/bench_store.sh fleet [--port-base 29600] [--chunks 100000] [--rows 2000000] [--runs 3]
#                                   the shared store (#17), against throwaway servers it starts:
#     claims   CHUNKS chunks claimed and finished by 1, 2, 4 and 8 worker processes, SQLite and
#              PostgreSQL (claims/s; no chunk twice)
#     record   the store's share of one position record (begin, put_position, commit; with a
#              lease fence), SQLite and PostgreSQL
#     run      one worker's run, PostgreSQL to PostgreSQL, ROWS rows, store=SQLite file against
#              store=postgres://, checkpoints per batch (interval 0) and per 10 s (the default):
#              each configuration RUNS times, alternating, same run; the time the recorder held
#              the store (the run summary's "checkpoints: ... ms") and the whole run's time
#
# Warnings are not errors here (a speed measurement; the Debug build enforces -Werror).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${TL_BENCH_BUILD:-$root/build-bench}"
mode=${1:-import}
[ $# -eq 0 ] || shift
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTL_SANITIZE=OFF -DTL_WERROR=OFF >/dev/null
if [ "$mode" = import ]; then
  make -C "$build" -j"$(nproc)" bench_store >/dev/null
  exec "$build/tests/bench_store"
fi
[ "$mode" = fleet ] || { echo "usage: $0 [import | fleet [options]]" >&2; exit 2; }

base=29600 chunks=100000 rows=2000000 runs=3
while [ $# -gt 0 ]; do
  case "$1" in
  --port-base) base=$2; shift 2 ;;
  --chunks) chunks=$2; shift 2 ;;
  --rows) rows=$2; shift 2 ;;
  --runs) runs=$2; shift 2 ;;
  *) echo "bench_store.sh fleet: unknown option $1" >&2; exit 2 ;;
  esac
done
make -C "$build" -j"$(nproc)" bench_store_fleet tideline >/dev/null
work=$(mktemp -d /tmp/tl-bench-fleet-XXXXXX)
chmod 755 "$work"
cleanup() { TL_PORT_BASE=$base bash "$root/tools/servers.sh" stop "$work/srv" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
TL_PORT_BASE=$base bash "$root/tools/servers.sh" start "$work/srv" pg >/dev/null
# shellcheck disable=SC1091
source "$work/srv/env.sh"
store_pg="$TL_PG_DST_URL?schema=tl_bench_store"
bf="$build/tests/bench_store_fleet"
echo "== claims (claim + finish per chunk, one connection per worker process)"
for w in 1 2 4 8; do
  rm -f "$work"/claims.db*
  "$bf" claims "$work/claims.db" "$w" "$chunks"
  "$bf" claims "$store_pg" "$w" "$chunks"
done
echo "== record (one position record, as the recorder writes it)"
rm -f "$work"/rec.db*
"$bf" record "$work/rec.db" 5000
"$bf" record "$store_pg" 5000

echo "== run: one worker, PostgreSQL to PostgreSQL, $rows rows, store SQLite vs PostgreSQL"
src="${TL_PG_SRC_URL%/postgres}/tl_bench_store" dst="${TL_PG_DST_URL%/postgres}/tl_bench_store"
for u in "$TL_PG_SRC_URL" "$TL_PG_DST_URL"; do
  psql -q "$u" -c "DROP DATABASE IF EXISTS tl_bench_store" -c "CREATE DATABASE tl_bench_store" 2>/dev/null
done
psql -q "$src" -c "CREATE TABLE t (id bigint PRIMARY KEY, v text, n int)" \
  -c "INSERT INTO t SELECT g, md5(g::text), g % 1000 FROM generate_series(1, $rows) g"
psql -q "$dst" -c "CREATE TABLE t (id bigint PRIMARY KEY, v text, n int)"
task() { # NAME INTERVAL [STORE]
  printf '[extractor]\ndb_type=pg\nurl=%s\nbatch_size=2000\n[sinker]\ndb_type=pg\nurl=%s\n[filter]\ndo_dbs=public\n' "$src" "$dst"
  printf '[pipeline]\ncheckpoint_interval_secs=%s\n[runtime]\nlog_dir=%s/%s\n[resumer]\nresume_type=from_log\n' "$2" "$work" "$1"
  [ -z "${3:-}" ] || printf 'store=%s\n' "$3"
}
for c in "lite0 0" "pg0 0 $store_pg" "lite10 10" "pg10 10 $store_pg"; do
  # shellcheck disable=SC2086  # c is "NAME INTERVAL [STORE]"
  task $c > "$work/${c%% *}.ini"
done
for r in $(seq 1 "$runs"); do
  for c in lite0 pg0 lite10 pg10; do
    rm -rf "${work:?}/$c"
    psql -q "$dst" -c "TRUNCATE t"
    "$build/tideline" run "$work/$c.ini" --init >/dev/null 2>&1
    printf '%-7s run %d: %s | %s\n' "$c" "$r" "$(grep -o 'total: .*' "$work/$c/default.log" | tail -1)" \
      "$(grep -o 'checkpoints: .*' "$work/$c/default.log" | tail -1)"
  done
done
