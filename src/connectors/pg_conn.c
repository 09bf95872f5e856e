/*
 * pg_conn.c - PostgreSQL connector: connecting (TLS, keepalives, ape-dts' URL query
 * forms), error translation and classification, waiting on the server within the silence
 * bound (the connection is non-blocking: every statement goes through tl_pg__run and
 * friends, never PQexec), identifier quoting, statement helpers and position-value
 * conversion shared by the other pg_*.c files.
 *
 * Connection errors name host:port and never the password (it is scrubbed from libpq's
 * text too). Every value goes to the server as a bound text parameter; identifiers are
 * always double-quoted with embedded quotes doubled. Must not print or exit.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
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

unsigned tl_pg__classify(const char *sqlstate, int conn_bad)
{
	static const char *const lost[] = {
		"57P01", /* admin_shutdown: pg_terminate_backend, a fast shutdown */
		"57P02", /* crash_shutdown: another backend crashed, the server restarts */
		"57P03", /* cannot_connect_now: starting up, shutting down, in recovery */
		"57P05", /* idle_session_timeout */
	};
	static const char *const retry[] = {
		"40001", /* serialization_failure */
		"40P01", /* deadlock_detected */
		"53300", /* too_many_connections */
		"55P03", /* lock_not_available: lock_timeout */
		"25006", /* read_only_sql_transaction: a standby after a failover */
	};
	size_t i;

	if (conn_bad)
		return TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST;
	if (!sqlstate || strlen(sqlstate) != 5)
		return 0;
	if (sqlstate[0] == '0' && sqlstate[1] == '8') /* connection_exception */
		return TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST;
	for (i = 0; i < sizeof(lost) / sizeof(lost[0]); i++)
		if (strcmp(sqlstate, lost[i]) == 0)
			return TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST;
	for (i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		if (strcmp(sqlstate, retry[i]) == 0)
			return TL_ERRF_TRANSIENT;
	return 0;
}

unsigned tl_pg__classify_connect(const char *message)
{
	/* libpq 15 reports a failed attempt only as text (the English of libpq and of the
	 * server's FATAL message); anything not listed fails at once (authentication, a
	 * missing database, TLS verification, a bad option) */
	static const char *const transient[] = {
		"Connection refused", "Connection reset", "No route to host", "Network is unreachable",
		"Connection timed out", "timeout expired", "No such file or directory" /* socket gone */,
		"server closed the connection unexpectedly", "could not receive data", "could not send data",
		"the database system is starting up", "the database system is shutting down",
		"the database system is in recovery mode", "the database system is not yet accepting connections",
		"the database system is not accepting connections", "too many clients",
		"remaining connection slots are reserved", "terminating connection",
	};
	size_t i;

	for (i = 0; message && i < sizeof(transient) / sizeof(transient[0]); i++)
		if (strstr(message, transient[i]))
			return TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST;
	return 0;
}

static void fill_error(tl_error *err, const char *sqlstate, unsigned flags, const char *msg, const char *fmt,
		       va_list ap)
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
	err->flags |= flags;
}

static int conn_bad(PGconn *pg)
{
	return !pg || PQstatus(pg) == CONNECTION_BAD;
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
	fill_error(err, tl_pg__sqlstate(res), tl_pg__classify(tl_pg__sqlstate(res), conn_bad(pg)), msg, fmt, ap);
	va_end(ap);
	return TL_ERR_DB;
}

int tl_pg__conn_error(tl_error *err, PGconn *pg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fill_error(err, NULL, tl_pg__classify(NULL, conn_bad(pg)), pg ? PQerrorMessage(pg) : "no connection", fmt, ap);
	va_end(ap);
	return TL_ERR_DB;
}

/* ---- waiting on the server within the silence bound ------------------------------ */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The connection is gone (or was given up): the error every later call gets. */
static int lost(tl_conn *c, tl_error *err)
{
	if (c->dead) {
		tl_error_set(err, TL_ERR_DB, "pg at %s: connection given up after %d s of silence", c->where,
			     c->io_timeout_ms / 1000);
		tl_error_add_flags(err, TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST);
		return TL_ERR_DB;
	}
	return tl_pg__conn_error(err, c->pg, "pg at %s", c->where);
}

/*
 * Waits until the socket is readable (and, with for_write, writable) for at most the
 * silence bound. On silence, gives the connection up: shutting the socket down makes
 * whatever libpq does next with it (a drain, PQfinish's goodbye) fail at once.
 */
static int wait_io(tl_conn *c, int for_write, tl_error *err)
{
	struct pollfd p;
	long long deadline = now_ms() + c->io_timeout_ms, left;
	int fd = c->dead ? -1 : PQsocket(c->pg), r;

	if (fd < 0)
		return lost(c, err);
	p.fd = fd;
	p.events = (short)(POLLIN | (for_write ? POLLOUT : 0));
	for (;;) {
		p.revents = 0;
		left = deadline - now_ms();
		r = poll(&p, 1, left > 0 ? (int)left : 0);
		if (r > 0)
			return 0;
		if (r < 0 && errno == EINTR)
			continue; /* a signal: the stop flag is checked between batches */
		if (r < 0) {
			tl_error_set(err, TL_ERR_DB, "pg at %s: cannot wait for the server: %s", c->where, strerror(errno));
			tl_error_add_flags(err, TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST);
			return TL_ERR_DB;
		}
		break;
	}
	c->dead = 1;
	(void)shutdown(fd, SHUT_RDWR);
	tl_error_set(err, TL_ERR_DB, "pg at %s: no answer for %d s (io timeout): connection given up", c->where,
		     c->io_timeout_ms / 1000);
	tl_error_add_flags(err, TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST);
	return TL_ERR_DB;
}

/* Sends what libpq has queued, reading what the server sends meanwhile (libpq's rule). */
static int flush_out(tl_conn *c, tl_error *err)
{
	int r, rc;

	while ((r = PQflush(c->pg)) == 1) {
		if ((rc = wait_io(c, 1, err)))
			return rc;
		if (!PQconsumeInput(c->pg))
			return lost(c, err);
	}
	return r < 0 ? lost(c, err) : 0;
}

int tl_pg__next_result(tl_conn *c, PGresult **out, tl_error *err)
{
	int rc;

	*out = NULL;
	if (c->dead)
		return lost(c, err);
	if ((rc = flush_out(c, err)))
		return rc;
	while (PQisBusy(c->pg)) {
		if ((rc = wait_io(c, 0, err)))
			return rc;
		if (!PQconsumeInput(c->pg))
			return lost(c, err);
	}
	*out = PQgetResult(c->pg);
	return 0;
}

/* Collects results the way PQexec does: the last one, or the first COPY state. */
static int collect(tl_conn *c, PGresult **out, tl_error *err)
{
	PGresult *last = NULL, *res = NULL;
	ExecStatusType st;
	int rc;

	for (;;) {
		if ((rc = tl_pg__next_result(c, &res, err))) {
			PQclear(last);
			return rc;
		}
		if (!res)
			break;
		PQclear(last);
		last = res;
		st = PQresultStatus(res);
		if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH || conn_bad(c->pg))
			break;
	}
	if (!last)
		return lost(c, err);
	*out = last;
	return 0;
}

int tl_pg__run(tl_conn *c, const char *sql, int nparams, const char *const *params, PGresult **out, tl_error *err)
{
	int ok;

	*out = NULL;
	if (c->dead)
		return lost(c, err);
	if (nparams > 0)
		ok = PQsendQueryParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	else
		ok = PQsendQuery(c->pg, sql);
	return ok ? collect(c, out, err) : lost(c, err);
}

int tl_pg__run_prepared(tl_conn *c, const char *name, int nparams, const char *const *params, PGresult **out,
			tl_error *err)
{
	*out = NULL;
	if (c->dead)
		return lost(c, err);
	if (!PQsendQueryPrepared(c->pg, name, nparams, params, NULL, NULL, 0))
		return lost(c, err);
	return collect(c, out, err);
}

int tl_pg__run_prepare(tl_conn *c, const char *name, const char *sql, PGresult **out, tl_error *err)
{
	*out = NULL;
	if (c->dead)
		return lost(c, err);
	if (!PQsendPrepare(c->pg, name, sql, 0, NULL))
		return lost(c, err);
	return collect(c, out, err);
}

int tl_pg__copy_put(tl_conn *c, const char *data, size_t len, tl_error *err)
{
	int r, rc;

	if (c->dead)
		return lost(c, err);
	while ((r = PQputCopyData(c->pg, data, (int)len)) == 0) /* no room: send, then retry */
		if ((rc = wait_io(c, 1, err)) || (rc = flush_out(c, err)))
			return rc;
	return r < 0 ? lost(c, err) : flush_out(c, err);
}

int tl_pg__copy_end(tl_conn *c, const char *errmsg, tl_error *err)
{
	int r, rc;

	if (c->dead)
		return lost(c, err);
	while ((r = PQputCopyEnd(c->pg, errmsg)) == 0)
		if ((rc = wait_io(c, 1, err)) || (rc = flush_out(c, err)))
			return rc;
	return r < 0 ? lost(c, err) : flush_out(c, err);
}

int tl_pg__copy_get(tl_conn *c, char **line, int *n, tl_error *err)
{
	int rc;

	*line = NULL;
	*n = -2;
	if (c->dead)
		return lost(c, err);
	while ((*n = PQgetCopyData(c->pg, line, 1)) == 0) {
		if ((rc = wait_io(c, 0, err)))
			return rc;
		if (!PQconsumeInput(c->pg))
			return lost(c, err);
	}
	return *n == -2 ? lost(c, err) : 0;
}

void tl_pg__rollback(tl_conn *c)
{
	PGresult *res = NULL;
	tl_error ignored = TL_ERROR_INIT;

	if (c->dead || conn_bad(c->pg) || PQtransactionStatus(c->pg) == PQTRANS_IDLE)
		return;
	if (tl_pg__run(c, "ROLLBACK", 0, NULL, &res, &ignored) == 0)
		PQclear(res);
}

void tl_pg__blame_lock(tl_conn *c, const tl_table *t, tl_error *err)
{
	/* The wait is over once lock_timeout fired, so pg_blocking_pids() has nothing to
	 * say: list the other sessions holding locks on the table (a row lock's holder
	 * holds RowExclusiveLock on it too). */
	static const char sql[] =
		"SELECT a.pid, coalesce(a.usename, '?'), coalesce(a.application_name, ''), "
		"coalesce(host(a.client_addr), 'local'), coalesce(a.state, '?'), "
		"coalesce(extract(epoch FROM now() - a.xact_start)::bigint::text, '?'), "
		"string_agg(DISTINCT l.mode, '+') "
		"FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
		"WHERE l.relation = $1::regclass AND l.granted AND l.pid <> pg_backend_pid() "
		"GROUP BY 1, 2, 3, 4, 5, 6, a.xact_start ORDER BY a.xact_start LIMIT 3";
	tl_buf name = TL_BUF_INIT, text = TL_BUF_INIT;
	tl_error ignored = TL_ERROR_INIT;
	PGresult *res = NULL;
	const char *param;
	size_t len;
	int i;

	if (!err || c->dead || conn_bad(c->pg) || c->in_reader)
		return;
	tl_buf_init(&name, 0);
	tl_buf_init(&text, 0);
	if (tl_pg__quote_table(&name, t->schema, t->name, &ignored))
		goto cleanup;
	param = tl_buf_cstr(&name);
	if (tl_pg__exec(c, sql, 1, &param, &res, "cannot list lock holders", &ignored) || PQntuples(res) == 0)
		goto cleanup;
	for (i = 0; i < PQntuples(res); i++)
		if (tl_buf_printf(&text, &ignored, "%spid %s (%s%s%s from %s, %s, transaction open %s s, %s)", i ? ", " : "",
				  PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), *PQgetvalue(res, i, 2) ? " / " : "",
				  PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
				  PQgetvalue(res, i, 5), PQgetvalue(res, i, 6)))
			goto cleanup;
	len = strlen(err->message);
	if (c->lock_wait > 0)
		snprintf(err->message + len, sizeof(err->message) - len,
			 " (lock wait bounded at %d s; sessions holding locks on the table: %s)", c->lock_wait,
			 tl_buf_cstr(&text));
	else
		snprintf(err->message + len, sizeof(err->message) - len,
			 " (lock wait bounded by the url's lock_timeout; sessions holding locks on the table: %s)",
			 tl_buf_cstr(&text));
cleanup:
	PQclear(res);
	tl_buf_release(&name);
	tl_buf_release(&text);
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
	if (tl_pg__run(c, sql, nparams, params, &res, err))
		return tl_error_prefix(err, "%s", what);
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
	if (PQtransactionStatus(c->pg) == PQTRANS_INERROR)
		tl_pg__rollback(c);
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
		if (tl_pg__run(c, tl_buf_cstr(&sql), 1, &pv, &res, NULL))
			break; /* the connection went: keep the error as it is */
		if (PQresultStatus(res) == PGRES_FATAL_ERROR && tl_pg__sqlstate(res)[0] == '2' &&
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

/* A session setting the server may refuse (an older version, a missing right): 1 when it took effect. */
static int try_session(tl_conn *c, const char *sql)
{
	return tl_pg__exec(c, sql, 0, NULL, NULL, "", NULL) == 0;
}

/* Keyword/value arrays for PQconnectdbParams; later entries override earlier ones. */
#define MAX_CONNINFO 48
struct conninfo {
	const char *keys[MAX_CONNINFO + 1];
	const char *vals[MAX_CONNINFO + 1];
	int n;
	char nums[8][16]; /* text of the numbers added */
	int nnum;
	tl_buf options;   /* libpq "options": the URL's options and options[name]=value as -c */
	int stmt_timeout; /* the URL sets statement_timeout */
	int lock_timeout; /* the URL sets lock_timeout */
};

static int ci_add(struct conninfo *ci, const char *k, const char *v, tl_error *err)
{
	if (ci->n >= MAX_CONNINFO)
		return tl_error_set(err, TL_ERR_CONFIG, "too many pg connection parameters");
	ci->keys[ci->n] = k;
	ci->vals[ci->n++] = v;
	ci->keys[ci->n] = NULL;
	ci->vals[ci->n] = NULL;
	return 0;
}

static int ci_add_num(struct conninfo *ci, const char *k, long v, tl_error *err)
{
	if (ci->nnum >= 8)
		return tl_error_set(err, TL_ERR_INTERNAL, "too many numeric pg connection parameters");
	snprintf(ci->nums[ci->nnum], sizeof(ci->nums[0]), "%ld", v);
	return ci_add(ci, k, ci->nums[ci->nnum++], err);
}

static int libpq_knows(const char *keyword)
{
	PQconninfoOption *opts = PQconndefaults(), *o;
	int found = 0;

	for (o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, keyword) == 0)
			found = 1;
	PQconninfoFree(opts);
	return found;
}

/*
 * A server setting tideline fixes for itself (the text form of the values it copies):
 * a URL may not change it. Returns the setting's canonical name or NULL.
 */
static const char *fixed_setting(const char *name, size_t len)
{
	static const char *const fixed[] = {"client_encoding", "TimeZone",     "DateStyle",
					    "IntervalStyle",   "extra_float_digits", "bytea_output"};
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strlen(fixed[i]) == len && strncasecmp(name, fixed[i], len) == 0)
			return fixed[i];
	return NULL;
}

/* Notes which settings a raw libpq options string (-c name=value, --name=value) sets. */
static int scan_options(struct conninfo *ci, const char *v, tl_error *err)
{
	const char *p = v;

	while ((p = strchr(p, '=')) != NULL) {
		const char *e = p, *b = p;
		while (b > v && (isalnum((unsigned char)b[-1]) || b[-1] == '_' || b[-1] == '.'))
			b--;
		if (fixed_setting(b, (size_t)(e - b)))
			return tl_error_set(err, TL_ERR_CONFIG, "pg url options '%s' cannot be honoured: tideline sets %s "
								"itself (it decides the text form of the values copied)",
					    v, fixed_setting(b, (size_t)(e - b)));
		ci->stmt_timeout |= (size_t)(e - b) == 17 && strncasecmp(b, "statement_timeout", 17) == 0;
		ci->lock_timeout |= (size_t)(e - b) == 12 && strncasecmp(b, "lock_timeout", 12) == 0;
		p++;
	}
	return 0;
}

/* Appends "-c name=value" to the libpq options, escaping spaces and backslashes. */
static int add_setting(struct conninfo *ci, const char *name, const char *value, tl_error *err)
{
	const char *parts[2] = {name, value};
	int rc, i;

	if (!*name || strchr(name, '=') || strchr(name, ' '))
		return tl_error_set(err, TL_ERR_CONFIG, "pg url parameter 'options[%s]' does not name a setting", name);
	if (fixed_setting(name, strlen(name)))
		return tl_error_set(err, TL_ERR_CONFIG, "pg url parameter 'options[%s]' cannot be honoured: tideline sets "
							"%s itself (it decides the text form of the values copied)",
				    name, fixed_setting(name, strlen(name)));
	ci->stmt_timeout |= strcasecmp(name, "statement_timeout") == 0;
	ci->lock_timeout |= strcasecmp(name, "lock_timeout") == 0;
	rc = tl_buf_puts(&ci->options, ci->options.len ? " -c " : "-c ", err);
	for (i = 0; !rc && i < 2; i++) {
		const char *c;
		if (i)
			rc = tl_buf_putc(&ci->options, '=', err);
		for (c = parts[i]; !rc && *c; c++) {
			if (*c == ' ' || *c == '\\')
				rc = tl_buf_putc(&ci->options, '\\', err);
			if (!rc)
				rc = tl_buf_putc(&ci->options, *c, err);
		}
	}
	return rc;
}

static const char *libpq_sslmode(int mode, const char *spelling)
{
	switch (mode) {
	case TL_SSL_DISABLE: return "disable";
	case TL_SSL_PREFER: return spelling && strcasecmp(spelling, "allow") == 0 ? "allow" : "prefer";
	case TL_SSL_REQUIRE: return "require";
	case TL_SSL_VERIFY_CA: return "verify-ca";
	case TL_SSL_VERIFY_FULL: return "verify-full";
	default: return NULL;
	}
}

/*
 * The URL's query, as sqlx (ape-dts' client) reads it: sslmode / ssl-mode, sslrootcert /
 * ssl-root-cert / ssl-ca, sslcert / ssl-cert, sslkey / ssl-key, options, options[name]
 * (a server setting), statement-cache-capacity (no effect here), and libpq's own keywords
 * (host, port, dbname, user, application_name, target_session_attrs, ...). Settings
 * tideline fixes itself and names neither knows are errors.
 */
static int url_params(struct conninfo *ci, const tl_url_param *kv, size_t n, const char **sslrootcert,
		      tl_error *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < n; i++) {
		const char *k = kv[i].key, *v = kv[i].value;
		size_t kl = strlen(k);

		if (strcmp(k, "sslmode") == 0 || strcmp(k, "ssl-mode") == 0) {
			int m = tl_ssl_mode_parse(v);
			if (m <= TL_SSL_DEFAULT)
				rc = tl_error_set(err, TL_ERR_CONFIG, "pg url parameter '%s=%s' is not a tls mode (disable, allow, "
								      "prefer, require, verify-ca, verify-full)", k, v);
			else
				rc = ci_add(ci, "sslmode", libpq_sslmode(m, v), err);
		} else if (strcmp(k, "sslrootcert") == 0 || strcmp(k, "ssl-root-cert") == 0 || strcmp(k, "ssl-ca") == 0) {
			*sslrootcert = v;
		} else if (strcmp(k, "sslcert") == 0 || strcmp(k, "ssl-cert") == 0) {
			rc = ci_add(ci, "sslcert", v, err);
		} else if (strcmp(k, "sslkey") == 0 || strcmp(k, "ssl-key") == 0) {
			rc = ci_add(ci, "sslkey", v, err);
		} else if (strcmp(k, "statement-cache-capacity") == 0) {
			/* sqlx's client-side statement cache size: nothing to do with what is copied */
		} else if (strcmp(k, "options") == 0) {
			rc = scan_options(ci, v, err);
			if (!rc)
				rc = tl_buf_printf(&ci->options, err, "%s%s", ci->options.len ? " " : "", v);
		} else if (kl > 9 && strncmp(k, "options[", 8) == 0 && k[kl - 1] == ']') {
			char name[128];
			snprintf(name, sizeof(name), "%.*s", (int)(kl - 9), k + 8);
			rc = add_setting(ci, name, v, err);
		} else if (strcmp(k, "client_encoding") == 0) {
			if (strcasecmp(v, "UTF8") != 0 && strcasecmp(v, "UTF-8") != 0)
				rc = tl_error_set(err, TL_ERR_CONFIG, "pg url parameter 'client_encoding=%s' cannot be honoured: "
								      "tideline reads and writes UTF8", v);
		} else if (libpq_knows(k)) {
			rc = ci_add(ci, k, v, err);
		} else {
			rc = tl_error_set(err, TL_ERR_CONFIG, "pg url parameter '%s' is not supported (accepted: sslmode, "
							      "sslrootcert, sslcert, sslkey, options, options[setting], "
							      "statement-cache-capacity and libpq's connection keywords)", k);
		}
	}
	return rc;
}

int tl_pg__connect(const tl_endpoint *ep, tl_conn **out, tl_error *err)
{
	tl_conn *c = NULL;
	tl_url u;
	tl_url_param *kv = NULL;
	struct conninfo ci;
	const char *sslrootcert = NULL;
	char *base = NULL;
	char where[300];
	char port[16];
	char lock_sql[64];
	int rc = 0, mode, io, idle, lock_wait, dead;
	size_t nkv = 0, off;
	const char *pass = NULL;
	PGresult *res = NULL;

	*out = NULL;
	memset(&u, 0, sizeof(u));
	memset(&ci, 0, sizeof(ci));
	tl_buf_init(&ci.options, 0);
	rc = tl_url_parse(ep->url, &u, err);
	if (rc)
		return rc;
	if (u.port)
		snprintf(port, sizeof(port), "%d", u.port);
	else
		snprintf(port, sizeof(port), "5432");
	snprintf(where, sizeof(where), strchr(u.host, ':') ? "[%s]:%s" : "%s:%s", u.host, port);
	pass = (ep->password && *ep->password) ? ep->password : u.password;
	mode = tl_ssl_mode_parse(ep->ssl_mode);
	if (mode < 0 || mode == TL_SSL_PREFER) {
		rc = tl_error_set(err, TL_ERR_CONFIG, "unknown ssl_mode '%s' (expected disable, require, verify_ca or "
						      "verify_full)", ep->ssl_mode);
		goto cleanup;
	}
	io = ep->io_timeout_secs > 0 ? ep->io_timeout_secs : TL_IO_TIMEOUT_DEFAULT;
	dead = ep->dead_peer_secs > 0 ? ep->dead_peer_secs : io;
	idle = io < 30 ? io : 30;
	if (idle > dead)
		idle = dead;
	lock_wait = ep->lock_wait_secs > 0 ? ep->lock_wait_secs : TL_LOCK_WAIT_DEFAULT;

	c = calloc(1, sizeof(*c));
	if (c)
		c->watch_fd = -1;
	base = tl_strndup(ep->url, strcspn(ep->url, "?")); /* libpq would refuse sqlx's query forms */
	if (!c || !base || !(c->where = tl_strdup(where))) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory connecting to pg");
		goto cleanup;
	}
	c->io_timeout_ms = io * 1000;
	if ((rc = tl_url_params(u.query, &kv, &nkv, err)))
		goto cleanup;
	/* Later entries override earlier ones (and what the URL expanded from dbname says). */
	if ((rc = ci_add_num(&ci, "connect_timeout", ep->connect_timeout_secs > 0 ? ep->connect_timeout_secs
										  : TL_CONNECT_TIMEOUT_DEFAULT, err)) ||
	    (rc = ci_add(&ci, "keepalives", "1", err)) || (rc = ci_add_num(&ci, "keepalives_idle", idle, err)) ||
	    (rc = ci_add_num(&ci, "keepalives_interval", idle < 10 ? idle : 10, err)) ||
	    (rc = ci_add_num(&ci, "keepalives_count", 3, err)) ||
	    (rc = ci_add_num(&ci, "tcp_user_timeout", (long)dead * 1000, err)) ||
	    (rc = ci_add(&ci, "dbname", base, err)) ||
	    (rc = ci_add(&ci, "application_name", (ep->app_name && *ep->app_name) ? ep->app_name : "tideline", err)) ||
	    (rc = url_params(&ci, kv, nkv, &sslrootcert, err)))
		goto cleanup;
	if (ci.options.len && (rc = ci_add(&ci, "options", tl_buf_cstr(&ci.options), err)))
		goto cleanup;
	if (ep->username && *ep->username && (rc = ci_add(&ci, "user", ep->username, err)))
		goto cleanup;
	if (ep->password && *ep->password && (rc = ci_add(&ci, "password", ep->password, err)))
		goto cleanup;
	if (mode != TL_SSL_DEFAULT && (rc = ci_add(&ci, "sslmode", libpq_sslmode(mode, NULL), err)))
		goto cleanup;
	if (ep->ssl_ca_path && *ep->ssl_ca_path)
		sslrootcert = ep->ssl_ca_path;
	if (sslrootcert && *sslrootcert && mode != TL_SSL_DISABLE) {
		if (access(sslrootcert, R_OK) != 0) {
			rc = tl_error_set(err, TL_ERR_CONFIG, "ssl_ca_path '%s' cannot be read: %s", sslrootcert,
					  strerror(errno));
			goto cleanup;
		}
		if ((rc = ci_add(&ci, "sslrootcert", sslrootcert, err)))
			goto cleanup;
	}
	if (ep->connect_timeout_secs > 0 &&
	    (rc = ci_add_num(&ci, "connect_timeout", ep->connect_timeout_secs, err)))
		goto cleanup;
	c->stmt_timeout = ci.stmt_timeout;
	c->pg = PQconnectdbParams(ci.keys, ci.vals, 1);
	if (!c->pg) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "cannot connect to pg at %s: out of memory", where);
		goto cleanup;
	}
	if (PQstatus(c->pg) != CONNECTION_OK) {
		rc = tl_pg__conn_error(err, c->pg, "cannot connect to pg at %s", where);
		if (err) /* no SQLSTATE for a failed attempt: classify libpq's text */
			err->flags = tl_pg__classify_connect(PQerrorMessage(c->pg));
		/* libpq does not echo passwords; scrub anyway, but keep "host:port" intact */
		off = strlen("cannot connect to pg at ") + strlen(where);
		if (err && strlen(err->message) > off)
			scrub(err->message + off, sizeof(err->message) - off, pass);
		goto cleanup;
	}
	if (PQsetnonblocking(c->pg, 1) != 0) {
		rc = tl_pg__conn_error(err, c->pg, "cannot configure the pg connection to %s", where);
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
	/* the URL's own lock_timeout stands unless the task sets one */
	if (!rc && (ep->lock_wait_secs > 0 || !ci.lock_timeout)) {
		c->lock_wait = lock_wait;
		snprintf(lock_sql, sizeof(lock_sql), "SET lock_timeout = '%ds'", lock_wait);
		rc = set_session(c, lock_sql, err);
	}
	/* ape-dts' disable_foreign_key_checks: a role that may not set it writes with checks
	 * (and triggers) on, as ape-dts goes on; write_checks tells the engine */
	if (!rc && ep->foreign_key_checks == TL_FK_OFF)
		c->replica = try_session(c, "SET session_replication_role = replica");
	/* a statement of a client that died (a killed run building an index) is cancelled
	 * within a second instead of running on, holding its locks, and committing later;
	 * PostgreSQL 14 and later, on Linux (older servers refuse the name: no harm) */
	if (!rc)
		(void)try_session(c, "SET client_connection_check_interval = 1000");
	if (!rc)
		rc = tl_pg__exec(c, "SHOW synchronous_commit", 0, NULL, &res, "cannot configure the pg session", err);
	if (rc)
		goto cleanup;
	c->async_commit = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "off") == 0;
	/* our own descriptor of the socket: its number cannot be reused while we hold it */
	c->watch_fd = dup(PQsocket(c->pg));
	*out = c;
	c = NULL;
cleanup:
	PQclear(res);
	tl_pg__disconnect(c);
	tl_url_params_free(kv, nkv);
	tl_buf_release(&ci.options);
	free(base);
	tl_url_clear(&u);
	return rc;
}

int tl_pg__write_checks(tl_conn *c, int *fk_checks, int *triggers, tl_error *err)
{
	(void)err;
	*fk_checks = *triggers = !c->replica;
	return 0;
}

void tl_pg__interrupt(tl_conn *c)
{
	/* the socket itself, through our own descriptor of it: the waiting poll wakes up, and
	 * libpq's next read sees the connection closed */
	if (c && c->watch_fd >= 0)
		(void)shutdown(c->watch_fd, SHUT_RDWR);
}

void tl_pg__disconnect(tl_conn *c)
{
	size_t i;

	if (!c)
		return;
	if (c->pg)
		PQfinish(c->pg);
	if (c->watch_fd >= 0)
		close(c->watch_fd);
	for (i = 0; i < TL_PG_STMT_CACHE; i++)
		free(c->stmts[i].shape);
	free(c->claims); /* the session's advisory locks ended with PQfinish */
	free(c->where);
	free(c);
}
