#!/usr/bin/env bash
# taskfile_mysql.sh - ape-dts task files mean what they say on MariaDB (#13), end to end:
# [router] db_map / tb_map / col_map and [filter] ignore_cols (renamed columns, ignored
# ones keeping their default, records under the source names, status and plan showing the
# route), a routed copy interrupted and resumed, source = target refused, a check task
# against a target with missing, extra and differing rows (the logs list exactly those,
# nothing is written), strict target sessions (an error naming table, column and key),
# NULL-key rows of a nullable unique key and keyless rows never written twice (--init
# included), filters that select nothing and a user without privileges (non-zero exits
# naming the filter; the error is the last line of default.log), TLS modes through task
# files, the rate limit, and `status` / the lock after kill -9.
# shellcheck disable=SC2034  # out, got, ...: read by the tl_sh_check expressions (eval)
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
tl_sh_setup tfmy TL_MYSQL_SRC_URL TL_MYSQL_DST_URL; work=$TL_SH_TMPDIR
S=(tl_sh_mysql "$TL_MYSQL_SRC_URL"); D=(tl_sh_mysql "$TL_MYSQL_DST_URL")
db=tl_tf; cp=tl_tf_copy
tl_sh_on_exit '"${S[@]}" -e "DROP DATABASE IF EXISTS $db; DROP DATABASE IF EXISTS $cp; DROP USER IF EXISTS tl_nopriv" 2>/dev/null; "${D[@]}" -e "DROP DATABASE IF EXISTS $db; DROP DATABASE IF EXISTS $cp; DROP DATABASE IF EXISTS tl_tf_store" 2>/dev/null'

tl_sh_mysql_db $db "CREATE TABLE $db.a (id INT PRIMARY KEY, x VARCHAR(20), y INT, z INT DEFAULT 7);
CREATE TABLE $db.b (k VARCHAR(10) PRIMARY KEY, n INT);
CREATE TABLE $db.nuk (u INT NULL UNIQUE, v VARCHAR(10));
CREATE TABLE $db.nokey (x INT, v VARCHAR(10));
CREATE TABLE $db.names (ID INT PRIMARY KEY, Name CHAR(52));" \
  "INSERT INTO a SELECT seq, CONCAT('v', seq), seq * 2, seq * 3 FROM seq_1_to_3000;
INSERT INTO b SELECT CONCAT('k', seq), seq FROM seq_1_to_20;
INSERT INTO nuk VALUES (1, 'one'), (2, 'two'), (NULL, 'n1'), (NULL, 'n2');
INSERT INTO nokey VALUES (1, 'a'), (1, 'a'), (2, 'b'), (NULL, 'c');
INSERT INTO names VALUES (1, 'Afghanistan'), (2, 'Albania'), (3, 'Chad');"
# the routed targets: a renamed database, a renamed table and column, no z (its default)
"${D[@]}" -e "DROP DATABASE IF EXISTS $cp; CREATE DATABASE $cp;
CREATE TABLE $cp.a (id INT PRIMARY KEY, xx VARCHAR(20), y INT, z INT DEFAULT 7);
CREATE TABLE $cp.bee (k VARCHAR(10) PRIMARY KEY, n INT);
ALTER TABLE $db.names MODIFY Name CHAR(5);"

task() { # name [SECTION.KEY=VALUE...]: $work/name.ini, logs in $work/logs-name
  tl_sh_task "$work/$1.ini" mysql "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" global.task_id="$1" \
    extractor.batch_size=500 runtime.log_dir="$work/logs-$1" resumer.resume_type=from_log "${@:2}"
}
route=(filter.do_tbs=$db.a,$db.b "router.tb_map=$db.b:$cp.bee" "router.db_map=$db:$cp"
  "router.col_map=json:[{\"db\":\"$db\",\"tb\":\"a\",\"col_map\":{\"x\":\"xx\"}}]"
  "filter.ignore_cols=json:[{\"db\":\"$db\",\"tb\":\"a\",\"ignore_cols\":[\"z\"]}]")
qa="SELECT COUNT(*), SUM(z = 7), MD5(GROUP_CONCAT(id, ':', xx, ':', y ORDER BY id)) FROM $cp.a"
qs="SELECT COUNT(*), 3000, MD5(GROUP_CONCAT(id, ':', x, ':', y ORDER BY id)) FROM $db.a"

# 1. a routed copy, interrupted after two batches and resumed
task r1 "${route[@]}" pipeline.checkpoint_interval_secs=0
out=$("$TL_BIN" plan "$work/r1.ini" 2>&1)
tl_sh_check "plan shows the route" "echo \"\$out\" | grep -q '^start  $db.a -> $cp.a' && echo \"\$out\" | grep -q '$db.b -> $cp.bee'"
out=$(TL_DEBUG_FAIL=write_batch:3 "$TL_BIN" run "$work/r1.ini" 2>&1); rc=$?
tl_sh_check "routed copy interrupted (rc $rc)" "[ $rc -ne 0 ] && [ \"\$(\"\${D[@]}\" -e 'SELECT COUNT(*) FROM $cp.a')\" = 1000 ]"
out=$("$TL_BIN" run "$work/r1.ini" 2>&1); rc=$?
tl_sh_check "routed copy resumed (rc $rc)" "[ $rc -eq 0 ] && grep -q 'get resume value, schema: $db, tb: a, col: id' '$work/logs-r1/default.log'"
tl_sh_check "col_map renames, ignore_cols keeps the default, nothing twice" \
  "[ \"\$(\"\${D[@]}\" -e \"$qa\")\" = \"\$(\"\${S[@]}\" -e \"$qs\")\" ]"
tl_sh_check "tb_map moves the table" "[ \"\$(\"\${D[@]}\" -e 'SELECT COUNT(*) FROM $cp.bee')\" = 20 ]"
tl_sh_check "nothing under the source names on the target" "[ \"\$(\"\${D[@]}\" -e 'SELECT COUNT(*) FROM $db.a')\" = 0 ]"
tl_sh_check "positions and finished records keep the source names" \
  "grep -q '\"schema\":\"$db\",\"tb\":\"a\"' '$work/logs-r1/position.log' && ! grep -q '$cp' '$work/logs-r1/position.log' '$work/logs-r1/finished.log'"
tl_sh_check "status shows the route" "\"$TL_BIN\" status '$work/r1.ini' | grep -q '$db.a -> $cp.a  *finished'"
# ape-dts' database store ([resumer] from_target) keys the routed tables by their source names too
task r2 "${route[@]}" resumer.resume_type=from_target resumer.table_full_name=tl_tf_store.pos
out=$("$TL_BIN" run "$work/r2.ini" 2>&1); rc=$?
tl_sh_check "the ape-dts store records the source names (rc $rc)" \
  "[ $rc -eq 0 ] && [ \"\$(\"\${D[@]}\" -e \"SELECT GROUP_CONCAT(DISTINCT position_key ORDER BY position_key) FROM tl_tf_store.pos WHERE task_id = 'r2'\")\" = '$db-a,$db-b' ]"

# 2. a check task: a row missing, one extra, two differing; nothing is written
"${D[@]}" -e "DELETE FROM $cp.a WHERE id IN (5, 2500); UPDATE $cp.a SET y = NULL WHERE id = 7;
UPDATE $cp.a SET xx = 'changed' WHERE id = 8; INSERT INTO $cp.a VALUES (9999, 'extra', 1, 1);
UPDATE $cp.bee SET n = 100 WHERE k = 'k3'"
sum_dst() { "${D[@]}" -e "CHECKSUM TABLE $cp.a, $cp.bee" | md5sum; }
before=$(sum_dst)
task c1 "${route[@]}" sinker.sink_type=check
out=$("$TL_BIN" run "$work/c1.ini" 2>&1); rc=$?
cl=$work/logs-c1/check
T="\"target_schema\":\"$cp\",\"target_tb\":\"a\""
tl_sh_check "check task exits 3 (rc $rc)" "[ $rc -eq 3 ] && echo \"\$out\" | grep -q 'not consistent'"
tl_sh_check "check task writes nothing" "[ \"$before\" = \"\$(sum_dst)\" ]"
tl_sh_check "miss.log lists exactly the missing rows" "[ \"\$(cat '$cl/miss.log')\" = '{\"schema\":\"$db\",\"tb\":\"a\",$T,\"id_col_values\":{\"id\":\"5\"}}
{\"schema\":\"$db\",\"tb\":\"a\",$T,\"id_col_values\":{\"id\":\"2500\"}}' ]"
tl_sh_check "extra.log lists exactly the extra row" "[ \"\$(cat '$cl/extra.log')\" = '{\"schema\":\"$db\",\"tb\":\"a\",$T,\"id_col_values\":{\"id\":\"9999\"}}' ]"
tl_sh_check "diff.log lists exactly the differing rows, with ape-dts' types" "[ \"\$(sort '$cl/diff.log')\" = '{\"schema\":\"$db\",\"tb\":\"a\",$T,\"id_col_values\":{\"id\":\"7\"},\"diff_col_values\":{\"y\":{\"src\":\"14\",\"dst\":null,\"src_type\":\"Long\",\"dst_type\":\"None\"}}}
{\"schema\":\"$db\",\"tb\":\"a\",$T,\"id_col_values\":{\"id\":\"8\"},\"diff_col_values\":{\"x\":{\"src\":\"v8\",\"dst\":\"changed\"}}}
{\"schema\":\"$db\",\"tb\":\"b\",\"target_schema\":\"$cp\",\"target_tb\":\"bee\",\"id_col_values\":{\"k\":\"k3\"},\"diff_col_values\":{\"n\":{\"src\":\"3\",\"dst\":\"100\"}}}' ]"
tl_sh_check "summary.log counts" "grep -q '\"is_consistent\":false,\"checked_count\":3020,\"miss_count\":2,\"diff_count\":3,\"skip_count\":0,\"extra_count\":1' '$cl/summary.log'"
tl_sh_check "verify output beside the logs" "echo \"\$out\" | grep -q '$db.a -> $cp.a  *3000  *2999  *differs'"
# the same check with results on stdout only, as ape-dts prints them
task c2 "${route[@]}" sinker.sink_type=check runtime.check_result_stdout_only=true
out=$("$TL_BIN" run "$work/c2.ini" 2>/dev/null); rc=$?
tl_sh_check "check_result_stdout_only: only result lines on stdout (rc $rc)" \
  "[ $rc -eq 3 ] && [ \"\$(echo \"\$out\" | grep -c '^miss_logger - ')\" = 2 ] && [ \"\$(echo \"\$out\" | grep -c '^diff_logger - ')\" = 3 ] && [ \"\$(echo \"\$out\" | grep -c '^summary_logger - ')\" = 1 ] && [ \"\$(echo \"\$out\" | grep -vc '_logger - ')\" = 0 ] && [ ! -e '$work/logs-c2/check' ]"
# repaired: consistent, exit 0, only summary.log
out=$("$TL_BIN" run "$work/r1.ini" --init 2>&1)
"${D[@]}" -e "DELETE FROM $cp.a WHERE id = 9999"
out=$("$TL_BIN" run "$work/c1.ini" 2>&1); rc=$?
tl_sh_check "consistent after the repair (rc $rc)" "[ $rc -eq 0 ] && [ \"\$(ls '$cl')\" = summary.log ] && grep -q '\"is_consistent\":true' '$cl/summary.log'"
out=$("$TL_BIN" run "$work/c1.ini" --init 2>&1); rc=$?
tl_sh_check "check task with --init: refused, nothing to forget (rc $rc)" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'writes nothing: --init does not apply'"

# 3. source = target: without a route every table onto itself; a routed copy inside one server
tl_sh_task "$work/self.ini" mysql "$TL_MYSQL_SRC_URL" "$TL_MYSQL_SRC_URL" filter.do_dbs=$db runtime.log_dir="$work/logs-self"
out=$("$TL_BIN" run "$work/self.ini" 2>&1); rc=$?
tl_sh_check "a table onto itself is refused (rc $rc)" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'same server and table .$db.a. would be copied onto itself'"
tl_sh_check "the refusal is the last line of default.log" "tail -1 '$work/logs-self/default.log' | grep -q 'ERROR .* would be copied onto itself'"
"${S[@]}" -e "CREATE DATABASE IF NOT EXISTS $cp; CREATE TABLE IF NOT EXISTS $cp.b (k VARCHAR(10) PRIMARY KEY, n INT)"
tl_sh_task "$work/inplace.ini" mysql "$TL_MYSQL_SRC_URL" "$TL_MYSQL_SRC_URL" filter.do_tbs=$db.b "router.db_map=$db:$cp" runtime.log_dir="$work/logs-inplace"
out=$("$TL_BIN" run "$work/inplace.ini" 2>&1); rc=$?
tl_sh_check "a copy into another database of the same server (rc $rc)" "[ $rc -eq 0 ] && [ \"\$(\"\${S[@]}\" -e 'SELECT COUNT(*) FROM $cp.b')\" = 20 ]"
tl_sh_task "$work/swap.ini" mysql "$TL_MYSQL_SRC_URL" "$TL_MYSQL_SRC_URL" filter.do_dbs=$db,$cp "router.db_map=$db:$cp,$cp:$db" runtime.log_dir="$work/logs-swap"
out=$("$TL_BIN" run "$work/swap.ini" 2>&1); rc=$?
tl_sh_check "a swap on one server is refused (rc $rc)" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'which this run also reads'"

# 4. strict target sessions: a value that does not fit is an error naming table, column and key
task s1 filter.do_tbs=$db.names
out=$("$TL_BIN" run "$work/s1.ini" 2>&1); rc=$?
tl_sh_check "char(52) into char(5) fails naming table, column and key (rc $rc)" \
  "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'names' && echo \"\$out\" | grep -q 'Name' && echo \"\$out\" | grep -q '(ID)=(1)'"
tl_sh_check "nothing truncated on the target" "[ \"\$(\"\${D[@]}\" -e 'SELECT COUNT(*) FROM $db.names')\" = 0 ]"

# 5. NULL-key rows of a nullable unique key, and keyless rows, never twice (4 stays 4)
task n1 filter.do_tbs=$db.nuk,$db.nokey
out=$("$TL_BIN" run "$work/n1.ini" 2>&1); rc=$?
tl_sh_check "first copy: 4 + 4 rows (rc $rc)" "[ $rc -eq 0 ] && [ \"\$(\"\${D[@]}\" -e 'SELECT (SELECT COUNT(*) FROM $db.nuk), (SELECT COUNT(*) FROM $db.nokey)')\" = '4	4' ]"
for flags in "" "--init"; do
  task n2 filter.do_tbs=$db.nuk
  out=$("$TL_BIN" run "$work/n2.ini" $flags 2>&1); rc=$?
  tl_sh_check "nullable unique into a non-empty target, another task $flags: refused (rc $rc)" \
    "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'unique key is NULL' && [ \"\$(\"\${D[@]}\" -e 'SELECT COUNT(*) FROM $db.nuk')\" = 4 ]"
  out=$("$TL_BIN" run "$work/n1.ini" --init 2>&1); rc=$?
  tl_sh_check "run --init of the first task $flags: refused, says how to proceed (rc $rc)" \
    "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'then run with --init' && [ \"\$(\"\${D[@]}\" -e 'SELECT (SELECT COUNT(*) FROM $db.nuk), (SELECT COUNT(*) FROM $db.nokey)')\" = '4	4' ]"
done
out=$("$TL_BIN" plan "$work/n1.ini" 2>&1)
tl_sh_check "plan says REFUSE for both" "[ \"\$(echo \"\$out\" | grep -c '^REFUSE')\" = 2 ]"
"${D[@]}" -e "DELETE FROM $db.nuk WHERE u IS NULL; TRUNCATE $db.nokey"
out=$("$TL_BIN" run "$work/n1.ini" --init 2>&1); rc=$?
tl_sh_check "as the message says: then --init copies once (rc $rc)" "[ $rc -eq 0 ] && [ \"\$(\"\${D[@]}\" -e 'SELECT (SELECT COUNT(*) FROM $db.nuk), (SELECT COUNT(*) FROM $db.nokey)')\" = '4	4' ]"

# 6. nothing selected, a source that cannot be listed: non-zero, naming the filter; plan too
task f1 filter.do_dbs=wrld
out=$("$TL_BIN" run "$work/f1.ini" 2>&1); rc=$?
tl_sh_check "do_dbs=wrld: exit 1 naming the filter (rc $rc)" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'selects none of the source.s .* tables (do_dbs=wrld)'"
tl_sh_check "... the last line of default.log" "tail -1 '$work/logs-f1/default.log' | grep -q 'ERROR .*do_dbs=wrld'"
out=$("$TL_BIN" plan "$work/f1.ini" 2>&1); rc=$?
tl_sh_check "plan says so (rc $rc)" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'do_dbs=wrld'"
"${S[@]}" -e "DROP USER IF EXISTS tl_nopriv; CREATE USER tl_nopriv IDENTIFIED BY 'np'"
nopriv=$(echo "$TL_MYSQL_SRC_URL" | sed 's#mysql://root:@#mysql://tl_nopriv:np@#')
tl_sh_task "$work/f2.ini" mysql "$nopriv" "$TL_MYSQL_DST_URL" filter.do_dbs=$db runtime.log_dir="$work/logs-f2"
out=$("$TL_BIN" run "$work/f2.ini" 2>&1); rc=$?
tl_sh_check "a user without privileges: exit 1, says so (rc $rc)" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'lists no table at all (do_dbs=$db).*privileges'"

# 7. TLS through task files, each section (the servers run TLS with the test CA)
if [ -n "${TL_TLS_DIR:-}" ]; then
  ca=$TL_TLS_DIR/ca.pem; other=$TL_TLS_DIR/other-ca.pem
  local_dst=$(echo "$TL_MYSQL_DST_URL" | sed 's#@127.0.0.1:#@localhost:#')
  for c in "sinker verify_ca $ca 0" "sinker verify_ca $other 1" "sinker verify_full $ca 1" "sinker require - 0" \
           "sinker disable - 0" "extractor verify_ca $other 1" "extractor verify_ca $ca 0"; do
    set -- $c
    cafile=(); [ "$3" = - ] || cafile=("$1.ssl_ca_path=$3")
    task tls filter.do_tbs=$db.b "$1.ssl_mode=$2" "${cafile[@]}"
    out=$("$TL_BIN" plan "$work/tls.ini" 2>&1); rc=$?
    tl_sh_check "[$1] ssl_mode=$2 $(basename "$3"): $([ "$4" = 0 ] && echo connects || echo refused) (rc $rc)" \
      "[ $rc -eq $4 ] && { [ $4 -eq 0 ] || echo \"\$out\" | grep -q 'TLS/SSL error'; }"
  done
  # verify_full matches the certificate's host name (localhost)
  tl_sh_task "$work/tlsh.ini" mysql "$TL_MYSQL_SRC_URL" "$local_dst" filter.do_tbs=$db.b sinker.ssl_mode=verify_full \
    "sinker.ssl_ca_path=$ca" runtime.log_dir="$work/logs-tlsh"
  out=$("$TL_BIN" run "$work/tlsh.ini" 2>&1); rc=$?
  tl_sh_check "verify_full to localhost copies (rc $rc)" "[ $rc -eq 0 ]"
  # [resumer]: ape-dts' database store over TLS, verified against the wrong CA
  task tlsr filter.do_tbs=$db.b resumer.resume_type=from_db "resumer.url=$TL_MYSQL_DST_URL" resumer.db_type=mysql \
    resumer.ssl_mode=verify_ca "resumer.ssl_ca_path=$other"
  out=$("$TL_BIN" run "$work/tlsr.ini" 2>&1); rc=$?
  tl_sh_check "[resumer] ssl_mode=verify_ca with a wrong CA: refused (rc $rc)" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'TLS/SSL error'"
  # the URL's own form (sqlx): ?ssl-mode=VERIFY_CA&ssl-ca=
  tl_sh_task "$work/tlsu.ini" mysql "$TL_MYSQL_SRC_URL?ssl-mode=VERIFY_CA&ssl-ca=$other" "$TL_MYSQL_DST_URL" \
    filter.do_tbs=$db.b runtime.log_dir="$work/logs-tlsu"
  out=$("$TL_BIN" plan "$work/tlsu.ini" 2>&1); rc=$?
  tl_sh_check "URL ?ssl-mode=VERIFY_CA with a wrong CA: refused (rc $rc)" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'TLS/SSL error'"
else
  tl_sh_have_env TL_TLS_DIR || echo "note: TL_TLS_DIR not set; TLS cases not run"
fi

# 8. the rate limit: 3000 rows at [extractor] max_rps=1000 ([sinker] 2000, the smallest holds)
"${D[@]}" -e "DELETE FROM $cp.a"
task rate filter.do_tbs=$db.a "${route[@]:2}" extractor.batch_size=100 extractor.max_rps=1000 sinker.max_rps=2000 \
  extractor.parallel_size=2
t0=$(date +%s.%N)
out=$("$TL_BIN" run "$work/rate.ini" 2>&1); rc=$?
t1=$(date +%s.%N)
rate=$(echo "$t0 $t1" | awk '{printf "%.0f", (3000 - 100) / ($2 - $1)}')
tl_sh_check "max_rps=1000: $rate rows/s (rc $rc; within +10 % / -20 % with start-up)" "[ $rc -eq 0 ] && [ $rate -le 1100 ] && [ $rate -ge 800 ]"
tl_sh_check "the rate is in default.log" "grep -q 'rate limit: 1000 rows/s' '$work/logs-rate/default.log'"
# 9. kill -9 mid-copy: `status` says interrupted (not running); the next run takes over the
# dead pid's lock, says so in default.log, and copies every row once
"${D[@]}" -e "DELETE FROM $cp.a"
task k1 filter.do_tbs=$db.a "${route[@]:2}" extractor.batch_size=100 extractor.max_rps=500 \
  pipeline.checkpoint_interval_secs=0
"$TL_BIN" run "$work/k1.ini" >/dev/null 2>&1 & pid=$!
for _ in $(seq 100); do [ "$("${D[@]}" -e "SELECT COUNT(*) FROM $cp.a")" -ge 500 ] && break; sleep 0.1; done
kill -9 $pid; wait $pid 2>/dev/null
n=$("${D[@]}" -e "SELECT COUNT(*) FROM $cp.a")
out=$("$TL_BIN" status "$work/k1.ini" 2>&1)
tl_sh_check "status after kill -9 at $n rows: interrupted, not running" \
  "[ $n -lt 3000 ] && echo \"\$out\" | grep -q '$db.a -> $cp.a  *interrupted' && ! echo \"\$out\" | grep -q running"
out=$("$TL_BIN" run "$work/k1.ini" 2>&1); rc=$?
tl_sh_check "the rerun takes over dead pid $pid's lock, saying so (rc $rc)" \
  "[ $rc -eq 0 ] && grep -q 'took over the lock of pid $pid' '$work/logs-k1/default.log'"
tl_sh_check "... and every row is on the target once" "[ \"\$(\"\${D[@]}\" -e \"$qa\")\" = \"\$(\"\${S[@]}\" -e \"$qs\")\" ]"
tl_sh_result
