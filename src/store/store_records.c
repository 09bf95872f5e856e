/*
 * store_records.c - position and finished records in the checkpoint store: writing one
 * record, importing a merged tl_resume_set in one transaction, the table lookup used at
 * each table's start (O(log n) through the primary keys), iteration for export, and
 * forgetting a task. Every row keeps the exact JSON of the record beside its decoded
 * key (key_form, order_key, key_cols, key_vals) for ad-hoc SQL.
 */
#include <stdlib.h>
#include <string.h>
#include "store/store_int.h"
#include "tideline/buf.h"
#include "tideline/logfmt.h"

/* Reusable buffers for the derived columns of one row. */
struct rowbufs {
	tl_buf json, order_key, cols, vals;
};

static void rowbufs_release(struct rowbufs *b)
{
	tl_buf_release(&b->json);
	tl_buf_release(&b->order_key);
	tl_buf_release(&b->cols);
	tl_buf_release(&b->vals);
}

static const char *form_name(enum tl_key_form f)
{
	switch (f) {
	case TL_KEY_ORDER_COL: return "order_col";
	case TL_KEY_SINGLE: return "single";
	case TL_KEY_COMPOSITE: return "composite";
	case TL_KEY_ABSENT: break;
	}
	return "absent";
}

/* Appends s as a JSON string (NULL as null), escaped as the position codec does. */
static int json_str(tl_buf *b, const char *s, tl_error *err)
{
	if (!s)
		return tl_buf_puts(b, "null", err);
	return tl_pos_put_json_string(b, s, strlen(s), err);
}

/* Fills the derived key columns (and the JSON unless given) of a position. */
static int derive(struct rowbufs *b, const tl_position *p, int want_json, tl_error *err)
{
	size_t i;
	int rc;

	tl_buf_reset(&b->json);
	tl_buf_reset(&b->order_key);
	tl_buf_reset(&b->cols);
	tl_buf_reset(&b->vals);
	if (want_json && (rc = tl_pos_write_json(p, TL_STYLE_ASIS, &b->json, err)))
		return rc;
	if (p->form != TL_KEY_ABSENT && p->nkeys > 0 && (rc = tl_pos_write_order_key(p, &b->order_key, err)))
		return rc;
	if ((rc = tl_buf_putc(&b->cols, '[', err)) || (rc = tl_buf_putc(&b->vals, '[', err)))
		return rc;
	for (i = 0; i < p->nkeys; i++) {
		if (i && ((rc = tl_buf_putc(&b->cols, ',', err)) || (rc = tl_buf_putc(&b->vals, ',', err))))
			return rc;
		if ((rc = json_str(&b->cols, p->keys[i].col, err)) || (rc = json_str(&b->vals, p->keys[i].val, err)))
			return rc;
	}
	if ((rc = tl_buf_putc(&b->cols, ']', err)) || (rc = tl_buf_putc(&b->vals, ']', err)))
		return rc;
	return 0;
}

/* Reserves n seq values of a task: they are *first + 1 .. *first + n. */
static int take_seq(tl_store *s, const char *task_id, int64_t n, int64_t *first, tl_error *err)
{
	tl_sdb_stmt *st;
	int rc;

	if ((rc = tl_store__stmt(s, ST_SEQ_TAKE, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_i64(s, st, 2, n, 0, err)))
		return rc;
	rc = tl_store__step(s, st, "reserving record numbers", err);
	if (rc == 1) {
		*first = tl_store__col_i64(s, st, 0) - n;
		rc = tl_store__done(s, st, "reserving record numbers", NULL, err);
	} else if (rc == 0) {
		rc = tl_error_set(err, TL_ERR_STORE, "store '%s': reserving record numbers: no row returned", s->display);
	}
	s->ops->reset(st);
	return rc;
}

/* Runs a bound write statement to completion. */
static int step_done(tl_store *s, tl_sdb_stmt *st, const char *what, tl_error *err)
{
	return tl_store__done(s, st, what, NULL, err);
}

/*
 * One position row. json NULL: b->json (derived). With a seq (an import reserved them) the
 * row is upserted. seq < 0 (a run's record): the row of a table that has one is updated in
 * place, one statement; only a new row takes the next seq of the task and is upserted, so
 * a row another writer inserted meanwhile is updated all the same.
 */
static int write_position(tl_store *s, struct rowbufs *b, const char *task_id, const tl_position *p,
			  int is_current, const char *json, size_t json_len, const char *ts, const char *source,
			  long line, int64_t rows_copied, int64_t seq, tl_error *err)
{
	enum tl_store_stmt ids[2] = {ST_POS_UPDATE, ST_POS_UPSERT};
	tl_sdb_stmt *st;
	int64_t changed = 0;
	int rc, k;

	if ((rc = derive(b, p, json == NULL, err)))
		return rc;
	if (!json) {
		json = b->json.data;
		json_len = b->json.len;
	}
	for (k = seq < 0 ? 0 : 1; k < 2; k++) {
		if (k == 1 && seq < 0) {
			if ((rc = take_seq(s, task_id, 1, &seq, err)))
				return rc;
			seq++;
		}
		if ((rc = tl_store__stmt(s, ids[k], &st, err)))
			return rc;
		if ((rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
		    (rc = tl_store__bind_text(s, st, 2, p->db_type, err)) ||
		    (rc = tl_store__bind_text(s, st, 3, p->schema, err)) || (rc = tl_store__bind_text(s, st, 4, p->tb, err)) ||
		    (rc = tl_store__bind_text(s, st, 5, is_current ? "current" : "checkpoint", err)) ||
		    (rc = tl_store__bind_text(s, st, 6, form_name(p->form), err)) ||
		    (rc = tl_store__bind_text(s, st, 7, b->order_key.len ? b->order_key.data : NULL, err)) ||
		    (rc = tl_store__bind_text(s, st, 8, b->cols.data, err)) ||
		    (rc = tl_store__bind_text(s, st, 9, b->vals.data, err)) ||
		    (rc = tl_store__bind_textn(s, st, 10, json, json_len, err)) ||
		    (rc = tl_store__bind_text(s, st, 11, source, err)) || (rc = tl_store__bind_i64(s, st, 12, line, 0, err)) ||
		    (rc = tl_store__bind_i64(s, st, 13, rows_copied, 1, err)) ||
		    (rc = tl_store__bind_text(s, st, 14, ts, err)))
			return rc;
		if (k == 1 && (rc = tl_store__bind_i64(s, st, 15, seq, 0, err)))
			return rc;
		if ((rc = tl_store__done(s, st, "writing a position", &changed, err)))
			return rc;
		if (changed > 0)
			break;
	}
	return 0;
}

/* One upsert into finished. */
static int write_finished(tl_store *s, const char *task_id, const tl_position *p, const char *json,
			  size_t json_len, const char *ts, const char *source, long line, int64_t rows_copied,
			  int64_t seq, tl_error *err)
{
	tl_sdb_stmt *st;
	int rc;

	if ((rc = tl_store__stmt(s, ST_FIN_UPSERT, &st, err)))
		return rc;
	if ((rc = tl_store__bind_text(s, st, 1, task_id, err)) || (rc = tl_store__bind_text(s, st, 2, p->db_type, err)) ||
	    (rc = tl_store__bind_text(s, st, 3, p->schema, err)) || (rc = tl_store__bind_text(s, st, 4, p->tb, err)) ||
	    (rc = tl_store__bind_textn(s, st, 5, json, json_len, err)))
		return rc;
	if ((rc = tl_store__bind_text(s, st, 6, ts, err)) || (rc = tl_store__bind_text(s, st, 7, source, err)) ||
	    (rc = tl_store__bind_i64(s, st, 8, line, 0, err)) || (rc = tl_store__bind_i64(s, st, 9, rows_copied, 1, err)) ||
	    (rc = tl_store__bind_i64(s, st, 10, seq, 0, err)))
		return rc;
	return step_done(s, st, "writing a finished record", err);
}

/* Adds a rate sample for the table and drops its samples older than ten minutes. */
static int rate_sample(tl_store *s, const char *task_id, const char *schema, const char *tb, int64_t rows,
		       tl_error *err)
{
	tl_sdb_stmt *st;
	double now = tl_store__now_unix();
	int rc;

	if ((rc = tl_store__stmt(s, ST_RATE_INSERT, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, schema, err)) || (rc = tl_store__bind_text(s, st, 3, tb, err)) ||
	    (rc = tl_store__bind_double(s, st, 4, now, err)) || (rc = tl_store__bind_i64(s, st, 5, rows, 0, err)) ||
	    (rc = step_done(s, st, "writing a rate sample", err)))
		return rc;
	if ((rc = tl_store__stmt(s, ST_RATE_PRUNE, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, schema, err)) || (rc = tl_store__bind_text(s, st, 3, tb, err)) ||
	    (rc = tl_store__bind_double(s, st, 4, now - 600.0, err)))
		return rc;
	return step_done(s, st, "pruning rate samples", err);
}

/*
 * The table's statistics follow every checkpoint (status, plan's rows left, resume
 * counts): a rate sample, old samples pruned, task_table's row count. On PostgreSQL in
 * one statement (data-modifying CTEs), one round trip instead of three: a checkpoint
 * per batch pays a round trip per statement.
 */
static int position_stats(tl_store *s, const char *task_id, const char *schema, const char *tb, int64_t rows,
			  const char *ts, tl_error *err)
{
	tl_sdb_stmt *st;
	int rc;

	if (TL_STORE_IS_PG(s)) {
		if ((rc = tl_store__stmt(s, ST_POS_STATS, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
		    (rc = tl_store__bind_text(s, st, 2, schema, err)) || (rc = tl_store__bind_text(s, st, 3, tb, err)) ||
		    (rc = tl_store__bind_double(s, st, 4, tl_store__now_unix(), err)) ||
		    (rc = tl_store__bind_i64(s, st, 5, rows, 0, err)) || (rc = tl_store__bind_text(s, st, 6, ts, err)))
			return rc;
		return step_done(s, st, "updating table statistics", err);
	}
	if ((rc = rate_sample(s, task_id, schema, tb, rows, err)))
		return rc;
	if ((rc = tl_store__stmt(s, ST_TABLE_ROWS, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, schema, err)) || (rc = tl_store__bind_text(s, st, 3, tb, err)) ||
	    (rc = tl_store__bind_i64(s, st, 4, rows, 0, err)) || (rc = tl_store__bind_text(s, st, 5, ts, err)))
		return rc;
	return step_done(s, st, "updating table statistics", err);
}

int tl_store__rate_sample(tl_store *s, const char *task_id, const char *schema, const char *tb, int64_t rows,
			  tl_error *err)
{
	return rate_sample(s, task_id, schema, tb, rows, err);
}

int tl_store_put_position(tl_store *s, const char *task_id, const tl_position *p, int is_current, const char *ts,
			  const char *source, long line, int64_t rows_copied, tl_error *err)
{
	struct rowbufs b = {TL_BUF_INIT, TL_BUF_INIT, TL_BUF_INIT, TL_BUF_INIT};
	char now[32];
	int rc, owned = 0;

	if (p->type != TL_POS_RDB_SNAPSHOT)
		return tl_error_set(err, TL_ERR_PARSE, "a %s record is not a table position",
				    p->type_name ? p->type_name : "None");
	if (!p->schema || !p->tb)
		return tl_error_set(err, TL_ERR_PARSE, "position has no schema or table");
	if (!ts) {
		tl_logfmt_now(now);
		ts = now;
	}
	if ((rc = tl_store__tx_enter(s, &owned, err)))
		return rc;
	if ((rc = write_position(s, &b, task_id, p, is_current, NULL, 0, ts, source, line, rows_copied, -1, err)))
		goto cleanup;
	if (rows_copied >= 0)
		rc = position_stats(s, task_id, p->schema, p->tb, rows_copied, ts, err);
	if (!rc)
		rc = tl_store__lock_beat(s, err);
cleanup:
	rowbufs_release(&b);
	return tl_store__tx_leave(s, owned, rc, err);
}

int tl_store_put_finished(tl_store *s, const char *task_id, const tl_position *p, const char *ts, const char *source,
			  long line, int64_t rows_copied, tl_error *err)
{
	tl_position fin = TL_POSITION_INIT;
	tl_buf json = TL_BUF_INIT;
	char now[32];
	int64_t seq = 0;
	int rc, owned = 0;

	if (p->type != TL_POS_RDB_SNAPSHOT_FINISHED && p->type != TL_POS_RDB_SNAPSHOT)
		return tl_error_set(err, TL_ERR_PARSE, "a %s record is not a finished record",
				    p->type_name ? p->type_name : "None");
	if (!p->schema || !p->tb)
		return tl_error_set(err, TL_ERR_PARSE, "finished record has no schema or table");
	if (p->type == TL_POS_RDB_SNAPSHOT) {
		/* a table position given for its table: record the finished form */
		if ((rc = tl_pos_set(&fin, TL_POS_RDB_SNAPSHOT_FINISHED, p->db_type, p->schema, p->tb, TL_KEY_ABSENT, 0,
				     NULL, NULL, err)))
			return rc;
		p = &fin;
	}
	if (!ts) {
		tl_logfmt_now(now);
		ts = now;
	}
	if ((rc = tl_pos_write_json(p, TL_STYLE_ASIS, &json, err)))
		goto cleanup;
	if ((rc = tl_store__tx_enter(s, &owned, err)))
		goto cleanup;
	if ((rc = take_seq(s, task_id, 1, &seq, err)) == 0)
		rc = write_finished(s, task_id, p, json.data, json.len, ts, source, line, rows_copied, seq + 1, err);
	if (!rc)
		rc = tl_store__lock_beat(s, err);
	rc = tl_store__tx_leave(s, owned, rc, err);
cleanup:
	tl_buf_release(&json);
	tl_pos_clear(&fin);
	return rc;
}

/* Asks the caller's origin callback for a record's timestamp and JSON text. */
static int origin_text(tl_store_origin_fn fn, void *ctx, const tl_origin *o, const char **ts, const char **json,
		       size_t *json_len, tl_error *err)
{
	*ts = NULL;
	*json = NULL;
	*json_len = 0;
	if (!fn)
		return 0;
	return fn(ctx, o->source, o->line, ts, json, json_len, err);
}

/* Orders set entries by (schema, tb): inserting in primary-key order keeps B-tree writes local. */
struct ordered {
	const tl_resume_entry *e;
	size_t at; /* index in the set */
};

static int by_name(const void *a, const void *b)
{
	const tl_resume_entry *x = ((const struct ordered *)a)->e, *y = ((const struct ordered *)b)->e;
	int c = strcmp(x->schema, y->schema);

	return c ? c : strcmp(x->tb, y->tb);
}

/* Non-snapshot records (CDC …) are kept verbatim in other_record so export loses nothing. */
static int import_kept(tl_store *s, const char *task_id, const tl_resume_set *set, tl_store_origin_fn origin,
		       void *ctx, const char *now, tl_error *err)
{
	static const char sql[] =
		"INSERT INTO other_record (task_id, kind, json, type, source, line, updated_at, seq)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (task_id, kind, json) DO UPDATE SET"
		" type = excluded.type, source = excluded.source, line = excluded.line,"
		" updated_at = excluded.updated_at, seq = excluded.seq";
	/* PostgreSQL keys the exact JSON through md5 (schema/pg/0002_other_records.sql) */
	static const char pg_sql[] =
		"INSERT INTO other_record (task_id, kind, json, type, source, line, updated_at, seq)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (task_id, kind, md5(json)) DO UPDATE SET"
		" type = excluded.type, source = excluded.source, line = excluded.line,"
		" updated_at = excluded.updated_at, seq = excluded.seq";
	size_t i, n = tl_resume_kept_count(set);
	tl_sdb_stmt *st = NULL;
	int64_t seq = 0;
	int rc = 0;

	if (n == 0)
		return 0;
	if ((rc = take_seq(s, task_id, (int64_t)n, &seq, err)))
		return rc;
	if ((rc = tl_store__prepare(s, sql, pg_sql, &st, err)))
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		const tl_resume_other *o = tl_resume_kept_at(set, i);
		const char *ts = NULL, *json = NULL;
		size_t json_len = 0;

		if ((rc = origin_text(origin, ctx, &o->from, &ts, &json, &json_len, err)))
			break;
		if (!json) {
			json = o->pos->raw_json;
			json_len = strlen(json);
		}
		s->ops->reset(st);
		if ((rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
		    (rc = tl_store__bind_text(s, st, 2, o->is_current ? "current" : "checkpoint", err)) ||
		    (rc = tl_store__bind_textn(s, st, 3, json, json_len, err)) ||
		    (rc = tl_store__bind_text(s, st, 4, o->pos->type_name, err)) ||
		    (rc = tl_store__bind_text(s, st, 5, o->from.source, err)) ||
		    (rc = tl_store__bind_i64(s, st, 6, o->from.line, 0, err)) ||
		    (rc = tl_store__bind_text(s, st, 7, ts ? ts : now, err)) ||
		    (rc = tl_store__bind_i64(s, st, 8, seq + 1 + (int64_t)i, 0, err)))
			break;
		rc = step_done(s, st, "keeping a non-snapshot record", err);
	}
	tl_store__finalize(s, st);
	return rc;
}


int tl_store_import_set_ex(tl_store *s, const char *task_id, const tl_resume_set *set, tl_store_origin_fn origin,
			   void *ctx, tl_store_import_stats *stats, tl_error *err)
{
	struct rowbufs b = {TL_BUF_INIT, TL_BUF_INIT, TL_BUF_INIT, TL_BUF_INIT};
	tl_store_import_stats count = {0, 0, 0};
	struct ordered *order = NULL;
	char now[32];
	int64_t seq = 0;
	size_t i, n = tl_resume_count(set);
	int rc, owned = 0;

	tl_logfmt_now(now);
	order = malloc((n ? n : 1) * sizeof(*order));
	if (!order)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory importing %zu tables", n);
	for (i = 0; i < n; i++) {
		order[i].e = tl_resume_at(set, i);
		order[i].at = i;
	}
	qsort(order, n, sizeof(*order), by_name);
	if ((rc = tl_store__tx_enter(s, &owned, err)))
		goto out;
	/* per entry: checkpoint +1, current +2, finished +3 */
	if (n && (rc = take_seq(s, task_id, 3 * (int64_t)n, &seq, err)))
		goto cleanup;
	for (i = 0; i < n; i++) {
		const tl_resume_entry *e = order[i].e;
		/* seq follows the set's order (first record of each table), whatever the write order */
		size_t at = order[i].at;
		const char *ts, *json;
		size_t json_len;

		/* the checkpoint first: when both are new the export lists them in that order */
		if (e->checkpoint) {
			if ((rc = origin_text(origin, ctx, &e->checkpoint_from, &ts, &json, &json_len, err)) ||
			    (rc = write_position(s, &b, task_id, e->checkpoint, 0, json, json_len, ts ? ts : now,
						 e->checkpoint_from.source, e->checkpoint_from.line, -1,
						 seq + 3 * (int64_t)at + 1, err)))
				goto cleanup;
			count.checkpoint++;
		}
		if (e->current) {
			if ((rc = origin_text(origin, ctx, &e->current_from, &ts, &json, &json_len, err)) ||
			    (rc = write_position(s, &b, task_id, e->current, 1, json, json_len, ts ? ts : now,
						 e->current_from.source, e->current_from.line, -1,
						 seq + 3 * (int64_t)at + 2, err)))
				goto cleanup;
			count.current++;
		}
		if (e->finished && e->finished_pos) {
			if ((rc = origin_text(origin, ctx, &e->finished_from, &ts, &json, &json_len, err)))
				goto cleanup;
			if (!json) {
				tl_buf_reset(&b.json);
				if ((rc = tl_pos_write_json(e->finished_pos, TL_STYLE_ASIS, &b.json, err)))
					goto cleanup;
				json = b.json.data;
				json_len = b.json.len;
			}
			if ((rc = write_finished(s, task_id, e->finished_pos, json, json_len, ts ? ts : now,
						 e->finished_from.source, e->finished_from.line, -1, seq + 3 * (int64_t)at + 3,
						 err)))
				goto cleanup;
			count.finished++;
		}
	}
	if (rc == 0)
		rc = import_kept(s, task_id, set, origin, ctx, now, err);
cleanup:
	rc = tl_store__tx_leave(s, owned, rc, err);
out:
	rowbufs_release(&b);
	free(order);
	if (rc == 0 && stats)
		*stats = count;
	return rc;
}

int tl_store_import_set(tl_store *s, const char *task_id, const tl_resume_set *set, tl_error *err)
{
	return tl_store_import_set_ex(s, task_id, set, NULL, NULL, NULL, err);
}

void tl_store_hit_clear(tl_store_hit *r)
{
	if (!r)
		return;
	tl_pos_clear(&r->pos);
	free(r->source);
	free(r->updated_at);
	r->source = NULL;
	r->updated_at = NULL;
	r->state = TL_RESUME_NONE;
	r->is_current = 0;
	r->line = 0;
	r->rows_copied = -1;
}

/* Decodes the row's JSON and the columns shared by positions and finished records. */
static int fill_hit(tl_store *s, tl_sdb_stmt *st, int json_col, int src_col, int line_col, int ts_col, int rows_col,
		    const char *schema, const char *tb, tl_store_hit *out, tl_error *err)
{
	size_t len = 0;
	const char *json = tl_store__col_text(s, st, json_col, &len);
	int rc;

	if (!json)
		return tl_error_set(err, TL_ERR_STORE, "store '%s': record of '%s'.'%s' has no JSON", s->display, schema,
				    tb);
	rc = tl_pos_parse_json(&out->pos, json, len, err);
	if (rc)
		return tl_error_prefix(err, "store '%s': record of '%s'.'%s'", s->display, schema, tb);
	if ((rc = tl_store__col_dup(s, st, src_col, &out->source, err)) ||
	    (rc = tl_store__col_dup(s, st, ts_col, &out->updated_at, err)))
		return rc;
	out->line = (long)tl_store__col_i64(s, st, line_col);
	out->rows_copied = tl_store__col_i64n(s, st, rows_col);
	return 0;
}

int tl_store_lookup(tl_store *s, const char *task_id, const char *schema, const char *tb, int checkpoint_only,
		    tl_store_hit *out, tl_error *err)
{
	tl_sdb_stmt *st = NULL;
	int rc, step;

	memset(out, 0, sizeof(*out));
	tl_pos_init(&out->pos);
	out->rows_copied = -1;
	/* finished first, then the position (both statements return kind, json, source, line, ts, rows) */
	if ((rc = tl_store__stmt(s, ST_LOOKUP_FIN, &st, err)) || (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
	    (rc = tl_store__bind_text(s, st, 2, schema, err)) || (rc = tl_store__bind_text(s, st, 3, tb, err)))
		goto cleanup;
	step = tl_store__step(s, st, "looking up a table", err);
	if (step == 0) {
		s->ops->reset(st);
		if ((rc = tl_store__stmt(s, ST_LOOKUP_POS, &st, err)) ||
		    (rc = tl_store__bind_text(s, st, 1, task_id, err)) ||
		    (rc = tl_store__bind_text(s, st, 2, schema, err)) || (rc = tl_store__bind_text(s, st, 3, tb, err)) ||
		    (rc = tl_store__bind_i64(s, st, 4, checkpoint_only ? 1 : 0, 0, err)))
			goto cleanup;
		step = tl_store__step(s, st, "looking up a table", err);
	}
	if (step == 1) {
		/* kind, json, source, line, ts, rows_copied */
		const char *kind = tl_store__col_text(s, st, 0, NULL);

		rc = fill_hit(s, st, 1, 2, 3, 4, 5, schema, tb, out, err);
		if (rc == 0 && kind && strcmp(kind, "finished") == 0) {
			out->state = TL_RESUME_FINISHED;
		} else if (rc == 0) {
			out->state = TL_RESUME_POSITION;
			out->is_current = kind && strcmp(kind, "current") == 0;
		}
	} else if (step < 0) {
		rc = step;
	}
cleanup:
	if (st)
		s->ops->reset(st); /* ends the implicit read transaction */
	if (rc)
		tl_store_hit_clear(out);
	return rc;
}

struct each_record {
	tl_store_row_fn fn;
	void *ctx;
};

/* A row of a query whose columns are those of tl_store_row (kind may be a literal). */
static int record_row(tl_store *s, tl_sdb_stmt *st, void *arg, tl_error *err)
{
	const struct each_record *e = arg;
	tl_store_row row;

	row.task_id = tl_store__col_text(s, st, 0, NULL);
	row.schema = tl_store__col_text(s, st, 1, NULL);
	row.tb = tl_store__col_text(s, st, 2, NULL);
	row.kind = tl_store__col_text(s, st, 3, NULL);
	row.json = tl_store__col_text(s, st, 4, NULL);
	row.updated_at = tl_store__col_text(s, st, 5, NULL);
	row.source = tl_store__col_text(s, st, 6, NULL);
	row.line = (long)tl_store__col_i64(s, st, 7);
	row.rows_copied = tl_store__col_i64n(s, st, 8);
	return e->fn(e->ctx, &row, err);
}

static int foreach_rows(tl_store *s, const char *sql, const char *task_id, tl_store_row_fn fn, void *ctx, tl_error *err)
{
	struct each_record e = {fn, ctx};

	return tl_store__each_row(s, sql, "listing records", &task_id, 1, record_row, &e, err);
}

int tl_store_foreach_position(tl_store *s, const char *task_id, tl_store_row_fn fn, void *ctx, tl_error *err)
{
	return foreach_rows(s,
			    "SELECT task_id, schema, tb, kind, json, updated_at, source, line, rows_copied"
			    " FROM position WHERE CAST(?1 AS TEXT) IS NULL OR task_id = ?1 ORDER BY task_id, seq, kind",
			    task_id, fn, ctx, err);
}

int tl_store_foreach_other(tl_store *s, const char *task_id, tl_store_row_fn fn, void *ctx, tl_error *err)
{
	return foreach_rows(s,
			    "SELECT task_id, '', '', kind, json, updated_at, source, line, -1"
			    " FROM other_record WHERE CAST(?1 AS TEXT) IS NULL OR task_id = ?1 ORDER BY task_id, seq",
			    task_id, fn, ctx, err);
}

int tl_store_foreach_finished(tl_store *s, const char *task_id, tl_store_row_fn fn, void *ctx, tl_error *err)
{
	return foreach_rows(s,
			    "SELECT task_id, schema, tb, 'finished', json, finished_at, source, line, rows_copied"
			    " FROM finished WHERE CAST(?1 AS TEXT) IS NULL OR task_id = ?1 ORDER BY task_id, seq",
			    task_id, fn, ctx, err);
}

int tl_store_forget_task(tl_store *s, const char *task_id, tl_error *err)
{
	static const char *const sql[] = {
		"DELETE FROM position WHERE task_id = ?1",    "DELETE FROM finished WHERE task_id = ?1",
		"DELETE FROM task_table WHERE task_id = ?1",  "DELETE FROM rate_sample WHERE task_id = ?1",
		"DELETE FROM import_source WHERE task_id = ?1", "DELETE FROM task_seq WHERE task_id = ?1",
		"DELETE FROM other_record WHERE task_id = ?1", "DELETE FROM work_item WHERE task_id = ?1",
		"DELETE FROM worker WHERE task_id = ?1",
		/* what the task created on the target stays known: its steps are redone, found done */
		"UPDATE schema_step SET state = 'pending', found = NULL, error = NULL WHERE task_id = ?1",
	};
	tl_sdb_stmt *st = NULL;
	size_t i;
	int rc, owned = 0;

	if ((rc = tl_store__tx_enter(s, &owned, err)))
		return rc;
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]) && rc == 0; i++) {
		if ((rc = tl_store__prepare(s, sql[i], NULL, &st, err)))
			break;
		if (!(rc = tl_store__bind_text(s, st, 1, task_id, err)))
			rc = step_done(s, st, "forgetting a task", err);
		tl_store__finalize(s, st);
		st = NULL;
	}
	return tl_store__tx_leave(s, owned, rc, err);
}

int tl_store_forget_table(tl_store *s, const char *task_id, const char *schema, const char *tb, tl_error *err)
{
	static const char *const sql[] = {
		"DELETE FROM position WHERE task_id = ?1 AND schema = ?2 AND tb = ?3",
		"DELETE FROM finished WHERE task_id = ?1 AND schema = ?2 AND tb = ?3",
		"DELETE FROM rate_sample WHERE task_id = ?1 AND schema = ?2 AND tb = ?3",
		/* target_empty_at_start stays: whose rows the target holds does not change */
		"UPDATE task_table SET rows_copied = 0, state = 'pending', finished_at = NULL, "
		"target_rows_at_finish = NULL WHERE task_id = ?1 AND schema = ?2 AND tb = ?3",
	};
	tl_sdb_stmt *st = NULL;
	size_t i;
	int rc, owned = 0;

	if ((rc = tl_store__tx_enter(s, &owned, err)))
		return rc;
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]) && rc == 0; i++) {
		if ((rc = tl_store__prepare(s, sql[i], NULL, &st, err)))
			break;
		if (!(rc = tl_store__bind_text(s, st, 1, task_id, err)) && !(rc = tl_store__bind_text(s, st, 2, schema, err)) &&
		    !(rc = tl_store__bind_text(s, st, 3, tb, err)))
			rc = step_done(s, st, "forgetting a table", err);
		tl_store__finalize(s, st);
		st = NULL;
	}
	return tl_store__tx_leave(s, owned, rc, err);
}
