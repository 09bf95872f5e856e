/*
 * store.h - the checkpoint store (docs/tideline.md §4, docs/store.md).
 *
 * A store holds, per task id, the effective position records of every table (one row
 * per task/schema/tb/kind), the finished records, per table run statistics, what text
 * sources were imported, the task lock, (store_lease.c) the fleet's work items,
 * leases and workers, and (store_defs.c) the definition steps of each task. Two
 * backends with the same tables, views and schema versions:
 *   - SQLite (the default): a file, default <log_dir>/checkpoint.db, in WAL mode, so
 *     readers (status, sqlite3) never block the writer; the version is PRAGMA user_version;
 *   - PostgreSQL: `postgres://…` or `postgresql://…` (tl_store_is_url), a schema of that
 *     database ("tideline", or `?schema=NAME`), shared by many processes on many hosts;
 *     the version is the table schema_version.
 * The DDL lives in schema/ and schema/pg/ and is applied in order; a store newer than
 * this binary is refused. Every error names the store (a URL without its password).
 *
 * Only src/store/ includes sqlite3.h (and, for this store, libpq-fe.h). A tl_store is
 * used by one thread at a time; the migrator serialises access through its recorder.
 * Every write outside an explicit tl_store_begin/tl_store_commit pair is its own
 * transaction. After a failure inside tl_store_begin, call tl_store_rollback.
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

/*
 * Opens (creating and migrating as needed): a postgres:// or postgresql:// URL is the
 * PostgreSQL store, anything else an SQLite file. *out is owned by the caller:
 * tl_store_close. A store whose files become unwritable (read-only, immutable, a full
 * device, an I/O error, a -shm file that cannot grow) fails the call with TL_ERR_STORE
 * naming the file; it never ends the process with a signal.
 */
int tl_store_open(tl_store **out, const char *path, unsigned flags, tl_error *err) TL_MUST_CHECK;
void tl_store_close(tl_store *s);
/* The store's name for messages: the path, or the URL with its password masked (lent). */
const char *tl_store_path(const tl_store *s);
/* Whether a store path names the PostgreSQL store. */
int tl_store_is_url(const char *path);
/* Whether an open store is the shared (PostgreSQL) one. */
int tl_store_is_shared(const tl_store *s);
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

/*
 * Copies the store's rows (of task_id; NULL: every task) into a new SQLite store file at
 * dest, as of one moment (a consistent read, also while runs write the store); *rows
 * (may be NULL) counts the rows copied. For `plan` on a shared PostgreSQL store, and to
 * take such a store home as one file. dest must not exist; a failed copy removes it.
 */
int tl_store_copy(tl_store *s, const char *dest, const char *task_id, size_t *rows, tl_error *err) TL_MUST_CHECK;
/*
 * Writes a consistent copy of the SQLite store file at path into dest (a new file;
 * VACUUM INTO), safe while a run writes the store; the store is only read and may have
 * an older schema version (the copy is upgraded when it is opened). For `plan` on a store
 * file. TL_ERR_NOTFOUND when there is no file at path, TL_ERR_STORE naming both paths
 * otherwise (store_backup.c).
 */
int tl_store_backup(const char *path, const char *dest, tl_error *err) TL_MUST_CHECK;

/* Deletes all rows of a task (run --init); its definition steps go back to "pending", keeping `created`. */
int tl_store_forget_task(tl_store *s, const char *task_id, tl_error *err) TL_MUST_CHECK;
/*
 * Forgets one table's progress (run --recopy-lost): its position and finished records and
 * rate samples are deleted, its statistics reset (rows_copied 0, state pending, no
 * target_rows_at_finish); target_empty_at_start is kept. One transaction.
 */
int tl_store_forget_table(tl_store *s, const char *task_id, const char *schema, const char *tb,
			  tl_error *err) TL_MUST_CHECK;

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
	/*
	 * Rows of the table committed on the target as far as the last recorded position
	 * (all of them once finished). A "failed" or "stopped" put_table does not change it:
	 * rows after the last position are copied again by the next run, and counting them
	 * then as well would count them twice.
	 */
	int64_t rows_copied;
	int target_empty_at_start; /* 1: this task started the table into an empty target */
	const char *mode;       /* "batch", "split", "scan", "skip" */
	const char *state;      /* "pending", "running", "finished", "failed", "stopped" */
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

/*
 * Task lock (one run per task at a time): TL_ERR_LOCKED names the holder's pid (and host).
 * A lock whose holder is gone is taken over: on this host when its pid is no longer
 * running (or is now another process), from another host when its heartbeat is older
 * than lease_secs (<= 0: TL_STORE_LOCK_LEASE_SECS). The holder's store writes renew the
 * heartbeat at most every 5 s; tl_store_heartbeat renews it now (call it at least once a
 * lease when nothing is written for long). `info` (may be NULL) tells the caller about a
 * takeover, so that it can say so. tl_store_lock_task is _ex with the default lease.
 */
#define TL_STORE_LOCK_LEASE_SECS 300.0
typedef struct tl_store_lock_info {
	int taken_over;       /* 1: a lock of a gone holder was replaced (the fields below) */
	long pid;
	char host[256];
	char started_at[32];
	double heartbeat_age; /* seconds since its last heartbeat, < 0 when unknown */
	char reason[200];     /* e.g. "pid 123 is no longer running on this host" */
} tl_store_lock_info;
int tl_store_lock_task(tl_store *s, const char *task_id, tl_error *err) TL_MUST_CHECK;
int tl_store_lock_task_ex(tl_store *s, const char *task_id, double lease_secs, tl_store_lock_info *info,
			  tl_error *err) TL_MUST_CHECK;
int tl_store_heartbeat(tl_store *s, tl_error *err) TL_MUST_CHECK;
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
	/* "finished", a task_table state, "started" (positions only); "interrupted" for a
	 * "running" table whose task lock holder is gone (see tl_store_lock_task_ex) */
	const char *state;
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

/*
 * ---- Definition steps (#14; store_defs.c, docs/schema.md) --------------------------------
 *
 * One row per step a run creates, builds or sets on the target (tl_schema_step: a CREATE,
 * an index build, a foreign key, a sequence value), keyed by the step's stable id. A rerun
 * reads them to skip what is done and to know which target objects this task created.
 * state: "pending", "running" (being applied: recorded before a table's CREATE, so that a
 * table made by a run that died before recording "done" is still known as this task's),
 * "done", "exists" (found on the target before this task touched it: used as it is),
 * "skipped" (belongs to a table that existed on the target: never altered), "failed".
 * found: what the target had when the step was applied ("absent", "present", "partial",
 * "unknown"), NULL before. `run --init` (tl_store_forget_task) sets every step of the task
 * back to "pending" and keeps `created`.
 */
typedef struct tl_store_def_step {
	const char *step_id;  /* "index public.city_name_idx" */
	int64_t ord;          /* position in the run's list */
	const char *kind;     /* the kind word: "table", "index", "foreign key", … */
	const char *phase;    /* "pre-data", "table-post", "post-data", "final" */
	int level;
	const char *schema, *tb, *name;       /* the object's target names (each may be NULL) */
	const char *owner_schema, *owner_tb;  /* the selected source table it belongs to, or NULL */
	const char *state;    /* see above */
	const char *found;    /* NULL, or what the target had first */
	int created;          /* 1: this task created or finished the object (never reset to 0) */
	const char *sql_hash; /* fingerprint of the step's SQL, or NULL */
	const char *error;    /* why the last attempt failed, or NULL */
	double seconds;       /* how long the last apply took, < 0 unknown */
	const char *started_at, *finished_at; /* (listing only) log-form times, or NULL */
} tl_store_def_step;

/*
 * Writes n steps of task_id in one transaction (the caller's, when one is open): a new
 * step is inserted, a recorded one takes every given field except `created`, which stays
 * 1 once set. started_at is stamped when the state is "running", finished_at when it is
 * "done", "exists", "skipped" or "failed".
 */
int tl_store_def_steps_put(tl_store *s, const char *task_id, const tl_store_def_step *steps, size_t n,
			   tl_error *err) TL_MUST_CHECK;
/*
 * The same for steps that have no record yet; a recorded step is left as it is (a fleet's
 * worker that plans while another one applies steps must not put them back to "pending").
 */
int tl_store_def_steps_add(tl_store *s, const char *task_id, const tl_store_def_step *steps, size_t n,
			   tl_error *err) TL_MUST_CHECK;
/* Calls fn for every step of task_id (NULL: every task) in (task, ord) order, from one
 * consistent read; the strings are lent for the callback. fn's non-zero return stops and is returned. */
typedef int (*tl_store_def_step_fn)(void *ctx, const char *task_id, const tl_store_def_step *step, tl_error *err);
int tl_store_foreach_def_step(tl_store *s, const char *task_id, tl_store_def_step_fn fn, void *ctx,
			      tl_error *err) TL_MUST_CHECK;

/*
 * ---- A fleet of workers on one task (#17; store_lease.c) ----------------------------
 *
 * Work items are the units workers claim: a table, a chunk of a split table, a schema
 * step (`kind` is the caller's word for it; `key` is unique within task and kind). A
 * claim gives the worker a lease until the store's clock passes lease_until, and a
 * fencing token (the item's claim count). Whatever the worker then records about the
 * item - a position, the finish - it writes inside one transaction that first calls
 * tl_store_fence: the write is refused (TL_ERR_LOCKED) once another worker has claimed
 * the item, because its lease had expired. A worker that dies therefore loses its items
 * after lease_secs, another one claims them (told whose they were) and continues from
 * the last position committed under the old lease.
 *
 * PostgreSQL: a claim is one statement taking the first open row FOR UPDATE SKIP LOCKED
 * (many workers never wait on each other), lease times are the server's clock, and the
 * fence is an UPDATE of the item's row checking the token, so it holds the row until the
 * transaction ends. SQLite: the same statements in BEGIN IMMEDIATE transactions; one
 * host's processes, with the same guarantees.
 */
typedef struct tl_store_item {
	const char *kind;    /* e.g. "table", "chunk", "step" */
	const char *key;     /* unique within (task, kind), e.g. a chunk's number */
	const char *schema;  /* the table the item belongs to (status), or NULL */
	const char *tb;
	const char *payload; /* what a worker needs to do it, e.g. a chunk's bounds; may be NULL */
} tl_store_item;

/* Adds items; those already there are left as they are (so every worker may add the plan). Claims follow insertion order. */
int tl_store_items_add(tl_store *s, const char *task_id, const tl_store_item *items, size_t n,
		       tl_error *err) TL_MUST_CHECK;

/* A held lease (owns its strings; tl_store_lease_clear). */
typedef struct tl_store_lease {
	char *task_id, *kind, *key, *owner;
	char *schema, *tb, *payload; /* as added; NULL when not given */
	int64_t token;               /* the fencing token of this claim */
	double lease_secs;           /* renewals extend the lease by this much */
	double lease_until;          /* the store's clock (seconds since the epoch) */
	int64_t attempts;            /* claims of the item so far, this one included */
	char *prev_owner;            /* the worker whose expired lease this claim took over, or NULL */
	char *progress;              /* the last progress recorded under any lease (tl_store_item_progress), or NULL */
	int64_t rows_copied;         /* with it, -1 when none */
	int done;                    /* tl_store_claim_key only: the item is already done, nothing is held */
} tl_store_lease;
void tl_store_lease_clear(tl_store_lease *l);

/*
 * Claims the first open item of `kind` in claim order: pending, or claimed under a lease
 * that has expired. TL_ERR_NOTFOUND when none can be claimed now; then *busy (may be NULL)
 * is the number of items of that kind still claimed by others (wait and retry: their
 * leases may expire) and 0 means the kind is all done or failed.
 */
int tl_store_claim(tl_store *s, const char *task_id, const char *kind, const char *worker, double lease_secs,
		   tl_store_lease *out, int *busy, tl_error *err) TL_MUST_CHECK;
/*
 * Claims one item by key (a schema step runs once, whichever worker gets there first):
 * out->done set when it is already done (nothing held); TL_ERR_LOCKED while another
 * worker's lease is live (the message names it); TL_ERR_NOTFOUND when there is no such item.
 */
int tl_store_claim_key(tl_store *s, const char *task_id, const char *kind, const char *key, const char *worker,
		       double lease_secs, tl_store_lease *out, tl_error *err) TL_MUST_CHECK;
/* Renews the lease by its lease_secs from now (a heartbeat); TL_ERR_LOCKED when it was taken over. */
int tl_store_renew(tl_store *s, tl_store_lease *l, tl_error *err) TL_MUST_CHECK;
/*
 * The fence: inside tl_store_begin .. commit, before the writes that depend on the lease.
 * Checks that the lease is still this worker's and renews it; TL_ERR_LOCKED (naming the
 * worker that has it now) when not: roll back, and stop working on the item.
 */
int tl_store_fence(tl_store *s, tl_store_lease *l, tl_error *err) TL_MUST_CHECK;
/*
 * A position / the finish recorded under a lease, the fence and the write in one
 * transaction (the caller's, when one is open): what a fleet worker's recorder calls
 * instead of tl_store_put_position / tl_store_put_finished. The finish also ends the
 * lease (done). TL_ERR_LOCKED, with nothing written, when the lease was taken over.
 */
int tl_store_put_position_leased(tl_store *s, tl_store_lease *l, const char *task_id, const tl_position *p,
				 int is_current, const char *ts, const char *source, long line, int64_t rows_copied,
				 tl_error *err) TL_MUST_CHECK;
int tl_store_finish_leased(tl_store *s, tl_store_lease *l, const char *task_id, const tl_position *p,
			   const char *ts, const char *source, long line, int64_t rows_copied,
			   tl_error *err) TL_MUST_CHECK;
/*
 * Records the holder's committed progress within the item (e.g. the last key of a chunk,
 * as order_key JSON) and its row count, fenced and renewing the lease; a worker that
 * claims the item later gets them in its lease.
 */
int tl_store_item_progress(tl_store *s, tl_store_lease *l, const char *progress, int64_t rows_copied,
			   tl_error *err) TL_MUST_CHECK;
enum tl_store_end {
	TL_STORE_DONE,    /* finished: never claimed again */
	TL_STORE_FAILED,  /* failed for good (result says why): never claimed again */
	TL_STORE_RELEASE  /* given back unfinished (a clean stop): claimable again at once */
};
/* Ends a lease, fenced (TL_ERR_LOCKED when it was taken over). result may be NULL. */
int tl_store_end(tl_store *s, const tl_store_lease *l, enum tl_store_end how, const char *result,
		 tl_error *err) TL_MUST_CHECK;

/*
 * The worker registry. join registers `name` for the task (this host and pid) with the
 * lease after which it counts as gone; TL_ERR_LOCKED when a live worker already has that
 * name (the message names its host and pid). beat renews it with the worker's row count
 * and rate (TL_ERR_LOCKED when the name was taken over); leave marks it "stopped" or
 * "failed".
 */
int tl_store_worker_join(tl_store *s, const char *task_id, const char *name, double lease_secs,
			 tl_error *err) TL_MUST_CHECK;
int tl_store_worker_beat(tl_store *s, const char *task_id, const char *name, int64_t rows_copied, double rate,
			 tl_error *err) TL_MUST_CHECK;
int tl_store_worker_leave(tl_store *s, const char *task_id, const char *name, const char *state,
			  tl_error *err) TL_MUST_CHECK;

/*
 * The fleet's share of the task lock (store_task.c). A fleet's workers hold the task
 * together: its task_lock row carries pid 0 (no single process) and the workers' own rows
 * (tl_store_worker_join) say who is alive. In one transaction this takes the lock for the
 * fleet - refused (TL_ERR_LOCKED, naming the pid and host) while a run without --worker
 * holds it, taken over (info says from whom and why, as tl_store_lock_task_ex) when that
 * run is gone - and registers `worker`. With TL_STORE_FLEET_FORGET the task's progress is
 * forgotten first (run --init), refused while another worker of the task is alive.
 * tl_store_lock_task_ex in turn refuses a task whose fleet has a live worker, and takes
 * over the lock of a fleet whose workers are all gone.
 */
#define TL_STORE_FLEET_PID 0         /* task_lock.pid of a fleet's lock */
#define TL_STORE_FLEET_HOST "fleet"  /* and its host */
enum tl_store_fleet_flags {
	TL_STORE_FLEET_FORGET = 1u << 0
};
int tl_store_fleet_enter(tl_store *s, const char *task_id, const char *worker, double lease_secs, unsigned flags,
			 tl_store_lock_info *info, tl_error *err) TL_MUST_CHECK;

/*
 * A group of items that finishes together: a split table (the group item, e.g. kind
 * "table") and its chunks (kind `member_kind`, keys `prefix` followed by anything).
 * Inside a write transaction (tl_store_begin), tl_store_group_state locks the group
 * item's row until the transaction ends - so workers ending the group's last members at
 * the same time take turns, and exactly one of them sees the group complete - and reads
 * the group's state (owns its strings; tl_store_group_clear).
 */
typedef struct tl_store_group {
	char *state;          /* the group item's state ("pending", "claimed", "done", "failed") */
	char *progress;       /* the group item's progress, or NULL */
	int64_t open;         /* members pending or claimed */
	int64_t failed;       /* members failed */
	int64_t done;         /* members done */
	int64_t rows_done;    /* sum of rows_copied of the done members */
	char *first_open;     /* payload of the first member (claim order) not done, or NULL */
} tl_store_group;
void tl_store_group_clear(tl_store_group *g);
int tl_store_group_state(tl_store *s, const char *task_id, const char *kind, const char *key, const char *member_kind,
			 const char *prefix, tl_store_group *out, tl_error *err) TL_MUST_CHECK;
/*
 * Items that failed for good are claimable again (a worker started after fixing what
 * failed retries them); *n (may be NULL) counts them.
 */
int tl_store_items_retry_failed(tl_store *s, const char *task_id, int64_t *n, tl_error *err) TL_MUST_CHECK;
/*
 * Whether the item of lease l is done under this very claim (its token): a finish whose
 * commit was lost with the store's connection may have been applied; asking settles it.
 */
int tl_store_item_settled(tl_store *s, const tl_store_lease *l, int *settled, tl_error *err) TL_MUST_CHECK;

/* One worker as status shows it (strings lent for the callback). */
typedef struct tl_store_worker {
	const char *task_id, *name, *host, *state;
	long pid;
	double started_at, heartbeat_at; /* seconds since the epoch */
	double heartbeat_age;            /* seconds, by the store's clock */
	int alive;                       /* running and heartbeat within its lease */
	int64_t rows_copied;
	double rate;                     /* < 0 unknown */
	int64_t leases;                  /* items it holds claimed now */
} tl_store_worker;
typedef int (*tl_store_worker_fn)(void *ctx, const tl_store_worker *w, tl_error *err);
/* Workers ordered by task and name; task_id NULL = all tasks. */
int tl_store_foreach_worker(tl_store *s, const char *task_id, tl_store_worker_fn fn, void *ctx,
			    tl_error *err) TL_MUST_CHECK;

/* One work item (strings lent for the callback). */
typedef struct tl_store_item_state {
	const char *task_id, *kind, *key, *schema, *tb, *state, *owner, *prev_owner, *progress, *result;
	int64_t token, attempts, rows_copied; /* rows_copied -1 unknown */
	double seconds_left; /* of a claimed item's lease (negative: expired); 0 otherwise */
} tl_store_item_state;
typedef int (*tl_store_item_fn)(void *ctx, const tl_store_item_state *it, tl_error *err);
/* Items of a task (kind NULL = every kind) in claim order. */
int tl_store_foreach_item(tl_store *s, const char *task_id, const char *kind, tl_store_item_fn fn, void *ctx,
			  tl_error *err) TL_MUST_CHECK;
/* The claimed items of a task (task_id NULL: every task) by task, owner and claim order: the leases as they stand. */
int tl_store_foreach_lease(tl_store *s, const char *task_id, tl_store_item_fn fn, void *ctx, tl_error *err) TL_MUST_CHECK;

#endif
