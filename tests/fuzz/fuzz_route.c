/*
 * fuzz_route.c - libFuzzer target for [router] db_map / tb_map / col_map and [filter]
 * ignore_cols: any bytes must give a route or a clean error, never a crash, a leak or
 * undefined behaviour, and a route must then survive the checks against a small catalog
 * (validate, same-server overlap, projection) and the lookups. Input: the first byte
 * picks the source kind (quote ` " or none); the rest is split at '\n' into db_map,
 * tb_map, col_map and ignore_cols.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tideline/route.h"

static tl_column cols_t[3] = {{"id", "int", TL_COL_INT, 0}, {"x", "text", TL_COL_TEXT, 1}, {"a b", "text", TL_COL_TEXT, 1}};
static tl_column cols_u[2] = {{"k", "int", TL_COL_INT, 1}, {"v", "int", TL_COL_INT, 1}};
static size_t t_keys[1] = {0};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char quotes[3] = {'`', '"', 0};
	tl_table tables[3] = {{"a", "t", 3, cols_t, TL_KEYK_PRIMARY, 1, t_keys, 0, -1, NULL},
			      {"a", "u", 2, cols_u, TL_KEYK_NONE, 0, NULL, 0, -1, NULL},
			      {"b:c", "t.1", 3, cols_t, TL_KEYK_PRIMARY, 1, t_keys, 0, -1, NULL}};
	tl_name sel[3] = {{"a", "t"}, {"a", "u"}, {"b:c", "t.1"}};
	char *buf, *field[4] = {NULL, NULL, NULL, NULL}, *p;
	tl_route *r = NULL;
	tl_error err = TL_ERROR_INIT;
	unsigned flags;
	char quote;
	int i;

	if (size < 1)
		return 0;
	quote = quotes[data[0] % 3];
	flags = data[0] % 3 == 2 ? TL_ROUTE_DOCUMENTS : 0;
	if (!(buf = malloc(size)))
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	for (i = 0, p = buf; i < 4 && p; i++) {
		char *nl = strchr(p, '\n');
		field[i] = p;
		if (nl)
			*nl = '\0';
		p = nl ? nl + 1 : NULL;
	}
	if (tl_route_new(&r, quote, flags, field[0], field[1], field[2], field[3], &err) == 0) {
		const char *s, *t;
		size_t k;

		(void)tl_route_validate(r, sel, 3, &err);
		(void)tl_route_check_same_server(r, sel, 3, &err);
		for (k = 0; k < 3; k++) {
			tl_route_cols pc = TL_ROUTE_COLS_INIT;
			tl_route_table(r, sel[k].schema, sel[k].name, &s, &t);
			(void)tl_route_table_moves(r, sel[k].schema, sel[k].name);
			(void)tl_route_column(r, sel[k].schema, sel[k].name, "x");
			(void)tl_route_ignored(r, sel[k].schema, sel[k].name, "x");
			if (tl_route_project(r, &tables[k], &pc, &err) == 0)
				tl_route_cols_clear(&pc);
		}
		tl_route_free(r);
	}
	free(buf);
	return 0;
}
