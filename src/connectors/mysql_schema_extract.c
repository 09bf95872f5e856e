/*
 * mysql_schema_extract.c - MySQL/MariaDB definitions (the schema_extract slot): the
 * server's own SHOW CREATE DATABASE / TABLE / VIEW / TRIGGER / PROCEDURE / FUNCTION /
 * EVENT text, split the way a fast restore needs it.
 *
 * SHOW CREATE TABLE is cut into its elements (a small scanner that knows backtick,
 * quote and parenthesis nesting): the table is created with its columns, CHECK
 * constraints, partitioning and the keys InnoDB needs while loading - the primary key
 * (rows are stored in its order: building it later would rewrite the table), else the
 * unique key InnoDB clusters on, and a key starting with the AUTO_INCREMENT column; all
 * other keys are added after the rows by one ALTER TABLE per table (one pass over the
 * rows for all of them), foreign keys after all rows. AUTO_INCREMENT=N is left out of
 * the table and set in the FINAL phase. DEFINER clauses are dropped: objects belong to
 * the target's user (docs/schema.md). Reads only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "connectors/mysql_schema_int.h"

/* ---- string sets (shared with mysql_schema_apply.c) ------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join_key(const char *a, const char *b)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0;
	char *k = malloc(la + lb + 2);

	if (!k)
		return NULL;
	memcpy(k, a, la);
	k[la] = '\x1f';
	memcpy(k + la + 1, b ? b : "", lb);
	k[la + 1 + lb] = '\0';
	return k;
}

int tl_mys__set_add(struct tl_mys_set *s, const char *a, const char *b, tl_error *err)
{
	char *k;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		char **nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql definitions");
		s->v = nv;
		s->cap = cap;
	}
	k = join_key(a ? a : "", b);
	if (!k)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql definitions");
	s->v[s->n++] = k;
	s->sorted = 0;
	return 0;
}

int tl_mys__set_has(struct tl_mys_set *s, const char *a, const char *b)
{
	char *k, **hit;

	if (s->n == 0)
		return 0;
	if (!s->sorted) {
		qsort(s->v, s->n, sizeof(*s->v), cmp_str);
		s->sorted = 1;
	}
	k = join_key(a ? a : "", b);
	if (!k)
		return 0;
	hit = bsearch(&k, s->v, s->n, sizeof(*s->v), cmp_str);
	free(k);
	return hit != NULL;
}

void tl_mys__set_clear(struct tl_mys_set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int tl_mys__set_row(void *ctx, unsigned ncols, char **vals, unsigned long *lens, tl_error *err)
{
	(void)lens;
	if (ncols == 0 || !vals[0])
		return 0;
	return tl_mys__set_add(ctx, vals[0], ncols > 1 ? vals[1] : NULL, err);
}

/* ---- result rows -------------------------------------------------------------------- */

struct rows {
	size_t n, cap;
	unsigned ncols;
	char **cells; /* n * ncols, NULL for SQL NULL */
};

static int rows_cb(void *ctx, unsigned ncols, char **vals, unsigned long *lens, tl_error *err)
{
	struct rows *r = ctx;
	unsigned i;

	if (r->n == 0 && r->cap == 0)
		r->ncols = ncols;
	if (ncols != r->ncols)
		return tl_error_set(err, TL_ERR_INTERNAL, "mysql result changed width");
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		char **nc = realloc(r->cells, cap * ncols * sizeof(*nc));
		if (!nc)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql definitions");
		r->cells = nc;
		r->cap = cap;
	}
	for (i = 0; i < ncols; i++) {
		char *v = NULL;
		if (vals[i]) {
			v = tl_strndup(vals[i], lens[i]);
			if (!v) {
				while (i-- > 0)
					free(r->cells[r->n * ncols + i]);
				return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql definitions");
			}
		}
		r->cells[r->n * ncols + i] = v;
	}
	r->n++;
	return 0;
}

static void rows_clear(struct rows *r)
{
	size_t i;

	for (i = 0; i < r->n * r->ncols; i++)
		free(r->cells[i]);
	free(r->cells);
	memset(r, 0, sizeof(*r));
}

static char *cell(const struct rows *r, size_t row, unsigned col)
{
	return row < r->n && col < r->ncols ? r->cells[row * r->ncols + col] : NULL;
}

/* ---- the extraction context ---------------------------------------------------------- */

struct tab {
	size_t owner;
	const char *sdb, *sname, *tdb, *tname;
	char *create; /* SHOW CREATE TABLE */
	char *engine, *ai_col, *ai_value;
	size_t step;
};

struct tab_ref {
	const char *db, *name;
	struct tab *t;
};

struct ctx {
	struct tab_ref *by_name; /* the tabs sorted by (sdb, sname) */
	tl_conn *c;
	const tl_name *names;
	size_t n;
	const tl_schema_opts *opts;
	tl_schema_list *out;
	struct tab *tabs;
	const char **dbs; /* distinct source databases, in order of first appearance */
	size_t ndbs;
	size_t *routine_first, *routine_end; /* per db: the steps of its routines */
	size_t *db_step;                     /* per db: its CREATE DATABASE step, NONE */
	struct tl_mys_set notnull;  /* "db\x1ftable" + column */
	struct tl_mys_set exists;   /* every source table and view: db + name */
	struct tl_mys_set views_in; /* views copied: db + name */
	/* the last foreign key / AUTO_INCREMENT step: each ALTER TABLE of those waits for the
	 * one before, since two at once on tables linked by a foreign key can both wait for
	 * the other's metadata lock inside InnoDB for ever (MariaDB 10.11, seen in tests) */
	size_t last_fk, last_ai;
};

#define NONE ((size_t)-1)

static int want(const struct ctx *x, enum tl_schema_kind kind)
{
	return (x->opts->structures & tl_schema_kind_structure(kind)) &&
	       (x->opts->phases & (1u << tl_schema_kind_phase(kind)));
}

/* Target database of a source database ([router]: the first selected table's). */
static const char *map_db(const struct ctx *x, const char *sdb)
{
	size_t i;

	if (!x->opts->targets)
		return sdb;
	for (i = 0; i < x->n; i++)
		if (strcmp(x->names[i].schema, sdb) == 0)
			return x->opts->targets[i].schema ? x->opts->targets[i].schema : sdb;
	return sdb;
}

static int cmp_names(const char *adb, const char *aname, const char *bdb, const char *bname)
{
	int c = strcmp(adb, bdb);

	return c ? c : strcmp(aname, bname);
}

static int cmp_ref(const void *a, const void *b)
{
	const struct tab_ref *x = a, *y = b;

	return cmp_names(x->db, x->name, y->db, y->name);
}

static struct tab *find_tab(const struct ctx *x, const char *sdb, const char *sname)
{
	struct tab_ref key = {sdb, sname, NULL}, *hit;

	if (x->n == 0)
		return NULL;
	hit = bsearch(&key, x->by_name, x->n, sizeof(*x->by_name), cmp_ref);
	return hit ? hit->t : NULL;
}

static int not_renamed(const struct ctx *x, const char *sdb, const char *what, const char *name, tl_error *err)
{
	if (strcmp(map_db(x, sdb), sdb) == 0)
		return 0;
	return tl_error_set(err, TL_ERR_UNSUPPORTED,
			    "%s `%s`.`%s` cannot follow the rename of database `%s` to `%s` (its text names the "
			    "source database): map the database to itself, or leave this kind out of do_structures",
			    what, sdb, name, sdb, map_db(x, sdb));
}

static int push(struct ctx *x, enum tl_schema_kind kind, const char *db, const char *table, const char *name,
		size_t owner, const char *sql, const char *session, size_t *out, tl_error *err)
{
	tl_schema_step *s;
	int rc;

	*out = NONE;
	rc = tl_schema_list_push(x->out, kind, db, table, name, owner, &s, err);
	if (rc)
		return rc;
	s->sql = tl_strdup(sql);
	s->session = session ? tl_strdup(session) : NULL;
	if (!s->sql || (session && !s->session))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql definitions");
	*out = x->out->n - 1;
	return 0;
}

static int dep(struct ctx *x, size_t step, size_t on, tl_error *err)
{
	if (step == NONE || on == NONE || step == on)
		return 0;
	return tl_schema_step_add_dep(&x->out->items[step], on, err);
}

static size_t db_index(const struct ctx *x, const char *sdb)
{
	size_t i;

	for (i = 0; i < x->ndbs; i++)
		if (strcmp(x->dbs[i], sdb) == 0)
			return i;
	return NONE;
}

/* ---- scanning the server's text -------------------------------------------------------- */

/* Index just past the quoted token starting at s[i] (backtick, quote or double quote). */
static size_t skip_quoted(const char *s, size_t i)
{
	char q = s[i++];

	while (s[i]) {
		if (q != '`' && s[i] == '\\' && s[i + 1]) {
			i += 2;
			continue;
		}
		if (s[i] == q) {
			if (s[i + 1] == q) {
				i += 2;
				continue;
			}
			return i + 1;
		}
		i++;
	}
	return i;
}

/* Reads the backtick identifier at s[*i] into out (unescaped); *i moves past it. */
static int read_ident(const char *s, size_t *i, tl_buf *out, tl_error *err)
{
	size_t j, end;
	int rc = 0;

	tl_buf_reset(out);
	if (s[*i] != '`')
		return tl_error_set(err, TL_ERR_UNSUPPORTED, "expected a `quoted` name in mysql's definition at: %.40s",
				    s + *i);
	end = skip_quoted(s, *i);
	for (j = *i + 1; !rc && j + 1 < end; j++) {
		rc = tl_buf_putc(out, s[j], err);
		if (s[j] == '`')
			j++;
	}
	if (!rc && out->len == 0)
		rc = tl_buf_puts(out, "", err);
	*i = end;
	return rc;
}

/* Removes "DEFINER=user@host " from a CREATE statement's head (objects belong to the target's user). */
static void strip_definer(char *s)
{
	char *p = strstr(s, "DEFINER=");
	size_t i;

	if (!p || p - s > 64 || strncmp(s, "CREATE ", 7) != 0)
		return;
	for (i = 7; s + i < p; i++)
		if (s[i] == '`' || s[i] == '\'' || s[i] == '(')
			return;
	i = (size_t)(p - s) + 8;
	if (s[i] == '`' || s[i] == '\'')
		i = skip_quoted(s, i);
	else
		while (s[i] && s[i] != '@' && s[i] != ' ')
			i++;
	if (s[i] == '@') {
		i++;
		if (s[i] == '`' || s[i] == '\'')
			i = skip_quoted(s, i);
		else
			while (s[i] && s[i] != ' ')
				i++;
	}
	while (s[i] == ' ')
		i++;
	memmove(p, s + i, strlen(s + i) + 1);
}

enum elem_kind { EL_COLUMN, EL_PRIMARY, EL_UNIQUE, EL_KEY, EL_FOREIGN, EL_OTHER };

struct elem {
	const char *p;
	size_t len;
	enum elem_kind kind;
	char *name;        /* keys, constraints */
	char *first_col;   /* keys: first column */
	int all_not_null;  /* unique keys: every column NOT NULL */
	int inline_;       /* stays in CREATE TABLE */
};

struct split {
	char *text;
	size_t head_end;   /* just past "(" */
	size_t tail;       /* at the closing ")" */
	struct elem *e;
	size_t n;
};

static void split_clear(struct split *sp)
{
	size_t i;

	for (i = 0; i < sp->n; i++) {
		free(sp->e[i].name);
		free(sp->e[i].first_col);
	}
	free(sp->e);
	memset(sp, 0, sizeof(*sp));
}

static int starts(const char *p, size_t len, const char *word)
{
	size_t l = strlen(word);

	return len >= l && strncmp(p, word, l) == 0;
}

/* Key name and columns of a key element ("UNIQUE KEY `n` (`a`,`b`(10) DESC)"). */
static int key_details(struct ctx *x, const struct tab *t, struct elem *e, size_t skip, tl_error *err)
{
	tl_buf id = TL_BUF_INIT, key = TL_BUF_INIT;
	char *s = tl_strndup(e->p, e->len);
	size_t i = skip;
	int rc = 0, depth = 0, at_start = 1;

	if (!s)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql definitions");
	while (s[i] == ' ')
		i++;
	if (s[i] == '`') {
		rc = read_ident(s, &i, &id, err);
		if (!rc) {
			e->name = tl_strdup(tl_buf_cstr(&id));
			if (!e->name)
				rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql definitions");
		}
	}
	e->all_not_null = 1;
	rc = rc ? rc : tl_buf_printf(&key, err, "%s\x1f%s", t->sdb, t->sname);
	for (; !rc && s[i]; i++) {
		if (s[i] == '(') {
			depth++;
			continue;
		}
		if (s[i] == ')') {
			if (--depth == 0)
				break;
			continue;
		}
		if (depth == 1 && s[i] == ',') {
			at_start = 1;
			continue;
		}
		if (depth == 1 && at_start && s[i] == '`') {
			size_t j = i;
			rc = read_ident(s, &j, &id, err);
			if (rc)
				break;
			if (!e->first_col) {
				e->first_col = tl_strdup(tl_buf_cstr(&id));
				if (!e->first_col)
					rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql definitions");
			}
			if (!tl_mys__set_has(&x->notnull, tl_buf_cstr(&key), tl_buf_cstr(&id)))
				e->all_not_null = 0;
			at_start = 0;
			i = j - 1;
		}
	}
	free(s);
	tl_buf_release(&id);
	tl_buf_release(&key);
	return rc;
}

/* Cuts SHOW CREATE TABLE into its elements and decides which stay in CREATE TABLE. */
static int split_table(struct ctx *x, const struct tab *t, struct split *sp, tl_error *err)
{
	const char *s = t->create;
	size_t i, start, cap = 0;
	int depth = 1, rc = 0, has_pk = 0, clustered = 0, ai_done;

	memset(sp, 0, sizeof(*sp));
	if (strncmp(s, "CREATE TABLE `", 14) != 0)
		return tl_error_set(err, TL_ERR_UNSUPPORTED, "cannot read SHOW CREATE TABLE of `%s`.`%s`: %.60s", t->sdb,
				    t->sname, s);
	i = skip_quoted(s, 13);
	while (s[i] == ' ')
		i++;
	if (s[i] != '(')
		return tl_error_set(err, TL_ERR_UNSUPPORTED, "cannot read SHOW CREATE TABLE of `%s`.`%s`", t->sdb, t->sname);
	sp->head_end = ++i;
	start = i;
	while (!rc && s[i] && depth > 0) {
		if (s[i] == '`' || s[i] == '\'' || s[i] == '"') {
			i = skip_quoted(s, i);
			continue;
		}
		if (s[i] == '(')
			depth++;
		else if (s[i] == ')')
			depth--;
		if ((depth == 1 && s[i] == ',') || depth == 0) {
			const char *p = s + start;
			size_t len = i - start;
			struct elem *e;
			while (len && (*p == ' ' || *p == '\n')) {
				p++;
				len--;
			}
			while (len && (p[len - 1] == ' ' || p[len - 1] == '\n'))
				len--;
			if (sp->n == cap) {
				struct elem *ne = realloc(sp->e, (cap = cap ? 2 * cap : 16) * sizeof(*ne));
				if (!ne) {
					rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql definitions");
					break;
				}
				sp->e = ne;
			}
			e = &sp->e[sp->n++];
			memset(e, 0, sizeof(*e));
			e->p = p;
			e->len = len;
			e->inline_ = 1;
			if (*p == '`')
				e->kind = EL_COLUMN;
			else if (starts(p, len, "PRIMARY KEY"))
				e->kind = EL_PRIMARY;
			else if (starts(p, len, "UNIQUE KEY "))
				e->kind = EL_UNIQUE, rc = key_details(x, t, e, 11, err);
			else if (starts(p, len, "KEY "))
				e->kind = EL_KEY, rc = key_details(x, t, e, 4, err);
			else if (starts(p, len, "FULLTEXT KEY ") || starts(p, len, "SPATIAL KEY "))
				e->kind = EL_KEY, rc = key_details(x, t, e, p[0] == 'F' ? 13 : 12, err), e->all_not_null = 0;
			else if (starts(p, len, "VECTOR KEY ") || starts(p, len, "VECTOR INDEX "))
				e->kind = EL_KEY, rc = key_details(x, t, e, p[7] == 'K' ? 11 : 13, err), e->all_not_null = 0;
			else if (starts(p, len, "CONSTRAINT `")) {
				size_t j = 11;
				tl_buf nm = TL_BUF_INIT;
				char *tmp = tl_strndup(p, len);
				if (!tmp) {
					rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql definitions");
					break;
				}
				rc = read_ident(tmp, &j, &nm, err);
				if (!rc && strncmp(tmp + j, " FOREIGN KEY ", 13) == 0) {
					e->kind = EL_FOREIGN;
					e->name = tl_strdup(tl_buf_cstr(&nm));
					if (!e->name)
						rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql definitions");
				} else {
					e->kind = EL_OTHER; /* CHECK */
				}
				free(tmp);
				tl_buf_release(&nm);
			} else
				e->kind = EL_OTHER;
			if (e->kind == EL_PRIMARY)
				has_pk = 1;
			start = i + 1;
			if (depth == 0)
				break;
		}
		i++;
	}
	if (rc)
		return rc;
	if (depth != 0)
		return tl_error_set(err, TL_ERR_UNSUPPORTED, "cannot read SHOW CREATE TABLE of `%s`.`%s`: unbalanced", t->sdb,
				    t->sname);
	sp->tail = i;
	/* what loading needs: the clustered key, and a key led by the AUTO_INCREMENT column */
	ai_done = !t->ai_col;
	for (i = 0; i < sp->n; i++) {
		struct elem *e = &sp->e[i];
		if (e->kind == EL_FOREIGN) {
			e->inline_ = 0;
			continue;
		}
		if (e->kind != EL_UNIQUE && e->kind != EL_KEY)
			continue;
		e->inline_ = 0;
		if (!has_pk && !clustered && e->kind == EL_UNIQUE && e->all_not_null && t->engine &&
		    strcmp(t->engine, "InnoDB") == 0) {
			e->inline_ = 1;
			clustered = 1;
		}
		if (!ai_done && e->first_col && strcmp(e->first_col, t->ai_col) == 0 && !starts(e->p, e->len, "FULLTEXT") &&
		    !starts(e->p, e->len, "SPATIAL"))
			e->inline_ = 1;
		if (e->inline_ && e->first_col && t->ai_col && strcmp(e->first_col, t->ai_col) == 0)
			ai_done = 1;
	}
	for (i = 0; !ai_done && i < sp->n; i++)
		if (sp->e[i].kind == EL_PRIMARY) {
			/* "PRIMARY KEY (`ai`,…)": the primary key is led by it */
			const char *q = memchr(sp->e[i].p, '`', sp->e[i].len);
			size_t l = strlen(t->ai_col);
			if (q && strncmp(q + 1, t->ai_col, l) == 0 && q[1 + l] == '`')
				ai_done = 1;
		}
	if (!ai_done) /* keep the first key that contains it at all */
		for (i = 0; i < sp->n; i++)
			if (sp->e[i].kind == EL_KEY || sp->e[i].kind == EL_UNIQUE) {
				sp->e[i].inline_ = 1;
				break;
			}
	return 0;
}

/* Appends the table options after the column list, without AUTO_INCREMENT=N. */
static int put_tail(tl_buf *b, const char *tail, tl_error *err)
{
	size_t i = 0, from = 0;
	int rc = 0;

	while (tail[i]) {
		if (tail[i] == '\'' || tail[i] == '`' || tail[i] == '"') {
			i = skip_quoted(tail, i);
			continue;
		}
		if (strncmp(tail + i, " AUTO_INCREMENT=", 16) == 0) {
			size_t j = i + 16;
			while (tail[j] >= '0' && tail[j] <= '9')
				j++;
			rc = tl_buf_put(b, tail + from, i - from, err);
			from = i = j;
			break;
		}
		i++;
	}
	return rc ? rc : tl_buf_puts(b, tail + from, err);
}

/* "… REFERENCES `p` (…)" with the referenced table named for the target, fully qualified. */
static int foreign_sql(struct ctx *x, const struct tab *t, const struct elem *e, tl_buf *out, tl_error *err)
{
	char *s = tl_strndup(e->p, e->len);
	tl_buf a = TL_BUF_INIT, b = TL_BUF_INIT;
	const struct tab *rt;
	size_t i = 0, ref = 0;
	int rc = 0;

	if (!s)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql definitions");
	while (s[i] && !ref) {
		if (s[i] == '`' || s[i] == '\'') {
			i = skip_quoted(s, i);
			continue;
		}
		if (strncmp(s + i, " REFERENCES ", 12) == 0)
			ref = i + 12;
		i++;
	}
	if (!ref) {
		rc = tl_error_set(err, TL_ERR_UNSUPPORTED, "cannot read foreign key `%s` of `%s`.`%s`", e->name, t->sdb, t->sname);
		goto cleanup;
	}
	i = ref;
	rc = read_ident(s, &i, &a, err);
	if (!rc && s[i] == '.') {
		i++;
		rc = read_ident(s, &i, &b, err);
	} else if (!rc) {
		rc = tl_buf_puts(&b, tl_buf_cstr(&a), err);
		if (!rc) {
			tl_buf_reset(&a);
			rc = tl_buf_puts(&a, t->sdb, err);
		}
	}
	if (rc)
		goto cleanup;
	rt = find_tab(x, tl_buf_cstr(&a), tl_buf_cstr(&b));
	rc = tl_buf_puts(out, "ALTER TABLE ", err);
	if (!rc)
		rc = tl_mysql__qtable(out, t->tdb, t->tname, err);
	if (!rc)
		rc = tl_buf_puts(out, " ADD ", err);
	if (!rc)
		rc = tl_buf_put(out, s, ref, err);
	if (!rc)
		rc = rt ? tl_mysql__qtable(out, rt->tdb, rt->tname, err)
			: tl_mysql__qtable(out, map_db(x, tl_buf_cstr(&a)), tl_buf_cstr(&b), err);
	if (!rc)
		rc = tl_buf_puts(out, s + i, err);
cleanup:
	free(s);
	tl_buf_release(&a);
	tl_buf_release(&b);
	return rc;
}

/* ---- reading the catalogs -------------------------------------------------------------- */

static int query(struct ctx *x, const char *sql, const char *param, struct rows *out, tl_error *err)
{
	const char *p[1] = {param};

	return tl_mysql__query(x->c, sql, param ? 1 : 0, p, rows_cb, out, err);
}

/* SHOW CREATE <what> `db`.`name` into *out (a text-protocol statement: names cannot be bound). */
static int show_create(struct ctx *x, const char *what, const char *db, const char *name, struct rows *out,
		       tl_error *err)
{
	tl_buf sql = TL_BUF_INIT;
	int rc = tl_buf_printf(&sql, err, "SHOW CREATE %s ", what);

	if (!rc)
		rc = name ? tl_mysql__qtable(&sql, db, name, err) : tl_mysql__qident(&sql, db, err);
	if (!rc)
		rc = tl_mysql__query_text(x->c, tl_buf_cstr(&sql), rows_cb, out, err);
	if (rc)
		tl_error_prefix(err, "cannot read the definition of %s `%s`.`%s`", what, db, name);
	else if (out->n == 0)
		rc = tl_error_set(err, TL_ERR_NOTFOUND, "%s `%s`.`%s` has no definition (missing, or no right to see it)",
				  what, db, name);
	tl_buf_release(&sql);
	return rc;
}

/* The session an object was made in: USE db, its sql_mode, collation (and time zone). */
static int session_sql(struct ctx *x, const char *tdb, const char *sql_mode, const char *collation, const char *tz,
		       tl_buf *out, tl_error *err)
{
	int rc = tl_buf_puts(out, "USE ", err);

	if (!rc)
		rc = tl_mysql__qident(out, tdb, err);
	if (!rc)
		rc = tl_buf_puts(out, ";\nSET SESSION sql_mode = ", err);
	if (!rc)
		rc = tl_mysql__qstring(x->c, out, sql_mode ? sql_mode : "", strlen(sql_mode ? sql_mode : ""), err);
	if (!rc && collation) {
		rc = tl_buf_puts(out, ", collation_connection = ", err);
		if (!rc)
			rc = tl_mysql__qstring(x->c, out, collation, strlen(collation), err);
	}
	if (!rc && tz) {
		rc = tl_buf_puts(out, ", time_zone = ", err);
		if (!rc)
			rc = tl_mysql__qstring(x->c, out, tz, strlen(tz), err);
	}
	return rc;
}

static int databases(struct ctx *x, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT, head = TL_BUF_INIT;
	struct rows r = {0, 0, 0, NULL};
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < x->ndbs; i++) {
		const char *text, *tdb = map_db(x, x->dbs[i]);
		x->db_step[i] = NONE;
		rows_clear(&r);
		if (!want(x, TL_SK_DATABASE))
			continue;
		rc = show_create(x, "DATABASE", x->dbs[i], NULL, &r, err);
		if (rc)
			break;
		/* "CREATE DATABASE `db` <options> [COMMENT <text>]" */
		text = cell(&r, 0, 1);
		tl_buf_reset(&head);
		tl_buf_reset(&sql);
		rc = tl_buf_puts(&head, "CREATE DATABASE ", err);
		if (!rc)
			rc = tl_mysql__qident(&head, x->dbs[i], err);
		if (!rc && (!text || strncmp(text, head.data, head.len) != 0))
			rc = tl_error_set(err, TL_ERR_UNSUPPORTED, "cannot read SHOW CREATE DATABASE `%s`", x->dbs[i]);
		if (!rc)
			rc = tl_buf_puts(&sql, "CREATE DATABASE IF NOT EXISTS ", err);
		if (!rc)
			rc = tl_mysql__qident(&sql, tdb, err);
		if (!rc)
			rc = tl_buf_puts(&sql, text + head.len, err);
		if (!rc)
			rc = push(x, TL_SK_DATABASE, tdb, NULL, NULL, TL_SCHEMA_NO_OWNER, tl_buf_cstr(&sql), NULL,
				  &x->db_step[i], err);
	}
	rows_clear(&r);
	tl_buf_release(&sql);
	tl_buf_release(&head);
	return rc;
}

/* Table facts per database: engine, AUTO_INCREMENT, NOT NULL and AUTO_INCREMENT columns. */
static int table_facts(struct ctx *x, tl_error *err)
{
	static const char tables_sql[] =
		"SELECT TABLE_NAME, ENGINE, AUTO_INCREMENT, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?";
	static const char cols_sql[] =
		"SELECT TABLE_NAME, COLUMN_NAME, IS_NULLABLE, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?";
	struct rows r = {0, 0, 0, NULL};
	tl_buf key = TL_BUF_INIT;
	size_t d, k, i;
	int rc = 0;

	for (d = 0; !rc && d < x->ndbs; d++) {
		rows_clear(&r);
		rc = query(x, tables_sql, x->dbs[d], &r, err);
		for (k = 0; !rc && k < r.n; k++) {
			struct tab *t = find_tab(x, x->dbs[d], cell(&r, k, 0));
			rc = tl_mys__set_add(&x->exists, x->dbs[d], cell(&r, k, 0), err);
			if (!rc && t) {
				if (strcmp(cell(&r, k, 3), "BASE TABLE") != 0)
					rc = tl_error_set(err, TL_ERR_UNSUPPORTED, "`%s`.`%s` is a %s, not a table", t->sdb, t->sname,
							  cell(&r, k, 3));
				t->engine = cell(&r, k, 1) ? tl_strdup(cell(&r, k, 1)) : NULL;
				t->ai_value = cell(&r, k, 2) ? tl_strdup(cell(&r, k, 2)) : NULL;
			}
		}
		rows_clear(&r);
		if (!rc)
			rc = query(x, cols_sql, x->dbs[d], &r, err);
		for (k = 0; !rc && k < r.n; k++) {
			tl_buf_reset(&key);
			rc = tl_buf_printf(&key, err, "%s\x1f%s", x->dbs[d], cell(&r, k, 0));
			if (!rc && strcmp(cell(&r, k, 2), "NO") == 0)
				rc = tl_mys__set_add(&x->notnull, tl_buf_cstr(&key), cell(&r, k, 1), err);
			if (!rc && cell(&r, k, 3) && strstr(cell(&r, k, 3), "auto_increment")) {
				struct tab *t = find_tab(x, x->dbs[d], cell(&r, k, 0));
				if (t && !(t->ai_col = tl_strdup(cell(&r, k, 1))))
					rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql definitions");
			}
		}
	}
	for (i = 0; !rc && i < x->n; i++)
		if (!tl_mys__set_has(&x->exists, x->tabs[i].sdb, x->tabs[i].sname))
			rc = tl_error_set(err, TL_ERR_NOTFOUND, "source table `%s`.`%s` does not exist", x->tabs[i].sdb,
					  x->tabs[i].sname);
	rows_clear(&r);
	tl_buf_release(&key);
	return rc;
}

/* ---- tables, indexes, foreign keys, counters ------------------------------------------ */

static int table_steps(struct ctx *x, struct tab *t, tl_error *err)
{
	struct rows r = {0, 0, 0, NULL};
	struct split sp;
	tl_buf sql = TL_BUF_INIT, part = TL_BUF_INIT;
	size_t i, st, d = db_index(x, t->sdb), nparts = 0;
	int rc, first = 1;
	tl_schema_step *ix = NULL;

	memset(&sp, 0, sizeof(sp));
	rc = show_create(x, "TABLE", t->sdb, t->sname, &r, err);
	if (!rc) {
		t->create = tl_strdup(cell(&r, 0, 1) ? cell(&r, 0, 1) : "");
		if (!t->create)
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql definitions");
	}
	if (!rc)
		rc = split_table(x, t, &sp, err);
	if (rc)
		goto cleanup;
	/* the table, with what loading needs */
	rc = tl_buf_puts(&sql, "CREATE TABLE ", err);
	if (!rc)
		rc = tl_mysql__qtable(&sql, t->tdb, t->tname, err);
	if (!rc)
		rc = tl_buf_puts(&sql, " (\n", err);
	for (i = 0; !rc && i < sp.n; i++) {
		if (!sp.e[i].inline_)
			continue;
		rc = tl_buf_printf(&sql, err, "%s  %.*s", first ? "" : ",\n", (int)sp.e[i].len, sp.e[i].p);
		first = 0;
	}
	if (!rc)
		rc = tl_buf_puts(&sql, "\n", err);
	if (!rc)
		rc = put_tail(&sql, t->create + sp.tail, err);
	if (!rc && want(x, TL_SK_TABLE)) {
		rc = push(x, TL_SK_TABLE, t->tdb, NULL, t->tname, t->owner, tl_buf_cstr(&sql), NULL, &t->step, err);
		if (!rc && d != NONE)
			rc = dep(x, t->step, x->db_step[d], err);
	}
	/* the other keys: one statement, after the rows */
	tl_buf_reset(&sql);
	rc = rc ? rc : tl_buf_puts(&sql, "ALTER TABLE ", err);
	if (!rc)
		rc = tl_mysql__qtable(&sql, t->tdb, t->tname, err);
	for (i = 0; !rc && i < sp.n; i++) {
		struct elem *e = &sp.e[i];
		enum tl_schema_structure cls = e->kind == EL_UNIQUE ? TL_ST_TABLE : TL_ST_INDEX;
		if (e->inline_ || (e->kind != EL_UNIQUE && e->kind != EL_KEY) || !(x->opts->structures & cls) ||
		    !(x->opts->phases & (1u << TL_PHASE_TABLE_POST)))
			continue;
		tl_buf_reset(&part);
		rc = tl_buf_printf(&part, err, "ADD %.*s", (int)e->len, e->p);
		if (!rc)
			rc = tl_buf_printf(&sql, err, "%s %s", nparts ? "," : "", tl_buf_cstr(&part));
		if (!rc && !ix) {
			rc = push(x, TL_SK_INDEXES, t->tdb, t->tname, NULL, t->owner, "", NULL, &st, err);
			ix = rc ? NULL : &x->out->items[st];
			if (ix)
				ix->flags |= TL_STEP_SLOW;
		}
		if (!rc)
			rc = tl_schema_step_add_part(ix, e->name ? e->name : "", tl_buf_cstr(&part), err);
		nparts++;
	}
	if (!rc && ix) {
		free(ix->sql);
		ix->sql = tl_buf_detach(&sql);
		if (!ix->sql)
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql definitions");
	}
	/* foreign keys, after all rows */
	for (i = 0; !rc && i < sp.n; i++) {
		if (sp.e[i].kind != EL_FOREIGN || !want(x, TL_SK_FOREIGN_KEY))
			continue;
		tl_buf_reset(&part);
		rc = foreign_sql(x, t, &sp.e[i], &part, err);
		if (!rc)
			rc = push(x, TL_SK_FOREIGN_KEY, t->tdb, t->tname, sp.e[i].name, t->owner, tl_buf_cstr(&part), NULL, &st,
				  err);
		if (!rc)
			x->out->items[st].flags |= TL_STEP_SLOW;
		if (!rc)
			rc = dep(x, st, x->last_fk, err);
		if (!rc)
			x->last_fk = st;
	}
	/* the counter, at the end (1: never used, which the copied rows set anyway) */
	if (!rc && t->ai_value && strcmp(t->ai_value, "1") != 0 && want(x, TL_SK_AUTO_INCREMENT)) {
		tl_buf_reset(&part);
		rc = tl_buf_puts(&part, "ALTER TABLE ", err);
		if (!rc)
			rc = tl_mysql__qtable(&part, t->tdb, t->tname, err);
		if (!rc)
			rc = tl_buf_printf(&part, err, " AUTO_INCREMENT = %s", t->ai_value);
		if (!rc)
			rc = push(x, TL_SK_AUTO_INCREMENT, t->tdb, t->tname, NULL, t->owner, tl_buf_cstr(&part), NULL, &st, err);
		if (!rc)
			x->out->items[st].flags |= TL_STEP_RERUN;
		if (!rc)
			rc = dep(x, st, x->last_ai, err);
		if (!rc)
			x->last_ai = st;
	}
cleanup:
	split_clear(&sp);
	rows_clear(&r);
	tl_buf_release(&sql);
	tl_buf_release(&part);
	return rc;
}

/* ---- routines, views, triggers, events --------------------------------------------------- */

static int routines(struct ctx *x, size_t d, tl_error *err)
{
	static const char sql[] = "SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES "
				  "WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_TYPE, ROUTINE_NAME";
	struct rows list = {0, 0, 0, NULL}, r = {0, 0, 0, NULL};
	tl_buf ses = TL_BUF_INIT, id = TL_BUF_INIT;
	const char *db = x->dbs[d], *tdb = map_db(x, db);
	size_t k, st;
	int rc;

	x->routine_first[d] = x->routine_end[d] = x->out->n;
	if (!want(x, TL_SK_FUNCTION))
		return 0;
	rc = query(x, sql, db, &list, err);
	for (k = 0; !rc && k < list.n; k++) {
		const char *name = cell(&list, k, 0), *type = cell(&list, k, 1);
		char *text;
		tl_schema_step *s;
		if (strcmp(type, "PROCEDURE") != 0 && strcmp(type, "FUNCTION") != 0) {
			rc = tl_error_set(err, TL_ERR_UNSUPPORTED, "%s `%s`.`%s` is not copied: create it on the target first, "
					  "or leave udf out of do_structures", type, db, name);
			break;
		}
		rc = not_renamed(x, db, type[0] == 'P' ? "procedure" : "function", name, err);
		rows_clear(&r);
		if (!rc)
			rc = show_create(x, type, db, name, &r, err);
		if (rc)
			break;
		text = cell(&r, 0, 2);
		if (!text) {
			rc = tl_error_set(err, TL_ERR_UNSUPPORTED, "no right to read the body of %s `%s`.`%s`", type, db, name);
			break;
		}
		strip_definer(text);
		tl_buf_reset(&ses);
		rc = session_sql(x, tdb, cell(&r, 0, 1), cell(&r, 0, 4), NULL, &ses, err);
		if (!rc)
			rc = push(x, TL_SK_FUNCTION, tdb, NULL, name, TL_SCHEMA_NO_OWNER, text, tl_buf_cstr(&ses), &st, err);
		if (rc)
			break;
		s = &x->out->items[st];
		s->phase = TL_PHASE_POST_DATA; /* nothing in a MySQL table can call one */
		s->ref = tl_strdup(type);
		tl_buf_reset(&id);
		rc = s->ref ? tl_schema_qname(&id, tdb, NULL, name, err)
			    : tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql definitions");
		if (!rc)
			rc = tl_schema_step_set_id(s, err, "%s %s", type[0] == 'P' ? "procedure" : "function", tl_buf_cstr(&id));
	}
	x->routine_end[d] = x->out->n;
	rows_clear(&list);
	rows_clear(&r);
	tl_buf_release(&ses);
	tl_buf_release(&id);
	return rc;
}

/* Every `a`.`b` a view's text names that is a source table or view: cb(ctx, a, b). */
static int view_refs(struct ctx *x, const char *text, int (*cb)(struct ctx *, const char *, const char *, void *),
		     void *arg, tl_error *err)
{
	tl_buf a = TL_BUF_INIT, b = TL_BUF_INIT;
	size_t i = 0;
	int rc = 0;

	if (!text)
		return 0;
	while (!rc && text[i]) {
		if (text[i] == '\'' || text[i] == '"') {
			i = skip_quoted(text, i);
			continue;
		}
		if (text[i] != '`') {
			i++;
			continue;
		}
		rc = read_ident(text, &i, &a, err);
		if (rc || text[i] != '.' || text[i + 1] != '`')
			continue;
		i++;
		{
			size_t j = i;
			rc = read_ident(text, &j, &b, err);
			if (!rc && tl_mys__set_has(&x->exists, tl_buf_cstr(&a), tl_buf_cstr(&b)))
				rc = cb(x, tl_buf_cstr(&a), tl_buf_cstr(&b), arg);
		}
	}
	tl_buf_release(&a);
	tl_buf_release(&b);
	return rc;
}

struct view_check {
	int ok;
};

static int view_ok_cb(struct ctx *x, const char *db, const char *name, void *arg)
{
	struct view_check *v = arg;

	if (!find_tab(x, db, name) && !tl_mys__set_has(&x->views_in, db, name))
		v->ok = 0;
	return 0;
}

struct view_dep {
	size_t step;
	const size_t *steps;
	const struct rows *list;
	const char *db;
};

static int view_dep_cb(struct ctx *x, const char *db, const char *name, void *arg)
{
	struct view_dep *vd = arg;
	size_t k;

	if (strcmp(db, vd->db) != 0)
		return 0;
	for (k = 0; k < vd->list->n; k++)
		if (strcmp(cell(vd->list, k, 0), name) == 0 && vd->steps[k] != NONE)
			return dep(x, vd->step, vd->steps[k], NULL);
	return 0;
}

static int views(struct ctx *x, size_t d, tl_error *err)
{
	static const char sql[] = "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME";
	struct rows list = {0, 0, 0, NULL};
	struct rows *defs = NULL;
	size_t *steps = NULL, k;
	unsigned char *in = NULL;
	tl_buf ses = TL_BUF_INIT;
	const char *db = x->dbs[d], *tdb = map_db(x, db);
	int rc, changed;

	if (!want(x, TL_SK_VIEW))
		return 0;
	rc = query(x, sql, db, &list, err);
	if (rc || list.n == 0)
		goto cleanup;
	defs = calloc(list.n, sizeof(*defs));
	steps = malloc(list.n * sizeof(*steps));
	in = malloc(list.n);
	if (!defs || !steps || !in) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql views");
		goto cleanup;
	}
	for (k = 0; !rc && k < list.n; k++) {
		steps[k] = NONE;
		in[k] = 1;
		rc = show_create(x, "VIEW", db, cell(&list, k, 0), &defs[k], err);
		if (!rc)
			rc = tl_mys__set_add(&x->views_in, db, cell(&list, k, 0), err);
	}
	do { /* leave out views that read what is not copied */
		changed = 0;
		for (k = 0; !rc && k < list.n; k++) {
			struct view_check v = {1};
			if (!in[k])
				continue;
			rc = view_refs(x, cell(&defs[k], 0, 1), view_ok_cb, &v, err);
			if (!v.ok) {
				size_t j;
				in[k] = 0;
				changed = 1;
				/* rebuild the set without it */
				tl_mys__set_clear(&x->views_in);
				for (j = 0; !rc && j < list.n; j++)
					if (in[j])
						rc = tl_mys__set_add(&x->views_in, db, cell(&list, j, 0), err);
			}
		}
	} while (!rc && changed);
	for (k = 0; !rc && k < list.n; k++) {
		char *text = cell(&defs[k], 0, 1);
		if (!in[k])
			continue;
		if (!text) {
			rc = tl_error_set(err, TL_ERR_UNSUPPORTED, "no right to read the definition of view `%s`.`%s`", db,
					  cell(&list, k, 0));
			break;
		}
		rc = not_renamed(x, db, "view", cell(&list, k, 0), err);
		if (rc)
			break;
		strip_definer(text);
		tl_buf_reset(&ses);
		rc = session_sql(x, tdb, "", cell(&defs[k], 0, 3), NULL, &ses, err);
		if (!rc)
			rc = push(x, TL_SK_VIEW, tdb, NULL, cell(&list, k, 0), TL_SCHEMA_NO_OWNER, text, tl_buf_cstr(&ses),
				  &steps[k], err);
	}
	for (k = 0; !rc && k < list.n; k++) {
		struct view_dep vd = {steps[k], steps, &list, db};
		if (in[k])
			rc = view_refs(x, cell(&defs[k], 0, 1), view_dep_cb, &vd, err);
	}
cleanup:
	for (k = 0; defs && k < list.n; k++)
		rows_clear(&defs[k]);
	free(defs);
	free(steps);
	free(in);
	rows_clear(&list);
	tl_buf_release(&ses);
	return rc;
}

static int triggers(struct ctx *x, size_t d, tl_error *err)
{
	static const char sql[] =
		"SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION FROM information_schema.TRIGGERS "
		"WHERE TRIGGER_SCHEMA = ? ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER";
	struct rows list = {0, 0, 0, NULL}, r = {0, 0, 0, NULL};
	tl_buf ses = TL_BUF_INIT;
	const char *db = x->dbs[d];
	size_t k, st, prev = NONE, j;
	int rc;

	if (!want(x, TL_SK_TRIGGER))
		return 0;
	rc = query(x, sql, db, &list, err);
	for (k = 0; !rc && k < list.n; k++) {
		const char *name = cell(&list, k, 0), *tb = cell(&list, k, 1);
		const struct tab *t = find_tab(x, db, tb);
		char *text;
		if (!t)
			continue; /* on a table not copied */
		if (strcmp(t->tdb, t->sdb) != 0 || strcmp(t->tname, t->sname) != 0) {
			rc = tl_error_set(err, TL_ERR_UNSUPPORTED,
					  "trigger `%s`.`%s` cannot follow the rename of its table `%s`.`%s` (its text names "
					  "the table): leave trigger out of do_structures",
					  db, name, db, tb);
			break;
		}
		rows_clear(&r);
		rc = show_create(x, "TRIGGER", db, name, &r, err);
		if (rc)
			break;
		text = cell(&r, 0, 2);
		if (!text) {
			rc = tl_error_set(err, TL_ERR_UNSUPPORTED, "no right to read the definition of `%s`.`%s`", db, name);
			break;
		}
		strip_definer(text);
		tl_buf_reset(&ses);
		rc = session_sql(x, t->tdb, cell(&r, 0, 1), cell(&r, 0, 4), NULL, &ses, err);
		if (!rc)
			rc = push(x, TL_SK_TRIGGER, t->tdb, t->tname, name, t->owner, text, tl_buf_cstr(&ses), &st, err);
		/* one after the other on the same table, timing and event: they keep their order */
		if (!rc && k > 0 && strcmp(cell(&list, k - 1, 1), tb) == 0 &&
		    strcmp(cell(&list, k - 1, 2), cell(&list, k, 2)) == 0 && strcmp(cell(&list, k - 1, 3), cell(&list, k, 3)) == 0)
			rc = dep(x, st, prev, err);
		for (j = x->routine_first[d]; !rc && j < x->routine_end[d]; j++)
			rc = dep(x, st, j, err);
		prev = st;
	}
	rows_clear(&list);
	rows_clear(&r);
	tl_buf_release(&ses);
	return rc;
}

static int events(struct ctx *x, size_t d, tl_error *err)
{
	static const char sql[] =
		"SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY EVENT_NAME";
	struct rows list = {0, 0, 0, NULL}, r = {0, 0, 0, NULL};
	tl_buf ses = TL_BUF_INIT;
	const char *db = x->dbs[d], *tdb = map_db(x, db);
	size_t k, st, j;
	int rc;

	if (!want(x, TL_SK_EVENT))
		return 0;
	rc = query(x, sql, db, &list, err);
	for (k = 0; !rc && k < list.n; k++) {
		const char *name = cell(&list, k, 0);
		char *text;
		rc = not_renamed(x, db, "event", name, err);
		rows_clear(&r);
		if (!rc)
			rc = show_create(x, "EVENT", db, name, &r, err);
		if (rc)
			break;
		text = cell(&r, 0, 3);
		if (!text) {
			rc = tl_error_set(err, TL_ERR_UNSUPPORTED, "no right to read the definition of `%s`.`%s`", db, name);
			break;
		}
		strip_definer(text);
		tl_buf_reset(&ses);
		rc = session_sql(x, tdb, cell(&r, 0, 1), cell(&r, 0, 5), cell(&r, 0, 2), &ses, err);
		if (!rc)
			rc = push(x, TL_SK_EVENT, tdb, NULL, name, TL_SCHEMA_NO_OWNER, text, tl_buf_cstr(&ses), &st, err);
		for (j = x->routine_first[d]; !rc && j < x->routine_end[d]; j++)
			rc = dep(x, st, j, err);
	}
	rows_clear(&list);
	rows_clear(&r);
	tl_buf_release(&ses);
	return rc;
}

/* ---- the slot ------------------------------------------------------------------------ */

int tl_mysql__schema_extract(tl_conn *src, const tl_name *names, size_t n, const tl_schema_opts *opts,
			     tl_schema_list *out, tl_error *err)
{
	static const tl_schema_opts all = TL_SCHEMA_OPTS_INIT;
	struct ctx x;
	size_t i, d;
	int rc;

	memset(&x, 0, sizeof(x));
	x.c = src;
	x.names = names;
	x.n = n;
	x.opts = opts ? opts : &all;
	x.out = out;
	x.last_fk = x.last_ai = NONE;
	rc = tl_mysql__ready(src, err);
	if (rc)
		return rc;
	x.tabs = calloc(n ? n : 1, sizeof(*x.tabs));
	x.dbs = calloc(n ? n : 1, sizeof(*x.dbs));
	x.routine_first = calloc(n ? n : 1, sizeof(*x.routine_first));
	x.routine_end = calloc(n ? n : 1, sizeof(*x.routine_end));
	x.by_name = calloc(n ? n : 1, sizeof(*x.by_name));
	x.db_step = calloc(n ? n : 1, sizeof(*x.db_step));
	if (!x.tabs || !x.dbs || !x.routine_first || !x.routine_end || !x.by_name || !x.db_step) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql definitions");
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		struct tab *t = &x.tabs[i];
		t->owner = i;
		t->sdb = names[i].schema;
		t->sname = names[i].name;
		t->tdb = x.opts->targets && x.opts->targets[i].schema ? x.opts->targets[i].schema : t->sdb;
		t->tname = x.opts->targets && x.opts->targets[i].name ? x.opts->targets[i].name : t->sname;
		t->step = NONE;
		if (db_index(&x, t->sdb) == NONE)
			x.dbs[x.ndbs++] = t->sdb;
		x.by_name[i].db = t->sdb;
		x.by_name[i].name = t->sname;
		x.by_name[i].t = t;
	}
	if (n)
		qsort(x.by_name, n, sizeof(*x.by_name), cmp_ref);
	/* one consistent view of the catalogs */
	rc = tl_mysql__exec(src, "SET SESSION sql_quote_show_create = 1", err);
	if (!rc)
		rc = tl_mysql__exec(src, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", err);
	if (!rc)
		rc = table_facts(&x, err);
	if (!rc)
		rc = databases(&x, err);
	for (i = 0; !rc && i < n; i++)
		rc = table_steps(&x, &x.tabs[i], err);
	for (d = 0; !rc && d < x.ndbs; d++)
		rc = routines(&x, d, err);
	for (d = 0; !rc && d < x.ndbs; d++)
		rc = views(&x, d, err);
	for (d = 0; !rc && d < x.ndbs; d++)
		rc = triggers(&x, d, err);
	for (d = 0; !rc && d < x.ndbs; d++)
		rc = events(&x, d, err);
	if (!rc)
		rc = tl_schema_list_finish(out, err);
	{
		tl_error e2 = TL_ERROR_INIT;
		int rc2 = tl_mysql__exec(src, "COMMIT", &e2);
		if (rc2 && !rc) {
			rc = rc2;
			if (err)
				*err = e2;
		}
	}
cleanup:
	for (i = 0; x.tabs && i < n; i++) {
		free(x.tabs[i].create);
		free(x.tabs[i].engine);
		free(x.tabs[i].ai_col);
		free(x.tabs[i].ai_value);
	}
	free(x.tabs);
	free(x.dbs);
	free(x.routine_first);
	free(x.routine_end);
	free(x.by_name);
	free(x.db_step);
	tl_mys__set_clear(&x.notnull);
	tl_mys__set_clear(&x.exists);
	tl_mys__set_clear(&x.views_in);
	return rc;
}
