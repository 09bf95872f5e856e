/*
 * store.h - the SQLite checkpoint store (tideline.md §4).
 *
 * One file (default <log_dir>/checkpoint.db) holds, per task id, the effective position
 * records of every table (one row per task/schema/tb/kind), the finished records, per
 * table run statistics and what text sources were imported. The DDL lives in schema/
 * and is applied in order by PRAGMA user_version; a store newer than this binary is
 * refused. WAL mode: readers (status, sqlite3) never block the writer.
 *
 * Only src/store/ includes sqlite3.h. A tl_store is used by one thread at a time; the
 * migrator serialises access through its recorder. Every write outside an explicit
 * tl_store_begin/tl_store_commit pair is its own transaction.
 */
#ifndef TL_STORE_H
#define TL_STORE_H

#include <stdint.h>
#include "tideline/error.h"
#include "tideline/position.h"
#include "tideline/resume.h"

typedef struct tl_store tl_store;

enum tl_store_flags {
	TL_STORE_READONLY = 1u << 0, /* open existing store read-only (status) */
	TL_STORE_NOCREATE = 1u << 1  /* fail with TL_ERR_NOTFOUND if the file is missing */
};

/* Opens (creating and migrating as needed). *out is owned by the caller: tl_store_close. */
int tl_store_open(tl_store **out, const char *path, unsigned flags, tl_error *err) TL_MUST_CHECK;
void tl_store_close(tl_store *s);
const char *tl_store_path(const tl_store *s);
/* The schema version this binary writes (number of schema/ steps). */
int tl_store_schema_version(void);

int tl_store_begin(tl_store *s, tl_error *err) TL_MUST_CHECK;
int tl_store_commit(tl_store *s, tl_error *err) TL_MUST_CHECK;
void tl_store_rollback(tl_store *s);

/*
 * Records. `ts` is the record's time in the log format ("2024-03-29 07:02:24.463777");
 * NULL means now. `source` is "run", a file path or "ape-dts:<schema>.<table>"; line 0
 * when not a file. rows_copied < 0 leaves the stored count unchanged.
 * Positions of type None/OTHER are not stored as table positions (TL_ERR_PARSE).
 */
int tl_store_put_position(tl_store *s, const char *task_id, const tl_position *p, int is_current,
			  const char *ts, const char *source, long line, int64_t rows_copied,
			  tl_error *err) TL_MUST_CHECK;
int tl_store_put_finished(tl_store *s, const char *task_id, const tl_position *p, const char *ts,
			  const char *source, long line, int64_t rows_copied, tl_error *err) TL_MUST_CHECK;

/* Writes every entry of a merged set (one transaction, later records already won). */
int tl_store_import_set(tl_store *s, const char *task_id, const tl_resume_set *set, tl_error *err) TL_MUST_CHECK;

/* Deletes all rows of a task (run --init). */
int tl_store_forget_task(tl_store *s, const char *task_id, tl_error *err) TL_MUST_CHECK;

/* Result of a lookup (type tl_store_hit); owns its strings. Release with tl_store_hit_clear. */
typedef struct tl_store_hit {
	enum tl_resume_state state;
	tl_position pos;      /* TL_RESUME_POSITION: the position; FINISHED: the finished record */
	int is_current;       /* for a position: the row's kind */
	char *source;
	long line;
	char *updated_at;
	int64_t rows_copied;  /* -1 if unknown */
} tl_store_hit;

void tl_store_hit_clear(tl_store_hit *r);
/* Same precedence as tl_resume_lookup: finished, then current (unless checkpoint_only), then checkpoint. */
int tl_store_lookup(tl_store *s, const char *task_id, const char *schema, const char *tb,
		    int checkpoint_only, tl_store_hit *out, tl_error *err) TL_MUST_CHECK;

/* Per-table run statistics (for status, plan, ETA and the keyless-table rules). */
typedef struct tl_store_table {
	const char *schema;
	const char *tb;
	int64_t est_rows;       /* -1 unknown */
	int64_t rows_copied;    /* rows written by runs of this task so far */
	int target_empty_at_start; /* 1: this task started the table into an empty target */
	const char *mode;       /* "batch", "split", "scan", "skip" */
	const char *state;      /* "pending", "running", "finished", "failed" */
	int64_t target_rows_at_finish; /* -1 unknown */
} tl_store_table;

int tl_store_put_table(tl_store *s, const char *task_id, const tl_store_table *t, tl_error *err) TL_MUST_CHECK;
/* Fills *out (strings lent until the next call on s); returns TL_ERR_NOTFOUND if absent. */
int tl_store_get_table(tl_store *s, const char *task_id, const char *schema, const char *tb,
		       tl_store_table *out, tl_error *err) TL_MUST_CHECK;

/*
 * A snapshot of one task's records and table statistics, read in a few queries
 * (store_snapshot.c), for callers that ask about many tables (plan). It answers exactly
 * what tl_store_lookup and tl_store_get_table answered when it was taken and never sees
 * later writes. *out is the caller's (tl_store_snapshot_free, accepts NULL); it does not
 * refer to s after loading. Memory grows with the task's records (a few hundred bytes a table).
 */
typedef struct tl_store_snapshot tl_store_snapshot;
int tl_store_snapshot_load(tl_store *s, const char *task_id, tl_store_snapshot **out, tl_error *err) TL_MUST_CHECK;
void tl_store_snapshot_free(tl_store_snapshot *snap);
/* Number of tables with any record or statistics. */
size_t tl_store_snapshot_count(const tl_store_snapshot *snap);
/* As tl_store_lookup (same precedence, same hit, same errors). */
int tl_store_snapshot_lookup(const tl_store_snapshot *snap, const char *schema, const char *tb,
			     int checkpoint_only, tl_store_hit *out, tl_error *err) TL_MUST_CHECK;
/* As tl_store_get_table; the strings are lent until the snapshot is freed. */
int tl_store_snapshot_table(const tl_store_snapshot *snap, const char *schema, const char *tb,
			    tl_store_table *out, tl_error *err) TL_MUST_CHECK;

/* Iteration for export / status. Callback's non-zero return stops and is returned. */
typedef struct tl_store_row {
	const char *task_id;
	const char *schema;
	const char *tb;
	const char *kind;      /* "current", "checkpoint" or "finished" */
	const char *json;      /* exact JSON text */
	const char *updated_at;
	const char *source;
	long line;
	int64_t rows_copied;
} tl_store_row;
typedef int (*tl_store_row_fn)(void *ctx, const tl_store_row *row, tl_error *err);
/* Positions (both kinds) ordered by rowid of first insert, then finished rows. task_id NULL = all. */
int tl_store_foreach_position(tl_store *s, const char *task_id, tl_store_row_fn fn, void *ctx, tl_error *err) TL_MUST_CHECK;
int tl_store_foreach_finished(tl_store *s, const char *task_id, tl_store_row_fn fn, void *ctx, tl_error *err) TL_MUST_CHECK;
/* Kept non-snapshot records (CDC …) in import order; schema and tb are "". */
int tl_store_foreach_other(tl_store *s, const char *task_id, tl_store_row_fn fn, void *ctx, tl_error *err) TL_MUST_CHECK;

/* Imported text sources: has this exact content (size + 64-bit hash) been imported for the task? */
int tl_store_source_seen(tl_store *s, const char *task_id, const char *path, int64_t size,
			 uint64_t hash, int *seen, tl_error *err) TL_MUST_CHECK;
int tl_store_source_mark(tl_store *s, const char *task_id, const char *path, int64_t size,
			 uint64_t hash, tl_error *err) TL_MUST_CHECK;

/* Task lock (one run per task at a time): TL_ERR_LOCKED names the holder's pid. */
int tl_store_lock_task(tl_store *s, const char *task_id, tl_error *err) TL_MUST_CHECK;
void tl_store_unlock_task(tl_store *s, const char *task_id);

/* Distinct task ids in the store, NULL-terminated, caller frees with tl_store_free_list. */
int tl_store_task_ids(tl_store *s, char ***out, tl_error *err) TL_MUST_CHECK;
void tl_store_free_list(char **list);

/*
 * Additions for import and status (store_records.c, store_task.c).
 *
 * tl_store_import_set_ex is tl_store_import_set that keeps each record's own text: for
 * every record written it calls `origin` (may be NULL) with the record's origin (source
 * path and line, as in the set), which sets *ts to the line's timestamp (NULL: now) and
 * *json and *json_len to the exact JSON text of the line (NULL: written from the position).
 * The pointers must stay valid until the next call. `stats` (may be NULL) counts the
 * rows written. Inside tl_store_begin/commit it joins that transaction.
 */
typedef int (*tl_store_origin_fn)(void *ctx, const char *source, long line, const char **ts,
				  const char **json, size_t *json_len, tl_error *err);
typedef struct tl_store_import_stats {
	size_t current, checkpoint, finished;
} tl_store_import_stats;
int tl_store_import_set_ex(tl_store *s, const char *task_id, const tl_resume_set *set,
			   tl_store_origin_fn origin, void *ctx, tl_store_import_stats *stats,
			   tl_error *err) TL_MUST_CHECK;

/*
 * One row of the `progress` view plus the rate over the last minute (rate_sample rows
 * with at_unix >= now_unix - 60). Strings are lent for the duration of the callback.
 */
typedef struct tl_store_progress {
	const char *task_id;
	const char *schema;
	const char *tb;
	const char *state;       /* "finished", a task_table state, "started" (positions only) */
	int64_t rows_copied;     /* -1 unknown */
	int64_t est_rows;        /* -1 unknown */
	double percent;          /* < 0 unknown */
	const char *last_key;    /* order_key JSON of the current, else checkpoint position; NULL */
	const char *last_update; /* NULL if none */
	const char *finished_at; /* NULL unless finished */
	double rate;             /* rows/s over the last minute, < 0 unknown */
} tl_store_progress;
typedef int (*tl_store_progress_fn)(void *ctx, const tl_store_progress *p, tl_error *err);
/* Rows ordered by task_id, schema, tb, read in one snapshot. task_id NULL = all tasks. */
int tl_store_foreach_progress(tl_store *s, const char *task_id, double now_unix, tl_store_progress_fn fn,
			      void *ctx, tl_error *err) TL_MUST_CHECK;


#endif
