#!/usr/bin/env bash
# mysql_run.sh - end-to-end behaviour of `tideline run/plan/status` against real MariaDB
# servers: a copy and a no-op re-run, the task lock, bad input (unreachable server, wrong
# password, missing target table, a resume value that does not fit the column) giving one
# clear error with a non-zero exit and an unchanged store and logs, keyless tables that
# need a restart, and passwords never appearing in any output.
# shellcheck disable=SC2034  # out, got, ...: read by the tl_sh_check expressions (eval)
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
tl_sh_setup run TL_MYSQL_SRC_URL TL_MYSQL_DST_URL; work=$TL_SH_TMPDIR
S=(tl_sh_mysql "$TL_MYSQL_SRC_URL"); D=(tl_sh_mysql "$TL_MYSQL_DST_URL")

db=tl_run_it
tl_sh_mysql_db $db "CREATE TABLE $db.a (id INT PRIMARY KEY, v VARCHAR(20));
CREATE TABLE $db.k (x INT, y VARCHAR(10));" \
  "INSERT INTO $db.a SELECT seq, CONCAT('v', seq) FROM seq_1_to_1000; INSERT INTO $db.k SELECT seq, 'k' FROM seq_1_to_50;"

task() { # name src_url dst_url [SECTION.KEY=VALUE...]: $work/name.ini, logs in $work/logs-name
  tl_sh_task "$work/$1.ini" mysql "$2" "$3" global.task_id="$1" extractor.batch_size=100 filter.do_dbs=$db \
    pipeline.checkpoint_interval_secs=1 runtime.log_dir="$work/logs-$1" resumer.resume_type=from_log "${@:4}"
}

# 1. a copy, then a re-run that skips every finished table
task t1 "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL"
out=$("$TL_BIN" run "$work/t1.ini" 2>&1); rc=$?
tl_sh_check "first run succeeds" "[ $rc -eq 0 ]"
tl_sh_check "target has 1000 + 50 rows" "[ \"\$(\"\${D[@]}\" -e 'select (select count(*) from $db.a)+(select count(*) from $db.k)')\" = 1050 ]"
out=$("$TL_BIN" run "$work/t1.ini" 2>&1); rc=$?
tl_sh_check "re-run succeeds" "[ $rc -eq 0 ]"
tl_sh_check "re-run skips finished tables" "grep -q 'check finished: schema: $db, tb: a, result: true' '$work/logs-t1/default.log'"
tl_sh_check "no duplicates after re-run" "[ \"\$(\"\${D[@]}\" -e 'select count(*) from $db.k')\" = 50 ]"
tl_sh_check "plan says skip" "\"$TL_BIN\" plan '$work/t1.ini' | grep -q '^skip   $db.a'"
tl_sh_check "status lists the tables" "\"$TL_BIN\" status '$work/t1.ini' 2>&1 | grep -q 'k'"

# 2. keyless target holding rows this task did not write: plan says restart needed, run refuses
task t2 "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL"
out=$("$TL_BIN" plan "$work/t2.ini" 2>&1)
tl_sh_check "plan reports restart needed for keyless table" "echo \"\$out\" | grep -q 'restart needed'"
out=$("$TL_BIN" run "$work/t2.ini" 2>&1); rc=$?
tl_sh_check "run refuses keyless table with foreign rows" "[ $rc -ne 0 ] && echo \"\$out\" | grep -q 'restart needed'"
tl_sh_check "keyless target not duplicated" "[ \"\$(\"\${D[@]}\" -e 'select count(*) from $db.k')\" = 50 ]"

# 3. task lock: a live process holding the task makes a second run refuse
task t3 "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL"
"${D[@]}" -e "DELETE FROM $db.a; DELETE FROM $db.k"
sleeper=
# shellcheck disable=SC2016  # expanded at exit
tl_sh_on_exit '[ -z "$sleeper" ] || kill $sleeper 2>/dev/null'
sleep 300 & sleeper=$!
"$TL_BIN" import --store "$work/logs-t3/checkpoint.db" --task-id t3 /dev/null >/dev/null 2>&1 || mkdir -p "$work/logs-t3"
"$TL_BIN" import --store "$work/logs-t3/checkpoint.db" --task-id t3 /dev/null >/dev/null 2>&1
sqlite3 "$work/logs-t3/checkpoint.db" "INSERT OR REPLACE INTO task_lock(task_id, pid, host, started_at) VALUES ('t3', $sleeper, '$(hostname)', 'now')"
out=$("$TL_BIN" run "$work/t3.ini" 2>&1); rc=$?
tl_sh_check "second run of a locked task refuses" "[ $rc -ne 0 ] && echo \"\$out\" | grep -q 'pid $sleeper'"
kill $sleeper 2>/dev/null; wait $sleeper 2>/dev/null
out=$("$TL_BIN" run "$work/t3.ini" 2>&1); rc=$?
tl_sh_check "stale lock is taken over" "[ $rc -eq 0 ]"

# 4. unreachable server and wrong password: one clear error, password never shown
# (a refused connection is transient: one retry, not the default budget of 10, whose
# backoff would wait about two minutes; the retry's log line must not show it either)
task t4 "mysql://root:Sup3rSecret@127.0.0.1:1" "$TL_MYSQL_DST_URL" pipeline.retry_max_attempts=1
out=$("$TL_BIN" run "$work/t4.ini" 2>&1); rc=$?
tl_sh_check "unreachable server fails" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'cannot connect'"
tl_sh_check "after one retry" "echo \"\$out\" | grep -q 'gave up after 2 attempts'"
tl_sh_check "password not in error output" "! echo \"\$out\" | grep -q Sup3rSecret"
tl_sh_check "password not in default.log" "! grep -rq Sup3rSecret '$work/logs-t4'"
"${S[@]}" -e "CREATE USER IF NOT EXISTS 'tl_pw'@'%' IDENTIFIED BY 'right'; GRANT ALL ON *.* TO 'tl_pw'@'%'" 2>/dev/null
task t5 "mysql://tl_pw:Wr0ngPassw0rd@127.0.0.1:$(tl_sh_port "$TL_MYSQL_SRC_URL")" "$TL_MYSQL_DST_URL"
out=$("$TL_BIN" run "$work/t5.ini" 2>&1); rc=$?
tl_sh_check "wrong password fails" "[ $rc -eq 1 ] && echo \"\$out\" | grep -qi 'access denied'"
tl_sh_check "wrong password not echoed" "! echo \"\$out\" | grep -q Wr0ngPassw0rd"
out=$("$TL_BIN" plan "$work/t5.ini" 2>&1); out2=$("$TL_BIN" status "$work/t5.ini" 2>&1)
tl_sh_check "password not in plan/status output" "! echo \"\$out\$out2\" | grep -q Wr0ngPassw0rd"

# 5. missing target table, with creation turned off (create_schema=true would create it: schema_run.sh)
"${S[@]}" -e "CREATE TABLE $db.only_src (id INT PRIMARY KEY)"
task t6 "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" sinker.create_schema=false
"${D[@]}" -e "DELETE FROM $db.a; DELETE FROM $db.k"
out=$("$TL_BIN" run "$work/t6.ini" 2>&1); rc=$?
tl_sh_check "missing target table fails naming it" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'only_src'"
"${S[@]}" -e "DROP TABLE $db.only_src"

# 6. a resume value that does not fit the column: error, store and logs unchanged
printf '{"type":"RdbSnapshot","db_type":"mysql","schema":"%s","tb":"a","order_key":{"single":["id","abc"]}}\n' $db > "$work/bad.config"
task t7 "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" "resumer.config_file=$work/bad.config"
"${D[@]}" -e "DELETE FROM $db.a; DELETE FROM $db.k"
out=$("$TL_BIN" run "$work/t7.ini" 2>&1); rc=$?
tl_sh_check "bad resume value fails" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q \"does not fit\""
before=$(cat "$work/logs-t7/position.log" "$work/logs-t7/finished.log" 2>/dev/null | md5sum)
dump1=$(sqlite3 "$work/logs-t7/checkpoint.db" 'select * from position; select * from finished' | md5sum)
"$TL_BIN" run "$work/t7.ini" >/dev/null 2>&1
after=$(cat "$work/logs-t7/position.log" "$work/logs-t7/finished.log" 2>/dev/null | md5sum)
dump2=$(sqlite3 "$work/logs-t7/checkpoint.db" 'select * from position; select * from finished' | md5sum)
tl_sh_check "logs unchanged by the failing run" "[ \"$before\" = \"$after\" ]"
tl_sh_check "store unchanged by the failing run" "[ \"$dump1\" = \"$dump2\" ]"

# 7. a bad line in a resume source: FILE:LINE in the error, nothing imported
printf '{"type":"RdbSnapshot","db_type":"mysql","schema":"%s","tb":"a","order_key":{"single":["id",5]}}\n' $db > "$work/bad2.config"
task t8 "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" "resumer.config_file=$work/bad2.config"
out=$("$TL_BIN" run "$work/t8.ini" 2>&1); rc=$?
tl_sh_check "bad resume line fails with file:line" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'bad2.config:1'"

# 8. [filter] where_conditions is ANDed into every read of its table
"${D[@]}" -e "DELETE FROM $db.a; DELETE FROM $db.k"
task t9 "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" "filter.where_conditions=json:[{\"db\":\"$db\",\"tb\":\"a\",\"condition\":\"id <= 100\"}]"
out=$("$TL_BIN" run "$work/t9.ini" 2>&1); rc=$?
tl_sh_check "where_conditions limits the copy (rc $rc)" "[ $rc -eq 0 ] && [ \"\$(\"\${D[@]}\" -e 'select count(*), max(id) from $db.a')\" = \"\$(printf '100\t100')\" ]"

"${S[@]}" -e "DROP DATABASE $db"; "${D[@]}" -e "DROP DATABASE $db"; "${S[@]}" -e "DROP USER IF EXISTS 'tl_pw'@'%'"
tl_sh_result
