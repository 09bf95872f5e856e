/*
 * driver_call.c - the tl_driver_<verb>() wrappers of include/tideline/driver_call.h: the
 * only code that calls the slots of a struct tl_driver_ops for the engine.
 *
 * Every wrapper does the same four things: assert the call's preconditions, ask the
 * run's fault plan whether this call fails (tests: TL_DEBUG_FAIL, fault.h), call the
 * slot, and log the call when tracing. Why here and not in registry.c: the wrappers are
 * the engine's side of the driver contract and depend on no driver, while registry.c is
 * the one place that names the built-in drivers (docs/architecture.md). The cost per call
 * is two pointer tests when neither hook is set.
 */
#include <assert.h>
#include <string.h>
#include <time.h>
#include "tideline/driver_call.h"
#include "tideline/fault.h"

static const char *const slot_names[TL_SLOT__COUNT] = {
	"connect",        "list_tables",    "describe",      "count_rows",     "open_reader",
	"read_batch",     "row_key",        "next_bound",    "part_minmax",    "check_target",
	"native_form",    "write_batch",    "delete_after",  "ape_store_init", "ape_store_load",
	"ape_store_put",  "ape_store_forget", "checksum",    "describe_many",  "count_many",
	"live_rows_many", "durability_warning", "schema_extract", "schema_probe", "schema_apply",
	"delete_after_key", "key_exists",   "claim",          "release",       "flush_commits",
	"project",        "server_id",      "doc_diff",
};

const char *tl_slot_name(enum tl_slot s)
{
	return (unsigned)s < TL_SLOT__COUNT ? slot_names[s] : "?";
}

int tl_slot_parse(const char *name, size_t n, enum tl_slot *out)
{
	size_t i;

	for (i = 0; i < TL_SLOT__COUNT; i++)
		if (strlen(slot_names[i]) == n && strncmp(slot_names[i], name, n) == 0) {
			*out = (enum tl_slot)i;
			return 0;
		}
	return -1;
}

int tl_driver_bind(tl_driver *out, const tl_registry *reg, const char *db_type, tl_fault *fault, tl_logger *trace,
		   tl_error *err)
{
	int rc;

	out->ops = NULL;
	out->fault = fault;
	out->trace = trace;
	if ((rc = tl_registry_find(reg, db_type, &out->ops, err)))
		return rc;
	return 0;
}

int tl_driver_can_split(const tl_driver *d, const tl_column *col)
{
	return d->ops->next_bound && col && (d->ops->split_kinds & TL_KIND_BIT(col->kind)) != 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Before a call: the start time (when tracing) and an injected failure, if one is due. */
static int enter(const tl_driver *d, enum tl_slot slot, double *t0, tl_error *err)
{
	if (d->trace)
		*t0 = now();
	return d->fault ? tl_fault_before(d->fault, slot, err) : 0;
}

/* After a call (or an injected failure): an ":after" fault, then the trace line. */
static int leave(const tl_driver *d, enum tl_slot slot, const char *schema, const char *name, double t0, int rc,
		 tl_error *err)
{
	if (d->fault)
		rc = tl_fault_after(d->fault, slot, rc, err);
	if (d->trace)
		tl_log(d->trace, TL_LOG_DEBUG, "driver %s: %s%s%s%s%s: %s (%.3f ms)%s%s", d->ops->name, tl_slot_name(slot),
		       schema ? " " : "", schema ? schema : "", name ? "." : "", name ? name : "",
		       rc ? tl_code_name(rc) : "ok", (now() - t0) * 1000.0, rc && err ? ": " : "",
		       rc && err ? err->message : "");
	return rc;
}

static int missing(const tl_driver *d, enum tl_slot slot, tl_error *err)
{
	return tl_error_set(err, TL_ERR_UNSUPPORTED, "the %s driver has no %s", d->ops->name, tl_slot_name(slot));
}

int tl_driver_connect(const tl_driver *d, const tl_endpoint *ep, tl_conn **out, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && d->ops && ep && out);
	*out = NULL;
	if (!(rc = enter(d, TL_SLOT_CONNECT, &t0, err)))
		rc = d->ops->connect(ep, out, err);
	rc = leave(d, TL_SLOT_CONNECT, NULL, NULL, t0, rc, err);
	if (rc && *out) {
		/* an ":after" fault: the connection exists but the caller sees a failure */
		d->ops->disconnect(*out);
		*out = NULL;
	}
	return rc;
}

void tl_driver_disconnect(const tl_driver *d, tl_conn *c)
{
	assert(d && d->ops);
	d->ops->disconnect(c);
}

int tl_driver_list_tables(const tl_driver *d, tl_conn *c, tl_name_list *out, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && c && out);
	if (!(rc = enter(d, TL_SLOT_LIST_TABLES, &t0, err)))
		rc = d->ops->list_tables(c, out, err);
	return leave(d, TL_SLOT_LIST_TABLES, NULL, NULL, t0, rc, err);
}

int tl_driver_describe(const tl_driver *d, tl_conn *c, const char *schema, const char *name, tl_table **out,
		       tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && c && schema && name && out);
	*out = NULL;
	if (!(rc = enter(d, TL_SLOT_DESCRIBE, &t0, err)))
		rc = d->ops->describe(c, schema, name, out, err);
	rc = leave(d, TL_SLOT_DESCRIBE, schema, name, t0, rc, err);
	if (rc && *out) {
		d->ops->free_table(*out);
		*out = NULL;
	}
	/* the engine relies on explicit key columns (driver.h) */
	assert(rc || !*out || (*out)->nkeys == 0 || (*out)->keys);
	return rc;
}

void tl_driver_free_table(const tl_driver *d, tl_table *t)
{
	assert(d && d->ops);
	d->ops->free_table(t);
}

int tl_driver_count_rows(const tl_driver *d, tl_conn *c, const tl_table *t, int64_t *out, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && c && t && out);
	if (!(rc = enter(d, TL_SLOT_COUNT_ROWS, &t0, err)))
		rc = d->ops->count_rows(c, t, out, err);
	return leave(d, TL_SLOT_COUNT_ROWS, t->schema, t->name, t0, rc, err);
}

int tl_driver_open_reader(const tl_driver *d, tl_conn *c, const tl_table *t, const tl_read_spec *spec,
			  tl_reader **out, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && c && t && spec && out && spec->batch_rows > 0);
	assert(spec->mode != TL_READ_KEYED || !spec->after || spec->after->n == t->nkeys);
	assert((spec->mode != TL_READ_KEYED && spec->mode != TL_READ_KEY_NULLS) || t->nkeys > 0);
	assert((spec->mode != TL_READ_RANGE && spec->mode != TL_READ_PART_NULLS) || tl_table_part(t));
	*out = NULL;
	if (!(rc = enter(d, TL_SLOT_OPEN_READER, &t0, err)))
		rc = d->ops->open_reader(c, t, spec, out, err);
	rc = leave(d, TL_SLOT_OPEN_READER, t->schema, t->name, t0, rc, err);
	if (rc && *out) {
		d->ops->close_reader(*out);
		*out = NULL;
	}
	return rc;
}

int tl_driver_read_batch(const tl_driver *d, tl_reader *r, tl_batch *b, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && r && b && b->nrows == 0);
	if (!(rc = enter(d, TL_SLOT_READ_BATCH, &t0, err)))
		rc = d->ops->read_batch(r, b, err);
	return leave(d, TL_SLOT_READ_BATCH, NULL, NULL, t0, rc, err);
}

void tl_driver_close_reader(const tl_driver *d, tl_reader *r)
{
	assert(d && d->ops);
	d->ops->close_reader(r);
}

int tl_driver_row_key(const tl_driver *d, const tl_table *t, const tl_batch *b, size_t row, const size_t *idx,
		      size_t n, tl_keyvals *out, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && t && b && idx && out && n > 0 && row < b->nrows);
	if (!(rc = enter(d, TL_SLOT_ROW_KEY, &t0, err)))
		rc = d->ops->row_key(t, b, row, idx, n, out, err);
	return leave(d, TL_SLOT_ROW_KEY, t->schema, t->name, t0, rc, err);
}

int tl_driver_next_bound(const tl_driver *d, tl_conn *c, const tl_table *t, const char *after, size_t step,
			 char **hi_out, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && c && t && hi_out && step > 0);
	*hi_out = NULL;
	if (!d->ops->next_bound)
		return missing(d, TL_SLOT_NEXT_BOUND, err);
	if (!(rc = enter(d, TL_SLOT_NEXT_BOUND, &t0, err)))
		rc = d->ops->next_bound(c, t, after, step, hi_out, err);
	return leave(d, TL_SLOT_NEXT_BOUND, t->schema, t->name, t0, rc, err);
}

int tl_driver_part_minmax(const tl_driver *d, tl_conn *c, const tl_table *t, char **min_out, char **max_out,
			  tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && c && t && min_out && max_out);
	if (!d->ops->part_minmax)
		return missing(d, TL_SLOT_PART_MINMAX, err);
	if (!(rc = enter(d, TL_SLOT_PART_MINMAX, &t0, err)))
		rc = d->ops->part_minmax(c, t, min_out, max_out, err);
	return leave(d, TL_SLOT_PART_MINMAX, t->schema, t->name, t0, rc, err);
}

int tl_driver_check_target(const tl_driver *d, tl_conn *target, const tl_table *src, int *is_empty, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && target && src && is_empty);
	if (!(rc = enter(d, TL_SLOT_CHECK_TARGET, &t0, err)))
		rc = d->ops->check_target(target, src, is_empty, err);
	return leave(d, TL_SLOT_CHECK_TARGET, src->schema, src->name, t0, rc, err);
}

int tl_driver_native_form(const tl_driver *d, tl_conn *target, const tl_table *src, int *level, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && target && src && level);
	if (!d->ops->native_form)
		return missing(d, TL_SLOT_NATIVE_FORM, err);
	if (!(rc = enter(d, TL_SLOT_NATIVE_FORM, &t0, err)))
		rc = d->ops->native_form(target, src, level, err);
	return leave(d, TL_SLOT_NATIVE_FORM, src->schema, src->name, t0, rc, err);
}

int tl_driver_write_batch(const tl_driver *d, tl_conn *target, const tl_table *src, const tl_batch *b,
			  unsigned flags, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && target && src && b && b->ncols == src->ncols);
	if (!(rc = enter(d, TL_SLOT_WRITE_BATCH, &t0, err)))
		rc = d->ops->write_batch(target, src, b, flags, err);
	return leave(d, TL_SLOT_WRITE_BATCH, src->schema, src->name, t0, rc, err);
}

int tl_driver_delete_after(const tl_driver *d, tl_conn *target, const tl_table *src, const char *after, int nulls,
			   tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && target && src);
	assert(nulls == TL_DELETE_AFTER || nulls == TL_DELETE_PART_NULLS || nulls == TL_DELETE_KEY_NULLS);
	assert(nulls != TL_DELETE_KEY_NULLS || src->nkeys > 0);
	if (!d->ops->delete_after)
		return missing(d, TL_SLOT_DELETE_AFTER, err);
	if (!(rc = enter(d, TL_SLOT_DELETE_AFTER, &t0, err)))
		rc = d->ops->delete_after(target, src, after, nulls, err);
	return leave(d, TL_SLOT_DELETE_AFTER, src->schema, src->name, t0, rc, err);
}

int tl_driver_ape_store_init(const tl_driver *d, tl_conn *c, const char *schema, const char *table, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && c && schema && table);
	if (!d->ops->ape_store_init)
		return missing(d, TL_SLOT_APE_STORE_INIT, err);
	if (!(rc = enter(d, TL_SLOT_APE_STORE_INIT, &t0, err)))
		rc = d->ops->ape_store_init(c, schema, table, err);
	return leave(d, TL_SLOT_APE_STORE_INIT, schema, table, t0, rc, err);
}

int tl_driver_ape_store_load(const tl_driver *d, tl_conn *c, const char *schema, const char *table,
			     const char *task_id, tl_ape_row_fn fn, void *ctx, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && c && schema && table && task_id && fn);
	if (!d->ops->ape_store_load)
		return missing(d, TL_SLOT_APE_STORE_LOAD, err);
	if (!(rc = enter(d, TL_SLOT_APE_STORE_LOAD, &t0, err)))
		rc = d->ops->ape_store_load(c, schema, table, task_id, fn, ctx, err);
	return leave(d, TL_SLOT_APE_STORE_LOAD, schema, table, t0, rc, err);
}

int tl_driver_ape_store_put(const tl_driver *d, tl_conn *c, const char *schema, const char *table,
			    const char *task_id, const tl_ape_row *row, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && c && schema && table && task_id && row);
	if (!d->ops->ape_store_put)
		return missing(d, TL_SLOT_APE_STORE_PUT, err);
	if (!(rc = enter(d, TL_SLOT_APE_STORE_PUT, &t0, err)))
		rc = d->ops->ape_store_put(c, schema, table, task_id, row, err);
	return leave(d, TL_SLOT_APE_STORE_PUT, schema, table, t0, rc, err);
}

int tl_driver_ape_store_forget(const tl_driver *d, tl_conn *c, const char *schema, const char *table,
			       const char *task_id, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && c && schema && table && task_id);
	if (!d->ops->ape_store_forget)
		return missing(d, TL_SLOT_APE_STORE_FORGET, err);
	if (!(rc = enter(d, TL_SLOT_APE_STORE_FORGET, &t0, err)))
		rc = d->ops->ape_store_forget(c, schema, table, task_id, err);
	return leave(d, TL_SLOT_APE_STORE_FORGET, schema, table, t0, rc, err);
}

int tl_driver_checksum(const tl_driver *d, tl_conn *c, const tl_table *t, const char *lo, const char *hi,
		       int64_t *rows, uint64_t *sum, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && c && t && rows && sum);
	if (!d->ops->checksum)
		return missing(d, TL_SLOT_CHECKSUM, err);
	if (!(rc = enter(d, TL_SLOT_CHECKSUM, &t0, err)))
		rc = d->ops->checksum(c, t, lo, hi, rows, sum, err);
	return leave(d, TL_SLOT_CHECKSUM, t->schema, t->name, t0, rc, err);
}

int tl_driver_describe_many(const tl_driver *d, tl_conn *c, const tl_name *names, size_t n, tl_table **out,
			    tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && c && (n == 0 || (names && out)));
	if (!d->ops->describe_many)
		return missing(d, TL_SLOT_DESCRIBE_MANY, err);
	if (!(rc = enter(d, TL_SLOT_DESCRIBE_MANY, &t0, err)))
		rc = d->ops->describe_many(c, names, n, out, err);
	rc = leave(d, TL_SLOT_DESCRIBE_MANY, NULL, NULL, t0, rc, err);
	if (rc) {
		size_t i;
		/* the slot's contract: on failure every out[i] is NULL (also after an ":after" fault) */
		for (i = 0; i < n; i++) {
			d->ops->free_table(out[i]);
			out[i] = NULL;
		}
	}
	return rc;
}

int tl_driver_count_many(const tl_driver *d, tl_conn *c, const tl_table *const *t, size_t n, int64_t *out,
			 tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && c && (n == 0 || (t && out)));
	if (!d->ops->count_many)
		return missing(d, TL_SLOT_COUNT_MANY, err);
	if (!(rc = enter(d, TL_SLOT_COUNT_MANY, &t0, err)))
		rc = d->ops->count_many(c, t, n, out, err);
	return leave(d, TL_SLOT_COUNT_MANY, NULL, NULL, t0, rc, err);
}

int tl_driver_live_rows_many(const tl_driver *d, tl_conn *c, const tl_name *names, size_t n, int64_t *out,
			     tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && c && (n == 0 || (names && out)));
	if (!d->ops->live_rows_many)
		return missing(d, TL_SLOT_LIVE_ROWS_MANY, err);
	if (!(rc = enter(d, TL_SLOT_LIVE_ROWS_MANY, &t0, err)))
		rc = d->ops->live_rows_many(c, names, n, out, err);
	return leave(d, TL_SLOT_LIVE_ROWS_MANY, NULL, NULL, t0, rc, err);
}

int tl_driver_interrupt(const tl_driver *d, tl_conn *c)
{
	assert(d && d->ops && c);
	if (!d->ops->interrupt)
		return TL_ERR_UNSUPPORTED;
	d->ops->interrupt(c);
	return 0;
}

int tl_driver_durability_warning(const tl_driver *d, tl_conn *target, char **out, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && target && out);
	*out = NULL;
	if (!d->ops->durability_warning)
		return missing(d, TL_SLOT_DURABILITY_WARNING, err);
	if (!(rc = enter(d, TL_SLOT_DURABILITY_WARNING, &t0, err)))
		rc = d->ops->durability_warning(target, out, err);
	return leave(d, TL_SLOT_DURABILITY_WARNING, NULL, NULL, t0, rc, err);
}

int tl_driver_schema_extract(const tl_driver *d, tl_conn *src, const tl_name *names, size_t n,
			     const tl_schema_opts *opts, tl_schema_list *out, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && src && (n == 0 || names) && opts && out);
	if (!d->ops->schema_extract)
		return missing(d, TL_SLOT_SCHEMA_EXTRACT, err);
	if (!(rc = enter(d, TL_SLOT_SCHEMA_EXTRACT, &t0, err)))
		rc = d->ops->schema_extract(src, names, n, opts, out, err);
	return leave(d, TL_SLOT_SCHEMA_EXTRACT, NULL, NULL, t0, rc, err);
}

int tl_driver_schema_probe(const tl_driver *d, tl_conn *dst, const tl_schema_step *steps, size_t n,
			   enum tl_schema_state *out, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && dst && (n == 0 || (steps && out)));
	if (!d->ops->schema_probe)
		return missing(d, TL_SLOT_SCHEMA_PROBE, err);
	if (!(rc = enter(d, TL_SLOT_SCHEMA_PROBE, &t0, err)))
		rc = d->ops->schema_probe(dst, steps, n, out, err);
	return leave(d, TL_SLOT_SCHEMA_PROBE, NULL, NULL, t0, rc, err);
}

int tl_driver_schema_apply(const tl_driver *d, tl_conn *dst, const tl_schema_step *step, enum tl_schema_state *before,
			   tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && dst && step);
	if (!d->ops->schema_apply)
		return missing(d, TL_SLOT_SCHEMA_APPLY, err);
	if (!(rc = enter(d, TL_SLOT_SCHEMA_APPLY, &t0, err)))
		rc = d->ops->schema_apply(dst, step, before, err);
	return leave(d, TL_SLOT_SCHEMA_APPLY, NULL, NULL, t0, rc, err);
}

int tl_driver_delete_after_key(const tl_driver *d, tl_conn *target, const tl_table *src, const tl_keyvals *after,
			       tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && target && src && after && after->n == src->nkeys);
	if (!d->ops->delete_after_key)
		return missing(d, TL_SLOT_DELETE_AFTER_KEY, err);
	if (!(rc = enter(d, TL_SLOT_DELETE_AFTER_KEY, &t0, err)))
		rc = d->ops->delete_after_key(target, src, after, err);
	return leave(d, TL_SLOT_DELETE_AFTER_KEY, src->schema, src->name, t0, rc, err);
}

int tl_driver_key_exists(const tl_driver *d, tl_conn *target, const tl_table *src, const tl_keyvals *key, int *exists,
			 tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && target && src && key && key->n > 0 && exists);
	*exists = 0;
	if (!d->ops->key_exists)
		return missing(d, TL_SLOT_KEY_EXISTS, err);
	if (!(rc = enter(d, TL_SLOT_KEY_EXISTS, &t0, err)))
		rc = d->ops->key_exists(target, src, key, exists, err);
	return leave(d, TL_SLOT_KEY_EXISTS, src->schema, src->name, t0, rc, err);
}

int tl_driver_claim(const tl_driver *d, tl_conn *target, const tl_table *src, const char *owner, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && target && src && owner);
	if (!d->ops->claim)
		return missing(d, TL_SLOT_CLAIM, err);
	if (!(rc = enter(d, TL_SLOT_CLAIM, &t0, err)))
		rc = d->ops->claim(target, src, owner, err);
	return leave(d, TL_SLOT_CLAIM, src->schema, src->name, t0, rc, err);
}

int tl_driver_release(const tl_driver *d, tl_conn *target, const tl_table *src, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && target && src);
	if (!d->ops->release)
		return missing(d, TL_SLOT_RELEASE, err);
	if (!(rc = enter(d, TL_SLOT_RELEASE, &t0, err)))
		rc = d->ops->release(target, src, err);
	return leave(d, TL_SLOT_RELEASE, src->schema, src->name, t0, rc, err);
}

int tl_driver_flush_commits(const tl_driver *d, tl_conn *target, const tl_table *src, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && target && src);
	if (!d->ops->flush_commits)
		return missing(d, TL_SLOT_FLUSH_COMMITS, err);
	if (!(rc = enter(d, TL_SLOT_FLUSH_COMMITS, &t0, err)))
		rc = d->ops->flush_commits(target, src, err);
	return leave(d, TL_SLOT_FLUSH_COMMITS, src->schema, src->name, t0, rc, err);
}

int tl_driver_project(const tl_driver *d, const tl_table *src, const char *schema, const char *name,
		      const size_t *cols, const char *const *names, size_t n, tl_table **out, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && src && schema && name && cols && n > 0 && out);
	*out = NULL;
	if (!d->ops->project)
		return missing(d, TL_SLOT_PROJECT, err);
	if (!(rc = enter(d, TL_SLOT_PROJECT, &t0, err)))
		rc = d->ops->project(src, schema, name, cols, names, n, out, err);
	rc = leave(d, TL_SLOT_PROJECT, schema, name, t0, rc, err);
	if (rc && *out) {
		d->ops->free_table(*out);
		*out = NULL;
	}
	return rc;
}

int tl_driver_server_id(const tl_driver *d, tl_conn *c, char **out, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && c && out);
	*out = NULL;
	if (!d->ops->server_id)
		return missing(d, TL_SLOT_SERVER_ID, err);
	if (!(rc = enter(d, TL_SLOT_SERVER_ID, &t0, err)))
		rc = d->ops->server_id(c, out, err);
	return leave(d, TL_SLOT_SERVER_ID, NULL, NULL, t0, rc, err);
}

const char *tl_driver_value_type(const tl_driver *d, const tl_table *t, size_t col)
{
	assert(d && t && col < t->ncols);
	return d->ops->value_type ? d->ops->value_type(t, col) : NULL;
}

int tl_driver_doc_diff(const tl_driver *d, const tl_table *t, const char *a, size_t alen, const char *b, size_t blen,
		       tl_value_diff_fn fn, void *ctx, tl_error *err)
{
	double t0 = 0;
	int rc;

	assert(d && t && a && b && fn);
	if (!d->ops->doc_diff)
		return missing(d, TL_SLOT_DOC_DIFF, err);
	if (!(rc = enter(d, TL_SLOT_DOC_DIFF, &t0, err)))
		rc = d->ops->doc_diff(t, a, alen, b, blen, fn, ctx, err);
	return leave(d, TL_SLOT_DOC_DIFF, t->schema, t->name, t0, rc, err);
}
