#!/usr/bin/env bash
# store_rows.sh - the store's per-table row count means "rows of this table committed on
# the target" (#19): a run that fails records its last committed position on the way out
# (so the store counts exactly the target's rows), and the rerun ends with status counting
# every row once (not the 654,440-for-596,703 of the issue); while the table is failed,
# status shows no rate and no ETA for it. The failure is real: the test kills tideline's
# target session (retries off: with them the run would survive it, #15).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
tl_sh_setup rows TL_MYSQL_SRC_URL TL_MYSQL_DST_URL; work=$TL_SH_TMPDIR
S=(tl_sh_mysql "$TL_MYSQL_SRC_URL"); D=(tl_sh_mysql "$TL_MYSQL_DST_URL")
db=tl_rows n=1000000
tl_sh_mysql_db $db "CREATE TABLE $db.t (id INT PRIMARY KEY, v VARCHAR(40));" \
  "INSERT INTO t SELECT seq, MD5(seq) FROM seq_1_to_$n"
tl_sh_task "$work/task.ini" mysql "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" global.task_id=rows \
  extractor.batch_size=300 filter.do_dbs=$db pipeline.checkpoint_interval_secs=2 \
  pipeline.retry_max_attempts=0 runtime.log_dir="$work/logs" resumer.resume_type=from_log
pid=
# shellcheck disable=SC2016  # expanded at exit
tl_sh_on_exit '[ -z "$pid" ] || kill -9 $pid 2>/dev/null; "${S[@]}" -e "DROP DATABASE IF EXISTS $db"; "${D[@]}" -e "DROP DATABASE IF EXISTS $db"'
"$TL_BIN" run "$work/task.ini" > "$work/run1.out" 2>&1 &
pid=$!
# once a position is recorded and more rows are in, kill the target session between checkpoints
for _ in $(seq 1 400); do [ -s "$work/logs/position.log" ] && break; sleep 0.05; done
sleep 0.7
killed=0
# (the throwaway target server serves only this test now: every other session is tideline's)
for id in $("${D[@]}" -e "SELECT id FROM information_schema.PROCESSLIST WHERE id <> CONNECTION_ID() AND user = 'root'" 2>/dev/null); do
  "${D[@]}" -e "KILL $id" 2>/dev/null && killed=1
done
wait $pid; rc1=$?; pid=
mid=$("${D[@]}" -e "SELECT COUNT(*) FROM $db.t")
stored=$(sqlite3 "$work/logs/checkpoint.db" "SELECT rows_copied FROM task_table WHERE tb = 't'")
status1=$("$TL_BIN" status "$work/task.ini")
echo "$status1"
tl_sh_check "the first run failed (target session killed: $killed)" '[ $rc1 -ne 0 ] && [ $killed -eq 1 ]'
tl_sh_check "the failure exit recorded the last committed position ($mid on the target, $stored in the store)" \
  '[ "$mid" -gt 0 ] && [ "$mid" -eq "$stored" ]'
tl_sh_check "a failed table has no rate and no ETA" \
  'echo "$status1" | awk '"'"'$1 == "tl_rows.t" { exit !($2 == "failed" && $6 == "-" && $7 == "-") }'"'"''
"$TL_BIN" run "$work/task.ini" > "$work/run2.out" 2>&1; rc2=$?
status2=$("$TL_BIN" status --json "$work/task.ini")
rows=$(echo "$status2" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["tasks"][0]["tables"][0]["rows_copied"])')
total=$(echo "$status2" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["tasks"][0]["total"]["rows_copied"])')
target=$("${D[@]}" -e "SELECT COUNT(*) FROM $db.t")
tl_sh_check "the rerun finished (exit $rc2) with every row on the target ($target)" '[ $rc2 -eq 0 ] && [ "$target" = $n ]'
tl_sh_check "status counts each row once: $rows for the table, $total in total (of $n)" \
  '[ "$rows" = $n ] && [ "$total" = $n ]'
tl_sh_result
