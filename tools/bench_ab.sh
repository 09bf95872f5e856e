#!/usr/bin/env bash
# bench_ab.sh - same-run throughput comparison of two tideline binaries (e.g. a branch
# against main): tools/bench's data sets and tideline runs (tools/bench_lib), without the
# peer tools, the two binaries alternating A, B, A, B, ... on the same servers, each run
# into an empty target. Prints per kind and configuration every run's wall time, client CPU
# and server CPU, the medians, and the ratio B / A of the medians (1.00 = the same; on a
# busy machine trust the server CPU and the interleaved medians more than one wall time).
#
#   tools/bench_ab.sh A_BINARY B_BINARY [--kinds mysql,pg] [--mysql-rows N] [--pg-rows N]
#                     [--pairs N] [--port-base P] [--out DIR]
#
# Configurations: table mode parallel_size 4 with checkpoints every second (tools/bench's
# reference run) and chunk mode parallel_size 2 (MySQL: the 4 sysbench tables; PostgreSQL:
# pgbench). Servers: tools/servers.sh on ports P.. (default 29400), stopped at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_LIB=$ROOT/tools/bench_lib

[ $# -ge 2 ] || { sed -n '2,14p' "$0"; exit 2; }
A=$(readlink -f "$1") B=$(readlink -f "$2"); shift 2
KINDS=mysql,pg
MYSQL_ROWS=400000
PG_ROWS=500000
PAIRS=3
PORT_BASE=29400
OUT=./bench-ab-out
while [ $# -gt 0 ]; do
  case "$1" in
  --kinds) KINDS=$2; shift 2 ;;
  --mysql-rows) MYSQL_ROWS=$2; shift 2 ;;
  --pg-rows) PG_ROWS=$2; shift 2 ;;
  --pairs) PAIRS=$2; shift 2 ;;
  --port-base) PORT_BASE=$2; shift 2 ;;
  --out) OUT=$2; shift 2 ;;
  -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
  *) echo "bench_ab.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
for v in MYSQL_ROWS PG_ROWS PAIRS PORT_BASE; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "bench_ab.sh: $v must be a positive integer" >&2; exit 2; }
done
[ -x "$A" ] && [ -x "$B" ] || { echo "bench_ab.sh: A and B must be tideline binaries" >&2; exit 2; }
has_kind() { [[ ",$KINDS," == *",$1,"* ]]; }

source "$BENCH_LIB/common.sh"
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /tmp/tideline-bench-ab-XXXXXX)
chmod 755 "$WORK"
SERVERS=$WORK/servers
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  bash "$ROOT/tools/servers.sh" stop "$SERVERS" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
kinds=()
has_kind mysql && kinds+=(mysql)
has_kind pg && kinds+=(pg)
[ ${#kinds[@]} -gt 0 ] || die "nothing to do (--kinds mysql,pg)"
say "starting servers (${kinds[*]}) on ports $PORT_BASE.. in $SERVERS"
TL_PORT_BASE=$PORT_BASE bash "$ROOT/tools/servers.sh" start "$SERVERS" "${kinds[@]}" >"$WORK/servers.log" 2>&1 \
  || { cat "$WORK/servers.log" >&2; die "could not start the servers"; }
source "$SERVERS/env.sh"
BENCH_CSV=$OUT/results.csv
echo "kind,section,tool,config,rows,bytes,seconds,rows_per_s,mb_per_s,peak_rss_kb,cpu_s,server_cpu_s,verified,note" > "$BENCH_CSV"
source "$BENCH_LIB/mysql.sh"
source "$BENCH_LIB/pg.sh"

# one measurement: KIND CONFIG(table|chunk) WHICH(A|B) ROUND -> acc KIND-CONFIG-WHICH
measure() {
  local kind=$1 cfg=$2 which=$3 i=$4 p=4
  [ "$cfg" = chunk ] && p=2
  if [ "$which" = A ]; then TIDELINE=$A; else TIDELINE=$B; fi
  if [ "$kind" = mysql ]; then mysql_tideline sbtest "$cfg-$which-$i" "$cfg" "$p" 1
  else pg_tideline "$cfg-$which-$i" "$cfg" "$p" 1; fi
  [ "$LAST_VER" = ok ] || die "$kind $cfg $which run $i: target differs ($LAST_VER)"
  acc_add "$kind-$cfg-$which"
}

if has_kind mysql; then
  mysql_init
  declare -gA MY_ROWS MY_BYTES
  say "mysql: preparing sbtest (4 x $(( MYSQL_ROWS / 4 )) rows) with sysbench"
  mysql_prepare sbtest 4 $(( MYSQL_ROWS / 4 ))
  MY_ROWS[sbtest]=$(mysql_rows src sbtest)
fi
if has_kind pg; then
  scale=$(( (PG_ROWS + 99999) / 100000 ))
  say "pg: pgbench -i -s $scale"
  pgbench -i -q -s "$scale" "$TL_PG_SRC_URL" >"$WORK/pgbench.log" 2>&1 || { cat "$WORK/pgbench.log" >&2; die "pgbench -i failed"; }
  pg_q "$TL_PG_SRC_URL" "VACUUM ANALYZE" >/dev/null
  pg_q "$TL_PG_DST_URL" "DROP TABLE IF EXISTS $(IFS=,; echo "${PG_TABLES[*]}")" >/dev/null
  pg_dump --schema-only -t 'pgbench_*' "$TL_PG_SRC_URL" | psql -X -q -v ON_ERROR_STOP=1 "$TL_PG_DST_URL" >/dev/null
  PGB_ROWS=$(pg_rows "$TL_PG_SRC_URL")
fi

for i in $(seq 1 "$PAIRS"); do
  for k in "${kinds[@]}"; do
    for cfg in table chunk; do
      # A first in odd rounds, B first in even ones: neither always runs on a warmer server
      if [ $((i % 2)) -eq 1 ]; then measure "$k" "$cfg" A "$i"; measure "$k" "$cfg" B "$i"
      else measure "$k" "$cfg" B "$i"; measure "$k" "$cfg" A "$i"; fi
    done
  done
done

{
  echo "tideline A/B, $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "A: $A"
  echo "B: $B"
  printf '%-6s %-6s %-4s %8s %8s %8s  %s\n' kind config bin wall_s cpu_s srv_cpu_s "every run's wall time"
  for k in "${kinds[@]}"; do
    for cfg in table chunk; do
      for w in A B; do
        key=$k-$cfg-$w
        read -r -a s <<< "${ACC_S[$key]}"; read -r -a c <<< "${ACC_C[$key]}"; read -r -a x <<< "${ACC_X[$key]}"
        printf '%-6s %-6s %-4s %8s %8s %8s  %s\n' "$k" "$cfg" "$w" "$(median "${s[@]}")" "$(median "${c[@]}")" \
          "$(median "${x[@]}")" "${ACC_S[$key]}"
        eval "M_$w=$(median "${s[@]}") C_$w=$(median "${c[@]}") X_$w=$(median "${x[@]}")"
      done
      awk -v ka="$k" -v cf="$cfg" -v a="$M_A" -v b="$M_B" -v ca="$C_A" -v cb="$C_B" -v xa="$X_A" -v xb="$X_B" \
        'BEGIN { printf "%-6s %-6s B/A  wall %.2f, client CPU %.2f, server CPU %.2f\n", ka, cf, b / a, (ca > 0 ? cb / ca : 0), (xa > 0 ? xb / xa : 0) }'
    done
  done
} | tee "$OUT/summary.txt"
