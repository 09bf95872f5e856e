/*
 * pg_meta.c - PostgreSQL connector: listing tables, freeing described ones (describing is
 * pg_describe.c), exact counts (one table, or many per statement) and target checks.
 *
 * Reads only the catalogs (pg_class, pg_attribute), never information_schema (slow, and
 * hides tables the user cannot select from), and counts rows. Must not write anything.
 */
#include <stdlib.h>
#include <string.h>
#include "pg_int.h"

int tl_pg__list_tables(tl_conn *c, tl_name_list *out, tl_error *err)
{
	static const char sql[] =
		"SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
		"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		"WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence <> 't' "
		"AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
		"AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' "
		"ORDER BY n.nspname COLLATE \"C\", c.relname COLLATE \"C\"";
	PGresult *res = NULL;
	int i, rc;

	rc = tl_pg__exec(c, sql, 0, NULL, &res, "cannot list pg tables", err);
	for (i = 0; !rc && i < PQntuples(res); i++)
		rc = tl_name_list_add(out, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), err);
	PQclear(res);
	return rc;
}

void tl_pg__free_table(tl_table *t)
{
	struct tl_pg_table *impl;
	size_t i;

	if (!t)
		return;
	impl = t->impl;
	for (i = 0; i < t->ncols && t->cols; i++) {
		free(t->cols[i].name);
		free(t->cols[i].type);
		if (impl && impl->cast)
			free(impl->cast[i]);
	}
	if (impl) {
		free(impl->cast);
		free(impl->identity_always);
	}
	free(impl);
	free(t->cols);
	free(t->key_idx);
	free(t->keys);
	free(t->schema);
	free(t->name);
	free(t);
}

/* Looks up a table (relkind r/p): row 0 = oid, reltuples. TL_ERR_NOTFOUND naming it when missing. */
static int find_table(tl_conn *c, const char *schema, const char *name, PGresult **out, tl_error *err)
{
	static const char sql[] =
		"SELECT c.oid, c.reltuples::float8 FROM pg_catalog.pg_class c "
		"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		"WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')";
	const char *params[2] = {schema, name};
	char label[600];

	tl_pg__table_label(label, sizeof(label), schema, name);
	*out = NULL;
	{
		int rc = tl_pg__exec(c, sql, 2, params, out, "cannot look up pg table", err);
		if (rc)
			return tl_error_prefix(err, "%s", label);
	}
	if (PQntuples(*out) == 0) {
		PQclear(*out);
		*out = NULL;
		return tl_error_set(err, TL_ERR_NOTFOUND, "table %s does not exist", label);
	}
	return 0;
}

int tl_pg__count_rows(tl_conn *c, const tl_table *t, int64_t *out, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT;
	PGresult *res = NULL;
	char label[600];
	int rc;

	*out = 0;
	tl_buf_init(&sql, 0);
	rc = tl_buf_puts(&sql, "SELECT count(*) FROM ", err);
	if (!rc)
		rc = tl_pg__quote_table(&sql, t->schema, t->name, err);
	if (rc)
		goto cleanup;
	tl_pg__table_label(label, sizeof(label), t->schema, t->name);
	rc = tl_pg__exec(c, tl_buf_cstr(&sql), 0, NULL, &res, "cannot count rows", err);
	if (rc) {
		tl_error_prefix(err, "%s", label);
		goto cleanup;
	}
	*out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
cleanup:
	PQclear(res);
	tl_buf_release(&sql);
	return rc;
}

/* Counts per statement in count_many: each count locks its table (and the planner its
 * indexes) until the statement ends, so stay well below the server's lock table. */
#define TL_PG_COUNTS_PER_STATEMENT 200

int tl_pg__count_many(tl_conn *c, const tl_table *const *t, size_t n, int64_t *out, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT;
	PGresult *res = NULL;
	size_t lo, i;
	int rc = 0;

	tl_buf_init(&sql, 0);
	for (lo = 0; !rc && lo < n; lo += TL_PG_COUNTS_PER_STATEMENT) {
		size_t hi = lo + TL_PG_COUNTS_PER_STATEMENT < n ? lo + TL_PG_COUNTS_PER_STATEMENT : n;

		/* one row, one column per table: SELECT (SELECT count(*) FROM t1), … (about twice as
		 * fast as a UNION ALL of the same counts, which plans an Append over all of them) */
		tl_buf_reset(&sql);
		rc = tl_buf_puts(&sql, "SELECT ", err);
		for (i = lo; !rc && i < hi; i++) {
			rc = tl_buf_puts(&sql, i > lo ? ", (SELECT count(*) FROM " : "(SELECT count(*) FROM ", err);
			if (!rc)
				rc = tl_pg__quote_table(&sql, t[i]->schema, t[i]->name, err);
			if (!rc)
				rc = tl_buf_putc(&sql, ')', err);
		}
		if (rc || (rc = tl_pg__exec(c, tl_buf_cstr(&sql), 0, NULL, &res, "cannot count rows", err)))
			break;
		if (PQntuples(res) != 1 || (size_t)PQnfields(res) != hi - lo)
			rc = tl_error_set(err, TL_ERR_INTERNAL, "counting %zu pg tables returned %d rows of %d values",
					  hi - lo, PQntuples(res), PQnfields(res));
		for (i = lo; !rc && i < hi; i++)
			out[i] = strtoll(PQgetvalue(res, 0, (int)(i - lo)), NULL, 10);
		PQclear(res);
		res = NULL;
	}
	tl_buf_release(&sql);
	return rc;
}

int tl_pg__check_target(tl_conn *target, const tl_table *src, int *is_empty, tl_error *err)
{
	static const char cols_sql[] =
		"SELECT a.attname, NOT a.attnotnull OR a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '' "
		"FROM pg_catalog.pg_attribute a "
		"WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped";
	PGresult *tres = NULL, *cres = NULL, *eres = NULL;
	tl_buf sql = TL_BUF_INIT;
	char label[600];
	const char *oid;
	size_t i;
	int j, rc;

	*is_empty = 0;
	tl_buf_init(&sql, 0);
	tl_pg__table_label(label, sizeof(label), src->schema, src->name);
	rc = find_table(target, src->schema, src->name, &tres, err);
	if (rc) {
		if (rc == TL_ERR_NOTFOUND)
			tl_error_set(err, TL_ERR_NOTFOUND, "target table %s does not exist", label);
		goto cleanup;
	}
	oid = PQgetvalue(tres, 0, 0);
	rc = tl_pg__exec(target, cols_sql, 1, &oid, &cres, "cannot read target columns", err);
	if (rc) {
		tl_error_prefix(err, "%s", label);
		goto cleanup;
	}
	for (i = 0; i < src->ncols; i++) {
		int found = 0;
		for (j = 0; j < PQntuples(cres) && !found; j++)
			found = strcmp(PQgetvalue(cres, j, 0), src->cols[i].name) == 0;
		if (!found) {
			rc = tl_error_set(err, TL_ERR_MISMATCH, "target table %s has no column \"%s\"", label,
					  src->cols[i].name);
			goto cleanup;
		}
	}
	/* target columns tideline does not write ([filter] ignore_cols, or not in the source)
	 * take their default: they must have one, or accept NULL */
	for (j = 0; j < PQntuples(cres); j++) {
		int written = 0;
		for (i = 0; i < src->ncols && !written; i++)
			written = strcmp(PQgetvalue(cres, j, 0), src->cols[i].name) == 0;
		if (!written && PQgetvalue(cres, j, 1)[0] != 't') {
			rc = tl_error_set(err, TL_ERR_MISMATCH,
					  "target table %s has column \"%s\", which is not copied and is NOT NULL without "
					  "a default",
					  label, PQgetvalue(cres, j, 0));
			goto cleanup;
		}
	}
	rc = tl_buf_puts(&sql, "SELECT NOT EXISTS (SELECT 1 FROM ", err);
	if (!rc)
		rc = tl_pg__quote_table(&sql, src->schema, src->name, err);
	if (!rc)
		rc = tl_buf_puts(&sql, ")", err);
	if (rc)
		goto cleanup;
	rc = tl_pg__exec(target, tl_buf_cstr(&sql), 0, NULL, &eres, "cannot read target table", err);
	if (rc) {
		tl_error_prefix(err, "%s", label);
		goto cleanup;
	}
	*is_empty = PQgetvalue(eres, 0, 0)[0] == 't';
cleanup:
	PQclear(tres);
	PQclear(cres);
	PQclear(eres);
	tl_buf_release(&sql);
	return rc;
}
