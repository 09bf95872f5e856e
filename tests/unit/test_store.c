/*
 * test_store.c - the SQLite checkpoint store (src/store) and the import / export /
 * status subcommands built on it: creation and migration, refusing newer or non-SQLite
 * files, lookup precedence, forgetting a task, the task lock, importing a resume set,
 * the export -> import round trip, a failed import leaving the store unchanged, and the
 * snapshot plan reads answering exactly as the per-table lookups.
 * sqlite3.h is used here only to inspect and tamper with store files.
 */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cli/cli.h"
#include "tideline/buf.h"
#include "tideline/resume.h"
#include "tideline/store.h"
#include "tl_test.h"

static void path_in(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tl_test_tmpdir(), name);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int pos_of(tl_position *p, const char *schema, const char *tb, const char *col, const char *val,
		  tl_error *err)
{
	const char *cols[1] = {col}, *vals[1] = {val};

	return tl_pos_set(p, TL_POS_RDB_SNAPSHOT, "mysql", schema, tb, TL_KEY_SINGLE, 1, cols, vals, err);
}

/* Runs SQL on a store file directly; the first column of every row is appended to out. */
static int sql_dump(const char *path, const char *sql, tl_buf *out)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1, i;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		goto cleanup;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto cleanup;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (out)
			for (i = 0; i < sqlite3_column_count(st); i++) {
				const unsigned char *t = sqlite3_column_text(st, i);
				if (tl_buf_printf(out, NULL, "%s%s%s", i ? "|" : "", t ? (const char *)t : "<null>",
						  i + 1 == sqlite3_column_count(st) ? "\n" : ""))
					goto cleanup;
			}
	rc = rc == SQLITE_DONE ? 0 : -1;
cleanup:
	if (rc && db)
		fprintf(stderr, "    sql_dump: %s\n", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/* Creates a plain SQLite file with one statement. */
static int sql_dump_create(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) == SQLITE_OK &&
	    sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK)
		rc = 0;
	sqlite3_close(db);
	return rc;
}

#define ROWS_SQL                                                                                              \
	"SELECT task_id, schema, tb, kind, json, updated_at, key_form, order_key, key_cols, key_vals"          \
	" FROM position ORDER BY task_id, schema, tb, kind"
#define FIN_SQL "SELECT task_id, schema, tb, json, finished_at FROM finished ORDER BY task_id, schema, tb"

static int run_cmd(const struct tl_command *cmd, const char *const *args)
{
	char *argv[32];
	int argc = 0;

	while (args[argc] && argc < 31) {
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	fflush(stdout);
	return cmd->run(argc, argv);
}

TL_TEST(store_create_and_reopen)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	char path[4096];
	tl_buf out = TL_BUF_INIT;

	path_in(path, sizeof(path), "c.db");
	TL_CHECK_OK(tl_store_open(&s, path, 0, &err), &err);
	TL_CHECK_EQ_STR(tl_store_path(s), path);
	tl_store_close(s);
	s = NULL;
	TL_CHECK(sql_dump(path, "PRAGMA user_version", &out) == 0);
	TL_CHECK(tl_store_schema_version() >= 1);
	TL_CHECK_EQ_INT(strtol(out.data ? out.data : "0", NULL, 10), tl_store_schema_version());
	tl_buf_reset(&out);
	TL_CHECK(sql_dump(path, "PRAGMA journal_mode", &out) == 0);
	TL_CHECK_EQ_STR(out.data, "wal\n");
	/* reopen (no migration) and read-only */
	TL_CHECK_OK(tl_store_open(&s, path, TL_STORE_NOCREATE, &err), &err);
	tl_store_close(s);
	s = NULL;
	TL_CHECK_OK(tl_store_open(&s, path, TL_STORE_READONLY, &err), &err);
	tl_store_close(s);
	s = NULL;
	/* missing file with NOCREATE / READONLY */
	path_in(path, sizeof(path), "missing.db");
	TL_CHECK_EQ_INT(tl_store_open(&s, path, TL_STORE_READONLY, &err), TL_ERR_NOTFOUND);
	TL_CHECK(strstr(err.message, "missing.db") != NULL);
	TL_CHECK_EQ_INT(tl_store_open(&s, path, TL_STORE_NOCREATE, &err), TL_ERR_NOTFOUND);
	TL_CHECK(access(path, F_OK) != 0);

	/* an existing SQLite file at version 0 is migrated in place, its own tables kept */
	path_in(path, sizeof(path), "old.db");
	TL_CHECK(sql_dump_create(path, "CREATE TABLE notes (t TEXT)") == 0);
	TL_CHECK_EQ_INT(tl_store_open(&s, path, TL_STORE_READONLY, &err), TL_ERR_STORE);
	TL_CHECK(strstr(err.message, "not a tideline store") != NULL);
	TL_CHECK_OK(tl_store_open(&s, path, 0, &err), &err);
	tl_store_close(s);
	s = NULL;
	tl_buf_reset(&out);
	TL_CHECK(sql_dump(path, "SELECT count(*) FROM sqlite_schema WHERE name IN ('notes', 'position', 'finished',"
				" 'task_table', 'rate_sample', 'import_source', 'task_lock', 'progress')", &out) == 0);
	TL_CHECK_EQ_STR(out.data, "8\n");
	tl_buf_release(&out);
}

TL_TEST(store_refuses_newer_schema)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	char path[4096], expect[256];
	int rc;

	path_in(path, sizeof(path), "new.db");
	TL_CHECK_OK(tl_store_open(&s, path, 0, &err), &err);
	tl_store_close(s);
	s = NULL;
	TL_CHECK(sql_dump(path, "PRAGMA user_version = 99", NULL) == 0);
	rc = tl_store_open(&s, path, 0, &err);
	TL_CHECK_EQ_INT(rc, TL_ERR_STORE);
	TL_CHECK(s == NULL);
	snprintf(expect, sizeof(expect), "store '%s' has schema version 99, this tideline knows up to %d", path,
		 tl_store_schema_version());
	TL_CHECK_EQ_STR(err.message, expect);
	TL_CHECK_EQ_INT(tl_store_open(&s, path, TL_STORE_READONLY, &err), TL_ERR_STORE);
	TL_CHECK_EQ_STR(err.message, expect);
}

TL_TEST(store_rejects_non_sqlite_file)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	char path[4096];

	path_in(path, sizeof(path), "notes.txt");
	TL_CHECK(write_file(path, "this is not a database, just some text that is long enough to have a header\n"
				  "and a second line so sqlite reads a page of it ...................................\n") == 0);
	TL_CHECK_EQ_INT(tl_store_open(&s, path, 0, &err), TL_ERR_STORE);
	TL_CHECK(strstr(err.message, path) != NULL);
	TL_CHECK(strstr(err.message, "not an SQLite database") != NULL);
	TL_CHECK_EQ_INT(tl_store_open(&s, path, TL_STORE_READONLY, &err), TL_ERR_STORE);
	TL_CHECK(strstr(err.message, "not an SQLite database") != NULL);
	/* a directory */
	TL_CHECK_EQ_INT(tl_store_open(&s, tl_test_tmpdir(), 0, &err), TL_ERR_STORE);
	TL_CHECK(strstr(err.message, "directory") != NULL);
}

TL_TEST(store_lookup_precedence)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	tl_store_hit hit;
	tl_position cur = TL_POSITION_INIT, ckp = TL_POSITION_INIT, fin = TL_POSITION_INIT;
	char path[4096];

	memset(&hit, 0, sizeof(hit));
	path_in(path, sizeof(path), "p.db");
	TL_CHECK_OK(tl_store_open(&s, path, 0, &err), &err);
	TL_CHECK_OK(pos_of(&ckp, "shop", "orders", "id", "5", &err), &err);
	TL_CHECK_OK(pos_of(&cur, "shop", "orders", "id", "6", &err), &err);
	TL_CHECK_OK(tl_store_lookup(s, "t1", "shop", "orders", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_NONE);
	tl_store_hit_clear(&hit);

	TL_CHECK_OK(tl_store_put_position(s, "t1", &ckp, 0, "2024-03-29 07:02:24.463776", "run", 0, 50, &err), &err);
	TL_CHECK_OK(tl_store_lookup(s, "t1", "shop", "orders", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_POSITION);
	TL_CHECK_EQ_INT(hit.is_current, 0);
	TL_CHECK_EQ_STR(hit.pos.keys[0].val, "5");
	TL_CHECK_EQ_STR(hit.updated_at, "2024-03-29 07:02:24.463776");
	TL_CHECK_EQ_INT(hit.rows_copied, 50);
	tl_store_hit_clear(&hit);

	TL_CHECK_OK(tl_store_put_position(s, "t1", &cur, 1, NULL, "run", 0, -1, &err), &err);
	TL_CHECK_OK(tl_store_lookup(s, "t1", "shop", "orders", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_POSITION);
	TL_CHECK_EQ_INT(hit.is_current, 1);
	TL_CHECK_EQ_STR(hit.pos.keys[0].col, "id");
	TL_CHECK_EQ_STR(hit.pos.keys[0].val, "6");
	TL_CHECK_EQ_STR(hit.source, "run");
	TL_CHECK(hit.updated_at && strlen(hit.updated_at) == 26);
	tl_store_hit_clear(&hit);

	/* split mode ignores current rows */
	TL_CHECK_OK(tl_store_lookup(s, "t1", "shop", "orders", 1, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_POSITION);
	TL_CHECK_EQ_INT(hit.is_current, 0);
	TL_CHECK_EQ_STR(hit.pos.keys[0].val, "5");
	tl_store_hit_clear(&hit);

	/* other task, other table: nothing; exact names only */
	TL_CHECK_OK(tl_store_lookup(s, "t2", "shop", "orders", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_NONE);
	tl_store_hit_clear(&hit);
	TL_CHECK_OK(tl_store_lookup(s, "t1", "shop", "Orders", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_NONE);
	tl_store_hit_clear(&hit);

	/* None is not a table position */
	TL_CHECK_EQ_INT(tl_store_put_position(s, "t1", &fin, 0, NULL, "run", 0, -1, &err), TL_ERR_PARSE);

	/* finished wins over both */
	TL_CHECK_OK(tl_pos_set(&fin, TL_POS_RDB_SNAPSHOT_FINISHED, "mysql", "shop", "orders", TL_KEY_ABSENT, 0, NULL,
			       NULL, &err), &err);
	TL_CHECK_OK(tl_store_put_finished(s, "t1", &fin, NULL, "finished.log", 3, 100, &err), &err);
	TL_CHECK_OK(tl_store_lookup(s, "t1", "shop", "orders", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_FINISHED);
	TL_CHECK_EQ_INT(hit.pos.type, TL_POS_RDB_SNAPSHOT_FINISHED);
	TL_CHECK_EQ_STR(hit.source, "finished.log");
	TL_CHECK_EQ_INT(hit.line, 3);
	TL_CHECK_EQ_INT(hit.rows_copied, 100);
	tl_store_hit_clear(&hit);
	TL_CHECK_OK(tl_store_lookup(s, "t1", "shop", "orders", 1, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_FINISHED);
	tl_store_hit_clear(&hit);

	/* names with '-' and '.' never collide */
	TL_CHECK_OK(pos_of(&cur, "a-b", "c", "id", "1", &err), &err);
	TL_CHECK_OK(tl_store_put_position(s, "t1", &cur, 1, NULL, "run", 0, -1, &err), &err);
	TL_CHECK_OK(tl_store_lookup(s, "t1", "a", "b-c", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_NONE);
	tl_store_hit_clear(&hit);

	tl_pos_clear(&cur);
	tl_pos_clear(&ckp);
	tl_pos_clear(&fin);
	tl_store_close(s);
}

static int count_rows(void *ctx, const tl_store_row *row, tl_error *err)
{
	(void)row;
	(void)err;
	(*(int *)ctx)++;
	return 0;
}

TL_TEST(store_forget_task)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	tl_store_hit hit;
	tl_position p = TL_POSITION_INIT;
	tl_store_table t;
	char path[4096], **ids = NULL;
	int n = 0;

	path_in(path, sizeof(path), "f.db");
	TL_CHECK_OK(tl_store_open(&s, path, 0, &err), &err);
	TL_CHECK_OK(pos_of(&p, "shop", "orders", "id", "6", &err), &err);
	TL_CHECK_OK(tl_store_put_position(s, "a", &p, 1, NULL, "run", 0, 10, &err), &err);
	TL_CHECK_OK(tl_store_put_position(s, "b", &p, 1, NULL, "run", 0, 10, &err), &err);
	TL_CHECK_OK(tl_store_put_finished(s, "a", &p, NULL, "run", 0, 10, &err), &err);
	memset(&t, 0, sizeof(t));
	t.schema = "shop";
	t.tb = "orders";
	t.est_rows = 100;
	t.rows_copied = 10;
	t.state = "running";
	t.mode = "batch";
	t.target_rows_at_finish = -1;
	TL_CHECK_OK(tl_store_put_table(s, "a", &t, &err), &err);
	TL_CHECK_OK(tl_store_task_ids(s, &ids, &err), &err);
	TL_CHECK(ids[0] && ids[1] && !ids[2]);
	TL_CHECK_EQ_STR(ids[0], "a");
	TL_CHECK_EQ_STR(ids[1], "b");
	tl_store_free_list(ids);

	TL_CHECK_OK(tl_store_forget_task(s, "a", &err), &err);
	TL_CHECK_OK(tl_store_lookup(s, "a", "shop", "orders", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_NONE);
	tl_store_hit_clear(&hit);
	TL_CHECK_EQ_INT(tl_store_get_table(s, "a", "shop", "orders", &t, &err), TL_ERR_NOTFOUND);
	TL_CHECK_OK(tl_store_foreach_position(s, "a", count_rows, &n, &err), &err);
	TL_CHECK_OK(tl_store_foreach_finished(s, "a", count_rows, &n, &err), &err);
	TL_CHECK_EQ_INT(n, 0);
	TL_CHECK_OK(tl_store_lookup(s, "b", "shop", "orders", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_POSITION);
	tl_store_hit_clear(&hit);
	tl_pos_clear(&p);
	tl_store_close(s);
}

TL_TEST(store_task_lock)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL, *s2 = NULL;
	char path[4096], sql[512], host[256], want[128];
	pid_t child;
	int status;

	path_in(path, sizeof(path), "l.db");
	TL_CHECK_OK(tl_store_open(&s, path, 0, &err), &err);
	TL_CHECK_OK(tl_store_lock_task(s, "job", &err), &err);
	/* the same process may take it again (e.g. a second handle) */
	TL_CHECK_OK(tl_store_open(&s2, path, 0, &err), &err);
	TL_CHECK_OK(tl_store_lock_task(s2, "job", &err), &err);
	tl_store_unlock_task(s2, "job");
	tl_store_close(s2);
	s2 = NULL;

	/* a live process on this host holds it */
	child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	TL_CHECK(child > 0);
	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	/* taken now, after the child started (a pid that started after its lock is another process) */
	snprintf(sql, sizeof(sql),
		 "INSERT OR REPLACE INTO task_lock (task_id, pid, host, started_at) VALUES ('job', %ld, '%s',"
		 " strftime('%%Y-%%m-%%d %%H:%%M:%%f000', 'now'))",
		 (long)child, host);
	TL_CHECK(sql_dump(path, sql, NULL) == 0);
	TL_CHECK_EQ_INT(tl_store_lock_task(s, "job", &err), TL_ERR_LOCKED);
	snprintf(want, sizeof(want), "task 'job' is being run by pid %ld (store %s)", (long)child, path);
	TL_CHECK_EQ_STR(err.message, want);
	/* the holder is gone: stale, taken over */
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	TL_CHECK_OK(tl_store_lock_task(s, "job", &err), &err);

	/* pid 1 exists everywhere (kill may say EPERM: still alive) */
	snprintf(sql, sizeof(sql), "UPDATE task_lock SET pid = 1, host = '%s' WHERE task_id = 'job'", host);
	TL_CHECK(sql_dump(path, sql, NULL) == 0);
	if (getpid() != 1)
		TL_CHECK_EQ_INT(tl_store_lock_task(s, "job", &err), TL_ERR_LOCKED);
	/* another host cannot be checked: honoured */
	TL_CHECK(sql_dump(path, "UPDATE task_lock SET pid = 12345, host = 'elsewhere' WHERE task_id = 'job'", NULL) == 0);
	TL_CHECK_EQ_INT(tl_store_lock_task(s, "job", &err), TL_ERR_LOCKED);
	TL_CHECK(strstr(err.message, "elsewhere") != NULL);
	/* another task is independent */
	TL_CHECK_OK(tl_store_lock_task(s, "other", &err), &err);
	tl_store_unlock_task(s, "other");
	tl_store_close(s);
}

TL_TEST(store_import_set)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	tl_resume_set *set = NULL;
	tl_store_hit hit;
	tl_position p = TL_POSITION_INIT;
	tl_store_import_stats st;
	char path[4096];
	tl_buf out = TL_BUF_INIT;

	path_in(path, sizeof(path), "i.db");
	TL_CHECK_OK(tl_resume_set_new(&set, &err), &err);
	TL_CHECK_OK(pos_of(&p, "shop", "orders", "id", "1", &err), &err);
	TL_CHECK_OK(tl_resume_add(set, &p, 0, "resume.config", 1, &err), &err);
	TL_CHECK_OK(pos_of(&p, "shop", "orders", "id", "7", &err), &err);
	TL_CHECK_OK(tl_resume_add(set, &p, 1, "position.log", 4, &err), &err);
	TL_CHECK_OK(pos_of(&p, "shop", "customers", "id", "9", &err), &err);
	TL_CHECK_OK(tl_resume_add(set, &p, 1, "position.log", 5, &err), &err);
	TL_CHECK_OK(tl_pos_set(&p, TL_POS_RDB_SNAPSHOT_FINISHED, "mysql", "shop", "customers", TL_KEY_ABSENT, 0, NULL,
			       NULL, &err), &err);
	TL_CHECK_OK(tl_resume_add(set, &p, 0, "finished.log", 1, &err), &err);

	TL_CHECK_OK(tl_store_open(&s, path, 0, &err), &err);
	TL_CHECK_OK(tl_store_import_set_ex(s, "default", set, NULL, NULL, &st, &err), &err);
	TL_CHECK_EQ_INT(st.current, 2);
	TL_CHECK_EQ_INT(st.checkpoint, 1);
	TL_CHECK_EQ_INT(st.finished, 1);
	TL_CHECK_OK(tl_store_lookup(s, "default", "shop", "orders", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_POSITION);
	TL_CHECK_EQ_STR(hit.pos.keys[0].val, "7");
	TL_CHECK_EQ_STR(hit.source, "position.log");
	TL_CHECK_EQ_INT(hit.line, 4);
	tl_store_hit_clear(&hit);
	TL_CHECK_OK(tl_store_lookup(s, "default", "shop", "orders", 1, &hit, &err), &err);
	TL_CHECK_EQ_STR(hit.pos.keys[0].val, "1");
	tl_store_hit_clear(&hit);
	TL_CHECK_OK(tl_store_lookup(s, "default", "shop", "customers", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_FINISHED);
	tl_store_hit_clear(&hit);
	tl_store_close(s);
	s = NULL;
	/* decoded key columns for ad-hoc SQL */
	TL_CHECK(sql_dump(path, "SELECT key_form, order_key, key_cols, key_vals FROM position"
				" WHERE tb = 'orders' AND kind = 'current'", &out) == 0);
	TL_CHECK_EQ_STR(out.data, "single|{\"single\":[\"id\",\"7\"]}|[\"id\"]|[\"7\"]\n");
	tl_buf_release(&out);
	tl_pos_clear(&p);
	tl_resume_set_free(set);
}

static const char sample_position_log[] =
	"2024-10-10 04:04:01.102233 | current_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"shop\",\"tb\":\"customers\",\"order_col\":\"id\",\"value\":\"1200\"}\n"
	"2024-10-10 04:04:01.102251 | checkpoint_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"shop\",\"tb\":\"customers\",\"order_col\":\"id\",\"value\":\"1000\"}\n"
	"2024-10-10 04:04:03.004518 | checkpoint_position | {\"type\":\"None\"}\n"
	"2024-10-10 04:04:05.530117 | current_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"shop\",\"tb\":\"orders\",\"order_key\":{\"single\":[\"id\",\"48210\"]}}\n"
	"2024-10-10 04:04:05.530140 | checkpoint_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"shop\",\"tb\":\"orders\",\"order_key\":{\"single\":[\"id\",null]}}\n"
	"2024-10-10 04:04:06.118502 | current_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"test_db_@\",\"tb\":\"in_position_log_table_*$1\",\"order_key\":{\"composite\":[[\"p.k\",\"10231\"],[\"line \\\"no\\\"\",\"3\"]]}}\n"
	"2024-10-10 04:04:07.803422 | checkpoint_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"pg\",\"schema\":\"shop\",\"tb\":\"audit_log\",\"order_key\":null}\n";
static const char sample_finished_log[] =
	"2024-10-10 04:03:57.440017 | {\"type\":\"RdbSnapshotFinished\",\"db_type\":\"mysql\",\"schema\":\"shop\",\"tb\":\"categories\"}\n"
	"2024-10-10 04:04:02.441907 | {\"type\":\"RdbSnapshotFinished\",\"db_type\":\"mysql\",\"schema\":\"shop\",\"tb\":\"customers\"}\n";
static const char sample_resume_config[] =
	"// hand-written\n"
	"{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"shop\",\"tb\":\"products\", \"order_col\":\"sku\",\"value\":\"P-00420\"}\n"
	"\n"
	"{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"shop\",\"tb\":\"orders\",\"order_key\":{\"single\":[\"id\",\"40000\"]}}\n";

TL_TEST(store_cli_export_import_round_trip)
{
	char dir[4096], db1[4096], db2[4096], pl[4096], fl[4096], rc_[4096], out[4096], opl[4096], ofl[4096];
	tl_buf a = TL_BUF_INIT, b = TL_BUF_INIT, fa = TL_BUF_INIT, fb = TL_BUF_INIT;

	snprintf(dir, sizeof(dir), "%s", tl_test_tmpdir());
	path_in(db1, sizeof(db1), "one.db");
	path_in(db2, sizeof(db2), "two.db");
	path_in(pl, sizeof(pl), "position.log");
	path_in(fl, sizeof(fl), "finished.log");
	path_in(rc_, sizeof(rc_), "resume.config");
	path_in(out, sizeof(out), "export");
	snprintf(opl, sizeof(opl), "%s/position.log", out);
	snprintf(ofl, sizeof(ofl), "%s/finished.log", out);
	TL_CHECK(write_file(pl, sample_position_log) == 0);
	TL_CHECK(write_file(fl, sample_finished_log) == 0);
	TL_CHECK(write_file(rc_, sample_resume_config) == 0);
	{
		const char *args[] = {"import", "--store", db1, "--task-id", "shop-copy.v1", rc_, pl, fl, NULL};
		TL_CHECK_EQ_INT(run_cmd(&tl_cmd_import, args), 0);
	}
	{
		const char *args[] = {"export", "--store", db1, "--task-id", "shop-copy.v1", "--dir", out, NULL};
		TL_CHECK_EQ_INT(run_cmd(&tl_cmd_export, args), 0);
	}
	TL_CHECK(access(opl, R_OK) == 0 && access(ofl, R_OK) == 0);
	{
		const char *args[] = {"import", "--store", db2, "--task-id", "shop-copy.v1", opl, ofl, NULL};
		TL_CHECK_EQ_INT(run_cmd(&tl_cmd_import, args), 0);
	}
	TL_CHECK(sql_dump(db1, ROWS_SQL, &a) == 0);
	TL_CHECK(sql_dump(db2, ROWS_SQL, &b) == 0);
	TL_CHECK(a.len > 0);
	TL_CHECK_EQ_STR(a.data, b.data);
	TL_CHECK(sql_dump(db1, FIN_SQL, &fa) == 0);
	TL_CHECK(sql_dump(db2, FIN_SQL, &fb) == 0);
	TL_CHECK(fa.len > 0);
	TL_CHECK_EQ_STR(fa.data, fb.data);
	/* timestamps and the exact JSON text were kept */
	TL_CHECK(strstr(a.data, "2024-10-10 04:04:05.530117") != NULL);
	TL_CHECK(strstr(a.data, "\"tb\":\"products\", \"order_col\"") != NULL);
	TL_CHECK(strstr(a.data, "orders|checkpoint|") != NULL);
	TL_CHECK(strstr(fa.data, "2024-10-10 04:03:57.440017") != NULL);
	/* position.log's checkpoint for orders beats resume.config's */
	TL_CHECK(strstr(a.data, "\"id\",\"40000\"") == NULL);
	if (tl_test_failed())
		fprintf(stderr, "    one:\n%s    two:\n%s", a.data ? a.data : "", b.data ? b.data : "");
	/* status reads it (human and JSON) */
	{
		const char *args[] = {"status", "--store", db1, NULL};
		TL_CHECK_EQ_INT(run_cmd(&tl_cmd_status, args), 0);
	}
	{
		const char *args[] = {"status", "--store", db1, "--task-id", "shop-copy.v1", "--json", NULL};
		TL_CHECK_EQ_INT(run_cmd(&tl_cmd_status, args), 0);
	}
	tl_buf_release(&a);
	tl_buf_release(&b);
	tl_buf_release(&fa);
	tl_buf_release(&fb);
}

TL_TEST(store_failed_import_leaves_store_intact)
{
	char db[4096], good[4096], bad[4096];
	tl_buf before = TL_BUF_INIT, after = TL_BUF_INIT;

	path_in(db, sizeof(db), "s.db");
	path_in(good, sizeof(good), "good.log");
	path_in(bad, sizeof(bad), "bad.log");
	TL_CHECK(write_file(good, sample_position_log) == 0);
	TL_CHECK(write_file(bad,
			    "2024-10-10 05:00:00.000000 | current_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"shop\",\"tb\":\"orders\",\"order_key\":{\"single\":[\"id\",\"99999\"]}}\n"
			    "2024-10-10 05:00:01.000000 | current_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"shop\",\"tb\":\"orders\",\"order_key\":{\"single\":[\"id\",5]}}\n"
			    "garbage without braces\n") == 0);
	{
		const char *args[] = {"import", "--store", db, good, NULL};
		TL_CHECK_EQ_INT(run_cmd(&tl_cmd_import, args), 0);
	}
	TL_CHECK(sql_dump(db, ROWS_SQL, &before) == 0);
	{
		const char *args[] = {"import", "--store", db, bad, NULL};
		TL_CHECK_EQ_INT(run_cmd(&tl_cmd_import, args), 1);
	}
	TL_CHECK(sql_dump(db, ROWS_SQL, &after) == 0);
	TL_CHECK_EQ_STR(after.data, before.data);
	/* a store that did not exist is not created by a failed import */
	{
		char fresh[4096];
		const char *args[] = {"import", "--store", fresh, bad, NULL};

		path_in(fresh, sizeof(fresh), "fresh.db");
		TL_CHECK_EQ_INT(run_cmd(&tl_cmd_import, args), 1);
		TL_CHECK(access(fresh, F_OK) != 0);
	}
	/* missing file: error, store unchanged */
	{
		char missing[4096];
		const char *args[] = {"import", "--store", db, good, missing, NULL};

		path_in(missing, sizeof(missing), "nope.log");
		TL_CHECK_EQ_INT(run_cmd(&tl_cmd_import, args), 1);
	}
	/* --lenient takes the good line */
	{
		const char *args[] = {"import", "--store", db, "--lenient", bad, NULL};
		TL_CHECK_EQ_INT(run_cmd(&tl_cmd_import, args), 0);
	}
	tl_buf_reset(&after);
	TL_CHECK(sql_dump(db, ROWS_SQL, &after) == 0);
	TL_CHECK(after.data && strstr(after.data, "\"99999\"") != NULL);
	/* usage errors */
	{
		const char *args[] = {"import", good, NULL};
		TL_CHECK_EQ_INT(run_cmd(&tl_cmd_import, args), 2);
	}
	tl_buf_release(&before);
	tl_buf_release(&after);
}

static double now_unix(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct prog_ctx {
	int n;
	int saw_running, saw_interrupted;
	double rate;
	double percent;
};

static int on_progress(void *vctx, const tl_store_progress *p, tl_error *err)
{
	struct prog_ctx *c = vctx;

	(void)err;
	c->n++;
	if (strcmp(p->tb, "orders") == 0 && strcmp(p->state, "running") == 0) {
		c->saw_running = 1;
		c->rate = p->rate;
		c->percent = p->percent;
	}
	if (strcmp(p->tb, "orders") == 0 && strcmp(p->state, "interrupted") == 0)
		c->saw_interrupted = 1;
	return 0;
}

TL_TEST(store_tables_progress_sources)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL, *ro = NULL;
	tl_store_table t, got;
	tl_position p = TL_POSITION_INIT;
	struct prog_ctx pc;
	char path[4096];
	int seen = 1;

	memset(&pc, 0, sizeof(pc));
	path_in(path, sizeof(path), "t.db");
	TL_CHECK_OK(tl_store_open(&s, path, 0, &err), &err);
	memset(&t, 0, sizeof(t));
	t.schema = "shop";
	t.tb = "orders";
	t.est_rows = 1000;
	t.rows_copied = 100;
	t.target_empty_at_start = 1;
	t.mode = "batch";
	t.state = "running";
	t.target_rows_at_finish = -1;
	TL_CHECK_OK(tl_store_put_table(s, "default", &t, &err), &err);
	usleep(20000);
	t.rows_copied = 300;
	t.target_empty_at_start = 0; /* a resumed run sees rows: the first start is kept */
	TL_CHECK_OK(tl_store_put_table(s, "default", &t, &err), &err);
	TL_CHECK_OK(tl_store_get_table(s, "default", "shop", "orders", &got, &err), &err);
	TL_CHECK_EQ_STR(got.schema, "shop");
	TL_CHECK_EQ_STR(got.state, "running");
	TL_CHECK_EQ_STR(got.mode, "batch");
	TL_CHECK_EQ_INT(got.rows_copied, 300);
	TL_CHECK_EQ_INT(got.est_rows, 1000);
	TL_CHECK_EQ_INT(got.target_empty_at_start, 1);
	TL_CHECK_EQ_INT(got.target_rows_at_finish, -1);
	TL_CHECK_OK(pos_of(&p, "shop", "orders", "id", "300", &err), &err);
	TL_CHECK_OK(tl_store_put_position(s, "default", &p, 1, NULL, "run", 0, 300, &err), &err);

	/* no run holds the task: a "running" table is shown as interrupted (#13) */
	TL_CHECK_OK(tl_store_open(&ro, path, TL_STORE_READONLY, &err), &err);
	TL_CHECK_OK(tl_store_foreach_progress(ro, "default", now_unix(), on_progress, &pc, &err), &err);
	TL_CHECK_EQ_INT(pc.n, 1);
	TL_CHECK(!pc.saw_running);
	TL_CHECK(pc.saw_interrupted);
	/* read-only handle sees it while the writer (holding the task) is open */
	TL_CHECK_OK(tl_store_lock_task(s, "default", &err), &err);
	memset(&pc, 0, sizeof(pc));
	TL_CHECK_OK(tl_store_foreach_progress(ro, "default", now_unix(), on_progress, &pc, &err),
		    &err);
	TL_CHECK_EQ_INT(pc.n, 1);
	TL_CHECK(pc.saw_running);
	TL_CHECK(pc.rate > 0);
	TL_CHECK(pc.percent > 29.9 && pc.percent < 30.1);
	TL_CHECK(tl_store_put_position(ro, "default", &p, 1, NULL, "run", 0, 300, &err) != 0);
	tl_store_close(ro);
	tl_store_unlock_task(s, "default");

	TL_CHECK_OK(tl_store_source_seen(s, "default", "/x/position.log", 10, 0xfeedfacecafebeefULL, &seen, &err), &err);
	TL_CHECK_EQ_INT(seen, 0);
	TL_CHECK_OK(tl_store_source_mark(s, "default", "/x/position.log", 10, 0xfeedfacecafebeefULL, &err), &err);
	TL_CHECK_OK(tl_store_source_seen(s, "default", "/x/position.log", 10, 0xfeedfacecafebeefULL, &seen, &err), &err);
	TL_CHECK_EQ_INT(seen, 1);
	TL_CHECK_OK(tl_store_source_seen(s, "default", "/x/position.log", 11, 0xfeedfacecafebeefULL, &seen, &err), &err);
	TL_CHECK_EQ_INT(seen, 0);

	/* explicit transaction: rollback discards */
	TL_CHECK_OK(tl_store_begin(s, &err), &err);
	TL_CHECK_OK(pos_of(&p, "shop", "gone", "id", "1", &err), &err);
	TL_CHECK_OK(tl_store_put_position(s, "default", &p, 1, NULL, "run", 0, -1, &err), &err);
	tl_store_rollback(s);
	{
		tl_store_hit hit;

		TL_CHECK_OK(tl_store_lookup(s, "default", "shop", "gone", 0, &hit, &err), &err);
		TL_CHECK_EQ_INT(hit.state, TL_RESUME_NONE);
		tl_store_hit_clear(&hit);
	}
	tl_pos_clear(&p);
	tl_store_close(s);
}

/* CDC and other non-snapshot records are kept and exported again: import → export is lossless. */
TL_TEST(store_keeps_non_snapshot_records_for_export)
{
	char in[4096], db1[4096], db2[4096], dir1[4096], dir2[4096], out1[4096], out2[4096];
	tl_buf a = TL_BUF_INIT, b = TL_BUF_INIT;
	FILE *f;
	size_t n;

	path_in(in, sizeof(in), "cdc.log");
	path_in(db1, sizeof(db1), "one.db");
	path_in(db2, sizeof(db2), "two.db");
	path_in(dir1, sizeof(dir1), "out1");
	path_in(dir2, sizeof(dir2), "out2");
	TL_CHECK(write_file(in,
			    "2024-01-01 00:00:00.000001 | current_position | {\"type\":\"MysqlCdc\",\"server_id\":\"\","
			    "\"binlog_filename\":\"mysql-bin.000004\",\"next_event_position\":3226}\n"
			    "2024-01-01 00:00:00.000002 | checkpoint_position | {\"type\":\"RdbSnapshot\",\"db_type\":"
			    "\"mysql\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"single\":[\"id\",\"5\"]}}\n"
			    "2024-01-01 00:00:00.000003 | checkpoint_position | {\"type\":\"None\"}\n") == 0);
	{
		const char *args1[] = {"import", "--store", db1, in, NULL};
		const char *args2[] = {"export", "--store", db1, "--dir", dir1, NULL};
		TL_CHECK_EQ_INT(run_cmd(&tl_cmd_import, args1), 0);
		TL_CHECK_EQ_INT(run_cmd(&tl_cmd_export, args2), 0);
	}
	snprintf(out1, sizeof(out1), "%s/position.log", dir1);
	{
		const char *args1[] = {"import", "--store", db2, out1, NULL};
		const char *args2[] = {"export", "--store", db2, "--dir", dir2, NULL};
		TL_CHECK_EQ_INT(run_cmd(&tl_cmd_import, args1), 0);
		TL_CHECK_EQ_INT(run_cmd(&tl_cmd_export, args2), 0);
	}
	snprintf(out2, sizeof(out2), "%s/position.log", dir2);
	TL_CHECK(sql_dump(db1, "SELECT kind, type, json, updated_at FROM other_record", &a) == 0);
	TL_CHECK(strstr(tl_buf_cstr(&a), "MysqlCdc") != NULL);
	TL_CHECK(strstr(tl_buf_cstr(&a), "None") == NULL);
	tl_buf_reset(&b);
	TL_CHECK(sql_dump(db2, "SELECT kind, type, json, updated_at FROM other_record", &b) == 0);
	TL_CHECK_EQ_STR(tl_buf_cstr(&a), tl_buf_cstr(&b));
	tl_buf_reset(&a);
	tl_buf_reset(&b);
	f = fopen(out1, "r");
	TL_CHECK(f != NULL);
	if (f) {
		char chunk[4096];
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			TL_CHECK(tl_buf_put(&a, chunk, n, NULL) == 0);
		fclose(f);
	}
	TL_CHECK(strstr(tl_buf_cstr(&a), "2024-01-01 00:00:00.000001 | current_position | {\"type\":\"MysqlCdc\"") != NULL);
	f = fopen(out2, "r");
	TL_CHECK(f != NULL);
	if (f) {
		char chunk[4096];
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			TL_CHECK(tl_buf_put(&b, chunk, n, NULL) == 0);
		fclose(f);
	}
	TL_CHECK_EQ_STR(tl_buf_cstr(&a), tl_buf_cstr(&b));
	tl_buf_release(&a);
	tl_buf_release(&b);
}

/* Both answers of one lookup are the same hit (or the same failure). */
static void same_hit(const char *what, int rc1, const tl_store_hit *a, const tl_error *e1, int rc2,
		     const tl_store_hit *b, const tl_error *e2)
{
	tl_buf ja = TL_BUF_INIT, jb = TL_BUF_INIT;

	TL_CHECK_MSG(rc1 == rc2, "%s: lookup rc %d, snapshot rc %d", what, rc1, rc2);
	if (rc1 || rc2) {
		TL_CHECK_MSG(strcmp(e1->message, e2->message) == 0, "%s: '%s' vs '%s'", what, e1->message, e2->message);
		return;
	}
	TL_CHECK_MSG(a->state == b->state, "%s: state %d vs %d", what, a->state, b->state);
	TL_CHECK_MSG(a->is_current == b->is_current, "%s: is_current", what);
	TL_CHECK_MSG(a->line == b->line, "%s: line", what);
	TL_CHECK_MSG(a->rows_copied == b->rows_copied, "%s: rows %lld vs %lld", what, (long long)a->rows_copied,
		     (long long)b->rows_copied);
	TL_CHECK_MSG((!a->source && !b->source) || (a->source && b->source && strcmp(a->source, b->source) == 0),
		     "%s: source", what);
	TL_CHECK_MSG((!a->updated_at && !b->updated_at) ||
			     (a->updated_at && b->updated_at && strcmp(a->updated_at, b->updated_at) == 0),
		     "%s: updated_at", what);
	if (a->state != TL_RESUME_NONE) {
		TL_CHECK(tl_pos_write_json(&a->pos, TL_STYLE_ASIS, &ja, NULL) == 0);
		TL_CHECK(tl_pos_write_json(&b->pos, TL_STYLE_ASIS, &jb, NULL) == 0);
		TL_CHECK_MSG(ja.len && strcmp(tl_buf_cstr(&ja), tl_buf_cstr(&jb)) == 0, "%s: '%s' vs '%s'", what,
			     tl_buf_cstr(&ja), tl_buf_cstr(&jb));
	}
	tl_buf_release(&ja);
	tl_buf_release(&jb);
}

/* Compares every lookup and table read of (schema, tb) through the store and the snapshot. */
static void same_answers(tl_store *s, const tl_store_snapshot *snap, const char *schema, const char *tb)
{
	tl_error e1 = TL_ERROR_INIT, e2 = TL_ERROR_INIT;
	tl_store_hit a, b;
	tl_store_table ta, tb_;
	char what[256];
	int only, rc1, rc2;

	for (only = 0; only < 2; only++) {
		snprintf(what, sizeof(what), "'%s'.'%s' checkpoint_only=%d", schema, tb, only);
		rc1 = tl_store_lookup(s, "t1", schema, tb, only, &a, &e1);
		rc2 = tl_store_snapshot_lookup(snap, schema, tb, only, &b, &e2);
		same_hit(what, rc1, &a, &e1, rc2, &b, &e2);
		tl_store_hit_clear(&a);
		tl_store_hit_clear(&b);
	}
	memset(&ta, 0, sizeof(ta));
	memset(&tb_, 0, sizeof(tb_));
	rc1 = tl_store_get_table(s, "t1", schema, tb, &ta, &e1);
	rc2 = tl_store_snapshot_table(snap, schema, tb, &tb_, &e2);
	TL_CHECK_MSG(rc1 == rc2, "'%s'.'%s': get_table rc %d, snapshot %d", schema, tb, rc1, rc2);
	if (rc1 || rc2) {
		TL_CHECK_MSG(strcmp(e1.message, e2.message) == 0, "'%s'.'%s': '%s' vs '%s'", schema, tb, e1.message,
			     e2.message);
		return;
	}
	TL_CHECK_EQ_STR(ta.schema, tb_.schema);
	TL_CHECK_EQ_STR(ta.tb, tb_.tb);
	TL_CHECK_EQ_INT(ta.est_rows, tb_.est_rows);
	TL_CHECK_EQ_INT(ta.rows_copied, tb_.rows_copied);
	TL_CHECK_EQ_INT(ta.target_empty_at_start, tb_.target_empty_at_start);
	TL_CHECK_EQ_INT(ta.target_rows_at_finish, tb_.target_rows_at_finish);
	TL_CHECK_MSG((!ta.mode && !tb_.mode) || (ta.mode && tb_.mode && strcmp(ta.mode, tb_.mode) == 0), "mode");
	TL_CHECK_EQ_STR(ta.state, tb_.state);
}

/*
 * The snapshot (plan's bulk read) answers what tl_store_lookup / tl_store_get_table answer,
 * for every mixture of finished, current, checkpoint, statistics and nothing, over names
 * that sort in different places (several schemas, '-', '.', case, UTF-8), another task's
 * records beside them, NULL sources and counts, and a record whose JSON is broken.
 */
TL_TEST(store_snapshot_matches_lookup)
{
	static const char *const schemas[] = {"shop", "Shop", "a-b", "a.b", "zz\xc3\xa9", ""};
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	tl_store_snapshot *snap = NULL, *later = NULL;
	tl_position p = TL_POSITION_INIT, fin = TL_POSITION_INIT;
	char path[4096], tb[64], val[32];
	size_t i, k;

	path_in(path, sizeof(path), "snap.db");
	TL_CHECK_OK(tl_store_open(&s, path, 0, &err), &err);
	/* an empty store: every answer is "nothing" */
	TL_CHECK_OK(tl_store_snapshot_load(s, "t1", &snap, &err), &err);
	TL_CHECK_EQ_INT(tl_store_snapshot_count(snap), 0);
	same_answers(s, snap, "shop", "t0");
	tl_store_snapshot_free(snap);
	snap = NULL;

	TL_CHECK_OK(tl_store_begin(s, &err), &err);
	for (k = 0; k < sizeof(schemas) / sizeof(schemas[0]); k++) {
		for (i = 0; i < 64; i++) {
			const char *sc = schemas[k];
			unsigned mix = (unsigned)(i % 16); /* bit 0 checkpoint, 1 current, 2 finished, 3 statistics */
			snprintf(tb, sizeof(tb), "t%zu%s", (i * 37) % 64, i % 5 == 0 ? "-x" : i % 7 == 0 ? ".y" : "");
			snprintf(val, sizeof(val), "%zu", i);
			if (mix & 1u) {
				TL_CHECK_OK(pos_of(&p, sc, tb, "id", val, &err), &err);
				TL_CHECK_OK(tl_store_put_position(s, "t1", &p, 0, NULL, i % 3 ? "run" : NULL, (long)i,
								  i % 2 ? (int64_t)i : -1, &err), &err);
			}
			if (mix & 2u) {
				TL_CHECK_OK(pos_of(&p, sc, tb, "id", "999", &err), &err);
				TL_CHECK_OK(tl_store_put_position(s, "t1", &p, 1, "2024-03-29 07:02:24.463776",
								  "/x/position.log", 7, -1, &err), &err);
			}
			if (mix & 4u) {
				TL_CHECK_OK(tl_pos_set(&fin, TL_POS_RDB_SNAPSHOT_FINISHED, "mysql", sc, tb, TL_KEY_ABSENT, 0,
						       NULL, NULL, &err), &err);
				TL_CHECK_OK(tl_store_put_finished(s, "t1", &fin, NULL, i % 3 ? "finished.log" : NULL, 3,
								  i % 2 ? 100 : -1, &err), &err);
			}
			if (mix & 8u) {
				tl_store_table t;
				memset(&t, 0, sizeof(t));
				t.schema = sc;
				t.tb = tb;
				t.est_rows = i % 3 ? (int64_t)i * 10 : -1;
				t.rows_copied = i % 4 ? (int64_t)i : -1;
				t.target_empty_at_start = (int)(i % 2);
				t.mode = i % 3 ? "batch" : NULL;
				t.state = mix & 4u ? "finished" : "running";
				t.target_rows_at_finish = mix & 4u ? (int64_t)i : -1;
				TL_CHECK_OK(tl_store_put_table(s, "t1", &t, &err), &err);
			}
			/* another task's records never show */
			TL_CHECK_OK(pos_of(&p, sc, tb, "id", "1", &err), &err);
			TL_CHECK_OK(tl_store_put_position(s, "t2", &p, 1, NULL, "run", 0, -1, &err), &err);
		}
	}
	TL_CHECK_OK(tl_store_commit(s, &err), &err);
	/* a broken record: both fail with the same message */
	/* (i = 1: shop.t37 has only a checkpoint) */
	TL_CHECK(sql_dump(path, "UPDATE position SET json = '{broken' WHERE task_id = 't1' AND schema = 'shop' AND"
				" tb = 't37' AND kind = 'checkpoint'", NULL) == 0);

	TL_CHECK_OK(tl_store_snapshot_load(s, "t1", &snap, &err), &err);
	TL_CHECK(tl_store_snapshot_count(snap) > 0);
	for (k = 0; k < sizeof(schemas) / sizeof(schemas[0]); k++)
		for (i = 0; i < 70; i++) {
			snprintf(tb, sizeof(tb), "t%zu", i);
			same_answers(s, snap, schemas[k], tb);
			snprintf(tb, sizeof(tb), "t%zu-x", i);
			same_answers(s, snap, schemas[k], tb);
			snprintf(tb, sizeof(tb), "t%zu.y", i);
			same_answers(s, snap, schemas[k], tb);
		}
	same_answers(s, snap, "nope", "t1");
	same_answers(s, snap, "SHOP", "t1");
	{
		tl_store_hit hit;
		TL_CHECK(tl_store_snapshot_lookup(snap, "shop", "t37", 0, &hit, &err) != 0);
		TL_CHECK(strstr(err.message, "'shop'.'t37'") != NULL);
	}

	/* taken inside a transaction too; and a snapshot does not see later writes */
	TL_CHECK_OK(tl_store_begin(s, &err), &err);
	TL_CHECK_OK(tl_store_snapshot_load(s, "t1", &later, &err), &err);
	TL_CHECK_OK(tl_store_commit(s, &err), &err);
	same_answers(s, later, "shop", "t3");
	TL_CHECK_OK(pos_of(&p, "new", "table", "id", "1", &err), &err);
	TL_CHECK_OK(tl_store_put_position(s, "t1", &p, 1, NULL, "run", 0, -1, &err), &err);
	{
		tl_store_hit hit;
		TL_CHECK_OK(tl_store_snapshot_lookup(snap, "new", "table", 0, &hit, &err), &err);
		TL_CHECK_EQ_INT(hit.state, TL_RESUME_NONE);
		tl_store_hit_clear(&hit);
	}
	tl_store_snapshot_free(later);
	tl_store_snapshot_free(snap);
	tl_pos_clear(&p);
	tl_pos_clear(&fin);
	tl_store_close(s);
}
