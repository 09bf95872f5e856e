/*
 * route_cols.c - [router] col_map and [filter] ignore_cols (JSON lists keyed by source
 * table) and the projection of a described table through them (include/tideline/route.h).
 *
 * The JSON shapes are ape-dts' (serde structs in rdb_router.rs and rdb_filter.rs):
 *   col_map=json:[{"db":"d","tb":"t","col_map":{"src_col":"dst_col"}}]
 *   ignore_cols=json:[{"db":"d","tb":"t","ignore_cols":["c1","c2"]}]
 * Stricter than serde where serde would hide a mistake: an unknown field, a repeated
 * table, a repeated column, two columns renamed to one name or an empty name is an error
 * naming the key, the entry (1-based) and, for JSON syntax, the character position.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/route_int.h"
#include "tideline/buf.h"

#define JSON_PREFIX "json:"

void tl_route__cols_free(struct tl_route__cols *c, size_t n)
{
	size_t i, j;

	for (i = 0; c && i < n; i++) {
		for (j = 0; j < c[i].n; j++) {
			free(c[i].src[j]);
			if (c[i].dst)
				free(c[i].dst[j]);
		}
		free(c[i].src);
		free(c[i].dst);
		free(c[i].db);
		free(c[i].tb);
	}
	free(c);
}

static int cols_cmp(const void *a, const void *b)
{
	const struct tl_route__cols *x = a, *y = b;
	int c = strcmp(x->db, y->db);

	if (!c)
		c = strcmp(x->tb, y->tb);
	return c ? c : (x->entry > y->entry) - (x->entry < y->entry);
}

const struct tl_route__cols *tl_route__cols_find(const struct tl_route__cols *c, size_t n, const char *db,
						 const char *tb)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int k = strcmp(db, c[mid].db);
		if (!k)
			k = strcmp(tb, c[mid].tb);
		if (!k)
			return &c[mid];
		if (k < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

long tl_route__cols_index(const struct tl_route__cols *c, const char *name)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int k = strcmp(name, c->src[mid]);
		if (!k)
			return (long)mid;
		if (k < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* Parses "json:[…]" (prefix optional, as in ape-dts) into a cJSON array. */
static int parse_array(const char *what, const char *text, const char *shape, cJSON **out, tl_error *err)
{
	const char *p = text, *json, *end = NULL;
	cJSON *root;

	*out = NULL;
	while (*p == ' ' || *p == '\t')
		p++;
	json = strncmp(p, JSON_PREFIX, strlen(JSON_PREFIX)) == 0 ? p + strlen(JSON_PREFIX) : p;
	root = cJSON_ParseWithOpts(json, &end, 1);
	if (!root)
		return tl_error_set(err, TL_ERR_CONFIG, "%s: invalid JSON at character %zu (expected json:%s)", what,
				    tl_route__charpos(text, end ? end : json), shape);
	if (!cJSON_IsArray(root)) {
		cJSON_Delete(root);
		return tl_error_set(err, TL_ERR_CONFIG, "%s: expected a JSON array, json:%s", what, shape);
	}
	*out = root;
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct pair {
	char *src, *dst;
};

static int pair_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pair *)a)->src, ((const struct pair *)b)->src);
}

/* Sorts src, keeping dst[i] with src[i]; repeated columns are handled by dedupe(). */
static int sort_pairs(struct tl_route__cols *c, tl_error *err)
{
	struct pair *p;
	size_t i;

	if (!c->dst) {
		if (c->n > 1)
			qsort(c->src, c->n, sizeof(*c->src), str_cmp);
		return 0;
	}
	if (!(p = malloc((c->n ? c->n : 1) * sizeof(*p))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	for (i = 0; i < c->n; i++) {
		p[i].src = c->src[i];
		p[i].dst = c->dst[i];
	}
	if (c->n > 1)
		qsort(p, c->n, sizeof(*p), pair_cmp);
	for (i = 0; i < c->n; i++) {
		c->src[i] = p[i].src;
		c->dst[i] = p[i].dst;
	}
	free(p);
	return 0;
}

/* Reads the "db" and "tb" strings of one entry and refuses unknown fields. */
static int entry_names(const char *what, size_t no, const cJSON *e, const char *list_field, const char *shape,
		       struct tl_route__cols *out, tl_error *err)
{
	const cJSON *f, *db = NULL, *tb = NULL;
	int lists = 0;

	if (!cJSON_IsObject(e))
		return tl_error_set(err, TL_ERR_CONFIG, "%s entry %zu: expected an object %s", what, no, shape);
	cJSON_ArrayForEach(f, e)
	{
		const cJSON **slot = strcmp(f->string, "db") == 0 ? &db : strcmp(f->string, "tb") == 0 ? &tb : NULL;

		if (!slot && strcmp(f->string, list_field) == 0) {
			if (lists++)
				return tl_error_set(err, TL_ERR_CONFIG, "%s entry %zu: field \"%s\" appears twice", what, no,
						    list_field);
			continue;
		}
		if (!slot)
			return tl_error_set(err, TL_ERR_CONFIG, "%s entry %zu: unknown field \"%s\" (expected %s)", what, no,
					    f->string, shape);
		if (*slot)
			return tl_error_set(err, TL_ERR_CONFIG, "%s entry %zu: field \"%s\" appears twice", what, no, f->string);
		*slot = f;
	}
	if (!cJSON_IsString(db) || !*db->valuestring)
		return tl_error_set(err, TL_ERR_CONFIG, "%s entry %zu: \"db\" must be a non-empty string", what, no);
	if (!cJSON_IsString(tb) || !*tb->valuestring)
		return tl_error_set(err, TL_ERR_CONFIG, "%s entry %zu: \"tb\" must be a non-empty string", what, no);
	out->db = tl_strdup(db->valuestring);
	out->tb = tl_strdup(tb->valuestring);
	if (!out->db || !out->tb)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	return 0;
}

/* Reads one entry's list ("col_map" object when want_dst, "ignore_cols" array otherwise). */
static int entry_list(const char *what, size_t no, const cJSON *list, int want_dst, struct tl_route__cols *out,
		      tl_error *err)
{
	const char *field = want_dst ? "col_map" : "ignore_cols";
	size_t n = (size_t)cJSON_GetArraySize(list), i = 0;
	const cJSON *it;

	if (want_dst ? !cJSON_IsObject(list) : !cJSON_IsArray(list))
		return tl_error_set(err, TL_ERR_CONFIG, "%s entry %zu: \"%s\" must be %s", what, no, field,
				    want_dst ? "an object {\"src_col\":\"dst_col\",…}" : "an array of column names");
	out->src = calloc(n ? n : 1, sizeof(char *));
	if (want_dst)
		out->dst = calloc(n ? n : 1, sizeof(char *));
	if (!out->src || (want_dst && !out->dst))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	cJSON_ArrayForEach(it, list)
	{
		const char *src = want_dst ? it->string : cJSON_IsString(it) ? it->valuestring : NULL;

		if (!src || !*src)
			return tl_error_set(err, TL_ERR_CONFIG, "%s entry %zu: \"%s\" item %zu must be a non-empty column name",
					    what, no, field, i + 1);
		if (want_dst && (!cJSON_IsString(it) || !*it->valuestring))
			return tl_error_set(err, TL_ERR_CONFIG, "%s entry %zu: column \"%s\" must map to a non-empty string",
					    what, no, src);
		if (!(out->src[i] = tl_strdup(src)) || (want_dst && !(out->dst[i] = tl_strdup(it->valuestring)))) {
			out->n = i + 1;
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		}
		out->n = ++i;
	}
	return sort_pairs(out, err);
}

/* After sorting: a column listed twice (col_map: error; ignore_cols: dropped, as a set). */
static int dedupe(const char *what, struct tl_route__cols *c, tl_error *err)
{
	size_t i, j;

	for (i = j = 0; i < c->n; i++) {
		if (j && strcmp(c->src[j - 1], c->src[i]) == 0) {
			if (c->dst)
				return tl_error_set(err, TL_ERR_CONFIG, "%s entry %zu: column \"%s\" of '%s.%s' is mapped twice",
						    what, c->entry, c->src[i], c->db, c->tb);
			free(c->src[i]);
			continue;
		}
		c->src[j] = c->src[i];
		if (c->dst)
			c->dst[j] = c->dst[i];
		j++;
	}
	c->n = j;
	return 0;
}

/* Two columns renamed onto one name inside one col_map entry. */
static int check_dst_unique(const char *what, const struct tl_route__cols *c, tl_error *err)
{
	size_t i, j;

	for (i = 0; i < c->n; i++)
		for (j = i + 1; j < c->n; j++)
			if (strcmp(c->dst[i], c->dst[j]) == 0)
				return tl_error_set(err, TL_ERR_CONFIG,
						    "%s entry %zu: columns \"%s\" and \"%s\" of '%s.%s' are both mapped to \"%s\"",
						    what, c->entry, c->src[i], c->src[j], c->db, c->tb, c->dst[i]);
	return 0;
}

static int parse_lists(const char *what, const char *text, int want_dst, struct tl_route__cols **out, size_t *nout,
		       tl_error *err)
{
	const char *shape = want_dst ? "[{\"db\":…,\"tb\":…,\"col_map\":{\"src_col\":\"dst_col\"}}]"
				     : "[{\"db\":…,\"tb\":…,\"ignore_cols\":[\"col\",…]}]";
	const char *field = want_dst ? "col_map" : "ignore_cols";
	cJSON *root = NULL;
	const cJSON *e;
	struct tl_route__cols *c = NULL;
	size_t n = 0, i;
	int rc;

	*out = NULL;
	*nout = 0;
	if (!text || !*text)
		return 0;
	if ((rc = parse_array(what, text, shape, &root, err)))
		return rc;
	c = calloc((size_t)cJSON_GetArraySize(root) + 1, sizeof(*c));
	if (!c) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	cJSON_ArrayForEach(e, root)
	{
		const cJSON *list;

		c[n].entry = n + 1;
		n++;
		if ((rc = entry_names(what, n, e, field, shape, &c[n - 1], err)))
			goto cleanup;
		list = cJSON_GetObjectItemCaseSensitive(e, field);
		if (!list) {
			rc = tl_error_set(err, TL_ERR_CONFIG, "%s entry %zu: missing \"%s\" (expected %s)", what, n, field, shape);
			goto cleanup;
		}
		if ((rc = entry_list(what, n, list, want_dst, &c[n - 1], err)) || (rc = dedupe(what, &c[n - 1], err)) ||
		    (want_dst && (rc = check_dst_unique(what, &c[n - 1], err))))
			goto cleanup;
	}
	if (n > 1)
		qsort(c, n, sizeof(*c), cols_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(c[i - 1].db, c[i].db) == 0 && strcmp(c[i - 1].tb, c[i].tb) == 0) {
			rc = tl_error_set(err, TL_ERR_CONFIG, "%s entries %zu and %zu both list table '%s.%s'", what,
					  c[i - 1].entry < c[i].entry ? c[i - 1].entry : c[i].entry,
					  c[i - 1].entry < c[i].entry ? c[i].entry : c[i - 1].entry, c[i].db, c[i].tb);
			goto cleanup;
		}
	}
	*out = c;
	*nout = n;
	c = NULL;
cleanup:
	tl_route__cols_free(c, n);
	cJSON_Delete(root);
	return rc;
}

int tl_route__parse_col_map(struct tl_route *r, const char *text, tl_error *err)
{
	int rc = parse_lists("[router] col_map", text, 1, &r->col, &r->ncol, err);

	if (!rc && r->ncol && (r->flags & TL_ROUTE_DOCUMENTS))
		return tl_error_set(err, TL_ERR_CONFIG,
				    "[router] col_map is not supported for MongoDB (documents are copied whole; ape-dts has no column routing for MongoDB either)");
	return rc;
}

int tl_route__parse_ignore_cols(struct tl_route *r, const char *text, tl_error *err)
{
	int rc = parse_lists("[filter] ignore_cols", text, 0, &r->ign, &r->nign, err);

	if (!rc && r->nign && (r->flags & TL_ROUTE_DOCUMENTS))
		return tl_error_set(err, TL_ERR_CONFIG,
				    "[filter] ignore_cols is not supported for MongoDB (documents are copied whole; ape-dts ignores it for MongoDB)");
	return rc;
}

/* ---- projection -------------------------------------------------------------------- */

void tl_route_cols_clear(tl_route_cols *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; c->dst_name && i < c->n; i++)
		free(c->dst_name[i]);
	free(c->dst_name);
	free(c->src_idx);
	memset(c, 0, sizeof(*c));
}

static long col_index(const tl_table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* Every listed column must exist; a near miss in case is named. */
static int check_listed(const char *what, const struct tl_route__cols *c, const tl_table *t, tl_error *err)
{
	size_t i, j;

	for (i = 0; c && i < c->n; i++) {
		if (col_index(t, c->src[i]) >= 0)
			continue;
		for (j = 0; j < t->ncols; j++)
			if (strcasecmp(t->cols[j].name, c->src[i]) == 0)
				return tl_error_set(err, TL_ERR_CONFIG,
						    "%s entry %zu: table '%s.%s' has no column \"%s\" (names are case-sensitive: did you mean \"%s\"?)",
						    what, c->entry, t->schema, t->name, c->src[i], t->cols[j].name);
		return tl_error_set(err, TL_ERR_CONFIG, "%s entry %zu: table '%s.%s' has no column \"%s\"", what, c->entry,
				    t->schema, t->name, c->src[i]);
	}
	return 0;
}

/* An ignored column the copy is ordered or split by cannot be left out. */
static int check_ignored_key(const struct tl_route__cols *ign, const tl_table *t, tl_error *err)
{
	size_t k;

	for (k = 0; ign && k < t->nkeys; k++) {
		const char *name = t->cols[t->key_idx[k]].name;
		if (tl_route__cols_index(ign, name) >= 0)
			return tl_error_set(err, TL_ERR_CONFIG,
					    "[filter] ignore_cols entry %zu: column \"%s\" of '%s.%s' is part of the key the copy is "
					    "ordered, resumed and verified by; a key column cannot be ignored",
					    ign->entry, name, t->schema, t->name);
	}
	if (ign && t->nkeys == 0 && t->part_idx < t->ncols && tl_route__cols_index(ign, t->cols[t->part_idx].name) >= 0)
		return tl_error_set(err, TL_ERR_CONFIG,
				    "[filter] ignore_cols entry %zu: column \"%s\" of '%s.%s' (a table without a key) is the column "
				    "its copy is split and resumed by; it cannot be ignored",
				    ign->entry, t->cols[t->part_idx].name, t->schema, t->name);
	return 0;
}

static int name_ptr_cmp(const void *a, const void *b)
{
	return strcmp(**(char **const *)a, **(char **const *)b);
}

int tl_route_project(const tl_route *r, const tl_table *t, tl_route_cols *out, tl_error *err)
{
	const struct tl_route__cols *cm = NULL, *ign = NULL;
	char ***byname = NULL;
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (r && !(r->flags & TL_ROUTE_DOCUMENTS)) {
		cm = tl_route__cols_find(r->col, r->ncol, t->schema, t->name);
		ign = tl_route__cols_find(r->ign, r->nign, t->schema, t->name);
	}
	if ((rc = check_listed("[filter] ignore_cols", ign, t, err)) || (rc = check_listed("[router] col_map", cm, t, err)) ||
	    (rc = check_ignored_key(ign, t, err)))
		return rc;
	for (i = 0; ign && cm && i < ign->n; i++)
		if (tl_route__cols_index(cm, ign->src[i]) >= 0)
			return tl_error_set(err, TL_ERR_CONFIG,
					    "column \"%s\" of '%s.%s' is both ignored ([filter] ignore_cols entry %zu) and renamed "
					    "([router] col_map entry %zu)",
					    ign->src[i], t->schema, t->name, ign->entry, cm->entry);
	if (ign && ign->n >= t->ncols)
		return tl_error_set(err, TL_ERR_CONFIG, "[filter] ignore_cols entry %zu: every column of '%s.%s' is ignored",
				    ign->entry, t->schema, t->name);
	out->src_idx = malloc((t->ncols ? t->ncols : 1) * sizeof(*out->src_idx));
	out->dst_name = calloc(t->ncols ? t->ncols : 1, sizeof(*out->dst_name));
	byname = malloc((t->ncols ? t->ncols : 1) * sizeof(*byname));
	if (!out->src_idx || !out->dst_name || !byname) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < t->ncols; i++) {
		const char *name = t->cols[i].name;
		long m;

		if (ign && tl_route__cols_index(ign, name) >= 0)
			continue;
		m = cm ? tl_route__cols_index(cm, name) : -1;
		out->src_idx[out->n] = i;
		if (!(out->dst_name[out->n] = tl_strdup(m >= 0 ? cm->dst[m] : name))) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
			goto cleanup;
		}
		if (m >= 0 && strcmp(cm->dst[m], name) != 0)
			out->renamed = 1;
		byname[out->n] = &out->dst_name[out->n];
		out->n++;
	}
	out->subset = out->n < t->ncols;
	/* a rename onto the name of a column that keeps its own name */
	if (out->n > 1)
		qsort(byname, out->n, sizeof(*byname), name_ptr_cmp);
	for (i = 1; i < out->n; i++) {
		size_t a, b;
		if (strcmp(*byname[i - 1], *byname[i]) != 0)
			continue;
		a = (size_t)(byname[i - 1] - out->dst_name);
		b = (size_t)(byname[i] - out->dst_name);
		rc = tl_error_set(err, TL_ERR_CONFIG,
				  "[router] col_map entry %zu: columns \"%s\" and \"%s\" of '%s.%s' would both be \"%s\" on the target",
				  cm ? cm->entry : 0, t->cols[out->src_idx[a < b ? a : b]].name,
				  t->cols[out->src_idx[a < b ? b : a]].name, t->schema, t->name, *byname[i]);
		goto cleanup;
	}
cleanup:
	free(byname);
	if (rc)
		tl_route_cols_clear(out);
	return rc;
}
