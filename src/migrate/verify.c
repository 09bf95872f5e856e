/*
 * verify.c - compares source and target table by table (`tideline verify`, migrate.h).
 *
 * How a verify works:
 *   1. The tables are listed on the source and filtered exactly as a run selects them.
 *   2. For each table the target is checked (exists, same columns), then the driver's
 *      checksum slot gives row count and content checksum of the whole table on each
 *      server. Equal on both sides: "ok". A driver without the slot: row counts only.
 *   3. A differing table is narrowed down over its partition column: up to N ranges
 *      (lo, hi] whose bounds come from next_bound on the side with more rows (or, for a
 *      driver without next_bound whose key is the partition column, e.g. Mongo's _id,
 *      from reading the keys in order), each checksummed on both sides. A differing
 *      range in which both sides have rows is split again the same way, up to `depth`
 *      levels; ranges missing entirely on one side are reported as they are (adjacent
 *      ones merged). The first and last ranges are open-ended, so rows present only on
 *      the target, beyond the source's values, are covered too. Rows whose partition
 *      column is NULL are what the whole-table count has beyond the ranges' counts.
 *   4. A table the store records as finished whose target now has fewer rows than were
 *      counted when it finished is reported too (docs/tideline.md §5).
 * Nothing is written to the servers or the store (the store is opened read-only).
 * Ranges assume the data does not change during the verify.
 */
#include <stdlib.h>
#include <string.h>
#include "migrate/migrate.h"

#define DEFAULT_RANGES 16
#define DEFAULT_DEPTH 3
#define DEFAULT_MAX_RANGES 256
#define READ_BATCH_ROWS 10000

/* Everything one verify works with; passed down instead of globals. */
struct vctx {
	const tl_config *cfg;
	tl_driver drv;   /* the one kind on both sides */
	const struct tl_driver_ops *ops; /* drv.ops, for capability questions */
	tl_conn *src, *dst;
	tl_store *store; /* NULL: no finished-table check */
	tl_logger *log;
	size_t nranges;  /* ranges per split level (>= 2) */
	unsigned depth;  /* split levels */
	size_t max_ranges;
};

/* One table as each side sees it: read from the source as `s`, from the target as `d`
 * (the target's names and columns under [router], the same columns in the same order). */
struct vtab {
	const tl_table *s, *d;
};

/* Count and checksum of one side of a range. */
struct sums {
	int64_t rows;
	uint64_t sum;
};

const char *tl_verify_state_name(enum tl_verify_state s)
{
	return s == TL_VERIFY_OK ? "ok" : s == TL_VERIFY_NO_TARGET ? "target mismatch" : "differs";
}

static void table_clear(tl_verify_table *vt)
{
	size_t i;

	free(vt->schema);
	free(vt->tb);
	free(vt->dst_schema);
	free(vt->dst_tb);
	free(vt->part_col);
	free(vt->note);
	for (i = 0; i < vt->nranges; i++) {
		free(vt->ranges[i].lo);
		free(vt->ranges[i].hi);
	}
	free(vt->ranges);
	memset(vt, 0, sizeof(*vt));
}

void tl_verify_report_clear(tl_verify_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++)
		table_clear(&r->tables[i]);
	free(r->tables);
	free(r->store_note);
	memset(r, 0, sizeof(*r));
}

static int nomem(tl_error *err)
{
	return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
}

static int same(const struct vctx *v, const struct sums *s, const struct sums *d)
{
	return s->rows == d->rows && (!v->ops->checksum || s->sum == d->sum);
}

/* Checksum of (lo, hi] on one side; the error says which side. */
static int sum_range(const struct vctx *v, const struct vtab *t, int target, const char *lo, const char *hi,
		     struct sums *out, tl_error *err)
{
	int rc = tl_driver_checksum(&v->drv, target ? v->dst : v->src, target ? t->d : t->s, lo, hi, &out->rows,
				    &out->sum, err);

	if (rc)
		tl_error_prefix(err, "%s", target ? "target" : "source");
	return rc;
}

/*
 * next_bound for drivers without the slot whose key is the partition column (documents
 * ordered by _id): reads keys in order after `after` and returns the step-th one (or the
 * last one when fewer remain; NULL when none remain).
 */
static int bound_by_reading(const struct vctx *v, tl_conn *c, const tl_table *t, const char *after, size_t step,
			    char **out, tl_error *err)
{
	const char *col = tl_table_part(t)->name;
	tl_keyvals from = {0, NULL, NULL}, key = {0, NULL, NULL};
	tl_read_spec spec;
	tl_reader *r = NULL;
	tl_batch b;
	size_t seen = 0;
	char *last = NULL;
	int rc;

	*out = NULL;
	tl_batch_init(&b, t->ncols, 8u << 20);
	memset(&spec, 0, sizeof(spec));
	spec.mode = TL_READ_KEYED;
	spec.batch_rows = step < READ_BATCH_ROWS ? step : READ_BATCH_ROWS;
	if (after) {
		if ((rc = tl_keyvals_set(&from, 1, &col, &after, err)))
			goto cleanup;
		spec.after = &from;
	}
	if ((rc = tl_driver_open_reader(&v->drv, c, t, &spec, &r, err)))
		goto cleanup;
	for (;;) {
		size_t row;

		tl_batch_reset(&b);
		if ((rc = tl_driver_read_batch(&v->drv, r, &b, err)))
			goto cleanup;
		if (b.nrows == 0)
			break;
		row = seen + b.nrows >= step ? step - seen - 1 : b.nrows - 1;
		if ((rc = tl_driver_row_key(&v->drv, t, &b, row, &t->part_idx, 1, &key, err)))
			goto cleanup;
		free(last);
		last = key.n == 1 && key.vals[0] ? tl_strdup(key.vals[0]) : NULL;
		if (!last) {
			rc = tl_error_set(err, TL_ERR_INTERNAL, "table %s.%s: no key value for a split bound", t->schema,
					  t->name);
			goto cleanup;
		}
		seen += b.nrows;
		if (seen >= step)
			break;
	}
	*out = last;
	last = NULL;
cleanup:
	free(last);
	tl_driver_close_reader(&v->drv, r);
	tl_batch_release(&b);
	tl_keyvals_clear(&from);
	tl_keyvals_clear(&key);
	return rc;
}

static int next_bound(const struct vctx *v, int target, const struct vtab *vt, const char *after, size_t step,
		      char **out, tl_error *err)
{
	tl_conn *c = target ? v->dst : v->src;
	const tl_table *t = target ? vt->d : vt->s;
	int rc = v->ops->next_bound ? tl_driver_next_bound(&v->drv, c, t, after, step, out, err)
				    : bound_by_reading(v, c, t, after, step, out, err);

	if (rc)
		tl_error_prefix(err, "%s", target ? "target" : "source");
	return rc;
}

/* Appends a differing range, merging it into the previous one when both miss all their rows on the same side. */
static int add_range(tl_verify_table *vt, const char *lo, const char *hi, int nulls, const struct sums *s,
		     const struct sums *d, tl_error *err)
{
	tl_verify_range *last = vt->nranges ? &vt->ranges[vt->nranges - 1] : NULL, *nr;
	int differs = s->sum != d->sum;

	if (last && !nulls && !last->nulls && last->hi && lo && strcmp(last->hi, lo) == 0 &&
	    ((last->dst_rows == 0 && d->rows == 0) || (last->src_rows == 0 && s->rows == 0))) {
		char *h = hi ? tl_strdup(hi) : NULL;
		if (hi && !h)
			return nomem(err);
		free(last->hi);
		last->hi = h;
		last->src_rows += s->rows;
		last->dst_rows += d->rows;
		last->content_differs |= differs;
		return 0;
	}
	nr = realloc(vt->ranges, (vt->nranges + 1) * sizeof(*nr));
	if (!nr)
		return nomem(err);
	vt->ranges = nr;
	nr = &vt->ranges[vt->nranges];
	memset(nr, 0, sizeof(*nr));
	nr->nulls = nulls;
	nr->lo = lo ? tl_strdup(lo) : NULL;
	nr->hi = hi ? tl_strdup(hi) : NULL;
	if ((lo && !nr->lo) || (hi && !nr->hi)) {
		free(nr->lo);
		free(nr->hi);
		return nomem(err);
	}
	nr->src_rows = s->rows;
	nr->dst_rows = d->rows;
	nr->content_differs = differs;
	vt->nranges++;
	return 0;
}

static int split_range(const struct vctx *v, const struct vtab *t, tl_verify_table *vt, const char *lo, const char *hi,
		       const struct sums *s, const struct sums *d, unsigned level, int *found, tl_error *err);

/* A range that differs: narrowed further when useful and allowed, else reported. */
static int differing(const struct vctx *v, const struct vtab *t, tl_verify_table *vt, const char *lo, const char *hi,
		     const struct sums *s, const struct sums *d, unsigned level, tl_error *err)
{
	int found = 0, rc;

	/* A range one side lacks entirely is as narrow as it gets. */
	if (s->rows > 0 && d->rows > 0 && (s->rows > 1 || d->rows > 1) && level < v->depth) {
		if (vt->nranges >= v->max_ranges) {
			vt->ranges_coarse = 1;
		} else {
			if ((rc = split_range(v, t, vt, lo, hi, s, d, level + 1, &found, err)))
				return rc;
			if (found)
				return 0;
		}
	}
	return add_range(vt, lo, hi, 0, s, d, err);
}

/* Checksums (lo, hi] on both sides; reports or narrows it when it differs. */
static int compare_range(const struct vctx *v, const struct vtab *t, tl_verify_table *vt, const char *lo,
			 const char *hi, unsigned level, struct sums *s, struct sums *d, int *found, tl_error *err)
{
	int rc;

	if ((rc = sum_range(v, t, 0, lo, hi, s, err)) || (rc = sum_range(v, t, 1, lo, hi, d, err)))
		return rc;
	if (same(v, s, d))
		return 0;
	*found = 1;
	return differing(v, t, vt, lo, hi, s, d, level, err);
}

/*
 * Splits a differing (lo, hi] (s, d: its sums) into up to nranges parts. Bounds come from
 * the side with more rows there (source on a tie): while fewer than c rows lie before a
 * bound on that side, the next bound `step` rows on is still inside the range, so the
 * parts cover exactly (lo, hi]. *found: some part differs.
 */
static int split_range(const struct vctx *v, const struct vtab *t, tl_verify_table *vt, const char *lo, const char *hi,
		       const struct sums *s, const struct sums *d, unsigned level, int *found, tl_error *err)
{
	int target = d->rows > s->rows;
	int64_t c = target ? d->rows : s->rows, cum = 0;
	size_t step = (size_t)(c / (int64_t)v->nranges + (c % (int64_t)v->nranges != 0)), i;
	char *prev = NULL, *b = NULL;
	struct sums ps, pd;
	int rc = 0;

	*found = 0;
	if (step == 0)
		step = 1;
	if (lo && !(prev = tl_strdup(lo)))
		return nomem(err);
	for (i = 0; i + 1 < v->nranges && cum + (int64_t)step < c; i++) {
		if ((rc = next_bound(v, target, t, prev, step, &b, err)))
			goto cleanup;
		if (!b || (hi && strcmp(b, hi) == 0))
			break;
		if ((rc = compare_range(v, t, vt, prev, b, level, &ps, &pd, found, err)))
			goto cleanup;
		cum += target ? pd.rows : ps.rows;
		free(prev);
		prev = b;
		b = NULL;
	}
	rc = compare_range(v, t, vt, prev, hi, level, &ps, &pd, found, err);
cleanup:
	free(prev);
	free(b);
	return rc;
}

/*
 * Narrows a table whose whole-table sums differ. The top level takes its bounds over the
 * whole table (from the side with more rows, else the other), first and last range
 * open-ended; NULL-partition rows are the remainder.
 */
static int locate(const struct vctx *v, const struct vtab *t, tl_verify_table *vt, const struct sums *ts,
		  const struct sums *td, tl_error *err)
{
	int target = td->rows > ts->rows, found = 0, side, rc = 0;
	char **bounds = NULL;
	size_t nb = 0, i, step;
	int64_t c, cov_s = 0, cov_d = 0;
	struct sums ps, pd;

	bounds = calloc(v->nranges, sizeof(*bounds));
	if (!bounds)
		return nomem(err);
	for (side = 0; side < 2 && nb == 0; side++) {
		int tg = side ? !target : target;
		c = tg ? td->rows : ts->rows;
		if (c == 0)
			continue;
		step = (size_t)(c / (int64_t)v->nranges + (c % (int64_t)v->nranges != 0));
		for (nb = 0; nb + 1 < v->nranges; nb++) {
			if ((rc = next_bound(v, tg, t, nb ? bounds[nb - 1] : NULL, step, &bounds[nb], err)))
				goto cleanup;
			if (!bounds[nb])
				break;
		}
	}
	if (nb > 0) {
		for (i = 0; i <= nb; i++) {
			const char *lo = i ? bounds[i - 1] : NULL, *hi = i < nb ? bounds[i] : NULL;
			if ((rc = compare_range(v, t, vt, lo, hi, 1, &ps, &pd, &found, err)))
				goto cleanup;
			cov_s += ps.rows;
			cov_d += pd.rows;
		}
	}
	/* NULL partition values: what the ranges do not count (all rows when no bound exists). */
	ps.rows = ts->rows - cov_s;
	pd.rows = td->rows - cov_d;
	ps.sum = pd.sum = 0;
	if (ps.rows != pd.rows) {
		rc = add_range(vt, NULL, NULL, 1, &ps, &pd, err);
	} else if (!found && ps.rows > 0) {
		/* every non-NULL range matches, so the NULL rows hold the difference */
		pd.sum = 1;
		rc = add_range(vt, NULL, NULL, 1, &ps, &pd, err);
	}
cleanup:
	for (i = 0; i < v->nranges; i++)
		free(bounds[i]);
	free(bounds);
	return rc;
}

static int set_note(tl_verify_table *vt, tl_error *err, const char *fmt, const char *a, const char *b)
{
	tl_buf buf = TL_BUF_INIT;
	int rc = tl_buf_printf(&buf, err, fmt, a ? a : "", b ? b : "");

	if (rc) {
		tl_buf_release(&buf);
		return rc;
	}
	free(vt->note);
	vt->note = tl_buf_detach(&buf);
	return vt->note ? 0 : nomem(err);
}

/* Finished in the store, and the target now holds fewer rows than counted at finish? */
static int finished_check(const struct vctx *v, tl_verify_table *vt, tl_error *err)
{
	tl_store_hit hit;
	tl_store_table st;
	int rc;

	if (!v->store)
		return 0;
	memset(&hit, 0, sizeof(hit));
	if ((rc = tl_store_lookup(v->store, v->cfg->task_id, vt->schema, vt->tb, 0, &hit, err)))
		return rc;
	if (hit.state == TL_RESUME_FINISHED &&
	    tl_store_get_table(v->store, v->cfg->task_id, vt->schema, vt->tb, &st, NULL) == 0 &&
	    st.target_rows_at_finish >= 0) {
		vt->rows_at_finish = st.target_rows_at_finish;
		vt->lost_since_finish = vt->dst_rows >= 0 && vt->dst_rows < vt->rows_at_finish;
	}
	tl_store_hit_clear(&hit);
	return 0;
}

/*
 * Can a difference in t be narrowed to key ranges? Sets *can; when not, the table's note
 * says why.
 */
static int check_splittable(const struct vctx *v, const tl_table *t, tl_verify_table *vt, int *can, tl_error *err)
{
	*can = 0;
	if (!v->ops->checksum)
		return set_note(vt, err, "the %s connector has no checksum: row counts only, no key ranges",
				v->ops->name, NULL);
	if (t->ncols == 0)
		return set_note(vt, err, "%s", "the table has no columns", NULL);
	if (v->ops->next_bound && !tl_driver_can_split(&v->drv, tl_table_part(t)))
		return set_note(vt, err, "partition column %s (%s) cannot be split into key ranges",
				tl_table_part(t)->name, tl_table_part(t)->type);
	/* without next_bound: keys read in order (documents by _id) */
	if (!v->ops->next_bound && !(t->nkeys == 1 && t->key_idx[0] == t->part_idx))
		return set_note(vt, err, "the %s connector cannot split this table into key ranges", v->ops->name,
				NULL);
	*can = 1;
	return 0;
}

static int verify_one(const struct vctx *v, tl_verify_table *vt, const tl_verify_opts *opts, tl_error *err)
{
	tl_table *t = NULL, *rt = NULL, *wt = NULL;
	tl_error terr = TL_ERROR_INIT;
	struct sums s = {0, 0}, d = {0, 0};
	struct vtab pair;
	int empty = 0, can = 0, rc;

	vt->src_rows = vt->dst_rows = vt->rows_at_finish = -1;
	vt->checksummed = v->ops->checksum != NULL;
	if ((rc = tl_driver_describe(&v->drv, v->src, vt->schema, vt->tb, &t, err)))
		goto cleanup;
	/* [router] / ignore_cols: the source's columns read, the target's table and names */
	if ((rc = tl_migrate_project(v->cfg, &v->drv, t, &rt, &wt, err)))
		goto cleanup;
	pair.s = rt;
	pair.d = wt;
	rc = tl_driver_check_target(&v->drv, v->dst, wt, &empty, &terr);
	if (rc == TL_ERR_NOTFOUND || rc == TL_ERR_MISMATCH) {
		vt->state = TL_VERIFY_NO_TARGET;
		vt->target_missing = rc == TL_ERR_NOTFOUND;
		if ((rc = set_note(vt, err, "%s", terr.message, NULL)))
			goto cleanup;
		if ((rc = tl_driver_count_rows(&v->drv, v->src, rt, &vt->src_rows, err)))
			tl_error_prefix(err, "source");
		goto hook;
	}
	if (rc) {
		if (err)
			*err = terr;
		tl_error_prefix(err, "target");
		goto cleanup;
	}
	if (v->ops->checksum) {
		if ((rc = sum_range(v, &pair, 0, NULL, NULL, &s, err)) || (rc = sum_range(v, &pair, 1, NULL, NULL, &d, err)))
			goto cleanup;
	} else {
		if ((rc = tl_driver_count_rows(&v->drv, v->src, rt, &s.rows, err))) {
			tl_error_prefix(err, "source");
			goto cleanup;
		}
		if ((rc = tl_driver_count_rows(&v->drv, v->dst, wt, &d.rows, err))) {
			tl_error_prefix(err, "target");
			goto cleanup;
		}
	}
	vt->src_rows = s.rows;
	vt->dst_rows = d.rows;
	if ((rc = finished_check(v, vt, err)))
		goto cleanup;
	vt->state = vt->lost_since_finish ? TL_VERIFY_DIFFERS : TL_VERIFY_OK;
	if (same(v, &s, &d)) {
		if (!v->ops->checksum)
			rc = set_note(vt, err, "the %s connector has no checksum: row counts only", v->ops->name, NULL);
		goto hook;
	}
	vt->state = TL_VERIFY_DIFFERS;
	vt->content_differs = s.sum != d.sum;
	if ((rc = check_splittable(v, rt, vt, &can, err)))
		goto cleanup;
	if (can) {
		if (!(vt->part_col = tl_strdup(tl_table_part(rt)->name))) {
			rc = nomem(err);
			goto cleanup;
		}
		if ((rc = locate(v, &pair, vt, &s, &d, err)))
			goto cleanup;
	}
hook:
	if (!rc && opts->on_table) {
		tl_verify_hook h;
		h.drv = &v->drv;
		h.src = v->src;
		h.dst = v->dst;
		h.table = t;
		h.rtable = rt;
		h.wtable = wt;
		rc = opts->on_table(opts->on_table_ctx, &h, vt, err);
	}
cleanup:
	if (t)
		tl_migrate_unproject(&v->drv, t, &rt, &wt);
	tl_driver_free_table(&v->drv, t);
	return rc;
}

/* Opens the store read-only for the finished check; a store that cannot be read only loses that check. */
static int open_store(const tl_config *cfg, const tl_verify_opts *opts, tl_store **out, tl_verify_report *rep,
		      tl_error *err)
{
	const char *path = opts->store_path ? opts->store_path : cfg->store_path;
	tl_error serr = TL_ERROR_INIT;
	tl_buf buf = TL_BUF_INIT;
	int rc;

	*out = NULL;
	if (!path || !*path)
		return 0;
	rc = tl_store_open(out, path, TL_STORE_READONLY, &serr);
	if (!rc)
		return 0;
	if ((rc = tl_buf_printf(&buf, err, "finished tables not checked against the store: %s", serr.message))) {
		tl_buf_release(&buf);
		return rc;
	}
	rep->store_note = tl_buf_detach(&buf);
	return rep->store_note ? 0 : nomem(err);
}

int tl_verify_run(const tl_config *cfg, const tl_verify_opts *opts, tl_verify_report *out, tl_error *err)
{
	struct vctx v;
	tl_name_list names = {0, NULL};
	tl_driver dst = TL_DRIVER_INIT;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&v, 0, sizeof(v));
	v.cfg = cfg;
	v.log = opts->log;
	v.nranges = opts->ranges ? opts->ranges : DEFAULT_RANGES;
	v.depth = opts->depth ? opts->depth : DEFAULT_DEPTH;
	v.max_ranges = opts->max_ranges ? opts->max_ranges : DEFAULT_MAX_RANGES;
	if (v.nranges < 2) {
		rc = tl_error_set(err, TL_ERR_USAGE, "--ranges must be at least 2");
		goto cleanup;
	}
	if ((rc = tl_driver_bind(&v.drv, opts->registry, cfg->src_db_type, opts->fault, NULL, err)) ||
	    (rc = tl_driver_bind(&dst, opts->registry, cfg->dst_db_type, opts->fault, NULL, err)))
		goto cleanup;
	v.ops = v.drv.ops;
	if (v.ops != dst.ops) {
		rc = tl_error_set(err, TL_ERR_UNSUPPORTED,
				  "verify compares servers of the same kind (source '%s', target '%s')", v.ops->name,
				  dst.ops->name);
		goto cleanup;
	}
	{
		tl_endpoint se = tl_config_source(cfg);
		tl_endpoint de = tl_config_target(cfg);
		if ((rc = tl_driver_connect(&v.drv, &se, &v.src, err))) {
			tl_error_prefix(err, "source");
			goto cleanup;
		}
		if ((rc = tl_driver_connect(&v.drv, &de, &v.dst, err))) {
			tl_error_prefix(err, "target");
			goto cleanup;
		}
	}
	if ((rc = open_store(cfg, opts, &v.store, out, err)))
		goto cleanup;
	/* the tables a run selects ([filter], [router] checked), never one both read and written */
	if ((rc = tl_migrate_select(cfg, &v.drv, v.src, &names, err)) ||
	    (rc = tl_migrate_same_server(cfg, &v.drv, v.src, &dst, v.dst, names.items, names.n, err)))
		goto cleanup;
	out->tables = calloc(names.n ? names.n : 1, sizeof(*out->tables));
	if (!out->tables) {
		rc = nomem(err);
		goto cleanup;
	}
	for (i = 0; i < names.n; i++) {
		tl_verify_table *vt = &out->tables[out->n++];
		const char *ds, *dt;
		tl_route_table(cfg->route, names.items[i].schema, names.items[i].name, &ds, &dt);
		vt->schema = tl_strdup(names.items[i].schema);
		vt->tb = tl_strdup(names.items[i].name);
		vt->dst_schema = tl_strdup(ds);
		vt->dst_tb = tl_strdup(dt);
		if (!vt->schema || !vt->tb || !vt->dst_schema || !vt->dst_tb) {
			rc = nomem(err);
			goto cleanup;
		}
		if ((rc = verify_one(&v, vt, opts, err))) {
			tl_error_prefix(err, "table %s.%s", vt->schema, vt->tb);
			goto cleanup;
		}
		if (vt->state != TL_VERIFY_OK)
			out->ndiffer++;
		tl_log(v.log, TL_LOG_INFO, "verify: %s.%s: source %lld rows, target %lld rows, %s (%zu ranges)",
		       vt->schema, vt->tb, (long long)vt->src_rows, (long long)vt->dst_rows,
		       tl_verify_state_name(vt->state), vt->nranges);
	}
cleanup:
	tl_name_list_clear(&names);
	tl_store_close(v.store);
	if (v.drv.ops) {
		tl_driver_disconnect(&v.drv, v.dst);
		tl_driver_disconnect(&v.drv, v.src);
	}
	if (rc)
		tl_verify_report_clear(out);
	return rc;
}
