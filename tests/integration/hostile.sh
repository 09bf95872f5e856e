#!/usr/bin/env bash
# hostile.sh - nothing a user feeds in may crash tideline or corrupt its store: every file
# of tests/data/hostile (bad task files, bad log lines, router maps naming missing objects,
# cycles, two sources onto one target, bad col_map JSON, TLS with a wrong CA) gets a clear
# message naming the file and line or the section and key, a non-zero exit, and an
# unchanged store and logs (checksums before/after). Also: a store that is not SQLite, a store from a newer schema,
# a read-only log dir and a full disk (small tmpfs, when mounting is allowed), and a table
# named `a`; DROP TABLE x; --` with a column full of quote characters, which must copy like
# any other (MySQL and PostgreSQL).
# shellcheck disable=SC2034  # out, got, ...: read by the tl_sh_check expressions (eval)
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
tl_sh_setup hostile TL_MYSQL_SRC_URL TL_MYSQL_DST_URL TL_PG_SRC_URL TL_PG_DST_URL; work=$TL_SH_TMPDIR
corpus=$TL_SRC/tests/data/hostile
mnt=
# shellcheck disable=SC2016  # expanded at exit
tl_sh_on_exit '[ -z "$mnt" ] || umount "$mnt" 2>/dev/null'
sum_state() { (cat "$1"/position.log "$1"/finished.log 2>/dev/null; sqlite3 "$1/checkpoint.db" \
  'select * from position; select * from finished; select * from task_table' 2>/dev/null) | md5sum; }

# A store and logs with real content, to prove they are left alone.
mkdir -p "$work/logs"
printf '2024-01-01 00:00:00.000000 | current_position | {"type":"RdbSnapshot","db_type":"mysql","schema":"s","tb":"t","order_key":{"single":["id","7"]}}\n' > "$work/seed.log"
"$TL_BIN" import --store "$work/logs/checkpoint.db" "$work/seed.log" >/dev/null
cp "$work/seed.log" "$work/logs/position.log"
before=$(sum_state "$work/logs")

# 1. bad task files: expected message fragment per file
declare -A expect=(
  [missing_sinker.ini]="[sinker] db_type is required"
  [wrong_type.ini]="buffer_size=lots can not be parsed"
  [unknown_db_type.ini]="db_type=oracle is not supported"
  [url_without_host.ini]="no host"
  [bad_resume_type.ini]="resume_type=sometimes"
  [malformed_line.ini]="malformed_line.ini:7:"
  [from_db_without_url.ini]="[resumer] url is required"
  [bad_table_full_name.ini]="table_full_name=a.b.c"
  [mongo_chunk.ini]="parallel_type=chunk is not supported for mongo"
  [tls_wrong_ca.ini]="cannot connect to mysql at 127.0.0.1:$(tl_sh_port "$TL_MYSQL_SRC_URL"): TLS/SSL error"
  [tls_pg_wrong_ca.ini]="certificate verify failed"
  [tls_missing_ca.ini]="[sinker] ssl_ca_path=/nonexistent/tideline-ca.pem cannot be read"
  [filter_typo.ini]="(do_dbs=wrld_tideline_hostile)"
  [section_typo.ini]="unknown section [filtre]: did you mean [filter]?"
  [check_sampling.ini]="[checker] sample_percent=10 is not supported: sampling changes which rows"
  [inline_checker.ini]="[checker] asks for an inline check, which is not supported"
  [cdc_task.ini]="extract_type=cdc is not supported: tideline copies a snapshot"
)
other_ca=${TL_TLS_DIR:-/nonexistent}/other-ca.pem
for f in "${!expect[@]}"; do
  sed -e "s#@SRC@#$TL_MYSQL_SRC_URL#; s#@DST@#$TL_MYSQL_DST_URL#; s#@PGSRC@#$TL_PG_SRC_URL#; s#@PGDST@#$TL_PG_DST_URL#" \
    -e "s#@OTHER_CA@#$other_ca#" "$corpus/$f" > "$work/$f"
  printf '[runtime]\nlog_dir=%s/logs\n' "$work" >> "$work/$f"
  out=$("$TL_BIN" run "$work/$f" 2>&1); rc=$?
  tl_sh_check "$f: exit $rc, says '${expect[$f]}'" "[ $rc -ne 0 ] && [ $rc -ne 139 ] && echo \"\$out\" | grep -qF -- '${expect[$f]}'"
done
tl_sh_check "store and logs unchanged after bad task files" "[ \"$before\" = \"\$(sum_state '$work/logs')\" ]"

# 1b. router and ignore_cols cases (their tl-* lines, which tests/unit/test_route.c checks
# against a catalog in memory) against the real servers: the catalog's tables are made on
# the source (and dropped again when they were not there), then `plan` must refuse with
# the expected message, or accept an "ok" case. Mongo cases are refused at load.
catalog_sql() { # KIND CATALOG: the CREATE statements of "db.t(id*,x) db.u(…)"
  local kind=$1 entry db tb cols c defs pk
  for entry in $2; do
    db=${entry%%.*}; tb=${entry#*.}; cols=${tb#*(}; cols=${cols%)}; tb=${tb%%(*}
    defs=; pk=
    for c in ${cols//,/ }; do
      defs+="${defs:+, }${c%\*} int"; [ "${c%\*}" != "$c" ] && pk+="${pk:+, }${c%\*}"
    done
    [ -n "$pk" ] && defs+=", PRIMARY KEY ($pk)"
    if [ "$kind" = mysql ]; then
      echo "CREATE DATABASE IF NOT EXISTS \`$db\`; CREATE TABLE IF NOT EXISTS \`$db\`.\`$tb\` ($defs);"
    else
      echo "CREATE SCHEMA IF NOT EXISTS \"$db\"; CREATE TABLE IF NOT EXISTS \"$db\".\"$tb\" ($defs);"
    fi
  done
}
catalog_dbs() { local e; for e in $1; do echo "${e%%.*}"; done | sort -u; }
db_exists() { # KIND DB
  if [ "$1" = mysql ]; then [ -n "$(tl_sh_mysql "$TL_MYSQL_SRC_URL" -e "SHOW DATABASES LIKE '$2'")" ]
  else [ -n "$(psql -X -tA "$TL_PG_SRC_URL" -c "SELECT 1 FROM pg_namespace WHERE nspname = '$2'")" ]; fi
}
for f in "$corpus"/router_*.ini "$corpus"/ignore_cols_*.ini; do
  name=$(basename "$f")
  kind=$(sed -n 's/^db_type=//p' "$f" | head -1)
  want=$(sed -n 's/^; tl-expect: //p' "$f")
  cat=$(sed -n 's/^; tl-catalog: //p' "$f")
  case $kind in
    mysql) src=$TL_MYSQL_SRC_URL; dst=$TL_MYSQL_DST_URL ;;
    pg) src=$TL_PG_SRC_URL; dst=$TL_PG_DST_URL ;;
    *) src=mongodb://127.0.0.1:1; dst=$src ;;
  esac
  grep -q '^; tl-same-server: yes' "$f" && dst=$src
  made=()
  if [ "$kind" != mongo ]; then
    for db in $(catalog_dbs "$cat"); do db_exists "$kind" "$db" || made+=("$db"); done
    if [ "$kind" = mysql ]; then tl_sh_mysql "$src" -e "$(catalog_sql mysql "$cat")"
    else psql -X -q "$src" -c "$(catalog_sql pg "$cat")" 2>/dev/null; fi
  fi
  sed -e "s#@SRC@#$src#; s#@DST@#$dst#" "$f" > "$work/$name"
  # the catalog's databases are what the task selects, unless it has its own [filter]
  grep -q '^do_\(dbs\|tbs\)=' "$f" || printf '[filter]\ndo_dbs=%s\n' "$(catalog_dbs "$cat" | paste -sd,)" >> "$work/$name"
  printf '[runtime]\nlog_dir=%s/rlogs\n' "$work" >> "$work/$name"
  out=$("$TL_BIN" plan "$work/$name" 2>&1); rc=$?
  if [ "$want" = ok ]; then
    tl_sh_check "$name: accepted on $kind (rc $rc)" "[ $rc -eq 0 ]"
  else
    tl_sh_check "$name: refused on $kind, says '$want'" "[ $rc -ne 0 ] && [ $rc -ne 139 ] && echo \"\$out\" | grep -qF -- \"\$want\""
  fi
  for db in "${made[@]}"; do
    if [ "$kind" = mysql ]; then tl_sh_mysql "$src" -e "DROP DATABASE \`$db\`"
    else psql -X -q "$src" -c "DROP SCHEMA \"$db\" CASCADE" 2>/dev/null; fi
  done
done

# 2. bad log lines: import fails with FILE:LINE, store unchanged; the CRLF file is fine
for f in "$corpus"/*.log; do
  name=$(basename "$f")
  out=$("$TL_BIN" import --store "$work/logs/checkpoint.db" "$f" 2>&1); rc=$?
  if [ "$name" = crlf_ok.log ]; then
    tl_sh_check "$name is accepted" "[ $rc -eq 0 ]"
    "$TL_BIN" import --store "$work/logs/checkpoint.db" "$work/seed.log" >/dev/null # restore the seed record
    sqlite3 "$work/logs/checkpoint.db" "delete from position where schema='hostile_db'"
  else
    tl_sh_check "$name: exit $rc, names $name:1" "[ $rc -eq 1 ] && echo \"\$out\" | grep -qF '$name:1:'"
  fi
done
# the same bad lines as a run's resume source: the run refuses before copying anything
tl_sh_task "$work/badsrc.ini" mysql "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" filter.do_dbs=nonexistent_db \
  runtime.log_dir="$work/logs" resumer.resume_type=from_log resumer.log_dir="$work/none" \
  resumer.config_file="$corpus/number_value.log"
out=$("$TL_BIN" run "$work/badsrc.ini" 2>&1); rc=$?
tl_sh_check "run with a bad resume.config fails with file:line" "[ $rc -eq 1 ] && echo \"\$out\" | grep -qF 'number_value.log:1:'"
before=$(sum_state "$work/logs")

# 3. stores that cannot be used
echo "not a database at all" > "$work/notsqlite.db"
out=$("$TL_BIN" status --store "$work/notsqlite.db" 2>&1); rc=$?
tl_sh_check "non-SQLite store: clear error naming it" "[ $rc -eq 1 ] && echo \"\$out\" | grep -qF 'notsqlite.db'"
tl_sh_check "non-SQLite store file untouched" "[ \"\$(cat '$work/notsqlite.db')\" = 'not a database at all' ]"
cp "$work/logs/checkpoint.db" "$work/newer.db"
sqlite3 "$work/newer.db" 'PRAGMA user_version = 99'
out=$("$TL_BIN" import --store "$work/newer.db" "$work/seed.log" 2>&1); rc=$?
tl_sh_check "newer store refused" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'schema version 99'"
tl_sh_check "store and logs unchanged" "[ \"$before\" = \"\$(sum_state '$work/logs')\" ]"

# 4. hostile identifiers copy like any other table (MySQL and PostgreSQL)
S=(tl_sh_mysql "$TL_MYSQL_SRC_URL"); D=(tl_sh_mysql "$TL_MYSQL_DST_URL")
tl_sh_mysql_db "\`hostile;db\`" "CREATE TABLE \`hostile;db\`.\`a\`\`; DROP TABLE x; --\` (\`p\"k'.;\` INT PRIMARY KEY, \`v\`\`\` VARCHAR(20));" \
  "INSERT INTO \`hostile;db\`.\`a\`\`; DROP TABLE x; --\` VALUES (1,'o''k'),(2,'\"'),(3,'\`');"
tl_sh_task "$work/mq.ini" mysql "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" extractor.batch_size=1 \
  "filter.do_tbs=\`hostile;db\`.*" runtime.log_dir="$work/mlogs" resumer.resume_type=from_log
out=$("$TL_BIN" run "$work/mq.ini" 2>&1); rc=$?
mq="SELECT COUNT(*), GROUP_CONCAT(\`v\`\`\` ORDER BY \`p\"k'.;\` SEPARATOR '|') FROM \`hostile;db\`.\`a\`\`; DROP TABLE x; --\`"
got=$("${D[@]}" -e "$mq"); want=$("${S[@]}" -e "$mq")
tl_sh_check "mysql: hostile names copy (rc $rc)" "[ $rc -eq 0 ] && [ \"\$got\" = \"\$want\" ] && [ \"\$(echo \"\$got\" | cut -f1)\" = 3 ]"
"${S[@]}" -e 'DROP DATABASE `hostile;db`'; "${D[@]}" -e 'DROP DATABASE `hostile;db`'

ps="DROP SCHEMA IF EXISTS \"hostile;s\" CASCADE; CREATE SCHEMA \"hostile;s\";
CREATE TABLE \"hostile;s\".\"a\"\"; DROP TABLE x; --\" (\"p\"\"k'.;\" int PRIMARY KEY, \"v\`\" text);"
psql -X -q "$TL_PG_SRC_URL" -c "$ps" && psql -X -q "$TL_PG_DST_URL" -c "$ps"
psql -X -q "$TL_PG_SRC_URL" -c "INSERT INTO \"hostile;s\".\"a\"\"; DROP TABLE x; --\" VALUES (1,'o''k'),(2,'\"'),(3,E'tab\\there')"
tl_sh_task "$work/pq.ini" pg "$TL_PG_SRC_URL" "$TL_PG_DST_URL" extractor.batch_size=1 \
  'filter.do_tbs="hostile;s".*' runtime.log_dir="$work/plogs" resumer.resume_type=from_log
out=$("$TL_BIN" run "$work/pq.ini" 2>&1); rc=$?
q='SELECT md5(string_agg(t::text, $$,$$ ORDER BY 1)) FROM "hostile;s"."a""; DROP TABLE x; --" t'
tl_sh_check "pg: hostile names copy (rc $rc)" "[ $rc -eq 0 ] && [ \"\$(psql -X -tA '$TL_PG_SRC_URL' -c '$q')\" = \"\$(psql -X -tA '$TL_PG_DST_URL' -c '$q')\" ]"
psql -X -q "$TL_PG_SRC_URL" -c 'DROP SCHEMA "hostile;s" CASCADE'; psql -X -q "$TL_PG_DST_URL" -c 'DROP SCHEMA "hostile;s" CASCADE'

# 5. read-only log dir and a full disk (needs a tmpfs mount; skipped where not allowed)
mnt="$work/small"; mkdir -p "$mnt"
if mount -t tmpfs -o size=200k tmpfs "$mnt" 2>/dev/null; then
  db=tl_hostile_disk
  tl_sh_mysql_db $db "CREATE TABLE $db.t (id INT PRIMARY KEY, v VARCHAR(64));" \
    "INSERT INTO t SELECT seq, REPEAT('x', 60) FROM seq_1_to_20000"
  tl_sh_task "$work/disk.ini" mysql "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" extractor.batch_size=10 \
    filter.do_dbs=$db pipeline.checkpoint_interval_secs=0 runtime.log_dir="$mnt/logs" \
    runtime.position_format=order_key resumer.resume_type=from_log
  out=$("$TL_BIN" run "$work/disk.ini" 2>&1); rc=$?
  tl_sh_check "full disk: clean failure (rc $rc)" "[ $rc -eq 1 ] && echo \"\$out\" | grep -qiE 'full|space|cannot append'"
  umount "$mnt"; mount -t tmpfs -o size=20m tmpfs "$mnt"   # room again: the re-run completes
  out=$("$TL_BIN" run "$work/disk.ini" 2>&1); rc=$?
  n=$("${D[@]}" -e "SELECT COUNT(*) FROM $db.t")
  tl_sh_check "after the disk is freed the copy completes (rc $rc, $n rows)" "[ $rc -eq 0 ] && [ '$n' = 20000 ]"
  mount -o remount,ro "$mnt"
  "${D[@]}" -e "DELETE FROM $db.t"
  tl_sh_task "$work/ro.ini" mysql "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" filter.do_dbs=$db \
    runtime.log_dir="$mnt/rologs"
  out=$("$TL_BIN" run "$work/ro.ini" 2>&1); rc=$?
  tl_sh_check "read-only log dir: clear error (rc $rc)" "[ $rc -eq 1 ] && echo \"\$out\" | grep -qiE 'read-only|cannot'"
  umount "$mnt"; mnt=
  "${S[@]}" -e "DROP DATABASE $db"; "${D[@]}" -e "DROP DATABASE $db"
else
  echo "note: cannot mount a tmpfs here; full-disk and read-only cases not run"
fi
tl_sh_result
