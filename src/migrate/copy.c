/*
 * copy.c - moves one table from source to target (migrate.h step 3).
 *
 * Batch mode reads keyed pages strictly after the resume key, writes each batch in one
 * target transaction and, after the commit, records the key of the batch's last row as
 * the current position (at most every checkpoint_interval_secs, and always before a
 * clean stop). Rows with a NULL key column are read in a final NULL pass. Split mode
 * walks ranges (lo, hi] of the partition column and records hi as the checkpoint
 * position once a range is committed. Scan mode copies a keyless, unsplit table whole.
 *
 * Tables whose rows cannot be upserted (no key, or NULL key values) would duplicate rows
 * on a re-run, so when the store shows this task started the table into an empty target,
 * rows the previous run may have written past the checkpoint are deleted first
 * (docs/tideline.md §5); when that cannot be known the run refuses instead of guessing.
 *
 * Every driver call goes through the tl_driver_<verb>() wrappers (driver_call.h) of the
 * run's bound drivers, ctx->env->src and ctx->env->dst.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "migrate/migrate.h"
#include "tideline/ratelimit.h"

struct state {
	tl_copy_ctx *ctx;
	tl_plan_item *item;
	const tl_table *t;      /* the table as read (source names): reads, keys, positions */
	const tl_table *w;      /* the table as written (target names, [router]): every target call */
	tl_batch batch, batch2; /* the two buffers of the prefetching reader */
	tl_batch *cur;          /* the batch being written */
	tl_keyvals last;       /* key of the last committed row (batch mode) */
	int have_last;
	int last_recorded;     /* ... and it is recorded */
	int keyed_pass;        /* batch mode's keyed pass: positions point at its batches */
	int cur_durable;       /* the batch being written is written with TL_WRITE_DURABLE */
	double last_ckpt;
	int64_t rows;          /* rows written by this run */
	int64_t rows_base;     /* rows written by earlier runs */
	int64_t rows_recorded; /* rows_base + rows as of the last position recorded by this run, -1 none */
	unsigned write_flags;
	int native;            /* tl_read_spec.native level for this table's reads */
	int resumed_table;     /* an earlier run of this task started this table */
	int ours;              /* ... and it started it into an empty target */
	int started_over;      /* the target lost rows: the table starts over into an empty target */
};

/* Removing target rows past a value (delete_after), under the fleet's gate as every write. */
static int target_delete(struct state *st, const char *after, int which, tl_error *err)
{
	tl_copy_ctx *c = st->ctx;
	double t0;
	int rc;

	if ((rc = tl_fleet_gate(c->hold, err)))
		return rc;
	t0 = tl_migrate__now();
	rc = tl_driver_delete_after(&c->env->dst, c->dst, st->w, after, which, err);
	tl_fleet_wrote(c->hold, t0);
	return rc;
}

/*
 * Rows with NULL key values carry no position and cannot be upserted, so a NULL pass
 * re-copies all of them. If an earlier run of this task may have written some, remove
 * them first, but only when every row of the target is known to be ours.
 */
static int clean_nulls(struct state *st, int which, tl_error *err)
{
	tl_copy_ctx *c = st->ctx;
	const tl_migrate_env *env = c->env;

	int has = 0, rc;

	if (st->resumed_table && st->ours && env->dst.ops->delete_after)
		return target_delete(st, NULL, which, err);
	if (st->ours && !st->resumed_table)
		return 0; /* started into an empty target by this run */
	/* a target that held rows before this task: its NULL-key rows cannot be told from the
	 * source's, and copying the source's again would duplicate them (plan refuses too) */
	if ((rc = tl_plan__target_null_keys(env, c->dst, st->w, &has, err)))
		return rc;
	if (has)
		return tl_error_set(err, TL_ERR_MISMATCH, "table %s.%s: %s", st->t->schema, st->t->name,
				    TL_PLAN_REFUSE_NULL_KEYS);
	return 0;
}

static int record_key(struct state *st, int is_current, size_t n, char **cols, char **vals, tl_error *err)
{
	tl_position p = TL_POSITION_INIT;
	int rc;

	rc = tl_pos_set(&p, TL_POS_RDB_SNAPSHOT, st->ctx->env->src.ops->name, st->t->schema, st->t->name,
			n == 1 ? TL_KEY_SINGLE : TL_KEY_COMPOSITE, n, (const char *const *)cols,
			(const char *const *)vals, err);
	if (!rc)
		rc = tl_recorder_position_ex(st->ctx->rec, st->ctx->hold, &p, is_current, st->rows_base + st->rows, err);
	if (!rc)
		st->rows_recorded = st->rows_base + st->rows;
	tl_pos_clear(&p);
	st->last_ckpt = tl_migrate__now();
	return rc;
}

/*
 * Makes every commit so far durable on the target, for a position about to be recorded
 * after batches written without TL_WRITE_DURABLE (driver flush_commits; nothing to do
 * without it: the driver's durability_warning says what the server risks). When this
 * worker's target connection is gone (the failure being left), a fresh one does it.
 */
static int make_durable(struct state *st, tl_error *err)
{
	tl_copy_ctx *c = st->ctx;
	const tl_migrate_env *env = c->env;
	tl_endpoint ep;
	tl_conn *fresh = NULL;
	int rc;

	if (!env->dst.ops->flush_commits)
		return 0;
	rc = tl_driver_flush_commits(&env->dst, c->dst, st->w, err);
	if (!rc || !err || !(err->flags & TL_ERRF_CONN_LOST))
		return rc;
	ep = tl_retry_endpoint(c, 1);
	if (!(rc = tl_driver_connect(&env->dst, &ep, &fresh, err)))
		rc = tl_driver_flush_commits(&env->dst, fresh, st->w, err);
	tl_driver_disconnect(&env->dst, fresh);
	return rc;
}

static int due(const struct state *st)
{
	return tl_migrate__now() - st->last_ckpt >= (double)st->ctx->env->cfg->checkpoint_interval_secs;
}

static int stopping(const struct state *st)
{
	return tl_migrate__stopping(st->ctx->stop, st->ctx->abort_all);
}

/*
 * Reading and writing overlap: a prefetch thread reads the next batch from the source
 * while this thread writes the current one to the target (two buffers, so memory stays
 * at two batches). The source connection belongs to the prefetch thread for the whole
 * read; the writer never touches it.
 */
struct prefetch {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const tl_driver *drv;
	tl_reader *r;
	tl_watch *watch;   /* per-batch deadline of the reads (NULL: none) */
	tl_conn *conn;     /* the reader's connection, for the watch */
	const tl_table *t;
	tl_batch *buf[2];
	int full[2]; /* filled, waiting for the writer */
	int fill;    /* buffer the reader fills next */
	int done;    /* end of data or a read error */
	int quit;    /* the writer stopped: read no more */
	int rc;
	tl_error err;
	/* the run's rate limits (NULL: none): tokens for a batch before it is read */
	struct tl_rate *rows, *bytes;
	size_t want;                  /* rows one read_batch may return */
	volatile sig_atomic_t *stop;
};

/*
 * One read under the run's rate limits: the rows a batch may hold are reserved before
 * the read (those it did not use are given back), its bytes after it.
 */
static int limited_read(struct prefetch *p, tl_batch *b, tl_error *err)
{
	int ticket, rc;

	if ((rc = tl_rate_acquire(p->rows, p->want, p->stop, err)))
		return rc;
	/* the deadline covers the read, not the wait for the rate limit */
	ticket = tl_watch_begin(p->watch, p->drv, p->conn, p->t, "reading a batch from the source");
	rc = tl_driver_read_batch(p->drv, p->r, b, err);
	(void)tl_watch_end(p->watch, ticket, rc, err);
	if (p->rows && b->nrows < p->want)
		tl_rate_refund(p->rows, p->want - b->nrows);
	if (!rc && b->nrows)
		rc = tl_rate_acquire(p->bytes, b->data.len, p->stop, err);
	return rc;
}

static void *prefetch_main(void *arg)
{
	struct prefetch *p = arg;

	for (;;) {
		tl_error e = TL_ERROR_INIT;
		tl_batch *b;
		int i, rc;

		pthread_mutex_lock(&p->mu);
		while (!p->quit && p->full[p->fill])
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->quit) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		i = p->fill;
		b = p->buf[i];
		pthread_mutex_unlock(&p->mu);

		tl_batch_reset(b);
		rc = limited_read(p, b, &e);

		pthread_mutex_lock(&p->mu);
		if (rc) {
			p->rc = rc;
			p->err = e;
			p->done = 1;
		} else if (b->nrows == 0) {
			p->done = 1;
		} else {
			p->full[i] = 1;
			p->fill = !i;
		}
		pthread_cond_broadcast(&p->cv);
		rc = p->done;
		pthread_mutex_unlock(&p->mu);
		if (rc)
			break;
	}
	return NULL;
}

/*
 * Writes one read batch: one target transaction, or, when the task sets [sinker]
 * batch_size, one per batch_size rows (as ape-dts' sinker writes batch_size rows per
 * statement). The position of the batch is recorded by the caller only after all of them.
 */
static int write_rows(struct state *st, const tl_batch *b, tl_error *err)
{
	tl_copy_ctx *c = st->ctx;
	size_t per = c->env->cfg->sink_batch_size, from;
	unsigned flags = st->write_flags | (st->cur_durable ? TL_WRITE_DURABLE : 0);
	int rc = 0;

	if (per == 0 || b->nrows <= per)
		return tl_driver_write_batch(&c->env->dst, c->dst, st->w, b, flags, err);
	/* durable on the last part: WAL and journal are flushed in order, the others with it */
	for (from = 0; from < b->nrows && !rc; from += per) {
		tl_batch part;
		size_t n = b->nrows - from < per ? b->nrows - from : per;
		tl_batch_view(b, from, n, &part);
		rc = tl_driver_write_batch(&c->env->dst, c->dst, st->w, &part,
					   from + n < b->nrows ? (flags & ~(unsigned)TL_WRITE_DURABLE) : flags, err);
	}
	return rc;
}

/*
 * Stopping after a committed batch: did the read end with it? Waits for the prefetch
 * thread's next answer (one batch read at most): the end of the data means every row of
 * the read is committed (a chunk's range counts as done), anything else that it is not.
 * Called with p->mu not held.
 */
static int read_ended(struct prefetch *p, int take)
{
	int ended;

	pthread_mutex_lock(&p->mu);
	while (!p->full[take] && !p->done)
		pthread_cond_wait(&p->cv, &p->mu);
	ended = !p->full[take] && p->done && p->rc == 0;
	pthread_mutex_unlock(&p->mu);
	return ended;
}

/* Reads everything `spec` selects and writes it; calls `after` once each batch is committed. */
typedef int (*after_fn)(struct state *st, tl_error *err);

static int pump(struct state *st, const tl_read_spec *spec_in, after_fn after, tl_error *err)
{
	tl_copy_ctx *c = st->ctx;
	const tl_migrate_env *env = c->env;
	tl_read_spec spec_buf = *spec_in, *spec = &spec_buf;
	struct prefetch p;
	pthread_t th;
	double t_write;
	int take = 0, w, rc;

	/* Same driver on both ends: rows may stay in the driver's own encoding. Such a batch
	 * is one COPY-like write on the target, so unless the task sets batch_size, its size
	 * is bounded by bytes only (the batch buffer): fewer, larger target transactions. */
	spec_buf.native = st->native;
	if (st->native && !env->cfg->extract_batch_explicit && !env->rate_rows)
		spec_buf.batch_rows = SIZE_MAX;
	/* a rate limit: batches no larger than what may go at once */
	if (env->rate_rows && spec_buf.batch_rows > env->rate_burst)
		spec_buf.batch_rows = (size_t)env->rate_burst;
	memset(&p, 0, sizeof(p));
	p.rows = env->rate_rows;
	p.bytes = env->rate_bytes;
	p.want = spec_buf.batch_rows;
	p.stop = c->stop;
	if (!st->batch2.ncols)
		tl_batch_init(&st->batch2, st->t->ncols, st->batch.soft_bytes);
	p.drv = &env->src;
	p.watch = c->watch;
	p.conn = c->src;
	p.t = st->t;
	p.buf[0] = &st->batch;
	p.buf[1] = &st->batch2;
	w = tl_watch_begin(c->watch, &env->src, c->src, st->t, "starting a read on the source");
	rc = tl_driver_open_reader(&env->src, c->src, st->t, spec, &p.r, err);
	(void)tl_watch_end(c->watch, w, rc, err);
	if (rc)
		return rc;
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	if (pthread_create(&th, NULL, prefetch_main, &p) != 0) {
		rc = tl_error_set(err, TL_ERR_INTERNAL, "cannot start the reader thread for %s.%s", st->t->schema,
				  st->t->name);
		goto cleanup;
	}
	for (;;) {
		pthread_mutex_lock(&p.mu);
		while (!p.full[take] && !p.done)
			pthread_cond_wait(&p.cv, &p.mu);
		if (!p.full[take]) {
			if (p.rc) {
				rc = p.rc;
				if (err)
					*err = p.err;
			}
			pthread_mutex_unlock(&p.mu);
			break;
		}
		pthread_mutex_unlock(&p.mu);

		st->cur = p.buf[take];
		/* a position will point at this batch (due, or the last before a stop): durable */
		st->cur_durable = st->keyed_pass && (due(st) || stopping(st));
		/* a fleet worker writes only while its lease certainly lasts (fleet.c) */
		if ((rc = tl_fleet_gate(c->hold, err)))
			break;
		t_write = tl_migrate__now();
		w = tl_watch_begin(c->watch, &env->dst, c->dst, st->t, "writing a batch to the target");
		rc = write_rows(st, st->cur, err);
		(void)tl_watch_end(c->watch, w, rc, err);
		if (rc)
			break;
		tl_fleet_wrote(c->hold, t_write);
		tl_fault_crash_point(env->fault, "after_target_commit");
		st->rows += (int64_t)st->cur->nrows;
		if (c->total_rows)
			__atomic_add_fetch(c->total_rows, (int64_t)st->cur->nrows, __ATOMIC_RELAXED);
		if (after && (rc = after(st, err)))
			break;

		pthread_mutex_lock(&p.mu);
		p.full[take] = 0;
		pthread_cond_broadcast(&p.cv);
		pthread_mutex_unlock(&p.mu);
		take = !take;
		if (stopping(st)) {
			if (read_ended(&p, take))
				break; /* that was the last batch: the read is complete */
			rc = tl_error_set(err, TL_ERR_INTERRUPTED, "stopped while copying %s.%s", st->t->schema, st->t->name);
			break;
		}
	}
	pthread_mutex_lock(&p.mu);
	p.quit = 1;
	pthread_cond_broadcast(&p.cv);
	pthread_mutex_unlock(&p.mu);
	pthread_join(th, NULL);
cleanup:
	tl_driver_close_reader(&env->src, p.r);
	pthread_cond_destroy(&p.cv);
	pthread_mutex_destroy(&p.mu);
	st->cur = NULL;
	return rc;
}

/* Batch mode: remember the last row's key; checkpoint when due or stopping. */
static int after_keyed(struct state *st, tl_error *err)
{
	const tl_table *t = st->t;
	int rc;

	tl_keyvals_clear(&st->last);
	if ((rc = tl_driver_row_key(&st->ctx->env->src, t, st->cur, st->cur->nrows - 1, t->key_idx, t->nkeys, &st->last,
				    err)))
		return rc;
	st->have_last = 1;
	st->last_recorded = 0;
	if (!st->cur_durable && !stopping(st))
		return 0;
	/* a stop noticed after the write: the batch went without TL_WRITE_DURABLE */
	if (!st->cur_durable && (rc = make_durable(st, err)))
		return rc;
	if ((rc = record_key(st, 1, st->last.n, st->last.cols, st->last.vals, err)))
		return rc;
	st->last_recorded = 1;
	return 0;
}

static int any_key_nullable(const tl_table *t)
{
	size_t i;

	for (i = 0; i < t->nkeys; i++)
		if (t->keys[i]->nullable)
			return 1;
	return 0;
}

static int copy_batch_mode(struct state *st, tl_error *err)
{
	tl_read_spec spec;
	int rc;

	memset(&spec, 0, sizeof(spec));
	spec.where = st->item->where;
	spec.mode = TL_READ_KEYED;
	spec.after = st->item->action == TL_ACT_RESUME ? &st->item->after : NULL;
	spec.batch_rows = st->ctx->env->cfg->extract_batch_size;
	st->keyed_pass = 1;
	rc = pump(st, &spec, after_keyed, err);
	st->keyed_pass = 0;
	if (rc)
		return rc;
	if (stopping(st)) /* the keyed pass is complete; the NULL pass is for the next run */
		return tl_error_set(err, TL_ERR_INTERRUPTED, "stopped while copying %s.%s", st->t->schema, st->t->name);
	if ((st->ctx->env->src.ops->caps & TL_CAP_SQL) && any_key_nullable(st->t)) {
		if ((rc = clean_nulls(st, TL_DELETE_KEY_NULLS, err)))
			return rc;
		spec.mode = TL_READ_KEY_NULLS;
		spec.after = NULL;
		if ((rc = pump(st, &spec, NULL, err)))
			return rc;
	}
	return 0;
}

/*
 * Chunk mode with parallel_size > 1: this thread cuts ranges (next_bound) into a
 * bounded queue; parallel_size consumer threads, each with its own source and target
 * connections, copy them. A checkpoint records the upper bound of the highest range
 * below which every range is committed (ranges finishing out of order wait for the gap
 * to close), so a resume never skips an uncommitted range.
 */
struct chunk {
	char *lo, *hi;
	int state;    /* 0 queued, 1 running, 2 committed */
	int64_t rows; /* rows it held (once committed) */
};

struct chunkq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct chunk *c;
	size_t n, cap;
	size_t next_take;
	size_t frontier;   /* ranges [0, frontier) are committed */
	size_t running;    /* ranges taken by consumers and not yet committed or failed */
	int producer_done;
	int failed;
	int rc;
	tl_error err;
	int64_t rows;      /* committed by consumers */
	int64_t frontier_rows; /* rows of the ranges [0, frontier) */
	struct state *main;
};

struct consumer {
	pthread_t th;
	struct chunkq *q;
	int rc;
};

static void *consumer_main(void *arg)
{
	struct consumer *cn = arg;
	struct chunkq *q = cn->q;
	struct state *m = q->main;
	const tl_migrate_env *env = m->ctx->env;
	tl_endpoint src_ep = tl_retry_endpoint(m->ctx, 0);
	tl_endpoint dst_ep = tl_retry_endpoint(m->ctx, 1);
	tl_copy_ctx ctx = *m->ctx;
	struct state st;
	tl_error err = TL_ERROR_INIT;
	int rc, holding = 0;

	memset(&st, 0, sizeof(st));
	st.ctx = &ctx;
	st.item = m->item;
	st.t = m->t;
	st.w = m->w;
	st.write_flags = m->write_flags;
	st.native = m->native;
	ctx.src = ctx.dst = NULL;
	tl_batch_init(&st.batch, st.t->ncols, 8u << 20);
	if ((rc = tl_driver_connect(&env->src, &src_ep, &ctx.src, &err)) ||
	    (rc = tl_driver_connect(&env->dst, &dst_ep, &ctx.dst, &err)))
		goto fail;
	for (;;) {
		size_t i;
		tl_read_spec spec;

		pthread_mutex_lock(&q->mu);
		while (!q->failed && q->next_take == q->n && !q->producer_done && !stopping(&st))
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->failed || q->next_take == q->n || stopping(&st)) {
			pthread_mutex_unlock(&q->mu);
			break;
		}
		i = q->next_take++;
		q->c[i].state = 1;
		q->running++;
		holding = 1;
		memset(&spec, 0, sizeof(spec));
		spec.where = st.item->where;
		spec.mode = TL_READ_RANGE;
		spec.lo = q->c[i].lo;
		spec.hi = q->c[i].hi;
		spec.batch_rows = env->cfg->extract_batch_size;
		pthread_mutex_unlock(&q->mu);

		st.rows = 0;
		if ((rc = pump(&st, &spec, NULL, &err)))
			goto fail;
		pthread_mutex_lock(&q->mu);
		q->c[i].state = 2;
		q->running--;
		holding = 0;
		q->rows += st.rows;
		q->c[i].rows = st.rows;
		while (q->frontier < q->n && q->c[q->frontier].state == 2)
			q->frontier_rows += q->c[q->frontier++].rows;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
	}
	goto cleanup;
fail:
	pthread_mutex_lock(&q->mu);
	if (holding)
		q->running--;
	if (!q->failed || (q->rc == TL_ERR_INTERRUPTED && rc != TL_ERR_INTERRUPTED)) {
		q->rc = rc;
		q->err = err;
	}
	q->failed = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
cleanup:
	cn->rc = rc;
	tl_driver_disconnect(&env->src, ctx.src);
	tl_driver_disconnect(&env->dst, ctx.dst);
	tl_batch_release(&st.batch);
	tl_batch_release(&st.batch2);
	return NULL;
}

/* Records the committed frontier when due (or when forced); called with q->mu held. */
static int chunk_checkpoint(struct state *st, struct chunkq *q, size_t *recorded, int force, tl_error *err)
{
	char *col = tl_table_part(st->t)->name;
	char *hi;
	int rc;

	if (q->frontier == 0 || q->frontier == *recorded || (!force && !due(st)))
		return 0;
	hi = q->c[q->frontier - 1].hi;
	/* the ranges were committed by the consumers' connections, without TL_WRITE_DURABLE */
	if ((rc = make_durable(st, err)))
		return rc;
	/* the rows up to the recorded bound: ranges committed past it are copied again */
	st->rows = q->frontier_rows;
	*recorded = q->frontier;
	rc = record_key(st, 0, 1, &col, &hi, err);
	return rc;
}

/* Queues the range (lo, hi]; takes hi. Called with q->mu held. On failure hi is freed. */
static int chunk_push(struct chunkq *q, const char *lo, char *hi, tl_error *err)
{
	struct chunk *c;

	if (q->n == q->cap) {
		size_t ncap = q->cap ? 2 * q->cap : 64;
		struct chunk *nc = realloc(q->c, ncap * sizeof(*nc));
		if (!nc) {
			free(hi);
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		}
		q->c = nc;
		q->cap = ncap;
	}
	c = &q->c[q->n];
	c->lo = NULL;
	if (lo && !(c->lo = tl_strdup(lo))) {
		free(hi);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
	c->hi = hi;
	c->state = 0;
	q->n++;
	return 0;
}

/* Waits up to a second for a consumer to report; called with q->mu held. */
static void chunk_wait(struct chunkq *q)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	pthread_cond_timedwait(&q->cv, &q->mu, &until);
}

static int copy_split_parallel(struct state *st, tl_error *err)
{
	tl_copy_ctx *c = st->ctx;
	const tl_migrate_env *env = c->env;
	const tl_table *t = st->t;
	size_t nthreads = env->cfg->parallel_size, started = 0, i, recorded = 0;
	size_t window = 4 * nthreads;
	struct consumer *cons = NULL;
	struct chunkq q;
	char *lo = NULL, *hi = NULL;
	int rc = 0;

	memset(&q, 0, sizeof(q));
	pthread_mutex_init(&q.mu, NULL);
	pthread_cond_init(&q.cv, NULL);
	q.main = st;
	if (st->item->split_after && !(lo = tl_strdup(st->item->split_after))) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto done;
	}
	cons = calloc(nthreads, sizeof(*cons));
	if (!cons) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < nthreads; i++) {
		cons[i].q = &q;
		if (pthread_create(&cons[i].th, NULL, consumer_main, &cons[i]) != 0)
			break;
		started++;
	}
	if (!started) {
		rc = tl_error_set(err, TL_ERR_INTERNAL, "cannot start chunk threads");
		goto done;
	}
	for (;;) {
		/* bounded look-ahead: at most `window` ranges not yet committed */
		pthread_mutex_lock(&q.mu);
		while (!q.failed && q.n - q.frontier >= window && !stopping(st)) {
			chunk_wait(&q);
			if ((rc = chunk_checkpoint(st, &q, &recorded, 0, err)))
				break;
		}
		if (!rc && !q.failed && !stopping(st))
			rc = chunk_checkpoint(st, &q, &recorded, 0, err);
		if (rc || q.failed || stopping(st)) {
			pthread_mutex_unlock(&q.mu);
			break;
		}
		pthread_mutex_unlock(&q.mu);
		if ((rc = tl_driver_next_bound(&env->src, c->src, t, lo, env->cfg->extract_batch_size, &hi, err)) || !hi)
			break;
		pthread_mutex_lock(&q.mu);
		rc = chunk_push(&q, lo, hi, err); /* takes hi, also when it fails */
		pthread_cond_broadcast(&q.cv);
		pthread_mutex_unlock(&q.mu);
		if (rc) {
			hi = NULL;
			break;
		}
		/* the next range starts after this one's upper bound (the queue's now) */
		free(lo);
		lo = tl_strdup(hi);
		hi = NULL;
		if (!lo) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
			break;
		}
	}
	pthread_mutex_lock(&q.mu);
	q.producer_done = 1;
	if (rc)
		q.failed = 1;
	pthread_cond_broadcast(&q.cv);
	/* every range committed; when stopping, only the ranges the consumers are on */
	while (!q.failed && q.frontier < q.n && (q.running > 0 || !stopping(st))) {
		chunk_wait(&q);
		if (!rc)
			rc = chunk_checkpoint(st, &q, &recorded, 0, err);
	}
	pthread_mutex_unlock(&q.mu);
	for (i = 0; i < started; i++)
		pthread_join(cons[i].th, NULL);
	if (!rc && q.failed) {
		rc = q.rc;
		if (err)
			*err = q.err;
	}
	/* whatever is committed contiguously is recorded, also on failure or stop */
	{
		tl_error e2 = TL_ERROR_INIT;
		int rc2;
		pthread_mutex_lock(&q.mu);
		rc2 = chunk_checkpoint(st, &q, &recorded, 1, rc ? &e2 : err);
		pthread_mutex_unlock(&q.mu);
		if (!rc)
			rc = rc2;
	}
	if (!rc && stopping(st))
		rc = tl_error_set(err, TL_ERR_INTERRUPTED, "stopped while copying %s.%s", t->schema, t->name);
done:
	st->rows = q.rows;
	for (i = 0; i < q.n; i++) {
		free(q.c[i].lo);
		free(q.c[i].hi);
	}
	free(q.c);
	free(cons);
	free(lo);
	free(hi);
	pthread_cond_destroy(&q.cv);
	pthread_mutex_destroy(&q.mu);
	if (rc)
		return rc;
	if (tl_table_part(t)->nullable) {
		tl_read_spec spec;
		if ((rc = clean_nulls(st, TL_DELETE_PART_NULLS, err)))
			return rc;
		memset(&spec, 0, sizeof(spec));
		spec.where = st->item->where;
		spec.mode = TL_READ_PART_NULLS;
		spec.batch_rows = env->cfg->extract_batch_size;
		rc = pump(st, &spec, NULL, err);
	}
	return rc;
}

static int copy_split_mode(struct state *st, tl_error *err)
{
	tl_copy_ctx *c = st->ctx;
	const tl_migrate_env *env = c->env;
	const tl_table *t = st->t;
	char *lo = NULL, *hi = NULL;
	char *col = tl_table_part(t)->name;
	tl_read_spec spec;
	int rc = 0, lo_recorded = 1; /* the starting bound is the recorded one */

	if (env->cfg->parallel_type == TL_PAR_CHUNK && env->cfg->parallel_size > 1)
		return copy_split_parallel(st, err);
	if (st->item->split_after && !(lo = tl_strdup(st->item->split_after)))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	memset(&spec, 0, sizeof(spec));
	spec.where = st->item->where;
	spec.batch_rows = env->cfg->extract_batch_size;
	for (;;) {
		if ((rc = tl_driver_next_bound(&env->src, c->src, t, lo, env->cfg->extract_batch_size, &hi, err)))
			break;
		if (!hi)
			break;
		spec.mode = TL_READ_RANGE;
		spec.lo = lo;
		spec.hi = hi;
		if ((rc = pump(st, &spec, NULL, err)))
			break;
		free(lo);
		lo = hi;
		hi = NULL;
		lo_recorded = 0;
		if (due(st) || stopping(st)) {
			if ((rc = make_durable(st, err)) || (rc = record_key(st, 0, 1, &col, &lo, err)))
				break;
			lo_recorded = 1;
		}
		if (stopping(st)) {
			rc = tl_error_set(err, TL_ERR_INTERRUPTED, "stopped while copying %s.%s", t->schema, t->name);
			break;
		}
	}
	/* the last committed range is recorded on every way out, a failure included */
	if (lo && !lo_recorded && st->rows > 0) {
		tl_error e2 = TL_ERROR_INIT;
		tl_error *e = rc ? &e2 : err;
		int rc2 = make_durable(st, e);
		if (!rc2)
			rc2 = record_key(st, 0, 1, &col, &lo, e);
		if (rc2 && rc)
			tl_log(env->log, TL_LOG_WARN, "table %s.%s: the last committed range was not recorded: %s", t->schema,
			       t->name, e2.message);
		if (!rc)
			rc = rc2;
	}
	free(lo);
	free(hi);
	if (rc)
		return rc;
	if (tl_table_part(t)->nullable) {
		if ((rc = clean_nulls(st, TL_DELETE_PART_NULLS, err)))
			return rc;
		spec.mode = TL_READ_PART_NULLS;
		spec.lo = spec.hi = NULL;
		rc = pump(st, &spec, NULL, err);
	}
	return rc;
}

static int copy_scan_mode(struct state *st, tl_error *err)
{
	tl_read_spec spec;

	memset(&spec, 0, sizeof(spec));
	spec.where = st->item->where;
	spec.mode = TL_READ_SCAN;
	spec.batch_rows = st->ctx->env->cfg->extract_batch_size;
	return pump(st, &spec, NULL, err);
}

/*
 * Rows that cannot be upserted: clean what an earlier run of this task wrote past the
 * checkpoint, or refuse when the target holds rows we cannot attribute.
 */
static int prepare_unkeyed(struct state *st, const tl_store_table *prior, int have_prior, int is_empty, tl_error *err)
{
	tl_copy_ctx *c = st->ctx;
	const tl_migrate_env *env = c->env;
	const tl_table *t = st->t;
	int rc;

	if (is_empty)
		return 0;
	/* plan refuses such a table too (tl_plan_check_targets); the target may have changed since */
	if (!have_prior || !prior->target_empty_at_start)
		return tl_error_set(err, TL_ERR_MISMATCH, "table %s.%s: %s", t->schema, t->name, TL_PLAN_REFUSE_KEYLESS);
	if (!env->dst.ops->delete_after)
		return tl_error_set(err, TL_ERR_UNSUPPORTED, "cannot clean up %s.%s before resuming", t->schema, t->name);
	if (st->item->mode == TL_MODE_SPLIT && st->item->split_after) {
		tl_log(env->log, TL_LOG_INFO, "table %s.%s: removing target rows after %s = %s written by the interrupted run",
		       t->schema, t->name, tl_table_part(t)->name, st->item->split_after);
		if ((rc = target_delete(st, st->item->split_after, TL_DELETE_AFTER, err)))
			return rc;
		return target_delete(st, NULL, TL_DELETE_PART_NULLS, err);
	}
	tl_log(env->log, TL_LOG_INFO, "table %s.%s: removing the rows the interrupted run wrote (no position to continue from)",
	       t->schema, t->name);
	return target_delete(st, NULL, TL_DELETE_AFTER, err);
}

/*
 * Copying again a keyed table that this task started into an empty target: every target
 * row past the resume key (every row, when the table starts over) was written by this
 * task after its last checkpoint and will be copied again, so removing them makes the
 * rest of the key range empty and the bulk path (COPY, plain inserts) safe again instead
 * of row-by-row upserts (about 3x slower for PostgreSQL; MongoDB's replace-upserts too).
 * A resume needs a one-column key: delete_after compares the partition column, which is
 * then the key.
 */
static int clear_tail(struct state *st, int keyed, int *cleared, tl_error *err)
{
	tl_copy_ctx *c = st->ctx;
	const tl_migrate_env *env = c->env;
	const tl_plan_item *it = st->item;
	const tl_table *t = st->t;
	const char *after = NULL;
	int rc;

	*cleared = 0;
	if (!keyed || !st->resumed_table || !st->ours || it->mode != TL_MODE_BATCH ||
	    !(env->dst.ops->caps & TL_CAP_BULK_EMPTY) || !env->dst.ops->delete_after)
		return 0;
	if (it->action == TL_ACT_RESUME) {
		if (t->nkeys != 1 || t->key_idx[0] != t->part_idx || it->after.n != 1 || !it->after.vals[0])
			return 0;
		after = it->after.vals[0];
	} else if (it->action != TL_ACT_START)
		return 0;
	tl_log(env->log, TL_LOG_INFO, "table %s.%s: removing the target rows %s%s (written after the last checkpoint)",
	       t->schema, t->name, after ? "after " : "of the interrupted run", after ? after : "");
	if ((rc = target_delete(st, after, TL_DELETE_AFTER, err)))
		return rc;
	*cleared = 1;
	return 0;
}

/*
 * A table this task created (docs/schema.md, "Loading a table tideline created"): every
 * row it holds was written by this task, and it may not have its unique keys yet (they
 * are built once its rows are in), so it never takes upserts. Rows past the checkpoint -
 * past the resume key compared as a row (delete_after_key), past the split value, or all
 * of them when the table starts over - are deleted, and the rest is loaded in bulk.
 * *cleared = 1 when that was done (or the table is empty): plain bulk writes from now on.
 * A driver without the deletes keeps the usual path (its tables keep their key: MongoDB's
 * _id).
 */
static int prepare_ours(struct state *st, int is_empty, int *cleared, tl_error *err)
{
	tl_copy_ctx *c = st->ctx;
	const tl_migrate_env *env = c->env;
	const tl_plan_item *it = st->item;
	const tl_table *t = st->t, *w = st->w; /* the source table, the target one (routed) */
	int rc;

	*cleared = 0;
	if (!it->ours || !env->dst.ops->delete_after)
		return 0;
	if (is_empty) {
		*cleared = 1;
		return 0;
	}
	if (it->action == TL_ACT_RESUME && it->mode == TL_MODE_BATCH && it->after.n) {
		if (!env->dst.ops->delete_after_key || it->after.n != w->nkeys)
			return 0;
		tl_log(env->log, TL_LOG_INFO, "table %s.%s: removing the target rows past the resume key (written after the "
		       "last checkpoint; the table was created by this task)", t->schema, t->name);
		rc = tl_driver_delete_after_key(&env->dst, c->dst, w, &it->after, err);
	} else if (it->action == TL_ACT_RESUME && it->mode == TL_MODE_SPLIT && it->split_after) {
		tl_log(env->log, TL_LOG_INFO, "table %s.%s: removing the target rows after %s = %s (the table was created "
		       "by this task)", t->schema, t->name, tl_table_part(t)->name, it->split_after);
		if (!(rc = tl_driver_delete_after(&env->dst, c->dst, w, it->split_after, TL_DELETE_AFTER, err)))
			rc = tl_driver_delete_after(&env->dst, c->dst, w, NULL, TL_DELETE_PART_NULLS, err);
	} else {
		tl_log(env->log, TL_LOG_INFO, "table %s.%s: removing the rows an interrupted run wrote (the table was "
		       "created by this task and starts over)", t->schema, t->name);
		rc = tl_driver_delete_after(&env->dst, c->dst, w, NULL, TL_DELETE_AFTER, err);
	}
	if (!rc)
		*cleared = 1;
	return rc;
}

/*
 * Before resuming after a checkpoint: the verdict of target.c on what the target holds
 * (the same one `plan` shows). Lost rows make the table start over from the beginning
 * (its rows removed first when they are all this task's), or refuse it.
 */
static int start_over_if_lost(struct state *st, const tl_store_table *prior, int *is_empty, tl_error *err)
{
	tl_copy_ctx *c = st->ctx;
	const tl_migrate_env *env = c->env;
	tl_plan_item *it = st->item;
	tl_target_verdict v;
	int rc;

	if (it->action != TL_ACT_RESUME)
		return 0;
	if ((rc = tl_target_verdict_get(env, c->dst, it, prior, c->recopy_lost, &v, err)))
		return rc;
	switch (v.verdict) {
	case TL_VERDICT_OK:
		if (v.lost)
			tl_log(env->log, TL_LOG_WARN, "table %s.%s: %s", it->schema, it->tb, v.message);
		break;
	case TL_VERDICT_REFUSE:
		rc = tl_error_set(err, TL_ERR_MISMATCH, "%s", v.message);
		break;
	case TL_VERDICT_RESTART:
	case TL_VERDICT_RECOPY:
		tl_log(env->log, TL_LOG_WARN, "table %s.%s: %s", it->schema, it->tb, v.message);
		if (v.verdict == TL_VERDICT_RESTART) {
			if ((rc = target_delete(st, NULL, TL_DELETE_AFTER, err)))
				break;
			*is_empty = 1;
		}
		st->started_over = *is_empty; /* from now on, every row of the target is this task's */
		it->action = TL_ACT_START;
		tl_keyvals_clear(&it->after);
		free(it->split_after);
		it->split_after = NULL;
		break;
	}
	tl_target_verdict_clear(&v);
	return rc;
}

int tl_copy_table(tl_copy_ctx *ctx, tl_plan_item *item, tl_copy_result *res, tl_error *err)
{
	const tl_migrate_env *env = ctx->env;
	struct state st;
	tl_store_table prior, info;
	int have_prior, is_empty = 0, tail_clear = 0, keyed, claimed = 0, rc;
	double t0 = tl_migrate__now();

	memset(&st, 0, sizeof(st));
	memset(res, 0, sizeof(*res));
	st.ctx = ctx;
	st.item = item;
	st.t = item->rtable ? item->rtable : item->table;
	st.w = item->wtable ? item->wtable : item->table;
	st.last_ckpt = t0;
	st.rows_recorded = -1;
	tl_batch_init(&st.batch, st.t->ncols, 8u << 20);

	if ((rc = tl_driver_check_target(&env->dst, ctx->dst, st.w, &is_empty, err)))
		goto cleanup;
	/* one writer per target table, whatever its task (the claim is held until the end) */
	if (ctx->owner && env->dst.ops->claim) {
		if ((rc = tl_driver_claim(&env->dst, ctx->dst, st.w, ctx->owner, err)))
			goto cleanup;
		claimed = 1;
	}
	memset(&prior, 0, sizeof(prior));
	have_prior = tl_recorder_get_table(ctx->rec, st.t->schema, st.t->name, &prior) == 0;
	/* does the target hold what the checkpoint says (target.c)? */
	if ((rc = start_over_if_lost(&st, have_prior ? &prior : NULL, &is_empty, err)))
		goto cleanup;
	st.rows_base = have_prior && prior.rows_copied > 0 && item->action == TL_ACT_RESUME ? prior.rows_copied : 0;
	st.resumed_table = have_prior;
	/* a table this task created holds only its rows, whatever the store says */
	st.ours = item->ours || (have_prior && !st.started_over ? prior.target_empty_at_start : is_empty);
	keyed = st.t->nkeys > 0 && env->cfg->replace;
	if ((rc = prepare_ours(&st, is_empty, &tail_clear, err)))
		goto cleanup;
	if (!tail_clear && (!keyed || any_key_nullable(st.t) || item->mode != TL_MODE_BATCH)) {
		if (!keyed || item->mode == TL_MODE_SCAN) {
			if ((rc = prepare_unkeyed(&st, &prior, have_prior, is_empty, err)))
				goto cleanup;
		}
	}
	/* a table this task created, emptied past the checkpoint, takes plain bulk writes */
	if (keyed && !tail_clear)
		st.write_flags |= TL_WRITE_UPSERT;
	if (!is_empty && !tail_clear && (rc = clear_tail(&st, keyed, &tail_clear, err)))
		goto cleanup;
	if (is_empty || tail_clear)
		st.write_flags |= TL_WRITE_TARGET_EMPTY;
	/* Same driver on both ends: rows may stay in its own encoding (its fastest one,
	 * e.g. binary COPY, only into an empty target that the driver says fits). */
	if (env->src.ops == env->dst.ops && env->dst.ops->native_form) {
		st.native = 1;
		if ((is_empty || tail_clear) && (rc = tl_driver_native_form(&env->dst, ctx->dst, st.w, &st.native, err)))
			goto cleanup;
	}

	memset(&info, 0, sizeof(info));
	info.schema = st.t->schema;
	info.tb = st.t->name;
	info.est_rows = item->est_rows;
	info.rows_copied = st.rows_base;
	info.target_empty_at_start = st.ours;
	info.mode = tl_plan_mode_name(item->mode);
	info.state = "running";
	info.target_rows_at_finish = -1;
	if ((rc = tl_recorder_table_ex(ctx->rec, ctx->hold, &info, err)))
		goto cleanup;
	tl_log(env->log, TL_LOG_INFO, "table %s.%s%s%s%s%s: %s, %s mode, %s write%s", st.t->schema, st.t->name,
	       st.w != st.t ? " -> " : "", st.w != st.t ? st.w->schema : "", st.w != st.t ? "." : "",
	       st.w != st.t ? st.w->name : "", item->action == TL_ACT_RESUME ? "resuming" : "starting",
	       tl_plan_mode_name(item->mode),
	       (st.write_flags & TL_WRITE_UPSERT) ? "upsert" : "insert",
	       is_empty     ? " into an empty target (bulk path allowed)"
	       : tail_clear ? ", the target emptied past the resume point (bulk path allowed)"
			    : "");

	switch (item->mode) {
	case TL_MODE_BATCH: rc = copy_batch_mode(&st, err); break;
	case TL_MODE_SPLIT: rc = copy_split_mode(&st, err); break;
	default: rc = copy_scan_mode(&st, err); break;
	}
	if (rc) {
		int rc2;
		tl_error e2 = TL_ERROR_INIT;
		/* Keep the progress of what is committed, on every way out (a clean stop, a
		 * failure after some batches): made durable first, as any position. */
		if (item->mode == TL_MODE_BATCH && st.have_last && !st.last_recorded) {
			if (make_durable(&st, &e2) == 0 &&
			    record_key(&st, 1, st.last.n, st.last.cols, st.last.vals, &e2) == 0)
				st.last_recorded = 1;
			else
				tl_log(env->log, TL_LOG_WARN, "table %s.%s: the last committed key was not recorded: %s",
				       st.t->schema, st.t->name, e2.message);
		}
		/* as far as the last recorded position: rows after it are copied again */
		info.rows_copied = st.rows_recorded >= 0 ? st.rows_recorded : st.rows_base;
		info.state = rc == TL_ERR_INTERRUPTED ? "stopped" : "failed";
		rc2 = tl_recorder_table_ex(ctx->rec, ctx->hold, &info, &e2);
		(void)rc2;
		goto cleanup;
	}
	/* a finished record promises every row: the last commits durable first */
	if (st.rows > 0 && (rc = make_durable(&st, err)))
		goto cleanup;
	info.rows_copied = st.rows_base + st.rows;
	info.state = "finished";
	/* Into a target that was empty when this run began, every committed row was a new
	 * row (the source's keys are unique, and nothing else writes the table), so the
	 * count is known: no count(*). */
	if (is_empty)
		info.target_rows_at_finish = st.rows;
	else if ((rc = tl_driver_count_rows(&env->dst, ctx->dst, st.w, &info.target_rows_at_finish, err)))
		goto cleanup;
	if ((rc = tl_recorder_table_ex(ctx->rec, ctx->hold, &info, err)))
		goto cleanup;
	if ((rc = tl_recorder_finished_ex(ctx->rec, ctx->hold, env->src.ops->name, st.t->schema, st.t->name,
					  info.rows_copied, err)))
		goto cleanup;
	res->resumed = item->action == TL_ACT_RESUME;
cleanup:
	if (claimed) {
		tl_error e3 = TL_ERROR_INIT;
		/* a connection that is gone took its claim with it */
		if (tl_driver_release(&env->dst, ctx->dst, st.w, &e3) != 0)
			tl_log(env->log, TL_LOG_DEBUG, "table %s.%s: releasing the claim: %s", st.t->schema, st.t->name,
			       e3.message);
	}
	res->rows = st.rows;
	/* a failure: the rows past the last recorded position are copied again */
	if (rc)
		res->unrecorded = st.rows - (st.rows_recorded >= 0 ? st.rows_recorded - st.rows_base : 0);
	res->seconds = tl_migrate__now() - t0;
	tl_keyvals_clear(&st.last);
	tl_batch_release(&st.batch);
	tl_batch_release(&st.batch2);
	if (rc && rc != TL_ERR_INTERRUPTED && err)
		tl_error_prefix(err, "table %s.%s", item->schema, item->tb);
	return rc;
}

int tl_copy_range(tl_copy_ctx *ctx, tl_plan_item *item, const char *lo, const char *hi, int nulls, unsigned flags,
		  int native, int64_t *rows, tl_error *err)
{
	struct state st;
	tl_read_spec spec;
	int rc;

	memset(&st, 0, sizeof(st));
	st.ctx = ctx;
	st.item = item;
	/* as a table's copy: read the projected source table, write the routed target table */
	st.t = item->rtable ? item->rtable : item->table;
	st.w = item->wtable ? item->wtable : item->table;
	st.last_ckpt = tl_migrate__now();
	st.write_flags = flags;
	st.native = native;
	tl_batch_init(&st.batch, st.t->ncols, 8u << 20);
	memset(&spec, 0, sizeof(spec));
	spec.where = item->where;
	spec.mode = nulls ? TL_READ_PART_NULLS : TL_READ_RANGE;
	spec.lo = nulls ? NULL : lo;
	spec.hi = nulls ? NULL : hi;
	spec.batch_rows = ctx->env->cfg->extract_batch_size;
	rc = pump(&st, &spec, NULL, err);
	/* the chunk's end is recorded next (never copied again): its commits durable first */
	if (!rc && st.rows > 0)
		rc = make_durable(&st, err);
	*rows = st.rows;
	tl_batch_release(&st.batch);
	tl_batch_release(&st.batch2);
	if (rc && rc != TL_ERR_INTERRUPTED && rc != TL_ERR_LOCKED && err)
		tl_error_prefix(err, "table %s.%s", item->schema, item->tb);
	return rc;
}
