/*
 * test_conn_mysql.c - how the MySQL connector connects, configures its sessions and
 * classifies errors, against real MariaDB servers: TLS modes and ape-dts' URL forms
 * against the TLS-enabled shared servers (TL_TLS_DIR), a killed session (KILL) on a reader
 * and a writer, a bounded lock wait naming the blocker, strict mode (a value that does not
 * fit names table, column and the row's key; zero and invalid dates still copy), the
 * durability warning, and on a private server (restarted, frozen with SIGSTOP) the
 * transient errors of connect, read_batch and write_batch and their timing.
 * Touches only the tl_conn_* databases it creates (and its private server).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "connectors/mysql_int.h"
#include "tideline/batch.h"
#include "conn_lib.h"
#include "tl_test.h"

#define D (&tl_driver_mysql)
#define LOST (TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST)

static int open_ep(const tl_endpoint *ep, tl_conn **c, tl_error *err)
{
	*c = NULL;
	return D->connect(ep, c, err);
}

static tl_conn *open_url(const char *url)
{
	tl_endpoint ep = {.db_type = "mysql", .url = url, .app_name = "tl-conn-test"};
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL;

	if (open_ep(&ep, &c, &err))
		tl_test_fail(__FILE__, __LINE__, "connect %s: %s", url, err.message);
	return c;
}

static int run(tl_conn *c, const char *sql)
{
	tl_error err = TL_ERROR_INIT;

	if (tl_mysql__exec(c, sql, &err) != 0) {
		tl_test_fail(__FILE__, __LINE__, "sql failed: %s\n      %s", err.message, sql);
		return -1;
	}
	return 0;
}

static int text_row(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	(void)lens;
	(void)err;
	snprintf(ctx, 256, "%s", nf > 0 && v[nf - 1] ? v[nf - 1] : "");
	return 0;
}

/* The last column of the first row of sql ("" for NULL / no row). */
static const char *query1(tl_conn *c, const char *sql)
{
	static char out[256];
	tl_error err = TL_ERROR_INIT;

	out[0] = '\0';
	if (tl_mysql__query_text(c, sql, text_row, out, &err))
		tl_test_fail(__FILE__, __LINE__, "query failed: %s\n      %s", err.message, sql);
	return out;
}

/* Connects with ssl_mode/ssl_ca_path to url; returns the session's Ssl_cipher or NULL when refused. */
static const char *tls_cipher(const char *url, const char *mode, const char *ca, tl_error *err)
{
	tl_endpoint ep = {.db_type = "mysql", .url = url, .app_name = "tl-conn-test", .ssl_mode = mode,
			  .ssl_ca_path = ca};
	static char cipher[256];
	tl_conn *c = NULL;

	tl_error_clear(err);
	if (open_ep(&ep, &c, err))
		return NULL;
	snprintf(cipher, sizeof(cipher), "%s", query1(c, "SHOW SESSION STATUS LIKE 'Ssl_cipher'"));
	D->disconnect(c);
	return cipher;
}

TL_TEST(test_conn_mysql__tls_modes)
{
	const char *url = tl_test_require_env("TL_MYSQL_SRC_URL");
	const char *tls = url ? tl_test_require_env("TL_TLS_DIR") : NULL;
	char ca[4200], other[4200], local[2048];
	tl_error err = TL_ERROR_INIT;
	const char *c;

	if (!url || !tls)
		return;
	snprintf(ca, sizeof(ca), "%s/ca.pem", tls);
	snprintf(other, sizeof(other), "%s/other-ca.pem", tls);
	snprintf(local, sizeof(local), "%s", conn_url_sub(url, "127.0.0.1", "localhost"));

	/* not set: libmariadb's default, no TLS; disable: none either */
	c = tls_cipher(url, NULL, NULL, &err);
	TL_CHECK_MSG(c && !*c, "default: cipher '%s' (%s)", c ? c : "refused", err.message);
	c = tls_cipher(url, "disable", ca, &err);
	TL_CHECK_MSG(c && !*c, "disable: cipher '%s' (%s)", c ? c : "refused", err.message);
	/* require without a CA: encrypted, nothing verified */
	c = tls_cipher(url, "require", NULL, &err);
	TL_CHECK_MSG(c && *c, "require: cipher '%s' (%s)", c ? c : "refused", err.message);
	/* verify_ca: the chain against the test CA, any host name */
	c = tls_cipher(url, "verify_ca", ca, &err);
	TL_CHECK_MSG(c && *c, "verify_ca: cipher '%s' (%s)", c ? c : "refused", err.message);
	c = tls_cipher(url, "verify_ca", other, &err);
	TL_CHECK_MSG(!c, "verify_ca with an unrelated CA connected");
	TL_CHECK_EQ_INT(err.code, TL_ERR_DB);
	TL_CHECK_EQ_INT(err.native, 2026);
	TL_CHECK_MSG(err.flags == 0, "a wrong CA is not transient: %s", conn_flags(&err));
	TL_CHECK(strstr(err.message, "cannot connect to mysql at 127.0.0.1:") != NULL);
	/* require with a CA verifies the chain too (as libpq does) */
	c = tls_cipher(url, "require", other, &err);
	TL_CHECK_MSG(!c, "require with an unrelated CA connected");
	/* verify_full: the certificate is for "localhost" only */
	c = tls_cipher(local, "verify_full", ca, &err);
	TL_CHECK_MSG(c && *c, "verify_full to localhost: cipher '%s' (%s)", c ? c : "refused", err.message);
	c = tls_cipher(url, "verify_full", ca, &err);
	TL_CHECK_MSG(!c, "verify_full to 127.0.0.1 connected with a certificate for localhost");
	TL_CHECK_MSG(err.flags == 0 && err.native == 2026, "verify_full mismatch: %d %s %s", err.native,
		     conn_flags(&err), err.message);
	/* bad settings: refused before connecting, naming the value */
	c = tls_cipher(url, "verify", ca, &err);
	TL_CHECK(!c && err.code == TL_ERR_CONFIG && strstr(err.message, "'verify'"));
	c = tls_cipher(url, "verify_ca", "/nonexistent/ca.pem", &err);
	TL_CHECK(!c && err.code == TL_ERR_CONFIG && strstr(err.message, "/nonexistent/ca.pem"));
}

/* True when url is refused as a configuration error naming `what`. */
static int refused(const char *url, const char *what, tl_error *err)
{
	return tls_cipher(url, NULL, NULL, err) == NULL && err->code == TL_ERR_CONFIG && strstr(err->message, what);
}

TL_TEST(test_conn_mysql__url_forms)
{
	const char *url = tl_test_require_env("TL_MYSQL_SRC_URL");
	const char *tls = url ? tl_test_require_env("TL_TLS_DIR") : NULL;
	char u[4600], local[2048], sock[4200];
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL;
	const char *ci;

	if (!url || !tls)
		return;
	snprintf(local, sizeof(local), "%s", conn_url_sub(url, "127.0.0.1", "localhost"));
	/* sqlx's forms, as ape-dts task files carry them */
	snprintf(u, sizeof(u), "%s?ssl-mode=VERIFY_CA&ssl-ca=%s/ca.pem", url, tls);
	ci = tls_cipher(u, NULL, NULL, &err);
	TL_CHECK_MSG(ci && *ci, "%s: cipher '%s' (%s)", u, ci ? ci : "refused", err.message);
	snprintf(u, sizeof(u), "%s/?ssl-mode=VERIFY_IDENTITY&ssl-ca=%s/ca.pem", local, tls);
	ci = tls_cipher(u, NULL, NULL, &err);
	TL_CHECK_MSG(ci && *ci, "%s: cipher '%s' (%s)", u, ci ? ci : "refused", err.message);
	snprintf(u, sizeof(u), "%s?ssl-mode=VERIFY_IDENTITY&ssl-ca=%s/ca.pem", url, tls);
	TL_CHECK_MSG(!tls_cipher(u, NULL, NULL, &err), "%s connected", u);
	snprintf(u, sizeof(u), "%s?ssl-mode=disabled", url);
	ci = tls_cipher(u, NULL, NULL, &err);
	TL_CHECK_MSG(ci && !*ci, "%s: cipher '%s' (%s)", u, ci ? ci : "refused", err.message);
	snprintf(u, sizeof(u), "%s?sslmode=required", url);
	ci = tls_cipher(u, NULL, NULL, &err);
	TL_CHECK_MSG(ci && *ci, "%s: cipher '%s' (%s)", u, ci ? ci : "refused", err.message);
	/* the task's ssl_mode overrides the URL's */
	snprintf(u, sizeof(u), "%s?ssl-mode=disabled", url);
	ci = tls_cipher(u, "require", NULL, &err);
	TL_CHECK_MSG(ci && *ci, "ssl_mode=require over ?ssl-mode=disabled: cipher '%s' (%s)", ci ? ci : "refused",
		     err.message);
	/* accepted, honoured */
	snprintf(u, sizeof(u), "%s?charset=utf8mb4&collation=utf8mb4_bin&statement-cache-capacity=100&timezone=%%2B00:00",
		 url);
	if ((c = open_url(u)) != NULL) {
		TL_CHECK_EQ_STR(query1(c, "SELECT @@collation_connection"), "utf8mb4_bin");
		TL_CHECK_EQ_STR(query1(c, "SELECT @@time_zone"), "+00:00");
		D->disconnect(c);
	}
	/* ?socket=: the shared server's unix socket */
	snprintf(sock, sizeof(sock), "%s/../mariadb-%d/sock", tls, conn_env_port("TL_MYSQL_SRC_URL"));
	snprintf(u, sizeof(u), "%s?socket=%s", url, sock);
	if (access(sock, F_OK) == 0 && (c = open_url(u)) != NULL) {
		TL_CHECK_EQ_STR(query1(c, "SELECT IF(@@port = 0 OR USER() LIKE '%localhost', 'socket', USER())"), "socket");
		D->disconnect(c);
	}
	/* refused, naming the parameter: another charset or time zone would change the values */
	snprintf(u, sizeof(u), "%s?charset=latin1", url);
	TL_CHECK(refused(u, "charset=latin1", &err));
	snprintf(u, sizeof(u), "%s?timezone=%%2B08:00", url);
	TL_CHECK(refused(u, "timezone", &err));
	snprintf(u, sizeof(u), "%s?collation=latin1_swedish_ci", url);
	TL_CHECK(refused(u, "collation", &err));
	snprintf(u, sizeof(u), "%s?ssl-mode=maybe", url);
	TL_CHECK(refused(u, "maybe", &err));
	snprintf(u, sizeof(u), "%s?compress=true", url);
	TL_CHECK(refused(u, "compress", &err));
}

/* Rows 1..n into `db`.`big` (id int primary key, pad varchar). */
static int fill_big(tl_conn *c, const char *db, int n)
{
	char sql[600];

	snprintf(sql, sizeof(sql), "CREATE OR REPLACE TABLE `%s`.big (id int primary key, pad varchar(100))", db);
	if (run(c, sql))
		return -1;
	snprintf(sql, sizeof(sql),
		 "INSERT INTO `%s`.big SELECT seq, REPEAT('x', 90) FROM `%s`.seq_1_to_%d", db, db, n);
	return run(c, sql);
}

static int open_big_reader(tl_conn *c, const char *db, tl_table **t, tl_reader **r, size_t batch, tl_error *err)
{
	tl_read_spec spec;

	memset(&spec, 0, sizeof(spec));
	spec.mode = TL_READ_SCAN;
	spec.batch_rows = batch;
	if (D->describe(c, db, "big", t, err))
		return -1;
	return D->open_reader(c, *t, &spec, r, err);
}

TL_TEST(test_conn_mysql__killed_sessions)
{
	const char *url = tl_test_require_env("TL_MYSQL_SRC_URL");
	tl_conn *c = NULL, *side = NULL, *w = NULL;
	tl_table *t = NULL;
	tl_reader *r = NULL;
	tl_batch b;
	tl_error err = TL_ERROR_INIT;
	char sql[200];
	int rc = 0, i;

	if (!url)
		return;
	tl_batch_init(&b, 2, 1 << 20);
	c = open_url(url);
	side = open_url(url);
	w = open_url(url);
	if (!c || !side || !w)
		goto cleanup;
	if (run(side, "CREATE DATABASE IF NOT EXISTS tl_conn_kill") || fill_big(side, "tl_conn_kill", 50000))
		goto cleanup;
	/* a streaming reader whose session is killed */
	if (open_big_reader(c, "tl_conn_kill", &t, &r, 100, &err)) {
		tl_test_fail(__FILE__, __LINE__, "open reader: %s", err.message);
		goto cleanup;
	}
	TL_CHECK_OK(D->read_batch(r, &b, &err), &err);
	snprintf(sql, sizeof(sql), "KILL CONNECTION %lu", mysql_thread_id(c->my));
	if (run(side, sql))
		goto cleanup;
	for (i = 0; i < 10000 && rc == 0; i++) {
		tl_batch_reset(&b);
		rc = D->read_batch(r, &b, &err);
		if (rc == 0 && b.nrows == 0)
			break;
	}
	TL_CHECK_MSG(rc == TL_ERR_DB && (err.flags & LOST) == LOST, "read after KILL: rc %d, %s, %d %s", rc,
		     conn_flags(&err), err.native, err.message);
	TL_CHECK_MSG(err.native == 2013 || err.native == 1927 || err.native == 2006, "native %d", err.native);
	TL_CHECK(!(err.flags & TL_ERRF_COMMIT_UNKNOWN));
	D->close_reader(r); /* no KILL QUERY on a dead connection: must return at once */
	r = NULL;

	/* a writer whose session is killed between batches */
	tl_batch_reset(&b);
	tl_batch_set_ncols(&b, 2);
	if (tl_batch_push(&b, "1", 1, 0, &err) || tl_batch_push(&b, "a", 1, 0, &err) || tl_batch_end_row(&b, &err))
		goto cleanup;
	snprintf(sql, sizeof(sql), "KILL CONNECTION %lu", mysql_thread_id(w->my));
	if (run(side, sql))
		goto cleanup;
	rc = D->write_batch(w, t, &b, TL_WRITE_UPSERT, &err);
	TL_CHECK_MSG(rc == TL_ERR_DB && (err.flags & LOST) == LOST, "write after KILL: rc %d, %s, %s", rc,
		     conn_flags(&err), err.message);
	TL_CHECK_MSG(!(err.flags & TL_ERRF_COMMIT_UNKNOWN), "no COMMIT was sent: %s", conn_flags(&err));
	/* a non-transient error stays so: a table that does not exist */
	D->disconnect(w);
	w = open_url(url);
	if (w && run(side, "DROP TABLE tl_conn_kill.big") == 0) {
		rc = D->write_batch(w, t, &b, TL_WRITE_UPSERT, &err);
		TL_CHECK_MSG(rc == TL_ERR_DB && err.flags == 0 && err.native == 1146, "missing table: %d %s %s", err.native,
			     conn_flags(&err), err.message);
	}
cleanup:
	D->close_reader(r);
	D->free_table(t);
	if (side)
		(void)run(side, "DROP DATABASE IF EXISTS tl_conn_kill");
	D->disconnect(c);
	D->disconnect(w);
	D->disconnect(side);
	tl_batch_release(&b);
}

TL_TEST(test_conn_mysql__lock_wait)
{
	const char *url = tl_test_require_env("TL_MYSQL_DST_URL");
	tl_endpoint ep = {.db_type = "mysql", .url = url, .app_name = "tl-conn-test", .lock_wait_secs = 1};
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
	if (!holder || open_ep(&ep, &w, &err)) {
		tl_test_fail(__FILE__, __LINE__, "connect: %s", err.message);
		goto cleanup;
	}
	TL_CHECK_EQ_STR(query1(w, "SELECT @@innodb_lock_wait_timeout"), "1");
	TL_CHECK_EQ_STR(query1(w, "SELECT @@lock_wait_timeout"), "1");
	if (run(holder, "CREATE DATABASE IF NOT EXISTS tl_conn_lock") ||
	    run(holder, "CREATE OR REPLACE TABLE tl_conn_lock.t (id int primary key, v varchar(10))") ||
	    run(holder, "INSERT INTO tl_conn_lock.t VALUES (1, 'a')") || run(holder, "START TRANSACTION") ||
	    run(holder, "UPDATE tl_conn_lock.t SET v = 'held' WHERE id = 1"))
		goto cleanup;
	if (D->describe(w, "tl_conn_lock", "t", &t, &err)) {
		tl_test_fail(__FILE__, __LINE__, "describe: %s", err.message);
		goto cleanup;
	}
	tl_batch_set_ncols(&b, 2);
	if (tl_batch_push(&b, "1", 1, 0, &err) || tl_batch_push(&b, "b", 1, 0, &err) || tl_batch_end_row(&b, &err))
		goto cleanup;
	t0 = conn_now();
	rc = D->write_batch(w, t, &b, TL_WRITE_UPSERT, &err);
	TL_CHECK_MSG(rc == TL_ERR_DB && err.native == 1205 && err.flags == TL_ERRF_TRANSIENT, "lock wait: %d %s %s",
		     err.native, conn_flags(&err), err.message);
	TL_CHECK_MSG(conn_now() - t0 < 5, "lock wait took %.1f s with a 1 s bound", conn_now() - t0);
	snprintf(want, sizeof(want), "session %lu (", mysql_thread_id(holder->my));
	TL_CHECK_MSG(strstr(err.message, want) != NULL, "the blocker is not named: %s", err.message);
	fprintf(stderr, "    %s\n", err.message);
	/* the connection stays usable; once the holder commits, the write goes through */
	if (run(holder, "COMMIT") == 0) {
		TL_CHECK_OK(D->write_batch(w, t, &b, TL_WRITE_UPSERT, &err), &err);
		TL_CHECK_EQ_STR(query1(holder, "SELECT v FROM tl_conn_lock.t WHERE id = 1"), "b");
	}
cleanup:
	D->free_table(t);
	if (holder) {
		(void)run(holder, "ROLLBACK");
		(void)run(holder, "DROP DATABASE IF EXISTS tl_conn_lock");
	}
	D->disconnect(w);
	D->disconnect(holder);
	tl_batch_release(&b);
}

/* Copies src.tl_conn_strict.`from` into dst's same-named table through the driver. */
static int copy_strict(tl_conn *s, tl_conn *d, const char *name, size_t batch, tl_error *err)
{
	tl_table *t = NULL;
	tl_reader *r = NULL;
	tl_read_spec spec;
	tl_batch b;
	int rc, empty = 0;

	memset(&spec, 0, sizeof(spec));
	spec.mode = TL_READ_SCAN;
	spec.batch_rows = batch;
	tl_batch_init(&b, 1, 64 << 20);
	rc = D->describe(s, "tl_conn_strict", name, &t, err);
	if (!rc)
		rc = D->check_target(d, t, &empty, err);
	if (!rc)
		rc = D->open_reader(s, t, &spec, &r, err);
	while (!rc) {
		tl_batch_reset(&b);
		tl_batch_set_ncols(&b, t->ncols);
		if ((rc = D->read_batch(r, &b, err)) || b.nrows == 0)
			break;
		rc = D->write_batch(d, t, &b, TL_WRITE_UPSERT, err);
	}
	D->close_reader(r);
	D->free_table(t);
	tl_batch_release(&b);
	return rc;
}

TL_TEST(test_conn_mysql__strict)
{
	const char *su = tl_test_require_env("TL_MYSQL_SRC_URL");
	const char *du = su ? tl_test_require_env("TL_MYSQL_DST_URL") : NULL;
	static const char *const src_sql[] = {
		"CREATE DATABASE IF NOT EXISTS tl_conn_strict",
		"CREATE OR REPLACE TABLE tl_conn_strict.country (ID int primary key, Name char(52) NOT NULL)",
		"INSERT INTO tl_conn_strict.country SELECT seq, IF(seq = 1234, 'Afghanistan', 'Chad') "
		"FROM tl_conn_strict.seq_1_to_1500",
		"CREATE OR REPLACE TABLE tl_conn_strict.city (ID int primary key, n int NULL)",
		"INSERT INTO tl_conn_strict.city VALUES (1, 1), (2, 2), (7, NULL), (8, 8)",
		"CREATE OR REPLACE TABLE tl_conn_strict.dates (ID int primary key, d date, dt datetime)",
		"SET SESSION sql_mode = 'ALLOW_INVALID_DATES'",
		"INSERT INTO tl_conn_strict.dates VALUES (1, '0000-00-00', '0000-00-00 00:00:00'), "
		"(2, '2020-00-00', '2020-02-30 10:00:00'), (3, '2021-06-15', NULL)",
		NULL,
	};
	static const char *const dst_sql[] = {
		"CREATE DATABASE IF NOT EXISTS tl_conn_strict",
		"CREATE OR REPLACE TABLE tl_conn_strict.country (ID int primary key, Name char(5) NOT NULL)",
		"CREATE OR REPLACE TABLE tl_conn_strict.city (ID int primary key, n int NOT NULL)",
		"CREATE OR REPLACE TABLE tl_conn_strict.dates (ID int primary key, d date, dt datetime)",
		NULL,
	};
	tl_conn *s = NULL, *d = NULL;
	tl_error err = TL_ERROR_INIT;
	const char *const *q;
	int rc;

	if (!su || !du)
		return;
	s = open_url(su);
	d = open_url(du);
	if (!s || !d)
		goto cleanup;
	TL_CHECK_EQ_STR(query1(d, "SELECT @@sql_mode"), "NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES,ALLOW_INVALID_DATES");
	for (q = src_sql; *q; q++)
		if (run(s, *q))
			goto cleanup;
	for (q = dst_sql; *q; q++)
		if (run(d, *q))
			goto cleanup;
	/* char(52) into char(5): row 1234 of a 1500-row batch, the second INSERT statement */
	rc = copy_strict(s, d, "country", 1500, &err);
	TL_CHECK_MSG(rc == TL_ERR_MISMATCH, "too long a value: rc %d: %s", rc, err.message);
	TL_CHECK_MSG(strstr(err.message, "`tl_conn_strict`.`country`") && strstr(err.message, "column `Name`") &&
			     strstr(err.message, "key (ID)=(1234)"),
		     "message: %s", err.message);
	TL_CHECK_EQ_INT(err.native, 1406);
	fprintf(stderr, "    %s\n", err.message);
	TL_CHECK_MSG(err.flags == 0, "not transient: %s", conn_flags(&err));
	TL_CHECK_EQ_STR(query1(d, "SELECT COUNT(*) FROM tl_conn_strict.country"), "0"); /* nothing half-written */
	/* NULL into NOT NULL without default: MariaDB names no row, the driver finds it */
	rc = copy_strict(s, d, "city", 100, &err);
	TL_CHECK_MSG(rc == TL_ERR_MISMATCH && strstr(err.message, "column `n`") && strstr(err.message, "key (ID)=(7)"),
		     "NULL into NOT NULL: rc %d: %s", rc, err.message);
	TL_CHECK_EQ_INT(err.native, 1048);
	fprintf(stderr, "    %s\n", err.message);
	/* zero dates, zero-in-date and invalid dates the source holds still copy, unchanged */
	TL_CHECK_OK(copy_strict(s, d, "dates", 100, &err), &err);
	TL_CHECK_EQ_STR(query1(d, "SELECT GROUP_CONCAT(CONCAT(ID, '=', COALESCE(d, 'N'), '/', COALESCE(dt, 'N')) "
				  "ORDER BY ID SEPARATOR ' ') FROM tl_conn_strict.dates"),
			"1=0000-00-00/0000-00-00 00:00:00 2=2020-00-00/2020-02-30 10:00:00 3=2021-06-15/N");
cleanup:
	if (s)
		(void)run(s, "DROP DATABASE IF EXISTS tl_conn_strict");
	if (d)
		(void)run(d, "DROP DATABASE IF EXISTS tl_conn_strict");
	D->disconnect(s);
	D->disconnect(d);
}

TL_TEST(test_conn_mysql__durability_warning)
{
	const char *url = tl_test_require_env("TL_MYSQL_DST_URL");
	tl_conn *c = NULL;
	tl_error err = TL_ERROR_INIT;
	char *warn = NULL, flush[32];

	if (!url || !(c = open_url(url)))
		return;
	snprintf(flush, sizeof(flush), "%s", query1(c, "SELECT @@GLOBAL.innodb_flush_log_at_trx_commit"));
	/* the test servers run with innodb_flush_log_at_trx_commit=2 (tools/servers/mariadb.sh) */
	if (run(c, "SET GLOBAL innodb_flush_log_at_trx_commit = 2"))
		goto cleanup;
	TL_CHECK_OK(D->durability_warning(c, &warn, &err), &err);
	TL_CHECK_MSG(warn && strstr(warn, "innodb_flush_log_at_trx_commit=2"), "warning: %s", warn ? warn : "(none)");
	free(warn);
	warn = NULL;
	if (run(c, "SET GLOBAL innodb_flush_log_at_trx_commit = 0") == 0) {
		TL_CHECK_OK(D->durability_warning(c, &warn, &err), &err);
		TL_CHECK_MSG(warn && strstr(warn, "=0 (a crash of the server"), "warning: %s", warn ? warn : "(none)");
		free(warn);
		warn = NULL;
	}
	if (run(c, "SET GLOBAL innodb_flush_log_at_trx_commit = 1") == 0) {
		TL_CHECK_OK(D->durability_warning(c, &warn, &err), &err);
		TL_CHECK_MSG(warn == NULL, "durable server warned: %s", warn);
	}
cleanup:
	free(warn);
	if (*flush) {
		char sql[100];
		snprintf(sql, sizeof(sql), "SET GLOBAL innodb_flush_log_at_trx_commit = %s", flush);
		(void)run(c, sql);
	}
	D->disconnect(c);
}

/* write_batch of one row (id, pad) into t; returns the error code. */
static int write_one(tl_conn *c, const tl_table *t, const char *id, tl_error *err)
{
	tl_batch b;
	int rc;

	tl_batch_init(&b, 2, 1 << 20);
	rc = tl_batch_push(&b, id, strlen(id), 0, err);
	if (!rc)
		rc = tl_batch_push(&b, "p", 1, 0, err);
	if (!rc)
		rc = tl_batch_end_row(&b, err);
	if (!rc)
		rc = D->write_batch(c, t, &b, TL_WRITE_UPSERT, err);
	tl_batch_release(&b);
	return rc;
}

/* Reads r until an error or the end; returns the error code. */
static int drain(tl_reader *r, tl_error *err)
{
	tl_batch b;
	int rc = 0;

	tl_batch_init(&b, 2, 1 << 20);
	for (;;) {
		tl_batch_reset(&b);
		tl_batch_set_ncols(&b, 2);
		if ((rc = D->read_batch(r, &b, err)) || b.nrows == 0)
			break;
	}
	tl_batch_release(&b);
	return rc;
}

TL_TEST(test_conn_mysql__restart_and_freeze)
{
	int base = conn_env_port("TL_MYSQL_SRC_URL");
	struct conn_server srv = {0};
	tl_endpoint ep = {.db_type = "mysql", .app_name = "tl-conn-test", .io_timeout_secs = 2,
			  .connect_timeout_secs = 2};
	tl_conn *c = NULL, *w = NULL, *x = NULL;
	tl_table *t = NULL;
	tl_reader *r = NULL;
	tl_batch b;
	tl_error err = TL_ERROR_INIT;
	char url[128];
	double t0, took;
	int rc, i;

	if (!tl_test_require_env("TL_MYSQL_SRC_URL") || !base)
		return;
	tl_batch_init(&b, 2, 1 << 20);
	snprintf(url, sizeof(url), "mysql://root:@127.0.0.1:%d", base + 30);
	ep.url = url;
	if (conn_server_start(&srv, "mariadb", base + 30) != 0) {
		tl_test_fail(__FILE__, __LINE__, "cannot start a private MariaDB on port %d (see %s/srv-mariadb.log)",
			     base + 30, tl_test_tmpdir());
		return;
	}
	if (open_ep(&ep, &c, &err) || open_ep(&ep, &w, &err)) {
		tl_test_fail(__FILE__, __LINE__, "connect: %s", err.message);
		goto cleanup;
	}
	if (run(c, "CREATE DATABASE IF NOT EXISTS tl_conn_fault") || fill_big(c, "tl_conn_fault", 200000))
		goto cleanup;
	if (open_big_reader(c, "tl_conn_fault", &t, &r, 1000, &err)) {
		tl_test_fail(__FILE__, __LINE__, "open reader: %s", err.message);
		goto cleanup;
	}

	/* the timeout is on silence, not on duration: a slow reader of a live server is fine */
	t0 = conn_now();
	for (i = 0; i < 10; i++) {
		tl_batch_reset(&b);
		tl_batch_set_ncols(&b, 2);
		TL_CHECK_OK(D->read_batch(r, &b, &err), &err);
		TL_CHECK_EQ_INT(b.nrows, 1000);
		usleep(350000);
	}
	TL_CHECK_MSG(conn_now() - t0 > 3, "slow read took %.1f s", conn_now() - t0);

	/* frozen server: reads and writes end in a transient error within the 2 s bound */
	if (conn_server_signal(&srv, SIGSTOP)) {
		tl_test_fail(__FILE__, __LINE__, "no pid for the private server");
		goto cleanup;
	}
	t0 = conn_now();
	rc = drain(r, &err);
	took = conn_now() - t0;
	TL_CHECK_MSG(rc == TL_ERR_DB && (err.flags & LOST) == LOST, "frozen read: rc %d %s %s", rc, conn_flags(&err),
		     err.message);
	TL_CHECK_MSG(took < 2 * 2 + 2, "frozen read failed after %.1f s (bound 2 s)", took);
	D->close_reader(r);
	r = NULL;
	t0 = conn_now();
	rc = write_one(w, t, "1", &err);
	took = conn_now() - t0;
	TL_CHECK_MSG(rc == TL_ERR_DB && (err.flags & LOST) == LOST, "frozen write: rc %d %s %s", rc, conn_flags(&err),
		     err.message);
	TL_CHECK_MSG(took < 2 * 2 + 2, "frozen write failed after %.1f s (bound 2 s)", took);
	fprintf(stderr, "    frozen server: read and write gave up after %.1f s (io_timeout_secs=2)\n", took);
	t0 = conn_now();
	rc = open_ep(&ep, &x, &err);
	took = conn_now() - t0;
	TL_CHECK_MSG(rc == TL_ERR_DB && (err.flags & TL_ERRF_TRANSIENT), "connect to a frozen server: rc %d %s %s", rc,
		     conn_flags(&err), err.message);
	TL_CHECK_MSG(took < 2 * 2 + 2, "connect to a frozen server failed after %.1f s (bound 2 s)", took);
	D->disconnect(x);
	x = NULL;
	(void)conn_server_signal(&srv, SIGCONT);
	D->disconnect(c);
	D->disconnect(w);
	c = w = NULL;

	/* restart: SIGKILL, then a reader and a writer of the old server, a connect while it is down */
	D->free_table(t);
	t = NULL;
	if (open_ep(&ep, &c, &err) || open_ep(&ep, &w, &err) || open_big_reader(c, "tl_conn_fault", &t, &r, 1000, &err)) {
		tl_test_fail(__FILE__, __LINE__, "after SIGCONT: %s", err.message);
		goto cleanup;
	}
	tl_batch_reset(&b);
	tl_batch_set_ncols(&b, 2);
	TL_CHECK_OK(D->read_batch(r, &b, &err), &err);
	TL_CHECK(conn_server_crash(&srv) == 0);
	rc = drain(r, &err);
	TL_CHECK_MSG(rc == TL_ERR_DB && (err.flags & LOST) == LOST, "read from a killed server: rc %d %s %s", rc,
		     conn_flags(&err), err.message);
	rc = write_one(w, t, "2", &err);
	TL_CHECK_MSG(rc == TL_ERR_DB && (err.flags & LOST) == LOST, "write to a killed server: rc %d %s %s", rc,
		     conn_flags(&err), err.message);
	rc = open_ep(&ep, &x, &err);
	TL_CHECK_MSG(rc == TL_ERR_DB && (err.flags & LOST) == LOST && (err.native == 2002 || err.native == 2003),
		     "connect to a stopped server: rc %d %d %s %s", rc, err.native, conn_flags(&err), err.message);
	D->disconnect(x);
	x = NULL;
	if (conn_server_start(&srv, "mariadb", base + 30) != 0) {
		tl_test_fail(__FILE__, __LINE__, "cannot restart the private MariaDB");
		goto cleanup;
	}
	TL_CHECK_OK(open_ep(&ep, &x, &err), &err);
	TL_CHECK_OK(write_one(x, t, "3", &err), &err);
cleanup:
	(void)conn_server_signal(&srv, SIGCONT);
	D->close_reader(r);
	D->free_table(t);
	D->disconnect(c);
	D->disconnect(w);
	D->disconnect(x);
	conn_server_stop(&srv);
	tl_batch_release(&b);
}
