/*
 * pg_conn.c - PostgreSQL connector: connecting, error translation, identifier quoting,
 * statement helpers and position-value conversion shared by the other pg_*.c files.
 *
 * Connection errors name host:port and never the password (it is scrubbed from libpq's
 * text too). Every value goes to the server as a bound text parameter; identifiers are
 * always double-quoted with embedded quotes doubled. Must not print or exit.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pg_int.h"

/* Copies src into dst collapsing runs of whitespace (libpq messages span lines). */
static void one_line(char *dst, size_t n, const char *src)
{
	size_t j = 0;
	int space = 0;

	if (n == 0)
		return;
	for (; src && *src && j + 1 < n; src++) {
		if (*src == '\n' || *src == '\t' || *src == '\r' || *src == ' ') {
			space = 1;
			continue;
		}
		if (space && j > 0 && j + 2 < n)
			dst[j++] = ' ';
		space = 0;
		dst[j++] = *src;
	}
	dst[j] = '\0';
}

/* Replaces every occurrence of secret in s (in place) by "***" (secret non-empty). */
static void scrub(char *s, size_t cap, const char *secret)
{
	size_t sl, tail;
	char *p;

	if (!secret || !*secret)
		return;
	sl = strlen(secret);
	while ((p = strstr(s, secret)) != NULL) {
		tail = strlen(p + sl);
		if (sl >= 3) {
			memcpy(p, "***", 3);
			memmove(p + 3, p + sl, tail + 1);
		} else if ((size_t)(p - s) + 3 + tail + 1 <= cap) {
			memmove(p + 3, p + sl, tail + 1);
			memcpy(p, "***", 3);
		} else {
			memset(p, '*', sl);
		}
	}
}

static void fill_error(tl_error *err, const char *sqlstate, const char *msg, const char *fmt, va_list ap)
{
	char head[512];
	char body[768];

	if (!err)
		return;
	vsnprintf(head, sizeof(head), fmt, ap);
	one_line(body, sizeof(body), msg && *msg ? msg : "unknown error");
	tl_error_set(err, TL_ERR_DB, "%s: %s", head, body);
	if (sqlstate && strlen(sqlstate) == 5)
		memcpy(err->sqlstate, sqlstate, 6);
}

const char *tl_pg__sqlstate(const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return s ? s : "";
}

int tl_pg__res_error(tl_error *err, const PGresult *res, PGconn *pg, const char *fmt, ...)
{
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	va_list ap;

	if (!msg || !*msg)
		msg = res ? PQresultErrorMessage(res) : NULL;
	if ((!msg || !*msg) && pg)
		msg = PQerrorMessage(pg);
	va_start(ap, fmt);
	fill_error(err, tl_pg__sqlstate(res), msg, fmt, ap);
	va_end(ap);
	return TL_ERR_DB;
}

int tl_pg__conn_error(tl_error *err, PGconn *pg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fill_error(err, NULL, pg ? PQerrorMessage(pg) : "no connection", fmt, ap);
	va_end(ap);
	return TL_ERR_DB;
}

int tl_pg__quote_ident(tl_buf *b, const char *ident, tl_error *err)
{
	const char *p;
	int rc = tl_buf_putc(b, '"', err);

	for (p = ident; !rc && *p; p++) {
		if (*p == '"')
			rc = tl_buf_putc(b, '"', err);
		if (!rc)
			rc = tl_buf_putc(b, *p, err);
	}
	if (!rc)
		rc = tl_buf_putc(b, '"', err);
	return rc;
}

int tl_pg__quote_table(tl_buf *b, const char *schema, const char *name, tl_error *err)
{
	int rc = tl_pg__quote_ident(b, schema, err);

	if (!rc)
		rc = tl_buf_putc(b, '.', err);
	if (!rc)
		rc = tl_pg__quote_ident(b, name, err);
	return rc;
}

void tl_pg__table_label(char *out, size_t n, const char *schema, const char *name)
{
	tl_buf b = TL_BUF_INIT;

	tl_buf_init(&b, 4096);
	if (tl_pg__quote_table(&b, schema, name, NULL) == 0)
		snprintf(out, n, "%s", tl_buf_cstr(&b));
	else
		snprintf(out, n, "\"%s\".\"%s\"", schema, name);
	tl_buf_release(&b);
}

int tl_pg__exec(tl_conn *c, const char *sql, int nparams, const char *const *params, PGresult **out,
		const char *what, tl_error *err)
{
	PGresult *res;
	ExecStatusType st;

	if (out)
		*out = NULL;
	if (nparams > 0)
		res = PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	else
		res = PQexec(c->pg, sql);
	if (!res)
		return tl_pg__conn_error(err, c->pg, "%s", what);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		tl_pg__res_error(err, res, c->pg, "%s", what);
		PQclear(res);
		return TL_ERR_DB;
	}
	if (out)
		*out = res;
	else
		PQclear(res);
	return 0;
}

const char *tl_pg__cast(const tl_table *t, size_t i)
{
	const struct tl_pg_table *impl = t->impl;

	if (impl && impl->magic == TL_PG_TABLE_MAGIC && impl->cast && impl->cast[i])
		return impl->cast[i];
	return NULL;
}

int tl_pg__identity_always(const tl_table *t, size_t i)
{
	const struct tl_pg_table *impl = t->impl;

	return impl && impl->magic == TL_PG_TABLE_MAGIC && impl->identity_always && impl->identity_always[i];
}

/* Server notices (e.g. "already exists, skipping") are not errors and must not be printed. */
static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Accepts an optional sign and decimal digits only (the text PG integers print as). */
static int is_integer_text(const char *s)
{
	long long v;
	char *end = NULL;

	if (!*s)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	(void)v;
	if (errno == ERANGE || !end || *end || end == s)
		return 0;
	return s[0] != ' ' && s[0] != '\t';
}

static int mismatch(const tl_table *t, size_t col, const char *val, tl_error *err)
{
	char label[600];

	tl_pg__table_label(label, sizeof(label), t->schema, t->name);
	return tl_error_set(err, TL_ERR_MISMATCH, "resume value '%.200s' does not fit column \"%s\" (%s) of %s", val,
			    t->cols[col].name, t->cols[col].type ? t->cols[col].type : "?", label);
}

int tl_pg__pos_param(const tl_table *t, size_t col, const char *val, tl_buf *out, tl_error *err)
{
	const tl_column *c = &t->cols[col];
	const char *p;
	int rc;

	tl_buf_reset(out);
	switch (c->kind) {
	case TL_COL_INT:
		if (!is_integer_text(val))
			return mismatch(t, col, val, err);
		return tl_buf_puts(out, val, err);
	case TL_COL_BINARY:
		p = val;
		if (p[0] == '\\' && p[1] == 'x')
			p += 2;
		if (strlen(p) % 2)
			return mismatch(t, col, val, err);
		rc = tl_buf_puts(out, "\\x", err);
		for (; !rc && *p; p++) {
			char ch = *p;
			if (ch >= 'A' && ch <= 'F')
				ch = (char)(ch - 'A' + 'a');
			if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
				return mismatch(t, col, val, err);
			rc = tl_buf_putc(out, ch, err);
		}
		return rc;
	default:
		return tl_buf_puts(out, val, err);
	}
}

int tl_pg__pos_from_text(const tl_table *t, size_t col, const char *text, char **out, tl_error *err)
{
	const tl_column *c = &t->cols[col];
	const char *v = text;

	*out = NULL;
	if (!text)
		return 0;
	if (c->kind == TL_COL_BINARY && v[0] == '\\' && v[1] == 'x')
		v += 2;
	else if (c->kind == TL_COL_BOOL)
		v = (v[0] == 't') ? "true" : (v[0] == 'f') ? "false" : v;
	*out = tl_strdup(v);
	if (!*out)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory rendering a position");
	return 0;
}

int tl_pg__blame_values(tl_conn *c, const tl_table *t, const size_t *cols, const char *const *vals, size_t n,
			tl_error *err)
{
	tl_buf sql = TL_BUF_INIT, param = TL_BUF_INIT;
	PGresult *res = NULL;
	size_t i;
	int rc = 0;

	tl_buf_init(&sql, 4096);
	tl_buf_init(&param, (size_t)1 << 20);
	if (PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
		res = PQexec(c->pg, "ROLLBACK");
		PQclear(res);
		res = NULL;
	}
	for (i = 0; i < n; i++) {
		const char *cast = tl_pg__cast(t, cols[i]);
		const char *pv;

		if (!vals[i])
			continue;
		if (!cast)
			cast = t->cols[cols[i]].type;
		tl_buf_reset(&sql);
		if (tl_buf_printf(&sql, NULL, "SELECT $1::%s", cast))
			continue;
		if (tl_pg__pos_param(t, cols[i], vals[i], &param, NULL))
			goto blame;
		pv = tl_buf_cstr(&param);
		res = PQexecParams(c->pg, tl_buf_cstr(&sql), 1, NULL, &pv, NULL, NULL, 0);
		if (res && PQresultStatus(res) == PGRES_FATAL_ERROR && tl_pg__sqlstate(res)[0] == '2' &&
		    tl_pg__sqlstate(res)[1] == '2')
			goto blame;
		PQclear(res);
		res = NULL;
		continue;
blame:
		rc = mismatch(t, cols[i], vals[i], err);
		if (err && res)
			snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", tl_pg__sqlstate(res));
		break;
	}
	PQclear(res);
	tl_buf_release(&sql);
	tl_buf_release(&param);
	return rc ? rc : (err ? err->code : TL_ERR_DB);
}

/* Runs one session setting at connect time. */
static int set_session(tl_conn *c, const char *sql, tl_error *err)
{
	return tl_pg__exec(c, sql, 0, NULL, NULL, "cannot configure the pg session", err);
}

int tl_pg__connect(const tl_endpoint *ep, tl_conn **out, tl_error *err)
{
	tl_conn *c = NULL;
	tl_url u;
	const char *keys[8], *vals[8];
	char where[300];
	char port[16];
	int n = 0, rc = 0;
	size_t off;
	const char *pass = NULL;

	*out = NULL;
	memset(&u, 0, sizeof(u));
	rc = tl_url_parse(ep->url, &u, err);
	if (rc)
		return rc;
	if (u.port)
		snprintf(port, sizeof(port), "%d", u.port);
	else
		snprintf(port, sizeof(port), "5432");
	snprintf(where, sizeof(where), strchr(u.host, ':') ? "[%s]:%s" : "%s:%s", u.host, port);
	pass = (ep->password && *ep->password) ? ep->password : u.password;

	c = calloc(1, sizeof(*c));
	if (!c) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory connecting to pg");
		goto cleanup;
	}
	c->where = tl_strdup(where);
	if (!c->where) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory connecting to pg");
		goto cleanup;
	}
	/* Later entries override what the URI (expanded from dbname) says. */
	keys[n] = "connect_timeout"; vals[n++] = "10";
	keys[n] = "dbname"; vals[n++] = ep->url;
	if (ep->username && *ep->username) {
		keys[n] = "user"; vals[n++] = ep->username;
	}
	if (ep->password && *ep->password) {
		keys[n] = "password"; vals[n++] = ep->password;
	}
	keys[n] = "application_name"; vals[n++] = (ep->app_name && *ep->app_name) ? ep->app_name : "tideline";
	keys[n] = NULL; vals[n] = NULL;
	c->pg = PQconnectdbParams(keys, vals, 1);
	if (!c->pg) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "cannot connect to pg at %s: out of memory", where);
		goto cleanup;
	}
	if (PQstatus(c->pg) != CONNECTION_OK) {
		rc = tl_pg__conn_error(err, c->pg, "cannot connect to pg at %s", where);
		/* libpq does not echo passwords; scrub anyway, but keep "host:port" intact */
		off = strlen("cannot connect to pg at ") + strlen(where);
		if (err && strlen(err->message) > off)
			scrub(err->message + off, sizeof(err->message) - off, pass);
		goto cleanup;
	}
	PQsetNoticeProcessor(c->pg, ignore_notice, NULL);
	rc = set_session(c, "SET client_encoding='UTF8'", err);
	if (!rc)
		rc = set_session(c, "SET TIME ZONE 'UTC'", err);
	if (!rc)
		rc = set_session(c, "SET DateStyle='ISO'", err);
	if (!rc)
		rc = set_session(c, "SET IntervalStyle='postgres'", err);
	if (!rc)
		rc = set_session(c, "SET extra_float_digits=3", err);
	if (!rc)
		rc = set_session(c, "SET bytea_output='hex'", err);
	if (rc)
		goto cleanup;
	*out = c;
	c = NULL;
cleanup:
	tl_pg__disconnect(c);
	tl_url_clear(&u);
	return rc;
}

void tl_pg__disconnect(tl_conn *c)
{
	size_t i;

	if (!c)
		return;
	if (c->pg)
		PQfinish(c->pg);
	for (i = 0; i < TL_PG_STMT_CACHE; i++)
		free(c->stmts[i].shape);
	free(c->where);
	free(c);
}
