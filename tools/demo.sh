#!/usr/bin/env bash
# demo.sh - the README's demo: installs what is needed, builds tideline, starts two
# throwaway MariaDB servers, creates a `shop` database (1,000,000 orders, customers and a
# keyless events table), starts a copy, kills it with SIGKILL mid-way, shows `plan` and
# `status`, runs again (it resumes at the breakpoint), checks target = source and runs `verify`.
# Finally it round-trips the sample logs in docs/samples through import/status/export.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
tl=$root/build/tideline

work=$(mktemp -d /tmp/tideline-demo-XXXXXX)
chmod 755 "$work"
cleanup() { bash "$root/tools/servers.sh" stop "$work/servers" >/dev/null 2>&1 || true; }
trap cleanup EXIT
TL_PORT_BASE=${TL_PORT_BASE:-23400} bash tools/servers.sh start "$work/servers" mysql >/dev/null
source "$work/servers/env.sh"
port_of() { echo "$1" | sed 's#.*:\([0-9]*\)$#\1#'; }
SRC=(mariadb --protocol=TCP -h 127.0.0.1 -P "$(port_of "$TL_MYSQL_SRC_URL")" -uroot)
DST=(mariadb --protocol=TCP -h 127.0.0.1 -P "$(port_of "$TL_MYSQL_DST_URL")" -uroot)

echo "== creating source database shop (1,000,000 orders)"
schema="CREATE DATABASE shop;
CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, email VARCHAR(128) UNIQUE);
CREATE TABLE shop.orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(12,2), note TEXT,
  created_at DATETIME(6), payload BLOB);
CREATE TABLE shop.events (kind VARCHAR(16), at TIMESTAMP(3) NULL, detail JSON);"
"${SRC[@]}" -e "$schema"
"${DST[@]}" -e "$schema"
# MariaDB's Sequence engine (seq_1_to_N) generates the rows on the server.
"${SRC[@]}" shop -e "
INSERT INTO customers SELECT seq, CONCAT('customer ', seq), CONCAT('c', seq, '@example.com') FROM seq_1_to_10000;
INSERT INTO orders SELECT seq, 1 + seq % 10000, seq * 1.25, REPEAT('x', seq % 50),
  TIMESTAMPADD(SECOND, seq, '2024-01-01'), UNHEX(MD5(seq)) FROM seq_1_to_1000000;
INSERT INTO events SELECT ELT(1 + seq % 3, 'view', 'cart', 'buy'), TIMESTAMPADD(SECOND, seq, '2024-01-01'),
  JSON_OBJECT('n', seq) FROM seq_1_to_5000;"

cat > "$work/task.ini" <<INI
[global]
task_id=shop_copy
[extractor]
db_type=mysql
extract_type=snapshot
url=$TL_MYSQL_SRC_URL
batch_size=1000
[sinker]
db_type=mysql
sink_type=write
url=$TL_MYSQL_DST_URL
batch_size=200
[filter]
do_dbs=shop
[pipeline]
checkpoint_interval_secs=1
[runtime]
log_level=info
log_dir=$work/logs
[resumer]
resume_type=from_log
INI

echo "== run 1: copying, then SIGKILL right after the first checkpoint of shop.orders"
( cd "$work" && exec "$tl" run task.ini ) &
pid=$!
for _ in $(seq 1 600); do
  # wait for the first checkpoint of the big table, then kill without warning
  grep -q '"tb":"orders"' "$work/logs/position.log" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
echo "-- target rows after the kill: $("${DST[@]}" -N -e 'SELECT (SELECT COUNT(*) FROM shop.orders)+(SELECT COUNT(*) FROM shop.customers)+(SELECT COUNT(*) FROM shop.events)')"
echo "-- last lines of position.log:"; tail -n 2 "$work/logs/position.log" || true

echo "== tideline plan (what the next run will do)"
"$tl" plan "$work/task.ini"
echo "== tideline status"
"$tl" status "$work/task.ini" || true
echo "== SQL on the store: sqlite3 $work/logs/checkpoint.db 'select * from progress'"
sqlite3 -header -column "$work/logs/checkpoint.db" 'select schema, tb, state, rows_copied, last_key from progress' || true

echo "== run 2: resumes at the breakpoint"
( cd "$work" && "$tl" run task.ini )
grep -h "resumer, " "$work/logs/default.log" | tail -n 5

echo "== checking target = source"
for t in customers orders events; do
  s=$("${SRC[@]}" -N -e "CHECKSUM TABLE shop.$t" | awk '{print $2}')
  d=$("${DST[@]}" -N -e "CHECKSUM TABLE shop.$t" | awk '{print $2}')
  sc=$("${SRC[@]}" -N -e "SELECT COUNT(*) FROM shop.$t"); dc=$("${DST[@]}" -N -e "SELECT COUNT(*) FROM shop.$t")
  echo "  shop.$t: source $sc rows, target $dc rows, checksum $( [ "$s" = "$d" ] && echo equal || echo DIFFERENT)"
  [ "$s" = "$d" ] && [ "$sc" = "$dc" ] || { echo "demo: target differs from source"; exit 1; }
done

echo "== tideline verify (row counts and server-side checksums, per table)"
"$tl" verify "$work/task.ini"

echo "== import / status / export round trip on docs/samples"
"$tl" import --store "$work/samples.db" --task-id demo docs/samples/resume.config docs/samples/position.log docs/samples/finished.log
"$tl" status --store "$work/samples.db" --task-id demo
"$tl" export --store "$work/samples.db" --task-id demo --dir "$work/export"
head -n 3 "$work/export/position.log" "$work/export/finished.log"
echo "demo finished: work files in $work"
