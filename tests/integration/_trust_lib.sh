# shellcheck shell=bash
# _trust_lib.sh - the end-to-end cases of issue #18 ("trust but verify the target") for a
# relational kind, shared by trust_mysql.sh and trust_pg.sh (not a test itself: ctest
# skips names starting with "_"). Each case ends with target = source or a clear refusal:
#
#   lost_ours      a run killed mid-copy (TL_DEBUG_CRASH), the target table dropped and
#                  recreated empty: plan says the table starts over, the run does and
#                  logs why, target = source
#   lost_foreign   the same into a target that held rows before the task: plan and run
#                  refuse naming the table, the missing row and --recopy-lost; run
#                  --recopy-lost copies it again, target = source + the foreign rows
#   lost_split     a keyless table split in chunk mode (the recorded bound is looked up),
#                  dropped and recreated mid-copy: starts over, target = source
#   two_tasks      two tasks on one target table: the second refuses naming the first;
#                  two started together on a keyless table: one copies, the other
#                  refuses, no row twice; a task killed mid-table leaves no claim behind
#   recopy         finished tables truncated / partly deleted afterwards: plan warns, run
#                  --recopy-lost copies exactly those again (a table not touched is
#                  skipped), target = source
#
# Usage (from trust_<kind>.sh): source this file, then trust_main mysql|pg.

TRUST_BIG=20000       # rows of the keyed tables
TRUST_SLOW=150000     # rows of the table two tasks race for

trust_sql() { # src|dst SQL...
  local side=$1 url; shift
  if [ "$TK" = mysql ]; then
    if [ "$side" = src ]; then url=$TL_MYSQL_SRC_URL; else url=$TL_MYSQL_DST_URL; fi
    url=${url#mysql://}; url=${url#*@}
    mariadb --no-defaults --protocol=TCP -h "${url%%:*}" -P "${url##*:}" -uroot -N -B -e "$*"
  else
    if [ "$side" = src ]; then url=$TL_PG_SRC_URL; else url=$TL_PG_DST_URL; fi
    printf '%s\n' "$*" | PGOPTIONS='-c client_min_messages=warning' psql -X -q -tA -v ON_ERROR_STOP=1 -d "$url" -f -
  fi
}

# trust_make TABLE ROWS [keyless]: the table with ROWS rows on the source, empty on the target.
trust_make() {
  local t="$TDB.$1" rows=$2 ddl gen
  if [ "${3:-}" = keyless ]; then ddl="CREATE TABLE $t (n INT, v VARCHAR(40))"
  else ddl="CREATE TABLE $t (id INT PRIMARY KEY, v VARCHAR(40))"; fi
  if [ "$TK" = mysql ]; then gen="INSERT INTO $t SELECT seq, CONCAT('v', seq) FROM $TDB.seq_1_to_$rows"
  else gen="INSERT INTO $t SELECT g, 'v' || g FROM generate_series(1, $rows) g"; fi
  trust_sql src "DROP TABLE IF EXISTS $t; $ddl; $gen" && trust_sql dst "DROP TABLE IF EXISTS $t; $ddl"
}

# trust_digest src|dst TABLE [WHERE]: "count sum-of-row-hashes" (a multiset digest: a row
# twice changes it).
trust_digest() {
  local w=${3:+WHERE $3}
  if [ "$TK" = mysql ]; then
    trust_sql "$1" "SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('|', t.v, t.$(trust_first_col "$2")))), 0) FROM $TDB.$2 t $w"
  else
    trust_sql "$1" "SELECT count(*), coalesce(sum(hashtext(t::text)::bigint), 0) FROM $TDB.$2 t $w" | tr '|' '\t'
  fi
}
trust_first_col() { if trust_sql src "SELECT id FROM $TDB.$1 LIMIT 0" >/dev/null 2>&1; then echo id; else echo n; fi; }

trust_broken() { # WHAT: a setup step failed (a failure, never a silent pass)
  tl_sh_check "$1" false
}

trust_same() { # TABLE [WHERE]: the target's rows are the source's
  [ "$(trust_digest src "$1" "${2:-}")" = "$(trust_digest dst "$1" "${2:-}")" ]
}

# trust_task NAME TABLES [SECTION.KEY=VALUE...]: $work/NAME.ini, logs in $work/NAME
trust_task() {
  local name=$1 tables=$2 src dst
  shift 2
  if [ "$TK" = mysql ]; then src=$TL_MYSQL_SRC_URL; dst=$TL_MYSQL_DST_URL; else src=$TL_PG_SRC_URL; dst=$TL_PG_DST_URL; fi
  tl_sh_task "$work/$name.ini" "$TK" "$src" "$dst" global.task_id="$name" extractor.batch_size=500 \
    filter.do_tbs="$tables" pipeline.checkpoint_interval_secs=0 runtime.log_dir="$work/$name" \
    resumer.resume_type=from_log "$@"
}

# (TRUST_VERBOSE=1: every run's and plan's output is shown)
trust_run() { # NAME [ARGS...]: runs, output in $out, status in $rc
  out=$("$TL_BIN" run "$work/$1.ini" "${@:2}" 2>&1); rc=$?
  [ -z "${TRUST_VERBOSE:-}" ] || printf -- '-- run %s %s (rc %s)\n%s\n' "$1" "${*:2}" "$rc" "$out"
}
trust_plan() { # NAME [ARGS...]: plan output in $planout
  planout=$("$TL_BIN" plan "$work/$1.ini" "${@:2}" 2>&1)
  [ -z "${TRUST_VERBOSE:-}" ] || printf -- '-- plan %s %s\n%s\n' "$1" "${*:2}" "$planout"
}
trust_crash() { # NAME N: a run that kills itself after its N-th target commit
  out=$(TL_DEBUG_CRASH=after_target_commit:$2 "$TL_BIN" run "$work/$1.ini" 2>&1); rc=$?
}
trust_recreate() { # TABLE [keyless]: the target table dropped and created again, empty
  local t="$TDB.$1"
  if [ "${2:-}" = keyless ]; then trust_sql dst "DROP TABLE $t; CREATE TABLE $t (n INT, v VARCHAR(40))"
  else trust_sql dst "DROP TABLE $t; CREATE TABLE $t (id INT PRIMARY KEY, v VARCHAR(40))"; fi
}

case_lost_ours() {
  trust_make big $TRUST_BIG || { trust_broken "${FUNCNAME[0]}: setup"; return; }
  trust_task lo "$TDB.big"
  trust_crash lo 8
  tl_sh_check "lost_ours: the first run died mid-copy with a position of big (rc $rc)" \
    "[ $rc -ne 0 ] && grep -q '\"tb\":\"big\"' '$work/lo/position.log'"
  trust_recreate big
  trust_plan lo
  tl_sh_check "lost_ours: plan says the table starts over" \
    "echo \"\$planout\" | grep -q 'big.*the target lost rows since the last checkpoint: the row with id = .* is missing.*copied again from the beginning'"
  trust_run lo
  tl_sh_check "lost_ours: the run copies it again (rc $rc)" "[ $rc -eq 0 ]"
  tl_sh_check "lost_ours: the run says why" "grep -q 'WARN.*big: the target lost rows since the last checkpoint' '$work/lo/default.log'"
  tl_sh_check "lost_ours: target = source" "trust_same big"
}

case_lost_foreign() {
  local foreign="INSERT INTO $TDB.big VALUES (900001, 'f1'), (900002, 'f2'), (900003, 'f3')"
  trust_make big $TRUST_BIG || { trust_broken "${FUNCNAME[0]}: setup"; return; }
  trust_sql dst "$foreign"
  trust_task lf "$TDB.big"
  trust_crash lf 8
  tl_sh_check "lost_foreign: the first run died mid-copy (rc $rc)" "[ $rc -ne 0 ] && grep -q '\"tb\":\"big\"' '$work/lf/position.log'"
  trust_recreate big
  trust_sql dst "$foreign"
  trust_plan lf
  tl_sh_check "lost_foreign: plan refuses" "echo \"\$planout\" | grep -q '^REFUSE .*big .*the row with id = .* is missing.*--recopy-lost'"
  trust_run lf
  tl_sh_check "lost_foreign: the run refuses naming table, row, counts and --recopy-lost (rc $rc)" \
    "[ $rc -ne 0 ] && echo \"\$out\" | grep -q 'big: the target lost rows since the last checkpoint: the row with id = [0-9]* is missing, the target holds .*3 rows where [0-9]* were recorded as copied.*--recopy-lost'"
  trust_run lf --recopy-lost
  tl_sh_check "lost_foreign: run --recopy-lost copies it again (rc $rc)" "[ $rc -eq 0 ]"
  tl_sh_check "lost_foreign: target = source, foreign rows kept" \
    "trust_same big 'id <= $TRUST_BIG' && [ \"\$(trust_sql dst 'SELECT COUNT(*) FROM $TDB.big')\" -eq $((TRUST_BIG + 3)) ]"
}

case_lost_split() {
  trust_make kl $TRUST_BIG keyless || { trust_broken "${FUNCNAME[0]}: setup"; return; }
  trust_task ls "$TDB.kl" extractor.parallel_type=chunk extractor.parallel_size=2
  trust_crash ls 20
  tl_sh_check "lost_split: the first run died mid-copy with a split position (rc $rc)" \
    "[ $rc -ne 0 ] && grep -q '\"tb\":\"kl\"' '$work/ls/position.log'"
  trust_recreate kl keyless
  trust_run ls
  tl_sh_check "lost_split: the run starts over, saying why (rc $rc)" \
    "[ $rc -eq 0 ] && grep -q 'kl: the target lost rows since the last checkpoint: the row with n = [0-9]* is missing' '$work/ls/default.log'"
  tl_sh_check "lost_split: target = source (no row twice)" "trust_same kl"
}

case_two_tasks() {
  local pid rc_a rc_b out_a
  trust_make slow $TRUST_SLOW || { trust_broken "${FUNCNAME[0]}: setup"; return; }
  trust_task ta "$TDB.slow" extractor.batch_size=200
  trust_task tb "$TDB.slow" extractor.batch_size=200
  "$TL_BIN" run "$work/ta.ini" > "$work/ta.out" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    grep -q '"tb":"slow"' "$work/ta/position.log" 2>/dev/null && break
    sleep 0.05
  done
  trust_run tb
  tl_sh_check "two_tasks: the second task refuses naming the first (rc $rc)" \
    "[ $rc -ne 0 ] && echo \"\$out\" | grep -q 'slow.* is being written by another task: ' && { [ $TK = mysql ] || echo \"\$out\" | grep -q \"tideline task 'ta'\"; }"
  wait $pid; rc_a=$?
  tl_sh_check "two_tasks: the first one finishes (rc $rc_a)" "[ $rc_a -eq 0 ]"
  tl_sh_check "two_tasks: target = source" "trust_same slow"

  # two tasks started together on a keyless table: one copies it, the other refuses
  trust_make kl2 $TRUST_BIG keyless || { trust_broken "${FUNCNAME[0]}: setup"; return; }
  trust_task ka "$TDB.kl2"
  trust_task kb "$TDB.kl2"
  "$TL_BIN" run "$work/ka.ini" > "$work/ka.out" 2>&1 &
  pid=$!
  "$TL_BIN" run "$work/kb.ini" > "$work/kb.out" 2>&1; rc_b=$?
  wait $pid; rc_a=$?
  tl_sh_check "two_tasks: of two tasks on a keyless table one copies, one refuses (rc $rc_a, $rc_b)" \
    "[ \$(( ($rc_a == 0) + ($rc_b == 0) )) -eq 1 ] && grep -qE 'is being written by another task|did not write' '$work/ka.out' '$work/kb.out'"
  tl_sh_check "two_tasks: no row twice" "trust_same kl2"

  # a task killed mid-table leaves no claim: another task copies the table at once
  trust_recreate slow
  trust_task tc "$TDB.slow" extractor.batch_size=200
  trust_task td "$TDB.slow"
  "$TL_BIN" run "$work/tc.ini" > "$work/tc.out" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    grep -q '"tb":"slow"' "$work/tc/position.log" 2>/dev/null && break
    sleep 0.05
  done
  kill -9 $pid; wait $pid 2>/dev/null
  trust_run td
  tl_sh_check "two_tasks: after the holder died, another task copies the table (rc $rc)" "[ $rc -eq 0 ] && trust_same slow"
}

case_recopy() {
  trust_make big3 $TRUST_BIG && trust_make kl3 $TRUST_BIG keyless && trust_make big4 1000 ||
    { trust_broken "${FUNCNAME[0]}: setup"; return; }
  trust_task rc "$TDB.big3,$TDB.kl3,$TDB.big4"
  trust_run rc
  tl_sh_check "recopy: the first copy (rc $rc)" "[ $rc -eq 0 ] && trust_same big3 && trust_same kl3 && trust_same big4"
  trust_sql dst "TRUNCATE TABLE $TDB.big3; DELETE FROM $TDB.kl3 WHERE n < 100"
  trust_plan rc
  tl_sh_check "recopy: plan warns about both tables" \
    "echo \"\$planout\" | grep -q 'big3 *target lost rows since finished (had $TRUST_BIG, now 0)' && echo \"\$planout\" | grep -q 'kl3 *target lost rows since finished'"
  trust_run rc
  tl_sh_check "recopy: a plain run skips them, with the warning (rc $rc)" \
    "[ $rc -eq 0 ] && ! trust_same big3 && grep -q 'big3: target lost rows since finished' '$work/rc/default.log'"
  trust_plan rc --recopy-lost
  tl_sh_check "recopy: plan --recopy-lost starts them again, skips the other" \
    "echo \"\$planout\" | grep -q '^start  $TDB.big3' && echo \"\$planout\" | grep -q '^start  $TDB.kl3' && echo \"\$planout\" | grep -q '^skip   $TDB.big4'"
  trust_run rc --recopy-lost
  tl_sh_check "recopy: run --recopy-lost (rc $rc)" "[ $rc -eq 0 ] && grep -q 'big3: --recopy-lost: target lost rows since finished' '$work/rc/default.log'"
  tl_sh_check "recopy: target = source, no row twice" "trust_same big3 && trust_same kl3 && trust_same big4"
  tl_sh_check "recopy: the old logs were moved aside" "ls '$work/rc/' | grep -q 'finished.log.recopy-lost-'"
  trust_run rc
  tl_sh_check "recopy: a later plain run skips everything, no warning (rc $rc)" \
    "[ $rc -eq 0 ] && ! echo \"\$out\" | grep -q 'lost rows' && trust_same big3 && trust_same kl3"
}

trust_main() {
  TK=$1
  if [ "$TK" = mysql ]; then
    tl_sh_setup "trust-$TK" TL_MYSQL_SRC_URL TL_MYSQL_DST_URL
    TDB=tl_trust
    trust_sql src "DROP DATABASE IF EXISTS $TDB; CREATE DATABASE $TDB" && trust_sql dst "DROP DATABASE IF EXISTS $TDB; CREATE DATABASE $TDB" || exit 1
  else
    tl_sh_setup "trust-$TK" TL_PG_SRC_URL TL_PG_DST_URL
    TDB=tl_trust
    trust_sql src "DROP SCHEMA IF EXISTS $TDB CASCADE; CREATE SCHEMA $TDB" && trust_sql dst "DROP SCHEMA IF EXISTS $TDB CASCADE; CREATE SCHEMA $TDB" || exit 1
  fi
  work=$TL_SH_TMPDIR
  case_lost_ours
  case_lost_foreign
  case_lost_split
  case_two_tasks
  case_recopy
  tl_sh_result
}
