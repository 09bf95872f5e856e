/*
 * logfmt.h - ape-dts' text logs: position.log, finished.log and resume.config.
 *
 * Readers follow the tolerance rules of docs/ape-dts-resume.md §2.2 (JSON between the first
 * '{' and the last '}', optional timestamp, "| current_position |" marks a current
 * line, blank lines and lines starting with "//" are skipped) but never drop a line
 * silently: a line that cannot be used is reported through `on_bad` with the path,
 * 1-based line number and reason. Writers produce the exact ape-dts layout (§2.1).
 * Lines longer than TL_LOGFMT_MAX_LINE are bad lines ("line longer than 1 MiB").
 */
#ifndef TL_LOGFMT_H
#define TL_LOGFMT_H

#include <stddef.h>
#include <stdio.h>
#include "tideline/buf.h"
#include "tideline/error.h"
#include "tideline/position.h"

#define TL_LOGFMT_MAX_LINE (1024u * 1024u)

typedef struct tl_logrec {
	tl_position pos;   /* decoded position (owned by the reader; valid during the callback) */
	int is_current;    /* line carried "| current_position |" */
	const char *path;  /* file being read */
	size_t line_no;    /* 1-based */
	const char *json;  /* the exact JSON text of the line (not NUL-terminated) */
	size_t json_len;
} tl_logrec;

/* Called for every usable line in file order. Non-zero return stops reading and is returned. */
typedef int (*tl_logrec_fn)(void *ctx, const tl_logrec *rec, tl_error *err);
/* Called for every unusable line. Return 0 to continue (lenient) or a negative code to stop. */
typedef int (*tl_logbad_fn)(void *ctx, const char *path, size_t line_no, const char *reason, tl_error *err);

/*
 * Parses one line (without its '\n'; a trailing '\r' is tolerated).
 * Returns 1 if the line is to be skipped (blank, "//" comment), 0 with *out filled, or
 * TL_ERR_PARSE with a reason in err. out->pos must be cleared by the caller with tl_pos_clear.
 */
int tl_logfmt_parse_line(const char *line, size_t len, tl_logrec *out, tl_error *err) TL_MUST_CHECK;

/*
 * Reads a whole file. When on_bad is NULL the first bad line fails the read with
 * "PATH:LINE: reason" (TL_ERR_PARSE). A missing file is TL_ERR_NOTFOUND.
 */
int tl_logfmt_read_file(const char *path, tl_logrec_fn on_rec, tl_logbad_fn on_bad, void *ctx,
			tl_error *err) TL_MUST_CHECK;

/* Writes "YYYY-MM-DD HH:MM:SS.ffffff" (UTC) of now into out (at least 32 bytes). */
void tl_logfmt_now(char out[32]);

/* Appends "<ts> | current_position | {json}\n" (or checkpoint_position) to out. */
int tl_logfmt_format_position(tl_buf *out, const char *ts, int is_current, const tl_position *p,
			      enum tl_pos_style style, tl_error *err) TL_MUST_CHECK;
/* Appends "<ts> | {json}\n" for a finished record. */
int tl_logfmt_format_finished(tl_buf *out, const char *ts, const tl_position *p, tl_error *err) TL_MUST_CHECK;

/*
 * Lists the position logs of a directory in reading order: position10.log (oldest)
 * … position1.log, then position.log; only those that exist. *out is a NULL-terminated
 * array owned by the caller (free with tl_logfmt_free_paths).
 */
int tl_logfmt_position_files(const char *dir, char ***out, tl_error *err) TL_MUST_CHECK;
void tl_logfmt_free_paths(char **paths);

#endif
