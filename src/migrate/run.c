/*
 * run.c - runs a whole task (migrate.h): opens the store, takes the task lock, imports
 * progress sources, plans, then copies tables with parallel_size worker threads, each
 * with its own source and target connections. The first failure stops the other
 * workers after their current batch; a stop signal does the same after recording
 * positions. Ends with a per-table summary in the log.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "migrate/migrate.h"

struct shared {
	const tl_config *cfg;
	const tl_migrate_opts *opts;
	const struct tl_driver_ops *src_ops, *dst_ops;
	tl_recorder *rec;
	tl_store *store;
	tl_plan *plan;
	tl_copy_result *results;
	pthread_mutex_t mu;
	size_t next;
	volatile int abort_all;
	int64_t total_rows;
	size_t tables_done;
	int done; /* workers joined: the progress thread ends */
	pthread_cond_t cv;
	int rc;
	tl_error err; /* first failure */
};

struct worker {
	pthread_t th;
	struct shared *sh;
};

static void fail(struct shared *sh, int rc, const tl_error *e)
{
	pthread_mutex_lock(&sh->mu);
	if (!sh->rc || (sh->rc == TL_ERR_INTERRUPTED && rc != TL_ERR_INTERRUPTED)) {
		sh->rc = rc;
		sh->err = *e;
	}
	sh->abort_all = 1;
	pthread_mutex_unlock(&sh->mu);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	const tl_config *cfg = sh->cfg;
	tl_endpoint src_ep = tl_config_source(cfg);
	tl_endpoint dst_ep = tl_config_target(cfg);
	tl_conn *src = NULL, *dst = NULL;
	tl_error err = TL_ERROR_INIT;
	int rc;

	if ((rc = sh->src_ops->connect(&src_ep, &src, &err)) || (rc = sh->dst_ops->connect(&dst_ep, &dst, &err))) {
		fail(sh, rc, &err);
		goto cleanup;
	}
	for (;;) {
		tl_plan_item *it = NULL;
		size_t idx = 0;
		tl_copy_ctx ctx;

		pthread_mutex_lock(&sh->mu);
		while (sh->next < sh->plan->n && sh->plan->items[sh->next].action == TL_ACT_SKIP)
			sh->next++;
		if (sh->next < sh->plan->n && !sh->abort_all && !(sh->opts->stop && *sh->opts->stop)) {
			idx = sh->next++;
			it = &sh->plan->items[idx];
		}
		pthread_mutex_unlock(&sh->mu);
		if (!it)
			break;
		memset(&ctx, 0, sizeof(ctx));
		ctx.cfg = cfg;
		ctx.src_ops = sh->src_ops;
		ctx.dst_ops = sh->dst_ops;
		ctx.src = src;
		ctx.dst = dst;
		ctx.rec = sh->rec;
		ctx.log = sh->opts->log;
		ctx.stop = sh->opts->stop;
		ctx.abort_all = &sh->abort_all;
		ctx.total_rows = &sh->total_rows;
		rc = tl_copy_table(&ctx, it, &sh->results[idx], &err);
		if (rc) {
			fail(sh, rc, &err);
			break;
		}
		__atomic_add_fetch(&sh->tables_done, 1, __ATOMIC_RELAXED);
		tl_log(sh->opts->log, TL_LOG_INFO, "table %s.%s finished: %lld rows in %.2f s", it->schema, it->tb,
		       (long long)sh->results[idx].rows, sh->results[idx].seconds);
	}
cleanup:
	sh->src_ops->disconnect(src);
	sh->dst_ops->disconnect(dst);
	return NULL;
}

/*
 * Progress: on a terminal one redrawn line on stderr every second; otherwise a log line
 * every 10 seconds. Rates are over the last ~10 s; the ETA divides the estimated rows
 * left (sum of the tables' estimates) by that rate.
 */
static void *progress_main(void *arg)
{
	struct shared *sh = arg;
	int tty = sh->opts->progress_tty;
	double period = tty ? 1.0 : 10.0;
	int64_t est = 0, prev = 0;
	size_t todo = 0, i;
	struct timespec until;
	double start, prev_t = 0;

	for (i = 0; i < sh->plan->n; i++)
		if (sh->plan->items[i].action != TL_ACT_SKIP) {
			todo++;
			if (sh->plan->items[i].est_rows > 0)
				est += sh->plan->items[i].est_rows - (sh->plan->items[i].rows_done > 0 ? sh->plan->items[i].rows_done : 0);
		}
	start = tl_migrate__now();
	pthread_mutex_lock(&sh->mu);
	while (!sh->done) {
		double t, rate;
		int64_t rows;
		char eta[32] = "?";

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)period;
		pthread_cond_timedwait(&sh->cv, &sh->mu, &until);
		if (sh->done)
			break;
		t = tl_migrate__now() - start;
		rows = __atomic_load_n(&sh->total_rows, __ATOMIC_RELAXED);
		rate = t - prev_t > 0 ? (double)(rows - prev) / (t - prev_t) : 0;
		prev = rows;
		prev_t = t;
		if (rate > 0 && est > rows) {
			long s = (long)((double)(est - rows) / rate);
			snprintf(eta, sizeof(eta), "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
		}
		if (tty) {
			fprintf(stderr, "\r\033[Ktideline: tables %zu/%zu, %lld rows, %.0f rows/s, ETA %s",
				__atomic_load_n(&sh->tables_done, __ATOMIC_RELAXED), todo, (long long)rows, rate, eta);
			fflush(stderr);
		} else {
			tl_log(sh->opts->log, TL_LOG_NOTICE, "progress: tables %zu/%zu, %lld rows, %.0f rows/s, ETA %s",
			       __atomic_load_n(&sh->tables_done, __ATOMIC_RELAXED), todo, (long long)rows, rate, eta);
		}
	}
	pthread_mutex_unlock(&sh->mu);
	if (tty) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
	return NULL;
}

static void summary(struct shared *sh, double secs)
{
	size_t i;
	int64_t total = 0;

	for (i = 0; i < sh->plan->n; i++) {
		const tl_plan_item *it = &sh->plan->items[i];
		const tl_copy_result *r = &sh->results[i];
		if (it->action == TL_ACT_SKIP) {
			tl_log(sh->opts->log, TL_LOG_NOTICE, "  %-40s skipped (%s)", it->tb, it->reason);
			continue;
		}
		total += r->rows;
		tl_log(sh->opts->log, TL_LOG_NOTICE, "  %s.%s: %lld rows, %.2f s, %.0f rows/s%s", it->schema, it->tb,
		       (long long)r->rows, r->seconds, r->seconds > 0 ? (double)r->rows / r->seconds : 0.0,
		       it->action == TL_ACT_RESUME ? ", resumed" : "");
	}
	tl_log(sh->opts->log, TL_LOG_NOTICE, "total: %lld rows in %.2f s (%.0f rows/s)", (long long)total, secs,
	       secs > 0 ? (double)total / secs : 0.0);
	{
		long records = 0;
		double busy = 0;
		tl_recorder_stats(sh->rec, &records, &busy);
		/* what checkpointing cost: store transaction + log lines, while holding the lock */
		tl_log(sh->opts->log, TL_LOG_INFO, "checkpoints: %ld records written in %.1f ms (%.2f %% of the run)",
		       records, busy * 1000.0, secs > 0 ? 100.0 * busy / secs : 0.0);
	}
}

int tl_migrate_run(const tl_config *cfg, const tl_migrate_opts *opts, tl_error *err)
{
	struct shared sh;
	struct worker *workers = NULL;
	pthread_t progress;
	int have_progress = 0;
	tl_store *store = NULL;
	tl_conn *plan_conn = NULL, *ape_conn = NULL;
	const struct tl_driver_ops *ape_ops = NULL;
	tl_plan plan = {0, NULL};
	char path[4096];
	int locked = 0, rc;
	size_t i, nworkers;
	double t0;
	tl_endpoint src_ep = tl_config_source(cfg);

	t0 = tl_migrate__now();
	memset(&sh, 0, sizeof(sh));
	pthread_mutex_init(&sh.mu, NULL);
	pthread_cond_init(&sh.cv, NULL);
	sh.cfg = cfg;
	sh.opts = opts;
	sh.src_ops = tl_driver_find(cfg->src_db_type);
	sh.dst_ops = tl_driver_find(cfg->dst_db_type);
	if (!sh.src_ops || !sh.dst_ops || !sh.src_ops->connect || !sh.dst_ops->connect) {
		rc = tl_error_set(err, TL_ERR_UNSUPPORTED, "%s: no connector for db_type %s → %s", cfg->path,
				  cfg->src_db_type, cfg->dst_db_type);
		goto cleanup;
	}
	if (strcmp(sh.src_ops->name, sh.dst_ops->name) != 0) {
		rc = tl_error_set(err, TL_ERR_UNSUPPORTED, "%s: copying %s to %s is not supported (same kind only)",
				  cfg->path, sh.src_ops->name, sh.dst_ops->name);
		goto cleanup;
	}
	if ((rc = tl_migrate__mkdir_p(cfg->log_dir, err)))
		goto cleanup;
	snprintf(path, sizeof(path), "%s/default.log", cfg->log_dir);
	if (opts->log && (rc = tl_logger_open_file(opts->log, path, err)))
		goto cleanup;
	if ((rc = tl_store_open(&store, opts->store_path ? opts->store_path : cfg->store_path, 0, err)))
		goto cleanup;
	sh.store = store;
	if ((rc = tl_store_lock_task(store, cfg->task_id, err)))
		goto cleanup;
	locked = 1;

	if (cfg->resume_type == TL_RESUME_FROM_TARGET || cfg->resume_type == TL_RESUME_FROM_DB) {
		tl_endpoint ep = tl_config_resumer(cfg);
		ape_ops = tl_driver_find(cfg->resume_db_type);
		if (!ape_ops || !(ape_ops->caps & TL_CAP_APE_STORE)) {
			rc = tl_error_set(err, TL_ERR_UNSUPPORTED, "%s: [resumer] db_type %s cannot hold ape-dts' table",
					  cfg->path, cfg->resume_db_type);
			goto cleanup;
		}
		if ((rc = ape_ops->connect(&ep, &ape_conn, err)) ||
		    (rc = ape_ops->ape_store_init(ape_conn, cfg->ape_schema, cfg->ape_table, err)))
			goto cleanup;
	}
	if (opts->init) {
		tl_log(opts->log, TL_LOG_NOTICE, "--init: forgetting the progress of task '%s'", cfg->task_id);
		if ((rc = tl_store_forget_task(store, cfg->task_id, err)) ||
		    (rc = tl_migrate_init_sources(cfg, store, opts->log, err)))
			goto cleanup;
		if (ape_conn && (rc = ape_ops->ape_store_forget(ape_conn, cfg->ape_schema, cfg->ape_table, cfg->task_id, err)))
			goto cleanup;
	} else if ((rc = tl_migrate_import_sources(cfg, ape_ops, store, opts->log, err))) {
		goto cleanup;
	}

	if ((rc = sh.src_ops->connect(&src_ep, &plan_conn, err)))
		goto cleanup;
	if ((rc = tl_plan_build(cfg, sh.src_ops, plan_conn, store, opts->log, &plan, err)))
		goto cleanup;
	sh.src_ops->disconnect(plan_conn);
	plan_conn = NULL;
	{
		tl_endpoint dst_ep = tl_config_target(cfg);
		tl_conn *dst = NULL;
		if ((rc = sh.dst_ops->connect(&dst_ep, &dst, err)))
			goto cleanup;
		rc = tl_plan_check_targets(cfg, sh.dst_ops, dst, store, &plan, err);
		sh.dst_ops->disconnect(dst);
		if (rc)
			goto cleanup;
	}
	for (i = 0; i < plan.n; i++) {
		tl_plan_item *it = &plan.items[i];
		if (!it->warning)
			continue;
		tl_log(opts->log, TL_LOG_WARN, "table %s.%s: %s", it->schema, it->tb, it->warning);
		if (it->refuse && !opts->init) {
			rc = tl_error_set(err, TL_ERR_MISMATCH, "table %s.%s: %s", it->schema, it->tb, it->warning);
			goto cleanup;
		}
	}
	if (plan.n == 0)
		tl_log(opts->log, TL_LOG_WARN, "%s: the [filter] selects no table", cfg->path);
	sh.plan = &plan;
	sh.results = calloc(plan.n ? plan.n : 1, sizeof(tl_copy_result));
	if (!sh.results) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	if ((rc = tl_recorder_new(&sh.rec, cfg, store, ape_ops, ape_conn, err)))
		goto cleanup;

	/* chunk mode spends parallel_size on the ranges of one table at a time */
	nworkers = cfg->parallel_type == TL_PAR_CHUNK ? 1 : cfg->parallel_size;
	if (nworkers > plan.n)
		nworkers = plan.n ? plan.n : 1;
	workers = calloc(nworkers, sizeof(*workers));
	if (!workers) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < nworkers; i++) {
		workers[i].sh = &sh;
		if (pthread_create(&workers[i].th, NULL, worker_main, &workers[i]) != 0) {
			tl_error e = TL_ERROR_INIT;
			tl_error_set(&e, TL_ERR_INTERNAL, "cannot start worker thread");
			fail(&sh, TL_ERR_INTERNAL, &e);
			nworkers = i;
			break;
		}
	}
	have_progress = pthread_create(&progress, NULL, progress_main, &sh) == 0;
	for (i = 0; i < nworkers; i++)
		pthread_join(workers[i].th, NULL);
	if (have_progress) {
		pthread_mutex_lock(&sh.mu);
		sh.done = 1;
		pthread_cond_signal(&sh.cv);
		pthread_mutex_unlock(&sh.mu);
		pthread_join(progress, NULL);
	}
	summary(&sh, tl_migrate__now() - t0);
	if (sh.rc) {
		rc = sh.rc;
		if (err)
			*err = sh.err;
	} else if (opts->stop && *opts->stop) {
		rc = tl_error_set(err, TL_ERR_INTERRUPTED, "stopped by a signal; progress recorded, run again to resume");
	}
cleanup:
	free(workers);
	tl_recorder_free(sh.rec);
	free(sh.results);
	tl_plan_clear(&plan, sh.src_ops);
	if (plan_conn)
		sh.src_ops->disconnect(plan_conn);
	if (ape_conn)
		ape_ops->disconnect(ape_conn);
	if (locked)
		tl_store_unlock_task(store, cfg->task_id);
	tl_store_close(store);
	pthread_mutex_destroy(&sh.mu);
	pthread_cond_destroy(&sh.cv);
	return rc;
}
