/*
 * importer.c - the one importer of ape-dts text progress files (position.log,
 * finished.log, resume.config) into the store, used by a run's from_log sources
 * (sources.c) and by `tideline import` (cli/cmd_import.c); see migrate.h.
 *
 * Works like this: every file is read whole into memory and fingerprinted (size and
 * 64-bit FNV-1a, the form of the store's import_source marks); parsing splits it into
 * lines and adds each usable one to a single tl_resume_set, in parse order, so ape-dts
 * precedence holds across files (later records of a kind win). The line starts are kept,
 * so when the merged set is written each record gets the timestamp and the exact JSON of
 * the line it came from (an export of the store then reproduces the lines).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "migrate/migrate.h"

struct in_file {
	char *path;
	char *data;     /* the whole file (NUL-terminated), NULL when missing */
	int64_t size;   /* -1 when missing */
	uint64_t hash;
	size_t *starts; /* starts[i]: offset of line i+1; starts[nlines] = size (after parsing) */
	size_t nlines;
	int parsed;
};

struct tl_importer {
	struct in_file *files;
	size_t nfiles;
	tl_resume_set *set;
	size_t nlines, nrecs, nbad;
	char ts[64]; /* the timestamp handed to the store, valid until the next origin call */
};

/* 64-bit FNV-1a: the fingerprint of an imported file (store import_source marks). */
static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int tl_importer_new(tl_importer **out, tl_error *err)
{
	tl_importer *im = calloc(1, sizeof(*im));
	int rc;

	*out = NULL;
	if (!im)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	if ((rc = tl_resume_set_new(&im->set, err))) {
		free(im);
		return rc;
	}
	*out = im;
	return 0;
}

void tl_importer_free(tl_importer *im)
{
	size_t i;

	if (!im)
		return;
	for (i = 0; i < im->nfiles; i++) {
		free(im->files[i].path);
		free(im->files[i].data);
		free(im->files[i].starts);
	}
	free(im->files);
	tl_resume_set_free(im->set);
	free(im);
}

static int read_whole(struct in_file *f, int may_be_missing, tl_error *err)
{
	tl_buf b = TL_BUF_INIT;
	char chunk[65536];
	FILE *fp = fopen(f->path, "rb");
	size_t got;
	int rc = 0;

	if (!fp) {
		if (errno == ENOENT && may_be_missing) {
			f->size = -1;
			return 0;
		}
		if (errno == ENOENT)
			return tl_error_set(err, TL_ERR_NOTFOUND, "file '%s' does not exist", f->path);
		return tl_error_set(err, TL_ERR_IO, "cannot open '%s': %s", f->path, strerror(errno));
	}
	while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if ((rc = tl_buf_put(&b, chunk, got, err)))
			goto cleanup;
	if (ferror(fp)) {
		rc = tl_error_set(err, TL_ERR_IO, "cannot read '%s': %s", f->path, strerror(errno));
		goto cleanup;
	}
	f->size = (int64_t)b.len;
	f->hash = fnv1a(b.data ? b.data : "", b.len);
	f->data = b.data ? tl_buf_detach(&b) : tl_strdup("");
	if (!f->data)
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading '%s'", f->path);
cleanup:
	tl_buf_release(&b);
	fclose(fp);
	return rc;
}

int tl_importer_read(tl_importer *im, const char *path, int may_be_missing, size_t *idx, tl_error *err)
{
	struct in_file *nf = realloc(im->files, (im->nfiles + 1) * sizeof(*nf));
	struct in_file *f;
	int rc;

	if (!nf)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	im->files = nf;
	f = &nf[im->nfiles];
	memset(f, 0, sizeof(*f));
	if (!(f->path = tl_strdup(path)))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	im->nfiles++;
	if ((rc = read_whole(f, may_be_missing, err)))
		return rc;
	*idx = im->nfiles - 1;
	return 0;
}

size_t tl_importer_nfiles(const tl_importer *im)
{
	return im->nfiles;
}

const char *tl_importer_path(const tl_importer *im, size_t idx)
{
	return im->files[idx].path;
}

int64_t tl_importer_size(const tl_importer *im, size_t idx)
{
	return im->files[idx].size;
}

uint64_t tl_importer_hash(const tl_importer *im, size_t idx)
{
	return im->files[idx].hash;
}

const tl_resume_set *tl_importer_set(const tl_importer *im)
{
	return im->set;
}

void tl_importer_counts(const tl_importer *im, size_t *lines, size_t *records, size_t *bad)
{
	if (lines)
		*lines = im->nlines;
	if (records)
		*records = im->nrecs;
	if (bad)
		*bad = im->nbad;
}

/* A bad line: reported through on_bad, or (none) the failure "PATH:LINE: reason". */
static int bad_line(tl_importer *im, const struct in_file *f, const char *reason, tl_logbad_fn on_bad, void *ctx,
		    tl_error *err)
{
	im->nbad++;
	if (!on_bad)
		return tl_error_set(err, TL_ERR_PARSE, "%s:%zu: %s", f->path, f->nlines, reason);
	return on_bad(ctx, f->path, f->nlines, reason, err);
}

int tl_importer_parse(tl_importer *im, size_t idx, tl_logbad_fn on_bad, void *ctx, tl_error *err)
{
	struct in_file *f = &im->files[idx];
	tl_error lerr = TL_ERROR_INIT;
	size_t pos = 0, cap = 0, size;
	int rc;

	if (f->size < 0 || f->parsed)
		return 0;
	size = (size_t)f->size;
	f->parsed = 1;
	while (pos < size) {
		const char *line = f->data + pos;
		const char *nl = memchr(line, '\n', size - pos);
		size_t len = nl ? (size_t)(nl - line) : size - pos;
		tl_logrec rec;

		if (f->nlines + 2 > cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			size_t *ns = realloc(f->starts, ncap * sizeof(*ns));

			if (!ns)
				return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading '%s'", f->path);
			f->starts = ns;
			cap = ncap;
		}
		f->starts[f->nlines++] = pos;
		pos += len + (nl ? 1 : 0);
		im->nlines++;
		memset(&rec, 0, sizeof(rec));
		rc = tl_logfmt_parse_line(line, len, &rec, &lerr);
		if (rc == 0) {
			rc = tl_resume_add(im->set, &rec.pos, rec.is_current, f->path, (long)f->nlines, &lerr);
			if (rc == 0)
				im->nrecs++;
		}
		tl_pos_clear(&rec.pos);
		if (rc == 1)
			continue;
		if (rc == TL_ERR_PARSE) {
			if ((rc = bad_line(im, f, lerr.message, on_bad, ctx, err)))
				return rc;
			continue;
		}
		if (rc) {
			if (err)
				*err = lerr;
			return tl_error_prefix(err, "%s:%zu", f->path, f->nlines);
		}
	}
	if (!f->starts && !(f->starts = malloc(sizeof(*f->starts))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading '%s'", f->path);
	f->starts[f->nlines] = size;
	return 0;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of a leading "YYYY-MM-DD HH:MM:SS[.f…]" timestamp, 0 if there is none. */
static size_t timestamp_len(const char *p, size_t n)
{
	static const char shape[] = "dddd-dd-dd dd:dd:dd";
	size_t i;

	if (n < sizeof(shape) - 1)
		return 0;
	for (i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? !is_digit(p[i]) : p[i] != shape[i])
			return 0;
	if (i < n && p[i] == '.') {
		i++;
		while (i < n && is_digit(p[i]))
			i++;
	}
	if (i < n && p[i] != ' ' && p[i] != '|')
		return 0;
	return i;
}

/* tl_store_origin_fn: the timestamp and exact JSON of the line a record came from. */
static int origin(void *vctx, const char *source, long line, const char **ts, const char **json, size_t *json_len,
		  tl_error *err)
{
	tl_importer *im = vctx;
	const struct in_file *f = NULL;
	const char *p, *first, *last;
	size_t i, n, tl;

	for (i = im->nfiles; i-- > 0;)
		if (source && im->files[i].parsed && strcmp(im->files[i].path, source) == 0) {
			f = &im->files[i];
			break;
		}
	if (!f || line < 1 || (size_t)line > f->nlines)
		return 0;
	p = f->data + f->starts[line - 1];
	n = f->starts[line] - f->starts[line - 1];
	first = memchr(p, '{', n);
	last = first ? memrchr(first, '}', n - (size_t)(first - p)) : NULL;
	if (first && last) {
		*json = first;
		*json_len = (size_t)(last - first) + 1;
	}
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	tl = timestamp_len(p, n);
	if (tl && tl < sizeof(im->ts)) {
		memcpy(im->ts, p, tl);
		im->ts[tl] = '\0';
		*ts = im->ts;
	}
	(void)err;
	return 0;
}

int tl_importer_store(const tl_importer *im, tl_store *s, const char *task_id, tl_store_import_stats *stats,
		      tl_error *err)
{
	size_t i;
	int rc;

	if ((rc = tl_store_begin(s, err)))
		return rc;
	/* origin() keeps the timestamp it hands out in the importer: writable scratch */
	if ((rc = tl_store_import_set_ex(s, task_id, im->set, origin, (tl_importer *)im, stats, err)))
		goto fail;
	for (i = 0; i < im->nfiles; i++) {
		const struct in_file *f = &im->files[i];
		if (f->parsed && (rc = tl_store_source_mark(s, task_id, f->path, f->size, f->hash, err)))
			goto fail;
	}
	return tl_store_commit(s, err);
fail:
	tl_store_rollback(s);
	return rc;
}
