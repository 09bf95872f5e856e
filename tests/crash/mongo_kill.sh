#!/usr/bin/env bash
# mongo_kill.sh - proves that a MongoDB copy killed with SIGKILL mid-way and run again
# ends with a target equal to the source: 120,000 documents (TL_MONGO_KILL_DOCS; 30,000 on
# FerretDB, which reads about ten times slower: tests/_ferretdb.sh) with ObjectId _ids plus a
# collection with mixed _id types (MinKey, numbers, strings, documents, binary,
# ObjectId, bool, dates, MaxKey); the second run must resume (log "get resume value"),
# and every collection must hold exactly the source's documents, byte for byte.
# With CR_RANDOM_KILL=1 (tools/crash_matrix.sh mongo) the kill comes at a random moment
# instead, possibly before any checkpoint, and the second run is sometimes killed too.
# Runs against the Mongo test server and FerretDB (tests/_ferretdb.sh); the types a source
# does not store (FerretDB 1.x: MinKey, MaxKey, Decimal128; found by trying an insert)
# are left out of the data set there, with a note.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
tl_sh_setup mkill TL_MONGO_SRC_URL TL_MONGO_DST_URL; work=$TL_SH_TMPDIR
PY=/usr/bin/python3
pid=
# shellcheck disable=SC2016  # expanded at exit
tl_sh_on_exit '[ -z "$pid" ] || kill -9 $pid 2>/dev/null'
db=tl_crash_mongo

$PY - "$TL_MONGO_SRC_URL" "$TL_MONGO_DST_URL" "$db" "${TL_MONGO_KILL_DOCS:-120000}" <<'PY'
import sys, datetime
from pymongo import MongoClient
from bson import ObjectId, Int64, Decimal128, Binary, MinKey, MaxKey, Timestamp
src, dst, db = MongoClient(sys.argv[1]), MongoClient(sys.argv[2]), sys.argv[3]
for c in (src, dst):
    c.drop_database(db)
def takes(v):  # whether the source stores v (FerretDB drops the connection otherwise)
    c = MongoClient(sys.argv[1], serverSelectionTimeoutMS=5000)
    try:
        c[db].probe.insert_one({"v": v})
        return True
    except Exception:
        return False
    finally:
        c.close()
has_dec, has_minmax = takes(Decimal128("1.5")), takes(MinKey()) and takes(MaxKey())
src[db].probe.drop()
if not has_dec or not has_minmax:
    print("note: the source does not store%s%s: left out of the data set" % (
        "" if has_dec else " Decimal128 (big.nested.d is a double, mixed has no decimal _id)",
        "" if has_minmax else " MinKey/MaxKey (mixed has no such _ids)"))
s = src[db]
base = 0x648195af9aa9cadd41a90000
docs = [{"_id": ObjectId("%024x" % (base + i)), "n": i, "name": "doc %d" % i,
         "tags": ["a", "b", i % 7], "nested": {"x": i * 1.5, "d": Decimal128(str(i) + ".25") if has_dec else i + 0.25}}
        for i in range(int(sys.argv[4]))]
for i in range(0, len(docs), 10000):
    s.big.insert_many(docs[i:i + 10000], ordered=False)
mixed = [MinKey(), 1, Int64(2), 2.5, Decimal128("3.5"), "a", "b", {"k": 1}, {"k": 2},
         Binary(b"\x01"), Binary(b"\x02", 5), ObjectId("648195af9aa9cadd41a9dcb1"), False, True,
         datetime.datetime(2024, 1, 1), datetime.datetime(2024, 1, 2), Timestamp(5, 1), MaxKey()]
mixed = [v for v in mixed if (has_dec or not isinstance(v, Decimal128)) and
         (has_minmax or not isinstance(v, (MinKey, MaxKey)))]
s.mixed.insert_many([{"_id": v, "i": i, "pad": "x" * 100} for i, v in enumerate(mixed)])
PY
[ $? -eq 0 ] || { echo "FAIL: cannot create the data set"; exit 1; }

tl_sh_task "$work/task.ini" mongo "$TL_MONGO_SRC_URL" "$TL_MONGO_DST_URL" global.task_id=mongo_kill \
  extractor.batch_size=500 filter.do_dbs=$db pipeline.checkpoint_interval_secs=0 \
  runtime.log_dir="$work/logs" resumer.resume_type=from_log

cd "$work" || exit 1
"$TL_BIN" run task.ini > run1.out 2>&1 &
pid=$!
if [ -n "${CR_RANDOM_KILL:-}" ]; then
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.1 + (r % 150) / 100 }')"
else
  for _ in $(seq 1 400); do
    grep -q '"tb":"big"' logs/position.log 2>/dev/null && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
  done
fi
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null; pid=
if [ -z "${CR_RANDOM_KILL:-}" ] && ! grep -q '"tb":"big"' logs/position.log 2>/dev/null; then
  echo "FAIL: no checkpoint of the big collection before the kill"; cat run1.out; exit 1
fi
if [ -n "${CR_RANDOM_KILL:-}" ] && [ $((RANDOM % 2)) -eq 0 ]; then
  "$TL_BIN" run task.ini > run2.out 2>&1 &
  pid=$!
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.1 + (r % 80) / 100 }')"
  kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null; pid=
fi
"$TL_BIN" run task.ini > run3.out 2>&1 || { echo "FAIL: final run"; cat run3.out; exit 1; }
if [ -z "${CR_RANDOM_KILL:-}" ]; then
  grep -q 'resumer, get resume value, schema: '$db', tb: big' logs/default.log \
    || { echo "FAIL: second run did not resume the big collection"; exit 1; }
  # the collection was started into an empty target: the documents past the position are
  # removed and the rest goes in as plain inserts again (copy.c clear_tail)
  grep -q "table $db.big: removing the target rows after " logs/default.log &&
    grep -q "table $db.big: resuming, .*(bulk path allowed)" logs/default.log \
    || { echo "FAIL: the resumed run did not finish the big collection on the bulk path"; exit 1; }
fi

$PY - "$TL_MONGO_SRC_URL" "$TL_MONGO_DST_URL" "$db" <<'PY'
import sys, hashlib
from pymongo import MongoClient
from bson.raw_bson import RawBSONDocument
src, dst, db = MongoClient(sys.argv[1]), MongoClient(sys.argv[2]), sys.argv[3]
bad = 0
for coll in ("big", "mixed"):
    def digest(c):
        h, n = hashlib.sha256(), 0
        for d in c[db].get_collection(coll, codec_options=c[db].codec_options.with_options(
                document_class=RawBSONDocument)).find().sort("_id", 1):
            h.update(d.raw); n += 1
        return n, h.hexdigest()
    a, b = digest(src), digest(dst)
    ok = a == b
    bad += not ok
    print("%s %s.%s: source %d docs, target %d docs, content %s" % (
        "ok  " if ok else "FAIL", db, coll, a[0], b[0], "equal" if a[1] == b[1] else "DIFFERENT"))
src.drop_database(db); dst.drop_database(db)
sys.exit(1 if bad else 0)
PY
