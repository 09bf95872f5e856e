/*
 * status_defs.h - the definition part of `tideline status` (status_defs.c): each table's
 * phase and the steps left per task, read from the store's definition steps.
 *
 * Ownership: tl_status_defs_load gives the caller a tl_status_defs (tl_status_defs_free);
 * every string it returns is its own or static. Errors: TL_ERR_NOMEM only (a store
 * without definition steps loads as "none").
 */
#ifndef TL_STATUS_DEFS_H
#define TL_STATUS_DEFS_H

#include <stdint.h>
#include <cjson/cJSON.h>
#include "tideline/store.h"

typedef struct tl_status_defs tl_status_defs;

/* Reads the definition steps of task_id (NULL: every task). */
int tl_status_defs_load(tl_store *s, const char *task_id, tl_status_defs **out, tl_error *err) TL_MUST_CHECK;
void tl_status_defs_free(tl_status_defs *d);
/*
 * A table's phase from its definitions and its copy state (the progress view's state, NULL
 * when it has none): "creating" (its table not made yet), "waiting" (made, not copied
 * yet), "copying", "indexing" (rows in, keys or indexes left), "done"; NULL when the task
 * has no definition steps. *keys_left: its key and index steps not done, -1 unknown.
 */
const char *tl_status_defs_phase(const tl_status_defs *d, const char *task_id, const char *schema, const char *tb,
				 const char *state, int64_t *keys_left);
/* Calls fn for every table with definition steps (task_id NULL: all tasks), in (task, schema, tb) order. */
int tl_status_defs_foreach_table(const tl_status_defs *d, const char *task_id,
				 int (*fn)(void *ctx, const char *task_id, const char *schema, const char *tb,
					   tl_error *err),
				 void *ctx, tl_error *err) TL_MUST_CHECK;
/* The task's line (and its failed steps) on stdout; nothing when it has no definitions. */
void tl_status_defs_print(const tl_status_defs *d, const char *task_id);
/* Adds "definitions" to a task's JSON object (nothing when it has none). 0 when out of memory. */
int tl_status_defs_json(const tl_status_defs *d, const char *task_id, cJSON *task);

#endif
