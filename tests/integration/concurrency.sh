#!/usr/bin/env bash
# concurrency.sh - the store is safe to read while a run writes (WAL): `tideline status`
# and `sqlite3 checkpoint.db` loop during a run that checkpoints after every batch, and
# none of them may fail with "database is locked" or see a torn state; a second run of
# the same task started meanwhile must refuse with a clear message naming the holder.
# Like any WAL database, ad-hoc sqlite3 readers set a busy timeout (.timeout): a process
# closing its connection briefly holds the lock that decides whether it was the last one.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
tl_sh_setup conc TL_MYSQL_SRC_URL TL_MYSQL_DST_URL; work=$TL_SH_TMPDIR
S=(tl_sh_mysql "$TL_MYSQL_SRC_URL"); D=(tl_sh_mysql "$TL_MYSQL_DST_URL")
db=tl_conc
tl_sh_mysql_db $db "CREATE TABLE $db.t (id INT PRIMARY KEY, v VARCHAR(40));" \
  "INSERT INTO t SELECT seq, MD5(seq) FROM seq_1_to_150000"
tl_sh_task "$work/task.ini" mysql "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" global.task_id=conc \
  extractor.batch_size=200 filter.do_dbs=$db pipeline.checkpoint_interval_secs=0 \
  runtime.log_dir="$work/logs" resumer.resume_type=from_log
pid=
# shellcheck disable=SC2016  # expanded at exit
tl_sh_on_exit '[ -z "$pid" ] || kill -9 $pid 2>/dev/null'
"$TL_BIN" run "$work/task.ini" > "$work/run.out" 2>&1 &
pid=$!
# readers start once the store is set up (its creation switches the journal mode, which locks)
for _ in $(seq 1 200); do [ -s "$work/logs/position.log" ] && break; sleep 0.05; done
reads=0; errors=0; refused=0; second=0
while kill -0 $pid 2>/dev/null; do
  if ! out=$("$TL_BIN" status --store "$work/logs/checkpoint.db" 2>&1); then
    errors=$((errors+1)); echo "status failed: $out"
  elif echo "$out" | grep -qi locked; then errors=$((errors+1)); echo "status: $out"; fi
  if ! out=$(sqlite3 -cmd '.timeout 5000' "$work/logs/checkpoint.db" 'select count(*), coalesce(sum(rows_copied),0) from progress' 2>&1); then
    errors=$((errors+1)); echo "sqlite3 failed: $out"
  fi
  reads=$((reads+2))
  if [ $second -eq 0 ]; then
    second=1
    out=$("$TL_BIN" run "$work/task.ini" 2>&1) && { echo "second run did not refuse"; errors=$((errors+1)); }
    echo "$out" | grep -q "is being run by pid $pid" && refused=1
  fi
done
wait $pid; rc=$?; pid=
n=$("${D[@]}" -e "SELECT COUNT(*) FROM $db.t")
"${S[@]}" -e "DROP DATABASE $db"; "${D[@]}" -e "DROP DATABASE $db"
echo "run exit $rc, $n rows, $reads reads during the run, $errors reader errors, second run refused: $refused"
[ $rc -eq 0 ] && [ "$n" = 150000 ] && [ $errors -eq 0 ] && [ $refused -eq 1 ] && [ $reads -ge 4 ]
