/*
 * test_schema_pg.c - PostgreSQL definitions end to end against live servers
 * (TL_PG_SRC_URL, TL_PG_DST_URL; skipped when unset; needs pg_dump on PATH).
 *
 * The source gets tests/data/schema/pg_source.sql (every object kind docs/schema.md
 * lists: serial, identity, sequences, enum / domain / composite / range types,
 * partitioned tables, foreign keys with a self-reference and a cycle, views, a
 * materialized view, triggers and their functions, comments, partial / expression /
 * unique / exclusion / GIN / GiST indexes, hstore and citext columns, hostile names).
 * Its tables are copied into an empty target as the engine will do it (definitions,
 * rows, keys and indexes, the rest, values); then `pg_dump -s` of both sides (owners and
 * grants left out, see docs/schema.md), sequence values and table contents must be
 * equal, a second application must find everything done, an index left INVALID by a
 * failed CREATE INDEX CONCURRENTLY must be rebuilt, and the errors users can act on
 * (missing table, extension not allowed / not installed) must say so.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_schema_common.h"

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
		tl_test_fail(__FILE__, __LINE__, "SQL failed: %s\n      %.300s", PQresultErrorMessage(r), sql);
	PQclear(r);
	return ok ? 0 : -1;
}

/* First value of the first row (malloc'd; NULL for NULL or no rows). */
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

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
			buf[n] = '\0';
		else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

/* `pg_dump -s -O -x` of the test schemas, without comments, blank and \restrict lines. */
static char *dump_schema(const char *url, const char *tag)
{
	char cmd[1024], line[8192], path[512];
	size_t len = 0, cap = 1 << 16;
	char *out = malloc(cap);
	FILE *p, *f;

	if (!out)
		return NULL;
	out[0] = '\0';
	snprintf(cmd, sizeof(cmd), "pg_dump -s -O -x -n tl_sch -n '\"tl Other\"' -d '%s' 2>&1", url);
	p = popen(cmd, "r");
	if (!p) {
		free(out);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s.sql", tl_test_tmpdir(), tag);
	f = fopen(path, "w");
	while (fgets(line, sizeof(line), p)) {
		size_t l = strlen(line);
		if (line[0] == '\n' || strncmp(line, "--", 2) == 0 || strncmp(line, "\\restrict", 9) == 0 ||
		    strncmp(line, "\\unrestrict", 11) == 0)
			continue;
		if (len + l + 1 > cap) {
			char *n = realloc(out, cap * 2 + l);
			if (!n)
				break;
			out = n;
			cap = cap * 2 + l;
		}
		memcpy(out + len, line, l + 1);
		len += l;
		if (f)
			fputs(line, f);
	}
	if (f)
		fclose(f);
	if (pclose(p) != 0) {
		tl_test_fail(__FILE__, __LINE__, "pg_dump failed (is it installed?): %.500s", out);
		free(out);
		return NULL;
	}
	return out;
}

/* Fails with the first lines of `diff` when the two dumps differ. */
static void check_same_dump(const char *a, const char *b)
{
	char cmd[1200], buf[4000];
	size_t n;
	FILE *p;

	if (!a || !b || strcmp(a, b) == 0)
		return;
	snprintf(cmd, sizeof(cmd), "diff %s/source.sql %s/target.sql | head -40", tl_test_tmpdir(), tl_test_tmpdir());
	p = popen(cmd, "r");
	n = p ? fread(buf, 1, sizeof(buf) - 1, p) : 0;
	buf[n] = '\0';
	if (p)
		pclose(p);
	tl_test_fail(__FILE__, __LINE__, "pg_dump -s differs between source and target:\n%s", buf);
}

struct env {
	PGconn *src, *dst;
	tl_conn *s, *d;
	tl_name *names;
	size_t n;
};

static tl_conn *drv(const char *url)
{
	tl_endpoint ep = {.db_type = "pg", .url = url, .app_name = "tideline-test"};
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL;

	if (tl_driver_pg.connect(&ep, &c, &err) != 0)
		tl_test_fail(__FILE__, __LINE__, "connect: %s", err.message);
	return c;
}

static const char *const target_reset =
	"DROP SCHEMA IF EXISTS tl_sch CASCADE; DROP SCHEMA IF EXISTS \"tl Other\" CASCADE; "
	"DROP EXTENSION IF EXISTS hstore, citext, btree_gist, pg_trgm CASCADE";

/* Source loaded from the data file, target emptied, names = the test schemas' tables. */
static int env_open(struct env *e)
{
	const char *su = tl_test_require_env("TL_PG_SRC_URL");
	const char *du = su ? tl_test_require_env("TL_PG_DST_URL") : NULL;
	char path[1024], *sql;
	PGresult *r;
	int i;

	memset(e, 0, sizeof(*e));
	if (!su || !du)
		return -1;
	e->src = db(su);
	e->dst = db(du);
	if (!e->src || !e->dst)
		return -1;
	snprintf(path, sizeof(path), "%s/data/schema/pg_source.sql", tl_test_srcdir());
	sql = read_file(path);
	if (!sql) {
		tl_test_fail(__FILE__, __LINE__, "cannot read %s", path);
		return -1;
	}
	i = run(e->src, sql);
	free(sql);
	if (i || run(e->dst, target_reset))
		return -1;
	e->s = drv(su);
	e->d = drv(du);
	if (!e->s || !e->d)
		return -1;
	r = PQexec(e->src, "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
			   "WHERE n.nspname IN ('tl_sch', 'tl Other') AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
			   "ORDER BY 1, 2");
	e->n = (size_t)PQntuples(r);
	e->names = calloc(e->n, sizeof(*e->names));
	for (i = 0; e->names && i < PQntuples(r); i++) {
		e->names[i].schema = strdup(PQgetvalue(r, i, 0));
		e->names[i].name = strdup(PQgetvalue(r, i, 1));
	}
	PQclear(r);
	return e->names && e->n > 0 ? 0 : -1;
}

static void env_close(struct env *e)
{
	size_t i;

	for (i = 0; e->names && i < e->n; i++) {
		free(e->names[i].schema);
		free(e->names[i].name);
	}
	free(e->names);
	tl_driver_pg.disconnect(e->s);
	tl_driver_pg.disconnect(e->d);
	if (e->src)
		PQfinish(e->src);
	if (e->dst)
		PQfinish(e->dst);
}

static const char *const seq_values =
	"SELECT string_agg(schemaname || '.' || sequencename || '=' || COALESCE(last_value::text, 'null'), ' ' "
	"ORDER BY schemaname, sequencename) FROM pg_sequences WHERE schemaname IN ('tl_sch', 'tl Other')";

/* md5 of a table's rows in a stable order. */
static char *content(PGconn *c, const char *schema, const char *name)
{
	char sql[1024], *q = PQescapeIdentifier(c, schema, strlen(schema)), *t = PQescapeIdentifier(c, name, strlen(name));
	char *v;

	snprintf(sql, sizeof(sql), "SELECT count(*) || ':' || md5(COALESCE(string_agg(x::text, '|' ORDER BY x::text), '')) "
				   "FROM %s.%s x", q, t);
	PQfreemem(q);
	PQfreemem(t);
	v = one(c, sql);
	return v;
}

TL_TEST(test_schema_pg__whole_schema_into_empty_target)
{
	tl_schema_opts opts = TL_SCHEMA_OPTS_INIT;
	tl_schema_list l = TL_SCHEMA_LIST_INIT;
	tl_error err = TL_ERROR_INIT;
	enum tl_schema_state *st = NULL;
	char *a = NULL, *b = NULL;
	struct env e;
	size_t i;

	if (env_open(&e) != 0)
		goto cleanup;
	TL_CHECK_OK(tl_driver_pg.schema_extract(e.s, e.names, e.n, &opts, &l, &err), &err);
	schema_dump(&l);
	schema_check_order(&l);
	/* the split the engine relies on */
	TL_CHECK(schema_step(&l, "schema tl_sch") && schema_step(&l, "schema tl_sch")->phase == TL_PHASE_PRE_DATA);
	TL_CHECK(schema_step(&l, "extension hstore") && schema_step(&l, "extension citext") &&
		 schema_step(&l, "extension btree_gist") && schema_step(&l, "extension pg_trgm"));
	TL_CHECK(schema_step(&l, "type tl_sch.floatrange") && schema_step(&l, "function tl_sch.twice(integer)"));
	TL_CHECK(schema_step(&l, "primary key tl_sch.city.city_pkey") &&
		 schema_step(&l, "primary key tl_sch.city.city_pkey")->phase == TL_PHASE_TABLE_POST);
	TL_CHECK(schema_step(&l, "index tl_sch.city_name_trgm") &&
		 schema_step(&l, "index tl_sch.city_name_trgm")->phase == TL_PHASE_TABLE_POST);
	TL_CHECK(schema_step(&l, "index attach tl_sch.measure_2024_a_value_idx") &&
		 schema_step(&l, "index attach tl_sch.measure_2024_a_value_idx")->level > 0);
	TL_CHECK(schema_step(&l, "foreign key tl_sch.city.city_parent_id_fkey") &&
		 schema_step(&l, "foreign key tl_sch.city.city_parent_id_fkey")->phase == TL_PHASE_POST_DATA);
	TL_CHECK(schema_step(&l, "trigger tl_sch.city.city_audit") &&
		 schema_step(&l, "trigger tl_sch.city.city_audit")->phase == TL_PHASE_POST_DATA);
	TL_CHECK(schema_step(&l, "refresh tl_sch.city_count") && schema_step(&l, "view tl_sch.big_city_names") &&
		 schema_step(&l, "view tl_sch.big_city_names")->level > schema_step(&l, "view tl_sch.big_city")->level);
	TL_CHECK(schema_step(&l, "sequence value tl_sch.item_id_seq") &&
		 schema_step(&l, "sequence value tl_sch.item_id_seq")->phase == TL_PHASE_FINAL);
	TL_CHECK(schema_step(&l, "comment column tl_sch.country.cname"));
	TL_CHECK(tl_test_failed() == 0);
	if (tl_test_failed())
		goto cleanup;

	if (schema_apply_all(&tl_driver_pg, e.s, e.d, &l, e.names, e.n, SCHEMA_FRESH) != 0)
		goto cleanup;
	a = dump_schema(getenv("TL_PG_SRC_URL"), "source");
	b = dump_schema(getenv("TL_PG_DST_URL"), "target");
	check_same_dump(a, b);
	{
		char *sv = one(e.src, seq_values), *dv = one(e.dst, seq_values);
		TL_CHECK_EQ_STR(dv, sv);
		free(sv);
		free(dv);
	}
	for (i = 0; i < e.n; i++) {
		char *sc = content(e.src, e.names[i].schema, e.names[i].name);
		char *dc = content(e.dst, e.names[i].schema, e.names[i].name);
		TL_CHECK_MSG(sc && dc && strcmp(sc, dc) == 0, "rows of %s.%s differ: %s vs %s", e.names[i].schema,
			     e.names[i].name, sc ? sc : "?", dc ? dc : "?");
		free(sc);
		free(dc);
	}
	{ /* the triggers came after the rows: the audit table holds only the source's rows */
		char *sc = content(e.src, "tl_sch", "audit_log"), *dc = content(e.dst, "tl_sch", "audit_log");
		TL_CHECK_EQ_STR(dc, sc);
		free(sc);
		free(dc);
	}

	/* every step is found done now, and a second application changes nothing */
	st = calloc(l.n, sizeof(*st));
	TL_CHECK_OK(tl_driver_pg.schema_probe(e.d, l.items, l.n, st, &err), &err);
	for (i = 0; i < l.n; i++)
		TL_CHECK_MSG(st[i] == (l.items[i].flags & TL_STEP_RERUN ? TL_SCHEMA_UNKNOWN : TL_SCHEMA_PRESENT),
			     "%s probes as %d", l.items[i].id, (int)st[i]);
	if (schema_apply_all(&tl_driver_pg, NULL, e.d, &l, e.names, e.n, SCHEMA_DONE) != 0)
		goto cleanup;
	free(b);
	b = dump_schema(getenv("TL_PG_DST_URL"), "target");
	check_same_dump(a, b);
cleanup:
	free(st);
	free(a);
	free(b);
	tl_schema_list_clear(&l);
	env_close(&e);
}

TL_TEST(test_schema_pg__invalid_index_is_rebuilt)
{
	tl_schema_list l = TL_SCHEMA_LIST_INIT;
	tl_error err = TL_ERROR_INIT;
	enum tl_schema_state before, st;
	tl_name one_table = {"tl_sch", "city"};
	const tl_schema_step *ix;
	char *sdef = NULL, *ddef = NULL;
	struct env e;

	if (env_open(&e) != 0)
		goto cleanup;
	TL_CHECK_OK(tl_driver_pg.schema_extract(e.s, &one_table, 1, NULL, &l, &err), &err);
	if (schema_apply_phase(&tl_driver_pg, e.d, &l, TL_PHASE_PRE_DATA, SCHEMA_FRESH) < 0 ||
	    schema_copy_rows(&tl_driver_pg, e.s, e.d, "tl_sch", "city") != 0)
		goto cleanup;
	/* a unique index built concurrently over duplicates fails and stays behind INVALID */
	if (run(e.dst, "INSERT INTO tl_sch.city (name, country) VALUES ('Amsterdam', 'NLD')"))
		goto cleanup;
	PQclear(PQexec(e.dst, "CREATE UNIQUE INDEX CONCURRENTLY city_name_lower_idx ON tl_sch.city (country)"));
	ddef = one(e.dst, "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'tl_sch.city_name_lower_idx'::regclass");
	TL_CHECK_EQ_STR(ddef, "false");
	free(ddef);
	ddef = NULL;
	ix = schema_step(&l, "index tl_sch.city_name_lower_idx");
	if (!ix)
		goto cleanup;
	TL_CHECK_OK(tl_driver_pg.schema_probe(e.d, ix, 1, &st, &err), &err);
	TL_CHECK_EQ_INT(st, TL_SCHEMA_PARTIAL);
	TL_CHECK_OK(tl_driver_pg.schema_apply(e.d, ix, &before, &err), &err);
	TL_CHECK_EQ_INT(before, TL_SCHEMA_PARTIAL);
	sdef = one(e.src, "SELECT pg_get_indexdef('tl_sch.city_name_lower_idx'::regclass)");
	ddef = one(e.dst, "SELECT pg_get_indexdef(indexrelid) || ' valid=' || indisvalid FROM pg_index "
			  "WHERE indexrelid = 'tl_sch.city_name_lower_idx'::regclass");
	TL_CHECK_MSG(sdef && ddef && strncmp(ddef, sdef, strlen(sdef)) == 0 && strstr(ddef, " valid=true"),
		     "rebuilt index: %s (source: %s)", ddef ? ddef : "?", sdef ? sdef : "?");
	/* a step that fails leaves nothing: its transaction is rolled back */
	{
		/* a unique key is its index first (built beside the others), then the constraint */
		const tl_schema_step *uk = schema_step(&l, "index tl_sch.city_country_name_key");
		TL_CHECK(schema_step(&l, "unique tl_sch.city.city_country_name_key") &&
			 schema_step(&l, "unique tl_sch.city.city_country_name_key")->level == 1);
		TL_CHECK(uk && tl_driver_pg.schema_apply(e.d, uk, NULL, &err) == TL_ERR_DB);
		TL_CHECK_MSG(strstr(err.message, "index tl_sch.city_country_name_key") != NULL &&
			     strstr(err.message, "could not create unique index") != NULL, "%s", err.message);
		free(ddef);
		ddef = one(e.dst, "SELECT count(*)::text FROM pg_class WHERE relname = 'city_country_name_key'");
		TL_CHECK_EQ_STR(ddef, "0");
	}
cleanup:
	free(sdef);
	free(ddef);
	tl_schema_list_clear(&l);
	env_close(&e);
}

TL_TEST(test_schema_pg__errors_name_what_to_do)
{
	tl_schema_list l = TL_SCHEMA_LIST_INIT;
	tl_error err = TL_ERROR_INIT;
	tl_name missing = {"tl_sch", "no_such_table"};
	tl_schema_step *s;
	tl_conn *weak = NULL;
	char url[1024];
	struct env e;

	if (env_open(&e) != 0)
		goto cleanup;
	TL_CHECK_EQ_INT(tl_driver_pg.schema_extract(e.s, &missing, 1, NULL, &l, &err), TL_ERR_NOTFOUND);
	TL_CHECK_MSG(strstr(err.message, "no_such_table") != NULL, "%s", err.message);
	tl_schema_list_clear(&l);

	/* an extension the server does not have */
	TL_CHECK_OK(tl_schema_list_push(&l, TL_SK_EXTENSION, NULL, NULL, "tl_no_such_ext", TL_SCHEMA_NO_OWNER, &s, &err),
		    &err);
	s->sql = strdup("CREATE EXTENSION IF NOT EXISTS tl_no_such_ext WITH SCHEMA public CASCADE;");
	TL_CHECK_EQ_INT(tl_driver_pg.schema_apply(e.d, s, NULL, &err), TL_ERR_DB);
	TL_CHECK_MSG(strstr(err.message, "\"tl_no_such_ext\" is needed and is not installed") != NULL, "%s", err.message);

	/* an extension the target user may not create */
	if (run(e.dst, "DO $$ BEGIN CREATE ROLE tl_schema_weak LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$"))
		goto cleanup;
	free(s->sql);
	free(s->name);
	s->name = strdup("pg_stat_statements");
	s->sql = strdup("CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA public CASCADE;");
	snprintf(url, sizeof(url), "%s", getenv("TL_PG_DST_URL"));
	{
		tl_endpoint ep = {.db_type = "pg", .url = url, .username = "tl_schema_weak", .app_name = "tideline-test"};
		TL_CHECK_OK(tl_driver_pg.connect(&ep, &weak, &err), &err);
	}
	TL_CHECK_EQ_INT(tl_driver_pg.schema_apply(weak, s, NULL, &err), TL_ERR_DB);
	TL_CHECK_MSG(strstr(err.message, "its user may not create it") != NULL, "%s", err.message);
cleanup:
	tl_driver_pg.disconnect(weak);
	tl_schema_list_clear(&l);
	env_close(&e);
}

TL_TEST(test_schema_pg__resume_without_key_deletes_past_the_checkpoint)
{
	tl_error err = TL_ERROR_INIT;
	tl_table *t = NULL;
	const char *cols[2] = {"a", "b"}, *vals[2] = {"2", "b"}, *bad[2] = {"x", "b"};
	tl_keyvals after = {0, NULL, NULL};
	char *left = NULL;
	struct env e;

	if (env_open(&e) != 0)
		goto cleanup;
	/* the source orders by a unique key with a nullable column; the target has no key yet */
	if (run(e.src, "CREATE TABLE tl_sch.ck (a int NOT NULL, b text, v int, UNIQUE (a, b))") ||
	    run(e.dst, "CREATE SCHEMA tl_sch; CREATE TABLE tl_sch.ck (a int NOT NULL, b text, v int); "
		       "INSERT INTO tl_sch.ck VALUES (1, 'z', 0), (2, 'a', 0), (2, 'b', 0), (2, 'c', 0), (3, 'a', 0), "
		       "(1, NULL, 0)"))
		goto cleanup;
	TL_CHECK_OK(tl_driver_pg.describe(e.s, "tl_sch", "ck", &t, &err), &err);
	TL_CHECK_EQ_INT(t->nkeys, 2);
	TL_CHECK_OK(tl_keyvals_set(&after, 2, cols, vals, &err), &err);
	TL_CHECK_OK(tl_driver_pg.delete_after_key(e.d, t, &after, &err), &err);
	left = one(e.dst, "SELECT string_agg(a || ',' || COALESCE(b, 'null'), ' ' ORDER BY a, b) FROM tl_sch.ck");
	TL_CHECK_EQ_STR(left, "1,z 2,a 2,b");
	tl_keyvals_clear(&after);
	TL_CHECK_OK(tl_keyvals_set(&after, 2, cols, bad, &err), &err);
	TL_CHECK_EQ_INT(tl_driver_pg.delete_after_key(e.d, t, &after, &err), TL_ERR_MISMATCH);
	TL_CHECK_MSG(strstr(err.message, "\"a\"") != NULL && strstr(err.message, "x") != NULL, "%s", err.message);
	TL_CHECK_OK(tl_driver_pg.delete_after_key(e.d, t, NULL, &err), &err);
	free(left);
	left = one(e.dst, "SELECT count(*)::text FROM tl_sch.ck");
	TL_CHECK_EQ_STR(left, "0");
cleanup:
	free(left);
	tl_keyvals_clear(&after);
	tl_driver_pg.free_table(t);
	env_close(&e);
}

TL_TEST(test_schema_pg__renamed_table_and_schema)
{
	tl_schema_opts opts = TL_SCHEMA_OPTS_INIT;
	tl_schema_list l = TL_SCHEMA_LIST_INIT;
	tl_error err = TL_ERROR_INIT;
	tl_name *targets = NULL;
	char *v = NULL;
	struct env e;
	size_t i;

	if (env_open(&e) != 0)
		goto cleanup;
	targets = calloc(e.n, sizeof(*targets));
	if (!targets)
		goto cleanup;
	for (i = 0; i < e.n; i++)
		targets[i] = e.names[i];
	for (i = 0; i < e.n; i++)
		if (strcmp(e.names[i].name, "city") == 0)
			targets[i].name = (char *)"town";
	opts.targets = targets;
	/* a view's text names tl_sch.city: it cannot follow */
	TL_CHECK_EQ_INT(tl_driver_pg.schema_extract(e.s, e.names, e.n, &opts, &l, &err), TL_ERR_UNSUPPORTED);
	TL_CHECK_MSG(strstr(err.message, "renamed to \"tl_sch\".\"town\"") != NULL, "%s", err.message);
	tl_schema_list_clear(&l);
	/* without views: the table, its keys, indexes, foreign keys (both ways) and triggers follow */
	opts.structures = TL_ST_ALL & ~TL_ST_VIEW;
	TL_CHECK_OK(tl_driver_pg.schema_extract(e.s, e.names, e.n, &opts, &l, &err), &err);
	schema_check_order(&l);
	if (schema_apply_phase(&tl_driver_pg, e.d, &l, TL_PHASE_PRE_DATA, SCHEMA_FRESH) < 0 ||
	    schema_apply_phase(&tl_driver_pg, e.d, &l, TL_PHASE_TABLE_POST, SCHEMA_FRESH) < 0 ||
	    schema_apply_phase(&tl_driver_pg, e.d, &l, TL_PHASE_POST_DATA, SCHEMA_FRESH) < 0 ||
	    schema_apply_phase(&tl_driver_pg, e.d, &l, TL_PHASE_FINAL, SCHEMA_FRESH) < 0)
		goto cleanup;
	v = one(e.dst, "SELECT (to_regclass('tl_sch.city') IS NULL)::text || ' ' || "
		       "(SELECT confrelid::regclass::text FROM pg_constraint WHERE conname = 'country_capital_fkey') || ' ' || "
		       "(SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname = 'city_audit') || ' ' || "
		       "(SELECT indrelid::regclass::text FROM pg_index WHERE indexrelid = 'tl_sch.city_name_trgm'::regclass) || ' ' || "
		       "(SELECT conrelid::regclass::text FROM pg_constraint WHERE conname = 'city_pkey')");
	TL_CHECK_EQ_STR(v, "true tl_sch.town tl_sch.town tl_sch.town tl_sch.town");
	tl_schema_list_clear(&l);
	/* a schema rename: what names the schema in its text (a type, here) is refused by name */
	for (i = 0; i < e.n; i++) {
		targets[i] = e.names[i];
		if (strcmp(e.names[i].schema, "tl Other") == 0)
			targets[i].schema = (char *)"tl Moved";
	}
	opts.structures = TL_ST_ALL;
	TL_CHECK_EQ_INT(tl_driver_pg.schema_extract(e.s, e.names, e.n, &opts, &l, &err), TL_ERR_UNSUPPORTED);
	TL_CHECK_MSG(strstr(err.message, "Odd \"Type\"") != NULL && strstr(err.message, "tl Moved") != NULL, "%s",
		     err.message);
cleanup:
	free(v);
	free(targets);
	tl_schema_list_clear(&l);
	env_close(&e);
}
