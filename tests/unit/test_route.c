/*
 * test_route.c - [router] db_map / tb_map / col_map and [filter] ignore_cols: ape-dts'
 * own parser cases (rdb_router.rs, rdb_filter.rs tests) and route_test fixtures for the
 * three kinds read the same way, the precedence and lookups, every refusal with its exact
 * message (malformed lists, conflicting entries, maps naming missing tables, two sources
 * onto one target, an object both read and written on one server, bad JSON, unknown
 * columns, ignored key columns), the column projection, and the hostile corpus
 * tests/data/hostile/{router,ignore_cols}_*.ini (each file says what it expects).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tideline/buf.h"
#include "tideline/route.h"
#include "tl_test.h"

/* ---- a small catalog of described tables -------------------------------------------- */

/* Builds a table from "id*,name,k*" (* = key column, in order). */
static tl_table *mk_table(const char *schema, const char *name, const char *cols)
{
	tl_table *t = calloc(1, sizeof(*t));
	char *spec = strdup(cols), *save = NULL, *tok;

	t->schema = strdup(schema);
	t->name = strdup(name);
	t->cols = calloc(64, sizeof(tl_column));
	t->key_idx = calloc(64, sizeof(size_t));
	for (tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t len = strlen(tok);
		int key = len && tok[len - 1] == '*';
		if (key)
			tok[len - 1] = '\0';
		t->cols[t->ncols].name = strdup(tok);
		t->cols[t->ncols].type = strdup("int");
		if (key)
			t->key_idx[t->nkeys++] = t->ncols;
		t->ncols++;
	}
	t->key_kind = t->nkeys ? TL_KEYK_PRIMARY : TL_KEYK_NONE;
	t->part_idx = t->nkeys ? t->key_idx[0] : 0;
	free(spec);
	return t;
}

static void free_table(tl_table *t)
{
	size_t i;

	for (i = 0; i < t->ncols; i++) {
		free(t->cols[i].name);
		free(t->cols[i].type);
	}
	free(t->cols);
	free(t->key_idx);
	free(t->schema);
	free(t->name);
	free(t);
}

static tl_route *mk(char quote, unsigned flags, const char *db_map, const char *tb_map, const char *col_map,
		    const char *ignore_cols)
{
	tl_route *r = NULL;
	tl_error err = TL_ERROR_INIT;

	if (tl_route_new(&r, quote, flags, db_map, tb_map, col_map, ignore_cols, &err) != 0)
		tl_test_fail(__FILE__, __LINE__, "tl_route_new failed: %s", err.message);
	return r;
}

/* The message of a route that must be refused at parse time. */
static const char *refused(char quote, unsigned flags, const char *db_map, const char *tb_map, const char *col_map,
			  const char *ignore_cols)
{
	static tl_error err;
	tl_route *r = NULL;
	int rc;

	tl_error_clear(&err);
	rc = tl_route_new(&r, quote, flags, db_map, tb_map, col_map, ignore_cols, &err);
	tl_route_free(r);
	if (rc != TL_ERR_CONFIG)
		return "(accepted)";
	return err.message;
}

static void check_table(const tl_route *r, const char *s, const char *t, const char *ws, const char *wt, int line)
{
	const char *ds, *dt;

	tl_route_table(r, s, t, &ds, &dt);
	if (strcmp(ds, ws) != 0 || strcmp(dt, wt) != 0)
		tl_test_fail(__FILE__, line, "%s.%s routed to %s.%s, expected %s.%s", s, t, ds, dt, ws, wt);
}
#define CHECK_TABLE(r, s, t, ws, wt) check_table(r, s, t, ws, wt, __LINE__)

/* ---- ape-dts' own parser cases -------------------------------------------------------- */

TL_TEST(apedts_schema_map_mysql_pg)
{
	/* rdb_router.rs test_parse_schema_map, both kinds */
	tl_route *m = mk('`', 0, "src_1:dst_1,`src,2'`:dst_2,`src:3,`:`dst:3,`", NULL, NULL, NULL);
	tl_route *p = mk('"', 0, "src_1:dst_1,\"src,2'\":dst_2,\"src:3,\":\"dst:3,\"", NULL, NULL, NULL);
	const tl_route *both[2] = {m, p};
	int i;

	for (i = 0; i < 2; i++) {
		if (!both[i])
			return;
		CHECK_TABLE(both[i], "src_1", "x", "dst_1", "x");
		CHECK_TABLE(both[i], "src,2'", "x", "dst_2", "x");
		CHECK_TABLE(both[i], "src:3,", "x", "dst:3,", "x");
		CHECK_TABLE(both[i], "src_4", "x", "src_4", "x");
		TL_CHECK(!tl_route_is_empty(both[i]));
	}
	tl_route_free(m);
	tl_route_free(p);
}

TL_TEST(apedts_tb_map_mysql_pg)
{
	/* rdb_router.rs test_parse_tb_map */
	tl_route *m = mk('`', 0, NULL,
			 "src_db_1.src_tb_1:dst_db_1.dst_tb_1,`src_db,2'`.`src_tb,2'`:dst_db_2.dst_tb_2,"
			 "`src_db:3,`.`src_tb:3,`:`dst_db:3,`.`dst_tb:3,`",
			 NULL, NULL);
	tl_route *p = mk('"', 0, NULL,
			 "src_db_1.src_tb_1:dst_db_1.dst_tb_1,\"src_db,2'\".\"src_tb,2'\":dst_db_2.dst_tb_2,"
			 "\"src_db:3,\".\"src_tb:3,\":\"dst_db:3,\".\"dst_tb:3,\"",
			 NULL, NULL);
	const tl_route *both[2] = {m, p};
	int i;

	for (i = 0; i < 2; i++) {
		if (!both[i])
			return;
		CHECK_TABLE(both[i], "src_db_1", "src_tb_1", "dst_db_1", "dst_tb_1");
		CHECK_TABLE(both[i], "src_db,2'", "src_tb,2'", "dst_db_2", "dst_tb_2");
		CHECK_TABLE(both[i], "src_db:3,", "src_tb:3,", "dst_db:3,", "dst_tb:3,");
		CHECK_TABLE(both[i], "src_db_4", "src_tb_4", "src_db_4", "src_tb_4");
		TL_CHECK_EQ_INT(tl_route_table_moves(both[i], "src_db_4", "src_tb_4"), 0);
		TL_CHECK_EQ_INT(tl_route_table_moves(both[i], "src_db_1", "src_tb_1"), 1);
	}
	tl_route_free(m);
	tl_route_free(p);
}

TL_TEST(apedts_parse_config_precedence)
{
	/* rdb_router.rs test_parse_config: tb_map over db_map, db_map for the other tables */
	tl_route *r = mk('`', 0, "src_1:dst_1",
			 "`src_db,2'`.`src_tb,2'`:dst_db_2.dst_tb_2,`src_db:3,`.`src_tb:3,`:`dst_db:3,`.`dst_tb:3,`",
			 "[{\"db\":\"src_db:3,\",\"tb\":\"src_tb:3,\",\"col_map\":{\"src_col:1,\":\"dst_col:1,\",\"src_col:2,\":\"dst_col:2,\"}}]",
			 NULL);

	if (!r)
		return;
	CHECK_TABLE(r, "src_1", "aaa.1,:1", "dst_1", "aaa.1,:1");
	CHECK_TABLE(r, "src_4", "aaa.1,:1", "src_4", "aaa.1,:1");
	CHECK_TABLE(r, "src_db,2'", "src_tb,2'", "dst_db_2", "dst_tb_2");
	CHECK_TABLE(r, "src_db,2'", "src_tb,3'", "src_db,2'", "src_tb,3'");
	TL_CHECK_EQ_STR(tl_route_column(r, "src_db:3,", "src_tb:3,", "src_col:1,"), "dst_col:1,");
	TL_CHECK_EQ_STR(tl_route_column(r, "src_db:3,", "src_tb:3,", "src_col:2,"), "dst_col:2,");
	TL_CHECK_EQ_STR(tl_route_column(r, "src_db:3,", "src_tb:3,", "other"), "other");
	/* col_map is keyed by the source table, not by the target */
	TL_CHECK_EQ_STR(tl_route_column(r, "dst_db:3,", "dst_tb:3,", "src_col:1,"), "src_col:1,");
	tl_route_free(r);

	/* a tb_map entry beats the db_map of its database; the other tables follow db_map */
	r = mk('`', 0, "a:b", "a.t:c.u", NULL, NULL);
	if (!r)
		return;
	CHECK_TABLE(r, "a", "t", "c", "u");
	CHECK_TABLE(r, "a", "v", "b", "v");
	/* maps apply once: a→b, b→c sends a.x to b.x */
	tl_route_free(r);
	r = mk('`', 0, "a:b,b:c", NULL, NULL, NULL);
	if (!r)
		return;
	CHECK_TABLE(r, "a", "x", "b", "x");
	CHECK_TABLE(r, "b", "x", "c", "x");
	tl_route_free(r);
}

TL_TEST(apedts_col_map_and_ignore_cols)
{
	/* rdb_router.rs test_parse_tb_col_map and rdb_filter.rs test_parse_ignore_cols */
	tl_route *r = mk('`', 0, NULL, NULL,
			 "[{\"db\":\"src_db_1\",\"tb\":\"src_tb_1\",\"col_map\":{\"src_col_1\":\"dst_col_1\",\"src_col_2\":\"dst_col_2\"}},"
			 "{\"db\":\"src_db,2'\",\"tb\":\"src_tb,2'\",\"col_map\":{\"src_col,1'\":\"dst_col_1\",\"src_col,2'\":\"dst_col_2\"}},"
			 "{\"db\":\"src_db:3,\",\"tb\":\"src_tb:3,\",\"col_map\":{\"src_col:1,\":\"dst_col:1,\",\"src_col:2,\":\"dst_col:2,\"}}]",
			 "json:[{\"db\":\"db_1\",\"tb\":\"tb_1\",\"ignore_cols\":[\"f_2\",\"f_3\"]},{\"db\":\"db_2\",\"tb\":\"tb_2\",\"ignore_cols\":[\"f_3\"]}]");

	if (!r)
		return;
	TL_CHECK_EQ_STR(tl_route_column(r, "src_db_1", "src_tb_1", "src_col_2"), "dst_col_2");
	TL_CHECK_EQ_STR(tl_route_column(r, "src_db,2'", "src_tb,2'", "src_col,1'"), "dst_col_1");
	TL_CHECK_EQ_STR(tl_route_column(r, "src_db:3,", "src_tb:3,", "src_col:2,"), "dst_col:2,");
	TL_CHECK_EQ_STR(tl_route_column(r, "src_db_4", "src_tb_4", "src_col_1"), "src_col_1");
	TL_CHECK_EQ_INT(tl_route_ignored(r, "db_1", "tb_1", "f_2"), 1);
	TL_CHECK_EQ_INT(tl_route_ignored(r, "db_1", "tb_1", "f_3"), 1);
	TL_CHECK_EQ_INT(tl_route_ignored(r, "db_1", "tb_1", "f_1"), 0);
	TL_CHECK_EQ_INT(tl_route_ignored(r, "db_2", "tb_2", "f_3"), 1);
	TL_CHECK_EQ_INT(tl_route_ignored(r, "db_2", "tb_2", "f_2"), 0);
	/* no table routing from col_map alone */
	CHECK_TABLE(r, "src_db_1", "src_tb_1", "src_db_1", "src_tb_1");
	tl_route_free(r);
}

/* ---- the route_test fixtures of the three kinds ------------------------------------- */

TL_TEST(route_test_fixtures)
{
	/* dt-tests/tests/{mysql_to_mysql,pg_to_pg}/snapshot/route_test/task_config.ini */
	const char *db_map = "test_db_1:dst_test_db_1";
	const char *tb_map = "test_db_2.one_pk_no_uk_1:dst_test_db_2.dst_one_pk_no_uk_1,"
			     "test_db_3.one_pk_no_uk_1:dst_test_db_3.dst_one_pk_no_uk_1";
	const char *col_map = "json:[{\"db\":\"test_db_3\",\"tb\":\"one_pk_no_uk_1\",\"col_map\":{\"f_0\":\"dst_f_0\",\"f_1\":\"dst_f_1\"}}]";
	const char quotes[2] = {'`', '"'};
	tl_name sel[6] = {{"test_db_1", "one_pk_no_uk_1"}, {"test_db_1", "one_pk_no_uk_2"}, {"test_db_2", "one_pk_no_uk_1"},
			  {"test_db_2", "one_pk_no_uk_2"}, {"test_db_3", "one_pk_no_uk_1"}, {"test_db_3", "one_pk_no_uk_2"}};
	tl_error err = TL_ERROR_INIT;
	int i;

	for (i = 0; i < 2; i++) {
		tl_route *r = mk(quotes[i], 0, db_map, tb_map, col_map, NULL);
		tl_table *t = mk_table("test_db_3", "one_pk_no_uk_1", "f_0*,f_1");
		tl_route_cols pc = TL_ROUTE_COLS_INIT;

		if (!r)
			return;
		/* the target tables dst_prepare.sql creates */
		CHECK_TABLE(r, "test_db_1", "one_pk_no_uk_1", "dst_test_db_1", "one_pk_no_uk_1");
		CHECK_TABLE(r, "test_db_1", "one_pk_no_uk_2", "dst_test_db_1", "one_pk_no_uk_2");
		CHECK_TABLE(r, "test_db_2", "one_pk_no_uk_1", "dst_test_db_2", "dst_one_pk_no_uk_1");
		CHECK_TABLE(r, "test_db_2", "one_pk_no_uk_2", "test_db_2", "one_pk_no_uk_2");
		CHECK_TABLE(r, "test_db_3", "one_pk_no_uk_1", "dst_test_db_3", "dst_one_pk_no_uk_1");
		CHECK_TABLE(r, "test_db_3", "one_pk_no_uk_2", "test_db_3", "one_pk_no_uk_2");
		TL_CHECK_OK(tl_route_validate(r, sel, 6, &err), &err);
		/* the fixture has two servers: on one, the unmapped tables would be copied onto themselves */
		TL_CHECK_EQ_INT(tl_route_check_same_server(r, sel, 6, &err), TL_ERR_CONFIG);
		TL_CHECK_EQ_STR(err.message, "source and target are the same server and table 'test_db_2.one_pk_no_uk_2' would be "
					     "copied onto itself; route it elsewhere with [router] db_map/tb_map or use another target");
		TL_CHECK_OK(tl_route_project(r, t, &pc, &err), &err);
		TL_CHECK_EQ_INT(pc.n, 2);
		TL_CHECK_EQ_STR(pc.dst_name[0], "dst_f_0");
		TL_CHECK_EQ_STR(pc.dst_name[1], "dst_f_1");
		TL_CHECK_EQ_INT(pc.renamed, 1);
		TL_CHECK_EQ_INT(pc.subset, 0);
		tl_route_cols_clear(&pc);
		free_table(t);
		tl_route_free(r);
	}
	{
		/* mongo_to_mongo/snapshot/route_test: db_map and tb_map, empty col_map */
		tl_route *r = mk(0, TL_ROUTE_DOCUMENTS, "test_db_1:dst_test_db_1", "test_db_2.tb_1:dst_test_db_2.dst_tb_1", "",
				 NULL);
		tl_name ms[4] = {{"test_db_1", "tb_1"}, {"test_db_1", "tb_2"}, {"test_db_2", "tb_1"}, {"test_db_2", "tb_2"}};

		if (!r)
			return;
		CHECK_TABLE(r, "test_db_1", "tb_1", "dst_test_db_1", "tb_1");
		CHECK_TABLE(r, "test_db_1", "tb_2", "dst_test_db_1", "tb_2");
		CHECK_TABLE(r, "test_db_2", "tb_1", "dst_test_db_2", "dst_tb_1");
		CHECK_TABLE(r, "test_db_2", "tb_2", "test_db_2", "tb_2");
		TL_CHECK_OK(tl_route_validate(r, ms, 4, &err), &err);
		tl_route_free(r);
	}
}

TL_TEST(empty_values_and_spacing)
{
	tl_route *r = mk('`', 0, "", "", "", "");
	tl_name sel[1] = {{"a", "t"}};
	tl_error err = TL_ERROR_INIT;

	if (!r)
		return;
	TL_CHECK_EQ_INT(tl_route_is_empty(r), 1);
	TL_CHECK_OK(tl_route_validate(r, sel, 1, &err), &err);
	CHECK_TABLE(r, "a", "t", "a", "t");
	tl_route_free(r);
	TL_CHECK_EQ_INT(tl_route_is_empty(NULL), 1);

	/* blanks around names and empty entries (a trailing comma) are allowed; json: is optional */
	r = mk('`', 0, " a : b ,, ` c d ` : e,", " x . y : z . w ", "[]", " json:[]");
	if (!r)
		return;
	CHECK_TABLE(r, "a", "t", "b", "t");
	CHECK_TABLE(r, " c d ", "t", "e", "t");
	CHECK_TABLE(r, "x", "y", "z", "w");
	tl_route_free(r);

	/* inner blanks belong to an unquoted name, as in ape-dts */
	r = mk('"', 0, NULL, "a.t:b.c extra", NULL, NULL);
	if (!r)
		return;
	CHECK_TABLE(r, "a", "t", "b", "c extra");
	tl_route_free(r);

	/* a doubled quote inside a quoted name is one quote; a quote inside an unquoted name is literal */
	r = mk('`', 0, "`a``b`:c,d`e:f", NULL, NULL, NULL);
	if (!r)
		return;
	CHECK_TABLE(r, "a`b", "t", "c", "t");
	CHECK_TABLE(r, "d`e", "t", "f", "t");
	tl_route_free(r);

	/* MongoDB has no quote: a backtick is part of the name; identical repeats are harmless */
	r = mk(0, TL_ROUTE_DOCUMENTS, "`a`:b,`a`:b", NULL, NULL, NULL);
	if (!r)
		return;
	CHECK_TABLE(r, "`a`", "t", "b", "t");
	tl_route_free(r);
}

/* ---- refusals at parse time --------------------------------------------------------- */

TL_TEST(malformed_maps_are_refused)
{
	TL_CHECK_EQ_STR(refused('`', 0, "a", NULL, NULL, NULL),
			"[router] db_map entry 1 ('a') at character 2: expected ':' between source and target (db:db)");
	TL_CHECK_EQ_STR(refused('`', 0, "a:b,c", NULL, NULL, NULL),
			"[router] db_map entry 2 ('c') at character 6: expected ':' between source and target (db:db)");
	TL_CHECK_EQ_STR(refused('`', 0, "a:b:c", NULL, NULL, NULL),
			"[router] db_map entry 1 ('a:b:c') at character 4: more than one ':' (quote names that contain ':')");
	TL_CHECK_EQ_STR(refused('`', 0, ":b", NULL, NULL, NULL), "[router] db_map entry 1 (':b') at character 1: empty name");
	TL_CHECK_EQ_STR(refused('`', 0, "a:", NULL, NULL, NULL), "[router] db_map entry 1 ('a:') at character 3: empty name");
	TL_CHECK_EQ_STR(refused('`', 0, "a.b:c", NULL, NULL, NULL),
			"[router] db_map entry 1 ('a.b:c') at character 2: a database name with '.' must be quoted");
	TL_CHECK_EQ_STR(refused('`', 0, "``:c", NULL, NULL, NULL),
			"[router] db_map entry 1 ('``:c') at character 1: empty quoted name");
	TL_CHECK_EQ_STR(refused('`', 0, "x:y,`a:b", NULL, NULL, NULL),
			"[router] db_map entry 2 ('`a:b') at character 5: unterminated quoted name");
	TL_CHECK_EQ_STR(refused('`', 0, "`a`x:b", NULL, NULL, NULL),
			"[router] db_map entry 1 ('`a`x:b') at character 4: expected ':' between source and target (db:db)");
	TL_CHECK_EQ_STR(refused('`', 0, NULL, "a:b", NULL, NULL),
			"[router] tb_map entry 1 ('a:b') at character 2: expected '.' between database and table (quote names that contain '.', ':' or ',')");
	TL_CHECK_EQ_STR(refused('"', 0, NULL, "a.t.u:b.c", NULL, NULL),
			"[router] tb_map entry 1 ('a.t.u:b.c') at character 4: a table name with '.' must be quoted");
	TL_CHECK_EQ_STR(refused('"', 0, NULL, "a.t:b.\"c\"x", NULL, NULL),
			"[router] tb_map entry 1 ('a.t:b.\"c\"x') at character 10: unexpected text after the target name");
	TL_CHECK_EQ_STR(refused('"', 0, NULL, "a.t:\"b\" x.c", NULL, NULL),
			"[router] tb_map entry 1 ('a.t:\"b\" x.c') at character 9: expected '.' between database and table (quote names that contain '.', ':' or ',')");
	/* positions count characters, not bytes */
	TL_CHECK_EQ_STR(refused('`', 0, "é:f,ü", NULL, NULL, NULL),
			"[router] db_map entry 2 ('ü') at character 6: expected ':' between source and target (db:db)");
}

TL_TEST(conflicting_entries_are_refused)
{
	/* ape-dts keeps the last of two entries silently */
	TL_CHECK_EQ_STR(refused('`', 0, "a:b,x:y,a:c", NULL, NULL, NULL),
			"[router] db_map entries 1 ('a:b') and 3 ('a:c') map database 'a' to two targets");
	TL_CHECK_EQ_STR(refused('`', 0, NULL, "a.t:b.t,a.t:b.u", NULL, NULL),
			"[router] tb_map entries 1 ('a.t:b.t') and 2 ('a.t:b.u') map table 'a.t' to two targets");
	TL_CHECK_EQ_STR(refused('`', 0, "a:b,a:b", "a.t:b.t,a.t:b.t", NULL, NULL), "(accepted)");
	/* an identical repeat dropped before a conflict is found (found by fuzz_route: a double free) */
	TL_CHECK_EQ_STR(refused('`', 0, "a:b,a:b,a:c", NULL, NULL, NULL),
			"[router] db_map entries 1 ('a:b') and 3 ('a:c') map database 'a' to two targets");
	TL_CHECK_EQ_STR(refused('`', 0, NULL, "a.t:b.t,a.t:b.t,x.y:z.w,a.t:c.t", NULL, NULL),
			"[router] tb_map entries 1 ('a.t:b.t') and 4 ('a.t:c.t') map table 'a.t' to two targets");
}

TL_TEST(bad_json_is_refused)
{
	TL_CHECK_EQ_STR(refused('`', 0, NULL, NULL, "json:[{\"db\":\"a\",\"tb\":\"t\",\"col_map\":{\"x\":\"y\"}]", NULL),
			"[router] col_map: invalid JSON at character 45 (expected json:[{\"db\":…,\"tb\":…,\"col_map\":{\"src_col\":\"dst_col\"}}])");
	TL_CHECK_EQ_STR(refused('`', 0, NULL, NULL, "json:", NULL),
			"[router] col_map: invalid JSON at character 6 (expected json:[{\"db\":…,\"tb\":…,\"col_map\":{\"src_col\":\"dst_col\"}}])");
	TL_CHECK_EQ_STR(refused('`', 0, NULL, NULL, "[] trailing", NULL),
			"[router] col_map: invalid JSON at character 4 (expected json:[{\"db\":…,\"tb\":…,\"col_map\":{\"src_col\":\"dst_col\"}}])");
	TL_CHECK_EQ_STR(refused('`', 0, NULL, NULL, "json:{}", NULL),
			"[router] col_map: expected a JSON array, json:[{\"db\":…,\"tb\":…,\"col_map\":{\"src_col\":\"dst_col\"}}]");
	TL_CHECK_EQ_STR(refused('`', 0, NULL, NULL, "[1]", NULL),
			"[router] col_map entry 1: expected an object [{\"db\":…,\"tb\":…,\"col_map\":{\"src_col\":\"dst_col\"}}]");
	TL_CHECK_EQ_STR(refused('`', 0, NULL, NULL, "[{\"db\":\"a\",\"tb\":\"t\"}]", NULL),
			"[router] col_map entry 1: missing \"col_map\" (expected [{\"db\":…,\"tb\":…,\"col_map\":{\"src_col\":\"dst_col\"}}])");
	TL_CHECK_EQ_STR(refused('`', 0, NULL, NULL, "[{\"db\":\"a\",\"tb\":\"t\",\"col_map\":[\"x\"]}]", NULL),
			"[router] col_map entry 1: \"col_map\" must be an object {\"src_col\":\"dst_col\",…}");
	TL_CHECK_EQ_STR(refused('`', 0, NULL, NULL, "[{\"db\":\"a\",\"tb\":\"t\",\"col_map\":{\"x\":1}}]", NULL),
			"[router] col_map entry 1: column \"x\" must map to a non-empty string");
	TL_CHECK_EQ_STR(refused('`', 0, NULL, NULL, "[{\"db\":\"a\",\"tb\":\"t\",\"col_map\":{\"\":\"y\"}}]", NULL),
			"[router] col_map entry 1: \"col_map\" item 1 must be a non-empty column name");
	TL_CHECK_EQ_STR(refused('`', 0, NULL, NULL, "[{\"db\":\"a\",\"tb\":\"t\",\"db\":\"b\",\"col_map\":{}}]", NULL),
			"[router] col_map entry 1: field \"db\" appears twice");
	TL_CHECK_EQ_STR(refused('`', 0, NULL, NULL, "[{\"db\":\"a\",\"tb\":\"t\",\"col_map\":{},\"col_map\":{}}]", NULL),
			"[router] col_map entry 1: field \"col_map\" appears twice");
	TL_CHECK_EQ_STR(refused('`', 0, NULL, NULL, "[{\"db\":\"a\",\"tb\":\"t\",\"col_map\":{\"x\":\"y\",\"x\":\"z\"}}]", NULL),
			"[router] col_map entry 1: column \"x\" of 'a.t' is mapped twice");
	TL_CHECK_EQ_STR(refused('`', 0, NULL, NULL, "[{\"db\":\"a\",\"tb\":\"t\",\"col_map\":{}},{\"db\":\"b\",\"tb\":\"t\",\"col_map\":{}},"
				   "{\"db\":\"a\",\"tb\":\"t\",\"col_map\":{}}]", NULL),
			"[router] col_map entries 1 and 3 both list table 'a.t'");
	TL_CHECK_EQ_STR(refused('`', 0, NULL, NULL, NULL, "json:[{\"db\":\"a\",\"tb\":\"t\",\"ignore_cols\":\"x\"}]"),
			"[filter] ignore_cols entry 1: \"ignore_cols\" must be an array of column names");
	TL_CHECK_EQ_STR(refused('`', 0, NULL, NULL, NULL, "json:[{\"db\":\"\",\"tb\":\"t\",\"ignore_cols\":[]}]"),
			"[filter] ignore_cols entry 1: \"db\" must be a non-empty string");
	TL_CHECK_EQ_STR(refused('`', 0, NULL, NULL, NULL, "json:[{\"db\":\"a\",\"tb\":\"t\",\"ignore_cols\":[\"x\",null]}]"),
			"[filter] ignore_cols entry 1: \"ignore_cols\" item 2 must be a non-empty column name");
	/* a column listed twice in ignore_cols is a set, as in ape-dts */
	TL_CHECK_EQ_STR(refused('`', 0, NULL, NULL, NULL, "json:[{\"db\":\"a\",\"tb\":\"t\",\"ignore_cols\":[\"x\",\"x\"]}]"),
			"(accepted)");
	/* no column routing for documents */
	TL_CHECK_EQ_STR(refused(0, TL_ROUTE_DOCUMENTS, NULL, NULL, "[{\"db\":\"a\",\"tb\":\"t\",\"col_map\":{\"x\":\"y\"}}]", NULL),
			"[router] col_map is not supported for MongoDB (documents are copied whole; ape-dts has no column routing for MongoDB either)");
	TL_CHECK_EQ_STR(refused(0, TL_ROUTE_DOCUMENTS, NULL, NULL, "[]", "[]"), "(accepted)");
}

/* ---- checks against the selected tables -------------------------------------------- */

TL_TEST(validate_against_selection)
{
	tl_name sel[4] = {{"world", "City"}, {"world", "Country"}, {"shop", "orders"}, {"shop", "items"}};
	tl_error err = TL_ERROR_INIT;
	tl_route *r;

	r = mk('`', 0, "world:world_copy", "shop.orders:archive.orders_2024", NULL, NULL);
	if (!r)
		return;
	TL_CHECK_OK(tl_route_validate(r, sel, 4, &err), &err);
	tl_route_free(r);

	r = mk('`', 0, "world:w2,nope:x", NULL, NULL, NULL);
	TL_CHECK_EQ_INT(tl_route_validate(r, sel, 4, &err), TL_ERR_CONFIG);
	TL_CHECK_EQ_STR(err.message, "[router] db_map entry 2 ('nope:x'): no selected table is in database 'nope'");
	tl_route_free(r);

	r = mk('`', 0, NULL, "shop.Orders:a.b", NULL, NULL);
	TL_CHECK_EQ_INT(tl_route_validate(r, sel, 4, &err), TL_ERR_CONFIG);
	TL_CHECK_EQ_STR(err.message, "[router] tb_map entry 1 ('shop.Orders:a.b'): table 'shop.Orders' is not selected or "
				     "does not exist (names are case-sensitive: did you mean 'shop.orders'?)");
	tl_route_free(r);

	r = mk('`', 0, NULL, NULL, "[{\"db\":\"shop\",\"tb\":\"gone\",\"col_map\":{\"a\":\"b\"}}]", NULL);
	TL_CHECK_EQ_INT(tl_route_validate(r, sel, 4, &err), TL_ERR_CONFIG);
	TL_CHECK_EQ_STR(err.message, "[router] col_map entry 1: table 'shop.gone' is not selected or does not exist");
	tl_route_free(r);

	/* merging databases is fine while table names do not collide */
	r = mk('`', 0, "world:all,shop:all", NULL, NULL, NULL);
	TL_CHECK_OK(tl_route_validate(r, sel, 4, &err), &err);
	tl_route_free(r);
	/* ... and refused when they do */
	r = mk('`', 0, NULL, "world.City:shop.items", NULL, NULL);
	TL_CHECK_EQ_INT(tl_route_validate(r, sel, 4, &err), TL_ERR_CONFIG);
	TL_CHECK_EQ_STR(err.message, "[router]: tables 'world.City' and 'shop.items' would both be copied into 'shop.items'; "
				     "two sources onto one target table are refused (their rows, counts and progress would mix)");
	tl_route_free(r);

	/* a swap is a legitimate rename between two servers, and on one server as long as no
	 * table is both read and written */
	r = mk('`', 0, "world:shop,shop:world", NULL, NULL, NULL);
	TL_CHECK_OK(tl_route_validate(r, sel, 4, &err), &err);
	TL_CHECK_OK(tl_route_check_same_server(r, sel, 4, &err), &err);
	{
		tl_name both[3] = {{"world", "City"}, {"shop", "City"}, {"shop", "items"}};

		TL_CHECK_OK(tl_route_validate(r, both, 3, &err), &err);
		TL_CHECK_EQ_INT(tl_route_check_same_server(r, both, 3, &err), TL_ERR_CONFIG);
		TL_CHECK_EQ_STR(err.message, "source and target are the same server: table 'world.City' would be copied into "
					     "'shop.City', which this run also reads; leave 'shop.City' out of [filter] or route it elsewhere");
	}
	tl_route_free(r);
}

TL_TEST(same_server_overlap)
{
	tl_name sel[3] = {{"colt", "a"}, {"colt", "b"}, {"colt_copy", "a"}};
	tl_error err = TL_ERROR_INIT;
	size_t s = 99, o = 99;
	tl_route *r;

	/* no route: every table onto itself */
	r = mk('"', 0, NULL, NULL, NULL, NULL);
	TL_CHECK_EQ_INT(tl_route_find_overlap(r, sel, 2, &s, &o, &err), 1);
	TL_CHECK_EQ_INT(s, 0);
	TL_CHECK_EQ_INT(o, 0);
	TL_CHECK_EQ_INT(tl_route_check_same_server(r, sel, 2, &err), TL_ERR_CONFIG);
	TL_CHECK_EQ_STR(err.message, "source and target are the same server and table 'colt.a' would be copied onto itself; "
				     "route it elsewhere with [router] db_map/tb_map or use another target");
	tl_route_free(r);
	TL_CHECK_EQ_INT(tl_route_find_overlap(NULL, sel, 1, &s, &o, &err), 1);

	/* copying a database inside one server is fine ... */
	r = mk('"', 0, "colt:colt_copy", NULL, NULL, NULL);
	TL_CHECK_EQ_INT(tl_route_find_overlap(r, sel, 2, &s, &o, &err), 0);
	TL_CHECK_OK(tl_route_check_same_server(r, sel, 2, &err), &err);
	/* ... unless the copy's tables are selected as sources too */
	TL_CHECK_EQ_INT(tl_route_find_overlap(r, sel, 3, &s, &o, &err), 1);
	TL_CHECK_EQ_INT(s, 0);
	TL_CHECK_EQ_INT(o, 2);
	tl_route_free(r);
	TL_CHECK_EQ_INT(tl_route_find_overlap(NULL, sel, 0, &s, &o, &err), 0);
}

/* ---- projection ---------------------------------------------------------------------- */

TL_TEST(project_columns)
{
	tl_route *r = mk('`', 0, NULL, NULL, "[{\"db\":\"d\",\"tb\":\"t\",\"col_map\":{\"b\":\"b2\",\"id\":\"pk\"}}]",
			 "json:[{\"db\":\"d\",\"tb\":\"t\",\"ignore_cols\":[\"c\"]},{\"db\":\"d\",\"tb\":\"k\",\"ignore_cols\":[\"v\"]},"
			 "{\"db\":\"d\",\"tb\":\"nokey\",\"ignore_cols\":[\"a\"]},{\"db\":\"d\",\"tb\":\"nokey2\",\"ignore_cols\":[\"b\"]},"
			 "{\"db\":\"d\",\"tb\":\"all\",\"ignore_cols\":[\"a\",\"b\"]}]");
	tl_table *t = mk_table("d", "t", "id*,a,b,c");
	tl_table *k = mk_table("d", "k", "id*,v*,w");
	tl_table *nk = mk_table("d", "nokey", "a,b");
	tl_table *nk2 = mk_table("d", "nokey2", "a,b");
	tl_table *all = mk_table("d", "all", "a,b");
	tl_table *plain = mk_table("d", "plain", "x*,y");
	tl_route_cols pc = TL_ROUTE_COLS_INIT;
	tl_error err = TL_ERROR_INIT;

	if (!r)
		return;
	TL_CHECK_OK(tl_route_project(r, t, &pc, &err), &err);
	TL_CHECK_EQ_INT(pc.n, 3);
	TL_CHECK_EQ_INT(pc.src_idx[0], 0);
	TL_CHECK_EQ_STR(pc.dst_name[0], "pk");
	TL_CHECK_EQ_INT(pc.src_idx[1], 1);
	TL_CHECK_EQ_STR(pc.dst_name[1], "a");
	TL_CHECK_EQ_INT(pc.src_idx[2], 2);
	TL_CHECK_EQ_STR(pc.dst_name[2], "b2");
	TL_CHECK_EQ_INT(pc.renamed, 1);
	TL_CHECK_EQ_INT(pc.subset, 1);
	tl_route_cols_clear(&pc);

	TL_CHECK_EQ_INT(tl_route_project(r, k, &pc, &err), TL_ERR_CONFIG);
	TL_CHECK_EQ_STR(err.message, "[filter] ignore_cols entry 2: column \"v\" of 'd.k' is part of the key the copy is "
				     "ordered, resumed and verified by; a key column cannot be ignored");
	TL_CHECK(pc.n == 0 && pc.dst_name == NULL);
	TL_CHECK_EQ_INT(tl_route_project(r, nk, &pc, &err), TL_ERR_CONFIG);
	TL_CHECK_EQ_STR(err.message, "[filter] ignore_cols entry 3: column \"a\" of 'd.nokey' (a table without a key) is the "
				     "column its copy is split and resumed by; it cannot be ignored");
	TL_CHECK_OK(tl_route_project(r, nk2, &pc, &err), &err);
	TL_CHECK_EQ_INT(pc.n, 1);
	TL_CHECK_EQ_INT(pc.renamed, 0);
	tl_route_cols_clear(&pc);
	TL_CHECK_EQ_INT(tl_route_project(r, all, &pc, &err), TL_ERR_CONFIG);
	TL_CHECK_EQ_STR(err.message, "[filter] ignore_cols entry 5: column \"a\" of 'd.all' (a table without a key) is the "
				     "column its copy is split and resumed by; it cannot be ignored");
	TL_CHECK_OK(tl_route_project(r, plain, &pc, &err), &err);
	TL_CHECK_EQ_INT(pc.n, 2);
	TL_CHECK_EQ_INT(pc.renamed, 0);
	TL_CHECK_EQ_INT(pc.subset, 0);
	tl_route_cols_clear(&pc);
	/* no route at all: the identity */
	TL_CHECK_OK(tl_route_project(NULL, t, &pc, &err), &err);
	TL_CHECK_EQ_INT(pc.n, 4);
	tl_route_cols_clear(&pc);
	tl_route_free(r);

	/* every column ignored (key columns listed as well would be refused first) */
	r = mk('`', 0, NULL, NULL, NULL, "json:[{\"db\":\"d\",\"tb\":\"k\",\"ignore_cols\":[\"w\"]}]");
	TL_CHECK_OK(tl_route_project(r, k, &pc, &err), &err);
	TL_CHECK_EQ_INT(pc.n, 2);
	tl_route_cols_clear(&pc);
	tl_route_free(r);

	/* documents: identity even with maps */
	r = mk(0, TL_ROUTE_DOCUMENTS, "d:e", NULL, NULL, NULL);
	TL_CHECK_OK(tl_route_project(r, t, &pc, &err), &err);
	TL_CHECK_EQ_INT(pc.n, 4);
	tl_route_cols_clear(&pc);
	tl_route_free(r);

	free_table(t);
	free_table(k);
	free_table(nk);
	free_table(nk2);
	free_table(all);
	free_table(plain);
}

/* ---- the hostile corpus ------------------------------------------------------------- */

struct hostile {
	char kind[16];
	char *db_map, *tb_map, *col_map, *ignore_cols;
	char catalog[1024], expect[1024];
	int same_server;
};

static char *trimmed_dup(const char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	return strndup(s, n);
}

static void copy_line(char *dst, size_t cap, const char *src)
{
	char *d = trimmed_dup(src);

	snprintf(dst, cap, "%s", d);
	free(d);
}

/* Reads the few keys the router needs, and the tl-* comment lines, from a task file. */
static int read_hostile(const char *path, struct hostile *h)
{
	FILE *f = fopen(path, "r");
	char line[4096], section[32] = "";

	memset(h, 0, sizeof(*h));
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "; tl-catalog: ", 14) == 0)
			copy_line(h->catalog, sizeof(h->catalog), line + 14);
		else if (strncmp(line, "; tl-expect: ", 13) == 0)
			copy_line(h->expect, sizeof(h->expect), line + 13);
		else if (strncmp(line, "; tl-same-server: yes", 21) == 0)
			h->same_server = 1;
		else if (line[0] == '[')
			snprintf(section, sizeof(section), "%.*s", (int)strcspn(line + 1, "]"), line + 1);
		else if (strcmp(section, "extractor") == 0 && strncmp(line, "db_type=", 8) == 0)
			copy_line(h->kind, sizeof(h->kind), line + 8);
		else if (strcmp(section, "router") == 0 && strncmp(line, "db_map=", 7) == 0)
			h->db_map = trimmed_dup(line + 7);
		else if (strcmp(section, "router") == 0 && strncmp(line, "tb_map=", 7) == 0)
			h->tb_map = trimmed_dup(line + 7);
		else if (strcmp(section, "router") == 0 && strncmp(line, "col_map=", 8) == 0)
			h->col_map = trimmed_dup(line + 8);
		else if (strcmp(section, "filter") == 0 && strncmp(line, "ignore_cols=", 12) == 0)
			h->ignore_cols = trimmed_dup(line + 12);
	}
	fclose(f);
	return 0;
}

/* Runs a file's route through everything a run does; the first error, or "ok". */
static void run_hostile(const struct hostile *h, char *msg, size_t cap)
{
	char quote = strcmp(h->kind, "mysql") == 0 ? '`' : strcmp(h->kind, "pg") == 0 ? '"' : 0;
	unsigned flags = strcmp(h->kind, "mongo") == 0 ? TL_ROUTE_DOCUMENTS : 0;
	tl_table *tables[16];
	tl_name sel[16];
	size_t n = 0, i;
	char *cat = strdup(h->catalog), *save = NULL, *tok;
	tl_route *r = NULL;
	tl_route_cols pc = TL_ROUTE_COLS_INIT;
	tl_error err = TL_ERROR_INIT;
	int rc;

	/* "a.t(id*,x) b.u(id*)" */
	for (tok = strtok_r(cat, " ", &save); tok && n < 16; tok = strtok_r(NULL, " ", &save)) {
		char *dot = strchr(tok, '.'), *par = strchr(tok, '(');
		*dot = '\0';
		*par = '\0';
		par[strlen(par + 1)] = '\0';
		tables[n] = mk_table(tok, dot + 1, par + 1);
		sel[n].schema = tables[n]->schema;
		sel[n].name = tables[n]->name;
		n++;
	}
	rc = tl_route_new(&r, quote, flags, h->db_map, h->tb_map, h->col_map, h->ignore_cols, &err);
	if (!rc)
		rc = tl_route_validate(r, sel, n, &err);
	if (!rc && h->same_server)
		rc = tl_route_check_same_server(r, sel, n, &err);
	for (i = 0; !rc && i < n; i++) {
		rc = tl_route_project(r, tables[i], &pc, &err);
		tl_route_cols_clear(&pc);
	}
	snprintf(msg, cap, "%s", rc ? err.message : "ok");
	tl_route_free(r);
	for (i = 0; i < n; i++)
		free_table(tables[i]);
	free(cat);
}

TL_TEST(hostile_corpus)
{
	char dir[4096], path[8192], msg[1024];
	struct dirent *de;
	DIR *d;
	int files = 0;

	snprintf(dir, sizeof(dir), "%s/data/hostile", tl_test_srcdir());
	d = opendir(dir);
	TL_CHECK_MSG(d != NULL, "cannot open %s", dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct hostile h;
		size_t len = strlen(de->d_name);

		if ((strncmp(de->d_name, "router_", 7) != 0 && strncmp(de->d_name, "ignore_cols_", 12) != 0) || len < 4 ||
		    strcmp(de->d_name + len - 4, ".ini") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		TL_CHECK_EQ_INT(read_hostile(path, &h), 0);
		TL_CHECK_MSG(h.expect[0] && h.catalog[0] && h.kind[0], "%s: needs tl-expect, tl-catalog and a db_type", de->d_name);
		run_hostile(&h, msg, sizeof(msg));
		if (strcmp(h.expect, "ok") == 0)
			TL_CHECK_MSG(strcmp(msg, "ok") == 0, "%s: expected to be accepted, got: %s", de->d_name, msg);
		else
			TL_CHECK_MSG(strstr(msg, h.expect) != NULL, "%s: expected '%s' in: %s", de->d_name, h.expect, msg);
		free(h.db_map);
		free(h.tb_map);
		free(h.col_map);
		free(h.ignore_cols);
		files++;
	}
	closedir(d);
	TL_CHECK_MSG(files >= 25, "only %d router/ignore_cols files in %s", files, dir);
}

/* ---- scale ------------------------------------------------------------------------------ */

TL_TEST(many_tables)
{
	/* 20,000 selected tables and 10,000 tb_map entries: validation stays a sort and bsearches */
	enum { N = 20000 };
	tl_name *sel = calloc(N, sizeof(*sel));
	char **names = calloc(N, sizeof(*names));
	tl_buf map = TL_BUF_INIT;
	tl_error err = TL_ERROR_INIT;
	tl_route *r = NULL;
	size_t i;

	for (i = 0; i < N; i++) {
		char buf[32];
		snprintf(buf, sizeof(buf), "t%05zu", i);
		names[i] = strdup(buf);
		sel[i].schema = (char *)"db";
		sel[i].name = names[i];
		if (i % 2 == 0 && tl_buf_printf(&map, &err, "%sdb.%s:copy.%s", map.len ? "," : "", buf, buf) != 0)
			break;
	}
	TL_CHECK_OK(tl_route_new(&r, '`', 0, "db:rest", tl_buf_cstr(&map), NULL, NULL, &err), &err);
	TL_CHECK_OK(tl_route_validate(r, sel, N, &err), &err);
	CHECK_TABLE(r, "db", "t00002", "copy", "t00002");
	CHECK_TABLE(r, "db", "t00003", "rest", "t00003");
	tl_route_free(r);
	tl_buf_release(&map);
	for (i = 0; i < N; i++)
		free(names[i]);
	free(names);
	free(sel);
}
