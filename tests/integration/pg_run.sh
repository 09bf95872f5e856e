#!/usr/bin/env bash
# pg_run.sh - end-to-end `tideline run` on PostgreSQL: a copy of several types with a
# composite bytea key and a nullable unique key, a no-op re-run, a target whose columns
# differ (error naming table and column), a resume value that does not fit (error, store
# unchanged), a wrong password (never echoed), and the bulk COPY path chosen for empty
# targets.
# shellcheck disable=SC2034  # out, got, ...: read by the tl_sh_check expressions (eval)
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
tl_sh_setup pgrun TL_PG_SRC_URL TL_PG_DST_URL; work=$TL_SH_TMPDIR
S() { psql -X -q -v ON_ERROR_STOP=1 "$TL_PG_SRC_URL" "$@"; }
D() { psql -X -q -v ON_ERROR_STOP=1 "$TL_PG_DST_URL" "$@"; }
ddl='DROP SCHEMA IF EXISTS tl_pgrun CASCADE; CREATE SCHEMA tl_pgrun;
CREATE TABLE tl_pgrun.items (cat varchar(20), bin bytea, n numeric(20,8), ts timestamptz, j jsonb, u uuid,
  a int[], flag boolean, PRIMARY KEY (cat, bin));
CREATE TABLE tl_pgrun.nuk (k1 int, k2 text, v int, UNIQUE (k1, k2));'
S -c "$ddl" && D -c "$ddl" || { echo "FAIL: ddl"; exit 1; }
S -c "INSERT INTO tl_pgrun.items SELECT 'c' || (g % 7), decode(md5(g::text), 'hex'), g / 3.0, now() - g * interval '1 min',
  jsonb_build_object('g', g), md5(g::text)::uuid, ARRAY[g, g + 1], g % 2 = 0 FROM generate_series(1, 20000) g;
INSERT INTO tl_pgrun.nuk SELECT CASE WHEN g % 10 = 0 THEN NULL ELSE g END, CASE WHEN g % 15 = 0 THEN NULL ELSE 'v' || g END, g
  FROM generate_series(1, 3000) g;"
task() { # name src_url [SECTION.KEY=VALUE...]: $work/name.ini, logs in $work/logs-name
  tl_sh_task "$work/$1.ini" pg "$2" "$TL_PG_DST_URL" global.task_id="$1" extractor.batch_size=1000 \
    'filter.do_tbs=tl_pgrun.*' runtime.log_dir="$work/logs-$1" resumer.resume_type=from_log "${@:3}"
}
q='SELECT count(*), md5(string_agg(t::text, $$|$$ ORDER BY t::text)) FROM tl_pgrun.items t'
qn='SELECT count(*), md5(string_agg(t::text, $$|$$ ORDER BY t::text)) FROM tl_pgrun.nuk t'

task p1 "$TL_PG_SRC_URL"
out=$("$TL_BIN" run "$work/p1.ini" 2>&1); rc=$?
tl_sh_check "copy succeeds" "[ $rc -eq 0 ]"
tl_sh_check "items equal on both sides" "[ \"\$(S -tA -c '$q')\" = \"\$(D -tA -c '$q')\" ]"
tl_sh_check "nullable-key table equal" "[ \"\$(S -tA -c '$qn')\" = \"\$(D -tA -c '$qn')\" ]"
tl_sh_check "empty target copied through the bulk path" "grep -q 'items: starting, batch mode, upsert write into an empty target (bulk path allowed)' '$work/logs-p1/default.log'"
"$TL_BIN" run "$work/p1.ini" >/dev/null 2>&1
tl_sh_check "re-run keeps the target equal" "[ \"\$(S -tA -c '$qn')\" = \"\$(D -tA -c '$qn')\" ]"

# a resume after a composite bytea key given as hex, into a target that already has rows
key=$(S -tA -c "SELECT encode(bin, 'hex') FROM tl_pgrun.items WHERE cat = 'c3' ORDER BY bin OFFSET 100 LIMIT 1")
D -c "DELETE FROM tl_pgrun.items WHERE (cat, bin) > ('c3', decode('$key', 'hex'))"
printf '{"type":"RdbSnapshot","db_type":"pg","schema":"tl_pgrun","tb":"items","order_key":{"composite":[["cat","c3"],["bin","%s"]]}}\n' "$key" > "$work/r.config"
# (nuk is left out: its target holds NULL-key rows task p2 did not write, which a NULL pass
# would duplicate, so a run of p2 that selects it is refused; see nullable_keys.sh)
task p2 "$TL_PG_SRC_URL" "resumer.config_file=$work/r.config" filter.ignore_tbs=tl_pgrun.nuk
out=$("$TL_BIN" run "$work/p2.ini" 2>&1); rc=$?
tl_sh_check "resume after a bytea composite key (rc $rc)" "[ $rc -eq 0 ] && grep -q 'get resume value, schema: tl_pgrun, tb: items' '$work/logs-p2/default.log'"
tl_sh_check "items equal after the resume" "[ \"\$(S -tA -c '$q')\" = \"\$(D -tA -c '$q')\" ]"

# a target whose columns differ
D -c 'ALTER TABLE tl_pgrun.nuk RENAME COLUMN v TO w'
task p3 "$TL_PG_SRC_URL"
out=$("$TL_BIN" run "$work/p3.ini" 2>&1); rc=$?
tl_sh_check "column mismatch names table and column" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'nuk' && echo \"\$out\" | grep -q '\"v\"'"
D -c 'ALTER TABLE tl_pgrun.nuk RENAME COLUMN w TO v'

# a resume value that does not fit (the target's NULL-key rows removed: not a refusal)
D -c 'DELETE FROM tl_pgrun.nuk WHERE k1 IS NULL OR k2 IS NULL'
printf '{"type":"RdbSnapshot","db_type":"pg","schema":"tl_pgrun","tb":"nuk","order_key":{"composite":[["k1","seven"],["k2","x"]]}}\n' > "$work/bad.config"
task p4 "$TL_PG_SRC_URL" "resumer.config_file=$work/bad.config"
out=$("$TL_BIN" run "$work/p4.ini" 2>&1); rc=$?
tl_sh_check "bad resume value fails naming the value" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'seven'"

# wrong password
pw_url=$(echo "$TL_PG_SRC_URL" | sed 's#postgres://postgres:@#postgres://tl_nobody:Wr0ngPw@#')
task p5 "$pw_url"
out=$("$TL_BIN" run "$work/p5.ini" 2>&1); rc=$?
tl_sh_check "unknown user / wrong password fails" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'cannot connect'"
tl_sh_check "password not echoed" "! echo \"\$out\" | grep -q Wr0ngPw && ! grep -rq Wr0ngPw '$work/logs-p5'"

S -c 'DROP SCHEMA tl_pgrun CASCADE'; D -c 'DROP SCHEMA tl_pgrun CASCADE'
tl_sh_result
