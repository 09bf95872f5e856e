#!/usr/bin/env bash
# _case.sh CASE - runs one ape-dts conformance case from ../shared/conformance exactly as
# its README says: substitute URLs and paths, run the prepare scripts, run the task once,
# compare every target count with expected_counts.tsv. Exit 77 (skipped) when the shared
# fixtures are absent (a user's fresh clone); under CI a missing server is a failure.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
case_rel=$1
src=$TL_SRC
bin=$(tl_sh_tideline) || exit 1
conf=${TL_CONFORMANCE_DIR:-$src/../shared/conformance}
dir=$conf/$case_rel
if [ ! -d "$dir" ]; then
  echo "skipped: $dir not present (shared conformance fixtures are only in CI checkouts)"
  exit 77
fi
kind=$(basename "$(dirname "$dir")")
case $kind in
  mysql) need=(TL_MYSQL_SRC_URL TL_MYSQL_DST_URL) ;;
  pg) need=(TL_PG_SRC_URL TL_PG_DST_URL) ;;
  mongo) need=(TL_MONGO_SRC_URL TL_MONGO_DST_URL) ;;
esac
tl_sh_require_env "${need[@]}"

tl_sh_tmpdir conf; work=$TL_SH_TMPDIR
sed -e "s#{mysql_extractor_url}#${TL_MYSQL_SRC_URL:-}#; s#{mysql_sinker_url}#${TL_MYSQL_DST_URL:-}#" \
    -e "s#{pg_extractor_url}#${TL_PG_SRC_URL:-}#; s#{pg_sinker_url}#${TL_PG_DST_URL:-}#" \
    -e "s#{mongo_extractor_url}#${TL_MONGO_SRC_URL:-}#; s#{mongo_sinker_without_auth_url}#${TL_MONGO_DST_URL:-}#" \
    -e "s#{mongo_sinker_username}##; s#{mongo_sinker_password}##" \
    -e "s#\./dt-tests/tests/[a-z_]*/snapshot/[a-z_/]*/\(resume_logs\|resume\.config\)#$dir/\1#" \
    "$dir/task_config.ini" > "$work/task.ini"

# Mongo: a source that does not store some BSON types (FerretDB 1.x: MinKey, MaxKey,
# Decimal128, JavaScript; found by trying, tools/mongo_load.py --unstorable-out) gets the
# fixtures without the inserts that hold them; those collections are listed in
# $work/unstorable.tsv and left out of the count checks below, each with a line saying why.
load() { # kind url file
  case $1 in
    mysql) python3 "$src/tools/sqlrun.py" --kind mysql --url "$2" "$3" ;;
    pg) python3 "$src/tools/sqlrun.py" --kind pg --url "$2" "$3" ;;
    mongo) /usr/bin/python3 "$src/tools/mongo_load.py" --url "$2" --unstorable-out "$work/unstorable.tsv" "$3" ;;
  esac
}
: > "$work/unstorable.tsv"
case $kind in
  mysql) S=$TL_MYSQL_SRC_URL; D=$TL_MYSQL_DST_URL ;;
  pg) S=$TL_PG_SRC_URL; D=$TL_PG_DST_URL ;;
  mongo) S=$TL_MONGO_SRC_URL; D=$TL_MONGO_DST_URL ;;
esac
load $kind "$S" "$dir/src_prepare.sql" || { echo "FAIL: src_prepare.sql"; exit 1; }
load $kind "$D" "$dir/dst_prepare.sql" || { echo "FAIL: dst_prepare.sql"; exit 1; }
load $kind "$S" "$dir/src_test.sql" || { echo "FAIL: src_test.sql"; exit 1; }

( cd "$work" && "$bin" run task.ini ) > "$work/run.out" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
  echo "FAIL: tideline run exited $rc"; cat "$work/run.out"; cat "$work/logs/default.log" 2>/dev/null | tail -30; exit 1
fi

count() { # kind url schema table
  case $1 in
    mysql) python3 - "$2" "$3" "$4" <<'PY'
import sys, subprocess, os
from urllib.parse import urlparse
u = urlparse(sys.argv[1]); q = lambda s: '`' + s.replace('`', '``') + '`'
env = dict(os.environ)
if u.password: env["MYSQL_PWD"] = u.password
sql = "SELECT COUNT(*) FROM %s.%s" % (q(sys.argv[2]), q(sys.argv[3]))
print(subprocess.run(["mariadb", "--protocol=TCP", "-h", u.hostname, "-P", str(u.port), "-u", u.username or "root",
                      "-N", "-B", "-e", sql], env=env, capture_output=True, text=True).stdout.strip())
PY
    ;;
    pg) python3 - "$2" "$3" "$4" <<'PY'
import sys, subprocess
q = lambda s: '"' + s.replace('"', '""') + '"'
sql = "SELECT COUNT(*) FROM %s.%s" % (q(sys.argv[2]), q(sys.argv[3]))
print(subprocess.run(["psql", "-X", "-tA", "-d", sys.argv[1], "-c", sql], capture_output=True, text=True).stdout.strip())
PY
    ;;
    mongo) /usr/bin/python3 "$src/tools/mongo_load.py" --url "$2" --count "$3" "$4" ;;
  esac
}
fails=0; checked=0
while IFS=$'\t' read -r schema table expected; do
  case "$schema" in ''|'#'*) continue ;; esac
  why=$(awk -F'\t' -v s="$schema" -v t="$table" '$1 == s && $2 == t { print $3; exit }' "$work/unstorable.tsv")
  if [ -n "$why" ]; then
    echo "not checked on this server: $schema.$table (its fixture documents hold $why, which this server does not store)"
    continue
  fi
  got=$(count $kind "$D" "$schema" "$table")
  checked=$((checked + 1))
  if [ "$got" != "$expected" ]; then
    echo "MISMATCH $schema.$table: target has '$got' rows, expected $expected"; fails=$((fails + 1))
  else
    echo "ok $schema.$table = $expected"
  fi
done < "$dir/expected_counts.tsv"
# With a database store (from_target), the run must also have kept ape-dts' table up to
# date: every listed table ends with a SnapshotFinished row for this task.
if grep -q '^resume_type=from_target' "$work/task.ini" && [ "$kind" != mongo ]; then
  task_id=$(sed -n 's/^task_id=//p' "$work/task.ini")
  tfn=$(sed -n 's/^table_full_name=//p' "$work/task.ini")
  want=$(grep -vc '^#' "$dir/expected_counts.tsv")
  sql="SELECT COUNT(*) FROM ${tfn} WHERE task_id = '${task_id}' AND resumer_type = 'SnapshotFinished'"
  case $kind in
    mysql) got=$(python3 - "$D" "$sql" <<'PY'
import sys, subprocess, os
from urllib.parse import urlparse
u = urlparse(sys.argv[1]); env = dict(os.environ)
if u.password: env["MYSQL_PWD"] = u.password
print(subprocess.run(["mariadb", "--protocol=TCP", "-h", u.hostname, "-P", str(u.port), "-u", u.username or "root",
                      "-N", "-B", "-e", sys.argv[2]], env=env, capture_output=True, text=True).stdout.strip())
PY
) ;;
    pg) got=$(psql -X -tA -d "$D" -c "$sql") ;;
  esac
  checked=$((checked + 1))
  if [ "${got:-0}" -lt "$want" ]; then
    echo "MISMATCH ape-dts table $tfn: $got SnapshotFinished rows for task $task_id, expected at least $want"
    fails=$((fails + 1))
  else
    echo "ok ape-dts table $tfn has $got SnapshotFinished rows"
  fi
fi
if [ $fails -ne 0 ]; then
  echo "--- tideline output"; cat "$work/run.out"; echo "--- default.log"; tail -60 "$work/logs/default.log"
  echo "$case_rel: $fails of $checked counts differ"; exit 1
fi
echo "$case_rel: all $checked counts match"
