/*
 * test_mysql_driver.c - the MySQL connector against two live MariaDB servers
 * (TL_MYSQL_SRC_URL, TL_MYSQL_DST_URL from tools/servers.sh; skipped when unset).
 *
 * Copies tables of every type through read_batch/write_batch (reopening the keyed
 * reader after each batch, i.e. resuming every time) and compares both sides with a
 * SHA-256 of `SELECT * ... ORDER BY` taken by the mariadb CLI (independent of the
 * driver) and with the driver's checksum. Also: hostile names, composite/binary/NULL
 * keys, split bounds, upserts, mismatch errors, target checks, the ape-dts store,
 * connection errors, and describe_many giving what describe gives. It must not touch databases other than the ones it creates
 * (tl_t_*, and the conformance fixture's test_db_1 / test_db_@).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tideline/batch.h"
#include "tideline/driver.h"
#include "connectors/mysql_int.h"
#include "tl_test.h"

#define D (&tl_driver_mysql)

static tl_conn *open_url(const char *url, tl_error *err)
{
	tl_endpoint ep = {.db_type = "mysql", .url = url, .username = "", .password = "", .app_name = "tideline-test"};
	tl_conn *c = NULL;

	if (D->connect(&ep, &c, err) != 0) {
		tl_test_fail(__FILE__, __LINE__, "connect %s: %s", url, err->message);
		return NULL;
	}
	return c;
}

/* Opens source and target; returns 0 (test should return) when skipped or failed. */
static int open_pair(tl_conn **s, tl_conn **d)
{
	tl_error err = TL_ERROR_INIT;
	const char *su = tl_test_require_env("TL_MYSQL_SRC_URL");
	const char *du = su ? tl_test_require_env("TL_MYSQL_DST_URL") : NULL;

	*s = *d = NULL;
	if (!su || !du)
		return 0;
	*s = open_url(su, &err);
	*d = *s ? open_url(du, &err) : NULL;
	if (!*s || !*d) {
		D->disconnect(*s);
		*s = NULL;
		return 0;
	}
	return 1;
}

static void close_pair(tl_conn *s, tl_conn *d)
{
	D->disconnect(s);
	D->disconnect(d);
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

static int run_all(tl_conn *c, const char *const *sqls)
{
	for (; *sqls; sqls++)
		if (run(c, *sqls))
			return -1;
	return 0;
}

static int count_row(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	*(long long *)ctx = (nf && v[0]) ? strtoll(v[0], NULL, 10) : -1;
	return 0;
}

static int first_text(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	snprintf(ctx, 1024, "%s", (nf && v[0]) ? v[0] : "(null)");
	return 0;
}

/* The single number a query returns, -1 on failure. */
static long long sql_count(tl_conn *c, const char *sql)
{
	tl_error err = TL_ERROR_INIT;
	long long n = -1;

	if (tl_mysql__query_text(c, sql, count_row, &n, &err) != 0)
		tl_test_fail(__FILE__, __LINE__, "sql failed: %s", err.message);
	return n;
}

/* SHA-256 of `sql` run by the mariadb CLI against url (independent of the driver). */
static int cli_sha(const char *url, const char *sql, char out[80])
{
	tl_error err = TL_ERROR_INIT;
	tl_url u;
	char path[4200], cmd[8600];
	FILE *f;
	int ok = -1;

	out[0] = '\0';
	if (tl_url_parse(url, &u, &err))
		return -1;
	snprintf(path, sizeof(path), "%s/q.sql", tl_test_tmpdir());
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "%s;\n", sql);
		fclose(f);
		snprintf(cmd, sizeof(cmd),
			 "mariadb --no-defaults --protocol=TCP -h%s -P%d -u%s --default-character-set=utf8mb4 "
			 "-N -B --raw < '%s' | sha256sum",
			 u.host, u.port ? u.port : 3306, u.user ? u.user : "root", path);
		f = popen(cmd, "r");
		if (f) {
			if (fgets(out, 80, f) && strlen(out) > 64) {
				out[64] = '\0';
				ok = 0;
			}
			if (pclose(f) != 0)
				ok = -1;
		}
	}
	tl_url_clear(&u);
	return ok;
}

/* Compares one table on both servers by CLI dump, count and driver checksum. */
static void compare_table(tl_conn *s, tl_conn *d, const char *schema, const char *name, const char *file, int line)
{
	tl_error err = TL_ERROR_INIT;
	tl_table *t = NULL;
	tl_buf q = TL_BUF_INIT;
	char h1[80], h2[80];
	int64_t n1 = -1, n2 = -2, c1 = 0, c2 = 0;
	uint64_t s1 = 1, s2 = 2;
	size_t i;

	if (D->describe(s, schema, name, &t, &err)) {
		tl_test_fail(file, line, "describe %s.%s: %s", schema, name, err.message);
		return;
	}
	if (tl_buf_printf(&q, &err, "SELECT * FROM %s ORDER BY ", tl_mysql__qname(t)))
		goto cleanup;
	for (i = 0; i < t->ncols; i++)
		if (tl_buf_printf(&q, &err, "%s%zu", i ? "," : "", i + 1))
			goto cleanup;
	if (cli_sha(getenv("TL_MYSQL_SRC_URL"), q.data, h1) || cli_sha(getenv("TL_MYSQL_DST_URL"), q.data, h2))
		tl_test_fail(file, line, "mariadb CLI dump of %s failed", tl_mysql__qname(t));
	else if (strcmp(h1, h2) != 0)
		tl_test_fail(file, line, "contents of %s differ (sha %s vs %s)", tl_mysql__qname(t), h1, h2);
	if (D->count_rows(s, t, &n1, &err) || D->count_rows(d, t, &n2, &err) || n1 != n2)
		tl_test_fail(file, line, "row counts of %s: %lld vs %lld %s", tl_mysql__qname(t), (long long)n1,
			     (long long)n2, err.message);
	if (D->checksum(s, t, NULL, NULL, &c1, &s1, &err) || D->checksum(d, t, NULL, NULL, &c2, &s2, &err))
		tl_test_fail(file, line, "checksum of %s: %s", tl_mysql__qname(t), err.message);
	else if (c1 != c2 || s1 != s2 || c1 != n1)
		tl_test_fail(file, line, "checksums of %s differ: %lld/%llu vs %lld/%llu", tl_mysql__qname(t),
			     (long long)c1, (unsigned long long)s1, (long long)c2, (unsigned long long)s2);
cleanup:
	tl_buf_release(&q);
	D->free_table(t);
}
#define COMPARE(s, d, schema, name) compare_table(s, d, schema, name, __FILE__, __LINE__)

/*
 * Copies a table the way the migrator does: keyed tables in key order, reopening the
 * reader after every batch from the last row's key (so every batch is a resume), then
 * the NULL pass; keyless tables by one scan.
 */
static int copy_table(tl_conn *s, tl_conn *d, const char *schema, const char *name, size_t batch_rows,
		      unsigned flags, int64_t *copied, tl_error *err)
{
	tl_table *t = NULL;
	tl_reader *r = NULL;
	tl_batch b;
	tl_keyvals last = {0, NULL, NULL};
	int rc, is_empty = 0, have_after = 0, pass;
	size_t i;

	*copied = 0;
	tl_batch_init(&b, 1, 1 << 20);
	rc = D->describe(s, schema, name, &t, err);
	if (rc)
		goto cleanup;
	rc = D->check_target(d, t, &is_empty, err);
	if (rc)
		goto cleanup;
	tl_batch_set_ncols(&b, t->ncols);
	for (pass = 0; pass < 2; pass++) {
		tl_read_spec spec = {TL_READ_SCAN, NULL, NULL, NULL, batch_rows, NULL, 0};
		if (t->nkeys == 0 && pass == 1)
			break;
		if (t->nkeys && pass == 0)
			spec.mode = TL_READ_KEYED;
		if (pass == 1) {
			int nullable = 0;
			for (i = 0; i < t->nkeys; i++)
				nullable |= t->cols[t->key_idx[i]].nullable;
			if (!nullable)
				break;
			spec.mode = TL_READ_KEY_NULLS;
		}
		for (;;) {
			if (!r) {
				spec.after = (pass == 0 && have_after) ? &last : NULL;
				rc = D->open_reader(s, t, &spec, &r, err);
				if (rc)
					goto cleanup;
			}
			tl_batch_reset(&b);
			rc = D->read_batch(r, &b, err);
			if (rc)
				goto cleanup;
			if (b.nrows == 0)
				break;
			rc = D->write_batch(d, t, &b, flags, err);
			if (rc)
				goto cleanup;
			*copied += (int64_t)b.nrows;
			if (spec.mode == TL_READ_KEYED) {
				rc = D->row_key(t, &b, b.nrows - 1, t->key_idx, t->nkeys, &last, err);
				if (rc)
					goto cleanup;
				have_after = 1;
				D->close_reader(r);
				r = NULL;
			}
		}
		D->close_reader(r);
		r = NULL;
	}
cleanup:
	D->close_reader(r);
	tl_keyvals_clear(&last);
	tl_batch_release(&b);
	D->free_table(t);
	return rc;
}

/* ---- fixtures ---------------------------------------------------------------------------- */

static const char *const types_ddl[] = {
	"DROP DATABASE IF EXISTS tl_t_types",
	"CREATE DATABASE tl_t_types",
	"CREATE TABLE tl_t_types.all_types (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, "
	"ti tinyint, tiu tinyint unsigned, si smallint, siu smallint unsigned, mi mediumint, "
	"miu mediumint unsigned, i int, iu int unsigned, bi bigint, biu bigint unsigned, "
	"dc decimal(10,4), dcl decimal(65,30), f float(6,2), d double(8,3), dd double, "
	"b1 bit(1), b64 bit(64), dt datetime(6), dt0 datetime, tm time(6), dte date, yr year, "
	"ts timestamp(6) NULL DEFAULT NULL, c char(255), vc varchar(255), tt tinytext, tx text, "
	"mt mediumtext, lt longtext, bn binary(255), vb varbinary(255), tb tinyblob, bl blob, "
	"mb mediumblob, lb longblob, en enum('x-small','small','medium','large','x-large'), "
	"st set('a','b','c','d','e'), js json, fl float, fu float unsigned) DEFAULT CHARSET=utf8mb4",
	"CREATE TABLE tl_t_types.gb (id int PRIMARY KEY, s varchar(50), t text, b blob) DEFAULT CHARSET=gb2312",
	"CREATE TABLE tl_t_types.keyonly (a int NOT NULL, b varchar(10) NOT NULL, PRIMARY KEY (a, b))",
	"CREATE TABLE tl_t_types.nokey (a int, b varchar(10))",
	"CREATE TABLE tl_t_types.gen (id int PRIMARY KEY, a int, g int AS (a * 2) VIRTUAL, "
	"s int AS (a + 1) STORED, ts timestamp(3) DEFAULT CURRENT_TIMESTAMP(3))",
	NULL};

static const char *const types_rows[] = {
	"INSERT INTO tl_t_types.all_types VALUES (1, -128, 255, -32768, 65535, -8388608, 16777215, "
	"-2147483648, 4294967295, -9223372036854775808, 18446744073709551615, -123456.1234, "
	"12345678901234567890123456789012345.123456789012345678901234567890, -1234.12, -12345.123, "
	"2.2250738585072014e-308, b'1', b'1111111111111111111111111111111111111111111111111111111111111111', "
	"'9999-12-31 23:59:59.999999', '0000-00-00 00:00:00', '-838:59:59.000000', '0000-00-00', 1901, "
	"'2038-01-19 03:14:07.999999', 'ab  ', 'cd \\\\ '' \" `', '', 'tab\\tnl\\n', 'x', 'y', "
	"x'00ff0000', x'', x'00', x'0123456789ABCDEF', x'', x'ff', 'x-large', 'a,c,e', "
	"'{\"k\": [1, 2.5, \"\\\\u00e9\"]}', 3.4028234e38, 1.17549435e-38)",
	"INSERT INTO tl_t_types.all_types VALUES (2, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0, "
	"9223372036854775807, 0, 123456.1234, 0.000000000000000000000000000001, 1234.12, 12345.123, "
	"1.7976931348623157e308, b'0', b'0', '1000-01-01 00:00:00.000001', '2022-01-02 03:04:05', "
	"'838:59:59.999999', '1000-01-01', 2155, '1970-01-01 00:00:01.000000', '\xf0\x9f\x98\x80 emoji', "
	"'\xe4\xbd\xa0\xe5\xa5\xbd', 'z', 'long', 'm', 'l', 'ef', 'gh', 'ij', 'kl', 'mn', 'op', 'small', '', "
	"'null', -1.2345678, 0.1)",
	"INSERT INTO tl_t_types.all_types (id) VALUES (3)",
	"INSERT INTO tl_t_types.all_types (id, dd, f, d, bn) VALUES (4, 0.1, 0.01, 0.001, NULL), "
	"(5, -0.30000000000000004, 99.99, -0.5, x'41')",
	"INSERT INTO tl_t_types.gb VALUES (1, CONVERT('\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c' USING gb2312), "
	"'\xe4\xb8\xad\xe6\x96\x87', CONVERT('\xe4\xbd\xa0\xe5\xa5\xbd' USING gb2312)), (2, 'ascii', NULL, x'c4e3')",
	"INSERT INTO tl_t_types.keyonly VALUES (1, 'a'), (1, 'b'), (2, 'a')",
	"INSERT INTO tl_t_types.nokey VALUES (1, 'a'), (1, 'a'), (NULL, NULL), (2, NULL)",
	"INSERT INTO tl_t_types.gen (id, a, ts) VALUES (1, 10, '2001-02-03 04:05:06.789'), (2, NULL, NULL)",
	NULL};

TL_TEST(test_connect_errors)
{
	tl_error err = TL_ERROR_INIT;
	const char *su = tl_test_require_env("TL_MYSQL_SRC_URL");
	tl_endpoint ep = {.db_type = "mysql", .url = NULL, .username = "root", .password = "s3cret-Pa55",
			  .app_name = "tideline-test"};
	tl_url u;
	char url[512];
	tl_conn *c = NULL;

	if (!su)
		return;
	TL_CHECK_OK(tl_url_parse(su, &u, &err), &err);
	snprintf(url, sizeof(url), "mysql://root:other-s3cret@%s:%d", u.host, u.port);
	ep.url = url;
	TL_CHECK_EQ_INT(D->connect(&ep, &c, &err), TL_ERR_DB);
	TL_CHECK(c == NULL);
	TL_CHECK_MSG(strncmp(err.message, "cannot connect to mysql at ", 27) == 0, "message: %s", err.message);
	TL_CHECK_MSG(strstr(err.message, "s3cret") == NULL, "password leaked: %s", err.message);
	TL_CHECK_MSG(strstr(err.message, "Access denied") != NULL, "message: %s", err.message);
	TL_CHECK_EQ_INT(err.native, 1045);

	snprintf(url, sizeof(url), "mysql://root:s3cret-Pa55@127.0.0.1:1");
	ep.password = "";
	TL_CHECK_EQ_INT(D->connect(&ep, &c, &err), TL_ERR_DB);
	TL_CHECK_MSG(strncmp(err.message, "cannot connect to mysql at 127.0.0.1:1: ", 40) == 0, "message: %s",
		     err.message);
	TL_CHECK_MSG(strstr(err.message, "s3cret") == NULL, "password leaked: %s", err.message);
	tl_url_clear(&u);
}

TL_TEST(test_types_roundtrip)
{
	tl_error err = TL_ERROR_INIT;
	tl_conn *s, *d;
	tl_table *t = NULL;
	int64_t n = 0;
	static const char *const tables[] = {"all_types", "gb", "keyonly", "nokey", "gen", NULL};
	size_t i;

	if (!open_pair(&s, &d))
		return;
	if (run_all(s, types_ddl) || run_all(d, types_ddl) || run_all(s, types_rows))
		goto cleanup;

	/* describe: kinds, key, estimate */
	TL_CHECK_OK(D->describe(s, "tl_t_types", "all_types", &t, &err), &err);
	TL_CHECK_EQ_INT(t->ncols, 41);
	TL_CHECK_EQ_INT(t->key_kind, TL_KEYK_PRIMARY);
	TL_CHECK_EQ_INT(t->nkeys, 1);
	TL_CHECK_EQ_STR(t->cols[t->key_idx[0]].name, "id");
	TL_CHECK_EQ_INT(t->cols[1].kind, TL_COL_INT);
	TL_CHECK_EQ_INT(t->cols[2].kind, TL_COL_UINT);
	TL_CHECK_EQ_INT(t->cols[11].kind, TL_COL_DECIMAL);
	TL_CHECK_EQ_INT(t->cols[13].kind, TL_COL_FLOAT);
	TL_CHECK_EQ_INT(t->cols[17].kind, TL_COL_BIT);
	TL_CHECK_EQ_INT(t->cols[18].kind, TL_COL_DATE);
	TL_CHECK_EQ_INT(t->cols[24].kind, TL_COL_TEXT);
	TL_CHECK_EQ_INT(t->cols[30].kind, TL_COL_BINARY);
	TL_CHECK_EQ_INT(t->cols[36].kind, TL_COL_TEXT);
	TL_CHECK_EQ_STR(t->cols[10].type, "bigint(20) unsigned");
	TL_CHECK(t->cols[1].nullable);
	TL_CHECK(!t->cols[0].nullable);
	D->free_table(t);
	t = NULL;

	for (i = 0; tables[i]; i++) {
		err.message[0] = '\0';
		if (copy_table(s, d, "tl_t_types", tables[i], 2, TL_WRITE_UPSERT, &n, &err))
			tl_test_fail(__FILE__, __LINE__, "copy %s: %s", tables[i], err.message);
		COMPARE(s, d, "tl_t_types", tables[i]);
	}
	/* text dumps hide lossy float text: compare the exact values */
	{
		static const char *const q = "SELECT GROUP_CONCAT(CAST(fl AS DOUBLE), '/', CAST(fu AS DOUBLE), '/', dd "
					     "ORDER BY id) FROM tl_t_types.all_types";
		char a[1024] = "", z[1024] = "";
		TL_CHECK_OK(tl_mysql__query_text(s, q, first_text, a, &err), &err);
		TL_CHECK_OK(tl_mysql__query_text(d, q, first_text, z, &err), &err);
		TL_CHECK_EQ_STR(z, a);
		TL_CHECK(strstr(a, "3.4028234663852886e38/") != NULL);
	}
cleanup:
	close_pair(s, d);
}

/* Loads the v2.0.26 MySQL fixture and copies every table of it. */
TL_TEST(test_conformance_fixture_copy)
{
	tl_error err = TL_ERROR_INIT;
	const char *conf, *fixtures[] = {"resume_db_test", "parallel_resume_db_test", NULL};
	tl_name_list names = {0, NULL};
	tl_conn *s, *d;
	char cmd[8192];
	int64_t n;
	size_t i, f, ntables;

	if (!open_pair(&s, &d))
		return;
	conf = tl_test_conformance_dir();
	if (!conf) {
		fprintf(stderr, "    (no shared conformance directory; fixture copy not run)\n");
		goto cleanup;
	}
	for (f = 0; fixtures[f]; f++) {
		snprintf(cmd, sizeof(cmd),
			 "python3 %s/../tools/sqlrun.py --kind mysql --url '%s' %s/v2.0.26/mysql/%s/src_prepare.sql "
			 "%s/v2.0.26/mysql/%s/src_test.sql >/dev/null && "
			 "python3 %s/../tools/sqlrun.py --kind mysql --url '%s' %s/v2.0.26/mysql/%s/dst_prepare.sql >/dev/null",
			 tl_test_srcdir(), getenv("TL_MYSQL_SRC_URL"), conf, fixtures[f], conf, fixtures[f],
			 tl_test_srcdir(), getenv("TL_MYSQL_DST_URL"), conf, fixtures[f]);
		if (system(cmd) != 0) {
			tl_test_fail(__FILE__, __LINE__, "loading fixture %s failed", fixtures[f]);
			goto cleanup;
		}
		TL_CHECK_OK(D->list_tables(s, &names, &err), &err);
		ntables = 0;
		for (i = 0; i < names.n; i++) {
			if (strcmp(names.items[i].schema, "test_db_1") != 0 && strcmp(names.items[i].schema, "test_db_@") != 0)
				continue;
			if (i > 0 && strcmp(names.items[i - 1].schema, names.items[i].schema) == 0)
				TL_CHECK(strcmp(names.items[i - 1].name, names.items[i].name) < 0);
			ntables++;
			err.message[0] = '\0';
			if (copy_table(s, d, names.items[i].schema, names.items[i].name, 3, TL_WRITE_UPSERT, &n, &err)) {
				tl_test_fail(__FILE__, __LINE__, "copy %s.%s: %s", names.items[i].schema, names.items[i].name,
					     err.message);
				continue;
			}
			COMPARE(s, d, names.items[i].schema, names.items[i].name);
		}
		TL_CHECK(ntables >= 10);
		tl_name_list_clear(&names);
	}
cleanup:
	tl_name_list_clear(&names);
	close_pair(s, d);
}

TL_TEST(test_key_choice)
{
	tl_error err = TL_ERROR_INIT;
	static const char *const ddl[] = {
		"DROP DATABASE IF EXISTS tl_t_keys",
		"CREATE DATABASE tl_t_keys",
		"CREATE TABLE tl_t_keys.nn (a int, b int NOT NULL, c int NOT NULL, d int NOT NULL, "
		"UNIQUE KEY z_one (a), UNIQUE KEY y_two (b, c), UNIQUE KEY x_two (c, d))",
		"CREATE TABLE tl_t_keys.nul (a int, b int, c int NOT NULL, UNIQUE KEY k2 (a, b), UNIQUE KEY k3 (a, b, c))",
		"CREATE TABLE tl_t_keys.none (a int, b int, KEY (a))",
		"CREATE TABLE tl_t_keys.pk (a int, b int NOT NULL, UNIQUE KEY (b), PRIMARY KEY (a))",
		NULL};
	tl_conn *s, *d;
	tl_table *t = NULL;
	tl_buf q = TL_BUF_INIT;

	if (!open_pair(&s, &d))
		return;
	if (run_all(s, ddl))
		goto cleanup;
	TL_CHECK_OK(D->describe(s, "tl_t_keys", "nn", &t, &err), &err);
	TL_CHECK_EQ_INT(t->key_kind, TL_KEYK_UNIQUE);
	TL_CHECK_EQ_INT(t->nkeys, 2); /* x_two beats y_two: same width, smaller name */
	TL_CHECK_EQ_STR(t->cols[t->key_idx[0]].name, "c");
	TL_CHECK_EQ_STR(t->cols[t->key_idx[1]].name, "d");
	TL_CHECK_EQ_INT(t->part_idx, 2);
	D->free_table(t);
	TL_CHECK_OK(D->describe(s, "tl_t_keys", "nul", &t, &err), &err);
	TL_CHECK_EQ_INT(t->key_kind, TL_KEYK_UNIQUE_NULLABLE);
	TL_CHECK_EQ_INT(t->nkeys, 2);
	D->free_table(t);
	TL_CHECK_OK(D->describe(s, "tl_t_keys", "none", &t, &err), &err);
	TL_CHECK_EQ_INT(t->key_kind, TL_KEYK_NONE);
	TL_CHECK_EQ_INT(t->nkeys, 0);
	TL_CHECK_EQ_INT(t->part_idx, 0);
	D->free_table(t);
	TL_CHECK_OK(D->describe(s, "tl_t_keys", "pk", &t, &err), &err);
	TL_CHECK_EQ_INT(t->key_kind, TL_KEYK_PRIMARY);
	TL_CHECK_EQ_STR(t->cols[t->key_idx[0]].name, "a");
	D->free_table(t);
	t = NULL;
	TL_CHECK_EQ_INT(D->describe(s, "tl_t_keys", "missing", &t, &err), TL_ERR_NOTFOUND);
	TL_CHECK_EQ_STR(err.message, "table `tl_t_keys`.`missing` does not exist");
	TL_CHECK(t == NULL);
	(void)run(s, "DROP DATABASE tl_t_keys");
cleanup:
	tl_buf_release(&q);
	close_pair(s, d);
}

TL_TEST(test_hostile_names)
{
	tl_error err = TL_ERROR_INIT;
	static const char *const ddl[] = {
		"DROP DATABASE IF EXISTS `tl_t_@*$`",
		"CREATE DATABASE `tl_t_@*$`",
		"CREATE TABLE `tl_t_@*$`.`resume_table_*$4` (`p.k` serial, val numeric(20,8), PRIMARY KEY (`p.k`))",
		"CREATE TABLE `tl_t_@*$`.```a``; DROP TABLE x; --``` (```c``` int PRIMARY KEY, `it's \"q\"` varchar(20))",
		NULL};
	static const char *const rows[] = {
		"INSERT INTO `tl_t_@*$`.`resume_table_*$4` (val) VALUES (1.5), (2.25), (3), (4), (5)",
		"INSERT INTO `tl_t_@*$`.```a``; DROP TABLE x; --``` VALUES (1, 'x''y'), (2, '`'), (3, NULL)",
		NULL};
	const char *hostile = "`a`; DROP TABLE x; --`";
	tl_conn *s, *d;
	tl_name_list names = {0, NULL};
	tl_table *t = NULL;
	tl_reader *r = NULL;
	tl_batch b;
	tl_keyvals after = {0, NULL, NULL};
	const char *kc[] = {"p.k"}, *kv[] = {"abc"};
	int64_t n = 0;
	size_t i;
	int found = 0;

	tl_batch_init(&b, 1, 1 << 20);
	if (!open_pair(&s, &d))
		goto cleanup;
	if (run_all(s, ddl) || run_all(d, ddl) || run_all(s, rows))
		goto cleanup;
	TL_CHECK_OK(D->list_tables(s, &names, &err), &err);
	for (i = 0; i < names.n; i++)
		if (strcmp(names.items[i].schema, "tl_t_@*$") == 0)
			found += strcmp(names.items[i].name, hostile) == 0 ||
				 strcmp(names.items[i].name, "resume_table_*$4") == 0;
	TL_CHECK_EQ_INT(found, 2);
	TL_CHECK_OK(copy_table(s, d, "tl_t_@*$", hostile, 2, TL_WRITE_UPSERT, &n, &err), &err);
	TL_CHECK_EQ_INT(n, 3);
	TL_CHECK_OK(copy_table(s, d, "tl_t_@*$", "resume_table_*$4", 2, TL_WRITE_UPSERT, &n, &err), &err);
	TL_CHECK_EQ_INT(n, 5);
	COMPARE(s, d, "tl_t_@*$", "resume_table_*$4");

	/* a bad resume value is a mismatch naming column, type and table */
	TL_CHECK_OK(D->describe(s, "tl_t_@*$", "resume_table_*$4", &t, &err), &err);
	TL_CHECK_OK(tl_keyvals_set(&after, 1, kc, kv, &err), &err);
	{
		tl_read_spec spec = {TL_READ_KEYED, &after, NULL, NULL, 10, NULL, 0};
		TL_CHECK_EQ_INT(D->open_reader(s, t, &spec, &r, &err), TL_ERR_MISMATCH);
		TL_CHECK_EQ_STR(err.message,
				"resume value 'abc' does not fit column `p.k` (bigint) of `tl_t_@*$`.`resume_table_*$4`");
		kv[0] = "-1"; /* serial is unsigned */
		TL_CHECK_OK(tl_keyvals_set(&after, 1, kc, kv, &err), &err);
		TL_CHECK_EQ_INT(D->open_reader(s, t, &spec, &r, &err), TL_ERR_MISMATCH);
		kv[0] = "18446744073709551616";
		TL_CHECK_OK(tl_keyvals_set(&after, 1, kc, kv, &err), &err);
		TL_CHECK_EQ_INT(D->open_reader(s, t, &spec, &r, &err), TL_ERR_MISMATCH);
		kv[0] = "3";
		TL_CHECK_OK(tl_keyvals_set(&after, 1, kc, kv, &err), &err);
		TL_CHECK_OK(D->open_reader(s, t, &spec, &r, &err), &err);
		TL_CHECK_OK(D->read_batch(r, &b, &err), &err);
		TL_CHECK_EQ_INT(b.nrows, 2);
		TL_CHECK_EQ_STR(tl_batch_cell(&b, 0, 0, NULL), "4");
		TL_CHECK_EQ_STR(tl_batch_cell(&b, 1, 1, NULL), "5.00000000");
		D->close_reader(r);
		r = NULL;
		/* RANGE with a decimal-looking bound on an integer column is a mismatch too */
		spec.mode = TL_READ_RANGE;
		spec.lo = "1.5";
		TL_CHECK_EQ_INT(D->open_reader(s, t, &spec, &r, &err), TL_ERR_MISMATCH);
	}
	(void)run(s, "DROP DATABASE `tl_t_@*$`");
	(void)run(d, "DROP DATABASE `tl_t_@*$`");
cleanup:
	D->close_reader(r);
	D->free_table(t);
	tl_keyvals_clear(&after);
	tl_name_list_clear(&names);
	tl_batch_release(&b);
	if (s)
		close_pair(s, d);
}

/* Reads all rows of a keyed read after `vals`, returning how many and the first row's key. */
static int read_after(tl_conn *s, const tl_table *t, enum tl_read_mode mode, const char *const *vals,
		      size_t *nrows, tl_keyvals *first, tl_error *err)
{
	tl_keyvals after = {0, NULL, NULL};
	tl_reader *r = NULL;
	tl_batch b;
	const char *cols[8];
	size_t i;
	int rc = 0;

	*nrows = 0;
	tl_batch_init(&b, t->ncols, 1 << 20);
	for (i = 0; i < t->nkeys && i < 8; i++)
		cols[i] = t->cols[t->key_idx[i]].name;
	if (vals)
		rc = tl_keyvals_set(&after, t->nkeys, cols, vals, err);
	if (!rc) {
		tl_read_spec spec = {mode, vals ? &after : NULL, NULL, NULL, 1000, NULL, 0};
		rc = D->open_reader(s, t, &spec, &r, err);
	}
	if (!rc)
		rc = D->read_batch(r, &b, err);
	if (!rc && b.nrows && first)
		rc = D->row_key(t, &b, 0, t->key_idx, t->nkeys, first, err);
	*nrows = b.nrows;
	D->close_reader(r);
	tl_batch_release(&b);
	tl_keyvals_clear(&after);
	return rc;
}

TL_TEST(test_keyed_resume_composite)
{
	tl_error err = TL_ERROR_INIT;
	static const char *const ddl[] = {
		"DROP DATABASE IF EXISTS tl_t_resume",
		"CREATE DATABASE tl_t_resume",
		"CREATE TABLE tl_t_resume.bin (category_id VARCHAR(50), binary_id BLOB, description TEXT, "
		"PRIMARY KEY (category_id, binary_id(100))) DEFAULT CHARSET=gb2312",
		"INSERT INTO tl_t_resume.bin (category_id, binary_id, description) VALUES "
		"('cat1', CONVERT('\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c" "0' USING gb2312), 'a'), "
		"('cat1', CONVERT('\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c" "1' USING gb2312), 'b'), "
		"('cat2', CONVERT('hello world' USING gb2312), 'c')",
		"CREATE TABLE tl_t_resume.nuk (uk1 int, uk2 varchar(10), val int, UNIQUE (uk1, uk2))",
		"INSERT INTO tl_t_resume.nuk VALUES (1, '1', 1), (2, '2', 2), (3, '3', 3), (7, NULL, 7), "
		"(NULL, '8', 8), (NULL, NULL, 10), (NULL, NULL, NULL)",
		"CREATE TABLE tl_t_resume.tm (t time(6) PRIMARY KEY, b bit(8) NOT NULL, UNIQUE KEY (b))",
		"INSERT INTO tl_t_resume.tm VALUES ('-01:00:00', 1), ('00:00:01.5', 2), ('100:00:00', 255)",
		NULL};
	const char *v1[] = {"cat1", "c4e3bac3cac0bde730"};
	const char *v2[] = {"cat1", "c4e3bac3cac0bde731"};
	const char *v3[] = {"cat1", "zz"};
	const char *v4[] = {"2", "2"};
	const char *v5[] = {NULL, NULL};
	const char *v6[] = {"00:00:00"};
	const char *v7[] = {"1' OR 1=1"};
	tl_conn *s, *d;
	tl_table *t = NULL;
	tl_keyvals first = {0, NULL, NULL};
	size_t n = 0;

	if (!open_pair(&s, &d))
		return;
	if (run_all(s, ddl))
		goto cleanup;
	TL_CHECK_OK(D->describe(s, "tl_t_resume", "bin", &t, &err), &err);
	TL_CHECK_EQ_INT(t->nkeys, 2);
	TL_CHECK_OK(read_after(s, t, TL_READ_KEYED, NULL, &n, &first, &err), &err);
	TL_CHECK_EQ_INT(n, 3);
	TL_CHECK_EQ_STR(first.vals[0], "cat1");
	TL_CHECK_EQ_STR(first.vals[1], "c4e3bac3cac0bde730"); /* gb2312 bytes, hex (§2.4) */
	TL_CHECK_OK(read_after(s, t, TL_READ_KEYED, v1, &n, &first, &err), &err);
	TL_CHECK_EQ_INT(n, 2);
	TL_CHECK_EQ_STR(first.vals[1], "c4e3bac3cac0bde731");
	TL_CHECK_OK(read_after(s, t, TL_READ_KEYED, v2, &n, &first, &err), &err);
	TL_CHECK_EQ_INT(n, 1);
	TL_CHECK_EQ_STR(first.vals[0], "cat2");
	TL_CHECK_EQ_STR(first.vals[1], "68656c6c6f20776f726c64");
	TL_CHECK_EQ_INT(read_after(s, t, TL_READ_KEYED, v3, &n, NULL, &err), TL_ERR_MISMATCH);
	D->free_table(t);

	TL_CHECK_OK(D->describe(s, "tl_t_resume", "nuk", &t, &err), &err);
	TL_CHECK_EQ_INT(t->key_kind, TL_KEYK_UNIQUE_NULLABLE);
	TL_CHECK_OK(read_after(s, t, TL_READ_KEYED, NULL, &n, NULL, &err), &err);
	TL_CHECK_EQ_INT(n, 3);
	TL_CHECK_OK(read_after(s, t, TL_READ_KEYED, v4, &n, &first, &err), &err);
	TL_CHECK_EQ_INT(n, 1);
	TL_CHECK_EQ_STR(first.vals[0], "3");
	TL_CHECK_OK(read_after(s, t, TL_READ_KEYED, v5, &n, NULL, &err), &err); /* null position: k > NULL */
	TL_CHECK_EQ_INT(n, 0);
	TL_CHECK_OK(read_after(s, t, TL_READ_KEY_NULLS, NULL, &n, &first, &err), &err);
	TL_CHECK_EQ_INT(n, 4);
	D->free_table(t);

	TL_CHECK_OK(D->describe(s, "tl_t_resume", "tm", &t, &err), &err);
	TL_CHECK_OK(read_after(s, t, TL_READ_KEYED, NULL, &n, &first, &err), &err);
	TL_CHECK_EQ_INT(n, 3);
	TL_CHECK_EQ_STR(first.vals[0], "-01:00:00.000000");
	TL_CHECK_OK(read_after(s, t, TL_READ_KEYED, v6, &n, &first, &err), &err);
	TL_CHECK_EQ_INT(n, 2);
	TL_CHECK_EQ_STR(first.vals[0], "00:00:01.500000");
	TL_CHECK_EQ_INT(read_after(s, t, TL_READ_KEYED, v7, &n, NULL, &err), TL_ERR_MISMATCH);
	TL_CHECK_EQ_STR(err.message, "resume value '1' OR 1=1' does not fit column `t` (time) of `tl_t_resume`.`tm`");
	D->free_table(t);
	t = NULL;
	(void)run(s, "DROP DATABASE tl_t_resume");
cleanup:
	D->free_table(t);
	tl_keyvals_clear(&first);
	close_pair(s, d);
}

TL_TEST(test_bit_key_and_split)
{
	tl_error err = TL_ERROR_INIT;
	static const char *const ddl[] = {
		"DROP DATABASE IF EXISTS tl_t_split",
		"CREATE DATABASE tl_t_split",
		"CREATE TABLE tl_t_split.seq (id bigint PRIMARY KEY, v varchar(10))",
		"INSERT INTO tl_t_split.seq SELECT seq, CONCAT('v', seq) FROM tl_t_split.seq_1_to_100",
		"CREATE TABLE tl_t_split.nk (p varchar(10), v int)",
		"INSERT INTO tl_t_split.nk VALUES ('b', 1), (NULL, 2), ('a', 3), ('c', 4), (NULL, 5)",
		"CREATE TABLE tl_t_split.bits (b bit(64) PRIMARY KEY)",
		"INSERT INTO tl_t_split.bits VALUES (0), (5), (b'1111111111111111111111111111111111111111111111111111111111111111')",
		NULL};
	tl_conn *s, *d;
	tl_table *t = NULL;
	tl_reader *r = NULL;
	tl_batch b;
	char *hi = NULL, *lo = NULL;
	const char *bv[] = {"5"};
	tl_keyvals first = {0, NULL, NULL};
	int64_t rows = 0;
	uint64_t sum = 0, sum2 = 0;
	size_t n = 0;

	tl_batch_init(&b, 1, 1 << 20);
	if (!open_pair(&s, &d))
		goto out;
	if (run_all(s, ddl))
		goto cleanup;
	TL_CHECK_OK(D->describe(s, "tl_t_split", "seq", &t, &err), &err);
	TL_CHECK_OK(D->part_minmax(s, t, &lo, &hi, &err), &err);
	TL_CHECK_EQ_STR(lo, "1");
	TL_CHECK_EQ_STR(hi, "100");
	free(lo);
	free(hi);
	lo = hi = NULL;
	TL_CHECK_OK(D->next_bound(s, t, NULL, 10, &hi, &err), &err);
	TL_CHECK_EQ_STR(hi, "10");
	free(hi);
	TL_CHECK_OK(D->next_bound(s, t, "95", 10, &hi, &err), &err);
	TL_CHECK_EQ_STR(hi, "100");
	free(hi);
	TL_CHECK_OK(D->next_bound(s, t, "100", 10, &hi, &err), &err);
	TL_CHECK(hi == NULL);
	TL_CHECK_EQ_INT(D->next_bound(s, t, "x", 10, &hi, &err), TL_ERR_MISMATCH);
	{
		tl_read_spec spec = {TL_READ_RANGE, NULL, "10", "20", 100, NULL, 0};
		TL_CHECK_OK(D->open_reader(s, t, &spec, &r, &err), &err);
		TL_CHECK_OK(D->read_batch(r, &b, &err), &err);
		TL_CHECK_EQ_INT(b.nrows, 10);
		TL_CHECK_EQ_STR(tl_batch_cell(&b, 0, 0, NULL), "11");
		TL_CHECK_EQ_STR(tl_batch_cell(&b, 9, 0, NULL), "20");
		D->close_reader(r);
		r = NULL;
		spec.lo = NULL;
		spec.hi = "5";
		spec.where = "v <> 'v3'";
		tl_batch_reset(&b);
		TL_CHECK_OK(D->open_reader(s, t, &spec, &r, &err), &err);
		TL_CHECK_OK(D->read_batch(r, &b, &err), &err);
		TL_CHECK_EQ_INT(b.nrows, 4);
		D->close_reader(r);
		r = NULL;
	}
	TL_CHECK_OK(D->checksum(s, t, "10", "20", &rows, &sum, &err), &err);
	TL_CHECK_EQ_INT(rows, 10);
	TL_CHECK_OK(D->checksum(s, t, "10", "21", &rows, &sum2, &err), &err);
	TL_CHECK_EQ_INT(rows, 11);
	TL_CHECK(sum != sum2);
	/* batch_rows limits a read; the stream continues where it stopped */
	{
		tl_read_spec spec = {TL_READ_KEYED, NULL, NULL, NULL, 30, NULL, 0};
		size_t total = 0;
		TL_CHECK_OK(D->open_reader(s, t, &spec, &r, &err), &err);
		TL_CHECK_EQ_INT(D->count_rows(s, t, &rows, &err), TL_ERR_INTERNAL); /* busy */
		do {
			tl_batch_reset(&b);
			TL_CHECK_OK(D->read_batch(r, &b, &err), &err);
			TL_CHECK(b.nrows <= 30);
			total += b.nrows;
		} while (b.nrows);
		TL_CHECK_EQ_INT(total, 100);
		D->close_reader(r);
		r = NULL;
		/* closing early stops the stream and leaves the connection usable */
		spec.batch_rows = 1;
		TL_CHECK_OK(D->open_reader(s, t, &spec, &r, &err), &err);
		tl_batch_reset(&b);
		TL_CHECK_OK(D->read_batch(r, &b, &err), &err);
		TL_CHECK_EQ_INT(b.nrows, 1);
		D->close_reader(r);
		r = NULL;
		TL_CHECK_OK(D->count_rows(s, t, &rows, &err), &err);
		TL_CHECK_EQ_INT(rows, 100);
	}
	D->free_table(t);

	/* keyless table: partition column is the first column, NULLs read separately */
	TL_CHECK_OK(D->describe(s, "tl_t_split", "nk", &t, &err), &err);
	TL_CHECK_EQ_INT(t->nkeys, 0);
	TL_CHECK_OK(D->next_bound(s, t, NULL, 2, &hi, &err), &err);
	TL_CHECK_EQ_STR(hi, "b");
	free(hi);
	hi = NULL;
	{
		tl_read_spec spec = {TL_READ_PART_NULLS, NULL, NULL, NULL, 100, NULL, 0};
		tl_batch_reset(&b);
		TL_CHECK_OK(D->open_reader(s, t, &spec, &r, &err), &err);
		TL_CHECK_OK(D->read_batch(r, &b, &err), &err);
		TL_CHECK_EQ_INT(b.nrows, 2);
		D->close_reader(r);
		r = NULL;
		spec.mode = TL_READ_RANGE;
		spec.lo = "a";
		tl_batch_reset(&b);
		TL_CHECK_OK(D->open_reader(s, t, &spec, &r, &err), &err);
		TL_CHECK_OK(D->read_batch(r, &b, &err), &err);
		TL_CHECK_EQ_INT(b.nrows, 2);
		TL_CHECK_EQ_STR(tl_batch_cell(&b, 0, 0, NULL), "b");
		D->close_reader(r);
		r = NULL;
		spec.lo = "a' OR 'x'='x\\"; /* escaped, so compared as a string */
		tl_batch_reset(&b);
		TL_CHECK_OK(D->open_reader(s, t, &spec, &r, &err), &err);
		TL_CHECK_OK(D->read_batch(r, &b, &err), &err);
		TL_CHECK_EQ_INT(b.nrows, 2);
		D->close_reader(r);
		r = NULL;
		spec.mode = TL_READ_SCAN;
		tl_batch_reset(&b);
		TL_CHECK_OK(D->open_reader(s, t, &spec, &r, &err), &err);
		TL_CHECK_OK(D->read_batch(r, &b, &err), &err);
		TL_CHECK_EQ_INT(b.nrows, 5);
		D->close_reader(r);
		r = NULL;
	}
	D->free_table(t);

	/* BIT key: decimal positions both ways */
	TL_CHECK_OK(D->describe(s, "tl_t_split", "bits", &t, &err), &err);
	TL_CHECK_OK(read_after(s, t, TL_READ_KEYED, bv, &n, &first, &err), &err);
	TL_CHECK_EQ_INT(n, 1);
	TL_CHECK_EQ_STR(first.vals[0], "18446744073709551615");
	TL_CHECK_OK(D->part_minmax(s, t, &lo, &hi, &err), &err);
	TL_CHECK_EQ_STR(lo, "0");
	TL_CHECK_EQ_STR(hi, "18446744073709551615");
	D->free_table(t);
	t = NULL;
	(void)run(s, "DROP DATABASE tl_t_split");
cleanup:
	close_pair(s, d);
out:
	D->close_reader(r);
	D->free_table(t);
	free(lo);
	free(hi);
	tl_keyvals_clear(&first);
	tl_batch_release(&b);
}

TL_TEST(test_write_upsert_and_targets)
{
	tl_error err = TL_ERROR_INIT;
	static const char *const ddl[] = {
		"DROP DATABASE IF EXISTS tl_t_w",
		"CREATE DATABASE tl_t_w",
		"CREATE TABLE tl_t_w.t (id int PRIMARY KEY, v varchar(20), b bit(8))",
		"CREATE TABLE tl_t_w.k (a int, b int, PRIMARY KEY (a, b))",
		"CREATE TABLE tl_t_w.big (id int PRIMARY KEY, v varchar(100))",
		NULL};
	static const char *const src_rows[] = {
		"INSERT INTO tl_t_w.t VALUES (1, 'one', 1), (2, 'two', 2), (3, NULL, NULL)",
		"INSERT INTO tl_t_w.k VALUES (1, 1), (1, 2)",
		"INSERT INTO tl_t_w.big SELECT seq, REPEAT('x', seq % 100) FROM tl_t_w.seq_1_to_5000",
		NULL};
	tl_conn *s, *d;
	tl_table *t = NULL;
	tl_reader *r = NULL;
	tl_batch b;
	int empty = -1;
	int64_t n = 0;

	tl_batch_init(&b, 1, 1 << 20);
	if (!open_pair(&s, &d))
		goto out;
	if (run_all(s, ddl) || run_all(s, src_rows) || run(d, "DROP DATABASE IF EXISTS tl_t_w"))
		goto cleanup;
	TL_CHECK_OK(D->describe(s, "tl_t_w", "t", &t, &err), &err);
	TL_CHECK_EQ_INT(D->check_target(d, t, &empty, &err), TL_ERR_NOTFOUND);
	TL_CHECK_EQ_STR(err.message, "target table `tl_t_w`.`t` does not exist");
	if (run(d, "CREATE DATABASE tl_t_w") || run(d, "CREATE TABLE tl_t_w.t (id int PRIMARY KEY, v varchar(20))"))
		goto cleanup;
	TL_CHECK_EQ_INT(D->check_target(d, t, &empty, &err), TL_ERR_MISMATCH);
	TL_CHECK_EQ_STR(err.message, "target table `tl_t_w`.`t` has no column `b`");
	if (run(d, "ALTER TABLE tl_t_w.t ADD COLUMN b bit(8)") || run_all(d, ddl + 3))
		goto cleanup;
	TL_CHECK_OK(D->check_target(d, t, &empty, &err), &err);
	TL_CHECK_EQ_INT(empty, 1);
	{
		tl_read_spec spec = {TL_READ_KEYED, NULL, NULL, NULL, 100, NULL, 0};
		TL_CHECK_OK(D->open_reader(s, t, &spec, &r, &err), &err);
		TL_CHECK_OK(D->read_batch(r, &b, &err), &err);
		D->close_reader(r);
		r = NULL;
	}
	TL_CHECK_EQ_INT(b.nrows, 3);
	TL_CHECK_EQ_STR(tl_batch_cell(&b, 1, 2, NULL), "2");
	TL_CHECK_OK(D->write_batch(d, t, &b, TL_WRITE_UPSERT, &err), &err);
	TL_CHECK_OK(D->write_batch(d, t, &b, TL_WRITE_UPSERT, &err), &err);
	TL_CHECK_OK(D->count_rows(d, t, &n, &err), &err);
	TL_CHECK_EQ_INT(n, 3);
	TL_CHECK_OK(D->check_target(d, t, &empty, &err), &err);
	TL_CHECK_EQ_INT(empty, 0);
	/* plain insert of existing rows fails as a whole and leaves nothing behind */
	if (run(d, "DELETE FROM tl_t_w.t WHERE id = 3"))
		goto cleanup;
	TL_CHECK_EQ_INT(D->write_batch(d, t, &b, 0, &err), TL_ERR_DB);
	TL_CHECK_EQ_INT(err.native, 1062);
	TL_CHECK_MSG(strstr(err.message, "`tl_t_w`.`t`") != NULL, "message: %s", err.message);
	TL_CHECK_OK(D->count_rows(d, t, &n, &err), &err);
	TL_CHECK_EQ_INT(n, 2);
	D->free_table(t);
	t = NULL;

	/* delete_after */
	TL_CHECK_OK(D->describe(s, "tl_t_w", "t", &t, &err), &err);
	TL_CHECK_OK(D->write_batch(d, t, &b, TL_WRITE_UPSERT, &err), &err);
	TL_CHECK_OK(D->delete_after(d, t, "1", 0, &err), &err);
	TL_CHECK_OK(D->count_rows(d, t, &n, &err), &err);
	TL_CHECK_EQ_INT(n, 1);
	TL_CHECK_OK(D->delete_after(d, t, NULL, 0, &err), &err);
	TL_CHECK_OK(D->count_rows(d, t, &n, &err), &err);
	TL_CHECK_EQ_INT(n, 0);
	TL_CHECK_EQ_INT(D->delete_after(d, t, "'; DROP TABLE x", 0, &err), TL_ERR_MISMATCH);
	D->free_table(t);
	t = NULL;

	/* key-only table: upsert twice */
	TL_CHECK_OK(copy_table(s, d, "tl_t_w", "k", 10, TL_WRITE_UPSERT, &n, &err), &err);
	TL_CHECK_OK(copy_table(s, d, "tl_t_w", "k", 10, TL_WRITE_UPSERT, &n, &err), &err);
	COMPARE(s, d, "tl_t_w", "k");
	/* several statements per transaction: 5000 rows in one batch */
	TL_CHECK_OK(copy_table(s, d, "tl_t_w", "big", 5000, TL_WRITE_UPSERT, &n, &err), &err);
	TL_CHECK_EQ_INT(n, 5000);
	TL_CHECK_OK(copy_table(s, d, "tl_t_w", "big", 777, TL_WRITE_UPSERT, &n, &err), &err);
	COMPARE(s, d, "tl_t_w", "big");
	/* a failure in the last statement of a batch rolls back the earlier ones */
	if (run(d, "DELETE FROM tl_t_w.big WHERE id <= 4000"))
		goto cleanup;
	TL_CHECK_OK(D->describe(s, "tl_t_w", "big", &t, &err), &err);
	{
		tl_read_spec spec = {TL_READ_KEYED, NULL, NULL, NULL, 5000, NULL, 0};
		tl_batch_reset(&b);
		TL_CHECK_OK(D->open_reader(s, t, &spec, &r, &err), &err);
		TL_CHECK_OK(D->read_batch(r, &b, &err), &err);
		D->close_reader(r);
		r = NULL;
	}
	TL_CHECK_EQ_INT(b.nrows, 5000);
	TL_CHECK_EQ_INT(D->write_batch(d, t, &b, 0, &err), TL_ERR_DB);
	TL_CHECK_EQ_INT(err.native, 1062);
	TL_CHECK_OK(D->count_rows(d, t, &n, &err), &err);
	TL_CHECK_EQ_INT(n, 1000);
	TL_CHECK_OK(D->write_batch(d, t, &b, TL_WRITE_UPSERT, &err), &err);
	COMPARE(s, d, "tl_t_w", "big");
	(void)run(s, "DROP DATABASE tl_t_w");
	(void)run(d, "DROP DATABASE tl_t_w");
cleanup:
	close_pair(s, d);
out:
	D->close_reader(r);
	D->free_table(t);
	tl_batch_release(&b);
}

struct ape_seen {
	int n;
	char data[4][2048];
	char keys[4][256];
};

static int ape_cb(void *ctx, const tl_ape_row *row, tl_error *err)
{
	struct ape_seen *a = ctx;

	if (a->n < 4) {
		snprintf(a->keys[a->n], sizeof(a->keys[0]), "%s|%s", row->resumer_type, row->position_key);
		snprintf(a->data[a->n], sizeof(a->data[0]), "%s", row->position_data ? row->position_data : "(null)");
	}
	a->n++;
	return 0;
}

TL_TEST(test_ape_store)
{
	tl_error err = TL_ERROR_INIT;
	tl_conn *s, *d;
	struct ape_seen seen;
	const char *task = "task'1\"; --";
	tl_ape_row r1 = {"SnapshotDoing", "test_db_@-resume_table_*$4",
			 "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"test_db_@\",\"tb\":\"resume_table_*$4\","
			 "\"order_key\":{\"single\":[\"p.k\",\"1\"]}}"};
	tl_ape_row r2 = {"SnapshotFinished", "test_db_1-t", NULL};
	char longdata[1200];

	if (!open_pair(&s, &d))
		return;
	/* longer than the first fetch buffer: exercises the truncated-fetch path */
	memset(longdata, 'x', sizeof(longdata) - 1);
	longdata[sizeof(longdata) - 1] = '\0';
	memcpy(longdata, "{\"type\":\"RdbSnapshotFinished\",\"tb\":\"", 36);
	r2.position_data = longdata;
	if (run(d, "DROP DATABASE IF EXISTS `tl_t_ape-x`"))
		goto cleanup;
	memset(&seen, 0, sizeof(seen));
	TL_CHECK_OK(D->ape_store_load(d, "tl_t_ape-x", "apedts_task_position", task, ape_cb, &seen, &err), &err);
	TL_CHECK_EQ_INT(seen.n, 0);
	TL_CHECK_OK(D->ape_store_init(d, "tl_t_ape-x", "apedts_task_position", &err), &err);
	TL_CHECK_OK(D->ape_store_init(d, "tl_t_ape-x", "apedts_task_position", &err), &err);
	TL_CHECK_OK(D->ape_store_put(d, "tl_t_ape-x", "apedts_task_position", task, &r1, &err), &err);
	TL_CHECK_OK(D->ape_store_put(d, "tl_t_ape-x", "apedts_task_position", task, &r2, &err), &err);
	r1.position_data = "{\"type\":\"RdbSnapshot\",\"order_key\":{\"single\":[\"p.k\",\"2\"]}}";
	TL_CHECK_OK(D->ape_store_put(d, "tl_t_ape-x", "apedts_task_position", task, &r1, &err), &err);
	TL_CHECK_OK(D->ape_store_put(d, "tl_t_ape-x", "apedts_task_position", "other", &r1, &err), &err);
	memset(&seen, 0, sizeof(seen));
	TL_CHECK_OK(D->ape_store_load(d, "tl_t_ape-x", "apedts_task_position", task, ape_cb, &seen, &err), &err);
	TL_CHECK_EQ_INT(seen.n, 2);
	TL_CHECK_EQ_STR(seen.keys[0], "SnapshotDoing|test_db_@-resume_table_*$4");
	TL_CHECK_EQ_STR(seen.data[0], r1.position_data);
	TL_CHECK_EQ_STR(seen.keys[1], "SnapshotFinished|test_db_1-t");
	TL_CHECK_EQ_STR(seen.data[1], longdata);
	TL_CHECK_OK(D->ape_store_forget(d, "tl_t_ape-x", "apedts_task_position", task, &err), &err);
	memset(&seen, 0, sizeof(seen));
	TL_CHECK_OK(D->ape_store_load(d, "tl_t_ape-x", "apedts_task_position", task, ape_cb, &seen, &err), &err);
	TL_CHECK_EQ_INT(seen.n, 0);
	memset(&seen, 0, sizeof(seen));
	TL_CHECK_OK(D->ape_store_load(d, "tl_t_ape-x", "apedts_task_position", "other", ape_cb, &seen, &err), &err);
	TL_CHECK_EQ_INT(seen.n, 1);
	/* exact ape-dts shape: the unique key name and columns */
	{
		tl_table *t = NULL;
		TL_CHECK_OK(D->describe(d, "tl_t_ape-x", "apedts_task_position", &t, &err), &err);
		TL_CHECK_EQ_INT(t->ncols, 7);
		TL_CHECK_EQ_STR(t->cols[4].name, "position_data");
		TL_CHECK(t->cols[4].nullable);
		D->free_table(t);
		TL_CHECK_EQ_INT(sql_count(d, "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE "
					  "TABLE_SCHEMA='tl_t_ape-x' AND INDEX_NAME='uk_task_id_task_type_position_key'"),
				3);
	}
	(void)run(d, "DROP DATABASE `tl_t_ape-x`");
cleanup:
	close_pair(s, d);
}

/* Two described tables are the same, including the driver's private column facts. */
static void same_table(const char *what, const tl_table *a, const tl_table *b)
{
	size_t i;

	TL_CHECK_MSG(strcmp(a->schema, b->schema) == 0 && strcmp(a->name, b->name) == 0, "%s: names", what);
	TL_CHECK_MSG(strcmp(tl_mysql__qname(a), tl_mysql__qname(b)) == 0, "%s: qname", what);
	TL_CHECK_MSG(a->ncols == b->ncols, "%s: %zu vs %zu columns", what, a->ncols, b->ncols);
	TL_CHECK_MSG(a->key_kind == b->key_kind && a->nkeys == b->nkeys && a->part_idx == b->part_idx, "%s: key", what);
	TL_CHECK_MSG(a->est_rows == b->est_rows, "%s: est_rows %lld vs %lld", what, (long long)a->est_rows,
		     (long long)b->est_rows);
	if (a->ncols != b->ncols || a->nkeys != b->nkeys)
		return;
	for (i = 0; i < a->nkeys; i++)
		TL_CHECK_MSG(a->key_idx[i] == b->key_idx[i], "%s: key column %zu", what, i);
	for (i = 0; i < a->ncols; i++) {
		const struct tl_mysql_col *x = tl_mysql__col(a, i), *y = tl_mysql__col(b, i);
		TL_CHECK_MSG(strcmp(a->cols[i].name, b->cols[i].name) == 0, "%s: column %zu name", what, i);
		TL_CHECK_MSG(strcmp(a->cols[i].type, b->cols[i].type) == 0, "%s: column %zu type", what, i);
		TL_CHECK_MSG(a->cols[i].kind == b->cols[i].kind && a->cols[i].nullable == b->cols[i].nullable,
			     "%s: column %zu kind/nullable", what, i);
		TL_CHECK_MSG(strcmp(x->data_type, y->data_type) == 0 && x->is_unsigned == y->is_unsigned &&
				     x->frac == y->frac && x->generated == y->generated,
			     "%s: column %zu private facts", what, i);
	}
}

/*
 * describe_many over tables of every shape (hostile names, a keyless table, a nullable
 * unique key, a composite key, a key choice decided by index name, generated, unsigned,
 * fractional-second and bit columns, the same table name in two schemas of which one is
 * asked, a missing table, a name in another letter case, a name given twice) gives
 * exactly what describe gives for each, NULL where describe says TL_ERR_NOTFOUND.
 */
TL_TEST(test_describe_many_same_as_describe)
{
	static const char *const ddl[] = {
		"DROP DATABASE IF EXISTS `tl_t_many_@`",
		"DROP DATABASE IF EXISTS `tl_t_many2`",
		"CREATE DATABASE `tl_t_many_@`",
		"CREATE DATABASE `tl_t_many2`",
		"CREATE TABLE `tl_t_many_@`.`tb_*$1` (`p.k` int PRIMARY KEY, ```v``` text)",
		"CREATE TABLE `tl_t_many_@`.keyless (a int, b text, KEY (a))",
		"CREATE TABLE `tl_t_many_@`.nuk (a int, b int, c int NOT NULL, UNIQUE KEY k2 (a, b))",
		"CREATE TABLE `tl_t_many_@`.comp (x varchar(10), y varbinary(8), z int, PRIMARY KEY (y, x))",
		"CREATE TABLE `tl_t_many_@`.tie (a int, b int NOT NULL, c int NOT NULL, d int NOT NULL, "
		"UNIQUE KEY z_one (a), UNIQUE KEY y_two (b, c), UNIQUE KEY x_two (c, d))",
		"CREATE TABLE `tl_t_many_@`.kinds (id bigint unsigned PRIMARY KEY, ts datetime(3), t time(6), "
		"bits bit(5), j json, g int AS (id * 2) VIRTUAL, e enum('a','b'), f double)",
		"CREATE TABLE `tl_t_many2`.`tb_*$1` (k bigint PRIMARY KEY)",
		"CREATE TABLE `tl_t_many2`.nuk (q int)",
		"INSERT INTO `tl_t_many_@`.keyless VALUES (1, 'x'), (2, 'y'), (3, 'z')",
		"ANALYZE TABLE `tl_t_many_@`.keyless",
		NULL};
	tl_name names[10] = {
		{"tl_t_many_@", "tb_*$1"}, {"tl_t_many_@", "keyless"}, {"tl_t_many_@", "nuk"},
		{"tl_t_many_@", "comp"},   {"tl_t_many_@", "tie"},     {"tl_t_many_@", "kinds"},
		{"tl_t_many2", "tb_*$1"},  {"tl_t_many_@", "missing"}, {"tl_t_many_@", "NUK"},
		{"tl_t_many_@", "comp"}};
	tl_table *many[10], *one = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_conn *s, *d;
	char what[128];
	size_t i;

	memset(many, 0, sizeof(many));
	if (!open_pair(&s, &d))
		return;
	if (run_all(s, ddl))
		goto cleanup;
	TL_CHECK_OK(D->describe_many(s, names, 10, many, &err), &err);
	for (i = 0; i < 10; i++) {
		int rc = D->describe(s, names[i].schema, names[i].name, &one, &err);
		snprintf(what, sizeof(what), "%s.%s", names[i].schema, names[i].name);
		if (rc == TL_ERR_NOTFOUND) {
			TL_CHECK_MSG(many[i] == NULL, "%s: describe says missing, describe_many found it", what);
			continue;
		}
		TL_CHECK_MSG(rc == 0, "%s: describe failed: %s", what, err.message);
		TL_CHECK_MSG(many[i] != NULL, "%s: describe_many says missing", what);
		if (rc == 0 && many[i])
			same_table(what, one, many[i]);
		D->free_table(one);
		one = NULL;
	}
	/* what the shapes are (so the comparison is not between two empty answers) */
	TL_CHECK(many[0] && many[0]->key_kind == TL_KEYK_PRIMARY && strcmp(many[0]->cols[0].name, "p.k") == 0);
	TL_CHECK(many[1] && many[1]->key_kind == TL_KEYK_NONE && many[1]->est_rows == 3);
	TL_CHECK(many[2] && many[2]->key_kind == TL_KEYK_UNIQUE_NULLABLE && many[2]->nkeys == 2 && many[2]->ncols == 3);
	TL_CHECK(many[3] && many[3]->nkeys == 2 && many[3]->key_idx[0] == 1 && many[3]->key_idx[1] == 0);
	TL_CHECK(many[4] && many[4]->key_kind == TL_KEYK_UNIQUE && strcmp(many[4]->cols[many[4]->key_idx[0]].name, "c") == 0);
	TL_CHECK(many[5] && many[5]->ncols == 8 && tl_mysql__col(many[5], 5)->generated && tl_mysql__col(many[5], 1)->frac == 3);
	TL_CHECK(many[6] && strcmp(many[6]->cols[0].name, "k") == 0);
	/* count_many: the exact counts count_rows gives, in order */
	{
		const tl_table *have[10];
		int64_t counts[10], one_count;
		size_t m = 0;
		for (i = 0; i < 10; i++)
			if (many[i])
				have[m++] = many[i];
		TL_CHECK_OK(D->count_many(s, have, m, counts, &err), &err);
		for (i = 0; i < m; i++) {
			TL_CHECK_OK(D->count_rows(s, have[i], &one_count, &err), &err);
			TL_CHECK_EQ_INT(counts[i], one_count);
		}
		TL_CHECK_EQ_INT(counts[1], 3);
	}
	TL_CHECK(!many[7]);
	(void)run(s, "DROP DATABASE `tl_t_many_@`");
	(void)run(s, "DROP DATABASE `tl_t_many2`");
cleanup:
	for (i = 0; i < 10; i++)
		D->free_table(many[i]);
	close_pair(s, d);
}

/*
 * A long list (1,000+ tables) takes its row estimates from InnoDB's persistent statistics
 * instead of information_schema.TABLES (which opens every table); a table they do not list
 * (another engine: MyISAM) falls back to TABLES.
 * Everything but the estimate equals describe; an analyzed table's estimate is exact.
 */
TL_TEST(test_describe_many_long_list)
{
	enum { N = 1000 };
	tl_name *names = calloc(N + 1, sizeof(*names));
	char (*tb)[16] = calloc(N, sizeof(*tb));
	tl_table **many = calloc(N + 1, sizeof(*many)), *one = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_conn *s = NULL, *d = NULL;
	char sql[256], what[64];
	size_t i, sample[] = {0, 7, 500, N - 1, N};

	if (!names || !tb || !many || !open_pair(&s, &d))
		goto cleanup;
	if (run(s, "DROP DATABASE IF EXISTS tl_t_long") || run(s, "CREATE DATABASE tl_t_long") ||
	    run(s, "CREATE TABLE tl_t_long.`tb_*$1` (id int PRIMARY KEY) ENGINE=MyISAM") ||
	    run(s, "INSERT INTO tl_t_long.`tb_*$1` VALUES (1), (2)"))
		goto cleanup;
	for (i = 0; i < N; i++) {
		snprintf(tb[i], sizeof(tb[i]), "t%04zu", i);
		snprintf(sql, sizeof(sql), "CREATE TABLE tl_t_long.%s (id int PRIMARY KEY, v int)", tb[i]);
		if (run(s, sql))
			goto cleanup;
		names[i].schema = "tl_t_long";
		names[i].name = tb[i];
	}
	names[N].schema = "tl_t_long";
	names[N].name = "tb_*$1";
	if (run(s, "INSERT INTO tl_t_long.t0007 VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 5)") ||
	    run(s, "ANALYZE TABLE tl_t_long.t0007"))
		goto cleanup;
	TL_CHECK_OK(D->describe_many(s, names, N + 1, many, &err), &err);
	for (i = 0; i <= N; i++)
		TL_CHECK_MSG(many[i] && many[i]->est_rows >= 0, "%s: no estimate", names[i].name);
	for (i = 0; i < sizeof(sample) / sizeof(sample[0]); i++) {
		size_t k = sample[i];
		if (!many[k])
			continue;
		TL_CHECK_OK(D->describe(s, names[k].schema, names[k].name, &one, &err), &err);
		if (!one)
			continue;
		snprintf(what, sizeof(what), "long list %s", names[k].name);
		if (k != 7 && k != N)
			one->est_rows = many[k]->est_rows; /* the two sources may differ right after CREATE */
		same_table(what, one, many[k]);
		D->free_table(one);
		one = NULL;
	}
	TL_CHECK(many[7] && many[7]->est_rows == 5);
	TL_CHECK(many[N] && many[N]->est_rows == 2);
	(void)run(s, "DROP DATABASE tl_t_long");
cleanup:
	for (i = 0; many && i <= N; i++)
		D->free_table(many[i]);
	free(many);
	free(names);
	free(tb);
	close_pair(s, d);
}
