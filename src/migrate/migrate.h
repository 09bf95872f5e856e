/*
 * migrate.h - the snapshot migrator (internal to src/migrate and src/cli).
 *
 * How a run works:
 *   1. sources.c imports the configured progress sources (resume.config, position logs
 *      oldest first, finished.log; or ape-dts' database store) into the SQLite store,
 *      unless exactly that content was imported before for this task.
 *   2. plan.c lists the source tables, applies [filter], asks the store about each one
 *      and decides: skip (finished), resume after a key, or start; and how to read it
 *      (batch = keyed pages, split = ranges of the partition column, scan = keyless full
 *      read). Every ignored record gets a reason.
 *   3. run.c starts parallel_size workers; each takes the next table and copy.c moves it:
 *      read a batch, write it to the target in one transaction, then (at most every
 *      checkpoint_interval_secs) hand its position to recorder.c, which writes the store
 *      (one transaction), position.log and ape-dts' table together. A finished table is
 *      recorded at once.
 * Nothing here knows which database it talks to: drivers are called through their ops
 * and capability bits.
 */
#ifndef TL_MIGRATE_H
#define TL_MIGRATE_H

#include <signal.h>
#include <stdint.h>
#include "tideline/config.h"
#include "tideline/driver.h"
#include "tideline/log.h"
#include "tideline/store.h"

enum tl_action { TL_ACT_START = 0, TL_ACT_RESUME, TL_ACT_SKIP };
enum tl_mode { TL_MODE_BATCH = 0, TL_MODE_SPLIT, TL_MODE_SCAN };

/* One selected table and what the run will do with it. */
typedef struct tl_plan_item {
	char *schema;
	char *tb;
	tl_table *table;      /* described source table (NULL when skipped before describing) */
	enum tl_action action;
	enum tl_mode mode;
	tl_keyvals after;     /* RESUME in batch mode: resume strictly after these */
	char *split_after;    /* RESUME in split mode: partition value to start after */
	char *reason;         /* human explanation ("finished in /x/finished.log line 3", …) */
	char *ignored;        /* why a record was ignored, or NULL */
	char *origin;         /* where the used record came from ("path line N", "run", …) */
	int64_t est_rows;
	int64_t rows_done;    /* rows already copied by earlier runs (store), -1 unknown */
	int64_t target_rows_at_finish; /* for skipped tables: recorded at finish, -1 unknown */
	char *warning;        /* set by tl_plan_check_targets: lost rows, restart needed */
	char *where;          /* [filter] where_conditions entry for this table, or NULL */
	int refuse;           /* the run must not copy this table without --init */
} tl_plan_item;

typedef struct tl_plan {
	size_t n;
	tl_plan_item *items;
} tl_plan;

typedef struct tl_migrate_opts {
	int init;                       /* --init: forget this task's progress first */
	const char *store_path;         /* --store overrides the config */
	tl_logger *log;
	volatile sig_atomic_t *stop;    /* set by a signal handler: stop cleanly */
	int progress_tty;               /* draw a progress line on stderr */
} tl_migrate_opts;

/* Imports the configured progress sources into the store (step 1). */
int tl_migrate_import_sources(const tl_config *cfg, const struct tl_driver_ops *dst_ops, tl_store *store,
			      tl_logger *log, tl_error *err) TL_MUST_CHECK;

/* run --init: moves the run's old text logs aside and marks the configured sources as imported. */
int tl_migrate_init_sources(const tl_config *cfg, tl_store *store, tl_logger *log, tl_error *err) TL_MUST_CHECK;

/* Builds the plan (step 2). src is a connection to the source. */
int tl_plan_build(const tl_config *cfg, const struct tl_driver_ops *ops, tl_conn *src, tl_store *store,
		  tl_logger *log, tl_plan *out, tl_error *err) TL_MUST_CHECK;
void tl_plan_clear(tl_plan *p, const struct tl_driver_ops *ops);
/*
 * Looks at the target: a finished table whose target now holds fewer rows than at
 * finish gets a warning; a table without a usable key whose target holds rows this task
 * cannot attribute is marked refuse ("restart needed").
 */
int tl_plan_check_targets(const tl_config *cfg, const struct tl_driver_ops *ops, tl_conn *dst, tl_store *store,
			  tl_plan *plan, tl_error *err) TL_MUST_CHECK;
const char *tl_plan_action_name(enum tl_action a);
const char *tl_plan_mode_name(enum tl_mode m);

/* Runs the whole task (steps 1-3). */
int tl_migrate_run(const tl_config *cfg, const tl_migrate_opts *opts, tl_error *err) TL_MUST_CHECK;

/* Recorder: serialises checkpoint writes of all workers (store + text logs + ape-dts table). */
typedef struct tl_recorder tl_recorder;
int tl_recorder_new(tl_recorder **out, const tl_config *cfg, tl_store *store, const struct tl_driver_ops *ape_ops,
		    tl_conn *ape_conn, tl_error *err) TL_MUST_CHECK;
void tl_recorder_free(tl_recorder *r);
/* Records a snapshot position (after the rows before it are committed on the target). */
int tl_recorder_position(tl_recorder *r, const tl_position *pos, int is_current, int64_t rows_copied,
			 tl_error *err) TL_MUST_CHECK;
int tl_recorder_finished(tl_recorder *r, const char *db_type, const char *schema, const char *tb,
			 int64_t rows_copied, tl_error *err) TL_MUST_CHECK;
int tl_recorder_table(tl_recorder *r, const tl_store_table *t, tl_error *err) TL_MUST_CHECK;
/* Position and finished records written so far, and the seconds spent writing them. */
void tl_recorder_stats(tl_recorder *r, long *records, double *secs);
/* Reads a table's statistics under the recorder's lock (workers share one store handle);
 * only the numeric fields are filled. Returns 0 or TL_ERR_NOTFOUND. */
int tl_recorder_get_table(tl_recorder *r, const char *schema, const char *tb, tl_store_table *out);

/* Copies one table (step 3). */
typedef struct tl_copy_ctx {
	const tl_config *cfg;
	const struct tl_driver_ops *src_ops, *dst_ops;
	tl_conn *src, *dst;
	tl_recorder *rec;
	tl_logger *log;
	volatile sig_atomic_t *stop;
	volatile int *abort_all; /* another worker failed */
	int64_t *total_rows;     /* shared counter for progress (atomic adds) */
} tl_copy_ctx;

typedef struct tl_copy_result {
	int64_t rows;
	double seconds;
	int resumed;
} tl_copy_result;

int tl_copy_table(tl_copy_ctx *ctx, tl_plan_item *item, tl_copy_result *res, tl_error *err) TL_MUST_CHECK;

/* Creates a directory and its parents (shared by run.c and recorder.c). */
int tl_migrate__mkdir_p(const char *path, tl_error *err) TL_MUST_CHECK;
/* Seconds on the monotonic clock (for durations, never for timestamps). */
double tl_migrate__now(void);

/* Debug-only crash hook (crash tests): kills the process at a named point when
 * TL_DEBUG_CRASH=<point>[:<n>] is set in the environment (n-th time, default 1). */
void tl_debug_crash_point(const char *point);

/* ---- verify.c: compares source and target per table (`tideline verify`) ------------------
 *
 * For every table the run would select: row count and content checksum (driver `checksum`
 * slot, computed on each server) of the whole table on both sides. A difference is then
 * located by splitting the partition column into `ranges` key ranges (bounds from
 * next_bound, or from reading the _id order when a driver has none), checksumming each
 * (lo, hi] range on both sides and descending into differing ranges up to `depth` levels.
 * Without a checksum slot only row counts are compared. Nothing is written anywhere.
 */
typedef struct tl_verify_range {
	char *lo;            /* exclusive lower bound in position form, NULL = from the start */
	char *hi;            /* inclusive upper bound, NULL = to the end */
	int nulls;           /* 1: the rows whose partition column is NULL (lo/hi unused) */
	int64_t src_rows, dst_rows;
	int content_differs; /* checksums differ (counts may be equal) */
} tl_verify_range;

enum tl_verify_state {
	TL_VERIFY_OK = 0,    /* same count and checksum (or same count, counts only) */
	TL_VERIFY_DIFFERS,   /* rows differ, or the target lost rows since finished */
	TL_VERIFY_NO_TARGET  /* target table missing or with other columns (see note) */
};

typedef struct tl_verify_table {
	char *schema, *tb;
	char *part_col;         /* column the ranges are over, NULL when not split */
	enum tl_verify_state state;
	int64_t src_rows, dst_rows; /* -1 unknown */
	int checksummed;        /* 0: the driver has no checksum slot, counts only */
	int content_differs;    /* whole-table checksums differ */
	int64_t rows_at_finish; /* target rows recorded when the table finished, -1 unknown */
	int lost_since_finish;  /* finished, and the target now has fewer rows than then */
	char *note;             /* why ranges are missing, the target mismatch, … or NULL */
	size_t nranges;         /* differing key ranges, in key order, NULL rows last */
	tl_verify_range *ranges;
	int ranges_coarse;      /* range budget hit: some ranges were not narrowed further */
} tl_verify_table;

typedef struct tl_verify_report {
	size_t n;
	tl_verify_table *tables;
	size_t ndiffer;  /* tables whose state is not TL_VERIFY_OK */
	char *store_note;/* why the finished-table check was not done, or NULL */
} tl_verify_report;

typedef struct tl_verify_opts {
	size_t ranges;          /* ranges per split level, 0 = 16 */
	unsigned depth;         /* levels of splitting, 0 = 3 */
	size_t max_ranges;      /* soft cap of reported ranges per table, 0 = 256 */
	const char *store_path; /* NULL = the config's; a missing store skips the finished check */
	tl_logger *log;         /* may be NULL */
} tl_verify_opts;

/* Compares every selected table. *out is the caller's (tl_verify_report_clear); cleared on error. */
int tl_verify_run(const tl_config *cfg, const tl_verify_opts *opts, tl_verify_report *out, tl_error *err) TL_MUST_CHECK;
void tl_verify_report_clear(tl_verify_report *r);
const char *tl_verify_state_name(enum tl_verify_state s);
/* ---- end verify.c ---- */

#endif
