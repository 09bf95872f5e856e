#!/usr/bin/env bash
# live_source.sh - what a snapshot copy of a source that is being written to guarantees
# (docs/guide.md "Copying a source that is being written to"), and that `verify` then
# reports the differences; MySQL/MariaDB and PostgreSQL.
#
# Per kind: table `hot` (N rows, a = b = 0) is copied while one client session keeps
# changing it: every statement adds 1 to both a and b of 2,000 rows, deletes one
# original row and inserts a new one past the original keys (each change one transaction,
# the deleted keys logged); table `cold` is not touched. Then:
#   - the run exits 0;
#   - no torn rows: every target row of `hot` has a = b (a row is copied as one version);
#   - no row from the future: a target row's a is at most the source's final a for that key
#     (a only grows), so every target row is a version the source held during the copy;
#   - no loss: every original key the writer did not delete is on the target;
#   - nothing invented: every target key is a source key, a deleted one or a new one;
#   - verify exits 3, reports `hot` as differing with key ranges and `cold` as ok.
#
# Env: TL_BIN, TL_SRC; TL_MYSQL_SRC_URL/TL_MYSQL_DST_URL, TL_PG_SRC_URL/TL_PG_DST_URL
# (tools/servers.sh). A kind whose URLs are unset is skipped (exit 77 when no kind ran);
# under CI (env CI set) a missing URL is a failure.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
TL_BIN=$(tl_sh_tideline) || exit 1
kinds=()
tl_sh_have_env TL_MYSQL_SRC_URL TL_MYSQL_DST_URL && kinds+=(mysql)
tl_sh_have_env TL_PG_SRC_URL TL_PG_DST_URL && kinds+=(pg)
[ ${#kinds[@]} -gt 0 ] || tl_sh_skip "no MySQL or PostgreSQL server URLs set"
tl_sh_tmpdir live-source; work=$TL_SH_TMPDIR
db=tl_live_$$
N=200000
writer=
run=
# shellcheck disable=SC2016  # expanded at exit
tl_sh_on_exit '[ -z "$writer" ] || kill $writer 2>/dev/null; [ -z "$run" ] || kill -9 $run 2>/dev/null; drop_all'

# client KIND src|dst: a SQL client session on that server reading statements from stdin.
client() {
  local url
  if [ "$1" = mysql ]; then
    [ "$2" = src ] && url=$TL_MYSQL_SRC_URL || url=$TL_MYSQL_DST_URL
    tl_sh_mysql "$url" --init-command="SET SESSION max_recursive_iterations = 1000000"
  else
    [ "$2" = src ] && url=$TL_PG_SRC_URL || url=$TL_PG_DST_URL
    PGOPTIONS='-c client_min_messages=warning' psql -X -q -tA -F $'\t' -v ON_ERROR_STOP=1 -d "$url"
  fi
}

drop_all() {
  local k s
  for k in "${kinds[@]}"; do
    for s in src dst; do
      if [ "$k" = mysql ]; then echo "DROP DATABASE IF EXISTS $db;"; else echo "DROP SCHEMA IF EXISTS $db CASCADE;"; fi |
        client "$k" "$s" >/dev/null 2>&1
    done
  done
}

schema_sql() { # KIND
  if [ "$1" = mysql ]; then
    echo "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db; USE $db;"
  else
    echo "DROP SCHEMA IF EXISTS $db CASCADE; CREATE SCHEMA $db; SET search_path = $db;"
  fi
  echo "CREATE TABLE hot (id INT PRIMARY KEY, a INT NOT NULL, b INT NOT NULL, pad VARCHAR(200));"
  echo "CREATE TABLE cold (id INT PRIMARY KEY, v VARCHAR(40));"
}

data_sql() { # KIND
  if [ "$1" = mysql ]; then
    echo "USE $db;"
    echo "INSERT INTO hot SELECT seq, 0, 0, REPEAT('p', 150) FROM seq_1_to_$N;"
    echo "INSERT INTO cold SELECT seq, CONCAT('c', seq) FROM seq_1_to_20000;"
  else
    echo "SET search_path = $db;"
    echo "INSERT INTO hot SELECT g, 0, 0, repeat('p', 150) FROM generate_series(1, $N) g;"
    echo "INSERT INTO cold SELECT g, 'c' || g FROM generate_series(1, 20000) g;"
    echo "ANALYZE;"
  fi
}

# The writer: statements into one session until the file $work/stop appears; each deleted
# key goes to $work/deleted.$KIND first.
write_loop() { # KIND
  local k=$1 i=0 del lo
  if [ "$k" = mysql ]; then echo "USE $db;"; else echo "SET search_path = $db;"; fi
  while [ ! -e "$work/stop" ]; do
    i=$((i + 1))
    del=$(( (i * 7919) % N + 1 ))
    echo "$del" >> "$work/deleted.$k"
    lo=$(( (i * 104729) % N ))
    echo "UPDATE hot SET a = a + 1, b = b + 1 WHERE id > $lo AND id <= $((lo + 2000));"
    echo "DELETE FROM hot WHERE id = $del;"
    echo "INSERT INTO hot VALUES ($((N + i)), 0, 0, 'new');"
    sleep 0.01   # (the session must not fall far behind: what is queued runs after the stop)
  done
}

# Compares the key/a/b dumps: prints one line per violated guarantee and a "# " line of counts.
check_rows() { # KIND
  python3 - "$work/src.$1" "$work/dst.$1" "$work/deleted.$1" "$N" <<'PY'
import sys
def load(p):
    rows = {}
    for line in open(p):
        i, a, b = line.split("\t")
        rows[int(i)] = (int(a), int(b))
    return rows
src, dst = load(sys.argv[1]), load(sys.argv[2])
deleted = {int(x) for x in open(sys.argv[3]) if x.strip()}
n = int(sys.argv[4])
torn = [i for i, (a, b) in dst.items() if a != b]
future = [i for i, (a, _) in dst.items() if i in src and a > src[i][0]]
lost = [i for i in range(1, n + 1) if i not in dst and i not in deleted]
invented = [i for i in dst if i not in src and i not in deleted and i <= n]
for what, ids in (("torn rows (a <> b)", torn), ("rows newer than the source's last version", future),
                  ("original rows lost", lost), ("target rows the source never had", invented)):
    if ids:
        print("%d %s, e.g. id %s" % (len(ids), what, ids[:5]))
print("# hot: source %d rows now, target %d; %d rows deleted while the run went on, %d target rows "
      "older than the source's" % (len(src), len(dst), len(deleted),
                                   sum(1 for i, (a, _) in dst.items() if i in src and a < src[i][0])))
PY
}

for kind in "${kinds[@]}"; do
  rm -f "$work/stop" "$work/deleted.$kind"
  { schema_sql "$kind"; data_sql "$kind"; } | client "$kind" src >/dev/null || { echo "FAIL [$kind]: source data"; exit 1; }
  schema_sql "$kind" | client "$kind" dst >/dev/null || { echo "FAIL [$kind]: target schema"; exit 1; }
  if [ "$kind" = mysql ]; then
    src_url=$TL_MYSQL_SRC_URL dst_url=$TL_MYSQL_DST_URL filter=filter.do_dbs=$db
  else
    src_url=$TL_PG_SRC_URL dst_url=$TL_PG_DST_URL filter="filter.do_tbs=$db.*"
  fi
  dir=$work/$kind
  mkdir -p "$dir"
  tl_sh_task "$dir/task.ini" "$kind" "$src_url" "$dst_url" global.task_id="live_$kind" \
    extractor.batch_size=2000 sinker.batch_size=500 "$filter" pipeline.checkpoint_interval_secs=1 \
    runtime.log_dir="$dir/logs" resumer.resume_type=from_log

  write_loop "$kind" | client "$kind" src >"$work/writer.$kind.out" 2>&1 &
  writer=$!
  sleep 0.5   # the writer is busy before the copy starts
  m0=$(echo "SELECT SUM(a) FROM $db.hot;" | client "$kind" src)
  "$TL_BIN" run "$dir/task.ini" >"$dir/run.out" 2>&1 &
  run=$!
  wait $run; rc=$?; run=
  m1=$(echo "SELECT SUM(a) FROM $db.hot;" | client "$kind" src)
  touch "$work/stop"
  wait $writer; writer=
  tl_sh_check "$kind: the run over a source being written to exits 0" '[ $rc -eq 0 ] || { cat "$dir/run.out"; false; }'
  tl_sh_check "$kind: the writer changed the source during the copy (sum(a) $m0 -> $m1)" '[ "${m1:-0}" -gt "${m0:-0}" ]'

  echo "SELECT id, a, b FROM $db.hot;" | client "$kind" src > "$work/src.$kind"
  echo "SELECT id, a, b FROM $db.hot;" | client "$kind" dst > "$work/dst.$kind"
  out=$(check_rows "$kind"); viol=$(echo "$out" | grep -v '^#'); echo "$out" | grep '^#'
  tl_sh_check "$kind: every target row is one whole version the source held, nothing lost or invented" \
    '[ -z "$viol" ] || { echo "$viol"; false; }'

  "$TL_BIN" verify "$dir/task.ini" --json >"$dir/verify.json" 2>"$dir/verify.err"; vrc=$?
  tl_sh_check "$kind: verify after the copy exits 3 (differences)" '[ $vrc -eq 3 ] || { cat "$dir/verify.json" "$dir/verify.err"; false; }'
  tl_sh_check "$kind: verify reports hot as differing with key ranges, cold as ok" \
    'python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
t = {x[\"tb\"]: x for x in r[\"tables\"]}
sys.exit(0 if t[\"hot\"][\"status\"] == \"differs\" and t[\"hot\"][\"ranges\"] and t[\"cold\"][\"status\"] == \"ok\" else 1)
" "$dir/verify.json" || { cat "$dir/verify.json"; false; }'
done
tl_sh_result
