/*
 * mysql_meta.c - what the MySQL connector knows about tables: the table list, columns
 * and their kinds, the order key (docs/ape-dts-resume.md §3.3) of one table or of many with
 * three queries, row counts (several tables per statement for many), and the checks on
 * a target table. Reads only information_schema and COUNT/LIMIT 1 queries; it must not
 * read or write row data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "connectors/mysql_int.h"

const char *tl_mysql__qname(const tl_table *t)
{
	return ((const struct tl_mysql_table *)t->impl)->qname;
}

const struct tl_mysql_col *tl_mysql__col(const tl_table *t, size_t i)
{
	return &((const struct tl_mysql_table *)t->impl)->cols[i];
}

/* ---- list_tables ---------------------------------------------------------------- */

static int add_name_row(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	if (nf < 2 || !v[0] || !v[1])
		return 0;
	return tl_name_list_add(ctx, v[0], v[1], err);
}

static int cmp_names(const void *a, const void *b)
{
	const tl_name *x = a, *y = b;
	int c = strcmp(x->schema, y->schema);

	return c ? c : strcmp(x->name, y->name);
}

int tl_mysql__list_tables(tl_conn *c, tl_name_list *out, tl_error *err)
{
	static const char *const sql =
		"SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "
		"WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN "
		"('mysql', 'information_schema', 'performance_schema', 'sys')";
	int rc = tl_mysql__ready(c, err);

	if (rc)
		return rc;
	rc = tl_mysql__query(c, sql, 0, NULL, add_name_row, out, err);
	if (rc)
		return tl_error_prefix(err, "cannot list mysql tables");
	if (out->n > 1)
		qsort(out->items, out->n, sizeof(out->items[0]), cmp_names);
	return 0;
}

/* ---- describe ------------------------------------------------------------------- */

/* One row of information_schema.COLUMNS or STATISTICS, kept as strings. */
struct meta_row {
	char *v[8];
};

struct meta_rows {
	size_t n, cap;
	unsigned nf;
	struct meta_row *rows;
};

static void meta_rows_clear(struct meta_rows *m)
{
	size_t i, j;

	for (i = 0; i < m->n; i++)
		for (j = 0; j < m->nf; j++)
			free(m->rows[i].v[j]);
	free(m->rows);
	memset(m, 0, sizeof(*m));
}

static int add_meta_row(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	struct meta_rows *m = ctx;
	struct meta_row *r;
	unsigned j;

	if (nf > 8)
		return tl_error_set(err, TL_ERR_INTERNAL, "too many metadata columns");
	if (m->n == m->cap) {
		size_t ncap = m->cap ? 2 * m->cap : 32;
		struct meta_row *nr = realloc(m->rows, ncap * sizeof(*nr));
		if (!nr)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql metadata");
		m->rows = nr;
		m->cap = ncap;
	}
	m->nf = nf;
	r = &m->rows[m->n];
	memset(r, 0, sizeof(*r));
	for (j = 0; j < nf; j++) {
		if (!v[j])
			continue;
		r->v[j] = tl_strndup(v[j], lens[j]);
		if (!r->v[j]) {
			while (j-- > 0)
				free(r->v[j]);
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql metadata");
		}
	}
	m->n++;
	return 0;
}

/*
 * information_schema compares names case-insensitively; keep the rows of the table
 * whose name matches exactly, or, when none does, the rows of the single table that
 * matched (lower_case_table_names servers). Columns 0 and 1 are schema and table.
 */
static void keep_exact_table(struct meta_rows *m, const char *schema, const char *name)
{
	size_t i, w = 0, j, exact = 0;

	for (i = 0; i < m->n; i++)
		if (m->rows[i].v[0] && m->rows[i].v[1] && strcmp(m->rows[i].v[0], schema) == 0 &&
		    strcmp(m->rows[i].v[1], name) == 0)
			exact++;
	for (i = 0; i < m->n; i++) {
		const struct meta_row *r = &m->rows[i];
		int keep;
		if (exact)
			keep = r->v[0] && r->v[1] && strcmp(r->v[0], schema) == 0 && strcmp(r->v[1], name) == 0;
		else
			keep = r->v[0] && r->v[1] && m->rows[0].v[0] && m->rows[0].v[1] &&
			       strcmp(r->v[0], m->rows[0].v[0]) == 0 && strcmp(r->v[1], m->rows[0].v[1]) == 0;
		if (keep) {
			m->rows[w++] = m->rows[i];
		} else {
			for (j = 0; j < m->nf; j++)
				free(m->rows[i].v[j]);
		}
	}
	m->n = w;
}

static enum tl_col_kind kind_of(const char *dt, const char *ctype, int *is_unsigned)
{
	static const char *const ints[] = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint", NULL};
	static const char *const texts[] = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext",
					    "enum", "set", "uuid", "inet4", "inet6", NULL};
	static const char *const bins[] = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob",
					   "geometry", "point", "linestring", "polygon", "multipoint",
					   "multilinestring", "multipolygon", "geometrycollection", "geomcollection",
					   NULL};
	static const char *const dates[] = {"date", "datetime", "timestamp", "time", "year", NULL};
	size_t i;

	*is_unsigned = ctype && strstr(ctype, "unsigned") != NULL;
	for (i = 0; ints[i]; i++)
		if (strcmp(dt, ints[i]) == 0)
			return *is_unsigned ? TL_COL_UINT : TL_COL_INT;
	if (strcmp(dt, "decimal") == 0 || strcmp(dt, "numeric") == 0)
		return TL_COL_DECIMAL;
	if (strcmp(dt, "float") == 0 || strcmp(dt, "double") == 0 || strcmp(dt, "real") == 0)
		return TL_COL_FLOAT;
	for (i = 0; texts[i]; i++)
		if (strcmp(dt, texts[i]) == 0)
			return TL_COL_TEXT;
	for (i = 0; bins[i]; i++)
		if (strcmp(dt, bins[i]) == 0)
			return TL_COL_BINARY;
	for (i = 0; dates[i]; i++)
		if (strcmp(dt, dates[i]) == 0)
			return TL_COL_DATE;
	if (strcmp(dt, "bit") == 0)
		return TL_COL_BIT;
	if (strcmp(dt, "json") == 0)
		return TL_COL_JSON;
	return TL_COL_OTHER;
}

void tl_mysql__free_table(tl_table *t)
{
	struct tl_mysql_table *im;
	size_t i;

	if (!t)
		return;
	im = t->impl;
	for (i = 0; i < t->ncols; i++) {
		if (t->cols) {
			free(t->cols[i].name);
			free(t->cols[i].type);
		}
		if (im && im->cols)
			free(im->cols[i].data_type);
	}
	if (im) {
		free(im->cols);
		free(im->qname);
		free(im);
	}
	free(t->cols);
	free(t->key_idx);
	free(t->keys);
	free(t->schema);
	free(t->name);
	free(t);
}

static int find_col(const tl_table *t, const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0) {
			*idx = i;
			return 0;
		}
	for (i = 0; i < t->ncols; i++) /* MySQL column names are case-insensitive */
		if (strcasecmp(t->cols[i].name, name) == 0) {
			*idx = i;
			return 0;
		}
	return -1;
}

/*
 * Key choice (§3.3): PRIMARY; else the unique key with all columns NOT NULL and the
 * fewest columns; else any unique key with the fewest columns. Ties go to the smallest
 * index name (byte order), so the choice is deterministic (ape-dts' is not).
 * Rows: schema, table, index name, seq, column name; grouped by index name.
 */
static int choose_key(tl_table *t, const struct meta_row *rows, size_t nrows, tl_error *err)
{
	size_t i, j, best_start = 0, best_n = 0;
	int best_rank = 0; /* 3 primary, 2 unique not null, 1 unique nullable */
	const char *best_name = NULL;

	i = 0;
	while (i < nrows) {
		const char *iname = rows[i].v[2];
		size_t start = i, n = 0;
		int usable = 1, notnull = 1, rank;

		for (j = i; j < nrows && rows[j].v[2] && iname && strcmp(rows[j].v[2], iname) == 0; j++) {
			size_t ci;
			if (!rows[j].v[4] || find_col(t, rows[j].v[4], &ci) != 0)
				usable = 0; /* functional key part: cannot order by it */
			else if (t->cols[ci].nullable)
				notnull = 0;
			n++;
		}
		if (j == i)
			j = i + 1; /* NULL index name: skip the row */
		i = j;
		if (!usable || !iname || n == 0)
			continue;
		rank = strcmp(iname, "PRIMARY") == 0 ? 3 : (notnull ? 2 : 1);
		if (rank > best_rank || (rank == best_rank && (n < best_n || (n == best_n && strcmp(iname, best_name) < 0)))) {
			best_rank = rank;
			best_start = start;
			best_n = n;
			best_name = iname;
		}
	}
	if (!best_rank) {
		t->key_kind = TL_KEYK_NONE;
		t->part_idx = 0;
		return 0;
	}
	t->key_idx = calloc(best_n, sizeof(size_t));
	if (!t->key_idx)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory describing a mysql table");
	for (j = 0; j < best_n; j++)
		(void)find_col(t, rows[best_start + j].v[4], &t->key_idx[j]);
	t->nkeys = best_n;
	t->key_kind = best_rank == 3 ? TL_KEYK_PRIMARY : best_rank == 2 ? TL_KEYK_UNIQUE : TL_KEYK_UNIQUE_NULLABLE;
	t->part_idx = t->key_idx[0];
	return tl_table_link_keys(t, err);
}

static int cmp_stat_rows(const void *a, const void *b)
{
	const struct meta_row *x = a, *y = b;
	int c;
	long sx, sy;

	c = strcmp(x->v[2] ? x->v[2] : "", y->v[2] ? y->v[2] : "");
	if (c)
		return c;
	sx = x->v[3] ? strtol(x->v[3], NULL, 10) : 0;
	sy = y->v[3] ? strtol(y->v[3], NULL, 10) : 0;
	return (sx > sy) - (sx < sy);
}

/*
 * Describing works on any number of tables with three information_schema queries
 * (COLUMNS, STATISTICS, TABLES), each filtered by the distinct schemas and the distinct
 * table names of the call (= for one value, IN for several: MariaDB applies both before
 * opening any table) and ordered by the names' bytes, so every table's rows are one range
 * that a binary search finds. The lists may select more tables than asked (a name in
 * another schema); only exact (schema, table) pairs are used. information_schema compares
 * names case-insensitively: for a single name the rows of the table that matched are used
 * when none matches exactly (lower_case_table_names servers), as before; a name of a longer
 * list without an exact match is described alone, so it gets that same answer.
 */

/* Appends "col = ?" or "col IN (?, …)" for n values. */
static int put_in(tl_buf *q, const char *col, size_t n, tl_error *err)
{
	size_t i;
	int rc;

	if (n == 1)
		return tl_buf_printf(q, err, "%s = ?", col);
	rc = tl_buf_printf(q, err, "%s IN (", col);
	for (i = 0; !rc && i < n; i++)
		rc = tl_buf_puts(q, i ? ", ?" : "?", err);
	return rc ? rc : tl_buf_putc(q, ')', err);
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts and dedups v[0..*n). */
static void distinct(const char **v, size_t *n)
{
	size_t i, m = 0;

	qsort(v, *n, sizeof(*v), cmp_str_ptr);
	for (i = 0; i < *n; i++)
		if (m == 0 || strcmp(v[m - 1], v[i]) != 0)
			v[m++] = v[i];
	*n = m;
}

/*
 * Runs "SELECT <cols> FROM <from> WHERE <scol> IN schemas AND <tcol> IN names [AND extra]
 * ORDER BY the names' bytes[, order]" into out. schemas/tbs are sorted in place.
 */
static int query_names(tl_conn *c, const char *cols, const char *from, const char *scol, const char *tcol,
		       const char *extra, const char *order, const char **schemas, size_t ns, const char **tbs,
		       size_t nt, struct meta_rows *out, tl_error *err)
{
	tl_buf q = TL_BUF_INIT;
	const char **params = NULL;
	int rc;

	distinct(schemas, &ns);
	distinct(tbs, &nt);
	if (!(params = malloc((ns + nt) * sizeof(*params))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory describing mysql tables");
	memcpy(params, schemas, ns * sizeof(*params));
	memcpy(params + ns, tbs, nt * sizeof(*params));
	tl_buf_init(&q, 0);
	rc = tl_buf_printf(&q, err, "SELECT %s FROM %s WHERE ", cols, from);
	if (!rc && !(rc = put_in(&q, scol, ns, err)) && !(rc = tl_buf_puts(&q, " AND ", err)))
		rc = put_in(&q, tcol, nt, err);
	if (!rc && extra)
		rc = tl_buf_printf(&q, err, " AND %s", extra);
	if (!rc)
		rc = tl_buf_printf(&q, err, " ORDER BY CAST(%s AS BINARY), CAST(%s AS BINARY)%s%s", scol, tcol,
				   order ? ", " : "", order ? order : "");
	if (!rc)
		rc = tl_mysql__query(c, tl_buf_cstr(&q), (unsigned)(ns + nt), params, add_meta_row, out, err);
	tl_buf_release(&q);
	free(params);
	return rc;
}

/* query_names over information_schema.<from> (TABLE_SCHEMA, TABLE_NAME). */
static int query_tables(tl_conn *c, const char *cols, const char *from, const char *extra, const char *order,
			const char **schemas, size_t ns, const char **tbs, size_t nt, struct meta_rows *out,
			tl_error *err)
{
	char full[128];

	snprintf(full, sizeof(full), "information_schema.%s", from);
	return query_names(c, cols, full, "TABLE_SCHEMA", "TABLE_NAME", extra, order, schemas, ns, tbs, nt, out, err);
}

/* Rows [*lo, *hi) of m (ordered by schema and table bytes) for exactly (schema, name). */
static void find_rows(const struct meta_rows *m, const char *schema, const char *name, size_t *lo, size_t *hi)
{
	size_t a = 0, b = m->n;

	while (a < b) {
		size_t mid = a + (b - a) / 2;
		const struct meta_row *r = &m->rows[mid];
		int cmp = strcmp(r->v[0] ? r->v[0] : "", schema);
		if (!cmp)
			cmp = strcmp(r->v[1] ? r->v[1] : "", name);
		if (cmp < 0)
			a = mid + 1;
		else
			b = mid;
	}
	*lo = a;
	for (b = a; b < m->n && m->rows[b].v[0] && m->rows[b].v[1] && strcmp(m->rows[b].v[0], schema) == 0 &&
		    strcmp(m->rows[b].v[1], name) == 0;
	     b++)
		;
	*hi = b;
}

/* Builds a table from its COLUMNS rows [lo, hi) (all of one table, in ordinal order). */
static int build_table(const struct meta_rows *cols, size_t lo, size_t hi, tl_table **out, tl_error *err)
{
	struct tl_mysql_table *im = NULL;
	tl_table *t = NULL;
	tl_buf q = TL_BUF_INIT;
	size_t i, n = hi - lo;
	int rc = 0;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	im = calloc(1, sizeof(*im));
	if (!t || !im)
		goto nomem;
	t->impl = im;
	t->est_rows = -1;
	t->schema = tl_strdup(cols->rows[lo].v[0]);
	t->name = tl_strdup(cols->rows[lo].v[1]);
	t->cols = calloc(n, sizeof(tl_column));
	im->cols = calloc(n, sizeof(struct tl_mysql_col));
	if (!t->schema || !t->name || !t->cols || !im->cols)
		goto nomem;
	t->ncols = n;
	for (i = 0; i < n; i++) {
		const struct meta_row *r = &cols->rows[lo + i];
		tl_column *col = &t->cols[i];
		const char *dt = r->v[4] ? r->v[4] : "";
		col->name = tl_strdup(r->v[2] ? r->v[2] : "");
		col->type = tl_strdup(r->v[3] ? r->v[3] : dt);
		im->cols[i].data_type = tl_strdup(dt);
		if (!col->name || !col->type || !im->cols[i].data_type)
			goto nomem;
		for (char *p = im->cols[i].data_type; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		col->nullable = r->v[5] && strcmp(r->v[5], "YES") == 0;
		col->kind = kind_of(im->cols[i].data_type, col->type, &im->cols[i].is_unsigned);
		im->cols[i].frac = r->v[6] ? (int)strtol(r->v[6], NULL, 10) : 0;
		if (im->cols[i].frac < 0 || im->cols[i].frac > 6)
			im->cols[i].frac = 0;
		/* not MySQL 8's DEFAULT_GENERATED, which is a plain column with a default */
		im->cols[i].generated = r->v[7] && (strstr(r->v[7], "VIRTUAL GENERATED") ||
						    strstr(r->v[7], "STORED GENERATED") ||
						    strstr(r->v[7], "PERSISTENT GENERATED"));
	}
	if ((rc = tl_mysql__qtable(&q, t->schema, t->name, err)))
		goto cleanup;
	if (!(im->qname = tl_buf_detach(&q)))
		goto nomem;
	*out = t;
	t = NULL;
	im = NULL;
	goto cleanup;
nomem:
	rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory describing a mysql table");
cleanup:
	if (im && (!t || t->impl != im))
		free(im);
	tl_mysql__free_table(t);
	tl_buf_release(&q);
	return rc;
}

/* The estimate of TABLES rows [lo, hi) (TABLE_ROWS in column 2; the last row wins). */
static int64_t est_of(const struct meta_rows *m, size_t lo, size_t hi)
{
	int64_t est = -1;
	size_t i;

	for (i = lo; i < hi; i++) {
		const char *v = m->rows[i].v[2];
		char *end = NULL;
		long long x;
		if (!v)
			continue;
		x = strtoll(v, &end, 10);
		if (end && *end == '\0' && x >= 0)
			est = x;
	}
	return est;
}

/*
 * Lists of at least this many tables take their row estimates from InnoDB's persistent
 * statistics (mysql.innodb_table_stats): information_schema.TABLES opens every table to
 * fill TABLE_ROWS (~180 us a table with the default table caches), which made it 90 % of
 * a large plan. Those statistics are refreshed in the background after 10 % of a table
 * changes, so they can lag a bulk load by seconds; short lists keep TABLE_ROWS.
 */
#define PSTATS_MIN 1000

/*
 * Row estimates of the described tables out[0..n) (NULL entries skipped): *pst from the
 * persistent statistics (long lists, when readable), *ests from TABLES for the tables pst
 * lacks (other engines, partitioned tables) or for all.
 */
static int query_estimates(tl_conn *c, tl_table *const *out, size_t n, struct meta_rows *pst, struct meta_rows *ests,
			   tl_error *err)
{
	tl_error e2 = TL_ERROR_INIT;
	size_t i, k, m = 0, lo, hi;
	const char **ms = NULL, **mt = NULL;
	int rc = 0;

	if (!(ms = malloc((n ? n : 1) * sizeof(*ms))) || !(mt = malloc((n ? n : 1) * sizeof(*mt)))) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory describing mysql tables");
		goto cleanup;
	}
	for (i = 0; i < n; i++)
		if (out[i]) {
			ms[m] = out[i]->schema;
			mt[m++] = out[i]->name;
		}
	if (m >= PSTATS_MIN && query_names(c, "database_name, table_name, n_rows", "mysql.innodb_table_stats",
					   "database_name", "table_name", NULL, NULL, ms, m, mt, m, pst, &e2) != 0) {
		meta_rows_clear(pst); /* not readable (privileges): TABLES for all */
		tl_error_clear(&e2);
	}
	/* the tables pst has no row for (all of them when it is empty) */
	for (i = 0, k = 0; i < n; i++) {
		if (!out[i])
			continue;
		find_rows(pst, out[i]->schema, out[i]->name, &lo, &hi);
		if (lo == hi) {
			ms[k] = out[i]->schema;
			mt[k++] = out[i]->name;
		}
	}
	if (k)
		rc = query_tables(c, "TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS", "TABLES", NULL, NULL, ms, k, mt, k, ests, err);
cleanup:
	free(ms);
	free(mt);
	return rc;
}

/*
 * Describes names[0..n) into out (NULL = no such table). single: one name, whose rows
 * may match it only case-insensitively. *missing counts the names of a longer list that
 * matched no table exactly (left NULL for the caller to describe alone).
 */
static int describe_rows(tl_conn *c, const tl_name *names, size_t n, int single, tl_table **out, size_t *missing,
			 tl_error *err)
{
	static const char *const col_cols =
		"TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, IS_NULLABLE, DATETIME_PRECISION, EXTRA";
	static const char *const stat_cols = "TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME";
	struct meta_rows cols = {0}, stats = {0}, ests = {0}, pst = {0};
	const char **sv = NULL, **tv = NULL;
	size_t i, nfound = 0;
	int rc;

	*missing = 0;
	for (i = 0; i < n; i++)
		out[i] = NULL;
	if (n == 0)
		return 0;
	if (!(sv = malloc(n * sizeof(*sv))) || !(tv = malloc(n * sizeof(*tv)))) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory describing mysql tables");
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		sv[i] = names[i].schema;
		tv[i] = names[i].name;
	}
	if ((rc = query_tables(c, col_cols, "COLUMNS", NULL, "ORDINAL_POSITION", sv, n, tv, n, &cols, err)))
		goto cleanup;
	/* the tables found, under the server's spelling of their names */
	for (i = 0; i < n; i++) {
		size_t lo, hi;
		find_rows(&cols, names[i].schema, names[i].name, &lo, &hi);
		if (lo == hi && single && cols.n > 0) {
			lo = 0;
			find_rows(&cols, cols.rows[0].v[0] ? cols.rows[0].v[0] : "", cols.rows[0].v[1] ? cols.rows[0].v[1] : "",
				  &lo, &hi);
		}
		if (lo == hi) {
			*missing += !single;
			continue;
		}
		if ((rc = build_table(&cols, lo, hi, &out[i], err)))
			goto cleanup;
		sv[nfound] = out[i]->schema;
		tv[nfound++] = out[i]->name;
	}
	if (nfound == 0)
		goto cleanup;
	if ((rc = query_tables(c, stat_cols, "STATISTICS", "NON_UNIQUE = 0", NULL, sv, nfound, tv, nfound, &stats,
			       err)) ||
	    (rc = query_estimates(c, out, n, &pst, &ests, err)))
		goto cleanup;
	for (i = 0; i < n; i++) {
		size_t lo, hi;
		if (!out[i])
			continue;
		find_rows(&stats, out[i]->schema, out[i]->name, &lo, &hi);
		if (hi - lo > 1)
			qsort(stats.rows + lo, hi - lo, sizeof(stats.rows[0]), cmp_stat_rows);
		if ((rc = choose_key(out[i], stats.rows + lo, hi - lo, err)))
			goto cleanup;
		find_rows(&pst, out[i]->schema, out[i]->name, &lo, &hi);
		if (lo < hi)
			out[i]->est_rows = est_of(&pst, lo, hi);
		else {
			find_rows(&ests, out[i]->schema, out[i]->name, &lo, &hi);
			out[i]->est_rows = est_of(&ests, lo, hi);
		}
	}
cleanup:
	if (rc)
		for (i = 0; i < n; i++) {
			tl_mysql__free_table(out[i]);
			out[i] = NULL;
		}
	free(sv);
	free(tv);
	meta_rows_clear(&cols);
	meta_rows_clear(&stats);
	meta_rows_clear(&ests);
	meta_rows_clear(&pst);
	return rc;
}

int tl_mysql__describe(tl_conn *c, const char *schema, const char *name, tl_table **out, tl_error *err)
{
	tl_buf q = TL_BUF_INIT;
	tl_name one;
	size_t missing;
	int rc = tl_mysql__ready(c, err);

	*out = NULL;
	if (rc)
		return rc;
	one.schema = (char *)schema;
	one.name = (char *)name;
	rc = describe_rows(c, &one, 1, 1, out, &missing, err);
	if (!rc && !*out) {
		rc = tl_mysql__qtable(&q, schema, name, err);
		if (!rc)
			rc = tl_error_set(err, TL_ERR_NOTFOUND, "table %s does not exist", tl_buf_cstr(&q));
	} else if (rc && rc != TL_ERR_NOMEM && tl_mysql__qtable(&q, schema, name, NULL) == 0) {
		tl_error_prefix(err, "cannot describe %s", tl_buf_cstr(&q));
	}
	tl_buf_release(&q);
	return rc;
}

int tl_mysql__describe_many(tl_conn *c, const tl_name *names, size_t n, tl_table **out, tl_error *err)
{
	size_t i, missing = 0;
	int rc = tl_mysql__ready(c, err);

	for (i = 0; i < n; i++)
		out[i] = NULL;
	if (rc)
		return rc;
	if ((rc = describe_rows(c, names, n, n == 1, out, &missing, err))) {
		tl_error_prefix(err, "cannot describe %zu mysql tables", n);
		return rc;
	}
	/* names without an exact match: what describe says of each (usually: no such table) */
	for (i = 0; missing && i < n && !rc; i++) {
		size_t none;
		if (out[i])
			continue;
		rc = describe_rows(c, &names[i], 1, 1, &out[i], &none, err);
	}
	if (rc)
		for (i = 0; i < n; i++) {
			tl_mysql__free_table(out[i]);
			out[i] = NULL;
		}
	return rc;
}

/* ---- counts and target checks ------------------------------------------------------ */

static int first_int(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	int64_t *out = ctx;
	char *end = NULL;
	long long x;

	if (nf < 1 || !v[0])
		return 0;
	x = strtoll(v[0], &end, 10);
	if (!end || *end != '\0')
		return tl_error_set(err, TL_ERR_DB, "unexpected count '%s' from mysql", v[0]);
	*out = x;
	return 0;
}

int tl_mysql__count_rows(tl_conn *c, const tl_table *t, int64_t *out, tl_error *err)
{
	tl_buf q = TL_BUF_INIT;
	int rc = tl_mysql__ready(c, err);

	*out = 0;
	if (!rc)
		rc = tl_buf_printf(&q, err, "SELECT COUNT(*) FROM %s", tl_mysql__qname(t));
	if (!rc) {
		rc = tl_mysql__query_text(c, tl_buf_cstr(&q), first_int, out, err);
		if (rc)
			tl_error_prefix(err, "cannot count rows of %s", tl_mysql__qname(t));
	}
	tl_buf_release(&q);
	return rc;
}

/* Counts per statement in count_many (each opens its table until the statement ends). */
#define TL_MYSQL_COUNTS_PER_STATEMENT 200

struct count_rows_ctx {
	int64_t *out;
	size_t lo, hi, rows;
};

/* The one row of SELECT (SELECT COUNT(*) FROM t1), …: one value per table. */
static int count_row(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	struct count_rows_ctx *cc = ctx;
	size_t i;

	(void)lens;
	if (nf != cc->hi - cc->lo)
		return tl_error_set(err, TL_ERR_DB, "counting %zu mysql tables returned %u values", cc->hi - cc->lo, nf);
	for (i = 0; i < nf; i++) {
		char *end = NULL;
		long long x = v[i] ? strtoll(v[i], &end, 10) : -1;
		if (!v[i] || !end || *end != '\0')
			return tl_error_set(err, TL_ERR_DB, "unexpected count '%s' from mysql", v[i] ? v[i] : "NULL");
		cc->out[cc->lo + i] = x;
	}
	cc->rows++;
	return 0;
}

int tl_mysql__count_many(tl_conn *c, const tl_table *const *t, size_t n, int64_t *out, tl_error *err)
{
	tl_buf q = TL_BUF_INIT;
	struct count_rows_ctx cc;
	size_t i;
	int rc = tl_mysql__ready(c, err);

	tl_buf_init(&q, 0);
	cc.out = out;
	for (cc.lo = 0; !rc && cc.lo < n; cc.lo += TL_MYSQL_COUNTS_PER_STATEMENT) {
		cc.hi = cc.lo + TL_MYSQL_COUNTS_PER_STATEMENT < n ? cc.lo + TL_MYSQL_COUNTS_PER_STATEMENT : n;
		cc.rows = 0;
		tl_buf_reset(&q);
		rc = tl_buf_puts(&q, "SELECT ", err);
		for (i = cc.lo; !rc && i < cc.hi; i++)
			rc = tl_buf_printf(&q, err, "%s(SELECT COUNT(*) FROM %s)", i > cc.lo ? ", " : "",
					   tl_mysql__qname(t[i]));
		if (!rc && (rc = tl_mysql__query_text(c, tl_buf_cstr(&q), count_row, &cc, err)))
			tl_error_prefix(err, "cannot count rows of %zu mysql tables", cc.hi - cc.lo);
		if (!rc && cc.rows != 1)
			rc = tl_error_set(err, TL_ERR_DB, "counting %zu mysql tables returned %zu rows", cc.hi - cc.lo,
					  cc.rows);
	}
	tl_buf_release(&q);
	return rc;
}

int tl_mysql__check_target(tl_conn *c, const tl_table *src, int *is_empty, tl_error *err)
{
	static const char *const col_sql =
		"SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, IS_NULLABLE, "
		"COLUMN_DEFAULT IS NOT NULL OR EXTRA LIKE '%auto_increment%' OR EXTRA LIKE '%GENERATED%' "
		"FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?";
	const char *params[2] = {src->schema, src->name};
	struct meta_rows cols = {0};
	tl_buf q = TL_BUF_INIT;
	int64_t any = 0;
	size_t i, j;
	int rc;

	*is_empty = 0;
	rc = tl_mysql__ready(c, err);
	if (rc)
		return rc;
	rc = tl_mysql__query(c, col_sql, 2, params, add_meta_row, &cols, err);
	if (rc) {
		tl_error_prefix(err, "cannot check target table %s", tl_mysql__qname(src));
		goto cleanup;
	}
	keep_exact_table(&cols, src->schema, src->name);
	if (cols.n == 0) {
		rc = tl_error_set(err, TL_ERR_NOTFOUND, "target table %s does not exist", tl_mysql__qname(src));
		goto cleanup;
	}
	for (i = 0; i < src->ncols; i++) {
		int found = 0;
		for (j = 0; j < cols.n && !found; j++)
			found = cols.rows[j].v[2] && strcasecmp(cols.rows[j].v[2], src->cols[i].name) == 0;
		if (!found) {
			rc = tl_mysql__qident(&q, src->cols[i].name, err);
			if (!rc)
				rc = tl_error_set(err, TL_ERR_MISMATCH, "target table %s has no column %s",
						  tl_mysql__qname(src), tl_buf_cstr(&q));
			goto cleanup;
		}
	}
	/* target columns tideline does not write ([filter] ignore_cols, or not in the source)
	 * take their default: they must have one, or accept NULL */
	for (j = 0; j < cols.n; j++) {
		int written = 0;
		const struct meta_row *r = &cols.rows[j];
		for (i = 0; i < src->ncols && !written; i++)
			written = r->v[2] && strcasecmp(r->v[2], src->cols[i].name) == 0;
		if (written || (r->v[3] && strcmp(r->v[3], "YES") == 0) || (r->v[4] && strcmp(r->v[4], "1") == 0))
			continue;
		rc = tl_mysql__qident(&q, r->v[2] ? r->v[2] : "", err);
		if (!rc)
			rc = tl_error_set(err, TL_ERR_MISMATCH,
					  "target table %s has column %s, which is not copied and is NOT NULL without a "
					  "default",
					  tl_mysql__qname(src), tl_buf_cstr(&q));
		goto cleanup;
	}
	rc = tl_buf_printf(&q, err, "SELECT COUNT(*) FROM (SELECT 1 FROM %s LIMIT 1) tl_x", tl_mysql__qname(src));
	if (rc)
		goto cleanup;
	rc = tl_mysql__query_text(c, tl_buf_cstr(&q), first_int, &any, err);
	if (rc) {
		tl_error_prefix(err, "cannot read target table %s", tl_mysql__qname(src));
		goto cleanup;
	}
	*is_empty = any == 0;
cleanup:
	meta_rows_clear(&cols);
	tl_buf_release(&q);
	return rc;
}
