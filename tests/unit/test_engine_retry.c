/*
 * test_engine_retry.c - the retries of issue #15 (src/migrate/retry.c) against the
 * in-memory fake driver (tests/fakes/): a transient failure (what a driver classifies as a
 * lost connection) of every slot the engine calls, at several calls, once or several times
 * in a row, before or after the work (a commit whose outcome is unknown), in batch, chunk
 * and parallel-table mode, fresh and resumed: the run finishes in the same process and the
 * target is row-exact (the fake refuses a row re-sent where the engine claimed an empty
 * target, so a retry that skipped the cleanup is caught). A non-transient failure fails at
 * once; a claim that outlives a lost connection is waited for; a budget that runs out
 * ends with a message naming the limits (its last committed key recorded durably, as at
 * any failure exit), and a rerun resumes there; a stalled batch is given
 * up by the per-batch deadline; and tl_retry_wait's rules on their own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fakes/fake_task.h"
#include "tl_test.h"

#define ROWS 60
#define TRANSIENT (TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST)

static int setup(ft_env *e, int rows, const char *extra)
{
	if (ft_setup(e) || ft_standard_tables(e, rows) || !ft_task(e, extra))
		return -1;
	return 0;
}

static void check_same(ft_env *e, const char *what)
{
	char why[512];

	TL_CHECK_MSG(ft_all_same(e, why, sizeof(why)), "%s: %s", what, why);
}

/* The slots a run calls on the source and on the target. */
static const enum tl_slot src_slots[] = {
	TL_SLOT_CONNECT,    TL_SLOT_LIST_TABLES, TL_SLOT_DESCRIBE_MANY, TL_SLOT_DESCRIBE, TL_SLOT_COUNT_ROWS,
	TL_SLOT_OPEN_READER, TL_SLOT_READ_BATCH, TL_SLOT_ROW_KEY,      TL_SLOT_NEXT_BOUND,
};
static const enum tl_slot dst_slots[] = {
	TL_SLOT_CONNECT,    TL_SLOT_CHECK_TARGET, TL_SLOT_WRITE_BATCH,   TL_SLOT_DELETE_AFTER,
	TL_SLOT_COUNT_ROWS, TL_SLOT_KEY_EXISTS,   TL_SLOT_CLAIM,         TL_SLOT_FLUSH_COMMITS,
};

/*
 * `times` transient failures of `slot` from call `nth` on (each retry calls it again, so
 * they are the failures of `times` consecutive attempts) during one run, on the source or
 * the target; with `after` the work is done first (a write committed whose success was
 * lost: TL_ERRF_COMMIT_UNKNOWN). With `interrupted`, an earlier run was cut short first
 * (its 2nd write of s.nokey reported failed after committing), so the retried run is a
 * resume. The run must finish by itself, row-exact. Returns whether the fault fired.
 */
static int transient_in_run(const char *extra, int interrupted, int on_target, enum tl_slot slot, long nth, int times,
			    int after)
{
	ft_env e;
	tl_fake_db *db;
	tl_error err = TL_ERROR_INIT;
	char what[256];
	long calls;
	int k, rc;

	snprintf(what, sizeof(what), "%s%s %s call %ld x%d%s [%s]", interrupted ? "resumed run, " : "",
		 on_target ? "target" : "source", tl_slot_name(slot), nth, times, after ? " (after the work)" : "",
		 extra ? extra : "batch mode");
	if (setup(&e, ROWS, extra) != 0) {
		TL_CHECK_MSG(0, "%s: setup", what);
		return 0;
	}
	if (interrupted) {
		tl_fake_fail_table(e.dst, TL_SLOT_WRITE_BATCH, "nokey", 2, TL_ERR_DB, 1);
		TL_CHECK_MSG(ft_run(&e, NULL, &err) == TL_ERR_DB, "%s: the interrupting run: %s", what, err.message);
		tl_fake_reset_calls(e.dst);
		tl_fake_reset_calls(e.src);
	}
	db = on_target ? e.dst : e.src;
	for (k = 0; k < times; k++)
		tl_fake_fail_flags(db, slot, NULL, nth + k, TL_ERR_DB, after,
				   TRANSIENT | (after && slot == TL_SLOT_WRITE_BATCH ? TL_ERRF_COMMIT_UNKNOWN : 0));
	rc = ft_run(&e, NULL, &err);
	TL_CHECK_MSG(rc == 0, "%s: the run did not survive: %s", what, err.message);
	calls = tl_fake_calls(db, slot);
	/* it fired: each failure was followed by the same call again (a retry, not a skip);
	 * flush_commits tries a fresh connection itself after a lost one (copy.c) */
	if (calls >= nth && slot != TL_SLOT_FLUSH_COMMITS)
		TL_CHECK_MSG(calls >= nth + times, "%s: %ld calls", what, calls);
	if (rc == 0)
		check_same(&e, what);
	/* nothing left to do for a rerun */
	tl_fake_clear_faults(db);
	tl_fake_reset_calls(e.src);
	rc = ft_run(&e, NULL, &err);
	TL_CHECK_MSG(rc == 0 && tl_fake_rows_read(e.src) == 0, "%s: the rerun (%s) read %ld rows", what,
		     rc ? err.message : "ok", tl_fake_rows_read(e.src));
	ft_teardown(&e);
	return calls >= nth;
}

/* Every slot fails transiently at calls 1, 5 and 9, once and three times in a row, in a fresh
 * run and in a resumed one; the first call of every slot the run makes is reached. With
 * tables in parallel the interrupting run may finish every keyed table before its failure
 * of nokey stops it (the threads' timing decides), and a resumed run then has no key to
 * record: row_key is required only in the fresh runs there. */
static void transient_matrix(const char *extra, int split, int parallel_tables)
{
	size_t i;
	long nth;
	int resumed, times;

	for (resumed = 0; resumed <= 1; resumed++)
		for (times = 1; times <= 3; times += 2) {
			for (i = 0; i < sizeof(src_slots) / sizeof(src_slots[0]); i++)
				for (nth = 1; nth <= 9; nth += 4) {
					int fired = transient_in_run(extra, resumed, 0, src_slots[i], nth, times, 0);
					/* split tables are read in ranges, without row_key; describe is only
					 * called by a retry (the plan describes with describe_many) */
					if (nth == 1 && !(split && src_slots[i] == TL_SLOT_ROW_KEY) &&
					    src_slots[i] != TL_SLOT_DESCRIBE && !(!split && src_slots[i] == TL_SLOT_NEXT_BOUND) &&
					    !(resumed && parallel_tables && src_slots[i] == TL_SLOT_ROW_KEY))
						TL_CHECK_MSG(fired, "source %s was never called (%s)", tl_slot_name(src_slots[i]),
							     extra ? extra : "batch mode");
				}
			for (i = 0; i < sizeof(dst_slots) / sizeof(dst_slots[0]); i++)
				for (nth = 1; nth <= 9; nth += 4) {
					int fired = transient_in_run(extra, resumed, 1, dst_slots[i], nth, times, 0);
					/* flush_commits: only where a position follows batches written
					 * without TL_WRITE_DURABLE (chunk mode, a failure's last batch);
					 * key_exists: only where a resumed table has a checkpoint (the
					 * interrupting run may have finished every keyed table) */
					if (nth == 1 && resumed && dst_slots[i] != TL_SLOT_COUNT_ROWS &&
					    dst_slots[i] != TL_SLOT_FLUSH_COMMITS && dst_slots[i] != TL_SLOT_KEY_EXISTS)
						TL_CHECK_MSG(fired, "target %s was never called (%s)", tl_slot_name(dst_slots[i]),
							     extra ? extra : "batch mode");
					/* the work done but reported as failed: a commit whose outcome was lost */
					if (dst_slots[i] == TL_SLOT_WRITE_BATCH || dst_slots[i] == TL_SLOT_DELETE_AFTER)
						transient_in_run(extra, resumed, 1, dst_slots[i], nth, times, 1);
				}
		}
}

TL_TEST(transient_failure_of_every_slot_survived_row_exact)
{
	transient_matrix(NULL, 0, 0);
}

TL_TEST(transient_failure_of_every_slot_in_chunk_mode)
{
	transient_matrix("[extractor]\nparallel_type=chunk\nparallel_size=3\n", 1, 0);
}

TL_TEST(transient_failure_of_every_slot_tables_in_parallel)
{
	transient_matrix("[extractor]\nparallel_size=3\n[runtime]\nposition_format=order_key\n", 0, 1);
}

/* A commit whose outcome is unknown, at every write of every table: the rows of that batch
 * are treated as possibly applied (upserted again, or removed past the checkpoint first). */
TL_TEST(commit_unknown_at_every_write)
{
	static const char *const modes[] = {NULL, "[extractor]\nparallel_type=chunk\nparallel_size=2\n",
					    "[pipeline]\ncheckpoint_interval_secs=3600\n"};
	size_t m, t;
	long nth;

	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
		for (t = 0; ft_tables[t]; t++)
			for (nth = 1; nth <= 8; nth++) {
				ft_env e;
				tl_error err = TL_ERROR_INIT;
				char what[200];

				snprintf(what, sizeof(what), "write %ld of %s [%s]", nth, ft_tables[t], modes[m] ? modes[m] : "batch");
				TL_CHECK(setup(&e, ROWS, modes[m]) == 0);
				tl_fake_fail_flags(e.dst, TL_SLOT_WRITE_BATCH, ft_tables[t], nth, TL_ERR_DB, 1,
						   TRANSIENT | TL_ERRF_COMMIT_UNKNOWN);
				TL_CHECK_MSG(ft_run(&e, NULL, &err) == 0, "%s: %s", what, err.message);
				check_same(&e, what);
				ft_teardown(&e);
			}
}

/* Syntax, permissions, constraints, a type that does not fit: no retry, the run fails at once. */
TL_TEST(non_transient_failure_fails_at_once)
{
	static const int codes[] = {TL_ERR_DB, TL_ERR_MISMATCH, TL_ERR_NOTFOUND, TL_ERR_IO};
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		ft_env e;
		tl_error err = TL_ERROR_INIT;
		long connects;

		TL_CHECK(setup(&e, ROWS, NULL) == 0);
		tl_fake_fail_at(e.dst, TL_SLOT_WRITE_BATCH, 3, codes[i], 0);
		TL_CHECK_EQ_INT(ft_run(&e, NULL, &err), codes[i]);
		TL_CHECK_MSG(strstr(err.message, "injected failure of write_batch call 3") != NULL, "%s", err.message);
		TL_CHECK_MSG(strstr(err.message, "retry") == NULL, "%s", err.message);
		/* the plan's connection and the worker's: none for a retry */
		connects = tl_fake_calls(e.dst, TL_SLOT_CONNECT);
		TL_CHECK_MSG(connects == 2, "%ld target connects", connects);
		tl_fake_clear_faults(e.dst);
		TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
		check_same(&e, "rerun");
		ft_teardown(&e);
	}
}

/* retry_max_attempts=0: a transient failure fails the run as before. */
TL_TEST(retries_off)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK(setup(&e, ROWS, "[pipeline]\nretry_max_attempts=0\n") == 0);
	tl_fake_fail_flags(e.src, TL_SLOT_READ_BATCH, NULL, 4, TL_ERR_DB, 0, TRANSIENT);
	TL_CHECK_EQ_INT(ft_run(&e, NULL, &err), TL_ERR_DB);
	TL_CHECK(tl_error_is_transient(&err));
	TL_CHECK_MSG(strstr(err.message, "gave up") == NULL, "%s", err.message);
	tl_fake_clear_faults(e.src);
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	check_same(&e, "rerun");
	ft_teardown(&e);
}

/* An outage longer than the budget: a clear message naming the limits, and a rerun finishes. */
TL_TEST(budget_exhausted_then_rerun)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	long k;

	/* attempts: the failure and 3 retries, then the message */
	TL_CHECK(setup(&e, ROWS, "[pipeline]\nretry_max_attempts=3\n") == 0);
	for (k = 0; k < 20; k++)
		tl_fake_fail_flags(e.dst, TL_SLOT_WRITE_BATCH, NULL, 3 + k, TL_ERR_DB, 0, TRANSIENT);
	TL_CHECK_EQ_INT(ft_run(&e, NULL, &err), TL_ERR_DB);
	TL_CHECK_MSG(strstr(err.message, "gave up after 4 attempts") && strstr(err.message, "retry_max_attempts=3") &&
			     strstr(err.message, "run the task again to resume") &&
			     strstr(err.message, "injected failure of write_batch"),
		     "%s", err.message);
	TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_WRITE_BATCH), 6); /* 2 good, then 4 failed attempts */
	tl_fake_clear_faults(e.dst);
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	check_same(&e, "rerun after the attempts ran out");
	ft_teardown(&e);

	/* time: failures for longer than retry_max_secs=1 (waits of milliseconds here) */
	TL_CHECK(setup(&e, ROWS, "[pipeline]\nretry_max_attempts=1000000\nretry_max_secs=1\n") == 0);
	for (k = 0; k < 60; k++)
		tl_fake_fail_flags(e.src, TL_SLOT_OPEN_READER, NULL, 2 + k, TL_ERR_DB, 0, TRANSIENT);
	TL_CHECK_EQ_INT(ft_run(&e, NULL, &err), TL_ERR_DB);
	TL_CHECK_MSG(strstr(err.message, "gave up after") && strstr(err.message, "retry_max_secs=1"), "%s", err.message);
	tl_fake_clear_faults(e.src);
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	check_same(&e, "rerun after the time ran out");
	ft_teardown(&e);
}

/*
 * A claim on the target table that outlives the connection the retry gave up (its server
 * has not noticed yet): refused once or twice after the failure, it is waited for within
 * the budget, and the run finishes. Refused at a table's first claim, it fails at once.
 */
TL_TEST(claim_of_a_lost_connection_waited_for)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	int k;

	for (k = 1; k <= 2; k++) {
		TL_CHECK(setup(&e, ROWS, NULL) == 0);
		tl_fake_fail_flags(e.dst, TL_SLOT_WRITE_BATCH, "nokey", 2, TL_ERR_DB, 0, TRANSIENT);
		tl_fake_fail_flags(e.dst, TL_SLOT_CLAIM, "nokey", 2, TL_ERR_LOCKED, 0, 0);
		if (k == 2)
			tl_fake_fail_flags(e.dst, TL_SLOT_CLAIM, "nokey", 3, TL_ERR_LOCKED, 0, 0);
		TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
		TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_CLAIM) >= 5 + k, 1); /* 5 tables, k refusals */
		check_same(&e, "claim refused after a lost connection");
		ft_teardown(&e);
	}
	TL_CHECK(setup(&e, ROWS, NULL) == 0);
	tl_fake_fail_flags(e.dst, TL_SLOT_CLAIM, "nokey", 1, TL_ERR_LOCKED, 0, 0);
	TL_CHECK_EQ_INT(ft_run(&e, NULL, &err), TL_ERR_LOCKED);
	TL_CHECK_MSG(strstr(err.message, "retry") == NULL && strstr(err.message, "gave up") == NULL, "%s", err.message);
	ft_teardown(&e);
}

/*
 * A spent budget is a failure exit like any other (#19): the last committed key is made
 * durable and recorded, also when no checkpoint was due, and the rerun resumes there.
 */
TL_TEST(budget_exhausted_records_the_last_committed_key)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	char why[512];
	long k;

	TL_CHECK(setup(&e, ROWS,
		       "[filter]\ndo_dbs=none\ndo_tbs=s.keyed\n"
		       "[pipeline]\ncheckpoint_interval_secs=3600\nretry_max_attempts=2\n") == 0);
	tl_fake_set_async(e.dst, 1);
	for (k = 0; k < 10; k++) /* four batches of 7 committed, then every write fails */
		tl_fake_fail_flags(e.dst, TL_SLOT_WRITE_BATCH, NULL, 5 + k, TL_ERR_DB, 0, TRANSIENT);
	TL_CHECK_EQ_INT(ft_run(&e, NULL, &err), TL_ERR_DB);
	TL_CHECK_MSG(strstr(err.message, "gave up after 3 attempts") != NULL, "%s", err.message);
	TL_CHECK(tl_fake_calls(e.dst, TL_SLOT_FLUSH_COMMITS) >= 1);
	tl_fake_crash(e.dst); /* what was not made durable is gone */
	TL_CHECK_EQ_INT(tl_fake_count(e.dst, "s", "keyed"), 28);
	tl_fake_clear_faults(e.dst);
	tl_fake_reset_calls(e.src);
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), ROWS - 28); /* resumed after the recorded key */
	TL_CHECK_MSG(tl_fake_same_rows(e.src, e.dst, "s", "keyed", why, sizeof(why)), "rerun: %s", why);
	ft_teardown(&e);
}

/* A batch that never answers: the deadline gives the connection up, the retry copies on. */
TL_TEST(stalled_batch_given_up_by_the_deadline)
{
	static const struct {
		int on_target;
		enum tl_slot slot;
	} stalls[] = {{1, TL_SLOT_WRITE_BATCH}, {0, TL_SLOT_READ_BATCH}, {0, TL_SLOT_OPEN_READER}};
	size_t i;

	for (i = 0; i < sizeof(stalls) / sizeof(stalls[0]); i++) {
		ft_env e;
		tl_fake_db *db;
		tl_error err = TL_ERROR_INIT;
		double t0;

		TL_CHECK(setup(&e, ROWS, "[pipeline]\nbatch_timeout_secs=1\n") == 0);
		db = stalls[i].on_target ? e.dst : e.src;
		tl_fake_stall_at(db, stalls[i].slot, 4);
		t0 = tl_migrate__now();
		TL_CHECK_MSG(ft_run(&e, NULL, &err) == 0, "stalled %s: %s", tl_slot_name(stalls[i].slot), err.message);
		TL_CHECK_MSG(tl_fake_interrupts(db) == 1, "stalled %s: %ld interrupts", tl_slot_name(stalls[i].slot),
			     tl_fake_interrupts(db));
		/* about the deadline, far from the fake's own 60 s */
		TL_CHECK_MSG(tl_migrate__now() - t0 < 20, "stalled %s: the run took %.1f s", tl_slot_name(stalls[i].slot),
			     tl_migrate__now() - t0);
		check_same(&e, tl_slot_name(stalls[i].slot));
		ft_teardown(&e);
	}
}

/* tl_retry_wait on its own: what is retried, counted, given up. */
TL_TEST(retry_wait_rules)
{
	tl_retry_limits lim = {3, 100, 0.001, 0.004};
	tl_retry *r = NULL;
	tl_error err = TL_ERROR_INIT;
	volatile sig_atomic_t stop = 0;
	unsigned attempt = 0;
	double t0 = tl_migrate__now();
	char last[300];

	TL_CHECK_OK(tl_retry_new(&r, &lim, NULL, &err), &err);
	/* not transient: given back as it is */
	tl_error_set(&err, TL_ERR_DB, "syntax error");
	TL_CHECK_EQ_INT(tl_retry_wait(r, &stop, NULL, &attempt, t0, "table s.t", TL_ERR_DB, &err), TL_ERR_DB);
	TL_CHECK_EQ_STR(err.message, "syntax error");
	TL_CHECK_EQ_INT(attempt, 0);
	/* transient: three retries, counted, the last cause kept */
	tl_error_set(&err, TL_ERR_DB, "table s.t: connection lost");
	tl_error_add_flags(&err, TRANSIENT);
	TL_CHECK_EQ_INT(tl_retry_wait(r, &stop, NULL, &attempt, t0, "table s.t", TL_ERR_DB, &err), 0);
	TL_CHECK_EQ_INT(tl_retry_wait(r, &stop, NULL, &attempt, t0, "table s.t", TL_ERR_DB, &err), 0);
	TL_CHECK_EQ_INT(tl_retry_wait(r, &stop, NULL, &attempt, t0, "table s.t", TL_ERR_DB, &err), 0);
	TL_CHECK_EQ_INT(attempt, 3);
	TL_CHECK_EQ_INT(tl_retry_count(r, last, sizeof(last)), 3);
	TL_CHECK_EQ_STR(last, "table s.t, retry 3/3: connection lost");
	/* the fourth: the budget is spent */
	TL_CHECK_EQ_INT(tl_retry_wait(r, &stop, NULL, &attempt, t0, "table s.t", TL_ERR_DB, &err), TL_ERR_DB);
	TL_CHECK_MSG(strstr(err.message, "table s.t: gave up after 4 attempts in 0 s") &&
			     strstr(err.message, "retry_max_attempts=3") && strstr(err.message, "connection lost"),
		     "%s", err.message);
	TL_CHECK(tl_error_is_transient(&err)); /* the flags survive the prefix */
	/* a stop: no retry */
	attempt = 0;
	stop = 1;
	TL_CHECK_EQ_INT(tl_retry_wait(r, &stop, NULL, &attempt, t0, "table s.t", TL_ERR_DB, &err), TL_ERR_DB);
	TL_CHECK_EQ_INT(attempt, 0);
	/* no retry object: none */
	stop = 0;
	TL_CHECK_EQ_INT(tl_retry_wait(NULL, &stop, NULL, &attempt, t0, "table s.t", TL_ERR_DB, &err), TL_ERR_DB);
	tl_retry_free(r);
}

/* ---- the summary counts a re-sent row once ---------------------------------------------- */

/* The number after `key` on the first line of `text` holding `key` (-1 when none). */
static long long number_after(const char *text, const char *key)
{
	const char *p = text ? strstr(text, key) : NULL;

	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/*
 * A transient failure of `slot` at its `nth` call on table `tb` of the target: the run
 * survives it (1 retry); in default.log the table's summary line and the total count each
 * row once (as the store does: the source's count), and the rows the retry sent again are
 * named: as many as the target's writes applied beyond the source's rows.
 */
static void summary_after_retry(const char *extra, enum tl_slot slot, const char *tb, long nth, int want_resent)
{
	ft_env e;
	tl_migrate_opts opts;
	tl_logger *lg = NULL;
	tl_error err = TL_ERROR_INIT;
	char path[4200], key[64], *text = NULL;
	long long src_rows = 0, tb_rows, resent;
	long k;
	FILE *f;

	TL_CHECK(setup(&e, ROWS, extra) == 0);
	tl_fake_fail_flags(e.dst, slot, tb, nth, TL_ERR_DB, 0, TRANSIENT);
	TL_CHECK_OK(tl_logger_new(&lg, TL_LOG_INFO, TL_LOG_OFF, &err), &err);
	memset(&opts, 0, sizeof(opts));
	opts.log = lg;
	opts.retry_base_secs = 0.002;
	TL_CHECK_OK(ft_run_opts(&e, &opts, &err), &err);
	tl_logger_free(lg);
	check_same(&e, "summary after a retry");
	for (k = 0; ft_tables[k]; k++)
		src_rows += tl_fake_count(e.src, "s", ft_tables[k]);
	resent = (long long)tl_fake_rows_written(e.dst) - src_rows;
	TL_CHECK_MSG(want_resent ? resent > 0 : resent == 0, "rows written twice: %lld", resent);

	snprintf(path, sizeof(path), "%s/logs/default.log", e.dir);
	if ((f = fopen(path, "r")) != NULL) {
		long n;
		if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
		    (text = calloc(1, (size_t)n + 1)) != NULL && fread(text, 1, (size_t)n, f) != (size_t)n) {
			free(text);
			text = NULL;
		}
		fclose(f);
	}
	TL_CHECK_MSG(text != NULL, "cannot read %s", path);
	snprintf(key, sizeof(key), "  s.%s: ", tb);
	tb_rows = number_after(text, key);
	TL_CHECK_MSG(tb_rows == tl_fake_count(e.src, "s", tb), "s.%s: %lld rows in the summary, %lld in the source", tb,
		     tb_rows, (long long)tl_fake_count(e.src, "s", tb));
	TL_CHECK_MSG(number_after(text, "total: ") == src_rows, "total: %lld rows in the summary, %lld in the source",
		     number_after(text, "total: "), src_rows);
	if (resent > 0) {
		char line[128];
		snprintf(line, sizeof(line), ", 1 retry, %lld rows sent again", resent);
		TL_CHECK_MSG(text && strstr(text, line), "no '%s' in the summary", line);
		snprintf(line, sizeof(line), "rows/s), %lld rows sent again", resent);
		TL_CHECK_MSG(text && strstr(text, line), "no '%s' in the total", line);
	} else {
		TL_CHECK_MSG(text && strstr(text, ", 1 retry") && !strstr(text, "sent again"), "%s", "the summary");
	}
	free(text);
	ft_teardown(&e);
}

TL_TEST(summary_counts_resent_rows_once)
{
	/* a table without a key: the rows written past its last recorded position are re-sent */
	summary_after_retry(NULL, TL_SLOT_WRITE_BATCH, "nokey", 4, 1);
	/* a keyed table: the retry goes on after its last committed key, nothing is re-sent */
	summary_after_retry(NULL, TL_SLOT_WRITE_BATCH, "keyed", 4, 0);
}
