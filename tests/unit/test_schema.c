/*
 * test_schema.c - the definition step list (src/core/schema.c): ids and their quoting,
 * do_structures words, and the ordering contract every driver relies on (phases, then
 * dependencies, else push order; levels; cycles, later-phase needs and duplicate ids
 * refused).
 */
#include <stdlib.h>
#include <string.h>
#include "tideline/schema.h"
#include "tl_test.h"

static size_t push(tl_schema_list *l, enum tl_schema_kind k, const char *schema, const char *table, const char *name)
{
	tl_error err = TL_ERROR_INIT;
	tl_schema_step *s = NULL;

	if (tl_schema_list_push(l, k, schema, table, name, TL_SCHEMA_NO_OWNER, &s, &err) != 0) {
		tl_test_fail(__FILE__, __LINE__, "push: %s", err.message);
		return 0;
	}
	s->sql = strdup("x");
	return l->n - 1;
}

static void need(tl_schema_list *l, size_t step, size_t dep)
{
	tl_error err = TL_ERROR_INIT;

	if (tl_schema_step_add_dep(&l->items[step], dep, &err) != 0)
		tl_test_fail(__FILE__, __LINE__, "dep: %s", err.message);
}

TL_TEST(test_schema__ids_name_the_object)
{
	tl_schema_list l = TL_SCHEMA_LIST_INIT;

	push(&l, TL_SK_INDEX, "public", "city", "city_name_idx");
	push(&l, TL_SK_PRIMARY_KEY, "public", "city", "city_pkey");
	push(&l, TL_SK_TABLE, "my schema", NULL, "a.b \"c\"");
	push(&l, TL_SK_INDEXES, "world", "City", NULL);
	TL_CHECK_EQ_STR(l.items[0].id, "index public.city_name_idx");
	TL_CHECK_EQ_STR(l.items[1].id, "primary key public.city.city_pkey");
	TL_CHECK_EQ_STR(l.items[2].id, "table \"my schema\".\"a.b \"\"c\"\"\"");
	TL_CHECK_EQ_STR(l.items[3].id, "indexes world.City");
	TL_CHECK_EQ_INT(l.items[0].phase, TL_PHASE_TABLE_POST);
	TL_CHECK_EQ_INT(tl_schema_list_find(&l, "indexes world.City"), 3);
	TL_CHECK_EQ_INT(tl_schema_list_find(&l, "indexes world.city"), TL_SCHEMA_NO_OWNER);
	tl_schema_list_clear(&l);
}

TL_TEST(test_schema__structures_words)
{
	tl_error err = TL_ERROR_INIT;
	unsigned m = 0, u = 0;

	TL_CHECK_OK(tl_schema_parse_structures("*", &m, &u, &err), &err);
	TL_CHECK_EQ_INT(m, TL_ST_ALL);
	TL_CHECK_OK(tl_schema_parse_structures("", &m, &u, &err), &err);
	TL_CHECK_EQ_INT(m, 0);
	TL_CHECK_OK(tl_schema_parse_structures(" Database , table,index ,rbac", &m, &u, &err), &err);
	TL_CHECK_EQ_INT(m, TL_ST_DATABASE | TL_ST_TABLE | TL_ST_INDEX | TL_ST_RBAC);
	TL_CHECK_EQ_INT(u, TL_ST_RBAC);
	TL_CHECK_EQ_INT(tl_schema_parse_structures("table,tables", &m, &u, &err), TL_ERR_CONFIG);
	TL_CHECK_MSG(strstr(err.message, "\"tables\"") != NULL, "%s", err.message);
	/* ape-dts' meaning: table brings primary / unique keys, constraint the foreign keys */
	TL_CHECK_EQ_INT(tl_schema_kind_structure(TL_SK_UNIQUE), TL_ST_TABLE);
	TL_CHECK_EQ_INT(tl_schema_kind_structure(TL_SK_FOREIGN_KEY), TL_ST_CONSTRAINT);
	TL_CHECK_EQ_INT(tl_schema_kind_structure(TL_SK_FUNCTION), TL_ST_UDF);
}

TL_TEST(test_schema__order_phases_then_needs)
{
	tl_schema_list l = TL_SCHEMA_LIST_INIT;
	tl_error err = TL_ERROR_INIT;
	size_t fk, v2, v1, t, sch, ix, val;

	val = push(&l, TL_SK_SEQUENCE_VALUE, "s", NULL, "seq");
	fk = push(&l, TL_SK_FOREIGN_KEY, "s", "t", "fk");
	v2 = push(&l, TL_SK_VIEW, "s", NULL, "v2");
	v1 = push(&l, TL_SK_VIEW, "s", NULL, "v1");
	ix = push(&l, TL_SK_INDEX, "s", "t", "ix");
	t = push(&l, TL_SK_TABLE, "s", NULL, "t");
	sch = push(&l, TL_SK_SCHEMA, "s", NULL, NULL);
	need(&l, v2, v1);  /* v2 reads v1, pushed after it */
	need(&l, t, sch);
	need(&l, ix, t);   /* an earlier phase: fine, no level */
	TL_CHECK_OK(tl_schema_list_finish(&l, &err), &err);
	TL_CHECK_EQ_STR(l.items[0].id, "schema s");
	TL_CHECK_EQ_STR(l.items[1].id, "table s.t");
	TL_CHECK_EQ_INT(l.items[1].level, 1);
	TL_CHECK_EQ_STR(l.items[2].id, "index s.ix");
	TL_CHECK_EQ_INT(l.items[2].level, 0);
	TL_CHECK_EQ_STR(l.items[3].id, "foreign key s.t.fk");
	TL_CHECK_EQ_STR(l.items[4].id, "view s.v1");
	TL_CHECK_EQ_STR(l.items[5].id, "view s.v2");
	TL_CHECK_EQ_INT(l.items[5].level, 1);
	TL_CHECK_EQ_INT(l.items[5].deps[0], 4);
	TL_CHECK_EQ_STR(l.items[6].id, "sequence value s.seq");
	(void)fk;
	(void)val;
	tl_schema_list_clear(&l);
}

TL_TEST(test_schema__bad_orders_refused)
{
	tl_schema_list l = TL_SCHEMA_LIST_INIT;
	tl_error err = TL_ERROR_INIT;
	size_t a, b, c;

	a = push(&l, TL_SK_VIEW, "s", NULL, "a");
	b = push(&l, TL_SK_VIEW, "s", NULL, "b");
	c = push(&l, TL_SK_VIEW, "s", NULL, "c");
	need(&l, a, b);
	need(&l, b, c);
	need(&l, c, a);
	TL_CHECK_EQ_INT(tl_schema_list_finish(&l, &err), TL_ERR_UNSUPPORTED);
	TL_CHECK_MSG(strstr(err.message, "cycle") != NULL, "%s", err.message);
	tl_schema_list_clear(&l);

	a = push(&l, TL_SK_TABLE, "s", NULL, "t");
	b = push(&l, TL_SK_INDEX, "s", "t", "i");
	need(&l, a, b); /* a table cannot wait for its index */
	TL_CHECK_EQ_INT(tl_schema_list_finish(&l, &err), TL_ERR_INTERNAL);
	tl_schema_list_clear(&l);

	push(&l, TL_SK_TABLE, "s", NULL, "t");
	push(&l, TL_SK_TABLE, "s", NULL, "t");
	TL_CHECK_EQ_INT(tl_schema_list_finish(&l, &err), TL_ERR_INTERNAL);
	TL_CHECK_MSG(strstr(err.message, "table s.t") != NULL, "%s", err.message);
	tl_schema_list_clear(&l);
}
