/*
 * store_int.h - private parts of the checkpoint store shared by src/store/store_*.c: the
 * handle layout, the prepared-statement cache and the helpers every statement goes
 * through. The store's logic is written once over the SQL layer of store_db.h (SQLite or
 * PostgreSQL); only src/store/ includes this header.
 */
#ifndef TL_STORE_INT_H
#define TL_STORE_INT_H

#include <stdint.h>
#include "store/store_db.h"
#include "tideline/store.h"

/* Cached statements; the SQL text of each is in store.c (stmt_sql). */
enum tl_store_stmt {
	ST_POS_UPDATE = 0,
	ST_POS_UPSERT,
	ST_SEQ_TAKE,
	ST_FIN_UPSERT,
	ST_LOOKUP_FIN,
	ST_LOOKUP_POS,
	ST_RATE_INSERT,
	ST_RATE_PRUNE,
	ST_TABLE_UPSERT,
	ST_TABLE_GET,
	ST_TABLE_FIN_ROWS,
	ST_TABLE_ROWS,
	ST_POS_STATS,
	ST_SOURCE_SEEN,
	ST_SOURCE_MARK,
	ST_LOCK_TRY,
	ST_LOCK_GET,
	ST_LOCK_PUT,
	ST_LOCK_DEL,
	ST_LOCK_BEAT,
	ST_ITEM_ORD,
	ST_ITEM_ADD,
	ST_CLAIM,
	ST_CLAIM_BUSY,
	ST_ITEM_GET,
	ST_CLAIM_KEY,
	ST_FENCE,
	ST_FENCE_WHO,
	ST_PROGRESS,
	ST_END,
	ST_WORKER_TRY,
	ST_WORKER_GET,
	ST_WORKER_PUT,
	ST_WORKER_BEAT,
	ST_WORKER_LEAVE,
	ST_COUNT
};

struct tl_store {
	const struct tl_sdb_ops *ops;
	tl_sdb *db;
	char *path;    /* as given: a file path or a postgres:// URL */
	char *display; /* for messages and tl_store_path: the URL without its password */
	unsigned flags;
	int in_tx; /* inside tl_store_begin .. commit/rollback */
	int own_tx; /* inside a transaction of tl_store__tx_enter / read_enter (owned) */
	tl_sdb_stmt *stmt[ST_COUNT];
	/* strings lent by tl_store_get_table until the next call */
	char *lent[4];
	/* the task lock this handle holds (its heartbeat rides on the writes), NULL if none */
	char *locked_task;
	double lock_beat; /* tl_store__now_unix() of the last heartbeat */
};

/* Whether the store is the PostgreSQL one (for the few statements whose SQL differs). */
#define TL_STORE_IS_PG(s) ((s)->ops == &tl_sdb_pg)

/* Returns the cached statement (prepared on first use), reset and unbound. */
int tl_store__stmt(tl_store *s, enum tl_store_stmt id, tl_sdb_stmt **out, tl_error *err);
/* Prepares a statement used once (finalize it with tl_store__finalize); pg_sql NULL: same SQL. */
int tl_store__prepare(tl_store *s, const char *sql, const char *pg_sql, tl_sdb_stmt **out, tl_error *err);
void tl_store__finalize(tl_store *s, tl_sdb_stmt *st);
/* Prefixes a failure of the SQL layer with "store 'PATH': what: "; returns err's code. */
int tl_store__fail(tl_store *s, const char *what, tl_error *err);
/* Runs SQL without parameters or results. */
int tl_store__exec(tl_store *s, const char *sql, tl_error *err);
/*
 * Implicit transactions for multi-statement writes: when not inside tl_store_begin,
 * tx_enter starts a write transaction and sets *owned; tx_leave commits it (rc == 0) or
 * rolls it back, and returns rc (or the commit's error).
 */
int tl_store__tx_enter(tl_store *s, int *owned, tl_error *err);
int tl_store__tx_leave(tl_store *s, int owned, int rc, tl_error *err);
/* The same for one consistent read (a snapshot) of several statements. */
int tl_store__read_enter(tl_store *s, int *owned, tl_error *err);
void tl_store__read_leave(tl_store *s, int owned);
/* Binds text (NULL binds SQL NULL); int64 < 0 binds NULL when neg_is_null. */
int tl_store__bind_text(tl_store *s, tl_sdb_stmt *st, int i, const char *v, tl_error *err);
int tl_store__bind_textn(tl_store *s, tl_sdb_stmt *st, int i, const char *v, size_t n, tl_error *err);
int tl_store__bind_i64(tl_store *s, tl_sdb_stmt *st, int i, int64_t v, int neg_is_null, tl_error *err);
int tl_store__bind_double(tl_store *s, tl_sdb_stmt *st, int i, double v, tl_error *err);
/* One step: 1 row, 0 done, < 0 error (message prefixed with what). */
int tl_store__step(tl_store *s, tl_sdb_stmt *st, const char *what, tl_error *err);
/* Runs a bound statement to completion and resets it; *changes (may be NULL) gets the rows changed. */
int tl_store__done(tl_store *s, tl_sdb_stmt *st, const char *what, int64_t *changes, tl_error *err);
/* Column readers of the current row. */
const char *tl_store__col_text(tl_store *s, tl_sdb_stmt *st, int col, size_t *len);
int tl_store__col_null(tl_store *s, tl_sdb_stmt *st, int col);
int64_t tl_store__col_i64(tl_store *s, tl_sdb_stmt *st, int col);
/* -1 for NULL */
int64_t tl_store__col_i64n(tl_store *s, tl_sdb_stmt *st, int col);
double tl_store__col_double(tl_store *s, tl_sdb_stmt *st, int col);
/* Column text as a heap copy (NULL for SQL NULL); *out untouched on failure. */
int tl_store__col_dup(tl_store *s, tl_sdb_stmt *st, int col, char **out, tl_error *err);
/*
 * The rows of a SELECT, one at a time: prepares sql (both backends' SQL), binds ?1..?ntexts
 * to texts (NULL binds SQL NULL) and calls row(s, st, ctx, err) on each row until it
 * returns non-zero (returned) or the rows end (0); `what` names the statement in a
 * failure's message. foreach does it in one read (tl_store__read_enter), each_row inside
 * whatever transaction the caller is in (none: the statement's own).
 */
typedef int (*tl_store__row_fn)(tl_store *s, tl_sdb_stmt *st, void *ctx, tl_error *err);
int tl_store__foreach(tl_store *s, const char *sql, const char *what, const char *const *texts, size_t ntexts,
		      tl_store__row_fn row, void *ctx, tl_error *err);
int tl_store__each_row(tl_store *s, const char *sql, const char *what, const char *const *texts, size_t ntexts,
		       tl_store__row_fn row, void *ctx, tl_error *err);
/* Adds a rate sample (now, rows) for a table and prunes its samples older than 10 minutes. */
int tl_store__rate_sample(tl_store *s, const char *task_id, const char *schema, const char *tb, int64_t rows,
			  tl_error *err);
/* Refreshes the held task lock's heartbeat when it is older than a few seconds (inside a write). */
int tl_store__lock_beat(tl_store *s, tl_error *err);
/* Current time as seconds since the epoch (with fraction). */
double tl_store__now_unix(void);
/* This host's name ("?" when unknown). */
void tl_store__host(char out[256]);
/* Whether a process of this host is alive (one we may not signal is). */
int tl_store__pid_alive(long pid);
/*
 * Whether the holder of a lock or a worker name is gone (store_task.c): on this host, its
 * pid is not running or started after `since` (seconds since the epoch, < 0 unknown: a
 * reused pid); on another host, its heartbeat (beat_age seconds old, < 0 never) is older
 * than lease. *why says how it is known.
 */
int tl_store__holder_gone(long pid, const char *host, double since, double beat_age, double lease, char *why,
			  size_t whysz);

#endif
