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
 * names the holder's task (its connect attributes). The claim scenarios both SQL kinds
 * share are target_lib.h's (a KILL ends a session here). Setup SQL goes through the
 * driver's own helpers; only database tl_tgt is touched (and the private server, on the
 * port of TL_MYSQL_SRC_URL + 35).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "conn_lib.h"
#include "connectors/mysql_int.h"
#include "target_lib.h"
#include "tideline/driver.h"
#include "tl_test.h"

#define OWNER TGT_OWNER

/* The kind for target_lib.h (url and callbacks are set where a scenario needs them). */
static int run(void *c, const char *sql);
static const struct tgt_kind KIND = {.d = &tl_driver_mysql, .db_type = "mysql", .run = run};
#define D (&tl_driver_mysql)

/* Runs setup SQL through the driver's own helper on c (a tl_conn). */
static int run(void *c, const char *sql)
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

	*c = url ? tgt_open(&KIND, url, "tideline-test") : NULL;
	if (!*c)
		return -1;
	for (i = 0; setup_sql[i]; i++)
		if (run(*c, setup_sql[i]))
			return -1;
	return 0;
}

TL_TEST(key_exists_composite_partition_null)
{
	tl_conn *c = NULL;
	tl_table *t = NULL;

	if (setup(&c))
		goto cleanup;
	if ((t = tgt_describe(&KIND, c, "tl_tgt", "kc")) != NULL)
		tgt_check_exists_found(&KIND, c, t, "2024-01-02 03:04:05.678", "2024-01-02 03:04:05");
cleanup:
	D->free_table(t);
	D->disconnect(c);
}

TL_TEST(key_exists_errors)
{
	struct tgt_kind k = KIND;
	tl_conn *c = NULL;
	tl_table *t = NULL;

	if (setup(&c))
		goto cleanup;
	k.ctx = c;
	if ((t = tgt_describe(&k, c, "tl_tgt", "kc")) != NULL)
		tgt_check_exists_errors(&k, c, t, "`tl_tgt`.`kc`",
					"CREATE TABLE tl_tgt.kc (a INT NOT NULL, b VARCHAR(20) NOT NULL, c VARBINARY(8) NOT "
					"NULL, v INT NULL, w DATETIME(3) NULL, PRIMARY KEY (a, b, c))");
cleanup:
	D->free_table(t);
	D->disconnect(c);
}

/* KILL of a's session, from c (the test's own connection): what a DBA would do. */
static int kill_session(void *ctx, tl_conn *a)
{
	char id[256], kill_sql[300];

	sql_text(a, "SELECT CONNECTION_ID()", id);
	snprintf(kill_sql, sizeof(kill_sql), "KILL %s", id);
	return run(ctx, kill_sql);
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
	a = tgt_open(&KIND, url, OWNER);
	b = tgt_open(&KIND, url, TGT_SECOND);
	kc = tgt_describe(&KIND, c, "tl_tgt", "kc");
	kc2 = tgt_describe(&KIND, c, "tl_tgt", "kc2");
	kc3 = tgt_describe(&KIND, c, "tl_tgt", "kc3");
	if (!a || !b || !kc || !kc2 || !kc3)
		goto cleanup;
	TL_CHECK_OK(tgt_claim(&KIND, a, kc, &err), &err);
	TL_CHECK_EQ_INT(tgt_claim(&KIND, b, kc, &err), TL_ERR_LOCKED);
	sql_text(a, "SELECT CONNECTION_ID()", id);
	snprintf(want, sizeof(want), "mysql connection %s of root@", id);
	TL_CHECK_MSG(strstr(err.message, "`tl_tgt`.`kc`") && strstr(err.message, want), "message: %s", err.message);
	sql_text(c, "SELECT @@performance_schema", ps);
	if (strcmp(ps, "1") == 0)
		TL_CHECK_MSG(strstr(err.message, OWNER) != NULL, "message: %s", err.message);
	else
		TL_CHECK_MSG(strstr(err.message, "performance_schema") != NULL, "message: %s", err.message);
	/* several claims per session, no nesting, release, disconnect */
	tgt_check_session_claims(&KIND, &a, b, kc, kc2, kc3);
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
	struct tgt_kind k = KIND;
	tl_conn *c = NULL, *b = NULL;
	tl_table *kc = NULL;

	if (setup(&c))
		goto cleanup;
	k.url = getenv("TL_MYSQL_DST_URL");
	k.ctx = c;
	k.end_session = kill_session;
	b = tgt_open(&k, k.url, TGT_SECOND);
	if (b && (kc = tgt_describe(&k, c, "tl_tgt", "kc")) != NULL)
		tgt_check_dead_holder(&k, OWNER, b, kc);
cleanup:
	D->free_table(kc);
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
	a = tgt_open(&KIND, url, OWNER);
	b = tgt_open(&KIND, url, TGT_SECOND);
	upper = tgt_describe(&KIND, c, "tl_tgt", "Tc");
	lower = tgt_describe(&KIND, c, "tl_tgt", "tc");
	longest = tgt_describe(&KIND, c, "tl_tgt", "a_table_name_of_sixty_four_characters_xxxxxxxxxxxxxxxxxxxxxxxx64");
	if (!a || !b || !upper || !lower || !longest)
		goto cleanup;
	/* two tables whose names differ in case are two claims */
	TL_CHECK_OK(tgt_claim(&KIND, a, upper, &err), &err);
	TL_CHECK_OK(tgt_claim(&KIND, b, lower, &err), &err);
	TL_CHECK_EQ_INT(tgt_claim(&KIND, b, upper, &err), TL_ERR_LOCKED);
	/* a name longer than the server's lock names still is one claim */
	TL_CHECK_OK(tgt_claim(&KIND, a, longest, &err), &err);
	TL_CHECK_EQ_INT(tgt_claim(&KIND, b, longest, &err), TL_ERR_LOCKED);
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
	c = tgt_open(&KIND, url, "tideline-test");
	a = tgt_open(&KIND, url, OWNER);
	b = tgt_open(&KIND, url, TGT_SECOND);
	if (!c || !a || !b || run(c, "CREATE DATABASE tl_tgt") || run(c, "CREATE TABLE tl_tgt.kc (id INT PRIMARY KEY)"))
		goto cleanup;
	if (!(kc = tgt_describe(&KIND, c, "tl_tgt", "kc")))
		goto cleanup;
	TL_CHECK_OK(tgt_claim(&KIND, a, kc, &err), &err);
	TL_CHECK_EQ_INT(tgt_claim(&KIND, b, kc, &err), TL_ERR_LOCKED);
	TL_CHECK_MSG(strstr(err.message, "'" OWNER "' (client pid ") != NULL, "message: %s", err.message);
cleanup:
	D->free_table(kc);
	D->disconnect(a);
	D->disconnect(b);
	D->disconnect(c);
	conn_server_stop(&srv);
	unsetenv("TL_MARIADB_ARGS");
}
