/*
 * store_task.c - per-task bookkeeping in the checkpoint store: table statistics
 * (task_table) with their rate samples, the progress listing behind `status`, imported
 * text sources, the one-run-per-task lock and the list of task ids.
 *
 * The lock is a task_lock row (pid, host, heartbeat). Taking it inside a write
 * transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: INSERT ... ON CONFLICT DO NOTHING,
 * then the row FOR UPDATE) makes the check-and-set atomic between processes. The holder's
 * writes refresh its heartbeat (at most every few seconds). A row whose process no longer
 * exists on this host is stale and taken over (the caller is told, to say so); a row of
 * another host cannot be checked and is honoured until its heartbeat is older than the
 * lease (TL_STORE_LOCK_LEASE_SECS unless the caller says otherwise), then taken over.
 * `status` shows a table as "interrupted" instead of "running" when its task's lock
 * holder is gone by the same rules and no fleet worker holds a live lease on the table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include "store/store_int.h"
#include "tideline/buf.h"
#include "tideline/logfmt.h"

/* How often a holder's writes refresh its lock's heartbeat (seconds). */
#define LOCK_BEAT_SECS 5.0

int tl_store_put_table(tl_store *s, const char *task_id, const tl_store_table *t, tl_error *err)
{
	tl_sdb_stmt *st;
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
	    (rc = tl_store__bind_i64(s, st, 10, t->target_rows_at_finish, 1, err)) ||
	    (rc = tl_store__done(s, st, "writing table statistics", NULL, err)))
		goto cleanup;
	if (t->rows_copied >= 0 && (rc = tl_store__rate_sample(s, task_id, t->schema, t->tb, t->rows_copied, err)))
		goto cleanup;
	if (t->state && strcmp(t->state, "finished") == 0 && t->target_rows_at_finish >= 0) {
		if ((rc = tl_store__stmt(s, ST_TABLE_FIN_ROWS, &st, err)) ||
		    (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
		    (rc = tl_store__bind_text(s, st, 2, t->schema, err)) || (rc = tl_store__bind_text(s, st, 3, t->tb, err)) ||
		    (rc = tl_store__bind_i64(s, st, 4, t->target_rows_at_finish, 0, err)) ||
		    (rc = tl_store__done(s, st, "writing the target row count", NULL, err)))
			goto cleanup;
	}
	rc = tl_store__lock_beat(s, err);
cleanup:
	return tl_store__tx_leave(s, owned, rc, err);
}

int tl_store_get_table(tl_store *s, const char *task_id, const char *schema, const char *tb, tl_store_table *out,
		       tl_error *err)
{
	tl_sdb_stmt *st = NULL;
	char *lent[4] = {NULL, NULL, NULL, NULL};
	size_t i;
	int rc, step;

	if ((rc = tl_store__stmt(s, ST_TABLE_GET, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, schema, err)) || (rc = tl_store__bind_text(s, st, 3, tb, err)))
		goto cleanup;
	step = tl_store__step(s, st, "reading table statistics", err);
	if (step == 0) {
		rc = tl_error_set(err, TL_ERR_NOTFOUND, "store '%s' has no statistics for '%s'.'%s' in task '%s'",
				  s->display, schema, tb, task_id);
		goto cleanup;
	}
	if (step < 0) {
		rc = step;
		goto cleanup;
	}
	/* schema, tb, est_rows, rows_copied, target_empty_at_start, mode, state, target_rows_at_finish */
	if ((rc = tl_store__col_dup(s, st, 0, &lent[0], err)) || (rc = tl_store__col_dup(s, st, 1, &lent[1], err)) ||
	    (rc = tl_store__col_dup(s, st, 5, &lent[2], err)) || (rc = tl_store__col_dup(s, st, 6, &lent[3], err)))
		goto cleanup;
	memset(out, 0, sizeof(*out));
	out->schema = lent[0];
	out->tb = lent[1];
	out->est_rows = tl_store__col_i64n(s, st, 2);
	out->rows_copied = tl_store__col_null(s, st, 3) ? 0 : tl_store__col_i64(s, st, 3);
	out->target_empty_at_start = tl_store__col_i64(s, st, 4) != 0;
	out->mode = lent[2];
	out->state = lent[3];
	out->target_rows_at_finish = tl_store__col_i64n(s, st, 7);
	for (i = 0; i < 4; i++) {
		free(s->lent[i]);
		s->lent[i] = lent[i];
		lent[i] = NULL;
	}
cleanup:
	for (i = 0; i < 4; i++)
		free(lent[i]);
	if (st)
		s->ops->reset(st);
	return rc;
}

int tl_store_source_seen(tl_store *s, const char *task_id, const char *path, int64_t size, uint64_t hash, int *seen,
			 tl_error *err)
{
	tl_sdb_stmt *st;
	int rc;

	*seen = 0;
	if ((rc = tl_store__stmt(s, ST_SOURCE_SEEN, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, path, err)) || (rc = tl_store__bind_i64(s, st, 3, size, 0, err)) ||
	    (rc = tl_store__bind_i64(s, st, 4, (int64_t)hash, 0, err)))
		return rc;
	rc = tl_store__step(s, st, "reading imported sources", err);
	if (rc == 1)
		*seen = 1;
	s->ops->reset(st);
	return rc < 0 ? rc : 0;
}

int tl_store_source_mark(tl_store *s, const char *task_id, const char *path, int64_t size, uint64_t hash,
			 tl_error *err)
{
	tl_sdb_stmt *st;
	char now[32];
	int rc;

	tl_logfmt_now(now);
	if ((rc = tl_store__stmt(s, ST_SOURCE_MARK, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, path, err)) || (rc = tl_store__bind_i64(s, st, 3, size, 0, err)) ||
	    (rc = tl_store__bind_i64(s, st, 4, (int64_t)hash, 0, err)) || (rc = tl_store__bind_text(s, st, 5, now, err)))
		return rc;
	return tl_store__done(s, st, "recording an imported source", NULL, err);
}

/* Seconds since the epoch of a log-form UTC timestamp ("2024-03-29 07:02:24.463776"); -1 if not one. */
static double ts_unix(const char *ts)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (!ts || !(end = strptime(ts, "%Y-%m-%d %H:%M:%S", &tm)))
		return -1;
	return (double)timegm(&tm) + (*end == '.' ? strtod(end, NULL) : 0.0);
}

/*
 * Whether this host's process `pid` started after `since` (seconds since the epoch): the
 * pid then belongs to another process than the one that took the lock (pids are reused,
 * soon in a container). 0 when it cannot be told (no /proc).
 */
static int pid_reused(long pid, double since)
{
	char path[64], buf[1024], *p;
	FILE *f;
	double btime = -1, start;
	unsigned long long ticks = 0;
	long hz = sysconf(_SC_CLK_TCK);
	int field;
	size_t n;

	if (since < 0 || hz <= 0)
		return 0;
	if ((f = fopen("/proc/stat", "r")) != NULL) {
		while (fgets(buf, sizeof(buf), f))
			if (strncmp(buf, "btime ", 6) == 0)
				btime = strtod(buf + 6, NULL);
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (btime < 0 || !(f = fopen(path, "r")))
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": starttime is field 22, the 20th after the comm */
	if (!(p = strrchr(buf, ')')))
		return 0;
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return 0;
	ticks = strtoull(p + 1, NULL, 10);
	start = btime + (double)ticks / (double)hz;
	/* the lock's time is written just after the process started: a second of slack */
	return start > since + 1.0;
}

int tl_store__holder_gone(long pid, const char *host, double since, double beat_age, double lease, char *why,
			  size_t whysz)
{
	char me[256];

	tl_store__host(me);
	if (host && strcmp(host, me) == 0) {
		if (!tl_store__pid_alive(pid)) {
			snprintf(why, whysz, "pid %ld is no longer running on this host", pid);
			return 1;
		}
		if (pid_reused(pid, since)) {
			snprintf(why, whysz, "pid %ld is now another process (started after the lock was taken)", pid);
			return 1;
		}
		return 0;
	}
	if (beat_age < 0 || beat_age > lease) {
		if (beat_age < 0)
			snprintf(why, whysz, "pid %ld on host '%s' never renewed it", pid, host ? host : "?");
		else
			snprintf(why, whysz, "pid %ld on host '%s' last renewed it %.0f s ago (lease %.0f s)", pid,
				 host ? host : "?", beat_age, lease);
		return 1;
	}
	return 0;
}

/*
 * The live workers of a task's fleet (not counting `except`, may be NULL): *alive counts
 * them, `who` lists a few ("w1 on host1, w2 on host2").
 */
static int fleet_alive(tl_store *s, const char *task_id, const char *except, char *who, size_t whosz, int *alive)
{
	static const char sql[] = "SELECT name, host, pid, started_at, tl_now() - heartbeat_at, lease_secs FROM worker"
				  " WHERE task_id = ?1 AND state = 'running' ORDER BY name";
	tl_sdb_stmt *st = NULL;
	char why[200];
	size_t used = 0;
	int rc, step;

	*alive = 0;
	who[0] = '\0';
	if ((rc = tl_store__prepare(s, sql, NULL, &st, NULL)) || (rc = tl_store__bind_text(s, st, 1, task_id, NULL)))
		goto cleanup;
	while ((step = tl_store__step(s, st, "reading the workers", NULL)) == 1) {
		const char *name = tl_store__col_text(s, st, 0, NULL), *host = tl_store__col_text(s, st, 1, NULL);

		if (!name || (except && strcmp(name, except) == 0) ||
		    tl_store__holder_gone((long)tl_store__col_i64(s, st, 2), host, tl_store__col_double(s, st, 3),
					  tl_store__col_double(s, st, 4), tl_store__col_double(s, st, 5), why, sizeof(why)))
			continue;
		if (++*alive <= 4 && used < whosz)
			used += (size_t)snprintf(who + used, whosz - used, "%s'%s' on host '%s'", used ? ", " : "", name,
						 host ? host : "?");
	}
	rc = step < 0 ? step : 0;
	if (*alive > 4 && used < whosz)
		snprintf(who + used, whosz - used, ", …");
cleanup:
	tl_store__finalize(s, st);
	return rc;
}

int tl_store_fleet_enter(tl_store *s, const char *task_id, const char *worker, double lease_secs, unsigned flags,
			 tl_store_lock_info *info, tl_error *err)
{
	tl_sdb_stmt *st;
	char now[32], why[200];
	int64_t changed = 0;
	int rc, owned = 0, step, alive = 0;

	if (info)
		memset(info, 0, sizeof(*info));
	if (!worker || !*worker || !(lease_secs > 0))
		return tl_error_set(err, TL_ERR_INTERNAL, "store '%s': a worker needs a name and a lease", s->display);
	tl_logfmt_now(now);
	if ((rc = tl_store__tx_enter(s, &owned, err)))
		return rc;
	/* the task's lock for the fleet (pid 0): new, or the fleet's already, or a gone run's */
	if ((rc = tl_store__stmt(s, ST_LOCK_TRY, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_i64(s, st, 2, TL_STORE_FLEET_PID, 0, err)) ||
	    (rc = tl_store__bind_text(s, st, 3, TL_STORE_FLEET_HOST, err)) || (rc = tl_store__bind_text(s, st, 4, now, err)) ||
	    (rc = tl_store__done(s, st, "taking the task lock", &changed, err)))
		goto cleanup;
	if (changed == 0) {
		long pid = 0;
		int take = 0;

		if ((rc = tl_store__stmt(s, ST_LOCK_GET, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)))
			goto cleanup;
		step = tl_store__step(s, st, "reading the task lock", err);
		if (step == 1) {
			const char *holder = tl_store__col_text(s, st, 1, NULL);
			const char *since = tl_store__col_text(s, st, 2, NULL);
			double age = tl_store__col_null(s, st, 3) ? -1.0 : tl_store__col_double(s, st, 3);

			pid = (long)tl_store__col_i64(s, st, 0);
			if (pid != TL_STORE_FLEET_PID &&
			    tl_store__holder_gone(pid, holder, ts_unix(since), age, TL_STORE_LOCK_LEASE_SECS, why, sizeof(why))) {
				take = 1;
				if (info) {
					info->taken_over = 1;
					info->pid = pid;
					snprintf(info->host, sizeof(info->host), "%s", holder ? holder : "?");
					snprintf(info->started_at, sizeof(info->started_at), "%s", since ? since : "");
					info->heartbeat_age = age;
					snprintf(info->reason, sizeof(info->reason), "%s", why);
				}
			} else if (pid != TL_STORE_FLEET_PID) {
				rc = tl_error_set(err, TL_ERR_LOCKED,
						  "task '%s' is being run by pid %ld on host '%s' without --worker (store %s); "
						  "workers can join the task once that run has ended",
						  task_id, pid, holder ? holder : "?", s->display);
			}
		} else if (step < 0) {
			rc = step;
		}
		s->ops->reset(st);
		if (rc)
			goto cleanup;
		if (take && ((rc = tl_store__stmt(s, ST_LOCK_PUT, &st, err)) ||
			     (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
			     (rc = tl_store__bind_i64(s, st, 2, TL_STORE_FLEET_PID, 0, err)) ||
			     (rc = tl_store__bind_text(s, st, 3, TL_STORE_FLEET_HOST, err)) ||
			     (rc = tl_store__bind_text(s, st, 4, now, err)) ||
			     (rc = tl_store__done(s, st, "taking the task lock", NULL, err))))
			goto cleanup;
	}
	if (flags & TL_STORE_FLEET_FORGET) {
		if ((rc = fleet_alive(s, task_id, worker, why, sizeof(why), &alive)))
			goto cleanup;
		if (alive > 0) {
			rc = tl_error_set(err, TL_ERR_LOCKED,
					  "cannot forget the progress of task '%s' (--init) while other workers run it (%s; "
					  "store %s)",
					  task_id, why, s->display);
			goto cleanup;
		}
		if ((rc = tl_store_forget_task(s, task_id, err)))
			goto cleanup;
	}
	rc = tl_store_worker_join(s, task_id, worker, lease_secs, err);
cleanup:
	return tl_store__tx_leave(s, owned, rc, err);
}

int tl_store_lock_task_ex(tl_store *s, const char *task_id, double lease_secs, tl_store_lock_info *info,
			  tl_error *err)
{
	tl_sdb_stmt *st;
	char host[256], now[32], why[200];
	long me = (long)getpid(), pid = 0;
	int64_t changed = 0;
	int rc, owned = 0, step, take = 0, alive = 0;

	if (info)
		memset(info, 0, sizeof(*info));
	if (lease_secs <= 0)
		lease_secs = TL_STORE_LOCK_LEASE_SECS;
	tl_store__host(host);
	tl_logfmt_now(now);
	if ((rc = tl_store__tx_enter(s, &owned, err)))
		return rc;
	/* free: ours in one statement (also between PostgreSQL sessions that race for it) */
	if ((rc = tl_store__stmt(s, ST_LOCK_TRY, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_i64(s, st, 2, me, 0, err)) || (rc = tl_store__bind_text(s, st, 3, host, err)) ||
	    (rc = tl_store__bind_text(s, st, 4, now, err)) ||
	    (rc = tl_store__done(s, st, "taking the task lock", &changed, err)))
		goto cleanup;
	if (changed > 0)
		goto cleanup;
	if ((rc = tl_store__stmt(s, ST_LOCK_GET, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)))
		goto cleanup;
	step = tl_store__step(s, st, "reading the task lock", err);
	if (step == 1) {
		const char *holder = tl_store__col_text(s, st, 1, NULL);
		const char *since = tl_store__col_text(s, st, 2, NULL);
		double age = tl_store__col_null(s, st, 3) ? -1.0 : tl_store__col_double(s, st, 3);

		pid = (long)tl_store__col_i64(s, st, 0);
		if (pid == TL_STORE_FLEET_PID) {
			/* a fleet's lock: held while any of its workers is alive */
			if (info) {
				info->taken_over = 1;
				snprintf(info->host, sizeof(info->host), "%s", holder ? holder : "?");
				snprintf(info->started_at, sizeof(info->started_at), "%s", since ? since : "");
				info->heartbeat_age = age;
				snprintf(info->reason, sizeof(info->reason), "the workers of its fleet are all gone");
			}
			s->ops->reset(st);
			if ((rc = fleet_alive(s, task_id, NULL, why, sizeof(why), &alive)))
				goto cleanup;
			if (alive > 0) {
				if (info)
					info->taken_over = 0;
				rc = tl_error_set(err, TL_ERR_LOCKED,
						  "task '%s' is being run by a fleet of %d worker%s (%s; store %s); "
						  "run with --worker NAME to join it",
						  task_id, alive, alive == 1 ? "" : "s", why, s->display);
				goto cleanup;
			}
			take = 1;
		} else if (holder && strcmp(holder, host) == 0 && pid == me) {
			take = 1; /* ours already (another handle of this process) */
		} else if (tl_store__holder_gone(pid, holder, ts_unix(since), age, lease_secs, why, sizeof(why))) {
			take = 1;
			if (info) {
				info->taken_over = 1;
				info->pid = pid;
				snprintf(info->host, sizeof(info->host), "%s", holder ? holder : "?");
				snprintf(info->started_at, sizeof(info->started_at), "%s", since ? since : "");
				info->heartbeat_age = age;
				snprintf(info->reason, sizeof(info->reason), "%s", why);
			}
		} else if (holder && strcmp(holder, host) == 0) {
			rc = tl_error_set(err, TL_ERR_LOCKED, "task '%s' is being run by pid %ld (store %s)", task_id, pid,
					  s->display);
		} else {
			rc = tl_error_set(err, TL_ERR_LOCKED,
					  "task '%s' is being run by pid %ld on host '%s' (store %s, last heartbeat %.0f s "
					  "ago); a lock of another host is taken over when its heartbeat is older than "
					  "%.0f s, or remove its row from the task_lock table if that run is gone",
					  task_id, pid, holder ? holder : "?", s->display, age, lease_secs);
		}
	} else if (step == 0) {
		take = 1; /* released between the two statements */
	} else {
		rc = step;
	}
	s->ops->reset(st);
	if (rc || !take)
		goto cleanup;
	if ((rc = tl_store__stmt(s, ST_LOCK_PUT, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_i64(s, st, 2, me, 0, err)) || (rc = tl_store__bind_text(s, st, 3, host, err)) ||
	    (rc = tl_store__bind_text(s, st, 4, now, err)) ||
	    (rc = tl_store__done(s, st, "taking the task lock", &changed, err)))
		goto cleanup;
	if (changed == 0 && (rc = tl_store__stmt(s, ST_LOCK_TRY, &st, err)) == 0 &&
	    !(rc = tl_store__bind_text(s, st, 1, task_id, err)) && !(rc = tl_store__bind_i64(s, st, 2, me, 0, err)) &&
	    !(rc = tl_store__bind_text(s, st, 3, host, err)) && !(rc = tl_store__bind_text(s, st, 4, now, err)))
		rc = tl_store__done(s, st, "taking the task lock", NULL, err);
cleanup:
	rc = tl_store__tx_leave(s, owned, rc, err);
	if (rc == 0) {
		char *t = tl_strdup(task_id);

		if (!t)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		free(s->locked_task);
		s->locked_task = t;
		s->lock_beat = tl_store__now_unix();
	}
	return rc;
}

int tl_store_lock_task(tl_store *s, const char *task_id, tl_error *err)
{
	return tl_store_lock_task_ex(s, task_id, 0, NULL, err);
}

int tl_store__lock_beat(tl_store *s, tl_error *err)
{
	tl_sdb_stmt *st;
	char host[256];
	double now;
	int rc;

	if (!s->locked_task)
		return 0;
	now = tl_store__now_unix();
	if (now - s->lock_beat < LOCK_BEAT_SECS)
		return 0;
	tl_store__host(host);
	if ((rc = tl_store__stmt(s, ST_LOCK_BEAT, &st, err)) ||
	    (rc = tl_store__bind_text(s, st, 1, s->locked_task, err)) ||
	    (rc = tl_store__bind_i64(s, st, 2, (int64_t)getpid(), 0, err)) ||
	    (rc = tl_store__bind_text(s, st, 3, host, err)) ||
	    (rc = tl_store__done(s, st, "renewing the task lock", NULL, err)))
		return rc;
	s->lock_beat = now;
	return 0;
}

int tl_store_heartbeat(tl_store *s, tl_error *err)
{
	int rc, owned = 0;

	if (!s->locked_task)
		return 0;
	s->lock_beat = 0; /* now, whatever the last one */
	if ((rc = tl_store__tx_enter(s, &owned, err)))
		return rc;
	rc = tl_store__lock_beat(s, err);
	return tl_store__tx_leave(s, owned, rc, err);
}

void tl_store_unlock_task(tl_store *s, const char *task_id)
{
	tl_sdb_stmt *st;
	char host[256];

	if (!s)
		return;
	if (s->locked_task && strcmp(s->locked_task, task_id) == 0) {
		free(s->locked_task);
		s->locked_task = NULL;
	}
	tl_store__host(host);
	/* best effort: a lock left behind is stale once this process is gone */
	if (tl_store__stmt(s, ST_LOCK_DEL, &st, NULL) || tl_store__bind_text(s, st, 1, task_id, NULL) ||
	    tl_store__bind_i64(s, st, 2, (int64_t)getpid(), 0, NULL) || tl_store__bind_text(s, st, 3, host, NULL))
		return;
	(void)tl_store__done(s, st, "releasing the task lock", NULL, NULL);
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
	tl_sdb_stmt *st = NULL;
	char **list = NULL;
	size_t n = 0, cap = 0;
	int rc = 0, step;

	*out = NULL;
	if ((rc = tl_store__prepare(s,
				    "SELECT task_id FROM position UNION SELECT task_id FROM finished"
				    " UNION SELECT task_id FROM task_table UNION SELECT task_id FROM import_source ORDER BY 1",
				    NULL, &st, err)))
		goto cleanup;
	while ((step = tl_store__step(s, st, "listing task ids", err)) == 1) {
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
		if ((rc = tl_store__col_dup(s, st, 0, &list[n], err)))
			goto cleanup;
		list[++n] = NULL;
	}
	if (step < 0) {
		rc = step;
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
	tl_store__finalize(s, st);
	tl_store_free_list(list);
	return rc;
}

/*
 * Whether each task's run is still there, read once per listing: the task locks (is the
 * holder alive?) and, for a fleet, the tables with an item under a live lease.
 */
struct lock_row {
	char *task_id, *schema, *tb; /* schema/tb NULL: a task lock row */
	int gone;
};

struct locks {
	struct lock_row *v;
	size_t n;
};

static void locks_free(struct locks *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].task_id);
		free(l->v[i].schema);
		free(l->v[i].tb);
	}
	free(l->v);
}

static int locks_add(tl_store *s, tl_sdb_stmt *st, struct locks *l, int with_table, tl_error *err)
{
	struct lock_row *nv = realloc(l->v, (l->n + 1) * sizeof(*nv)), *r;

	if (!nv)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading the task locks");
	l->v = nv;
	r = &l->v[l->n];
	memset(r, 0, sizeof(*r));
	l->n++;
	if (tl_store__col_dup(s, st, 0, &r->task_id, err) ||
	    (with_table && (tl_store__col_dup(s, st, 1, &r->schema, err) || tl_store__col_dup(s, st, 2, &r->tb, err))))
		return TL_ERR_NOMEM;
	return 0;
}

static int locks_load(tl_store *s, struct locks *l, tl_error *err)
{
	tl_sdb_stmt *st = NULL;
	char why[200];
	int rc, step;

	memset(l, 0, sizeof(*l));
	if ((rc = tl_store__prepare(s, "SELECT task_id, pid, host, started_at, tl_now() - heartbeat_at FROM task_lock",
				    NULL, &st, err)))
		return rc;
	while ((step = tl_store__step(s, st, "reading the task locks", err)) == 1) {
		double age = tl_store__col_null(s, st, 4) ? -1.0 : tl_store__col_double(s, st, 4);

		if ((rc = locks_add(s, st, l, 0, err)))
			break;
		/* a fleet's lock (pid 0) stands for no process: its live leases are what is running */
		l->v[l->n - 1].gone = tl_store__col_i64(s, st, 1) == TL_STORE_FLEET_PID ||
				      tl_store__holder_gone((long)tl_store__col_i64(s, st, 1),
							    tl_store__col_text(s, st, 2, NULL),
							    ts_unix(tl_store__col_text(s, st, 3, NULL)), age,
							    TL_STORE_LOCK_LEASE_SECS, why, sizeof(why));
	}
	if (!rc && step < 0)
		rc = step;
	tl_store__finalize(s, st);
	st = NULL;
	if (rc || (rc = tl_store__prepare(s,
					  "SELECT DISTINCT task_id, schema, tb FROM work_item WHERE state = 'claimed'"
					  " AND lease_until >= tl_now() AND schema IS NOT NULL AND tb IS NOT NULL",
					  NULL, &st, err)))
		return rc;
	while ((step = tl_store__step(s, st, "reading the leases", err)) == 1)
		if ((rc = locks_add(s, st, l, 1, err)))
			break;
	if (!rc && step < 0)
		rc = step;
	tl_store__finalize(s, st);
	return rc;
}

/* A "running" table is "interrupted" when neither its task's lock holder nor a live lease on it is there. */
static const char *live_state(const struct locks *l, const char *task_id, const char *schema, const char *tb,
			      const char *state)
{
	size_t i;

	if (!state || strcmp(state, "running") != 0 || !task_id)
		return state;
	for (i = 0; i < l->n; i++) {
		const struct lock_row *r = &l->v[i];

		if (!r->task_id || strcmp(r->task_id, task_id) != 0)
			continue;
		if (!r->schema && !r->gone)
			return state;
		if (r->schema && schema && tb && strcmp(r->schema, schema) == 0 && strcmp(r->tb, tb) == 0)
			return state;
	}
	return "interrupted";
}

int tl_store_foreach_progress(tl_store *s, const char *task_id, double now_unix, tl_store_progress_fn fn, void *ctx,
			      tl_error *err)
{
	/* the rate over the last minute: first and last rate sample since ?2 of each table */
	static const char sql[] =
		"WITH r AS (SELECT task_id, schema, tb, min(at_unix) AS t0, max(at_unix) AS t1 FROM rate_sample"
		" WHERE at_unix >= ?2 AND (CAST(?1 AS TEXT) IS NULL OR task_id = ?1) GROUP BY task_id, schema, tb)"
		" SELECT p.task_id, p.schema, p.tb, p.state, p.rows_copied, p.est_rows, p.percent, p.last_key,"
		" p.last_update, p.finished_at, r.t0, r.t1, s0.rows_copied, s1.rows_copied"
		" FROM progress p"
		" LEFT JOIN r ON r.task_id = p.task_id AND r.schema = p.schema AND r.tb = p.tb"
		" LEFT JOIN rate_sample s0 ON s0.task_id = r.task_id AND s0.schema = r.schema AND s0.tb = r.tb"
		" AND s0.at_unix = r.t0"
		" LEFT JOIN rate_sample s1 ON s1.task_id = r.task_id AND s1.schema = r.schema AND s1.tb = r.tb"
		" AND s1.at_unix = r.t1"
		" WHERE CAST(?1 AS TEXT) IS NULL OR p.task_id = ?1 ORDER BY p.task_id, p.schema, p.tb";
	tl_sdb_stmt *st = NULL;
	struct locks locks = {NULL, 0};
	tl_store_progress p;
	int rc = 0, step, owned = 0;

	/* one read transaction: a consistent snapshot while a run writes */
	if ((rc = tl_store__read_enter(s, &owned, err)))
		return rc;
	if ((rc = locks_load(s, &locks, err)) || (rc = tl_store__prepare(s, sql, NULL, &st, err)) ||
	    (rc = tl_store__bind_text(s, st, 1, task_id, err)) || (rc = tl_store__bind_double(s, st, 2, now_unix - 60.0, err)))
		goto cleanup;
	while ((step = tl_store__step(s, st, "reading progress", err)) == 1) {
		p.task_id = tl_store__col_text(s, st, 0, NULL);
		p.schema = tl_store__col_text(s, st, 1, NULL);
		p.tb = tl_store__col_text(s, st, 2, NULL);
		p.state = live_state(&locks, p.task_id, p.schema, p.tb, tl_store__col_text(s, st, 3, NULL));
		p.rows_copied = tl_store__col_i64n(s, st, 4);
		p.est_rows = tl_store__col_i64n(s, st, 5);
		p.percent = tl_store__col_null(s, st, 6) ? -1.0 : tl_store__col_double(s, st, 6);
		p.last_key = tl_store__col_text(s, st, 7, NULL);
		p.last_update = tl_store__col_text(s, st, 8, NULL);
		p.finished_at = tl_store__col_text(s, st, 9, NULL);
		p.rate = -1.0;
		if (!tl_store__col_null(s, st, 10) && !tl_store__col_null(s, st, 12) && !tl_store__col_null(s, st, 13)) {
			double t0 = tl_store__col_double(s, st, 10), t1 = tl_store__col_double(s, st, 11);
			int64_t r0 = tl_store__col_i64(s, st, 12), r1 = tl_store__col_i64(s, st, 13);

			if (t1 > t0)
				p.rate = r1 >= r0 ? (double)(r1 - r0) / (t1 - t0) : 0.0;
		}
		if ((rc = fn(ctx, &p, err)))
			goto cleanup;
	}
	rc = step;
cleanup:
	tl_store__finalize(s, st);
	locks_free(&locks);
	tl_store__read_leave(s, owned);
	return rc;
}
