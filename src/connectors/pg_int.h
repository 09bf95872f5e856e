/*
 * pg_int.h - internals shared by the PostgreSQL connector files (src/connectors/pg*.c).
 *
 * The connector is split by concern: pg_conn.c (connecting, errors, quoting, helpers),
 * pg_meta.c (listing, counting, checking a target), pg_describe.c (describing tables, one
 * or many at a time), pg_read.c (streaming reads, positions, split bounds, checksums),
 * pg_write.c (COPY / upsert writes, deletes),
 * pg_claim.c (target checks and claims), pg_store.c (the ape-dts database store),
 * pg_route.c (projected tables, the server's identity, ape-dts' value types) and pg.c (the
 * ops table). Only these files may
 * include <libpq-fe.h>; nothing outside src/connectors/pg*.c may include this header.
 *
 * Cells in a tl_batch are PostgreSQL's text output of each value (session forced to UTF8,
 * UTC, DateStyle ISO, extra_float_digits 3, bytea_output hex), so the same text goes back
 * through COPY text format or text-format parameters unchanged. Position values (§2.4) are
 * the same text except bytea (lowercase hex, no "\x") and boolean ("true"/"false").
 */
#ifndef TL_PG_INT_H
#define TL_PG_INT_H

#include <libpq-fe.h>
#include "tideline/driver.h"

/* Bounded cache of prepared INSERT statements, keyed by a table/shape signature. */
#define TL_PG_STMT_CACHE 64

struct tl_pg_stmt {
	char *shape;   /* signature of table, columns, key and mode; NULL = free slot */
	size_t nrows;  /* rows per statement */
	unsigned id;   /* statement name is "tl_ins_<id>" */
};

struct tl_conn {
	PGconn *pg;            /* in non-blocking mode: every wait goes through pg_conn.c */
	char *where;           /* "host:port" for messages */
	int in_reader;         /* a reader holds the connection (a COPY TO STDOUT in progress) */
	int io_timeout_ms;     /* silence bound of every wait on the server */
	int lock_wait;         /* lock_timeout of the session, seconds (0: the URL's own) */
	int async_commit;      /* the session's synchronous_commit is off (TL_WRITE_DURABLE raises it) */
	int stmt_timeout;      /* the URL set statement_timeout: streaming reads lift it */
	int dead;              /* given up after a silence timeout (socket shut): calls fail at once */
	int watch_fd;          /* a dup of the socket for interrupt (shut down from another thread), -1 none */
	unsigned next_stmt_id;
	size_t stmt_evict;     /* round-robin eviction slot */
	struct tl_pg_stmt stmts[TL_PG_STMT_CACHE];
	int64_t *claims;       /* advisory lock keys this session holds (pg_claim.c) */
	size_t nclaims;
};

#define TL_PG_TABLE_MAGIC 0x70677462u /* "pgtb" */

/* tl_table.impl of tables described by this driver. */
struct tl_pg_table {
	unsigned magic;  /* TL_PG_TABLE_MAGIC */
	char **cast;     /* per column: type name without typmod for $n::cast */
	unsigned char *identity_always; /* per column: GENERATED ALWAYS AS IDENTITY */
};

/* True when column i is GENERATED ALWAYS AS IDENTITY (known only for tables described here). */
int tl_pg__identity_always(const tl_table *t, size_t i);

/*
 * Error classification (enum tl_error_flags) of an SQLSTATE and the connection's state
 * (conn_bad: PQstatus is CONNECTION_BAD): class 08, 57P01/57P02/57P03/57P05 and a bad
 * connection are TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST; 40001, 40P01, 53300, 55P03 and
 * 25006 (read-only: a standby after failover) TL_ERRF_TRANSIENT; everything else 0. Pure.
 */
unsigned tl_pg__classify(const char *sqlstate, int conn_bad);
/* The same for a failed connection attempt, which has only libpq's message (no SQLSTATE):
 * refused, unreachable, timed out, server starting or shutting down, too many clients. */
unsigned tl_pg__classify_connect(const char *message);

/*
 * Waiting on the server, always within the connection's silence bound (io_timeout_ms):
 * silence past it is TL_ERR_DB with TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST, and the
 * connection is given up (c->dead; its socket shut down so that nothing can block on it).
 *
 * tl_pg__run sends a statement (text parameters when nparams > 0, else a simple query that
 * may hold several statements) and collects its results as PQexec does: *out = the last
 * result, or the COPY one (the caller PQclears and checks its status). A non-zero return
 * means no result (connection lost or silent); err names the server, callers prefix it.
 */
int tl_pg__run(tl_conn *c, const char *sql, int nparams, const char *const *params, PGresult **out,
	       tl_error *err) TL_MUST_CHECK;
int tl_pg__run_prepared(tl_conn *c, const char *name, int nparams, const char *const *params, PGresult **out,
			tl_error *err) TL_MUST_CHECK;
int tl_pg__run_prepare(tl_conn *c, const char *name, const char *sql, PGresult **out, tl_error *err) TL_MUST_CHECK;
/* The next result of the statement in flight (*out NULL when there is none left). */
int tl_pg__next_result(tl_conn *c, PGresult **out, tl_error *err) TL_MUST_CHECK;
/* COPY FROM STDIN: queue and send data / end the copy (errmsg non-NULL aborts it). */
int tl_pg__copy_put(tl_conn *c, const char *data, size_t len, tl_error *err) TL_MUST_CHECK;
int tl_pg__copy_end(tl_conn *c, const char *errmsg, tl_error *err) TL_MUST_CHECK;
/* COPY TO STDOUT: *n and *line as PQgetCopyData(…, 0) gives them (> 0 a row to PQfreemem,
 * -1 the end: collect the results); a non-zero return is a lost or silent connection. */
int tl_pg__copy_get(tl_conn *c, char **line, int *n, tl_error *err) TL_MUST_CHECK;
/* Rolls back the open transaction, if the connection is still usable (errors ignored). */
void tl_pg__rollback(tl_conn *c);
/*
 * After a lock_timeout (55P03) on t: appends to err's message the sessions holding locks
 * on the table (pg_locks + pg_stat_activity; nothing when they cannot be read). Call
 * after the rollback.
 */
void tl_pg__blame_lock(tl_conn *c, const tl_table *t, tl_error *err);

/* Error helpers (pg_conn.c). They set TL_ERR_DB, copy SQLSTATE and classify; `what` prefixes. */
int tl_pg__res_error(tl_error *err, const PGresult *res, PGconn *pg, const char *fmt, ...) TL_PRINTF(4, 5);
int tl_pg__conn_error(tl_error *err, PGconn *pg, const char *fmt, ...) TL_PRINTF(3, 4);
/* SQLSTATE of a result ("" when none). */
const char *tl_pg__sqlstate(const PGresult *res);

/* Appends "ident" with embedded double quotes doubled. */
int tl_pg__quote_ident(tl_buf *b, const char *ident, tl_error *err) TL_MUST_CHECK;
/* Appends "schema"."name". */
int tl_pg__quote_table(tl_buf *b, const char *schema, const char *name, tl_error *err) TL_MUST_CHECK;
/* Writes "schema"."name" into a fixed buffer for messages (truncated if needed). */
void tl_pg__table_label(char *out, size_t n, const char *schema, const char *name);

/*
 * Runs a statement with text parameters (NULL entries are SQL NULL) and checks the
 * status (PGRES_COMMAND_OK or PGRES_TUPLES_OK). On success *out (if given) receives the
 * result (caller PQclears), else it is cleared. `what` names the operation in errors.
 */
int tl_pg__exec(tl_conn *c, const char *sql, int nparams, const char *const *params, PGresult **out,
		const char *what, tl_error *err) TL_MUST_CHECK;

/* Cast type of column i (from impl when this driver described it, else NULL). */
const char *tl_pg__cast(const tl_table *t, size_t i);

/*
 * Turns a position-form value (§2.4) for column col of t into parameter text in *out:
 * bytea hex (optional "\x") becomes "\x<hex>", integers must parse (else TL_ERR_MISMATCH
 * naming table, column and value), others pass through. val must be non-NULL.
 */
int tl_pg__pos_param(const tl_table *t, size_t col, const char *val, tl_buf *out, tl_error *err) TL_MUST_CHECK;
/* Turns a cell / result text of column col into position form (malloc'd; NULL in → NULL out). */
int tl_pg__pos_from_text(const tl_table *t, size_t col, const char *text, char **out, tl_error *err) TL_MUST_CHECK;

/*
 * After a statement binding position values failed with a data exception (SQLSTATE class
 * 22), finds which value does not cast to its column and reports TL_ERR_MISMATCH naming
 * table, column and value; returns the code. When no single value is to blame, keeps err.
 */
int tl_pg__blame_values(tl_conn *c, const tl_table *t, const size_t *cols, const char *const *vals, size_t n,
			tl_error *err);

/* One field of a decoded COPY text row (pg_copytext.c); ptr NUL-terminated, NULL for \N. */
struct tl_pg_field {
	const char *ptr;
	size_t len;
	int is_null;
};

/*
 * Splits a COPY text line (its trailing newline optional; line[len] must be writable)
 * into exactly nf fields, decoding escapes in place. TL_ERR_INTERNAL when the field count
 * differs.
 */
int tl_pg__copy_split(char *line, size_t len, struct tl_pg_field *f, size_t nf, tl_error *err) TL_MUST_CHECK;
/* Decodes row `row` of a TL_BATCH_NATIVE batch into f[0..nf) using scratch (fields point into it). */
int tl_pg__native_fields(const tl_batch *b, size_t row, size_t nf, tl_buf *scratch, struct tl_pg_field *f,
			 tl_error *err) TL_MUST_CHECK;
/* Decodes a whole TL_BATCH_NATIVE batch into a TL_BATCH_CELLS batch `out` (reset first). */
int tl_pg__native_to_cells(const tl_batch *in, tl_batch *out, tl_error *err) TL_MUST_CHECK;

/* Binary COPY (pg_copytext.c): the 19-byte header a stream starts with. */
#define TL_PG_BIN_HEADER 19
extern const char tl_pg__bin_header[TL_PG_BIN_HEADER];
/* Checks a stream's header at p[0..n); *used = its length (extension included). */
int tl_pg__bin_skip_header(const char *p, size_t n, size_t *used, tl_error *err) TL_MUST_CHECK;
/* Checks one CopyData message is a tuple of exactly nf fields (or the -1 trailer: *is_trailer). */
int tl_pg__bin_tuple_check(const char *p, size_t n, size_t nf, int *is_trailer, tl_error *err) TL_MUST_CHECK;
/* True when every key column and the partition column is int2/int4/int8 (binary keys decodable). */
int tl_pg__binary_keys_ok(const tl_table *t);
/* Decimal text of integer field col of a checked tuple (malloc'd; NULL for SQL NULL). */
int tl_pg__bin_int_text(const char *tuple, size_t n, size_t col, char **out, tl_error *err) TL_MUST_CHECK;
int tl_pg__native_form(tl_conn *target, const tl_table *src, int *level, tl_error *err);

/* Appends "s" as one element of an array literal ('"' and '\\' escaped) (pg_describe.c). */
int tl_pg__put_array_elem(tl_buf *b, const char *s, tl_error *err) TL_MUST_CHECK;
/* FROM clause turning the names ($1 schemas, $2 table names) into ordinal w.i and pg_class c. */
#define NAMES_TO_CLASS                                                                           \
	"FROM unnest($1::pg_catalog.name[], $2::pg_catalog.name[]) WITH ORDINALITY AS w(s, t, i) " \
	"JOIN pg_catalog.pg_namespace n ON n.nspname = w.s "                                      \
	"JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = w.t "
/* Runs sql (built on NAMES_TO_CLASS) with the names as its two array parameters (pg_describe.c). */
int tl_pg__exec_names(tl_conn *c, const char *sql, const tl_name *names, size_t n, PGresult **res, const char *what,
		      tl_error *err) TL_MUST_CHECK;

/* The slots, one group per file. */
int tl_pg__connect(const tl_endpoint *ep, tl_conn **out, tl_error *err);
void tl_pg__disconnect(tl_conn *c);
void tl_pg__interrupt(tl_conn *c);

int tl_pg__list_tables(tl_conn *c, tl_name_list *out, tl_error *err);
int tl_pg__describe(tl_conn *c, const char *schema, const char *name, tl_table **out, tl_error *err);
int tl_pg__describe_many(tl_conn *c, const tl_name *names, size_t n, tl_table **out, tl_error *err);
int tl_pg__count_many(tl_conn *c, const tl_table *const *t, size_t n, int64_t *out, tl_error *err);
int tl_pg__live_rows_many(tl_conn *c, const tl_name *names, size_t n, int64_t *out, tl_error *err);
void tl_pg__free_table(tl_table *t);
/* pg_route.c */
int tl_pg__project(const tl_table *src, const char *schema, const char *name, const size_t *cols,
		   const char *const *names, size_t n, tl_table **out, tl_error *err);
int tl_pg__server_id(tl_conn *c, char **out, tl_error *err);
const char *tl_pg__value_type(const tl_table *t, size_t col);
int tl_pg__count_rows(tl_conn *c, const tl_table *t, int64_t *out, tl_error *err);
int tl_pg__check_target(tl_conn *target, const tl_table *src, int *is_empty, tl_error *err);

int tl_pg__open_reader(tl_conn *c, const tl_table *t, const tl_read_spec *spec, tl_reader **out, tl_error *err);
int tl_pg__read_batch(tl_reader *r, tl_batch *b, tl_error *err);
void tl_pg__close_reader(tl_reader *r);
int tl_pg__row_key(const tl_table *t, const tl_batch *b, size_t row, const size_t *idx, size_t n, tl_keyvals *out,
		   tl_error *err);
int tl_pg__next_bound(tl_conn *c, const tl_table *t, const char *after, size_t step, char **hi_out, tl_error *err);
int tl_pg__part_minmax(tl_conn *c, const tl_table *t, char **min_out, char **max_out, tl_error *err);
int tl_pg__checksum(tl_conn *c, const tl_table *t, const char *lo, const char *hi, int64_t *rows, uint64_t *sum,
		    tl_error *err);

int tl_pg__write_batch(tl_conn *target, const tl_table *src, const tl_batch *b, unsigned flags, tl_error *err);
int tl_pg__durability_warning(tl_conn *target, char **out, tl_error *err);
int tl_pg__delete_after(tl_conn *target, const tl_table *src, const char *after, int nulls, tl_error *err);

int tl_pg__key_exists(tl_conn *c, const tl_table *src, const tl_keyvals *key, int *exists, tl_error *err);
int tl_pg__claim(tl_conn *c, const tl_table *src, const char *owner, tl_error *err);
int tl_pg__release(tl_conn *c, const tl_table *src, tl_error *err);
int tl_pg__flush_commits(tl_conn *c, const tl_table *src, tl_error *err);

int tl_pg__ape_store_init(tl_conn *c, const char *schema, const char *table, tl_error *err);
int tl_pg__ape_store_load(tl_conn *c, const char *schema, const char *table, const char *task_id, tl_ape_row_fn fn,
			  void *ctx, tl_error *err);
int tl_pg__ape_store_put(tl_conn *c, const char *schema, const char *table, const char *task_id,
			 const tl_ape_row *row, tl_error *err);
int tl_pg__ape_store_forget(tl_conn *c, const char *schema, const char *table, const char *task_id, tl_error *err);

#endif
