# shellcheck shell=bash
# _schema.sh - helpers of the tests that copy whole databases with `tideline run`
# (tests/integration/schema_run.sh, tests/crash/schema_kill.sh): the source databases of
# each kind, and what "equal" means for definitions. Not a test itself; source it after
# _lib.sh. The databases get names of their own (tls_*), so these tests never touch the
# tl_* databases of the driver tests (test_schema_*.c) that load the same files.
#
#   sc_pg_load / sc_pg_reset_target       PG: tests/data/schema/pg_source.sql as tls_sch and
#                                          "tls Other" on the source; the target emptied
#   sc_pg_defs SIDE                        pg_dump -s of both schemas (owners, grants,
#                                          comments, \restrict lines and blank lines left out)
#   sc_pg_state SIDE                       every sequence value, and count + md5 of every table
#   sc_my_load / sc_my_reset_target        MariaDB: world, DBT-3 (scale 0.01) and
#                                          tests/data/schema/mysql_source.sql as tls_world,
#                                          tls_dbt3, tls_my1, tls_my2
#   sc_my_defs SIDE                        SHOW CREATE of every database, table, view, trigger,
#                                          routine and event (DEFINER and AUTO_INCREMENT=N left
#                                          out), trigger order
#   sc_my_state SIDE                       AUTO_INCREMENT values and CHECKSUM TABLE of every table
#   sc_mongo_load / sc_mongo_reset_target  Mongo: database tls_mongo with options and indexes
#   sc_mongo_defs SIDE                     listCollections and listIndexes, sorted
#   sc_mongo_state SIDE                    count and digest of every collection
# SIDE is src or dst.

SC_INC=/usr/share/mysql/mysql-test/include
SC_PG_SCHEMAS=("tls_sch" "tls Other")
SC_MY_DBS=(tls_world tls_dbt3 tls_my1 tls_my2)

sc_url() { # KIND SIDE -> URL
  local v
  case "$1:$2" in
    pg:src) v=TL_PG_SRC_URL ;; pg:dst) v=TL_PG_DST_URL ;;
    mysql:src) v=TL_MYSQL_SRC_URL ;; mysql:dst) v=TL_MYSQL_DST_URL ;;
    mongo:src) v=TL_MONGO_SRC_URL ;; mongo:dst) v=TL_MONGO_DST_URL ;;
  esac
  printf '%s' "${!v}"
}

# ---------------------------------------------------------------------------- PostgreSQL

sc_psql() { # SIDE SQL...
  local side=$1; shift
  PGOPTIONS='-c client_min_messages=warning' psql -X -q -tA -v ON_ERROR_STOP=1 -d "$(sc_url pg "$side")" "$@"
}

sc_pg_load() {
  sed 's/tl_sch/tls_sch/g; s/tl Other/tls Other/g' "$TL_SRC/tests/data/schema/pg_source.sql" | sc_psql src -f - >/dev/null
}

sc_pg_reset_target() {
  sc_psql dst -c 'DROP SCHEMA IF EXISTS tls_sch CASCADE' -c 'DROP SCHEMA IF EXISTS "tls Other" CASCADE' \
    -c 'DROP EXTENSION IF EXISTS hstore, citext, btree_gist, pg_trgm CASCADE' >/dev/null
}

sc_pg_defs() {
  pg_dump -s -O -x -n tls_sch -n '"tls Other"' -d "$(sc_url pg "$1")" |
    grep -v -e '^--' -e '^\\restrict' -e '^\\unrestrict' -e '^$'
}

sc_pg_state() {
  sc_psql "$1" -c "SELECT schemaname || '.' || sequencename || '=' || COALESCE(last_value::text, 'null')
    FROM pg_sequences WHERE schemaname IN ('tls_sch', 'tls Other') ORDER BY 1"
  local t
  while IFS= read -r t; do
    sc_psql "$1" -c "SELECT '$t ' || count(*) || ' ' || md5(COALESCE(string_agg(x::text, '|' ORDER BY x::text), ''))
      FROM $t x"
  done < <(sc_psql src -c "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('tls_sch', 'tls Other')
    AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1")
}

# ---------------------------------------------------------------------------- MariaDB

sc_mysql() { # SIDE ARGS... (mariadb client, -N -B)
  local side=$1 url; shift
  url=$(sc_url mysql "$side")
  sc_parse_url "$url"
  MYSQL_PWD=$SC_PASS mariadb --no-defaults --protocol=TCP -h "$SC_HOST" -P "$SC_PORT" -u "$SC_USER" -N -B "$@"
}

sc_parse_url() { # URL -> SC_USER SC_PASS SC_HOST SC_PORT
  local rest=${1#*://}
  rest=${rest%%/*}
  if [[ $rest == *@* ]]; then
    local cred=${rest%@*}
    rest=${rest##*@}
    SC_USER=${cred%%:*}
    if [[ $cred == *:* ]]; then SC_PASS=${cred#*:}; else SC_PASS=; fi
  else
    SC_USER=root; SC_PASS=
  fi
  SC_HOST=${rest%:*}
  SC_PORT=${rest##*:}
  [ "$SC_PORT" != "$rest" ] || SC_PORT=3306
}

sc_my_load() {
  [ -r "$SC_INC/dbt3_s001.inc" ] || { echo "FAIL: $SC_INC/dbt3_s001.inc missing (install mariadb-test-data)"; return 1; }
  sc_mysql src -e "DROP DATABASE IF EXISTS tls_world; CREATE DATABASE tls_world CHARACTER SET latin1; USE tls_world;
    SOURCE $SC_INC/world_schema.inc; SOURCE $SC_INC/world.inc;
    DROP DATABASE IF EXISTS tls_dbt3; CREATE DATABASE tls_dbt3; USE tls_dbt3; SOURCE $SC_INC/dbt3_s001.inc;" >/dev/null &&
    sed 's/tl_my/tls_my/g' "$TL_SRC/tests/data/schema/mysql_source.sql" | sc_mysql src >/dev/null
}

sc_my_reset_target() {
  local d sql=
  for d in "${SC_MY_DBS[@]}"; do sql+="DROP DATABASE IF EXISTS \`$d\`; "; done
  sc_mysql dst -e "$sql"
}

sc_my_in() { # the databases as an SQL list
  local d out=
  for d in "${SC_MY_DBS[@]}"; do out+="${out:+, }'$d'"; done
  printf '%s' "$out"
}

sc_my_q() { # NAME -> `NAME` with backticks doubled
  printf '`%s`' "${1//\`/\`\`}"
}

sc_my_defs() {
  local side=$1 kind db name in q
  in=$(sc_my_in)
  for db in "${SC_MY_DBS[@]}"; do sc_mysql "$side" -e "SHOW CREATE DATABASE \`$db\`"; done
  while IFS=$'\t' read -r kind db name; do
    q="$(sc_my_q "$db").$(sc_my_q "$name")"
    case $kind in
      TABLE|VIEW) sc_mysql "$side" -e "SHOW CREATE $kind $q" | cut -f1-2 ;;
      EVENT) sc_mysql "$side" -e "SHOW CREATE $kind $q" | cut -f1-4 ;;
      *) sc_mysql "$side" -e "SHOW CREATE $kind $q" | cut -f1-3 ;;
    esac
  done < <(sc_mysql src -e "
    SELECT 'TABLE', TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA IN ($in)
    UNION ALL SELECT 'VIEW', TABLE_SCHEMA, TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN ($in)
    UNION ALL SELECT 'TRIGGER', TRIGGER_SCHEMA, TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN ($in)
    UNION ALL SELECT ROUTINE_TYPE, ROUTINE_SCHEMA, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN ($in)
    UNION ALL SELECT 'EVENT', EVENT_SCHEMA, EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN ($in)
    ORDER BY 1, 2, 3") | sed -e 's/DEFINER=`[^`]*`@`[^`]*` //g' -e 's/ AUTO_INCREMENT=[0-9]*//g'
  sc_mysql "$side" -e "SELECT TRIGGER_SCHEMA, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER, TRIGGER_NAME
    FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN ($in) ORDER BY 1, 2, 3, 4, 5"
}

sc_my_state() {
  local side=$1 in db name
  in=$(sc_my_in)
  sc_mysql "$side" -e "SELECT TABLE_SCHEMA, TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES
    WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA IN ($in) ORDER BY 1, 2"
  while IFS=$'\t' read -r db name; do
    sc_mysql "$side" -e "CHECKSUM TABLE $(sc_my_q "$db").$(sc_my_q "$name")"
  done < <(sc_mysql src -e "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES
    WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA IN ($in) ORDER BY 1, 2")
}

# ---------------------------------------------------------------------------- MongoDB

sc_py() { /usr/bin/python3 "$@"; }

sc_mongo_load() {
  cat > "${SC_WORK:-/tmp}/tls_mongo.js" <<'JS'
use tls_mongo
db.dropDatabase()
db.createCollection("capped", {capped: true, size: 1048576, max: 1000})
db.capped.insertMany([{_id: 1, x: 1}, {_id: 2, x: 2}])
db.createCollection("checked", {validator: {age: {$gte: 0}}, validationLevel: "moderate"})
db.checked.insertMany([{_id: 1, age: 3}, {_id: 2, age: 40}])
db.people.insertMany([{_id: 1, name: "a", age: 3, tags: ["x"], loc: {type: "Point", coordinates: [1, 2]}},
  {_id: 2, name: "b", age: 4, tags: ["y"], loc: {type: "Point", coordinates: [3, 4]}},
  {_id: 3, name: "c", age: 5, note: "hello world", loc: {type: "Point", coordinates: [5, 6]}}])
db.people.createIndex({name: 1}, {unique: true})
db.people.createIndex({age: -1, name: 1})
db.people.createIndex({age: 1}, {name: "ttl", expireAfterSeconds: 3600})
db.people.createIndex({tags: 1}, {sparse: true})
db.people.createIndex({name: 1, age: 1}, {partialFilterExpression: {age: {$gt: 3}}, name: "partial"})
db.people.createIndex({note: "text"})
db.people.createIndex({loc: "2dsphere"})
JS
  sc_py "$TL_SRC/tools/mongo_load.py" --url "$(sc_url mongo src)" "${SC_WORK:-/tmp}/tls_mongo.js" >/dev/null
}

sc_mongo_reset_target() {
  sc_py -c "import pymongo,sys; pymongo.MongoClient(sys.argv[1]).drop_database('tls_mongo')" "$(sc_url mongo dst)"
}

sc_mongo_defs() {
  sc_py - "$(sc_url mongo "$1")" <<'PY'
import json, sys, pymongo
db = pymongo.MongoClient(sys.argv[1]).tls_mongo
# tideline's own collection (the claims on target tables, TL_CLAIM_COLLECTION) is not copied data
for c in sorted((c for c in db.list_collections() if not c["name"].startswith("tideline.")), key=lambda c: c["name"]):
    print(c["name"], c.get("type"), json.dumps(c.get("options", {}), sort_keys=True, default=str))
    if c.get("type") == "collection":
        for ix in sorted(db[c["name"]].list_indexes(), key=lambda i: i["name"]):
            ix = dict(ix)
            ix.pop("v", None)
            ix.pop("ns", None)
            print("  ", json.dumps(ix, sort_keys=True, default=str))
PY
}

sc_mongo_state() {
  sc_py - "$(sc_url mongo "$1")" <<'PY'
import hashlib, sys, pymongo, bson
db = pymongo.MongoClient(sys.argv[1]).tls_mongo
for name in sorted(n for n in db.list_collection_names() if not n.startswith("tideline.")):
    docs = sorted(bson.encode(d) for d in db[name].find())
    print(name, len(docs), hashlib.md5(b"".join(docs)).hexdigest())
PY
}
