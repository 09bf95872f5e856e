/*
 * schema.h - a database's definitions as an ordered list of steps (copying the database,
 * not just its rows: docs/schema.md).
 *
 * A driver with TL_CAP_SCHEMA reads the definitions of selected source tables /
 * collections, and of what they need, into a tl_schema_list (driver.h schema_extract),
 * tells which steps a target already has (schema_probe) and makes one step done on a
 * target (schema_apply). The engine runs the steps phase by phase:
 *
 *   PRE_DATA    before any row: schemas / databases, extensions, types, functions
 *               (PG), sequences, tables and partitions (without secondary indexes and,
 *               on PG, without primary / unique keys), collections with their options;
 *   TABLE_POST  per table, as soon as that table's rows are in: its primary key, unique
 *               and exclusion constraints, indexes (one step per PG index, so that the
 *               indexes of one table build in parallel on several connections; one step
 *               per MySQL table / Mongo collection, whose one statement builds all its
 *               indexes in one pass over the rows);
 *   POST_DATA   after all rows: foreign keys, triggers, views, materialized views and
 *               their refresh, MySQL routines and events, extended statistics, comments;
 *   FINAL       sequence / identity values and AUTO_INCREMENT counters set to the source's.
 *
 * A step is one object and one action ("index public.city_name_idx"). Its `id` is stable
 * across runs of the same source and unique in its list: it is what the checkpoint store
 * records. Steps are ordered so that running them in list order is always correct; `deps`
 * and `level` say which may run at the same time (steps of one phase with the same level
 * never depend on each other; TABLE_POST steps of different tables never do).
 *
 * Names in steps (schema, table, name, and inside sql) are the TARGET's names (after the
 * [router] map given in tl_schema_opts.targets); `owner` links a step to the selected
 * source table it belongs to.
 *
 * Ownership: a tl_schema_list owns every step and every string in it (malloc'd); the
 * caller initialises it with TL_SCHEMA_LIST_INIT and releases it with
 * tl_schema_list_clear. Pointers to steps are valid until the next push. Functions that
 * can fail return 0 or a negative tl_code and take tl_error *err last. Not thread-safe:
 * one list is built by one thread; a finished list may be read by many.
 */
#ifndef TL_SCHEMA_H
#define TL_SCHEMA_H

#include <stddef.h>
#include "tideline/buf.h"
#include "tideline/error.h"

enum tl_schema_phase {
	TL_PHASE_PRE_DATA = 0,
	TL_PHASE_TABLE_POST = 1,
	TL_PHASE_POST_DATA = 2,
	TL_PHASE_FINAL = 3
};
#define TL_PHASE_COUNT 4
#define TL_PHASES_ALL 0xfu

/* What a step creates or sets. The comment names the word used in ids. */
enum tl_schema_kind {
	TL_SK_SCHEMA = 0,     /* "schema": PG schema */
	TL_SK_DATABASE,       /* "database": MySQL database (Mongo databases are implicit) */
	TL_SK_EXTENSION,      /* "extension": PG extension a column / index / function needs */
	TL_SK_TYPE,           /* "type": PG enum, domain, composite or range type */
	TL_SK_FUNCTION,       /* "function": PG function / procedure (PRE_DATA); MySQL routine ("function"
			       * or "procedure" in ids, moved to POST_DATA) */
	TL_SK_SEQUENCE,       /* "sequence": PG sequence (identity sequences come with their table) */
	TL_SK_TABLE,          /* "table": table or partition, without what TABLE_POST adds */
	TL_SK_COLLECTION,     /* "collection": Mongo collection with its options */
	TL_SK_SEQUENCE_OWNER, /* "sequence owner": PG ALTER SEQUENCE … OWNED BY (serial columns) */
	TL_SK_PRIMARY_KEY,    /* "primary key": PG primary key constraint */
	TL_SK_UNIQUE,         /* "unique": PG unique constraint */
	TL_SK_EXCLUSION,      /* "exclusion": PG exclusion constraint */
	TL_SK_INDEX,          /* "index": one PG index (tables, partitions, materialized views) */
	TL_SK_INDEXES,        /* "indexes": all secondary indexes of one MySQL table / Mongo
			       * collection, built by one statement; `parts` lists them */
	TL_SK_INDEX_ATTACH,   /* "index attach": PG ALTER INDEX parent ATTACH PARTITION child */
	TL_SK_CHECK,          /* "check": PG check constraint NOT VALID on the source (valid ones
			       * are part of their table) */
	TL_SK_FOREIGN_KEY,    /* "foreign key" */
	TL_SK_TRIGGER,        /* "trigger" */
	TL_SK_VIEW,           /* "view": PG / MySQL / Mongo view */
	TL_SK_MATVIEW,        /* "materialized view": PG, created WITH NO DATA */
	TL_SK_REFRESH,        /* "refresh": PG REFRESH MATERIALIZED VIEW */
	TL_SK_STATISTICS,     /* "statistics": PG extended statistics */
	TL_SK_EVENT,          /* "event": MySQL event */
	TL_SK_COMMENT,        /* "comment": PG COMMENT ON (MySQL / Mongo comments live in their definitions) */
	TL_SK_SEQUENCE_VALUE, /* "sequence value": PG setval of a sequence or identity */
	TL_SK_AUTO_INCREMENT  /* "auto_increment": MySQL AUTO_INCREMENT counter */
};
#define TL_SK_COUNT (TL_SK_AUTO_INCREMENT + 1)

/*
 * [filter] do_structures (ape-dts' object kinds) as bits. ape-dts' words: database,
 * table (with primary / unique keys), constraint (foreign keys, exclusion), sequence,
 * comment, index, udf, udt, rbac; Mongo: collection (with indexes and views), shardkey.
 * tideline adds view, trigger, event, extension. rbac and shardkey are accepted and
 * never produced (tl_schema_parse_structures reports them in *unsupported).
 */
enum tl_schema_structure {
	TL_ST_DATABASE = 1u << 0,
	TL_ST_TABLE = 1u << 1,
	TL_ST_CONSTRAINT = 1u << 2,
	TL_ST_SEQUENCE = 1u << 3,
	TL_ST_COMMENT = 1u << 4,
	TL_ST_INDEX = 1u << 5,
	TL_ST_UDF = 1u << 6,
	TL_ST_UDT = 1u << 7,
	TL_ST_VIEW = 1u << 8,
	TL_ST_TRIGGER = 1u << 9,
	TL_ST_EVENT = 1u << 10,
	TL_ST_EXTENSION = 1u << 11,
	TL_ST_COLLECTION = 1u << 12,
	TL_ST_RBAC = 1u << 13,
	TL_ST_SHARDKEY = 1u << 14
};
#define TL_ST_ALL 0x7fffu

enum tl_schema_step_flags {
	TL_STEP_RERUN = 1u << 0, /* idempotent and not visible on the target (a value, a comment,
				  * a refresh, OWNED BY): probe says UNKNOWN, apply always runs it */
	TL_STEP_SLOW = 1u << 1   /* reads the table's rows (index build, key, foreign key
				  * validation, refresh): worth a worker of its own */
};

/* One object of a TL_SK_INDEXES step, buildable alone (to finish a half-done step). */
typedef struct tl_schema_part {
	char *name; /* the index name */
	char *sql;  /* MySQL: the ALTER TABLE clause ("ADD KEY `k` (`a`)"); Mongo: the index spec (JSON) */
} tl_schema_part;

#define TL_SCHEMA_NO_OWNER ((size_t)-1)

typedef struct tl_schema_step {
	enum tl_schema_kind kind;
	enum tl_schema_phase phase;
	char *id;       /* "index public.city_name_idx": kind word, a space, the qualified name
			 * (parts needing it double-quoted, see tl_schema_qname); stable, unique */
	char *schema;   /* target schema / database the object lives in */
	char *table;    /* target table the object belongs to (keys, indexes, foreign keys,
			 * triggers, partitions' parent…), NULL for schema-level objects */
	char *name;     /* the object's own name (a comment's / value's: the object it is on) */
	size_t owner;   /* index into the names[] given to schema_extract of the selected table
			 * this step belongs to (partitions: their top table), TL_SCHEMA_NO_OWNER */
	char *sql;      /* what to run: SQL (PG: may hold several statements, run in one
			 * transaction), or a Mongo command document (canonical extended JSON) */
	char *session;  /* MySQL: the source object's session ("USE db;\nSET SESSION sql_mode =
			 * …, collation_connection = …[, time_zone = …]") set before `sql`; the
			 * SET is undone after, the current database stays; NULL when none */
	char *ref;      /* what else finds the object on a target: a PG function's argument
			 * types ("integer, text"), an index attach's parent index (qualified),
			 * the index a PG key takes over (USING INDEX), a MySQL routine's type
			 * ("PROCEDURE" / "FUNCTION"); NULL */
	size_t nparts;  /* TL_SK_INDEXES: the indexes `sql` builds */
	tl_schema_part *parts;
	size_t ndeps;   /* steps of this list this one needs (indexes < this step's index) */
	size_t *deps;
	unsigned level; /* 0 when no step of the same phase is in deps, else 1 + their maximum */
	unsigned flags; /* enum tl_schema_step_flags */
} tl_schema_step;

typedef struct tl_schema_list {
	size_t n, cap;
	tl_schema_step *items;
} tl_schema_list;

#define TL_SCHEMA_LIST_INIT {0, 0, NULL}

/* What schema_extract copies (callers fill it; TL_SCHEMA_OPTS_INIT = everything, same names). */
typedef struct tl_schema_opts {
	unsigned version;       /* TL_SCHEMA_OPTS_VERSION */
	unsigned structures;    /* enum tl_schema_structure bits: do_structures */
	unsigned phases;        /* (1u << phase) bits: e.g. only FINAL, to read the values again */
	const struct tl_name *targets; /* NULL, or one target name per selected table ([router]);
			 * a source schema's other objects go to the target schema of its
			 * first selected table */
} tl_schema_opts;

#define TL_SCHEMA_OPTS_VERSION 1
#define TL_SCHEMA_OPTS_INIT {TL_SCHEMA_OPTS_VERSION, TL_ST_ALL, TL_PHASES_ALL, NULL}

/* A step's state on a target (schema_probe). */
enum tl_schema_state {
	TL_SCHEMA_ABSENT = 0, /* not there: apply creates it */
	TL_SCHEMA_PRESENT,    /* there, complete (found by name; the definition is not compared) */
	TL_SCHEMA_PARTIAL,    /* half done (an INVALID index, some of a step's parts): apply finishes it */
	TL_SCHEMA_UNKNOWN     /* not visible (TL_STEP_RERUN): apply runs it again, harmlessly */
};

/* The word of a kind in ids and messages ("primary key"). */
const char *tl_schema_kind_word(enum tl_schema_kind kind);
/* The phase a kind runs in by default (a driver may move a step, e.g. a materialized view's index). */
enum tl_schema_phase tl_schema_kind_phase(enum tl_schema_kind kind);
/* "pre-data", "table-post", "post-data", "final". */
const char *tl_schema_phase_name(enum tl_schema_phase phase);
/* The do_structures bit a kind answers to in SQL databases (Mongo drivers decide their own). */
unsigned tl_schema_kind_structure(enum tl_schema_kind kind);
/*
 * Parses a do_structures value: "*" is everything, "" nothing, else comma-separated
 * words (case-insensitive, blanks ignored). *unsupported gets the bits of accepted words
 * nothing acts on (rbac, shardkey). An unknown word is TL_ERR_CONFIG naming it.
 */
int tl_schema_parse_structures(const char *value, unsigned *out, unsigned *unsupported, tl_error *err) TL_MUST_CHECK;

/*
 * Appends a qualified name for an id: the non-NULL parts joined by '.', each bare when
 * it is made of [A-Za-z0-9_$] only, else double-quoted with '"' doubled.
 */
int tl_schema_qname(tl_buf *b, const char *schema, const char *table, const char *name, tl_error *err) TL_MUST_CHECK;

void tl_schema_list_clear(tl_schema_list *l);
/*
 * Appends a step of `kind` (phase: tl_schema_kind_phase) with copies of schema, table,
 * name (each may be NULL) and id "<word> <qname(schema, table?, name)>": the table is
 * part of the id for per-table names (keys, foreign keys, triggers, indexes' steps of
 * MySQL/Mongo, counters) and left out for per-schema ones (PG indexes, tables). *out
 * (lent, valid until the next push) lets the caller fill sql and the rest.
 */
int tl_schema_list_push(tl_schema_list *l, enum tl_schema_kind kind, const char *schema, const char *table,
			const char *name, size_t owner, tl_schema_step **out, tl_error *err) TL_MUST_CHECK;
/* Replaces a step's id ("comment column public.city.name"): printf-style. */
int tl_schema_step_set_id(tl_schema_step *s, tl_error *err, const char *fmt, ...) TL_PRINTF(3, 4) TL_MUST_CHECK;
/* Appends a part (copies of name and sql). */
int tl_schema_step_add_part(tl_schema_step *s, const char *name, const char *sql, tl_error *err) TL_MUST_CHECK;
/* Records that s needs step number dep of the same list (any position before finish). */
int tl_schema_step_add_dep(tl_schema_step *s, size_t dep, tl_error *err) TL_MUST_CHECK;
/* Index of the step with this id, or TL_SCHEMA_NO_OWNER (linear search). */
size_t tl_schema_list_find(const tl_schema_list *l, const char *id);
/*
 * Orders the list by phase, then so that every step comes after the steps it needs
 * (otherwise keeping the order of pushes), renumbers deps and computes levels. A step
 * needing a step of a later phase is TL_ERR_INTERNAL; a cycle is TL_ERR_UNSUPPORTED
 * naming one step on it; two steps with the same id is TL_ERR_INTERNAL.
 */
int tl_schema_list_finish(tl_schema_list *l, tl_error *err) TL_MUST_CHECK;

#endif
