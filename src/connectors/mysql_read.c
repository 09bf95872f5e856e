/*
 * mysql_read.c - reading rows out of MySQL: the streaming reader (one query per read,
 * mysql_use_result, never the whole table in memory), position values (§2.4) in both
 * directions, split bounds (§3.4) and server-side checksums. Resume values are always
 * validated against the column type and escaped or hex-encoded, never pasted raw. It
 * must not write to the database.
 *
 * Cells are in wire form: the text protocol's bytes, raw bytes for binary columns, and
 * BIT columns selected as CAST(c AS UNSIGNED), i.e. unsigned decimal text.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "connectors/mysql_int.h"

struct tl_reader {
	tl_conn *c;
	const tl_table *t;
	MYSQL_RES *res;
	size_t batch_rows;
	int done;
};

/* ---- position values ------------------------------------------------------------ */

/*
 * How a column is selected: BIT as unsigned decimal; a FLOAT without (M,D) through
 * DOUBLE, because the server prints it with 6 significant digits only (3.4028234e38
 * would come back as 3.40282e38), while a double's text is exact and converts back to
 * the same float. Returns the tail of "CAST(c<tail>", or NULL for the plain column.
 */
static const char *cast_tail(const tl_table *t, size_t col)
{
	if (t->cols[col].kind == TL_COL_BIT)
		return " AS UNSIGNED)";
	if (t->cols[col].kind == TL_COL_FLOAT && strcmp(tl_mysql__col(t, col)->data_type, "float") == 0 &&
	    !strchr(t->cols[col].type, '('))
		return " AS DOUBLE)";
	return NULL;
}

int tl_mysql__select_expr(tl_buf *b, const tl_table *t, size_t col, tl_error *err)
{
	const char *as = cast_tail(t, col);
	int rc = 0;

	if (as)
		rc = tl_buf_puts(b, "CAST(", err);
	if (!rc)
		rc = tl_mysql__qident(b, t->cols[col].name, err);
	if (!rc && as)
		rc = tl_buf_puts(b, as, err);
	return rc;
}

int tl_mysql__pos_text(const tl_table *t, size_t col, const char *cell, size_t len, char **out, tl_error *err)
{
	tl_buf b = TL_BUF_INIT;
	int rc;

	*out = NULL;
	if (!cell)
		return 0;
	if (t->cols[col].kind == TL_COL_BINARY) {
		rc = tl_buf_put_hex(&b, cell, len, err);
		if (rc) {
			tl_buf_release(&b);
			return rc;
		}
		*out = tl_buf_detach(&b);
	} else {
		*out = tl_strndup(cell, len);
	}
	if (!*out)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory rendering a key value");
	return 0;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* Integer text that fits the column's width and sign; the canonical digits go to out. */
static int int_fits(const struct tl_mysql_col *mc, int is_bit, const char *v, tl_buf *out, tl_error *err)
{
	static const struct { const char *dt; long long lo, hi; unsigned long long uhi; } widths[] = {
		{"tinyint", -128LL, 127LL, 255ULL},
		{"smallint", -32768LL, 32767LL, 65535ULL},
		{"mediumint", -8388608LL, 8388607LL, 16777215ULL},
		{"int", -2147483648LL, 2147483647LL, 4294967295ULL},
		{"integer", -2147483648LL, 2147483647LL, 4294967295ULL},
	};
	long long lo = INT64_MIN, hi = INT64_MAX;
	unsigned long long uhi = UINT64_MAX;
	const char *d = v;
	char *end = NULL;
	size_t i;

	for (i = 0; i < sizeof(widths) / sizeof(widths[0]); i++)
		if (strcmp(mc->data_type, widths[i].dt) == 0) {
			lo = widths[i].lo;
			hi = widths[i].hi;
			uhi = widths[i].uhi;
		}
	if (is_bit || mc->is_unsigned) {
		unsigned long long x;
		if (*d == '+')
			d++;
		if (!all_digits(d))
			return -1;
		errno = 0;
		x = strtoull(d, &end, 10);
		if (errno == ERANGE || *end || (!is_bit && x > uhi))
			return -1;
		return tl_buf_printf(out, err, "%llu", x);
	} else {
		long long x;
		if (*d == '+' || *d == '-')
			d++;
		if (!all_digits(d))
			return -1;
		errno = 0;
		x = strtoll(v, &end, 10);
		if (errno == ERANGE || *end || x < lo || x > hi)
			return -1;
		return tl_buf_printf(out, err, "%lld", x);
	}
}

/* [+-]digits[.digits] or [+-].digits */
static int decimal_ok(const char *v)
{
	const char *s = v;
	size_t before = 0, after = 0;

	if (*s == '+' || *s == '-')
		s++;
	while (*s >= '0' && *s <= '9') {
		s++;
		before++;
	}
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9') {
			s++;
			after++;
		}
	}
	return *s == '\0' && (before + after) > 0;
}

static int float_ok(const char *v)
{
	const char *s;
	char *end = NULL;
	double d;
	int digit = 0;

	for (s = v; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digit = 1;
		else if (!strchr("+-.eE", *s))
			return 0; /* no inf, nan, hex floats or spaces */
	}
	if (!digit)
		return 0;
	errno = 0;
	d = strtod(v, &end);
	return *end == '\0' && isfinite(d) && errno != ERANGE;
}

/* date, datetime, timestamp, time, year text: digits and - : . space, at least one digit */
static int temporal_ok(const char *v)
{
	int digit = 0;

	for (; *v; v++) {
		if (*v >= '0' && *v <= '9')
			digit = 1;
		else if (!strchr("-:. ", *v))
			return 0;
	}
	return digit;
}

static int mismatch(const tl_table *t, size_t col, const char *val, tl_error *err)
{
	tl_buf q = TL_BUF_INIT;
	int rc = tl_mysql__qident(&q, t->cols[col].name, err);

	if (!rc)
		rc = tl_error_set(err, TL_ERR_MISMATCH, "resume value '%.100s' does not fit column %s (%s) of %s", val,
				  tl_buf_cstr(&q), tl_mysql__col(t, col)->data_type, tl_mysql__qname(t));
	tl_buf_release(&q);
	return rc;
}

int tl_mysql__literal(tl_conn *c, const tl_table *t, size_t col, const char *val, tl_buf *out, tl_error *err)
{
	const struct tl_mysql_col *mc = tl_mysql__col(t, col);
	tl_buf raw = TL_BUF_INIT;
	int rc = 0;

	if (!val)
		return tl_buf_puts(out, "NULL", err);
	switch (t->cols[col].kind) {
	case TL_COL_INT:
	case TL_COL_UINT:
	case TL_COL_BIT:
	case TL_COL_BOOL:
		rc = int_fits(mc, t->cols[col].kind == TL_COL_BIT, val, out, err);
		if (rc == -1)
			return mismatch(t, col, val, err);
		return rc;
	case TL_COL_DECIMAL:
		if (!decimal_ok(val))
			return mismatch(t, col, val, err);
		return tl_buf_puts(out, val, err);
	case TL_COL_FLOAT:
		if (!float_ok(val))
			return mismatch(t, col, val, err);
		return tl_buf_puts(out, val, err);
	case TL_COL_BINARY:
		rc = tl_hex_decode(val, &raw, err);
		if (rc) {
			tl_buf_release(&raw);
			return mismatch(t, col, val, err);
		}
		rc = tl_buf_puts(out, "X'", err);
		if (!rc)
			rc = tl_buf_put_hex(out, raw.data, raw.len, err);
		if (!rc)
			rc = tl_buf_putc(out, '\'', err);
		tl_buf_release(&raw);
		return rc;
	case TL_COL_DATE:
		if (!temporal_ok(val))
			return mismatch(t, col, val, err);
		if (strcmp(mc->data_type, "time") == 0) {
			rc = tl_buf_puts(out, "CAST(", err);
			if (!rc)
				rc = tl_mysql__qstring(c, out, val, strlen(val), err);
			if (!rc)
				rc = tl_buf_printf(out, err, " AS TIME(%d))", mc->frac);
			return rc;
		}
		return tl_mysql__qstring(c, out, val, strlen(val), err);
	default:
		return tl_mysql__qstring(c, out, val, strlen(val), err);
	}
}

/* ---- streaming reader ------------------------------------------------------------- */

static int put_cond_sep(tl_buf *q, int *nconds, tl_error *err)
{
	return tl_buf_puts(q, (*nconds)++ ? " AND " : " WHERE ", err);
}

static int build_select(tl_conn *c, const tl_table *t, const tl_read_spec *spec, tl_buf *q, tl_error *err)
{
	const char *qn = tl_mysql__qname(t);
	size_t i, p = t->part_idx;
	int rc, nconds = 0;

	rc = tl_buf_puts(q, "SELECT ", err);
	for (i = 0; !rc && i < t->ncols; i++) {
		if (i)
			rc = tl_buf_puts(q, ", ", err);
		if (!rc)
			rc = tl_mysql__select_expr(q, t, i, err);
	}
	if (!rc)
		rc = tl_buf_printf(q, err, " FROM %s", qn);
	if (!rc && spec->where && *spec->where) {
		rc = put_cond_sep(q, &nconds, err);
		if (!rc)
			rc = tl_buf_printf(q, err, "(%s)", spec->where);
	}
	if (rc)
		return rc;
	switch (spec->mode) {
	case TL_READ_SCAN:
		return 0;
	case TL_READ_KEYED:
		if (t->nkeys == 0)
			return tl_error_set(err, TL_ERR_INTERNAL, "keyed read of %s, which has no key", qn);
		if (spec->after && spec->after->n != t->nkeys)
			return tl_error_set(err, TL_ERR_INTERNAL, "resume key of %s has %zu values, the key has %zu columns",
					    qn, spec->after->n, t->nkeys);
		if (spec->after) {
			if (t->nkeys > 1) {
				/* k1 >= v1 lets the optimizer use a range; the row comparison decides */
				rc = put_cond_sep(q, &nconds, err);
				if (!rc)
					rc = tl_mysql__qident(q, t->cols[t->key_idx[0]].name, err);
				if (!rc)
					rc = tl_buf_puts(q, " >= ", err);
				if (!rc)
					rc = tl_mysql__literal(c, t, t->key_idx[0], spec->after->vals[0], q, err);
			}
			if (!rc)
				rc = put_cond_sep(q, &nconds, err);
			if (!rc && t->nkeys > 1)
				rc = tl_buf_putc(q, '(', err);
			for (i = 0; !rc && i < t->nkeys; i++) {
				if (i)
					rc = tl_buf_puts(q, ", ", err);
				if (!rc)
					rc = tl_mysql__qident(q, t->cols[t->key_idx[i]].name, err);
			}
			if (!rc)
				rc = tl_buf_puts(q, t->nkeys > 1 ? ") > (" : " > ", err);
			for (i = 0; !rc && i < t->nkeys; i++) {
				if (i)
					rc = tl_buf_puts(q, ", ", err);
				if (!rc)
					rc = tl_mysql__literal(c, t, t->key_idx[i], spec->after->vals[i], q, err);
			}
			if (!rc && t->nkeys > 1)
				rc = tl_buf_putc(q, ')', err);
		}
		for (i = 0; !rc && i < t->nkeys; i++) {
			if (!t->cols[t->key_idx[i]].nullable)
				continue;
			rc = put_cond_sep(q, &nconds, err);
			if (!rc)
				rc = tl_mysql__qident(q, t->cols[t->key_idx[i]].name, err);
			if (!rc)
				rc = tl_buf_puts(q, " IS NOT NULL", err);
		}
		if (!rc)
			rc = tl_buf_puts(q, " ORDER BY ", err);
		for (i = 0; !rc && i < t->nkeys; i++) {
			rc = tl_buf_printf(q, err, "%s%s.", i ? ", " : "", qn);
			if (!rc)
				rc = tl_mysql__qident(q, t->cols[t->key_idx[i]].name, err);
			if (!rc)
				rc = tl_buf_puts(q, " ASC", err);
		}
		return rc;
	case TL_READ_KEY_NULLS:
		if (t->nkeys == 0)
			return tl_error_set(err, TL_ERR_INTERNAL, "null-key read of %s, which has no key", qn);
		rc = put_cond_sep(q, &nconds, err);
		if (!rc)
			rc = tl_buf_putc(q, '(', err);
		for (i = 0; !rc && i < t->nkeys; i++) {
			if (i)
				rc = tl_buf_puts(q, " OR ", err);
			if (!rc)
				rc = tl_mysql__qident(q, t->cols[t->key_idx[i]].name, err);
			if (!rc)
				rc = tl_buf_puts(q, " IS NULL", err);
		}
		if (!rc)
			rc = tl_buf_putc(q, ')', err);
		return rc;
	case TL_READ_RANGE:
		if (spec->lo) {
			rc = put_cond_sep(q, &nconds, err);
			if (!rc)
				rc = tl_mysql__qident(q, t->cols[p].name, err);
			if (!rc)
				rc = tl_buf_puts(q, " > ", err);
			if (!rc)
				rc = tl_mysql__literal(c, t, p, spec->lo, q, err);
		}
		if (!rc && spec->hi) {
			rc = put_cond_sep(q, &nconds, err);
			if (!rc)
				rc = tl_mysql__qident(q, t->cols[p].name, err);
			if (!rc)
				rc = tl_buf_puts(q, " <= ", err);
			if (!rc)
				rc = tl_mysql__literal(c, t, p, spec->hi, q, err);
		}
		if (!rc && !spec->lo && !spec->hi) {
			rc = put_cond_sep(q, &nconds, err);
			if (!rc)
				rc = tl_mysql__qident(q, t->cols[p].name, err);
			if (!rc)
				rc = tl_buf_puts(q, " IS NOT NULL", err);
		}
		if (!rc)
			rc = tl_buf_printf(q, err, " ORDER BY %s.", qn);
		if (!rc)
			rc = tl_mysql__qident(q, t->cols[p].name, err);
		if (!rc)
			rc = tl_buf_puts(q, " ASC", err);
		return rc;
	case TL_READ_PART_NULLS:
		rc = put_cond_sep(q, &nconds, err);
		if (!rc)
			rc = tl_mysql__qident(q, t->cols[p].name, err);
		if (!rc)
			rc = tl_buf_puts(q, " IS NULL", err);
		return rc;
	}
	return tl_error_set(err, TL_ERR_INTERNAL, "unknown read mode %d", (int)spec->mode);
}

int tl_mysql__open_reader(tl_conn *c, const tl_table *t, const tl_read_spec *spec, tl_reader **out, tl_error *err)
{
	tl_buf q = TL_BUF_INIT;
	tl_reader *r = NULL;
	int rc;

	*out = NULL;
	rc = tl_mysql__ready(c, err);
	if (rc)
		return rc;
	rc = build_select(c, t, spec, &q, err);
	if (rc)
		goto cleanup;
	r = calloc(1, sizeof(*r));
	if (!r) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory opening a mysql reader");
		goto cleanup;
	}
	r->c = c;
	r->t = t;
	r->batch_rows = spec->batch_rows;
	if (mysql_real_query(c->my, q.data, (unsigned long)q.len) != 0) {
		rc = tl_mysql__fail(c, err, "cannot read %s", tl_mysql__qname(t));
		goto cleanup;
	}
	r->res = mysql_use_result(c->my);
	if (!r->res) {
		rc = tl_mysql__fail(c, err, "cannot read %s", tl_mysql__qname(t));
		goto cleanup;
	}
	c->busy = 1;
	*out = r;
	r = NULL;
cleanup:
	free(r);
	tl_buf_release(&q);
	return rc;
}

int tl_mysql__read_batch(tl_reader *r, tl_batch *b, tl_error *err)
{
	const tl_table *t = r->t;
	size_t n = 0, i;
	MYSQL_ROW row;
	unsigned long *lens;
	int rc;

	if (b->ncols != t->ncols) {
		if (b->ncells != 0)
			return tl_error_set(err, TL_ERR_INTERNAL, "batch has %zu columns, %s has %zu", b->ncols,
					    tl_mysql__qname(t), t->ncols);
		tl_batch_set_ncols(b, t->ncols);
	}
	if (r->done)
		return 0;
	while ((r->batch_rows == 0 || n < r->batch_rows) && !tl_batch_full(b)) {
		row = mysql_fetch_row(r->res);
		if (!row) {
			r->done = 1; /* an error ends the result too: nothing left to stop on close */
			if (mysql_errno(r->c->my))
				return tl_mysql__fail(r->c, err, "cannot read %s", tl_mysql__qname(t));
			break;
		}
		lens = mysql_fetch_lengths(r->res);
		if (!lens || mysql_num_fields(r->res) != t->ncols)
			return tl_error_set(err, TL_ERR_INTERNAL, "unexpected row shape reading %s", tl_mysql__qname(t));
		for (i = 0; i < t->ncols; i++) {
			rc = tl_batch_push(b, row[i], row[i] ? lens[i] : 0, row[i] == NULL, err);
			if (rc) {
				tl_batch_abort_row(b);
				return tl_error_prefix(err, "reading %s", tl_mysql__qname(t));
			}
		}
		rc = tl_batch_end_row(b, err);
		if (rc)
			return rc;
		n++;
	}
	return 0;
}

void tl_mysql__close_reader(tl_reader *r)
{
	if (!r)
		return;
	if (r->res) {
		/* Stop an unfinished stream on the server so freeing it need not read the rest. */
		if (!r->done)
			tl_mysql__kill_query(r->c);
		mysql_free_result(r->res);
	}
	r->c->busy = 0;
	free(r);
}

int tl_mysql__row_key(const tl_table *t, const tl_batch *b, size_t row, const size_t *idx, size_t n,
		      tl_keyvals *out, tl_error *err)
{
	const char **cols = NULL;
	char **vals = NULL;
	size_t i, len;
	int rc = 0;

	if (row >= b->nrows)
		return tl_error_set(err, TL_ERR_INTERNAL, "row %zu out of range (batch has %zu)", row, b->nrows);
	cols = calloc(n ? n : 1, sizeof(*cols));
	vals = calloc(n ? n : 1, sizeof(*vals));
	if (!cols || !vals) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory rendering a key");
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		const char *cell;
		if (idx[i] >= t->ncols) {
			rc = tl_error_set(err, TL_ERR_INTERNAL, "key column %zu out of range", idx[i]);
			goto cleanup;
		}
		cols[i] = t->cols[idx[i]].name;
		cell = tl_batch_cell(b, row, idx[i], &len);
		rc = tl_mysql__pos_text(t, idx[i], cell, len, &vals[i], err);
		if (rc)
			goto cleanup;
	}
	rc = tl_keyvals_set(out, n, cols, (const char *const *)vals, err);
cleanup:
	if (vals)
		for (i = 0; i < n; i++)
			free(vals[i]);
	free(vals);
	free(cols);
	return rc;
}

/* ---- split bounds ------------------------------------------------------------------ */

struct pos_ctx {
	const tl_table *t;
	size_t col;
	char *v[2];
	int got;
};

static int pos_row(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	struct pos_ctx *p = ctx;
	unsigned i;
	int rc;

	for (i = 0; i < nf && i < 2; i++) {
		free(p->v[i]);
		p->v[i] = NULL;
		rc = tl_mysql__pos_text(p->t, p->col, v[i], v[i] ? lens[i] : 0, &p->v[i], err);
		if (rc)
			return rc;
	}
	p->got = 1;
	return 0;
}

/* Appends MIN/MAX(inner) in wire form (as tl_mysql__select_expr renders the column). */
static int agg_expr(tl_buf *q, const tl_table *t, size_t col, const char *fn, const char *inner, tl_error *err)
{
	const char *as = cast_tail(t, col);

	return tl_buf_printf(q, err, "%s%s(%s)%s", as ? "CAST(" : "", fn, inner, as ? as : "");
}

/* Readies the connection and starts "SELECT " with col = the quoted partition column. */
static int bound_query_start(tl_conn *c, const tl_table *t, tl_buf *col, tl_buf *q, tl_error *err)
{
	int rc = tl_mysql__ready(c, err);

	if (!rc)
		rc = tl_mysql__qident(col, t->cols[t->part_idx].name, err);
	if (!rc)
		rc = tl_buf_puts(q, "SELECT ", err);
	return rc;
}

/* Runs a one-row query of partition-column values; hands value i to out[i] (i < n <= 2). */
static int bound_query_run(tl_conn *c, const tl_table *t, const tl_buf *q, const char *what, char **out, int n,
			   tl_error *err)
{
	struct pos_ctx pc = {t, t->part_idx, {NULL, NULL}, 0};
	int i, rc = tl_mysql__query_text(c, q->data, pos_row, &pc, err);

	if (rc)
		tl_error_prefix(err, "%s %s", what, tl_mysql__qname(t));
	for (i = 0; !rc && i < n; i++) {
		out[i] = pc.v[i];
		pc.v[i] = NULL;
	}
	free(pc.v[0]);
	free(pc.v[1]);
	return rc;
}

int tl_mysql__next_bound(tl_conn *c, const tl_table *t, const char *after, size_t step, char **hi_out, tl_error *err)
{
	tl_buf q = TL_BUF_INIT, col = TL_BUF_INIT;
	int rc;

	*hi_out = NULL;
	rc = bound_query_start(c, t, &col, &q, err);
	if (!rc)
		rc = agg_expr(&q, t, t->part_idx, "MAX", "tl_x.tl_p", err);
	if (!rc)
		rc = tl_buf_printf(&q, err, " FROM (SELECT %s AS tl_p FROM %s WHERE %s IS NOT NULL", col.data,
				   tl_mysql__qname(t), col.data);
	if (!rc && after) {
		rc = tl_buf_printf(&q, err, " AND %s > ", col.data);
		if (!rc)
			rc = tl_mysql__literal(c, t, t->part_idx, after, &q, err);
	}
	if (!rc)
		rc = tl_buf_printf(&q, err, " ORDER BY %s ASC LIMIT %zu) tl_x", col.data, step ? step : 1);
	if (!rc)
		rc = bound_query_run(c, t, &q, "cannot split", hi_out, 1, err);
	tl_buf_release(&q);
	tl_buf_release(&col);
	return rc;
}

int tl_mysql__part_minmax(tl_conn *c, const tl_table *t, char **min_out, char **max_out, tl_error *err)
{
	tl_buf q = TL_BUF_INIT, col = TL_BUF_INIT;
	char *v[2] = {NULL, NULL};
	int rc;

	*min_out = *max_out = NULL;
	rc = bound_query_start(c, t, &col, &q, err);
	if (!rc)
		rc = agg_expr(&q, t, t->part_idx, "MIN", col.data, err);
	if (!rc)
		rc = tl_buf_puts(&q, ", ", err);
	if (!rc)
		rc = agg_expr(&q, t, t->part_idx, "MAX", col.data, err);
	if (!rc)
		rc = tl_buf_printf(&q, err, " FROM %s", tl_mysql__qname(t));
	if (!rc)
		rc = bound_query_run(c, t, &q, "cannot read the bounds of", v, 2, err);
	*min_out = v[0];
	*max_out = v[1];
	tl_buf_release(&q);
	tl_buf_release(&col);
	return rc;
}

/* ---- checksum ------------------------------------------------------------------------ */

struct sum_ctx {
	int64_t rows;
	uint64_t sum;
};

static int sum_row(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	struct sum_ctx *s = ctx;
	char *end = NULL;

	if (nf < 2)
		return tl_error_set(err, TL_ERR_INTERNAL, "unexpected checksum result");
	errno = 0;
	s->rows = v[0] ? strtoll(v[0], &end, 10) : 0;
	if (v[0] && (*end || errno))
		return tl_error_set(err, TL_ERR_DB, "unexpected row count '%s' from mysql", v[0]);
	errno = 0;
	s->sum = v[1] ? strtoull(v[1], &end, 10) : 0;
	if (v[1] && (*end || errno))
		return tl_error_set(err, TL_ERR_DB, "unexpected checksum '%s' from mysql", v[1]);
	return 0;
}

/*
 * Content checksum of the rows whose partition column is in (lo, hi] (both NULL: every
 * row, NULLs included). Each row is rendered on the server as the concatenation of
 * "<length>:<bytes>" (or "n" for NULL) per column, where text is converted to utf8mb4
 * (so a gb2312 and a utf8mb4 copy agree), binary is hex, BIT is unsigned decimal and
 * everything else is the server's text; the checksum is SUM(CRC32(row)) mod 2^64.
 * It does not depend on row order, so it compares row sets, not physical order.
 */
int tl_mysql__checksum(tl_conn *c, const tl_table *t, const char *lo, const char *hi, int64_t *rows,
		       uint64_t *sum, tl_error *err)
{
	struct sum_ctx s = {0, 0};
	tl_buf q = TL_BUF_INIT, e = TL_BUF_INIT;
	size_t i, p = t->part_idx;
	int rc, nconds = 0;

	*rows = 0;
	*sum = 0;
	rc = tl_mysql__ready(c, err);
	if (rc)
		return rc;
	rc = tl_buf_puts(&q, "SELECT COUNT(*), CAST(COALESCE(SUM(CRC32(CONCAT(''", err);
	for (i = 0; !rc && i < t->ncols; i++) {
		tl_buf_reset(&e);
		switch (t->cols[i].kind) {
		case TL_COL_TEXT:
		case TL_COL_JSON:
			rc = tl_buf_puts(&e, "CAST(CONVERT(", err);
			if (!rc)
				rc = tl_mysql__qident(&e, t->cols[i].name, err);
			if (!rc)
				rc = tl_buf_puts(&e, " USING utf8mb4) AS BINARY)", err);
			break;
		case TL_COL_BINARY:
			rc = tl_buf_puts(&e, "HEX(", err);
			if (!rc)
				rc = tl_mysql__qident(&e, t->cols[i].name, err);
			if (!rc)
				rc = tl_buf_puts(&e, ")", err);
			break;
		default:
			rc = tl_buf_puts(&e, "CAST(", err);
			if (!rc)
				rc = tl_mysql__select_expr(&e, t, i, err);
			if (!rc)
				rc = tl_buf_puts(&e, " AS BINARY)", err);
			break;
		}
		if (!rc)
			rc = tl_buf_printf(&q, err, ", IFNULL(CONCAT(LENGTH(%s), ':', %s), 'n')", e.data, e.data);
	}
	if (!rc)
		rc = tl_buf_printf(&q, err, "))), 0) %% 18446744073709551616 AS UNSIGNED) FROM %s", tl_mysql__qname(t));
	if (!rc && lo) {
		rc = put_cond_sep(&q, &nconds, err);
		if (!rc)
			rc = tl_mysql__qident(&q, t->cols[p].name, err);
		if (!rc)
			rc = tl_buf_puts(&q, " > ", err);
		if (!rc)
			rc = tl_mysql__literal(c, t, p, lo, &q, err);
	}
	if (!rc && hi) {
		rc = put_cond_sep(&q, &nconds, err);
		if (!rc)
			rc = tl_mysql__qident(&q, t->cols[p].name, err);
		if (!rc)
			rc = tl_buf_puts(&q, " <= ", err);
		if (!rc)
			rc = tl_mysql__literal(c, t, p, hi, &q, err);
	}
	if (rc)
		goto cleanup;
	rc = tl_mysql__query_text(c, q.data, sum_row, &s, err);
	if (rc) {
		tl_error_prefix(err, "cannot checksum %s", tl_mysql__qname(t));
		goto cleanup;
	}
	*rows = s.rows;
	*sum = s.sum;
cleanup:
	tl_buf_release(&q);
	tl_buf_release(&e);
	return rc;
}
