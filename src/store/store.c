/*
 * store.c - the checkpoint store's handle: choosing the backend from the path (a file:
 * SQLite; postgres:// or postgresql://: PostgreSQL), schema migration, transactions, the
 * prepared-statement cache and the helpers every statement of store_*.c goes through.
 * Records live in store_records.c, per-task bookkeeping (tables, rates, sources, locks)
 * in store_task.c, plan's bulk read in store_snapshot.c. No code here knows a dialect
 * beyond the few statements that carry a PostgreSQL text of their own.
 *
 * Opening works like this: the backend connects (db_sqlite.c: the file must exist for
 * READONLY/NOCREATE, its first read tells a non-SQLite file apart; db_pg.c: the schema
 * must exist for them); a schema version newer than the binary's steps is refused; an
 * older one is upgraded step by step inside one write transaction that first takes the
 * backend's schema lock and re-reads the version there, so two processes opening a fresh
 * store at once apply each step once. A read-only handle never migrates.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "store/store_int.h"
#include "tideline/buf.h"
#include "tideline/driver.h"

/* SQL of a cached statement: the common text and, where PostgreSQL needs another, that. */
struct stmt_text {
	const char *sql, *pg;
};

/* Indexed by enum tl_store_stmt. Columns of the existing row are qualified in DO UPDATE (PostgreSQL needs it). */
static const struct stmt_text stmt_sql[ST_COUNT] = {
	/* a table's position row exists after its first record: one statement, no seq */
	[ST_POS_UPDATE] = {"UPDATE position SET db_type = ?2, key_form = ?6, order_key = ?7, key_cols = ?8,"
			   " key_vals = ?9, json = ?10, source = ?11, line = ?12,"
			   " rows_copied = COALESCE(?13, rows_copied), updated_at = ?14"
			   " WHERE task_id = ?1 AND schema = ?3 AND tb = ?4 AND kind = ?5"},
	[ST_POS_UPSERT] = {"INSERT INTO position (task_id, db_type, schema, tb, kind, key_form, order_key, key_cols,"
			   " key_vals, json, source, line, rows_copied, updated_at, seq)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
			   " ON CONFLICT (task_id, schema, tb, kind) DO UPDATE SET"
			   " db_type = excluded.db_type, key_form = excluded.key_form, order_key = excluded.order_key,"
			   " key_cols = excluded.key_cols, key_vals = excluded.key_vals, json = excluded.json,"
			   " source = excluded.source, line = excluded.line,"
			   " rows_copied = COALESCE(excluded.rows_copied, position.rows_copied),"
			   " updated_at = excluded.updated_at"},
	/* reserves ?2 seq values for a task; returns the last one reserved */
	[ST_SEQ_TAKE] = {"INSERT INTO task_seq (task_id, last_seq) VALUES (?1, ?2) ON CONFLICT (task_id)"
			 " DO UPDATE SET last_seq = task_seq.last_seq + excluded.last_seq RETURNING last_seq"},
	[ST_FIN_UPSERT] = {"INSERT INTO finished (task_id, db_type, schema, tb, json, finished_at, source, line,"
			   " rows_copied, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
			   " ON CONFLICT (task_id, schema, tb) DO UPDATE SET"
			   " db_type = excluded.db_type, json = excluded.json, finished_at = excluded.finished_at,"
			   " source = excluded.source, line = excluded.line,"
			   " rows_copied = COALESCE(excluded.rows_copied, finished.rows_copied)"},
	[ST_LOOKUP_FIN] = {"SELECT 'finished', json, source, line, finished_at, rows_copied FROM finished"
			   " WHERE task_id = ?1 AND schema = ?2 AND tb = ?3"},
	/* 'current' sorts after 'checkpoint': DESC puts current first */
	[ST_LOOKUP_POS] = {"SELECT kind, json, source, line, updated_at, rows_copied FROM position"
			   " WHERE task_id = ?1 AND schema = ?2 AND tb = ?3 AND (?4 = 0 OR kind = 'checkpoint')"
			   " ORDER BY kind DESC LIMIT 1"},
	[ST_RATE_INSERT] = {"INSERT INTO rate_sample (task_id, schema, tb, at_unix, rows_copied)"
			    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (task_id, schema, tb, at_unix)"
			    " DO UPDATE SET rows_copied = excluded.rows_copied"},
	[ST_RATE_PRUNE] = {"DELETE FROM rate_sample WHERE task_id = ?1 AND schema = ?2 AND tb = ?3 AND at_unix < ?4"},
	/*
	 * target_empty_at_start can change only until the table has been started (a resumed
	 * run sees a non-empty target but the table was still started into an empty one).
	 * rows_copied means the rows of the table committed on the target as far as the last
	 * recorded position (or all of them, once finished): a failed or stopped run's own
	 * count includes rows after that position, which the next run copies again, so it is
	 * not taken (#19: they were counted twice).
	 */
	[ST_TABLE_UPSERT] = {"INSERT INTO task_table (task_id, schema, tb, est_rows, rows_copied, target_empty_at_start,"
			     " mode, state, started_at, updated_at, finished_at, target_rows_at_finish)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, COALESCE(?8, 'pending'),"
			     " CASE WHEN ?8 IN ('running', 'finished') THEN ?9 END, ?9,"
			     " CASE WHEN ?8 = 'finished' THEN ?9 END, ?10)"
			     " ON CONFLICT (task_id, schema, tb) DO UPDATE SET"
			     " est_rows = COALESCE(excluded.est_rows, task_table.est_rows),"
			     " rows_copied = CASE WHEN ?8 IN ('failed', 'stopped') THEN task_table.rows_copied"
			     " ELSE COALESCE(excluded.rows_copied, task_table.rows_copied) END,"
			     " target_empty_at_start = CASE WHEN task_table.started_at IS NULL"
			     " THEN excluded.target_empty_at_start ELSE task_table.target_empty_at_start END,"
			     " mode = COALESCE(excluded.mode, task_table.mode),"
			     " state = COALESCE(?8, task_table.state),"
			     " started_at = COALESCE(task_table.started_at, excluded.started_at),"
			     " updated_at = excluded.updated_at,"
			     " finished_at = CASE WHEN COALESCE(?8, task_table.state) = 'finished'"
			     " THEN COALESCE(task_table.finished_at, ?9) END,"
			     " target_rows_at_finish = COALESCE(excluded.target_rows_at_finish,"
			     " task_table.target_rows_at_finish)"},
	[ST_TABLE_GET] = {"SELECT schema, tb, est_rows, rows_copied, target_empty_at_start, mode, state,"
			  " target_rows_at_finish FROM task_table WHERE task_id = ?1 AND schema = ?2 AND tb = ?3"},
	[ST_TABLE_ROWS] = {"UPDATE task_table SET rows_copied = ?4, updated_at = ?5"
			   " WHERE task_id = ?1 AND schema = ?2 AND tb = ?3"},
	/* PostgreSQL only (store_records.c: position_stats): ST_RATE_INSERT, _PRUNE and ST_TABLE_ROWS in one */
	[ST_POS_STATS] = {"SELECT 1",
			  "WITH r AS (INSERT INTO rate_sample (task_id, schema, tb, at_unix, rows_copied)"
			  " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (task_id, schema, tb, at_unix)"
			  " DO UPDATE SET rows_copied = excluded.rows_copied),"
			  " p AS (DELETE FROM rate_sample WHERE task_id = ?1 AND schema = ?2 AND tb = ?3"
			  " AND at_unix < ?4 - 600.0)"
			  " UPDATE task_table SET rows_copied = ?5, updated_at = ?6"
			  " WHERE task_id = ?1 AND schema = ?2 AND tb = ?3"},
	[ST_TABLE_FIN_ROWS] = {"UPDATE finished SET target_rows = ?4 WHERE task_id = ?1 AND schema = ?2 AND tb = ?3"},
	[ST_SOURCE_SEEN] = {"SELECT 1 FROM import_source WHERE task_id = ?1 AND path = ?2 AND size = ?3 AND hash = ?4"},
	[ST_SOURCE_MARK] = {"INSERT INTO import_source (task_id, path, size, hash, imported_at)"
			    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (task_id, path) DO UPDATE SET"
			    " size = excluded.size, hash = excluded.hash, imported_at = excluded.imported_at"},
	[ST_LOCK_TRY] = {"INSERT INTO task_lock (task_id, pid, host, started_at, heartbeat_at)"
			 " VALUES (?1, ?2, ?3, ?4, tl_now()) ON CONFLICT (task_id) DO NOTHING"},
	/* the holder and the age of its heartbeat, by the store's clock (NULL: never beat) */
	[ST_LOCK_GET] = {"SELECT pid, host, started_at, tl_now() - heartbeat_at FROM task_lock WHERE task_id = ?1",
			 "SELECT pid, host, started_at, tl_now() - heartbeat_at FROM task_lock WHERE task_id = ?1"
			 " FOR UPDATE"},
	[ST_LOCK_PUT] = {"UPDATE task_lock SET pid = ?2, host = ?3, started_at = ?4, heartbeat_at = tl_now()"
			 " WHERE task_id = ?1"},
	[ST_LOCK_DEL] = {"DELETE FROM task_lock WHERE task_id = ?1 AND pid = ?2 AND host = ?3"},
	[ST_LOCK_BEAT] = {"UPDATE task_lock SET heartbeat_at = tl_now() WHERE task_id = ?1 AND pid = ?2 AND host = ?3"},
	/* the fleet's work items and workers (store_lease.c) */
	[ST_ITEM_ORD] = {"SELECT COALESCE(max(ord), 0) FROM work_item WHERE task_id = ?1 AND kind = ?2"},
	[ST_ITEM_ADD] = {"INSERT INTO work_item (task_id, kind, item_key, ord, schema, tb, payload)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (task_id, kind, item_key) DO NOTHING"},
	/*
	 * The first open item in claim order: pending, or claimed under an expired lease. The
	 * columns of the old row name the holder a claim takes over from. SQLite runs it in
	 * BEGIN IMMEDIATE (no other writer); PostgreSQL locks the chosen row and skips rows
	 * other claims have locked, so concurrent claimers never wait for each other.
	 */
	[ST_CLAIM] = {"UPDATE work_item SET state = 'claimed', prev_owner = CASE WHEN state = 'claimed' THEN owner END,"
		      " owner = ?3, token = token + 1, lease_until = tl_now() + ?4, claimed_at = tl_now(),"
		      " attempts = attempts + 1"
		      " WHERE task_id = ?1 AND kind = ?2 AND item_key = (SELECT item_key FROM work_item"
		      " WHERE task_id = ?1 AND kind = ?2 AND state IN ('pending', 'claimed')"
		      " AND (state = 'pending' OR lease_until < tl_now()) ORDER BY ord LIMIT 1)"
		      " RETURNING item_key, schema, tb, payload, token, lease_until, attempts, prev_owner, progress,"
		      " rows_copied",
		      "UPDATE work_item w SET state = 'claimed',"
		      " prev_owner = CASE WHEN w.state = 'claimed' THEN w.owner END, owner = ?3, token = w.token + 1,"
		      " lease_until = tl_now() + ?4, claimed_at = tl_now(), attempts = w.attempts + 1"
		      " FROM (SELECT task_id, kind, item_key FROM work_item"
		      " WHERE task_id = ?1 AND kind = ?2 AND state IN ('pending', 'claimed')"
		      " AND (state = 'pending' OR lease_until < tl_now()) ORDER BY ord LIMIT 1 FOR UPDATE SKIP LOCKED) c"
		      " WHERE w.task_id = c.task_id AND w.kind = c.kind AND w.item_key = c.item_key"
		      " RETURNING w.item_key, w.schema, w.tb, w.payload, w.token, w.lease_until, w.attempts,"
		      " w.prev_owner, w.progress, w.rows_copied"},
	[ST_CLAIM_BUSY] = {"SELECT count(*) FROM work_item WHERE task_id = ?1 AND kind = ?2 AND state = 'claimed'"},
	[ST_ITEM_GET] = {"SELECT state, owner, lease_until - tl_now() FROM work_item"
			 " WHERE task_id = ?1 AND kind = ?2 AND item_key = ?3",
			 "SELECT state, owner, lease_until - tl_now() FROM work_item"
			 " WHERE task_id = ?1 AND kind = ?2 AND item_key = ?3 FOR UPDATE"},
	[ST_CLAIM_KEY] = {"UPDATE work_item SET state = 'claimed', prev_owner = CASE WHEN state = 'claimed' THEN owner END,"
			  " owner = ?4, token = token + 1, lease_until = tl_now() + ?5, claimed_at = tl_now(),"
			  " attempts = attempts + 1 WHERE task_id = ?1 AND kind = ?2 AND item_key = ?3"
			  " RETURNING item_key, schema, tb, payload, token, lease_until, attempts, prev_owner, progress,"
			  " rows_copied"},
	/* the fence: the lease is still this claim's (its token), renewed; it holds the row until commit */
	[ST_FENCE] = {"UPDATE work_item SET lease_until = tl_now() + ?6 WHERE task_id = ?1 AND kind = ?2"
		      " AND item_key = ?3 AND token = ?4 AND owner = ?5 AND state = 'claimed' RETURNING lease_until"},
	[ST_FENCE_WHO] = {"SELECT owner, token, state FROM work_item WHERE task_id = ?1 AND kind = ?2 AND item_key = ?3"},
	[ST_PROGRESS] = {"UPDATE work_item SET progress = ?6, rows_copied = ?7, lease_until = tl_now() + ?8"
			 " WHERE task_id = ?1 AND kind = ?2 AND item_key = ?3 AND token = ?4 AND owner = ?5"
			 " AND state = 'claimed' RETURNING lease_until"},
	[ST_END] = {"UPDATE work_item SET state = ?6, result = ?7, lease_until = NULL,"
		    " done_at = CASE WHEN ?6 = 'done' THEN tl_now() END"
		    " WHERE task_id = ?1 AND kind = ?2 AND item_key = ?3 AND token = ?4 AND owner = ?5"
		    " AND state = 'claimed'"},
	[ST_WORKER_TRY] = {"INSERT INTO worker (task_id, name, host, pid, started_at, heartbeat_at, lease_secs)"
			   " VALUES (?1, ?2, ?3, ?4, tl_now(), tl_now(), ?5) ON CONFLICT (task_id, name) DO NOTHING"},
	[ST_WORKER_GET] = {"SELECT host, pid, state, started_at, tl_now() - heartbeat_at, lease_secs FROM worker"
			   " WHERE task_id = ?1 AND name = ?2",
			   "SELECT host, pid, state, started_at, tl_now() - heartbeat_at, lease_secs FROM worker"
			   " WHERE task_id = ?1 AND name = ?2 FOR UPDATE"},
	[ST_WORKER_PUT] = {"UPDATE worker SET host = ?3, pid = ?4, started_at = tl_now(), heartbeat_at = tl_now(),"
			   " lease_secs = ?5, rows_copied = 0, rate = NULL, state = 'running'"
			   " WHERE task_id = ?1 AND name = ?2"},
	[ST_WORKER_BEAT] = {"UPDATE worker SET heartbeat_at = tl_now(), rows_copied = ?5, rate = ?6"
			    " WHERE task_id = ?1 AND name = ?2 AND host = ?3 AND pid = ?4 AND state = 'running'"},
	[ST_WORKER_LEAVE] = {"UPDATE worker SET state = ?5, heartbeat_at = tl_now()"
			     " WHERE task_id = ?1 AND name = ?2 AND host = ?3 AND pid = ?4"},
};

int tl_store_schema_version(void)
{
	return tl_schema_nsteps;
}

const char *tl_store_path(const tl_store *s)
{
	return s ? s->display : NULL;
}

int tl_store_is_shared(const tl_store *s)
{
	return s && TL_STORE_IS_PG(s);
}

int tl_store__fail(tl_store *s, const char *what, tl_error *err)
{
	if (!err)
		return TL_ERR_STORE;
	if (!err->code)
		tl_error_set(err, TL_ERR_STORE, "unknown error");
	return tl_error_prefix(err, "store '%s': %s", s->display, what);
}

int tl_store__exec(tl_store *s, const char *sql, tl_error *err)
{
	int rc = s->ops->exec(s->db, sql, err);

	return rc ? tl_store__fail(s, sql, err) : 0;
}

/*
 * A connection to the store's server that was lost (a restart, a failover, a killed
 * session) is opened again at the start of the next unit of work - a transaction, or a
 * statement outside any - never in the middle of one: the statements of a transaction
 * that was lost with its connection must not go on in a new session as if nothing
 * happened. The unit that met the loss fails with a transient error (error.h); its
 * caller does it again (the engine's recorder and fleet, with backoff).
 */
static int revive(tl_store *s, tl_error *err)
{
	if (s->in_tx || s->own_tx || !s->ops->lost || !s->ops->lost(s->db))
		return 0;
	if (s->ops->reconnect(s->db, err))
		return tl_store__fail(s, "reconnecting", err);
	return 0;
}

int tl_store__stmt(tl_store *s, enum tl_store_stmt id, tl_sdb_stmt **out, tl_error *err)
{
	tl_sdb_stmt *st = s->stmt[id];
	int rc;

	if ((rc = revive(s, err)))
		return rc;

	if (!st) {
		const char *sql = TL_STORE_IS_PG(s) && stmt_sql[id].pg ? stmt_sql[id].pg : stmt_sql[id].sql;

		if (s->ops->prepare(s->db, sql, 1, &st, err))
			return tl_store__fail(s, "preparing a statement", err);
		s->stmt[id] = st;
	} else {
		s->ops->reset(st);
	}
	*out = st;
	return 0;
}

int tl_store__prepare(tl_store *s, const char *sql, const char *pg_sql, tl_sdb_stmt **out, tl_error *err)
{
	int rc;

	*out = NULL;
	if ((rc = revive(s, err)))
		return rc;
	if (s->ops->prepare(s->db, TL_STORE_IS_PG(s) && pg_sql ? pg_sql : sql, 0, out, err))
		return tl_store__fail(s, "preparing a statement", err);
	return 0;
}

void tl_store__finalize(tl_store *s, tl_sdb_stmt *st)
{
	if (st)
		s->ops->finalize(st);
}

int tl_store__bind_textn(tl_store *s, tl_sdb_stmt *st, int i, const char *v, size_t n, tl_error *err)
{
	return s->ops->bind_text(st, i, v, n, err) ? tl_store__fail(s, "binding a parameter", err) : 0;
}

int tl_store__bind_text(tl_store *s, tl_sdb_stmt *st, int i, const char *v, tl_error *err)
{
	return tl_store__bind_textn(s, st, i, v, v ? strlen(v) : 0, err);
}

int tl_store__bind_i64(tl_store *s, tl_sdb_stmt *st, int i, int64_t v, int neg_is_null, tl_error *err)
{
	int rc = (neg_is_null && v < 0) ? s->ops->bind_null(st, i, err) : s->ops->bind_i64(st, i, v, err);

	return rc ? tl_store__fail(s, "binding a parameter", err) : 0;
}

int tl_store__bind_double(tl_store *s, tl_sdb_stmt *st, int i, double v, tl_error *err)
{
	return s->ops->bind_double(st, i, v, err) ? tl_store__fail(s, "binding a parameter", err) : 0;
}

int tl_store__step(tl_store *s, tl_sdb_stmt *st, const char *what, tl_error *err)
{
	int rc = s->ops->step(st, err);

	return rc < 0 ? tl_store__fail(s, what, err) : rc;
}

int tl_store__done(tl_store *s, tl_sdb_stmt *st, const char *what, int64_t *changes, tl_error *err)
{
	int rc;

	while ((rc = tl_store__step(s, st, what, err)) == 1)
		;
	if (rc == 0 && changes)
		*changes = s->ops->changes(st);
	s->ops->reset(st);
	return rc;
}

const char *tl_store__col_text(tl_store *s, tl_sdb_stmt *st, int col, size_t *len)
{
	return s->ops->col_text(st, col, len);
}

int tl_store__col_null(tl_store *s, tl_sdb_stmt *st, int col)
{
	return s->ops->col_type(st, col) == TL_SDB_NULL;
}

int64_t tl_store__col_i64(tl_store *s, tl_sdb_stmt *st, int col)
{
	return s->ops->col_i64(st, col);
}

int64_t tl_store__col_i64n(tl_store *s, tl_sdb_stmt *st, int col)
{
	return s->ops->col_type(st, col) == TL_SDB_NULL ? -1 : s->ops->col_i64(st, col);
}

double tl_store__col_double(tl_store *s, tl_sdb_stmt *st, int col)
{
	return s->ops->col_double(st, col);
}

int tl_store__col_dup(tl_store *s, tl_sdb_stmt *st, int col, char **out, tl_error *err)
{
	size_t n = 0;
	const char *t = s->ops->col_text(st, col, &n);
	char *p;

	if (!t) {
		*out = NULL;
		return 0;
	}
	p = tl_strndup(t, n);
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

void tl_store__host(char out[256])
{
	if (gethostname(out, 255) != 0)
		out[0] = '\0';
	out[255] = '\0';
	if (!out[0]) {
		out[0] = '?';
		out[1] = '\0';
	}
}

int tl_store__pid_alive(long pid)
{
	if (pid <= 0)
		return 0;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

int tl_store__tx_enter(tl_store *s, int *owned, tl_error *err)
{
	int rc;

	*owned = 0;
	/* inside the caller's tl_store_begin, or another store call's own transaction: join it */
	if (s->in_tx || s->own_tx || s->ops->in_tx(s->db))
		return 0;
	if ((rc = revive(s, err)))
		return rc;
	if (s->ops->begin(s->db, TL_SDB_TX_WRITE, err))
		return tl_store__fail(s, "starting a transaction", err);
	*owned = 1;
	s->own_tx = 1;
	return 0;
}

int tl_store__tx_leave(tl_store *s, int owned, int rc, tl_error *err)
{
	if (!owned)
		return rc;
	s->own_tx = 0;
	if (rc == 0) {
		if (s->ops->commit(s->db, err) == 0)
			return 0;
		return tl_store__fail(s, "committing", err);
	}
	s->ops->rollback(s->db);
	return rc;
}

int tl_store__read_enter(tl_store *s, int *owned, tl_error *err)
{
	int rc;

	*owned = 0;
	if (s->in_tx || s->own_tx || s->ops->in_tx(s->db))
		return 0;
	if ((rc = revive(s, err)))
		return rc;
	if (s->ops->begin(s->db, TL_SDB_TX_READ, err))
		return tl_store__fail(s, "starting a read", err);
	*owned = 1;
	s->own_tx = 1;
	return 0;
}

void tl_store__read_leave(tl_store *s, int owned)
{
	/* nothing was written: ending the read either way releases its snapshot */
	if (owned) {
		s->own_tx = 0;
		s->ops->rollback(s->db);
	}
}

int tl_store__each_row(tl_store *s, const char *sql, const char *what, const char *const *texts, size_t ntexts,
		       tl_store__row_fn row, void *ctx, tl_error *err)
{
	tl_sdb_stmt *st = NULL;
	size_t i;
	int rc;

	if ((rc = tl_store__prepare(s, sql, NULL, &st, err)))
		return rc;
	for (i = 0; i < ntexts && !rc; i++)
		rc = tl_store__bind_text(s, st, (int)i + 1, texts[i], err);
	while (!rc && (rc = tl_store__step(s, st, what, err)) == 1)
		rc = row(s, st, ctx, err);
	tl_store__finalize(s, st);
	return rc;
}

int tl_store__foreach(tl_store *s, const char *sql, const char *what, const char *const *texts, size_t ntexts,
		      tl_store__row_fn row, void *ctx, tl_error *err)
{
	int rc, owned = 0;

	if ((rc = tl_store__read_enter(s, &owned, err)))
		return rc;
	rc = tl_store__each_row(s, sql, what, texts, ntexts, row, ctx, err);
	tl_store__read_leave(s, owned);
	return rc;
}

int tl_store_begin(tl_store *s, tl_error *err)
{
	int rc;

	if (s->in_tx)
		return tl_error_set(err, TL_ERR_INTERNAL, "store '%s': a transaction is already open", s->display);
	if ((rc = revive(s, err)))
		return rc;
	if (s->ops->begin(s->db, TL_SDB_TX_WRITE, err))
		return tl_store__fail(s, "starting a transaction", err);
	s->in_tx = 1;
	return 0;
}

int tl_store_commit(tl_store *s, tl_error *err)
{
	int rc = 0;

	if (!s->in_tx)
		return tl_error_set(err, TL_ERR_INTERNAL, "store '%s': commit without a transaction", s->display);
	if (s->ops->commit(s->db, err))
		rc = tl_store__fail(s, "committing", err);
	s->in_tx = 0;
	return rc;
}

void tl_store_rollback(tl_store *s)
{
	if (!s)
		return;
	s->ops->rollback(s->db);
	s->in_tx = 0;
}

static int too_new(tl_store *s, int version, tl_error *err)
{
	return tl_error_set(err, TL_ERR_STORE, "store '%s' has schema version %d, this tideline knows up to %d",
			    s->display, version, tl_schema_nsteps);
}

/* Applies the missing schema steps in one transaction. */
static int migrate(tl_store *s, tl_error *err)
{
	const struct tl_store_step *steps = s->ops->steps;
	int version = 0, rc, i, owned = 0;

	if (s->ops->get_version(s->db, &version, err))
		return tl_store__fail(s, "reading the schema version", err);
	if (version > tl_schema_nsteps)
		return too_new(s, version, err);
	if (version == tl_schema_nsteps)
		return 0;
	if ((rc = tl_store__tx_enter(s, &owned, err)))
		return rc;
	if (s->ops->lock_schema(s->db, err) || s->ops->get_version(s->db, &version, err)) {
		rc = tl_store__fail(s, "reading the schema version", err);
		goto cleanup;
	}
	if (version > tl_schema_nsteps) {
		rc = too_new(s, version, err);
		goto cleanup;
	}
	for (i = version; i < tl_schema_nsteps; i++) {
		if (s->ops->exec(s->db, steps[i].sql, err) || s->ops->set_version(s->db, i + 1, err)) {
			char what[128];

			snprintf(what, sizeof(what), "applying schema step %s", steps[i].name);
			rc = tl_store__fail(s, what, err);
			goto cleanup;
		}
	}
cleanup:
	return tl_store__tx_leave(s, owned, rc, err);
}

/* The name a store goes by in messages: the path, or the URL with its password masked. */
static int display_name(const char *path, char **out, tl_error *err)
{
	tl_buf b = TL_BUF_INIT;
	const char *p;
	int rc = tl_url_redact(path, &b, err);

	/* libpq also takes the password as a query parameter */
	while (!rc && b.data && (p = strstr(b.data, "password=")) != NULL && p[9] && strncmp(p + 9, "***", 3) != 0) {
		size_t at = (size_t)(p - b.data) + 9, end = at + strcspn(p + 9, "&");
		tl_buf rest = TL_BUF_INIT;

		if (!(rc = tl_buf_puts(&rest, b.data + end, err))) {
			tl_buf_truncate(&b, at);
			if (!(rc = tl_buf_puts(&b, "***", err)))
				rc = tl_buf_put(&b, rest.data ? rest.data : "", rest.len, err);
		}
		tl_buf_release(&rest);
	}
	if (!rc && !(*out = tl_buf_detach(&b)))
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory opening a store");
	tl_buf_release(&b);
	return rc;
}

int tl_store_is_url(const char *path)
{
	return path && (strncmp(path, "postgres://", 11) == 0 || strncmp(path, "postgresql://", 13) == 0);
}

int tl_store_open(tl_store **out, const char *path, unsigned flags, tl_error *err)
{
	tl_store *s = NULL;
	unsigned dflags = 0;
	int rc = 0, version = 0;

	*out = NULL;
	if (!path || !*path)
		return tl_error_set(err, TL_ERR_CONFIG, "no store path given");
	s = calloc(1, sizeof(*s));
	if (!s)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory opening store '%s'", path);
	s->flags = flags;
	s->ops = tl_store_is_url(path) ? &tl_sdb_pg : &tl_sdb_sqlite;
	if (!(s->path = tl_strdup(path))) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory opening store '%s'", path);
		goto cleanup;
	}
	if ((rc = display_name(path, &s->display, err)))
		goto cleanup;
	if (flags & TL_STORE_READONLY)
		dflags |= TL_SDB_READONLY;
	if (flags & TL_STORE_NOCREATE)
		dflags |= TL_SDB_NOCREATE;
	if ((rc = s->ops->open(path, s->display, dflags, &s->db, err)))
		goto cleanup;
	if (s->ops->get_version(s->db, &version, err)) {
		rc = tl_store__fail(s, "reading the schema version", err);
		goto cleanup;
	}
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
					  s->display, version);
			goto cleanup;
		}
	} else if ((rc = migrate(s, err))) {
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
		tl_store__finalize(s, s->stmt[i]);
	if (s->db) {
		s->ops->rollback(s->db);
		s->ops->close(s->db);
	}
	for (i = 0; i < sizeof(s->lent) / sizeof(s->lent[0]); i++)
		free(s->lent[i]);
	free(s->locked_task);
	free(s->path);
	free(s->display);
	free(s);
}
