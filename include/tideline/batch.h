/*
 * batch.h - rows in flight between a reader and a writer.
 *
 * A batch is nrows × ncols cells. Each cell is a byte string in the driver's own wire
 * form (MySQL/PG text protocol values, raw bytes for binary columns, one BSON document
 * for MongoDB) or NULL. Cell bytes live in one bounded buffer (data.max), so a batch
 * can never grow past its cap: a reader stops adding rows when tl_batch_full() says so.
 * The caller owns the batch (tl_batch_init / tl_batch_release).
 *
 * A batch has one of three forms. TL_BATCH_CELLS: ncols cells per row, as above. The
 * native forms hold one cell per row: the whole row in the reading driver's own encoding,
 * readable only by that driver's row_key and write_batch (see tl_read_spec.native) -
 * TL_BATCH_NATIVE (portable; PostgreSQL: one COPY text line with its newline) and
 * TL_BATCH_NATIVE_BINARY (PostgreSQL: one binary COPY tuple). ncols is the table's
 * column count in every form.
 */
#ifndef TL_BATCH_H
#define TL_BATCH_H

#include <stddef.h>
#include "tideline/buf.h"
#include "tideline/error.h"

typedef struct tl_cell {
	size_t off;  /* into data */
	size_t len;
	int is_null;
} tl_cell;

enum tl_batch_form { TL_BATCH_CELLS = 0, TL_BATCH_NATIVE = 1, TL_BATCH_NATIVE_BINARY = 2 };

typedef struct tl_batch {
	size_t ncols;
	enum tl_batch_form form; /* set by the reader; tl_batch_reset returns to TL_BATCH_CELLS */
	size_t nrows;     /* complete rows */
	size_t ncells;    /* cells pushed (may include a row in progress) */
	size_t cell_cap;
	tl_cell *cells;
	tl_buf data;
	size_t soft_bytes; /* tl_batch_full() once data.len reaches this */
} tl_batch;

/* soft_bytes: when a reader should stop adding rows; hard cap is 4 × soft_bytes + 64 MiB. */
void tl_batch_init(tl_batch *b, size_t ncols, size_t soft_bytes);
void tl_batch_release(tl_batch *b);
void tl_batch_reset(tl_batch *b); /* keeps ncols and memory */
void tl_batch_set_ncols(tl_batch *b, size_t ncols); /* resets */
/* Appends a cell to the row in progress; p may be NULL with is_null. */
int tl_batch_push(tl_batch *b, const void *p, size_t len, int is_null, tl_error *err) TL_MUST_CHECK;
/* Closes the row in progress (exactly ncols cells; exactly 1 in a native form). */
int tl_batch_end_row(tl_batch *b, tl_error *err) TL_MUST_CHECK;
/* Drops a partially pushed row. */
void tl_batch_abort_row(tl_batch *b);
static inline int tl_batch_full(const tl_batch *b) { return b->data.len >= b->soft_bytes; }
/*
 * A read-only view of rows [from, from + n) of b (from + n <= b->nrows) in *out, sharing
 * b's memory: valid while b is unchanged; never push to, reset or release a view.
 */
void tl_batch_view(const tl_batch *b, size_t from, size_t n, tl_batch *out);
/* Lent pointer to a cell's bytes (NUL-terminated), NULL for SQL NULL. Native forms: col 0. */
const char *tl_batch_cell(const tl_batch *b, size_t row, size_t col, size_t *len);

#endif
