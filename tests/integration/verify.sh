#!/usr/bin/env bash
# verify.sh - `tideline verify` against live MySQL/MariaDB and PostgreSQL servers.
#
# Per kind: loads a source database, copies it with `tideline run`, checks that verify
# reports every table as matching (exit 0), then damages the target (deleted key range,
# changed row, extra rows below and above the source's keys, deleted NULL-partition rows,
# emptied and dropped tables) and checks, through --json, that every damaged key lies in
# a reported range, the ranges are narrow, the NULL rows and the rows lost since
# "finished" are reported, untouched tables stay ok and the exit status is 3. Also the
# usage (2) and error (1) statuses, and that a password never appears in the output.
#
# Env: TL_BIN, TL_SRC; TL_MYSQL_SRC_URL/TL_MYSQL_DST_URL, TL_PG_SRC_URL/TL_PG_DST_URL
# (tools/servers.sh). A kind whose URLs are unset is skipped (exit 77 when no kind ran);
# under CI (env CI set) a missing URL is a failure.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
bin=$(tl_sh_tideline) || exit 1
src=$TL_SRC

kinds=()
for k in MYSQL PG; do
  if tl_sh_have_env "TL_${k}_SRC_URL" "TL_${k}_DST_URL"; then
    kinds+=("$k")
  else
    echo "note: TL_${k}_SRC_URL/TL_${k}_DST_URL not set, ${k} part skipped (start servers with tools/servers.sh)"
  fi
done
[ ${#kinds[@]} -gt 0 ] || tl_sh_skip "no server URLs set"

tl_sh_tmpdir verify-test; work=$TL_SH_TMPDIR
db=tlverify_$$
fails=0
drop_dbs() {
  for k in "${kinds[@]}"; do
    case $k in
      MYSQL) printf 'DROP DATABASE IF EXISTS %s;\n' "$db" > "$work/drop.sql"
             sql mysql "$TL_MYSQL_SRC_URL" "$work/drop.sql"; sql mysql "$TL_MYSQL_DST_URL" "$work/drop.sql" ;;
      PG) printf 'DROP SCHEMA IF EXISTS %s CASCADE;\n' "$db" > "$work/drop.sql"
          sql pg "$TL_PG_SRC_URL" "$work/drop.sql"; sql pg "$TL_PG_DST_URL" "$work/drop.sql" ;;
    esac
  done >/dev/null 2>&1
}
tl_sh_on_exit drop_dbs

sql() { python3 "$src/tools/sqlrun.py" --kind "$1" --url "$2" "$3"; }
fail() { echo "FAIL [$kind]: $*"; fails=$((fails + 1)); }

# Schema (both sides) and data (source) for one kind; $1 = mysql|pg.
write_sql() {
  local k=$1
  if [ "$k" = mysql ]; then
    cat > "$work/schema.sql" <<EOF
DROP DATABASE IF EXISTS $db;
CREATE DATABASE $db;
CREATE TABLE $db.t_ok (id INT PRIMARY KEY, v VARCHAR(40));
CREATE TABLE $db.t_diff (id INT PRIMARY KEY, v VARCHAR(40), n DECIMAL(10,2));
CREATE TABLE $db.t_nokey (a INT NULL, b VARCHAR(20));
CREATE TABLE $db.t_gone (id INT PRIMARY KEY, v VARCHAR(10));
CREATE TABLE $db.t_empty (id INT PRIMARY KEY, v VARCHAR(10));
EOF
    gen() { echo "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $1) SELECT $2 FROM s"; }
    { cat "$work/schema.sql"
      echo "SET SESSION max_recursive_iterations = 100000;"
      echo "INSERT INTO $db.t_ok $(gen 3000 "i, CONCAT('v', i)");"
      echo "INSERT INTO $db.t_diff $(gen 5000 "i * 2, CONCAT('row ', i), i / 7");"
      echo "INSERT INTO $db.t_nokey $(gen 400 "IF(i % 50 = 0, NULL, i % 97), CONCAT('b', i)");"
      echo "INSERT INTO $db.t_gone $(gen 10 "i, 'g'");"
      echo "INSERT INTO $db.t_empty $(gen 700 "i, 'e'");"
    } > "$work/src.sql"
    cat > "$work/break.sql" <<EOF
DELETE FROM $db.t_diff WHERE id BETWEEN 2001 AND 2020;
UPDATE $db.t_diff SET v = 'changed' WHERE id = 8000;
INSERT INTO $db.t_diff VALUES (99999, 'extra', 1), (-5, 'below', 2);
DELETE FROM $db.t_nokey WHERE a IS NULL LIMIT 3;
DELETE FROM $db.t_ok WHERE id > 2990;
DELETE FROM $db.t_empty;
DROP TABLE $db.t_gone;
EOF
  else
    cat > "$work/schema.sql" <<EOF
DROP SCHEMA IF EXISTS $db CASCADE;
CREATE SCHEMA $db;
CREATE TABLE $db.t_ok (id INT PRIMARY KEY, v TEXT);
CREATE TABLE $db.t_diff (id BIGINT PRIMARY KEY, v TEXT, n NUMERIC(10,2));
CREATE TABLE $db.t_nokey (a INT NULL, b TEXT);
CREATE TABLE $db.t_gone (id INT PRIMARY KEY, v TEXT);
CREATE TABLE $db.t_empty (id INT PRIMARY KEY, v TEXT);
EOF
    { cat "$work/schema.sql"
      echo "INSERT INTO $db.t_ok SELECT i, 'v' || i FROM generate_series(1, 3000) i;"
      echo "INSERT INTO $db.t_diff SELECT i * 2, 'row ' || i, round(i / 7.0, 2) FROM generate_series(1, 5000) i;"
      echo "INSERT INTO $db.t_nokey SELECT CASE WHEN i % 50 = 0 THEN NULL ELSE i % 97 END, 'b' || i FROM generate_series(1, 400) i;"
      echo "INSERT INTO $db.t_gone SELECT i, 'g' FROM generate_series(1, 10) i;"
      echo "INSERT INTO $db.t_empty SELECT i, 'e' FROM generate_series(1, 700) i;"
    } > "$work/src.sql"
    cat > "$work/break.sql" <<EOF
DELETE FROM $db.t_diff WHERE id BETWEEN 2001 AND 2020;
UPDATE $db.t_diff SET v = 'changed' WHERE id = 8000;
INSERT INTO $db.t_diff VALUES (99999, 'extra', 1), (-5, 'below', 2);
DELETE FROM $db.t_nokey WHERE ctid IN (SELECT ctid FROM $db.t_nokey WHERE a IS NULL LIMIT 3);
DELETE FROM $db.t_ok WHERE id > 2990;
DELETE FROM $db.t_empty;
DROP TABLE $db.t_gone;
EOF
  fi
}

# Checks the --json report of the damaged target ($1).
check_report() {
  python3 - "$1" "$db" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1])); db = sys.argv[2]
t = {x["tb"]: x for x in rep["tables"] if x["schema"] == db}
bad = []
def check(cond, msg):
    if not cond: bad.append(msg)
def num(v): return None if v is None else float(v)
def covering(tb, key):
    for r in t[tb]["ranges"]:
        if r["nulls"]: continue
        lo, hi = num(r["lo"]), num(r["hi"])
        if (lo is None or key > lo) and (hi is None or key <= hi): return r
    return None
check(rep["match"] is False, "match should be false")
check(sorted(t) == ["t_diff", "t_empty", "t_gone", "t_nokey", "t_ok"], "tables: %s" % sorted(t))
d = t["t_diff"]
check(d["status"] == "differs" and d["source_rows"] == 5000 and d["target_rows"] == 4992, "t_diff totals %s" % d)
check(d["partition_column"] == "id", "t_diff partition column")
for k in range(2002, 2021, 2):
    r = covering("t_diff", k)
    check(r is not None and r["source_rows"] > r["target_rows"], "deleted id %d not in a range with rows missing" % k)
r = covering("t_diff", 8000)
check(r is not None and r["content_differs"], "changed id 8000 not reported")
for k in (99999, -5):
    r = covering("t_diff", k)
    check(r is not None and r["target_rows"] > r["source_rows"], "extra id %d not reported" % k)
for r in d["ranges"]:
    if r["lo"] is not None and r["hi"] is not None:
        check(num(r["hi"]) - num(r["lo"]) <= 64, "range (%s, %s] not narrowed" % (r["lo"], r["hi"]))
    check(r["source_rows"] + r["target_rows"] <= 64, "range %s too wide" % r)
check(len(d["ranges"]) <= 8, "t_diff: %d ranges reported" % len(d["ranges"]))
check(d["lost_since_finished"] and d["target_rows_at_finish"] == 5000, "t_diff lost since finished")
n = t["t_nokey"]
nulls = [r for r in n["ranges"] if r["nulls"]]
check(len(nulls) == 1 and nulls[0]["source_rows"] == 8 and nulls[0]["target_rows"] == 5, "t_nokey NULL rows %s" % n["ranges"])
check(len(n["ranges"]) == 1, "t_nokey: only the NULL rows differ: %s" % n["ranges"])
o = t["t_ok"]
check(o["status"] == "differs" and o["target_rows"] == 2990, "t_ok totals")
check(o["lost_since_finished"] and o["target_rows_at_finish"] == 3000, "t_ok lost since finished")
check(len(o["ranges"]) == 1 and o["ranges"][0]["lo"] == "2990" and o["ranges"][0]["hi"] is None
      and o["ranges"][0]["source_rows"] == 10 and o["ranges"][0]["target_rows"] == 0, "t_ok ranges %s" % o["ranges"])
e = t["t_empty"]
check(len(e["ranges"]) == 1 and e["ranges"][0]["source_rows"] == 700 and e["ranges"][0]["target_rows"] == 0,
      "t_empty: missing rows merged into one range: %s" % e["ranges"])
g = t["t_gone"]
check(g["status"] == "target mismatch" and g["target_rows"] is None and g["note"], "t_gone %s" % g)
check(rep["tables_differ"] == 5, "tables_differ %s" % rep["tables_differ"])
for m in bad: print("  report: " + m)
sys.exit(1 if bad else 0)
PY
}

for K in "${kinds[@]}"; do
  case $K in
    MYSQL) kind=mysql; S=$TL_MYSQL_SRC_URL; D=$TL_MYSQL_DST_URL ;;
    PG) kind=pg; S=$TL_PG_SRC_URL; D=$TL_PG_DST_URL ;;
  esac
  dir=$work/$kind
  mkdir -p "$dir"
  write_sql $kind
  if ! sql $kind "$S" "$work/src.sql" >"$dir/load.out" 2>&1 || ! sql $kind "$D" "$work/schema.sql" >>"$dir/load.out" 2>&1; then
    fail "loading the test data"; cat "$dir/load.out"; continue
  fi
  tl_sh_task "$dir/task.ini" "$kind" "$S" "$D" extractor.batch_size=500 filter.do_dbs=$db \
    runtime.log_dir="$dir/logs" global.task_id=verify_test
  if ! "$bin" run "$dir/task.ini" >"$dir/run.out" 2>&1; then
    fail "tideline run failed"; cat "$dir/run.out"; continue
  fi

  "$bin" verify "$dir/task.ini" >"$dir/v1.out" 2>&1; rc=$?
  [ $rc -eq 0 ] || { fail "verify after the copy exited $rc, want 0"; cat "$dir/v1.out"; }
  grep -q "all 5 tables match" "$dir/v1.out" || { fail "no 'all 5 tables match'"; cat "$dir/v1.out"; }
  "$bin" verify "$dir/task.ini" --json >"$dir/v1.json" 2>"$dir/v1.err"; rc=$?
  [ $rc -eq 0 ] && python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["match"] and all(t["status"]=="ok" and t["checksum"] for t in r["tables"]) else 1)' "$dir/v1.json" \
    || { fail "--json after the copy (exit $rc)"; cat "$dir/v1.json" "$dir/v1.err"; }

  if ! sql $kind "$D" "$work/break.sql" >"$dir/break.out" 2>&1; then
    fail "damaging the target"; cat "$dir/break.out"; continue
  fi
  "$bin" verify "$dir/task.ini" >"$dir/v2.out" 2>&1; rc=$?
  [ $rc -eq 3 ] || { fail "verify of the damaged target exited $rc, want 3"; cat "$dir/v2.out"; }
  grep -q "target lost rows since finished (had 3000, now 2990)" "$dir/v2.out" \
    || { fail "no 'target lost rows since finished' line"; cat "$dir/v2.out"; }
  grep -q "5 of 5 tables differ" "$dir/v2.out" || { fail "no '5 of 5 tables differ'"; cat "$dir/v2.out"; }
  # plan warns too (PostgreSQL: it reads the statistics' live-row counts first, and they
  # lag a committed DELETE by up to a second or so; then it counts exactly)
  for try in 1 2 3 4 5 6; do
    "$bin" plan "$dir/task.ini" >"$dir/plan2.out" 2>&1
    grep -q "target lost rows since finished (had 3000, now 2990)" "$dir/plan2.out" && break
    sleep 1
  done
  grep -q "target lost rows since finished (had 3000, now 2990)" "$dir/plan2.out" ||
    { fail "plan: no 'target lost rows since finished' line after $try tries"; cat "$dir/plan2.out"; }
  # t_diff, t_empty, t_nokey and t_ok lost rows; t_gone's target table is gone
  [ "$(grep -c "target lost rows" "$dir/plan2.out")" = 5 ] &&
    grep -q "t_empty  target lost rows since finished (had 700, now 0)" "$dir/plan2.out" &&
    grep -q "t_gone  target lost rows since finished (had 10, the target table is gone)" "$dir/plan2.out" ||
    { fail "plan: lost rows not reported for exactly the 5 damaged tables"; cat "$dir/plan2.out"; }
  "$bin" verify "$dir/task.ini" --json --ranges 8 >"$dir/v2.json" 2>"$dir/v2.err"; rc=$?
  [ $rc -eq 3 ] || { fail "verify --json of the damaged target exited $rc, want 3"; cat "$dir/v2.err"; }
  check_report "$dir/v2.json" || { fail "the --json report"; cat "$dir/v2.out"; }

  # usage and errors; passwords never shown
  "$bin" verify "$dir/task.ini" --ranges 1 >/dev/null 2>&1; rc=$?
  [ $rc -eq 2 ] || fail "--ranges 1 exited $rc, want 2"
  "$bin" verify >/dev/null 2>&1; rc=$?
  [ $rc -eq 2 ] || fail "no task file exited $rc, want 2"
  "$bin" verify "$dir/missing.ini" >/dev/null 2>&1; rc=$?
  [ $rc -eq 1 ] || fail "missing task file exited $rc, want 1"
  scheme=mysql; [ $kind = pg ] && scheme=postgres
  sed "s#^url=$D\$#url=$scheme://tluser:Pw0rdSecret@127.0.0.1:1/postgres#" "$dir/task.ini" > "$dir/bad.ini"
  "$bin" verify "$dir/bad.ini" >"$dir/bad.out" 2>&1; rc=$?
  [ $rc -eq 1 ] || { fail "unreachable target exited $rc, want 1"; cat "$dir/bad.out"; }
  if grep -q "Pw0rdSecret" "$dir/bad.out" "$dir/v2.out" "$dir/v2.json"; then fail "a password appears in the output"; fi
  echo "$kind: done"
done

if [ $fails -ne 0 ]; then echo "FAIL: $fails check(s) failed"; exit 1; fi
echo "PASS"
