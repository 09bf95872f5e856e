/*
 * config.c - loads a task file (ape-dts INI layout) into a tl_config.
 *
 * The only file that includes ini.h. A declarative table lists every key we know: its
 * section, type, the field it fills, its default, its bounds or accepted names. Loading
 * applies the defaults, then the file through the inih callback (the only place where
 * "non-zero means success" appears), then the rules that join several keys (finish()).
 * Rules (docs/ape-dts-resume.md §1, docs/tideline.md §2): sections and keys are
 * case-insensitive, an empty value is the same as an absent key, unknown sections/keys
 * are warnings, a malformed value is an error naming FILE:LINE, section, key and value.
 * Both the seed's [resumer] keys and the current ones are accepted; when both are given
 * and disagree, that is an error naming both. Database kinds come from the driver
 * registry: this file keeps no list of them.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>
#include "tideline/buf.h"
#include "tideline/config.h"

enum vtype {
	V_STR,    /* char *: the value */
	V_SIZE,   /* size_t: a decimal integer in [min, max] */
	V_UINT,   /* unsigned: a decimal integer in [min, max] */
	V_BOOL,   /* int: true/false/1/0 */
	V_ENUM,   /* int: the value of one of `names` */
	V_RULES,  /* tl_table_rules: json:[{"db":…,"tb":…,"<field>":…}] */
	V_IGNORED /* an ape-dts key tideline does not use: accepted, not stored */
};

/* Raw values of keys that other keys decide about (finish()). */
struct raw {
	char *resume_log_dir_new, *resume_config_new;
	char *legacy_from_log, *legacy_log_dir, *legacy_config;
	int has_legacy; /* any seed key present, even empty */
	char *table_full_name;
	char *tb_parallel_size;
};

struct enum_name {
	const char *name;
	int value;
};

static const struct enum_name extract_types[] = {{"snapshot", 0}, {NULL, 0}};
static const struct enum_name parallel_types[] = {{"table", TL_PAR_TABLE}, {"chunk", TL_PAR_CHUNK}, {NULL, 0}};
static const struct enum_name position_formats[] = {
	{"order_col", TL_STYLE_ORDER_COL}, {"order_key", TL_STYLE_ORDER_KEY}, {NULL, 0}};
static const struct enum_name resume_types[] = {{"dummy", TL_RESUME_DUMMY},
						{"from_log", TL_RESUME_FROM_LOG},
						{"from_target", TL_RESUME_FROM_TARGET},
						{"from_db", TL_RESUME_FROM_DB},
						{NULL, 0}};

#define CFG(f) .in_raw = 0, .off = offsetof(tl_config, f)
#define RAW(f) .in_raw = 1, .off = offsetof(struct raw, f)
#define NOWHERE .in_raw = 0, .off = (size_t)-1 /* checked, not stored */
#define SIZE_CAP (1ull << 40)
#define SECS_CAP (86400ull * 365)

/* One row per key. `def` is the default as a task file would spell it (NULL: none). */
static const struct key_def {
	const char *section;
	const char *key;
	enum vtype type;
	int in_raw; /* 1: off is into struct raw */
	size_t off;
	const char *def;
	const struct enum_name *names; /* V_ENUM */
	unsigned long long min, max;   /* V_SIZE, V_UINT */
	const char *field;             /* V_RULES: the value's name in each entry */
} keys[] = {
	{"extractor", "db_type", V_STR, CFG(src_db_type)},
	{"extractor", "url", V_STR, CFG(src_url)},
	{"extractor", "username", V_STR, CFG(src_username)},
	{"extractor", "password", V_STR, CFG(src_password)},
	/* default: buffer_size / parallel_size (finish) */
	{"extractor", "batch_size", V_SIZE, CFG(extract_batch_size), .min = 1, .max = SIZE_CAP},
	/* 0 is taken as 1; legacy fallback [runtime] tb_parallel_size (finish) */
	{"extractor", "parallel_size", V_SIZE, CFG(parallel_size), .def = "1", .max = SIZE_CAP},
	{"extractor", "parallel_type", V_ENUM, CFG(parallel_type), .def = "table", .names = parallel_types},
	{"extractor", "partition_cols", V_RULES, CFG(partition_cols), .field = "partition_col"},
	{"extractor", "extract_type", V_ENUM, NOWHERE, .names = extract_types},
	{"sinker", "db_type", V_STR, CFG(dst_db_type)},
	{"sinker", "url", V_STR, CFG(dst_url)},
	{"sinker", "username", V_STR, CFG(dst_username)},
	{"sinker", "password", V_STR, CFG(dst_password)},
	/* unset (0): one target transaction per read batch */
	{"sinker", "batch_size", V_SIZE, CFG(sink_batch_size), .min = 1, .max = SIZE_CAP},
	{"sinker", "replace", V_BOOL, CFG(replace), .def = "true"},
	{"sinker", "sink_type", V_IGNORED, NOWHERE},
	{"filter", "do_dbs", V_STR, CFG(do_dbs)},
	{"filter", "ignore_dbs", V_STR, CFG(ignore_dbs)},
	{"filter", "do_tbs", V_STR, CFG(do_tbs)},
	{"filter", "ignore_tbs", V_STR, CFG(ignore_tbs)},
	{"filter", "where_conditions", V_RULES, CFG(where_conditions), .field = "condition"},
	{"filter", "do_events", V_IGNORED, NOWHERE},
	{"filter", "do_ddls", V_IGNORED, NOWHERE},
	{"filter", "do_structures", V_IGNORED, NOWHERE},
	{"filter", "ignore_cols", V_IGNORED, NOWHERE},
	{"router", "db_map", V_IGNORED, NOWHERE},
	{"router", "tb_map", V_IGNORED, NOWHERE},
	{"router", "col_map", V_IGNORED, NOWHERE},
	{"router", "topic_map", V_IGNORED, NOWHERE},
	{"parallelizer", "parallel_type", V_IGNORED, NOWHERE},
	{"parallelizer", "parallel_size", V_IGNORED, NOWHERE},
	{"pipeline", "buffer_size", V_SIZE, CFG(buffer_size), .def = "16000", .min = 1, .max = SIZE_CAP},
	{"pipeline", "checkpoint_interval_secs", V_UINT, CFG(checkpoint_interval_secs), .def = "10", .max = SECS_CAP},
	{"pipeline", "retry_max_attempts", V_UINT, CFG(retry_max_attempts), .def = "10", .max = 1000000},
	{"pipeline", "retry_max_secs", V_UINT, CFG(retry_max_secs), .def = "300", .max = SECS_CAP},
	{"pipeline", "batch_timeout_secs", V_UINT, CFG(batch_timeout_secs), .def = "300", .max = SECS_CAP},
	{"pipeline", "max_rps", V_IGNORED, NOWHERE},
	{"pipeline", "counter_time_window_secs", V_IGNORED, NOWHERE},
	{"runtime", "log_dir", V_STR, CFG(log_dir), .def = "./logs"},
	{"runtime", "log_level", V_STR, CFG(log_level), .def = "info"},
	{"runtime", "log4rs_file", V_IGNORED, NOWHERE},
	{"runtime", "position_format", V_ENUM, CFG(position_format), .def = "order_col", .names = position_formats},
	{"runtime", "tb_parallel_size", V_STR, RAW(tb_parallel_size)},
	{"resumer", "resume_type", V_ENUM, CFG(resume_type), .def = "dummy", .names = resume_types},
	{"resumer", "log_dir", V_STR, RAW(resume_log_dir_new)},
	{"resumer", "config_file", V_STR, RAW(resume_config_new)},
	{"resumer", "resume_from_log", V_STR, RAW(legacy_from_log)},
	{"resumer", "resume_log_dir", V_STR, RAW(legacy_log_dir)},
	{"resumer", "resume_config_file", V_STR, RAW(legacy_config)},
	{"resumer", "url", V_STR, CFG(resume_url)},
	{"resumer", "db_type", V_STR, CFG(resume_db_type)},
	{"resumer", "username", V_STR, CFG(resume_username)},
	{"resumer", "password", V_STR, CFG(resume_password)},
	{"resumer", "table_full_name", V_STR, RAW(table_full_name), .def = "apecloud_metadata.apedts_task_position"},
	{"resumer", "max_connections", V_IGNORED, NOWHERE},
	{"resumer", "ssl_mode", V_IGNORED, NOWHERE},
	{"resumer", "ssl_ca_path", V_IGNORED, NOWHERE},
	{"resumer", "is_direct_connection", V_IGNORED, NOWHERE},
	{"resumer", "store", V_STR, CFG(store_path)},
	/* run --worker (docs/fleet.md): how long a worker's claim on a table or chunk lasts unrenewed */
	{"resumer", "lease_secs", V_UINT, CFG(lease_secs), .def = "60", .min = 1, .max = 86400},
	/* run --worker: rows per chunk of a split table; 0 = 16 × [extractor] batch_size */
	{"resumer", "chunk_rows", V_SIZE, CFG(chunk_rows), .def = "0", .max = SIZE_CAP},
	{"global", "task_id", V_STR, CFG(task_id), .def = "default"},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct loader {
	tl_config *cfg;
	const tl_registry *reg;
	struct raw raw;
	unsigned char given[NKEYS]; /* the file sets the key (non-empty) */
	FILE *fp;
	long line;
	int line_too_long;
	tl_error *err;
	int failed;
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

/* "a, b or c" of an enum's names. */
static void names_text(const struct enum_name *e, char *out, size_t n)
{
	size_t i, off = 0, cnt = 0;

	while (e[cnt].name)
		cnt++;
	out[0] = '\0';
	for (i = 0; i < cnt && off < n; i++)
		off += (size_t)snprintf(out + off, n - off, "%s%s", i == 0 ? "" : i + 1 == cnt ? " or " : ", ", e[i].name);
}

/* "FILE:LINE: " of a value, or "FILE: " for a default (line 0). */
static void where_text(const struct loader *ld, long line, char *out, size_t n)
{
	if (line > 0)
		snprintf(out, n, "%s:%ld", ld->cfg->path, line);
	else
		snprintf(out, n, "%s", ld->cfg->path);
}

static void rules_clear(tl_table_rules *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->v[i].db);
		free(r->v[i].tb);
		free(r->v[i].value);
	}
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

const tl_table_rule *tl_table_rules_find(const tl_table_rules *r, const char *db, const char *tb)
{
	size_t i;

	for (i = r->n; i-- > 0;)
		if (strcmp(r->v[i].db, db) == 0 && strcmp(r->v[i].tb, tb) == 0)
			return &r->v[i];
	return NULL;
}

/* json:[{"db":…,"tb":…,"<field>":…}, …] (the "json:" prefix optional) into *out, replacing it. */
static int parse_rules(const struct loader *ld, const struct key_def *k, const char *value, long line,
		       tl_table_rules *out, tl_error *err)
{
	const char *text = strncmp(value, "json:", 5) == 0 ? value + 5 : value;
	cJSON *root = cJSON_Parse(text), *e;
	tl_table_rules r = {0, NULL};
	char at[4200];
	int rc = 0, n;

	where_text(ld, line, at, sizeof(at));
	if (!root || !cJSON_IsArray(root)) {
		cJSON_Delete(root);
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [%s] %s must be json:[{\"db\":…,\"tb\":…,\"%s\":…}]", at,
				    k->section, k->key, k->field);
	}
	n = cJSON_GetArraySize(root);
	if (n > 0 && !(r.v = calloc((size_t)n, sizeof(*r.v)))) {
		cJSON_Delete(root);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
	cJSON_ArrayForEach(e, root)
	{
		const cJSON *db = cJSON_GetObjectItemCaseSensitive(e, "db");
		const cJSON *tb = cJSON_GetObjectItemCaseSensitive(e, "tb");
		const cJSON *val = cJSON_GetObjectItemCaseSensitive(e, k->field);
		tl_table_rule *x = &r.v[r.n];

		if (!cJSON_IsString(db) || !cJSON_IsString(tb) || !cJSON_IsString(val) || !*val->valuestring) {
			rc = tl_error_set(err, TL_ERR_CONFIG, "%s: [%s] %s: every entry needs string db, tb and %s", at,
					  k->section, k->key, k->field);
			break;
		}
		x->db = tl_strdup(db->valuestring);
		x->tb = tl_strdup(tb->valuestring);
		x->value = tl_strdup(val->valuestring);
		x->line = line;
		r.n++;
		if (!x->db || !x->tb || !x->value) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
			break;
		}
	}
	cJSON_Delete(root);
	if (rc) {
		rules_clear(&r);
		return rc;
	}
	rules_clear(out);
	*out = r;
	return 0;
}

/* Stores `value` for key k (line 0: its default). Errors name FILE:LINE, section, key and value. */
static int set_value(struct loader *ld, const struct key_def *k, const char *value, long line)
{
	char *base = k->in_raw ? (char *)&ld->raw : (char *)ld->cfg;
	void *slot = k->off == (size_t)-1 ? NULL : base + k->off;
	char at[4200], list[128];
	unsigned long long x;
	size_t i;
	int b;

	where_text(ld, line, at, sizeof(at));
	switch (k->type) {
	case V_STR: {
		char *d = tl_strdup(value);
		if (!d)
			return tl_error_set(ld->err, TL_ERR_NOMEM, "out of memory reading '%s'", ld->cfg->path);
		free(*(char **)slot);
		*(char **)slot = d;
		return 0;
	}
	case V_SIZE:
	case V_UINT:
		if (parse_size(value, k->max, &x) != 0)
			return tl_error_set(ld->err, TL_ERR_CONFIG, "%s: [%s] %s=%s can not be parsed as a non-negative integer",
					    at, k->section, k->key, value);
		if (x < k->min)
			return tl_error_set(ld->err, TL_ERR_CONFIG, "%s: [%s] %s=%s must be at least %llu", at, k->section,
					    k->key, value, k->min);
		if (k->type == V_UINT)
			*(unsigned *)slot = (unsigned)x;
		else
			*(size_t *)slot = (size_t)x;
		return 0;
	case V_BOOL:
		if (parse_bool(value, &b) != 0)
			return tl_error_set(ld->err, TL_ERR_CONFIG, "%s: [%s] %s=%s can not be parsed as a bool", at,
					    k->section, k->key, value);
		*(int *)slot = b;
		return 0;
	case V_ENUM:
		for (i = 0; k->names[i].name; i++)
			if (strcasecmp(k->names[i].name, value) == 0) {
				if (slot)
					*(int *)slot = k->names[i].value;
				return 0;
			}
		names_text(k->names, list, sizeof(list));
		return tl_error_set(ld->err, TL_ERR_CONFIG, "%s: [%s] %s=%s is not supported (must be %s)", at, k->section,
				    k->key, value, list);
	case V_RULES:
		return parse_rules(ld, k, value, line, slot, ld->err);
	default:
		return 0;
	}
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
	for (i = 0; i < NKEYS; i++) {
		const struct key_def *k = &keys[i];

		if (strcasecmp(k->section, section) != 0)
			continue;
		section_known = 1;
		if (strcasecmp(k->key, name) != 0)
			continue;
		if (k->in_raw && (k->off == offsetof(struct raw, legacy_from_log) ||
				  k->off == offsetof(struct raw, legacy_log_dir) ||
				  k->off == offsetof(struct raw, legacy_config)))
			ld->raw.has_legacy = 1;
		if (value[0] == '\0' || k->type == V_IGNORED)
			return 1; /* empty value = absent key */
		if (set_value(ld, k, value, ld->line) != 0) {
			ld->failed = 1;
			return 0;
		}
		ld->given[i] = 1;
		return 1;
	}
	if (add_warning(cfg, section_known ? "%s:%ld: unknown key [%s] %s (ignored)"
					   : "%s:%ld: unknown section [%s] (key %s ignored)",
			section, name, ld->line) != 0) {
		tl_error_set(ld->err, TL_ERR_NOMEM, "out of memory reading '%s'", cfg->path);
		ld->failed = 1;
		return 0;
	}
	return 1;
}

/* Did the file set [section] key? */
static int given(const struct loader *ld, const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
			return ld->given[i];
	return 0;
}

static int apply_defaults(struct loader *ld)
{
	size_t i;
	int rc;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].def && (rc = set_value(ld, &keys[i], keys[i].def, 0)))
			return rc;
	return 0;
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

/* [section] db_type must name a driver the registry knows; *ops gets it. */
static int check_db_type(const struct loader *ld, const char *section, const char *v,
			 const struct tl_driver_ops **ops, tl_error *err)
{
	tl_buf kinds = TL_BUF_INIT;
	int rc;

	if (v && tl_registry_find(ld->reg, v, ops, NULL) == 0)
		return 0;
	if ((rc = tl_registry_kinds(ld->reg, &kinds, err)) == 0)
		rc = tl_error_set(err, TL_ERR_CONFIG, v ? "%s: [%s] db_type=%s is not supported (%s)"
						       : "%s: [%s] db_type is required%.0s (%s)",
				  ld->cfg->path, section, v ? v : "", tl_buf_cstr(&kinds));
	tl_buf_release(&kinds);
	return rc;
}

/* [resumer]: the current keys, then the seed's keys, which must agree with them. */
static int resolve_resumer(struct loader *ld, tl_error *err)
{
	tl_config *cfg = ld->cfg;
	struct raw *raw = &ld->raw;
	int given_type = given(ld, "resumer", "resume_type"), from_log = 0, rc;
	const char *ldir = NULL;

	if (cfg->resume_type == TL_RESUME_FROM_LOG) {
		if ((rc = set_str(&cfg->resume_log_dir, raw->resume_log_dir_new ? raw->resume_log_dir_new : cfg->log_dir,
				  err)) ||
		    (rc = set_str(&cfg->resume_config_file, raw->resume_config_new, err)))
			return rc;
	}
	if (!raw->has_legacy)
		return 0;
	if (raw->legacy_from_log && parse_bool(raw->legacy_from_log, &from_log) != 0)
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [resumer] resume_from_log=%s can not be parsed as a bool",
				    cfg->path, raw->legacy_from_log);
	if (from_log)
		ldir = raw->legacy_log_dir ? raw->legacy_log_dir : cfg->log_dir;
	if (given_type) {
		/* Both forms given: they must say the same thing. */
		int wants_log = cfg->resume_type == TL_RESUME_FROM_LOG;
		if (from_log && !wants_log)
			return tl_error_set(err, TL_ERR_CONFIG, "%s: [resumer] resume_from_log=true disagrees with resume_type=%s",
					    cfg->path, resume_types[cfg->resume_type].name);
		if (from_log && !same_str(ldir, cfg->resume_log_dir))
			return tl_error_set(err, TL_ERR_CONFIG, "%s: [resumer] resume_log_dir=%s disagrees with log_dir=%s",
					    cfg->path, ldir, cfg->resume_log_dir ? cfg->resume_log_dir : "(unset)");
		if (raw->legacy_config && !same_str(raw->legacy_config, raw->resume_config_new))
			return tl_error_set(err, TL_ERR_CONFIG, "%s: [resumer] resume_config_file=%s disagrees with config_file=%s",
					    cfg->path, raw->legacy_config,
					    raw->resume_config_new ? raw->resume_config_new : "(unset)");
		return 0;
	}
	/* Seed semantics: logs read when resume_from_log=true; the config file whenever set. */
	if (from_log || raw->legacy_config)
		cfg->resume_type = TL_RESUME_FROM_LOG;
	if ((rc = set_str(&cfg->resume_log_dir, ldir, err)) ||
	    (rc = set_str(&cfg->resume_config_file, raw->legacy_config, err)))
		return rc;
	return 0;
}

/* The rules that join several keys, once every line is read (defaults are already in place). */
static int finish(struct loader *ld, tl_error *err)
{
	tl_config *cfg = ld->cfg;
	struct raw *raw = &ld->raw;
	const struct tl_driver_ops *src = NULL, *dst = NULL, *res = NULL;
	int rc;

	if ((rc = check_db_type(ld, "extractor", cfg->src_db_type, &src, err)) ||
	    (rc = check_db_type(ld, "sinker", cfg->dst_db_type, &dst, err)))
		return rc;
	if (!cfg->src_url)
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [extractor] url is required", cfg->path);
	if (!cfg->dst_url)
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [sinker] url is required", cfg->path);
	if (!strstr(cfg->src_url, "://"))
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [extractor] url has no scheme://host", cfg->path);
	if (!strstr(cfg->dst_url, "://"))
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [sinker] url has no scheme://host", cfg->path);

	if (!given(ld, "extractor", "parallel_size") && raw->tb_parallel_size) {
		unsigned long long x;
		if (parse_size(raw->tb_parallel_size, 4096, &x) != 0)
			return tl_error_set(err, TL_ERR_CONFIG, "%s: [runtime] tb_parallel_size=%s can not be parsed",
					    cfg->path, raw->tb_parallel_size);
		cfg->parallel_size = (size_t)x;
	}
	if (cfg->parallel_size == 0)
		cfg->parallel_size = 1;
	if (given(ld, "extractor", "batch_size")) {
		cfg->extract_batch_explicit = 1;
	} else {
		cfg->extract_batch_size = cfg->buffer_size / cfg->parallel_size;
		if (cfg->extract_batch_size == 0)
			cfg->extract_batch_size = cfg->buffer_size;
	}
	/* chunk mode cuts tables into ranges: the source's driver must know how */
	if (cfg->parallel_type == TL_PAR_CHUNK && !src->next_bound)
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [extractor] parallel_type=chunk is not supported for %s",
				    cfg->path, src->name);
	if (cfg->partition_cols.n && !src->next_bound)
		return tl_error_set(err, TL_ERR_CONFIG, "%s:%ld: [extractor] partition_cols: %s tables cannot be split",
				    cfg->path, cfg->partition_cols.v[0].line, src->name);

	if ((rc = resolve_resumer(ld, err)))
		return rc;
	if (cfg->resume_type == TL_RESUME_FROM_TARGET) {
		if ((rc = set_str(&cfg->resume_url, cfg->dst_url, err)) ||
		    (rc = set_str(&cfg->resume_db_type, cfg->dst_db_type, err)) ||
		    (rc = set_str(&cfg->resume_username, cfg->dst_username, err)) ||
		    (rc = set_str(&cfg->resume_password, cfg->dst_password, err)))
			return rc;
	} else if (cfg->resume_type == TL_RESUME_FROM_DB) {
		if (!cfg->resume_url)
			return tl_error_set(err, TL_ERR_CONFIG, "%s: [resumer] url is required with resume_type=from_db", cfg->path);
		if ((rc = check_db_type(ld, "resumer", cfg->resume_db_type, &res, err)))
			return rc;
	}
	{
		const char *tfn = raw->table_full_name;
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
	return 0;
}

static void raw_free(struct raw *r)
{
	free(r->resume_log_dir_new);
	free(r->resume_config_new);
	free(r->legacy_from_log);
	free(r->legacy_log_dir);
	free(r->legacy_config);
	free(r->table_full_name);
	free(r->tb_parallel_size);
}

int tl_config_load_with(const char *path, const tl_registry *reg, tl_config **out, tl_error *err)
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
	ld.reg = reg;
	ld.err = err;
	if ((rc = apply_defaults(&ld)))
		goto cleanup;
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
	rc = finish(&ld, err);
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

int tl_config_load(const char *path, tl_config **out, tl_error *err)
{
	return tl_config_load_with(path, NULL, out, err);
}

void tl_config_free(tl_config *c)
{
	size_t i;

	if (!c)
		return;
	free(c->path);
	free(c->src_db_type); free(c->src_url); free(c->src_username); free(c->src_password);
	rules_clear(&c->partition_cols);
	free(c->dst_db_type); free(c->dst_url); free(c->dst_username); free(c->dst_password);
	free(c->do_dbs); free(c->ignore_dbs); free(c->do_tbs); free(c->ignore_tbs);
	rules_clear(&c->where_conditions);
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
