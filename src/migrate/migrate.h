/*
 * migrate.h - the snapshot migrator (internal to src/migrate and src/cli).
 *
 * How a run works (run.c; docs/architecture.md has the picture):
 *   1. open: the store (task lock), ape-dts' database store when [resumer] names one.
 *   2. sources: sources.c imports the configured progress sources (resume.config,
 *      position logs oldest first, finished.log through importer.c; or ape-dts' database
 *      store) into the SQLite store, unless exactly that content was imported before for
 *      this task; or, with --init, forgets the task's progress.
 *   3. plan: plan.c lists the source tables, applies [filter], asks the store about each
 *      one and decides: skip (finished), resume after a key, or start; and how to read it
 *      (batch = keyed pages, split = ranges of the partition column, scan = keyless full
 *      read). Every ignored record gets a reason. Then the targets are looked at (lost
 *      rows, keyless tables that need a restart). tl_migrate_plan is this phase, shared
 *      by `run` and `plan`.
 *   4. copy: run.c starts parallel_size workers; each claims the next table and copies
 *      it (copy.c, tl_copy_table: the per-table unit of work): read a batch, write it to
 *      the target in one transaction, then (at most every checkpoint_interval_secs) hand
 *      its position to recorder.c, which writes the store (one transaction),
 *      position.log and ape-dts' table together. A finished table is recorded at once.
 *   5. summary.
 * Nothing here knows which database it talks to: drivers are called through the
 * tl_driver_<verb>() wrappers (tideline/driver_call.h) and asked for capabilities.
 */
#ifndef TL_MIGRATE_H
#define TL_MIGRATE_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include "tideline/config.h"
#include "tideline/driver_call.h"
#include "tideline/fault.h"
#include "tideline/log.h"
#include "tideline/logfmt.h"
#include "tideline/registry.h"
#include "tideline/resume.h"
#include "tideline/store.h"

enum tl_action { TL_ACT_START = 0, TL_ACT_RESUME, TL_ACT_SKIP };
enum tl_mode { TL_MODE_BATCH = 0, TL_MODE_SPLIT, TL_MODE_SCAN };

/* One selected table and what the run will do with it. */
typedef struct tl_plan_item {
	char *schema;
	char *tb;
	tl_table *table;      /* described source table (NULL when skipped before describing) */
	/* [router] and [filter] ignore_cols (select.c): the target table's names (lent from the
	 * config's route, or schema/tb), the table as read (source names, without ignored
	 * columns) and as written (target names and columns); both == table when nothing is
	 * routed or left out, NULL while table is. Records keep the source names. */
	const char *dst_schema, *dst_tb;
	tl_table *rtable, *wtable;
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
	const char *where;    /* [filter] where_conditions entry for this table (lent by the config), or NULL */
	int refuse;           /* the run must not copy this table without --init */
	int create;           /* definitions: the target table is missing, the run creates it */
	int ours;             /* definitions: the target table is (or will be) this task's creation, so
			       * its rows past the checkpoint are this task's and it is loaded in bulk
			       * without upserts (docs/schema.md, "Loading a table tideline created") */
	int lost;             /* tl_plan_check_targets: the target lost rows (since finished, or since the
			       * checkpoint of a resumed table: warning says what the run does) */
} tl_plan_item;

typedef struct tl_defs tl_defs;

typedef struct tl_plan {
	size_t n;
	tl_plan_item *items;
	tl_defs *defs;        /* the definition steps (defs.c), NULL when the run creates nothing */
	char *durability_warning; /* the target's (driver durability_warning), or NULL */
} tl_plan;

typedef struct tl_migrate_opts {
	int init;                       /* --init: forget this task's progress first */
	const char *store_path;         /* --store overrides the config */
	tl_logger *log;
	volatile sig_atomic_t *stop;    /* set by a signal handler: stop cleanly */
	int progress_tty;               /* draw a progress line on stderr */
	const tl_registry *registry;    /* where db_types are looked up; NULL = the built-in drivers
					 * (unit tests chain the fake driver in front of them) */
	tl_fault *fault;                /* debug hooks the CLI read from the environment, or NULL */
	int trace;                      /* log every driver call at debug level (TL_DEBUG_TRACE) */
	int recopy_lost;                /* --recopy-lost: copy again the tables whose target lost rows */
	double retry_base_secs;         /* first wait before a retry, 0 = 0.5 s (tests pass less) */
	double idle_nap_secs;           /* a worker's pause while the others copy the last tables,
					 * 0 = 50 ms (tests pass less: every run ends with one) */
	const char *worker;             /* run --worker NAME: one worker of a fleet (fleet.c), or NULL */
} tl_migrate_opts;

/*
 * What one run (or one `plan`, or a unit test) works with, shared by its phases and
 * lent to every table's copy: the task, the bound drivers, the store, the logger and the
 * debug hooks. Set up by tl_migrate_env_bind; the store and ape_conn are the env's once
 * set (tl_migrate_env_release closes them).
 */
typedef struct tl_migrate_env {
	const tl_config *cfg;
	tl_driver src, dst;  /* [extractor] and [sinker] */
	tl_driver ape;       /* [resumer] ape-dts database store (from_target/from_db); ops NULL otherwise */
	tl_conn *ape_conn;   /* connected and initialised by tl_migrate_env_ape_open, or NULL */
	tl_store *store;
	tl_logger *log;      /* may be NULL */
	tl_fault *fault;     /* may be NULL */
	/* [extractor]/[sinker]/[pipeline] max_rps and max_mbps: shared by every reader of the
	 * run (ratelimit.h; NULL = no limit); rows are read at most rate_burst per batch */
	struct tl_rate *rate_rows, *rate_bytes;
	uint64_t rate_burst;
	int dead_peer_secs;  /* a fleet worker's target connections: tl_endpoint.dead_peer_secs (0: unset) */
	int fleet;           /* a fleet worker's env (tl_fleet_new): definition records are shared */
} tl_migrate_env;

/*
 * Binds the drivers of cfg (opts may be NULL: built-ins, no hooks, no logger). Source
 * and target must be the same kind; a [resumer] store needs a driver with
 * TL_CAP_APE_STORE. Errors name the task file.
 */
int tl_migrate_env_bind(tl_migrate_env *env, const tl_config *cfg, const tl_migrate_opts *opts,
			tl_error *err) TL_MUST_CHECK;
/* Connects and initialises ape-dts' database store when the env has one (else nothing). */
int tl_migrate_env_ape_open(tl_migrate_env *env, tl_error *err) TL_MUST_CHECK;
/* Sets up env's rate limits from the task (none when no max_rps / max_mbps is set). */
int tl_migrate_env_rates(tl_migrate_env *env, tl_error *err) TL_MUST_CHECK;
/* Disconnects the ape-dts store, closes the store and frees the rate limits (all may be unset). */
void tl_migrate_env_release(tl_migrate_env *env);

/* ---- select.c: the tables a task works on, and their names on the target ------------- */

/*
 * Lists the source's tables (c: a connection of src), keeps those [filter] selects and
 * checks [router] against them (tl_route_validate). *out is the caller's
 * (tl_name_list_clear). A filter that selects nothing, or a source that lists nothing
 * (no privileges), is TL_ERR_NOTFOUND naming the filter and the databases found.
 */
int tl_migrate_select(const tl_config *cfg, const tl_driver *src, tl_conn *c, tl_name_list *out,
		      tl_error *err) TL_MUST_CHECK;
/*
 * When source and target are the same server (the drivers' server_id), refuses a run
 * whose routes would write a selected table (tl_route_check_same_server). Two servers,
 * or a driver that cannot tell: 0.
 */
int tl_migrate_same_server(const tl_config *cfg, const tl_driver *src, tl_conn *sc, const tl_driver *dst,
			   tl_conn *dc, const tl_name *sel, size_t n, tl_error *err) TL_MUST_CHECK;
/*
 * The read and write forms of a described source table t (its part_idx chosen): *rt
 * without [filter] ignore_cols, *wt under the target's names ([router]); each is t itself
 * when nothing changes, else a table of d's project slot. Errors name the task file
 * (tl_route_project's: a listed column the table lacks, an ignored key column, …).
 * Release with tl_migrate_unproject.
 */
int tl_migrate_project(const tl_config *cfg, const tl_driver *d, tl_table *t, tl_table **rt, tl_table **wt,
		       tl_error *err) TL_MUST_CHECK;
void tl_migrate_unproject(const tl_driver *d, tl_table *t, tl_table **rt, tl_table **wt);
/*
 * The target names of the selected tables sel[0..n) ([router] db_map / tb_map): *out is a
 * malloc'd array (the caller frees the array only) whose strings are lent by cfg's route
 * or by sel. What schema_extract's tl_schema_opts.targets takes, so that definitions are
 * created under the names the rows are written to.
 */
int tl_migrate_targets(const tl_config *cfg, const tl_name *sel, size_t n, tl_name **out,
		       tl_error *err) TL_MUST_CHECK;

/* Imports the configured progress sources into env->store (phase 2). */
int tl_migrate_import_sources(const tl_migrate_env *env, tl_error *err) TL_MUST_CHECK;

/*
 * run --init and --recopy-lost: moves the run's old text logs aside (suffix
 * ".<label>-<UTC time>", label "init" or "recopy-lost") and marks the configured sources as
 * imported.
 */
int tl_migrate_init_sources(const tl_migrate_env *env, const char *label, tl_error *err) TL_MUST_CHECK;

enum tl_plan_flags {
	TL_PLAN_IMPORT = 1u << 0,      /* import the progress sources first (not after --init) */
	TL_PLAN_RECOPY_LOST = 1u << 1, /* --recopy-lost: tables whose target lost rows are copied again */
	TL_PLAN_RECORD = 1u << 2       /* write the definition steps' states into the store (run) */
};

/*
 * Phase 3 as `run` and `plan` both do it: imports the sources (TL_PLAN_IMPORT), builds
 * the plan on a source connection, then checks the targets on a target connection.
 * *out is the caller's (tl_plan_clear), cleared on error.
 */
int tl_migrate_plan(const tl_migrate_env *env, unsigned flags, tl_plan *out, tl_error *err) TL_MUST_CHECK;

/* Builds the plan over a connection to the source. */
int tl_plan_build(const tl_migrate_env *env, tl_conn *src, tl_plan *out, tl_error *err) TL_MUST_CHECK;
void tl_plan_clear(tl_plan *p, const tl_driver *src);
/*
 * Looks at the target: a finished table whose target now holds fewer rows than at
 * finish gets a warning (lost); a resumed table gets the verdict of target.c
 * (tl_target_verdict_get: a warning saying what the run does, refuse when it will not
 * go on); a table without a usable key whose target holds rows this task cannot
 * attribute is marked refuse ("restart needed"); and the plan gets the target's
 * durability warning. flags: TL_PLAN_RECOPY_LOST.
 */
int tl_plan_check_targets(const tl_migrate_env *env, tl_conn *dst, tl_plan *plan, unsigned flags,
			  tl_error *err) TL_MUST_CHECK;
/* The warnings of a table the run refuses to copy (plan shows them; copy.c says the same). */
#define TL_PLAN_REFUSE_KEYLESS                                                                          \
	"restart needed: no usable key and the target already holds rows this task did not write; empty " \
	"the target table, then run with --init"
#define TL_PLAN_REFUSE_NULL_KEYS                                                                         \
	"restart needed: the target already holds rows whose unique key is NULL, which this task did not "  \
	"write and cannot tell from the source's (they would be copied twice); delete those rows on the "   \
	"target (or empty the table), then run with --init"
/* Does t's order key have a nullable column whose NULL rows are copied by a NULL pass? */
int tl_plan__key_nullable(const tl_migrate_env *env, const tl_table *t);
/* Does the target table wt hold a row with a NULL key column (*has)? One row read at most. */
int tl_plan__target_null_keys(const tl_migrate_env *env, tl_conn *dst, const tl_table *wt, int *has,
			      tl_error *err) TL_MUST_CHECK;
const char *tl_plan_action_name(enum tl_action a);
const char *tl_plan_mode_name(enum tl_mode m);

/* Runs the whole task (phases 1-5). */
int tl_migrate_run(const tl_config *cfg, const tl_migrate_opts *opts, tl_error *err) TL_MUST_CHECK;

/* Recorder: serialises checkpoint writes of all workers (store + text logs + ape-dts table). */
typedef struct tl_recorder tl_recorder;
/* A fleet worker's claim on a table or chunk (fleet.c); NULL where a run has no fleet. */
typedef struct tl_fleet_hold tl_fleet_hold;
/*
 * A store unit that fails transiently (its server restarting, a lost connection) is done
 * again with backoff for up to this long (recorder.c, fleet.c).
 */
#define TL_STORE_RETRY_SECS 60.0
/* env (its store, ape-dts store, hooks) must outlive the recorder. */
int tl_recorder_new(tl_recorder **out, const tl_migrate_env *env, tl_error *err) TL_MUST_CHECK;
void tl_recorder_free(tl_recorder *r);
/* Records a snapshot position (after the rows before it are committed on the target). */
int tl_recorder_position(tl_recorder *r, const tl_position *pos, int is_current, int64_t rows_copied,
			 tl_error *err) TL_MUST_CHECK;
int tl_recorder_finished(tl_recorder *r, const char *db_type, const char *schema, const char *tb,
			 int64_t rows_copied, tl_error *err) TL_MUST_CHECK;
int tl_recorder_table(tl_recorder *r, const tl_store_table *t, tl_error *err) TL_MUST_CHECK;
/*
 * The same under a fleet worker's claim h (NULL: as above): the store write is fenced by
 * h's lease (TL_ERR_LOCKED, nothing written, once another worker has taken it over), a
 * success renews h, and the finish ends h's claim (done).
 */
int tl_recorder_position_ex(tl_recorder *r, tl_fleet_hold *h, const tl_position *pos, int is_current,
			    int64_t rows_copied, tl_error *err) TL_MUST_CHECK;
int tl_recorder_finished_ex(tl_recorder *r, tl_fleet_hold *h, const char *db_type, const char *schema, const char *tb,
			    int64_t rows_copied, tl_error *err) TL_MUST_CHECK;
int tl_recorder_table_ex(tl_recorder *r, tl_fleet_hold *h, const tl_store_table *t, tl_error *err) TL_MUST_CHECK;
/* The store's `source` of this recorder's records becomes "worker NAME" (a fleet's). */
void tl_recorder_set_worker(tl_recorder *r, const char *worker);
/* A split table cut into chunks by a fleet (fleet.c): its group of work items. */
typedef struct tl_recorder_group {
	const char *key;      /* the table's work item (kind "table") */
	const char *prefix;   /* the keys of its chunks (kind "chunk") start with this */
	const char *db_type, *schema, *tb;
	const char *part_col; /* the partition column: the checkpoint position's column */
	int64_t est_rows;
} tl_recorder_group;
/*
 * Ends h's claim on a chunk of g (rows >= 0: the chunk's rows, all committed) or on g's
 * table item when the cut is complete (rows < 0), and settles the table in the same store
 * transaction: checkpoint position at the first chunk not done, statistics, and the
 * finished record when every chunk is done (*finished set; exactly one worker sees it).
 * The text logs follow the store.
 */
int tl_recorder_group_end(tl_recorder *r, tl_fleet_hold *h, const tl_recorder_group *g, int64_t rows, int *finished,
			  tl_error *err) TL_MUST_CHECK;
/* Position and finished records written so far, and the seconds spent writing them. */
void tl_recorder_stats(tl_recorder *r, long *records, double *secs);
/* Reads a table's statistics under the recorder's lock (workers share one store handle);
 * only the numeric fields are filled. Returns 0 or TL_ERR_NOTFOUND. */
int tl_recorder_get_table(tl_recorder *r, const char *schema, const char *tb, tl_store_table *out);
/* tl_store_lookup of a table under the recorder's lock (what a new run would find), and the
 * rows the store counts as copied (-1 unknown). out is the caller's (tl_store_hit_clear). */
int tl_recorder_lookup(tl_recorder *r, const char *schema, const char *tb, int checkpoint_only, tl_store_hit *out,
		       int64_t *rows_done, tl_error *err) TL_MUST_CHECK;

/*
 * Plans one table again as a new run would (retry.c, after a transient failure): its
 * record is looked up through the recorder (finished: action skip), it is described on
 * src anew, its mode chosen and its position taken from the store. The item's previous
 * description, position and texts are released first; name and where condition stay.
 */
int tl_plan_refresh_item(const tl_migrate_env *env, tl_conn *src, tl_recorder *rec, tl_plan_item *it,
			 tl_error *err) TL_MUST_CHECK;

typedef struct tl_retry tl_retry;
typedef struct tl_watch tl_watch;

/* Copies one table (phase 4): the per-table unit of work and everything it needs. */
typedef struct tl_copy_ctx {
	const tl_migrate_env *env;
	tl_conn *src, *dst;      /* this worker's connections */
	tl_recorder *rec;
	volatile sig_atomic_t *stop;
	int *abort_all;          /* another worker failed (atomic: tl_migrate__stopping) */
	int64_t *total_rows;     /* shared counter for progress (atomic adds) */
	const char *owner;       /* this run in the claims on target tables (tl_target_owner) */
	int recopy_lost;         /* --recopy-lost */
	tl_retry *retry;         /* retry policy and counters of the run (retry.c), NULL = no retries */
	tl_watch *watch;         /* per-batch deadline (retry.c), NULL = none */
	tl_fleet_hold *hold;     /* a fleet worker's claim on the table (fleet.c): every target write
				  * waits for it (tl_fleet_gate), records are fenced by it; NULL */
} tl_copy_ctx;

typedef struct tl_copy_result {
	int64_t rows;            /* rows this run put in the table's copy (tl_retry_copy: an attempt
				  * it retried counts up to its last recorded position) */
	double seconds;
	int resumed;
	unsigned retries;        /* transient failures this run survived in the table (retry.c) */
	int64_t unrecorded;      /* tl_copy_table failed: of `rows`, those written past its last
				  * recorded position (a retry or the next run sends them again) */
	int64_t resent;          /* tl_retry_copy: the unrecorded rows of the attempts it retried,
				  * sent again by the next attempt (not in `rows`) */
} tl_copy_result;

int tl_copy_table(tl_copy_ctx *ctx, tl_plan_item *item, tl_copy_result *res, tl_error *err) TL_MUST_CHECK;
/*
 * Copies the rows of item (described, split on its partition column) in the range
 * (lo, hi] (lo NULL: from the start; hi NULL: to the end), or with `nulls` the rows whose
 * partition column is NULL, with write flags `flags`, reading in the driver's own form
 * up to `native` (tl_read_spec.native) and recording nothing: a fleet's chunk (fleet.c).
 * Reads item's projected table and writes its routed one, as tl_copy_table does.
 * *rows gets the rows written.
 */
int tl_copy_range(tl_copy_ctx *ctx, tl_plan_item *item, const char *lo, const char *hi, int nulls, unsigned flags,
		  int native, int64_t *rows, tl_error *err) TL_MUST_CHECK;

/* ---- fleet.c: one task run by many workers through a shared store (#17, docs/fleet.md) ----
 *
 * `run TASK.ini --worker NAME` makes the run one worker of a fleet: every worker adds the
 * plan's tables as work items of the store (kept when already there), then its threads
 * claim items with leases - chunks of split tables first, then tables - until none is
 * left. A table is copied as a run without --worker would, every record fenced by the
 * lease. A split table whose rows can be upserted (a key without NULLs, replace=true) is
 * cut into chunks by whoever claims it (each chunk a range of the partition column, with
 * its bounds in the item), and the chunks are claimed like tables; the last chunk to end
 * (or the end of the cut) writes the table's finished record. A heartbeat thread renews
 * the worker and its leases every quarter lease; a worker that dies or is cut off loses
 * its leases after [resumer] lease_secs, and whoever claims an item next continues from
 * what was committed under any lease. A lease taken over (fenced) stops the holder's
 * writes to the target at once: every target write first passes tl_fleet_gate, which
 * needs half a lease left (renewing when less is left, giving the item up when it cannot),
 * and the target connections give up bytes not acknowledged within a quarter lease, so
 * that nothing a worker sent can reach the target after its lease expired (docs/fleet.md
 * has the argument).
 */
typedef struct tl_fleet tl_fleet;

/*
 * Joins the fleet of env's task as `worker` (tl_store_fleet_enter on env->store, which
 * is the task lock of a fleet; TL_STORE_FLEET_FORGET with `forget`), opens the fleet's
 * own store handle (store_path, the same store) for claims and renewals, sets
 * env->dead_peer_secs and starts its heartbeat thread. `rows` (an
 * atomic counter of the run) is reported in the beats. *out is the caller's (tl_fleet_free,
 * which stops the heartbeat and leaves the fleet as "stopped", or "failed" after
 * tl_fleet_failed).
 */
int tl_fleet_new(tl_fleet **out, tl_migrate_env *env, const char *store_path, const char *worker, int forget,
		 int64_t *rows, tl_error *err) TL_MUST_CHECK;
/* After failure rc of `what` (err set) in a try that began at t0: 0 after waiting (*wait, doubled
 * up to 5 s) when err is transient and TL_STORE_RETRY_SECS are not spent, else rc. */
int tl_fleet_backoff(tl_fleet *f, double t0, double *wait, int rc, const char *what, tl_error *err) TL_MUST_CHECK;
/* tl_store_open through transient failures (a store server restarting, sessions ended), for
 * TL_STORE_RETRY_SECS with backoff, each one logged for `worker`. */
int tl_fleet_open_store(tl_logger *log, const char *worker, const char *path, tl_store **out,
			tl_error *err) TL_MUST_CHECK;
void tl_fleet_free(tl_fleet *f);
void tl_fleet_failed(tl_fleet *f);
/*
 * Adds the plan's tables that are not skipped and its pending definition steps (plan->defs)
 * as work items, and makes failed items claimable again. Remembers the tables the task
 * creates (plan items' `ours`): they are copied whole, with `ours` set.
 */
int tl_fleet_add_plan(tl_fleet *f, const tl_plan *plan, tl_error *err) TL_MUST_CHECK;
/*
 * Steps the plan found done on the target (d: the plan's defs, may be NULL) whose fleet
 * item is not done - a worker died or stopped holding it - become pending again, so that
 * they go through their item once more (and are found done there): before tl_defs_open.
 */
int tl_fleet_reopen_steps(tl_fleet *f, tl_defs *d, tl_error *err) TL_MUST_CHECK;
/* Whether the worker's name was taken over by another process (it must stop). */
int tl_fleet_evicted(tl_fleet *f);

/* A claimed item of one fleet thread. */
typedef struct tl_fleet_work {
	tl_fleet_hold *hold;
	int chunk;          /* 1: a chunk of a split table, 0: a table */
	int finished;       /* set by tl_fleet_do: the item finished its table (all its rows are in) */
	const char *schema, *tb; /* lent by the hold */
} tl_fleet_work;

/*
 * Claims the next item (chunks first), waiting while others hold the rest: 0 with *out
 * set; TL_ERR_NOTFOUND when every item is done (or failed); TL_ERR_INTERRUPTED on stop.
 */
int tl_fleet_claim(tl_fleet *f, volatile sig_atomic_t *stop, int *abort_all, tl_fleet_work *out,
		   tl_error *err) TL_MUST_CHECK;
/*
 * Does a claimed item on this thread's connections (ctx: env, rec, src, dst, stop flags,
 * counters; ctx->hold is set here). *cache is the thread's last described table (chunks of
 * one table follow each other), released with tl_fleet_cache_free. res gets the item's rows.
 */
typedef struct tl_fleet_cache tl_fleet_cache;
int tl_fleet_do(tl_fleet *f, tl_fleet_work *w, tl_copy_ctx *ctx, tl_fleet_cache **cache, tl_copy_result *res,
		tl_error *err) TL_MUST_CHECK;
void tl_fleet_cache_free(tl_fleet *f, tl_fleet_cache *cache);
/*
 * After tl_fleet_do returned rc: the claim ends (done; failed for good on an error that is
 * not transient; given back on a stop or a transient error; nothing when it was lost) and
 * the hold is freed. Returns what the thread does next: 0 go on claiming (a lost or given
 * back item), or rc (the worker fails).
 */
int tl_fleet_end(tl_fleet *f, tl_fleet_work *w, int rc, const tl_error *why);

/*
 * A schema step (issue #14) that must run once for the whole fleet: `key` names it within
 * the task (an item of kind "step", added here when tl_fleet_add_plan did not). The first
 * worker to get here claims it and runs fn(ctx, err) (*ran = 1; ran may be NULL); the
 * others wait while it runs and return 0 with *ran = 0 once it is done. A worker whose
 * lease on it expired (it died) is replaced: the next claimer runs fn again, so fn must
 * be idempotent (defs.c's apply is). A step that fails is ended failed and its error
 * returned; one stopped or failed transiently is given back. TL_ERR_INTERRUPTED on stop /
 * abort_all while waiting. With TL_FLEET_STEP_NOWAIT in flags a step held by another worker
 * is not waited for: TL_ERR_LOCKED with *ran = 0 (the caller does something else first).
 * Without a fleet (f NULL) fn just runs.
 */
enum { TL_FLEET_STEP_NOWAIT = 1u << 0 };
int tl_fleet_step(tl_fleet *f, const char *key, int (*fn)(void *ctx, tl_error *err), void *ctx, unsigned flags,
		  volatile sig_atomic_t *stop, int *abort_all, int *ran, tl_error *err) TL_MUST_CHECK;
/*
 * The task's table and chunk items not done yet (*open: pending or claimed) and failed
 * for good (*failed), read from the store: the whole fleet's, not this worker's.
 */
int tl_fleet_items_left(tl_fleet *f, int64_t *open, int64_t *failed, tl_error *err) TL_MUST_CHECK;

/*
 * Before a write to the target under claim h (NULL: nothing to do): TL_ERR_LOCKED when the
 * claim is lost, or when less than half a lease is left and it cannot be renewed.
 */
int tl_fleet_gate(tl_fleet_hold *h, tl_error *err) TL_MUST_CHECK;
/* After a target write that started at t0 (tl_migrate__now): a write that outlived the lease is reported and loses h. */
void tl_fleet_wrote(tl_fleet_hold *h, double t0);
/* The recorder's side of a hold: a copy of its lease for one fenced store call (its strings lent by the
 * hold), with the time the call is sent; TL_ERR_LOCKED when the hold is lost. */
int tl_fleet_hold_lease(tl_fleet_hold *h, tl_store_lease *out, double *sent, tl_error *err) TL_MUST_CHECK;
/* The outcome of that call: rc 0 renewed the lease (from `sent`; with `ends`, the claim ended), TL_ERR_LOCKED
 * (e, may be NULL, says who has it now) lost it. */
void tl_fleet_hold_result(tl_fleet_hold *h, const tl_store_lease *l, double sent, int rc, int ends, const tl_error *e);

/* A text (NULL for JSON null or absent) and an integer (0 when absent) of a flat JSON object such as a chunk's payload. */
int tl_fleet_json_text(const char *json, const char *name, char **out, tl_error *err) TL_MUST_CHECK;
int tl_fleet_json_i64(const char *json, const char *name, int64_t *out, tl_error *err) TL_MUST_CHECK;

/* ---- target.c: trusting the target (docs/guide.md, "the target lost rows") ----------------- */
enum tl_verdict {
	TL_VERDICT_OK = 0,  /* nothing to check, or the target holds what the checkpoint says */
	TL_VERDICT_RESTART, /* lost rows, all of them this task's: remove them, copy from the beginning */
	TL_VERDICT_RECOPY,  /* lost rows, --recopy-lost: copy from the beginning without removing any */
	TL_VERDICT_REFUSE   /* lost rows: the run must not go on with this table */
};

typedef struct tl_target_verdict {
	enum tl_verdict verdict;
	int lost;         /* the target lacks what the checkpoint says (message says what) */
	int key_missing;  /* the checkpoint's row is not on the target */
	int64_t expected; /* rows recorded as copied up to the checkpoint, -1 unknown */
	int64_t found;    /* rows on the target, -1 not counted */
	int exact;        /* found is an exact count (else the statistics') */
	char *message;    /* when lost: what was expected and found, and what happens (owned) */
} tl_target_verdict;

/*
 * The verdict on the target of a resumed plan item (it->action == TL_ACT_RESUME; any
 * other item is OK without a look), for run (at the table's start) and plan alike.
 * prior: the store's statistics of the table (rows_copied, target_empty_at_start), or
 * NULL when the store has none (then only the checkpoint's row is looked up). *out is
 * the caller's (tl_target_verdict_clear). Errors are the drivers', prefixed with the
 * table.
 */
int tl_target_verdict_get(const tl_migrate_env *env, tl_conn *dst, const tl_plan_item *it, const tl_store_table *prior,
			  int recopy_lost, tl_target_verdict *out, tl_error *err) TL_MUST_CHECK;
void tl_target_verdict_clear(tl_target_verdict *v);
const char *tl_verdict_name(enum tl_verdict v);
/*
 * --recopy-lost for the finished tables whose target lost rows (plan items SKIP and lost,
 * from tl_plan_check_targets): forgets their progress in the store (tl_store_forget_table)
 * and plans again (*plan rebuilt, without importing), so that they start from the
 * beginning as tables never copied: keyed ones upserted over the target's rows (or into a
 * target emptied first when all its rows are this task's), keyless ones only into an empty
 * target or one holding only this task's rows (else refused, as such tables always are).
 * move_logs (run, never plan): the run's own text logs are moved aside first
 * (tl_migrate_init_sources "recopy-lost"), so that no old record of those tables comes back.
 * TL_ERR_UNSUPPORTED with ape-dts' database store as the resume source (its records of a
 * table cannot be forgotten one table at a time). Nothing happens without such items.
 */
int tl_target_recopy(const tl_migrate_env *env, tl_plan *plan, int move_logs, tl_error *err) TL_MUST_CHECK;
/* This run's line in the claims on target tables: "tideline task 'ID' (pid P on HOST)". */
void tl_target_owner(const tl_config *cfg, char *out, size_t n);
/* The target driver's durability warning (*out malloc'd, NULL when commits are durable or
 * the driver cannot tell). */
int tl_target_durability_warning(const tl_migrate_env *env, tl_conn *dst, char **out, tl_error *err) TL_MUST_CHECK;

/* ---- retry.c: a run that survives transient failures (issue #15) --------------------------
 *
 * A failure a driver classifies as transient (error.h TL_ERRF_TRANSIENT: connection lost
 * or refused, server restarting, failover, deadlock, lock wait timeout, ...) does not end
 * the run: the worker closes its connections, waits (exponential backoff with jitter),
 * connects again, plans the table again from the store (tl_plan_refresh_item) and copies
 * it on from its last recorded position, exactly as a new run would: a write whose commit
 * is unknown is treated as possibly applied (keyed rows are upserted again, rows past the
 * checkpoint of a table this task started into an empty target are removed first). An
 * outage gets at most [pipeline] retry_max_attempts attempts and retry_max_secs seconds
 * from its first failure; progress (a committed batch) starts a new one. Other errors,
 * a stop and an exhausted budget end the table's work at once, as before.
 *
 * The per-batch deadline (a tl_watch, [pipeline] batch_timeout_secs): a watchdog thread
 * gives up a connection whose batch (a read or a write) has not answered for that long,
 * through the driver's interrupt slot, which turns the stall into a transient failure.
 */
typedef struct tl_retry_limits {
	unsigned max_attempts; /* attempts per outage; 0 = no retries */
	double max_secs;       /* no attempt starts later than this after an outage's first failure */
	double base_secs;      /* first wait, doubled per attempt up to cap_secs; waits are jittered */
	double cap_secs;
} tl_retry_limits;

/* The limits of cfg; base_secs 0 = the default (0.5 s; tests pass less). */
tl_retry_limits tl_retry_limits_of(const tl_config *cfg, double base_secs);

/* Counters shared by the workers of a run (thread-safe). */
int tl_retry_new(tl_retry **out, const tl_retry_limits *limits, tl_logger *log, tl_error *err) TL_MUST_CHECK;
void tl_retry_free(tl_retry *r);
/* Retries so far; `last` (may be NULL, size n) gets the last one's one-line description. */
long tl_retry_count(tl_retry *r, char *last, size_t n);

/*
 * tl_copy_table with retries: on a transient failure closes ctx->src and ctx->dst,
 * waits, connects them again (ctx->src/dst are replaced: the caller owns what is there
 * on return, possibly NULL after a failed reconnect), replans `item` and copies on.
 * res sums every attempt. Without ctx->retry it is tl_copy_table.
 */
int tl_retry_copy(tl_copy_ctx *ctx, tl_plan_item *item, tl_copy_result *res, tl_error *err) TL_MUST_CHECK;
/*
 * After failure rc of `what` (err set) in an outage that began at t0 (tl_migrate__now),
 * with *attempt attempts so far: returns rc when it is not transient or the budget is
 * spent (then err says so and names the limits), TL_ERR_INTERRUPTED when the run stops
 * while waiting; otherwise logs and counts the retry, waits, increments *attempt and
 * returns 0: try again. r may be NULL (no retries); stop and abort_all may be NULL.
 */
int tl_retry_wait(tl_retry *r, volatile sig_atomic_t *stop, int *abort_all, unsigned *attempt, double t0,
		  const char *what, int rc, tl_error *err) TL_MUST_CHECK;
/*
 * The endpoint of a copy connection (target: the target, else the source), as the task
 * gives it, with the target's sessions named after the run (ctx->owner: the claims show
 * it) and, for a driver without the interrupt slot, a silence bound (io_timeout_secs) no
 * longer than the per-batch deadline: its stalls end as lost connections there too.
 */
tl_endpoint tl_retry_endpoint(const tl_copy_ctx *ctx, int target);
/*
 * Connects with the same retries (a server that is restarting when a worker starts):
 * ctx gives the limits, the stop flags and the log; `what` names the server ("source").
 */
int tl_retry_connect(const tl_copy_ctx *ctx, const tl_driver *d, const tl_endpoint *ep, const char *what,
		     tl_conn **out, tl_error *err) TL_MUST_CHECK;

/* The per-batch deadline: a watchdog thread; deadline_secs 0 = no watch (*out NULL). */
int tl_watch_new(tl_watch **out, unsigned deadline_secs, tl_logger *log, tl_error *err) TL_MUST_CHECK;
void tl_watch_free(tl_watch *w);
/*
 * Around one call on connection c of driver d that may stall (w may be NULL: nothing
 * watched), about table t, `doing` saying what for the log ("reading a batch from the
 * source"; t and doing must live until tl_watch_end). tl_watch_begin returns a ticket for tl_watch_end; tl_watch_end returns 1 when
 * the deadline gave the connection up during the call; then, if rc is an error, err is
 * marked as a transient lost connection and says why. The watchdog touches c only between
 * the two calls, so c may be closed after tl_watch_end.
 */
int tl_watch_begin(tl_watch *w, const tl_driver *d, tl_conn *c, const tl_table *t, const char *doing);
int tl_watch_end(tl_watch *w, int ticket, int rc, tl_error *err);

/* ---- importer.c: text progress sources into the store -------------------------------------
 *
 * The one importer of position.log / finished.log / resume.config lines, for a run's
 * from_log sources and for `tideline import`. Files are read whole and fingerprinted
 * (size and 64-bit FNV-1a of the content: what the store's import_source marks hold);
 * parsing adds every line to one tl_resume_set in the order files are parsed (ape-dts
 * precedence: later records of a kind win); storing writes the merged set with each
 * record's own line timestamp and exact JSON, and marks the parsed files as imported.
 */
typedef struct tl_importer tl_importer;

int tl_importer_new(tl_importer **out, tl_error *err) TL_MUST_CHECK;
void tl_importer_free(tl_importer *im);
/*
 * Reads `path` whole and fingerprints it; *idx is its number for the calls below. A
 * missing file is TL_ERR_NOTFOUND ("file 'P' does not exist"), unless may_be_missing:
 * then it is kept with size -1 (never parsed or marked).
 */
int tl_importer_read(tl_importer *im, const char *path, int may_be_missing, size_t *idx, tl_error *err) TL_MUST_CHECK;
/* Files read so far (numbered 0.. in reading order); a read file's path, size (-1: missing) and hash. */
size_t tl_importer_nfiles(const tl_importer *im);
const char *tl_importer_path(const tl_importer *im, size_t idx);
int64_t tl_importer_size(const tl_importer *im, size_t idx);
uint64_t tl_importer_hash(const tl_importer *im, size_t idx);
/*
 * Adds every usable line of file idx to the set. A bad line is reported through on_bad
 * (path, line number, reason; non-zero return stops and is returned) and counted; with
 * on_bad NULL the first bad line fails with "PATH:LINE: reason" (TL_ERR_PARSE).
 */
int tl_importer_parse(tl_importer *im, size_t idx, tl_logbad_fn on_bad, void *ctx, tl_error *err) TL_MUST_CHECK;
/* The merged set and the counts of parsed lines, records and bad lines. */
const tl_resume_set *tl_importer_set(const tl_importer *im);
void tl_importer_counts(const tl_importer *im, size_t *lines, size_t *records, size_t *bad);
/*
 * Writes the merged set into the store for task_id and marks every parsed file as
 * imported, in one store transaction of its own (the caller must not have one open).
 * stats may be NULL.
 */
int tl_importer_store(const tl_importer *im, tl_store *s, const char *task_id, tl_store_import_stats *stats,
		      tl_error *err) TL_MUST_CHECK;

/* ---- defs.c: the definition steps of a run (docs/schema.md) ---------------------------------
 *
 * When the task creates definitions ([sinker] create_schema, a driver with TL_CAP_SCHEMA),
 * tl_migrate_plan extracts the steps of every selected table from the source
 * (schema_extract, [filter] do_structures), looks for them on the target (schema_probe),
 * reads what earlier runs recorded and decides per step: pending (to apply), done (an
 * earlier run did it, or found there as this task's), exists (on the target before this
 * task: used as it is), skipped (belongs to a table that existed on the target: never
 * altered). A table whose table step is pending or this task's is marked create / ours in
 * the plan. `run` then applies the steps phase by phase (run.c): PRE_DATA before any row,
 * a table's TABLE_POST steps as soon as its rows are in (tl_defs_table_ready), POST_DATA
 * after all rows, FINAL with values read again from the source (tl_defs_refresh_final). Every
 * state change is recorded in the store (tl_store_def_steps_put, through the recorder).
 *
 * Threads: the scheduler calls (next, done, ready, wait) lock the defs' own mutex; the
 * list itself is read-only once planned. tl_defs_apply runs one step on the caller's
 * target connection and may be called by several workers at once for different steps.
 */
enum tl_def_state { TL_DEF_PENDING = 0, TL_DEF_RUNNING, TL_DEF_DONE, TL_DEF_EXISTS, TL_DEF_SKIPPED, TL_DEF_FAILED };

typedef struct tl_def {
	enum tl_def_state state;
	enum tl_schema_state found; /* the target's answer: at plan time, then what apply found */
	int created;                /* this task created (or finished) the object */
	int tolerant;               /* a failure is a warning: a value of a table that existed */
	int gated;                  /* TABLE_POST: waits for its table's rows and PRE_DATA steps */
	unsigned waiting;           /* dependencies in open phases not applied yet (scheduler) */
	double seconds;             /* the last apply's duration, < 0 none */
	char *error;                /* why the last apply failed, or NULL */
	char hash[17];              /* fingerprint of the SQL (hex) */
} tl_def;

/* Counters of a run's definition work (the summary). */
typedef struct tl_defs_stats {
	size_t created;                 /* applied and found absent or half done */
	size_t set;                     /* applied, not visible on the target (values, comments, refreshes) */
	size_t found;                   /* applied and found already there */
	size_t failed, warned;          /* failures; failures of tolerant steps */
	size_t done_before;             /* found done when planned (an earlier run, or this task's table) */
	size_t elsewhere;               /* a fleet's: done by another worker meanwhile (tl_defs_done_elsewhere) */
	size_t kinds[TL_SK_COUNT];      /* created or set, per kind */
	double seconds[TL_PHASE_COUNT]; /* each phase: from its opening until its last step finished */
} tl_defs_stats;

struct tl_defs {
	tl_schema_list list;  /* every step; names and owners follow the plan's items */
	tl_def *d;            /* list.n */
	size_t *item_table;   /* per plan item: its table step, or TL_SCHEMA_NO_OWNER */
	int fk_checks;        /* the target session checks foreign keys while rows are written */
	int triggers;         /* ... and fires the target's triggers */
	char **notes;         /* what plan must say (pre-existing objects that may get in the way) */
	size_t nnotes;
	tl_defs_stats stats;
	/* the scheduler (defs.c) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t **rdeps;       /* per step: the steps that need it */
	size_t *nrdeps;
	size_t *ready;        /* FIFO of steps ready to run */
	size_t nready, ready_at;
	size_t left[TL_PHASE_COUNT]; /* steps of a phase not finished */
	int open[TL_PHASE_COUNT];    /* the phase was opened (tl_defs_open) */
	double opened_at[TL_PHASE_COUNT];
	struct tl_def_buf *buf;      /* store records not yet written (defs.c) */
	double flushed_at;
};

/* The word of a state: "pending", "running", "done", "exists", "skipped", "failed". */
const char *tl_def_state_name(enum tl_def_state s);
/*
 * Plans the definitions of plan (all items: names, owners) over a source and a target
 * connection and the env's store (read; with record, also written): sets plan->defs (NULL
 * when the task or the driver creates nothing) and the items' create / ours. Errors name
 * the step or the table.
 */
int tl_defs_plan(const tl_migrate_env *env, tl_conn *src, tl_conn *dst, tl_plan *plan, int record,
		 tl_error *err) TL_MUST_CHECK;
void tl_defs_free(tl_defs *d);
/* Opens phase p for the scheduler: counts its pending steps, makes the ungated ones ready. */
void tl_defs_open(tl_defs *d, enum tl_schema_phase p);
/* Whether phase p was opened. */
int tl_defs_is_open(tl_defs *d, enum tl_schema_phase p);
/* Whether plan item `item` may be copied: PRE_DATA is open and its steps there are done. */
int tl_defs_item_made(tl_defs *d, size_t item);
/* Item idx's rows are in (or it has none to copy): its TABLE_POST steps may run (once its
 * PRE_DATA steps are done). */
void tl_defs_table_ready(tl_defs *d, size_t item);
/* Takes the next ready step of an open phase (now running), or TL_SCHEMA_NO_OWNER. */
size_t tl_defs_next(tl_defs *d);
/* Puts step i (taken by tl_defs_next, not run) back at the end of the ready queue: a fleet's
 * worker found it held by another worker and takes other steps meanwhile. */
void tl_defs_requeue(tl_defs *d, size_t i);
/* Steps in the ready queue now. */
size_t tl_defs_ready(tl_defs *d);
/* Steps of the open phases not finished yet (ready, running, or waiting for others or rows). */
size_t tl_defs_outstanding(tl_defs *d);
/* Waits up to a second for a step to become ready, a phase to open or a table to finish. */
void tl_defs_wait(tl_defs *d);
/* Steps of phase p not finished yet. */
size_t tl_defs_left(tl_defs *d, enum tl_schema_phase p);
/* Wakes every waiter (a failure, a stop). */
void tl_defs_wake(tl_defs *d);
/*
 * Applies step i (taken by tl_defs_next) on dst, records it (running first for a table,
 * then done or failed) and makes the steps waiting for it ready. A tolerant step's failure
 * is logged and not returned.
 */
int tl_defs_apply(const tl_migrate_env *env, tl_defs *d, tl_recorder *rec, tl_conn *dst, size_t i,
		  tl_error *err) TL_MUST_CHECK;
/*
 * A fleet's worker: step i (taken by tl_defs_next) was done by another worker of the fleet
 * (tl_fleet_step did not run it here; that worker recorded it): done here too, and the
 * steps waiting for it are made ready.
 */
void tl_defs_done_elsewhere(tl_defs *d, size_t i);
/* Writes the buffered step records (end of a phase, end of the run). */
int tl_defs_flush(tl_defs *d, tl_recorder *rec, const char *task_id, tl_error *err) TL_MUST_CHECK;
/*
 * FINAL: reads the values again from the source (schema_extract with phases = FINAL) and
 * puts them in place of the planned FINAL steps, so that a source that kept taking rows
 * hands over its latest values.
 */
int tl_defs_refresh_final(const tl_migrate_env *env, tl_defs *d, const tl_plan *plan, tl_conn *src,
			  tl_error *err) TL_MUST_CHECK;
/* The recorder's side: writes definition steps under its lock (workers share the store). */
int tl_recorder_def_steps(tl_recorder *r, const tl_store_def_step *steps, size_t n, tl_error *err) TL_MUST_CHECK;

/* Creates a directory and its parents (shared by run.c and recorder.c). */
int tl_migrate__mkdir_p(const char *path, tl_error *err) TL_MUST_CHECK;
/* Seconds on the monotonic clock (for durations, never for timestamps). */
double tl_migrate__now(void);
/* Should a worker stop: the stop signal (may be NULL) or another worker's failure (may be NULL)? */
int tl_migrate__stopping(volatile sig_atomic_t *stop, int *abort_all);
/* Sleeps for secs seconds (a signal may cut it short). */
void tl_migrate__sleep(double secs);
/*
 * The target's and the source's endpoints for a worker's connections, with
 * env->dead_peer_secs (a fleet worker's: nothing it sent reaches the target after its
 * lease; a read from a source behind a cut link does not hold the worker up for long).
 */
tl_endpoint tl_migrate__target(const tl_migrate_env *env);
tl_endpoint tl_migrate__source(const tl_migrate_env *env);

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
	char *dst_schema, *dst_tb; /* the target table ([router]; the same names when not routed) */
	int target_missing;     /* TL_VERIFY_NO_TARGET because the target table does not exist */
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

/* What a verify lends its per-table hook (check tasks): the drivers and tables of one table. */
typedef struct tl_verify_hook {
	const tl_driver *drv;        /* the one kind on both sides */
	tl_conn *src, *dst;
	const tl_table *table;       /* described source table */
	const tl_table *rtable;      /* as read from the source (ignore_cols left out) */
	const tl_table *wtable;      /* as read from the target ([router] names), columns as rtable's */
} tl_verify_hook;

typedef struct tl_verify_opts {
	size_t ranges;          /* ranges per split level, 0 = 16 */
	unsigned depth;         /* levels of splitting, 0 = 3 */
	size_t max_ranges;      /* soft cap of reported ranges per table, 0 = 256 */
	const char *store_path; /* NULL = the config's; a missing store skips the finished check */
	tl_logger *log;         /* may be NULL */
	const tl_registry *registry; /* NULL = the built-in drivers */
	tl_fault *fault;        /* debug hooks, or NULL */
	/* Optional: called for every table once it is compared (its state, counts and
	 * differing ranges set); a non-zero return stops the verify and is returned. */
	int (*on_table)(void *ctx, const tl_verify_hook *h, tl_verify_table *vt, tl_error *err);
	void *on_table_ctx;
} tl_verify_opts;

/* Compares every selected table. *out is the caller's (tl_verify_report_clear); cleared on error. */
int tl_verify_run(const tl_config *cfg, const tl_verify_opts *opts, tl_verify_report *out, tl_error *err) TL_MUST_CHECK;
void tl_verify_report_clear(tl_verify_report *r);
const char *tl_verify_state_name(enum tl_verify_state s);
/* ---- end verify.c ---- */

/* ---- check.c: a check task ([sinker] sink_type=check) ------------------------------------
 *
 * Compares every selected table with its routed target table (verify first, then row by
 * row inside the differing ranges) and writes ape-dts' check logs (miss.log, diff.log,
 * extra.log, summary.log) in cfg->check_log_dir; nothing is written to the target or the
 * store. With [runtime] check_result_stdout_only and out_line set, the log lines go to
 * out_line instead (logger "miss_logger", "diff_logger", "extra_logger", "summary_logger",
 * line without '\n'). *rep is verify's report (tl_verify_report_clear); *consistent 1
 * when nothing is missing, different or extra. default.log is opened in log_dir.
 */
typedef void (*tl_check_line_fn)(void *ctx, const char *logger, const char *line);
int tl_migrate_check(const tl_config *cfg, const tl_migrate_opts *opts, tl_check_line_fn out_line, void *line_ctx,
		     tl_verify_report *rep, int *consistent, tl_error *err) TL_MUST_CHECK;

#endif
