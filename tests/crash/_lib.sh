# shellcheck shell=bash
# _lib.sh - shared helpers of the crash tests (tests/crash/*.sh) and tools/crash_matrix.sh.
# Not a test itself (ctest skips names starting with "_"); it sources ../_lib.sh (tl_sh_*:
# skip or fail, the binary, the task file). Source it:
#
#   source "$(dirname "$0")/_lib.sh"
#   cr_init mysql|pg NAME     # checks env (exit 77, or 1 under CI), work dir, traps
#   cr_dataset                # fresh database/schema NAME on source (data) and target (empty)
#   cr_task DIR               # DIR/task.ini for that database (knobs: CR_PAR, CR_PTYPE, CR_CKPT, ...)
#   cr_run_bg DIR [VAR=VAL..] # tideline run in the background (pid in CR_PID)
#   cr_wait_mid               # until the target's big table is 10-90% copied with a recorded position
#   cr_stop SIG               # signal CR_PID and reap it (exit status in CR_RC)
#   cr_run_fg DIR             # run to completion (exit status in CR_RC)
#   cr_compare                # source vs target per table; totals CR_LOST CR_DUPS CR_MISM
#
# What "equal" means: per table the row count, the number of distinct identities (the key
# columns for keyed tables, the whole row for the nullable-unique and keyless tables, so a
# duplicated row shows up even where no constraint prevents it) and an ordered content digest
# computed in SQL: md5 over the per-row md5s in key order (keyed tables) or in row-hash order
# (multiset digest for the keyless table).
#
# The dataset: big (BIGINT key, CR_BIG_ROWS rows, >= 200,000), comp (composite key with text
# part, incl. non-ASCII and mixed case), nuk (nullable UNIQUE key, every 10th key NULL),
# keyless (no key, duplicate rows, NULLs in its first column), large (~20 KB text rows).

# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../_lib.sh"
CR_TABLES=(big comp keyless large nuk)
: "${CR_BIG_ROWS:=600000}"
: "${CR_COMP_ROWS:=40000}"
: "${CR_NUK_ROWS:=30000}"
: "${CR_KEYLESS_ROWS:=40000}"
: "${CR_LARGE_ROWS:=1000}"
CR_PID=
CR_RC=0
CR_WORK=
CR_DB=
CR_KIND=
CR_NAME=
CR_FG_PID=

cr_log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "${CR_NAME:-crash}" "$*"; }

cr_parse_url() { # URL -> CR_U_USER CR_U_PASS CR_U_HOST CR_U_PORT
  local u=$1 rest
  rest=${u#*://}
  rest=${rest%%/*}
  if [[ $rest == *@* ]]; then
    local cred=${rest%@*}
    rest=${rest##*@}
    CR_U_USER=${cred%%:*}
    if [[ $cred == *:* ]]; then CR_U_PASS=${cred#*:}; else CR_U_PASS=; fi
  else
    CR_U_USER=root; CR_U_PASS=
  fi
  CR_U_HOST=${rest%:*}
  CR_U_PORT=${rest##*:}
  [ "$CR_U_PORT" != "$rest" ] || CR_U_PORT=3306
}

# cr_sql src|dst SQL... : runs SQL, prints tab-separated rows without headers.
cr_sql() {
  local side=$1; shift
  local url
  case "$CR_KIND:$side" in
    mysql:src) url=$TL_MYSQL_SRC_URL ;; mysql:dst) url=$TL_MYSQL_DST_URL ;;
    pg:src) url=$TL_PG_SRC_URL ;; pg:dst) url=$TL_PG_DST_URL ;;
  esac
  if [ "$CR_KIND" = mysql ]; then
    cr_parse_url "$url"
    MYSQL_PWD=$CR_U_PASS mariadb --no-defaults --protocol=TCP -h "$CR_U_HOST" -P "$CR_U_PORT" -u "$CR_U_USER" \
      --init-command="SET SESSION tmp_memory_table_size = 1073741824, max_heap_table_size = 1073741824" -N -B -e "$*"
  else
    printf '%s\n' "$*" | PGOPTIONS='-c client_min_messages=warning' psql -X -q -tA -F $'\t' -v ON_ERROR_STOP=1 -d "$url" -f -
  fi
}
cr_src() { cr_sql src "$@"; }
cr_dst() { cr_sql dst "$@"; }

cr_q() { # quoted name
  if [ "$CR_KIND" = mysql ]; then printf '`%s`' "$1"; else printf '"%s"' "$1"; fi
}
cr_tbl() { printf '%s.%s' "$(cr_q "$CR_DB")" "$(cr_q "$1")"; }

cr_init() { # KIND NAME
  CR_KIND=$1; CR_NAME=$2; CR_DB=$2
  case $CR_KIND in
    mysql) command -v mariadb >/dev/null || tl_sh_skip "no mariadb client"
           tl_sh_require_env TL_MYSQL_SRC_URL TL_MYSQL_DST_URL ;;
    pg) command -v psql >/dev/null || tl_sh_skip "no psql client"
        tl_sh_require_env TL_PG_SRC_URL TL_PG_DST_URL ;;
    *) echo "cr_init: unknown kind $CR_KIND" >&2; exit 2 ;;
  esac
  TL_BIN=$(tl_sh_tideline "$TL_SRC/build-crash/tideline" "$TL_SRC/build/tideline") || exit 1
  cr_src "SELECT 1" >/dev/null 2>&1 || tl_sh_skip "source server of $CR_KIND not reachable"
  cr_dst "SELECT 1" >/dev/null 2>&1 || tl_sh_skip "target server of $CR_KIND not reachable"
  CR_WORK=$(mktemp -d "/tmp/tl-crash-$CR_NAME-XXXXXX")
  trap cr_cleanup EXIT
  trap 'exit 130' INT TERM
}

cr_reap() { # stop our runs, if any (only by their pids)
  if [ -n "${CR_FG_PID:-}" ]; then   # `timeout` running tideline: it passes TERM on
    kill -TERM "$CR_FG_PID" 2>/dev/null
    wait "$CR_FG_PID" 2>/dev/null
    CR_FG_PID=
  fi
  if [ -n "${CR_PID:-}" ]; then
    kill -KILL "$CR_PID" 2>/dev/null
    wait "$CR_PID" 2>/dev/null
    CR_PID=
  fi
}

cr_cleanup() {
  local rc=$?
  cr_reap
  if [ -n "$CR_DB" ] && [ -z "${CR_KEEP:-}" ]; then
    cr_drop_db src >/dev/null 2>&1
    cr_drop_db dst >/dev/null 2>&1
  fi
  [ -z "${CR_ON_EXIT:-}" ] || eval "$CR_ON_EXIT"   # e.g. stop servers the caller started
  if [ -n "$CR_WORK" ] && [ -d "$CR_WORK" ]; then
    if [ -n "${CR_KEEP:-}" ]; then echo "work files kept in $CR_WORK (CR_KEEP set)"
    else rm -rf "$CR_WORK"; fi
  fi
  exit $rc
}

cr_drop_db() { # src|dst
  if [ "$CR_KIND" = mysql ]; then cr_sql "$1" "DROP DATABASE IF EXISTS $(cr_q "$CR_DB")"
  else cr_sql "$1" "DROP SCHEMA IF EXISTS $(cr_q "$CR_DB") CASCADE"; fi
}

cr_fail() {
  echo "FAIL: $*"
  cr_diagnose
  exit 1
}

cr_diagnose() { # last lines of the logs of the current trial (CR_CUR), to see what happened
  local d=${CR_CUR:-} f
  [ -n "$d" ] && [ -d "$d" ] || return 0
  echo "---- $d"
  for f in "$d"/run*.out; do [ -f "$f" ] && { echo "-- $f"; tail -n 8 "$f"; }; done
  [ -f "$d/logs/default.log" ] && { echo "-- default.log (tail)"; tail -n 25 "$d/logs/default.log" | cut -c 12-; }
  [ -f "$d/logs/position.log" ] && { echo "-- position.log (tail)"; tail -n 5 "$d/logs/position.log"; }
}

# ---------------------------------------------------------------------------- dataset

cr_schema_sql() {
  local db; db=$(cr_q "$CR_DB")
  if [ "$CR_KIND" = mysql ]; then cat <<SQL
DROP DATABASE IF EXISTS $db;
CREATE DATABASE $db CHARACTER SET utf8mb4;
CREATE TABLE $db.big (id BIGINT PRIMARY KEY, a INT NOT NULL, b VARCHAR(64), c DECIMAL(12,2), d DATETIME(6),
  e VARBINARY(16), pad VARCHAR(255));
CREATE TABLE $db.comp (k1 INT NOT NULL, k2 VARCHAR(20) NOT NULL, v TEXT, PRIMARY KEY (k1, k2));
CREATE TABLE $db.nuk (u INT NULL, v VARCHAR(40) NOT NULL, w DOUBLE, UNIQUE KEY uk (u));
CREATE TABLE $db.keyless (kind VARCHAR(16), n INT, note TEXT);
CREATE TABLE $db.large (id INT PRIMARY KEY, body MEDIUMTEXT);
SQL
  else cat <<SQL
DROP SCHEMA IF EXISTS $db CASCADE;
CREATE SCHEMA $db;
CREATE TABLE $db.big (id bigint PRIMARY KEY, a int NOT NULL, b varchar(64), c numeric(12,2), d timestamp(6),
  e bytea, pad varchar(255));
CREATE TABLE $db.comp (k1 int NOT NULL, k2 varchar(20) NOT NULL, v text, PRIMARY KEY (k1, k2));
CREATE TABLE $db.nuk (u int NULL UNIQUE, v varchar(40) NOT NULL, w double precision);
CREATE TABLE $db.keyless (kind varchar(16), n int, note text);
CREATE TABLE $db.large (id int PRIMARY KEY, body text);
SQL
  fi
}

cr_data_sql() {
  local db; db=$(cr_q "$CR_DB")
  if [ "$CR_KIND" = mysql ]; then cat <<SQL
USE $db;
INSERT INTO big SELECT seq, seq % 1000, CONCAT('row ', seq), IF(seq % 7 = 0, NULL, seq * 1.25),
  TIMESTAMPADD(MICROSECOND, seq * 1000001, '2024-01-01'), IF(seq % 5 = 0, NULL, UNHEX(MD5(seq))),
  REPEAT(CHAR(65 + seq % 26), 100 + seq % 100) FROM seq_1_to_$CR_BIG_ROWS;
INSERT INTO comp SELECT a.seq, ELT(b.seq, 'a', 'B', 'c d', 'é'), IF(a.seq % 9 = 0, NULL, REPEAT('v', a.seq % 30))
  FROM seq_1_to_$((CR_COMP_ROWS / 4)) a, seq_1_to_4 b;
INSERT INTO nuk SELECT IF(seq % 10 = 0, NULL, seq * 3), CONCAT('n', seq), IF(seq % 4 = 0, NULL, seq / 7) FROM seq_1_to_$CR_NUK_ROWS;
INSERT INTO keyless SELECT IF(seq % 13 = 0, NULL, ELT(1 + seq % 3, 'view', 'cart', 'buy')), seq % 500,
  IF(seq % 11 = 0, NULL, CONCAT('e', seq % 1000)) FROM seq_1_to_$CR_KEYLESS_ROWS;
INSERT INTO large SELECT seq, REPEAT(MD5(seq), 640) FROM seq_1_to_$CR_LARGE_ROWS;
SQL
  else cat <<SQL
SET search_path = $db;
INSERT INTO big SELECT g, g % 1000, 'row ' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE g * 1.25 END,
  timestamp '2024-01-01' + g * interval '1000001 microseconds', CASE WHEN g % 5 = 0 THEN NULL ELSE decode(md5(g::text), 'hex') END,
  repeat(chr(65 + g % 26), 100 + g % 100) FROM generate_series(1, $CR_BIG_ROWS) g;
INSERT INTO comp SELECT a, (ARRAY['a', 'B', 'c d', 'é'])[b], CASE WHEN a % 9 = 0 THEN NULL ELSE repeat('v', a % 30) END
  FROM generate_series(1, $((CR_COMP_ROWS / 4))) a, generate_series(1, 4) b;
INSERT INTO nuk SELECT CASE WHEN g % 10 = 0 THEN NULL ELSE g * 3 END, 'n' || g, CASE WHEN g % 4 = 0 THEN NULL ELSE g / 7.0 END
  FROM generate_series(1, $CR_NUK_ROWS) g;
INSERT INTO keyless SELECT CASE WHEN g % 13 = 0 THEN NULL ELSE (ARRAY['view', 'cart', 'buy'])[1 + g % 3] END, g % 500,
  CASE WHEN g % 11 = 0 THEN NULL ELSE 'e' || (g % 1000) END FROM generate_series(1, $CR_KEYLESS_ROWS) g;
INSERT INTO large SELECT g, repeat(md5(g::text), 640) FROM generate_series(1, $CR_LARGE_ROWS) g;
ANALYZE;
SQL
  fi
}

cr_dataset() { # creates source data and empty target tables; caches the source summary
  local t0=$SECONDS
  [ "$CR_BIG_ROWS" -ge 200000 ] || { echo "cr_dataset: CR_BIG_ROWS must be >= 200000" >&2; return 1; }
  cr_src "$(cr_schema_sql)" || return 1
  cr_dst "$(cr_schema_sql)" || return 1
  # (one retry: a busy shared machine has made a server's temporary file vanish under it)
  cr_src "$(cr_data_sql)" || { sleep 1; cr_src "$(cr_schema_sql)" && cr_src "$(cr_data_sql)"; } || return 1
  cr_summary src > "$CR_WORK/src.summary" || cr_summary src > "$CR_WORK/src.summary" || return 1
  cr_log "dataset $CR_DB: big $CR_BIG_ROWS rows + comp/nuk/keyless/large, $((SECONDS - t0)) s"
}

cr_reset_target() { # empties the target tables
  local t sql=
  for t in "${CR_TABLES[@]}"; do sql+="TRUNCATE TABLE $(cr_tbl "$t"); "; done
  cr_dst "$sql"
}

# ---------------------------------------------------------------------------- task and runs

# cr_task DIR: writes DIR/task.ini. Knobs (environment or variables): CR_TASK_ID (default
# the database name), CR_PAR (parallel_size, 1), CR_PTYPE (table|chunk), CR_CKPT
# (checkpoint_interval_secs, 1), CR_EBATCH (extractor batch_size, 2000), CR_SBATCH (500).
cr_task() {
  local dir=$1 src dst filter extra=()
  mkdir -p "$dir"
  CR_CUR=$dir
  [ -z "${CR_RPS:-}" ] || extra+=(pipeline.max_rps="$CR_RPS")
  [ -z "${CR_RETRIES:-}" ] || extra+=(pipeline.retry_max_attempts="$CR_RETRIES")
  if [ "$CR_KIND" = mysql ]; then src=$TL_MYSQL_SRC_URL; dst=$TL_MYSQL_DST_URL; filter="do_dbs=$CR_DB"
  else src=$TL_PG_SRC_URL; dst=$TL_PG_DST_URL; filter="do_tbs=$CR_DB.*"; fi
  tl_sh_task "$dir/task.ini" "$CR_KIND" "$src" "$dst" global.task_id="${CR_TASK_ID:-$CR_DB}" \
    extractor.extract_type=snapshot extractor.batch_size="${CR_EBATCH:-2000}" \
    extractor.parallel_type="${CR_PTYPE:-table}" extractor.parallel_size="${CR_PAR:-1}" \
    sinker.sink_type=write sinker.batch_size="${CR_SBATCH:-500}" filter."$filter" \
    pipeline.checkpoint_interval_secs="${CR_CKPT:-1}" runtime.log_level=info runtime.log_dir="$dir/logs" \
    resumer.resume_type=from_log "${extra[@]}"
}

cr_next_out() { # DIR -> path of the next DIR/runN.out
  local n=1
  while [ -e "$1/run$n.out" ]; do n=$((n + 1)); done
  echo "$1/run$n.out"
}

# cr_run_bg DIR [VAR=VALUE...]: starts `tideline run` in the background; pid in CR_PID.
# CR_RUN_ARGS: extra arguments of `run` (e.g. --init), for this and cr_run_fg.
cr_run_bg() {
  local dir=$1; shift
  local out; out=$(cr_next_out "$dir")
  CR_LOG_MARK=$(cr_log_lines "$dir")
  ( cd "$dir" && exec env "$@" "$TL_BIN" run task.ini ${CR_RUN_ARGS:-} ) > "$out" 2>&1 &
  CR_PID=$!
  CR_OUT=$out
}

# cr_run_fg DIR [VAR=VALUE...]: runs to completion (at most CR_RUN_TIMEOUT s); CR_RC.
cr_run_fg() {
  local dir=$1; shift
  local out; out=$(cr_next_out "$dir")
  CR_LOG_MARK=$(cr_log_lines "$dir")
  ( cd "$dir" && exec timeout -s KILL "${CR_RUN_TIMEOUT:-300}" env "$@" "$TL_BIN" run task.ini ${CR_RUN_ARGS:-} ) > "$out" 2>&1 &
  CR_FG_PID=$!
  wait "$CR_FG_PID" 2>/dev/null   # (no "Killed" line from bash when the hook kills the run)
  CR_RC=$?
  CR_FG_PID=
  CR_OUT=$out
  return 0
}

cr_log_lines() { # number of lines default.log has now (to read what the next run adds)
  if [ -f "$1/logs/default.log" ]; then wc -l < "$1/logs/default.log"; else echo 0; fi
}
cr_new_log() { # DIR: default.log lines written by the last run started with cr_run_*
  [ -f "$1/logs/default.log" ] && tail -n +"$((CR_LOG_MARK + 1))" "$1/logs/default.log"
}

# cr_new_log_has DIR PATTERN: the last run's log lines hold PATTERN (grep reads a file:
# `cr_new_log | grep -q` under pipefail fails when grep quits before tail has written all)
cr_new_log_has() {
  cr_new_log "$1" > "$CR_WORK/.newlog" || true
  grep -q -- "$2" "$CR_WORK/.newlog"
}

cr_count() { # src|dst TABLE
  cr_sql "$1" "SELECT COUNT(*) FROM $(cr_tbl "$2")"
}

# cr_wait_mid DIR [LO% HI%]: waits until the target's big table holds LO-HI % of its rows
# and position.log holds a position of it (not required when CR_WAIT_NOPOS is set). 0 = in the window, 1 = missed it (copy went
# past HI or the run ended), 2 = timeout.
cr_wait_mid() {
  local dir=$1 lo=${2:-10} hi=${3:-90} n t0=$SECONDS
  local min=$((CR_BIG_ROWS * lo / 100)) max=$((CR_BIG_ROWS * hi / 100))
  while [ $((SECONDS - t0)) -lt 120 ]; do
    kill -0 "$CR_PID" 2>/dev/null || return 1
    n=$(cr_count dst big 2>/dev/null) || n=0
    [ -n "$n" ] || n=0
    if [ "$n" -gt "$max" ]; then return 1; fi
    if [ "$n" -ge "$min" ] && { [ -n "${CR_WAIT_NOPOS:-}" ] || grep -q '"tb":"big"' "$dir/logs/position.log" 2>/dev/null; }; then
      return 0
    fi
    sleep 0.05
  done
  return 2
}

# cr_stop SIG: sends SIG to the background run and reaps it; exit status in CR_RC.
cr_stop() {
  kill -"$1" "$CR_PID" 2>/dev/null
  wait "$CR_PID" 2>/dev/null
  CR_RC=$?
  CR_PID=
}

# cr_wait_bg: waits for the background run to end by itself; exit status in CR_RC.
cr_wait_bg() {
  local t0=$SECONDS
  while kill -0 "$CR_PID" 2>/dev/null; do
    if [ $((SECONDS - t0)) -ge "${CR_RUN_TIMEOUT:-300}" ]; then kill -KILL "$CR_PID" 2>/dev/null; fi
    sleep 0.05
  done
  wait "$CR_PID" 2>/dev/null
  CR_RC=$?
  CR_PID=
}

# cr_last_pos DIR TABLE: the value of the last position.log record of TABLE (one-column key).
cr_last_pos() {
  grep "\"tb\":\"$2\"" "$1/logs/position.log" 2>/dev/null | tail -n 1 |
    sed -n 's/.*"value":"\([^"]*\)".*/\1/p; s/.*"order_key":{"single":\["[^"]*","\([^"]*\)"\]}.*/\1/p' | head -n 1
}

# cr_assert_resumed DIR TABLE: the last run resumed TABLE from a position (did not start over).
cr_assert_resumed() {
  cr_new_log_has "$1" "resumer, get resume value, schema: $CR_DB, tb: $2," ||
    cr_fail "the run after the interruption did not resume $CR_DB.$2 (no 'resumer, get resume value' line)"
  local copied
  copied=$(cr_new_log "$1" | sed -n "s/.*table $CR_DB\.$2 finished: \([0-9]*\) rows.*/\1/p" | tail -n 1)
  if [ -n "$copied" ] && [ "$copied" -ge "$CR_BIG_ROWS" ] && [ "$2" = big ]; then
    cr_fail "the run after the interruption copied $copied rows of $2 again (started over)"
  fi
  cr_log "resumed $2: $(cr_new_log "$1" | grep -o "resumer, get resume value, schema: $CR_DB, tb: $2,.*" | head -n 1); second run copied ${copied:-?} rows"
  # PG, batch mode, a one-column key, started by this task into an empty target: the rows
  # past the position are removed and the rest goes through COPY again (copy.c clear_tail)
  if [ "$CR_KIND" = pg ] && [ "$2" = big ] && [ "${CR_PTYPE:-table}" = table ]; then
    cr_new_log_has "$1" "table $CR_DB.big: removing the target rows after " ||
      cr_fail "the resumed run did not clear big past its position for the bulk path"
    cr_new_log_has "$1" "table $CR_DB.big: resuming, .*(bulk path allowed)" ||
      cr_fail "the resumed run did not write the rest of big on the bulk path"
  fi
}

# ---------------------------------------------------------------------------- comparison

cr_cols() { # src|dst TABLE -> column names, one a line
  if [ "$CR_KIND" = mysql ]; then
    cr_sql "$1" "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='$CR_DB' AND TABLE_NAME='$2' ORDER BY ORDINAL_POSITION"
  else
    cr_sql "$1" "SELECT column_name FROM information_schema.columns WHERE table_schema='$CR_DB' AND table_name='$2' ORDER BY ordinal_position"
  fi
}

cr_table_order() { # TABLE -> ORDER BY list ('' = order by the row hash), identity columns ('' = whole row)
  case $1 in
    big) CR_ORD=id; CR_IDENT=id ;;
    large) CR_ORD=id; CR_IDENT=id ;;
    comp) CR_ORD="k1, k2"; CR_IDENT="k1, k2" ;;
    nuk) CR_ORD="u, v"; CR_IDENT= ;;
    *) CR_ORD=; CR_IDENT= ;;
  esac
}

# cr_summary_sql SIDE TABLE: one row "count <tab> distinct identities <tab> digest".
cr_summary_sql() {
  local side=$1 t=$2 tb rowh c exprs=()
  tb=$(cr_tbl "$t")
  cr_table_order "$t"
  if [ "$CR_KIND" = mysql ]; then
    while read -r c; do exprs+=("IFNULL(HEX(CAST(\`$c\` AS BINARY)), 'N')"); done < <(cr_cols "$side" "$t")
    rowh="MD5(CONCAT_WS('|', $(IFS=,; echo "${exprs[*]}")))"
    local ord=${CR_ORD:-h} ident=${CR_IDENT:-*}
    echo "SET SESSION group_concat_max_len = 1073741824;
SELECT COUNT(*), (SELECT COUNT(*) FROM (SELECT DISTINCT $ident FROM $tb) d),
  IFNULL(MD5(GROUP_CONCAT(h ORDER BY $ord SEPARATOR '')), 'empty') FROM (SELECT $rowh AS h, x.* FROM $tb x) y"
  else
    local ord=${CR_ORD:-md5(x::text)} ident=${CR_IDENT:-*}
    echo "SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT $ident FROM $tb) d),
  coalesce(md5(string_agg(md5(x::text), '' ORDER BY $ord)), 'empty') FROM $tb x"
  fi
}

cr_summary() { # src|dst -> lines "table count distinct digest"
  local t r
  for t in "${CR_TABLES[@]}"; do
    r=$(cr_sql "$1" "$(cr_summary_sql "$1" "$t")") || return 1
    printf '%s\t%s\n' "$t" "$r"
  done
}

# cr_compare [LABEL]: compares the target with the cached source summary; prints one line
# per table and sets CR_LOST (rows missing), CR_DUPS (extra rows / duplicated identities),
# CR_MISM (tables whose digest differs). Returns 0 when the target equals the source.
cr_compare() {
  local label=${1:-compare} t sc sd sh dc dd dh lost dups bad
  cr_summary dst > "$CR_WORK/dst.summary" || cr_summary dst > "$CR_WORK/dst.summary" || { echo "cr_compare: summary of the target failed"; CR_MISM=99; return 1; }
  CR_LOST=0; CR_DUPS=0; CR_MISM=0
  while IFS=$'\t' read -r t sc sd sh; do
    IFS=$'\t' read -r _ dc dd dh < <(grep -P "^$t\t" "$CR_WORK/dst.summary")
    lost=$(( sc > dc ? sc - dc : 0 ))
    dups=$(( dc > sc ? dc - sc : 0 ))
    local extra_rep=$(( (dc - dd) - (sc - sd) ))
    [ "$extra_rep" -gt "$dups" ] && dups=$extra_rep
    bad=0; [ "$sh" = "$dh" ] || bad=1
    CR_LOST=$((CR_LOST + lost)); CR_DUPS=$((CR_DUPS + dups)); CR_MISM=$((CR_MISM + bad))
    if [ "$lost$dups$bad" != 000 ] || [ -n "${CR_VERBOSE:-}" ]; then
      printf '  %-8s %-8s source %7s rows (%7s distinct)  target %7s rows (%7s distinct)  lost %s dups %s digest %s\n' \
        "$label" "$t" "$sc" "$sd" "$dc" "$dd" "$lost" "$dups" "$([ $bad = 0 ] && echo equal || echo DIFFERENT)"
    fi
  done < "$CR_WORK/src.summary"
  [ "$CR_LOST$CR_DUPS$CR_MISM" = 000 ]
}

# cr_show_diff TABLE: the first rows that differ (identity + row hash), for bug reports.
cr_show_diff() {
  local t=$1 side tb rowh c exprs
  tb=$(cr_tbl "$t")
  cr_table_order "$t"
  for side in src dst; do
    exprs=()
    if [ "$CR_KIND" = mysql ]; then
      while read -r c; do exprs+=("IFNULL(HEX(CAST(\`$c\` AS BINARY)), 'N')"); done < <(cr_cols "$side" "$t")
      rowh="MD5(CONCAT_WS('|', $(IFS=,; echo "${exprs[*]}")))"
      cr_sql "$side" "SELECT CONCAT_WS('|', ${CR_ORD:-'-'}), $rowh FROM $tb" | sort > "$CR_WORK/diff.$side"
    else
      cr_sql "$side" "SELECT concat_ws('|', ${CR_ORD:-'-'}), md5(x::text) FROM $tb x" | sort > "$CR_WORK/diff.$side"
    fi
  done
  echo "  rows only in the source of $t: $(comm -23 "$CR_WORK/diff.src" "$CR_WORK/diff.dst" | wc -l), e.g.:"
  comm -23 "$CR_WORK/diff.src" "$CR_WORK/diff.dst" | head -n 5 | sed 's/^/    /'
  echo "  rows only in the target of $t: $(comm -13 "$CR_WORK/diff.src" "$CR_WORK/diff.dst" | wc -l), e.g.:"
  comm -13 "$CR_WORK/diff.src" "$CR_WORK/diff.dst" | head -n 5 | sed 's/^/    /'
}

# cr_check LABEL: cr_compare, and on a difference the differing rows, then fail.
cr_check() {
  if cr_compare "$1"; then
    cr_log "$1: target equals source (5 tables: counts, distinct keys, ordered digests)"
    return 0
  fi
  local t
  while IFS=$'\t' read -r t _ _ sh; do
    grep -qP "^$t\t.*\t$sh\$" "$CR_WORK/dst.summary" || cr_show_diff "$t"
  done < "$CR_WORK/src.summary"
  cr_fail "$1: target differs from source (lost $CR_LOST, duplicates $CR_DUPS, tables differing $CR_MISM)"
}

# ---------------------------------------------------------------------------- scenarios
# The test scripts are one line each: cr_init KIND NAME, then one of these.

cr_rand_sleep() { # LO_MS HI_MS: sleeps a random time in [LO, HI] milliseconds
  local ms=$(( $1 + RANDOM % ($2 - $1 + 1) ))
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
}

cr_table_being_copied() { # DIR: the table the last run started/resumed last (where it died)
  cr_new_log "$1" | sed -n 's/.*table [^ ]*\.\([^ .]*\): \(starting\|resuming\),.*/\1/p' | tail -n 1
}

# cr_expect_done LABEL: the last foreground run succeeded and used every position the task
# itself recorded (a record tideline wrote and then ignores means starting that table over).
cr_expect_done() {
  [ "$CR_RC" = 0 ] || cr_fail "$1: tideline run exited $CR_RC (expected 0); output: $(tail -n 3 "$CR_OUT")"
  local ign
  ign=$(cr_new_log "$CR_CUR" | grep "resumer, position of .* ignored" | head -n 3)
  [ -z "$ign" ] || cr_fail "$1: the run ignored positions this task recorded itself: ${ign#*- INFO - }"
}

# SIGKILL mid-copy. Trial 1: parallel_size=1, killed while the big table is 10-90% copied
# and a position of it is recorded; the recorded key must not be past the committed rows,
# the next run must resume (not start over) and the target must equal the source.
# Trial 2: parallel_size=3, killed at a random 0.3-1.5 s, the second run killed the same
# way, then a final run. Trial 3: the task restarted with `run --init` over the logs of
# trial 2, killed mid-copy, then a plain run.
cr_scenario_kill() {
  local dir n pos w t0=$SECONDS
  cr_dataset || cr_fail "creating the dataset"

  # (checkpoint every 1 s; if the machine copies big before a position is due, again
  # with a position after every batch)
  local ckpt
  for ckpt in 1 0; do
    dir=$CR_WORK/t1-ckpt$ckpt
    CR_PAR=1 CR_CKPT=$ckpt cr_task "$dir"
    cr_run_bg "$dir"
    cr_wait_mid "$dir"; w=$?
    [ $w = 0 ] && break
    cr_reap
    cr_log "trial 1: missed the 10-90% window with checkpoint_interval_secs=$ckpt (wait status $w)"
    cr_reset_target || cr_fail "resetting the target"
  done
  [ $w = 0 ] || cr_fail "trial 1: never saw big 10-90% copied with a recorded position"
  cr_stop KILL
  [ "$CR_RC" = 137 ] || cr_fail "trial 1: run 1 exited $CR_RC after SIGKILL (expected 137)"
  n=$(cr_count dst big); pos=$(cr_last_pos "$dir" big)
  cr_log "trial 1: SIGKILL with $n/$CR_BIG_ROWS rows of big on the target, last recorded position id=$pos"
  [ -n "$pos" ] || cr_fail "trial 1: no position of big in position.log"
  [ "$n" -lt "$CR_BIG_ROWS" ] || cr_fail "trial 1: big was already complete at the kill"
  [ "$pos" -le "$n" ] || cr_fail "trial 1: position id=$pos recorded but only $n rows (ids 1..N) committed"
  cr_run_fg "$dir"; cr_expect_done "trial 1 run 2"
  cr_assert_resumed "$dir" big
  cr_check "trial 1"

  cr_reset_target || cr_fail "resetting the target"
  dir=$CR_WORK/t2
  # (at most 60,000 rows/s: the copy lasts 5 s or more, so that both random kills come
  # before its end on a fast machine with the CI's 200,000 rows of big)
  CR_PAR=3 CR_CKPT=1 CR_RPS=${CR_RPS:-60000} cr_task "$dir"
  cr_run_bg "$dir"; cr_rand_sleep 300 1500; cr_stop KILL
  cr_log "trial 2: run 1 killed (exit $CR_RC) while copying: $(cr_new_log "$dir" | grep -c ': starting,') tables started, big at $(cr_count dst big) rows"
  cr_run_bg "$dir"; cr_rand_sleep 300 1500; cr_stop KILL
  cr_log "trial 2: run 2 killed (exit $CR_RC), big at $(cr_count dst big) rows"
  CR_PAR=3 CR_CKPT=1 cr_task "$dir" # the runs from here on at full speed
  cr_run_fg "$dir"; cr_expect_done "trial 2 final run"
  cr_check "trial 2"

  # Trial 3: the same task copied again from scratch with --init (same log dir, so
  # position.log/finished.log still hold the records of trial 2's completed copy; target
  # emptied), killed mid-copy: the next plain run must continue the --init run, not
  # trust the records --init forgot.
  cr_reset_target || cr_fail "resetting the target"
  CR_RUN_ARGS=--init cr_run_bg "$dir"
  CR_WAIT_NOPOS=1 cr_wait_mid "$dir" 10 90; w=$?
  [ $w = 0 ] || { cr_reap; cr_fail "trial 3: never saw big 10-90% copied (wait status $w)"; }
  cr_stop KILL
  cr_log "trial 3: 'run --init' killed with big at $(cr_count dst big) rows"
  cr_run_fg "$dir"; cr_expect_done "trial 3 run 2"
  cr_check "trial 3 (run --init, SIGKILL, run)"
  cr_log "passed in $((SECONDS - t0)) s"
}

# SIGTERM mid-copy must stop cleanly. Trial 1: checkpoint_interval_secs=10, so no periodic
# position of big is due yet: the run must exit 130 having recorded exactly the last
# committed key (position = target MAX(id) = target COUNT), the store must say 'stopped',
# and the next run must resume after that key and copy exactly the remaining rows.
# Trial 2: parallel_type=chunk, parallel_size=2, SIGTERM at a random 0.3-1.5 s, final run.
cr_scenario_term() {
  local dir n mx pos w copied st t0=$SECONDS
  cr_dataset || cr_fail "creating the dataset"

  dir=$CR_WORK/t1
  CR_PAR=1 CR_CKPT=10 cr_task "$dir"
  cr_run_bg "$dir"
  CR_WAIT_NOPOS=1 cr_wait_mid "$dir" 10 70; w=$?
  [ $w = 0 ] || { cr_reap; cr_fail "trial 1: never saw big 10-70% copied (wait status $w)"; }
  grep -q '"tb":"big"' "$dir/logs/position.log" 2>/dev/null &&
    cr_log "trial 1: note: a periodic position of big was already recorded before SIGTERM"
  cr_stop TERM
  [ "$CR_RC" = 130 ] || cr_fail "trial 1: run 1 exited $CR_RC after SIGTERM (expected 130)"
  n=$(cr_count dst big); mx=$(cr_sql dst "SELECT MAX(id) FROM $(cr_tbl big)"); pos=$(cr_last_pos "$dir" big)
  cr_log "trial 1: SIGTERM -> exit 130 with $n/$CR_BIG_ROWS rows of big, MAX(id)=$mx, recorded position id=$pos"
  [ -n "$pos" ] || cr_fail "trial 1: the clean stop recorded no position of big in position.log"
  [ "$pos" = "$mx" ] && [ "$pos" = "$n" ] ||
    cr_fail "trial 1: the clean stop recorded id=$pos but the target holds $n rows up to id $mx"
  st=$(sqlite3 "$dir/logs/checkpoint.db" "SELECT state FROM task_table WHERE tb='big'" 2>/dev/null)
  [ -z "$st" ] || [ "$st" = stopped ] || cr_fail "trial 1: the store says big is '$st' after a clean stop (expected stopped)"
  cr_run_fg "$dir"; cr_expect_done "trial 1 run 2"
  cr_assert_resumed "$dir" big
  cr_new_log_has "$dir" "tb: big, col: id, result: Some(\"$pos\")" ||
    cr_fail "trial 1: run 2 did not resume big after id=$pos"
  copied=$(cr_new_log "$dir" | sed -n "s/.*table $CR_DB\.big finished: \([0-9]*\) rows.*/\1/p" | tail -n 1)
  [ "$copied" = "$((CR_BIG_ROWS - pos))" ] ||
    cr_fail "trial 1: run 2 copied $copied rows of big, expected exactly the $((CR_BIG_ROWS - pos)) remaining"
  cr_check "trial 1"

  cr_reset_target || cr_fail "resetting the target"
  dir=$CR_WORK/t2
  # (at most 60,000 rows/s: the random SIGTERM comes before the copy's end, as in the
  # kill scenario's trial 2)
  CR_PAR=2 CR_PTYPE=chunk CR_CKPT=1 CR_RPS=${CR_RPS:-60000} cr_task "$dir"
  cr_run_bg "$dir"; cr_rand_sleep 300 1500; cr_stop TERM
  case $CR_RC in
    130) cr_log "trial 2: SIGTERM -> exit 130, big at $(cr_count dst big) rows; $(wc -l < "$dir/logs/position.log") position lines" ;;
    0) cr_log "trial 2: the run had finished before SIGTERM" ;;
    *) cr_fail "trial 2: run 1 exited $CR_RC after SIGTERM (expected 130)" ;;
  esac
  # (a SIGTERM that lands while the run still plans stops it before any row: nothing to
  # record; once big has rows on the target, its chunks' positions must be in the log)
  if [ "$CR_RC" = 130 ] && [ "$(cr_count dst big)" -gt 0 ] && ! grep -q . "$dir/logs/position.log" 2>/dev/null; then
    cr_fail "trial 2: clean stop in chunk mode with rows of big on the target, but position.log is empty"
  fi
  CR_PAR=2 CR_PTYPE=chunk CR_CKPT=1 cr_task "$dir" # the final run at full speed
  cr_run_fg "$dir"; cr_expect_done "trial 2 final run"
  cr_check "trial 2"
  cr_log "passed in $((SECONDS - t0)) s"
}

# cr_inject_trial LABEL SPEC [SPEC2]: fresh task and empty target; run with
# TL_DEBUG_CRASH=SPEC (must die there), optionally a second run with SPEC2, then a run
# without the hook; the target must equal the source. Sets CR_DIED_IN (table).
cr_inject_trial() {
  local label=$1 spec=$2 spec2=${3:-} dir=$CR_WORK/$1
  cr_reset_target || cr_fail "resetting the target"
  CR_PAR=${CR_PAR:-1} CR_CKPT=${CR_CKPT:-0} cr_task "$dir"
  cr_run_fg "$dir" TL_DEBUG_CRASH="$spec"
  [ "$CR_RC" = 137 ] && grep -q "debug crash at" "$CR_OUT" ||
    cr_fail "$label: TL_DEBUG_CRASH=$spec did not crash the run (exit $CR_RC)"
  CR_DIED_IN=$(cr_table_being_copied "$dir")
  cr_log "$label: TL_DEBUG_CRASH=$spec killed the run in table ${CR_DIED_IN:-?} (big at $(cr_count dst big) rows)"
  if [ -n "$spec2" ]; then
    cr_run_fg "$dir" TL_DEBUG_CRASH="$spec2"
    case $CR_RC in
      137) cr_log "$label: TL_DEBUG_CRASH=$spec2 killed run 2 in table $(cr_table_being_copied "$dir")" ;;
      0) cr_log "$label: run 2 finished before TL_DEBUG_CRASH=$spec2" ;;
      *) cr_fail "$label: run 2 exited $CR_RC" ;;
    esac
  fi
  cr_run_fg "$dir"; cr_expect_done "$label final run"
  cr_check "$label"
}

# Injected crashes at the commit points (src/migrate/recorder.c, copy.c): after the target
# commit of the N-th batch (rows committed, position not recorded), after the store commit
# of the N-th position (store has it, position.log does not), after a table's finished
# record went into the store (finished.log does not have it yet).
cr_scenario_inject() {
  local t0=$SECONDS b
  cr_dataset || cr_fail "creating the dataset"
  b=$(( (CR_BIG_ROWS + 1999) / 2000 ))    # batches of big (extractor batch_size 2000)

  cr_inject_trial first_batch after_target_commit:1
  cr_inject_trial mid_big after_target_commit:$((b / 2))
  cr_assert_resumed "$CR_WORK/mid_big" big
  # the same crash point in the other kinds of table: the keyless one (its rows past the
  # position removed, not upserted) always; the composite and nullable-unique keys, resumed
  # as the big table's key is, with TL_TEST_FULL=1 (docs/testing.md)
  if [ "${TL_TEST_FULL:-}" = 1 ]; then
    cr_inject_trial in_comp after_target_commit:$((b + 8))
  fi
  cr_inject_trial in_keyless after_target_commit:$((b + 20 + 8))
  if [ "${TL_TEST_FULL:-}" = 1 ]; then
    cr_inject_trial in_nuk after_target_commit:$((b + 20 + 21 + 12))
  fi
  cr_inject_trial store_mid_big after_store_commit:$((b / 3))
  cr_assert_resumed "$CR_WORK/store_mid_big" big
  cr_inject_trial finished_big after_store_finished:1
  cr_new_log_has "$CR_WORK/finished_big" "resumer, check finished: schema: $CR_DB, tb: big, result: true" ||
    cr_fail "finished_big: the run after the crash did not skip big, recorded as finished in the store"
  cr_inject_trial twice after_target_commit:$((b / 4)) after_store_commit:$((b / 2))
  CR_PAR=3 cr_inject_trial parallel after_target_commit:$((b / 2 + 10))
  cr_log "passed in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------------------- durability (#19)

# cr_private_target PORT_OFFSET [MARIADB_ARGS]: a private target server of CR_KIND on the
# port of the shared source + PORT_OFFSET (the shared target is never killed), data in
# CR_WORK/srv; points TL_<KIND>_DST_URL at it (cr_dst, cr_task). Stopped at exit.
cr_private_target() {
  local base
  if [ "$CR_KIND" = mysql ]; then
    cr_parse_url "$TL_MYSQL_SRC_URL"; base=$CR_U_PORT
    CR_SRV_SCRIPT=mariadb
  else
    cr_parse_url "$TL_PG_SRC_URL"; base=$CR_U_PORT
    CR_SRV_SCRIPT=postgres
  fi
  CR_SRV_PORT=$((base + $1))
  CR_SRV_DIR=$CR_WORK/srv
  CR_SRV_ARGS=${2:-}
  CR_ON_EXIT="bash '$TL_SRC/tools/servers/$CR_SRV_SCRIPT.sh' stop '$CR_SRV_DIR' >/dev/null 2>&1"
  chmod a+rx "$CR_WORK"   # postgres.sh runs the server as user postgres when we are root
  cr_private_start || return 1
  if [ "$CR_KIND" = mysql ]; then TL_MYSQL_DST_URL=mysql://root:@127.0.0.1:$CR_SRV_PORT
  else TL_PG_DST_URL=postgres://postgres:@127.0.0.1:$CR_SRV_PORT/postgres; fi
}

cr_private_start() {
  TL_MARIADB_ARGS=$CR_SRV_ARGS bash "$TL_SRC/tools/servers/$CR_SRV_SCRIPT.sh" start "$CR_SRV_DIR" "$CR_SRV_PORT" \
    >> "$CR_WORK/srv.log" 2>&1 || { tail -n 20 "$CR_WORK/srv.log"; return 1; }
}

# cr_private_crash: SIGKILL of the private server and its children (their pids from its
# own pid file only), then the lock files a dead server leaves removed, as a reboot would.
cr_private_crash() {
  local pidf pid i
  if [ "$CR_SRV_SCRIPT" = mariadb ]; then pidf=$CR_SRV_DIR/mariadb-$CR_SRV_PORT/pid
  else pidf=$CR_SRV_DIR/pg-$CR_SRV_PORT/postmaster.pid; fi
  pid=$(head -n 1 "$pidf" 2>/dev/null)
  [[ $pid =~ ^[0-9]+$ ]] || { echo "cr_private_crash: no pid in $pidf"; return 1; }
  kill -KILL "$pid" 2>/dev/null
  pkill -KILL -P "$pid" 2>/dev/null
  for i in $(seq 1 100); do
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = "" ] && break
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
    sleep 0.05
  done
  sleep 0.2
  rm -f "$pidf" "$CR_SRV_DIR/pg-$CR_SRV_PORT/.s.PGSQL.$CR_SRV_PORT.lock"
}

# #19: a position is a promise that the rows before it survive. The TARGET server (a
# private one, with asynchronous commit: PostgreSQL synchronous_commit=off as
# tools/servers/postgres.sh starts it; MariaDB innodb_flush_log_at_trx_commit=0) is
# SIGKILLed right after a checkpoint of big appears in position.log, started again, and
# the task run again: the target must equal the source. PostgreSQL: the checkpointed
# batch was committed durably (TL_WRITE_DURABLE / flush_commits), so the run resumes
# after it (no "lost rows"). MariaDB cannot make a session's commits durable: the run
# warns (durability_warning) and, when the crash lost committed rows, the target check of
# #18 finds them missing and copies the table again; never a silent loss. CR_TRIALS
# trials (default 1 per CI run, 3 with TL_TEST_FULL=1: each trial is the same crash at
# another moment).
cr_scenario_durable() {
  local trials=${CR_TRIALS:-1} i dir t0=$SECONDS marks lost=0 resumed=0
  [ "${TL_TEST_FULL:-}" != 1 ] || trials=${CR_TRIALS:-3}
  cr_dataset || cr_fail "creating the dataset"
  for i in $(seq 1 "$trials"); do
    cr_reset_target || cr_fail "trial $i: resetting the target"
    dir=$CR_WORK/d$i
    # at most 100,000 rows/s: big's 200,000 rows take 2 s or more, so a checkpoint of big
    # (every 1 s) always comes before its end, however fast the machine
    # retries off: this is the crash-and-rerun path (tools/fault_matrix.py's durable trial
    # covers the same crash healed by retries in one process); with retries on, the run
    # would wait out its retry budget for the server this scenario starts only after it
    CR_PAR=1 CR_CKPT=1 CR_RPS=100000 CR_RETRIES=0 cr_task "$dir"
    cr_run_bg "$dir"
    marks=0
    for _ in $(seq 1 2400); do
      marks=$(grep -c '"tb":"big"' "$dir/logs/position.log" 2>/dev/null) || marks=0
      [ "$marks" -ge 1 ] && break
      kill -0 "$CR_PID" 2>/dev/null || break
      sleep 0.005
    done
    [ "$marks" -ge 1 ] || { cr_reap; cr_fail "trial $i: no checkpoint of big before the run ended"; }
    cr_private_crash || cr_fail "trial $i: cannot crash the target server"
    cr_wait_bg
    [ "$CR_RC" != 0 ] || cr_log "trial $i: note: the run finished before the crash"
    cr_private_start || cr_fail "trial $i: the target server does not start again"
    cr_run_fg "$dir"; cr_expect_done "trial $i: run after the target crash"
    if cr_new_log_has "$dir" 'the target lost rows since the last checkpoint'; then
      lost=$((lost + 1))
      [ "$CR_KIND" = mysql ] || cr_fail "trial $i: a checkpoint pointed past rows the crashed target lost: $(cr_new_log "$dir" | grep -m1 'lost rows')"
      cr_log "trial $i: the crash lost committed rows; the run found them missing and copied big again"
    else
      resumed=$((resumed + 1))
    fi
    cr_check "trial $i"
  done
  if [ "$CR_KIND" = mysql ]; then
    grep -q 'innodb_flush_log_at_trx_commit=0' "$dir/logs/default.log" ||
      cr_fail "the run did not warn that the target's commits are not durable"
  fi
  cr_log "passed: $trials trials ($resumed resumed after the checkpoint, $lost found lost rows and copied again) in $((SECONDS - t0)) s"
}
