/*
 * store_lease.c - the fleet's coordination in the store (#17, store.h): work items
 * claimed under leases with fencing tokens, and the registry of workers. No consensus
 * of our own: the store's transactions decide. On PostgreSQL a claim is one UPDATE whose
 * subquery takes the first open row FOR UPDATE SKIP LOCKED, lease times come from the
 * server's clock (tl_now()), and the fence is an UPDATE of the item's row that checks the
 * token - so it also holds the row until the caller's transaction ends and no claim can
 * slip in between the check and the writes it protects. On SQLite the same statements run
 * in BEGIN IMMEDIATE transactions, which exclude every other writer on the host.
 *
 * A worker's life with the store, as the engine is meant to use it:
 *   join → items_add (every worker may add the plan: existing items are kept) →
 *   loop { claim (or claim_key) → [begin, fence, positions, commit]* → begin, fence,
 *   finished record, end(DONE), commit } → leave;
 *   worker_beat and renew keep the lease while a long statement runs.
 * A worker whose lease expired and was claimed by another gets TL_ERR_LOCKED from its
 * next fence / renew / end and must drop the item; the new holder starts from the last
 * position committed under any lease (the store's positions, or the item's progress).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "store/store_int.h"
#include "tideline/buf.h"

void tl_store_lease_clear(tl_store_lease *l)
{
	if (!l)
		return;
	free(l->task_id);
	free(l->kind);
	free(l->key);
	free(l->owner);
	free(l->schema);
	free(l->tb);
	free(l->payload);
	free(l->prev_owner);
	free(l->progress);
	memset(l, 0, sizeof(*l));
	l->rows_copied = -1;
}

static int dup_in(char **out, const char *v, tl_error *err)
{
	*out = NULL;
	if (v && !(*out = tl_strdup(v)))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	return 0;
}

static int check_lease_args(tl_store *s, const char *task_id, const char *kind, const char *worker, double lease_secs,
			    tl_error *err)
{
	if (!task_id || !kind || !*kind || !worker || !*worker)
		return tl_error_set(err, TL_ERR_INTERNAL, "store '%s': a claim needs a task, a kind and a worker", s->display);
	if (!(lease_secs > 0))
		return tl_error_set(err, TL_ERR_INTERNAL, "store '%s': a lease must last more than 0 s", s->display);
	return 0;
}

int tl_store_items_add(tl_store *s, const char *task_id, const tl_store_item *items, size_t n, tl_error *err)
{
	/* the next ord of the kinds seen in this call (kinds are few: a linear list) */
	struct kind_ord {
		const char *kind;
		int64_t next;
	} *ords = NULL;
	size_t nords = 0, i, k;
	tl_sdb_stmt *st;
	int rc, owned = 0;

	if (n == 0)
		return 0;
	if (!(ords = calloc(n, sizeof(*ords))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory adding %zu work items", n);
	if ((rc = tl_store__tx_enter(s, &owned, err)))
		goto out;
	for (i = 0; i < n && rc == 0; i++) {
		const tl_store_item *it = &items[i];

		if (!it->kind || !*it->kind || !it->key) {
			rc = tl_error_set(err, TL_ERR_INTERNAL, "store '%s': a work item needs a kind and a key", s->display);
			break;
		}
		for (k = 0; k < nords && strcmp(ords[k].kind, it->kind) != 0; k++)
			;
		if (k == nords) {
			ords[k].kind = it->kind;
			if ((rc = tl_store__stmt(s, ST_ITEM_ORD, &st, err)) ||
			    (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
			    (rc = tl_store__bind_text(s, st, 2, it->kind, err)))
				break;
			if ((rc = tl_store__step(s, st, "reading work items", err)) == 1) {
				ords[k].next = tl_store__col_i64(s, st, 0) + 1;
				rc = 0;
			}
			s->ops->reset(st);
			if (rc)
				break;
			nords++;
		}
		if ((rc = tl_store__stmt(s, ST_ITEM_ADD, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
		    (rc = tl_store__bind_text(s, st, 2, it->kind, err)) || (rc = tl_store__bind_text(s, st, 3, it->key, err)) ||
		    (rc = tl_store__bind_i64(s, st, 4, ords[k].next, 0, err)) ||
		    (rc = tl_store__bind_text(s, st, 5, it->schema, err)) || (rc = tl_store__bind_text(s, st, 6, it->tb, err)) ||
		    (rc = tl_store__bind_text(s, st, 7, it->payload, err)) ||
		    (rc = tl_store__done(s, st, "adding work items", NULL, err)))
			break;
		ords[k].next++;
	}
	rc = tl_store__tx_leave(s, owned, rc, err);
out:
	free(ords);
	return rc;
}

/*
 * Fills a lease from a claim's RETURNING row: item_key, schema, tb, payload, token,
 * lease_until, attempts, prev_owner, progress, rows_copied.
 */
static int fill_lease(tl_store *s, tl_sdb_stmt *st, const char *task_id, const char *kind, const char *worker,
		      double lease_secs, tl_store_lease *out, tl_error *err)
{
	int rc;

	if ((rc = dup_in(&out->task_id, task_id, err)) || (rc = dup_in(&out->kind, kind, err)) ||
	    (rc = dup_in(&out->owner, worker, err)) || (rc = tl_store__col_dup(s, st, 0, &out->key, err)) ||
	    (rc = tl_store__col_dup(s, st, 1, &out->schema, err)) || (rc = tl_store__col_dup(s, st, 2, &out->tb, err)) ||
	    (rc = tl_store__col_dup(s, st, 3, &out->payload, err)) ||
	    (rc = tl_store__col_dup(s, st, 7, &out->prev_owner, err)) ||
	    (rc = tl_store__col_dup(s, st, 8, &out->progress, err)))
		return rc;
	out->token = tl_store__col_i64(s, st, 4);
	out->lease_until = tl_store__col_double(s, st, 5);
	out->attempts = tl_store__col_i64(s, st, 6);
	out->rows_copied = tl_store__col_i64n(s, st, 9);
	out->lease_secs = lease_secs;
	return 0;
}

int tl_store_claim(tl_store *s, const char *task_id, const char *kind, const char *worker, double lease_secs,
		   tl_store_lease *out, int *busy, tl_error *err)
{
	tl_sdb_stmt *st;
	int rc, got = 0;

	tl_store_lease_clear(out);
	if (busy)
		*busy = 0;
	if ((rc = check_lease_args(s, task_id, kind, worker, lease_secs, err)))
		return rc;
	/* one statement, its own transaction (or the caller's): one round trip per claim */
	if ((rc = tl_store__stmt(s, ST_CLAIM, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, kind, err)) || (rc = tl_store__bind_text(s, st, 3, worker, err)) ||
	    (rc = tl_store__bind_double(s, st, 4, lease_secs, err)))
		return rc;
	rc = tl_store__step(s, st, "claiming a work item", err);
	if (rc == 1) {
		got = 1;
		rc = fill_lease(s, st, task_id, kind, worker, lease_secs, out, err);
		if (!rc)
			rc = tl_store__done(s, st, "claiming a work item", NULL, err);
	}
	s->ops->reset(st);
	if (rc || got)
		goto cleanup;
	/* nothing open: are others still at work on this kind? */
	if ((rc = tl_store__stmt(s, ST_CLAIM_BUSY, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, kind, err)))
		goto cleanup;
	if ((rc = tl_store__step(s, st, "counting claimed work items", err)) == 1) {
		if (busy)
			*busy = (int)tl_store__col_i64(s, st, 0);
		rc = 0;
	}
	s->ops->reset(st);
	if (!rc)
		rc = tl_error_set(err, TL_ERR_NOTFOUND, "task '%s' has no %s to claim now", task_id, kind);
cleanup:
	if (rc)
		tl_store_lease_clear(out);
	return rc;
}

int tl_store_claim_key(tl_store *s, const char *task_id, const char *kind, const char *key, const char *worker,
		       double lease_secs, tl_store_lease *out, tl_error *err)
{
	tl_sdb_stmt *st;
	int rc, owned = 0, step;

	tl_store_lease_clear(out);
	if ((rc = check_lease_args(s, task_id, kind, worker, lease_secs, err)))
		return rc;
	if (!key)
		return tl_error_set(err, TL_ERR_INTERNAL, "store '%s': a claim by key needs a key", s->display);
	if ((rc = tl_store__tx_enter(s, &owned, err)))
		return rc;
	if ((rc = tl_store__stmt(s, ST_ITEM_GET, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, kind, err)) || (rc = tl_store__bind_text(s, st, 3, key, err)))
		goto cleanup;
	step = tl_store__step(s, st, "reading a work item", err);
	if (step == 0) {
		rc = tl_error_set(err, TL_ERR_NOTFOUND, "task '%s' has no %s '%s'", task_id, kind, key);
	} else if (step == 1) {
		const char *state = tl_store__col_text(s, st, 0, NULL), *owner = tl_store__col_text(s, st, 1, NULL);
		double left = tl_store__col_null(s, st, 2) ? -1.0 : tl_store__col_double(s, st, 2);

		if (state && strcmp(state, "done") == 0) {
			out->done = 1;
		} else if (state && strcmp(state, "claimed") == 0 && left >= 0 && !(owner && strcmp(owner, worker) == 0)) {
			rc = tl_error_set(err, TL_ERR_LOCKED, "%s '%s' of task '%s' is held by worker '%s' for %.0f s more",
					  kind, key, task_id, owner ? owner : "?", left);
		}
	} else {
		rc = step;
	}
	s->ops->reset(st);
	if (rc || out->done)
		goto cleanup;
	if ((rc = tl_store__stmt(s, ST_CLAIM_KEY, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, kind, err)) || (rc = tl_store__bind_text(s, st, 3, key, err)) ||
	    (rc = tl_store__bind_text(s, st, 4, worker, err)) || (rc = tl_store__bind_double(s, st, 5, lease_secs, err)))
		goto cleanup;
	if ((rc = tl_store__step(s, st, "claiming a work item", err)) == 1) {
		rc = fill_lease(s, st, task_id, kind, worker, lease_secs, out, err);
		if (!rc)
			rc = tl_store__done(s, st, "claiming a work item", NULL, err);
	} else if (rc == 0) {
		rc = tl_error_set(err, TL_ERR_NOTFOUND, "task '%s' has no %s '%s'", task_id, kind, key);
	}
	s->ops->reset(st);
cleanup:
	rc = tl_store__tx_leave(s, owned, rc, err);
	if (rc)
		tl_store_lease_clear(out);
	return rc;
}

/* The refusal of a fenced write: who has the item now. Called after the fenced UPDATE changed nothing. */
static int lost(tl_store *s, const tl_store_lease *l, const char *what, tl_error *err)
{
	tl_sdb_stmt *st;
	char now_owner[256] = "", state[32] = "";
	int64_t token = 0;
	int rc, step;

	if ((rc = tl_store__stmt(s, ST_FENCE_WHO, &st, err)) || (rc = tl_store__bind_text(s, st, 1, l->task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, l->kind, err)) || (rc = tl_store__bind_text(s, st, 3, l->key, err)))
		return rc;
	step = tl_store__step(s, st, "reading a work item", err);
	if (step == 1) {
		const char *o = tl_store__col_text(s, st, 0, NULL), *t = tl_store__col_text(s, st, 2, NULL);
		snprintf(now_owner, sizeof(now_owner), "%s", o ? o : "?");
		snprintf(state, sizeof(state), "%s", t ? t : "?");
		token = tl_store__col_i64(s, st, 1);
	}
	s->ops->reset(st);
	if (step < 0)
		return step;
	if (step == 0)
		return tl_error_set(err, TL_ERR_LOCKED, "cannot %s: %s '%s' of task '%s' no longer exists", what, l->kind,
				    l->key, l->task_id);
	if (token != l->token)
		return tl_error_set(err, TL_ERR_LOCKED,
				    "cannot %s: the lease of %s '%s' (task '%s') was taken over by worker '%s' (claim %lld, "
				    "this worker's was %lld)",
				    what, l->kind, l->key, l->task_id, now_owner, (long long)token, (long long)l->token);
	return tl_error_set(err, TL_ERR_LOCKED, "cannot %s: %s '%s' of task '%s' is %s, no longer claimed", what, l->kind,
			    l->key, l->task_id, state);
}

/* The fenced UPDATE of ST_FENCE or ST_PROGRESS: binds the lease (?1..?5), runs, sets the new lease_until. */
static int fenced(tl_store *s, tl_sdb_stmt *st, tl_store_lease *l, const char *what, tl_error *err)
{
	int rc;

	if ((rc = tl_store__bind_text(s, st, 1, l->task_id, err)) || (rc = tl_store__bind_text(s, st, 2, l->kind, err)) ||
	    (rc = tl_store__bind_text(s, st, 3, l->key, err)) || (rc = tl_store__bind_i64(s, st, 4, l->token, 0, err)) ||
	    (rc = tl_store__bind_text(s, st, 5, l->owner, err)))
		return rc;
	rc = tl_store__step(s, st, what, err);
	if (rc == 1) {
		l->lease_until = tl_store__col_double(s, st, 0);
		rc = tl_store__done(s, st, what, NULL, err);
		return rc;
	}
	s->ops->reset(st);
	return rc < 0 ? rc : lost(s, l, what, err);
}

int tl_store_fence(tl_store *s, tl_store_lease *l, tl_error *err)
{
	tl_sdb_stmt *st;
	int rc;

	if (!l || !l->key)
		return tl_error_set(err, TL_ERR_INTERNAL, "store '%s': no lease to fence with", s->display);
	if ((rc = tl_store__stmt(s, ST_FENCE, &st, err)) || (rc = tl_store__bind_double(s, st, 6, l->lease_secs, err)))
		return rc;
	return fenced(s, st, l, "record under the lease", err);
}

int tl_store_renew(tl_store *s, tl_store_lease *l, tl_error *err)
{
	/* the fence's UPDATE alone, in its own transaction */
	return tl_store_fence(s, l, err);
}

int tl_store_item_progress(tl_store *s, tl_store_lease *l, const char *progress, int64_t rows_copied, tl_error *err)
{
	tl_sdb_stmt *st;
	int rc;

	if (!l || !l->key)
		return tl_error_set(err, TL_ERR_INTERNAL, "store '%s': no lease to record progress under", s->display);
	if ((rc = tl_store__stmt(s, ST_PROGRESS, &st, err)) || (rc = tl_store__bind_text(s, st, 6, progress, err)) ||
	    (rc = tl_store__bind_i64(s, st, 7, rows_copied, 1, err)) ||
	    (rc = tl_store__bind_double(s, st, 8, l->lease_secs, err)))
		return rc;
	return fenced(s, st, l, "record progress", err);
}

int tl_store_end(tl_store *s, const tl_store_lease *l, enum tl_store_end how, const char *result, tl_error *err)
{
	static const char *const states[] = {[TL_STORE_DONE] = "done", [TL_STORE_FAILED] = "failed",
					     [TL_STORE_RELEASE] = "pending"};
	tl_sdb_stmt *st;
	int64_t changed = 0;
	int rc;

	if (!l || !l->key)
		return tl_error_set(err, TL_ERR_INTERNAL, "store '%s': no lease to end", s->display);
	/* one fenced UPDATE, its own transaction or the caller's (with the finished record) */
	if ((rc = tl_store__stmt(s, ST_END, &st, err)) || (rc = tl_store__bind_text(s, st, 1, l->task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, l->kind, err)) || (rc = tl_store__bind_text(s, st, 3, l->key, err)) ||
	    (rc = tl_store__bind_i64(s, st, 4, l->token, 0, err)) || (rc = tl_store__bind_text(s, st, 5, l->owner, err)) ||
	    (rc = tl_store__bind_text(s, st, 6, states[how], err)) || (rc = tl_store__bind_text(s, st, 7, result, err)) ||
	    (rc = tl_store__done(s, st, "ending a lease", &changed, err)))
		return rc;
	if (changed)
		return 0;
	/* a finish repeated after its commit was lost with the connection: done already */
	if (how == TL_STORE_DONE) {
		int settled = 0;

		if ((rc = tl_store_item_settled(s, l, &settled, err)))
			return rc;
		if (settled)
			return 0;
	}
	return lost(s, l, how == TL_STORE_DONE ? "finish the item" : "give the item back", err);
}

int tl_store_item_settled(tl_store *s, const tl_store_lease *l, int *settled, tl_error *err)
{
	tl_sdb_stmt *st;
	int rc, step;

	*settled = 0;
	if (!l || !l->key)
		return tl_error_set(err, TL_ERR_INTERNAL, "store '%s': no lease to look up", s->display);
	if ((rc = tl_store__stmt(s, ST_FENCE_WHO, &st, err)) || (rc = tl_store__bind_text(s, st, 1, l->task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, l->kind, err)) || (rc = tl_store__bind_text(s, st, 3, l->key, err)))
		return rc;
	step = tl_store__step(s, st, "reading a work item", err);
	if (step == 1) {
		const char *o = tl_store__col_text(s, st, 0, NULL), *state = tl_store__col_text(s, st, 2, NULL);

		*settled = tl_store__col_i64(s, st, 1) == l->token && state && strcmp(state, "done") == 0 && o && l->owner &&
			   strcmp(o, l->owner) == 0;
	}
	s->ops->reset(st);
	return step < 0 ? step : 0;
}

int tl_store_put_position_leased(tl_store *s, tl_store_lease *l, const char *task_id, const tl_position *p,
				 int is_current, const char *ts, const char *source, long line, int64_t rows_copied,
				 tl_error *err)
{
	int rc, owned = 0;

	if ((rc = tl_store__tx_enter(s, &owned, err)))
		return rc;
	if (!(rc = tl_store_fence(s, l, err)))
		rc = tl_store_put_position(s, task_id, p, is_current, ts, source, line, rows_copied, err);
	return tl_store__tx_leave(s, owned, rc, err);
}

int tl_store_finish_leased(tl_store *s, tl_store_lease *l, const char *task_id, const tl_position *p, const char *ts,
			   const char *source, long line, int64_t rows_copied, tl_error *err)
{
	int rc, owned = 0;

	if ((rc = tl_store__tx_enter(s, &owned, err)))
		return rc;
	if (!(rc = tl_store_fence(s, l, err)) &&
	    !(rc = tl_store_put_finished(s, task_id, p, ts, source, line, rows_copied, err)))
		rc = tl_store_end(s, l, TL_STORE_DONE, NULL, err);
	if (rc == TL_ERR_LOCKED) {
		/* repeated after its commit was lost with the connection: the record is there */
		int settled = 0;

		if (tl_store_item_settled(s, l, &settled, NULL) == 0 && settled)
			rc = 0;
	}
	return tl_store__tx_leave(s, owned, rc, err);
}

int tl_store_worker_join(tl_store *s, const char *task_id, const char *name, double lease_secs, tl_error *err)
{
	tl_sdb_stmt *st;
	char host[256], why[200];
	long me = (long)getpid();
	int64_t changed = 0;
	int rc, owned = 0, step, take = 0;

	if (!task_id || !name || !*name || !(lease_secs > 0))
		return tl_error_set(err, TL_ERR_INTERNAL, "store '%s': a worker needs a task, a name and a lease", s->display);
	tl_store__host(host);
	if ((rc = tl_store__tx_enter(s, &owned, err)))
		return rc;
	if ((rc = tl_store__stmt(s, ST_WORKER_TRY, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, name, err)) || (rc = tl_store__bind_text(s, st, 3, host, err)) ||
	    (rc = tl_store__bind_i64(s, st, 4, me, 0, err)) || (rc = tl_store__bind_double(s, st, 5, lease_secs, err)) ||
	    (rc = tl_store__done(s, st, "registering the worker", &changed, err)) || changed > 0)
		goto cleanup;
	if ((rc = tl_store__stmt(s, ST_WORKER_GET, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, name, err)))
		goto cleanup;
	step = tl_store__step(s, st, "reading the worker", err);
	if (step == 1) {
		const char *h = tl_store__col_text(s, st, 0, NULL), *state = tl_store__col_text(s, st, 2, NULL);
		long pid = (long)tl_store__col_i64(s, st, 1);
		double since = tl_store__col_double(s, st, 3), age = tl_store__col_double(s, st, 4);
		double lease = tl_store__col_double(s, st, 5);

		if (!state || strcmp(state, "running") != 0 || (h && strcmp(h, host) == 0 && pid == me) ||
		    tl_store__holder_gone(pid, h, since, age, lease, why, sizeof(why)))
			take = 1;
		else
			rc = tl_error_set(err, TL_ERR_LOCKED,
					  "worker '%s' of task '%s' is already running as pid %ld on host '%s' (last "
					  "heartbeat %.0f s ago, lease %.0f s; store %s)",
					  name, task_id, pid, h ? h : "?", age, lease, s->display);
	} else {
		rc = step < 0 ? step : 0;
		take = step == 0;
	}
	s->ops->reset(st);
	if (rc || !take)
		goto cleanup;
	if ((rc = tl_store__stmt(s, ST_WORKER_PUT, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, name, err)) || (rc = tl_store__bind_text(s, st, 3, host, err)) ||
	    (rc = tl_store__bind_i64(s, st, 4, me, 0, err)) || (rc = tl_store__bind_double(s, st, 5, lease_secs, err)))
		goto cleanup;
	rc = tl_store__done(s, st, "registering the worker", NULL, err);
cleanup:
	return tl_store__tx_leave(s, owned, rc, err);
}

int tl_store_worker_beat(tl_store *s, const char *task_id, const char *name, int64_t rows_copied, double rate,
			 tl_error *err)
{
	tl_sdb_stmt *st;
	int64_t changed = 0;
	char host[256];
	int rc;

	tl_store__host(host);
	if ((rc = tl_store__stmt(s, ST_WORKER_BEAT, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, name, err)) || (rc = tl_store__bind_text(s, st, 3, host, err)) ||
	    (rc = tl_store__bind_i64(s, st, 4, (int64_t)getpid(), 0, err)) ||
	    (rc = tl_store__bind_i64(s, st, 5, rows_copied, 0, err)))
		return rc;
	rc = rate < 0 ? s->ops->bind_null(st, 6, err) : s->ops->bind_double(st, 6, rate, err);
	if (rc)
		return tl_store__fail(s, "binding a parameter", err);
	if ((rc = tl_store__done(s, st, "renewing the worker", &changed, err)))
		return rc;
	if (changed == 0)
		return tl_error_set(err, TL_ERR_LOCKED,
				    "worker '%s' of task '%s' is no longer registered to this process (taken over after "
				    "its lease, or stopped; store %s)",
				    name, task_id, s->display);
	return 0;
}

int tl_store_worker_leave(tl_store *s, const char *task_id, const char *name, const char *state, tl_error *err)
{
	tl_sdb_stmt *st;
	char host[256];
	int rc;

	if (!state || (strcmp(state, "stopped") != 0 && strcmp(state, "failed") != 0))
		return tl_error_set(err, TL_ERR_INTERNAL, "store '%s': a worker leaves 'stopped' or 'failed'", s->display);
	tl_store__host(host);
	if ((rc = tl_store__stmt(s, ST_WORKER_LEAVE, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, name, err)) || (rc = tl_store__bind_text(s, st, 3, host, err)) ||
	    (rc = tl_store__bind_i64(s, st, 4, (int64_t)getpid(), 0, err)) || (rc = tl_store__bind_text(s, st, 5, state, err)))
		return rc;
	return tl_store__done(s, st, "unregistering the worker", NULL, err);
}

struct each_worker {
	tl_store_worker_fn fn;
	void *ctx;
};

static int worker_row(tl_store *s, tl_sdb_stmt *st, void *arg, tl_error *err)
{
	const struct each_worker *e = arg;
	double lease = tl_store__col_double(s, st, 8);
	tl_store_worker w;

	memset(&w, 0, sizeof(w));
	w.task_id = tl_store__col_text(s, st, 0, NULL);
	w.name = tl_store__col_text(s, st, 1, NULL);
	w.host = tl_store__col_text(s, st, 2, NULL);
	w.pid = (long)tl_store__col_i64(s, st, 3);
	w.state = tl_store__col_text(s, st, 4, NULL);
	w.started_at = tl_store__col_double(s, st, 5);
	w.heartbeat_at = tl_store__col_double(s, st, 6);
	w.heartbeat_age = tl_store__col_double(s, st, 7);
	w.alive = w.state && strcmp(w.state, "running") == 0 && w.heartbeat_age <= lease;
	w.rows_copied = tl_store__col_i64(s, st, 9);
	w.rate = tl_store__col_null(s, st, 10) ? -1.0 : tl_store__col_double(s, st, 10);
	w.leases = tl_store__col_i64(s, st, 11);
	return e->fn(e->ctx, &w, err);
}

int tl_store_foreach_worker(tl_store *s, const char *task_id, tl_store_worker_fn fn, void *ctx, tl_error *err)
{
	static const char sql[] =
		"SELECT task_id, name, host, pid, state, started_at, heartbeat_at, tl_now() - heartbeat_at, lease_secs,"
		" rows_copied, rate, (SELECT count(*) FROM work_item i WHERE i.task_id = w.task_id AND i.owner = w.name"
		" AND i.state = 'claimed' AND i.lease_until >= tl_now())"
		" FROM worker w WHERE CAST(?1 AS TEXT) IS NULL OR w.task_id = ?1 ORDER BY w.task_id, w.name";
	struct each_worker e = {fn, ctx};

	return tl_store__foreach(s, sql, "listing workers", &task_id, 1, worker_row, &e, err);
}

struct each_item {
	tl_store_item_fn fn;
	void *ctx;
};

/* An item row, with the columns as foreach_item and foreach_lease select them. */
static int item_row(tl_store *s, tl_sdb_stmt *st, void *arg, tl_error *err)
{
	const struct each_item *e = arg;
	tl_store_item_state it;

	memset(&it, 0, sizeof(it));
	it.task_id = tl_store__col_text(s, st, 0, NULL);
	it.kind = tl_store__col_text(s, st, 1, NULL);
	it.key = tl_store__col_text(s, st, 2, NULL);
	it.schema = tl_store__col_text(s, st, 3, NULL);
	it.tb = tl_store__col_text(s, st, 4, NULL);
	it.state = tl_store__col_text(s, st, 5, NULL);
	it.owner = tl_store__col_text(s, st, 6, NULL);
	it.prev_owner = tl_store__col_text(s, st, 7, NULL);
	it.progress = tl_store__col_text(s, st, 8, NULL);
	it.result = tl_store__col_text(s, st, 9, NULL);
	it.token = tl_store__col_i64(s, st, 10);
	it.attempts = tl_store__col_i64(s, st, 11);
	it.rows_copied = tl_store__col_i64n(s, st, 12);
	it.seconds_left = tl_store__col_double(s, st, 13);
	return e->fn(e->ctx, &it, err);
}

int tl_store_foreach_item(tl_store *s, const char *task_id, const char *kind, tl_store_item_fn fn, void *ctx,
			  tl_error *err)
{
	static const char sql[] =
		"SELECT task_id, kind, item_key, schema, tb, state, owner, prev_owner, progress, result, token, attempts,"
		" rows_copied, CASE WHEN state = 'claimed' THEN lease_until - tl_now() ELSE 0 END"
		" FROM work_item WHERE task_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR kind = ?2) ORDER BY kind, ord";
	const char *args[] = {task_id, kind};
	struct each_item e = {fn, ctx};

	return tl_store__foreach(s, sql, "listing work items", args, 2, item_row, &e, err);
}

void tl_store_group_clear(tl_store_group *g)
{
	if (!g)
		return;
	free(g->state);
	free(g->progress);
	free(g->first_open);
	memset(g, 0, sizeof(*g));
}

/*
 * The members of a group are the items of member_kind whose key starts with prefix: the
 * range [prefix, prefix with its last byte raised by one), which the primary key's index
 * serves on both backends (keys compare byte by byte: "C" collation on PostgreSQL).
 */
int tl_store_group_state(tl_store *s, const char *task_id, const char *kind, const char *key, const char *member_kind,
			 const char *prefix, tl_store_group *out, tl_error *err)
{
	static const char lock_sql[] = "SELECT state, progress FROM work_item WHERE task_id = ?1 AND kind = ?2"
				       " AND item_key = ?3";
	static const char lock_pg[] = "SELECT state, progress FROM work_item WHERE task_id = ?1 AND kind = ?2"
				      " AND item_key = ?3 FOR UPDATE";
	static const char count_sql[] =
		"SELECT count(CASE WHEN state IN ('pending', 'claimed') THEN 1 END),"
		" count(CASE WHEN state = 'failed' THEN 1 END), count(CASE WHEN state = 'done' THEN 1 END),"
		" COALESCE(sum(CASE WHEN state = 'done' THEN rows_copied END), 0)"
		" FROM work_item WHERE task_id = ?1 AND kind = ?2 AND item_key >= ?3 AND item_key < ?4";
	static const char first_sql[] = "SELECT payload FROM work_item WHERE task_id = ?1 AND kind = ?2"
					" AND item_key >= ?3 AND item_key < ?4 AND state <> 'done' ORDER BY ord LIMIT 1";
	tl_sdb_stmt *st = NULL;
	char *upper = NULL;
	size_t n;
	int rc, step;

	memset(out, 0, sizeof(*out));
	if (!s->in_tx)
		return tl_error_set(err, TL_ERR_INTERNAL, "store '%s': a group is read inside a transaction", s->display);
	if (!prefix || !(n = strlen(prefix)) || (unsigned char)prefix[n - 1] == 0xff)
		return tl_error_set(err, TL_ERR_INTERNAL, "store '%s': a group needs a key prefix", s->display);
	if (!(upper = tl_strdup(prefix)))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading a group of work items");
	upper[n - 1] = (char)((unsigned char)upper[n - 1] + 1);
	if ((rc = tl_store__prepare(s, lock_sql, lock_pg, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, kind, err)) || (rc = tl_store__bind_text(s, st, 3, key, err)))
		goto cleanup;
	step = tl_store__step(s, st, "locking a group of work items", err);
	if (step == 0)
		rc = tl_error_set(err, TL_ERR_NOTFOUND, "task '%s' has no %s '%s'", task_id, kind, key);
	else if (step < 0)
		rc = step;
	else if (!(rc = tl_store__col_dup(s, st, 0, &out->state, err)))
		rc = tl_store__col_dup(s, st, 1, &out->progress, err);
	tl_store__finalize(s, st);
	st = NULL;
	if (rc)
		goto cleanup;
	if ((rc = tl_store__prepare(s, count_sql, NULL, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, member_kind, err)) || (rc = tl_store__bind_text(s, st, 3, prefix, err)) ||
	    (rc = tl_store__bind_text(s, st, 4, upper, err)))
		goto cleanup;
	if ((step = tl_store__step(s, st, "counting a group of work items", err)) == 1) {
		out->open = tl_store__col_i64(s, st, 0);
		out->failed = tl_store__col_i64(s, st, 1);
		out->done = tl_store__col_i64(s, st, 2);
		out->rows_done = tl_store__col_i64(s, st, 3);
	} else if (step < 0) {
		rc = step;
	}
	tl_store__finalize(s, st);
	st = NULL;
	if (rc)
		goto cleanup;
	if ((rc = tl_store__prepare(s, first_sql, NULL, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, member_kind, err)) || (rc = tl_store__bind_text(s, st, 3, prefix, err)) ||
	    (rc = tl_store__bind_text(s, st, 4, upper, err)))
		goto cleanup;
	if ((step = tl_store__step(s, st, "reading a group of work items", err)) == 1)
		rc = tl_store__col_dup(s, st, 0, &out->first_open, err);
	else if (step < 0)
		rc = step;
cleanup:
	tl_store__finalize(s, st);
	free(upper);
	if (rc)
		tl_store_group_clear(out);
	return rc;
}

int tl_store_items_retry_failed(tl_store *s, const char *task_id, int64_t *n, tl_error *err)
{
	static const char sql[] = "UPDATE work_item SET state = 'pending', owner = NULL, lease_until = NULL"
				  " WHERE task_id = ?1 AND state = 'failed'";
	tl_sdb_stmt *st = NULL;
	int64_t changed = 0;
	int rc;

	if (!(rc = tl_store__prepare(s, sql, NULL, &st, err)) && !(rc = tl_store__bind_text(s, st, 1, task_id, err)))
		rc = tl_store__done(s, st, "retrying failed work items", &changed, err);
	tl_store__finalize(s, st);
	if (n)
		*n = rc ? 0 : changed;
	return rc;
}

int tl_store_foreach_lease(tl_store *s, const char *task_id, tl_store_item_fn fn, void *ctx, tl_error *err)
{
	static const char sql[] =
		"SELECT task_id, kind, item_key, schema, tb, state, owner, prev_owner, progress, result, token, attempts,"
		" rows_copied, lease_until - tl_now()"
		" FROM work_item WHERE state = 'claimed' AND (CAST(?1 AS TEXT) IS NULL OR task_id = ?1)"
		" ORDER BY task_id, owner, kind, ord";
	struct each_item e = {fn, ctx};

	return tl_store__foreach(s, sql, "listing leases", &task_id, 1, item_row, &e, err);
}
