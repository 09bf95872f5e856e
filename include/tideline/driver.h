/*
 * driver.h - the one small interface every database kind implements.
 *
 * A driver (src/connectors/<kind>*.c) exports `const struct tl_driver_ops
 * tl_driver_<kind>`; the registry (include/tideline/registry.h) finds it by the task's
 * db_type ("mysql", "pg", "mongo" or one of the driver's aliases) and checks its version
 * and mandatory slots once, at lookup. The engine calls drivers only through the
 * tl_driver_<verb>() wrappers of include/tideline/driver_call.h (preconditions, tracing,
 * fault injection in one place) and checks `caps` and the descriptive fields (quote,
 * split_kinds) instead of asking which database it talks to. Only a driver's own files
 * include mysql.h, libpq-fe.h or mongoc.h. docs/architecture.md is the driver guide.
 *
 * Identifiers are always quoted by the driver (embedded quote characters doubled) and
 * values always bound or escaped by the client library. Errors carry the server's own
 * message and code (err->native / err->sqlstate) and name the table.
 *
 * Threads: a tl_conn is used by one thread at a time; different connections may be used
 * concurrently. Tables returned by describe are immutable once the plan has set them up
 * (it may choose part_idx) and may then be shared.
 *
 * A bare § names a section of docs/ape-dts-resume.md (how ape-dts behaves); tideline's
 * own rules are docs/tideline.md §N.
 */
#ifndef TL_DRIVER_H
#define TL_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include "tideline/batch.h"
#include "tideline/buf.h"
#include "tideline/error.h"
#include "tideline/schema.h"

typedef struct tl_conn tl_conn;     /* driver-defined */
typedef struct tl_reader tl_reader; /* driver-defined */

/* What a server is reached with (from a task's [extractor]/[sinker]/[resumer]). */
typedef struct tl_endpoint {
	const char *db_type;  /* "mysql", "pg", "mongo" */
	const char *url;      /* mysql://u:p@h:port[/db], postgres://…, mongodb://… */
	const char *username; /* overrides the URL's when non-empty */
	const char *password;
	const char *app_name; /* "tideline" */
	/*
	 * TLS (ape-dts' ssl_mode / ssl_ca_path). ssl_mode NULL or "" = what the URL says
	 * (MySQL ?ssl-mode=, PG ?sslmode=), else the client library's default (libmariadb: no
	 * TLS; libpq: prefer). "disable", "require" (encrypted; the chain is still verified
	 * when a CA is given, as libpq does), "verify_ca" (chain), "verify_full" (chain and
	 * host name). MongoDB: mapped onto tls / tlsCAFile / tlsAllowInvalid* URI options.
	 * Set here, they override the URL's. An unknown mode is TL_ERR_CONFIG at connect.
	 */
	const char *ssl_mode;
	const char *ssl_ca_path;   /* PEM CA file; NULL/"" = the system's trust store */
	/* Time bounds in seconds; 0 = the default in parentheses. */
	int connect_timeout_secs;  /* TCP connect and handshake (10) */
	int io_timeout_secs;       /* silence: no byte from (or into) the server for this long
				    * means the connection is lost, TL_ERRF_TRANSIENT (600; TCP
				    * keepalive probes start after min(30, this)) */
	int lock_wait_secs;        /* row and metadata lock waits of the session (60):
				    * innodb_lock_wait_timeout + lock_wait_timeout, lock_timeout */
	int foreign_key_checks;    /* enum tl_fk_checks: how a target session writes rows */
	int dead_peer_secs;        /* bytes sent that the server's host has not acknowledged for
				    * this long end the connection, and keepalive probes start
				    * no later (TCP_USER_TIMEOUT; io_timeout_secs when 0). What
				    * was not delivered by then is never delivered: a fleet
				    * worker's writes cannot reach the target after its lease
				    * (docs/fleet.md). MySQL and PostgreSQL. */
} tl_endpoint;

/*
 * tl_endpoint.foreign_key_checks ([sinker] disable_foreign_key_checks, as ape-dts). DEFAULT
 * (sources): the driver's own default. OFF: rows are written without foreign key checks
 * where the server allows it (MySQL foreign_key_checks = 0; PostgreSQL
 * session_replication_role = replica, which also keeps the target's ordinary triggers
 * from firing, when the role may set it - otherwise the session goes on with checks and
 * write_checks says so). ON: the server checks them (MySQL foreign_key_checks = 1).
 */
enum tl_fk_checks { TL_FK_DEFAULT = 0, TL_FK_OFF, TL_FK_ON };

/* Defaults of the tl_endpoint time bounds (used when a field is 0). */
#define TL_CONNECT_TIMEOUT_DEFAULT 10
#define TL_IO_TIMEOUT_DEFAULT 600
#define TL_LOCK_WAIT_DEFAULT 60

/* ssl_mode values, in order of strength. */
enum tl_ssl_mode {
	TL_SSL_DEFAULT = 0, /* not set: the URL's or the client library's choice */
	TL_SSL_DISABLE,
	TL_SSL_PREFER,      /* only from URLs (MySQL preferred, PG prefer/allow) */
	TL_SSL_REQUIRE,
	TL_SSL_VERIFY_CA,
	TL_SSL_VERIFY_FULL
};
/*
 * Parses an ssl_mode spelling: ape-dts' (disable, require, verify_ca, verify_full), PG's
 * (prefer, allow, verify-ca, verify-full) and MySQL's (disabled, preferred, required,
 * verify_identity), case-insensitive; NULL or "" is TL_SSL_DEFAULT. -1 when unknown.
 */
int tl_ssl_mode_parse(const char *s);

enum tl_col_kind {
	TL_COL_OTHER = 0,
	TL_COL_INT,      /* signed integer of any width */
	TL_COL_UINT,     /* unsigned integer */
	TL_COL_FLOAT,    /* float/double/real */
	TL_COL_DECIMAL,  /* decimal/numeric */
	TL_COL_TEXT,     /* char/varchar/text/enum/set/uuid */
	TL_COL_BINARY,   /* binary/varbinary/blob/bytea: positions render lowercase hex */
	TL_COL_DATE,     /* date, datetime, timestamp[tz], time, year */
	TL_COL_BOOL,
	TL_COL_BIT,      /* MySQL BIT: positions render unsigned decimal */
	TL_COL_JSON,
	TL_COL_DOCUMENT  /* a whole MongoDB document */
};

typedef struct tl_column {
	char *name;
	char *type;    /* the server's type text, e.g. "bigint(20) unsigned", "numeric(20,8)" */
	enum tl_col_kind kind;
	int nullable;
} tl_column;

/* Which key the table is ordered by (docs/ape-dts-resume.md §3.3). */
enum tl_key_kind {
	TL_KEYK_NONE = 0,     /* no PK/UK */
	TL_KEYK_PRIMARY,      /* primary key */
	TL_KEYK_UNIQUE,       /* unique key, all columns NOT NULL */
	TL_KEYK_UNIQUE_NULLABLE /* unique key with a nullable column */
};

/* A key_idx / part_idx that names no data column (see tl_table). */
#define TL_NO_COL ((size_t)-1)

/*
 * A described table. The data columns are cols[0..ncols): a batch row has one cell per
 * data column. The order key is explicit for every kind: keys[i] is key column i (name,
 * kind, nullable) in key order. For a relational table keys[i] == &cols[key_idx[i]]; a
 * key column that is not a data column of its own (a MongoDB document's _id, which row_key
 * reads out of the document) has key_idx[i] == TL_NO_COL and keys[i] points at a column
 * the driver keeps in impl. The engine reads key columns through keys[], never through
 * cols[key_idx[i]], and the partition column through tl_table_part().
 * keys, key_idx and cols are owned by the table (the driver's free_table).
 */
typedef struct tl_table {
	char *schema;        /* database (MySQL, Mongo) or schema (PG) */
	char *name;
	size_t ncols;
	tl_column *cols;
	enum tl_key_kind key_kind;
	size_t nkeys;        /* order key columns, 0 when none */
	const tl_column **keys; /* the key columns, in key order (nkeys entries) */
	size_t *key_idx;     /* where key i is among cols, or TL_NO_COL (see above) */
	size_t part_idx;     /* partition column: first key column, else column 0; the plan may
			      * set another one ([extractor] partition_cols); TL_NO_COL: the
			      * first key column, which is not a data column (documents) */
	int64_t est_rows;    /* server's estimate, -1 unknown */
	void *impl;          /* driver private, freed by the driver's free_table */
} tl_table;

/* The partition column: cols[part_idx], or keys[0] when part_idx is TL_NO_COL. */
static inline const tl_column *tl_table_part(const tl_table *t)
{
	return t->part_idx != TL_NO_COL ? &t->cols[t->part_idx] : t->nkeys ? t->keys[0] : NULL;
}

/*
 * For drivers: sets keys[] from key_idx[0..nkeys) (every entry a data column). Call after
 * choosing the key; the array is the table's (free it in free_table). TL_ERR_NOMEM.
 */
int tl_table_link_keys(tl_table *t, tl_error *err) TL_MUST_CHECK;
/*
 * For drivers' project slot: the common fields of a projection of src (see the slot):
 * schema.name, columns cols[0..n) named names[i] (NULL: src's), key_idx and part_idx
 * remapped, keys[i] linked for every data-column key (a key that is not a data column
 * keeps key_idx TL_NO_COL and keys[i] NULL for the driver to set), est_rows and key_kind
 * copied; impl NULL. TL_ERR_MISMATCH when a data-column key or the partition column is
 * not among cols. *out is freed by the driver's free_table (which must accept impl NULL).
 */
int tl_table_project_base(const tl_table *src, const char *schema, const char *name, const size_t *cols,
			  const char *const *names, size_t n, tl_table **out, tl_error *err) TL_MUST_CHECK;
/* Index of the data column named `name` (exact), or TL_NO_COL. */
size_t tl_table_col_index(const tl_table *t, const char *name);

/* Key values in position text form (docs/ape-dts-resume.md §2.4); vals[i] NULL = SQL NULL. Owned by the holder. */
typedef struct tl_keyvals {
	size_t n;
	char **cols;
	char **vals;
} tl_keyvals;

void tl_keyvals_clear(tl_keyvals *k);
int tl_keyvals_set(tl_keyvals *k, size_t n, const char *const *cols, const char *const *vals, tl_error *err) TL_MUST_CHECK;

enum tl_read_mode {
	TL_READ_SCAN = 0, /* every row, no order (keyless table not split) */
	TL_READ_KEYED,    /* rows with no NULL key column, ordered by the key, strictly after `after` */
	TL_READ_KEY_NULLS,/* rows with a NULL in any key column (the NULL pass) */
	TL_READ_RANGE,    /* partition column in (lo, hi], ordered by it; lo/hi NULL = unbounded */
	TL_READ_PART_NULLS/* rows whose partition column is NULL */
};

typedef struct tl_read_spec {
	enum tl_read_mode mode;
	const tl_keyvals *after; /* KEYED: resume strictly after these (n == nkeys); NULL = start */
	const char *lo;          /* RANGE: exclusive lower bound in position text form, or NULL */
	const char *hi;          /* RANGE: inclusive upper bound, or NULL */
	size_t batch_rows;       /* rows per read_batch call (the extractor batch size) */
	const char *where;       /* optional user condition ANDed in ([filter] where_conditions) */
	int native;              /* rows will be written by this same driver: 0 = cells only;
				  * 1 = read_batch may fill TL_BATCH_NATIVE batches; 2 = also
				  * TL_BATCH_NATIVE_BINARY (what native_form allowed) */
} tl_read_spec;

enum tl_write_flags {
	TL_WRITE_UPSERT = 1u << 0,     /* idempotent: replace rows with the same key */
	TL_WRITE_TARGET_EMPTY = 1u << 1,/* target known empty and no conflict possible: bulk path allowed */
	/* A position will point at this batch's commit: commit it durably before returning
	 * (PG: synchronous_commit raised for the transaction when the session has it off,
	 * which makes every earlier commit durable too, WAL being flushed in order; Mongo:
	 * journaled write concern). MySQL cannot per session: see durability_warning. */
	TL_WRITE_DURABLE = 1u << 2
};

enum tl_delete_nulls { TL_DELETE_AFTER = 0, TL_DELETE_PART_NULLS = 1, TL_DELETE_KEY_NULLS = 2 };

enum tl_driver_caps {
	TL_CAP_SQL = 1u << 0,       /* relational: schemas, columns, NULL passes, chunk splitting */
	TL_CAP_DOCUMENTS = 1u << 1, /* rows are whole documents ordered by _id */
	TL_CAP_APE_STORE = 1u << 2, /* implements the ape-dts database store slots */
	TL_CAP_BULK_EMPTY = 1u << 3,/* write_batch is much faster with TL_WRITE_TARGET_EMPTY */
	TL_CAP_SCHEMA = 1u << 4     /* copies definitions: schema_extract, schema_probe, schema_apply */
};

typedef struct tl_name {
	char *schema;
	char *name;
} tl_name;

typedef struct tl_name_list {
	size_t n;
	tl_name *items;
} tl_name_list;

void tl_name_list_clear(tl_name_list *l);
int tl_name_list_add(tl_name_list *l, const char *schema, const char *name, tl_error *err) TL_MUST_CHECK;

/* One record of ape-dts' database store (§4.2). */
typedef struct tl_ape_row {
	const char *resumer_type;  /* "SnapshotDoing", "SnapshotFinished", "CdcDoing" */
	const char *position_key;  /* "<schema>-<tb>" */
	const char *position_data; /* JSON, may be NULL */
} tl_ape_row;
typedef int (*tl_ape_row_fn)(void *ctx, const tl_ape_row *row, tl_error *err);

/* One top-level field of two documents that differs (doc_diff); strings lent for the call. */
typedef struct tl_value_diff {
	const char *field;
	const char *src, *dst;           /* values as ape-dts logs them; NULL = the side lacks the field */
	const char *src_type, *dst_type; /* ape-dts' type names, both set only when the types differ */
} tl_value_diff;
typedef int (*tl_value_diff_fn)(void *ctx, const tl_value_diff *d, tl_error *err);

/* A bit of tl_driver_ops.split_kinds. */
#define TL_KIND_BIT(kind) (1u << (unsigned)(kind))

/*
 * The table of a database kind. The descriptive fields come first: the engine reads them
 * instead of knowing database names. Slots marked Mandatory must be set (the registry
 * refuses a driver without them); an Optional slot may be NULL, and the engine then does
 * without it (the comment says how).
 */
struct tl_driver_ops {
	unsigned version; /* TL_DRIVER_VERSION */
	const char *name; /* the kind: "mysql", "pg", "mongo"; written into positions' db_type */
	/* Other db_type spellings of this kind, NULL-terminated (may be NULL), e.g. "mariadb". */
	const char *const *aliases;
	unsigned caps;    /* enum tl_driver_caps */
	/* The identifier quote character of this kind: quoted [filter] names match literally
	 * ('`' MySQL, '"' PostgreSQL); 0 when names are never quoted (MongoDB). */
	char quote;
	/* Column kinds next_bound can cut into ranges (TL_KIND_BIT(TL_COL_INT) | …): a split
	 * table needs its partition column to be one of them. 0 without next_bound. */
	unsigned split_kinds;

	/* Mandatory. Connects; the error names host:port and never the password. */
	int (*connect)(const tl_endpoint *ep, tl_conn **out, tl_error *err);
	/* Mandatory. Accepts NULL. */
	void (*disconnect)(tl_conn *c);

	/* Mandatory. All user tables (schema, table) sorted; system schemas excluded. */
	int (*list_tables)(tl_conn *c, tl_name_list *out, tl_error *err);
	/* Mandatory. Columns, key choice (§3.3) with keys[] set for every key column, part_idx,
	 * estimate. TL_ERR_NOTFOUND if missing. */
	int (*describe)(tl_conn *c, const char *schema, const char *name, tl_table **out, tl_error *err);
	/* Mandatory. Frees a described table (accepts NULL). */
	void (*free_table)(tl_table *t);
	/* Mandatory. Exact row count. */
	int (*count_rows)(tl_conn *c, const tl_table *t, int64_t *out, tl_error *err);

	/*
	 * Mandatory. Opens a streaming read. The reader holds the connection until closed;
	 * memory stays bounded whatever the table size. A resume value that does not fit
	 * the column type is TL_ERR_MISMATCH naming table, column and value.
	 */
	int (*open_reader)(tl_conn *c, const tl_table *t, const tl_read_spec *spec, tl_reader **out, tl_error *err);
	/* Mandatory. Appends up to spec->batch_rows rows (fewer when the batch is full); 0 rows = end. */
	int (*read_batch)(tl_reader *r, tl_batch *b, tl_error *err);
	/* Mandatory. Accepts NULL. */
	void (*close_reader)(tl_reader *r);

	/* Mandatory. Renders the key columns `idx[0..n)` of one row in position text form (§2.4,
	 * §2.5); idx entries are key_idx / part_idx values (TL_NO_COL: the driver finds the key
	 * in the row itself, e.g. a document's _id). */
	int (*row_key)(const tl_table *t, const tl_batch *b, size_t row, const size_t *idx, size_t n,
		       tl_keyvals *out, tl_error *err);

	/*
	 * Optional (TL_CAP_SQL). Next split bound (§3.4 uneven ranges): the largest partition
	 * value among the first `step` non-NULL values strictly greater than `after` (NULL =
	 * from the start). *hi_out is a malloc'd position-form string, NULL when no rows remain.
	 * The partition column is tl_table_part(t), a column of a kind in split_kinds.
	 * Without it tables are never split and parallel_type=chunk is a config error.
	 */
	int (*next_bound)(tl_conn *c, const tl_table *t, const char *after, size_t step, char **hi_out, tl_error *err);
	/* Optional (TL_CAP_SQL). Min and max of the partition column in position form (NULL if empty). */
	int (*part_minmax)(tl_conn *c, const tl_table *t, char **min_out, char **max_out, tl_error *err);

	/*
	 * Mandatory. Checks the target table for `src`: exists, same column names; sets
	 * *is_empty. TL_ERR_NOTFOUND / TL_ERR_MISMATCH name the table and column.
	 */
	int (*check_target)(tl_conn *target, const tl_table *src, int *is_empty, tl_error *err);
	/*
	 * Optional: present when the driver has native batch forms (tl_read_spec.native),
	 * which are then used between two connections of this driver (level 1 always).
	 * Called after check_target for a target that was empty: the highest level this
	 * target accepts for src's rows (2 only when the binary form fits both sides, e.g.
	 * identical built-in column types).
	 */
	int (*native_form)(tl_conn *target, const tl_table *src, int *level, tl_error *err);
	/* Mandatory. Writes a batch (rows read from `src`) as one transaction. */
	int (*write_batch)(tl_conn *target, const tl_table *src, const tl_batch *b, unsigned flags, tl_error *err);
	/*
	 * Optional. Deletes target rows whose partition column is > after (after NULL = all
	 * rows); with nulls == TL_DELETE_PART_NULLS rows whose partition column is NULL; with
	 * nulls == TL_DELETE_KEY_NULLS rows with a NULL in any key column. Used only for
	 * tables this task started into an empty target (docs/tideline.md §5). Without it such
	 * tables are not resumed past rows that cannot be upserted (the run refuses instead).
	 */
	int (*delete_after)(tl_conn *target, const tl_table *src, const char *after, int nulls, tl_error *err);

	/* Optional, all four or none, with TL_CAP_APE_STORE: ape-dts' database store (§4).
	 * schema/table from table_full_name. */
	int (*ape_store_init)(tl_conn *c, const char *schema, const char *table, tl_error *err);
	int (*ape_store_load)(tl_conn *c, const char *schema, const char *table, const char *task_id,
			      tl_ape_row_fn fn, void *ctx, tl_error *err);
	int (*ape_store_put)(tl_conn *c, const char *schema, const char *table, const char *task_id,
			     const tl_ape_row *row, tl_error *err);
	int (*ape_store_forget)(tl_conn *c, const char *schema, const char *table, const char *task_id, tl_error *err);

	/*
	 * Optional. Ordered content checksum of rows with key in (lo, hi] (NULL = unbounded)
	 * and the row count, computed on the server where possible (verify).
	 */
	int (*checksum)(tl_conn *c, const tl_table *t, const char *lo, const char *hi, int64_t *rows,
			uint64_t *sum, tl_error *err);

	/*
	 * Optional. describe for n tables with a number of server round trips that does not
	 * grow with n (plan calls it over long table lists in chunks). out[i] is exactly what
	 * describe(names[i]) returns, or NULL when that table does not exist; the caller owns
	 * the tables (free_table). On failure every out[i] is NULL and err names no single
	 * table. NULL slot: the caller describes one table at a time.
	 */
	int (*describe_many)(tl_conn *c, const tl_name *names, size_t n, tl_table **out, tl_error *err);
	/*
	 * Optional. count_rows for n tables in few round trips (several counts per statement):
	 * out[i] = exact row count of t[i]. On failure out is unspecified.
	 */
	int (*count_many)(tl_conn *c, const tl_table *const *t, size_t n, int64_t *out, tl_error *err);
	/*
	 * Optional. How many names one describe_many call should get (0: the caller's default).
	 * A hint, not a limit: describe_many accepts any n.
	 */
	size_t describe_batch;
	/*
	 * Optional. The server's running count of live rows of n tables, kept by its
	 * statistics (no scan; may lag committed changes by seconds), -1 when unknown or the
	 * table is missing (0 for a kind whose tables exist as soon as they are written, as
	 * MongoDB's collections: a missing one holds no rows). A cheap first look before exact
	 * counts (plan's lost-rows check).
	 */
	int (*live_rows_many)(tl_conn *c, const tl_name *names, size_t n, int64_t *out, tl_error *err);
	/*
	 * Optional. Whether a commit this target acknowledged can still be lost by a crash
	 * of the target server or its machine, through server settings no session can
	 * override (MySQL innodb_flush_log_at_trx_commit != 1, binary log with sync_binlog
	 * != 1; PG fsync=off). *out = a malloc'd one-line warning naming the settings, or
	 * NULL when commits are durable (caller frees). The engine logs it once per run and
	 * plan prints it.
	 */
	int (*durability_warning)(tl_conn *target, char **out, tl_error *err);

	/*
	 * Definitions (include/tideline/schema.h, docs/schema.md). All three present with
	 * TL_CAP_SCHEMA, else NULL.
	 *
	 * schema_extract: appends to *out (the caller owns and clears it) the steps that create
	 * the source tables / collections names[0..n) on an empty target, with what they need
	 * (schema / database, extensions, types, functions, sequences, partitions), their keys
	 * and indexes, foreign keys and triggers, the views / routines / events of their
	 * schemas whose dependencies are all selected, comments and counter values - limited
	 * to opts->structures and opts->phases, named for the target (opts->targets) - and
	 * finishes the list (tl_schema_list_finish). Reads a consistent snapshot of the
	 * catalogs where the server offers one. A name that does not exist is
	 * TL_ERR_NOTFOUND naming it; an object the driver cannot copy is TL_ERR_UNSUPPORTED
	 * naming it (never a silent skip); on failure *out holds what was appended so far.
	 */
	int (*schema_extract)(tl_conn *src, const tl_name *names, size_t n, const tl_schema_opts *opts,
			      tl_schema_list *out, tl_error *err);
	/*
	 * schema_probe: out[i] = state of steps[i] on this target, in few round trips. Objects
	 * are found by name only; a table that is there is used as it is and never dropped or
	 * altered (the engine skips what belongs to it).
	 */
	int (*schema_probe)(tl_conn *dst, const tl_schema_step *steps, size_t n, enum tl_schema_state *out,
			    tl_error *err);
	/*
	 * schema_apply: makes one step done on this target, idempotently: nothing when it is
	 * already there, finishes a half-done one (drops and rebuilds an INVALID PG index,
	 * builds only the missing parts of an INDEXES step), creates an absent one; each step
	 * is atomic where the server allows (PG: one transaction). *before (may be NULL)
	 * gets the state found first. Safe to call concurrently for different steps on
	 * different connections. Errors carry the server's message and name the step's id; an
	 * extension the target user may not create is TL_ERR_DB naming it and what to do.
	 */
	int (*schema_apply)(tl_conn *dst, const tl_schema_step *step, enum tl_schema_state *before, tl_error *err);
	/*
	 * Optional. Deletes target rows whose order key (src's key columns, in key order) is
	 * greater than `after` (after->n == src->nkeys; row comparison, so composite keys
	 * resume exactly), and rows with a NULL key column (the NULL pass copies them again).
	 * For a table loaded without its unique key (docs/schema.md: resuming a created
	 * table): never upsert against a missing constraint, delete past the checkpoint and
	 * load in bulk. A value that does not fit its column is TL_ERR_MISMATCH naming it.
	 */
	int (*delete_after_key)(tl_conn *target, const tl_table *src, const tl_keyvals *after, tl_error *err);
	/*
	 * Optional. What this target session does while rows are written: *fk_checks = 1 when
	 * it checks foreign keys, *triggers = 1 when the target's triggers fire (PostgreSQL with
	 * session_replication_role = replica: 0 and 0; MySQL: triggers always fire). Without it
	 * the engine assumes both (plan reports the objects that may get in the way).
	 */
	int (*write_checks)(tl_conn *target, int *fk_checks, int *triggers, tl_error *err);

	/*
	 * Optional. Whether the target table of src holds a row whose columns key->cols[i]
	 * equal key->vals[i] for every i < key->n (values in position text form, as
	 * tl_read_spec.after; a NULL value matches SQL NULL): what a checkpoint claims is
	 * there before a run resumes after it (docs/guide.md, "resuming onto a target that
	 * lost rows") - the whole order key of a keyed table, the partition column's bound
	 * of a split table, "_id" for documents. Columns are looked up by name among src's
	 * (documents: only "_id"). One indexed lookup for a key; a column without an index
	 * is scanned until the first match. A target table that does not exist is
	 * TL_ERR_NOTFOUND naming it (a missing collection holds nothing: *exists = 0); a
	 * value that does not fit its column is TL_ERR_MISMATCH naming table, column and
	 * value; a column src does not have is TL_ERR_INTERNAL.
	 */
	int (*key_exists)(tl_conn *target, const tl_table *src, const tl_keyvals *key, int *exists, tl_error *err);

	/*
	 * Optional, both or neither. A claim on the target table of src, held by this
	 * connection while the table is written, so that two tasks never write one target
	 * table at once (another tideline process, whatever its task id or store): MySQL /
	 * MariaDB a named lock (GET_LOCK, tl_claim_key), PostgreSQL a session advisory lock
	 * (tl_claim_key), MongoDB a lease document in the collection TL_CLAIM_COLLECTION of
	 * the target database.
	 *
	 * claim: `owner` is one line naming this run (task id, host, pid: "task 't1' (pid 42
	 * on db7)"), shown to whoever is refused; PostgreSQL shows it as the session's
	 * application_name (clipped to 63 bytes), MongoDB in the lease document, MySQL as the
	 * program_name connect attribute given at connect (tl_endpoint.app_name: the engine
	 * connects with app_name = owner), readable where performance_schema is on. Claiming
	 * what this connection holds again succeeds (and renews a lease). Held by another
	 * connection: TL_ERR_LOCKED, the message naming the table and the holder (its owner
	 * line where the server shows it, its session, client address and since when) and
	 * what to do. A holder that is gone does not count: session locks end with their
	 * connection (the server releases them when it notices the client is gone); a lease
	 * ends when it expires (TL_CLAIM_LEASE_SECS without renewal) or at once when its
	 * holder was a process on this host that no longer runs, or this very process under
	 * the same owner line (a connection the engine gave up after a transient failure).
	 * A lease is renewed by write_batch on the claiming connection and by claiming again;
	 * a renewal that finds the lease taken over is TL_ERR_LOCKED.
	 *
	 * release: ends this connection's claim on src's target table (nothing when it holds
	 * none). disconnect releases every claim of the connection; a crashed process's
	 * claims end as described above.
	 */
	int (*claim)(tl_conn *target, const tl_table *src, const char *owner, tl_error *err);
	int (*release)(tl_conn *target, const tl_table *src, tl_error *err);

	/*
	 * Optional. Returns once every commit the target server acknowledged before the call,
	 * to this connection or any other, is durable: for a position recorded after batches
	 * written without TL_WRITE_DURABLE (ranges committed by other connections in chunk
	 * mode, the last batch before a failure). PostgreSQL: one transaction that writes WAL
	 * with synchronous_commit on (WAL is flushed in order; nothing to do when the session
	 * commits synchronously anyway); MongoDB: a journaled write to TL_CLAIM_COLLECTION of
	 * src's database (the journal is flushed in order). NULL where no session can make
	 * commits durable (MySQL: durability_warning says so).
	 */
	int (*flush_commits)(tl_conn *target, const tl_table *src, tl_error *err);

	/*
	 * Optional. Gives connection c up from another thread: the call in progress on c (a
	 * batch that stalls: a frozen server, a path that drops packets) and every later one
	 * fail at once as a lost connection (TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST), e.g. by
	 * shutting its socket down. The one slot that may be called while another thread uses
	 * c; it must neither block nor free anything (disconnect still frees c). The engine's
	 * per-batch deadline ([pipeline] batch_timeout_secs) calls it; without it only the
	 * driver's silence bound (io_timeout_secs) ends a stall.
	 */
	void (*interrupt)(tl_conn *c);

	/*
	 * Optional. A table that reads or writes columns cols[0..n) of src (indexes into
	 * src->cols, in that order) as table schema.name, column i named names[i] (names NULL,
	 * or names[i] NULL: src's name): [router] renames and [filter] ignore_cols. Every key
	 * column that is a data column, and the partition column, must be among cols; key_idx,
	 * keys and part_idx of *out point at the same columns, and the driver's private column
	 * data follows them, so reading, writing, checking and the native forms of *out work
	 * as for src over those columns (e.g. PostgreSQL's COPY lists them). est_rows is src's.
	 * *out is freed with free_table. Without it the engine refuses routes and ignore_cols.
	 * A documents driver keeps its one column (n == ncols, cols the identity).
	 */
	int (*project)(const tl_table *src, const char *schema, const char *name, const size_t *cols,
		       const char *const *names, size_t n, tl_table **out, tl_error *err);
	/*
	 * Optional. *out = a malloc'd text naming the server and the namespace this connection
	 * sees, equal for two connections exactly when a (schema, table) name means the same
	 * object through both (PostgreSQL: the same cluster and database). The engine refuses
	 * a run that would write a table it also reads (tl_route_check_same_server). Without
	 * it source and target are taken as two servers.
	 */
	int (*server_id)(tl_conn *c, char **out, tl_error *err);
	/*
	 * Optional. ape-dts' type name of the non-NULL values of column col of t as its check
	 * logs write it (src_type / dst_type: "Long", "String", "Decimal", …); NULL unknown.
	 */
	const char *(*value_type)(const tl_table *t, size_t col);
	/*
	 * Optional (TL_CAP_DOCUMENTS). Compares two documents (cells of t's document column)
	 * top-level field by field in field-name order and calls fn for each field whose value
	 * differs or that only one side has, as ape-dts' check does. fn's non-zero return stops
	 * and is returned. TL_ERR_PARSE for a cell that is not a document.
	 */
	int (*doc_diff)(const tl_table *t, const char *a, size_t alen, const char *b, size_t blen, tl_value_diff_fn fn,
			void *ctx, tl_error *err);
};

/* 2: aliases, quote, split_kinds and tl_table.keys (explicit key columns) */
#define TL_DRIVER_VERSION 2

extern const struct tl_driver_ops tl_driver_mysql;
extern const struct tl_driver_ops tl_driver_pg;
extern const struct tl_driver_ops tl_driver_mongo;

/*
 * Finds a built-in driver by db_type (its name or an alias, case-insensitive), checked as
 * tl_registry_find does; NULL when there is none. Code that reports why, or that must see
 * drivers registered by tests, uses tl_registry_find (include/tideline/registry.h).
 */
const struct tl_driver_ops *tl_driver_find(const char *db_type);

/* Parsed URL parts (for drivers); strings owned by the struct, release with tl_url_clear. */
typedef struct tl_url {
	char *scheme, *user, *password, *host, *path, *query;
	int port; /* 0 when absent */
} tl_url;
int tl_url_parse(const char *url, tl_url *out, tl_error *err) TL_MUST_CHECK;
void tl_url_clear(tl_url *u);
/* Writes the URL with the password replaced by "***" (for logs and errors). */
int tl_url_redact(const char *url, tl_buf *out, tl_error *err) TL_MUST_CHECK;

/* One key=value pair of a URL query, percent-decoded ('+' is a space); owned by the caller. */
typedef struct tl_url_param {
	char *key;
	char *value; /* "" when the pair has no '=' */
} tl_url_param;
/*
 * Splits a URL query (the text after '?', tl_url.query; NULL = empty) into *out, *n pairs
 * in order. Free with tl_url_params_free. TL_ERR_CONFIG for an empty key.
 */
int tl_url_params(const char *query, tl_url_param **out, size_t *n, tl_error *err) TL_MUST_CHECK;
void tl_url_params_free(tl_url_param *p, size_t n);

/* MongoDB: the collection, in each target database, holding claim leases (never listed). */
#define TL_CLAIM_COLLECTION "tideline.claims"
/* MongoDB: a claim lease not renewed for this long lapses. */
#define TL_CLAIM_LEASE_SECS 120

/*
 * The 64-bit name of a claim on the target table (db, schema, name): FNV-1a over the
 * three strings, each ended by a NUL byte (db or schema may be NULL or "" where the
 * server has no such level). The same on every host, so that all tasks agree. Pure.
 */
uint64_t tl_claim_key(const char *db, const char *schema, const char *name);

#endif
