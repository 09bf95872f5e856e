/*
 * config.h - a task: the ape-dts INI layout (docs/ape-dts-resume.md §1, docs/tideline.md §2).
 *
 * tl_config_load parses the file once (inih, in src/core/config.c, the only user of
 * ini.h) into a tl_config that the CLI passes down as const. Unknown sections/keys are
 * collected as warnings; malformed values fail with "FILE:LINE: [section] key=value: why".
 * Database kinds are whatever the driver registry knows (registry.h): a db_type it does
 * not know, or parallel_type=chunk for a kind that cannot split tables, is an error.
 * Relative paths in the file are kept as written (resolved against the working
 * directory, like ape-dts). All strings are owned by the config (tl_config_free).
 */
#ifndef TL_CONFIG_H
#define TL_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "tideline/error.h"
#include "tideline/driver.h"
#include "tideline/position.h"
#include "tideline/registry.h"
#include "tideline/route.h"

enum tl_resume_type { TL_RESUME_DUMMY = 0, TL_RESUME_FROM_LOG, TL_RESUME_FROM_TARGET, TL_RESUME_FROM_DB };
enum tl_parallel_type { TL_PAR_TABLE = 0, TL_PAR_CHUNK };
/* [extractor] extract_type: definitions and rows, or definitions only (ape-dts' struct task). */
enum tl_extract_type { TL_EXTRACT_SNAPSHOT = 0, TL_EXTRACT_STRUCT };
/* [sinker] sink_type: write the rows, compare them (a check task), or definitions only */
enum tl_sink_type { TL_SINK_WRITE = 0, TL_SINK_CHECK, TL_SINK_STRUCT };

/* One server's connection settings of a section ([extractor], [sinker], [resumer]). */
typedef struct tl_config_conn {
	char *ssl_mode;          /* ape-dts ssl_mode (checked: tl_ssl_mode_parse), NULL = the URL's */
	char *ssl_ca_path;       /* readable PEM file, NULL = the system's trust store */
	unsigned connect_timeout_secs; /* connection_timeout_secs, 0 = driver default */
	unsigned io_timeout_secs;      /* io_timeout_secs (tideline's), 0 = driver default */
	unsigned lock_wait_secs;       /* lock_wait_timeout_secs (tideline's), 0 = driver default */
	char *app_name;          /* app_name, default "tideline" */
	char *url_eff;           /* the url with is_direct_connection applied (documents), or NULL */
	int direct;              /* is_direct_connection: -1 unset, 0, 1 */
} tl_config_conn;

/* One entry of a json:[{"db":…,"tb":…,"<field>":…}] list: a setting for one table. */
typedef struct tl_table_rule {
	char *db, *tb;
	char *value; /* the entry's <field> */
	long line;   /* where it was given */
} tl_table_rule;

typedef struct tl_table_rules {
	size_t n;
	tl_table_rule *v;
} tl_table_rules;

/* The entry for table db.tb (exact names; the last one wins, as in ape-dts), or NULL. */
const tl_table_rule *tl_table_rules_find(const tl_table_rules *r, const char *db, const char *tb);

typedef struct tl_config {
	char *path; /* the task file */

	/* [extractor] */
	char *src_db_type, *src_url, *src_username, *src_password;
	size_t extract_batch_size;  /* rows per page/chunk; default buffer_size / parallel_size */
	int extract_batch_explicit; /* the task sets [extractor] batch_size */
	size_t parallel_size;       /* tables (or chunks) in flight; default 1 */
	enum tl_parallel_type parallel_type;
	tl_table_rules partition_cols; /* split column per table ("partition_col"); forces split mode */
	enum tl_extract_type extract_type; /* snapshot (default) or struct (docs/schema.md) */
	size_t extract_max_rps;     /* rows per second read, 0 = no limit */
	size_t extract_max_mbps;    /* MiB per second read, 0 = no limit */
	tl_config_conn src_conn;

	/* [sinker] */
	char *dst_db_type, *dst_url, *dst_username, *dst_password;
	size_t sink_batch_size;     /* rows per target write (one transaction); 0 = unset: one write per read batch */
	int replace;                /* upsert (default true) */
	int create_schema;          /* create what is missing on the target (default true; docs/schema.md) */
	int disable_fk_checks;      /* disable_foreign_key_checks (default true): target sessions write
				     * with foreign key checks off where the server allows it */
	enum tl_sink_type sink_type;
	size_t sink_max_rps, sink_max_mbps; /* 0 = no limit */
	tl_config_conn dst_conn;

	/* [filter] raw comma lists (NULL when empty) */
	char *do_dbs, *ignore_dbs, *do_tbs, *ignore_tbs;
	tl_table_rules where_conditions; /* condition ANDed into every read of a table ("condition") */
	unsigned structures;        /* do_structures as enum tl_schema_structure bits (default: all) */
	char *ignore_cols;          /* [filter] ignore_cols, raw (parsed into route) */

	/* [router] raw values (parsed into route) */
	char *db_map, *tb_map, *col_map;
	/* [router] + [filter] ignore_cols, parsed with the source's quote at load (never NULL) */
	tl_route *route;

	/* [pipeline] */
	size_t buffer_size;         /* default 16000 */
	unsigned checkpoint_interval_secs; /* default 10 */
	unsigned retry_max_attempts; /* attempts per outage after a transient failure, 0 = none; default 10 */
	unsigned retry_max_secs;     /* no attempt later than this after an outage began; default 300 */
	unsigned batch_timeout_secs; /* a batch that takes longer is given up (transient), 0 = off; default 300 */
	size_t pipeline_max_rps;    /* legacy [pipeline] max_rps, 0 = no limit */

	/* [runtime] */
	char *log_dir;              /* default "./logs" */
	char *log_level;            /* default "info" */
	enum tl_pos_style position_format; /* [runtime] position_format: order_col (default) | order_key */
	int check_result_stdout_only; /* check tasks: results on stdout only, as ape-dts prints them */

	/* check tasks ([checker_output], [checker] and legacy [sinker] spellings, agreeing) */
	char *check_log_dir;        /* default <log_dir>/check */
	int check_log_legacy;       /* the dir came from [sinker] check_log_dir (ape-dts <= 2.0.25 layout) */
	size_t check_log_max_rows;  /* 0 = 1000 */
	unsigned long long check_log_max_bytes; /* 0 = 100 MiB */

	/* [resumer] */
	enum tl_resume_type resume_type;
	char *resume_log_dir;       /* from_log: where position.log/finished.log are read; NULL = not read */
	char *resume_config_file;   /* hand-written resume.config, NULL if none */
	char *resume_url, *resume_db_type, *resume_username, *resume_password;
	char *ape_schema, *ape_table; /* table_full_name split; default apecloud_metadata.apedts_task_position */
	tl_config_conn ape_conn;    /* [resumer] ssl_mode, … (from_target: the sinker's) */
	char *store_path;           /* [resumer] store, default <log_dir>/checkpoint.db */
	unsigned lease_secs;        /* [resumer] lease_secs: a fleet worker's claim lasts this long unrenewed (60) */
	size_t chunk_rows;          /* [resumer] chunk_rows: rows per fleet chunk, 0 = 16 × extract_batch_size */

	/* [global] */
	char *task_id;              /* default "default" */

	/* warnings collected while loading (unknown keys), NULL-terminated, may be NULL */
	char **warnings;
	size_t nwarnings;
} tl_config;

/* Loads a task file; db_types are checked against the built-in drivers. *out is owned by
 * the caller (tl_config_free). */
int tl_config_load(const char *path, tl_config **out, tl_error *err) TL_MUST_CHECK;
/* The same with db_types checked against reg (NULL = the built-in drivers). */
int tl_config_load_with(const char *path, const tl_registry *reg, tl_config **out, tl_error *err) TL_MUST_CHECK;
void tl_config_free(tl_config *cfg);

/*
 * The servers of a task as driver endpoints, with the section's TLS, time bounds and
 * application name; the strings are lent from cfg.
 */
tl_endpoint tl_config_source(const tl_config *cfg);
tl_endpoint tl_config_target(const tl_config *cfg);
tl_endpoint tl_config_resumer(const tl_config *cfg); /* ape-dts' database store */

/* The rows-per-second limit of the run (the smallest max_rps set, 0 = none) and the
 * bytes-per-second limit (the smallest max_mbps set, in bytes, 0 = none). */
uint64_t tl_config_rows_per_sec(const tl_config *cfg);
uint64_t tl_config_bytes_per_sec(const tl_config *cfg);

#endif
