/*
 * test_conn_pg.c - how the PostgreSQL connector connects, configures its sessions and
 * classifies errors, against real PostgreSQL servers: TLS modes and ape-dts' URL forms
 * (sslmode, ssl-root-cert, options[setting]) against the TLS-enabled shared servers
 * (TL_TLS_DIR), a URL statement_timeout lifted for streaming reads only, killed sessions
 * (pg_terminate_backend) of a reader, a writer and a COMMIT in flight (commit unknown), a
 * bounded lock wait naming the holder, the durability warning, and on a private server:
 * durable commits flushing the WAL (earlier asynchronous commits included), restart and
 * freeze (SIGSTOP) with the transient errors of connect, read_batch and write_batch and
 * their timing. Touches only the tl_conn_t schema it creates (and its private server).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "connectors/pg_int.h"
#include "tideline/batch.h"
#include "conn_lib.h"
#include "tl_test.h"

#define D (&tl_driver_pg)
#define LOST (TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST)

static tl_conn *open_ep(const tl_endpoint *ep, tl_error *err)
{
	tl_conn *c = NULL;

	if (D->connect(ep, &c, err))
		return NULL;
	return c;
}

static tl_conn *open_url(const char *url)
{
	tl_endpoint ep = {.db_type = "pg", .url = url, .app_name = "tl-conn-test"};
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = open_ep(&ep, &err);

	if (!c)
		tl_test_fail(__FILE__, __LINE__, "connect %s: %s", url, err.message);
	return c;
}

static int run(tl_conn *c, const char *sql)
{
	tl_error err = TL_ERROR_INIT;

	if (tl_pg__exec(c, sql, 0, NULL, NULL, "test statement", &err) != 0) {
		tl_test_fail(__FILE__, __LINE__, "sql failed: %s\n      %s", err.message, sql);
		return -1;
	}
	return 0;
}

/* The first value of the first row of sql ("" when none; the test fails on an error). */
static const char *query1(tl_conn *c, const char *sql)
{
	static char out[512];
	tl_error err = TL_ERROR_INIT;
	PGresult *res = NULL;

	out[0] = '\0';
	if (tl_pg__exec(c, sql, 0, NULL, &res, "test query", &err) != 0) {
		tl_test_fail(__FILE__, __LINE__, "query failed: %s\n      %s", err.message, sql);
		return out;
	}
	if (PQntuples(res) > 0 && PQnfields(res) > 0)
		snprintf(out, sizeof(out), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return out;
}

/* Connects with ssl_mode/ssl_ca_path; "t"/"f" from pg_stat_ssl, NULL when refused. */
static const char *ssl_used(const char *url, const char *mode, const char *ca, tl_error *err)
{
	tl_endpoint ep = {.db_type = "pg", .url = url, .app_name = "tl-conn-test", .ssl_mode = mode, .ssl_ca_path = ca};
	static char out[8];
	tl_conn *c;

	tl_error_clear(err);
	if (!(c = open_ep(&ep, err)))
		return NULL;
	snprintf(out, sizeof(out), "%s", query1(c, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
	D->disconnect(c);
	return out;
}

TL_TEST(test_conn_pg__tls_modes)
{
	const char *url = tl_test_require_env("TL_PG_SRC_URL");
	const char *tls = url ? tl_test_require_env("TL_TLS_DIR") : NULL;
	char ca[4200], other[4200], local[2048];
	tl_error err = TL_ERROR_INIT;
	const char *s;

	if (!url || !tls)
		return;
	snprintf(ca, sizeof(ca), "%s/ca.pem", tls);
	snprintf(other, sizeof(other), "%s/other-ca.pem", tls);
	snprintf(local, sizeof(local), "%s", conn_url_sub(url, "127.0.0.1", "localhost"));

	s = ssl_used(url, NULL, NULL, &err); /* libpq's default: prefer */
	TL_CHECK_MSG(s && strcmp(s, "t") == 0, "default: ssl %s (%s)", s ? s : "refused", err.message);
	s = ssl_used(url, "disable", ca, &err);
	TL_CHECK_MSG(s && strcmp(s, "f") == 0, "disable: ssl %s (%s)", s ? s : "refused", err.message);
	s = ssl_used(url, "require", NULL, &err);
	TL_CHECK_MSG(s && strcmp(s, "t") == 0, "require: ssl %s (%s)", s ? s : "refused", err.message);
	s = ssl_used(url, "verify_ca", ca, &err);
	TL_CHECK_MSG(s && strcmp(s, "t") == 0, "verify_ca: ssl %s (%s)", s ? s : "refused", err.message);
	s = ssl_used(url, "verify_ca", other, &err);
	TL_CHECK_MSG(!s, "verify_ca with an unrelated CA connected");
	TL_CHECK_MSG(err.code == TL_ERR_DB && err.flags == 0, "wrong CA: %s %s", conn_flags(&err), err.message);
	s = ssl_used(url, "require", other, &err); /* libpq: require with a root certificate verifies it */
	TL_CHECK_MSG(!s, "require with an unrelated CA connected");
	s = ssl_used(local, "verify_full", ca, &err);
	TL_CHECK_MSG(s && strcmp(s, "t") == 0, "verify_full to localhost: ssl %s (%s)", s ? s : "refused", err.message);
	s = ssl_used(url, "verify_full", ca, &err);
	TL_CHECK_MSG(!s, "verify_full to 127.0.0.1 connected with a certificate for localhost");
	TL_CHECK_MSG(err.flags == 0 && strstr(err.message, "does not match host name"), "host mismatch: %s %s",
		     conn_flags(&err), err.message);
	s = ssl_used(url, "prefer", ca, &err);
	TL_CHECK(!s && err.code == TL_ERR_CONFIG && strstr(err.message, "'prefer'"));
	s = ssl_used(url, "verify_ca", "/nonexistent/ca.pem", &err);
	TL_CHECK(!s && err.code == TL_ERR_CONFIG && strstr(err.message, "/nonexistent/ca.pem"));
}

TL_TEST(test_conn_pg__url_forms)
{
	const char *url = tl_test_require_env("TL_PG_SRC_URL");
	const char *tls = url ? tl_test_require_env("TL_TLS_DIR") : NULL;
	char u[4600], local[2048];
	tl_error err = TL_ERROR_INIT;
	tl_conn *c;
	const char *s;

	if (!url || !tls)
		return;
	snprintf(local, sizeof(local), "%s", conn_url_sub(url, "127.0.0.1", "localhost"));
	snprintf(u, sizeof(u), "%s?sslmode=verify-ca&sslrootcert=%s/ca.pem", url, tls);
	s = ssl_used(u, NULL, NULL, &err);
	TL_CHECK_MSG(s && strcmp(s, "t") == 0, "%s: %s (%s)", u, s ? s : "refused", err.message);
	snprintf(u, sizeof(u), "%s?ssl-mode=verify-full&ssl-root-cert=%s/ca.pem", local, tls);
	s = ssl_used(u, NULL, NULL, &err);
	TL_CHECK_MSG(s && strcmp(s, "t") == 0, "%s: %s (%s)", u, s ? s : "refused", err.message);
	snprintf(u, sizeof(u), "%s?sslmode=verify_full&ssl-ca=%s/ca.pem", url, tls);
	TL_CHECK_MSG(!ssl_used(u, NULL, NULL, &err), "%s connected", u);
	snprintf(u, sizeof(u), "%s?sslmode=disable", url);
	s = ssl_used(u, NULL, NULL, &err);
	TL_CHECK_MSG(s && strcmp(s, "f") == 0, "%s: %s (%s)", u, s ? s : "refused", err.message);
	s = ssl_used(u, "require", NULL, &err); /* the task's ssl_mode overrides the URL's */
	TL_CHECK_MSG(s && strcmp(s, "t") == 0, "ssl_mode=require over ?sslmode=disable: %s (%s)", s ? s : "refused",
		     err.message);

	/* ape-dts' tutorials: options[statement_timeout]=10s; other settings the same way */
	snprintf(u, sizeof(u), "%s?options[statement_timeout]=10s&options[search_path]=tl_x,public&"
			       "statement-cache-capacity=100&application_name=tl-url&target_session_attrs=any",
		 url);
	if ((c = open_url(u)) != NULL) {
		TL_CHECK_EQ_STR(query1(c, "SHOW statement_timeout"), "10s");
		TL_CHECK_EQ_STR(query1(c, "SHOW search_path"), "tl_x,public");
		TL_CHECK_EQ_STR(query1(c, "SHOW application_name"), "tl-url");
		TL_CHECK_EQ_STR(query1(c, "SHOW lock_timeout"), "1min"); /* tideline's default bound */
		D->disconnect(c);
	}
	snprintf(u, sizeof(u), "%s?options=-c%%20statement_timeout%%3D5s%%20-c%%20lock_timeout%%3D7s", url);
	if ((c = open_url(u)) != NULL) {
		TL_CHECK_EQ_STR(query1(c, "SHOW statement_timeout"), "5s");
		TL_CHECK_EQ_STR(query1(c, "SHOW lock_timeout"), "7s"); /* the URL's own lock_timeout stands */
		D->disconnect(c);
	}
	/* refused, naming what: settings that fix the text form of the values copied, unknown names */
	snprintf(u, sizeof(u), "%s?options[TimeZone]=Asia/Tokyo", url);
	TL_CHECK(!ssl_used(u, NULL, NULL, &err) && err.code == TL_ERR_CONFIG && strstr(err.message, "TimeZone"));
	snprintf(u, sizeof(u), "%s?options=-c%%20datestyle%%3DGerman", url);
	TL_CHECK(!ssl_used(u, NULL, NULL, &err) && err.code == TL_ERR_CONFIG && strstr(err.message, "DateStyle"));
	snprintf(u, sizeof(u), "%s?client_encoding=LATIN1", url);
	TL_CHECK(!ssl_used(u, NULL, NULL, &err) && err.code == TL_ERR_CONFIG && strstr(err.message, "LATIN1"));
	snprintf(u, sizeof(u), "%s?sslmode=sometimes", url);
	TL_CHECK(!ssl_used(u, NULL, NULL, &err) && err.code == TL_ERR_CONFIG && strstr(err.message, "sometimes"));
	snprintf(u, sizeof(u), "%s?pool_size=5", url);
	TL_CHECK(!ssl_used(u, NULL, NULL, &err) && err.code == TL_ERR_CONFIG && strstr(err.message, "pool_size"));
}

/* A reader of t with an optional where condition. */
static int open_scan(tl_conn *c, const tl_table *t, const char *where, tl_reader **r, tl_error *err)
{
	tl_read_spec spec;

	memset(&spec, 0, sizeof(spec));
	spec.mode = TL_READ_SCAN;
	spec.batch_rows = 1000;
	spec.where = where;
	return D->open_reader(c, t, &spec, r, err);
}

/* Reads r until an error or the end; *rows gets the row count. */
static int drain(tl_reader *r, const tl_table *t, long *rows, tl_error *err)
{
	tl_batch b;
	int rc = 0;

	*rows = 0;
	tl_batch_init(&b, t->ncols, 1 << 20);
	for (;;) {
		tl_batch_reset(&b);
		if ((rc = D->read_batch(r, &b, err)) || b.nrows == 0)
			break;
		*rows += (long)b.nrows;
	}
	tl_batch_release(&b);
	return rc;
}

TL_TEST(test_conn_pg__statement_timeout_lifted_for_reads)
{
	const char *url = tl_test_require_env("TL_PG_SRC_URL");
	char u[2200];
	tl_conn *c = NULL;
	tl_table *t = NULL;
	tl_reader *r = NULL;
	tl_error err = TL_ERROR_INIT;
	long rows = 0;

	if (!url)
		return;
	snprintf(u, sizeof(u), "%s?options[statement_timeout]=1s", url);
	if (!(c = open_url(u)))
		return;
	if (run(c, "CREATE SCHEMA IF NOT EXISTS tl_conn_t") ||
	    run(c, "DROP TABLE IF EXISTS tl_conn_t.slow; CREATE TABLE tl_conn_t.slow AS SELECT g AS id FROM "
		   "generate_series(1, 300) g"))
		goto cleanup;
	TL_CHECK_OK(D->describe(c, "tl_conn_t", "slow", &t, &err), &err);
	/* one COPY of 300 rows at 10 ms each: 3 s, past the URL's 1 s statement_timeout */
	TL_CHECK_OK(open_scan(c, t, "pg_sleep(0.01) IS NOT NULL", &r, &err), &err);
	TL_CHECK_OK(drain(r, t, &rows, &err), &err);
	TL_CHECK_EQ_INT(rows, 300);
	D->close_reader(r);
	r = NULL;
	/* given back after the read; other statements keep it */
	TL_CHECK_EQ_STR(query1(c, "SHOW statement_timeout"), "1s");
	TL_CHECK_MSG(tl_pg__exec(c, "SELECT pg_sleep(1.5)", 0, NULL, NULL, "sleep", &err) == TL_ERR_DB &&
			     strcmp(err.sqlstate, "57014") == 0 && err.flags == 0,
		     "statement_timeout: %s %s %s", err.sqlstate, conn_flags(&err), err.message);
cleanup:
	D->close_reader(r);
	D->free_table(t);
	if (c)
		(void)run(c, "DROP TABLE IF EXISTS tl_conn_t.slow");
	D->disconnect(c);
}

/* One row (id, v) of t as a batch. */
static int one_row(tl_batch *b, const char *id, const char *v, tl_error *err)
{
	int rc;

	tl_batch_set_ncols(b, 2);
	rc = tl_batch_push(b, id, strlen(id), 0, err);
	if (!rc)
		rc = tl_batch_push(b, v, strlen(v), 0, err);
	if (!rc)
		rc = tl_batch_end_row(b, err);
	return rc;
}

TL_TEST(test_conn_pg__killed_sessions)
{
	const char *url = tl_test_require_env("TL_PG_DST_URL");
	tl_conn *c = NULL, *w = NULL, *side = NULL;
	tl_table *t = NULL, *kv = NULL;
	tl_reader *r = NULL;
	tl_batch b;
	tl_error err = TL_ERROR_INIT;
	char sql[200];
	long rows = 0;
	int rc;

	if (!url)
		return;
	tl_batch_init(&b, 2, 1 << 20);
	c = open_url(url);
	w = open_url(url);
	side = open_url(url);
	if (!c || !w || !side)
		goto cleanup;
	if (run(side, "CREATE SCHEMA IF NOT EXISTS tl_conn_t") ||
	    run(side, "DROP TABLE IF EXISTS tl_conn_t.big, tl_conn_t.kv; "
		      "CREATE TABLE tl_conn_t.big AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 200000) g; "
		      "CREATE TABLE tl_conn_t.kv (id int PRIMARY KEY, v text)"))
		goto cleanup;
	if (D->describe(c, "tl_conn_t", "big", &t, &err) || D->describe(w, "tl_conn_t", "kv", &kv, &err) ||
	    open_scan(c, t, NULL, &r, &err)) {
		tl_test_fail(__FILE__, __LINE__, "setup: %s", err.message);
		goto cleanup;
	}
	TL_CHECK_OK(D->read_batch(r, &b, &err), &err);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", PQbackendPID(c->pg));
	if (run(side, sql))
		goto cleanup;
	rc = drain(r, t, &rows, &err);
	TL_CHECK_MSG(rc == TL_ERR_DB && (err.flags & LOST) == LOST, "read after pg_terminate_backend: rc %d %s %s", rc,
		     conn_flags(&err), err.message);
	D->close_reader(r);
	r = NULL;

	TL_CHECK_OK(one_row(&b, "1", "a", &err), &err);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", PQbackendPID(w->pg));
	if (run(side, sql))
		goto cleanup;
	usleep(200000);
	rc = D->write_batch(w, kv, &b, TL_WRITE_UPSERT, &err);
	TL_CHECK_MSG(rc == TL_ERR_DB && (err.flags & LOST) == LOST && !(err.flags & TL_ERRF_COMMIT_UNKNOWN),
		     "write after pg_terminate_backend: rc %d %s %s", rc, conn_flags(&err), err.message);
	/* not transient: a table that is not there */
	D->disconnect(w);
	if ((w = open_url(url)) != NULL && run(side, "DROP TABLE tl_conn_t.kv") == 0) {
		rc = D->write_batch(w, kv, &b, TL_WRITE_UPSERT, &err);
		TL_CHECK_MSG(rc == TL_ERR_DB && err.flags == 0 && strcmp(err.sqlstate, "42P01") == 0, "missing table: %s %s %s",
			     err.sqlstate, conn_flags(&err), err.message);
	}
cleanup:
	D->close_reader(r);
	D->free_table(t);
	D->free_table(kv);
	if (side)
		(void)run(side, "DROP TABLE IF EXISTS tl_conn_t.big, tl_conn_t.kv");
	D->disconnect(c);
	D->disconnect(w);
	D->disconnect(side);
	tl_batch_release(&b);
}

struct terminator {
	const char *url;
	int pid;
	int delay_ms;
};

static void *terminate_later(void *arg)
{
	struct terminator *k = arg;
	tl_endpoint ep = {.db_type = "pg", .url = k->url, .app_name = "tl-conn-test"};
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL;
	char sql[100];

	usleep((useconds_t)k->delay_ms * 1000);
	if (D->connect(&ep, &c, &err) == 0) {
		snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", k->pid);
		if (tl_pg__exec(c, sql, 0, NULL, NULL, "terminate", &err) != 0)
			fprintf(stderr, "    terminating pid %d: %s\n", k->pid, err.message);
		D->disconnect(c);
	}
	return NULL;
}

TL_TEST(test_conn_pg__commit_unknown)
{
	const char *url = tl_test_require_env("TL_PG_DST_URL");
	tl_conn *w = NULL, *side = NULL;
	tl_table *t = NULL;
	tl_batch b;
	tl_error err = TL_ERROR_INIT;
	struct terminator k;
	pthread_t th;
	int rc, started = 0;

	if (!url)
		return;
	tl_batch_init(&b, 2, 1 << 20);
	w = open_url(url);
	side = open_url(url);
	/* a deferred constraint trigger makes COMMIT itself take 3 s: time to cut the line */
	if (!w || !side || run(side, "CREATE SCHEMA IF NOT EXISTS tl_conn_t") ||
	    run(side, "DROP TABLE IF EXISTS tl_conn_t.cu; CREATE TABLE tl_conn_t.cu (id int PRIMARY KEY, v text); "
		      "CREATE OR REPLACE FUNCTION tl_conn_t.slow() RETURNS trigger LANGUAGE plpgsql AS "
		      "$$BEGIN PERFORM pg_sleep(3); RETURN NULL; END$$; "
		      "CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON tl_conn_t.cu DEFERRABLE INITIALLY DEFERRED "
		      "FOR EACH ROW EXECUTE FUNCTION tl_conn_t.slow()"))
		goto cleanup;
	if (D->describe(w, "tl_conn_t", "cu", &t, &err) || one_row(&b, "1", "a", &err)) {
		tl_test_fail(__FILE__, __LINE__, "setup: %s", err.message);
		goto cleanup;
	}
	k.url = url;
	k.pid = PQbackendPID(w->pg);
	k.delay_ms = 1000;
	if (pthread_create(&th, NULL, terminate_later, &k) != 0)
		goto cleanup;
	started = 1;
	rc = D->write_batch(w, t, &b, TL_WRITE_UPSERT, &err);
	TL_CHECK_MSG(rc == TL_ERR_DB && err.flags == (LOST | TL_ERRF_COMMIT_UNKNOWN),
		     "connection lost during COMMIT: rc %d %s %s", rc, conn_flags(&err), err.message);
	TL_CHECK(strstr(err.message, "cannot commit") != NULL);
cleanup:
	if (started)
		pthread_join(th, NULL);
	D->free_table(t);
	if (side)
		(void)run(side, "DROP TABLE IF EXISTS tl_conn_t.cu; DROP FUNCTION IF EXISTS tl_conn_t.slow()");
	D->disconnect(w);
	D->disconnect(side);
	tl_batch_release(&b);
}

TL_TEST(test_conn_pg__lock_wait)
{
	const char *url = tl_test_require_env("TL_PG_DST_URL");
	tl_endpoint ep = {.db_type = "pg", .url = url, .app_name = "tl-conn-test", .lock_wait_secs = 1};
	tl_conn *holder = NULL, *w = NULL;
	tl_table *t = NULL;
	tl_batch b;
	tl_error err = TL_ERROR_INIT;
	char want[64];
	double t0;
	int rc;

	if (!url)
		return;
	tl_batch_init(&b, 2, 1 << 20);
	holder = open_url(url);
	if (!holder || !(w = open_ep(&ep, &err))) {
		tl_test_fail(__FILE__, __LINE__, "connect: %s", err.message);
		goto cleanup;
	}
	TL_CHECK_EQ_STR(query1(w, "SHOW lock_timeout"), "1s");
	if (run(holder, "CREATE SCHEMA IF NOT EXISTS tl_conn_t") ||
	    run(holder, "DROP TABLE IF EXISTS tl_conn_t.lk; CREATE TABLE tl_conn_t.lk (id int PRIMARY KEY, v text); "
			"INSERT INTO tl_conn_t.lk VALUES (1, 'a')") ||
	    run(holder, "BEGIN") || run(holder, "UPDATE tl_conn_t.lk SET v = 'held' WHERE id = 1"))
		goto cleanup;
	if (D->describe(w, "tl_conn_t", "lk", &t, &err) || one_row(&b, "1", "b", &err)) {
		tl_test_fail(__FILE__, __LINE__, "setup: %s", err.message);
		goto cleanup;
	}
	t0 = conn_now();
	rc = D->write_batch(w, t, &b, TL_WRITE_UPSERT, &err);
	TL_CHECK_MSG(rc == TL_ERR_DB && strcmp(err.sqlstate, "55P03") == 0 && err.flags == TL_ERRF_TRANSIENT,
		     "lock wait: %s %s %s", err.sqlstate, conn_flags(&err), err.message);
	TL_CHECK_MSG(conn_now() - t0 < 5, "lock wait took %.1f s with a 1 s bound", conn_now() - t0);
	snprintf(want, sizeof(want), "pid %d (", PQbackendPID(holder->pg));
	TL_CHECK_MSG(strstr(err.message, want) != NULL, "the holder is not named: %s", err.message);
	fprintf(stderr, "    %s\n", err.message);
	if (run(holder, "COMMIT") == 0) {
		TL_CHECK_OK(D->write_batch(w, t, &b, TL_WRITE_UPSERT, &err), &err);
		TL_CHECK_EQ_STR(query1(holder, "SELECT v FROM tl_conn_t.lk WHERE id = 1"), "b");
	}
cleanup:
	D->free_table(t);
	if (holder) {
		(void)run(holder, "ROLLBACK");
		(void)run(holder, "DROP TABLE IF EXISTS tl_conn_t.lk");
	}
	D->disconnect(w);
	D->disconnect(holder);
	tl_batch_release(&b);
}

TL_TEST(test_conn_pg__durability_warning)
{
	const char *url = tl_test_require_env("TL_PG_DST_URL");
	tl_conn *c;
	tl_error err = TL_ERROR_INIT;
	char *warn = NULL;

	if (!url || !(c = open_url(url)))
		return;
	TL_CHECK_OK(D->durability_warning(c, &warn, &err), &err);
	if (strcmp(query1(c, "SHOW fsync"), "off") == 0) /* tools/servers/postgres.sh: fsync=off */
		TL_CHECK_MSG(warn && strstr(warn, "fsync=off") && strstr(warn, "full_page_writes=off"), "warning: %s",
			     warn ? warn : "(none)");
	else
		TL_CHECK_MSG(!warn, "warning on a durable server: %s", warn);
	free(warn);
	D->disconnect(c);
}

/* "t" when the server's WAL is flushed up to lsn. */
static const char *flushed_to(tl_conn *c, const char *lsn)
{
	char sql[200];

	snprintf(sql, sizeof(sql), "SELECT pg_current_wal_flush_lsn() >= '%s'::pg_lsn", lsn);
	return query1(c, sql);
}

TL_TEST(test_conn_pg__private_server)
{
	int base = conn_env_port("TL_PG_SRC_URL");
	struct conn_server srv = {0};
	tl_endpoint ep = {.db_type = "pg", .app_name = "tl-conn-test", .io_timeout_secs = 2, .connect_timeout_secs = 2};
	tl_conn *c = NULL, *w = NULL, *x = NULL;
	tl_table *t = NULL, *kv = NULL;
	tl_reader *r = NULL;
	tl_batch b;
	tl_error err = TL_ERROR_INIT;
	char url[160], lsn[64];
	double t0, took;
	long rows = 0;
	int rc, i, behind = 0;

	if (!tl_test_require_env("TL_PG_SRC_URL") || !base)
		return;
	tl_batch_init(&b, 2, 1 << 20);
	snprintf(url, sizeof(url), "postgres://postgres:@127.0.0.1:%d/postgres", base + 40);
	ep.url = url;
	if (conn_server_start(&srv, "postgres", base + 40) != 0) {
		tl_test_fail(__FILE__, __LINE__, "cannot start a private PostgreSQL on port %d (see %s/srv-postgres.log)",
			     base + 40, tl_test_tmpdir());
		return;
	}
	if (!(c = open_ep(&ep, &err)) || !(w = open_ep(&ep, &err))) {
		tl_test_fail(__FILE__, __LINE__, "connect: %s", err.message);
		goto cleanup;
	}
	if (run(c, "CREATE TABLE big AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 300000) g") ||
	    run(c, "CREATE TABLE kv (id int PRIMARY KEY, v text)") ||
	    D->describe(c, "public", "big", &t, &err) || D->describe(w, "public", "kv", &kv, &err)) {
		tl_test_fail(__FILE__, __LINE__, "setup: %s", err.message);
		goto cleanup;
	}

	/* durable commits: WAL flushed through this commit and every earlier (asynchronous) one */
	if (run(c, "ALTER SYSTEM SET wal_writer_delay = '10s'") || strcmp(query1(c, "SELECT pg_reload_conf()"), "t"))
		goto cleanup;
	usleep(300000);
	TL_CHECK_EQ_STR(query1(w, "SHOW synchronous_commit"), "off"); /* tools/servers/postgres.sh */
	for (i = 0; i < 5; i++) {
		char id[16];
		snprintf(id, sizeof(id), "%d", 10 + i);
		tl_batch_reset(&b);
		TL_CHECK_OK(one_row(&b, id, "async", &err), &err);
		TL_CHECK_OK(D->write_batch(w, kv, &b, TL_WRITE_UPSERT, &err), &err);
		snprintf(lsn, sizeof(lsn), "%s", query1(c, "SELECT pg_current_wal_insert_lsn()"));
		behind += strcmp(flushed_to(c, lsn), "f") == 0;
	}
	fprintf(stderr, "    %d of 5 asynchronous commits were not yet flushed right after COMMIT\n", behind);
	TL_CHECK_MSG(behind > 0, "asynchronous commits were always flushed at once: the check below proves nothing");
	tl_batch_reset(&b);
	TL_CHECK_OK(one_row(&b, "1", "durable", &err), &err);
	TL_CHECK_OK(D->write_batch(w, kv, &b, TL_WRITE_UPSERT | TL_WRITE_DURABLE, &err), &err);
	TL_CHECK_MSG(strcmp(flushed_to(c, lsn), "t") == 0, "after a durable commit the WAL is not flushed to %s "
							     "(the last asynchronous commit)", lsn);
	TL_CHECK_EQ_STR(query1(w, "SHOW synchronous_commit"), "off"); /* SET LOCAL: this transaction only */

	/* the timeout is on silence, not on duration: a slow reader of a live server is fine */
	TL_CHECK_OK(open_scan(c, t, NULL, &r, &err), &err);
	t0 = conn_now();
	for (i = 0; i < 10; i++) {
		tl_batch_reset(&b);
		TL_CHECK_OK(D->read_batch(r, &b, &err), &err);
		usleep(350000);
	}
	TL_CHECK_MSG(conn_now() - t0 > 3, "slow read took %.1f s", conn_now() - t0);

	/* frozen server (postmaster and backends): transient errors within the 2 s bound */
	if (conn_server_signal(&srv, SIGSTOP)) {
		tl_test_fail(__FILE__, __LINE__, "no pid for the private server");
		goto cleanup;
	}
	t0 = conn_now();
	rc = drain(r, t, &rows, &err);
	took = conn_now() - t0;
	TL_CHECK_MSG(rc == TL_ERR_DB && (err.flags & LOST) == LOST, "frozen read: rc %d %s %s", rc, conn_flags(&err),
		     err.message);
	TL_CHECK_MSG(took < 2 + 2, "frozen read failed after %.1f s (bound 2 s)", took);
	t0 = conn_now();
	D->close_reader(r); /* no cancel request to a frozen server */
	r = NULL;
	TL_CHECK_MSG(conn_now() - t0 < 1, "closing the reader of a frozen server took %.1f s", conn_now() - t0);
	tl_batch_reset(&b);
	TL_CHECK_OK(one_row(&b, "2", "frozen", &err), &err);
	t0 = conn_now();
	rc = D->write_batch(w, kv, &b, TL_WRITE_UPSERT, &err);
	took = conn_now() - t0;
	TL_CHECK_MSG(rc == TL_ERR_DB && (err.flags & LOST) == LOST, "frozen write: rc %d %s %s", rc, conn_flags(&err),
		     err.message);
	TL_CHECK_MSG(took < 2 + 2, "frozen write failed after %.1f s (bound 2 s)", took);
	fprintf(stderr, "    frozen server: write gave up after %.1f s (io_timeout_secs=2): %s\n", took, err.message);
	t0 = conn_now();
	x = open_ep(&ep, &err);
	took = conn_now() - t0;
	TL_CHECK_MSG(!x && (err.flags & TL_ERRF_TRANSIENT), "connect to a frozen server: %s %s", conn_flags(&err),
		     err.message);
	TL_CHECK_MSG(took < 2 + 2, "connect to a frozen server failed after %.1f s (bound 2 s)", took);
	D->disconnect(x);
	x = NULL;
	(void)conn_server_signal(&srv, SIGCONT);
	D->disconnect(c);
	D->disconnect(w);
	c = w = NULL;

	/* restart: SIGKILL of the postmaster and its backends, then start again */
	if (!(c = open_ep(&ep, &err)) || !(w = open_ep(&ep, &err)) || open_scan(c, t, NULL, &r, &err)) {
		tl_test_fail(__FILE__, __LINE__, "after SIGCONT: %s", err.message);
		goto cleanup;
	}
	tl_batch_reset(&b);
	TL_CHECK_OK(D->read_batch(r, &b, &err), &err);
	TL_CHECK(conn_server_crash(&srv) == 0);
	rc = drain(r, t, &rows, &err);
	TL_CHECK_MSG(rc == TL_ERR_DB && (err.flags & LOST) == LOST, "read from a killed server: rc %d %s %s", rc,
		     conn_flags(&err), err.message);
	tl_batch_reset(&b);
	TL_CHECK_OK(one_row(&b, "3", "killed", &err), &err);
	rc = D->write_batch(w, kv, &b, TL_WRITE_UPSERT, &err);
	TL_CHECK_MSG(rc == TL_ERR_DB && (err.flags & LOST) == LOST, "write to a killed server: rc %d %s %s", rc,
		     conn_flags(&err), err.message);
	x = open_ep(&ep, &err);
	TL_CHECK_MSG(!x && (err.flags & LOST) == LOST && strstr(err.message, "Connection refused"),
		     "connect to a stopped server: %s %s", conn_flags(&err), err.message);
	D->disconnect(x);
	x = NULL;
	if (conn_server_start(&srv, "postgres", base + 40) != 0) {
		tl_test_fail(__FILE__, __LINE__, "cannot restart the private PostgreSQL (see %s/srv-postgres.log)",
			     tl_test_tmpdir());
		goto cleanup;
	}
	x = open_ep(&ep, &err);
	TL_CHECK_MSG(x != NULL, "connect after the restart: %s", err.message);
	if (x) {
		tl_batch_reset(&b);
		TL_CHECK_OK(one_row(&b, "4", "restarted", &err), &err);
		TL_CHECK_OK(D->write_batch(x, kv, &b, TL_WRITE_UPSERT, &err), &err);
		/* the durable row survived the crash */
		TL_CHECK_EQ_STR(query1(x, "SELECT v FROM kv WHERE id = 1"), "durable");
	}
cleanup:
	(void)conn_server_signal(&srv, SIGCONT);
	D->close_reader(r);
	D->free_table(t);
	D->free_table(kv);
	D->disconnect(c);
	D->disconnect(w);
	D->disconnect(x);
	conn_server_stop(&srv);
	tl_batch_release(&b);
}
