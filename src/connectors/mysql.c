/*
 * mysql.c - the MySQL/MariaDB connector's entry point: the tl_driver_mysql ops table,
 * connecting (session settings a dump tool needs), and the small SQL helpers the other
 * mysql_*.c files share (error mapping, identifier and string quoting, running
 * statements). It must not build data queries (mysql_read.c, mysql_write.c do) and
 * must never put a password into an error message or log.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "connectors/mysql_int.h"

/* mysql_library_init is not thread-safe; the migrator may connect from several threads. */
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static void lib_init(void) { (void)mysql_library_init(0, NULL, NULL); }

int tl_mysql__fail(tl_conn *c, tl_error *err, const char *fmt, ...)
{
	char head[512];
	va_list ap;
	unsigned no = (c && c->my) ? mysql_errno(c->my) : 0;

	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	if (!c || !c->my)
		return tl_error_set(err, TL_ERR_DB, "%s: connection is closed", head);
	tl_error_set(err, TL_ERR_DB, "%s: %s", head, mysql_error(c->my));
	if (err) {
		err->native = (int)no;
		snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", mysql_sqlstate(c->my));
	}
	return TL_ERR_DB;
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
	/* Some failures (a lost connection, a fetch error) are reported on the connection
	 * handle, not the statement's: never report an empty server message. */
	if (mysql_stmt_errno(st)) {
		rc = tl_error_set(err, TL_ERR_DB, "mysql statement failed: %s", mysql_stmt_error(st));
		if (err) {
			err->native = (int)mysql_stmt_errno(st);
			snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", mysql_stmt_sqlstate(st));
		}
	} else if (mysql_errno(c->my)) {
		rc = tl_error_set(err, TL_ERR_DB, "mysql statement failed: %s", mysql_error(c->my));
		if (err) {
			err->native = (int)mysql_errno(c->my);
			snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", mysql_sqlstate(c->my));
		}
	} else {
		rc = tl_error_set(err, TL_ERR_DB, "mysql statement failed without an error message from the server");
	}
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
	memset(p, 0, sizeof(*p));
}

/* Opens one client handle with the session settings every tideline connection uses. */
static int open_handle(const struct tl_mysql_params *p, MYSQL **out, unsigned long *max_packet, tl_error *err)
{
	static const char *const session_sql =
		"SET SESSION time_zone='+00:00', SESSION net_write_timeout=3600, "
		"SESSION net_read_timeout=3600, SESSION sql_mode='NO_AUTO_VALUE_ON_ZERO', "
		"SESSION foreign_key_checks=0";
	MYSQL *my;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	unsigned int proto = MYSQL_PROTOCOL_TCP, timeout = 10;
	unsigned long packet = 1024UL * 1024 * 1024;
	int rc = 0;

	*out = NULL;
	pthread_once(&lib_once, lib_init);
	my = mysql_init(NULL);
	if (!my)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory creating a mysql client");
	if (mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4") ||
	    mysql_options(my, MYSQL_OPT_PROTOCOL, &proto) ||
	    mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout) ||
	    mysql_options(my, MYSQL_OPT_MAX_ALLOWED_PACKET, &packet)) {
		rc = tl_error_set(err, TL_ERR_INTERNAL, "cannot set mysql client options");
		goto cleanup;
	}
	if (p->app && *p->app)
		(void)mysql_optionsv(my, MYSQL_OPT_CONNECT_ATTR_ADD, "program_name", p->app);
	if (!mysql_real_connect(my, p->host, p->user, p->password, p->db, (unsigned)p->port, NULL, 0)) {
		rc = tl_error_set(err, TL_ERR_DB, "cannot connect to mysql at %s:%d: %s", p->host, p->port,
				  mysql_error(my));
		if (err) {
			err->native = (int)mysql_errno(my);
			snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", mysql_sqlstate(my));
		}
		goto cleanup;
	}
	if (mysql_real_query(my, session_sql, (unsigned long)strlen(session_sql)) != 0)
		goto session_fail;
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
	if (err)
		err->native = (int)mysql_errno(my);
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
	rc = open_handle(&c->p, &c->my, &c->max_packet, err);
	if (rc)
		goto cleanup;
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

static void my_disconnect(tl_conn *c)
{
	if (!c)
		return;
	if (c->my) {
		tl_mysql__stmt_cache_clear(c);
		mysql_close(c->my);
	}
	params_clear(&c->p);
	free(c);
}

void tl_mysql__kill_query(tl_conn *c)
{
	MYSQL *side = NULL;
	char sql[64];

	if (!c || !c->my)
		return;
	if (open_handle(&c->p, &side, NULL, NULL) != 0)
		return; /* the caller then drains the result instead */
	snprintf(sql, sizeof(sql), "KILL QUERY %lu", mysql_thread_id(c->my));
	(void)mysql_real_query(side, sql, (unsigned long)strlen(sql));
	mysql_close(side);
}

static int my_list_tables(tl_conn *c, tl_name_list *out, tl_error *err)
{
	return tl_mysql__list_tables(c, out, err);
}

const struct tl_driver_ops tl_driver_mysql = {
	.version = TL_DRIVER_VERSION,
	.name = "mysql",
	.caps = TL_CAP_SQL | TL_CAP_APE_STORE,
	.connect = my_connect,
	.disconnect = my_disconnect,
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
};
