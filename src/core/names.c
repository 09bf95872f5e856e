/*
 * names.c - small owned lists used by the driver interface: table names and key values.
 */
#include <stdlib.h>
#include <string.h>
#include "tideline/driver.h"

void tl_name_list_clear(tl_name_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->items[i].schema);
		free(l->items[i].name);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

int tl_name_list_add(tl_name_list *l, const char *schema, const char *name, tl_error *err)
{
	tl_name *ni = l->items;

	/* capacity is the next power of two >= n (no field for it): grow when n is one */
	if ((l->n & (l->n - 1)) == 0) {
		ni = realloc(l->items, (l->n ? 2 * l->n : 1) * sizeof(*ni));
		if (!ni)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory listing tables");
		l->items = ni;
	}
	ni[l->n].schema = tl_strdup(schema);
	ni[l->n].name = tl_strdup(name);
	if (!ni[l->n].schema || !ni[l->n].name) {
		free(ni[l->n].schema);
		free(ni[l->n].name);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory listing tables");
	}
	l->n++;
	return 0;
}

void tl_keyvals_clear(tl_keyvals *k)
{
	size_t i;

	if (!k)
		return;
	for (i = 0; i < k->n; i++) {
		if (k->cols)
			free(k->cols[i]);
		if (k->vals)
			free(k->vals[i]);
	}
	free(k->cols);
	free(k->vals);
	k->cols = k->vals = NULL;
	k->n = 0;
}

int tl_keyvals_set(tl_keyvals *k, size_t n, const char *const *cols, const char *const *vals, tl_error *err)
{
	size_t i;

	tl_keyvals_clear(k);
	if (n == 0)
		return 0;
	k->cols = calloc(n, sizeof(char *));
	k->vals = calloc(n, sizeof(char *));
	if (!k->cols || !k->vals)
		goto nomem;
	k->n = n;
	for (i = 0; i < n; i++) {
		k->cols[i] = tl_strdup(cols ? cols[i] : "");
		if (!k->cols[i])
			goto nomem;
		if (vals && vals[i]) {
			k->vals[i] = tl_strdup(vals[i]);
			if (!k->vals[i])
				goto nomem;
		}
	}
	return 0;
nomem:
	if (!k->n) {
		free(k->cols);
		free(k->vals);
		k->cols = k->vals = NULL;
	} else {
		tl_keyvals_clear(k);
	}
	return tl_error_set(err, TL_ERR_NOMEM, "out of memory copying key values");
}
