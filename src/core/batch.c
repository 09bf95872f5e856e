/*
 * batch.c - bounded row batches (include/tideline/batch.h).
 */
#include <stdlib.h>
#include <string.h>
#include "tideline/batch.h"

void tl_batch_init(tl_batch *b, size_t ncols, size_t soft_bytes)
{
	memset(b, 0, sizeof(*b));
	b->ncols = ncols;
	b->soft_bytes = soft_bytes ? soft_bytes : (size_t)8 << 20;
	tl_buf_init(&b->data, 4 * b->soft_bytes + ((size_t)64 << 20));
}

void tl_batch_release(tl_batch *b)
{
	if (!b)
		return;
	free(b->cells);
	b->cells = NULL;
	tl_buf_release(&b->data);
	b->nrows = b->ncells = b->cell_cap = 0;
}

void tl_batch_reset(tl_batch *b)
{
	b->form = TL_BATCH_CELLS;
	b->nrows = 0;
	b->ncells = 0;
	tl_buf_reset(&b->data);
}

void tl_batch_set_ncols(tl_batch *b, size_t ncols)
{
	tl_batch_reset(b);
	b->ncols = ncols;
}

int tl_batch_push(tl_batch *b, const void *p, size_t len, int is_null, tl_error *err)
{
	tl_cell *c;
	int rc;

	if (b->ncells == b->cell_cap) {
		size_t ncap = b->cell_cap ? 2 * b->cell_cap : 256;
		tl_cell *nc = realloc(b->cells, ncap * sizeof(*nc));
		if (!nc)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory growing a batch");
		b->cells = nc;
		b->cell_cap = ncap;
	}
	c = &b->cells[b->ncells];
	c->off = b->data.len;
	c->len = is_null ? 0 : len;
	c->is_null = is_null;
	/* Each cell is stored NUL-terminated so drivers can hand it to C-string APIs. */
	if (!is_null && len) {
		rc = tl_buf_put(&b->data, p, len, err);
		if (rc)
			return tl_error_prefix(err, "row too large for one batch");
	}
	rc = tl_buf_putc(&b->data, '\0', err);
	if (rc)
		return tl_error_prefix(err, "row too large for one batch");
	b->ncells++;
	return 0;
}

/* Cells per row: ncols, or 1 in a native form. */
static size_t stride(const tl_batch *b)
{
	return b->form == TL_BATCH_CELLS ? b->ncols : 1;
}

int tl_batch_end_row(tl_batch *b, tl_error *err)
{
	size_t w = stride(b);

	if (b->ncells != (b->nrows + 1) * w)
		return tl_error_set(err, TL_ERR_INTERNAL, "batch row has %zu cells, expected %zu",
				    b->ncells - b->nrows * w, w);
	b->nrows++;
	return 0;
}

void tl_batch_abort_row(tl_batch *b)
{
	size_t start = b->nrows * stride(b);

	if (b->ncells > start) {
		b->data.len = b->cells[start].off;
		b->ncells = start;
	}
}

void tl_batch_view(const tl_batch *b, size_t from, size_t n, tl_batch *out)
{
	size_t w = stride(b);

	*out = *b;
	out->cells = b->cells + from * w;
	out->nrows = n;
	out->ncells = n * w;
	out->cell_cap = n * w;
}

const char *tl_batch_cell(const tl_batch *b, size_t row, size_t col, size_t *len)
{
	const tl_cell *c = &b->cells[row * stride(b) + col];

	if (len)
		*len = c->len;
	if (c->is_null)
		return NULL;
	return b->data.data + c->off;
}
