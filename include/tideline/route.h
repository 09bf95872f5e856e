/*
 * route.h - where a source table and its columns go on the target ([router] db_map,
 * tb_map, col_map) and which columns are not copied at all ([filter] ignore_cols).
 *
 * The maps are read exactly as ape-dts reads them (dt-connector/src/rdb_router.rs,
 * docs/ape-dts-keys.md, docs/guide.md "Routing"):
 *   db_map=src_db:dst_db,…          tb_map=src_db.src_tb:dst_db.dst_tb,…
 *   col_map=json:[{"db":"d","tb":"t","col_map":{"src_col":"dst_col",…}},…]
 *   ignore_cols=json:[{"db":"d","tb":"t","ignore_cols":["c1","c2"]},…]
 * A name in db_map/tb_map may be wrapped in the source's identifier quote (` for MySQL,
 * " for PostgreSQL; MongoDB has none) to hold ',', '.', ':' or spaces; a doubled quote
 * inside stands for one (a tideline extension, as in [filter]). Names in the JSON values
 * are plain JSON strings. There are no wildcards: '*' is a name like any other. Names
 * compare byte for byte (case-sensitive) on every kind of database, as in ape-dts.
 * tb_map wins over db_map; db_map moves every other table of the database; col_map is
 * keyed by the *source* table and renames only the listed columns; anything unmapped
 * keeps its name. Maps are applied once (a→b, b→c sends a to b, not to c).
 *
 * Where ape-dts silently takes the last of two conflicting entries, panics on a
 * malformed list or ignores a map that matches nothing, tideline refuses with an error
 * naming the key, the entry (1-based) and the character position in the value:
 * tl_route_new checks the text, tl_route_validate the maps against the selected tables,
 * tl_route_project one table's columns. Messages name the key as "[router] db_map" etc.;
 * the caller prefixes the task file's path.
 *
 * Progress records (position.log, finished.log, the store, ape-dts' table) keep the
 * SOURCE names of tables and key columns, as ape-dts does; only reads and writes on the
 * target use the routed names.
 *
 * A tl_route is immutable after tl_route_new and may be shared by threads. Every string a
 * lookup returns is lent: it lives as long as the route or the caller's own argument.
 */
#ifndef TL_ROUTE_H
#define TL_ROUTE_H

#include <stddef.h>
#include "tideline/driver.h"
#include "tideline/error.h"

typedef struct tl_route tl_route;

enum tl_route_flags {
	/* the tables are document collections (TL_CAP_DOCUMENTS): col_map and ignore_cols
	 * are refused, as ape-dts has no column routing for MongoDB */
	TL_ROUTE_DOCUMENTS = 1u << 0
};

/*
 * Parses the four values (each may be NULL or empty). quote is the source's identifier
 * quote ('`', '"' or 0 when names cannot be quoted). Errors are TL_ERR_CONFIG naming the
 * key, entry and position, e.g. "[router] tb_map entry 2 ('a.b:c') at character 7: ...".
 * A route with no rule at all is valid (tl_route_is_empty).
 */
int tl_route_new(tl_route **out, char quote, unsigned flags, const char *db_map, const char *tb_map,
		 const char *col_map, const char *ignore_cols, tl_error *err) TL_MUST_CHECK;
void tl_route_free(tl_route *r);
/* 1 when no map and no ignore_cols entry exists (every name is copied as it is). */
int tl_route_is_empty(const tl_route *r);

/* Target (schema, table) of a source table; *out_* point into r or at schema/tb. */
void tl_route_table(const tl_route *r, const char *schema, const char *tb, const char **out_schema,
		    const char **out_tb);
/* 1 when the table is routed to another name (tb_map or db_map applies). */
int tl_route_table_moves(const tl_route *r, const char *schema, const char *tb);
/* Target name of one source column (col itself when not mapped). */
const char *tl_route_column(const tl_route *r, const char *schema, const char *tb, const char *col);
/* 1 when [filter] ignore_cols lists the column for this source table. */
int tl_route_ignored(const tl_route *r, const char *schema, const char *tb, const char *col);

/*
 * Checks the maps against the selected source tables sel[0..n) (the tables a run, plan
 * or verify works on, after [filter]; any order, no duplicates). Errors (TL_ERR_CONFIG):
 *  - a db_map entry whose database holds no selected table, a tb_map / col_map /
 *    ignore_cols entry naming a table that is not selected ("…: table 'd.t' is not
 *    selected or does not exist"; a near miss that differs only in case is named);
 *  - two selected tables routed onto the same target table (names both).
 * A swap (a→b, b→a) is accepted here: between two servers it is a legitimate rename; on
 * one server it is caught by tl_route_find_overlap.
 */
int tl_route_validate(const tl_route *r, const tl_name *sel, size_t n, tl_error *err) TL_MUST_CHECK;

/*
 * For a source and target on the same server (the caller knows; see docs/ape-dts-keys.md):
 * finds a selected table whose target would be a selected source table, i.e. one object
 * both read and written by the run (with an empty route: every table onto itself).
 * Returns 1 and sets *src_i (the table whose rows would be written) and *obj_i (the
 * selected table that is also that target; may equal *src_i), 0 when there is none,
 * or TL_ERR_NOMEM.
 */
int tl_route_find_overlap(const tl_route *r, const tl_name *sel, size_t n, size_t *src_i, size_t *obj_i,
			  tl_error *err) TL_MUST_CHECK;

/*
 * tl_route_find_overlap as an error for the run to refuse with (TL_ERR_CONFIG):
 * "source and target are the same server: table 'a.t' would be copied into 'b.t', which
 * this run also reads" (or "onto itself" without a route). 0 when there is no overlap.
 */
int tl_route_check_same_server(const tl_route *r, const tl_name *sel, size_t n, tl_error *err) TL_MUST_CHECK;

/* The columns of one table as the run reads and writes them. */
typedef struct tl_route_cols {
	size_t n;          /* columns copied, in source column order */
	size_t *src_idx;   /* index into the source tl_table's cols */
	char **dst_name;   /* name on the target (owned) */
	int renamed;       /* some dst_name differs from the source name */
	int subset;        /* n < the source table's ncols (ignore_cols removed some) */
} tl_route_cols;

#define TL_ROUTE_COLS_INIT {0, NULL, NULL, 0, 0}

/*
 * Projects a described source table through ignore_cols and col_map. Errors
 * (TL_ERR_CONFIG, naming the key, the table and the column): a listed column the table
 * does not have; an ignored column that is part of the key the copy is ordered by (or,
 * for a table without a key, its partition column); every column ignored; a column both
 * ignored and renamed; two columns ending up with the same target name. For a document
 * collection (TL_ROUTE_DOCUMENTS) the projection is the identity. out is cleared first.
 */
int tl_route_project(const tl_route *r, const tl_table *src, tl_route_cols *out, tl_error *err) TL_MUST_CHECK;
void tl_route_cols_clear(tl_route_cols *c);

#endif
