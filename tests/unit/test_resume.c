/*
 * test_resume.c - the §3.2 merge: current beats checkpoint in batch mode, split mode reads
 * checkpoints only, later lines win (even without a key), finished wins from any source,
 * rotated position logs are read oldest first, bad input is counted or reported with
 * PATH:LINE, and a large log over many tables merges correctly (timing printed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tideline/logfmt.h"
#include "tideline/resume.h"
#include "tl_test.h"

#define TS "2024-10-10 04:04:08.152044"
#define SNAP(tb, v) "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"db\",\"tb\":\"" tb "\",\"order_key\":{\"single\":[\"id\",\"" v "\"]}}"
#define FIN(tb) "{\"type\":\"RdbSnapshotFinished\",\"db_type\":\"mysql\",\"schema\":\"db\",\"tb\":\"" tb "\"}"
#define CUR(json) TS " | current_position | " json "\n"
#define CKP(json) TS " | checkpoint_position | " json "\n"

static const char *write_file(const char *name, const char *text)
{
	static char path[8][4096];
	static int i;
	FILE *f;

	i = (i + 1) % 8;
	snprintf(path[i], sizeof(path[i]), "%s/%s", tl_test_tmpdir(), name);
	f = fopen(path[i], "wb");
	if (!f) {
		tl_test_fail(__FILE__, __LINE__, "cannot create %s", path[i]);
		return path[i];
	}
	fputs(text, f);
	fclose(f);
	return path[i];
}

/* The value of a single-column position for db.tb, "-" when none, "F" when finished, "null" for no key. */
static const char *val_of(const tl_resume_set *s, const char *tb, int checkpoint_only)
{
	const tl_position *p = NULL;
	enum tl_resume_state st = tl_resume_lookup(s, "db", tb, checkpoint_only, &p, NULL);

	if (st == TL_RESUME_NONE)
		return "-";
	if (st == TL_RESUME_FINISHED)
		return "F";
	if (p->nkeys == 0)
		return "nokey";
	return p->keys[0].val ? p->keys[0].val : "null";
}

static int add_text(tl_resume_set *s, const char *name, const char *text, tl_error *err)
{
	size_t nbad = 0;
	int rc = tl_resume_add_file(s, write_file(name, text), 0, &nbad, err);

	if (!rc && nbad)
		tl_test_fail(__FILE__, __LINE__, "%s: %zu bad lines", name, nbad);
	return rc;
}

TL_TEST(current_beats_checkpoint_in_batch_mode)
{
	tl_resume_set *s = NULL;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK_OK(tl_resume_set_new(&s, &err), &err);
	TL_CHECK_OK(add_text(s, "position.log",
			     CUR(SNAP("a", "1")) CKP(SNAP("a", "0"))  /* checkpoint later than current */
			     CKP(SNAP("b", "7")) CUR(SNAP("b", "9"))
			     CKP(SNAP("c", "3")),
			     &err),
		    &err);
	TL_CHECK_EQ_STR(val_of(s, "a", 0), "1");
	TL_CHECK_EQ_STR(val_of(s, "a", 1), "0");
	TL_CHECK_EQ_STR(val_of(s, "b", 0), "9");
	TL_CHECK_EQ_STR(val_of(s, "b", 1), "7");
	TL_CHECK_EQ_STR(val_of(s, "c", 0), "3");
	TL_CHECK_EQ_STR(val_of(s, "c", 1), "3");
	TL_CHECK_EQ_STR(val_of(s, "d", 0), "-");
	tl_resume_set_free(s);
}

TL_TEST(split_mode_ignores_current)
{
	tl_resume_set *s = NULL;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK_OK(tl_resume_set_new(&s, &err), &err);
	TL_CHECK_OK(add_text(s, "position.log", CUR(SNAP("a", "1")) CUR(SNAP("a", "2")), &err), &err);
	TL_CHECK_EQ_STR(val_of(s, "a", 0), "2");
	TL_CHECK_EQ_STR(val_of(s, "a", 1), "-");
	tl_resume_set_free(s);
}

TL_TEST(resume_config_current_beats_position_log_checkpoint)
{
	tl_resume_set *s = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_origin from;
	const tl_position *p;

	TL_CHECK_OK(tl_resume_set_new(&s, &err), &err);
	/* resume.config: a current-marked line (no timestamp) and bare lines */
	TL_CHECK_OK(add_text(s, "resume.config",
			     "// hand written\n"
			     "| current_position | " SNAP("a", "1") "\n"
			     SNAP("b", "1") "\n"
			     SNAP("c", "1") "\n",
			     &err),
		    &err);
	TL_CHECK_OK(add_text(s, "position.log", CKP(SNAP("a", "2")) CKP(SNAP("b", "2")) CUR(SNAP("c", "3")), &err), &err);
	/* batch: 1. position.log current, 2. resume.config current, 3. position.log checkpoint, 4. config bare */
	TL_CHECK_EQ_STR(val_of(s, "a", 0), "1");
	TL_CHECK_EQ_STR(val_of(s, "b", 0), "2");
	TL_CHECK_EQ_STR(val_of(s, "c", 0), "3");
	/* split: 3 then 4 */
	TL_CHECK_EQ_STR(val_of(s, "a", 1), "2");
	TL_CHECK_EQ_STR(val_of(s, "b", 1), "2");
	TL_CHECK_EQ_STR(val_of(s, "c", 1), "1");
	TL_CHECK_EQ_INT(tl_resume_lookup(s, "db", "a", 0, &p, &from), TL_RESUME_POSITION);
	TL_CHECK(strstr(from.source, "resume.config") != NULL);
	TL_CHECK_EQ_INT(from.line, 2);
	TL_CHECK_EQ_INT(tl_resume_lookup(s, "db", "a", 1, &p, &from), TL_RESUME_POSITION);
	TL_CHECK(strstr(from.source, "position.log") != NULL);
	TL_CHECK_EQ_INT(from.line, 1);
	tl_resume_set_free(s);
}

TL_TEST(later_line_wins_even_without_key)
{
	tl_resume_set *s = NULL;
	tl_error err = TL_ERROR_INIT;
	const tl_position *p = NULL;

	TL_CHECK_OK(tl_resume_set_new(&s, &err), &err);
	TL_CHECK_OK(add_text(s, "position.log",
			     CKP(SNAP("a", "5"))
			     CKP("{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"db\",\"tb\":\"a\",\"order_key\":null}")
			     CKP(SNAP("b", "5"))
			     CKP("{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"db\",\"tb\":\"b\",\"order_col\":\"id\",\"value\":null}")
			     CUR(SNAP("c", "5")) CUR(SNAP("c", "4")),
			     &err),
		    &err);
	TL_CHECK_EQ_STR(val_of(s, "a", 0), "nokey");
	TL_CHECK_EQ_INT(tl_resume_lookup(s, "db", "a", 0, &p, NULL), TL_RESUME_POSITION);
	TL_CHECK_EQ_INT(p->form, TL_KEY_ABSENT);
	TL_CHECK_EQ_STR(val_of(s, "b", 0), "null");
	TL_CHECK_EQ_STR(val_of(s, "c", 0), "4"); /* file order, never value order */
	tl_resume_set_free(s);
}

TL_TEST(finished_wins_from_any_source)
{
	tl_resume_set *s = NULL;
	tl_error err = TL_ERROR_INIT;
	const tl_position *p = NULL;
	tl_origin from;

	TL_CHECK_OK(tl_resume_set_new(&s, &err), &err);
	TL_CHECK_OK(add_text(s, "resume.config", FIN("a") "\n" SNAP("b", "1") "\n", &err), &err);
	TL_CHECK_OK(add_text(s, "position.log", CUR(SNAP("a", "9")) CKP(SNAP("a", "9")) CUR(SNAP("b", "2")), &err), &err);
	TL_CHECK_OK(add_text(s, "finished.log", TS " | " FIN("b") "\n", &err), &err);
	TL_CHECK_EQ_STR(val_of(s, "a", 0), "F");
	TL_CHECK_EQ_STR(val_of(s, "a", 1), "F");
	TL_CHECK_EQ_STR(val_of(s, "b", 0), "F");
	TL_CHECK_EQ_INT(tl_resume_lookup(s, "db", "b", 0, &p, &from), TL_RESUME_FINISHED);
	TL_CHECK(p && p->type == TL_POS_RDB_SNAPSHOT_FINISHED);
	TL_CHECK(strstr(from.source, "finished.log") != NULL);
	TL_CHECK_EQ_INT(from.line, 1);
	{
		/* the entry still shows what was recorded */
		const tl_resume_entry *e = tl_resume_at(s, 0);

		TL_CHECK_EQ_STR(e->tb, "a");
		TL_CHECK_EQ_INT(e->finished, 1);
		TL_CHECK(e->current != NULL && e->checkpoint != NULL);
		TL_CHECK_EQ_STR(e->current->keys[0].val, "9");
		e = tl_resume_at(s, 1);
		TL_CHECK_EQ_STR(e->tb, "b");
		TL_CHECK_EQ_INT(e->finished, 1);
		TL_CHECK(e->current != NULL && e->checkpoint != NULL);
		TL_CHECK(tl_resume_at(s, 2) == NULL);
	}
	tl_resume_set_free(s);
}

TL_TEST(rotated_position_logs_oldest_first)
{
	const char *dir = tl_test_tmpdir();
	tl_resume_set *s = NULL;
	tl_error err = TL_ERROR_INIT;
	char **paths = NULL;
	size_t i, nbad = 0;

	write_file("position10.log", CUR(SNAP("a", "10")) CUR(SNAP("b", "10")) CUR(SNAP("c", "10")) CKP(SNAP("d", "10")));
	write_file("position2.log", CUR(SNAP("a", "2")) CUR(SNAP("b", "2")));
	write_file("position1.log", CUR(SNAP("a", "1")));
	write_file("position.log", CKP(SNAP("a", "0")) "\n\n");
	TL_CHECK_OK(tl_logfmt_position_files(dir, &paths, &err), &err);
	TL_CHECK_OK(tl_resume_set_new(&s, &err), &err);
	for (i = 0; paths[i]; i++)
		TL_CHECK_OK(tl_resume_add_file(s, paths[i], 0, &nbad, &err), &err);
	TL_CHECK_EQ_INT(i, 4);
	TL_CHECK_EQ_STR(val_of(s, "a", 0), "1");
	TL_CHECK_EQ_STR(val_of(s, "a", 1), "0");
	TL_CHECK_EQ_STR(val_of(s, "b", 0), "2");
	TL_CHECK_EQ_STR(val_of(s, "c", 0), "10");
	TL_CHECK_EQ_STR(val_of(s, "d", 0), "10");
	/* insertion order of first sight */
	TL_CHECK_EQ_INT(tl_resume_count(s), 4);
	TL_CHECK_EQ_STR(tl_resume_at(s, 0)->tb, "a");
	TL_CHECK_EQ_STR(tl_resume_at(s, 3)->tb, "d");
	tl_logfmt_free_paths(paths);
	tl_resume_set_free(s);
}

TL_TEST(other_variants_counted)
{
	tl_resume_set *s = NULL;
	tl_error err = TL_ERROR_INIT;

	TL_CHECK_OK(tl_resume_set_new(&s, &err), &err);
	TL_CHECK_OK(add_text(s, "position.log",
			     CKP("{\"type\":\"None\"}")
			     CKP("{\"type\":\"MysqlCdc\",\"server_id\":\"\",\"binlog_filename\":\"b.1\",\"next_event_position\":4,"
				 "\"gtid_set\":\"\",\"timestamp\":\"\"}")
			     CUR(SNAP("a", "1")),
			     &err),
		    &err);
	TL_CHECK_EQ_INT(tl_resume_other_count(s), 2);
	TL_CHECK_EQ_INT(tl_resume_count(s), 1);
	tl_resume_set_free(s);
}

TL_TEST(bad_input)
{
	tl_resume_set *s = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_position p = TL_POSITION_INIT;
	const char *path;
	char want[4200];
	size_t nbad = 99;
	int rc;

	TL_CHECK_OK(tl_resume_set_new(&s, &err), &err);
	/* a hand-built snapshot record without schema/table */
	TL_CHECK_OK(tl_pos_set(&p, TL_POS_RDB_SNAPSHOT, "mysql", NULL, "t", TL_KEY_ABSENT, 0, NULL, NULL, &err), &err);
	TL_CHECK_EQ_INT(tl_resume_add(s, &p, 0, "run", 0, &err), TL_ERR_PARSE);
	TL_CHECK_EQ_STR(err.message, "RdbSnapshot record has no schema or table");
	TL_CHECK_OK(tl_pos_set(&p, TL_POS_RDB_SNAPSHOT_FINISHED, "mysql", "s", NULL, TL_KEY_ABSENT, 0, NULL, NULL, &err), &err);
	TL_CHECK_EQ_INT(tl_resume_add(s, &p, 0, "run", 0, &err), TL_ERR_PARSE);
	TL_CHECK_EQ_INT(tl_resume_count(s), 0);
	/* records not from a file */
	TL_CHECK_OK(tl_pos_set(&p, TL_POS_RDB_SNAPSHOT, NULL, "db", "z", TL_KEY_ABSENT, 0, NULL, NULL, &err), &err);
	TL_CHECK_OK(tl_resume_add(s, &p, 1, "store", 0, &err), &err);
	TL_CHECK_EQ_STR(val_of(s, "z", 0), "nokey");
	TL_CHECK_EQ_STR(val_of(s, "z", 1), "-");
	tl_pos_clear(&p);

	path = write_file("position.log", CUR(SNAP("a", "1")) "garbage line\n" CUR("{\"type\":\"RdbSnapshot\",\"schema\":\"db\",\"tb\":\"a\",\"order_key\":{\"single\":[\"id\",2]}}") CUR(SNAP("a", "3")));
	rc = tl_resume_add_file(s, path, 1, &nbad, &err);
	TL_CHECK_EQ_INT(rc, 0);
	TL_CHECK_EQ_INT(nbad, 2);
	TL_CHECK_EQ_STR(val_of(s, "a", 0), "3");

	rc = tl_resume_add_file(s, path, 0, &nbad, &err);
	TL_CHECK_EQ_INT(rc, TL_ERR_PARSE);
	snprintf(want, sizeof(want), "%s:2: no JSON object on the line", path);
	TL_CHECK_EQ_STR(err.message, want);

	rc = tl_resume_add_file(s, "/nonexistent/dir/position.log", 1, &nbad, &err);
	TL_CHECK_EQ_INT(rc, TL_ERR_NOTFOUND);
	TL_CHECK(strstr(err.message, "/nonexistent/dir/position.log") != NULL);
	TL_CHECK_EQ_INT(tl_resume_lookup(NULL, "db", "a", 0, NULL, NULL), TL_RESUME_NONE);
	TL_CHECK_EQ_INT(tl_resume_lookup(s, NULL, "a", 0, NULL, NULL), TL_RESUME_NONE);
	tl_resume_set_free(s);
	tl_resume_set_free(NULL);
}

TL_TEST(many_tables)
{
	const char *env = getenv("TL_BENCH_LINES");
	size_t nlines = env ? (size_t)strtoul(env, NULL, 10) : 300000, ntables = 100000, i, nbad = 0;
	char path[4096];
	tl_resume_set *s = NULL;
	tl_error err = TL_ERROR_INIT;
	struct timespec t0, t1;
	FILE *f;
	double secs;

	snprintf(path, sizeof(path), "%s/position.log", tl_test_tmpdir());
	f = fopen(path, "wb");
	if (!f) {
		tl_test_fail(__FILE__, __LINE__, "cannot create %s", path);
		return;
	}
	for (i = 0; i < nlines; i++)
		fprintf(f, "%s | %s | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"db_%zu\",\"tb\":\"t_%zu\","
			   "\"order_key\":{\"single\":[\"id\",\"%zu\"]}}\n",
			TS, i % 3 ? "checkpoint_position" : "current_position", (i % ntables) % 7, i % ntables, i);
	fclose(f);
	TL_CHECK_OK(tl_resume_set_new(&s, &err), &err);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	TL_CHECK_OK(tl_resume_add_file(s, path, 0, &nbad, &err), &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("    merged %zu lines over %zu tables in %.3f s: %.0f lines/s\n", nlines, tl_resume_count(s), secs,
	       secs > 0 ? (double)nlines / secs : 0.0);
	TL_CHECK_EQ_INT(tl_resume_count(s), nlines < ntables ? nlines : ntables);
	/* every table's answer is its last line of each kind */
	for (i = 0; i < ntables && i < nlines; i += 997) {
		char schema[32], tb[32], want_cur[32], want_ckp[32];
		const tl_position *p = NULL;
		size_t last = i + ((nlines - 1 - i) / ntables) * ntables, lc = (size_t)-1, lk = (size_t)-1, j;

		for (j = last;; j -= ntables) {
			if (j % 3 == 0 && lc == (size_t)-1)
				lc = j;
			if (j % 3 != 0 && lk == (size_t)-1)
				lk = j;
			if (j < ntables)
				break;
		}
		snprintf(schema, sizeof(schema), "db_%zu", i % 7);
		snprintf(tb, sizeof(tb), "t_%zu", i);
		snprintf(want_cur, sizeof(want_cur), "%zu", lc != (size_t)-1 ? lc : lk);
		snprintf(want_ckp, sizeof(want_ckp), "%zu", lk);
		TL_CHECK_EQ_INT(tl_resume_lookup(s, schema, tb, 0, &p, NULL), TL_RESUME_POSITION);
		if (p)
			TL_CHECK_EQ_STR(p->keys[0].val, want_cur);
		if (lk != (size_t)-1) {
			TL_CHECK_EQ_INT(tl_resume_lookup(s, schema, tb, 1, &p, NULL), TL_RESUME_POSITION);
			if (p)
				TL_CHECK_EQ_STR(p->keys[0].val, want_ckp);
		}
	}
	tl_resume_set_free(s);
}
