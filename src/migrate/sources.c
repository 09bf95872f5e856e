/*
 * sources.c - brings the configured progress sources into the store at the start of a
 * run (docs/tideline.md §4): resume_type=from_log reads resume.config, then the position
 * logs of the resumer log dir oldest first (position10.log … position.log), then
 * finished.log, merged with ape-dts precedence by the importer (importer.c);
 * from_target/from_db read ape-dts' database store through the driver. A text source is
 * re-imported only when its content changed since the last import for this task, so
 * records the run wrote to the store are not overwritten by the same old lines on every
 * start. Any unusable line fails the run with FILE:LINE: reason (never a silent skip).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "migrate/migrate.h"

/* Reads the text sources of resume_type=from_log into im, in reading order (missing ones kept as such). */
static int read_text_sources(const tl_config *cfg, tl_importer *im, tl_error *err)
{
	char **plogs = NULL;
	char path[4096];
	size_t i, idx;
	int rc = 0;

	if (cfg->resume_config_file && (rc = tl_importer_read(im, cfg->resume_config_file, 1, &idx, err)))
		return rc;
	if (!cfg->resume_log_dir)
		return 0;
	if ((rc = tl_logfmt_position_files(cfg->resume_log_dir, &plogs, err)))
		return rc;
	for (i = 0; plogs[i]; i++)
		if ((rc = tl_importer_read(im, plogs[i], 1, &idx, err)))
			goto cleanup;
	snprintf(path, sizeof(path), "%s/finished.log", cfg->resume_log_dir);
	rc = tl_importer_read(im, path, 1, &idx, err);
cleanup:
	tl_logfmt_free_paths(plogs);
	return rc;
}

static int import_text(const tl_migrate_env *env, tl_error *err)
{
	const tl_config *cfg = env->cfg;
	tl_importer *im = NULL;
	size_t i, n, fresh = 0;
	int rc;

	if ((rc = tl_importer_new(&im, err)) || (rc = read_text_sources(cfg, im, err)))
		goto cleanup;
	n = tl_importer_nfiles(im);
	/* Only what changed: unchanged files were merged before and the run has moved on since. */
	for (i = 0; i < n; i++) {
		int seen = 0;
		if (tl_importer_size(im, i) < 0) {
			tl_log(env->log, TL_LOG_WARN, "resume source '%s' does not exist", tl_importer_path(im, i));
			continue;
		}
		if ((rc = tl_store_source_seen(env->store, cfg->task_id, tl_importer_path(im, i), tl_importer_size(im, i),
					       tl_importer_hash(im, i), &seen, err)))
			goto cleanup;
		if (seen)
			continue;
		if ((rc = tl_importer_parse(im, i, NULL, NULL, err)))
			goto cleanup;
		fresh++;
	}
	if (!fresh) {
		tl_log(env->log, TL_LOG_INFO, "resume sources unchanged since their last import; using the store");
		goto cleanup;
	}
	if ((rc = tl_importer_store(im, env->store, cfg->task_id, NULL, err)))
		goto cleanup;
	tl_log(env->log, TL_LOG_INFO, "imported %zu table records from %zu resume source(s)",
	       tl_resume_count(tl_importer_set(im)), n);
cleanup:
	tl_importer_free(im);
	return rc;
}

struct ape_ctx {
	tl_resume_set *set;
	const char *source;
	tl_logger *log;
	size_t rows;
};

static int on_ape_row(void *vctx, const tl_ape_row *row, tl_error *err)
{
	struct ape_ctx *ctx = vctx;
	tl_position p = TL_POSITION_INIT;
	int rc;

	if (!row->position_data) {
		tl_log(ctx->log, TL_LOG_WARN, "%s: row %s/%s has no position_data (ignored)", ctx->source,
		       row->resumer_type, row->position_key);
		return 0;
	}
	if (strcmp(row->resumer_type, "SnapshotDoing") != 0 && strcmp(row->resumer_type, "SnapshotFinished") != 0)
		return 0; /* CDC rows are kept in their table, not used by a snapshot */
	rc = tl_pos_parse_json(&p, row->position_data, strlen(row->position_data), err);
	if (rc) {
		tl_error_prefix(err, "%s: row %s '%s'", ctx->source, row->resumer_type, row->position_key);
		return rc;
	}
	/* docs/ape-dts-resume.md §4.4: the database store does not tell current from
	 * checkpoint; both modes use it. */
	rc = tl_resume_add(ctx->set, &p, 0, ctx->source, 0, err);
	tl_pos_clear(&p);
	ctx->rows++;
	return rc;
}

static int import_ape(const tl_migrate_env *env, tl_error *err)
{
	const tl_config *cfg = env->cfg;
	struct ape_ctx ctx = {NULL, NULL, env->log, 0};
	tl_buf source = TL_BUF_INIT;
	int rc;

	if (!env->ape_conn)
		return tl_error_set(err, TL_ERR_INTERNAL, "ape-dts' store %s.%s is not open", cfg->ape_schema,
				    cfg->ape_table);
	if ((rc = tl_buf_printf(&source, err, "ape-dts:%s.%s", cfg->ape_schema, cfg->ape_table)))
		goto cleanup;
	ctx.source = tl_buf_cstr(&source);
	if ((rc = tl_resume_set_new(&ctx.set, err)))
		goto cleanup;
	if ((rc = tl_driver_ape_store_load(&env->ape, env->ape_conn, cfg->ape_schema, cfg->ape_table, cfg->task_id,
					   on_ape_row, &ctx, err)))
		goto cleanup;
	if ((rc = tl_store_import_set(env->store, cfg->task_id, ctx.set, err)))
		goto cleanup;
	tl_log(env->log, TL_LOG_INFO, "imported %zu rows of task '%s' from %s", ctx.rows, cfg->task_id, ctx.source);
cleanup:
	tl_resume_set_free(ctx.set);
	tl_buf_release(&source);
	return rc;
}

/*
 * --init: this task starts over (and --recopy-lost: some tables do). The run's own text
 * logs in [runtime] log_dir are moved aside (NAME.<label>-YYYYmmddTHHMMSS) so the run
 * appends to new files, and every configured text source is marked as imported in its
 * current state, so an interrupted run is later resumed from its own progress (the store),
 * never from records older than it.
 */
int tl_migrate_init_sources(const tl_migrate_env *env, const char *label, tl_error *err)
{
	static const char *const names[] = {"position.log", "position1.log", "position2.log", "position3.log",
					    "position4.log", "position5.log", "position6.log", "position7.log",
					    "position8.log", "position9.log", "position10.log", "finished.log"};
	const tl_config *cfg = env->cfg;
	tl_importer *im = NULL;
	char stamp[32], from[4096], to[4160];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;
	int rc = 0;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(from, sizeof(from), "%s/%s", cfg->log_dir, names[i]);
		snprintf(to, sizeof(to), "%s.%s-%s", from, label, stamp);
		if (access(from, F_OK) != 0)
			continue;
		if (rename(from, to) != 0)
			return tl_error_set(err, TL_ERR_IO, "--%s: cannot move '%s' aside: %s", label, from, strerror(errno));
		tl_log(env->log, TL_LOG_NOTICE, "--%s: moved %s to %s", label, from, to);
	}
	if (cfg->resume_type != TL_RESUME_FROM_LOG)
		return 0;
	if ((rc = tl_importer_new(&im, err)) || (rc = read_text_sources(cfg, im, err)))
		goto cleanup;
	for (i = 0; i < tl_importer_nfiles(im); i++)
		if (tl_importer_size(im, i) >= 0 &&
		    (rc = tl_store_source_mark(env->store, cfg->task_id, tl_importer_path(im, i), tl_importer_size(im, i),
					       tl_importer_hash(im, i), err)))
			goto cleanup;
cleanup:
	tl_importer_free(im);
	return rc;
}

int tl_migrate_import_sources(const tl_migrate_env *env, tl_error *err)
{
	switch (env->cfg->resume_type) {
	case TL_RESUME_FROM_LOG:
		return import_text(env, err);
	case TL_RESUME_FROM_TARGET:
	case TL_RESUME_FROM_DB:
		return import_ape(env, err);
	default:
		return 0;
	}
}
