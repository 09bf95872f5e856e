/*
 * route_int.h - the layout of a tl_route, shared by route.c (db_map, tb_map, lookups,
 * checks against the selected tables) and route_cols.c (col_map, ignore_cols and the
 * column projection). Nothing outside src/core/route*.c includes it.
 *
 * Every rule array is sorted by its source name(s) for bsearch; `entry` is the 1-based
 * position of the rule in its key's value and `text` the entry as written, for messages.
 */
#ifndef TL_ROUTE_INT_H
#define TL_ROUTE_INT_H

#include <stddef.h>
#include "tideline/route.h"

struct tl_route__db {
	char *src, *dst;
	size_t entry;
	char *text;
};

struct tl_route__tb {
	char *sdb, *stb, *ddb, *dtb;
	size_t entry;
	char *text;
};

/* A column list of one source table: col_map pairs (dst set) or ignore_cols (dst NULL). */
struct tl_route__cols {
	char *db, *tb;
	size_t entry;
	size_t n;
	char **src; /* sorted */
	char **dst; /* col_map: target names, parallel to src; ignore_cols: NULL */
};

struct tl_route {
	unsigned flags;
	char quote;
	size_t ndb, ntb, ncol, nign;
	struct tl_route__db *db;   /* by src */
	struct tl_route__tb *tb;   /* by (sdb, stb) */
	struct tl_route__cols *col; /* col_map, by (db, tb) */
	struct tl_route__cols *ign; /* ignore_cols, by (db, tb) */
};

/* route_cols.c: parse the JSON keys into r->col / r->ign (sorted, checked for duplicates). */
int tl_route__parse_col_map(struct tl_route *r, const char *text, tl_error *err) TL_MUST_CHECK;
int tl_route__parse_ignore_cols(struct tl_route *r, const char *text, tl_error *err) TL_MUST_CHECK;
void tl_route__cols_free(struct tl_route__cols *c, size_t n);
/* The column list of a table in a sorted array, or NULL. */
const struct tl_route__cols *tl_route__cols_find(const struct tl_route__cols *c, size_t n, const char *db,
						 const char *tb);
/* Index of name in c->src, or -1. */
long tl_route__cols_index(const struct tl_route__cols *c, const char *name);
/* 1-based character (not byte) position of p in s, for messages about UTF-8 values. */
size_t tl_route__charpos(const char *s, const char *p);

#endif
