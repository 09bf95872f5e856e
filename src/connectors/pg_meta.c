/*
 * pg_meta.c - PostgreSQL connector: listing tables, describing one (columns, kinds, the
 * order key of ape-dts-resume.md §3.3, the row estimate), exact counts and target checks.
 *
 * Reads only the catalogs (pg_class, pg_attribute, pg_index), never information_schema
 * (slow, and hides tables the user cannot select from). Generated columns are left out
 * of a described table: they cannot be written and are recomputed on the target.
 * Must not write anything.
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
	free(t->schema);
	free(t->name);
	free(t);
}

static enum tl_col_kind kind_of(const char *typname, const char *typtype, const char *typcategory)
{
	static const struct {
		const char *name;
		enum tl_col_kind kind;
	} map[] = {
		{"int2", TL_COL_INT}, {"int4", TL_COL_INT}, {"int8", TL_COL_INT},
		{"numeric", TL_COL_DECIMAL},
		{"float4", TL_COL_FLOAT}, {"float8", TL_COL_FLOAT},
		{"text", TL_COL_TEXT}, {"varchar", TL_COL_TEXT}, {"bpchar", TL_COL_TEXT},
		{"uuid", TL_COL_TEXT}, {"name", TL_COL_TEXT}, {"citext", TL_COL_TEXT},
		{"bytea", TL_COL_BINARY},
		{"date", TL_COL_DATE}, {"time", TL_COL_DATE}, {"timetz", TL_COL_DATE},
		{"timestamp", TL_COL_DATE}, {"timestamptz", TL_COL_DATE}, {"interval", TL_COL_DATE},
		{"bool", TL_COL_BOOL},
		{"json", TL_COL_JSON}, {"jsonb", TL_COL_JSON},
	};
	size_t i;

	if (typcategory[0] == 'A')
		return TL_COL_OTHER;
	if (typtype[0] == 'e')
		return TL_COL_TEXT;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].name, typname) == 0)
			return map[i].kind;
	return TL_COL_OTHER;
}

/* Parses "1 3 2" (int2vector text) into at most max attnums; returns the count or -1. */
static int parse_indkey(const char *s, long *out, int max)
{
	int n = 0;
	char *end;

	while (*s) {
		long v;
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		v = strtol(s, &end, 10);
		if (end == s || n >= max)
			return -1;
		out[n++] = v;
		s = end;
	}
	return n;
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

/* Chooses the order key (§3.3) from the unique indexes; ties go to the first index name. */
static int choose_key(tl_conn *c, const char *oid, tl_table *t, const long *attnums, tl_error *err)
{
	static const char sql[] =
		"SELECT ci.relname, i.indisprimary, i.indkey::text, i.indnkeyatts "
		"FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ci ON ci.oid = i.indexrelid "
		"WHERE i.indrelid = $1 AND (i.indisprimary OR i.indisunique) AND i.indisvalid "
		"AND i.indpred IS NULL AND i.indexprs IS NULL "
		"ORDER BY ci.relname COLLATE \"C\"";
	const char *params[1] = {oid};
	PGresult *res = NULL;
	long keys[64];
	size_t cand[64], best[64];
	int best_rank = 0, best_n = 0;
	int i, j, rc;

	rc = tl_pg__exec(c, sql, 1, params, &res, "cannot read pg indexes", err);
	if (rc)
		goto cleanup;
	for (i = 0; i < PQntuples(res); i++) {
		int n = parse_indkey(PQgetvalue(res, i, 2), keys, 64);
		long nkey = strtol(PQgetvalue(res, i, 3), NULL, 10);
		int rank, ok = 1;

		if (n <= 0)
			continue;
		if (nkey > 0 && nkey < n)
			n = (int)nkey; /* INCLUDE columns are not part of the key */
		rank = PQgetvalue(res, i, 1)[0] == 't' ? 3 : 2;
		for (j = 0; j < n && ok; j++) {
			size_t k;
			ok = 0;
			for (k = 0; k < t->ncols; k++) {
				if (attnums[k] == keys[j]) {
					cand[j] = k;
					ok = 1;
					if (t->cols[k].nullable && rank == 2)
						rank = 1;
					break;
				}
			}
		}
		if (!ok)
			continue;
		if (rank > best_rank || (rank == best_rank && n < best_n)) {
			best_rank = rank;
			best_n = n;
			memcpy(best, cand, (size_t)n * sizeof(best[0]));
		}
	}
	if (best_rank == 0) {
		t->key_kind = TL_KEYK_NONE;
		t->part_idx = 0;
		goto cleanup;
	}
	t->key_idx = malloc((size_t)best_n * sizeof(size_t));
	if (!t->key_idx) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory describing a pg table");
		goto cleanup;
	}
	memcpy(t->key_idx, best, (size_t)best_n * sizeof(size_t));
	t->nkeys = (size_t)best_n;
	t->key_kind = best_rank == 3 ? TL_KEYK_PRIMARY : best_rank == 2 ? TL_KEYK_UNIQUE : TL_KEYK_UNIQUE_NULLABLE;
	t->part_idx = t->key_idx[0];
cleanup:
	PQclear(res);
	return rc;
}

int tl_pg__describe(tl_conn *c, const char *schema, const char *name, tl_table **out, tl_error *err)
{
	static const char cols_sql[] =
		"SELECT a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, "
		"quote_ident(tn.nspname) || '.' || quote_ident(t.typname), b.typname, b.typtype, b.typcategory, a.attidentity "
		"FROM pg_catalog.pg_attribute a "
		"JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
		"JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace "
		"JOIN pg_catalog.pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END "
		"WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
		"ORDER BY a.attnum";
	PGresult *tres = NULL, *cres = NULL;
	tl_table *t = NULL;
	struct tl_pg_table *impl = NULL;
	long *attnums = NULL;
	const char *oid;
	double reltuples;
	size_t i, n;
	int rc;

	*out = NULL;
	rc = find_table(c, schema, name, &tres, err);
	if (rc)
		goto cleanup;
	oid = PQgetvalue(tres, 0, 0);
	reltuples = strtod(PQgetvalue(tres, 0, 1), NULL);
	rc = tl_pg__exec(c, cols_sql, 1, &oid, &cres, "cannot read pg columns", err);
	if (rc)
		goto cleanup;
	n = (size_t)PQntuples(cres);
	t = calloc(1, sizeof(*t));
	impl = calloc(1, sizeof(*impl));
	if (!t || !impl)
		goto nomem;
	impl->magic = TL_PG_TABLE_MAGIC;
	t->impl = impl;
	t->schema = tl_strdup(schema);
	t->name = tl_strdup(name);
	t->cols = calloc(n ? n : 1, sizeof(tl_column));
	impl->cast = calloc(n ? n : 1, sizeof(char *));
	impl->identity_always = calloc(n ? n : 1, 1);
	attnums = calloc(n ? n : 1, sizeof(long));
	if (!t->schema || !t->name || !t->cols || !impl->cast || !impl->identity_always || !attnums)
		goto nomem;
	t->ncols = n;
	for (i = 0; i < n; i++) {
		int row = (int)i;
		attnums[i] = strtol(PQgetvalue(cres, row, 0), NULL, 10);
		t->cols[i].name = tl_strdup(PQgetvalue(cres, row, 1));
		t->cols[i].type = tl_strdup(PQgetvalue(cres, row, 2));
		t->cols[i].nullable = PQgetvalue(cres, row, 3)[0] != 't';
		impl->cast[i] = tl_strdup(PQgetvalue(cres, row, 4));
		impl->identity_always[i] = PQgetvalue(cres, row, 8)[0] == 'a';
		t->cols[i].kind = kind_of(PQgetvalue(cres, row, 5), PQgetvalue(cres, row, 6), PQgetvalue(cres, row, 7));
		if (!t->cols[i].name || !t->cols[i].type || !impl->cast[i])
			goto nomem;
	}
	t->est_rows = reltuples < 0 ? -1 : (int64_t)reltuples;
	rc = choose_key(c, oid, t, attnums, err);
	if (rc)
		goto cleanup;
	*out = t;
	t = NULL;
	goto cleanup;
nomem:
	rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory describing a pg table");
	if (t == NULL)
		free(impl);
cleanup:
	tl_pg__free_table(t);
	free(attnums);
	PQclear(tres);
	PQclear(cres);
	return rc;
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

int tl_pg__check_target(tl_conn *target, const tl_table *src, int *is_empty, tl_error *err)
{
	static const char cols_sql[] =
		"SELECT a.attname FROM pg_catalog.pg_attribute a "
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
