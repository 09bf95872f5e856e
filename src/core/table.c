/*
 * table.c - helpers for described tables (tl_table, include/tideline/driver.h) shared by
 * the drivers and the engine: linking the explicit key columns, finding a column by name.
 */
#include <stdlib.h>
#include <string.h>
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
