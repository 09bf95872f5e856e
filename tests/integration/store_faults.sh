#!/usr/bin/env bash
# store_faults.sh - a store that cannot be written ends the run with a clear error naming
# the store, never a signal (#18: `chattr +i checkpoint.db*` mid-run was SIGBUS), and the
# store and the text logs stay consistent: every position in either is covered by rows on
# the target, the store is at most one checkpoint ahead of position.log (the recorder
# writes the store first; a failed store write adds no log line), and a rerun once the
# fault is gone finishes with target = source. Real runs:
#   1. chattr +i on checkpoint.db, -wal and -shm mid-run;
#   2. chattr +i on the -shm alone mid-run (the mapped wal-index: the old SIGBUS);
#   3. the store on a read-only mount;
#   4. the store on a full device (a 384 KiB tmpfs the WAL outgrows).
# An I/O error and a -shm that cannot grow are injected below SQLite in
# tests/unit/test_store_faults.c. Parts 1-2 need chattr on /tmp's file system, 3-4 need
# mount (root): each is skipped with a message when unavailable.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
tl_sh_setup faults TL_MYSQL_SRC_URL TL_MYSQL_DST_URL; work=$TL_SH_TMPDIR
S=(tl_sh_mysql "$TL_MYSQL_SRC_URL"); D=(tl_sh_mysql "$TL_MYSQL_DST_URL")
db=tl_faults n=1500000 batch=300
tl_sh_mysql_db $db "CREATE TABLE $db.t (id INT PRIMARY KEY, v VARCHAR(40));" \
  "INSERT INTO t SELECT seq, MD5(seq) FROM seq_1_to_$n"
pid= mnt=()
# shellcheck disable=SC2016  # expanded at exit
tl_sh_on_exit '[ -z "$pid" ] || kill -9 $pid 2>/dev/null; chattr -i "$work"/*/checkpoint.db* 2>/dev/null;
  for m in "${mnt[@]}"; do umount "$m" 2>/dev/null; done;
  "${S[@]}" -e "DROP DATABASE IF EXISTS $db"; "${D[@]}" -e "DROP DATABASE IF EXISTS $db"'

task() { # NAME [STORE]: task file $work/NAME.ini with logs in $work/NAME
  tl_sh_task "$work/$1.ini" mysql "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" global.task_id="$1" \
    extractor.batch_size=$batch filter.do_dbs=$db pipeline.checkpoint_interval_secs=0 \
    runtime.log_dir="$work/$1" resumer.resume_type=from_log ${2:+resumer.store=$2}
}
fresh_target() { "${D[@]}" -e "TRUNCATE TABLE $db.t"; }
log_key() { tail -n 1 "$1/position.log" 2>/dev/null | sed 's/.*"value":"\([0-9]*\)".*/\1/'; }
store_key() { sqlite3 -cmd '.timeout 5000' "$1" "SELECT json_extract(order_key, '\$.single[1]') FROM position WHERE kind = 'current'"; }
covered() { [ "$("${D[@]}" -e "SELECT COUNT(*) FROM $db.t WHERE id <= ${1:-0}")" = "${1:-0}" ]; }

# check_fault NAME STORE RC OUT: the run ended with an error naming STORE, not a signal, and
# store and log are consistent with the target.
check_fault() {
  local name=$1 store=$2 rc=$3 out=$4 lk sk
  lk=$(log_key "$work/$name"); sk=$(store_key "$store")
  tl_sh_check "$name: exit $rc is an error, not a signal" '[ "$rc" -ge 1 ] && [ "$rc" -lt 128 ]'
  tl_sh_check "$name: the error names the store" 'grep -q "error: .*store '"'"'$store" "$out"'
  tl_sh_check "$name: store at $sk, log at $lk: at most one checkpoint apart, store first" \
    '[ -n "$sk" ] && [ -n "$lk" ] && [ "$sk" -ge "$lk" ] && [ $((sk - lk)) -le $batch ]'
  tl_sh_check "$name: every row up to the store's position is on the target" 'covered "$sk"'
}

# rerun NAME: once the fault is gone, the task finishes and target = source
rerun() {
  local rc cnt
  "$TL_BIN" run "$work/$1.ini" > "$work/$1.rerun" 2>&1; rc=$?
  cnt=$("${D[@]}" -e "SELECT COUNT(*) FROM $db.t")
  tl_sh_check "$1: the rerun finishes (exit $rc) with $cnt of $n rows" '[ $rc -eq 0 ] && [ "$cnt" = $n ]'
}

# mid_run NAME FILES...: starts the task, makes FILES immutable once the store is busy
mid_run() {
  local name=$1; shift
  fresh_target; task "$name"
  "$TL_BIN" run "$work/$name.ini" > "$work/$name.out" 2>&1 &
  pid=$!
  for _ in $(seq 1 400); do [ -e "$work/$name/checkpoint.db-shm" ] && [ -s "$work/$name/position.log" ] && break; sleep 0.05; done
  sleep 0.5
  chattr +i "$@"
  wait $pid; rc=$?; pid=
  chattr -i "$work/$name"/checkpoint.db*
  cat "$work/$name.out"
}

touch "$work/probe" && if chattr +i "$work/probe" 2>/dev/null; then
  chattr -i "$work/probe"
  mid_run immutable "$work/immutable/checkpoint.db" "$work/immutable/checkpoint.db-wal" "$work/immutable/checkpoint.db-shm"
  check_fault immutable "$work/immutable/checkpoint.db" $rc "$work/immutable.out"
  rerun immutable
  mid_run shm "$work/shm/checkpoint.db-shm"
  check_fault shm "$work/shm/checkpoint.db" $rc "$work/shm.out"
  tl_sh_check "shm: the error says the -shm file cannot be written" \
    'grep -q "cannot write its shared-memory file .*checkpoint.db-shm" "$work/shm.out"'
  rerun shm
else
  echo "skipped: chattr +i does not work on $work's file system (parts 1-2)"
fi

mkdir -p "$work/rw" "$work/ro"
if mount --bind "$work/rw" "$work/ro" 2>/dev/null && mnt+=("$work/ro") && mount -o remount,bind,ro "$work/ro" 2>/dev/null; then
  # a store made earlier, now on a read-only mount
  fresh_target; task rostore "$work/ro/checkpoint.db"
  "$TL_BIN" import --store "$work/rw/checkpoint.db" --task-id rostore /dev/null >/dev/null 2>&1
  [ -s "$work/rw/checkpoint.db" ] || echo "FAIL: no store was made for the read-only part"
  "$TL_BIN" run "$work/rostore.ini" > "$work/ro.out" 2>&1; rc=$?
  cat "$work/ro.out"
  tl_sh_check "read-only: exit $rc is an error, not a signal" '[ "$rc" -ge 1 ] && [ "$rc" -lt 128 ]'
  tl_sh_check "read-only: the error names the store" 'grep -q "error: .*store '"'"'$work/ro/checkpoint.db" "$work/ro.out"'
  tl_sh_check "read-only: nothing was copied" '[ "$("${D[@]}" -e "SELECT COUNT(*) FROM $db.t")" = 0 ]'
  umount "$work/ro"; mnt=()
else
  echo "skipped: cannot make a read-only bind mount (part 3; needs root)"
fi

mkdir -p "$work/full"
if mount -t tmpfs -o size=384k tmpfs "$work/full" 2>/dev/null; then
  mnt+=("$work/full")
  fresh_target; task full "$work/full/checkpoint.db"
  "$TL_BIN" run "$work/full.ini" > "$work/full.out" 2>&1; rc=$?
  cat "$work/full.out"
  check_fault full "$work/full/checkpoint.db" $rc "$work/full.out"
  tl_sh_check "full: the error says the disk is full" 'grep -q "disk is full" "$work/full.out"'
  # room again: the same store (same files) finishes the task
  cp -a "$work/full/." "$work/full-copy/" 2>/dev/null || { mkdir -p "$work/full-copy"; cp -a "$work/full/." "$work/full-copy/"; }
  umount "$work/full"; mnt=()
  cp -a "$work/full-copy/." "$work/full/"
  rerun full
else
  echo "skipped: cannot mount a tmpfs (part 4; needs root)"
fi
tl_sh_result
