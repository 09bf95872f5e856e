/*
 * mysql_write.c - writing rows into MySQL: one transaction per batch made of multi-row
 * prepared INSERTs (upserts with ON DUPLICATE KEY UPDATE when asked), cached per
 * (table, row count) on the connection, and the DELETE used to undo rows past a
 * checkpoint. Values are always bound, never pasted into SQL. It must not read row data
 * or change table definitions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "connectors/mysql_int.h"

#define MAX_STMT_ROWS 1000
#define MAX_STMT_PARAMS 60000
#define MAX_STMT_BYTES (16UL * 1024 * 1024)

static int is_written(const tl_table *t, size_t i)
{
	return !tl_mysql__col(t, i)->generated;
}

static int build_insert(const tl_table *t, size_t nrows, int upsert, tl_buf *q, tl_error *err)
{
	tl_buf group = TL_BUF_INIT;
	size_t i, j, nw = 0;
	int rc, any = 0;

	rc = tl_buf_printf(q, err, "INSERT INTO %s (", tl_mysql__qname(t));
	if (!rc)
		rc = tl_buf_putc(&group, '(', err);
	for (i = 0; !rc && i < t->ncols; i++) {
		if (!is_written(t, i))
			continue;
		if (nw++) {
			rc = tl_buf_puts(q, ", ", err);
			if (!rc)
				rc = tl_buf_puts(&group, ", ", err);
		}
		if (!rc)
			rc = tl_mysql__qident(q, t->cols[i].name, err);
		/* BIT cells travel as unsigned decimal text; CAST turns them back into bits */
		if (!rc)
			rc = tl_buf_puts(&group, t->cols[i].kind == TL_COL_BIT ? "CAST(? AS UNSIGNED)" : "?", err);
	}
	if (!rc)
		rc = tl_buf_puts(q, ") VALUES ", err);
	if (!rc)
		rc = tl_buf_putc(&group, ')', err);
	for (j = 0; !rc && j < nrows; j++) {
		if (j)
			rc = tl_buf_puts(q, ",", err);
		if (!rc)
			rc = tl_buf_put(q, group.data, group.len, err);
	}
	if (!rc && upsert && t->nkeys > 0) {
		rc = tl_buf_puts(q, " ON DUPLICATE KEY UPDATE ", err);
		for (i = 0; !rc && i < t->ncols; i++) {
			int is_key = 0;
			for (j = 0; j < t->nkeys; j++)
				if (t->key_idx[j] == i)
					is_key = 1;
			if (is_key || !is_written(t, i))
				continue;
			if (any++)
				rc = tl_buf_puts(q, ", ", err);
			if (!rc)
				rc = tl_mysql__qident(q, t->cols[i].name, err);
			if (!rc)
				rc = tl_buf_puts(q, "=VALUES(", err);
			if (!rc)
				rc = tl_mysql__qident(q, t->cols[i].name, err);
			if (!rc)
				rc = tl_buf_putc(q, ')', err);
		}
		if (!rc && !any) { /* only key columns: nothing to update, keep the row */
			rc = tl_mysql__qident(q, t->cols[t->key_idx[0]].name, err);
			if (!rc)
				rc = tl_buf_putc(q, '=', err);
			if (!rc)
				rc = tl_mysql__qident(q, t->cols[t->key_idx[0]].name, err);
		}
	}
	tl_buf_release(&group);
	return rc;
}

/* Cache key: table, shape of its columns, flags and rows (a re-described table differs). */
static int stmt_key(const tl_table *t, size_t nrows, int upsert, tl_buf *key, tl_error *err)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a over names, kinds and written flags */
	size_t i;
	const char *p;

	for (i = 0; i < t->ncols; i++) {
		for (p = t->cols[i].name; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		h = (h ^ (uint64_t)(t->cols[i].kind * 2 + is_written(t, i))) * 1099511628211ULL;
		h = (h ^ 0xffu) * 1099511628211ULL;
	}
	for (i = 0; i < t->nkeys; i++)
		h = (h ^ (uint64_t)t->key_idx[i]) * 1099511628211ULL;
	return tl_buf_printf(key, err, "%s|%zu|%016llx|%d|%zu", tl_mysql__qname(t), t->ncols, (unsigned long long)h,
			     upsert, nrows);
}

static void evict(tl_conn *c, MYSQL_STMT *st)
{
	size_t i;

	for (i = 0; i < TL_MYSQL_STMT_CACHE; i++)
		if (c->cache[i].stmt == st) {
			mysql_stmt_close(st);
			free(c->cache[i].key);
			memset(&c->cache[i], 0, sizeof(c->cache[i]));
		}
}

/* Lends a prepared INSERT for nrows rows of t from the connection's cache. */
static int get_stmt(tl_conn *c, const tl_table *t, size_t nrows, int upsert, MYSQL_STMT **out, tl_error *err)
{
	tl_buf key = TL_BUF_INIT, q = TL_BUF_INIT;
	struct tl_mysql_stmt_slot *slot = NULL;
	MYSQL_STMT *st = NULL;
	size_t i;
	int rc;

	*out = NULL;
	rc = stmt_key(t, nrows, upsert, &key, err);
	if (rc)
		return rc;
	c->tick++;
	for (i = 0; i < TL_MYSQL_STMT_CACHE; i++)
		if (c->cache[i].key && strcmp(c->cache[i].key, key.data) == 0) {
			c->cache[i].used = c->tick;
			*out = c->cache[i].stmt;
			goto cleanup;
		}
	rc = build_insert(t, nrows, upsert, &q, err);
	if (rc)
		goto cleanup;
	st = mysql_stmt_init(c->my);
	if (!st) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory preparing an insert into %s", tl_mysql__qname(t));
		goto cleanup;
	}
	if (mysql_stmt_prepare(st, q.data, (unsigned long)q.len) != 0) {
		rc = tl_error_set(err, TL_ERR_DB, "cannot prepare an insert into %s: %s", tl_mysql__qname(t),
				  mysql_stmt_error(st));
		if (err)
			err->native = (int)mysql_stmt_errno(st);
		goto cleanup;
	}
	for (i = 0; i < TL_MYSQL_STMT_CACHE; i++) {
		if (!c->cache[i].stmt) {
			slot = &c->cache[i];
			break;
		}
		if (!slot || c->cache[i].used < slot->used)
			slot = &c->cache[i];
	}
	if (slot->stmt)
		mysql_stmt_close(slot->stmt);
	free(slot->key);
	slot->key = tl_buf_detach(&key);
	slot->stmt = st;
	slot->used = c->tick;
	*out = st;
	st = NULL;
cleanup:
	if (st)
		mysql_stmt_close(st);
	tl_buf_release(&key);
	tl_buf_release(&q);
	return rc;
}

int tl_mysql__write_batch(tl_conn *c, const tl_table *src, const tl_batch *b, unsigned flags, tl_error *err)
{
	const int upsert = (flags & TL_WRITE_UPSERT) != 0;
	const size_t ncols = src->ncols;
	MYSQL_BIND *binds = NULL;
	unsigned long *lens = NULL;
	size_t max_rows, max_bytes, row = 0, n, i, j, k;
	int rc, in_tx = 0;

	rc = tl_mysql__ready(c, err);
	if (rc)
		return rc;
	if (b->nrows == 0)
		return 0;
	if (b->ncols != ncols || ncols == 0)
		return tl_error_set(err, TL_ERR_INTERNAL, "batch has %zu columns, %s has %zu", b->ncols,
				    tl_mysql__qname(src), ncols);
	max_rows = MAX_STMT_PARAMS / ncols;
	if (max_rows > MAX_STMT_ROWS)
		max_rows = MAX_STMT_ROWS;
	if (max_rows == 0)
		max_rows = 1;
	max_bytes = MAX_STMT_BYTES;
	if (c->max_packet / 2 < max_bytes)
		max_bytes = c->max_packet / 2;
	binds = calloc(max_rows * ncols, sizeof(*binds));
	lens = calloc(max_rows * ncols, sizeof(*lens));
	if (!binds || !lens) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory writing to %s", tl_mysql__qname(src));
		goto cleanup;
	}
	if (mysql_real_query(c->my, "START TRANSACTION", 17) != 0) {
		rc = tl_mysql__fail(c, err, "cannot write to %s", tl_mysql__qname(src));
		goto cleanup;
	}
	in_tx = 1;
	while (row < b->nrows) {
		MYSQL_STMT *st = NULL;
		size_t bytes = 0;

		for (n = 0; row + n < b->nrows && n < max_rows; n++) {
			size_t rb = 0;
			for (j = 0; j < ncols; j++)
				rb += b->cells[(row + n) * ncols + j].len + 16;
			if (n > 0 && bytes + rb > max_bytes)
				break;
			bytes += rb;
		}
		rc = get_stmt(c, src, n, upsert, &st, err);
		if (rc)
			goto cleanup;
		memset(binds, 0, n * ncols * sizeof(*binds));
		for (i = 0, k = 0; i < n; i++) {
			for (j = 0; j < ncols; j++) {
				MYSQL_BIND *bd;
				size_t len = 0;
				const char *cell;
				if (!is_written(src, j))
					continue;
				bd = &binds[k];
				cell = tl_batch_cell(b, row + i, j, &len);
				if (!cell) {
					bd->buffer_type = MYSQL_TYPE_NULL;
					k++;
					continue;
				}
				lens[k] = (unsigned long)len;
				bd->buffer_type = src->cols[j].kind == TL_COL_BINARY ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
				bd->buffer = (void *)cell;
				bd->buffer_length = (unsigned long)len;
				bd->length = &lens[k];
				k++;
			}
		}
		if (mysql_stmt_bind_param(st, binds) != 0 || mysql_stmt_execute(st) != 0) {
			rc = tl_error_set(err, TL_ERR_DB, "cannot write to %s: %s", tl_mysql__qname(src), mysql_stmt_error(st));
			if (err) {
				err->native = (int)mysql_stmt_errno(st);
				snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", mysql_stmt_sqlstate(st));
			}
			evict(c, st);
			goto cleanup;
		}
		row += n;
	}
	if (mysql_commit(c->my) != 0) {
		rc = tl_mysql__fail(c, err, "cannot commit a batch into %s", tl_mysql__qname(src));
		goto cleanup;
	}
	in_tx = 0;
cleanup:
	if (in_tx)
		(void)mysql_rollback(c->my);
	free(binds);
	free(lens);
	return rc;
}

int tl_mysql__delete_after(tl_conn *c, const tl_table *src, const char *after, int nulls, tl_error *err)
{
	tl_buf q = TL_BUF_INIT;
	const char *p = src->cols[src->part_idx].name;
	int rc;

	rc = tl_mysql__ready(c, err);
	if (rc)
		return rc;
	rc = tl_buf_printf(&q, err, "DELETE FROM %s", tl_mysql__qname(src));
	if (!rc && nulls == TL_DELETE_KEY_NULLS) {
		/* rows with a NULL in any key column (the NULL pass re-copies them all) */
		size_t k;
		rc = tl_buf_puts(&q, " WHERE ", err);
		for (k = 0; !rc && k < src->nkeys; k++) {
			if (k)
				rc = tl_buf_puts(&q, " OR ", err);
			if (!rc)
				rc = tl_mysql__qident(&q, src->cols[src->key_idx[k]].name, err);
			if (!rc)
				rc = tl_buf_puts(&q, " IS NULL", err);
		}
	} else if (!rc && (nulls || after)) {
		rc = tl_buf_puts(&q, " WHERE ", err);
		if (!rc)
			rc = tl_mysql__qident(&q, p, err);
		if (!rc && nulls)
			rc = tl_buf_puts(&q, " IS NULL", err);
		if (!rc && !nulls) {
			rc = tl_buf_puts(&q, " > ", err);
			if (!rc)
				rc = tl_mysql__literal(c, src, src->part_idx, after, &q, err);
		}
	}
	if (rc)
		goto cleanup;
	rc = tl_mysql__exec(c, q.data, err);
	if (rc)
		tl_error_prefix(err, "cannot delete from %s", tl_mysql__qname(src));
cleanup:
	tl_buf_release(&q);
	return rc;
}
