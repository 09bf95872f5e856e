/*
 * fixture_mysql.c - the contract suite's fixture for MySQL / MariaDB: the servers of
 * TL_MYSQL_SRC_URL / TL_MYSQL_DST_URL (tools/servers.sh), test tables made and read back
 * with libmariadb directly (never through tideline's driver). int is bigint, text
 * varchar(200) in utf8mb4, bin varbinary(64); values go in as escaped literals (text),
 * X'..' (bin) or digits (int); ANALYZE TABLE after inserts makes the row estimate exact.
 * The statements that drop and create tables are sql_fixture.h's, in MariaDB's words.
 */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "contract/contract.h"
#include "contract/sql_fixture.h"
#include "tl_test.h"

struct fx {
	struct sqlfx sql; /* first: sql_fixture.h's slots take an fx */
	MYSQL *c[2];
};

static int fail(struct fx *f, enum ct_side side, tl_error *err, const char *what)
{
	return tl_error_set(err, TL_ERR_DB, "%s on the %s: %s", what, side ? "target" : "source",
			    mysql_error(f->c[side]));
}

/* Runs sql, discarding any result set. */
static int run(void *p, enum ct_side side, const char *sql, tl_error *err)
{
	struct fx *f = p;
	MYSQL_RES *r;

	if (mysql_query(f->c[side], sql))
		return tl_error_set(err, TL_ERR_DB, "%s on the %s: %s\n      %.300s", "query failed", side ? "target" : "source",
				    mysql_error(f->c[side]), sql);
	if ((r = mysql_store_result(f->c[side])))
		mysql_free_result(r);
	else if (mysql_field_count(f->c[side]))
		return fail(f, side, err, "reading a result");
	return 0;
}

static int fx_connect(void *p, enum ct_side side, tl_error *err)
{
	struct fx *f = p;
	tl_url u;
	int rc = tl_url_parse(f->sql.url[side], &u, err);

	if (rc)
		return rc;
	if (!(f->c[side] = mysql_init(NULL)))
		rc = tl_error_set(err, TL_ERR_NOMEM, "mysql_init failed");
	else if (mysql_options(f->c[side], MYSQL_SET_CHARSET_NAME, "utf8mb4") ||
		 !mysql_real_connect(f->c[side], u.host, u.user ? u.user : "root", u.password ? u.password : "", NULL,
				     (unsigned)u.port, NULL, 0))
		rc = fail(f, side, err, "connect");
	tl_url_clear(&u);
	return rc;
}

static void fx_disconnect(void *p, enum ct_side side)
{
	struct fx *f = p;

	if (f->c[side])
		mysql_close(f->c[side]);
}

static const struct sqlfx_kind kind = {
	.fx_size = sizeof(struct fx),
	.src_env = "TL_MYSQL_SRC_URL",
	.dst_env = "TL_MYSQL_DST_URL",
	.connect = fx_connect,
	.disconnect = fx_disconnect,
	.run = run,
	.quote = '`',
	.schema_word = "DATABASE",
	.schema_opts = " DEFAULT CHARSET utf8mb4",
	.drop_opts = "",
	.types = {"bigint", "varchar(200)", "varbinary(64)"},
	.nullable = " NULL",
	.unique = "UNIQUE KEY",
	.constraint_names = 0,
	.table_opts = " DEFAULT CHARSET=utf8mb4",
	.analyze = "ANALYZE TABLE ",
};

static int fx_open(void **out, tl_error *err)
{
	return sqlfx_open(&kind, out, err);
}

static int value(struct fx *f, enum ct_side side, tl_buf *q, enum ct_type type, const char *v, tl_error *err)
{
	char *esc;
	int rc;

	if (!v)
		return tl_buf_puts(q, "NULL", err);
	if (type == CT_INT)
		return tl_buf_puts(q, v, err);
	if (type == CT_BIN)
		return tl_buf_printf(q, err, "X'%s'", v);
	if (!(esc = malloc(2 * strlen(v) + 1)))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	mysql_real_escape_string(f->c[side], esc, v, (unsigned long)strlen(v));
	rc = tl_buf_printf(q, err, "'%s'", esc);
	free(esc);
	return rc;
}

static int fx_insert(void *p, enum ct_side side, const ct_table *t, const char *const *cells, size_t n, tl_error *err)
{
	struct fx *f = p;
	tl_buf q = TL_BUF_INIT;
	size_t r, i;
	int rc = 0;

	for (r = 0; !rc && r < n; r++) {
		if (r % 500 == 0) {
			tl_buf_reset(&q);
			rc = tl_buf_puts(&q, "INSERT INTO ", err);
			rc = rc ? rc : sqlfx_qname(&kind, &q, t->schema, t->name, err);
			rc = rc ? rc : tl_buf_puts(&q, " VALUES ", err);
		} else {
			rc = tl_buf_putc(&q, ',', err);
		}
		for (i = 0; !rc && i < t->ncols; i++) {
			rc = tl_buf_puts(&q, i ? ", " : "(", err);
			rc = rc ? rc : value(f, side, &q, t->cols[i].type, cells[r * t->ncols + i], err);
		}
		rc = rc ? rc : tl_buf_putc(&q, ')', err);
		if (!rc && (r % 500 == 499 || r == n - 1))
			rc = run(f, side, q.data, err);
	}
	rc = rc ? rc : sqlfx_analyze(&f->sql, side, t, err);
	tl_buf_release(&q);
	return rc;
}

static int fx_fetch(void *p, enum ct_side side, const ct_table *t, ct_rows *out, tl_error *err)
{
	struct fx *f = p;
	tl_buf q = TL_BUF_INIT, hex[CT_MAX_COLS];
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	size_t i;
	int rc = tl_buf_puts(&q, "SELECT ", err);

	for (i = 0; i < CT_MAX_COLS; i++)
		tl_buf_init(&hex[i], 0);
	for (i = 0; !rc && i < t->ncols; i++) {
		rc = i ? tl_buf_puts(&q, ", ", err) : 0;
		rc = rc ? rc : sqlfx_ident(&kind, &q, t->cols[i].name, err);
	}
	rc = rc ? rc : tl_buf_puts(&q, " FROM ", err);
	rc = rc ? rc : sqlfx_qname(&kind, &q, t->schema, t->name, err);
	if (!rc && mysql_query(f->c[side], q.data))
		rc = fail(f, side, err, "select");
	if (!rc && !(res = mysql_store_result(f->c[side])))
		rc = fail(f, side, err, "select");
	while (!rc && (row = mysql_fetch_row(res))) {
		unsigned long *len = mysql_fetch_lengths(res);
		const char *cells[CT_MAX_COLS];
		for (i = 0; !rc && i < t->ncols; i++) {
			cells[i] = row[i];
			if (row[i] && t->cols[i].type == CT_BIN) {
				tl_buf_reset(&hex[i]);
				rc = tl_buf_put_hex(&hex[i], row[i], len[i], err);
				cells[i] = tl_buf_cstr(&hex[i]);
			}
		}
		rc = rc ? rc : ct_rows_add(out, cells, err);
	}
	if (res)
		mysql_free_result(res);
	for (i = 0; i < CT_MAX_COLS; i++)
		tl_buf_release(&hex[i]);
	tl_buf_release(&q);
	return rc;
}

/*
 * KILL CONNECTION for the sessions named app_name: their program_name connection attribute
 * (performance_schema.session_connect_attrs). MariaDB keeps connection attributes only with
 * performance_schema on; without it (the test servers of tools/servers.sh) this ends every
 * client session of the fixture's user on that server but its own, which on a test server
 * of its own are the suite's.
 */
static int fx_kill_sessions(void *p, enum ct_side side, const char *app_name, tl_error *err)
{
	struct fx *f = p;
	tl_buf q = TL_BUF_INIT;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	size_t killed = 0;
	int rc = run(f, side, "SET @tl_ct_ps = @@performance_schema", err);
	char *esc = malloc(2 * strlen(app_name) + 1);

	if (!rc && !esc)
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	if (!rc) {
		mysql_real_escape_string(f->c[side], esc, app_name, (unsigned long)strlen(app_name));
		rc = tl_buf_printf(&q, err,
				   "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND "
				   "IF(@tl_ct_ps, ID IN (SELECT PROCESSLIST_ID FROM performance_schema.session_connect_attrs "
				   "WHERE ATTR_NAME = 'program_name' AND ATTR_VALUE = '%s'), "
				   "USER = SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AND COMMAND NOT IN ('Daemon', 'Binlog Dump'))",
				   esc);
	}
	if (!rc && mysql_query(f->c[side], q.data))
		rc = fail(f, side, err, "listing the sessions");
	if (!rc && !(res = mysql_store_result(f->c[side])))
		rc = fail(f, side, err, "listing the sessions");
	while (!rc && (row = mysql_fetch_row(res))) {
		char kill[64];
		snprintf(kill, sizeof(kill), "KILL CONNECTION %s", row[0]);
		/* 1094: the session ended meanwhile */
		if (mysql_query(f->c[side], kill) && mysql_errno(f->c[side]) != 1094)
			rc = fail(f, side, err, "KILL CONNECTION");
		killed++;
	}
	if (!rc && !killed)
		rc = tl_error_set(err, TL_ERR_NOTFOUND, "no session of %s on the %s", app_name, side ? "target" : "source");
	if (res)
		mysql_free_result(res);
	free(esc);
	tl_buf_release(&q);
	return rc;
}

const struct ct_fixture ct_fixture = {
	.kind = "mysql",
	.registry = NULL,
	.checks_credentials = 1,
	.hostile_schema = "tl_ct_@*$.x",
	.hostile_table = "`a`; DROP TABLE x; --'\"",
	.hostile_column = "p.k`'\"",
	.open = fx_open,
	.close = sqlfx_close,
	.url = sqlfx_url,
	.drop_schema = sqlfx_drop_schema,
	.create = sqlfx_create,
	.drop = sqlfx_drop,
	.insert = fx_insert,
	.fetch = fx_fetch,
	.kill_sessions = fx_kill_sessions,
};
