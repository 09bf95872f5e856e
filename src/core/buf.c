/*
 * buf.c - bounded growable buffers and small string helpers (include/tideline/buf.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tideline/buf.h"

#define TL_BUF_DEFAULT_MAX ((size_t)1 << 30)

void tl_buf_init(tl_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void tl_buf_release(tl_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int tl_buf_reserve(tl_buf *b, size_t extra, tl_error *err)
{
	size_t max = b->max ? b->max : TL_BUF_DEFAULT_MAX;
	size_t need, ncap;
	char *p;

	if (extra > max || b->len + extra > max)
		return tl_error_set(err, TL_ERR_NOMEM, "buffer would exceed its limit of %zu bytes", max);
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap *= 2;
	if (ncap > max + 1)
		ncap = max + 1;
	p = realloc(b->data, ncap);
	if (!p)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory growing a buffer to %zu bytes", ncap);
	b->data = p;
	b->cap = ncap;
	return 0;
}

int tl_buf_put(tl_buf *b, const void *p, size_t n, tl_error *err)
{
	int rc = tl_buf_reserve(b, n, err);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int tl_buf_puts(tl_buf *b, const char *s, tl_error *err)
{
	return tl_buf_put(b, s, strlen(s), err);
}

int tl_buf_putc(tl_buf *b, char c, tl_error *err)
{
	return tl_buf_put(b, &c, 1, err);
}

int tl_buf_vprintf(tl_buf *b, tl_error *err, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	int rc;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return tl_error_set(err, TL_ERR_INTERNAL, "bad format string");
	rc = tl_buf_reserve(b, (size_t)n, err);
	if (rc)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int tl_buf_printf(tl_buf *b, tl_error *err, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = tl_buf_vprintf(b, err, fmt, ap);
	va_end(ap);
	return rc;
}

int tl_buf_put_hex(tl_buf *b, const void *p, size_t n, tl_error *err)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *s = p;
	size_t i;
	int rc = tl_buf_reserve(b, 2 * n, err);

	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		b->data[b->len++] = digits[s[i] >> 4];
		b->data[b->len++] = digits[s[i] & 15];
	}
	b->data[b->len] = '\0';
	return 0;
}

const char *tl_buf_cstr(const tl_buf *b)
{
	return b->data ? b->data : "";
}

char *tl_buf_detach(tl_buf *b)
{
	char *p = b->data;

	if (!p)
		p = calloc(1, 1);
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

char *tl_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *tl_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int tl_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int tl_hex_decode(const char *hex, tl_buf *out, tl_error *err)
{
	size_t n, i;
	int rc;

	if (hex[0] == '\\' && hex[1] == 'x')
		hex += 2;
	n = strlen(hex);
	if (n % 2)
		return tl_error_set(err, TL_ERR_PARSE, "hex value '%.64s' has an odd number of digits", hex);
	rc = tl_buf_reserve(out, n / 2, err);
	if (rc)
		return rc;
	for (i = 0; i < n; i += 2) {
		int hi = tl_hex_digit((unsigned char)hex[i]), lo = tl_hex_digit((unsigned char)hex[i + 1]);
		if (hi < 0 || lo < 0)
			return tl_error_set(err, TL_ERR_PARSE, "'%.64s' is not a hex value", hex);
		out->data[out->len++] = (char)(hi << 4 | lo);
	}
	out->data[out->len] = '\0';
	return 0;
}
