/*
 * test_conn_mongo.c - how the MongoDB connector connects and classifies errors, against the
 * Mongo test server (tools/mongo_test_server.py): the write concern each batch is sent with
 * (w:1, the URL's, journaled for TL_WRITE_DURABLE), seen by command monitoring; a refused
 * connection and TLS settings; TLS for real through a TLS-terminating socat in front of the
 * test server (it speaks no TLS itself) with the test CA of tools/servers/tls.sh; and on a
 * private test server (frozen with SIGSTOP,
 * restarted) the transient errors of connect, read_batch and write_batch (a write cut off
 * is commit-unknown: part of an unordered bulk write may be in) and their timing.
 * Touches only the tl_conn_m database it creates (and its private server).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "connectors/mongo_int.h"
#include "tideline/batch.h"
#include "conn_lib.h"
#include "tl_test.h"

#define D (&tl_driver_mongo)
#define LOST (TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST)

static tl_conn *open_ep(const tl_endpoint *ep, tl_error *err)
{
	tl_conn *c = NULL;

	if (D->connect(ep, &c, err))
		return NULL;
	return c;
}

static tl_conn *open_url(const char *url)
{
	tl_endpoint ep = {.db_type = "mongo", .url = url, .app_name = "tl-conn-test"};
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = open_ep(&ep, &err);

	if (!c)
		tl_test_fail(__FILE__, __LINE__, "connect %s: %s", url, err.message);
	return c;
}

/* Creates db.coll holding documents {_id: 1..n, pad} (through c's own client) and describes it. */
static int make_coll(tl_conn *c, const char *coll, int n, tl_table **t)
{
	mongoc_collection_t *col = tl_mongo__collection(c, "tl_conn_m", coll);
	mongoc_bulk_operation_t *bulk;
	bson_error_t e;
	tl_error err = TL_ERROR_INIT;
	int i, ok = 1;

	(void)mongoc_collection_drop(col, &e);
	bulk = mongoc_collection_create_bulk_operation_with_opts(col, NULL);
	for (i = 1; i <= n; i++) {
		bson_t *doc = BCON_NEW("_id", BCON_INT32(i), "pad", BCON_UTF8("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
		mongoc_bulk_operation_insert(bulk, doc);
		bson_destroy(doc);
	}
	if (n > 0 && !mongoc_bulk_operation_execute(bulk, NULL, &e)) {
		tl_test_fail(__FILE__, __LINE__, "insert into %s: %s", coll, e.message);
		ok = 0;
	}
	mongoc_bulk_operation_destroy(bulk);
	mongoc_collection_destroy(col);
	if (ok && D->describe(c, "tl_conn_m", coll, t, &err)) {
		tl_test_fail(__FILE__, __LINE__, "describe %s: %s", coll, err.message);
		ok = 0;
	}
	return ok ? 0 : -1;
}

/* A batch of one document {_id: id}. */
static int one_doc(tl_batch *b, int id, tl_error *err)
{
	bson_t *doc = BCON_NEW("_id", BCON_INT32(id), "v", BCON_UTF8("w"));
	int rc;

	tl_batch_set_ncols(b, 1);
	rc = tl_batch_push(b, bson_get_data(doc), doc->len, 0, err);
	if (!rc)
		rc = tl_batch_end_row(b, err);
	bson_destroy(doc);
	return rc;
}

/* The writeConcern of the last insert/update command the client started, as JSON. */
struct seen {
	char wc[256];
	int writes;
};

static void on_started(const mongoc_apm_command_started_t *ev)
{
	struct seen *s = mongoc_apm_command_started_get_context(ev);
	const char *name = mongoc_apm_command_started_get_command_name(ev);
	const bson_t *cmd = mongoc_apm_command_started_get_command(ev);
	bson_iter_t it;

	if (strcmp(name, "insert") != 0 && strcmp(name, "update") != 0)
		return;
	s->writes++;
	s->wc[0] = '\0';
	if (bson_iter_init_find(&it, cmd, "writeConcern") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
		const uint8_t *data;
		uint32_t len;
		bson_t sub;
		char *json;
		bson_iter_document(&it, &len, &data);
		if (bson_init_static(&sub, data, len) && (json = bson_as_relaxed_extended_json(&sub, NULL)) != NULL) {
			snprintf(s->wc, sizeof(s->wc), "%s", json);
			bson_free(json);
		}
	}
}

static void watch(tl_conn *c, struct seen *s)
{
	mongoc_apm_callbacks_t *cb = mongoc_apm_callbacks_new();

	mongoc_apm_set_command_started_cb(cb, on_started);
	(void)mongoc_client_set_apm_callbacks(c->client, cb, s);
	mongoc_apm_callbacks_destroy(cb);
}

/* write_batch of {_id: id} with flags; the writeConcern sent. */
static const char *sent_wc(tl_conn *c, const tl_table *t, struct seen *s, int id, unsigned flags)
{
	tl_error err = TL_ERROR_INIT;
	tl_batch b;

	tl_batch_init(&b, 1, 1 << 20);
	memset(s, 0, sizeof(*s));
	if (one_doc(&b, id, &err) || D->write_batch(c, t, &b, flags, &err))
		tl_test_fail(__FILE__, __LINE__, "write: %s", err.message);
	tl_batch_release(&b);
	return s->writes ? s->wc : "(no write seen)";
}

TL_TEST(test_conn_mongo__write_concern)
{
	const char *url = tl_test_require_env("TL_MONGO_DST_URL");
	char u[2100];
	struct seen s;
	tl_conn *c = NULL, *m = NULL;
	tl_table *t = NULL;

	if (!url || !(c = open_url(url)))
		return;
	if (make_coll(c, "wc", 1, &t))
		goto cleanup;
	watch(c, &s);
	TL_CHECK_EQ_STR(sent_wc(c, t, &s, 10, TL_WRITE_UPSERT), "{ \"w\" : 1 }");
	TL_CHECK_EQ_STR(sent_wc(c, t, &s, 11, TL_WRITE_UPSERT | TL_WRITE_DURABLE), "{ \"w\" : 1, \"j\" : true }");
	TL_CHECK_EQ_STR(sent_wc(c, t, &s, 12, TL_WRITE_TARGET_EMPTY | TL_WRITE_DURABLE), "{ \"w\" : 1, \"j\" : true }");
	/* the URL's write concern, journaled too when durable */
	snprintf(u, sizeof(u), "%s/?w=majority&wtimeoutMS=5000", url);
	if ((m = open_url(u)) != NULL) {
		watch(m, &s);
		TL_CHECK_EQ_STR(sent_wc(m, t, &s, 13, TL_WRITE_UPSERT), "{ \"w\" : \"majority\", \"wtimeout\" : 5000 }");
		TL_CHECK_EQ_STR(sent_wc(m, t, &s, 14, TL_WRITE_UPSERT | TL_WRITE_DURABLE),
				"{ \"w\" : \"majority\", \"j\" : true, \"wtimeout\" : 5000 }");
	}
cleanup:
	D->free_table(t);
	D->disconnect(m);
	D->disconnect(c);
}

TL_TEST(test_conn_mongo__connect_errors)
{
	const char *url = tl_test_require_env("TL_MONGO_SRC_URL");
	tl_endpoint ep = {.db_type = "mongo", .app_name = "tl-conn-test", .connect_timeout_secs = 2};
	tl_error err = TL_ERROR_INIT;
	tl_conn *c;

	if (!url)
		return;
	/* nothing listens on port 1: refused, worth a retry */
	ep.url = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=1000";
	c = open_ep(&ep, &err);
	TL_CHECK_MSG(!c && (err.flags & LOST) == LOST, "refused: %s %s", conn_flags(&err), err.message);
	D->disconnect(c);
	/* the test server speaks no TLS: the handshake gets no answer (a timeout, so it counts as
	 * transient, unlike a certificate that does not verify) */
	ep.url = url;
	ep.ssl_mode = "require";
	c = open_ep(&ep, &err);
	TL_CHECK_MSG(!c && err.code == TL_ERR_DB, "tls against a plain server connected");
	fprintf(stderr, "    tls against a plain server: %s (%s)\n", err.message, conn_flags(&err));
	D->disconnect(c);
	ep.ssl_mode = "disable";
	c = open_ep(&ep, &err);
	TL_CHECK_MSG(c != NULL, "ssl_mode=disable: %s", err.message);
	D->disconnect(c);
	ep.ssl_mode = "sometimes";
	c = open_ep(&ep, &err);
	TL_CHECK(!c && err.code == TL_ERR_CONFIG && strstr(err.message, "'sometimes'"));
	D->disconnect(c);
	ep.ssl_mode = "verify_full";
	ep.ssl_ca_path = "/nonexistent/ca.pem";
	c = open_ep(&ep, &err);
	TL_CHECK(!c && err.code == TL_ERR_CONFIG && strstr(err.message, "/nonexistent/ca.pem"));
	D->disconnect(c);
}

/* Connects with ssl_mode/ssl_ca_path and pings; NULL when refused (err says why). */
static tl_conn *tls_open(const char *url, const char *mode, const char *ca, tl_error *err)
{
	tl_endpoint ep = {.db_type = "mongo", .url = url, .app_name = "tl-conn-test", .ssl_mode = mode,
			  .ssl_ca_path = ca, .connect_timeout_secs = 3};

	tl_error_clear(err);
	return open_ep(&ep, err);
}

TL_TEST(test_conn_mongo__tls)
{
	const char *url = tl_test_require_env("TL_MONGO_SRC_URL");
	const char *tls = url ? tl_test_require_env("TL_TLS_DIR") : NULL;
	int port = conn_env_port("TL_MONGO_SRC_URL");
	char ca[4200], other[4200], u[4600], pidfile[4200];
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL;
	tl_table *t = NULL;
	tl_batch b;
	int i;

	if (!url || !tls || !port)
		return;
	tl_batch_init(&b, 1, 1 << 20);
	snprintf(ca, sizeof(ca), "%s/ca.pem", tls);
	snprintf(other, sizeof(other), "%s/other-ca.pem", tls);
	snprintf(pidfile, sizeof(pidfile), "%s/socat.pid", tl_test_tmpdir());
	if (conn_sh("command -v socat >/dev/null") != 0) {
		tl_test_fail(__FILE__, __LINE__, "socat is not installed (tools/install-deps.sh installs it)");
		return;
	}
	/* TLS on port + 55, plain text on to the test server */
	if (conn_sh("socat OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,cert=%s/server.pem,key=%s/server.key,verify=0 "
		    "TCP:127.0.0.1:%d >'%s/socat.log' 2>&1 & echo $! > '%s'",
		    port + 55, tls, tls, port, tl_test_tmpdir(), pidfile) != 0) {
		tl_test_fail(__FILE__, __LINE__, "cannot start socat");
		return;
	}
	for (i = 0; i < 50 && conn_sh("bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d' 2>/dev/null", port + 55) != 0; i++)
		usleep(100000);

	snprintf(u, sizeof(u), "mongodb://localhost:%d", port + 55);
	c = tls_open(u, "verify_full", ca, &err);
	TL_CHECK_MSG(c != NULL, "verify_full to localhost: %s", err.message);
	if (c && make_coll(c, "tls", 3, &t) == 0) { /* and a write through it */
		TL_CHECK_OK(one_doc(&b, 100, &err), &err);
		TL_CHECK_OK(D->write_batch(c, t, &b, TL_WRITE_UPSERT | TL_WRITE_DURABLE, &err), &err);
	}
	D->disconnect(c);
	snprintf(u, sizeof(u), "mongodb://127.0.0.1:%d", port + 55);
	c = tls_open(u, "verify_ca", ca, &err);
	TL_CHECK_MSG(c != NULL, "verify_ca to 127.0.0.1: %s", err.message);
	D->disconnect(c);
	c = tls_open(u, "require", NULL, &err);
	TL_CHECK_MSG(c != NULL, "require without a CA: %s", err.message);
	D->disconnect(c);
	c = tls_open(u, "verify_full", ca, &err); /* the certificate names localhost only */
	TL_CHECK_MSG(!c && err.flags == 0, "verify_full to 127.0.0.1: %s %s", c ? "connected" : conn_flags(&err),
		     err.message);
	D->disconnect(c);
	c = tls_open(u, "verify_ca", other, &err);
	TL_CHECK_MSG(!c && err.flags == 0, "verify_ca with an unrelated CA: %s %s", c ? "connected" : conn_flags(&err),
		     err.message);
	fprintf(stderr, "    wrong CA: %s\n", err.message);
	D->disconnect(c);
	/* the URL's own options, as ape-dts passes them to its MongoDB driver */
	snprintf(u, sizeof(u), "mongodb://localhost:%d/?tls=true&tlsCAFile=%s", port + 55, ca);
	c = tls_open(u, NULL, NULL, &err);
	TL_CHECK_MSG(c != NULL, "?tls=true&tlsCAFile=: %s", err.message);
	D->disconnect(c);
	snprintf(u, sizeof(u), "mongodb://localhost:%d/?tls=true&tlsCAFile=%s", port + 55, other);
	c = tls_open(u, NULL, NULL, &err);
	TL_CHECK_MSG(!c, "?tls=true with an unrelated CA connected");
	D->disconnect(c);
	D->free_table(t);
	tl_batch_release(&b);
	(void)conn_sh("kill $(cat '%s') 2>/dev/null", pidfile);
}

TL_TEST(test_conn_mongo__private_server)
{
	int base = conn_env_port("TL_MONGO_SRC_URL");
	struct conn_server srv = {0};
	tl_endpoint ep = {.db_type = "mongo", .app_name = "tl-conn-test", .io_timeout_secs = 2, .connect_timeout_secs = 2};
	tl_conn *c = NULL, *w = NULL, *x = NULL;
	tl_table *t = NULL;
	tl_reader *r = NULL;
	tl_read_spec spec;
	tl_batch b;
	tl_error err = TL_ERROR_INIT;
	char url[128];
	double t0, took;
	int rc;

	if (!tl_test_require_env("TL_MONGO_SRC_URL") || !base)
		return;
	tl_batch_init(&b, 1, 1 << 20);
	memset(&spec, 0, sizeof(spec));
	spec.mode = TL_READ_SCAN;
	spec.batch_rows = 100;
	snprintf(url, sizeof(url), "mongodb://127.0.0.1:%d", base + 50);
	ep.url = url;
	if (conn_server_start(&srv, "mongo", base + 50) != 0) {
		tl_test_fail(__FILE__, __LINE__, "cannot start a private Mongo test server on port %d (see %s/srv-mongo.log)",
			     base + 50, tl_test_tmpdir());
		return;
	}
	if (!(c = open_ep(&ep, &err)) || !(w = open_ep(&ep, &err))) {
		tl_test_fail(__FILE__, __LINE__, "connect: %s", err.message);
		goto cleanup;
	}
	if (make_coll(c, "docs", 3000, &t))
		goto cleanup;
	TL_CHECK_OK(D->open_reader(c, t, &spec, &r, &err), &err);
	TL_CHECK_OK(D->read_batch(r, &b, &err), &err);

	/* frozen server: the cursor's next batch, a write and a new connection all give up */
	if (conn_server_signal(&srv, SIGSTOP)) {
		tl_test_fail(__FILE__, __LINE__, "cannot freeze the private server (no pid, or it did not stop)");
		goto cleanup;
	}
	t0 = conn_now();
	do {
		tl_batch_reset(&b);
		rc = D->read_batch(r, &b, &err);
	} while (rc == 0 && b.nrows > 0);
	took = conn_now() - t0;
	TL_CHECK_MSG(rc == TL_ERR_DB && (err.flags & LOST) == LOST, "frozen read: rc %d %s %s", rc, conn_flags(&err),
		     err.message);
	TL_CHECK_MSG(took < 2 + 2, "frozen read failed after %.1f s (bound 2 s)", took);
	D->close_reader(r);
	r = NULL;
	tl_batch_reset(&b);
	TL_CHECK_OK(one_doc(&b, 5000, &err), &err);
	t0 = conn_now();
	rc = D->write_batch(w, t, &b, TL_WRITE_UPSERT, &err);
	took = conn_now() - t0;
	TL_CHECK_MSG(rc == TL_ERR_DB && (err.flags & (LOST | TL_ERRF_COMMIT_UNKNOWN)) == (LOST | TL_ERRF_COMMIT_UNKNOWN),
		     "frozen write: rc %d %s %s", rc, conn_flags(&err), err.message);
	TL_CHECK_MSG(took < 2 + 2, "frozen write failed after %.1f s (bound 2 s)", took);
	fprintf(stderr, "    frozen server: write gave up after %.1f s (io_timeout_secs=2): %s\n", took, err.message);
	t0 = conn_now();
	x = open_ep(&ep, &err);
	took = conn_now() - t0;
	TL_CHECK_MSG(!x && (err.flags & TL_ERRF_TRANSIENT), "connect to a frozen server: %s %s", conn_flags(&err),
		     err.message);
	TL_CHECK_MSG(took < 2 + 2, "connect to a frozen server failed after %.1f s (bound 2 s)", took);
	D->disconnect(x);
	x = NULL;
	(void)conn_server_signal(&srv, SIGCONT);

	/* crash and restart: the old connection's write fails transiently, a new one works */
	D->disconnect(w);
	if (!(w = open_ep(&ep, &err))) {
		tl_test_fail(__FILE__, __LINE__, "after SIGCONT: %s", err.message);
		goto cleanup;
	}
	TL_CHECK(conn_server_crash(&srv) == 0);
	rc = D->write_batch(w, t, &b, TL_WRITE_UPSERT, &err);
	TL_CHECK_MSG(rc == TL_ERR_DB && (err.flags & LOST) == LOST, "write to a killed server: rc %d %s %s", rc,
		     conn_flags(&err), err.message);
	if (conn_server_start(&srv, "mongo", base + 50) != 0) {
		tl_test_fail(__FILE__, __LINE__, "cannot restart the private Mongo test server");
		goto cleanup;
	}
	x = open_ep(&ep, &err);
	TL_CHECK_MSG(x != NULL, "connect after the restart: %s", err.message);
	if (x)
		TL_CHECK_OK(D->write_batch(x, t, &b, TL_WRITE_UPSERT, &err), &err);
cleanup:
	(void)conn_server_signal(&srv, SIGCONT);
	D->close_reader(r);
	D->free_table(t);
	D->disconnect(c);
	D->disconnect(w);
	D->disconnect(x);
	conn_server_stop(&srv);
	tl_batch_release(&b);
}
