/*
 * test_engine_route.c - the task-file wiring of #13 against the in-memory fake driver:
 * [router] tb_map/col_map and [filter] ignore_cols through a run (the target gets the
 * renamed columns, ignored ones keep their default, records keep the source names), an
 * interrupted routed copy resumed row-exactly, the refusals (a listed column that does
 * not exist, an ignored key column, two tables onto one, a filter that selects nothing),
 * rows that cannot be upserted never written twice whatever the flags (a keyless table
 * or NULL keys of a nullable unique key into a target that holds rows this task did not
 * write: refused, --init too), a resumed routed table whose target lost rows (checked
 * under the target's names), routed tables through transient failures, the rate limit, and a check task whose logs list exactly
 * the missing, extra and differing rows and reads the source under the rate limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fakes/fake_task.h"
#include "tl_test.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = calloc(1, (size_t)n + 1)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

static int run_opts(ft_env *e, int init, tl_error *err)
{
	tl_config *cfg = NULL;
	tl_migrate_opts opts;
	int rc;

	memset(&opts, 0, sizeof(opts));
	opts.registry = &tl_fake_registry;
	opts.init = init;
	if ((rc = tl_config_load_with(e->ini, &tl_fake_registry, &cfg, err)))
		return rc;
	rc = tl_migrate_run(cfg, &opts, err);
	tl_config_free(cfg);
	return rc;
}

TL_TEST(route_col_map_and_ignore_cols_copy)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	char why[512], path[4300];
	char *fin, *pos;

	TL_CHECK(ft_setup_routed(&e, 40, FT_ROUTE) == 0);
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	TL_CHECK_MSG(ft_routed_same(&e, 40, why, sizeof(why)), "%s", why);
	TL_CHECK_EQ_INT(tl_fake_count(e.dst, "s", "r"), -1); /* nothing under the source's name */
	/* progress records keep the source names, as ape-dts does */
	snprintf(path, sizeof(path), "%s/logs/finished.log", e.dir);
	fin = slurp(path);
	TL_CHECK_MSG(fin && strstr(fin, "\"schema\":\"s\",\"tb\":\"r\""), "finished.log: %s", fin ? fin : "(none)");
	snprintf(path, sizeof(path), "%s/logs/position.log", e.dir);
	pos = slurp(path);
	TL_CHECK_MSG(pos && strstr(pos, "\"tb\":\"r\"") && !strstr(pos, "\"rr\""), "position.log: %s", pos ? pos : "(none)");
	free(fin);
	free(pos);
	ft_teardown(&e);
}

/* An interrupted routed copy resumes after the last recorded key: nothing lost, nothing twice. */
TL_TEST(route_interrupted_copy_resumes_row_exact)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	char why[512];
	tl_plan p;
	tl_config *cfg = NULL;

	TL_CHECK(ft_setup_routed(&e, 60, FT_ROUTE) == 0);
	tl_fake_fail_at(e.dst, TL_SLOT_WRITE_BATCH, 4, TL_ERR_DB, 0);
	TL_CHECK(ft_run(&e, NULL, &err) == TL_ERR_DB);
	TL_CHECK(tl_fake_count(e.dst, "d", "rr") == 21); /* three batches of 7 */
	TL_CHECK_OK(ft_plan(&e, &p, &cfg, &err), &err);
	TL_CHECK(p.n == 1 && p.items[0].action == TL_ACT_RESUME);
	TL_CHECK_EQ_STR(p.items[0].dst_schema, "d");
	TL_CHECK_EQ_STR(p.items[0].dst_tb, "rr");
	TL_CHECK(p.items[0].after.n == 1 && strcmp(p.items[0].after.cols[0], "id") == 0);
	ft_plan_free(&p, cfg);
	tl_fake_reset_calls(e.src);
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), 60 - 21);
	TL_CHECK_MSG(ft_routed_same(&e, 60, why, sizeof(why)), "%s", why);
	ft_teardown(&e);
}

/* What the router refuses, before anything is read or written, each naming what is wrong. */
TL_TEST(route_refusals_name_the_problem)
{
	static const struct {
		const char *extra, *want;
	} cases[] = {
		{"[filter]\nignore_cols=json:[{\"db\":\"s\",\"tb\":\"r\",\"ignore_cols\":[\"nope\"]}]\n", "\"nope\""},
		{"[filter]\nignore_cols=json:[{\"db\":\"s\",\"tb\":\"r\",\"ignore_cols\":[\"id\"]}]\n", "key"},
		{"[router]\ntb_map=s.r:d.rr,s.x:d.rr\n", "'s.x' is not selected or does not exist"},
		{"[router]\ndb_map=nosuch:d\n", "no selected table is in database 'nosuch'"},
		{"[router]\ncol_map=json:[{\"db\":\"s\",\"tb\":\"r\",\"col_map\":{\"a\":\"b\"}}]\n", "\"b\""},
		{"[router]\ncol_map=json:[{\"db\":\"s\",\"tb\":\"r\",\"col_map\":{\"a\":\"aa\"}]\n", "invalid JSON"},
		{"[filter]\ndo_dbs=ss\n", "the [filter] selects none of the source's 1 tables (do_dbs=ss)"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ft_env e;
		tl_error err = TL_ERROR_INIT;

		TL_CHECK(ft_setup_routed(&e, 5, cases[i].extra) == 0);
		TL_CHECK_MSG(ft_run(&e, NULL, &err) != 0, "case %zu ran", i);
		TL_CHECK_MSG(strstr(err.message, cases[i].want), "case %zu: %s", i, err.message);
		TL_CHECK_EQ_INT(tl_fake_rows_written(e.dst), 0);
		ft_teardown(&e);
	}
}

/* A target with an extra NOT NULL column that is not copied is refused by the target check. */
TL_TEST(route_target_column_without_default_refused)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK(ft_setup(&e) == 0);
	TL_CHECK(tl_fake_add_table(e.src, "s", "r", "id int key, a text") == 0);
	TL_CHECK(tl_fake_add_table(e.dst, "s", "r", "id int key, a text, must text") == 0);
	TL_CHECK(ft_task(&e, NULL) != NULL);
	TL_CHECK(ft_run(&e, NULL, &err) == TL_ERR_MISMATCH);
	TL_CHECK_MSG(strstr(err.message, "must") && strstr(err.message, "NOT NULL without a default"), "%s", err.message);
	ft_teardown(&e);
}

/*
 * NULL-key rows of a nullable unique key, and keyless rows, are copied again by every run:
 * into a target that already holds such rows this task did not write they would be there
 * twice. The run refuses (plan says REFUSE), --init too; once the target's rows are gone
 * the copy goes through, row-exact.
 */
TL_TEST(unupsertable_rows_never_twice_whatever_the_flags)
{
	static const char *const tables[] = {"nuk", "nokey"};
	static const char *const others[] = {"s.keyed,s.comp,s.nokey,s.tkey", "s.keyed,s.comp,s.nuk,s.tkey"};
	size_t t;

	for (t = 0; t < 2; t++) {
		ft_env e;
		tl_error err = TL_ERROR_INIT;
		char extra[256], why[512];
		tl_plan p;
		tl_config *cfg = NULL;
		int64_t before;

		snprintf(extra, sizeof(extra), "[filter]\nignore_tbs=%s\n", others[t]);
		TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, 30) == 0 && ft_task(&e, extra));
		/* a first task fills the target */
		TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
		before = tl_fake_count(e.dst, "s", tables[t]);
		/* another task (a fresh log dir and store: nothing of the first one) */
		snprintf(extra, sizeof(extra), "[filter]\nignore_tbs=%s\n[runtime]\nlog_dir=%s/logs2\n", others[t], e.dir);
		TL_CHECK(ft_task(&e, extra) != NULL);
		TL_CHECK_OK(ft_plan(&e, &p, &cfg, &err), &err);
		TL_CHECK_MSG(p.n == 1 && p.items[0].refuse && p.items[0].warning &&
				     strstr(p.items[0].warning, "restart needed"),
			     "%s: plan does not refuse", tables[t]);
		ft_plan_free(&p, cfg);
		TL_CHECK(run_opts(&e, 0, &err) == TL_ERR_MISMATCH);
		TL_CHECK_MSG(strstr(err.message, "restart needed"), "%s", err.message);
		TL_CHECK(run_opts(&e, 1, &err) == TL_ERR_MISMATCH);
		TL_CHECK_MSG(strstr(err.message, "run with --init"), "--init: %s", err.message);
		TL_CHECK_EQ_INT(tl_fake_count(e.dst, "s", tables[t]), before);
		/* as the message says: empty the target, then run with --init */
		TL_CHECK(tl_fake_truncate(e.dst, "s", tables[t]) == 0);
		TL_CHECK_OK(run_opts(&e, 1, &err), &err);
		TL_CHECK_MSG(tl_fake_same_rows(e.src, e.dst, "s", tables[t], why, sizeof(why)), "%s: %s", tables[t], why);
		ft_teardown(&e);
	}
}

/* A nullable unique key into a non-empty target without NULL-key rows there: nothing to refuse. */
TL_TEST(nullable_unique_into_target_without_null_keys)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	char why[512];
	const char *row[2] = {"1", "pre"};

	TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, 30) == 0 &&
		 ft_task(&e, "[filter]\nignore_tbs=s.keyed,s.comp,s.nokey,s.tkey\n"));
	TL_CHECK(tl_fake_insert(e.dst, "s", "nuk", row) == 0);
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	TL_CHECK_MSG(tl_fake_same_rows(e.src, e.dst, "s", "nuk", why, sizeof(why)), "%s", why);
	ft_teardown(&e);
}

/* max_rps holds the whole run to the rate (the fake reads instantly: the limiter is all). */
TL_TEST(rate_limit_rows_per_second)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	struct timespec a, b;
	double secs, rate;

	TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, 100) == 0);
	/* 5 tables of 100 rows (+13 NULL-key rows), [pipeline] max_rps=400 (the smallest of the
	 * three keys); parallel_size=3 shares one limit */
	TL_CHECK(ft_task(&e, "[extractor]\nmax_rps=1000\nparallel_size=3\n[sinker]\nmax_rps=800\n[pipeline]\nmax_rps=400\n") !=
		 NULL);
	clock_gettime(CLOCK_MONOTONIC, &a);
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	/* 513 rows, a first burst of one batch (7) free: (513 - 7) / 400 = 1.27 s */
	rate = 506.0 / secs;
	TL_CHECK_MSG(rate <= 400 * 1.10 && rate >= 400 * 0.75, "%.0f rows/s over %.2f s", rate, secs);
	TL_CHECK(ft_all_same(&e, (char[256]){0}, 256));
	ft_teardown(&e);
}

/*
 * The checks before a resume (#18/#19: is the checkpoint's row on the target, does it hold
 * the rows recorded) look at the routed target table, under its col_map names.
 */
TL_TEST(route_target_lost_rows_checked_under_target_names)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	char id[16], a[16], why[512];
	tl_plan p;
	tl_config *cfg = NULL;
	int i;

	TL_CHECK(ft_setup(&e) == 0 && tl_fake_add_table(e.src, "s", "r", "id int key, a text") == 0 &&
		 tl_fake_add_table(e.dst, "d", "rr", "iid int key, a text") == 0);
	for (i = 1; i <= 60; i++) {
		const char *row[2] = {id, a};
		snprintf(id, sizeof(id), "%d", i);
		snprintf(a, sizeof(a), "a%d", i);
		TL_CHECK(tl_fake_insert(e.src, "s", "r", row) == 0);
	}
	TL_CHECK(ft_task(&e, "[router]\ntb_map=s.r:d.rr\n"
			     "col_map=json:[{\"db\":\"s\",\"tb\":\"r\",\"col_map\":{\"id\":\"iid\"}}]\n") != NULL);
	tl_fake_fail_at(e.dst, TL_SLOT_WRITE_BATCH, 4, TL_ERR_DB, 0);
	TL_CHECK(ft_run(&e, NULL, &err) == TL_ERR_DB);
	TL_CHECK(tl_fake_count(e.dst, "d", "rr") == 21);
	TL_CHECK(tl_fake_claimed(e.dst, "d", "rr") == 0);
	/* the target loses its rows: the checkpoint's row (iid = 21) is gone */
	TL_CHECK(tl_fake_truncate(e.dst, "d", "rr") == 0);
	TL_CHECK_OK(ft_plan(&e, &p, &cfg, &err), &err);
	TL_CHECK(p.n == 1 && p.items[0].action == TL_ACT_RESUME && p.items[0].lost && !p.items[0].refuse);
	TL_CHECK_MSG(p.items[0].warning && strstr(p.items[0].warning, "the row with iid = 21 is missing"), "%s",
		     p.items[0].warning ? p.items[0].warning : "(no warning)");
	ft_plan_free(&p, cfg);
	/* this task started the table into an empty target: it starts over, every row once */
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	TL_CHECK(tl_fake_count(e.dst, "d", "rr") == 60);
	TL_CHECK(tl_fake_claimed(e.dst, "d", "rr") == 0);
	{
		tl_fake_db *want = tl_fake_db_new("want_lost");
		TL_CHECK(want && tl_fake_add_table(want, "d", "rr", "iid int key, a text") == 0);
		for (i = 1; want && i <= 60; i++) {
			const char *row[2] = {id, a};
			snprintf(id, sizeof(id), "%d", i);
			snprintf(a, sizeof(a), "a%d", i);
			TL_CHECK(tl_fake_insert(want, "d", "rr", row) == 0);
		}
		TL_CHECK_MSG(want && tl_fake_same_rows(want, e.dst, "d", "rr", why, sizeof(why)), "%s", why);
		tl_fake_db_free(want);
	}
	ft_teardown(&e);
}

/*
 * A routed table through transient failures (#15: the retry plans the table again, and
 * with it its read and write forms): every row on the routed target once, none read twice
 * beyond the batch in flight.
 */
TL_TEST(route_survives_transient_failures)
{
	static const enum tl_slot slots[] = {TL_SLOT_WRITE_BATCH, TL_SLOT_KEY_EXISTS, TL_SLOT_CHECK_TARGET};
	size_t i;

	for (i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		ft_env e;
		tl_error err = TL_ERROR_INIT;
		char why[512];

		TL_CHECK(ft_setup_routed(&e, 60, FT_ROUTE) == 0);
		/* the second attempt of the table is a resume (the key lookup runs then) */
		tl_fake_fail_flags(e.dst, slots[i], NULL, slots[i] == TL_SLOT_WRITE_BATCH ? 4 : 1, TL_ERR_DB, 0,
				   TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST);
		if (slots[i] == TL_SLOT_KEY_EXISTS)
			tl_fake_fail_flags(e.dst, TL_SLOT_WRITE_BATCH, NULL, 4, TL_ERR_DB, 0,
					   TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST);
		TL_CHECK_MSG(ft_run(&e, NULL, &err) == 0, "%s: %s", tl_slot_name(slots[i]), err.message);
		TL_CHECK_MSG(tl_fake_calls(e.dst, slots[i]) >= 1, "%s never called", tl_slot_name(slots[i]));
		TL_CHECK_MSG(ft_routed_same(&e, 60, why, sizeof(why)), "%s: %s", tl_slot_name(slots[i]), why);
		TL_CHECK(tl_fake_count(e.dst, "s", "r") < 0 || tl_fake_count(e.dst, "s", "r") == 0);
		ft_teardown(&e);
	}
}

/* A check task lists exactly the rows missing, extra and differing; it writes nothing. */
TL_TEST(check_task_logs_exactly_the_differences)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	tl_config *cfg = NULL;
	tl_migrate_opts opts;
	tl_verify_report rep;
	char path[4300];
	char *miss, *diff, *extra, *sum;
	const char *xrow[4] = {"1000", "ax", "1", NULL};
	int consistent = 1;
	long written;

	TL_CHECK(ft_setup_routed(&e, 20, FT_ROUTE) == 0);
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	/* the target loses row 5, gains row 1000, and row 7 differs in b (NULL) and aa */
	TL_CHECK(tl_fake_truncate(e.dst, "d", "rr") == 0);
	for (int i = 1; i <= 20; i++) {
		char id[16], a[16], b[16];
		const char *row[4] = {id, a, i == 7 ? NULL : b, NULL};
		if (i == 5)
			continue;
		snprintf(id, sizeof(id), "%d", i);
		snprintf(a, sizeof(a), i == 7 ? "changed" : "a%d", i);
		snprintf(b, sizeof(b), "%d", i * 2);
		TL_CHECK(tl_fake_insert(e.dst, "d", "rr", row) == 0);
	}
	TL_CHECK(tl_fake_insert(e.dst, "d", "rr", xrow) == 0);
	TL_CHECK(ft_task(&e, FT_ROUTE "[sinker]\nsink_type=check\n") != NULL);
	written = tl_fake_rows_written(e.dst);
	memset(&opts, 0, sizeof(opts));
	opts.registry = &tl_fake_registry;
	TL_CHECK_OK(tl_config_load_with(e.ini, &tl_fake_registry, &cfg, &err), &err);
	TL_CHECK_OK(tl_migrate_check(cfg, &opts, NULL, NULL, &rep, &consistent, &err), &err);
	TL_CHECK(!consistent);
	TL_CHECK_EQ_INT(tl_fake_rows_written(e.dst), written);
	snprintf(path, sizeof(path), "%s/logs/check/miss.log", e.dir);
	miss = slurp(path);
	snprintf(path, sizeof(path), "%s/logs/check/diff.log", e.dir);
	diff = slurp(path);
	snprintf(path, sizeof(path), "%s/logs/check/extra.log", e.dir);
	extra = slurp(path);
	snprintf(path, sizeof(path), "%s/logs/check/summary.log", e.dir);
	sum = slurp(path);
	TL_CHECK_EQ_STR(miss, "{\"schema\":\"s\",\"tb\":\"r\",\"target_schema\":\"d\",\"target_tb\":\"rr\","
			      "\"id_col_values\":{\"id\":\"5\"}}\n");
	TL_CHECK_EQ_STR(extra, "{\"schema\":\"s\",\"tb\":\"r\",\"target_schema\":\"d\",\"target_tb\":\"rr\","
			       "\"id_col_values\":{\"id\":\"1000\"}}\n");
	/* source column names; the fake has no value types, so none are written */
	TL_CHECK_EQ_STR(diff, "{\"schema\":\"s\",\"tb\":\"r\",\"target_schema\":\"d\",\"target_tb\":\"rr\","
			      "\"id_col_values\":{\"id\":\"7\"},\"diff_col_values\":{\"a\":{\"src\":\"a7\",\"dst\":\"changed\"},"
			      "\"b\":{\"src\":\"14\",\"dst\":null}}}\n");
	TL_CHECK_EQ_INT(count_lines(sum), 1);
	TL_CHECK_MSG(sum && strstr(sum, "\"is_consistent\":false,\"checked_count\":20,\"miss_count\":1,\"diff_count\":1,"
					"\"skip_count\":0,\"extra_count\":1"),
		     "%s", sum ? sum : "(none)");
	free(miss);
	free(diff);
	free(extra);
	free(sum);
	tl_verify_report_clear(&rep);
	tl_config_free(cfg);
	ft_teardown(&e);
}

/* A check task reads the source under the run's max_rps, as a copy does (the target is not limited). */
TL_TEST(check_task_reads_under_the_rate_limit)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	tl_config *cfg = NULL;
	tl_migrate_opts opts;
	tl_verify_report rep;
	struct timespec a, b;
	double secs, rate;
	int consistent = 0;
	long written;

	/* 200 rows copied without a limit, then checked at 200 rows/s: the fake has no
	 * checksums, so every source row is read and compared */
	TL_CHECK(ft_setup_routed(&e, 200, FT_ROUTE) == 0);
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	TL_CHECK(ft_task(&e, FT_ROUTE "[sinker]\nsink_type=check\n[pipeline]\nmax_rps=200\n") != NULL);
	written = tl_fake_rows_written(e.dst);
	memset(&opts, 0, sizeof(opts));
	opts.registry = &tl_fake_registry;
	TL_CHECK_OK(tl_config_load_with(e.ini, &tl_fake_registry, &cfg, &err), &err);
	clock_gettime(CLOCK_MONOTONIC, &a);
	TL_CHECK_OK(tl_migrate_check(cfg, &opts, NULL, NULL, &rep, &consistent, &err), &err);
	clock_gettime(CLOCK_MONOTONIC, &b);
	TL_CHECK(consistent);
	TL_CHECK_EQ_INT(tl_fake_rows_written(e.dst), written);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	/* a first burst of one batch (7) is free: (200 - 7) / 200 = 0.97 s; never faster than
	 * the limit, and not much slower (the comparing around the reads takes its time too,
	 * more on a loaded machine) */
	rate = 193.0 / secs;
	TL_CHECK_MSG(rate <= 200 * 1.10 && rate >= 200 * 0.5, "%.0f rows/s over %.2f s", rate, secs);
	tl_verify_report_clear(&rep);
	tl_config_free(cfg);
	ft_teardown(&e);
}

/* The names definitions are created under (tl_schema_opts.targets): the rows' target names. */
TL_TEST(route_targets_for_definitions)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	tl_config *cfg = NULL;
	tl_name sel[3] = {{"s", "r"}, {"s", "q"}, {"x", "y"}}, *out = NULL;

	TL_CHECK(ft_setup(&e) == 0 && ft_task(&e, "[router]\ndb_map=s:d\ntb_map=s.q:e.qq\n"));
	TL_CHECK_OK(tl_config_load_with(e.ini, &tl_fake_registry, &cfg, &err), &err);
	TL_CHECK_OK(tl_migrate_targets(cfg, sel, 3, &out, &err), &err);
	TL_CHECK_EQ_STR(out[0].schema, "d");
	TL_CHECK_EQ_STR(out[0].name, "r");
	TL_CHECK_EQ_STR(out[1].schema, "e");
	TL_CHECK_EQ_STR(out[1].name, "qq");
	TL_CHECK_EQ_STR(out[2].schema, "x");
	TL_CHECK_EQ_STR(out[2].name, "y");
	free(out);
	tl_config_free(cfg);
	ft_teardown(&e);
}
