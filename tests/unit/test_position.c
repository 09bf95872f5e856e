/*
 * test_position.c - the position codec: every variant and key form read and written back
 * byte for byte as ape-dts writes it, the strictness rules of §2.2 with their exact
 * messages, and the Mongo _id conversions of §2.5 in both directions.
 */
#include <stdlib.h>
#include <string.h>
#include "tideline/position.h"
#include "tl_test.h"

/* Parses `in`, writes it in `style` and compares with `want` (NULL: want == in). */
static void check_rt(const char *file, int line, const char *in, enum tl_pos_style style, const char *want)
{
	tl_position p = TL_POSITION_INIT, q = TL_POSITION_INIT;
	tl_error err = TL_ERROR_INIT;
	tl_buf b = TL_BUF_INIT;

	if (!want)
		want = in;
	if (tl_pos_parse_json(&p, in, strlen(in), &err) != 0) {
		tl_test_fail(file, line, "parse of %s failed: %s", in, err.message);
		goto cleanup;
	}
	if (tl_pos_write_json(&p, style, &b, &err) != 0) {
		tl_test_fail(file, line, "write of %s failed: %s", in, err.message);
		goto cleanup;
	}
	if (strcmp(tl_buf_cstr(&b), want) != 0)
		tl_test_fail(file, line, "wrote\n      %s\n    expected\n      %s", tl_buf_cstr(&b), want);
	/* what we write must read back */
	if (tl_pos_parse_json(&q, b.data, b.len, &err) != 0)
		tl_test_fail(file, line, "re-parse of %s failed: %s", tl_buf_cstr(&b), err.message);
cleanup:
	tl_pos_clear(&p);
	tl_pos_clear(&q);
	tl_buf_release(&b);
}
#define RT(in, style, want) check_rt(__FILE__, __LINE__, in, style, want)

static void check_bad(const char *file, int line, const char *in, const char *reason)
{
	tl_position p = TL_POSITION_INIT;
	tl_error err = TL_ERROR_INIT;
	int rc = tl_pos_parse_json(&p, in, strlen(in), &err);

	if (rc != TL_ERR_PARSE)
		tl_test_fail(file, line, "%s: rc %d, expected parse error", in, rc);
	else if (strcmp(err.message, reason) != 0)
		tl_test_fail(file, line, "%s: reason \"%s\", expected \"%s\"", in, err.message, reason);
	if (p.type_name || p.schema || p.keys)
		tl_test_fail(file, line, "%s: output not cleared after an error", in);
	tl_pos_clear(&p);
}
#define BAD(in, reason) check_bad(__FILE__, __LINE__, in, reason)

TL_TEST(single_round_trip)
{
	const char *s = "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"test_db_1\",\"tb\":\"one_pk_no_uk\","
			"\"order_key\":{\"single\":[\"f_0\",\"5\"]}}";
	tl_position p = TL_POSITION_INIT;
	tl_error err = TL_ERROR_INIT;

	RT(s, TL_STYLE_ASIS, NULL);
	RT(s, TL_STYLE_ORDER_KEY, NULL);
	RT(s, TL_STYLE_ORDER_COL,
	   "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"test_db_1\",\"tb\":\"one_pk_no_uk\","
	   "\"order_col\":\"f_0\",\"value\":\"5\"}");
	TL_CHECK_OK(tl_pos_parse_json(&p, s, strlen(s), &err), &err);
	TL_CHECK_EQ_INT(p.type, TL_POS_RDB_SNAPSHOT);
	TL_CHECK_EQ_STR(p.type_name, "RdbSnapshot");
	TL_CHECK_EQ_STR(p.db_type, "mysql");
	TL_CHECK_EQ_STR(p.schema, "test_db_1");
	TL_CHECK_EQ_STR(p.tb, "one_pk_no_uk");
	TL_CHECK_EQ_INT(p.form, TL_KEY_SINGLE);
	TL_CHECK_EQ_INT(p.nkeys, 1);
	TL_CHECK_EQ_STR(p.keys[0].col, "f_0");
	TL_CHECK_EQ_STR(p.keys[0].val, "5");
	TL_CHECK(p.raw_json == NULL);
	tl_pos_clear(&p);
	tl_pos_clear(&p); /* clearing twice is fine */
}

TL_TEST(composite_round_trip)
{
	const char *s = "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"test_db_1\",\"tb\":\"multi_pk\","
			"\"order_key\":{\"composite\":[[\"f_0\",\"1\"],[\"f_1\",\"30\"]]}}";
	tl_position p = TL_POSITION_INIT;
	tl_error err = TL_ERROR_INIT;

	RT(s, TL_STYLE_ASIS, NULL);
	RT(s, TL_STYLE_ORDER_KEY, NULL);
	RT(s, TL_STYLE_ORDER_COL, NULL); /* several columns stay composite */
	TL_CHECK_OK(tl_pos_parse_json(&p, s, strlen(s), &err), &err);
	TL_CHECK_EQ_INT(p.form, TL_KEY_COMPOSITE);
	TL_CHECK_EQ_INT(p.nkeys, 2);
	TL_CHECK_EQ_STR(p.keys[1].col, "f_1");
	TL_CHECK_EQ_STR(p.keys[1].val, "30");
	tl_pos_clear(&p);
	/* one-column composite: ORDER_COL style writes the seed form */
	RT("{\"type\":\"RdbSnapshot\",\"db_type\":\"pg\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"composite\":[[\"a\",\"1\"]]}}",
	   TL_STYLE_ORDER_COL,
	   "{\"type\":\"RdbSnapshot\",\"db_type\":\"pg\",\"schema\":\"s\",\"tb\":\"t\",\"order_col\":\"a\",\"value\":\"1\"}");
	RT("{\"type\":\"RdbSnapshot\",\"db_type\":\"pg\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"composite\":[]}}",
	   TL_STYLE_ASIS, NULL);
}

TL_TEST(order_col_round_trip)
{
	const char *s = "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"test_db\",\"tb\":\"b\","
			"\"order_col\":\"id\",\"value\":\"6\"}";
	tl_position p = TL_POSITION_INIT;
	tl_error err = TL_ERROR_INIT;

	RT(s, TL_STYLE_ASIS, NULL);
	RT(s, TL_STYLE_ORDER_COL, NULL);
	RT(s, TL_STYLE_ORDER_KEY,
	   "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"test_db\",\"tb\":\"b\","
	   "\"order_key\":{\"single\":[\"id\",\"6\"]}}");
	TL_CHECK_OK(tl_pos_parse_json(&p, s, strlen(s), &err), &err);
	TL_CHECK_EQ_INT(p.form, TL_KEY_ORDER_COL);
	TL_CHECK_EQ_INT(p.nkeys, 1);
	TL_CHECK_EQ_STR(p.keys[0].col, "id");
	TL_CHECK_EQ_STR(p.keys[0].val, "6");
	tl_pos_clear(&p);
	/* null value */
	RT("{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"t\",\"order_col\":\"id\",\"value\":null}",
	   TL_STYLE_ASIS, NULL);
	/* order_key (non-null) wins over order_col */
	RT("{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"t\",\"order_col\":\"id\",\"value\":\"1\","
	   "\"order_key\":{\"single\":[\"k\",\"2\"]}}",
	   TL_STYLE_ASIS,
	   "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"single\":[\"k\",\"2\"]}}");
	/* a null order_key leaves order_col in charge */
	RT("{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":null,\"order_col\":\"id\",\"value\":\"1\"}",
	   TL_STYLE_ASIS,
	   "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"t\",\"order_col\":\"id\",\"value\":\"1\"}");
}

TL_TEST(absent_and_null_keys)
{
	const char *absent = "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":null}";
	tl_position p = TL_POSITION_INIT;
	tl_error err = TL_ERROR_INIT;

	RT(absent, TL_STYLE_ASIS, NULL);
	RT(absent, TL_STYLE_ORDER_KEY, NULL);
	RT(absent, TL_STYLE_ORDER_COL, NULL);
	RT("{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"t\"}", TL_STYLE_ASIS, absent);
	TL_CHECK_OK(tl_pos_parse_json(&p, absent, strlen(absent), &err), &err);
	TL_CHECK_EQ_INT(p.form, TL_KEY_ABSENT);
	TL_CHECK_EQ_INT(p.nkeys, 0);
	tl_pos_clear(&p);
	RT("{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"single\":[\"id\",null]}}",
	   TL_STYLE_ASIS, NULL);
	RT("{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"composite\":[[\"a\",null],[\"b\",\"\"]]}}",
	   TL_STYLE_ASIS, NULL);
	{
		const char *s = "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"single\":[\"id\",null]}}";
		TL_CHECK_OK(tl_pos_parse_json(&p, s, strlen(s), &err), &err);
		TL_CHECK(p.keys[0].val == NULL);
		tl_pos_clear(&p);
	}
}

TL_TEST(none_finished_and_db_type)
{
	RT("{\"type\":\"None\"}", TL_STYLE_ASIS, NULL);
	RT("{ \"type\" : \"None\", \"extra\": 1 }", TL_STYLE_ASIS, "{\"type\":\"None\"}");
	RT("{\"type\":\"RdbSnapshotFinished\",\"db_type\":\"mysql\",\"schema\":\"test_db\",\"tb\":\"a\"}", TL_STYLE_ASIS, NULL);
	RT("{\"type\":\"RdbSnapshotFinished\",\"db_type\":\"pg\",\"schema\":\"test_db_*.*\",\"tb\":\"finished_table_*$1\"}",
	   TL_STYLE_ORDER_KEY, NULL);
	/* db_type may be absent: omitted on output */
	RT("{\"type\":\"RdbSnapshot\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"single\":[\"id\",\"1\"]}}", TL_STYLE_ASIS, NULL);
	/* unknown fields ignored; whitespace accepted; field order normalised */
	RT("{ \"tb\":\"t\", \"order_key\": {\"single\": [\"id\", \"1\"]}, \"schema\":\"s\", \"zzz\":[1,2], \"db_type\":\"mysql\","
	   " \"type\":\"RdbSnapshot\" }",
	   TL_STYLE_ASIS,
	   "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"single\":[\"id\",\"1\"]}}");
}

TL_TEST(non_ascii_and_escapes)
{
	/* raw UTF-8 stays raw; \u escapes of non-ASCII come out raw */
	RT("{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"库\",\"tb\":\"表_*$1\",\"order_key\":{\"single\":[\"p.k\",\"你好\"]}}",
	   TL_STYLE_ASIS, NULL);
	RT("{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"\\u00e9\",\"tb\":\"\\u4f60\",\"order_key\":null}",
	   TL_STYLE_ASIS,
	   "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"é\",\"tb\":\"你\",\"order_key\":null}");
	/* surrogate pair */
	RT("{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"\\ud83d\\ude00\",\"tb\":\"t\",\"order_key\":null}",
	   TL_STYLE_ASIS,
	   "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"\xf0\x9f\x98\x80\",\"tb\":\"t\",\"order_key\":null}");
	/* only '"', '\' and controls escaped; short forms; others \u00XX lowercase; '/' and DEL raw */
	RT("{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"a\\\"b\\\\c\\/d\",\"tb\":\"\\b\\f\\n\\r\\t\\u0001\\u001F\\u007f\","
	   "\"order_key\":{\"single\":[\"x\\ty\",\"v\\u001b\"]}}",
	   TL_STYLE_ASIS,
	   "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"a\\\"b\\\\c/d\",\"tb\":\"\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\","
	   "\"order_key\":{\"single\":[\"x\\ty\",\"v\\u001b\"]}}");
}

TL_TEST(cdc_kept_verbatim)
{
	const char *cdc[] = {
		"{\"type\":\"MysqlCdc\",\"server_id\":\"\",\"binlog_filename\":\"mysql-bin.000054\",\"next_event_position\":3301420,"
		"\"gtid_set\":\"\",\"timestamp\":\"2024-02-28 09:21:51.000 UTC-0000\"}",
		"{\"type\":\"PgCdc\",\"lsn\":\"2/2EBAE0D8\",\"timestamp\":\"2024-02-28 09:40:47.662 UTC-0000\"}",
		"{\"type\":\"MongoCdc\", \"resume_token\":\"{\\\"_data\\\":\\\"82\\\"}\",\"operation_time\":1709544249}",
		"{\"type\":\"Redis\",\"repl_id\":\"x\",\"repl_port\":1,\"repl_offset\":2,\"now_db_id\":0,\"timestamp\":\"\"}",
		"{\"type\":\"Kafka\",\"topic\":\"t\",\"partition\":0,\"offset\":5}",
		NULL};
	size_t i;

	for (i = 0; cdc[i]; i++) {
		tl_position p = TL_POSITION_INIT, q = TL_POSITION_INIT;
		tl_error err = TL_ERROR_INIT;
		tl_buf b = TL_BUF_INIT;

		TL_CHECK_OK(tl_pos_parse_json(&p, cdc[i], strlen(cdc[i]), &err), &err);
		TL_CHECK_EQ_INT(p.type, TL_POS_OTHER);
		TL_CHECK_EQ_STR(p.raw_json, cdc[i]);
		TL_CHECK(p.schema == NULL && p.tb == NULL);
		TL_CHECK_OK(tl_pos_write_json(&p, TL_STYLE_ORDER_KEY, &b, &err), &err);
		TL_CHECK_EQ_STR(tl_buf_cstr(&b), cdc[i]);
		TL_CHECK_OK(tl_pos_copy(&q, &p, &err), &err);
		TL_CHECK_EQ_STR(q.raw_json, cdc[i]);
		TL_CHECK_EQ_STR(q.type_name, p.type_name);
		tl_pos_clear(&p);
		tl_pos_clear(&q);
		tl_buf_release(&b);
	}
	{
		/* the slice is kept exactly: a position embedded in a longer buffer */
		const char *line = "xx {\"type\":\"PgCdc\",\"lsn\":\"1/2\"} yy";
		tl_position p = TL_POSITION_INIT;
		tl_error err = TL_ERROR_INIT;

		TL_CHECK_OK(tl_pos_parse_json(&p, line + 3, 29, &err), &err);
		TL_CHECK_EQ_STR(p.raw_json, "{\"type\":\"PgCdc\",\"lsn\":\"1/2\"}");
		TL_CHECK_EQ_STR(p.type_name, "PgCdc");
		tl_pos_clear(&p);
	}
}

TL_TEST(strictness_messages)
{
	BAD("{\"type\":\"Bogus\"}", "unknown position type 'Bogus'");
	BAD("{\"type\":\"rdbsnapshot\",\"schema\":\"s\",\"tb\":\"t\"}", "unknown position type 'rdbsnapshot'");
	BAD("{\"schema\":\"s\"}", "field 'type' is missing");
	BAD("{\"type\":1}", "field 'type' must be a string");
	BAD("[1,2]", "position is not a JSON object");
	BAD("{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"single\":[\"f_0\",5]}}",
	    "value of key 'f_0' must be a string or null");
	BAD("{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"composite\":[[\"a\",\"1\"],[\"b\",true]]}}",
	    "value of key 'b' must be a string or null");
	BAD("{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":\"t\",\"order_col\":\"id\",\"value\":6}",
	    "value of key 'id' must be a string or null");
	BAD("{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"s\",\"tb\":1}", "field 'tb' must be a string");
	BAD("{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":null,\"tb\":\"t\"}", "field 'schema' must be a string");
	BAD("{\"type\":\"RdbSnapshot\",\"db_type\":5,\"schema\":\"s\",\"tb\":\"t\"}", "field 'db_type' must be a string");
	BAD("{\"type\":\"RdbSnapshotFinished\",\"db_type\":\"mysql\",\"schema\":\"s\"}", "field 'tb' is missing");
	BAD("{\"type\":\"RdbSnapshot\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"single\":[\"a\"]}}",
	    "'single' must be a [column, value] pair");
	BAD("{\"type\":\"RdbSnapshot\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"single\":[1,\"a\"]}}",
	    "column name in 'single' must be a string");
	BAD("{\"type\":\"RdbSnapshot\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"multi\":[]}}",
	    "unknown order_key variant 'multi'");
	BAD("{\"type\":\"RdbSnapshot\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":\"x\"}",
	    "field 'order_key' must be {\"single\":[..]}, {\"composite\":[..]} or null");
	BAD("{\"type\":\"RdbSnapshot\",\"schema\":\"s\",\"tb\":\"t\",\"order_key\":{\"composite\":[\"a\"]}}",
	    "a 'composite' item must be a [column, value] pair");
	BAD("{\"type\":\"RdbSnapshot\",\"schema\":\"s\",\"tb\":\"t\",\"order_col\":1}", "field 'order_col' must be a string");
	BAD("{\"type\":\"None\"", "invalid JSON at byte 13");
	BAD("{\"type\":\"None\"} x", "invalid JSON: unexpected text at byte 16");
	BAD("", "invalid JSON at byte 0");
}

TL_TEST(set_copy_and_styles)
{
	const char *cols[] = {"category_id", "binary_id"};
	const char *vals[] = {"cat1", NULL};
	tl_position p = TL_POSITION_INIT, q = TL_POSITION_INIT;
	tl_error err = TL_ERROR_INIT;
	tl_buf b = TL_BUF_INIT;

	TL_CHECK_OK(tl_pos_set(&p, TL_POS_RDB_SNAPSHOT, "mysql", "test_db_1", "bytea", TL_KEY_COMPOSITE, 2, cols, vals, &err),
		    &err);
	TL_CHECK_OK(tl_pos_copy(&q, &p, &err), &err);
	TL_CHECK_OK(tl_pos_write_json(&q, TL_STYLE_ASIS, &b, &err), &err);
	TL_CHECK_EQ_STR(tl_buf_cstr(&b), "{\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\",\"schema\":\"test_db_1\",\"tb\":\"bytea\","
					 "\"order_key\":{\"composite\":[[\"category_id\",\"cat1\"],[\"binary_id\",null]]}}");
	tl_buf_reset(&b);
	TL_CHECK_OK(tl_pos_write_order_key(&q, &b, &err), &err);
	TL_CHECK_EQ_STR(tl_buf_cstr(&b), "{\"composite\":[[\"category_id\",\"cat1\"],[\"binary_id\",null]]}");

	/* set replaces what was there */
	TL_CHECK_OK(tl_pos_set(&p, TL_POS_RDB_SNAPSHOT, "pg", "public", "t", TL_KEY_SINGLE, 1, cols, vals, &err), &err);
	tl_buf_reset(&b);
	TL_CHECK_OK(tl_pos_write_json(&p, TL_STYLE_ORDER_COL, &b, &err), &err);
	TL_CHECK_EQ_STR(tl_buf_cstr(&b), "{\"type\":\"RdbSnapshot\",\"db_type\":\"pg\",\"schema\":\"public\",\"tb\":\"t\","
					 "\"order_col\":\"category_id\",\"value\":\"cat1\"}");
	tl_buf_reset(&b);
	TL_CHECK_OK(tl_pos_write_json(&p, TL_STYLE_ASIS, &b, &err), &err);
	TL_CHECK_EQ_STR(tl_buf_cstr(&b), "{\"type\":\"RdbSnapshot\",\"db_type\":\"pg\",\"schema\":\"public\",\"tb\":\"t\","
					 "\"order_key\":{\"single\":[\"category_id\",\"cat1\"]}}");
	tl_buf_reset(&b);
	TL_CHECK_OK(tl_pos_write_order_key(&p, &b, &err), &err);
	TL_CHECK_EQ_STR(tl_buf_cstr(&b), "{\"single\":[\"category_id\",\"cat1\"]}");

	TL_CHECK_OK(tl_pos_set(&p, TL_POS_RDB_SNAPSHOT, "pg", "public", "t", TL_KEY_ABSENT, 0, NULL, NULL, &err), &err);
	tl_buf_reset(&b);
	TL_CHECK_OK(tl_pos_write_order_key(&p, &b, &err), &err);
	TL_CHECK_EQ_STR(tl_buf_cstr(&b), "null");
	tl_buf_reset(&b);
	TL_CHECK_OK(tl_pos_write_json(&p, TL_STYLE_ORDER_COL, &b, &err), &err);
	TL_CHECK_EQ_STR(tl_buf_cstr(&b), "{\"type\":\"RdbSnapshot\",\"db_type\":\"pg\",\"schema\":\"public\",\"tb\":\"t\",\"order_key\":null}");

	TL_CHECK_OK(tl_pos_set(&p, TL_POS_RDB_SNAPSHOT_FINISHED, "mysql", "test_db", "a", TL_KEY_ABSENT, 0, NULL, NULL, &err), &err);
	tl_buf_reset(&b);
	TL_CHECK_OK(tl_pos_write_json(&p, TL_STYLE_ORDER_KEY, &b, &err), &err);
	TL_CHECK_EQ_STR(tl_buf_cstr(&b), "{\"type\":\"RdbSnapshotFinished\",\"db_type\":\"mysql\",\"schema\":\"test_db\",\"tb\":\"a\"}");
	TL_CHECK_EQ_STR(p.type_name, "RdbSnapshotFinished");

	TL_CHECK_OK(tl_pos_set(&p, TL_POS_NONE, NULL, NULL, NULL, TL_KEY_ABSENT, 0, NULL, NULL, &err), &err);
	tl_buf_reset(&b);
	TL_CHECK_OK(tl_pos_write_json(&p, TL_STYLE_ASIS, &b, &err), &err);
	TL_CHECK_EQ_STR(tl_buf_cstr(&b), "{\"type\":\"None\"}");

	/* shape errors */
	TL_CHECK(tl_pos_set(&p, TL_POS_RDB_SNAPSHOT, "pg", "s", "t", TL_KEY_SINGLE, 2, cols, vals, &err) == TL_ERR_INTERNAL);
	TL_CHECK(tl_pos_set(&p, TL_POS_OTHER, "pg", "s", "t", TL_KEY_ABSENT, 0, NULL, NULL, &err) == TL_ERR_INTERNAL);
	TL_CHECK_EQ_STR(p.type_name, "None"); /* untouched by the failed calls */

	tl_pos_clear(&p);
	tl_pos_clear(&q);
	tl_buf_release(&b);
}

static void check_to_ext(const char *file, int line, const char *tagged, const char *want)
{
	tl_error err = TL_ERROR_INIT;
	tl_buf b = TL_BUF_INIT;
	int rc = tl_pos_mongo_id_to_extjson(tagged, &b, &err);

	if (want == NULL) {
		if (rc != TL_ERR_PARSE)
			tl_test_fail(file, line, "to_extjson(%s) = %d \"%s\", expected a parse error", tagged, rc,
				     tl_buf_cstr(&b));
		else if (b.len != 0)
			tl_test_fail(file, line, "to_extjson(%s) left output behind", tagged);
	} else if (rc != 0) {
		tl_test_fail(file, line, "to_extjson(%s) failed: %s", tagged, err.message);
	} else if (strcmp(tl_buf_cstr(&b), want) != 0) {
		tl_test_fail(file, line, "to_extjson(%s) = %s, expected %s", tagged, tl_buf_cstr(&b), want);
	}
	tl_buf_release(&b);
}
#define TO_EXT(t, w) check_to_ext(__FILE__, __LINE__, t, w)

static void check_from_ext(const char *file, int line, const char *ext, const char *want)
{
	tl_error err = TL_ERROR_INIT;
	tl_buf b = TL_BUF_INIT;
	int rc = tl_pos_mongo_id_from_extjson(ext, &b, &err);

	if (want == NULL) {
		if (rc != TL_ERR_PARSE)
			tl_test_fail(file, line, "from_extjson(%s) = %d, expected a parse error", ext, rc);
	} else if (rc != 0) {
		tl_test_fail(file, line, "from_extjson(%s) failed: %s", ext, err.message);
	} else if (strcmp(tl_buf_cstr(&b), want) != 0) {
		tl_test_fail(file, line, "from_extjson(%s) = %s, expected %s", ext, tl_buf_cstr(&b), want);
	}
	tl_buf_release(&b);
}
#define FROM_EXT(e, w) check_from_ext(__FILE__, __LINE__, e, w)

TL_TEST(mongo_id_to_extjson)
{
	TO_EXT("{\"ObjectId\":{\"$oid\":\"648195af9aa9cadd41a9dcb2\"}}", "{\"$oid\":\"648195af9aa9cadd41a9dcb2\"}");
	TO_EXT("{\"ObjectId\":\"648195af9aa9cadd41a9dcb2\"}", "{\"$oid\":\"648195af9aa9cadd41a9dcb2\"}");
	TO_EXT("648195af9aa9cadd41a9dcb2", "{\"$oid\":\"648195af9aa9cadd41a9dcb2\"}");
	TO_EXT("648195AF9AA9CADD41A9DCB2", "{\"$oid\":\"648195af9aa9cadd41a9dcb2\"}");
	TO_EXT("{\"String\":\"b\"}", "\"b\"");
	TO_EXT("{\"String\":\"a\\\"\\u00e9\\n\"}", "\"a\\\"é\\n\"");
	TO_EXT("{\"Int32\":2}", "{\"$numberInt\":\"2\"}");
	TO_EXT("{\"Int32\":-2147483648}", "{\"$numberInt\":\"-2147483648\"}");
	TO_EXT("{\"Int64\":2}", "{\"$numberLong\":\"2\"}");
	TO_EXT("{\"Int64\": 9223372036854775807 }", "{\"$numberLong\":\"9223372036854775807\"}");
	TO_EXT("{\"Double\":1.5}", "{\"$numberDouble\":\"1.5\"}");
	TO_EXT("{\"Double\":2}", "{\"$numberDouble\":\"2.0\"}");
	TO_EXT("{\"DateTime\":{\"$date\":{\"$numberLong\":\"1704153600000\"}}}", "{\"$date\":{\"$numberLong\":\"1704153600000\"}}");
	TO_EXT("{\"DateTime\":{\"$date\":\"2024-01-02T00:00:00Z\"}}", "{\"$date\":{\"$numberLong\":\"1704153600000\"}}");
	TO_EXT("{\"DateTime\":{\"$date\":\"2024-01-02T08:00:00.123+08:00\"}}", "{\"$date\":{\"$numberLong\":\"1704153600123\"}}");
	TO_EXT("{\"DateTime\":{\"$date\":\"1969-12-31T23:59:59.9Z\"}}", "{\"$date\":{\"$numberLong\":\"-100\"}}");
	TO_EXT("{\"DateTime\":{\"$date\":1704153600000}}", "{\"$date\":{\"$numberLong\":\"1704153600000\"}}");
	TO_EXT("{\"Timestamp\":{\"t\":1704153600,\"i\":3}}", "{\"$timestamp\":{\"t\":1704153600,\"i\":3}}");
	TO_EXT("{\"Timestamp\":{\"$timestamp\":{\"t\":4294967295,\"i\":1}}}", "{\"$timestamp\":{\"t\":4294967295,\"i\":1}}");
	TO_EXT("{\"Symbol\":\"sym\"}", "{\"$symbol\":\"sym\"}");
	TO_EXT("{\"JavaScriptCode\":\"function(){}\"}", "{\"$code\":\"function(){}\"}");
	TO_EXT("{\"CanonicalExtJson\":{\"$date\":{\"$numberLong\":\"1704153600000\"}}}",
	       "{\"$date\":{\"$numberLong\":\"1704153600000\"}}");
	TO_EXT("{\"CanonicalExtJson\":{\"$binary\":{\"base64\":\"Ag==\",\"subType\":\"00\"}}}",
	       "{\"$binary\":{\"base64\":\"Ag==\",\"subType\":\"00\"}}");
	TO_EXT("{\"CanonicalExtJson\":{\"$numberDecimal\":\"2.2\"}}", "{\"$numberDecimal\":\"2.2\"}");
	TO_EXT("{\"CanonicalExtJson\": { \"k\" : { \"$numberInt\" : \"2\" } } }", "{\"k\":{\"$numberInt\":\"2\"}}");
	TO_EXT("{\"CanonicalExtJson\":{\"$minKey\":1}}", "{\"$minKey\":1}");
	TO_EXT("{\"CanonicalExtJson\":{\"$date\":\"2024-01-02T00:00:00Z\"}}", "{\"$date\":{\"$numberLong\":\"1704153600000\"}}");

	/* a CanonicalExtJson body that current ape-dts would tag is normalised like the tag */
	TO_EXT("{\"CanonicalExtJson\":{\"$date\":{\"$numberLong\":\"0852076800000\"}}}",
	       "{\"$date\":{\"$numberLong\":\"852076800000\"}}");
	TO_EXT("{\"CanonicalExtJson\":{\"$oid\":\"648195AF9AA9CADD41A9DCB2\"}}", "{\"$oid\":\"648195af9aa9cadd41a9dcb2\"}");
	TO_EXT("{\"CanonicalExtJson\":{\"$numberInt\":\"-0\"}}", "{\"$numberInt\":\"0\"}");
	TO_EXT("{\"CanonicalExtJson\":\"s\"}", "\"s\"");
	TO_EXT("{\"CanonicalExtJson\":{\"$oid\":\"zz\"}}", NULL);

	TO_EXT("", NULL);
	TO_EXT("648195af9aa9cadd41a9dcb", NULL);
	TO_EXT("{\"ObjectId\":\"xyz\"}", NULL);
	TO_EXT("{\"Int32\":2147483648}", NULL);
	TO_EXT("{\"Int32\":2.5}", NULL);
	TO_EXT("{\"Int64\":\"2\"}", NULL);
	TO_EXT("{\"Int64\":9223372036854775808}", NULL);
	TO_EXT("{\"String\":1}", NULL);
	TO_EXT("{\"Nope\":1}", NULL);
	TO_EXT("{\"String\":\"a\",\"Int32\":1}", NULL);
	TO_EXT("{\"DateTime\":{\"$date\":\"2024-02-30T00:00:00Z\"}}", NULL);
	TO_EXT("{\"DateTime\":{\"$date\":\"2024-01-02\"}}", NULL);
	TO_EXT("{\"Timestamp\":{\"t\":-1,\"i\":0}}", NULL);
	TO_EXT("{\"String\":\"b\"} trailing", NULL);
	TO_EXT("\"b\"", NULL);
}

TL_TEST(mongo_id_from_extjson)
{
	/* libbson's canonical printing has spaces */
	FROM_EXT("{ \"$oid\" : \"648195af9aa9cadd41a9dcb2\" }", "{\"ObjectId\":{\"$oid\":\"648195af9aa9cadd41a9dcb2\"}}");
	FROM_EXT("\"b\"", "{\"String\":\"b\"}");
	FROM_EXT("\"é\\u0001\"", "{\"String\":\"é\\u0001\"}");
	FROM_EXT("{ \"$numberInt\" : \"2\" }", "{\"Int32\":2}");
	FROM_EXT("{ \"$numberLong\" : \"-9223372036854775808\" }", "{\"Int64\":-9223372036854775808}");
	FROM_EXT("{ \"$date\" : { \"$numberLong\" : \"1704153600000\" } }",
		 "{\"DateTime\":{\"$date\":{\"$numberLong\":\"1704153600000\"}}}");
	FROM_EXT("{ \"$date\" : \"2024-01-02T00:00:00Z\" }", "{\"DateTime\":{\"$date\":{\"$numberLong\":\"1704153600000\"}}}");
	FROM_EXT("{ \"$timestamp\" : { \"t\" : 10, \"i\" : 2 } }", "{\"Timestamp\":{\"$timestamp\":{\"t\":10,\"i\":2}}}");
	FROM_EXT("{ \"$symbol\" : \"s\" }", "{\"Symbol\":\"s\"}");
	FROM_EXT("{ \"$code\" : \"c\" }", "{\"JavaScriptCode\":\"c\"}");
	FROM_EXT("{ \"$code\" : \"c\", \"$scope\" : { } }", "{\"CanonicalExtJson\":{\"$code\":\"c\",\"$scope\":{}}}");
	FROM_EXT("{ \"$binary\" : { \"base64\" : \"Ag==\", \"subType\" : \"00\" } }",
		 "{\"CanonicalExtJson\":{\"$binary\":{\"base64\":\"Ag==\",\"subType\":\"00\"}}}");
	FROM_EXT("{ \"$numberDecimal\" : \"2.2\" }", "{\"CanonicalExtJson\":{\"$numberDecimal\":\"2.2\"}}");
	FROM_EXT("{ \"$numberDouble\" : \"1.5\" }", "{\"CanonicalExtJson\":{\"$numberDouble\":\"1.5\"}}");
	FROM_EXT("{ \"k\" : { \"$numberInt\" : \"2\" } }", "{\"CanonicalExtJson\":{\"k\":{\"$numberInt\":\"2\"}}}");
	FROM_EXT("{ \"$minKey\" : 1 }", "{\"CanonicalExtJson\":{\"$minKey\":1}}");
	FROM_EXT("{ \"$maxKey\" : 1 }", "{\"CanonicalExtJson\":{\"$maxKey\":1}}");
	FROM_EXT("true", "{\"CanonicalExtJson\":true}");
	FROM_EXT("null", "{\"CanonicalExtJson\":null}");
	FROM_EXT("{ }", "{\"CanonicalExtJson\":{}}");

	FROM_EXT("{ \"$oid\" : \"zz\" }", NULL);
	FROM_EXT("{ \"$numberInt\" : \"2147483648\" }", NULL);
	FROM_EXT("not json", NULL);
}

TL_TEST(mongo_id_both_ways)
{
	/* every written tag reads back to the same extended JSON */
	const char *ext[] = {"{\"$oid\":\"648195af9aa9cadd41a9dcb2\"}",
			     "\"b\"",
			     "{\"$numberInt\":\"2\"}",
			     "{\"$numberLong\":\"2\"}",
			     "{\"$date\":{\"$numberLong\":\"1704153600000\"}}",
			     "{\"$timestamp\":{\"t\":1,\"i\":2}}",
			     "{\"$symbol\":\"s\"}",
			     "{\"$code\":\"c\"}",
			     "{\"$numberDecimal\":\"2.2\"}",
			     "{\"$binary\":{\"base64\":\"Ag==\",\"subType\":\"00\"}}",
			     NULL};
	size_t i;

	for (i = 0; ext[i]; i++) {
		tl_error err = TL_ERROR_INIT;
		tl_buf tagged = TL_BUF_INIT, back = TL_BUF_INIT;

		TL_CHECK_OK(tl_pos_mongo_id_from_extjson(ext[i], &tagged, &err), &err);
		TL_CHECK_OK(tl_pos_mongo_id_to_extjson(tl_buf_cstr(&tagged), &back, &err), &err);
		TL_CHECK_EQ_STR(tl_buf_cstr(&back), ext[i]);
		tl_buf_release(&tagged);
		tl_buf_release(&back);
	}
}

TL_TEST(mongo_position_value_round_trip)
{
	/* a mongo position: the value is a JSON string holding tagged JSON (§2.5) */
	RT("{\"type\":\"RdbSnapshot\",\"db_type\":\"mongo\",\"schema\":\"test_db_1\",\"tb\":\"resume_tb_1\","
	   "\"order_key\":{\"single\":[\"_id\",\"{\\\"ObjectId\\\":{\\\"$oid\\\":\\\"648195af9aa9cadd41a9dcb2\\\"}}\"]}}",
	   TL_STYLE_ASIS, NULL);
}
