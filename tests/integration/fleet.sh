#!/usr/bin/env bash
# fleet.sh - several `tideline run --worker NAME` processes on one task through the shared
# PostgreSQL store (#17, docs/fleet.md), against the real test servers:
#   1. PostgreSQL to PostgreSQL, three workers with two threads each: a big keyed table cut
#      into chunks, a composite-key table, a keyless and a nullable-key table copied whole;
#      every table equal (count and content digest), every work item claimed once, and the
#      rows the workers wrote add up to the source's (no chunk copied twice); `status`
#      shows the workers and the task's total (text and --json); a run without --worker is
#      refused while a worker is alive, a worker while such a run holds the task, and a
#      check task is refused with --worker;
#   2. the store's server drops the workers' store sessions several times during a copy
#      (pg_terminate_backend): the workers reconnect and finish, target equal;
#   4. the store's server (a private PostgreSQL on port base+65) restarts during a copy;
#   3. MariaDB to MariaDB, two workers, chunks and a keyless table;
#   5. a routed table (db_map, col_map, ignore_cols) in chunks: target names, default kept;
#   6. a whole database into an empty target (#17 item 4): schema, tables, keys, an index, a
#      foreign key, serial and identity values created by three workers, each step a work
#      item claimed and run once; a worker started after the end finds it done; then a
#      worker dies right after a step (its claim taken over, the step run again) and
#      another is killed mid-copy: the last one finishes, target equal with every definition.
#   7. MongoDB to MongoDB (the Mongo test server; FerretDB too when it runs): collections are
#      work items copied whole (never chunks), three workers, every collection equal (count,
#      _ids, document hash), each item and step claimed once; then a worker is killed while it
#      copies the big collection: the other one takes it over after the lease, removes what
#      was written past the last position and resumes it; every collection equal again.
# Leases are short (3 s) to keep the test quick.
# shellcheck disable=SC2034  # out, got, ...: read by the tl_sh_check expressions (eval)
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
tl_sh_setup fleet TL_PG_SRC_URL TL_PG_DST_URL; work=$TL_SH_TMPDIR
S() { psql -X -q -v ON_ERROR_STOP=1 "$TL_PG_SRC_URL" "$@"; }
D() { psql -X -q -v ON_ERROR_STOP=1 "$TL_PG_DST_URL" "$@"; }
rows=${TL_FLEET_ROWS:-60000}
# the store: a schema of its own on the source server
sschema=tl_fleet_store_$$
STORE="$TL_PG_SRC_URL?schema=$sschema"
ST() { psql -X -q -tA -v ON_ERROR_STOP=1 "$TL_PG_SRC_URL" -c "SET search_path TO $sschema; $1"; }
tl_sh_on_exit "S -c 'DROP SCHEMA IF EXISTS $sschema CASCADE' >/dev/null 2>&1"
pids=()
tl_sh_on_exit 'for p in "${pids[@]}"; do kill -9 $p 2>/dev/null; done'

ddl='DROP SCHEMA IF EXISTS tl_fleet CASCADE; CREATE SCHEMA tl_fleet;
CREATE TABLE tl_fleet.big (id bigint PRIMARY KEY, v text, n numeric);
CREATE TABLE tl_fleet.comp (a int, b int, v text, PRIMARY KEY (a, b));
CREATE TABLE tl_fleet.nokey (x int, v text);
CREATE TABLE tl_fleet.nuk (u int UNIQUE, v text);'
S -c "$ddl" && D -c "$ddl" || { echo "FAIL: ddl"; exit 1; }
S -c "INSERT INTO tl_fleet.big SELECT g, md5(g::text), g / 7.0 FROM generate_series(1, $rows) g;
INSERT INTO tl_fleet.comp SELECT g / 10, g % 10, md5(g::text) FROM generate_series(1, $((rows / 4))) g;
INSERT INTO tl_fleet.nokey SELECT CASE WHEN g % 13 = 0 THEN NULL ELSE g % 997 END, md5(g::text) FROM generate_series(1, $((rows / 4))) g;
INSERT INTO tl_fleet.nuk SELECT CASE WHEN g % 11 = 0 THEN NULL ELSE g END, md5(g::text) FROM generate_series(1, $((rows / 4))) g;
ANALYZE;"
digest() { echo "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM tl_fleet.$1 t"; }
same() { [ "$(S -tA -c "$(digest "$1")")" = "$(D -tA -c "$(digest "$1")")" ]; }
all_same() { same big && same comp && same nokey && same nuk; }
empty_target() { D -c 'TRUNCATE tl_fleet.big, tl_fleet.comp, tl_fleet.nokey, tl_fleet.nuk'; }

task() { # name [SECTION.KEY=VALUE...]
  tl_sh_task "$work/$1.ini" pg "$TL_PG_SRC_URL" "$TL_PG_DST_URL" global.task_id="$1" \
    'filter.do_tbs=tl_fleet.*' extractor.batch_size=1000 pipeline.checkpoint_interval_secs=1 \
    runtime.log_dir="$work/logs-$1" resumer.store="$STORE" resumer.lease_secs=3 "${@:2}"
}
# start_workers TASK N: N workers w1..wN in the background (pids in wpids)
start_workers() {
  local i
  wpids=()
  for i in $(seq 1 "$2"); do
    "$TL_BIN" run "$work/$1.ini" --worker "w$i" > "$work/$1-w$i.out" 2>&1 &
    wpids+=($!); pids+=($!)
  done
}
wait_workers() { # TASK: all exit 0 (else their errors are shown)
  local p rc=0
  for p in "${wpids[@]}"; do wait "$p" || rc=1; done
  [ $rc = 0 ] || { grep -h ' - ERROR - ' "$work"/logs-"$1"/w*/default.log | tail -5; tail -n 3 "$work/$1"-w*.out; }
  return $rc
}
# rows the workers of TASK wrote, from their summaries
rows_written() { cat "$work"/logs-"$1"/w*/default.log | sed -n "s/.*worker 'w[0-9]*' total: \([0-9]*\) rows.*/\1/p" | paste -sd+ | bc; }
src_rows() { S -tA -c "SELECT (SELECT count(*) FROM tl_fleet.big) + (SELECT count(*) FROM tl_fleet.comp) + (SELECT count(*) FROM tl_fleet.nokey) + (SELECT count(*) FROM tl_fleet.nuk)"; }

# 1. three workers, two threads each, chunks of 5000 rows
task f1 extractor.parallel_type=chunk extractor.parallel_size=2 resumer.chunk_rows=5000
start_workers f1 3
tl_sh_check "three workers succeed" "wait_workers f1"
tl_sh_check "every table equal (count and digest)" "all_same"
got=$(ST "SELECT kind, count(*), sum(attempts), count(*) FILTER (WHERE state = 'done') FROM work_item WHERE task_id = 'f1' GROUP BY kind ORDER BY kind")
echo "$got"
tl_sh_check "the big table was cut into chunks" "echo \"\$got\" | grep -Eq '^chunk\|([2-9][0-9]|1[2-9])\|'"
tl_sh_check "every item claimed once and done" "echo \"\$got\" | awk -F'|' '{ if (\$2 != \$3 || \$2 != \$4) bad = 1 } END { exit bad }'"
tl_sh_check "the workers wrote each source row once ($(rows_written f1) of $(src_rows))" "[ \"\$(rows_written f1)\" = \"\$(src_rows)\" ]"
tl_sh_check "more than one worker copied" "[ \$(grep -l 'claimed chunk' \"\$work\"/logs-f1/w*/default.log | wc -l) -ge 2 ]"
tl_sh_check "each worker keeps its own ape-dts logs" "[ -s '$work/logs-f1/w1/position.log' ] && [ -f '$work/logs-f1/w2/finished.log' ]"
tl_sh_check "finished records name the worker" "[ \"\$(ST \"SELECT count(*) FROM finished WHERE task_id = 'f1' AND source LIKE 'worker w%'\")\" = 4 ]"
out=$("$TL_BIN" status "$work/f1.ini" 2>&1)
echo "$out" | tail -8
tl_sh_check "status lists the three workers" "[ \$(echo \"\$out\" | grep -Ec '^w[123] ') -eq 3 ]"
tl_sh_check "status totals the task" "echo \"\$out\" | grep -q 'total: 4 tables, 4 finished'"
out=$("$TL_BIN" status --json "$work/f1.ini" 2>&1)
tl_sh_check "status --json has the workers" "echo \"\$out\" | python3 -c 'import json,sys; d=json.load(sys.stdin); t=d[\"tasks\"][0]; assert len(t[\"workers\"]) == 3 and t[\"total\"][\"finished\"] == 4'"

# the task lock: a run without --worker is refused while a worker lives, and the reverse
empty_target
task f2 extractor.parallel_type=chunk resumer.chunk_rows=2000
start_workers f2 1
for _ in $(seq 1 100); do grep -q 'joined the fleet' "$work/logs-f2/w1/default.log" 2>/dev/null && break; sleep 0.1; done
out=$("$TL_BIN" run "$work/f2.ini" 2>&1); rc=$?
tl_sh_check "a run without --worker is refused while a worker runs (rc $rc)" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'fleet of 1 worker'"
tl_sh_check "the worker finishes" "wait_workers f2"
out=$("$TL_BIN" run "$work/f2.ini" --worker w9 --recopy-lost 2>&1); rc=$?
tl_sh_check "--recopy-lost is refused with --worker (rc $rc)" "[ $rc -eq 2 ] && echo \"\$out\" | grep -q 'recopy-lost goes without --worker'"
task fchk sinker.sink_type=check
out=$("$TL_BIN" run "$work/fchk.ini" --worker w1 2>&1); rc=$?
tl_sh_check "a check task is refused with --worker (rc $rc)" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'is not shared by a fleet: --worker does not apply'"
tl_sh_check "target equal" "all_same"

# 6. a whole database (#17 item 4): the target has nothing; the fleet creates the schema,
#    the tables, then loads them, builds keys and the index, then the foreign key, then the
#    sequence values. Each definition step is a work item run once, by one worker.
ddlw='DROP SCHEMA IF EXISTS tl_fleetd CASCADE; CREATE SCHEMA tl_fleetd;
CREATE TABLE tl_fleetd.parent (id serial PRIMARY KEY, name text UNIQUE NOT NULL);
CREATE TABLE tl_fleetd.child (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  parent_id int NOT NULL REFERENCES tl_fleetd.parent (id), v text);
CREATE INDEX child_v_idx ON tl_fleetd.child (v);'
S -c "$ddlw" >/dev/null && S -c "INSERT INTO tl_fleetd.parent (name) SELECT 'p' || g FROM generate_series(1, 500) g;
INSERT INTO tl_fleetd.child (parent_id, v) SELECT 1 + g % 500, md5(g::text) FROM generate_series(1, $((rows / 2))) g; ANALYZE;" >/dev/null
wdig() { echo "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM tl_fleetd.$1 t"; }
wsame() { [ "$(S -tA -c "$(wdig "$1")")" = "$(D -tA -c "$(wdig "$1")")" ]; }
seqs="SELECT last_value FROM tl_fleetd.parent_id_seq UNION ALL SELECT last_value FROM tl_fleetd.child_id_seq"
wdefs() { # the target has the keys, the index, the foreign key, and the source's sequence values
  [ "$(D -tA -c "SELECT string_agg(contype::text, '' ORDER BY contype) FROM pg_constraint WHERE connamespace = 'tl_fleetd'::regnamespace")" = fppu ] &&
  [ "$(D -tA -c "SELECT to_regclass('tl_fleetd.child_v_idx') IS NOT NULL")" = t ] &&
  [ "$(S -tA -c "$seqs")" = "$(D -tA -c "$seqs")" ]
}
wtask() { # name [SECTION.KEY=VALUE...]
  tl_sh_task "$work/$1.ini" pg "$TL_PG_SRC_URL" "$TL_PG_DST_URL" global.task_id="$1" 'filter.do_tbs=tl_fleetd.*' \
    extractor.batch_size=1000 extractor.parallel_type=chunk extractor.parallel_size=2 resumer.chunk_rows=5000 \
    pipeline.checkpoint_interval_secs=1 runtime.log_dir="$work/logs-$1" resumer.store="$STORE" resumer.lease_secs=3 "${@:2}"
}
# the step keys each worker claimed (one line each), and the steps the store has done once
claimed_steps() { sed -n "s/.*worker 'w[0-9]*': schema step '\(.*\)' \(claimed\|taken over\).*/\1/p" "$work"/logs-"$1"/w*/default.log; }
step_items() { ST "SELECT count(*) || '|' || sum(attempts) || '|' || count(*) FILTER (WHERE state = 'done') FROM work_item WHERE task_id = '$1' AND kind = 'step'"; }
D -c 'DROP SCHEMA IF EXISTS tl_fleetd CASCADE' >/dev/null 2>&1
tl_sh_on_exit "S -c 'DROP SCHEMA IF EXISTS tl_fleetd CASCADE' >/dev/null 2>&1; D -c 'DROP SCHEMA IF EXISTS tl_fleetd CASCADE' >/dev/null 2>&1"
wtask fd1
t0=$(date +%s.%N)
start_workers fd1 3
tl_sh_check "whole database: three workers succeed" "wait_workers fd1"
echo "whole database, three workers: $(echo "$(date +%s.%N) - $t0" | bc) s"
tl_sh_check "whole database: tables equal (count and digest)" "wsame parent && wsame child"
tl_sh_check "whole database: keys, index, foreign key and sequence values on the target" "wdefs"
got=$(step_items fd1); n=${got%%|*}
echo "step items (count|claims|done): $got; claims logged: $(claimed_steps fd1 | wc -l), by $(grep -l "schema step '.*' claimed" "$work"/logs-fd1/w*/default.log | wc -l) worker(s)"
tl_sh_check "whole database: every step an item, claimed once and done ($got)" "[ \"$n\" -ge 7 ] && [ \"$got\" = \"$n|$n|$n\" ]"
tl_sh_check "whole database: each step run by one worker, once" "[ \"\$(claimed_steps fd1 | sort | uniq -d)\" = '' ] && [ \"\$(claimed_steps fd1 | wc -l)\" = $n ]"
created=$(sed -n 's/.*definitions: \([0-9]*\) created, \([0-9]*\) set.*/\1+\2/p' "$work"/logs-fd1/w*/default.log | paste -sd+ | bc)
tl_sh_check "whole database: the workers' summaries add up to one apply per step ($created of $n)" "[ \"$created\" = $n ]"
tl_sh_check "whole database: the tables it created were copied whole (no chunks)" "[ \"\$(ST \"SELECT count(*) FROM work_item WHERE task_id = 'fd1' AND kind = 'chunk'\")\" = 0 ]"
tl_sh_check "whole database: every step recorded done" "[ \"\$(ST \"SELECT count(*) FROM schema_step WHERE task_id = 'fd1' AND state <> 'done'\")\" = 0 ]"
out=$("$TL_BIN" status "$work/fd1.ini" 2>&1)
tl_sh_check "whole database: status shows the steps done" "echo \"\$out\" | grep -q 'definitions: [0-9]* of [0-9]* steps done; left: 0 before the rows, 0 keys and indexes, 0 post-data'"
start_workers fd1 1
tl_sh_check "whole database: a worker started after the end finds it done" "wait_workers fd1 && grep -q 'definitions: 0 created, 0 set' '$work/logs-fd1/w1/default.log' && [ \"\$(step_items fd1)\" = '$got' ]"

# the same with deaths: w1 alone dies right after its second step (holding its claim, the
# step not recorded); w2 and w3 wait for the claim to expire and one runs the step again;
# then the worker copying a table is killed mid-copy and the last one finishes the task
D -c 'DROP SCHEMA IF EXISTS tl_fleetd CASCADE' >/dev/null 2>&1
wtask fd2 extractor.max_rps=10000
TL_DEBUG_CRASH=schema_after_apply:2 "$TL_BIN" run "$work/fd2.ini" --worker w1 > "$work/fd2-w1.out" 2>&1 &
p1=$!; pids+=($p1)
wait $p1; rc1=$?
tl_sh_check "deaths: w1 died after its second step (exit $rc1)" "[ $rc1 = 137 ]"
t0=$(date +%s.%N)
for w in w2 w3; do
  "$TL_BIN" run "$work/fd2.ini" --worker $w > "$work/fd2-$w.out" 2>&1 &
  pids+=($!); eval "p_$w=\$!"
done
victim=
for _ in $(seq 1 400); do
  victim=$(ST "SELECT owner FROM work_item WHERE task_id = 'fd2' AND kind = 'table' AND tb = 'child' AND state = 'claimed'")
  [ -n "$victim" ] && break
  sleep 0.05
done
sleep 1 # 30,000 rows at 10,000 rows/s: a third of them are in
echo "killing $victim mid-copy"
[ "$victim" = w2 ] && { kill -9 "$p_w2"; survivor=w3; ps=$p_w3; } || { kill -9 "$p_w3"; survivor=w2; ps=$p_w2; }
wait "$ps"; rc=$?
echo "deaths: the survivor finished in $(echo "$(date +%s.%N) - $t0" | bc) s"
tl_sh_check "deaths: $survivor finishes the task (rc $rc)" "[ $rc = 0 ]"
tl_sh_check "deaths: tables equal (count and digest)" "wsame parent && wsame child"
tl_sh_check "deaths: keys, index, foreign key and sequence values on the target" "wdefs"
got=$(step_items fd2); n=${got%%|*}
echo "deaths: step items (count|claims|done): $got"
tl_sh_check "deaths: w1's step was taken over and run again, every step done" "grep -hq \"schema step '.*' taken over from worker 'w1'\" \"\$work\"/logs-fd2/w[23]/default.log && [ \"\${got##*|}\" = $n ]"
tl_sh_check "deaths: a table was taken over from the killed worker" "grep -hq \"claimed table '.*', taken over from worker '$victim'\" '$work/logs-fd2/$survivor/default.log'"
tl_sh_check "deaths: every step recorded done" "[ \"\$(ST \"SELECT count(*) FROM schema_step WHERE task_id = 'fd2' AND state <> 'done'\")\" = 0 ]"
D -c 'DROP SCHEMA IF EXISTS tl_fleetd CASCADE' >/dev/null 2>&1

# 2. the store's server drops the workers' sessions during the copy
empty_target
task f3 extractor.parallel_type=chunk extractor.parallel_size=2 resumer.chunk_rows=3000 extractor.batch_size=500
start_workers f3 2
# a blip every 0.3 s while the workers run (at least the first ones hit them mid-copy)
blips=0
while kill -0 "${wpids[0]}" 2>/dev/null || kill -0 "${wpids[1]}" 2>/dev/null; do
  sleep 0.3
  n=$(S -tA -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'tideline store' AND pid <> pg_backend_pid()")
  blips=$((blips + n))
done
echo "store sessions ended: $blips"
tl_sh_check "the workers survive store blips" "wait_workers f3"
tl_sh_check "target equal after the blips" "all_same"
tl_sh_check "the blips were met ($blips sessions ended; a transient store failure logged)" "[ $blips -gt 0 ] && grep -hq 'trying again' \"\$work\"/logs-f3/w*/default.log"

# 4. the store's server itself restarts during the copy (a private PostgreSQL holds the store)
empty_target
base=$(( $(tl_sh_port "$TL_PG_SRC_URL") - 10 ))
sport=$((base + 65)) # base+60 is pg_durable.sh's (docs/testing.md lists the offsets)
tl_sh_tmpdir fleetstore; sdir=$TL_SH_TMPDIR
tl_sh_on_exit "'$TL_SRC/tools/servers/postgres.sh' stop '$sdir' >/dev/null 2>&1"
if "$TL_SRC/tools/servers/postgres.sh" start "$sdir" $sport >"$work/storesrv.log" 2>&1; then
  task f4 extractor.parallel_type=chunk extractor.parallel_size=2 resumer.chunk_rows=3000 extractor.batch_size=300 \
    resumer.store="postgres://postgres:@127.0.0.1:$sport/postgres"
  start_workers f4 2
  for _ in $(seq 1 100); do grep -q 'claimed chunk' "$work"/logs-f4/w*/default.log 2>/dev/null && break; sleep 0.05; done
  "$TL_SRC/tools/servers/postgres.sh" stop "$sdir" >/dev/null 2>&1
  sleep 1
  "$TL_SRC/tools/servers/postgres.sh" start "$sdir" $sport >>"$work/storesrv.log" 2>&1
  tl_sh_check "the workers survive a restart of the store's server" "wait_workers f4"
  tl_sh_check "target equal after the restart" "all_same"
  tl_sh_check "the restart was met (a transient store failure logged)" "grep -hq 'trying again' \"\$work\"/logs-f4/w*/default.log"
  # the same for a run without --worker
  empty_target
  task f5 extractor.parallel_size=2 extractor.batch_size=300 resumer.store="postgres://postgres:@127.0.0.1:$sport/postgres"
  "$TL_BIN" run "$work/f5.ini" > "$work/f5.out" 2>&1 &
  p5=$!; pids+=($p5)
  for _ in $(seq 1 100); do grep -q 'starting' "$work/logs-f5/default.log" 2>/dev/null && break; sleep 0.05; done
  "$TL_SRC/tools/servers/postgres.sh" stop "$sdir" >/dev/null 2>&1
  sleep 1
  "$TL_SRC/tools/servers/postgres.sh" start "$sdir" $sport >>"$work/storesrv.log" 2>&1
  wait $p5; rc=$?
  tl_sh_check "a run without --worker survives the restart too (rc $rc)" "[ $rc -eq 0 ] && all_same && grep -q 'trying again' '$work/logs-f5/default.log'"
else
  tl_sh_check "a private PostgreSQL for the store starts on port $sport" "false"
  cat "$work/storesrv.log"
fi

# 5. a routed table ([router] db_map and col_map, [filter] ignore_cols, #13): chunks read
#    without the ignored column and written to the target's names by two workers
empty_target
D -c 'DROP SCHEMA IF EXISTS tl_fleet_r CASCADE; CREATE SCHEMA tl_fleet_r;
CREATE TABLE tl_fleet_r.big (id bigint PRIMARY KEY, vv text, n numeric DEFAULT 7)' >/dev/null
tl_sh_task "$work/f6.ini" pg "$TL_PG_SRC_URL" "$TL_PG_DST_URL" global.task_id=f6 filter.do_tbs=tl_fleet.big \
  'filter.ignore_cols=json:[{"db":"tl_fleet","tb":"big","ignore_cols":["n"]}]' router.db_map=tl_fleet:tl_fleet_r \
  'router.col_map=json:[{"db":"tl_fleet","tb":"big","col_map":{"v":"vv"}}]' extractor.parallel_type=chunk \
  extractor.parallel_size=2 extractor.batch_size=1000 resumer.chunk_rows=5000 runtime.log_dir="$work/logs-f6" \
  resumer.store="$STORE" resumer.lease_secs=3
start_workers f6 2
tl_sh_check "routed: two workers succeed" "wait_workers f6"
rdig() { echo "SELECT count(*), md5(string_agg(id || ',' || $1, '|' ORDER BY id)) FROM $2"; }
tl_sh_check "routed: every row under the target's names" "[ \"\$(S -tA -c \"\$(rdig v tl_fleet.big)\")\" = \"\$(D -tA -c \"\$(rdig vv tl_fleet_r.big)\")\" ]"
tl_sh_check "routed: the ignored column keeps its default" "[ \"\$(D -tA -c 'SELECT count(*) FROM tl_fleet_r.big WHERE n = 7')\" = $rows ]"
tl_sh_check "routed: nothing under the source's name, chunks claimed" "[ \"\$(D -tA -c 'SELECT count(*) FROM tl_fleet.big')\" = 0 ] && [ \"\$(ST \"SELECT count(*) FROM work_item WHERE task_id = 'f6' AND kind = 'chunk' AND state = 'done'\")\" -ge 12 ]"
D -c 'DROP SCHEMA tl_fleet_r CASCADE' >/dev/null

# 3. MariaDB to MariaDB
if tl_sh_have_env TL_MYSQL_SRC_URL TL_MYSQL_DST_URL; then
  M=(tl_sh_mysql "$TL_MYSQL_SRC_URL"); N=(tl_sh_mysql "$TL_MYSQL_DST_URL")
  db=tl_fleet_it
  tl_sh_mysql_db $db "CREATE TABLE $db.a (id INT PRIMARY KEY, v VARCHAR(40)); CREATE TABLE $db.k (x INT, v VARCHAR(40));" \
    "INSERT INTO $db.a SELECT seq, MD5(seq) FROM seq_1_to_$((rows / 2)); INSERT INTO $db.k SELECT IF(seq MOD 13 = 0, NULL, seq MOD 997), MD5(seq) FROM seq_1_to_$((rows / 6));"
  mdig() { echo "SET SESSION group_concat_max_len = 100000000; SELECT COUNT(*), MD5(GROUP_CONCAT(CONCAT_WS(',', $2, v) ORDER BY $2, v SEPARATOR ';')) FROM $db.$1"; }
  msame() { [ "$("${M[@]}" -e "$(mdig "$1" "$2")")" = "$("${N[@]}" -e "$(mdig "$1" "$2")")" ]; }
  tl_sh_task "$work/m1.ini" mysql "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" global.task_id=m1 filter.do_dbs=$db \
    extractor.parallel_type=chunk extractor.parallel_size=2 extractor.batch_size=1000 runtime.log_dir="$work/logs-m1" \
    resumer.store="$STORE" resumer.lease_secs=3 resumer.chunk_rows=4000
  start_workers m1 2
  tl_sh_check "mysql: two workers succeed" "wait_workers m1"
  tl_sh_check "mysql: keyed table equal" "msame a id"
  tl_sh_check "mysql: keyless table equal" "msame k 'IFNULL(x, -1)'"
  "${M[@]}" -e "DROP DATABASE $db"; "${N[@]}" -e "DROP DATABASE $db"
  # a whole database into an empty MariaDB server: two workers create it
  wd=tl_fleet_wd
  "${M[@]}" -e "DROP DATABASE IF EXISTS $wd; CREATE DATABASE $wd;
    CREATE TABLE $wd.parent (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL UNIQUE);
    CREATE TABLE $wd.child (id INT AUTO_INCREMENT PRIMARY KEY, parent_id INT NOT NULL, v VARCHAR(40), KEY (v),
      FOREIGN KEY (parent_id) REFERENCES $wd.parent (id));
    INSERT INTO $wd.parent (name) SELECT CONCAT('p', seq) FROM seq_1_to_300;
    INSERT INTO $wd.child (parent_id, v) SELECT 1 + seq MOD 300, MD5(seq) FROM seq_1_to_$((rows / 4));"
  "${N[@]}" -e "DROP DATABASE IF EXISTS $wd"
  tl_sh_task "$work/m2.ini" mysql "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" global.task_id=m2 filter.do_dbs=$wd \
    extractor.parallel_size=2 extractor.batch_size=1000 runtime.log_dir="$work/logs-m2" \
    resumer.store="$STORE" resumer.lease_secs=3
  start_workers m2 2
  tl_sh_check "mysql whole database: two workers succeed" "wait_workers m2"
  wdef="SELECT GROUP_CONCAT(CONCAT(table_name, ':', auto_increment) ORDER BY table_name) FROM information_schema.tables WHERE table_schema = '$wd'
    UNION ALL SELECT COUNT(*) FROM information_schema.referential_constraints WHERE constraint_schema = '$wd'
    UNION ALL SELECT GROUP_CONCAT(DISTINCT CONCAT(table_name, '.', index_name) ORDER BY table_name, index_name) FROM information_schema.statistics WHERE table_schema = '$wd'"
  wdigm() { echo "SET SESSION group_concat_max_len = 100000000; SELECT COUNT(*), MD5(GROUP_CONCAT(CONCAT_WS(',', $2) ORDER BY id SEPARATOR ';')) FROM $wd.$1"; }
  wsamem() { [ "$("${M[@]}" -e "$(wdigm "$1" "$2")")" = "$("${N[@]}" -e "$(wdigm "$1" "$2")")" ]; }
  tl_sh_check "mysql whole database: rows equal (count and digest)" "wsamem parent 'id, name' && wsamem child 'id, parent_id, v'"
  tl_sh_check "mysql whole database: keys, foreign key, AUTO_INCREMENT as the source's" "[ \"\$(\"\${M[@]}\" -e \"\$wdef\")\" = \"\$(\"\${N[@]}\" -e \"\$wdef\")\" ]"
  got=$(step_items m2); n=${got%%|*}
  tl_sh_check "mysql whole database: each step claimed once and done ($got)" "[ \"$n\" -ge 5 ] && [ \"$got\" = \"$n|$n|$n\" ] && [ \"\$(claimed_steps m2 | sort | uniq -d)\" = '' ]"
  "${M[@]}" -e "DROP DATABASE $wd"; "${N[@]}" -e "DROP DATABASE $wd"
fi

# 7. MongoDB to MongoDB (the Mongo test server, then FerretDB when it runs): collections are
#    never cut into chunks (the Mongo driver has no next_bound), so each is one work item
#    copied whole by one worker; three workers, every collection equal (count, sorted _ids
#    and a hash of the documents in _id order), each item claimed once; then the worker
#    copying the big collection is killed mid-copy and another one finishes it from its last
#    position after the lease: no document lost, none twice.
mongo_part() { # LABEL SRC_URL DST_URL DOCS KILL (1: the kill too)
  local label=$1 msrc=$2 mdst=$3 docs=$4 kill=$5 mdb=tl_fleet_mongo t rc victim survivor p_victim p_surv t_part
  t_part=$(date +%s.%N)
  # mpy data|data-target|digest: the data set on the source (the target emptied; with
  # data-target its collections made there, empty), or each collection's count, sorted-_id
  # hash and document hash on SRC and DST
  mpy() {
    /usr/bin/python3 - "$1" "$msrc" "$mdst" "$mdb" "$docs" <<'PY'
import sys, hashlib, bson
from pymongo import MongoClient
mode, src, dst, db, docs = sys.argv[1], MongoClient(sys.argv[2]), MongoClient(sys.argv[3]), sys.argv[4], int(sys.argv[5])
if mode.startswith("data"):
    src.drop_database(db); dst.drop_database(db)
    s = src[db]
    base = 0x648195af9aa9cadd41a90000
    big = [{"_id": bson.ObjectId("%024x" % (base + i)), "n": i, "name": "doc %d" % i,
            "tags": ["a", i % 7], "nested": {"x": i * 1.5}} for i in range(docs)]
    for i in range(0, len(big), 10000):
        s.big.insert_many(big[i:i + 10000], ordered=False)
    s.ints.insert_many([{"_id": i, "v": "int %d" % i} for i in range(docs // 10)])
    s.strs.insert_many([{"_id": "k%05d" % i, "v": [i, {"y": i}]} for i in range(docs // 10)])
    s.mixed.insert_many([{"_id": v, "i": i} for i, v in enumerate([1, 2.5, "a", {"k": 1}, bson.ObjectId(), True])])
    s.empty.insert_one({"_id": 0}); s.empty.delete_many({})
    if mode == "data-target":
        for name in s.list_collection_names():
            dst[db].create_collection(name)
    sys.exit(0)
for name in sorted(src[db].list_collection_names()):
    out = []
    for c in (src, dst):
        ids, h = hashlib.md5(), hashlib.md5()
        n = 0
        for d in c[db][name].find().sort("_id", 1):
            n += 1
            ids.update(bson.encode({"i": d["_id"]})); h.update(bson.encode(d))
        out.append("%s:%d:%s:%s" % (name, n, ids.hexdigest()[:12], h.hexdigest()[:12]))
    print(out[0] if out[0] == out[1] else "DIFF %s <> %s" % (out[0], out[1]))
PY
  }
  msame() { local o; o=$(mpy digest) && echo "$o" && ! echo "$o" | grep -q '^DIFF'; }
  mtask() { # name [SECTION.KEY=VALUE...]
    tl_sh_task "$work/$1.ini" mongo "$msrc" "$mdst" global.task_id="$1" filter.do_dbs=$mdb extractor.batch_size=1000 \
      extractor.parallel_size=2 pipeline.checkpoint_interval_secs=1 runtime.log_dir="$work/logs-$1" \
      resumer.store="$STORE" resumer.lease_secs=3 "${@:2}"
  }
  mpy data || { tl_sh_check "$label: the data set is made" false; return; }
  t=$(date +%s.%N)
  mtask "${label}1" extractor.max_rps="$docs" # the big collection takes a second: the others join
  start_workers "${label}1" 3
  tl_sh_check "$label: three workers succeed" "wait_workers ${label}1"
  echo "$label, three workers: $(echo "$(date +%s.%N) - $t" | bc) s"
  tl_sh_check "$label: every collection equal (count, _ids, documents)" "msame"
  got=$(ST "SELECT kind, count(*), sum(attempts), count(*) FILTER (WHERE state = 'done') FROM work_item WHERE task_id = '${label}1' GROUP BY kind ORDER BY kind" | paste -sd' ')
  echo "$label items (kind|count|claims|done): $got"
  tl_sh_check "$label: one table item per collection, each claimed once and done, no chunks" "echo '$got' | grep -q 'table|5|5|5' && ! echo '$got' | grep -q chunk"
  tl_sh_check "$label: each definition step (a collection made on the target) claimed once" "echo '$got' | grep -Eq '^step\|([0-9]+)\|\1\|\1 '"
  tl_sh_check "$label: the workers wrote each document once ($(rows_written "${label}1") of $((docs + docs / 5 + 6)))" \
    "[ \"\$(rows_written ${label}1)\" = $((docs + docs / 5 + 6)) ]"
  tl_sh_check "$label: more than one worker copied" "[ \$(grep -l \"claimed table\" \"\$work\"/logs-${label}1/w*/default.log | wc -l) -ge 2 ]"
  # a worker killed mid-copy: the big collection read in about three seconds
  if [ "$kill" = 1 ]; then
    mpy data-target >/dev/null # the collections exist on the target (empty): no definition step
    mtask "${label}2" extractor.max_rps=$((docs / 3))
    start_workers "${label}2" 2
    victim=
    for _ in $(seq 1 200); do
      victim=$(ST "SELECT owner FROM work_item WHERE task_id = '${label}2' AND kind = 'table' AND tb = 'big' AND state = 'claimed'")
      [ -n "$victim" ] && grep -q '"tb":"big"' "$work/logs-${label}2/$victim/position.log" 2>/dev/null && break
      sleep 0.05
    done
    [ "$victim" = w1 ] && { p_victim=${wpids[0]}; p_surv=${wpids[1]}; survivor=w2; } || { p_victim=${wpids[1]}; p_surv=${wpids[0]}; survivor=w1; }
    tl_sh_check "$label: a worker holds big with a position recorded (${victim:-none})" "[ -n '$victim' ]"
    echo "$label: killing $victim mid-copy"
    kill -9 "$p_victim"
    t=$(date +%s.%N)
    wait "$p_surv"; rc=$?
    echo "$label: the survivor finished $(echo "$(date +%s.%N) - $t" | bc) s after the kill"
    tl_sh_check "$label: $survivor finishes after the kill (rc $rc)" "[ $rc = 0 ]"
    tl_sh_check "$label: the big collection was taken over from $victim" "grep -q \"claimed table '$mdb.big', taken over from worker '$victim'\" '$work/logs-${label}2/$survivor/default.log'"
    tl_sh_check "$label: after the kill every collection equal (no document lost or twice)" "msame"
    tl_sh_check "$label: $survivor removed what $victim wrote past its last position, resumed with upserts" \
      "grep -q \"table $mdb.big: removing the target rows after\" '$work/logs-${label}2/$survivor/default.log' &&
       grep -q \"table $mdb.big: resuming, batch mode, upsert write\" '$work/logs-${label}2/$survivor/default.log'"
    got=$(ST "SELECT tb || ':' || attempts FROM work_item WHERE task_id = '${label}2' AND kind = 'table' AND state = 'done' ORDER BY tb" | paste -sd' ')
    echo "$label after the kill, claims per collection: $got"
    tl_sh_check "$label: every collection done, big claimed twice" "[ \$(echo '$got' | wc -w) = 5 ] && echo '$got' | grep -q 'big:2'"
    tl_sh_check "$label: the fleet took no target claim (no lease document in tideline.claims)" \
      "[ \"\$(/usr/bin/python3 -c 'import sys; from pymongo import MongoClient; print(MongoClient(sys.argv[1]).tideline.claims.count_documents({}))' '$mdst')\" = 0 ]"
  fi
  /usr/bin/python3 -c "import sys; from pymongo import MongoClient; [MongoClient(u).drop_database('$mdb') for u in sys.argv[1:]]" "$msrc" "$mdst"
  echo "$label part: $(echo "$(date +%s.%N) - $t_part" | bc) s"
}
if tl_sh_have_env TL_MONGO_SRC_URL TL_MONGO_DST_URL; then
  mongo_part mongo "$TL_MONGO_SRC_URL" "$TL_MONGO_DST_URL" 12000 1
fi
if tl_sh_have_env TL_FERRETDB_SRC_URL TL_FERRETDB_DST_URL; then
  mongo_part ferret "$TL_FERRETDB_SRC_URL" "$TL_FERRETDB_DST_URL" 6000 0
fi

S -c 'DROP SCHEMA tl_fleet CASCADE' >/dev/null; D -c 'DROP SCHEMA tl_fleet CASCADE' >/dev/null
tl_sh_result
