/*
 * target.c - trusting the target only after checking it (docs/guide.md, "the target lost
 * rows"; issues #18 and #19): the verdict on a resumed table's target, this run's name in
 * the claims on target tables, and the target's durability warning.
 *
 * A position is a promise that every row before it is on the target. Before a table is
 * resumed after key K (run, at the table's start, and plan, for every resumed table: one
 * function, tl_target_verdict_get, so that plan says what the run will do):
 *   - the row with key K must exist on the target (for a split table: a row whose
 *     partition column is the recorded bound; for MongoDB the _id), one indexed lookup
 *     (driver slot key_exists);
 *   - the target must hold at least the rows the store recorded as copied up to K:
 *     the server's statistics first (live_rows_many: no scan), an exact count only when
 *     they show fewer.
 * When either fails the target lost rows (a table dropped and recreated, a failed-over
 * replica without the latest commits, a restore from an older backup, a crash of a server
 * that acknowledged commits it had not made durable). Then:
 *   - a table this task started into an empty target holds only this task's rows: they
 *     are removed and the table is copied again from the beginning (TL_VERDICT_RESTART);
 *   - with --recopy-lost, a keyed table is copied again from the beginning, its rows
 *     upserted over the target's, and a keyless one when its target is now empty
 *     (TL_VERDICT_RECOPY);
 *   - otherwise the run refuses the table, naming what was expected, what was found and
 *     how to go on (TL_VERDICT_REFUSE);
 *   - a position that no run of this task wrote (imported from resume.config or ape-dts'
 *     logs or table: the store has no statistics of the table) is taken at its writer's
 *     word, as ape-dts takes it: a warning, and the run resumes (TL_VERDICT_OK, lost).
 * Nothing here writes: the caller acts on the verdict (copy.c, plan.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "migrate/migrate.h"

const char *tl_verdict_name(enum tl_verdict v)
{
	switch (v) {
	case TL_VERDICT_RESTART: return "restart";
	case TL_VERDICT_RECOPY: return "recopy";
	case TL_VERDICT_REFUSE: return "refuse";
	default: return "ok";
	}
}

void tl_target_verdict_clear(tl_target_verdict *v)
{
	if (!v)
		return;
	free(v->message);
	memset(v, 0, sizeof(*v));
}

/* "(a, b) = (1, 'x')" of a key, for messages. */
static int key_text(const tl_keyvals *k, tl_buf *out, tl_error *err)
{
	size_t i;
	int rc = tl_buf_puts(out, k->n > 1 ? "(" : "", err);

	for (i = 0; !rc && i < k->n; i++)
		rc = tl_buf_printf(out, err, "%s%s", i ? ", " : "", k->cols[i]);
	if (!rc)
		rc = tl_buf_puts(out, k->n > 1 ? ") = (" : " = ", err);
	for (i = 0; !rc && i < k->n; i++)
		rc = tl_buf_printf(out, err, "%s%s", i ? ", " : "", k->vals[i] ? k->vals[i] : "NULL");
	if (!rc && k->n > 1)
		rc = tl_buf_putc(out, ')', err);
	return rc;
}

/*
 * The key whose row the checkpoint says is on the target: the resume key (batch mode), or
 * the partition column's recorded bound (split mode). *probe is lent (it->after) or filled
 * into `own`; NULL when there is nothing to look up: a split table read with a
 * [filter] where condition (the bound comes from the unfiltered column, so its row may
 * never have been copied).
 */
static int checkpoint_key(const tl_plan_item *it, tl_keyvals *own, const tl_keyvals **probe, tl_error *err)
{
	const char *col, *val;
	int rc;

	*probe = NULL;
	if (it->mode == TL_MODE_BATCH && it->after.n > 0) {
		*probe = &it->after;
		return 0;
	}
	if (it->mode != TL_MODE_SPLIT || !it->split_after || it->where || !tl_table_part(it->table))
		return 0;
	col = tl_table_part(it->table)->name;
	val = it->split_after;
	if ((rc = tl_keyvals_set(own, 1, &col, &val, err)))
		return rc;
	*probe = own;
	return 0;
}

/*
 * The checkpoint's key under the target table's column names ([router] col_map: the
 * position keeps the source's): *out is k itself, or `own` filled with the renamed columns.
 */
static int target_key(const tl_plan_item *it, const tl_keyvals *k, tl_keyvals *own, const tl_keyvals **out,
		      tl_error *err)
{
	const tl_table *rt = it->rtable ? it->rtable : it->table, *wt = it->wtable;
	const char **cols;
	size_t i, c;
	int rc;

	*out = k;
	if (!wt || wt == rt)
		return 0;
	if (!(cols = calloc(k->n ? k->n : 1, sizeof(*cols))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	/* a key that is no data column (a document's _id) is not renamed */
	for (i = 0; i < k->n; i++) {
		c = tl_table_col_index(rt, k->cols[i]);
		cols[i] = c != TL_NO_COL && c < wt->ncols ? wt->cols[c].name : k->cols[i];
	}
	if (!(rc = tl_keyvals_set(own, k->n, cols, (const char *const *)k->vals, err)))
		*out = own;
	free(cols);
	return rc;
}

/* Target rows: the statistics when they show at least `expected`, else an exact count. */
static int count_target(const tl_migrate_env *env, tl_conn *dst, const tl_table *t, int64_t expected, int64_t *found,
			int *exact, tl_error *err)
{
	tl_name name;
	int64_t live = -1;

	*exact = 0;
	name.schema = t->schema;
	name.name = t->name;
	if (env->dst.ops->live_rows_many && tl_driver_live_rows_many(&env->dst, dst, &name, 1, &live, NULL) == 0 &&
	    live >= expected) {
		*found = live;
		return 0;
	}
	*exact = 1;
	return tl_driver_count_rows(&env->dst, dst, t, found, err);
}

int tl_target_verdict_get(const tl_migrate_env *env, tl_conn *dst, const tl_plan_item *it, const tl_store_table *prior,
			  int recopy_lost, tl_target_verdict *out, tl_error *err)
{
	/* the target table under its routed names ([router], ignore_cols); its key columns are
	 * the source's at the same places */
	const tl_table *t = it->wtable ? it->wtable : it->table;
	tl_keyvals own = {0, NULL, NULL}, town = {0, NULL, NULL};
	const tl_keyvals *probe = NULL, *tprobe = NULL;
	tl_buf msg = TL_BUF_INIT;
	int64_t expected = prior && prior->rows_copied > 0 ? prior->rows_copied : -1;
	int ours = prior && prior->target_empty_at_start;
	int keyed = t && t->nkeys > 0 && env->cfg->replace;
	int exists = 1, exact = 0, rc = 0;

	memset(out, 0, sizeof(*out));
	out->expected = expected;
	out->found = -1;
	if (it->action != TL_ACT_RESUME || !t)
		return 0;
	if (env->dst.ops->key_exists) {
		if ((rc = checkpoint_key(it, &own, &probe, err)))
			goto cleanup;
		if (probe && ((rc = target_key(it, probe, &town, &tprobe, err)) ||
			      (rc = tl_driver_key_exists(&env->dst, dst, t, tprobe, &exists, err))))
			goto cleanup;
		out->key_missing = probe && !exists;
	}
	if (expected > 0 && (rc = count_target(env, dst, t, expected, &out->found, &exact, err)))
		goto cleanup;
	out->exact = exact;
	if (!out->key_missing && (expected <= 0 || out->found >= expected))
		goto cleanup; /* the target holds what the checkpoint says */

	/* what was expected and what was found */
	rc = tl_buf_printf(&msg, err, "the target lost rows since the last checkpoint: ");
	if (!rc && probe) {
		rc = tl_buf_puts(&msg, "the row with ", err);
		if (!rc)
			rc = key_text(tprobe ? tprobe : probe, &msg, err); /* the target's column names */
		if (!rc)
			rc = tl_buf_puts(&msg, out->key_missing ? " is missing" : " is there", err);
	}
	if (!rc && expected > 0)
		rc = tl_buf_printf(&msg, err, "%sthe target holds %s%lld rows where %lld were recorded as copied",
				   probe ? ", " : "", exact ? "" : "about ", (long long)out->found, (long long)expected);
	if (rc)
		goto cleanup;

	/* what the run does about it */
	if (!prior) {
		/* a position no run of this task wrote (resume.config, ape-dts' logs or table):
		 * its writer's word is taken, as ape-dts takes it, with a warning */
		out->verdict = TL_VERDICT_OK;
		rc = tl_buf_puts(&msg, "; the position was not written by a run of this task (imported), so the run "
				       "resumes after it as ape-dts would: run verify after the copy", err);
	} else if (ours && env->dst.ops->delete_after) {
		out->verdict = TL_VERDICT_RESTART;
		rc = tl_buf_puts(&msg, "; every row of the target table was written by this task (it was empty when the "
				       "task started it): they are removed and the table is copied again from the beginning",
				 err);
	} else if (recopy_lost && (keyed || (exact && out->found == 0))) {
		out->verdict = TL_VERDICT_RECOPY;
		rc = tl_buf_puts(&msg, keyed ? "; --recopy-lost: the table is copied again from the beginning, its rows "
					       "upserted over the target's"
					     : "; --recopy-lost: the target table is empty, the table is copied again from "
					       "the beginning",
				 err);
	} else {
		out->verdict = TL_VERDICT_REFUSE;
		rc = tl_buf_puts(&msg, keyed ? "; the target table held rows before this task started it, so the run "
					       "does not remove them: run with --recopy-lost to copy this table again from "
					       "the beginning (rows upserted over the target's), or --init to start the "
					       "whole task over"
					     : "; the table has no usable key and the target table held rows before this "
					       "task started it: empty the target table and run with --recopy-lost",
				 err);
	}
	out->lost = 1;
	if (!rc && !(out->message = tl_buf_detach(&msg)))
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
cleanup:
	tl_keyvals_clear(&own);
	tl_keyvals_clear(&town);
	tl_buf_release(&msg);
	if (rc) {
		tl_target_verdict_clear(out);
		tl_error_prefix(err, "checking the target of %s.%s", it->schema, it->tb);
	}
	return rc;
}

void tl_target_owner(const tl_config *cfg, char *out, size_t n)
{
	char host[256];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	snprintf(out, n, "tideline task '%s' (pid %ld on %s)", cfg->task_id, (long)getpid(), host);
}

int tl_target_durability_warning(const tl_migrate_env *env, tl_conn *dst, char **out, tl_error *err)
{
	*out = NULL;
	if (!env->dst.ops->durability_warning)
		return 0;
	return tl_driver_durability_warning(&env->dst, dst, out, err);
}

/* A finished table to copy again, remembered across the re-plan. */
struct recopy {
	char *schema, *tb, *why;
};

static void recopy_free(struct recopy *r, size_t n)
{
	size_t i;

	for (i = 0; r && i < n; i++) {
		free(r[i].schema);
		free(r[i].tb);
		free(r[i].why);
	}
	free(r);
}

int tl_target_recopy(const tl_migrate_env *env, tl_plan *plan, int move_logs, tl_error *err)
{
	const tl_config *cfg = env->cfg;
	struct recopy *todo = NULL;
	size_t i, j, n = 0;
	int rc = 0;

	for (i = 0; i < plan->n; i++)
		n += plan->items[i].action == TL_ACT_SKIP && plan->items[i].lost;
	if (n == 0)
		return 0;
	if (cfg->resume_type == TL_RESUME_FROM_TARGET || cfg->resume_type == TL_RESUME_FROM_DB) {
		for (i = 0; i < plan->n && !(plan->items[i].action == TL_ACT_SKIP && plan->items[i].lost); i++)
			;
		return tl_error_set(err, TL_ERR_UNSUPPORTED,
				    "--recopy-lost: table %s.%s lost rows since it finished, but its finished record is "
				    "also in ape-dts' table %s.%s, which a run reads again every time and cannot forget "
				    "one table of: delete its rows (position_key '%s-%s') there and run again, or run "
				    "with --init",
				    plan->items[i].schema, plan->items[i].tb, cfg->ape_schema, cfg->ape_table,
				    plan->items[i].schema, plan->items[i].tb);
	}
	if (!(todo = calloc(n, sizeof(*todo))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	for (i = 0, j = 0; i < plan->n; i++) {
		const tl_plan_item *it = &plan->items[i];
		if (it->action != TL_ACT_SKIP || !it->lost)
			continue;
		todo[j].schema = tl_strdup(it->schema);
		todo[j].tb = tl_strdup(it->tb);
		todo[j].why = tl_strdup(it->warning ? it->warning : "target lost rows since finished");
		if (!todo[j].schema || !todo[j].tb || !todo[j].why) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
			goto cleanup;
		}
		j++;
	}
	/* the run's own logs first: records of these tables must not come back from them */
	if (move_logs && (rc = tl_migrate_init_sources(env, "recopy-lost", err)))
		goto cleanup;
	for (i = 0; i < n && !rc; i++) {
		tl_log(env->log, TL_LOG_NOTICE, "table %s.%s: --recopy-lost: %s; copying it again from the beginning",
		       todo[i].schema, todo[i].tb, todo[i].why);
		rc = tl_store_forget_table(env->store, cfg->task_id, todo[i].schema, todo[i].tb, err);
	}
	if (rc)
		goto cleanup;
	tl_plan_clear(plan, &env->src);
	if ((rc = tl_migrate_plan(env, TL_PLAN_RECOPY_LOST, plan, err)))
		goto cleanup;
	/* say why in the new plan (unless it has a warning of its own: a refusal) */
	for (i = 0; i < plan->n && !rc; i++) {
		tl_plan_item *it = &plan->items[i];
		tl_buf b = TL_BUF_INIT;
		for (j = 0; j < n; j++)
			if (strcmp(it->schema, todo[j].schema) == 0 && strcmp(it->tb, todo[j].tb) == 0)
				break;
		if (j == n || it->warning)
			continue;
		it->lost = 1;
		if (!(rc = tl_buf_printf(&b, err, "--recopy-lost: %s; copied again from the beginning", todo[j].why)))
			it->warning = tl_buf_detach(&b);
		tl_buf_release(&b);
	}
cleanup:
	recopy_free(todo, n);
	return rc;
}
