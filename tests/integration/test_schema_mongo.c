/*
 * test_schema_mongo.c - MongoDB definitions end to end against live servers
 * (TL_MONGO_SRC_URL, TL_MONGO_DST_URL: tools/mongo_test_server.py or any MongoDB-wire
 * server; skipped when unset).
 *
 * The source database tl_schema_mongo gets collections with options (capped, a
 * validator with level and action, a collation), every index kind (compound, unique,
 * partial, TTL, sparse, text, 2dsphere, hidden) and two views (one on the other). They
 * are copied into an empty target as the engine will (collections, documents, indexes,
 * views); then listCollections (name, type, options) and listIndexes of every
 * collection must be equal on both sides - compared as each server reports them, so a
 * server that keeps fewer index options is compared on what it keeps. A second
 * application finds everything done, a collection with one index missing gets it back,
 * and an option the target's wire version does not know is refused by name.
 *
 * Also registered against FerretDB (tests/_ferretdb.sh). What the source server refuses
 * to create is found out by trying, left out with a note, and the checks follow what was
 * made: FerretDB 1.24 has no validators, collations or views, no partial, TTL, hidden,
 * text or 2dsphere indexes (it accepts "sparse" but does not keep it), so there the
 * collections "checked" and "french" are plain, "plain" has 3 secondary indexes and the
 * view checks are left out; it accepts clusteredIndex (its wire version is 21) and makes a
 * plain collection, which the test reports.
 */
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test_schema_common.h"

#define SDB "tl_schema_mongo"
#define D (&tl_driver_mongo)

static mongoc_client_t *raw(const char *url)
{
	mongoc_client_t *c;

	mongoc_init();
	c = mongoc_client_new(url);
	if (!c)
		tl_test_fail(__FILE__, __LINE__, "cannot create a client for %s", url);
	return c;
}

/* Runs a command given as relaxed JSON on db; a failure fails the test unless `quiet`
 * (then the server's message goes to *why, 0/-1 returned all the same). */
static int cmd_try(mongoc_client_t *c, const char *db, const char *json, int quiet, char *why, size_t cap)
{
	bson_error_t e;
	bson_t *b = bson_new_from_json((const uint8_t *)json, -1, &e), reply;
	int ok;

	if (!b) {
		tl_test_fail(__FILE__, __LINE__, "bad JSON %s: %s", json, e.message);
		return -1;
	}
	ok = mongoc_client_command_simple(c, db, b, NULL, &reply, &e);
	if (!ok && !quiet)
		tl_test_fail(__FILE__, __LINE__, "command %s failed: %s", json, e.message);
	if (!ok && why)
		snprintf(why, cap, "%s", e.message);
	bson_destroy(&reply);
	bson_destroy(b);
	return ok ? 0 : -1;
}

static int cmd(mongoc_client_t *c, const char *db, const char *json)
{
	return cmd_try(c, db, json, 0, NULL, 0);
}

/* Sorts n malloc'd texts and joins them with newlines (frees them; the result is malloc'd). */
static char *join_sorted(char **items, size_t n)
{
	size_t i, k, len = 1, at = 0;
	char *out;

	for (i = 0; i < n; i++)
		for (k = i + 1; k < n; k++)
			if (strcmp(items[k], items[i]) < 0) {
				char *t = items[i];
				items[i] = items[k];
				items[k] = t;
			}
	for (i = 0; i < n; i++)
		len += strlen(items[i]) + 1;
	out = calloc(1, len);
	for (i = 0; i < n; i++) {
		if (out) {
			memcpy(out + at, items[i], strlen(items[i]));
			at += strlen(items[i]);
			out[at++] = '\n';
		}
		free(items[i]);
	}
	return out;
}

/* listCollections of SDB, sorted by name, as one JSON text (name, type, options). */
static char *collections(mongoc_client_t *c)
{
	mongoc_database_t *d = mongoc_client_get_database(c, SDB);
	mongoc_cursor_t *cur = mongoc_database_find_collections_with_opts(d, NULL);
	const bson_t *info;
	char *items[64];
	size_t n = 0;
	bson_iter_t it;

	while (n < 64 && mongoc_cursor_next(cur, &info)) {
		bson_t keep = BSON_INITIALIZER;
		char *j;
		if (bson_iter_init_find(&it, info, "name"))
			bson_append_iter(&keep, "name", -1, &it);
		if (bson_iter_init_find(&it, info, "type"))
			bson_append_iter(&keep, "type", -1, &it);
		if (bson_iter_init_find(&it, info, "options"))
			bson_append_iter(&keep, "options", -1, &it);
		j = bson_as_canonical_extended_json(&keep, NULL);
		items[n++] = strdup(j);
		bson_free(j);
		bson_destroy(&keep);
	}
	mongoc_cursor_destroy(cur);
	mongoc_database_destroy(d);
	return join_sorted(items, n);
}

/* listIndexes of one collection, sorted by name (without ns). */
static char *indexes(mongoc_client_t *c, const char *coll)
{
	mongoc_collection_t *col = mongoc_client_get_collection(c, SDB, coll);
	mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(col, NULL);
	const bson_t *spec;
	char *items[32];
	size_t n = 0;

	while (n < 32 && mongoc_cursor_next(cur, &spec)) {
		bson_t keep = BSON_INITIALIZER;
		char *j;
		bson_copy_to_excluding_noinit(spec, &keep, "ns", NULL);
		j = bson_as_canonical_extended_json(&keep, NULL);
		items[n++] = strdup(j);
		bson_free(j);
		bson_destroy(&keep);
	}
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	return join_sorted(items, n);
}

static const char *const colls[] = {"plain", "capped", "checked", "french"};

struct env {
	mongoc_client_t *src, *dst;
	tl_conn *s, *d;
	tl_name names[4];
	/* what the source server made (the rest it refused; see the file comment) */
	int validator, collation, views, partial;
	size_t nidx; /* secondary indexes of "plain" */
};

/* The optional parts of the data set: {what, command, fallback when refused}. */
static const struct {
	const char *what, *json, *fallback;
} optional[] = {
	{"a validator", "{\"create\": \"checked\", \"validator\": {\"$jsonSchema\": {\"bsonType\": \"object\", "
			"\"required\": [\"a\"]}}, \"validationLevel\": \"moderate\", \"validationAction\": \"warn\"}",
	 "{\"create\": \"checked\"}"},
	{"a collation", "{\"create\": \"french\", \"collation\": {\"locale\": \"fr\", \"strength\": 2}}",
	 "{\"create\": \"french\"}"},
};

static const char *const plain_indexes[] = {
	"{\"key\": {\"a\": 1, \"b\": -1}, \"name\": \"a_b\"}",
	"{\"key\": {\"u\": 1}, \"name\": \"u_unique\", \"unique\": true}",
	"{\"key\": {\"p\": 1}, \"name\": \"p_partial\", \"partialFilterExpression\": {\"p\": {\"$gt\": 5}}}",
	"{\"key\": {\"t\": 1}, \"name\": \"t_ttl\", \"expireAfterSeconds\": 3600}",
	"{\"key\": {\"s\": 1}, \"name\": \"s_sparse\", \"sparse\": true}",
	"{\"key\": {\"txt\": \"text\"}, \"name\": \"txt_text\"}",
	"{\"key\": {\"loc\": \"2dsphere\"}, \"name\": \"loc_2dsphere\"}",
	"{\"key\": {\"h\": 1}, \"name\": \"h_hidden\", \"hidden\": true}",
};

/* Makes the optional parts on the source, each one the server takes; a note per refusal. */
static int make_optional(struct env *e)
{
	char json[1024], why[512];
	size_t i, n = sizeof(plain_indexes) / sizeof(plain_indexes[0]);

	for (i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
		int ok = cmd_try(e->src, SDB, optional[i].json, 1, why, sizeof(why)) == 0;

		if (!ok) {
			fprintf(stderr, "    note: the source server refuses %s (%s): left out here\n", optional[i].what, why);
			if (cmd(e->src, SDB, optional[i].fallback))
				return -1;
		}
		if (i == 0)
			e->validator = ok;
		else
			e->collation = ok;
	}
	for (i = 0; i < n; i++) {
		snprintf(json, sizeof(json), "{\"createIndexes\": \"plain\", \"indexes\": [%s]}", plain_indexes[i]);
		if (cmd_try(e->src, SDB, json, 1, why, sizeof(why)) == 0) {
			e->nidx++;
			e->partial |= strstr(plain_indexes[i], "p_partial") != NULL;
		} else {
			fprintf(stderr, "    note: the source server refuses the index %s (%s): left out here\n",
				plain_indexes[i], why);
		}
	}
	e->views = cmd_try(e->src, SDB,
			   "{\"create\": \"plain_a\", \"viewOn\": \"plain\", \"pipeline\": [{\"$match\": {\"a\": 1}}]}", 1,
			   why, sizeof(why)) == 0;
	if (!e->views)
		fprintf(stderr, "    note: the source server refuses views (%s): left out here\n", why);
	else if (cmd(e->src, SDB,
		     "{\"create\": \"plain_a_names\", \"viewOn\": \"plain_a\", \"pipeline\": [{\"$project\": {\"txt\": 1}}]}"))
		return -1;
	return 0;
}

static tl_conn *drv(const char *url)
{
	tl_endpoint ep = {.db_type = "mongo", .url = url, .app_name = "tideline-test"};
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL;

	if (D->connect(&ep, &c, &err) != 0)
		tl_test_fail(__FILE__, __LINE__, "connect: %s", err.message);
	return c;
}

static int env_open(struct env *e)
{
	static const char *const setup[] = {
		"{\"create\": \"plain\"}",
		"{\"create\": \"capped\", \"capped\": true, \"size\": 65536, \"max\": 100}",
		NULL};
	static const char *const data[] = {
		"{\"createIndexes\": \"french\", \"indexes\": [{\"key\": {\"name\": 1}, \"name\": \"name_1\"}]}",
		"{\"insert\": \"plain\", \"documents\": [{\"_id\": 1, \"a\": 1, \"u\": 1, \"txt\": \"hello\"}, "
		"{\"_id\": 2, \"a\": 2, \"u\": 2, \"p\": 9}]}",
		"{\"insert\": \"french\", \"documents\": [{\"_id\": \"x\", \"name\": \"Élodie\"}]}",
		NULL};
	const char *su = tl_test_require_env("TL_MONGO_SRC_URL");
	const char *du = su ? tl_test_require_env("TL_MONGO_DST_URL") : NULL;
	size_t i;

	memset(e, 0, sizeof(*e));
	if (!su || !du)
		return -1;
	e->src = raw(su);
	e->dst = raw(du);
	if (!e->src || !e->dst || cmd(e->src, SDB, "{\"dropDatabase\": 1}") || cmd(e->dst, SDB, "{\"dropDatabase\": 1}"))
		return -1;
	for (i = 0; setup[i]; i++)
		if (cmd(e->src, SDB, setup[i]))
			return -1;
	if (make_optional(e))
		return -1;
	for (i = 0; data[i]; i++)
		if (cmd(e->src, SDB, data[i]))
			return -1;
	for (i = 0; i < 4; i++) {
		e->names[i].schema = (char *)SDB;
		e->names[i].name = (char *)colls[i];
	}
	e->s = drv(su);
	e->d = drv(du);
	return e->s && e->d ? 0 : -1;
}

static void env_close(struct env *e)
{
	D->disconnect(e->s);
	D->disconnect(e->d);
	if (e->src)
		mongoc_client_destroy(e->src);
	if (e->dst)
		mongoc_client_destroy(e->dst);
}

static void compare(struct env *e)
{
	char *a = collections(e->src), *b = collections(e->dst);
	size_t i;

	TL_CHECK_MSG(a && b && strcmp(a, b) == 0, "listCollections differs:\n%s\nvs\n%s", a ? a : "?", b ? b : "?");
	TL_CHECK_MSG(a && strstr(a, "\"capped\"") && (!e->validator || strstr(a, "\"validator\"")) &&
			     (!e->collation || strstr(a, "\"collation\"")),
		     "the source lost its options: %s", a ? a : "?");
	free(a);
	free(b);
	for (i = 0; i < 4; i++) {
		a = indexes(e->src, colls[i]);
		b = indexes(e->dst, colls[i]);
		TL_CHECK_MSG(a && b && strcmp(a, b) == 0, "listIndexes of %s differs:\n%s\nvs\n%s", colls[i], a ? a : "?",
			     b ? b : "?");
		free(a);
		free(b);
	}
}

TL_TEST(test_schema_mongo__collections_indexes_views)
{
	tl_schema_list l = TL_SCHEMA_LIST_INIT;
	tl_error err = TL_ERROR_INIT;
	enum tl_schema_state st[64];
	struct env e;
	size_t i;

	if (env_open(&e) != 0)
		goto cleanup;
	TL_CHECK_OK(D->schema_extract(e.s, e.names, 4, NULL, &l, &err), &err);
	schema_dump(&l);
	schema_check_order(&l);
	TL_CHECK(schema_step(&l, "collection " SDB ".capped") &&
		 schema_step(&l, "collection " SDB ".capped")->phase == TL_PHASE_PRE_DATA);
	TL_CHECK(schema_step(&l, "indexes " SDB ".plain") && schema_step(&l, "indexes " SDB ".plain")->nparts == e.nidx);
	if (e.views)
		TL_CHECK(schema_step(&l, "view " SDB ".plain_a_names") &&
			 schema_step(&l, "view " SDB ".plain_a_names")->level > schema_step(&l, "view " SDB ".plain_a")->level);
	if (tl_test_failed() || l.n > 64)
		goto cleanup;
	if (schema_apply_all(D, e.s, e.d, &l, e.names, 4, SCHEMA_FRESH) != 0)
		goto cleanup;
	compare(&e);
	TL_CHECK_OK(D->schema_probe(e.d, l.items, l.n, st, &err), &err);
	for (i = 0; i < l.n; i++)
		TL_CHECK_MSG(st[i] == TL_SCHEMA_PRESENT, "%s probes as %d", l.items[i].id, (int)st[i]);
	if (schema_apply_all(D, NULL, e.d, &l, e.names, 4, SCHEMA_DONE) != 0)
		goto cleanup;
	compare(&e);

	/* one index gone: the step is half done, and only that one is built again */
	if (cmd(e.dst, SDB, e.partial ? "{\"dropIndexes\": \"plain\", \"index\": \"p_partial\"}"
				      : "{\"dropIndexes\": \"plain\", \"index\": \"u_unique\"}"))
		goto cleanup;
	{
		const tl_schema_step *ix = schema_step(&l, "indexes " SDB ".plain");
		enum tl_schema_state before;
		TL_CHECK_OK(D->schema_probe(e.d, ix, 1, st, &err), &err);
		TL_CHECK_EQ_INT(st[0], TL_SCHEMA_PARTIAL);
		TL_CHECK_OK(D->schema_apply(e.d, ix, &before, &err), &err);
		TL_CHECK_EQ_INT(before, TL_SCHEMA_PARTIAL);
	}
	compare(&e);
cleanup:
	tl_schema_list_clear(&l);
	env_close(&e);
}

TL_TEST(test_schema_mongo__unknown_option_is_refused_by_name)
{
	tl_schema_list l = TL_SCHEMA_LIST_INIT;
	tl_error err = TL_ERROR_INIT;
	tl_schema_step *s;
	tl_name missing = {SDB, "no_such_collection"};
	struct env e;

	if (env_open(&e) != 0)
		goto cleanup;
	TL_CHECK_EQ_INT(D->schema_extract(e.s, &missing, 1, NULL, &l, &err), TL_ERR_NOTFOUND);
	TL_CHECK_MSG(strstr(err.message, "no_such_collection") != NULL, "%s", err.message);
	tl_schema_list_clear(&l);
	/* clustered collections came with wire version 17 (MongoDB 5.3); the test server says 13 */
	TL_CHECK_OK(tl_schema_list_push(&l, TL_SK_COLLECTION, SDB, NULL, "clustered", TL_SCHEMA_NO_OWNER, &s, &err), &err);
	s->sql = strdup("{\"create\": \"clustered\", \"clusteredIndex\": {\"key\": {\"_id\": 1}, \"unique\": true}}");
	{
		int rc = D->schema_apply(e.d, s, NULL, &err);
		if (strstr(err.message, "maxWireVersion") || rc == 0) {
			if (rc == 0) {
				char *all = collections(e.dst);
				const char *at = all ? strstr(all, "\"clustered\"") : NULL;
				const char *eol = at ? strchr(at, '\n') : NULL;
				int kept = at && strstr(at, "clusteredIndex") && (!eol || strstr(at, "clusteredIndex") < eol);

				/* FerretDB 1.24 takes the option and makes a plain collection */
				fprintf(stderr, "    note: this target %s\n",
					kept ? "supports clustered collections"
					     : "accepted clusteredIndex but made a plain collection (the option is gone)");
				free(all);
			}
			else
				TL_CHECK_MSG(rc == TL_ERR_UNSUPPORTED && strstr(err.message, "clusteredIndex"), "%s", err.message);
		} else if (rc == TL_ERR_DB && strstr(err.message, "clusteredIndex")) {
			/* a wire version that allows it, but the server refuses it itself, by name (FerretDB) */
			fprintf(stderr, "    note: the target refuses clusteredIndex itself: %s\n", err.message);
		} else {
			TL_CHECK_MSG(0, "unexpected: %d %s", rc, err.message);
		}
	}
cleanup:
	tl_schema_list_clear(&l);
	env_close(&e);
}
