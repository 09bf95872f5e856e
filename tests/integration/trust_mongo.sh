#!/usr/bin/env bash
# trust_mongo.sh - issue #18 end to end on MongoDB (the relational kinds: _trust_lib.sh):
#   lost_ours     a run killed mid-copy, the target collection dropped: plan says it
#                 starts over, the run does and says why, target = source
#   lost_foreign  the same into a collection that held documents before the task: plan
#                 and run refuse naming the missing _id and --recopy-lost, which then
#                 copies it again; the foreign documents stay
#   two_tasks     a second task is refused naming the first (the lease document: task,
#                 host, pid); a task killed mid-collection leaves a lease that another
#                 task on this host takes over at once (its process is gone)
#   recopy        finished collections emptied / thinned afterwards: --recopy-lost copies
#                 exactly those again
# Target = source is checked per collection on the raw BSON of every document.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
tl_sh_setup trust-mongo TL_MONGO_SRC_URL TL_MONGO_DST_URL; work=$TL_SH_TMPDIR
PY=/usr/bin/python3
DB=tl_trust
BIG=20000 SLOW=120000 SLOW_BATCH=100 LF=$BIG LF_BATCH=500
# FerretDB (tests/_ferretdb.sh) reads about ten times slower: smaller collections there;
# lost_foreign's copies into a collection holding other documents are replace-upserts,
# each of which scans the whole collection on FerretDB: 1,500 documents in batches of 100
if [ "$TL_MONGO_SRC_URL" = "${TL_FERRETDB_SRC_URL:-}" ]; then
  BIG=4000 SLOW=15000 SLOW_BATCH=20 LF=1500 LF_BATCH=100
fi

# m OP ARGS...: make COLL N | digest src|dst COLL | drop src|dst COLL | foreign COLL | thin COLL
m() {
  $PY - "$TL_MONGO_SRC_URL" "$TL_MONGO_DST_URL" "$DB" "$@" <<'PY'
import hashlib, sys
from pymongo import MongoClient
from bson import ObjectId
from bson.raw_bson import RawBSONDocument
urls, db, op, args = sys.argv[1:3], sys.argv[3], sys.argv[4], sys.argv[5:]
side = lambda s: MongoClient(urls[0 if s == "src" else 1], document_class=RawBSONDocument)[db]
if op == "make":
    coll, n = args[0], int(args[1])
    s, d = side("src"), side("dst")
    s.drop_collection(coll); d.drop_collection(coll)
    base = 0x648195af9aa9cadd41a90000
    docs = [{"_id": ObjectId("%024x" % (base + i)), "n": i, "pad": "x" * (i % 50)} for i in range(n)]
    for i in range(0, n, 5000):
        s[coll].insert_many(docs[i:i + 5000])
    d.create_collection(coll)
elif op == "digest":
    h, n = hashlib.md5(), 0
    for doc in side(args[0])[args[1]].find().sort("_id", 1):
        h.update(doc.raw); n += 1
    print(n, h.hexdigest())
elif op == "drop":
    side(args[0]).drop_collection(args[1])
elif op == "foreign":
    side("dst")[args[0]].insert_many([{"_id": "foreign-%d" % i, "f": i} for i in range(3)])
elif op == "thin":
    side("dst")[args[0]].delete_many({"n": {"$lt": 100}})
elif op == "count":
    print(side(args[0])[args[1]].count_documents({}))
PY
}
# the target's documents are the source's (with extra=1: plus the 3 foreign ones, kept)
same() {
  if [ "${2:-}" = extra ]; then
    [ "$(m count dst "$1")" -eq $(( $(m count src "$1") + 3 )) ]
  else
    [ "$(m digest src "$1")" = "$(m digest dst "$1")" ]
  fi
}
task() { # NAME COLLS [SECTION.KEY=VALUE...]
  tl_sh_task "$work/$1.ini" mongo "$TL_MONGO_SRC_URL" "$TL_MONGO_DST_URL" global.task_id="$1" extractor.batch_size=500 \
    filter.do_tbs="$2" pipeline.checkpoint_interval_secs=0 runtime.log_dir="$work/$1" resumer.resume_type=from_log "${@:3}"
}
run() { out=$("$TL_BIN" run "$work/$1.ini" "${@:2}" 2>&1); rc=$?; [ -z "${TRUST_VERBOSE:-}" ] || echo "$out"; }
plan() { planout=$("$TL_BIN" plan "$work/$1.ini" "${@:2}" 2>&1); [ -z "${TRUST_VERBOSE:-}" ] || echo "$planout"; }
crash() { out=$(TL_DEBUG_CRASH=after_target_commit:$2 "$TL_BIN" run "$work/$1.ini" 2>&1); rc=$?; }
wait_pos() { # NAME COLL: until the run of NAME recorded a position of COLL
  for _ in $(seq 1 600); do grep -q "\"tb\":\"$2\"" "$work/$1/position.log" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}

# lost_ours
m make big $BIG || tl_sh_check "lost_ours: setup" false
task lo "$DB.big"
crash lo 8
tl_sh_check "lost_ours: the first run died mid-copy with a position (rc $rc)" "[ $rc -ne 0 ] && grep -q '\"tb\":\"big\"' '$work/lo/position.log'"
m drop dst big
plan lo
tl_sh_check "lost_ours: plan says the collection starts over" \
  "echo \"\$planout\" | grep -q 'big.*the target lost rows since the last checkpoint: the row with _id = .* is missing.*copied again from the beginning'"
run lo
tl_sh_check "lost_ours: the run copies it again and says why (rc $rc)" \
  "[ $rc -eq 0 ] && grep -q 'WARN.*big: the target lost rows since the last checkpoint' '$work/lo/default.log'"
tl_sh_check "lost_ours: target = source" "same big"

# lost_foreign
m make big $LF && m foreign big || tl_sh_check "lost_foreign: setup" false
task lf "$DB.big" extractor.batch_size=$LF_BATCH
crash lf 8
tl_sh_check "lost_foreign: the first run died mid-copy (rc $rc)" "[ $rc -ne 0 ] && grep -q '\"tb\":\"big\"' '$work/lf/position.log'"
m drop dst big
m foreign big
plan lf
tl_sh_check "lost_foreign: plan refuses" "echo \"\$planout\" | grep -q '^REFUSE .*big .*is missing.*--recopy-lost'"
run lf
tl_sh_check "lost_foreign: the run refuses naming the _id, the counts and --recopy-lost (rc $rc)" \
  "[ $rc -ne 0 ] && echo \"\$out\" | grep -q 'big: the target lost rows since the last checkpoint: the row with _id = .* is missing, the target holds .*3 rows where [0-9]* were recorded as copied.*--recopy-lost'"
run lf --recopy-lost
tl_sh_check "lost_foreign: run --recopy-lost (rc $rc)" "[ $rc -eq 0 ]"
tl_sh_check "lost_foreign: every source document there, the foreign ones kept" "same big extra"

# two_tasks
m make slow $SLOW || tl_sh_check "two_tasks: setup" false
task ta "$DB.slow" extractor.batch_size=$SLOW_BATCH
task tb "$DB.slow"
"$TL_BIN" run "$work/ta.ini" > "$work/ta.out" 2>&1 &
pid=$!
wait_pos ta slow
run tb
host=$(hostname)
tl_sh_check "two_tasks: the second task refuses naming the first (rc $rc)" \
  "[ $rc -ne 0 ] && echo \"\$out\" | grep -q \"'tl_trust.slow' is being written by another task: 'tideline task 'ta' (pid $pid on $host)' (host $host, pid $pid) holds its claim\""
wait $pid; rc_a=$?
tl_sh_check "two_tasks: the first one finishes (rc $rc_a), target = source" "[ $rc_a -eq 0 ] && same slow"
m drop dst slow
task tc "$DB.slow" extractor.batch_size=$SLOW_BATCH
task td "$DB.slow"
"$TL_BIN" run "$work/tc.ini" > "$work/tc.out" 2>&1 &
pid=$!
wait_pos tc slow
kill -9 $pid; wait $pid 2>/dev/null
# (the lease of tc stays in tideline.claims; its documents go, so that td writes in bulk:
# replace-upserts into a FerretDB collection scan it whole for every document)
m drop dst slow
run td
tl_sh_check "two_tasks: the lease of a killed task is taken over at once (rc $rc)" "[ $rc -eq 0 ] && same slow"

# recopy
m make c1 $BIG && m make c2 $BIG && m make c3 500 || tl_sh_check "recopy: setup" false
task rc "$DB.c1,$DB.c2,$DB.c3"
run rc
tl_sh_check "recopy: the first copy (rc $rc)" "[ $rc -eq 0 ] && same c1 && same c2 && same c3"
m drop dst c1
m thin c2
plan rc
tl_sh_check "recopy: plan warns" "echo \"\$planout\" | grep -q 'c1 *target lost rows since finished' && echo \"\$planout\" | grep -q 'c2 *target lost rows since finished'"
run rc --recopy-lost
tl_sh_check "recopy: run --recopy-lost copies exactly those again (rc $rc)" \
  "[ $rc -eq 0 ] && grep -q 'c1: --recopy-lost' '$work/rc/default.log' && grep -q 'c2: --recopy-lost' '$work/rc/default.log' && ! grep -q 'c3: --recopy-lost' '$work/rc/default.log'"
tl_sh_check "recopy: target = source" "same c1 && same c2 && same c3"

tl_sh_result
