/*
 * fuzz_logline.c - libFuzzer target for the text-log reader and the position codec.
 *
 * Each input is one log line. If tl_logfmt_parse_line accepts it, the position is written
 * back in every style and must read back to the same position (the ASIS writing must
 * also be stable: writing the re-read position gives the same bytes). The same bytes
 * are fed to the Mongo _id converter, whose output must survive a trip through
 * from_extjson and back unchanged. Any violation aborts (a crash for the fuzzer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tideline/logfmt.h"
#include "tideline/position.h"

static int str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Same meaning; ORDER_COL and SINGLE are the same key when `loose`. */
static int same_pos(const tl_position *a, const tl_position *b, int loose)
{
	size_t i;

	if (a->type != b->type || !str_eq(a->db_type, b->db_type) || !str_eq(a->schema, b->schema) ||
	    !str_eq(a->tb, b->tb) || !str_eq(a->raw_json, b->raw_json) || a->nkeys != b->nkeys)
		return 0;
	if (!loose && a->form != b->form)
		return 0;
	for (i = 0; i < a->nkeys; i++)
		if (!str_eq(a->keys[i].col, b->keys[i].col) || !str_eq(a->keys[i].val, b->keys[i].val))
			return 0;
	return 1;
}

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_logline: %s: %s\n", what, detail ? detail : "");
	abort();
}

static void check_position(const tl_position *p)
{
	static const enum tl_pos_style styles[] = {TL_STYLE_ASIS, TL_STYLE_ORDER_KEY, TL_STYLE_ORDER_COL};
	size_t s;

	for (s = 0; s < 3; s++) {
		tl_error err = TL_ERROR_INIT;
		tl_buf b = TL_BUF_INIT, b2 = TL_BUF_INIT;
		tl_position q = TL_POSITION_INIT;

		if (tl_pos_write_json(p, styles[s], &b, &err) != 0)
			die("write failed", err.message);
		if (tl_pos_parse_json(&q, b.data, b.len, &err) != 0)
			die("re-parse of written JSON failed", b.data);
		if (!same_pos(p, &q, styles[s] != TL_STYLE_ASIS))
			die("round trip changed the position", b.data);
		if (styles[s] == TL_STYLE_ASIS) {
			if (tl_pos_write_json(&q, TL_STYLE_ASIS, &b2, &err) != 0)
				die("second write failed", err.message);
			if (b.len != b2.len || memcmp(b.data, b2.data, b.len) != 0)
				die("writing is not stable", b.data);
		}
		tl_pos_clear(&q);
		tl_buf_release(&b);
		tl_buf_release(&b2);
	}
}

static void check_mongo(const char *text)
{
	tl_error err = TL_ERROR_INIT;
	tl_buf ext = TL_BUF_INIT, tagged = TL_BUF_INIT, ext2 = TL_BUF_INIT;

	if (tl_pos_mongo_id_to_extjson(text, &ext, &err) == 0) {
		if (tl_pos_mongo_id_from_extjson(tl_buf_cstr(&ext), &tagged, &err) != 0)
			die("from_extjson rejected to_extjson's output", tl_buf_cstr(&ext));
		if (tl_pos_mongo_id_to_extjson(tl_buf_cstr(&tagged), &ext2, &err) != 0)
			die("to_extjson rejected from_extjson's output", tl_buf_cstr(&tagged));
		if (strcmp(tl_buf_cstr(&ext), tl_buf_cstr(&ext2)) != 0)
			die("mongo _id round trip changed the value", tl_buf_cstr(&ext));
	}
	/* the other direction on arbitrary text must not crash either */
	tl_buf_reset(&tagged);
	(void)!tl_pos_mongo_id_from_extjson(text, &tagged, &err);
	tl_buf_release(&ext);
	tl_buf_release(&tagged);
	tl_buf_release(&ext2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tl_error err = TL_ERROR_INIT;
	tl_logrec rec;
	char *text;
	int rc;

	rc = tl_logfmt_parse_line((const char *)data, size, &rec, &err);
	if (rc == 0)
		check_position(&rec.pos);
	tl_pos_clear(&rec.pos);

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	check_mongo(text);
	free(text);
	return 0;
}
