/*
 * fuzz_copytext.c - libFuzzer target for the PostgreSQL connector's COPY row decoders
 * (src/connectors/pg_copytext.c), which read what a server streams.
 *
 * The first input byte picks a field count (1-16). Three properties:
 *  1. Any line: tl_pg__copy_split either fails cleanly or yields exactly that many
 *     NUL-terminated fields inside the buffer.
 *  2. Round trip: the rest of the input, cut into fields at 0x00 bytes (a field "\x01"
 *     stands for NULL), encoded the way PostgreSQL writes COPY text (CopyAttributeOutText:
 *     \\ \b \f \n \r \t \v escaped), decodes back to the same fields.
 *  3. Any bytes as a binary tuple: tl_pg__bin_tuple_check fails cleanly or accepts a
 *     tuple whose 2/4/8-byte fields all decode as integers.
 * It includes the connector's private header on purpose: this is its test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "connectors/pg_int.h"

static void die(const char *what)
{
	fprintf(stderr, "fuzz_copytext: %s\n", what);
	abort();
}

static void check_any_line(const uint8_t *data, size_t size, size_t nf)
{
	struct tl_pg_field f[16];
	tl_error err = TL_ERROR_INIT;
	char *line = malloc(size + 1);
	size_t i;

	if (!line)
		return;
	memcpy(line, data, size);
	line[size] = '\0';
	if (tl_pg__copy_split(line, size, f, nf, &err) == 0) {
		for (i = 0; i < nf; i++) {
			if (f[i].is_null)
				continue;
			if (f[i].ptr < line || f[i].ptr + f[i].len > line + size || f[i].ptr[f[i].len] != '\0')
				die("a field outside its line or not NUL-terminated");
		}
	}
	tl_error_clear(&err);
	free(line);
}

/* Appends field [p, p+n) as PostgreSQL's COPY TO writes it. */
static size_t encode(char *out, const uint8_t *p, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char esc = 0;
		switch (p[i]) {
		case '\\': esc = '\\'; break;
		case '\b': esc = 'b'; break;
		case '\f': esc = 'f'; break;
		case '\n': esc = 'n'; break;
		case '\r': esc = 'r'; break;
		case '\t': esc = 't'; break;
		case '\v': esc = 'v'; break;
		default: break;
		}
		if (esc) {
			out[o++] = '\\';
			out[o++] = esc;
		} else
			out[o++] = (char)p[i];
	}
	return o;
}

static void check_round_trip(const uint8_t *data, size_t size, size_t nf)
{
	const uint8_t *start[16];
	size_t len[16], i, k = 0, o = 0;
	struct tl_pg_field f[16];
	tl_error err = TL_ERROR_INIT;
	char *line;

	start[0] = data;
	for (i = 0; i < size && k < nf - 1; i++)
		if (data[i] == 0) {
			len[k] = (size_t)(data + i - start[k]);
			start[++k] = data + i + 1;
		}
	if (k != nf - 1)
		return; /* not enough fields in this input */
	len[k] = (size_t)(data + size - start[k]);
	if (memchr(start[k], 0, len[k]))
		len[k] = (size_t)((const uint8_t *)memchr(start[k], 0, len[k]) - start[k]);
	line = malloc(2 * size + 3 * nf + 2);
	if (!line)
		return;
	for (i = 0; i < nf; i++) {
		if (i)
			line[o++] = '\t';
		if (len[i] == 1 && start[i][0] == 1) {
			memcpy(line + o, "\\N", 2);
			o += 2;
		} else
			o += encode(line + o, start[i], len[i]);
	}
	line[o++] = '\n';
	line[o] = '\0';
	if (tl_pg__copy_split(line, o, f, nf, &err) != 0)
		die("an encoded row does not decode");
	for (i = 0; i < nf; i++) {
		int want_null = len[i] == 1 && start[i][0] == 1;
		if (f[i].is_null != want_null)
			die("NULL not decoded as NULL (or a value as NULL)");
		if (!want_null && (f[i].len != len[i] || memcmp(f[i].ptr, start[i], len[i]) != 0))
			die("a decoded field differs from the encoded one");
	}
	tl_error_clear(&err);
	free(line);
}

static void check_binary(const uint8_t *data, size_t size, size_t nf)
{
	tl_error err = TL_ERROR_INIT;
	size_t i, off = 2;
	int trailer = 0;

	if (tl_pg__bin_tuple_check((const char *)data, size, nf, &trailer, &err) != 0 || trailer) {
		tl_error_clear(&err);
		return;
	}
	for (i = 0; i < nf; i++) {
		int32_t l = (int32_t)((uint32_t)data[off] << 24 | (uint32_t)data[off + 1] << 16 |
				      (uint32_t)data[off + 2] << 8 | data[off + 3]);
		char *text = NULL;
		off += 4;
		if (l == 2 || l == 4 || l == 8 || l == -1) {
			if (tl_pg__bin_int_text((const char *)data, size, i, &text, &err) != 0)
				die("an accepted tuple's integer field does not decode");
			if ((l == -1) != (text == NULL))
				die("NULL integer field mismatch");
			free(text);
		}
		if (l > 0)
			off += (size_t)l;
	}
	tl_error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t nf;

	if (size < 1)
		return 0;
	nf = (size_t)(data[0] % 16) + 1;
	check_any_line(data + 1, size - 1, nf);
	check_round_trip(data + 1, size - 1, nf);
	check_binary(data + 1, size - 1, nf);
	return 0;
}
