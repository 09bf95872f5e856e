/*
 * test_target_mysql.c - what the engine checks and claims on a MySQL/MariaDB target
 * (driver.h key_exists, claim, release) against the live target server
 * (TL_MYSQL_DST_URL from tools/servers.sh; skipped when unset).
 *
 * key_exists: a composite key with a binary column, a partition column without an index,
 * NULL, a value that does not fit, an unknown column and a dropped table. Claims: a second
 * connection is refused naming the holder (its connection, and its task where
 * performance_schema shows connect attributes), claiming again does not nest, several
 * claims per session, release, a holder whose process died without disconnecting (the
 * server ends its session) and a killed session, names that differ only in case and
 * names of 64 characters; on a private server with performance_schema on, the refusal
 * names the holder's task (its connect attributes). Setup SQL goes through the driver's
 * own helpers; only database tl_tgt is touched (and the private server, on the port of
 * TL_MYSQL_SRC_URL + 35).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "conn_lib.h"
#include "connectors/mysql_int.h"
#include "tideline/driver.h"
#include "tl_test.h"

#define D (&tl_driver_mysql)
#define OWNER "tideline task 't-first' (pid 4242 on test-host)"

static tl_conn *open_as(const char *url, const char *app)
{
	tl_endpoint ep = {.db_type = "mysql", .url = url, .username = "", .password = "", .app_name = app};
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL;

	if (D->connect(&ep, &c, &err) != 0) {
		tl_test_fail(__FILE__, __LINE__, "connect %s: %s", url, err.message);
		return NULL;
	}
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
	snprintf(ctx, 256, "%s", (nf && v[0]) ? v[0] : "(null)");
	return 0;
}

/* The first value a query returns, as text into out[256]. */
static void sql_text(tl_conn *c, const char *sql, char *out)
{
	tl_error err = TL_ERROR_INIT;

	snprintf(out, 256, "(none)");
	if (tl_mysql__query_text(c, sql, text_row, out, &err) != 0)
		tl_test_fail(__FILE__, __LINE__, "sql failed: %s", err.message);
}

static tl_table *describe(tl_conn *c, const char *name)
{
	tl_error err = TL_ERROR_INIT;
	tl_table *t = NULL;

	if (D->describe(c, "tl_tgt", name, &t, &err) != 0)
		tl_test_fail(__FILE__, __LINE__, "describe %s: %s", name, err.message);
	return t;
}

/* key_exists of n columns (cols[i] = vals[i]); -1 on error (err kept). */
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
	"DROP DATABASE IF EXISTS tl_tgt",
	"CREATE DATABASE tl_tgt",
	"CREATE TABLE tl_tgt.kc (a INT NOT NULL, b VARCHAR(20) NOT NULL, c VARBINARY(8) NOT NULL, v INT NULL, "
	"w DATETIME(3) NULL, PRIMARY KEY (a, b, c))",
	"INSERT INTO tl_tgt.kc VALUES (1, 'x', 0x00ff, 10, '2024-01-02 03:04:05.678'), (2, 'y', 0x01, NULL, NULL), "
	"(3, 'z\\'q', X'', 30, NULL)",
	"CREATE TABLE tl_tgt.kc2 (id INT PRIMARY KEY)",
	"CREATE TABLE tl_tgt.kc3 (id INT PRIMARY KEY)",
	"CREATE TABLE tl_tgt.Tc (id INT PRIMARY KEY)",
	"CREATE TABLE tl_tgt.tc (id INT PRIMARY KEY)",
	"CREATE TABLE tl_tgt.`a_table_name_of_sixty_four_characters_xxxxxxxxxxxxxxxxxxxxxxxx64` (id INT PRIMARY KEY)",
	NULL};

static int setup(tl_conn **c)
{
	const char *url = tl_test_require_env("TL_MYSQL_DST_URL");
	size_t i;

	*c = url ? open_as(url, "tideline-test") : NULL;
	if (!*c)
		return -1;
	for (i = 0; setup_sql[i]; i++)
		if (run(*c, setup_sql[i]))
			return -1;
	return 0;
}

TL_TEST(key_exists_composite_partition_null)
{
	const char *const abc[] = {"a", "b", "c"};
	const char *const k1[] = {"1", "x", "00ff"}, *const k1b[] = {"1", "x", "01"}, *const k3[] = {"3", "z'q", ""};
	const char *const part_col[] = {"a"}, *const two[] = {"2"}, *const four[] = {"4"};
	const char *const vcol[] = {"v"}, *const null_val[] = {NULL}, *const ten[] = {"10"};
	const char *const wcol[] = {"w"}, *const w1[] = {"2024-01-02 03:04:05.678"}, *const w2[] = {"2024-01-02 03:04:05"};
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL;
	tl_table *t = NULL;

	if (setup(&c))
		goto cleanup;
	if (!(t = describe(c, "kc")))
		goto cleanup;
	TL_CHECK_EQ_INT(exists(c, t, 3, abc, k1, &err), 1);
	TL_CHECK_EQ_INT(exists(c, t, 3, abc, k1b, &err), 0);
	TL_CHECK_EQ_INT(exists(c, t, 3, abc, k3, &err), 1); /* quote in a key, empty binary */
	/* a split table's bound: the partition column alone */
	TL_CHECK_EQ_INT(exists(c, t, 1, part_col, two, &err), 1);
	TL_CHECK_EQ_INT(exists(c, t, 1, part_col, four, &err), 0);
	/* columns without an index, NULL */
	TL_CHECK_EQ_INT(exists(c, t, 1, vcol, null_val, &err), 1);
	TL_CHECK_EQ_INT(exists(c, t, 1, vcol, ten, &err), 1);
	TL_CHECK_EQ_INT(exists(c, t, 1, wcol, w1, &err), 1);
	TL_CHECK_EQ_INT(exists(c, t, 1, wcol, w2, &err), 0);
cleanup:
	D->free_table(t);
	D->disconnect(c);
}

TL_TEST(key_exists_errors)
{
	const char *const acol[] = {"a"}, *const bad[] = {"zz"}, *const one[] = {"1"};
	const char *const nocol[] = {"nope"};
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL;
	tl_table *t = NULL;

	if (setup(&c))
		goto cleanup;
	if (!(t = describe(c, "kc")))
		goto cleanup;
	TL_CHECK_EQ_INT(exists(c, t, 1, acol, bad, &err), -1);
	TL_CHECK_EQ_INT(err.code, TL_ERR_MISMATCH);
	TL_CHECK_MSG(strstr(err.message, "zz") && strstr(err.message, "kc"), "message: %s", err.message);
	TL_CHECK_EQ_INT(exists(c, t, 1, nocol, one, &err), -1);
	TL_CHECK_EQ_INT(err.code, TL_ERR_INTERNAL);
	/* the target table dropped under the run */
	if (run(c, "DROP TABLE tl_tgt.kc"))
		goto cleanup;
	TL_CHECK_EQ_INT(exists(c, t, 1, acol, one, &err), -1);
	TL_CHECK_EQ_INT(err.code, TL_ERR_NOTFOUND);
	TL_CHECK_MSG(strstr(err.message, "`tl_tgt`.`kc`") != NULL, "message: %s", err.message);
	/* recreated empty: the key is gone */
	if (run(c, "CREATE TABLE tl_tgt.kc (a INT NOT NULL, b VARCHAR(20) NOT NULL, c VARBINARY(8) NOT NULL, "
		   "v INT NULL, w DATETIME(3) NULL, PRIMARY KEY (a, b, c))"))
		goto cleanup;
	TL_CHECK_EQ_INT(exists(c, t, 1, acol, one, &err), 0);
cleanup:
	D->free_table(t);
	D->disconnect(c);
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
	const char *url = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL, *a = NULL, *b = NULL;
	tl_table *kc = NULL, *kc2 = NULL, *kc3 = NULL;
	char ps[256], id[256], want[300];

	if (setup(&c))
		goto cleanup;
	url = getenv("TL_MYSQL_DST_URL");
	a = open_as(url, OWNER);
	b = open_as(url, "tideline task 't-second'");
	kc = describe(c, "kc");
	kc2 = describe(c, "kc2");
	kc3 = describe(c, "kc3");
	if (!a || !b || !kc || !kc2 || !kc3)
		goto cleanup;
	TL_CHECK_OK(claim(a, kc, &err), &err);
	TL_CHECK_EQ_INT(claim(b, kc, &err), TL_ERR_LOCKED);
	sql_text(a, "SELECT CONNECTION_ID()", id);
	snprintf(want, sizeof(want), "mysql connection %s of root@", id);
	TL_CHECK_MSG(strstr(err.message, "`tl_tgt`.`kc`") && strstr(err.message, want), "message: %s", err.message);
	sql_text(c, "SELECT @@performance_schema", ps);
	if (strcmp(ps, "1") == 0)
		TL_CHECK_MSG(strstr(err.message, OWNER) != NULL, "message: %s", err.message);
	else
		TL_CHECK_MSG(strstr(err.message, "performance_schema") != NULL, "message: %s", err.message);
	/* several claims per session; claiming again does not nest (one release frees it) */
	TL_CHECK_OK(claim(a, kc2, &err), &err);
	TL_CHECK_OK(claim(a, kc3, &err), &err);
	TL_CHECK_OK(claim(a, kc, &err), &err);
	TL_CHECK_EQ_INT(claim(b, kc2, &err), TL_ERR_LOCKED);
	TL_CHECK_OK(D->release(a, kc, &err), &err);
	TL_CHECK_OK(claim(b, kc, &err), &err);
	TL_CHECK_EQ_INT(claim(a, kc, &err), TL_ERR_LOCKED);
	/* releasing what one does not hold is nothing */
	TL_CHECK_OK(D->release(a, kc, &err), &err);
	TL_CHECK_EQ_INT(claim(a, kc, &err), TL_ERR_LOCKED);
	/* a disconnect ends every claim of the session */
	D->disconnect(a);
	a = NULL;
	TL_CHECK_OK(claim_within(b, kc2, 10, &err), &err);
	TL_CHECK_OK(claim(b, kc3, &err), &err);
cleanup:
	D->free_table(kc);
	D->free_table(kc2);
	D->free_table(kc3);
	D->disconnect(a);
	D->disconnect(b);
	D->disconnect(c);
}

TL_TEST(claim_of_a_dead_holder_ends)
{
	const char *url = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL, *a = NULL, *b = NULL;
	tl_table *kc = NULL;
	int fds[2] = {-1, -1}, status = 0;
	char byte = 0, id[256], kill_sql[300];
	pid_t child;

	if (setup(&c))
		goto cleanup;
	url = getenv("TL_MYSQL_DST_URL");
	b = open_as(url, "tideline task 't-second'");
	if (!b || !(kc = describe(c, "kc")) || pipe(fds) != 0)
		goto cleanup;
	/* a process that claims and dies without closing its connection (as SIGKILL would) */
	child = fork();
	if (child == 0) {
		tl_conn *x = open_as(url, OWNER);
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
	/* a session killed on the server (a DBA's KILL) loses its claims too */
	TL_CHECK_OK(D->release(b, kc, &err), &err);
	if (!(a = open_as(url, OWNER)))
		goto cleanup;
	TL_CHECK_OK(claim(a, kc, &err), &err);
	sql_text(a, "SELECT CONNECTION_ID()", id);
	snprintf(kill_sql, sizeof(kill_sql), "KILL %s", id);
	if (run(c, kill_sql))
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
	D->disconnect(c);
}

TL_TEST(claim_names_case_and_length)
{
	const char *url = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL, *a = NULL, *b = NULL;
	tl_table *upper = NULL, *lower = NULL, *longest = NULL;

	if (setup(&c))
		goto cleanup;
	url = getenv("TL_MYSQL_DST_URL");
	a = open_as(url, OWNER);
	b = open_as(url, "tideline task 't-second'");
	upper = describe(c, "Tc");
	lower = describe(c, "tc");
	longest = describe(c, "a_table_name_of_sixty_four_characters_xxxxxxxxxxxxxxxxxxxxxxxx64");
	if (!a || !b || !upper || !lower || !longest)
		goto cleanup;
	/* two tables whose names differ in case are two claims */
	TL_CHECK_OK(claim(a, upper, &err), &err);
	TL_CHECK_OK(claim(b, lower, &err), &err);
	TL_CHECK_EQ_INT(claim(b, upper, &err), TL_ERR_LOCKED);
	/* a name longer than the server's lock names still is one claim */
	TL_CHECK_OK(claim(a, longest, &err), &err);
	TL_CHECK_EQ_INT(claim(b, longest, &err), TL_ERR_LOCKED);
cleanup:
	D->free_table(upper);
	D->free_table(lower);
	D->free_table(longest);
	D->disconnect(a);
	D->disconnect(b);
	D->disconnect(c);
}

TL_TEST(claim_names_the_task_with_performance_schema)
{
	struct conn_server srv = {0};
	char url[128];
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL, *a = NULL, *b = NULL;
	tl_table *kc = NULL;
	int base = conn_env_port("TL_MYSQL_SRC_URL");

	if (!tl_test_require_env("TL_MYSQL_SRC_URL") || base <= 0)
		return;
	setenv("TL_MARIADB_ARGS", "--performance-schema=ON", 1);
	if (conn_server_start(&srv, "mariadb", base + 35) != 0) {
		tl_test_fail(__FILE__, __LINE__, "cannot start a private mariadb (see %s/srv-mariadb.log)", tl_test_tmpdir());
		goto cleanup;
	}
	snprintf(url, sizeof(url), "mysql://root:@127.0.0.1:%d", base + 35);
	c = open_as(url, "tideline-test");
	a = open_as(url, OWNER);
	b = open_as(url, "tideline task 't-second'");
	if (!c || !a || !b || run(c, "CREATE DATABASE tl_tgt") || run(c, "CREATE TABLE tl_tgt.kc (id INT PRIMARY KEY)"))
		goto cleanup;
	if (!(kc = describe(c, "kc")))
		goto cleanup;
	TL_CHECK_OK(claim(a, kc, &err), &err);
	TL_CHECK_EQ_INT(claim(b, kc, &err), TL_ERR_LOCKED);
	TL_CHECK_MSG(strstr(err.message, "'" OWNER "' (client pid ") != NULL, "message: %s", err.message);
cleanup:
	D->free_table(kc);
	D->disconnect(a);
	D->disconnect(b);
	D->disconnect(c);
	conn_server_stop(&srv);
	unsetenv("TL_MARIADB_ARGS");
}
