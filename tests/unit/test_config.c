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

/* ---- #13: every ape-dts key acted on, warned about or refused ---------------------------- */

static int load(const char *name, const char *body, tl_config **c, tl_error *err)
{
	*c = NULL;
	return tl_config_load(write_task(name, body), c, err);
}

static int has_warning(const tl_config *c, const char *what)
{
	size_t i;

	for (i = 0; i < c->nwarnings; i++)
		if (strstr(c->warnings[i], what))
			return 1;
	return 0;
}

TL_TEST(config_connection_keys_reach_the_endpoints)
{
	tl_config *c = NULL;
	tl_error err = TL_ERROR_INIT;
	char body[8192];
	const char *ca = write_task("ca.pem", "-----BEGIN CERTIFICATE-----\n");
	char capath[4096];
	tl_endpoint s, d, r;

	snprintf(capath, sizeof(capath), "%s", ca);
	snprintf(body, sizeof(body),
		 BASE "ssl_mode=verify_full\nssl_ca_path=%s\nconnection_timeout_secs=3\nio_timeout_secs=40\n"
		      "lock_wait_timeout_secs=5\napp_name=nightly\n"
		      "[extractor]\nssl_mode=require\nmax_rps=500\nmax_mbps=2\n[pipeline]\nmax_rps=300\n"
		      "[resumer]\nresume_type=from_target\n",
		 capath);
	TL_CHECK_OK(load("conn.ini", body, &c, &err), &err);
	s = tl_config_source(c);
	d = tl_config_target(c);
	r = tl_config_resumer(c);
	TL_CHECK_EQ_STR(s.ssl_mode, "require");
	TL_CHECK(s.ssl_ca_path == NULL && s.connect_timeout_secs == 0);
	TL_CHECK_EQ_STR(s.app_name, "tideline");
	TL_CHECK_EQ_STR(d.ssl_mode, "verify_full");
	TL_CHECK_EQ_STR(d.ssl_ca_path, capath);
	TL_CHECK(d.connect_timeout_secs == 3 && d.io_timeout_secs == 40 && d.lock_wait_secs == 5);
	TL_CHECK_EQ_STR(d.app_name, "nightly");
	/* from_target: ape-dts' store is reached as the sinker is */
	TL_CHECK_EQ_STR(r.ssl_mode, "verify_full");
	TL_CHECK_EQ_STR(r.url, d.url);
	TL_CHECK(r.connect_timeout_secs == 3);
	/* the smallest max_rps of the three keys; MiB/s in bytes */
	TL_CHECK_EQ_INT(tl_config_rows_per_sec(c), 300);
	TL_CHECK_EQ_INT(tl_config_bytes_per_sec(c), 2 << 20);
	tl_config_free(c);
}

TL_TEST(config_is_direct_connection_goes_into_a_mongo_url)
{
	tl_config *c = NULL;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK_OK(load("direct.ini",
			 "[extractor]\ndb_type=mongo\nurl=mongodb://h:1/?w=1\nis_direct_connection=true\n"
			 "[sinker]\ndb_type=mongo\nurl=mongodb://h:2\n",
			 &c, &err),
		    &err);
	TL_CHECK_EQ_STR(tl_config_source(c).url, "mongodb://h:1/?w=1&directConnection=true");
	TL_CHECK_EQ_STR(tl_config_target(c).url, "mongodb://h:2");
	tl_config_free(c);
	/* on MySQL it changes nothing: a warning */
	TL_CHECK_OK(load("direct2.ini", BASE "is_direct_connection=true\n", &c, &err), &err);
	TL_CHECK(has_warning(c, "[sinker] is_direct_connection has no effect: it applies to MongoDB only"));
	tl_config_free(c);
}

/* Keys that would change what is read or written and that tideline cannot act on. */
TL_TEST(config_refusals_name_key_and_why)
{
	static const struct {
		const char *extra, *want;
	} cases[] = {
		{"[extractor]\nextract_type=cdc\n", ":9: [extractor] extract_type=cdc is not supported: tideline copies a snapshot"},
		{"[extractor]\nextract_type=struct\n", "extract_type=struct is not supported yet"},
		{"[sinker]\nsink_type=sql\n", "[sinker] sink_type=sql is not supported"},
		{"[sinker]\nsink_type=wirte\n", "sink_type=wirte is not supported (must be"},
		{"[extractor]\nbinlog_position=4\n", "binlog_position=4 is not supported: it says where a change stream starts"},
		{"[extractor]\nsample_interval=3\n", "sampling changes which rows"},
		{"[checker]\n", ":8: [checker] asks for an inline check, which is not supported"},
		{"[checker]\nbatch_size=10\n", "inline check, which is not supported: copy first, then run the same task"},
		{"[checker]\nenable=true\n", "config [checker].enable is no longer supported"},
		{"[sinker]\nsink_type=check\n[checker]\nsample_percent=10\n", "sample_percent=10 is not supported: sampling"},
		{"[sinker]\nsink_type=check\n[checker_output]\noutput_full_row=true\n", "output_full_row=true is not supported"},
		{"[sinker]\nsink_type=check\n[checker_output]\noutput_type=s3\n", "output_type=s3 is not supported"},
		{"[sinker]\nsink_type=check\ncheck_log_dir=/a\n[checker_output]\ncheck_log_dir=/b\n",
		 "[checker_output] check_log_dir=/b disagrees with [sinker] check_log_dir=/a"},
		{"[sinker]\nsink_type=check\n[checker_output]\ncheck_log_file_size=lots\n", "check_log_file_size=lots must be a size"},
		{"[checker_cdc]\nis_enabled=true\n", "is_enabled=true is not supported"},
		{"[processor]\nlua_code_file=x.lua\n", "a Lua processor rewrites rows"},
		{"[data_marker]\ntopo_name=t\n", "data markers drop rows"},
		{"[pipeline]\npipeline_type=http_server\n", "pipeline_type=http_server is not supported"},
		{"[sinker]\ndisable_foreign_key_checks=false\n", "disable_foreign_key_checks=false is not supported"},
		{"[sinker]\nsink_type=check\n[filter]\nwhere_conditions=json:[{\"db\":\"a\",\"tb\":\"t\",\"condition\":\"id > 1\"}]\n",
		 ":11: [filter] where_conditions is not supported in a check task"},
		{"[filter]\ndo_events=update,delete\n", "do_events=update,delete selects no rows"},
		{"[filter]\ndo_events=insert,truncate\n", "unknown event 'truncate'"},
		{"[sinker]\nssl_mode=sometimes\n", ":9: [sinker] ssl_mode=sometimes is not supported"},
		{"[sinker]\nssl_ca_path=/nonexistent/ca.pem\n", "ssl_ca_path=/nonexistent/ca.pem cannot be read"},
		{"[extractor]\nmax_mbps=5000\n", "max_mbps=5000 can not be parsed"},
		{"[filtre]\ndo_dbs=world\n", ":9: unknown section [filtre]: did you mean [filter]?"},
		{"[filter]\ndo_db=world\n", ":9: unknown key [filter] do_db: did you mean do_dbs?"},
		{"[router]\ndb_map=a:b,a:c\n", ":9: [router] db_map entries 1 ('a:b') and 2 ('a:c') map database 'a'"},
		{"[router]\ncol_map=json:[{\"db\":\"a\"]\n", ":9: [router] col_map: invalid JSON"},
		{"[filter]\nignore_cols=json:[]x\n", ":9: [filter] ignore_cols"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tl_config *c = NULL;
		tl_error err = TL_ERROR_INIT;
		char body[1024];

		snprintf(body, sizeof(body), "%s%s", BASE, cases[i].extra);
		TL_CHECK_MSG(load("refuse.ini", body, &c, &err) == TL_ERR_CONFIG, "case %zu loaded: %s", i, cases[i].extra);
		TL_CHECK_MSG(strstr(err.message, cases[i].want), "case %zu: %s", i, err.message);
		tl_config_free(c);
	}
}

/* Keys that change no row read or written: a warning naming the key and why; false is fine. */
TL_TEST(config_warnings_name_key_and_why)
{
	static const struct {
		const char *extra, *want;
	} cases[] = {
		{"[parallelizer]\nparallel_size=8\n", "[parallelizer] parallel_size has no effect: tideline has no separate write stage"},
		{"[router]\ntopic_map=*.*:t\n", "[router] topic_map has no effect: it names Kafka topics"},
		{"[filter]\ndo_ddls=*\n", "[filter] do_ddls has no effect: it applies to CDC only"},
		{"[filter]\ndo_structures=table\n", "[filter] do_structures has no effect"},
		{"[extractor]\nmax_connections=10\n", "[extractor] max_connections has no effect: tideline opens one connection"},
		{"[pipeline]\nbuffer_memory_mb=200\n", "[pipeline] buffer_memory_mb has no effect"},
		{"[sinker]\ntransaction_isolation=read_committed\n", "[sinker] transaction_isolation has no effect"},
		{"[sinker]\nconflict_policy=interrupt\n", "[sinker] conflict_policy has no effect: it applies to definitions"},
		{"[metrics]\nhttp_port=9000\n", "[metrics] http_port has no effect"},
		{"[runtime]\ncheck_result_stdout_only=true\n", "check_result_stdout_only has no effect: it applies to check tasks"},
		{"[checker_output]\noutput_full_row=false\n[extractor]\nextract_type=snapshot\n", NULL},
		{"[filter]\ndo_events=insert,update\n", NULL},
		{"[pipeline]\npipeline_type=basic\n", NULL},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tl_config *c = NULL;
		tl_error err = TL_ERROR_INIT;
		char body[1024];

		snprintf(body, sizeof(body), "%s%s", BASE, cases[i].extra);
		TL_CHECK_OK(load("warn.ini", body, &c, &err), &err);
		if (cases[i].want)
			TL_CHECK_MSG(c->nwarnings == 1 && has_warning(c, cases[i].want), "case %zu: %zu warnings: %s", i,
				     c->nwarnings, c->nwarnings ? c->warnings[0] : "");
		else
			TL_CHECK_MSG(c->nwarnings == 0, "case %zu: %s", i, c->warnings[0]);
		tl_config_free(c);
	}
}

TL_TEST(config_check_task_settings)
{
	tl_config *c = NULL;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK_OK(load("check1.ini", BASE "sink_type=check\n[runtime]\nlog_dir=/l\n", &c, &err), &err);
	TL_CHECK_EQ_INT(c->sink_type, TL_SINK_CHECK);
	TL_CHECK_EQ_STR(c->check_log_dir, "/l/check");
	TL_CHECK(!c->check_log_legacy && c->check_log_max_rows == 0 && c->check_log_max_bytes == 0);
	tl_config_free(c);
	/* ape-dts 2.0.25 kept the directory in [sinker]: its layout; the spellings agree */
	TL_CHECK_OK(load("check2.ini",
			 BASE "sink_type=check\ncheck_log_dir=/c\n[checker]\ncheck_log_max_rows=5\n"
			      "[checker_output]\ncheck_log_file_size=10mb\ncheck_log_max_rows=5\n",
			 &c, &err),
		    &err);
	TL_CHECK_EQ_STR(c->check_log_dir, "/c");
	TL_CHECK(c->check_log_legacy);
	TL_CHECK_EQ_INT(c->check_log_max_rows, 5);
	TL_CHECK_EQ_INT(c->check_log_max_bytes, 10 << 20);
	tl_config_free(c);
	/* the same directory also in a newer spelling: the newer layout */
	TL_CHECK_OK(load("check3.ini", BASE "sink_type=check\ncheck_log_dir=/c\n[checker_output]\ncheck_log_dir=/c\n",
			 &c, &err),
		    &err);
	TL_CHECK(!c->check_log_legacy);
	tl_config_free(c);
}
