/*
 * checklog.c - writes ape-dts' check logs (include/tideline/checklog.h): the line and
 * summary formats, and the writer that owns the files of one check run.
 *
 * The formats reproduce ape-dts' serde output (check_log.rs at 2.0.26 and 2.0.25):
 * struct fields in declaration order, optional fields left out when empty, the two maps
 * (id_col_values, diff_col_values) sorted by key as a BTreeMap sorts (byte order), and
 * strings escaped by tl_pos_put_json_string exactly as position.log's are.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tideline/checklog.h"
#include "tideline/position.h"

#define DEFAULT_MAX_ROWS 1000
#define DEFAULT_MAX_BYTES ((uint64_t)100 << 20)

static int put_str(tl_buf *b, const char *s, tl_error *err)
{
	return s ? tl_pos_put_json_string(b, s, strlen(s), err) : tl_buf_put(b, "null", 4, err);
}

/* ,"name":"value" */
static int put_field(tl_buf *b, const char *name, const char *value, tl_error *err)
{
	int rc;

	if ((rc = tl_buf_printf(b, err, ",\"%s\":", name)))
		return rc;
	return put_str(b, value, err);
}

static int put_count(tl_buf *b, const char *name, uint64_t v, tl_error *err)
{
	return tl_buf_printf(b, err, ",\"%s\":%llu", name, (unsigned long long)v);
}

/* Both target names when either differs from the source, else neither. */
static void target_of(const char *schema, const char *tb, const char *ts, const char *tt, const char **os,
		      const char **ot)
{
	if (!ts)
		ts = schema;
	if (!tt)
		tt = tb;
	if (strcmp(ts, schema) == 0 && strcmp(tt, tb) == 0)
		ts = tt = NULL;
	*os = ts;
	*ot = tt;
}

static int put_names(tl_buf *b, const char *schema, const char *tb, const char *ts, const char *tt, tl_error *err)
{
	int rc;

	/* "schema":S,"tb":T (no leading comma) */
	if ((rc = tl_buf_puts(b, "\"schema\":", err)) || (rc = put_str(b, schema, err)) ||
	    (rc = put_field(b, "tb", tb, err)))
		return rc;
	target_of(schema, tb, ts, tt, &ts, &tt);
	if (ts && ((rc = put_field(b, "target_schema", ts, err)) || (rc = put_field(b, "target_tb", tt, err))))
		return rc;
	return 0;
}

/* Index order that sorts names bytewise (names are few: insertion sort). */
static int sorted_order(size_t n, const char *const *names, size_t **out, tl_error *err)
{
	size_t *o = malloc((n ? n : 1) * sizeof(*o)), i, j;

	*out = NULL;
	if (!o)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory writing a check log");
	for (i = 0; i < n; i++) {
		size_t v = i;
		for (j = i; j > 0 && strcmp(names[o[j - 1]], names[v]) > 0; j--)
			o[j] = o[j - 1];
		o[j] = v;
	}
	*out = o;
	return 0;
}

static int put_id_values(tl_buf *b, const tl_checklog_row *row, tl_error *err)
{
	size_t *o = NULL, i;
	int rc;

	if ((rc = sorted_order(row->nkeys, row->key_cols, &o, err)) || (rc = tl_buf_puts(b, ",\"id_col_values\":{", err)))
		goto cleanup;
	for (i = 0; i < row->nkeys && !rc; i++) {
		if ((i && (rc = tl_buf_putc(b, ',', err))) || (rc = put_str(b, row->key_cols[o[i]], err)) ||
		    (rc = tl_buf_putc(b, ':', err)) || (rc = put_str(b, row->key_vals ? row->key_vals[o[i]] : NULL, err)))
			goto cleanup;
	}
	rc = tl_buf_putc(b, '}', err);
cleanup:
	free(o);
	return rc;
}

static int put_diff_values(tl_buf *b, enum tl_checklog_style style, const tl_checklog_row *row, tl_error *err)
{
	const char **names = malloc((row->ndiff ? row->ndiff : 1) * sizeof(*names));
	size_t *o = NULL, i;
	int rc;

	if (!names)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory writing a check log");
	for (i = 0; i < row->ndiff; i++)
		names[i] = row->diffs[i].col;
	if ((rc = sorted_order(row->ndiff, names, &o, err)) || (rc = tl_buf_puts(b, ",\"diff_col_values\":{", err)))
		goto cleanup;
	for (i = 0; i < row->ndiff; i++) {
		const tl_checklog_diff *d = &row->diffs[o[i]];
		if ((i && (rc = tl_buf_putc(b, ',', err))) || (rc = put_str(b, d->col, err)) ||
		    (rc = tl_buf_puts(b, ":{\"src\":", err)) || (rc = put_str(b, d->src, err)) ||
		    (rc = put_field(b, "dst", d->dst, err)))
			goto cleanup;
		if (style == TL_CHECKLOG_CURRENT &&
		    ((d->src_type && (rc = put_field(b, "src_type", d->src_type, err))) ||
		     (d->dst_type && (rc = put_field(b, "dst_type", d->dst_type, err)))))
			goto cleanup;
		if ((rc = tl_buf_putc(b, '}', err)))
			goto cleanup;
	}
	rc = tl_buf_putc(b, '}', err);
cleanup:
	free(names);
	free(o);
	return rc;
}

int tl_checklog_format_row(tl_buf *out, enum tl_checklog_style style, enum tl_checklog_kind kind,
			   const tl_checklog_row *row, tl_error *err)
{
	size_t mark = out->len;
	int rc;

	if (style == TL_CHECKLOG_V25) {
		const char *type = kind == TL_CHECKLOG_DIFF ? "Diff" : kind == TL_CHECKLOG_MISS ? "Miss" : "Extra";
		tl_checklog_row plain = *row;

		plain.target_schema = plain.target_tb = NULL;
		if (kind != TL_CHECKLOG_DIFF)
			plain.ndiff = 0;
		if ((rc = tl_buf_printf(out, err, "{\"log_type\":\"%s\",", type)) ||
		    (rc = put_names(out, row->schema, row->tb, NULL, NULL, err)) || (rc = put_id_values(out, &plain, err)) ||
		    (rc = put_diff_values(out, style, &plain, err)))
			goto fail;
	} else {
		if ((rc = tl_buf_putc(out, '{', err)) ||
		    (rc = put_names(out, row->schema, row->tb, row->target_schema, row->target_tb, err)))
			goto fail;
		if ((rc = put_id_values(out, row, err)) ||
		    (kind == TL_CHECKLOG_DIFF && row->ndiff && (rc = put_diff_values(out, style, row, err))))
			goto fail;
	}
	if ((rc = tl_buf_puts(out, "}\n", err)))
		goto fail;
	return 0;
fail:
	tl_buf_truncate(out, mark);
	return rc;
}

static int table_cmp_names(const tl_checklog_table *a, const tl_checklog_table *b)
{
	const char *as, *at, *bs, *bt;
	int c;

	if ((c = strcmp(a->schema, b->schema)) || (c = strcmp(a->tb, b->tb)))
		return c;
	target_of(a->schema, a->tb, a->target_schema, a->target_tb, &as, &at);
	target_of(b->schema, b->tb, b->target_schema, b->target_tb, &bs, &bt);
	/* Rust orders None before Some */
	if (!as || !bs)
		return (as != NULL) - (bs != NULL);
	if ((c = strcmp(as, bs)))
		return c;
	return strcmp(at, bt);
}

static int table_ptr_cmp(const void *a, const void *b)
{
	return table_cmp_names(*(const tl_checklog_table *const *)a, *(const tl_checklog_table *const *)b);
}

static int put_counts(tl_buf *b, uint64_t checked, uint64_t miss, uint64_t diff, uint64_t skip, uint64_t extra,
		      tl_error *err)
{
	int rc;

	if ((rc = put_count(b, "checked_count", checked, err)) || (rc = put_count(b, "miss_count", miss, err)) ||
	    (rc = put_count(b, "diff_count", diff, err)) || (rc = put_count(b, "skip_count", skip, err)))
		return rc;
	return extra ? put_count(b, "extra_count", extra, err) : 0;
}

int tl_checklog_format_summary(tl_buf *out, const tl_checklog_summary *s, tl_error *err)
{
	const tl_checklog_table **t = NULL;
	int consistent = !s->miss && !s->diff && !s->skip && !s->extra;
	size_t mark = out->len, i;
	int rc;

	if (s->ntables && !(t = malloc(s->ntables * sizeof(*t))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory writing summary.log");
	for (i = 0; i < s->ntables; i++)
		t[i] = &s->tables[i];
	if (s->ntables > 1)
		qsort(t, s->ntables, sizeof(*t), table_ptr_cmp);
	if ((rc = tl_buf_puts(out, "{\"start_time\":", err)) || (rc = put_str(out, s->start_time ? s->start_time : "", err)) ||
	    (rc = put_field(out, "end_time", s->end_time ? s->end_time : "", err)) ||
	    (rc = tl_buf_printf(out, err, ",\"is_consistent\":%s", consistent ? "true" : "false")) ||
	    (rc = put_counts(out, s->checked, s->miss, s->diff, s->skip, s->extra, err)))
		goto cleanup;
	if (s->ntables && (rc = tl_buf_puts(out, ",\"tables\":[", err)))
		goto cleanup;
	for (i = 0; i < s->ntables; i++) {
		const tl_checklog_table *x = t[i];
		if ((rc = tl_buf_puts(out, i ? ",{\"schema\":" : "{\"schema\":", err)) || (rc = put_str(out, x->schema, err)) ||
		    (rc = put_field(out, "tb", x->tb, err)))
			goto cleanup;
		{
			const char *ts, *tt;
			target_of(x->schema, x->tb, x->target_schema, x->target_tb, &ts, &tt);
			if (ts && ((rc = put_field(out, "target_schema", ts, err)) || (rc = put_field(out, "target_tb", tt, err))))
				goto cleanup;
		}
		if ((rc = put_counts(out, x->checked, x->miss, x->diff, x->skip, x->extra, err)) ||
		    (rc = tl_buf_putc(out, '}', err)))
			goto cleanup;
	}
	if (s->ntables && (rc = tl_buf_putc(out, ']', err)))
		goto cleanup;
	rc = tl_buf_puts(out, "}\n", err);
cleanup:
	free(t);
	if (rc)
		tl_buf_truncate(out, mark);
	return rc;
}

void tl_checklog_time(char out[40], const struct timespec *ts)
{
	struct tm tm;
	long us = ts->tv_nsec / 1000, off;
	char frac[8] = "";
	size_t n;

	localtime_r(&ts->tv_sec, &tm);
	if (us % 1000000 == 0)
		frac[0] = '\0';
	else if (us % 1000 == 0)
		snprintf(frac, sizeof(frac), ".%03ld", us / 1000);
	else
		snprintf(frac, sizeof(frac), ".%06ld", us);
	n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	off = tm.tm_gmtoff;
	snprintf(out + n, 40 - n, "%s%c%02ld:%02ld", frac, off < 0 ? '-' : '+', labs(off) / 3600, labs(off) % 3600 / 60);
}

/* ---- the writer ------------------------------------------------------------------------ */

struct tally {
	tl_checklog_table t; /* names owned here */
	int used;
};

struct rowlog {
	const char *name; /* "miss.log" */
	char *path;
	FILE *fp;
	size_t rows;
	uint64_t bytes;
};

struct tl_checklog {
	pthread_mutex_t mu;
	enum tl_checklog_style style;
	size_t max_rows;
	uint64_t max_bytes;
	char *dir;
	char start[40];
	struct rowlog logs[3]; /* by tl_checklog_kind */
	struct tally *tab;     /* open addressing, cap a power of two */
	size_t ntab, cap;
	uint64_t checked, miss, diff, skip, extra;
	tl_buf line;
};

static const char *const log_names[3] = {"miss.log", "diff.log", "extra.log"};

static uint64_t hash_str(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (h ^ 0xff) * 1099511628211ull;
}

static uint64_t tally_hash(const char *schema, const char *tb, const char *ts, const char *tt)
{
	return hash_str(hash_str(hash_str(hash_str(1469598103934665603ull, schema), tb), ts), tt);
}

static int same_opt(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static int tally_grow(tl_checklog *cl, tl_error *err)
{
	size_t ncap = cl->cap ? 2 * cl->cap : 64, i;
	struct tally *nt = calloc(ncap, sizeof(*nt));

	if (!nt)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory counting checked tables");
	for (i = 0; i < cl->cap; i++) {
		const tl_checklog_table *x = &cl->tab[i].t;
		size_t j;
		if (!cl->tab[i].used)
			continue;
		j = (size_t)tally_hash(x->schema, x->tb, x->target_schema, x->target_tb) & (ncap - 1);
		while (nt[j].used)
			j = (j + 1) & (ncap - 1);
		nt[j] = cl->tab[i];
	}
	free(cl->tab);
	cl->tab = nt;
	cl->cap = ncap;
	return 0;
}

/* The counts of a (source, target) table, created on first use. Called under the mutex. */
static int tally_get(tl_checklog *cl, const char *schema, const char *tb, const char *ts, const char *tt,
		     tl_checklog_table **out, tl_error *err)
{
	size_t j;
	int rc;

	target_of(schema, tb, ts, tt, &ts, &tt);
	if (2 * (cl->ntab + 1) > cl->cap && (rc = tally_grow(cl, err)))
		return rc;
	j = (size_t)tally_hash(schema, tb, ts, tt) & (cl->cap - 1);
	for (; cl->tab[j].used; j = (j + 1) & (cl->cap - 1)) {
		tl_checklog_table *x = &cl->tab[j].t;
		if (strcmp(x->schema, schema) == 0 && strcmp(x->tb, tb) == 0 && same_opt(x->target_schema, ts) &&
		    same_opt(x->target_tb, tt)) {
			*out = x;
			return 0;
		}
	}
	{
		tl_checklog_table *x = &cl->tab[j].t;
		x->schema = tl_strdup(schema);
		x->tb = tl_strdup(tb);
		x->target_schema = ts ? tl_strdup(ts) : NULL;
		x->target_tb = tt ? tl_strdup(tt) : NULL;
		if (!x->schema || !x->tb || (ts && !x->target_schema) || (tt && !x->target_tb)) {
			free((char *)x->schema);
			free((char *)x->tb);
			free((char *)x->target_schema);
			free((char *)x->target_tb);
			memset(x, 0, sizeof(*x));
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory counting checked tables");
		}
		cl->tab[j].used = 1;
		cl->ntab++;
		*out = x;
	}
	return 0;
}

static void free_all(tl_checklog *cl)
{
	size_t i;

	for (i = 0; i < 3; i++) {
		if (cl->logs[i].fp)
			fclose(cl->logs[i].fp);
		free(cl->logs[i].path);
	}
	for (i = 0; i < cl->cap; i++) {
		if (!cl->tab[i].used)
			continue;
		free((char *)cl->tab[i].t.schema);
		free((char *)cl->tab[i].t.tb);
		free((char *)cl->tab[i].t.target_schema);
		free((char *)cl->tab[i].t.target_tb);
	}
	free(cl->tab);
	free(cl->dir);
	tl_buf_release(&cl->line);
	pthread_mutex_destroy(&cl->mu);
	free(cl);
}

static char *join_path(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

int tl_checklog_open(tl_checklog **out, const tl_checklog_opts *opts, tl_error *err)
{
	tl_checklog *cl;
	struct timespec now;
	size_t i;

	*out = NULL;
	if (!opts || opts->version != TL_CHECKLOG_OPTS_VERSION || !opts->dir || !*opts->dir)
		return tl_error_set(err, TL_ERR_INTERNAL, "tl_checklog_open: bad options");
	if (mkdir(opts->dir, 0755) != 0 && errno != EEXIST)
		return tl_error_set(err, TL_ERR_IO, "cannot create check log directory '%s': %s", opts->dir, strerror(errno));
	if (!(cl = calloc(1, sizeof(*cl))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&cl->mu, NULL);
	cl->style = opts->style;
	cl->max_rows = opts->max_rows ? opts->max_rows : DEFAULT_MAX_ROWS;
	cl->max_bytes = opts->max_bytes ? opts->max_bytes : DEFAULT_MAX_BYTES;
	tl_buf_init(&cl->line, 0);
	clock_gettime(CLOCK_REALTIME, &now);
	tl_checklog_time(cl->start, &now);
	if (!(cl->dir = tl_strdup(opts->dir)))
		goto nomem;
	for (i = 0; i < 3; i++) {
		cl->logs[i].name = log_names[i];
		if (!(cl->logs[i].path = join_path(opts->dir, log_names[i])))
			goto nomem;
		if (!(cl->logs[i].fp = fopen(cl->logs[i].path, "w"))) {
			int rc = tl_error_set(err, TL_ERR_IO, "cannot create '%s': %s", cl->logs[i].path, strerror(errno));
			free_all(cl);
			return rc;
		}
	}
	*out = cl;
	return 0;
nomem:
	free_all(cl);
	return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
}

int tl_checklog_add(tl_checklog *cl, enum tl_checklog_kind kind, const tl_checklog_row *row, tl_error *err)
{
	struct rowlog *lg = &cl->logs[kind];
	tl_checklog_table *t;
	int rc;

	pthread_mutex_lock(&cl->mu);
	if ((rc = tally_get(cl, row->schema, row->tb, row->target_schema, row->target_tb, &t, err)))
		goto done;
	if (kind == TL_CHECKLOG_MISS) {
		t->miss++;
		cl->miss++;
	} else if (kind == TL_CHECKLOG_DIFF) {
		t->diff++;
		cl->diff++;
	} else {
		t->extra++;
		cl->extra++;
	}
	tl_buf_reset(&cl->line);
	if ((rc = tl_checklog_format_row(&cl->line, cl->style, kind, row, err)))
		goto done;
	if (lg->rows >= cl->max_rows || lg->bytes + cl->line.len > cl->max_bytes)
		goto done; /* past the limit: counted, not written (as ape-dts' filters do) */
	if (fwrite(cl->line.data, 1, cl->line.len, lg->fp) != cl->line.len || fflush(lg->fp) != 0) {
		rc = tl_error_set(err, TL_ERR_IO, "cannot write '%s': %s", lg->path, strerror(errno));
		goto done;
	}
	lg->rows++;
	lg->bytes += cl->line.len;
done:
	pthread_mutex_unlock(&cl->mu);
	return rc;
}

int tl_checklog_count(tl_checklog *cl, const char *schema, const char *tb, const char *target_schema,
		      const char *target_tb, uint64_t checked, uint64_t skipped, tl_error *err)
{
	tl_checklog_table *t;
	int rc;

	pthread_mutex_lock(&cl->mu);
	if (!(rc = tally_get(cl, schema, tb, target_schema, target_tb, &t, err))) {
		t->checked += checked;
		t->skip += skipped;
		cl->checked += checked;
		cl->skip += skipped;
	}
	pthread_mutex_unlock(&cl->mu);
	return rc;
}

int tl_checklog_consistent(tl_checklog *cl)
{
	int ok;

	pthread_mutex_lock(&cl->mu);
	ok = !cl->miss && !cl->diff && !cl->skip && !cl->extra;
	pthread_mutex_unlock(&cl->mu);
	return ok;
}

void tl_checklog_abandon(tl_checklog *cl)
{
	if (cl)
		free_all(cl);
}

/* Writes the whole buffer to path (created or truncated) and fsyncs it. */
static int write_file(const char *path, const tl_buf *b, tl_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t off = 0;

	if (fd < 0)
		return tl_error_set(err, TL_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
	while (off < b->len) {
		ssize_t w = write(fd, b->data + off, b->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			close(fd);
			return tl_error_set(err, TL_ERR_IO, "cannot write '%s': %s", path, strerror(e));
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0)
		return tl_error_set(err, TL_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
	return 0;
}

int tl_checklog_close(tl_checklog *cl, tl_error *err)
{
	tl_checklog_table *tables = NULL;
	tl_checklog_summary s;
	struct timespec now;
	char end[40], *path = NULL;
	size_t i, n = 0;
	int rc = 0;

	if (!cl)
		return 0;
	for (i = 0; i < 3; i++) {
		struct rowlog *lg = &cl->logs[i];
		int bad = fclose(lg->fp) != 0;
		lg->fp = NULL;
		if (bad && !rc)
			rc = tl_error_set(err, TL_ERR_IO, "cannot write '%s': %s", lg->path, strerror(errno));
		if (lg->rows == 0 && unlink(lg->path) != 0 && errno != ENOENT && !rc)
			rc = tl_error_set(err, TL_ERR_IO, "cannot remove empty '%s': %s", lg->path, strerror(errno));
	}
	if (rc)
		goto cleanup;
	if (cl->ntab && !(tables = malloc(cl->ntab * sizeof(*tables)))) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory writing summary.log");
		goto cleanup;
	}
	for (i = 0; i < cl->cap; i++)
		if (cl->tab[i].used)
			tables[n++] = cl->tab[i].t;
	clock_gettime(CLOCK_REALTIME, &now);
	tl_checklog_time(end, &now);
	memset(&s, 0, sizeof(s));
	s.start_time = cl->start;
	s.end_time = end;
	s.checked = cl->checked;
	s.miss = cl->miss;
	s.diff = cl->diff;
	s.skip = cl->skip;
	s.extra = cl->extra;
	s.ntables = n;
	s.tables = tables;
	tl_buf_reset(&cl->line);
	if ((rc = tl_checklog_format_summary(&cl->line, &s, err)))
		goto cleanup;
	if (!(path = join_path(cl->dir, "summary.log"))) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	rc = write_file(path, &cl->line, err);
cleanup:
	free(path);
	free(tables);
	free_all(cl);
	return rc;
}
