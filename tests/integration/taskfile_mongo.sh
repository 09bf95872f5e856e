#!/usr/bin/env bash
# taskfile_mongo.sh - ape-dts task files mean what they say on MongoDB (#13), end to end
# (registered twice: the Mongo test server and FerretDB): [router] db_map and tb_map move
# collections (an interrupted routed copy resumes; records keep the source names), col_map
# and ignore_cols are refused as ape-dts has no column routing for documents, a collection
# onto itself on one server is refused, a filter that selects nothing fails naming it,
# and a check task lists exactly the missing, extra and differing documents, field by
# field as ape-dts does; TLS modes and ?tls=true URL options through task files.
# shellcheck disable=SC2034  # out, got, ...: read by the tl_sh_check expressions (eval)
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=../_lib.sh
source "$(dirname "$0")/../_lib.sh"
tl_sh_setup tfmongo TL_MONGO_SRC_URL TL_MONGO_DST_URL; work=$TL_SH_TMPDIR
PY=/usr/bin/python3
mongo() { # SCRIPT: python with s, d = source and target clients
  $PY - "$TL_MONGO_SRC_URL" "$TL_MONGO_DST_URL" <<PYEOF
import sys
from bson.int64 import Int64
from pymongo import MongoClient
s = MongoClient(sys.argv[1]); d = MongoClient(sys.argv[2])
$1
PYEOF
}
tl_sh_on_exit 'mongo "s.drop_database(\"tl_tfm\"); d.drop_database(\"tl_tfm\"); d.drop_database(\"tl_tfm_copy\"); s.drop_database(\"tl_tfm_copy\")" 2>/dev/null'
mongo '
for c in (s, d):
    c.drop_database("tl_tfm"); c.drop_database("tl_tfm_copy")
s.tl_tfm.people.insert_many([{"_id": i, "age": i, "name": "n%d" % i, "tags": ["a", i]} for i in range(1, 2001)])
s.tl_tfm.misc.insert_many([{"_id": "k%d" % i, "v": i} for i in range(1, 11)])'
count() { mongo "print(d['$1']['$2'].count_documents({}))"; }

task() { # name [SECTION.KEY=VALUE...]
  tl_sh_task "$work/$1.ini" mongo "$TL_MONGO_SRC_URL" "$TL_MONGO_DST_URL" global.task_id="$1" extractor.batch_size=300 \
    filter.do_dbs=tl_tfm runtime.log_dir="$work/logs-$1" resumer.resume_type=from_log pipeline.checkpoint_interval_secs=0 "${@:2}"
}
route=("router.db_map=tl_tfm:tl_tfm_copy" "router.tb_map=tl_tfm.misc:tl_tfm_copy.other")

# 1. db_map / tb_map, interrupted and resumed
task r1 "${route[@]}"
out=$(TL_DEBUG_FAIL=write_batch:3 "$TL_BIN" run "$work/r1.ini" 2>&1); rc=$?
tl_sh_check "routed copy interrupted (rc $rc)" "[ $rc -ne 0 ]"
out=$("$TL_BIN" run "$work/r1.ini" 2>&1); rc=$?
tl_sh_check "resumed (rc $rc)" "[ $rc -eq 0 ] && grep -q 'get resume value, schema: tl_tfm, tb: people' '$work/logs-r1/default.log'"
tl_sh_check "db_map: 2000 documents in tl_tfm_copy.people" "[ \"\$(count tl_tfm_copy people)\" = 2000 ]"
tl_sh_check "tb_map: 10 documents in tl_tfm_copy.other" "[ \"\$(count tl_tfm_copy other)\" = 10 ]"
tl_sh_check "nothing under the source names" "[ \"\$(count tl_tfm people)\" = 0 ]"
tl_sh_check "the documents are the source's" "[ \"\$(mongo 'print(list(s.tl_tfm.people.find().sort(\"_id\", 1)) == list(d.tl_tfm_copy.people.find().sort(\"_id\", 1)))')\" = True ]"
tl_sh_check "records keep the source names" "grep -q '\"schema\":\"tl_tfm\",\"tb\":\"people\"' '$work/logs-r1/finished.log' && ! grep -q tl_tfm_copy '$work/logs-r1/finished.log'"

# 2. documents are copied whole: no column routing (as in ape-dts)
task c1 'router.col_map=json:[{"db":"tl_tfm","tb":"people","col_map":{"age":"years"}}]'
out=$("$TL_BIN" run "$work/c1.ini" 2>&1); rc=$?
tl_sh_check "col_map refused (rc $rc)" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'col_map is not supported for MongoDB'"
task c2 'filter.ignore_cols=json:[{"db":"tl_tfm","tb":"people","ignore_cols":["age"]}]'
out=$("$TL_BIN" run "$work/c2.ini" 2>&1); rc=$?
tl_sh_check "ignore_cols refused (rc $rc)" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'ignore_cols is not supported for MongoDB'"

# 3. one server: onto itself refused; a filter that selects nothing
tl_sh_task "$work/self.ini" mongo "$TL_MONGO_SRC_URL" "$TL_MONGO_SRC_URL" filter.do_dbs=tl_tfm runtime.log_dir="$work/logs-self"
out=$("$TL_BIN" run "$work/self.ini" 2>&1); rc=$?
tl_sh_check "a collection onto itself is refused (rc $rc)" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'would be copied onto itself'"
task f1 filter.do_dbs=tl_tfm_typo
out=$("$TL_BIN" run "$work/f1.ini" 2>&1); rc=$?
tl_sh_check "a filter that selects nothing (rc $rc)" "[ $rc -eq 1 ] && echo \"\$out\" | grep -q 'do_dbs=tl_tfm_typo'"

# 4. a check task: one missing, one extra, differing fields; nothing written
mongo '
t = d.tl_tfm_copy.people
t.delete_one({"_id": 3}); t.update_one({"_id": 4}, {"$set": {"age": 4000}})
t.update_one({"_id": 5}, {"$unset": {"name": 1}}); t.update_one({"_id": 6}, {"$set": {"age": Int64(6)}})
t.insert_one({"_id": 9999, "age": 1})'
task k1 "${route[@]}" sinker.sink_type=check
out=$("$TL_BIN" run "$work/k1.ini" 2>&1); rc=$?
cl=$work/logs-k1/check
T='"schema":"tl_tfm","tb":"people","target_schema":"tl_tfm_copy","target_tb":"people"'
tl_sh_check "check exits 3 (rc $rc)" "[ $rc -eq 3 ] && [ \"\$(count tl_tfm_copy people)\" = 2000 ]"
cat > "$work/want_miss.log" <<EOF
{$T,"id_col_values":{"_id":"{\\"Int32\\":3}"}}
EOF
cat > "$work/want_extra.log" <<EOF
{$T,"id_col_values":{"_id":"{\\"Int32\\":9999}"}}
EOF
cat > "$work/want_diff.log" <<EOF
{$T,"id_col_values":{"_id":"{\\"Int32\\":4}"},"diff_col_values":{"age":{"src":"4","dst":"4000"}}}
{$T,"id_col_values":{"_id":"{\\"Int32\\":5}"},"diff_col_values":{"name":{"src":"n5","dst":null,"src_type":"String","dst_type":"None"}}}
{$T,"id_col_values":{"_id":"{\\"Int32\\":6}"},"diff_col_values":{"age":{"src":"6","dst":"NumberLong(6)","src_type":"Int32","dst_type":"Int64"}}}
EOF
for f in miss extra diff; do
  tl_sh_check "$f.log lists exactly those documents" "cmp -s '$work/want_$f.log' '$cl/$f.log' || { cat '$cl/$f.log'; false; }"
done
tl_sh_check "summary.log" "grep -q '\"checked_count\":2010,\"miss_count\":1,\"diff_count\":3,\"skip_count\":0,\"extra_count\":1' '$cl/summary.log'"
# 5. TLS through task files: the test server speaks no TLS, so socat terminates it with the
# test CA's certificate (for localhost) in front of the target, on its port + 56
if [ -n "${TL_TLS_DIR:-}" ] && command -v socat >/dev/null; then
  ca=$TL_TLS_DIR/ca.pem; other=$TL_TLS_DIR/other-ca.pem
  dport=$(tl_sh_port "$TL_MONGO_DST_URL"); tport=$((dport + 56))
  socat OPENSSL-LISTEN:$tport,bind=127.0.0.1,reuseaddr,fork,cert=$TL_TLS_DIR/server.pem,key=$TL_TLS_DIR/server.key,verify=0 \
    TCP:127.0.0.1:"$dport" >"$work/socat.log" 2>&1 & socat_pid=$!
  tl_sh_on_exit 'kill $socat_pid 2>/dev/null'
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$tport) 2>/dev/null && break; sleep 0.1; done
  tls() { # NAME URL EXPECTED-RC [SECTION.KEY=VALUE...]: plan (it connects to both sides)
    tl_sh_task "$work/$1.ini" mongo "$TL_MONGO_SRC_URL" "$2" global.task_id="$1" filter.do_tbs=tl_tfm.misc \
      runtime.log_dir="$work/logs-$1" sinker.connection_timeout_secs=3 "${@:4}"
    out=$("$TL_BIN" plan "$work/$1.ini" 2>&1); rc=$?
    tl_sh_check "$1: $([ "$3" = 0 ] && echo connects || echo refused) (rc $rc)" \
      "[ $rc -eq $3 ] && { [ $3 -eq 0 ] || echo \"\$out\" | grep -q 'TLS handshake failed'; }"
  }
  tls verify_full_localhost "mongodb://localhost:$tport" 0 sinker.ssl_mode=verify_full "sinker.ssl_ca_path=$ca"
  tls verify_full_by_ip "mongodb://127.0.0.1:$tport" 1 sinker.ssl_mode=verify_full "sinker.ssl_ca_path=$ca"
  tls verify_ca_wrong_ca "mongodb://127.0.0.1:$tport" 1 sinker.ssl_mode=verify_ca "sinker.ssl_ca_path=$other"
  tls require_no_ca "mongodb://127.0.0.1:$tport" 0 sinker.ssl_mode=require
  tls url_tls_wrong_ca "mongodb://localhost:$tport/?tls=true&tlsCAFile=$other" 1
  tls url_tls "mongodb://localhost:$tport/?tls=true&tlsCAFile=$ca" 0
  out=$("$TL_BIN" run "$work/url_tls.ini" 2>&1); rc=$?
  tl_sh_check "a copy through ?tls=true&tlsCAFile= (rc $rc)" "[ $rc -eq 0 ] && [ \"\$(count tl_tfm misc)\" = 10 ]"
else
  echo "note: TL_TLS_DIR not set or no socat; Mongo TLS through task files not run (test_conn_mongo covers the driver)"
fi
tl_sh_result
