/*
 * store_task.c - per-task bookkeeping in the checkpoint store: table statistics
 * (task_table) with their rate samples, the progress listing behind `status`, imported
 * text sources, the one-run-per-task lock and the list of task ids.
 *
 * The lock is a task_lock row (pid, host). Taking it inside BEGIN IMMEDIATE makes the
 * check-and-set atomic between processes. A row left by a process that no longer exists
 * on this host is stale and taken over; a row of another host cannot be checked and is
 * honoured (the message says how to remove it).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include "store/store_int.h"
#include "tideline/buf.h"
#include "tideline/logfmt.h"

int tl_store_put_table(tl_store *s, const char *task_id, const tl_store_table *t, tl_error *err)
{
	sqlite3_stmt *st;
	char now[32];
	int rc, owned = 0;

	if (!t->schema || !t->tb)
		return tl_error_set(err, TL_ERR_INTERNAL, "table statistics without schema or table");
	tl_logfmt_now(now);
	if ((rc = tl_store__tx_enter(s, &owned, err)))
		return rc;
	if ((rc = tl_store__stmt(s, ST_TABLE_UPSERT, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, t->schema, err)) || (rc = tl_store__bind_text(s, st, 3, t->tb, err)) ||
	    (rc = tl_store__bind_i64(s, st, 4, t->est_rows, 1, err)) ||
	    (rc = tl_store__bind_i64(s, st, 5, t->rows_copied, 1, err)) ||
	    (rc = tl_store__bind_i64(s, st, 6, t->target_empty_at_start ? 1 : 0, 0, err)) ||
	    (rc = tl_store__bind_text(s, st, 7, t->mode, err)) || (rc = tl_store__bind_text(s, st, 8, t->state, err)) ||
	    (rc = tl_store__bind_text(s, st, 9, now, err)) ||
	    (rc = tl_store__bind_i64(s, st, 10, t->target_rows_at_finish, 1, err)))
		goto cleanup;
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = tl_store__fail(s, "writing table statistics", err);
	(void)sqlite3_reset(st);
	if (rc)
		goto cleanup;
	if (t->rows_copied >= 0 && (rc = tl_store__rate_sample(s, task_id, t->schema, t->tb, t->rows_copied, err)))
		goto cleanup;
	if (t->state && strcmp(t->state, "finished") == 0 && t->target_rows_at_finish >= 0) {
		if ((rc = tl_store__stmt(s, ST_TABLE_FIN_ROWS, &st, err)) ||
		    (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
		    (rc = tl_store__bind_text(s, st, 2, t->schema, err)) || (rc = tl_store__bind_text(s, st, 3, t->tb, err)) ||
		    (rc = tl_store__bind_i64(s, st, 4, t->target_rows_at_finish, 0, err)))
			goto cleanup;
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = tl_store__fail(s, "writing the target row count", err);
		(void)sqlite3_reset(st);
	}
cleanup:
	return tl_store__tx_leave(s, owned, rc, err);
}

int tl_store_get_table(tl_store *s, const char *task_id, const char *schema, const char *tb, tl_store_table *out,
		       tl_error *err)
{
	sqlite3_stmt *st = NULL;
	char *lent[4] = {NULL, NULL, NULL, NULL};
	size_t i;
	int rc, step;

	if ((rc = tl_store__stmt(s, ST_TABLE_GET, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, schema, err)) || (rc = tl_store__bind_text(s, st, 3, tb, err)))
		goto cleanup;
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = tl_error_set(err, TL_ERR_NOTFOUND, "store '%s' has no statistics for '%s'.'%s' in task '%s'",
				  s->path, schema, tb, task_id);
		goto cleanup;
	}
	if (step != SQLITE_ROW) {
		rc = tl_store__fail(s, "reading table statistics", err);
		goto cleanup;
	}
	/* schema, tb, est_rows, rows_copied, target_empty_at_start, mode, state, target_rows_at_finish */
	if ((rc = tl_store__col_dup(st, 0, &lent[0], err)) || (rc = tl_store__col_dup(st, 1, &lent[1], err)) ||
	    (rc = tl_store__col_dup(st, 5, &lent[2], err)) || (rc = tl_store__col_dup(st, 6, &lent[3], err)))
		goto cleanup;
	memset(out, 0, sizeof(*out));
	out->schema = lent[0];
	out->tb = lent[1];
	out->est_rows = sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 2);
	out->rows_copied = sqlite3_column_type(st, 3) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 3);
	out->target_empty_at_start = sqlite3_column_int(st, 4) != 0;
	out->mode = lent[2];
	out->state = lent[3];
	out->target_rows_at_finish = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 7);
	for (i = 0; i < 4; i++) {
		free(s->lent[i]);
		s->lent[i] = lent[i];
		lent[i] = NULL;
	}
cleanup:
	for (i = 0; i < 4; i++)
		free(lent[i]);
	if (st)
		(void)sqlite3_reset(st);
	return rc;
}

int tl_store_source_seen(tl_store *s, const char *task_id, const char *path, int64_t size, uint64_t hash, int *seen,
			 tl_error *err)
{
	sqlite3_stmt *st;
	int rc, step;

	*seen = 0;
	if ((rc = tl_store__stmt(s, ST_SOURCE_SEEN, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, path, err)) || (rc = tl_store__bind_i64(s, st, 3, size, 0, err)) ||
	    (rc = tl_store__bind_i64(s, st, 4, (int64_t)hash, 0, err)))
		return rc;
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		*seen = 1;
	else if (step != SQLITE_DONE)
		rc = tl_store__fail(s, "reading imported sources", err);
	(void)sqlite3_reset(st);
	return rc;
}

int tl_store_source_mark(tl_store *s, const char *task_id, const char *path, int64_t size, uint64_t hash,
			 tl_error *err)
{
	sqlite3_stmt *st;
	char now[32];
	int rc;

	tl_logfmt_now(now);
	if ((rc = tl_store__stmt(s, ST_SOURCE_MARK, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, path, err)) || (rc = tl_store__bind_i64(s, st, 3, size, 0, err)) ||
	    (rc = tl_store__bind_i64(s, st, 4, (int64_t)hash, 0, err)) || (rc = tl_store__bind_text(s, st, 5, now, err)))
		return rc;
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = tl_store__fail(s, "recording an imported source", err);
	(void)sqlite3_reset(st);
	return rc;
}

static void host_name(char out[256])
{
	if (gethostname(out, 255) != 0)
		out[0] = '\0';
	out[255] = '\0';
	if (!out[0]) {
		out[0] = '?';
		out[1] = '\0';
	}
}

/* A process we may not signal (EPERM) is alive too. */
static int pid_alive(long pid)
{
	if (pid <= 0)
		return 0;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

int tl_store_lock_task(tl_store *s, const char *task_id, tl_error *err)
{
	sqlite3_stmt *st;
	char host[256], now[32];
	long me = (long)getpid();
	int rc, owned = 0, step;

	host_name(host);
	tl_logfmt_now(now);
	if ((rc = tl_store__tx_enter(s, &owned, err)))
		return rc;
	if ((rc = tl_store__stmt(s, ST_LOCK_GET, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)))
		goto cleanup;
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		long pid = (long)sqlite3_column_int64(st, 0);
		const char *holder = (const char *)sqlite3_column_text(st, 1);

		if (!holder || strcmp(holder, host) != 0)
			rc = tl_error_set(err, TL_ERR_LOCKED,
					  "task '%s' is being run by pid %ld on host '%s' (store %s); if that run is "
					  "gone, remove its row from the task_lock table",
					  task_id, pid, holder ? holder : "?", s->path);
		else if (pid != me && pid_alive(pid))
			rc = tl_error_set(err, TL_ERR_LOCKED, "task '%s' is being run by pid %ld (store %s)", task_id,
					  pid, s->path);
		/* else: ours already, or stale (the process is gone): take it over */
	} else if (step != SQLITE_DONE) {
		rc = tl_store__fail(s, "reading the task lock", err);
	}
	(void)sqlite3_reset(st);
	if (rc)
		goto cleanup;
	if ((rc = tl_store__stmt(s, ST_LOCK_PUT, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_i64(s, st, 2, me, 0, err)) || (rc = tl_store__bind_text(s, st, 3, host, err)) ||
	    (rc = tl_store__bind_text(s, st, 4, now, err)))
		goto cleanup;
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = tl_store__fail(s, "taking the task lock", err);
	(void)sqlite3_reset(st);
cleanup:
	return tl_store__tx_leave(s, owned, rc, err);
}

void tl_store_unlock_task(tl_store *s, const char *task_id)
{
	sqlite3_stmt *st;
	char host[256];

	if (!s)
		return;
	host_name(host);
	/* best effort: a lock left behind is stale once this process is gone */
	if (tl_store__stmt(s, ST_LOCK_DEL, &st, NULL) || tl_store__bind_text(s, st, 1, task_id, NULL) ||
	    tl_store__bind_i64(s, st, 2, (int64_t)getpid(), 0, NULL) || tl_store__bind_text(s, st, 3, host, NULL))
		return;
	(void)sqlite3_step(st);
	(void)sqlite3_reset(st);
}

void tl_store_free_list(char **list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; list[i]; i++)
		free(list[i]);
	free(list);
}

int tl_store_task_ids(tl_store *s, char ***out, tl_error *err)
{
	sqlite3_stmt *st = NULL;
	char **list = NULL;
	size_t n = 0, cap = 0;
	int rc = 0, step;

	*out = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT task_id FROM position UNION SELECT task_id FROM finished"
			       " UNION SELECT task_id FROM task_table UNION SELECT task_id FROM import_source ORDER BY 1",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = tl_store__fail(s, "listing task ids", err);
		goto cleanup;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 8;
			char **nl = realloc(list, ncap * sizeof(*nl));

			if (!nl) {
				rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory listing task ids");
				goto cleanup;
			}
			list = nl;
			cap = ncap;
		}
		list[n] = NULL;
		if ((rc = tl_store__col_dup(st, 0, &list[n], err)))
			goto cleanup;
		list[++n] = NULL;
	}
	if (step != SQLITE_DONE) {
		rc = tl_store__fail(s, "listing task ids", err);
		goto cleanup;
	}
	if (!list) {
		list = calloc(1, sizeof(*list));
		if (!list) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory listing task ids");
			goto cleanup;
		}
	}
	*out = list;
	list = NULL;
cleanup:
	sqlite3_finalize(st);
	tl_store_free_list(list);
	return rc;
}

/* Rows/s between the first and the last sample since `since`; -1 when unknown. */
static int table_rate(tl_store *s, const char *task_id, const char *schema, const char *tb, double since,
		      double *out, tl_error *err)
{
	enum tl_store_stmt ids[2] = {ST_RATE_FIRST, ST_RATE_LAST};
	double t[2] = {0, 0};
	int64_t rows[2] = {0, 0};
	sqlite3_stmt *st;
	int i, rc, step;

	*out = -1;
	for (i = 0; i < 2; i++) {
		if ((rc = tl_store__stmt(s, ids[i], &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
		    (rc = tl_store__bind_text(s, st, 2, schema, err)) || (rc = tl_store__bind_text(s, st, 3, tb, err)))
			return rc;
		if (sqlite3_bind_double(st, 4, since) != SQLITE_OK)
			return tl_store__fail(s, "binding a parameter", err);
		step = sqlite3_step(st);
		if (step == SQLITE_ROW) {
			t[i] = sqlite3_column_double(st, 0);
			rows[i] = sqlite3_column_int64(st, 1);
		}
		(void)sqlite3_reset(st);
		if (step == SQLITE_DONE)
			return 0;
		if (step != SQLITE_ROW)
			return tl_store__fail(s, "reading rate samples", err);
	}
	if (t[1] > t[0])
		*out = rows[1] >= rows[0] ? (double)(rows[1] - rows[0]) / (t[1] - t[0]) : 0.0;
	return 0;
}

int tl_store_foreach_progress(tl_store *s, const char *task_id, double now_unix, tl_store_progress_fn fn, void *ctx,
			      tl_error *err)
{
	sqlite3_stmt *st = NULL;
	tl_store_progress p;
	int rc = 0, step, owned = 0;

	/* one read transaction: a consistent snapshot while a run writes (WAL) */
	if (!s->in_tx) {
		if ((rc = tl_store__exec(s, "BEGIN", err)))
			return rc;
		owned = 1;
	}
	if (sqlite3_prepare_v2(s->db,
			       "SELECT task_id, schema, tb, state, rows_copied, est_rows, percent, last_key, last_update,"
			       " finished_at FROM progress WHERE ?1 IS NULL OR task_id = ?1 ORDER BY task_id, schema, tb",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = tl_store__fail(s, "reading progress", err);
		goto cleanup;
	}
	if ((rc = tl_store__bind_text(s, st, 1, task_id, err)))
		goto cleanup;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		p.task_id = (const char *)sqlite3_column_text(st, 0);
		p.schema = (const char *)sqlite3_column_text(st, 1);
		p.tb = (const char *)sqlite3_column_text(st, 2);
		p.state = (const char *)sqlite3_column_text(st, 3);
		p.rows_copied = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 4);
		p.est_rows = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 5);
		p.percent = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1.0 : sqlite3_column_double(st, 6);
		p.last_key = (const char *)sqlite3_column_text(st, 7);
		p.last_update = (const char *)sqlite3_column_text(st, 8);
		p.finished_at = (const char *)sqlite3_column_text(st, 9);
		if ((rc = table_rate(s, p.task_id, p.schema, p.tb, now_unix - 60.0, &p.rate, err)))
			goto cleanup;
		if ((rc = fn(ctx, &p, err)))
			goto cleanup;
	}
	if (step != SQLITE_DONE)
		rc = tl_store__fail(s, "reading progress", err);
cleanup:
	sqlite3_finalize(st);
	if (owned)
		(void)sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	return rc;
}
