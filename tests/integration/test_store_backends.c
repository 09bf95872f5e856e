/*
 * test_store_backends.c - the checkpoint store's contract, run against both backends:
 * SQLite (a file in a temp dir, always) and PostgreSQL (a fresh schema of the database
 * in TL_PG_DST_URL, the throwaway test server; skipped without it). Each case is one
 * function taking the backend; TL_BOTH registers it twice (name__sqlite, name__pg).
 * Covered: creation, versions and refusals; lookup precedence, forgetting, task ids;
 * import then export through the CLI; the plan snapshot answering as the lookups; the
 * meaning of rows_copied (#19); the task lock's takeover rules and "interrupted" (#13);
 * many processes opening a fresh store and racing for one task (#19); no password in
 * any message. sqlite3.h and libpq-fe.h are used here only to inspect and tamper.
 */
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli/cli.h"
#include "tideline/buf.h"
#include "tideline/resume.h"
#include "tideline/store.h"
#include "tl_test.h"

enum backend { SQLITE, PG };

#define TL_BOTH(name)                                                                   \
	static void name(enum backend be, const char *where);                           \
	TL_TEST(name##__sqlite)                                                         \
	{                                                                               \
		char w[4096];                                                           \
		snprintf(w, sizeof(w), "%s/store.db", tl_test_tmpdir());                \
		name(SQLITE, w);                                                        \
	}                                                                               \
	TL_TEST(name##__pg)                                                             \
	{                                                                               \
		char w[4096];                                                           \
		if (!pg_store(#name, w, sizeof(w)))                                     \
			return;                                                         \
		name(PG, w);                                                            \
		pg_drop(#name);                                                         \
	}                                                                               \
	static void name(enum backend be, const char *where)

/* The schema a PostgreSQL case uses: tlt_<case>_<pid>. */
static void pg_schema(const char *name, char *out, size_t n)
{
	snprintf(out, n, "tlt_%s_%ld", name, (long)getpid());
}

/* Runs SQL on the test database (search_path = the case's schema); 0 or -1 (printed). */
static int pg_sql(const char *name, const char *sql, tl_buf *out)
{
	const char *base = getenv("TL_PG_DST_URL");
	char schema[128], set[256];
	PGconn *c;
	PGresult *r = NULL;
	int rc = -1, i, j;

	if (!base)
		return -1;
	pg_schema(name, schema, sizeof(schema));
	c = PQconnectdb(base);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "    pg_sql: %s", PQerrorMessage(c));
		goto cleanup;
	}
	snprintf(set, sizeof(set), "SET search_path TO %s", schema);
	PQclear(PQexec(c, set));
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "    pg_sql: %s", PQerrorMessage(c));
		goto cleanup;
	}
	for (i = 0; out && i < PQntuples(r); i++)
		for (j = 0; j < PQnfields(r); j++)
			if (tl_buf_printf(out, NULL, "%s%s%s", j ? "|" : "", PQgetisnull(r, i, j) ? "<null>" : PQgetvalue(r, i, j),
					  j + 1 == PQnfields(r) ? "\n" : ""))
				goto cleanup;
	rc = 0;
cleanup:
	PQclear(r);
	PQfinish(c);
	return rc;
}

static void pg_drop(const char *name)
{
	char schema[128], sql[256];

	pg_schema(name, schema, sizeof(schema));
	snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", schema);
	(void)pg_sql(name, sql, NULL);
}

/* The store URL of a PostgreSQL case (its schema dropped first); 0 when the server is not configured. */
static int pg_store(const char *name, char *out, size_t n)
{
	const char *base = tl_test_require_env("TL_PG_DST_URL");
	char schema[128];

	if (!base)
		return 0;
	pg_drop(name);
	pg_schema(name, schema, sizeof(schema));
	snprintf(out, n, "%s%sschema=%s", base, strchr(base, '?') ? "&" : "?", schema);
	return 1;
}

/* Runs SQL on a store directly (to inspect or tamper); rows appended to out as a|b\n. */
static int store_sql(enum backend be, const char *where, const char *case_name, const char *sql, tl_buf *out)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1, i;

	if (be == PG)
		return pg_sql(case_name, sql, out);
	if (sqlite3_open_v2(where, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, 5000) != SQLITE_OK)
		goto cleanup;
	/* the store's clock, as tideline registers it on its own connections */
	if (sqlite3_exec(db, "SELECT 1", NULL, NULL, NULL) != SQLITE_OK)
		goto cleanup;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto cleanup;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		for (i = 0; out && i < sqlite3_column_count(st); i++) {
			const unsigned char *t = sqlite3_column_text(st, i);
			if (tl_buf_printf(out, NULL, "%s%s%s", i ? "|" : "", t ? (const char *)t : "<null>",
					  i + 1 == sqlite3_column_count(st) ? "\n" : ""))
				goto cleanup;
		}
	rc = rc == SQLITE_DONE ? 0 : -1;
cleanup:
	if (rc && db)
		fprintf(stderr, "    store_sql: %s\n", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/* The store's clock in SQL: tl_now() is tideline's own function, so tamper with literals. */
static double now_unix(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int pos_of(tl_position *p, const char *schema, const char *tb, const char *val, tl_error *err)
{
	const char *cols[1] = {"id"}, *vals[1] = {val};

	return tl_pos_set(p, TL_POS_RDB_SNAPSHOT, "mysql", schema, tb, TL_KEY_SINGLE, 1, cols, vals, err);
}

/* A live process of this host that does nothing (kill it with SIGKILL), started 0.1 s ago. */
static pid_t sleeper(void)
{
	pid_t child = fork();

	if (child == 0) {
		pause();
		_exit(0);
	}
	usleep(100000);
	return child;
}

/* Records shop.TB of TASK as running with those counts (a run's table statistics). */
static int put_running(tl_store *s, const char *task, const char *tb, int64_t est, int64_t rows, tl_error *err)
{
	tl_store_table t;

	memset(&t, 0, sizeof(t));
	t.schema = "shop";
	t.tb = tb;
	t.est_rows = est;
	t.rows_copied = rows;
	t.mode = "batch";
	t.state = "running";
	t.target_rows_at_finish = -1;
	return tl_store_put_table(s, task, &t, err);
}

TL_BOTH(backend_create_version_refusals)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	tl_buf out = TL_BUF_INIT;
	char want[64], missing[4200];

	/* a store that is not there: read-only and no-create refuse, naming it */
	if (be == SQLITE)
		snprintf(missing, sizeof(missing), "%s", where);
	else
		snprintf(missing, sizeof(missing), "%s", where);
	TL_CHECK_EQ_INT(tl_store_open(&s, missing, TL_STORE_READONLY, &err), TL_ERR_NOTFOUND);
	TL_CHECK_EQ_INT(tl_store_open(&s, missing, TL_STORE_NOCREATE, &err), TL_ERR_NOTFOUND);
	TL_CHECK(strstr(err.message, "does not exist") != NULL);
	TL_CHECK_EQ_INT(tl_store_is_url(where), be == PG);

	TL_CHECK_OK(tl_store_open(&s, where, 0, &err), &err);
	TL_CHECK_EQ_INT(tl_store_is_shared(s), be == PG);
	tl_store_close(s);
	s = NULL;
	TL_CHECK(store_sql(be, where, "backend_create_version_refusals",
			   be == PG ? "SELECT version FROM schema_version" : "PRAGMA user_version", &out) == 0);
	snprintf(want, sizeof(want), "%d\n", tl_store_schema_version());
	TL_CHECK_EQ_STR(tl_buf_cstr(&out), want);
	/* every table and view of the contract is there */
	tl_buf_reset(&out);
	TL_CHECK(store_sql(be, where, "backend_create_version_refusals",
			   be == PG ? "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
				      " WHERE n.nspname = current_schema() AND c.relname IN ('position', 'finished',"
				      " 'task_table', 'rate_sample', 'import_source', 'task_lock', 'progress', 'other_record')"
				    : "SELECT count(*) FROM sqlite_schema WHERE name IN ('position', 'finished', 'task_table',"
				      " 'rate_sample', 'import_source', 'task_lock', 'progress', 'other_record')",
			   &out) == 0);
	TL_CHECK_EQ_STR(tl_buf_cstr(&out), "8\n");
	TL_CHECK_OK(tl_store_open(&s, where, TL_STORE_READONLY, &err), &err);
	tl_store_close(s);
	s = NULL;
	/* a newer store is refused */
	TL_CHECK(store_sql(be, where, "backend_create_version_refusals",
			   be == PG ? "UPDATE schema_version SET version = 99" : "PRAGMA user_version = 99", NULL) == 0);
	TL_CHECK_EQ_INT(tl_store_open(&s, where, 0, &err), TL_ERR_STORE);
	TL_CHECK(strstr(err.message, "has schema version 99, this tideline knows up to") != NULL);
	TL_CHECK_EQ_INT(tl_store_open(&s, where, TL_STORE_READONLY, &err), TL_ERR_STORE);
	tl_buf_release(&out);
}

TL_BOTH(backend_lookup_forget_task_ids)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	tl_store_hit hit;
	tl_position p = TL_POSITION_INIT, fin = TL_POSITION_INIT;
	char **ids = NULL;

	TL_CHECK_OK(tl_store_open(&s, where, 0, &err), &err);
	TL_CHECK_OK(pos_of(&p, "shop", "orders", "5", &err), &err);
	TL_CHECK_OK(tl_store_put_position(s, "a", &p, 0, "2024-03-29 07:02:24.463776", "run", 0, 50, &err), &err);
	TL_CHECK_OK(pos_of(&p, "shop", "orders", "6", &err), &err);
	TL_CHECK_OK(tl_store_put_position(s, "a", &p, 1, NULL, "run", 0, 60, &err), &err);
	TL_CHECK_OK(tl_store_lookup(s, "a", "shop", "orders", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_POSITION);
	TL_CHECK_EQ_INT(hit.is_current, 1);
	TL_CHECK_EQ_STR(hit.pos.keys[0].val, "6");
	TL_CHECK_EQ_INT(hit.rows_copied, 60);
	tl_store_hit_clear(&hit);
	TL_CHECK_OK(tl_store_lookup(s, "a", "shop", "orders", 1, &hit, &err), &err);
	TL_CHECK_EQ_STR(hit.pos.keys[0].val, "5");
	TL_CHECK_EQ_STR(hit.updated_at, "2024-03-29 07:02:24.463776");
	tl_store_hit_clear(&hit);
	/* exact names: case and '-' never collide */
	TL_CHECK_OK(tl_store_lookup(s, "a", "shop", "Orders", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_NONE);
	tl_store_hit_clear(&hit);
	TL_CHECK_OK(tl_pos_set(&fin, TL_POS_RDB_SNAPSHOT_FINISHED, "mysql", "shop", "orders", TL_KEY_ABSENT, 0, NULL,
			       NULL, &err), &err);
	TL_CHECK_OK(tl_store_put_finished(s, "a", &fin, NULL, "finished.log", 3, 100, &err), &err);
	TL_CHECK_OK(tl_store_lookup(s, "a", "shop", "orders", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_FINISHED);
	TL_CHECK_EQ_INT(hit.line, 3);
	tl_store_hit_clear(&hit);
	TL_CHECK_OK(tl_store_put_position(s, "b", &p, 1, NULL, "run", 0, -1, &err), &err);
	TL_CHECK_OK(tl_store_task_ids(s, &ids, &err), &err);
	TL_CHECK(ids[0] && ids[1] && !ids[2] && strcmp(ids[0], "a") == 0 && strcmp(ids[1], "b") == 0);
	tl_store_free_list(ids);
	TL_CHECK_OK(tl_store_forget_task(s, "a", &err), &err);
	TL_CHECK_OK(tl_store_lookup(s, "a", "shop", "orders", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_NONE);
	tl_store_hit_clear(&hit);
	TL_CHECK_OK(tl_store_lookup(s, "b", "shop", "orders", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_POSITION);
	tl_store_hit_clear(&hit);
	/* a rolled back transaction leaves nothing */
	TL_CHECK_OK(tl_store_begin(s, &err), &err);
	TL_CHECK_OK(pos_of(&p, "shop", "gone", "1", &err), &err);
	TL_CHECK_OK(tl_store_put_position(s, "b", &p, 1, NULL, "run", 0, -1, &err), &err);
	tl_store_rollback(s);
	TL_CHECK_OK(tl_store_lookup(s, "b", "shop", "gone", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_NONE);
	tl_store_hit_clear(&hit);
	tl_pos_clear(&p);
	tl_pos_clear(&fin);
	tl_store_close(s);
}

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

/* Runs a command with its standard output into out. */
static int capture_cmd(const struct tl_command *cmd, const char *const *args, tl_buf *out);

static int slurp(const char *path, tl_buf *out)
{
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (tl_buf_put(out, chunk, n, NULL))
			break;
	fclose(f);
	return 0;
}

static int capture_cmd(const struct tl_command *cmd, const char *const *args, tl_buf *out)
{
	char path[4096];
	int fd, saved, rc;

	snprintf(path, sizeof(path), "%s/stdout.txt", tl_test_tmpdir());
	fflush(stdout);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	saved = dup(1);
	if (fd < 0 || saved < 0 || dup2(fd, 1) < 0)
		return -1;
	rc = run_cmd(cmd, args);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(fd);
	if (slurp(path, out) != 0)
		return -1;
	return rc;
}

/* import then export gives back the same lines, whatever the backend (and the same as SQLite's) */
TL_BOTH(backend_import_export_round_trip)
{
	char in[4096], fin[4096], dir[4096], outp[4096], outf[4096];
	tl_buf a = TL_BUF_INIT, b = TL_BUF_INIT;
	static const char pos_text[] =
		"2024-01-01 00:00:00.000001 | current_position | {\"type\":\"MysqlCdc\",\"server_id\":\"\","
		"\"binlog_filename\":\"mysql-bin.000004\",\"next_event_position\":3226}\n"
		"2024-01-01 00:00:00.000002 | checkpoint_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\","
		"\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"single\":[\"id\",\"5\"]}}\n"
		"2024-01-01 00:00:00.000003 | current_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\","
		"\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"single\":[\"id\",\"7\"]}}\n"
		"2024-01-01 00:00:00.000004 | current_position | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\","
		"\"schema\":\"x-y\",\"tb\":\"\xc3\xa9t\xc3\xa9\",\"order_key\":{\"composite\":[[\"a\",\"1\"],[\"b\",null]]}}\n";
	static const char fin_text[] = "2024-01-01 00:00:00.000005 | {\"type\":\"RdbSnapshotFinished\",\"db_type\":"
				       "\"mysql\",\"schema\":\"s\",\"tb\":\"u\"}\n";
	FILE *f;

	(void)be;
	snprintf(in, sizeof(in), "%s/position.log", tl_test_tmpdir());
	snprintf(fin, sizeof(fin), "%s/finished.log", tl_test_tmpdir());
	snprintf(dir, sizeof(dir), "%s/out", tl_test_tmpdir());
	f = fopen(in, "w");
	TL_CHECK(f && fputs(pos_text, f) >= 0 && fclose(f) == 0);
	f = fopen(fin, "w");
	TL_CHECK(f && fputs(fin_text, f) >= 0 && fclose(f) == 0);
	{
		const char *imp[] = {"import", "--store", where, "--task-id", "rt", in, fin, NULL};
		const char *exp[] = {"export", "--store", where, "--task-id", "rt", "--dir", dir, NULL};
		TL_CHECK_EQ_INT(run_cmd(&tl_cmd_import, imp), 0);
		TL_CHECK_EQ_INT(run_cmd(&tl_cmd_export, exp), 0);
	}
	snprintf(outp, sizeof(outp), "%s/position.log", dir);
	snprintf(outf, sizeof(outf), "%s/finished.log", dir);
	TL_CHECK(slurp(outp, &a) == 0 && slurp(outf, &b) == 0);
	TL_CHECK_EQ_STR(tl_buf_cstr(&a), pos_text);
	TL_CHECK_EQ_STR(tl_buf_cstr(&b), fin_text);
	tl_buf_release(&a);
	tl_buf_release(&b);
}

/* The plan snapshot answers exactly what the per-table calls answer. */
TL_BOTH(backend_snapshot_matches_lookup)
{
	static const char *const schemas[] = {"shop", "Shop", "a-b", "a.b", "zz\xc3\xa9", "_", ""};
	tl_error err = TL_ERROR_INIT, e1 = TL_ERROR_INIT, e2 = TL_ERROR_INIT;
	tl_store *s = NULL;
	tl_store_snapshot *snap = NULL;
	tl_position p = TL_POSITION_INIT, fin = TL_POSITION_INIT;
	char tb[64], val[32];
	size_t i, k;
	int only;

	TL_CHECK_OK(tl_store_open(&s, where, 0, &err), &err);
	TL_CHECK_OK(tl_store_begin(s, &err), &err);
	for (k = 0; k < sizeof(schemas) / sizeof(schemas[0]); k++)
		for (i = 0; i < 32; i++) {
			unsigned mix = (unsigned)(i % 16);
			snprintf(tb, sizeof(tb), "t%zu%s", (i * 7) % 32, i % 5 == 0 ? "-x" : i % 7 == 0 ? "_y" : "");
			snprintf(val, sizeof(val), "%zu", i);
			if (mix & 1u) {
				TL_CHECK_OK(pos_of(&p, schemas[k], tb, val, &err), &err);
				TL_CHECK_OK(tl_store_put_position(s, "t1", &p, 0, NULL, i % 3 ? "run" : NULL, (long)i,
								  i % 2 ? (int64_t)i : -1, &err), &err);
			}
			if (mix & 2u) {
				TL_CHECK_OK(pos_of(&p, schemas[k], tb, "999", &err), &err);
				TL_CHECK_OK(tl_store_put_position(s, "t1", &p, 1, NULL, "/x/position.log", 7, -1, &err), &err);
			}
			if (mix & 4u) {
				TL_CHECK_OK(tl_pos_set(&fin, TL_POS_RDB_SNAPSHOT_FINISHED, "mysql", schemas[k], tb,
						       TL_KEY_ABSENT, 0, NULL, NULL, &err), &err);
				TL_CHECK_OK(tl_store_put_finished(s, "t1", &fin, NULL, "finished.log", 3, i % 2 ? 100 : -1,
								  &err), &err);
			}
			if (mix & 8u) {
				tl_store_table t;
				memset(&t, 0, sizeof(t));
				t.schema = schemas[k];
				t.tb = tb;
				t.est_rows = i % 3 ? (int64_t)i * 10 : -1;
				t.rows_copied = i % 4 ? (int64_t)i : -1;
				t.target_empty_at_start = (int)(i % 2);
				t.mode = "batch";
				t.state = mix & 4u ? "finished" : "running";
				t.target_rows_at_finish = -1;
				TL_CHECK_OK(tl_store_put_table(s, "t1", &t, &err), &err);
			}
		}
	TL_CHECK_OK(tl_store_commit(s, &err), &err);
	TL_CHECK_OK(tl_store_snapshot_load(s, "t1", &snap, &err), &err);
	TL_CHECK(tl_store_snapshot_count(snap) > 0);
	for (k = 0; k < sizeof(schemas) / sizeof(schemas[0]); k++)
		for (i = 0; i < 34; i++) {
			const char *forms[3] = {"t%zu", "t%zu-x", "t%zu_y"};
			size_t f;
			for (f = 0; f < 3; f++) {
				tl_store_hit a, b;
				tl_store_table ta, tb2;
				int rc1, rc2;

				snprintf(tb, sizeof(tb), forms[f], i);
				for (only = 0; only < 2; only++) {
					rc1 = tl_store_lookup(s, "t1", schemas[k], tb, only, &a, &e1);
					rc2 = tl_store_snapshot_lookup(snap, schemas[k], tb, only, &b, &e2);
					TL_CHECK_MSG(rc1 == rc2 && a.state == b.state && a.is_current == b.is_current &&
							     a.rows_copied == b.rows_copied && a.line == b.line,
						     "'%s'.'%s' only=%d: lookup and snapshot differ", schemas[k], tb, only);
					tl_store_hit_clear(&a);
					tl_store_hit_clear(&b);
				}
				rc1 = tl_store_get_table(s, "t1", schemas[k], tb, &ta, &e1);
				rc2 = tl_store_snapshot_table(snap, schemas[k], tb, &tb2, &e2);
				TL_CHECK_MSG(rc1 == rc2 && (rc1 || (ta.rows_copied == tb2.rows_copied &&
								    ta.est_rows == tb2.est_rows &&
								    strcmp(ta.state, tb2.state) == 0)),
					     "'%s'.'%s': table statistics differ", schemas[k], tb);
			}
		}
	tl_store_snapshot_free(snap);
	tl_pos_clear(&p);
	tl_pos_clear(&fin);
	tl_store_close(s);
}

/* rows_copied: what a position recorded, not what a failed or stopped run claims (#19) */
TL_BOTH(backend_rows_copied_counts_committed_rows_once)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	tl_store_table t, got;
	tl_position p = TL_POSITION_INIT;

	TL_CHECK_OK(tl_store_open(&s, where, 0, &err), &err);
	memset(&t, 0, sizeof(t));
	t.schema = "shop";
	t.tb = "big";
	t.est_rows = 596703;
	t.rows_copied = 0;
	t.mode = "batch";
	t.state = "running";
	t.target_rows_at_finish = -1;
	TL_CHECK_OK(tl_store_put_table(s, "r", &t, &err), &err);
	TL_CHECK_OK(pos_of(&p, "shop", "big", "400000", &err), &err);
	TL_CHECK_OK(tl_store_put_position(s, "r", &p, 1, NULL, "run", 0, 400000, &err), &err);
	/* the run fails having committed 54,440 rows past that position */
	t.rows_copied = 454440;
	t.state = "failed";
	TL_CHECK_OK(tl_store_put_table(s, "r", &t, &err), &err);
	TL_CHECK_OK(tl_store_get_table(s, "r", "shop", "big", &got, &err), &err);
	TL_CHECK_EQ_STR(got.state, "failed");
	TL_CHECK_EQ_INT(got.rows_copied, 400000);
	/* the rerun starts from it, copies the rest (the 54,440 again) and finishes */
	t.rows_copied = 400000;
	t.state = "running";
	TL_CHECK_OK(tl_store_put_table(s, "r", &t, &err), &err);
	t.rows_copied = 596703;
	t.state = "finished";
	t.target_rows_at_finish = 596703;
	TL_CHECK_OK(tl_store_put_table(s, "r", &t, &err), &err);
	TL_CHECK_OK(tl_store_get_table(s, "r", "shop", "big", &got, &err), &err);
	TL_CHECK_EQ_INT(got.rows_copied, 596703);
	/* stopped: the same (its last position carries the count) */
	t.tb = "other";
	t.rows_copied = 10;
	t.state = "running";
	t.target_rows_at_finish = -1;
	TL_CHECK_OK(tl_store_put_table(s, "r", &t, &err), &err);
	t.rows_copied = 99;
	t.state = "stopped";
	TL_CHECK_OK(tl_store_put_table(s, "r", &t, &err), &err);
	TL_CHECK_OK(tl_store_get_table(s, "r", "shop", "other", &got, &err), &err);
	TL_CHECK_EQ_INT(got.rows_copied, 10);
	tl_pos_clear(&p);
	tl_store_close(s);
}

struct prog {
	char state[32];
	double rate;
	int n;
};

static int on_prog(void *ctx, const tl_store_progress *p, tl_error *err)
{
	struct prog *g = ctx;

	(void)err;
	g->n++;
	snprintf(g->state, sizeof(g->state), "%s", p->state ? p->state : "");
	g->rate = p->rate;
	return 0;
}

static const char *state_of(const char *where, const char *task)
{
	static struct prog g;
	tl_error err = TL_ERROR_INIT;
	tl_store *ro = NULL;

	memset(&g, 0, sizeof(g));
	if (tl_store_open(&ro, where, TL_STORE_READONLY, &err) ||
	    tl_store_foreach_progress(ro, task, now_unix(), on_prog, &g, &err))
		tl_test_fail(__FILE__, __LINE__, "progress: %s", err.message);
	tl_store_close(ro);
	return g.state;
}

/* The task lock: takeover rules, the caller told why, "interrupted" in status (#13) */
TL_BOTH(backend_task_lock_takeover_and_interrupted)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL, *s2 = NULL;
	tl_store_lock_info info;
	char host[256], sql[512];
	pid_t child;
	int status;
	const char *cn = "backend_task_lock_takeover_and_interrupted";

	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	TL_CHECK_OK(tl_store_open(&s, where, 0, &err), &err);
	TL_CHECK_OK(put_running(s, "job", "orders", 100, 10, &err), &err);
	/* nobody holds the task: its running table was interrupted */
	TL_CHECK_EQ_STR(state_of(where, "job"), "interrupted");
	TL_CHECK_OK(tl_store_lock_task_ex(s, "job", 0, &info, &err), &err);
	TL_CHECK_EQ_INT(info.taken_over, 0);
	TL_CHECK_EQ_STR(state_of(where, "job"), "running");
	/* a second handle of the same process may take it again */
	TL_CHECK_OK(tl_store_open(&s2, where, 0, &err), &err);
	TL_CHECK_OK(tl_store_lock_task(s2, "job", &err), &err);
	tl_store_close(s2);
	s2 = NULL;

	/* a live process of this host holds it: refused with the documented message */
	child = sleeper();
	TL_CHECK(child > 0);
	snprintf(sql, sizeof(sql), "UPDATE task_lock SET pid = %ld, started_at = '%s' WHERE task_id = 'job'",
		 (long)child, "2999-01-01 00:00:00.000000");
	TL_CHECK(store_sql(be, where, cn, sql, NULL) == 0);
	TL_CHECK_EQ_INT(tl_store_lock_task_ex(s, "job", 0, &info, &err), TL_ERR_LOCKED);
	{
		char want[512];
		snprintf(want, sizeof(want), "task 'job' is being run by pid %ld (store %s)", (long)child,
			 tl_store_path(s));
		TL_CHECK_EQ_STR(err.message, want);
	}
	TL_CHECK_EQ_STR(state_of(where, "job"), "running");
	/* it dies: taken over, and the caller learns whose lock it was and why */
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	TL_CHECK_EQ_STR(state_of(where, "job"), "interrupted");
	TL_CHECK_OK(tl_store_lock_task_ex(s, "job", 0, &info, &err), &err);
	TL_CHECK_EQ_INT(info.taken_over, 1);
	TL_CHECK_EQ_INT(info.pid, (long)child);
	TL_CHECK_EQ_STR(info.host, host);
	TL_CHECK_MSG(strstr(info.reason, "no longer running") != NULL, "reason: %s", info.reason);

	/* another host with a fresh heartbeat: refused, naming it */
	snprintf(sql, sizeof(sql), "UPDATE task_lock SET pid = 4242, host = 'elsewhere', heartbeat_at = %.3f"
		 " WHERE task_id = 'job'", now_unix() - 10);
	TL_CHECK(store_sql(be, where, cn, sql, NULL) == 0);
	TL_CHECK_EQ_INT(tl_store_lock_task_ex(s, "job", 60, &info, &err), TL_ERR_LOCKED);
	TL_CHECK_MSG(strstr(err.message, "pid 4242 on host 'elsewhere'") != NULL, "%s", err.message);
	TL_CHECK_EQ_STR(state_of(where, "job"), "running");
	/* ... older than the lease: taken over */
	snprintf(sql, sizeof(sql), "UPDATE task_lock SET heartbeat_at = %.3f WHERE task_id = 'job'", now_unix() - 400);
	TL_CHECK(store_sql(be, where, cn, sql, NULL) == 0);
	TL_CHECK_EQ_STR(state_of(where, "job"), "interrupted");
	TL_CHECK_OK(tl_store_lock_task_ex(s, "job", 60, &info, &err), &err);
	TL_CHECK_EQ_INT(info.taken_over, 1);
	TL_CHECK_EQ_STR(info.host, "elsewhere");
	TL_CHECK(info.heartbeat_age > 390);
	TL_CHECK_MSG(strstr(info.reason, "lease 60 s") != NULL, "reason: %s", info.reason);
	/* the holder's writes renew the heartbeat */
	TL_CHECK_OK(tl_store_heartbeat(s, &err), &err);
	{
		tl_buf out = TL_BUF_INIT;
		snprintf(sql, sizeof(sql), "SELECT heartbeat_at > %.3f FROM task_lock WHERE task_id = 'job'", now_unix() - 5);
		TL_CHECK(store_sql(be, where, cn, sql, &out) == 0);
		TL_CHECK_EQ_STR(tl_buf_cstr(&out), be == PG ? "t\n" : "1\n");
		tl_buf_release(&out);
	}
	tl_store_unlock_task(s, "job");
	TL_CHECK_EQ_STR(state_of(where, "job"), "interrupted");
	tl_store_close(s);
}

/*
 * Two first runs racing on a fresh store (#19): many processes open the new store at
 * once and take the task's lock. Exactly one holds it; every other one is refused with
 * the documented message, never "database is locked" or a failed migration.
 */
TL_BOTH(backend_racing_first_opens)
{
	enum { N = 12 };
	int pipes[N][2], go[2], done[2], i, holders = 0, refused = 0, other = 0;
	pid_t kids[N];
	char buf[600];

	(void)be;
	TL_CHECK(pipe(go) == 0 && pipe(done) == 0);
	for (i = 0; i < N; i++) {
		TL_CHECK(pipe(pipes[i]) == 0);
		kids[i] = fork();
		if (kids[i] == 0) {
			tl_error err = TL_ERROR_INIT;
			tl_store *s = NULL;
			char c;
			int rc;

			close(go[1]);
			close(done[1]);
			/* all start together */
			if (read(go[0], &c, 1) < 0)
				_exit(2);
			rc = tl_store_open(&s, where, 0, &err);
			if (!rc)
				rc = tl_store_lock_task(s, "race", &err);
			snprintf(buf, sizeof(buf), "%d %s", rc, rc ? err.message : "held");
			if (write(pipes[i][1], buf, strlen(buf) + 1) < 0)
				_exit(2);
			/* hold what we got until the parent has heard everyone (EOF on done) */
			if (read(done[0], &c, 1) < 0)
				_exit(2);
			tl_store_close(s);
			_exit(0);
		}
		close(pipes[i][1]);
	}
	close(go[0]);
	close(done[0]);
	TL_CHECK(write(go[1], "xxxxxxxxxxxxxxxxxxxxxxxx", N) == N);
	for (i = 0; i < N; i++) {
		ssize_t n = read(pipes[i][0], buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		if (strcmp(buf, "0 held") == 0)
			holders++;
		else if (strstr(buf, "is being run by pid"))
			refused++;
		else {
			other++;
			fprintf(stderr, "    process %d: %s\n", i, buf);
		}
		close(pipes[i][0]);
	}
	close(go[1]);
	close(done[1]); /* the children's second read ends */
	for (i = 0; i < N; i++)
		waitpid(kids[i], NULL, 0);
	TL_CHECK_EQ_INT(holders, 1);
	TL_CHECK_EQ_INT(refused, N - 1);
	TL_CHECK_EQ_INT(other, 0);
}

/* A store URL's password appears in no message and no tl_store_path (PostgreSQL only). */
TL_TEST(backend_pg_no_password_in_messages)
{
	const char *base = tl_test_require_env("TL_PG_DST_URL");
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	char url[4096], *at, *p;

	if (!base)
		return;
	/* the test server trusts local users: a password is accepted and ignored */
	snprintf(url, sizeof(url), "%s", base);
	at = strchr(url + strlen("postgres://"), '@');
	TL_CHECK(at != NULL);
	if (!at)
		return;
	{
		char user[128], rest[2048];
		p = url + strlen("postgres://");
		snprintf(user, sizeof(user), "%.*s", (int)strcspn(p, ":@"), p);
		snprintf(rest, sizeof(rest), "%s", at);
		snprintf(url, sizeof(url), "postgres://%s:s3cr3t-pw%s%sschema=tlt_pw_%ld", user, rest,
			 strchr(rest, '?') ? "&" : "?", (long)getpid());
	}
	TL_CHECK_OK(tl_store_open(&s, url, 0, &err), &err);
	TL_CHECK(strstr(tl_store_path(s), "s3cr3t") == NULL);
	TL_CHECK(strstr(tl_store_path(s), "***") != NULL);
	tl_store_close(s);
	{
		char sql[128];
		snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS tlt_pw_%ld CASCADE", (long)getpid());
		TL_CHECK(pg_sql("pw", sql, NULL) == 0);
	}
	/* a database that does not exist: the error names the store without the password */
	p = strrchr(url, '/');
	TL_CHECK(p != NULL);
	if (!p)
		return;
	snprintf(p, sizeof(url) - (size_t)(p - url), "/no_such_db_tl?password=s3cr3t-pw");
	TL_CHECK(tl_store_open(&s, url, 0, &err) != 0);
	TL_CHECK_MSG(strstr(err.message, "s3cr3t") == NULL, "%s", err.message);
	TL_CHECK_MSG(strstr(err.message, "no_such_db_tl") != NULL, "%s", err.message);
}

static int dump_row(void *ctx, const tl_store_row *r, tl_error *err)
{
	return tl_buf_printf(ctx, err, "%s|%s|%s|%s|%s|%s|%s|%ld|%lld\n", r->task_id, r->schema, r->tb, r->kind,
			     r->json, r->updated_at, r->source ? r->source : "<null>", r->line, (long long)r->rows_copied);
}

/* Every record of a store, as export lists them. */
static int dump_store(tl_store *s, const char *task, tl_buf *out, tl_error *err)
{
	int rc;

	if ((rc = tl_store_foreach_position(s, task, dump_row, out, err)) ||
	    (rc = tl_store_foreach_finished(s, task, dump_row, out, err)) ||
	    (rc = tl_store_foreach_other(s, task, dump_row, out, err)))
		return rc;
	return 0;
}

/* tl_store_copy: a new SQLite file holding the store's records (one task, or all) */
TL_BOTH(backend_copy_to_a_file)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL, *c = NULL;
	tl_position p = TL_POSITION_INIT;
	tl_buf a = TL_BUF_INIT, b = TL_BUF_INIT;
	tl_store_table t, got;
	char dest[4096], val[16];
	size_t rows = 0;
	int i;

	(void)be;
	TL_CHECK_OK(tl_store_open(&s, where, 0, &err), &err);
	for (i = 0; i < 50; i++) {
		snprintf(val, sizeof(val), "%d", i);
		TL_CHECK_OK(pos_of(&p, i % 2 ? "a" : "b", val, val, &err), &err);
		TL_CHECK_OK(tl_store_put_position(s, i % 3 ? "one" : "two", &p, i % 2, NULL, "run", i, i, &err), &err);
	}
	memset(&t, 0, sizeof(t));
	t.schema = "a";
	t.tb = "1";
	t.est_rows = 77;
	t.rows_copied = 5;
	t.mode = "split";
	t.state = "running";
	t.target_rows_at_finish = -1;
	TL_CHECK_OK(tl_store_put_table(s, "one", &t, &err), &err);
	snprintf(dest, sizeof(dest), "%s/copy-all.db", tl_test_tmpdir());
	TL_CHECK_OK(tl_store_copy(s, dest, NULL, &rows, &err), &err);
	TL_CHECK(rows > 50);
	TL_CHECK_OK(tl_store_open(&c, dest, TL_STORE_READONLY, &err), &err);
	TL_CHECK_OK(dump_store(s, NULL, &a, &err), &err);
	TL_CHECK_OK(dump_store(c, NULL, &b, &err), &err);
	TL_CHECK(a.len > 0);
	TL_CHECK_EQ_STR(tl_buf_cstr(&b), tl_buf_cstr(&a));
	TL_CHECK_OK(tl_store_get_table(c, "one", "a", "1", &got, &err), &err);
	TL_CHECK_EQ_INT(got.est_rows, 77);
	TL_CHECK_EQ_STR(got.mode, "split");
	tl_store_close(c);
	c = NULL;
	/* one task only; an existing file is refused and left alone */
	snprintf(dest, sizeof(dest), "%s/copy-two.db", tl_test_tmpdir());
	TL_CHECK_OK(tl_store_copy(s, dest, "two", NULL, &err), &err);
	TL_CHECK_EQ_INT(tl_store_copy(s, dest, "two", NULL, &err), TL_ERR_IO);
	TL_CHECK(strstr(err.message, "exists") != NULL);
	TL_CHECK_OK(tl_store_open(&c, dest, TL_STORE_READONLY, &err), &err);
	tl_buf_reset(&a);
	tl_buf_reset(&b);
	TL_CHECK_OK(dump_store(s, "two", &a, &err), &err);
	TL_CHECK_OK(dump_store(c, NULL, &b, &err), &err);
	TL_CHECK_EQ_STR(tl_buf_cstr(&b), tl_buf_cstr(&a));
	tl_store_close(c);
	tl_store_close(s);
	tl_pos_clear(&p);
	tl_buf_release(&a);
	tl_buf_release(&b);
}

/* ---- the fleet (#17): items, claims, leases, fencing, workers ---- */

static void add_items(tl_store *s, const char *task, const char *kind, int from, int to, tl_error *err)
{
	tl_store_item *items = calloc((size_t)(to - from), sizeof(*items));
	char (*keys)[16] = calloc((size_t)(to - from), sizeof(*keys));
	int i;

	if (!items || !keys) {
		tl_test_fail(__FILE__, __LINE__, "out of memory");
		free(items);
		free(keys);
		return;
	}
	for (i = from; i < to; i++) {
		snprintf(keys[i - from], sizeof(keys[0]), "%06d", i);
		items[i - from].kind = kind;
		items[i - from].key = keys[i - from];
		items[i - from].schema = "shop";
		items[i - from].tb = "orders";
		items[i - from].payload = keys[i - from];
	}
	if (tl_store_items_add(s, task, items, (size_t)(to - from), err))
		tl_test_fail(__FILE__, __LINE__, "items_add: %s", err->message);
	free(items);
	free(keys);
}

/* Claims in order, busy counts, release, failure, claim by key (a schema step runs once). */
TL_BOTH(backend_fleet_claims)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	tl_store_lease a, b, c;
	tl_store_item step = {"step", "0005_indexes", NULL, NULL, "CREATE INDEX …"};
	int busy = -1;

	(void)be;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	TL_CHECK_OK(tl_store_open(&s, where, 0, &err), &err);
	add_items(s, "f", "chunk", 0, 3, &err);
	add_items(s, "f", "chunk", 0, 3, &err); /* again: nothing changes */
	TL_CHECK_OK(tl_store_claim(s, "f", "chunk", "w1", 60, &a, &busy, &err), &err);
	TL_CHECK_EQ_STR(a.key, "000000");
	TL_CHECK_EQ_STR(a.payload, "000000");
	TL_CHECK_EQ_STR(a.schema, "shop");
	TL_CHECK_EQ_INT(a.token, 1);
	TL_CHECK_EQ_INT(a.attempts, 1);
	TL_CHECK(a.prev_owner == NULL && a.progress == NULL && a.rows_copied == -1);
	TL_CHECK(a.lease_until > now_unix() + 50);
	TL_CHECK_OK(tl_store_claim(s, "f", "chunk", "w2", 60, &b, &busy, &err), &err);
	TL_CHECK_EQ_STR(b.key, "000001");
	TL_CHECK_OK(tl_store_claim(s, "f", "chunk", "w3", 60, &c, &busy, &err), &err);
	TL_CHECK_EQ_STR(c.key, "000002");
	tl_store_lease_clear(&c);
	/* nothing open; three held by live leases */
	TL_CHECK_EQ_INT(tl_store_claim(s, "f", "chunk", "w3", 60, &c, &busy, &err), TL_ERR_NOTFOUND);
	TL_CHECK_EQ_INT(busy, 3);
	/* given back: claimable again at once, with a new token */
	TL_CHECK_OK(tl_store_end(s, &b, TL_STORE_RELEASE, NULL, &err), &err);
	TL_CHECK_OK(tl_store_claim(s, "f", "chunk", "w3", 60, &c, &busy, &err), &err);
	TL_CHECK_EQ_STR(c.key, "000001");
	TL_CHECK_EQ_INT(c.token, 2);
	TL_CHECK_EQ_INT(c.attempts, 2);
	/* the old holder can no longer end it */
	TL_CHECK_EQ_INT(tl_store_end(s, &b, TL_STORE_DONE, NULL, &err), TL_ERR_LOCKED);
	TL_CHECK_MSG(strstr(err.message, "taken over by worker 'w3'") != NULL, "%s", err.message);
	TL_CHECK_OK(tl_store_end(s, &c, TL_STORE_FAILED, "duplicate key", &err), &err);
	TL_CHECK_OK(tl_store_end(s, &a, TL_STORE_DONE, "100 rows", &err), &err);
	tl_store_lease_clear(&c);
	TL_CHECK_EQ_INT(tl_store_claim(s, "f", "chunk", "w1", 60, &c, &busy, &err), TL_ERR_NOTFOUND);
	TL_CHECK_EQ_INT(busy, 1); /* 000002 */
	/* claim by key */
	TL_CHECK_OK(tl_store_items_add(s, "f", &step, 1, &err), &err);
	tl_store_lease_clear(&a);
	TL_CHECK_OK(tl_store_claim_key(s, "f", "step", "0005_indexes", "w1", 60, &a, &err), &err);
	TL_CHECK_EQ_INT(a.done, 0);
	TL_CHECK_EQ_INT(a.token, 1);
	TL_CHECK_EQ_INT(tl_store_claim_key(s, "f", "step", "0005_indexes", "w2", 60, &b, &err), TL_ERR_LOCKED);
	TL_CHECK_MSG(strstr(err.message, "held by worker 'w1'") != NULL, "%s", err.message);
	TL_CHECK_EQ_INT(tl_store_claim_key(s, "f", "step", "nope", "w2", 60, &b, &err), TL_ERR_NOTFOUND);
	TL_CHECK_OK(tl_store_end(s, &a, TL_STORE_DONE, NULL, &err), &err);
	TL_CHECK_OK(tl_store_claim_key(s, "f", "step", "0005_indexes", "w2", 60, &b, &err), &err);
	TL_CHECK_EQ_INT(b.done, 1);
	TL_CHECK(b.key == NULL);
	tl_store_lease_clear(&a);
	tl_store_lease_clear(&b);
	tl_store_lease_clear(&c);
	tl_store_close(s);
}

static int count_items(void *ctx, const tl_store_item_state *it, tl_error *err)
{
	tl_buf *b = ctx;

	return tl_buf_printf(b, err, "%s:%s:%s:%s:%lld:%lld\n", it->kind, it->key, it->state, it->owner ? it->owner : "-",
			     (long long)it->token, (long long)it->attempts);
}

/*
 * Fencing: w1's lease expires, w2 takes the chunk over (told it was w1's) and continues
 * from w1's last committed progress; every later write of w1 under the old lease - a
 * position inside a fenced transaction, progress, renew, finish - is refused, and none
 * of it is in the store.
 */
TL_BOTH(backend_fleet_fencing)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s1 = NULL, *s2 = NULL;
	tl_store_lease l1, l2;
	tl_store_hit hit;
	tl_position p = TL_POSITION_INIT;
	tl_buf items = TL_BUF_INIT;
	int busy;

	(void)be;
	memset(&l1, 0, sizeof(l1));
	memset(&l2, 0, sizeof(l2));
	TL_CHECK_OK(tl_store_open(&s1, where, 0, &err), &err);
	TL_CHECK_OK(tl_store_open(&s2, where, 0, &err), &err);
	add_items(s1, "f", "table", 0, 1, &err);
	TL_CHECK_OK(tl_store_claim(s1, "f", "table", "w1", 1.0, &l1, &busy, &err), &err);
	/* w1 records a position under its lease, fenced, and its progress */
	TL_CHECK_OK(tl_store_begin(s1, &err), &err);
	TL_CHECK_OK(tl_store_fence(s1, &l1, &err), &err);
	TL_CHECK_OK(pos_of(&p, "shop", "orders", "500", &err), &err);
	TL_CHECK_OK(tl_store_put_position(s1, "f", &p, 1, NULL, "run", 0, 500, &err), &err);
	TL_CHECK_OK(tl_store_commit(s1, &err), &err);
	TL_CHECK_OK(tl_store_item_progress(s1, &l1, "{\"single\":[\"id\",\"500\"]}", 500, &err), &err);
	/* while the lease lives, nobody else gets the item */
	TL_CHECK_EQ_INT(tl_store_claim(s2, "f", "table", "w2", 30, &l2, &busy, &err), TL_ERR_NOTFOUND);
	TL_CHECK_EQ_INT(busy, 1);
	/* w1 stalls past its lease; w2 takes it over */
	usleep(1300000);
	TL_CHECK_OK(tl_store_claim(s2, "f", "table", "w2", 30, &l2, &busy, &err), &err);
	TL_CHECK_EQ_STR(l2.key, "000000");
	TL_CHECK_EQ_STR(l2.prev_owner, "w1");
	TL_CHECK_EQ_INT(l2.token, 2);
	TL_CHECK_EQ_STR(l2.progress, "{\"single\":[\"id\",\"500\"]}");
	TL_CHECK_EQ_INT(l2.rows_copied, 500);
	/* w2 continues from w1's last committed position */
	TL_CHECK_OK(tl_store_lookup(s2, "f", "shop", "orders", 0, &hit, &err), &err);
	TL_CHECK_EQ_STR(hit.pos.keys[0].val, "500");
	tl_store_hit_clear(&hit);
	/* w1 comes back: its fenced position write is refused and rolled back */
	TL_CHECK_OK(tl_store_begin(s1, &err), &err);
	TL_CHECK_EQ_INT(tl_store_fence(s1, &l1, &err), TL_ERR_LOCKED);
	TL_CHECK_MSG(strstr(err.message, "taken over by worker 'w2'") != NULL, "%s", err.message);
	tl_store_rollback(s1);
	TL_CHECK_EQ_INT(tl_store_item_progress(s1, &l1, "{\"single\":[\"id\",\"900\"]}", 900, &err), TL_ERR_LOCKED);
	TL_CHECK_EQ_INT(tl_store_renew(s1, &l1, &err), TL_ERR_LOCKED);
	TL_CHECK_EQ_INT(tl_store_end(s1, &l1, TL_STORE_DONE, NULL, &err), TL_ERR_LOCKED);
	TL_CHECK_OK(pos_of(&p, "shop", "orders", "900", &err), &err);
	TL_CHECK_EQ_INT(tl_store_put_position_leased(s1, &l1, "f", &p, 1, NULL, "run", 0, 900, &err), TL_ERR_LOCKED);
	TL_CHECK_EQ_INT(tl_store_finish_leased(s1, &l1, "f", &p, NULL, "run", 0, 900, &err), TL_ERR_LOCKED);
	TL_CHECK_OK(tl_store_lookup(s2, "f", "shop", "orders", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_POSITION);
	TL_CHECK_EQ_STR(hit.pos.keys[0].val, "500");
	tl_store_hit_clear(&hit);
	/* w2's writes go through, and the store has nothing of w1's after the takeover */
	TL_CHECK_OK(pos_of(&p, "shop", "orders", "700", &err), &err);
	TL_CHECK_OK(tl_store_put_position_leased(s2, &l2, "f", &p, 1, NULL, "run", 0, 700, &err), &err);
	TL_CHECK_OK(tl_store_finish_leased(s2, &l2, "f", &p, NULL, "run", 0, 700, &err), &err);
	TL_CHECK_OK(tl_store_lookup(s1, "f", "shop", "orders", 0, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_FINISHED);
	tl_store_hit_clear(&hit);
	TL_CHECK_OK(tl_store_lookup(s1, "f", "shop", "orders", 1, &hit, &err), &err);
	TL_CHECK_EQ_INT(hit.state, TL_RESUME_FINISHED);
	tl_store_hit_clear(&hit);
	TL_CHECK_OK(tl_store_foreach_item(s1, "f", NULL, count_items, &items, &err), &err);
	TL_CHECK_EQ_STR(tl_buf_cstr(&items), "table:000000:done:w2:2:2\n");
	{
		tl_buf pos = TL_BUF_INIT;
		TL_CHECK(store_sql(be, where, "backend_fleet_fencing",
				   "SELECT order_key FROM position WHERE task_id = 'f' AND kind = 'current'", &pos) == 0);
		TL_CHECK_EQ_STR(tl_buf_cstr(&pos), "{\"single\":[\"id\",\"700\"]}\n");
		tl_buf_release(&pos);
	}
	/*
	 * The fence holds the row until commit: while w2 is inside a fenced transaction, a
	 * claim of the expired item by w3 waits (PostgreSQL: skips it) and cannot slip in.
	 */
	add_items(s1, "f", "table", 1, 2, &err);
	tl_store_lease_clear(&l1);
	tl_store_lease_clear(&l2);
	TL_CHECK_OK(tl_store_claim(s2, "f", "table", "w2", 0.2, &l2, &busy, &err), &err);
	usleep(300000);
	TL_CHECK_OK(tl_store_begin(s2, &err), &err);
	TL_CHECK_OK(tl_store_fence(s2, &l2, &err), &err); /* expired, not taken over: renewed */
	if (be == PG) {
		TL_CHECK_EQ_INT(tl_store_claim(s1, "f", "table", "w3", 30, &l1, &busy, &err), TL_ERR_NOTFOUND);
		TL_CHECK_EQ_INT(busy, 1);
	}
	TL_CHECK_OK(tl_store_commit(s2, &err), &err);
	tl_store_lease_clear(&l1);
	tl_store_lease_clear(&l2);
	tl_pos_clear(&p);
	tl_buf_release(&items);
	tl_store_close(s1);
	tl_store_close(s2);
}

struct wctx {
	char names[8][64];
	int alive[8];
	int64_t leases[8];
	int n;
};

static int on_worker(void *ctx, const tl_store_worker *w, tl_error *err)
{
	struct wctx *c = ctx;

	(void)err;
	if (c->n < 8) {
		snprintf(c->names[c->n], sizeof(c->names[0]), "%s@%ld:%s", w->name, w->pid, w->state);
		c->alive[c->n] = w->alive;
		c->leases[c->n] = w->leases;
		c->n++;
	}
	return 0;
}

/* The worker registry: a live name is refused, a gone one taken over; status sees leases. */
TL_BOTH(backend_fleet_workers)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	tl_store_lease l;
	struct wctx c;
	char sql[256], want[128];
	pid_t child;
	int busy, status;
	const char *cn = "backend_fleet_workers";

	memset(&l, 0, sizeof(l));
	memset(&c, 0, sizeof(c));
	TL_CHECK_OK(tl_store_open(&s, where, 0, &err), &err);
	TL_CHECK_OK(tl_store_worker_join(s, "f", "alpha", 30, &err), &err);
	TL_CHECK_OK(tl_store_worker_join(s, "f", "alpha", 30, &err), &err); /* itself again */
	add_items(s, "f", "table", 0, 2, &err);
	TL_CHECK_OK(tl_store_claim(s, "f", "table", "alpha", 30, &l, &busy, &err), &err);
	TL_CHECK_OK(tl_store_worker_beat(s, "f", "alpha", 1234, 56.5, &err), &err);
	/* a live process elsewhere on this host holds "beta" */
	child = sleeper();
	TL_CHECK(child > 0);
	TL_CHECK_OK(tl_store_worker_join(s, "f", "beta", 30, &err), &err);
	snprintf(sql, sizeof(sql), "UPDATE worker SET pid = %ld, started_at = %.3f WHERE name = 'beta'", (long)child,
		 now_unix() + 5);
	TL_CHECK(store_sql(be, where, cn, sql, NULL) == 0);
	TL_CHECK_EQ_INT(tl_store_worker_join(s, "f", "beta", 30, &err), TL_ERR_LOCKED);
	snprintf(want, sizeof(want), "worker 'beta' of task 'f' is already running as pid %ld", (long)child);
	TL_CHECK_MSG(strstr(err.message, want) != NULL, "%s", err.message);
	TL_CHECK_OK(tl_store_foreach_worker(s, "f", on_worker, &c, &err), &err);
	TL_CHECK_EQ_INT(c.n, 2);
	snprintf(want, sizeof(want), "alpha@%ld:running", (long)getpid());
	TL_CHECK_EQ_STR(c.names[0], want);
	TL_CHECK_EQ_INT(c.alive[0], 1);
	TL_CHECK_EQ_INT(c.leases[0], 1);
	/* it dies: the name is free again */
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	TL_CHECK_OK(tl_store_worker_join(s, "f", "beta", 30, &err), &err);
	/* another host, heartbeat older than its lease: free; fresh: refused */
	snprintf(sql, sizeof(sql), "UPDATE worker SET host = 'far', heartbeat_at = %.3f WHERE name = 'beta'",
		 now_unix() - 5);
	TL_CHECK(store_sql(be, where, cn, sql, NULL) == 0);
	TL_CHECK_EQ_INT(tl_store_worker_join(s, "f", "beta", 30, &err), TL_ERR_LOCKED);
	TL_CHECK(strstr(err.message, "on host 'far'") != NULL);
	TL_CHECK_EQ_INT(tl_store_worker_beat(s, "f", "beta", 1, 1, &err), TL_ERR_LOCKED);
	snprintf(sql, sizeof(sql), "UPDATE worker SET heartbeat_at = %.3f WHERE name = 'beta'", now_unix() - 60);
	TL_CHECK(store_sql(be, where, cn, sql, NULL) == 0);
	TL_CHECK_OK(tl_store_worker_join(s, "f", "beta", 30, &err), &err);
	TL_CHECK_OK(tl_store_worker_leave(s, "f", "beta", "stopped", &err), &err);
	TL_CHECK_OK(tl_store_worker_join(s, "f", "beta", 30, &err), &err); /* stopped: free */
	/* status: the table of alpha's live lease runs, even without a task lock */
	{
		TL_CHECK_OK(put_running(s, "f", "orders", 10, 1, &err), &err);
		TL_CHECK_EQ_STR(state_of(where, "f"), "running");
		/* status lists the workers */
		{
			const char *text[] = {"status", "--store", where, "--task-id", "f", NULL};
			const char *json[] = {"status", "--store", where, "--task-id", "f", "--json", NULL};
			tl_buf out = TL_BUF_INIT;
			TL_CHECK_EQ_INT(capture_cmd(&tl_cmd_status, text, &out), 0);
			TL_CHECK_MSG(strstr(tl_buf_cstr(&out), "workers:") && strstr(tl_buf_cstr(&out), "\nalpha "),
				     "%s", tl_buf_cstr(&out));
			tl_buf_reset(&out);
			TL_CHECK_EQ_INT(capture_cmd(&tl_cmd_status, json, &out), 0);
			TL_CHECK_MSG(strstr(tl_buf_cstr(&out), "\"workers\":[{\"name\":\"alpha\"") &&
					     strstr(tl_buf_cstr(&out), "\"leases\":1"),
				     "%s", tl_buf_cstr(&out));
			tl_buf_release(&out);
		}
		TL_CHECK_OK(tl_store_end(s, &l, TL_STORE_RELEASE, NULL, &err), &err);
		TL_CHECK_EQ_STR(state_of(where, "f"), "interrupted");
	}
	tl_store_lease_clear(&l);
	tl_store_close(s);
}

/*
 * The store under contention: 10,000 chunks (100,000 with TL_TEST_FULL=1, the issue's
 * count: minutes on PostgreSQL under ASan) claimed by 8 worker processes with their own
 * connections, each chunk finished by the worker that claimed it. No chunk is claimed
 * twice, none is left, and every worker got some.
 */
TL_BOTH(backend_fleet_contention)
{
	enum { WORKERS = 8 };
	const char *full = getenv("TL_TEST_FULL");
	const int chunks = full && strcmp(full, "1") == 0 ? 100000 : 10000;
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	int fds[WORKERS][2], i, per[WORKERS], dup = 0, bad = 0, lo = chunks, hi = 0;
	pid_t kids[WORKERS];
	unsigned char *seen = calloc((size_t)chunks, 1);
	char want[64];
	double t0, t1;
	tl_buf out = TL_BUF_INIT;

	TL_CHECK(seen != NULL);
	if (!seen)
		return;
	TL_CHECK_OK(tl_store_open(&s, where, 0, &err), &err);
	add_items(s, "c", "chunk", 0, chunks, &err);
	tl_store_close(s);
	s = NULL;
	t0 = now_unix();
	for (i = 0; i < WORKERS; i++) {
		TL_CHECK(pipe(fds[i]) == 0);
		kids[i] = fork();
		if (kids[i] == 0) {
			char name[16];
			tl_store_lease l;
			FILE *f = fdopen(fds[i][1], "w");
			char (*mine)[40] = calloc((size_t)chunks, sizeof(*mine));
			long nmine = 0, k;
			int busy, rc = 0;

			/* what it got is written at the end: a full pipe must not stall a worker mid-run */
			close(fds[i][0]);
			if (!mine)
				_exit(3);
			memset(&l, 0, sizeof(l));
			snprintf(name, sizeof(name), "w%d", i);
			if (!f || tl_store_open(&s, where, 0, &err))
				_exit(3);
			for (;;) {
				rc = tl_store_claim(s, "c", "chunk", name, 60, &l, &busy, &err);
				if (rc == TL_ERR_NOTFOUND && busy == 0)
					break;
				if (rc == TL_ERR_NOTFOUND)
					continue;
				if (rc || tl_store_end(s, &l, TL_STORE_DONE, NULL, &err)) {
					fprintf(f, "error %s\n", err.message);
					break;
				}
				snprintf(mine[nmine++], sizeof(mine[0]), "%s %lld", l.key, (long long)l.token);
				tl_store_lease_clear(&l);
			}
			tl_store_lease_clear(&l);
			tl_store_close(s);
			for (k = 0; k < nmine; k++)
				fprintf(f, "%s\n", mine[k]);
			fclose(f);
			_exit(0);
		}
		close(fds[i][1]);
	}
	for (i = 0; i < WORKERS; i++) {
		FILE *f = fdopen(fds[i][0], "r");
		char line[1200];

		per[i] = 0;
		while (f && fgets(line, sizeof(line), f)) {
			long k = strtol(line, NULL, 10);

			if (strncmp(line, "error", 5) == 0 || k < 0 || k >= chunks || strstr(line, " 1\n") == NULL) {
				if (bad++ < 5)
					fprintf(stderr, "    worker %d: %s", i, line);
				continue;
			}
			if (seen[k]++)
				dup++;
			per[i]++;
		}
		if (f)
			fclose(f);
	}
	for (i = 0; i < WORKERS; i++) {
		int st = 0;
		waitpid(kids[i], &st, 0);
		TL_CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "worker %d exit %d", i, st);
	}
	t1 = now_unix();
	for (i = 0; i < chunks; i++)
		if (!seen[i] && bad++ < 5)
			fprintf(stderr, "    chunk %d never claimed\n", i);
	TL_CHECK_EQ_INT(dup, 0);
	TL_CHECK_EQ_INT(bad, 0);
	for (i = 0; i < WORKERS; i++) {
		TL_CHECK_MSG(per[i] > 0, "worker %d claimed nothing", i);
		lo = per[i] < lo ? per[i] : lo;
		hi = per[i] > hi ? per[i] : hi;
	}
	/* and the store agrees: every chunk done, claimed once */
	TL_CHECK(store_sql(be, where, "backend_fleet_contention",
			   "SELECT count(*), min(token), max(token), max(attempts) FROM work_item"
			   " WHERE task_id = 'c' AND state = 'done'", &out) == 0);
	snprintf(want, sizeof(want), "%d|1|1|1\n", chunks);
	TL_CHECK_EQ_STR(tl_buf_cstr(&out), want);
	printf("    %s: %d claims by %d workers in %.1f s (%.0f claims/s; claim + finish, 2 transactions each); "
	       "per worker %d..%d\n",
	       be == PG ? "postgresql" : "sqlite", chunks, WORKERS, t1 - t0, chunks / (t1 - t0), lo, hi);
	tl_buf_release(&out);
	free(seen);
}

/* Definition steps (#14): put, re-put (created sticks, timestamps kept), list, --init reset. */
struct def_list {
	tl_buf text;
};

static int on_def(void *ctx, const char *task_id, const tl_store_def_step *d, tl_error *err)
{
	struct def_list *l = ctx;

	return tl_buf_printf(&l->text, err, "%s|%s|%s|%s|%d|%s|%s|%s|%s|%s\n", task_id, d->step_id, d->phase,
			     d->state, d->created, d->found ? d->found : "-", d->owner_tb ? d->owner_tb : "-",
			     d->error ? d->error : "-", d->started_at ? "started" : "-", d->finished_at ? "finished" : "-");
}

TL_BOTH(backend_definition_steps)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	struct def_list l = {TL_BUF_INIT};
	tl_store_def_step d[3];

	memset(d, 0, sizeof(d));
	d[0] = (tl_store_def_step){.step_id = "table shop.orders", .ord = 0, .kind = "table", .phase = "pre-data",
				    .schema = "shop", .name = "orders", .owner_schema = "shop", .owner_tb = "orders",
				    .state = "running", .sql_hash = "ab12", .seconds = -1};
	d[1] = (tl_store_def_step){.step_id = "index shop.orders_pkey", .ord = 1, .kind = "index", .phase = "table-post",
				    .schema = "shop", .tb = "orders", .name = "orders_pkey", .owner_schema = "shop",
				    .owner_tb = "orders", .state = "pending", .seconds = -1};
	d[2] = (tl_store_def_step){.step_id = "view shop.v", .ord = 2, .kind = "view", .phase = "post-data",
				    .schema = "shop", .name = "v", .state = "exists", .found = "present", .seconds = 0.5};
	TL_CHECK_OK(tl_store_open(&s, where, 0, &err), &err);
	TL_CHECK_OK(tl_store_def_steps_put(s, "a", d, 3, &err), &err);
	TL_CHECK_OK(tl_store_def_steps_put(s, "b", d + 2, 1, &err), &err);
	/* the table is made: done, created; a later write without `created` keeps it */
	d[0].state = "done";
	d[0].found = "absent";
	d[0].created = 1;
	d[1].state = "failed";
	d[1].error = "could not create unique index";
	TL_CHECK_OK(tl_store_def_steps_put(s, "a", d, 2, &err), &err);
	d[0].created = 0;
	TL_CHECK_OK(tl_store_def_steps_put(s, "a", d, 1, &err), &err);
	TL_CHECK_OK(tl_store_foreach_def_step(s, "a", on_def, &l, &err), &err);
	TL_CHECK_EQ_STR(tl_buf_cstr(&l.text),
			"a|table shop.orders|pre-data|done|1|absent|orders|-|started|finished\n"
			"a|index shop.orders_pkey|table-post|failed|0|-|orders|could not create unique index|-|finished\n"
			"a|view shop.v|post-data|exists|0|present|-|-|-|finished\n");
	/* --init: every step of the task pending again, `created` kept, other tasks untouched */
	TL_CHECK_OK(tl_store_forget_task(s, "a", &err), &err);
	tl_buf_reset(&l.text);
	TL_CHECK_OK(tl_store_foreach_def_step(s, NULL, on_def, &l, &err), &err);
	TL_CHECK_EQ_STR(tl_buf_cstr(&l.text),
			"a|table shop.orders|pre-data|pending|1|-|orders|-|started|finished\n"
			"a|index shop.orders_pkey|table-post|pending|0|-|orders|-|-|finished\n"
			"a|view shop.v|post-data|pending|0|-|-|-|-|finished\n"
			"b|view shop.v|post-data|exists|0|present|-|-|-|finished\n");
	/* a step without an id is refused */
	d[0].step_id = NULL;
	TL_CHECK_EQ_INT(tl_store_def_steps_put(s, "a", d, 1, &err), TL_ERR_INTERNAL);
	tl_buf_release(&l.text);
	tl_store_close(s);
}
