/*
 * mysql_write.c - writing rows into MySQL: one transaction per batch made of multi-row
 * prepared INSERTs (upserts with ON DUPLICATE KEY UPDATE when asked), cached per
 * (table, row count) on the connection, and the DELETE used to undo rows past a
 * checkpoint. Values are always bound, never pasted into SQL. It must not read row data
 * or change table definitions.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "connectors/mysql_int.h"

#define MAX_STMT_ROWS 1000
#define MAX_STMT_PARAMS 60000
#define MAX_STMT_BYTES (16UL * 1024 * 1024)

#define LOCK_WAIT_TIMEOUT 1205

static int is_written(const tl_table *t, size_t i)
{
	return !tl_mysql__col(t, i)->generated;
}

/* The strict-mode errors of a value that does not fit its column (sql_mode, mysql.c). */
static int is_data_error(unsigned no)
{
	switch (no) {
	case 1048: /* ER_BAD_NULL_ERROR: NULL into NOT NULL */
	case 1101: /* ER_BLOB_CANT_HAVE_DEFAULT */
	case 1264: /* ER_WARN_DATA_OUT_OF_RANGE */
	case 1265: /* WARN_DATA_TRUNCATED */
	case 1292: /* ER_TRUNCATED_WRONG_VALUE */
	case 1366: /* ER_TRUNCATED_WRONG_VALUE_FOR_FIELD */
	case 1406: /* ER_DATA_TOO_LONG */
	case 1690: /* ER_DATA_OUT_OF_RANGE */
		return 1;
	default:
		return 0;
	}
}

/*
 * Rewrites err (a data error of the INSERT of batch rows [first, first + n)) into
 * TL_ERR_MISMATCH naming the table, the column and the key of the row: the server's
 * "at row N" counts the statement's rows from 1; an error without a row number ("Column
 * 'c' cannot be null") is pinned on the first of those rows with a NULL in that column.
 * Keeps err as it is when the message names no column.
 */
static int blame_row(const tl_table *t, const tl_batch *b, size_t first, size_t n, const char *server_msg,
		     tl_error *err)
{
	char *col = NULL;
	char keytext[600] = "";
	size_t at = 0, ci = t->ncols, r = SIZE_MAX, i, off = 0;
	tl_keyvals kv = {0, NULL, NULL};
	tl_error kerr = TL_ERROR_INIT;

	if (tl_mysql__data_error_at(server_msg, &col, &at) != 0)
		return err->code;
	for (i = 0; i < t->ncols; i++)
		if (strcasecmp(t->cols[i].name, col) == 0)
			ci = i;
	if (at >= 1 && at <= n)
		r = first + at - 1;
	for (i = 0; r == SIZE_MAX && ci < t->ncols && i < n; i++)
		if (!tl_batch_cell(b, first + i, ci, NULL))
			r = first + i;
	if (r == SIZE_MAX) {
		free(col);
		return err->code;
	}
	if (t->nkeys == 0) {
		snprintf(keytext, sizeof(keytext), "row %zu of the batch (the table has no key)", r + 1);
	} else if (tl_mysql__row_key(t, b, r, t->key_idx, t->nkeys, &kv, &kerr) == 0) {
		off += (size_t)snprintf(keytext, sizeof(keytext), "the row with key (");
		for (i = 0; i < kv.n && off < sizeof(keytext); i++)
			off += (size_t)snprintf(keytext + off, sizeof(keytext) - off, "%s%s", i ? "," : "", kv.cols[i]);
		if (off < sizeof(keytext))
			off += (size_t)snprintf(keytext + off, sizeof(keytext) - off, ")=(");
		for (i = 0; i < kv.n && off < sizeof(keytext); i++)
			off += (size_t)snprintf(keytext + off, sizeof(keytext) - off, "%s%.100s", i ? "," : "",
						kv.vals[i] ? kv.vals[i] : "NULL");
		if (off < sizeof(keytext))
			snprintf(keytext + off, sizeof(keytext) - off, ")");
	} else {
		snprintf(keytext, sizeof(keytext), "row %zu of the batch", r + 1);
	}
	tl_keyvals_clear(&kv);
	{
		int native = err->native;
		char sqlstate[sizeof(err->sqlstate)], msg[512];

		memcpy(sqlstate, err->sqlstate, sizeof(sqlstate));
		snprintf(msg, sizeof(msg), "%s", server_msg);
		tl_error_set(err, TL_ERR_MISMATCH, "cannot write to %s: column `%s` of %s does not fit: %s",
			     tl_mysql__qname(t), ci < t->ncols ? t->cols[ci].name : col, keytext, msg);
		err->native = native;
		memcpy(err->sqlstate, sqlstate, sizeof(sqlstate));
	}
	free(col);
	return TL_ERR_MISMATCH;
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
		rc = tl_mysql__stmt_fail(c, st, err, "cannot prepare an insert into %s", tl_mysql__qname(t));
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
			rc = tl_mysql__stmt_fail(c, st, err, "cannot write to %s", tl_mysql__qname(src));
			if (err && is_data_error((unsigned)err->native))
				rc = blame_row(src, b, row, n, mysql_stmt_errno(st) ? mysql_stmt_error(st) : mysql_error(c->my),
					       err);
			evict(c, st);
			goto cleanup;
		}
		row += n;
	}
	if (mysql_commit(c->my) != 0) {
		rc = tl_mysql__fail(c, err, "cannot commit a batch into %s", tl_mysql__qname(src));
		/* COMMIT was sent: whether the server applied it before the line went is unknown */
		if (err && (err->flags & TL_ERRF_CONN_LOST))
			err->flags |= TL_ERRF_COMMIT_UNKNOWN;
		in_tx = 0;
		goto cleanup;
	}
	in_tx = 0;
cleanup:
	if (in_tx && c->my)
		(void)mysql_rollback(c->my);
	if (rc && err && err->native == LOCK_WAIT_TIMEOUT)
		tl_mysql__blame_lock(c, err);
	free(binds);
	free(lens);
	return rc;
}

int tl_mysql__data_error_at(const char *msg, char **col, size_t *row)
{
	const char *p, *q, *name = NULL;
	size_t len = 0;

	*col = NULL;
	*row = 0;
	/* "... for column 'c' at row 3", "... for column `db`.`t`.`c` at row 1",
	 * "Column 'c' cannot be null": the quoted name after the word column (the last
	 * part of a qualified name) */
	p = strstr(msg, "for column ");
	if (p)
		p += strlen("for column ");
	else if (strncmp(msg, "Column ", 7) == 0)
		p = msg + 7;
	else if ((p = strstr(msg, ": Column ")) != NULL)
		p += strlen(": Column ");
	if (!p)
		return -1;
	while (*p == '\'' || *p == '`') {
		char quote = *p++;
		q = strchr(p, quote);
		if (!q)
			return -1;
		name = p;
		len = (size_t)(q - p);
		p = q + 1;
		if (*p != '.')
			break;
		p++;
	}
	if (!name)
		return -1;
	if ((q = strstr(p, " at row ")) != NULL) {
		char *end = NULL;
		unsigned long long v = strtoull(q + strlen(" at row "), &end, 10);
		if (end && end != q + strlen(" at row "))
			*row = (size_t)v;
	}
	*col = tl_strndup(name, len);
	return *col ? 0 : -1;
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
	if (rc && err && err->native == LOCK_WAIT_TIMEOUT)
		tl_mysql__blame_lock(c, err);
	if (rc)
		tl_error_prefix(err, "cannot delete from %s", tl_mysql__qname(src));
cleanup:
	tl_buf_release(&q);
	return rc;
}

struct durability {
	long long flush, sync_binlog, log_bin;
};

static int durability_row(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	struct durability *d = ctx;

	(void)lens;
	if (nf < 3 || !v[0] || !v[1] || !v[2])
		return tl_error_set(err, TL_ERR_DB, "unexpected answer reading the durability settings");
	d->flush = strtoll(v[0], NULL, 10);
	d->sync_binlog = strtoll(v[1], NULL, 10);
	d->log_bin = strtoll(v[2], NULL, 10);
	return 0;
}

int tl_mysql__durability_warning(tl_conn *c, char **out, tl_error *err)
{
	static const char *const sql =
		"SELECT @@GLOBAL.innodb_flush_log_at_trx_commit, @@GLOBAL.sync_binlog, @@GLOBAL.log_bin";
	struct durability d = {1, 1, 0};
	tl_buf msg = TL_BUF_INIT;
	int rc;

	*out = NULL;
	if ((rc = tl_mysql__ready(c, err)))
		return rc;
	if ((rc = tl_mysql__query_text(c, sql, durability_row, &d, err)))
		return tl_error_prefix(err, "cannot read the durability settings of mysql at %s:%d", c->p.host, c->p.port);
	if (d.flush == 1 && (!d.log_bin || d.sync_binlog == 1))
		return 0;
	rc = tl_buf_printf(&msg, err, "commits on mysql at %s:%d are not durable:", c->p.host, c->p.port);
	if (!rc && d.flush == 0)
		rc = tl_buf_puts(&msg, " innodb_flush_log_at_trx_commit=0 (a crash of the server loses about the "
				       "last second of commits)", err);
	else if (!rc && d.flush != 1)
		rc = tl_buf_printf(&msg, err, " innodb_flush_log_at_trx_commit=%lld (a crash of its machine loses "
					      "about the last second of commits)", d.flush);
	if (!rc && d.log_bin && d.sync_binlog != 1)
		rc = tl_buf_printf(&msg, err, "%s binary log with sync_binlog=%lld (a crash of its machine can roll back "
					      "commits missing from the log)", d.flush != 1 ? "," : "", d.sync_binlog);
	if (!rc)
		rc = tl_buf_puts(&msg, "; a checkpoint may then point past rows the target lost: set "
				       "innodb_flush_log_at_trx_commit=1 and sync_binlog=1, or run verify after a "
				       "target crash", err);
	if (!rc)
		*out = tl_buf_detach(&msg);
	tl_buf_release(&msg);
	return rc;
}
