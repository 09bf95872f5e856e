/*
 * plan.c - decides, for every selected table, what a run does (migrate.h step 2).
 *
 * Key and mode choice follow docs/ape-dts-resume.md §3.3-§3.4: a table with a key is
 * read in batch mode (keyed pages) unless parallel_type=chunk or [extractor]
 * partition_cols names a split column for it; a keyless table is split on its first
 * column. Split mode falls back to batch mode (or a full scan without a key) when the
 * partition column cannot be split (the driver's split_kinds) or the table has no more
 * rows than one batch. Positions are validated like ape-dts (§3.4) with tideline's rule
 * for the old order_col form (docs/tideline.md §5): honoured only for a one-column key
 * of that name. Every record that is not used gets a reason, so `plan` can say why.
 *
 * Over many tables (100,000 in about a second is the goal) nothing is asked per table:
 * the store is read once into a snapshot, tables are described a chunk at a time (the
 * driver's describe_batch, else TL_PLAN_CHUNK) with the driver's describe_many (describe
 * one by one without it), and the lost-rows check of finished tables counts their targets
 * with count_many. Tables are still finished one by one in list order, so the log reads
 * the same as a table-by-table plan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "migrate/migrate.h"
#include "tideline/filter.h"

const char *tl_plan_action_name(enum tl_action a)
{
	return a == TL_ACT_SKIP ? "skip" : a == TL_ACT_RESUME ? "resume" : "start";
}

const char *tl_plan_mode_name(enum tl_mode m)
{
	return m == TL_MODE_SPLIT ? "split" : m == TL_MODE_SCAN ? "scan" : "batch";
}

void tl_plan_clear(tl_plan *p, const tl_driver *src)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++) {
		tl_plan_item *it = &p->items[i];
		free(it->schema);
		free(it->tb);
		if (it->table && src && src->ops) {
			tl_migrate_unproject(src, it->table, &it->rtable, &it->wtable);
			tl_driver_free_table(src, it->table);
		}
		tl_keyvals_clear(&it->after);
		free(it->split_after);
		free(it->reason);
		free(it->ignored);
		free(it->origin);
		free(it->warning);
	}
	free(p->items);
	free(p->durability_warning);
	p->items = NULL;
	p->durability_warning = NULL;
	p->n = 0;
}

static char *fmt(const char *f, const char *a, const char *b, const char *c)
{
	tl_buf buf = TL_BUF_INIT;

	if (tl_buf_printf(&buf, NULL, f, a ? a : "", b ? b : "", c ? c : "") != 0) {
		tl_buf_release(&buf);
		return NULL;
	}
	return tl_buf_detach(&buf);
}

static char *origin_text(const tl_store_hit *lk)
{
	char line[32];

	if (!lk->source)
		return tl_strdup("store");
	if (lk->line > 0) {
		snprintf(line, sizeof(line), "%ld", lk->line);
		return fmt("%s line %s%s", lk->source, line, NULL);
	}
	return tl_strdup(lk->source);
}

/* Checks a position against the table's key for batch mode; NULL reason = usable. */
static const char *check_batch(const tl_table *t, const tl_position *p, int documents)
{
	size_t i;

	if (p->form == TL_KEY_ABSENT || p->nkeys == 0)
		return "the record has no key";
	if (documents) {
		if (p->form == TL_KEY_COMPOSITE || p->nkeys != 1)
			return "a collection resumes only from a single _id value";
		if (!p->keys[0].val)
			return "the _id value is null";
		return NULL;
	}
	if (t->nkeys == 0)
		return "the table has no primary or unique key";
	if (p->form == TL_KEY_ORDER_COL) {
		if (t->nkeys != 1)
			return "old order_col form on a table whose key has several columns";
		if (strcmp(p->keys[0].col, t->keys[0]->name) != 0)
			return "order_col does not name the table's key column";
		return NULL;
	}
	if (p->nkeys != t->nkeys)
		return "key arity mismatch (position and table key have different column counts)";
	for (i = 0; i < p->nkeys; i++)
		if (strcmp(p->keys[i].col, t->keys[i]->name) != 0)
			return "key column mismatch (position names other columns than the table key)";
	return NULL;
}

static const char *check_split(const tl_table *t, const tl_position *p)
{
	const char *part = tl_table_part(t)->name;

	if (p->form == TL_KEY_ABSENT || p->nkeys == 0)
		return "the record has no key";
	if (p->nkeys != 1)
		return "a split table resumes only from a single partition-column value";
	if (strcmp(p->keys[0].col, part) != 0)
		return "the position names another column than the partition column";
	if (p->form == TL_KEY_ORDER_COL && (t->nkeys != 1 || strcmp(t->keys[0]->name, part) != 0))
		return "old order_col form is honoured only for a one-column primary/unique key";
	if (!p->keys[0].val)
		return "the value is null";
	return NULL;
}

/*
 * [extractor] partition_cols names the split column of this table: it becomes the
 * partition column and the table is split (as ape-dts does, whatever parallel_type).
 * *forced = 1 when there is such an entry. A column the table does not have is an error
 * naming the task file's line.
 */
static int user_partition(const tl_config *cfg, tl_plan_item *it, int *forced, tl_error *err)
{
	const tl_table_rule *rule = tl_table_rules_find(&cfg->partition_cols, it->schema, it->tb);
	size_t idx;

	*forced = 0;
	if (!rule)
		return 0;
	idx = tl_table_col_index(it->table, rule->value);
	if (idx == TL_NO_COL)
		return tl_error_set(err, TL_ERR_CONFIG, "%s:%ld: [extractor] partition_cols: table %s.%s has no column %s",
				    cfg->path, rule->line, it->schema, it->tb, rule->value);
	it->table->part_idx = idx;
	*forced = 1;
	return 0;
}

static int choose_mode(const tl_migrate_env *env, tl_conn *src, tl_plan_item *it, tl_error *err)
{
	const tl_config *cfg = env->cfg;
	const tl_table *t = it->table;
	int64_t rows = t->est_rows;
	int forced = 0, rc;

	if (env->src.ops->caps & TL_CAP_DOCUMENTS) {
		it->mode = TL_MODE_BATCH;
		return 0;
	}
	if ((rc = user_partition(cfg, it, &forced, err)))
		return rc;
	if (t->nkeys > 0 && cfg->parallel_type != TL_PAR_CHUNK && !forced) {
		it->mode = TL_MODE_BATCH;
		return 0;
	}
	it->mode = t->nkeys > 0 ? TL_MODE_BATCH : TL_MODE_SCAN;
	if (!tl_driver_can_split(&env->src, tl_table_part(t))) {
		tl_log(env->log, TL_LOG_INFO, "table %s.%s: partition column %s cannot be split, using %s mode", t->schema,
		       t->name, tl_table_part(t)->name, tl_plan_mode_name(it->mode));
		return 0;
	}
	/* Estimates of small tables are unreliable (the fixtures rely on them): count exactly. */
	if (rows < 0 || rows < (int64_t)cfg->extract_batch_size * 100) {
		if ((rc = tl_driver_count_rows(&env->src, src, t, &rows, err)))
			return rc;
	}
	it->est_rows = rows;
	if (rows <= (int64_t)cfg->extract_batch_size) {
		tl_log(env->log, TL_LOG_INFO, "table %s.%s: %lld rows fit one batch, not split", t->schema, t->name,
		       (long long)rows);
		return 0;
	}
	it->mode = TL_MODE_SPLIT;
	return 0;
}

/*
 * Tables planned together: one snapshot lookup each, then one describe_many call for the
 * ones not finished. Bounds the size of one catalog answer (and of the scratch below).
 * A driver may ask for another size (describe_batch).
 */
#define TL_PLAN_CHUNK 2000

static size_t chunk_of(const struct tl_driver_ops *ops)
{
	return ops->describe_batch ? ops->describe_batch : TL_PLAN_CHUNK;
}

/* Per-chunk working arrays, allocated once per plan. */
struct plan_scratch {
	tl_store_hit *hits; /* lookup of each item of the chunk */
	size_t *want;       /* items to describe */
	tl_name *names;     /* their names (borrowed from the items) */
	tl_table **tables;  /* describe_many's answer */
};

static int scratch_init(struct plan_scratch *sc, size_t n, tl_error *err)
{
	size_t i;

	if (n == 0)
		n = 1;
	sc->hits = calloc(n, sizeof(*sc->hits));
	sc->want = calloc(n, sizeof(*sc->want));
	sc->names = calloc(n, sizeof(*sc->names));
	sc->tables = calloc(n, sizeof(*sc->tables));
	if (!sc->hits || !sc->want || !sc->names || !sc->tables)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++)
		tl_pos_init(&sc->hits[i].pos);
	return 0;
}

static void scratch_release(struct plan_scratch *sc)
{
	free(sc->hits);
	free(sc->want);
	free(sc->names);
	free(sc->tables);
}

/*
 * A table whose store record says finished: skipped, with the record's origin and the
 * statistics of the run that finished it. `lk` is the lookup with checkpoint_only = 0.
 */
static int plan_skip(const tl_store_snapshot *snap, tl_logger *log, tl_plan_item *it, const tl_store_hit *lk,
		     tl_error *err)
{
	tl_store_table st;

	it->action = TL_ACT_SKIP;
	it->origin = origin_text(lk);
	it->reason = fmt("finished (%s)", it->origin, NULL, NULL);
	tl_log(log, TL_LOG_INFO, "resumer, check finished: schema: %s, tb: %s, result: true", it->schema, it->tb);
	if (tl_store_snapshot_table(snap, it->schema, it->tb, &st, NULL) == 0) {
		it->rows_done = st.rows_copied;
		it->target_rows_at_finish = st.target_rows_at_finish;
	}
	if (!it->origin || !it->reason)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	return 0;
}

/*
 * Where plan_described finds a table's record: the store snapshot of a plan, or the store
 * itself through the recorder when a retry plans one table again (tl_plan_refresh_item).
 * Fills *out (released by the caller) and *rows_done (-1 when unknown).
 */
typedef int (*record_fn)(void *ctx, const char *schema, const char *tb, int checkpoint_only, tl_store_hit *out,
			 int64_t *rows_done, tl_error *err);

static int snapshot_record(void *ctx, const char *schema, const char *tb, int checkpoint_only, tl_store_hit *out,
			   int64_t *rows_done, tl_error *err)
{
	const tl_store_snapshot *snap = ctx;
	tl_store_table st;

	if (tl_store_snapshot_table(snap, schema, tb, &st, NULL) == 0)
		*rows_done = st.rows_copied;
	return tl_store_snapshot_lookup(snap, schema, tb, checkpoint_only, out, err);
}

/* A table that is not finished, once described (it->table set): mode, then the position. */
static int plan_described(const tl_migrate_env *env, tl_conn *src, record_fn record, void *record_ctx,
			  tl_plan_item *it, tl_error *err)
{
	tl_logger *log = env->log;
	tl_store_hit lk;
	const char *why = NULL;
	int documents = (env->src.ops->caps & TL_CAP_DOCUMENTS) != 0;
	int rc;

	it->est_rows = it->table->est_rows;
	if ((rc = choose_mode(env, src, it, err)))
		return rc;
	/* [router] / ignore_cols: what is read and what is written (the partition column is chosen) */
	if ((rc = tl_migrate_project(env->cfg, &env->src, it->table, &it->rtable, &it->wtable, err)))
		return rc;
	memset(&lk, 0, sizeof(lk));
	tl_pos_init(&lk.pos);
	if ((rc = record(record_ctx, it->schema, it->tb, it->mode == TL_MODE_SPLIT, &lk, &it->rows_done, err)))
		return rc;
	it->action = TL_ACT_START;
	if (lk.state == TL_RESUME_POSITION) {
		const tl_position *p = &lk.pos;
		char *origin = origin_text(&lk);

		if (it->mode == TL_MODE_SCAN)
			why = "the table has no key and is not split, so it is copied in full";
		else if (it->mode == TL_MODE_SPLIT)
			why = check_split(it->table, p);
		else
			why = check_batch(it->table, p, documents);
		if (why) {
			it->ignored = fmt("record from %s ignored: %s", origin, why, NULL);
			tl_log(log, TL_LOG_INFO, "resumer, position of %s.%s ignored: %s", it->schema, it->tb, it->ignored);
			free(origin);
		} else {
			const char *col = p->keys[0].col;
			const char *val = p->keys[0].val;
			it->action = TL_ACT_RESUME;
			it->origin = origin;
			if (it->mode == TL_MODE_SPLIT) {
				it->split_after = tl_strdup(val);
				if (!it->split_after)
					rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
			} else {
				const char *cols[64], *vals[64];
				size_t i, n = p->nkeys < 64 ? p->nkeys : 64;
				for (i = 0; i < n; i++) {
					/* the table's own column names (documents: the position's, _id) */
					cols[i] = documents ? p->keys[i].col : it->table->keys[i]->name;
					vals[i] = p->keys[i].val;
				}
				rc = tl_keyvals_set(&it->after, n, cols, vals, err);
			}
			if (p->nkeys == 1)
				tl_log(log, TL_LOG_INFO,
				       "resumer, get resume value, schema: %s, tb: %s, col: %s, result: Some(\"%s\")",
				       it->schema, it->tb, col, val ? val : "null");
			else
				tl_log(log, TL_LOG_INFO,
				       "resumer, get resume value, schema: %s, tb: %s, col: %s, result: Some(%zu key values)",
				       it->schema, it->tb, col, p->nkeys);
			it->reason = fmt("resume after %s (%s)", val ? val : "null", it->origin, NULL);
		}
	}
	if (!it->reason)
		it->reason = tl_strdup(it->ignored ? "start (recorded position ignored)" : "start from the beginning");
	tl_store_hit_clear(&lk);
	if (!rc && !it->reason)
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	return rc;
}

/*
 * Describes the tables items[want[0..n)] with describe_many (one call, a few round trips)
 * or, without it, one describe each; every failure names its table. A table listed but
 * gone when describe_many runs is described alone, for describe's own error.
 */
static int describe_items(const tl_driver *d, tl_conn *c, tl_plan_item *items, const size_t *want, size_t n,
			  tl_name *names, tl_table **tables, tl_error *err)
{
	size_t i;
	int rc;

	if (n == 0)
		return 0;
	if (d->ops->describe_many) {
		for (i = 0; i < n; i++) {
			names[i].schema = items[want[i]].schema;
			names[i].name = items[want[i]].tb;
		}
		if ((rc = tl_driver_describe_many(d, c, names, n, tables, err))) {
			tl_error_prefix(err, "tables %s.%s … %s.%s", names[0].schema, names[0].name,
					names[n - 1].schema, names[n - 1].name);
			return rc;
		}
	} else {
		for (i = 0; i < n; i++)
			tables[i] = NULL;
	}
	for (i = 0; i < n; i++) {
		tl_plan_item *it = &items[want[i]];
		it->table = tables[i];
		tables[i] = NULL;
		if (!it->table && (rc = tl_driver_describe(d, c, it->schema, it->tb, &it->table, err))) {
			for (i = i + 1; i < n; i++) {
				tl_driver_free_table(d, tables[i]);
				tables[i] = NULL;
			}
			tl_error_prefix(err, "table %s.%s", it->schema, it->tb);
			return rc;
		}
	}
	return 0;
}

/*
 * Plans items [lo, hi): looks each up in the snapshot, describes the ones that are not
 * finished (together), then finishes every item in list order, so the log reads as if
 * the tables were planned one by one.
 */
static int plan_chunk(const tl_migrate_env *env, tl_conn *src, const tl_store_snapshot *snap, tl_plan *plan,
		      size_t lo, size_t hi, struct plan_scratch *sc, tl_error *err)
{
	size_t i, n = 0;
	int rc = 0;

	for (i = lo; i < hi; i++) {
		tl_plan_item *it = &plan->items[i];
		tl_store_hit *lk = &sc->hits[i - lo];

		it->rows_done = -1;
		it->target_rows_at_finish = -1;
		it->est_rows = -1;
		if ((rc = tl_store_snapshot_lookup(snap, it->schema, it->tb, 0, lk, err))) {
			tl_error_prefix(err, "table %s.%s", it->schema, it->tb);
			goto cleanup;
		}
		if (lk->state != TL_RESUME_FINISHED)
			sc->want[n++] = i;
	}
	if ((rc = describe_items(&env->src, src, plan->items, sc->want, n, sc->names, sc->tables, err)))
		goto cleanup;
	for (i = lo; i < hi && !rc; i++) {
		tl_plan_item *it = &plan->items[i];
		if (sc->hits[i - lo].state == TL_RESUME_FINISHED)
			rc = plan_skip(snap, env->log, it, &sc->hits[i - lo], err);
		else
			rc = plan_described(env, src, snapshot_record, (void *)snap, it, err);
		if (rc)
			tl_error_prefix(err, "table %s.%s", it->schema, it->tb);
	}
cleanup:
	for (i = lo; i < hi; i++)
		tl_store_hit_clear(&sc->hits[i - lo]);
	return rc;
}

static int recorder_record(void *ctx, const char *schema, const char *tb, int checkpoint_only, tl_store_hit *out,
			   int64_t *rows_done, tl_error *err)
{
	return tl_recorder_lookup(ctx, schema, tb, checkpoint_only, out, rows_done, err);
}

int tl_plan_refresh_item(const tl_migrate_env *env, tl_conn *src, tl_recorder *rec, tl_plan_item *it, tl_error *err)
{
	tl_store_hit lk;
	int64_t rows_done = -1;
	int rc;

	if (it->table) {
		tl_migrate_unproject(&env->src, it->table, &it->rtable, &it->wtable);
		tl_driver_free_table(&env->src, it->table);
	}
	it->table = NULL;
	tl_keyvals_clear(&it->after);
	free(it->split_after);
	free(it->reason);
	free(it->ignored);
	free(it->origin);
	it->split_after = it->reason = it->ignored = it->origin = NULL;
	it->rows_done = -1;
	memset(&lk, 0, sizeof(lk));
	tl_pos_init(&lk.pos);
	if ((rc = tl_recorder_lookup(rec, it->schema, it->tb, 0, &lk, &rows_done, err)))
		goto cleanup;
	if (lk.state == TL_RESUME_FINISHED) { /* finished after all (the failure came later) */
		it->action = TL_ACT_SKIP;
		it->rows_done = rows_done;
		it->reason = tl_strdup("finished");
		if (!it->reason)
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	if (!(rc = tl_driver_describe(&env->src, src, it->schema, it->tb, &it->table, err)))
		rc = plan_described(env, src, recorder_record, rec, it, err);
cleanup:
	tl_store_hit_clear(&lk);
	if (rc)
		tl_error_prefix(err, "table %s.%s", it->schema, it->tb);
	return rc;
}

int tl_plan_build(const tl_migrate_env *env, tl_conn *src, tl_plan *out, tl_error *err)
{
	const tl_config *cfg = env->cfg;
	tl_name_list names = {0, NULL};
	tl_store_snapshot *snap = NULL;
	struct plan_scratch sc = {NULL, NULL, NULL, NULL};
	const tl_table_rule *rule;
	size_t chunk = chunk_of(env->src.ops);
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	/* [filter] and [router] (select.c): nothing selected is an error naming the filter */
	if ((rc = tl_migrate_select(cfg, &env->src, src, &names, err)))
		goto cleanup;
	out->items = calloc(names.n ? names.n : 1, sizeof(tl_plan_item));
	if (!out->items) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	/* the selected names move into the plan */
	for (i = 0; i < names.n; i++) {
		tl_plan_item *it = &out->items[out->n++];
		it->schema = names.items[i].schema;
		it->tb = names.items[i].name;
		names.items[i].schema = names.items[i].name = NULL;
		tl_route_table(cfg->route, it->schema, it->tb, &it->dst_schema, &it->dst_tb);
		/* [filter] where_conditions: the user's own query text, ANDed into every read of
		 * the table (SQL for MySQL/PG, a JSON filter for MongoDB) as ape-dts does */
		if ((rule = tl_table_rules_find(&cfg->where_conditions, it->schema, it->tb)))
			it->where = rule->value;
	}
	if ((rc = tl_store_snapshot_load(env->store, cfg->task_id, &snap, err)) ||
	    (rc = scratch_init(&sc, out->n < chunk ? out->n : chunk, err)))
		goto cleanup;
	for (i = 0; i < out->n && !rc; i += chunk)
		rc = plan_chunk(env, src, snap, out, i, i + chunk < out->n ? i + chunk : out->n, &sc, err);
cleanup:
	scratch_release(&sc);
	tl_store_snapshot_free(snap);
	tl_name_list_clear(&names);
	if (rc)
		tl_plan_clear(out, &env->src);
	return rc;
}

/*
 * Lost-rows check of finished tables: describes items[idx[0..n)] on the target (a table
 * that cannot be described is not checked, as before) and counts their rows, several
 * tables per round trip when the driver can. Sets the items' warnings.
 */
static int check_finished(const tl_driver *d, tl_conn *dst, tl_plan *plan, size_t *idx, size_t n, tl_name *names,
			  tl_table **tables, int64_t *counts, tl_error *err)
{
	const tl_table **have = NULL;
	size_t *at = NULL;
	char msg[512];
	size_t i, m = 0;
	int rc = 0;

	for (i = 0; i < n; i++) {
		names[i].schema = (char *)plan->items[idx[i]].dst_schema;
		names[i].name = (char *)plan->items[idx[i]].dst_tb;
		tables[i] = NULL;
	}
	/* The statistics' live-row counts first: a table they show with at least the rows
	 * it had at finish is not counted exactly (they lag deletes by seconds; verify counts) */
	if (d->ops->live_rows_many && tl_driver_live_rows_many(d, dst, names, n, counts, NULL) == 0) {
		for (i = 0; i < n; i++)
			if (counts[i] < 0 || counts[i] < plan->items[idx[i]].target_rows_at_finish) {
				idx[m] = idx[i];
				names[m++] = names[i];
			}
		n = m;
		m = 0;
	}
	/* the target table is described by its routed name */
	if (d->ops->describe_many) {
		if (tl_driver_describe_many(d, dst, names, n, tables, NULL) != 0)
			for (i = 0; i < n; i++)
				tables[i] = NULL;
	} else {
		for (i = 0; i < n; i++)
			if (tl_driver_describe(d, dst, names[i].schema, names[i].name, &tables[i], NULL) != 0)
				tables[i] = NULL;
	}
	at = calloc(n ? n : 1, sizeof(*at));
	have = calloc(n ? n : 1, sizeof(*have));
	if (!at || !have) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < n && !rc; i++) {
		if (tables[i]) {
			at[m] = idx[i];
			have[m++] = tables[i];
			continue;
		}
		/* the target table is gone: every row it had at finish is lost */
		tl_plan_item *it = &plan->items[idx[i]];
		snprintf(msg, sizeof(msg), "target lost rows since finished (had %lld, the target table is gone)",
			 (long long)it->target_rows_at_finish);
		it->lost = 1;
		if (!(it->warning = tl_strdup(msg)))
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
	if (rc)
		goto cleanup;
	if (d->ops->count_many) {
		rc = tl_driver_count_many(d, dst, have, m, counts, err);
	} else {
		for (i = 0; i < m && !rc; i++)
			rc = tl_driver_count_rows(d, dst, have[i], &counts[i], err);
	}
	for (i = 0; i < m && !rc; i++) {
		tl_plan_item *it = &plan->items[at[i]];
		if (counts[i] >= it->target_rows_at_finish)
			continue;
		snprintf(msg, sizeof(msg), "target lost rows since finished (had %lld, now %lld)",
			 (long long)it->target_rows_at_finish, (long long)counts[i]);
		it->lost = 1;
		if (!(it->warning = tl_strdup(msg)))
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
cleanup:
	for (i = 0; i < n; i++) {
		tl_driver_free_table(d, tables[i]);
		tables[i] = NULL;
	}
	free(at);
	free(have);
	return rc;
}

/*
 * The verdict of target.c on a resumed item (the same function a run calls at the table's
 * start): a warning saying what the run will do, refuse when it will not go on. A target
 * table that is gone is a warning here (the run says more when it gets there).
 */
static int check_resumed(const tl_migrate_env *env, tl_conn *dst, tl_plan_item *it, unsigned flags, tl_error *err)
{
	tl_store_table st;
	tl_target_verdict v;
	tl_error e = TL_ERROR_INIT;
	int have = tl_store_get_table(env->store, env->cfg->task_id, it->schema, it->tb, &st, NULL) == 0;
	int rc = tl_target_verdict_get(env, dst, it, have ? &st : NULL, (flags & TL_PLAN_RECOPY_LOST) != 0, &v, &e);

	if (rc == TL_ERR_NOTFOUND) {
		if (!(it->warning = tl_strdup(e.message)))
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		return 0;
	}
	if (rc) {
		if (err)
			*err = e;
		return rc;
	}
	if (v.lost) {
		it->lost = 1;
		it->refuse = v.verdict == TL_VERDICT_REFUSE;
		it->warning = v.message;
		v.message = NULL;
	}
	tl_target_verdict_clear(&v);
	return 0;
}

int tl_plan__key_nullable(const tl_migrate_env *env, const tl_table *t)
{
	size_t i;

	if (!(env->src.ops->caps & TL_CAP_SQL))
		return 0; /* documents: every _id is a value */
	for (i = 0; i < t->nkeys; i++)
		if (t->keys[i]->nullable)
			return 1;
	return 0;
}

int tl_plan__target_null_keys(const tl_migrate_env *env, tl_conn *dst, const tl_table *wt, int *has, tl_error *err)
{
	tl_read_spec spec;
	tl_reader *r = NULL;
	tl_batch b;
	int rc;

	*has = 0;
	memset(&spec, 0, sizeof(spec));
	spec.mode = TL_READ_KEY_NULLS;
	spec.batch_rows = 1;
	tl_batch_init(&b, wt->ncols, 1u << 20);
	if (!(rc = tl_driver_open_reader(&env->dst, dst, wt, &spec, &r, err)) &&
	    !(rc = tl_driver_read_batch(&env->dst, r, &b, err)))
		*has = b.nrows > 0;
	tl_driver_close_reader(&env->dst, r);
	tl_batch_release(&b);
	if (rc)
		tl_error_prefix(err, "target table %s.%s", wt->schema, wt->name);
	return rc;
}

int tl_plan_check_targets(const tl_migrate_env *env, tl_conn *dst, tl_plan *plan, unsigned flags, tl_error *err)
{
	const tl_config *cfg = env->cfg;
	const tl_driver *d = &env->dst;
	size_t *idx = NULL;
	tl_name *names = NULL;
	tl_table **tables = NULL;
	int64_t *counts = NULL;
	size_t i, n = 0, chunk = chunk_of(d->ops);
	int rc = 0;

	idx = calloc(chunk, sizeof(*idx));
	names = calloc(chunk, sizeof(*names));
	tables = calloc(chunk, sizeof(*tables));
	counts = calloc(chunk, sizeof(*counts));
	if (!idx || !names || !tables || !counts) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < plan->n && !rc; i++) {
		tl_plan_item *it = &plan->items[i];
		tl_store_table st;
		int is_empty = 0, nullable;

		if (it->action == TL_ACT_SKIP) {
			/* with 0 rows at finish the target cannot have lost any: nothing to count */
			if (it->target_rows_at_finish <= 0)
				continue;
			idx[n++] = i;
			if (n == chunk) {
				rc = check_finished(d, dst, plan, idx, n, names, tables, counts, err);
				n = 0;
			}
			continue;
		}
		if (it->action == TL_ACT_RESUME && (rc = check_resumed(env, dst, it, flags, err)))
			break;
		if (it->refuse || !it->table)
			continue;
		/* rows that cannot be upserted (no key, or a NULL in a nullable unique key) are
		 * copied again by every run: a target holding such rows this task did not write
		 * would get them twice, whatever the flags (--init included) */
		nullable = it->table->nkeys > 0 && cfg->replace && tl_plan__key_nullable(env, it->table);
		if (it->table->nkeys > 0 && cfg->replace && !nullable)
			continue;
		if ((rc = tl_driver_check_target(d, dst, it->wtable, &is_empty, err))) {
			tl_error_prefix(err, "table %s.%s", it->schema, it->tb);
			break;
		}
		if (is_empty)
			continue;
		if (tl_store_get_table(env->store, cfg->task_id, it->schema, it->tb, &st, NULL) == 0 &&
		    st.target_empty_at_start)
			continue;
		if (nullable) {
			int has = 0;
			if ((rc = tl_plan__target_null_keys(env, dst, it->wtable, &has, err)))
				break;
			if (!has)
				continue;
		}
		it->refuse = 1;
		free(it->warning); /* a resumed table's verdict: the refusal says more */
		if (!(it->warning = tl_strdup(nullable ? TL_PLAN_REFUSE_NULL_KEYS : TL_PLAN_REFUSE_KEYLESS)))
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
	if (!rc && n)
		rc = check_finished(d, dst, plan, idx, n, names, tables, counts, err);
	if (!rc)
		rc = tl_target_durability_warning(env, dst, &plan->durability_warning, err);
cleanup:
	free(idx);
	free(names);
	free(tables);
	free(counts);
	return rc;
}

/* Source and target one server: no selected table may be written (select.c). */
static int same_server(const tl_migrate_env *env, tl_conn *src, tl_conn *dst, const tl_plan *p, tl_error *err)
{
	tl_name *sel = calloc(p->n ? p->n : 1, sizeof(*sel));
	size_t i;
	int rc;

	if (!sel)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	for (i = 0; i < p->n; i++) {
		sel[i].schema = p->items[i].schema;
		sel[i].name = p->items[i].tb;
	}
	rc = tl_migrate_same_server(env->cfg, &env->src, src, &env->dst, dst, sel, p->n, err);
	free(sel);
	return rc;
}

int tl_migrate_plan(const tl_migrate_env *env, unsigned flags, tl_plan *out, tl_error *err)
{
	tl_endpoint src_ep = tl_config_source(env->cfg);
	tl_endpoint dst_ep = tl_config_target(env->cfg);
	tl_conn *c = NULL, *d = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((flags & TL_PLAN_IMPORT) && (rc = tl_migrate_import_sources(env, err)))
		return rc;
	if ((rc = tl_driver_connect(&env->src, &src_ep, &c, err)))
		return rc;
	rc = tl_plan_build(env, c, out, err);
	if (!rc && !(rc = tl_driver_connect(&env->dst, &dst_ep, &d, err))) {
		rc = same_server(env, c, d, out, err);
		if (!rc)
			rc = tl_plan_check_targets(env, d, out, flags, err);
		tl_driver_disconnect(&env->dst, d);
	}
	tl_driver_disconnect(&env->src, c);
	if (rc)
		tl_plan_clear(out, &env->src);
	return rc;
}
