/*
 * position.c - the ape-dts position codec (include/tideline/position.h).
 *
 * Parsing uses cJSON with the strictness of docs/ape-dts-resume.md §2.2 (serde's rules: known
 * "type", string fields, key values strings or null, unknown fields ignored). Writing does
 * not use cJSON: the bytes must equal what ape-dts (Rust serde_json) writes — compact, keys
 * in declaration order, non-ASCII raw, only '"', '\\' and control characters escaped, so
 * the JSON is produced by hand here. The Mongo `_id` helpers (§2.5) convert between
 * ape-dts' externally tagged form and MongoDB canonical extended JSON.
 *
 * This is the only file of the codec that includes cJSON; it keeps no global state (the
 * parse error position comes from cJSON_ParseWithLengthOpts, never cJSON_GetErrorPtr).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "tideline/position.h"

/* ---------------------------------------------------------------------------------------
 * Lifecycle
 */

void tl_pos_init(tl_position *p)
{
	tl_position init = TL_POSITION_INIT;

	*p = init;
}

void tl_pos_clear(tl_position *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nkeys; i++) {
		free(p->keys[i].col);
		free(p->keys[i].val);
	}
	free(p->keys);
	free(p->type_name);
	free(p->db_type);
	free(p->schema);
	free(p->tb);
	free(p->raw_json);
	tl_pos_init(p);
}

static int dup_opt(char **out, const char *s, tl_error *err)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	if (!*out)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory copying a position");
	return 0;
}

static int dupn(char **out, const char *s, size_t n, tl_error *err)
{
	*out = tl_strndup(s, n);
	if (!*out)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory copying a position");
	return 0;
}

int tl_pos_copy(tl_position *dst, const tl_position *src, tl_error *err)
{
	tl_position tmp = TL_POSITION_INIT;
	size_t i;
	int rc;

	tmp.type = src->type;
	tmp.form = src->form;
	if ((rc = dup_opt(&tmp.type_name, src->type_name, err)) ||
	    (rc = dup_opt(&tmp.db_type, src->db_type, err)) ||
	    (rc = dup_opt(&tmp.schema, src->schema, err)) ||
	    (rc = dup_opt(&tmp.tb, src->tb, err)) ||
	    (rc = dup_opt(&tmp.raw_json, src->raw_json, err)))
		goto cleanup;
	if (src->nkeys) {
		tmp.keys = calloc(src->nkeys, sizeof(*tmp.keys));
		if (!tmp.keys) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory copying a position");
			goto cleanup;
		}
		for (i = 0; i < src->nkeys; i++) {
			tmp.nkeys = i + 1;
			if ((rc = dup_opt(&tmp.keys[i].col, src->keys[i].col, err)) ||
			    (rc = dup_opt(&tmp.keys[i].val, src->keys[i].val, err)))
				goto cleanup;
		}
	}
	*dst = tmp;
	tl_pos_init(&tmp);
cleanup:
	tl_pos_clear(&tmp);
	return rc;
}

static const char *type_name_of(enum tl_pos_type t)
{
	switch (t) {
	case TL_POS_NONE: return "None";
	case TL_POS_RDB_SNAPSHOT: return "RdbSnapshot";
	case TL_POS_RDB_SNAPSHOT_FINISHED: return "RdbSnapshotFinished";
	default: return NULL;
	}
}

int tl_pos_set(tl_position *p, enum tl_pos_type type, const char *db_type, const char *schema,
	       const char *tb, enum tl_key_form form, size_t nkeys, const char *const *cols,
	       const char *const *vals, tl_error *err)
{
	tl_position tmp = TL_POSITION_INIT;
	size_t i;
	int rc = 0;

	if (type == TL_POS_OTHER)
		return tl_error_set(err, TL_ERR_INTERNAL, "tl_pos_set cannot build a non-snapshot position");
	if ((form == TL_KEY_ABSENT && nkeys != 0) ||
	    ((form == TL_KEY_SINGLE || form == TL_KEY_ORDER_COL) && nkeys != 1))
		return tl_error_set(err, TL_ERR_INTERNAL, "key form does not match %zu key columns", nkeys);
	tmp.type = type;
	tmp.form = type == TL_POS_RDB_SNAPSHOT ? form : TL_KEY_ABSENT;
	if ((rc = dup_opt(&tmp.type_name, type_name_of(type), err)) ||
	    (rc = dup_opt(&tmp.db_type, db_type, err)) ||
	    (rc = dup_opt(&tmp.schema, schema, err)) ||
	    (rc = dup_opt(&tmp.tb, tb, err)))
		goto cleanup;
	if (type == TL_POS_RDB_SNAPSHOT && nkeys) {
		tmp.keys = calloc(nkeys, sizeof(*tmp.keys));
		if (!tmp.keys) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory building a position");
			goto cleanup;
		}
		for (i = 0; i < nkeys; i++) {
			tmp.nkeys = i + 1;
			if (!cols[i]) {
				rc = tl_error_set(err, TL_ERR_INTERNAL, "key column %zu has no name", i);
				goto cleanup;
			}
			if ((rc = dup_opt(&tmp.keys[i].col, cols[i], err)) ||
			    (rc = dup_opt(&tmp.keys[i].val, vals ? vals[i] : NULL, err)))
				goto cleanup;
		}
	}
	tl_pos_clear(p);
	*p = tmp;
	tl_pos_init(&tmp);
cleanup:
	tl_pos_clear(&tmp);
	return rc;
}

/* ---------------------------------------------------------------------------------------
 * Parsing
 */

static int is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Parses exactly one JSON value spanning json[0..len) (surrounding whitespace allowed). */
static int parse_whole(cJSON **out, const char *json, size_t len, tl_error *err)
{
	const char *end = NULL;
	cJSON *root;

	*out = NULL;
	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (!root) {
		size_t at = end && end >= json ? (size_t)(end - json) : 0;
		return tl_error_set(err, TL_ERR_PARSE, "invalid JSON at byte %zu", at);
	}
	while (end < json + len && is_ws((unsigned char)*end))
		end++;
	if (end < json + len) {
		cJSON_Delete(root);
		return tl_error_set(err, TL_ERR_PARSE, "invalid JSON: unexpected text at byte %zu",
				    (size_t)(end - json));
	}
	*out = root;
	return 0;
}

static int get_str_field(char **out, const cJSON *obj, const char *name, int required, tl_error *err)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	*out = NULL;
	if (!it) {
		if (required)
			return tl_error_set(err, TL_ERR_PARSE, "field '%s' is missing", name);
		return 0;
	}
	if (!cJSON_IsString(it))
		return tl_error_set(err, TL_ERR_PARSE, "field '%s' must be a string", name);
	return dup_opt(out, it->valuestring, err);
}

/* One [column, value] pair; value is a string or null. */
static int parse_pair(tl_keypair *kp, const cJSON *pair, const char *where, tl_error *err)
{
	const cJSON *c, *v;

	if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2)
		return tl_error_set(err, TL_ERR_PARSE, "%s must be a [column, value] pair", where);
	c = pair->child;
	v = c->next;
	if (!cJSON_IsString(c))
		return tl_error_set(err, TL_ERR_PARSE, "column name in %s must be a string", where);
	if (!cJSON_IsString(v) && !cJSON_IsNull(v))
		return tl_error_set(err, TL_ERR_PARSE, "value of key '%.200s' must be a string or null",
				    c->valuestring);
	if (dup_opt(&kp->col, c->valuestring, err))
		return TL_ERR_NOMEM;
	if (cJSON_IsString(v) && dup_opt(&kp->val, v->valuestring, err))
		return TL_ERR_NOMEM;
	return 0;
}

static int alloc_keys(tl_position *p, size_t n, tl_error *err)
{
	if (n == 0)
		return 0;
	p->keys = calloc(n, sizeof(*p->keys));
	if (!p->keys)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory parsing a position");
	return 0;
}

static int parse_order_key(tl_position *p, const cJSON *ok, tl_error *err)
{
	const cJSON *body, *it;
	size_t n, i;
	int rc;

	if (!cJSON_IsObject(ok) || !ok->child || ok->child->next)
		return tl_error_set(err, TL_ERR_PARSE,
				    "field 'order_key' must be {\"single\":[..]}, {\"composite\":[..]} or null");
	body = ok->child;
	if (strcmp(body->string, "single") == 0) {
		if ((rc = alloc_keys(p, 1, err)))
			return rc;
		p->nkeys = 1;
		p->form = TL_KEY_SINGLE;
		return parse_pair(&p->keys[0], body, "'single'", err);
	}
	if (strcmp(body->string, "composite") != 0)
		return tl_error_set(err, TL_ERR_PARSE, "unknown order_key variant '%.200s'", body->string);
	if (!cJSON_IsArray(body))
		return tl_error_set(err, TL_ERR_PARSE, "'composite' must be a list of [column, value] pairs");
	n = (size_t)cJSON_GetArraySize(body);
	if ((rc = alloc_keys(p, n, err)))
		return rc;
	p->form = TL_KEY_COMPOSITE;
	for (i = 0, it = body->child; it; it = it->next, i++) {
		p->nkeys = i + 1;
		if ((rc = parse_pair(&p->keys[i], it, "a 'composite' item", err)))
			return rc;
	}
	return 0;
}

static int parse_key(tl_position *p, const cJSON *root, tl_error *err)
{
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(root, "order_key");
	const cJSON *oc, *val;
	int rc;

	if (ok && !cJSON_IsNull(ok))
		return parse_order_key(p, ok, err);
	oc = cJSON_GetObjectItemCaseSensitive(root, "order_col");
	if (!oc || cJSON_IsNull(oc))
		return 0; /* TL_KEY_ABSENT */
	if (!cJSON_IsString(oc))
		return tl_error_set(err, TL_ERR_PARSE, "field 'order_col' must be a string");
	val = cJSON_GetObjectItemCaseSensitive(root, "value");
	if (val && !cJSON_IsString(val) && !cJSON_IsNull(val))
		return tl_error_set(err, TL_ERR_PARSE, "value of key '%.200s' must be a string or null",
				    oc->valuestring);
	if ((rc = alloc_keys(p, 1, err)))
		return rc;
	p->nkeys = 1;
	p->form = TL_KEY_ORDER_COL;
	if ((rc = dup_opt(&p->keys[0].col, oc->valuestring, err)))
		return rc;
	if (cJSON_IsString(val))
		return dup_opt(&p->keys[0].val, val->valuestring, err);
	return 0;
}

/* Non-snapshot variants of ape-dts' Position enum: carried verbatim. */
static const char *const other_types[] = {
	"Kafka", "MysqlCdc", "PgCdc", "MongoCdc", "Redis", "FoxlakeS3", NULL
};

int tl_pos_parse_json(tl_position *out, const char *json, size_t len, tl_error *err)
{
	tl_position p = TL_POSITION_INIT;
	cJSON *root = NULL;
	const cJSON *type;
	const char *tn;
	size_t i;
	int rc;

	tl_pos_init(out);
	if ((rc = parse_whole(&root, json, len, err)))
		goto cleanup;
	if (!cJSON_IsObject(root)) {
		rc = tl_error_set(err, TL_ERR_PARSE, "position is not a JSON object");
		goto cleanup;
	}
	type = cJSON_GetObjectItemCaseSensitive(root, "type");
	if (!type) {
		rc = tl_error_set(err, TL_ERR_PARSE, "field 'type' is missing");
		goto cleanup;
	}
	if (!cJSON_IsString(type)) {
		rc = tl_error_set(err, TL_ERR_PARSE, "field 'type' must be a string");
		goto cleanup;
	}
	tn = type->valuestring;
	if (strcmp(tn, "None") == 0) {
		p.type = TL_POS_NONE;
	} else if (strcmp(tn, "RdbSnapshot") == 0) {
		p.type = TL_POS_RDB_SNAPSHOT;
	} else if (strcmp(tn, "RdbSnapshotFinished") == 0) {
		p.type = TL_POS_RDB_SNAPSHOT_FINISHED;
	} else {
		for (i = 0; other_types[i]; i++)
			if (strcmp(tn, other_types[i]) == 0)
				break;
		if (!other_types[i]) {
			rc = tl_error_set(err, TL_ERR_PARSE, "unknown position type '%.200s'", tn);
			goto cleanup;
		}
		p.type = TL_POS_OTHER;
	}
	if ((rc = dup_opt(&p.type_name, tn, err)))
		goto cleanup;
	if (p.type == TL_POS_OTHER) {
		while (len && is_ws((unsigned char)json[len - 1]))
			len--;
		while (len && is_ws((unsigned char)*json)) {
			json++;
			len--;
		}
		if ((rc = dupn(&p.raw_json, json, len, err)))
			goto cleanup;
	} else if (p.type != TL_POS_NONE) {
		if ((rc = get_str_field(&p.db_type, root, "db_type", 0, err)) ||
		    (rc = get_str_field(&p.schema, root, "schema", 1, err)) ||
		    (rc = get_str_field(&p.tb, root, "tb", 1, err)))
			goto cleanup;
		if (p.type == TL_POS_RDB_SNAPSHOT && (rc = parse_key(&p, root, err)))
			goto cleanup;
	}
	*out = p;
	tl_pos_init(&p);
cleanup:
	tl_pos_clear(&p);
	cJSON_Delete(root);
	return rc;
}

/* ---------------------------------------------------------------------------------------
 * Writing (serde_json compact style)
 */

/* Appends s[0..n) as a JSON string literal escaped as serde_json does. */
int tl_pos_put_json_string(tl_buf *b, const char *s, size_t n, tl_error *err)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;
	int rc;

	if ((rc = tl_buf_reserve(b, n + 2, err)))
		return rc;
	b->data[b->len++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		size_t elen = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (i > run && (rc = tl_buf_put(b, s + run, i - run, err)))
			return rc;
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
		}
		if ((rc = tl_buf_put(b, esc, elen, err)))
			return rc;
	}
	if (n > run && (rc = tl_buf_put(b, s + run, n - run, err)))
		return rc;
	return tl_buf_putc(b, '"', err);
}

static int put_json_str(tl_buf *b, const char *s, tl_error *err)
{
	return tl_pos_put_json_string(b, s, strlen(s), err);
}

static int put_str_or_null(tl_buf *b, const char *s, tl_error *err)
{
	return s ? put_json_str(b, s, err) : tl_buf_put(b, "null", 4, err);
}

static int put_pair(tl_buf *b, const tl_keypair *kp, tl_error *err)
{
	int rc;

	if ((rc = tl_buf_putc(b, '[', err)) || (rc = put_json_str(b, kp->col, err)) ||
	    (rc = tl_buf_putc(b, ',', err)) || (rc = put_str_or_null(b, kp->val, err)))
		return rc;
	return tl_buf_putc(b, ']', err);
}

static int put_single(tl_buf *b, const tl_keypair *kp, tl_error *err)
{
	int rc;

	if ((rc = tl_buf_puts(b, "{\"single\":", err)) || (rc = put_pair(b, kp, err)))
		return rc;
	return tl_buf_putc(b, '}', err);
}

static int put_composite(tl_buf *b, const tl_position *p, tl_error *err)
{
	size_t i;
	int rc;

	if ((rc = tl_buf_puts(b, "{\"composite\":[", err)))
		return rc;
	for (i = 0; i < p->nkeys; i++) {
		if (i && (rc = tl_buf_putc(b, ',', err)))
			return rc;
		if ((rc = put_pair(b, &p->keys[i], err)))
			return rc;
	}
	return tl_buf_puts(b, "]}", err);
}

static int check_key_shape(const tl_position *p, tl_error *err)
{
	size_t i;

	if ((p->form == TL_KEY_SINGLE || p->form == TL_KEY_ORDER_COL) && p->nkeys != 1)
		return tl_error_set(err, TL_ERR_INTERNAL, "a single-column key holds %zu columns", p->nkeys);
	if (p->nkeys && !p->keys)
		return tl_error_set(err, TL_ERR_INTERNAL, "position key columns are missing");
	for (i = 0; i < p->nkeys; i++)
		if (!p->keys[i].col)
			return tl_error_set(err, TL_ERR_INTERNAL, "key column %zu has no name", i);
	return 0;
}

int tl_pos_write_order_key(const tl_position *p, tl_buf *out, tl_error *err)
{
	int rc;

	if ((rc = check_key_shape(p, err)))
		return rc;
	switch (p->form) {
	case TL_KEY_ORDER_COL:
	case TL_KEY_SINGLE:
		return put_single(out, &p->keys[0], err);
	case TL_KEY_COMPOSITE:
		return put_composite(out, p, err);
	default:
		return tl_buf_put(out, "null", 4, err);
	}
}

static int put_order_col(tl_buf *b, const tl_keypair *kp, tl_error *err)
{
	int rc;

	if ((rc = tl_buf_puts(b, ",\"order_col\":", err)) || (rc = put_json_str(b, kp->col, err)) ||
	    (rc = tl_buf_puts(b, ",\"value\":", err)))
		return rc;
	return put_str_or_null(b, kp->val, err);
}

static int put_key(tl_buf *b, const tl_position *p, enum tl_pos_style style, tl_error *err)
{
	int rc;

	if ((rc = check_key_shape(p, err)))
		return rc;
	if (style == TL_STYLE_ORDER_COL && p->nkeys == 1 && p->form != TL_KEY_ABSENT)
		return put_order_col(b, &p->keys[0], err);
	if (style == TL_STYLE_ASIS && p->form == TL_KEY_ORDER_COL)
		return put_order_col(b, &p->keys[0], err);
	if (style == TL_STYLE_ORDER_COL && p->form == TL_KEY_COMPOSITE && p->nkeys == 0) {
		/* no key columns at all: nothing to resume from */
		return tl_buf_puts(b, ",\"order_key\":null", err);
	}
	if ((rc = tl_buf_puts(b, ",\"order_key\":", err)))
		return rc;
	return tl_pos_write_order_key(p, b, err);
}

int tl_pos_write_json(const tl_position *p, enum tl_pos_style style, tl_buf *out, tl_error *err)
{
	size_t mark = out->len;
	int rc = 0;

	switch (p->type) {
	case TL_POS_NONE:
		return tl_buf_puts(out, "{\"type\":\"None\"}", err);
	case TL_POS_OTHER:
		if (!p->raw_json)
			return tl_error_set(err, TL_ERR_INTERNAL, "position of type '%s' has no JSON text",
					    p->type_name ? p->type_name : "?");
		return tl_buf_puts(out, p->raw_json, err);
	case TL_POS_RDB_SNAPSHOT:
	case TL_POS_RDB_SNAPSHOT_FINISHED:
		break;
	default:
		return tl_error_set(err, TL_ERR_INTERNAL, "unknown position type %d", (int)p->type);
	}
	if (!p->schema || !p->tb)
		return tl_error_set(err, TL_ERR_INTERNAL, "a snapshot position needs a schema and a table");
	if ((rc = tl_buf_puts(out, p->type == TL_POS_RDB_SNAPSHOT ? "{\"type\":\"RdbSnapshot\""
								  : "{\"type\":\"RdbSnapshotFinished\"",
			      err)))
		goto cleanup;
	if (p->db_type &&
	    ((rc = tl_buf_puts(out, ",\"db_type\":", err)) || (rc = put_json_str(out, p->db_type, err))))
		goto cleanup;
	if ((rc = tl_buf_puts(out, ",\"schema\":", err)) || (rc = put_json_str(out, p->schema, err)) ||
	    (rc = tl_buf_puts(out, ",\"tb\":", err)) || (rc = put_json_str(out, p->tb, err)))
		goto cleanup;
	if (p->type == TL_POS_RDB_SNAPSHOT && (rc = put_key(out, p, style, err)))
		goto cleanup;
	rc = tl_buf_putc(out, '}', err);
cleanup:
	if (rc) /* leave the buffer as it was */
		tl_buf_truncate(out, mark);
	return rc;
}

/* ---------------------------------------------------------------------------------------
 * MongoDB _id: tagged JSON <-> canonical extended JSON (§2.5)
 */

/* Shortest text that reads back as the same double. */
static int put_double(tl_buf *b, double d, int canonical_dot, tl_error *err)
{
	char tmp[64];
	int prec;

	if (!isfinite(d))
		return tl_buf_puts(b, canonical_dot ? (isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity")
						    : "null",
				   err);
	if (!canonical_dot && floor(d) == d && fabs(d) < 9007199254740992.0) {
		snprintf(tmp, sizeof(tmp), "%.0f", d);
		return tl_buf_puts(b, tmp, err);
	}
	for (prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	if (canonical_dot && strspn(tmp, "0123456789-") == strlen(tmp))
		return tl_buf_printf(b, err, "%s.0", tmp);
	return tl_buf_puts(b, tmp, err);
}

/* Compact serde-style serialization of a cJSON tree. */
static int put_cjson(tl_buf *b, const cJSON *v, tl_error *err)
{
	const cJSON *c;
	int rc;

	if (cJSON_IsNull(v))
		return tl_buf_puts(b, "null", err);
	if (cJSON_IsTrue(v))
		return tl_buf_puts(b, "true", err);
	if (cJSON_IsFalse(v))
		return tl_buf_puts(b, "false", err);
	if (cJSON_IsNumber(v))
		return put_double(b, v->valuedouble, 0, err);
	if (cJSON_IsString(v))
		return put_json_str(b, v->valuestring, err);
	if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
		int obj = cJSON_IsObject(v);

		if ((rc = tl_buf_putc(b, obj ? '{' : '[', err)))
			return rc;
		for (c = v->child; c; c = c->next) {
			if (c != v->child && (rc = tl_buf_putc(b, ',', err)))
				return rc;
			if (obj && ((rc = put_json_str(b, c->string, err)) || (rc = tl_buf_putc(b, ':', err))))
				return rc;
			if ((rc = put_cjson(b, c, err)))
				return rc;
		}
		return tl_buf_putc(b, obj ? '}' : ']', err);
	}
	return tl_error_set(err, TL_ERR_PARSE, "unsupported JSON value");
}

static int is_hex24(const char *s)
{
	size_t i;

	for (i = 0; i < 24; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return s[24] == '\0';
}

static int put_oid_body(tl_buf *b, const char *hex, tl_error *err)
{
	char low[25];
	size_t i;

	for (i = 0; i < 24; i++)
		low[i] = (hex[i] >= 'A' && hex[i] <= 'F') ? (char)(hex[i] - 'A' + 'a') : hex[i];
	low[24] = '\0';
	return tl_buf_printf(b, err, "{\"$oid\":\"%s\"}", low);
}

/* Decimal integer text (optional '-', digits) within [lo, hi]. */
static int parse_int_text(const char *s, size_t n, long long lo, long long hi, long long *out)
{
	char tmp[32];
	char *end = NULL;
	size_t i = 0;
	long long v;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	if (s[0] == '-')
		i = 1;
	if (i == n)
		return -1;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	v = strtoll(tmp, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/*
 * The exact text of the value of a one-member object `{"k": VALUE}` (already validated
 * by cJSON): from after the ':' to before the last '}', trimmed.
 */
static int member_value_text(const char *text, const char **vs, size_t *vl)
{
	const char *p = text, *e;

	while (is_ws((unsigned char)*p))
		p++;
	if (*p++ != '{')
		return -1;
	while (is_ws((unsigned char)*p))
		p++;
	if (*p++ != '"')
		return -1;
	while (*p && *p != '"') {
		if (*p == '\\' && p[1])
			p++;
		p++;
	}
	if (*p++ != '"')
		return -1;
	while (is_ws((unsigned char)*p))
		p++;
	if (*p++ != ':')
		return -1;
	while (is_ws((unsigned char)*p))
		p++;
	e = strrchr(p, '}');
	if (!e)
		return -1;
	while (e > p && is_ws((unsigned char)e[-1]))
		e--;
	*vs = p;
	*vl = (size_t)(e - p);
	return 0;
}

static int digits_at(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static long long days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* ISO-8601 "YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM|±HHMM)" to milliseconds since the epoch. */
static int iso_to_millis(const char *s, long long *out)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, ms = 0, off = 0, oh, om, leap;
	const char *p;

	if (strlen(s) < 19 || digits_at(s, 4, &y) || s[4] != '-' || digits_at(s + 5, 2, &mo) ||
	    s[7] != '-' || digits_at(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    digits_at(s + 11, 2, &h) || s[13] != ':' || digits_at(s + 14, 2, &mi) || s[16] != ':' ||
	    digits_at(s + 17, 2, &sec))
		return -1;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 ||
	    mi > 59 || sec > 59)
		return -1;
	p = s + 19;
	if (*p == '.') {
		int n = 0;

		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++, n++)
			if (n < 3)
				ms = ms * 10 + (*p - '0');
		for (; n < 3; n++)
			ms *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;

		p++;
		if (digits_at(p, 2, &oh))
			return -1;
		p += 2;
		if (*p == ':')
			p++;
		if (digits_at(p, 2, &om))
			return -1;
		p += 2;
		if (oh > 23 || om > 59)
			return -1;
		off = sign * (oh * 60 + om);
	} else {
		return -1;
	}
	if (*p)
		return -1;
	*out = ((days_from_civil(y, mo, d) * 86400LL + h * 3600LL + mi * 60LL + sec) - off * 60LL) * 1000LL + ms;
	return 0;
}

static int is_single_member(const cJSON *v, const char *name)
{
	return cJSON_IsObject(v) && v->child && !v->child->next && strcmp(v->child->string, name) == 0;
}

/* The millis of an ext-json date body {"$date": {"$numberLong":"N"} | "ISO" | N}. */
static int date_millis(const cJSON *body, long long *out)
{
	const cJSON *d;

	if (!is_single_member(body, "$date"))
		return -1;
	d = body->child;
	if (is_single_member(d, "$numberLong") && cJSON_IsString(d->child))
		return parse_int_text(d->child->valuestring, strlen(d->child->valuestring), INT64_MIN,
				      INT64_MAX, out);
	if (cJSON_IsString(d))
		return iso_to_millis(d->valuestring, out);
	if (cJSON_IsNumber(d) && floor(d->valuedouble) == d->valuedouble &&
	    fabs(d->valuedouble) < 9007199254740992.0) {
		*out = (long long)d->valuedouble;
		return 0;
	}
	return -1;
}

static int u32_number(const cJSON *v, long long *out)
{
	if (!cJSON_IsNumber(v) || floor(v->valuedouble) != v->valuedouble || v->valuedouble < 0 ||
	    v->valuedouble > 4294967295.0)
		return -1;
	*out = (long long)v->valuedouble;
	return 0;
}

/* {"t":T,"i":I} or {"$timestamp":{"t":T,"i":I}}. */
static int timestamp_body(const cJSON *body, long long *t, long long *i)
{
	if (is_single_member(body, "$timestamp"))
		body = body->child;
	if (!cJSON_IsObject(body) || cJSON_GetArraySize(body) != 2)
		return -1;
	if (u32_number(cJSON_GetObjectItemCaseSensitive(body, "t"), t) ||
	    u32_number(cJSON_GetObjectItemCaseSensitive(body, "i"), i))
		return -1;
	return 0;
}

static int bad_tagged(tl_error *err, const char *tagged)
{
	return tl_error_set(err, TL_ERR_PARSE, "invalid mongo _id value '%.200s'", tagged);
}

/*
 * A {"CanonicalExtJson": BODY} value: BODY is written compactly, except that a body
 * current ape-dts would have tagged ({"$oid"}, {"$numberLong"}, a relaxed ISO {"$date"},
 * ...) is normalised exactly as that tag would be, so both spellings of one _id give the
 * same extended JSON.
 */
static int canonical_body(const cJSON *v, const char *tagged, tl_buf *out, tl_error *err)
{
	tl_buf body = TL_BUF_INIT, sub = TL_BUF_INIT;
	int rc;

	if ((rc = put_cjson(&body, v, err)))
		goto cleanup;
	if (tl_pos_mongo_id_from_extjson(tl_buf_cstr(&body), &sub, err) != 0) {
		rc = bad_tagged(err, tagged);
		goto cleanup;
	}
	if (strncmp(tl_buf_cstr(&sub), "{\"CanonicalExtJson\":", 20) == 0)
		rc = tl_buf_put(out, body.data, body.len, err);
	else
		rc = tl_pos_mongo_id_to_extjson(tl_buf_cstr(&sub), out, err);
cleanup:
	tl_buf_release(&body);
	tl_buf_release(&sub);
	return rc;
}

int tl_pos_mongo_id_to_extjson(const char *tagged, tl_buf *out, tl_error *err)
{
	cJSON *root = NULL;
	const cJSON *v;
	const char *tag, *vs = NULL;
	size_t vl = 0, mark = out->len;
	long long n, t, i;
	int rc = 0;

	if (is_hex24(tagged)) {
		rc = put_oid_body(out, tagged, err);
		goto cleanup;
	}
	root = cJSON_ParseWithOpts(tagged, NULL, 1);
	if (!root || !cJSON_IsObject(root) || !root->child || root->child->next) {
		rc = bad_tagged(err, tagged);
		goto cleanup;
	}
	tag = root->child->string;
	v = root->child;
	if (strcmp(tag, "ObjectId") == 0) {
		if (is_single_member(v, "$oid"))
			v = v->child;
		if (!cJSON_IsString(v) || !is_hex24(v->valuestring))
			rc = bad_tagged(err, tagged);
		else
			rc = put_oid_body(out, v->valuestring, err);
	} else if (strcmp(tag, "String") == 0) {
		rc = cJSON_IsString(v) ? put_json_str(out, v->valuestring, err) : bad_tagged(err, tagged);
	} else if (strcmp(tag, "Int32") == 0 || strcmp(tag, "Int64") == 0) {
		int is32 = tag[3] == '3';

		if (!cJSON_IsNumber(v) || member_value_text(tagged, &vs, &vl) ||
		    parse_int_text(vs, vl, is32 ? INT32_MIN : INT64_MIN, is32 ? INT32_MAX : INT64_MAX, &n))
			rc = bad_tagged(err, tagged);
		else
			rc = tl_buf_printf(out, err, "{\"%s\":\"%lld\"}", is32 ? "$numberInt" : "$numberLong", n);
	} else if (strcmp(tag, "Double") == 0) {
		if (!cJSON_IsNumber(v)) {
			rc = bad_tagged(err, tagged);
		} else if (!(rc = tl_buf_puts(out, "{\"$numberDouble\":\"", err)) &&
			   !(rc = put_double(out, v->valuedouble, 1, err))) {
			rc = tl_buf_puts(out, "\"}", err);
		}
	} else if (strcmp(tag, "DateTime") == 0) {
		if (date_millis(v, &n))
			rc = bad_tagged(err, tagged);
		else
			rc = tl_buf_printf(out, err, "{\"$date\":{\"$numberLong\":\"%lld\"}}", n);
	} else if (strcmp(tag, "Timestamp") == 0) {
		if (timestamp_body(v, &t, &i))
			rc = bad_tagged(err, tagged);
		else
			rc = tl_buf_printf(out, err, "{\"$timestamp\":{\"t\":%lld,\"i\":%lld}}", t, i);
	} else if (strcmp(tag, "Symbol") == 0 || strcmp(tag, "JavaScriptCode") == 0) {
		if (!cJSON_IsString(v)) {
			rc = bad_tagged(err, tagged);
		} else if (!(rc = tl_buf_puts(out, tag[0] == 'S' ? "{\"$symbol\":" : "{\"$code\":", err)) &&
			   !(rc = put_json_str(out, v->valuestring, err))) {
			rc = tl_buf_putc(out, '}', err);
		}
	} else if (strcmp(tag, "CanonicalExtJson") == 0) {
		rc = canonical_body(v, tagged, out, err);
	} else {
		rc = tl_error_set(err, TL_ERR_PARSE, "unknown mongo _id type '%.100s' in '%.200s'", tag, tagged);
	}
cleanup:
	if (rc)
		tl_buf_truncate(out, mark);
	cJSON_Delete(root);
	return rc;
}

int tl_pos_mongo_id_from_extjson(const char *extjson, tl_buf *out, tl_error *err)
{
	cJSON *root = NULL;
	const cJSON *v;
	const char *k;
	size_t mark = out->len;
	long long n, t, i;
	int rc = 0;

	root = cJSON_ParseWithOpts(extjson, NULL, 1);
	if (!root) {
		rc = tl_error_set(err, TL_ERR_PARSE, "invalid extended JSON '%.200s'", extjson);
		goto cleanup;
	}
	if (cJSON_IsString(root)) {
		if (!(rc = tl_buf_puts(out, "{\"String\":", err)) &&
		    !(rc = put_json_str(out, root->valuestring, err)))
			rc = tl_buf_putc(out, '}', err);
		goto cleanup;
	}
	if (cJSON_IsObject(root) && root->child && !root->child->next) {
		k = root->child->string;
		v = root->child;
		if (strcmp(k, "$oid") == 0) {
			if (!cJSON_IsString(v) || !is_hex24(v->valuestring)) {
				rc = tl_error_set(err, TL_ERR_PARSE, "invalid ObjectId in '%.200s'", extjson);
				goto cleanup;
			}
			if (!(rc = tl_buf_puts(out, "{\"ObjectId\":", err)) &&
			    !(rc = put_oid_body(out, v->valuestring, err)))
				rc = tl_buf_putc(out, '}', err);
			goto cleanup;
		}
		if ((strcmp(k, "$numberInt") == 0 || strcmp(k, "$numberLong") == 0) && cJSON_IsString(v)) {
			int is32 = k[7] == 'I';

			if (parse_int_text(v->valuestring, strlen(v->valuestring), is32 ? INT32_MIN : INT64_MIN,
					   is32 ? INT32_MAX : INT64_MAX, &n)) {
				rc = tl_error_set(err, TL_ERR_PARSE, "invalid integer in '%.200s'", extjson);
				goto cleanup;
			}
			rc = tl_buf_printf(out, err, "{\"%s\":%lld}", is32 ? "Int32" : "Int64", n);
			goto cleanup;
		}
		if (strcmp(k, "$date") == 0 && date_millis(root, &n) == 0) {
			rc = tl_buf_printf(out, err, "{\"DateTime\":{\"$date\":{\"$numberLong\":\"%lld\"}}}", n);
			goto cleanup;
		}
		if (strcmp(k, "$timestamp") == 0 && timestamp_body(root, &t, &i) == 0) {
			rc = tl_buf_printf(out, err, "{\"Timestamp\":{\"$timestamp\":{\"t\":%lld,\"i\":%lld}}}", t, i);
			goto cleanup;
		}
		if ((strcmp(k, "$symbol") == 0 || strcmp(k, "$code") == 0) && cJSON_IsString(v)) {
			if (!(rc = tl_buf_puts(out, k[1] == 's' ? "{\"Symbol\":" : "{\"JavaScriptCode\":", err)) &&
			    !(rc = put_json_str(out, v->valuestring, err)))
				rc = tl_buf_putc(out, '}', err);
			goto cleanup;
		}
	}
	if (!(rc = tl_buf_puts(out, "{\"CanonicalExtJson\":", err)) && !(rc = put_cjson(out, root, err)))
		rc = tl_buf_putc(out, '}', err);
cleanup:
	if (rc)
		tl_buf_truncate(out, mark);
	cJSON_Delete(root);
	return rc;
}
