#!/usr/bin/env bash
# mysql_run.sh - end-to-end behaviour of `tideline run/plan/status` against real MariaDB
# servers: a copy and a no-op re-run, the task lock, bad input (unreachable server, wrong
# password, missing target table, a resume value that does not fit the column) giving one
# clear error with a non-zero exit and an unchanged store and logs, keyless tables that
# need a restart, and passwords never appearing in any output.
set -uo pipefail
: "${TL_BIN:?}" "${TL_SRC:?}"
if [ -z "${TL_MYSQL_SRC_URL:-}" ] || [ -z "${TL_MYSQL_DST_URL:-}" ]; then
  [ -n "${CI:-}" ] && { echo "FAIL: MySQL test servers not started under CI"; exit 1; }
  echo "skipped: TL_MYSQL_SRC_URL not set"; exit 77
fi
port() { echo "$1" | sed 's#.*:\([0-9]*\)$#\1#'; }
S=(mariadb --protocol=TCP -h127.0.0.1 -P"$(port "$TL_MYSQL_SRC_URL")" -uroot -N -B)
D=(mariadb --protocol=TCP -h127.0.0.1 -P"$(port "$TL_MYSQL_DST_URL")" -uroot -N -B)
work=$(mktemp -d /tmp/tl-run-XXXXXX); trap 'rm -rf "$work"; kill $sleeper 2>/dev/null' EXIT
fails=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails+1)); fi; }

db=tl_run_it
schema="DROP DATABASE IF EXISTS $db; CREATE DATABASE $db;
CREATE TABLE $db.a (id INT PRIMARY KEY, v VARCHAR(20));
CREATE TABLE $db.k (x INT, y VARCHAR(10));"
"${S[@]}" -e "$schema"; "${D[@]}" -e "$schema"
"${S[@]}" -D $db -e "INSERT INTO $db.a SELECT seq, CONCAT('v', seq) FROM seq_1_to_1000; INSERT INTO $db.k SELECT seq, 'k' FROM seq_1_to_50;"

task() { # name src_url dst_url [extra resumer lines]
  cat > "$work/$1.ini" <<INI
[global]
task_id=$1
[extractor]
db_type=mysql
url=$2
batch_size=100
[sinker]
db_type=mysql
url=$3
[filter]
do_dbs=$db
[pipeline]
checkpoint_interval_secs=1
[runtime]
log_dir=$work/logs-$1
[resumer]
resume_type=from_log
${4:-}
INI
}

# 1. a copy, then a re-run that skips every finished table
task t1 "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL"
out=$("$TL_BIN" run "$work/t1.ini" 2>&1); rc=$?
check "first run succeeds" "[ $rc -eq 0 ]"
check "target has 1000 + 50 rows" "[ \"\$(\"\${D[@]}\" -e 'select (select count(*) from $db.a)+(select count(*) from $db.k)')\" = 1050 ]"
out=$("$TL_BIN" run "$work/t1.ini" 2>&1); rc=$?
check "re-run succeeds" "[ $rc -eq 0 ]"
check "re-run skips finished tables" "grep -q 'check finished: schema: $db, tb: a, result: true' '$work/logs-t1/default.log'"
check "no duplicates after re-run" "[ \"\$(\"\${D[@]}\" -e 'select count(*) from $db.k')\" = 50 ]"
check "plan says skip" "\"$TL_BIN\" plan '$work/t1.ini' | grep -q '^skip   $db.a'"
check "status lists the tables" "\"$TL_BIN\" status '$work/t1.ini' 2>&1 | grep -q 'k'"

# 2. keyless target holding rows this task did not write: plan says restart needed, run refuses
task t2 "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL"
out=$("$TL_BIN" plan "$work/t2.ini" 2>&1)
check "plan reports restart needed for keyless table" "echo \"\$out\" | grep -q 'restart needed'"
out=$("$TL_BIN" run "$work/t2.ini" 2>&1); rc=$?
check "run refuses keyless table with foreign rows" "[ $rc -ne 0 ] && echo \"\$out\" | grep -q 'restart needed'"
check "keyless target not duplicated" "[ \"\$(\"\${D[@]}\" -e 'select count(*) from $db.k')\" = 50 ]"

# 3. task lock: a live process holding the task makes a second run refuse
task t3 "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL"
"${D[@]}" -e "DELETE FROM $db.a; DELETE FROM $db.k"
sleep 300 & sleeper=$!
"$TL_BIN" import --store "$work/logs-t3/checkpoint.db" --task-id t3 /dev/null >/dev/null 2>&1 || mkdir -p "$work/logs-t3"
"$TL_BIN" import --store "$work/logs-t3/checkpoint.db" --task-id t3 /dev/null >/dev/null 2>&1
sqlite3 "$work/logs-t3/checkpoint.db" "INSERT OR REPLACE INTO task_lock(task_id, pid, host, started_at) VALUES ('t3', $sleeper, '$(hostname)', 'now')"
out=$("$TL_BIN" run "$work/t3.ini" 2>&1); rc=$?
check "second run of a locked task refuses" "[ $rc -ne 0 ] && echo \"\$out\" | grep -q 'pid $sleeper'"
kill $sleeper 2>/dev/null; wait $sleeper 2>/dev/null
out=$("$TL_BIN" run "$work/t3.ini" 2>&1); rc=$?
check "stale lock is taken over" "[ $rc -eq 0 ]"

# 4. unreachable server and wrong password: one clear error, password never shown
task t4 "mysql://root:Sup3rSecret@127.0.0.1:1" "$TL_MYSQL_DST_URL"
out=$("$TL_BIN" run "$work/t4.ini" 2>&1); rc=$?
check "unreachable server fails" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'cannot connect'"
check "password not in error output" "! echo \"\$out\" | grep -q Sup3rSecret"
check "password not in default.log" "! grep -rq Sup3rSecret '$work/logs-t4'"
"${S[@]}" -e "CREATE USER IF NOT EXISTS 'tl_pw'@'%' IDENTIFIED BY 'right'; GRANT ALL ON *.* TO 'tl_pw'@'%'" 2>/dev/null
task t5 "mysql://tl_pw:Wr0ngPassw0rd@127.0.0.1:$(port "$TL_MYSQL_SRC_URL")" "$TL_MYSQL_DST_URL"
out=$("$TL_BIN" run "$work/t5.ini" 2>&1); rc=$?
check "wrong password fails" "[ $rc -eq 1 ] && echo \"\$out\" | grep -qi 'access denied'"
check "wrong password not echoed" "! echo \"\$out\" | grep -q Wr0ngPassw0rd"
out=$("$TL_BIN" plan "$work/t5.ini" 2>&1); out2=$("$TL_BIN" status "$work/t5.ini" 2>&1)
check "password not in plan/status output" "! echo \"\$out\$out2\" | grep -q Wr0ngPassw0rd"

# 5. missing target table
"${S[@]}" -e "CREATE TABLE $db.only_src (id INT PRIMARY KEY)"
task t6 "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL"
"${D[@]}" -e "DELETE FROM $db.a; DELETE FROM $db.k"
out=$("$TL_BIN" run "$work/t6.ini" 2>&1); rc=$?
check "missing target table fails naming it" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'only_src'"
"${S[@]}" -e "DROP TABLE $db.only_src"

# 6. a resume value that does not fit the column: error, store and logs unchanged
printf '{"type":"RdbSnapshot","db_type":"mysql","schema":"%s","tb":"a","order_key":{"single":["id","abc"]}}\n' $db > "$work/bad.config"
task t7 "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" "config_file=$work/bad.config"
"${D[@]}" -e "DELETE FROM $db.a; DELETE FROM $db.k"
out=$("$TL_BIN" run "$work/t7.ini" 2>&1); rc=$?
check "bad resume value fails" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q \"does not fit\""
before=$(cat "$work/logs-t7/position.log" "$work/logs-t7/finished.log" 2>/dev/null | md5sum)
dump1=$(sqlite3 "$work/logs-t7/checkpoint.db" 'select * from position; select * from finished' | md5sum)
"$TL_BIN" run "$work/t7.ini" >/dev/null 2>&1
after=$(cat "$work/logs-t7/position.log" "$work/logs-t7/finished.log" 2>/dev/null | md5sum)
dump2=$(sqlite3 "$work/logs-t7/checkpoint.db" 'select * from position; select * from finished' | md5sum)
check "logs unchanged by the failing run" "[ \"$before\" = \"$after\" ]"
check "store unchanged by the failing run" "[ \"$dump1\" = \"$dump2\" ]"

# 7. a bad line in a resume source: FILE:LINE in the error, nothing imported
printf '{"type":"RdbSnapshot","db_type":"mysql","schema":"%s","tb":"a","order_key":{"single":["id",5]}}\n' $db > "$work/bad2.config"
task t8 "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" "config_file=$work/bad2.config"
out=$("$TL_BIN" run "$work/t8.ini" 2>&1); rc=$?
check "bad resume line fails with file:line" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'bad2.config:1'"

# 8. [filter] where_conditions is ANDed into every read of its table
"${D[@]}" -e "DELETE FROM $db.a; DELETE FROM $db.k"
task t9 "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL"
sed -i "s/^do_dbs=$db\$/do_dbs=$db\nwhere_conditions=json:[{\"db\":\"$db\",\"tb\":\"a\",\"condition\":\"id <= 100\"}]/" "$work/t9.ini"
out=$("$TL_BIN" run "$work/t9.ini" 2>&1); rc=$?
check "where_conditions limits the copy (rc $rc)" "[ $rc -eq 0 ] && [ \"\$(\"\${D[@]}\" -e 'select count(*), max(id) from $db.a')\" = \"\$(printf '100\t100')\" ]"

"${S[@]}" -e "DROP DATABASE $db"; "${D[@]}" -e "DROP DATABASE $db"; "${S[@]}" -e "DROP USER IF EXISTS 'tl_pw'@'%'"
echo "$fails failed"
[ $fails -eq 0 ]
