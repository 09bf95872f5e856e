/*
 * fixture_mongo.c - the contract suite's fixture for MongoDB: the servers of
 * TL_MONGO_SRC_URL / TL_MONGO_DST_URL (the Mongo test server, or FerretDB when run as
 * contract.mongo.ferretdb through tests/_ferretdb.sh), collections made and read back
 * with libmongoc directly (never through tideline's driver). A test table is a
 * collection: its one key column is _id, the other columns are fields (int: Int64, text:
 * string, bin: binary subtype 0, NULL: null). Tables without exactly one key column, or
 * with unique keys, are TL_ERR_UNSUPPORTED (documents have one key, _id).
 */
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "contract/contract.h"
#include "tl_test.h"

struct fx {
	mongoc_client_t *c[2];
	const char *url[2];
};

static int fail(enum ct_side side, const bson_error_t *e, const char *what, const char *schema, const char *name,
		tl_error *err)
{
	return tl_error_set(err, TL_ERR_DB, "%s %s.%s on the %s: %s (%u)", what, schema, name ? name : "",
			    side ? "target" : "source", e->message, e->code);
}

static void fx_close(void *p)
{
	struct fx *f = p;

	if (!f)
		return;
	if (f->c[0])
		mongoc_client_destroy(f->c[0]);
	if (f->c[1])
		mongoc_client_destroy(f->c[1]);
	free(f);
}

static int fx_open(void **out, tl_error *err)
{
	struct fx *f = calloc(1, sizeof(*f));
	int i;

	*out = NULL;
	if (!f)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	f->url[0] = tl_test_require_env("TL_MONGO_SRC_URL");
	f->url[1] = f->url[0] ? tl_test_require_env("TL_MONGO_DST_URL") : NULL;
	if (!f->url[0] || !f->url[1]) {
		free(f);
		return 1;
	}
	mongoc_init();
	for (i = 0; i < 2; i++)
		if (!(f->c[i] = mongoc_client_new(f->url[i]))) {
			int rc = tl_error_set(err, TL_ERR_CONFIG, "cannot make a client for %s", f->url[i]);
			fx_close(f);
			return rc;
		}
	*out = f;
	return 0;
}

static const char *fx_url(void *p, enum ct_side side)
{
	return ((struct fx *)p)->url[side];
}

static int fx_drop_schema(void *p, enum ct_side side, const char *schema, tl_error *err)
{
	mongoc_database_t *db = mongoc_client_get_database(((struct fx *)p)->c[side], schema);
	bson_error_t e;
	int rc = 0;

	if (!mongoc_database_drop(db, &e))
		rc = fail(side, &e, "drop database", schema, NULL, err);
	mongoc_database_destroy(db);
	return rc;
}

static int fx_drop(void *p, enum ct_side side, const char *schema, const char *name, tl_error *err)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(((struct fx *)p)->c[side], schema, name);
	bson_error_t e;
	int rc = 0;

	/* 26: NamespaceNotFound, nothing to drop */
	if (!mongoc_collection_drop(coll, &e) && e.code != 26 && !strstr(e.message, "ns not found"))
		rc = fail(side, &e, "drop collection", schema, name, err);
	mongoc_collection_destroy(coll);
	return rc;
}

static int fx_create(void *p, enum ct_side side, const ct_table *t, tl_error *err)
{
	mongoc_database_t *db;
	mongoc_collection_t *coll;
	bson_error_t e;
	int rc;

	if (t->pk.n != 1 || t->nuniq)
		return tl_error_set(err, TL_ERR_UNSUPPORTED, "a collection has one key, _id (no composite, unique or "
							     "missing keys)");
	if ((rc = fx_drop(p, side, t->schema, t->name, err)))
		return rc;
	db = mongoc_client_get_database(((struct fx *)p)->c[side], t->schema);
	coll = mongoc_database_create_collection(db, t->name, NULL, &e);
	rc = coll ? 0 : fail(side, &e, "create collection", t->schema, t->name, err);
	if (coll)
		mongoc_collection_destroy(coll);
	mongoc_database_destroy(db);
	return rc;
}

static int append(bson_t *d, const char *field, enum ct_type type, const char *v, tl_error *err)
{
	tl_buf raw = TL_BUF_INIT;
	int ok;

	if (!v)
		return BSON_APPEND_NULL(d, field) ? 0 : tl_error_set(err, TL_ERR_NOMEM, "document too big");
	if (type == CT_INT)
		return BSON_APPEND_INT64(d, field, strtoll(v, NULL, 10)) ? 0
									 : tl_error_set(err, TL_ERR_NOMEM, "document too big");
	if (type == CT_TEXT)
		return BSON_APPEND_UTF8(d, field, v) ? 0 : tl_error_set(err, TL_ERR_NOMEM, "document too big");
	if (tl_hex_decode(v, &raw, err))
		return TL_ERR_PARSE;
	ok = BSON_APPEND_BINARY(d, field, BSON_SUBTYPE_BINARY, (const uint8_t *)(raw.data ? raw.data : ""),
				(uint32_t)raw.len);
	tl_buf_release(&raw);
	return ok ? 0 : tl_error_set(err, TL_ERR_NOMEM, "document too big");
}

static int fx_insert(void *p, enum ct_side side, const ct_table *t, const char *const *cells, size_t n, tl_error *err)
{
	enum { CHUNK = 500 };
	mongoc_collection_t *coll = mongoc_client_get_collection(((struct fx *)p)->c[side], t->schema, t->name);
	bson_t *docs[CHUNK];
	bson_error_t e;
	size_t r, i, k, m = 0;
	int rc = 0;

	for (r = 0; !rc && r < n; r++) {
		bson_t *d = docs[m++] = bson_new();
		const char *const *row = cells + r * t->ncols;
		rc = append(d, "_id", t->cols[t->pk.col[0]].type, row[t->pk.col[0]], err);
		for (i = 0; !rc && i < t->ncols; i++)
			if (i != t->pk.col[0])
				rc = append(d, t->cols[i].name, t->cols[i].type, row[i], err);
		if (!rc && (m == CHUNK || r == n - 1) &&
		    !mongoc_collection_insert_many(coll, (const bson_t **)docs, m, NULL, NULL, &e))
			rc = fail(side, &e, "insert into", t->schema, t->name, err);
		if (rc || m == CHUNK || r == n - 1) {
			for (k = 0; k < m; k++)
				bson_destroy(docs[k]);
			m = 0;
		}
	}
	for (k = 0; k < m; k++)
		bson_destroy(docs[k]);
	mongoc_collection_destroy(coll);
	return rc;
}

/* A field's value in the ct_type text form: *out NULL for null or absent. */
static int cell(bson_iter_t *it, int found, tl_buf *b, const char **out, tl_error *err)
{
	const uint8_t *bin;
	uint32_t len;
	bson_subtype_t sub;

	*out = NULL;
	tl_buf_reset(b);
	if (!found || BSON_ITER_HOLDS_NULL(it))
		return 0;
	if (BSON_ITER_HOLDS_INT64(it) || BSON_ITER_HOLDS_INT32(it)) {
		if (tl_buf_printf(b, err, "%lld", (long long)bson_iter_as_int64(it)))
			return TL_ERR_NOMEM;
	} else if (BSON_ITER_HOLDS_UTF8(it)) {
		const char *s = bson_iter_utf8(it, &len);
		if (tl_buf_put(b, s, len, err))
			return TL_ERR_NOMEM;
	} else if (BSON_ITER_HOLDS_BINARY(it)) {
		bson_iter_binary(it, &sub, &len, &bin);
		if (tl_buf_put_hex(b, bin, len, err))
			return TL_ERR_NOMEM;
	} else {
		return tl_error_set(err, TL_ERR_MISMATCH, "field '%s' has BSON type 0x%02x", bson_iter_key(it),
				    (unsigned)bson_iter_type(it));
	}
	*out = tl_buf_cstr(b);
	return 0;
}

static int fx_fetch(void *p, enum ct_side side, const ct_table *t, ct_rows *out, tl_error *err)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(((struct fx *)p)->c[side], t->schema, t->name);
	bson_t filter = BSON_INITIALIZER;
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
	const bson_t *doc;
	tl_buf vals[CT_MAX_COLS];
	bson_error_t e;
	size_t i;
	int rc = 0;

	for (i = 0; i < CT_MAX_COLS; i++)
		tl_buf_init(&vals[i], 0);
	while (!rc && mongoc_cursor_next(cur, &doc)) {
		const char *cells[CT_MAX_COLS];
		for (i = 0; !rc && i < t->ncols; i++) {
			bson_iter_t it;
			int found = bson_iter_init_find(&it, doc, i == t->pk.col[0] ? "_id" : t->cols[i].name);
			rc = cell(&it, found, &vals[i], &cells[i], err);
		}
		rc = rc ? rc : ct_rows_add(out, cells, err);
	}
	if (!rc && mongoc_cursor_error(cur, &e))
		rc = fail(side, &e, "find in", t->schema, t->name, err);
	for (i = 0; i < CT_MAX_COLS; i++)
		tl_buf_release(&vals[i]);
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	mongoc_collection_destroy(coll);
	return rc;
}

const struct ct_fixture ct_fixture = {
	.kind = "mongo",
	.registry = NULL,
	.checks_credentials = 1,
	.hostile_schema = "tl_ct_hostile-db",
	.hostile_table = "coll.with dots*'`; --",
	/* no '"': FerretDB 1.24 (SQLite) refuses a document with such a field name ("SQL logic
	 * error: malformed JSON", docs/mongodb.md); field names are inside the documents, which
	 * the driver passes through, so the names that matter here are database and collection */
	.hostile_column = "we'ird f`ield",
	.open = fx_open,
	.close = fx_close,
	.url = fx_url,
	.drop_schema = fx_drop_schema,
	.create = fx_create,
	.drop = fx_drop,
	.insert = fx_insert,
	.fetch = fx_fetch,
};
