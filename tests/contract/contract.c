/*
 * contract.c - the driver contract suite: every slot of struct tl_driver_ops
 * (include/tideline/driver.h) tested through the tl_driver_<verb>() wrappers against a
 * source and a target server of one kind, whichever kind the fixture linked with this
 * file provides (contract.h, tests/contract/fixture_<kind>.c).
 *
 * Nothing here names a database. What runs is decided by the driver table: its caps
 * (TL_CAP_SQL: columns, composite and nullable keys, NULL passes, split reads and
 * transactions; TL_CAP_DOCUMENTS: whole documents ordered by _id), its optional slots,
 * split_kinds and quote. Where a kind lacks what a case tests, the case checks that the
 * wrapper refuses with TL_ERR_UNSUPPORTED (or that the read mode is refused) and reports
 * itself "n/a" with the reason; where the fixture cannot build a table the case needs,
 * the fixture's reason is reported the same way. Expected key renderings follow
 * docs/ape-dts-resume.md §2.4 (relational kinds) and §2.5 (documents).
 *
 * Each case makes its own tables (schemas tl_ct and tl_ct2, the fixture's hostile
 * schema, tl_ct_ape for ape-dts' store, tl_ct_sch for definitions) and leaves them
 * behind for inspection; the data it checks is read back through the fixture, never
 * only through the driver under test. Memory: every read goes through a bounded batch.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "contract/contract.h"
#include "tl_test.h"

#define APP_NAME "tideline-contract" /* the suite's connections (tl_endpoint.app_name) */
#define S1 "tl_ct"
#define S2 "tl_ct2"
#define MAXKEYS 8

/* ---- rows ------------------------------------------------------------------------------- */

int ct_rows_add(ct_rows *r, const char *const *cells, tl_error *err)
{
	size_t i, base;

	if (r->nrows == r->cap) {
		size_t ncap = r->cap ? 2 * r->cap : 64;
		char **nc = realloc(r->cells, ncap * (r->ncols ? r->ncols : 1) * sizeof(*nc));
		if (!nc)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		r->cells = nc;
		r->cap = ncap;
	}
	base = r->nrows * r->ncols;
	for (i = 0; i < r->ncols; i++) {
		r->cells[base + i] = NULL;
		if (cells[i] && !(r->cells[base + i] = strdup(cells[i]))) {
			while (i-- > 0)
				free(r->cells[base + i]);
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		}
	}
	r->nrows++;
	return 0;
}

void ct_rows_clear(ct_rows *r)
{
	size_t i;

	for (i = 0; r->cells && i < r->nrows * r->ncols; i++)
		free(r->cells[i]);
	free(r->cells);
	r->cells = NULL;
	r->nrows = r->cap = 0;
}

/* Appends a row given as a printf format per cell: NULL entries stay NULL. */
static int rows_addv(ct_rows *r, tl_error *err, ...)
{
	const char *cells[CT_MAX_COLS];
	va_list ap;
	size_t i;

	va_start(ap, err);
	for (i = 0; i < r->ncols; i++)
		cells[i] = va_arg(ap, const char *);
	va_end(ap);
	return ct_rows_add(r, cells, err);
}

/* A row as one string: cells joined by \x1f, NULL as \x1e (for multiset comparisons). */
static char *row_text(const ct_rows *r, size_t row)
{
	tl_buf b = TL_BUF_INIT;
	size_t k;

	for (k = 0; k < r->ncols; k++) {
		const char *v = r->cells[row * r->ncols + k];
		if (tl_buf_printf(&b, NULL, "%s%s", k ? "\x1f" : "", v ? v : "\x1e")) {
			tl_buf_release(&b);
			return NULL;
		}
	}
	return b.data ? tl_buf_detach(&b) : strdup("");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **sorted_texts(const ct_rows *r)
{
	char **v = calloc(r->nrows + 1, sizeof(*v));
	size_t i;

	for (i = 0; v && i < r->nrows; i++)
		v[i] = row_text(r, i);
	if (v)
		qsort(v, r->nrows, sizeof(*v), cmp_str);
	return v;
}

static void printable(const char *row, char *out, size_t n)
{
	size_t i;

	for (i = 0; row && row[i] && i + 1 < n; i++)
		out[i] = row[i] == '\x1f' ? '|' : row[i] == '\x1e' ? '~' : row[i];
	out[i] = '\0';
}

/* Whether two row sets are equal as multisets; the first difference is reported at file:line. */
static int same_rows(const ct_rows *want, const ct_rows *got, const char *what, const char *file, int line)
{
	char **a = sorted_texts(want), **b = sorted_texts(got), text[240];
	size_t i = 0, j = 0;
	int same = a && b;

	while (same && (i < want->nrows || j < got->nrows)) {
		int c = i == want->nrows ? 1 : j == got->nrows ? -1 : strcmp(a[i] ? a[i] : "", b[j] ? b[j] : "");
		if (c == 0) {
			i++;
			j++;
			continue;
		}
		printable(c < 0 ? a[i] : b[j], text, sizeof(text));
		tl_test_fail(file, line, "%s: %zu rows expected, %zu found; row (%s) %s", what, want->nrows, got->nrows,
			     text, c < 0 ? "missing" : "unexpected");
		same = 0;
	}
	for (i = 0; a && i < want->nrows; i++)
		free(a[i]);
	for (j = 0; b && j < got->nrows; j++)
		free(b[j]);
	free(a);
	free(b);
	return same;
}

/* ---- test tables ------------------------------------------------------------------------ */

/* The next token of a spec: a name, or one of ",;()". */
static const char *token(const char *p, char *out, size_t n)
{
	size_t k = 0;

	while (*p == ' ')
		p++;
	if (*p && strchr(",;()", *p)) {
		out[0] = *p;
		out[1] = '\0';
		return p + 1;
	}
	while (*p && !strchr(" ,;()", *p) && k + 1 < n)
		out[k++] = *p++;
	out[k] = '\0';
	return p;
}

static size_t col_of(const ct_table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return i;
	return (size_t)-1;
}

/* "( a, b )" into k; p points at "(". */
static const char *key_cols(const ct_table *t, const char *p, ct_key *k, int *ok)
{
	char w[64];

	p = token(p, w, sizeof(w));
	*ok = strcmp(w, "(") == 0;
	k->n = 0;
	while (*ok) {
		size_t c;
		p = token(p, w, sizeof(w));
		if ((c = col_of(t, w)) == (size_t)-1 || k->n == CT_MAX_COLS) {
			*ok = 0;
			break;
		}
		k->col[k->n++] = c;
		p = token(p, w, sizeof(w));
		if (strcmp(w, ")") == 0)
			break;
		*ok = strcmp(w, ",") == 0;
	}
	return p;
}

/*
 * A test table from a spec: "NAME TYPE [key] [null], ...; primary (a, b); unique NAME (a)"
 * with TYPE int, text or bin; columns marked key form the primary key in column order.
 * A bad spec is a mistake in this file: the test fails.
 */
static int spec(ct_table *t, const char *schema, const char *name, const char *s)
{
	char w[64];
	const char *p = s;
	int ok = 1;

	memset(t, 0, sizeof(*t));
	t->schema = schema;
	t->name = name;
	while (ok) {
		ct_col *c = &t->cols[t->ncols];
		if (t->ncols == CT_MAX_COLS)
			ok = 0;
		p = token(p, w, sizeof(w));
		if (!ok || !*w)
			break;
		snprintf(c->name, sizeof(c->name), "%s", w);
		p = token(p, w, sizeof(w));
		if (strcmp(w, "int") == 0)
			c->type = CT_INT;
		else if (strcmp(w, "text") == 0)
			c->type = CT_TEXT;
		else if (strcmp(w, "bin") == 0)
			c->type = CT_BIN;
		else
			ok = 0;
		for (p = token(p, w, sizeof(w)); ok && *w && strcmp(w, ",") && strcmp(w, ";"); p = token(p, w, sizeof(w))) {
			if (strcmp(w, "key") == 0)
				t->pk.col[t->pk.n++] = t->ncols;
			else if (strcmp(w, "null") == 0)
				c->nullable = 1;
			else
				ok = 0;
		}
		t->ncols++;
		if (!*w || strcmp(w, ";") == 0)
			break;
	}
	while (ok && *p) {
		p = token(p, w, sizeof(w));
		if (!*w)
			break;
		if (strcmp(w, "primary") == 0) {
			p = key_cols(t, p, &t->pk, &ok);
		} else if (strcmp(w, "unique") == 0 && t->nuniq < CT_MAX_UNIQUE) {
			ct_key *k = &t->uniq[t->nuniq++];
			p = token(p, k->name, sizeof(k->name));
			p = key_cols(t, p, k, &ok);
		} else {
			ok = 0;
		}
		if (ok) {
			p = token(p, w, sizeof(w));
			ok = !*w || strcmp(w, ";") == 0;
		}
	}
	if (!ok || t->ncols == 0) {
		tl_test_fail(__FILE__, __LINE__, "bad test table spec: %s", s);
		return -1;
	}
	return 0;
}

/* ---- the suite's context ---------------------------------------------------------------- */

/* The fixture is opened once per process, at the first case that runs, and closed at exit. */
static void *the_fx;

static void close_fixture(void)
{
	ct_fixture.close(the_fx);
	the_fx = NULL;
}

struct ct {
	void *fx;
	const struct ct_fixture *f;
	tl_driver d;
	const struct tl_driver_ops *ops;
	tl_conn *s, *t; /* source and target, connected through the wrapper */
	int sql, docs;  /* TL_CAP_SQL, TL_CAP_DOCUMENTS */
	int ran;        /* parts of the case that ran (the rest was n/a) */
	tl_error err;
	/* the case's own test table (tab_spec, tab_make), released by end() */
	ct_table st;    /* its neutral form */
	ct_rows rows;   /* the rows it is made with */
	tl_table *tab;  /* as the driver describes it on the source */
};

/* Stops the case (goto done) when a call fails, with the call and the error's message. */
#define CT_OK(c, call)                                                                   \
	do {                                                                             \
		int _rc = (call);                                                        \
		if (_rc != 0) {                                                          \
			tl_test_fail(__FILE__, __LINE__, "%s failed (%s): %s", #call,     \
				     tl_code_name(_rc), (c)->err.message);              \
			goto done;                                                       \
		}                                                                        \
	} while (0)

/* Stops the case when cond is false. */
#define CT_REQUIRE(cond)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			tl_test_fail(__FILE__, __LINE__, "required: %s", #cond);         \
			goto done;                                                       \
		}                                                                        \
	} while (0)

static int connect_side(struct ct *c, enum ct_side side, tl_conn **out)
{
	tl_endpoint ep = {.db_type = c->f->kind, .url = c->f->url(c->fx, side), .username = NULL, .password = NULL,
			  .app_name = APP_NAME};

	if (tl_driver_connect(&c->d, &ep, out, &c->err)) {
		tl_test_fail(__FILE__, __LINE__, "cannot connect to the %s server: %s", side ? "target" : "source",
			     c->err.message);
		return -1;
	}
	return 0;
}

/* Opens the fixture (once), binds the driver and connects to both servers. 0, or -1: return. */
static int begin(struct ct *c)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->f = &ct_fixture;
	if (!the_fx) {
		rc = c->f->open(&the_fx, &c->err);
		if (rc > 0)
			return -1; /* skipped (or failed under CI) by tl_test_require_env */
		if (rc < 0) {
			tl_test_fail(__FILE__, __LINE__, "fixture for %s: %s", c->f->kind, c->err.message);
			the_fx = NULL;
			return -1;
		}
		atexit(close_fixture);
	}
	c->fx = the_fx;
	if (tl_driver_bind(&c->d, c->f->registry, c->f->kind, NULL, NULL, &c->err)) {
		tl_test_fail(__FILE__, __LINE__, "no driver for %s: %s", c->f->kind, c->err.message);
		return -1;
	}
	c->ops = c->d.ops;
	c->sql = (c->ops->caps & TL_CAP_SQL) != 0;
	c->docs = (c->ops->caps & TL_CAP_DOCUMENTS) != 0;
	if (connect_side(c, CT_SRC, &c->s) || connect_side(c, CT_DST, &c->t)) {
		tl_driver_disconnect(&c->d, c->s);
		c->s = NULL;
		return -1;
	}
	return 0;
}

static void end(struct ct *c)
{
	tl_driver_free_table(&c->d, c->tab);
	c->tab = NULL;
	ct_rows_clear(&c->rows);
	tl_driver_disconnect(&c->d, c->s);
	tl_driver_disconnect(&c->d, c->t);
	c->s = c->t = NULL;
}

/*
 * Reports the whole case not applicable when the kind lacks what it tests. `refused` is
 * whether the wrapper (or the driver) refused the call with TL_ERR_UNSUPPORTED, as it
 * must for an absent slot.
 */
static void not_applicable(int refused, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void not_applicable(int refused, const char *fmt, ...)
{
	char why[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!refused)
		tl_test_fail(__FILE__, __LINE__, "%s, but the call was not refused with TL_ERR_UNSUPPORTED", why);
	tl_test_na("%s", why);
}

/*
 * Creates table t on a side and inserts n rows. 0: done; 1: the fixture cannot build it
 * (a note is printed; the caller leaves that part out and ends n/a if nothing ran);
 * -1: failed (the test is failed).
 */
static int make(struct ct *c, enum ct_side side, const ct_table *t, const ct_rows *rows)
{
	int rc = c->f->create(c->fx, side, t, &c->err);

	if (rc == TL_ERR_UNSUPPORTED) {
		fprintf(stderr, "    n/a here: table %s.%s: %s\n", t->schema, t->name, c->err.message);
		return 1;
	}
	if (!rc && rows && rows->nrows)
		rc = c->f->insert(c->fx, side, t, (const char *const *)rows->cells, rows->nrows, &c->err);
	if (rc) {
		tl_test_fail(__FILE__, __LINE__, "fixture: cannot make %s.%s on the %s: %s", t->schema, t->name,
			     side ? "target" : "source", c->err.message);
		return -1;
	}
	return 0;
}

/* Ends a case made of parts: n/a when no part could run (each part printed why). */
static void parts_done(struct ct *c, const char *what)
{
	if (!c->ran && !tl_test_failed())
		tl_test_na("the fixture of %s cannot build the tables of %s", c->f->kind, what);
}

static tl_table *describe(struct ct *c, tl_conn *conn, const char *schema, const char *name)
{
	tl_table *t = NULL;

	if (tl_driver_describe(&c->d, conn, schema, name, &t, &c->err))
		tl_test_fail(__FILE__, __LINE__, "describe %s.%s: %s", schema, name, c->err.message);
	return t;
}

/* The case's table c->st: S1.name from spec s, its rows c->rows (none yet). 0 or -1 (goto done). */
static int tab_spec(struct ct *c, const char *name, const char *s)
{
	if (spec(&c->st, S1, name, s))
		return -1;
	c->rows.ncols = c->st.ncols;
	return 0;
}

/* Where tab_make makes the case's table besides the source (which holds c->rows). */
enum tab_where {
	TAB_SRC = 0,   /* nowhere else */
	TAB_DST_EMPTY, /* on the target too, empty */
	TAB_DST_SAME   /* on the target too, with the same rows */
};

/*
 * Makes the case's table c->st (tab_spec) with c->rows on the source (and on the target
 * as `where` says) and describes it on the source into c->tab. 0, or -1: the case stops
 * (goto done): it failed, or the fixture cannot build the table on the source (make
 * printed why; given `why`, the case is n/a: "the fixture of KIND cannot build WHY").
 */
static int tab_make(struct ct *c, enum tab_where where, const char *why)
{
	int r = make(c, CT_SRC, &c->st, &c->rows);

	if (r > 0 && why)
		tl_test_na("the fixture of %s cannot build %s", c->f->kind, why);
	if (r || (where != TAB_SRC && make(c, CT_DST, &c->st, where == TAB_DST_SAME ? &c->rows : NULL)))
		return -1;
	if (!(c->tab = describe(c, c->s, c->st.schema, c->st.name)))
		return -1; /* describe failed the test */
	return 0;
}

/* The fixture's rows of t on a side compared with want. */
static void expect_rows(struct ct *c, enum ct_side side, const ct_table *t, const ct_rows *want, const char *file,
			int line)
{
	ct_rows got = {t->ncols, 0, 0, NULL};
	char what[300];

	snprintf(what, sizeof(what), "%s.%s on the %s", t->schema, t->name, side ? "target" : "source");
	if (c->f->fetch(c->fx, side, t, &got, &c->err))
		tl_test_fail(file, line, "fixture: cannot read %s: %s", what, c->err.message);
	else
		same_rows(want, &got, what, file, line);
	ct_rows_clear(&got);
}
#define EXPECT_ROWS(c, side, t, want) expect_rows(c, side, t, want, __FILE__, __LINE__)

static int64_t count(struct ct *c, tl_conn *conn, const tl_table *t)
{
	int64_t n = -1;

	if (tl_driver_count_rows(&c->d, conn, t, &n, &c->err))
		tl_test_fail(__FILE__, __LINE__, "count_rows %s.%s: %s", t->schema, t->name, c->err.message);
	return n;
}

/* ---- position forms (docs/ape-dts-resume.md §2.4, §2.5) ---------------------------------- */

static int base64(const char *hex, tl_buf *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	tl_buf raw = TL_BUF_INIT;
	size_t i;
	int rc = tl_hex_decode(hex, &raw, NULL);

	for (i = 0; !rc && i < raw.len; i += 3) {
		unsigned char b0 = (unsigned char)raw.data[i];
		unsigned char b1 = i + 1 < raw.len ? (unsigned char)raw.data[i + 1] : 0;
		unsigned char b2 = i + 2 < raw.len ? (unsigned char)raw.data[i + 2] : 0;
		char q[5] = {tab[b0 >> 2], tab[((b0 & 3) << 4) | (b1 >> 4)],
			     i + 1 < raw.len ? tab[((b1 & 15) << 2) | (b2 >> 6)] : '=', i + 2 < raw.len ? tab[b2 & 63] : '=',
			     0};
		rc = tl_buf_puts(out, q, NULL);
	}
	tl_buf_release(&raw);
	return rc;
}

/*
 * How the kind writes a key value into a position: the value itself for relational kinds
 * (§2.4: decimal digits, the string, lowercase hex); for documents the _id in ape-dts'
 * tagged JSON (§2.5: Int64, String, CanonicalExtJson binary). Returns a malloc'd string.
 */
static char *pos_of(const struct ct *c, enum ct_type type, const char *cell)
{
	tl_buf b = TL_BUF_INIT;
	const char *p;
	int rc = 0;

	if (!cell)
		return NULL;
	if (!c->docs)
		return strdup(cell);
	if (type == CT_INT) {
		rc = tl_buf_printf(&b, NULL, "{\"Int64\":%s}", cell);
	} else if (type == CT_BIN) {
		rc = tl_buf_puts(&b, "{\"CanonicalExtJson\":{\"$binary\":{\"base64\":\"", NULL);
		rc = rc ? rc : base64(cell, &b);
		rc = rc ? rc : tl_buf_puts(&b, "\",\"subType\":\"00\"}}}", NULL);
	} else {
		rc = tl_buf_puts(&b, "{\"String\":\"", NULL);
		for (p = cell; !rc && *p; p++)
			rc = (*p == '"' || *p == '\\') ? tl_buf_printf(&b, NULL, "\\%c", *p)
			     : (unsigned char)*p < 0x20 ? tl_buf_printf(&b, NULL, "\\u%04x", (unsigned)*p)
							: tl_buf_putc(&b, *p, NULL);
		rc = rc ? rc : tl_buf_puts(&b, "\"}", NULL);
	}
	if (rc) {
		tl_buf_release(&b);
		return NULL;
	}
	return tl_buf_detach(&b);
}

/* The name row_key gives key column i of spec table t ("_id" for documents). */
static const char *key_name(const struct ct *c, const ct_table *t, size_t i)
{
	return c->docs ? "_id" : t->cols[t->pk.n ? t->pk.col[i] : t->uniq[0].col[i]].name;
}

/* A position after the given key values (cells in the spec's text form) of spec table t. */
static int after_key(struct ct *c, const ct_table *t, const char *const *cells, tl_keyvals *out)
{
	const ct_key *k = t->pk.n ? &t->pk : &t->uniq[0];
	const char *cols[MAXKEYS];
	char *vals[MAXKEYS];
	size_t i;
	int rc;

	for (i = 0; i < k->n; i++) {
		cols[i] = key_name(c, t, i);
		vals[i] = pos_of(c, t->cols[k->col[i]].type, cells[i]);
	}
	rc = tl_keyvals_set(out, k->n, cols, (const char *const *)vals, &c->err);
	for (i = 0; i < k->n; i++)
		free(vals[i]);
	return rc;
}

/* ---- reading and copying -------------------------------------------------------------- */

/* What a read saw: each row's key (or partition value) joined by \x1f, NULL as \x1e. */
struct seen {
	size_t rows, batches, max_rows, max_bytes;
	size_t n, cap;
	char **keys;
	int native; /* some batch was in a native form */
};

static void seen_clear(struct seen *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->keys[i]);
	free(s->keys);
	memset(s, 0, sizeof(*s));
}

static char *keyvals_text(const tl_keyvals *k)
{
	tl_buf b = TL_BUF_INIT;
	size_t i;

	for (i = 0; i < k->n; i++)
		if (tl_buf_printf(&b, NULL, "%s%s", i ? "\x1f" : "", k->vals[i] ? k->vals[i] : "\x1e")) {
			tl_buf_release(&b);
			return NULL;
		}
	return b.data ? tl_buf_detach(&b) : strdup("");
}

/* The expected text of a key (cells of the key columns, spec forms) as keyvals_text gives it. */
static char *key_text(const struct ct *c, const ct_table *t, const char *const *cells, size_t n)
{
	const ct_key *k = t->pk.n ? &t->pk : &t->uniq[0];
	tl_buf b = TL_BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		enum ct_type type = k->n ? t->cols[k->col[i]].type : t->cols[0].type;
		char *v = pos_of(c, type, cells[i]);
		int rc = tl_buf_printf(&b, NULL, "%s%s", i ? "\x1f" : "", v ? v : "\x1e");
		free(v);
		if (rc) {
			tl_buf_release(&b);
			return NULL;
		}
	}
	return b.data ? tl_buf_detach(&b) : strdup("");
}

/*
 * Reads everything spec selects from `from` in batches of at most soft_bytes bytes,
 * recording each row's key (keyed tables) or partition value (others; documents: _id);
 * writes every batch to `to` with `flags` when `to` is set; with `reopen`, a KEYED read
 * is closed after each batch and opened again after the last row's key (a resume every
 * batch, as the engine does after an interruption). 0 or the failing code (c->err).
 * pump_to writes through table wt (a projection of another table: the project slot),
 * pump through t itself.
 */
static int pump_to(struct ct *c, tl_conn *from, const tl_table *t, const tl_read_spec *spec0, tl_conn *to,
		   const tl_table *wt, unsigned flags, int reopen, size_t soft_bytes, struct seen *out)
{
	tl_read_spec spec = *spec0;
	tl_keyvals last = {0, NULL, NULL};
	tl_reader *r = NULL;
	tl_batch b;
	size_t i, part = t->part_idx;
	const size_t *idx = t->nkeys ? t->key_idx : &part;
	size_t nidx = t->nkeys ? t->nkeys : 1;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	tl_batch_init(&b, t->ncols, soft_bytes);
	for (;;) {
		if (!r && (rc = tl_driver_open_reader(&c->d, from, t, &spec, &r, &c->err)))
			break;
		tl_batch_reset(&b);
		if ((rc = tl_driver_read_batch(&c->d, r, &b, &c->err)) || b.nrows == 0)
			break;
		out->batches++;
		out->rows += b.nrows;
		out->native |= b.form != TL_BATCH_CELLS;
		if (b.nrows > out->max_rows)
			out->max_rows = b.nrows;
		if (b.data.len > out->max_bytes)
			out->max_bytes = b.data.len;
		for (i = 0; i < b.nrows && !rc; i++) {
			tl_keyvals k = {0, NULL, NULL};
			if ((rc = tl_driver_row_key(&c->d, t, &b, i, idx, nidx, &k, &c->err)))
				break;
			if (out->n == out->cap) {
				size_t ncap = out->cap ? 2 * out->cap : 64;
				char **nk = realloc(out->keys, ncap * sizeof(*nk));
				if (!nk)
					rc = tl_error_set(&c->err, TL_ERR_NOMEM, "out of memory");
				else {
					out->keys = nk;
					out->cap = ncap;
				}
			}
			if (!rc && !(out->keys[out->n++] = keyvals_text(&k)))
				rc = tl_error_set(&c->err, TL_ERR_NOMEM, "out of memory");
			if (!rc && i == b.nrows - 1 && t->nkeys) {
				tl_keyvals_clear(&last);
				last = k;
				k.n = 0;
				k.cols = k.vals = NULL;
			}
			tl_keyvals_clear(&k);
		}
		if (!rc && to)
			rc = tl_driver_write_batch(&c->d, to, wt, &b, flags, &c->err);
		if (rc)
			break;
		if (reopen && spec.mode == TL_READ_KEYED) {
			tl_driver_close_reader(&c->d, r);
			r = NULL;
			spec.after = &last;
		}
	}
	tl_driver_close_reader(&c->d, r);
	tl_keyvals_clear(&last);
	tl_batch_release(&b);
	return rc;
}

static int pump(struct ct *c, tl_conn *from, const tl_table *t, const tl_read_spec *spec, tl_conn *to,
		unsigned flags, int reopen, size_t soft_bytes, struct seen *out)
{
	return pump_to(c, from, t, spec, to, t, flags, reopen, soft_bytes, out);
}

static tl_read_spec read_spec(enum tl_read_mode mode, size_t batch_rows)
{
	tl_read_spec s = {mode, NULL, NULL, NULL, batch_rows, NULL, 0};
	return s;
}

/* Rows of a read, -1 when it fails (the test is failed with the error). What it saw goes
 * to keep when given (nothing when it fails: seen_clear(keep) is still right). */
static long long nread(struct ct *c, tl_conn *from, const tl_table *t, const tl_read_spec *spec, struct seen *keep)
{
	struct seen s;
	long long n;

	if (keep)
		memset(keep, 0, sizeof(*keep));
	if (pump(c, from, t, spec, NULL, 0, 0, 1u << 20, &s)) {
		tl_test_fail(__FILE__, __LINE__, "read of %s.%s (mode %d): %s", t->schema, t->name, spec->mode,
			     c->err.message);
		seen_clear(&s);
		return -1;
	}
	n = (long long)s.rows;
	if (keep)
		*keep = s;
	else
		seen_clear(&s);
	return n;
}

/* Copies what spec selects from the source to the target; rows copied, -1 on failure. */
static long long copy(struct ct *c, const tl_table *t, const tl_read_spec *spec, unsigned flags, int reopen)
{
	struct seen s;
	long long n = -1;

	if (pump(c, c->s, t, spec, c->t, flags, reopen, 1u << 20, &s))
		tl_test_fail(__FILE__, __LINE__, "copy of %s.%s (mode %d): %s", t->schema, t->name, spec->mode,
			     c->err.message);
	else
		n = (long long)s.rows;
	seen_clear(&s);
	return n;
}

/* The cells of key columns of row i of rows (spec table t), into cells[]. */
static void key_cells(const ct_table *t, const ct_rows *rows, size_t i, const char **cells)
{
	const ct_key *k = t->pk.n ? &t->pk : &t->uniq[0];
	size_t j;

	for (j = 0; j < k->n; j++)
		cells[j] = rows->cells[i * rows->ncols + k->col[j]];
}

/*
 * Keyed reads of a keyed table: a full read sees every non-NULL key once, each batch at
 * most batch_rows rows, and renders each key as §2.4/§2.5 say; a read resumed after the
 * i-th key of the full read sees exactly the keys after it, in the same order (the
 * server's order of the key, whatever its collation or BSON type order).
 */
static void check_keyed_reads(struct ct *c, const ct_table *st, const tl_table *t, const ct_rows *rows,
			      size_t nonnull, const char *file, int line)
{
	tl_read_spec rs = read_spec(TL_READ_KEYED, 4);
	tl_keyvals after = {0, NULL, NULL};
	struct seen all, part;
	size_t i, j, r;

	memset(&all, 0, sizeof(all));
	memset(&part, 0, sizeof(part));
	if (nread(c, c->s, t, &rs, &all) < 0)
		return;
	if (all.rows != nonnull)
		tl_test_fail(file, line, "keyed read of %s: %zu rows, expected %zu", st->name, all.rows, nonnull);
	if (all.max_rows > 4)
		tl_test_fail(file, line, "keyed read of %s: a batch of %zu rows with batch_rows 4", st->name, all.max_rows);
	/* every expected key appears exactly once */
	for (r = 0; r < rows->nrows; r++) {
		const char *kc[MAXKEYS];
		char *want;
		size_t hits = 0, nk = st->pk.n ? st->pk.n : st->uniq[0].n;
		int has_null = 0;
		key_cells(st, rows, r, kc);
		for (j = 0; j < nk; j++)
			has_null |= kc[j] == NULL;
		if (has_null)
			continue;
		want = key_text(c, st, kc, nk);
		for (i = 0; want && i < all.n; i++)
			hits += strcmp(all.keys[i], want) == 0;
		if (hits != 1) {
			char p[200];
			printable(want, p, sizeof(p));
			tl_test_fail(file, line, "keyed read of %s: key (%s) seen %zu times", st->name, p, hits);
		}
		free(want);
	}
	/* resumed after each key: exactly the keys after it */
	for (i = 0; i < all.n; i++) {
		const char *kc[MAXKEYS];
		char *copyk = strdup(all.keys[i]), *p = copyk, *q;
		size_t nk = 0;

		for (q = p; copyk && nk < MAXKEYS; q++)
			if (*q == '\x1f' || *q == '\0') {
				int endp = *q == '\0';
				*q = '\0';
				kc[nk++] = strcmp(p, "\x1e") == 0 ? NULL : p;
				p = q + 1;
				if (endp)
					break;
			}
		rs.after = &after;
		/* the rendered key goes back as it came (it is already in position form) */
		if (tl_keyvals_set(&after, t->nkeys, NULL, kc, &c->err) == 0) {
			for (j = 0; j < t->nkeys; j++) {
				free(after.cols[j]);
				after.cols[j] = strdup(t->keys[j]->name);
			}
			if (nread(c, c->s, t, &rs, &part) >= 0) {
				int same = part.rows == all.n - i - 1;
				for (j = 0; same && j < part.n; j++)
					same = strcmp(part.keys[j], all.keys[i + 1 + j]) == 0;
				if (!same) {
					char pk[200];
					printable(all.keys[i], pk, sizeof(pk));
					tl_test_fail(file, line, "%s resumed after (%s): %zu rows, expected the %zu after it",
						     st->name, pk, part.rows, all.n - i - 1);
				}
			}
			seen_clear(&part);
		}
		free(copyk);
	}
	tl_keyvals_clear(&after);
	seen_clear(&all);
}
#define CHECK_KEYED_READS(c, st, t, rows, nonnull) check_keyed_reads(c, st, t, rows, nonnull, __FILE__, __LINE__)

/* n rows "id, v, n" with id = first + i * step, v = "v<id>", n = id * 10 (NULL every 7th). */
static int series(struct ct *c, ct_rows *rows, size_t ncols, long long first, long long step, size_t n)
{
	char id[32], v[48], num[32];
	size_t i;

	rows->ncols = ncols;
	for (i = 0; i < n; i++) {
		long long k = first + (long long)i * step;
		const char *cells[3];
		snprintf(id, sizeof(id), "%lld", k);
		snprintf(v, sizeof(v), "v%lld", k);
		snprintf(num, sizeof(num), "%lld", k * 10);
		cells[0] = id;
		cells[1] = v;
		cells[2] = i % 7 == 6 ? NULL : num;
		if (ct_rows_add(rows, cells, &c->err))
			return -1;
	}
	return 0;
}

/*
 * The case's table S1.name with a nullable unique key k (uk1, uk2) and 12 rows: 6 with a
 * whole key (1..6), 4 with a NULL key column (one of them the text "null"), 2 all NULL;
 * made and described by tab_make (where; n/a where the fixture cannot build it).
 */
static int tab_nullable_key(struct ct *c, const char *name, enum tab_where where)
{
	static const char *const data[][3] = {
		{"1", "1", "1"},   {"2", "2", "2"},      {"3", "3", "3"},  {"4", "4", "4"},   {"5", "5", "5"},
		{"6", "6", "6"},   {"7", NULL, "7"},     {NULL, "8", "8"}, {NULL, "null", "9"}, {NULL, NULL, "10"},
		{NULL, NULL, NULL}, {NULL, NULL, NULL}};
	size_t i;

	if (tab_spec(c, name, "uk1 int null, uk2 text null, val int null; unique k (uk1, uk2)"))
		return -1;
	for (i = 0; i < sizeof(data) / sizeof(data[0]); i++)
		if (ct_rows_add(&c->rows, data[i], &c->err))
			return -1;
	return tab_make(c, where, "a nullable unique key");
}

/* The case's table S1.name of series rows (id, v, n; first, step, n as series() takes them),
 * made and described by tab_make (where). 0 or -1 (goto done). */
static int tab_series(struct ct *c, const char *name, long long first, long long step, size_t n,
		      enum tab_where where)
{
	if (tab_spec(c, name, "id int key, v text null, n int null") || series(c, &c->rows, 3, first, step, n))
		return -1;
	return tab_make(c, where, NULL);
}

/* A permanent error (missing object, mismatch, constraint, credentials): no retry flag
 * (error.h: TL_ERRF_TRANSIENT is never set for these, nor CONN_LOST / COMMIT_UNKNOWN). */
#define NO_RETRY_FLAGS(c)                                                                                  \
	TL_CHECK_MSG(((c)->err.flags & (TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST | TL_ERRF_COMMIT_UNKNOWN)) == 0, \
		     "a permanent error carries flags 0x%x: %s", (c)->err.flags, (c)->err.message)

/* The message names the table: schema and name appear in it. */
#define NAMES_TABLE(c, schema, name)                                                                        \
	TL_CHECK_MSG(strstr((c)->err.message, schema) && strstr((c)->err.message, name),                     \
		     "message does not name %s.%s: %s", schema, name, (c)->err.message)

/* ---- connect / disconnect ----------------------------------------------------------------- */

TL_TEST(contract_connect_disconnect)
{
	struct ct c;

	if (begin(&c))
		return;
	TL_CHECK(c.s != NULL && c.t != NULL);
	tl_driver_disconnect(&c.d, NULL); /* accepts NULL */
	TL_CHECK(strcmp(c.ops->name, c.f->kind) == 0);
	end(&c);
}

/* A URL like `url` with user:password@host:port replaced (user and password may be NULL). */
static int other_url(const char *url, const char *user, const char *pw, const char *hostport, char *out, size_t n,
		     tl_error *err)
{
	tl_url u;
	char hp[300];

	if (tl_url_parse(url, &u, err))
		return -1;
	if (!hostport) {
		if (u.port)
			snprintf(hp, sizeof(hp), "%s:%d", u.host ? u.host : "", u.port);
		else
			snprintf(hp, sizeof(hp), "%s", u.host ? u.host : "");
		hostport = hp;
	}
	snprintf(out, n, "%s://%s%s%s%s%s%s%s%s%s", u.scheme, user ? user : "", user && pw ? ":" : "", user && pw ? pw : "",
		 user ? "@" : "", hostport, u.path ? "/" : "", u.path ? u.path : "", u.query ? "?" : "",
		 u.query ? u.query : "");
	tl_url_clear(&u);
	return 0;
}

/* The connect error names "<kind> at host:port" and never a password. */
static void check_connect_error(struct ct *c, const char *hostport, int rc, tl_conn *conn)
{
	char prefix[400];

	snprintf(prefix, sizeof(prefix), "cannot connect to %s at %s", c->ops->name, hostport);
	TL_CHECK_EQ_INT(rc, TL_ERR_DB);
	TL_CHECK(conn == NULL);
	TL_CHECK_MSG(strncmp(c->err.message, prefix, strlen(prefix)) == 0, "message does not start with '%s': %s",
		     prefix, c->err.message);
	TL_CHECK_MSG(!strstr(c->err.message, "s3cret-Pa55") && !strstr(c->err.message, "0ther-Pa55"),
		     "password in the message: %s", c->err.message);
}

/* A refused connection is worth a retry and leaves no connection (error.h). */
#define REFUSED_FLAGS(c)                                                                                     \
	TL_CHECK_MSG(((c)->err.flags & (TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST)) == (TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST), \
		     "a refused connection carries flags 0x%x, not TRANSIENT|CONN_LOST: %s", (c)->err.flags,        \
		     (c)->err.message)

TL_TEST(contract_connect_error_unreachable)
{
	struct ct c;
	char url[1024];
	tl_conn *conn = NULL;
	int rc;

	if (begin(&c))
		return;
	CT_OK(&c, other_url(c.f->url(c.fx, CT_SRC), "tl_ct_user", "s3cret-Pa55", "127.0.0.1:1", url, sizeof(url), &c.err));
	{
		tl_endpoint ep = {.db_type = c.f->kind, .url = url, .username = NULL, .password = "0ther-Pa55",
				  .app_name = APP_NAME, .connect_timeout_secs = 5};
		rc = tl_driver_connect(&c.d, &ep, &conn, &c.err);
	}
	check_connect_error(&c, "127.0.0.1:1", rc, conn);
	REFUSED_FLAGS(&c);
	tl_driver_disconnect(&c.d, conn);
done:
	end(&c);
}

TL_TEST(contract_connect_error_unknown_user)
{
	struct ct c;
	char url[1024], hp[300];
	tl_conn *conn = NULL;
	tl_url u;
	int rc;

	if (begin(&c))
		return;
	if (!c.f->checks_credentials) {
		tl_test_na("the %s servers check no credentials", c.f->kind);
		goto done;
	}
	CT_OK(&c, tl_url_parse(c.f->url(c.fx, CT_SRC), &u, &c.err));
	snprintf(hp, sizeof(hp), "%s:%d", u.host, u.port);
	tl_url_clear(&u);
	CT_OK(&c, other_url(c.f->url(c.fx, CT_SRC), "tl_ct_nobody", "s3cret-Pa55", NULL, url, sizeof(url), &c.err));
	{
		tl_endpoint ep = {.db_type = c.f->kind, .url = url, .username = "tl_ct_nobody", .password = "0ther-Pa55",
				  .app_name = APP_NAME};
		rc = tl_driver_connect(&c.d, &ep, &conn, &c.err);
	}
	check_connect_error(&c, hp, rc, conn);
	NO_RETRY_FLAGS(&c); /* wrong credentials stay wrong */
	tl_driver_disconnect(&c.d, conn);
done:
	end(&c);
}

/* The endpoint's username and password win over the URL's. */
TL_TEST(contract_connect_endpoint_user_wins)
{
	struct ct c;
	char url[1024];
	tl_conn *conn = NULL;
	tl_url u = {0};

	if (begin(&c))
		return;
	CT_OK(&c, tl_url_parse(c.f->url(c.fx, CT_SRC), &u, &c.err));
	if (!u.user || !*u.user) {
		tl_test_na("the %s test server's URL names no user to override with", c.f->kind);
		goto done;
	}
	CT_OK(&c, other_url(c.f->url(c.fx, CT_SRC), "tl_ct_nobody", NULL, NULL, url, sizeof(url), &c.err));
	{
		tl_endpoint ep = {.db_type = c.f->kind, .url = url, .username = u.user,
				  .password = u.password ? u.password : "", .app_name = APP_NAME};
		CT_OK(&c, tl_driver_connect(&c.d, &ep, &conn, &c.err));
	}
	TL_CHECK(conn != NULL);
done:
	tl_driver_disconnect(&c.d, conn);
	tl_url_clear(&u);
	end(&c);
}

/* ---- list_tables / describe / count --------------------------------------------------------- */

static int is_system_schema(const char *s)
{
	static const char *const sys[] = {"information_schema", "mysql", "performance_schema", "sys", "pg_catalog",
					  "pg_toast", "admin", "local", "config", NULL};
	size_t i;

	for (i = 0; sys[i]; i++)
		if (strcmp(s, sys[i]) == 0)
			return 1;
	return strncmp(s, "pg_temp", 7) == 0;
}

TL_TEST(contract_list_tables)
{
	struct ct c;
	ct_table a, b, h;
	tl_name_list names = {0, NULL};
	size_t i;
	int found = 0;

	if (begin(&c))
		return;
	if (spec(&a, S1, "list_b", "id int key") || spec(&b, S1, "list_a", "id int key") ||
	    spec(&h, c.f->hostile_schema, c.f->hostile_table, "id int key"))
		goto done;
	CT_OK(&c, c.f->drop_schema(c.fx, CT_SRC, c.f->hostile_schema, &c.err));
	if (make(&c, CT_SRC, &a, NULL) || make(&c, CT_SRC, &b, NULL) || make(&c, CT_SRC, &h, NULL))
		goto done;
	CT_OK(&c, tl_driver_list_tables(&c.d, c.s, &names, &c.err));
	for (i = 0; i < names.n; i++) {
		const tl_name *x = &names.items[i];
		TL_CHECK_MSG(!is_system_schema(x->schema), "system schema listed: %s.%s", x->schema, x->name);
		if (i) {
			const tl_name *p = &names.items[i - 1];
			int r = strcmp(p->schema, x->schema);
			TL_CHECK_MSG(r < 0 || (r == 0 && strcmp(p->name, x->name) < 0), "not sorted: %s.%s before %s.%s",
				     p->schema, p->name, x->schema, x->name);
		}
		found += (strcmp(x->schema, S1) == 0 && (strcmp(x->name, "list_a") == 0 || strcmp(x->name, "list_b") == 0)) ||
			 (strcmp(x->schema, h.schema) == 0 && strcmp(x->name, h.name) == 0);
	}
	TL_CHECK_EQ_INT(found, 3);
done:
	tl_name_list_clear(&names);
	end(&c);
}

TL_TEST(contract_describe_columns_and_key)
{
	struct ct c;
	size_t i;

	if (begin(&c))
		return;
	if (tab_spec(&c, "cols", "id int key, t text null, n int null, w text") ||
	    rows_addv(&c.rows, &c.err, "1", "a", "10", "x") || rows_addv(&c.rows, &c.err, "2", NULL, NULL, "y") ||
	    rows_addv(&c.rows, &c.err, "3", "c", "30", "z"))
		goto done;
	if (tab_make(&c, TAB_SRC, NULL))
		goto done;
	TL_CHECK_EQ_STR(c.tab->schema, S1);
	TL_CHECK_EQ_STR(c.tab->name, "cols");
	TL_CHECK_EQ_INT(c.tab->key_kind, TL_KEYK_PRIMARY);
	TL_CHECK_EQ_INT(c.tab->nkeys, 1);
	TL_CHECK(c.tab->keys && c.tab->key_idx);
	TL_CHECK_EQ_INT(c.tab->est_rows, 3); /* the fixture made the statistics current */
	TL_CHECK_EQ_INT(count(&c, c.s, c.tab), 3);
	TL_CHECK(tl_table_part(c.tab) != NULL);
	if (c.docs) {
		/* a document is one cell; its _id is a key column that is not a data column */
		TL_CHECK_EQ_INT(c.tab->ncols, 1);
		TL_CHECK_EQ_INT(c.tab->cols[0].kind, TL_COL_DOCUMENT);
		TL_CHECK(c.tab->key_idx[0] == TL_NO_COL);
		TL_CHECK_EQ_STR(c.tab->keys[0]->name, "_id");
		TL_CHECK_EQ_STR(tl_table_part(c.tab)->name, "_id");
	} else {
		static const enum tl_col_kind kinds[] = {TL_COL_INT, TL_COL_TEXT, TL_COL_INT, TL_COL_TEXT};
		CT_REQUIRE(c.tab->ncols == 4);
		for (i = 0; i < 4; i++) {
			TL_CHECK_EQ_STR(c.tab->cols[i].name, c.st.cols[i].name);
			TL_CHECK_MSG(c.tab->cols[i].kind == kinds[i], "column %s: kind %d", c.tab->cols[i].name, c.tab->cols[i].kind);
			TL_CHECK_MSG(c.tab->cols[i].nullable == c.st.cols[i].nullable, "column %s: nullable %d", c.tab->cols[i].name,
				     c.tab->cols[i].nullable);
			TL_CHECK_MSG(c.tab->cols[i].type && *c.tab->cols[i].type, "column %s has no type text", c.tab->cols[i].name);
		}
		TL_CHECK_EQ_INT(c.tab->key_idx[0], 0);
		TL_CHECK(c.tab->keys[0] == &c.tab->cols[0]);
		TL_CHECK_EQ_INT(c.tab->part_idx, 0);
	}
	tl_driver_free_table(&c.d, NULL); /* accepts NULL */
done:
	end(&c);
}

TL_TEST(contract_describe_missing)
{
	struct ct c;
	tl_table *t = NULL;
	ct_table st;

	if (begin(&c))
		return;
	if (spec(&st, S1, "exists", "id int key") || make(&c, CT_SRC, &st, NULL))
		goto done;
	CT_OK(&c, c.f->drop(c.fx, CT_SRC, S1, "ct_missing", &c.err));
	TL_CHECK_EQ_INT(tl_driver_describe(&c.d, c.s, S1, "ct_missing", &t, &c.err), TL_ERR_NOTFOUND);
	TL_CHECK(t == NULL);
	NAMES_TABLE(&c, S1, "ct_missing");
	NO_RETRY_FLAGS(&c);
	TL_CHECK_EQ_INT(tl_driver_describe(&c.d, c.s, "tl_ct_no_such_schema", "exists", &t, &c.err), TL_ERR_NOTFOUND);
	TL_CHECK(t == NULL);
	NAMES_TABLE(&c, "tl_ct_no_such_schema", "exists");
done:
	tl_driver_free_table(&c.d, t);
	end(&c);
}

struct key_case {
	const char *name, *spec;
	enum tl_key_kind kind;
	const char *keys; /* the chosen key's columns, "c,d" */
	size_t part;      /* part_idx */
};

/* §3.3: primary key; else the NOT NULL unique key with fewest columns; else any unique key
 * with fewest columns; ties by the constraint's name (tideline's rule where ape-dts has none). */
TL_TEST(contract_describe_key_choice)
{
	static const struct key_case cases[] = {
		{"k_nn", "a int null, b int, c int, d int; unique z_one (a); unique y_two (b, c); unique x_two (c, d)",
		 TL_KEYK_UNIQUE, "c,d", 2},
		{"k_nul", "a int null, b int null, c int; unique k2 (a, b); unique k3 (a, b, c)", TL_KEYK_UNIQUE_NULLABLE,
		 "a,b", 0},
		{"k_none", "a int null, b int null", TL_KEYK_NONE, "", 0},
		{"k_pk", "a int, b int; primary (a); unique u_b (b)", TL_KEYK_PRIMARY, "a", 0},
		{"k_notnull_wins", "a int, b int, c int, d int null; unique zz (a, b); unique yy (c, a); unique aa (d); unique xx (b)",
		 TL_KEYK_UNIQUE, "b", 1},
		{"k_comp", "x text, y int, z int null; primary (y, x)", TL_KEYK_PRIMARY, "y,x", 1},
		{"k_one_nullable", "u int null, v text null; unique only (u, v)", TL_KEYK_UNIQUE_NULLABLE, "u,v", 0},
	};
	struct ct c;
	size_t i, k;

	if (begin(&c))
		return;
	if (!c.sql) {
		tl_test_na("key choice among columns needs TL_CAP_SQL (documents are ordered by _id)");
		goto done;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ct_table st;
		tl_table *t = NULL;
		char got[200] = "";
		int r;

		if (spec(&st, S1, cases[i].name, cases[i].spec))
			goto done;
		if ((r = make(&c, CT_SRC, &st, NULL)) < 0)
			goto done;
		if (r)
			continue;
		c.ran++;
		if (!(t = describe(&c, c.s, S1, cases[i].name)))
			continue;
		for (k = 0; k < t->nkeys; k++) {
			size_t len = strlen(got);
			snprintf(got + len, sizeof(got) - len, "%s%s", k ? "," : "", t->keys[k]->name);
			TL_CHECK(t->keys[k] == &t->cols[t->key_idx[k]]);
		}
		TL_CHECK_MSG(t->key_kind == cases[i].kind, "%s: key kind %d, expected %d", cases[i].name, t->key_kind,
			     cases[i].kind);
		TL_CHECK_MSG(strcmp(got, cases[i].keys) == 0, "%s: key (%s), expected (%s)", cases[i].name, got,
			     cases[i].keys);
		TL_CHECK_MSG(t->part_idx == cases[i].part, "%s: part_idx %zu, expected %zu", cases[i].name, t->part_idx,
			     cases[i].part);
		tl_driver_free_table(&c.d, t);
	}
	parts_done(&c, "the key choice");
done:
	end(&c);
}

/* Public facts of two described tables are equal. */
static void same_table(const char *what, const tl_table *a, const tl_table *b)
{
	size_t i;

	TL_CHECK_MSG(strcmp(a->schema, b->schema) == 0 && strcmp(a->name, b->name) == 0, "%s: names", what);
	TL_CHECK_MSG(a->ncols == b->ncols, "%s: %zu vs %zu columns", what, a->ncols, b->ncols);
	TL_CHECK_MSG(a->key_kind == b->key_kind && a->nkeys == b->nkeys && a->part_idx == b->part_idx, "%s: key", what);
	TL_CHECK_MSG(a->est_rows == b->est_rows, "%s: est_rows %lld vs %lld", what, (long long)a->est_rows,
		     (long long)b->est_rows);
	if (a->ncols != b->ncols || a->nkeys != b->nkeys)
		return;
	for (i = 0; i < a->nkeys; i++)
		TL_CHECK_MSG(a->key_idx[i] == b->key_idx[i] && strcmp(a->keys[i]->name, b->keys[i]->name) == 0 &&
				     a->keys[i]->kind == b->keys[i]->kind && a->keys[i]->nullable == b->keys[i]->nullable,
			     "%s: key column %zu", what, i);
	for (i = 0; i < a->ncols; i++) {
		TL_CHECK_MSG(strcmp(a->cols[i].name, b->cols[i].name) == 0, "%s: column %zu name", what, i);
		TL_CHECK_MSG(strcmp(a->cols[i].type, b->cols[i].type) == 0, "%s: column %zu type '%s' vs '%s'", what, i,
			     a->cols[i].type, b->cols[i].type);
		TL_CHECK_MSG(a->cols[i].kind == b->cols[i].kind && a->cols[i].nullable == b->cols[i].nullable,
			     "%s: column %zu kind/nullable", what, i);
	}
}

/* Two tables of the same source read the same (the driver's private part works alike). */
static void same_reads(struct ct *c, const char *what, const tl_table *a, const tl_table *b)
{
	tl_read_spec rs = read_spec(a->nkeys ? TL_READ_KEYED : TL_READ_SCAN, 1000);
	struct seen x, y;
	size_t i;

	memset(&x, 0, sizeof(x));
	memset(&y, 0, sizeof(y));
	if (nread(c, c->s, a, &rs, &x) >= 0 && nread(c, c->s, b, &rs, &y) >= 0) {
		TL_CHECK_MSG(x.rows == y.rows, "%s: %zu vs %zu rows read", what, x.rows, y.rows);
		for (i = 0; i < x.n && i < y.n && a->nkeys; i++)
			TL_CHECK_MSG(strcmp(x.keys[i], y.keys[i]) == 0, "%s: row %zu has another key", what, i);
	}
	seen_clear(&x);
	seen_clear(&y);
}

/*
 * describe_many over tables of every shape the fixture can build (hostile names, keyless,
 * a nullable unique key, a composite key in another order than the columns, a key chosen
 * by name, the same name in two schemas, a missing table, a missing schema, a name in
 * other letter case, a name given twice) gives what describe gives for each, NULL where
 * describe says TL_ERR_NOTFOUND; count_many gives count_rows' counts, in order.
 */
TL_TEST(contract_describe_many_same_as_describe)
{
	static const struct { const char *name, *spec; } shapes[] = {
		{"dm_keyless", "a int null, b text null"},
		{"dm_nuk", "a int null, b int null, c int; unique k2 (a, b)"},
		{"dm_comp", "x text, y int, z int null; primary (y, x)"},
		{"dm_tie", "a int null, b int, c int, d int; unique z_one (a); unique y_two (b, c); unique x_two (c, d)"},
		{"dm_same", "id int key, v text null"},
	};
	struct ct c;
	ct_table st, h, same2;
	ct_rows rows = {2, 0, 0, NULL};
	tl_name names[12];
	tl_table *many[12], *one = NULL;
	size_t i, n = 0;
	char what[300];

	memset(many, 0, sizeof(many));
	if (begin(&c))
		return;
	if (!c.ops->describe_many) {
		not_applicable(tl_driver_describe_many(&c.d, c.s, names, 0, many, &c.err) == TL_ERR_UNSUPPORTED,
			       "the %s driver has no describe_many", c.ops->name);
		goto done;
	}
	if (spec(&h, c.f->hostile_schema, c.f->hostile_table, "id int key, v text null") ||
	    spec(&same2, S2, "dm_same", "k int key") || rows_addv(&rows, &c.err, "1", "x") ||
	    rows_addv(&rows, &c.err, "2", NULL))
		goto done;
	if (make(&c, CT_SRC, &h, &rows) < 0 || make(&c, CT_SRC, &same2, NULL) < 0)
		goto done;
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		ct_rows r3 = {0, 0, 0, NULL};
		int rc;
		if (spec(&st, S1, shapes[i].name, shapes[i].spec))
			goto done;
		/* three rows with small integers in every int column and "t" in text ones */
		r3.ncols = st.ncols;
		for (n = 0; n < 3; n++) {
			const char *cells[CT_MAX_COLS];
			char num[CT_MAX_COLS][16];
			size_t k;
			for (k = 0; k < st.ncols; k++) {
				snprintf(num[k], sizeof(num[k]), "%zu", n + k);
				cells[k] = st.cols[k].type == CT_INT ? num[k] : "t";
				if (st.cols[k].type == CT_TEXT)
					cells[k] = n == 0 ? "t0" : n == 1 ? "t1" : "t2";
			}
			if (ct_rows_add(&r3, cells, &c.err))
				break;
		}
		rc = make(&c, CT_SRC, &st, &r3);
		ct_rows_clear(&r3);
		if (rc < 0)
			goto done;
	}
	n = 0;
	names[n].schema = (char *)h.schema, names[n++].name = (char *)h.name;
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		names[n].schema = (char *)S1, names[n++].name = (char *)shapes[i].name;
	names[n].schema = (char *)S2, names[n++].name = (char *)"dm_same";
	names[n].schema = (char *)S1, names[n++].name = (char *)"dm_missing";
	names[n].schema = (char *)"tl_ct_nope_schema", names[n++].name = (char *)"dm_same";
	names[n].schema = (char *)S1, names[n++].name = (char *)"DM_NUK";
	names[n].schema = (char *)S1, names[n++].name = (char *)"dm_comp";
	CT_OK(&c, c.f->drop(c.fx, CT_SRC, S1, "dm_missing", &c.err));
	CT_OK(&c, tl_driver_describe_many(&c.d, c.s, names, n, many, &c.err));
	for (i = 0; i < n; i++) {
		int rc = tl_driver_describe(&c.d, c.s, names[i].schema, names[i].name, &one, &c.err);
		snprintf(what, sizeof(what), "%s.%s", names[i].schema, names[i].name);
		if (rc == TL_ERR_NOTFOUND) {
			TL_CHECK_MSG(many[i] == NULL, "%s: describe says missing, describe_many found it", what);
			continue;
		}
		TL_CHECK_MSG(rc == 0, "%s: describe failed: %s", what, c.err.message);
		TL_CHECK_MSG(many[i] != NULL, "%s: describe_many says missing", what);
		if (rc == 0 && many[i]) {
			same_table(what, one, many[i]);
			same_reads(&c, what, one, many[i]);
		}
		tl_driver_free_table(&c.d, one);
		one = NULL;
	}
	/* so that the comparison is not between two empty answers */
	TL_CHECK(many[0] && many[0]->nkeys == 1);
	/* the same name in another schema is another table */
	TL_CHECK(many[5] && many[6] && (c.docs || (many[5]->ncols == 2 && many[6]->ncols == 1)));
	TL_CHECK(!many[7] && !many[8]);
	/* count_many: the exact counts count_rows gives, in order */
	if (c.ops->count_many) {
		const tl_table *have[12];
		int64_t counts[12];
		size_t m = 0;
		for (i = 0; i < n; i++)
			if (many[i])
				have[m++] = many[i];
		CT_OK(&c, tl_driver_count_many(&c.d, c.s, have, m, counts, &c.err));
		for (i = 0; i < m; i++)
			TL_CHECK_MSG(counts[i] == count(&c, c.s, have[i]), "count_many of %s.%s: %lld", have[i]->schema,
				     have[i]->name, (long long)counts[i]);
		CT_OK(&c, tl_driver_count_many(&c.d, c.s, have, 0, counts, &c.err));
	} else {
		TL_CHECK_EQ_INT(tl_driver_count_many(&c.d, c.s, NULL, 0, NULL, &c.err), TL_ERR_UNSUPPORTED);
		fprintf(stderr, "    n/a here: the %s driver has no count_many\n", c.ops->name);
	}
	CT_OK(&c, tl_driver_describe_many(&c.d, c.s, names, 0, many, &c.err));
done:
	for (i = 0; i < sizeof(many) / sizeof(many[0]); i++)
		tl_driver_free_table(&c.d, many[i]);
	ct_rows_clear(&rows);
	end(&c);
}

TL_TEST(contract_count_rows)
{
	struct ct c;
	ct_table st, e;
	ct_rows rows = {3, 0, 0, NULL};
	tl_table *t = NULL, *te = NULL;

	if (begin(&c))
		return;
	if (spec(&st, S1, "num", "id int key, v text null, n int null") || spec(&e, S1, "empty", "id int key") ||
	    series(&c, &rows, 3, 1, 1, 25))
		goto done;
	if (make(&c, CT_SRC, &st, &rows) || make(&c, CT_SRC, &e, NULL))
		goto done;
	CT_REQUIRE((t = describe(&c, c.s, S1, "num")) && (te = describe(&c, c.s, S1, "empty")));
	TL_CHECK_EQ_INT(count(&c, c.s, t), 25);
	TL_CHECK_EQ_INT(count(&c, c.s, te), 0);
	if (c.ops->count_many) {
		const tl_table *both[3] = {te, t, te};
		int64_t out[3] = {-1, -1, -1};
		CT_OK(&c, tl_driver_count_many(&c.d, c.s, both, 3, out, &c.err));
		TL_CHECK(out[0] == 0 && out[1] == 25 && out[2] == 0);
	} else {
		TL_CHECK_EQ_INT(tl_driver_count_many(&c.d, c.s, NULL, 0, NULL, &c.err), TL_ERR_UNSUPPORTED);
		fprintf(stderr, "    n/a here: the %s driver has no count_many\n", c.ops->name);
	}
done:
	tl_driver_free_table(&c.d, t);
	tl_driver_free_table(&c.d, te);
	ct_rows_clear(&rows);
	end(&c);
}

/* ---- reads ------------------------------------------------------------------------------- */

TL_TEST(contract_read_keyed_int_key)
{
	struct ct c;
	tl_keyvals after = {0, NULL, NULL};
	tl_read_spec rs = read_spec(TL_READ_KEYED, 4);
	struct seen s;

	memset(&s, 0, sizeof(s));
	if (begin(&c))
		return;
	/* inserted out of key order, with negative keys */
	if (tab_series(&c, "kint", 30, -3, 25, TAB_SRC))
		goto done;
	CHECK_KEYED_READS(&c, &c.st, c.tab, &c.rows, 25);
	/* keys come in numeric order: -42, -39, ..., 30 */
	if (nread(&c, c.s, c.tab, &rs, &s) == 25) {
		char *first = pos_of(&c, CT_INT, "-42"), *last = pos_of(&c, CT_INT, "30");
		TL_CHECK_EQ_STR(s.keys[0], first);
		TL_CHECK_EQ_STR(s.keys[24], last);
		free(first);
		free(last);
	}
	seen_clear(&s);
	/* a position between two keys, and past the last */
	{
		const char *between[] = {"-1"}, *past[] = {"31"};
		CT_OK(&c, after_key(&c, &c.st, between, &after));
		rs.after = &after;
		TL_CHECK_EQ_INT(nread(&c, c.s, c.tab, &rs, NULL), 11); /* 0, 3, ..., 30 */
		CT_OK(&c, after_key(&c, &c.st, past, &after));
		TL_CHECK_EQ_INT(nread(&c, c.s, c.tab, &rs, NULL), 0);
	}
	/* a null position (§3.5): relational k > NULL matches nothing; documents start over (§2.5) */
	{
		const char *col = c.tab->keys[0]->name, *val = NULL;
		CT_OK(&c, tl_keyvals_set(&after, 1, &col, &val, &c.err));
		TL_CHECK_EQ_INT(nread(&c, c.s, c.tab, &rs, NULL), c.docs ? 25 : 0);
	}
	/* a resume every batch (reopened after the last row's key) reads every row once */
	rs.after = NULL;
	CT_OK(&c, pump(&c, c.s, c.tab, &rs, NULL, 0, 1, 1u << 20, &s));
	TL_CHECK_EQ_INT(s.rows, 25);
	TL_CHECK_EQ_INT(s.batches, 7);
done:
	seen_clear(&s);
	tl_keyvals_clear(&after);
	end(&c);
}

TL_TEST(contract_read_keyed_text_key)
{
	static const char *const keys[] = {"b", "a b", "quote'\"`\\", "$a", "\xc3\xbcn\xc3\xaf", "0", "m;DROP", NULL};
	struct ct c;
	size_t i;

	if (begin(&c))
		return;
	if (tab_spec(&c, "ktext", "k text key, v int null"))
		goto done;
	for (i = 0; keys[i]; i++)
		if (rows_addv(&c.rows, &c.err, keys[i], i % 2 ? "1" : NULL))
			goto done;
	if (tab_make(&c, TAB_SRC, NULL))
		goto done;
	TL_CHECK_EQ_INT(c.tab->keys[0]->kind, c.docs ? TL_COL_OTHER : TL_COL_TEXT);
	CHECK_KEYED_READS(&c, &c.st, c.tab, &c.rows, i);
done:
	end(&c);
}

TL_TEST(contract_read_keyed_composite_key)
{
	struct ct c;
	tl_keyvals after = {0, NULL, NULL};
	tl_read_spec rs = read_spec(TL_READ_KEYED, 2);

	if (begin(&c))
		return;
	if (!c.sql) {
		tl_test_na("composite keys need TL_CAP_SQL (documents have one key, _id)");
		goto done;
	}
	if (tab_spec(&c, "kcomp", "g text, n int, v text null; primary (g, n)") ||
	    rows_addv(&c.rows, &c.err, "b", "3", "x") || rows_addv(&c.rows, &c.err, "a", "10", NULL) ||
	    rows_addv(&c.rows, &c.err, "a", "2", "y") || rows_addv(&c.rows, &c.err, "c", "0", "z") ||
	    rows_addv(&c.rows, &c.err, "b", "-5", NULL) || rows_addv(&c.rows, &c.err, "a", "1", "w"))
		goto done;
	if (tab_make(&c, TAB_SRC, "a composite key"))
		goto done;
	CT_REQUIRE(c.tab->nkeys == 2);
	CHECK_KEYED_READS(&c, &c.st, c.tab, &c.rows, 6);
	/* row comparison: after (a, 5) come (a, 10), (b, -5), (b, 3), (c, 0) */
	{
		const char *mid[] = {"a", "5"};
		struct seen s;
		CT_OK(&c, after_key(&c, &c.st, mid, &after));
		rs.after = &after;
		if (nread(&c, c.s, c.tab, &rs, &s) == 4)
			TL_CHECK_EQ_STR(s.keys[0], "a\x1f" "10");
		else
			tl_test_fail(__FILE__, __LINE__, "resume after (a, 5): not 4 rows");
		seen_clear(&s);
	}
done:
	tl_keyvals_clear(&after);
	end(&c);
}

/* Binary keys render as lowercase hex (§2.4) or CanonicalExtJson binary (§2.5), in one
 * column and in a composite key (the ape-dts fixtures' bytea_pk_test); a bad value is a
 * mismatch naming the column and the value. */
TL_TEST(contract_read_keyed_binary_key)
{
	struct ct c;
	ct_table one, comp;
	ct_rows r1 = {2, 0, 0, NULL}, r2 = {3, 0, 0, NULL};
	tl_table *t = NULL;
	tl_keyvals after = {0, NULL, NULL};
	tl_read_spec rs = read_spec(TL_READ_KEYED, 1);
	tl_reader *rd = NULL;
	int r;

	if (begin(&c))
		return;
	if (spec(&one, S1, "kbin", "b bin key, v int null") ||
	    spec(&comp, S1, "kbin2", "c text, b bin, d text null; primary (c, b)") ||
	    rows_addv(&r1, &c.err, "00ff", "1") || rows_addv(&r1, &c.err, "01", NULL) ||
	    rows_addv(&r1, &c.err, "ff", "3") || rows_addv(&r1, &c.err, "0000", "4") || rows_addv(&r1, &c.err, "7a", "5") ||
	    rows_addv(&r2, &c.err, "cat1", "e4bda0e5a5bde4b896e7958c30", "a") ||
	    rows_addv(&r2, &c.err, "cat1", "e4bda0e5a5bde4b896e7958c31", "b") ||
	    rows_addv(&r2, &c.err, "cat2", "68656c6c6f20776f726c64", "c"))
		goto done;
	if ((r = make(&c, CT_SRC, &one, &r1)) < 0)
		goto done;
	if (r == 0) {
		c.ran++;
		CT_REQUIRE((t = describe(&c, c.s, S1, "kbin")) != NULL);
		if (c.sql)
			TL_CHECK_EQ_INT(t->keys[0]->kind, TL_COL_BINARY);
		CHECK_KEYED_READS(&c, &one, t, &r1, 5);
		tl_driver_free_table(&c.d, t);
		t = NULL;
	}
	if (c.sql && (r = make(&c, CT_SRC, &comp, &r2)) < 0)
		goto done;
	if (c.sql && r == 0) {
		const char *first[] = {"cat1", "e4bda0e5a5bde4b896e7958c30"}, *bad[] = {"cat1", "zz"};
		struct seen s;
		c.ran++;
		CT_REQUIRE((t = describe(&c, c.s, S1, "kbin2")) != NULL);
		CHECK_KEYED_READS(&c, &comp, t, &r2, 3);
		CT_OK(&c, after_key(&c, &comp, first, &after));
		rs.after = &after;
		if (nread(&c, c.s, t, &rs, &s) == 2)
			TL_CHECK_EQ_STR(s.keys[0], "cat1\x1f" "e4bda0e5a5bde4b896e7958c31");
		else
			tl_test_fail(__FILE__, __LINE__, "resume after the first binary key: not 2 rows");
		seen_clear(&s);
		CT_OK(&c, after_key(&c, &comp, bad, &after));
		TL_CHECK_EQ_INT(tl_driver_open_reader(&c.d, c.s, t, &rs, &rd, &c.err), TL_ERR_MISMATCH);
		TL_CHECK(rd == NULL);
		TL_CHECK_MSG(strstr(c.err.message, "'zz'") && strstr(c.err.message, "b"), "message: %s", c.err.message);
	}
	parts_done(&c, "binary keys");
done:
	tl_driver_close_reader(&c.d, rd);
	tl_keyvals_clear(&after);
	tl_driver_free_table(&c.d, t);
	ct_rows_clear(&r1);
	ct_rows_clear(&r2);
	end(&c);
}

/* A nullable unique key: keyed reads skip rows with a NULL key column, the NULL pass
 * (TL_READ_KEY_NULLS) reads exactly those, and a NULL position matches nothing (§3.5). */
TL_TEST(contract_read_key_nulls)
{
	struct ct c;
	tl_keyvals after = {0, NULL, NULL};
	tl_read_spec rs = read_spec(TL_READ_KEYED, 4);
	tl_reader *rd = NULL;
	size_t i;

	if (begin(&c))
		return;
	if (!c.sql) {
		if (tab_spec(&c, "knull", "id int key") || tab_make(&c, TAB_SRC, NULL))
			goto done;
		rs.mode = TL_READ_KEY_NULLS;
		not_applicable(tl_driver_open_reader(&c.d, c.s, c.tab, &rs, &rd, &c.err) == TL_ERR_UNSUPPORTED,
			       "NULL key passes need TL_CAP_SQL (an _id is never NULL)");
		goto done;
	}
	if (tab_nullable_key(&c, "knull", TAB_SRC))
		goto done;
	TL_CHECK_EQ_INT(c.tab->key_kind, TL_KEYK_UNIQUE_NULLABLE);
	CHECK_KEYED_READS(&c, &c.st, c.tab, &c.rows, 6);
	{
		const char *a62[] = {"6", "6"}, *a22[] = {"2", "2"}, *anull[] = {NULL, NULL};
		rs.after = &after;
		CT_OK(&c, after_key(&c, &c.st, a62, &after));
		TL_CHECK_EQ_INT(nread(&c, c.s, c.tab, &rs, NULL), 0);
		CT_OK(&c, after_key(&c, &c.st, a22, &after));
		TL_CHECK_EQ_INT(nread(&c, c.s, c.tab, &rs, NULL), 4);
		CT_OK(&c, after_key(&c, &c.st, anull, &after));
		TL_CHECK_EQ_INT(nread(&c, c.s, c.tab, &rs, NULL), 0);
	}
	{
		struct seen s;
		rs = read_spec(TL_READ_KEY_NULLS, 4);
		if (nread(&c, c.s, c.tab, &rs, &s) == 6) {
			for (i = 0; i < s.n; i++)
				TL_CHECK_MSG(strchr(s.keys[i], '\x1e') != NULL, "NULL pass row %zu has no NULL key", i);
		} else {
			tl_test_fail(__FILE__, __LINE__, "the NULL pass did not read 6 rows");
		}
		seen_clear(&s);
	}
done:
	tl_driver_close_reader(&c.d, rd);
	tl_keyvals_clear(&after);
	end(&c);
}

/* A RANGE read (lo, hi] (cells of the int key, NULL: unbounded) gives rows[first, first + n) in that order. */
static void check_range(struct ct *c, const ct_table *st, const tl_table *t, const ct_rows *rows, const char *lo,
			const char *hi, size_t first, size_t n)
{
	tl_read_spec rs = read_spec(TL_READ_RANGE, 7);
	char *plo = pos_of(c, CT_INT, lo), *phi = pos_of(c, CT_INT, hi), *want;
	struct seen s;
	size_t i;

	memset(&s, 0, sizeof(s));
	rs.lo = plo;
	rs.hi = phi;
	if (nread(c, c->s, t, &rs, &s) >= 0) {
		TL_CHECK_MSG(s.n == n, "RANGE (%s, %s]: %zu rows, %zu expected", lo ? lo : "-", hi ? hi : "-", s.n, n);
		for (i = 0; i < s.n && i < n; i++) {
			const char *cells[MAXKEYS];
			key_cells(st, rows, first + i, cells);
			want = key_text(c, st, cells, 1);
			TL_CHECK_MSG(want && strcmp(s.keys[i], want) == 0, "RANGE (%s, %s]: row %zu is not %s",
				     lo ? lo : "-", hi ? hi : "-", i, cells[0]);
			free(want);
		}
	}
	seen_clear(&s);
	free(plo);
	free(phi);
}

/* Split reads (§3.4): part_minmax, next_bound's uneven ranges, RANGE (lo, hi] ordered by
 * the partition column, a user condition ANDed in. */
TL_TEST(contract_read_range_and_bounds)
{
	struct ct c;
	ct_table st, e;
	ct_rows rows = {3, 0, 0, NULL};
	tl_table *t = NULL, *te = NULL;
	tl_read_spec rs = read_spec(TL_READ_RANGE, 7);
	tl_reader *rd = NULL;
	char *lo = NULL, *hi = NULL, *b = NULL;
	struct seen s;

	memset(&s, 0, sizeof(s));
	if (begin(&c))
		return;
	if (spec(&st, S1, "rng", "id int key, v text null, n int null") || spec(&e, S1, "rng_empty", "id int key") ||
	    series(&c, &rows, 3, 2, 2, 50))
		goto done;
	if (make(&c, CT_SRC, &st, &rows) || make(&c, CT_SRC, &e, NULL))
		goto done;
	CT_REQUIRE((t = describe(&c, c.s, S1, "rng")) && (te = describe(&c, c.s, S1, "rng_empty")));
	if (!c.ops->next_bound || !c.sql) {
		int refused = tl_driver_next_bound(&c.d, c.s, t, NULL, 10, &b, &c.err) == TL_ERR_UNSUPPORTED &&
			      tl_driver_part_minmax(&c.d, c.s, t, &lo, &hi, &c.err) == TL_ERR_UNSUPPORTED;
		int rc = tl_driver_open_reader(&c.d, c.s, t, &rs, &rd, &c.err);
		tl_driver_close_reader(&c.d, rd);
		rd = NULL;
		if (rc == TL_ERR_UNSUPPORTED || !refused) {
			not_applicable(refused && rc == TL_ERR_UNSUPPORTED,
				       "the %s driver cannot split tables (no next_bound / TL_CAP_SQL)", c.ops->name);
			goto done;
		}
		/* no splitting, but RANGE reads (the ranges verify and check tasks compare): (lo, hi] in key order */
		CT_OK(&c, rc);
		fprintf(stderr, "    n/a here: the %s driver cannot split tables (no next_bound / TL_CAP_SQL)\n",
			c.ops->name);
		check_range(&c, &st, t, &rows, "10", "40", 5, 15);
		check_range(&c, &st, t, &rows, NULL, "10", 0, 5);
		check_range(&c, &st, t, &rows, "90", NULL, 45, 5);
		check_range(&c, &st, t, &rows, "100", NULL, 50, 0);
		goto done;
	}
	TL_CHECK(tl_driver_can_split(&c.d, tl_table_part(t)));
	CT_OK(&c, tl_driver_part_minmax(&c.d, c.s, t, &lo, &hi, &c.err));
	TL_CHECK_EQ_STR(lo, "2");
	TL_CHECK_EQ_STR(hi, "100");
	free(lo);
	free(hi);
	lo = hi = NULL;
	CT_OK(&c, tl_driver_part_minmax(&c.d, c.s, te, &lo, &hi, &c.err));
	TL_CHECK(lo == NULL && hi == NULL);
	CT_OK(&c, tl_driver_next_bound(&c.d, c.s, t, NULL, 10, &b, &c.err));
	TL_CHECK_EQ_STR(b, "20");
	free(b);
	CT_OK(&c, tl_driver_next_bound(&c.d, c.s, t, "20", 10, &b, &c.err));
	TL_CHECK_EQ_STR(b, "40");
	free(b);
	CT_OK(&c, tl_driver_next_bound(&c.d, c.s, t, "95", 10, &b, &c.err));
	TL_CHECK_EQ_STR(b, "100");
	free(b);
	CT_OK(&c, tl_driver_next_bound(&c.d, c.s, t, "100", 10, &b, &c.err));
	TL_CHECK(b == NULL);
	free(b);
	b = NULL;
	CT_OK(&c, tl_driver_next_bound(&c.d, c.s, te, NULL, 10, &b, &c.err));
	TL_CHECK(b == NULL);
	rs.lo = "20";
	rs.hi = "40";
	if (nread(&c, c.s, t, &rs, &s) == 10) {
		TL_CHECK_EQ_STR(s.keys[0], "22");
		TL_CHECK_EQ_STR(s.keys[9], "40");
		TL_CHECK(s.max_rows <= 7);
	} else {
		tl_test_fail(__FILE__, __LINE__, "RANGE (20, 40]: not 10 rows");
	}
	seen_clear(&s);
	rs.lo = NULL;
	TL_CHECK_EQ_INT(nread(&c, c.s, t, &rs, NULL), 20);
	rs.lo = "90";
	rs.hi = NULL;
	TL_CHECK_EQ_INT(nread(&c, c.s, t, &rs, NULL), 5);
	rs.where = "id < 100"; /* [filter] where_conditions, ANDed in */
	TL_CHECK_EQ_INT(nread(&c, c.s, t, &rs, NULL), 4);
	rs.lo = rs.hi = NULL;
	rs.where = NULL;
	TL_CHECK_EQ_INT(nread(&c, c.s, t, &rs, NULL), 50);
done:
	seen_clear(&s);
	free(lo);
	free(hi);
	free(b);
	tl_driver_close_reader(&c.d, rd);
	tl_driver_free_table(&c.d, t);
	tl_driver_free_table(&c.d, te);
	ct_rows_clear(&rows);
	end(&c);
}

/* A keyless table is split on its first column (§3.3): a text partition column, bounds
 * bound as values (never spliced into SQL), its NULLs read by TL_READ_PART_NULLS. */
TL_TEST(contract_read_keyless_partition)
{
	static const char *const data[][2] = {{"b", "1"}, {NULL, "2"}, {"a", "3"}, {"c", "4"}, {NULL, "5"}};
	struct ct c;
	tl_read_spec rs = read_spec(TL_READ_RANGE, 100);
	char *b = NULL;
	struct seen s;
	size_t i;

	memset(&s, 0, sizeof(s));
	if (begin(&c))
		return;
	if (!c.sql) {
		tl_test_na("keyless tables need TL_CAP_SQL (every document has an _id)");
		goto done;
	}
	if (tab_spec(&c, "nokey", "p text null, v int null"))
		goto done;
	for (i = 0; i < 5; i++)
		if (ct_rows_add(&c.rows, data[i], &c.err))
			goto done;
	if (tab_make(&c, TAB_SRC, "a keyless table"))
		goto done;
	TL_CHECK_EQ_INT(c.tab->key_kind, TL_KEYK_NONE);
	TL_CHECK_EQ_INT(c.tab->nkeys, 0);
	TL_CHECK_EQ_INT(c.tab->part_idx, 0);
	rs.mode = TL_READ_SCAN;
	TL_CHECK_EQ_INT(nread(&c, c.s, c.tab, &rs, NULL), 5);
	rs.mode = TL_READ_PART_NULLS;
	if (nread(&c, c.s, c.tab, &rs, &s) == 2)
		TL_CHECK_EQ_STR(s.keys[0], "\x1e");
	else
		tl_test_fail(__FILE__, __LINE__, "PART_NULLS: not 2 rows");
	seen_clear(&s);
	if (!tl_driver_can_split(&c.d, tl_table_part(c.tab))) {
		fprintf(stderr, "    n/a here: the %s driver cannot split on a text column\n", c.ops->name);
		goto done;
	}
	CT_OK(&c, tl_driver_next_bound(&c.d, c.s, c.tab, NULL, 2, &b, &c.err));
	TL_CHECK_EQ_STR(b, "b");
	rs.mode = TL_READ_RANGE;
	rs.lo = "a";
	if (nread(&c, c.s, c.tab, &rs, &s) == 2)
		TL_CHECK_EQ_STR(s.keys[0], "b");
	else
		tl_test_fail(__FILE__, __LINE__, "RANGE ('a', ...): not 2 rows");
	seen_clear(&s);
	rs.lo = "a' OR 'x'='x\\"; /* a value, compared as a string */
	TL_CHECK_EQ_INT(nread(&c, c.s, c.tab, &rs, NULL), 2);
	rs.lo = NULL;
	TL_CHECK_EQ_INT(nread(&c, c.s, c.tab, &rs, NULL), 3);
done:
	seen_clear(&s);
	free(b);
	end(&c);
}

/* A position value that does not fit the key's type is TL_ERR_MISMATCH naming the value
 * and the table, before anything is read; the connection stays usable. */
TL_TEST(contract_read_bad_resume_values)
{
	static const char *const bad[] = {"abc", "99999999999999999999", "{\"Nope\":1}", NULL};
	struct ct c;
	tl_keyvals after = {0, NULL, NULL};
	tl_read_spec rs = read_spec(TL_READ_KEYED, 10);
	tl_reader *rd = NULL;
	char *b = NULL;
	size_t i;

	if (begin(&c))
		return;
	if (tab_series(&c, "badval", 1, 1, 5, TAB_SRC))
		goto done;
	rs.after = &after;
	for (i = 0; bad[i]; i++) {
		const char *col = c.tab->keys[0]->name;
		CT_OK(&c, tl_keyvals_set(&after, 1, &col, &bad[i], &c.err));
		TL_CHECK_MSG(tl_driver_open_reader(&c.d, c.s, c.tab, &rs, &rd, &c.err) == TL_ERR_MISMATCH,
			     "resume after '%s': not a mismatch (%s)", bad[i], c.err.message);
		TL_CHECK(rd == NULL);
		TL_CHECK_MSG(strstr(c.err.message, "badval") != NULL, "message does not name the table: %s", c.err.message);
		NO_RETRY_FLAGS(&c);
		if (i == 0)
			TL_CHECK_MSG(strstr(c.err.message, "'abc'") != NULL, "message does not name the value: %s",
				     c.err.message);
	}
	if (c.sql) {
		tl_read_spec rr = read_spec(TL_READ_RANGE, 10);
		rr.lo = "1.5"; /* a decimal for an integer column */
		TL_CHECK_EQ_INT(tl_driver_open_reader(&c.d, c.s, c.tab, &rr, &rd, &c.err), TL_ERR_MISMATCH);
		TL_CHECK(rd == NULL);
		rr.lo = NULL;
		rr.hi = "abc";
		TL_CHECK_EQ_INT(tl_driver_open_reader(&c.d, c.s, c.tab, &rr, &rd, &c.err), TL_ERR_MISMATCH);
		TL_CHECK(rd == NULL);
	}
	if (c.ops->next_bound)
		TL_CHECK_EQ_INT(tl_driver_next_bound(&c.d, c.s, c.tab, "abc", 10, &b, &c.err), TL_ERR_MISMATCH);
	if (c.ops->delete_after)
		TL_CHECK_EQ_INT(tl_driver_delete_after(&c.d, c.t, c.tab, "abc", TL_DELETE_AFTER, &c.err), TL_ERR_MISMATCH);
	/* still usable */
	TL_CHECK_EQ_INT(count(&c, c.s, c.tab), 5);
	rs.after = NULL;
	TL_CHECK_EQ_INT(nread(&c, c.s, c.tab, &rs, NULL), 5);
done:
	free(b);
	tl_driver_close_reader(&c.d, rd);
	tl_keyvals_clear(&after);
	end(&c);
}

/* Memory stays bounded: a batch stops growing once it holds soft_bytes (one row past at
 * most), whatever batch_rows says; the rows come in the next calls. */
TL_TEST(contract_read_bounded_batches)
{
	enum { N = 1234 };
	struct ct c;
	tl_read_spec rs = read_spec(TL_READ_KEYED, 500);
	struct seen s;
	char id[16], v[128];
	size_t i;

	memset(&s, 0, sizeof(s));
	if (begin(&c))
		return;
	if (tab_spec(&c, "wide", "id int key, v text"))
		goto done;
	for (i = 1; i <= N; i++) {
		snprintf(id, sizeof(id), "%zu", i);
		snprintf(v, sizeof(v), "%0100zu", i);
		if (rows_addv(&c.rows, &c.err, id, v))
			goto done;
	}
	if (tab_make(&c, TAB_SRC, NULL))
		goto done;
	CT_OK(&c, pump(&c, c.s, c.tab, &rs, NULL, 0, 0, 2000, &s));
	TL_CHECK_EQ_INT(s.rows, N);
	TL_CHECK_MSG(s.batches > 10, "%zu batches of at most 2000 bytes for %d rows of 100 bytes", s.batches, N);
	TL_CHECK(s.max_rows <= 500);
	TL_CHECK_MSG(s.max_bytes < 2000 + 600, "a batch of %zu bytes (soft limit 2000)", s.max_bytes);
	if (s.n == N) {
		char *w = pos_of(&c, CT_INT, "1234");
		TL_CHECK_EQ_STR(s.keys[N - 1], w);
		free(w);
	}
	seen_clear(&s);
	/* and batch_rows bounds a batch when bytes do not */
	rs.batch_rows = 100;
	CT_OK(&c, pump(&c, c.s, c.tab, &rs, NULL, 0, 0, 1u << 22, &s));
	TL_CHECK_EQ_INT(s.rows, N);
	TL_CHECK_EQ_INT(s.max_rows, 100);
	TL_CHECK_EQ_INT(s.batches, 13);
done:
	seen_clear(&s);
	end(&c);
}

/* Closing a reader in the middle of its stream leaves the connection usable. */
TL_TEST(contract_read_close_early)
{
	struct ct c;
	tl_reader *rd = NULL;
	tl_batch b;
	size_t m;

	tl_batch_init(&b, 1, 1u << 20);
	if (begin(&c))
		goto out;
	if (tab_series(&c, "early", 1, 1, 300, TAB_SRC))
		goto done;
	tl_batch_set_ncols(&b, c.tab->ncols);
	for (m = 0; m < 2; m++) {
		tl_read_spec rs = read_spec(m ? TL_READ_SCAN : TL_READ_KEYED, 1);
		CT_OK(&c, tl_driver_open_reader(&c.d, c.s, c.tab, &rs, &rd, &c.err));
		tl_batch_reset(&b);
		CT_OK(&c, tl_driver_read_batch(&c.d, rd, &b, &c.err));
		TL_CHECK_EQ_INT(b.nrows, 1);
		tl_driver_close_reader(&c.d, rd);
		rd = NULL;
		TL_CHECK_EQ_INT(count(&c, c.s, c.tab), 300);
	}
	{
		tl_read_spec rs = read_spec(TL_READ_KEYED, 1000);
		TL_CHECK_EQ_INT(nread(&c, c.s, c.tab, &rs, NULL), 300);
	}
	tl_driver_close_reader(&c.d, NULL); /* accepts NULL */
done:
	tl_driver_close_reader(&c.d, rd);
	end(&c);
out:
	tl_batch_release(&b);
}

/* row_key renders key values as §2.4 / §2.5 say, names the key columns, and renders the
 * partition column alone (split mode's positions). */
TL_TEST(contract_row_key_rendering)
{
	static const char *const ids[] = {"-9223372036854775808", "-1", "0", "9223372036854775807", NULL};
	struct ct c;
	tl_reader *rd = NULL;
	tl_keyvals k = {0, NULL, NULL};
	tl_read_spec rs = read_spec(TL_READ_KEYED, 100);
	tl_batch b;
	size_t i;

	tl_batch_init(&b, 1, 1u << 20);
	if (begin(&c))
		goto out;
	if (tab_spec(&c, "rkey", "id int key, t text null"))
		goto done;
	for (i = 0; ids[i]; i++)
		if (rows_addv(&c.rows, &c.err, ids[i], i ? "x" : NULL))
			goto done;
	if (tab_make(&c, TAB_SRC, NULL))
		goto done;
	tl_batch_set_ncols(&b, c.tab->ncols);
	CT_OK(&c, tl_driver_open_reader(&c.d, c.s, c.tab, &rs, &rd, &c.err));
	CT_OK(&c, tl_driver_read_batch(&c.d, rd, &b, &c.err));
	CT_REQUIRE(b.nrows == 4);
	for (i = 0; i < 4; i++) {
		char *want = pos_of(&c, CT_INT, ids[i]);
		CT_OK(&c, tl_driver_row_key(&c.d, c.tab, &b, i, c.tab->key_idx, c.tab->nkeys, &k, &c.err));
		TL_CHECK_EQ_INT(k.n, 1);
		TL_CHECK_EQ_STR(k.cols[0], key_name(&c, &c.st, 0));
		TL_CHECK_EQ_STR(k.vals[0], want);
		free(want);
	}
	if (c.sql) {
		/* the partition column alone (here the key's first column) */
		size_t part = c.tab->part_idx;
		CT_OK(&c, tl_driver_row_key(&c.d, c.tab, &b, 3, &part, 1, &k, &c.err));
		TL_CHECK_EQ_STR(k.vals[0], "9223372036854775807");
	}
done:
	tl_keyvals_clear(&k);
	tl_driver_close_reader(&c.d, rd);
	end(&c);
out:
	tl_batch_release(&b);
}

/* ---- targets and writes ---------------------------------------------------------------- */

TL_TEST(contract_check_target)
{
	struct ct c;
	ct_table src, dst;
	ct_rows one = {4, 0, 0, NULL};
	tl_table *t = NULL;
	int empty = -1;

	if (begin(&c))
		return;
	if (spec(&src, S1, "ctgt", "id int key, v text null, w int null") || make(&c, CT_SRC, &src, NULL))
		goto done;
	CT_REQUIRE((t = describe(&c, c.s, S1, "ctgt")) != NULL);
	CT_OK(&c, c.f->drop(c.fx, CT_DST, S1, "ctgt", &c.err));
	if (c.docs) {
		/* a collection comes into being with its first write: a missing one is empty */
		CT_OK(&c, tl_driver_check_target(&c.d, c.t, t, &empty, &c.err));
		TL_CHECK_EQ_INT(empty, 1);
	} else {
		TL_CHECK_EQ_INT(tl_driver_check_target(&c.d, c.t, t, &empty, &c.err), TL_ERR_NOTFOUND);
		NAMES_TABLE(&c, S1, "ctgt");
	}
	if (c.sql) {
		/* a column missing (whether names differing in letter case match is the server's
		 * rule: MySQL's column names are case-insensitive, PostgreSQL's are not) */
		if (spec(&dst, S1, "ctgt", "id int key, v text null") || make(&c, CT_DST, &dst, NULL))
			goto done;
		TL_CHECK_EQ_INT(tl_driver_check_target(&c.d, c.t, t, &empty, &c.err), TL_ERR_MISMATCH);
		NO_RETRY_FLAGS(&c);
		NAMES_TABLE(&c, S1, "ctgt");
		TL_CHECK_MSG(strstr(c.err.message, "w") != NULL, "message does not name column w: %s", c.err.message);
		/* extra target columns are fine */
		if (spec(&dst, S1, "ctgt", "id int key, v text null, w int null, extra int null") ||
		    make(&c, CT_DST, &dst, NULL))
			goto done;
	} else if (make(&c, CT_DST, &src, NULL)) {
		goto done;
	}
	CT_OK(&c, tl_driver_check_target(&c.d, c.t, t, &empty, &c.err));
	TL_CHECK_EQ_INT(empty, 1);
	one.ncols = c.sql ? 4 : 3;
	if (rows_addv(&one, &c.err, "1", "x", "2", NULL))
		goto done;
	CT_OK(&c, c.f->insert(c.fx, CT_DST, c.sql ? &dst : &src, (const char *const *)one.cells, 1, &c.err));
	CT_OK(&c, tl_driver_check_target(&c.d, c.t, t, &empty, &c.err));
	TL_CHECK_EQ_INT(empty, 0);
done:
	ct_rows_clear(&one);
	tl_driver_free_table(&c.d, t);
	end(&c);
}

/*
 * One batch is one transaction (relational kinds): a plain insert of a key the target
 * holds fails the whole batch - here the last of 5,000 rows, past the statements a
 * driver splits a big batch into - with TL_ERR_DB naming the table, and writes nothing.
 */
TL_TEST(contract_write_batch_is_atomic)
{
	enum { N = 5000 };
	struct ct c;
	ct_rows tail = {3, 0, 0, NULL};
	tl_reader *rd = NULL;
	tl_read_spec rs = read_spec(TL_READ_KEYED, N);
	tl_batch b;

	tl_batch_init(&b, 1, 1u << 24);
	if (begin(&c))
		goto out;
	if (!c.sql) {
		tl_test_na("documents are written as replaces by _id without a transaction (upserts: idempotent, not "
			   "atomic)");
		goto done;
	}
	if (tab_spec(&c, "atomic", "id int key, v text null, n int null") || series(&c, &c.rows, 3, 1, 1, N) ||
	    series(&c, &tail, 3, N, 1, 1))
		goto done;
	if (tab_make(&c, TAB_DST_EMPTY, NULL))
		goto done;
	tl_batch_set_ncols(&b, c.tab->ncols);
	CT_OK(&c, tl_driver_open_reader(&c.d, c.s, c.tab, &rs, &rd, &c.err));
	CT_OK(&c, tl_driver_read_batch(&c.d, rd, &b, &c.err));
	CT_REQUIRE(b.nrows == N);
	CT_OK(&c, c.f->insert(c.fx, CT_DST, &c.st, (const char *const *)tail.cells, 1, &c.err));
	TL_CHECK_EQ_INT(tl_driver_write_batch(&c.d, c.t, c.tab, &b, 0, &c.err), TL_ERR_DB);
	NAMES_TABLE(&c, S1, "atomic");
	NO_RETRY_FLAGS(&c); /* a constraint violation: rolled back, not worth a retry */
	TL_CHECK_EQ_INT(count(&c, c.t, c.tab), 1);
	/* an upsert of the same batch goes through */
	CT_OK(&c, tl_driver_write_batch(&c.d, c.t, c.tab, &b, TL_WRITE_UPSERT, &c.err));
	EXPECT_ROWS(&c, CT_DST, &c.st, &c.rows);
done:
	tl_driver_close_reader(&c.d, rd);
	ct_rows_clear(&tail);
	end(&c);
out:
	tl_batch_release(&b);
}

/* Upserts are idempotent and repair changed rows; a table of only key columns too. */
TL_TEST(contract_write_upsert_idempotent)
{
	struct ct c;
	ct_table st, ko, kc;
	ct_rows rows = {3, 0, 0, NULL}, old = {3, 0, 0, NULL}, krows = {1, 0, 0, NULL}, crows = {2, 0, 0, NULL};
	tl_table *t = NULL, *tk = NULL, *tc = NULL;
	tl_read_spec rs = read_spec(TL_READ_KEYED, 7);
	size_t i;
	int r;

	if (begin(&c))
		return;
	if (spec(&st, S1, "ups", "id int key, v text null, n int null") || spec(&ko, S1, "ups_keyonly", "a int key") ||
	    spec(&kc, S1, "ups_keyonly2", "a int, b text; primary (a, b)") || series(&c, &rows, 3, 1, 1, 40))
		goto done;
	for (i = 1; i <= 10; i++) {
		char id[8];
		snprintf(id, sizeof(id), "%zu", i);
		if (rows_addv(&old, &c.err, id, "old", "0") || rows_addv(&krows, &c.err, id) ||
		    rows_addv(&crows, &c.err, i % 2 ? "1" : "2", id))
			goto done;
	}
	if (make(&c, CT_SRC, &st, &rows) || make(&c, CT_DST, &st, &old) || make(&c, CT_SRC, &ko, &krows) ||
	    make(&c, CT_DST, &ko, NULL))
		goto done;
	CT_REQUIRE((t = describe(&c, c.s, S1, "ups")) && (tk = describe(&c, c.s, S1, "ups_keyonly")));
	TL_CHECK_EQ_INT(copy(&c, t, &rs, TL_WRITE_UPSERT, 1), 40);
	EXPECT_ROWS(&c, CT_DST, &st, &rows);
	TL_CHECK_EQ_INT(copy(&c, t, &rs, TL_WRITE_UPSERT, 0), 40);
	EXPECT_ROWS(&c, CT_DST, &st, &rows);
	TL_CHECK_EQ_INT(copy(&c, tk, &rs, TL_WRITE_UPSERT, 1), 10);
	TL_CHECK_EQ_INT(copy(&c, tk, &rs, TL_WRITE_UPSERT, 1), 10);
	EXPECT_ROWS(&c, CT_DST, &ko, &krows);
	if (c.sql) {
		if ((r = make(&c, CT_SRC, &kc, &crows)) < 0 || (!r && make(&c, CT_DST, &kc, NULL)))
			goto done;
		if (!r) {
			CT_REQUIRE((tc = describe(&c, c.s, S1, "ups_keyonly2")) != NULL);
			TL_CHECK_EQ_INT(copy(&c, tc, &rs, TL_WRITE_UPSERT, 1), 10);
			TL_CHECK_EQ_INT(copy(&c, tc, &rs, TL_WRITE_UPSERT, 0), 10);
			EXPECT_ROWS(&c, CT_DST, &kc, &crows);
		}
	}
done:
	tl_driver_free_table(&c.d, t);
	tl_driver_free_table(&c.d, tk);
	tl_driver_free_table(&c.d, tc);
	ct_rows_clear(&rows);
	ct_rows_clear(&old);
	ct_rows_clear(&krows);
	ct_rows_clear(&crows);
	end(&c);
}

/* TL_WRITE_TARGET_EMPTY (the bulk path of TL_CAP_BULK_EMPTY kinds) lands the same rows,
 * including text that a text protocol must escape. */
TL_TEST(contract_write_target_empty_bulk)
{
	static const char *const texts[] = {"tab\there", "nl\nx", "back\\slash", "\\N", "", "quote'\"", "\xe2\x82\xac",
					    "cr\rx", NULL};
	struct ct c;
	tl_read_spec rs = read_spec(TL_READ_KEYED, 300);
	char id[16];
	size_t i;
	int empty = 0;

	if (begin(&c))
		return;
	if (tab_spec(&c, "bulk", "id int key, v text null, n int null") || series(&c, &c.rows, 3, 100, 1, 1000))
		goto done;
	for (i = 0; texts[i]; i++) {
		snprintf(id, sizeof(id), "%zu", i + 1);
		if (rows_addv(&c.rows, &c.err, id, texts[i], NULL))
			goto done;
	}
	if (tab_make(&c, TAB_DST_EMPTY, NULL))
		goto done;
	CT_OK(&c, tl_driver_check_target(&c.d, c.t, c.tab, &empty, &c.err));
	TL_CHECK(empty);
	TL_CHECK_EQ_INT(copy(&c, c.tab, &rs, TL_WRITE_TARGET_EMPTY | TL_WRITE_UPSERT, 1), (long long)c.rows.nrows);
	EXPECT_ROWS(&c, CT_DST, &c.st, &c.rows);
	CT_OK(&c, tl_driver_check_target(&c.d, c.t, c.tab, &empty, &c.err));
	TL_CHECK(!empty);
	TL_CHECK_EQ_INT(count(&c, c.t, c.tab), (long long)c.rows.nrows);
	/* durable commits change nothing in what lands */
	TL_CHECK_EQ_INT(copy(&c, c.tab, &rs, TL_WRITE_UPSERT | TL_WRITE_DURABLE, 0), (long long)c.rows.nrows);
	EXPECT_ROWS(&c, CT_DST, &c.st, &c.rows);
done:
	end(&c);
}

/* Rows with a NULL key column cannot be upserted (nothing to conflict on): a second NULL
 * pass duplicates them, which is why the engine deletes them first (delete_after). */
TL_TEST(contract_write_null_keys_and_delete)
{
	struct ct c;
	tl_read_spec rs = read_spec(TL_READ_KEYED, 4);

	if (begin(&c))
		return;
	if (!c.sql) {
		tl_test_na("NULL keys need TL_CAP_SQL (an _id is never NULL)");
		goto done;
	}
	if (tab_nullable_key(&c, "wnull", TAB_DST_EMPTY))
		goto done;
	TL_CHECK_EQ_INT(copy(&c, c.tab, &rs, TL_WRITE_UPSERT, 1), 6);
	rs.mode = TL_READ_KEY_NULLS;
	TL_CHECK_EQ_INT(copy(&c, c.tab, &rs, TL_WRITE_UPSERT, 0), 6);
	EXPECT_ROWS(&c, CT_DST, &c.st, &c.rows);
	TL_CHECK_EQ_INT(copy(&c, c.tab, &rs, TL_WRITE_UPSERT, 0), 6);
	TL_CHECK_EQ_INT(count(&c, c.t, c.tab), 18);
	if (!c.ops->delete_after) {
		not_applicable(tl_driver_delete_after(&c.d, c.t, c.tab, NULL, TL_DELETE_AFTER, &c.err) == TL_ERR_UNSUPPORTED,
			       "the %s driver has no delete_after", c.ops->name);
		goto done;
	}
	CT_OK(&c, tl_driver_delete_after(&c.d, c.t, c.tab, NULL, TL_DELETE_PART_NULLS, &c.err));
	TL_CHECK_EQ_INT(count(&c, c.t, c.tab), 8);
	CT_OK(&c, tl_driver_delete_after(&c.d, c.t, c.tab, NULL, TL_DELETE_KEY_NULLS, &c.err));
	TL_CHECK_EQ_INT(count(&c, c.t, c.tab), 6);
	CT_OK(&c, tl_driver_delete_after(&c.d, c.t, c.tab, "3", TL_DELETE_AFTER, &c.err));
	TL_CHECK_EQ_INT(count(&c, c.t, c.tab), 3);
	CT_OK(&c, tl_driver_delete_after(&c.d, c.t, c.tab, NULL, TL_DELETE_AFTER, &c.err));
	TL_CHECK_EQ_INT(count(&c, c.t, c.tab), 0);
done:
	end(&c);
}

/* A keyless table: split reads copy it once; plain writes keep duplicates (no key to
 * conflict on); delete_after cuts on the partition column. */
TL_TEST(contract_write_keyless)
{
	static const char *const data[][2] = {{"a", "1"}, {"a", "1"}, {"b", "2"}, {NULL, "3"}, {NULL, "3"}};
	struct ct c;
	ct_rows twice = {2, 0, 0, NULL};
	tl_read_spec rs = read_spec(TL_READ_RANGE, 2);
	size_t i;

	if (begin(&c))
		return;
	if (!c.sql) {
		tl_test_na("keyless tables need TL_CAP_SQL (every document has an _id)");
		goto done;
	}
	if (tab_spec(&c, "wkeyless", "p text null, v int null"))
		goto done;
	for (i = 0; i < 5; i++)
		if (ct_rows_add(&c.rows, data[i], &c.err) || ct_rows_add(&twice, data[i], &c.err) ||
		    ct_rows_add(&twice, data[i], &c.err))
			goto done;
	if (tab_make(&c, TAB_DST_EMPTY, "a keyless table"))
		goto done;
	TL_CHECK_EQ_INT(copy(&c, c.tab, &rs, TL_WRITE_UPSERT, 0), 3);
	rs.mode = TL_READ_PART_NULLS;
	TL_CHECK_EQ_INT(copy(&c, c.tab, &rs, TL_WRITE_UPSERT, 0), 2);
	EXPECT_ROWS(&c, CT_DST, &c.st, &c.rows);
	rs.mode = TL_READ_SCAN;
	TL_CHECK_EQ_INT(copy(&c, c.tab, &rs, 0, 0), 5);
	EXPECT_ROWS(&c, CT_DST, &c.st, &twice);
	if (c.ops->delete_after) {
		CT_OK(&c, tl_driver_delete_after(&c.d, c.t, c.tab, "a", TL_DELETE_AFTER, &c.err));
		TL_CHECK_EQ_INT(count(&c, c.t, c.tab), 8);
		CT_OK(&c, tl_driver_delete_after(&c.d, c.t, c.tab, NULL, TL_DELETE_PART_NULLS, &c.err));
		TL_CHECK_EQ_INT(count(&c, c.t, c.tab), 4);
	}
done:
	ct_rows_clear(&twice);
	end(&c);
}

/* Names with quotes, dots and the like in schema, table and column: listed, described,
 * read, resumed, written, checked, deleted from. */
TL_TEST(contract_hostile_names)
{
	struct ct c;
	ct_rows first2 = {2, 0, 0, NULL};
	tl_keyvals after = {0, NULL, NULL};
	tl_read_spec rs = read_spec(TL_READ_KEYED, 2);
	static const char *const vals[] = {"a\"b", "c'd", NULL, "`e`", "f;--"};
	char id[8];
	size_t i;
	int empty = 0;

	if (begin(&c))
		return;
	memset(&c.st, 0, sizeof(c.st));
	c.st.schema = c.f->hostile_schema;
	c.st.name = c.f->hostile_table;
	c.st.ncols = 2;
	snprintf(c.st.cols[0].name, sizeof(c.st.cols[0].name), "%s", c.docs ? "id" : c.f->hostile_column);
	c.st.cols[0].type = CT_INT;
	snprintf(c.st.cols[1].name, sizeof(c.st.cols[1].name), "%s", c.docs ? c.f->hostile_column : "v");
	c.st.cols[1].type = CT_TEXT;
	c.st.cols[1].nullable = 1;
	c.st.pk.n = 1;
	c.rows.ncols = c.st.ncols;
	for (i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "%zu", i + 1);
		if (rows_addv(&c.rows, &c.err, id, vals[i]) || (i < 2 && rows_addv(&first2, &c.err, id, vals[i])))
			goto done;
	}
	CT_OK(&c, c.f->drop_schema(c.fx, CT_DST, c.st.schema, &c.err));
	if (tab_make(&c, TAB_SRC, NULL))
		goto done;
	TL_CHECK_EQ_STR(c.tab->schema, c.st.schema);
	TL_CHECK_EQ_STR(c.tab->name, c.st.name);
	TL_CHECK_EQ_STR(c.tab->keys[0]->name, key_name(&c, &c.st, 0));
	CHECK_KEYED_READS(&c, &c.st, c.tab, &c.rows, 5);
	{
		const char *one[] = {"1"};
		struct seen s;
		CT_OK(&c, after_key(&c, &c.st, one, &after));
		rs.after = &after;
		TL_CHECK_EQ_INT(nread(&c, c.s, c.tab, &rs, &s), 4);
		seen_clear(&s);
		rs.after = NULL;
	}
	if (make(&c, CT_DST, &c.st, NULL))
		goto done;
	CT_OK(&c, tl_driver_check_target(&c.d, c.t, c.tab, &empty, &c.err));
	TL_CHECK(empty);
	TL_CHECK_EQ_INT(copy(&c, c.tab, &rs, TL_WRITE_TARGET_EMPTY | TL_WRITE_UPSERT, 1), 5);
	TL_CHECK_EQ_INT(copy(&c, c.tab, &rs, TL_WRITE_UPSERT, 1), 5);
	EXPECT_ROWS(&c, CT_DST, &c.st, &c.rows);
	if (c.ops->next_bound) {
		char *b = NULL;
		CT_OK(&c, tl_driver_next_bound(&c.d, c.s, c.tab, NULL, 2, &b, &c.err));
		TL_CHECK_EQ_STR(b, "2");
		free(b);
	}
	if (c.ops->delete_after) {
		char *two = pos_of(&c, CT_INT, "2");
		int rc = tl_driver_delete_after(&c.d, c.t, c.tab, two, TL_DELETE_AFTER, &c.err);
		free(two);
		CT_OK(&c, rc);
		EXPECT_ROWS(&c, CT_DST, &c.st, &first2);
	}
done:
	tl_keyvals_clear(&after);
	ct_rows_clear(&first2);
	end(&c);
}

/* native_form and tl_read_spec.native: rows kept in the driver's own encoding between two
 * connections of the kind land exactly as the cell path lands them; row_key reads the
 * native forms too; native 0 never gives a native batch. */
TL_TEST(contract_native_form)
{
	static const char *const texts[] = {"tab\there", "nl\nx", "back\\slash", "\\N", "", "quote'\"", "\\.", NULL};
	struct ct c;
	tl_read_spec rs = read_spec(TL_READ_KEYED, 333);
	struct seen s0, s1;
	int level = -1, empty = 0, lv;
	char id[16];
	size_t i;

	memset(&s0, 0, sizeof(s0));
	memset(&s1, 0, sizeof(s1));
	if (begin(&c))
		return;
	if (tab_spec(&c, "native", "id int key, v text null, n int null") || series(&c, &c.rows, 3, 10, 1, 2000))
		goto done;
	for (i = 0; texts[i]; i++) {
		snprintf(id, sizeof(id), "%zu", i + 1);
		if (rows_addv(&c.rows, &c.err, id, texts[i], "-1"))
			goto done;
	}
	if (tab_make(&c, TAB_DST_EMPTY, NULL))
		goto done;
	CT_OK(&c, tl_driver_check_target(&c.d, c.t, c.tab, &empty, &c.err));
	if (!c.ops->native_form) {
		not_applicable(tl_driver_native_form(&c.d, c.t, c.tab, &level, &c.err) == TL_ERR_UNSUPPORTED,
			       "the %s driver has no native batch forms (native_form)", c.ops->name);
		goto done;
	}
	CT_OK(&c, tl_driver_native_form(&c.d, c.t, c.tab, &level, &c.err));
	TL_CHECK_MSG(level == 1 || level == 2, "native_form level %d", level);
	CT_OK(&c, pump(&c, c.s, c.tab, &rs, NULL, 0, 0, 1u << 20, &s0));
	TL_CHECK(!s0.native);
	for (lv = 1; lv <= level; lv++) {
		rs.native = lv;
		CT_OK(&c, pump(&c, c.s, c.tab, &rs, c.t, TL_WRITE_TARGET_EMPTY | TL_WRITE_UPSERT, 1, 1u << 20, &s1));
		TL_CHECK_MSG(s1.native, "level %d: no native batch", lv);
		TL_CHECK_EQ_INT(s1.rows, c.rows.nrows);
		for (i = 0; i < s0.n && i < s1.n; i++)
			TL_CHECK_MSG(strcmp(s0.keys[i], s1.keys[i]) == 0, "level %d: row %zu renders another key", lv, i);
		seen_clear(&s1);
		EXPECT_ROWS(&c, CT_DST, &c.st, &c.rows);
		/* over the rows just written: upserts, in the portable native form (level 2 is for
		 * a target that was empty) */
		rs.native = 1;
		CT_OK(&c, pump(&c, c.s, c.tab, &rs, c.t, TL_WRITE_UPSERT, 0, 1u << 20, &s1));
		seen_clear(&s1);
		EXPECT_ROWS(&c, CT_DST, &c.st, &c.rows);
		if (make(&c, CT_DST, &c.st, NULL))
			goto done;
	}
done:
	seen_clear(&s0);
	seen_clear(&s1);
	end(&c);
}

/* delete_after: rows past a position go, those up to it stay exactly; NULL empties. */
TL_TEST(contract_delete_after)
{
	struct ct c;
	ct_rows first = {3, 0, 0, NULL};
	tl_read_spec rs = read_spec(TL_READ_KEYED, 100);
	char *pos = NULL;

	if (begin(&c))
		return;
	if (tab_spec(&c, "delafter", "id int key, v text null, n int null") || series(&c, &c.rows, 3, 1, 1, 20) ||
	    series(&c, &first, 3, 1, 1, 12))
		goto done;
	if (tab_make(&c, TAB_DST_EMPTY, NULL))
		goto done;
	if (!c.ops->delete_after) {
		not_applicable(tl_driver_delete_after(&c.d, c.t, c.tab, NULL, TL_DELETE_AFTER, &c.err) == TL_ERR_UNSUPPORTED,
			       "the %s driver has no delete_after", c.ops->name);
		goto done;
	}
	TL_CHECK_EQ_INT(copy(&c, c.tab, &rs, TL_WRITE_UPSERT, 0), 20);
	pos = pos_of(&c, CT_INT, "12");
	CT_OK(&c, tl_driver_delete_after(&c.d, c.t, c.tab, pos, TL_DELETE_AFTER, &c.err));
	EXPECT_ROWS(&c, CT_DST, &c.st, &first);
	CT_OK(&c, tl_driver_delete_after(&c.d, c.t, c.tab, pos, TL_DELETE_AFTER, &c.err)); /* nothing more */
	TL_CHECK_EQ_INT(count(&c, c.t, c.tab), 12);
	if (!c.sql) {
		/* no NULL passes without TL_CAP_SQL */
		TL_CHECK_EQ_INT(tl_driver_delete_after(&c.d, c.t, c.tab, NULL, TL_DELETE_KEY_NULLS, &c.err), TL_ERR_UNSUPPORTED);
		TL_CHECK_EQ_INT(tl_driver_delete_after(&c.d, c.t, c.tab, NULL, TL_DELETE_PART_NULLS, &c.err),
				TL_ERR_UNSUPPORTED);
	}
	CT_OK(&c, tl_driver_delete_after(&c.d, c.t, c.tab, NULL, TL_DELETE_AFTER, &c.err));
	TL_CHECK_EQ_INT(count(&c, c.t, c.tab), 0);
done:
	free(pos);
	ct_rows_clear(&first);
	end(&c);
}

/* delete_after_key: rows whose whole key is past a composite position go, and rows with a
 * NULL key column (the NULL pass copies them again). */
TL_TEST(contract_delete_after_key)
{
	static const char *const data[][3] = {{"a", "1", "x"}, {"a", "2", "x"}, {"a", "10", NULL}, {"b", "1", "x"},
					      {"b", "5", "x"},  {NULL, "1", "x"}, {"c", NULL, "x"}};
	struct ct c;
	ct_rows kept = {3, 0, 0, NULL};
	tl_keyvals after = {0, NULL, NULL};
	tl_read_spec rs = read_spec(TL_READ_KEYED, 100);
	size_t i;
	int r;

	if (begin(&c))
		return;
	if (tab_spec(&c, "delkey", "g text null, n int null, v text null; unique k (g, n)"))
		goto done;
	if (!c.ops->delete_after_key) {
		ct_table one;
		if (spec(&one, S1, "delkey1", "id int key") || make(&c, CT_SRC, &one, NULL) ||
		    !(c.tab = describe(&c, c.s, S1, "delkey1")))
			goto done;
		{
			const char *v[] = {"1"};
			CT_OK(&c, after_key(&c, &one, v, &after));
		}
		not_applicable(tl_driver_delete_after_key(&c.d, c.t, c.tab, &after, &c.err) == TL_ERR_UNSUPPORTED,
			       "the %s driver has no delete_after_key", c.ops->name);
		goto done;
	}
	for (i = 0; i < sizeof(data) / sizeof(data[0]); i++)
		if (ct_rows_add(&c.rows, data[i], &c.err) || (i < 2 && ct_rows_add(&kept, data[i], &c.err)))
			goto done;
	if ((r = make(&c, CT_SRC, &c.st, &c.rows)) || make(&c, CT_DST, &c.st, &c.rows)) {
		if (r > 0)
			tl_test_na("the fixture of %s cannot build a composite nullable key (delete_after_key is tested "
				   "deeply by test_schema_%s)",
				   c.f->kind, c.f->kind);
		goto done;
	}
	CT_REQUIRE((c.tab = describe(&c, c.s, S1, "delkey")) != NULL);
	{
		const char *bad[] = {"a", "x"}, *mid[] = {"a", "2"};
		CT_OK(&c, after_key(&c, &c.st, bad, &after));
		TL_CHECK_EQ_INT(tl_driver_delete_after_key(&c.d, c.t, c.tab, &after, &c.err), TL_ERR_MISMATCH);
		TL_CHECK_EQ_INT(count(&c, c.t, c.tab), 7);
		CT_OK(&c, after_key(&c, &c.st, mid, &after));
		CT_OK(&c, tl_driver_delete_after_key(&c.d, c.t, c.tab, &after, &c.err));
		EXPECT_ROWS(&c, CT_DST, &c.st, &kept);
		/* and a resume from there brings back exactly the rest */
		rs.after = &after;
		TL_CHECK_EQ_INT(copy(&c, c.tab, &rs, 0, 1), 3);
		rs.after = NULL;
		rs.mode = TL_READ_KEY_NULLS;
		TL_CHECK_EQ_INT(copy(&c, c.tab, &rs, 0, 0), 2);
		EXPECT_ROWS(&c, CT_DST, &c.st, &c.rows);
	}
done:
	tl_keyvals_clear(&after);
	ct_rows_clear(&kept);
	end(&c);
}

/* checksum: the same rows give the same sum on both servers, for the whole table and for
 * a key range (lo, hi] given as positions; one changed row changes the sums covering it. */
TL_TEST(contract_checksum)
{
	struct ct c;
	ct_rows changed = {3, 0, 0, NULL};
	tl_read_spec rs = read_spec(TL_READ_KEYED, 100);
	int64_t r1 = -1, r2 = -2;
	uint64_t s1 = 1, s2 = 2;
	char *p5 = NULL, *p15 = NULL, *p25 = NULL;
	size_t i;

	if (begin(&c))
		return;
	if (tab_spec(&c, "cksum", "id int key, v text null, n int null") || series(&c, &c.rows, 3, 1, 1, 30))
		goto done;
	changed.ncols = 3;
	for (i = 0; i < c.rows.nrows; i++)
		if (ct_rows_add(&changed, (const char *const *)&c.rows.cells[i * 3], &c.err))
			goto done;
	free(changed.cells[19 * 3 + 1]);
	changed.cells[19 * 3 + 1] = strdup("changed"); /* id 20 */
	if (tab_make(&c, TAB_DST_EMPTY, NULL))
		goto done;
	if (!c.ops->checksum) {
		not_applicable(tl_driver_checksum(&c.d, c.s, c.tab, NULL, NULL, &r1, &s1, &c.err) == TL_ERR_UNSUPPORTED,
			       "the %s driver has no checksum (verify compares counts only)", c.ops->name);
		goto done;
	}
	p5 = pos_of(&c, CT_INT, "5");
	p15 = pos_of(&c, CT_INT, "15");
	p25 = pos_of(&c, CT_INT, "25");
	TL_CHECK_EQ_INT(copy(&c, c.tab, &rs, TL_WRITE_UPSERT, 0), 30);
	CT_OK(&c, tl_driver_checksum(&c.d, c.s, c.tab, NULL, NULL, &r1, &s1, &c.err));
	CT_OK(&c, tl_driver_checksum(&c.d, c.t, c.tab, NULL, NULL, &r2, &s2, &c.err));
	TL_CHECK(r1 == 30 && r2 == 30 && s1 == s2);
	CT_OK(&c, tl_driver_checksum(&c.d, c.s, c.tab, p5, p15, &r1, &s1, &c.err));
	CT_OK(&c, tl_driver_checksum(&c.d, c.t, c.tab, p5, p15, &r2, &s2, &c.err));
	TL_CHECK(r1 == 10 && r2 == 10 && s1 == s2);
	CT_OK(&c, tl_driver_checksum(&c.d, c.s, c.tab, NULL, p5, &r1, &s1, &c.err));
	TL_CHECK_EQ_INT(r1, 5);
	CT_OK(&c, tl_driver_checksum(&c.d, c.s, c.tab, p25, NULL, &r1, &s1, &c.err));
	TL_CHECK_EQ_INT(r1, 5);
	/* the target with row 20 changed */
	if (make(&c, CT_DST, &c.st, &changed))
		goto done;
	CT_OK(&c, tl_driver_checksum(&c.d, c.s, c.tab, NULL, NULL, &r1, &s1, &c.err));
	CT_OK(&c, tl_driver_checksum(&c.d, c.t, c.tab, NULL, NULL, &r2, &s2, &c.err));
	TL_CHECK(r1 == r2 && s1 != s2);
	CT_OK(&c, tl_driver_checksum(&c.d, c.s, c.tab, p15, p25, &r1, &s1, &c.err));
	CT_OK(&c, tl_driver_checksum(&c.d, c.t, c.tab, p15, p25, &r2, &s2, &c.err));
	TL_CHECK(r1 == 10 && r2 == 10 && s1 != s2);
	CT_OK(&c, tl_driver_checksum(&c.d, c.s, c.tab, p5, p15, &r1, &s1, &c.err));
	CT_OK(&c, tl_driver_checksum(&c.d, c.t, c.tab, p5, p15, &r2, &s2, &c.err));
	TL_CHECK(s1 == s2);
done:
	free(p5);
	free(p15);
	free(p25);
	ct_rows_clear(&changed);
	end(&c);
}

/* live_rows_many: the statistics' live row counts (exact once the statistics are
 * current; they may lag by seconds), -1 for a missing table (documents: 0 or -1). */
TL_TEST(contract_live_rows_many)
{
	struct ct c;
	ct_table st;
	ct_rows rows = {3, 0, 0, NULL};
	tl_name names[3] = {{(char *)S1, (char *)"live"}, {(char *)S1, (char *)"live_missing"},
			    {(char *)"tl_ct_nope_schema", (char *)"live"}};
	int64_t out[3] = {0, 0, 0};
	int tries;

	if (begin(&c))
		return;
	if (!c.ops->live_rows_many) {
		not_applicable(tl_driver_live_rows_many(&c.d, c.s, names, 3, out, &c.err) == TL_ERR_UNSUPPORTED,
			       "the %s driver has no live_rows_many", c.ops->name);
		goto done;
	}
	if (spec(&st, S1, "live", "id int key, v text null, n int null") || series(&c, &rows, 3, 1, 1, 17))
		goto done;
	if (make(&c, CT_SRC, &st, &rows))
		goto done;
	CT_OK(&c, c.f->drop(c.fx, CT_SRC, S1, "live_missing", &c.err));
	for (tries = 0; tries < 50; tries++) {
		CT_OK(&c, tl_driver_live_rows_many(&c.d, c.s, names, 3, out, &c.err));
		if (out[0] == 17)
			break;
		usleep(100 * 1000);
	}
	TL_CHECK_EQ_INT(out[0], 17);
	if (c.docs) {
		/* a missing collection holds nothing (as key_exists and check_target say): 0, or
		 * -1 as driver.h has it for a missing table; both make the caller see no rows */
		TL_CHECK_MSG(out[1] <= 0 && out[2] <= 0, "missing collections: %lld and %lld live rows", (long long)out[1],
			     (long long)out[2]);
	} else {
		TL_CHECK_EQ_INT(out[1], -1);
		TL_CHECK_EQ_INT(out[2], -1);
	}
	CT_OK(&c, tl_driver_live_rows_many(&c.d, c.s, names, 0, out, &c.err));
done:
	ct_rows_clear(&rows);
	end(&c);
}

/* The last call failed as a lost connection: TL_ERR_DB's flags TRANSIENT | CONN_LOST. */
#define LOST_FLAGS(c, what)                                                                                    \
	TL_CHECK_MSG(((c)->err.flags & (TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST)) == (TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST), \
		     "%s: flags 0x%x (%s)", what, (c)->err.flags, (c)->err.message)

/*
 * The target connection was lost (`how`: "a killed", "an interrupted"): writing batch b
 * (rows read from t) on it fails as a lost connection and lands nothing; disconnect takes
 * it, and a new connection writes the batch (the fixture then reads `rows`). 0, or -1 when
 * no new connection could write (the test is failed).
 */
static int write_lost_then_new(struct ct *c, const ct_table *st, const tl_table *t, const tl_batch *b,
			       const ct_rows *rows, const char *how)
{
	ct_rows none = {st->ncols, 0, 0, NULL};
	char what[80];

	snprintf(what, sizeof(what), "write_batch on %s connection", how);
	TL_CHECK_EQ_INT(tl_driver_write_batch(&c->d, c->t, t, b, TL_WRITE_UPSERT, &c->err), TL_ERR_DB);
	LOST_FLAGS(c, what);
	EXPECT_ROWS(c, CT_DST, st, &none);
	tl_driver_disconnect(&c->d, c->t);
	c->t = NULL;
	if (connect_side(c, CT_DST, &c->t))
		return -1;
	if (tl_driver_write_batch(&c->d, c->t, t, b, TL_WRITE_UPSERT, &c->err)) {
		tl_test_fail(__FILE__, __LINE__, "write_batch on a new connection: %s", c->err.message);
		return -1;
	}
	EXPECT_ROWS(c, CT_DST, st, rows);
	return 0;
}

/*
 * A connection the server ends (an administrator's KILL, a failover) fails the next call
 * with TL_ERR_DB and TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST (error.h), never silently on a
 * new session; a write on it fails as well (TL_ERRF_COMMIT_UNKNOWN allowed) and lands
 * nothing; disconnect takes the dead connection, and a new one writes the batch.
 */
TL_TEST(contract_error_connection_lost)
{
	struct ct c;
	tl_reader *rd = NULL;
	tl_read_spec rs = read_spec(TL_READ_KEYED, 100);
	tl_batch b;
	int64_t n = -1;
	int rc;

	tl_batch_init(&b, 1, 1u << 20);
	if (begin(&c))
		goto out;
	if (!c.f->kill_sessions) {
		tl_test_na("the %s fixture cannot end the driver's sessions on its test server", c.f->kind);
		goto done;
	}
	if (tab_series(&c, "lost", 1, 1, 20, TAB_DST_EMPTY))
		goto done;
	tl_batch_set_ncols(&b, c.tab->ncols);
	CT_OK(&c, tl_driver_open_reader(&c.d, c.s, c.tab, &rs, &rd, &c.err));
	CT_OK(&c, tl_driver_read_batch(&c.d, rd, &b, &c.err));
	CT_REQUIRE(b.nrows == 20);
	tl_driver_close_reader(&c.d, rd);
	rd = NULL;
	TL_CHECK_EQ_INT(count(&c, c.t, c.tab), 0); /* the target connection works */
	CT_OK(&c, c.f->kill_sessions(c.fx, CT_DST, APP_NAME, &c.err));
	rc = tl_driver_count_rows(&c.d, c.t, c.tab, &n, &c.err);
	TL_CHECK_EQ_INT(rc, TL_ERR_DB);
	LOST_FLAGS(&c, "count_rows on a killed connection");
	(void)write_lost_then_new(&c, &c.st, c.tab, &b, &c.rows, "a killed");
done:
	tl_driver_close_reader(&c.d, rd);
	end(&c);
out:
	tl_batch_release(&b);
}

/* ---- what a checkpoint claims, claims on target tables, durable commits ----------------- */

/* key_exists with one column: the value in the spec's text form (NULL: SQL NULL). */
static int exists1(struct ct *c, const tl_table *t, const char *col, enum ct_type type, const char *cell, int *out)
{
	tl_keyvals k = {0, NULL, NULL};
	char *v = pos_of(c, type, cell);
	int rc = (cell && !v) ? tl_error_set(&c->err, TL_ERR_NOMEM, "out of memory")
			      : tl_keyvals_set(&k, 1, &col, (const char *const *)&v, &c->err);

	*out = -1;
	rc = rc ? rc : tl_driver_key_exists(&c->d, c->t, t, &k, out, &c->err);
	tl_keyvals_clear(&k);
	free(v);
	return rc;
}

/*
 * key_exists finds a row of the target by the order key (documents: _id), and (relational
 * kinds) by any column of src, NULL matching NULL; a value that does not fit its column
 * is TL_ERR_MISMATCH naming it; a missing target table is TL_ERR_NOTFOUND (documents: a
 * missing collection holds nothing).
 */
TL_TEST(contract_key_exists)
{
	struct ct c;
	int ex = -1;

	if (begin(&c))
		return;
	/* rows 1..7, the 7th with n NULL */
	if (tab_series(&c, "kex", 1, 1, 7, TAB_DST_SAME))
		goto done;
	if (!c.ops->key_exists) {
		not_applicable(exists1(&c, c.tab, key_name(&c, &c.st, 0), CT_INT, "2", &ex) == TL_ERR_UNSUPPORTED,
			       "the %s driver has no key_exists (resumes trust the checkpoint)", c.ops->name);
		goto done;
	}
	CT_OK(&c, exists1(&c, c.tab, key_name(&c, &c.st, 0), CT_INT, "2", &ex));
	TL_CHECK_EQ_INT(ex, 1);
	CT_OK(&c, exists1(&c, c.tab, key_name(&c, &c.st, 0), CT_INT, "9", &ex));
	TL_CHECK_EQ_INT(ex, 0);
	CT_OK(&c, exists1(&c, c.tab, key_name(&c, &c.st, 0), CT_INT, "-1", &ex));
	TL_CHECK_EQ_INT(ex, 0);
	if (c.sql) {
		/* a column without an index, and NULL matching NULL */
		CT_OK(&c, exists1(&c, c.tab, "v", CT_TEXT, "v3", &ex));
		TL_CHECK_EQ_INT(ex, 1);
		CT_OK(&c, exists1(&c, c.tab, "v", CT_TEXT, "v33", &ex));
		TL_CHECK_EQ_INT(ex, 0);
		CT_OK(&c, exists1(&c, c.tab, "n", CT_INT, NULL, &ex));
		TL_CHECK_EQ_INT(ex, 1);
		CT_OK(&c, exists1(&c, c.tab, "n", CT_INT, "20", &ex));
		TL_CHECK_EQ_INT(ex, 1);
		CT_OK(&c, exists1(&c, c.tab, "n", CT_INT, "70", &ex)); /* row 7's n is NULL */
		TL_CHECK_EQ_INT(ex, 0);
	}
	{
		const char *col = key_name(&c, &c.st, 0), *bad = "abc";
		tl_keyvals k = {0, NULL, NULL};
		CT_OK(&c, tl_keyvals_set(&k, 1, &col, &bad, &c.err));
		TL_CHECK_EQ_INT(tl_driver_key_exists(&c.d, c.t, c.tab, &k, &ex, &c.err), TL_ERR_MISMATCH);
		tl_keyvals_clear(&k);
		TL_CHECK_MSG(strstr(c.err.message, "kex") && strstr(c.err.message, "abc"),
			     "message does not name the table and the value: %s", c.err.message);
		NO_RETRY_FLAGS(&c);
	}
	/* the target table gone */
	CT_OK(&c, c.f->drop(c.fx, CT_DST, S1, "kex", &c.err));
	if (c.docs) {
		CT_OK(&c, exists1(&c, c.tab, key_name(&c, &c.st, 0), CT_INT, "2", &ex));
		TL_CHECK_EQ_INT(ex, 0);
	} else {
		TL_CHECK_EQ_INT(exists1(&c, c.tab, key_name(&c, &c.st, 0), CT_INT, "2", &ex), TL_ERR_NOTFOUND);
		NAMES_TABLE(&c, S1, "kex");
		NO_RETRY_FLAGS(&c);
	}
done:
	end(&c);
}

/*
 * claim / release: one connection holds a target table; another is refused with
 * TL_ERR_LOCKED naming the table until the holder releases it or disconnects; claiming
 * again what one holds succeeds, releasing what one does not hold does nothing. Session
 * locks end when the server notices the client is gone: the suite waits up to 10 s.
 */
TL_TEST(contract_claim_release)
{
	struct ct c;
	ct_table st;
	tl_table *t = NULL;
	tl_conn *other = NULL;
	int rc = 0, i;

	if (begin(&c))
		return;
	if (spec(&st, S1, "claimed", "id int key, v text null") || make(&c, CT_SRC, &st, NULL) ||
	    make(&c, CT_DST, &st, NULL))
		goto done;
	CT_REQUIRE((t = describe(&c, c.s, S1, "claimed")) != NULL);
	if (!c.ops->claim || !c.ops->release) {
		TL_CHECK_MSG(!c.ops->claim && !c.ops->release, "claim and release: both or neither");
		not_applicable(tl_driver_claim(&c.d, c.t, t, "contract", &c.err) == TL_ERR_UNSUPPORTED,
			       "the %s driver claims no target tables", c.ops->name);
		goto done;
	}
	if (connect_side(&c, CT_DST, &other))
		goto done;
	CT_OK(&c, tl_driver_claim(&c.d, c.t, t, "contract holder (pid 1 on ct)", &c.err));
	CT_OK(&c, tl_driver_claim(&c.d, c.t, t, "contract holder (pid 1 on ct)", &c.err)); /* again: renews */
	TL_CHECK_EQ_INT(tl_driver_claim(&c.d, other, t, "contract other (pid 2 on ct)", &c.err), TL_ERR_LOCKED);
	NAMES_TABLE(&c, S1, "claimed");
	CT_OK(&c, tl_driver_release(&c.d, other, t, &c.err)); /* holds none: nothing */
	TL_CHECK_EQ_INT(tl_driver_claim(&c.d, other, t, "contract other (pid 2 on ct)", &c.err), TL_ERR_LOCKED);
	/* a write by the holder goes through */
	{
		tl_reader *rd = NULL;
		tl_batch b;
		tl_read_spec rs = read_spec(TL_READ_KEYED, 10);
		tl_batch_init(&b, t->ncols, 1u << 20);
		rc = tl_driver_open_reader(&c.d, c.s, t, &rs, &rd, &c.err);
		rc = rc ? rc : tl_driver_read_batch(&c.d, rd, &b, &c.err);
		tl_driver_close_reader(&c.d, rd);
		rc = rc ? rc : tl_driver_write_batch(&c.d, c.t, t, &b, TL_WRITE_UPSERT, &c.err);
		tl_batch_release(&b);
		CT_OK(&c, rc);
	}
	CT_OK(&c, tl_driver_release(&c.d, c.t, t, &c.err));
	CT_OK(&c, tl_driver_claim(&c.d, other, t, "contract other (pid 2 on ct)", &c.err));
	TL_CHECK_EQ_INT(tl_driver_claim(&c.d, c.t, t, "contract holder (pid 1 on ct)", &c.err), TL_ERR_LOCKED);
	/* disconnect ends the claim */
	tl_driver_disconnect(&c.d, other);
	other = NULL;
	for (i = 0; i < 100; i++) {
		if ((rc = tl_driver_claim(&c.d, c.t, t, "contract holder (pid 1 on ct)", &c.err)) != TL_ERR_LOCKED)
			break;
		usleep(100 * 1000);
	}
	TL_CHECK_MSG(rc == 0, "the claim of a disconnected connection still holds after 10 s: %s", c.err.message);
	CT_OK(&c, tl_driver_release(&c.d, c.t, t, &c.err));
done:
	tl_driver_disconnect(&c.d, other);
	tl_driver_free_table(&c.d, t);
	end(&c);
}

/* flush_commits returns after the target made earlier commits durable; what was written
 * stays as it was. (That a crash loses nothing after it is beyond a test.) */
TL_TEST(contract_flush_commits)
{
	struct ct c;
	tl_read_spec rs = read_spec(TL_READ_KEYED, 10);

	if (begin(&c))
		return;
	if (tab_series(&c, "flushed", 1, 1, 25, TAB_DST_EMPTY))
		goto done;
	if (!c.ops->flush_commits) {
		not_applicable(tl_driver_flush_commits(&c.d, c.t, c.tab, &c.err) == TL_ERR_UNSUPPORTED,
			       "the %s driver cannot make commits durable from a session (flush_commits)", c.ops->name);
		goto done;
	}
	TL_CHECK_EQ_INT(copy(&c, c.tab, &rs, TL_WRITE_UPSERT, 1), 25);
	CT_OK(&c, tl_driver_flush_commits(&c.d, c.t, c.tab, &c.err));
	CT_OK(&c, tl_driver_flush_commits(&c.d, c.t, c.tab, &c.err));
	EXPECT_ROWS(&c, CT_DST, &c.st, &c.rows);
	TL_CHECK_EQ_INT(count(&c, c.t, c.tab), 25);
done:
	end(&c);
}

/* ---- ape-dts' database store (§4) ------------------------------------------------------- */

struct ape_seen {
	int n;
	char rows[4][3][1400];
};

static int ape_collect(void *ctx, const tl_ape_row *row, tl_error *err)
{
	struct ape_seen *a = ctx;

	(void)err;
	if (a->n < 4) {
		snprintf(a->rows[a->n][0], sizeof(a->rows[0][0]), "%s", row->resumer_type);
		snprintf(a->rows[a->n][1], sizeof(a->rows[0][1]), "%s", row->position_key);
		snprintf(a->rows[a->n][2], sizeof(a->rows[0][2]), "%s", row->position_data ? row->position_data : "(null)");
	}
	a->n++;
	return 0;
}

static int ape_stop(void *ctx, const tl_ape_row *row, tl_error *err)
{
	(void)ctx;
	(void)row;
	return tl_error_set(err, TL_ERR_PARSE, "stop at the first row");
}

TL_TEST(contract_ape_store)
{
	static const char *const S = "tl_ct_ape", *const T = "apedts_task_position";
	struct ct c;
	struct ape_seen *seen = calloc(1, sizeof(*seen));
	const char *task = "task'1\"; --";
	char longdata[1200];
	tl_ape_row r1 = {"SnapshotDoing", "test_db_@-resume_table_*$4",
			 "{\"type\":\"RdbSnapshot\",\"schema\":\"test_db_@\",\"tb\":\"resume_table_*$4\","
			 "\"order_key\":{\"single\":[\"p.k\",\"1\"]}}"};
	tl_ape_row r2 = {"SnapshotFinished", "test_db_1-t", NULL};
	tl_ape_row r3 = {"SnapshotFinished", "test_db_1-u", NULL};

	if (!seen || begin(&c)) {
		free(seen);
		return;
	}
	if (!(c.ops->caps & TL_CAP_APE_STORE)) {
		not_applicable(tl_driver_ape_store_init(&c.d, c.t, S, T, &c.err) == TL_ERR_UNSUPPORTED,
			       "the %s driver has no ape-dts store (TL_CAP_APE_STORE)", c.ops->name);
		goto done;
	}
	/* longer than a first fetch buffer would be */
	memset(longdata, 'x', sizeof(longdata) - 1);
	longdata[sizeof(longdata) - 1] = '\0';
	memcpy(longdata, "{\"type\":\"RdbSnapshotFinished\",\"tb\":\"", 36);
	r2.position_data = longdata;
	CT_OK(&c, c.f->drop_schema(c.fx, CT_DST, S, &c.err));
	/* a store that does not exist reads as empty, and forgetting in it does nothing */
	CT_OK(&c, tl_driver_ape_store_load(&c.d, c.t, S, T, task, ape_collect, seen, &c.err));
	TL_CHECK_EQ_INT(seen->n, 0);
	CT_OK(&c, tl_driver_ape_store_forget(&c.d, c.t, S, T, task, &c.err));
	CT_OK(&c, tl_driver_ape_store_init(&c.d, c.t, S, T, &c.err));
	CT_OK(&c, tl_driver_ape_store_init(&c.d, c.t, S, T, &c.err)); /* idempotent */
	CT_OK(&c, tl_driver_ape_store_put(&c.d, c.t, S, T, task, &r1, &c.err));
	CT_OK(&c, tl_driver_ape_store_put(&c.d, c.t, S, T, task, &r2, &c.err));
	CT_OK(&c, tl_driver_ape_store_put(&c.d, c.t, S, T, task, &r3, &c.err));
	r1.position_data = "{\"type\":\"RdbSnapshot\",\"order_key\":{\"single\":[\"p.k\",\"2\"]}}";
	CT_OK(&c, tl_driver_ape_store_put(&c.d, c.t, S, T, task, &r1, &c.err)); /* an update, not a new row */
	CT_OK(&c, tl_driver_ape_store_put(&c.d, c.t, S, T, "other", &r1, &c.err));
	memset(seen, 0, sizeof(*seen));
	CT_OK(&c, tl_driver_ape_store_load(&c.d, c.t, S, T, task, ape_collect, seen, &c.err));
	TL_CHECK_EQ_INT(seen->n, 3);
	TL_CHECK_EQ_STR(seen->rows[0][0], "SnapshotDoing");
	TL_CHECK_EQ_STR(seen->rows[0][1], "test_db_@-resume_table_*$4");
	TL_CHECK_EQ_STR(seen->rows[0][2], r1.position_data);
	TL_CHECK_EQ_STR(seen->rows[1][0], "SnapshotFinished");
	TL_CHECK_EQ_STR(seen->rows[1][1], "test_db_1-t");
	TL_CHECK_EQ_STR(seen->rows[1][2], longdata);
	TL_CHECK_EQ_STR(seen->rows[2][1], "test_db_1-u");
	TL_CHECK_EQ_STR(seen->rows[2][2], "(null)");
	/* a callback error stops the load and comes back unchanged */
	TL_CHECK_EQ_INT(tl_driver_ape_store_load(&c.d, c.t, S, T, task, ape_stop, NULL, &c.err), TL_ERR_PARSE);
	TL_CHECK_EQ_STR(c.err.message, "stop at the first row");
	/* forget: this task's rows only */
	CT_OK(&c, tl_driver_ape_store_forget(&c.d, c.t, S, T, task, &c.err));
	memset(seen, 0, sizeof(*seen));
	CT_OK(&c, tl_driver_ape_store_load(&c.d, c.t, S, T, task, ape_collect, seen, &c.err));
	TL_CHECK_EQ_INT(seen->n, 0);
	memset(seen, 0, sizeof(*seen));
	CT_OK(&c, tl_driver_ape_store_load(&c.d, c.t, S, T, "other", ape_collect, seen, &c.err));
	TL_CHECK_EQ_INT(seen->n, 1);
done:
	free(seen);
	end(&c);
}

/* ---- optional slots ---------------------------------------------------------------------- */

TL_TEST(contract_durability_warning)
{
	struct ct c;
	char *warn = NULL;

	if (begin(&c))
		return;
	if (!c.ops->durability_warning) {
		not_applicable(tl_driver_durability_warning(&c.d, c.t, &warn, &c.err) == TL_ERR_UNSUPPORTED,
			       "the %s driver has no durability_warning", c.ops->name);
		goto done;
	}
	CT_OK(&c, tl_driver_durability_warning(&c.d, c.t, &warn, &c.err));
	/* NULL when commits are durable, else one line naming the settings */
	if (warn) {
		TL_CHECK(*warn != '\0');
		TL_CHECK_MSG(!strchr(warn, '\n'), "not one line: %s", warn);
		fprintf(stderr, "    (the %s test target says: %s)\n", c.ops->name, warn);
	}
done:
	free(warn);
	end(&c);
}

/* Definitions, lightly (test_schema_<kind> covers every object kind): what schema_extract
 * lists for one table, schema_apply makes on an empty target, idempotently, and
 * schema_probe sees; the result takes the table's rows. */
TL_TEST(contract_schema_basics)
{
	static const char *const S = "tl_ct_sch";
	struct ct c;
	tl_schema_list list = TL_SCHEMA_LIST_INIT;
	tl_schema_opts opts = TL_SCHEMA_OPTS_INIT;
	tl_name name = {(char *)S, (char *)"sch_t"}, missing = {(char *)S, (char *)"sch_missing"};
	enum tl_schema_state *state = NULL, before;
	tl_read_spec rs = read_spec(TL_READ_KEYED, 100);
	size_t i, j, tables = 0;
	int empty = 0;

	if (begin(&c))
		return;
	if (!(c.ops->caps & TL_CAP_SCHEMA)) {
		not_applicable(tl_driver_schema_extract(&c.d, c.s, &name, 1, &opts, &list, &c.err) == TL_ERR_UNSUPPORTED,
			       "the %s driver copies no definitions (TL_CAP_SCHEMA)", c.ops->name);
		goto done;
	}
	if (spec(&c.st, S, "sch_t", "id int key, v text null, n int null") || series(&c, &c.rows, 3, 1, 1, 10))
		goto done;
	CT_OK(&c, c.f->drop_schema(c.fx, CT_SRC, S, &c.err));
	CT_OK(&c, c.f->drop_schema(c.fx, CT_DST, S, &c.err));
	if (make(&c, CT_SRC, &c.st, &c.rows))
		goto done;
	TL_CHECK_EQ_INT(tl_driver_schema_extract(&c.d, c.s, &missing, 1, &opts, &list, &c.err), TL_ERR_NOTFOUND);
	TL_CHECK_MSG(strstr(c.err.message, "sch_missing") != NULL, "message: %s", c.err.message);
	tl_schema_list_clear(&list);
	CT_OK(&c, tl_driver_schema_extract(&c.d, c.s, &name, 1, &opts, &list, &c.err));
	CT_REQUIRE(list.n > 0);
	for (i = 0; i < list.n; i++) {
		const tl_schema_step *s = &list.items[i];
		TL_CHECK_MSG(s->id && *s->id && s->sql, "step %zu has no id or sql", i);
		for (j = 0; j < i; j++)
			TL_CHECK_MSG(strcmp(list.items[j].id, s->id) != 0, "two steps '%s'", s->id);
		if ((s->kind == TL_SK_TABLE || s->kind == TL_SK_COLLECTION) && s->owner == 0)
			tables++;
	}
	TL_CHECK_EQ_INT(tables, 1);
	CT_REQUIRE((state = calloc(list.n, sizeof(*state))) != NULL);
	CT_OK(&c, tl_driver_schema_probe(&c.d, c.t, list.items, list.n, state, &c.err));
	for (i = 0; i < list.n; i++)
		TL_CHECK_MSG(state[i] == TL_SCHEMA_ABSENT || state[i] == TL_SCHEMA_UNKNOWN, "'%s' on an empty target: %d",
			     list.items[i].id, state[i]);
	for (i = 0; i < list.n; i++)
		CT_OK(&c, tl_driver_schema_apply(&c.d, c.t, &list.items[i], &before, &c.err));
	CT_OK(&c, tl_driver_schema_probe(&c.d, c.t, list.items, list.n, state, &c.err));
	for (i = 0; i < list.n; i++) {
		TL_CHECK_MSG(state[i] == TL_SCHEMA_PRESENT || state[i] == TL_SCHEMA_UNKNOWN, "'%s' after apply: %d",
			     list.items[i].id, state[i]);
		CT_OK(&c, tl_driver_schema_apply(&c.d, c.t, &list.items[i], &before, &c.err));
		TL_CHECK_MSG(before == state[i], "'%s' applied again: found %d, probe said %d", list.items[i].id, before,
			     state[i]);
	}
	CT_REQUIRE((c.tab = describe(&c, c.s, S, "sch_t")) != NULL);
	CT_OK(&c, tl_driver_check_target(&c.d, c.t, c.tab, &empty, &c.err));
	TL_CHECK(empty);
	TL_CHECK_EQ_INT(copy(&c, c.tab, &rs, TL_WRITE_TARGET_EMPTY | TL_WRITE_UPSERT, 1), 10);
	EXPECT_ROWS(&c, CT_DST, &c.st, &c.rows);
done:
	free(state);
	tl_schema_list_clear(&list);
	end(&c);
}

/* ---- routes, check tasks and deadlines: project, server_id, value_type, doc_diff, interrupt */

/* Both NULL or equal strings. */
static int same_text(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/*
 * project: a table reading a subset of the columns of src (relational kinds: the key and
 * n, v left out as ignore_cols does) and one writing them under new names into another
 * table ([router]: key column renamed too) move the rows there, in the native forms too,
 * idempotently; the projection keeps the key (key_idx, keys), est_rows and the value types
 * of its columns. A projection without the key column is TL_ERR_MISMATCH. Documents keep
 * their one column and are copied into a renamed collection.
 */
TL_TEST(contract_project)
{
	static const size_t sub[] = {0, 2}, one[] = {0}, nokey[] = {1, 2};
	static const char *const renamed[] = {"pid", "m"};
	struct ct c;
	ct_table st, dt;
	ct_rows rows = {3, 0, 0, NULL}, want = {3, 0, 0, NULL};
	tl_table *t = NULL, *ps = NULL, *pd = NULL, *bad = NULL;
	tl_read_spec rs = read_spec(TL_READ_KEYED, 7);
	struct seen s0, s1;
	const size_t *cols;
	size_t n, i;
	int level = 0, empty = 0;

	memset(&s0, 0, sizeof(s0));
	memset(&s1, 0, sizeof(s1));
	if (begin(&c))
		return;
	if (spec(&st, S1, "prj", "id int key, v text null, n int null") || series(&c, &rows, 3, 1, 1, 30))
		goto done;
	if (make(&c, CT_SRC, &st, &rows))
		goto done;
	CT_REQUIRE((t = describe(&c, c.s, S1, "prj")) != NULL);
	if (!c.ops->project) {
		not_applicable(tl_driver_project(&c.d, t, S2, "prj_r", one, NULL, 1, &pd, &c.err) == TL_ERR_UNSUPPORTED,
			       "the %s driver projects no tables (routes and ignore_cols are refused)", c.ops->name);
		goto done;
	}
	cols = c.docs ? one : sub;
	n = c.docs ? 1 : 2;
	CT_REQUIRE(n == 1 || t->ncols == 3);
	/* the target: renamed columns and (relational) one more that the projection never writes */
	if (c.docs) {
		if (spec(&dt, S2, "prj_r", "id int key, v text null, n int null"))
			goto done;
		for (i = 0; i < rows.nrows; i++)
			CT_OK(&c, ct_rows_add(&want, (const char *const *)&rows.cells[i * 3], &c.err));
	} else {
		if (spec(&dt, S2, "prj_r", "pid int key, m int null, w text null"))
			goto done;
		for (i = 0; i < rows.nrows; i++)
			CT_OK(&c, rows_addv(&want, &c.err, rows.cells[i * 3], rows.cells[i * 3 + 2], NULL));
	}
	if (make(&c, CT_DST, &dt, NULL))
		goto done;
	CT_OK(&c, tl_driver_project(&c.d, t, S1, "prj", cols, NULL, n, &ps, &c.err));
	CT_OK(&c, tl_driver_project(&c.d, t, S2, "prj_r", cols, c.docs ? NULL : renamed, n, &pd, &c.err));
	/* what the projections say */
	TL_CHECK_EQ_STR(ps->schema, S1);
	TL_CHECK_EQ_STR(ps->name, "prj");
	TL_CHECK_EQ_STR(pd->schema, S2);
	TL_CHECK_EQ_STR(pd->name, "prj_r");
	TL_CHECK_EQ_INT(ps->ncols, n);
	TL_CHECK_EQ_INT(pd->ncols, n);
	TL_CHECK_EQ_INT(ps->est_rows, t->est_rows);
	TL_CHECK_EQ_INT(pd->est_rows, t->est_rows);
	TL_CHECK_EQ_INT(ps->nkeys, t->nkeys);
	TL_CHECK_EQ_INT(pd->nkeys, t->nkeys);
	for (i = 0; i < n && i < ps->ncols && i < pd->ncols; i++) {
		TL_CHECK_EQ_STR(ps->cols[i].name, t->cols[cols[i]].name);
		TL_CHECK_EQ_STR(pd->cols[i].name, c.docs ? t->cols[cols[i]].name : renamed[i]);
		TL_CHECK_EQ_INT(pd->cols[i].kind, t->cols[cols[i]].kind);
		TL_CHECK_MSG(same_text(tl_driver_value_type(&c.d, pd, i), tl_driver_value_type(&c.d, t, cols[i])),
			     "column %zu of the projection has value type %s, the source's column %s",
			     i, tl_driver_value_type(&c.d, pd, i), tl_driver_value_type(&c.d, t, cols[i]));
	}
	for (i = 0; i < t->nkeys && i < pd->nkeys; i++) {
		if (t->key_idx[i] == TL_NO_COL) { /* a key that is not a data column (_id) */
			TL_CHECK(pd->key_idx[i] == TL_NO_COL && pd->keys[i] != NULL);
			continue;
		}
		CT_REQUIRE(pd->key_idx[i] != TL_NO_COL && pd->key_idx[i] < pd->ncols);
		TL_CHECK(cols[pd->key_idx[i]] == t->key_idx[i]);
		TL_CHECK(pd->keys[i] == &pd->cols[pd->key_idx[i]]);
		TL_CHECK(ps->keys[i] == &ps->cols[ps->key_idx[i]]);
	}
	if (!c.docs) {
		/* the key column left out */
		TL_CHECK_EQ_INT(tl_driver_project(&c.d, t, S2, "prj_r", nokey, NULL, 2, &bad, &c.err), TL_ERR_MISMATCH);
		TL_CHECK(bad == NULL);
		NO_RETRY_FLAGS(&c);
	}
	/* reads of the projection: every row once, in key order, resumed after each batch */
	TL_CHECK_EQ_INT(count(&c, c.s, ps), 30);
	CT_OK(&c, pump(&c, c.s, ps, &rs, NULL, 0, 1, 1u << 20, &s0));
	TL_CHECK_EQ_INT(s0.rows, 30);
	TL_CHECK_EQ_INT(s0.n, 30);
	/* into the empty target, in the best native form it accepts, then upserted again in cells */
	CT_OK(&c, tl_driver_check_target(&c.d, c.t, pd, &empty, &c.err));
	TL_CHECK(empty);
	if (c.ops->native_form)
		CT_OK(&c, tl_driver_native_form(&c.d, c.t, pd, &level, &c.err));
	rs.native = level;
	CT_OK(&c, pump_to(&c, c.s, ps, &rs, c.t, pd, TL_WRITE_TARGET_EMPTY | TL_WRITE_UPSERT, 1, 1u << 20, &s1));
	TL_CHECK_EQ_INT(s1.rows, 30);
	TL_CHECK_MSG(!level || s1.native, "native level %d, but no native batch", level);
	for (i = 0; i < s0.n && i < s1.n; i++)
		TL_CHECK_MSG(strcmp(s0.keys[i], s1.keys[i]) == 0, "row %zu: key %s, then %s", i, s0.keys[i], s1.keys[i]);
	seen_clear(&s1);
	EXPECT_ROWS(&c, CT_DST, &dt, &want);
	rs.native = 0;
	CT_OK(&c, pump_to(&c, c.s, ps, &rs, c.t, pd, TL_WRITE_UPSERT, 0, 1u << 20, &s1));
	EXPECT_ROWS(&c, CT_DST, &dt, &want);
	TL_CHECK_EQ_INT(count(&c, c.t, pd), 30);
	CT_OK(&c, tl_driver_check_target(&c.d, c.t, pd, &empty, &c.err));
	TL_CHECK(!empty);
done:
	seen_clear(&s0);
	seen_clear(&s1);
	tl_driver_free_table(&c.d, bad);
	tl_driver_free_table(&c.d, pd);
	tl_driver_free_table(&c.d, ps);
	tl_driver_free_table(&c.d, t);
	ct_rows_clear(&want);
	ct_rows_clear(&rows);
	end(&c);
}

/*
 * server_id: two connections to one server (and namespace) give the same text, the source
 * and the target servers (two servers of the suite) different ones.
 */
TL_TEST(contract_server_id)
{
	struct ct c;
	tl_conn *s2 = NULL, *t2 = NULL;
	char *a = NULL, *b = NULL, *x = NULL, *y = NULL;

	if (begin(&c))
		return;
	if (!c.ops->server_id) {
		not_applicable(tl_driver_server_id(&c.d, c.s, &a, &c.err) == TL_ERR_UNSUPPORTED,
			       "the %s driver cannot identify its server (source and target are taken as two)",
			       c.ops->name);
		goto done;
	}
	if (connect_side(&c, CT_SRC, &s2) || connect_side(&c, CT_DST, &t2))
		goto done;
	CT_OK(&c, tl_driver_server_id(&c.d, c.s, &a, &c.err));
	CT_OK(&c, tl_driver_server_id(&c.d, s2, &b, &c.err));
	CT_OK(&c, tl_driver_server_id(&c.d, c.t, &x, &c.err));
	CT_OK(&c, tl_driver_server_id(&c.d, t2, &y, &c.err));
	CT_REQUIRE(a && b && x && y);
	TL_CHECK(*a != '\0' && *x != '\0');
	TL_CHECK_EQ_STR(a, b);
	TL_CHECK_EQ_STR(x, y);
	TL_CHECK_MSG(strcmp(a, x) != 0, "source and target servers both say '%s'", a);
done:
	free(a);
	free(b);
	free(x);
	free(y);
	tl_driver_disconnect(&c.d, s2);
	tl_driver_disconnect(&c.d, t2);
	end(&c);
}

/* write_checks: what a target session does while rows are written, as 0/1 flags, the same
 * on every call of one session (the engine reports them in plan and decides on them). */
TL_TEST(contract_write_checks)
{
	struct ct c;
	int fk = -1, trg = -1, fk2 = -1, trg2 = -1;

	if (begin(&c))
		return;
	if (!c.ops->write_checks) {
		/* the wrapper answers the safe assumption for a driver without the slot */
		not_applicable(tl_driver_write_checks(&c.d, c.t, &fk, &trg, &c.err) == 0 && fk == 1 && trg == 1,
			       "the %s driver does not say what its target sessions check (the engine assumes both)",
			       c.ops->name);
		goto done;
	}
	CT_OK(&c, tl_driver_write_checks(&c.d, c.t, &fk, &trg, &c.err));
	TL_CHECK_MSG((fk == 0 || fk == 1) && (trg == 0 || trg == 1), "flags fk_checks=%d triggers=%d", fk, trg);
	CT_OK(&c, tl_driver_write_checks(&c.d, c.t, &fk2, &trg2, &c.err));
	TL_CHECK_EQ_INT(fk2, fk);
	TL_CHECK_EQ_INT(trg2, trg);
done:
	end(&c);
}

/* ape-dts' ColValue names (dt-common meta/col_value.rs), what check logs write as types. */
static int ape_type_name(const char *s)
{
	static const char *const names[] = {
		"None",     "Bool",  "Tiny",   "UnsignedTiny", "Short",     "UnsignedShort", "Long",     "UnsignedLong",
		"LongLong", "UnsignedLongLong", "Float", "Double", "Decimal", "Time", "Date", "DateTime", "Timestamp",
		"Year",     "String", "RawString", "Blob", "Bit", "Set", "Set2", "Enum", "Enum2", "Json", "Json2",
		"Json3",    "MongoDoc", NULL};
	size_t i;

	for (i = 0; names[i]; i++)
		if (strcmp(s, names[i]) == 0)
			return 1;
	return 0;
}

/*
 * value_type: for each column, NULL (unknown) or one of ape-dts' type names, the same on
 * every call; where known, an integer column has an integer type, a text column String, a
 * binary column Blob (relational kinds), a document MongoDoc (documents).
 */
TL_TEST(contract_value_type)
{
	static const char *const ints[] = {"Tiny", "UnsignedTiny", "Short", "UnsignedShort", "Long", "UnsignedLong",
					   "LongLong", "UnsignedLongLong", NULL};
	struct ct c;
	ct_table st;
	tl_table *t = NULL;
	size_t i, j, known = 0;
	int built;

	if (begin(&c))
		return;
	if (spec(&st, S1, "vtype", "id int key, v text null, b bin null, n int null"))
		goto done;
	if ((built = make(&c, CT_SRC, &st, NULL)) < 0)
		goto done;
	if (built > 0 && (spec(&st, S1, "vtype", "id int key, v text null, n int null") || make(&c, CT_SRC, &st, NULL)))
		goto done;
	CT_REQUIRE((t = describe(&c, c.s, S1, "vtype")) != NULL);
	if (!c.ops->value_type) {
		/* the wrapper has no error to return: NULL for every column */
		not_applicable(tl_driver_value_type(&c.d, t, 0) == NULL,
			       "the %s driver names no ape-dts value types (check logs leave them out)", c.ops->name);
		goto done;
	}
	for (i = 0; i < t->ncols; i++) {
		const char *vt = tl_driver_value_type(&c.d, t, i);
		size_t sc = c.docs ? (size_t)-1 : col_of(&st, t->cols[i].name);
		if (!vt)
			continue;
		known++;
		fprintf(stderr, "    (%s: %s)\n", t->cols[i].name, vt);
		TL_CHECK_MSG(ape_type_name(vt), "column %s: '%s' is no ape-dts type name", t->cols[i].name, vt);
		TL_CHECK(same_text(vt, tl_driver_value_type(&c.d, t, i)));
		if (c.docs) {
			TL_CHECK_EQ_STR(vt, "MongoDoc");
			continue;
		}
		CT_REQUIRE(sc != (size_t)-1);
		switch (st.cols[sc].type) {
		case CT_INT:
			for (j = 0; ints[j] && strcmp(ints[j], vt) != 0; j++)
				;
			TL_CHECK_MSG(ints[j] != NULL, "int column %s: %s", t->cols[i].name, vt);
			break;
		case CT_TEXT: TL_CHECK_EQ_STR(vt, "String"); break;
		case CT_BIN: TL_CHECK_EQ_STR(vt, "Blob"); break;
		}
	}
	TL_CHECK_MSG(known > 0, "the %s driver has value_type but knows none of %zu columns", c.ops->name, t->ncols);
done:
	tl_driver_free_table(&c.d, t);
	end(&c);
}

struct diffs {
	int n, stop_at; /* calls so far; fn fails at call stop_at (0: never) */
	char field[8][64], src[8][64], dst[8][64];
	int has_src[8], has_dst[8], typed[8];
};

static int diff_collect(void *ctx, const tl_value_diff *d, tl_error *err)
{
	struct diffs *s = ctx;
	int i = s->n++;

	if (s->stop_at && s->n == s->stop_at)
		return tl_error_set(err, TL_ERR_MISMATCH, "stop at diff %d", s->n);
	if (i >= 8)
		return 0;
	snprintf(s->field[i], sizeof(s->field[i]), "%s", d->field ? d->field : "(null)");
	snprintf(s->src[i], sizeof(s->src[i]), "%s", d->src ? d->src : "");
	snprintf(s->dst[i], sizeof(s->dst[i]), "%s", d->dst ? d->dst : "");
	s->has_src[i] = d->src != NULL;
	s->has_dst[i] = d->dst != NULL;
	/* both type names, different, or neither */
	s->typed[i] = d->src_type && d->dst_type ? (strcmp(d->src_type, d->dst_type) != 0 ? 1 : -1)
						 : (d->src_type || d->dst_type) ? -1 : 0;
	return 0;
}

/* The documents of a collection read through the driver, in _id order (cells copied). */
static int read_docs(struct ct *c, const char *name, tl_buf *docs, size_t *lens, size_t max, size_t *n)
{
	tl_read_spec rs = read_spec(TL_READ_KEYED, 100);
	tl_table *t = describe(c, c->s, S1, name);
	tl_reader *r = NULL;
	tl_batch b;
	size_t i, len;
	int rc = t ? 0 : -1;

	*n = 0;
	tl_batch_init(&b, t ? t->ncols : 1, 1u << 20);
	if (!rc && !(rc = tl_driver_open_reader(&c->d, c->s, t, &rs, &r, &c->err)))
		rc = tl_driver_read_batch(&c->d, r, &b, &c->err);
	for (i = 0; !rc && i < b.nrows && i < max; i++) {
		const char *p = tl_batch_cell(&b, i, 0, &len);
		lens[i] = len;
		rc = p ? tl_buf_put(&docs[i], p, len, &c->err) : -1;
		(*n)++;
	}
	tl_driver_close_reader(&c->d, r);
	tl_batch_release(&b);
	tl_driver_free_table(&c->d, t);
	return rc;
}

/*
 * doc_diff (documents): equal documents give no call; the fields that differ, or that one
 * side lacks, are given in field-name order (a field holding null is not a missing one;
 * type names only when the types differ); fn's error stops the comparison and comes back;
 * bytes that are no document are TL_ERR_PARSE. The documents are made by the fixture and
 * read through the driver, as a check task compares them.
 */
TL_TEST(contract_doc_diff)
{
	struct ct c;
	ct_table sa, sb, sc;
	ct_rows ra = {3, 0, 0, NULL}, rb = {2, 0, 0, NULL}, rc3 = {3, 0, 0, NULL};
	tl_buf a[2] = {TL_BUF_INIT, TL_BUF_INIT}, b[2] = {TL_BUF_INIT, TL_BUF_INIT}, x[1] = {TL_BUF_INIT};
	size_t la[2], lb[2], lx[1], na = 0, nb = 0, nx = 0;
	struct diffs *d = calloc(1, sizeof(*d));
	tl_table *t = NULL;

	if (!d || begin(&c)) {
		free(d);
		return;
	}
	if (!c.docs || !c.ops->doc_diff) {
		if (spec(&sb, S1, "dd_b", "id int key, v text null") || make(&c, CT_SRC, &sb, NULL))
			goto done;
		CT_REQUIRE((t = describe(&c, c.s, S1, "dd_b")) != NULL);
		not_applicable(tl_driver_doc_diff(&c.d, t, "x", 1, "x", 1, diff_collect, d, &c.err) == TL_ERR_UNSUPPORTED,
			       "the %s driver has %s", c.ops->name, c.docs ? "no doc_diff" : "no documents (doc_diff)");
		goto done;
	}
	/* dd_a: {_id 1, v "a", n 10}, {_id 2, v "b", n null}; dd_b has no n; dd_c's n is a string */
	if (spec(&sa, S1, "dd_a", "id int key, v text null, n int null") ||
	    spec(&sb, S1, "dd_b", "id int key, v text null") || spec(&sc, S1, "dd_c", "id int key, v text null, n text null"))
		goto done;
	CT_OK(&c, rows_addv(&ra, &c.err, "1", "a", "10"));
	CT_OK(&c, rows_addv(&ra, &c.err, "2", "b", NULL));
	CT_OK(&c, rows_addv(&rb, &c.err, "1", "a"));
	CT_OK(&c, rows_addv(&rb, &c.err, "2", "x"));
	CT_OK(&c, rows_addv(&rc3, &c.err, "1", "a", "10"));
	if (make(&c, CT_SRC, &sa, &ra) || make(&c, CT_SRC, &sb, &rb) || make(&c, CT_SRC, &sc, &rc3))
		goto done;
	CT_OK(&c, read_docs(&c, "dd_a", a, la, 2, &na));
	CT_OK(&c, read_docs(&c, "dd_b", b, lb, 2, &nb));
	CT_OK(&c, read_docs(&c, "dd_c", x, lx, 1, &nx));
	CT_REQUIRE(na == 2 && nb == 2 && nx == 1);
	CT_REQUIRE((t = describe(&c, c.s, S1, "dd_a")) != NULL);
	/* the same document */
	CT_OK(&c, tl_driver_doc_diff(&c.d, t, a[0].data, la[0], a[0].data, la[0], diff_collect, d, &c.err));
	TL_CHECK_EQ_INT(d->n, 0);
	/* n only in the source's document, then only in the target's */
	CT_OK(&c, tl_driver_doc_diff(&c.d, t, a[0].data, la[0], b[0].data, lb[0], diff_collect, d, &c.err));
	TL_CHECK_EQ_INT(d->n, 1);
	TL_CHECK_EQ_STR(d->field[0], "n");
	TL_CHECK_MSG(d->has_src[0] && strstr(d->src[0], "10") && !d->has_dst[0], "n: src '%s', dst %s", d->src[0],
		     d->has_dst[0] ? d->dst[0] : "(missing)");
	memset(d, 0, sizeof(*d));
	CT_OK(&c, tl_driver_doc_diff(&c.d, t, b[0].data, lb[0], a[0].data, la[0], diff_collect, d, &c.err));
	TL_CHECK_EQ_INT(d->n, 1);
	TL_CHECK_EQ_STR(d->field[0], "n");
	TL_CHECK_MSG(!d->has_src[0] && d->has_dst[0] && strstr(d->dst[0], "10"), "n: src %s, dst '%s'",
		     d->has_src[0] ? d->src[0] : "(missing)", d->dst[0]);
	/* {_id 2, v "b", n null} against {_id 2, v "x"}: n (null is a value) then v, same types */
	memset(d, 0, sizeof(*d));
	CT_OK(&c, tl_driver_doc_diff(&c.d, t, a[1].data, la[1], b[1].data, lb[1], diff_collect, d, &c.err));
	TL_CHECK_EQ_INT(d->n, 2);
	TL_CHECK_EQ_STR(d->field[0], "n");
	TL_CHECK(d->has_src[0] && !d->has_dst[0]);
	TL_CHECK_EQ_STR(d->field[1], "v");
	TL_CHECK_MSG(strstr(d->src[1], "b") && strstr(d->dst[1], "x"), "v: '%s' / '%s'", d->src[1], d->dst[1]);
	TL_CHECK_MSG(d->typed[1] == 0, "v: type names for two strings (%d)", d->typed[1]);
	/* documents 1 and 2: every field differs, in name order */
	memset(d, 0, sizeof(*d));
	CT_OK(&c, tl_driver_doc_diff(&c.d, t, a[0].data, la[0], a[1].data, la[1], diff_collect, d, &c.err));
	TL_CHECK_EQ_INT(d->n, 3);
	TL_CHECK_EQ_STR(d->field[0], "_id");
	TL_CHECK_EQ_STR(d->field[1], "n");
	TL_CHECK_EQ_STR(d->field[2], "v");
	TL_CHECK_MSG(d->typed[0] == 0, "_id 1 / 2: type names for two integers (%d)", d->typed[0]);
	TL_CHECK_MSG(d->typed[1] == 1, "n 10 / null: no two different type names (%d)", d->typed[1]);
	/* an integer against a string: both type names, different */
	memset(d, 0, sizeof(*d));
	CT_OK(&c, tl_driver_doc_diff(&c.d, t, a[0].data, la[0], x[0].data, lx[0], diff_collect, d, &c.err));
	TL_CHECK_EQ_INT(d->n, 1);
	TL_CHECK_EQ_STR(d->field[0], "n");
	TL_CHECK_MSG(d->typed[0] == 1, "n 10 / '10': no two different type names (%d)", d->typed[0]);
	/* fn's error stops at once and comes back */
	memset(d, 0, sizeof(*d));
	d->stop_at = 2;
	TL_CHECK_EQ_INT(tl_driver_doc_diff(&c.d, t, a[0].data, la[0], a[1].data, la[1], diff_collect, d, &c.err),
			TL_ERR_MISMATCH);
	TL_CHECK_EQ_INT(d->n, 2);
	TL_CHECK_EQ_STR(c.err.message, "stop at diff 2");
	/* not documents: text, a truncated document, on either side */
	memset(d, 0, sizeof(*d));
	TL_CHECK_EQ_INT(tl_driver_doc_diff(&c.d, t, "abc", 3, a[0].data, la[0], diff_collect, d, &c.err), TL_ERR_PARSE);
	TL_CHECK_EQ_INT(tl_driver_doc_diff(&c.d, t, a[0].data, la[0], a[1].data, la[1] - 1, diff_collect, d, &c.err),
			TL_ERR_PARSE);
	TL_CHECK_EQ_INT(d->n, 0);
done:
	tl_buf_release(&a[0]);
	tl_buf_release(&a[1]);
	tl_buf_release(&b[0]);
	tl_buf_release(&b[1]);
	tl_buf_release(&x[0]);
	tl_driver_free_table(&c.d, t);
	ct_rows_clear(&ra);
	ct_rows_clear(&rb);
	ct_rows_clear(&rc3);
	free(d);
	end(&c);
}

/* The other thread of contract_interrupt: interrupts the connection after a pause. */
struct intr {
	const tl_driver *d;
	tl_conn *conn;
	useconds_t pause;
	struct timespec at; /* when it interrupted */
};

static void *interrupter(void *p)
{
	struct intr *in = p;

	usleep(in->pause);
	clock_gettime(CLOCK_MONOTONIC, &in->at);
	(void)tl_driver_interrupt(in->d, in->conn);
	return NULL;
}

static double secs_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * interrupt: another thread gives the source connection up while this one reads (a read
 * resumed batch after batch): the read in progress or the next call fails as a lost
 * connection within a second, and so does every later call; a write on an interrupted
 * target connection fails and lands nothing; a new connection works.
 */
TL_TEST(contract_interrupt)
{
	struct ct c;
	tl_read_spec rs = read_spec(TL_READ_KEYED, 5);
	tl_batch b;
	tl_reader *rd = NULL;
	struct intr in;
	struct timespec t0;
	pthread_t th;
	int started = 0, rc = 0;
	long long reads = 0;
	int64_t n = -1;

	tl_batch_init(&b, 3, 1u << 20);
	if (begin(&c))
		goto out;
	if (tab_series(&c, "intr", 1, 1, 400, TAB_DST_EMPTY))
		goto done;
	tl_batch_set_ncols(&b, c.tab->ncols);
	if (!c.ops->interrupt) {
		not_applicable(tl_driver_interrupt(&c.d, c.s) == TL_ERR_UNSUPPORTED,
			       "the %s driver cannot give a connection up from another thread (interrupt): only its "
			       "silence bound ends a stall",
			       c.ops->name);
		goto done;
	}
	/* reads until a call fails: the table over and over, 5 rows a call */
	in.d = &c.d;
	in.conn = c.s;
	in.pause = 200 * 1000;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	in.at = t0;
	CT_REQUIRE(pthread_create(&th, NULL, interrupter, &in) == 0);
	started = 1;
	for (;;) {
		if (!rd && (rc = tl_driver_open_reader(&c.d, c.s, c.tab, &rs, &rd, &c.err)))
			break;
		tl_batch_reset(&b);
		if ((rc = tl_driver_read_batch(&c.d, rd, &b, &c.err)))
			break;
		reads++;
		if (b.nrows == 0) {
			tl_driver_close_reader(&c.d, rd);
			rd = NULL;
		}
		if (reads % 1000 == 0 && secs_since(&t0) > 10) /* never interrupted: fail below */
			break;
	}
	pthread_join(th, NULL);
	started = 0;
	TL_CHECK_MSG(rc != 0, "%lld reads after the interrupt went through", reads);
	TL_CHECK_EQ_INT(rc, TL_ERR_DB);
	LOST_FLAGS(&c, "the read in progress after interrupt");
	TL_CHECK_MSG(secs_since(&in.at) < 2.0, "the read failed %.1f s after the interrupt", secs_since(&in.at));
	fprintf(stderr, "    (%lld reads before the interrupt stopped one: %s)\n", reads, c.err.message);
	tl_driver_close_reader(&c.d, rd);
	rd = NULL;
	/* every later call */
	TL_CHECK_EQ_INT(tl_driver_count_rows(&c.d, c.s, c.tab, &n, &c.err), TL_ERR_DB);
	LOST_FLAGS(&c, "count_rows after interrupt");
	tl_batch_reset(&b);
	rc = tl_driver_open_reader(&c.d, c.s, c.tab, &rs, &rd, &c.err);
	rc = rc ? rc : tl_driver_read_batch(&c.d, rd, &b, &c.err);
	TL_CHECK_EQ_INT(rc, TL_ERR_DB);
	LOST_FLAGS(&c, "a new read after interrupt");
	tl_driver_close_reader(&c.d, rd);
	rd = NULL;
	/* a target connection interrupted while idle: its next write fails and lands nothing */
	tl_driver_disconnect(&c.d, c.s);
	c.s = NULL;
	if (connect_side(&c, CT_SRC, &c.s))
		goto done;
	rs.batch_rows = 1000;
	CT_OK(&c, tl_driver_open_reader(&c.d, c.s, c.tab, &rs, &rd, &c.err));
	tl_batch_reset(&b);
	CT_OK(&c, tl_driver_read_batch(&c.d, rd, &b, &c.err));
	TL_CHECK_EQ_INT(b.nrows, 400);
	tl_driver_close_reader(&c.d, rd);
	rd = NULL;
	CT_OK(&c, tl_driver_interrupt(&c.d, c.t));
	if (!write_lost_then_new(&c, &c.st, c.tab, &b, &c.rows, "an interrupted"))
		TL_CHECK_EQ_INT(count(&c, c.t, c.tab), 400);
done:
	if (started)
		pthread_join(th, NULL);
	tl_driver_close_reader(&c.d, rd);
	end(&c);
out:
	tl_batch_release(&b);
}

/* Every slot a driver table has is known to this suite: a slot added to driver.h without a
 * case here makes this fail (TL_SLOT__COUNT counts the wrappers' slots). */
TL_TEST(contract_covers_every_slot)
{
	TL_CHECK_MSG(TL_SLOT__COUNT == 34, "driver_call.h has %d slots, this suite knows 34: add a case for the new "
					  "ones to tests/contract/contract.c",
		     (int)TL_SLOT__COUNT);
}
