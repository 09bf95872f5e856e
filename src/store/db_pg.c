/*
 * db_pg.c - the PostgreSQL side of the store's SQL layer (store_db.h): the shared store
 * of `[resumer] store=postgres://…` (or postgresql://), for many workers on many hosts
 * (#17). The only code outside src/connectors/pg* that includes libpq-fe.h, and it uses
 * libpq only for the store's own database.
 *
 * The store lives in one schema of the given database, "tideline" unless the URL says
 * `?schema=NAME` (tideline's own URL parameter, removed before libpq sees the URL). The
 * connection's search_path is that schema alone, so the store's SQL is the same as on
 * SQLite and ad-hoc SQL reads `tideline.progress`. Its schema version is the one row of
 * the table schema_version (SQLite: PRAGMA user_version). Creating the schema and every
 * upgrade take a transaction-scoped advisory lock first, so many workers starting at
 * once apply each step once.
 *
 * Statements are prepared on the server (PQprepare) when the store caches them, else sent
 * with PQexecParams; values go as text parameters, results come back as text and are
 * read whole (PGresult), so a statement may run while another's rows are being read. The
 * session runs with synchronous_commit on: a position or a lease the store acknowledged
 * survives a crash of the store's server (#19).
 */
#include <ctype.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/store_db.h"
#include "tideline/buf.h"

#define DEFAULT_SCHEMA "tideline"

struct tl_sdb {
	PGconn *pg;
	char *display; /* the URL without its password, for messages */
	char *schema;
	unsigned flags;
	unsigned next_id; /* names of server-side prepared statements */
	unsigned gen;     /* sessions so far: a statement prepared in an older one is prepared again */
};

struct tl_sdb_stmt {
	tl_sdb *db;
	char *sql;     /* with $n placeholders */
	char name[24]; /* server-side statement, "" when sent with PQexecParams */
	unsigned gen;  /* the session it was prepared in */
	int nparams;
	char **vals; /* bound values (heap copies), NULL = SQL NULL */
	PGresult *res;
	int row, nrows;
	int64_t changes;
};

/* Copies src into dst on one line (libpq messages end in newlines and may have several). */
static void one_line(char *dst, size_t n, const char *src)
{
	size_t i, j = 0;

	for (i = 0; src && src[i] && j + 1 < n; i++)
		dst[j++] = (src[i] == '\n' || src[i] == '\r' || src[i] == '\t') ? ' ' : src[i];
	while (j > 0 && dst[j - 1] == ' ')
		j--;
	dst[j] = '\0';
}

/* An error from a result (its primary message and SQLSTATE) or else from the connection. */
static int fail_res(tl_sdb *d, const PGresult *res, tl_error *err)
{
	char msg[900];
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	one_line(msg, sizeof(msg), primary ? primary : PQerrorMessage(d->pg));
	tl_error_set(err, TL_ERR_STORE, "%s%s%s%s", msg[0] ? msg : "unknown error", state ? " (SQLSTATE " : "",
		     state ? state : "", state ? ")" : "");
	if (err && state)
		snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state);
	/* the server went away (restart, failover, a killed session): worth a new connection */
	if (PQstatus(d->pg) == CONNECTION_BAD)
		tl_error_add_flags(err, TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST);
	else if (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 || strcmp(state, "53300") == 0 ||
			   strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0))
		tl_error_add_flags(err, TL_ERRF_TRANSIENT);
	return TL_ERR_STORE;
}

/* Runs SQL with optional text parameters; *out (may be NULL) keeps the result. */
static int run(tl_sdb *d, const char *sql, int n, const char *const *vals, PGresult **out, tl_error *err)
{
	PGresult *res = n ? PQexecParams(d->pg, sql, n, NULL, vals, NULL, NULL, 0) : PQexec(d->pg, sql);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (out)
		*out = NULL;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fail_res(d, res, err);
		PQclear(res);
		return TL_ERR_STORE;
	}
	if (out)
		*out = res;
	else
		PQclear(res);
	return 0;
}

/*
 * Splits tideline's own `schema` parameter off a postgres URL: *url_out is the URL
 * libpq gets, *schema_out the schema (percent-decoded; DEFAULT_SCHEMA when absent).
 */
static int split_url(const char *url, char **url_out, char **schema_out, tl_error *err)
{
	const char *q = strchr(url, '?');
	tl_buf u = TL_BUF_INIT, sc = TL_BUF_INIT;
	int rc = 0, first = 1;

	*url_out = *schema_out = NULL;
	if ((rc = tl_buf_put(&u, url, q ? (size_t)(q - url) : strlen(url), err)))
		goto cleanup;
	while (q && *q) {
		const char *p = q + 1, *end = strchr(p, '&');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n > 7 && strncmp(p, "schema=", 7) == 0) {
			size_t i;

			tl_buf_reset(&sc);
			for (i = 7; i < n; i++) {
				if (p[i] == '%' && i + 2 < n && isxdigit((unsigned char)p[i + 1]) &&
				    isxdigit((unsigned char)p[i + 2])) {
					char hex[3] = {p[i + 1], p[i + 2], 0};
					rc = tl_buf_putc(&sc, (char)strtol(hex, NULL, 16), err);
					i += 2;
				} else {
					rc = tl_buf_putc(&sc, p[i] == '+' ? ' ' : p[i], err);
				}
				if (rc)
					goto cleanup;
			}
		} else if (n > 0) {
			if ((rc = tl_buf_putc(&u, first ? '?' : '&', err)) || (rc = tl_buf_put(&u, p, n, err)))
				goto cleanup;
			first = 0;
		}
		q = end;
	}
	if (!sc.len && (rc = tl_buf_puts(&sc, DEFAULT_SCHEMA, err)))
		goto cleanup;
	if (sc.len > 63 || strlen(tl_buf_cstr(&sc)) != sc.len) {
		rc = tl_error_set(err, TL_ERR_CONFIG, "store schema name '%s' is not a valid PostgreSQL name",
				  tl_buf_cstr(&sc));
		goto cleanup;
	}
	*url_out = tl_buf_detach(&u);
	*schema_out = tl_buf_detach(&sc);
	if (!*url_out || !*schema_out) {
		free(*url_out);
		free(*schema_out);
		*url_out = *schema_out = NULL;
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
cleanup:
	tl_buf_release(&u);
	tl_buf_release(&sc);
	return rc;
}

/* The store never prints: notices ("schema already exists, skipping") are dropped. */
static void no_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static void p_close(tl_sdb *d)
{
	if (!d)
		return;
	if (d->pg)
		PQfinish(d->pg);
	free(d->display);
	free(d->schema);
	free(d);
}

/* The session's settings, at connect and after a reconnect. */
static int setup_session(tl_sdb *d, tl_error *err)
{
	char setpath[200];
	char *ident = PQescapeIdentifier(d->pg, d->schema, strlen(d->schema));
	int rc;

	if (!ident) {
		fail_res(d, NULL, err);
		return tl_error_prefix(err, "store '%s'", d->display);
	}
	/* an identifier quoted by libpq, not a value: there is no parameter for it */
	snprintf(setpath, sizeof(setpath), "SET search_path TO %s", ident);
	PQfreemem(ident);
	if ((rc = run(d, "SET client_encoding = 'UTF8'", 0, NULL, NULL, err)) ||
	    (rc = run(d, "SET TIME ZONE 'UTC'", 0, NULL, NULL, err)) ||
	    (rc = run(d, "SET extra_float_digits = 3", 0, NULL, NULL, err)) ||
	    (rc = run(d, "SET synchronous_commit = on", 0, NULL, NULL, err)) || (rc = run(d, setpath, 0, NULL, NULL, err)) ||
	    ((d->flags & TL_SDB_READONLY) && (rc = run(d, "SET default_transaction_read_only = on", 0, NULL, NULL, err))) ||
	    /* a writer's transactions take milliseconds: one left open by a client that is cut
	     * off would hold its rows (a fleet item's, which nobody could then take over) */
	    (!(d->flags & TL_SDB_READONLY) && PQserverVersion(d->pg) >= 90600 &&
	     (rc = run(d, "SET idle_in_transaction_session_timeout = '10s'", 0, NULL, NULL, err))))
		return tl_error_prefix(err, "store '%s': configuring the session", d->display);
	return 0;
}

static int p_lost(tl_sdb *d)
{
	return PQstatus(d->pg) == CONNECTION_BAD;
}

/*
 * A new session with the same parameters (PQreset): the server restarted, failed over or
 * ended this session. Named statements of the old session are prepared again when next
 * used (gen).
 */
static int p_reconnect(tl_sdb *d, tl_error *err)
{
	char msg[800];

	PQreset(d->pg);
	if (PQstatus(d->pg) != CONNECTION_OK) {
		one_line(msg, sizeof(msg), PQerrorMessage(d->pg));
		tl_error_set(err, TL_ERR_STORE, "cannot reconnect: %s", msg);
		tl_error_add_flags(err, TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST);
		return TL_ERR_STORE;
	}
	PQsetNoticeProcessor(d->pg, no_notice, NULL);
	d->gen++;
	if (setup_session(d, err)) {
		tl_error_add_flags(err, TL_ERRF_TRANSIENT);
		return TL_ERR_STORE;
	}
	return 0;
}

static int p_open(const char *where, const char *display, unsigned flags, tl_sdb **out, tl_error *err)
{
	tl_sdb *d = NULL;
	PGresult *res = NULL;
	char *url = NULL;
	const char *keys[9], *vals[9], *p1[1];
	int rc = 0;

	*out = NULL;
	if (!(d = calloc(1, sizeof(*d))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory opening a store");
	d->flags = flags;
	if (!(d->display = tl_strdup(display))) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory opening a store");
		goto cleanup;
	}
	if ((rc = split_url(where, &url, &d->schema, err))) {
		rc = tl_error_prefix(err, "store '%s'", d->display);
		goto cleanup;
	}
	/*
	 * A store server behind a cut link is noticed (keepalives, and bytes unacknowledged for
	 * 20 s end the connection) instead of a call hanging for the kernel's retransmissions;
	 * the URL's own values come later and win.
	 */
	keys[0] = "keepalives"; vals[0] = "1";
	keys[1] = "keepalives_idle"; vals[1] = "10";
	keys[2] = "keepalives_interval"; vals[2] = "5";
	keys[3] = "keepalives_count"; vals[3] = "3";
	keys[4] = "tcp_user_timeout"; vals[4] = "20000";
	keys[5] = "dbname"; vals[5] = url;
	keys[6] = "connect_timeout"; vals[6] = "10";
	keys[7] = "application_name"; vals[7] = "tideline store";
	keys[8] = NULL; vals[8] = NULL;
	d->pg = PQconnectdbParams(keys, vals, 1);
	if (!d->pg) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory connecting to store '%s'", d->display);
		goto cleanup;
	}
	if (PQstatus(d->pg) != CONNECTION_OK) {
		char msg[800];

		/* libpq never repeats the password in its messages */
		one_line(msg, sizeof(msg), PQerrorMessage(d->pg));
		rc = tl_error_set(err, TL_ERR_STORE, "store '%s': cannot connect: %s", d->display, msg);
		goto cleanup;
	}
	PQsetNoticeProcessor(d->pg, no_notice, NULL);
	if (PQserverVersion(d->pg) < 90500) {
		rc = tl_error_set(err, TL_ERR_UNSUPPORTED, "store '%s': PostgreSQL %d is too old (9.5 or later needed)",
				  d->display, PQserverVersion(d->pg) / 10000);
		goto cleanup;
	}
	if ((rc = setup_session(d, err)))
		goto cleanup;
	p1[0] = d->schema;
	if ((rc = run(d, "SELECT 1 FROM pg_namespace WHERE nspname = $1", 1, p1, &res, err))) {
		rc = tl_error_prefix(err, "store '%s'", d->display);
		goto cleanup;
	}
	if (PQntuples(res) == 0 && (flags & (TL_SDB_READONLY | TL_SDB_NOCREATE))) {
		rc = tl_error_set(err, TL_ERR_NOTFOUND, "store '%s' does not exist (no schema '%s' in that database)",
				  d->display, d->schema);
		goto cleanup;
	}
	*out = d;
	d = NULL;
cleanup:
	PQclear(res);
	free(url);
	p_close(d);
	return rc;
}

static int p_get_version(tl_sdb *d, int *out, tl_error *err)
{
	PGresult *res = NULL;
	int rc;

	*out = 0;
	if ((rc = run(d, "SELECT to_regclass('schema_version') IS NOT NULL", 0, NULL, &res, err)))
		return rc;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		PQclear(res);
		return 0;
	}
	PQclear(res);
	if ((rc = run(d, "SELECT max(version) FROM schema_version", 0, NULL, &res, err)))
		return rc;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		*out = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

static int p_set_version(tl_sdb *d, int version, tl_error *err)
{
	char v[16];
	const char *p1[1] = {v};
	int rc;

	snprintf(v, sizeof(v), "%d", version);
	if ((rc = run(d, "DELETE FROM schema_version", 0, NULL, NULL, err)))
		return rc;
	return run(d, "INSERT INTO schema_version (version) VALUES ($1)", 1, p1, NULL, err);
}

/* The advisory lock, then the schema and its version table if this is the first store there. */
static int p_lock_schema(tl_sdb *d, tl_error *err)
{
	char sql[200], key[120];
	const char *p1[1] = {key};
	char *ident = PQescapeIdentifier(d->pg, d->schema, strlen(d->schema));
	int rc;

	if (!ident)
		return fail_res(d, NULL, err);
	snprintf(key, sizeof(key), "tideline store schema %s", d->schema);
	snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS %s", ident);
	PQfreemem(ident);
	if ((rc = run(d, "SELECT pg_advisory_xact_lock(hashtext($1))", 1, p1, NULL, err)) ||
	    (rc = run(d, sql, 0, NULL, NULL, err)))
		return rc;
	return run(d, "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)", 0, NULL, NULL, err);
}

static int p_exec(tl_sdb *d, const char *sql, tl_error *err)
{
	return run(d, sql, 0, NULL, NULL, err);
}

/* Rewrites ?N placeholders to $N outside quotes and comments; *nparams is the largest N. */
static int translate(const char *sql, char **out, int *nparams, tl_error *err)
{
	tl_buf b = TL_BUF_INIT;
	const char *p = sql;
	int rc = 0, maxn = 0;

	while (*p && rc == 0) {
		if (*p == '\'' || *p == '"') {
			char q = *p;
			const char *e = p + 1;
			while (*e && *e != q)
				e++;
			if (*e)
				e++;
			rc = tl_buf_put(&b, p, (size_t)(e - p), err);
			p = e;
		} else if (p[0] == '-' && p[1] == '-') {
			const char *e = strchr(p, '\n');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			rc = tl_buf_put(&b, p, n, err);
			p += n;
		} else if (*p == '?' && isdigit((unsigned char)p[1])) {
			char *end;
			long n = strtol(p + 1, &end, 10);
			if (n > maxn)
				maxn = (int)n;
			rc = tl_buf_printf(&b, err, "$%ld", n);
			p = end;
		} else {
			rc = tl_buf_putc(&b, *p++, err);
		}
	}
	if (rc) {
		tl_buf_release(&b);
		return rc;
	}
	if (!b.data && (rc = tl_buf_puts(&b, "", err)))
		return rc;
	*out = tl_buf_detach(&b);
	*nparams = maxn;
	return 0;
}

static void clear_vals(tl_sdb_stmt *st)
{
	int i;

	for (i = 0; i < st->nparams; i++) {
		free(st->vals[i]);
		st->vals[i] = NULL;
	}
}

static void p_finalize(tl_sdb_stmt *st)
{
	if (!st)
		return;
	PQclear(st->res);
	if (st->vals)
		clear_vals(st);
	free(st->vals);
	free(st->sql);
	/* a named statement lives until the session ends (DEALLOCATE would cost a round trip) */
	free(st);
}

/* Prepares a named statement in the current session. */
static int server_prepare(tl_sdb_stmt *st, tl_error *err)
{
	PGresult *res = PQprepare(st->db->pg, st->name, st->sql, st->nparams, NULL);
	int rc = 0;

	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = fail_res(st->db, res, err);
	PQclear(res);
	st->gen = st->db->gen;
	return rc;
}

static int p_prepare(tl_sdb *d, const char *sql, int cached, tl_sdb_stmt **out, tl_error *err)
{
	tl_sdb_stmt *st = calloc(1, sizeof(*st));
	int rc;

	*out = NULL;
	if (!st)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory preparing a statement");
	st->db = d;
	if ((rc = translate(sql, &st->sql, &st->nparams, err)))
		goto fail;
	if (st->nparams && !(st->vals = calloc((size_t)st->nparams, sizeof(*st->vals)))) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory preparing a statement");
		goto fail;
	}
	if (cached) {
		snprintf(st->name, sizeof(st->name), "tl_store_%u", ++d->next_id);
		if ((rc = server_prepare(st, err)))
			goto fail;
	}
	*out = st;
	return 0;
fail:
	p_finalize(st);
	return rc;
}

static int put_val(tl_sdb_stmt *st, int i, const char *v, size_t n, tl_error *err)
{
	char *copy = NULL;

	if (i < 1 || i > st->nparams)
		return tl_error_set(err, TL_ERR_INTERNAL, "parameter %d of a statement with %d", i, st->nparams);
	if (v && !(copy = tl_strndup(v, n)))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory binding a parameter");
	free(st->vals[i - 1]);
	st->vals[i - 1] = copy;
	return 0;
}

static int p_bind_text(tl_sdb_stmt *st, int i, const char *v, size_t n, tl_error *err)
{
	return put_val(st, i, v, v ? n : 0, err);
}

static int p_bind_i64(tl_sdb_stmt *st, int i, int64_t v, tl_error *err)
{
	char t[32];
	int n = snprintf(t, sizeof(t), "%lld", (long long)v);

	return put_val(st, i, t, (size_t)n, err);
}

static int p_bind_double(tl_sdb_stmt *st, int i, double v, tl_error *err)
{
	char t[40];
	int n = snprintf(t, sizeof(t), "%.17g", v);

	return put_val(st, i, t, (size_t)n, err);
}

static int p_bind_null(tl_sdb_stmt *st, int i, tl_error *err)
{
	return put_val(st, i, NULL, 0, err);
}

static int p_step(tl_sdb_stmt *st, tl_error *err)
{
	if (!st->res) {
		const char *const *vals = (const char *const *)st->vals;
		PGresult *res;

		if (st->name[0] && st->gen != st->db->gen && server_prepare(st, err))
			return TL_ERR_STORE;
		res = st->name[0]
					? PQexecPrepared(st->db->pg, st->name, st->nparams, vals, NULL, NULL, 0)
					: PQexecParams(st->db->pg, st->sql, st->nparams, NULL, vals, NULL, NULL, 0);
		ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

		if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
			fail_res(st->db, res, err);
			PQclear(res);
			return TL_ERR_STORE;
		}
		st->res = res;
		st->nrows = s == PGRES_TUPLES_OK ? PQntuples(res) : 0;
		st->row = -1;
		st->changes = PQcmdTuples(res)[0] ? strtoll(PQcmdTuples(res), NULL, 10) : 0;
	}
	if (st->row + 1 < st->nrows) {
		st->row++;
		return 1;
	}
	st->row = st->nrows;
	return 0;
}

static void p_reset(tl_sdb_stmt *st)
{
	PQclear(st->res);
	st->res = NULL;
	st->row = st->nrows = 0;
	if (st->vals)
		clear_vals(st);
}

static int have_value(tl_sdb_stmt *st, int col)
{
	return st->res && st->row >= 0 && st->row < st->nrows && col >= 0 && col < PQnfields(st->res) &&
	       !PQgetisnull(st->res, st->row, col);
}

static int p_col_count(tl_sdb_stmt *st)
{
	return st->res ? PQnfields(st->res) : 0;
}

static enum tl_sdb_type p_col_type(tl_sdb_stmt *st, int col)
{
	if (!have_value(st, col))
		return TL_SDB_NULL;
	switch (PQftype(st->res, col)) {
	case 16: /* bool */
	case 20: /* int8 */
	case 21: /* int2 */
	case 23: /* int4 */
	case 26: /* oid */
		return TL_SDB_INT;
	case 700:  /* float4 */
	case 701:  /* float8 */
	case 1700: /* numeric */
		return TL_SDB_REAL;
	default:
		return TL_SDB_TEXT;
	}
}

static const char *p_col_text(tl_sdb_stmt *st, int col, size_t *len)
{
	if (!have_value(st, col)) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = (size_t)PQgetlength(st->res, st->row, col);
	return PQgetvalue(st->res, st->row, col);
}

static int64_t p_col_i64(tl_sdb_stmt *st, int col)
{
	const char *v;

	if (!have_value(st, col))
		return 0;
	v = PQgetvalue(st->res, st->row, col);
	if (PQftype(st->res, col) == 16)
		return v[0] == 't';
	return (int64_t)strtoll(v, NULL, 10);
}

static double p_col_double(tl_sdb_stmt *st, int col)
{
	return have_value(st, col) ? strtod(PQgetvalue(st->res, st->row, col), NULL) : 0.0;
}

static int64_t p_changes(tl_sdb_stmt *st)
{
	return st->changes;
}

static int p_in_tx(tl_sdb *d)
{
	PGTransactionStatusType t = PQtransactionStatus(d->pg);

	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

static int p_begin(tl_sdb *d, enum tl_sdb_tx kind, tl_error *err)
{
	return run(d, kind == TL_SDB_TX_WRITE ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
		   NULL, err);
}

static void p_rollback(tl_sdb *d)
{
	if (p_in_tx(d))
		PQclear(PQexec(d->pg, "ROLLBACK"));
}

static int p_commit(tl_sdb *d, tl_error *err)
{
	PGresult *res = NULL;
	int rc = run(d, "COMMIT", 0, NULL, &res, err);

	/* COMMIT of a transaction an earlier statement aborted answers ROLLBACK, without an error */
	if (rc == 0 && strcmp(PQcmdStatus(res), "COMMIT") != 0)
		rc = tl_error_set(err, TL_ERR_STORE, "the transaction was rolled back (an earlier statement failed)");
	PQclear(res);
	/* lost with the connection: the server may have committed it or not */
	if (rc && PQstatus(d->pg) == CONNECTION_BAD)
		tl_error_add_flags(err, TL_ERRF_COMMIT_UNKNOWN);
	if (rc)
		p_rollback(d);
	return rc;
}

const struct tl_sdb_ops tl_sdb_pg = {
	"pg",	  tl_schema_steps_pg, p_open,	  p_close,     p_get_version, p_set_version, p_lock_schema,
	p_exec,	  p_prepare,	      p_finalize, p_bind_text, p_bind_i64,    p_bind_double, p_bind_null,
	p_step,	  p_reset,	      p_col_count, p_col_type, p_col_text,  p_col_i64,     p_col_double,  p_changes,
	p_begin,  p_commit,	      p_rollback, p_in_tx,     NULL,	      p_lost,	     p_reconnect,
};
