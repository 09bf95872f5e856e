/*
 * store.c - the checkpoint store's handle: opening (WAL, pragmas), schema migration by
 * PRAGMA user_version, transactions, the prepared-statement cache and error helpers.
 * Records live in store_records.c, per-task bookkeeping (tables, rates, sources, locks)
 * in store_task.c. This directory is the only code that includes sqlite3.h.
 *
 * Opening works like this: the file must exist for READONLY/NOCREATE; the first read
 * (PRAGMA user_version) tells a non-SQLite file apart (SQLITE_NOTADB); a version newer
 * than tl_schema_nsteps is refused; an older one is upgraded step by step inside one
 * BEGIN IMMEDIATE transaction (re-reading the version there, so two processes opening
 * a fresh store at once apply each step once). A read-only handle never migrates.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "store/schema_steps.h"
#include "store/store_int.h"
#include "tideline/buf.h"

#define TL_STORE_BUSY_MS 5000

/* SQL of the cached statements, indexed by enum tl_store_stmt. */
static const char *const stmt_sql[ST_COUNT] = {
	[ST_POS_UPSERT] =
		"INSERT INTO position (task_id, db_type, schema, tb, kind, key_form, order_key, key_cols,"
		" key_vals, json, source, line, rows_copied, updated_at, seq)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
		" ON CONFLICT (task_id, schema, tb, kind) DO UPDATE SET"
		" db_type = excluded.db_type, key_form = excluded.key_form, order_key = excluded.order_key,"
		" key_cols = excluded.key_cols, key_vals = excluded.key_vals, json = excluded.json,"
		" source = excluded.source, line = excluded.line,"
		" rows_copied = COALESCE(excluded.rows_copied, rows_copied), updated_at = excluded.updated_at",
	/* reserves ?2 seq values for a task; returns the last one reserved */
	[ST_SEQ_TAKE] = "INSERT INTO task_seq (task_id, last_seq) VALUES (?1, ?2) ON CONFLICT (task_id)"
			" DO UPDATE SET last_seq = last_seq + excluded.last_seq RETURNING last_seq",
	[ST_FIN_UPSERT] =
		"INSERT INTO finished (task_id, db_type, schema, tb, json, finished_at, source, line,"
		" rows_copied, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
		" ON CONFLICT (task_id, schema, tb) DO UPDATE SET"
		" db_type = excluded.db_type, json = excluded.json, finished_at = excluded.finished_at,"
		" source = excluded.source, line = excluded.line,"
		" rows_copied = COALESCE(excluded.rows_copied, rows_copied)",
	[ST_LOOKUP_FIN] =
		"SELECT 'finished', json, source, line, finished_at, rows_copied FROM finished"
		" WHERE task_id = ?1 AND schema = ?2 AND tb = ?3",
	/* 'current' sorts after 'checkpoint': DESC puts current first */
	[ST_LOOKUP_POS] =
		"SELECT kind, json, source, line, updated_at, rows_copied FROM position"
		" WHERE task_id = ?1 AND schema = ?2 AND tb = ?3 AND (?4 = 0 OR kind = 'checkpoint')"
		" ORDER BY kind DESC LIMIT 1",
	[ST_RATE_INSERT] = "INSERT OR REPLACE INTO rate_sample (task_id, schema, tb, at_unix, rows_copied)"
			   " VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_RATE_PRUNE] = "DELETE FROM rate_sample WHERE task_id = ?1 AND schema = ?2 AND tb = ?3 AND at_unix < ?4",
	[ST_RATE_FIRST] = "SELECT at_unix, rows_copied FROM rate_sample WHERE task_id = ?1 AND schema = ?2"
			  " AND tb = ?3 AND at_unix >= ?4 ORDER BY at_unix LIMIT 1",
	[ST_RATE_LAST] = "SELECT at_unix, rows_copied FROM rate_sample WHERE task_id = ?1 AND schema = ?2"
			 " AND tb = ?3 AND at_unix >= ?4 ORDER BY at_unix DESC LIMIT 1",
	/*
	 * target_empty_at_start can change only until the table has been started (a resumed
	 * run sees a non-empty target but the table was still started into an empty one).
	 */
	[ST_TABLE_UPSERT] =
		"INSERT INTO task_table (task_id, schema, tb, est_rows, rows_copied, target_empty_at_start,"
		" mode, state, started_at, updated_at, finished_at, target_rows_at_finish)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, COALESCE(?8, 'pending'),"
		" CASE WHEN ?8 IN ('running', 'finished') THEN ?9 END, ?9,"
		" CASE WHEN ?8 = 'finished' THEN ?9 END, ?10)"
		" ON CONFLICT (task_id, schema, tb) DO UPDATE SET"
		" est_rows = COALESCE(excluded.est_rows, est_rows),"
		" rows_copied = COALESCE(excluded.rows_copied, rows_copied),"
		" target_empty_at_start = CASE WHEN started_at IS NULL THEN excluded.target_empty_at_start"
		" ELSE target_empty_at_start END,"
		" mode = COALESCE(excluded.mode, mode),"
		" state = COALESCE(?8, state),"
		" started_at = COALESCE(started_at, excluded.started_at),"
		" updated_at = excluded.updated_at,"
		" finished_at = CASE WHEN COALESCE(?8, state) = 'finished' THEN COALESCE(finished_at, ?9) END,"
		" target_rows_at_finish = COALESCE(excluded.target_rows_at_finish, target_rows_at_finish)",
	[ST_TABLE_GET] =
		"SELECT schema, tb, est_rows, rows_copied, target_empty_at_start, mode, state,"
		" target_rows_at_finish FROM task_table WHERE task_id = ?1 AND schema = ?2 AND tb = ?3",
	[ST_TABLE_ROWS] = "UPDATE task_table SET rows_copied = ?4, updated_at = ?5"
			  " WHERE task_id = ?1 AND schema = ?2 AND tb = ?3",
	[ST_TABLE_FIN_ROWS] = "UPDATE finished SET target_rows = ?4 WHERE task_id = ?1 AND schema = ?2 AND tb = ?3",
	[ST_SOURCE_SEEN] = "SELECT 1 FROM import_source WHERE task_id = ?1 AND path = ?2 AND size = ?3 AND hash = ?4",
	[ST_SOURCE_MARK] =
		"INSERT INTO import_source (task_id, path, size, hash, imported_at) VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (task_id, path) DO UPDATE SET size = excluded.size, hash = excluded.hash,"
		" imported_at = excluded.imported_at",
	[ST_LOCK_GET] = "SELECT pid, host, started_at FROM task_lock WHERE task_id = ?1",
	[ST_LOCK_PUT] = "INSERT OR REPLACE INTO task_lock (task_id, pid, host, started_at) VALUES (?1, ?2, ?3, ?4)",
	[ST_LOCK_DEL] = "DELETE FROM task_lock WHERE task_id = ?1 AND pid = ?2 AND host = ?3",
};

int tl_store_schema_version(void)
{
	return tl_schema_nsteps;
}

const char *tl_store_path(const tl_store *s)
{
	return s ? s->path : NULL;
}

int tl_store__fail(tl_store *s, const char *what, tl_error *err)
{
	int code = sqlite3_extended_errcode(s->db);

	if ((code & 0xff) == SQLITE_NOTADB)
		return tl_error_set(err, TL_ERR_STORE, "store '%s' is not an SQLite database (%s)", s->path,
				    sqlite3_errmsg(s->db));
	return tl_error_set(err, TL_ERR_STORE, "store '%s': %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

int tl_store__exec(tl_store *s, const char *sql, tl_error *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_NOTADB)
			rc = tl_error_set(err, TL_ERR_STORE, "store '%s' is not an SQLite database (%s)", s->path,
					  msg ? msg : sqlite3_errstr(rc));
		else
			rc = tl_error_set(err, TL_ERR_STORE, "store '%s': %.60s: %s", s->path, sql,
					  msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

int tl_store__stmt(tl_store *s, enum tl_store_stmt id, sqlite3_stmt **out, tl_error *err)
{
	sqlite3_stmt *st = s->stmt[id];

	if (!st) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
			return tl_store__fail(s, "preparing a statement", err);
		s->stmt[id] = st;
	} else {
		/* reset's return repeats the last step's error, which was already reported */
		(void)sqlite3_reset(st);
		if (sqlite3_clear_bindings(st) != SQLITE_OK)
			return tl_store__fail(s, "clearing bindings", err);
	}
	*out = st;
	return 0;
}

int tl_store__bind_text(tl_store *s, sqlite3_stmt *st, int i, const char *v, tl_error *err)
{
	int rc = v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);

	return rc == SQLITE_OK ? 0 : tl_store__fail(s, "binding a parameter", err);
}

int tl_store__bind_i64(tl_store *s, sqlite3_stmt *st, int i, int64_t v, int neg_is_null, tl_error *err)
{
	int rc = (neg_is_null && v < 0) ? sqlite3_bind_null(st, i) : sqlite3_bind_int64(st, i, (sqlite3_int64)v);

	return rc == SQLITE_OK ? 0 : tl_store__fail(s, "binding a parameter", err);
}

int tl_store__col_dup(sqlite3_stmt *st, int col, char **out, tl_error *err)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	char *p;

	if (!t) {
		*out = NULL;
		return 0;
	}
	p = tl_strndup((const char *)t, (size_t)sqlite3_column_bytes(st, col));
	if (!p)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading the store");
	*out = p;
	return 0;
}

double tl_store__now_unix(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return (double)time(NULL);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int tl_store__tx_enter(tl_store *s, int *owned, tl_error *err)
{
	int rc;

	*owned = 0;
	if (s->in_tx)
		return 0;
	rc = tl_store__exec(s, "BEGIN IMMEDIATE", err);
	if (rc == 0)
		*owned = 1;
	return rc;
}

int tl_store__tx_leave(tl_store *s, int owned, int rc, tl_error *err)
{
	if (!owned)
		return rc;
	if (rc == 0) {
		rc = tl_store__exec(s, "COMMIT", err);
		if (rc == 0)
			return 0;
	}
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int tl_store_begin(tl_store *s, tl_error *err)
{
	int rc;

	if (s->in_tx)
		return tl_error_set(err, TL_ERR_INTERNAL, "store '%s': a transaction is already open", s->path);
	rc = tl_store__exec(s, "BEGIN IMMEDIATE", err);
	if (rc == 0)
		s->in_tx = 1;
	return rc;
}

int tl_store_commit(tl_store *s, tl_error *err)
{
	int rc;

	if (!s->in_tx)
		return tl_error_set(err, TL_ERR_INTERNAL, "store '%s': commit without a transaction", s->path);
	rc = tl_store__exec(s, "COMMIT", err);
	if (rc != 0 && !sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = 0;
	return rc;
}

void tl_store_rollback(tl_store *s)
{
	if (!s)
		return;
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = 0;
}

static int read_user_version(tl_store *s, int *out, tl_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, step;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
		rc = tl_store__fail(s, "reading the schema version", err);
		goto cleanup;
	}
	step = sqlite3_step(st);
	if (step != SQLITE_ROW) {
		rc = tl_store__fail(s, "reading the schema version", err);
		goto cleanup;
	}
	*out = sqlite3_column_int(st, 0);
cleanup:
	sqlite3_finalize(st);
	return rc;
}

static int too_new(tl_store *s, int version, tl_error *err)
{
	return tl_error_set(err, TL_ERR_STORE, "store '%s' has schema version %d, this tideline knows up to %d",
			    s->path, version, tl_schema_nsteps);
}

/* Applies the missing schema steps in one transaction. */
static int migrate(tl_store *s, tl_error *err)
{
	char pragma[64];
	int version = 0, rc, i, owned = 0;

	rc = read_user_version(s, &version, err);
	if (rc)
		return rc;
	if (version > tl_schema_nsteps)
		return too_new(s, version, err);
	if (version == tl_schema_nsteps)
		return 0;
	rc = tl_store__tx_enter(s, &owned, err);
	if (rc)
		return rc;
	rc = read_user_version(s, &version, err);
	if (rc)
		goto cleanup;
	if (version > tl_schema_nsteps) {
		rc = too_new(s, version, err);
		goto cleanup;
	}
	for (i = version; i < tl_schema_nsteps; i++) {
		char *msg = NULL;

		if (sqlite3_exec(s->db, tl_schema_steps[i].sql, NULL, NULL, &msg) != SQLITE_OK) {
			rc = tl_error_set(err, TL_ERR_STORE, "store '%s': applying schema step %s: %s", s->path,
					  tl_schema_steps[i].name, msg ? msg : sqlite3_errmsg(s->db));
			sqlite3_free(msg);
			goto cleanup;
		}
		/* PRAGMA takes no parameters; the value is an int we format ourselves */
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", i + 1);
		rc = tl_store__exec(s, pragma, err);
		if (rc)
			goto cleanup;
	}
cleanup:
	return tl_store__tx_leave(s, owned, rc, err);
}

/* Runs a PRAGMA that returns one row (journal_mode) or none. */
static int pragma(tl_store *s, const char *sql, tl_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, step;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = tl_store__fail(s, sql, err);
		goto cleanup;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (step != SQLITE_DONE)
		rc = tl_store__fail(s, sql, err);
cleanup:
	sqlite3_finalize(st);
	return rc;
}

int tl_store_open(tl_store **out, const char *path, unsigned flags, tl_error *err)
{
	tl_store *s = NULL;
	struct stat sb;
	int rc = 0, oflags, version = 0;

	*out = NULL;
	if (!path || !*path)
		return tl_error_set(err, TL_ERR_CONFIG, "no store path given");
	if (stat(path, &sb) != 0) {
		if (errno != ENOENT)
			return tl_error_set(err, TL_ERR_IO, "store '%s': %s", path, strerror(errno));
		if (flags & (TL_STORE_READONLY | TL_STORE_NOCREATE))
			return tl_error_set(err, TL_ERR_NOTFOUND, "store '%s' does not exist", path);
	} else if (S_ISDIR(sb.st_mode)) {
		return tl_error_set(err, TL_ERR_STORE, "store '%s' is a directory, not an SQLite file", path);
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory opening store '%s'", path);
	s->flags = flags;
	s->path = tl_strdup(path);
	if (!s->path) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory opening store '%s'", path);
		goto cleanup;
	}
	oflags = (flags & TL_STORE_READONLY) ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if (sqlite3_open_v2(path, &s->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		if (!s->db) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory opening store '%s'", path);
			goto cleanup;
		}
		rc = tl_store__fail(s, "cannot open", err);
		goto cleanup;
	}
	if (sqlite3_extended_result_codes(s->db, 1) != SQLITE_OK ||
	    sqlite3_busy_timeout(s->db, TL_STORE_BUSY_MS) != SQLITE_OK) {
		rc = tl_store__fail(s, "configuring the connection", err);
		goto cleanup;
	}
	/* the first read tells a non-SQLite file apart */
	rc = read_user_version(s, &version, err);
	if (rc)
		goto cleanup;
	if (version > tl_schema_nsteps) {
		rc = too_new(s, version, err);
		goto cleanup;
	}
	if (flags & TL_STORE_READONLY) {
		if (version < tl_schema_nsteps) {
			rc = tl_error_set(err, TL_ERR_STORE,
					  version == 0 ? "store '%s' is not a tideline store (schema version %d)"
						       : "store '%s' has the old schema version %d; open it once with "
							 "a writing command to upgrade",
					  path, version);
			goto cleanup;
		}
		rc = pragma(s, "PRAGMA query_only = ON", err);
		if (rc)
			goto cleanup;
	} else {
		/* only takes effect on a new file: larger pages suit the wide WITHOUT ROWID rows */
		rc = pragma(s, "PRAGMA page_size = 8192", err);
		if (!rc)
			rc = pragma(s, "PRAGMA journal_mode = WAL", err);
		if (!rc)
			rc = pragma(s, "PRAGMA synchronous = NORMAL", err);
		if (rc)
			goto cleanup;
	}
	rc = pragma(s, "PRAGMA foreign_keys = OFF", err);
	if (!rc)
		rc = pragma(s, "PRAGMA cache_size = -16384", err);
	if (rc)
		goto cleanup;
	if (!(flags & TL_STORE_READONLY)) {
		rc = migrate(s, err);
		if (rc)
			goto cleanup;
	}
	*out = s;
	s = NULL;
cleanup:
	tl_store_close(s);
	return rc;
}

void tl_store_close(tl_store *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	if (s->db) {
		if (!sqlite3_get_autocommit(s->db))
			(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		/* every statement is finalized above, so close cannot be busy */
		(void)sqlite3_close(s->db);
	}
	for (i = 0; i < sizeof(s->lent) / sizeof(s->lent[0]); i++)
		free(s->lent[i]);
	free(s->path);
	free(s);
}
