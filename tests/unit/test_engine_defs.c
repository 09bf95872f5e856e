/*
 * test_engine_defs.c - the definition phases of a run (docs/schema.md) against the fake
 * driver's "fakeddl" kind: a whole database into an empty target (tables created without
 * their keys, loaded in bulk - an upsert into such a table fails in the fake, as in
 * PostgreSQL - then keys and indexes, views, values); a rerun that has nothing to do; a
 * failure of every definition step and of row writes, each followed by a rerun that ends
 * equal, with the keys built (a duplicated row would make the key fail) and no step done
 * twice; tables that existed on the target left as they are; extract_type=struct,
 * create_schema=false, do_structures; run --init after a complete copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fakes/fake_task.h"
#include "tl_test.h"

#define ROWS 60

/* Every standard table row-exact, keyed (where it has a key), with its index, view and value. */
static void check_whole(ft_env *e, const char *what)
{
	char why[512], obj[128];
	size_t i;

	TL_CHECK_MSG(ft_all_same(e, why, sizeof(why)), "%s: %s", what, why);
	for (i = 0; ft_tables[i]; i++) {
		const char *t = ft_tables[i];
		TL_CHECK_MSG(tl_fake_keyed(e->dst, "s", t) == 1, "%s: %s has no key", what, t);
		snprintf(obj, sizeof(obj), "index s.%s_v", t);
		TL_CHECK_MSG(tl_fake_has_object(e->dst, obj), "%s: no %s", what, obj);
		snprintf(obj, sizeof(obj), "view s.%s_view", t);
		TL_CHECK_MSG(tl_fake_has_object(e->dst, obj), "%s: no %s", what, obj);
	}
	TL_CHECK_MSG(tl_fake_has_object(e->dst, "value s.keyed_seq=60"), "%s: the sequence value is not set", what);
}

/* The store's steps of task t1: "state" counts, and a step's state by id. */
struct steps {
	size_t n, done, pending, exists, skipped, failed, created;
	char want[128];
	char state[32];
};

static int on_step(void *ctx, const char *task_id, const tl_store_def_step *s, tl_error *err)
{
	struct steps *x = ctx;

	(void)task_id;
	(void)err;
	x->n++;
	x->done += strcmp(s->state, "done") == 0;
	x->pending += strcmp(s->state, "pending") == 0;
	x->exists += strcmp(s->state, "exists") == 0;
	x->skipped += strcmp(s->state, "skipped") == 0;
	x->failed += strcmp(s->state, "failed") == 0;
	x->created += s->created;
	if (x->want[0] && strcmp(s->step_id, x->want) == 0)
		snprintf(x->state, sizeof(x->state), "%s", s->state);
	return 0;
}

static void read_steps(ft_env *e, const char *want, struct steps *x)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	char path[4200];

	memset(x, 0, sizeof(*x));
	snprintf(x->want, sizeof(x->want), "%s", want ? want : "");
	snprintf(path, sizeof(path), "%s/logs/checkpoint.db", e->dir);
	TL_CHECK_OK(tl_store_open(&s, path, TL_STORE_READONLY, &err), &err);
	if (s)
		TL_CHECK_OK(tl_store_foreach_def_step(s, "t1", on_step, x, &err), &err);
	tl_store_close(s);
}

TL_TEST(defs_whole_database_into_an_empty_target)
{
	tl_error err = TL_ERROR_INIT;
	struct steps st;
	ft_env e;

	TL_CHECK(ft_empty_target(&e, ROWS, NULL) == 0);
	TL_CHECK_MSG(ft_run(&e, NULL, &err) == 0, "run: %s", err.message);
	check_whole(&e, "first run");
	/* rows went in before the keys: never an upsert (the fake refuses one into a keyless table) */
	read_steps(&e, "table s.keyed", &st);
	/* 5 tables: table, index, view, value each; 4 keys (nokey has none) */
	TL_CHECK_EQ_INT(st.n, 24);
	TL_CHECK_EQ_INT(st.done, 24);
	TL_CHECK_EQ_STR(st.state, "done");
	TL_CHECK_EQ_INT(st.created, 19); /* the values are set, not created */

	/* a rerun finds everything done: no definition applied, no row read */
	tl_fake_reset_calls(e.dst);
	tl_fake_reset_calls(e.src);
	TL_CHECK_MSG(ft_run(&e, NULL, &err) == 0, "rerun: %s", err.message);
	TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_SCHEMA_APPLY), 0);
	TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), 0);
	check_whole(&e, "rerun");
	ft_teardown(&e);
}

/*
 * A failure of the Nth definition step (before or after its work), or of a row write,
 * then a rerun: equal, keyed, every step done once. Covers a kill while creating
 * (a table made but not recorded), mid-data (rows past the checkpoint: removed with
 * delete_after_key, the rest in bulk) and mid-index-build.
 */
TL_TEST(defs_failure_of_every_step_then_rerun)
{
	static const struct {
		enum tl_slot slot;
		const char *table;
		long nth;
		int after;
	} cases[] = {
		{TL_SLOT_SCHEMA_APPLY, NULL, 1, 0},      {TL_SLOT_SCHEMA_APPLY, NULL, 1, 1},
		{TL_SLOT_SCHEMA_APPLY, NULL, 3, 1},      {TL_SLOT_SCHEMA_APPLY, NULL, 5, 0},
		{TL_SLOT_SCHEMA_APPLY, NULL, 7, 1},      {TL_SLOT_SCHEMA_APPLY, NULL, 12, 0},
		{TL_SLOT_SCHEMA_APPLY, NULL, 16, 1},     {TL_SLOT_SCHEMA_APPLY, NULL, 20, 0},
		{TL_SLOT_SCHEMA_APPLY, NULL, 23, 1},     {TL_SLOT_SCHEMA_APPLY, NULL, 24, 0},
		{TL_SLOT_WRITE_BATCH, "comp", 3, 1},     {TL_SLOT_WRITE_BATCH, "keyed", 4, 0},
		{TL_SLOT_WRITE_BATCH, "nuk", 9, 1},      {TL_SLOT_WRITE_BATCH, "nokey", 2, 1},
		{TL_SLOT_DELETE_AFTER_KEY, NULL, 1, 0},  {TL_SLOT_SCHEMA_PROBE, NULL, 1, 0},
		{TL_SLOT_SCHEMA_EXTRACT, NULL, 2, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tl_error err = TL_ERROR_INIT;
		struct steps st;
		char what[96];
		ft_env e;
		int rc;

		snprintf(what, sizeof(what), "%s call %ld%s%s%s", tl_slot_name(cases[i].slot), cases[i].nth,
			 cases[i].table ? " on " : "", cases[i].table ? cases[i].table : "", cases[i].after ? " (after)" : "");
		TL_CHECK(ft_empty_target(&e, ROWS, NULL) == 0);
		if (cases[i].slot == TL_SLOT_DELETE_AFTER_KEY) {
			/* a first run stopped mid-table leaves rows past its checkpoint */
			tl_fake_fail_table(e.dst, TL_SLOT_WRITE_BATCH, "comp", 4, TL_ERR_DB, 1);
			TL_CHECK(ft_run(&e, NULL, &err) != 0);
			tl_fake_clear_faults(e.dst);
		}
		if (cases[i].table)
			tl_fake_fail_table(e.dst, cases[i].slot, cases[i].table, cases[i].nth, TL_ERR_DB, cases[i].after);
		else
			tl_fake_fail_at(cases[i].slot == TL_SLOT_SCHEMA_EXTRACT ? e.src : e.dst, cases[i].slot, cases[i].nth,
					TL_ERR_DB, cases[i].after);
		rc = ft_run(&e, NULL, &err);
		TL_CHECK_MSG(rc != 0, "%s: the run did not fail", what);
		TL_CHECK_MSG(strstr(err.message, "injected") != NULL, "%s: %s", what, err.message);
		tl_fake_clear_faults(e.dst);
		tl_fake_clear_faults(e.src);
		TL_CHECK_MSG(ft_run(&e, NULL, &err) == 0, "%s: rerun: %s", what, err.message);
		check_whole(&e, what);
		read_steps(&e, NULL, &st);
		TL_CHECK_MSG(st.done == 24 && st.n == 24, "%s: %zu of %zu steps done", what, st.done, st.n);
		if (cases[i].slot == TL_SLOT_DELETE_AFTER_KEY || (cases[i].slot == TL_SLOT_WRITE_BATCH && cases[i].after &&
								     strcmp(cases[i].table, "nokey") != 0))
			TL_CHECK_MSG(tl_fake_calls(e.dst, TL_SLOT_DELETE_AFTER_KEY) >= 1,
				     "%s: the resumed table was not cleared past its checkpoint", what);
		ft_teardown(&e);
	}
}

TL_TEST(defs_tables_that_existed_are_left_as_they_are)
{
	tl_error err = TL_ERROR_INIT;
	struct steps st;
	char why[512];
	ft_env e;

	TL_CHECK(ft_empty_target(&e, ROWS, NULL) == 0);
	/* the user made s.keyed (with its key, no index) and a view of that name */
	TL_CHECK(tl_fake_copy_shape(e.src, e.dst, "s", "keyed") == 0);
	TL_CHECK(tl_fake_add_object(e.dst, "view s.comp_view") == 0);
	TL_CHECK_MSG(ft_run(&e, NULL, &err) == 0, "run: %s", err.message);
	TL_CHECK_MSG(tl_fake_same_rows(e.src, e.dst, "s", "keyed", why, sizeof(why)), "%s", why);
	TL_CHECK_MSG(!tl_fake_has_object(e.dst, "index s.keyed_v"), "an index was added to a table that existed");
	TL_CHECK(tl_fake_has_object(e.dst, "index s.comp_v"));
	/* its counter is set all the same */
	TL_CHECK(tl_fake_has_object(e.dst, "value s.keyed_seq=60"));
	read_steps(&e, "table s.keyed", &st);
	TL_CHECK_EQ_STR(st.state, "exists");
	TL_CHECK_EQ_INT(st.exists, 2);  /* the table, the view */
	TL_CHECK_EQ_INT(st.skipped, 2); /* its key and index */
	ft_teardown(&e);
}

TL_TEST(defs_struct_only_and_creation_off)
{
	tl_error err = TL_ERROR_INIT;
	ft_env e;

	/* extract_type=struct: definitions, keys and values, no row */
	TL_CHECK(ft_empty_target(&e, ROWS, "[extractor]\nextract_type=struct\n") == 0);
	TL_CHECK_MSG(ft_run(&e, NULL, &err) == 0, "run: %s", err.message);
	TL_CHECK_EQ_INT(tl_fake_count(e.dst, "s", "keyed"), 0);
	TL_CHECK_EQ_INT(tl_fake_keyed(e.dst, "s", "comp"), 1);
	TL_CHECK(tl_fake_has_object(e.dst, "view s.tkey_view"));
	TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), 0);
	ft_teardown(&e);

	/* create_schema=false: tables are the user's, a missing one is an error */
	TL_CHECK(ft_empty_target(&e, ROWS, "[sinker]\ncreate_schema=false\n") == 0);
	TL_CHECK(ft_run(&e, NULL, &err) != 0);
	TL_CHECK_MSG(strstr(err.message, "does not exist") != NULL, "%s", err.message);
	TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_SCHEMA_PROBE), 0);
	ft_teardown(&e);

	/* both at once: nothing would be copied */
	TL_CHECK(ft_empty_target(&e, ROWS, "[extractor]\nextract_type=struct\n[sinker]\ncreate_schema=false\n") == 0);
	TL_CHECK(ft_run(&e, NULL, &err) == TL_ERR_CONFIG);
	TL_CHECK_MSG(strstr(err.message, "nothing would be copied") != NULL, "%s", err.message);
	ft_teardown(&e);

	/* do_structures=table: tables and their keys only */
	TL_CHECK(ft_empty_target(&e, ROWS, "[filter]\ndo_structures=table\n") == 0);
	TL_CHECK_MSG(ft_run(&e, NULL, &err) == 0, "run: %s", err.message);
	TL_CHECK_EQ_INT(tl_fake_keyed(e.dst, "s", "comp"), 1);
	TL_CHECK(!tl_fake_has_object(e.dst, "index s.comp_v") && !tl_fake_has_object(e.dst, "view s.comp_view") &&
		 !tl_fake_has_object(e.dst, "value s.keyed_seq=60"));
	ft_teardown(&e);

	/* an unknown word names itself and the line */
	TL_CHECK(ft_empty_target(&e, ROWS, "[filter]\ndo_structures=table,bogus\n") == 0);
	TL_CHECK(ft_run(&e, NULL, &err) == TL_ERR_CONFIG);
	TL_CHECK_MSG(strstr(err.message, "bogus") != NULL && strstr(err.message, "task.ini:") != NULL, "%s", err.message);
	ft_teardown(&e);
}

/*
 * Several workers: tables are copied while other tables are still being created, a
 * table's keys and index wait for its CREATE even when it has no rows to copy (struct),
 * and the views and values wait for every table. Repeated: the order is the threads'.
 */
TL_TEST(defs_parallel_workers_keep_the_order)
{
	static const char *const extras[] = {
		"[extractor]\nextract_type=struct\nparallel_type=table\nparallel_size=4\n",
		"[extractor]\nparallel_type=table\nparallel_size=4\nbatch_size=7\n",
		"[extractor]\nparallel_type=chunk\nparallel_size=3\nbatch_size=7\n",
	};
	tl_error err = TL_ERROR_INIT;
	size_t x, round;
	ft_env e;

	for (x = 0; x < sizeof(extras) / sizeof(extras[0]); x++)
		for (round = 0; round < 8; round++) {
			TL_CHECK(ft_empty_target(&e, ROWS, extras[x]) == 0);
			TL_CHECK_MSG(ft_run(&e, NULL, &err) == 0, "%s round %zu: %s", extras[x], round, err.message);
			if (x == 0) {
				TL_CHECK_EQ_INT(tl_fake_keyed(e.dst, "s", "comp"), 1);
				TL_CHECK(tl_fake_has_object(e.dst, "index s.comp_v"));
				TL_CHECK(tl_fake_has_object(e.dst, "view s.tkey_view"));
				TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), 0);
			} else {
				check_whole(&e, extras[x]);
			}
			ft_teardown(&e);
		}
}

TL_TEST(defs_init_after_a_complete_copy)
{
	tl_error err = TL_ERROR_INIT;
	tl_config *cfg = NULL;
	tl_migrate_opts opts;
	struct steps st;
	ft_env e;

	TL_CHECK(ft_empty_target(&e, ROWS, NULL) == 0);
	TL_CHECK_MSG(ft_run(&e, NULL, &err) == 0, "run: %s", err.message);
	/* the source moves on; --init copies everything again into the tables it created */
	{
		const char *row[2] = {"61", "v61"};
		TL_CHECK(tl_fake_insert(e.src, "s", "keyed", row) == 0);
	}
	memset(&opts, 0, sizeof(opts));
	opts.registry = &tl_fake_registry;
	opts.init = 1;
	TL_CHECK_OK(tl_config_load_with(e.ini, &tl_fake_registry, &cfg, &err), &err);
	if (cfg)
		TL_CHECK_MSG(tl_migrate_run(cfg, &opts, &err) == 0, "--init: %s", err.message);
	tl_config_free(cfg);
	TL_CHECK(tl_fake_has_object(e.dst, "value s.keyed_seq=61"));
	TL_CHECK_EQ_INT(tl_fake_count(e.dst, "s", "keyed"), 61);
	read_steps(&e, NULL, &st);
	TL_CHECK_EQ_INT(st.done, 24);
	TL_CHECK_EQ_INT(st.created, 19);
	ft_teardown(&e);
}

TL_TEST(defs_plan_marks_tables)
{
	tl_error err = TL_ERROR_INIT;
	tl_config *cfg = NULL;
	tl_plan p = {0, NULL, NULL, NULL};
	size_t i, creates = 0;
	ft_env e;

	TL_CHECK(ft_empty_target(&e, ROWS, NULL) == 0);
	TL_CHECK(tl_fake_copy_shape(e.src, e.dst, "s", "nokey") == 0);
	TL_CHECK_OK(ft_plan(&e, &p, &cfg, &err), &err);
	TL_CHECK(p.defs != NULL);
	for (i = 0; i < p.n; i++) {
		creates += p.items[i].create;
		TL_CHECK_MSG(p.items[i].ours == (strcmp(p.items[i].tb, "nokey") != 0), "%s ours=%d", p.items[i].tb,
			     p.items[i].ours);
	}
	TL_CHECK_EQ_INT(creates, 4);
	/* the plan read the target and wrote nothing there */
	TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_SCHEMA_APPLY), 0);
	ft_plan_free(&p, cfg);
	ft_teardown(&e);
}

/*
 * [router] db_map / tb_map: the definitions are created under the target names the rows
 * are written to (tables, keys, indexes, views, values), nothing under the source names.
 */
TL_TEST(defs_created_under_routed_names)
{
	tl_error err = TL_ERROR_INIT;
	char obj[128];
	size_t i;
	ft_env e;

	TL_CHECK(ft_empty_target(&e, ROWS, "[router]\ndb_map=s:r\ntb_map=s.tkey:r.tk2\n") == 0);
	TL_CHECK_MSG(ft_run(&e, NULL, &err) == 0, "run: %s", err.message);
	for (i = 0; ft_tables[i]; i++) {
		const char *t = strcmp(ft_tables[i], "tkey") == 0 ? "tk2" : ft_tables[i];
		TL_CHECK_MSG(tl_fake_count(e.dst, "r", t) == tl_fake_count(e.src, "s", ft_tables[i]), "r.%s: %lld rows", t,
			     (long long)tl_fake_count(e.dst, "r", t));
		TL_CHECK_MSG(tl_fake_count(e.dst, "s", ft_tables[i]) == -1, "s.%s was created", ft_tables[i]);
		if (strcmp(t, "nokey") != 0)
			TL_CHECK_MSG(tl_fake_keyed(e.dst, "r", t) == 1, "r.%s has no key", t);
		snprintf(obj, sizeof(obj), "index r.%s_v", t);
		TL_CHECK_MSG(tl_fake_has_object(e.dst, obj), "no %s", obj);
		snprintf(obj, sizeof(obj), "view r.%s_view", t);
		TL_CHECK_MSG(tl_fake_has_object(e.dst, obj), "no %s", obj);
	}
	TL_CHECK(tl_fake_has_object(e.dst, "value r.keyed_seq=60"));
	/* a rerun finds it all done under those names */
	tl_fake_reset_calls(e.dst);
	tl_fake_reset_calls(e.src);
	TL_CHECK_MSG(ft_run(&e, NULL, &err) == 0, "rerun: %s", err.message);
	TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_SCHEMA_APPLY), 0);
	TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), 0);
	ft_teardown(&e);
}

/*
 * ignore_cols / col_map change a table's columns: a table to create is refused (plan says
 * why, the run creates and copies nothing); one that exists on the target is copied.
 */
TL_TEST(defs_changed_columns_refused_when_created)
{
	static const char *const cases[] = {
		"[filter]\nignore_cols=json:[{\"db\":\"s\",\"tb\":\"keyed\",\"ignore_cols\":[\"v\"]}]\n",
		"[router]\ncol_map=json:[{\"db\":\"s\",\"tb\":\"keyed\",\"col_map\":{\"v\":\"w\"}}]\n",
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tl_error err = TL_ERROR_INIT;
		tl_config *cfg = NULL;
		tl_plan p = {0, NULL, NULL, NULL};
		size_t k, refused = 0;
		ft_env e;

		TL_CHECK(ft_empty_target(&e, ROWS, cases[i]) == 0);
		TL_CHECK_OK(ft_plan(&e, &p, &cfg, &err), &err);
		for (k = 0; k < p.n; k++)
			if (p.items[k].refuse) {
				refused++;
				TL_CHECK_EQ_STR(p.items[k].tb, "keyed");
				TL_CHECK_MSG(strstr(p.items[k].warning, "does not create a table with columns left out or renamed"),
					     "%s", p.items[k].warning);
			}
		TL_CHECK_EQ_INT(refused, 1);
		ft_plan_free(&p, cfg);
		TL_CHECK(ft_run(&e, NULL, &err) == TL_ERR_MISMATCH);
		TL_CHECK_MSG(strstr(err.message, "table s.keyed: [filter] ignore_cols or [router] col_map"), "%s", err.message);
		TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_SCHEMA_APPLY), 0);
		TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), 0);
		ft_teardown(&e);
	}
}

/* A check task compares rows: no definition is read, planned or created. */
TL_TEST(defs_check_task_creates_nothing)
{
	tl_error err = TL_ERROR_INIT;
	tl_config *cfg = NULL;
	tl_plan p = {0, NULL, NULL, NULL};
	tl_migrate_opts opts;
	tl_verify_report rep;
	int consistent = 1;
	size_t i;
	ft_env e;

	TL_CHECK(ft_empty_target(&e, ROWS, "[sinker]\nsink_type=check\n") == 0);
	/* plan: no definition steps; the missing target tables are an error, not created */
	if (ft_plan(&e, &p, &cfg, &err) == 0) {
		TL_CHECK(p.defs == NULL);
		ft_plan_free(&p, cfg);
	} else {
		TL_CHECK_MSG(strstr(err.message, "does not exist") != NULL, "%s", err.message);
	}
	cfg = NULL;
	memset(&opts, 0, sizeof(opts));
	memset(&rep, 0, sizeof(rep));
	opts.registry = &tl_fake_registry;
	TL_CHECK_OK(tl_config_load_with(e.ini, &tl_fake_registry, &cfg, &err), &err);
	/* every table is missing on the target: inconsistent (or an error naming one), never created */
	if (tl_migrate_check(cfg, &opts, NULL, NULL, &rep, &consistent, &err) == 0)
		TL_CHECK(!consistent);
	tl_verify_report_clear(&rep);
	tl_config_free(cfg);
	TL_CHECK_EQ_INT(tl_fake_calls(e.src, TL_SLOT_SCHEMA_EXTRACT), 0);
	TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_SCHEMA_PROBE), 0);
	TL_CHECK_EQ_INT(tl_fake_calls(e.dst, TL_SLOT_SCHEMA_APPLY), 0);
	for (i = 0; ft_tables[i]; i++)
		TL_CHECK_MSG(tl_fake_count(e.dst, "s", ft_tables[i]) == -1, "s.%s was created", ft_tables[i]);
	ft_teardown(&e);
}

/*
 * Transient failures (retries, #15) while loading tables this task created: each table's
 * unit of work is retried in the same run - its rows past the checkpoint removed, the rest
 * loaded in bulk (an upsert into the keyless table would fail in the fake) - and no
 * definition step is run twice.
 */
TL_TEST(defs_retry_of_a_created_table)
{
	static const struct {
		const char *table;
		long nth;
		int after;
	} cases[] = {
		{"keyed", 2, 1}, {"comp", 3, 0}, {"nuk", 4, 1}, {"nokey", 2, 1}, {"tkey", 5, 1},
	};
	size_t i, clean_applies;
	tl_error err = TL_ERROR_INIT;
	ft_env e;

	TL_CHECK(ft_empty_target(&e, ROWS, "[pipeline]\ncheckpoint_interval_secs=0\n") == 0);
	TL_CHECK_MSG(ft_run(&e, NULL, &err) == 0, "clean run: %s", err.message);
	clean_applies = (size_t)tl_fake_calls(e.dst, TL_SLOT_SCHEMA_APPLY);
	ft_teardown(&e);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct steps st;
		char what[96];

		snprintf(what, sizeof(what), "write %ld of %s%s", cases[i].nth, cases[i].table,
			 cases[i].after ? " (committed, success lost)" : "");
		TL_CHECK(ft_empty_target(&e, ROWS, "[pipeline]\ncheckpoint_interval_secs=0\n") == 0);
		tl_fake_fail_flags(e.dst, TL_SLOT_WRITE_BATCH, cases[i].table, cases[i].nth, TL_ERR_DB, cases[i].after,
				   TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST |
					   (cases[i].after ? TL_ERRF_COMMIT_UNKNOWN : 0));
		TL_CHECK_MSG(ft_run(&e, NULL, &err) == 0, "%s: the run did not survive: %s", what, err.message);
		check_whole(&e, what);
		TL_CHECK_MSG((size_t)tl_fake_calls(e.dst, TL_SLOT_SCHEMA_APPLY) == clean_applies,
			     "%s: %ld definition steps applied, %zu without the failure", what,
			     tl_fake_calls(e.dst, TL_SLOT_SCHEMA_APPLY), clean_applies);
		TL_CHECK_MSG(tl_fake_calls(e.dst, TL_SLOT_WRITE_BATCH) > 0, "%s", what);
		if (cases[i].after && strcmp(cases[i].table, "nokey") != 0)
			TL_CHECK_MSG(tl_fake_calls(e.dst, TL_SLOT_DELETE_AFTER_KEY) >= 1,
				     "%s: the retried table was not cleared past its checkpoint", what);
		read_steps(&e, NULL, &st);
		TL_CHECK_MSG(st.done == 24 && st.n == 24, "%s: %zu of %zu steps done", what, st.done, st.n);
		ft_teardown(&e);
	}
}
