/*
 * pg_copytext.c - PostgreSQL connector: rows in COPY text and binary format.
 *
 * The reader streams rows with COPY (…) TO STDOUT, one line per row: fields separated
 * by a tab, NULL written as \N, and backslash escapes for \\, \b, \f, \n, \r, \t, \v
 * (PostgreSQL's CopyAttributeOutText). Decoding follows CopyReadAttributesText: also
 * octal \ooo and hex \xhh, any other escaped character stands for itself, and a field
 * is NULL only when its raw text is exactly \N. Decoding happens in place (escapes only
 * shrink), each field NUL-terminated, so no row is copied twice.
 *
 * Same-driver pass-through batches (TL_BATCH_NATIVE) keep the raw lines; they are split
 * only for the key of a batch's last row or when a batch must go through INSERT.
 *
 * Binary COPY (TL_BATCH_NATIVE_BINARY) is used only into an empty target whose columns
 * have the same built-in types, and only for tables whose key and partition columns
 * are int2/int4/int8, the one thing tideline decodes from it: a tuple is an int16 field
 * count, then per field an int32 length (-1 = NULL) and that many bytes, big-endian.
 * The stream starts with an 19-byte header (signature, flags, extension length) and
 * ends with a count of -1; each COPY a writer sends gets its own header and trailer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pg_int.h"

static int octal(char c)
{
	return c >= '0' && c <= '7';
}

static int hexval(char c)
{
	return tl_hex_digit((unsigned char)c);
}

int tl_pg__copy_split(char *line, size_t len, struct tl_pg_field *f, size_t nf, tl_error *err)
{
	char *p = line, *end = line + len;
	size_t i = 0;

	if (len > 0 && end[-1] == '\n')
		end--;
	for (;;) {
		char *raw = p, *out = p;
		int is_null;

		if (i == nf)
			return tl_error_set(err, TL_ERR_INTERNAL, "COPY row has more than %zu fields", nf);
		/* raw text exactly \N (checked before decoding overwrites it) */
		is_null = end - p >= 2 && p[0] == '\\' && p[1] == 'N' && (end - p == 2 || p[2] == '\t');
		while (p < end && *p != '\t') {
			char c = *p++;
			if (c != '\\' || p == end) {
				*out++ = c;
				continue;
			}
			c = *p++;
			if (octal(c)) {
				int v = c - '0';
				if (p < end && octal(*p)) {
					v = v * 8 + (*p++ - '0');
					if (p < end && octal(*p))
						v = v * 8 + (*p++ - '0');
				}
				*out++ = (char)v;
			} else if (c == 'x' && p < end && hexval(*p) >= 0) {
				int v = hexval(*p++);
				if (p < end && hexval(*p) >= 0)
					v = v * 16 + hexval(*p++);
				*out++ = (char)v;
			} else {
				switch (c) {
				case 'b': c = '\b'; break;
				case 'f': c = '\f'; break;
				case 'n': c = '\n'; break;
				case 'r': c = '\r'; break;
				case 't': c = '\t'; break;
				case 'v': c = '\v'; break;
				default: break;
				}
				*out++ = c;
			}
		}
		f[i].is_null = is_null;
		f[i].ptr = f[i].is_null ? NULL : raw;
		f[i].len = f[i].is_null ? 0 : (size_t)(out - raw);
		i++;
		if (p == end) {
			*out = '\0';
			break;
		}
		p++; /* the tab */
		*out = '\0';
	}
	if (i != nf)
		return tl_error_set(err, TL_ERR_INTERNAL, "COPY row has %zu fields, expected %zu", i, nf);
	return 0;
}

int tl_pg__native_fields(const tl_batch *b, size_t row, size_t nf, tl_buf *scratch, struct tl_pg_field *f,
			 tl_error *err)
{
	size_t len;
	const char *line = tl_batch_cell(b, row, 0, &len);
	int rc;

	if (!line)
		return tl_error_set(err, TL_ERR_INTERNAL, "empty native row");
	tl_buf_reset(scratch);
	if ((rc = tl_buf_put(scratch, line, len, err)) || (rc = tl_buf_putc(scratch, '\0', err)))
		return rc;
	return tl_pg__copy_split(scratch->data, len, f, nf, err);
}

int tl_pg__native_to_cells(const tl_batch *in, tl_batch *out, tl_error *err)
{
	tl_buf scratch = TL_BUF_INIT;
	struct tl_pg_field *f = NULL;
	size_t r, i, nf = in->ncols;
	int rc = 0;

	tl_buf_init(&scratch, 0);
	tl_batch_set_ncols(out, nf);
	f = calloc(nf ? nf : 1, sizeof(*f));
	if (!f)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory decoding rows");
	for (r = 0; !rc && r < in->nrows; r++) {
		rc = tl_pg__native_fields(in, r, nf, &scratch, f, err);
		for (i = 0; !rc && i < nf; i++)
			rc = tl_batch_push(out, f[i].ptr, f[i].len, f[i].is_null, err);
		if (!rc)
			rc = tl_batch_end_row(out, err);
	}
	free(f);
	tl_buf_release(&scratch);
	return rc;
}

const char tl_pg__bin_header[TL_PG_BIN_HEADER] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0',
						  0, 0, 0, 0, 0, 0, 0, 0};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int tl_pg__bin_skip_header(const char *p, size_t n, size_t *used, tl_error *err)
{
	uint32_t ext;

	if (n < TL_PG_BIN_HEADER || memcmp(p, tl_pg__bin_header, 11) != 0)
		return tl_error_set(err, TL_ERR_DB, "binary COPY stream without its header");
	ext = be32((const unsigned char *)p + 15);
	if (ext > n - TL_PG_BIN_HEADER)
		return tl_error_set(err, TL_ERR_DB, "binary COPY header extension longer than its message");
	*used = TL_PG_BIN_HEADER + ext;
	return 0;
}

int tl_pg__bin_tuple_check(const char *p, size_t n, size_t nf, int *is_trailer, tl_error *err)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t off = 2, i;
	int count;

	*is_trailer = 0;
	if (n < 2)
		return tl_error_set(err, TL_ERR_DB, "binary COPY tuple shorter than its field count");
	count = (int16_t)((uint16_t)u[0] << 8 | u[1]);
	if (count == -1 && n == 2) {
		*is_trailer = 1;
		return 0;
	}
	if (count < 0 || (size_t)count != nf)
		return tl_error_set(err, TL_ERR_DB, "binary COPY tuple has %d fields, expected %zu", count, nf);
	for (i = 0; i < nf; i++) {
		int32_t len;
		if (n - off < 4)
			return tl_error_set(err, TL_ERR_DB, "binary COPY tuple cut short");
		len = (int32_t)be32(u + off);
		off += 4;
		if (len < -1 || (len > 0 && (size_t)len > n - off))
			return tl_error_set(err, TL_ERR_DB, "binary COPY field length out of range");
		if (len > 0)
			off += (size_t)len;
	}
	if (off != n)
		return tl_error_set(err, TL_ERR_DB, "binary COPY tuple has trailing bytes");
	return 0;
}

int tl_pg__binary_keys_ok(const tl_table *t)
{
	size_t i;

	for (i = 0; i <= t->nkeys && t->ncols > 0; i++) {
		size_t col = i < t->nkeys ? t->key_idx[i] : t->part_idx;
		const char *cast = tl_pg__cast(t, col);
		if (!cast || (strcmp(cast, "pg_catalog.int2") != 0 && strcmp(cast, "pg_catalog.int4") != 0 &&
			      strcmp(cast, "pg_catalog.int8") != 0))
			return 0;
	}
	return t->ncols > 0;
}

int tl_pg__bin_int_text(const char *tuple, size_t n, size_t col, char **out, tl_error *err)
{
	const unsigned char *u = (const unsigned char *)tuple;
	size_t off = 2, i;
	int32_t len = -1;
	int64_t v = 0;
	char text[24];
	int k;

	*out = NULL;
	for (i = 0; i <= col; i++) {
		if (n - off < 4)
			return tl_error_set(err, TL_ERR_INTERNAL, "binary tuple cut short");
		len = (int32_t)be32(u + off);
		off += 4;
		if (i < col && len > 0)
			off += (size_t)len;
	}
	if (len == -1)
		return 0;
	if ((len != 2 && len != 4 && len != 8) || (size_t)len > n - off)
		return tl_error_set(err, TL_ERR_INTERNAL, "binary key field of %d bytes is not an integer", (int)len);
	for (k = 0; k < len; k++)
		v = (int64_t)((uint64_t)v << 8 | u[off + (size_t)k]);
	if (len == 2)
		v = (int16_t)v;
	else if (len == 4)
		v = (int32_t)v;
	snprintf(text, sizeof(text), "%lld", (long long)v);
	if (!(*out = tl_strdup(text)))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading a key");
	return 0;
}
