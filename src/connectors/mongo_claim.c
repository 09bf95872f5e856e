/*
 * mongo_claim.c - MongoDB connector: checking what a checkpoint claims on the target
 * (key_exists) and claiming a target collection while it is written (claim, release).
 *
 * MongoDB has no lock that ends with a client's session, so a claim is a lease: one
 * document per claimed collection in <db>.TL_CLAIM_COLLECTION (driver.h), its _id the
 * collection's name,
 *
 *   {_id, owner, host, pid, token, gen, claimed_at, renewed_at, expires_at}
 *
 * where token is this connection's (an ObjectId string made at its first claim) and gen
 * counts renewals. Taking: insert; a duplicate key means someone holds it. Taking over is
 * a replacement conditioned on the token and gen that were read, so two takers cannot
 * both win; it is allowed when the lease has expired (expires_at in the past by this
 * host's clock: hosts whose clocks differ by more than a fraction of
 * TL_CLAIM_LEASE_SECS can take a live lease), when the holder was a process of this
 * host that no longer runs (a crashed run of any task: no waiting for the lease), or when
 * it is this run itself through a connection it gave up (a retry after a lost
 * connection, the lease left behind because the server was down). A lease
 * is renewed (renewed_at, expires_at, gen+1, conditioned on the token) by write_batch
 * every quarter lease and by claiming again; a renewal that finds another token is
 * TL_ERR_LOCKED. release and disconnect delete this connection's documents.
 *
 * flush_commits upserts the document {_id: {flush: 1}} of the same collection (an _id no
 * collection name can take) with a journaled write concern: the server acknowledges it
 * once the journal is on disk through it, and so through every earlier write.
 *
 * Must not touch any collection but TL_CLAIM_COLLECTION (key_exists only reads).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mongo_int.h"

#define LEASE_MS ((int64_t)TL_CLAIM_LEASE_SECS * 1000)
#define MONGO_DUPLICATE_KEY 11000

int tl_mongo__key_exists(tl_conn *c, const tl_table *src, const tl_keyvals *key, int *exists, tl_error *err)
{
	mongoc_collection_t *coll = NULL;
	mongoc_cursor_t *cur = NULL;
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, cond, proj;
	const bson_t *doc;
	bson_error_t e;
	int rc = 0, found = 0;

	*exists = 0;
	if (!key || key->n != 1 || strcmp(key->cols[0], "_id") != 0 || !key->vals[0])
		return tl_error_set(err, TL_ERR_INTERNAL, "key lookup in mongo collection '%s.%s' is by one _id value",
				    src->schema, src->name);
	/* {_id: {$eq: v}}: $eq takes a document or a regex _id literally */
	BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &cond);
	rc = tl_mongo__append_pos_value(&cond, "$eq", key->vals[0], src, err);
	bson_append_document_end(&filter, &cond);
	if (rc)
		goto cleanup;
	{
		/* an _id of a type the server cannot take (FerretDB 1.x: Decimal128) is on no
		 * document there, and asking about it may cost the connection */
		tl_error held = TL_ERROR_INIT;
		int refused = tl_mongo__check_doc(c, src, &filter, &held);

		tl_error_clear(&held);
		if (refused)
			goto cleanup;
	}
	BSON_APPEND_INT64(&opts, "limit", 1);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, "_id", 1);
	bson_append_document_end(&opts, &proj);
	coll = tl_mongo__collection(c, src->schema, src->name);
	cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
	if (mongoc_cursor_next(cur, &doc))
		found = 1;
	if (mongoc_cursor_error(cur, &e))
		rc = tl_mongo__error(err, &e, "cannot look up a document of target mongo collection '%s.%s' at %s",
				     src->schema, src->name, c->where);
	else
		*exists = found;
cleanup:
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return rc;
}

/* What a lease document says (strings lent by the document). */
struct lease {
	const char *owner, *host, *token;
	int64_t pid, gen, renewed_at, expires_at;
};

static void lease_read(const bson_t *doc, struct lease *l)
{
	bson_iter_t it;

	memset(l, 0, sizeof(*l));
	if (!bson_iter_init(&it, doc))
		return;
	while (bson_iter_next(&it)) {
		const char *k = bson_iter_key(&it);

		if (BSON_ITER_HOLDS_UTF8(&it)) {
			if (strcmp(k, "owner") == 0)
				l->owner = bson_iter_utf8(&it, NULL);
			else if (strcmp(k, "host") == 0)
				l->host = bson_iter_utf8(&it, NULL);
			else if (strcmp(k, "token") == 0)
				l->token = bson_iter_utf8(&it, NULL);
		} else if (BSON_ITER_HOLDS_DATE_TIME(&it)) {
			if (strcmp(k, "renewed_at") == 0)
				l->renewed_at = bson_iter_date_time(&it);
			else if (strcmp(k, "expires_at") == 0)
				l->expires_at = bson_iter_date_time(&it);
		} else if (BSON_ITER_HOLDS_NUMBER(&it)) {
			if (strcmp(k, "pid") == 0)
				l->pid = bson_iter_as_int64(&it);
			else if (strcmp(k, "gen") == 0)
				l->gen = bson_iter_as_int64(&it);
		}
	}
}

/* This host's name (for leases), "?" when unknown. */
static void host_name(char *out, size_t n)
{
	if (gethostname(out, n) != 0 || !out[0])
		snprintf(out, n, "?");
	out[n - 1] = '\0';
}

/* Whether l's holder is a process of this host that no longer runs. */
static int holder_gone(const struct lease *l)
{
	char host[256];

	host_name(host, sizeof(host));
	if (!l->host || strcmp(l->host, host) != 0 || l->pid <= 0 || l->pid == (int64_t)getpid() ||
	    l->pid > (int64_t)INT32_MAX)
		return 0;
	return kill((pid_t)l->pid, 0) != 0 && errno == ESRCH;
}

/*
 * Whether l's holder is this very run through another of its connections (this host and
 * process, the same owner line): one the engine gave up and replaced after a transient
 * failure, whose lease could not be deleted (its server was down). A run writes a table
 * from one connection at a time, so such a lease is a left-over.
 */
static int holder_is_this_run(const struct lease *l, const char *owner)
{
	char host[256];

	host_name(host, sizeof(host));
	return l->host && strcmp(l->host, host) == 0 && l->pid == (int64_t)getpid() && l->owner && owner &&
	       strcmp(l->owner, owner) == 0;
}

static long held_at(const tl_conn *c, const char *db, const char *coll)
{
	size_t i;

	for (i = 0; i < c->nclaims; i++)
		if (strcmp(c->claims[i].db, db) == 0 && strcmp(c->claims[i].coll, coll) == 0)
			return (long)i;
	return -1;
}

static mongoc_collection_t *leases(tl_conn *c, const char *db)
{
	return tl_mongo__collection(c, db, TL_CLAIM_COLLECTION);
}

/* Reads the lease of db.coll into *out (a copy to bson_destroy; empty when there is none). */
static int lease_find(tl_conn *c, const char *db, const char *coll, bson_t *out, tl_error *err)
{
	mongoc_collection_t *lc = leases(c, db);
	mongoc_cursor_t *cur;
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
	const bson_t *doc;
	bson_error_t e;
	int rc = 0;

	bson_init(out);
	BSON_APPEND_UTF8(&filter, "_id", coll);
	BSON_APPEND_INT64(&opts, "limit", 1);
	cur = mongoc_collection_find_with_opts(lc, &filter, &opts, NULL);
	if (mongoc_cursor_next(cur, &doc)) {
		bson_destroy(out);
		bson_copy_to(doc, out);
	}
	if (mongoc_cursor_error(cur, &e))
		rc = tl_mongo__error(err, &e, "cannot read the claim on mongo collection '%s.%s' at %s", db, coll,
				     c->where);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(lc);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return rc;
}

/* The lease document this connection writes for db.coll. */
static void lease_doc(tl_conn *c, const char *coll, const char *owner, int64_t gen, int64_t now, bson_t *doc)
{
	char host[256];

	host_name(host, sizeof(host));
	bson_init(doc);
	BSON_APPEND_UTF8(doc, "_id", coll);
	BSON_APPEND_UTF8(doc, "owner", owner ? owner : "tideline");
	BSON_APPEND_UTF8(doc, "host", host);
	BSON_APPEND_INT64(doc, "pid", (int64_t)getpid());
	BSON_APPEND_UTF8(doc, "token", c->token);
	BSON_APPEND_INT64(doc, "gen", gen);
	BSON_APPEND_DATE_TIME(doc, "claimed_at", now);
	BSON_APPEND_DATE_TIME(doc, "renewed_at", now);
	BSON_APPEND_DATE_TIME(doc, "expires_at", now + LEASE_MS);
}

/* TL_ERR_LOCKED naming db.coll and the lease's holder; `what` says how it was found. */
static int refuse(const char *db, const char *coll, const struct lease *l, int64_t now, const char *what,
		  tl_error *err)
{
	return tl_error_set(err, TL_ERR_LOCKED,
			    "target collection '%s.%s' %s another task: '%s' (host %s, pid %lld) holds its claim, renewed "
			    "%lld s ago, lapsing in %lld s unless renewed; wait for it to finish or stop it (a claim "
			    "lapses %d s after its last renewal, or at once when its process is gone from this host; the "
			    "claim is the document '%s' in %s.%s)",
			    db, coll, what, l->owner ? l->owner : "?", l->host ? l->host : "?", (long long)l->pid,
			    (long long)((now - l->renewed_at) / 1000),
			    (long long)((l->expires_at - now) > 0 ? (l->expires_at - now + 999) / 1000 : 0),
			    TL_CLAIM_LEASE_SECS, coll, db, TL_CLAIM_COLLECTION);
}

/* Renews the lease of claim i: TL_ERR_LOCKED when another holder took it over. */
static int renew_one(tl_conn *c, size_t i, int64_t now, tl_error *err)
{
	struct tl_mongo_claim *cl = &c->claims[i];
	mongoc_collection_t *lc = leases(c, cl->db);
	bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, reply, set, inc, cur;
	bson_error_t e;
	bson_iter_t it;
	struct lease l;
	int rc = 0, matched = 0;

	BSON_APPEND_UTF8(&sel, "_id", cl->coll);
	BSON_APPEND_UTF8(&sel, "token", c->token);
	BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
	BSON_APPEND_DATE_TIME(&set, "renewed_at", now);
	BSON_APPEND_DATE_TIME(&set, "expires_at", now + LEASE_MS);
	bson_append_document_end(&upd, &set);
	BSON_APPEND_DOCUMENT_BEGIN(&upd, "$inc", &inc);
	BSON_APPEND_INT64(&inc, "gen", 1);
	bson_append_document_end(&upd, &inc);
	if (!mongoc_collection_update_one(lc, &sel, &upd, NULL, &reply, &e)) {
		rc = tl_mongo__error(err, &e, "cannot renew the claim on mongo collection '%s.%s' at %s", cl->db,
				     cl->coll, c->where);
		goto cleanup;
	}
	matched = bson_iter_init_find(&it, &reply, "matchedCount") && bson_iter_as_int64(&it) > 0;
	if (!matched) {
		if ((rc = lease_find(c, cl->db, cl->coll, &cur, err)) == 0) {
			lease_read(&cur, &l);
			rc = l.token ? refuse(cl->db, cl->coll, &l, now, "lost its claim to", err)
				     : tl_error_set(err, TL_ERR_LOCKED,
						    "the claim on target collection '%s.%s' was removed by someone else "
						    "while this task wrote it",
						    cl->db, cl->coll);
		}
		bson_destroy(&cur);
	}
cleanup:
	bson_destroy(&reply);
	bson_destroy(&sel);
	bson_destroy(&upd);
	mongoc_collection_destroy(lc);
	return rc;
}

int tl_mongo__claims_renew(tl_conn *c, tl_error *err)
{
	int64_t now = tl_mongo__now_ms();
	size_t i;
	int rc = 0;

	if (c->nclaims == 0 || now - c->renewed_ms < LEASE_MS / 4)
		return 0;
	for (i = 0; i < c->nclaims && !rc; i++)
		rc = renew_one(c, i, now, err);
	if (!rc)
		c->renewed_ms = now;
	return rc;
}

/* Remembers db.coll as claimed by this connection. */
static int remember(tl_conn *c, const char *db, const char *coll, tl_error *err)
{
	struct tl_mongo_claim *grown = realloc(c->claims, (c->nclaims + 1) * sizeof(*grown));
	struct tl_mongo_claim *cl;

	if (!grown)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory claiming '%s.%s'", db, coll);
	c->claims = grown;
	cl = &c->claims[c->nclaims];
	cl->db = tl_strdup(db);
	cl->coll = tl_strdup(coll);
	if (!cl->db || !cl->coll) {
		free(cl->db);
		free(cl->coll);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory claiming '%s.%s'", db, coll);
	}
	c->nclaims++;
	if (c->nclaims == 1)
		c->renewed_ms = tl_mongo__now_ms();
	return 0;
}

/*
 * One attempt at taking db.coll: *done = 1 when taken (or refused: rc), 0 when the state
 * changed under us (a lease went away or was taken over by a third) and it is worth
 * another look.
 */
static int try_take(tl_conn *c, const char *db, const char *coll, const char *owner, int *done, tl_error *err)
{
	mongoc_collection_t *lc = leases(c, db);
	bson_t doc, cur = BSON_INITIALIZER, sel = BSON_INITIALIZER, reply = BSON_INITIALIZER;
	bson_error_t e;
	bson_iter_t it;
	struct lease l;
	int64_t now = tl_mongo__now_ms();
	int rc = 0;

	*done = 1;
	lease_doc(c, coll, owner, 0, now, &doc);
	if (mongoc_collection_insert_one(lc, &doc, NULL, &reply, &e)) {
		rc = remember(c, db, coll, err);
		goto cleanup;
	}
	if (e.code != MONGO_DUPLICATE_KEY) {
		rc = tl_mongo__error(err, &e, "cannot claim target mongo collection '%s.%s' at %s", db, coll, c->where);
		goto cleanup;
	}
	bson_destroy(&cur);
	if ((rc = lease_find(c, db, coll, &cur, err)))
		goto cleanup;
	lease_read(&cur, &l);
	if (!l.token) {
		*done = 0; /* released meanwhile */
		goto cleanup;
	}
	if (strcmp(l.token, c->token) == 0) {
		rc = remember(c, db, coll, err); /* ours: the books were lost (cannot happen) */
		goto cleanup;
	}
	if (l.expires_at > now && !holder_gone(&l) && !holder_is_this_run(&l, owner)) {
		rc = refuse(db, coll, &l, now, "is being written by", err);
		goto cleanup;
	}
	/* take over a lapsed lease, or one of a process gone from this host */
	BSON_APPEND_UTF8(&sel, "_id", coll);
	BSON_APPEND_UTF8(&sel, "token", l.token);
	BSON_APPEND_INT64(&sel, "gen", l.gen);
	bson_destroy(&doc);
	lease_doc(c, coll, owner, l.gen + 1, now, &doc);
	bson_destroy(&reply);
	if (!mongoc_collection_replace_one(lc, &sel, &doc, NULL, &reply, &e)) {
		rc = tl_mongo__error(err, &e, "cannot take over the claim on mongo collection '%s.%s' at %s", db, coll,
				     c->where);
		goto cleanup;
	}
	if (bson_iter_init_find(&it, &reply, "matchedCount") && bson_iter_as_int64(&it) > 0)
		rc = remember(c, db, coll, err);
	else
		*done = 0; /* renewed or taken by someone else meanwhile: look again */
cleanup:
	bson_destroy(&doc);
	bson_destroy(&cur);
	bson_destroy(&sel);
	bson_destroy(&reply);
	mongoc_collection_destroy(lc);
	return rc;
}

int tl_mongo__claim(tl_conn *c, const tl_table *src, const char *owner, tl_error *err)
{
	long at = held_at(c, src->schema, src->name);
	int tries, done = 0, rc = 0;

	if (at >= 0) {
		rc = renew_one(c, (size_t)at, tl_mongo__now_ms(), err);
		return rc;
	}
	if (!c->token[0]) {
		bson_oid_t oid;
		bson_oid_init(&oid, NULL);
		bson_oid_to_string(&oid, c->token);
	}
	for (tries = 0; tries < 5 && !done && !rc; tries++)
		rc = try_take(c, src->schema, src->name, owner, &done, err);
	if (!rc && !done)
		rc = tl_error_set(err, TL_ERR_LOCKED, "cannot claim target collection '%s.%s': its claim changed hands %d "
						      "times while this task tried to take it",
				  src->schema, src->name, tries);
	return rc;
}

/* Deletes this connection's lease of claim i and forgets it. */
static int drop_claim(tl_conn *c, size_t i, tl_error *err)
{
	struct tl_mongo_claim cl = c->claims[i];
	mongoc_collection_t *lc = leases(c, cl.db);
	bson_t sel = BSON_INITIALIZER, reply;
	bson_error_t e;
	int rc = 0;

	c->claims[i] = c->claims[--c->nclaims];
	BSON_APPEND_UTF8(&sel, "_id", cl.coll);
	BSON_APPEND_UTF8(&sel, "token", c->token);
	if (!mongoc_collection_delete_one(lc, &sel, NULL, &reply, &e))
		rc = tl_mongo__error(err, &e, "cannot release the claim on mongo collection '%s.%s' at %s", cl.db,
				     cl.coll, c->where);
	bson_destroy(&reply);
	bson_destroy(&sel);
	mongoc_collection_destroy(lc);
	free(cl.db);
	free(cl.coll);
	return rc;
}

int tl_mongo__release(tl_conn *c, const tl_table *src, tl_error *err)
{
	long at = held_at(c, src->schema, src->name);

	return at < 0 ? 0 : drop_claim(c, (size_t)at, err);
}

void tl_mongo__claims_drop(tl_conn *c)
{
	while (c->nclaims > 0)
		(void)drop_claim(c, c->nclaims - 1, NULL); /* best effort: a lease left lapses */
	free(c->claims);
	c->claims = NULL;
}

int tl_mongo__flush_commits(tl_conn *c, const tl_table *src, tl_error *err)
{
	mongoc_collection_t *lc = leases(c, src->schema);
	mongoc_write_concern_t *wc = c->wc ? mongoc_write_concern_copy(c->wc) : mongoc_write_concern_new();
	bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, opts = BSON_INITIALIZER, reply, id, set;
	bson_error_t e;
	int rc = 0;

	if (mongoc_write_concern_get_w(wc) == MONGOC_WRITE_CONCERN_W_UNACKNOWLEDGED ||
	    mongoc_write_concern_get_w(wc) == MONGOC_WRITE_CONCERN_W_DEFAULT)
		mongoc_write_concern_set_w(wc, 1);
	mongoc_write_concern_set_journal(wc, true);
	BSON_APPEND_DOCUMENT_BEGIN(&sel, "_id", &id);
	BSON_APPEND_INT32(&id, "flush", 1);
	bson_append_document_end(&sel, &id);
	BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
	BSON_APPEND_DATE_TIME(&set, "at", tl_mongo__now_ms());
	bson_append_document_end(&upd, &set);
	BSON_APPEND_BOOL(&opts, "upsert", true);
	if (!mongoc_write_concern_append(wc, &opts)) {
		rc = tl_error_set(err, TL_ERR_INTERNAL, "cannot set the write concern");
		bson_init(&reply);
	} else if (!mongoc_collection_update_one(lc, &sel, &upd, &opts, &reply, &e)) {
		rc = tl_mongo__error(err, &e, "cannot make the writes to mongo database '%s' at %s durable (a journaled "
					      "write to %s)",
				     src->schema, c->where, TL_CLAIM_COLLECTION);
	}
	bson_destroy(&reply);
	bson_destroy(&sel);
	bson_destroy(&upd);
	bson_destroy(&opts);
	mongoc_write_concern_destroy(wc);
	mongoc_collection_destroy(lc);
	return rc;
}
