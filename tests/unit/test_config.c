/*
 * test_config.c - task file loading (both [resumer] generations, defaults, errors with
 * FILE:LINE) and the [filter] matcher (wildcards, quoted literal names, regexes, long
 * literal lists).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "tideline/buf.h"
#include "tideline/config.h"
#include "tideline/filter.h"
#include "tl_test.h"

static const char *write_task(const char *name, const char *body)
{
	static char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tl_test_tmpdir(), name);
	f = fopen(path, "w");
	fputs(body, f);
	fclose(f);
	return path;
}

#define BASE "[extractor]\ndb_type=mysql\nurl=mysql://root:secret@127.0.0.1:3306\n[sinker]\ndb_type=mysql\nurl=mysql://root:@127.0.0.1:3307\nbatch_size=2\n"

TL_TEST(config_defaults_and_new_resumer)
{
	tl_config *c = NULL;
	tl_error err = TL_ERROR_INIT;
	const char *p = write_task("a.ini", BASE "[pipeline]\nbuffer_size=4\ncheckpoint_interval_secs=1\n"
					    "[runtime]\nlog_dir=./logs\nlog4rs_file=./log4rs.yaml\n"
					    "[resumer]\nresume_type=from_log\nlog_dir=/x/logs\nconfig_file=/x/resume.config\n");
	TL_CHECK_OK(tl_config_load(p, &c, &err), &err);
	TL_CHECK_EQ_INT(c->extract_batch_size, 4);
	TL_CHECK_EQ_INT(c->sink_batch_size, 2);
	TL_CHECK_EQ_INT(c->parallel_size, 1);
	TL_CHECK_EQ_INT(c->checkpoint_interval_secs, 1);
	TL_CHECK_EQ_INT(c->resume_type, TL_RESUME_FROM_LOG);
	TL_CHECK_EQ_STR(c->resume_log_dir, "/x/logs");
	TL_CHECK_EQ_STR(c->resume_config_file, "/x/resume.config");
	TL_CHECK_EQ_STR(c->store_path, "./logs/checkpoint.db");
	TL_CHECK_EQ_STR(c->task_id, "default");
	TL_CHECK_EQ_STR(c->ape_schema, "apecloud_metadata");
	/* log4rs_file is read and has no effect: a warning saying so */
	TL_CHECK_EQ_INT(c->nwarnings, 1);
	TL_CHECK_MSG(c->nwarnings && strstr(c->warnings[0], "a.ini:13: [runtime] log4rs_file has no effect"), "%s",
		     c->nwarnings ? c->warnings[0] : "");
	tl_config_free(c);
}

TL_TEST(config_legacy_resumer_keys)
{
	tl_config *c = NULL;
	tl_error err = TL_ERROR_INIT;
	const char *p = write_task("b.ini", BASE "[resumer]\nresume_from_log=true\nresume_log_dir=./rl\n"
					    "resume_config_file=./resume.config\n");
	TL_CHECK_OK(tl_config_load(p, &c, &err), &err);
	TL_CHECK_EQ_INT(c->resume_type, TL_RESUME_FROM_LOG);
	TL_CHECK_EQ_STR(c->resume_log_dir, "./rl");
	TL_CHECK_EQ_STR(c->resume_config_file, "./resume.config");
	tl_config_free(c);
}

TL_TEST(config_conflicting_resumer_keys_named)
{
	tl_config *c = NULL;
	tl_error err = TL_ERROR_INIT;
	const char *p = write_task("c.ini", BASE "[resumer]\nresume_type=dummy\nresume_from_log=true\n");
	TL_CHECK(tl_config_load(p, &c, &err) == TL_ERR_CONFIG);
	TL_CHECK_MSG(strstr(err.message, "resume_from_log") && strstr(err.message, "resume_type"), "%s", err.message);
}

TL_TEST(config_bad_value_names_line_and_key)
{
	tl_config *c = NULL;
	tl_error err = TL_ERROR_INIT;
	const char *p = write_task("d.ini", BASE "[pipeline]\nbuffer_size=abc\n");
	TL_CHECK(tl_config_load(p, &c, &err) == TL_ERR_CONFIG);
	TL_CHECK_MSG(strstr(err.message, "d.ini:9:") && strstr(err.message, "buffer_size=abc"), "%s", err.message);
}

TL_TEST(config_unknown_db_type_and_missing_url)
{
	tl_config *c = NULL;
	tl_error err = TL_ERROR_INIT;
	const char *p = write_task("e.ini", "[extractor]\ndb_type=oracle\nurl=x://h\n[sinker]\ndb_type=mysql\nurl=mysql://h\n");
	TL_CHECK(tl_config_load(p, &c, &err) == TL_ERR_CONFIG);
	TL_CHECK_MSG(strstr(err.message, "db_type=oracle"), "%s", err.message);
	p = write_task("f.ini", "[extractor]\ndb_type=mysql\n[sinker]\ndb_type=mysql\nurl=mysql://h\n");
	TL_CHECK(tl_config_load(p, &c, &err) == TL_ERR_CONFIG);
	TL_CHECK_MSG(strstr(err.message, "[extractor] url"), "%s", err.message);
}

TL_TEST(config_unknown_key_is_a_warning)
{
	tl_config *c = NULL;
	tl_error err = TL_ERROR_INIT;
	const char *p = write_task("g.ini", BASE "[runtime]\nfancy=1\n[nosuch]\nk=v\n");
	TL_CHECK_OK(tl_config_load(p, &c, &err), &err);
	TL_CHECK_EQ_INT(c->nwarnings, 2);
	tl_config_free(c);
}

TL_TEST(filter_wildcards_quotes_regex)
{
	tl_filter *f = NULL;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK_OK(tl_filter_new(&f, '`', NULL, NULL, "test_db_1.*,`test_db_@`.*", NULL, &err), &err);
	TL_CHECK(tl_filter_keep(f, "test_db_1", "no_pk_no_uk"));
	TL_CHECK(tl_filter_keep(f, "test_db_@", "resume_table_*$4"));
	TL_CHECK(!tl_filter_keep(f, "test_db_2", "x"));
	tl_filter_free(f);

	/* a wildcard must also match names that contain a literal '*' (regression) */
	TL_CHECK_OK(tl_filter_new(&f, '"', NULL, NULL, "public.resume_table_*,\"test_db_*.*\".*", NULL, &err), &err);
	TL_CHECK(tl_filter_keep(f, "public", "resume_table_*$4"));
	TL_CHECK(tl_filter_keep(f, "public", "resume_table_1"));
	TL_CHECK(tl_filter_keep(f, "test_db_*.*", "finished_table_*$1"));
	TL_CHECK(!tl_filter_keep(f, "test_db_x.y", "t"));
	tl_filter_free(f);

	TL_CHECK_OK(tl_filter_new(&f, 0, "test_db_1", NULL, NULL, "test_db_1.r#skip_[0-9]+#", &err), &err);
	TL_CHECK(tl_filter_keep(f, "test_db_1", "resume_tb_1"));
	TL_CHECK(!tl_filter_keep(f, "test_db_1", "skip_12"));
	tl_filter_free(f);

	TL_CHECK(tl_filter_new(&f, '`', NULL, NULL, "`unterminated.*", NULL, &err) == TL_ERR_CONFIG);
}

/* A task that lists 100,000 tables by name (do_tbs) keeps every one of them, and only them,
 * with literal names looked up by binary search (a linear scan per table took minutes). */
TL_TEST(filter_long_literal_lists)
{
	tl_filter *f = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_buf do_tbs = TL_BUF_INIT, ignore = TL_BUF_INIT;
	char tb[32];
	long i, kept = 0;
	clock_t t0;

	for (i = 100000; i > 0; i--) /* in reverse: the index must not rely on the given order */
		if (tl_buf_printf(&do_tbs, &err, "%sd%ld.t%06ld", i == 100000 ? "" : ",", i % 3, i))
			break;
	TL_CHECK_OK(tl_buf_puts(&do_tbs, ",`we``ird`.`x.y`,other.t*", &err), &err);
	TL_CHECK_OK(tl_buf_puts(&ignore, "d1.t000004,d2.*", &err), &err);
	TL_CHECK_OK(tl_filter_new(&f, '`', "only_db", NULL, tl_buf_cstr(&do_tbs), tl_buf_cstr(&ignore), &err), &err);
	t0 = clock();
	for (i = 1; i <= 100000; i++) {
		snprintf(tb, sizeof(tb), "t%06ld", i);
		kept += tl_filter_keep(f, i % 3 == 0 ? "d0" : i % 3 == 1 ? "d1" : "d2", tb);
	}
	TL_CHECK_MSG((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0, "100,000 lookups took %.2f s",
		     (double)(clock() - t0) / CLOCKS_PER_SEC);
	TL_CHECK_EQ_INT(kept, 100000 - 33333 - 1); /* d2.* and d1.t000004 ignored */
	TL_CHECK(tl_filter_keep(f, "d0", "t000003"));
	TL_CHECK(!tl_filter_keep(f, "d0", "t000001"));  /* listed under d1 */
	TL_CHECK(!tl_filter_keep(f, "d0", "t100001"));
	TL_CHECK(tl_filter_keep(f, "we`ird", "x.y"));
	TL_CHECK(!tl_filter_keep(f, "we`ird", "x"));
	TL_CHECK(tl_filter_keep(f, "other", "tables")); /* the wildcard rule still applies */
	TL_CHECK(tl_filter_keep(f, "only_db", "anything"));
	TL_CHECK(!tl_filter_keep(f, "d1", "t000004"));
	tl_filter_free(f);
	tl_buf_release(&do_tbs);
	tl_buf_release(&ignore);
}
