/*
 * fleet.c - one task run by many tideline workers on many hosts, coordinated through the
 * shared store (#17, migrate.h, docs/fleet.md). The store decides everything that needs
 * deciding (store.h, store_lease.c: claims FOR UPDATE SKIP LOCKED, leases on the store
 * server's clock, fencing tokens checked in the transaction of every record); this file
 * is the worker's side of it. It works like this:
 *
 *   join      tl_fleet_new takes the task lock for the fleet and registers the worker
 *             (tl_store_fleet_enter, one transaction), opens a second store handle for
 *             claims and renewals, and starts the heartbeat thread;
 *   plan      every worker plans as a run would and adds the tables it would copy as
 *             work items of kind "table" (items already there are kept);
 *   claim     each of the run's threads claims an item - a "chunk" first, so that tables
 *             already started finish first, then a "table" - and waits (a fraction of a
 *             second) while items are claimed by others, until none is left;
 *   do        a table is planned again from the store (its position may have moved on
 *             under another worker since this one planned) and copied by tl_copy_table
 *             with the claim in its context: every record is fenced by the lease
 *             (recorder.c), and the finish ends the claim. A split table whose rows are
 *             upserted is cut instead: its claimer adds one "chunk" item per range of
 *             chunk_rows rows of the partition column (bounds in the item's payload, the
 *             cut's progress in the table item's, both fenced), and whoever ends the last
 *             chunk - or the cut, if the chunks were quicker - records the table finished
 *             (tl_recorder_group_end, under the table item's row lock);
 *   end       the claim ends done, failed for good, or given back (a stop, a transient
 *             failure); a claim that was taken over is simply dropped.
 *   steps     the definition steps of a task that creates them (defs.c) are items of kind
 *             "step", keyed by the step's id: tl_fleet_step claims one by key, so that it
 *             runs once for the whole fleet, while the other workers wait for it (run.c
 *             orders steps and tables: docs/fleet.md). A table the task creates is copied
 *             whole, never cut: it has no unique key until its rows are in, and a chunk
 *             taken over is written again with upserts, which need one.
 *
 * Fencing the target, not only the store. A worker that is cut off keeps its lease until
 * the store's clock passes lease_until, which is at least lease_secs after the worker
 * sent its last renewal. The worker keeps a local deadline of exactly that (monotonic
 * clock, from the time it *sent* the renewal, so it is never later than the store's), and:
 *   - starts a target write (a batch, a delete past a checkpoint) only with at least half
 *     a lease left on that deadline, renewing first when less is left, and giving the
 *     item up when the renewal fails until the deadline has passed (tl_fleet_gate);
 *   - connects to the target with TCP_USER_TIMEOUT of a quarter lease (dead_peer_secs):
 *     whatever it sent that the target's host did not acknowledge by then is dropped with
 *     the connection, never delivered later when a cut link returns;
 *   - stops at once when a renewal or a record says the lease was taken over.
 * So a write started with half a lease left and taking less than a quarter lease reaches
 * the target before the lease can expire, or never; the next holder starts (and deletes
 * past the checkpoint of a keyless table) only after the expiry, and additionally waits
 * that quarter lease before it starts a table it took over. A write that outlives the
 * lease is reported (tl_fleet_wrote). docs/fleet.md gives the rule to users: batches
 * that take well under a quarter lease.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "migrate/migrate.h"
#include "tideline/buf.h"

/* Chunks whose items are added in one store transaction while a table is cut. */
#define CUT_BATCH 256

struct tl_fleet_hold {
	tl_fleet *f;
	tl_store_lease lease; /* its lease_until under f->mu; the strings never change */
	double deadline;      /* monotonic: the lease certainly lasts until then (under f->mu) */
	int lost;             /* taken over, or could not be renewed in time (under f->mu) */
	int ended;            /* a record ended the claim (under f->mu) */
	int busy;             /* renewals in flight: the hold stays until they are back (under f->mu) */
	char why[512];        /* why it was lost */
	tl_fleet_hold *next;
};

struct tl_fleet {
	tl_migrate_env *env;
	const tl_config *cfg;
	tl_logger *log;
	char *worker;
	double lease, guard, beat;
	size_t chunk_rows;
	int64_t *rows;          /* the run's row counter (atomic), for the beats */
	tl_store *store;        /* claims, renewals, beats: under store_mu */
	pthread_mutex_t store_mu;
	pthread_mutex_t mu;     /* holds and the flags below */
	pthread_cond_t cv;
	tl_fleet_hold *holds;
	pthread_t beat_th;
	int beat_on, quit, evicted, failed;
	char **ours;            /* sorted table keys of the tables this task creates (tl_fleet_add_plan) */
	size_t nours;
};

/* The thread's last described table (chunks of one table follow each other). */
struct tl_fleet_cache {
	tl_plan item;   /* one item */
	int native;     /* read level for a chunk written with upserts */
	int native_bulk; /* ... and for one written into an empty range (TL_WRITE_TARGET_EMPTY) */
};

static void lock(pthread_mutex_t *m)
{
	pthread_mutex_lock(m);
}

static void unlock(pthread_mutex_t *m)
{
	pthread_mutex_unlock(m);
}

/* ---- JSON of payloads and progress --------------------------------------------------- */

int tl_fleet_json_text(const char *json, const char *name, char **out, tl_error *err)
{
	cJSON *root, *v;
	int rc = 0;

	*out = NULL;
	if (!json)
		return 0;
	if (!(root = cJSON_Parse(json)))
		return tl_error_set(err, TL_ERR_PARSE, "work item data '%.100s' is not JSON", json);
	v = cJSON_GetObjectItemCaseSensitive(root, name);
	if (cJSON_IsString(v) && !(*out = tl_strdup(v->valuestring)))
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	cJSON_Delete(root);
	return rc;
}

int tl_fleet_json_i64(const char *json, const char *name, int64_t *out, tl_error *err)
{
	cJSON *root, *v;

	*out = 0;
	if (!json)
		return 0;
	if (!(root = cJSON_Parse(json)))
		return tl_error_set(err, TL_ERR_PARSE, "work item data '%.100s' is not JSON", json);
	v = cJSON_GetObjectItemCaseSensitive(root, name);
	if (cJSON_IsNumber(v))
		*out = (int64_t)v->valuedouble;
	cJSON_Delete(root);
	return 0;
}

/* {"a":"x","b":null,"n":1}: names with a text (NULL: null) or, for numbers, no text. */
struct jfield {
	const char *name;
	const char *text;
	int is_num;
	double num;
};

static int json_make(const struct jfield *fields, size_t n, char **out, tl_error *err)
{
	cJSON *root = cJSON_CreateObject();
	size_t i;
	int ok = root != NULL;

	*out = NULL;
	for (i = 0; ok && i < n; i++) {
		if (fields[i].is_num)
			ok = cJSON_AddNumberToObject(root, fields[i].name, fields[i].num) != NULL;
		else if (fields[i].text)
			ok = cJSON_AddStringToObject(root, fields[i].name, fields[i].text) != NULL;
		else
			ok = cJSON_AddNullToObject(root, fields[i].name) != NULL;
	}
	if (ok) {
		char *text = cJSON_PrintUnformatted(root);

		ok = text && (*out = tl_strdup(text)) != NULL;
		cJSON_free(text);
	}
	cJSON_Delete(root);
	return ok ? 0 : tl_error_set(err, TL_ERR_NOMEM, "out of memory");
}

/*
 * A table's work item key: schema.table, with '\', '.' and '#' escaped by '\', so that
 * "KEY#" starts the keys of its chunks and of no other table's.
 */
static int table_key(const char *schema, const char *tb, tl_buf *out, tl_error *err)
{
	const char *parts[2] = {schema, tb};
	int i, rc = 0;

	tl_buf_reset(out);
	for (i = 0; i < 2 && !rc; i++) {
		const char *p;

		if (i && (rc = tl_buf_putc(out, '.', err)))
			break;
		for (p = parts[i] ? parts[i] : ""; *p && !rc; p++) {
			if ((*p == '\\' || *p == '.' || *p == '#') && (rc = tl_buf_putc(out, '\\', err)))
				break;
			rc = tl_buf_putc(out, *p, err);
		}
	}
	if (!rc && !out->data)
		rc = tl_buf_puts(out, "", err);
	return rc;
}

/* ---- holds ----------------------------------------------------------------------------- */

static tl_fleet_hold *hold_add(tl_fleet *f, tl_store_lease *l, double sent)
{
	tl_fleet_hold *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->f = f;
	h->lease = *l; /* moves the strings */
	memset(l, 0, sizeof(*l));
	h->deadline = sent + f->lease;
	lock(&f->mu);
	h->next = f->holds;
	f->holds = h;
	unlock(&f->mu);
	return h;
}

static void hold_free(tl_fleet *f, tl_fleet_hold *h)
{
	tl_fleet_hold **pp;

	if (!h)
		return;
	lock(&f->mu);
	for (pp = &f->holds; *pp; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	while (h->busy)
		pthread_cond_wait(&f->cv, &f->mu);
	unlock(&f->mu);
	tl_store_lease_clear(&h->lease);
	free(h);
}

/* Marks h lost (under f->mu) and says so once. */
static void hold_lose(tl_fleet_hold *h, const char *why)
{
	if (h->lost)
		return;
	h->lost = 1;
	snprintf(h->why, sizeof(h->why), "%s", why);
	tl_log(h->f->log, TL_LOG_WARN, "worker '%s': %s '%s': %s; its writes stop", h->f->worker, h->lease.kind,
	       h->lease.key, why);
}

int tl_fleet_hold_lease(tl_fleet_hold *h, tl_store_lease *out, double *sent, tl_error *err)
{
	int rc = 0;

	lock(&h->f->mu);
	if (h->lost)
		rc = tl_error_set(err, TL_ERR_LOCKED, "%s '%s' is no longer this worker's: %s", h->lease.kind, h->lease.key,
				  h->why);
	else if (h->ended)
		rc = tl_error_set(err, TL_ERR_INTERNAL, "%s '%s' is already done", h->lease.kind, h->lease.key);
	else
		*out = h->lease; /* the strings stay the hold's */
	*sent = tl_migrate__now();
	unlock(&h->f->mu);
	return rc;
}

void tl_fleet_hold_result(tl_fleet_hold *h, const tl_store_lease *l, double sent, int rc, int ends, const tl_error *e)
{
	tl_fleet *f = h->f;

	lock(&f->mu);
	if (rc == 0) {
		h->lease.lease_until = l->lease_until;
		if (sent + f->lease > h->deadline)
			h->deadline = sent + f->lease;
		if (ends)
			h->ended = 1;
	} else if (rc == TL_ERR_LOCKED) {
		hold_lose(h, e && e->message[0] ? e->message : "a record under its lease was refused: it was taken over");
	}
	unlock(&f->mu);
}

/*
 * Renews h once through the fleet's store handle. Called with f->mu held; releases it
 * during the store call (h stays: busy). Returns the renewal's result.
 */
static int hold_renew(tl_fleet *f, tl_fleet_hold *h, tl_error *err)
{
	tl_store_lease copy = h->lease;
	double sent = tl_migrate__now();
	int rc;

	h->busy++;
	unlock(&f->mu);
	lock(&f->store_mu);
	rc = tl_store_renew(f->store, &copy, err);
	unlock(&f->store_mu);
	lock(&f->mu);
	h->busy--;
	pthread_cond_broadcast(&f->cv);
	if (rc == 0) {
		h->lease.lease_until = copy.lease_until;
		if (sent + f->lease > h->deadline)
			h->deadline = sent + f->lease;
	} else if (rc == TL_ERR_LOCKED) {
		hold_lose(h, err ? err->message : "the lease was taken over");
	}
	return rc;
}

int tl_fleet_gate(tl_fleet_hold *h, tl_error *err)
{
	tl_fleet *f;
	int rc = 0;

	if (!h)
		return 0;
	f = h->f;
	lock(&f->mu);
	for (;;) {
		tl_error e = TL_ERROR_INIT;
		double left;

		if (h->lost) {
			rc = tl_error_set(err, TL_ERR_LOCKED, "%s '%s' is no longer this worker's: %s", h->lease.kind,
					  h->lease.key, h->why);
			break;
		}
		left = h->deadline - tl_migrate__now();
		if (left >= f->guard)
			break;
		/* less than half a lease left: renew now rather than write into the lease's end */
		if (hold_renew(f, h, &e) == 0 || h->lost)
			continue;
		if (tl_migrate__now() >= h->deadline) {
			char why[512];

			snprintf(why, sizeof(why), "its lease could not be renewed before it may have expired (%s)", e.message);
			hold_lose(h, why);
			continue;
		}
		unlock(&f->mu);
		tl_migrate__sleep(left / 4 < 0.5 ? (left / 4 > 0.05 ? left / 4 : 0.05) : 0.5);
		lock(&f->mu);
	}
	unlock(&f->mu);
	return rc;
}

void tl_fleet_wrote(tl_fleet_hold *h, double t0)
{
	double now;
	char why[300];

	if (!h)
		return;
	now = tl_migrate__now();
	lock(&h->f->mu);
	if (now > h->deadline && !h->lost) {
		snprintf(why, sizeof(why),
			 "a write to the target took %.1f s and outlived the lease (keep batches well under a quarter "
			 "of [resumer] lease_secs=%.0f)",
			 now - t0, h->f->lease);
		hold_lose(h, why);
	}
	unlock(&h->f->mu);
}

/* ---- the store, with retries ----------------------------------------------------------- */

/* Waits before repeating a store call that failed transiently; TL_ERR_* when it is time to give up. */
static int backoff(tl_logger *log, const char *worker, double t0, double *wait, int rc, const char *what, tl_error *err)
{
	if (!tl_error_is_transient(err) || tl_migrate__now() - t0 + *wait > TL_STORE_RETRY_SECS)
		return rc;
	tl_log(log, TL_LOG_WARN, "worker '%s': %s: %s; trying again in %.1f s", worker, what, err->message, *wait);
	tl_migrate__sleep(*wait);
	*wait = *wait * 2 < 5.0 ? *wait * 2 : 5.0;
	return 0;
}

int tl_fleet_backoff(tl_fleet *f, double t0, double *wait, int rc, const char *what, tl_error *err)
{
	return backoff(f->log, f->worker, t0, wait, rc, what, err);
}

int tl_fleet_open_store(tl_logger *log, const char *worker, const char *path, tl_store **out, tl_error *err)
{
	double t0 = tl_migrate__now(), wait = 0.1;
	int rc;

	while ((rc = tl_store_open(out, path, 0, err)))
		if ((rc = backoff(log, worker, t0, &wait, rc, "opening the store", err)))
			return rc;
	return 0;
}

/* Ends h's claim through the fleet's handle (done, failed, given back). */
static int end_claim(tl_fleet *f, tl_fleet_hold *h, enum tl_store_end how, const char *result, tl_error *err)
{
	double t0 = tl_migrate__now(), wait = 0.1;
	int rc;

	for (;;) {
		tl_store_lease copy;
		double sent;

		if ((rc = tl_fleet_hold_lease(h, &copy, &sent, err)))
			return rc;
		lock(&f->store_mu);
		rc = tl_store_end(f->store, &copy, how, result, err);
		unlock(&f->store_mu);
		tl_fleet_hold_result(h, &copy, sent, rc, 1, err);
		if (!rc || (rc = tl_fleet_backoff(f, t0, &wait, rc, "ending a claim", err)))
			return rc;
	}
}

/* ---- the heartbeat --------------------------------------------------------------------- */

static void *beat_main(void *arg)
{
	tl_fleet *f = arg;
	double prev_t = tl_migrate__now();
	int64_t prev_rows = 0;

	lock(&f->mu);
	while (!f->quit) {
		struct timespec until;
		tl_fleet_hold *h;
		tl_error e = TL_ERROR_INIT;
		double now, rate;
		int64_t rows;
		int rc;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)f->beat;
		until.tv_nsec += (long)((f->beat - (double)(time_t)f->beat) * 1e9);
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&f->cv, &f->mu, &until);
		if (f->quit)
			break;
		/* every claim of this process; a transient failure is tried again at the next beat */
		for (h = f->holds; h && !f->quit; h = h->next)
			if (!h->lost && !h->ended)
				(void)hold_renew(f, h, &e);
		now = tl_migrate__now();
		rows = f->rows ? __atomic_load_n(f->rows, __ATOMIC_RELAXED) : 0;
		rate = now > prev_t ? (double)(rows - prev_rows) / (now - prev_t) : -1.0;
		prev_t = now;
		prev_rows = rows;
		unlock(&f->mu);
		lock(&f->store_mu);
		rc = tl_store_worker_beat(f->store, f->cfg->task_id, f->worker, rows, rate, &e);
		unlock(&f->store_mu);
		lock(&f->mu);
		if (rc == TL_ERR_LOCKED && !f->evicted) {
			f->evicted = 1;
			tl_log(f->log, TL_LOG_ERROR, "worker '%s': %s; stopping", f->worker, e.message);
		}
	}
	unlock(&f->mu);
	return NULL;
}

/* ---- the tables this task creates ------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void ours_free(tl_fleet *f)
{
	size_t i;

	for (i = 0; i < f->nours; i++)
		free(f->ours[i]);
	free(f->ours);
	f->ours = NULL;
	f->nours = 0;
}

/* Whether schema.tb is a table this task creates (or created): loaded in bulk, its keys built after. */
static int is_ours(const tl_fleet *f, const char *schema, const char *tb)
{
	tl_buf key = TL_BUF_INIT;
	const char *k;
	int hit = 0;

	if (f->nours && table_key(schema, tb, &key, NULL) == 0) {
		k = tl_buf_cstr(&key);
		hit = bsearch(&k, f->ours, f->nours, sizeof(*f->ours), cmp_str) != NULL;
	}
	tl_buf_release(&key);
	return hit;
}

/* ---- joining and leaving --------------------------------------------------------------- */

int tl_fleet_new(tl_fleet **out, tl_migrate_env *env, const char *store_path, const char *worker, int forget,
		 int64_t *rows, tl_error *err)
{
	const tl_config *cfg = env->cfg;
	tl_fleet *f = NULL;
	tl_store_lock_info info;
	double t0 = tl_migrate__now(), wait = 0.1;
	int rc;

	*out = NULL;
	if (!(f = calloc(1, sizeof(*f))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&f->mu, NULL);
	pthread_mutex_init(&f->store_mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	f->env = env;
	f->cfg = cfg;
	f->log = env->log;
	f->rows = rows;
	f->lease = (double)cfg->lease_secs;
	f->guard = f->lease / 2;
	f->beat = f->lease / 4;
	f->chunk_rows = cfg->chunk_rows ? cfg->chunk_rows : 16 * cfg->extract_batch_size;
	/* what the target's host has not acknowledged after a quarter lease is never delivered */
	env->dead_peer_secs = cfg->lease_secs / 4 > 1 ? (int)(cfg->lease_secs / 4) : 1;
	env->fleet = 1; /* its definition records are shared with the other workers (defs.c) */
	if (!(f->worker = tl_strdup(worker))) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto fail;
	}
	/* the task lock, shared with the fleet, and this worker's registration: one transaction */
	while ((rc = tl_store_fleet_enter(env->store, cfg->task_id, worker, f->lease, forget ? TL_STORE_FLEET_FORGET : 0,
					  &info, err)))
		if ((rc = tl_fleet_backoff(f, t0, &wait, rc, "joining the fleet", err)))
			goto fail;
	if (info.taken_over)
		tl_log(f->log, TL_LOG_NOTICE,
		       "task '%s': took over the task lock of pid %ld on host '%s' (started %s): %s", cfg->task_id,
		       info.pid, info.host, info.started_at, info.reason);
	tl_log(f->log, TL_LOG_NOTICE, "task '%s': worker '%s' joined the fleet (store %s, lease %.0f s%s)", cfg->task_id,
	       worker, tl_store_path(env->store), f->lease, forget ? ", progress forgotten (--init)" : "");
	if ((rc = tl_fleet_open_store(f->log, worker, store_path, &f->store, err)))
		goto fail;
	f->beat_on = pthread_create(&f->beat_th, NULL, beat_main, f) == 0;
	if (!f->beat_on) {
		rc = tl_error_set(err, TL_ERR_INTERNAL, "cannot start the fleet's heartbeat thread");
		goto fail;
	}
	*out = f;
	return 0;
fail:
	tl_fleet_free(f);
	return rc;
}

void tl_fleet_failed(tl_fleet *f)
{
	if (!f)
		return;
	lock(&f->mu);
	f->failed = 1;
	unlock(&f->mu);
}

int tl_fleet_evicted(tl_fleet *f)
{
	int e;

	lock(&f->mu);
	e = f->evicted;
	unlock(&f->mu);
	return e;
}

void tl_fleet_free(tl_fleet *f)
{
	if (!f)
		return;
	if (f->beat_on) {
		lock(&f->mu);
		f->quit = 1;
		pthread_cond_broadcast(&f->cv);
		unlock(&f->mu);
		pthread_join(f->beat_th, NULL);
	}
	while (f->holds)
		hold_free(f, f->holds);
	/* the last count of its rows, then its leaving */
	if (f->store && f->worker && !f->evicted &&
	    (tl_store_worker_beat(f->store, f->cfg->task_id, f->worker,
				  f->rows ? __atomic_load_n(f->rows, __ATOMIC_RELAXED) : 0, -1.0, NULL) != 0 ||
	     tl_store_worker_leave(f->store, f->cfg->task_id, f->worker, f->failed ? "failed" : "stopped", NULL) != 0))
		tl_log(f->log, TL_LOG_WARN, "worker '%s': could not record its leaving (it shows as gone after its lease)",
		       f->worker);
	tl_store_close(f->store);
	ours_free(f);
	free(f->worker);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->store_mu);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

int tl_fleet_add_plan(tl_fleet *f, const tl_plan *plan, tl_error *err)
{
	const tl_defs *defs = plan->defs;
	size_t nsteps = defs ? defs->list.n : 0, ntables = 0, cap = plan->n + nsteps;
	tl_store_item *items = NULL;
	char **keys = NULL;
	tl_buf key = TL_BUF_INIT;
	size_t i, n = 0, from;
	int64_t retried = 0;
	int rc = 0;

	ours_free(f);
	if (!(items = calloc(cap ? cap : 1, sizeof(*items))) || !(keys = calloc(cap ? cap : 1, sizeof(*keys))) ||
	    !(f->ours = calloc(plan->n ? plan->n : 1, sizeof(*f->ours)))) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < plan->n; i++) {
		const tl_plan_item *it = &plan->items[i];

		if (it->ours) {
			if ((rc = table_key(it->schema, it->tb, &key, err)))
				goto cleanup;
			if (!(f->ours[f->nours] = tl_buf_detach(&key))) {
				rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
				goto cleanup;
			}
			f->nours++;
		}
		if (it->action == TL_ACT_SKIP)
			continue;
		if ((rc = table_key(it->schema, it->tb, &key, err)))
			goto cleanup;
		if (!(keys[n] = tl_buf_detach(&key))) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
			goto cleanup;
		}
		items[n].kind = "table";
		items[n].key = keys[n];
		items[n].schema = it->schema;
		items[n].tb = it->tb;
		n++;
	}
	if (f->nours > 1)
		qsort(f->ours, f->nours, sizeof(*f->ours), cmp_str);
	ntables = n;
	/* the definition steps this worker would apply: one item each, run once by the fleet */
	for (i = 0; i < nsteps; i++) {
		const tl_schema_step *st = &defs->list.items[i];

		if (defs->d[i].state != TL_DEF_PENDING)
			continue;
		items[n].kind = "step";
		items[n].key = st->id;
		if (st->owner != TL_SCHEMA_NO_OWNER && st->owner < plan->n) {
			items[n].schema = plan->items[st->owner].schema;
			items[n].tb = plan->items[st->owner].tb;
		}
		n++;
	}
	/* a few hundred per transaction: every worker adds them, existing ones are kept */
	for (from = 0; from < n; from += 500) {
		double t0 = tl_migrate__now(), wait = 0.1;

		lock(&f->store_mu);
		while ((rc = tl_store_items_add(f->store, f->cfg->task_id, items + from, n - from < 500 ? n - from : 500,
						err)) &&
		       !(rc = tl_fleet_backoff(f, t0, &wait, rc, "adding the plan's work items", err)))
			;
		unlock(&f->store_mu);
		if (rc)
			goto cleanup;
	}
	lock(&f->store_mu);
	rc = tl_store_items_retry_failed(f->store, f->cfg->task_id, &retried, err);
	unlock(&f->store_mu);
	if (!rc && retried > 0)
		tl_log(f->log, TL_LOG_NOTICE, "task '%s': %lld work item%s that had failed will be tried again",
		       f->cfg->task_id, (long long)retried, retried == 1 ? "" : "s");
	tl_log(f->log, TL_LOG_INFO, "task '%s': %zu table%s to copy and %zu definition step%s in the fleet's work items",
	       f->cfg->task_id, ntables, ntables == 1 ? "" : "s", n - ntables, n - ntables == 1 ? "" : "s");
cleanup:
	for (i = 0; keys && i < cap; i++)
		free(keys[i]);
	free(keys);
	free(items);
	tl_buf_release(&key);
	return rc;
}

/* ---- claiming ------------------------------------------------------------------------- */

int tl_fleet_claim(tl_fleet *f, volatile sig_atomic_t *stop, int *abort_all, tl_fleet_work *out, tl_error *err)
{
	static const char *const kinds[] = {"chunk", "table"};
	double poll = f->lease / 4 < 0.5 ? f->lease / 4 : 0.5;
	double t0 = tl_migrate__now(), wait = 0.1;
	int rc;

	memset(out, 0, sizeof(*out));
	for (;;) {
		int busy_all = 0, k, again = 0;

		if (tl_migrate__stopping(stop, abort_all) || tl_fleet_evicted(f))
			return tl_error_set(err, TL_ERR_INTERRUPTED, "worker '%s' stops", f->worker);
		for (k = 0; k < 2; k++) {
			tl_store_lease l;
			double sent = tl_migrate__now();
			int busy = 0;

			memset(&l, 0, sizeof(l));
			lock(&f->store_mu);
			rc = tl_store_claim(f->store, f->cfg->task_id, kinds[k], f->worker, f->lease, &l, &busy, err);
			unlock(&f->store_mu);
			if (rc == 0) {
				if (!(out->hold = hold_add(f, &l, sent))) {
					tl_store_lease_clear(&l);
					return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
				}
				out->chunk = k == 0;
				out->schema = out->hold->lease.schema;
				out->tb = out->hold->lease.tb;
				if (out->hold->lease.prev_owner)
					tl_log(f->log, TL_LOG_NOTICE,
					       "worker '%s': claimed %s '%s', taken over from worker '%s' whose lease expired "
					       "(claim %lld)",
					       f->worker, kinds[k], out->hold->lease.key, out->hold->lease.prev_owner,
					       (long long)out->hold->lease.token);
				else
					tl_log(f->log, TL_LOG_INFO, "worker '%s': claimed %s '%s'", f->worker, kinds[k],
					       out->hold->lease.key);
				return 0;
			}
			if (rc != TL_ERR_NOTFOUND) {
				if ((rc = tl_fleet_backoff(f, t0, &wait, rc, "claiming work", err)))
					return rc;
				again = 1;
				break;
			}
			busy_all += busy;
		}
		if (again)
			continue;
		if (busy_all == 0)
			return tl_error_set(err, TL_ERR_NOTFOUND, "task '%s' has no work left", f->cfg->task_id);
		/* others hold the rest: their leases may expire, or a cut may add chunks */
		tl_migrate__sleep(poll);
	}
}

/* ---- doing ---------------------------------------------------------------------------- */

static int any_key_nullable(const tl_table *t)
{
	size_t i;

	for (i = 0; i < t->nkeys; i++)
		if (t->keys[i]->nullable)
			return 1;
	return 0;
}

/*
 * A split table whose chunks can be copied by anyone in any order and again: upserted rows.
 * Not a table this task creates: its unique keys are built after its rows (docs/schema.md).
 */
static int chunkable(const tl_fleet *f, const tl_plan_item *it)
{
	return it->mode == TL_MODE_SPLIT && it->table && it->table->nkeys > 0 && !any_key_nullable(it->table) &&
	       f->cfg->replace && !it->ours;
}

/* A one-item plan for schema.tb, planned from the store (described on the thread's source connection). */
static int plan_one(tl_fleet *f, tl_copy_ctx *ctx, const char *schema, const char *tb, tl_plan *p, tl_error *err)
{
	const tl_table_rule *rule;
	tl_plan_item *it;
	int rc;

	memset(p, 0, sizeof(*p));
	if (!(p->items = calloc(1, sizeof(*p->items))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	p->n = 1;
	it = &p->items[0];
	if (!(it->schema = tl_strdup(schema)) || !(it->tb = tl_strdup(tb)))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	/* as tl_migrate_plan: the target's names ([router]), the filter's where */
	tl_route_table(f->cfg->route, it->schema, it->tb, &it->dst_schema, &it->dst_tb);
	if ((rule = tl_table_rules_find(&f->cfg->where_conditions, schema, tb)))
		it->where = rule->value;
	/* created by this task: bulk loads, a resume removes the rows past the checkpoint (copy.c) */
	it->ours = is_ours(f, schema, tb);
	rc = tl_plan_refresh_item(f->env, ctx->src, ctx->rec, it, err);
	return rc;
}

/* Waits `secs` unless the run stops. */
static void pause_for(double secs, tl_copy_ctx *ctx)
{
	double until = tl_migrate__now() + secs;

	while (tl_migrate__now() < until && !tl_migrate__stopping(ctx->stop, ctx->abort_all))
		tl_migrate__sleep(0.1);
}

/* Adds a batch of chunk items and the cut's progress, fenced by the table's claim, in one store transaction. */
static int cut_flush(tl_fleet *f, tl_fleet_hold *h, const tl_store_item *items, size_t n, const char *progress,
		     tl_error *err)
{
	double t0 = tl_migrate__now(), wait = 0.1;
	int rc;

	for (;;) {
		tl_store_lease copy;
		double sent;

		if ((rc = tl_fleet_hold_lease(h, &copy, &sent, err)))
			return rc;
		lock(&f->store_mu);
		if (!(rc = tl_store_begin(f->store, err))) {
			if ((rc = tl_store_fence(f->store, &copy, err)) ||
			    (rc = tl_store_items_add(f->store, f->cfg->task_id, items, n, err)) ||
			    (rc = tl_store_item_progress(f->store, &copy, progress, -1, err)))
				tl_store_rollback(f->store);
			else
				rc = tl_store_commit(f->store, err);
		}
		unlock(&f->store_mu);
		tl_fleet_hold_result(h, &copy, sent, rc, 0, err);
		if (!rc || (rc = tl_fleet_backoff(f, t0, &wait, rc, "adding chunks", err)))
			return rc;
	}
}

/* The chunks' key prefix of a table key: "KEY#". */
static int chunk_prefix(const char *table, tl_buf *out, tl_error *err)
{
	tl_buf_reset(out);
	return tl_buf_printf(out, err, "%s#", table);
}

/*
 * A split table of upserted rows: cut into chunk items (bounds from next_bound, chunk_rows
 * rows each, then the rows with a NULL partition column), from where an earlier holder's
 * cut stopped; then the cut ends, which may finish the table when its chunks were quicker.
 */
static int cut_table(tl_fleet *f, tl_fleet_hold *h, tl_copy_ctx *ctx, tl_plan_item *it, int *done, tl_error *err)
{
	const tl_migrate_env *env = f->env;
	/* read as projected, written as routed ([router], ignore_cols): as tl_copy_table does */
	const tl_table *t = it->rtable ? it->rtable : it->table, *wt = it->wtable ? it->wtable : it->table;
	const tl_store_lease *l = &h->lease;
	tl_store_item items[CUT_BATCH + 1];
	char *payloads[CUT_BATCH + 1], *keys[CUT_BATCH + 1];
	tl_buf prefix = TL_BUF_INIT, kb = TL_BUF_INIT;
	char *lo = NULL, *hi = NULL, *progress = NULL;
	int64_t n = 0, base = 0, empty = 0, bulk;
	size_t pending = 0, i;
	double last_flush = tl_migrate__now();
	tl_recorder_group g;
	int rc, finished = 0;

	memset(items, 0, sizeof(items));
	memset(payloads, 0, sizeof(payloads));
	memset(keys, 0, sizeof(keys));
	if ((rc = chunk_prefix(l->key, &prefix, err)))
		goto cleanup;
	if (l->progress) {
		/* an earlier holder's cut: go on after its last chunk */
		if ((rc = tl_fleet_json_i64(l->progress, "n", &n, err)) || (rc = tl_fleet_json_text(l->progress, "hi", &lo, err)) ||
		    (rc = tl_fleet_json_i64(l->progress, "base", &base, err)) ||
		    (rc = tl_fleet_json_i64(l->progress, "empty", &empty, err)) ||
		    (rc = tl_fleet_json_i64(l->progress, "bulk", &bulk, err)))
			goto cleanup;
		tl_log(f->log, TL_LOG_INFO, "table %s.%s: cutting on after chunk %lld", it->schema, it->tb, (long long)n);
	} else {
		tl_store_table prior, info;
		int is_empty = 0, have_prior;
		struct jfield pf[5];

		if ((rc = tl_driver_check_target(&env->dst, ctx->dst, wt, &is_empty, err)))
			goto cleanup;
		memset(&prior, 0, sizeof(prior));
		have_prior = tl_recorder_get_table(ctx->rec, t->schema, t->name, &prior) == 0;
		empty = have_prior ? prior.target_empty_at_start : is_empty;
		base = it->action == TL_ACT_RESUME && it->rows_done > 0 ? it->rows_done : 0;
		/* a chunk may use the bulk path when nothing can be in its range: a fresh table into an empty target */
		bulk = is_empty && it->action == TL_ACT_START;
		if (it->action == TL_ACT_RESUME && it->split_after && !(lo = tl_strdup(it->split_after))) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
			goto cleanup;
		}
		memset(&info, 0, sizeof(info));
		info.schema = t->schema;
		info.tb = t->name;
		info.est_rows = it->est_rows;
		info.rows_copied = base;
		info.target_empty_at_start = (int)empty;
		info.mode = "split";
		info.state = "running";
		info.target_rows_at_finish = -1;
		if ((rc = tl_recorder_table_ex(ctx->rec, h, &info, err)))
			goto cleanup;
		pf[0] = (struct jfield){"n", NULL, 1, 0};
		pf[1] = (struct jfield){"hi", lo, 0, 0};
		pf[2] = (struct jfield){"base", NULL, 1, (double)base};
		pf[3] = (struct jfield){"empty", NULL, 1, (double)empty};
		pf[4] = (struct jfield){"bulk", NULL, 1, (double)bulk};
		if ((rc = json_make(pf, 5, &progress, err)) || (rc = cut_flush(f, h, NULL, 0, progress, err)))
			goto cleanup;
		tl_log(f->log, TL_LOG_INFO, "table %s.%s: %s, cutting into chunks of %zu rows of %s%s", it->schema, it->tb,
		       it->action == TL_ACT_RESUME ? "resuming" : "starting", f->chunk_rows, tl_table_part(t)->name,
		       bulk ? " (into an empty target: bulk path allowed)" : "");
	}
	for (;;) {
		int last = 0;

		if (tl_migrate__stopping(ctx->stop, ctx->abort_all)) {
			rc = tl_error_set(err, TL_ERR_INTERRUPTED, "stopped while cutting %s.%s", it->schema, it->tb);
			goto cleanup;
		}
		if ((rc = tl_driver_next_bound(&env->src, ctx->src, t, lo, f->chunk_rows, &hi, err)))
			goto cleanup;
		if (!hi) {
			last = 1;
			/* the rows whose partition column is NULL: one more chunk */
			if (tl_table_part(t)->nullable) {
				struct jfield cf[4] = {{"lo", NULL, 0, 0}, {"hi", NULL, 0, 0}, {"nulls", NULL, 1, 1},
						       {"bulk", NULL, 1, (double)bulk}};

				if ((rc = tl_buf_printf(&kb, err, "%snulls", tl_buf_cstr(&prefix))) ||
				    (rc = json_make(cf, 4, &payloads[pending], err)))
					goto cleanup;
				keys[pending] = tl_buf_detach(&kb);
				pending++;
			}
		} else {
			struct jfield cf[3] = {{"lo", lo, 0, 0}, {"hi", hi, 0, 0}, {"bulk", NULL, 1, (double)bulk}};

			n++;
			tl_buf_reset(&kb);
			if ((rc = tl_buf_printf(&kb, err, "%s%010lld", tl_buf_cstr(&prefix), (long long)n)) ||
			    (rc = json_make(cf, 3, &payloads[pending], err)))
				goto cleanup;
			keys[pending] = tl_buf_detach(&kb);
			pending++;
			free(lo);
			lo = hi;
			hi = NULL;
		}
		if (pending && (last || pending >= CUT_BATCH || tl_migrate__now() - last_flush >= 1.0)) {
			struct jfield pf[5] = {{"n", NULL, 1, (double)n},       {"hi", lo, 0, 0},
					       {"base", NULL, 1, (double)base}, {"empty", NULL, 1, (double)empty},
					       {"bulk", NULL, 1, (double)bulk}};

			for (i = 0; i < pending; i++) {
				if (!keys[i]) {
					rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
					goto cleanup;
				}
				items[i].kind = "chunk";
				items[i].key = keys[i];
				items[i].schema = it->schema;
				items[i].tb = it->tb;
				items[i].payload = payloads[i];
			}
			free(progress);
			progress = NULL;
			if ((rc = json_make(pf, 5, &progress, err)) || (rc = cut_flush(f, h, items, pending, progress, err)))
				goto cleanup;
			for (i = 0; i < pending; i++) {
				free(keys[i]);
				free(payloads[i]);
				keys[i] = payloads[i] = NULL;
			}
			pending = 0;
			last_flush = tl_migrate__now();
		}
		if (last)
			break;
	}
	tl_log(f->log, TL_LOG_INFO, "table %s.%s: cut into %lld chunk%s%s", it->schema, it->tb, (long long)n,
	       n == 1 ? "" : "s", tl_table_part(t)->nullable ? " and the rows with a NULL partition value" : "");
	memset(&g, 0, sizeof(g));
	g.key = l->key;
	g.prefix = tl_buf_cstr(&prefix);
	g.db_type = env->src.ops->name;
	g.schema = it->schema;
	g.tb = it->tb;
	g.part_col = tl_table_part(t)->name;
	g.est_rows = it->est_rows;
	if ((rc = tl_recorder_group_end(ctx->rec, h, &g, -1, &finished, err)))
		goto cleanup;
	if (finished)
		tl_log(f->log, TL_LOG_INFO, "table %s.%s finished (its chunks were all done)", it->schema, it->tb);
	*done = finished;
cleanup:
	for (i = 0; i <= CUT_BATCH; i++) {
		free(keys[i]);
		free(payloads[i]);
	}
	free(lo);
	free(hi);
	free(progress);
	tl_buf_release(&prefix);
	tl_buf_release(&kb);
	return rc;
}

static int do_table(tl_fleet *f, tl_fleet_work *w, tl_copy_ctx *ctx, tl_copy_result *res, tl_error *err)
{
	tl_fleet_hold *h = w->hold;
	tl_plan p;
	tl_plan_item *it;
	int rc;

	if ((rc = plan_one(f, ctx, w->schema, w->tb, &p, err)))
		goto cleanup;
	it = &p.items[0];
	if (it->action == TL_ACT_SKIP) {
		/* finished after this worker planned (by a run, or the claim of an earlier fleet) */
		tl_log(f->log, TL_LOG_INFO, "table %s.%s: already finished", it->schema, it->tb);
		if (!(rc = end_claim(f, h, TL_STORE_DONE, "already finished", err)))
			w->finished = 1;
		goto cleanup;
	}
	if (h->lease.prev_owner) {
		/* whatever the previous holder sent and the target did not acknowledge is dropped by now */
		tl_log(f->log, TL_LOG_INFO, "table %s.%s: waiting %d s before taking over from worker '%s'", it->schema,
		       it->tb, f->env->dead_peer_secs + 1, h->lease.prev_owner);
		pause_for((double)f->env->dead_peer_secs + 1.0, ctx);
	}
	if (chunkable(f, it))
		rc = cut_table(f, h, ctx, it, &w->finished, err);
	else if (!(rc = tl_copy_table(ctx, it, res, err)))
		w->finished = 1;
cleanup:
	tl_plan_clear(&p, &f->env->src);
	return rc;
}

void tl_fleet_cache_free(tl_fleet *f, tl_fleet_cache *cache)
{
	if (!cache)
		return;
	tl_plan_clear(&cache->item, &f->env->src);
	free(cache);
}

/* The described table of a chunk: the thread's cached one when it is the same table. */
static int chunk_table(tl_fleet *f, tl_copy_ctx *ctx, const char *schema, const char *tb, tl_fleet_cache **cache,
		       tl_error *err)
{
	const tl_migrate_env *env = f->env;
	tl_fleet_cache *c = *cache;
	tl_plan_item *it;
	int rc;

	if (c && c->item.n == 1 && strcmp(c->item.items[0].schema, schema) == 0 && strcmp(c->item.items[0].tb, tb) == 0)
		return 0;
	tl_fleet_cache_free(f, c);
	*cache = NULL;
	if (!(c = calloc(1, sizeof(*c))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	if ((rc = plan_one(f, ctx, schema, tb, &c->item, err)))
		goto fail;
	it = &c->item.items[0];
	if (!it->table) {
		rc = tl_error_set(err, TL_ERR_INTERNAL, "table %s.%s has chunks but is finished", schema, tb);
		goto fail;
	}
	it->mode = TL_MODE_SPLIT;
	/* same driver on both ends: rows may stay in its encoding (its fastest form into an empty range) */
	if (env->src.ops == env->dst.ops && env->dst.ops->native_form) {
		c->native = c->native_bulk = 1;
		if ((rc = tl_driver_native_form(&env->dst, ctx->dst, it->wtable ? it->wtable : it->table,
						  &c->native_bulk, err)))
			goto fail;
	}
	*cache = c;
	return 0;
fail:
	tl_fleet_cache_free(f, c);
	return rc;
}

static int do_chunk(tl_fleet *f, tl_fleet_work *w, tl_copy_ctx *ctx, tl_fleet_cache **cache, tl_copy_result *res,
		    tl_error *err)
{
	tl_fleet_hold *h = w->hold;
	const tl_store_lease *l = &h->lease;
	char *lo = NULL, *hi = NULL, *prefix = NULL, *table = NULL, *hash;
	int64_t nulls = 0, bulk = 0, rows = 0;
	unsigned flags = TL_WRITE_UPSERT;
	tl_plan_item *it;
	tl_recorder_group g;
	double t0 = tl_migrate__now();
	int rc, finished = 0;

	if ((rc = tl_fleet_json_text(l->payload, "lo", &lo, err)) || (rc = tl_fleet_json_text(l->payload, "hi", &hi, err)) ||
	    (rc = tl_fleet_json_i64(l->payload, "nulls", &nulls, err)) ||
	    (rc = tl_fleet_json_i64(l->payload, "bulk", &bulk, err)))
		goto cleanup;
	if (!(prefix = tl_strdup(l->key)) || !(hash = strrchr(prefix, '#'))) {
		rc = prefix ? tl_error_set(err, TL_ERR_INTERNAL, "chunk '%s' has no table in its key", l->key)
			    : tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	hash[1] = '\0';
	if (!(table = tl_strndup(prefix, strlen(prefix) - 1))) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	if ((rc = chunk_table(f, ctx, w->schema, w->tb, cache, err)))
		goto cleanup;
	it = &(*cache)->item.items[0];
	/* a range nobody ever wrote into a table that was empty: the bulk path; else upserts */
	if (bulk && l->attempts == 1 && !l->prev_owner)
		flags |= TL_WRITE_TARGET_EMPTY;
	if ((rc = tl_copy_range(ctx, it, lo, hi, (int)nulls, flags,
				(flags & TL_WRITE_TARGET_EMPTY) ? (*cache)->native_bulk : (*cache)->native, &rows, err)))
		goto cleanup;
	memset(&g, 0, sizeof(g));
	g.key = table;
	g.prefix = prefix;
	g.db_type = f->env->src.ops->name;
	g.schema = it->schema;
	g.tb = it->tb;
	g.part_col = tl_table_part(it->table)->name;
	g.est_rows = it->est_rows;
	if ((rc = tl_recorder_group_end(ctx->rec, h, &g, rows, &finished, err)))
		goto cleanup;
	tl_log(f->log, TL_LOG_DEBUG, "chunk '%s': %lld rows in %.2f s", l->key, (long long)rows, tl_migrate__now() - t0);
	if (finished)
		tl_log(f->log, TL_LOG_INFO, "table %s.%s finished (its last chunk was done by worker '%s')", it->schema,
		       it->tb, f->worker);
	w->finished = finished;
cleanup:
	res->rows += rows;
	if (rc) /* its end is not recorded: the whole chunk is copied again */
		res->unrecorded += rows;
	res->seconds += tl_migrate__now() - t0;
	free(lo);
	free(hi);
	free(prefix);
	free(table);
	return rc;
}

int tl_fleet_do(tl_fleet *f, tl_fleet_work *w, tl_copy_ctx *ctx, tl_fleet_cache **cache, tl_copy_result *res,
		tl_error *err)
{
	ctx->hold = w->hold;
	w->finished = 0;
	memset(res, 0, sizeof(*res));
	return w->chunk ? do_chunk(f, w, ctx, cache, res, err) : do_table(f, w, ctx, res, err);
}

int tl_fleet_end(tl_fleet *f, tl_fleet_work *w, int rc, const tl_error *why)
{
	tl_fleet_hold *h = w->hold;
	const char *kind = h->lease.kind, *key = h->lease.key;
	tl_error e = TL_ERROR_INIT;
	int lost, ended, next = rc;

	lock(&f->mu);
	lost = h->lost;
	ended = h->ended;
	unlock(&f->mu);
	if (rc == 0) {
		if (!ended && !lost && end_claim(f, h, TL_STORE_DONE, NULL, &e) != 0)
			tl_log(f->log, TL_LOG_WARN, "worker '%s': %s '%s': %s", f->worker, kind, key, e.message);
	} else if (rc == TL_ERR_LOCKED || lost) {
		/* taken over: the other worker goes on from what was committed; this one claims the next */
		tl_log(f->log, TL_LOG_NOTICE, "worker '%s': gave up %s '%s': %s", f->worker, kind, key,
		       why ? why->message : "lease lost");
		next = 0;
	} else if (rc == TL_ERR_INTERRUPTED) {
		(void)end_claim(f, h, TL_STORE_RELEASE, "stopped", &e);
	} else if (tl_error_is_transient(why) && h->lease.attempts <= (int64_t)f->cfg->retry_max_attempts) {
		/* [pipeline] retry_max_attempts bounds the item's claims, whichever workers made them */
		tl_log(f->log, TL_LOG_WARN, "worker '%s': %s '%s' given back after a transient failure (claim %lld, at most "
		       "%u retries): %s",
		       f->worker, kind, key, (long long)h->lease.attempts, f->cfg->retry_max_attempts, why->message);
		(void)end_claim(f, h, TL_STORE_RELEASE, why->message, &e);
		next = 0;
	} else {
		tl_log(f->log, TL_LOG_ERROR, "worker '%s': %s '%s' failed: %s", f->worker, kind, key,
		       why ? why->message : "unknown error");
		(void)end_claim(f, h, TL_STORE_FAILED, why ? why->message : NULL, &e);
	}
	hold_free(f, h);
	w->hold = NULL;
	return next;
}

/* Counts items not done yet (c[0]: pending or claimed) and failed ones (c[1]). */
static int count_item(void *ctx, const tl_store_item_state *it, tl_error *err)
{
	int64_t *c = ctx;

	(void)err;
	if (it->state && strcmp(it->state, "failed") == 0)
		c[1]++;
	else if (!it->state || strcmp(it->state, "done") != 0)
		c[0]++;
	return 0;
}

/* The keys of the task's step items that are not done (sorted). */
struct open_steps {
	char **keys;
	size_t n, cap;
};

static int add_open_step(void *ctx, const tl_store_item_state *it, tl_error *err)
{
	struct open_steps *o = ctx;

	if (!it->key || (it->state && strcmp(it->state, "done") == 0))
		return 0;
	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 64;
		char **nv = realloc(o->keys, cap * sizeof(*nv));

		if (!nv)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		o->keys = nv;
		o->cap = cap;
	}
	if (!(o->keys[o->n] = tl_strdup(it->key)))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	o->n++;
	return 0;
}

int tl_fleet_reopen_steps(tl_fleet *f, tl_defs *d, tl_error *err)
{
	struct open_steps o = {NULL, 0, 0};
	double t0 = tl_migrate__now(), wait = 0.1;
	size_t i, reopened = 0;
	int rc;

	if (!d)
		return 0;
	for (;;) {
		lock(&f->store_mu);
		rc = tl_store_foreach_item(f->store, f->cfg->task_id, "step", add_open_step, &o, err);
		unlock(&f->store_mu);
		if (!rc)
			break;
		for (i = 0; i < o.n; i++)
			free(o.keys[i]);
		o.n = 0;
		if ((rc = tl_fleet_backoff(f, t0, &wait, rc, "reading the fleet's schema steps", err)))
			goto cleanup;
	}
	if (o.n > 1)
		qsort(o.keys, o.n, sizeof(*o.keys), cmp_str);
	for (i = 0; o.n && i < d->list.n; i++) {
		const tl_schema_step *st = &d->list.items[i];
		enum tl_def_state was = d->d[i].state;
		const char *id = st->id;

		/* found on the target; "exists" too when it is no table: a schema made by a worker
		 * that died before its record looks as if it had been there before the task */
		if (!(was == TL_DEF_DONE || (was == TL_DEF_EXISTS && st->kind != TL_SK_TABLE && st->kind != TL_SK_COLLECTION)) ||
		    !bsearch(&id, o.keys, o.n, sizeof(*o.keys), cmp_str))
			continue;
		/* but its item is not done: a worker of the fleet planned it (so it is this task's),
		 * then died holding it or gave it back; it goes through its item (and is found done) */
		d->d[i].state = TL_DEF_PENDING;
		if (was == TL_DEF_DONE && d->stats.done_before)
			d->stats.done_before--;
		reopened++;
	}
	if (reopened)
		tl_log(f->log, TL_LOG_INFO,
		       "task '%s': %zu definition step%s found on the target but not done by the fleet (a worker "
		       "stopped or died while running %s): run again through the fleet",
		       f->cfg->task_id, reopened, reopened == 1 ? "" : "s", reopened == 1 ? "it" : "them");
cleanup:
	for (i = 0; i < o.n; i++)
		free(o.keys[i]);
	free(o.keys);
	return rc;
}

/* ---- schema steps --------------------------------------------------------------------- */

int tl_fleet_step(tl_fleet *f, const char *key, int (*fn)(void *ctx, tl_error *err), void *ctx, unsigned flags,
		  volatile sig_atomic_t *stop, int *abort_all, int *ran, tl_error *err)
{
	double t0 = tl_migrate__now(), wait = 0.1, poll, said = t0;
	int rc;

	if (ran)
		*ran = 0;
	if (!f) {
		if (ran)
			*ran = 1;
		return fn(ctx, err);
	}
	poll = f->lease / 4 < 0.5 ? f->lease / 4 : 0.5;
	for (;;) {
		tl_store_lease l;
		tl_fleet_hold *h;
		double sent = tl_migrate__now();
		tl_error e = TL_ERROR_INIT;
		enum tl_store_end how;

		if (tl_migrate__stopping(stop, abort_all) || tl_fleet_evicted(f))
			return tl_error_set(err, TL_ERR_INTERRUPTED, "stopped before schema step '%s'", key);
		memset(&l, 0, sizeof(l));
		lock(&f->store_mu);
		rc = tl_store_claim_key(f->store, f->cfg->task_id, "step", key, f->worker, f->lease, &l, err);
		if (rc == TL_ERR_NOTFOUND) {
			/* not added by tl_fleet_add_plan (a step this worker's plan found done, or a caller
			 * without a plan): added now, claimed next time round */
			tl_store_item item;

			memset(&item, 0, sizeof(item));
			item.kind = "step";
			item.key = key;
			rc = tl_store_items_add(f->store, f->cfg->task_id, &item, 1, err);
			unlock(&f->store_mu);
			if (rc && (rc = tl_fleet_backoff(f, t0, &wait, rc, "adding a schema step", err)))
				return rc;
			continue;
		}
		unlock(&f->store_mu);
		if (rc == TL_ERR_LOCKED) {
			if (flags & TL_FLEET_STEP_NOWAIT)
				return rc;
			/* another worker runs it now: wait for it to be done (or for its lease to expire) */
			if (tl_migrate__now() - said >= 10.0) {
				tl_log(f->log, TL_LOG_INFO, "worker '%s': still waiting for schema step '%s': %s", f->worker, key,
				       err ? err->message : "held by another worker");
				said = tl_migrate__now();
			}
			tl_migrate__sleep(poll);
			continue;
		}
		if (rc) {
			if ((rc = tl_fleet_backoff(f, t0, &wait, rc, "claiming a schema step", err)))
				return rc;
			continue;
		}
		if (l.done) {
			tl_store_lease_clear(&l);
			tl_log(f->log, TL_LOG_DEBUG, "schema step '%s': done by the fleet already", key);
			return 0;
		}
		if (!(h = hold_add(f, &l, sent))) {
			tl_store_lease_clear(&l);
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		}
		if (h->lease.prev_owner)
			tl_log(f->log, TL_LOG_NOTICE,
			       "worker '%s': schema step '%s' taken over from worker '%s' whose lease expired (claim %lld): run "
			       "again",
			       f->worker, key, h->lease.prev_owner, (long long)h->lease.token);
		else
			tl_log(f->log, TL_LOG_INFO, "worker '%s': schema step '%s' claimed", f->worker, key);
		if (ran)
			*ran = 1;
		rc = fn(ctx, err);
		/* a stop or a transient failure gives it back (another worker runs it again); else it is over */
		how = rc == 0 ? TL_STORE_DONE
		      : rc == TL_ERR_INTERRUPTED || (err && tl_error_is_transient(err)) ? TL_STORE_RELEASE
											 : TL_STORE_FAILED;
		if (end_claim(f, h, how, rc && err ? err->message : NULL, &e) != 0 && !rc) {
			/* it ran, but its lease was lost meanwhile: the taker runs it again (steps are idempotent) */
			rc = e.code;
			if (err)
				*err = e;
		}
		hold_free(f, h);
		return rc;
	}
}

int tl_fleet_items_left(tl_fleet *f, int64_t *open, int64_t *failed, tl_error *err)
{
	static const char *const kinds[] = {"table", "chunk"};
	int64_t counts[2] = {0, 0};
	double t0 = tl_migrate__now(), wait = 0.1;
	int k, rc = 0;

	for (k = 0; k < 2; k++) {
		for (;;) {
			int64_t c[2] = {0, 0};

			lock(&f->store_mu);
			rc = tl_store_foreach_item(f->store, f->cfg->task_id, kinds[k], count_item, c, err);
			unlock(&f->store_mu);
			if (!rc) {
				counts[0] += c[0];
				counts[1] += c[1];
				break;
			}
			if ((rc = tl_fleet_backoff(f, t0, &wait, rc, "reading the fleet's work items", err)))
				return rc;
		}
	}
	*open = counts[0];
	*failed = counts[1];
	return 0;
}
