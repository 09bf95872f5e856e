/*
 * pg_store.c - PostgreSQL connector: ape-dts' database store (docs/ape-dts-resume.md §4), the
 * table ape-dts' from_target/from_db resumers read and its recorder upserts.
 *
 * Layout as ape-dts creates it (bigserial id, task_id varchar(255), resumer_type
 * varchar(100), position_key varchar(255), position_data text, created_at/updated_at,
 * unique constraint uk_task_id_task_type_position_key), but schema and table are always
 * quoted (ape-dts leaves them unquoted; for the lowercase names it uses both agree) and
 * task_id is bound, never pasted. A missing store table reads as empty.
 * Must not touch any other table.
 */
#include <string.h>
#include "pg_int.h"

static int store_name(tl_buf *b, const char *schema, const char *table, tl_error *err)
{
	return tl_pg__quote_table(b, schema, table, err);
}

/* True for "the store does not exist yet" (undefined table / schema). */
static int is_missing(const tl_error *err)
{
	return err && (strcmp(err->sqlstate, "42P01") == 0 || strcmp(err->sqlstate, "3F000") == 0);
}

/* Runs DDL that may race with another process creating the same object; one retry. */
static int exec_ddl(tl_conn *c, const char *sql, const char *what, tl_error *err)
{
	int rc = tl_pg__exec(c, sql, 0, NULL, NULL, what, err);

	if (rc && err && (strcmp(err->sqlstate, "23505") == 0 || strcmp(err->sqlstate, "42P06") == 0 ||
			  strcmp(err->sqlstate, "42P07") == 0))
		rc = tl_pg__exec(c, sql, 0, NULL, NULL, what, err);
	return rc;
}

int tl_pg__ape_store_init(tl_conn *c, const char *schema, const char *table, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT, name = TL_BUF_INIT;
	const char *param;
	int rc;

	tl_buf_init(&sql, 0);
	tl_buf_init(&name, 0);
	rc = store_name(&name, schema, table, err);
	if (!rc)
		rc = tl_buf_puts(&sql, "CREATE SCHEMA IF NOT EXISTS ", err);
	if (!rc)
		rc = tl_pg__quote_ident(&sql, schema, err);
	if (rc)
		goto cleanup;
	rc = exec_ddl(c, tl_buf_cstr(&sql), "cannot create the ape-dts store schema", err);
	if (rc)
		goto cleanup;
	tl_buf_reset(&sql);
	rc = tl_buf_printf(&sql, err,
			   "CREATE TABLE IF NOT EXISTS %s ("
			   "id bigserial PRIMARY KEY, "
			   "task_id varchar(255) NOT NULL, "
			   "resumer_type varchar(100) NOT NULL, "
			   "position_key varchar(255) NOT NULL, "
			   "position_data text, "
			   "created_at timestamp DEFAULT CURRENT_TIMESTAMP, "
			   "updated_at timestamp DEFAULT CURRENT_TIMESTAMP, "
			   "CONSTRAINT uk_task_id_task_type_position_key UNIQUE (task_id, resumer_type, position_key))",
			   tl_buf_cstr(&name));
	if (rc)
		goto cleanup;
	rc = exec_ddl(c, tl_buf_cstr(&sql), "cannot create the ape-dts store table", err);
	if (rc)
		goto cleanup;
	/* As ape-dts does: rows inserted with explicit ids must not collide with ours. */
	tl_buf_reset(&sql);
	rc = tl_buf_printf(&sql, err,
			   "SELECT setval(pg_get_serial_sequence($1, 'id'), "
			   "(SELECT COALESCE(MAX(id), 0) + 1 FROM %s), false) "
			   "WHERE pg_get_serial_sequence($1, 'id') IS NOT NULL",
			   tl_buf_cstr(&name));
	if (rc)
		goto cleanup;
	param = tl_buf_cstr(&name);
	rc = tl_pg__exec(c, tl_buf_cstr(&sql), 1, &param, NULL, "cannot resynchronise the ape-dts store id", err);
cleanup:
	if (rc)
		tl_error_prefix(err, "%s", tl_buf_cstr(&name));
	tl_buf_release(&sql);
	tl_buf_release(&name);
	return rc;
}

int tl_pg__ape_store_load(tl_conn *c, const char *schema, const char *table, const char *task_id, tl_ape_row_fn fn,
			  void *ctx, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT;
	PGresult *res = NULL;
	int i, rc;

	tl_buf_init(&sql, 0);
	rc = tl_buf_puts(&sql, "SELECT resumer_type, position_key, position_data FROM ", err);
	if (!rc)
		rc = store_name(&sql, schema, table, err);
	if (!rc)
		rc = tl_buf_puts(&sql, " WHERE task_id = $1 ORDER BY id", err);
	if (rc)
		goto cleanup;
	rc = tl_pg__exec(c, tl_buf_cstr(&sql), 1, &task_id, &res, "cannot read the ape-dts store", err);
	if (rc) {
		if (is_missing(err)) {
			tl_error_clear(err);
			rc = 0;
		}
		goto cleanup;
	}
	for (i = 0; i < PQntuples(res); i++) {
		tl_ape_row row;
		row.resumer_type = PQgetvalue(res, i, 0);
		row.position_key = PQgetvalue(res, i, 1);
		row.position_data = PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2);
		rc = fn(ctx, &row, err);
		if (rc)
			goto cleanup;
	}
cleanup:
	PQclear(res);
	tl_buf_release(&sql);
	return rc;
}

int tl_pg__ape_store_put(tl_conn *c, const char *schema, const char *table, const char *task_id,
			 const tl_ape_row *row, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT;
	const char *params[4];
	int rc;

	tl_buf_init(&sql, 0);
	rc = tl_buf_puts(&sql, "INSERT INTO ", err);
	if (!rc)
		rc = store_name(&sql, schema, table, err);
	if (!rc)
		rc = tl_buf_puts(&sql,
				 " (task_id, resumer_type, position_key, position_data) VALUES ($1, $2, $3, $4) "
				 "ON CONFLICT (task_id, resumer_type, position_key) DO UPDATE SET "
				 "position_data = EXCLUDED.position_data, updated_at = CURRENT_TIMESTAMP",
				 err);
	if (rc)
		goto cleanup;
	params[0] = task_id;
	params[1] = row->resumer_type;
	params[2] = row->position_key;
	params[3] = row->position_data;
	rc = tl_pg__exec(c, tl_buf_cstr(&sql), 4, params, NULL, "cannot write the ape-dts store", err);
cleanup:
	tl_buf_release(&sql);
	return rc;
}

int tl_pg__ape_store_forget(tl_conn *c, const char *schema, const char *table, const char *task_id, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT;
	int rc;

	tl_buf_init(&sql, 0);
	rc = tl_buf_puts(&sql, "DELETE FROM ", err);
	if (!rc)
		rc = store_name(&sql, schema, table, err);
	if (!rc)
		rc = tl_buf_puts(&sql, " WHERE task_id = $1", err);
	if (rc)
		goto cleanup;
	rc = tl_pg__exec(c, tl_buf_cstr(&sql), 1, &task_id, NULL, "cannot clear the ape-dts store", err);
	if (rc && is_missing(err)) {
		tl_error_clear(err);
		rc = 0;
	}
cleanup:
	tl_buf_release(&sql);
	return rc;
}
