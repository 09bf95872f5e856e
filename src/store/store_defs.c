/*
 * store_defs.c - the definition steps of a task in the checkpoint store (store.h,
 * schema/0005_schema_steps.sql): what a run created, built or set on the target, step by
 * step, so that a rerun skips what is done and knows which target objects are this
 * task's (docs/schema.md).
 *
 * One statement writes a step whatever it held before (an upsert keyed by task and step
 * id); `created` only ever goes from 0 to 1, and the two timestamps are kept unless the
 * new state stamps them. Both backends run the same SQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/store_int.h"
#include "tideline/logfmt.h"

static const char put_sql[] =
	"INSERT INTO schema_step (task_id, step_id, ord, kind, phase, level, schema, tb, name, owner_schema, owner_tb,"
	" state, found, created, sql_hash, error, started_at, finished_at, seconds)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
	" ON CONFLICT (task_id, step_id) DO UPDATE SET ord = excluded.ord, kind = excluded.kind,"
	" phase = excluded.phase, level = excluded.level, schema = excluded.schema, tb = excluded.tb,"
	" name = excluded.name, owner_schema = excluded.owner_schema, owner_tb = excluded.owner_tb,"
	" state = excluded.state, found = excluded.found,"
	" created = CASE WHEN excluded.created = 1 THEN 1 ELSE schema_step.created END,"
	" sql_hash = excluded.sql_hash, error = excluded.error,"
	" started_at = COALESCE(excluded.started_at, schema_step.started_at),"
	" finished_at = COALESCE(excluded.finished_at, schema_step.finished_at),"
	" seconds = COALESCE(excluded.seconds, schema_step.seconds)";

/* The same row, written only when the step has no record yet (a fleet's planning, store.h). */
static const char add_sql[] =
	"INSERT INTO schema_step (task_id, step_id, ord, kind, phase, level, schema, tb, name, owner_schema, owner_tb,"
	" state, found, created, sql_hash, error, started_at, finished_at, seconds)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
	" ON CONFLICT (task_id, step_id) DO NOTHING";

static int is_state(const char *state, const char *a, const char *b, const char *c, const char *d)
{
	return state && ((a && strcmp(state, a) == 0) || (b && strcmp(state, b) == 0) || (c && strcmp(state, c) == 0) ||
			 (d && strcmp(state, d) == 0));
}

static int bind_step(tl_store *s, tl_sdb_stmt *st, const char *task_id, const tl_store_def_step *d, const char *now,
		     tl_error *err)
{
	const char *started = is_state(d->state, "running", NULL, NULL, NULL) ? now : NULL;
	const char *finished = is_state(d->state, "done", "exists", "skipped", "failed") ? now : NULL;
	int rc;

	if ((rc = tl_store__bind_text(s, st, 1, task_id, err)) || (rc = tl_store__bind_text(s, st, 2, d->step_id, err)) ||
	    (rc = tl_store__bind_i64(s, st, 3, d->ord, 0, err)) || (rc = tl_store__bind_text(s, st, 4, d->kind, err)) ||
	    (rc = tl_store__bind_text(s, st, 5, d->phase, err)) || (rc = tl_store__bind_i64(s, st, 6, d->level, 0, err)) ||
	    (rc = tl_store__bind_text(s, st, 7, d->schema, err)) || (rc = tl_store__bind_text(s, st, 8, d->tb, err)) ||
	    (rc = tl_store__bind_text(s, st, 9, d->name, err)) ||
	    (rc = tl_store__bind_text(s, st, 10, d->owner_schema, err)) ||
	    (rc = tl_store__bind_text(s, st, 11, d->owner_tb, err)) ||
	    (rc = tl_store__bind_text(s, st, 12, d->state ? d->state : "pending", err)) ||
	    (rc = tl_store__bind_text(s, st, 13, d->found, err)) ||
	    (rc = tl_store__bind_i64(s, st, 14, d->created ? 1 : 0, 0, err)) ||
	    (rc = tl_store__bind_text(s, st, 15, d->sql_hash, err)) || (rc = tl_store__bind_text(s, st, 16, d->error, err)) ||
	    (rc = tl_store__bind_text(s, st, 17, started, err)) || (rc = tl_store__bind_text(s, st, 18, finished, err)))
		return rc;
	if (d->seconds >= 0)
		return tl_store__bind_double(s, st, 19, d->seconds, err);
	if (s->ops->bind_null(st, 19, err) != 0)
		return tl_store__fail(s, "binding a parameter", err);
	return 0;
}

static int steps_write(tl_store *s, const char *sql, const char *task_id, const tl_store_def_step *steps, size_t n,
		       tl_error *err)
{
	tl_sdb_stmt *st = NULL;
	char now[32];
	size_t i;
	int rc, owned = 0;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!steps[i].step_id || !steps[i].kind || !steps[i].phase)
			return tl_error_set(err, TL_ERR_INTERNAL, "store '%s': a definition step needs an id, a kind and a phase",
					    s->display);
	tl_logfmt_now(now);
	if ((rc = tl_store__tx_enter(s, &owned, err)))
		return rc;
	if ((rc = tl_store__prepare(s, sql, NULL, &st, err)))
		goto cleanup;
	for (i = 0; i < n && !rc; i++) {
		if (!(rc = bind_step(s, st, task_id, &steps[i], now, err)))
			rc = tl_store__done(s, st, "writing a definition step", NULL, err);
	}
	if (!rc)
		rc = tl_store__lock_beat(s, err);
cleanup:
	tl_store__finalize(s, st);
	return tl_store__tx_leave(s, owned, rc, err);
}

int tl_store_def_steps_put(tl_store *s, const char *task_id, const tl_store_def_step *steps, size_t n, tl_error *err)
{
	return steps_write(s, put_sql, task_id, steps, n, err);
}

int tl_store_def_steps_add(tl_store *s, const char *task_id, const tl_store_def_step *steps, size_t n, tl_error *err)
{
	return steps_write(s, add_sql, task_id, steps, n, err);
}

struct each_step {
	tl_store_def_step_fn fn;
	void *ctx;
};

static int step_row(tl_store *s, tl_sdb_stmt *st, void *arg, tl_error *err)
{
	const struct each_step *e = arg;
	tl_store_def_step d;

	memset(&d, 0, sizeof(d));
	d.step_id = tl_store__col_text(s, st, 1, NULL);
	d.ord = tl_store__col_i64(s, st, 2);
	d.kind = tl_store__col_text(s, st, 3, NULL);
	d.phase = tl_store__col_text(s, st, 4, NULL);
	d.level = (int)tl_store__col_i64(s, st, 5);
	d.schema = tl_store__col_text(s, st, 6, NULL);
	d.tb = tl_store__col_text(s, st, 7, NULL);
	d.name = tl_store__col_text(s, st, 8, NULL);
	d.owner_schema = tl_store__col_text(s, st, 9, NULL);
	d.owner_tb = tl_store__col_text(s, st, 10, NULL);
	d.state = tl_store__col_text(s, st, 11, NULL);
	d.found = tl_store__col_text(s, st, 12, NULL);
	d.created = tl_store__col_i64(s, st, 13) != 0;
	d.sql_hash = tl_store__col_text(s, st, 14, NULL);
	d.error = tl_store__col_text(s, st, 15, NULL);
	d.started_at = tl_store__col_text(s, st, 16, NULL);
	d.finished_at = tl_store__col_text(s, st, 17, NULL);
	d.seconds = tl_store__col_null(s, st, 18) ? -1.0 : tl_store__col_double(s, st, 18);
	return e->fn(e->ctx, tl_store__col_text(s, st, 0, NULL), &d, err);
}

int tl_store_foreach_def_step(tl_store *s, const char *task_id, tl_store_def_step_fn fn, void *ctx, tl_error *err)
{
	static const char sql[] =
		"SELECT task_id, step_id, ord, kind, phase, level, schema, tb, name, owner_schema, owner_tb, state, found,"
		" created, sql_hash, error, started_at, finished_at, seconds FROM schema_step"
		" WHERE CAST(?1 AS TEXT) IS NULL OR task_id = ?1 ORDER BY task_id, ord, step_id";
	struct each_step e = {fn, ctx};

	return tl_store__foreach(s, sql, "listing definition steps", &task_id, 1, step_row, &e, err);
}
