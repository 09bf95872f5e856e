#!/usr/bin/env bash
# taskfile_pg.sh - ape-dts task files mean what they say on PostgreSQL (#13), end to end:
# [router] db_map / col_map and [filter] ignore_cols with rows still streaming through
# COPY (the projected columns listed on both sides), records under the source names, a
# copy into another schema of the same server and a table onto itself refused, a check
# task (exactly the missing, extra and differing rows, ape-dts' PG value types), NULL-key
# rows of a nullable unique key never twice, TLS modes and ape-dts' URL query forms
# (options[statement_timeout]) through task files.
# shellcheck disable=SC2034  # out, got, ...: read by the tl_sh_check expressions (eval)
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
tl_sh_setup tfpg TL_PG_SRC_URL TL_PG_DST_URL; work=$TL_SH_TMPDIR
S() { psql -X -q -v ON_ERROR_STOP=1 "$TL_PG_SRC_URL" "$@"; }
D() { psql -X -q -v ON_ERROR_STOP=1 "$TL_PG_DST_URL" "$@"; }
tl_sh_on_exit 'S -c "DROP SCHEMA IF EXISTS tl_tf CASCADE; DROP SCHEMA IF EXISTS tl_tf_copy CASCADE" 2>/dev/null; D -c "DROP SCHEMA IF EXISTS tl_tf CASCADE; DROP SCHEMA IF EXISTS tl_tf_copy CASCADE" 2>/dev/null'

ddl='DROP SCHEMA IF EXISTS tl_tf CASCADE; DROP SCHEMA IF EXISTS tl_tf_copy CASCADE; CREATE SCHEMA tl_tf;
CREATE TABLE tl_tf.a (id int PRIMARY KEY, x text, y numeric(10,2), z int DEFAULT 7, j jsonb);
CREATE TABLE tl_tf.nuk (u int UNIQUE, v text);'
S -c "$ddl" && D -c "$ddl" || { echo "FAIL: ddl"; exit 1; }
S -c "INSERT INTO tl_tf.a SELECT g, 'v' || g, g / 4.0, g * 3, jsonb_build_object('g', g) FROM generate_series(1, 30000) g;
INSERT INTO tl_tf.nuk VALUES (1, 'one'), (2, 'two'), (NULL, 'n1'), (NULL, 'n2');"
D -c "CREATE SCHEMA tl_tf_copy; CREATE TABLE tl_tf_copy.a (id int PRIMARY KEY, xx text, y numeric(10,2), z int DEFAULT 7, j jsonb)"

task() { # name [SECTION.KEY=VALUE...]: $work/name.ini, logs in $work/logs-name
  tl_sh_task "$work/$1.ini" pg "$TL_PG_SRC_URL" "$TL_PG_DST_URL" global.task_id="$1" runtime.log_dir="$work/logs-$1" \
    resumer.resume_type=from_log "${@:2}"
}
route=(filter.do_tbs=tl_tf.a "router.db_map=tl_tf:tl_tf_copy"
  'router.col_map=json:[{"db":"tl_tf","tb":"a","col_map":{"x":"xx"}}]'
  'filter.ignore_cols=json:[{"db":"tl_tf","tb":"a","ignore_cols":["z"]}]')
qs='SELECT count(*), md5(string_agg(id || $$:$$ || x || $$:$$ || y || $$:$$ || j::text, $$|$$ ORDER BY id)) FROM tl_tf.a'
qd='SELECT count(*), md5(string_agg(id || $$:$$ || xx || $$:$$ || y || $$:$$ || j::text, $$|$$ ORDER BY id)) FROM tl_tf_copy.a'

# 1. a routed copy: COPY still streams the rows through, with the projected columns
task r1 "${route[@]}"
out=$("$TL_BIN" run "$work/r1.ini" 2>&1); rc=$?
tl_sh_check "routed copy (rc $rc)" "[ $rc -eq 0 ] && [ \"\$(S -tA -c '$qs')\" = \"\$(D -tA -c '$qd')\" ]"
tl_sh_check "ignored column keeps its default" "[ \"\$(D -tA -c 'SELECT count(*) FROM tl_tf_copy.a WHERE z = 7')\" = 30000 ]"
tl_sh_check "rows went through the bulk path into the routed table" \
  "grep -q 'table tl_tf.a -> tl_tf_copy.a: starting, batch mode, upsert write into an empty target (bulk path allowed)' '$work/logs-r1/default.log'"
tl_sh_check "finished.log keeps the source names" "grep -q '\"schema\":\"tl_tf\",\"tb\":\"a\"' '$work/logs-r1/finished.log'"

# 2. a check task: exactly the missing, extra and differing rows, nothing written
D -c "DELETE FROM tl_tf_copy.a WHERE id = 11; UPDATE tl_tf_copy.a SET y = NULL WHERE id = 12;
UPDATE tl_tf_copy.a SET j = '{\"g\": 0}' WHERE id = 13; INSERT INTO tl_tf_copy.a VALUES (40000, 'x', 1, 1, NULL)"
before=$(D -tA -c "$qd")
task c1 "${route[@]}" sinker.sink_type=check
out=$("$TL_BIN" run "$work/c1.ini" 2>&1); rc=$?
cl=$work/logs-c1/check
T='"target_schema":"tl_tf_copy","target_tb":"a"'
tl_sh_check "check exits 3 (rc $rc), writes nothing" "[ $rc -eq 3 ] && [ \"$before\" = \"\$(D -tA -c '$qd')\" ]"
tl_sh_check "miss.log" "[ \"\$(cat '$cl/miss.log')\" = '{\"schema\":\"tl_tf\",\"tb\":\"a\",$T,\"id_col_values\":{\"id\":\"11\"}}' ]"
tl_sh_check "extra.log" "[ \"\$(cat '$cl/extra.log')\" = '{\"schema\":\"tl_tf\",\"tb\":\"a\",$T,\"id_col_values\":{\"id\":\"40000\"}}' ]"
cat > "$work/want_diff.log" <<EOF
{"schema":"tl_tf","tb":"a",$T,"id_col_values":{"id":"12"},"diff_col_values":{"y":{"src":"3.00","dst":null,"src_type":"Decimal","dst_type":"None"}}}
{"schema":"tl_tf","tb":"a",$T,"id_col_values":{"id":"13"},"diff_col_values":{"j":{"src":"{\\"g\\": 13}","dst":"{\\"g\\": 0}"}}}
EOF
tl_sh_check "diff.log with ape-dts' PG types" "cmp -s '$work/want_diff.log' '$cl/diff.log'"
tl_sh_check "summary.log" "grep -q '\"checked_count\":30000,\"miss_count\":1,\"diff_count\":2,\"skip_count\":0,\"extra_count\":1' '$cl/summary.log'"

# 3. one server: another schema is fine, a table onto itself is refused
S -c "CREATE SCHEMA tl_tf_copy; CREATE TABLE tl_tf_copy.a (id int PRIMARY KEY, xx text, y numeric(10,2), z int DEFAULT 7, j jsonb)"
tl_sh_task "$work/same.ini" pg "$TL_PG_SRC_URL" "$TL_PG_SRC_URL" "${route[@]}" runtime.log_dir="$work/logs-same"
out=$("$TL_BIN" run "$work/same.ini" 2>&1); rc=$?
tl_sh_check "a copy into another schema of one server (rc $rc)" "[ $rc -eq 0 ] && [ \"\$(S -tA -c 'SELECT count(*) FROM tl_tf_copy.a')\" = 30000 ]"
tl_sh_task "$work/self.ini" pg "$TL_PG_SRC_URL" "$TL_PG_SRC_URL" filter.do_dbs=tl_tf runtime.log_dir="$work/logs-self"
out=$("$TL_BIN" plan "$work/self.ini" 2>&1); rc=$?
tl_sh_check "onto itself: refused (rc $rc)" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'would be copied onto itself'"
other_db=$(echo "$TL_PG_SRC_URL" | sed 's#/postgres$#/template1#')
tl_sh_task "$work/otherdb.ini" pg "$TL_PG_SRC_URL" "$other_db" filter.do_tbs=tl_tf.a runtime.log_dir="$work/logs-otherdb"
out=$("$TL_BIN" plan "$work/otherdb.ini" 2>&1); rc=$?
tl_sh_check "another database of the same cluster is another namespace (rc $rc)" "[ $rc -eq 0 ]"

# 4. NULL-key rows of a nullable unique key, never twice
task n1 filter.do_tbs=tl_tf.nuk
out=$("$TL_BIN" run "$work/n1.ini" 2>&1); rc=$?
out=$("$TL_BIN" run "$work/n1.ini" --init 2>&1); rc=$?
tl_sh_check "rerun --init into the copy: refused, 4 rows stay 4 (rc $rc)" \
  "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'unique key is NULL' && [ \"\$(D -tA -c 'SELECT count(*) FROM tl_tf.nuk')\" = 4 ]"

# 5. TLS and ape-dts' URL query forms
if [ -n "${TL_TLS_DIR:-}" ]; then
  for c in "verify_ca $TL_TLS_DIR/ca.pem 0" "verify_ca $TL_TLS_DIR/other-ca.pem 1" "verify_full $TL_TLS_DIR/ca.pem 1" \
           "require - 0" "disable - 0"; do
    set -- $c
    cafile=(); [ "$2" = - ] || cafile=("sinker.ssl_ca_path=$2" "extractor.ssl_ca_path=$2")
    task tls filter.do_tbs=tl_tf.nuk "sinker.ssl_mode=$1" "extractor.ssl_mode=$1" "${cafile[@]}"
    out=$("$TL_BIN" plan "$work/tls.ini" 2>&1); rc=$?
    tl_sh_check "ssl_mode=$1 $(basename "$2"): rc $rc (want $3)" "[ $rc -eq $3 ]"
  done
fi
tl_sh_task "$work/opt.ini" pg "$TL_PG_SRC_URL?options[statement_timeout]=10s&sslmode=prefer" "$TL_PG_DST_URL" \
  filter.do_tbs=tl_tf.nuk runtime.log_dir="$work/logs-opt"
out=$("$TL_BIN" plan "$work/opt.ini" 2>&1); rc=$?
tl_sh_check "options[statement_timeout] in the URL is accepted (rc $rc)" "[ $rc -eq 0 ]"
tl_sh_result
