/*
 * route.c - [router] db_map and tb_map, the table lookups, and the checks of a route
 * against the selected tables (include/tideline/route.h). col_map and ignore_cols are
 * in route_cols.c.
 *
 * ape-dts splits db_map/tb_map into tokens at every ',', '.' and ':' and takes them two
 * (db_map) or four (tb_map) at a time, so a malformed list is misread or panics. Here an
 * entry is split at its top-level ',' first and must then be exactly `name:name`
 * (db_map) or `name.name:name.name` (tb_map); every other shape is an error naming the
 * entry and the position. Well-formed lists read exactly as ape-dts reads them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/route_int.h"
#include "tideline/buf.h"

/* Longest piece of a user's entry quoted back in a message. */
#define MSG_TEXT 120

size_t tl_route__charpos(const char *s, const char *p)
{
	size_t n = 1;

	for (; s < p && *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Where a map value is being read, for messages. */
struct cursor {
	const char *key;   /* "db_map" / "tb_map" */
	const char *value; /* the whole value */
	const char *entry; /* start of the current entry */
	size_t entry_len;
	size_t entry_no;   /* 1-based */
	char quote;
};

static int map_error(const struct cursor *c, const char *at, const char *what, tl_error *err)
{
	int len = (int)(c->entry_len > MSG_TEXT ? MSG_TEXT : c->entry_len);

	return tl_error_set(err, TL_ERR_CONFIG, "[router] %s entry %zu ('%.*s%s') at character %zu: %s", c->key,
			    c->entry_no, len, c->entry, c->entry_len > MSG_TEXT ? "…" : "",
			    tl_route__charpos(c->value, at), what);
}

/*
 * Reads one name at *pp (inside the current entry, which ends at end): a quoted name
 * (doubled quote = one quote character) or the text up to the next ',', '.' or ':',
 * trimmed. Leaves *pp after the name and any blanks.
 */
static int read_name(const struct cursor *c, const char **pp, const char *end, char **out, tl_error *err)
{
	const char *p = *pp, *start;
	tl_buf b = TL_BUF_INIT;
	int rc = 0;

	*out = NULL;
	while (p < end && is_space(*p))
		p++;
	start = p;
	if (c->quote && p < end && *p == c->quote) {
		p++;
		for (;;) {
			if (p >= end) {
				tl_buf_release(&b);
				return map_error(c, start, "unterminated quoted name", err);
			}
			if (*p == c->quote) {
				if (p + 1 < end && p[1] == c->quote) {
					if ((rc = tl_buf_putc(&b, c->quote, err)))
						goto fail;
					p += 2;
					continue;
				}
				p++;
				break;
			}
			if ((rc = tl_buf_putc(&b, *p++, err)))
				goto fail;
		}
		if (b.len == 0) {
			tl_buf_release(&b);
			return map_error(c, start, "empty quoted name", err);
		}
	} else {
		const char *e;

		while (p < end && *p != ',' && *p != '.' && *p != ':')
			p++;
		e = p;
		while (e > start && is_space(e[-1]))
			e--;
		if (e == start)
			return map_error(c, start, "empty name", err);
		if ((rc = tl_buf_put(&b, start, (size_t)(e - start), err)))
			goto fail;
	}
	while (p < end && is_space(*p))
		p++;
	*pp = p;
	*out = tl_buf_detach(&b);
	if (!*out)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	return 0;
fail:
	tl_buf_release(&b);
	return rc;
}

/* Reads `db` or `db.tb` (want_tb) ending before ':' (first side) or the entry end. */
static int read_side(const struct cursor *c, const char **pp, const char *end, int want_tb, char **db, char **tb,
		     tl_error *err)
{
	int rc;

	*db = *tb = NULL;
	if ((rc = read_name(c, pp, end, db, err)))
		return rc;
	if (want_tb) {
		if (*pp >= end || **pp != '.') {
			rc = map_error(c, *pp, c->quote ? "expected '.' between database and table (quote names that contain '.', ':' or ',')"
							: "expected '.' between database and table",
				       err);
			goto fail;
		}
		(*pp)++;
		if ((rc = read_name(c, pp, end, tb, err)))
			goto fail;
	}
	if (*pp < end && **pp == '.') {
		rc = map_error(c, *pp, want_tb ? "a table name with '.' must be quoted" : "a database name with '.' must be quoted",
			       err);
		goto fail;
	}
	return 0;
fail:
	free(*db);
	free(*tb);
	*db = *tb = NULL;
	return rc;
}

/*
 * Finds the end of the entry starting at p: the next ',' outside a quoted name. A quote
 * character opens a quoted name only where a name starts (as ape-dts reads it), so an
 * unquoted name may contain one (a`b is the literal a`b).
 */
static int entry_end(const struct cursor *c, const char *p, const char **out, tl_error *err)
{
	int in_quote = 0, at_start = 1;
	const char *open = NULL;

	for (; *p; p++) {
		if (in_quote) {
			if (*p == c->quote) {
				if (p[1] == c->quote)
					p++;
				else
					in_quote = 0;
			}
			continue;
		}
		if (*p == ',')
			break;
		if (c->quote && *p == c->quote && at_start) {
			in_quote = 1;
			open = p;
			at_start = 0;
		} else if (*p == '.' || *p == ':') {
			at_start = 1;
		} else if (!is_space(*p)) {
			at_start = 0;
		}
	}
	if (in_quote) {
		struct cursor whole = *c;
		whole.entry_len = strlen(c->entry);
		return map_error(&whole, open, "unterminated quoted name", err);
	}
	*out = p;
	return 0;
}

static void db_free(struct tl_route__db *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(d[i].src);
		free(d[i].dst);
		free(d[i].text);
	}
	free(d);
}

static void tb_free(struct tl_route__tb *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(t[i].sdb);
		free(t[i].stb);
		free(t[i].ddb);
		free(t[i].dtb);
		free(t[i].text);
	}
	free(t);
}

static int grow(void **arr, size_t n, size_t elem, tl_error *err)
{
	void *na;

	if (n & (n - 1))
		return 0; /* capacity is the next power of two >= n */
	na = realloc(*arr, (n ? 2 * n : 1) * elem);
	if (!na)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading [router]");
	*arr = na;
	return 0;
}

/* Parses db_map (want_tb 0) or tb_map (want_tb 1) into r->db / r->tb. */
static int parse_map(struct tl_route *r, const char *key, const char *value, int want_tb, tl_error *err)
{
	struct cursor c;
	const char *p = value;
	int rc = 0;

	if (!value)
		return 0;
	memset(&c, 0, sizeof(c));
	c.key = key;
	c.value = value;
	c.quote = r->quote;
	for (;;) {
		const char *end = NULL, *q;
		char *sdb = NULL, *stb = NULL, *ddb = NULL, *dtb = NULL, *text = NULL;

		while (*p && (is_space(*p) || *p == ','))
			p++;
		if (!*p)
			break;
		c.entry = p;
		c.entry_no++;
		c.entry_len = strlen(p);
		if ((rc = entry_end(&c, p, &end, err)))
			return rc;
		q = end;
		while (q > p && is_space(q[-1]))
			q--;
		c.entry_len = (size_t)(q - p);
		q = p;
		if ((rc = read_side(&c, &q, end, want_tb, &sdb, &stb, err)))
			goto entry_fail;
		if (q >= end || *q != ':') {
			rc = map_error(&c, q, want_tb ? "expected ':' between source and target (db.tb:db.tb)"
						      : "expected ':' between source and target (db:db)",
				       err);
			goto entry_fail;
		}
		q++;
		if ((rc = read_side(&c, &q, end, want_tb, &ddb, &dtb, err)))
			goto entry_fail;
		if (q < end) {
			rc = map_error(&c, q, *q == ':' ? "more than one ':' (quote names that contain ':')"
							: "unexpected text after the target name",
				       err);
			goto entry_fail;
		}
		if (!(text = tl_strndup(c.entry, c.entry_len))) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading [router]");
			goto entry_fail;
		}
		if (want_tb) {
			if ((rc = grow((void **)&r->tb, r->ntb, sizeof(*r->tb), err)))
				goto entry_fail;
			r->tb[r->ntb].sdb = sdb;
			r->tb[r->ntb].stb = stb;
			r->tb[r->ntb].ddb = ddb;
			r->tb[r->ntb].dtb = dtb;
			r->tb[r->ntb].entry = c.entry_no;
			r->tb[r->ntb].text = text;
			r->ntb++;
		} else {
			if ((rc = grow((void **)&r->db, r->ndb, sizeof(*r->db), err)))
				goto entry_fail;
			r->db[r->ndb].src = sdb;
			r->db[r->ndb].dst = ddb;
			r->db[r->ndb].entry = c.entry_no;
			r->db[r->ndb].text = text;
			r->ndb++;
		}
		p = end;
		continue;
entry_fail:
		free(sdb);
		free(stb);
		free(ddb);
		free(dtb);
		free(text);
		return rc;
	}
	return 0;
}

static int db_cmp(const void *a, const void *b)
{
	const struct tl_route__db *x = a, *y = b;
	int c = strcmp(x->src, y->src);

	return c ? c : (x->entry > y->entry) - (x->entry < y->entry);
}

static int tb_cmp(const void *a, const void *b)
{
	const struct tl_route__tb *x = a, *y = b;
	int c = strcmp(x->sdb, y->sdb);

	if (!c)
		c = strcmp(x->stb, y->stb);
	return c ? c : (x->entry > y->entry) - (x->entry < y->entry);
}

/*
 * Sorts the rules and refuses one source mapped to two targets (ape-dts silently keeps
 * the last). A repeated identical entry is dropped.
 */
static int index_maps(struct tl_route *r, tl_error *err)
{
	size_t i, j, last;

	/* pass 1: refuse conflicts, drop identical repeats in place (nothing moves, so an
	 * error leaves every entry either whole or emptied: safe to free) */
	if (r->ndb > 1)
		qsort(r->db, r->ndb, sizeof(*r->db), db_cmp);
	for (i = 1, last = 0; i < r->ndb; i++) {
		struct tl_route__db *a = &r->db[last], *b = &r->db[i];
		if (strcmp(a->src, b->src) != 0) {
			last = i;
			continue;
		}
		if (strcmp(a->dst, b->dst) != 0)
			return tl_error_set(err, TL_ERR_CONFIG,
					    "[router] db_map entries %zu ('%.*s') and %zu ('%.*s') map database '%s' to two targets",
					    a->entry, MSG_TEXT, a->text, b->entry, MSG_TEXT, b->text, b->src);
		free(b->src);
		free(b->dst);
		free(b->text);
		b->src = b->dst = b->text = NULL;
	}
	if (r->ntb > 1)
		qsort(r->tb, r->ntb, sizeof(*r->tb), tb_cmp);
	for (i = 1, last = 0; i < r->ntb; i++) {
		struct tl_route__tb *a = &r->tb[last], *b = &r->tb[i];
		if (strcmp(a->sdb, b->sdb) != 0 || strcmp(a->stb, b->stb) != 0) {
			last = i;
			continue;
		}
		if (strcmp(a->ddb, b->ddb) != 0 || strcmp(a->dtb, b->dtb) != 0)
			return tl_error_set(err, TL_ERR_CONFIG,
					    "[router] tb_map entries %zu ('%.*s') and %zu ('%.*s') map table '%s.%s' to two targets",
					    a->entry, MSG_TEXT, a->text, b->entry, MSG_TEXT, b->text, b->sdb, b->stb);
		free(b->sdb);
		free(b->stb);
		free(b->ddb);
		free(b->dtb);
		free(b->text);
		b->sdb = b->stb = b->ddb = b->dtb = b->text = NULL;
	}
	/* pass 2: close the gaps */
	for (i = j = 0; i < r->ndb; i++)
		if (r->db[i].src)
			r->db[j++] = r->db[i];
	r->ndb = j;
	for (i = j = 0; i < r->ntb; i++)
		if (r->tb[i].sdb)
			r->tb[j++] = r->tb[i];
	r->ntb = j;
	return 0;
}

int tl_route_new(tl_route **out, char quote, unsigned flags, const char *db_map, const char *tb_map,
		 const char *col_map, const char *ignore_cols, tl_error *err)
{
	struct tl_route *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (!r)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	r->quote = quote;
	r->flags = flags;
	if ((rc = parse_map(r, "db_map", db_map, 0, err)) || (rc = parse_map(r, "tb_map", tb_map, 1, err)) ||
	    (rc = index_maps(r, err)) || (rc = tl_route__parse_col_map(r, col_map, err)) ||
	    (rc = tl_route__parse_ignore_cols(r, ignore_cols, err))) {
		tl_route_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void tl_route_free(tl_route *r)
{
	if (!r)
		return;
	db_free(r->db, r->ndb);
	tb_free(r->tb, r->ntb);
	tl_route__cols_free(r->col, r->ncol);
	tl_route__cols_free(r->ign, r->nign);
	free(r);
}

int tl_route_is_empty(const tl_route *r)
{
	return !r || (r->ndb == 0 && r->ntb == 0 && r->ncol == 0 && r->nign == 0);
}

static const struct tl_route__db *find_db(const tl_route *r, const char *db)
{
	size_t lo = 0, hi = r->ndb;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(db, r->db[mid].src);
		if (!c)
			return &r->db[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static const struct tl_route__tb *find_tb(const tl_route *r, const char *db, const char *tb)
{
	size_t lo = 0, hi = r->ntb;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(db, r->tb[mid].sdb);
		if (!c)
			c = strcmp(tb, r->tb[mid].stb);
		if (!c)
			return &r->tb[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void tl_route_table(const tl_route *r, const char *schema, const char *tb, const char **out_schema,
		    const char **out_tb)
{
	const struct tl_route__tb *t;
	const struct tl_route__db *d;

	*out_schema = schema;
	*out_tb = tb;
	if (!r)
		return;
	if ((t = find_tb(r, schema, tb))) {
		*out_schema = t->ddb;
		*out_tb = t->dtb;
	} else if ((d = find_db(r, schema))) {
		*out_schema = d->dst;
	}
}

int tl_route_table_moves(const tl_route *r, const char *schema, const char *tb)
{
	const char *ds, *dt;

	tl_route_table(r, schema, tb, &ds, &dt);
	return strcmp(ds, schema) != 0 || strcmp(dt, tb) != 0;
}

const char *tl_route_column(const tl_route *r, const char *schema, const char *tb, const char *col)
{
	const struct tl_route__cols *c;
	long i;

	if (!r || !(c = tl_route__cols_find(r->col, r->ncol, schema, tb)))
		return col;
	i = tl_route__cols_index(c, col);
	return i < 0 ? col : c->dst[i];
}

int tl_route_ignored(const tl_route *r, const char *schema, const char *tb, const char *col)
{
	const struct tl_route__cols *c;

	if (!r || !(c = tl_route__cols_find(r->ign, r->nign, schema, tb)))
		return 0;
	return tl_route__cols_index(c, col) >= 0;
}

/* ---- checks against the selected tables ------------------------------------------- */

static int name_cmp(const void *a, const void *b)
{
	const tl_name *x = *(const tl_name *const *)a, *y = *(const tl_name *const *)b;
	int c = strcmp(x->schema, y->schema);

	return c ? c : strcmp(x->name, y->name);
}

/* Index of (db, tb) in the sorted pointers, or -1; tb NULL: any table of db. */
static long sel_find(const tl_name *const *sorted, size_t n, const char *db, const char *tb)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(db, sorted[mid]->schema);
		if (!c && tb)
			c = strcmp(tb, sorted[mid]->name);
		if (!c)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static int has_wildcard(const char *s)
{
	return strchr(s, '*') || strchr(s, '?');
}

/* " (did you mean 'x.y'?)" for a selected name equal but for case, else "". */
static void near_miss(const tl_name *sel, size_t n, const char *db, const char *tb, char *out, size_t outlen)
{
	size_t i;

	out[0] = '\0';
	if (has_wildcard(db) || (tb && has_wildcard(tb))) {
		snprintf(out, outlen, " ([router] and ignore_cols take no wildcards, as in ape-dts)");
		return;
	}
	for (i = 0; i < n; i++) {
		if (strcasecmp(sel[i].schema, db) != 0 || (tb && strcasecmp(sel[i].name, tb) != 0))
			continue;
		if (tb)
			snprintf(out, outlen, " (names are case-sensitive: did you mean '%s.%s'?)", sel[i].schema, sel[i].name);
		else
			snprintf(out, outlen, " (names are case-sensitive: did you mean '%s'?)", sel[i].schema);
		return;
	}
}

static int check_cols_tables(const struct tl_route__cols *c, size_t nc, const char *what, const tl_name *sel,
			     size_t n, const tl_name *const *sorted, tl_error *err)
{
	size_t i;
	char hint[300];

	for (i = 0; i < nc; i++) {
		if (sel_find(sorted, n, c[i].db, c[i].tb) >= 0)
			continue;
		near_miss(sel, n, c[i].db, c[i].tb, hint, sizeof(hint));
		return tl_error_set(err, TL_ERR_CONFIG, "%s entry %zu: table '%s.%s' is not selected or does not exist%s",
				    what, c[i].entry, c[i].db, c[i].tb, hint);
	}
	return 0;
}

/* One routed target with the selected table it comes from. */
struct target {
	const char *db, *tb;
	size_t i;
};

static int target_cmp(const void *a, const void *b)
{
	const struct target *x = a, *y = b;
	int c = strcmp(x->db, y->db);

	if (!c)
		c = strcmp(x->tb, y->tb);
	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Lowest entry number first, whatever the key: the message names the first bad entry. */
int tl_route_validate(const tl_route *r, const tl_name *sel, size_t n, tl_error *err)
{
	const tl_name **sorted = NULL;
	struct target *tg = NULL;
	char hint[300];
	size_t i;
	int rc = 0;

	if (tl_route_is_empty(r))
		return 0;
	sorted = malloc((n ? n : 1) * sizeof(*sorted));
	tg = malloc((n ? n : 1) * sizeof(*tg));
	if (!sorted || !tg) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory checking [router]");
		goto cleanup;
	}
	for (i = 0; i < n; i++)
		sorted[i] = &sel[i];
	if (n > 1)
		qsort(sorted, n, sizeof(*sorted), name_cmp);
	for (i = 0; i < r->ndb; i++) {
		if (sel_find(sorted, n, r->db[i].src, NULL) >= 0)
			continue;
		near_miss(sel, n, r->db[i].src, NULL, hint, sizeof(hint));
		rc = tl_error_set(err, TL_ERR_CONFIG,
				  "[router] db_map entry %zu ('%.*s'): no selected table is in database '%s'%s",
				  r->db[i].entry, MSG_TEXT, r->db[i].text, r->db[i].src, hint);
		goto cleanup;
	}
	for (i = 0; i < r->ntb; i++) {
		if (sel_find(sorted, n, r->tb[i].sdb, r->tb[i].stb) >= 0)
			continue;
		near_miss(sel, n, r->tb[i].sdb, r->tb[i].stb, hint, sizeof(hint));
		rc = tl_error_set(err, TL_ERR_CONFIG,
				  "[router] tb_map entry %zu ('%.*s'): table '%s.%s' is not selected or does not exist%s",
				  r->tb[i].entry, MSG_TEXT, r->tb[i].text, r->tb[i].sdb, r->tb[i].stb, hint);
		goto cleanup;
	}
	if ((rc = check_cols_tables(r->col, r->ncol, "[router] col_map", sel, n, sorted, err)) ||
	    (rc = check_cols_tables(r->ign, r->nign, "[filter] ignore_cols", sel, n, sorted, err)))
		goto cleanup;
	for (i = 0; i < n; i++) {
		tl_route_table(r, sel[i].schema, sel[i].name, &tg[i].db, &tg[i].tb);
		tg[i].i = i;
	}
	if (n > 1)
		qsort(tg, n, sizeof(*tg), target_cmp);
	for (i = 1; i < n; i++) {
		const tl_name *a, *b;
		if (strcmp(tg[i - 1].db, tg[i].db) != 0 || strcmp(tg[i - 1].tb, tg[i].tb) != 0)
			continue;
		a = &sel[tg[i - 1].i];
		b = &sel[tg[i].i];
		rc = tl_error_set(err, TL_ERR_CONFIG,
				  "[router]: tables '%s.%s' and '%s.%s' would both be copied into '%s.%s'; "
				  "two sources onto one target table are refused (their rows, counts and progress would mix)",
				  a->schema, a->name, b->schema, b->name, tg[i].db, tg[i].tb);
		goto cleanup;
	}
cleanup:
	free(sorted);
	free(tg);
	return rc;
}

int tl_route_find_overlap(const tl_route *r, const tl_name *sel, size_t n, size_t *src_i, size_t *obj_i, tl_error *err)
{
	const tl_name **sorted = malloc((n ? n : 1) * sizeof(*sorted));
	size_t i;
	int found = 0;

	if (!sorted)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory checking source and target tables");
	for (i = 0; i < n; i++)
		sorted[i] = &sel[i];
	if (n > 1)
		qsort(sorted, n, sizeof(*sorted), name_cmp);
	for (i = 0; i < n && !found; i++) {
		const char *db, *tb;
		long j;

		tl_route_table(r, sel[i].schema, sel[i].name, &db, &tb);
		if ((j = sel_find(sorted, n, db, tb)) >= 0) {
			*src_i = i;
			*obj_i = (size_t)(sorted[j] - sel);
			found = 1;
		}
	}
	free(sorted);
	return found;
}

int tl_route_check_same_server(const tl_route *r, const tl_name *sel, size_t n, tl_error *err)
{
	size_t a = 0, b = 0;
	const char *db, *tb;
	int rc = tl_route_find_overlap(r, sel, n, &a, &b, err);

	if (rc <= 0)
		return rc;
	tl_route_table(r, sel[a].schema, sel[a].name, &db, &tb);
	if (a == b)
		return tl_error_set(err, TL_ERR_CONFIG,
				    "source and target are the same server and table '%s.%s' would be copied onto itself; "
				    "route it elsewhere with [router] db_map/tb_map or use another target",
				    sel[a].schema, sel[a].name);
	return tl_error_set(err, TL_ERR_CONFIG,
			    "source and target are the same server: table '%s.%s' would be copied into '%s.%s', which this "
			    "run also reads; leave '%s.%s' out of [filter] or route it elsewhere",
			    sel[a].schema, sel[a].name, db, tb, sel[b].schema, sel[b].name);
}
