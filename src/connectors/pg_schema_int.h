/*
 * pg_schema_int.h - internals shared by the PostgreSQL definition files:
 * pg_schema_extract.c (the extraction context, tables, partitions, keys, indexes,
 * foreign keys, triggers and the schema_extract slot), pg_schema_objects.c (functions,
 * types, sequences, views, statistics, extensions, dependencies, comments, values) and
 * pg_schema_apply.c (schema_probe, schema_apply). Nothing outside src/connectors/pg*.c
 * may include this header.
 *
 * Definitions come from the catalogs, read in one REPEATABLE READ transaction with
 * search_path = pg_catalog so that every name the server's pg_get_*def functions print
 * is schema-qualified (as pg_dump does). Statements are composed with the target's
 * names; where a server-printed fragment names a table tideline renames, the exact
 * printed name is replaced (splice), and anything else is refused (TL_ERR_UNSUPPORTED)
 * rather than guessed.
 */
#ifndef TL_PG_SCHEMA_INT_H
#define TL_PG_SCHEMA_INT_H

#include "pg_int.h"
#include "tideline/schema.h"

/* One source object the extraction knows, by catalog and oid. */
struct tl_pgs_obj {
	char cls;            /* 'r' relation (pg_class), 't' type, 'f' function, 'n' schema, 'e' extension, 'x' statistics */
	unsigned long oid;
	char relkind;        /* pg_class.relkind, a type's typtype, a function's prokind */
	char *snsp, *sname;  /* source names */
	char *tnsp, *tname;  /* target names */
	char *args;          /* functions: argument types */
	size_t owner;        /* selected table it belongs to, TL_SCHEMA_NO_OWNER */
	size_t step;         /* its creating step, TL_SCHEMA_NO_OWNER when none */
	unsigned long parent;/* partitions: the parent's oid */
};

/* oid -> index into tl_pgs_ctx.objs, one map per catalog. */
struct tl_pgs_map {
	struct tl_pgs_map_e {
		unsigned long oid;
		size_t obj;
	} *e;
	size_t n, cap;
	int sorted;
};

struct tl_pgs_ctx {
	tl_conn *c;
	int version;                 /* server_version_num */
	const tl_name *names;
	size_t n;
	const tl_schema_opts *opts;
	tl_schema_list *out;
	struct tl_pgs_obj *objs;
	size_t nobjs, capobjs;
	struct tl_pgs_map rels, types, procs, nsps, exts;
	const char **map_src, **map_dst; /* [router]: each source schema's target schema */
	size_t nmap;
	int renames;                     /* some schema is renamed */
	size_t *nsp_objs, nnsp;          /* the schema objs (for tl_pgs__schema_step) */
	tl_buf rel_oids;   /* "{…}": every table and partition */
	tl_buf top_oids;   /* "{…}": the tables and partitions that own columns (not partitions) */
	tl_buf nsp_oids;   /* "{…}": the selected tables' schemas */
	tl_buf view_oids;  /* "{…}": views and materialized views copied */
	tl_buf more_oids;  /* "{…}": indexes, sequences, statistics (comments, dependencies) */
	tl_buf type_oids, proc_oids;
};

#define TL_PGS_NONE ((size_t)-1)

/* pg_schema_extract.c */
int tl_pgs__query(struct tl_pgs_ctx *x, const char *sql, int np, const char *const *params, PGresult **res,
		  const char *what, tl_error *err) TL_MUST_CHECK;
/* A value of a result, NULL for SQL NULL. */
const char *tl_pgs__val(const PGresult *r, int row, int col);
unsigned long tl_pgs__oid(const PGresult *r, int row, int col);
int tl_pgs__flag(const PGresult *r, int row, int col); /* 't' -> 1 */
/* Adds an object (copies of the names); *out = its index. */
int tl_pgs__obj_add(struct tl_pgs_ctx *x, struct tl_pgs_map *m, char cls, unsigned long oid, const char *snsp,
		    const char *sname, size_t *out, tl_error *err) TL_MUST_CHECK;
int tl_pgs__map_put(struct tl_pgs_map *m, unsigned long oid, size_t obj, tl_error *err) TL_MUST_CHECK;
size_t tl_pgs__map_get(struct tl_pgs_map *m, unsigned long oid);
/* Target schema of a source schema ([router]: the first selected table's). */
const char *tl_pgs__map_schema(const struct tl_pgs_ctx *x, const char *snsp);
/* The step of CREATE SCHEMA for a source schema (pushed once); TL_PGS_NONE when filtered out. */
int tl_pgs__schema_step(struct tl_pgs_ctx *x, const char *snsp, size_t *out, tl_error *err) TL_MUST_CHECK;
/* Refuses objects whose text cannot follow a schema rename. */
int tl_pgs__check_not_renamed(const struct tl_pgs_ctx *x, const char *snsp, const char *what, const char *name,
			      tl_error *err) TL_MUST_CHECK;
/* Appends "{o1,o2,…}". */
int tl_pgs__oid_append(tl_buf *arr, unsigned long oid, tl_error *err) TL_MUST_CHECK;
/* Replaces the one occurrence of `from` in text by `to` into out (TL_ERR_UNSUPPORTED when absent). */
int tl_pgs__splice(tl_buf *out, const char *text, const char *from, const char *to, const char *what,
		   tl_error *err) TL_MUST_CHECK;
/* Is step kind wanted (do_structures and phases)? */
int tl_pgs__want(const struct tl_pgs_ctx *x, enum tl_schema_kind kind, enum tl_schema_phase phase);
/* Pushes a step; *out its index. sql is copied. */
int tl_pgs__push(struct tl_pgs_ctx *x, enum tl_schema_kind kind, const char *schema, const char *table,
		 const char *name, size_t owner, const char *sql, size_t *out, tl_error *err) TL_MUST_CHECK;
int tl_pgs__dep(struct tl_pgs_ctx *x, size_t step, size_t dep, tl_error *err) TL_MUST_CHECK;
/* Builds and pushes the index, key and attach steps of relations (tables: TABLE_POST; materialized views: POST_DATA). */
int tl_pgs__indexes(struct tl_pgs_ctx *x, const char *rel_oids, enum tl_schema_phase phase, tl_error *err) TL_MUST_CHECK;

/* pg_schema_objects.c */
int tl_pgs__functions(struct tl_pgs_ctx *x, tl_error *err) TL_MUST_CHECK;
int tl_pgs__types(struct tl_pgs_ctx *x, tl_error *err) TL_MUST_CHECK;
int tl_pgs__sequences(struct tl_pgs_ctx *x, tl_error *err) TL_MUST_CHECK;
/* OWNED BY for the sequences of serial columns (after both exist). */
int tl_pgs__sequence_owners(struct tl_pgs_ctx *x, tl_error *err) TL_MUST_CHECK;
int tl_pgs__views(struct tl_pgs_ctx *x, tl_error *err) TL_MUST_CHECK;
int tl_pgs__statistics(struct tl_pgs_ctx *x, tl_error *err) TL_MUST_CHECK;
int tl_pgs__dependencies(struct tl_pgs_ctx *x, tl_error *err) TL_MUST_CHECK;
int tl_pgs__comments(struct tl_pgs_ctx *x, tl_error *err) TL_MUST_CHECK;
int tl_pgs__values(struct tl_pgs_ctx *x, tl_error *err) TL_MUST_CHECK;

/* The slots (pg_schema_extract.c, pg_schema_apply.c). */
int tl_pg__schema_extract(tl_conn *src, const tl_name *names, size_t n, const tl_schema_opts *opts,
			  tl_schema_list *out, tl_error *err);
int tl_pg__schema_probe(tl_conn *dst, const tl_schema_step *steps, size_t n, enum tl_schema_state *out,
			tl_error *err);
int tl_pg__schema_apply(tl_conn *dst, const tl_schema_step *step, enum tl_schema_state *before, tl_error *err);
int tl_pg__delete_after_key(tl_conn *target, const tl_table *src, const tl_keyvals *after, tl_error *err);

#endif
