/*
 * test_checklog.c - ape-dts' check logs: miss.log / diff.log lines and summary.log
 * reproduced byte for byte from ape-dts' expect_check_log fixtures (mysql, pg, mongo
 * basic_test and route_test at 2.0.26) and docs (2.0.25's log_type form), the RFC 3339
 * times, and the writer: files, row and byte limits, counts per (source, target) table,
 * extra.log, removal of empty logs, several threads at once, and unwritable directories.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tideline/checklog.h"
#include "tl_test.h"

static char *row_line(enum tl_checklog_style style, enum tl_checklog_kind kind, const tl_checklog_row *row)
{
	tl_buf b = TL_BUF_INIT;
	tl_error err = TL_ERROR_INIT;

	if (tl_checklog_format_row(&b, style, kind, row, &err) != 0) {
		tl_test_fail(__FILE__, __LINE__, "format_row: %s", err.message);
		tl_buf_release(&b);
		return strdup("(failed)");
	}
	return tl_buf_detach(&b);
}

#define CHECK_LINE(style, kind, row, want)                                                   \
	do {                                                                                 \
		char *_l = row_line(style, kind, row);                                       \
		TL_CHECK_EQ_STR(_l, want "\n");                                              \
		free(_l);                                                                    \
	} while (0)

/* ---- lines ----------------------------------------------------------------------------- */

TL_TEST(mysql_basic_test_lines)
{
	/* dt-tests/tests/mysql_to_mysql/check/basic_test/expect_check_log/{diff,miss}.log; the
	 * columns are given in another order than the log's to show the maps are sorted */
	const char *kc[2] = {"p\\k&2", "p,k,1"};
	const char *kv[2] = {"pk2,value,2", "pk1,value,2"};
	tl_checklog_diff d2[2] = {{"col\\3", "col3:value", "col1:value", NULL, NULL},
				  {"col\"1", "col:1:value", "col:3:value", NULL, NULL}};
	tl_checklog_row r = {"test_db_1", "col_has_special_character_table", NULL, NULL, 2, kc, kv, 2, d2};
	const char *k6[1] = {"f_0"}, *v6[1] = {"6"};
	tl_checklog_diff d6[1] = {{"f_1", NULL, "1", "None", "Short"}};
	tl_checklog_row r6 = {"test_db_1", "one_pk_no_uk", NULL, NULL, 1, k6, v6, 1, d6};
	const char *km[2] = {"f_2", "f_1"}, *vm[2] = {"1", "7"};
	tl_checklog_row rm = {"test_db_1", "no_pk_multi_uk", NULL, NULL, 2, km, vm, 0, NULL};
	const char *vn[2] = {NULL, NULL};
	tl_checklog_row rn = {"test_db_1", "no_pk_one_uk", NULL, NULL, 2, km, vn, 0, NULL};

	CHECK_LINE(TL_CHECKLOG_CURRENT, TL_CHECKLOG_DIFF, &r,
		   "{\"schema\":\"test_db_1\",\"tb\":\"col_has_special_character_table\",\"id_col_values\":{\"p,k,1\":\"pk1,value,2\","
		   "\"p\\\\k&2\":\"pk2,value,2\"},\"diff_col_values\":{\"col\\\"1\":{\"src\":\"col:1:value\",\"dst\":\"col:3:value\"},"
		   "\"col\\\\3\":{\"src\":\"col3:value\",\"dst\":\"col1:value\"}}}");
	CHECK_LINE(TL_CHECKLOG_CURRENT, TL_CHECKLOG_DIFF, &r6,
		   "{\"schema\":\"test_db_1\",\"tb\":\"one_pk_no_uk\",\"id_col_values\":{\"f_0\":\"6\"},\"diff_col_values\":"
		   "{\"f_1\":{\"src\":null,\"dst\":\"1\",\"src_type\":\"None\",\"dst_type\":\"Short\"}}}");
	CHECK_LINE(TL_CHECKLOG_CURRENT, TL_CHECKLOG_MISS, &rm,
		   "{\"schema\":\"test_db_1\",\"tb\":\"no_pk_multi_uk\",\"id_col_values\":{\"f_1\":\"7\",\"f_2\":\"1\"}}");
	/* docs/en/snapshot/check.md: a miss whose unique key is NULL */
	CHECK_LINE(TL_CHECKLOG_CURRENT, TL_CHECKLOG_MISS, &rn,
		   "{\"schema\":\"test_db_1\",\"tb\":\"no_pk_one_uk\",\"id_col_values\":{\"f_1\":null,\"f_2\":null}}");
	/* a miss line never carries diff_col_values, even if the caller passes some */
	r6.ndiff = 1;
	CHECK_LINE(TL_CHECKLOG_CURRENT, TL_CHECKLOG_MISS, &r6,
		   "{\"schema\":\"test_db_1\",\"tb\":\"one_pk_no_uk\",\"id_col_values\":{\"f_0\":\"6\"}}");
}

TL_TEST(pg_and_mongo_lines)
{
	/* pg_to_pg/check/basic_test diff.log line 1 and default_table line 2 */
	const char *kc[2] = {"p,k,1", "p\\k&2"}, *kv[2] = {"pk1,value,2", "pk2,value,2"};
	tl_checklog_diff d[2] = {{"col`1", "col:1:value", "col:3:value", NULL, NULL},
				 {"col\\3", "col\\3:value", "col\\1:value", NULL, NULL}};
	tl_checklog_row r = {"public", "col_has_special_character_table", NULL, NULL, 2, kc, kv, 2, d};
	const char *k8[1] = {"pk"}, *v8[1] = {"8"};
	tl_checklog_diff d8[1] = {{"val", NULL, "1.00000000", "None", "Decimal"}};
	tl_checklog_row r8 = {"public", "default_table", NULL, NULL, 1, k8, v8, 1, d8};
	/* mongo_to_mongo/check/basic_test: the _id in position form (tagged JSON in a string) */
	const char *ki[1] = {"_id"}, *vi[1] = {"{\"ObjectId\":{\"$oid\":\"65733a82fb2ce9836745de4c\"}}"};
	tl_checklog_diff da[1] = {{"age", "3", "3000", NULL, NULL}};
	tl_checklog_row rg = {"test_db_1", "tb_1", NULL, NULL, 1, ki, vi, 1, da};

	CHECK_LINE(TL_CHECKLOG_CURRENT, TL_CHECKLOG_DIFF, &r,
		   "{\"schema\":\"public\",\"tb\":\"col_has_special_character_table\",\"id_col_values\":{\"p,k,1\":\"pk1,value,2\","
		   "\"p\\\\k&2\":\"pk2,value,2\"},\"diff_col_values\":{\"col\\\\3\":{\"src\":\"col\\\\3:value\",\"dst\":\"col\\\\1:value\"},"
		   "\"col`1\":{\"src\":\"col:1:value\",\"dst\":\"col:3:value\"}}}");
	CHECK_LINE(TL_CHECKLOG_CURRENT, TL_CHECKLOG_DIFF, &r8,
		   "{\"schema\":\"public\",\"tb\":\"default_table\",\"id_col_values\":{\"pk\":\"8\"},\"diff_col_values\":{\"val\":"
		   "{\"src\":null,\"dst\":\"1.00000000\",\"src_type\":\"None\",\"dst_type\":\"Decimal\"}}}");
	CHECK_LINE(TL_CHECKLOG_CURRENT, TL_CHECKLOG_DIFF, &rg,
		   "{\"schema\":\"test_db_1\",\"tb\":\"tb_1\",\"id_col_values\":{\"_id\":\"{\\\"ObjectId\\\":{\\\"$oid\\\":"
		   "\\\"65733a82fb2ce9836745de4c\\\"}}\"},\"diff_col_values\":{\"age\":{\"src\":\"3\",\"dst\":\"3000\"}}}");
}

TL_TEST(route_test_lines)
{
	/* mysql_to_mysql/check/route_test: schema/tb are the source names, target_* only when routed */
	const char *k[1] = {"f_0"}, *v3[1] = {"3"}, *v4[1] = {"4"};
	tl_checklog_diff d[1] = {{"f_1", "3", "4", NULL, NULL}};
	tl_checklog_row a = {"test_db_1", "one_pk_no_uk_1", "dst_test_db_1", NULL, 1, k, v3, 1, d};
	tl_checklog_row b = {"test_db_2", "one_pk_no_uk_1", "dst_test_db_2", "dst_one_pk_no_uk_1", 1, k, v4, 0, NULL};
	tl_checklog_row c = {"test_db_2", "one_pk_no_uk_2", "test_db_2", "one_pk_no_uk_2", 1, k, v3, 1, d};

	CHECK_LINE(TL_CHECKLOG_CURRENT, TL_CHECKLOG_DIFF, &a,
		   "{\"schema\":\"test_db_1\",\"tb\":\"one_pk_no_uk_1\",\"target_schema\":\"dst_test_db_1\",\"target_tb\":"
		   "\"one_pk_no_uk_1\",\"id_col_values\":{\"f_0\":\"3\"},\"diff_col_values\":{\"f_1\":{\"src\":\"3\",\"dst\":\"4\"}}}");
	CHECK_LINE(TL_CHECKLOG_CURRENT, TL_CHECKLOG_MISS, &b,
		   "{\"schema\":\"test_db_2\",\"tb\":\"one_pk_no_uk_1\",\"target_schema\":\"dst_test_db_2\",\"target_tb\":"
		   "\"dst_one_pk_no_uk_1\",\"id_col_values\":{\"f_0\":\"4\"}}");
	CHECK_LINE(TL_CHECKLOG_CURRENT, TL_CHECKLOG_DIFF, &c,
		   "{\"schema\":\"test_db_2\",\"tb\":\"one_pk_no_uk_2\",\"id_col_values\":{\"f_0\":\"3\"},\"diff_col_values\":"
		   "{\"f_1\":{\"src\":\"3\",\"dst\":\"4\"}}}");
	/* extra rows (tideline's extra.log) have the miss shape */
	CHECK_LINE(TL_CHECKLOG_CURRENT, TL_CHECKLOG_EXTRA, &b,
		   "{\"schema\":\"test_db_2\",\"tb\":\"one_pk_no_uk_1\",\"target_schema\":\"dst_test_db_2\",\"target_tb\":"
		   "\"dst_one_pk_no_uk_1\",\"id_col_values\":{\"f_0\":\"4\"}}");
}

TL_TEST(v25_lines)
{
	/* ape-dts 2.0.25 docs/en/snapshot/check.md and its basic_test miss.log */
	const char *k[2] = {"f_1", "f_2"}, *v[2] = {"7", "1"}, *k0[1] = {"f_0"}, *v6[1] = {"6"};
	tl_checklog_diff d[1] = {{"f_1", NULL, "1", "None", "Short"}};
	tl_checklog_row m = {"test_db_1", "no_pk_one_uk", "routed", NULL, 2, k, v, 0, NULL};
	tl_checklog_row dr = {"test_db_1", "one_pk_no_uk", NULL, NULL, 1, k0, v6, 1, d};

	CHECK_LINE(TL_CHECKLOG_V25, TL_CHECKLOG_MISS, &m,
		   "{\"log_type\":\"Miss\",\"schema\":\"test_db_1\",\"tb\":\"no_pk_one_uk\",\"id_col_values\":{\"f_1\":\"7\","
		   "\"f_2\":\"1\"},\"diff_col_values\":{}}");
	CHECK_LINE(TL_CHECKLOG_V25, TL_CHECKLOG_DIFF, &dr,
		   "{\"log_type\":\"Diff\",\"schema\":\"test_db_1\",\"tb\":\"one_pk_no_uk\",\"id_col_values\":{\"f_0\":\"6\"},"
		   "\"diff_col_values\":{\"f_1\":{\"src\":null,\"dst\":\"1\"}}}");
}

TL_TEST(escaping)
{
	const char *k[1] = {"k\x01\t"}, *v[1] = {"é\n\"\\/"};
	tl_checklog_row r = {"s\"", "t\\", NULL, NULL, 1, k, v, 0, NULL};

	CHECK_LINE(TL_CHECKLOG_CURRENT, TL_CHECKLOG_MISS, &r,
		   "{\"schema\":\"s\\\"\",\"tb\":\"t\\\\\",\"id_col_values\":{\"k\\u0001\\t\":\"é\\n\\\"\\\\/\"}}");
}

/* ---- summary ----------------------------------------------------------------------------- */

static char *summary_line(const tl_checklog_summary *s)
{
	tl_buf b = TL_BUF_INIT;
	tl_error err = TL_ERROR_INIT;

	if (tl_checklog_format_summary(&b, s, &err) != 0) {
		tl_test_fail(__FILE__, __LINE__, "format_summary: %s", err.message);
		return strdup("(failed)");
	}
	return tl_buf_detach(&b);
}

TL_TEST(summary_fixtures)
{
	/* mysql_to_mysql/check/route_test/expect_check_log/summary.log, tables given shuffled */
	tl_checklog_table t[6] = {
		{"test_db_3", "one_pk_no_uk_2", NULL, NULL, 4, 1, 1, 0, 0},
		{"test_db_1", "one_pk_no_uk_2", "dst_test_db_1", "one_pk_no_uk_2", 4, 1, 1, 0, 0},
		{"test_db_2", "one_pk_no_uk_1", "dst_test_db_2", "dst_one_pk_no_uk_1", 4, 1, 1, 0, 0},
		{"test_db_1", "one_pk_no_uk_1", "dst_test_db_1", NULL, 4, 1, 1, 0, 0},
		{"test_db_2", "one_pk_no_uk_2", "test_db_2", "one_pk_no_uk_2", 4, 1, 1, 0, 0},
		{"test_db_3", "one_pk_no_uk_1", "dst_test_db_3", "dst_one_pk_no_uk_1", 4, 1, 1, 0, 0},
	};
	tl_checklog_summary s = {"2026-05-13T23:47:16.308507+08:00", "2026-05-13T23:47:17.122352+08:00", 24, 6, 6, 0, 0, 6, t};
	tl_checklog_table pg[3] = {{"public", "ignore_cols_1", NULL, NULL, 2, 0, 1, 0, 0},
				   {"public", "default_table", NULL, NULL, 12, 3, 3, 0, 0},
				   {"public", "col_has_special_character_table", NULL, NULL, 5, 2, 2, 0, 0}};
	tl_checklog_summary sp = {"2026-05-13T23:52:53.169174+08:00", "2026-05-13T23:52:54.592103+08:00", 19, 5, 6, 0, 0, 3, pg};
	tl_checklog_summary clean = {"a", "b", 2, 0, 0, 0, 0, 0, NULL};
	char *l;

	l = summary_line(&s);
	TL_CHECK_EQ_STR(l, "{\"start_time\":\"2026-05-13T23:47:16.308507+08:00\",\"end_time\":\"2026-05-13T23:47:17.122352+08:00\","
			   "\"is_consistent\":false,\"checked_count\":24,\"miss_count\":6,\"diff_count\":6,\"skip_count\":0,\"tables\":["
			   "{\"schema\":\"test_db_1\",\"tb\":\"one_pk_no_uk_1\",\"target_schema\":\"dst_test_db_1\",\"target_tb\":\"one_pk_no_uk_1\",\"checked_count\":4,\"miss_count\":1,\"diff_count\":1,\"skip_count\":0},"
			   "{\"schema\":\"test_db_1\",\"tb\":\"one_pk_no_uk_2\",\"target_schema\":\"dst_test_db_1\",\"target_tb\":\"one_pk_no_uk_2\",\"checked_count\":4,\"miss_count\":1,\"diff_count\":1,\"skip_count\":0},"
			   "{\"schema\":\"test_db_2\",\"tb\":\"one_pk_no_uk_1\",\"target_schema\":\"dst_test_db_2\",\"target_tb\":\"dst_one_pk_no_uk_1\",\"checked_count\":4,\"miss_count\":1,\"diff_count\":1,\"skip_count\":0},"
			   "{\"schema\":\"test_db_2\",\"tb\":\"one_pk_no_uk_2\",\"checked_count\":4,\"miss_count\":1,\"diff_count\":1,\"skip_count\":0},"
			   "{\"schema\":\"test_db_3\",\"tb\":\"one_pk_no_uk_1\",\"target_schema\":\"dst_test_db_3\",\"target_tb\":\"dst_one_pk_no_uk_1\",\"checked_count\":4,\"miss_count\":1,\"diff_count\":1,\"skip_count\":0},"
			   "{\"schema\":\"test_db_3\",\"tb\":\"one_pk_no_uk_2\",\"checked_count\":4,\"miss_count\":1,\"diff_count\":1,\"skip_count\":0}]}\n");
	free(l);
	l = summary_line(&sp);
	TL_CHECK_EQ_STR(l, "{\"start_time\":\"2026-05-13T23:52:53.169174+08:00\",\"end_time\":\"2026-05-13T23:52:54.592103+08:00\","
			   "\"is_consistent\":false,\"checked_count\":19,\"miss_count\":5,\"diff_count\":6,\"skip_count\":0,\"tables\":["
			   "{\"schema\":\"public\",\"tb\":\"col_has_special_character_table\",\"checked_count\":5,\"miss_count\":2,\"diff_count\":2,\"skip_count\":0},"
			   "{\"schema\":\"public\",\"tb\":\"default_table\",\"checked_count\":12,\"miss_count\":3,\"diff_count\":3,\"skip_count\":0},"
			   "{\"schema\":\"public\",\"tb\":\"ignore_cols_1\",\"checked_count\":2,\"miss_count\":0,\"diff_count\":1,\"skip_count\":0}]}\n");
	free(l);
	/* check_log.rs test: a consistent run without table counts has no "tables" */
	l = summary_line(&clean);
	TL_CHECK_EQ_STR(l, "{\"start_time\":\"a\",\"end_time\":\"b\",\"is_consistent\":true,\"checked_count\":2,\"miss_count\":0,"
			   "\"diff_count\":0,\"skip_count\":0}\n");
	free(l);
	/* skipped rows or extra rows make it inconsistent; extra_count appears only when non-zero */
	clean.skip = 1;
	l = summary_line(&clean);
	TL_CHECK(strstr(l, "\"is_consistent\":false,") && !strstr(l, "extra_count"));
	free(l);
	clean.skip = 0;
	clean.extra = 2;
	t[0].extra = 2;
	clean.ntables = 1;
	clean.tables = t;
	l = summary_line(&clean);
	TL_CHECK_EQ_STR(l, "{\"start_time\":\"a\",\"end_time\":\"b\",\"is_consistent\":false,\"checked_count\":2,\"miss_count\":0,"
			   "\"diff_count\":0,\"skip_count\":0,\"extra_count\":2,\"tables\":[{\"schema\":\"test_db_3\",\"tb\":"
			   "\"one_pk_no_uk_2\",\"checked_count\":4,\"miss_count\":1,\"diff_count\":1,\"skip_count\":0,\"extra_count\":2}]}\n");
	free(l);
}

TL_TEST(rfc3339_times)
{
	/* 2026-05-13T15:47:21.043172Z */
	struct timespec ts = {1778687241, 43172000};
	char out[40];

	setenv("TZ", "<+08>-8", 1);
	tzset();
	tl_checklog_time(out, &ts);
	TL_CHECK_EQ_STR(out, "2026-05-13T23:47:21.043172+08:00");
	ts.tv_nsec = 43000999; /* sub-microsecond digits are dropped */
	tl_checklog_time(out, &ts);
	TL_CHECK_EQ_STR(out, "2026-05-13T23:47:21.043+08:00");
	ts.tv_nsec = 0;
	tl_checklog_time(out, &ts);
	TL_CHECK_EQ_STR(out, "2026-05-13T23:47:21+08:00");
	setenv("TZ", "<-0530>5:30", 1);
	tzset();
	ts.tv_nsec = 500000;
	tl_checklog_time(out, &ts);
	TL_CHECK_EQ_STR(out, "2026-05-13T10:17:21.000500-05:30");
	setenv("TZ", "UTC0", 1);
	tzset();
	tl_checklog_time(out, &ts);
	TL_CHECK_EQ_STR(out, "2026-05-13T15:47:21.000500+00:00");
}

/* ---- the writer ------------------------------------------------------------------------------- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	tl_buf b = TL_BUF_INIT;
	tl_error err = TL_ERROR_INIT;
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (tl_buf_put(&b, chunk, n, &err) != 0)
			break;
	fclose(f);
	if (!b.len)
		return strdup("");
	return tl_buf_detach(&b);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

static char *path_in(const char *dir, const char *name)
{
	static char p[4][4096];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

TL_TEST(writer_files_and_counts)
{
	char dir[4096];
	tl_checklog_opts o = TL_CHECKLOG_OPTS_INIT;
	tl_checklog *cl = NULL;
	tl_error err = TL_ERROR_INIT;
	const char *k[1] = {"id"}, *v1[1] = {"1"}, *v2[1] = {"2"}, *v9[1] = {"9"};
	tl_checklog_diff d[1] = {{"name", "a", "b", NULL, NULL}};
	tl_checklog_row miss = {"s", "t", "s2", NULL, 1, k, v1, 0, NULL};
	tl_checklog_row diff = {"s", "t", "s2", "t", 1, k, v2, 1, d};
	tl_checklog_row extra = {"s", "t", "s2", "t", 1, k, v9, 0, NULL};
	char *m, *df, *sum;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/check", tl_test_tmpdir());
	o.dir = dir;
	TL_CHECK_OK(tl_checklog_open(&cl, &o, &err), &err);
	TL_CHECK_EQ_INT(tl_checklog_consistent(cl), 1);
	TL_CHECK_OK(tl_checklog_add(cl, TL_CHECKLOG_MISS, &miss, &err), &err);
	TL_CHECK_OK(tl_checklog_add(cl, TL_CHECKLOG_DIFF, &diff, &err), &err);
	TL_CHECK_OK(tl_checklog_add(cl, TL_CHECKLOG_EXTRA, &extra, &err), &err);
	TL_CHECK_OK(tl_checklog_count(cl, "s", "t", "s2", "t", 10, 1, &err), &err);
	TL_CHECK_OK(tl_checklog_count(cl, "s", "u", NULL, NULL, 5, 0, &err), &err);
	TL_CHECK_EQ_INT(tl_checklog_consistent(cl), 0);
	TL_CHECK_OK(tl_checklog_close(cl, &err), &err);

	m = slurp(path_in(dir, "miss.log"));
	df = slurp(path_in(dir, "diff.log"));
	sum = slurp(path_in(dir, "summary.log"));
	TL_CHECK_EQ_STR(m, "{\"schema\":\"s\",\"tb\":\"t\",\"target_schema\":\"s2\",\"target_tb\":\"t\",\"id_col_values\":{\"id\":\"1\"}}\n");
	TL_CHECK_EQ_STR(df, "{\"schema\":\"s\",\"tb\":\"t\",\"target_schema\":\"s2\",\"target_tb\":\"t\",\"id_col_values\":{\"id\":\"2\"},"
			    "\"diff_col_values\":{\"name\":{\"src\":\"a\",\"dst\":\"b\"}}}\n");
	TL_CHECK(stat(path_in(dir, "extra.log"), &st) == 0 && st.st_size > 0);
	TL_CHECK(sum && strncmp(sum, "{\"start_time\":\"", 15) == 0);
	/* one table entry for (s.t → s2.t) whichever way the target was given, one for s.u */
	TL_CHECK_MSG(sum && strstr(sum, "\"is_consistent\":false,\"checked_count\":15,\"miss_count\":1,\"diff_count\":1,"
					"\"skip_count\":1,\"extra_count\":1,\"tables\":[{\"schema\":\"s\",\"tb\":\"t\","
					"\"target_schema\":\"s2\",\"target_tb\":\"t\",\"checked_count\":10,\"miss_count\":1,"
					"\"diff_count\":1,\"skip_count\":1,\"extra_count\":1},{\"schema\":\"s\",\"tb\":\"u\","
					"\"checked_count\":5,\"miss_count\":0,\"diff_count\":0,\"skip_count\":0}]}\n"),
		     "summary: %s", sum ? sum : "(none)");
	TL_CHECK_EQ_INT(count_lines(sum), 1);
	free(m);
	free(df);
	free(sum);

	/* a consistent second run replaces the logs: no row logs, one summary line */
	TL_CHECK_OK(tl_checklog_open(&cl, &o, &err), &err);
	TL_CHECK_OK(tl_checklog_count(cl, "s", "t", NULL, NULL, 3, 0, &err), &err);
	TL_CHECK_OK(tl_checklog_close(cl, &err), &err);
	TL_CHECK(stat(path_in(dir, "miss.log"), &st) != 0);
	TL_CHECK(stat(path_in(dir, "diff.log"), &st) != 0);
	TL_CHECK(stat(path_in(dir, "extra.log"), &st) != 0);
	sum = slurp(path_in(dir, "summary.log"));
	TL_CHECK(sum && strstr(sum, "\"is_consistent\":true,\"checked_count\":3,") && count_lines(sum) == 1);
	free(sum);
}

TL_TEST(writer_limits)
{
	char dir[4096];
	tl_checklog_opts o = TL_CHECKLOG_OPTS_INIT;
	tl_checklog *cl = NULL;
	tl_error err = TL_ERROR_INIT;
	const char *k[1] = {"id"};
	char val[32], *m, *sum;
	const char *v[1] = {val};
	tl_checklog_row row = {"s", "t", NULL, NULL, 1, k, v, 0, NULL};
	int i;

	snprintf(dir, sizeof(dir), "%s", tl_test_tmpdir());
	o.dir = dir;
	o.max_rows = 3;
	TL_CHECK_OK(tl_checklog_open(&cl, &o, &err), &err);
	for (i = 0; i < 5; i++) {
		snprintf(val, sizeof(val), "%d", i);
		TL_CHECK_OK(tl_checklog_add(cl, TL_CHECKLOG_MISS, &row, &err), &err);
	}
	TL_CHECK_OK(tl_checklog_close(cl, &err), &err);
	m = slurp(path_in(dir, "miss.log"));
	sum = slurp(path_in(dir, "summary.log"));
	TL_CHECK_EQ_INT(count_lines(m), 3);
	TL_CHECK(m && strstr(m, "\"2\"") && !strstr(m, "\"3\""));
	TL_CHECK(sum && strstr(sum, "\"miss_count\":5,"));
	free(m);
	free(sum);

	/* bytes: each line is 51 bytes; 120 bytes hold two */
	o.max_rows = 0;
	o.max_bytes = 120;
	TL_CHECK_OK(tl_checklog_open(&cl, &o, &err), &err);
	for (i = 0; i < 4; i++) {
		snprintf(val, sizeof(val), "%d", i);
		TL_CHECK_OK(tl_checklog_add(cl, TL_CHECKLOG_MISS, &row, &err), &err);
	}
	TL_CHECK_OK(tl_checklog_close(cl, &err), &err);
	m = slurp(path_in(dir, "miss.log"));
	TL_CHECK_EQ_INT(count_lines(m), 2);
	free(m);
}

struct worker {
	tl_checklog *cl;
	int id, failed;
};

static void *add_many(void *arg)
{
	struct worker *w = arg;
	const char *k[1] = {"id"};
	char val[32], tb[16];
	const char *v[1] = {val};
	tl_error err = TL_ERROR_INIT;
	int i;

	snprintf(tb, sizeof(tb), "t%d", w->id % 2);
	for (i = 0; i < 500; i++) {
		tl_checklog_row row = {"s", tb, NULL, NULL, 1, k, v, 0, NULL};
		snprintf(val, sizeof(val), "%d-%d", w->id, i);
		if (tl_checklog_add(w->cl, i % 2 ? TL_CHECKLOG_MISS : TL_CHECKLOG_EXTRA, &row, &err) != 0 ||
		    tl_checklog_count(w->cl, "s", tb, NULL, NULL, 1, 0, &err) != 0)
			w->failed = 1;
	}
	return NULL;
}

TL_TEST(writer_threads)
{
	tl_checklog_opts o = TL_CHECKLOG_OPTS_INIT;
	tl_checklog *cl = NULL;
	tl_error err = TL_ERROR_INIT;
	pthread_t th[4];
	struct worker w[4];
	char *m, *x, *sum;
	int i;

	o.dir = tl_test_tmpdir();
	o.max_rows = 100000;
	TL_CHECK_OK(tl_checklog_open(&cl, &o, &err), &err);
	for (i = 0; i < 4; i++) {
		w[i].cl = cl;
		w[i].id = i;
		w[i].failed = 0;
		pthread_create(&th[i], NULL, add_many, &w[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		TL_CHECK_EQ_INT(w[i].failed, 0);
	}
	TL_CHECK_OK(tl_checklog_close(cl, &err), &err);
	m = slurp(path_in(o.dir, "miss.log"));
	x = slurp(path_in(o.dir, "extra.log"));
	sum = slurp(path_in(o.dir, "summary.log"));
	TL_CHECK_EQ_INT(count_lines(m), 1000);
	TL_CHECK_EQ_INT(count_lines(x), 1000);
	TL_CHECK_MSG(sum && strstr(sum, "\"checked_count\":2000,\"miss_count\":1000,\"diff_count\":0,\"skip_count\":0,"
					"\"extra_count\":1000,\"tables\":[{\"schema\":\"s\",\"tb\":\"t0\",\"checked_count\":1000,"
					"\"miss_count\":500,\"diff_count\":0,\"skip_count\":0,\"extra_count\":500},"),
		     "summary: %s", sum ? sum : "(none)");
	free(m);
	free(x);
	free(sum);
}

TL_TEST(writer_errors)
{
	char dir[4096];
	tl_checklog_opts o = TL_CHECKLOG_OPTS_INIT;
	tl_checklog *cl = NULL;
	tl_error err = TL_ERROR_INIT;

	snprintf(dir, sizeof(dir), "%s/no/such/parent", tl_test_tmpdir());
	o.dir = dir;
	TL_CHECK_EQ_INT(tl_checklog_open(&cl, &o, &err), TL_ERR_IO);
	TL_CHECK(strstr(err.message, "cannot create check log directory") && strstr(err.message, dir));
	TL_CHECK(cl == NULL);
	o.dir = NULL;
	TL_CHECK_EQ_INT(tl_checklog_open(&cl, &o, &err), TL_ERR_INTERNAL);
	if (geteuid() != 0) {
		snprintf(dir, sizeof(dir), "%s/ro", tl_test_tmpdir());
		mkdir(dir, 0500);
		o.dir = dir;
		TL_CHECK_EQ_INT(tl_checklog_open(&cl, &o, &err), TL_ERR_IO);
		TL_CHECK(strstr(err.message, "miss.log") != NULL);
		chmod(dir, 0700);
	}
	TL_CHECK_EQ_INT(tl_checklog_close(NULL, &err), 0);
	tl_checklog_abandon(NULL);
}
