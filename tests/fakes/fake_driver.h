/*
 * fake_driver.h - an in-memory database kind for the engine's unit tests (the way
 * libgit2 tests its object database with fake backends).
 *
 * tl_fake_driver is a real struct tl_driver_ops (db_type "fake"), registered only in
 * tests, through tl_fake_registry. A fake
 * server (tl_fake_db) holds tables in memory and is reached by the URL fake://NAME; it
 * counts the calls of every slot and can be told to fail the Nth call of any slot, before
 * or after doing the work. Reads, writes, key order, NULL passes, ranges, deletes past a
 * key and ape-dts' database store behave like the real drivers' (driver.h), including
 * what a real target refuses: a plain (non-upsert) or bulk write of a key the target
 * already holds fails, so an engine that re-sends rows where it must not is caught.
 *
 * Also: key lookups, claims (one holder per table, released by a disconnect), the
 * server's statistics (live_rows_many: the estimate when one is set), durability
 * warnings and flushes, with a model of a server that acknowledges commits before they
 * are durable (tl_fake_set_async, tl_fake_crash).
 *
 * Values are text: columns are "int" (compared as 64-bit integers, a resume value that is
 * not one is TL_ERR_MISMATCH) or "text" (compared bytewise); NULL cells are NULL.
 * Thread-safe: one mutex per fake server, as the engine's workers share them.
 * Test code only: the list of fake servers is process-global.
 */
#ifndef TL_FAKE_DRIVER_H
#define TL_FAKE_DRIVER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "tideline/driver_call.h"
#include "tideline/registry.h"

extern const struct tl_driver_ops tl_fake_driver;
/* A registry of the fake driver alone (tl_config_load_with, tl_migrate_opts.registry). */
extern const tl_registry tl_fake_registry;

typedef struct tl_fake_db tl_fake_db;

/* A new empty fake server reachable as fake://name (names are unique while it lives). */
tl_fake_db *tl_fake_db_new(const char *name);
void tl_fake_db_free(tl_fake_db *db);

/*
 * Adds a table. cols: "name kind [key] [null], …" with kind int or text; the key columns
 * are the ones marked key, in that order (a key with a nullable column is a nullable
 * unique key, else a primary key). Returns 0, or -1 on a bad spec or a duplicate table.
 */
int tl_fake_add_table(tl_fake_db *db, const char *schema, const char *name, const char *cols);
/* Appends a row (ncols cells; NULL = SQL NULL) without any check. 0 or -1. */
int tl_fake_insert(tl_fake_db *db, const char *schema, const char *name, const char *const *cells);
/* Removes every row of a table (-1 when missing). */
int tl_fake_truncate(tl_fake_db *db, const char *schema, const char *name);
/* Row count, -1 when the table is missing. */
int64_t tl_fake_count(tl_fake_db *db, const char *schema, const char *name);
/* The estimate describe reports (default: the exact count, or -1 to say unknown). */
void tl_fake_set_estimate(tl_fake_db *db, const char *schema, const char *name, int64_t est);
/* Removes table schema.name, or every table of schema when name is NULL (0 even when none). */
int tl_fake_drop(tl_fake_db *db, const char *schema, const char *name);
/*
 * A copy of a table's rows: *out gets nrows * ncols malloc'd cells (NULL = SQL NULL) in
 * insertion order; free with tl_fake_cells_free. -1 when the table is missing.
 */
int tl_fake_cells(tl_fake_db *db, const char *schema, const char *name, char ***out, size_t *ncols, size_t *nrows);
void tl_fake_cells_free(char **cells, size_t n);
/* Copies table schema.name of `from` into `to` with the same columns and no rows. 0 or -1. */
int tl_fake_copy_shape(tl_fake_db *from, tl_fake_db *to, const char *schema, const char *name);

/*
 * Row-exact comparison of a table on two servers, as multisets of whole rows: 1 when
 * every row of a is in b exactly as often, else 0 with why (one missing or extra row, or
 * the counts) written into why.
 */
int tl_fake_same_rows(tl_fake_db *a, tl_fake_db *b, const char *schema, const char *name, char *why, size_t n);

/* Calls of a slot on this server since it was made or tl_fake_reset_calls (which also
 * clears the faults, the stops, the row counters and tl_fake_durable_writes). */
long tl_fake_calls(tl_fake_db *db, enum tl_slot slot);
void tl_fake_reset_calls(tl_fake_db *db);
/* Rows handed out by its readers, rows applied by its writes (an upsert counts once). */
long tl_fake_rows_read(tl_fake_db *db);
long tl_fake_rows_written(tl_fake_db *db);
/*
 * The nth call of slot from now (1 = the next) fails with code; after = 1 does the work
 * first (a write committed whose success the caller never hears of). Several may be set.
 */
void tl_fake_fail_at(tl_fake_db *db, enum tl_slot slot, long nth, int code, int after);
/* The same, counting only calls about table tb (of any schema). */
void tl_fake_fail_table(tl_fake_db *db, enum tl_slot slot, const char *tb, long nth, int code, int after);
/* The same with error.h flags on the error (TL_ERRF_TRANSIENT, …: what a driver's
 * classification would say; tb NULL = any table). */
void tl_fake_fail_flags(tl_fake_db *db, enum tl_slot slot, const char *tb, long nth, int code, int after,
			unsigned flags);
/*
 * The nth call of slot from now stalls: it waits until a connection of this server is
 * interrupted (the driver's interrupt slot; at most 60 s), then fails as a lost connection
 * (transient). Interrupts so far: tl_fake_interrupts. As with a real driver, every later
 * call on an interrupted connection fails as a lost connection too.
 */
void tl_fake_stall_at(tl_fake_db *db, enum tl_slot slot, long nth);
long tl_fake_interrupts(tl_fake_db *db);
void tl_fake_clear_faults(tl_fake_db *db);
/*
 * The asynchronous-commit model (a server with synchronous_commit=off): with it on, a
 * commit is durable only once a write with TL_WRITE_DURABLE or a flush_commits call
 * follows it (the tables are remembered then), and tl_fake_crash puts every table back as
 * it was at that point (what a crash of such a server loses). Off by default.
 */
void tl_fake_set_async(tl_fake_db *db, int on);
void tl_fake_crash(tl_fake_db *db);
/* write_batch calls that carried TL_WRITE_DURABLE. */
long tl_fake_durable_writes(tl_fake_db *db);
/* What durability_warning answers (NULL: commits are durable, the default). */
void tl_fake_set_durability_warning(tl_fake_db *db, const char *text);
/* Sets *flag to 1 once the nth call of slot (from now) has returned: a stop at that moment. */
void tl_fake_stop_at(tl_fake_db *db, enum tl_slot slot, long nth, volatile sig_atomic_t *flag);
/* Connections holding a claim on schema.name (claim / release; a disconnect releases). */
int tl_fake_claimed(tl_fake_db *db, const char *schema, const char *name);
/* Rows in the fake's ape-dts store for task_id (all tables). */
size_t tl_fake_ape_rows(tl_fake_db *db, const char *task_id);
/* Adds a row to the fake's ape-dts store table schema.table. 0 or -1. */
int tl_fake_ape_put(tl_fake_db *db, const char *schema, const char *table, const char *task_id,
		    const char *resumer_type, const char *position_key, const char *position_data);

#endif
