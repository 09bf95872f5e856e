/*
 * mysql_schema_int.h - the MySQL/MariaDB definition slots (mysql_schema_extract.c:
 * schema_extract from SHOW CREATE …; mysql_schema_apply.c: schema_probe, schema_apply)
 * and the small string set both use. Nothing outside src/connectors/mysql_*.c may
 * include this header.
 */
#ifndef TL_MYSQL_SCHEMA_INT_H
#define TL_MYSQL_SCHEMA_INT_H

#include "connectors/mysql_int.h"
#include "tideline/schema.h"

/* A sorted set of strings (keys joined with '\x1f'), for "does the target have X". */
struct tl_mys_set {
	char **v;
	size_t n, cap;
	int sorted;
};

int tl_mys__set_add(struct tl_mys_set *s, const char *a, const char *b, tl_error *err) TL_MUST_CHECK;
int tl_mys__set_has(struct tl_mys_set *s, const char *a, const char *b);
void tl_mys__set_clear(struct tl_mys_set *s);
/* Row callback adding vals[0] (and vals[1] when two columns) to the set ctx. */
int tl_mys__set_row(void *ctx, unsigned ncols, char **vals, unsigned long *lens, tl_error *err);

int tl_mysql__schema_extract(tl_conn *src, const tl_name *names, size_t n, const tl_schema_opts *opts,
			     tl_schema_list *out, tl_error *err);
int tl_mysql__schema_probe(tl_conn *dst, const tl_schema_step *steps, size_t n, enum tl_schema_state *out,
			   tl_error *err);
int tl_mysql__schema_apply(tl_conn *dst, const tl_schema_step *step, enum tl_schema_state *before, tl_error *err);
int tl_mysql__delete_after_key(tl_conn *target, const tl_table *src, const tl_keyvals *after, tl_error *err);

#endif
