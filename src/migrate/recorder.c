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
	tl_buf line;
	tl_buf json;
	int documents; /* MongoDB: positions always in the current order_key form (docs/ape-dts-resume.md §2.5) */
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
	r->documents = (env->src.ops->caps & TL_CAP_DOCUMENTS) != 0;
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

int tl_recorder_position(tl_recorder *r, const tl_position *pos, int is_current, int64_t rows_copied, tl_error *err)
{
	char ts[32];
	int rc;
	double t0;

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
	if ((rc = tl_store_begin(r->store, err)))
		goto cleanup;
	rc = tl_store_put_position(r->store, r->cfg->task_id, &styled, is_current, ts, "run", 0, rows_copied, err);
	if (rc) {
		tl_store_rollback(r->store);
		goto cleanup;
	}
	if ((rc = tl_store_commit(r->store, err)))
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

int tl_recorder_finished(tl_recorder *r, const char *db_type, const char *schema, const char *tb,
			 int64_t rows_copied, tl_error *err)
{
	tl_position fin = TL_POSITION_INIT;
	char ts[32];
	int rc;
	double t0;

	pthread_mutex_lock(&r->mu);
	t0 = tl_migrate__now();
	if ((rc = tl_pos_set(&fin, TL_POS_RDB_SNAPSHOT_FINISHED, db_type, schema, tb, TL_KEY_ABSENT, 0, NULL, NULL, err)))
		goto cleanup;
	tl_logfmt_now(ts);
	tl_buf_reset(&r->line);
	if ((rc = tl_logfmt_format_finished(&r->line, ts, &fin, err)))
		goto cleanup;
	if ((rc = tl_store_put_finished(r->store, r->cfg->task_id, &fin, ts, "run", 0, rows_copied, err)))
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

int tl_recorder_table(tl_recorder *r, const tl_store_table *t, tl_error *err)
{
	int rc;

	pthread_mutex_lock(&r->mu);
	rc = tl_store_put_table(r->store, r->cfg->task_id, t, err);
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
