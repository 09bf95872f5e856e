/*
 * mysql_schema_apply.c - MySQL/MariaDB definitions on a target: schema_probe (the
 * information_schema names of each database involved, read once per database and kind)
 * and schema_apply (one step, idempotently).
 *
 * DDL is not transactional in MySQL, so "half done" is real here: a table's ALTER TABLE
 * that adds its keys may have been killed (InnoDB rolls it back), may still be running
 * in the server for a client that died (the new ALTER waits for it, then finds the keys
 * there), or some keys may exist already; apply adds exactly the missing ones. Objects
 * are found by name only; what is found is never altered. Triggers, routines, views and
 * events run in their source's sql_mode and collation (step->session), restored after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "connectors/mysql_schema_int.h"

/* What the target has in one database, read on demand. */
struct have {
	const char *db;
	int db_exists;
	unsigned loaded; /* bits: which sets below were read */
	struct tl_mys_set tables, indexes, fks, triggers, routines, events;
};

enum { H_TABLES = 1, H_INDEXES = 2, H_FKS = 4, H_TRIGGERS = 8, H_ROUTINES = 16, H_EVENTS = 32 };

static void have_clear(struct have *h)
{
	tl_mys__set_clear(&h->tables);
	tl_mys__set_clear(&h->indexes);
	tl_mys__set_clear(&h->fks);
	tl_mys__set_clear(&h->triggers);
	tl_mys__set_clear(&h->routines);
	tl_mys__set_clear(&h->events);
	memset(h, 0, sizeof(*h));
}

static int load(tl_conn *c, struct have *h, unsigned what, tl_error *err)
{
	static const struct {
		unsigned bit;
		const char *sql;
	} q[] = {
		{H_TABLES, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?"},
		{H_INDEXES, "SELECT DISTINCT TABLE_NAME, INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ?"},
		{H_FKS, "SELECT TABLE_NAME, CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS "
			"WHERE CONSTRAINT_SCHEMA = ?"},
		{H_TRIGGERS, "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?"},
		{H_ROUTINES, "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?"},
		{H_EVENTS, "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?"},
	};
	struct tl_mys_set *sets[] = {&h->tables, &h->indexes, &h->fks, &h->triggers, &h->routines, &h->events};
	const char *p[1] = {h->db};
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < sizeof(q) / sizeof(q[0]); i++) {
		if (!(what & q[i].bit) || (h->loaded & q[i].bit))
			continue;
		rc = tl_mysql__query(c, q[i].sql, 1, p, tl_mys__set_row, sets[i], err);
		h->loaded |= q[i].bit;
	}
	if (rc)
		tl_error_prefix(err, "cannot look for definitions in `%s` on the mysql target", h->db);
	return rc;
}

static unsigned needs(const tl_schema_step *s)
{
	switch (s->kind) {
	case TL_SK_TABLE:
	case TL_SK_VIEW: return H_TABLES;
	case TL_SK_INDEXES: return H_INDEXES;
	case TL_SK_FOREIGN_KEY: return H_FKS;
	case TL_SK_TRIGGER: return H_TRIGGERS;
	case TL_SK_FUNCTION: return H_ROUTINES;
	case TL_SK_EVENT: return H_EVENTS;
	default: return 0;
	}
}

static enum tl_schema_state state_of(struct have *h, const tl_schema_step *s)
{
	size_t i, found = 0;

	if (s->flags & TL_STEP_RERUN)
		return TL_SCHEMA_UNKNOWN;
	if (!h->db_exists)
		return TL_SCHEMA_ABSENT;
	switch (s->kind) {
	case TL_SK_DATABASE: return TL_SCHEMA_PRESENT;
	case TL_SK_TABLE:
	case TL_SK_VIEW: return tl_mys__set_has(&h->tables, s->name, NULL) ? TL_SCHEMA_PRESENT : TL_SCHEMA_ABSENT;
	case TL_SK_INDEXES:
		for (i = 0; i < s->nparts; i++)
			found += tl_mys__set_has(&h->indexes, s->table, s->parts[i].name) != 0;
		return found == 0 ? TL_SCHEMA_ABSENT : found == s->nparts ? TL_SCHEMA_PRESENT : TL_SCHEMA_PARTIAL;
	case TL_SK_FOREIGN_KEY:
		return tl_mys__set_has(&h->fks, s->table, s->name) ? TL_SCHEMA_PRESENT : TL_SCHEMA_ABSENT;
	case TL_SK_TRIGGER: return tl_mys__set_has(&h->triggers, s->name, NULL) ? TL_SCHEMA_PRESENT : TL_SCHEMA_ABSENT;
	case TL_SK_FUNCTION:
		return tl_mys__set_has(&h->routines, s->ref ? s->ref : "", s->name) ? TL_SCHEMA_PRESENT : TL_SCHEMA_ABSENT;
	case TL_SK_EVENT: return tl_mys__set_has(&h->events, s->name, NULL) ? TL_SCHEMA_PRESENT : TL_SCHEMA_ABSENT;
	default: return TL_SCHEMA_UNKNOWN;
	}
}

static int db_row(void *ctx, unsigned ncols, char **vals, unsigned long *lens, tl_error *err)
{
	(void)ncols;
	(void)vals;
	(void)lens;
	(void)err;
	*(int *)ctx = 1;
	return 0;
}

/* The states of steps[0..n), reading each database's names once per kind needed. */
static int probe(tl_conn *c, const tl_schema_step *steps, size_t n, enum tl_schema_state *out, tl_error *err)
{
	static const char db_sql[] = "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?";
	unsigned char *done = calloc(n ? n : 1, 1);
	size_t i, j;
	int rc = 0;

	if (!done)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory looking for mysql definitions");
	for (i = 0; !rc && i < n; i++) {
		struct have h;
		unsigned what = 0;
		const char *p[1];
		if (done[i])
			continue;
		memset(&h, 0, sizeof(h));
		h.db = steps[i].schema ? steps[i].schema : "";
		p[0] = h.db;
		for (j = i; j < n; j++)
			if (!done[j] && strcmp(steps[j].schema ? steps[j].schema : "", h.db) == 0)
				what |= needs(&steps[j]);
		rc = tl_mysql__query(c, db_sql, 1, p, db_row, &h.db_exists, err);
		if (!rc && h.db_exists)
			rc = load(c, &h, what, err);
		for (j = i; !rc && j < n; j++)
			if (!done[j] && strcmp(steps[j].schema ? steps[j].schema : "", h.db) == 0) {
				out[j] = state_of(&h, &steps[j]);
				done[j] = 1;
			}
		have_clear(&h);
	}
	free(done);
	return rc;
}

int tl_mysql__schema_probe(tl_conn *dst, const tl_schema_step *steps, size_t n, enum tl_schema_state *out,
			   tl_error *err)
{
	int rc = tl_mysql__ready(dst, err);

	return rc ? rc : probe(dst, steps, n, out, err);
}

/* The state of one step, looking only at its own object (applying many steps of a large
 * database must not read the whole database's names each time). */
static int probe_step(tl_conn *c, const tl_schema_step *s, enum tl_schema_state *out, tl_error *err)
{
	static const char db_sql[] = "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?";
	struct have h;
	const char *p[3];
	const char *sql = NULL;
	unsigned np = 2;
	struct tl_mys_set *set = NULL;
	int rc;

	memset(&h, 0, sizeof(h));
	h.db = s->schema ? s->schema : "";
	p[0] = h.db;
	*out = TL_SCHEMA_ABSENT;
	if (s->flags & TL_STEP_RERUN) {
		*out = TL_SCHEMA_UNKNOWN;
		return 0;
	}
	rc = tl_mysql__query(c, db_sql, 1, p, db_row, &h.db_exists, err);
	switch (s->kind) {
	case TL_SK_TABLE:
	case TL_SK_VIEW:
		sql = "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?";
		p[1] = s->name;
		set = &h.tables;
		break;
	case TL_SK_INDEXES:
		sql = "SELECT DISTINCT TABLE_NAME, INDEX_NAME FROM information_schema.STATISTICS "
		      "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?";
		p[1] = s->table;
		set = &h.indexes;
		break;
	case TL_SK_FOREIGN_KEY:
		sql = "SELECT TABLE_NAME, CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS "
		      "WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = ?";
		p[1] = s->table;
		p[2] = s->name;
		np = 3;
		set = &h.fks;
		break;
	case TL_SK_TRIGGER:
		sql = "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME = ?";
		p[1] = s->name;
		set = &h.triggers;
		break;
	case TL_SK_FUNCTION:
		sql = "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES "
		      "WHERE ROUTINE_SCHEMA = ? AND ROUTINE_NAME = ?";
		p[1] = s->name;
		set = &h.routines;
		break;
	case TL_SK_EVENT:
		sql = "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? AND EVENT_NAME = ?";
		p[1] = s->name;
		set = &h.events;
		break;
	default:
		break;
	}
	if (!rc && sql && h.db_exists && p[1] && (np < 3 || p[2]))
		rc = tl_mysql__query(c, sql, np, p, tl_mys__set_row, set, err);
	if (rc)
		tl_error_prefix(err, "cannot look for %s on the mysql target", s->id);
	else
		*out = state_of(&h, s);
	have_clear(&h);
	return rc;
}

/* ---- applying ----------------------------------------------------------------------- */

struct saved {
	char *mode, *coll, *tz;
};

static int save_row(void *ctx, unsigned ncols, char **vals, unsigned long *lens, tl_error *err)
{
	struct saved *s = ctx;

	(void)lens;
	if (ncols < 3)
		return tl_error_set(err, TL_ERR_INTERNAL, "unexpected mysql session read");
	s->mode = tl_strdup(vals[0] ? vals[0] : "");
	s->coll = tl_strdup(vals[1] ? vals[1] : "utf8mb4_general_ci");
	s->tz = tl_strdup(vals[2] ? vals[2] : "+00:00");
	return s->mode && s->coll && s->tz ? 0 : tl_error_set(err, TL_ERR_NOMEM, "out of memory saving the mysql session");
}

static void saved_clear(struct saved *s)
{
	free(s->mode);
	free(s->coll);
	free(s->tz);
	memset(s, 0, sizeof(*s));
}

/* Runs the statements of a session text (separated by ";\n"). */
static int run_session(tl_conn *c, const char *text, tl_error *err)
{
	const char *p = text, *end;
	char *one;
	int rc = 0;

	while (!rc && p && *p) {
		end = strstr(p, ";\n");
		one = end ? tl_strndup(p, (size_t)(end - p)) : tl_strdup(p);
		if (!one)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory setting up a mysql session");
		rc = tl_mysql__exec(c, one, err);
		free(one);
		p = end ? end + 2 : NULL;
	}
	return rc;
}

static int restore(tl_conn *c, const struct saved *s, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT;
	int rc = tl_buf_puts(&sql, "SET SESSION sql_mode = ", err);

	if (!rc)
		rc = tl_mysql__qstring(c, &sql, s->mode, strlen(s->mode), err);
	if (!rc)
		rc = tl_buf_puts(&sql, ", collation_connection = ", err);
	if (!rc)
		rc = tl_mysql__qstring(c, &sql, s->coll, strlen(s->coll), err);
	if (!rc)
		rc = tl_buf_puts(&sql, ", time_zone = ", err);
	if (!rc)
		rc = tl_mysql__qstring(c, &sql, s->tz, strlen(s->tz), err);
	if (!rc)
		rc = tl_mysql__exec(c, tl_buf_cstr(&sql), err);
	tl_buf_release(&sql);
	return rc;
}

/* ALTER TABLE adding only the parts the target lacks. */
static int missing_parts(tl_conn *c, const tl_schema_step *s, tl_buf *sql, tl_error *err)
{
	struct have h;
	size_t i, n = 0;
	int rc;

	const char *p[2] = {s->schema, s->table};

	memset(&h, 0, sizeof(h));
	h.db = s->schema;
	h.db_exists = 1;
	rc = tl_mysql__query(c, "SELECT DISTINCT TABLE_NAME, INDEX_NAME FROM information_schema.STATISTICS "
			     "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", 2, p, tl_mys__set_row, &h.indexes, err);
	if (!rc)
		rc = tl_buf_puts(sql, "ALTER TABLE ", err);
	if (!rc)
		rc = tl_mysql__qtable(sql, s->schema, s->table, err);
	for (i = 0; !rc && i < s->nparts; i++) {
		if (tl_mys__set_has(&h.indexes, s->table, s->parts[i].name))
			continue;
		rc = tl_buf_printf(sql, err, "%s %s", n++ ? "," : "", s->parts[i].sql);
	}
	if (!rc && n == 0)
		tl_buf_reset(sql); /* nothing left */
	have_clear(&h);
	return rc;
}

int tl_mysql__schema_apply(tl_conn *dst, const tl_schema_step *step, enum tl_schema_state *before, tl_error *err)
{
	enum tl_schema_state state = TL_SCHEMA_ABSENT;
	struct saved sv = {NULL, NULL, NULL};
	tl_buf sql = TL_BUF_INIT;
	int rc, attempt;

	if (before)
		*before = TL_SCHEMA_ABSENT;
	rc = tl_mysql__ready(dst, err);
	if (!rc && (!step->sql || !*step->sql))
		rc = tl_error_set(err, TL_ERR_INTERNAL, "definition %s has nothing to run", step->id);
	if (!rc)
		rc = probe_step(dst, step, &state, err);
	if (rc || state == TL_SCHEMA_PRESENT) {
		if (before)
			*before = state;
		return rc;
	}
	if (before)
		*before = state;
	if (step->session) {
		rc = tl_mysql__query_text(dst, "SELECT @@SESSION.sql_mode, @@SESSION.collation_connection, @@SESSION.time_zone",
					  save_row, &sv, err);
		if (!rc)
			rc = run_session(dst, step->session, err);
	}
	for (attempt = 0; !rc && attempt < 2; attempt++) {
		tl_buf_reset(&sql);
		if (step->kind == TL_SK_INDEXES && (state == TL_SCHEMA_PARTIAL || attempt > 0))
			rc = missing_parts(dst, step, &sql, err);
		else
			rc = tl_buf_puts(&sql, step->sql, err);
		if (rc || sql.len == 0)
			break;
		rc = tl_mysql__exec(dst, tl_buf_cstr(&sql), err);
		/* a key added meanwhile (by an ALTER a dead client left running): add the rest */
		if (rc && step->kind == TL_SK_INDEXES && err && err->native == 1061 && attempt == 0) {
			rc = 0;
			continue;
		}
		break;
	}
	if (rc)
		tl_error_prefix(err, "cannot create %s on the mysql target", step->id);
	if (sv.mode) {
		tl_error e2 = TL_ERROR_INIT;
		int rc2 = restore(dst, &sv, &e2);
		if (rc2 && !rc) {
			rc = rc2;
			if (err)
				*err = e2;
		}
	}
	saved_clear(&sv);
	tl_buf_release(&sql);
	return rc;
}
