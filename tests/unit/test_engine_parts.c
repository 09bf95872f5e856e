/*
 * test_engine_parts.c - the pieces around the copy engine, with the fake driver where a
 * driver is needed: the recorder (store rows and log lines in both position formats, the
 * crash points of TL_DEBUG_CRASH in a child process), the importer shared by run and
 * import (strict and lenient bad lines, fingerprints, sources imported once), the fault
 * plan's spec parsing, the registry's driver checks and kind list, the config key table
 * (defaults, enums, bounds, where_conditions / partition_cols with FILE:LINE) and the
 * TL_DEBUG_TRACE lines.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fakes/fake_task.h"
#include "tl_test.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc((size_t)n + 1, 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (; text && *text; text++)
		n += *text == '\n';
	return n;
}

/* An env bound to the task of e, with its store open. */
static int open_env(ft_env *e, tl_config **cfg, tl_migrate_env *env, tl_fault *fault, tl_error *err)
{
	tl_migrate_opts opts;
	int rc;

	memset(&opts, 0, sizeof(opts));
	opts.registry = &tl_fake_registry;
	opts.fault = fault;
	memset(env, 0, sizeof(*env));
	if ((rc = tl_config_load_with(e->ini, &tl_fake_registry, cfg, err)) ||
	    (rc = tl_migrate_env_bind(env, *cfg, &opts, err)) || (rc = tl_migrate__mkdir_p((*cfg)->log_dir, err)) ||
	    (rc = tl_store_open(&env->store, (*cfg)->store_path, 0, err)))
		return rc;
	return 0;
}

static int keypos(tl_position *p, const char *tb, const char *val, tl_error *err)
{
	const char *cols[1] = {"id"}, *vals[1] = {val};

	return tl_pos_set(p, TL_POS_RDB_SNAPSHOT, "fake", "s", tb, TL_KEY_SINGLE, 1, cols, vals, err);
}

TL_TEST(recorder_writes_store_and_logs)
{
	static const char *const formats[] = {"order_col", "order_key"};
	size_t f;

	for (f = 0; f < 2; f++) {
		ft_env e;
		tl_config *cfg = NULL;
		tl_migrate_env env;
		tl_recorder *rec = NULL;
		tl_position p = TL_POSITION_INIT;
		tl_store_hit hit;
		tl_error err = TL_ERROR_INIT;
		char path[4300], extra[128], *text;

		snprintf(extra, sizeof(extra), "[runtime]\nposition_format=%s\n", formats[f]);
		TL_CHECK(ft_setup(&e) == 0 && ft_task(&e, extra));
		TL_CHECK_OK(open_env(&e, &cfg, &env, NULL, &err), &err);
		TL_CHECK_OK(tl_recorder_new(&rec, &env, &err), &err);
		TL_CHECK_OK(keypos(&p, "a", "5", &err), &err);
		TL_CHECK_OK(tl_recorder_position(rec, &p, 1, 5, &err), &err);
		tl_pos_clear(&p);
		TL_CHECK_OK(keypos(&p, "a", "9", &err), &err);
		TL_CHECK_OK(tl_recorder_position(rec, &p, 0, 9, &err), &err);
		tl_pos_clear(&p);
		TL_CHECK_OK(tl_recorder_finished(rec, "fake", "s", "b", 3, &err), &err);
		tl_recorder_free(rec);

		snprintf(path, sizeof(path), "%s/logs/position.log", e.dir);
		text = slurp(path);
		TL_CHECK_EQ_INT(count_lines(text), 2);
		if (f == 0) /* the seed's form for a current one-column key, order_key for checkpoints */
			TL_CHECK_MSG(text && strstr(text, "| current_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"fake\","
							  "\"schema\":\"s\",\"tb\":\"a\",\"order_col\":\"id\",\"value\":\"5\"}") &&
					     strstr(text, "| checkpoint_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"fake\","
							  "\"schema\":\"s\",\"tb\":\"a\",\"order_key\":{\"single\":[\"id\",\"9\"]}}"),
				     "%s", text ? text : "(none)");
		else
			TL_CHECK_MSG(text && strstr(text, "\"order_key\":{\"single\":[\"id\",\"5\"]}") &&
					     !strstr(text, "order_col"),
				     "%s", text ? text : "(none)");
		free(text);
		snprintf(path, sizeof(path), "%s/logs/finished.log", e.dir);
		text = slurp(path);
		TL_CHECK_MSG(text && strstr(text, " | {\"type\":\"RdbSnapshotFinished\",\"db_type\":\"fake\",\"schema\":\"s\","
						  "\"tb\":\"b\"}\n"),
			     "%s", text ? text : "(none)");
		free(text);
		/* the store answers as the logs say: current beats checkpoint, finished */
		memset(&hit, 0, sizeof(hit));
		TL_CHECK_OK(tl_store_lookup(env.store, "t1", "s", "a", 0, &hit, &err), &err);
		TL_CHECK(hit.state == TL_RESUME_POSITION && hit.is_current && hit.pos.nkeys == 1 &&
			 strcmp(hit.pos.keys[0].val, "5") == 0);
		tl_store_hit_clear(&hit);
		TL_CHECK_OK(tl_store_lookup(env.store, "t1", "s", "a", 1, &hit, &err), &err);
		TL_CHECK(hit.state == TL_RESUME_POSITION && !hit.is_current && strcmp(hit.pos.keys[0].val, "9") == 0);
		tl_store_hit_clear(&hit);
		TL_CHECK_OK(tl_store_lookup(env.store, "t1", "s", "b", 0, &hit, &err), &err);
		TL_CHECK(hit.state == TL_RESUME_FINISHED && hit.rows_copied == 3);
		tl_store_hit_clear(&hit);
		tl_migrate_env_release(&env);
		tl_config_free(cfg);
		ft_teardown(&e);
	}
}

/*
 * TL_DEBUG_CRASH=after_store_commit:2 kills the process at the second position, after
 * the store commit and before the log line: the store is one record ahead of the log.
 */
TL_TEST(crash_point_counts_down_then_kills)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	char path[4300], *text;
	pid_t pid;
	int status = 0;

	TL_CHECK(ft_setup(&e) == 0 && ft_task(&e, NULL));
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		tl_config *cfg = NULL;
		tl_migrate_env env;
		tl_recorder *rec = NULL;
		tl_position p = TL_POSITION_INIT;
		tl_fault *f = NULL;
		int i;

		if (tl_fault_new(&f, "after_store_commit:2", NULL, &err) || open_env(&e, &cfg, &env, f, &err) ||
		    tl_recorder_new(&rec, &env, &err))
			_exit(3);
		for (i = 1; i <= 3; i++) {
			char v[8];
			snprintf(v, sizeof(v), "%d", i);
			if (keypos(&p, "a", v, &err) || tl_recorder_position(rec, &p, 1, i, &err))
				_exit(4);
			tl_pos_clear(&p);
		}
		_exit(0); /* not reached: the second position kills */
	}
	TL_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	TL_CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
	snprintf(path, sizeof(path), "%s/logs/position.log", e.dir);
	text = slurp(path);
	TL_CHECK_EQ_INT(count_lines(text), 1);
	TL_CHECK(text && strstr(text, "\"value\":\"1\""));
	free(text);
	{
		tl_store *s = NULL;
		tl_store_hit hit;
		snprintf(path, sizeof(path), "%s/logs/checkpoint.db", e.dir);
		memset(&hit, 0, sizeof(hit));
		TL_CHECK_OK(tl_store_open(&s, path, 0, &err), &err);
		TL_CHECK_OK(tl_store_lookup(s, "t1", "s", "a", 0, &hit, &err), &err);
		TL_CHECK(hit.state == TL_RESUME_POSITION && strcmp(hit.pos.keys[0].val, "2") == 0);
		tl_store_hit_clear(&hit);
		tl_store_close(s);
	}
	ft_teardown(&e);
}

static int count_bad(void *ctx, const char *path, size_t line_no, const char *reason, tl_error *err)
{
	(void)path;
	(void)reason;
	(void)err;
	*(size_t *)ctx += line_no;
	return 0;
}

TL_TEST(importer_strict_lenient_and_fingerprint)
{
	ft_env e;
	tl_importer *im = NULL;
	tl_error err = TL_ERROR_INIT;
	const char *good, *bad;
	size_t idx, sum = 0, lines, recs, nbad;

	static const char good_text[] =
		"2024-01-01 00:00:00.000000 | current_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\","
		"\"schema\":\"s\",\"tb\":\"a\",\"order_key\":{\"single\":[\"id\",\"5\"]}}\n\n// a comment\n";

	TL_CHECK(ft_setup(&e) == 0);
	good = ft_write(&e, "good.log", good_text);
	TL_CHECK(good != NULL);
	TL_CHECK_OK(tl_importer_new(&im, &err), &err);
	TL_CHECK_OK(tl_importer_read(im, good, 0, &idx, &err), &err);
	/* the fingerprint of the import_source marks: size and 64-bit FNV-1a (of "" it is the offset basis) */
	TL_CHECK_EQ_INT(tl_importer_size(im, idx), sizeof(good_text) - 1);
	TL_CHECK(tl_importer_hash(im, idx) != 0xcbf29ce484222325ULL);
	TL_CHECK_OK(tl_importer_parse(im, idx, NULL, NULL, &err), &err);
	bad = ft_write(&e, "bad.log", "{\"type\":\"RdbSnapshot\",\"schema\":5}\nnot json at all\n");
	TL_CHECK(bad != NULL);
	TL_CHECK_OK(tl_importer_read(im, bad, 0, &idx, &err), &err);
	/* strict: the first bad line fails with FILE:LINE: reason */
	TL_CHECK(tl_importer_parse(im, idx, NULL, NULL, &err) == TL_ERR_PARSE);
	TL_CHECK_MSG(strstr(err.message, "bad.log:1: "), "%s", err.message);
	tl_importer_free(im);

	/* lenient: every bad line is reported and counted */
	TL_CHECK_OK(tl_importer_new(&im, &err), &err);
	TL_CHECK_OK(tl_importer_read(im, bad, 0, &idx, &err), &err);
	TL_CHECK_OK(tl_importer_parse(im, idx, count_bad, &sum, &err), &err);
	tl_importer_counts(im, &lines, &recs, &nbad);
	TL_CHECK_EQ_INT(nbad, 2);
	TL_CHECK_EQ_INT(sum, 1 + 2);
	TL_CHECK_EQ_INT(lines, 2);
	TL_CHECK_EQ_INT(recs, 0);
	/* a missing file: an error, or kept with size -1 when it may be missing */
	TL_CHECK(tl_importer_read(im, "/nonexistent/x.log", 0, &idx, &err) == TL_ERR_NOTFOUND);
	TL_CHECK_OK(tl_importer_read(im, "/nonexistent/x.log", 1, &idx, &err), &err);
	TL_CHECK_EQ_INT(tl_importer_size(im, idx), -1);
	tl_importer_free(im);
	ft_teardown(&e);
}

/* A run imports its text sources once: an unchanged resume.config does not undo progress. */
TL_TEST(sources_imported_once_per_content)
{
	ft_env e;
	tl_error err = TL_ERROR_INIT;
	char extra[600];
	const char *cfgfile;

	TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, 30) == 0);
	cfgfile = ft_write(&e, "resume.config",
			   "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"keyed\","
			   "\"order_key\":{\"single\":[\"id\",\"10\"]}}\n");
	snprintf(extra, sizeof(extra), "[filter]\ndo_dbs=none\ndo_tbs=s.keyed\n[resumer]\nconfig_file=%s\n", cfgfile);
	TL_CHECK(ft_task(&e, extra) != NULL);
	/* the first run resumes after 10 and fails after its second write (committed) */
	{
		size_t i;
		char a[16], v[16];
		for (i = 1; i <= 10; i++) {
			const char *row[2];
			snprintf(a, sizeof(a), "%zu", i);
			snprintf(v, sizeof(v), "v%zu", i);
			row[0] = a;
			row[1] = i % 7 ? v : NULL;
			TL_CHECK(tl_fake_insert(e.dst, "s", "keyed", row) == 0);
		}
	}
	tl_fake_fail_at(e.dst, TL_SLOT_WRITE_BATCH, 2, TL_ERR_DB, 1);
	TL_CHECK(ft_run(&e, NULL, &err) == TL_ERR_DB);
	tl_fake_reset_calls(e.src);
	/* the rerun continues from its own position (after 17), not from the file's 10 */
	TL_CHECK_OK(ft_run(&e, NULL, &err), &err);
	TL_CHECK_EQ_INT(tl_fake_rows_read(e.src), 30 - 17);
	TL_CHECK(tl_fake_same_rows(e.src, e.dst, "s", "keyed", err.message, sizeof(err.message)));
	ft_teardown(&e);
}

TL_TEST(fault_specs)
{
	static const struct {
		const char *crash, *fail, *msg;
	} bad[] = {
		{NULL, "nosuchslot:1", "must start with a driver slot name"},
		{NULL, "write_batch", "must start with a driver slot name"},
		{NULL, "write_batch:0", "is not a call count"},
		{NULL, "write_batch:x", "is not a call count"},
		{NULL, "write_batch:1:oops", "unknown error 'oops'"},
		{NULL, "write_batch:1:db:later", "can only be 'after'"},
		{NULL, "write_batch:1:db:after:x", "more than 4 parts"},
		{":3", NULL, "no crash point name"},
		{"after_target_commit:-1", NULL, "is not a count"},
	};
	tl_fault *f = NULL;
	tl_error err = TL_ERROR_INIT;
	size_t i;

	TL_CHECK_OK(tl_fault_new(&f, NULL, "", &err), &err);
	TL_CHECK(f == NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TL_CHECK(tl_fault_new(&f, bad[i].crash, bad[i].fail, &err) == TL_ERR_USAGE);
		TL_CHECK_MSG(strstr(err.message, bad[i].msg), "%s: %s", bad[i].fail ? bad[i].fail : bad[i].crash, err.message);
	}
	/* the nth call fails, once; other slots and the other calls pass */
	TL_CHECK_OK(tl_fault_new(&f, "after_store_commit:5", "read_batch:2:io,write_batch:1:transient:after", &err), &err);
	TL_CHECK(tl_fault_before(f, TL_SLOT_READ_BATCH, &err) == 0);
	TL_CHECK(tl_fault_before(f, TL_SLOT_WRITE_BATCH, &err) == 0);
	TL_CHECK(tl_fault_before(f, TL_SLOT_READ_BATCH, &err) == TL_ERR_IO);
	TL_CHECK(tl_fault_before(f, TL_SLOT_READ_BATCH, &err) == 0);
	/* ":after": a failed driver call keeps its own error; a successful one gets the fault */
	TL_CHECK(tl_fault_after(f, TL_SLOT_WRITE_BATCH, 0, &err) == TL_ERR_DB);
	TL_CHECK_EQ_STR(err.sqlstate, "08006");
	/* classified as the drivers classify a lost connection (error.h) */
	TL_CHECK(tl_error_is_transient(&err));
	TL_CHECK(err.flags & TL_ERRF_CONN_LOST);
	TL_CHECK(err.flags & TL_ERRF_COMMIT_UNKNOWN); /* a write that succeeded: its commit looks lost */
	TL_CHECK(tl_fault_after(f, TL_SLOT_WRITE_BATCH, 0, &err) == 0);
	tl_fault_crash_point(f, "after_store_commit"); /* 1 of 5: no crash */
	tl_fault_crash_point(NULL, "after_store_commit");
	tl_fault_free(f);
}

/* Drivers the registry refuses, and what it says. */
TL_TEST(registry_checks_drivers_once)
{
	struct tl_driver_ops broken = tl_fake_driver;
	const struct tl_driver_ops *list[] = {&broken, NULL};
	const tl_registry reg = {list, NULL};
	const tl_registry chained = {list, tl_registry_builtin()};
	const struct tl_driver_ops *ops = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_buf kinds = TL_BUF_INIT;

	TL_CHECK_OK(tl_registry_find(&tl_fake_registry, "FAKEDB", &ops, &err), &err); /* an alias, any case */
	TL_CHECK(ops == &tl_fake_driver);
	TL_CHECK_OK(tl_registry_find(NULL, "PostgreSQL", &ops, &err), &err);
	TL_CHECK(ops == &tl_driver_pg);
	TL_CHECK(tl_driver_find("mariadb") == &tl_driver_mysql);
	TL_CHECK(tl_driver_find("mongodb") == &tl_driver_mongo);
	TL_CHECK(tl_driver_find("fake") == NULL); /* registered only in tests */
	TL_CHECK(tl_registry_find(NULL, "oracle", &ops, &err) == TL_ERR_NOTFOUND);
	TL_CHECK_MSG(strstr(err.message, "oracle is not supported (mysql, pg or mongo)"), "%s", err.message);
	TL_CHECK_OK(tl_registry_kinds(&chained, &kinds, &err), &err);
	TL_CHECK_EQ_STR(tl_buf_cstr(&kinds), "fake, mysql, pg or mongo");
	tl_buf_release(&kinds);

	broken.write_batch = NULL;
	TL_CHECK(tl_registry_find(&reg, "fake", &ops, &err) == TL_ERR_INTERNAL);
	TL_CHECK_MSG(strstr(err.message, "lacks the mandatory slot write_batch"), "%s", err.message);
	broken = tl_fake_driver;
	broken.version = TL_DRIVER_VERSION + 1;
	TL_CHECK(tl_registry_find(&reg, "fake", &ops, &err) == TL_ERR_INTERNAL);
	TL_CHECK_MSG(strstr(err.message, "interface version"), "%s", err.message);
	broken = tl_fake_driver;
	broken.ape_store_put = NULL;
	TL_CHECK(tl_driver_check(&broken, &err) == TL_ERR_INTERNAL);
	TL_CHECK_MSG(strstr(err.message, "3 of the 4 ape_store slots"), "%s", err.message);
	broken = tl_fake_driver;
	broken.next_bound = NULL;
	TL_CHECK(tl_driver_check(&broken, &err) == TL_ERR_INTERNAL);
	/* every built-in driver passes */
	TL_CHECK_OK(tl_driver_check(&tl_driver_mysql, &err), &err);
	TL_CHECK_OK(tl_driver_check(&tl_driver_pg, &err), &err);
	TL_CHECK_OK(tl_driver_check(&tl_driver_mongo, &err), &err);
}

/* The wrappers: an optional slot a driver lacks is TL_ERR_UNSUPPORTED, not a crash. */
TL_TEST(wrappers_of_missing_optional_slots)
{
	struct tl_driver_ops bare = tl_fake_driver;
	tl_driver d = {&bare, NULL, NULL};
	tl_error err = TL_ERROR_INIT;
	tl_endpoint ep = {.db_type = "fake", .app_name = "test"};
	tl_conn *c = NULL;
	tl_table *t = NULL;
	char *a = NULL, *b = NULL;
	ft_env e;

	TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, 10) == 0);
	ep.url = e.src_url;
	bare.part_minmax = NULL;
	TL_CHECK_OK(tl_driver_connect(&d, &ep, &c, &err), &err);
	TL_CHECK_OK(tl_driver_describe(&d, c, "s", "keyed", &t, &err), &err);
	TL_CHECK(tl_driver_part_minmax(&d, c, t, &a, &b, &err) == TL_ERR_UNSUPPORTED);
	TL_CHECK_MSG(strstr(err.message, "the fake driver has no part_minmax"), "%s", err.message);
	TL_CHECK(tl_driver_can_split(&d, tl_table_part(t)));
	bare.next_bound = NULL;
	TL_CHECK(!tl_driver_can_split(&d, tl_table_part(t)));
	/* explicit key columns */
	TL_CHECK_EQ_INT(t->nkeys, 1);
	TL_CHECK_EQ_STR(t->keys[0]->name, "id");
	TL_CHECK(t->keys[0] == &t->cols[t->key_idx[0]]);
	tl_driver_free_table(&d, t);
	tl_driver_disconnect(&d, c);
	ft_teardown(&e);
}

static const char *task_with(ft_env *e, const char *extra)
{
	return ft_task(e, extra);
}

TL_TEST(config_key_table)
{
	ft_env e;
	tl_config *cfg = NULL;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK(ft_setup(&e) == 0);
	/* defaults come from the table */
	TL_CHECK(task_with(&e, NULL) != NULL);
	TL_CHECK_OK(tl_config_load_with(e.ini, &tl_fake_registry, &cfg, &err), &err);
	TL_CHECK_EQ_INT(cfg->buffer_size, 16000);
	TL_CHECK_EQ_INT(cfg->parallel_size, 1);
	TL_CHECK(cfg->parallel_type == TL_PAR_TABLE);
	TL_CHECK_EQ_INT(cfg->sink_batch_size, 0);
	TL_CHECK_EQ_INT(cfg->replace, 1);
	TL_CHECK(cfg->position_format == TL_STYLE_ORDER_COL);
	TL_CHECK_EQ_STR(cfg->log_level, "info");
	TL_CHECK_EQ_STR(cfg->ape_schema, "apecloud_metadata");
	TL_CHECK_EQ_STR(cfg->ape_table, "apedts_task_position");
	TL_CHECK_EQ_INT(cfg->extract_batch_size, 7);
	TL_CHECK(cfg->extract_batch_explicit);
	tl_config_free(cfg);

	/* enums, bounds and JSON lists name the file, the line, the key and the value */
	TL_CHECK(task_with(&e, "[extractor]\nparallel_type=sideways\n") != NULL);
	TL_CHECK(tl_config_load_with(e.ini, &tl_fake_registry, &cfg, &err) == TL_ERR_CONFIG);
	TL_CHECK_MSG(strstr(err.message, "task.ini:19: [extractor] parallel_type=sideways is not supported (must be table or chunk)"),
		     "%s", err.message);
	TL_CHECK(task_with(&e, "[sinker]\nbatch_size=0\n") != NULL);
	TL_CHECK(tl_config_load_with(e.ini, &tl_fake_registry, &cfg, &err) == TL_ERR_CONFIG);
	TL_CHECK_MSG(strstr(err.message, "task.ini:19: [sinker] batch_size=0 must be at least 1"), "%s", err.message);
	TL_CHECK(task_with(&e, "[filter]\nwhere_conditions=json:[{\"db\":\"s\",\"tb\":\"t\"}]\n") != NULL);
	TL_CHECK(tl_config_load_with(e.ini, &tl_fake_registry, &cfg, &err) == TL_ERR_CONFIG);
	TL_CHECK_MSG(strstr(err.message, "task.ini:19: [filter] where_conditions: every entry needs string db, tb and condition"),
		     "%s", err.message);
	TL_CHECK(task_with(&e, "[extractor]\npartition_cols=json:{}\n") != NULL);
	TL_CHECK(tl_config_load_with(e.ini, &tl_fake_registry, &cfg, &err) == TL_ERR_CONFIG);
	TL_CHECK_MSG(strstr(err.message, "task.ini:19: [extractor] partition_cols must be json:[{"), "%s", err.message);
	/* the kinds come from the registry */
	TL_CHECK(task_with(&e, NULL) != NULL);
	TL_CHECK(tl_config_load(e.ini, &cfg, &err) == TL_ERR_CONFIG);
	TL_CHECK_MSG(strstr(err.message, "[extractor] db_type=fake is not supported (mysql, pg or mongo)"), "%s", err.message);

	/* the rules: the last entry for a table wins */
	TL_CHECK(task_with(&e, "[extractor]\npartition_cols=json:[{\"db\":\"s\",\"tb\":\"t\",\"partition_col\":\"a\"},"
			       "{\"db\":\"s\",\"tb\":\"t\",\"partition_col\":\"b\"}]\n[sinker]\nbatch_size=5\n") != NULL);
	TL_CHECK_OK(tl_config_load_with(e.ini, &tl_fake_registry, &cfg, &err), &err);
	TL_CHECK(tl_table_rules_find(&cfg->partition_cols, "s", "t") != NULL);
	if (tl_table_rules_find(&cfg->partition_cols, "s", "t"))
		TL_CHECK_EQ_STR(tl_table_rules_find(&cfg->partition_cols, "s", "t")->value, "b");
	TL_CHECK(tl_table_rules_find(&cfg->partition_cols, "s", "u") == NULL);
	TL_CHECK_EQ_INT(cfg->sink_batch_size, 5);
	tl_config_free(cfg);
	ft_teardown(&e);
}

/* TL_DEBUG_TRACE: every driver call of a run in default.log, with its result. */
TL_TEST(trace_logs_driver_calls)
{
	ft_env e;
	tl_config *cfg = NULL;
	tl_logger *log = NULL;
	tl_migrate_opts opts;
	tl_error err = TL_ERROR_INIT;
	char path[4300], *text;

	TL_CHECK(ft_setup(&e) == 0 && ft_standard_tables(&e, 20) == 0 &&
		 ft_task(&e, "[filter]\ndo_dbs=none\ndo_tbs=s.keyed\n[runtime]\nlog_level=debug\n"));
	TL_CHECK_OK(tl_config_load_with(e.ini, &tl_fake_registry, &cfg, &err), &err);
	TL_CHECK_OK(tl_logger_new(&log, TL_LOG_DEBUG, TL_LOG_OFF, &err), &err);
	memset(&opts, 0, sizeof(opts));
	opts.registry = &tl_fake_registry;
	opts.log = log;
	opts.trace = 1;
	TL_CHECK_OK(tl_migrate_run(cfg, &opts, &err), &err);
	tl_logger_free(log);
	tl_config_free(cfg);
	snprintf(path, sizeof(path), "%s/logs/default.log", e.dir);
	text = slurp(path);
	TL_CHECK_MSG(text && strstr(text, "driver fake: write_batch s.keyed: ok (") && strstr(text, "driver fake: connect: ok"),
		     "%s", text ? text : "(no default.log)");
	free(text);
	ft_teardown(&e);
}
