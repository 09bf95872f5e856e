/*
 * test_logfmt.c - the text logs: line tolerance and its exact error messages (with line
 * numbers), every conformance fixture log parsed with no bad line and merged to the
 * expected record per table, byte-exact writing against the seed examples and the
 * fixtures, rotated file order, and a throughput measurement (printed, not asserted).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "tideline/logfmt.h"
#include "tideline/resume.h"
#include "tl_test.h"

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f) {
		tl_test_fail(__FILE__, __LINE__, "cannot create %s", path);
		return;
	}
	fwrite(data, 1, len, f);
	fclose(f);
}

static char *tmp_path(const char *name)
{
	static char path[4][4096];
	static int i;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", tl_test_tmpdir(), name);
	return path[i];
}

/* ---- parse_line --------------------------------------------------------------------- */

TL_TEST(parse_line_forms)
{
	const char *cur = "2024-10-10 04:04:08.152044 | current_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\","
			  "\"schema\":\"test_db\",\"tb\":\"b\",\"order_col\":\"id\",\"value\":\"6\"}";
	const char *ckp = "2024-03-29 07:02:24.463776 | checkpoint_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\","
			  "\"schema\":\"test_db_@\",\"tb\":\"in_position_log_table_*$1\",\"order_key\":{\"single\":[\"p.k\",\"5\"]}}";
	const char *skips[] = {"", "   ", "\t \r", "// this file is more like checkpoint position log",
			       "   // {\"type\":\"None\"}", "\r", NULL};
	tl_logrec rec;
	tl_error err = TL_ERROR_INIT;
	size_t i;

	TL_CHECK_OK(tl_logfmt_parse_line(cur, strlen(cur), &rec, &err), &err);
	TL_CHECK_EQ_INT(rec.is_current, 1);
	TL_CHECK_EQ_INT(rec.pos.form, TL_KEY_ORDER_COL);
	TL_CHECK_EQ_STR(rec.pos.keys[0].val, "6");
	TL_CHECK(rec.json == strchr(cur, '{'));
	TL_CHECK_EQ_INT(rec.json_len, strlen(strchr(cur, '{')));
	tl_pos_clear(&rec.pos);

	TL_CHECK_OK(tl_logfmt_parse_line(ckp, strlen(ckp), &rec, &err), &err);
	TL_CHECK_EQ_INT(rec.is_current, 0);
	TL_CHECK_EQ_STR(rec.pos.tb, "in_position_log_table_*$1");
	tl_pos_clear(&rec.pos);

	/* resume.config spellings: bare JSON, or "| current_position |" without a timestamp */
	{
		const char *a = "{\"type\":\"RdbSnapshotFinished\",\"db_type\":\"mysql\",\"schema\":\"test_db\",\"tb\":\"d\"}";
		const char *b = "| current_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"test_db\","
				"\"tb\":\"a\",\"order_col\":\"id\",\"value\":\"6\"}  trailing words";
		const char *c = "|current_position| {\"type\":\"None\"}";

		TL_CHECK_OK(tl_logfmt_parse_line(a, strlen(a), &rec, &err), &err);
		TL_CHECK_EQ_INT(rec.is_current, 0);
		TL_CHECK_EQ_INT(rec.pos.type, TL_POS_RDB_SNAPSHOT_FINISHED);
		tl_pos_clear(&rec.pos);
		TL_CHECK_OK(tl_logfmt_parse_line(b, strlen(b), &rec, &err), &err);
		TL_CHECK_EQ_INT(rec.is_current, 1);
		TL_CHECK_EQ_STR(rec.pos.tb, "a");
		tl_pos_clear(&rec.pos);
		TL_CHECK_OK(tl_logfmt_parse_line(c, strlen(c), &rec, &err), &err);
		TL_CHECK_EQ_INT(rec.is_current, 0); /* the marker needs its spaces */
		tl_pos_clear(&rec.pos);
	}

	/* CRLF */
	{
		const char *crlf = "2024-04-01 07:08:05.459594 | {\"type\":\"RdbSnapshotFinished\",\"db_type\":\"mysql\","
				   "\"schema\":\"s\",\"tb\":\"t\"}\r";
		TL_CHECK_OK(tl_logfmt_parse_line(crlf, strlen(crlf), &rec, &err), &err);
		TL_CHECK_EQ_STR(rec.pos.tb, "t");
		TL_CHECK(rec.json[rec.json_len - 1] == '}');
		tl_pos_clear(&rec.pos);
	}

	for (i = 0; skips[i]; i++) {
		int rc = tl_logfmt_parse_line(skips[i], strlen(skips[i]), &rec, &err);
		TL_CHECK_MSG(rc == 1, "'%s' should be skipped, got %d", skips[i], rc);
		tl_pos_clear(&rec.pos);
	}
}

static void check_line_error(const char *file, int line, const char *text, size_t len, const char *reason)
{
	tl_logrec rec;
	tl_error err = TL_ERROR_INIT;
	int rc = tl_logfmt_parse_line(text, len, &rec, &err);

	if (rc != TL_ERR_PARSE)
		tl_test_fail(file, line, "'%.80s': rc %d, expected a parse error", text, rc);
	else if (strcmp(err.message, reason) != 0)
		tl_test_fail(file, line, "'%.80s': \"%s\", expected \"%s\"", text, err.message, reason);
	tl_pos_clear(&rec.pos);
}
#define LINE_ERR(t, r) check_line_error(__FILE__, __LINE__, t, strlen(t), r)

TL_TEST(parse_line_errors)
{
	LINE_ERR("task finished", "no JSON object on the line");
	LINE_ERR("2024-03-29 07:02:24.463776 | current_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"te",
		 "no JSON object on the line");
	LINE_ERR("} {", "no JSON object on the line");
	LINE_ERR("x | {\"type\":\"RdbSnapshot\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"single\":[\"a\",\"1\"]}",
		 "invalid JSON at byte 75");
	LINE_ERR("{\"type\":\"None\",}", "invalid JSON at byte 15");
	LINE_ERR("{\"type\":\"None\"} {\"type\":\"None\"}", "invalid JSON: unexpected text at byte 16");
	LINE_ERR("ts | {\"type\":\"Snapshot\"}", "unknown position type 'Snapshot'");
	LINE_ERR("{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"test_db_1\",\"tb\":\"one_pk_no_uk\","
		 "\"order_key\":{\"single\":[\"f_0\",5]}}",
		 "value of key 'f_0' must be a string or null");
	check_line_error(__FILE__, __LINE__, "{\"type\":\"N\0ne\"}", 15, "line contains a NUL byte");
	{
		size_t n = TL_LOGFMT_MAX_LINE + 1;
		char *big = malloc(n);

		memset(big, ' ', n);
		big[0] = '{';
		big[n - 1] = '}';
		check_line_error(__FILE__, __LINE__, big, n, "line longer than 1 MiB");
		free(big);
	}
}

/* ---- read_file ---------------------------------------------------------------------- */

struct collect {
	size_t nrec, nbad, ncurrent;
	char bad[16][256];
	size_t bad_line[16];
	size_t last_line;
};

static int collect_rec(void *vctx, const tl_logrec *rec, tl_error *err)
{
	struct collect *c = vctx;

	c->nrec++;
	c->ncurrent += rec->is_current != 0;
	c->last_line = rec->line_no;
	return 0;
}

static int collect_bad(void *vctx, const char *path, size_t line_no, const char *reason, tl_error *err)
{
	struct collect *c = vctx;

	if (c->nbad < 16) {
		snprintf(c->bad[c->nbad], sizeof(c->bad[0]), "%s", reason);
		c->bad_line[c->nbad] = line_no;
	}
	c->nbad++;
	return 0;
}

TL_TEST(read_file_bad_lines)
{
	const char *path = tmp_path("position.log");
	tl_buf b = TL_BUF_INIT;
	tl_error err = TL_ERROR_INIT;
	struct collect c;
	char *big;
	int rc;

	/* 1 good, 2 blank, 3 truncated, 4 invalid json, 5 unknown type, 6 number, 7 CRLF good,
	 * 8 overlong, 9 NUL, 10 comment, 11 good without final newline */
	TL_CHECK_OK(tl_buf_puts(&b, "2024-10-10 04:04:08.152044 | current_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\","
				    "\"schema\":\"test_db\",\"tb\":\"b\",\"order_col\":\"id\",\"value\":\"6\"}\n\n", &err), &err);
	TL_CHECK_OK(tl_buf_puts(&b, "2024-10-10 04:04:08.152044 | current_position | {\"type\":\"RdbSnapshot\",\"db_t\n", &err), &err);
	TL_CHECK_OK(tl_buf_puts(&b, "{\"type\":\"None\",}\n", &err), &err);
	TL_CHECK_OK(tl_buf_puts(&b, "{\"type\":\"Nonsense\"}\n", &err), &err);
	TL_CHECK_OK(tl_buf_puts(&b, "{\"type\":\"RdbSnapshot\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"single\":[\"f_0\",5]}}\n", &err), &err);
	TL_CHECK_OK(tl_buf_puts(&b, "{\"type\":\"RdbSnapshotFinished\",\"schema\":\"s\",\"tb\":\"t\"}\r\n", &err), &err);
	big = malloc(TL_LOGFMT_MAX_LINE + 100);
	memset(big, 'x', TL_LOGFMT_MAX_LINE + 100);
	big[0] = '{';
	TL_CHECK_OK(tl_buf_put(&b, big, TL_LOGFMT_MAX_LINE + 100, &err), &err);
	free(big);
	TL_CHECK_OK(tl_buf_puts(&b, "}\n", &err), &err);
	TL_CHECK_OK(tl_buf_put(&b, "{\"type\":\0\"None\"}\n", 17, &err), &err);
	TL_CHECK_OK(tl_buf_puts(&b, "// {\"type\":\"Nonsense\"}\n", &err), &err);
	TL_CHECK_OK(tl_buf_puts(&b, "{\"type\":\"RdbSnapshot\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":null}", &err), &err);
	write_file(path, b.data, b.len);

	memset(&c, 0, sizeof(c));
	TL_CHECK_OK(tl_logfmt_read_file(path, collect_rec, collect_bad, &c, &err), &err);
	TL_CHECK_EQ_INT(c.nrec, 3);
	TL_CHECK_EQ_INT(c.ncurrent, 1);
	TL_CHECK_EQ_INT(c.last_line, 11);
	TL_CHECK_EQ_INT(c.nbad, 6);
	TL_CHECK_EQ_INT(c.bad_line[0], 3);
	TL_CHECK_EQ_STR(c.bad[0], "no JSON object on the line");
	TL_CHECK_EQ_INT(c.bad_line[1], 4);
	TL_CHECK_EQ_STR(c.bad[1], "invalid JSON at byte 15");
	TL_CHECK_EQ_INT(c.bad_line[2], 5);
	TL_CHECK_EQ_STR(c.bad[2], "unknown position type 'Nonsense'");
	TL_CHECK_EQ_INT(c.bad_line[3], 6);
	TL_CHECK_EQ_STR(c.bad[3], "value of key 'f_0' must be a string or null");
	TL_CHECK_EQ_INT(c.bad_line[4], 8);
	TL_CHECK_EQ_STR(c.bad[4], "line longer than 1 MiB");
	TL_CHECK_EQ_INT(c.bad_line[5], 9);
	TL_CHECK_EQ_STR(c.bad[5], "line contains a NUL byte");

	/* strict: the first bad line fails the read with PATH:LINE: reason */
	memset(&c, 0, sizeof(c));
	rc = tl_logfmt_read_file(path, collect_rec, NULL, &c, &err);
	TL_CHECK_EQ_INT(rc, TL_ERR_PARSE);
	{
		char want[4200];
		snprintf(want, sizeof(want), "%s:3: no JSON object on the line", path);
		TL_CHECK_EQ_STR(err.message, want);
	}
	TL_CHECK_EQ_INT(c.nrec, 1);

	/* a missing file */
	rc = tl_logfmt_read_file(tmp_path("nope.log"), collect_rec, NULL, &c, &err);
	TL_CHECK_EQ_INT(rc, TL_ERR_NOTFOUND);
	TL_CHECK(strstr(err.message, "nope.log") != NULL);
	tl_buf_release(&b);
}

static int stop_at_two(void *vctx, const tl_logrec *rec, tl_error *err)
{
	struct collect *c = vctx;

	if (++c->nrec == 2)
		return tl_error_set(err, TL_ERR_INTERRUPTED, "stop");
	return 0;
}

TL_TEST(read_file_edges)
{
	const char *path = tmp_path("f.log");
	const char *line = "{\"type\":\"None\"}\n";
	tl_error err = TL_ERROR_INIT;
	struct collect c;
	tl_buf b = TL_BUF_INIT;
	size_t i;

	/* empty file */
	write_file(path, "", 0);
	memset(&c, 0, sizeof(c));
	TL_CHECK_OK(tl_logfmt_read_file(path, collect_rec, NULL, &c, &err), &err);
	TL_CHECK_EQ_INT(c.nrec, 0);

	/* a line of exactly 1 MiB (plus CR) is fine, and lines spanning read chunks */
	{
		size_t n = TL_LOGFMT_MAX_LINE;
		char *big = malloc(n);

		memset(big, ' ', n);
		memcpy(big, "{\"type\":\"None\"", 14);
		big[n - 1] = '}';
		TL_CHECK_OK(tl_buf_put(&b, big, n, &err), &err);
		TL_CHECK_OK(tl_buf_puts(&b, "\r\n", &err), &err);
		free(big);
	}
	for (i = 0; i < 50000; i++)
		TL_CHECK_OK(tl_buf_puts(&b, line, &err), &err);
	write_file(path, b.data, b.len);
	memset(&c, 0, sizeof(c));
	TL_CHECK_OK(tl_logfmt_read_file(path, collect_rec, NULL, &c, &err), &err);
	TL_CHECK_EQ_INT(c.nrec, 50001);
	TL_CHECK_EQ_INT(c.last_line, 50001);

	/* the callback's error stops the read and is returned */
	memset(&c, 0, sizeof(c));
	TL_CHECK_EQ_INT(tl_logfmt_read_file(path, stop_at_two, NULL, &c, &err), TL_ERR_INTERRUPTED);
	TL_CHECK_EQ_INT(c.nrec, 2);

	/* an overlong last line without a newline */
	tl_buf_reset(&b);
	TL_CHECK_OK(tl_buf_puts(&b, line, &err), &err);
	for (i = 0; i < TL_LOGFMT_MAX_LINE / 8 + 10; i++)
		TL_CHECK_OK(tl_buf_puts(&b, "{{{{}}}}", &err), &err);
	write_file(path, b.data, b.len);
	memset(&c, 0, sizeof(c));
	TL_CHECK_OK(tl_logfmt_read_file(path, collect_rec, collect_bad, &c, &err), &err);
	TL_CHECK_EQ_INT(c.nrec, 1);
	TL_CHECK_EQ_INT(c.nbad, 1);
	TL_CHECK_EQ_INT(c.bad_line[0], 2);
	TL_CHECK_EQ_STR(c.bad[0], "line longer than 1 MiB");
	tl_buf_release(&b);
}

/* ---- writers ------------------------------------------------------------------------ */

TL_TEST(writer_seed_examples)
{
	const char *lines[] = {
		"2024-10-10 04:04:08.152044 | current_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"test_db\","
		"\"tb\":\"b\",\"order_col\":\"id\",\"value\":\"6\"}\n",
		"2024-10-10 04:04:08.152181 | checkpoint_position | {\"type\":\"None\"}\n",
		"2024-03-29 07:02:24.463776 | checkpoint_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"test_db_@\","
		"\"tb\":\"in_position_log_table_*$1\",\"order_key\":{\"single\":[\"p.k\",\"5\"]}}\n",
		NULL};
	const char *fin = "2024-10-10 04:04:07.803422 | {\"type\":\"RdbSnapshotFinished\",\"db_type\":\"mysql\",\"schema\":\"test_db\",\"tb\":\"a\"}\n";
	tl_error err = TL_ERROR_INIT;
	tl_buf b = TL_BUF_INIT;
	tl_logrec rec;
	size_t i;

	for (i = 0; lines[i]; i++) {
		char ts[32];

		TL_CHECK_OK(tl_logfmt_parse_line(lines[i], strlen(lines[i]) - 1, &rec, &err), &err);
		snprintf(ts, sizeof(ts), "%.26s", lines[i]);
		tl_buf_reset(&b);
		TL_CHECK_OK(tl_logfmt_format_position(&b, ts, rec.is_current, &rec.pos, TL_STYLE_ASIS, &err), &err);
		TL_CHECK_EQ_STR(tl_buf_cstr(&b), lines[i]);
		tl_pos_clear(&rec.pos);
	}
	/* the seed's order_col default and the current order_key form from one position */
	{
		const char *cols[] = {"id"}, *vals[] = {"6"};
		tl_position p = TL_POSITION_INIT;

		TL_CHECK_OK(tl_pos_set(&p, TL_POS_RDB_SNAPSHOT, "mysql", "test_db", "b", TL_KEY_SINGLE, 1, cols, vals, &err), &err);
		tl_buf_reset(&b);
		TL_CHECK_OK(tl_logfmt_format_position(&b, "2024-10-10 04:04:08.152044", 1, &p, TL_STYLE_ORDER_COL, &err), &err);
		TL_CHECK_EQ_STR(tl_buf_cstr(&b), lines[0]);
		tl_buf_reset(&b);
		TL_CHECK_OK(tl_logfmt_format_position(&b, "2024-10-10 04:04:08.152044", 0, &p, TL_STYLE_ORDER_KEY, &err), &err);
		TL_CHECK_EQ_STR(tl_buf_cstr(&b), "2024-10-10 04:04:08.152044 | checkpoint_position | {\"type\":\"RdbSnapshot\","
						 "\"db_type\":\"mysql\",\"schema\":\"test_db\",\"tb\":\"b\",\"order_key\":{\"single\":[\"id\",\"6\"]}}\n");
		/* finished.log takes finished records only */
		TL_CHECK_EQ_INT(tl_logfmt_format_finished(&b, "x", &p, &err), TL_ERR_INTERNAL);
		TL_CHECK_OK(tl_pos_set(&p, TL_POS_RDB_SNAPSHOT_FINISHED, "mysql", "test_db", "a", TL_KEY_ABSENT, 0, NULL, NULL, &err), &err);
		tl_buf_reset(&b);
		TL_CHECK_OK(tl_logfmt_format_finished(&b, "2024-10-10 04:04:07.803422", &p, &err), &err);
		TL_CHECK_EQ_STR(tl_buf_cstr(&b), fin);
		tl_pos_clear(&p);
	}
	tl_buf_release(&b);
}

TL_TEST(now_format)
{
	char ts[32];
	size_t i;

	tl_logfmt_now(ts);
	TL_CHECK_EQ_INT(strlen(ts), 26);
	for (i = 0; i < 26; i++) {
		char c = ts[i];
		int ok;

		if (i == 4 || i == 7)
			ok = c == '-';
		else if (i == 10)
			ok = c == ' ';
		else if (i == 13 || i == 16)
			ok = c == ':';
		else if (i == 19)
			ok = c == '.';
		else
			ok = c >= '0' && c <= '9';
		TL_CHECK_MSG(ok, "bad character %zu in '%s'", i, ts);
	}
	TL_CHECK(strncmp(ts, "20", 2) == 0);
}

TL_TEST(position_files_order)
{
	const char *dir = tl_test_tmpdir();
	const char *names[] = {"position.log", "position1.log", "position3.log", "position10.log", "finished.log",
			       "position11.log", NULL};
	tl_error err = TL_ERROR_INIT;
	char **paths = NULL;
	char want[4096];
	size_t i;

	TL_CHECK_OK(tl_logfmt_position_files(dir, &paths, &err), &err);
	TL_CHECK(paths && paths[0] == NULL);
	tl_logfmt_free_paths(paths);
	for (i = 0; names[i]; i++)
		write_file(tmp_path(names[i]), "", 0);
	mkdir(tmp_path("position2.log"), 0700); /* a directory is not a log */
	TL_CHECK_OK(tl_logfmt_position_files(dir, &paths, &err), &err);
	snprintf(want, sizeof(want), "%s/position10.log", dir);
	TL_CHECK_EQ_STR(paths[0], want);
	snprintf(want, sizeof(want), "%s/position3.log", dir);
	TL_CHECK_EQ_STR(paths[1], want);
	snprintf(want, sizeof(want), "%s/position1.log", dir);
	TL_CHECK_EQ_STR(paths[2], want);
	snprintf(want, sizeof(want), "%s/position.log", dir);
	TL_CHECK_EQ_STR(paths[3], want);
	TL_CHECK(paths[4] == NULL);
	tl_logfmt_free_paths(paths);
	tl_logfmt_free_paths(NULL);
}

/* ---- conformance fixtures ----------------------------------------------------------- */

struct rewrite {
	size_t nrec;
	int failed;
};

/* Re-formats every timestamped line and compares with the file's bytes. */
static int rewrite_rec(void *vctx, const tl_logrec *rec, tl_error *err)
{
	struct rewrite *c = vctx;
	const char *line = rec->json; /* the line starts at most 60 bytes before its JSON */
	tl_buf b = TL_BUF_INIT;
	int rc = 0;

	c->nrec++;
	if ((rc = tl_pos_write_json(&rec->pos, TL_STYLE_ASIS, &b, err)))
		goto cleanup;
	if (b.len != rec->json_len || memcmp(b.data, rec->json, b.len) != 0) {
		tl_test_fail(__FILE__, __LINE__, "%s:%zu: rewrote\n      %s\n    from\n      %.*s", rec->path, rec->line_no,
			     b.data, (int)rec->json_len, rec->json);
		c->failed = 1;
	}
	(void)line;
cleanup:
	tl_buf_release(&b);
	return rc;
}

static const char *const fixture_files[] = {
	"v2.0.24/mysql/resume_test/resume.config",
	"v2.0.24/mysql/resume_test/resume_logs/position.log",
	"v2.0.24/mysql/resume_test/resume_logs/finished.log",
	"v2.0.24/pg/resume_test/resume.config",
	"v2.0.24/pg/resume_test/resume_logs/position.log",
	"v2.0.24/pg/resume_test/resume_logs/finished.log",
	"v2.0.26/mysql/resume_log_test/resume.config",
	"v2.0.26/mysql/resume_log_test/resume_logs/position.log",
	"v2.0.26/mysql/resume_log_test/resume_logs/finished.log",
	"v2.0.26/pg/resume_log_test/resume.config",
	"v2.0.26/pg/resume_log_test/resume_logs/position.log",
	"v2.0.26/pg/resume_log_test/resume_logs/finished.log",
	NULL};

TL_TEST(conformance_logs_parse_and_rewrite)
{
	const char *conf = tl_test_conformance_dir();
	size_t i, total = 0;

	if (!conf) {
		printf("    note: no conformance dir; fixture checks skipped\n");
		return;
	}
	for (i = 0; fixture_files[i]; i++) {
		char path[4096];
		struct collect c;
		struct rewrite rw = {0, 0};
		tl_error err = TL_ERROR_INIT;

		snprintf(path, sizeof(path), "%s/%s", conf, fixture_files[i]);
		memset(&c, 0, sizeof(c));
		TL_CHECK_OK(tl_logfmt_read_file(path, collect_rec, collect_bad, &c, &err), &err);
		TL_CHECK_MSG(c.nbad == 0, "%s: %zu bad lines (first line %zu: %s)", path, c.nbad, c.bad_line[0], c.bad[0]);
		TL_CHECK_MSG(c.nrec > 0, "%s: no records", path);
		TL_CHECK_OK(tl_logfmt_read_file(path, rewrite_rec, NULL, &rw, &err), &err);
		TL_CHECK_EQ_INT(rw.nrec, c.nrec);
		total += c.nrec;
	}
	TL_CHECK(total >= 50);
}

static void expect_pos(const char *file, int line, const tl_resume_set *s, const char *schema, const char *tb,
		       int checkpoint_only, enum tl_resume_state state, enum tl_key_form form, const char *keys,
		       const char *source_suffix)
{
	const tl_position *p = NULL;
	tl_origin from;
	enum tl_resume_state got = tl_resume_lookup(s, schema, tb, checkpoint_only, &p, &from);
	char buf[1024] = "";
	size_t i, n = 0;

	if (got != state) {
		tl_test_fail(file, line, "%s.%s: state %d, expected %d", schema, tb, (int)got, (int)state);
		return;
	}
	if (source_suffix && (!from.source || strlen(from.source) < strlen(source_suffix) ||
			      strcmp(from.source + strlen(from.source) - strlen(source_suffix), source_suffix) != 0))
		tl_test_fail(file, line, "%s.%s: from %s, expected …%s", schema, tb, from.source ? from.source : "(null)",
			     source_suffix);
	if (state != TL_RESUME_POSITION)
		return;
	if (p->form != form)
		tl_test_fail(file, line, "%s.%s: key form %d, expected %d", schema, tb, (int)p->form, (int)form);
	for (i = 0; i < p->nkeys; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s=%s", i ? "," : "", p->keys[i].col,
				      p->keys[i].val ? p->keys[i].val : "NULL");
	if (strcmp(buf, keys) != 0)
		tl_test_fail(file, line, "%s.%s: keys %s, expected %s", schema, tb, buf, keys);
}
#define EXPECT(s, sc, tb, cko, st, form, keys, src) expect_pos(__FILE__, __LINE__, s, sc, tb, cko, st, form, keys, src)

static int load_case(tl_resume_set *s, const char *dir)
{
	const char *files[] = {"resume.config", "resume_logs/position.log", "resume_logs/finished.log", NULL};
	tl_error err = TL_ERROR_INIT;
	size_t i, nbad = 0;

	for (i = 0; files[i]; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (tl_resume_add_file(s, path, 0, &nbad, &err) != 0) {
			tl_test_fail(__FILE__, __LINE__, "%s", err.message);
			return -1;
		}
		if (nbad)
			tl_test_fail(__FILE__, __LINE__, "%s: %zu bad lines", path, nbad);
	}
	return 0;
}

TL_TEST(conformance_v2026_mysql_merge)
{
	const char *conf = tl_test_conformance_dir();
	tl_resume_set *s = NULL;
	tl_error err = TL_ERROR_INIT;
	char dir[4096];

	if (!conf) {
		printf("    note: no conformance dir; fixture checks skipped\n");
		return;
	}
	snprintf(dir, sizeof(dir), "%s/v2.0.26/mysql/resume_log_test", conf);
	TL_CHECK_OK(tl_resume_set_new(&s, &err), &err);
	if (load_case(s, dir) == 0) {
		EXPECT(s, "test_db_@", "in_position_log_table_*$1", 0, TL_RESUME_POSITION, TL_KEY_SINGLE, "p.k=1", "position.log");
		EXPECT(s, "test_db_1", "bytea_pk_utf8_test", 0, TL_RESUME_POSITION, TL_KEY_COMPOSITE,
		       "category_id=cat1,binary_id=e4bda0e5a5bde4b896e7958c30", "position.log");
		EXPECT(s, "test_db_1", "bytea_pk_gb2312_test", 0, TL_RESUME_POSITION, TL_KEY_COMPOSITE,
		       "category_id=cat1,binary_id=c4e3bac3cac0bde730", "position.log");
		/* current lines are ignored in split mode */
		EXPECT(s, "test_db_1", "bytea_pk_utf8_test", 1, TL_RESUME_NONE, TL_KEY_ABSENT, "", NULL);
		EXPECT(s, "test_db_@", "finished_table_*$1", 0, TL_RESUME_FINISHED, TL_KEY_ABSENT, "", "resume.config");
		EXPECT(s, "test_db_@", "finished_table_*$2", 1, TL_RESUME_FINISHED, TL_KEY_ABSENT, "", "resume.config");
		EXPECT(s, "test_db_@", "in_finished_log_table_*$1", 0, TL_RESUME_FINISHED, TL_KEY_ABSENT, "", "finished.log");
		EXPECT(s, "test_db_@", "in_finished_log_table_*$2", 0, TL_RESUME_FINISHED, TL_KEY_ABSENT, "", "finished.log");
		EXPECT(s, "test_db_1", "one_pk_no_uk", 0, TL_RESUME_POSITION, TL_KEY_SINGLE, "f_0=5", "resume.config");
		EXPECT(s, "test_db_1", "one_pk_no_uk", 1, TL_RESUME_POSITION, TL_KEY_SINGLE, "f_0=5", "resume.config");
		EXPECT(s, "test_db_1", "no_pk_no_uk", 1, TL_RESUME_POSITION, TL_KEY_SINGLE, "f_0=5", "resume.config");
		EXPECT(s, "test_db_1", "multi_pk", 0, TL_RESUME_POSITION, TL_KEY_COMPOSITE, "f_0=1,f_1=30", "resume.config");
		EXPECT(s, "test_db_1", "nullable_composite_unique_key_table", 0, TL_RESUME_POSITION, TL_KEY_COMPOSITE,
		       "uk1=6,uk2=6", "resume.config");
		EXPECT(s, "test_db_@", "resume_table_*$4", 0, TL_RESUME_POSITION, TL_KEY_SINGLE, "p.k=1", "resume.config");
		EXPECT(s, "test_db_1", "not_there", 0, TL_RESUME_NONE, TL_KEY_ABSENT, "", NULL);
		EXPECT(s, "test_db_@", "in_position_log_table_*", 0, TL_RESUME_NONE, TL_KEY_ABSENT, "", NULL);
		TL_CHECK_EQ_INT(tl_resume_count(s), 15);
		TL_CHECK_EQ_INT(tl_resume_other_count(s), 0);
		{
			tl_origin from;
			const tl_position *p;

			tl_resume_lookup(s, "test_db_@", "in_position_log_table_*$1", 0, &p, &from);
			TL_CHECK_EQ_INT(from.line, 3);
		}
	}
	tl_resume_set_free(s);
}

TL_TEST(conformance_v2026_pg_merge)
{
	const char *conf = tl_test_conformance_dir();
	tl_resume_set *s = NULL;
	tl_error err = TL_ERROR_INIT;
	char dir[4096];

	if (!conf) {
		printf("    note: no conformance dir; fixture checks skipped\n");
		return;
	}
	snprintf(dir, sizeof(dir), "%s/v2.0.26/pg/resume_log_test", conf);
	TL_CHECK_OK(tl_resume_set_new(&s, &err), &err);
	if (load_case(s, dir) == 0) {
		EXPECT(s, "test_db_*.*", "in_position_log_table_*$1", 0, TL_RESUME_POSITION, TL_KEY_SINGLE, "p.k=1", NULL);
		EXPECT(s, "public", "bytea_pk_test", 0, TL_RESUME_POSITION, TL_KEY_COMPOSITE,
		       "category_id=cat1,binary_id=e4bda0e5a5bde4b896e7958c30", NULL);
		EXPECT(s, "test_db_*.*", "finished_table_*$1", 0, TL_RESUME_FINISHED, TL_KEY_ABSENT, "", NULL);
		EXPECT(s, "test_db_*.*", "in_finished_log_table_*$2", 0, TL_RESUME_FINISHED, TL_KEY_ABSENT, "", NULL);
		EXPECT(s, "public", "resume_table_1", 0, TL_RESUME_POSITION, TL_KEY_SINGLE, "pk=1", NULL);
		EXPECT(s, "public", "resume_table_3", 0, TL_RESUME_POSITION, TL_KEY_COMPOSITE, "f_0=1,f_1=30", NULL);
		EXPECT(s, "test_db_*.*", "resume_table_*$5", 0, TL_RESUME_POSITION, TL_KEY_SINGLE, "p.k=1", NULL);
	}
	tl_resume_set_free(s);
}

TL_TEST(conformance_v2024_old_form)
{
	const char *conf = tl_test_conformance_dir();
	const char *kinds[] = {"mysql", "pg"};
	size_t k;

	if (!conf) {
		printf("    note: no conformance dir; fixture checks skipped\n");
		return;
	}
	for (k = 0; k < 2; k++) {
		tl_resume_set *s = NULL;
		tl_error err = TL_ERROR_INIT;
		char dir[4096];
		const char *sc = k == 0 ? "test_db_@" : "test_db_*.*";

		snprintf(dir, sizeof(dir), "%s/v2.0.24/%s/resume_test", conf, kinds[k]);
		TL_CHECK_OK(tl_resume_set_new(&s, &err), &err);
		if (load_case(s, dir) == 0) {
			EXPECT(s, sc, "in_position_log_table_*$1", 0, TL_RESUME_POSITION, TL_KEY_ORDER_COL, "p.k=1", "position.log");
			EXPECT(s, sc, "finished_table_*$1", 0, TL_RESUME_FINISHED, TL_KEY_ABSENT, "", "resume.config");
			EXPECT(s, sc, "in_finished_log_table_*$2", 0, TL_RESUME_FINISHED, TL_KEY_ABSENT, "", "finished.log");
			if (k == 0)
				EXPECT(s, "test_db_1", "one_pk_no_uk", 0, TL_RESUME_POSITION, TL_KEY_ORDER_COL, "f_0=5", "resume.config");
			else
				EXPECT(s, "public", "resume_table_2", 0, TL_RESUME_POSITION, TL_KEY_ORDER_COL, "p.k=1", "resume.config");
		}
		tl_resume_set_free(s);
	}
}

/* ---- throughput (reported, never asserted: speed is measured by tools/) -------------- */

static int count_only(void *vctx, const tl_logrec *rec, tl_error *err)
{
	(*(size_t *)vctx)++;
	return 0;
}

TL_TEST(throughput_report)
{
	const char *path = tmp_path("big.log");
	const char *env = getenv("TL_BENCH_LINES");
	size_t nlines = env ? (size_t)strtoul(env, NULL, 10) : 200000, i, n = 0;
	tl_error err = TL_ERROR_INIT;
	struct timespec t0, t1;
	tl_buf b = TL_BUF_INIT;
	FILE *f = fopen(path, "wb");
	double secs;

	if (!f) {
		tl_test_fail(__FILE__, __LINE__, "cannot create %s", path);
		return;
	}
	for (i = 0; i < nlines; i++) {
		tl_buf_reset(&b);
		if (i % 2)
			TL_CHECK_OK(tl_buf_printf(&b, &err,
						  "2024-10-10 04:04:08.152044 | current_position | {\"type\":\"RdbSnapshot\","
						  "\"db_type\":\"mysql\",\"schema\":\"test_db_1\",\"tb\":\"table_%zu\","
						  "\"order_key\":{\"single\":[\"id\",\"%zu\"]}}\n",
						  i % 100000, i),
				    &err);
		else
			TL_CHECK_OK(tl_buf_printf(&b, &err,
						  "2024-10-10 04:04:08.152181 | checkpoint_position | {\"type\":\"RdbSnapshot\","
						  "\"db_type\":\"mysql\",\"schema\":\"test_db_1\",\"tb\":\"table_%zu\","
						  "\"order_key\":{\"composite\":[[\"a\",\"%zu\"],[\"b\",\"x\"]]}}\n",
						  i % 100000, i),
				    &err);
		fwrite(b.data, 1, b.len, f);
	}
	fclose(f);
	tl_buf_release(&b);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	TL_CHECK_OK(tl_logfmt_read_file(path, count_only, NULL, &n, &err), &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TL_CHECK_EQ_INT(n, nlines);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("    parsed %zu lines in %.3f s: %.0f lines/s\n", n, secs, secs > 0 ? (double)n / secs : 0.0);
}
