/*
 * test_engine_target.c - the engine's trust in the target (issues #18 and #19) against
 * the fake driver (tests/fakes/): the verdicts on a resumed table whose target lost rows
 * (all rows this task's: started over; rows of others: refused, then --recopy-lost; an
 * imported position: a warning; the statistics first, an exact count only when they show
 * fewer), the same verdict in `plan`; finished tables whose target lost rows copied again
 * with --recopy-lost; claims on target tables; and durability: with a target that
 * acknowledges commits before they are durable (the fake's asynchronous model), a
 * position is recorded only over durable commits, the last committed position is
 * recorded on a failure exit (batch and split mode), a crash of the target loses nothing
 * a position points at, and in chunk mode a stop right after a range's last batch counts
 * that range.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fakes/fake_task.h"
#include "tl_test.h"

#define ROWS 60

/* Fresh servers with the standard tables and a task over one of them. */
static int setup(ft_env *e, const char *tb, const char *extra)
{
	char ini[1024];

	if (ft_setup(e) || ft_standard_tables(e, ROWS))
		return -1;
	snprintf(ini, sizeof(ini), "[filter]\ndo_dbs=none\ndo_tbs=s.%s\n%s", tb, extra ? extra : "");
	return ft_task(e, ini) ? 0 : -1;
}

/* The contents of a file of the task's log dir ("" when missing; static buffer). */
static const char *log_file(ft_env *e, const char *name)
{
	static char buf[1 << 16];
	char path[4400];
	FILE *f;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/logs/%s", e->dir, name);
	buf[0] = '\0';
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

/* The value of the last position record of table tb in position.log ("" when none). */
static const char *last_pos(ft_env *e, const char *tb)
{
	static char val[64];
	char want[80];
	const char *p = log_file(e, "position.log"), *at = NULL, *q;

	snprintf(want, sizeof(want), "\"tb\":\"%s\"", tb);
	while ((q = strstr(p, want)) != NULL) {
		at = q;
		p = q + 1;
	}
	val[0] = '\0';
	/* the old form ("order_col":"id","value":"6") or order_key ({"single":["id","6"]}) */
	if (at && (q = strstr(at, "\"value\":\"")) != NULL)
		sscanf(q + 9, "%63[^\"]", val);
	else if (at && (q = strstr(at, "\"single\":[\"")) != NULL && (q = strchr(q + 11, ',')) != NULL)
		sscanf(q + 2, "%63[^\"]", val);
	return val;
}

/* A run with a logger (default.log in the log dir, as the CLI's), with or without --recopy-lost. */
static int run(ft_env *e, int recopy, tl_error *err)
{
	tl_migrate_opts opts;
	tl_logger *log = NULL;
	int rc;

	memset(&opts, 0, sizeof(opts));
	opts.recopy_lost = recopy;
	tl_error_clear(err);
	if ((rc = tl_logger_new(&log, TL_LOG_INFO, TL_LOG_OFF, err)))
		return rc;
	opts.log = log;
	rc = ft_run_opts(e, &opts, err);
	tl_logger_free(log);
	return rc;
}

/* The plan item of table tb (NULL when absent); the plan is the caller's. */
static tl_plan_item *plan_item(ft_env *e, const char *tb, tl_plan *p, tl_config **cfg)
{
	tl_error err = TL_ERROR_INIT;
	size_t i;

	if (ft_plan(e, p, cfg, &err) != 0) {
		tl_test_fail(__FILE__, __LINE__, "plan: %s", err.message);
		return NULL;
	}
	for (i = 0; i < p->n; i++)
		if (strcmp(p->items[i].tb, tb) == 0)
			return &p->items[i];
	return NULL;
}

static void check_same(ft_env *e, const char *tb, const char *what)
{
	char why[512];

	TL_CHECK_MSG(tl_fake_same_rows(e->src, e->dst, "s", tb, why, sizeof(why)), "%s: %s", what, why);
}

/* A first run that fails at its 4th batch (three batches of 7 rows committed). */
static void fail_at_fourth_batch(ft_env *e)
{
	tl_error err = TL_ERROR_INIT;

	tl_fake_fail_at(e->dst, TL_SLOT_WRITE_BATCH, 4, TL_ERR_DB, 0);
	TL_CHECK(run(e, 0, &err) == TL_ERR_DB);
	tl_fake_clear_faults(e->dst);
	TL_CHECK_EQ_STR(last_pos(e, "keyed"), "21");
}

TL_TEST(lost_rows_of_this_task_start_over)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	tl_plan p;
	tl_config *cfg = NULL;
	tl_plan_item *it;

	TL_CHECK(setup(&e, "keyed", NULL) == 0);
	fail_at_fourth_batch(&e);
	/* the target table dropped and made again: empty */
	tl_fake_truncate(e.dst, "s", "keyed");
	if ((it = plan_item(&e, "keyed", &p, &cfg)) != NULL) {
		TL_CHECK_EQ_INT(it->action, TL_ACT_RESUME);
		TL_CHECK(it->lost && !it->refuse);
		TL_CHECK_MSG(it->warning && strstr(it->warning, "the row with id = 21 is missing") &&
				     strstr(it->warning, "the target holds 0 rows where 21 were recorded as copied") &&
				     strstr(it->warning, "copied again from the beginning"),
			     "warning: %s", it->warning ? it->warning : "(none)");
	}
	ft_plan_free(&p, cfg);
	tl_fake_reset_calls(e.src);
	TL_CHECK_OK(run(&e, 0, &err), &err);
	check_same(&e, "keyed", "after starting over");
	TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), ROWS); /* from the beginning */
	TL_CHECK(strstr(log_file(&e, "default.log"), "table s.keyed: the target lost rows since the last checkpoint") != NULL);
	ft_teardown(&e);
}

TL_TEST(lost_rows_of_others_refuse_then_recopy)
{
	const char *foreign[2] = {"1000", "theirs"};
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	tl_plan p;
	tl_config *cfg = NULL;
	tl_plan_item *it;

	TL_CHECK(setup(&e, "keyed", NULL) == 0);
	TL_CHECK(tl_fake_insert(e.dst, "s", "keyed", foreign) == 0);
	fail_at_fourth_batch(&e);
	tl_fake_truncate(e.dst, "s", "keyed");
	TL_CHECK(tl_fake_insert(e.dst, "s", "keyed", foreign) == 0);
	if ((it = plan_item(&e, "keyed", &p, &cfg)) != NULL)
		TL_CHECK(it->lost && it->refuse && it->warning && strstr(it->warning, "--recopy-lost"));
	ft_plan_free(&p, cfg);
	TL_CHECK_EQ_INT(run(&e, 0, &err), TL_ERR_MISMATCH);
	TL_CHECK_MSG(strstr(err.message, "s.keyed: the target lost rows since the last checkpoint: the row with id = 21 is "
					 "missing, the target holds 1 rows where 21 were recorded as copied") != NULL,
		     "message: %s", err.message);
	TL_CHECK_EQ_INT(tl_fake_count(e.dst, "s", "keyed"), 1); /* nothing written */
	TL_CHECK_OK(run(&e, 1, &err), &err);
	TL_CHECK_EQ_INT(tl_fake_count(e.dst, "s", "keyed"), ROWS + 1); /* the foreign row kept */
	ft_teardown(&e);
}

TL_TEST(statistics_first_exact_count_when_they_show_fewer)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK(setup(&e, "keyed", NULL) == 0);
	fail_at_fourth_batch(&e);
	/* statistics showing enough rows: no exact count before resuming */
	tl_fake_set_estimate(e.dst, "s", "keyed", 21);
	tl_fake_reset_calls(e.dst);
	TL_CHECK_OK(run(&e, 0, &err), &err);
	TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_KEY_EXISTS), 2);     /* plan and the table's start */
	TL_CHECK(tl_fake_calls(e.dst, TL_SLOT_LIVE_ROWS_MANY) >= 2);
	TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_COUNT_ROWS), 1);      /* only the finish's count */
	check_same(&e, "keyed", "resumed");
	ft_teardown(&e);

	/* statistics lagging behind: the exact count decides (and finds every row) */
	TL_CHECK(setup(&e, "keyed", NULL) == 0);
	fail_at_fourth_batch(&e);
	tl_fake_set_estimate(e.dst, "s", "keyed", 3);
	tl_fake_reset_calls(e.src);
	tl_fake_reset_calls(e.dst);
	TL_CHECK_OK(run(&e, 0, &err), &err);
	TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_COUNT_ROWS), 3); /* plan, table start, finish */
	TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), ROWS - 21);        /* resumed, not started over */
	check_same(&e, "keyed", "resumed after an exact count");
	ft_teardown(&e);
}

TL_TEST(an_imported_position_is_taken_with_a_warning)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;

	/* ape-dts' word: rows up to id 30 are on the target; it is empty, no run of this task wrote it */
	char ini[600];

	TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, ROWS) == 0);
	snprintf(ini, sizeof(ini), "[filter]\ndo_dbs=none\ndo_tbs=s.keyed\n[resumer]\nconfig_file=%s\n",
		 ft_write(&e, "resume.config",
			  "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"keyed\","
			  "\"order_key\":{\"single\":[\"id\",\"30\"]}}\n"));
	TL_CHECK(ft_task(&e, ini) != NULL);
	TL_CHECK_OK(run(&e, 0, &err), &err);
	TL_CHECK_EQ_INT(tl_fake_count(e.dst, "s", "keyed"), ROWS - 30);
	TL_CHECK(strstr(log_file(&e, "default.log"), "the position was not written by a run of this task") != NULL);
	ft_teardown(&e);
}

TL_TEST(finished_tables_that_lost_rows_are_copied_again)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	tl_plan p;
	tl_config *cfg = NULL;
	tl_plan_item *it;

	TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, ROWS) == 0 && ft_task(&e, NULL) != NULL);
	TL_CHECK_OK(run(&e, 0, &err), &err);
	tl_fake_truncate(e.dst, "s", "keyed");
	tl_fake_truncate(e.dst, "s", "nokey");
	if ((it = plan_item(&e, "keyed", &p, &cfg)) != NULL)
		TL_CHECK(it->action == TL_ACT_SKIP && it->lost && it->warning &&
			 strstr(it->warning, "target lost rows since finished (had 60, now 0)"));
	ft_plan_free(&p, cfg);
	/* a plain run leaves them (with the warning) */
	TL_CHECK_OK(run(&e, 0, &err), &err);
	TL_CHECK_EQ_INT(tl_fake_count(e.dst, "s", "keyed"), 0);
	tl_fake_reset_calls(e.src);
	TL_CHECK_OK(run(&e, 1, &err), &err);
	{
		char why[512];
		TL_CHECK_MSG(ft_all_same(&e, why, sizeof(why)), "after --recopy-lost: %s", why);
	}
	/* exactly those two read again: keyed and the keyless table */
	TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), 2 * ROWS);
	/* and nothing of them comes back from the old logs on the next run */
	tl_fake_reset_calls(e.src);
	TL_CHECK_OK(run(&e, 0, &err), &err);
	TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), 0);
	ft_teardown(&e);
}

TL_TEST(a_claimed_target_table_is_refused_naming_the_holder)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	tl_endpoint ep = {.db_type = "fake", .app_name = "test"};
	tl_conn *other = NULL;
	tl_table *t = NULL;

	TL_CHECK(setup(&e, "keyed", NULL) == 0);
	ep.url = e.dst_url;
	TL_CHECK_OK(tl_fake_driver.connect(&ep, &other, &err), &err);
	TL_CHECK_OK(tl_fake_driver.describe(other, "s", "keyed", &t, &err), &err);
	TL_CHECK_OK(tl_fake_driver.claim(other, t, "tideline task 'first' (pid 7 on h)", &err), &err);
	TL_CHECK_EQ_INT(run(&e, 0, &err), TL_ERR_LOCKED);
	TL_CHECK_MSG(strstr(err.message, "s.keyed is being written by another task: 'tideline task 'first' (pid 7 on h)'"),
		     "message: %s", err.message);
	TL_CHECK_EQ_INT(tl_fake_count(e.dst, "s", "keyed"), 0);
	/* the holder's connection ends: the claim with it */
	tl_fake_driver.disconnect(other);
	other = NULL;
	TL_CHECK_OK(run(&e, 0, &err), &err);
	check_same(&e, "keyed", "after the holder left");
	TL_CHECK_EQ_INT(tl_fake_claimed(e.dst, "s", "keyed"), 0); /* released at the table's end */
	tl_fake_driver.free_table(t);
	ft_teardown(&e);
}

/* ---- durability (#19) ---------------------------------------------------------------- */

TL_TEST(a_failure_exit_records_the_last_committed_key_durably)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;

	/* checkpoints every hour: only the exit records a position */
	TL_CHECK(setup(&e, "keyed", "[pipeline]\ncheckpoint_interval_secs=3600\n") == 0);
	tl_fake_set_async(e.dst, 1);
	tl_fake_fail_at(e.dst, TL_SLOT_WRITE_BATCH, 5, TL_ERR_DB, 0);
	TL_CHECK_EQ_INT(run(&e, 0, &err), TL_ERR_DB);
	TL_CHECK_EQ_STR(last_pos(&e, "keyed"), "28"); /* four batches of 7 committed */
	TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_FLUSH_COMMITS), 1);
	TL_CHECK_EQ_INT(tl_fake_durable_writes(e.dst), 0);
	/* the target crashes: what the position points at survives */
	tl_fake_crash(e.dst);
	TL_CHECK_EQ_INT(tl_fake_count(e.dst, "s", "keyed"), 28);
	tl_fake_clear_faults(e.dst);
	tl_fake_reset_calls(e.src);
	TL_CHECK_OK(run(&e, 0, &err), &err);
	TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), ROWS - 28); /* resumed there */
	TL_CHECK(strstr(log_file(&e, "default.log"), "lost rows") == NULL);
	check_same(&e, "keyed", "after the crash and the rerun");
	ft_teardown(&e);
}

TL_TEST(checkpointed_batches_are_durable_and_a_crash_loses_none_of_them)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	long batches = (ROWS + 6) / 7;

	/* a checkpoint after every batch: every batch is written durably */
	TL_CHECK(setup(&e, "keyed", NULL) == 0);
	tl_fake_set_async(e.dst, 1);
	tl_fake_fail_at(e.dst, TL_SLOT_WRITE_BATCH, 6, TL_ERR_DB, 1); /* committed, never reported */
	TL_CHECK_EQ_INT(run(&e, 0, &err), TL_ERR_DB);
	TL_CHECK_EQ_INT(tl_fake_durable_writes(e.dst), 6);
	TL_CHECK_EQ_STR(last_pos(&e, "keyed"), "35");
	tl_fake_crash(e.dst);
	TL_CHECK(tl_fake_count(e.dst, "s", "keyed") >= 35);
	tl_fake_clear_faults(e.dst);
	tl_fake_reset_calls(e.dst);
	TL_CHECK_OK(run(&e, 0, &err), &err);
	TL_CHECK_EQ_INT(tl_fake_durable_writes(e.dst), batches - 5);
	/* the finished record too comes after a durable commit */
	tl_fake_crash(e.dst);
	check_same(&e, "keyed", "after a crash right after the finish");
	ft_teardown(&e);
}

TL_TEST(a_failure_exit_in_split_mode_records_the_last_committed_range)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	const char *pos;

	TL_CHECK(setup(&e, "nokey", "[pipeline]\ncheckpoint_interval_secs=3600\n") == 0);
	tl_fake_set_async(e.dst, 1);
	tl_fake_fail_at(e.dst, TL_SLOT_WRITE_BATCH, 6, TL_ERR_DB, 0);
	TL_CHECK_EQ_INT(run(&e, 0, &err), TL_ERR_DB);
	pos = log_file(&e, "position.log");
	TL_CHECK_MSG(strstr(pos, "\"tb\":\"nokey\"") != NULL, "no split position recorded on the failure exit");
	tl_fake_crash(e.dst);
	tl_fake_clear_faults(e.dst);
	TL_CHECK_OK(run(&e, 0, &err), &err);
	check_same(&e, "nokey", "after the crash and the rerun");
	ft_teardown(&e);
}

TL_TEST(chunk_mode_counts_a_range_whose_last_batch_was_committed_before_a_stop)
{
	static volatile sig_atomic_t stop;
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	tl_migrate_opts opts;

	/* ranges of 7 keys: one batch each; the stop comes right after the first commit */
	TL_CHECK(setup(&e, "keyed", "[extractor]\nparallel_type=chunk\nparallel_size=2\n") == 0);
	stop = 0;
	tl_fake_stop_at(e.dst, TL_SLOT_WRITE_BATCH, 1, &stop);
	memset(&opts, 0, sizeof(opts));
	opts.stop = &stop;
	TL_CHECK_EQ_INT(ft_run_opts(&e, &opts, &err), TL_ERR_INTERRUPTED);
	TL_CHECK_MSG(last_pos(&e, "keyed")[0] != '\0', "no position although a range was committed: %s",
		     log_file(&e, "position.log"));
	tl_fake_reset_calls(e.src);
	TL_CHECK_OK(run(&e, 0, &err), &err);
	TL_CHECK(tl_fake_rows_read(e.src) < ROWS); /* resumed */
	check_same(&e, "keyed", "after the stop and the rerun");
	ft_teardown(&e);
}

TL_TEST(the_durability_warning_is_said_once_per_run_and_in_plan)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	tl_plan p;
	tl_config *cfg = NULL;
	const char *log, *at;

	TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, ROWS) == 0 && ft_task(&e, NULL) != NULL);
	tl_fake_set_durability_warning(e.dst, "commits on fake are not durable: async=on");
	TL_CHECK_OK(run(&e, 0, &err), &err);
	log = log_file(&e, "default.log");
	at = strstr(log, "commits on fake are not durable");
	TL_CHECK_MSG(at != NULL && strstr(at + 1, "commits on fake are not durable") == NULL, "default.log:\n%s", log);
	if (plan_item(&e, "keyed", &p, &cfg))
		TL_CHECK_EQ_STR(p.durability_warning, "commits on fake are not durable: async=on");
	ft_plan_free(&p, cfg);
	ft_teardown(&e);
}
