#!/usr/bin/env bash
# parallel.sh - parallel copies against real MariaDB servers: parallel_size=4 tables at a
# time (keyed, composite, nullable-key and keyless tables), chunk mode with 4 workers on one
# table (ranges committed out of order, the checkpoint frontier, the NULL pass), and a
# failure injected in the driver-call wrappers (TL_DEBUG_FAIL) in the middle of the chunk
# copy: with retries off followed by a rerun, with retries survived in the same run. Each ends with the target equal to the source (counts and
# ordered content digests). tools/test.sh also runs this test with the ThreadSanitizer
# build, so the worker threads, the chunk producer and consumers and the recorder are
# checked for data races on a real copy.
# shellcheck disable=SC2034  # out, got, ...: read by the tl_sh_check expressions (eval)
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
tl_sh_setup par TL_MYSQL_SRC_URL TL_MYSQL_DST_URL; work=$TL_SH_TMPDIR
S=(tl_sh_mysql "$TL_MYSQL_SRC_URL"); D=(tl_sh_mysql "$TL_MYSQL_DST_URL")
rows=${TL_PAR_ROWS:-20000}

db=tl_par_it
tl_sh_mysql_db $db "CREATE TABLE $db.a (id INT PRIMARY KEY, v VARCHAR(40));
CREATE TABLE $db.b (x INT, y INT, v VARCHAR(40), PRIMARY KEY (x, y));
CREATE TABLE $db.n (u INT UNIQUE, v VARCHAR(40));
CREATE TABLE $db.k (x INT, v VARCHAR(40));
CREATE TABLE $db.c (id INT PRIMARY KEY, v VARCHAR(40));" \
  "INSERT INTO $db.a SELECT seq, MD5(seq) FROM seq_1_to_$rows;
INSERT INTO $db.b SELECT seq DIV 10, seq MOD 10, MD5(seq) FROM seq_1_to_$rows;
INSERT INTO $db.n SELECT IF(seq MOD 11 = 0, NULL, seq), MD5(seq) FROM seq_1_to_$rows;
INSERT INTO $db.k SELECT IF(seq MOD 13 = 0, NULL, seq MOD 997), MD5(seq) FROM seq_1_to_$rows;
INSERT INTO $db.c SELECT seq, MD5(seq) FROM seq_1_to_$rows;"

# digest TABLE ORDER: count and an ordered content digest of a table on both sides
digest() { echo "SELECT COUNT(*), MD5(GROUP_CONCAT(CONCAT_WS(',', $2, v) ORDER BY $2 SEPARATOR ';')) FROM $db.$1"; }
same() { # TABLE ORDER
  [ "$("${S[@]}" -e "SET SESSION group_concat_max_len = 100000000; $(digest "$1" "$2")")" = \
    "$("${D[@]}" -e "SET SESSION group_concat_max_len = 100000000; $(digest "$1" "$2")")" ]
}
all_same() {
  same a id && same b "x, y" && same n "IFNULL(u, -1), v" && same k "IFNULL(x, -1), v" && same c id
}

task() { # name [SECTION.KEY=VALUE...]
  tl_sh_task "$work/$1.ini" mysql "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" global.task_id="$1" \
    filter.do_dbs=$db pipeline.checkpoint_interval_secs=0 runtime.log_dir="$work/logs-$1" \
    resumer.resume_type=from_log "${@:2}"
}
empty_target() { "${D[@]}" -e "DELETE FROM $db.a; DELETE FROM $db.b; DELETE FROM $db.n; DELETE FROM $db.k; DELETE FROM $db.c"; }

# 1. four tables at a time
task t1 extractor.parallel_size=4 extractor.batch_size=500
out=$("$TL_BIN" run "$work/t1.ini" 2>&1); rc=$?
tl_sh_check "parallel_size=4: run succeeds (rc $rc)" "[ $rc -eq 0 ]"
tl_sh_check "parallel_size=4: target equals source" "all_same"
echo "$out" | grep -i 'ThreadSanitizer' && tl_sh_check "no ThreadSanitizer report" "false"

# 2. chunk mode, four workers on each table's ranges
empty_target
task t2 extractor.parallel_type=chunk extractor.parallel_size=4 extractor.batch_size=300
out=$("$TL_BIN" run "$work/t2.ini" 2>&1); rc=$?
tl_sh_check "chunk mode, 4 workers: run succeeds (rc $rc)" "[ $rc -eq 0 ]"
tl_sh_check "chunk mode: tables were split" "grep -q 'split mode' '$work/logs-t2/default.log'"
tl_sh_check "chunk mode: target equals source" "all_same"

# 3. a write fails mid-copy in chunk mode (injected in the wrappers): with retries off
# ([pipeline] retry_max_attempts=0) the run stops, then a rerun finishes
empty_target
task t3 extractor.parallel_type=chunk extractor.parallel_size=4 extractor.batch_size=300 pipeline.retry_max_attempts=0
out=$(TL_DEBUG_FAIL=write_batch:40:transient "$TL_BIN" run "$work/t3.ini" 2>&1); rc=$?
tl_sh_check "injected write failure stops the run (rc $rc)" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'injected transient fault: write_batch call 40'"
out=$("$TL_BIN" run "$work/t3.ini" 2>&1); rc=$?
tl_sh_check "rerun after the failure succeeds (rc $rc)" "[ $rc -eq 0 ]"
tl_sh_check "rerun: target equals source (nothing lost, nothing twice)" "all_same"

# 4. the same failure with retries (the default): survived in the same process (#15)
empty_target
task t4 extractor.parallel_type=chunk extractor.parallel_size=4 extractor.batch_size=300
out=$(TL_DEBUG_FAIL=write_batch:40:transient "$TL_BIN" run "$work/t4.ini" 2>&1); rc=$?
tl_sh_check "injected transient failure retried: the run finishes (rc $rc)" "[ $rc -eq 0 ] && grep -q 'transient failure, retry 1 of' '$work/logs-t4/default.log'"
tl_sh_check "after the retry: target equals source (nothing lost, nothing twice)" "all_same"

"${S[@]}" -e "DROP DATABASE $db"; "${D[@]}" -e "DROP DATABASE $db"
tl_sh_result
