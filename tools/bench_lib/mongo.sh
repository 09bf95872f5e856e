# mongo.sh - the MongoDB part of tools/bench (sourced): MONGO_DOCS generated documents
# (bench_lib/mongo_bench.py) copied by tideline, against the target server's own ceiling
# in the same run (pymongo insert_many of the same documents, built in memory before the
# clock starts) and a pymongo find + insert_many copy. Against tools/mongo_test_server.py
# (a Python wire-protocol server, one request at a time) the server is the bottleneck for
# every client, so the ratio says how close tideline gets to what the server can take.
# A third peer sends what tideline sends (unordered bulk writes of 200 ReplaceOne upserts
# by _id), to tell the cost of the write pattern apart from tideline's own overhead.

MB_PY=(/usr/bin/python3 "$BENCH_LIB/mongo_bench.py")

mongo_verify() {
  local n; n=$("${MB_PY[@]}" count --url "$TL_MONGO_DST_URL" --db bench --coll docs)
  if [ "$n" = "$MG_ROWS" ]; then echo ok; else echo "MISMATCH($n)"; fi
}

mongo_tideline() { # LABEL PTYPE PSIZE CKPT
  local label=$1 ptype=$2 psize=$3 ckpt=$4 name="mongo-$1" ini="$WORK/mongo-$1.ini"
  "${MB_PY[@]}" drop --url "$TL_MONGO_DST_URL" --db bench
  tl_task "$ini" mongo "$TL_MONGO_SRC_URL" "$TL_MONGO_DST_URL" do_dbs bench "$ptype" "$psize" "$ckpt" "$WORK/logs-$name"
  tl_run mongo "$name" "$ini" "${MB_PY[@]}" drop --url "$TL_MONGO_DST_URL" --db bench
  LAST_SECS=$TL_SECS LAST_RSS=$TL_RSS LAST_CPU=$TL_CPU LAST_SCPU=$TL_SCPU LAST_VER=$(mongo_verify)
  LAST_NOTE=$TL_NOTE
}

mongo_ceiling() { # -> LAST_*: insert only, documents prepared before the clock starts
  local out s0
  s0=$(srv_cpu mongo)
  out=$(timed "$WORK/rss.ceiling" "${MB_PY[@]}" ceiling --url "$TL_MONGO_DST_URL" --db bench --coll docs --n "$MONGO_DOCS")
  LAST_SECS=${out#* } LAST_RSS=$(rss_of "$WORK/rss.ceiling") LAST_SCPU=$(sub "$(srv_cpu mongo)" "$s0")
  LAST_VER=$(mongo_verify)
  LAST_CPU="$(cpu_of "$WORK/rss.ceiling")"
  LAST_NOTE="RSS and CPU include building the documents"
}

mongo_upsert() { # -> LAST_*: tideline's write pattern (ReplaceOne upserts, 200 per bulk write)
  local out s0
  s0=$(srv_cpu mongo)
  out=$(timed "$WORK/rss.upsert" "${MB_PY[@]}" upsert --url "$TL_MONGO_DST_URL" --db bench --coll docs --n "$MONGO_DOCS" --batch 200)
  LAST_SECS=${out#* } LAST_RSS=$(rss_of "$WORK/rss.upsert") LAST_SCPU=$(sub "$(srv_cpu mongo)" "$s0")
  LAST_VER=$(mongo_verify)
  LAST_CPU="$(cpu_of "$WORK/rss.upsert")"
  LAST_NOTE="RSS and CPU include building the documents"
}

mongo_pycopy() { # -> LAST_*
  local out s0
  s0=$(srv_cpu mongo)
  out=$(timed "$WORK/rss.pycopy" "${MB_PY[@]}" copy --url "$TL_MONGO_SRC_URL" --to "$TL_MONGO_DST_URL" --db bench --coll docs)
  LAST_SECS=${out#* } LAST_RSS=$(rss_of "$WORK/rss.pycopy") LAST_SCPU=$(sub "$(srv_cpu mongo)" "$s0")
  LAST_VER=$(mongo_verify)
  LAST_CPU="$(cpu_of "$WORK/rss.pycopy")"
}

bench_mongo() {
  say "mongo: loading $MONGO_DOCS generated documents into bench.docs"
  local out i
  out=$("${MB_PY[@]}" load --url "$TL_MONGO_SRC_URL" --db bench --coll docs --n "$MONGO_DOCS")
  MG_ROWS=${out% *}; MG_BYTES=${out#* }
  for i in $(seq 1 "$REPEAT"); do
    say "mongo: round $i of $REPEAT"
    mongo_tideline "ckpt1-$i" table 1 1;        acc_add mg-ref
    mongo_tideline "ckpt86400-$i" table 1 86400; acc_add mg-off
    mongo_ceiling;                               acc_add mg-ceiling
    mongo_upsert;                                acc_add mg-upsert
    mongo_pycopy;                                acc_add mg-pycopy
  done
  acc_emit mg-ref mongo ref tideline "1 collection ckpt=1s" "$MG_ROWS" "$MG_BYTES"
  acc_emit mg-off mongo ckpt tideline "1 collection ckpt=86400s" "$MG_ROWS" "$MG_BYTES"
  acc_emit mg-ceiling mongo ceiling "pymongo insert_many" "target ceiling: insert only; docs prebuilt" "$MG_ROWS" "$MG_BYTES"
  acc_emit mg-upsert mongo peer "pymongo bulk ReplaceOne upsert" "tideline's write pattern: 200 per bulk; docs prebuilt" "$MG_ROWS" "$MG_BYTES"
  acc_emit mg-pycopy mongo peer "pymongo find+insert_many" "10000-doc batches" "$MG_ROWS" "$MG_BYTES"
}
