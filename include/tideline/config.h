/*
 * config.h - a task: the ape-dts INI layout (ape-dts-resume.md §1, tideline.md §2).
 *
 * tl_config_load parses the file once (inih, in src/core/config.c, the only user of
 * ini.h) into a tl_config that the CLI passes down as const. Unknown sections/keys are
 * collected as warnings; malformed values fail with "FILE:LINE: [section] key=value: why".
 * Relative paths in the file are kept as written (resolved against the working
 * directory, like ape-dts). All strings are owned by the config (tl_config_free).
 */
#ifndef TL_CONFIG_H
#define TL_CONFIG_H

#include <stddef.h>
#include "tideline/error.h"
#include "tideline/driver.h"
#include "tideline/position.h"

enum tl_resume_type { TL_RESUME_DUMMY = 0, TL_RESUME_FROM_LOG, TL_RESUME_FROM_TARGET, TL_RESUME_FROM_DB };
enum tl_parallel_type { TL_PAR_TABLE = 0, TL_PAR_CHUNK };

typedef struct tl_config {
	char *path; /* the task file */

	/* [extractor] */
	char *src_db_type, *src_url, *src_username, *src_password;
	size_t extract_batch_size;  /* rows per page/chunk; default buffer_size / parallel_size */
	int extract_batch_explicit; /* the task sets [extractor] batch_size */
	size_t parallel_size;       /* tables (or chunks) in flight; default 1 */
	enum tl_parallel_type parallel_type;
	char *partition_cols;       /* raw json:[…] or NULL */

	/* [sinker] */
	char *dst_db_type, *dst_url, *dst_username, *dst_password;
	size_t sink_batch_size;     /* rows per write statement; default 200 */
	int replace;                /* upsert (default true) */

	/* [filter] raw comma lists (NULL when empty) */
	char *do_dbs, *ignore_dbs, *do_tbs, *ignore_tbs, *where_conditions;

	/* [pipeline] */
	size_t buffer_size;         /* default 16000 */
	unsigned checkpoint_interval_secs; /* default 10 */

	/* [runtime] */
	char *log_dir;              /* default "./logs" */
	char *log_level;            /* default "info" */
	enum tl_pos_style position_format; /* [runtime] position_format: order_col (default) | order_key */

	/* [resumer] */
	enum tl_resume_type resume_type;
	char *resume_log_dir;       /* from_log: where position.log/finished.log are read; NULL = not read */
	char *resume_config_file;   /* hand-written resume.config, NULL if none */
	char *resume_url, *resume_db_type, *resume_username, *resume_password;
	char *ape_schema, *ape_table; /* table_full_name split; default apecloud_metadata.apedts_task_position */
	char *store_path;           /* [resumer] store, default <log_dir>/checkpoint.db */

	/* [global] */
	char *task_id;              /* default "default" */

	/* warnings collected while loading (unknown keys), NULL-terminated, may be NULL */
	char **warnings;
	size_t nwarnings;
} tl_config;

/* Loads a task file. *out is owned by the caller (tl_config_free). */
int tl_config_load(const char *path, tl_config **out, tl_error *err) TL_MUST_CHECK;
void tl_config_free(tl_config *cfg);

/* The servers of a task as driver endpoints; the strings are lent from cfg. */
tl_endpoint tl_config_source(const tl_config *cfg);
tl_endpoint tl_config_target(const tl_config *cfg);
tl_endpoint tl_config_resumer(const tl_config *cfg); /* ape-dts' database store */

#endif
