/*
 * sources.c - brings the configured progress sources into the store at the start of a
 * run (tideline.md §4): resume_type=from_log reads resume.config, then the position logs
 * of the resumer log dir oldest first (position10.log … position.log), then finished.log,
 * merged with ape-dts precedence by tl_resume_set; from_target/from_db read ape-dts'
 * database store through the driver. A text source is re-imported only when its content
 * changed since the last import for this task, so records the run wrote to the store
 * are not overwritten by the same old lines on every start. Any unusable line fails the
 * run with FILE:LINE: reason (never a silent skip).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "migrate/migrate.h"
#include "tideline/logfmt.h"
#include "tideline/resume.h"

/* 64-bit FNV-1a over a whole file; -1 size when the file does not exist. */
static int file_fingerprint(const char *path, int64_t *size, uint64_t *hash, tl_error *err)
{
	unsigned char buf[65536];
	uint64_t h = 1469598103934665603ull;
	int64_t total = 0;
	size_t n, i;
	FILE *f = fopen(path, "rb");

	if (!f) {
		if (errno == ENOENT) {
			*size = -1;
			*hash = 0;
			return 0;
		}
		return tl_error_set(err, TL_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		for (i = 0; i < n; i++) {
			h ^= buf[i];
			h *= 1099511628211ull;
		}
		total += (int64_t)n;
	}
	if (ferror(f)) {
		fclose(f);
		return tl_error_set(err, TL_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
	}
	fclose(f);
	*size = total;
	*hash = h;
	return 0;
}

struct src_file {
	char *path;
	int64_t size;
	uint64_t hash;
};

static int add_path(struct src_file **files, size_t *n, const char *path, tl_error *err)
{
	struct src_file *nf = realloc(*files, (*n + 1) * sizeof(*nf));

	if (!nf)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	*files = nf;
	nf[*n].path = tl_strdup(path);
	if (!nf[*n].path)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	(*n)++;
	return file_fingerprint(path, &nf[*n - 1].size, &nf[*n - 1].hash, err);
}

static void free_files(struct src_file *files, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(files[i].path);
	free(files);
}

/* Text sources of resume_type=from_log, in reading order. */
static int text_sources(const tl_config *cfg, struct src_file **files, size_t *n, tl_error *err)
{
	char **plogs = NULL;
	char path[4096];
	size_t i;
	int rc = 0;

	if (cfg->resume_config_file && (rc = add_path(files, n, cfg->resume_config_file, err)))
		return rc;
	if (!cfg->resume_log_dir)
		return 0;
	if ((rc = tl_logfmt_position_files(cfg->resume_log_dir, &plogs, err)))
		return rc;
	for (i = 0; plogs[i]; i++)
		if ((rc = add_path(files, n, plogs[i], err)))
			goto cleanup;
	snprintf(path, sizeof(path), "%s/finished.log", cfg->resume_log_dir);
	rc = add_path(files, n, path, err);
cleanup:
	tl_logfmt_free_paths(plogs);
	return rc;
}

static int import_text(const tl_config *cfg, tl_store *store, tl_logger *log, tl_error *err)
{
	struct src_file *files = NULL;
	size_t n = 0, i, nbad = 0;
	tl_resume_set *set = NULL;
	int *fresh = NULL;
	int changed = 0, rc;

	if ((rc = text_sources(cfg, &files, &n, err)))
		goto cleanup;
	fresh = calloc(n ? n : 1, sizeof(int));
	if (!fresh) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		int seen = 0;
		if (files[i].size < 0) {
			tl_log(log, TL_LOG_WARN, "resume source '%s' does not exist", files[i].path);
			continue;
		}
		if ((rc = tl_store_source_seen(store, cfg->task_id, files[i].path, files[i].size, files[i].hash, &seen, err)))
			goto cleanup;
		if (!seen)
			changed = fresh[i] = 1;
	}
	if (!changed) {
		tl_log(log, TL_LOG_INFO, "resume sources unchanged since their last import; using the store");
		goto cleanup;
	}
	if ((rc = tl_resume_set_new(&set, err)))
		goto cleanup;
	/* Only what changed: unchanged files were merged before and the run has moved on since. */
	for (i = 0; i < n; i++) {
		if (!fresh[i])
			continue;
		if ((rc = tl_resume_add_file(set, files[i].path, 0, &nbad, err)))
			goto cleanup;
	}
	if ((rc = tl_store_import_set(store, cfg->task_id, set, err)))
		goto cleanup;
	for (i = 0; i < n; i++)
		if (fresh[i] &&
		    (rc = tl_store_source_mark(store, cfg->task_id, files[i].path, files[i].size, files[i].hash, err)))
			goto cleanup;
	tl_log(log, TL_LOG_INFO, "imported %zu table records from %zu resume source(s)", tl_resume_count(set), n);
cleanup:
	tl_resume_set_free(set);
	free(fresh);
	free_files(files, n);
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
	/* §4.4: the database store does not tell current from checkpoint; both modes use it. */
	rc = tl_resume_add(ctx->set, &p, 0, ctx->source, 0, err);
	tl_pos_clear(&p);
	ctx->rows++;
	return rc;
}

static int import_ape(const tl_config *cfg, const struct tl_driver_ops *ops, tl_store *store, tl_logger *log,
		      tl_error *err)
{
	tl_endpoint ep = tl_config_resumer(cfg);
	struct ape_ctx ctx = {NULL, NULL, log, 0};
	tl_conn *c = NULL;
	tl_buf source = TL_BUF_INIT;
	int rc;

	if (!ops->ape_store_load)
		return tl_error_set(err, TL_ERR_UNSUPPORTED, "db_type %s cannot hold ape-dts' position table", ops->name);
	if ((rc = tl_buf_printf(&source, err, "ape-dts:%s.%s", cfg->ape_schema, cfg->ape_table)))
		goto cleanup;
	ctx.source = tl_buf_cstr(&source);
	if ((rc = ops->connect(&ep, &c, err)) || (rc = tl_resume_set_new(&ctx.set, err)))
		goto cleanup;
	if ((rc = ops->ape_store_init(c, cfg->ape_schema, cfg->ape_table, err)))
		goto cleanup;
	if ((rc = ops->ape_store_load(c, cfg->ape_schema, cfg->ape_table, cfg->task_id, on_ape_row, &ctx, err)))
		goto cleanup;
	if ((rc = tl_store_import_set(store, cfg->task_id, ctx.set, err)))
		goto cleanup;
	tl_log(log, TL_LOG_INFO, "imported %zu rows of task '%s' from %s", ctx.rows, cfg->task_id, ctx.source);
cleanup:
	tl_resume_set_free(ctx.set);
	if (c)
		ops->disconnect(c);
	tl_buf_release(&source);
	return rc;
}

/*
 * --init: this task starts over. The run's own text logs in [runtime] log_dir are moved
 * aside (NAME.init-YYYYmmddTHHMMSS) so the fresh run appends to new files, and every
 * configured text source is marked as imported in its current state, so an interrupted
 * --init run is later resumed from its own progress, never from records older than it.
 */
int tl_migrate_init_sources(const tl_config *cfg, tl_store *store, tl_logger *log, tl_error *err)
{
	static const char *const names[] = {"position.log", "position1.log", "position2.log", "position3.log",
					    "position4.log", "position5.log", "position6.log", "position7.log",
					    "position8.log", "position9.log", "position10.log", "finished.log"};
	struct src_file *files = NULL;
	char stamp[32], from[4096], to[4160];
	time_t now = time(NULL);
	struct tm tm;
	size_t n = 0, i;
	int rc = 0;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(from, sizeof(from), "%s/%s", cfg->log_dir, names[i]);
		snprintf(to, sizeof(to), "%s.init-%s", from, stamp);
		if (access(from, F_OK) != 0)
			continue;
		if (rename(from, to) != 0)
			return tl_error_set(err, TL_ERR_IO, "--init: cannot move '%s' aside: %s", from, strerror(errno));
		tl_log(log, TL_LOG_NOTICE, "--init: moved %s to %s", from, to);
	}
	if (cfg->resume_type != TL_RESUME_FROM_LOG)
		return 0;
	if ((rc = text_sources(cfg, &files, &n, err)))
		goto cleanup;
	for (i = 0; i < n; i++)
		if (files[i].size >= 0 &&
		    (rc = tl_store_source_mark(store, cfg->task_id, files[i].path, files[i].size, files[i].hash, err)))
			goto cleanup;
cleanup:
	free_files(files, n);
	return rc;
}

int tl_migrate_import_sources(const tl_config *cfg, const struct tl_driver_ops *ape_ops, tl_store *store,
			      tl_logger *log, tl_error *err)
{
	switch (cfg->resume_type) {
	case TL_RESUME_FROM_LOG:
		return import_text(cfg, store, log, err);
	case TL_RESUME_FROM_TARGET:
	case TL_RESUME_FROM_DB:
		return import_ape(cfg, ape_ops, store, log, err);
	default:
		return 0;
	}
}
