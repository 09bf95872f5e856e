/*
 * mongo_conn.c - MongoDB connector: library initialisation, connecting, errors, listing
 * and describing collections (many at once: one listCollections per database, then the
 * estimated count of each), exact counts and target checks.
 *
 * Names map as ape-dts maps them: schema = database, table = collection. System
 * databases (admin, local, config) and system.* collections are never listed; views are
 * skipped (they cannot be written to). A missing target database/collection is fine:
 * MongoDB creates both on the first write. Must not touch any other file's state; the
 * only process-wide state is the pthread_once guard around mongoc_init.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "mongo_int.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* The library would print to stdout/stderr; every failure we care about comes back as a
 * bson_error_t, and only src/cli/ may print. */
static void silent_log(mongoc_log_level_t level, const char *domain, const char *message, void *data)
{
	(void)level;
	(void)domain;
	(void)message;
	(void)data;
}

static void do_init(void)
{
	mongoc_init();
	mongoc_log_set_handler(silent_log, NULL);
}

void tl_mongo__init_once(void)
{
	(void)pthread_once(&init_once, do_init);
}

unsigned tl_mongo__classify(uint32_t domain, uint32_t code, const char *message, int retryable_label)
{
	const unsigned lost = TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST;

	/* a certificate that does not verify stays so: fail at once (mongoc reports it as a
	 * stream or server selection error) */
	if (message && (strstr(message, "TLS handshake failed") || strstr(message, "certificate")))
		return 0;
	switch (domain) {
	case MONGOC_ERROR_STREAM:           /* socket errors, timeouts (socketTimeoutMS), refused */
	case MONGOC_ERROR_SERVER_SELECTION: /* no server reachable within serverSelectionTimeoutMS */
		return lost;
	case MONGOC_ERROR_CLIENT:
	case MONGOC_ERROR_PROTOCOL:
	case MONGOC_ERROR_BSON:
	case MONGOC_ERROR_SASL:
	case MONGOC_ERROR_SCRAM:
	case MONGOC_ERROR_NAMESPACE:
	case MONGOC_ERROR_CLIENT_SIDE_ENCRYPTION:
		return 0;
	default: /* server codes: SERVER, WRITE_CONCERN, COMMAND, QUERY, CURSOR, ... */
		break;
	}
	switch (code) {
	case 91:    /* ShutdownInProgress */
	case 11600: /* InterruptedAtShutdown */
		return lost;
	case 6:     /* HostUnreachable */
	case 7:     /* HostNotFound */
	case 43:    /* CursorNotFound: the reader starts again after the last committed _id */
	case 64:    /* WriteConcernFailed (wtimeout) */
	case 89:    /* NetworkTimeout */
	case 112:   /* WriteConflict */
	case 134:   /* ReadConcernMajorityNotAvailableYet */
	case 189:   /* PrimarySteppedDown */
	case 262:   /* ExceededTimeLimit */
	case 9001:  /* SocketException */
	case 10058: /* LegacyNotPrimary */
	case 10107: /* NotWritablePrimary */
	case 11602: /* InterruptedDueToReplStateChange */
	case 13435: /* NotPrimaryNoSecondaryOk */
	case 13436: /* NotPrimaryOrSecondary */
		return TL_ERRF_TRANSIENT;
	default:
		return retryable_label ? TL_ERRF_TRANSIENT : 0;
	}
}

static void fill_error(tl_error *err, const bson_error_t *e, const bson_t *reply, const char *fmt, va_list ap)
{
	char what[512];
	int label;

	vsnprintf(what, sizeof(what), fmt, ap);
	tl_error_set(err, TL_ERR_DB, "%s: %s", what, e->message[0] ? e->message : "unknown mongo error");
	if (!err)
		return;
	label = reply && (mongoc_error_has_label(reply, "RetryableWriteError") ||
			  mongoc_error_has_label(reply, "TransientTransactionError"));
	err->native = (int)e->code;
	err->flags |= tl_mongo__classify(e->domain, e->code, e->message, label);
}

int tl_mongo__error(tl_error *err, const bson_error_t *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fill_error(err, e, NULL, fmt, ap);
	va_end(ap);
	return TL_ERR_DB;
}

int tl_mongo__error_reply(tl_error *err, const bson_error_t *e, const bson_t *reply, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fill_error(err, e, reply, fmt, ap);
	va_end(ap);
	return TL_ERR_DB;
}

mongoc_collection_t *tl_mongo__collection(tl_conn *c, const char *db, const char *coll)
{
	return mongoc_client_get_collection(c->client, db, coll);
}

int64_t tl_mongo__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Replaces every occurrence of secret in msg by "***" (in place, truncating). */
static void scrub(char *msg, size_t cap, const char *secret)
{
	char tmp[1024];
	size_t sl, o = 0;
	const char *p, *hit;

	if (!secret || !*secret || !strstr(msg, secret))
		return;
	sl = strlen(secret);
	for (p = msg; (hit = strstr(p, secret)) != NULL && o < sizeof(tmp) - 1; p = hit + sl) {
		size_t n = (size_t)(hit - p);
		if (n > sizeof(tmp) - 1 - o)
			n = sizeof(tmp) - 1 - o;
		memcpy(tmp + o, p, n);
		o += n;
		n = sizeof(tmp) - 1 - o < 3 ? sizeof(tmp) - 1 - o : 3;
		memcpy(tmp + o, "***", n);
		o += n;
	}
	if (o < sizeof(tmp) - 1) {
		size_t n = strlen(p);
		if (n > sizeof(tmp) - 1 - o)
			n = sizeof(tmp) - 1 - o;
		memcpy(tmp + o, p, n);
		o += n;
	}
	tmp[o] = '\0';
	snprintf(msg, cap, "%s", tmp);
}

/*
 * Time bounds the URL does not set itself: connectTimeoutMS, socketTimeoutMS (the silence
 * bound: a socket that stays quiet this long fails the operation) and
 * serverSelectionTimeoutMS (10 s). libmongoc turns TCP keepalive on by itself.
 */
static int set_bounds(mongoc_uri_t *uri, const tl_endpoint *ep, const char *where, tl_error *err)
{
	int32_t connect_ms = (ep->connect_timeout_secs > 0 ? ep->connect_timeout_secs : TL_CONNECT_TIMEOUT_DEFAULT) * 1000;
	int32_t io_ms = (ep->io_timeout_secs > 0 ? ep->io_timeout_secs : TL_IO_TIMEOUT_DEFAULT) * 1000;
	bool ok = true;

	if (ep->connect_timeout_secs > 0 || !mongoc_uri_has_option(uri, MONGOC_URI_CONNECTTIMEOUTMS))
		ok = ok && mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, connect_ms);
	if (ep->io_timeout_secs > 0 || !mongoc_uri_has_option(uri, MONGOC_URI_SOCKETTIMEOUTMS))
		ok = ok && mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, io_ms);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
		ok = ok && mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 10000);
	if (!ok)
		return tl_error_set(err, TL_ERR_CONFIG, "cannot set the time bounds of the mongo connection to %s", where);
	return 0;
}

/*
 * The task's ssl_mode / ssl_ca_path onto the URI's TLS options (ape-dts documents them for
 * MySQL and PostgreSQL; a MongoDB URL says tls=true&tlsCAFile=... itself, which also works):
 * disable: tls=false; require: tls, no verification (chain verified when a CA is given);
 * verify_ca: chain, not the host name; verify_full: both. Set, they override the URL's.
 */
static int set_tls(mongoc_uri_t *uri, const tl_endpoint *ep, const char *where, tl_error *err)
{
	int mode = tl_ssl_mode_parse(ep->ssl_mode);
	const char *ca = (ep->ssl_ca_path && *ep->ssl_ca_path) ? ep->ssl_ca_path : NULL;
	bool ok = true;

	if (mode < 0 || mode == TL_SSL_PREFER)
		return tl_error_set(err, TL_ERR_CONFIG, "unknown ssl_mode '%s' (expected disable, require, verify_ca or "
							"verify_full)", ep->ssl_mode);
	if (mode == TL_SSL_DEFAULT && !ca)
		return 0;
	if (ca && mode != TL_SSL_DISABLE && access(ca, R_OK) != 0)
		return tl_error_set(err, TL_ERR_CONFIG, "ssl_ca_path '%s' cannot be read: %s", ca, strerror(errno));
	if (mode == TL_SSL_DISABLE)
		return mongoc_uri_set_option_as_bool(uri, MONGOC_URI_TLS, false)
			       ? 0
			       : tl_error_set(err, TL_ERR_CONFIG, "cannot turn tls off for mongo at %s", where);
	if (mode != TL_SSL_DEFAULT)
		ok = mongoc_uri_set_option_as_bool(uri, MONGOC_URI_TLS, true);
	if (ok && ca)
		ok = mongoc_uri_set_option_as_utf8(uri, MONGOC_URI_TLSCAFILE, ca);
	if (ok && mode == TL_SSL_REQUIRE && !ca)
		ok = mongoc_uri_set_option_as_bool(uri, MONGOC_URI_TLSALLOWINVALIDCERTIFICATES, true);
	if (ok && (mode == TL_SSL_REQUIRE || mode == TL_SSL_VERIFY_CA))
		ok = mongoc_uri_set_option_as_bool(uri, MONGOC_URI_TLSALLOWINVALIDHOSTNAMES, true);
	if (!ok)
		return tl_error_set(err, TL_ERR_CONFIG, "cannot set the tls options of the mongo connection to %s "
							"(does the url also set tlsInsecure?)", where);
	return 0;
}

int tl_mongo__connect(const tl_endpoint *ep, tl_conn **out, tl_error *err)
{
	mongoc_uri_t *uri = NULL;
	mongoc_client_t *client = NULL;
	tl_conn *c = NULL;
	tl_url parsed;
	bson_error_t e;
	bson_t ping = BSON_INITIALIZER, reply;
	const mongoc_host_list_t *hosts;
	const char *where = "?";
	int have_parsed = 0, parsed_ok = 0, rc = 0;

	*out = NULL;
	memset(&parsed, 0, sizeof(parsed));
	tl_mongo__init_once();
	memset(&e, 0, sizeof(e));
	if (!ep || !ep->url || !*ep->url) {
		rc = tl_error_set(err, TL_ERR_CONFIG, "mongo url is empty");
		goto cleanup;
	}
	/* Only to know the URL's own password, so that no message can echo it. */
	parsed_ok = tl_url_parse(ep->url, &parsed, NULL) == 0;
	have_parsed = 1; /* tl_url_parse always initialises; clear even after a failure */
	uri = mongoc_uri_new_with_error(ep->url, &e);
	if (!uri) {
		rc = tl_error_set(err, TL_ERR_CONFIG, "invalid mongo url: %s", e.message);
		goto cleanup;
	}
	hosts = mongoc_uri_get_hosts(uri);
	if (hosts)
		where = hosts->host_and_port;
	if (ep->username && *ep->username && !mongoc_uri_set_username(uri, ep->username)) {
		rc = tl_error_set(err, TL_ERR_CONFIG, "invalid mongo user name for %s", where);
		goto cleanup;
	}
	if (ep->password && *ep->password && !mongoc_uri_set_password(uri, ep->password)) {
		rc = tl_error_set(err, TL_ERR_CONFIG, "invalid mongo password for %s", where);
		goto cleanup;
	}
	if (!mongoc_uri_get_appname(uri))
		(void)mongoc_uri_set_appname(uri, (ep->app_name && *ep->app_name) ? ep->app_name : "tideline");
	if ((rc = set_bounds(uri, ep, where, err)) || (rc = set_tls(uri, ep, where, err)))
		goto cleanup;
	client = mongoc_client_new_from_uri_with_error(uri, &e);
	if (!client) {
		rc = tl_mongo__error(err, &e, "cannot connect to mongo at %s", where);
		goto cleanup;
	}
	/* Version 2: server errors carry the server's own code (11000, 26, ...). */
	(void)mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
	BSON_APPEND_INT32(&ping, "ping", 1);
	if (!mongoc_client_command_simple(client, "admin", &ping, NULL, &reply, &e)) {
		bson_destroy(&reply);
		rc = tl_mongo__error(err, &e, "cannot connect to mongo at %s", where);
		goto cleanup;
	}
	bson_destroy(&reply);
	c = calloc(1, sizeof(*c));
	if (!c || !(c->where = tl_strdup(where))) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "cannot connect to mongo at %s: out of memory", where);
		goto cleanup;
	}
	c->client = client;
	client = NULL;
	if (mongoc_uri_get_write_concern(uri) && !mongoc_write_concern_is_default(mongoc_uri_get_write_concern(uri)))
		c->wc = mongoc_write_concern_copy(mongoc_uri_get_write_concern(uri));
	/* what this server can do, asked now and not guessed from its name (mongo_caps.c) */
	if ((rc = tl_mongo__probe(c, uri, err)))
		goto cleanup;
	*out = c;
	c = NULL;
cleanup:
	if (rc && err) {
		scrub(err->message, sizeof(err->message), ep ? ep->password : NULL);
		if (parsed_ok)
			scrub(err->message, sizeof(err->message), parsed.password);
	}
	if (have_parsed)
		tl_url_clear(&parsed);
	tl_mongo__disconnect(c);
	if (client)
		mongoc_client_destroy(client);
	mongoc_uri_destroy(uri);
	bson_destroy(&ping);
	return rc;
}

void tl_mongo__disconnect(tl_conn *c)
{
	if (!c)
		return;
	tl_mongo__claims_drop(c);
	mongoc_client_destroy(c->client);
	mongoc_write_concern_destroy(c->wc);
	free(c->where);
	free(c);
}

static int is_system_db(const char *name)
{
	return strcmp(name, "admin") == 0 || strcmp(name, "local") == 0 || strcmp(name, "config") == 0;
}

static int cmp_names(const void *a, const void *b)
{
	const tl_name *x = a, *y = b;
	int r = strcmp(x->schema, y->schema);

	return r ? r : strcmp(x->name, y->name);
}

/* Appends the user collections of one database (views and system.* skipped). */
static int list_db(tl_conn *c, const char *dbname, tl_name_list *out, tl_error *err)
{
	mongoc_database_t *db = NULL;
	mongoc_cursor_t *cur = NULL;
	const bson_t *doc;
	bson_t opts = BSON_INITIALIZER;
	bson_error_t e;
	bson_iter_t it;
	int rc = 0;

	db = mongoc_client_get_database(c->client, dbname);
	BSON_APPEND_BOOL(&opts, "nameOnly", true);
	cur = mongoc_database_find_collections_with_opts(db, &opts);
	while (mongoc_cursor_next(cur, &doc)) {
		const char *name;

		if (!bson_iter_init_find(&it, doc, "name") || !BSON_ITER_HOLDS_UTF8(&it))
			continue;
		name = bson_iter_utf8(&it, NULL);
		if (strncmp(name, "system.", 7) == 0 || strcmp(name, TL_CLAIM_COLLECTION) == 0)
			continue; /* the server's own, and tideline's claims (mongo_claim.c) */
		if (bson_iter_init_find(&it, doc, "type") && BSON_ITER_HOLDS_UTF8(&it) &&
		    strcmp(bson_iter_utf8(&it, NULL), "collection") != 0)
			continue;
		if ((rc = tl_name_list_add(out, dbname, name, err)))
			goto cleanup;
	}
	if (mongoc_cursor_error(cur, &e))
		rc = tl_mongo__error(err, &e, "cannot list the collections of mongo database '%s' at %s", dbname,
				     c->where);
cleanup:
	mongoc_cursor_destroy(cur);
	mongoc_database_destroy(db);
	bson_destroy(&opts);
	return rc;
}

int tl_mongo__list_tables(tl_conn *c, tl_name_list *out, tl_error *err)
{
	char **names = NULL;
	bson_error_t e;
	size_t i, start = out->n;
	int rc = 0;

	names = mongoc_client_get_database_names_with_opts(c->client, NULL, &e);
	if (!names)
		return tl_mongo__error(err, &e, "cannot list the databases at %s", c->where);
	for (i = 0; names[i]; i++) {
		if (is_system_db(names[i]))
			continue;
		if ((rc = list_db(c, names[i], out, err)))
			goto cleanup;
	}
	if (out->n > start)
		qsort(out->items + start, out->n - start, sizeof(*out->items), cmp_names);
cleanup:
	bson_strfreev(names);
	return rc;
}

/* tl_table.impl of collections described here: owns the "_id" key column, which is not a
 * data column (the _id lives inside the _doc cell; row_key reads it from there). */
#define TL_MONGO_TABLE_MAGIC 0x6d676f74u /* "mgot" */
struct tl_mongo_table {
	unsigned magic;
	tl_column id; /* keys[0] */
};

void tl_mongo__free_table(tl_table *t)
{
	struct tl_mongo_table *impl;
	size_t i;

	if (!t)
		return;
	impl = t->impl;
	for (i = 0; t->cols && i < t->ncols; i++) {
		free(t->cols[i].name);
		free(t->cols[i].type);
	}
	if (impl && impl->magic == TL_MONGO_TABLE_MAGIC) {
		free(impl->id.name);
		free(impl->id.type);
	}
	free(t->cols);
	free(t->keys);
	free(t->key_idx);
	free(t->schema);
	free(t->name);
	free(impl);
	free(t);
}

/* The described form of db.coll (it exists): the "_doc" column, the "_id" key, the estimate. */
static int build_table(tl_conn *c, const char *schema, const char *name, tl_table **out, tl_error *err)
{
	struct tl_mongo_table *impl = NULL, *m;
	tl_table *t = NULL;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	impl = calloc(1, sizeof(*impl));
	if (!t || !impl)
		goto nomem;
	impl->magic = TL_MONGO_TABLE_MAGIC;
	t->impl = m = impl;
	impl = NULL; /* the table's now */
	t->schema = tl_strdup(schema);
	t->name = tl_strdup(name);
	t->cols = calloc(1, sizeof(*t->cols));
	t->keys = calloc(1, sizeof(*t->keys));
	t->key_idx = calloc(1, sizeof(*t->key_idx));
	if (!t->schema || !t->name || !t->cols || !t->keys || !t->key_idx)
		goto nomem;
	t->ncols = 1;
	t->cols[0].name = tl_strdup("_doc");
	t->cols[0].type = tl_strdup("document");
	t->cols[0].kind = TL_COL_DOCUMENT;
	m->id.name = tl_strdup("_id");
	m->id.type = tl_strdup("any");
	m->id.kind = TL_COL_OTHER;
	if (!t->cols[0].name || !t->cols[0].type || !m->id.name || !m->id.type)
		goto nomem;
	t->key_kind = TL_KEYK_PRIMARY;
	t->nkeys = 1;
	t->keys[0] = &m->id;
	t->key_idx[0] = TL_NO_COL;
	t->part_idx = TL_NO_COL;
	/* one round trip per collection: MongoDB has no command that estimates several */
	t->est_rows = tl_mongo__estimate(c, schema, name);
	*out = t;
	return 0;
nomem:
	free(impl);
	tl_mongo__free_table(t);
	return tl_error_set(err, TL_ERR_NOMEM, "out of memory describing mongo collection '%s.%s'", schema, name);
}

int tl_mongo__project(const tl_table *src, const char *schema, const char *name, const size_t *cols,
		      const char *const *names, size_t n, tl_table **out, tl_error *err)
{
	struct tl_mongo_table *impl = NULL;
	tl_table *t = NULL;
	int rc;

	*out = NULL;
	if (n != 1 || cols[0] != 0 || (names && names[0] && strcmp(names[0], src->cols[0].name) != 0))
		return tl_error_set(err, TL_ERR_UNSUPPORTED,
				    "mongo collection '%s.%s': documents are copied whole (no column routing)", src->schema,
				    src->name);
	if ((rc = tl_table_project_base(src, schema, name, cols, names, n, &t, err)))
		return rc;
	if (!(impl = calloc(1, sizeof(*impl))))
		goto nomem;
	impl->magic = TL_MONGO_TABLE_MAGIC;
	t->impl = impl;
	impl->id.name = tl_strdup(src->keys[0]->name);
	impl->id.type = tl_strdup(src->keys[0]->type);
	impl->id.kind = src->keys[0]->kind;
	if (!impl->id.name || !impl->id.type)
		goto nomem;
	t->keys[0] = &impl->id;
	*out = t;
	return 0;
nomem:
	tl_mongo__free_table(t);
	return tl_error_set(err, TL_ERR_NOMEM, "out of memory projecting mongo collection '%s.%s'", src->schema,
			    src->name);
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Which of the collections names[idx[0..n)] (all in database db) exist (views too, as
 * listCollections lists them): one listCollections with a name filter. found[k] is set
 * for idx[k].
 */
static int existing(tl_conn *c, const char *db, const tl_name *names, const size_t *idx, size_t n, char *found,
		    tl_error *err)
{
	mongoc_database_t *d = NULL;
	mongoc_cursor_t *cur = NULL;
	const bson_t *doc;
	bson_t opts = BSON_INITIALIZER, filter, cond, arr;
	const char **seen = NULL;
	size_t nseen = 0, k;
	bson_error_t e;
	bson_iter_t it;
	char key[16];
	int rc = 0;

	if (!(seen = malloc(n * sizeof(*seen))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory describing mongo collections");
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "filter", &filter);
	BSON_APPEND_DOCUMENT_BEGIN(&filter, "name", &cond);
	BSON_APPEND_ARRAY_BEGIN(&cond, "$in", &arr);
	for (k = 0; k < n; k++) {
		snprintf(key, sizeof(key), "%zu", k);
		BSON_APPEND_UTF8(&arr, key, names[idx[k]].name);
	}
	bson_append_array_end(&cond, &arr);
	bson_append_document_end(&filter, &cond);
	bson_append_document_end(&opts, &filter);
	BSON_APPEND_BOOL(&opts, "nameOnly", true);
	d = mongoc_client_get_database(c->client, db);
	cur = mongoc_database_find_collections_with_opts(d, &opts);
	while (mongoc_cursor_next(cur, &doc)) {
		if (!bson_iter_init_find(&it, doc, "name") || !BSON_ITER_HOLDS_UTF8(&it))
			continue;
		if (!(seen[nseen] = tl_strdup(bson_iter_utf8(&it, NULL)))) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory describing mongo collections");
			goto cleanup;
		}
		if (++nseen == n)
			break;
	}
	if (mongoc_cursor_error(cur, &e)) {
		if (n == 1)
			rc = tl_mongo__error(err, &e, "cannot look up mongo collection '%s.%s' at %s", db,
					     names[idx[0]].name, c->where);
		else
			rc = tl_mongo__error(err, &e, "cannot look up mongo collections of '%s' at %s", db, c->where);
		goto cleanup;
	}
	qsort(seen, nseen, sizeof(*seen), cmp_str_ptr);
	for (k = 0; k < n; k++) {
		const char *want = names[idx[k]].name;
		found[k] = bsearch(&want, seen, nseen, sizeof(*seen), cmp_str_ptr) != NULL;
	}
cleanup:
	for (k = 0; k < nseen; k++)
		free((char *)seen[k]);
	free(seen);
	mongoc_cursor_destroy(cur);
	mongoc_database_destroy(d);
	bson_destroy(&opts);
	return rc;
}

/* Orders name indexes by database so each database is one listCollections. */
struct by_db_ctx {
	const tl_name *names;
	size_t i;
};

static int cmp_by_db(const void *a, const void *b)
{
	const struct by_db_ctx *x = a, *y = b;
	int r = strcmp(x->names[x->i].schema, y->names[y->i].schema);

	return r ? r : (x->i > y->i) - (x->i < y->i);
}

int tl_mongo__describe_many(tl_conn *c, const tl_name *names, size_t n, tl_table **out, tl_error *err)
{
	struct by_db_ctx *order = NULL;
	size_t *idx = NULL;
	char *found = NULL;
	size_t i, lo, hi;
	int rc = 0;

	for (i = 0; i < n; i++)
		out[i] = NULL;
	if (n == 0)
		return 0;
	order = malloc(n * sizeof(*order));
	idx = malloc(n * sizeof(*idx));
	found = malloc(n);
	if (!order || !idx || !found) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory describing mongo collections");
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		order[i].names = names;
		order[i].i = i;
	}
	qsort(order, n, sizeof(*order), cmp_by_db);
	for (lo = 0; lo < n && !rc; lo = hi) {
		for (hi = lo; hi < n && strcmp(names[order[hi].i].schema, names[order[lo].i].schema) == 0; hi++)
			idx[hi - lo] = order[hi].i;
		if ((rc = existing(c, names[order[lo].i].schema, names, idx, hi - lo, found, err)))
			break;
		for (i = 0; i < hi - lo && !rc; i++)
			if (found[i])
				rc = build_table(c, names[idx[i]].schema, names[idx[i]].name, &out[idx[i]], err);
	}
cleanup:
	if (rc)
		for (i = 0; i < n; i++) {
			tl_mongo__free_table(out[i]);
			out[i] = NULL;
		}
	free(order);
	free(idx);
	free(found);
	return rc;
}

int tl_mongo__describe(tl_conn *c, const char *schema, const char *name, tl_table **out, tl_error *err)
{
	tl_name one;
	int rc;

	one.schema = (char *)schema;
	one.name = (char *)name;
	if ((rc = tl_mongo__describe_many(c, &one, 1, out, err)))
		return rc;
	if (!*out)
		return tl_error_set(err, TL_ERR_NOTFOUND, "mongo collection '%s.%s' does not exist", schema, name);
	return 0;
}

int tl_mongo__count_rows(tl_conn *c, const tl_table *t, int64_t *out, tl_error *err)
{
	mongoc_collection_t *coll = tl_mongo__collection(c, t->schema, t->name);
	bson_t filter = BSON_INITIALIZER;
	bson_error_t e;
	int64_t n;
	int rc = 0;

	n = mongoc_collection_count_documents(coll, &filter, NULL, NULL, NULL, &e);
	if (n < 0)
		rc = tl_mongo__error(err, &e, "cannot count the documents of mongo collection '%s.%s'", t->schema,
				     t->name);
	else
		*out = n;
	bson_destroy(&filter);
	mongoc_collection_destroy(coll);
	return rc;
}

int tl_mongo__live_rows_many(tl_conn *c, const tl_name *names, size_t n, int64_t *out, tl_error *err)
{
	size_t i;

	(void)err;
	/* the server's statistics ($collStats count, estimatedDocumentCount where there is none:
	 * mongo_caps.c), one command per collection; a missing one counts 0, an answer that
	 * could not be had is -1 (unknown: the caller counts exactly) */
	for (i = 0; i < n; i++)
		out[i] = tl_mongo__estimate(c, names[i].schema, names[i].name);
	return 0;
}

int tl_mongo__check_target(tl_conn *target, const tl_table *src, int *is_empty, tl_error *err)
{
	mongoc_collection_t *coll = tl_mongo__collection(target, src->schema, src->name);
	mongoc_cursor_t *cur = NULL;
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, proj;
	const bson_t *doc;
	bson_error_t e;
	int found = 0, rc = 0;

	BSON_APPEND_INT64(&opts, "limit", 1);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, "_id", 1);
	bson_append_document_end(&opts, &proj);
	cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
	if (mongoc_cursor_next(cur, &doc))
		found = 1;
	if (mongoc_cursor_error(cur, &e))
		rc = tl_mongo__error(err, &e, "cannot check target mongo collection '%s.%s' at %s", src->schema,
				     src->name, target->where);
	else
		*is_empty = !found;
	mongoc_cursor_destroy(cur);
	bson_destroy(&opts);
	bson_destroy(&filter);
	mongoc_collection_destroy(coll);
	return rc;
}
