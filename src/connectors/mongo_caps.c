/*
 * mongo_caps.c - MongoDB connector: what the server can do, found by probing at connect
 * time (never by its name or version string), and the _id range filters and document
 * checks that depend on it.
 *
 * Servers that speak MongoDB's wire protocol differ (docs/mongodb.md). Two probes, both
 * read-only, on a collection that does not exist ("tideline_probe" in the URL's database,
 * else "admin"), so nothing is created on a source:
 *
 *  1. `aggregate` with {$match: {$expr: {$and: [{$gt: ["$_id", {$literal: 1}]}, {$lte: …}]}}}.
 *     MongoDB answers with an empty cursor; FerretDB 1.x answers NotImplemented (238).
 *     Any server error but Unauthorized (13) means no $expr comparisons: _id ranges are
 *     then written as type-bracketed query operators (below), which every server has.
 *  2. `find` with {_id: {$in: [<v>]}} for a value of each rarely supported BSON type (MinKey,
 *     MaxKey, Decimal128, JavaScript, JavaScript with scope, Symbol, Undefined, DBPointer):
 *     first all at once, and only when that fails one by one, each on a client of its own.
 *     A server that cannot decode a type drops the connection (FerretDB 1.x does): the type
 *     is recorded as refused. Any reply, even an error, means the value was decoded
 *     (MongoDB refuses comparisons with undefined). Writing a document that holds a refused
 *     type fails before anything is sent, naming the collection, the _id and the field,
 *     instead of a dropped connection ("Failed to read 4 bytes").
 *
 * Estimates: the {$collStats: {count: {}}} stage reads the server's own statistics
 * (MongoDB, FerretDB); `count` without a filter, which estimatedDocumentCount sends, is a
 * full scan on FerretDB 1.x (2.4 s for 20,000 documents here). estimatedDocumentCount
 * stays the fallback for servers without $collStats.
 *
 * The bracketed _id range: BSON's cross-type order ranks types (MinKey < null < numbers <
 * strings < objects < arrays < binary < ObjectId < bool < date < timestamp < regex <
 * DBPointer < JavaScript < JavaScript with scope < MaxKey); query operators compare only
 * within one rank ("type bracketing"), so "_id after v" is
 *     {$or: [{_id: {$gt: v}}, {_id: {$type: [every type of a higher rank]}}]}
 * and "_id up to v" the mirror image with $lte and lower ranks. Types the server refused
 * are left out of the $type lists (it cannot hold them, and FerretDB rejects their codes
 * in $type). MinKey and MaxKey positions are written with $type alone. A Decimal128
 * position on a server without Decimal128 (from another server's log) is compared as the
 * neighbouring double on the safe side (a superset of the documents after it). A position
 * of another refused type is TL_ERR_UNSUPPORTED: the server cannot even be asked about it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "mongo_int.h"

#define PROBE_COLL "tideline_probe"

/* The rarely supported types, probed one by one. */
static const bson_type_t rare_types[] = {
	BSON_TYPE_MINKEY, BSON_TYPE_MAXKEY, BSON_TYPE_DECIMAL128, BSON_TYPE_CODE,
	BSON_TYPE_CODEWSCOPE, BSON_TYPE_SYMBOL, BSON_TYPE_UNDEFINED, BSON_TYPE_DBPOINTER,
};

/* Every BSON type with its rank in the cross-type sort order (MongoDB's canonical type). */
static const struct {
	bson_type_t type;
	int rank;
	const char *name;
} type_ranks[] = {
	{BSON_TYPE_MINKEY, -1, "MinKey"},
	{BSON_TYPE_UNDEFINED, 0, "Undefined"},
	{BSON_TYPE_NULL, 5, "null"},
	{BSON_TYPE_DOUBLE, 10, "double"},
	{BSON_TYPE_INT32, 10, "int32"},
	{BSON_TYPE_INT64, 10, "int64"},
	{BSON_TYPE_DECIMAL128, 10, "Decimal128"},
	{BSON_TYPE_UTF8, 15, "string"},
	{BSON_TYPE_SYMBOL, 15, "Symbol"},
	{BSON_TYPE_DOCUMENT, 20, "document"},
	{BSON_TYPE_ARRAY, 25, "array"},
	{BSON_TYPE_BINARY, 30, "binary"},
	{BSON_TYPE_OID, 35, "ObjectId"},
	{BSON_TYPE_BOOL, 40, "bool"},
	{BSON_TYPE_DATE_TIME, 45, "date"},
	{BSON_TYPE_TIMESTAMP, 47, "timestamp"},
	{BSON_TYPE_REGEX, 50, "regex"},
	{BSON_TYPE_DBPOINTER, 55, "DBPointer"},
	{BSON_TYPE_CODE, 60, "JavaScript"},
	{BSON_TYPE_CODEWSCOPE, 65, "JavaScript with scope"},
	{BSON_TYPE_MAXKEY, 127, "MaxKey"},
};

#define NTYPES (sizeof(type_ranks) / sizeof(type_ranks[0]))

/* Index of t in type_ranks, or -1. */
static int type_index(bson_type_t t)
{
	size_t i;

	for (i = 0; i < NTYPES; i++)
		if (type_ranks[i].type == t)
			return (int)i;
	return -1;
}

/* The name of BSON type t for messages. */
static const char *type_name(bson_type_t t)
{
	int i = type_index(t);

	return i >= 0 ? type_ranks[i].name : "unknown type";
}

/* Appends a sample value of type t under key. */
static void append_sample(bson_t *dst, const char *key, bson_type_t t)
{
	static const uint8_t empty_oid[12] = {0};
	bson_decimal128_t dec;
	bson_oid_t oid;
	bson_t scope = BSON_INITIALIZER;

	switch (t) {
	case BSON_TYPE_MINKEY: bson_append_minkey(dst, key, -1); break;
	case BSON_TYPE_MAXKEY: bson_append_maxkey(dst, key, -1); break;
	case BSON_TYPE_DECIMAL128:
		bson_decimal128_from_string("1", &dec);
		bson_append_decimal128(dst, key, -1, &dec);
		break;
	case BSON_TYPE_CODE: bson_append_code(dst, key, -1, "1"); break;
	case BSON_TYPE_CODEWSCOPE: bson_append_code_with_scope(dst, key, -1, "1", &scope); break;
	case BSON_TYPE_SYMBOL: bson_append_symbol(dst, key, -1, "1", 1); break;
	case BSON_TYPE_UNDEFINED: bson_append_undefined(dst, key, -1); break;
	case BSON_TYPE_DBPOINTER:
		bson_oid_init_from_data(&oid, empty_oid);
		bson_append_dbpointer(dst, key, -1, PROBE_COLL, &oid);
		break;
	default: bson_append_null(dst, key, -1); break;
	}
	bson_destroy(&scope);
}

/*
 * Runs {find: PROBE_COLL, filter: {_id: {$in: [samples of types[0..n)]}}, limit: 1} on a
 * client of its own (a dropped connection would make c's client wait half a second before
 * it reconnects). *took is 1 when the server took the message (a reply, ok or not: MongoDB
 * refuses comparisons with undefined, but it decoded the value), 0 when it dropped the
 * connection. Fails (TL_ERR_DB) only when the server cannot be reached at all.
 */
static int takes_types(tl_conn *c, const mongoc_uri_t *uri, const char *db, const bson_type_t *types, size_t n,
		       int *took, tl_error *err)
{
	mongoc_client_t *probe = NULL;
	bson_t cmd = BSON_INITIALIZER, filter, id, in, reply = BSON_INITIALIZER;
	bson_error_t e;
	char key[16];
	size_t i;
	int rc = 0;

	memset(&e, 0, sizeof(e));
	if (!(probe = mongoc_client_new_from_uri_with_error(uri, &e))) {
		rc = tl_mongo__error(err, &e, "cannot connect to mongo at %s", c->where);
		goto cleanup;
	}
	(void)mongoc_client_set_error_api(probe, MONGOC_ERROR_API_VERSION_2);
	BSON_APPEND_UTF8(&cmd, "find", PROBE_COLL);
	BSON_APPEND_DOCUMENT_BEGIN(&cmd, "filter", &filter);
	BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &id);
	BSON_APPEND_ARRAY_BEGIN(&id, "$in", &in);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%zu", i);
		append_sample(&in, key, types[i]);
	}
	bson_append_array_end(&id, &in);
	bson_append_document_end(&filter, &id);
	bson_append_document_end(&cmd, &filter);
	BSON_APPEND_INT32(&cmd, "limit", 1);
	bson_destroy(&reply);
	*took = mongoc_client_command_simple(probe, db, &cmd, NULL, &reply, &e) || e.domain == MONGOC_ERROR_SERVER ||
		e.domain == MONGOC_ERROR_QUERY;
	if (!*took && e.domain == MONGOC_ERROR_SERVER_SELECTION)
		rc = tl_mongo__error(err, &e, "cannot connect to mongo at %s", c->where);
cleanup:
	bson_destroy(&reply);
	bson_destroy(&cmd);
	if (probe)
		mongoc_client_destroy(probe);
	return rc;
}

/* Whether the server evaluates $expr comparisons of $_id (probe 1). */
static int has_expr(tl_conn *c, const char *db)
{
	bson_t cmd = BSON_INITIALIZER, pipeline, stage, match, expr, and, cmp, args, lit, cursor, reply;
	bson_error_t e;
	int ok;

	BSON_APPEND_UTF8(&cmd, "aggregate", PROBE_COLL);
	BSON_APPEND_ARRAY_BEGIN(&cmd, "pipeline", &pipeline);
	BSON_APPEND_DOCUMENT_BEGIN(&pipeline, "0", &stage);
	BSON_APPEND_DOCUMENT_BEGIN(&stage, "$match", &match);
	BSON_APPEND_DOCUMENT_BEGIN(&match, "$expr", &expr);
	BSON_APPEND_ARRAY_BEGIN(&expr, "$and", &and);
	BSON_APPEND_DOCUMENT_BEGIN(&and, "0", &cmp);
	BSON_APPEND_ARRAY_BEGIN(&cmp, "$gt", &args);
	BSON_APPEND_UTF8(&args, "0", "$_id");
	BSON_APPEND_DOCUMENT_BEGIN(&args, "1", &lit);
	BSON_APPEND_INT32(&lit, "$literal", 1);
	bson_append_document_end(&args, &lit);
	bson_append_array_end(&cmp, &args);
	bson_append_document_end(&and, &cmp);
	BSON_APPEND_DOCUMENT_BEGIN(&and, "1", &cmp);
	BSON_APPEND_ARRAY_BEGIN(&cmp, "$lte", &args);
	BSON_APPEND_UTF8(&args, "0", "$_id");
	BSON_APPEND_DOCUMENT_BEGIN(&args, "1", &lit);
	BSON_APPEND_INT32(&lit, "$literal", 2);
	bson_append_document_end(&args, &lit);
	bson_append_array_end(&cmp, &args);
	bson_append_document_end(&and, &cmp);
	bson_append_array_end(&expr, &and);
	bson_append_document_end(&match, &expr);
	bson_append_document_end(&stage, &match);
	bson_append_document_end(&pipeline, &stage);
	bson_append_array_end(&cmd, &pipeline);
	BSON_APPEND_DOCUMENT_BEGIN(&cmd, "cursor", &cursor);
	bson_append_document_end(&cmd, &cursor);
	memset(&e, 0, sizeof(e));
	ok = mongoc_client_command_simple(c->client, db, &cmd, NULL, &reply, &e) ||
	     ((e.domain == MONGOC_ERROR_SERVER || e.domain == MONGOC_ERROR_QUERY) && e.code == 13);
	bson_destroy(&reply);
	bson_destroy(&cmd);
	return ok;
}

int tl_mongo__probe(tl_conn *c, const mongoc_uri_t *uri, tl_error *err)
{
	const char *db = mongoc_uri_get_database(uri);
	size_t i, n = sizeof(rare_types) / sizeof(rare_types[0]);
	int took = 0, rc;

	if (!db || !*db)
		db = "admin";
	c->caps = 0;
	c->refused = 0;
	if (has_expr(c, db))
		c->caps |= TL_MONGO__EXPR;
	if ((rc = takes_types(c, uri, db, rare_types, n, &took, err)) || took)
		return rc;
	for (i = 0; i < n; i++) {
		if ((rc = takes_types(c, uri, db, &rare_types[i], 1, &took, err)))
			return rc;
		if (!took)
			c->refused |= 1u << type_index(rare_types[i]);
	}
	return 0;
}

/* ---- estimates ---------------------------------------------------------------------- */

int64_t tl_mongo__estimate(tl_conn *c, const char *db, const char *coll)
{
	mongoc_collection_t *col = tl_mongo__collection(c, db, coll);
	mongoc_cursor_t *cur = NULL;
	bson_t *pipeline = BCON_NEW("pipeline", "[", "{", "$collStats", "{", "count", "{", "}", "}", "}", "]");
	const bson_t *doc;
	bson_error_t e;
	bson_iter_t it;
	int64_t n = -1;

	cur = mongoc_collection_aggregate(col, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
	if (mongoc_cursor_next(cur, &doc) && bson_iter_init_find(&it, doc, "count") && BSON_ITER_HOLDS_NUMBER(&it))
		n = bson_iter_as_int64(&it);
	if (n < 0 && !mongoc_cursor_error(cur, &e) && !mongoc_cursor_more(cur))
		n = 0; /* no document: no such collection (or no statistics) */
	if (n < 0 || mongoc_cursor_error(cur, &e))
		n = mongoc_collection_estimated_document_count(col, NULL, NULL, NULL, &e);
	mongoc_cursor_destroy(cur);
	bson_destroy(pipeline);
	mongoc_collection_destroy(col);
	return n < 0 ? -1 : n;
}

/* ---- _id ranges ------------------------------------------------------------------- */

/* The number $type takes for t (MinKey is -1, not its byte 0xff). */
static int32_t type_code(bson_type_t t)
{
	return t == BSON_TYPE_MINKEY ? -1 : (int32_t)t;
}

/*
 * Appends {"$or": [{_id: {$gt|$lte: v}}, {_id: {$type: [the types ranked after|before v]}}]}
 * as element `key` of an array. gt: "after v", else "up to v" (inclusive).
 */
static int append_bracketed(bson_t *arr, const char *key, const tl_conn *c, const tl_table *t, const bson_value_t *v,
			    int gt, tl_error *err)
{
	bson_t item, or, alt, id, types;
	bson_value_t dv;
	char k[16], dec[BSON_DECIMAL128_STRING];
	size_t i, nalt = 0, ntypes = 0;
	int vi = type_index(v->value_type), rank, minmax;

	if (v->value_type == BSON_TYPE_DECIMAL128 && (c->refused & (1u << vi))) {
		/* a server without Decimal128 holds no such _id: compare the numbers it holds with
		 * the neighbouring double on the safe side (a superset: at worst a document equal
		 * to that double is copied again, idempotently; never one left out) */
		bson_decimal128_to_string(&v->value.v_decimal128, dec);
		dv.value_type = BSON_TYPE_DOUBLE;
		dv.value.v_double = nextafter(strtod(dec, NULL), gt ? -INFINITY : INFINITY);
		v = &dv;
		vi = type_index(BSON_TYPE_DOUBLE);
	}
	if (vi < 0)
		return tl_error_set(err, TL_ERR_UNSUPPORTED,
				    "mongo collection '%s.%s': cannot resume at an _id of BSON type %d", t->schema,
				    t->name, (int)v->value_type);
	/* MinKey/MaxKey equal only themselves, and not every server takes them in a filter:
	 * their own rank goes into the $type part instead ("up to" includes v itself) */
	minmax = v->value_type == BSON_TYPE_MINKEY || v->value_type == BSON_TYPE_MAXKEY;
	if (!minmax && (c->refused & (1u << vi)))
		return tl_error_set(err, TL_ERR_UNSUPPORTED,
				    "mongo collection '%s.%s': the position's _id is a %s, a type the server at %s "
				    "cannot hold or be asked about (docs/mongodb.md)",
				    t->schema, t->name, type_ranks[vi].name, c->where);
	rank = type_ranks[vi].rank;
	if (minmax && !gt)
		rank++;
	BSON_APPEND_DOCUMENT_BEGIN(arr, key, &item);
	BSON_APPEND_ARRAY_BEGIN(&item, "$or", &or);
	if (!minmax) {
		snprintf(k, sizeof(k), "%zu", nalt++);
		BSON_APPEND_DOCUMENT_BEGIN(&or, k, &alt);
		BSON_APPEND_DOCUMENT_BEGIN(&alt, "_id", &id);
		bson_append_value(&id, gt ? "$gt" : "$lte", -1, v);
		bson_append_document_end(&alt, &id);
		bson_append_document_end(&or, &alt);
	}
	snprintf(k, sizeof(k), "%zu", nalt++);
	BSON_APPEND_DOCUMENT_BEGIN(&or, k, &alt);
	BSON_APPEND_DOCUMENT_BEGIN(&alt, "_id", &id);
	for (i = 0; i < NTYPES; i++)
		if (!(c->refused & (1u << i)) && (gt ? type_ranks[i].rank > rank : type_ranks[i].rank < rank))
			ntypes++;
	/* no type beyond v: {$in: []} matches nothing */
	BSON_APPEND_ARRAY_BEGIN(&id, ntypes ? "$type" : "$in", &types);
	for (i = 0, ntypes = 0; i < NTYPES; i++) {
		if ((c->refused & (1u << i)) || !(gt ? type_ranks[i].rank > rank : type_ranks[i].rank < rank))
			continue;
		snprintf(k, sizeof(k), "%zu", ntypes++);
		BSON_APPEND_INT32(&types, k, type_code(type_ranks[i].type));
	}
	bson_append_array_end(&id, &types);
	bson_append_document_end(&alt, &id);
	bson_append_document_end(&or, &alt);
	bson_append_array_end(&item, &or);
	bson_append_document_end(arr, &item);
	return 0;
}

/* Appends the {"$expr": {"$and": [...]}} form (servers with $expr comparisons). */
static void append_expr(bson_t *filter, const bson_t *lo_lit, const bson_t *hi_lit)
{
	bson_t expr, and, item, args;
	int n = 0;

	BSON_APPEND_DOCUMENT_BEGIN(filter, "$expr", &expr);
	BSON_APPEND_ARRAY_BEGIN(&expr, "$and", &and);
	if (lo_lit) {
		BSON_APPEND_DOCUMENT_BEGIN(&and, "0", &item);
		n++;
		BSON_APPEND_ARRAY_BEGIN(&item, "$gt", &args);
		BSON_APPEND_UTF8(&args, "0", "$_id");
		BSON_APPEND_DOCUMENT(&args, "1", lo_lit);
		bson_append_array_end(&item, &args);
		bson_append_document_end(&and, &item);
	}
	if (hi_lit) {
		BSON_APPEND_DOCUMENT_BEGIN(&and, n ? "1" : "0", &item);
		BSON_APPEND_ARRAY_BEGIN(&item, "$lte", &args);
		BSON_APPEND_UTF8(&args, "0", "$_id");
		BSON_APPEND_DOCUMENT(&args, "1", hi_lit);
		bson_append_array_end(&item, &args);
		bson_append_document_end(&and, &item);
	}
	bson_append_array_end(&expr, &and);
	bson_append_document_end(filter, &expr);
}

int tl_mongo__append_id_range(bson_t *filter, const tl_conn *c, const tl_table *t, const char *lo, const char *hi,
			      tl_error *err)
{
	bson_t lo_lit = BSON_INITIALIZER, hi_lit = BSON_INITIALIZER, and;
	bson_iter_t it;
	int rc = 0;

	if (!lo && !hi)
		return 0;
	if (lo && (rc = tl_mongo__append_pos_value(&lo_lit, "$literal", lo, t, err)))
		goto cleanup;
	if (hi && (rc = tl_mongo__append_pos_value(&hi_lit, "$literal", hi, t, err)))
		goto cleanup;
	if (c->caps & TL_MONGO__EXPR) {
		append_expr(filter, lo ? &lo_lit : NULL, hi ? &hi_lit : NULL);
		goto cleanup;
	}
	BSON_APPEND_ARRAY_BEGIN(filter, "$and", &and);
	if (lo && bson_iter_init_find(&it, &lo_lit, "$literal") &&
	    (rc = append_bracketed(&and, "0", c, t, bson_iter_value(&it), 1, err)))
		goto cleanup_and;
	if (hi && bson_iter_init_find(&it, &hi_lit, "$literal") &&
	    (rc = append_bracketed(&and, lo ? "1" : "0", c, t, bson_iter_value(&it), 0, err)))
		goto cleanup_and;
cleanup_and:
	bson_append_array_end(filter, &and);
cleanup:
	bson_destroy(&lo_lit);
	bson_destroy(&hi_lit);
	return rc;
}

/* ---- documents the target cannot take ---------------------------------------------- */

/* Appends ".key" (or "key" at the top) to path; the path only serves the message, so a
 * path too long for its buffer is left as it is. */
static void path_push(tl_buf *path, const char *key)
{
	tl_error ignored = TL_ERROR_INIT;

	if (path->len && tl_buf_putc(path, '.', &ignored))
		return;
	if (tl_buf_puts(path, key, &ignored))
		return;
}

/* The first refused type in the rest of `it`, recursively, with its dotted path in
 * `path`; BSON_TYPE_EOD when there is none. */
static bson_type_t find_refused(const tl_conn *c, bson_iter_t *it, tl_buf *path)
{
	while (bson_iter_next(it)) {
		bson_type_t t = bson_iter_type(it), r;
		size_t mark = path->len;
		bson_iter_t sub;
		int i = type_index(t);

		if (i >= 0 && (c->refused & (1u << i))) {
			path_push(path, bson_iter_key(it));
			return t;
		}
		if ((t == BSON_TYPE_DOCUMENT || t == BSON_TYPE_ARRAY) && bson_iter_recurse(it, &sub)) {
			path_push(path, bson_iter_key(it));
			if ((r = find_refused(c, &sub, path)) != BSON_TYPE_EOD)
				return r;
			tl_buf_truncate(path, mark);
		}
	}
	return BSON_TYPE_EOD;
}

int tl_mongo__check_doc(const tl_conn *c, const tl_table *t, const bson_t *doc, tl_error *err)
{
	tl_buf path = TL_BUF_INIT;
	bson_iter_t it;
	bson_type_t bad;
	char *id = NULL;
	int rc = 0;

	if (!c->refused || !bson_iter_init(&it, doc))
		return 0;
	tl_buf_init(&path, 4096);
	bad = find_refused(c, &it, &path);
	if (bad == BSON_TYPE_EOD)
		goto cleanup;
	if (bson_iter_init_find(&it, doc, "_id")) {
		bson_t wrap = BSON_INITIALIZER;

		if (bson_append_value(&wrap, "_id", 3, bson_iter_value(&it)))
			id = bson_as_relaxed_extended_json(&wrap, NULL);
		bson_destroy(&wrap);
	}
	rc = tl_error_set(err, TL_ERR_UNSUPPORTED,
			  "mongo collection '%s.%s': the document %.200s holds a %s value (field '%.200s'), a type the "
			  "target server at %s does not take (it was probed at connect; docs/mongodb.md)",
			  t->schema, t->name, id ? id : "{?}", type_name(bad), tl_buf_cstr(&path), c->where);
cleanup:
	bson_free(id);
	tl_buf_release(&path);
	return rc;
}
