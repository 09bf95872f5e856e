/*
 * test_pg_driver.c - the PostgreSQL connector against live servers (TL_PG_SRC_URL,
 * TL_PG_DST_URL from tools/servers.sh; skipped when unset).
 *
 * Covers: connection errors without the password, listing, key choice, a round trip of
 * every common type through read_batch/write_batch on both the COPY and the upsert path
 * (compared by md5 of the rows' text on both servers), hostile names, KEYED resume on a
 * composite key with a bytea column given as hex, the NULL pass, RANGE/next_bound/
 * part_minmax, upsert idempotence, plain inserts for keyless tables, bad resume values,
 * check_target, delete_after, checksum, the ape-dts store, and describe_many giving what
 * describe gives. Setup SQL goes through
 * libpq directly; the driver is only used through tl_driver_pg. Leaves its tables behind
 * (schema tl_pgt on both servers) for inspection; each test recreates what it uses.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "connectors/pg_int.h" /* to compare the driver-private part of described tables */
#include "tideline/driver.h"
#include "tl_test.h"

/* ---- helpers ----------------------------------------------------------------------- */

static PGconn *db(const char *url)
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

/* First value of the first row (malloc'd, NULL for NULL/no rows). */
static char *one(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	char *v = NULL;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		tl_test_fail(__FILE__, __LINE__, "query failed: %s\n      %s", PQresultErrorMessage(r), sql);
	else if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

static long long count_of(PGconn *c, const char *sql)
{
	char *v = one(c, sql);
	long long n = v ? strtoll(v, NULL, 10) : -1;

	free(v);
	return n;
}

static tl_conn *drv_connect(const char *url)
{
	tl_endpoint ep = {.db_type = "pg", .url = url, .username = NULL, .password = NULL, .app_name = "tideline-test"};
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL;

	if (tl_driver_pg.connect(&ep, &c, &err) != 0) {
		tl_test_fail(__FILE__, __LINE__, "connect failed: %s", err.message);
		return NULL;
	}
	return c;
}

/* Both servers, both ways in. Returns 0 when the test should go on. */
struct env {
	PGconn *src, *dst;
	tl_conn *s, *d;
};

static int env_open(struct env *e)
{
	const char *su = tl_test_require_env("TL_PG_SRC_URL");
	const char *du = su ? tl_test_require_env("TL_PG_DST_URL") : NULL;

	memset(e, 0, sizeof(*e));
	if (!su || !du)
		return -1;
	e->src = db(su);
	e->dst = db(du);
	e->s = drv_connect(su);
	e->d = drv_connect(du);
	if (!e->src || !e->dst || !e->s || !e->d)
		return -1;
	if (run(e->src, "CREATE SCHEMA IF NOT EXISTS tl_pgt") || run(e->dst, "CREATE SCHEMA IF NOT EXISTS tl_pgt"))
		return -1;
	return 0;
}

static void env_close(struct env *e)
{
	tl_driver_pg.disconnect(e->s);
	tl_driver_pg.disconnect(e->d);
	if (e->src)
		PQfinish(e->src);
	if (e->dst)
		PQfinish(e->dst);
}

/* Runs the same DDL on both servers. */
static int both(struct env *e, const char *sql)
{
	return run(e->src, sql) || run(e->dst, sql) ? -1 : 0;
}

/* Reads everything `spec` selects from src and writes it to dst; returns rows or -1. */
static long long copy_with(struct env *e, const tl_table *t, const tl_read_spec *spec, unsigned flags)
{
	tl_error err = TL_ERROR_INIT;
	tl_reader *r = NULL;
	tl_batch b;
	long long rows = 0;

	tl_batch_init(&b, t->ncols, 1 << 20);
	if (tl_driver_pg.open_reader(e->s, t, spec, &r, &err) != 0) {
		tl_test_fail(__FILE__, __LINE__, "open_reader: %s", err.message);
		rows = -1;
		goto done;
	}
	for (;;) {
		tl_batch_reset(&b);
		if (tl_driver_pg.read_batch(r, &b, &err) != 0) {
			tl_test_fail(__FILE__, __LINE__, "read_batch: %s", err.message);
			rows = -1;
			goto done;
		}
		if (b.nrows == 0)
			break;
		if (tl_driver_pg.write_batch(e->d, t, &b, flags, &err) != 0) {
			tl_test_fail(__FILE__, __LINE__, "write_batch: %s", err.message);
			rows = -1;
			goto done;
		}
		rows += (long long)b.nrows;
	}
done:
	tl_driver_pg.close_reader(r);
	tl_batch_release(&b);
	return rows;
}

/* Reads all rows of a spec, counting them; the last row's key is put in *last (if given). */
static long long read_all(tl_conn *c, const tl_table *t, const tl_read_spec *spec, tl_keyvals *last, tl_error *err)
{
	tl_reader *r = NULL;
	tl_batch b;
	long long rows = 0;

	tl_batch_init(&b, t->ncols, 1 << 20);
	if (tl_driver_pg.open_reader(c, t, spec, &r, err) != 0) {
		rows = -1;
		goto done;
	}
	for (;;) {
		tl_batch_reset(&b);
		if (tl_driver_pg.read_batch(r, &b, err) != 0) {
			rows = -1;
			goto done;
		}
		if (b.nrows == 0)
			break;
		if (last && t->nkeys &&
		    tl_driver_pg.row_key(t, &b, b.nrows - 1, t->key_idx, t->nkeys, last, err) != 0) {
			rows = -1;
			goto done;
		}
		rows += (long long)b.nrows;
	}
done:
	tl_driver_pg.close_reader(r);
	tl_batch_release(&b);
	return rows;
}

static const char *md5_sql(char *buf, size_t n, const char *table, const char *order)
{
	snprintf(buf, n, "SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY %s)), '') FROM %s x",
		 order, table);
	return buf;
}

/* Compares the rows of a table on both servers. */
static void check_same(struct env *e, const char *table, const char *order)
{
	char q[512];
	char *a = one(e->src, md5_sql(q, sizeof(q), table, order));
	char *b = one(e->dst, md5_sql(q, sizeof(q), table, order));

	TL_CHECK_MSG(a && b && strcmp(a, b) == 0, "%s differs: source %s, target %s", table, a ? a : "-",
		     b ? b : "-");
	free(a);
	free(b);
}

static tl_table *describe(tl_conn *c, const char *schema, const char *name)
{
	tl_error err = TL_ERROR_INIT;
	tl_table *t = NULL;

	if (tl_driver_pg.describe(c, schema, name, &t, &err) != 0)
		tl_test_fail(__FILE__, __LINE__, "describe %s.%s: %s", schema, name, err.message);
	return t;
}

/* ---- tests ------------------------------------------------------------------------- */

TL_TEST(pg_connect_errors)
{
	const char *su = tl_test_require_env("TL_PG_SRC_URL");
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL;
	char url[512];
	const char *at, *port;
	int rc;

	if (!su)
		return;
	/* unreachable port */
	{
		tl_endpoint ep = {.db_type = "pg", .url = "postgres://postgres:s3cretpw@127.0.0.1:1/postgres",
				  .username = NULL, .password = NULL, .app_name = "t"};
		rc = tl_driver_pg.connect(&ep, &c, &err);
		TL_CHECK_EQ_INT(rc, TL_ERR_DB);
		TL_CHECK(c == NULL);
		TL_CHECK_MSG(strstr(err.message, "cannot connect to pg at 127.0.0.1:1") != NULL, "%s", err.message);
		TL_CHECK_MSG(strstr(err.message, "s3cretpw") == NULL, "password leaked: %s", err.message);
	}
	/* a role that does not exist, password given both ways */
	at = strchr(su, '@');
	port = at ? strchr(at, ':') : NULL;
	TL_CHECK(port != NULL);
	if (!port)
		return;
	snprintf(url, sizeof(url), "postgresql://no_such_role:s3cretpw@127.0.0.1%s", port);
	{
		tl_endpoint ep = {.db_type = "pg", .url = url, .username = "no_such_role", .password = "0therpw",
				  .app_name = "t"};
		tl_error_clear(&err);
		rc = tl_driver_pg.connect(&ep, &c, &err);
		TL_CHECK_EQ_INT(rc, TL_ERR_DB);
		TL_CHECK_MSG(strstr(err.message, "cannot connect to pg at 127.0.0.1:") != NULL, "%s", err.message);
		TL_CHECK_MSG(strstr(err.message, "no_such_role") != NULL, "%s", err.message);
		TL_CHECK_MSG(strstr(err.message, "s3cretpw") == NULL && strstr(err.message, "0therpw") == NULL,
			     "password leaked: %s", err.message);
	}
	/* username override wins over the URL's user */
	snprintf(url, sizeof(url), "postgres://no_such_role:x@127.0.0.1%s", port);
	{
		tl_endpoint ep = {.db_type = "pg", .url = url, .username = "postgres", .password = "", .app_name = "t"};
		tl_error_clear(&err);
		rc = tl_driver_pg.connect(&ep, &c, &err);
		TL_CHECK_MSG(rc == 0, "override: %s", err.message);
		tl_driver_pg.disconnect(c);
		tl_driver_pg.disconnect(NULL);
	}
}

TL_TEST(pg_types_roundtrip)
{
	static const char ddl[] =
		"DROP TABLE IF EXISTS tl_pgt.alltypes; DROP TYPE IF EXISTS tl_pgt.mood;"
		"CREATE TYPE tl_pgt.mood AS ENUM ('sad', 'ok', 'happy');"
		"CREATE TABLE tl_pgt.alltypes (id serial PRIMARY KEY, n numeric(20,8), nn numeric, i integer,"
		" bi bigint, si smallint, r real, d double precision, v varchar(20), t text, b bytea,"
		" ts timestamp, ts3 timestamp(3), tstz timestamptz, dt date, tm time, tmtz timetz, iv interval,"
		" js json, jb jsonb, u uuid, arr integer[], tarr text[], bo boolean, c char(5), e tl_pgt.mood,"
		" ip inet, bits bit varying(8), pt point, gid integer GENERATED ALWAYS AS IDENTITY)";
	static const char rows[] =
		"INSERT INTO tl_pgt.alltypes (n, nn, i, bi, si, r, d, v, t, b, ts, ts3, tstz, dt, tm, tmtz, iv, js, jb,"
		" u, arr, tarr, bo, c, e, ip, bits, pt) VALUES"
		" (123456789012.12345678, 1e-30, -2147483648, 9223372036854775807, -32768, 3.4028235e38,"
		"  0.1, 'héllo', E'tab\\there\\nnew\\\\line\\r\\\\N', '\\x00ff5c0a09'::bytea,"
		"  '2024-02-29 23:59:59.123456', '1999-12-31 00:00:00.5', '2024-01-01 12:00:00+05:30', '0001-01-01 BC',"
		"  '24:00:00', '10:00:00+02', '1 year 2 mons -3 days 04:05:06.789', '{\"a\": [1, 2.50]}',"
		"  '{\"b\": {\"c\": null}}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,3}',"
		"  '{\"x y\",\"\\\\\\\"q\",NULL}', true, 'ab', 'happy', '10.0.0.1/8', B'101', '(1.5,2)'),"
		" (-0.00000001, 'NaN', 0, -1, 0, 'NaN', '-Infinity', '', '', ''::bytea, 'infinity',"
		"  '-infinity', '1970-01-01 00:00:00+00', '2000-01-01', '00:00:00', '00:00:00-12', '0',"
		"  'null', '[]', '00000000-0000-0000-0000-000000000000', '{}', '{}', false, '     ', 'sad',"
		"  '::1', B'', '(0,0)'),"
		" (NULL, NULL, NULL, NULL, NULL, '-0', 1e-308, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
		"  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
		" (1, 2, 3, 4, 5, 6.5, 7.25, E'quote''\"', E'\\u00e9\\u4e16\\U0001F600', '\\xdeadbeef',"
		"  '2024-06-01 01:02:03', '2024-06-01 01:02:03.999', '2024-06-01 01:02:03.000001-07',"
		"  '2024-06-01', '13:14:15.5', '13:14:15.5+00', '-1 days', '\"s\"', '123', gen_random_uuid(),"
		"  '{{1,2},{3,4}}', '{\"\"}', NULL, 'abcde', 'ok', '192.168.0.1', B'11111111', '(-1,-1e10)')";
	struct env e;
	tl_table *t = NULL;
	tl_read_spec spec = {TL_READ_KEYED, NULL, NULL, NULL, 3, NULL, 0};
	tl_error err = TL_ERROR_INIT;
	int is_empty = 0;
	int i;

	if (env_open(&e))
		goto done;
	if (both(&e, ddl) || run(e.src, rows))
		goto done;
	/* enough rows to split statements (>1000 rows per write) */
	if (run(e.src, "INSERT INTO tl_pgt.alltypes (n, t, b, arr) SELECT g / 7.0, repeat('x', g % 50), "
		       "decode(md5(g::text), 'hex'), ARRAY[g, g + 1] FROM generate_series(1, 2600) g"))
		goto done;
	t = describe(e.s, "tl_pgt", "alltypes");
	if (!t)
		goto done;
	TL_CHECK_EQ_INT(t->key_kind, TL_KEYK_PRIMARY);
	TL_CHECK_EQ_INT(t->nkeys, 1);
	TL_CHECK_EQ_STR(t->cols[t->key_idx[0]].name, "id");
	TL_CHECK_EQ_STR(t->cols[1].type, "numeric(20,8)");
	TL_CHECK_EQ_INT(t->cols[0].kind, TL_COL_INT);
	TL_CHECK_EQ_INT(t->cols[0].nullable, 0);
	for (i = 0; i < (int)t->ncols; i++) {
		const char *nm = t->cols[i].name;
		int k = t->cols[i].kind;
		if (!strcmp(nm, "n"))
			TL_CHECK_EQ_INT(k, TL_COL_DECIMAL);
		if (!strcmp(nm, "r"))
			TL_CHECK_EQ_INT(k, TL_COL_FLOAT);
		if (!strcmp(nm, "v") || !strcmp(nm, "u") || !strcmp(nm, "e") || !strcmp(nm, "c"))
			TL_CHECK_EQ_INT(k, TL_COL_TEXT);
		if (!strcmp(nm, "b"))
			TL_CHECK_EQ_INT(k, TL_COL_BINARY);
		if (!strcmp(nm, "tstz") || !strcmp(nm, "iv"))
			TL_CHECK_EQ_INT(k, TL_COL_DATE);
		if (!strcmp(nm, "bo"))
			TL_CHECK_EQ_INT(k, TL_COL_BOOL);
		if (!strcmp(nm, "jb"))
			TL_CHECK_EQ_INT(k, TL_COL_JSON);
		if (!strcmp(nm, "arr") || !strcmp(nm, "ip"))
			TL_CHECK_EQ_INT(k, TL_COL_OTHER);
		if (!strcmp(nm, "v"))
			TL_CHECK(t->cols[i].nullable);
	}

	/* COPY path into an empty target */
	TL_CHECK_OK(tl_driver_pg.check_target(e.d, t, &is_empty, &err), &err);
	TL_CHECK(is_empty);
	TL_CHECK_EQ_INT(copy_with(&e, t, &spec, TL_WRITE_TARGET_EMPTY | TL_WRITE_UPSERT), 2604);
	check_same(&e, "tl_pgt.alltypes", "id");
	TL_CHECK_OK(tl_driver_pg.check_target(e.d, t, &is_empty, &err), &err);
	TL_CHECK(!is_empty);

	/* checksum agrees on both sides, for the whole table and for a range */
	{
		int64_t r1, r2;
		uint64_t s1, s2;
		TL_CHECK_OK(tl_driver_pg.checksum(e.s, t, NULL, NULL, &r1, &s1, &err), &err);
		TL_CHECK_OK(tl_driver_pg.checksum(e.d, t, NULL, NULL, &r2, &s2, &err), &err);
		TL_CHECK_EQ_INT(r1, 2604);
		TL_CHECK_EQ_INT(r2, 2604);
		TL_CHECK(s1 == s2 && s1 != 0);
		TL_CHECK_OK(tl_driver_pg.checksum(e.s, t, "10", "20", &r1, &s1, &err), &err);
		TL_CHECK_EQ_INT(r1, 10);
		run(e.dst, "UPDATE tl_pgt.alltypes SET t = 'changed' WHERE id = 15");
		TL_CHECK_OK(tl_driver_pg.checksum(e.d, t, "10", "20", &r2, &s2, &err), &err);
		TL_CHECK_EQ_INT(r2, 10);
		TL_CHECK(s1 != s2);
	}

	/* upsert path: over the changed copy (fixes it), then again (idempotent) */
	TL_CHECK_EQ_INT(copy_with(&e, t, &spec, TL_WRITE_UPSERT), 2604);
	check_same(&e, "tl_pgt.alltypes", "id");
	run(e.dst, "TRUNCATE tl_pgt.alltypes");
	spec.batch_rows = 2604; /* one write of 2604 rows: 1000 + 1000 + 512 + 64 + 16 + 8 + 4 */
	TL_CHECK_EQ_INT(copy_with(&e, t, &spec, TL_WRITE_UPSERT), 2604);
	TL_CHECK_EQ_INT(copy_with(&e, t, &spec, TL_WRITE_UPSERT), 2604);
	check_same(&e, "tl_pgt.alltypes", "id");
	TL_CHECK_EQ_INT(count_of(e.dst, "SELECT count(*) FROM tl_pgt.alltypes"), 2604);
	{
		int64_t n = 0;
		TL_CHECK_OK(tl_driver_pg.count_rows(e.d, t, &n, &err), &err);
		TL_CHECK_EQ_INT(n, 2604);
	}
done:
	tl_driver_pg.free_table(t);
	env_close(&e);
}

/*
 * Same-driver pass-through (tl_read_spec.native): COPY text lines (level 1) and binary
 * tuples (level 2) go to the target unchanged; the result must equal the cell path, keys
 * of the last row must render the same, and native_form must allow binary only for
 * identical built-in column types with an integer key.
 */
TL_TEST(pg_native_passthrough)
{
	static const char ddl[] =
		"DROP TABLE IF EXISTS tl_pgt.nat; CREATE TABLE tl_pgt.nat (id bigint PRIMARY KEY, s smallint,"
		" n numeric(12,3), t text, b bytea, ts timestamptz, arr int[], j jsonb, f float8, bo boolean)";
	static const char rows[] =
		"INSERT INTO tl_pgt.nat SELECT g, (g % 100)::smallint, g / 3.0, CASE WHEN g % 9 = 0 THEN NULL"
		" WHEN g % 9 = 1 THEN E'\\N' WHEN g % 9 = 2 THEN E'a\tb\nc\\d\re\bf\fg\vh' ELSE 'row ' || g END,"
		" decode(md5(g::text), 'hex'), '2024-01-01'::timestamptz + g * interval '1 second', ARRAY[g, NULL],"
		" jsonb_build_object('g', g), g * 0.1, g % 2 = 0 FROM generate_series(-50, 5000) g";
	struct env e;
	tl_table *t = NULL, *at = NULL;
	tl_read_spec spec = {TL_READ_KEYED, NULL, NULL, NULL, 700, NULL, 0};
	tl_error err = TL_ERROR_INIT;
	tl_keyvals k0 = {0, NULL, NULL}, k1 = {0, NULL, NULL}, k2 = {0, NULL, NULL};
	int is_empty = 0, level = -1;

	if (env_open(&e))
		goto done;
	if (both(&e, ddl) || run(e.src, rows))
		goto done;
	t = describe(e.s, "tl_pgt", "nat");
	if (!t)
		goto done;
	TL_CHECK_OK(tl_driver_pg.check_target(e.d, t, &is_empty, &err), &err);
	TL_CHECK(is_empty);
	TL_CHECK_OK(tl_driver_pg.native_form(e.d, t, &level, &err), &err);
	TL_CHECK_EQ_INT(level, 2);

	/* the last key is the same in all three forms */
	TL_CHECK_EQ_INT(read_all(e.s, t, &spec, &k0, &err), 5051);
	spec.native = 1;
	TL_CHECK_EQ_INT(read_all(e.s, t, &spec, &k1, &err), 5051);
	spec.native = 2;
	TL_CHECK_EQ_INT(read_all(e.s, t, &spec, &k2, &err), 5051);
	TL_CHECK(k0.n == 1 && k1.n == 1 && k2.n == 1);
	if (k0.n == 1 && k1.n == 1 && k2.n == 1) {
		TL_CHECK_EQ_STR(k0.vals[0], "5000");
		TL_CHECK_EQ_STR(k1.vals[0], "5000");
		TL_CHECK_EQ_STR(k2.vals[0], "5000");
	}

	/* binary tuples into the empty target, text lines likewise, then text lines upserted */
	TL_CHECK_EQ_INT(copy_with(&e, t, &spec, TL_WRITE_TARGET_EMPTY | TL_WRITE_UPSERT), 5051);
	check_same(&e, "tl_pgt.nat", "id");
	run(e.dst, "TRUNCATE tl_pgt.nat");
	spec.native = 1;
	TL_CHECK_EQ_INT(copy_with(&e, t, &spec, TL_WRITE_TARGET_EMPTY | TL_WRITE_UPSERT), 5051);
	check_same(&e, "tl_pgt.nat", "id");
	run(e.dst, "UPDATE tl_pgt.nat SET t = 'changed', b = NULL WHERE id % 10 = 3");
	TL_CHECK_EQ_INT(copy_with(&e, t, &spec, TL_WRITE_UPSERT), 5051);
	check_same(&e, "tl_pgt.nat", "id");
	/* resume after a key, binary */
	{
		const char *cols[1] = {"id"}, *vals[1] = {"4000"};
		tl_keyvals after = {0, NULL, NULL};
		TL_CHECK_OK(tl_keyvals_set(&after, 1, cols, vals, &err), &err);
		run(e.dst, "DELETE FROM tl_pgt.nat WHERE id > 4000");
		spec.native = 2;
		spec.after = &after;
		TL_CHECK_EQ_INT(copy_with(&e, t, &spec, TL_WRITE_UPSERT | TL_WRITE_TARGET_EMPTY), 1000);
		check_same(&e, "tl_pgt.nat", "id");
		spec.after = NULL;
		tl_keyvals_clear(&after);
	}

	/* closing a reader in the middle of its COPY leaves the connection usable */
	{
		tl_reader *r = NULL;
		tl_batch b;
		int64_t n = 0;
		tl_batch_init(&b, t->ncols, 1 << 20);
		spec.batch_rows = 10;
		TL_CHECK_OK(tl_driver_pg.open_reader(e.s, t, &spec, &r, &err), &err);
		if (r) {
			TL_CHECK_OK(tl_driver_pg.read_batch(r, &b, &err), &err);
			TL_CHECK_EQ_INT(b.nrows, 10);
			tl_driver_pg.close_reader(r);
		}
		TL_CHECK_OK(tl_driver_pg.count_rows(e.s, t, &n, &err), &err);
		TL_CHECK_EQ_INT(n, 5051);
		tl_batch_release(&b);
		spec.batch_rows = 700;
	}

	/* a different column type on the target: text lines only */
	run(e.dst, "ALTER TABLE tl_pgt.nat ALTER COLUMN s TYPE integer");
	TL_CHECK_OK(tl_driver_pg.native_form(e.d, t, &level, &err), &err);
	TL_CHECK_EQ_INT(level, 1);
	/* a user-defined type (enum in alltypes) or a non-integer key: text lines only */
	at = describe(e.s, "tl_pgt", "alltypes");
	if (at) {
		TL_CHECK_OK(tl_driver_pg.native_form(e.d, at, &level, &err), &err);
		TL_CHECK_EQ_INT(level, 1);
	}
done:
	tl_keyvals_clear(&k0);
	tl_keyvals_clear(&k1);
	tl_keyvals_clear(&k2);
	tl_driver_pg.free_table(t);
	tl_driver_pg.free_table(at);
	env_close(&e);
}

TL_TEST(pg_hostile_names)
{
	struct env e;
	tl_table *t = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_keyvals after = {0, NULL, NULL}, last = {0, NULL, NULL};
	const char *cols[1] = {"p.k"}, *vals[1] = {"1"};
	tl_read_spec spec = {TL_READ_KEYED, NULL, NULL, NULL, 10, NULL, 0};
	tl_name_list names = {0, NULL};
	size_t i;
	int found = 0, is_empty = 0;

	if (env_open(&e))
		goto done;
	if (both(&e, "DROP SCHEMA IF EXISTS \"test_db_*.*\" CASCADE; CREATE SCHEMA \"test_db_*.*\";"
		     "CREATE TABLE \"test_db_*.*\".\"resume_table_*$5\"(\"p.k\" serial, \"we\"\"ird col\" text,"
		     " val numeric(20,8), PRIMARY KEY(\"p.k\"))"))
		goto done;
	if (run(e.src, "INSERT INTO \"test_db_*.*\".\"resume_table_*$5\" VALUES (1, 'a\"b', 30), (2, 'c''d', 30),"
		       " (3, NULL, NULL)"))
		goto done;
	TL_CHECK_OK(tl_driver_pg.list_tables(e.s, &names, &err), &err);
	for (i = 0; i < names.n; i++) {
		TL_CHECK(strcmp(names.items[i].schema, "pg_catalog") && strcmp(names.items[i].schema, "information_schema"));
		if (i)
			TL_CHECK(strcmp(names.items[i - 1].schema, names.items[i].schema) < 0 ||
				 (strcmp(names.items[i - 1].schema, names.items[i].schema) == 0 &&
				  strcmp(names.items[i - 1].name, names.items[i].name) < 0));
		found |= !strcmp(names.items[i].schema, "test_db_*.*") && !strcmp(names.items[i].name, "resume_table_*$5");
	}
	TL_CHECK(found);
	tl_name_list_clear(&names);

	t = describe(e.s, "test_db_*.*", "resume_table_*$5");
	if (!t)
		goto done;
	TL_CHECK_EQ_INT(t->ncols, 3);
	TL_CHECK_EQ_STR(t->cols[1].name, "we\"ird col");
	TL_CHECK_EQ_INT(t->nkeys, 1);
	TL_CHECK_EQ_STR(t->cols[t->key_idx[0]].name, "p.k");
	TL_CHECK_OK(tl_driver_pg.check_target(e.d, t, &is_empty, &err), &err);
	TL_CHECK(is_empty);
	TL_CHECK_OK(tl_keyvals_set(&after, 1, cols, vals, &err), &err);
	spec.after = &after;
	TL_CHECK_EQ_INT(read_all(e.s, t, &spec, &last, &err), 2);
	TL_CHECK_EQ_INT(last.n, 1);
	if (last.n == 1) {
		TL_CHECK_EQ_STR(last.cols[0], "p.k");
		TL_CHECK_EQ_STR(last.vals[0], "3");
	}
	TL_CHECK_EQ_INT(copy_with(&e, t, &spec, TL_WRITE_TARGET_EMPTY), 2); /* COPY into hostile names */
	spec.after = NULL;
	TL_CHECK_EQ_INT(copy_with(&e, t, &spec, TL_WRITE_UPSERT), 3);
	check_same(&e, "\"test_db_*.*\".\"resume_table_*$5\"", "\"p.k\"");
	{
		char *after_s = NULL;
		TL_CHECK_OK(tl_driver_pg.next_bound(e.s, t, NULL, 2, &after_s, &err), &err);
		TL_CHECK_EQ_STR(after_s, "2");
		free(after_s);
	}
	TL_CHECK_OK(tl_driver_pg.delete_after(e.d, t, "1", 0, &err), &err);
	TL_CHECK_EQ_INT(count_of(e.dst, "SELECT count(*) FROM \"test_db_*.*\".\"resume_table_*$5\""), 1);
done:
	tl_keyvals_clear(&after);
	tl_keyvals_clear(&last);
	tl_driver_pg.free_table(t);
	env_close(&e);
}

TL_TEST(pg_bytea_composite_resume)
{
	struct env e;
	tl_table *t = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_keyvals after = {0, NULL, NULL}, last = {0, NULL, NULL};
	const char *cols[2] = {"category_id", "binary_id"};
	const char *vals[2] = {"cat1", "e4bda0e5a5bde4b896e7958c30"};
	const char *vals_x[2] = {"cat1", "\\xE4BDA0E5A5BDE4B896E7958C30"};
	tl_read_spec spec = {TL_READ_KEYED, NULL, NULL, NULL, 1, NULL, 0};

	if (env_open(&e))
		goto done;
	if (both(&e, "DROP TABLE IF EXISTS tl_pgt.bytea_pk_test; CREATE TABLE tl_pgt.bytea_pk_test ("
		     " category_id VARCHAR(50), binary_id BYTEA, description TEXT,"
		     " created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,"
		     " CONSTRAINT pk_bytea_pk_test PRIMARY KEY (category_id, binary_id))"))
		goto done;
	if (run(e.src, "INSERT INTO tl_pgt.bytea_pk_test (category_id, binary_id, description) VALUES"
		       " ('cat1', '你好世界0', 'a'), ('cat1', '你好世界1', 'b'), ('cat2', 'hello world', 'c')"))
		goto done;
	t = describe(e.s, "tl_pgt", "bytea_pk_test");
	if (!t)
		goto done;
	TL_CHECK_EQ_INT(t->nkeys, 2);
	TL_CHECK_EQ_INT(t->key_kind, TL_KEYK_PRIMARY);
	TL_CHECK_EQ_INT(t->cols[t->key_idx[1]].kind, TL_COL_BINARY);
	/* first row's key renders as lowercase hex */
	spec.batch_rows = 1;
	{
		tl_reader *r = NULL;
		tl_batch b;
		tl_batch_init(&b, t->ncols, 1 << 16);
		TL_CHECK_OK(tl_driver_pg.open_reader(e.s, t, &spec, &r, &err), &err);
		TL_CHECK_OK(tl_driver_pg.read_batch(r, &b, &err), &err);
		TL_CHECK_EQ_INT(b.nrows, 1);
		TL_CHECK_OK(tl_driver_pg.row_key(t, &b, 0, t->key_idx, t->nkeys, &last, &err), &err);
		TL_CHECK_EQ_STR(last.vals[0], "cat1");
		TL_CHECK_EQ_STR(last.vals[1], "e4bda0e5a5bde4b896e7958c30");
		TL_CHECK_EQ_STR(last.cols[1], "binary_id");
		tl_driver_pg.close_reader(r);
		tl_batch_release(&b);
	}
	TL_CHECK_OK(tl_keyvals_set(&after, 2, cols, vals, &err), &err);
	spec.after = &after;
	TL_CHECK_EQ_INT(read_all(e.s, t, &spec, &last, &err), 2);
	TL_CHECK_EQ_STR(last.vals[0], "cat2");
	TL_CHECK_EQ_STR(last.vals[1], "68656c6c6f20776f726c64");
	TL_CHECK_OK(tl_keyvals_set(&after, 2, cols, vals_x, &err), &err);
	TL_CHECK_EQ_INT(read_all(e.s, t, &spec, NULL, &err), 2);
	TL_CHECK_EQ_INT(copy_with(&e, t, &spec, TL_WRITE_UPSERT), 2);
	TL_CHECK_EQ_INT(count_of(e.dst, "SELECT count(*) FROM tl_pgt.bytea_pk_test"), 2);
	/* bytea partition: bounds come back as hex and go in as hex */
	{
		char *lo = NULL, *hi = NULL;
		tl_read_spec rs = {TL_READ_RANGE, NULL, NULL, NULL, 10, NULL, 0};
		TL_CHECK_OK(tl_driver_pg.part_minmax(e.s, t, &lo, &hi, &err), &err);
		TL_CHECK_EQ_STR(lo, "cat1");
		TL_CHECK_EQ_STR(hi, "cat2");
		rs.lo = lo;
		TL_CHECK_EQ_INT(read_all(e.s, t, &rs, NULL, &err), 1);
		free(lo);
		free(hi);
	}
	/* bad hex is a mismatch naming the column */
	{
		const char *bad[2] = {"cat1", "zz"};
		tl_reader *r = NULL;
		TL_CHECK_OK(tl_keyvals_set(&after, 2, cols, bad, &err), &err);
		TL_CHECK_EQ_INT(tl_driver_pg.open_reader(e.s, t, &spec, &r, &err), TL_ERR_MISMATCH);
		TL_CHECK_MSG(strstr(err.message, "\"binary_id\"") && strstr(err.message, "'zz'"), "%s", err.message);
		TL_CHECK(r == NULL);
	}
done:
	tl_keyvals_clear(&after);
	tl_keyvals_clear(&last);
	tl_driver_pg.free_table(t);
	env_close(&e);
}

TL_TEST(pg_null_pass_and_keys)
{
	struct env e;
	tl_table *t = NULL, *t2 = NULL, *t3 = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_keyvals after = {0, NULL, NULL};
	const char *cols[2] = {"uk1", "uk2"};
	const char *vals[2] = {"6", "6"};
	tl_read_spec spec = {TL_READ_KEYED, NULL, NULL, NULL, 4, NULL, 0};

	if (env_open(&e))
		goto done;
	if (both(&e, "DROP TABLE IF EXISTS tl_pgt.nck; CREATE TABLE tl_pgt.nck (uk1 int, uk2 varchar(10), val int,"
		     " UNIQUE(uk1, uk2));"
		     "DROP TABLE IF EXISTS tl_pgt.keys; CREATE TABLE tl_pgt.keys (a int NOT NULL, b int NOT NULL,"
		     " c int NOT NULL, d int, CONSTRAINT zz UNIQUE (a, b), CONSTRAINT yy UNIQUE (c, a),"
		     " CONSTRAINT aa UNIQUE (d), CONSTRAINT xx UNIQUE (b));"
		     "DROP TABLE IF EXISTS tl_pgt.onlykey; CREATE TABLE tl_pgt.onlykey (a int, b text, PRIMARY KEY (a, b))"))
		goto done;
	if (run(e.src, "INSERT INTO tl_pgt.nck VALUES(1, '1', 1),(2, '2', 2),(3, '3', 3),(4, '4', 4),(5, '5', 5),"
		       "(6, '6', 6),(7, NULL, 7),(NULL, '8', 8),(NULL, 'null', 9),(NULL, NULL, 10),(NULL, NULL, NULL),"
		       "(NULL, NULL, NULL); INSERT INTO tl_pgt.onlykey VALUES (1, 'a'), (2, 'b')"))
		goto done;
	t = describe(e.s, "tl_pgt", "nck");
	t2 = describe(e.s, "tl_pgt", "keys");
	t3 = describe(e.s, "tl_pgt", "onlykey");
	if (!t || !t2 || !t3)
		goto done;
	TL_CHECK_EQ_INT(t->key_kind, TL_KEYK_UNIQUE_NULLABLE);
	TL_CHECK_EQ_INT(t->nkeys, 2);
	TL_CHECK_EQ_INT(t->part_idx, 0);
	/* NOT NULL unique keys win over a shorter nullable one; fewest columns; ties by name */
	TL_CHECK_EQ_INT(t2->key_kind, TL_KEYK_UNIQUE);
	TL_CHECK_EQ_INT(t2->nkeys, 1);
	TL_CHECK_EQ_STR(t2->cols[t2->key_idx[0]].name, "b");
	TL_CHECK_OK(tl_keyvals_set(&after, 2, cols, vals, &err), &err);
	spec.after = &after;
	TL_CHECK_EQ_INT(read_all(e.s, t, &spec, NULL, &err), 0);
	spec.after = NULL;
	TL_CHECK_EQ_INT(copy_with(&e, t, &spec, TL_WRITE_UPSERT), 6);
	spec.mode = TL_READ_KEY_NULLS;
	TL_CHECK_EQ_INT(copy_with(&e, t, &spec, TL_WRITE_UPSERT), 6);
	check_same(&e, "tl_pgt.nck", "x.uk1, x.uk2, x.val");
	/* the NULL pass rows are not upsertable: a second pass duplicates them (ape-dts too) */
	TL_CHECK_EQ_INT(copy_with(&e, t, &spec, TL_WRITE_UPSERT), 6);
	TL_CHECK_EQ_INT(count_of(e.dst, "SELECT count(*) FROM tl_pgt.nck"), 18);
	TL_CHECK_OK(tl_driver_pg.delete_after(e.d, t, NULL, 1, &err), &err);
	TL_CHECK_EQ_INT(count_of(e.dst, "SELECT count(*) FROM tl_pgt.nck"), 8);
	TL_CHECK_OK(tl_driver_pg.delete_after(e.d, t, "3", 0, &err), &err);
	TL_CHECK_EQ_INT(count_of(e.dst, "SELECT count(*) FROM tl_pgt.nck"), 3);
	TL_CHECK_OK(tl_driver_pg.delete_after(e.d, t, NULL, 0, &err), &err);
	TL_CHECK_EQ_INT(count_of(e.dst, "SELECT count(*) FROM tl_pgt.nck"), 0);
	/* a NULL resume value matches nothing (ape-dts: k > NULL) */
	{
		const char *nv[2] = {NULL, NULL};
		TL_CHECK_OK(tl_keyvals_set(&after, 2, cols, nv, &err), &err);
		spec.mode = TL_READ_KEYED;
		spec.after = &after;
		TL_CHECK_EQ_INT(read_all(e.s, t, &spec, NULL, &err), 0);
	}
	/* a table of only key columns upserts with DO NOTHING */
	spec.after = NULL;
	TL_CHECK_EQ_INT(copy_with(&e, t3, &spec, TL_WRITE_UPSERT), 2);
	TL_CHECK_EQ_INT(copy_with(&e, t3, &spec, TL_WRITE_UPSERT), 2);
	TL_CHECK_EQ_INT(count_of(e.dst, "SELECT count(*) FROM tl_pgt.onlykey"), 2);
done:
	tl_keyvals_clear(&after);
	tl_driver_pg.free_table(t);
	tl_driver_pg.free_table(t2);
	tl_driver_pg.free_table(t3);
	env_close(&e);
}

TL_TEST(pg_range_and_keyless)
{
	struct env e;
	tl_table *t = NULL, *k = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_read_spec spec = {TL_READ_RANGE, NULL, NULL, NULL, 7, NULL, 0};
	char *b = NULL, *mn = NULL, *mx = NULL;

	if (env_open(&e))
		goto done;
	if (both(&e, "DROP TABLE IF EXISTS tl_pgt.rng; CREATE TABLE tl_pgt.rng (id bigint PRIMARY KEY, v text);"
		     "DROP TABLE IF EXISTS tl_pgt.nokey; CREATE TABLE tl_pgt.nokey (p date, v text)"))
		goto done;
	if (run(e.src, "INSERT INTO tl_pgt.rng SELECT g * 2, 'v' || g FROM generate_series(1, 50) g;"
		       "INSERT INTO tl_pgt.nokey VALUES ('2024-01-01', 'a'), ('2024-01-01', 'a'), ('2024-01-02', 'b'),"
		       " (NULL, 'n'), (NULL, 'n')"))
		goto done;
	t = describe(e.s, "tl_pgt", "rng");
	k = describe(e.s, "tl_pgt", "nokey");
	if (!t || !k)
		goto done;
	TL_CHECK_OK(tl_driver_pg.part_minmax(e.s, t, &mn, &mx, &err), &err);
	TL_CHECK_EQ_STR(mn, "2");
	TL_CHECK_EQ_STR(mx, "100");
	TL_CHECK_OK(tl_driver_pg.next_bound(e.s, t, NULL, 10, &b, &err), &err);
	TL_CHECK_EQ_STR(b, "20");
	free(b);
	TL_CHECK_OK(tl_driver_pg.next_bound(e.s, t, "20", 10, &b, &err), &err);
	TL_CHECK_EQ_STR(b, "40");
	free(b);
	TL_CHECK_OK(tl_driver_pg.next_bound(e.s, t, "95", 10, &b, &err), &err);
	TL_CHECK_EQ_STR(b, "100");
	free(b);
	TL_CHECK_OK(tl_driver_pg.next_bound(e.s, t, "100", 10, &b, &err), &err);
	TL_CHECK(b == NULL);
	free(b);
	b = NULL;
	spec.lo = "20";
	spec.hi = "40";
	TL_CHECK_EQ_INT(read_all(e.s, t, &spec, NULL, &err), 10);
	spec.lo = NULL;
	TL_CHECK_EQ_INT(read_all(e.s, t, &spec, NULL, &err), 20);
	spec.lo = "90";
	spec.hi = NULL;
	TL_CHECK_EQ_INT(read_all(e.s, t, &spec, NULL, &err), 5);
	spec.where = "v <> 'v50'";
	TL_CHECK_EQ_INT(read_all(e.s, t, &spec, NULL, &err), 4);
	spec.where = NULL;
	/* keyless: part column is the first column; no ON CONFLICT, duplicates kept */
	TL_CHECK_EQ_INT(k->key_kind, TL_KEYK_NONE);
	TL_CHECK_EQ_INT(k->nkeys, 0);
	TL_CHECK_EQ_INT(k->part_idx, 0);
	spec.lo = spec.hi = NULL;
	TL_CHECK_EQ_INT(copy_with(&e, k, &spec, TL_WRITE_UPSERT), 3);
	spec.mode = TL_READ_PART_NULLS;
	TL_CHECK_EQ_INT(copy_with(&e, k, &spec, TL_WRITE_UPSERT), 2);
	check_same(&e, "tl_pgt.nokey", "x.p, x.v");
	spec.mode = TL_READ_SCAN;
	TL_CHECK_EQ_INT(copy_with(&e, k, &spec, 0), 5);
	TL_CHECK_EQ_INT(count_of(e.dst, "SELECT count(*) FROM tl_pgt.nokey"), 10);
	TL_CHECK_OK(tl_driver_pg.delete_after(e.d, k, "2024-01-01", 0, &err), &err);
	TL_CHECK_EQ_INT(count_of(e.dst, "SELECT count(*) FROM tl_pgt.nokey"), 8);
	/* a date resume value the server cannot cast is a mismatch */
	spec.mode = TL_READ_RANGE;
	spec.lo = "not-a-date";
	{
		tl_reader *r = NULL;
		TL_CHECK_EQ_INT(tl_driver_pg.open_reader(e.s, k, &spec, &r, &err), TL_ERR_MISMATCH);
		TL_CHECK_MSG(strstr(err.message, "'not-a-date'") && strstr(err.message, "\"p\"") &&
				     strstr(err.message, "\"tl_pgt\".\"nokey\""),
			     "%s", err.message);
		TL_CHECK_EQ_STR(err.sqlstate, "22007");
		TL_CHECK_EQ_INT(tl_driver_pg.delete_after(e.d, k, "not-a-date", 0, &err), TL_ERR_MISMATCH);
		TL_CHECK_MSG(strstr(err.message, "'not-a-date'") != NULL, "%s", err.message);
	}
	/* the connection is still usable after a failed open */
	spec.lo = NULL;
	TL_CHECK_EQ_INT(read_all(e.s, k, &spec, NULL, &err), 3);
done:
	free(mn);
	free(mx);
	tl_driver_pg.free_table(t);
	tl_driver_pg.free_table(k);
	env_close(&e);
}

TL_TEST(pg_bad_resume_value)
{
	struct env e;
	tl_table *t = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_keyvals after = {0, NULL, NULL};
	const char *cols[1] = {"p.k"}, *vals[1] = {"abc"};
	tl_read_spec spec = {TL_READ_KEYED, NULL, NULL, NULL, 10, NULL, 0};
	tl_reader *r = NULL;
	char *b = NULL;

	if (env_open(&e))
		goto done;
	if (both(&e, "DROP TABLE IF EXISTS tl_pgt.\"s\"; CREATE TABLE tl_pgt.\"s\" (\"p.k\" integer PRIMARY KEY)"))
		goto done;
	t = describe(e.s, "tl_pgt", "s");
	if (!t)
		goto done;
	TL_CHECK_OK(tl_keyvals_set(&after, 1, cols, vals, &err), &err);
	spec.after = &after;
	TL_CHECK_EQ_INT(tl_driver_pg.open_reader(e.s, t, &spec, &r, &err), TL_ERR_MISMATCH);
	TL_CHECK_EQ_STR(err.message, "resume value 'abc' does not fit column \"p.k\" (integer) of \"tl_pgt\".\"s\"");
	TL_CHECK_EQ_INT(tl_driver_pg.next_bound(e.s, t, "abc", 10, &b, &err), TL_ERR_MISMATCH);
	/* out of range for int4: caught by the server, still a mismatch */
	vals[0] = "99999999999";
	TL_CHECK_OK(tl_keyvals_set(&after, 1, cols, vals, &err), &err);
	TL_CHECK_EQ_INT(tl_driver_pg.open_reader(e.s, t, &spec, &r, &err), TL_ERR_MISMATCH);
	TL_CHECK_MSG(strstr(err.message, "'99999999999'") != NULL, "%s", err.message);
	TL_CHECK(r == NULL);
done:
	free(b);
	tl_keyvals_clear(&after);
	tl_driver_pg.free_table(t);
	env_close(&e);
}

TL_TEST(pg_check_target)
{
	struct env e;
	tl_table *t = NULL;
	tl_error err = TL_ERROR_INIT;
	int is_empty = 1;

	if (env_open(&e))
		goto done;
	if (run(e.src, "DROP TABLE IF EXISTS tl_pgt.ct; CREATE TABLE tl_pgt.ct (id int PRIMARY KEY, \"A b\" text, c int)") ||
	    run(e.dst, "DROP TABLE IF EXISTS tl_pgt.ct; CREATE TABLE tl_pgt.ct (id int PRIMARY KEY, \"a b\" text, c int)"))
		goto done;
	t = describe(e.s, "tl_pgt", "ct");
	if (!t)
		goto done;
	TL_CHECK_EQ_INT(tl_driver_pg.check_target(e.d, t, &is_empty, &err), TL_ERR_MISMATCH);
	TL_CHECK_EQ_STR(err.message, "target table \"tl_pgt\".\"ct\" has no column \"A b\"");
	run(e.dst, "DROP TABLE tl_pgt.ct");
	TL_CHECK_EQ_INT(tl_driver_pg.check_target(e.d, t, &is_empty, &err), TL_ERR_NOTFOUND);
	TL_CHECK_MSG(strstr(err.message, "\"tl_pgt\".\"ct\"") != NULL, "%s", err.message);
	{
		tl_table *x = NULL;
		TL_CHECK_EQ_INT(tl_driver_pg.describe(e.s, "tl_pgt", "no_such", &x, &err), TL_ERR_NOTFOUND);
		TL_CHECK(x == NULL);
	}
	/* extra target columns are fine */
	run(e.dst, "CREATE TABLE tl_pgt.ct (id int PRIMARY KEY, \"A b\" text, c int, extra int DEFAULT 1)");
	TL_CHECK_OK(tl_driver_pg.check_target(e.d, t, &is_empty, &err), &err);
	TL_CHECK(is_empty);
done:
	tl_driver_pg.free_table(t);
	env_close(&e);
}

struct loaded {
	int n;
	char data[4][128];
};

static int collect(void *ctx, const tl_ape_row *row, tl_error *err)
{
	struct loaded *l = ctx;

	(void)err;
	if (l->n < 4)
		snprintf(l->data[l->n], sizeof(l->data[0]), "%s|%s|%s", row->resumer_type, row->position_key,
			 row->position_data ? row->position_data : "(null)");
	l->n++;
	return 0;
}

TL_TEST(pg_ape_store)
{
	struct env e;
	tl_error err = TL_ERROR_INIT;
	struct loaded l;
	tl_ape_row r1 = {"SnapshotDoing", "public-resume_table_1",
			 "{\"type\":\"RdbSnapshot\",\"db_type\":\"pg\",\"schema\":\"public\",\"tb\":\"resume_table_1\"}"};
	tl_ape_row r2 = {"SnapshotFinished", "test_db_*.*-finished_table_*$1", "{\"x\":1}"};

	if (env_open(&e))
		goto done;
	run(e.dst, "DROP SCHEMA IF EXISTS tl_ape_test CASCADE");
	memset(&l, 0, sizeof(l));
	/* missing store reads as empty */
	TL_CHECK_OK(tl_driver_pg.ape_store_load(e.d, "tl_ape_test", "ape_task_position", "t1", collect, &l, &err), &err);
	TL_CHECK_EQ_INT(l.n, 0);
	TL_CHECK_OK(tl_driver_pg.ape_store_forget(e.d, "tl_ape_test", "ape_task_position", "t1", &err), &err);
	TL_CHECK_OK(tl_driver_pg.ape_store_init(e.d, "tl_ape_test", "ape_task_position", &err), &err);
	TL_CHECK_OK(tl_driver_pg.ape_store_init(e.d, "tl_ape_test", "ape_task_position", &err), &err);
	/* a row seeded with an explicit id, as the fixtures do, must not collide with ours */
	run(e.dst, "INSERT INTO tl_ape_test.ape_task_position (id, task_id, resumer_type, position_key, position_data)"
		   " VALUES (1, 'other', 'SnapshotDoing', 'k', '{}')");
	TL_CHECK_OK(tl_driver_pg.ape_store_init(e.d, "tl_ape_test", "ape_task_position", &err), &err);
	TL_CHECK_OK(tl_driver_pg.ape_store_put(e.d, "tl_ape_test", "ape_task_position", "t1", &r1, &err), &err);
	TL_CHECK_OK(tl_driver_pg.ape_store_put(e.d, "tl_ape_test", "ape_task_position", "t1", &r2, &err), &err);
	r1.position_data = "{\"updated\":true}";
	TL_CHECK_OK(tl_driver_pg.ape_store_put(e.d, "tl_ape_test", "ape_task_position", "t1", &r1, &err), &err);
	TL_CHECK_OK(tl_driver_pg.ape_store_put(e.d, "tl_ape_test", "ape_task_position", "t1'; DROP TABLE x; --", &r1,
					       &err),
		    &err);
	TL_CHECK_OK(tl_driver_pg.ape_store_load(e.d, "tl_ape_test", "ape_task_position", "t1", collect, &l, &err), &err);
	TL_CHECK_EQ_INT(l.n, 2);
	TL_CHECK_EQ_STR(l.data[0], "SnapshotDoing|public-resume_table_1|{\"updated\":true}");
	TL_CHECK_EQ_STR(l.data[1], "SnapshotFinished|test_db_*.*-finished_table_*$1|{\"x\":1}");
	TL_CHECK_EQ_INT(count_of(e.dst, "SELECT count(*) FROM tl_ape_test.ape_task_position WHERE "
					"updated_at >= created_at AND task_id = 't1'"),
			2);
	TL_CHECK_OK(tl_driver_pg.ape_store_forget(e.d, "tl_ape_test", "ape_task_position", "t1", &err), &err);
	memset(&l, 0, sizeof(l));
	TL_CHECK_OK(tl_driver_pg.ape_store_load(e.d, "tl_ape_test", "ape_task_position", "t1", collect, &l, &err), &err);
	TL_CHECK_EQ_INT(l.n, 0);
	TL_CHECK_EQ_INT(count_of(e.dst, "SELECT count(*) FROM tl_ape_test.ape_task_position"), 2);
	TL_CHECK_EQ_INT(count_of(e.dst, "SELECT count(*) FROM pg_constraint WHERE conname = "
					"'uk_task_id_task_type_position_key' AND conrelid = "
					"'tl_ape_test.ape_task_position'::regclass"),
			1);
done:
	env_close(&e);
}

/* The ape-dts PG fixture tables: key choice and the resume positions they use. */
TL_TEST(pg_conformance_fixture)
{
	const char *conf = tl_test_conformance_dir();
	struct env e;
	tl_error err = TL_ERROR_INIT;
	char cmd[2048];
	tl_table *t = NULL;
	tl_keyvals after = {0, NULL, NULL};
	tl_read_spec spec = {TL_READ_KEYED, NULL, NULL, NULL, 100, NULL, 0};

	if (env_open(&e))
		goto done;
	if (!conf) {
		fprintf(stderr, "    (no conformance dir; fixture part skipped)\n");
		goto done;
	}
	snprintf(cmd, sizeof(cmd),
		 "PGOPTIONS='-c client_min_messages=warning' python3 %s/../tools/sqlrun.py --kind pg --url '%s' %s/v2.0.26/pg/resume_log_test/src_prepare.sql "
		 "%s/v2.0.26/pg/resume_log_test/src_test.sql >/dev/null",
		 tl_test_srcdir(), getenv("TL_PG_SRC_URL"), conf, conf);
	TL_CHECK_MSG(system(cmd) == 0, "loading fixture failed: %s", cmd);
	t = describe(e.s, "public", "resume_table_3");
	if (t) {
		const char *c2[2] = {"f_0", "f_1"}, *v2[2] = {"1", "30"};
		TL_CHECK_EQ_INT(t->nkeys, 2);
		TL_CHECK_OK(tl_keyvals_set(&after, 2, c2, v2, &err), &err);
		spec.after = &after;
		TL_CHECK_EQ_INT(read_all(e.s, t, &spec, NULL, &err), 1);
		tl_driver_pg.free_table(t);
	}
	t = describe(e.s, "public", "nullable_composite_unique_key_table");
	if (t) {
		const char *c2[2] = {"uk1", "uk2"}, *v2[2] = {"6", "6"};
		TL_CHECK_OK(tl_keyvals_set(&after, 2, c2, v2, &err), &err);
		spec.after = &after;
		spec.mode = TL_READ_KEYED;
		TL_CHECK_EQ_INT(read_all(e.s, t, &spec, NULL, &err), 0);
		spec.mode = TL_READ_KEY_NULLS;
		TL_CHECK_EQ_INT(read_all(e.s, t, &spec, NULL, &err), 6);
		tl_driver_pg.free_table(t);
	}
	t = describe(e.s, "public", "bytea_pk_test");
	if (t) {
		const char *c2[2] = {"category_id", "binary_id"}, *v2[2] = {"cat1", "e4bda0e5a5bde4b896e7958c30"};
		TL_CHECK_OK(tl_keyvals_set(&after, 2, c2, v2, &err), &err);
		spec.after = &after;
		spec.mode = TL_READ_KEYED;
		TL_CHECK_EQ_INT(read_all(e.s, t, &spec, NULL, &err), 2);
		tl_driver_pg.free_table(t);
	}
	t = describe(e.s, "test_db_*.*", "in_position_log_table_*$1");
	if (t) {
		const char *c1[1] = {"p.k"}, *v1[1] = {"1"};
		TL_CHECK_EQ_STR(t->cols[t->key_idx[0]].name, "p.k");
		TL_CHECK_OK(tl_keyvals_set(&after, 1, c1, v1, &err), &err);
		spec.after = &after;
		TL_CHECK_EQ_INT(read_all(e.s, t, &spec, NULL, &err), 1);
		tl_driver_pg.free_table(t);
	}
	t = NULL;
done:
	tl_keyvals_clear(&after);
	env_close(&e);
}

/* A batch that fills by bytes first hands out fewer rows; the rest come next time. */
TL_TEST(pg_batch_full_by_bytes)
{
	struct env e;
	tl_table *t = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_read_spec spec = {TL_READ_KEYED, NULL, NULL, NULL, 500, NULL, 0};
	tl_reader *r = NULL;
	tl_batch b;
	long long total = 0, calls = 0, sum = 0;

	tl_batch_init(&b, 0, 2000);
	if (env_open(&e))
		goto done;
	if (run(e.src, "DROP TABLE IF EXISTS tl_pgt.wide; CREATE TABLE tl_pgt.wide (id int PRIMARY KEY, v text);"
		       "INSERT INTO tl_pgt.wide SELECT g, repeat('y', 100) FROM generate_series(1, 1234) g"))
		goto done;
	t = describe(e.s, "tl_pgt", "wide");
	if (!t)
		goto done;
	tl_batch_set_ncols(&b, t->ncols);
	TL_CHECK_OK(tl_driver_pg.open_reader(e.s, t, &spec, &r, &err), &err);
	for (;;) {
		size_t i;
		tl_batch_reset(&b);
		TL_CHECK_OK(tl_driver_pg.read_batch(r, &b, &err), &err);
		if (b.nrows == 0)
			break;
		TL_CHECK(b.nrows <= 500);
		for (i = 0; i < b.nrows; i++)
			sum += strtoll(tl_batch_cell(&b, i, 0, NULL), NULL, 10);
		total += (long long)b.nrows;
		calls++;
	}
	TL_CHECK_EQ_INT(total, 1234);
	TL_CHECK_EQ_INT(sum, 1234LL * 1235 / 2);
	TL_CHECK(calls > 10);
done:
	tl_driver_pg.close_reader(r);
	tl_batch_release(&b);
	tl_driver_pg.free_table(t);
	env_close(&e);
}

/* Two described tables are the same, including the driver's private casts and identity flags. */
static void same_table(const char *what, const tl_table *a, const tl_table *b)
{
	const struct tl_pg_table *ia = a->impl, *ib = b->impl;
	size_t i;

	TL_CHECK_MSG(strcmp(a->schema, b->schema) == 0 && strcmp(a->name, b->name) == 0, "%s: names", what);
	TL_CHECK_MSG(a->ncols == b->ncols, "%s: %zu vs %zu columns", what, a->ncols, b->ncols);
	TL_CHECK_MSG(a->key_kind == b->key_kind && a->nkeys == b->nkeys && a->part_idx == b->part_idx, "%s: key", what);
	TL_CHECK_MSG(a->est_rows == b->est_rows, "%s: est_rows %lld vs %lld", what, (long long)a->est_rows,
		     (long long)b->est_rows);
	TL_CHECK_MSG(ia && ib && ia->magic == TL_PG_TABLE_MAGIC && ib->magic == TL_PG_TABLE_MAGIC, "%s: impl", what);
	if (a->ncols != b->ncols || a->nkeys != b->nkeys || !ia || !ib)
		return;
	for (i = 0; i < a->nkeys; i++)
		TL_CHECK_MSG(a->key_idx[i] == b->key_idx[i], "%s: key column %zu", what, i);
	for (i = 0; i < a->ncols; i++) {
		TL_CHECK_MSG(strcmp(a->cols[i].name, b->cols[i].name) == 0, "%s: column %zu name", what, i);
		TL_CHECK_MSG(strcmp(a->cols[i].type, b->cols[i].type) == 0, "%s: column %zu type '%s' vs '%s'", what, i,
			     a->cols[i].type, b->cols[i].type);
		TL_CHECK_MSG(a->cols[i].kind == b->cols[i].kind && a->cols[i].nullable == b->cols[i].nullable,
			     "%s: column %zu kind/nullable", what, i);
		TL_CHECK_MSG(strcmp(ia->cast[i], ib->cast[i]) == 0, "%s: column %zu cast '%s' vs '%s'", what, i,
			     ia->cast[i], ib->cast[i]);
		TL_CHECK_MSG(ia->identity_always[i] == ib->identity_always[i], "%s: column %zu identity", what, i);
	}
}

/*
 * describe_many over tables of every shape (hostile names, a keyless table, a nullable
 * unique key, a composite key, a key choice decided by index name, domains, enums,
 * arrays, identity and generated columns, a table in another schema, a missing one, a
 * name given twice) gives exactly what describe gives for each, NULL where describe says
 * TL_ERR_NOTFOUND.
 */
TL_TEST(pg_describe_many_same_as_describe)
{
	static const char ddl[] =
		"DROP SCHEMA IF EXISTS \"test_db_@\" CASCADE; DROP SCHEMA IF EXISTS tl_pgt_many CASCADE;"
		"CREATE SCHEMA \"test_db_@\"; CREATE SCHEMA tl_pgt_many;"
		"CREATE TABLE \"test_db_@\".\"tb_*$1\" (\"p.k\" int PRIMARY KEY, \"v\"\"q\" text);"
		"CREATE TABLE \"test_db_@\".keyless (a int, b text, c numeric(10,2));"
		"CREATE TABLE \"test_db_@\".nuk (a int, b int, c int NOT NULL, UNIQUE (a, b));"
		"CREATE TABLE \"test_db_@\".comp (x text, y bytea, z int, PRIMARY KEY (y, x));"
		"CREATE TABLE \"test_db_@\".tie (a int, b int NOT NULL, c int NOT NULL, d int NOT NULL,"
		" CONSTRAINT z_one UNIQUE (a), CONSTRAINT y_two UNIQUE (b, c), CONSTRAINT x_two UNIQUE (c, d));"
		"CREATE DOMAIN \"test_db_@\".posint AS int CHECK (VALUE > 0);"
		"CREATE TYPE \"test_db_@\".mood AS ENUM ('sad', 'ok');"
		"CREATE TABLE \"test_db_@\".kinds (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
		" d \"test_db_@\".posint, m \"test_db_@\".mood, arr int[], ts timestamptz(3), n numeric(20,8),"
		" vc varchar(12), g int GENERATED ALWAYS AS (d * 2) STORED, j jsonb, u uuid);"
		"ALTER TABLE \"test_db_@\".kinds DROP COLUMN u;"
		"CREATE TABLE tl_pgt_many.\"tb_*$1\" (k bigint PRIMARY KEY);"
		"INSERT INTO \"test_db_@\".keyless SELECT g, 'x', g FROM generate_series(1, 50) g; ANALYZE \"test_db_@\".keyless;";
	tl_name names[10] = {
		{"test_db_@", "tb_*$1"}, {"test_db_@", "keyless"},  {"test_db_@", "nuk"},   {"test_db_@", "comp"},
		{"test_db_@", "tie"},    {"test_db_@", "kinds"},    {"tl_pgt_many", "tb_*$1"}, {"test_db_@", "missing"},
		{"nope_schema", "tb_*$1"}, {"test_db_@", "comp"}};
	tl_table *many[10], *one = NULL;
	struct env e;
	tl_error err = TL_ERROR_INIT;
	char what[128];
	size_t i;

	memset(many, 0, sizeof(many));
	if (env_open(&e) || run(e.src, ddl))
		goto done;
	TL_CHECK_OK(tl_driver_pg.describe_many(e.s, names, 10, many, &err), &err);
	for (i = 0; i < 10; i++) {
		int rc = tl_driver_pg.describe(e.s, names[i].schema, names[i].name, &one, &err);
		snprintf(what, sizeof(what), "%s.%s", names[i].schema, names[i].name);
		if (rc == TL_ERR_NOTFOUND) {
			TL_CHECK_MSG(many[i] == NULL, "%s: describe says missing, describe_many found it", what);
			continue;
		}
		TL_CHECK_MSG(rc == 0, "%s: describe failed: %s", what, err.message);
		TL_CHECK_MSG(many[i] != NULL, "%s: describe_many says missing", what);
		if (rc == 0 && many[i])
			same_table(what, one, many[i]);
		tl_driver_pg.free_table(one);
		one = NULL;
	}
	/* what the shapes are (so the comparison is not between two empty answers) */
	TL_CHECK(many[0] && many[0]->key_kind == TL_KEYK_PRIMARY && strcmp(many[0]->cols[0].name, "p.k") == 0);
	TL_CHECK(many[1] && many[1]->key_kind == TL_KEYK_NONE && many[1]->est_rows == 50);
	TL_CHECK(many[2] && many[2]->key_kind == TL_KEYK_UNIQUE_NULLABLE && many[2]->nkeys == 2);
	TL_CHECK(many[3] && many[3]->nkeys == 2 && many[3]->key_idx[0] == 1 && many[3]->key_idx[1] == 0);
	TL_CHECK(many[4] && many[4]->key_kind == TL_KEYK_UNIQUE && many[4]->nkeys == 2 &&
		 strcmp(many[4]->cols[many[4]->key_idx[0]].name, "c") == 0);
	TL_CHECK(many[5] && many[5]->ncols == 8 && tl_pg__identity_always(many[5], 0));
	TL_CHECK(many[6] && strcmp(many[6]->cols[0].name, "k") == 0);
	/* count_many: the exact counts count_rows gives, in order */
	{
		const tl_table *have[10];
		int64_t counts[10], one_count;
		size_t m = 0;
		for (i = 0; i < 10; i++)
			if (many[i])
				have[m++] = many[i];
		TL_CHECK_OK(tl_driver_pg.count_many(e.s, have, m, counts, &err), &err);
		for (i = 0; i < m; i++) {
			TL_CHECK_OK(tl_driver_pg.count_rows(e.s, have[i], &one_count, &err), &err);
			TL_CHECK_EQ_INT(counts[i], one_count);
		}
		TL_CHECK_EQ_INT(counts[1], 50);
	}
	TL_CHECK(!many[7] && !many[8]);
	TL_CHECK_OK(tl_driver_pg.describe_many(e.s, names, 0, many, &err), &err);
done:
	for (i = 0; i < 10; i++)
		tl_driver_pg.free_table(many[i]);
	env_close(&e);
}
