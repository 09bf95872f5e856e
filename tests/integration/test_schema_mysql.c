/*
 * test_schema_mysql.c - MySQL/MariaDB definitions end to end against two live servers
 * (TL_MYSQL_SRC_URL, TL_MYSQL_DST_URL; skipped when unset; needs the mariadb client and
 * Debian's mariadb-test-data for the world and DBT-3 databases).
 *
 * The source gets `world` (world_schema.inc + world.inc), `dbt3` (dbt3_s001.inc, scale
 * 0.01) and tests/data/schema/mysql_source.sql (views, triggers, routines, an event,
 * foreign keys incl. a cycle and one across databases, generated columns, fulltext and
 * spatial indexes, partitions, …). Every table is copied into an empty target as the
 * engine will (definitions, rows, keys, the rest, counters); then SHOW CREATE of every
 * database, table (AUTO_INCREMENT=N left out), view, trigger, routine and event,
 * AUTO_INCREMENT values, trigger order and CHECKSUM TABLE must be equal; a second
 * application finds everything done; a table with some of its keys already built gets
 * the others; an ALTER TABLE killed while building keys is finished by the next apply.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "connectors/mysql_int.h"
#include "test_schema_common.h"

#define D (&tl_driver_mysql)

static const char *const dbs[] = {"world", "dbt3", "tl_my1", "tl_my2"};
#define NDBS (sizeof(dbs) / sizeof(dbs[0]))

static tl_conn *open_url(const char *url)
{
	tl_endpoint ep = {.db_type = "mysql", .url = url, .app_name = "tideline-test"};
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL;

	if (D->connect(&ep, &c, &err) != 0)
		tl_test_fail(__FILE__, __LINE__, "connect %s: %s", url, err.message);
	return c;
}

static int run(tl_conn *c, const char *sql)
{
	tl_error err = TL_ERROR_INIT;

	if (tl_mysql__exec(c, sql, &err) != 0) {
		tl_test_fail(__FILE__, __LINE__, "sql failed: %s\n      %.300s", err.message, sql);
		return -1;
	}
	return 0;
}

/* Feeds `input` (a shell redirection source) to the mariadb CLI at url. */
static int cli(const char *url, const char *input)
{
	tl_error err = TL_ERROR_INIT;
	char cmd[2048];
	tl_url u;
	int rc;

	if (tl_url_parse(url, &u, &err))
		return -1;
	snprintf(cmd, sizeof(cmd), "mariadb --no-defaults --protocol=TCP -h%s -P%d -u%s %s >/dev/null", u.host, u.port ? u.port : 3306,
		 u.user ? u.user : "root", input);
	rc = system(cmd);
	tl_url_clear(&u);
	if (rc != 0)
		tl_test_fail(__FILE__, __LINE__, "mariadb CLI failed (%d): %s", rc, cmd);
	return rc == 0 ? 0 : -1;
}

/* All rows of a query, each row's cells joined by '|', rows by '\n' (into a tl_buf). */
static int rows_cb(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	tl_buf *b = ctx;
	unsigned i;
	int rc = 0;

	for (i = 0; !rc && i < nf; i++) {
		rc = i ? tl_buf_putc(b, '|', err) : 0;
		if (!rc)
			rc = v[i] ? tl_buf_put(b, v[i], lens[i], err) : tl_buf_puts(b, "NULL", err);
	}
	return rc ? rc : tl_buf_putc(b, '\n', err);
}

static char *all_rows(tl_conn *c, const char *sql)
{
	tl_error err = TL_ERROR_INIT;
	tl_buf b = TL_BUF_INIT;

	if (tl_buf_puts(&b, "", &err) || tl_mysql__query_text(c, sql, rows_cb, &b, &err)) {
		tl_test_fail(__FILE__, __LINE__, "query failed: %s\n      %s", err.message, sql);
		tl_buf_release(&b);
		return NULL;
	}
	return tl_buf_detach(&b);
}

/* Removes every "DEFINER=`u`@`h` " and " AUTO_INCREMENT=<n>" (what is not compared). */
static void normalize(char *s)
{
	char *p;

	while ((p = strstr(s, "DEFINER=`")) != NULL) {
		char *e = strchr(p + 9, '`');
		e = e ? strchr(e + 1, '`') : NULL; /* opening quote of the host */
		e = e ? strchr(e + 1, '`') : NULL; /* its closing quote */
		if (!e)
			break;
		e++;
		if (*e == ' ')
			e++;
		memmove(p, e, strlen(e) + 1);
	}
	while ((p = strstr(s, " AUTO_INCREMENT=")) != NULL) {
		char *e = p + 16;
		while (*e >= '0' && *e <= '9')
			e++;
		memmove(p, e, strlen(e) + 1);
	}
}

/* SHOW CREATE <what> of one object on both sides, normalized, must be equal. */
static void same_create(tl_conn *s, tl_conn *d, const char *what, const char *db, const char *name)
{
	tl_error err = TL_ERROR_INIT;
	tl_buf q = TL_BUF_INIT;
	char *a = NULL, *b = NULL;

	if (tl_buf_printf(&q, &err, "SHOW CREATE %s ", what) ||
	    (name ? tl_mysql__qtable(&q, db, name, &err) : tl_mysql__qident(&q, db, &err)))
		goto cleanup;
	a = all_rows(s, tl_buf_cstr(&q));
	b = all_rows(d, tl_buf_cstr(&q));
	if (!a || !b)
		goto cleanup;
	if (strcmp(what, "TRIGGER") == 0 || strcmp(what, "PROCEDURE") == 0 || strcmp(what, "FUNCTION") == 0 ||
	    strcmp(what, "EVENT") == 0) {
		/* name|sql_mode|statement|(client charset, collations, created: session facts) */
		char *cut;
		int keep = strcmp(what, "EVENT") == 0 ? 4 : 3, k;
		for (cut = a, k = 0; cut && k < keep; k++)
			cut = strchr(cut + (k ? 1 : 0), '|');
		if (cut)
			*cut = '\0';
		for (cut = b, k = 0; cut && k < keep; k++)
			cut = strchr(cut + (k ? 1 : 0), '|');
		if (cut)
			*cut = '\0';
	}
	if (strcmp(what, "VIEW") == 0) { /* name|definition|client charset|collation */
		char *cut = strchr(a, '|');
		cut = cut ? strchr(cut + 1, '|') : NULL;
		if (cut)
			*cut = '\0';
		cut = strchr(b, '|');
		cut = cut ? strchr(cut + 1, '|') : NULL;
		if (cut)
			*cut = '\0';
	}
	normalize(a);
	normalize(b);
	TL_CHECK_MSG(strcmp(a, b) == 0, "SHOW CREATE %s `%s`.`%s` differs:\n  source: %s\n  target: %s", what, db,
		     name ? name : "", a, b);
cleanup:
	free(a);
	free(b);
	tl_buf_release(&q);
}

struct env {
	tl_conn *s, *d;
	tl_name *names;
	size_t n;
};

static void compare_on(struct env *e);

static void free_names(struct env *e)
{
	size_t i;

	for (i = 0; e->names && i < e->n; i++) {
		free(e->names[i].schema);
		free(e->names[i].name);
	}
	free(e->names);
	e->names = NULL;
	e->n = 0;
}

static int names_cb(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	struct env *e = ctx;
	tl_name *nn = realloc(e->names, (e->n + 1) * sizeof(*nn));

	(void)nf;
	(void)lens;
	if (!nn)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	e->names = nn;
	nn[e->n].schema = strdup(v[0]);
	nn[e->n].name = strdup(v[1]);
	e->n++;
	return 0;
}

static int reset_target(tl_conn *d)
{
	size_t i;
	char sql[200];

	for (i = 0; i < NDBS; i++) {
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS `%s`", dbs[i]);
		if (run(d, sql))
			return -1;
	}
	return 0;
}

/* Loads the three sources (once per process) and lists their base tables. */
static int env_open(struct env *e)
{
	static int loaded;
	const char *su = tl_test_require_env("TL_MYSQL_SRC_URL");
	const char *du = su ? tl_test_require_env("TL_MYSQL_DST_URL") : NULL;
	const char *inc = "/usr/share/mysql/mysql-test/include";
	tl_error err = TL_ERROR_INIT;
	char input[2048];

	memset(e, 0, sizeof(*e));
	if (!su || !du)
		return -1;
	if (access("/usr/share/mysql/mysql-test/include/dbt3_s001.inc", R_OK) != 0) {
		tl_test_fail(__FILE__, __LINE__, "%s/dbt3_s001.inc is missing: install mariadb-test-data "
						 "(tools/install-deps.sh)", inc);
		return -1;
	}
	if (!loaded) {
		snprintf(input, sizeof(input),
			 "-e 'DROP DATABASE IF EXISTS world; CREATE DATABASE world CHARACTER SET latin1; USE world; "
			 "SOURCE %s/world_schema.inc; SOURCE %s/world.inc; "
			 "DROP DATABASE IF EXISTS dbt3; CREATE DATABASE dbt3; USE dbt3; SOURCE %s/dbt3_s001.inc;'",
			 inc, inc, inc);
		if (cli(su, input))
			return -1;
		snprintf(input, sizeof(input), "< '%s/data/schema/mysql_source.sql'", tl_test_srcdir());
		if (cli(su, input))
			return -1;
		loaded = 1;
	}
	e->s = open_url(su);
	e->d = open_url(du);
	if (!e->s || !e->d || reset_target(e->d))
		return -1;
	if (tl_mysql__query_text(e->s,
				 "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' "
				 "AND TABLE_SCHEMA IN ('world', 'dbt3', 'tl_my1', 'tl_my2') ORDER BY 1, 2",
				 names_cb, e, &err)) {
		tl_test_fail(__FILE__, __LINE__, "listing tables: %s", err.message);
		return -1;
	}
	return e->n > 12 ? 0 : -1;
}

static void env_close(struct env *e)
{
	free_names(e);
	D->disconnect(e->s);
	D->disconnect(e->d);
}

/*
 * Every object of the test databases: same SHOW CREATE, counters, trigger order, rows.
 * Through new connections: SHOW CREATE leaves out the current database's name, and
 * applying a trigger or routine sets the current database of the connection it used.
 */
static void compare_all(struct env *used)
{
	struct env fresh, *e = &fresh;

	memset(&fresh, 0, sizeof(fresh));
	fresh.names = used->names;
	fresh.n = used->n;
	fresh.s = open_url(getenv("TL_MYSQL_SRC_URL"));
	fresh.d = open_url(getenv("TL_MYSQL_DST_URL"));
	if (fresh.s && fresh.d)
		compare_on(e);
	D->disconnect(fresh.s);
	D->disconnect(fresh.d);
}

static void compare_on(struct env *e)
{
	static const struct {
		const char *what, *sql;
	} kinds[] = {
		{"VIEW", "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.VIEWS"},
		{"TRIGGER", "SELECT TRIGGER_SCHEMA, TRIGGER_NAME FROM information_schema.TRIGGERS"},
		{"PROCEDURE", "SELECT ROUTINE_SCHEMA, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_TYPE = 'PROCEDURE'"},
		{"FUNCTION", "SELECT ROUTINE_SCHEMA, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_TYPE = 'FUNCTION'"},
		{"EVENT", "SELECT EVENT_SCHEMA, EVENT_NAME FROM information_schema.EVENTS"},
	};
	static const char where[] = " IN ('world', 'dbt3', 'tl_my1', 'tl_my2') ORDER BY 1, 2";
	tl_error err = TL_ERROR_INIT;
	size_t i, k;
	char sql[600], *a, *b;

	for (i = 0; i < NDBS; i++)
		same_create(e->s, e->d, "DATABASE", dbs[i], NULL);
	for (i = 0; i < e->n; i++) {
		same_create(e->s, e->d, "TABLE", e->names[i].schema, e->names[i].name);
		{
			tl_buf q = TL_BUF_INIT;
			if (tl_buf_puts(&q, "CHECKSUM TABLE ", &err) == 0 &&
			    tl_mysql__qtable(&q, e->names[i].schema, e->names[i].name, &err) == 0) {
				a = all_rows(e->s, tl_buf_cstr(&q));
				b = all_rows(e->d, tl_buf_cstr(&q));
				TL_CHECK_MSG(a && b && strcmp(a, b) == 0, "CHECKSUM TABLE differs: %s vs %s", a ? a : "?",
					     b ? b : "?");
				free(a);
				free(b);
			}
			tl_buf_release(&q);
		}
	}
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct env objs;
		const char *col = k == 0 ? "TABLE_SCHEMA" : k == 1 ? "TRIGGER_SCHEMA" : k < 4 ? "ROUTINE_SCHEMA" : "EVENT_SCHEMA";
		memset(&objs, 0, sizeof(objs));
		snprintf(sql, sizeof(sql), "%s %s %s%s", kinds[k].sql, strstr(kinds[k].sql, "WHERE") ? "AND" : "WHERE", col,
			 where);
		a = all_rows(e->s, sql);
		b = all_rows(e->d, sql);
		TL_CHECK_MSG(a && b && strcmp(a, b) == 0, "the %ss differ:\n%s\nvs\n%s", kinds[k].what, a ? a : "?", b ? b : "?");
		free(a);
		free(b);
		if (tl_mysql__query_text(e->s, sql, names_cb, &objs, &err) == 0)
			for (i = 0; i < objs.n; i++)
				same_create(e->s, e->d, kinds[k].what, objs.names[i].schema, objs.names[i].name);
		free_names(&objs);
	}
	snprintf(sql, sizeof(sql), "SELECT TABLE_SCHEMA, TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES "
				   "WHERE TABLE_SCHEMA%s", where);
	a = all_rows(e->s, sql);
	b = all_rows(e->d, sql);
	TL_CHECK_MSG(a && b && strcmp(a, b) == 0, "AUTO_INCREMENT values differ:\n%s\nvs\n%s", a ? a : "?", b ? b : "?");
	free(a);
	free(b);
	snprintf(sql, sizeof(sql), "SELECT TRIGGER_SCHEMA, TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_ORDER, SQL_MODE "
				   "FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA%s", where);
	a = all_rows(e->s, sql);
	b = all_rows(e->d, sql);
	TL_CHECK_MSG(a && b && strcmp(a, b) == 0, "trigger order differs:\n%s\nvs\n%s", a ? a : "?", b ? b : "?");
	free(a);
	free(b);
}

TL_TEST(test_schema_mysql__world_dbt3_and_objects_into_empty_target)
{
	tl_schema_list l = TL_SCHEMA_LIST_INIT;
	tl_error err = TL_ERROR_INIT;
	enum tl_schema_state *st = NULL;
	struct env e;
	size_t i;

	if (env_open(&e) != 0)
		goto cleanup;
	TL_CHECK_OK(D->schema_extract(e.s, e.names, e.n, NULL, &l, &err), &err);
	schema_dump(&l);
	schema_check_order(&l);
	TL_CHECK(schema_step(&l, "database dbt3") && schema_step(&l, "table dbt3.lineitem"));
	TL_CHECK(schema_step(&l, "indexes dbt3.lineitem") && schema_step(&l, "indexes dbt3.lineitem")->nparts == 8);
	TL_CHECK(schema_step(&l, "foreign key tl_my1.country.country_capital"));
	TL_CHECK(schema_step(&l, "view tl_my1.big_city_names") &&
		 schema_step(&l, "view tl_my1.big_city_names")->level > schema_step(&l, "view tl_my1.big_city")->level);
	TL_CHECK(schema_step(&l, "trigger tl_my1.city.city_ai2") &&
		 schema_step(&l, "trigger tl_my1.city.city_ai2")->level > schema_step(&l, "trigger tl_my1.city.city_ai")->level);
	TL_CHECK(schema_step(&l, "function tl_my1.joined") && schema_step(&l, "procedure tl_my1.grow"));
	TL_CHECK(schema_step(&l, "event tl_my1.cleanup"));
	TL_CHECK(schema_step(&l, "auto_increment world.City") &&
		 schema_step(&l, "auto_increment world.City")->phase == TL_PHASE_FINAL);
	/* the primary key stays with the table; the clustered unique key and the AUTO_INCREMENT key too */
	TL_CHECK(schema_step(&l, "table tl_my1.keyless") &&
		 strstr(schema_step(&l, "table tl_my1.keyless")->sql, "UNIQUE KEY `ab`") != NULL);
	TL_CHECK(schema_step(&l, "table tl_my1.ticket") && strstr(schema_step(&l, "table tl_my1.ticket")->sql, "KEY `seq`"));
	TL_CHECK(schema_step(&l, "table world.City") && !strstr(schema_step(&l, "table world.City")->sql, "AUTO_INCREMENT="));
	if (tl_test_failed())
		goto cleanup;

	if (schema_apply_all(D, e.s, e.d, &l, e.names, e.n, SCHEMA_FRESH) != 0)
		goto cleanup;
	compare_all(&e);

	st = calloc(l.n, sizeof(*st));
	TL_CHECK_OK(D->schema_probe(e.d, l.items, l.n, st, &err), &err);
	for (i = 0; i < l.n; i++)
		TL_CHECK_MSG(st[i] == (l.items[i].flags & TL_STEP_RERUN ? TL_SCHEMA_UNKNOWN : TL_SCHEMA_PRESENT),
			     "%s probes as %d", l.items[i].id, (int)st[i]);
	if (schema_apply_all(D, NULL, e.d, &l, e.names, e.n, SCHEMA_DONE) != 0)
		goto cleanup;
	compare_all(&e);
cleanup:
	free(st);
	tl_schema_list_clear(&l);
	env_close(&e);
}

TL_TEST(test_schema_mysql__some_keys_there_the_rest_added)
{
	tl_schema_list l = TL_SCHEMA_LIST_INIT;
	tl_error err = TL_ERROR_INIT;
	tl_name li = {"dbt3", "lineitem"};
	enum tl_schema_state before, st;
	const tl_schema_step *ix;
	struct env e;

	if (env_open(&e) != 0)
		goto cleanup;
	TL_CHECK_OK(D->schema_extract(e.s, &li, 1, NULL, &l, &err), &err);
	if (schema_apply_phase(D, e.d, &l, TL_PHASE_PRE_DATA, SCHEMA_FRESH) < 0 ||
	    schema_copy_rows(D, e.s, e.d, "dbt3", "lineitem") != 0)
		goto cleanup;
	if (run(e.d, "ALTER TABLE dbt3.lineitem ADD KEY i_l_shipdate (l_shipDATE), ADD KEY i_l_partkey (l_partkey)"))
		goto cleanup;
	ix = schema_step(&l, "indexes dbt3.lineitem");
	if (!ix)
		goto cleanup;
	TL_CHECK_OK(D->schema_probe(e.d, ix, 1, &st, &err), &err);
	TL_CHECK_EQ_INT(st, TL_SCHEMA_PARTIAL);
	TL_CHECK_OK(D->schema_apply(e.d, ix, &before, &err), &err);
	TL_CHECK_EQ_INT(before, TL_SCHEMA_PARTIAL);
	TL_CHECK_OK(D->schema_probe(e.d, ix, 1, &st, &err), &err);
	TL_CHECK_EQ_INT(st, TL_SCHEMA_PRESENT);
	/* the same keys, though two were built first */
	{
		char *a = all_rows(e.s, "SELECT INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME FROM information_schema.STATISTICS "
					"WHERE TABLE_SCHEMA = 'dbt3' AND TABLE_NAME = 'lineitem' ORDER BY 1, 2");
		char *b = all_rows(e.d, "SELECT INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME FROM information_schema.STATISTICS "
					"WHERE TABLE_SCHEMA = 'dbt3' AND TABLE_NAME = 'lineitem' ORDER BY 1, 2");
		TL_CHECK_MSG(a && b && strcmp(a, b) == 0, "keys differ:\n%s\nvs\n%s", a ? a : "?", b ? b : "?");
		free(a);
		free(b);
	}
cleanup:
	tl_schema_list_clear(&l);
	env_close(&e);
}

struct killer {
	tl_conn *d;
	const tl_schema_step *step;
	int rc;
	tl_error err;
};

static void *apply_thread(void *arg)
{
	struct killer *k = arg;

	k->rc = D->schema_apply(k->d, k->step, NULL, &k->err);
	return NULL;
}

static int id_row(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	(void)nf;
	(void)lens;
	(void)err;
	snprintf(ctx, 32, "%s", v[0] ? v[0] : "");
	return 0;
}

TL_TEST(test_schema_mysql__killed_alter_is_finished)
{
	tl_schema_list l = TL_SCHEMA_LIST_INIT;
	tl_error err = TL_ERROR_INIT;
	tl_name big = {"tl_my2", "big"};
	enum tl_schema_state before = TL_SCHEMA_ABSENT, st;
	struct killer k;
	pthread_t th;
	tl_conn *side = NULL;
	char id[32] = "", sql[64];
	int i, killed = 0;
	struct env e;

	if (env_open(&e) != 0)
		goto cleanup;
	if (run(e.s, "CREATE OR REPLACE TABLE tl_my2.big (id int NOT NULL PRIMARY KEY, a int, b varchar(20), c int, "
		     "KEY a (a), KEY b (b), KEY ca (c, a))") ||
	    run(e.s, "INSERT INTO tl_my2.big SELECT seq, seq % 1000, concat('v', seq % 777), seq % 31 FROM tl_my2.seq_1_to_300000"))
		goto cleanup;
	TL_CHECK_OK(D->schema_extract(e.s, &big, 1, NULL, &l, &err), &err);
	if (schema_apply_phase(D, e.d, &l, TL_PHASE_PRE_DATA, SCHEMA_FRESH) < 0 ||
	    schema_copy_rows(D, e.s, e.d, "tl_my2", "big") != 0)
		goto cleanup;
	memset(&k, 0, sizeof(k));
	k.d = e.d;
	k.step = schema_step(&l, "indexes tl_my2.big");
	side = open_url(getenv("TL_MYSQL_DST_URL"));
	if (!k.step || !side || pthread_create(&th, NULL, apply_thread, &k) != 0)
		goto cleanup;
	for (i = 0; i < 400 && !killed; i++) { /* the ALTER as soon as it shows, killed */
		id[0] = '\0';
		if (tl_mysql__query_text(side, "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'ALTER TABLE `tl_my2`.`big`%'",
					 id_row, id, &err) == 0 && id[0]) {
			snprintf(sql, sizeof(sql), "KILL QUERY %s", id);
			killed = tl_mysql__exec(side, sql, &err) == 0;
		}
		usleep(5000);
	}
	pthread_join(th, NULL);
	if (killed && k.rc != 0)
		TL_CHECK_MSG(strstr(k.err.message, "indexes tl_my2.big") != NULL, "%s", k.err.message);
	else
		fprintf(stderr, "    note: the ALTER finished before it could be killed\n");
	TL_CHECK_OK(D->schema_probe(e.d, k.step, 1, &st, &err), &err);
	TL_CHECK_MSG(!killed || k.rc == 0 || st != TL_SCHEMA_PRESENT, "a killed ALTER left keys behind (%d)", (int)st);
	TL_CHECK_OK(D->schema_apply(e.d, k.step, &before, &err), &err);
	TL_CHECK_OK(D->schema_probe(e.d, k.step, 1, &st, &err), &err);
	TL_CHECK_EQ_INT(st, TL_SCHEMA_PRESENT);
	same_create(e.s, e.d, "TABLE", "tl_my2", "big");
cleanup:
	D->disconnect(side);
	(void)run(e.s, "DROP TABLE IF EXISTS tl_my2.big");
	tl_schema_list_clear(&l);
	env_close(&e);
}

TL_TEST(test_schema_mysql__missing_table_is_named)
{
	tl_schema_list l = TL_SCHEMA_LIST_INIT;
	tl_error err = TL_ERROR_INIT;
	tl_name missing = {"tl_my1", "no_such_table"};
	struct env e;

	if (env_open(&e) != 0)
		goto cleanup;
	TL_CHECK_EQ_INT(D->schema_extract(e.s, &missing, 1, NULL, &l, &err), TL_ERR_NOTFOUND);
	TL_CHECK_MSG(strstr(err.message, "no_such_table") != NULL, "%s", err.message);
cleanup:
	tl_schema_list_clear(&l);
	env_close(&e);
}

TL_TEST(test_schema_mysql__resume_without_key_deletes_past_the_checkpoint)
{
	tl_error err = TL_ERROR_INIT;
	tl_table *t = NULL;
	const char *cols[2] = {"a", "b"}, *vals[2] = {"2", "b"};
	tl_keyvals after = {0, NULL, NULL};
	char *left = NULL;
	struct env e;

	if (env_open(&e) != 0)
		goto cleanup;
	if (run(e.s, "CREATE OR REPLACE TABLE tl_my2.ck (a int NOT NULL, b varchar(5), v int, UNIQUE KEY ab (a, b))") ||
	    run(e.d, "CREATE DATABASE tl_my2") ||
	    run(e.d, "CREATE TABLE tl_my2.ck (a int NOT NULL, b varchar(5), v int)") ||
	    run(e.d, "INSERT INTO tl_my2.ck VALUES (1, 'z', 0), (2, 'a', 0), (2, 'b', 0), (2, 'c', 0), (3, 'a', 0), "
		     "(1, NULL, 0)"))
		goto cleanup;
	TL_CHECK_OK(D->describe(e.s, "tl_my2", "ck", &t, &err), &err);
	TL_CHECK_EQ_INT(t->nkeys, 2);
	TL_CHECK_OK(tl_keyvals_set(&after, 2, cols, vals, &err), &err);
	TL_CHECK_OK(D->delete_after_key(e.d, t, &after, &err), &err);
	left = all_rows(e.d, "SELECT a, IFNULL(b, 'null') FROM tl_my2.ck ORDER BY a, b");
	TL_CHECK_EQ_STR(left, "1|z\n2|a\n2|b\n");
cleanup:
	free(left);
	(void)run(e.s, "DROP TABLE IF EXISTS tl_my2.ck");
	tl_keyvals_clear(&after);
	D->free_table(t);
	env_close(&e);
}
