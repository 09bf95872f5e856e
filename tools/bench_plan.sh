#!/usr/bin/env bash
# bench_plan.sh - how long `tideline plan` takes over many tables (issue #8: 100,000 tables
# in <= 1 s). Starts throwaway servers with tools/servers.sh, creates N tables
# (`id int primary key, v int`, one row each) in a database of its own, writes a task file
# and times:
#
#   fresh   plan with an empty store (every table: start from the beginning)
#   resume  plan with a store where half the tables are finished and a quarter have a
#           checkpoint position (imported with `tideline import`, as a run's logs would be),
#           plus the task_table rows a run leaves: the finished tables recorded 1 target row
#           at finish, so plan's lost-rows check counts every one of them on the target
#
# The target is a second database on the same server (a template copy, so it has the same
# tables). Each timing is the median of --runs runs of the whole command (connects, store
# copy, printing to a file included). Also prints a breakdown measured by bench_plan
# (tests/bench/bench_plan.c): listing, describing, store load, plan build, target checks.
#
#   tools/bench_plan.sh [--port-base 29500] [--pg-tables 100000] [--mysql-tables 0]
#                       [--runs 5] [--build DIR] [--keep]
#
# --mysql-tables N > 0 also benchmarks MariaDB (creating tables there is slow: ~2 ms each).
# Servers use ports BASE+0/1 (MariaDB) and BASE+10/11 (PostgreSQL) and are stopped at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
base=29500
pg_n=100000
my_n=0
runs=5
build="$root/build-plan"
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
  --port-base) base=$2; shift 2 ;;
  --pg-tables) pg_n=$2; shift 2 ;;
  --mysql-tables) my_n=$2; shift 2 ;;
  --runs) runs=$2; shift 2 ;;
  --build) build=$2; shift 2 ;;
  --keep) keep=1; shift ;;
  -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
  *) echo "bench_plan.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTL_SANITIZE=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target tideline bench_plan >/dev/null
bin="$build/tideline"
bench="$build/tests/bench_plan"

srv=/tmp/tl-bench-plan-$base
work=$(mktemp -d /tmp/tl-bench-plan-work-XXXXXX)
kinds=()
[ "$pg_n" -gt 0 ] && kinds+=(pg)
[ "$my_n" -gt 0 ] && kinds+=(mysql)
[ ${#kinds[@]} -gt 0 ] || { echo "bench_plan.sh: nothing to do" >&2; exit 2; }
cleanup() {
  if [ "$keep" = 0 ]; then
    TL_PORT_BASE=$base "$root/tools/servers.sh" stop "$srv" >/dev/null 2>&1 || true
    rm -rf "$srv" "$work"
  else
    echo "kept: servers in $srv (stop with tools/servers.sh stop $srv), files in $work"
  fi
}
trap cleanup EXIT
TL_PORT_BASE=$base "$root/tools/servers.sh" start "$srv" "${kinds[@]}" >/dev/null
# shellcheck disable=SC1091
source "$srv/env.sh"

now() { date +%s.%N; }
# median of the numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# timed TASK LABEL: runs `tideline plan TASK` $runs times, prints the median seconds
timed() {
  local t0 t1 i
  for i in $(seq "$runs"); do
    t0=$(now)
    "$bin" plan "$1" >"$work/plan-$2.out" 2>"$work/plan-$2.err" || { cat "$work/plan-$2.err" >&2; exit 1; }
    t1=$(now)
    echo "$t1 - $t0" | bc -l
  done | median
}

# task FILE NAME DB_TYPE SRC_URL DST_URL FILTER_LINE
task() {
  mkdir -p "$work/logs-$2"
  cat > "$1" <<INI
[global]
task_id=$2
[extractor]
db_type=$3
url=$4
batch_size=1000
[sinker]
db_type=$3
url=$5
[filter]
$6
[runtime]
log_dir=$work/logs-$2
[resumer]
resume_type=from_log
INI
}

# resume_store KIND SCHEMA N TASK_ID: position/finished lines for table i as ape-dts writes
# them (tables 1..N/2 finished, the next N/4 at id 500), imported into the task's store;
# then task_table rows like a run leaves (finished with 1 target row, others running).
resume_store() {
  local kind=$1 schema=$2 n=$3 id=$4 ts="2024-10-10 04:04:08.152044"
  awk -v n="$n" -v k="$kind" -v s="$schema" -v ts="$ts" 'BEGIN {
    for (i = 1; i <= n / 2; i++)
      printf "%s | {\"type\":\"RdbSnapshotFinished\",\"db_type\":\"%s\",\"schema\":\"%s\",\"tb\":\"t%06d\"}\n", ts, k, s, i > "'"$work"'/finished.log"
    for (i = n / 2 + 1; i <= n / 2 + n / 4; i++)
      printf "%s | checkpoint_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"%s\",\"schema\":\"%s\",\"tb\":\"t%06d\",\"order_key\":{\"single\":[\"id\",\"500\"]}}\n", ts, k, s, i > "'"$work"'/position.log"
  }'
  "$bin" import --store "$work/logs-$id/checkpoint.db" --task-id "$id" "$work/position.log" "$work/finished.log" >/dev/null
  sqlite3 "$work/logs-$id/checkpoint.db" "
    INSERT INTO task_table (task_id, schema, tb, est_rows, rows_copied, target_empty_at_start, mode, state,
                            target_rows_at_finish)
      SELECT task_id, schema, tb, 1, 1, 1, 'batch', 'finished', 1 FROM finished WHERE task_id = '$id';
    INSERT INTO task_table (task_id, schema, tb, est_rows, rows_copied, target_empty_at_start, mode, state)
      SELECT task_id, schema, tb, 1000, 500, 1, 'batch', 'running' FROM position WHERE task_id = '$id';"
}

results=()
run_kind() { # KIND N SRC_URL DST_URL FILTER SCHEMA
  local kind=$1 n=$2 fresh resume
  task "$work/$kind-fresh.ini" "${kind}_fresh" "$kind" "$3" "$4" "$5"
  task "$work/$kind-resume.ini" "${kind}_resume" "$kind" "$3" "$4" "$5"
  resume_store "$kind" "$6" "$n" "${kind}_resume"
  fresh=$(timed "$work/$kind-fresh.ini" "$kind-fresh")
  resume=$(timed "$work/$kind-resume.ini" "$kind-resume")
  results+=("$(printf '%-6s %8d  fresh %7.3f s  resume %7.3f s  (%s lines printed)' "$kind" "$n" "$fresh" "$resume" \
    "$(wc -l < "$work/plan-$kind-resume.out")")")
  echo "breakdown ($kind, fresh store, one run):"
  "$bench" "$work/$kind-fresh.ini" 2>&1 | grep -v "Falling back to malloc" | sed 's/^/  /'
  echo "breakdown ($kind, resume store, one run):"
  "$bench" "$work/$kind-resume.ini" 2>&1 | grep -v "Falling back to malloc" | sed 's/^/  /'
}

if [ "$pg_n" -gt 0 ]; then
  pgdb() { echo "${TL_PG_SRC_URL%/postgres}/$1"; }
  psql -X -q -v ON_ERROR_STOP=1 "$TL_PG_SRC_URL" -c "DROP DATABASE IF EXISTS tl_bench_plan_dst" \
    -c "DROP DATABASE IF EXISTS tl_bench_plan" -c "CREATE DATABASE tl_bench_plan"
  t0=$(now)
  # DO blocks of 1000 CREATE TABLEs, one transaction each (fsync is off on these servers)
  for ((lo = 1; lo <= pg_n; lo += 1000)); do
    hi=$((lo + 999)); [ $hi -le "$pg_n" ] || hi=$pg_n
    echo "DO \$\$ BEGIN FOR i IN $lo..$hi LOOP EXECUTE format('CREATE TABLE bench.t%1\$s (id int PRIMARY KEY, v int); INSERT INTO bench.t%1\$s VALUES (1, 1)', lpad(i::text, 6, '0')); END LOOP; END \$\$;"
  done | { echo "CREATE SCHEMA bench;"; cat; } | psql -X -q -v ON_ERROR_STOP=1 "$(pgdb tl_bench_plan)" >/dev/null
  # a long-lived database has its catalogs analyzed by autovacuum; right after creating 100k
  # tables they are not yet, and the catalog queries' plans are worse (plan ~1.7x slower)
  psql -X -q -v ON_ERROR_STOP=1 "$(pgdb tl_bench_plan)" -c "VACUUM ANALYZE pg_catalog.pg_class,
    pg_catalog.pg_attribute, pg_catalog.pg_index, pg_catalog.pg_type, pg_catalog.pg_namespace"
  psql -X -q -v ON_ERROR_STOP=1 "$TL_PG_SRC_URL" \
    -c "CREATE DATABASE tl_bench_plan_dst TEMPLATE tl_bench_plan STRATEGY FILE_COPY"
  # a target that tideline wrote has live-row statistics from those inserts (plan's lost-rows
  # check reads them before counting); a template copy starts without any: ANALYZE sets them
  psql -X -q -v ON_ERROR_STOP=1 "$(pgdb tl_bench_plan_dst)" -c "ANALYZE"
  printf 'pg: created %d tables (and the target copy) in %.1f s\n' "$pg_n" "$(echo "$(now) - $t0" | bc -l)"
  run_kind pg "$pg_n" "$(pgdb tl_bench_plan)" "$(pgdb tl_bench_plan_dst)" "do_dbs=bench" bench
fi

if [ "$my_n" -gt 0 ]; then
  M=(mariadb --no-defaults --protocol=TCP -h127.0.0.1 -uroot)
  sp=$((base + 0)); dp=$((base + 1))
  t0=$(now)
  for p in "$sp" "$dp"; do
    "${M[@]}" -P"$p" -e "DROP DATABASE IF EXISTS bench; CREATE DATABASE bench"
    awk -v n="$my_n" 'BEGIN { for (i = 1; i <= n; i++) printf "CREATE TABLE bench.t%06d (id int PRIMARY KEY, v int); INSERT INTO bench.t%06d VALUES (1, 1);\n", i, i }' \
      | "${M[@]}" -P"$p" &
  done
  wait
  printf 'mysql: created %d tables on source and target in %.1f s\n' "$my_n" "$(echo "$(now) - $t0" | bc -l)"
  run_kind mysql "$my_n" "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" "do_dbs=bench" bench
fi

echo
echo "tideline plan (median of $runs runs, whole command)"
printf '%s\n' "${results[@]}"
