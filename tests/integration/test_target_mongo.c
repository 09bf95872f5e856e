/*
 * test_target_mongo.c - what the engine checks and claims on a MongoDB target (driver.h
 * key_exists, claim, release) against the live target server (TL_MONGO_DST_URL from
 * tools/servers.sh; skipped when unset).
 *
 * key_exists: _id values of several BSON types in every position spelling (numbers
 * compare across types as MongoDB does), a document _id with $-keys, a missing
 * collection, a value that cannot be parsed, a lookup by another column; live_rows_many
 * (the metadata count). Claims (lease
 * documents in <db>.tideline.claims): a second connection is refused naming the holder's
 * owner line, host and pid; claiming again renews; release and disconnect delete the
 * lease; an expired lease and the lease of a process gone from this host are taken over;
 * a live lease of another host is not; a renewal that finds its lease taken over is
 * refused; the claims collection is never listed; flush_commits is a journaled write.
 * Setup goes through libmongoc
 * directly; only database tl_tgt is touched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "connectors/mongo_int.h" /* the client, to watch the commands the driver sends */
#include "tideline/driver.h"
#include "tl_test.h"

#define D (&tl_driver_mongo)
#define TDB "tl_tgt"
#define OWNER "tideline task 't-first' (pid 4242 on test-host)"

static mongoc_client_t *raw(const char *url)
{
	mongoc_client_t *c;

	mongoc_init();
	c = mongoc_client_new(url);
	if (!c)
		tl_test_fail(__FILE__, __LINE__, "cannot create a client for %s", url);
	return c;
}

static int insert_json(mongoc_client_t *c, const char *coll, const char *json)
{
	mongoc_collection_t *col = mongoc_client_get_collection(c, TDB, coll);
	bson_error_t e;
	bson_t *doc = bson_new_from_json((const uint8_t *)json, -1, &e);
	int ok = doc && mongoc_collection_insert_one(col, doc, NULL, NULL, &e);

	if (!ok)
		tl_test_fail(__FILE__, __LINE__, "insert %s into %s: %s", json, coll, e.message);
	if (doc)
		bson_destroy(doc);
	mongoc_collection_destroy(col);
	return ok ? 0 : -1;
}

static long long count_json(mongoc_client_t *c, const char *coll, const char *json)
{
	mongoc_collection_t *col = mongoc_client_get_collection(c, TDB, coll);
	bson_error_t e;
	bson_t *filter = bson_new_from_json((const uint8_t *)json, -1, &e);
	long long n = filter ? mongoc_collection_count_documents(col, filter, NULL, NULL, NULL, &e) : -1;

	if (n < 0)
		tl_test_fail(__FILE__, __LINE__, "count %s in %s: %s", json, coll, e.message);
	if (filter)
		bson_destroy(filter);
	mongoc_collection_destroy(col);
	return n;
}

static mongoc_client_t *setup(void)
{
	const char *url = tl_test_require_env("TL_MONGO_DST_URL");
	mongoc_client_t *c = url ? raw(url) : NULL;
	mongoc_database_t *d;
	bson_error_t e;

	if (!c)
		return NULL;
	d = mongoc_client_get_database(c, TDB);
	if (!mongoc_database_drop(d, &e) && e.code != 26)
		tl_test_fail(__FILE__, __LINE__, "drop database: %s", e.message);
	mongoc_database_destroy(d);
	if (insert_json(c, "docs", "{\"_id\": 1, \"v\": 1}") ||
	    insert_json(c, "docs", "{\"_id\": \"s\", \"v\": 2}") ||
	    insert_json(c, "docs", "{\"_id\": {\"$oid\": \"648195af9aa9cadd41a9dcb2\"}}") ||
	    insert_json(c, "docs", "{\"_id\": {\"a\": 1, \"b\": \"x\"}}") ||
	    insert_json(c, "docs", "{\"_id\": \"$dollar\"}") || insert_json(c, "other", "{\"_id\": 1}") ||
	    insert_json(c, "third", "{\"_id\": 1}")) {
		mongoc_client_destroy(c);
		return NULL;
	}
	return c;
}

static tl_conn *open_as(const char *url, const char *app)
{
	tl_endpoint ep = {.db_type = "mongo", .url = url, .app_name = app};
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL;

	if (D->connect(&ep, &c, &err) != 0) {
		tl_test_fail(__FILE__, __LINE__, "connect failed: %s", err.message);
		return NULL;
	}
	return c;
}

static tl_table *describe(tl_conn *c, const char *name)
{
	tl_error err = TL_ERROR_INIT;
	tl_table *t = NULL;

	if (D->describe(c, TDB, name, &t, &err) != 0)
		tl_test_fail(__FILE__, __LINE__, "describe %s: %s", name, err.message);
	return t;
}

static int id_exists(tl_conn *c, const tl_table *t, const char *col, const char *val, tl_error *err)
{
	const char *cols[1] = {col}, *vals[1] = {val};
	tl_keyvals k = {0};
	int found = -1;

	tl_error_clear(err);
	if (tl_keyvals_set(&k, 1, cols, vals, err) == 0 && D->key_exists(c, t, &k, &found, err) != 0)
		found = -1;
	tl_keyvals_clear(&k);
	return found;
}

TL_TEST(key_exists_ids)
{
	tl_error err = TL_ERROR_INIT;
	mongoc_client_t *admin = setup();
	tl_conn *c = NULL;
	tl_table *t = NULL, *gone = NULL;

	if (!admin)
		return;
	if (!(c = open_as(getenv("TL_MONGO_DST_URL"), "tideline-test")) || !(t = describe(c, "docs")))
		goto cleanup;
	TL_CHECK_EQ_INT(id_exists(c, t, "_id", "{\"Int32\":1}", &err), 1);
	TL_CHECK_EQ_INT(id_exists(c, t, "_id", "{\"Int64\":1}", &err), 1); /* MongoDB's numeric equality */
	TL_CHECK_EQ_INT(id_exists(c, t, "_id", "{\"Double\":1.0}", &err), 1);
	TL_CHECK_EQ_INT(id_exists(c, t, "_id", "{\"Int32\":2}", &err), 0);
	TL_CHECK_EQ_INT(id_exists(c, t, "_id", "{\"String\":\"s\"}", &err), 1);
	TL_CHECK_EQ_INT(id_exists(c, t, "_id", "{\"String\":\"1\"}", &err), 0);
	TL_CHECK_EQ_INT(id_exists(c, t, "_id", "{\"String\":\"$dollar\"}", &err), 1);
	TL_CHECK_EQ_INT(id_exists(c, t, "_id", "{\"ObjectId\":{\"$oid\":\"648195af9aa9cadd41a9dcb2\"}}", &err), 1);
	TL_CHECK_EQ_INT(id_exists(c, t, "_id", "648195af9aa9cadd41a9dcb2", &err), 1);
	TL_CHECK_EQ_INT(id_exists(c, t, "_id", "648195af9aa9cadd41a9dcb3", &err), 0);
	TL_CHECK_EQ_INT(id_exists(c, t, "_id", "{\"CanonicalExtJson\":{\"a\":{\"$numberInt\":\"1\"},\"b\":\"x\"}}", &err), 1);
	TL_CHECK_EQ_INT(id_exists(c, t, "_id", "{\"CanonicalExtJson\":{\"b\":\"x\",\"a\":{\"$numberInt\":\"1\"}}}", &err), 0);
	/* errors */
	TL_CHECK_EQ_INT(id_exists(c, t, "_id", "{\"Int32\":\"x\"", &err), -1);
	TL_CHECK_EQ_INT(err.code, TL_ERR_MISMATCH);
	TL_CHECK_EQ_INT(id_exists(c, t, "v", "{\"Int32\":1}", &err), -1);
	TL_CHECK_EQ_INT(err.code, TL_ERR_INTERNAL);
	/* a dropped collection holds nothing */
	if (!(gone = describe(c, "other")))
		goto cleanup;
	{
		mongoc_collection_t *col = mongoc_client_get_collection(admin, TDB, "other");
		bson_error_t e;
		TL_CHECK(mongoc_collection_drop(col, &e));
		mongoc_collection_destroy(col);
	}
	TL_CHECK_EQ_INT(id_exists(c, gone, "_id", "{\"Int32\":1}", &err), 0);
	TL_CHECK_EQ_INT(err.code, TL_OK);
	/* the statistics' first look before an exact count */
	{
		tl_name names[2] = {{TDB, "docs"}, {TDB, "other"}};
		int64_t live[2] = {0, 0};
		TL_CHECK_OK(D->live_rows_many(c, names, 2, live, &err), &err);
		TL_CHECK_EQ_INT(live[0], 5);
		TL_CHECK_EQ_INT(live[1], 0);
	}
cleanup:
	D->free_table(t);
	D->free_table(gone);
	D->disconnect(c);
	mongoc_client_destroy(admin);
}

static int claim(tl_conn *c, const tl_table *t, const char *owner, tl_error *err)
{
	tl_error_clear(err);
	return D->claim(c, t, owner, err);
}

TL_TEST(claim_refuses_a_second_writer)
{
	const char *url;
	char host[256] = "", want[600];
	tl_error err = TL_ERROR_INIT;
	mongoc_client_t *admin = setup();
	tl_conn *a = NULL, *b = NULL;
	tl_table *docs = NULL, *other = NULL, *third = NULL;
	tl_name_list names = {0};
	size_t i;

	if (!admin)
		return;
	url = getenv("TL_MONGO_DST_URL");
	a = open_as(url, "tideline-test");
	b = open_as(url, "tideline-test-b");
	if (!a || !b || !(docs = describe(a, "docs")) || !(other = describe(a, "other")) || !(third = describe(a, "third")))
		goto cleanup;
	TL_CHECK_OK(claim(a, docs, OWNER, &err), &err);
	TL_CHECK_EQ_INT(count_json(admin, "tideline.claims", "{\"_id\": \"docs\"}"), 1);
	TL_CHECK_EQ_INT(claim(b, docs, "tideline task 't-second'", &err), TL_ERR_LOCKED);
	gethostname(host, sizeof(host) - 1);
	snprintf(want, sizeof(want), "'" OWNER "' (host %s, pid %ld) holds its claim", host, (long)getpid());
	TL_CHECK_MSG(strstr(err.message, "'tl_tgt.docs'") && strstr(err.message, want), "message: %s", err.message);
	/* several claims per connection; claiming again renews */
	TL_CHECK_OK(claim(a, other, OWNER, &err), &err);
	TL_CHECK_OK(claim(a, docs, OWNER, &err), &err);
	TL_CHECK_EQ_INT(count_json(admin, "tideline.claims", "{\"_id\": \"docs\", \"gen\": 1}"), 1);
	/* the claims are not a collection to copy */
	TL_CHECK_OK(D->list_tables(a, &names, &err), &err);
	for (i = 0; i < names.n; i++)
		TL_CHECK_MSG(strcmp(names.items[i].name, "tideline.claims") != 0, "listed %s.%s", names.items[i].schema,
			     names.items[i].name);
	/* release deletes the lease */
	TL_CHECK_OK(D->release(a, docs, &err), &err);
	TL_CHECK_EQ_INT(count_json(admin, "tideline.claims", "{\"_id\": \"docs\"}"), 0);
	TL_CHECK_OK(claim(b, docs, "tideline task 't-second'", &err), &err);
	TL_CHECK_EQ_INT(claim(a, docs, OWNER, &err), TL_ERR_LOCKED);
	TL_CHECK_OK(D->release(a, docs, &err), &err); /* not held: nothing */
	/* disconnect deletes every lease of the connection */
	TL_CHECK_OK(claim(a, third, OWNER, &err), &err);
	D->disconnect(a);
	a = NULL;
	TL_CHECK_EQ_INT(count_json(admin, "tideline.claims", "{\"_id\": {\"$in\": [\"other\", \"third\"]}}"), 0);
	TL_CHECK_OK(claim(b, other, "tideline task 't-second'", &err), &err);
cleanup:
	tl_name_list_clear(&names);
	D->free_table(docs);
	D->free_table(other);
	D->free_table(third);
	D->disconnect(a);
	D->disconnect(b);
	mongoc_client_destroy(admin);
}

/* A forged lease of `coll`: held by host/pid, renewed `age_ms` ago, lapsing `left_ms` from now. */
static int forge(mongoc_client_t *admin, const char *coll, const char *host, long pid, long long age_ms,
		 long long left_ms)
{
	char json[1024];
	long long now;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	snprintf(json, sizeof(json),
		 "{\"_id\": \"%s\", \"owner\": \"tideline task 'old'\", \"host\": \"%s\", \"pid\": {\"$numberLong\": "
		 "\"%ld\"}, \"token\": \"forged\", \"gen\": {\"$numberLong\": \"7\"}, \"claimed_at\": {\"$date\": "
		 "{\"$numberLong\": \"%lld\"}}, \"renewed_at\": {\"$date\": {\"$numberLong\": \"%lld\"}}, "
		 "\"expires_at\": {\"$date\": {\"$numberLong\": \"%lld\"}}}",
		 coll, host, pid, now - age_ms, now - age_ms, now + left_ms);
	return insert_json(admin, "tideline.claims", json);
}

TL_TEST(claim_takes_over_lapsed_and_dead_leases)
{
	const char *url;
	char host[256] = "";
	tl_error err = TL_ERROR_INIT;
	mongoc_client_t *admin = setup();
	tl_conn *b = NULL;
	tl_table *docs = NULL, *other = NULL, *third = NULL;
	pid_t child;
	int status = 0;

	if (!admin)
		return;
	url = getenv("TL_MONGO_DST_URL");
	gethostname(host, sizeof(host) - 1);
	b = open_as(url, "tideline-test-b");
	if (!b || !(docs = describe(b, "docs")) || !(other = describe(b, "other")) || !(third = describe(b, "third")))
		goto cleanup;
	/* a live lease of another host: refused, saying when it lapses */
	if (forge(admin, "docs", "elsewhere", 1, 5000, 60000))
		goto cleanup;
	TL_CHECK_EQ_INT(claim(b, docs, "tideline task 't-second'", &err), TL_ERR_LOCKED);
	TL_CHECK_MSG(strstr(err.message, "'tideline task 'old'' (host elsewhere, pid 1)") &&
			     strstr(err.message, "renewed 5 s ago") && strstr(err.message, "lapsing in 60 s"),
		     "message: %s", err.message);
	/* a lapsed lease of another host: taken over */
	if (forge(admin, "other", "elsewhere", 1, 200000, -80000))
		goto cleanup;
	TL_CHECK_OK(claim(b, other, "tideline task 't-second'", &err), &err);
	TL_CHECK_EQ_INT(count_json(admin, "tideline.claims", "{\"_id\": \"other\", \"owner\": \"tideline task 't-second'\", "
							       "\"gen\": 8}"),
			1);
	/* a live lease of a process of this host that is gone: taken over at once */
	child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, &status, 0);
	if (forge(admin, "third", host, (long)child, 1000, 119000))
		goto cleanup;
	TL_CHECK_OK(claim(b, third, "tideline task 't-second'", &err), &err);
	/* ... but not one of a process of this host that runs (this one) */
	TL_CHECK_OK(D->release(b, third, &err), &err);
	if (forge(admin, "third", host, (long)getpid(), 1000, 119000))
		goto cleanup;
	TL_CHECK_EQ_INT(claim(b, third, "tideline task 't-second'", &err), TL_ERR_LOCKED);
cleanup:
	D->free_table(docs);
	D->free_table(other);
	D->free_table(third);
	D->disconnect(b);
	mongoc_client_destroy(admin);
}

TL_TEST(claim_renewal_finds_a_takeover)
{
	const char *url;
	tl_error err = TL_ERROR_INIT;
	mongoc_client_t *admin = setup();
	tl_conn *a = NULL;
	tl_table *docs = NULL;
	mongoc_collection_t *leases = NULL;
	bson_t *sel = NULL, *upd = NULL;
	bson_error_t e;

	if (!admin)
		return;
	url = getenv("TL_MONGO_DST_URL");
	if (!(a = open_as(url, "tideline-test")) || !(docs = describe(a, "docs")))
		goto cleanup;
	TL_CHECK_OK(claim(a, docs, OWNER, &err), &err);
	/* someone else takes the lease over (as after a lapse) */
	leases = mongoc_client_get_collection(admin, TDB, "tideline.claims");
	sel = BCON_NEW("_id", BCON_UTF8("docs"));
	upd = BCON_NEW("$set", "{", "token", BCON_UTF8("thief"), "owner", BCON_UTF8("tideline task 'thief'"), "}");
	TL_CHECK(mongoc_collection_update_one(leases, sel, upd, NULL, NULL, &e));
	TL_CHECK_EQ_INT(claim(a, docs, OWNER, &err), TL_ERR_LOCKED);
	TL_CHECK_MSG(strstr(err.message, "lost its claim to") && strstr(err.message, "tideline task 'thief'"), "message: %s",
		     err.message);
	/* and a lease removed by someone else */
	TL_CHECK(mongoc_collection_delete_one(leases, sel, NULL, NULL, &e));
	TL_CHECK_EQ_INT(claim(a, docs, OWNER, &err), TL_ERR_LOCKED);
	TL_CHECK_MSG(strstr(err.message, "was removed by someone else") != NULL, "message: %s", err.message);
cleanup:
	if (sel)
		bson_destroy(sel);
	if (upd)
		bson_destroy(upd);
	mongoc_collection_destroy(leases);
	D->free_table(docs);
	D->disconnect(a);
	mongoc_client_destroy(admin);
}

/* The writeConcern of the last update command a client started, as JSON. */
static void on_update(const mongoc_apm_command_started_t *ev)
{
	char *out = mongoc_apm_command_started_get_context(ev);
	const bson_t *cmd = mongoc_apm_command_started_get_command(ev);
	bson_iter_t it;

	if (strcmp(mongoc_apm_command_started_get_command_name(ev), "update") != 0)
		return;
	snprintf(out, 256, "(none)");
	if (bson_iter_init_find(&it, cmd, "writeConcern") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
		const uint8_t *data;
		uint32_t len;
		bson_t sub;
		char *json;
		bson_iter_document(&it, &len, &data);
		if (bson_init_static(&sub, data, len) && (json = bson_as_relaxed_extended_json(&sub, NULL)) != NULL) {
			snprintf(out, 256, "%s", json);
			bson_free(json);
		}
	}
}

TL_TEST(flush_commits_is_a_journaled_write)
{
	const char *url;
	char wc[256] = "(no update seen)";
	tl_error err = TL_ERROR_INIT;
	mongoc_client_t *admin = setup();
	tl_conn *a = NULL;
	tl_table *docs = NULL;
	mongoc_apm_callbacks_t *cb = NULL;

	if (!admin)
		return;
	url = getenv("TL_MONGO_DST_URL");
	if (!(a = open_as(url, "tideline-test")) || !(docs = describe(a, "docs")))
		goto cleanup;
	cb = mongoc_apm_callbacks_new();
	mongoc_apm_set_command_started_cb(cb, on_update);
	(void)mongoc_client_set_apm_callbacks(a->client, cb, wc);
	TL_CHECK_OK(D->flush_commits(a, docs, &err), &err);
	TL_CHECK_EQ_STR(wc, "{ \"w\" : 1, \"j\" : true }");
	TL_CHECK_EQ_INT(count_json(admin, "tideline.claims", "{\"_id\": {\"flush\": 1}}"), 1);
	TL_CHECK_OK(D->flush_commits(a, docs, &err), &err);
	TL_CHECK_EQ_INT(count_json(admin, "tideline.claims", "{\"_id\": {\"flush\": 1}}"), 1);
	/* the flush document is no claim: claiming still works */
	TL_CHECK_OK(claim(a, docs, OWNER, &err), &err);
cleanup:
	if (cb)
		mongoc_apm_callbacks_destroy(cb);
	D->free_table(docs);
	D->disconnect(a);
	mongoc_client_destroy(admin);
}
