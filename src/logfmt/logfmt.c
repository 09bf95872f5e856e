/*
 * logfmt.c - reading and writing ape-dts' text logs (include/tideline/logfmt.h).
 *
 * The reader streams: it fread()s into one buffer (twice the maximum line plus a read
 * chunk), splits on '\n' in place and hands each line to tl_logfmt_parse_line, so a line
 * costs no allocation of its own beyond decoding the position. A line that cannot be used
 * is never dropped silently: it goes to the caller's on_bad callback, or fails the read
 * with "PATH:LINE: reason". Writers produce the exact ape-dts layout (docs/ape-dts-resume.md
 * §2.1). This file never prints and keeps no global state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "tideline/logfmt.h"

#define CURRENT_MARK "| current_position |"
#define READ_CHUNK ((size_t)256 * 1024)

static int is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Offset of the first byte that is not valid UTF-8, or -1 (JSON text must be UTF-8, as serde_json demands). */
static long utf8_invalid_at(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k, need;
		unsigned cp;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return (long)i;
		}
		if (i + need >= n)
			return (long)i;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return (long)i;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return (long)i;
		i += need + 1;
	}
	return -1;
}

int tl_logfmt_parse_line(const char *line, size_t len, tl_logrec *out, tl_error *err)
{
	long bad;
	const char *first, *last, *p = line, *end;
	int rc;

	tl_pos_init(&out->pos);
	out->is_current = 0;
	out->json = NULL;
	out->json_len = 0;
	if (len && line[len - 1] == '\r')
		len--;
	if (len > TL_LOGFMT_MAX_LINE)
		return tl_error_set(err, TL_ERR_PARSE, "line longer than 1 MiB");
	if (memchr(line, '\0', len))
		return tl_error_set(err, TL_ERR_PARSE, "line contains a NUL byte");
	end = line + len;
	while (p < end && is_blank((unsigned char)*p))
		p++;
	if (p == end)
		return 1;
	if (end - p >= 2 && p[0] == '/' && p[1] == '/')
		return 1;
	first = memchr(p, '{', (size_t)(end - p));
	last = first ? memrchr(first, '}', (size_t)(end - first)) : NULL;
	if (!first || !last)
		return tl_error_set(err, TL_ERR_PARSE, "no JSON object on the line");
	bad = utf8_invalid_at((const unsigned char *)first, (size_t)(last - first) + 1);
	if (bad >= 0)
		return tl_error_set(err, TL_ERR_PARSE, "invalid UTF-8 at byte %ld of the JSON", bad);
	out->json = first;
	out->json_len = (size_t)(last - first) + 1;
	out->is_current = memmem(line, len, CURRENT_MARK, sizeof(CURRENT_MARK) - 1) != NULL;
	rc = tl_pos_parse_json(&out->pos, out->json, out->json_len, err);
	if (rc) {
		out->json = NULL;
		out->json_len = 0;
		out->is_current = 0;
	}
	return rc;
}

/* Reports a bad line to on_bad, or turns it into the read's error. */
static int bad_line(const char *path, size_t line_no, const char *reason, tl_logbad_fn on_bad, void *ctx,
		    tl_error *err)
{
	if (!on_bad)
		return tl_error_set(err, TL_ERR_PARSE, "%s:%zu: %s", path, line_no, reason);
	return on_bad(ctx, path, line_no, reason, err);
}

/* Parses one complete line and dispatches it. */
static int handle_line(const char *path, size_t line_no, const char *line, size_t len, tl_logrec *rec,
		       tl_logrec_fn on_rec, tl_logbad_fn on_bad, void *ctx, tl_error *lerr, tl_error *err)
{
	int rc;

	rc = tl_logfmt_parse_line(line, len, rec, lerr);
	if (rc == 1)
		return 0;
	if (rc < 0) {
		if (rc != TL_ERR_PARSE) {
			/* out of memory and the like: not a property of the line */
			if (err)
				*err = *lerr;
			return rc;
		}
		return bad_line(path, line_no, lerr->message, on_bad, ctx, err);
	}
	rec->path = path;
	rec->line_no = line_no;
	rc = on_rec ? on_rec(ctx, rec, err) : 0;
	tl_pos_clear(&rec->pos);
	return rc;
}

int tl_logfmt_read_file(const char *path, tl_logrec_fn on_rec, tl_logbad_fn on_bad, void *ctx, tl_error *err)
{
	const size_t cap = 2 * (size_t)TL_LOGFMT_MAX_LINE + READ_CHUNK;
	tl_logrec rec;
	tl_error lerr = TL_ERROR_INIT; /* per-line reasons; one struct for the whole file */
	FILE *f = NULL;
	char *buf = NULL;
	size_t start = 0, end = 0, scan = 0, line_no = 0;
	int skipping = 0, eof = 0, rc = 0;

	memset(&rec, 0, sizeof(rec));
	f = fopen(path, "rb");
	if (!f) {
		if (errno == ENOENT)
			rc = tl_error_set(err, TL_ERR_NOTFOUND, "file '%s' does not exist", path);
		else
			rc = tl_error_set(err, TL_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
		goto cleanup;
	}
	buf = malloc(cap);
	if (!buf) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading '%s'", path);
		goto cleanup;
	}
	for (;;) {
		char *nl = memchr(buf + scan, '\n', end - scan);

		if (nl) {
			size_t nlpos = (size_t)(nl - buf);

			line_no++;
			if (skipping)
				skipping = 0; /* the tail of an overlong line, already reported */
			else if ((rc = handle_line(path, line_no, buf + start, nlpos - start, &rec, on_rec, on_bad,
						   ctx, &lerr, err)))
				goto cleanup;
			start = scan = nlpos + 1;
			continue;
		}
		scan = end;
		if (!skipping && end - start > (size_t)TL_LOGFMT_MAX_LINE + 1) {
			/* cannot fit even with a trailing '\r': report now and skip to the newline */
			if ((rc = bad_line(path, line_no + 1, "line longer than 1 MiB", on_bad, ctx, err)))
				goto cleanup;
			skipping = 1;
		}
		if (skipping)
			start = scan = end = 0;
		if (eof)
			break;
		if (start > 0) {
			memmove(buf, buf + start, end - start);
			end -= start;
			scan -= start;
			start = 0;
		}
		{
			size_t want = cap - end, got;

			if (want > READ_CHUNK * 4)
				want = READ_CHUNK * 4;
			got = fread(buf + end, 1, want, f);
			if (got < want) {
				if (ferror(f)) {
					rc = tl_error_set(err, TL_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
					goto cleanup;
				}
				eof = 1;
			}
			end += got;
		}
	}
	/* a last line without '\n' */
	if (end > start) {
		line_no++;
		rc = handle_line(path, line_no, buf + start, end - start, &rec, on_rec, on_bad, ctx, &lerr, err);
	} else if (skipping) {
		line_no++;
	}
cleanup:
	tl_pos_clear(&rec.pos);
	free(buf);
	if (f)
		fclose(f);
	return rc;
}

void tl_logfmt_now(char out[32])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%06ld", (long)(ts.tv_nsec / 1000));
}

int tl_logfmt_format_position(tl_buf *out, const char *ts, int is_current, const tl_position *p,
			      enum tl_pos_style style, tl_error *err)
{
	size_t mark = out->len;
	int rc;

	if ((rc = tl_buf_puts(out, ts, err)) ||
	    (rc = tl_buf_puts(out, is_current ? " | current_position | " : " | checkpoint_position | ", err)) ||
	    (rc = tl_pos_write_json(p, style, out, err)) || (rc = tl_buf_putc(out, '\n', err)))
		tl_buf_truncate(out, mark);
	return rc;
}

int tl_logfmt_format_finished(tl_buf *out, const char *ts, const tl_position *p, tl_error *err)
{
	size_t mark = out->len;
	int rc;

	if (p->type != TL_POS_RDB_SNAPSHOT_FINISHED)
		return tl_error_set(err, TL_ERR_INTERNAL, "finished.log takes RdbSnapshotFinished records only");
	if ((rc = tl_buf_puts(out, ts, err)) || (rc = tl_buf_puts(out, " | ", err)) ||
	    (rc = tl_pos_write_json(p, TL_STYLE_ASIS, out, err)) || (rc = tl_buf_putc(out, '\n', err)))
		tl_buf_truncate(out, mark);
	return rc;
}

int tl_logfmt_position_files(const char *dir, char ***out, tl_error *err)
{
	char **paths = NULL;
	size_t n = 0;
	int i, rc = 0;

	*out = NULL;
	paths = calloc(12, sizeof(*paths));
	if (!paths)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory listing position logs");
	for (i = 10; i >= 0; i--) {
		tl_buf b = TL_BUF_INIT;
		struct stat st;

		if (i > 0)
			rc = tl_buf_printf(&b, err, "%s/position%d.log", dir, i);
		else
			rc = tl_buf_printf(&b, err, "%s/position.log", dir);
		if (rc) {
			tl_buf_release(&b);
			goto cleanup;
		}
		if (stat(b.data, &st) == 0 && S_ISREG(st.st_mode))
			paths[n++] = tl_buf_detach(&b);
		else
			tl_buf_release(&b);
	}
	*out = paths;
	paths = NULL;
cleanup:
	tl_logfmt_free_paths(paths);
	return rc;
}

void tl_logfmt_free_paths(char **paths)
{
	size_t i;

	if (!paths)
		return;
	for (i = 0; paths[i]; i++)
		free(paths[i]);
	free(paths);
}
