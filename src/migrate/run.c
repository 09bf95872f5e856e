/*
 * run.c - runs a whole task (migrate.h) as a sequence of phases, each a function over
 * one `struct run`:
 *
 *   phase_open     the default.log sink, the store and its task lock, ape-dts' store
 *   phase_sources  --init: forget the task's progress (the import is part of the plan)
 *   phase_plan     tl_migrate_plan (shared with `tideline plan`, definitions included),
 *                  then what the plan's warnings mean for a run (a table that needs
 *                  --init refuses the run)
 *   phase_pre_data the recorder; opens PRE_DATA (schemas, types, tables without their
 *                  keys, ...) and TABLE_POST (keys, indexes) for the workers
 *   phase_copy     parallel_size workers, each with its own source and target
 *                  connections, take ready definition steps first, then claim a table
 *                  whose PRE_DATA steps are done (largest first) and copy it with
 *                  table_job (the per-table unit of work: tl_retry_copy, i.e. tl_copy_table
 *                  through transient failures: a retry reconnects and continues the table
 *                  from its last recorded position; definition steps already done stay
 *                  done, as they are recorded in the store);
 *                  a table's TABLE_POST steps become ready as soon as its rows are in.
 *                  When every table is copied and keyed, a worker opens POST_DATA
 *                  (foreign keys, triggers, views, ...), then FINAL (sequence and counter
 *                  values read again from the source) (advance)
 *   phase_summary  one line per table, the definitions and the checkpoint cost, in the log
 *
 * Per-table work (a target check at its start, retries) goes into table_job. A fleet's
 * worker (run --worker) runs fleet_worker_main instead: items claimed from the shared store
 * (fleet.c), and each definition step once for the whole fleet (tl_fleet_step): tables
 * after every PRE_DATA step, POST_DATA and FINAL once the store has every table done
 * (fleet_defs_turn, fleet_tables_over). The first failure stops the other workers after
 * their current batch or step (abort_all); a stop signal does the same after recording
 * positions.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "migrate/migrate.h"
#include "tideline/ratelimit.h"

/* What a fleet worker did with one item (run --worker; summed per table for the summary). */
struct fleet_done {
	char *schema, *tb;
	int64_t rows;
	int64_t resent; /* rows past the last record of a try that failed transiently */
	double seconds;
	int chunk;
};

struct run {
	const tl_migrate_opts *opts;
	tl_migrate_env env;
	int locked;          /* the store's task lock is ours */
	tl_fleet *fleet;     /* run --worker: this worker of the task's fleet (fleet.c), else NULL */
	struct fleet_done *done_items; /* (under mu) */
	size_t ndone, capdone;
	tl_plan plan;
	tl_recorder *rec;
	char owner[512];     /* this run in the claims on target tables (tl_target_owner) */
	tl_copy_result *results; /* per plan item */
	tl_retry *retry;     /* retry limits and counters (retry.c) */
	size_t todo;         /* tables to copy and their estimated rows left, for the progress */
	int64_t est_rows;    /* line (counted before the workers start: a retry replans its item) */
	tl_watch *watch;     /* per-batch deadline, NULL when off */

	/* the worker pool (phase_copy) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t *order;       /* the plan items to copy, in claim order (phase_copy) */
	size_t norder;
	unsigned char *taken;/* order[i] was claimed (under mu) */
	size_t next;         /* first of order[] not claimed (under mu) */
	size_t copying;      /* workers copying a table now (under mu; chunk mode copies one at a time) */
	int advancing;       /* a worker reads the final values again (under mu) */
	int tables_over;     /* a fleet's: the store has no table or chunk left to copy (under mu) */
	size_t *by_name;     /* a fleet's: plan item indices sorted by schema and table (items_sorted) */
	int abort_all;       /* a worker failed: the others stop (atomic) */
	int64_t total_rows;  /* rows written by this run (atomic) */
	size_t tables_done;  /* (atomic) */
	int done;            /* workers joined: the progress thread ends (under mu) */
	int rc;              /* first failure (under mu) */
	tl_error err;
};

int tl_migrate_env_bind(tl_migrate_env *env, const tl_config *cfg, const tl_migrate_opts *opts, tl_error *err)
{
	const tl_registry *reg = opts ? opts->registry : NULL;
	tl_fault *fault = opts ? opts->fault : NULL;
	tl_logger *log = opts ? opts->log : NULL;
	tl_logger *trace = opts && opts->trace ? log : NULL;
	int rc;

	memset(env, 0, sizeof(*env));
	env->cfg = cfg;
	env->log = log;
	env->fault = fault;
	if ((rc = tl_driver_bind(&env->src, reg, cfg->src_db_type, fault, trace, err)) ||
	    (rc = tl_driver_bind(&env->dst, reg, cfg->dst_db_type, fault, trace, err)))
		return tl_error_prefix(err, "%s", cfg->path);
	if (env->src.ops != env->dst.ops)
		return tl_error_set(err, TL_ERR_UNSUPPORTED, "%s: copying %s to %s is not supported (same kind only)",
				    cfg->path, env->src.ops->name, env->dst.ops->name);
	if (cfg->resume_type == TL_RESUME_FROM_TARGET || cfg->resume_type == TL_RESUME_FROM_DB) {
		if ((rc = tl_driver_bind(&env->ape, reg, cfg->resume_db_type, fault, trace, err)))
			return tl_error_prefix(err, "%s: [resumer]", cfg->path);
		if (!(env->ape.ops->caps & TL_CAP_APE_STORE))
			return tl_error_set(err, TL_ERR_UNSUPPORTED, "%s: [resumer] db_type %s cannot hold ape-dts' table",
					    cfg->path, cfg->resume_db_type);
	}
	return 0;
}

int tl_migrate_env_ape_open(tl_migrate_env *env, tl_error *err)
{
	const tl_config *cfg = env->cfg;
	tl_endpoint ep = tl_config_resumer(cfg);
	int rc;

	if (!env->ape.ops || env->ape_conn)
		return 0;
	if ((rc = tl_driver_connect(&env->ape, &ep, &env->ape_conn, err)))
		return rc;
	return tl_driver_ape_store_init(&env->ape, env->ape_conn, cfg->ape_schema, cfg->ape_table, err);
}

int tl_migrate_env_rates(tl_migrate_env *env, tl_error *err)
{
	const tl_config *cfg = env->cfg;
	uint64_t rps = tl_config_rows_per_sec(cfg), bps = tl_config_bytes_per_sec(cfg);
	uint64_t batch = cfg->extract_batch_size ? cfg->extract_batch_size : 1;
	int rc;

	/* one batch may go at once (or one second of rows when that is less: then batches
	 * are read no larger), so a source never sees more than one batch beyond the rate */
	env->rate_burst = rps && rps < batch ? rps : batch;
	if (rps && (rc = tl_rate_new(&env->rate_rows, rps, env->rate_burst, NULL, err)))
		return tl_error_prefix(err, "%s: max_rps", cfg->path);
	if (bps && (rc = tl_rate_new(&env->rate_bytes, bps, bps, NULL, err)))
		return tl_error_prefix(err, "%s: max_mbps", cfg->path);
	if (rps)
		tl_log(env->log, TL_LOG_INFO, "rate limit: %llu rows/s for the whole run (batches of at most %llu rows)",
		       (unsigned long long)rps, (unsigned long long)env->rate_burst);
	if (bps)
		tl_log(env->log, TL_LOG_INFO, "rate limit: %llu MiB/s of row data for the whole run",
		       (unsigned long long)(bps >> 20));
	return 0;
}

void tl_migrate_env_release(tl_migrate_env *env)
{
	tl_rate_free(env->rate_rows);
	tl_rate_free(env->rate_bytes);
	env->rate_rows = env->rate_bytes = NULL;
	if (env->ape_conn)
		tl_driver_disconnect(&env->ape, env->ape_conn);
	env->ape_conn = NULL;
	tl_store_close(env->store);
	env->store = NULL;
}

static void fail(struct run *r, int rc, const tl_error *e)
{
	pthread_mutex_lock(&r->mu);
	if (!r->rc || (r->rc == TL_ERR_INTERRUPTED && rc != TL_ERR_INTERRUPTED)) {
		r->rc = rc;
		r->err = *e;
	}
	__atomic_store_n(&r->abort_all, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&r->mu);
	if (r->plan.defs)
		tl_defs_wake(r->plan.defs);
}

/* A short pause of a worker waiting for a table it may claim (50 ms, or opts->idle_nap_secs). */
static void nap(const struct run *r)
{
	double secs = r->opts->idle_nap_secs > 0 ? r->opts->idle_nap_secs : 0.05;
	struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};

	nanosleep(&ts, NULL);
}

/* How far ahead of the first unclaimed table claim() looks for one whose definitions are made. */
#define CLAIM_WINDOW 64

/*
 * The next table to copy, or NULL when there is none now or the run stops; *more says
 * whether tables are left to claim later: one whose definitions (PRE_DATA steps) are not
 * made yet, or any while chunk mode copies one table at a time (its ranges use the
 * parallel_size threads).
 */
static tl_plan_item *claim(struct run *r, size_t *idx, int *more)
{
	tl_defs *defs = r->plan.defs;
	tl_plan_item *it = NULL;
	int one_at_a_time = r->env.cfg->parallel_type == TL_PAR_CHUNK;
	size_t k;

	pthread_mutex_lock(&r->mu);
	while (r->next < r->norder && r->taken[r->next])
		r->next++;
	*more = r->next < r->norder && !tl_migrate__stopping(r->opts->stop, &r->abort_all);
	if (*more && !(one_at_a_time && r->copying)) {
		for (k = r->next; k < r->norder && k < r->next + CLAIM_WINDOW; k++) {
			if (r->taken[k] || (defs && !tl_defs_item_made(defs, r->order[k])))
				continue;
			r->taken[k] = 1;
			*idx = r->order[k];
			it = &r->plan.items[*idx];
			r->copying++;
			break;
		}
		while (r->next < r->norder && r->taken[r->next])
			r->next++;
		*more = r->next < r->norder;
	}
	pthread_mutex_unlock(&r->mu);
	return it;
}

static void copied(struct run *r)
{
	pthread_mutex_lock(&r->mu);
	r->copying--;
	pthread_mutex_unlock(&r->mu);
	if (r->plan.defs)
		tl_defs_wake(r->plan.defs);
}

/* Every table claimed and copied (under mu): for a fleet, by every worker (the store says so). */
static int copies_done(const struct run *r)
{
	if (r->fleet)
		return r->tables_over;
	return r->next >= r->norder && r->copying == 0;
}

/*
 * Opens the definition phases that come after the rows once nothing before them is left:
 * POST_DATA when every table is copied and keyed, then FINAL with the values read again
 * from the source over this worker's connection. 1 when it opened one, 0 when there is
 * nothing to open now, or the error.
 */
static int advance(struct run *r, tl_conn *src, tl_error *err)
{
	tl_defs *d = r->plan.defs;
	int rc = 0;

	pthread_mutex_lock(&r->mu);
	if (!d || r->advancing || !copies_done(r) || tl_migrate__stopping(r->opts->stop, &r->abort_all) ||
	    tl_defs_left(d, TL_PHASE_PRE_DATA) || tl_defs_left(d, TL_PHASE_TABLE_POST) ||
	    tl_defs_is_open(d, TL_PHASE_FINAL)) {
		pthread_mutex_unlock(&r->mu);
		return 0;
	}
	if (!tl_defs_is_open(d, TL_PHASE_POST_DATA)) {
		tl_defs_open(d, TL_PHASE_POST_DATA);
		pthread_mutex_unlock(&r->mu);
		return 1;
	}
	if (tl_defs_left(d, TL_PHASE_POST_DATA)) {
		pthread_mutex_unlock(&r->mu);
		return 0;
	}
	r->advancing = 1;
	pthread_mutex_unlock(&r->mu);
	rc = tl_defs_refresh_final(&r->env, d, &r->plan, src, err);
	pthread_mutex_lock(&r->mu);
	r->advancing = 0;
	if (!rc)
		tl_defs_open(d, TL_PHASE_FINAL);
	pthread_mutex_unlock(&r->mu);
	return rc ? rc : 1;
}

/* Nothing is left to do: every table copied and every definition phase run. */
static int all_done(struct run *r)
{
	tl_defs *d = r->plan.defs;
	int done;

	pthread_mutex_lock(&r->mu);
	done = copies_done(r) && !r->advancing &&
	       (!d || (tl_defs_is_open(d, TL_PHASE_FINAL) && tl_defs_outstanding(d) == 0));
	pthread_mutex_unlock(&r->mu);
	return done;
}

/* The copy context of a worker; src and dst are its connections. */
static void worker_ctx(struct run *r, tl_copy_ctx *ctx, tl_conn *src, tl_conn *dst)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->env = &r->env;
	ctx->src = src;
	ctx->dst = dst;
	ctx->rec = r->rec;
	ctx->stop = r->opts->stop;
	ctx->abort_all = &r->abort_all;
	ctx->total_rows = &r->total_rows;
	ctx->owner = r->owner;
	ctx->recopy_lost = r->opts->recopy_lost;
	ctx->retry = r->retry;
	ctx->watch = r->watch;
}

/*
 * The per-table unit of work: copies plan item idx over this worker's connections,
 * through transient failures (retry.c: *src and *dst may be replaced by new connections).
 */
static int table_job(struct run *r, tl_conn **src, tl_conn **dst, size_t idx, tl_error *err)
{
	tl_plan_item *it = &r->plan.items[idx];
	tl_copy_result *res = &r->results[idx];
	tl_copy_ctx ctx;
	int rc;

	worker_ctx(r, &ctx, *src, *dst);
	rc = tl_retry_copy(&ctx, it, res, err);
	*src = ctx.src;
	*dst = ctx.dst;
	if (rc)
		return rc;
	__atomic_add_fetch(&r->tables_done, 1, __ATOMIC_RELAXED);
	tl_log(r->env.log, TL_LOG_INFO, "table %s.%s finished: %lld rows in %.2f s%s", it->schema, it->tb,
	       (long long)res->rows, res->seconds, res->retries ? " (after transient failures)" : "");
	return 0;
}

struct worker {
	pthread_t th;
	struct run *r;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	const tl_migrate_env *env = &r->env;
	tl_endpoint src_ep, dst_ep;
	tl_conn *src = NULL, *dst = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_copy_ctx ctx;
	tl_plan_item *it;
	size_t idx = 0;
	int rc;

	worker_ctx(r, &ctx, NULL, NULL);
	/* the target's sessions carry this run's name (MySQL shows it to a refused task) */
	src_ep = tl_retry_endpoint(&ctx, 0);
	dst_ep = tl_retry_endpoint(&ctx, 1);
	if ((rc = tl_retry_connect(&ctx, &env->src, &src_ep, "source", &src, &err)) ||
	    (rc = tl_retry_connect(&ctx, &env->dst, &dst_ep, "target", &dst, &err))) {
		fail(r, rc, &err);
		goto cleanup;
	}
	/* definitions first (they make tables to copy and free the steps after them), then
	 * tables whose definitions are made, then the phases after the rows */
	for (;;) {
		tl_defs *defs = r->plan.defs;
		size_t step = TL_SCHEMA_NO_OWNER;
		int more = 0;

		if (tl_migrate__stopping(r->opts->stop, &r->abort_all))
			break;
		if (defs && (step = tl_defs_next(defs)) != TL_SCHEMA_NO_OWNER) {
			if ((rc = tl_defs_apply(env, defs, r->rec, dst, step, &err))) {
				fail(r, rc, &err);
				break;
			}
			continue;
		}
		if ((it = claim(r, &idx, &more)) != NULL) {
			rc = table_job(r, &src, &dst, idx, &err);
			copied(r);
			if (rc) {
				fail(r, rc, &err);
				break;
			}
			if (defs)
				tl_defs_table_ready(defs, idx);
			continue;
		}
		if ((rc = advance(r, src, &err)) < 0) {
			fail(r, rc, &err);
			break;
		}
		if (rc > 0)
			continue;
		if (!more && all_done(r))
			break;
		if (defs)
			tl_defs_wait(defs);
		else
			nap(r);
	}
cleanup:
	tl_driver_disconnect(&env->src, src);
	tl_driver_disconnect(&env->dst, dst);
	return NULL;
}

static void fleet_done_free(struct run *r)
{
	size_t i;

	for (i = 0; i < r->ndone; i++) {
		free(r->done_items[i].schema);
		free(r->done_items[i].tb);
	}
	free(r->done_items);
	r->done_items = NULL;
	r->ndone = r->capdone = 0;
}

/* Notes what a fleet worker's thread did with an item (for the summary); best effort. */
static void fleet_done_add(struct run *r, const tl_fleet_work *w, const tl_copy_result *res)
{
	struct fleet_done *d;

	pthread_mutex_lock(&r->mu);
	if (r->ndone == r->capdone) {
		size_t ncap = r->capdone ? 2 * r->capdone : 64;
		struct fleet_done *nv = realloc(r->done_items, ncap * sizeof(*nv));

		if (!nv) {
			pthread_mutex_unlock(&r->mu);
			return;
		}
		r->done_items = nv;
		r->capdone = ncap;
	}
	d = &r->done_items[r->ndone];
	d->schema = tl_strdup(w->schema ? w->schema : "");
	d->tb = tl_strdup(w->tb ? w->tb : "");
	d->rows = res->rows;
	d->resent = res->resent;
	d->seconds = res->seconds;
	d->chunk = w->chunk;
	if (d->schema && d->tb)
		r->ndone++;
	else {
		free(d->schema);
		free(d->tb);
	}
	pthread_mutex_unlock(&r->mu);
}

/* ---- a fleet's definition steps (run --worker of a task that creates them) ---------------- */

static int cmp_item_name(const void *a, const void *b, const tl_plan *p)
{
	const tl_plan_item *x = &p->items[*(const size_t *)a], *y = &p->items[*(const size_t *)b];
	int c = strcmp(x->schema, y->schema);

	return c ? c : strcmp(x->tb, y->tb);
}

/* The plan items sorted by name (r->by_name), for the tables the fleet's items name. */
static int items_sorted(struct run *r, tl_error *err)
{
	size_t i, j, n = r->plan.n;

	if (!(r->by_name = calloc(n ? n : 1, sizeof(*r->by_name))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++)
		r->by_name[i] = i;
	/* shell sort: qsort has no context argument in C11 */
	for (j = n / 2; j > 0; j /= 2)
		for (i = j; i < n; i++) {
			size_t v = r->by_name[i], k = i;

			for (; k >= j && cmp_item_name(&v, &r->by_name[k - j], &r->plan) < 0; k -= j)
				r->by_name[k] = r->by_name[k - j];
			r->by_name[k] = v;
		}
	return 0;
}

/* The plan item of schema.tb, or r->plan.n when the plan has none. */
static size_t item_named(const struct run *r, const char *schema, const char *tb)
{
	size_t lo = 0, hi = r->plan.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const tl_plan_item *it = &r->plan.items[r->by_name[mid]];
		int c = strcmp(it->schema, schema);

		if (!c)
			c = strcmp(it->tb, tb);
		if (!c)
			return r->by_name[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return r->plan.n;
}

struct fleet_step {
	struct run *r;
	tl_conn *dst;
	size_t i;
};

/* Applies a step claimed for the fleet; its record is in the store before its item is done. */
static int fleet_step_apply(void *arg, tl_error *err)
{
	struct fleet_step *s = arg;
	tl_defs *d = s->r->plan.defs;
	int rc;

	if ((rc = tl_defs_apply(&s->r->env, d, s->r->rec, s->dst, s->i, err)))
		return rc;
	return tl_defs_flush(d, s->r->rec, s->r->env.cfg->task_id, err);
}

/*
 * Step i (taken by tl_defs_next) once for the whole fleet: applied here when this worker
 * claims it, taken as done when another worker did it (tl_fleet_step): 0; put back in the
 * queue while another worker runs it (the thread does other work meanwhile): 1; or the error.
 */
static int fleet_step(struct run *r, tl_conn *dst, size_t i, size_t *held, tl_error *err)
{
	struct timespec pause = {0, 250 * 1000 * 1000};
	struct fleet_step s;
	int ran = 0, rc;

	s.r = r;
	s.dst = dst;
	s.i = i;
	rc = tl_fleet_step(r->fleet, r->plan.defs->list.items[i].id, fleet_step_apply, &s, TL_FLEET_STEP_NOWAIT,
			   r->opts->stop, &r->abort_all, &ran, err);
	if (rc == TL_ERR_LOCKED && !ran) {
		/* another worker runs it: take the other ready steps meanwhile, this one again later;
		 * a pause once every ready step was found held */
		tl_defs_requeue(r->plan.defs, i);
		if (++*held > tl_defs_ready(r->plan.defs)) {
			nanosleep(&pause, NULL);
			*held = 0;
		}
		return 1;
	}
	*held = 0;
	if (rc == TL_ERR_LOCKED && ran) {
		/* applied here, but the lease was lost meanwhile: its taker applies it again (idempotent) */
		tl_log(r->env.log, TL_LOG_WARN, "definitions: %s: %s", r->plan.defs->list.items[i].id, err->message);
		return 0;
	}
	if (!rc && !ran)
		tl_defs_done_elsewhere(r->plan.defs, i);
	return rc;
}

/*
 * A fleet thread found nothing left to claim: asks the store whether every table and chunk
 * of the task is done (by any worker). Then every table's rows are in: their TABLE_POST
 * steps may run, and POST_DATA and FINAL after them (advance). A failed item stops this:
 * the steps after the rows wait for it.
 */
static int fleet_tables_over(struct run *r, tl_error *err)
{
	int64_t open = 0, failed = 0;
	size_t i;
	int rc, first;

	if ((rc = tl_fleet_items_left(r->fleet, &open, &failed, err)))
		return rc;
	if (failed)
		return tl_error_set(err, TL_ERR_MISMATCH,
				    "%lld table or chunk item%s of task '%s' failed, so the definitions that come after the "
				    "rows (foreign keys, triggers, sequence values, ...) are not applied: fix the cause and "
				    "start a worker again (failed items are tried again)",
				    (long long)failed, failed == 1 ? "" : "s", r->env.cfg->task_id);
	if (open) {
		/* added meanwhile (a table being cut): claim again */
		nap(r);
		return 0;
	}
	pthread_mutex_lock(&r->mu);
	first = !r->tables_over;
	r->tables_over = 1;
	pthread_mutex_unlock(&r->mu);
	if (first) {
		tl_log(r->env.log, TL_LOG_INFO, "worker '%s': every table of the task is copied (by the fleet)",
		       r->opts->worker);
		for (i = 0; i < r->plan.n; i++)
			tl_defs_table_ready(r->plan.defs, i);
	}
	return 0;
}

/*
 * The definition side of a fleet thread's loop, before it claims a table: 1 when it did
 * something (a step, a phase opened, a wait) and should loop again, 0 when it may claim a
 * table, 2 when everything is done, or the error. Tables are claimed once every PRE_DATA
 * step is done (by any worker); after the tables, the phases that follow them.
 */
static int fleet_defs_turn(struct run *r, tl_conn *src, tl_conn *dst, size_t *held, tl_error *err)
{
	tl_defs *defs = r->plan.defs;
	size_t step;
	int over, rc;

	if (!defs)
		return 0;
	pthread_mutex_lock(&r->mu);
	over = r->tables_over;
	pthread_mutex_unlock(&r->mu);
	if ((step = tl_defs_next(defs)) != TL_SCHEMA_NO_OWNER) {
		if ((rc = fleet_step(r, dst, step, held, err)) < 0)
			return rc;
		/* held by another worker: a table may be claimed meanwhile */
		return rc == 1 && !over && !tl_defs_left(defs, TL_PHASE_PRE_DATA) ? 0 : 1;
	}
	if (over) {
		if ((rc = advance(r, src, err)) != 0)
			return rc;
		if (all_done(r))
			return 2;
	} else if (!tl_defs_left(defs, TL_PHASE_PRE_DATA)) {
		return 0;
	}
	tl_defs_wait(defs);
	return 1;
}

/*
 * A thread of a fleet worker (run --worker): claims items of the task's fleet until none
 * is left and does each on its own connections (fleet.c). A lost or given-back item is
 * not a failure; after a transient one the connections are opened again. A task that
 * creates definitions runs them first, in between and after (fleet_defs_turn).
 */
static void *fleet_worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	const tl_migrate_env *env = &r->env;
	tl_endpoint src_ep, dst_ep;
	tl_conn *src = NULL, *dst = NULL;
	tl_fleet_cache *cache = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_copy_ctx base;
	size_t held = 0; /* steps found held by other workers in a row (fleet_step) */
	unsigned attempt = 0;
	double t0 = 0;
	int rc;

	worker_ctx(r, &base, NULL, NULL);
	/* the endpoints as a run's workers have them (the deadline's bound, the dead-peer bound) */
	src_ep = tl_retry_endpoint(&base, 0);
	dst_ep = tl_retry_endpoint(&base, 1);
	/* No claims on target tables here: a claim is one connection's, and a fleet writes a
	 * table's chunks from many; the store's lease is the one holder of an item, and a holder
	 * cut off keeps its session's claim until the target server notices, which would block
	 * the takeover (docs/fleet.md). */
	base.owner = NULL;
	for (;;) {
		tl_fleet_work work;
		tl_copy_result res;
		tl_copy_ctx ctx;
		char what[300];
		int done_rc, next;

		/* a server that is restarting: the same retries as a run's workers (retry.c) */
		if ((!src && (rc = tl_retry_connect(&base, &env->src, &src_ep, "source", &src, &err))) ||
		    (!dst && (rc = tl_retry_connect(&base, &env->dst, &dst_ep, "target", &dst, &err)))) {
			if (rc != TL_ERR_INTERRUPTED)
				fail(r, rc, &err);
			break;
		}
		if (tl_migrate__stopping(r->opts->stop, &r->abort_all))
			break;
		if ((rc = fleet_defs_turn(r, src, dst, &held, &err)) == 1)
			continue;
		if (rc == 2)
			break;
		if (rc) {
			if (rc != TL_ERR_INTERRUPTED)
				fail(r, rc, &err);
			break;
		}
		if ((rc = tl_fleet_claim(r->fleet, r->opts->stop, &r->abort_all, &work, &err))) {
			if (rc == TL_ERR_NOTFOUND && r->plan.defs) {
				/* nothing to claim: are the tables over for the whole fleet? */
				if ((rc = fleet_tables_over(r, &err)) == 0)
					continue;
				fail(r, rc, &err);
				break;
			}
			if (rc == TL_ERR_INTERRUPTED && tl_fleet_evicted(r->fleet)) {
				tl_error_set(&err, TL_ERR_LOCKED, "worker '%s' was taken over by another process",
					     r->opts->worker);
				fail(r, TL_ERR_LOCKED, &err);
			} else if (rc != TL_ERR_NOTFOUND && rc != TL_ERR_INTERRUPTED)
				fail(r, rc, &err);
			break;
		}
		ctx = base;
		ctx.src = src;
		ctx.dst = dst;
		memset(&res, 0, sizeof(res));
		done_rc = tl_fleet_do(r->fleet, &work, &ctx, &cache, &res, &err);
		/* a transient failure: the item goes back, and is copied on from its last record */
		if (done_rc && tl_error_is_transient(&err)) {
			res.rows -= res.unrecorded;
			res.resent = res.unrecorded;
		}
		if (!done_rc && !work.chunk)
			__atomic_add_fetch(&r->tables_done, 1, __ATOMIC_RELAXED);
		/* its rows are in: its keys and indexes may be built (by this worker or another) */
		if (!done_rc && work.finished && r->plan.defs)
			tl_defs_table_ready(r->plan.defs, item_named(r, work.schema, work.tb));
		fleet_done_add(r, &work, &res);
		snprintf(what, sizeof(what), "%s %s.%s", work.chunk ? "a chunk of table" : "table", work.schema, work.tb);
		if ((next = tl_fleet_end(r->fleet, &work, done_rc, &err))) {
			if (next != TL_ERR_INTERRUPTED)
				fail(r, next, &err);
			break;
		}
		if (!done_rc || !tl_error_is_transient(&err))
			continue;
		/*
		 * A transient failure: the item went back to the fleet (any worker takes it on from
		 * its last record). This thread closes its connections, which may be gone, and waits
		 * as a run's worker would before connecting again; the outage's budget
		 * ([pipeline] retry_max_attempts, retry_max_secs) starts again after progress.
		 */
		if (res.rows > 0 || t0 == 0) {
			t0 = tl_migrate__now();
			attempt = 0;
		}
		tl_fleet_cache_free(r->fleet, cache);
		cache = NULL;
		tl_driver_disconnect(&env->src, src);
		tl_driver_disconnect(&env->dst, dst);
		src = dst = NULL;
		if ((rc = tl_retry_wait(r->retry, r->opts->stop, &r->abort_all, &attempt, t0, what, done_rc, &err))) {
			if (rc != TL_ERR_INTERRUPTED)
				fail(r, rc, &err);
			break;
		}
	}
	tl_fleet_cache_free(r->fleet, cache);
	tl_driver_disconnect(&env->src, src);
	tl_driver_disconnect(&env->dst, dst);
	return NULL;
}

/*
 * Progress: on a terminal one redrawn line on stderr every second; otherwise a log line
 * every 10 seconds. Rates are over the last ~10 s; the ETA divides the estimated rows
 * left (sum of the tables' estimates) by that rate.
 */
static void *progress_main(void *arg)
{
	struct run *r = arg;
	int tty = r->opts->progress_tty;
	double period = tty ? 1.0 : 10.0;
	int64_t est = r->est_rows, prev = 0;
	size_t todo = r->todo;
	struct timespec until;
	double start, prev_t = 0;

	start = tl_migrate__now();
	pthread_mutex_lock(&r->mu);
	while (!r->done) {
		double t, rate;
		int64_t rows;
		char eta[32] = "?", retries[400] = "", last[300];
		long nretry;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)period;
		pthread_cond_timedwait(&r->cv, &r->mu, &until);
		if (r->done)
			break;
		t = tl_migrate__now() - start;
		rows = __atomic_load_n(&r->total_rows, __ATOMIC_RELAXED);
		rate = t - prev_t > 0 ? (double)(rows - prev) / (t - prev_t) : 0;
		prev = rows;
		prev_t = t;
		if (rate > 0 && est > rows) {
			long s = (long)((double)(est - rows) / rate);
			snprintf(eta, sizeof(eta), "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
		}
		/* retries so far and the last one's cause (the log has each one) */
		if ((nretry = tl_retry_count(r->retry, last, sizeof(last))) > 0)
			snprintf(retries, sizeof(retries), ", %ld %s (last: %.*s)", nretry, nretry == 1 ? "retry" : "retries",
				 tty ? 60 : 240, last);
		if (tty) {
			fprintf(stderr, "\r\033[Ktideline: tables %zu/%zu, %lld rows, %.0f rows/s, ETA %s%s",
				__atomic_load_n(&r->tables_done, __ATOMIC_RELAXED), todo, (long long)rows, rate, eta,
				retries);
			fflush(stderr);
		} else {
			tl_log(r->env.log, TL_LOG_NOTICE, "progress: tables %zu/%zu, %lld rows, %.0f rows/s, ETA %s%s",
			       __atomic_load_n(&r->tables_done, __ATOMIC_RELAXED), todo, (long long)rows, rate, eta,
			       retries);
		}
	}
	pthread_mutex_unlock(&r->mu);
	if (tty) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
	return NULL;
}

static int phase_open(struct run *r, tl_error *err)
{
	const tl_config *cfg = r->env.cfg;
	const tl_migrate_opts *opts = r->opts;
	tl_store_lock_info lock;
	char path[4096];
	int rc;

	memset(&lock, 0, sizeof(lock));
	if ((rc = tl_migrate__mkdir_p(cfg->log_dir, err)))
		return rc;
	snprintf(path, sizeof(path), "%s/default.log", cfg->log_dir);
	if (opts->log && (rc = tl_logger_open_file(opts->log, path, err)))
		return rc;
	const char *store_path = opts->store_path ? opts->store_path : cfg->store_path;

	/* a worker rides out a store server's blips from its start (fleet.c) */
	if ((rc = opts->worker ? tl_fleet_open_store(r->env.log, opts->worker, store_path, &r->env.store, err)
			       : tl_store_open(&r->env.store, store_path, 0, err)))
		return rc;
	if (opts->worker) {
		/* a fleet shares the task lock; joining takes it (and forgets the task with --init) */
		if ((rc = tl_fleet_new(&r->fleet, &r->env, store_path, opts->worker, opts->init, &r->total_rows, err)))
			return rc;
		return tl_migrate_env_ape_open(&r->env, err);
	}
	if ((rc = tl_store_lock_task_ex(r->env.store, cfg->task_id, 0, &lock, err)))
		return rc;
	r->locked = 1;
	if (lock.taken_over)
		tl_log(r->env.log, TL_LOG_WARN,
		       "task '%s': took over the lock of pid %ld on %s (started %s): %s; its progress up to its last "
		       "recorded position is kept",
		       cfg->task_id, lock.pid, lock.host[0] ? lock.host : "?", lock.started_at[0] ? lock.started_at : "?",
		       lock.reason);
	return tl_migrate_env_ape_open(&r->env, err);
}

static int phase_sources(struct run *r, tl_error *err)
{
	const tl_config *cfg = r->env.cfg;
	int rc;

	if (!r->opts->init)
		return 0;
	tl_log(r->env.log, TL_LOG_NOTICE, "--init: forgetting the progress of task '%s'", cfg->task_id);
	/* a fleet worker forgot it when it joined (tl_fleet_new), when no other worker ran */
	if ((!r->fleet && (rc = tl_store_forget_task(r->env.store, cfg->task_id, err))) ||
	    (rc = tl_migrate_init_sources(&r->env, "init", err)))
		return rc;
	if (r->env.ape_conn &&
	    (rc = tl_driver_ape_store_forget(&r->env.ape, r->env.ape_conn, cfg->ape_schema, cfg->ape_table, cfg->task_id,
					     err)))
		return rc;
	return 0;
}

static int phase_plan(struct run *r, tl_error *err)
{
	double t0 = tl_migrate__now();
	unsigned attempt = 0;
	size_t i;
	int rc;

	/* a server that is restarting or failing over when the run starts: the same retries */
	while ((rc = tl_migrate_plan(&r->env,
				     (r->opts->init ? 0 : TL_PLAN_IMPORT) | (r->opts->recopy_lost ? TL_PLAN_RECOPY_LOST : 0) |
					     TL_PLAN_RECORD,
				     &r->plan, err)))
		if ((rc = tl_retry_wait(r->retry, r->opts->stop, NULL, &attempt, t0, "planning the run", rc, err)))
			return rc;
	if (r->opts->recopy_lost && (rc = tl_target_recopy(&r->env, &r->plan, 1, err)))
		return rc;
	/* once per run: a target that can lose acknowledged commits (no session can change it) */
	if (r->plan.durability_warning)
		tl_log(r->env.log, TL_LOG_WARN, "%s", r->plan.durability_warning);
	for (i = 0; i < r->plan.n; i++) {
		tl_plan_item *it = &r->plan.items[i];
		if (!it->warning)
			continue;
		/* a resumed table that starts over says so when it starts (checked again then) */
		if (!(it->action == TL_ACT_RESUME && it->lost && !it->refuse))
			tl_log(r->env.log, TL_LOG_WARN, "table %s.%s: %s", it->schema, it->tb, it->warning);
		/* --init forgets this task's progress, not the target's rows: it refuses too */
		if (it->refuse)
			return tl_error_set(err, TL_ERR_MISMATCH, "table %s.%s: %s", it->schema, it->tb, it->warning);
	}
	if (r->fleet) {
		if (r->plan.defs && ((rc = items_sorted(r, err)) || (rc = tl_fleet_reopen_steps(r->fleet, r->plan.defs, err))))
			return rc;
		return tl_fleet_add_plan(r->fleet, &r->plan, err);
	}
	return 0;
}

/*
 * The definition steps rows need come first: the recorder (their records go through it),
 * what the target may do with the rows (logged), then PRE_DATA and TABLE_POST are opened
 * for the workers of phase_copy, which take steps and tables as their dependencies allow.
 */
static int phase_pre_data(struct run *r, tl_error *err)
{
	tl_defs *defs = r->plan.defs;
	size_t i;
	int rc;

	if ((rc = tl_recorder_new(&r->rec, &r->env, err)))
		return rc;
	if (!defs)
		return 0;
	for (i = 0; i < defs->nnotes; i++)
		tl_log(r->env.log, TL_LOG_WARN, "%s", defs->notes[i]);
	if (!defs->fk_checks && !defs->triggers)
		tl_log(r->env.log, TL_LOG_INFO, "target sessions write rows without foreign key checks and triggers");
	tl_defs_open(defs, TL_PHASE_PRE_DATA);
	tl_defs_open(defs, TL_PHASE_TABLE_POST);
	for (i = 0; i < r->plan.n; i++)
		if (r->plan.items[i].action == TL_ACT_SKIP)
			tl_defs_table_ready(defs, i);
	return 0;
}

/* The claim order: the plan's order, or with several workers the largest tables first
 * (the longest copies start first, so that the last one to finish is a short one). */
static int by_size(const void *a, const void *b, const tl_plan *p)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int64_t ex = p->items[x].est_rows, ey = p->items[y].est_rows;

	if (ex != ey)
		return ex > ey ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int claim_order(struct run *r, tl_error *err)
{
	size_t i, j, n = 0;

	r->order = calloc(r->plan.n ? r->plan.n : 1, sizeof(*r->order));
	r->taken = calloc(r->plan.n ? r->plan.n : 1, 1);
	if (!r->order || !r->taken)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	for (i = 0; i < r->plan.n; i++)
		if (r->plan.items[i].action != TL_ACT_SKIP)
			r->order[n++] = i;
	r->norder = n;
	if (r->env.cfg->parallel_size < 2 || r->env.cfg->parallel_type == TL_PAR_CHUNK)
		return 0;
	/* insertion sort: stable, and plans are planned table by table anyway */
	for (i = 1; i < n; i++) {
		size_t v = r->order[i];
		for (j = i; j > 0 && by_size(&v, &r->order[j - 1], &r->plan) < 0; j--)
			r->order[j] = r->order[j - 1];
		r->order[j] = v;
	}
	return 0;
}

static int phase_copy(struct run *r, tl_error *err)
{
	const tl_config *cfg = r->env.cfg;
	tl_defs *defs = r->plan.defs;
	struct worker *workers = NULL;
	pthread_t progress;
	int have_progress = 0, rc;
	size_t i, nworkers;

	r->results = calloc(r->plan.n ? r->plan.n : 1, sizeof(tl_copy_result));
	if (!r->results)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	if ((rc = tl_migrate_env_rates(&r->env, err)) ||
	    (rc = tl_watch_new(&r->watch, cfg->batch_timeout_secs, r->env.log, err)))
		return rc;
	for (i = 0; i < r->plan.n; i++)
		if (r->plan.items[i].action != TL_ACT_SKIP) {
			const tl_plan_item *it = &r->plan.items[i];
			r->todo++;
			if (it->est_rows > 0)
				r->est_rows += it->est_rows - (it->rows_done > 0 ? it->rows_done : 0);
		}
	if ((rc = claim_order(r, err)))
		return rc;
	/* chunk mode spends parallel_size on the ranges of one table at a time (the other
	 * workers then only apply definitions: of tables before, keys of tables copied) */
	nworkers = cfg->parallel_type == TL_PAR_CHUNK && !defs ? 1 : cfg->parallel_size;
	if (nworkers > r->norder && !defs)
		nworkers = r->norder ? r->norder : 1;
	if (r->fleet) {
		/* a fleet worker's threads claim chunks as well as tables: parallel_size of them */
		tl_recorder_set_worker(r->rec, r->opts->worker);
		nworkers = cfg->parallel_size ? cfg->parallel_size : 1;
	}
	workers = calloc(nworkers, sizeof(*workers));
	if (!workers)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	for (i = 0; i < nworkers; i++) {
		workers[i].r = r;
		if (pthread_create(&workers[i].th, NULL, r->fleet ? fleet_worker_main : worker_main, &workers[i]) != 0) {
			tl_error e = TL_ERROR_INIT;
			tl_error_set(&e, TL_ERR_INTERNAL, "cannot start worker thread");
			fail(r, TL_ERR_INTERNAL, &e);
			nworkers = i;
			break;
		}
	}
	have_progress = pthread_create(&progress, NULL, progress_main, r) == 0;
	for (i = 0; i < nworkers; i++)
		pthread_join(workers[i].th, NULL);
	free(workers);
	tl_watch_free(r->watch);
	r->watch = NULL;
	if (have_progress) {
		pthread_mutex_lock(&r->mu);
		r->done = 1;
		pthread_cond_signal(&r->cv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(progress, NULL);
	}
	if (!defs)
		return 0;
	if ((rc = tl_defs_flush(defs, r->rec, cfg->task_id, err)))
		return rc;
	if (!r->rc && !tl_migrate__stopping(r->opts->stop, &r->abort_all) &&
	    (!tl_defs_is_open(defs, TL_PHASE_FINAL) || tl_defs_outstanding(defs)))
		return tl_error_set(err, TL_ERR_INTERNAL, "%zu definition steps were left undone",
				    tl_defs_outstanding(defs));
	return 0;
}

/* What the definition phases did: counts per kind and the time of each phase. */
static void defs_summary(struct run *r)
{
	const tl_defs *d = r->plan.defs;
	const tl_defs_stats *st = &d->stats;
	size_t existed = 0, skipped = 0, i, k;
	tl_buf kinds = TL_BUF_INIT;

	for (i = 0; i < d->list.n; i++) {
		if (d->d[i].state == TL_DEF_EXISTS)
			existed++;
		else if (d->d[i].state == TL_DEF_SKIPPED)
			skipped++;
	}
	for (k = 0; k < TL_SK_COUNT; k++)
		if (st->kinds[k] && tl_buf_printf(&kinds, NULL, "%s%zu %s", kinds.len ? ", " : "", st->kinds[k],
						 tl_schema_kind_word((enum tl_schema_kind)k)) != 0)
			break;
	tl_log(r->env.log, TL_LOG_NOTICE,
	       "definitions: %zu created, %zu set%s%s%s; %zu found on the target, %zu done by an earlier run, %zu on the "
	       "target before this task, %zu of tables that existed left as they were; %zu failed, %zu warnings",
	       st->created, st->set, kinds.len ? " (" : "", kinds.len ? tl_buf_cstr(&kinds) : "", kinds.len ? ")" : "",
	       st->found, st->done_before, existed, skipped, st->failed, st->warned);
	if (r->fleet)
		tl_log(r->env.log, TL_LOG_NOTICE, "definitions: %zu done by other workers of the fleet", st->elsewhere);
	tl_log(r->env.log, TL_LOG_NOTICE,
	       "definitions: pre-data %.2f s, keys and indexes (during and after the rows) %.2f s, post-data %.2f s, "
	       "final %.2f s",
	       st->seconds[TL_PHASE_PRE_DATA], st->seconds[TL_PHASE_TABLE_POST], st->seconds[TL_PHASE_POST_DATA],
	       st->seconds[TL_PHASE_FINAL]);
	tl_buf_release(&kinds);
}

static int done_cmp(const void *a, const void *b)
{
	const struct fleet_done *x = a, *y = b;
	int c = strcmp(x->schema, y->schema);

	return c ? c : strcmp(x->tb, y->tb);
}

/* A fleet worker's summary: what it copied, per table (whole tables and chunks), and the checkpoint cost. */
/* ", N rows sent again" after rows re-sent by retries (counted once in the rows), else "" */
static void sent_again(char *buf, size_t n, int64_t resent)
{
	buf[0] = '\0';
	if (resent > 0)
		snprintf(buf, n, ", %lld %s sent again", (long long)resent, resent == 1 ? "row" : "rows");
}

static void fleet_summary(struct run *r, double secs)
{
	tl_logger *log = r->env.log;
	int64_t total = 0, total_resent = 0;
	long records = 0;
	double busy = 0;
	char again[64];
	size_t i, j;

	if (r->ndone > 1)
		qsort(r->done_items, r->ndone, sizeof(*r->done_items), done_cmp);
	for (i = 0; i < r->ndone; i = j) {
		int64_t rows = 0, resent = 0;
		double s = 0;
		size_t chunks = 0;

		for (j = i; j < r->ndone && done_cmp(&r->done_items[i], &r->done_items[j]) == 0; j++) {
			rows += r->done_items[j].rows;
			resent += r->done_items[j].resent;
			s += r->done_items[j].seconds;
			chunks += r->done_items[j].chunk ? 1 : 0;
		}
		total += rows;
		total_resent += resent;
		sent_again(again, sizeof(again), resent);
		if (chunks)
			tl_log(log, TL_LOG_NOTICE, "  %s.%s: %lld rows in %zu chunk%s, %.2f s%s", r->done_items[i].schema,
			       r->done_items[i].tb, (long long)rows, chunks, chunks == 1 ? "" : "s", s, again);
		else
			tl_log(log, TL_LOG_NOTICE, "  %s.%s: %lld rows, %.2f s%s", r->done_items[i].schema,
			       r->done_items[i].tb, (long long)rows, s, again);
	}
	sent_again(again, sizeof(again), total_resent);
	tl_log(log, TL_LOG_NOTICE, "worker '%s' total: %lld rows in %.2f s (%.0f rows/s)%s", r->opts->worker,
	       (long long)total, secs, secs > 0 ? (double)total / secs : 0.0, again);
	tl_recorder_stats(r->rec, &records, &busy);
	tl_log(log, TL_LOG_INFO, "checkpoints: %ld records written in %.1f ms (%.2f %% of the run)", records,
	       busy * 1000.0, secs > 0 ? 100.0 * busy / secs : 0.0);
}

static void phase_summary(struct run *r, double secs)
{
	tl_logger *log = r->env.log;
	int64_t total = 0, total_resent = 0;
	long records = 0, all;
	unsigned long retries = 0;
	char nretry[32], again[64];
	double busy = 0;
	size_t i;

	if (r->fleet) {
		fleet_summary(r, secs);
		if (r->plan.defs)
			defs_summary(r);
		return;
	}
	for (i = 0; i < r->plan.n; i++) {
		const tl_plan_item *it = &r->plan.items[i];
		const tl_copy_result *res = &r->results[i];
		if (it->action == TL_ACT_SKIP) {
			tl_log(log, TL_LOG_NOTICE, "  %-40s skipped (%s)", it->tb, it->reason);
			continue;
		}
		total += res->rows;
		total_resent += res->resent;
		retries += res->retries;
		nretry[0] = '\0';
		if (res->retries)
			snprintf(nretry, sizeof(nretry), ", %u %s", res->retries, res->retries == 1 ? "retry" : "retries");
		sent_again(again, sizeof(again), res->resent);
		tl_log(log, TL_LOG_NOTICE, "  %s.%s: %lld rows, %.2f s, %.0f rows/s%s%s%s", it->schema, it->tb,
		       (long long)res->rows, res->seconds, res->seconds > 0 ? (double)res->rows / res->seconds : 0.0,
		       res->resumed ? ", resumed" : "", nretry, again);
	}
	sent_again(again, sizeof(again), total_resent);
	tl_log(log, TL_LOG_NOTICE, "total: %lld rows in %.2f s (%.0f rows/s)%s", (long long)total, secs,
	       secs > 0 ? (double)total / secs : 0.0, again);
	if (r->plan.defs)
		defs_summary(r);
	all = tl_retry_count(r->retry, NULL, 0);
	if (all > 0 && (unsigned long)all == retries)
		tl_log(log, TL_LOG_NOTICE, "retries: %ld after transient failures", all);
	else if (all > 0)
		tl_log(log, TL_LOG_NOTICE, "retries: %ld after transient failures (%lu while copying tables, the "
					   "others while connecting or planning)",
		       all, retries);
	tl_recorder_stats(r->rec, &records, &busy);
	/* what checkpointing cost: store transaction + log lines, while holding the lock */
	tl_log(log, TL_LOG_INFO, "checkpoints: %ld records written in %.1f ms (%.2f %% of the run)", records,
	       busy * 1000.0, secs > 0 ? 100.0 * busy / secs : 0.0);
}

int tl_migrate_run(const tl_config *cfg, const tl_migrate_opts *opts, tl_error *err)
{
	struct run r;
	tl_retry_limits limits;
	double t0 = tl_migrate__now();
	int rc;

	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cv, NULL);
	r.opts = opts;
	tl_target_owner(cfg, r.owner, sizeof(r.owner));
	limits = tl_retry_limits_of(cfg, opts->retry_base_secs);
	if ((rc = tl_retry_new(&r.retry, &limits, opts->log, err)) || (rc = tl_migrate_env_bind(&r.env, cfg, opts, err)) ||
	    (rc = phase_open(&r, err)) || (rc = phase_sources(&r, err)) || (rc = phase_plan(&r, err)) ||
	    (rc = phase_pre_data(&r, err)))
		goto cleanup;
	{
		tl_error e = TL_ERROR_INIT;
		if ((rc = phase_copy(&r, &e)) && !r.rc) {
			r.rc = rc;
			r.err = e;
		}
	}
	phase_summary(&r, tl_migrate__now() - t0);
	if (r.rc) {
		rc = r.rc;
		if (err)
			*err = r.err;
	} else if (opts->stop && *opts->stop) {
		rc = tl_error_set(err, TL_ERR_INTERRUPTED, "stopped by a signal; progress recorded, run again to resume");
	}
cleanup:
	tl_watch_free(r.watch); /* phase_copy frees it, unless it stopped before its workers */
	tl_recorder_free(r.rec);
	tl_retry_free(r.retry);
	free(r.results);
	free(r.order);
	free(r.taken);
	free(r.by_name);
	tl_plan_clear(&r.plan, &r.env.src);
	if (rc && rc != TL_ERR_INTERRUPTED)
		tl_fleet_failed(r.fleet);
	tl_fleet_free(r.fleet);
	fleet_done_free(&r);
	if (r.locked)
		tl_store_unlock_task(r.env.store, cfg->task_id);
	tl_migrate_env_release(&r.env);
	pthread_mutex_destroy(&r.mu);
	pthread_cond_destroy(&r.cv);
	return rc;
}
