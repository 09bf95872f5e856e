/*
 * store_db.h - the checkpoint store's small dialect-neutral SQL layer: one connection
 * (tl_sdb) and its prepared statements (tl_sdb_stmt) behind a table of functions, with
 * an SQLite implementation (db_sqlite.c) and a PostgreSQL one (db_pg.c). The store's
 * logic (store*.c) is written once over it; only the few statements whose SQL differs
 * between the dialects carry a second text. Only src/store/ includes this header.
 *
 * SQL given to prepare uses numbered placeholders ?1, ?2, ... (SQLite's form); the
 * PostgreSQL side rewrites them to $1, $2, ... outside quoted text. Values are always
 * bound, never formatted into SQL. Every call that can fail sets err with the server's
 * own message only (no store name): the store prefixes "store 'PATH': what: ".
 */
#ifndef TL_STORE_DB_H
#define TL_STORE_DB_H

#include <stddef.h>
#include <stdint.h>
#include "store/schema_steps.h"
#include "tideline/error.h"

typedef struct tl_sdb tl_sdb;           /* a connection (backend-private layout) */
typedef struct tl_sdb_stmt tl_sdb_stmt; /* a prepared statement of one connection */

enum tl_sdb_type { TL_SDB_NULL = 0, TL_SDB_INT, TL_SDB_REAL, TL_SDB_TEXT };

enum tl_sdb_tx {
	TL_SDB_TX_WRITE, /* SQLite BEGIN IMMEDIATE; PostgreSQL BEGIN (read committed) */
	TL_SDB_TX_READ   /* one consistent snapshot: SQLite BEGIN; PostgreSQL REPEATABLE READ READ ONLY */
};

enum tl_sdb_open_flags {
	TL_SDB_READONLY = 1u << 0, /* never write (status, verify) */
	TL_SDB_NOCREATE = 1u << 1  /* the store must exist: TL_ERR_NOTFOUND otherwise */
};

struct tl_sdb_ops {
	const char *dialect; /* "sqlite" or "pg" */
	/* DDL steps of this dialect (schema/ or schema/pg/); the same number for both */
	const struct tl_store_step *steps;
	/*
	 * Opens a connection to `where` (a file path or a URL); `display` names it in
	 * messages (the URL without its password). A store that is not there yet (a new file,
	 * a missing schema) is TL_ERR_NOTFOUND with TL_SDB_READONLY / TL_SDB_NOCREATE, else
	 * created by the first write transaction. *out is the caller's (close).
	 */
	int (*open)(const char *where, const char *display, unsigned flags, tl_sdb **out, tl_error *err);
	void (*close)(tl_sdb *db);
	/* The store's schema version (0: none yet) and setting it (inside a write transaction). */
	int (*get_version)(tl_sdb *db, int *out, tl_error *err);
	int (*set_version)(tl_sdb *db, int version, tl_error *err);
	/*
	 * Serialises schema upgrades between processes for the rest of the current write
	 * transaction (SQLite: BEGIN IMMEDIATE already does; PostgreSQL: an advisory lock).
	 */
	int (*lock_schema)(tl_sdb *db, tl_error *err);
	/* Runs SQL without parameters or results; several statements allowed. */
	int (*exec)(tl_sdb *db, const char *sql, tl_error *err);
	/* cached: kept for the connection's life (server-side prepared statement). */
	int (*prepare)(tl_sdb *db, const char *sql, int cached, tl_sdb_stmt **out, tl_error *err);
	void (*finalize)(tl_sdb_stmt *st);
	/*
	 * Parameters are 1-based. Bound text must stay valid until the statement has been
	 * stepped to its end or reset (SQLite reads it in place; PostgreSQL copies it).
	 */
	int (*bind_text)(tl_sdb_stmt *st, int i, const char *v, size_t n, tl_error *err);
	int (*bind_i64)(tl_sdb_stmt *st, int i, int64_t v, tl_error *err);
	int (*bind_double)(tl_sdb_stmt *st, int i, double v, tl_error *err);
	int (*bind_null)(tl_sdb_stmt *st, int i, tl_error *err);
	/* 1: a row is available, 0: done, < 0: error. */
	int (*step)(tl_sdb_stmt *st, tl_error *err);
	/* Ends the current execution and clears the bindings. */
	void (*reset)(tl_sdb_stmt *st);
	/* Number of result columns (after a step). */
	int (*col_count)(tl_sdb_stmt *st);
	/* Columns of the current row (0-based); text lent until the next step/reset. */
	enum tl_sdb_type (*col_type)(tl_sdb_stmt *st, int col);
	const char *(*col_text)(tl_sdb_stmt *st, int col, size_t *len);
	int64_t (*col_i64)(tl_sdb_stmt *st, int col);
	double (*col_double)(tl_sdb_stmt *st, int col);
	/* Rows changed by the last completed write statement. */
	int64_t (*changes)(tl_sdb_stmt *st);
	int (*begin)(tl_sdb *db, enum tl_sdb_tx kind, tl_error *err);
	int (*commit)(tl_sdb *db, tl_error *err);
	void (*rollback)(tl_sdb *db);
	/* Whether a transaction is open on the connection (also after a failed statement). */
	int (*in_tx)(tl_sdb *db);
	/*
	 * Whether the connection can no longer be used safely (SQLite: its -shm mapping
	 * faulted, see db_sqlite.c); the store then refuses every further call. May be NULL.
	 */
	int (*broken)(tl_sdb *db, tl_error *err);
	/*
	 * May be NULL (SQLite: a file is not lost). lost: whether the connection to the
	 * server is gone (its errors carry TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST).
	 * reconnect: one attempt to open it again with the same settings (prepared statements
	 * are prepared again at their next use); a failure is TL_ERR_STORE, transient.
	 */
	int (*lost)(tl_sdb *db);
	int (*reconnect)(tl_sdb *db, tl_error *err);
};

extern const struct tl_sdb_ops tl_sdb_sqlite;
extern const struct tl_sdb_ops tl_sdb_pg;

/* The SQLite / PostgreSQL DDL steps (generated from schema/ and schema/pg/). */
extern const struct tl_store_step tl_schema_steps_pg[];
extern const int tl_schema_nsteps_pg;

#endif
