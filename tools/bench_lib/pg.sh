# pg.sh - the PostgreSQL part of tools/bench (sourced): pgbench data (pgbench -i -s S,
# S = ceil(PG_ROWS / 100000), so pgbench_accounts holds S x 100,000 rows), copied by
# tideline (table mode p=4 with checkpoints every second and practically off, chunk mode
# p=2), by pg_dump --data-only | psql and by a raw COPY TO STDOUT | COPY FROM STDIN pipe
# per table, each into the same tables pre-created empty (pg_dump --schema-only | psql).

PG_TABLES=(pgbench_accounts pgbench_branches pgbench_history pgbench_tellers)

pg_q() { # URL SQL -> unaligned output
  PGOPTIONS="-c client_min_messages=warning" psql -X -At -v ON_ERROR_STOP=1 "$1" -c "$2"
}

# pg_reset_target: empty target tables, then a CHECKPOINT so that no tool pays for the
# previous tool's dirty buffers.
pg_reset_target() {
  pg_q "$TL_PG_DST_URL" "TRUNCATE $(IFS=,; echo "${PG_TABLES[*]}")" >/dev/null
  pg_q "$TL_PG_DST_URL" "CHECKPOINT" >/dev/null
}

pg_rows() { # URL -> total rows of the pgbench tables
  local q="" t
  for t in "${PG_TABLES[@]}"; do q="${q:+$q + }(SELECT COUNT(*) FROM $t)"; done
  pg_q "$1" "SELECT $q"
}

pg_verify() {
  local n; n=$(pg_rows "$TL_PG_DST_URL")
  if [ "$n" = "$PGB_ROWS" ]; then echo ok; else echo "MISMATCH($n)"; fi
}

pg_tideline() { # LABEL PTYPE PSIZE CKPT -> LAST_SECS LAST_RSS LAST_VER
  local label=$1 ptype=$2 psize=$3 ckpt=$4 name="pg-$1" ini="$WORK/pg-$1.ini"
  pg_reset_target
  tl_task "$ini" pg "$TL_PG_SRC_URL" "$TL_PG_DST_URL" do_tbs "public.pgbench_*" "$ptype" "$psize" "$ckpt" "$WORK/logs-$name"
  tl_run pg "$name" "$ini" pg_reset_target
  LAST_SECS=$TL_SECS LAST_RSS=$TL_RSS LAST_CPU=$TL_CPU LAST_SCPU=$TL_SCPU LAST_VER=$(pg_verify)
  LAST_NOTE=$TL_NOTE
}

pg_dump_psql() { # -> LAST_*
  local t0 t1 t s0 tabs=()
  for t in "${PG_TABLES[@]}"; do tabs+=(-t "$t"); done
  pg_reset_target
  s0=$(srv_cpu pg)
  t0=$(now)
  timed "$WORK/rss.pg_dump" pg_dump --data-only "${tabs[@]}" "$TL_PG_SRC_URL" 2>"$WORK/pg_dump.err" \
    | timed "$WORK/rss.psql" psql -X -q -v ON_ERROR_STOP=1 "$TL_PG_DST_URL" >/dev/null 2>"$WORK/psql.err" \
    || { cat "$WORK/pg_dump.err" "$WORK/psql.err" >&2; die "pg_dump | psql failed"; }
  t1=$(now)
  LAST_SCPU=$(sub "$(srv_cpu pg)" "$s0")
  LAST_SECS=$(elapsed "$t0" "$t1")
  LAST_RSS=$(( $(rss_of "$WORK/rss.pg_dump") + $(rss_of "$WORK/rss.psql") ))
  LAST_CPU=$(add "$(cpu_of "$WORK/rss.pg_dump")" "$(cpu_of "$WORK/rss.psql")")
  LAST_VER=$(pg_verify)
}

pg_raw_copy() { # -> LAST_*: one COPY pipe per table, one after the other
  local t0 t1 t s0 rss=0 r cpu=0
  pg_reset_target
  s0=$(srv_cpu pg)
  t0=$(now)
  for t in "${PG_TABLES[@]}"; do
    timed "$WORK/rss.copyout" psql -X -q "$TL_PG_SRC_URL" -c "COPY $t TO STDOUT" 2>"$WORK/copy.err" \
      | timed "$WORK/rss.copyin" psql -X -q -v ON_ERROR_STOP=1 "$TL_PG_DST_URL" -c "COPY $t FROM STDIN" \
        >/dev/null 2>>"$WORK/copy.err" \
      || { cat "$WORK/copy.err" >&2; die "raw COPY pipe failed for $t"; }
    r=$(( $(rss_of "$WORK/rss.copyout") + $(rss_of "$WORK/rss.copyin") ))
    (( r > rss )) && rss=$r
    cpu=$(add "$cpu" "$(add "$(cpu_of "$WORK/rss.copyout")" "$(cpu_of "$WORK/rss.copyin")")")
  done
  t1=$(now)
  LAST_SCPU=$(sub "$(srv_cpu pg)" "$s0")
  LAST_SECS=$(elapsed "$t0" "$t1") LAST_RSS=$rss LAST_CPU=$cpu LAST_VER=$(pg_verify)
}

bench_pg() {
  local scale=$(( (PG_ROWS + 99999) / 100000 )) i
  say "pg: pgbench -i -s $scale (pgbench_accounts: $(( scale * 100000 )) rows)"
  pgbench -i -q -s "$scale" "$TL_PG_SRC_URL" >"$WORK/pgbench.log" 2>&1 || { cat "$WORK/pgbench.log" >&2; die "pgbench -i failed"; }
  pg_q "$TL_PG_SRC_URL" "VACUUM ANALYZE" >/dev/null
  pg_q "$TL_PG_DST_URL" "DROP TABLE IF EXISTS $(IFS=,; echo "${PG_TABLES[*]}")" >/dev/null
  pg_dump --schema-only -t 'pgbench_*' "$TL_PG_SRC_URL" | psql -X -q -v ON_ERROR_STOP=1 "$TL_PG_DST_URL" >/dev/null
  PGB_ROWS=$(pg_rows "$TL_PG_SRC_URL")
  PGB_BYTES=$(pg_q "$TL_PG_SRC_URL" "SELECT SUM(pg_relation_size(c.oid)) FROM pg_class c WHERE c.relname LIKE 'pgbench\_%' AND c.relkind = 'r'")

  for i in $(seq 1 "$REPEAT"); do
    say "pg: round $i of $REPEAT"
    pg_tideline "p4-ckpt1-$i" table 4 1;        acc_add pg-ref
    pg_tideline "p4-ckpt86400-$i" table 4 86400; acc_add pg-off
    pg_tideline "chunk-p2-$i" chunk 2 1;         acc_add pg-chunk2
    pg_dump_psql;                                acc_add pg-dump
    pg_raw_copy;                                 acc_add pg-copy
  done
  acc_emit pg-ref pg ref tideline "table p=4 ckpt=1s" "$PGB_ROWS" "$PGB_BYTES"
  acc_emit pg-off pg ckpt tideline "table p=4 ckpt=86400s" "$PGB_ROWS" "$PGB_BYTES"
  acc_emit pg-chunk2 pg variant tideline "chunk p=2 ckpt=1s" "$PGB_ROWS" "$PGB_BYTES"
  acc_emit pg-dump pg peer "pg_dump|psql" "--data-only; COPY text" "$PGB_ROWS" "$PGB_BYTES"
  acc_emit pg-copy pg peer "raw COPY pipe" "psql COPY TO STDOUT | psql COPY FROM STDIN" "$PGB_ROWS" "$PGB_BYTES"
}
