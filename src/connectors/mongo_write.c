/*
 * mongo_write.c - MongoDB connector: batch writes and ape-dts' database store (§4).
 *
 * A batch is one unordered bulk write (replaces: one per 100 documents, REPLACE_CHUNK):
 * every document is a replace_one by its _id with upsert, so re-copying after a crash is
 * idempotent and the documents land byte for byte (into a collection that was empty when
 * the table started, plain inserts are sent, which the server takes about twice as fast; a
 * duplicate key there falls back to replaces) (client-side validation is off: what the
 * source server accepted, the target gets).
 * Writes are acknowledged (w:1, or the URL's write concern; journaled too for a batch a
 * position will point at, TL_WRITE_DURABLE); a failure carries the server's code (11000
 * ...) and its classification (a transient one may have written part of the batch). A
 * document holding a BSON type the target refused at connect (mongo_caps.c: FerretDB 1.x
 * takes no Decimal128, MinKey, MaxKey, JavaScript …) fails the batch before it is sent,
 * naming the document, instead of the server dropping the connection.
 *
 * The store is the collection <schema>.<table> (table_full_name) with the unique index
 * uk_task_id_task_type_position_key on {task_id, resumer_type, position_key}; documents
 * are {task_id, resumer_type, position_key, position_data (string), created_at,
 * updated_at}. put is update_one(upsert) with $set / $setOnInsert as ape-dts does. Must
 * not touch any other collection.
 *
 * delete_after removes the documents whose _id sorts after a position (all of them for
 * NULL), with the reader's own $expr comparison: before resuming a collection this task
 * started into an empty target, so the rest can go in as plain inserts again.
 */
#include <string.h>
#include "mongo_int.h"

#define STORE_INDEX "uk_task_id_task_type_position_key"

/*
 * The write concern of a batch: the URL's (w=majority, journal=true, ...) or w:1; a
 * durable batch (TL_WRITE_DURABLE) is also journaled (j:true), acknowledged at least by
 * the primary (w:0 cannot be journaled).
 */
static mongoc_write_concern_t *write_concern(const tl_conn *target, unsigned flags)
{
	mongoc_write_concern_t *wc = target->wc ? mongoc_write_concern_copy(target->wc) : mongoc_write_concern_new();

	if (!target->wc)
		mongoc_write_concern_set_w(wc, 1);
	if (flags & TL_WRITE_DURABLE) {
		if (mongoc_write_concern_get_w(wc) == MONGOC_WRITE_CONCERN_W_UNACKNOWLEDGED)
			mongoc_write_concern_set_w(wc, 1);
		mongoc_write_concern_set_journal(wc, true);
	}
	return wc;
}

/*
 * Replaces go to the server in bulks of at most this many: FerretDB 1.24 (SQLite) never
 * answers an `update` command that replaces more than 100 stored documents and keeps that
 * database locked until it restarts (tests/contract, contract_write_target_empty_bulk;
 * docs/mongodb.md). Inserts go in one bulk (the client library splits it as the server's
 * limits say).
 */
#define REPLACE_CHUNK 100

static int bulk_write(tl_conn *target, const tl_table *src, const tl_batch *b, int replace, unsigned flags,
		      tl_error *err)
{
	mongoc_collection_t *coll = NULL;
	mongoc_bulk_operation_t *bulk = NULL;
	mongoc_write_concern_t *wc = NULL;
	bson_t bopts = BSON_INITIALIZER, ropts = BSON_INITIALIZER, iopts = BSON_INITIALIZER, reply = BSON_INITIALIZER;
	bson_error_t e;
	size_t row, first, end;
	int rc = 0;

	if (b->nrows == 0)
		goto cleanup;
	coll = tl_mongo__collection(target, src->schema, src->name);
	wc = write_concern(target, flags);
	BSON_APPEND_BOOL(&bopts, "ordered", false);
	if (!mongoc_write_concern_append(wc, &bopts)) {
		rc = tl_error_set(err, TL_ERR_INTERNAL, "cannot set the write concern");
		goto cleanup;
	}
	BSON_APPEND_BOOL(&ropts, "upsert", true);
	BSON_APPEND_BOOL(&ropts, "validate", false);
	BSON_APPEND_BOOL(&iopts, "validate", false);
	for (first = 0; first < b->nrows; first = end) {
		end = replace && b->nrows - first > REPLACE_CHUNK ? first + REPLACE_CHUNK : b->nrows;
		bulk = mongoc_collection_create_bulk_operation_with_opts(coll, &bopts);
		for (row = first; row < end; row++) {
			bson_t doc, sel = BSON_INITIALIZER;
			bson_iter_t it;
			const char *cell;
			size_t len = 0;
			bool ok;

			cell = tl_batch_cell(b, row, 0, &len);
			if (!cell || !bson_init_static(&doc, (const uint8_t *)cell, len)) {
				rc = tl_error_set(err, TL_ERR_MISMATCH,
						  "mongo collection '%s.%s': row %zu is not a BSON document", src->schema,
						  src->name, row);
				goto cleanup;
			}
			if (!bson_iter_init_find(&it, &doc, "_id")) {
				rc = tl_error_set(err, TL_ERR_MISMATCH, "mongo collection '%s.%s': document without _id",
						  src->schema, src->name);
				goto cleanup;
			}
			if ((rc = tl_mongo__check_doc(target, src, &doc, err)))
				goto cleanup;
			if (replace)
				ok = bson_append_value(&sel, "_id", 3, bson_iter_value(&it)) &&
				     mongoc_bulk_operation_replace_one_with_opts(bulk, &sel, &doc, &ropts, &e);
			else
				ok = mongoc_bulk_operation_insert_with_opts(bulk, &doc, &iopts, &e);
			bson_destroy(&sel);
			if (!ok) {
				rc = tl_mongo__error(err, &e, "cannot queue a document for mongo collection '%s.%s'", src->schema,
						     src->name);
				goto cleanup;
			}
		}
		bson_destroy(&reply);
		if (!mongoc_bulk_operation_execute(bulk, &reply, &e)) {
			rc = tl_mongo__error_reply(err, &e, &reply,
						   "cannot write %zu documents to mongo collection '%s.%s' at %s", b->nrows,
						   src->schema, src->name, target->where);
			/* an unordered bulk write stops anywhere: some documents may be written */
			if (err && (err->flags & TL_ERRF_TRANSIENT))
				err->flags |= TL_ERRF_COMMIT_UNKNOWN;
			goto cleanup;
		}
		mongoc_bulk_operation_destroy(bulk);
		bulk = NULL;
	}
cleanup:
	bson_destroy(&reply);
	mongoc_bulk_operation_destroy(bulk);
	mongoc_write_concern_destroy(wc);
	mongoc_collection_destroy(coll);
	bson_destroy(&bopts);
	bson_destroy(&ropts);
	bson_destroy(&iopts);
	return rc;
}

int tl_mongo__write_batch(tl_conn *target, const tl_table *src, const tl_batch *b, unsigned flags, tl_error *err)
{
	int rc;

	if ((rc = tl_mongo__claims_renew(target, err)))
		return rc;
	if (!(flags & TL_WRITE_TARGET_EMPTY))
		return bulk_write(target, src, b, 1, flags, err);
	rc = bulk_write(target, src, b, 0, flags, err);
	if (rc && err && err->native == 11000)
		rc = bulk_write(target, src, b, 1, flags, err); /* someone else's documents: replace by _id */
	return rc;
}

int tl_mongo__delete_after(tl_conn *target, const tl_table *src, const char *after, int nulls, tl_error *err)
{
	mongoc_collection_t *coll = NULL;
	bson_t filter = BSON_INITIALIZER, reply = BSON_INITIALIZER;
	bson_error_t e;
	int rc;

	if (nulls != TL_DELETE_AFTER)
		return tl_error_set(err, TL_ERR_UNSUPPORTED, "documents have no NULL keys to delete");
	if ((rc = tl_mongo__append_id_range(&filter, target, src, after, NULL, err)))
		goto cleanup;
	coll = tl_mongo__collection(target, src->schema, src->name);
	if (!mongoc_collection_delete_many(coll, &filter, NULL, &reply, &e))
		rc = tl_mongo__error(err, &e, "cannot delete from mongo collection '%s.%s' at %s", src->schema, src->name,
				     target->where);
cleanup:
	mongoc_collection_destroy(coll);
	bson_destroy(&filter);
	bson_destroy(&reply);
	return rc;
}

int tl_mongo__ape_store_init(tl_conn *c, const char *schema, const char *table, tl_error *err)
{
	mongoc_database_t *db = mongoc_client_get_database(c->client, schema);
	bson_t cmd = BSON_INITIALIZER, reply, indexes, index, key;
	bson_error_t e;
	int rc = 0;

	BSON_APPEND_UTF8(&cmd, "createIndexes", table);
	BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &indexes);
	BSON_APPEND_DOCUMENT_BEGIN(&indexes, "0", &index);
	BSON_APPEND_DOCUMENT_BEGIN(&index, "key", &key);
	BSON_APPEND_INT32(&key, "task_id", 1);
	BSON_APPEND_INT32(&key, "resumer_type", 1);
	BSON_APPEND_INT32(&key, "position_key", 1);
	bson_append_document_end(&index, &key);
	BSON_APPEND_UTF8(&index, "name", STORE_INDEX);
	BSON_APPEND_BOOL(&index, "unique", true);
	bson_append_document_end(&indexes, &index);
	bson_append_array_end(&cmd, &indexes);
	if (!mongoc_database_write_command_with_opts(db, &cmd, NULL, &reply, &e))
		rc = tl_mongo__error(err, &e, "cannot create the ape-dts store '%s.%s' at %s", schema, table, c->where);
	bson_destroy(&reply);
	bson_destroy(&cmd);
	mongoc_database_destroy(db);
	return rc;
}

/* The UTF-8 string field `key` of doc, or NULL when absent/null/not a string. */
static const char *str_field(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
		return bson_iter_utf8(&it, NULL);
	return NULL;
}

int tl_mongo__ape_store_load(tl_conn *c, const char *schema, const char *table, const char *task_id,
			     tl_ape_row_fn fn, void *ctx, tl_error *err)
{
	mongoc_collection_t *coll = tl_mongo__collection(c, schema, table);
	mongoc_cursor_t *cur = NULL;
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort;
	const bson_t *doc;
	bson_error_t e;
	int rc = 0;

	BSON_APPEND_UTF8(&filter, "task_id", task_id);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "_id", 1);
	bson_append_document_end(&opts, &sort);
	cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
	while (mongoc_cursor_next(cur, &doc)) {
		tl_ape_row row;

		row.resumer_type = str_field(doc, "resumer_type");
		row.position_key = str_field(doc, "position_key");
		row.position_data = str_field(doc, "position_data");
		if (!row.resumer_type || !row.position_key)
			continue; /* not a store record ape-dts could have written */
		if ((rc = fn(ctx, &row, err)))
			goto cleanup;
	}
	if (mongoc_cursor_error(cur, &e))
		rc = tl_mongo__error(err, &e, "cannot read the ape-dts store '%s.%s' at %s", schema, table, c->where);
cleanup:
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return rc;
}

int tl_mongo__ape_store_put(tl_conn *c, const char *schema, const char *table, const char *task_id,
			    const tl_ape_row *row, tl_error *err)
{
	mongoc_collection_t *coll = tl_mongo__collection(c, schema, table);
	bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, opts = BSON_INITIALIZER, reply, set, ins;
	bson_error_t e;
	int64_t now = tl_mongo__now_ms();
	int rc = 0;

	BSON_APPEND_UTF8(&sel, "task_id", task_id);
	BSON_APPEND_UTF8(&sel, "resumer_type", row->resumer_type);
	BSON_APPEND_UTF8(&sel, "position_key", row->position_key);
	BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
	if (row->position_data)
		BSON_APPEND_UTF8(&set, "position_data", row->position_data);
	else
		BSON_APPEND_NULL(&set, "position_data");
	BSON_APPEND_DATE_TIME(&set, "updated_at", now);
	bson_append_document_end(&upd, &set);
	BSON_APPEND_DOCUMENT_BEGIN(&upd, "$setOnInsert", &ins);
	BSON_APPEND_DATE_TIME(&ins, "created_at", now);
	bson_append_document_end(&upd, &ins);
	BSON_APPEND_BOOL(&opts, "upsert", true);
	if (!mongoc_collection_update_one(coll, &sel, &upd, &opts, &reply, &e))
		rc = tl_mongo__error(err, &e, "cannot write '%s' '%s' to the ape-dts store '%s.%s' at %s",
				     row->resumer_type, row->position_key, schema, table, c->where);
	bson_destroy(&reply);
	bson_destroy(&sel);
	bson_destroy(&upd);
	bson_destroy(&opts);
	mongoc_collection_destroy(coll);
	return rc;
}

int tl_mongo__ape_store_forget(tl_conn *c, const char *schema, const char *table, const char *task_id,
			       tl_error *err)
{
	mongoc_collection_t *coll = tl_mongo__collection(c, schema, table);
	bson_t sel = BSON_INITIALIZER, reply;
	bson_error_t e;
	int rc = 0;

	BSON_APPEND_UTF8(&sel, "task_id", task_id);
	if (!mongoc_collection_delete_many(coll, &sel, NULL, &reply, &e))
		rc = tl_mongo__error(err, &e, "cannot clear task '%s' from the ape-dts store '%s.%s' at %s", task_id,
				     schema, table, c->where);
	bson_destroy(&reply);
	bson_destroy(&sel);
	mongoc_collection_destroy(coll);
	return rc;
}
