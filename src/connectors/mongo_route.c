/*
 * mongo_route.c - what routing and check tasks need from the MongoDB connector beyond
 * renamed collections (tl_mongo__project, mongo_conn.c): the server's identity (a run
 * must not write a collection it reads) and the field-by-field comparison of two
 * documents that ape-dts' check logs show (dt-connector checker_engine.rs
 * expand_mongo_doc_diff: top-level fields in name order, values as its mongo_cmd.rs
 * bson_to_log_literal writes them, BSON type names when the types differ).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mongo_int.h"
#include "tideline/buf.h"

/* One process serves one set of databases: its host name and pid (serverStatus). */
int tl_mongo__server_id(tl_conn *c, char **out, tl_error *err)
{
	bson_t cmd = BSON_INITIALIZER, reply;
	bson_error_t e;
	bson_iter_t it;
	tl_buf b = TL_BUF_INIT;
	const char *host = "";
	int64_t pid = -1;
	int rc = 0;

	*out = NULL;
	BSON_APPEND_INT32(&cmd, "serverStatus", 1);
	if (!mongoc_client_command_simple(c->client, "admin", &cmd, NULL, &reply, &e)) {
		rc = tl_mongo__error(err, &e, "cannot identify the mongo server at %s", c->where);
		goto cleanup;
	}
	if (bson_iter_init_find(&it, &reply, "host") && BSON_ITER_HOLDS_UTF8(&it))
		host = bson_iter_utf8(&it, NULL);
	if (bson_iter_init_find(&it, &reply, "pid") && BSON_ITER_HOLDS_NUMBER(&it))
		pid = bson_iter_as_int64(&it);
	if (pid < 0)
		rc = tl_error_set(err, TL_ERR_DB, "the mongo server at %s does not say its pid (serverStatus)", c->where);
	else if (!(rc = tl_buf_printf(&b, err, "%s|%" PRId64, host, pid)) && !(*out = tl_buf_detach(&b)))
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
cleanup:
	bson_destroy(&reply);
	bson_destroy(&cmd);
	tl_buf_release(&b);
	return rc;
}

/* Rows of a collection are whole documents: ape-dts' ColValue::MongoDoc. */
const char *tl_mongo__value_type(const tl_table *t, size_t col)
{
	(void)t;
	(void)col;
	return "MongoDoc";
}

static const char *type_name(bson_type_t ty)
{
	switch (ty) {
	case BSON_TYPE_DOUBLE: return "Double";
	case BSON_TYPE_UTF8: return "String";
	case BSON_TYPE_ARRAY: return "Array";
	case BSON_TYPE_DOCUMENT: return "Document";
	case BSON_TYPE_BOOL: return "Boolean";
	case BSON_TYPE_NULL: return "Null";
	case BSON_TYPE_INT32: return "Int32";
	case BSON_TYPE_INT64: return "Int64";
	case BSON_TYPE_TIMESTAMP: return "Timestamp";
	case BSON_TYPE_BINARY: return "Binary";
	case BSON_TYPE_OID: return "ObjectId";
	case BSON_TYPE_DATE_TIME: return "DateTime";
	case BSON_TYPE_DECIMAL128: return "Decimal128";
	case BSON_TYPE_REGEX: return "RegularExpression";
	case BSON_TYPE_CODE: return "JavaScriptCode";
	case BSON_TYPE_CODEWSCOPE: return "JavaScriptCodeWithScope";
	case BSON_TYPE_SYMBOL: return "Symbol";
	case BSON_TYPE_UNDEFINED: return "Undefined";
	case BSON_TYPE_MINKEY: return "MinKey";
	case BSON_TYPE_MAXKEY: return "MaxKey";
	case BSON_TYPE_DBPOINTER: return "DbPointer";
	default: return "Unknown";
	}
}

/* A JavaScript string body as ape-dts escapes it: backslash and single quote. */
static int put_js(tl_buf *o, const char *s, size_t n, tl_error *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n && !rc; i++) {
		if (s[i] == '\\' || s[i] == '\'')
			rc = tl_buf_putc(o, '\\', err);
		if (!rc)
			rc = tl_buf_putc(o, s[i], err);
	}
	return rc;
}

/* A double as Rust's Display writes it: the shortest text that reads back, never an exponent. */
static int put_double(tl_buf *o, double v, tl_error *err)
{
	char s[400];
	int prec;

	if (isnan(v))
		return tl_buf_puts(o, "NaN", err);
	if (isinf(v))
		return tl_buf_puts(o, v < 0 ? "-inf" : "inf", err);
	for (prec = 1; prec <= 17; prec++) {
		snprintf(s, sizeof(s), "%.*g", prec, v);
		if (strtod(s, NULL) == v)
			break;
	}
	if (strchr(s, 'e')) {
		/* digits after the point needed for the shortest form, without the exponent */
		int exp10 = (int)floor(log10(fabs(v)));
		int frac = prec - 1 - exp10;
		snprintf(s, sizeof(s), "%.*f", frac > 0 ? frac : 0, v);
	}
	return tl_buf_puts(o, s, err);
}

static int put_literal(tl_buf *o, bson_iter_t *it, int depth, tl_error *err);

/* The members of a document ({'k': v, …}) or array ([v, …]) at it. */
static int put_container(tl_buf *o, bson_iter_t *it, int is_array, int depth, tl_error *err)
{
	bson_iter_t child;
	int first = 1, rc;

	if (depth > 100)
		return tl_error_set(err, TL_ERR_PARSE, "document nested too deeply");
	if (!bson_iter_recurse(it, &child))
		return tl_error_set(err, TL_ERR_PARSE, "invalid BSON document");
	if ((rc = tl_buf_putc(o, is_array ? '[' : '{', err)))
		return rc;
	while (!rc && bson_iter_next(&child)) {
		if (!first)
			rc = tl_buf_puts(o, ", ", err);
		first = 0;
		if (!rc && !is_array) {
			const char *k = bson_iter_key(&child);
			if (!(rc = tl_buf_putc(o, '\'', err)) && !(rc = put_js(o, k, strlen(k), err)))
				rc = tl_buf_puts(o, "': ", err);
		}
		if (!rc)
			rc = put_literal(o, &child, depth + 1, err);
	}
	return rc ? rc : tl_buf_putc(o, is_array ? ']' : '}', err);
}

/* Relaxed extended JSON of one value (Binary, DbPointer), as EJSON.parse('…'). */
static int put_ejson(tl_buf *o, bson_iter_t *it, tl_error *err)
{
	bson_t wrap = BSON_INITIALIZER;
	char *json;
	size_t len;
	int rc;

	if (!bson_append_value(&wrap, "v", 1, bson_iter_value(it)))
		rc = tl_error_set(err, TL_ERR_PARSE, "invalid BSON value");
	else if (!(json = bson_as_relaxed_extended_json(&wrap, &len)))
		rc = tl_error_set(err, TL_ERR_PARSE, "invalid BSON value");
	else {
		/* { "v" : X } -> X */
		const char *p = strchr(json, ':'), *end = json + len;
		while (end > json && (end[-1] == ' ' || end[-1] == '}'))
			end--;
		p = p ? p + 1 : json;
		while (*p == ' ')
			p++;
		if (!(rc = tl_buf_puts(o, "EJSON.parse('", err)) && !(rc = put_js(o, p, (size_t)(end - p), err)))
			rc = tl_buf_puts(o, "')", err);
		bson_free(json);
	}
	bson_destroy(&wrap);
	return rc;
}

/* One value as ape-dts' bson_to_log_literal writes it. */
static int put_literal(tl_buf *o, bson_iter_t *it, int depth, tl_error *err)
{
	char s[BSON_DECIMAL128_STRING > 64 ? BSON_DECIMAL128_STRING : 64];
	uint32_t n, ts, inc;
	const char *str;
	int rc;

	switch (bson_iter_type(it)) {
	case BSON_TYPE_DOUBLE: return put_double(o, bson_iter_double(it), err);
	case BSON_TYPE_UTF8: str = bson_iter_utf8(it, &n); return put_js(o, str, n, err);
	case BSON_TYPE_ARRAY: return put_container(o, it, 1, depth, err);
	case BSON_TYPE_DOCUMENT: return put_container(o, it, 0, depth, err);
	case BSON_TYPE_BOOL: return tl_buf_puts(o, bson_iter_bool(it) ? "true" : "false", err);
	case BSON_TYPE_NULL: return tl_buf_puts(o, "null", err);
	case BSON_TYPE_INT32: return tl_buf_printf(o, err, "%" PRId32, bson_iter_int32(it));
	case BSON_TYPE_INT64: return tl_buf_printf(o, err, "NumberLong(%" PRId64 ")", bson_iter_int64(it));
	case BSON_TYPE_TIMESTAMP:
		bson_iter_timestamp(it, &ts, &inc);
		return tl_buf_printf(o, err, "Timestamp(%" PRIu32 ", %" PRIu32 ")", ts, inc);
	case BSON_TYPE_OID: bson_oid_to_string(bson_iter_oid(it), s); return tl_buf_printf(o, err, "ObjectId('%s')", s);
	case BSON_TYPE_DATE_TIME: {
		int64_t ms = bson_iter_date_time(it), sec = ms / 1000 - (ms % 1000 < 0);
		time_t tt = (time_t)sec;
		struct tm tm;
		if (!gmtime_r(&tt, &tm))
			return tl_buf_printf(o, err, "ISODate(%" PRId64 ")", ms);
		return tl_buf_printf(o, err, "ISODate('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ')", tm.tm_year + 1900,
				     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms - sec * 1000));
	}
	case BSON_TYPE_DECIMAL128: {
		bson_decimal128_t d;
		bson_iter_decimal128(it, &d);
		bson_decimal128_to_string(&d, s);
		return tl_buf_printf(o, err, "NumberDecimal('%s')", s);
	}
	case BSON_TYPE_REGEX: {
		const char *opts, *pat = bson_iter_regex(it, &opts);
		if ((rc = tl_buf_putc(o, '/', err)))
			return rc;
		for (; *pat && !rc; pat++)
			rc = *pat == '/' ? tl_buf_puts(o, "\\/", err) : tl_buf_putc(o, *pat, err);
		return rc ? rc : tl_buf_printf(o, err, "/%s", opts ? opts : "");
	}
	case BSON_TYPE_CODE: str = bson_iter_code(it, &n); return tl_buf_printf(o, err, "%.*s", (int)n, str);
	case BSON_TYPE_CODEWSCOPE: {
		const uint8_t *scope;
		uint32_t slen;
		bson_t sdoc;
		bson_iter_t sit;
		str = bson_iter_codewscope(it, &n, &slen, &scope);
		if ((rc = tl_buf_printf(o, err, "%.*s /* scope: ", (int)n, str)))
			return rc;
		if (!bson_init_static(&sdoc, scope, slen) || !bson_iter_init(&sit, &sdoc))
			return tl_error_set(err, TL_ERR_PARSE, "invalid BSON code scope");
		/* the scope document as a document literal */
		{
			bson_t wrap = BSON_INITIALIZER;
			bson_iter_t w;
			BSON_APPEND_DOCUMENT(&wrap, "s", &sdoc);
			rc = bson_iter_init_find(&w, &wrap, "s") ? put_container(o, &w, 0, depth, err)
								 : tl_error_set(err, TL_ERR_PARSE, "invalid scope");
			bson_destroy(&wrap);
		}
		return rc ? rc : tl_buf_puts(o, " */", err);
	}
	case BSON_TYPE_SYMBOL:
		str = bson_iter_symbol(it, &n);
		if ((rc = tl_buf_puts(o, "Symbol('", err)) || (rc = put_js(o, str, n, err)))
			return rc;
		return tl_buf_puts(o, "')", err);
	case BSON_TYPE_UNDEFINED: return tl_buf_puts(o, "undefined", err);
	case BSON_TYPE_MINKEY: return tl_buf_puts(o, "MinKey", err);
	case BSON_TYPE_MAXKEY: return tl_buf_puts(o, "MaxKey", err);
	default: return put_ejson(o, it, err);
	}
}

/* Byte equality of two values (type and encoding), as a one-field document each. */
static int same_value(bson_iter_t *a, bson_iter_t *b)
{
	bson_t x = BSON_INITIALIZER, y = BSON_INITIALIZER;
	int same;

	same = bson_iter_type(a) == bson_iter_type(b) && bson_append_value(&x, "v", 1, bson_iter_value(a)) &&
	       bson_append_value(&y, "v", 1, bson_iter_value(b)) && x.len == y.len &&
	       memcmp(bson_get_data(&x), bson_get_data(&y), x.len) == 0;
	bson_destroy(&x);
	bson_destroy(&y);
	return same;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int tl_mongo__doc_diff(const tl_table *t, const char *a, size_t alen, const char *b, size_t blen, tl_value_diff_fn fn,
		       void *ctx, tl_error *err)
{
	bson_t da, db;
	bson_iter_t it, ia, ib;
	const char **keys = NULL;
	size_t nkeys = 0, cap = 0, i;
	tl_buf sv = TL_BUF_INIT, dv = TL_BUF_INIT;
	int rc = 0, side;

	if (!bson_init_static(&da, (const uint8_t *)a, alen) || !bson_init_static(&db, (const uint8_t *)b, blen))
		return tl_error_set(err, TL_ERR_PARSE, "mongo collection '%s.%s': invalid BSON document", t->schema,
				    t->name);
	/* the union of both documents' top-level field names, sorted, each once */
	for (side = 0; side < 2 && !rc; side++) {
		if (!bson_iter_init(&it, side ? &db : &da)) {
			rc = tl_error_set(err, TL_ERR_PARSE, "invalid BSON document");
			break;
		}
		while (bson_iter_next(&it)) {
			if (nkeys == cap) {
				const char **nk = realloc(keys, (cap = cap ? 2 * cap : 32) * sizeof(*keys));
				if (!nk) {
					rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
					break;
				}
				keys = nk;
			}
			keys[nkeys++] = bson_iter_key(&it);
		}
	}
	if (!rc && nkeys)
		qsort(keys, nkeys, sizeof(*keys), cmp_keys);
	for (i = 0; i < nkeys && !rc; i++) {
		tl_value_diff d;
		int has_a, has_b;

		if (i > 0 && strcmp(keys[i], keys[i - 1]) == 0)
			continue;
		has_a = bson_iter_init_find(&ia, &da, keys[i]);
		has_b = bson_iter_init_find(&ib, &db, keys[i]);
		if (has_a && has_b && same_value(&ia, &ib))
			continue;
		tl_buf_reset(&sv);
		tl_buf_reset(&dv);
		memset(&d, 0, sizeof(d));
		d.field = keys[i];
		if (has_a && (rc = put_literal(&sv, &ia, 0, err)))
			break;
		if (has_b && (rc = put_literal(&dv, &ib, 0, err)))
			break;
		d.src = has_a ? tl_buf_cstr(&sv) : NULL;
		d.dst = has_b ? tl_buf_cstr(&dv) : NULL;
		if (!has_a || !has_b || bson_iter_type(&ia) != bson_iter_type(&ib)) {
			d.src_type = has_a ? type_name(bson_iter_type(&ia)) : "None";
			d.dst_type = has_b ? type_name(bson_iter_type(&ib)) : "None";
		}
		rc = fn(ctx, &d, err);
	}
	free(keys);
	tl_buf_release(&sv);
	tl_buf_release(&dv);
	return rc;
}
