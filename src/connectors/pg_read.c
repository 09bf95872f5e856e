/*
 * pg_read.c - PostgreSQL connector: streaming reads (docs/ape-dts-resume.md §3.4 query shapes),
 * position rendering (§2.4), split bounds, partition min/max and server-side checksums.
 *
 * A reader runs one COPY (SELECT … ORDER BY key) TO STDOUT and takes its rows as they
 * stream in (PQgetCopyData, one text line per row), so the server never waits for the
 * client to ask for more and memory stays bounded whatever the table size (libpq holds
 * one row at a time; the socket applies back-pressure). Lines are decoded into cells
 * (pg_copytext.c) or, for a batch this same driver will write (tl_read_spec.native),
 * kept whole and passed to the target's COPY FROM unchanged. Each cell is the server's
 * text output (bytea as "\x<hex>"), as in text result format.
 *
 * COPY takes no parameters, so resume values are inlined as literals escaped by libpq
 * (PQescapeLiteral) and cast to the column's type without typmod
 * ('…'::pg_catalog.int4); other statements (split bounds, checksums) bind them as text
 * parameters ($n::cast). Values are never pasted into SQL unescaped.
 * Must not write to the database.
 */
#include <stdlib.h>
#include <string.h>
#include "pg_int.h"

#define MAX_PARAMS 64

struct tl_reader {
	tl_conn *c;
	const tl_table *t;
	size_t batch_rows;
	int native;    /* hand out TL_BATCH_NATIVE batches (raw COPY lines) */
	int binary;    /* hand out TL_BATCH_NATIVE_BINARY batches (binary COPY tuples) */
	int header;    /* binary: the stream header has been read */
	int streaming; /* the COPY is still sending rows */
	int failed;    /* an error happened; further reads fail */
	struct tl_pg_field *fields; /* ncols, for decoding a line */
	size_t nbound; /* bound position values, kept to blame a cast failure */
	size_t bound_col[MAX_PARAMS];
	char *bound_val[MAX_PARAMS];
};

/* Collected parameters of a query being built. */
struct params {
	PGconn *inline_pg; /* set: values go into the SQL as escaped literals (COPY), not $n */
	int n;
	char *vals[MAX_PARAMS]; /* owned; NULL = SQL NULL */
	size_t col[MAX_PARAMS];
	const char *raw[MAX_PARAMS]; /* position-form values, lent */
};

static void params_clear(struct params *p)
{
	int i;

	for (i = 0; i < p->n; i++)
		free(p->vals[i]);
	p->n = 0;
}

/*
 * Adds a position-form value for column col and appends "$n[::cast]" to sql.
 * A NULL value binds SQL NULL (ape-dts: `k > NULL` matches nothing).
 */
static int add_param(struct params *p, tl_buf *sql, const tl_table *t, size_t col, const char *val, tl_error *err)
{
	tl_buf tmp = TL_BUF_INIT;
	const char *cast = tl_pg__cast(t, col);
	int rc = 0;

	if (p->n >= MAX_PARAMS)
		return tl_error_set(err, TL_ERR_UNSUPPORTED, "too many key columns");
	tl_buf_init(&tmp, 0);
	p->vals[p->n] = NULL;
	if (val) {
		rc = tl_pg__pos_param(t, col, val, &tmp, err);
		if (rc)
			goto cleanup;
		p->vals[p->n] = tl_buf_detach(&tmp);
	}
	p->col[p->n] = col;
	p->raw[p->n] = val;
	p->n++;
	if (p->inline_pg) {
		char *lit = NULL;
		const char *v = p->vals[p->n - 1];
		if (v && !(lit = PQescapeLiteral(p->inline_pg, v, strlen(v)))) {
			rc = tl_pg__conn_error(err, p->inline_pg, "cannot escape a resume value");
			goto cleanup;
		}
		rc = tl_buf_puts(sql, lit ? lit : "NULL", err);
		PQfreemem(lit);
		if (!rc && cast)
			rc = tl_buf_printf(sql, err, "::%s", cast);
	} else if (cast)
		rc = tl_buf_printf(sql, err, "$%d::%s", p->n, cast);
	else
		rc = tl_buf_printf(sql, err, "$%d", p->n);
cleanup:
	tl_buf_release(&tmp);
	return rc;
}

static int put_col(tl_buf *sql, const tl_table *t, size_t i, tl_error *err)
{
	return tl_pg__quote_ident(sql, t->cols[i].name, err);
}

/* Appends "SELECT "c1", "c2" FROM "s"."t"". */
static int put_select(tl_buf *sql, const tl_table *t, tl_error *err)
{
	size_t i;
	int rc = tl_buf_puts(sql, "SELECT ", err);

	for (i = 0; !rc && i < t->ncols; i++) {
		if (i)
			rc = tl_buf_puts(sql, ", ", err);
		if (!rc)
			rc = put_col(sql, t, i, err);
	}
	if (!rc && t->ncols == 0)
		rc = tl_buf_puts(sql, "NULL", err);
	if (!rc)
		rc = tl_buf_puts(sql, " FROM ", err);
	if (!rc)
		rc = tl_pg__quote_table(sql, t->schema, t->name, err);
	return rc;
}

/* Starts a condition: " WHERE " the first time, " AND " after. */
static int put_and(tl_buf *sql, int *nconds, tl_error *err)
{
	return tl_buf_puts(sql, (*nconds)++ ? " AND " : " WHERE ", err);
}

static int put_order(tl_buf *sql, const tl_table *t, const size_t *idx, size_t n, tl_error *err)
{
	size_t i;
	int rc = tl_buf_puts(sql, " ORDER BY ", err);

	for (i = 0; !rc && i < n; i++) {
		if (i)
			rc = tl_buf_puts(sql, ", ", err);
		if (!rc)
			rc = put_col(sql, t, idx[i], err);
	}
	return rc;
}

/* Appends the range condition on the partition column: (lo, hi], NULL = unbounded. */
static int put_range(tl_buf *sql, struct params *p, int *nconds, const tl_table *t, const char *lo, const char *hi,
		     int not_null, tl_error *err)
{
	size_t pc = t->part_idx;
	int rc = 0;

	if (lo) {
		rc = put_and(sql, nconds, err);
		if (!rc)
			rc = put_col(sql, t, pc, err);
		if (!rc)
			rc = tl_buf_puts(sql, " > ", err);
		if (!rc)
			rc = add_param(p, sql, t, pc, lo, err);
	}
	if (!rc && hi) {
		rc = put_and(sql, nconds, err);
		if (!rc)
			rc = put_col(sql, t, pc, err);
		if (!rc)
			rc = tl_buf_puts(sql, " <= ", err);
		if (!rc)
			rc = add_param(p, sql, t, pc, hi, err);
	}
	if (!rc && !lo && !hi && not_null) {
		rc = put_and(sql, nconds, err);
		if (!rc)
			rc = put_col(sql, t, pc, err);
		if (!rc)
			rc = tl_buf_puts(sql, " IS NOT NULL", err);
	}
	return rc;
}

/* Builds the query of a read spec (§3.4). */
static int build_query(tl_buf *sql, struct params *p, const tl_table *t, const tl_read_spec *spec, tl_error *err)
{
	int nconds = 0;
	size_t i, pc = t->part_idx;
	int rc = put_select(sql, t, err);

	if (!rc && spec->where && *spec->where) {
		rc = put_and(sql, &nconds, err);
		if (!rc)
			rc = tl_buf_printf(sql, err, "(%s)", spec->where);
	}
	if (rc)
		return rc;
	switch (spec->mode) {
	case TL_READ_SCAN:
		break;
	case TL_READ_KEYED:
		if (t->nkeys == 0)
			return tl_error_set(err, TL_ERR_INTERNAL, "keyed read of a table without a key");
		if (spec->after && spec->after->n != t->nkeys)
			return tl_error_set(err, TL_ERR_INTERNAL, "resume position has %zu values for %zu key columns",
					    spec->after->n, t->nkeys);
		if (spec->after) {
			rc = put_and(sql, &nconds, err);
			if (!rc && t->nkeys > 1)
				rc = tl_buf_putc(sql, '(', err);
			for (i = 0; !rc && i < t->nkeys; i++) {
				if (i)
					rc = tl_buf_puts(sql, ", ", err);
				if (!rc)
					rc = put_col(sql, t, t->key_idx[i], err);
			}
			if (!rc)
				rc = tl_buf_puts(sql, t->nkeys > 1 ? ") > (" : " > ", err);
			for (i = 0; !rc && i < t->nkeys; i++) {
				if (i)
					rc = tl_buf_puts(sql, ", ", err);
				if (!rc)
					rc = add_param(p, sql, t, t->key_idx[i], spec->after->vals[i], err);
			}
			if (!rc && t->nkeys > 1)
				rc = tl_buf_putc(sql, ')', err);
		}
		for (i = 0; !rc && i < t->nkeys; i++) {
			if (!t->cols[t->key_idx[i]].nullable)
				continue;
			rc = put_and(sql, &nconds, err);
			if (!rc)
				rc = put_col(sql, t, t->key_idx[i], err);
			if (!rc)
				rc = tl_buf_puts(sql, " IS NOT NULL", err);
		}
		if (!rc)
			rc = put_order(sql, t, t->key_idx, t->nkeys, err);
		break;
	case TL_READ_KEY_NULLS:
		if (t->nkeys == 0)
			return tl_error_set(err, TL_ERR_INTERNAL, "NULL pass of a table without a key");
		rc = put_and(sql, &nconds, err);
		if (!rc)
			rc = tl_buf_putc(sql, '(', err);
		for (i = 0; !rc && i < t->nkeys; i++) {
			if (i)
				rc = tl_buf_puts(sql, " OR ", err);
			if (!rc)
				rc = put_col(sql, t, t->key_idx[i], err);
			if (!rc)
				rc = tl_buf_puts(sql, " IS NULL", err);
		}
		if (!rc)
			rc = tl_buf_putc(sql, ')', err);
		if (!rc)
			rc = put_order(sql, t, t->key_idx, t->nkeys, err);
		break;
	case TL_READ_RANGE:
		if (t->ncols == 0)
			return tl_error_set(err, TL_ERR_INTERNAL, "range read of a table without columns");
		rc = put_range(sql, p, &nconds, t, spec->lo, spec->hi, 1, err);
		if (!rc)
			rc = put_order(sql, t, &pc, 1, err);
		break;
	case TL_READ_PART_NULLS:
		if (t->ncols == 0)
			return tl_error_set(err, TL_ERR_INTERNAL, "NULL pass of a table without columns");
		rc = put_and(sql, &nconds, err);
		if (!rc)
			rc = put_col(sql, t, pc, err);
		if (!rc)
			rc = tl_buf_puts(sql, " IS NULL", err);
		break;
	default:
		return tl_error_set(err, TL_ERR_INTERNAL, "unknown read mode %d", (int)spec->mode);
	}
	return rc;
}

/* Turns a failed statement that bound position values into the right error. */
static int query_failed(tl_conn *c, const tl_table *t, PGresult *res, const size_t *cols, char *const *raw,
			size_t n, const char *what, tl_error *err)
{
	char label[600];
	const char *st = tl_pg__sqlstate(res);

	tl_pg__table_label(label, sizeof(label), t->schema, t->name);
	tl_pg__res_error(err, res, c->pg, "%s %s", what, label);
	if (st[0] == '2' && st[1] == '2' && n > 0)
		return tl_pg__blame_values(c, t, cols, (const char *const *)raw, n, err);
	return TL_ERR_DB;
}

/* A statement got no result at all (connection lost or silent): err says why; name the table. */
static int conn_failed(const tl_table *t, const char *what, tl_error *err)
{
	char label[600];

	tl_pg__table_label(label, sizeof(label), t->schema, t->name);
	return tl_error_prefix(err, "%s %s", what, label);
}

/* Gives back the statement_timeout a URL set, which a streaming read lifted (see open). */
static void restore_timeout(tl_conn *c)
{
	tl_error ignored = TL_ERROR_INIT;

	if (c->stmt_timeout && !c->dead &&
	    tl_pg__exec(c, "RESET statement_timeout", 0, NULL, NULL, "", &ignored) != 0) {
		/* only a lost connection fails here: its next statement reports it */
	}
}

/* Ends a COPY that is still streaming: cancel it, then drain what is in flight (each wait
 * within the silence bound; nothing to do on a connection already given up). */
static void stop_copy(tl_conn *c)
{
	PGcancel *cancel = c->dead ? NULL : PQgetCancel(c->pg);
	tl_error ignored = TL_ERROR_INIT;
	PGresult *res = NULL;
	char *line = NULL, msg[256];
	int n = 0;

	if (cancel) {
		(void)PQcancel(cancel, msg, (int)sizeof(msg));
		PQfreeCancel(cancel);
	}
	while (tl_pg__copy_get(c, &line, &n, &ignored) == 0 && n > 0)
		PQfreemem(line);
	while (tl_pg__next_result(c, &res, &ignored) == 0 && res)
		PQclear(res);
}

void tl_pg__close_reader(tl_reader *r)
{
	size_t i;

	if (!r)
		return;
	if (r->c && r->c->pg && r->streaming)
		stop_copy(r->c);
	if (r->c && r->c->in_reader) {
		r->c->in_reader = 0;
		restore_timeout(r->c);
	}
	for (i = 0; i < r->nbound; i++)
		free(r->bound_val[i]);
	free(r->fields);
	free(r);
}

int tl_pg__open_reader(tl_conn *c, const tl_table *t, const tl_read_spec *spec, tl_reader **out, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT;
	struct params p;
	tl_reader *r = NULL;
	PGresult *res = NULL;
	int rc, i;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.inline_pg = c->pg;
	tl_buf_init(&sql, 0);
	if (c->in_reader) {
		rc = tl_error_set(err, TL_ERR_INTERNAL, "pg connection already has an open reader");
		goto cleanup;
	}
	r = calloc(1, sizeof(*r));
	if (!r || !(r->fields = calloc(t->ncols ? t->ncols : 1, sizeof(*r->fields)))) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory opening a reader");
		goto cleanup;
	}
	r->t = t;
	r->batch_rows = spec->batch_rows ? spec->batch_rows : 1000;
	r->native = spec->native && t->ncols > 0;
	r->binary = spec->native >= 2 && tl_pg__binary_keys_ok(t);
	rc = tl_buf_puts(&sql, "COPY (", err);
	if (!rc)
		rc = build_query(&sql, &p, t, spec, err);
	if (!rc)
		rc = tl_buf_puts(&sql, r->binary ? ") TO STDOUT (FORMAT binary)" : ") TO STDOUT", err);
	if (rc)
		goto cleanup;
	for (i = 0; i < p.n; i++) {
		if (!p.raw[i])
			continue;
		r->bound_val[r->nbound] = tl_strdup(p.raw[i]);
		if (!r->bound_val[r->nbound]) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory opening a reader");
			goto cleanup;
		}
		r->bound_col[r->nbound++] = p.col[i];
	}
	/*
	 * A statement_timeout from the URL (ape-dts' options[statement_timeout]) bounds each
	 * statement; ape-dts reads a batch per statement, but this read streams the whole
	 * table or chunk as one COPY, so it would cut every long table. The read is bounded
	 * by the silence timeout instead; close gives the setting back.
	 */
	if (c->stmt_timeout &&
	    (rc = tl_pg__exec(c, "SET statement_timeout = 0", 0, NULL, NULL, "cannot lift statement_timeout", err)))
		goto cleanup;
	r->c = c;
	c->in_reader = 1;
	if ((rc = tl_pg__run(c, tl_buf_cstr(&sql), 0, NULL, &res, err))) {
		rc = conn_failed(t, "cannot read", err);
		goto cleanup;
	}
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		rc = query_failed(c, t, res, r->bound_col, r->bound_val, r->nbound, "cannot read", err);
		goto cleanup;
	}
	r->streaming = 1;
	*out = r;
	r = NULL;
cleanup:
	PQclear(res);
	tl_pg__close_reader(r);
	params_clear(&p);
	tl_buf_release(&sql);
	return rc;
}

/* The COPY has sent its last row: check how it ended. */
static int finish_copy(tl_reader *r, tl_error *err)
{
	PGresult *res = NULL;
	int rc = 0;

	r->streaming = 0;
	for (;;) {
		if (tl_pg__next_result(r->c, &res, rc ? NULL : err))
			return rc ? rc : conn_failed(r->t, "cannot read", err);
		if (!res)
			break;
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
			rc = query_failed(r->c, r->t, res, r->bound_col, r->bound_val, r->nbound, "cannot read", err);
		PQclear(res);
	}
	return rc;
}

/* Appends one COPY message to the batch: a binary tuple, a whole line (native) or its cells. */
static int add_line(tl_reader *r, tl_batch *b, char *line, size_t len, tl_error *err)
{
	size_t i, nc = r->t->ncols;
	int rc;

	if (r->binary) {
		size_t skip = 0;
		int trailer = 0;
		if (!r->header) {
			if ((rc = tl_pg__bin_skip_header(line, len, &skip, err)))
				return rc;
			r->header = 1;
			if (skip == len)
				return 0;
		}
		if ((rc = tl_pg__bin_tuple_check(line + skip, len - skip, nc, &trailer, err)))
			return rc;
		if (trailer)
			return 0;
		rc = tl_batch_push(b, line + skip, len - skip, 0, err);
	} else if (r->native)
		rc = tl_batch_push(b, line, len, 0, err);
	else {
		rc = nc ? tl_pg__copy_split(line, len, r->fields, nc, err) : 0;
		for (i = 0; !rc && i < nc; i++)
			rc = tl_batch_push(b, r->fields[i].ptr, r->fields[i].len, r->fields[i].is_null, err);
	}
	if (!rc)
		rc = tl_batch_end_row(b, err);
	if (rc)
		tl_batch_abort_row(b);
	return rc;
}

int tl_pg__read_batch(tl_reader *r, tl_batch *b, tl_error *err)
{
	const tl_table *t = r->t;
	size_t added = 0;
	int rc = 0;

	if (r->failed)
		return tl_error_set(err, TL_ERR_INTERNAL, "read after a failed read");
	if (b->ncols != t->ncols)
		return tl_error_set(err, TL_ERR_INTERNAL, "batch has %zu columns, table has %zu", b->ncols, t->ncols);
	if (r->native && b->nrows == 0)
		b->form = r->binary ? TL_BATCH_NATIVE_BINARY : TL_BATCH_NATIVE;
	if (b->form != (r->binary ? TL_BATCH_NATIVE_BINARY : r->native ? TL_BATCH_NATIVE : TL_BATCH_CELLS))
		return tl_error_set(err, TL_ERR_INTERNAL, "batch form does not match the reader");
	while (r->streaming && added < r->batch_rows && !tl_batch_full(b)) {
		char *line = NULL;
		int n = 0;

		if (tl_pg__copy_get(r->c, &line, &n, err)) {
			r->streaming = 0; /* the connection is gone: nothing left to cancel */
			rc = conn_failed(t, "cannot read", err);
			break;
		}
		if (n == -1) {
			rc = finish_copy(r, err);
			break;
		}
		{
			size_t before = b->nrows;
			rc = add_line(r, b, line, (size_t)n, err);
			PQfreemem(line);
			if (rc)
				break;
			added += b->nrows - before;
		}
	}
	if (rc)
		r->failed = 1;
	return rc;
}

int tl_pg__row_key(const tl_table *t, const tl_batch *b, size_t row, const size_t *idx, size_t n, tl_keyvals *out,
		   tl_error *err)
{
	char *cols[MAX_PARAMS], *vals[MAX_PARAMS];
	tl_buf scratch = TL_BUF_INIT;
	struct tl_pg_field *f = NULL;
	const char *tuple = NULL;
	size_t i, tuple_len = 0;
	int rc = 0;

	if (n > MAX_PARAMS)
		return tl_error_set(err, TL_ERR_UNSUPPORTED, "too many key columns");
	memset(vals, 0, sizeof(vals));
	memset(cols, 0, sizeof(cols));
	tl_buf_init(&scratch, 0);
	if (b->form == TL_BATCH_NATIVE_BINARY)
		tuple = tl_batch_cell(b, row, 0, &tuple_len);
	else if (b->form == TL_BATCH_NATIVE) {
		if (!(f = calloc(t->ncols ? t->ncols : 1, sizeof(*f))))
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading a key");
		else
			rc = tl_pg__native_fields(b, row, t->ncols, &scratch, f, err);
	}
	for (i = 0; !rc && i < n; i++) {
		cols[i] = t->cols[idx[i]].name;
		if (b->form == TL_BATCH_NATIVE_BINARY) /* only with integer keys (tl_pg__binary_keys_ok) */
			rc = tl_pg__bin_int_text(tuple, tuple_len, idx[i], &vals[i], err);
		else
			rc = tl_pg__pos_from_text(t, idx[i], f ? f[idx[i]].ptr : tl_batch_cell(b, row, idx[i], NULL),
						  &vals[i], err);
	}
	free(f);
	tl_buf_release(&scratch);
	if (!rc)
		rc = tl_keyvals_set(out, n, (const char *const *)cols, (const char *const *)vals, err);
	for (i = 0; i < n; i++)
		free(vals[i]);
	return rc;
}

/* Runs a one-row query binding p and renders column j of row 0 (NULL if none) in position form. */
static int query_positions(tl_conn *c, const tl_table *t, const char *sql, struct params *p, char **outs, int nout,
			   const char *what, tl_error *err)
{
	PGresult *res = NULL;
	int j, rc = 0;

	for (j = 0; j < nout; j++)
		outs[j] = NULL;
	if (tl_pg__run(c, sql, p->n, (const char *const *)p->vals, &res, err))
		return conn_failed(t, what, err);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		char *raw[MAX_PARAMS];
		size_t cols[MAX_PARAMS];
		int k, m = 0;
		for (k = 0; k < p->n; k++)
			if (p->raw[k]) {
				raw[m] = (char *)p->raw[k];
				cols[m++] = p->col[k];
			}
		rc = query_failed(c, t, res, cols, raw, (size_t)m, what, err);
		goto cleanup;
	}
	for (j = 0; !rc && j < nout && PQntuples(res) > 0; j++)
		rc = tl_pg__pos_from_text(t, t->part_idx, PQgetisnull(res, 0, j) ? NULL : PQgetvalue(res, 0, j),
					  &outs[j], err);
cleanup:
	if (rc)
		for (j = 0; j < nout; j++) {
			free(outs[j]);
			outs[j] = NULL;
		}
	PQclear(res);
	return rc;
}

int tl_pg__next_bound(tl_conn *c, const tl_table *t, const char *after, size_t step, char **hi_out, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT;
	struct params p;
	int nconds = 0, rc;

	*hi_out = NULL;
	memset(&p, 0, sizeof(p));
	tl_buf_init(&sql, 0);
	if (t->ncols == 0)
		return tl_error_set(err, TL_ERR_INTERNAL, "split of a table without columns");
	/* MAX(p) over the next `step` values; ORDER BY … DESC LIMIT 1 also works for bytea/bool. */
	rc = tl_buf_puts(&sql, "SELECT x.p FROM (SELECT ", err);
	if (!rc)
		rc = put_col(&sql, t, t->part_idx, err);
	if (!rc)
		rc = tl_buf_puts(&sql, " AS p FROM ", err);
	if (!rc)
		rc = tl_pg__quote_table(&sql, t->schema, t->name, err);
	if (!rc)
		rc = put_and(&sql, &nconds, err);
	if (!rc)
		rc = put_col(&sql, t, t->part_idx, err);
	if (!rc)
		rc = tl_buf_puts(&sql, " IS NOT NULL", err);
	if (!rc)
		rc = put_range(&sql, &p, &nconds, t, after, NULL, 0, err);
	if (!rc)
		rc = put_order(&sql, t, &t->part_idx, 1, err);
	if (!rc)
		rc = tl_buf_printf(&sql, err, " LIMIT %zu) x ORDER BY x.p DESC LIMIT 1", step ? step : 1);
	if (!rc)
		rc = query_positions(c, t, tl_buf_cstr(&sql), &p, hi_out, 1, "cannot split", err);
	params_clear(&p);
	tl_buf_release(&sql);
	return rc;
}

int tl_pg__part_minmax(tl_conn *c, const tl_table *t, char **min_out, char **max_out, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT, tb = TL_BUF_INIT, col = TL_BUF_INIT;
	struct params p;
	char *outs[2] = {NULL, NULL};
	int rc;

	*min_out = *max_out = NULL;
	memset(&p, 0, sizeof(p));
	tl_buf_init(&sql, 0);
	tl_buf_init(&tb, 0);
	tl_buf_init(&col, 0);
	if (t->ncols == 0)
		return tl_error_set(err, TL_ERR_INTERNAL, "split of a table without columns");
	rc = tl_pg__quote_table(&tb, t->schema, t->name, err);
	if (!rc)
		rc = put_col(&col, t, t->part_idx, err);
	if (!rc)
		rc = tl_buf_printf(&sql, err,
				   "SELECT (SELECT %s FROM %s WHERE %s IS NOT NULL ORDER BY %s LIMIT 1), "
				   "(SELECT %s FROM %s WHERE %s IS NOT NULL ORDER BY %s DESC LIMIT 1)",
				   tl_buf_cstr(&col), tl_buf_cstr(&tb), tl_buf_cstr(&col), tl_buf_cstr(&col),
				   tl_buf_cstr(&col), tl_buf_cstr(&tb), tl_buf_cstr(&col), tl_buf_cstr(&col));
	if (!rc)
		rc = query_positions(c, t, tl_buf_cstr(&sql), &p, outs, 2, "cannot read min/max of", err);
	if (!rc) {
		*min_out = outs[0];
		*max_out = outs[1];
	}
	tl_buf_release(&sql);
	tl_buf_release(&tb);
	tl_buf_release(&col);
	return rc;
}

/* Adds v (a non-negative decimal integer text) to *acc modulo 2^64. */
static void add_decimal_mod64(uint64_t *acc, const char *v)
{
	uint64_t x = 0;

	for (; *v >= '0' && *v <= '9'; v++)
		x = x * 10u + (uint64_t)(*v - '0');
	*acc += x;
}

/*
 * Checksum: count(*) and the sum, modulo 2^64, of the first 60 bits of md5 of each row's
 * text (ROW("c1", …)::text over the described columns, in the session's fixed text
 * settings). A sum does not depend on the order rows are visited in, so it compares equal
 * for equal row multisets whatever plan the server picks, and needs no memory per row.
 * Range: partition column in (lo, hi]; both NULL = every row, NULL keys included.
 */
int tl_pg__checksum(tl_conn *c, const tl_table *t, const char *lo, const char *hi, int64_t *rows, uint64_t *sum,
		    tl_error *err)
{
	tl_buf sql = TL_BUF_INIT;
	struct params p;
	PGresult *res = NULL;
	size_t i;
	int nconds = 0, rc;

	*rows = 0;
	*sum = 0;
	memset(&p, 0, sizeof(p));
	tl_buf_init(&sql, 0);
	rc = tl_buf_puts(&sql, "SELECT count(*), coalesce(sum(('x' || substr(md5(ROW(", err);
	for (i = 0; !rc && i < t->ncols; i++) {
		if (i)
			rc = tl_buf_puts(&sql, ", ", err);
		if (!rc)
			rc = put_col(&sql, t, i, err);
	}
	if (!rc)
		rc = tl_buf_puts(&sql, ")::text), 1, 15))::bit(60)::bigint), 0)::text FROM ", err);
	if (!rc)
		rc = tl_pg__quote_table(&sql, t->schema, t->name, err);
	if (!rc && t->ncols > 0)
		rc = put_range(&sql, &p, &nconds, t, lo, hi, 0, err);
	if (rc)
		goto cleanup;
	if (tl_pg__run(c, tl_buf_cstr(&sql), p.n, (const char *const *)p.vals, &res, err)) {
		rc = conn_failed(t, "cannot checksum", err);
		goto cleanup;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		char *raw[2];
		size_t cols[2];
		int k, m = 0;
		for (k = 0; k < p.n && m < 2; k++)
			if (p.raw[k]) {
				raw[m] = (char *)p.raw[k];
				cols[m++] = p.col[k];
			}
		rc = query_failed(c, t, res, cols, raw, (size_t)m, "cannot checksum", err);
		goto cleanup;
	}
	*rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	add_decimal_mod64(sum, PQgetvalue(res, 0, 1));
cleanup:
	PQclear(res);
	params_clear(&p);
	tl_buf_release(&sql);
	return rc;
}
