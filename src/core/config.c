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
#include "tideline/schema.h"
#include "tideline/ratelimit.h"

enum vtype {
	V_STR,    /* char *: the value */
	V_SIZE,   /* size_t: a decimal integer in [min, max] */
	V_UINT,   /* unsigned: a decimal integer in [min, max] */
	V_BOOL,   /* int: true/false/1/0 */
	V_ENUM,   /* int: the value of one of `names` */
	V_RULES,  /* tl_table_rules: json:[{"db":…,"tb":…,"<field>":…}] */
	V_STRUCTS,/* unsigned: do_structures words (tl_schema_parse_structures) */
	V_WARN,   /* an ape-dts key that changes no row tideline reads or writes: a warning saying `why` */
	V_REFUSE, /* an ape-dts key tideline cannot act on, and acting on it would change what is read
		   * or written: an error saying `why` */
	V_REFUSE_TRUE /* a bool: false (ape-dts' default) is accepted, true is V_REFUSE */
};

/* Raw values of keys that other keys decide about (finish()). */
struct raw {
	char *resume_log_dir_new, *resume_config_new;
	char *legacy_from_log, *legacy_log_dir, *legacy_config;
	int has_legacy; /* any seed key present, even empty */
	char *table_full_name;
	char *tb_parallel_size;
	/* check-log settings: the spellings of ape-dts' releases, which must agree */
	char *cl_dir_sinker, *cl_dir_checker, *cl_dir_output;
	char *cl_rows_checker, *cl_rows_output, *cl_size_checker, *cl_size_output;
	char *output_type;    /* [checker_output] output_type */
	char *pipeline_type;  /* [pipeline] pipeline_type */
	char *conflict_policy;/* [sinker] conflict_policy */
	char *do_events;      /* [filter] do_events */
	int checker_section;  /* the file has a [checker] section (ape-dts' inline check) */
	long checker_line;
};

struct enum_name {
	const char *name;
	int value;
};

/* A name with value REFUSED_NAME is an ape-dts value tideline refuses, saying the key's `why`. */
#define REFUSED_NAME -1
static const struct enum_name extract_types[] = {
	{"snapshot", TL_EXTRACT_SNAPSHOT}, {"struct", TL_EXTRACT_STRUCT}, {"cdc", REFUSED_NAME},
	{"snapshot_and_cdc", REFUSED_NAME}, {"check_log", REFUSED_NAME}, {"snapshot_file", REFUSED_NAME},
	{"scan", REFUSED_NAME}, {"reshard", REFUSED_NAME}, {NULL, 0}};
static const struct enum_name sink_types[] = {
	{"write", TL_SINK_WRITE}, {"check", TL_SINK_CHECK}, {"struct", TL_SINK_STRUCT}, {"dummy", REFUSED_NAME},
	{"statistic", REFUSED_NAME}, {"sql", REFUSED_NAME}, {"push", REFUSED_NAME}, {"merge", REFUSED_NAME},
	{NULL, 0}};
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
#define RATE_CAP 4294967295ull /* TL_RATE_MAX_PER_SEC: ape-dts' max_rps is a u32 */
#define MBPS_CAP 4095ull       /* MiB/s whose bytes/s still fit that */
/* the reasons of docs/ape-dts-keys.md, shared by several rows */
#define WHY_CDC "it says where a change stream starts or how it is followed; tideline copies a snapshot only"
#define WHY_POOL "tideline opens one connection per worker (parallel_size) plus one; a pool limit changes no row"
#define WHY_BYTES "tideline's batches are bounded in bytes already"
#define WHY_PAR "tideline has no separate write stage: each worker writes the batches it reads (use [extractor] parallel_size)"
#define WHY_CDC_ONLY "it applies to CDC only; a snapshot has no change events"
#define WHY_OTHER_KIND "it applies to another kind of database (Redis, Kafka, StarRocks, …), which tideline does not copy"
#define WHY_S3 "check logs go to files; [checker_output] output_type=s3 is refused"
#define WHY_CHECKER_TARGET "the check target is the [sinker] since ape-dts 2.0.26"
#define WHY_FULL_ROW "tideline writes neither src_row/dst_row nor sql.log"
#define WHY_RECHECK "tideline compares once; check a target that is not being written to"
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
	const char *why;               /* V_WARN, V_REFUSE*, REFUSED_NAME values: the reason */
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
	{"extractor", "extract_type", V_ENUM, CFG(extract_type), .def = "snapshot", .names = extract_types,
	 .why = "tideline copies a snapshot; it does not follow a change stream or replay check logs"},
	{"extractor", "ssl_mode", V_STR, CFG(src_conn.ssl_mode)},
	{"extractor", "ssl_ca_path", V_STR, CFG(src_conn.ssl_ca_path)},
	{"extractor", "connection_timeout_secs", V_UINT, CFG(src_conn.connect_timeout_secs), .max = 86400},
	{"extractor", "io_timeout_secs", V_UINT, CFG(src_conn.io_timeout_secs), .max = 86400},
	{"extractor", "lock_wait_timeout_secs", V_UINT, CFG(src_conn.lock_wait_secs), .max = 86400},
	{"extractor", "app_name", V_STR, CFG(src_conn.app_name)},
	{"extractor", "is_direct_connection", V_BOOL, CFG(src_conn.direct)},
	{"extractor", "max_rps", V_SIZE, CFG(extract_max_rps), .max = RATE_CAP},
	{"extractor", "max_mbps", V_SIZE, CFG(extract_max_mbps), .max = MBPS_CAP},
	{"extractor", "max_connections", V_WARN, NOWHERE, .why = WHY_POOL},
	{"extractor", "db_batch_size", V_WARN, NOWHERE, .why = "struct tasks read definitions per table"},
	{"extractor", "check_log_dir", V_WARN, NOWHERE, .why = "it is read only with extract_type=check_log, which is refused"},
	{"extractor", "sample_interval", V_REFUSE, NOWHERE,
	 .why = "sampling changes which rows a check compares; tideline checks every row"},
	{"extractor", "binlog_filename", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "binlog_position", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "server_id", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "gtid_enabled", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "gtid_set", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "binlog_heartbeat_interval_secs", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "binlog_timeout_secs", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "heartbeat_interval_secs", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "heartbeat_tb", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "keepalive_idle_secs", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "keepalive_interval_secs", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "start_time_utc", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "end_time_utc", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "slot_name", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "pub_name", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "start_lsn", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "recreate_slot_if_exists", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "ddl_meta_tb", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "resume_token", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "start_timestamp", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "source", V_REFUSE, NOWHERE, .why = WHY_CDC},
	{"extractor", "is_cluster", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"extractor", "repl_port", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"extractor", "repl_id", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"extractor", "repl_offset", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"extractor", "now_db_id", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"extractor", "heartbeat_key", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"extractor", "file_path", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"extractor", "statistic_type", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"extractor", "scan_count", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"extractor", "group", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"extractor", "topic", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"extractor", "partition", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"extractor", "offset", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"extractor", "ack_interval_secs", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"sinker", "db_type", V_STR, CFG(dst_db_type)},
	{"sinker", "url", V_STR, CFG(dst_url)},
	{"sinker", "username", V_STR, CFG(dst_username)},
	{"sinker", "password", V_STR, CFG(dst_password)},
	/* unset (0): one target transaction per read batch */
	{"sinker", "batch_size", V_SIZE, CFG(sink_batch_size), .min = 1, .max = SIZE_CAP},
	{"sinker", "replace", V_BOOL, CFG(replace), .def = "true"},
	{"sinker", "sink_type", V_ENUM, CFG(sink_type), .def = "write", .names = sink_types,
	 .why = "tideline writes the rows into the target (write) or compares them with it (check)"},
	{"sinker", "ssl_mode", V_STR, CFG(dst_conn.ssl_mode)},
	{"sinker", "ssl_ca_path", V_STR, CFG(dst_conn.ssl_ca_path)},
	{"sinker", "connection_timeout_secs", V_UINT, CFG(dst_conn.connect_timeout_secs), .max = 86400},
	{"sinker", "io_timeout_secs", V_UINT, CFG(dst_conn.io_timeout_secs), .max = 86400},
	{"sinker", "lock_wait_timeout_secs", V_UINT, CFG(dst_conn.lock_wait_secs), .max = 86400},
	{"sinker", "app_name", V_STR, CFG(dst_conn.app_name)},
	{"sinker", "is_direct_connection", V_BOOL, CFG(dst_conn.direct)},
	{"sinker", "max_rps", V_SIZE, CFG(sink_max_rps), .max = RATE_CAP},
	{"sinker", "max_mbps", V_SIZE, CFG(sink_max_mbps), .max = MBPS_CAP},
	/* tideline's: false = the target's tables are the user's (no definition is created) */
	{"sinker", "create_schema", V_BOOL, CFG(create_schema), .def = "true"},
	{"sinker", "disable_foreign_key_checks", V_BOOL, CFG(disable_fk_checks), .def = "true"},
	{"sinker", "transaction_isolation", V_WARN, NOWHERE,
	 .why = "each batch is one transaction of blind writes; the isolation level changes no row written"},
	{"sinker", "max_connections", V_WARN, NOWHERE, .why = WHY_POOL},
	{"sinker", "conflict_policy", V_STR, RAW(conflict_policy)},
	{"sinker", "mongo_require_shard_key_filter", V_WARN, NOWHERE,
	 .why = "tideline writes MongoDB documents by _id; sharded targets are not supported"},
	{"sinker", "check_log_dir", V_STR, RAW(cl_dir_sinker)},
	{"sinker", "batch_memory_mb", V_WARN, NOWHERE, .why = WHY_BYTES},
	{"sinker", "is_cluster", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"sinker", "method", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"sinker", "statistic_type", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"sinker", "data_size_threshold", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"sinker", "freq_threshold", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"sinker", "statistic_log_dir", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"sinker", "stream_load_url", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"sinker", "hard_delete", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"sinker", "engine", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"sinker", "reverse", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"sinker", "ack_timeout_secs", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"sinker", "required_acks", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"sinker", "with_field_defs", V_WARN, NOWHERE, .why = WHY_OTHER_KIND},
	{"filter", "do_dbs", V_STR, CFG(do_dbs)},
	{"filter", "ignore_dbs", V_STR, CFG(ignore_dbs)},
	{"filter", "do_tbs", V_STR, CFG(do_tbs)},
	{"filter", "ignore_tbs", V_STR, CFG(ignore_tbs)},
	{"filter", "where_conditions", V_RULES, CFG(where_conditions), .field = "condition"},
	{"filter", "ignore_cols", V_STR, CFG(ignore_cols)},
	{"filter", "do_events", V_STR, RAW(do_events)},
	{"filter", "do_ddls", V_WARN, NOWHERE, .why = WHY_CDC_ONLY},
	{"filter", "do_dcls", V_WARN, NOWHERE, .why = WHY_CDC_ONLY},
	{"filter", "ignore_cmds", V_WARN, NOWHERE, .why = WHY_CDC_ONLY},
	{"filter", "do_structures", V_STRUCTS, CFG(structures), .def = "*"},
	{"router", "db_map", V_STR, CFG(db_map)},
	{"router", "tb_map", V_STR, CFG(tb_map)},
	{"router", "col_map", V_STR, CFG(col_map)},
	{"router", "topic_map", V_WARN, NOWHERE, .why = "it names Kafka topics; tideline has no Kafka target"},
	{"parallelizer", "parallel_type", V_WARN, NOWHERE, .why = WHY_PAR},
	{"parallelizer", "parallel_size", V_WARN, NOWHERE, .why = WHY_PAR},
	{"parallelizer", "rebalance_strategy", V_WARN, NOWHERE, .why = WHY_PAR},
	{"parallelizer", "rebalance_cost", V_WARN, NOWHERE, .why = WHY_PAR},
	{"parallelizer", "rebalance_max_partitions_per_sinker", V_WARN, NOWHERE, .why = WHY_PAR},
	{"parallelizer", "rebalance_min_partition_rows", V_WARN, NOWHERE, .why = WHY_PAR},
	{"parallelizer", "rebalance_split_skew_ratio", V_WARN, NOWHERE, .why = WHY_PAR},
	{"pipeline", "buffer_size", V_SIZE, CFG(buffer_size), .def = "16000", .min = 1, .max = SIZE_CAP},
	{"pipeline", "checkpoint_interval_secs", V_UINT, CFG(checkpoint_interval_secs), .def = "10", .max = SECS_CAP},
	{"pipeline", "retry_max_attempts", V_UINT, CFG(retry_max_attempts), .def = "10", .max = 1000000},
	{"pipeline", "retry_max_secs", V_UINT, CFG(retry_max_secs), .def = "300", .max = SECS_CAP},
	{"pipeline", "batch_timeout_secs", V_UINT, CFG(batch_timeout_secs), .def = "300", .max = SECS_CAP},
	{"pipeline", "max_rps", V_SIZE, CFG(pipeline_max_rps), .max = RATE_CAP},
	{"pipeline", "buffer_memory_mb", V_WARN, NOWHERE, .why = WHY_BYTES},
	{"pipeline", "batch_sink_interval_secs", V_WARN, NOWHERE, .why = WHY_CDC_ONLY},
	{"pipeline", "counter_time_window_secs", V_WARN, NOWHERE, .why = "tideline has no monitor counters"},
	{"pipeline", "counter_max_sub_count", V_WARN, NOWHERE, .why = "tideline has no monitor counters"},
	{"pipeline", "pipeline_type", V_STR, RAW(pipeline_type)},
	{"pipeline", "http_host", V_WARN, NOWHERE, .why = "it is used only with pipeline_type=http_server"},
	{"pipeline", "http_port", V_WARN, NOWHERE, .why = "it is used only with pipeline_type=http_server"},
	{"pipeline", "with_field_defs", V_WARN, NOWHERE, .why = "it is used only with pipeline_type=http_server"},
	{"runtime", "log_dir", V_STR, CFG(log_dir), .def = "./logs"},
	{"runtime", "log_level", V_STR, CFG(log_level), .def = "info"},
	{"runtime", "log4rs_file", V_WARN, NOWHERE,
	 .why = "tideline writes default.log, position.log and finished.log itself, in ape-dts' layout"},
	{"runtime", "position_format", V_ENUM, CFG(position_format), .def = "order_col", .names = position_formats},
	{"runtime", "tb_parallel_size", V_STR, RAW(tb_parallel_size)},
	{"runtime", "check_result_stdout_only", V_BOOL, CFG(check_result_stdout_only)},
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
	{"resumer", "max_connections", V_WARN, NOWHERE, .why = "the database store uses one connection"},
	{"resumer", "ssl_mode", V_STR, CFG(ape_conn.ssl_mode)},
	{"resumer", "ssl_ca_path", V_STR, CFG(ape_conn.ssl_ca_path)},
	{"resumer", "connection_timeout_secs", V_UINT, CFG(ape_conn.connect_timeout_secs), .max = 86400},
	{"resumer", "io_timeout_secs", V_UINT, CFG(ape_conn.io_timeout_secs), .max = 86400},
	{"resumer", "lock_wait_timeout_secs", V_UINT, CFG(ape_conn.lock_wait_secs), .max = 86400},
	{"resumer", "is_direct_connection", V_BOOL, CFG(ape_conn.direct)},
	{"resumer", "store", V_STR, CFG(store_path)},
	/* run --worker (docs/fleet.md): how long a worker's claim on a table or chunk lasts unrenewed */
	{"resumer", "lease_secs", V_UINT, CFG(lease_secs), .def = "60", .min = 1, .max = 86400},
	/* run --worker: rows per chunk of a split table; 0 = 16 × [extractor] batch_size */
	{"resumer", "chunk_rows", V_SIZE, CFG(chunk_rows), .def = "0", .max = SIZE_CAP},
	{"global", "task_id", V_STR, CFG(task_id), .def = "default"},
	/* check tasks ([sinker] sink_type=check); a [checker] section on a write task is refused */
	{"checker", "check_log_dir", V_STR, RAW(cl_dir_checker)},
	{"checker", "check_log_max_rows", V_STR, RAW(cl_rows_checker)},
	{"checker", "check_log_file_size", V_STR, RAW(cl_size_checker)},
	{"checker", "batch_size", V_WARN, NOWHERE, .why = "tideline compares whole key ranges, not batches of keys"},
	{"checker", "sample_percent", V_REFUSE, NOWHERE,
	 .why = "sampling changes which rows are compared; tideline compares every row"},
	{"checker", "sample_rate", V_REFUSE, NOWHERE,
	 .why = "sampling changes which rows are compared; tideline compares every row"},
	{"checker", "recheck_count", V_WARN, NOWHERE, .why = WHY_RECHECK},
	{"checker", "recheck_interval_secs", V_WARN, NOWHERE, .why = WHY_RECHECK},
	{"checker", "recheck_queue_size", V_WARN, NOWHERE, .why = WHY_RECHECK},
	{"checker", "recheck_queue_memory_mb", V_WARN, NOWHERE, .why = WHY_RECHECK},
	{"checker", "max_retries", V_WARN, NOWHERE, .why = WHY_RECHECK},
	{"checker", "retry_interval_secs", V_WARN, NOWHERE, .why = WHY_RECHECK},
	{"checker", "enable", V_REFUSE, NOWHERE,
	 .why = "config [checker].enable is no longer supported; use [sinker].sink_type=check for standalone check"},
	{"checker", "db_type", V_REFUSE, NOWHERE, .why = WHY_CHECKER_TARGET},
	{"checker", "url", V_REFUSE, NOWHERE, .why = WHY_CHECKER_TARGET},
	{"checker", "username", V_REFUSE, NOWHERE, .why = WHY_CHECKER_TARGET},
	{"checker", "password", V_REFUSE, NOWHERE, .why = WHY_CHECKER_TARGET},
	{"checker", "max_connections", V_REFUSE, NOWHERE, .why = WHY_CHECKER_TARGET},
	{"checker", "output_full_row", V_REFUSE_TRUE, NOWHERE, .why = WHY_FULL_ROW},
	{"checker", "output_revise_sql", V_REFUSE_TRUE, NOWHERE, .why = WHY_FULL_ROW},
	{"checker", "revise_match_full_row", V_REFUSE_TRUE, NOWHERE, .why = WHY_FULL_ROW},
	{"checker", "check_log_s3", V_REFUSE_TRUE, NOWHERE, .why = WHY_S3},
	{"checker", "queue_size", V_WARN, NOWHERE, .why = WHY_CDC_ONLY},
	{"checker", "cdc_check_log_interval_secs", V_WARN, NOWHERE, .why = WHY_CDC_ONLY},
	{"checker_output", "output_type", V_STR, RAW(output_type)},
	{"checker_output", "check_log_dir", V_STR, RAW(cl_dir_output)},
	{"checker_output", "check_log_max_rows", V_STR, RAW(cl_rows_output)},
	{"checker_output", "check_log_file_size", V_STR, RAW(cl_size_output)},
	{"checker_output", "output_full_row", V_REFUSE_TRUE, NOWHERE, .why = WHY_FULL_ROW},
	{"checker_output", "output_revise_sql", V_REFUSE_TRUE, NOWHERE, .why = WHY_FULL_ROW},
	{"checker_output", "revise_match_full_row", V_REFUSE_TRUE, NOWHERE, .why = WHY_FULL_ROW},
	{"checker_output", "s3_bucket", V_WARN, NOWHERE, .why = WHY_S3},
	{"checker_output", "s3_access_key_id", V_WARN, NOWHERE, .why = WHY_S3},
	{"checker_output", "s3_secret_access_key", V_WARN, NOWHERE, .why = WHY_S3},
	{"checker_output", "s3_region", V_WARN, NOWHERE, .why = WHY_S3},
	{"checker_output", "s3_endpoint", V_WARN, NOWHERE, .why = WHY_S3},
	{"checker_output", "s3_root_dir", V_WARN, NOWHERE, .why = WHY_S3},
	{"checker_output", "s3_root_url", V_WARN, NOWHERE, .why = WHY_S3},
	{"checker_output", "s3_key_prefix", V_WARN, NOWHERE, .why = WHY_S3},
	{"checker_cdc", "is_enabled", V_REFUSE_TRUE, NOWHERE,
	 .why = "an inline CDC check needs a change stream; tideline copies a snapshot only"},
	{"checker_cdc", "queue_size", V_WARN, NOWHERE, .why = WHY_CDC_ONLY},
	{"checker_cdc", "check_log_interval_secs", V_WARN, NOWHERE, .why = WHY_CDC_ONLY},
	{"processor", "lua_code_file", V_REFUSE, NOWHERE,
	 .why = "a Lua processor rewrites rows; tideline copies them unchanged"},
	{"data_marker", "topo_name", V_REFUSE, NOWHERE, .why = "data markers drop rows by origin in two-way sync; tideline does not implement them"},
	{"data_marker", "topo_nodes", V_REFUSE, NOWHERE, .why = "data markers drop rows by origin in two-way sync; tideline does not implement them"},
	{"data_marker", "src_node", V_REFUSE, NOWHERE, .why = "data markers drop rows by origin in two-way sync; tideline does not implement them"},
	{"data_marker", "dst_node", V_REFUSE, NOWHERE, .why = "data markers drop rows by origin in two-way sync; tideline does not implement them"},
	{"data_marker", "do_nodes", V_REFUSE, NOWHERE, .why = "data markers drop rows by origin in two-way sync; tideline does not implement them"},
	{"data_marker", "ignore_nodes", V_REFUSE, NOWHERE, .why = "data markers drop rows by origin in two-way sync; tideline does not implement them"},
	{"data_marker", "marker", V_REFUSE, NOWHERE, .why = "data markers drop rows by origin in two-way sync; tideline does not implement them"},
	{"metacenter", "type", V_WARN, NOWHERE, .why = "the metadata center serves MySQL CDC DDL"},
	{"metacenter", "url", V_WARN, NOWHERE, .why = "the metadata center serves MySQL CDC DDL"},
	{"metacenter", "username", V_WARN, NOWHERE, .why = "the metadata center serves MySQL CDC DDL"},
	{"metacenter", "password", V_WARN, NOWHERE, .why = "the metadata center serves MySQL CDC DDL"},
	{"metacenter", "ssl_mode", V_WARN, NOWHERE, .why = "the metadata center serves MySQL CDC DDL"},
	{"metacenter", "ssl_ca_path", V_WARN, NOWHERE, .why = "the metadata center serves MySQL CDC DDL"},
	{"metacenter", "ddl_conflict_policy", V_WARN, NOWHERE, .why = "the metadata center serves MySQL CDC DDL"},
	{"tracing", "task_summary_mode", V_WARN, NOWHERE, .why = "tideline has no runtime trace"},
	{"tracing", "output_format", V_WARN, NOWHERE, .why = "tideline has no runtime trace"},
	{"metrics", "http_host", V_WARN, NOWHERE, .why = "tideline has no metrics endpoint"},
	{"metrics", "http_port", V_WARN, NOWHERE, .why = "tideline has no metrics endpoint"},
	{"metrics", "workers", V_WARN, NOWHERE, .why = "tideline has no metrics endpoint"},
	{"metrics", "labels", V_WARN, NOWHERE, .why = "tideline has no metrics endpoint"},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct loader {
	tl_config *cfg;
	const tl_registry *reg;
	struct raw raw;
	unsigned char given[NKEYS]; /* the file sets the key (non-empty) */
	long line_of[NKEYS];        /* where (0: not given) */
	FILE *fp;
	long line;
	int line_too_long;
	tl_error *err;
	int failed;
};

/*
 * ape-dts turns an inline check on by the mere presence of a [checker] section, keys or
 * not, and inih reports only keys: section headers are noted here, as lines are read.
 */
static void note_section(struct loader *ld, const char *line)
{
	const char *p = line;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	n = strcspn(p, "]\r\n");
	if (*p == '[' && p[n] == ']' && n == 8 && strncasecmp(p + 1, "checker", 7) == 0 && !ld->raw.checker_section) {
		ld->raw.checker_section = 1;
		ld->raw.checker_line = ld->line;
	}
}

static char *read_line(char *str, int num, void *stream)
{
	struct loader *ld = stream;
	char *r = fgets(str, num, ld->fp);
	size_t n;

	if (!r)
		return NULL;
	ld->line++;
	note_section(ld, str);
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

/* Adds a finished warning text to cfg->warnings. -1: out of memory. */
static int push_warning(tl_config *cfg, const char *msg)
{
	char **nw;

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

static int add_warning(tl_config *cfg, const char *fmt, const char *a, const char *b, long line)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), fmt, cfg->path, line, a, b);
	return push_warning(cfg, msg);
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
				if (k->names[i].value == REFUSED_NAME)
					return tl_error_set(ld->err, TL_ERR_CONFIG, "%s: [%s] %s=%s is not supported: %s", at,
							    k->section, k->key, value, k->why);
				if (slot)
					*(int *)slot = k->names[i].value;
				return 0;
			}
		names_text(k->names, list, sizeof(list));
		return tl_error_set(ld->err, TL_ERR_CONFIG, "%s: [%s] %s=%s is not supported (must be %s)", at, k->section,
				    k->key, value, list);
	case V_RULES:
		return parse_rules(ld, k, value, line, slot, ld->err);
	case V_STRUCTS: {
		unsigned bits = 0, unsupported = 0;
		tl_error e = TL_ERROR_INIT;
		if (tl_schema_parse_structures(value, &bits, &unsupported, &e) != 0)
			return tl_error_set(ld->err, e.code, "%s: [%s] %s=%s: %s", at, k->section, k->key, value, e.message);
		*(unsigned *)slot = bits;
		if (unsupported && add_warning(ld->cfg, "%s:%ld: [%s] %s: rbac and shardkey are accepted and not copied "
						"(roles, grants and shard keys are the target's own)",
					       k->section, k->key, line) != 0)
			return tl_error_set(ld->err, TL_ERR_NOMEM, "out of memory reading '%s'", ld->cfg->path);
		return 0;
	}
	case V_WARN: {
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s: [%s] %s has no effect: %s", at, k->section, k->key, k->why);
		if (push_warning(ld->cfg, msg) != 0)
			return tl_error_set(ld->err, TL_ERR_NOMEM, "out of memory reading '%s'", ld->cfg->path);
		return 0;
	}
	case V_REFUSE_TRUE:
		if (parse_bool(value, &b) != 0)
			return tl_error_set(ld->err, TL_ERR_CONFIG, "%s: [%s] %s=%s can not be parsed as a bool", at,
					    k->section, k->key, value);
		if (!b)
			return 0;
		/* fall through */
	case V_REFUSE:
		return tl_error_set(ld->err, TL_ERR_CONFIG, "%s: [%s] %s=%s is not supported: %s", at, k->section, k->key,
				    value, k->why);
	default:
		return 0;
	}
}

/* Levenshtein distance of two short names, case-insensitive, capped at 3. */
static size_t name_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 3;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			size_t sub = prev[j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
			cur[j] = del < ins ? (del < sub ? del : sub) : (ins < sub ? ins : sub);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb] > 3 ? 3 : prev[lb];
}

/*
 * An unknown section or key that is one or two letters away from a known one is almost
 * certainly a typo ([filtre], do_db), and ignoring it would copy other tables than the
 * user asked for: an error saying what was meant. Returns 1 with ld->err set.
 */
static int misspelt(struct loader *ld, const char *section, const char *name, int section_known)
{
	const char *best = NULL;
	size_t i, d, bestd = 3;

	for (i = 0; i < NKEYS; i++) {
		const char *cand = section_known ? keys[i].key : keys[i].section;
		if (section_known && strcasecmp(keys[i].section, section) != 0)
			continue;
		if (strlen(cand) < 4 || (d = name_distance(section_known ? name : section, cand)) > 2 || d >= bestd)
			continue;
		best = cand;
		bestd = d;
	}
	if (!best)
		return 0;
	if (section_known)
		tl_error_set(ld->err, TL_ERR_CONFIG, "%s:%ld: unknown key [%s] %s: did you mean %s?", ld->cfg->path,
			     ld->line, section, name, best);
	else
		tl_error_set(ld->err, TL_ERR_CONFIG, "%s:%ld: unknown section [%s]: did you mean [%s]?", ld->cfg->path,
			     ld->line, section, best);
	return 1;
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
		if (value[0] == '\0')
			return 1; /* empty value = absent key */
		if (set_value(ld, k, value, ld->line) != 0) {
			ld->failed = 1;
			return 0;
		}
		ld->given[i] = 1;
		ld->line_of[i] = ld->line;
		return 1;
	}
	if (misspelt(ld, section, name, section_known)) {
		ld->failed = 1;
		return 0;
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

/* Where key [section] key was given: "FILE:LINE" (or "FILE" when it was not). */
static void key_at(const struct loader *ld, const char *section, const char *key, char *out, size_t n)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0) {
			where_text(ld, ld->line_of[i], out, n);
			return;
		}
	where_text(ld, 0, out, n);
}

/* A size as ape-dts writes check_log_file_size: digits with an optional kb/mb/gb (or k/m/g, b). */
static int parse_bytes(const char *v, unsigned long long *out)
{
	char *end = NULL;
	unsigned long long x, mul = 1;

	if (!isdigit((unsigned char)v[0]))
		return -1;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno)
		return -1;
	while (*end == ' ')
		end++;
	if (strcasecmp(end, "kb") == 0 || strcasecmp(end, "k") == 0)
		mul = 1ull << 10;
	else if (strcasecmp(end, "mb") == 0 || strcasecmp(end, "m") == 0)
		mul = 1ull << 20;
	else if (strcasecmp(end, "gb") == 0 || strcasecmp(end, "g") == 0)
		mul = 1ull << 30;
	else if (*end && strcasecmp(end, "b") != 0)
		return -1;
	if (x == 0 || x > SIZE_CAP / mul)
		return -1;
	*out = x * mul;
	return 0;
}

/*
 * One check-log setting given under up to three spellings (ape-dts moved it between
 * releases): they must agree. *out is the value given (or NULL), *from the section.
 */
static int agree3(struct loader *ld, const char *key, const char *const vals[3], const char *const secs[3],
		  const char **out, const char **from, tl_error *err)
{
	size_t i;

	*out = NULL;
	*from = NULL;
	for (i = 0; i < 3; i++) {
		if (!vals[i])
			continue;
		if (*out && strcmp(*out, vals[i]) != 0)
			return tl_error_set(err, TL_ERR_CONFIG, "%s: [%s] %s=%s disagrees with [%s] %s=%s", ld->cfg->path,
					    secs[i], key, vals[i], *from, key, *out);
		*out = vals[i];
		*from = secs[i];
	}
	return 0;
}

/* The check-log settings of a check task (docs/ape-dts-keys.md [checker_output]). */
static int resolve_check_logs(struct loader *ld, tl_error *err)
{
	tl_config *cfg = ld->cfg;
	struct raw *raw = &ld->raw;
	static const char *const secs[3] = {"sinker", "checker", "checker_output"};
	const char *dirs[3] = {raw->cl_dir_sinker, raw->cl_dir_checker, raw->cl_dir_output};
	const char *rows[3] = {NULL, raw->cl_rows_checker, raw->cl_rows_output};
	const char *sizes[3] = {NULL, raw->cl_size_checker, raw->cl_size_output};
	const char *v, *from;
	unsigned long long x;
	int rc;

	if ((rc = agree3(ld, "check_log_dir", dirs, secs, &v, &from, err)))
		return rc;
	if (v) {
		if ((rc = set_str(&cfg->check_log_dir, v, err)))
			return rc;
		cfg->check_log_legacy = strcmp(from, "sinker") == 0;
	} else {
		tl_buf b = TL_BUF_INIT;
		if ((rc = tl_buf_printf(&b, err, "%s/check", cfg->log_dir)))
			return rc;
		cfg->check_log_dir = tl_buf_detach(&b);
	}
	if ((rc = agree3(ld, "check_log_max_rows", rows, secs, &v, &from, err)))
		return rc;
	if (v) {
		if (parse_size(v, SIZE_CAP, &x) != 0 || x == 0)
			return tl_error_set(err, TL_ERR_CONFIG, "%s: [%s] check_log_max_rows=%s must be a positive integer",
					    cfg->path, from, v);
		cfg->check_log_max_rows = (size_t)x;
	}
	if ((rc = agree3(ld, "check_log_file_size", sizes, secs, &v, &from, err)))
		return rc;
	if (v && parse_bytes(v, &cfg->check_log_max_bytes) != 0)
		return tl_error_set(err, TL_ERR_CONFIG,
				    "%s: [%s] check_log_file_size=%s must be a size such as 100mb (b, kb, mb or gb)",
				    cfg->path, from, v);
	if (raw->output_type && strcasecmp(raw->output_type, "logs") != 0) {
		char at[4200];
		key_at(ld, "checker_output", "output_type", at, sizeof(at));
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [checker_output] output_type=%s is not supported: %s", at,
				    raw->output_type,
				    strcasecmp(raw->output_type, "s3") == 0 ? "check logs are written to files (output_type=logs)"
									    : "must be logs");
	}
	return 0;
}

/* ssl_mode and ssl_ca_path of a section: a mode tideline knows, a CA file it can read. */
static int check_tls(struct loader *ld, const char *section, const tl_config_conn *cc, tl_error *err)
{
	char at[4200];
	FILE *f;

	if (cc->ssl_mode && tl_ssl_mode_parse(cc->ssl_mode) < 0) {
		key_at(ld, section, "ssl_mode", at, sizeof(at));
		return tl_error_set(err, TL_ERR_CONFIG,
				    "%s: [%s] ssl_mode=%s is not supported (must be disable, require, verify_ca or verify_full)",
				    at, section, cc->ssl_mode);
	}
	if (cc->ssl_ca_path) {
		if (!(f = fopen(cc->ssl_ca_path, "r"))) {
			key_at(ld, section, "ssl_ca_path", at, sizeof(at));
			return tl_error_set(err, TL_ERR_CONFIG, "%s: [%s] ssl_ca_path=%s cannot be read: %s", at, section,
					    cc->ssl_ca_path, strerror(errno));
		}
		fclose(f);
	}
	return 0;
}

/*
 * is_direct_connection: MongoDB's directConnection URI option (the kind whose tables are
 * documents), added to the URL unless the URL sets it; for other kinds a warning.
 */
static int direct_connection(struct loader *ld, const char *section, const struct tl_driver_ops *ops,
			     const char *url, tl_config_conn *cc, tl_error *err)
{
	char at[4200], msg[4400];
	tl_buf b = TL_BUF_INIT;
	int rc;

	if (!given(ld, section, "is_direct_connection") || !url)
		return 0;
	key_at(ld, section, "is_direct_connection", at, sizeof(at));
	if (!ops || !(ops->caps & TL_CAP_DOCUMENTS)) {
		snprintf(msg, sizeof(msg), "%s: [%s] is_direct_connection has no effect: it applies to MongoDB only", at,
			 section);
		return push_warning(ld->cfg, msg) ? tl_error_set(err, TL_ERR_NOMEM, "out of memory") : 0;
	}
	if (strstr(url, "directConnection=") || strstr(url, "directconnection="))
		return 0;
	if ((rc = tl_buf_printf(&b, err, "%s%sdirectConnection=%s", url, strchr(url, '?') ? "&" : "?",
				cc->direct ? "true" : "false"))) {
		tl_buf_release(&b);
		return rc;
	}
	free(cc->url_eff);
	cc->url_eff = tl_buf_detach(&b);
	return cc->url_eff ? 0 : tl_error_set(err, TL_ERR_NOMEM, "out of memory");
}

/* [router] and [filter] ignore_cols, parsed for the source's kind; errors get FILE:LINE of the key. */
static int build_route(struct loader *ld, const struct tl_driver_ops *src, tl_error *err)
{
	tl_config *cfg = ld->cfg;
	static const char *const names[4][2] = {
		{"router", "db_map"}, {"router", "tb_map"}, {"router", "col_map"}, {"filter", "ignore_cols"}};
	char at[4200], pat[64];
	size_t i;
	int rc;

	rc = tl_route_new(&cfg->route, src->quote, (src->caps & TL_CAP_DOCUMENTS) ? TL_ROUTE_DOCUMENTS : 0, cfg->db_map,
			  cfg->tb_map, cfg->col_map, cfg->ignore_cols, err);
	if (!rc)
		return 0;
	for (i = 0; i < 4; i++) {
		snprintf(pat, sizeof(pat), "[%s] %s", names[i][0], names[i][1]);
		if (err && strstr(err->message, pat)) {
			key_at(ld, names[i][0], names[i][1], at, sizeof(at));
			return tl_error_prefix(err, "%s", at);
		}
	}
	return tl_error_prefix(err, "%s", cfg->path);
}

/* do_events: a snapshot copies rows when insert is selected, as ape-dts does. */
static int check_do_events(struct loader *ld, tl_error *err)
{
	const char *v = ld->raw.do_events, *p;
	char at[4200], word[64];
	int insert = 0;

	if (!v)
		return 0;
	key_at(ld, "filter", "do_events", at, sizeof(at));
	for (p = v; *p;) {
		size_t n;
		while (*p == ' ' || *p == ',')
			p++;
		n = strcspn(p, ", ");
		if (!n)
			break;
		snprintf(word, sizeof(word), "%.*s", (int)(n < 63 ? n : 63), p);
		p += n;
		if (strcmp(word, "*") == 0 || strcasecmp(word, "insert") == 0)
			insert = 1;
		else if (strcasecmp(word, "update") != 0 && strcasecmp(word, "delete") != 0)
			return tl_error_set(err, TL_ERR_CONFIG,
					    "%s: [filter] do_events=%s: unknown event '%s' (insert, update, delete or *)", at,
					    v, word);
	}
	if (!insert)
		return tl_error_set(err, TL_ERR_CONFIG,
				    "%s: [filter] do_events=%s selects no rows: a snapshot copies rows only when insert "
				    "is selected (*, empty, or a list with insert)",
				    at, v);
	return 0;
}

/* from_target: ape-dts' store is reached as the sinker is; the [resumer] keys it sets win. */
static int copy_conn(tl_config_conn *to, const tl_config_conn *from, tl_error *err)
{
	int rc;

	if ((!to->ssl_mode && (rc = set_str(&to->ssl_mode, from->ssl_mode, err))) ||
	    (!to->ssl_ca_path && (rc = set_str(&to->ssl_ca_path, from->ssl_ca_path, err))) ||
	    (!to->app_name && (rc = set_str(&to->app_name, from->app_name, err))) ||
	    (!to->url_eff && (rc = set_str(&to->url_eff, from->url_eff, err))))
		return rc;
	if (!to->connect_timeout_secs)
		to->connect_timeout_secs = from->connect_timeout_secs;
	if (!to->io_timeout_secs)
		to->io_timeout_secs = from->io_timeout_secs;
	if (!to->lock_wait_secs)
		to->lock_wait_secs = from->lock_wait_secs;
	return 0;
}

/* The ape-dts keys that join several others (docs/ape-dts-keys.md), after the kinds are known. */
static int finish_taskfile(struct loader *ld, const struct tl_driver_ops *src, const struct tl_driver_ops *dst,
			   tl_error *err)
{
	tl_config *cfg = ld->cfg;
	struct raw *raw = &ld->raw;
	char at[4200], msg[4400];
	int rc;

	/* ape-dts' struct task sets both extract_type=struct and sink_type=struct: either one
	 * means definitions only; comparing definitions (a struct check) is not done */
	if (cfg->extract_type == TL_EXTRACT_STRUCT || cfg->sink_type == TL_SINK_STRUCT) {
		key_at(ld, cfg->extract_type == TL_EXTRACT_STRUCT ? "extractor" : "sinker",
		       cfg->extract_type == TL_EXTRACT_STRUCT ? "extract_type" : "sink_type", at, sizeof(at));
		if (cfg->sink_type == TL_SINK_CHECK)
			return tl_error_set(err, TL_ERR_CONFIG,
					    "%s: [extractor] extract_type=struct with [sinker] sink_type=check (comparing "
					    "definitions) is not supported: a check task compares rows",
					    at);
		cfg->extract_type = TL_EXTRACT_STRUCT;
		cfg->sink_type = TL_SINK_STRUCT;
		/* definitions only: the target must know how to create them */
		if (!(dst->caps & TL_CAP_SCHEMA))
			return tl_error_set(err, TL_ERR_CONFIG, "%s: struct (definitions only): %s cannot copy definitions",
					    at, dst->name);
		if (!cfg->create_schema)
			return tl_error_set(err, TL_ERR_CONFIG,
					    "%s: struct copies definitions only, and [sinker] create_schema=false turns "
					    "them off: nothing would be copied",
					    at);
	}
	if (cfg->sink_type == TL_SINK_WRITE && raw->checker_section)
		return tl_error_set(err, TL_ERR_CONFIG,
				    "%s:%ld: [checker] asks for an inline check, which is not supported: copy first, then "
				    "run the same task with [sinker] sink_type=check (or tideline verify)",
				    cfg->path, raw->checker_line);
	if (cfg->sink_type == TL_SINK_CHECK && cfg->where_conditions.n)
		/* verify's counts and checksums cover whole tables: every row outside the condition
		 * would be reported missing (ape-dts checks only the source rows it selects) */
		return tl_error_set(err, TL_ERR_CONFIG,
				    "%s:%ld: [filter] where_conditions is not supported in a check task: tideline compares "
				    "whole tables, so the rows the condition leaves out would be reported missing (ape-dts "
				    "checks only the source rows it selects); check with a task without it",
				    cfg->path, cfg->where_conditions.v[0].line);
	if ((rc = resolve_check_logs(ld, err)) || (rc = check_do_events(ld, err)))
		return rc;
	if (raw->pipeline_type && strcasecmp(raw->pipeline_type, "basic") != 0) {
		key_at(ld, "pipeline", "pipeline_type", at, sizeof(at));
		return tl_error_set(err, TL_ERR_CONFIG, "%s: [pipeline] pipeline_type=%s is not supported: %s", at,
				    raw->pipeline_type,
				    strcasecmp(raw->pipeline_type, "http_server") == 0
					    ? "tideline reads from the source itself, not from an HTTP server"
					    : "must be basic");
	}
	if (raw->conflict_policy) {
		key_at(ld, "sinker", "conflict_policy", at, sizeof(at));
		if (strcasecmp(raw->conflict_policy, "ignore") != 0 && strcasecmp(raw->conflict_policy, "interrupt") != 0)
			return tl_error_set(err, TL_ERR_CONFIG, "%s: [sinker] conflict_policy=%s is not supported (must be "
					    "ignore or interrupt)", at, raw->conflict_policy);
		snprintf(msg, sizeof(msg), "%s: [sinker] conflict_policy has no effect: tideline creates only the "
			 "definitions the target lacks (docs/schema.md)", at);
		if (push_warning(cfg, msg))
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
	if (cfg->sink_type != TL_SINK_CHECK && cfg->check_result_stdout_only) {
		key_at(ld, "runtime", "check_result_stdout_only", at, sizeof(at));
		snprintf(msg, sizeof(msg), "%s: [runtime] check_result_stdout_only has no effect: it applies to check "
			 "tasks ([sinker] sink_type=check)", at);
		if (push_warning(cfg, msg))
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
	if ((rc = check_tls(ld, "extractor", &cfg->src_conn, err)) || (rc = check_tls(ld, "sinker", &cfg->dst_conn, err)) ||
	    (rc = check_tls(ld, "resumer", &cfg->ape_conn, err)))
		return rc;
	if ((rc = direct_connection(ld, "extractor", src, cfg->src_url, &cfg->src_conn, err)) ||
	    (rc = direct_connection(ld, "sinker", dst, cfg->dst_url, &cfg->dst_conn, err)))
		return rc;
	return build_route(ld, src, err);
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
	if ((rc = finish_taskfile(ld, src, dst, err)))
		return rc;
	if (cfg->resume_type == TL_RESUME_FROM_DB &&
	    (rc = direct_connection(ld, "resumer", res, cfg->resume_url, &cfg->ape_conn, err)))
		return rc;
	if (cfg->resume_type == TL_RESUME_FROM_TARGET && (rc = copy_conn(&cfg->ape_conn, &cfg->dst_conn, err)))
		return rc;
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
	free(r->cl_dir_sinker); free(r->cl_dir_checker); free(r->cl_dir_output);
	free(r->cl_rows_checker); free(r->cl_rows_output); free(r->cl_size_checker); free(r->cl_size_output);
	free(r->output_type); free(r->pipeline_type); free(r->conflict_policy); free(r->do_events);
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

static void conn_clear(tl_config_conn *cc)
{
	free(cc->ssl_mode);
	free(cc->ssl_ca_path);
	free(cc->app_name);
	free(cc->url_eff);
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
	free(c->ignore_cols); free(c->db_map); free(c->tb_map); free(c->col_map);
	tl_route_free(c->route);
	conn_clear(&c->src_conn); conn_clear(&c->dst_conn); conn_clear(&c->ape_conn);
	free(c->check_log_dir);
	free(c->log_dir); free(c->log_level);
	free(c->resume_log_dir); free(c->resume_config_file);
	free(c->resume_url); free(c->resume_db_type); free(c->resume_username); free(c->resume_password);
	free(c->ape_schema); free(c->ape_table); free(c->store_path); free(c->task_id);
	for (i = 0; i < c->nwarnings; i++)
		free(c->warnings[i]);
	free(c->warnings);
	free(c);
}

static tl_endpoint endpoint(const char *db_type, const char *url, const char *user, const char *pw,
			    const tl_config_conn *cc)
{
	tl_endpoint ep = {.db_type = db_type, .url = cc->url_eff ? cc->url_eff : url, .username = user,
			  .password = pw, .app_name = cc->app_name ? cc->app_name : "tideline",
			  .ssl_mode = cc->ssl_mode, .ssl_ca_path = cc->ssl_ca_path,
			  .connect_timeout_secs = (int)cc->connect_timeout_secs, .io_timeout_secs = (int)cc->io_timeout_secs,
			  .lock_wait_secs = (int)cc->lock_wait_secs};
	return ep;
}

tl_endpoint tl_config_source(const tl_config *cfg)
{
	return endpoint(cfg->src_db_type, cfg->src_url, cfg->src_username, cfg->src_password, &cfg->src_conn);
}

tl_endpoint tl_config_target(const tl_config *cfg)
{
	tl_endpoint ep = endpoint(cfg->dst_db_type, cfg->dst_url, cfg->dst_username, cfg->dst_password, &cfg->dst_conn);

	ep.foreign_key_checks = cfg->disable_fk_checks ? TL_FK_OFF : TL_FK_ON;
	return ep;
}

tl_endpoint tl_config_resumer(const tl_config *cfg)
{
	return endpoint(cfg->resume_db_type, cfg->resume_url, cfg->resume_username, cfg->resume_password,
			&cfg->ape_conn);
}

uint64_t tl_config_rows_per_sec(const tl_config *cfg)
{
	return tl_rate_effective(cfg->extract_max_rps, cfg->sink_max_rps, cfg->pipeline_max_rps);
}

uint64_t tl_config_bytes_per_sec(const tl_config *cfg)
{
	return tl_rate_effective(cfg->extract_max_mbps, cfg->sink_max_mbps, 0) << 20;
}
