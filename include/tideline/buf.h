/*
 * buf.h - a growable byte buffer with an upper bound (curl's dynbuf idea).
 *
 * The caller owns the struct (TL_BUF_INIT or tl_buf_init) and releases it with
 * tl_buf_release. `max` caps the size: growing past it fails with TL_ERR_NOMEM and a
 * message, so one oversized row or line cannot exhaust memory. max == 0 means 1 GiB.
 * The data is always NUL-terminated after a successful append (not counted in len).
 */
#ifndef TL_BUF_H
#define TL_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include "tideline/error.h"

typedef struct tl_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
} tl_buf;

#define TL_BUF_INIT {NULL, 0, 0, 0}

void tl_buf_init(tl_buf *b, size_t max);
void tl_buf_release(tl_buf *b);
/* Cuts the buffer back to its first len bytes (len <= b->len), as before later appends. */
static inline void tl_buf_truncate(tl_buf *b, size_t len) { b->len = len; if (b->data) b->data[len] = '\0'; }
static inline void tl_buf_reset(tl_buf *b) { tl_buf_truncate(b, 0); }
int tl_buf_reserve(tl_buf *b, size_t extra, tl_error *err) TL_MUST_CHECK;
int tl_buf_put(tl_buf *b, const void *p, size_t n, tl_error *err) TL_MUST_CHECK;
int tl_buf_puts(tl_buf *b, const char *s, tl_error *err) TL_MUST_CHECK;
int tl_buf_putc(tl_buf *b, char c, tl_error *err) TL_MUST_CHECK;
int tl_buf_printf(tl_buf *b, tl_error *err, const char *fmt, ...) TL_PRINTF(3, 4) TL_MUST_CHECK;
int tl_buf_vprintf(tl_buf *b, tl_error *err, const char *fmt, va_list ap) TL_MUST_CHECK;
/* Appends lowercase hex of n bytes. */
int tl_buf_put_hex(tl_buf *b, const void *p, size_t n, tl_error *err) TL_MUST_CHECK;
/* Returns a NUL-terminated string ("" for an empty buffer); lent, valid until the next change. */
const char *tl_buf_cstr(const tl_buf *b);
/* Hands the data to the caller (free with free()); the buffer becomes empty. */
char *tl_buf_detach(tl_buf *b);

/* Small string helpers (heap results owned by the caller, free with free()). */
char *tl_strdup(const char *s);             /* NULL in, NULL out */
char *tl_strndup(const char *s, size_t n);
/* Decodes lowercase/uppercase hex (optional "\\x" prefix) into out; -1 on bad input. */
int tl_hex_decode(const char *hex, tl_buf *out, tl_error *err) TL_MUST_CHECK;
/* Value of one hex digit (either case), -1 when c is not one. */
int tl_hex_digit(int c);

#endif
