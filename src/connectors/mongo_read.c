/*
 * mongo_read.c - MongoDB connector: streaming reads, _id positions and checksums.
 *
 * A read is one find cursor per collection (docs/ape-dts-resume.md §3.4, MongoDB paragraph):
 * KEYED sorts by {_id: 1} and, when resuming, filters with
 * {"$expr": {"$gt": ["$_id", {"$literal": <last _id>}]}}. $expr/$gt compares with BSON
 * cross-type ordering (MinKey < numbers < strings < objects < arrays < binary < ObjectId
 * < bool < date < timestamp < regex < MaxKey), so mixed _id types resume correctly.
 * ape-dts writes the bare value instead of {$literal: v}; the literal wrapper only keeps a
 * string _id starting with '$' (or an object _id with $-keys) from being read as an
 * expression, and compares the same otherwise. On a server without $expr comparisons
 * (FerretDB 1.x, probed at connect) the same range is written with type-bracketed query
 * operators instead (mongo_caps.c). SCAN is the same without the sort; RANGE
 * and NULL passes do not exist for documents (TL_ERR_UNSUPPORTED).
 *
 * Cells are the raw BSON documents, copied byte for byte. Positions are the tagged JSON of
 * §2.5, converted to and from canonical extended JSON by src/core/position.c.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "tideline/position.h"
#include "mongo_int.h"

struct tl_reader {
	tl_conn *c;
	const tl_table *t;
	mongoc_collection_t *coll;
	mongoc_cursor_t *cur;
	size_t batch_rows;
	int done; /* the cursor is exhausted: libmongoc refuses to advance it again */
};

int tl_mongo__append_pos_value(bson_t *dst, const char *key, const char *tagged, const tl_table *t, tl_error *err)
{
	tl_buf ext = TL_BUF_INIT;
	tl_error perr = TL_ERROR_INIT;
	bson_t *wrap = NULL;
	bson_error_t e;
	bson_iter_t it;
	int rc = 0;

	tl_buf_init(&ext, 1u << 20);
	if ((rc = tl_buf_puts(&ext, "{\"v\":", err)))
		goto cleanup;
	if (tl_pos_mongo_id_to_extjson(tagged, &ext, &perr)) {
		rc = tl_error_set(err, TL_ERR_MISMATCH,
				  "mongo collection '%s.%s' column '_id': cannot resume after '%.200s': %s", t->schema,
				  t->name, tagged, perr.message);
		goto cleanup;
	}
	if ((rc = tl_buf_putc(&ext, '}', err)))
		goto cleanup;
	wrap = bson_new_from_json((const uint8_t *)ext.data, (ssize_t)ext.len, &e);
	if (!wrap) {
		rc = tl_error_set(err, TL_ERR_MISMATCH,
				  "mongo collection '%s.%s' column '_id': cannot resume after '%.200s': %s", t->schema,
				  t->name, tagged, e.message);
		goto cleanup;
	}
	if (!bson_iter_init_find(&it, wrap, "v") || !bson_append_value(dst, key, -1, bson_iter_value(&it)))
		rc = tl_error_set(err, TL_ERR_INTERNAL, "cannot build the resume filter of '%s.%s'", t->schema, t->name);
cleanup:
	if (wrap)
		bson_destroy(wrap);
	tl_buf_release(&ext);
	return rc;
}

/* Builds the find filter: optional user condition (extended JSON) AND optional _id range. */
static int build_filter(bson_t *filter, const tl_conn *c, const tl_table *t, const char *where, const char *lo,
			const char *hi, tl_error *err)
{
	bson_t *user = NULL;
	bson_t range = BSON_INITIALIZER, and;
	bson_error_t e;
	int rc = 0;

	if ((rc = tl_mongo__append_id_range(&range, c, t, lo, hi, err)))
		goto cleanup;
	if (where && *where) {
		user = bson_new_from_json((const uint8_t *)where, -1, &e);
		if (!user) {
			rc = tl_error_set(err, TL_ERR_CONFIG, "where condition for '%s.%s' is not a JSON filter: %s",
					  t->schema, t->name, e.message);
			goto cleanup;
		}
	}
	if (!user || bson_empty(user)) {
		bson_concat(filter, &range);
	} else if (bson_empty(&range)) {
		bson_concat(filter, user);
	} else {
		BSON_APPEND_ARRAY_BEGIN(filter, "$and", &and);
		BSON_APPEND_DOCUMENT(&and, "0", user);
		BSON_APPEND_DOCUMENT(&and, "1", &range);
		bson_append_array_end(filter, &and);
	}
cleanup:
	if (user)
		bson_destroy(user);
	bson_destroy(&range);
	return rc;
}

int tl_mongo__open_reader(tl_conn *c, const tl_table *t, const tl_read_spec *spec, tl_reader **out, tl_error *err)
{
	tl_reader *r = NULL;
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort;
	const char *after = NULL;
	int rc = 0;

	*out = NULL;
	if (spec->mode != TL_READ_KEYED && spec->mode != TL_READ_SCAN && spec->mode != TL_READ_RANGE) {
		rc = tl_error_set(err, TL_ERR_UNSUPPORTED,
				  "mongo collection '%s.%s': only reads ordered by _id are supported "
				  "(no NULL passes for documents)",
				  t->schema, t->name);
		goto cleanup;
	}
	if (spec->mode == TL_READ_KEYED && spec->after && spec->after->n > 0)
		after = spec->after->vals[0]; /* NULL (JSON null) means from the start (§2.5) */
	/* RANGE: _id in (lo, hi], the ranges verify and check tasks compare */
	if ((rc = build_filter(&filter, c, t, spec->where, spec->mode == TL_READ_RANGE ? spec->lo : after,
			       spec->mode == TL_READ_RANGE ? spec->hi : NULL, err)))
		goto cleanup;
	if (spec->mode != TL_READ_SCAN) {
		BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
		BSON_APPEND_INT32(&sort, "_id", 1);
		bson_append_document_end(&opts, &sort);
	}
	if (spec->batch_rows > 0)
		BSON_APPEND_INT32(&opts, "batchSize", spec->batch_rows > INT32_MAX ? INT32_MAX : (int32_t)spec->batch_rows);
	r = calloc(1, sizeof(*r));
	if (!r) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory opening a reader on '%s.%s'", t->schema, t->name);
		goto cleanup;
	}
	r->c = c;
	r->t = t;
	r->batch_rows = spec->batch_rows;
	r->coll = tl_mongo__collection(c, t->schema, t->name);
	r->cur = mongoc_collection_find_with_opts(r->coll, &filter, &opts, NULL);
	*out = r;
	r = NULL;
cleanup:
	tl_mongo__close_reader(r);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return rc;
}

int tl_mongo__read_batch(tl_reader *r, tl_batch *b, tl_error *err)
{
	const bson_t *doc;
	bson_error_t e;
	bson_iter_t it;
	size_t n = 0;
	int rc;

	while (!r->done && (r->batch_rows == 0 || n < r->batch_rows) && !tl_batch_full(b)) {
		if (!mongoc_cursor_next(r->cur, &doc)) {
			if (mongoc_cursor_error(r->cur, &e))
				return tl_mongo__error(err, &e, "cannot read mongo collection '%s.%s' at %s", r->t->schema,
						       r->t->name, r->c->where);
			r->done = 1;
			break;
		}
		if (!bson_iter_init_find(&it, doc, "_id"))
			return tl_error_set(err, TL_ERR_MISMATCH, "mongo collection '%s.%s' holds a document without _id",
					    r->t->schema, r->t->name);
		if ((rc = tl_batch_push(b, bson_get_data(doc), doc->len, 0, err)) || (rc = tl_batch_end_row(b, err))) {
			tl_batch_abort_row(b);
			return rc;
		}
		n++;
	}
	return 0;
}

void tl_mongo__close_reader(tl_reader *r)
{
	if (!r)
		return;
	mongoc_cursor_destroy(r->cur);
	mongoc_collection_destroy(r->coll);
	free(r);
}

/* Appends the canonical extended JSON of the _id value of a raw document to out. */
static int id_extjson(const tl_table *t, const char *data, size_t len, tl_buf *out, tl_error *err)
{
	static const char prefix[] = "{ \"v\" : ";
	static const char suffix[] = " }";
	bson_t doc, wrap = BSON_INITIALIZER;
	bson_iter_t it;
	char *json = NULL;
	size_t jlen = 0, pl = sizeof(prefix) - 1, sl = sizeof(suffix) - 1;
	int rc = 0;

	if (!bson_init_static(&doc, (const uint8_t *)data, len)) {
		rc = tl_error_set(err, TL_ERR_MISMATCH, "mongo collection '%s.%s': invalid BSON document", t->schema,
				  t->name);
		goto cleanup;
	}
	if (!bson_iter_init_find(&it, &doc, "_id")) {
		rc = tl_error_set(err, TL_ERR_MISMATCH, "mongo collection '%s.%s' holds a document without _id",
				  t->schema, t->name);
		goto cleanup;
	}
	if (!bson_append_value(&wrap, "v", 1, bson_iter_value(&it)) ||
	    !(json = bson_as_canonical_extended_json(&wrap, &jlen))) {
		rc = tl_error_set(err, TL_ERR_MISMATCH, "mongo collection '%s.%s': cannot render an _id as JSON",
				  t->schema, t->name);
		goto cleanup;
	}
	/* libbson renders {"v": x} as `{ "v" : <x> }`; keep <x>. */
	if (jlen < pl + sl || memcmp(json, prefix, pl) != 0 || memcmp(json + jlen - sl, suffix, sl) != 0) {
		rc = tl_error_set(err, TL_ERR_INTERNAL, "unexpected extended JSON layout from libbson: %.100s", json);
		goto cleanup;
	}
	rc = tl_buf_put(out, json + pl, jlen - pl - sl, err);
cleanup:
	bson_free(json);
	bson_destroy(&wrap);
	return rc;
}

int tl_mongo__row_key(const tl_table *t, const tl_batch *b, size_t row, const size_t *idx, size_t n,
		      tl_keyvals *out, tl_error *err)
{
	tl_buf ext = TL_BUF_INIT, tagged = TL_BUF_INIT;
	const char *cell, *col = "_id", *val;
	size_t len = 0;
	int rc;

	(void)idx;
	(void)n;
	tl_buf_init(&ext, 1u << 24);
	tl_buf_init(&tagged, 1u << 24);
	cell = tl_batch_cell(b, row, 0, &len);
	if (!cell) {
		rc = tl_error_set(err, TL_ERR_MISMATCH, "mongo collection '%s.%s': empty document cell", t->schema,
				  t->name);
		goto cleanup;
	}
	if ((rc = id_extjson(t, cell, len, &ext, err)))
		goto cleanup;
	if ((rc = tl_pos_mongo_id_from_extjson(tl_buf_cstr(&ext), &tagged, err)))
		goto cleanup;
	val = tl_buf_cstr(&tagged);
	rc = tl_keyvals_set(out, 1, &col, &val, err);
cleanup:
	tl_buf_release(&ext);
	tl_buf_release(&tagged);
	return rc;
}

/* FNV-1a, 64 bit, continued over every document's bytes (documents carry their length). */
static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

int tl_mongo__checksum(tl_conn *c, const tl_table *t, const char *lo, const char *hi, int64_t *rows,
		       uint64_t *sum, tl_error *err)
{
	mongoc_collection_t *coll = NULL;
	mongoc_cursor_t *cur = NULL;
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort;
	const bson_t *doc;
	bson_error_t e;
	uint64_t h = 0xcbf29ce484222325ull;
	int64_t n = 0;
	int rc;

	if ((rc = build_filter(&filter, c, t, NULL, lo, hi, err)))
		goto cleanup;
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "_id", 1);
	bson_append_document_end(&opts, &sort);
	BSON_APPEND_INT32(&opts, "batchSize", 10000);
	coll = tl_mongo__collection(c, t->schema, t->name);
	cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
	while (mongoc_cursor_next(cur, &doc)) {
		h = fnv1a(h, bson_get_data(doc), doc->len);
		n++;
	}
	if (mongoc_cursor_error(cur, &e)) {
		rc = tl_mongo__error(err, &e, "cannot checksum mongo collection '%s.%s' at %s", t->schema, t->name,
				     c->where);
		goto cleanup;
	}
	*rows = n;
	*sum = h;
cleanup:
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return rc;
}
