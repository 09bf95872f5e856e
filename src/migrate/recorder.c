/*
 * recorder.c - writes checkpoints: the SQLite store, position.log / finished.log in
 * [runtime] log_dir and, with resume_type=from_target/from_db, ape-dts' database store.
 *
 * Workers call it only after the rows before a position are committed on the target.
 * One mutex serialises all writers; each record is one store transaction, then one
 * appended (and flushed) log line, then one upsert into ape-dts' table. A crash between
 * those steps leaves the store at most one checkpoint ahead of the text log, which is
 * safe: resuming from either re-sends only rows that upserts make idempotent. The crash
 * points of the crash tests (TL_DEBUG_CRASH, fault.h) sit between those steps.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "migrate/migrate.h"
#include "tideline/logfmt.h"

struct tl_recorder {
	pthread_mutex_t mu;
	const tl_config *cfg;
	tl_store *store;
	FILE *position_log;
	FILE *finished_log;
	const tl_driver *ape;  /* ops NULL: no database store */
	tl_conn *ape_conn;
	tl_fault *fault;
	tl_logger *log;
	tl_buf line;
	tl_buf json;
	int documents; /* MongoDB: positions always in the current order_key form (docs/ape-dts-resume.md §2.5) */
	char source[300]; /* the records' source in the store: "run", or "worker NAME" in a fleet */
	long records;  /* position and finished records written (under mu) */
	double busy;   /* seconds spent writing them, lock held (under mu) */
};

int tl_migrate__stopping(volatile sig_atomic_t *stop, int *abort_all)
{
	return (stop && *stop) || (abort_all && __atomic_load_n(abort_all, __ATOMIC_ACQUIRE));
}

double tl_migrate__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void tl_migrate__sleep(double secs)
{
	struct timespec ts;

	if (secs <= 0)
		return;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	(void)nanosleep(&ts, NULL);
}

tl_endpoint tl_migrate__target(const tl_migrate_env *env)
{
	tl_endpoint ep = tl_config_target(env->cfg);

	ep.dead_peer_secs = env->dead_peer_secs;
	return ep;
}

tl_endpoint tl_migrate__source(const tl_migrate_env *env)
{
	tl_endpoint ep = tl_config_source(env->cfg);

	ep.dead_peer_secs = env->dead_peer_secs;
	return ep;
}

void tl_recorder_stats(tl_recorder *r, long *records, double *secs)
{
	pthread_mutex_lock(&r->mu);
	*records = r->records;
	*secs = r->busy;
	pthread_mutex_unlock(&r->mu);
}

int tl_migrate__mkdir_p(const char *path, tl_error *err)
{
	char tmp[4096];
	size_t i, n = strlen(path);

	if (n >= sizeof(tmp))
		return tl_error_set(err, TL_ERR_IO, "path too long: '%s'", path);
	memcpy(tmp, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (tmp[i] == '/' || tmp[i] == '\0') {
			char c = tmp[i];
			tmp[i] = '\0';
			if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
				return tl_error_set(err, TL_ERR_IO, "cannot create directory '%s': %s", tmp, strerror(errno));
			tmp[i] = c;
		}
	}
	return 0;
}

static int open_append(const char *dir, const char *name, FILE **out, tl_error *err)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	*out = fopen(path, "a");
	if (!*out)
		return tl_error_set(err, TL_ERR_IO, "cannot open '%s' for appending: %s", path, strerror(errno));
	return 0;
}

/*
 * position.log rolls over like ape-dts' (log4rs, 1 MB): position9.log → position10.log
 * (the oldest is dropped), …, position.log → position1.log, then a fresh position.log.
 * Readers take them oldest first (tl_logfmt_position_files); the store keeps the latest
 * record of every table whatever is dropped.
 */
#define POSITION_LOG_ROLL_BYTES (1024L * 1024L)

static int roll_position_log(tl_recorder *r, tl_error *err)
{
	char from[4096], to[4096];
	int i;

	if (ftell(r->position_log) < POSITION_LOG_ROLL_BYTES)
		return 0;
	if (fclose(r->position_log) != 0) {
		r->position_log = NULL;
		return tl_error_set(err, TL_ERR_IO, "cannot close position.log in '%s': %s", r->cfg->log_dir,
				    strerror(errno));
	}
	r->position_log = NULL;
	for (i = 9; i >= 0; i--) {
		if (i == 0)
			snprintf(from, sizeof(from), "%s/position.log", r->cfg->log_dir);
		else
			snprintf(from, sizeof(from), "%s/position%d.log", r->cfg->log_dir, i);
		snprintf(to, sizeof(to), "%s/position%d.log", r->cfg->log_dir, i + 1);
		if (access(from, F_OK) == 0 && rename(from, to) != 0)
			return tl_error_set(err, TL_ERR_IO, "cannot roll '%s' over to '%s': %s", from, to, strerror(errno));
	}
	return open_append(r->cfg->log_dir, "position.log", &r->position_log, err);
}

int tl_recorder_new(tl_recorder **out, const tl_migrate_env *env, tl_error *err)
{
	const tl_config *cfg = env->cfg;
	tl_recorder *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (!r)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&r->mu, NULL);
	r->cfg = cfg;
	r->store = env->store;
	r->ape = &env->ape;
	r->ape_conn = env->ape_conn;
	r->fault = env->fault;
	r->log = env->log;
	r->documents = (env->src.ops->caps & TL_CAP_DOCUMENTS) != 0;
	snprintf(r->source, sizeof(r->source), "run");
	tl_buf_init(&r->line, 0);
	tl_buf_init(&r->json, 0);
	if ((rc = tl_migrate__mkdir_p(cfg->log_dir, err)) || (rc = open_append(cfg->log_dir, "position.log", &r->position_log, err)) ||
	    (rc = open_append(cfg->log_dir, "finished.log", &r->finished_log, err))) {
		tl_recorder_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void tl_recorder_free(tl_recorder *r)
{
	if (!r)
		return;
	if (r->position_log)
		fclose(r->position_log);
	if (r->finished_log)
		fclose(r->finished_log);
	tl_buf_release(&r->line);
	tl_buf_release(&r->json);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static int append_line(FILE *f, const tl_buf *line, const char *name, tl_error *err)
{
	if (!f)
		return tl_error_set(err, TL_ERR_IO, "%s is not open (an earlier roll-over failed)", name);
	if (fwrite(line->data, 1, line->len, f) != line->len || fflush(f) != 0)
		return tl_error_set(err, TL_ERR_IO, "cannot append to %s in '%s': %s", name, "log_dir", strerror(errno));
	return 0;
}

static int ape_put(tl_recorder *r, const char *type, const tl_position *p, tl_error *err)
{
	tl_buf key = TL_BUF_INIT;
	tl_ape_row row;
	int rc;

	if (!r->ape->ops || !r->ape_conn)
		return 0;
	tl_buf_reset(&r->json);
	if ((rc = tl_buf_printf(&key, err, "%s-%s", p->schema, p->tb)) ||
	    (rc = tl_pos_write_json(p, TL_STYLE_ORDER_KEY, &r->json, err)))
		goto cleanup;
	row.resumer_type = type;
	row.position_key = tl_buf_cstr(&key);
	row.position_data = tl_buf_cstr(&r->json);
	rc = tl_driver_ape_store_put(r->ape, r->ape_conn, r->cfg->ape_schema, r->cfg->ape_table, r->cfg->task_id, &row,
				     err);
	if (rc)
		tl_error_prefix(err, "cannot record position of '%s.%s' in ape-dts table %s.%s", p->schema, p->tb,
				r->cfg->ape_schema, r->cfg->ape_table);
cleanup:
	tl_buf_release(&key);
	return rc;
}

void tl_recorder_set_worker(tl_recorder *r, const char *worker)
{
	pthread_mutex_lock(&r->mu);
	snprintf(r->source, sizeof(r->source), "worker %s", worker);
	pthread_mutex_unlock(&r->mu);
}

/*
 * One unit of store work, done again while it fails transiently (the store's server
 * restarting, a lost connection: the store reconnects at the next unit) for up to
 * TL_STORE_RETRY_SECS, with backoff. Every unit is idempotent: a position or a finish
 * repeated after its commit was lost writes the same rows again (a finish under a lease
 * finds itself done: tl_store_finish_leased). Under a fleet hold the unit gets a copy of
 * the lease and its outcome renews or loses the hold (fleet.c). Called with r->mu held.
 */
typedef int (*unit_fn)(tl_recorder *r, tl_store_lease *l, void *arg, tl_error *err);

static int store_unit(tl_recorder *r, tl_fleet_hold *h, int ends, const char *what, unit_fn fn, void *arg,
		      tl_error *err)
{
	double t0 = tl_migrate__now(), wait = 0.1;
	int rc;

	for (;;) {
		tl_store_lease l;
		double sent = 0;

		memset(&l, 0, sizeof(l));
		if (h && (rc = tl_fleet_hold_lease(h, &l, &sent, err)))
			return rc;
		rc = fn(r, h ? &l : NULL, arg, err);
		if (h)
			tl_fleet_hold_result(h, &l, sent, rc, ends, err);
		if (!rc || !tl_error_is_transient(err) || tl_migrate__now() - t0 + wait > TL_STORE_RETRY_SECS)
			return rc;
		tl_log(r->log, TL_LOG_WARN, "%s: %s; trying again in %.1f s", what, err ? err->message : "store failure",
		       wait);
		tl_migrate__sleep(wait);
		wait = wait * 2 < 5.0 ? wait * 2 : 5.0;
	}
}

struct pos_unit {
	const tl_position *pos;
	int is_current;
	const char *ts;
	int64_t rows;
};

static int put_position_unit(tl_recorder *r, tl_store_lease *l, void *arg, tl_error *err)
{
	struct pos_unit *u = arg;
	int rc;

	if ((rc = tl_store_begin(r->store, err)))
		return rc;
	rc = l ? tl_store_put_position_leased(r->store, l, r->cfg->task_id, u->pos, u->is_current, u->ts, r->source, 0,
					      u->rows, err)
	       : tl_store_put_position(r->store, r->cfg->task_id, u->pos, u->is_current, u->ts, r->source, 0, u->rows,
				       err);
	if (rc) {
		tl_store_rollback(r->store);
		return rc;
	}
	return tl_store_commit(r->store, err);
}

int tl_recorder_position(tl_recorder *r, const tl_position *pos, int is_current, int64_t rows_copied, tl_error *err)
{
	return tl_recorder_position_ex(r, NULL, pos, is_current, rows_copied, err);
}

int tl_recorder_position_ex(tl_recorder *r, tl_fleet_hold *h, const tl_position *pos, int is_current,
			    int64_t rows_copied, tl_error *err)
{
	char ts[32];
	int rc;
	double t0;
	struct pos_unit u;

	tl_position styled = TL_POSITION_INIT;

	pthread_mutex_lock(&r->mu);
	t0 = tl_migrate__now();
	/* The store keeps the record in the form the log line has, so an export reproduces it. */
	if ((rc = tl_pos_copy(&styled, pos, err)))
		goto cleanup;
	if (styled.nkeys == 1 && styled.type == TL_POS_RDB_SNAPSHOT)
		/* the seed's order_col form only for keyed batch positions: a split table's
		 * checkpoint in that form would not be honoured on resume (docs/tideline.md §5) */
		styled.form = r->cfg->position_format == TL_STYLE_ORDER_COL && !r->documents && is_current
				      ? TL_KEY_ORDER_COL
				      : TL_KEY_SINGLE;
	tl_logfmt_now(ts);
	tl_buf_reset(&r->line);
	if ((rc = tl_logfmt_format_position(&r->line, ts, is_current, &styled, TL_STYLE_ASIS, err)))
		goto cleanup;
	u.pos = &styled;
	u.is_current = is_current;
	u.ts = ts;
	u.rows = rows_copied;
	if ((rc = store_unit(r, h, 0, "recording a position", put_position_unit, &u, err)))
		goto cleanup;
	tl_fault_crash_point(r->fault, "after_store_commit");
	if ((rc = append_line(r->position_log, &r->line, "position.log", err)) || (rc = roll_position_log(r, err)))
		goto cleanup;
	rc = ape_put(r, "SnapshotDoing", pos, err);
cleanup:
	tl_pos_clear(&styled);
	r->records++;
	r->busy += tl_migrate__now() - t0;
	pthread_mutex_unlock(&r->mu);
	return rc;
}

static int put_finished_unit(tl_recorder *r, tl_store_lease *l, void *arg, tl_error *err)
{
	struct pos_unit *u = arg;

	return l ? tl_store_finish_leased(r->store, l, r->cfg->task_id, u->pos, u->ts, r->source, 0, u->rows, err)
		 : tl_store_put_finished(r->store, r->cfg->task_id, u->pos, u->ts, r->source, 0, u->rows, err);
}

int tl_recorder_finished(tl_recorder *r, const char *db_type, const char *schema, const char *tb,
			 int64_t rows_copied, tl_error *err)
{
	return tl_recorder_finished_ex(r, NULL, db_type, schema, tb, rows_copied, err);
}

int tl_recorder_finished_ex(tl_recorder *r, tl_fleet_hold *h, const char *db_type, const char *schema, const char *tb,
			    int64_t rows_copied, tl_error *err)
{
	tl_position fin = TL_POSITION_INIT;
	char ts[32];
	int rc;
	double t0;
	struct pos_unit u;

	pthread_mutex_lock(&r->mu);
	t0 = tl_migrate__now();
	if ((rc = tl_pos_set(&fin, TL_POS_RDB_SNAPSHOT_FINISHED, db_type, schema, tb, TL_KEY_ABSENT, 0, NULL, NULL, err)))
		goto cleanup;
	tl_logfmt_now(ts);
	tl_buf_reset(&r->line);
	if ((rc = tl_logfmt_format_finished(&r->line, ts, &fin, err)))
		goto cleanup;
	u.pos = &fin;
	u.is_current = 0;
	u.ts = ts;
	u.rows = rows_copied;
	/* under a lease the finish also ends the claim (done) */
	if ((rc = store_unit(r, h, 1, "recording a finished table", put_finished_unit, &u, err)))
		goto cleanup;
	tl_fault_crash_point(r->fault, "after_store_finished");
	if ((rc = append_line(r->finished_log, &r->line, "finished.log", err)))
		goto cleanup;
	rc = ape_put(r, "SnapshotFinished", &fin, err);
cleanup:
	tl_pos_clear(&fin);
	r->records++;
	r->busy += tl_migrate__now() - t0;
	pthread_mutex_unlock(&r->mu);
	return rc;
}

static int put_table_unit(tl_recorder *r, tl_store_lease *l, void *arg, tl_error *err)
{
	int rc;

	if (!l)
		return tl_store_put_table(r->store, r->cfg->task_id, arg, err);
	/* a worker whose lease was taken over must not overwrite the new holder's statistics */
	if ((rc = tl_store_begin(r->store, err)))
		return rc;
	if ((rc = tl_store_fence(r->store, l, err)) || (rc = tl_store_put_table(r->store, r->cfg->task_id, arg, err))) {
		tl_store_rollback(r->store);
		return rc;
	}
	return tl_store_commit(r->store, err);
}

int tl_recorder_table(tl_recorder *r, const tl_store_table *t, tl_error *err)
{
	return tl_recorder_table_ex(r, NULL, t, err);
}

int tl_recorder_table_ex(tl_recorder *r, tl_fleet_hold *h, const tl_store_table *t, tl_error *err)
{
	int rc;

	pthread_mutex_lock(&r->mu);
	rc = store_unit(r, h, 0, "recording table statistics", put_table_unit, (void *)t, err);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

/*
 * The end of a member of a split table's group (a chunk, rows >= 0) or of the group's own
 * item (the cut is complete, rows < 0), and what it means for the table, in one store
 * transaction: the item ends (fenced), the group's row is locked and read (so exactly one
 * worker sees the table complete), the table's checkpoint position becomes the lower
 * bound of its first chunk not done (every chunk before it is committed: what a run
 * without --worker resumes from), its statistics the rows of the done chunks, and its
 * finished record is written when the cut is complete and every chunk is done.
 */
struct group_unit {
	const tl_recorder_group *g;
	int64_t rows;
	const char *ts;
	/* results of the last attempt */
	char *frontier; /* the new checkpoint value, or NULL */
	int finished;
	int64_t table_rows;
};

static int group_unit(tl_recorder *r, tl_store_lease *l, void *arg, tl_error *err)
{
	struct group_unit *u = arg;
	const tl_recorder_group *g = u->g;
	const char *task = r->cfg->task_id;
	tl_store_group gs;
	tl_store_table t;
	tl_position p = TL_POSITION_INIT;
	const char *col = g->part_col;
	int64_t base = 0, empty = 0;
	int rc;

	memset(&gs, 0, sizeof(gs));
	free(u->frontier);
	u->frontier = NULL;
	u->finished = 0;
	if ((rc = tl_store_begin(r->store, err)))
		return rc;
	if (u->rows >= 0 && (rc = tl_store_item_progress(r->store, l, NULL, u->rows, err)))
		goto cleanup;
	if ((rc = tl_store_end(r->store, l, TL_STORE_DONE, u->rows >= 0 ? NULL : "cut into chunks", err)) ||
	    (rc = tl_store_group_state(r->store, task, "table", g->key, "chunk", g->prefix, &gs, err)))
		goto cleanup;
	if ((rc = tl_fleet_json_i64(gs.progress, "base", &base, err)) ||
	    (rc = tl_fleet_json_i64(gs.progress, "empty", &empty, err)))
		goto cleanup;
	u->table_rows = base + gs.rows_done;
	u->finished = gs.state && strcmp(gs.state, "done") == 0 && gs.open == 0 && gs.failed == 0;
	if (!u->finished && gs.first_open && (rc = tl_fleet_json_text(gs.first_open, "lo", &u->frontier, err)))
		goto cleanup;
	if (u->frontier) {
		const char *val = u->frontier;

		if ((rc = tl_pos_set(&p, TL_POS_RDB_SNAPSHOT, g->db_type, g->schema, g->tb, TL_KEY_SINGLE, 1, &col, &val,
				     err)) ||
		    (rc = tl_store_put_position(r->store, task, &p, 0, u->ts, r->source, 0, -1, err)))
			goto cleanup;
	}
	memset(&t, 0, sizeof(t));
	t.schema = g->schema;
	t.tb = g->tb;
	t.est_rows = g->est_rows;
	t.rows_copied = u->table_rows;
	t.target_empty_at_start = empty != 0;
	t.mode = "split";
	t.state = u->finished ? "finished" : "running";
	t.target_rows_at_finish = u->finished && empty ? u->table_rows : -1;
	if ((rc = tl_store_put_table(r->store, task, &t, err)))
		goto cleanup;
	if (u->finished) {
		tl_pos_clear(&p);
		if ((rc = tl_pos_set(&p, TL_POS_RDB_SNAPSHOT_FINISHED, g->db_type, g->schema, g->tb, TL_KEY_ABSENT, 0, NULL,
				     NULL, err)) ||
		    (rc = tl_store_put_finished(r->store, task, &p, u->ts, r->source, 0, u->table_rows, err)))
			goto cleanup;
	}
cleanup:
	tl_pos_clear(&p);
	tl_store_group_clear(&gs);
	if (rc) {
		tl_store_rollback(r->store);
		return rc;
	}
	return tl_store_commit(r->store, err);
}

int tl_recorder_group_end(tl_recorder *r, tl_fleet_hold *h, const tl_recorder_group *g, int64_t rows, int *finished,
			  tl_error *err)
{
	tl_position p = TL_POSITION_INIT;
	struct group_unit u;
	char ts[32];
	const char *col = g->part_col;
	double t0;
	int rc;

	memset(&u, 0, sizeof(u));
	u.g = g;
	u.rows = rows;
	u.ts = ts;
	*finished = 0;
	pthread_mutex_lock(&r->mu);
	t0 = tl_migrate__now();
	tl_logfmt_now(ts);
	if ((rc = store_unit(r, h, 1, rows >= 0 ? "recording a chunk" : "recording a cut table", group_unit, &u, err)))
		goto cleanup;
	*finished = u.finished;
	/* then the text logs, as for any record: the store first */
	if (u.frontier) {
		const char *val = u.frontier;

		tl_buf_reset(&r->line);
		if ((rc = tl_pos_set(&p, TL_POS_RDB_SNAPSHOT, g->db_type, g->schema, g->tb, TL_KEY_SINGLE, 1, &col, &val,
				     err)) ||
		    (rc = tl_logfmt_format_position(&r->line, ts, 0, &p, TL_STYLE_ASIS, err)) ||
		    (rc = append_line(r->position_log, &r->line, "position.log", err)) || (rc = roll_position_log(r, err)) ||
		    (rc = ape_put(r, "SnapshotDoing", &p, err)))
			goto cleanup;
	}
	if (u.finished) {
		tl_pos_clear(&p);
		tl_buf_reset(&r->line);
		if ((rc = tl_pos_set(&p, TL_POS_RDB_SNAPSHOT_FINISHED, g->db_type, g->schema, g->tb, TL_KEY_ABSENT, 0, NULL,
				     NULL, err)) ||
		    (rc = tl_logfmt_format_finished(&r->line, ts, &p, err)) ||
		    (rc = append_line(r->finished_log, &r->line, "finished.log", err)))
			goto cleanup;
		rc = ape_put(r, "SnapshotFinished", &p, err);
	}
cleanup:
	tl_pos_clear(&p);
	free(u.frontier);
	r->records++;
	r->busy += tl_migrate__now() - t0;
	pthread_mutex_unlock(&r->mu);
	return rc;
}

int tl_recorder_lookup(tl_recorder *r, const char *schema, const char *tb, int checkpoint_only, tl_store_hit *out,
		       int64_t *rows_done, tl_error *err)
{
	tl_store_table st;
	int rc;

	pthread_mutex_lock(&r->mu);
	*rows_done = -1;
	if (tl_store_get_table(r->store, r->cfg->task_id, schema, tb, &st, NULL) == 0)
		*rows_done = st.rows_copied;
	rc = tl_store_lookup(r->store, r->cfg->task_id, schema, tb, checkpoint_only, out, err);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

int tl_recorder_get_table(tl_recorder *r, const char *schema, const char *tb, tl_store_table *out)
{
	int rc;

	pthread_mutex_lock(&r->mu);
	rc = tl_store_get_table(r->store, r->cfg->task_id, schema, tb, out, NULL);
	/* the strings are lent by the store until its next call: do not hand them out */
	out->schema = out->tb = out->mode = out->state = NULL;
	pthread_mutex_unlock(&r->mu);
	return rc;
}

int tl_recorder_def_steps(tl_recorder *r, const tl_store_def_step *steps, size_t n, tl_error *err)
{
	int rc;

	pthread_mutex_lock(&r->mu);
	rc = tl_store_def_steps_put(r->store, r->cfg->task_id, steps, n, err);
	pthread_mutex_unlock(&r->mu);
	return rc;
}
