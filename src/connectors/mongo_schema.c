/*
 * mongo_schema.c - MongoDB definitions (schema_extract, schema_probe, schema_apply):
 * collections with their options (listCollections: capped, validator, collation,
 * time series, …), their indexes with every option (listIndexes, passed back verbatim
 * to createIndexes, as a replica set's initial sync does, but for the format version
 * "v", which the target picks), and views.
 *
 * A step's sql is a command document in canonical extended JSON, run on the step's
 * database. A collection is PRE_DATA; all secondary indexes of one collection are one
 * createIndexes (TABLE_POST: one pass over the documents; parts list each index so a
 * half-done step builds only what is missing); views are POST_DATA. Databases are
 * implicit. What a server supports is asked at apply time (the target's
 * maxWireVersion), never guessed from its name: an option the target cannot take is
 * TL_ERR_UNSUPPORTED naming it, anything else the target refuses comes back with the
 * server's own message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mongo_int.h"
#include "mongo_schema_int.h"

#define NONE ((size_t)-1)

/* Options and the wire version that first accepted them (MongoDB 3.2 = 4 … 6.0 = 17). */
static const struct {
	const char *name;
	int wire;
} coll_features[] = {
	{"collation", 5}, {"timeseries", 13}, {"expireAfterSeconds", 13}, {"clusteredIndex", 17},
	{"changeStreamPreAndPostImages", 17}, {"encryptedFields", 17}, {"viewOn", 5},
}, index_features[] = {
	{"partialFilterExpression", 4}, {"collation", 5}, {"wildcardProjection", 8}, {"hidden", 9},
};

static char *to_json(const bson_t *doc)
{
	size_t len;
	char *j = bson_as_canonical_extended_json(doc, &len), *out;

	if (!j)
		return NULL;
	out = tl_strdup(j);
	bson_free(j);
	return out;
}

/* Is (db, coll) one of the selected collections? *at = its index. */
static int selected(const tl_name *names, size_t n, const char *db, const char *coll, size_t *at)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i].schema, db) == 0 && strcmp(names[i].name, coll) == 0) {
			*at = i;
			return 1;
		}
	return 0;
}

static const char *target_db(const tl_name *names, size_t n, const tl_schema_opts *opts, size_t i, const char *db)
{
	size_t k;

	if (!opts->targets)
		return db;
	if (i != NONE)
		return opts->targets[i].schema ? opts->targets[i].schema : db;
	for (k = 0; k < n; k++)
		if (strcmp(names[k].schema, db) == 0)
			return opts->targets[k].schema ? opts->targets[k].schema : db;
	return db;
}

static const char *target_coll(const tl_schema_opts *opts, size_t i, const char *coll)
{
	return opts->targets && i != NONE && opts->targets[i].name ? opts->targets[i].name : coll;
}

/* A view's name, what it reads and its command (views read collections or views). */
struct view {
	char *name, *on;
	bson_t options;
	int in;
	size_t step;
};

static int push(tl_schema_list *out, enum tl_schema_kind kind, const char *db, const char *table, const char *name,
		size_t owner, const bson_t *cmd, size_t *at, tl_error *err)
{
	tl_schema_step *s;
	int rc = tl_schema_list_push(out, kind, db, table, name, owner, &s, err);

	if (rc)
		return rc;
	s->sql = to_json(cmd);
	if (!s->sql)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mongo definitions");
	*at = out->n - 1;
	return 0;
}

/* create: name plus the source's options (viewOn renamed when its collection is). */
static int create_cmd(bson_t *cmd, const char *name, const bson_t *options, const char *view_on)
{
	bson_iter_t it;

	if (!BSON_APPEND_UTF8(cmd, "create", name))
		return -1;
	if (!options || !bson_iter_init(&it, options))
		return 0;
	while (bson_iter_next(&it)) {
		if (view_on && strcmp(bson_iter_key(&it), "viewOn") == 0) {
			if (!BSON_APPEND_UTF8(cmd, "viewOn", view_on))
				return -1;
		} else if (!bson_append_iter(cmd, NULL, 0, &it)) {
			return -1;
		}
	}
	return 0;
}

/* The indexes of one collection (without _id_) as one createIndexes step. */
static int index_step(tl_conn *c, const char *db, const char *coll, const char *tdb, const char *tcoll, size_t owner,
		      tl_schema_list *out, tl_error *err)
{
	mongoc_collection_t *col = mongoc_client_get_collection(c->client, db, coll);
	mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(col, NULL);
	const bson_t *spec;
	bson_t cmd = BSON_INITIALIZER, arr;
	bson_error_t e;
	bson_iter_t it;
	char key[16];
	unsigned n = 0;
	tl_schema_step *s;
	int rc = 0;

	BSON_APPEND_UTF8(&cmd, "createIndexes", tcoll);
	BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
	while (!rc && mongoc_cursor_next(cur, &spec)) {
		bson_t one = BSON_INITIALIZER;
		char *json;
		const char *name = bson_iter_init_find(&it, spec, "name") && BSON_ITER_HOLDS_UTF8(&it)
					   ? bson_iter_utf8(&it, NULL) : NULL;
		if (!name || strcmp(name, "_id_") == 0) {
			bson_destroy(&one);
			continue;
		}
		/* "v" (the index format version) is the server's business: MongoDB builds the
		 * current one when none is given, and FerretDB refuses the option outright */
		bson_copy_to_excluding_noinit(spec, &one, "ns", "v", NULL);
		snprintf(key, sizeof(key), "%u", n++);
		BSON_APPEND_DOCUMENT(&arr, key, &one);
		json = to_json(&one);
		if (n == 1)
			rc = tl_schema_list_push(out, TL_SK_INDEXES, tdb, tcoll, NULL, owner, &s, err);
		if (!rc && !json)
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mongo indexes");
		if (!rc)
			rc = tl_schema_step_add_part(&out->items[out->n - 1], name, json, err);
		free(json);
		bson_destroy(&one);
	}
	bson_append_array_end(&cmd, &arr);
	if (!rc && mongoc_cursor_error(cur, &e) && e.code != 26) /* 26: no such collection */
		rc = tl_mongo__error(err, &e, "cannot list the indexes of %s.%s at %s", db, coll, c->where);
	if (!rc && n > 0) {
		s = &out->items[out->n - 1];
		s->sql = to_json(&cmd);
		s->flags |= TL_STEP_SLOW;
		if (!s->sql)
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mongo indexes");
	}
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	bson_destroy(&cmd);
	return rc;
}

/* One database: its selected collections, their indexes, and the views on them. */
static int extract_db(tl_conn *c, const char *db, const tl_name *names, size_t n, const tl_schema_opts *opts,
		      tl_schema_list *out, tl_error *err)
{
	mongoc_database_t *d = mongoc_client_get_database(c->client, db);
	mongoc_cursor_t *cur = mongoc_database_find_collections_with_opts(d, NULL);
	const bson_t *info;
	struct view *views = NULL;
	size_t nviews = 0, i, k, at, step;
	bson_error_t e;
	bson_iter_t it;
	int rc = 0, changed;
	unsigned want_coll = opts->structures & TL_ST_COLLECTION;
	unsigned want_idx = opts->structures & (TL_ST_COLLECTION | TL_ST_INDEX);
	unsigned want_view = opts->structures & (TL_ST_COLLECTION | TL_ST_VIEW);

	while (!rc && mongoc_cursor_next(cur, &info)) {
		const char *name = bson_iter_init_find(&it, info, "name") && BSON_ITER_HOLDS_UTF8(&it)
					   ? bson_iter_utf8(&it, NULL) : NULL;
		const char *type = bson_iter_init_find(&it, info, "type") && BSON_ITER_HOLDS_UTF8(&it)
					   ? bson_iter_utf8(&it, NULL) : "collection";
		bson_t options = BSON_INITIALIZER;
		const char *view_on = NULL;
		if (!name || strncmp(name, "system.", 7) == 0) {
			bson_destroy(&options);
			continue;
		}
		if (bson_iter_init_find(&it, info, "options") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
			const uint8_t *data;
			uint32_t len;
			bson_t sub;
			bson_iter_document(&it, &len, &data);
			if (bson_init_static(&sub, data, len))
				bson_copy_to_excluding_noinit(&sub, &options, "", NULL);
		}
		if (bson_iter_init_find(&it, &options, "viewOn") && BSON_ITER_HOLDS_UTF8(&it))
			view_on = bson_iter_utf8(&it, NULL);
		if (strcmp(type, "view") == 0 || view_on) {
			struct view *nv = realloc(views, (nviews + 1) * sizeof(*nv));
			if (!nv) {
				rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mongo views");
				bson_destroy(&options);
				break;
			}
			views = nv;
			memset(&views[nviews], 0, sizeof(*views));
			views[nviews].name = tl_strdup(name);
			views[nviews].on = tl_strdup(view_on ? view_on : "");
			views[nviews].in = 1;
			views[nviews].step = NONE;
			bson_init(&views[nviews].options);
			bson_copy_to_excluding_noinit(&options, &views[nviews].options, "", NULL);
			nviews++;
			bson_destroy(&options);
			if (!views[nviews - 1].name || !views[nviews - 1].on)
				rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mongo views");
			continue;
		}
		if (selected(names, n, db, name, &at)) {
			const char *tdb = target_db(names, n, opts, at, db), *tcoll = target_coll(opts, at, name);
			if (want_coll && (opts->phases & (1u << TL_PHASE_PRE_DATA))) {
				bson_t cmd = BSON_INITIALIZER;
				if (create_cmd(&cmd, tcoll, &options, NULL) != 0)
					rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mongo collections");
				if (!rc)
					rc = push(out, TL_SK_COLLECTION, tdb, NULL, tcoll, at, &cmd, &step, err);
				bson_destroy(&cmd);
			}
			if (!rc && want_idx && (opts->phases & (1u << TL_PHASE_TABLE_POST)))
				rc = index_step(c, db, name, tdb, tcoll, at, out, err);
		}
		bson_destroy(&options);
	}
	if (!rc && mongoc_cursor_error(cur, &e))
		rc = tl_mongo__error(err, &e, "cannot list the collections of mongo database '%s' at %s", db, c->where);
	/* views on what is copied (or on such views), in the order they read each other */
	do {
		changed = 0;
		for (i = 0; !rc && i < nviews; i++) {
			int ok = selected(names, n, db, views[i].on, &at);
			for (k = 0; !ok && k < nviews; k++)
				ok = views[k].in && strcmp(views[k].name, views[i].on) == 0;
			if (views[i].in && !ok) {
				views[i].in = 0;
				changed = 1;
			}
		}
	} while (!rc && changed);
	for (i = 0; !rc && want_view && (opts->phases & (1u << TL_PHASE_POST_DATA)) && i < nviews; i++) {
		bson_t cmd = BSON_INITIALIZER;
		const char *on = views[i].on;
		if (!views[i].in)
			continue;
		if (selected(names, n, db, on, &at))
			on = target_coll(opts, at, on);
		if (create_cmd(&cmd, views[i].name, &views[i].options, on) != 0)
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mongo views");
		if (!rc)
			rc = push(out, TL_SK_VIEW, target_db(names, n, opts, NONE, db), NULL, views[i].name, TL_SCHEMA_NO_OWNER,
				  &cmd, &views[i].step, err);
		bson_destroy(&cmd);
	}
	for (i = 0; !rc && i < nviews; i++)
		for (k = 0; !rc && views[i].step != NONE && k < nviews; k++)
			if (k != i && views[k].step != NONE && strcmp(views[k].name, views[i].on) == 0)
				rc = tl_schema_step_add_dep(&out->items[views[i].step], views[k].step, err);
	for (i = 0; i < nviews; i++) {
		free(views[i].name);
		free(views[i].on);
		bson_destroy(&views[i].options);
	}
	free(views);
	mongoc_cursor_destroy(cur);
	mongoc_database_destroy(d);
	return rc;
}

int tl_mongo__schema_extract(tl_conn *src, const tl_name *names, size_t n, const tl_schema_opts *opts,
			     tl_schema_list *out, tl_error *err)
{
	static const tl_schema_opts all = TL_SCHEMA_OPTS_INIT;
	mongoc_database_t *d;
	char **colls;
	bson_error_t e;
	size_t i, k;
	int rc = 0, seen;

	if (!opts)
		opts = &all;
	/* every name must exist */
	for (i = 0; !rc && i < n; i++) {
		d = mongoc_client_get_database(src->client, names[i].schema);
		colls = mongoc_database_get_collection_names_with_opts(d, NULL, &e);
		if (!colls)
			rc = tl_mongo__error(err, &e, "cannot list the collections of mongo database '%s' at %s", names[i].schema,
					     src->where);
		for (k = 0, seen = 0; colls && colls[k]; k++)
			seen |= strcmp(colls[k], names[i].name) == 0;
		if (!rc && !seen)
			rc = tl_error_set(err, TL_ERR_NOTFOUND, "source collection %s.%s does not exist", names[i].schema,
					  names[i].name);
		bson_strfreev(colls);
		mongoc_database_destroy(d);
	}
	for (i = 0; !rc && i < n; i++) {
		for (k = 0, seen = 0; k < i; k++)
			seen |= strcmp(names[k].schema, names[i].schema) == 0;
		if (!seen)
			rc = extract_db(src, names[i].schema, names, n, opts, out, err);
	}
	if (!rc)
		rc = tl_schema_list_finish(out, err);
	return rc;
}

/* ---- the target ------------------------------------------------------------------------ */

/* The collections and views of a database on the target (names), NULL-terminated. */
static char **target_colls(tl_conn *c, const char *db, tl_error *err)
{
	mongoc_database_t *d = mongoc_client_get_database(c->client, db);
	bson_error_t e;
	char **names = mongoc_database_get_collection_names_with_opts(d, NULL, &e);

	if (!names)
		tl_mongo__error(err, &e, "cannot list the collections of mongo database '%s' at %s", db, c->where);
	mongoc_database_destroy(d);
	return names;
}

/* Index names of a collection on the target (NULL-terminated array; empty when it is missing). */
static int target_indexes(tl_conn *c, const char *db, const char *coll, char ***out, tl_error *err)
{
	mongoc_collection_t *col = mongoc_client_get_collection(c->client, db, coll);
	mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(col, NULL);
	const bson_t *spec;
	bson_error_t e;
	bson_iter_t it;
	char **v = calloc(1, sizeof(*v));
	size_t n = 0;
	int rc = 0;

	while (v && mongoc_cursor_next(cur, &spec)) {
		char **nv;
		if (!bson_iter_init_find(&it, spec, "name") || !BSON_ITER_HOLDS_UTF8(&it))
			continue;
		nv = realloc(v, (n + 2) * sizeof(*nv));
		if (!nv)
			break;
		v = nv;
		v[n] = tl_strdup(bson_iter_utf8(&it, NULL));
		v[++n] = NULL;
	}
	if (!v)
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory listing mongo indexes");
	else if (mongoc_cursor_error(cur, &e) && e.code != 26)
		rc = tl_mongo__error(err, &e, "cannot list the indexes of %s.%s at %s", db, coll, c->where);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	if (rc) {
		bson_strfreev(v);
		v = NULL;
	}
	*out = v;
	return rc;
}

static int has(char **v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return 1;
	return 0;
}

static int probe_one(tl_conn *c, const tl_schema_step *s, char **colls, enum tl_schema_state *out, tl_error *err)
{
	char **idx = NULL;
	size_t i, found = 0;
	int rc;

	*out = TL_SCHEMA_ABSENT;
	if (s->kind == TL_SK_COLLECTION || s->kind == TL_SK_VIEW) {
		*out = has(colls, s->name) ? TL_SCHEMA_PRESENT : TL_SCHEMA_ABSENT;
		return 0;
	}
	if (s->kind != TL_SK_INDEXES) {
		*out = TL_SCHEMA_UNKNOWN;
		return 0;
	}
	if (!has(colls, s->table))
		return 0;
	rc = target_indexes(c, s->schema, s->table, &idx, err);
	for (i = 0; !rc && i < s->nparts; i++)
		found += has(idx, s->parts[i].name) != 0;
	*out = found == 0 ? TL_SCHEMA_ABSENT : found == s->nparts ? TL_SCHEMA_PRESENT : TL_SCHEMA_PARTIAL;
	bson_strfreev(idx);
	return rc;
}

int tl_mongo__schema_probe(tl_conn *dst, const tl_schema_step *steps, size_t n, enum tl_schema_state *out,
			   tl_error *err)
{
	char **colls = NULL;
	const char *db = NULL;
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < n; i++) {
		if (!db || strcmp(db, steps[i].schema) != 0) { /* steps come grouped by database */
			bson_strfreev(colls);
			db = steps[i].schema;
			colls = target_colls(dst, db, err);
			if (!colls) {
				rc = err ? err->code : TL_ERR_DB;
				break;
			}
		}
		rc = probe_one(dst, &steps[i], colls, &out[i], err);
	}
	bson_strfreev(colls);
	return rc;
}

/* The target's maxWireVersion (what it supports), from isMaster (every server answers it). */
static int wire_version(tl_conn *c, int *out, tl_error *err)
{
	bson_t cmd = BSON_INITIALIZER, reply;
	bson_error_t e;
	bson_iter_t it;
	int rc = 0;

	*out = 0;
	BSON_APPEND_INT32(&cmd, "isMaster", 1);
	if (!mongoc_client_command_simple(c->client, "admin", &cmd, NULL, &reply, &e))
		rc = tl_mongo__error(err, &e, "cannot ask the mongo target at %s what it supports", c->where);
	else if (bson_iter_init_find(&it, &reply, "maxWireVersion") && BSON_ITER_HOLDS_NUMBER(&it))
		*out = (int)bson_iter_as_int64(&it);
	bson_destroy(&reply);
	bson_destroy(&cmd);
	return rc;
}

/* An option in doc the target's wire version is too old for (NULL when none). */
static const char *too_new(const bson_t *doc, int wire, int index)
{
	size_t i, n = index ? sizeof(index_features) / sizeof(index_features[0])
			    : sizeof(coll_features) / sizeof(coll_features[0]);
	bson_iter_t it;

	for (i = 0; i < n; i++) {
		const char *name = index ? index_features[i].name : coll_features[i].name;
		int need = index ? index_features[i].wire : coll_features[i].wire;
		if (wire < need && bson_iter_init_find(&it, doc, name))
			return name;
	}
	return NULL;
}

int tl_mongo__schema_apply(tl_conn *dst, const tl_schema_step *step, enum tl_schema_state *before, tl_error *err)
{
	enum tl_schema_state state = TL_SCHEMA_ABSENT;
	mongoc_database_t *d = NULL;
	bson_t *cmd = NULL, reply = BSON_INITIALIZER, arr;
	bson_error_t e;
	char **colls = NULL;
	const char *opt;
	int rc = 0, wire = 0;
	size_t i;
	unsigned k = 0;
	char key[16];

	if (before)
		*before = TL_SCHEMA_ABSENT;
	colls = target_colls(dst, step->schema, err);
	if (!colls)
		return err ? err->code : TL_ERR_DB;
	rc = probe_one(dst, step, colls, &state, err);
	if (before)
		*before = state;
	if (rc || state == TL_SCHEMA_PRESENT)
		goto cleanup;
	rc = wire_version(dst, &wire, err);
	if (rc)
		goto cleanup;
	if (step->kind == TL_SK_INDEXES) {
		/* only what is missing (a build still running on the server is waited for) */
		char **idx = NULL;
		rc = target_indexes(dst, step->schema, step->table, &idx, err);
		cmd = bson_new();
		BSON_APPEND_UTF8(cmd, "createIndexes", step->table);
		BSON_APPEND_ARRAY_BEGIN(cmd, "indexes", &arr);
		for (i = 0; !rc && i < step->nparts; i++) {
			bson_t *spec;
			if (has(idx, step->parts[i].name))
				continue;
			spec = bson_new_from_json((const uint8_t *)step->parts[i].sql, -1, &e);
			if (!spec) {
				rc = tl_error_set(err, TL_ERR_PARSE, "bad index definition in %s: %s", step->id, e.message);
				break;
			}
			if ((opt = too_new(spec, wire, 1)) != NULL)
				rc = tl_error_set(err, TL_ERR_UNSUPPORTED,
						  "index %s of %s.%s uses %s, which the mongo target at %s (maxWireVersion %d) "
						  "does not support", step->parts[i].name, step->schema, step->table, opt,
						  dst->where, wire);
			snprintf(key, sizeof(key), "%u", k++);
			if (!rc)
				BSON_APPEND_DOCUMENT(&arr, key, spec);
			bson_destroy(spec);
		}
		bson_append_array_end(cmd, &arr);
		bson_strfreev(idx);
		if (rc || k == 0)
			goto cleanup;
	} else {
		cmd = bson_new_from_json((const uint8_t *)step->sql, -1, &e);
		if (!cmd) {
			rc = tl_error_set(err, TL_ERR_PARSE, "bad command in %s: %s", step->id, e.message);
			goto cleanup;
		}
		if ((opt = too_new(cmd, wire, 0)) != NULL) {
			rc = tl_error_set(err, TL_ERR_UNSUPPORTED,
					  "%s uses %s, which the mongo target at %s (maxWireVersion %d) does not support", step->id,
					  opt, dst->where, wire);
			goto cleanup;
		}
	}
	d = mongoc_client_get_database(dst->client, step->schema);
	if (!mongoc_database_write_command_with_opts(d, cmd, NULL, &reply, &e)) {
		if (e.code == 48 && step->kind != TL_SK_INDEXES)
			goto cleanup; /* made meanwhile: there now */
		rc = tl_mongo__error(err, &e, "cannot create %s on the mongo target at %s", step->id, dst->where);
		if (e.code == 85 || e.code == 86)
			rc = err ? (err->code = TL_ERR_MISMATCH) : TL_ERR_MISMATCH;
	}
cleanup:
	bson_destroy(&reply);
	if (cmd)
		bson_destroy(cmd);
	mongoc_database_destroy(d);
	bson_strfreev(colls);
	return rc;
}
