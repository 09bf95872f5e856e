# shellcheck shell=bash
# _schema.sh - the crash scenario of a whole-database copy into an empty server (#14,
# docs/schema.md), for tests/crash/pg_schema.sh and mysql_schema.sh. Sources _lib.sh
# (the dataset, runs, comparisons of rows) and adds definitions to the source: secondary
# indexes on big (one slow to build, so that a kill can land inside it), a foreign key, a
# view, an audit trigger and a sequence / AUTO_INCREMENT counter. The target starts empty;
# tideline creates everything.
#
# cr_scenario_schema: every trial ends with a run that must leave the target equal to the
# source in definitions (pg_dump -s of the schema; SHOW CREATE of every object and the
# counters) and rows (cr_check), with no object twice and no index left invalid:
#   creating   TL_DEBUG_CRASH=schema_before_create:3 (a table recorded as this task's, not
#              made yet), then schema_after_apply:5 (a step done, not recorded), then a run;
#   mid-data   SIGKILL while big is 10-90% copied into the table created without its keys;
#              the next run removes the rows past the checkpoint (delete_after_key) and
#              loads the rest in bulk - never an upsert;
#   mid-index  SIGKILL while the target builds big's slow index; the next run builds it;
#   random     two SIGKILLs at random moments (0.3-6 s), then a run.

# (a smaller big table than the row-copy tests: every trial copies everything again)
: "${CR_BIG_ROWS:=200000}"
# shellcheck source-path=SCRIPTDIR source=_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"


cr_schema_extra_sql() { # the definitions tideline must carry over, beyond the tables' keys
  local db; db=$(cr_q "$CR_DB")
  if [ "$CR_KIND" = mysql ]; then cat <<SQL
USE $db;
ALTER TABLE big ADD KEY k_a (a), ADD KEY k_b (b), ADD KEY k_cd (c, d), ADD KEY k_pad (pad(60));
CREATE TABLE audit (n INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(40));
CREATE TABLE counter (id INT AUTO_INCREMENT PRIMARY KEY, v INT);
INSERT INTO counter (v) SELECT seq FROM seq_1_to_77;
CREATE TRIGGER large_ai AFTER INSERT ON large FOR EACH ROW INSERT INTO audit (what) VALUES (CONCAT('large ', NEW.id));
CREATE TABLE kid (id INT PRIMARY KEY, big_id BIGINT, CONSTRAINT kid_big FOREIGN KEY (big_id) REFERENCES big (id));
INSERT INTO kid SELECT seq, seq * 3 FROM seq_1_to_500;
CREATE VIEW v_small AS SELECT id, a FROM big WHERE a < 10;
SQL
  else cat <<SQL
SET search_path = $db;
-- an index slow to build (a millisecond every 100 rows): a kill can land inside it
CREATE FUNCTION slow(i int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS \$\$
BEGIN IF i % 100 = 0 THEN PERFORM pg_sleep(0.001); END IF; RETURN i; END \$\$;
CREATE INDEX big_slow ON big (slow(a));
CREATE INDEX big_b ON big (b);
CREATE TABLE audit (n serial PRIMARY KEY, what text);
CREATE TABLE counter (id serial PRIMARY KEY, v int);
INSERT INTO counter (v) SELECT g FROM generate_series(1, 77) g;
CREATE FUNCTION note() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN INSERT INTO audit (what) VALUES ('large ' || NEW.id); RETURN NEW; END \$\$;
CREATE TRIGGER large_ai AFTER INSERT ON large FOR EACH ROW EXECUTE FUNCTION note();
ALTER TABLE comp ADD CONSTRAINT comp_big FOREIGN KEY (k1) REFERENCES big (id);
CREATE VIEW v_small AS SELECT id, a FROM big WHERE a < 10;
SQL
  fi
}

cr_schema_dataset() { # the source with data and definitions; the target empty
  local t0=$SECONDS
  cr_src "$(cr_schema_sql)" || return 1
  cr_src "$(cr_data_sql)" || { sleep 1; cr_src "$(cr_schema_sql)" && cr_src "$(cr_data_sql)"; } || return 1
  cr_src "$(cr_schema_extra_sql)" || return 1
  cr_summary src > "$CR_WORK/src.summary" || return 1
  cr_defs src > "$CR_WORK/src.defs" || return 1
  cr_drop_db dst >/dev/null || return 1
  cr_log "dataset $CR_DB: big $CR_BIG_ROWS rows + comp/nuk/keyless/large, indexes, a foreign key, a view, a trigger, $((SECONDS - t0)) s"
}

# cr_defs SIDE: the definitions of the test database as the stage-1 tests compare them, and
# what no definition shows: counters, the audit table's rows, invalid indexes.
cr_defs() {
  local side=$1 url
  if [ "$CR_KIND" = mysql ]; then
    local kind name
    cr_sql "$side" "SHOW CREATE DATABASE $(cr_q "$CR_DB")"
    while IFS=$'\t' read -r kind name; do
      case $kind in
        TABLE|VIEW) cr_sql "$side" "SHOW CREATE $kind $(cr_tbl "$name")" | cut -f1-2 ;;
        *) cr_sql "$side" "SHOW CREATE $kind $(cr_tbl "$name")" | cut -f1-3 ;;
      esac
    done < <(cr_sql src "SELECT 'TABLE', TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$CR_DB'
      AND TABLE_TYPE = 'BASE TABLE' UNION ALL SELECT 'VIEW', TABLE_NAME FROM information_schema.VIEWS
      WHERE TABLE_SCHEMA = '$CR_DB' UNION ALL SELECT 'TRIGGER', TRIGGER_NAME FROM information_schema.TRIGGERS
      WHERE TRIGGER_SCHEMA = '$CR_DB' ORDER BY 1, 2") | sed -e 's/DEFINER=`[^`]*`@`[^`]*` //g' -e 's/ AUTO_INCREMENT=[0-9]*//g'
    cr_sql "$side" "SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$CR_DB' ORDER BY 1"
    cr_sql "$side" "SELECT COUNT(*) FROM $(cr_tbl audit)"
  else
    [ "$side" = src ] && url=$TL_PG_SRC_URL || url=$TL_PG_DST_URL
    pg_dump -s -O -x -n "$CR_DB" -d "$url" | grep -v -e '^--' -e '^\\restrict' -e '^\\unrestrict' -e '^$'
    cr_sql "$side" "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = '$CR_DB' ORDER BY 1"
    cr_sql "$side" "SELECT count(*) FROM $(cr_tbl audit)"
    cr_sql "$side" "SELECT 'invalid index ' || indexrelid::regclass FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '$CR_DB' AND NOT i.indisvalid"
  fi
}

# cr_schema_check LABEL: definitions equal (the diff shown when not), then the rows.
cr_schema_check() {
  cr_defs dst > "$CR_WORK/dst.defs" 2>&1
  if ! cmp -s "$CR_WORK/src.defs" "$CR_WORK/dst.defs"; then
    diff "$CR_WORK/src.defs" "$CR_WORK/dst.defs" | head -n 30
    cr_fail "$1: the target's definitions differ from the source's"
  fi
  cr_check "$1"
  cr_log "$1: definitions equal ($(wc -l < "$CR_WORK/src.defs") lines: every object, counters, audit rows)"
}

cr_schema_task() { # DIR [PAR]: a task that creates what is missing (the default)
  CR_PAR=${2:-2} CR_CKPT=1 cr_task "$1"
}

# cr_wait_index: until the target builds big's slow index (PG) / adds big's keys (MySQL).
cr_wait_index() {
  local t0=$SECONDS q
  if [ "$CR_KIND" = mysql ]; then
    q="SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'ALTER TABLE%big%ADD%'"
  else
    q="SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%CREATE INDEX big_slow%'"
  fi
  while [ $((SECONDS - t0)) -lt 120 ]; do
    kill -0 "$CR_PID" 2>/dev/null || return 1
    [ "$(cr_dst "$q" 2>/dev/null)" = 1 ] && return 0
    sleep 0.05
  done
  return 2
}

cr_scenario_schema() {
  local dir w t0=$SECONDS
  cr_schema_dataset || cr_fail "creating the dataset"

  dir=$CR_WORK/creating
  cr_schema_task "$dir" 1
  cr_run_fg "$dir" TL_DEBUG_CRASH=schema_before_create:3
  [ "$CR_RC" = 137 ] || cr_fail "creating: TL_DEBUG_CRASH=schema_before_create:3 did not kill the run (exit $CR_RC)"
  cr_run_fg "$dir" TL_DEBUG_CRASH=schema_after_apply:5
  [ "$CR_RC" = 137 ] || cr_fail "creating: TL_DEBUG_CRASH=schema_after_apply:5 did not kill the run (exit $CR_RC)"
  cr_log "creating: killed before a CREATE and after a step, $(cr_sql dst "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '$CR_DB'") tables made"
  cr_run_fg "$dir"; cr_expect_done "creating: final run"
  cr_schema_check "creating"

  cr_drop_db dst >/dev/null
  dir=$CR_WORK/middata
  # at most 100,000 rows/s: big stays 10-90% copied long enough to be seen on a fast machine
  CR_RPS=100000 cr_schema_task "$dir" 1
  cr_run_bg "$dir"
  cr_wait_mid "$dir"; w=$?
  [ $w = 0 ] || { cr_reap; cr_fail "mid-data: never saw big 10-90% copied (wait status $w)"; }
  cr_stop KILL
  cr_log "mid-data: SIGKILL with $(cr_count dst big) rows of big in its new table"
  cr_run_fg "$dir"; cr_expect_done "mid-data: run 2"
  cr_new_log_has "$dir" "table $CR_DB.big: removing the target rows past the resume key" ||
    cr_fail "mid-data: run 2 did not clear big past its checkpoint"
  cr_new_log_has "$dir" "table $CR_DB.big: resuming, batch mode, insert write, the target emptied past the resume point" ||
    { grep -- "big" "$CR_WORK/.newlog" | cut -c 12- | head -n 20
      cr_fail "mid-data: run 2 did not load the rest of big with plain bulk writes"; }
  cr_schema_check "mid-data"

  cr_drop_db dst >/dev/null
  dir=$CR_WORK/midindex
  cr_schema_task "$dir" 2
  cr_run_bg "$dir"
  cr_wait_index; w=$?
  [ $w = 0 ] || { cr_reap; cr_fail "mid-index: never saw the target build big's index (wait status $w)"; }
  cr_rand_sleep 100 600
  cr_stop KILL
  cr_log "mid-index: SIGKILL while the target built big's index"
  cr_run_fg "$dir"; cr_expect_done "mid-index: run 2"
  cr_schema_check "mid-index"

  cr_drop_db dst >/dev/null
  dir=$CR_WORK/random
  cr_schema_task "$dir" 3
  cr_run_bg "$dir"; cr_rand_sleep 300 6000; cr_stop KILL
  cr_log "random: run 1 killed (exit $CR_RC), big at $(cr_count dst big 2>/dev/null || echo -) rows"
  cr_run_bg "$dir"; cr_rand_sleep 300 6000; cr_stop KILL
  cr_log "random: run 2 killed (exit $CR_RC)"
  cr_run_fg "$dir"; cr_expect_done "random: final run"
  cr_schema_check "random"
  cr_log "passed in $((SECONDS - t0)) s"
}
