/*
 * pg_schema_apply.c - PostgreSQL definitions on a target: schema_probe (which steps a
 * target already has, in one statement for any number of steps) and schema_apply (one
 * step, idempotently and atomically).
 *
 * A step runs in its own transaction: look for the object, finish a half-done one (an
 * index left INVALID by an interrupted CREATE INDEX CONCURRENTLY, an index that should
 * back a constraint but stands alone: dropped and built again), run the step's SQL,
 * commit. PostgreSQL DDL is transactional, so a step killed half-way leaves nothing
 * behind and simply runs again. Objects are found by name only; what is found is never
 * altered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pg_schema_int.h"

/* How a kind is looked for on a target (the CASE arms of probe_sql). */
enum probe_kind {
	PK_UNKNOWN = -1,
	PK_SCHEMA = 0,
	PK_EXTENSION,
	PK_TYPE,
	PK_FUNCTION,
	PK_RELATION,
	PK_INDEX,
	PK_KEY,
	PK_CONSTRAINT,
	PK_TRIGGER,
	PK_ATTACH,
	PK_STATISTICS
};

static enum probe_kind probe_kind(const tl_schema_step *s)
{
	if (s->flags & TL_STEP_RERUN)
		return PK_UNKNOWN;
	switch (s->kind) {
	case TL_SK_SCHEMA: return PK_SCHEMA;
	case TL_SK_EXTENSION: return PK_EXTENSION;
	case TL_SK_TYPE: return PK_TYPE;
	case TL_SK_FUNCTION: return PK_FUNCTION;
	case TL_SK_SEQUENCE:
	case TL_SK_TABLE:
	case TL_SK_VIEW:
	case TL_SK_MATVIEW: return PK_RELATION;
	case TL_SK_INDEX: return PK_INDEX;
	case TL_SK_PRIMARY_KEY:
	case TL_SK_UNIQUE:
	case TL_SK_EXCLUSION: return PK_KEY;
	case TL_SK_CHECK:
	case TL_SK_FOREIGN_KEY: return PK_CONSTRAINT;
	case TL_SK_TRIGGER: return PK_TRIGGER;
	case TL_SK_INDEX_ATTACH: return PK_ATTACH;
	case TL_SK_STATISTICS: return PK_STATISTICS;
	default: return PK_UNKNOWN;
	}
}

/* How each kind is looked for: a scalar subquery over w(s, b, c, r) = schema, table, name,
 * ref giving 1 present, 2 partial, NULL absent. */
static const char *const arms[] = {
	[PK_SCHEMA] = "SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname = w.s",
	[PK_EXTENSION] = "SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = w.c",
	[PK_TYPE] = "SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
		    "WHERE n.nspname = w.s AND t.typname = w.c",
	[PK_FUNCTION] = "SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
			"WHERE n.nspname = w.s AND p.proname = w.c AND pg_catalog.oidvectortypes(p.proargtypes) = w.r LIMIT 1",
	[PK_RELATION] = "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
			"WHERE n.nspname = w.s AND c.relname = w.c",
	[PK_INDEX] = "SELECT CASE WHEN c.relkind = 'i' AND NOT i.indisvalid THEN 2 ELSE 1 END "
		     "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		     "LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid WHERE n.nspname = w.s AND c.relname = w.c",
	[PK_KEY] = "SELECT COALESCE((SELECT 1 FROM pg_catalog.pg_constraint co JOIN pg_catalog.pg_class c "
		   "ON c.oid = co.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		   "WHERE n.nspname = w.s AND c.relname = w.b AND co.conname = w.c), (SELECT 2 FROM pg_catalog.pg_class c "
		   "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE w.r IS NULL AND n.nspname = w.s "
		   "AND c.relname = w.c AND c.relkind IN ('i', 'I')))",
	[PK_CONSTRAINT] = "SELECT 1 FROM pg_catalog.pg_constraint co JOIN pg_catalog.pg_class c ON c.oid = co.conrelid "
			  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = w.s "
			  "AND c.relname = w.b AND co.conname = w.c",
	[PK_TRIGGER] = "SELECT 1 FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid "
		       "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = w.s AND c.relname = w.b "
		       "AND t.tgname = w.c AND NOT t.tgisinternal",
	[PK_ATTACH] = "SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhparent = pg_catalog.to_regclass(w.r) "
		      "AND h.inhrelid = pg_catalog.to_regclass(pg_catalog.quote_ident(w.s) || '.' || "
		      "pg_catalog.quote_ident(w.c))",
	[PK_STATISTICS] = "SELECT 1 FROM pg_catalog.pg_statistic_ext x JOIN pg_catalog.pg_namespace n "
			  "ON n.oid = x.stxnamespace WHERE n.nspname = w.s AND x.stxname = w.c",
};
#define NARMS (sizeof(arms) / sizeof(arms[0]))

/* SELECT i, state FROM (the steps) w: one CASE over the kinds present (planning every arm costs). */
static int probe_sql(tl_buf *sql, const unsigned char *present, const char *const a[5], tl_error *err)
{
	size_t k;
	int rc = tl_buf_puts(sql, "SELECT w.i, COALESCE(CASE w.k WHEN -2 THEN NULL ", err);

	for (k = 0; !rc && k < NARMS; k++)
		if (present[k])
			rc = tl_buf_printf(sql, err, "WHEN %zu THEN (%s) ", k, arms[k]);
	if (!rc)
		rc = tl_buf_printf(sql, err,
				   "ELSE 3 END, 0) FROM unnest(%s::pg_catalog.int4[], %s::pg_catalog.text[], "
				   "%s::pg_catalog.text[], %s::pg_catalog.text[], %s::pg_catalog.text[]) "
				   "WITH ORDINALITY AS w(k, s, b, c, r, i)",
				   a[0], a[1], a[2], a[3], a[4]);
	return rc;
}

static int put_elem(tl_buf *b, const char *s, int first, tl_error *err)
{
	int rc = first ? 0 : tl_buf_putc(b, ',', err);

	if (rc)
		return rc;
	return s ? tl_pg__put_array_elem(b, s, err) : tl_buf_puts(b, "NULL", err);
}

/*
 * Runs probe_sql for steps[0..n); out[i] = their states. With a prefix (statements run
 * first, e.g. BEGIN), the arrays go inline as literals and everything is one round trip.
 */
static int probe(tl_conn *c, const char *prefix, const tl_schema_step *steps, size_t n, enum tl_schema_state *out,
		 tl_error *err)
{
	static const char *const params[5] = {"$1", "$2", "$3", "$4", "$5"};
	tl_buf arr[5], sql = TL_BUF_INIT;
	const char *p[5];
	char *lit[5] = {NULL, NULL, NULL, NULL, NULL};
	unsigned char present[NARMS] = {0};
	PGresult *res = NULL;
	size_t i, k;
	int r, rc = 0;

	for (k = 0; k < 5; k++)
		tl_buf_init(&arr[k], 0);
	for (k = 0; !rc && k < 5; k++)
		rc = tl_buf_putc(&arr[k], '{', err);
	for (i = 0; !rc && i < n; i++) {
		const tl_schema_step *s = &steps[i];
		enum probe_kind pk = probe_kind(s);
		if (pk != PK_UNKNOWN)
			present[pk] = 1;
		rc = tl_buf_printf(&arr[0], err, "%s%d", i ? "," : "", (int)pk);
		if (!rc)
			rc = put_elem(&arr[1], s->schema, i == 0, err);
		if (!rc)
			rc = put_elem(&arr[2], s->table, i == 0, err);
		if (!rc)
			rc = put_elem(&arr[3], s->name, i == 0, err);
		if (!rc)
			rc = put_elem(&arr[4], s->ref, i == 0, err);
	}
	for (k = 0; !rc && k < 5; k++) {
		rc = tl_buf_putc(&arr[k], '}', err);
		p[k] = tl_buf_cstr(&arr[k]);
		if (!rc && prefix && !(lit[k] = PQescapeLiteral(c->pg, arr[k].data, arr[k].len)))
			rc = tl_pg__conn_error(err, c->pg, "cannot quote a definition's name");
	}
	if (!rc && prefix)
		rc = tl_buf_printf(&sql, err, "%s; ", prefix);
	if (!rc)
		rc = probe_sql(&sql, present, prefix ? (const char *const *)lit : params, err);
	if (!rc)
		rc = tl_pg__exec(c, tl_buf_cstr(&sql), prefix ? 0 : 5, prefix ? NULL : p, &res,
				 "cannot look for definitions on the pg target", err);
	for (i = 0; i < n; i++)
		out[i] = TL_SCHEMA_ABSENT;
	for (r = 0; !rc && r < PQntuples(res); r++) {
		size_t at = strtoul(PQgetvalue(res, r, 0), NULL, 10);
		long v = strtol(PQgetvalue(res, r, 1), NULL, 10);
		if (at >= 1 && at <= n)
			out[at - 1] = v == 1 ? TL_SCHEMA_PRESENT : v == 2 ? TL_SCHEMA_PARTIAL : v == 3 ? TL_SCHEMA_UNKNOWN
												  : TL_SCHEMA_ABSENT;
	}
	PQclear(res);
	for (k = 0; k < 5; k++) {
		tl_buf_release(&arr[k]);
		if (lit[k])
			PQfreemem(lit[k]);
	}
	tl_buf_release(&sql);
	return rc;
}

int tl_pg__schema_probe(tl_conn *dst, const tl_schema_step *steps, size_t n, enum tl_schema_state *out,
			tl_error *err)
{
	size_t at, chunk;
	int rc = 0;

	if (dst->in_reader)
		return tl_error_set(err, TL_ERR_INTERNAL, "pg connection is busy with a reader");
	/* in a read-only transaction without JIT (compiling the probe costs more than running it) */
	for (at = 0; !rc && at < n; at += chunk) {
		chunk = n - at > 5000 ? 5000 : n - at;
		rc = probe(dst, "BEGIN READ ONLY; SET LOCAL jit = off", steps + at, chunk, out + at, err);
		if (PQtransactionStatus(dst->pg) != PQTRANS_IDLE)
			PQclear(PQexec(dst->pg, rc ? "ROLLBACK" : "COMMIT"));
	}
	return rc;
}

/* A clearer message for the errors users can act on. */
static int apply_error(tl_conn *c, const tl_schema_step *s, PGresult *res, tl_error *err)
{
	const char *st = tl_pg__sqlstate(res);

	if (s->kind == TL_SK_EXTENSION && strcmp(st, "42501") == 0)
		return tl_pg__res_error(err, res, c->pg,
					"extension \"%s\" is needed on the target and its user may not create it (have a "
					"superuser run CREATE EXTENSION \"%s\" there, or grant the right)",
					s->name, s->name);
	if (s->kind == TL_SK_EXTENSION && (strcmp(st, "58P01") == 0 || strcmp(st, "0A000") == 0 ||
					   strcmp(st, "22023") == 0))
		return tl_pg__res_error(err, res, c->pg,
					"extension \"%s\" is needed and is not installed on the target server (install "
					"its package, e.g. postgresql-contrib)",
					s->name);
	return tl_pg__res_error(err, res, c->pg, "cannot create %s on the pg target", s->id);
}

int tl_pg__schema_apply(tl_conn *dst, const tl_schema_step *step, enum tl_schema_state *before, tl_error *err)
{
	/* one round trip to look, one to build and commit (PQexec runs a string of statements
	 * and stops at the first error, which leaves the transaction to roll back) */
	static const char setup[] = "BEGIN; SET LOCAL search_path = pg_catalog; SET LOCAL check_function_bodies = false; "
				    "SET LOCAL client_min_messages = warning; SET LOCAL jit = off";
	enum tl_schema_state state = TL_SCHEMA_ABSENT;
	tl_buf sql = TL_BUF_INIT;
	PGresult *res = NULL;
	int rc, open = 0;

	if (before)
		*before = TL_SCHEMA_ABSENT;
	if (dst->in_reader)
		return tl_error_set(err, TL_ERR_INTERNAL, "pg connection is busy with a reader");
	if (!step->sql || !*step->sql)
		return tl_error_set(err, TL_ERR_INTERNAL, "definition %s has nothing to run", step->id);
	rc = probe(dst, setup, step, 1, &state, err);
	open = PQtransactionStatus(dst->pg) != PQTRANS_IDLE;
	if (rc)
		goto cleanup;
	if (before)
		*before = state;
	if (state == TL_SCHEMA_PARTIAL) {
		/* an invalid index (or one standing where a constraint's should be): build it again */
		rc = tl_buf_puts(&sql, "DROP INDEX ", err);
		if (!rc)
			rc = tl_pg__quote_table(&sql, step->schema, step->name, err);
		if (!rc)
			rc = tl_buf_puts(&sql, "; ", err);
	}
	if (!rc && state != TL_SCHEMA_PRESENT)
		rc = tl_buf_printf(&sql, err, "%s;\n", step->sql);
	if (!rc)
		rc = tl_buf_puts(&sql, "COMMIT", err);
	if (rc)
		goto cleanup;
	res = PQexec(dst->pg, tl_buf_cstr(&sql));
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
		const char *st = tl_pg__sqlstate(res);
		/* created meanwhile by another session - a worker of this run, or the backend of
		 * a killed run that was still building it (it committed after the probe; then the
		 * error may also be "index ... is already associated with a constraint" or a
		 * DROP INDEX of a half-done key that a constraint now owns): look again, and
		 * what is there now is done; two CREATE INDEX on one table do not exclude each
		 * other, so the loser may also fail on pg_class' unique name index, 23505, which
		 * is otherwise a unique key the rows break: then the object is not there and the
		 * server's own error stands */
		if (res && state != TL_SCHEMA_PRESENT && !(step->flags & TL_STEP_RERUN) &&
		    (strcmp(st, "42P07") == 0 || strcmp(st, "42710") == 0 || strcmp(st, "55000") == 0 ||
		     strcmp(st, "2BP01") == 0 || strcmp(st, "23505") == 0)) {
			enum tl_schema_state again = TL_SCHEMA_ABSENT;
			int unique = strcmp(st, "23505") == 0;
			PQclear(PQexec(dst->pg, "ROLLBACK"));
			if (probe(dst, NULL, step, 1, &again, NULL) == 0 && again == TL_SCHEMA_PRESENT) {
				if (before)
					*before = TL_SCHEMA_PRESENT;
				open = 0;
				goto cleanup;
			}
			if (unique) {
				rc = apply_error(dst, step, res, err);
				goto cleanup;
			}
			rc = tl_error_set(err, TL_ERR_DB, "cannot create %s on the pg target: another session made an "
					  "object of that name", step->id);
			goto cleanup;
		}
		rc = res ? apply_error(dst, step, res, err)
			 : tl_pg__conn_error(err, dst->pg, "cannot create %s on the pg target", step->id);
		goto cleanup;
	}
	open = 0;
cleanup:
	PQclear(res);
	if (open || PQtransactionStatus(dst->pg) == PQTRANS_INERROR || PQtransactionStatus(dst->pg) == PQTRANS_INTRANS)
		PQclear(PQexec(dst->pg, "ROLLBACK"));
	tl_buf_release(&sql);
	return rc;
}
