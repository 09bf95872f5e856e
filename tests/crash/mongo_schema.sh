#!/usr/bin/env bash
# mongo_schema.sh - a MongoDB database copied into an empty server (collections created by
# tideline, then their indexes once the documents are in; docs/schema.md) and killed while
# creating (TL_DEBUG_CRASH=schema_before_create: a collection recorded as this task's, not
# made yet), right after an index step did its work (schema_after_apply: the indexes built,
# not recorded - what a kill during the build leaves once the server finishes it),
# mid-data (SIGKILL once a position of the big collection is recorded) and at random
# moments; after each, a run must leave collections, indexes and documents equal to the
# source's. Runs against the Mongo test server and FerretDB (tests/_ferretdb.sh; 30,000
# documents there by TL_MONGO_KILL_DOCS, which reads about ten times slower).
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
tl_sh_setup mschema TL_MONGO_SRC_URL TL_MONGO_DST_URL; work=$TL_SH_TMPDIR
TL_BIN=$(tl_sh_tideline) || exit 1
PY=/usr/bin/python3
pid=
# shellcheck disable=SC2016  # expanded at exit
tl_sh_on_exit '[ -z "$pid" ] || kill -9 $pid 2>/dev/null'
db=tl_crash_mschema
docs=${TL_MONGO_KILL_DOCS:-60000}

$PY - "$TL_MONGO_SRC_URL" "$TL_MONGO_DST_URL" "$db" "$docs" <<'PY' || { echo "FAIL: cannot create the data set"; exit 1; }
import sys
from pymongo import MongoClient
src, dst, db, n = MongoClient(sys.argv[1]), MongoClient(sys.argv[2]), sys.argv[3], int(sys.argv[4])
for c in (src, dst):
    c.drop_database(db)
s = src[db]
for i in range(0, n, 10000):
    s.big.insert_many([{"_id": k, "n": k, "name": "doc %d" % (k % 997), "tags": ["a", k % 7]}
                       for k in range(i, min(n, i + 10000))], ordered=False)
s.big.create_index([("n", 1)], unique=True, name="n_unique")
s.big.create_index([("name", 1), ("n", -1)], name="name_n")
s.small.insert_many([{"_id": "k%03d" % k, "v": k} for k in range(300)])
s.small.create_index([("v", -1)], name="v_desc")
PY

run_fg() { # LABEL [VAR=VALUE...]: a run to its end; its exit status in rc
  local label=$1; shift
  (cd "$work" && exec env "$@" "$TL_BIN" run task.ini) > "$work/$label.out" 2>&1 &
  wait $! 2>/dev/null; rc=$? # (no "Killed" line from bash when the hook kills the run)
}
check() { # LABEL: collections, indexes and documents equal
  $PY - "$TL_MONGO_SRC_URL" "$TL_MONGO_DST_URL" "$db" "$1" <<'PY'
import sys, hashlib, json
from pymongo import MongoClient
from bson.raw_bson import RawBSONDocument
src, dst, db, label = MongoClient(sys.argv[1]), MongoClient(sys.argv[2]), sys.argv[3], sys.argv[4]
def defs(c):
    out = []
    # tideline's own collection (claims on target tables, TL_CLAIM_COLLECTION) is not copied data
    for info in sorted((x for x in c[db].list_collections() if not x["name"].startswith("tideline.")),
                       key=lambda x: x["name"]):
        out.append((info["name"], json.dumps(info.get("options", {}), sort_keys=True)))
        for ix in c[db][info["name"]].list_indexes():
            ix = dict(ix); ix.pop("v", None); ix.pop("ns", None)
            out.append(json.dumps(ix, sort_keys=True, default=str))
    return sorted(out, key=str)
def digest(c, coll):
    h, n = hashlib.sha256(), 0
    for d in c[db].get_collection(coll, codec_options=c[db].codec_options.with_options(
            document_class=RawBSONDocument)).find().sort("_id", 1):
        h.update(d.raw); n += 1
    return n, h.hexdigest()
bad = 0
if defs(src) != defs(dst):
    bad = 1
    print("FAIL %s: collections or indexes differ:\n  source %s\n  target %s" % (label, defs(src), defs(dst)))
for coll in ("big", "small"):
    a, b = digest(src, coll), digest(dst, coll)
    if a != b:
        bad = 1
        print("FAIL %s: %s: source %d docs, target %d docs, content %s" % (label, coll, a[0], b[0],
              "equal" if a[1] == b[1] else "DIFFERENT"))
if not bad:
    print("ok   %s: collections, indexes and documents equal" % label)
sys.exit(bad)
PY
}
fresh() { # LABEL: an empty target and a new task
  $PY -c "import sys; from pymongo import MongoClient; MongoClient(sys.argv[1]).drop_database(sys.argv[2])" \
    "$TL_MONGO_DST_URL" "$db"
  rm -rf "$work/logs"
  tl_sh_task "$work/task.ini" mongo "$TL_MONGO_SRC_URL" "$TL_MONGO_DST_URL" global.task_id="$1" \
    extractor.batch_size=500 extractor.parallel_size=2 filter.do_dbs=$db pipeline.checkpoint_interval_secs=0 \
    runtime.log_dir="$work/logs" resumer.resume_type=from_log
}
fails=0

fresh creating
run_fg c1 TL_DEBUG_CRASH=schema_before_create:2
[ $rc = 137 ] || { echo "FAIL: creating: schema_before_create:2 did not kill the run ($rc)"; fails=$((fails + 1)); }
run_fg c2 TL_DEBUG_CRASH=schema_after_apply:3
[ $rc = 137 ] || { echo "FAIL: creating: schema_after_apply:3 did not kill the run ($rc)"; fails=$((fails + 1)); }
run_fg c3
[ $rc = 0 ] || { echo "FAIL: creating: final run ($rc)"; tail -5 "$work/c3.out"; fails=$((fails + 1)); }
check creating || fails=$((fails + 1))

fresh middata
(cd "$work" && exec "$TL_BIN" run task.ini) > "$work/m1.out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q '"tb":"big"' "$work/logs/position.log" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.05
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null; pid=
grep -q '"tb":"big"' "$work/logs/position.log" 2>/dev/null || { echo "FAIL: mid-data: no position of big before the kill"; fails=$((fails + 1)); }
run_fg m2
[ $rc = 0 ] || { echo "FAIL: mid-data: run 2 ($rc)"; tail -5 "$work/m2.out"; fails=$((fails + 1)); }
grep -q "resumer, get resume value, schema: $db, tb: big" "$work/logs/default.log" ||
  { echo "FAIL: mid-data: run 2 did not resume big"; fails=$((fails + 1)); }
check mid-data || fails=$((fails + 1))

fresh random
for r in 1 2; do
  (cd "$work" && exec "$TL_BIN" run task.ini) > "$work/r$r.out" 2>&1 &
  pid=$!
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.2 + (r % 250) / 100 }')"
  kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null; pid=
done
run_fg r3
[ $rc = 0 ] || { echo "FAIL: random: final run ($rc)"; tail -5 "$work/r3.out"; fails=$((fails + 1)); }
check random || fails=$((fails + 1))

$PY -c "import sys; from pymongo import MongoClient
for u in sys.argv[1:3]: MongoClient(u).drop_database(sys.argv[3])" "$TL_MONGO_SRC_URL" "$TL_MONGO_DST_URL" "$db"
[ $fails = 0 ] || { echo "$fails failed"; exit 1; }
echo "0 failed"
