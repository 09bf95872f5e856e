/*
 * mongo_int.h - internals shared by the MongoDB connector files (src/connectors/mongo*.c).
 *
 * The connector is split by concern: mongo_conn.c (library init, connecting, errors,
 * listing and describing collections, target checks), mongo_caps.c (what the server can
 * do, probed at connect, and the _id range filters and document checks that depend on
 * it), mongo_read.c (streaming reads, _id positions, checksums), mongo_write.c (bulk
 * upserts and the ape-dts store), mongo_claim.c (target checks and claims) and mongo.c
 * (the ops table). Only these files include <mongoc/mongoc.h> / <bson/bson.h>;
 * nothing outside src/connectors/mongo*.c may include this header.
 *
 * Table model: a described collection has ONE data column, "_doc" (TL_COL_DOCUMENT):
 * each batch row is one cell holding a whole raw BSON document, copied byte for byte.
 * The order key is the explicit key column keys[0], "_id", which is not a data column:
 * key_idx[0] == part_idx == TL_NO_COL (driver.h), and the table's impl owns the column.
 * row_key reads the _id out of the document itself, whatever idx says.
 */
#ifndef TL_MONGO_INT_H
#define TL_MONGO_INT_H

#include <mongoc/mongoc.h>
#include "tideline/driver.h"

/* tl_conn.caps: what tl_mongo__probe found the server can do. */
enum tl_mongo_caps {
	TL_MONGO__EXPR = 1u << 0, /* {$expr: {$gt: ["$_id", …]}} is evaluated (MongoDB; not FerretDB 1.x) */
};

/* A collection this connection claimed (mongo_claim.c). */
struct tl_mongo_claim {
	char *db;
	char *coll;
};

struct tl_conn {
	mongoc_client_t *client;
	char *where;                 /* "host:port" for messages */
	mongoc_write_concern_t *wc;  /* the URL's write concern, NULL when it sets none (w:1 then) */
	unsigned caps;               /* enum tl_mongo_caps, set at connect */
	uint32_t refused;            /* BSON types the server cannot take (bits private to mongo_caps.c) */
	struct tl_mongo_claim *claims; /* leases held (mongo_claim.c) */
	size_t nclaims;
	char token[25];              /* this connection's lease token (an ObjectId), "" until a claim */
	int64_t renewed_ms;          /* when the leases were last renewed */
};

/* Calls mongoc_init exactly once per process (pthread_once); the only global state. */
void tl_mongo__init_once(void);

/*
 * Error classification (enum tl_error_flags) of a libmongoc error: network (stream) and
 * server selection errors, shutdown (91, 11600) are TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST;
 * the retryable server codes (NotWritablePrimary 10107, PrimarySteppedDown 189,
 * HostUnreachable 6, HostNotFound 7, NetworkTimeout 89, SocketException 9001, CursorNotFound
 * 43: the reader is reopened after the last committed _id, WriteConflict 112, ...) and a
 * RetryableWriteError / TransientTransactionError label TL_ERRF_TRANSIENT; a TLS
 * verification failure and everything else 0. Pure.
 */
unsigned tl_mongo__classify(uint32_t domain, uint32_t code, const char *message, int retryable_label);

/*
 * Sets err from a libmongoc error: code TL_ERR_DB, native = e->code, message
 * "<formatted what>: <mongoc message>", classified (reply, when given, for its error
 * labels). Returns TL_ERR_DB.
 */
int tl_mongo__error(tl_error *err, const bson_error_t *e, const char *fmt, ...) TL_PRINTF(3, 4);
int tl_mongo__error_reply(tl_error *err, const bson_error_t *e, const bson_t *reply, const char *fmt, ...)
	TL_PRINTF(4, 5);

/* A collection handle (caller destroys); db/coll are the raw names. */
mongoc_collection_t *tl_mongo__collection(tl_conn *c, const char *db, const char *coll);

/*
 * Converts a tagged position value (§2.5) to a BSON value appended to `dst` under `key`.
 * A value that cannot be parsed is TL_ERR_MISMATCH naming the collection and the value.
 */
int tl_mongo__append_pos_value(bson_t *dst, const char *key, const char *tagged, const tl_table *t,
			       tl_error *err) TL_MUST_CHECK;

/* Current time as BSON datetime milliseconds. */
int64_t tl_mongo__now_ms(void);

/* mongo_caps.c */
/* Probes what the server behind c (reached through uri, whose database is used when it
 * names one) can do: sets c->caps and c->refused. Read-only; fails (TL_ERR_DB) only when
 * the server cannot be reached. */
int tl_mongo__probe(tl_conn *c, const mongoc_uri_t *uri, tl_error *err) TL_MUST_CHECK;
/* Appends to filter the condition "_id after position lo (exclusive) and up to hi
 * (inclusive)" in BSON's cross-type order, in the form the server of c evaluates; nothing
 * when both are NULL. TL_ERR_MISMATCH for a position that cannot be parsed,
 * TL_ERR_UNSUPPORTED for one of a type the server refuses. */
int tl_mongo__append_id_range(bson_t *filter, const tl_conn *c, const tl_table *t, const char *lo, const char *hi,
			      tl_error *err) TL_MUST_CHECK;
/* 0 when c's server takes every type in doc; else TL_ERR_UNSUPPORTED naming the
 * collection, the document's _id, the field and the type. Free when nothing is refused. */
int tl_mongo__check_doc(const tl_conn *c, const tl_table *t, const bson_t *doc, tl_error *err) TL_MUST_CHECK;
/* The number of documents of db.coll from the server's statistics, -1 when unknown. */
int64_t tl_mongo__estimate(tl_conn *c, const char *db, const char *coll);

/* mongo_conn.c */
int tl_mongo__connect(const tl_endpoint *ep, tl_conn **out, tl_error *err);
void tl_mongo__disconnect(tl_conn *c);
int tl_mongo__list_tables(tl_conn *c, tl_name_list *out, tl_error *err);
int tl_mongo__describe(tl_conn *c, const char *schema, const char *name, tl_table **out, tl_error *err);
int tl_mongo__describe_many(tl_conn *c, const tl_name *names, size_t n, tl_table **out, tl_error *err);
void tl_mongo__free_table(tl_table *t);
int tl_mongo__count_rows(tl_conn *c, const tl_table *t, int64_t *out, tl_error *err);
int tl_mongo__check_target(tl_conn *target, const tl_table *src, int *is_empty, tl_error *err);
int tl_mongo__live_rows_many(tl_conn *c, const tl_name *names, size_t n, int64_t *out, tl_error *err);
/* A renamed collection (the router); its one column and _id key as src's (mongo_conn.c). */
int tl_mongo__project(const tl_table *src, const char *schema, const char *name, const size_t *cols,
		      const char *const *names, size_t n, tl_table **out, tl_error *err);

/* mongo_route.c */
int tl_mongo__server_id(tl_conn *c, char **out, tl_error *err);
const char *tl_mongo__value_type(const tl_table *t, size_t col);
int tl_mongo__doc_diff(const tl_table *t, const char *a, size_t alen, const char *b, size_t blen, tl_value_diff_fn fn,
		       void *ctx, tl_error *err);

/* mongo_read.c */
int tl_mongo__open_reader(tl_conn *c, const tl_table *t, const tl_read_spec *spec, tl_reader **out, tl_error *err);
int tl_mongo__read_batch(tl_reader *r, tl_batch *b, tl_error *err);
void tl_mongo__close_reader(tl_reader *r);
int tl_mongo__row_key(const tl_table *t, const tl_batch *b, size_t row, const size_t *idx, size_t n,
		      tl_keyvals *out, tl_error *err);
int tl_mongo__checksum(tl_conn *c, const tl_table *t, const char *lo, const char *hi, int64_t *rows,
		       uint64_t *sum, tl_error *err);

/* mongo_claim.c */
int tl_mongo__key_exists(tl_conn *c, const tl_table *src, const tl_keyvals *key, int *exists, tl_error *err);
int tl_mongo__claim(tl_conn *c, const tl_table *src, const char *owner, tl_error *err);
int tl_mongo__release(tl_conn *c, const tl_table *src, tl_error *err);
int tl_mongo__flush_commits(tl_conn *c, const tl_table *src, tl_error *err);
/* Renews this connection's leases when a quarter lease has passed (write_batch calls it);
 * TL_ERR_LOCKED when one was taken over. */
int tl_mongo__claims_renew(tl_conn *c, tl_error *err) TL_MUST_CHECK;
/* Deletes every lease of this connection, best effort (disconnect). */
void tl_mongo__claims_drop(tl_conn *c);

/* mongo_write.c */
int tl_mongo__delete_after(tl_conn *target, const tl_table *src, const char *after, int nulls, tl_error *err);
int tl_mongo__write_batch(tl_conn *target, const tl_table *src, const tl_batch *b, unsigned flags, tl_error *err);
int tl_mongo__ape_store_init(tl_conn *c, const char *schema, const char *table, tl_error *err);
int tl_mongo__ape_store_load(tl_conn *c, const char *schema, const char *table, const char *task_id,
			     tl_ape_row_fn fn, void *ctx, tl_error *err);
int tl_mongo__ape_store_put(tl_conn *c, const char *schema, const char *table, const char *task_id,
			    const tl_ape_row *row, tl_error *err);
int tl_mongo__ape_store_forget(tl_conn *c, const char *schema, const char *table, const char *task_id,
			       tl_error *err);

#endif
