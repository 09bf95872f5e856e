/*
 * checklog.h - ape-dts' check logs: miss.log, diff.log and summary.log of a check task
 * ([sinker] sink_type=check), in ape-dts' documented layout (docs/en/snapshot/check.md,
 * dt-connector/src/checker/check_log.rs, the expect_check_log fixtures), plus extra.log
 * for rows only the target has (ape-dts' check cannot see them).
 *
 * Layout (TL_CHECKLOG_CURRENT, ape-dts 2.0.26 and later): one compact JSON object per
 * line, no timestamp, keys in this order:
 *   {"schema":S,"tb":T[,"target_schema":S2,"target_tb":T2],"id_col_values":{…}[,"diff_col_values":{…}]}
 * schema/tb are the SOURCE names; target_schema/target_tb appear (both) only when the
 * routed target differs. id_col_values maps the source key columns to their values in
 * position text form (the form of position.log: "5", hex for binary, Mongo's tagged _id),
 * JSON null for SQL NULL. diff_col_values maps each differing source column to
 * {"src":…,"dst":…[,"src_type":…][,"dst_type":…]}. Object members are sorted by name
 * (byte order), strings escaped as serde_json does (only '"', '\\' and control
 * characters; non-ASCII raw). miss.log lines have no diff_col_values.
 * TL_CHECKLOG_V25 (ape-dts ≤ 2.0.25): {"log_type":"Miss"|"Diff",…,"diff_col_values":{}}
 * with diff_col_values always present, no target_* and no *_type fields.
 *
 * summary.log is one line: {"start_time":…,"end_time":…,"is_consistent":B,
 * "checked_count":N,"miss_count":N,"diff_count":N,"skip_count":N[,"extra_count":N]
 * [,"tables":[{"schema":…,"tb":…[,"target_schema":…,"target_tb":…],"checked_count":N,
 * "miss_count":N,"diff_count":N,"skip_count":N[,"extra_count":N]},…]]} with tables sorted
 * by (schema, tb, target_schema, target_tb). extra_count is tideline's: written only when
 * non-zero, so a check that finds nothing ape-dts could not find reads byte for byte as
 * ape-dts writes it. is_consistent is false when any miss, diff, skip or extra count is.
 */
#ifndef TL_CHECKLOG_H
#define TL_CHECKLOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "tideline/buf.h"
#include "tideline/error.h"

enum tl_checklog_style { TL_CHECKLOG_CURRENT = 0, TL_CHECKLOG_V25 };
enum tl_checklog_kind { TL_CHECKLOG_MISS = 0, TL_CHECKLOG_DIFF, TL_CHECKLOG_EXTRA };

/* One differing column of a row. */
typedef struct tl_checklog_diff {
	const char *col;      /* source column name */
	const char *src, *dst;/* values in position text form; NULL = JSON null */
	/* ape-dts' value type names ("Short", "String", "Decimal", "None", BSON names for
	 * MongoDB …); each is written when non-NULL. ape-dts gives both when the types differ,
	 * e.g. src NULL vs dst 1 gives "None" / "Short", and src_type alone when the target
	 * lacks the column. Ignored in TL_CHECKLOG_V25. */
	const char *src_type, *dst_type;
} tl_checklog_diff;

/* One line of miss.log, diff.log or extra.log. All strings are lent. */
typedef struct tl_checklog_row {
	const char *schema, *tb;               /* source table */
	const char *target_schema, *target_tb; /* target table, NULL = same as the source */
	size_t nkeys;
	const char *const *key_cols;           /* source key column names */
	const char *const *key_vals;           /* NULL entries = JSON null */
	size_t ndiff;                          /* TL_CHECKLOG_DIFF only */
	const tl_checklog_diff *diffs;
} tl_checklog_row;

/* Per table counts for summary.log. */
typedef struct tl_checklog_table {
	const char *schema, *tb, *target_schema, *target_tb; /* target NULL = same */
	uint64_t checked, miss, diff, skip, extra;
} tl_checklog_table;

typedef struct tl_checklog_summary {
	const char *start_time, *end_time; /* tl_checklog_time text */
	uint64_t checked, miss, diff, skip, extra;
	size_t ntables;
	const tl_checklog_table *tables;   /* any order; written sorted */
} tl_checklog_summary;

/* Appends one line (with '\n') for a row. kind EXTRA has the shape of MISS ("Extra" in V25). */
int tl_checklog_format_row(tl_buf *out, enum tl_checklog_style style, enum tl_checklog_kind kind,
			   const tl_checklog_row *row, tl_error *err) TL_MUST_CHECK;
/* Appends the summary line (with '\n'). */
int tl_checklog_format_summary(tl_buf *out, const tl_checklog_summary *s, tl_error *err) TL_MUST_CHECK;
/*
 * Local time as chrono's to_rfc3339() writes it (what ape-dts puts in summary.log):
 * "2026-05-13T23:47:21.043172+08:00"; the fraction has 0, 3 or 6 digits, the fewest that
 * hold the microseconds exactly. out must hold 40 bytes.
 */
void tl_checklog_time(char out[40], const struct timespec *ts);

/*
 * The check-log writer of one check run: opens DIR/miss.log, diff.log and extra.log
 * (created, truncated: each check run replaces the previous run's logs in that directory;
 * ape-dts appends, which leaves several summaries in one file), appends lines, keeps the
 * counts, and at close writes summary.log and removes the empty row logs. At most
 * max_rows lines and max_bytes bytes go to each row log ([checker_output]
 * check_log_max_rows, default 1000, and check_log_file_size, default 100mb); rows past
 * that are still counted. Safe to call from several threads (one mutex).
 */
typedef struct tl_checklog tl_checklog;

typedef struct tl_checklog_opts {
	unsigned version;   /* TL_CHECKLOG_OPTS_VERSION */
	const char *dir;    /* created if missing (one level) */
	enum tl_checklog_style style;
	size_t max_rows;    /* 0 = 1000 */
	uint64_t max_bytes; /* 0 = 100 MiB */
} tl_checklog_opts;

#define TL_CHECKLOG_OPTS_VERSION 1
#define TL_CHECKLOG_OPTS_INIT {TL_CHECKLOG_OPTS_VERSION, NULL, TL_CHECKLOG_CURRENT, 0, 0}

int tl_checklog_open(tl_checklog **out, const tl_checklog_opts *opts, tl_error *err) TL_MUST_CHECK;
/* Writes one row line (within the limits) and counts it for its table. */
int tl_checklog_add(tl_checklog *cl, enum tl_checklog_kind kind, const tl_checklog_row *row, tl_error *err) TL_MUST_CHECK;
/* Counts rows compared (checked) or left out (skipped, e.g. no usable key) for a table. */
int tl_checklog_count(tl_checklog *cl, const char *schema, const char *tb, const char *target_schema,
		      const char *target_tb, uint64_t checked, uint64_t skipped, tl_error *err) TL_MUST_CHECK;
/* 1 when nothing missing, differing, extra or skipped was counted so far. */
int tl_checklog_consistent(tl_checklog *cl);
/*
 * Writes summary.log (fsync'd), removes empty row logs and frees cl (also on error;
 * accepts NULL). end_time is taken now.
 */
int tl_checklog_close(tl_checklog *cl, tl_error *err) TL_MUST_CHECK;
/* Frees without writing a summary (a failed run); the row logs written so far stay. */
void tl_checklog_abandon(tl_checklog *cl);

#endif
