# mysql.sh - the MySQL/MariaDB part of tools/bench (sourced): sysbench-style source data,
# tideline (table mode at parallel_size 1/2/4, chunk mode, checkpoint interval 1 s vs
# 86400 s) against mydumper+myloader and mysqldump | mariadb, each into an empty target.
#
# Data: database sbtest = 4 sysbench tables of MYSQL_ROWS/4 rows each (sysbench
# oltp_read_write prepare), database sbbig = 1 sysbench table of MYSQL_ROWS rows (the
# "one large table" for chunk mode). Target schemas are created empty from
# mysqldump --no-data and recreated before every tool.

my_port() { echo "${1##*:}"; }

mysql_init() {
  MY_SP=$(my_port "$TL_MYSQL_SRC_URL"); MY_DP=$(my_port "$TL_MYSQL_DST_URL")
  MY_SRC=(mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$MY_SP" -uroot)
  MY_DST=(mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$MY_DP" -uroot)
}

# mysql_prepare DB TABLES ROWS_PER_TABLE: sysbench data in the source, empty schema file.
mysql_prepare() {
  local db=$1 ntab=$2 per=$3
  "${MY_SRC[@]}" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
  sysbench oltp_read_write --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$MY_SP" \
    --mysql-user=root --mysql-db="$db" --tables="$ntab" --table-size="$per" --threads=2 \
    prepare >"$WORK/sysbench-$db.log" 2>&1 || { tail -n 20 "$WORK/sysbench-$db.log" >&2; die "sysbench prepare failed"; }
  "${MY_SRC[@]}" "$db" -N -e "$(for i in $(seq 1 "$ntab"); do printf 'ANALYZE TABLE sbtest%s;' "$i"; done)" >/dev/null
  mysqldump --no-defaults --protocol=TCP -h 127.0.0.1 -P "$MY_SP" -uroot --no-data --skip-comments \
    "$db" > "$WORK/schema-$db.sql"
}

# mysql_reset_target DB: the target database recreated with empty tables, then both
# servers quiesced so that no tool pays for the previous tool's writes.
mysql_reset_target() {
  local db=$1
  "${MY_DST[@]}" -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
  "${MY_DST[@]}" "$db" < "$WORK/schema-$db.sql"
  mysql_quiesce
}

# mysql_quiesce: lets the target's InnoDB flush its dirty pages (max_dirty_pages_pct 0
# for a moment, at most 30 s) so that background flushing of the previous run does not
# land in the next measurement; the setting is restored before anything is timed.
mysql_quiesce() {
  local pct dirty i
  pct=$("${MY_DST[@]}" -N -e "SELECT @@GLOBAL.innodb_max_dirty_pages_pct")
  "${MY_DST[@]}" -e "SET GLOBAL innodb_max_dirty_pages_pct = 0"
  for i in $(seq 1 150); do
    dirty=$("${MY_DST[@]}" -N -e "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'" | awk '{print $2}')
    [ "${dirty:-0}" -le 64 ] && break
    sleep 0.2
  done
  "${MY_DST[@]}" -e "SET GLOBAL innodb_max_dirty_pages_pct = $pct"
}

# mysql_rows SIDE DB: total row count of DB's tables (SIDE = src|dst).
mysql_rows() {
  local -a cli; if [ "$1" = src ]; then cli=("${MY_SRC[@]}"); else cli=("${MY_DST[@]}"); fi
  local tabs q=""
  tabs=$("${cli[@]}" -N -e "SELECT table_name FROM information_schema.tables WHERE table_schema='$2'")
  for t in $tabs; do q="${q:+$q + }(SELECT COUNT(*) FROM \`$2\`.\`$t\`)"; done
  "${cli[@]}" -N -e "SELECT ${q:-0}"
}

mysql_bytes() { # DB: InnoDB data size of the source tables
  "${MY_SRC[@]}" -N -e "SELECT SUM(data_length) FROM information_schema.tables WHERE table_schema='$1'"
}

mysql_verify() { # DB EXPECTED_ROWS -> "ok" or "MISMATCH(n)"
  local n; n=$(mysql_rows dst "$1")
  if [ "$n" = "$2" ]; then echo ok; else echo "MISMATCH($n)"; fi
}

# mysql_tideline DB LABEL PTYPE PSIZE CKPT -> LAST_* (target reset first)
mysql_tideline() {
  local db=$1 label=$2 ptype=$3 psize=$4 ckpt=$5
  local name="my-$label" ini="$WORK/my-$label.ini"
  mysql_reset_target "$db"
  tl_task "$ini" mysql "$TL_MYSQL_SRC_URL" "$TL_MYSQL_DST_URL" do_dbs "$db" "$ptype" "$psize" "$ckpt" "$WORK/logs-$name"
  tl_run mysql "$name" "$ini" mysql_reset_target "$db"
  LAST_SECS=$TL_SECS LAST_RSS=$TL_RSS LAST_CPU=$TL_CPU LAST_SCPU=$TL_SCPU LAST_VER=$(mysql_verify "$db" "${MY_ROWS[$db]}")
  LAST_NOTE=$TL_NOTE
}

mysql_mydumper() { # DB -> LAST_*
  local db=$1 t0 t1 r1 r2 s0
  local dump="$WORK/mydumper-$db"
  mysql_reset_target "$db"
  rm -rf "$dump"
  s0=$(srv_cpu mysql)
  t0=$(now)
  timed "$WORK/rss.mydumper" mydumper --host 127.0.0.1 --port "$MY_SP" --user root -B "$db" -t 2 \
    -o "$dump" >"$WORK/mydumper.log" 2>&1 || { cat "$WORK/mydumper.log" >&2; die "mydumper failed"; }
  timed "$WORK/rss.myloader" myloader --host 127.0.0.1 --port "$MY_DP" --user root -d "$dump" -t 2 \
    -o >"$WORK/myloader.log" 2>&1 || { cat "$WORK/myloader.log" >&2; die "myloader failed"; }
  t1=$(now)
  LAST_SCPU=$(sub "$(srv_cpu mysql)" "$s0")
  r1=$(rss_of "$WORK/rss.mydumper"); r2=$(rss_of "$WORK/rss.myloader")
  LAST_SECS=$(elapsed "$t0" "$t1") LAST_RSS=$(( r1 > r2 ? r1 : r2 ))
  LAST_CPU=$(add "$(cpu_of "$WORK/rss.mydumper")" "$(cpu_of "$WORK/rss.myloader")")
  LAST_VER=$(mysql_verify "$db" "${MY_ROWS[$db]}")
  LAST_NOTE="dump $(du -sm "$dump" | cut -f1) MB on disk"
  rm -rf "$dump"
}

mysql_mysqldump() { # DB -> LAST_*
  local db=$1 t0 t1 s0
  mysql_reset_target "$db"
  s0=$(srv_cpu mysql)
  t0=$(now)
  timed "$WORK/rss.mysqldump" mysqldump --no-defaults --protocol=TCP -h 127.0.0.1 -P "$MY_SP" -uroot \
      --single-transaction --skip-comments "$db" 2>"$WORK/mysqldump.err" \
    | timed "$WORK/rss.mariadb" "${MY_DST[@]}" "$db" 2>"$WORK/mariadb.err" \
    || { cat "$WORK/mysqldump.err" "$WORK/mariadb.err" >&2; die "mysqldump | mariadb failed"; }
  t1=$(now)
  LAST_SCPU=$(sub "$(srv_cpu mysql)" "$s0")
  LAST_SECS=$(elapsed "$t0" "$t1")
  LAST_RSS=$(( $(rss_of "$WORK/rss.mysqldump") + $(rss_of "$WORK/rss.mariadb") ))
  LAST_CPU=$(add "$(cpu_of "$WORK/rss.mysqldump")" "$(cpu_of "$WORK/rss.mariadb")")
  LAST_VER=$(mysql_verify "$db" "${MY_ROWS[$db]}")
}

bench_mysql() {
  mysql_init
  declare -gA MY_ROWS MY_BYTES
  local per=$(( MYSQL_ROWS / 4 )) i p
  [ "$per" -ge 1 ] || die "--mysql-rows must be >= 4"
  say "mysql: preparing sbtest (4 x $per rows)$([ "$MYSQL_BIG" = 1 ] && echo " and sbbig (1 x $MYSQL_ROWS rows)") with sysbench"
  mysql_prepare sbtest 4 "$per"
  MY_ROWS[sbtest]=$(mysql_rows src sbtest); MY_BYTES[sbtest]=$(mysql_bytes sbtest)
  if [ "$MYSQL_BIG" = 1 ]; then
    mysql_prepare sbbig 1 "$MYSQL_ROWS"
    MY_ROWS[sbbig]=$(mysql_rows src sbbig); MY_BYTES[sbbig]=$(mysql_bytes sbbig)
  fi
  local R=${MY_ROWS[sbtest]} B=${MY_BYTES[sbtest]}

  # The comparison set runs REPEAT times, interleaved, median reported: tideline with
  # checkpoints every second (the reference), the same with checkpoints practically off
  # (86400 s), mydumper+myloader, mysqldump | mariadb.
  for i in $(seq 1 "$REPEAT"); do
    say "mysql: round $i of $REPEAT"
    mysql_tideline sbtest "p4-ckpt1-$i" table 4 1;        acc_add my-ref
    mysql_tideline sbtest "p4-ckpt86400-$i" table 4 86400; acc_add my-off
    mysql_mydumper sbtest;                                 acc_add my-mydumper
    mysql_mysqldump sbtest;                                acc_add my-mysqldump
  done
  acc_emit my-ref mysql ref tideline "table p=4 ckpt=1s" "$R" "$B"
  acc_emit my-off mysql ckpt tideline "table p=4 ckpt=86400s" "$R" "$B"
  acc_emit my-mydumper mysql peer "mydumper+myloader" "-t 2 each; sum of both" "$R" "$B"
  acc_emit my-mysqldump mysql peer "mysqldump|mariadb" "--single-transaction" "$R" "$B"

  # variants and scaling: one run each
  say "mysql: tideline variants and scaling (one run each)"
  mysql_tideline sbtest chunk-p4 chunk 4 1; acc_add my-chunk4
  acc_emit my-chunk4 mysql variant tideline "chunk p=4 ckpt=1s (4 tables)" "$R" "$B"
  for p in 1 2; do
    mysql_tideline sbtest "p$p" table "$p" 1; acc_add "my-p$p"
    acc_emit "my-p$p" mysql scaling tideline "table p=$p ckpt=1s (4 tables)" "$R" "$B"
  done
  if [ "$MYSQL_BIG" = 1 ]; then
    mysql_tideline sbbig big-p1 table 1 1; acc_add my-big-p1
    acc_emit my-big-p1 mysql scaling tideline "1 big table: table p=1" "${MY_ROWS[sbbig]}" "${MY_BYTES[sbbig]}"
    for p in 2 4; do
      mysql_tideline sbbig "big-chunk-p$p" chunk "$p" 1; acc_add "my-big-chunk$p"
      acc_emit "my-big-chunk$p" mysql scaling tideline "1 big table: chunk p=$p" "${MY_ROWS[sbbig]}" "${MY_BYTES[sbbig]}"
    done
  fi
}
