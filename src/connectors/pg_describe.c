/*
 * pg_describe.c - PostgreSQL connector: describing tables (columns and their kinds, the
 * order key of docs/ape-dts-resume.md §3.3, the row estimate), one or many at a time.
 *
 * Works like this: describe_many looks all the names up in one query (unnest of two name
 * arrays joined to pg_class), then reads the columns and the unique indexes of every
 * found oid with one query each (ordered by oid, so each table's rows are one range),
 * and the details of the distinct column types with a fourth. describe is describe_many
 * of one name, so both give the same tables. Reads only the catalogs, never
 * information_schema (slow, and hides tables the user cannot select from). Generated
 * columns are left out: they cannot be written and are recomputed on the target.
 * Must not write anything.
 */
#include <stdlib.h>
#include <string.h>
#include "pg_int.h"

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

/* Appends s as an element of an array literal: "…" with " and \ escaped. */
int tl_pg__put_array_elem(tl_buf *b, const char *s, tl_error *err)
{
	int rc = tl_buf_putc(b, '"', err);

	for (; !rc && *s; s++) {
		if (*s == '"' || *s == '\\')
			rc = tl_buf_putc(b, '\\', err);
		if (!rc)
			rc = tl_buf_putc(b, *s, err);
	}
	return rc ? rc : tl_buf_putc(b, '"', err);
}

/* The rows [*lo, *hi) of res whose column col (an oid, rows ordered by it) equals oid. */
static void oid_range(const PGresult *res, int col, unsigned long oid, int *lo, int *hi)
{
	int a = 0, b = PQntuples(res);

	while (a < b) { /* first row with value >= oid */
		int m = a + (b - a) / 2;
		if (strtoul(PQgetvalue(res, m, col), NULL, 10) < oid)
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	for (b = a; b < PQntuples(res) && strtoul(PQgetvalue(res, b, col), NULL, 10) == oid; b++)
		;
	*hi = b;
}

/* The oid column of a result ordered by it, parsed once (a chunk's tables look it up often). */
struct oid_index {
	unsigned long *v;
	int n;
};

static int oid_index_load(const PGresult *res, int col, struct oid_index *out, tl_error *err)
{
	int i;

	out->n = PQntuples(res);
	if (!(out->v = malloc((size_t)(out->n ? out->n : 1) * sizeof(*out->v))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory describing pg tables");
	for (i = 0; i < out->n; i++)
		out->v[i] = strtoul(PQgetvalue(res, i, col), NULL, 10);
	return 0;
}

/* The rows [*lo, *hi) whose oid is `oid`. */
static void oid_index_range(const struct oid_index *ix, unsigned long oid, int *lo, int *hi)
{
	int a = 0, b = ix->n;

	while (a < b) {
		int m = a + (b - a) / 2;
		if (ix->v[m] < oid)
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	for (b = a; b < ix->n && ix->v[b] == oid; b++)
		;
	*hi = b;
}

/* A column type as the columns query gives it (atttypid, atttypmod). */
struct type_key {
	unsigned long typid;
	long typmod;
};

static int type_cmp(const void *a, const void *b)
{
	const struct type_key *x = a, *y = b;

	if (x->typid != y->typid)
		return x->typid < y->typid ? -1 : 1;
	return (x->typmod > y->typmod) - (x->typmod < y->typmod);
}

/* The distinct types of a describe_many call, sorted; row i of res describes keys[i]. */
struct type_set {
	struct type_key *keys;
	size_t n;
	PGresult *res; /* i, format_type, cast, base typname, typtype, typcategory */
};

static struct type_key type_of_row(const PGresult *cres, int row)
{
	struct type_key k;

	k.typid = strtoul(PQgetvalue(cres, row, 3), NULL, 10);
	k.typmod = strtol(PQgetvalue(cres, row, 4), NULL, 10);
	return k;
}

/* Row of types->res for column row `row` of cres (always found: the set was built from cres). */
static int type_row(const struct type_set *types, const PGresult *cres, int row)
{
	struct type_key k = type_of_row(cres, row);
	const struct type_key *hit = bsearch(&k, types->keys, types->n, sizeof(k), type_cmp);

	return hit ? (int)(hit - types->keys) : -1;
}

/* Collects the distinct (typid, typmod) of the column rows and reads what describe needs of each. */
static int read_types(tl_conn *c, const PGresult *cres, struct type_set *types, tl_error *err)
{
	static const char sql[] =
		"SELECT p.i, pg_catalog.format_type(p.t, p.m), "
		"quote_ident(tn.nspname) || '.' || quote_ident(t.typname), b.typname, b.typtype, b.typcategory "
		"FROM unnest($1::pg_catalog.oid[], $2::pg_catalog.int4[]) WITH ORDINALITY AS p(t, m, i) "
		"LEFT JOIN pg_catalog.pg_type t ON t.oid = p.t "
		"LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace "
		"LEFT JOIN pg_catalog.pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END "
		"ORDER BY p.i";
	tl_buf ids = TL_BUF_INIT, mods = TL_BUF_INIT;
	const char *params[2];
	size_t i, n = (size_t)PQntuples(cres), m = 0;
	int rc = 0;

	if (n == 0)
		return 0;
	if (!(types->keys = malloc(n * sizeof(*types->keys))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory describing pg tables");
	for (i = 0; i < n; i++)
		types->keys[i] = type_of_row(cres, (int)i);
	qsort(types->keys, n, sizeof(*types->keys), type_cmp);
	for (i = 0; i < n; i++)
		if (m == 0 || type_cmp(&types->keys[m - 1], &types->keys[i]) != 0)
			types->keys[m++] = types->keys[i];
	types->n = m;
	tl_buf_init(&ids, 0);
	tl_buf_init(&mods, 0);
	rc = tl_buf_putc(&ids, '{', err);
	if (!rc)
		rc = tl_buf_putc(&mods, '{', err);
	for (i = 0; !rc && i < m; i++) {
		if (!(rc = tl_buf_printf(&ids, err, "%s%lu", i ? "," : "", types->keys[i].typid)))
			rc = tl_buf_printf(&mods, err, "%s%ld", i ? "," : "", types->keys[i].typmod);
	}
	if (!rc && !(rc = tl_buf_putc(&ids, '}', err)))
		rc = tl_buf_putc(&mods, '}', err);
	params[0] = tl_buf_cstr(&ids);
	params[1] = tl_buf_cstr(&mods);
	if (!rc && !(rc = tl_pg__exec(c, sql, 2, params, &types->res, "cannot read pg types", err)) &&
	    (size_t)PQntuples(types->res) != m)
		rc = tl_error_set(err, TL_ERR_INTERNAL, "reading %zu pg types returned %d rows", m,
				  PQntuples(types->res));
	tl_buf_release(&ids);
	tl_buf_release(&mods);
	return rc;
}

/* Name of index `oid` from rows (oid, relname) ordered by oid; NULL when absent. */
static const char *index_name(const PGresult *inames, const char *oid)
{
	int lo, hi;

	oid_range(inames, 0, strtoul(oid, NULL, 10), &lo, &hi);
	return lo < hi ? PQgetvalue(inames, lo, 1) : NULL;
}

/*
 * Chooses the order key (§3.3) from the unique indexes in rows [lo, hi) of ires
 * (indexrelid, indisprimary, indkey, indnkeyatts in columns 1..4): primary first, then
 * unique with all columns NOT NULL, then unique; fewer columns win; then the smallest
 * index name (byte order). The names are read only for such ties: *tie is set (and
 * nothing chosen) when one needs them and `inames` (index oid -> name rows) is NULL.
 */
static int choose_key(const PGresult *ires, int lo, int hi, const PGresult *inames, tl_table *t,
		      const long *attnums, int *tie, tl_error *err)
{
	long keys[64];
	size_t cand[64], best[64];
	int best_rank = 0, best_n = 0, best_row = -1;
	int i, j;

	*tie = 0;
	for (i = lo; i < hi; i++) {
		int n = parse_indkey(PQgetvalue(ires, i, 3), keys, 64);
		long nkey = strtol(PQgetvalue(ires, i, 4), NULL, 10);
		int rank, ok = 1, better;

		if (n <= 0)
			continue;
		if (nkey > 0 && nkey < n)
			n = (int)nkey; /* INCLUDE columns are not part of the key */
		rank = PQgetvalue(ires, i, 2)[0] == 't' ? 3 : 2;
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
		better = rank > best_rank || (rank == best_rank && n < best_n);
		if (!better && rank == best_rank && n == best_n) {
			const char *a, *b;
			if (!inames) {
				*tie = 1;
				return 0;
			}
			a = index_name(inames, PQgetvalue(ires, i, 1));
			b = index_name(inames, PQgetvalue(ires, best_row, 1));
			better = a && b && strcmp(a, b) < 0;
		}
		if (better) {
			best_rank = rank;
			best_n = n;
			best_row = i;
			memcpy(best, cand, (size_t)n * sizeof(best[0]));
		}
	}
	if (best_rank == 0) {
		t->key_kind = TL_KEYK_NONE;
		t->part_idx = 0;
		return 0;
	}
	t->key_idx = malloc((size_t)best_n * sizeof(size_t));
	if (!t->key_idx)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory describing a pg table");
	memcpy(t->key_idx, best, (size_t)best_n * sizeof(size_t));
	t->nkeys = (size_t)best_n;
	t->key_kind = best_rank == 3 ? TL_KEYK_PRIMARY : best_rank == 2 ? TL_KEYK_UNIQUE : TL_KEYK_UNIQUE_NULLABLE;
	t->part_idx = t->key_idx[0];
	return tl_table_link_keys(t, err);
}

/* Column rows of one table: rows [lo, hi) of res (attrelid, attnum, attname, atttypid,
 * atttypmod, attnotnull, attidentity), with the types of the call. */
struct col_rows {
	const PGresult *res;
	int lo, hi;
	const struct type_set *types;
};

/* Builds one table from its column rows and its index rows [ilo, ihi) of ires; with *tie
 * set (and *out NULL) when choosing its key needs the index names (see choose_key). */
static int build_table(const char *schema, const char *name, double reltuples, const struct col_rows *cr,
		       const PGresult *ires, int ilo, int ihi, const PGresult *inames, int *tie, tl_table **out,
		       tl_error *err)
{
	tl_table *t = NULL;
	struct tl_pg_table *impl = NULL;
	long *attnums = NULL;
	size_t i, n = (size_t)(cr->hi - cr->lo);
	int rc = 0;

	*out = NULL;
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
		int row = cr->lo + (int)i, ty = type_row(cr->types, cr->res, row);
		const PGresult *tres = cr->types->res;

		if (ty < 0) {
			rc = tl_error_set(err, TL_ERR_INTERNAL, "column type missing describing a pg table");
			goto cleanup;
		}
		attnums[i] = strtol(PQgetvalue(cr->res, row, 1), NULL, 10);
		t->cols[i].name = tl_strdup(PQgetvalue(cr->res, row, 2));
		t->cols[i].type = tl_strdup(PQgetvalue(tres, ty, 1));
		t->cols[i].nullable = PQgetvalue(cr->res, row, 5)[0] != 't';
		impl->cast[i] = tl_strdup(PQgetvalue(tres, ty, 2));
		impl->identity_always[i] = PQgetvalue(cr->res, row, 6)[0] == 'a';
		t->cols[i].kind = kind_of(PQgetvalue(tres, ty, 3), PQgetvalue(tres, ty, 4), PQgetvalue(tres, ty, 5));
		if (!t->cols[i].name || !t->cols[i].type || !impl->cast[i])
			goto nomem;
	}
	t->est_rows = reltuples < 0 ? -1 : (int64_t)reltuples;
	rc = choose_key(ires, ilo, ihi, inames, t, attnums, tie, err);
	if (rc || *tie)
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
	return rc;
}

/* Builds the table of row r of the tables query (i, oid, reltuples). */
static int build_one(const PGresult *tres, int r, const tl_name *names, const PGresult *cres,
		     const struct oid_index *cix, const struct type_set *types, const PGresult *ires,
		     const struct oid_index *iix, const PGresult *inames, int *tie, tl_table **out, tl_error *err)
{
	size_t at = (size_t)strtoull(PQgetvalue(tres, r, 0), NULL, 10);
	unsigned long oid = strtoul(PQgetvalue(tres, r, 1), NULL, 10);
	struct col_rows cr;
	int ilo, ihi;

	cr.res = cres;
	cr.types = types;
	oid_index_range(cix, oid, &cr.lo, &cr.hi);
	oid_index_range(iix, oid, &ilo, &ihi);
	return build_table(names[at - 1].schema, names[at - 1].name, strtod(PQgetvalue(tres, r, 2), NULL), &cr, ires,
			   ilo, ihi, inames, tie, out, err);
}

/* Writes {"a","b",…} of the names' schemas (which = 0) or table names (1). */
static int names_array(tl_buf *b, const tl_name *names, size_t n, int which, tl_error *err)
{
	size_t i;
	int rc = tl_buf_putc(b, '{', err);

	for (i = 0; !rc && i < n; i++) {
		if (i && (rc = tl_buf_putc(b, ',', err)))
			break;
		rc = tl_pg__put_array_elem(b, which ? names[i].name : names[i].schema, err);
	}
	return rc ? rc : tl_buf_putc(b, '}', err);
}

int tl_pg__exec_names(tl_conn *c, const char *sql, const tl_name *names, size_t n, PGresult **res, const char *what,
		      tl_error *err)
{
	tl_buf schemas = TL_BUF_INIT, tbs = TL_BUF_INIT;
	const char *params[2];
	int rc;

	tl_buf_init(&schemas, 0);
	tl_buf_init(&tbs, 0);
	if (!(rc = names_array(&schemas, names, n, 0, err)) && !(rc = names_array(&tbs, names, n, 1, err))) {
		params[0] = tl_buf_cstr(&schemas);
		params[1] = tl_buf_cstr(&tbs);
		rc = tl_pg__exec(c, sql, 2, params, res, what, err);
	}
	tl_buf_release(&schemas);
	tl_buf_release(&tbs);
	return rc;
}

int tl_pg__describe_many(tl_conn *c, const tl_name *names, size_t n, tl_table **out, tl_error *err)
{
	static const char tables_sql[] =
		"SELECT w.i, c.oid, c.reltuples::float8 " NAMES_TO_CLASS "WHERE c.relkind IN ('r', 'p')";
	/* no joins here: the type details come once per distinct type (read_types) */
	static const char cols_sql[] =
		"SELECT a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull, a.attidentity "
		"FROM pg_catalog.pg_attribute a "
		"WHERE a.attrelid = ANY ($1::pg_catalog.oid[]) AND a.attnum > 0 AND NOT a.attisdropped "
		"AND a.attgenerated = '' "
		"ORDER BY a.attrelid, a.attnum";
	static const char index_sql[] =
		"SELECT i.indrelid, i.indexrelid, i.indisprimary, i.indkey::text, i.indnkeyatts "
		"FROM pg_catalog.pg_index i "
		"WHERE i.indrelid = ANY ($1::pg_catalog.oid[]) AND (i.indisprimary OR i.indisunique) AND i.indisvalid "
		"AND i.indpred IS NULL AND i.indexprs IS NULL "
		"ORDER BY i.indrelid";
	/* names of the indexes of tables whose key choice is a tie (a join to pg_class would make
	 * the planner scan all of it, and a name per index costs more than the rest) */
	static const char names_sql[] =
		"SELECT i.indexrelid, (SELECT ci.relname FROM pg_catalog.pg_class ci WHERE ci.oid = i.indexrelid) "
		"FROM pg_catalog.pg_index i WHERE i.indrelid = ANY ($1::pg_catalog.oid[]) ORDER BY i.indexrelid";
	tl_buf oids = TL_BUF_INIT;
	PGresult *tres = NULL, *cres = NULL, *ires = NULL, *nres = NULL;
	struct type_set types = {NULL, 0, NULL};
	struct oid_index cix = {NULL, 0}, iix = {NULL, 0};
	int ntie = 0;
	const char *params[2];
	size_t i;
	int r, rc = 0;

	for (i = 0; i < n; i++)
		out[i] = NULL;
	if (n == 0)
		return 0;
	tl_buf_init(&oids, 0);
	if ((rc = tl_pg__exec_names(c, tables_sql, names, n, &tres, "cannot look up pg tables", err)))
		goto cleanup;
	if (PQntuples(tres) == 0)
		goto cleanup;
	rc = tl_buf_putc(&oids, '{', err);
	for (r = 0; !rc && r < PQntuples(tres); r++)
		rc = tl_buf_printf(&oids, err, "%s%s", r ? "," : "", PQgetvalue(tres, r, 1));
	if (!rc)
		rc = tl_buf_putc(&oids, '}', err);
	if (rc)
		goto cleanup;
	params[0] = tl_buf_cstr(&oids);
	if ((rc = tl_pg__exec(c, cols_sql, 1, params, &cres, "cannot read pg columns", err)) ||
	    (rc = tl_pg__exec(c, index_sql, 1, params, &ires, "cannot read pg indexes", err)) ||
	    (rc = read_types(c, cres, &types, err)) || (rc = oid_index_load(cres, 0, &cix, err)) ||
	    (rc = oid_index_load(ires, 0, &iix, err)))
		goto cleanup;
	for (r = 0; r < PQntuples(tres); r++) {
		size_t at = (size_t)strtoull(PQgetvalue(tres, r, 0), NULL, 10);
		int tie = 0;

		if (at < 1 || at > n || out[at - 1]) {
			rc = tl_error_set(err, TL_ERR_INTERNAL, "unexpected row %zu describing pg tables", at);
			goto cleanup;
		}
		if ((rc = build_one(tres, r, names, cres, &cix, &types, ires, &iix, NULL, &tie, &out[at - 1], err)))
			goto cleanup;
		ntie += tie;
	}
	if (ntie == 0)
		goto cleanup;
	/* second pass for the ties, with the names of their tables' indexes */
	tl_buf_reset(&oids);
	rc = tl_buf_putc(&oids, '{', err);
	for (r = 0, ntie = 0; !rc && r < PQntuples(tres); r++)
		if (!out[strtoull(PQgetvalue(tres, r, 0), NULL, 10) - 1])
			rc = tl_buf_printf(&oids, err, "%s%s", ntie++ ? "," : "", PQgetvalue(tres, r, 1));
	if (!rc)
		rc = tl_buf_putc(&oids, '}', err);
	params[0] = tl_buf_cstr(&oids);
	if (rc || (rc = tl_pg__exec(c, names_sql, 1, params, &nres, "cannot read pg index names", err)))
		goto cleanup;
	for (r = 0; r < PQntuples(tres); r++) {
		size_t at = (size_t)strtoull(PQgetvalue(tres, r, 0), NULL, 10);
		int tie = 0;

		if (!out[at - 1] &&
		    (rc = build_one(tres, r, names, cres, &cix, &types, ires, &iix, nres, &tie, &out[at - 1], err)))
			goto cleanup;
	}
cleanup:
	if (rc) {
		for (i = 0; i < n; i++) {
			tl_pg__free_table(out[i]);
			out[i] = NULL;
		}
	}
	PQclear(tres);
	PQclear(cres);
	PQclear(ires);
	PQclear(nres);
	PQclear(types.res);
	free(types.keys);
	free(cix.v);
	free(iix.v);
	tl_buf_release(&oids);
	return rc;
}

int tl_pg__describe(tl_conn *c, const char *schema, const char *name, tl_table **out, tl_error *err)
{
	tl_name one;
	char label[600];
	int rc;

	one.schema = (char *)schema;
	one.name = (char *)name;
	rc = tl_pg__describe_many(c, &one, 1, out, err);
	tl_pg__table_label(label, sizeof(label), schema, name);
	if (rc) {
		tl_error_prefix(err, "%s", label);
		return rc;
	}
	if (!*out)
		return tl_error_set(err, TL_ERR_NOTFOUND, "table %s does not exist", label);
	return 0;
}

/*
 * The statistics' live-row count of each table (pg_stat_get_live_tuples: kept up to date
 * by every committed insert, delete and TRUNCATE, flushed by backends within about a
 * second, or ten when they sit idle). Partitioned parents have none: -1, as missing tables.
 */
int tl_pg__live_rows_many(tl_conn *c, const tl_name *names, size_t n, int64_t *out, tl_error *err)
{
	static const char sql[] =
		"SELECT w.i, pg_catalog.pg_stat_get_live_tuples(c.oid) " NAMES_TO_CLASS "WHERE c.relkind = 'r'";
	PGresult *res = NULL;
	size_t i;
	int r, rc;

	for (i = 0; i < n; i++)
		out[i] = -1;
	if (n == 0)
		return 0;
	if ((rc = tl_pg__exec_names(c, sql, names, n, &res, "cannot read pg table statistics", err)))
		goto cleanup;
	for (r = 0; r < PQntuples(res); r++) {
		long long at = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		if (at >= 1 && (size_t)at <= n)
			out[at - 1] = strtoll(PQgetvalue(res, r, 1), NULL, 10);
	}
cleanup:
	PQclear(res);
	return rc;
}
