/*
 * test_engine_fleet.c - a fleet of workers on one task (run --worker, src/migrate/fleet.c)
 * against the in-memory fake driver and the SQLite store (the same statements as the
 * shared PostgreSQL store, on one host): several workers at once copy every kind of table
 * row-exactly with every chunk copied once; a worker that is gone (a claim never renewed,
 * rows written past its last position) loses its table after the lease and another one
 * continues from its last position, while the old claim can record nothing; the task lock
 * keeps a run without --worker and a fleet apart; a schema step runs once; a claim that
 * was taken over stops its holder's target writes (the gate); routed and projected tables
 * ([router], ignore_cols) are read and written under the right names, chunks too; a
 * whole database into an empty target (the fake's "fakeddl" kind: tables made without
 * their keys, which refuse upserts) by three workers: each definition step applied once,
 * rows before keys, a worker started after the end finds nothing to do; definitions only
 * (extract_type=struct) by two workers.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fakes/fake_task.h"
#include "tl_test.h"

#define ROWS 200
#define TASK "t1" /* the task id of ft_task */

struct worker_arg {
	pthread_t th;
	ft_env *e;
	char name[32];
	int rc;
	tl_error err;
};

static void *worker_main(void *p)
{
	struct worker_arg *w = p;

	w->rc = ft_run_worker(w->e, w->name, NULL, &w->err);
	return NULL;
}

/* Runs n workers w1..wn at once and checks that each ended well. */
static void run_workers(ft_env *e, int n)
{
	struct worker_arg w[8];
	int i;

	for (i = 0; i < n; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].e = e;
		snprintf(w[i].name, sizeof(w[i].name), "w%d", i + 1);
		TL_CHECK(pthread_create(&w[i].th, NULL, worker_main, &w[i]) == 0);
	}
	for (i = 0; i < n; i++) {
		pthread_join(w[i].th, NULL);
		TL_CHECK_MSG(w[i].rc == 0, "worker %s: %s", w[i].name, w[i].err.message);
	}
}

static void check_same(ft_env *e, const char *what)
{
	char why[512];

	TL_CHECK_MSG(ft_all_same(e, why, sizeof(why)), "%s: %s", what, why);
}

static tl_store *open_store(ft_env *e)
{
	char path[4300];
	tl_store *s = NULL;
	tl_error err = TL_ERROR_INIT;

	snprintf(path, sizeof(path), "%s/logs", e->dir);
	TL_CHECK_MSG(tl_migrate__mkdir_p(path, &err) == 0, "%s", err.message);
	snprintf(path, sizeof(path), "%s/logs/checkpoint.db", e->dir);
	TL_CHECK_MSG(tl_store_open(&s, path, 0, &err) == 0, "%s", err.message);
	return s;
}

/* Counts of the task's work items. */
struct items {
	int tables, chunks, steps, done, claimed_more_than_once;
	char first_twice[200];
};

static int count_item(void *ctx, const tl_store_item_state *it, tl_error *err)
{
	struct items *c = ctx;

	(void)err;
	if (strcmp(it->kind, "chunk") == 0)
		c->chunks++;
	else if (strcmp(it->kind, "table") == 0)
		c->tables++;
	else if (strcmp(it->kind, "step") == 0)
		c->steps++;
	if (strcmp(it->state, "done") == 0)
		c->done++;
	if (it->attempts > 1 && c->claimed_more_than_once++ == 0)
		snprintf(c->first_twice, sizeof(c->first_twice), "%s '%s' (%lld claims)", it->kind, it->key,
			 (long long)it->attempts);
	return 0;
}

static int64_t source_rows(ft_env *e)
{
	int64_t n = 0;
	size_t i;

	for (i = 0; ft_tables[i]; i++)
		n += tl_fake_count(e->src, "s", ft_tables[i]);
	return n;
}

TL_TEST(three_workers_copy_every_table_and_chunk_once)
{
	static const char *const modes[] = {
		/* split tables cut into chunks that all workers claim */
		"[extractor]\nparallel_type=chunk\nparallel_size=2\n[resumer]\nchunk_rows=15\nlease_secs=5\n",
		/* whole tables, two threads per worker */
		"[extractor]\nparallel_type=table\nparallel_size=2\n[resumer]\nlease_secs=5\n",
	};
	size_t m, i;

	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		ft_env e;
		tl_store *s;
		struct items c;
		tl_error err = TL_ERROR_INIT;
		tl_store_hit hit;

		TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, ROWS) == 0 && ft_task(&e, modes[m]));
		run_workers(&e, 3);
		check_same(&e, modes[m]);
		/* every row read once: no chunk, no table copied twice */
		TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), source_rows(&e));
		s = open_store(&e);
		memset(&c, 0, sizeof(c));
		TL_CHECK_OK(tl_store_foreach_item(s, TASK, NULL, count_item, &c, &err), &err);
		TL_CHECK_EQ_INT(c.tables, 5);
		TL_CHECK_MSG(c.claimed_more_than_once == 0, "%s: %s", modes[m], c.first_twice);
		TL_CHECK_EQ_INT(c.done, c.tables + c.chunks);
		if (strstr(modes[m], "chunk"))
			TL_CHECK_MSG(c.chunks > 20, "%s: %d chunks", modes[m], c.chunks);
		else
			TL_CHECK_EQ_INT(c.chunks, 0);
		/* every table finished, recorded by one of the workers */
		for (i = 0; ft_tables[i]; i++) {
			memset(&hit, 0, sizeof(hit));
			TL_CHECK_OK(tl_store_lookup(s, TASK, "s", ft_tables[i], 0, &hit, &err), &err);
			TL_CHECK_MSG(hit.state == TL_RESUME_FINISHED, "%s: s.%s not finished", modes[m], ft_tables[i]);
			TL_CHECK_MSG(hit.source && strncmp(hit.source, "worker w", 8) == 0, "%s: s.%s finished by '%s'",
				     modes[m], ft_tables[i], hit.source ? hit.source : "?");
			tl_store_hit_clear(&hit);
		}
		tl_store_close(s);
		/* a rerun of a worker finds nothing to do */
		tl_fake_reset_calls(e.src);
		run_workers(&e, 1);
		TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), 0);
		ft_teardown(&e);
	}
}

/*
 * A worker that died: it claimed s.keyed and s.nokey, copied part of each, recorded a
 * position for s.keyed, wrote more rows than its last position of both, and never renewed
 * its claims. A new worker takes both over after the lease, continues s.keyed after the
 * position and starts s.nokey over (removing what the dead one wrote): row-exact. The dead
 * worker's claims can record nothing any more.
 */
TL_TEST(a_dead_workers_tables_are_taken_over_after_the_lease)
{
	ft_env e;
	tl_store *s;
	tl_store_lease keyed, nokey, l;
	tl_store_table st;
	tl_position p = TL_POSITION_INIT;
	tl_error err = TL_ERROR_INIT;
	const char *col = "id", *val = "50";
	char cells[2][32];
	const char *row[2];
	int busy = 0, i, got = 0;

	TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, ROWS) == 0 &&
		 ft_task(&e, "[extractor]\nparallel_type=table\n[resumer]\nlease_secs=2\n"));
	s = open_store(&e);
	TL_CHECK_OK(tl_store_fleet_enter(s, TASK, "ghost", 2, 0, NULL, &err), &err);
	{
		tl_store_item items[2] = {{"table", "s.keyed", "s", "keyed", NULL}, {"table", "s.nokey", "s", "nokey", NULL}};
		TL_CHECK_OK(tl_store_items_add(s, TASK, items, 2, &err), &err);
	}
	memset(&keyed, 0, sizeof(keyed));
	memset(&nokey, 0, sizeof(nokey));
	for (i = 0; i < 2; i++) {
		memset(&l, 0, sizeof(l));
		TL_CHECK_OK(tl_store_claim(s, TASK, "table", "ghost", 2, &l, &busy, &err), &err);
		if (strcmp(l.key, "s.keyed") == 0)
			keyed = l, got++;
		else
			nokey = l, got++;
	}
	TL_CHECK_EQ_INT(got, 2);
	/* s.keyed: rows 1..60 on the target, position id=50 recorded under the lease */
	for (i = 1; i <= 60; i++) {
		snprintf(cells[0], sizeof(cells[0]), "%d", i);
		snprintf(cells[1], sizeof(cells[1]), "v%d", i);
		row[0] = cells[0];
		row[1] = i % 7 == 0 ? NULL : cells[1];
		TL_CHECK(tl_fake_insert(e.dst, "s", "keyed", row) == 0);
	}
	TL_CHECK_OK(tl_pos_set(&p, TL_POS_RDB_SNAPSHOT, "fake", "s", "keyed", TL_KEY_SINGLE, 1, &col, &val, &err), &err);
	TL_CHECK_OK(tl_store_put_position_leased(s, &keyed, TASK, &p, 1, NULL, "worker ghost", 0, 50, &err), &err);
	memset(&st, 0, sizeof(st));
	st.schema = "s";
	st.tb = "keyed";
	st.est_rows = ROWS;
	st.rows_copied = 50;
	st.target_empty_at_start = 1;
	st.mode = "batch";
	st.state = "running";
	st.target_rows_at_finish = -1;
	TL_CHECK_OK(tl_store_put_table(s, TASK, &st, &err), &err);
	/* s.nokey: 30 of its rows on the target, no position: the table was started into an empty target */
	st.tb = "nokey";
	st.rows_copied = 0;
	st.mode = "split";
	TL_CHECK_OK(tl_store_put_table(s, TASK, &st, &err), &err);
	for (i = 0; i < 30; i++) {
		snprintf(cells[0], sizeof(cells[0]), "%d", i);
		row[0] = cells[0];
		row[1] = "dead";
		TL_CHECK(tl_fake_insert(e.dst, "s", "nokey", row) == 0);
	}
	/* the ghost's process is gone: its registration says so at once on this host, its leases expire in 2 s */
	TL_CHECK_OK(tl_store_worker_leave(s, TASK, "ghost", "failed", &err), &err);
	run_workers(&e, 1);
	check_same(&e, "after the takeover");
	/* s.keyed was continued after id=50, not started over: the rows 51.. only (and none of the first 50) */
	TL_CHECK_MSG(tl_fake_rows_read(e.src) < source_rows(&e) - 40, "%ld rows read of %lld", tl_fake_rows_read(e.src),
		     (long long)source_rows(&e));
	/* the dead claims are fenced: nothing can be recorded under them any more */
	TL_CHECK(tl_store_put_position_leased(s, &keyed, TASK, &p, 1, NULL, "worker ghost", 0, 60, &err) ==
		 TL_ERR_LOCKED);
	TL_CHECK_MSG(strstr(err.message, "taken over by worker 'w1'") != NULL || strstr(err.message, "no longer claimed"),
		     "%s", err.message);
	TL_CHECK(tl_store_finish_leased(s, &nokey, TASK, &p, NULL, "worker ghost", 0, 30, &err) == TL_ERR_LOCKED);
	tl_pos_clear(&p);
	tl_store_lease_clear(&keyed);
	tl_store_lease_clear(&nokey);
	tl_store_close(s);
	check_same(&e, "after the fenced writes");
	ft_teardown(&e);
}

TL_TEST(the_task_lock_keeps_a_fleet_and_a_single_run_apart)
{
	ft_env e;
	tl_store *a, *b;
	tl_store_lock_info info;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK(ft_setup(&e) == 0 && ft_task(&e, NULL));
	a = open_store(&e);
	b = open_store(&e);
	/* a worker joins: a run without --worker is refused, naming the fleet */
	TL_CHECK_OK(tl_store_fleet_enter(a, "t", "w1", 30, 0, &info, &err), &err);
	TL_CHECK(tl_store_lock_task_ex(b, "t", 0, &info, &err) == TL_ERR_LOCKED);
	TL_CHECK_MSG(strstr(err.message, "fleet of 1 worker") && strstr(err.message, "'w1'"), "%s", err.message);
	/* a second worker joins the same fleet; --init is refused while another worker runs */
	TL_CHECK_OK(tl_store_fleet_enter(b, "t", "w2", 30, 0, NULL, &err), &err);
	TL_CHECK(tl_store_fleet_enter(b, "t", "w3", 30, TL_STORE_FLEET_FORGET, NULL, &err) == TL_ERR_LOCKED);
	TL_CHECK_MSG(strstr(err.message, "--init"), "%s", err.message);
	/* the workers leave: a single run takes the lock over and says why */
	TL_CHECK_OK(tl_store_worker_leave(a, "t", "w1", "stopped", &err), &err);
	TL_CHECK_OK(tl_store_worker_leave(b, "t", "w2", "stopped", &err), &err);
	TL_CHECK_OK(tl_store_worker_leave(b, "t", "w3", "stopped", &err), &err);
	TL_CHECK_OK(tl_store_lock_task_ex(b, "t", 0, &info, &err), &err);
	TL_CHECK(info.taken_over);
	TL_CHECK_MSG(strstr(info.reason, "fleet"), "%s", info.reason);
	/* now a worker is refused while that run holds the task */
	TL_CHECK(tl_store_fleet_enter(a, "t", "w1", 30, 0, NULL, &err) == TL_ERR_LOCKED);
	TL_CHECK_MSG(strstr(err.message, "without --worker"), "%s", err.message);
	tl_store_unlock_task(b, "t");
	TL_CHECK_OK(tl_store_fleet_enter(a, "t", "w1", 30, 0, NULL, &err), &err);
	tl_store_close(a);
	tl_store_close(b);
	ft_teardown(&e);
}

/* ---- schema steps and the gate, through the fleet API --------------------------------- */

struct step_arg {
	pthread_t th;
	ft_env *e;
	const char *name;
	int *runs;
	pthread_mutex_t *mu;
	int rc;
	tl_error err;
};

static int step_fn(void *ctx, tl_error *err)
{
	struct step_arg *a = ctx;

	(void)err;
	pthread_mutex_lock(a->mu);
	(*a->runs)++;
	pthread_mutex_unlock(a->mu);
	usleep(300 * 1000); /* long enough for the other worker to find it held */
	return 0;
}

/* A worker's env (store, bound drivers) for the fleet API. */
static int open_env(ft_env *e, tl_config **cfg, tl_migrate_env *env, tl_error *err)
{
	tl_migrate_opts opts;
	int rc;

	memset(&opts, 0, sizeof(opts));
	opts.registry = &tl_fake_registry;
	if ((rc = tl_config_load_with(e->ini, &tl_fake_registry, cfg, err)) ||
	    (rc = tl_migrate_env_bind(env, *cfg, &opts, err)) || (rc = tl_migrate__mkdir_p((*cfg)->log_dir, err)))
		return rc;
	return tl_store_open(&env->store, (*cfg)->store_path, 0, err);
}

static void *step_main(void *p)
{
	struct step_arg *a = p;
	tl_config *cfg = NULL;
	tl_migrate_env env;
	tl_fleet *f = NULL;

	memset(&env, 0, sizeof(env));
	if (!(a->rc = open_env(a->e, &cfg, &env, &a->err)) &&
	    !(a->rc = tl_fleet_new(&f, &env, cfg->store_path, a->name, 0, NULL, &a->err)))
		a->rc = tl_fleet_step(f, "pre-data:s", step_fn, a, 0, NULL, NULL, NULL, &a->err);
	tl_fleet_free(f);
	tl_migrate_env_release(&env);
	tl_config_free(cfg);
	return NULL;
}

TL_TEST(a_schema_step_runs_once_in_the_fleet)
{
	ft_env e;
	struct step_arg a[3];
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	int runs = 0, i;
	static const char *const names[] = {"w1", "w2", "w3"};

	TL_CHECK(ft_setup(&e) == 0 && ft_task(&e, "[resumer]\nlease_secs=5\n"));
	for (i = 0; i < 3; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].e = &e;
		a[i].name = names[i];
		a[i].runs = &runs;
		a[i].mu = &mu;
		TL_CHECK(pthread_create(&a[i].th, NULL, step_main, &a[i]) == 0);
	}
	for (i = 0; i < 3; i++) {
		pthread_join(a[i].th, NULL);
		TL_CHECK_MSG(a[i].rc == 0, "%s: %s", names[i], a[i].err.message);
	}
	TL_CHECK_EQ_INT(runs, 1);
	/* a worker that comes later skips it */
	a[0].name = "w4";
	step_main(&a[0]);
	TL_CHECK_MSG(a[0].rc == 0, "%s", a[0].err.message);
	TL_CHECK_EQ_INT(runs, 1);
	ft_teardown(&e);
}

TL_TEST(a_claim_taken_over_stops_its_holders_writes)
{
	ft_env e;
	tl_config *cfg = NULL;
	tl_migrate_env env;
	tl_fleet *f = NULL;
	tl_fleet_work w;
	tl_store *other;
	tl_plan plan;
	tl_plan_item item;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, 20) == 0 && ft_task(&e, "[resumer]\nlease_secs=1\n"));
	memset(&env, 0, sizeof(env));
	TL_CHECK_OK(open_env(&e, &cfg, &env, &err), &err);
	TL_CHECK_OK(tl_fleet_new(&f, &env, cfg->store_path, "w1", 0, NULL, &err), &err);
	/* a quarter lease, at least a second, is what the target may keep of a write */
	TL_CHECK_EQ_INT(env.dead_peer_secs, 1);
	memset(&item, 0, sizeof(item));
	item.schema = "s";
	item.tb = "keyed";
	memset(&plan, 0, sizeof(plan));
	plan.n = 1;
	plan.items = &item;
	TL_CHECK_OK(tl_fleet_add_plan(f, &plan, &err), &err);
	TL_CHECK_OK(tl_fleet_claim(f, NULL, NULL, &w, &err), &err);
	TL_CHECK_OK(tl_fleet_gate(w.hold, &err), &err);
	/*
	 * Another worker takes the claim over, as after an expiry that the holder did not see
	 * (its renewals lost on a cut link): one UPDATE of the item as a claim makes it, through
	 * the sqlite3 shell since the holder's heartbeat keeps the lease alive here.
	 */
	other = open_store(&e);
	{
		char cmd[5000];

		snprintf(cmd, sizeof(cmd),
			 "sqlite3 -cmd '.timeout 5000' '%s/logs/checkpoint.db' \"UPDATE work_item SET owner = 'w2',"
			 " prev_owner = 'w1', token = token + 1, attempts = attempts + 1,"
			 " lease_until = (julianday('now') - 2440587.5) * 86400.0 + 30"
			 " WHERE kind = 'table' AND item_key = 's.keyed'\"",
			 e.dir);
		TL_CHECK_EQ_INT(system(cmd), 0);
	}
	/* the holder learns it at its next renewal or gate: no more writes */
	{
		int rc, tries = 0;
		while ((rc = tl_fleet_gate(w.hold, &err)) == 0 && tries++ < 100)
			usleep(20 * 1000);
		TL_CHECK_EQ_INT(rc, TL_ERR_LOCKED);
	}
	TL_CHECK_MSG(strstr(err.message, "taken over by worker 'w2'") != NULL, "%s", err.message);
	TL_CHECK_EQ_INT(tl_fleet_end(f, &w, TL_ERR_LOCKED, &err), 0);
	tl_store_close(other);
	tl_fleet_free(f);
	tl_migrate_env_release(&env);
	tl_config_free(cfg);
	ft_teardown(&e);
}

/*
 * Transient failures (a lost connection, #15's retries) in a fleet: a worker whose read or
 * write fails transiently gives the item back (the store counts the claim), waits as a
 * run's worker would, connects again and goes on claiming; the item is taken on from its
 * last record, by this worker or another. Whole tables and chunks, row-exact. With
 * [pipeline] retry_max_attempts=0 the same failure fails the item and the worker at once.
 */
TL_TEST(a_transient_failure_gives_the_item_back_and_the_fleet_finishes)
{
	static const char *const modes[] = {
		"[extractor]\nparallel_type=chunk\nparallel_size=2\n[resumer]\nchunk_rows=15\nlease_secs=5\n",
		"[extractor]\nparallel_type=table\nparallel_size=2\n[resumer]\nlease_secs=5\n",
	};
	size_t m;

	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		ft_env e;
		tl_store *s;
		struct items c;
		tl_error err = TL_ERROR_INIT;

		TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, ROWS) == 0 && ft_task(&e, modes[m]));
		/* the 3rd write and the 5th read fail, as a lost connection does */
		tl_fake_fail_flags(e.dst, TL_SLOT_WRITE_BATCH, NULL, 3, TL_ERR_DB, 0, TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST);
		tl_fake_fail_flags(e.src, TL_SLOT_READ_BATCH, NULL, 5, TL_ERR_DB, 0, TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST);
		run_workers(&e, 2);
		check_same(&e, modes[m]);
		s = open_store(&e);
		memset(&c, 0, sizeof(c));
		TL_CHECK_OK(tl_store_foreach_item(s, TASK, NULL, count_item, &c, &err), &err);
		TL_CHECK_EQ_INT(c.done, c.tables + c.chunks);
		/* the failed items were claimed again */
		TL_CHECK_MSG(c.claimed_more_than_once >= 1, "%s: no item was given back", modes[m]);
		tl_store_close(s);
		ft_teardown(&e);

		/* no retries: the item fails, and so does the worker */
		{
			char extra[300];
			int rc;

			snprintf(extra, sizeof(extra), "%s[pipeline]\nretry_max_attempts=0\n", modes[m]);
			TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, ROWS) == 0 && ft_task(&e, extra));
			tl_fake_fail_flags(e.dst, TL_SLOT_WRITE_BATCH, NULL, 3, TL_ERR_DB, 0,
					   TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST);
			rc = ft_run_worker(&e, "w1", NULL, &err);
			TL_CHECK_MSG(rc == TL_ERR_DB, "%s: rc %d: %s", extra, rc, err.message);
			/* a rerun (the failed item made claimable again) finishes */
			tl_fake_clear_faults(e.dst);
			TL_CHECK_OK(ft_run_worker(&e, "w1", NULL, &err), &err);
			check_same(&e, extra);
			ft_teardown(&e);
		}
	}
}

/*
 * [router] and ignore_cols in a fleet (#13): the workers read the projected source table
 * and make every target call (the check before a cut, the writes, the deletes before a
 * takeover's rewrite, the count at the finish) with the routed one, as a run does. Whole
 * tables and chunks; with transient failures of the target's writes and checks too (the
 * item given back, taken on from its last record). Nothing lands under the source's name.
 */
TL_TEST(routed_tables_in_a_fleet)
{
	static const char *const modes[] = {
		"[extractor]\nparallel_type=chunk\nparallel_size=2\n[resumer]\nchunk_rows=6\nlease_secs=5\n",
		"[extractor]\nparallel_type=table\nparallel_size=2\n[resumer]\nlease_secs=5\n",
	};
	size_t m;
	int faults;

	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
		for (faults = 0; faults < 2; faults++) {
			ft_env e;
			tl_store *s;
			struct items c;
			tl_store_hit hit;
			tl_error err = TL_ERROR_INIT;
			char extra[600], why[512];

			snprintf(extra, sizeof(extra), "%s%s", modes[m], FT_ROUTE);
			TL_CHECK(ft_setup_routed(&e, 60, extra) == 0);
			if (faults) {
				tl_fake_fail_flags(e.dst, TL_SLOT_WRITE_BATCH, NULL, 4, TL_ERR_DB, 0,
						   TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST);
				tl_fake_fail_flags(e.dst, TL_SLOT_CHECK_TARGET, NULL, 1, TL_ERR_DB, 0,
						   TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST);
			}
			run_workers(&e, 3);
			TL_CHECK_MSG(ft_routed_same(&e, 60, why, sizeof(why)), "%s faults %d: %s", modes[m], faults, why);
			TL_CHECK_EQ_INT(tl_fake_count(e.dst, "s", "r"), -1); /* nothing under the source's name */
			TL_CHECK_MSG(tl_fake_calls(e.dst, TL_SLOT_CHECK_TARGET) >= 1, "%s: no target check", modes[m]);
			if (!faults) /* every row read once */
				TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), 60);
			s = open_store(&e);
			memset(&c, 0, sizeof(c));
			TL_CHECK_OK(tl_store_foreach_item(s, TASK, NULL, count_item, &c, &err), &err);
			TL_CHECK_EQ_INT(c.tables, 1);
			TL_CHECK_EQ_INT(c.done, c.tables + c.chunks);
			if (strstr(modes[m], "chunk"))
				TL_CHECK_MSG(c.chunks >= 10, "%s: %d chunks", modes[m], c.chunks);
			if (faults)
				TL_CHECK_MSG(c.claimed_more_than_once >= 1, "%s: no item was given back", modes[m]);
			/* the records keep the source's names */
			memset(&hit, 0, sizeof(hit));
			TL_CHECK_OK(tl_store_lookup(s, TASK, "s", "r", 0, &hit, &err), &err);
			TL_CHECK_MSG(hit.state == TL_RESUME_FINISHED, "%s: s.r not finished", modes[m]);
			tl_store_hit_clear(&hit);
			tl_store_close(s);
			ft_teardown(&e);
		}
}

TL_TEST(a_whole_database_by_three_workers_applies_each_step_once)
{
	static const char *const modes[] = {
		/* a split table the task creates is copied whole (an upsert into it would fail) */
		"[extractor]\nparallel_type=chunk\nparallel_size=2\nbatch_size=7\n[resumer]\nchunk_rows=15\nlease_secs=5\n",
		"[extractor]\nparallel_type=table\nparallel_size=2\nbatch_size=7\n[resumer]\nlease_secs=5\n",
	};
	size_t m, i;

	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		ft_env e;
		tl_store *s;
		struct items c;
		tl_error err = TL_ERROR_INIT;
		char obj[128];

		TL_CHECK(ft_empty_target(&e, ROWS, modes[m]) == 0);
		run_workers(&e, 3);
		check_same(&e, modes[m]);
		/* 5 tables: table, index, view, value each; 4 keys (nokey has none): 24 steps, each applied once */
		TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_SCHEMA_APPLY), 24);
		TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), source_rows(&e));
		for (i = 0; ft_tables[i]; i++) {
			TL_CHECK_MSG(tl_fake_keyed(e.dst, "s", ft_tables[i]) == 1, "%s: %s has no key", modes[m], ft_tables[i]);
			snprintf(obj, sizeof(obj), "view s.%s_view", ft_tables[i]);
			TL_CHECK_MSG(tl_fake_has_object(e.dst, obj), "%s: no %s", modes[m], obj);
		}
		TL_CHECK(tl_fake_has_object(e.dst, "value s.keyed_seq=200"));
		s = open_store(&e);
		memset(&c, 0, sizeof(c));
		TL_CHECK_OK(tl_store_foreach_item(s, TASK, NULL, count_item, &c, &err), &err);
		TL_CHECK_EQ_INT(c.steps, 24);
		TL_CHECK_EQ_INT(c.chunks, 0);
		TL_CHECK_EQ_INT(c.done, c.tables + c.steps);
		TL_CHECK_MSG(c.claimed_more_than_once == 0, "%s: %s", modes[m], c.first_twice);
		tl_store_close(s);
		/* a worker started after the end: nothing applied, nothing read */
		tl_fake_reset_calls(e.dst);
		tl_fake_reset_calls(e.src);
		run_workers(&e, 1);
		TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_SCHEMA_APPLY), 0);
		TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), 0);
		ft_teardown(&e);
	}
}

TL_TEST(definitions_only_by_two_workers)
{
	ft_env e;

	/* extract_type=struct: every phase, no row; each step applied once */
	TL_CHECK(ft_empty_target(&e, ROWS, "[extractor]\nextract_type=struct\nparallel_size=2\n[resumer]\nlease_secs=5\n") == 0);
	run_workers(&e, 2);
	TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_SCHEMA_APPLY), 24);
	TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), 0);
	TL_CHECK_EQ_INT(tl_fake_keyed(e.dst, "s", "comp"), 1);
	TL_CHECK(tl_fake_has_object(e.dst, "index s.comp_v"));
	TL_CHECK(tl_fake_has_object(e.dst, "view s.tkey_view"));
	ft_teardown(&e);
}
