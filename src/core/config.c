/*
 * config.c - loads a task file (ape-dts INI layout) into a tl_config.
 *
 * The only file that includes ini.h. A declarative table lists every key we know, its
 * section, type and the field it fills; the inih callback is the only place where
 * "non-zero means success" appears. Rules (ape-dts-resume.md §1, tideline.md §2):
 * sections and keys are case-insensitive, an empty value is the same as an absent key,
 * unknown sections/keys are warnings, a malformed value is an error naming
 * FILE:LINE, section, key and value. Both the seed's [resumer] keys and the current ones
 * are accepted; when both are given and disagree, that is an error naming both.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "tideline/buf.h"
#include "tideline/config.h"

enum vtype { V_STR, V_SIZE, V_UINT, V_BOOL, V_IGNORED };

/* Raw values as read, before defaults and cross-key rules. */
struct raw {
	char *resume_type, *resume_log_dir_new, *resume_config_new;
	char *legacy_from_log, *legacy_log_dir, *legacy_config;
	int has_legacy;
	char *table_full_name, *position_format, *extract_type, *parallel_type;
	char *tb_parallel_size;
	size_t parallel_size_set, extract_batch_set, buffer_set, sink_batch_set, interval_set;
	char *replace;
};

struct loader {
	tl_config *cfg;
	struct raw raw;
	FILE *fp;
	long line;
	int line_too_long;
	tl_error *err;
	int failed;
};

#define CFG_OFF(f) offsetof(tl_config, f)
#define RAW_OFF(f) offsetof(struct raw, f)

/* One row per key: where it goes (cfg field or raw field) and how it parses. */
static const struct key_def {
	const char *section;
	const char *key;
	enum vtype type;
	int in_raw; /* 1: offset into struct raw (strings only) */
	size_t off;
} keys[] = {
	{"extractor", "db_type", V_STR, 0, CFG_OFF(src_db_type)},
	{"extractor", "url", V_STR, 0, CFG_OFF(src_url)},
	{"extractor", "username", V_STR, 0, CFG_OFF(src_username)},
	{"extractor", "password", V_STR, 0, CFG_OFF(src_password)},
	{"extractor", "batch_size", V_SIZE, 0, CFG_OFF(extract_batch_size)},
	{"extractor", "parallel_size", V_SIZE, 0, CFG_OFF(parallel_size)},
	{"extractor", "parallel_type", V_STR, 1, RAW_OFF(parallel_type)},
	{"extractor", "partition_cols", V_STR, 0, CFG_OFF(partition_cols)},
	{"extractor", "extract_type", V_STR, 1, RAW_OFF(extract_type)},
	{"sinker", "db_type", V_STR, 0, CFG_OFF(dst_db_type)},
	{"sinker", "url", V_STR, 0, CFG_OFF(dst_url)},
	{"sinker", "username", V_STR, 0, CFG_OFF(dst_username)},
	{"sinker", "password", V_STR, 0, CFG_OFF(dst_password)},
	{"sinker", "batch_size", V_SIZE, 0, CFG_OFF(sink_batch_size)},
	{"sinker", "replace", V_STR, 1, RAW_OFF(replace)},
	{"sinker", "sink_type", V_IGNORED, 0, 0},
	{"filter", "do_dbs", V_STR, 0, CFG_OFF(do_dbs)},
	{"filter", "ignore_dbs", V_STR, 0, CFG_OFF(ignore_dbs)},
	{"filter", "do_tbs", V_STR, 0, CFG_OFF(do_tbs)},
	{"filter", "ignore_tbs", V_STR, 0, CFG_OFF(ignore_tbs)},
	{"filter", "where_conditions", V_STR, 0, CFG_OFF(where_conditions)},
	{"filter", "do_events", V_IGNORED, 0, 0},
	{"filter", "do_ddls", V_IGNORED, 0, 0},
	{"filter", "do_structures", V_IGNORED, 0, 0},
	{"filter", "ignore_cols", V_IGNORED, 0, 0},
	{"router", "db_map", V_IGNORED, 0, 0},
	{"router", "tb_map", V_IGNORED, 0, 0},
	{"router", "col_map", V_IGNORED, 0, 0},
	{"router", "topic_map", V_IGNORED, 0, 0},
	{"parallelizer", "parallel_type", V_IGNORED, 0, 0},
	{"parallelizer", "parallel_size", V_IGNORED, 0, 0},
	{"pipeline", "buffer_size", V_SIZE, 0, CFG_OFF(buffer_size)},
	{"pipeline", "checkpoint_interval_secs", V_UINT, 0, CFG_OFF(checkpoint_interval_secs)},
	{"pipeline", "max_rps", V_IGNORED, 0, 0},
	{"pipeline", "counter_time_window_secs", V_IGNORED, 0, 0},
	{"runtime", "log_dir", V_STR, 0, CFG_OFF(log_dir)},
	{"runtime", "log_level", V_STR, 0, CFG_OFF(log_level)},
	{"runtime", "log4rs_file", V_IGNORED, 0, 0},
	{"runtime", "position_format", V_STR, 1, RAW_OFF(position_format)},
	{"runtime", "tb_parallel_size", V_STR, 1, RAW_OFF(tb_parallel_size)},
	{"resumer", "resume_type", V_STR, 1, RAW_OFF(resume_type)},
	{"resumer", "log_dir", V_STR, 1, RAW_OFF(resume_log_dir_new)},
	{"resumer", "config_file", V_STR, 1, RAW_OFF(resume_config_new)},
	{"resumer", "resume_from_log", V_STR, 1, RAW_OFF(legacy_from_log)},
	{"resumer", "resume_log_dir", V_STR, 1, RAW_OFF(legacy_log_dir)},
	{"resumer", "resume_config_file", V_STR, 1, RAW_OFF(legacy_config)},
	{"resumer", "url", V_STR, 0, CFG_OFF(resume_url)},
	{"resumer", "db_type", V_STR, 0, CFG_OFF(resume_db_type)},
	{"resumer", "username", V_STR, 0, CFG_OFF(resume_username)},
	{"resumer", "password", V_STR, 0, CFG_OFF(resume_password)},
	{"resumer", "table_full_name", V_STR, 1, RAW_OFF(table_full_name)},
	{"resumer", "max_connections", V_IGNORED, 0, 0},
	{"resumer", "ssl_mode", V_IGNORED, 0, 0},
	{"resumer", "ssl_ca_path", V_IGNORED, 0, 0},
	{"resumer", "is_direct_connection", V_IGNORED, 0, 0},
	{"resumer", "store", V_STR, 0, CFG_OFF(store_path)},
	{"global", "task_id", V_STR, 0, CFG_OFF(task_id)},
};

static char *read_line(char *str, int num, void *stream)
{
	struct loader *ld = stream;
	char *r = fgets(str, num, ld->fp);
	size_t n;

	if (!r)
		return NULL;
	ld->line++;
	n = strlen(str);
	if (n == (size_t)num - 1 && str[n - 1] != '\n' && !feof(ld->fp)) {
		int c;
		ld->line_too_long = 1;
		/* Skip the rest of the physical line so line numbers stay right. */
		while ((c = fgetc(ld->fp)) != EOF && c != '\n')
			;
	}
	return r;
}

static int add_warning(tl_config *cfg, const char *fmt, const char *a, const char *b, long line)
{
	char msg[512];
	char **nw;

	snprintf(msg, sizeof(msg), fmt, cfg->path, line, a, b);
	nw = realloc(cfg->warnings, (cfg->nwarnings + 2) * sizeof(char *));
	if (!nw)
		return -1;
	cfg->warnings = nw;
	nw[cfg->nwarnings] = tl_strdup(msg);
	if (!nw[cfg->nwarnings])
		return -1;
	nw[++cfg->nwarnings] = NULL;
	return 0;
}

static int parse_size(const char *v, unsigned long long max, unsigned long long *out)
{
	char *end = NULL;
	unsigned long long x;

	if (!isdigit((unsigned char)v[0]))
		return -1;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end != '\0' || x > max)
		return -1;
	*out = x;
	return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct loader *ld = user;
	tl_config *cfg = ld->cfg;
	size_t i;
	int section_known = 0;

	if (ld->failed)
		return 0;
	if (ld->line_too_long) {
		tl_error_set(ld->err, TL_ERR_CONFIG, "%s:%ld: [%s] %s: line too long (at most 199 characters)",
			     cfg->path, ld->line, section, name);
		ld->failed = 1;
		return 0;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct key_def *k = &keys[i];
		char *base;

		if (strcasecmp(k->section, section) != 0)
			continue;
		section_known = 1;
		if (strcasecmp(k->key, name) != 0)
			continue;
		if (strcasecmp(section, "resumer") == 0 &&
		    (strcasecmp(name, "resume_from_log") == 0 || strcasecmp(name, "resume_log_dir") == 0 ||
		     strcasecmp(name, "resume_config_file") == 0))
			ld->raw.has_legacy = 1;
		if (value[0] == '\0' || k->type == V_IGNORED)
			return 1; /* empty value = absent key */
		base = k->in_raw ? (char *)&ld->raw : (char *)cfg;
		if (k->type == V_STR) {
			char **slot = (char **)(base + k->off);
			free(*slot);
			*slot = tl_strdup(value);
			if (!*slot)
				goto nomem;
		} else {
			unsigned long long x;
			if (parse_size(value, k->type == V_UINT ? 86400ull * 365 : 1ull << 40, &x) != 0) {
				tl_error_set(ld->err, TL_ERR_CONFIG,
					     "%s:%ld: [%s] %s=%s can not be parsed as a non-negative integer",
					     cfg->path, ld->line, section, name, value);
				ld->failed = 1;
				return 0;
			}
			if (k->type == V_UINT)
				*(unsigned *)(base + k->off) = (unsigned)x;
			else
				*(size_t *)(base + k->off) = (size_t)x;
			if (k->off == CFG_OFF(parallel_size))
				ld->raw.parallel_size_set = 1;
			else if (k->off == CFG_OFF(extract_batch_size))
				ld->raw.extract_batch_set = 1;
			else if (k->off == CFG_OFF(buffer_size))
				ld->raw.buffer_set = 1;
			else if (k->off == CFG_OFF(sink_batch_size))
				ld->raw.sink_batch_set = 1;
			else if (k->off == CFG_OFF(checkpoint_interval_secs))
				ld->raw.interval_set = 1;
		}
		return 1;
	}
	if (add_warning(cfg, section_known ? "%s:%ld: unknown key [%s] %s (ignored)"
					   : "%s:%ld: unknown section [%s] (key %s ignored)",
			section, name, ld->line) != 0)
		goto nomem;
	return 1;
nomem:
	tl_error_set(ld->err, TL_ERR_NOMEM, "out of memory reading '%s'", cfg->path);
	ld->failed = 1;
	return 0;
}

static int parse_bool(const char *v, int *out)
{
	if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0) {
		*out = 1;
		return 0;
	}
	if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0) {
		*out = 0;
		return 0;
	}
	return -1;
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int set_str(char **slot, const char *v, tl_error *err)
{
	char *d = tl_strdup(v);

	if (v && !d)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	free(*slot);
	*slot = d;
	return 0;
}

static int check_db_type(const tl_config *cfg, const char *section, const char *v, tl_error *err)
{
	static const char *const known[] = {"mysql", "pg", "postgres", "postgresql", "mongo", "mongodb", "mariadb"};
	size_t i;

	if (!v)
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [%s] db_type is required (mysql, pg or mongo)",
				    cfg->path, section);
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcasecmp(v, known[i]) == 0)
			return 0;
	return tl_error_set(err, TL_ERR_CONFIG, "%s: [%s] db_type=%s is not supported (mysql, pg or mongo)",
			    cfg->path, section, v);
}

/* Applies defaults and the cross-key rules once every line is read. */
static int finish(tl_config *cfg, struct raw *raw, tl_error *err)
{
	int rc;

	if (raw->extract_type && strcasecmp(raw->extract_type, "snapshot") != 0)
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [extractor] extract_type=%s is not supported (only snapshot)",
				    cfg->path, raw->extract_type);
	if ((rc = check_db_type(cfg, "extractor", cfg->src_db_type, err)) ||
	    (rc = check_db_type(cfg, "sinker", cfg->dst_db_type, err)))
		return rc;
	if (!cfg->src_url)
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [extractor] url is required", cfg->path);
	if (!cfg->dst_url)
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [sinker] url is required", cfg->path);
	if (!strstr(cfg->src_url, "://"))
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [extractor] url has no scheme://host", cfg->path);
	if (!strstr(cfg->dst_url, "://"))
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [sinker] url has no scheme://host", cfg->path);

	if (raw->parallel_type) {
		if (strcasecmp(raw->parallel_type, "table") == 0)
			cfg->parallel_type = TL_PAR_TABLE;
		else if (strcasecmp(raw->parallel_type, "chunk") == 0)
			cfg->parallel_type = TL_PAR_CHUNK;
		else
			return tl_error_set(err, TL_ERR_CONFIG, "%s: [extractor] parallel_type=%s must be table or chunk",
					    cfg->path, raw->parallel_type);
	}
	if (!raw->parallel_size_set && raw->tb_parallel_size) {
		unsigned long long x;
		if (parse_size(raw->tb_parallel_size, 4096, &x) != 0)
			return tl_error_set(err, TL_ERR_CONFIG, "%s: [runtime] tb_parallel_size=%s can not be parsed",
					    cfg->path, raw->tb_parallel_size);
		cfg->parallel_size = (size_t)x;
	}
	if (cfg->parallel_size == 0)
		cfg->parallel_size = 1;
	if (!raw->buffer_set)
		cfg->buffer_size = 16000;
	if (cfg->buffer_size == 0)
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [pipeline] buffer_size must be positive", cfg->path);
	if (!raw->extract_batch_set) {
		cfg->extract_batch_size = cfg->buffer_size / cfg->parallel_size;
		if (cfg->extract_batch_size == 0)
			cfg->extract_batch_size = cfg->buffer_size;
	} else if (cfg->extract_batch_size == 0) {
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [extractor] batch_size must be positive", cfg->path);
	} else
		cfg->extract_batch_explicit = 1;
	if (!raw->sink_batch_set)
		cfg->sink_batch_size = 200;
	if (cfg->sink_batch_size == 0)
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [sinker] batch_size must be positive", cfg->path);
	if (!raw->interval_set)
		cfg->checkpoint_interval_secs = 10;
	cfg->replace = 1;
	if (raw->replace && parse_bool(raw->replace, &cfg->replace) != 0)
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [sinker] replace=%s can not be parsed as a bool",
				    cfg->path, raw->replace);
	if (cfg->parallel_type == TL_PAR_CHUNK && strncasecmp(cfg->src_db_type, "mongo", 5) == 0)
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [extractor] parallel_type=chunk is not supported for mongo",
				    cfg->path);

	if (!cfg->log_dir && (rc = set_str(&cfg->log_dir, "./logs", err)))
		return rc;
	if (!cfg->log_level && (rc = set_str(&cfg->log_level, "info", err)))
		return rc;
	cfg->position_format = TL_STYLE_ORDER_COL;
	if (raw->position_format) {
		if (strcasecmp(raw->position_format, "order_key") == 0)
			cfg->position_format = TL_STYLE_ORDER_KEY;
		else if (strcasecmp(raw->position_format, "order_col") != 0)
			return tl_error_set(err, TL_ERR_CONFIG, "%s: [runtime] position_format=%s must be order_col or order_key",
					    cfg->path, raw->position_format);
	}

	/* [resumer]: current keys, then the seed's keys, which must agree. */
	cfg->resume_type = TL_RESUME_DUMMY;
	if (raw->resume_type) {
		if (strcasecmp(raw->resume_type, "dummy") == 0)
			cfg->resume_type = TL_RESUME_DUMMY;
		else if (strcasecmp(raw->resume_type, "from_log") == 0)
			cfg->resume_type = TL_RESUME_FROM_LOG;
		else if (strcasecmp(raw->resume_type, "from_target") == 0)
			cfg->resume_type = TL_RESUME_FROM_TARGET;
		else if (strcasecmp(raw->resume_type, "from_db") == 0)
			cfg->resume_type = TL_RESUME_FROM_DB;
		else
			return tl_error_set(err, TL_ERR_CONFIG,
					    "%s: [resumer] resume_type=%s must be dummy, from_log, from_target or from_db",
					    cfg->path, raw->resume_type);
	}
	if (cfg->resume_type == TL_RESUME_FROM_LOG) {
		if ((rc = set_str(&cfg->resume_log_dir, raw->resume_log_dir_new ? raw->resume_log_dir_new : cfg->log_dir, err)))
			return rc;
		if ((rc = set_str(&cfg->resume_config_file, raw->resume_config_new, err)))
			return rc;
	}
	if (raw->has_legacy) {
		int from_log = 0;
		const char *ldir = NULL;
		if (raw->legacy_from_log && parse_bool(raw->legacy_from_log, &from_log) != 0)
			return tl_error_set(err, TL_ERR_CONFIG, "%s: [resumer] resume_from_log=%s can not be parsed as a bool",
					    cfg->path, raw->legacy_from_log);
		if (from_log)
			ldir = raw->legacy_log_dir ? raw->legacy_log_dir : cfg->log_dir;
		if (raw->resume_type) {
			/* Both forms given: they must say the same thing. */
			int wants_log = cfg->resume_type == TL_RESUME_FROM_LOG;
			if (from_log && !wants_log)
				return tl_error_set(err, TL_ERR_CONFIG,
						    "%s: [resumer] resume_from_log=true disagrees with resume_type=%s",
						    cfg->path, raw->resume_type);
			if (from_log && !same_str(ldir, cfg->resume_log_dir))
				return tl_error_set(err, TL_ERR_CONFIG,
						    "%s: [resumer] resume_log_dir=%s disagrees with log_dir=%s", cfg->path,
						    ldir, cfg->resume_log_dir ? cfg->resume_log_dir : "(unset)");
			if (raw->legacy_config && !same_str(raw->legacy_config, raw->resume_config_new))
				return tl_error_set(err, TL_ERR_CONFIG,
						    "%s: [resumer] resume_config_file=%s disagrees with config_file=%s",
						    cfg->path, raw->legacy_config,
						    raw->resume_config_new ? raw->resume_config_new : "(unset)");
		} else {
			/* Seed semantics: logs read when resume_from_log=true; the config file whenever set. */
			if (from_log || raw->legacy_config)
				cfg->resume_type = TL_RESUME_FROM_LOG;
			if ((rc = set_str(&cfg->resume_log_dir, ldir, err)) ||
			    (rc = set_str(&cfg->resume_config_file, raw->legacy_config, err)))
				return rc;
		}
	}
	if (cfg->resume_type == TL_RESUME_FROM_TARGET) {
		if ((rc = set_str(&cfg->resume_url, cfg->dst_url, err)) ||
		    (rc = set_str(&cfg->resume_db_type, cfg->dst_db_type, err)) ||
		    (rc = set_str(&cfg->resume_username, cfg->dst_username, err)) ||
		    (rc = set_str(&cfg->resume_password, cfg->dst_password, err)))
			return rc;
	} else if (cfg->resume_type == TL_RESUME_FROM_DB) {
		if (!cfg->resume_url)
			return tl_error_set(err, TL_ERR_CONFIG, "%s: [resumer] url is required with resume_type=from_db", cfg->path);
		if ((rc = check_db_type(cfg, "resumer", cfg->resume_db_type, err)))
			return rc;
	}
	{
		const char *tfn = raw->table_full_name ? raw->table_full_name : "apecloud_metadata.apedts_task_position";
		const char *dot = strchr(tfn, '.');
		if (!dot || dot == tfn || !dot[1] || strchr(dot + 1, '.'))
			return tl_error_set(err, TL_ERR_CONFIG,
					    "%s: [resumer] table_full_name=%s must be schema.table (one dot)", cfg->path, tfn);
		cfg->ape_schema = tl_strndup(tfn, (size_t)(dot - tfn));
		cfg->ape_table = tl_strdup(dot + 1);
		if (!cfg->ape_schema || !cfg->ape_table)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
	if (!cfg->store_path) {
		tl_buf b = TL_BUF_INIT;
		if ((rc = tl_buf_printf(&b, err, "%s/checkpoint.db", cfg->log_dir)))
			return rc;
		cfg->store_path = tl_buf_detach(&b);
	}
	if (!cfg->task_id && (rc = set_str(&cfg->task_id, "default", err)))
		return rc;
	return 0;
}

static void raw_free(struct raw *r)
{
	free(r->resume_type);
	free(r->resume_log_dir_new);
	free(r->resume_config_new);
	free(r->legacy_from_log);
	free(r->legacy_log_dir);
	free(r->legacy_config);
	free(r->table_full_name);
	free(r->position_format);
	free(r->extract_type);
	free(r->parallel_type);
	free(r->tb_parallel_size);
	free(r->replace);
}

int tl_config_load(const char *path, tl_config **out, tl_error *err)
{
	struct loader ld;
	tl_config *cfg = NULL;
	int rc = 0, prc;

	*out = NULL;
	memset(&ld, 0, sizeof(ld));
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg || !(cfg->path = tl_strdup(path))) {
		free(cfg);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
	ld.cfg = cfg;
	ld.err = err;
	ld.fp = fopen(path, "r");
	if (!ld.fp) {
		rc = tl_error_set(err, errno == ENOENT ? TL_ERR_NOTFOUND : TL_ERR_IO, "cannot open task file '%s': %s",
				  path, strerror(errno));
		goto cleanup;
	}
	prc = ini_parse_stream(read_line, &ld, handler, &ld);
	if (ld.failed) {
		rc = err ? err->code : TL_ERR_CONFIG;
		goto cleanup;
	}
	if (prc > 0) {
		rc = tl_error_set(err, TL_ERR_CONFIG, "%s:%d: malformed line (expected [section] or key=value)", path,
				  prc);
		goto cleanup;
	}
	if (prc < 0) {
		rc = tl_error_set(err, TL_ERR_IO, "cannot read task file '%s'", path);
		goto cleanup;
	}
	rc = finish(cfg, &ld.raw, err);
cleanup:
	if (ld.fp)
		fclose(ld.fp);
	raw_free(&ld.raw);
	if (rc) {
		tl_config_free(cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

void tl_config_free(tl_config *c)
{
	size_t i;

	if (!c)
		return;
	free(c->path);
	free(c->src_db_type); free(c->src_url); free(c->src_username); free(c->src_password);
	free(c->partition_cols);
	free(c->dst_db_type); free(c->dst_url); free(c->dst_username); free(c->dst_password);
	free(c->do_dbs); free(c->ignore_dbs); free(c->do_tbs); free(c->ignore_tbs); free(c->where_conditions);
	free(c->log_dir); free(c->log_level);
	free(c->resume_log_dir); free(c->resume_config_file);
	free(c->resume_url); free(c->resume_db_type); free(c->resume_username); free(c->resume_password);
	free(c->ape_schema); free(c->ape_table); free(c->store_path); free(c->task_id);
	for (i = 0; i < c->nwarnings; i++)
		free(c->warnings[i]);
	free(c->warnings);
	free(c);
}

tl_endpoint tl_config_source(const tl_config *cfg)
{
	tl_endpoint ep = {.db_type = cfg->src_db_type, .url = cfg->src_url, .username = cfg->src_username,
			  .password = cfg->src_password, .app_name = "tideline"};
	return ep;
}

tl_endpoint tl_config_target(const tl_config *cfg)
{
	tl_endpoint ep = {.db_type = cfg->dst_db_type, .url = cfg->dst_url, .username = cfg->dst_username,
			  .password = cfg->dst_password, .app_name = "tideline"};
	return ep;
}

tl_endpoint tl_config_resumer(const tl_config *cfg)
{
	tl_endpoint ep = {.db_type = cfg->resume_db_type, .url = cfg->resume_url, .username = cfg->resume_username,
			  .password = cfg->resume_password, .app_name = "tideline"};
	return ep;
}
