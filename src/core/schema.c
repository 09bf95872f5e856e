/*
 * schema.c - the list of definition steps every schema-capable driver fills
 * (include/tideline/schema.h): building steps, ids, the do_structures words, and the
 * final ordering (phases, dependencies, levels) the engine relies on.
 *
 * Knows nothing about any database: drivers decide what a step says. The ordering is a
 * stable topological sort (Kahn's algorithm with the smallest (phase, push number)
 * first), so a driver that pushes in a sensible order gets exactly that order back.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "tideline/schema.h"

static const struct {
	const char *word;
	enum tl_schema_phase phase;
	int table_scoped; /* the object's name is unique per table, not per schema */
	unsigned structure;
} kinds[TL_SK_COUNT] = {
	[TL_SK_SCHEMA] = {"schema", TL_PHASE_PRE_DATA, 0, TL_ST_DATABASE},
	[TL_SK_DATABASE] = {"database", TL_PHASE_PRE_DATA, 0, TL_ST_DATABASE},
	[TL_SK_EXTENSION] = {"extension", TL_PHASE_PRE_DATA, 0, TL_ST_EXTENSION},
	[TL_SK_TYPE] = {"type", TL_PHASE_PRE_DATA, 0, TL_ST_UDT},
	[TL_SK_FUNCTION] = {"function", TL_PHASE_PRE_DATA, 0, TL_ST_UDF},
	[TL_SK_SEQUENCE] = {"sequence", TL_PHASE_PRE_DATA, 0, TL_ST_SEQUENCE},
	[TL_SK_TABLE] = {"table", TL_PHASE_PRE_DATA, 0, TL_ST_TABLE},
	[TL_SK_COLLECTION] = {"collection", TL_PHASE_PRE_DATA, 0, TL_ST_COLLECTION},
	[TL_SK_SEQUENCE_OWNER] = {"sequence owner", TL_PHASE_PRE_DATA, 0, TL_ST_SEQUENCE},
	[TL_SK_PRIMARY_KEY] = {"primary key", TL_PHASE_TABLE_POST, 1, TL_ST_TABLE},
	[TL_SK_UNIQUE] = {"unique", TL_PHASE_TABLE_POST, 1, TL_ST_TABLE},
	[TL_SK_EXCLUSION] = {"exclusion", TL_PHASE_TABLE_POST, 1, TL_ST_CONSTRAINT},
	[TL_SK_INDEX] = {"index", TL_PHASE_TABLE_POST, 0, TL_ST_INDEX},
	[TL_SK_INDEXES] = {"indexes", TL_PHASE_TABLE_POST, 1, TL_ST_INDEX},
	[TL_SK_INDEX_ATTACH] = {"index attach", TL_PHASE_TABLE_POST, 0, TL_ST_INDEX},
	[TL_SK_CHECK] = {"check", TL_PHASE_POST_DATA, 1, TL_ST_CONSTRAINT},
	[TL_SK_FOREIGN_KEY] = {"foreign key", TL_PHASE_POST_DATA, 1, TL_ST_CONSTRAINT},
	[TL_SK_TRIGGER] = {"trigger", TL_PHASE_POST_DATA, 1, TL_ST_TRIGGER},
	[TL_SK_VIEW] = {"view", TL_PHASE_POST_DATA, 0, TL_ST_VIEW},
	[TL_SK_MATVIEW] = {"materialized view", TL_PHASE_POST_DATA, 0, TL_ST_VIEW},
	[TL_SK_REFRESH] = {"refresh", TL_PHASE_POST_DATA, 0, TL_ST_VIEW},
	[TL_SK_STATISTICS] = {"statistics", TL_PHASE_POST_DATA, 0, TL_ST_INDEX},
	[TL_SK_EVENT] = {"event", TL_PHASE_POST_DATA, 0, TL_ST_EVENT},
	[TL_SK_COMMENT] = {"comment", TL_PHASE_POST_DATA, 0, TL_ST_COMMENT},
	[TL_SK_SEQUENCE_VALUE] = {"sequence value", TL_PHASE_FINAL, 0, TL_ST_SEQUENCE},
	[TL_SK_AUTO_INCREMENT] = {"auto_increment", TL_PHASE_FINAL, 1, TL_ST_SEQUENCE},
};

static const struct {
	const char *word;
	unsigned bit;
	int acted_on;
} structures[] = {
	{"database", TL_ST_DATABASE, 1}, {"table", TL_ST_TABLE, 1},	{"constraint", TL_ST_CONSTRAINT, 1},
	{"sequence", TL_ST_SEQUENCE, 1}, {"comment", TL_ST_COMMENT, 1}, {"index", TL_ST_INDEX, 1},
	{"udf", TL_ST_UDF, 1},		 {"udt", TL_ST_UDT, 1},		{"view", TL_ST_VIEW, 1},
	{"trigger", TL_ST_TRIGGER, 1},	 {"event", TL_ST_EVENT, 1},	{"extension", TL_ST_EXTENSION, 1},
	{"collection", TL_ST_COLLECTION, 1}, {"rbac", TL_ST_RBAC, 0},	{"shardkey", TL_ST_SHARDKEY, 0},
};

const char *tl_schema_kind_word(enum tl_schema_kind kind)
{
	return (unsigned)kind < TL_SK_COUNT ? kinds[kind].word : "object";
}

enum tl_schema_phase tl_schema_kind_phase(enum tl_schema_kind kind)
{
	return (unsigned)kind < TL_SK_COUNT ? kinds[kind].phase : TL_PHASE_POST_DATA;
}

unsigned tl_schema_kind_structure(enum tl_schema_kind kind)
{
	return (unsigned)kind < TL_SK_COUNT ? kinds[kind].structure : 0;
}

const char *tl_schema_phase_name(enum tl_schema_phase phase)
{
	static const char *const names[TL_PHASE_COUNT] = {"pre-data", "table-post", "post-data", "final"};

	return (unsigned)phase < TL_PHASE_COUNT ? names[phase] : "?";
}

int tl_schema_parse_structures(const char *value, unsigned *out, unsigned *unsupported, tl_error *err)
{
	const char *p = value ? value : "", *end;
	unsigned mask = 0, unsup = 0;
	size_t i, n;

	*out = 0;
	if (unsupported)
		*unsupported = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strcmp(p, "*") == 0) {
		*out = TL_ST_ALL;
		return 0;
	}
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		end = p;
		while (*end && *end != ',')
			end++;
		n = (size_t)(end - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		for (i = 0; i < sizeof(structures) / sizeof(structures[0]); i++)
			if (strlen(structures[i].word) == n && strncasecmp(p, structures[i].word, n) == 0)
				break;
		if (i == sizeof(structures) / sizeof(structures[0]))
			return tl_error_set(err, TL_ERR_CONFIG,
					    "unknown structure \"%.*s\" in do_structures (expected * or a list of "
					    "database, table, constraint, sequence, comment, index, udf, udt, view, "
					    "trigger, event, extension, collection)", (int)(n > 64 ? 64 : n), p);
		mask |= structures[i].bit;
		if (!structures[i].acted_on)
			unsup |= structures[i].bit;
		p = end;
	}
	*out = mask;
	if (unsupported)
		*unsupported = unsup;
	return 0;
}

static int bare(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '$'))
			return 0;
	return 1;
}

int tl_schema_qname(tl_buf *b, const char *schema, const char *table, const char *name, tl_error *err)
{
	const char *parts[3] = {schema, table, name};
	const char *s;
	int rc = 0, first = 1;
	size_t i;

	for (i = 0; !rc && i < 3; i++) {
		if (!parts[i])
			continue;
		if (!first)
			rc = tl_buf_putc(b, '.', err);
		first = 0;
		if (!rc && bare(parts[i])) {
			rc = tl_buf_puts(b, parts[i], err);
			continue;
		}
		if (!rc)
			rc = tl_buf_putc(b, '"', err);
		for (s = parts[i]; !rc && *s; s++)
			rc = *s == '"' ? tl_buf_puts(b, "\"\"", err) : tl_buf_putc(b, *s, err);
		if (!rc)
			rc = tl_buf_putc(b, '"', err);
	}
	return rc;
}

static void step_release(tl_schema_step *s)
{
	size_t i;

	free(s->id);
	free(s->schema);
	free(s->table);
	free(s->name);
	free(s->sql);
	free(s->session);
	free(s->ref);
	for (i = 0; i < s->nparts; i++) {
		free(s->parts[i].name);
		free(s->parts[i].sql);
	}
	free(s->parts);
	free(s->deps);
	memset(s, 0, sizeof(*s));
}

void tl_schema_list_clear(tl_schema_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		step_release(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = l->cap = 0;
}

static int dup_opt(const char *in, char **out)
{
	*out = NULL;
	if (!in)
		return 0;
	*out = tl_strdup(in);
	return *out ? 0 : -1;
}

int tl_schema_list_push(tl_schema_list *l, enum tl_schema_kind kind, const char *schema, const char *table,
			const char *name, size_t owner, tl_schema_step **out, tl_error *err)
{
	tl_buf id = TL_BUF_INIT;
	tl_schema_step *s;
	int rc;

	*out = NULL;
	if ((unsigned)kind >= TL_SK_COUNT)
		return tl_error_set(err, TL_ERR_INTERNAL, "schema step of unknown kind %d", (int)kind);
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		tl_schema_step *ni = realloc(l->items, cap * sizeof(*ni));
		if (!ni)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory listing definitions");
		l->items = ni;
		l->cap = cap;
	}
	rc = tl_buf_printf(&id, err, "%s ", kinds[kind].word);
	if (!rc)
		rc = tl_schema_qname(&id, schema, kinds[kind].table_scoped ? table : NULL, name, err);
	if (rc) {
		tl_buf_release(&id);
		return rc;
	}
	s = &l->items[l->n];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->phase = kinds[kind].phase;
	s->owner = owner;
	s->id = tl_buf_detach(&id);
	if (!s->id || dup_opt(schema, &s->schema) || dup_opt(table, &s->table) || dup_opt(name, &s->name)) {
		step_release(s);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory listing definitions");
	}
	l->n++;
	*out = s;
	return 0;
}

int tl_schema_step_set_id(tl_schema_step *s, tl_error *err, const char *fmt, ...)
{
	tl_buf b = TL_BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = tl_buf_vprintf(&b, err, fmt, ap);
	va_end(ap);
	if (rc) {
		tl_buf_release(&b);
		return rc;
	}
	free(s->id);
	s->id = tl_buf_detach(&b);
	return s->id ? 0 : tl_error_set(err, TL_ERR_NOMEM, "out of memory naming a definition");
}

int tl_schema_step_add_part(tl_schema_step *s, const char *name, const char *sql, tl_error *err)
{
	tl_schema_part *np = realloc(s->parts, (s->nparts + 1) * sizeof(*np));

	if (!np)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory listing indexes");
	s->parts = np;
	np[s->nparts].name = tl_strdup(name);
	np[s->nparts].sql = tl_strdup(sql);
	if (!np[s->nparts].name || !np[s->nparts].sql) {
		free(np[s->nparts].name);
		free(np[s->nparts].sql);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory listing indexes");
	}
	s->nparts++;
	return 0;
}

int tl_schema_step_add_dep(tl_schema_step *s, size_t dep, tl_error *err)
{
	size_t i, *nd;

	for (i = 0; i < s->ndeps; i++)
		if (s->deps[i] == dep)
			return 0;
	nd = realloc(s->deps, (s->ndeps + 1) * sizeof(*nd));
	if (!nd)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory listing dependencies");
	s->deps = nd;
	nd[s->ndeps++] = dep;
	return 0;
}

size_t tl_schema_list_find(const tl_schema_list *l, const char *id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->items[i].id, id) == 0)
			return i;
	return TL_SCHEMA_NO_OWNER;
}

/* ---- ordering ----------------------------------------------------------------------- */

struct order {
	const tl_schema_list *l;
	size_t *heap; /* min-heap of ready step numbers by (phase, number) */
	size_t nheap;
};

static int before(const struct order *o, size_t a, size_t b)
{
	const tl_schema_step *x = &o->l->items[a], *y = &o->l->items[b];

	if (x->phase != y->phase)
		return x->phase < y->phase;
	return a < b;
}

static void heap_push(struct order *o, size_t v)
{
	size_t i = o->nheap++, p;

	o->heap[i] = v;
	while (i > 0) {
		p = (i - 1) / 2;
		if (!before(o, o->heap[i], o->heap[p]))
			break;
		v = o->heap[i];
		o->heap[i] = o->heap[p];
		o->heap[p] = v;
		i = p;
	}
}

static size_t heap_pop(struct order *o)
{
	size_t top = o->heap[0], i = 0, c, v;

	o->heap[0] = o->heap[--o->nheap];
	for (;;) {
		c = 2 * i + 1;
		if (c >= o->nheap)
			break;
		if (c + 1 < o->nheap && before(o, o->heap[c + 1], o->heap[c]))
			c++;
		if (!before(o, o->heap[c], o->heap[i]))
			break;
		v = o->heap[i];
		o->heap[i] = o->heap[c];
		o->heap[c] = v;
		i = c;
	}
	return top;
}

static int cmp_ids(const void *a, const void *b)
{
	return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

/* Two steps with one id would make the store record one for the other. */
static int check_ids(const tl_schema_list *l, tl_error *err)
{
	char **ids;
	char ***refs;
	size_t i;
	int rc = 0;

	if (l->n < 2)
		return 0;
	ids = malloc(l->n * sizeof(*ids));
	refs = malloc(l->n * sizeof(*refs));
	if (!ids || !refs) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory checking definitions");
		goto cleanup;
	}
	for (i = 0; i < l->n; i++) {
		ids[i] = l->items[i].id;
		refs[i] = &ids[i];
	}
	qsort(refs, l->n, sizeof(*refs), cmp_ids);
	for (i = 1; i < l->n; i++)
		if (strcmp(*refs[i - 1], *refs[i]) == 0) {
			rc = tl_error_set(err, TL_ERR_INTERNAL, "two definition steps are both named \"%s\"", *refs[i]);
			break;
		}
cleanup:
	free(ids);
	free(refs);
	return rc;
}

int tl_schema_list_finish(tl_schema_list *l, tl_error *err)
{
	size_t n = l->n, i, j, k, d, *indeg = NULL, *start = NULL, *edges = NULL, *order = NULL, *newpos = NULL;
	struct order o = {l, NULL, 0};
	tl_schema_step *sorted = NULL;
	int rc;

	rc = check_ids(l, err);
	if (rc || n == 0)
		return rc;
	indeg = calloc(n, sizeof(*indeg));
	start = calloc(n + 1, sizeof(*start));
	order = malloc(n * sizeof(*order));
	newpos = malloc(n * sizeof(*newpos));
	o.heap = malloc(n * sizeof(*o.heap));
	if (!indeg || !start || !order || !newpos || !o.heap)
		goto nomem;
	/* edges dep -> step, in compressed rows */
	for (i = 0; i < n; i++)
		for (k = 0; k < l->items[i].ndeps; k++) {
			d = l->items[i].deps[k];
			if (d >= n || d == i) {
				rc = tl_error_set(err, TL_ERR_INTERNAL, "definition \"%s\" needs step %zu of %zu",
						  l->items[i].id, d, n);
				goto cleanup;
			}
			if (l->items[d].phase > l->items[i].phase) {
				rc = tl_error_set(err, TL_ERR_INTERNAL, "definition \"%s\" (%s) needs \"%s\" of a later phase (%s)",
						  l->items[i].id, tl_schema_phase_name(l->items[i].phase), l->items[d].id,
						  tl_schema_phase_name(l->items[d].phase));
				goto cleanup;
			}
			start[d + 1]++;
			indeg[i]++;
		}
	for (i = 0; i < n; i++)
		start[i + 1] += start[i];
	if (start[n]) {
		size_t *fill = calloc(n, sizeof(*fill));
		edges = malloc(start[n] * sizeof(*edges));
		if (!fill || !edges) {
			free(fill);
			goto nomem;
		}
		for (i = 0; i < n; i++)
			for (k = 0; k < l->items[i].ndeps; k++) {
				d = l->items[i].deps[k];
				edges[start[d] + fill[d]++] = i;
			}
		free(fill);
	}
	for (i = 0; i < n; i++)
		if (indeg[i] == 0)
			heap_push(&o, i);
	for (j = 0; j < n; j++) {
		if (o.nheap == 0)
			break;
		i = heap_pop(&o);
		order[j] = i;
		newpos[i] = j;
		for (k = start[i]; k < start[i + 1]; k++)
			if (--indeg[edges[k]] == 0)
				heap_push(&o, edges[k]);
	}
	if (j < n) {
		for (i = 0; i < n && indeg[i] == 0; i++)
			;
		rc = tl_error_set(err, TL_ERR_UNSUPPORTED, "definitions depend on each other in a cycle (\"%s\" is on it)",
				  i < n ? l->items[i].id : "?");
		goto cleanup;
	}
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		goto nomem;
	for (j = 0; j < n; j++) {
		sorted[j] = l->items[order[j]];
		for (k = 0; k < sorted[j].ndeps; k++)
			sorted[j].deps[k] = newpos[sorted[j].deps[k]];
	}
	for (j = 0; j < n; j++) {
		unsigned lv = 0;
		for (k = 0; k < sorted[j].ndeps; k++) {
			const tl_schema_step *dep = &sorted[sorted[j].deps[k]];
			if (dep->phase == sorted[j].phase && dep->level + 1 > lv)
				lv = dep->level + 1;
		}
		sorted[j].level = lv;
	}
	free(l->items);
	l->items = sorted;
	l->cap = n;
	goto cleanup;
nomem:
	rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory ordering definitions");
cleanup:
	free(indeg);
	free(start);
	free(edges);
	free(order);
	free(newpos);
	free(o.heap);
	return rc;
}
