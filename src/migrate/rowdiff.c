/*
 * rowdiff.c - the row comparer of one key range (rowdiff.h).
 *
 * How it works: each side has a table of held rows, hashed by key text (or, for a row
 * without a key, by the bytes of its compared columns) and linked in arrival order. An
 * incoming row first looks for its partner among the other side's held rows; found, the
 * pair is compared and reported (or counted equal) and the partner is dropped; not found,
 * the row is copied into its own side's table. finish() reports what is left. A held row
 * is one allocation: the header, the cell lengths and the cell bytes.
 */
#include <stdlib.h>
#include <string.h>
#include "migrate/rowdiff.h"

#define DEFAULT_MAX_PENDING 1000000u
#define DEFAULT_MAX_BYTES ((size_t)256 << 20)
#define NULL_CELL ((size_t)-1)

struct held {
	struct held *hnext;       /* hash chain */
	struct held *prev, *next; /* arrival order */
	uint64_t hash;
	char *key;                /* NULL: matched by content */
	size_t size;              /* bytes of this allocation */
	size_t ncols;
	size_t *len;              /* NULL_CELL for SQL NULL */
	char **cell;
};

struct side {
	struct held **buckets;
	size_t cap, n;
	struct held *head, *tail;
};

struct tl_rowdiff {
	tl_rowdiff_opts o;
	struct side sides[2];
	size_t pending, pending_bytes;
	size_t *diff;      /* npairs scratch */
	tl_batch scratch;  /* a held row shown as a batch */
	tl_rowdiff_stats st;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return h;
}

static size_t col_of(const tl_rowdiff *d, enum tl_rowdiff_side side, size_t pair)
{
	return side == TL_ROWDIFF_SOURCE ? d->o.pairs[pair].src_col : d->o.pairs[pair].dst_col;
}

static uint64_t key_hash(const char *key)
{
	return fnv(1469598103934665603ull ^ 0x6b6579u, key, strlen(key));
}

/* Hash of the compared cells of a row (rows without a key). */
static uint64_t content_hash(const tl_rowdiff *d, enum tl_rowdiff_side side, const tl_batch *b, size_t row)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < d->o.npairs; i++) {
		size_t len;
		const char *c = tl_batch_cell(b, row, col_of(d, side, i), &len);
		unsigned char tag = c ? 1 : 0;

		h = fnv(h, &tag, 1);
		if (c) {
			h = fnv(h, &len, sizeof(len));
			h = fnv(h, c, len);
		}
	}
	return h;
}

/* A cell of a row, either from the caller's batch or from a held row. */
struct rowref {
	const tl_batch *b;
	size_t row;
	const struct held *h;
};

static const char *ref_cell(const struct rowref *r, size_t col, size_t *len)
{
	if (r->b)
		return tl_batch_cell(r->b, r->row, col, len);
	if (r->h->len[col] == NULL_CELL) {
		*len = 0;
		return NULL;
	}
	*len = r->h->len[col];
	return r->h->cell[col];
}

/* Compares the pairs; fills d->diff and returns how many differ. content: bytes only. */
static size_t compare(tl_rowdiff *d, const struct rowref *src, const struct rowref *dst, int content)
{
	size_t i, n = 0;

	for (i = 0; i < d->o.npairs; i++) {
		size_t al, bl;
		const char *a = ref_cell(src, d->o.pairs[i].src_col, &al);
		const char *b = ref_cell(dst, d->o.pairs[i].dst_col, &bl);
		int same;

		if (!a || !b)
			same = !a && !b;
		else if (d->o.eq && !content)
			same = d->o.eq(d->o.eq_ctx, i, a, al, b, bl) != 0;
		else
			same = al == bl && memcmp(a, b, al) == 0;
		if (!same)
			d->diff[n++] = i;
	}
	return n;
}

static void unlink_held(tl_rowdiff *d, struct side *s, struct held *h)
{
	struct held **pp = &s->buckets[h->hash & (s->cap - 1)];

	while (*pp != h)
		pp = &(*pp)->hnext;
	*pp = h->hnext;
	if (h->prev)
		h->prev->next = h->next;
	else
		s->head = h->next;
	if (h->next)
		h->next->prev = h->prev;
	else
		s->tail = h->prev;
	s->n--;
	d->pending--;
	d->pending_bytes -= h->size;
}

static int grow_side(struct side *s, tl_error *err)
{
	size_t ncap = s->cap ? 2 * s->cap : 256, i;
	struct held **nb = calloc(ncap, sizeof(*nb));

	if (!nb)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory comparing rows");
	for (i = 0; i < s->cap; i++) {
		struct held *h = s->buckets[i];
		while (h) {
			struct held *next = h->hnext;
			h->hnext = nb[h->hash & (ncap - 1)];
			nb[h->hash & (ncap - 1)] = h;
			h = next;
		}
	}
	free(s->buckets);
	s->buckets = nb;
	s->cap = ncap;
	return 0;
}

/* Copies row `row` of b into the side's table. */
static int hold(tl_rowdiff *d, enum tl_rowdiff_side side, const tl_batch *b, size_t row, const char *key, uint64_t hash,
		tl_error *err)
{
	struct side *s = &d->sides[side];
	size_t klen = key ? strlen(key) + 1 : 0, bytes = 0, i, size;
	struct held *h;
	char *p;
	int rc;

	for (i = 0; i < b->ncols; i++) {
		size_t len;
		if (tl_batch_cell(b, row, i, &len))
			bytes += len + 1;
	}
	size = sizeof(*h) + b->ncols * (sizeof(size_t) + sizeof(char *)) + bytes + klen;
	if (d->pending + 1 > d->o.max_pending || d->pending_bytes + size > d->o.max_pending_bytes)
		return tl_error_set(err, TL_ERR_NOMEM,
				    "more than %zu rows (%zu MiB) of this range are unmatched between source and target; "
				    "compare a smaller range",
				    d->pending, d->pending_bytes >> 20);
	if (2 * (s->n + 1) > s->cap && (rc = grow_side(s, err)))
		return rc;
	if (!(h = malloc(size)))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory comparing rows");
	memset(h, 0, sizeof(*h));
	h->size = size;
	h->hash = hash;
	h->ncols = b->ncols;
	h->len = (size_t *)(h + 1);
	h->cell = (char **)(h->len + b->ncols);
	p = (char *)(h->cell + b->ncols);
	for (i = 0; i < b->ncols; i++) {
		size_t len;
		const char *c = tl_batch_cell(b, row, i, &len);
		if (!c) {
			h->len[i] = NULL_CELL;
			h->cell[i] = NULL;
			continue;
		}
		h->len[i] = len;
		h->cell[i] = p;
		memcpy(p, c, len);
		p[len] = '\0';
		p += len + 1;
	}
	if (key) {
		memcpy(p, key, klen);
		h->key = p;
	}
	h->hnext = s->buckets[hash & (s->cap - 1)];
	s->buckets[hash & (s->cap - 1)] = h;
	h->prev = s->tail;
	if (s->tail)
		s->tail->next = h;
	else
		s->head = h;
	s->tail = h;
	s->n++;
	d->pending++;
	d->pending_bytes += size;
	return 0;
}

/* The held row as a one-row batch in d->scratch. */
static int show(tl_rowdiff *d, const struct held *h, tl_error *err)
{
	size_t i;
	int rc;

	tl_batch_set_ncols(&d->scratch, h->ncols);
	for (i = 0; i < h->ncols; i++)
		if ((rc = tl_batch_push(&d->scratch, h->cell[i], h->len[i] == NULL_CELL ? 0 : h->len[i], h->len[i] == NULL_CELL,
					err)))
			return rc;
	return tl_batch_end_row(&d->scratch, err);
}

/* The oldest held row of side s that is the partner of the incoming row. */
static struct held *find_partner(tl_rowdiff *d, enum tl_rowdiff_side held_side, const struct rowref *in,
				 enum tl_rowdiff_side in_side, const char *key, uint64_t hash)
{
	struct side *s = &d->sides[held_side];
	struct held *h, *found = NULL;

	if (!s->cap)
		return NULL;
	for (h = s->buckets[hash & (s->cap - 1)]; h; h = h->hnext) {
		int match;

		if (h->hash != hash || (key == NULL) != (h->key == NULL))
			continue;
		if (key) {
			match = strcmp(key, h->key) == 0;
		} else {
			struct rowref other = {NULL, 0, h};
			match = compare(d, in_side == TL_ROWDIFF_SOURCE ? in : &other, in_side == TL_ROWDIFF_SOURCE ? &other : in,
					1) == 0;
		}
		if (match)
			found = h; /* chains hold the newest first: the last match is the oldest */
	}
	return found;
}

int tl_rowdiff_new(tl_rowdiff **out, const tl_rowdiff_opts *opts, tl_error *err)
{
	tl_rowdiff *d;

	*out = NULL;
	if (!opts || opts->version != TL_ROWDIFF_OPTS_VERSION || !opts->npairs || !opts->pairs || !opts->on_event)
		return tl_error_set(err, TL_ERR_INTERNAL, "tl_rowdiff_new: bad options");
	if (!(d = calloc(1, sizeof(*d))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	d->o = *opts;
	if (!d->o.max_pending)
		d->o.max_pending = DEFAULT_MAX_PENDING;
	if (!d->o.max_pending_bytes)
		d->o.max_pending_bytes = DEFAULT_MAX_BYTES;
	if (!(d->diff = malloc(opts->npairs * sizeof(*d->diff)))) {
		free(d);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
	tl_batch_init(&d->scratch, 1, 0);
	*out = d;
	return 0;
}

static void free_side(struct side *s)
{
	struct held *h = s->head;

	while (h) {
		struct held *next = h->next;
		free(h);
		h = next;
	}
	free(s->buckets);
	memset(s, 0, sizeof(*s));
}

void tl_rowdiff_free(tl_rowdiff *d)
{
	if (!d)
		return;
	free_side(&d->sides[0]);
	free_side(&d->sides[1]);
	free(d->diff);
	tl_batch_release(&d->scratch);
	free(d);
}

/* Reports a matched pair (or counts it equal) and drops the held partner. */
static int matched(tl_rowdiff *d, enum tl_rowdiff_side in_side, const struct rowref *in, struct held *partner,
		   const char *key, tl_error *err)
{
	struct rowref other = {NULL, 0, partner};
	const struct rowref *src = in_side == TL_ROWDIFF_SOURCE ? in : &other;
	const struct rowref *dst = in_side == TL_ROWDIFF_SOURCE ? &other : in;
	size_t n = key ? compare(d, src, dst, 0) : 0;
	int rc = 0;

	unlink_held(d, &d->sides[!in_side], partner);
	if (n == 0) {
		d->st.equal++;
	} else {
		tl_rowdiff_event ev;

		d->st.differs++;
		if ((rc = show(d, partner, err)))
			goto done;
		memset(&ev, 0, sizeof(ev));
		ev.kind = TL_ROWDIFF_DIFFERS;
		ev.key = key;
		ev.src = in_side == TL_ROWDIFF_SOURCE ? in->b : &d->scratch;
		ev.src_row = in_side == TL_ROWDIFF_SOURCE ? in->row : 0;
		ev.dst = in_side == TL_ROWDIFF_SOURCE ? &d->scratch : in->b;
		ev.dst_row = in_side == TL_ROWDIFF_SOURCE ? 0 : in->row;
		ev.ndiff = n;
		ev.diff = d->diff;
		rc = d->o.on_event(d->o.ctx, &ev, err);
	}
done:
	free(partner);
	return rc;
}

int tl_rowdiff_add(tl_rowdiff *d, enum tl_rowdiff_side side, const tl_batch *b, const char *const *keys, tl_error *err)
{
	size_t row, i;
	int rc;

	if (b->form != TL_BATCH_CELLS)
		return tl_error_set(err, TL_ERR_UNSUPPORTED, "rows can only be compared from cell batches");
	for (i = 0; i < d->o.npairs; i++)
		if (col_of(d, side, i) >= b->ncols)
			return tl_error_set(err, TL_ERR_INTERNAL, "compared column %zu is beyond the %zu columns of the %s rows",
					    col_of(d, side, i), b->ncols, side == TL_ROWDIFF_SOURCE ? "source" : "target");
	for (row = 0; row < b->nrows; row++) {
		struct rowref in = {b, row, NULL};
		const char *key = keys ? keys[row] : NULL;
		uint64_t hash = key ? key_hash(key) : content_hash(d, side, b, row);
		struct held *partner = find_partner(d, (enum tl_rowdiff_side)!side, &in, side, key, hash);

		if (side == TL_ROWDIFF_SOURCE)
			d->st.src_rows++;
		else
			d->st.dst_rows++;
		if (partner)
			rc = matched(d, side, &in, partner, key, err);
		else
			rc = hold(d, side, b, row, key, hash, err);
		if (rc)
			return rc;
	}
	return 0;
}

int tl_rowdiff_finish(tl_rowdiff *d, tl_error *err)
{
	int side, rc;

	for (side = 0; side < 2; side++) {
		struct side *s = &d->sides[side];

		while (s->head) {
			struct held *h = s->head;
			tl_rowdiff_event ev;

			unlink_held(d, s, h);
			if ((rc = show(d, h, err))) {
				free(h);
				return rc;
			}
			memset(&ev, 0, sizeof(ev));
			ev.kind = side == TL_ROWDIFF_SOURCE ? TL_ROWDIFF_MISSING : TL_ROWDIFF_EXTRA;
			ev.key = h->key;
			if (side == TL_ROWDIFF_SOURCE) {
				d->st.missing++;
				ev.src = &d->scratch;
			} else {
				d->st.extra++;
				ev.dst = &d->scratch;
			}
			rc = d->o.on_event(d->o.ctx, &ev, err);
			free(h);
			if (rc)
				return rc;
		}
	}
	return 0;
}

void tl_rowdiff_get_stats(const tl_rowdiff *d, tl_rowdiff_stats *out)
{
	*out = d->st;
	out->pending = d->pending;
}
