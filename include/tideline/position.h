/*
 * position.h - the position model of ape-dts snapshot resume, and its JSON codec.
 *
 * A position is one JSON object of a position.log / finished.log / resume.config line
 * (docs/ape-dts-resume.md §2.3-§2.5). Snapshot variants are decoded into fields; every other
 * variant (CDC ones, "None") keeps its exact JSON so it is carried, never dropped.
 *
 * Ownership: a tl_position owns all of its strings. Initialise with TL_POSITION_INIT or
 * tl_pos_init, release with tl_pos_clear (accepts a cleared struct). Thread-safe: no
 * shared state. Only src/core/position.c includes cJSON for this codec.
 */
#ifndef TL_POSITION_H
#define TL_POSITION_H

#include <stddef.h>
#include "tideline/buf.h"
#include "tideline/error.h"

enum tl_pos_type {
	TL_POS_NONE = 0,             /* {"type":"None"} */
	TL_POS_RDB_SNAPSHOT,         /* {"type":"RdbSnapshot",...} */
	TL_POS_RDB_SNAPSHOT_FINISHED,/* {"type":"RdbSnapshotFinished",...} */
	TL_POS_OTHER                 /* a known non-snapshot ape-dts variant, kept verbatim */
};

/* How the key was spelled in the JSON. */
enum tl_key_form {
	TL_KEY_ABSENT = 0,   /* no key: "order_key":null or missing */
	TL_KEY_ORDER_COL,    /* legacy: "order_col":"c","value":"v" (≤ v2.0.25) */
	TL_KEY_SINGLE,       /* "order_key":{"single":["c","v"]} */
	TL_KEY_COMPOSITE     /* "order_key":{"composite":[["c1","v1"],...]} */
};

typedef struct tl_keypair {
	char *col; /* never NULL for a decoded key */
	char *val; /* NULL means JSON null (binds SQL NULL) */
} tl_keypair;

typedef struct tl_position {
	enum tl_pos_type type;
	char *type_name; /* the "type" string as read ("RdbSnapshot", "MysqlCdc", ...) */
	char *db_type;   /* informational, never compared (§2.3); may be NULL */
	char *schema;    /* raw unquoted names; NULL for None/OTHER */
	char *tb;
	enum tl_key_form form;
	size_t nkeys;
	tl_keypair *keys;
	char *raw_json; /* TL_POS_OTHER: the exact JSON object text; otherwise NULL */
} tl_position;

#define TL_POSITION_INIT {TL_POS_NONE, NULL, NULL, NULL, NULL, TL_KEY_ABSENT, 0, NULL, NULL}

/* Writer styles (docs/tideline.md §3, [runtime] position_format). */
enum tl_pos_style {
	TL_STYLE_ASIS = 0,   /* write the form the position carries (round trips) */
	TL_STYLE_ORDER_KEY,  /* current ape-dts: order_key single/composite (null when absent) */
	TL_STYLE_ORDER_COL   /* seed form for single keys, order_key composite for several */
};

void tl_pos_init(tl_position *p);
void tl_pos_clear(tl_position *p);
int tl_pos_copy(tl_position *dst, const tl_position *src, tl_error *err) TL_MUST_CHECK;

/*
 * Decodes one JSON object (exactly `len` bytes, need not be NUL-terminated) with the
 * strictness of §2.2: known "type"; db_type/schema/tb strings; key values strings or
 * null; unknown extra fields ignored. On failure returns TL_ERR_PARSE with a reason
 * such as "field 'tb' must be a string" and leaves *out cleared.
 */
int tl_pos_parse_json(tl_position *out, const char *json, size_t len, tl_error *err) TL_MUST_CHECK;

/* Appends the compact JSON (key order type, db_type, schema, tb, key) to out. */
int tl_pos_write_json(const tl_position *p, enum tl_pos_style style, tl_buf *out, tl_error *err) TL_MUST_CHECK;

/* Fills a snapshot position. Strings are copied. vals[i] may be NULL (JSON null). */
int tl_pos_set(tl_position *p, enum tl_pos_type type, const char *db_type, const char *schema,
	       const char *tb, enum tl_key_form form, size_t nkeys, const char *const *cols,
	       const char *const *vals, tl_error *err) TL_MUST_CHECK;

/* Appends s[0..n) as a JSON string literal escaped exactly as ape-dts (serde_json) does. */
int tl_pos_put_json_string(tl_buf *b, const char *s, size_t n, tl_error *err) TL_MUST_CHECK;

/* Writes the key alone as order_key JSON ({"single":[..]} / {"composite":[..]} / null). */
int tl_pos_write_order_key(const tl_position *p, tl_buf *out, tl_error *err) TL_MUST_CHECK;

/*
 * MongoDB _id values inside a position (§2.5). The "value" of a mongo position is a
 * string holding tagged JSON. These convert between that tagged form and MongoDB
 * canonical extended JSON of the bare value (e.g. {"$oid":"…"}, {"$numberInt":"2"}).
 * to_extjson accepts every read spelling (tagged, {"ObjectId":"hex"}, bare 24-hex);
 * from_extjson writes what current ape-dts writes.
 */
int tl_pos_mongo_id_to_extjson(const char *tagged, tl_buf *out, tl_error *err) TL_MUST_CHECK;
int tl_pos_mongo_id_from_extjson(const char *extjson, tl_buf *out, tl_error *err) TL_MUST_CHECK;

#endif
