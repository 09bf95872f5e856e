/*
 * test_engine_copy.c - the copy engine (src/migrate: run, copy, recorder) against the
 * in-memory fake driver (tests/fakes/): every kind of table (one-column key, composite
 * key, nullable unique key with its NULL pass, keyless, text key) copied row-exactly in
 * batch, split and scan mode, in parallel, in chunk mode with parallel workers; and a
 * failure of every driver slot at several calls, each followed by a rerun that must leave
 * the target row-exact (nothing lost, nothing twice), with faults before and after the
 * work (a write committed whose success was never reported). Also the wrapper-level
 * fault injection (TL_DEBUG_FAIL, fault.h) against the same drivers, [sinker] batch_size
 * and [filter] where_conditions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fakes/fake_task.h"
#include "tl_test.h"

#define ROWS 60

/* Fresh servers with the standard tables and the task with extra INI lines. */
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

TL_TEST(copy_every_kind_of_table_row_exact)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK(setup(&e, ROWS, NULL) == 0);
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	check_same(&e, "first run");
	/* every row read once: the keyed pages, then the NULL pass of s.nuk */
	TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), 5 * ROWS + ROWS / 8 + 1);
	/* a second run skips every table (finished) and changes nothing */
	tl_fake_reset_calls(e.src);
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), 0);
	TL_CHECK_EQ_INT(tl_fake_calls(e.src, TL_SLOT_OPEN_READER), 0);
	check_same(&e, "second run");
	ft_teardown(&e);
}

TL_TEST(copy_split_and_parallel_modes)
{
	static const char *const modes[] = {
		"[extractor]\nparallel_type=chunk\nparallel_size=1\n",
		"[extractor]\nparallel_type=chunk\nparallel_size=3\n",
		"[extractor]\nparallel_type=table\nparallel_size=3\n",
		"[extractor]\nparallel_type=chunk\nparallel_size=4\nbatch_size=3\n",
	};
	size_t m;

	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		ft_env e;
		tl_error err = TL_ERROR_INIT;

		TL_CHECK(setup(&e, 200, modes[m]) == 0);
		TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
		check_same(&e, modes[m]);
		/* chunk mode cuts ranges with next_bound */
		if (strstr(modes[m], "chunk"))
			TL_CHECK_MSG(tl_fake_calls(e.src, TL_SLOT_NEXT_BOUND) > 10, "%s: %ld next_bound calls", modes[m],
				     tl_fake_calls(e.src, TL_SLOT_NEXT_BOUND));
		ft_teardown(&e);
	}
}

/* The slots a run calls on the source and on the target. */
static const enum tl_slot src_slots[] = {
	TL_SLOT_CONNECT,    TL_SLOT_LIST_TABLES, TL_SLOT_DESCRIBE_MANY, TL_SLOT_COUNT_ROWS,
	TL_SLOT_OPEN_READER, TL_SLOT_READ_BATCH, TL_SLOT_ROW_KEY,      TL_SLOT_NEXT_BOUND,
};
static const enum tl_slot dst_slots[] = {
	TL_SLOT_CONNECT, TL_SLOT_CHECK_TARGET, TL_SLOT_WRITE_BATCH, TL_SLOT_DELETE_AFTER, TL_SLOT_COUNT_ROWS,
};

/*
 * Fails call `nth` of `slot` on one server during a run, then reruns without faults: the
 * target must end row-exact whatever the failed run did. With `interrupted`, an earlier
 * run was already cut short (its 2nd write of s.nokey reported failed after committing), so the
 * failing run is a resume: it deletes past checkpoints, counts targets, upserts. Returns
 * whether the faulty run failed (the slot was called at least nth times).
 */
static int fail_then_rerun(const char *extra, int interrupted, int on_target, enum tl_slot slot, long nth, int after)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	char what[256];
	int rc;

	snprintf(what, sizeof(what), "%s%s %s call %ld%s [%s]", interrupted ? "resumed run, " : "",
		 on_target ? "target" : "source", tl_slot_name(slot), nth, after ? " (after the work)" : "",
		 extra ? extra : "batch mode");
	if (setup(&e, ROWS, extra) != 0) {
		TL_CHECK_MSG(0, "%s: setup", what);
		return 0;
	}
	if (interrupted) {
		/* the keyless table is cut short: the resume deletes what its run wrote past the checkpoint */
		tl_fake_fail_table(e.dst, TL_SLOT_WRITE_BATCH, "nokey", 2, TL_ERR_DB, 1);
		TL_CHECK_MSG(ft_run(&e, NULL, &err) == TL_ERR_DB, "%s: the interrupting run: %s", what, err.message);
		tl_fake_reset_calls(e.dst);
		tl_fake_reset_calls(e.src);
	}
	tl_fake_fail_at(on_target ? e.dst : e.src, slot, nth, TL_ERR_DB, after);
	rc = ft_run(&e, NULL, &err);
	TL_CHECK_MSG(rc == 0 || rc == TL_ERR_DB, "%s: first run: %s", what, err.message);
	if (rc)
		TL_CHECK_MSG(strstr(err.message, "injected failure") != NULL, "%s: %s", what, err.message);
	tl_fake_clear_faults(on_target ? e.dst : e.src);
	TL_CHECK_MSG(ft_run(&e, NULL, &err) == 0, "%s: rerun: %s", what, err.message);
	check_same(&e, what);
	ft_teardown(&e);
	return rc != 0;
}

/* Every slot fails at calls 1, 5 and 9, in a fresh run and in a resumed one; the first call
 * of every slot is reached by the resumed run (each failure is real, not a no-op) - but for
 * row_key with tables in parallel: there the interrupting run may finish every keyed table
 * before its failure of nokey stops it (the threads' timing decides), leaving no key to
 * record (batch mode's resumed runs still must reach it). */
static void failure_matrix(const char *extra, int split, int parallel_tables)
{
	size_t i;
	long nth;
	int resumed;

	for (resumed = 0; resumed <= 1; resumed++) {
		for (i = 0; i < sizeof(src_slots) / sizeof(src_slots[0]); i++)
			for (nth = 1; nth <= 9; nth += 4) {
				int failed = fail_then_rerun(extra, resumed, 0, src_slots[i], nth, 0);
				/* split tables are read in ranges, without row_key */
				if (nth == 1 && resumed && !((split || parallel_tables) && src_slots[i] == TL_SLOT_ROW_KEY))
					TL_CHECK_MSG(failed, "source %s was never called (%s)", tl_slot_name(src_slots[i]),
						     extra ? extra : "batch mode");
			}
		for (i = 0; i < sizeof(dst_slots) / sizeof(dst_slots[0]); i++)
			for (nth = 1; nth <= 9; nth += 4) {
				int failed = fail_then_rerun(extra, resumed, 1, dst_slots[i], nth, 0);
				if (nth == 1 && resumed)
					TL_CHECK_MSG(failed, "target %s was never called (%s)", tl_slot_name(dst_slots[i]),
						     extra ? extra : "batch mode");
				/* the work done but reported as failed: a commit whose outcome was lost */
				if (dst_slots[i] == TL_SLOT_WRITE_BATCH || dst_slots[i] == TL_SLOT_DELETE_AFTER)
					fail_then_rerun(extra, resumed, 1, dst_slots[i], nth, 1);
			}
	}
}

TL_TEST(failure_of_every_slot_then_rerun_is_row_exact)
{
	/* a write fails: the run stops, the rerun resumes */
	TL_CHECK(fail_then_rerun(NULL, 0, 1, TL_SLOT_WRITE_BATCH, 3, 0));
	failure_matrix(NULL, 0, 0);
}

TL_TEST(failure_of_every_slot_in_chunk_mode)
{
	failure_matrix("[extractor]\nparallel_type=chunk\nparallel_size=3\n", 1, 0);
}

TL_TEST(failure_of_every_slot_tables_in_parallel)
{
	failure_matrix("[extractor]\nparallel_size=3\n[runtime]\nposition_format=order_key\n", 0, 1);
}

/* Two failed runs in a row, at different places, before the clean one. */
TL_TEST(failures_in_consecutive_runs)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	long a, b;

	for (a = 2; a <= 20; a += 6)
		for (b = 1; b <= 7; b += 3) {
			TL_CHECK(setup(&e, ROWS, NULL) == 0);
			tl_fake_fail_at(e.dst, TL_SLOT_WRITE_BATCH, a, TL_ERR_DB, 1);
			TL_CHECK(ft_run(&e, NULL, &err) != 0);
			tl_fake_clear_faults(e.dst);
			tl_fake_fail_at(e.src, TL_SLOT_READ_BATCH, b, TL_ERR_DB, 0);
			TL_CHECK(ft_run(&e, NULL, &err) != 0);
			tl_fake_clear_faults(e.src);
			TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
			check_same(&e, "two failed runs");
			ft_teardown(&e);
		}
}

/* TL_DEBUG_FAIL's fault plan fails the Nth call in the driver-call wrappers, whatever the driver
 * (retries off: a transient fault would be survived in the run, test_engine_retry.c). */
TL_TEST(wrapper_fault_injection_then_rerun)
{
	static const char *const specs[] = {"write_batch:3", "read_batch:4:io", "row_key:2:transient",
					    "write_batch:5:db:after", "check_target:2", "open_reader:6"};
	size_t i;

	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		ft_env e;
		tl_fault *f = NULL;
		tl_error err = TL_ERROR_INIT;

		TL_CHECK(setup(&e, ROWS, "[pipeline]\nretry_max_attempts=0\n") == 0);
		TL_CHECK_OK(tl_fault_new(&f, NULL, specs[i], &err), &err);
		TL_CHECK_MSG(ft_run(&e, f, &err) != 0, "%s did not fail the run", specs[i]);
		TL_CHECK_MSG(strstr(err.message, "injected") && strstr(err.message, "TL_DEBUG_FAIL"), "%s: %s", specs[i],
			     err.message);
		if (strstr(specs[i], "transient"))
			TL_CHECK_EQ_STR(err.sqlstate, "08006");
		if (strstr(specs[i], ":io"))
			TL_CHECK_EQ_INT(err.code, TL_ERR_IO);
		tl_fault_free(f);
		TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
		check_same(&e, specs[i]);
		ft_teardown(&e);
	}
}

/* [sinker] batch_size: rows per target write (transaction), as ape-dts writes them. */
TL_TEST(sinker_batch_size_splits_writes)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK(setup(&e, ROWS, "[extractor]\nbatch_size=10\n[filter]\ndo_tbs=s.keyed\ndo_dbs=none\n") == 0);
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_WRITE_BATCH), ROWS / 10);
	TL_CHECK(tl_fake_same_rows(e.src, e.dst, "s", "keyed", err.message, sizeof(err.message)));
	ft_teardown(&e);

	TL_CHECK(setup(&e, ROWS, "[extractor]\nbatch_size=10\n[sinker]\nbatch_size=3\n[filter]\ndo_tbs=s.keyed\ndo_dbs=none\n") ==
		 0);
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	/* each page of 10 rows is written as 3 + 3 + 3 + 1 */
	TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_WRITE_BATCH), (ROWS / 10) * 4);
	TL_CHECK(tl_fake_same_rows(e.src, e.dst, "s", "keyed", err.message, sizeof(err.message)));
	ft_teardown(&e);
}

/* A write failing between the parts of a split batch: the rerun still ends row-exact. */
TL_TEST(sinker_batch_size_failure_mid_batch)
{
	long nth;

	for (nth = 2; nth <= 8; nth += 3) {
		fail_then_rerun("[sinker]\nbatch_size=3\n", 0, 1, TL_SLOT_WRITE_BATCH, nth, 0);
		fail_then_rerun("[sinker]\nbatch_size=3\n", 1, 1, TL_SLOT_WRITE_BATCH, nth, 1);
	}
}

/* [filter] where_conditions reaches every read of its table, and only that table. */
TL_TEST(where_conditions_limit_reads)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK(setup(&e, ROWS,
		       "[filter]\nwhere_conditions=json:[{\"db\":\"s\",\"tb\":\"keyed\",\"condition\":\"id <= 10\"}]\n") == 0);
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	TL_CHECK_EQ_INT(tl_fake_count(e.dst, "s", "keyed"), 10);
	TL_CHECK_EQ_INT(tl_fake_count(e.dst, "s", "tkey"), ROWS);
	ft_teardown(&e);
}
