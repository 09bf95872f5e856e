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
 * WAL writer waits 10 s: asynchronous commits are not flushed, then they are. The claim
 * scenarios both SQL kinds share are target_lib.h's (pg_terminate_backend ends a session
 * here). Setup SQL goes through libpq directly; only schemas tl_tgt and tl_tgt2 are touched.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "conn_lib.h"
#include "target_lib.h"
#include "tideline/driver.h"
#include "tl_test.h"

#define D (&tl_driver_pg)
#define OWNER TGT_OWNER

/* The kind for target_lib.h (url and callbacks are set where a scenario needs them). */
static int run(void *c, const char *sql);
static const struct tgt_kind KIND = {.d = &tl_driver_pg, .db_type = "pg", .run = run};

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

static int run(void *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		tl_test_fail(__FILE__, __LINE__, "setup SQL failed: %s\n      %s", PQresultErrorMessage(r), sql);
	PQclear(r);
	return ok ? 0 : -1;
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

/* The driver's connection to the target and its description of tl_tgt.kc; 0, or -1 with
 * the test failed. */
static int open_kc(tl_conn **c, tl_table **t)
{
	*c = tgt_open(&KIND, getenv("TL_PG_DST_URL"), "tideline-test");
	*t = *c ? tgt_describe(&KIND, *c, "tl_tgt", "kc") : NULL;
	return *t ? 0 : -1;
}

TL_TEST(key_exists_composite_partition_null)
{
	const char *const abc[] = {"a", "b", "c"}, *const k2case[] = {"2", "Y", "01"};
	tl_error err = TL_ERROR_INIT;
	PGconn *admin = setup();
	tl_conn *c = NULL;
	tl_table *t = NULL;

	if (!admin)
		return;
	if (open_kc(&c, &t))
		goto cleanup;
	tgt_check_exists_found(&KIND, c, t, "2024-01-02 03:04:05.678+00", "2024-01-02 03:04:05+00");
	TL_CHECK_EQ_INT(tgt_exists(&KIND, c, t, 3, abc, k2case, &err), 0); /* text compares exactly */
cleanup:
	D->free_table(t);
	D->disconnect(c);
	PQfinish(admin);
}

TL_TEST(key_exists_errors)
{
	const char *const ccol[] = {"c"}, *const badhex[] = {"0g"};
	struct tgt_kind k = KIND;
	tl_error err = TL_ERROR_INIT;
	PGconn *admin = setup();
	tl_conn *c = NULL;
	tl_table *t = NULL;

	if (!admin)
		return;
	k.ctx = admin;
	if (open_kc(&c, &t))
		goto cleanup;
	TL_CHECK_EQ_INT(tgt_exists(&k, c, t, 1, ccol, badhex, &err), -1); /* bytea as hex */
	TL_CHECK_EQ_INT(err.code, TL_ERR_MISMATCH);
	tgt_check_exists_errors(&k, c, t, "\"tl_tgt\".\"kc\"",
				"CREATE TABLE tl_tgt.kc (a int NOT NULL, b text NOT NULL, c bytea NOT NULL, v int, "
				"w timestamptz, PRIMARY KEY (a, b, c))");
cleanup:
	D->free_table(t);
	D->disconnect(c);
	PQfinish(admin);
}

/* pg_terminate_backend of the sessions claiming as OWNER, from the admin connection ctx. */
static int terminate_owner(void *ctx, tl_conn *a)
{
	(void)a;
	return run(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE "
			"'tideline task ''t-first''%'");
}

/* A transaction's end on another session: session locks stay. */
static int begin_commit(void *ctx)
{
	return run(ctx, "BEGIN") || run(ctx, "COMMIT") ? -1 : 0;
}

TL_TEST(claim_refuses_a_second_writer)
{
	struct tgt_kind k = KIND;
	const char *url;
	tl_error err = TL_ERROR_INIT;
	PGconn *admin = setup();
	tl_conn *a = NULL, *b = NULL;
	tl_table *kc = NULL, *kc2 = NULL, *kc3 = NULL, *other = NULL;

	if (!admin)
		return;
	url = getenv("TL_PG_DST_URL");
	a = tgt_open(&KIND, url, "tideline-test");
	b = tgt_open(&KIND, url, "tideline-test-b");
	if (!a || !b)
		goto cleanup;
	kc = tgt_describe(&KIND, a, "tl_tgt", "kc");
	kc2 = tgt_describe(&KIND, a, "tl_tgt", "kc2");
	kc3 = tgt_describe(&KIND, a, "tl_tgt", "kc3");
	other = tgt_describe(&KIND, a, "tl_tgt2", "kc");
	if (!kc || !kc2 || !kc3 || !other)
		goto cleanup;
	TL_CHECK_OK(tgt_claim(&KIND, a, kc, &err), &err);
	tl_error_clear(&err);
	TL_CHECK_EQ_INT(D->claim(b, kc, "tideline task 't-second'", &err), TL_ERR_LOCKED);
	TL_CHECK_MSG(strstr(err.message, "\"tl_tgt\".\"kc\"") && strstr(err.message, "'" OWNER "' (pg backend pid ") &&
			     strstr(err.message, "from 127.0.0.1"),
		     "message: %s", err.message);
	/* the same name in another schema is another table */
	TL_CHECK_OK(tgt_claim(&KIND, b, other, &err), &err);
	/* several claims per session, no nesting, a session lock (a transaction's end does not
	 * release it), release, disconnect */
	k.ctx = admin;
	k.meanwhile = begin_commit;
	tgt_check_session_claims(&k, &a, b, kc, kc2, kc3);
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
	struct tgt_kind k = KIND;
	PGconn *admin = setup();
	tl_conn *b = NULL;
	tl_table *kc = NULL;

	if (!admin)
		return;
	k.url = getenv("TL_PG_DST_URL");
	k.ctx = admin;
	k.end_session = terminate_owner;
	b = tgt_open(&k, k.url, "tideline-test-b");
	if (b && (kc = tgt_describe(&k, b, "tl_tgt", "kc")) != NULL)
		tgt_check_dead_holder(&k, "tideline-test", b, kc);
	D->free_table(kc);
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
	if (!(c = tgt_open(&KIND, url, "tideline-test")) || !(t = tgt_describe(&KIND, c, "public", "kv")))
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
