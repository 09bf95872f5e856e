/*
 * table.c - helpers for described tables (tl_table, include/tideline/driver.h) shared by
 * the drivers and the engine: linking the explicit key columns, finding a column by name,
 * the common part of a projection (the drivers' project slot).
 */
#include <stdlib.h>
#include <string.h>
#include "tideline/buf.h"
#include "tideline/driver.h"

int tl_table_link_keys(tl_table *t, tl_error *err)
{
	size_t i;

	free(t->keys);
	t->keys = NULL;
	if (t->nkeys == 0)
		return 0;
	t->keys = malloc(t->nkeys * sizeof(*t->keys));
	if (!t->keys)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory describing '%s.%s'", t->schema, t->name);
	for (i = 0; i < t->nkeys; i++)
		t->keys[i] = &t->cols[t->key_idx[i]];
	return 0;
}

size_t tl_table_col_index(const tl_table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return i;
	return TL_NO_COL;
}

/* Frees what tl_table_project_base allocated (impl is the driver's: not touched). */
static void base_free(tl_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; t->cols && i < t->ncols; i++) {
		free(t->cols[i].name);
		free(t->cols[i].type);
	}
	free(t->cols);
	free(t->keys);
	free(t->key_idx);
	free(t->schema);
	free(t->name);
	free(t);
}

/* Where source column c is among cols[0..n), or TL_NO_COL. */
static size_t position_of(const size_t *cols, size_t n, size_t c)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cols[i] == c)
			return i;
	return TL_NO_COL;
}

int tl_table_project_base(const tl_table *src, const char *schema, const char *name, const size_t *cols,
			  const char *const *names, size_t n, tl_table **out, tl_error *err)
{
	tl_table *t = NULL;
	size_t i;

	*out = NULL;
	for (i = 0; i < n; i++)
		if (cols[i] >= src->ncols)
			return tl_error_set(err, TL_ERR_INTERNAL, "projection of %s.%s: column %zu of %zu", src->schema,
					    src->name, cols[i], src->ncols);
	t = calloc(1, sizeof(*t));
	if (!t)
		goto nomem;
	t->schema = tl_strdup(schema);
	t->name = tl_strdup(name);
	t->cols = calloc(n ? n : 1, sizeof(*t->cols));
	t->key_idx = calloc(src->nkeys ? src->nkeys : 1, sizeof(*t->key_idx));
	t->keys = calloc(src->nkeys ? src->nkeys : 1, sizeof(*t->keys));
	if (!t->schema || !t->name || !t->cols || !t->key_idx || !t->keys)
		goto nomem;
	for (i = 0; i < n; i++) {
		const tl_column *c = &src->cols[cols[i]];
		t->cols[i].name = tl_strdup(names && names[i] ? names[i] : c->name);
		t->cols[i].type = tl_strdup(c->type);
		t->cols[i].kind = c->kind;
		t->cols[i].nullable = c->nullable;
		t->ncols = i + 1;
		if (!t->cols[i].name || !t->cols[i].type)
			goto nomem;
	}
	t->key_kind = src->key_kind;
	t->nkeys = src->nkeys;
	for (i = 0; i < src->nkeys; i++) {
		if (src->key_idx[i] == TL_NO_COL) {
			t->key_idx[i] = TL_NO_COL; /* the driver sets keys[i] */
			continue;
		}
		t->key_idx[i] = position_of(cols, n, src->key_idx[i]);
		if (t->key_idx[i] == TL_NO_COL) {
			base_free(t);
			return tl_error_set(err, TL_ERR_MISMATCH, "%s.%s: key column %s is not among the columns copied",
					    src->schema, src->name, src->keys[i]->name);
		}
		t->keys[i] = &t->cols[t->key_idx[i]];
	}
	t->part_idx = TL_NO_COL;
	if (src->part_idx != TL_NO_COL && (t->part_idx = position_of(cols, n, src->part_idx)) == TL_NO_COL) {
		base_free(t);
		return tl_error_set(err, TL_ERR_MISMATCH, "%s.%s: partition column %s is not among the columns copied",
				    src->schema, src->name, src->cols[src->part_idx].name);
	}
	t->est_rows = src->est_rows;
	*out = t;
	return 0;
nomem:
	base_free(t);
	return tl_error_set(err, TL_ERR_NOMEM, "out of memory projecting '%s.%s'", src->schema, src->name);
}
