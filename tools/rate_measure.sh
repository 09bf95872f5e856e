#!/usr/bin/env bash
# rate_measure.sh - measures the rows-per-second limit ([extractor]/[sinker]/[pipeline]
# max_rps) of a real copy: 4 MariaDB tables of ROWS/4 rows copied by 4 workers sharing one
# limit of RPS rows/s (default 20,000 rows at 1,000 rows/s: about 20 s). Prints the rate
# over the whole run (start-up included) and the steady rate between the first and the
# last checkpoint once every table has one (position.log, one per table per second), and
# exits 1 when the steady rate is more than 10 % away from RPS. docs/testing.md has the
# numbers of the last measurement.
#
#   source DIR/env.sh   # servers of tools/servers.sh
#   bash tools/rate_measure.sh [RPS] [ROWS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rps=${1:-1000}
rows=${2:-20000}
bin=${TL_BIN:-$root/build/tideline}
[ -x "$bin" ] || bin=$root/build-asan/tideline
: "${TL_MYSQL_SRC_URL:?source the env.sh of tools/servers.sh}" "${TL_MYSQL_DST_URL:?}"
port() { echo "$1" | sed 's#.*:\([0-9]*\)\(/.*\)\{0,1\}$#\1#'; }
my() { mariadb --protocol=TCP -h127.0.0.1 -P"$(port "$1")" -uroot -N -B -e "$2"; }
work=$(mktemp -d /tmp/tl-rate-XXXXXX)
trap 'rm -rf "$work"; my "$TL_MYSQL_SRC_URL" "DROP DATABASE IF EXISTS tl_rate"; my "$TL_MYSQL_DST_URL" "DROP DATABASE IF EXISTS tl_rate"' EXIT
per=$((rows / 4))
for url in "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL"; do
  my "$url" "DROP DATABASE IF EXISTS tl_rate; CREATE DATABASE tl_rate;
    CREATE TABLE tl_rate.t1 (id INT PRIMARY KEY, v VARCHAR(40)); CREATE TABLE tl_rate.t2 LIKE tl_rate.t1;
    CREATE TABLE tl_rate.t3 LIKE tl_rate.t1; CREATE TABLE tl_rate.t4 LIKE tl_rate.t1;"
done
for t in t1 t2 t3 t4; do
  my "$TL_MYSQL_SRC_URL" "USE tl_rate; INSERT INTO tl_rate.$t SELECT seq, REPEAT('x', 40) FROM seq_1_to_$per"
done
cat > "$work/rate.ini" <<EOF
[extractor]
db_type=mysql
url=$TL_MYSQL_SRC_URL
batch_size=100
parallel_size=4
max_rps=$rps
[sinker]
db_type=mysql
url=$TL_MYSQL_DST_URL
max_rps=$((rps * 2))
[filter]
do_dbs=tl_rate
[pipeline]
checkpoint_interval_secs=1
[runtime]
log_dir=$work/logs
position_format=order_key
EOF
t0=$(date +%s.%N)
"$bin" run "$work/rate.ini" >/dev/null 2>&1
t1=$(date +%s.%N)
copied=$(my "$TL_MYSQL_DST_URL" "SELECT (SELECT COUNT(*) FROM tl_rate.t1)+(SELECT COUNT(*) FROM tl_rate.t2)+(SELECT COUNT(*) FROM tl_rate.t3)+(SELECT COUNT(*) FROM tl_rate.t4)")
/usr/bin/python3 - "$work/logs/position.log" "$t0" "$t1" "$rows" "$copied" "$rps" <<'PY'
import json, sys, datetime
path, t0, t1, rows, copied, rps = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
last, points = {}, []
for line in open(path):
    ts, kind, js = line.split(" | ", 2)
    p = json.loads(js)
    last[p["tb"]] = int(p["order_key"]["single"][1])
    t = datetime.datetime.strptime(ts, "%Y-%m-%d %H:%M:%S.%f").timestamp()
    # from the moment every table has a checkpoint: earlier sums miss the rows of the
    # tables not yet recorded (one record per table per second)
    if len(last) == 4:
        points.append((t, sum(last.values())))
(ta, ra), (tb, rb) = points[0], points[-1]
steady = (rb - ra) / (tb - ta)
whole = copied / (t1 - t0)
print(f"limit {rps} rows/s; {copied} of {rows} rows copied in {t1 - t0:.2f} s: {whole:.0f} rows/s overall")
print(f"steady rate between the first and last checkpoint ({tb - ta:.2f} s, {rb - ra} rows, {len(points)} checkpoints): "
      f"{steady:.1f} rows/s = {100 * steady / rps:.1f} % of the limit")
sys.exit(0 if copied == rows and abs(steady - rps) <= 0.1 * rps else 1)
PY
