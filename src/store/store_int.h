/*
 * store_int.h - private parts of the checkpoint store shared by src/store/store_*.c:
 * the handle layout, the prepared-statement cache and small helpers. Only src/store/
 * includes this header (and sqlite3.h).
 */
#ifndef TL_STORE_INT_H
#define TL_STORE_INT_H

#include <sqlite3.h>
#include <stdint.h>
#include "tideline/store.h"

/* Cached statements; the SQL text of each is in store.c (stmt_sql). */
enum tl_store_stmt {
	ST_POS_UPSERT = 0,
	ST_SEQ_TAKE,
	ST_FIN_UPSERT,
	ST_LOOKUP_FIN,
	ST_LOOKUP_POS,
	ST_RATE_INSERT,
	ST_RATE_PRUNE,
	ST_RATE_FIRST,
	ST_RATE_LAST,
	ST_TABLE_UPSERT,
	ST_TABLE_GET,
	ST_TABLE_FIN_ROWS,
	ST_TABLE_ROWS,
	ST_SOURCE_SEEN,
	ST_SOURCE_MARK,
	ST_LOCK_GET,
	ST_LOCK_PUT,
	ST_LOCK_DEL,
	ST_COUNT
};

struct tl_store {
	sqlite3 *db;
	char *path;
	unsigned flags;
	int in_tx;                 /* inside tl_store_begin .. commit/rollback */
	sqlite3_stmt *stmt[ST_COUNT];
	/* strings lent by tl_store_get_table until the next call */
	char *lent[4];
};

/* Returns the cached statement (prepared on first use), reset and unbound. */
int tl_store__stmt(tl_store *s, enum tl_store_stmt id, sqlite3_stmt **out, tl_error *err);
/* Sets a TL_ERR_STORE error "store 'PATH': what: sqlite message". */
int tl_store__fail(tl_store *s, const char *what, tl_error *err);
/* Runs SQL without results. */
int tl_store__exec(tl_store *s, const char *sql, tl_error *err);
/*
 * Implicit transactions for multi-statement writes: when not inside tl_store_begin,
 * tx_enter starts BEGIN IMMEDIATE and sets *owned; tx_leave commits it (rc == 0) or
 * rolls it back, and returns rc (or the commit's error).
 */
int tl_store__tx_enter(tl_store *s, int *owned, tl_error *err);
int tl_store__tx_leave(tl_store *s, int owned, int rc, tl_error *err);
/* Binds text (NULL binds SQL NULL); int64 < 0 binds NULL when neg_is_null. */
int tl_store__bind_text(tl_store *s, sqlite3_stmt *st, int i, const char *v, tl_error *err);
int tl_store__bind_i64(tl_store *s, sqlite3_stmt *st, int i, int64_t v, int neg_is_null, tl_error *err);
/* Column text as a heap copy (NULL for SQL NULL); *out untouched on failure. */
int tl_store__col_dup(sqlite3_stmt *st, int col, char **out, tl_error *err);
/* Adds a rate sample (now, rows) for a table and prunes its samples older than 10 minutes. */
int tl_store__rate_sample(tl_store *s, const char *task_id, const char *schema, const char *tb, int64_t rows,
			  tl_error *err);
/* Current time as seconds since the epoch (with fraction). */
double tl_store__now_unix(void);

#endif
