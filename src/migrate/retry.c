/*
 * retry.c - a run that survives transient failures (issue #15): the retry of a table's
 * unit of work, the connects of a worker, and the per-batch deadline (migrate.h has the
 * contract). It knows no database: what is transient is the drivers' classification
 * (error.h TL_ERRF_TRANSIENT), and a stalled connection is given up through the driver's
 * interrupt slot.
 *
 * How a retry works. tl_copy_table fails with a transient error; the worker then does for
 * that table what a new run of the task would do, without leaving the process:
 *   1. it closes its source and target connections: a lost connection cannot be trusted,
 *      and a commit whose end it did not see may or may not have happened;
 *   2. it waits min(cap, base * 2^(attempt-1)) seconds, the second half of it random (so
 *      that workers that failed together do not come back together), at most until the
 *      outage's time budget ends; a stop signal or another worker's failure ends the wait;
 *   3. it connects again (a refused connection belongs to the same outage: one more
 *      attempt);
 *   4. it plans the table again from the store (tl_plan_refresh_item): described anew and
 *      continued after its last recorded position, whatever was committed after that
 *      being treated as possibly applied, as after a crash: keyed rows are upserted again,
 *      and a table this task started into an empty target has the rows past the position
 *      removed first (tl_copy_table does both, as for a resumed run);
 *   5. it copies on.
 * An outage is a sequence of failures without a committed batch in between; it gets
 * retry_max_attempts attempts and retry_max_secs seconds from its first failure. A failure
 * after progress begins a new outage. Every retry is logged (cause, number) and counted;
 * the rows an attempt wrote past its last recorded position are counted once in the
 * table's rows and reported as sent again (tl_copy_result.resent).
 *
 * The watch (per-batch deadline): tl_watch_begin / tl_watch_end bracket each call of a
 * copy that can stall (reading a batch, writing one); a thread looks at them every 250 ms
 * and gives up a connection whose call has lasted batch_timeout_secs, through the
 * driver's interrupt slot: the call then fails as a lost connection, a transient failure
 * the retry takes over. The watchdog touches a connection only between begin and end,
 * under the watch's lock, so a worker may close it after tl_watch_end.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "migrate/migrate.h"

#define BASE_SECS 0.5
#define CAP_SECS 30.0

struct tl_retry {
	tl_retry_limits lim;
	tl_logger *log;
	pthread_mutex_t mu;
	long count;     /* retries so far (under mu) */
	char last[300]; /* the last one, for the progress line (under mu) */
};

tl_retry_limits tl_retry_limits_of(const tl_config *cfg, double base_secs)
{
	tl_retry_limits l;

	l.max_attempts = cfg->retry_max_attempts;
	l.max_secs = (double)cfg->retry_max_secs;
	l.base_secs = base_secs > 0 ? base_secs : BASE_SECS;
	l.cap_secs = CAP_SECS * l.base_secs / BASE_SECS;
	return l;
}

int tl_retry_new(tl_retry **out, const tl_retry_limits *limits, tl_logger *log, tl_error *err)
{
	tl_retry *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	r->lim = *limits;
	r->log = log;
	pthread_mutex_init(&r->mu, NULL);
	*out = r;
	return 0;
}

void tl_retry_free(tl_retry *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->mu);
	free(r);
}

long tl_retry_count(tl_retry *r, char *last, size_t n)
{
	long c;

	if (!r) {
		if (last && n)
			last[0] = '\0';
		return 0;
	}
	pthread_mutex_lock(&r->mu);
	c = r->count;
	if (last && n)
		snprintf(last, n, "%s", r->last);
	pthread_mutex_unlock(&r->mu);
	return c;
}

/* A number in [0, 1) that differs between threads and calls (jitter only: no quality needed). */
static double jitter(unsigned attempt)
{
	struct timespec ts;
	unsigned long long x;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	x = (unsigned long long)ts.tv_nsec ^ ((unsigned long long)ts.tv_sec << 20) ^
	    ((unsigned long long)(uintptr_t)&ts << 7) ^ attempt;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (double)(x >> 11) / 9007199254740992.0;
}

/* Sleeps `secs` in short steps; 1 when the run stops meanwhile (signal or another worker). */
static int nap(double secs, volatile sig_atomic_t *stop, int *abort_all)
{
	double end = tl_migrate__now() + secs;

	for (;;) {
		double left = end - tl_migrate__now();
		struct timespec ts;

		if (tl_migrate__stopping(stop, abort_all))
			return 1;
		if (left <= 0)
			return 0;
		if (left > 0.05)
			left = 0.05;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(left * 1e9);
		nanosleep(&ts, NULL);
	}
}

static int is_transient(int rc, const tl_error *err)
{
	return rc && rc != TL_ERR_INTERRUPTED && err && (err->flags & TL_ERRF_TRANSIENT);
}

int tl_retry_wait(tl_retry *r, volatile sig_atomic_t *stop, int *abort_all, unsigned *attempt, double t0,
		  const char *what, int rc, tl_error *err)
{
	const tl_retry_limits *lim;
	double now = tl_migrate__now(), d, wait;
	const char *cause;
	size_t n;

	if (!r || !is_transient(rc, err) || r->lim.max_attempts == 0 || tl_migrate__stopping(stop, abort_all))
		return rc;
	lim = &r->lim;
	if (*attempt >= lim->max_attempts || now - t0 >= lim->max_secs) {
		tl_error_prefix(err, "%s: gave up after %u %s in %.0f s (the limits: [pipeline] retry_max_attempts=%u, "
				     "retry_max_secs=%.0f; run the task again to resume)",
				what, *attempt + 1, *attempt ? "attempts" : "attempt", now - t0, lim->max_attempts,
				lim->max_secs);
		return rc;
	}
	(*attempt)++;
	d = lim->base_secs;
	for (unsigned i = 1; i < *attempt && d < lim->cap_secs; i++)
		d *= 2;
	if (d > lim->cap_secs)
		d = lim->cap_secs;
	wait = d / 2 + d / 2 * jitter(*attempt);
	if (now + wait > t0 + lim->max_secs)
		wait = t0 + lim->max_secs - now; /* the last attempt comes when the budget ends */
	cause = err ? err->message : "?";
	n = strlen(what);
	if (strncmp(cause, what, n) == 0 && strncmp(cause + n, ": ", 2) == 0)
		cause += n + 2; /* the message names the table already */
	tl_log(r->log, TL_LOG_WARN, "%s: transient failure, retry %u of %u in %.1f s: %s", what, *attempt,
	       lim->max_attempts, wait, cause);
	pthread_mutex_lock(&r->mu);
	r->count++;
	snprintf(r->last, sizeof(r->last), "%s, retry %u/%u: %.200s", what, *attempt, lim->max_attempts, cause);
	pthread_mutex_unlock(&r->mu);
	if (nap(wait, stop, abort_all))
		return tl_error_set(err, TL_ERR_INTERRUPTED, "%s: stopped while waiting to retry", what);
	return 0;
}

tl_endpoint tl_retry_endpoint(const tl_copy_ctx *ctx, int target)
{
	const tl_migrate_env *env = ctx->env;
	/* with the run's dead-peer bound (a fleet worker's: fleet.c) */
	tl_endpoint ep = target ? tl_migrate__target(env) : tl_migrate__source(env);
	const tl_driver *d = target ? &env->dst : &env->src;
	unsigned deadline = env->cfg->batch_timeout_secs;

	if (target && ctx->owner)
		ep.app_name = ctx->owner;
	if (!d->ops->interrupt && deadline > 0 && (ep.io_timeout_secs <= 0 || (unsigned)ep.io_timeout_secs > deadline))
		ep.io_timeout_secs = (int)deadline;
	return ep;
}

int tl_retry_connect(const tl_copy_ctx *ctx, const tl_driver *d, const tl_endpoint *ep, const char *what,
		     tl_conn **out, tl_error *err)
{
	tl_error local = TL_ERROR_INIT;
	unsigned attempt = 0;
	double t0 = tl_migrate__now();
	char label[64];
	int rc;

	if (!err)
		err = &local;
	snprintf(label, sizeof(label), "connecting to the %s", what);
	while ((rc = tl_driver_connect(d, ep, out, err)) != 0)
		if ((rc = tl_retry_wait(ctx->retry, ctx->stop, ctx->abort_all, &attempt, t0, label, rc, err)))
			return rc;
	if (attempt)
		tl_log(ctx->env->log, TL_LOG_NOTICE, "connected to the %s after %u %s", what, attempt,
		       attempt == 1 ? "retry" : "retries");
	return 0;
}

/* Closes the worker's connections, connects them again and plans the table again. */
static int reopen(tl_copy_ctx *ctx, tl_plan_item *it, tl_error *err)
{
	const tl_migrate_env *env = ctx->env;
	tl_endpoint src_ep = tl_retry_endpoint(ctx, 0);
	tl_endpoint dst_ep = tl_retry_endpoint(ctx, 1);
	int rc;

	tl_driver_disconnect(&env->src, ctx->src);
	tl_driver_disconnect(&env->dst, ctx->dst);
	ctx->src = ctx->dst = NULL;
	if ((rc = tl_driver_connect(&env->src, &src_ep, &ctx->src, err)) ||
	    (rc = tl_driver_connect(&env->dst, &dst_ep, &ctx->dst, err)))
		return rc;
	return tl_plan_refresh_item(env, ctx->src, ctx->rec, it, err);
}

int tl_retry_copy(tl_copy_ctx *ctx, tl_plan_item *it, tl_copy_result *res, tl_error *err)
{
	tl_error local = TL_ERROR_INIT;
	tl_copy_result one;
	unsigned attempt = 0;
	double t0 = 0;
	char what[300];
	int rc;

	if (!err)
		err = &local;
	memset(res, 0, sizeof(*res));
	snprintf(what, sizeof(what), "table %s.%s", it->schema, it->tb);
	for (;;) {
		rc = tl_copy_table(ctx, it, &one, err);
		res->rows += one.rows;
		res->seconds += one.seconds;
		if (res->retries == 0)
			res->resumed = one.resumed;
		if (!rc || !ctx->retry) {
			res->unrecorded = one.unrecorded;
			return rc;
		}
		/* the next attempt continues from the last recorded position: what this one
		 * wrote past it is sent again, and counted once (as the store counts it) */
		res->rows -= one.unrecorded;
		res->resent += one.unrecorded;
		/* refused a claim on the target table after a lost connection: the claim is most
		 * likely that connection's own, which its server has not ended yet (it ends the
		 * session when it notices the client is gone); another task's is waited for
		 * within the same budget, then named in the error */
		if (rc == TL_ERR_LOCKED && res->retries > 0) {
			tl_error_prefix(err, "after a lost connection (whose claim lasts until its server notices)");
			tl_error_add_flags(err, TL_ERRF_TRANSIENT);
		}
		if (one.rows > 0 || t0 == 0) { /* progress since the last failure: a new outage */
			t0 = tl_migrate__now();
			attempt = 0;
		}
		/* wait, reconnect and replan until that works, or give up */
		do {
			if ((rc = tl_retry_wait(ctx->retry, ctx->stop, ctx->abort_all, &attempt, t0, what, rc, err)))
				return rc;
			res->retries++;
			rc = reopen(ctx, it, err);
		} while (rc);
		tl_log(ctx->env->log, TL_LOG_NOTICE, "%s: retry %u: connected again, %s", what, attempt,
		       it->action == TL_ACT_SKIP ? "the table is finished" : "copying on from its last recorded position");
		if (it->action == TL_ACT_SKIP) {
			/* finished: its record covers every row the last attempt wrote */
			res->rows += one.unrecorded;
			res->resent -= one.unrecorded;
			return 0;
		}
	}
}

/* ---- the per-batch deadline ---------------------------------------------------------- */

struct watch_slot {
	const tl_driver *d;
	tl_conn *c;
	const tl_table *t;
	const char *doing;
	double since;
	int busy;
	int fired;
};

struct tl_watch {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	int quit;
	unsigned deadline;
	tl_logger *log;
	struct watch_slot *slots;
	size_t n;
	int warned_no_interrupt;
};

static void *watch_main(void *arg)
{
	tl_watch *w = arg;

	pthread_mutex_lock(&w->mu);
	while (!w->quit) {
		struct timespec until;
		double now;
		size_t i;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 250000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cv, &w->mu, &until);
		now = tl_migrate__now();
		for (i = 0; i < w->n; i++) {
			struct watch_slot *s = &w->slots[i];
			if (!s->busy || s->fired || now - s->since < (double)w->deadline)
				continue;
			s->fired = 1;
			if (tl_driver_interrupt(s->d, s->c) == 0) {
				tl_log(w->log, TL_LOG_WARN,
				       "table %s.%s: no answer for %u s while %s ([pipeline] batch_timeout_secs): "
				       "connection given up",
				       s->t->schema, s->t->name, w->deadline, s->doing);
			} else if (!w->warned_no_interrupt) {
				w->warned_no_interrupt = 1;
				tl_log(w->log, TL_LOG_WARN,
				       "table %s.%s: no answer for %u s while %s, and the %s driver cannot give a "
				       "connection up: its silence bound (io_timeout_secs, at most the deadline) "
				       "ends the call",
				       s->t->schema, s->t->name, w->deadline, s->doing, s->d->ops->name);
			}
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int tl_watch_new(tl_watch **out, unsigned deadline_secs, tl_logger *log, tl_error *err)
{
	tl_watch *w;

	*out = NULL;
	if (deadline_secs == 0)
		return 0;
	if (!(w = calloc(1, sizeof(*w))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	w->deadline = deadline_secs;
	w->log = log;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->th, NULL, watch_main, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return tl_error_set(err, TL_ERR_INTERNAL, "cannot start the batch deadline thread");
	}
	*out = w;
	return 0;
}

void tl_watch_free(tl_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->quit = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->slots);
	free(w);
}

int tl_watch_begin(tl_watch *w, const tl_driver *d, tl_conn *c, const tl_table *t, const char *doing)
{
	size_t i;

	if (!w || !c)
		return -1;
	pthread_mutex_lock(&w->mu);
	for (i = 0; i < w->n && w->slots[i].busy; i++)
		;
	if (i == w->n) {
		struct watch_slot *ns = realloc(w->slots, (w->n + 8) * sizeof(*ns));
		if (!ns) { /* not watched: the silence bound still applies */
			pthread_mutex_unlock(&w->mu);
			return -1;
		}
		memset(ns + w->n, 0, 8 * sizeof(*ns));
		w->slots = ns;
		w->n += 8;
	}
	w->slots[i].d = d;
	w->slots[i].c = c;
	w->slots[i].t = t;
	w->slots[i].doing = doing;
	w->slots[i].since = tl_migrate__now();
	w->slots[i].fired = 0;
	w->slots[i].busy = 1;
	pthread_mutex_unlock(&w->mu);
	return (int)i;
}

int tl_watch_end(tl_watch *w, int ticket, int rc, tl_error *err)
{
	int fired;

	if (!w || ticket < 0)
		return 0;
	pthread_mutex_lock(&w->mu);
	fired = w->slots[ticket].fired;
	w->slots[ticket].busy = 0;
	pthread_mutex_unlock(&w->mu);
	if (fired && rc && rc != TL_ERR_INTERRUPTED && err) {
		tl_error_prefix(err, "no answer for %u s ([pipeline] batch_timeout_secs)", w->deadline);
		tl_error_add_flags(err, TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST);
	}
	return fired;
}
