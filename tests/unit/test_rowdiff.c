/*
 * test_rowdiff.c - the row comparer of a key range: missing, extra and differing rows
 * (with the differing columns and both full rows) whatever the interleaving and the
 * target's sort order, different column layouts on the two sides, NULLs, rows without a
 * key matched as a multiset, a value-equality callback, the pending limit, bad input, a
 * callback error, and 200,000 rows with scattered differences held in little memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "migrate/rowdiff.h"
#include "tl_test.h"

/* Rows as strings: "1|a|b" (cells split at '|', "~" = NULL). */
static void fill(tl_batch *b, size_t ncols, const char *const *rows, size_t n)
{
	tl_error err = TL_ERROR_INIT;
	size_t i;

	tl_batch_set_ncols(b, ncols);
	for (i = 0; i < n; i++) {
		const char *p = rows[i];
		size_t c;
		for (c = 0; c < ncols; c++) {
			size_t len = strcspn(p, "|");
			int is_null = len == 1 && p[0] == '~';
			if (tl_batch_push(b, is_null ? NULL : p, is_null ? 0 : len, is_null, &err) != 0)
				tl_test_fail(__FILE__, __LINE__, "push: %s", err.message);
			p += len + (p[len] == '|');
		}
		if (tl_batch_end_row(b, &err) != 0)
			tl_test_fail(__FILE__, __LINE__, "end_row: %s", err.message);
	}
}

/* Events rendered as text lines: "D 2 [1] src=2|x|y dst=2|x|z", "M 3 src=…", "E 7 dst=…". */
struct log {
	char text[8192];
	int stop_at; /* return an error at this event (1-based), 0 never */
	int n;
};

static void row_text(char *out, size_t cap, const tl_batch *b, size_t row)
{
	size_t c, used = 0;

	out[0] = '\0';
	for (c = 0; c < b->ncols && used < cap; c++) {
		size_t len;
		const char *v = tl_batch_cell(b, row, c, &len);
		used += (size_t)snprintf(out + used, cap - used, "%s%.*s", c ? "|" : "", v ? (int)len : 1, v ? v : "~");
	}
}

static int on_event(void *ctx, const tl_rowdiff_event *ev, tl_error *err)
{
	struct log *lg = ctx;
	char line[512], s[200] = "", d[200] = "", diffs[64] = "";
	size_t i, used = 0;

	if (ev->src)
		row_text(s, sizeof(s), ev->src, ev->src_row);
	if (ev->dst)
		row_text(d, sizeof(d), ev->dst, ev->dst_row);
	for (i = 0; i < ev->ndiff; i++)
		used += (size_t)snprintf(diffs + used, sizeof(diffs) - used, "%s%zu", i ? "," : "", ev->diff[i]);
	snprintf(line, sizeof(line), "%c %s%s%s%s%s%s%s\n",
		 ev->kind == TL_ROWDIFF_DIFFERS ? 'D' : ev->kind == TL_ROWDIFF_MISSING ? 'M' : 'E', ev->key ? ev->key : "-",
		 ev->ndiff ? " [" : "", diffs, ev->ndiff ? "]" : "", ev->src ? " src=" : "", s, ev->dst ? " dst=" : "");
	strncat(lg->text, line, sizeof(lg->text) - strlen(lg->text) - 1);
	if (ev->dst) {
		lg->text[strlen(lg->text) - 1] = '\0';
		strncat(lg->text, d, sizeof(lg->text) - strlen(lg->text) - 1);
		strncat(lg->text, "\n", sizeof(lg->text) - strlen(lg->text) - 1);
	}
	if (++lg->n == lg->stop_at)
		return tl_error_set(err, TL_ERR_IO, "callback failed at event %d", lg->n);
	return 0;
}

static const tl_rowdiff_pair same3[3] = {{0, 0}, {1, 1}, {2, 2}};

static tl_rowdiff *mk(const tl_rowdiff_pair *pairs, size_t n, struct log *lg)
{
	tl_rowdiff_opts o = TL_ROWDIFF_OPTS_INIT;
	tl_rowdiff *d = NULL;
	tl_error err = TL_ERROR_INIT;

	o.npairs = n;
	o.pairs = pairs;
	o.on_event = on_event;
	o.ctx = lg;
	if (tl_rowdiff_new(&d, &o, &err) != 0)
		tl_test_fail(__FILE__, __LINE__, "new: %s", err.message);
	return d;
}

TL_TEST(missing_extra_differing)
{
	const char *src1[3] = {"1|a|b", "2|a|b", "3|a|b"}, *k1[3] = {"1", "2", "3"};
	const char *src2[3] = {"4|a|b", "5|a|b", "6|a|b"}, *k2[3] = {"4", "5", "6"};
	const char *dst1[2] = {"1|a|b", "2|a|x"}, *kd1[2] = {"1", "2"};
	const char *dst2[3] = {"4|a|b", "5|q|~", "7|a|b"}, *kd2[3] = {"4", "5", "7"};
	struct log lg;
	tl_batch b;
	tl_error err = TL_ERROR_INIT;
	tl_rowdiff_stats st;
	tl_rowdiff *d;

	memset(&lg, 0, sizeof(lg));
	tl_batch_init(&b, 3, 0);
	d = mk(same3, 3, &lg);
	if (!d)
		return;
	/* source ahead of target, then target ahead: both orders of arrival match */
	fill(&b, 3, src1, 3);
	TL_CHECK_OK(tl_rowdiff_add(d, TL_ROWDIFF_SOURCE, &b, k1, &err), &err);
	fill(&b, 3, dst1, 2);
	TL_CHECK_OK(tl_rowdiff_add(d, TL_ROWDIFF_TARGET, &b, kd1, &err), &err);
	fill(&b, 3, dst2, 3);
	TL_CHECK_OK(tl_rowdiff_add(d, TL_ROWDIFF_TARGET, &b, kd2, &err), &err);
	fill(&b, 3, src2, 3);
	TL_CHECK_OK(tl_rowdiff_add(d, TL_ROWDIFF_SOURCE, &b, k2, &err), &err);
	tl_rowdiff_get_stats(d, &st);
	TL_CHECK_EQ_INT(st.pending, 3); /* 3, 6 and 7 wait */
	TL_CHECK_OK(tl_rowdiff_finish(d, &err), &err);
	TL_CHECK_EQ_STR(lg.text, "D 2 [2] src=2|a|b dst=2|a|x\n"
				 "D 5 [1,2] src=5|a|b dst=5|q|~\n"
				 "M 3 src=3|a|b\n"
				 "M 6 src=6|a|b\n"
				 "E 7 dst=7|a|b\n");
	tl_rowdiff_get_stats(d, &st);
	TL_CHECK_EQ_INT(st.src_rows, 6);
	TL_CHECK_EQ_INT(st.dst_rows, 5);
	TL_CHECK_EQ_INT(st.equal, 2);
	TL_CHECK_EQ_INT(st.differs, 2);
	TL_CHECK_EQ_INT(st.missing, 2);
	TL_CHECK_EQ_INT(st.extra, 1);
	TL_CHECK_EQ_INT(st.pending, 0);
	tl_rowdiff_free(d);
	tl_batch_release(&b);
}

TL_TEST(other_target_order_and_layout)
{
	/* source (id, a, b, c) with c ignored; target (b2, id, a) sorted the other way round */
	const tl_rowdiff_pair pairs[3] = {{0, 1}, {1, 2}, {2, 0}};
	const char *src[4] = {"A|1|x|ignored", "B|2|y|ignored", "a|3|z|ignored", "b|4|w|ignored"};
	const char *ks[4] = {"A", "B", "a", "b"};
	const char *dst[4] = {"w|b|4", "z|a|3", "Y|B|2", "x|A|1"}, *kd[4] = {"b", "a", "B", "A"};
	struct log lg;
	tl_batch b;
	tl_error err = TL_ERROR_INIT;
	tl_rowdiff *d;

	memset(&lg, 0, sizeof(lg));
	tl_batch_init(&b, 4, 0);
	d = mk(pairs, 3, &lg);
	if (!d)
		return;
	fill(&b, 4, src, 4);
	TL_CHECK_OK(tl_rowdiff_add(d, TL_ROWDIFF_SOURCE, &b, ks, &err), &err);
	fill(&b, 3, dst, 4);
	TL_CHECK_OK(tl_rowdiff_add(d, TL_ROWDIFF_TARGET, &b, kd, &err), &err);
	TL_CHECK_OK(tl_rowdiff_finish(d, &err), &err);
	/* the held source row is shown with all its columns; the pair index names b/b2 */
	TL_CHECK_EQ_STR(lg.text, "D B [2] src=B|2|y|ignored dst=Y|B|2\n");
	tl_rowdiff_free(d);
	tl_batch_release(&b);
}

TL_TEST(nulls)
{
	const tl_rowdiff_pair pairs[2] = {{0, 0}, {1, 1}};
	const char *src[3] = {"1|~", "2|~", "3|v"}, *k[3] = {"1", "2", "3"};
	const char *dst[3] = {"1|~", "2|", "3|~"};
	struct log lg;
	tl_batch b;
	tl_error err = TL_ERROR_INIT;
	tl_rowdiff *d;

	memset(&lg, 0, sizeof(lg));
	tl_batch_init(&b, 2, 0);
	d = mk(pairs, 2, &lg);
	if (!d)
		return;
	fill(&b, 2, src, 3);
	TL_CHECK_OK(tl_rowdiff_add(d, TL_ROWDIFF_SOURCE, &b, k, &err), &err);
	fill(&b, 2, dst, 3);
	TL_CHECK_OK(tl_rowdiff_add(d, TL_ROWDIFF_TARGET, &b, k, &err), &err);
	TL_CHECK_OK(tl_rowdiff_finish(d, &err), &err);
	/* NULL = NULL; NULL differs from the empty string; a value differs from NULL */
	TL_CHECK_EQ_STR(lg.text, "D 2 [1] src=2|~ dst=2|\nD 3 [1] src=3|v dst=3|~\n");
	tl_rowdiff_free(d);
	tl_batch_release(&b);
}

TL_TEST(rows_without_key_are_a_multiset)
{
	/* NULL keys (keyless table or a NULL in a nullable unique key): matched by content */
	const tl_rowdiff_pair pairs[2] = {{0, 0}, {1, 1}};
	const char *src[4] = {"~|x", "~|x", "~|y", "5|k"}, *ks[4] = {NULL, NULL, NULL, "5"};
	const char *dst[4] = {"~|y", "~|x", "~|y", "5|k"}, *kd[4] = {NULL, NULL, NULL, "5"};
	struct log lg;
	tl_batch b;
	tl_error err = TL_ERROR_INIT;
	tl_rowdiff_stats st;
	tl_rowdiff *d;

	memset(&lg, 0, sizeof(lg));
	tl_batch_init(&b, 2, 0);
	d = mk(pairs, 2, &lg);
	if (!d)
		return;
	fill(&b, 2, src, 4);
	TL_CHECK_OK(tl_rowdiff_add(d, TL_ROWDIFF_SOURCE, &b, ks, &err), &err);
	fill(&b, 2, dst, 4);
	TL_CHECK_OK(tl_rowdiff_add(d, TL_ROWDIFF_TARGET, &b, kd, &err), &err);
	TL_CHECK_OK(tl_rowdiff_finish(d, &err), &err);
	TL_CHECK_EQ_STR(lg.text, "M - src=~|x\nE - dst=~|y\n");
	tl_rowdiff_get_stats(d, &st);
	TL_CHECK_EQ_INT(st.equal, 3);
	tl_rowdiff_free(d);
	tl_batch_release(&b);

	/* keys NULL for the whole batch: every row is matched by content */
	memset(&lg, 0, sizeof(lg));
	tl_batch_init(&b, 2, 0);
	d = mk(pairs, 2, &lg);
	fill(&b, 2, src, 3);
	TL_CHECK_OK(tl_rowdiff_add(d, TL_ROWDIFF_SOURCE, &b, NULL, &err), &err);
	fill(&b, 2, src, 3);
	TL_CHECK_OK(tl_rowdiff_add(d, TL_ROWDIFF_TARGET, &b, NULL, &err), &err);
	TL_CHECK_OK(tl_rowdiff_finish(d, &err), &err);
	TL_CHECK_EQ_STR(lg.text, "");
	tl_rowdiff_free(d);
	tl_batch_release(&b);
}

static int casefold_eq(void *ctx, size_t pair, const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	(void)ctx;
	if (pair != 1 || alen != blen)
		return alen == blen && memcmp(a, b, alen) == 0;
	for (i = 0; i < alen; i++)
		if ((a[i] | 0x20) != (b[i] | 0x20))
			return 0;
	return 1;
}

TL_TEST(value_equality_callback)
{
	const tl_rowdiff_pair pairs[2] = {{0, 0}, {1, 1}};
	const char *src[2] = {"1|Abc", "2|abc"}, *dst[2] = {"1|aBC", "2|abd"}, *k[2] = {"1", "2"};
	tl_rowdiff_opts o = TL_ROWDIFF_OPTS_INIT;
	struct log lg;
	tl_batch b;
	tl_error err = TL_ERROR_INIT;
	tl_rowdiff *d = NULL;

	memset(&lg, 0, sizeof(lg));
	o.npairs = 2;
	o.pairs = pairs;
	o.on_event = on_event;
	o.ctx = &lg;
	o.eq = casefold_eq;
	TL_CHECK_OK(tl_rowdiff_new(&d, &o, &err), &err);
	tl_batch_init(&b, 2, 0);
	fill(&b, 2, src, 2);
	TL_CHECK_OK(tl_rowdiff_add(d, TL_ROWDIFF_SOURCE, &b, k, &err), &err);
	fill(&b, 2, dst, 2);
	TL_CHECK_OK(tl_rowdiff_add(d, TL_ROWDIFF_TARGET, &b, k, &err), &err);
	TL_CHECK_OK(tl_rowdiff_finish(d, &err), &err);
	TL_CHECK_EQ_STR(lg.text, "D 2 [1] src=2|abc dst=2|abd\n");
	tl_rowdiff_free(d);
	tl_batch_release(&b);
}

TL_TEST(limits_and_bad_input)
{
	const tl_rowdiff_pair pairs[1] = {{0, 0}}, far[1] = {{0, 5}};
	const char *rows[3] = {"1", "2", "3"}, *k[3] = {"1", "2", "3"};
	tl_rowdiff_opts o = TL_ROWDIFF_OPTS_INIT;
	struct log lg;
	tl_batch b;
	tl_error err = TL_ERROR_INIT;
	tl_rowdiff *d = NULL;

	memset(&lg, 0, sizeof(lg));
	tl_batch_init(&b, 1, 0);
	TL_CHECK_EQ_INT(tl_rowdiff_new(&d, &o, &err), TL_ERR_INTERNAL);
	o.npairs = 1;
	o.pairs = pairs;
	o.on_event = on_event;
	o.ctx = &lg;
	o.max_pending = 2;
	TL_CHECK_OK(tl_rowdiff_new(&d, &o, &err), &err);
	fill(&b, 1, rows, 3);
	TL_CHECK_EQ_INT(tl_rowdiff_add(d, TL_ROWDIFF_SOURCE, &b, k, &err), TL_ERR_NOMEM);
	TL_CHECK_EQ_STR(err.message, "more than 2 rows (0 MiB) of this range are unmatched between source and target; "
				     "compare a smaller range");
	b.form = TL_BATCH_NATIVE;
	TL_CHECK_EQ_INT(tl_rowdiff_add(d, TL_ROWDIFF_TARGET, &b, k, &err), TL_ERR_UNSUPPORTED);
	b.form = TL_BATCH_CELLS;
	tl_rowdiff_free(d);

	o.pairs = far;
	o.max_pending = 0;
	TL_CHECK_OK(tl_rowdiff_new(&d, &o, &err), &err);
	TL_CHECK_EQ_INT(tl_rowdiff_add(d, TL_ROWDIFF_TARGET, &b, k, &err), TL_ERR_INTERNAL);
	TL_CHECK_EQ_STR(err.message, "compared column 5 is beyond the 1 columns of the target rows");
	TL_CHECK_OK(tl_rowdiff_add(d, TL_ROWDIFF_SOURCE, &b, k, &err), &err);
	tl_rowdiff_free(d);

	/* a callback error stops and is returned */
	o.pairs = pairs;
	lg.stop_at = 2;
	TL_CHECK_OK(tl_rowdiff_new(&d, &o, &err), &err);
	TL_CHECK_OK(tl_rowdiff_add(d, TL_ROWDIFF_SOURCE, &b, k, &err), &err);
	TL_CHECK_EQ_INT(tl_rowdiff_finish(d, &err), TL_ERR_IO);
	TL_CHECK_EQ_STR(err.message, "callback failed at event 2");
	tl_rowdiff_free(d);
	tl_rowdiff_free(NULL);
	tl_batch_release(&b);
}

/* Counts events of a large comparison without keeping their text. */
struct counts {
	uint64_t differs, missing, extra, bad;
};

static int count_event(void *ctx, const tl_rowdiff_event *ev, tl_error *err)
{
	struct counts *c = ctx;
	size_t len;
	const char *id = ev->src ? tl_batch_cell(ev->src, ev->src_row, 0, &len) : tl_batch_cell(ev->dst, ev->dst_row, 0, &len);

	(void)err;
	if (ev->kind == TL_ROWDIFF_DIFFERS) {
		c->differs++;
		if (atoi(id) % 97 != 0 || ev->ndiff != 1 || ev->diff[0] != 1)
			c->bad++;
	} else if (ev->kind == TL_ROWDIFF_MISSING) {
		c->missing++;
		if (atoi(id) % 101 != 0)
			c->bad++;
	} else {
		c->extra++;
		if (atoi(id) < 200000)
			c->bad++;
	}
	return 0;
}

TL_TEST(two_hundred_thousand_rows)
{
	/* ids 0 … 199,999 on the source; the target lacks every 101st, changes every 97th
	 * and has 500 more at the end; both read in batches of 1000, alternately */
	enum { N = 200000, BATCH = 1000 };
	const tl_rowdiff_pair pairs[2] = {{0, 0}, {1, 1}};
	tl_rowdiff_opts o = TL_ROWDIFF_OPTS_INIT;
	struct counts c = {0, 0, 0, 0};
	tl_batch bs, bd;
	char **ks = calloc(BATCH, sizeof(char *)), **kd = calloc(BATCH, sizeof(char *));
	tl_error err = TL_ERROR_INIT;
	tl_rowdiff *d = NULL;
	tl_rowdiff_stats st;
	size_t max_pending = 0;
	int s = 0, t = 0, i;

	o.npairs = 2;
	o.pairs = pairs;
	o.on_event = count_event;
	o.ctx = &c;
	TL_CHECK_OK(tl_rowdiff_new(&d, &o, &err), &err);
	tl_batch_init(&bs, 2, 0);
	tl_batch_init(&bd, 2, 0);
	for (i = 0; i < BATCH; i++) {
		ks[i] = malloc(16);
		kd[i] = malloc(16);
	}
	while (s < N || t < N + 500) {
		int n;
		tl_batch_reset(&bs);
		for (n = 0; n < BATCH && s < N; n++, s++) {
			char v[32];
			snprintf(ks[n], 16, "%d", s);
			snprintf(v, sizeof(v), "value %d", s);
			if (tl_batch_push(&bs, ks[n], strlen(ks[n]), 0, &err) || tl_batch_push(&bs, v, strlen(v), 0, &err) ||
			    tl_batch_end_row(&bs, &err))
				break;
		}
		TL_CHECK_OK(tl_rowdiff_add(d, TL_ROWDIFF_SOURCE, &bs, (const char *const *)ks, &err), &err);
		tl_batch_reset(&bd);
		for (n = 0; n < BATCH && t < N + 500; t++) {
			char v[32];
			if (t < N && t % 101 == 0)
				continue;
			snprintf(kd[n], 16, "%d", t);
			snprintf(v, sizeof(v), t < N && t % 97 == 0 ? "changed %d" : "value %d", t);
			if (tl_batch_push(&bd, kd[n], strlen(kd[n]), 0, &err) || tl_batch_push(&bd, v, strlen(v), 0, &err) ||
			    tl_batch_end_row(&bd, &err))
				break;
			n++;
		}
		TL_CHECK_OK(tl_rowdiff_add(d, TL_ROWDIFF_TARGET, &bd, (const char *const *)kd, &err), &err);
		tl_rowdiff_get_stats(d, &st);
		if (st.pending > max_pending)
			max_pending = st.pending;
	}
	TL_CHECK_OK(tl_rowdiff_finish(d, &err), &err);
	tl_rowdiff_get_stats(d, &st);
	TL_CHECK_EQ_INT(c.missing, (N + 100) / 101);
	TL_CHECK_EQ_INT(c.differs, (N + 96) / 97 - (N + 101 * 97 - 1) / (101 * 97));
	TL_CHECK_EQ_INT(c.extra, 500);
	TL_CHECK_EQ_INT(c.bad, 0);
	TL_CHECK_EQ_INT(st.equal + st.differs + st.missing, N);
	/* fixed-size batches let the target run ahead by the rows it lacks (about 2,000 ids by
	 * the end): that many rows wait, never the table */
	TL_CHECK_MSG(max_pending < N / 40, "up to %zu rows held", max_pending);
	printf("    200000 rows: %llu differ, %llu missing, %llu extra, at most %zu held\n", (unsigned long long)c.differs,
	       (unsigned long long)c.missing, (unsigned long long)c.extra, max_pending);
	tl_rowdiff_free(d);
	tl_batch_release(&bs);
	tl_batch_release(&bd);
	for (i = 0; i < BATCH; i++) {
		free(ks[i]);
		free(kd[i]);
	}
	free(ks);
	free(kd);
}
