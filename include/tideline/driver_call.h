/*
 * driver_call.h - how the engine calls a driver: tl_driver_<verb>() wrappers around the
 * slots of struct tl_driver_ops (driver.h), as SQLite's os.c wraps each VFS method.
 *
 * The engine (src/migrate/, src/cli/) never calls `ops->slot(` itself. A tl_driver binds
 * a driver table, found and checked once by the registry (registry.h), to the hooks of
 * one run: the fault plan (fault.h: injected failures for tests) and an optional trace
 * logger. Each wrapper asserts the call's preconditions (programmer errors: compiled out
 * with NDEBUG), asks the fault plan whether this call is to fail, calls the slot, and
 * traces the call at debug level when a trace logger is set. Wrappers of Optional slots
 * return TL_ERR_UNSUPPORTED when the driver has no such slot; callers that can do without
 * one test `d->ops->slot != NULL` first (a capability question, not a call).
 *
 * Errors, ownership and threads are exactly the slot's (driver.h); a tl_driver is
 * immutable and may be shared by all threads of a run.
 */
#ifndef TL_DRIVER_CALL_H
#define TL_DRIVER_CALL_H

#include "tideline/driver.h"
#include "tideline/log.h"
#include "tideline/registry.h"

typedef struct tl_fault tl_fault;

typedef struct tl_driver {
	const struct tl_driver_ops *ops; /* found and checked by tl_registry_find */
	tl_fault *fault;                 /* injected failures (fault.h), NULL = none */
	tl_logger *trace;                /* every call logged at debug level, NULL = not traced */
} tl_driver;

#define TL_DRIVER_INIT {NULL, NULL, NULL}

/* The slots a fault plan can name (their names are the struct tl_driver_ops fields). */
enum tl_slot {
	TL_SLOT_CONNECT = 0,
	TL_SLOT_LIST_TABLES,
	TL_SLOT_DESCRIBE,
	TL_SLOT_COUNT_ROWS,
	TL_SLOT_OPEN_READER,
	TL_SLOT_READ_BATCH,
	TL_SLOT_ROW_KEY,
	TL_SLOT_NEXT_BOUND,
	TL_SLOT_PART_MINMAX,
	TL_SLOT_CHECK_TARGET,
	TL_SLOT_NATIVE_FORM,
	TL_SLOT_WRITE_BATCH,
	TL_SLOT_DELETE_AFTER,
	TL_SLOT_APE_STORE_INIT,
	TL_SLOT_APE_STORE_LOAD,
	TL_SLOT_APE_STORE_PUT,
	TL_SLOT_APE_STORE_FORGET,
	TL_SLOT_CHECKSUM,
	TL_SLOT_DESCRIBE_MANY,
	TL_SLOT_COUNT_MANY,
	TL_SLOT_LIVE_ROWS_MANY,
	TL_SLOT_DURABILITY_WARNING,
	TL_SLOT_SCHEMA_EXTRACT,
	TL_SLOT_SCHEMA_PROBE,
	TL_SLOT_SCHEMA_APPLY,
	TL_SLOT_DELETE_AFTER_KEY,
	TL_SLOT_KEY_EXISTS,
	TL_SLOT_CLAIM,
	TL_SLOT_RELEASE,
	TL_SLOT_FLUSH_COMMITS,
	TL_SLOT_PROJECT,
	TL_SLOT_SERVER_ID,
	TL_SLOT_DOC_DIFF,
	TL_SLOT__COUNT
};

/* "write_batch" for TL_SLOT_WRITE_BATCH. */
const char *tl_slot_name(enum tl_slot s);
/* Parses a slot name of n bytes; -1 when unknown. */
int tl_slot_parse(const char *name, size_t n, enum tl_slot *out);

/*
 * Finds db_type in reg (NULL = the built-ins) and binds it with the run's hooks (both
 * may be NULL). Errors as tl_registry_find.
 */
int tl_driver_bind(tl_driver *out, const tl_registry *reg, const char *db_type, tl_fault *fault,
		   tl_logger *trace, tl_error *err) TL_MUST_CHECK;

/* Can d cut a table into ranges on column col (next_bound exists and covers its kind)? */
int tl_driver_can_split(const tl_driver *d, const tl_column *col);

/* The wrappers: same arguments, results and errors as the slots of struct tl_driver_ops. */
int tl_driver_connect(const tl_driver *d, const tl_endpoint *ep, tl_conn **out, tl_error *err) TL_MUST_CHECK;
void tl_driver_disconnect(const tl_driver *d, tl_conn *c);
int tl_driver_list_tables(const tl_driver *d, tl_conn *c, tl_name_list *out, tl_error *err) TL_MUST_CHECK;
int tl_driver_describe(const tl_driver *d, tl_conn *c, const char *schema, const char *name, tl_table **out,
		       tl_error *err) TL_MUST_CHECK;
void tl_driver_free_table(const tl_driver *d, tl_table *t);
int tl_driver_count_rows(const tl_driver *d, tl_conn *c, const tl_table *t, int64_t *out, tl_error *err) TL_MUST_CHECK;
int tl_driver_open_reader(const tl_driver *d, tl_conn *c, const tl_table *t, const tl_read_spec *spec,
			  tl_reader **out, tl_error *err) TL_MUST_CHECK;
int tl_driver_read_batch(const tl_driver *d, tl_reader *r, tl_batch *b, tl_error *err) TL_MUST_CHECK;
void tl_driver_close_reader(const tl_driver *d, tl_reader *r);
int tl_driver_row_key(const tl_driver *d, const tl_table *t, const tl_batch *b, size_t row, const size_t *idx,
		      size_t n, tl_keyvals *out, tl_error *err) TL_MUST_CHECK;
int tl_driver_next_bound(const tl_driver *d, tl_conn *c, const tl_table *t, const char *after, size_t step,
			 char **hi_out, tl_error *err) TL_MUST_CHECK;
int tl_driver_part_minmax(const tl_driver *d, tl_conn *c, const tl_table *t, char **min_out, char **max_out,
			  tl_error *err) TL_MUST_CHECK;
int tl_driver_check_target(const tl_driver *d, tl_conn *target, const tl_table *src, int *is_empty,
			   tl_error *err) TL_MUST_CHECK;
int tl_driver_native_form(const tl_driver *d, tl_conn *target, const tl_table *src, int *level,
			  tl_error *err) TL_MUST_CHECK;
int tl_driver_write_batch(const tl_driver *d, tl_conn *target, const tl_table *src, const tl_batch *b,
			  unsigned flags, tl_error *err) TL_MUST_CHECK;
int tl_driver_delete_after(const tl_driver *d, tl_conn *target, const tl_table *src, const char *after, int nulls,
			   tl_error *err) TL_MUST_CHECK;
int tl_driver_ape_store_init(const tl_driver *d, tl_conn *c, const char *schema, const char *table,
			     tl_error *err) TL_MUST_CHECK;
int tl_driver_ape_store_load(const tl_driver *d, tl_conn *c, const char *schema, const char *table,
			     const char *task_id, tl_ape_row_fn fn, void *ctx, tl_error *err) TL_MUST_CHECK;
int tl_driver_ape_store_put(const tl_driver *d, tl_conn *c, const char *schema, const char *table,
			    const char *task_id, const tl_ape_row *row, tl_error *err) TL_MUST_CHECK;
int tl_driver_ape_store_forget(const tl_driver *d, tl_conn *c, const char *schema, const char *table,
			       const char *task_id, tl_error *err) TL_MUST_CHECK;
int tl_driver_checksum(const tl_driver *d, tl_conn *c, const tl_table *t, const char *lo, const char *hi,
		       int64_t *rows, uint64_t *sum, tl_error *err) TL_MUST_CHECK;
int tl_driver_describe_many(const tl_driver *d, tl_conn *c, const tl_name *names, size_t n, tl_table **out,
			    tl_error *err) TL_MUST_CHECK;
int tl_driver_count_many(const tl_driver *d, tl_conn *c, const tl_table *const *t, size_t n, int64_t *out,
			 tl_error *err) TL_MUST_CHECK;
int tl_driver_live_rows_many(const tl_driver *d, tl_conn *c, const tl_name *names, size_t n, int64_t *out,
			     tl_error *err) TL_MUST_CHECK;
/* The interrupt slot (thread-safe, see driver.h); TL_ERR_UNSUPPORTED when the driver has none. */
int tl_driver_interrupt(const tl_driver *d, tl_conn *c);
int tl_driver_durability_warning(const tl_driver *d, tl_conn *target, char **out, tl_error *err) TL_MUST_CHECK;
int tl_driver_schema_extract(const tl_driver *d, tl_conn *src, const tl_name *names, size_t n,
			     const tl_schema_opts *opts, tl_schema_list *out, tl_error *err) TL_MUST_CHECK;
int tl_driver_schema_probe(const tl_driver *d, tl_conn *dst, const tl_schema_step *steps, size_t n,
			   enum tl_schema_state *out, tl_error *err) TL_MUST_CHECK;
int tl_driver_schema_apply(const tl_driver *d, tl_conn *dst, const tl_schema_step *step,
			   enum tl_schema_state *before, tl_error *err) TL_MUST_CHECK;
int tl_driver_delete_after_key(const tl_driver *d, tl_conn *target, const tl_table *src, const tl_keyvals *after,
			       tl_error *err) TL_MUST_CHECK;
int tl_driver_key_exists(const tl_driver *d, tl_conn *target, const tl_table *src, const tl_keyvals *key, int *exists,
			 tl_error *err) TL_MUST_CHECK;
int tl_driver_claim(const tl_driver *d, tl_conn *target, const tl_table *src, const char *owner,
		    tl_error *err) TL_MUST_CHECK;
int tl_driver_release(const tl_driver *d, tl_conn *target, const tl_table *src, tl_error *err) TL_MUST_CHECK;
int tl_driver_flush_commits(const tl_driver *d, tl_conn *target, const tl_table *src, tl_error *err) TL_MUST_CHECK;
int tl_driver_project(const tl_driver *d, const tl_table *src, const char *schema, const char *name,
		      const size_t *cols, const char *const *names, size_t n, tl_table **out, tl_error *err) TL_MUST_CHECK;
int tl_driver_server_id(const tl_driver *d, tl_conn *c, char **out, tl_error *err) TL_MUST_CHECK;
/* NULL when the driver has no value_type slot or does not know the column. */
const char *tl_driver_value_type(const tl_driver *d, const tl_table *t, size_t col);
int tl_driver_doc_diff(const tl_driver *d, const tl_table *t, const char *a, size_t alen, const char *b, size_t blen,
		       tl_value_diff_fn fn, void *ctx, tl_error *err) TL_MUST_CHECK;

#endif
