/*
 * check.c - a check task ([sinker] sink_type=check, migrate.h): compares every selected
 * table with its (routed) target table and writes ape-dts' check logs; never writes to
 * the target or the store.
 *
 * How a check works:
 *   1. tl_verify_run compares each table as `tideline verify` does (counts and content
 *      checksums, then the differing key ranges), over the projected columns (ignore_cols
 *      left out) and the routed target table.
 *   2. Its per-table hook (on_table) reads the rows of each differing range from both
 *      sides (the whole table when the driver has no checksum, so no range is known; all
 *      source rows when the target table is missing) and feeds them to the row comparer
 *      (rowdiff.c), which matches rows by key text (by content for rows without a usable
 *      key) and reports rows missing on the target, rows only the target has, and rows
 *      whose columns differ.
 *   3. Each report becomes a line of miss.log, extra.log or diff.log (checklog.c, ape-dts'
 *      layout: source names, key values in position text form, differing columns with
 *      their ape-dts value types when these differ; MongoDB documents field by field);
 *      every table counts its source rows as checked, and summary.log closes the logs.
 * Source rows are read under the run's rate limits (max_rps, max_mbps), as a copy reads
 * them; verify's checksums run on the servers and send no rows.
 * With [runtime] check_result_stdout_only the logs are written to a private directory
 * and handed to the caller line by line ("miss_logger", "diff_logger", "extra_logger",
 * "summary_logger"), then removed, as ape-dts prints them instead of writing files.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "migrate/migrate.h"
#include "migrate/rowdiff.h"
#include "tideline/checklog.h"
#include "tideline/ratelimit.h"

#define CHECK_BATCH_ROWS 5000
#define KEY_SEP '\x1f'

/* One check run, shared by the per-table hook. */
struct check {
	const tl_config *cfg;
	tl_logger *log;
	tl_checklog *cl;
	volatile sig_atomic_t *stop;
	tl_migrate_env rates;   /* only its rate limits: the source is read at max_rps as in a run */
};

/* One table being compared. */
struct ctab {
	struct check *ck;
	const tl_verify_hook *h;
	const tl_verify_table *vt;
	int documents;
	const char *target_schema, *target_tb; /* NULL: same as the source */
	size_t nid;             /* id columns: the key, or every column of a keyless table */
	const char **id_cols;   /* their source names */
	size_t *id_idx;         /* their indexes in the read tables */
	tl_rowdiff_pair *pairs; /* every column, source i to target i */
	tl_buf key;             /* scratch for key texts */
};

static int stopping(const struct check *ck, tl_error *err)
{
	if (ck->stop && *ck->stop)
		return tl_error_set(err, TL_ERR_INTERRUPTED, "check stopped by a signal");
	return 0;
}

/* The id values of a row (position text form) into kv; cols index t's columns. */
static int id_values(const struct ctab *ct, int target, const tl_batch *b, size_t row, tl_keyvals *kv,
		     tl_error *err)
{
	const tl_table *t = target ? ct->h->wtable : ct->h->rtable;

	tl_keyvals_clear(kv);
	if (ct->documents) /* the _id, read from the document */
		return tl_driver_row_key(ct->h->drv, t, b, row, t->key_idx, t->nkeys, kv, err);
	return tl_driver_row_key(ct->h->drv, t, b, row, ct->id_idx, ct->nid, kv, err);
}

/* Key texts of every row of b for rowdiff (NULL: no usable key, matched by content). */
static int key_texts(struct ctab *ct, int target, const tl_batch *b, char **keys, tl_error *err)
{
	const tl_table *t = target ? ct->h->wtable : ct->h->rtable;
	tl_keyvals kv = {0, NULL, NULL};
	size_t r, i;
	int rc = 0;

	for (r = 0; r < b->nrows && !rc; r++) {
		int usable = t->nkeys > 0;
		keys[r] = NULL;
		if (!usable)
			continue;
		tl_keyvals_clear(&kv);
		if ((rc = tl_driver_row_key(ct->h->drv, t, b, r, t->key_idx, t->nkeys, &kv, err)))
			break;
		tl_buf_reset(&ct->key);
		for (i = 0; i < kv.n && usable && !rc; i++) {
			if (!kv.vals[i]) {
				usable = 0;
				break;
			}
			if (i)
				rc = tl_buf_putc(&ct->key, KEY_SEP, err);
			if (!rc)
				rc = tl_buf_puts(&ct->key, kv.vals[i], err);
		}
		if (!rc && usable && !(keys[r] = tl_strdup(tl_buf_cstr(&ct->key))))
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
	tl_keyvals_clear(&kv);
	return rc;
}

/* A check-log line's common part: names and id values. */
static void row_head(const struct ctab *ct, const tl_keyvals *kv, tl_checklog_row *row)
{
	memset(row, 0, sizeof(*row));
	row->schema = ct->vt->schema;
	row->tb = ct->vt->tb;
	row->target_schema = ct->target_schema;
	row->target_tb = ct->target_tb;
	row->nkeys = kv->n;
	row->key_cols = ct->documents ? (const char *const *)kv->cols : ct->id_cols;
	row->key_vals = (const char *const *)kv->vals;
}

/* Collected diffs of one row (their strings owned here). */
struct diffs {
	size_t n, cap;
	tl_checklog_diff *v;
	char **owned;
	size_t nowned;
};

static void diffs_clear(struct diffs *d)
{
	size_t i;

	for (i = 0; i < d->nowned; i++)
		free(d->owned[i]);
	free(d->owned);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* Keeps a copy of s (NULL stays NULL); *out lent from d. */
static int keep(struct diffs *d, const char *s, const char **out, tl_error *err)
{
	char **no;

	*out = NULL;
	if (!s)
		return 0;
	no = realloc(d->owned, (d->nowned + 1) * sizeof(*no));
	if (!no)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	d->owned = no;
	if (!(no[d->nowned] = tl_strdup(s)))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	*out = no[d->nowned++];
	return 0;
}

static int diffs_add(struct diffs *d, const char *col, const char *src, const char *dst, const char *st,
		     const char *dt, tl_error *err)
{
	tl_checklog_diff *x;
	int rc;

	if (d->n == d->cap) {
		size_t ncap = d->cap ? 2 * d->cap : 8;
		tl_checklog_diff *nv = realloc(d->v, ncap * sizeof(*nv));
		if (!nv)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		d->v = nv;
		d->cap = ncap;
	}
	x = &d->v[d->n];
	memset(x, 0, sizeof(*x));
	if ((rc = keep(d, col, &x->col, err)) || (rc = keep(d, src, &x->src, err)) || (rc = keep(d, dst, &x->dst, err)))
		return rc;
	x->src_type = st; /* static strings */
	x->dst_type = dt;
	d->n++;
	return 0;
}

static int on_field(void *ctx, const tl_value_diff *f, tl_error *err)
{
	return diffs_add(ctx, f->field, f->src, f->dst, f->src_type, f->dst_type, err);
}

/* The differing columns of a matched pair of rows, in ape-dts' form. */
static int row_diffs(struct ctab *ct, const tl_rowdiff_event *ev, struct diffs *d, tl_error *err)
{
	const tl_verify_hook *h = ct->h;
	tl_keyvals a = {0, NULL, NULL}, b = {0, NULL, NULL};
	size_t i;
	int rc = 0;

	if (ct->documents) {
		size_t al, bl;
		const char *x = tl_batch_cell(ev->src, ev->src_row, 0, &al);
		const char *y = tl_batch_cell(ev->dst, ev->dst_row, 0, &bl);
		return tl_driver_doc_diff(h->drv, h->rtable, x ? x : "", x ? al : 0, y ? y : "", y ? bl : 0, on_field, d,
					  err);
	}
	for (i = 0; i < ev->ndiff && !rc; i++) {
		size_t col = ct->pairs[ev->diff[i]].src_col;
		const char *st = NULL, *dt = NULL;

		tl_keyvals_clear(&a);
		tl_keyvals_clear(&b);
		if ((rc = tl_driver_row_key(h->drv, h->rtable, ev->src, ev->src_row, &col, 1, &a, err)) ||
		    (rc = tl_driver_row_key(h->drv, h->wtable, ev->dst, ev->dst_row, &col, 1, &b, err)))
			break;
		/* ape-dts names the value types when they differ (a NULL is "None") */
		st = a.vals[0] ? tl_driver_value_type(h->drv, h->rtable, col) : "None";
		dt = b.vals[0] ? tl_driver_value_type(h->drv, h->wtable, col) : "None";
		if (!st || !dt || strcmp(st, dt) == 0)
			st = dt = NULL;
		rc = diffs_add(d, h->rtable->cols[col].name, a.vals[0], b.vals[0], st, dt, err);
	}
	tl_keyvals_clear(&a);
	tl_keyvals_clear(&b);
	return rc;
}

/* rowdiff's report of one row: a check-log line. */
static int on_event(void *ctx, const tl_rowdiff_event *ev, tl_error *err)
{
	struct ctab *ct = ctx;
	tl_keyvals kv = {0, NULL, NULL};
	tl_checklog_row row;
	struct diffs d;
	int rc;

	memset(&d, 0, sizeof(d));
	if (ev->kind == TL_ROWDIFF_EXTRA)
		rc = id_values(ct, 1, ev->dst, ev->dst_row, &kv, err);
	else
		rc = id_values(ct, 0, ev->src, ev->src_row, &kv, err);
	if (rc)
		goto cleanup;
	row_head(ct, &kv, &row);
	if (ev->kind == TL_ROWDIFF_DIFFERS) {
		if ((rc = row_diffs(ct, ev, &d, err)))
			goto cleanup;
		if (d.n == 0)
			goto cleanup; /* documents equal field by field (e.g. only the order differs) */
		row.ndiff = d.n;
		row.diffs = d.v;
	}
	rc = tl_checklog_add(ct->ck->cl,
			     ev->kind == TL_ROWDIFF_MISSING   ? TL_CHECKLOG_MISS
			     : ev->kind == TL_ROWDIFF_EXTRA ? TL_CHECKLOG_EXTRA
							    : TL_CHECKLOG_DIFF,
			     &row, err);
cleanup:
	diffs_clear(&d);
	tl_keyvals_clear(&kv);
	return rc;
}

/* One side's reader of a comparison. */
struct side {
	tl_reader *r;
	tl_batch b;
	int done;
};

/* One batch of one side; source reads wait for the run's rate limit (max_rps, max_mbps). */
static int read_side(struct ctab *ct, struct side *s, size_t want, int target, tl_error *err)
{
	const tl_migrate_env *rt = &ct->ck->rates;
	int rc;

	tl_batch_reset(&s->b);
	if (!target && (rc = tl_rate_acquire(rt->rate_rows, want, ct->ck->stop, err)))
		return rc;
	rc = tl_driver_read_batch(ct->h->drv, s->r, &s->b, err);
	if (!target && rt->rate_rows && s->b.nrows < want)
		tl_rate_refund(rt->rate_rows, want - s->b.nrows);
	if (!rc && !target && s->b.nrows)
		rc = tl_rate_acquire(rt->rate_bytes, s->b.data.len, ct->ck->stop, err);
	if (rc && rc != TL_ERR_INTERRUPTED)
		tl_error_prefix(err, "%s", target ? "target" : "source");
	return rc;
}

/* Reads the next batch of one side into the comparer. */
static int feed(struct ctab *ct, tl_rowdiff *rd, struct side *s, size_t want, int target, tl_error *err)
{
	char **keys = NULL;
	size_t i;
	int rc;

	if ((rc = read_side(ct, s, want, target, err)))
		return rc;
	if (s->b.nrows == 0) {
		s->done = 1;
		return 0;
	}
	if (!(keys = calloc(s->b.nrows, sizeof(*keys))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	if (!(rc = key_texts(ct, target, &s->b, keys, err)))
		rc = tl_rowdiff_add(rd, target ? TL_ROWDIFF_TARGET : TL_ROWDIFF_SOURCE, &s->b, (const char *const *)keys,
				    err);
	for (i = 0; i < s->b.nrows; i++)
		free(keys[i]);
	free(keys);
	return rc;
}

/* Compares the rows spec selects on both sides (target_too = 0: the target table is missing). */
static int compare(struct ctab *ct, const tl_read_spec *spec, int target_too, tl_error *err)
{
	const tl_verify_hook *h = ct->h;
	tl_rowdiff_opts o = TL_ROWDIFF_OPTS_INIT;
	tl_rowdiff *rd = NULL;
	struct side s, d;
	int rc;

	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	d.done = !target_too;
	tl_batch_init(&s.b, h->rtable->ncols, 8u << 20);
	tl_batch_init(&d.b, h->wtable->ncols, 8u << 20);
	o.npairs = h->rtable->ncols;
	o.pairs = ct->pairs;
	o.on_event = on_event;
	o.ctx = ct;
	if ((rc = tl_rowdiff_new(&rd, &o, err)))
		goto cleanup;
	if ((rc = tl_driver_open_reader(h->drv, h->src, h->rtable, spec, &s.r, err))) {
		tl_error_prefix(err, "source");
		goto cleanup;
	}
	if (target_too && (rc = tl_driver_open_reader(h->drv, h->dst, h->wtable, spec, &d.r, err))) {
		tl_error_prefix(err, "target");
		goto cleanup;
	}
	/* no target table: every source row is missing, reported as read (nothing held) */
	while (!rc && !target_too && !s.done) {
		size_t r;
		if ((rc = stopping(ct->ck, err)) || (rc = read_side(ct, &s, spec->batch_rows, 0, err)))
			break;
		s.done = s.b.nrows == 0;
		for (r = 0; r < s.b.nrows && !rc; r++) {
			tl_rowdiff_event ev;
			memset(&ev, 0, sizeof(ev));
			ev.kind = TL_ROWDIFF_MISSING;
			ev.src = &s.b;
			ev.src_row = r;
			rc = on_event(ct, &ev, err);
		}
	}
	/* both sides in step: only rows that differ wait for their partner */
	while (!rc && (!s.done || !d.done)) {
		if ((rc = stopping(ct->ck, err)))
			break;
		if (!s.done)
			rc = feed(ct, rd, &s, spec->batch_rows, 0, err);
		if (!rc && !d.done)
			rc = feed(ct, rd, &d, spec->batch_rows, 1, err);
	}
	if (!rc)
		rc = tl_rowdiff_finish(rd, err);
cleanup:
	tl_driver_close_reader(h->drv, s.r);
	tl_driver_close_reader(h->drv, d.r);
	tl_rowdiff_free(rd);
	tl_batch_release(&s.b);
	tl_batch_release(&d.b);
	return rc;
}

static int key_nullable(const tl_table *t)
{
	size_t i;

	for (i = 0; i < t->nkeys; i++)
		if (t->keys[i]->nullable)
			return 1;
	return 0;
}

/* Rows per read: no more than the rate limit lets go at once. */
static size_t batch_rows(const struct ctab *ct)
{
	const tl_migrate_env *rt = &ct->ck->rates;

	return rt->rate_rows && rt->rate_burst < CHECK_BATCH_ROWS ? (size_t)rt->rate_burst : CHECK_BATCH_ROWS;
}

/* The whole table: keyed pages (and the NULL-key pass), or a scan of a keyless table. */
static int compare_all(struct ctab *ct, int target_too, tl_error *err)
{
	const tl_table *t = ct->h->rtable;
	tl_read_spec spec;
	int rc;

	memset(&spec, 0, sizeof(spec));
	spec.batch_rows = batch_rows(ct);
	spec.mode = t->nkeys ? TL_READ_KEYED : TL_READ_SCAN;
	if ((rc = compare(ct, &spec, target_too, err)) || ct->documents || !key_nullable(t))
		return rc;
	spec.mode = TL_READ_KEY_NULLS;
	return compare(ct, &spec, target_too, err);
}

/* The differing ranges verify found. */
static int compare_ranges(struct ctab *ct, tl_error *err)
{
	const tl_verify_table *vt = ct->vt;
	tl_read_spec spec;
	size_t i;
	int rc = 0;

	for (i = 0; i < vt->nranges && !rc; i++) {
		const tl_verify_range *r = &vt->ranges[i];
		memset(&spec, 0, sizeof(spec));
		spec.batch_rows = batch_rows(ct);
		spec.mode = r->nulls ? TL_READ_PART_NULLS : TL_READ_RANGE;
		spec.lo = r->nulls ? NULL : r->lo;
		spec.hi = r->nulls ? NULL : r->hi;
		rc = compare(ct, &spec, 1, err);
	}
	return rc;
}

static int ctab_init(struct ctab *ct, struct check *ck, const tl_verify_hook *h, const tl_verify_table *vt,
		     tl_error *err)
{
	const tl_table *t = h->rtable;
	size_t i;

	memset(ct, 0, sizeof(*ct));
	ct->ck = ck;
	ct->h = h;
	ct->vt = vt;
	ct->documents = (h->drv->ops->caps & TL_CAP_DOCUMENTS) != 0;
	if (strcmp(vt->dst_schema, vt->schema) != 0 || strcmp(vt->dst_tb, vt->tb) != 0) {
		ct->target_schema = vt->dst_schema;
		ct->target_tb = vt->dst_tb;
	}
	/* ape-dts identifies a row by its key, or by every column when the table has none */
	ct->nid = t->nkeys ? t->nkeys : t->ncols;
	ct->id_cols = calloc(ct->nid ? ct->nid : 1, sizeof(*ct->id_cols));
	ct->id_idx = calloc(ct->nid ? ct->nid : 1, sizeof(*ct->id_idx));
	ct->pairs = calloc(t->ncols ? t->ncols : 1, sizeof(*ct->pairs));
	if (!ct->id_cols || !ct->id_idx || !ct->pairs)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	for (i = 0; i < ct->nid; i++) {
		ct->id_idx[i] = t->nkeys ? t->key_idx[i] : i;
		ct->id_cols[i] = t->nkeys ? t->keys[i]->name : t->cols[i].name;
	}
	for (i = 0; i < t->ncols; i++)
		ct->pairs[i].src_col = ct->pairs[i].dst_col = i;
	return 0;
}

static void ctab_release(struct ctab *ct)
{
	free(ct->id_cols);
	free(ct->id_idx);
	free(ct->pairs);
	tl_buf_release(&ct->key);
}

/* verify's hook: the rows of one table, then its count. */
static int on_table(void *ctx, const tl_verify_hook *h, tl_verify_table *vt, tl_error *err)
{
	struct check *ck = ctx;
	struct ctab ct;
	int rc;

	if ((rc = stopping(ck, err)))
		return rc;
	if ((rc = ctab_init(&ct, ck, h, vt, err)))
		goto cleanup;
	if (vt->state == TL_VERIFY_NO_TARGET && !vt->target_missing) {
		rc = tl_error_set(err, TL_ERR_MISMATCH,
				  "%s; map the target's columns with [router] col_map or leave source columns out with "
				  "[filter] ignore_cols",
				  vt->note ? vt->note : "the target table does not match");
		goto cleanup;
	}
	if (vt->state == TL_VERIFY_NO_TARGET)
		rc = compare_all(&ct, 0, err); /* every source row is missing */
	else if (!vt->checksummed)
		rc = compare_all(&ct, 1, err); /* counts say nothing about content */
	else if (vt->state == TL_VERIFY_DIFFERS && (vt->src_rows != vt->dst_rows || vt->content_differs))
		rc = vt->nranges ? compare_ranges(&ct, err) : compare_all(&ct, 1, err);
	if (!rc)
		rc = tl_checklog_count(ck->cl, vt->schema, vt->tb, ct.target_schema, ct.target_tb,
				       vt->src_rows > 0 ? (uint64_t)vt->src_rows : 0, 0, err);
	if (!rc)
		tl_log(ck->log, TL_LOG_INFO, "check: %s.%s: %lld source rows, %lld target rows, %s", vt->schema, vt->tb,
		       (long long)vt->src_rows, (long long)vt->dst_rows, tl_verify_state_name(vt->state));
cleanup:
	ctab_release(&ct);
	if (rc && rc != TL_ERR_INTERRUPTED)
		tl_error_prefix(err, "check of %s.%s", vt->schema, vt->tb);
	return rc;
}

/* check_result_stdout_only: the logs of dir, line by line, to the caller; then removed. */
static int hand_over(const char *dir, tl_check_line_fn fn, void *ctx, tl_error *err)
{
	static const char *const files[4][2] = {{"miss.log", "miss_logger"},
						 {"diff.log", "diff_logger"},
						 {"extra.log", "extra_logger"},
						 {"summary.log", "summary_logger"}};
	char path[4200], line[65536];
	size_t i;
	int rc = 0;

	for (i = 0; i < 4; i++) {
		FILE *f;
		snprintf(path, sizeof(path), "%s/%s", dir, files[i][0]);
		if (!(f = fopen(path, "r")))
			continue; /* empty logs are removed */
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			fn(ctx, files[i][1], line);
		}
		if (ferror(f))
			rc = tl_error_set(err, TL_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
		fclose(f);
		unlink(path);
	}
	rmdir(dir);
	return rc;
}

int tl_migrate_check(const tl_config *cfg, const tl_migrate_opts *opts, tl_check_line_fn out_line, void *line_ctx,
		     tl_verify_report *rep, int *consistent, tl_error *err)
{
	tl_checklog_opts co = TL_CHECKLOG_OPTS_INIT;
	tl_verify_opts vo;
	struct check ck;
	char tmp[] = "/tmp/tideline-check-XXXXXX", path[4200];
	int rc;

	memset(rep, 0, sizeof(*rep));
	memset(&ck, 0, sizeof(ck));
	*consistent = 0;
	ck.cfg = cfg;
	ck.log = opts->log;
	ck.stop = opts->stop;
	if ((rc = tl_migrate__mkdir_p(cfg->log_dir, err)))
		return rc;
	snprintf(path, sizeof(path), "%s/default.log", cfg->log_dir);
	if (opts->log && (rc = tl_logger_open_file(opts->log, path, err)))
		return rc;
	if (cfg->check_result_stdout_only && out_line) {
		if (!mkdtemp(tmp))
			return tl_error_set(err, TL_ERR_IO, "cannot create a temporary directory: %s", strerror(errno));
		co.dir = tmp;
	} else {
		if ((rc = tl_migrate__mkdir_p(cfg->check_log_dir, err)))
			return rc;
		co.dir = cfg->check_log_dir;
	}
	co.style = cfg->check_log_legacy ? TL_CHECKLOG_V25 : TL_CHECKLOG_CURRENT;
	co.max_rows = cfg->check_log_max_rows;
	co.max_bytes = cfg->check_log_max_bytes;
	tl_log(ck.log, TL_LOG_NOTICE, "check task '%s': comparing source and target, nothing is written; logs in %s",
	       cfg->task_id, co.dir == tmp ? "stdout" : co.dir);
	ck.rates.cfg = cfg;
	ck.rates.log = opts->log;
	if ((rc = tl_migrate_env_rates(&ck.rates, err)) || (rc = tl_checklog_open(&ck.cl, &co, err)))
		goto cleanup;
	memset(&vo, 0, sizeof(vo));
	vo.log = opts->log;
	vo.registry = opts->registry;
	vo.fault = opts->fault;
	vo.store_path = opts->store_path;
	vo.on_table = on_table;
	vo.on_table_ctx = &ck;
	if ((rc = tl_verify_run(cfg, &vo, rep, err))) {
		tl_checklog_abandon(ck.cl);
		ck.cl = NULL;
		goto cleanup;
	}
	*consistent = tl_checklog_consistent(ck.cl);
	rc = tl_checklog_close(ck.cl, err);
	ck.cl = NULL;
	if (!rc && co.dir == tmp)
		rc = hand_over(tmp, out_line, line_ctx, err);
	if (!rc)
		tl_log(ck.log, TL_LOG_NOTICE, "check: %s", *consistent ? "consistent" : "inconsistent");
cleanup:
	if (rc && co.dir == tmp) {
		/* a failed check to stdout leaves nothing behind */
		const char *const names[4] = {"miss.log", "diff.log", "extra.log", "summary.log"};
		size_t i;
		for (i = 0; i < 4; i++) {
			snprintf(path, sizeof(path), "%s/%s", tmp, names[i]);
			unlink(path);
		}
		rmdir(tmp);
	}
	tl_migrate_env_release(&ck.rates);
	if (rc)
		tl_verify_report_clear(rep);
	return rc;
}
