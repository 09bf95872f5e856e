/*
 * mysql_ape.c - ape-dts' database-backed position store on MySQL (docs/ape-dts-resume.md §4):
 * creating the table with ape-dts' exact columns and unique key, loading a task's rows,
 * upserting one row, forgetting a task. Unlike ape-dts, identifiers are quoted and the
 * task id is always bound. It must not touch any other table.
 */
#include <stdlib.h>
#include <string.h>
#include "connectors/mysql_int.h"

/* ER_BAD_DB_ERROR, ER_NO_SUCH_TABLE: the store does not exist yet, nothing to load */
#define MY_ER_BAD_DB 1049
#define MY_ER_NO_SUCH_TABLE 1146

int tl_mysql__ape_init(tl_conn *c, const char *schema, const char *table, tl_error *err)
{
	tl_buf q = TL_BUF_INIT;
	int rc = tl_mysql__ready(c, err);

	if (rc)
		return rc;
	rc = tl_buf_puts(&q, "CREATE DATABASE IF NOT EXISTS ", err);
	if (!rc)
		rc = tl_mysql__qident(&q, schema, err);
	if (!rc)
		rc = tl_mysql__exec(c, q.data, err);
	if (rc)
		goto fail;
	tl_buf_reset(&q);
	rc = tl_buf_puts(&q, "CREATE TABLE IF NOT EXISTS ", err);
	if (!rc)
		rc = tl_mysql__qtable(&q, schema, table, err);
	if (!rc)
		rc = tl_buf_puts(&q, " ("
				 "`id` bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, "
				 "`task_id` varchar(255) NOT NULL, "
				 "`resumer_type` varchar(255) NOT NULL, "
				 "`position_key` varchar(255) NOT NULL, "
				 "`position_data` text, "
				 "`created_at` timestamp DEFAULT CURRENT_TIMESTAMP, "
				 "`updated_at` timestamp DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, "
				 "UNIQUE KEY `uk_task_id_task_type_position_key` (`task_id`, `resumer_type`, `position_key`)"
				 ")", err);
	if (!rc)
		rc = tl_mysql__exec(c, q.data, err);
	if (rc)
		goto fail;
	goto cleanup;
fail:
	tl_error_prefix(err, "cannot create the ape-dts position table %s.%s", schema, table);
cleanup:
	tl_buf_release(&q);
	return rc;
}

struct load_ctx {
	tl_ape_row_fn fn;
	void *ctx;
};

static int load_row(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	struct load_ctx *l = ctx;
	tl_ape_row row;

	if (nf < 3)
		return tl_error_set(err, TL_ERR_INTERNAL, "unexpected ape-dts store row");
	row.resumer_type = v[0] ? v[0] : "";
	row.position_key = v[1] ? v[1] : "";
	row.position_data = v[2];
	return l->fn(l->ctx, &row, err);
}

int tl_mysql__ape_load(tl_conn *c, const char *schema, const char *table, const char *task_id,
		       tl_ape_row_fn fn, void *ctx, tl_error *err)
{
	struct load_ctx l = {fn, ctx};
	const char *params[1] = {task_id};
	tl_buf q = TL_BUF_INIT;
	int rc = tl_mysql__ready(c, err);

	if (rc)
		return rc;
	rc = tl_buf_puts(&q, "SELECT resumer_type, position_key, position_data FROM ", err);
	if (!rc)
		rc = tl_mysql__qtable(&q, schema, table, err);
	if (!rc)
		rc = tl_buf_puts(&q, " WHERE task_id = ? ORDER BY id", err);
	if (rc)
		goto cleanup;
	rc = tl_mysql__query(c, q.data, 1, params, load_row, &l, err);
	if (rc == TL_ERR_DB && err && (err->native == MY_ER_BAD_DB || err->native == MY_ER_NO_SUCH_TABLE)) {
		tl_error_clear(err);
		rc = 0; /* no store yet: start from the beginning (§4.4) */
	} else if (rc == TL_ERR_DB) {
		tl_error_prefix(err, "cannot read the ape-dts position table %s.%s", schema, table);
	}
cleanup:
	tl_buf_release(&q);
	return rc;
}

static int no_rows(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	return 0;
}

int tl_mysql__ape_put(tl_conn *c, const char *schema, const char *table, const char *task_id,
		      const tl_ape_row *row, tl_error *err)
{
	const char *params[4] = {task_id, row->resumer_type, row->position_key, row->position_data};
	tl_buf q = TL_BUF_INIT;
	int rc = tl_mysql__ready(c, err);

	if (rc)
		return rc;
	rc = tl_buf_puts(&q, "INSERT INTO ", err);
	if (!rc)
		rc = tl_mysql__qtable(&q, schema, table, err);
	if (!rc)
		rc = tl_buf_puts(&q, " (task_id, resumer_type, position_key, position_data) VALUES (?, ?, ?, ?) "
				 "ON DUPLICATE KEY UPDATE position_data=VALUES(position_data), "
				 "updated_at=CURRENT_TIMESTAMP", err);
	if (!rc)
		rc = tl_mysql__query(c, q.data, 4, params, no_rows, NULL, err);
	if (rc)
		tl_error_prefix(err, "cannot write the ape-dts position table %s.%s", schema, table);
	tl_buf_release(&q);
	return rc;
}

int tl_mysql__ape_forget(tl_conn *c, const char *schema, const char *table, const char *task_id, tl_error *err)
{
	const char *params[1] = {task_id};
	tl_buf q = TL_BUF_INIT;
	int rc = tl_mysql__ready(c, err);

	if (rc)
		return rc;
	rc = tl_buf_puts(&q, "DELETE FROM ", err);
	if (!rc)
		rc = tl_mysql__qtable(&q, schema, table, err);
	if (!rc)
		rc = tl_buf_puts(&q, " WHERE task_id = ?", err);
	if (!rc)
		rc = tl_mysql__query(c, q.data, 1, params, no_rows, NULL, err);
	if (rc == TL_ERR_DB && err && (err->native == MY_ER_BAD_DB || err->native == MY_ER_NO_SUCH_TABLE)) {
		tl_error_clear(err);
		rc = 0;
	} else if (rc) {
		tl_error_prefix(err, "cannot clear the ape-dts position table %s.%s", schema, table);
	}
	tl_buf_release(&q);
	return rc;
}
