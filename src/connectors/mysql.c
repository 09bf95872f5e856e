/*
 * mysql.c - the MySQL/MariaDB connector's entry point: the tl_driver_mysql ops table,
 * connecting (session settings a dump tool needs), and the small SQL helpers the other
 * mysql_*.c files share (error mapping, identifier and string quoting, running
 * statements). It must not build data queries (mysql_read.c, mysql_write.c do) and
 * must never put a password into an error message or log.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include "connectors/mysql_schema_int.h"

/* mysql_library_init is not thread-safe; the migrator may connect from several threads. */
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static void lib_init(void) { (void)mysql_library_init(0, NULL, NULL); }

unsigned tl_mysql__classify(unsigned errnum, const char *sqlstate, int is_mariadb)
{
	const unsigned lost = TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST;

	switch (errnum) {
	case 2002: /* CR_CONNECTION_ERROR: cannot connect through the socket */
	case 2003: /* CR_CONN_HOST_ERROR: cannot connect over TCP (refused, timed out) */
	case 2006: /* CR_SERVER_GONE_ERROR: lost between statements */
	case 2012: /* CR_SERVER_HANDSHAKE_ERR: a server starting up or going down */
	case 2013: /* CR_SERVER_LOST: lost during a statement, also the read/write timeout */
	case 2055: /* CR_SERVER_LOST_EXTENDED */
	case 5013: /* CR_ERR_NET_READ */
	case 5014: /* CR_ERR_NET_WRITE */
	case 1053: /* ER_SERVER_SHUTDOWN */
	case 1152: /* ER_ABORTING_CONNECTION */
	case 1158: /* ER_NET_READ_ERROR */
	case 1159: /* ER_NET_READ_INTERRUPTED */
	case 1160: /* ER_NET_ERROR_ON_WRITE */
	case 1161: /* ER_NET_WRITE_INTERRUPTED */
	case 1184: /* ER_NEW_ABORTING_CONNECTION */
	case 1927: /* ER_CONNECTION_KILLED (MariaDB: KILL, shutdown) */
		return lost;
	case 4031: /* MySQL 8 ER_CLIENT_INTERACTION_TIMEOUT; MariaDB: a missing trigger */
		return is_mariadb ? 0 : lost;
	case 1040: /* ER_CON_COUNT_ERROR: too many connections */
	case 1203: /* ER_TOO_MANY_USER_CONNECTIONS */
	case 1205: /* ER_LOCK_WAIT_TIMEOUT (row locks and metadata locks) */
	case 1213: /* ER_LOCK_DEADLOCK */
	case 1317: /* ER_QUERY_INTERRUPTED: KILL QUERY by someone else, shutdown */
	case 1614: /* ER_XA_RBDEADLOCK */
	case 1637: /* ER_TOO_MANY_CONCURRENT_TRXS */
	case 1689: /* ER_LOCK_ABORTED */
	case 1290: /* ER_OPTION_PREVENTS_STATEMENT: --read-only, e.g. a demoted primary */
	case 1836: /* ER_READ_ONLY_MODE */
		return TL_ERRF_TRANSIENT;
	default:
		break;
	}
	if (errnum >= 2000 && errnum < 3000)
		return 0; /* other client errors carry the generic HY000 */
	if (sqlstate && sqlstate[0] == '0' && sqlstate[1] == '8')
		return lost; /* connection exception */
	if (sqlstate && strcmp(sqlstate, "40001") == 0)
		return TL_ERRF_TRANSIENT; /* serialization failure (deadlock, Galera conflict) */
	return 0;
}

void tl_mysql__set_native(tl_error *err, unsigned errnum, const char *sqlstate, int is_mariadb)
{
	if (!err)
		return;
	err->native = (int)errnum;
	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", sqlstate ? sqlstate : "");
	err->flags |= tl_mysql__classify(errnum, sqlstate, is_mariadb);
}

int tl_mysql__fail(tl_conn *c, tl_error *err, const char *fmt, ...)
{
	char head[512];
	va_list ap;
	unsigned no = (c && c->my) ? mysql_errno(c->my) : 0;

	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	if (!c || !c->my) {
		tl_error_set(err, TL_ERR_DB, "%s: connection is closed", head);
		tl_error_add_flags(err, TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST);
		return TL_ERR_DB;
	}
	tl_error_set(err, TL_ERR_DB, "%s: %s", head, mysql_error(c->my));
	tl_mysql__set_native(err, no, mysql_sqlstate(c->my), c->is_mariadb);
	return TL_ERR_DB;
}

int tl_mysql__stmt_fail(tl_conn *c, MYSQL_STMT *st, tl_error *err, const char *fmt, ...)
{
	char head[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	/* Some failures (a lost connection, a fetch error) are reported on the connection
	 * handle, not the statement's: never report an empty server message. */
	if (st && mysql_stmt_errno(st)) {
		tl_error_set(err, TL_ERR_DB, "%s: %s", head, mysql_stmt_error(st));
		tl_mysql__set_native(err, mysql_stmt_errno(st), mysql_stmt_sqlstate(st), c->is_mariadb);
		return TL_ERR_DB;
	}
	if (c->my && mysql_errno(c->my))
		return tl_mysql__fail(c, err, "%s", head);
	return tl_error_set(err, TL_ERR_DB, "%s without an error message from the server", head);
}

struct lock_holders {
	char text[600];
	size_t len;
	int n;
};

static int add_holder(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	struct lock_holders *h = ctx;
	int w;

	(void)lens;
	(void)err;
	if (nf < 7 || h->len >= sizeof(h->text))
		return 0;
	w = snprintf(h->text + h->len, sizeof(h->text) - h->len,
		     "%ssession %s (%s@%s, transaction open %s s, %s rows locked%s%.80s)", h->n ? ", " : "", v[0] ? v[0] : "?", v[1] ? v[1] : "?", v[2] ? v[2] : "?", v[3] ? v[3] : "?",
		     v[4] ? v[4] : "?", v[6] && *v[6] ? ", running: " : "", v[6] ? v[6] : "");
	if (w > 0)
		h->len += (size_t)w;
	h->n++;
	return 0;
}

void tl_mysql__blame_lock(tl_conn *c, tl_error *err)
{
	/* After the timeout the wait is over, so the lock-wait tables show nothing: list the
	 * oldest other open transactions instead (the holder is among them unless it was a
	 * statement holding a metadata lock without a transaction). Needs PROCESS. */
	static const char *const sql =
		"SELECT t.trx_mysql_thread_id, p.USER, p.HOST, TIMESTAMPDIFF(SECOND, t.trx_started, NOW()), "
		"t.trx_rows_locked, t.trx_state, REPLACE(REPLACE(LEFT(p.INFO, 80), '\\n', ' '), '\\r', ' ') "
		"FROM information_schema.INNODB_TRX t LEFT JOIN information_schema.PROCESSLIST p "
		"ON p.ID = t.trx_mysql_thread_id WHERE t.trx_mysql_thread_id <> CONNECTION_ID() "
		"ORDER BY t.trx_started LIMIT 3";
	struct lock_holders h;
	tl_error qerr = TL_ERROR_INIT;
	size_t len;

	if (!err || !c || !c->my || c->busy)
		return;
	memset(&h, 0, sizeof(h));
	if (tl_mysql__query_text(c, sql, add_holder, &h, &qerr) != 0 || h.n == 0)
		return;
	len = strlen(err->message);
	snprintf(err->message + len, sizeof(err->message) - len,
		 " (lock wait bounded at %u s; open transactions that may hold the lock: %s)", c->p.lock_wait, h.text);
}

int tl_mysql__ready(tl_conn *c, tl_error *err)
{
	if (!c || !c->my)
		return tl_error_set(err, TL_ERR_DB, "mysql connection is closed");
	if (c->busy)
		return tl_error_set(err, TL_ERR_INTERNAL, "mysql connection to %s:%d is busy with an open reader",
				    c->p.host, c->p.port);
	return 0;
}

int tl_mysql__qident(tl_buf *b, const char *name, tl_error *err)
{
	const char *s;
	int rc = tl_buf_putc(b, '`', err);

	for (s = name; !rc && *s; s++) {
		rc = tl_buf_putc(b, *s, err);
		if (!rc && *s == '`')
			rc = tl_buf_putc(b, '`', err);
	}
	if (!rc)
		rc = tl_buf_putc(b, '`', err);
	return rc;
}

int tl_mysql__qtable(tl_buf *b, const char *schema, const char *name, tl_error *err)
{
	int rc = tl_mysql__qident(b, schema, err);

	if (!rc)
		rc = tl_buf_putc(b, '.', err);
	if (!rc)
		rc = tl_mysql__qident(b, name, err);
	return rc;
}

int tl_mysql__qstring(tl_conn *c, tl_buf *b, const char *s, size_t n, tl_error *err)
{
	unsigned long w;
	int rc;

	rc = tl_buf_reserve(b, 2 * n + 3, err);
	if (rc)
		return rc;
	b->data[b->len++] = '\'';
	w = mysql_real_escape_string(c->my, b->data + b->len, s, (unsigned long)n);
	if (w == (unsigned long)-1)
		return tl_error_set(err, TL_ERR_INTERNAL, "cannot escape a string for mysql");
	b->len += w;
	b->data[b->len++] = '\'';
	b->data[b->len] = '\0';
	return 0;
}

/* Runs one statement and discards any result it returns. */
int tl_mysql__exec(tl_conn *c, const char *sql, tl_error *err)
{
	MYSQL_RES *res;

	if (mysql_real_query(c->my, sql, (unsigned long)strlen(sql)) != 0)
		return tl_mysql__fail(c, err, "mysql statement failed");
	res = mysql_store_result(c->my);
	if (res)
		mysql_free_result(res);
	else if (mysql_field_count(c->my) != 0)
		return tl_mysql__fail(c, err, "mysql statement failed");
	return 0;
}

int tl_mysql__query_text(tl_conn *c, const char *sql, tl_mysql_row_fn fn, void *ctx, tl_error *err)
{
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	unsigned long *lens;
	unsigned nf;
	int rc = 0;

	if (mysql_real_query(c->my, sql, (unsigned long)strlen(sql)) != 0)
		return tl_mysql__fail(c, err, "mysql query failed");
	res = mysql_store_result(c->my);
	if (!res) {
		if (mysql_field_count(c->my) != 0)
			return tl_mysql__fail(c, err, "mysql query failed");
		return 0;
	}
	nf = mysql_num_fields(res);
	while ((row = mysql_fetch_row(res)) != NULL) {
		lens = mysql_fetch_lengths(res);
		rc = fn(ctx, nf, row, lens, err);
		if (rc)
			goto cleanup;
	}
	if (mysql_errno(c->my))
		rc = tl_mysql__fail(c, err, "mysql query failed");
cleanup:
	mysql_free_result(res);
	return rc;
}

#define QCOL_INIT 256

int tl_mysql__query(tl_conn *c, const char *sql, unsigned nparams, const char *const *params,
		    tl_mysql_row_fn fn, void *ctx, tl_error *err)
{
	MYSQL_STMT *st = NULL;
	MYSQL_RES *meta = NULL;
	MYSQL_BIND *pb = NULL, *rb = NULL;
	unsigned long *plens = NULL, *rlens = NULL;
	my_bool *rnull = NULL, *rerr = NULL;
	char **bufs = NULL, **vals = NULL;
	unsigned i, nf = 0;
	int rc = 0, f;

	st = mysql_stmt_init(c->my);
	if (!st)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory preparing a mysql statement");
	if (mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql)) != 0)
		goto stmt_fail;
	if (mysql_stmt_param_count(st) != nparams) {
		rc = tl_error_set(err, TL_ERR_INTERNAL, "mysql statement expects %lu parameters, got %u",
				  mysql_stmt_param_count(st), nparams);
		goto cleanup;
	}
	if (nparams) {
		pb = calloc(nparams, sizeof(*pb));
		plens = calloc(nparams, sizeof(*plens));
		if (!pb || !plens)
			goto nomem;
		for (i = 0; i < nparams; i++) {
			if (!params[i]) {
				pb[i].buffer_type = MYSQL_TYPE_NULL;
				continue;
			}
			plens[i] = (unsigned long)strlen(params[i]);
			pb[i].buffer_type = MYSQL_TYPE_STRING;
			pb[i].buffer = (void *)params[i];
			pb[i].buffer_length = plens[i];
			pb[i].length = &plens[i];
		}
		if (mysql_stmt_bind_param(st, pb) != 0)
			goto stmt_fail;
	}
	if (mysql_stmt_execute(st) != 0)
		goto stmt_fail;
	meta = mysql_stmt_result_metadata(st);
	if (!meta)
		goto cleanup; /* no result set (DML) */
	nf = mysql_num_fields(meta);
	rb = calloc(nf, sizeof(*rb));
	rlens = calloc(nf, sizeof(*rlens));
	rnull = calloc(nf, sizeof(*rnull));
	rerr = calloc(nf, sizeof(*rerr));
	bufs = calloc(nf, sizeof(*bufs));
	vals = calloc(nf, sizeof(*vals));
	if (!rb || !rlens || !rnull || !rerr || !bufs || !vals)
		goto nomem;
	for (i = 0; i < nf; i++) {
		bufs[i] = malloc(QCOL_INIT + 1);
		if (!bufs[i])
			goto nomem;
		rb[i].buffer_type = MYSQL_TYPE_STRING;
		rb[i].buffer = bufs[i];
		rb[i].buffer_length = QCOL_INIT;
		rb[i].length = &rlens[i];
		rb[i].is_null = &rnull[i];
		rb[i].error = &rerr[i];
	}
	if (mysql_stmt_bind_result(st, rb) != 0)
		goto stmt_fail;
	for (;;) {
		f = mysql_stmt_fetch(st);
		if (f == MYSQL_NO_DATA)
			break;
		if (f == 1)
			goto stmt_fail;
		if (f == MYSQL_DATA_TRUNCATED) {
			int rebind = 0;
			for (i = 0; i < nf; i++) {
				char *nb;
				if (rnull[i] || rlens[i] <= rb[i].buffer_length)
					continue;
				nb = realloc(bufs[i], rlens[i] + 1);
				if (!nb)
					goto nomem;
				bufs[i] = nb;
				rb[i].buffer = nb;
				rb[i].buffer_length = rlens[i];
				if (mysql_stmt_fetch_column(st, &rb[i], i, 0) != 0)
					goto stmt_fail;
				rebind = 1;
			}
			if (rebind && mysql_stmt_bind_result(st, rb) != 0)
				goto stmt_fail;
		}
		for (i = 0; i < nf; i++) {
			if (rnull[i]) {
				vals[i] = NULL;
				continue;
			}
			bufs[i][rlens[i]] = '\0';
			vals[i] = bufs[i];
		}
		rc = fn(ctx, nf, vals, rlens, err);
		if (rc)
			goto cleanup;
	}
	goto cleanup;
stmt_fail:
	rc = tl_mysql__stmt_fail(c, st, err, "mysql statement failed");
	goto cleanup;
nomem:
	rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory running a mysql statement");
cleanup:
	if (meta)
		mysql_free_result(meta);
	if (st)
		mysql_stmt_close(st);
	if (bufs)
		for (i = 0; i < nf; i++)
			free(bufs[i]);
	free(bufs);
	free(vals);
	free(rb);
	free(rlens);
	free(rnull);
	free(rerr);
	free(pb);
	free(plens);
	return rc;
}

static void params_clear(struct tl_mysql_params *p)
{
	free(p->host);
	free(p->user);
	if (p->password) {
		memset(p->password, 0, strlen(p->password));
		free(p->password);
	}
	free(p->db);
	free(p->app);
	free(p->socket);
	free(p->ssl_ca);
	free(p->ssl_cert);
	free(p->ssl_key);
	free(p->collation);
	memset(p, 0, sizeof(*p));
}

/*
 * TCP keepalive and TCP_USER_TIMEOUT on the client socket, so that a peer behind a path
 * that silently drops packets is noticed by the kernel (libmariadb has no option for
 * it). A frozen server still answers keepalives from its kernel: that case is caught by
 * the read/write timeouts.
 */
static int set_keepalive(MYSQL *my, const struct tl_mysql_params *p, tl_error *err)
{
	my_socket fd = mysql_get_socket(my);
	int on = 1, idle = p->io_timeout < 30 ? (int)p->io_timeout : 30, intvl, cnt = 3;
	unsigned int user_ms = p->dead_peer * 1000u;

	if (idle > (int)p->dead_peer)
		idle = (int)p->dead_peer;
	if (idle < 1)
		idle = 1;
	intvl = idle < 10 ? idle : 10;
	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms, sizeof(user_ms)) != 0)
		return tl_error_set(err, TL_ERR_DB, "cannot enable tcp keepalive on the connection to mysql at %s:%d: %s",
				    p->host, p->port, strerror(errno));
	return 0;
}

/* The client's TLS options for p->ssl_mode (libmariadb 3.3 semantics, see the comments). */
static int set_tls(MYSQL *my, const struct tl_mysql_params *p, tl_error *err)
{
	my_bool on = 1;
	const char *ca = p->ssl_ca;
	int rc = 0;

	if (p->ssl_mode == TL_SSL_DEFAULT || p->ssl_mode == TL_SSL_DISABLE)
		return 0; /* libmariadb 3.3 uses no TLS unless asked */
	/* use_ssl: TLS when the server offers it; ssl_mode >= require is checked after the
	 * handshake, as this libmariadb falls back to plain text without verification */
	rc |= mysql_optionsv(my, MYSQL_OPT_SSL_ENFORCE, &on);
	/* a CA file or directory makes the client verify the chain (SSL_VERIFY_PEER) */
	if (!ca && p->ssl_mode >= TL_SSL_VERIFY_CA)
		rc |= mysql_optionsv(my, MYSQL_OPT_SSL_CAPATH, "/etc/ssl/certs");
	if (ca)
		rc |= mysql_optionsv(my, MYSQL_OPT_SSL_CA, ca);
	if (p->ssl_cert)
		rc |= mysql_optionsv(my, MYSQL_OPT_SSL_CERT, p->ssl_cert);
	if (p->ssl_key)
		rc |= mysql_optionsv(my, MYSQL_OPT_SSL_KEY, p->ssl_key);
	/* the host name (or IP) must match the certificate */
	if (p->ssl_mode == TL_SSL_VERIFY_FULL)
		rc |= mysql_optionsv(my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
	if (rc)
		return tl_error_set(err, TL_ERR_INTERNAL, "cannot set the mysql client's tls options");
	return 0;
}

/* Opens one client handle with the session settings every tideline connection uses. */
static int open_handle(const struct tl_mysql_params *p, MYSQL **out, unsigned long *max_packet, int *is_mariadb,
		       tl_error *err)
{
	/*
	 * STRICT_ALL_TABLES: a value the column cannot hold is an error, not a silent
	 * truncation (STRICT_TRANS_TABLES would still truncate rows after the first of a
	 * multi-row INSERT into a non-transactional table). Zero dates and invalid dates the
	 * source holds must still copy: no NO_ZERO_DATE / NO_ZERO_IN_DATE, and
	 * ALLOW_INVALID_DATES. NO_AUTO_VALUE_ON_ZERO keeps explicit 0 ids.
	 */
	static const char *const session_fmt =
		"SET SESSION time_zone='+00:00', SESSION net_write_timeout=3600, "
		"SESSION net_read_timeout=3600, "
		"SESSION sql_mode='STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES', "
		"SESSION foreign_key_checks=%d, SESSION innodb_lock_wait_timeout=%u, SESSION lock_wait_timeout=%u";
	char session_sql[512];
	MYSQL *my;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	unsigned int proto = p->socket ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
	unsigned long packet = 1024UL * 1024 * 1024;
	const char *info;
	int rc = 0;

	*out = NULL;
	pthread_once(&lib_once, lib_init);
	my = mysql_init(NULL);
	if (!my)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory creating a mysql client");
	if (mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4") ||
	    mysql_options(my, MYSQL_OPT_PROTOCOL, &proto) ||
	    mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &p->connect_timeout) ||
	    mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &p->io_timeout) ||
	    mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &p->io_timeout) ||
	    mysql_options(my, MYSQL_OPT_MAX_ALLOWED_PACKET, &packet)) {
		rc = tl_error_set(err, TL_ERR_INTERNAL, "cannot set mysql client options");
		goto cleanup;
	}
	if ((rc = set_tls(my, p, err)))
		goto cleanup;
	if (p->app && *p->app)
		(void)mysql_optionsv(my, MYSQL_OPT_CONNECT_ATTR_ADD, "program_name", p->app);
	/* libmariadb takes the unix socket only for the host "localhost" */
	if (!mysql_real_connect(my, p->socket ? "localhost" : p->host, p->user, p->password, p->db, (unsigned)p->port,
				p->socket, 0)) {
		rc = tl_error_set(err, TL_ERR_DB, "cannot connect to mysql at %s:%d: %s", p->host, p->port,
				  mysql_error(my));
		tl_mysql__set_native(err, mysql_errno(my), mysql_sqlstate(my), 0);
		goto cleanup;
	}
	if (!p->socket && (rc = set_keepalive(my, p, err)))
		goto cleanup;
	if (p->ssl_mode >= TL_SSL_REQUIRE && !mysql_get_ssl_cipher(my)) {
		rc = tl_error_set(err, TL_ERR_DB,
				  "cannot connect to mysql at %s:%d: ssl_mode requires tls, which the server does not offer",
				  p->host, p->port);
		goto cleanup;
	}
	info = mysql_get_server_info(my);
	if (is_mariadb)
		*is_mariadb = info && strstr(info, "MariaDB") != NULL;
	snprintf(session_sql, sizeof(session_sql), session_fmt, p->fk_checks, p->lock_wait, p->lock_wait);
	if (mysql_real_query(my, session_sql, (unsigned long)strlen(session_sql)) != 0)
		goto session_fail;
	if (p->collation) {
		char q[300], esc[2 * 64 + 1];
		mysql_real_escape_string(my, esc, p->collation, (unsigned long)strlen(p->collation));
		snprintf(q, sizeof(q), "SET SESSION collation_connection='%s'", esc);
		if (mysql_real_query(my, q, (unsigned long)strlen(q)) != 0)
			goto session_fail;
	}
	if (max_packet) {
		static const char *const q = "SELECT @@max_allowed_packet";
		*max_packet = 16UL * 1024 * 1024;
		if (mysql_real_query(my, q, (unsigned long)strlen(q)) != 0)
			goto session_fail;
		res = mysql_store_result(my);
		if (!res)
			goto session_fail;
		row = mysql_fetch_row(res);
		if (row && row[0]) {
			char *end = NULL;
			unsigned long long v = strtoull(row[0], &end, 10);
			if (end && *end == '\0' && v > 0)
				*max_packet = (unsigned long)v;
		}
	}
	*out = my;
	my = NULL;
	goto cleanup;
session_fail:
	rc = tl_error_set(err, TL_ERR_DB, "cannot set up the mysql session at %s:%d: %s", p->host, p->port,
			  mysql_error(my));
	tl_mysql__set_native(err, mysql_errno(my), mysql_sqlstate(my), is_mariadb ? *is_mariadb : 0);
cleanup:
	if (res)
		mysql_free_result(res);
	if (my)
		mysql_close(my);
	return rc;
}

static char *dup_nonempty(const char *a, const char *b)
{
	if (a && *a)
		return tl_strdup(a);
	return tl_strdup(b ? b : "");
}

/* Replaces *slot by a copy of v (NULL or "" clears it). */
static int set_str(char **slot, const char *v, tl_error *err)
{
	free(*slot);
	*slot = NULL;
	if (v && *v && !(*slot = tl_strdup(v)))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading mysql connection options");
	return 0;
}

static int url_param_error(const char *key, const char *value, const char *why, tl_error *err)
{
	return tl_error_set(err, TL_ERR_CONFIG, "mysql url parameter '%s=%s' %s", key, value, why);
}

/*
 * The URL query parameters sqlx (ape-dts' client) reads for MySQL: ssl-mode / sslmode,
 * ssl-ca / sslca, ssl-cert / sslcert, ssl-key / sslkey, socket, charset, collation,
 * timezone / time-zone, statement-cache-capacity. Those tideline cannot honour (another
 * charset or time zone would change the values copied) and unknown ones are errors.
 */
static int apply_url_params(const char *query, struct tl_mysql_params *p, tl_error *err)
{
	tl_url_param *kv = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = tl_url_params(query, &kv, &n, err)))
		return rc;
	for (i = 0; !rc && i < n; i++) {
		const char *k = kv[i].key, *v = kv[i].value;

		if (strcmp(k, "ssl-mode") == 0 || strcmp(k, "sslmode") == 0) {
			p->ssl_mode = tl_ssl_mode_parse(v);
			if (p->ssl_mode <= TL_SSL_DEFAULT)
				rc = url_param_error(k, v, "is not a tls mode (disabled, preferred, required, verify_ca, "
							   "verify_identity)", err);
		} else if (strcmp(k, "ssl-ca") == 0 || strcmp(k, "sslca") == 0) {
			rc = set_str(&p->ssl_ca, v, err);
		} else if (strcmp(k, "ssl-cert") == 0 || strcmp(k, "sslcert") == 0) {
			rc = set_str(&p->ssl_cert, v, err);
		} else if (strcmp(k, "ssl-key") == 0 || strcmp(k, "sslkey") == 0) {
			rc = set_str(&p->ssl_key, v, err);
		} else if (strcmp(k, "socket") == 0) {
			rc = set_str(&p->socket, v, err);
		} else if (strcmp(k, "charset") == 0) {
			if (strcasecmp(v, "utf8mb4") != 0)
				rc = url_param_error(k, v, "cannot be honoured: tideline reads and writes utf8mb4", err);
		} else if (strcmp(k, "collation") == 0) {
			if (strncasecmp(v, "utf8mb4_", 8) != 0 || strlen(v) > 64 || strspn(v,
			    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(v))
				rc = url_param_error(k, v, "cannot be honoured: only utf8mb4 collations are possible", err);
			else
				rc = set_str(&p->collation, v, err);
		} else if (strcmp(k, "timezone") == 0 || strcmp(k, "time-zone") == 0) {
			if (strcmp(v, "+00:00") != 0 && strcasecmp(v, "UTC") != 0)
				rc = url_param_error(k, v, "cannot be honoured: tideline copies TIMESTAMP values in UTC "
							   "(+00:00)", err);
		} else if (strcmp(k, "statement-cache-capacity") == 0) {
			/* sqlx's client-side statement cache size: nothing to do with what is copied */
		} else {
			rc = url_param_error(k, v, "is not supported (accepted: ssl-mode, ssl-ca, ssl-cert, ssl-key, "
						   "socket, charset, collation, timezone, statement-cache-capacity)", err);
		}
	}
	tl_url_params_free(kv, n);
	return rc;
}

/* What the task's ssl_mode / ssl_ca_path and time bounds say; they override the URL's. */
static int apply_endpoint(const tl_endpoint *ep, struct tl_mysql_params *p, tl_error *err)
{
	int mode = tl_ssl_mode_parse(ep->ssl_mode);

	if (mode < 0 || mode == TL_SSL_PREFER)
		return tl_error_set(err, TL_ERR_CONFIG, "unknown ssl_mode '%s' (expected disable, require, verify_ca or "
							"verify_full)", ep->ssl_mode);
	if (mode != TL_SSL_DEFAULT)
		p->ssl_mode = mode;
	if (ep->ssl_ca_path && *ep->ssl_ca_path && set_str(&p->ssl_ca, ep->ssl_ca_path, err))
		return TL_ERR_NOMEM;
	if (p->ssl_mode > TL_SSL_DISABLE && p->ssl_ca && access(p->ssl_ca, R_OK) != 0)
		return tl_error_set(err, TL_ERR_CONFIG, "ssl_ca_path '%s' cannot be read: %s", p->ssl_ca, strerror(errno));
	p->connect_timeout = ep->connect_timeout_secs > 0 ? (unsigned)ep->connect_timeout_secs : TL_CONNECT_TIMEOUT_DEFAULT;
	p->io_timeout = ep->io_timeout_secs > 0 ? (unsigned)ep->io_timeout_secs : TL_IO_TIMEOUT_DEFAULT;
	p->lock_wait = ep->lock_wait_secs > 0 ? (unsigned)ep->lock_wait_secs : TL_LOCK_WAIT_DEFAULT;
	/* foreign keys unchecked unless the task asks for checks ([sinker] disable_foreign_key_checks=false) */
	p->fk_checks = ep->foreign_key_checks == TL_FK_ON;
	p->dead_peer = ep->dead_peer_secs > 0 ? (unsigned)ep->dead_peer_secs : p->io_timeout;
	return 0;
}

static int my_connect(const tl_endpoint *ep, tl_conn **out, tl_error *err)
{
	tl_url u;
	tl_conn *c = NULL;
	int rc;

	*out = NULL;
	rc = tl_url_parse(ep->url, &u, err);
	if (rc)
		return rc;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto nomem;
	c->watch_fd = -1;
	c->p.host = tl_strdup(u.host);
	c->p.port = u.port ? u.port : 3306;
	c->p.user = dup_nonempty(ep->username, u.user);
	c->p.password = dup_nonempty(ep->password, u.password);
	c->p.db = (u.path && *u.path) ? tl_strdup(u.path) : NULL;
	c->p.app = tl_strdup(ep->app_name ? ep->app_name : "tideline");
	if (!c->p.host || !c->p.user || !c->p.password || !c->p.app || (u.path && *u.path && !c->p.db))
		goto nomem;
	if (!*c->p.password) {
		free(c->p.password);
		c->p.password = NULL;
	}
	rc = apply_url_params(u.query, &c->p, err);
	if (!rc)
		rc = apply_endpoint(ep, &c->p, err);
	if (!rc)
		rc = open_handle(&c->p, &c->my, &c->max_packet, &c->is_mariadb, err);
	if (rc)
		goto cleanup;
	/* our own descriptor of the socket: its number cannot be reused while we hold it */
	c->watch_fd = dup((int)mysql_get_socket(c->my));
	*out = c;
	c = NULL;
	goto cleanup;
nomem:
	rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory connecting to mysql");
cleanup:
	if (c) {
		params_clear(&c->p);
		free(c);
	}
	tl_url_clear(&u);
	return rc;
}

void tl_mysql__stmt_cache_clear(tl_conn *c)
{
	size_t i;

	for (i = 0; i < TL_MYSQL_STMT_CACHE; i++) {
		if (c->cache[i].stmt)
			mysql_stmt_close(c->cache[i].stmt);
		free(c->cache[i].key);
		memset(&c->cache[i], 0, sizeof(c->cache[i]));
	}
}

/* The socket itself, through our own descriptor of it: the blocked read returns at once. */
static void my_interrupt(tl_conn *c)
{
	if (c && c->watch_fd >= 0)
		(void)shutdown(c->watch_fd, SHUT_RDWR);
}

static void my_disconnect(tl_conn *c)
{
	size_t i;

	if (!c)
		return;
	if (c->my) {
		tl_mysql__stmt_cache_clear(c);
		mysql_close(c->my); /* ends the session: its claims (named locks) with it */
	}
	for (i = 0; i < c->nclaims; i++)
		free(c->claims[i]);
	free(c->claims);
	if (c->watch_fd >= 0)
		close(c->watch_fd);
	params_clear(&c->p);
	free(c);
}

void tl_mysql__kill_query(tl_conn *c)
{
	MYSQL *side = NULL;
	char sql[64];

	if (!c || !c->my)
		return;
	if (open_handle(&c->p, &side, NULL, NULL, NULL) != 0)
		return; /* the caller then drains the result instead */
	snprintf(sql, sizeof(sql), "KILL QUERY %lu", mysql_thread_id(c->my));
	(void)mysql_real_query(side, sql, (unsigned long)strlen(sql));
	mysql_close(side);
}

static int my_list_tables(tl_conn *c, tl_name_list *out, tl_error *err)
{
	return tl_mysql__list_tables(c, out, err);
}

/* foreign_key_checks as the endpoint asked (0 unless ON); MySQL has no session switch for triggers */
static int my_write_checks(tl_conn *c, int *fk_checks, int *triggers, tl_error *err)
{
	(void)err;
	*fk_checks = c->p.fk_checks;
	*triggers = 1;
	return 0;
}

static const char *const mysql_aliases[] = {"mariadb", NULL};

const struct tl_driver_ops tl_driver_mysql = {
	.version = TL_DRIVER_VERSION,
	.name = "mysql",
	.aliases = mysql_aliases,
	.caps = TL_CAP_SQL | TL_CAP_APE_STORE | TL_CAP_SCHEMA,
	.quote = '`',
	/* next_bound walks these kinds in the server's own order */
	.split_kinds = TL_KIND_BIT(TL_COL_INT) | TL_KIND_BIT(TL_COL_UINT) | TL_KIND_BIT(TL_COL_DECIMAL) |
		       TL_KIND_BIT(TL_COL_FLOAT) | TL_KIND_BIT(TL_COL_TEXT) | TL_KIND_BIT(TL_COL_DATE),
	.connect = my_connect,
	.disconnect = my_disconnect,
	.interrupt = my_interrupt,
	.list_tables = my_list_tables,
	.describe = tl_mysql__describe,
	.describe_many = tl_mysql__describe_many,
	.count_many = tl_mysql__count_many,
	/* information_schema reads a schema's whole directory for every query that names more
	 * than one table, so few large calls (each name a bound parameter: < 65,535) */
	.describe_batch = 20000,
	.free_table = tl_mysql__free_table,
	.count_rows = tl_mysql__count_rows,
	.open_reader = tl_mysql__open_reader,
	.read_batch = tl_mysql__read_batch,
	.close_reader = tl_mysql__close_reader,
	.row_key = tl_mysql__row_key,
	.next_bound = tl_mysql__next_bound,
	.part_minmax = tl_mysql__part_minmax,
	.check_target = tl_mysql__check_target,
	.write_batch = tl_mysql__write_batch,
	.delete_after = tl_mysql__delete_after,
	.ape_store_init = tl_mysql__ape_init,
	.ape_store_load = tl_mysql__ape_load,
	.ape_store_put = tl_mysql__ape_put,
	.ape_store_forget = tl_mysql__ape_forget,
	.checksum = tl_mysql__checksum,
	.durability_warning = tl_mysql__durability_warning,
	.schema_extract = tl_mysql__schema_extract,
	.schema_probe = tl_mysql__schema_probe,
	.schema_apply = tl_mysql__schema_apply,
	.delete_after_key = tl_mysql__delete_after_key,
	.write_checks = my_write_checks,
	.key_exists = tl_mysql__key_exists,
	.claim = tl_mysql__claim,
	.release = tl_mysql__release,
	.project = tl_mysql__project,
	.server_id = tl_mysql__server_id,
	.value_type = tl_mysql__value_type,
};
