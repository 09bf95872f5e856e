#!/usr/bin/env bash
# schema_run.sh - whole databases into empty servers with `tideline run` (docs/schema.md),
# one part per kind, each compared as the driver tests compare definitions:
#   PostgreSQL: tests/data/schema/pg_source.sql (every object kind) - pg_dump -s of both
#     sides, every sequence value, every table's rows; plan before (create / after data),
#     status after (done, nothing left); a rerun creates nothing; the audit trigger did not
#     fire during the load; extract_type=struct (definitions, no rows); a table that exists
#     on the target is used as it is, and with disable_foreign_key_checks=false plan names
#     its foreign key (how to proceed) and its trigger; [router] names for what is created,
#     and ignore_cols on a table to create refused.
#   MariaDB: world, DBT-3 and tests/data/schema/mysql_source.sql - SHOW CREATE of every
#     object, trigger order, AUTO_INCREMENT values, CHECKSUM TABLE; a rerun creates nothing.
#   MongoDB: collections with options and indexes - listCollections, listIndexes, documents.
# A kind whose servers are not set is left out (a failure under CI).
# shellcheck disable=SC2034  # out, rc: read by the tl_sh_check expressions (eval)
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
# shellcheck source-path=SCRIPTDIR source=../_schema.sh
source "$(dirname "$0")/../_schema.sh"
TL_BIN=$(tl_sh_tideline) || exit 1
tl_sh_tmpdir schemarun; work=$TL_SH_TMPDIR; SC_WORK=$work
ran=0

task() { # NAME KIND FILTER [SECTION.KEY=VALUE...]: $work/NAME.ini, logs in $work/logs-NAME
  local name=$1 kind=$2 filter=$3; shift 3
  tl_sh_task "$work/$name.ini" "$kind" "$(sc_url "$kind" src)" "$(sc_url "$kind" dst)" global.task_id="$name" \
    extractor.parallel_size=2 "filter.$filter" runtime.log_dir="$work/logs-$name" resumer.resume_type=from_log "$@"
}
same() { # WHAT CMD: CMD src and CMD dst print the same (the diff is shown when not)
  local a b
  a=$($2 src 2>&1); b=$($2 dst 2>&1)
  if [ "$a" = "$b" ] && [ -n "$a" ] && ! grep -q -e '^ERROR' -e 'error:' <<< "$a"; then tl_sh_check "$1" "true"
  else tl_sh_check "$1" "false"; diff <(echo "$a") <(echo "$b") | head -20; fi
}

# ---------------------------------------------------------------------------- PostgreSQL
if tl_sh_have_env TL_PG_SRC_URL TL_PG_DST_URL; then
  ran=1
  sc_pg_load && sc_pg_reset_target || { echo "FAIL: pg setup"; exit 1; }
  task pg pg "do_dbs=tls_sch,tls Other"
  out=$("$TL_BIN" plan "$work/pg.ini" 2>&1); rc=$?
  tl_sh_check "pg: plan lists what a run creates" "[ $rc -eq 0 ] && echo \"\$out\" | grep -q 'create     pre-data   table tls_sch.city' && echo \"\$out\" | grep -q 'after data table-post index tls_sch.city_pkey' && echo \"\$out\" | grep -q 'after data final      sequence value tls_sch.city_id_seq'"
  out=$("$TL_BIN" plan --json "$work/pg.ini" 2>/dev/null)
  tl_sh_check "pg: plan --json has the steps" "echo \"\$out\" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert any(s[\"action\"]==\"create\" for i in d for s in i.get(\"definitions\",[]))'"
  out=$("$TL_BIN" run "$work/pg.ini" 2>&1); rc=$?
  tl_sh_check "pg: run into an empty target (rc $rc)" "[ $rc -eq 0 ]" || echo "$out" | tail -5
  same "pg: pg_dump -s equal" sc_pg_defs
  same "pg: sequence values and rows equal" sc_pg_state
  tl_sh_check "pg: the audit trigger did not fire during the load" "[ \"\$(sc_psql src -c 'SELECT count(*) FROM tls_sch.audit_log')\" = \"\$(sc_psql dst -c 'SELECT count(*) FROM tls_sch.audit_log')\" ]"
  tl_sh_check "pg: the summary counts what was created" "echo \"\$out\" | grep -q 'definitions: 9[0-9] created'"
  out=$("$TL_BIN" status "$work/pg.ini" 2>&1)
  tl_sh_check "pg: status: every table done, nothing left" "echo \"\$out\" | grep -q 'tls_sch.city  *finished  done' && echo \"\$out\" | grep -q '0 post-data, 0 final values; 0 failed'"
  out=$("$TL_BIN" status --json "$work/pg.ini" 2>&1)
  tl_sh_check "pg: status --json" "echo \"\$out\" | /usr/bin/python3 -c 'import json,sys; t=json.load(sys.stdin)[\"tasks\"][0]; assert t[\"definitions\"][\"post_data_left\"]==0 and all(x[\"phase\"]==\"done\" for x in t[\"tables\"])'"
  out=$("$TL_BIN" run "$work/pg.ini" 2>&1); rc=$?
  tl_sh_check "pg: a rerun creates nothing" "[ $rc -eq 0 ] && echo \"\$out\" | grep -q 'definitions: 0 created, 0 set'"
  same "pg: still equal after the rerun" sc_pg_defs

  # definitions only
  sc_pg_reset_target
  task pgs pg "do_dbs=tls_sch,tls Other" extractor.extract_type=struct
  out=$("$TL_BIN" run "$work/pgs.ini" 2>&1); rc=$?
  tl_sh_check "pg: extract_type=struct (rc $rc)" "[ $rc -eq 0 ]"
  same "pg: struct: pg_dump -s equal" sc_pg_defs
  tl_sh_check "pg: struct: no rows" "[ \"\$(sc_psql dst -c 'SELECT count(*) FROM tls_sch.city')\" = 0 ]"

  # a table that exists on the target, with a foreign key and a trigger of its own
  sc_pg_reset_target
  sc_psql src -c 'DROP SCHEMA IF EXISTS tls_pre CASCADE' -c 'CREATE SCHEMA tls_pre' \
    -c 'CREATE TABLE tls_pre.a_child (id int PRIMARY KEY, parent int)' -c 'CREATE TABLE tls_pre.b_parent (id int PRIMARY KEY)' \
    -c 'INSERT INTO tls_pre.b_parent SELECT g FROM generate_series(1, 50) g' \
    -c 'INSERT INTO tls_pre.a_child SELECT g, g FROM generate_series(1, 50) g' >/dev/null
  sc_psql dst -c 'DROP SCHEMA IF EXISTS tls_pre CASCADE' -c 'CREATE SCHEMA tls_pre' \
    -c 'CREATE TABLE tls_pre.b_parent (id int PRIMARY KEY)' \
    -c 'CREATE TABLE tls_pre.a_child (id int PRIMARY KEY, parent int CONSTRAINT child_parent_fk REFERENCES tls_pre.b_parent)' \
    -c 'CREATE TABLE tls_pre.seen (n int)' \
    -c 'CREATE FUNCTION tls_pre.note() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN INSERT INTO tls_pre.seen VALUES (1); RETURN NEW; END$$' \
    -c 'CREATE TRIGGER child_note AFTER INSERT ON tls_pre.a_child FOR EACH ROW EXECUTE FUNCTION tls_pre.note()' >/dev/null
  task pgx pg "do_dbs=tls_pre" sinker.disable_foreign_key_checks=false extractor.parallel_size=1
  out=$("$TL_BIN" plan "$work/pgx.ini" 2>&1)
  tl_sh_check "pg: plan names the foreign key that load order breaks, and how to proceed" "echo \"\$out\" | grep -q 'WARN   foreign key tls_pre.a_child.child_parent_fk on tls_pre.a_child .*session_replication_role.*ADD CONSTRAINT'"
  tl_sh_check "pg: plan names the trigger that would fire" "echo \"\$out\" | grep -q 'WARN   trigger tls_pre.a_child.child_note .* fires for every copied row'"
  out=$("$TL_BIN" run "$work/pgx.ini" 2>&1); rc=$?
  tl_sh_check "pg: with checks on, the child loaded first fails on its foreign key (rc $rc)" "[ $rc -ne 0 ] && echo \"\$out\" | grep -q child_parent_fk"
  sc_psql dst -c 'TRUNCATE tls_pre.a_child, tls_pre.b_parent, tls_pre.seen' >/dev/null
  task pgy pg "do_dbs=tls_pre"
  out=$("$TL_BIN" plan "$work/pgy.ini" 2>&1)
  tl_sh_check "pg: with checks off (the default, a superuser) plan has nothing to warn" "! echo \"\$out\" | grep -v 'are not durable' | grep -q WARN && echo \"\$out\" | grep -q 'without foreign key checks and triggers'"
  out=$("$TL_BIN" run "$work/pgy.ini" 2>&1); rc=$?
  tl_sh_check "pg: ... and the copy succeeds in any order (rc $rc)" "[ $rc -eq 0 ] && [ \"\$(sc_psql dst -c 'SELECT count(*) FROM tls_pre.a_child')\" = 50 ]"
  tl_sh_check "pg: ... without firing the target's trigger, leaving its tables as they were" "[ \"\$(sc_psql dst -c 'SELECT count(*) FROM tls_pre.seen')\" = 0 ] && [ \"\$(sc_psql dst -c \"SELECT count(*) FROM pg_trigger WHERE tgname = 'child_note'\")\" = 1 ]"

  # [router]: definitions under the target names; ignore_cols on a table to create: refused
  sc_psql dst -c 'DROP SCHEMA IF EXISTS tls_rt CASCADE' >/dev/null
  task pgr pg "do_dbs=tls_pre" router.db_map=tls_pre:tls_rt router.tb_map=tls_pre.b_parent:tls_rt.parent2
  out=$("$TL_BIN" run "$work/pgr.ini" 2>&1); rc=$?
  tl_sh_check "pg: [router]: tables and keys created under the target names (rc $rc)" "[ $rc -eq 0 ] && [ \"\$(sc_psql dst -c 'SELECT count(*) FROM tls_rt.a_child')\" = 50 ] && [ \"\$(sc_psql dst -c 'SELECT count(*) FROM tls_rt.parent2')\" = 50 ] && [ \"\$(sc_psql dst -c \"SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'tls_rt'\")\" = a_child_pkey,b_parent_pkey ]" || echo "$out" | tail -5
  sc_psql dst -c 'DROP SCHEMA tls_rt CASCADE' >/dev/null
  task pgi pg "do_dbs=tls_pre" router.db_map=tls_pre:tls_rt 'filter.ignore_cols=json:[{"db":"tls_pre","tb":"a_child","ignore_cols":["parent"]}]'
  out=$("$TL_BIN" run "$work/pgi.ini" 2>&1); rc=$?
  tl_sh_check "pg: ignore_cols on a table to create: refused, nothing created (rc $rc)" "[ $rc -ne 0 ] && echo \"\$out\" | grep -q 'does not create a table with columns left out' && [ \"\$(sc_psql dst -c \"SELECT count(*) FROM pg_namespace WHERE nspname = 'tls_rt'\")\" = 0 ]" || echo "$out" | tail -5
  sc_psql src -c 'DROP SCHEMA tls_pre CASCADE' >/dev/null; sc_psql dst -c 'DROP SCHEMA tls_pre CASCADE' >/dev/null
  sc_pg_reset_target; sc_psql src -c 'DROP SCHEMA tls_sch CASCADE' -c 'DROP SCHEMA "tls Other" CASCADE' >/dev/null
fi

# ---------------------------------------------------------------------------- MariaDB
if tl_sh_have_env TL_MYSQL_SRC_URL TL_MYSQL_DST_URL; then
  ran=1
  sc_my_load && sc_my_reset_target || { echo "FAIL: mysql setup"; exit 1; }
  task my mysql "do_dbs=tls_world,tls_dbt3,tls_my1,tls_my2"
  out=$("$TL_BIN" run "$work/my.ini" 2>&1); rc=$?
  tl_sh_check "mysql: run into an empty target (rc $rc)" "[ $rc -eq 0 ]" || echo "$out" | tail -5
  same "mysql: SHOW CREATE of every object equal" sc_my_defs
  same "mysql: AUTO_INCREMENT values and checksums equal" sc_my_state
  out=$("$TL_BIN" run "$work/my.ini" 2>&1); rc=$?
  tl_sh_check "mysql: a rerun creates nothing" "[ $rc -eq 0 ] && echo \"\$out\" | grep -q 'definitions: 0 created, 0 set'"
  sc_my_reset_target; for d in "${SC_MY_DBS[@]}"; do sc_mysql src -e "DROP DATABASE \`$d\`"; done
fi

# ---------------------------------------------------------------------------- MongoDB
if tl_sh_have_env TL_MONGO_SRC_URL TL_MONGO_DST_URL; then
  ran=1
  sc_mongo_load && sc_mongo_reset_target || { echo "FAIL: mongo setup"; exit 1; }
  task mg mongo "do_dbs=tls_mongo"
  out=$("$TL_BIN" run "$work/mg.ini" 2>&1); rc=$?
  tl_sh_check "mongo: run into an empty target (rc $rc)" "[ $rc -eq 0 ]" || echo "$out" | tail -5
  same "mongo: listCollections and listIndexes equal" sc_mongo_defs
  same "mongo: documents equal" sc_mongo_state
  out=$("$TL_BIN" run "$work/mg.ini" 2>&1); rc=$?
  tl_sh_check "mongo: a rerun creates nothing" "[ $rc -eq 0 ] && echo \"\$out\" | grep -q 'definitions: 0 created, 0 set'"
  sc_mongo_reset_target
fi
[ $ran = 1 ] || tl_sh_skip "no server URLs set"
tl_sh_result
