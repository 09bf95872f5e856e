/*
 * fixture_pg.c - the contract suite's fixture for PostgreSQL: the servers of
 * TL_PG_SRC_URL / TL_PG_DST_URL (tools/servers.sh), test tables made and read back with
 * libpq directly (never through tideline's driver). int is bigint, text text, bin bytea;
 * values are bound parameters (bytea as hex through decode()); ANALYZE after inserts
 * makes the estimate and the live row count exact. Constraint names get the table's
 * name in front (PostgreSQL's index names are unique per schema), which keeps their
 * order within a table. The statements that drop and create tables are sql_fixture.h's,
 * in PostgreSQL's words.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "contract/contract.h"
#include "contract/sql_fixture.h"
#include "tl_test.h"

struct fx {
	struct sqlfx sql; /* first: sql_fixture.h's slots take an fx */
	PGconn *c[2];
};

static int run(void *p, enum ct_side side, const char *sql, tl_error *err)
{
	struct fx *f = p;
	PGresult *r = PQexec(f->c[side], sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	int rc = ok ? 0
		    : tl_error_set(err, TL_ERR_DB, "query failed on the %s: %s      %.300s", side ? "target" : "source",
				   PQresultErrorMessage(r), sql);

	PQclear(r);
	return rc;
}

static int fx_connect(void *p, enum ct_side side, tl_error *err)
{
	struct fx *f = p;

	f->c[side] = PQconnectdb(f->sql.url[side]);
	if (PQstatus(f->c[side]) != CONNECTION_OK)
		return tl_error_set(err, TL_ERR_DB, "cannot connect to %s: %s", f->sql.url[side], PQerrorMessage(f->c[side]));
	return run(f, side, "SET client_min_messages = warning", err);
}

static void fx_disconnect(void *p, enum ct_side side)
{
	struct fx *f = p;

	if (f->c[side])
		PQfinish(f->c[side]);
}

static const struct sqlfx_kind kind = {
	.fx_size = sizeof(struct fx),
	.src_env = "TL_PG_SRC_URL",
	.dst_env = "TL_PG_DST_URL",
	.connect = fx_connect,
	.disconnect = fx_disconnect,
	.run = run,
	.quote = '"',
	.schema_word = "SCHEMA",
	.schema_opts = "",
	.drop_opts = " CASCADE",
	.types = {"bigint", "text", "bytea"},
	.nullable = "",
	.unique = "UNIQUE",
	.constraint_names = 1,
	.table_opts = "",
	.analyze = "ANALYZE ",
};

static int fx_open(void **out, tl_error *err)
{
	return sqlfx_open(&kind, out, err);
}

static int fx_insert(void *p, enum ct_side side, const ct_table *t, const char *const *cells, size_t n, tl_error *err)
{
	enum { ROWS = 500 };
	struct fx *f = p;
	tl_buf q = TL_BUF_INIT;
	size_t r, i, chunk;
	int rc = 0;

	for (r = 0; !rc && r < n; r += chunk) {
		chunk = n - r < ROWS ? n - r : ROWS;
		tl_buf_reset(&q);
		rc = tl_buf_puts(&q, "INSERT INTO ", err);
		rc = rc ? rc : sqlfx_qname(&kind, &q, t->schema, t->name, err);
		rc = rc ? rc : tl_buf_puts(&q, " VALUES ", err);
		for (i = 0; !rc && i < chunk * t->ncols; i++) {
			size_t col = i % t->ncols;
			rc = tl_buf_puts(&q, col ? ", " : i ? "), (" : "(", err);
			if (!rc && t->cols[col].type == CT_BIN)
				rc = tl_buf_printf(&q, err, "decode($%zu, 'hex')", i + 1);
			else if (!rc)
				rc = tl_buf_printf(&q, err, "$%zu::%s", i + 1, t->cols[col].type == CT_INT ? "bigint" : "text");
		}
		rc = rc ? rc : tl_buf_putc(&q, ')', err);
		if (!rc) {
			PGresult *res = PQexecParams(f->c[side], q.data, (int)(chunk * t->ncols), NULL, cells + r * t->ncols,
						     NULL, NULL, 0);
			if (PQresultStatus(res) != PGRES_COMMAND_OK)
				rc = tl_error_set(err, TL_ERR_DB, "insert into %s.%s on the %s: %s", t->schema, t->name,
						  side ? "target" : "source", PQresultErrorMessage(res));
			PQclear(res);
		}
	}
	rc = rc ? rc : sqlfx_analyze(&f->sql, side, t, err);
	tl_buf_release(&q);
	return rc;
}

static int fx_fetch(void *p, enum ct_side side, const ct_table *t, ct_rows *out, tl_error *err)
{
	struct fx *f = p;
	tl_buf q = TL_BUF_INIT;
	PGresult *res = NULL;
	size_t i;
	int r, rc = tl_buf_puts(&q, "SELECT ", err);

	for (i = 0; !rc && i < t->ncols; i++) {
		rc = tl_buf_puts(&q, i ? ", " : "", err);
		rc = rc ? rc : tl_buf_puts(&q, t->cols[i].type == CT_BIN ? "encode(" : "", err);
		rc = rc ? rc : sqlfx_ident(&kind, &q, t->cols[i].name, err);
		rc = rc ? rc : tl_buf_puts(&q, t->cols[i].type == CT_BIN ? ", 'hex')" : "::text", err);
	}
	rc = rc ? rc : tl_buf_puts(&q, " FROM ", err);
	rc = rc ? rc : sqlfx_qname(&kind, &q, t->schema, t->name, err);
	if (!rc) {
		res = PQexec(f->c[side], q.data);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			rc = tl_error_set(err, TL_ERR_DB, "select from %s.%s on the %s: %s", t->schema, t->name,
					  side ? "target" : "source", PQresultErrorMessage(res));
	}
	for (r = 0; !rc && r < PQntuples(res); r++) {
		const char *cells[CT_MAX_COLS];
		for (i = 0; i < t->ncols; i++)
			cells[i] = PQgetisnull(res, r, (int)i) ? NULL : PQgetvalue(res, r, (int)i);
		rc = ct_rows_add(out, cells, err);
	}
	PQclear(res);
	tl_buf_release(&q);
	return rc;
}

/* pg_terminate_backend for the sessions named app_name (pg_stat_activity.application_name). */
static int fx_kill_sessions(void *p, enum ct_side side, const char *app_name, tl_error *err)
{
	struct fx *f = p;
	const char *sql = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
			  "WHERE application_name = $1 AND pid <> pg_backend_pid()";
	PGresult *r = PQexecParams(f->c[side], sql, 1, NULL, &app_name, NULL, NULL, 0);
	int rc = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = tl_error_set(err, TL_ERR_DB, "cannot end the sessions of %s on the %s: %s", app_name,
				  side ? "target" : "source", PQresultErrorMessage(r));
	else if (PQntuples(r) == 0)
		rc = tl_error_set(err, TL_ERR_NOTFOUND, "no session of %s on the %s", app_name, side ? "target" : "source");
	PQclear(r);
	return rc;
}

const struct ct_fixture ct_fixture = {
	.kind = "pg",
	.registry = NULL,
	.checks_credentials = 1,
	.hostile_schema = "tl_ct_*.*@$",
	.hostile_table = "resume_table_*$5\"'`; --",
	.hostile_column = "p.k\"q",
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
