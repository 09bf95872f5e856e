/*
 * test_target_pg.c - what the engine checks and claims on a PostgreSQL target (driver.h
 * key_exists, claim, release) against the live target server (TL_PG_DST_URL from
 * tools/servers.sh; skipped when unset).
 *
 * key_exists: a composite key with bytea and text columns, a partition column without an
 * index, NULL, timestamps, a value that does not fit, an unknown column, a dropped and a
 * recreated table. Claims: a second connection is refused naming the holder (the owner
 * line as application_name, backend pid, client address), claiming again does not nest,
 * several claims per session, claims do not end with a transaction, release, a holder
 * whose process died without disconnecting and a terminated backend, tables of the same
 * name in two schemas. flush_commits on a private server (TL_PG_SRC_URL's port + 45) whose
 * WAL writer waits 10 s: asynchronous commits are not flushed, then they are. Setup SQL
 * goes through libpq directly; only schemas tl_tgt and tl_tgt2 are touched.
 */
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "conn_lib.h"
#include "tideline/driver.h"
#include "tl_test.h"

#define D (&tl_driver_pg)
#define OWNER "tideline task 't-first' (pid 4242 on test-host)"

static PGconn *raw(const char *url)
{
	PGconn *c = PQconnectdb(url);

	if (PQstatus(c) != CONNECTION_OK) {
		tl_test_fail(__FILE__, __LINE__, "cannot connect to %s: %s", url, PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

static int run(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		tl_test_fail(__FILE__, __LINE__, "setup SQL failed: %s\n      %s", PQresultErrorMessage(r), sql);
	PQclear(r);
	return ok ? 0 : -1;
}

static tl_conn *open_as(const char *url, const char *app)
{
	tl_endpoint ep = {.db_type = "pg", .url = url, .app_name = app};
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL;

	if (D->connect(&ep, &c, &err) != 0) {
		tl_test_fail(__FILE__, __LINE__, "connect failed: %s", err.message);
		return NULL;
	}
	return c;
}

static tl_table *describe(tl_conn *c, const char *schema, const char *name)
{
	tl_error err = TL_ERROR_INIT;
	tl_table *t = NULL;

	if (D->describe(c, schema, name, &t, &err) != 0)
		tl_test_fail(__FILE__, __LINE__, "describe %s.%s: %s", schema, name, err.message);
	return t;
}

static int exists(tl_conn *c, const tl_table *t, size_t n, const char *const *cols, const char *const *vals,
		  tl_error *err)
{
	tl_keyvals k = {0};
	int found = -1;

	tl_error_clear(err);
	if (tl_keyvals_set(&k, n, cols, vals, err) == 0 && D->key_exists(c, t, &k, &found, err) != 0)
		found = -1;
	tl_keyvals_clear(&k);
	return found;
}

static const char *const setup_sql[] = {
	"DROP SCHEMA IF EXISTS tl_tgt CASCADE",
	"DROP SCHEMA IF EXISTS tl_tgt2 CASCADE",
	"CREATE SCHEMA tl_tgt",
	"CREATE SCHEMA tl_tgt2",
	"CREATE TABLE tl_tgt.kc (a int NOT NULL, b text NOT NULL, c bytea NOT NULL, v int, w timestamptz, "
	"PRIMARY KEY (a, b, c))",
	"INSERT INTO tl_tgt.kc VALUES (1, 'x', '\\x00ff', 10, '2024-01-02 03:04:05.678+00'), (2, 'y', '\\x01', NULL, "
	"NULL), (3, 'z''q', '', 30, NULL)",
	"CREATE TABLE tl_tgt.kc2 (id int PRIMARY KEY)",
	"CREATE TABLE tl_tgt.kc3 (id int PRIMARY KEY)",
	"CREATE TABLE tl_tgt2.kc (id int PRIMARY KEY)",
	NULL};

/* Returns the raw admin connection (NULL when skipped or failed). */
static PGconn *setup(void)
{
	const char *url = tl_test_require_env("TL_PG_DST_URL");
	PGconn *c = url ? raw(url) : NULL;
	size_t i;

	for (i = 0; c && setup_sql[i]; i++)
		if (run(c, setup_sql[i])) {
			PQfinish(c);
			return NULL;
		}
	return c;
}

TL_TEST(key_exists_composite_partition_null)
{
	const char *const abc[] = {"a", "b", "c"};
	const char *const k1[] = {"1", "x", "00ff"}, *const k1b[] = {"1", "x", "01"}, *const k3[] = {"3", "z'q", ""};
	const char *const k2case[] = {"2", "Y", "01"};
	const char *const part_col[] = {"a"}, *const two[] = {"2"}, *const four[] = {"4"};
	const char *const vcol[] = {"v"}, *const null_val[] = {NULL}, *const ten[] = {"10"};
	const char *const wcol[] = {"w"}, *const w1[] = {"2024-01-02 03:04:05.678+00"},
			  *const w2[] = {"2024-01-02 03:04:05+00"};
	tl_error err = TL_ERROR_INIT;
	PGconn *admin = setup();
	tl_conn *c = NULL;
	tl_table *t = NULL;

	if (!admin)
		return;
	if (!(c = open_as(getenv("TL_PG_DST_URL"), "tideline-test")) || !(t = describe(c, "tl_tgt", "kc")))
		goto cleanup;
	TL_CHECK_EQ_INT(exists(c, t, 3, abc, k1, &err), 1);
	TL_CHECK_EQ_INT(exists(c, t, 3, abc, k1b, &err), 0);
	TL_CHECK_EQ_INT(exists(c, t, 3, abc, k3, &err), 1);
	TL_CHECK_EQ_INT(exists(c, t, 3, abc, k2case, &err), 0); /* text compares exactly */
	TL_CHECK_EQ_INT(exists(c, t, 1, part_col, two, &err), 1);
	TL_CHECK_EQ_INT(exists(c, t, 1, part_col, four, &err), 0);
	TL_CHECK_EQ_INT(exists(c, t, 1, vcol, null_val, &err), 1);
	TL_CHECK_EQ_INT(exists(c, t, 1, vcol, ten, &err), 1);
	TL_CHECK_EQ_INT(exists(c, t, 1, wcol, w1, &err), 1);
	TL_CHECK_EQ_INT(exists(c, t, 1, wcol, w2, &err), 0);
cleanup:
	D->free_table(t);
	D->disconnect(c);
	PQfinish(admin);
}

TL_TEST(key_exists_errors)
{
	const char *const acol[] = {"a"}, *const bad[] = {"zz"}, *const one[] = {"1"};
	const char *const ccol[] = {"c"}, *const badhex[] = {"0g"};
	const char *const nocol[] = {"nope"};
	tl_error err = TL_ERROR_INIT;
	PGconn *admin = setup();
	tl_conn *c = NULL;
	tl_table *t = NULL;

	if (!admin)
		return;
	if (!(c = open_as(getenv("TL_PG_DST_URL"), "tideline-test")) || !(t = describe(c, "tl_tgt", "kc")))
		goto cleanup;
	TL_CHECK_EQ_INT(exists(c, t, 1, acol, bad, &err), -1);
	TL_CHECK_EQ_INT(err.code, TL_ERR_MISMATCH);
	TL_CHECK_MSG(strstr(err.message, "zz") && strstr(err.message, "kc"), "message: %s", err.message);
	TL_CHECK_EQ_INT(exists(c, t, 1, ccol, badhex, &err), -1);
	TL_CHECK_EQ_INT(err.code, TL_ERR_MISMATCH);
	TL_CHECK_EQ_INT(exists(c, t, 1, nocol, one, &err), -1);
	TL_CHECK_EQ_INT(err.code, TL_ERR_INTERNAL);
	if (run(admin, "DROP TABLE tl_tgt.kc"))
		goto cleanup;
	TL_CHECK_EQ_INT(exists(c, t, 1, acol, one, &err), -1);
	TL_CHECK_EQ_INT(err.code, TL_ERR_NOTFOUND);
	TL_CHECK_MSG(strstr(err.message, "\"tl_tgt\".\"kc\"") != NULL, "message: %s", err.message);
	if (run(admin, "CREATE TABLE tl_tgt.kc (a int NOT NULL, b text NOT NULL, c bytea NOT NULL, v int, "
		       "w timestamptz, PRIMARY KEY (a, b, c))"))
		goto cleanup;
	TL_CHECK_EQ_INT(exists(c, t, 1, acol, one, &err), 0);
	/* the connection is still usable after the errors */
	TL_CHECK_EQ_INT(exists(c, t, 1, acol, one, &err), 0);
cleanup:
	D->free_table(t);
	D->disconnect(c);
	PQfinish(admin);
}

static int claim(tl_conn *c, const tl_table *t, tl_error *err)
{
	tl_error_clear(err);
	return D->claim(c, t, OWNER, err);
}

/* The second task claims until it succeeds or `secs` pass: the server ends a closed or
 * dead client's session soon, not at once. */
static int claim_within(tl_conn *c, const tl_table *t, int secs, tl_error *err)
{
	int i, rc = -1;

	for (i = 0; i < secs * 10; i++) {
		tl_error_clear(err);
		if ((rc = D->claim(c, t, "tideline task 't-second'", err)) != TL_ERR_LOCKED)
			return rc;
		usleep(100000);
	}
	return rc;
}

TL_TEST(claim_refuses_a_second_writer)
{
	const char *url;
	tl_error err = TL_ERROR_INIT;
	PGconn *admin = setup();
	tl_conn *a = NULL, *b = NULL;
	tl_table *kc = NULL, *kc2 = NULL, *kc3 = NULL, *other = NULL;

	if (!admin)
		return;
	url = getenv("TL_PG_DST_URL");
	a = open_as(url, "tideline-test");
	b = open_as(url, "tideline-test-b");
	if (!a || !b)
		goto cleanup;
	kc = describe(a, "tl_tgt", "kc");
	kc2 = describe(a, "tl_tgt", "kc2");
	kc3 = describe(a, "tl_tgt", "kc3");
	other = describe(a, "tl_tgt2", "kc");
	if (!kc || !kc2 || !kc3 || !other)
		goto cleanup;
	TL_CHECK_OK(claim(a, kc, &err), &err);
	tl_error_clear(&err);
	TL_CHECK_EQ_INT(D->claim(b, kc, "tideline task 't-second'", &err), TL_ERR_LOCKED);
	TL_CHECK_MSG(strstr(err.message, "\"tl_tgt\".\"kc\"") && strstr(err.message, "'" OWNER "' (pg backend pid ") &&
			     strstr(err.message, "from 127.0.0.1"),
		     "message: %s", err.message);
	/* the same name in another schema is another table */
	TL_CHECK_OK(claim(b, other, &err), &err);
	/* several claims per session; claiming again does not nest */
	TL_CHECK_OK(claim(a, kc2, &err), &err);
	TL_CHECK_OK(claim(a, kc3, &err), &err);
	TL_CHECK_OK(claim(a, kc, &err), &err);
	/* a session lock: a transaction's end does not release it */
	if (run(admin, "BEGIN") || run(admin, "COMMIT"))
		goto cleanup;
	TL_CHECK_EQ_INT(claim(b, kc2, &err), TL_ERR_LOCKED);
	TL_CHECK_OK(D->release(a, kc, &err), &err);
	TL_CHECK_OK(claim(b, kc, &err), &err);
	TL_CHECK_EQ_INT(claim(a, kc, &err), TL_ERR_LOCKED);
	TL_CHECK_OK(D->release(a, kc, &err), &err); /* not held: nothing */
	D->disconnect(a);
	a = NULL;
	TL_CHECK_OK(claim_within(b, kc2, 10, &err), &err);
	TL_CHECK_OK(claim(b, kc3, &err), &err);
cleanup:
	D->free_table(kc);
	D->free_table(kc2);
	D->free_table(kc3);
	D->free_table(other);
	D->disconnect(a);
	D->disconnect(b);
	PQfinish(admin);
}

TL_TEST(claim_of_a_dead_holder_ends)
{
	const char *url;
	tl_error err = TL_ERROR_INIT;
	PGconn *admin = setup();
	tl_conn *b = NULL, *a = NULL;
	tl_table *kc = NULL;
	int fds[2] = {-1, -1}, status = 0;
	char byte = 0;
	pid_t child;

	if (!admin)
		return;
	url = getenv("TL_PG_DST_URL");
	b = open_as(url, "tideline-test-b");
	if (!b || !(kc = describe(b, "tl_tgt", "kc")) || pipe(fds) != 0)
		goto cleanup;
	child = fork();
	if (child == 0) {
		tl_conn *x = open_as(url, "tideline-test");
		tl_error e = TL_ERROR_INIT;
		char ok = (x && D->claim(x, kc, OWNER, &e) == 0) ? 'y' : 'n';
		if (write(fds[1], &ok, 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	TL_CHECK(child > 0);
	if (child <= 0 || read(fds[0], &byte, 1) != 1)
		goto cleanup;
	TL_CHECK_EQ_INT(byte, 'y');
	TL_CHECK_EQ_INT(claim(b, kc, &err), TL_ERR_LOCKED);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	TL_CHECK_OK(claim_within(b, kc, 10, &err), &err);
	/* a terminated backend (a DBA's pg_terminate_backend) loses its claims too */
	TL_CHECK_OK(D->release(b, kc, &err), &err);
	if (!(a = open_as(url, "tideline-test")))
		goto cleanup;
	TL_CHECK_OK(claim(a, kc, &err), &err);
	if (run(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE "
		       "'tideline task ''t-first''%'"))
		goto cleanup;
	TL_CHECK_OK(claim_within(b, kc, 10, &err), &err);
cleanup:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	D->free_table(kc);
	D->disconnect(a);
	D->disconnect(b);
	PQfinish(admin);
}

/* The first value of a query on the raw connection (static buffer). */
static const char *one(PGconn *c, const char *sql)
{
	static char out[256];
	PGresult *r = PQexec(c, sql);

	snprintf(out, sizeof(out), "%s", PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) ? PQgetvalue(r, 0, 0)
												: PQresultErrorMessage(r));
	PQclear(r);
	return out;
}

TL_TEST(flush_commits_flushes_earlier_asynchronous_commits)
{
	int base = conn_env_port("TL_PG_SRC_URL");
	struct conn_server srv = {0};
	char url[160], lsn[64], sql[200];
	tl_error err = TL_ERROR_INIT;
	PGconn *admin = NULL, *w = NULL;
	tl_conn *c = NULL;
	tl_table *t = NULL;
	int i, behind = 0;

	if (!tl_test_require_env("TL_PG_SRC_URL") || base <= 0)
		return;
	if (conn_server_start(&srv, "postgres", base + 45) != 0) {
		tl_test_fail(__FILE__, __LINE__, "cannot start a private PostgreSQL (see %s/srv-postgres.log)", tl_test_tmpdir());
		return;
	}
	snprintf(url, sizeof(url), "postgres://postgres:@127.0.0.1:%d/postgres", base + 45);
	if (!(admin = raw(url)) || !(w = raw(url)) || run(admin, "CREATE TABLE kv (id int PRIMARY KEY, v text)") ||
	    run(admin, "ALTER SYSTEM SET wal_writer_delay = '10s'") || strcmp(one(admin, "SELECT pg_reload_conf()"), "t"))
		goto cleanup;
	usleep(300000);
	if (!(c = open_as(url, "tideline-test")) || !(t = describe(c, "public", "kv")))
		goto cleanup;
	TL_CHECK_EQ_STR(one(w, "SHOW synchronous_commit"), "off"); /* tools/servers/postgres.sh */
	/* another session's asynchronous commits */
	for (i = 0; i < 5; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO kv VALUES (%d, 'async')", i);
		if (run(w, sql))
			goto cleanup;
		snprintf(lsn, sizeof(lsn), "%s", one(admin, "SELECT pg_current_wal_insert_lsn()"));
		snprintf(sql, sizeof(sql), "SELECT pg_current_wal_flush_lsn() >= '%s'::pg_lsn", lsn);
		behind += strcmp(one(admin, sql), "f") == 0;
	}
	TL_CHECK_MSG(behind > 0, "asynchronous commits were always flushed at once: the check below proves nothing");
	TL_CHECK_OK(D->flush_commits(c, t, &err), &err);
	TL_CHECK_MSG(strcmp(one(admin, sql), "t") == 0, "after flush_commits the WAL is not flushed to %s", lsn);
	/* the session is back to its own setting, outside any transaction */
	{
		tl_keyvals k = {0};
		const char *col[1] = {"id"}, *val[1] = {"3"};
		int found = 0;
		TL_CHECK_OK(tl_keyvals_set(&k, 1, col, val, &err), &err);
		TL_CHECK_OK(D->key_exists(c, t, &k, &found, &err), &err);
		TL_CHECK_EQ_INT(found, 1);
		tl_keyvals_clear(&k);
	}
cleanup:
	D->free_table(t);
	D->disconnect(c);
	if (admin)
		PQfinish(admin);
	if (w)
		PQfinish(w);
	conn_server_stop(&srv);
}
