/*
 * rowdiff.h - row-level comparison of one key range (internal to src/migrate).
 *
 * The engine reads the rows of a range from the source and from the target (in key
 * order, as batches of cells) and feeds them here, each row with its key text in position
 * form (the driver's row_key), in any interleaving. Rows are matched by key text, so the
 * two sides need not sort identically (a target with another collation still matches):
 * a matched pair whose compared columns differ is DIFFERS (with the differing columns),
 * a source row no target row matched is MISSING, a target row no source row matched is
 * EXTRA. A row without a usable key (keyless table, NULL in a nullable unique key: key
 * NULL) is matched by the exact bytes of its compared columns instead, as a multiset, and
 * can only be MISSING or EXTRA. The comparer calls no driver and does no I/O.
 *
 * Matches are reported as they happen (during tl_rowdiff_add); unmatched rows once both
 * sides are complete (tl_rowdiff_finish). Rows waiting for their partner are copied and
 * held (bounded by max_pending rows / max_pending_bytes: past that the range is too
 * different to hold and TL_ERR_NOMEM says to compare a smaller range). Since rows come in
 * the same key order on both sides, only the rows that differ wait for long.
 *
 * Not thread-safe: one comparer per range and thread.
 */
#ifndef TL_ROWDIFF_H
#define TL_ROWDIFF_H

#include <stddef.h>
#include <stdint.h>
#include "tideline/batch.h"
#include "tideline/error.h"

typedef struct tl_rowdiff tl_rowdiff;

enum tl_rowdiff_kind { TL_ROWDIFF_MISSING = 0, TL_ROWDIFF_EXTRA, TL_ROWDIFF_DIFFERS };
enum tl_rowdiff_side { TL_ROWDIFF_SOURCE = 0, TL_ROWDIFF_TARGET = 1 };

/* One compared column: its index in source rows and in target rows (route projection). */
typedef struct tl_rowdiff_pair {
	size_t src_col, dst_col;
} tl_rowdiff_pair;

/*
 * What the callback gets. Batches and strings are lent for the duration of the call only
 * (a held row is shown as a one-row batch). The batches are in TL_BATCH_CELLS form with
 * every column of their side, so the driver's row_key can render any cell of them.
 */
typedef struct tl_rowdiff_event {
	enum tl_rowdiff_kind kind;
	const char *key;          /* key text; NULL for a row matched by content */
	const tl_batch *src;      /* MISSING, DIFFERS */
	size_t src_row;
	const tl_batch *dst;      /* EXTRA, DIFFERS */
	size_t dst_row;
	size_t ndiff;             /* DIFFERS: indexes into opts.pairs, ascending */
	const size_t *diff;
} tl_rowdiff_event;

typedef int (*tl_rowdiff_fn)(void *ctx, const tl_rowdiff_event *ev, tl_error *err);
/*
 * Optional value equality for one compared pair of non-NULL cells (e.g. a driver that
 * knows two texts of a value are the same): 1 equal, 0 different. NULL: byte equality.
 * Not used for rows without a key (they match on exact bytes).
 */
typedef int (*tl_rowdiff_eq_fn)(void *ctx, size_t pair, const char *a, size_t alen, const char *b, size_t blen);

typedef struct tl_rowdiff_opts {
	unsigned version;            /* TL_ROWDIFF_OPTS_VERSION */
	size_t npairs;               /* >= 1 */
	const tl_rowdiff_pair *pairs;
	tl_rowdiff_fn on_event;      /* mandatory; a non-zero return stops and is returned */
	void *ctx;
	tl_rowdiff_eq_fn eq;         /* optional */
	void *eq_ctx;
	size_t max_pending;          /* rows held at once, both sides: 0 = 1,000,000 */
	size_t max_pending_bytes;    /* 0 = 256 MiB */
} tl_rowdiff_opts;

#define TL_ROWDIFF_OPTS_VERSION 1
#define TL_ROWDIFF_OPTS_INIT {TL_ROWDIFF_OPTS_VERSION, 0, NULL, NULL, NULL, NULL, NULL, 0, 0}

typedef struct tl_rowdiff_stats {
	uint64_t src_rows, dst_rows;  /* rows fed */
	uint64_t equal, differs, missing, extra;
	size_t pending;               /* rows held right now */
} tl_rowdiff_stats;

/* opts is copied (pairs must outlive the comparer). */
int tl_rowdiff_new(tl_rowdiff **out, const tl_rowdiff_opts *opts, tl_error *err) TL_MUST_CHECK;
void tl_rowdiff_free(tl_rowdiff *d); /* accepts NULL */

/*
 * Feeds the rows of b (a cell batch) from one side; keys[i] is row i's key text or NULL.
 * Every compared column index must be < b->ncols. TL_ERR_UNSUPPORTED for a native-form
 * batch, TL_ERR_NOMEM past the pending limits.
 */
int tl_rowdiff_add(tl_rowdiff *d, enum tl_rowdiff_side side, const tl_batch *b, const char *const *keys,
		   tl_error *err) TL_MUST_CHECK;
/* Both sides complete: reports the held source rows as MISSING, then the held target rows as EXTRA. */
int tl_rowdiff_finish(tl_rowdiff *d, tl_error *err) TL_MUST_CHECK;
void tl_rowdiff_get_stats(const tl_rowdiff *d, tl_rowdiff_stats *out);

#endif
