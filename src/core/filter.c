/*
 * filter.c - compiles [filter] lists into matchers (include/tideline/filter.h).
 * Wildcards are matched by hand (only '*' and '?'), regexes with POSIX regcomp; names
 * given literally are found by binary search, so long table lists stay cheap.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include "tideline/buf.h"
#include "tideline/filter.h"

enum pkind { P_LITERAL, P_WILD, P_REGEX };

struct pat {
	enum pkind kind;
	char *text;
	regex_t re;
};

struct rule {
	struct pat db;
	struct pat tb; /* unused for db lists */
};

struct list {
	size_t n, cap;
	struct rule *rules;
	/* rules whose every part is a literal, sorted by (db, tb): one bsearch per table even
	 * when a task lists 100,000 tables by name; the other rules are tried one by one */
	size_t nlit, nother;
	const struct rule **lit, **other;
};

struct tl_filter {
	struct list do_dbs, ignore_dbs, do_tbs, ignore_tbs;
};

static int wild_match(const char *p, const char *s)
{
	const char *star = NULL, *ss = NULL;

	while (*s) {
		if (*p == '*') {
			star = p++;
			ss = s;
		} else if (*p == '?' || *p == *s) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++ss;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

static int pat_match(const struct pat *p, const char *s)
{
	switch (p->kind) {
	case P_LITERAL: return strcmp(p->text, s) == 0;
	case P_WILD: return wild_match(p->text, s);
	default: return regexec(&p->re, s, 0, NULL, 0) == 0;
	}
}

/* Reads one name part starting at *pp, stopping at an unquoted stop char. */
static int read_part(const char **pp, char quote, const char *stops, struct pat *out, const char *list, tl_error *err)
{
	const char *p = *pp;
	tl_buf b = TL_BUF_INIT;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	while (*p == ' ' || *p == '\t')
		p++;
	if (quote && *p == quote) {
		p++;
		for (;;) {
			if (!*p) {
				rc = tl_error_set(err, TL_ERR_CONFIG, "[filter] %s: unterminated quoted name", list);
				goto fail;
			}
			if (*p == quote) {
				if (p[1] == quote) {
					if ((rc = tl_buf_putc(&b, quote, err)))
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
		out->kind = P_LITERAL;
	} else if (p[0] == 'r' && p[1] == '#') {
		const char *end = strchr(p + 2, '#');
		if (!end) {
			rc = tl_error_set(err, TL_ERR_CONFIG, "[filter] %s: unterminated r#regex#", list);
			goto fail;
		}
		if ((rc = tl_buf_put(&b, p + 2, (size_t)(end - p - 2), err)))
			goto fail;
		p = end + 1;
		out->kind = P_REGEX;
	} else {
		while (*p && !strchr(stops, *p)) {
			if ((rc = tl_buf_putc(&b, *p++, err)))
				goto fail;
		}
		while (b.len && (b.data[b.len - 1] == ' ' || b.data[b.len - 1] == '\t'))
			b.data[--b.len] = '\0';
		out->kind = (strchr(tl_buf_cstr(&b), '*') || strchr(tl_buf_cstr(&b), '?')) ? P_WILD : P_LITERAL;
	}
	out->text = tl_buf_detach(&b);
	if (out->kind == P_REGEX) {
		tl_buf anchored = TL_BUF_INIT;
		if ((rc = tl_buf_printf(&anchored, err, "^(%s)$", out->text)))
			goto fail;
		if (regcomp(&out->re, tl_buf_cstr(&anchored), REG_EXTENDED | REG_NOSUB) != 0) {
			tl_buf_release(&anchored);
			rc = tl_error_set(err, TL_ERR_CONFIG, "[filter] %s: bad regular expression '%s'", list, out->text);
			free(out->text);
			out->text = NULL;
			return rc;
		}
		tl_buf_release(&anchored);
	}
	while (*p == ' ' || *p == '\t')
		p++;
	*pp = p;
	return 0;
fail:
	tl_buf_release(&b);
	return rc;
}

static void pat_free(struct pat *p)
{
	if (p->kind == P_REGEX && p->text)
		regfree(&p->re);
	free(p->text);
}

static int lit_cmp(const char *db, const char *tb, const struct rule *r)
{
	int c = strcmp(db, r->db.text);

	return c || !tb ? c : strcmp(tb, r->tb.text);
}

static int rule_cmp(const void *a, const void *b)
{
	const struct rule *x = *(const struct rule *const *)a, *y = *(const struct rule *const *)b;

	return lit_cmp(x->db.text, x->tb.text, y);
}

/* Splits the rules into the sorted literal ones and the others (see struct list). */
static int index_list(struct list *l, int with_tb, tl_error *err)
{
	size_t i;

	if (l->n == 0)
		return 0;
	l->lit = malloc(l->n * sizeof(*l->lit));
	l->other = malloc(l->n * sizeof(*l->other));
	if (!l->lit || !l->other)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	for (i = 0; i < l->n; i++) {
		const struct rule *r = &l->rules[i];
		if (r->db.kind == P_LITERAL && (!with_tb || r->tb.kind == P_LITERAL))
			l->lit[l->nlit++] = r;
		else
			l->other[l->nother++] = r;
	}
	qsort(l->lit, l->nlit, sizeof(*l->lit), rule_cmp);
	return 0;
}

static int parse_list(struct list *l, const char *spec, int with_tb, char quote, const char *name, tl_error *err)
{
	const char *p = spec;
	int rc;

	if (!spec)
		return 0;
	while (*p) {
		struct rule r;
		struct rule *nr;

		memset(&r, 0, sizeof(r));
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		if ((rc = read_part(&p, quote, with_tb ? ".," : ",", &r.db, name, err)))
			return rc;
		if (with_tb) {
			if (*p != '.') {
				pat_free(&r.db);
				return tl_error_set(err, TL_ERR_CONFIG, "[filter] %s: '%s' is not db.table", name, spec);
			}
			p++;
			if ((rc = read_part(&p, quote, ",", &r.tb, name, err))) {
				pat_free(&r.db);
				return rc;
			}
		}
		if (*p && *p != ',') {
			pat_free(&r.db);
			pat_free(&r.tb);
			return tl_error_set(err, TL_ERR_CONFIG, "[filter] %s: unexpected text at '%s'", name, p);
		}
		if (l->n == l->cap) {
			size_t cap = l->cap ? 2 * l->cap : 8;
			nr = realloc(l->rules, cap * sizeof(*nr));
			if (!nr) {
				pat_free(&r.db);
				pat_free(&r.tb);
				return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
			}
			l->rules = nr;
			l->cap = cap;
		}
		l->rules[l->n++] = r;
	}
	return index_list(l, with_tb, err);
}

static void list_free(struct list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		pat_free(&l->rules[i].db);
		pat_free(&l->rules[i].tb);
	}
	free(l->rules);
	free(l->lit);
	free(l->other);
}

int tl_filter_new(tl_filter **out, char quote, const char *do_dbs, const char *ignore_dbs, const char *do_tbs,
		  const char *ignore_tbs, tl_error *err)
{
	tl_filter *f = calloc(1, sizeof(*f));
	int rc;

	*out = NULL;
	if (!f)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	if ((rc = parse_list(&f->do_dbs, do_dbs, 0, quote, "do_dbs", err)) ||
	    (rc = parse_list(&f->ignore_dbs, ignore_dbs, 0, quote, "ignore_dbs", err)) ||
	    (rc = parse_list(&f->do_tbs, do_tbs, 1, quote, "do_tbs", err)) ||
	    (rc = parse_list(&f->ignore_tbs, ignore_tbs, 1, quote, "ignore_tbs", err))) {
		tl_filter_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

void tl_filter_free(tl_filter *f)
{
	if (!f)
		return;
	list_free(&f->do_dbs);
	list_free(&f->ignore_dbs);
	list_free(&f->do_tbs);
	list_free(&f->ignore_tbs);
	free(f);
}

/* bsearch key: a (db, tb) name; tb NULL = database rules */
struct lit_key {
	const char *db, *tb;
};

static int key_cmp(const void *k, const void *e)
{
	const struct lit_key *key = k;

	return lit_cmp(key->db, key->tb, *(const struct rule *const *)e);
}

static int list_match(const struct list *l, const char *db, const char *tb)
{
	struct lit_key key = {db, tb};
	size_t i;

	if (l->nlit && bsearch(&key, l->lit, l->nlit, sizeof(*l->lit), key_cmp))
		return 1;
	for (i = 0; i < l->nother; i++)
		if (pat_match(&l->other[i]->db, db) && (!tb || pat_match(&l->other[i]->tb, tb)))
			return 1;
	return 0;
}

int tl_filter_keep(const tl_filter *f, const char *db, const char *tb)
{
	if (list_match(&f->ignore_dbs, db, NULL) || list_match(&f->ignore_tbs, db, tb))
		return 0;
	return list_match(&f->do_dbs, db, NULL) || list_match(&f->do_tbs, db, tb);
}
