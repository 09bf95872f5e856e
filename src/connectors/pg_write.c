/*
 * pg_write.c - PostgreSQL connector: writing batches and deleting a partial tail.
 *
 * One transaction per write_batch call. Into a target known to be empty, rows go through
 * COPY … FROM STDIN (text format, values escaped: \\ \t \n \r, NULL as \N) - the fast
 * path; a native batch (COPY text lines or binary tuples from this driver's reader) is
 * sent unchanged. tl_pg__native_form allows binary only when every column has the same
 * built-in type on both sides (binary input checks nothing a type change would need).
 * Otherwise multi-row INSERTs (with ON CONFLICT (key) DO UPDATE when upserting a keyed
 * table; never ON CONFLICT for a keyless one) of at most 1000 rows and 65000 parameters
 * each (a native batch is decoded into cells first). Statements are prepared once per (table shape, row count) and kept in
 * a small per-connection cache; row counts are the full chunk size or a power of two, so
 * a table needs at most a dozen statements whatever the batch sizes. OVERRIDING SYSTEM
 * VALUE lets identity columns keep their source values (COPY does that by itself).
 * Cells are the text the pg reader produced and go back as text parameters unchanged.
 * Must not read rows or touch tables other than the one written.
 */
#include <stdlib.h>
#include <string.h>
#include "pg_int.h"

#define MAX_ROWS_PER_STMT 1000
#define MAX_PARAMS_PER_STMT 65000
#define COPY_CHUNK (256 * 1024)

/* Appends a COPY text-format field. */
static int copy_field(tl_buf *out, const char *v, size_t n, tl_error *err)
{
	size_t i, start = 0;
	int rc = 0;

	if (!v)
		return tl_buf_puts(out, "\\N", err);
	for (i = 0; !rc && i < n; i++) {
		const char *esc = NULL;
		switch (v[i]) {
		case '\\': esc = "\\\\"; break;
		case '\t': esc = "\\t"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		default: break;
		}
		if (!esc)
			continue;
		rc = tl_buf_put(out, v + start, i - start, err);
		if (!rc)
			rc = tl_buf_puts(out, esc, err);
		start = i + 1;
	}
	if (!rc)
		rc = tl_buf_put(out, v + start, n - start, err);
	return rc;
}

static int put_collist(tl_buf *sql, const tl_table *t, tl_error *err)
{
	size_t i;
	int rc = tl_buf_putc(sql, '(', err);

	for (i = 0; !rc && i < t->ncols; i++) {
		if (i)
			rc = tl_buf_puts(sql, ", ", err);
		if (!rc)
			rc = tl_pg__quote_ident(sql, t->cols[i].name, err);
	}
	if (!rc)
		rc = tl_buf_putc(sql, ')', err);
	return rc;
}

/*
 * Appends row r in COPY form: a native line (newline included) or binary tuple as this
 * driver's reader produced it, cells encoded as one text line.
 */
static int put_row(tl_buf *out, const tl_table *t, const tl_batch *b, size_t r, tl_error *err)
{
	size_t i, len;
	const char *v;
	int rc = 0;

	if (b->form != TL_BATCH_CELLS) {
		v = tl_batch_cell(b, r, 0, &len);
		return tl_buf_put(out, v, len, err);
	}
	for (i = 0; !rc && i < t->ncols; i++) {
		v = tl_batch_cell(b, r, i, &len);
		if (i)
			rc = tl_buf_putc(out, '\t', err);
		if (!rc)
			rc = copy_field(out, v, len, err);
	}
	return rc ? rc : tl_buf_putc(out, '\n', err);
}

static int copy_rows(tl_conn *c, const tl_table *t, const tl_batch *b, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT, data = TL_BUF_INIT;
	PGresult *res = NULL;
	tl_error ignored = TL_ERROR_INIT;
	size_t r;
	int rc, in_copy = 0;

	tl_buf_init(&sql, 0);
	tl_buf_init(&data, 0);
	rc = tl_buf_puts(&sql, "COPY ", err);
	if (!rc)
		rc = tl_pg__quote_table(&sql, t->schema, t->name, err);
	if (!rc)
		rc = tl_buf_putc(&sql, ' ', err);
	if (!rc)
		rc = put_collist(&sql, t, err);
	if (!rc)
		rc = tl_buf_puts(&sql, b->form == TL_BATCH_NATIVE_BINARY ? " FROM STDIN (FORMAT binary)" : " FROM STDIN", err);
	if (!rc && b->form == TL_BATCH_NATIVE_BINARY)
		rc = tl_buf_put(&data, tl_pg__bin_header, TL_PG_BIN_HEADER, err);
	if (rc)
		goto cleanup;
	if ((rc = tl_pg__run(c, tl_buf_cstr(&sql), 0, NULL, &res, err))) {
		tl_error_prefix(err, "cannot start COPY");
		goto cleanup;
	}
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		rc = tl_pg__res_error(err, res, c->pg, "cannot start COPY");
		goto cleanup;
	}
	PQclear(res);
	res = NULL;
	in_copy = 1;
	for (r = 0; r < b->nrows; r++) {
		rc = put_row(&data, t, b, r, err);
		if (!rc && b->form == TL_BATCH_NATIVE_BINARY && r + 1 == b->nrows)
			rc = tl_buf_put(&data, "\377\377", 2, err); /* trailer: field count -1 */
		if (rc)
			goto cleanup;
		if (data.len >= COPY_CHUNK || r + 1 == b->nrows) {
			if ((rc = tl_pg__copy_put(c, data.data, data.len, err))) {
				tl_error_prefix(err, "cannot send COPY data");
				goto cleanup;
			}
			tl_buf_reset(&data);
		}
	}
	in_copy = 0;
	if ((rc = tl_pg__copy_end(c, NULL, err))) {
		tl_error_prefix(err, "cannot finish COPY");
		goto cleanup;
	}
cleanup:
	if (in_copy && !c->dead && tl_pg__copy_end(c, "tideline: write aborted", &ignored) != 0) {
		/* the connection went while aborting: rc already says why the copy stopped */
	}
	PQclear(res);
	res = NULL;
	/* Collect COPY's final result(s); the first failure wins. */
	while (!c->dead) {
		tl_error lerr = TL_ERROR_INIT;
		if (tl_pg__next_result(c, &res, &lerr)) {
			if (rc == 0 && err)
				*err = lerr;
			rc = rc ? rc : lerr.code;
			break;
		}
		if (!res)
			break;
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
			rc = tl_pg__res_error(err, res, c->pg, "cannot COPY rows");
		PQclear(res);
	}
	tl_buf_release(&sql);
	tl_buf_release(&data);
	return rc;
}

/*
 * Builds the parts of an INSERT around the VALUES list: head "INSERT INTO … (cols)
 * OVERRIDING SYSTEM VALUE VALUES " and tail " ON CONFLICT … " (empty without upsert).
 */
static int insert_parts(const tl_table *t, int upsert, tl_buf *head, tl_buf *tail, tl_error *err)
{
	size_t i, k;
	int rc = tl_buf_puts(head, "INSERT INTO ", err), first = 1;

	if (!rc)
		rc = tl_pg__quote_table(head, t->schema, t->name, err);
	if (!rc)
		rc = tl_buf_putc(head, ' ', err);
	if (!rc)
		rc = put_collist(head, t, err);
	if (!rc)
		rc = tl_buf_puts(head, " OVERRIDING SYSTEM VALUE VALUES ", err);
	if (rc || !upsert)
		return rc;
	rc = tl_buf_puts(tail, " ON CONFLICT (", err);
	for (k = 0; !rc && k < t->nkeys; k++) {
		if (k)
			rc = tl_buf_puts(tail, ", ", err);
		if (!rc)
			rc = tl_pg__quote_ident(tail, t->cols[t->key_idx[k]].name, err);
	}
	if (!rc)
		rc = tl_buf_puts(tail, ") DO ", err);
	for (i = 0; !rc && i < t->ncols; i++) {
		int is_key = 0;
		for (k = 0; k < t->nkeys; k++)
			is_key |= t->key_idx[k] == i;
		/* an identity ALWAYS column can only be "updated" to DEFAULT: leave it */
		if (is_key || tl_pg__identity_always(t, i))
			continue;
		rc = tl_buf_puts(tail, first ? "UPDATE SET " : ", ", err);
		first = 0;
		if (!rc)
			rc = tl_pg__quote_ident(tail, t->cols[i].name, err);
		if (!rc)
			rc = tl_buf_puts(tail, " = EXCLUDED.", err);
		if (!rc)
			rc = tl_pg__quote_ident(tail, t->cols[i].name, err);
	}
	if (!rc && first)
		rc = tl_buf_puts(tail, "NOTHING", err);
	return rc;
}

/* Finds or prepares the statement for `shape` with nrows rows; *name receives its name. */
static int get_stmt(tl_conn *c, const tl_table *t, const char *head, const char *tail, const char *shape,
		    size_t nrows, char *name, size_t name_len, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT;
	struct tl_pg_stmt *slot = NULL;
	PGresult *res = NULL;
	size_t i, r, n = 0;
	int rc;

	for (i = 0; i < TL_PG_STMT_CACHE; i++) {
		struct tl_pg_stmt *s = &c->stmts[i];
		if (s->shape && s->nrows == nrows && strcmp(s->shape, shape) == 0) {
			snprintf(name, name_len, "tl_ins_%u", s->id);
			return 0;
		}
		if (!s->shape && !slot)
			slot = s;
	}
	if (!slot) {
		slot = &c->stmts[c->stmt_evict];
		c->stmt_evict = (c->stmt_evict + 1) % TL_PG_STMT_CACHE;
		snprintf(name, name_len, "DEALLOCATE tl_ins_%u", slot->id);
		if (tl_pg__run(c, name, 0, NULL, &res, err)) /* a failed DEALLOCATE only leaks a plan */
			return tl_error_prefix(err, "cannot prepare INSERT");
		PQclear(res);
		res = NULL;
		free(slot->shape);
		slot->shape = NULL;
	}
	tl_buf_init(&sql, 0);
	rc = tl_buf_puts(&sql, head, err);
	for (r = 0; !rc && r < nrows; r++) {
		rc = tl_buf_puts(&sql, r ? ", (" : "(", err);
		for (i = 0; !rc && i < t->ncols; i++)
			rc = tl_buf_printf(&sql, err, i ? ", $%zu" : "$%zu", ++n);
		if (!rc)
			rc = tl_buf_putc(&sql, ')', err);
	}
	if (!rc)
		rc = tl_buf_puts(&sql, tail, err);
	if (rc)
		goto cleanup;
	c->next_stmt_id++;
	snprintf(name, name_len, "tl_ins_%u", c->next_stmt_id);
	if ((rc = tl_pg__run_prepare(c, name, tl_buf_cstr(&sql), &res, err))) {
		tl_error_prefix(err, "cannot prepare INSERT");
		goto cleanup;
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = tl_pg__res_error(err, res, c->pg, "cannot prepare INSERT");
		goto cleanup;
	}
	slot->shape = tl_strdup(shape);
	if (!slot->shape) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory caching a statement");
		goto cleanup;
	}
	slot->nrows = nrows;
	slot->id = c->next_stmt_id;
cleanup:
	PQclear(res);
	tl_buf_release(&sql);
	return rc;
}

static int insert_rows(tl_conn *c, const tl_table *t, const tl_batch *b, int upsert, tl_error *err)
{
	tl_buf head = TL_BUF_INIT, tail = TL_BUF_INIT, shape = TL_BUF_INIT;
	const char **vals = NULL;
	PGresult *res = NULL;
	size_t per, done = 0;
	char name[64];
	int rc;

	tl_buf_init(&head, 0);
	tl_buf_init(&tail, 0);
	tl_buf_init(&shape, 0);
	rc = insert_parts(t, upsert, &head, &tail, err);
	if (!rc)
		rc = tl_buf_printf(&shape, err, "%s\n%s", tl_buf_cstr(&head), tl_buf_cstr(&tail));
	if (rc)
		goto cleanup;
	per = MAX_PARAMS_PER_STMT / (t->ncols ? t->ncols : 1);
	if (per > MAX_ROWS_PER_STMT)
		per = MAX_ROWS_PER_STMT;
	if (per == 0) {
		rc = tl_error_set(err, TL_ERR_UNSUPPORTED, "table has too many columns for one INSERT");
		goto cleanup;
	}
	vals = calloc(per * t->ncols + 1, sizeof(*vals));
	if (!vals) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory writing rows");
		goto cleanup;
	}
	while (done < b->nrows) {
		size_t left = b->nrows - done, n = per, r, i, k = 0;

		if (left < per) /* the largest power of two that fits: few distinct statements */
			for (n = 1; n * 2 <= left; n *= 2)
				;
		rc = get_stmt(c, t, tl_buf_cstr(&head), tl_buf_cstr(&tail), tl_buf_cstr(&shape), n, name,
			      sizeof(name), err);
		if (rc)
			goto cleanup;
		for (r = 0; r < n; r++)
			for (i = 0; i < t->ncols; i++)
				vals[k++] = tl_batch_cell(b, done + r, i, NULL);
		if ((rc = tl_pg__run_prepared(c, name, (int)k, vals, &res, err))) {
			tl_error_prefix(err, "cannot insert rows");
			goto cleanup;
		}
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			rc = tl_pg__res_error(err, res, c->pg, "cannot insert rows");
			goto cleanup;
		}
		PQclear(res);
		res = NULL;
		done += n;
	}
cleanup:
	PQclear(res);
	free(vals);
	tl_buf_release(&head);
	tl_buf_release(&tail);
	tl_buf_release(&shape);
	return rc;
}

/* The rows of one batch inside the open transaction: COPY into an empty target, else INSERTs. */
static int write_rows(tl_conn *target, const tl_table *src, const tl_batch *b, unsigned flags, tl_error *err)
{
	const int upsert = (flags & TL_WRITE_UPSERT) && src->nkeys > 0;
	tl_batch cells;
	int rc;

	if (flags & TL_WRITE_TARGET_EMPTY)
		return copy_rows(target, src, b, err);
	if (b->form == TL_BATCH_NATIVE_BINARY)
		return tl_error_set(err, TL_ERR_INTERNAL, "binary rows for a target that was not empty");
	if (b->form != TL_BATCH_NATIVE)
		return insert_rows(target, src, b, upsert, err);
	tl_batch_init(&cells, src->ncols, b->soft_bytes);
	rc = tl_pg__native_to_cells(b, &cells, err);
	if (!rc)
		rc = insert_rows(target, src, &cells, upsert, err);
	tl_batch_release(&cells);
	return rc;
}

int tl_pg__write_batch(tl_conn *target, const tl_table *src, const tl_batch *b, unsigned flags, tl_error *err)
{
	char label[600];
	int rc;

	if (b->nrows == 0)
		return 0;
	if (b->ncols != src->ncols)
		return tl_error_set(err, TL_ERR_INTERNAL, "batch has %zu columns, table has %zu", b->ncols, src->ncols);
	tl_pg__table_label(label, sizeof(label), src->schema, src->name);
	if (target->in_reader) /* the connection is busy streaming a COPY */
		return tl_error_set(err, TL_ERR_INTERNAL, "writing %s on a connection with an open reader", label);
	rc = tl_pg__exec(target, "BEGIN", 0, NULL, NULL, "cannot begin a write transaction", err);
	if (rc)
		return tl_error_prefix(err, "%s", label);
	/* A position will point at this commit: it must reach the WAL on disk before COMMIT
	 * returns. Raised only from off (local, remote_write, on, remote_apply all flush
	 * locally, and lowering remote_apply would weaken a standby's guarantee). WAL is
	 * flushed in order, so every commit before this one is durable with it. */
	if ((flags & TL_WRITE_DURABLE) && target->async_commit)
		rc = tl_pg__exec(target, "SET LOCAL synchronous_commit = on", 0, NULL, NULL,
				 "cannot make the commit durable", err);
	if (!rc)
		rc = write_rows(target, src, b, flags, err);
	if (!rc) {
		rc = tl_pg__exec(target, "COMMIT", 0, NULL, NULL, "cannot commit", err);
		/* COMMIT was sent: whether the server applied it before the line went is unknown */
		if (rc && err && (err->flags & TL_ERRF_CONN_LOST))
			err->flags |= TL_ERRF_COMMIT_UNKNOWN;
	}
	if (rc) {
		tl_pg__rollback(target);
		if (err && strcmp(err->sqlstate, "55P03") == 0)
			tl_pg__blame_lock(target, src, err);
		return tl_error_prefix(err, "writing %s", label);
	}
	return 0;
}

int tl_pg__delete_after(tl_conn *target, const tl_table *src, const char *after, int nulls, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT, param = TL_BUF_INIT;
	PGresult *res = NULL;
	const char *pv = NULL;
	const char *cast;
	char label[600];
	size_t pc = src->part_idx;
	int rc, np = 0;

	tl_buf_init(&sql, 0);
	tl_buf_init(&param, 0);
	tl_pg__table_label(label, sizeof(label), src->schema, src->name);
	if (src->ncols == 0)
		return tl_error_set(err, TL_ERR_INTERNAL, "delete from a table without columns");
	rc = tl_buf_puts(&sql, "DELETE FROM ", err);
	if (!rc)
		rc = tl_pg__quote_table(&sql, src->schema, src->name, err);
	if (!rc && (nulls || after))
		rc = tl_buf_puts(&sql, " WHERE ", err);
	if (!rc && nulls == TL_DELETE_KEY_NULLS) {
		/* rows with a NULL in any key column (the NULL pass re-copies them all) */
		size_t k;
		for (k = 0; !rc && k < src->nkeys; k++) {
			if (k)
				rc = tl_buf_puts(&sql, " OR ", err);
			if (!rc)
				rc = tl_pg__quote_ident(&sql, src->cols[src->key_idx[k]].name, err);
			if (!rc)
				rc = tl_buf_puts(&sql, " IS NULL", err);
		}
	} else if (!rc && (nulls || after))
		rc = tl_pg__quote_ident(&sql, src->cols[pc].name, err);
	if (!rc && nulls == TL_DELETE_KEY_NULLS) {
		/* done above */
	} else if (!rc && nulls) {
		rc = tl_buf_puts(&sql, " IS NULL", err);
	} else if (!rc && after) {
		cast = tl_pg__cast(src, pc);
		rc = tl_pg__pos_param(src, pc, after, &param, err);
		if (!rc)
			rc = cast ? tl_buf_printf(&sql, err, " > $1::%s", cast) : tl_buf_puts(&sql, " > $1", err);
		pv = tl_buf_cstr(&param);
		np = 1;
	}
	if (rc)
		goto cleanup;
	if ((rc = tl_pg__run(target, tl_buf_cstr(&sql), np, &pv, &res, err))) {
		tl_error_prefix(err, "cannot delete from %s", label);
		goto cleanup;
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		const char *st = tl_pg__sqlstate(res);
		rc = tl_pg__res_error(err, res, target->pg, "cannot delete from %s", label);
		if (np && st[0] == '2' && st[1] == '2')
			rc = tl_pg__blame_values(target, src, &pc, &after, 1, err);
		else if (strcmp(st, "55P03") == 0)
			tl_pg__blame_lock(target, src, err);
	}
cleanup:
	PQclear(res);
	tl_buf_release(&sql);
	tl_buf_release(&param);
	return rc;
}

int tl_pg__native_form(tl_conn *target, const tl_table *src, int *level, tl_error *err)
{
	static const char sql[] =
		"SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
		"t.typnamespace = 'pg_catalog'::regnamespace AND t.typsend <> 0 AND t.typreceive <> 0 "
		"FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
		"WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''";
	tl_buf name = TL_BUF_INIT;
	PGresult *res = NULL;
	const char *param;
	size_t i;
	int row, rc, same = 1;

	*level = 1;
	if (!tl_pg__binary_keys_ok(src))
		return 0;
	tl_buf_init(&name, 0);
	if ((rc = tl_pg__quote_table(&name, src->schema, src->name, err)))
		goto cleanup;
	param = tl_buf_cstr(&name);
	if ((rc = tl_pg__exec(target, sql, 1, &param, &res, "cannot read target column types", err)))
		goto cleanup;
	for (i = 0; same && i < src->ncols; i++) {
		const char *cast = tl_pg__cast(src, i);
		int found = 0;
		if (!cast || strncmp(cast, "pg_catalog.", 11) != 0)
			same = 0;
		for (row = 0; same && !found && row < PQntuples(res); row++) {
			if (strcmp(PQgetvalue(res, row, 0), src->cols[i].name) != 0)
				continue;
			found = 1;
			same = strcmp(PQgetvalue(res, row, 1), src->cols[i].type) == 0 &&
			       strcmp(PQgetvalue(res, row, 2), "t") == 0;
		}
		if (!found)
			same = 0;
	}
	if (same)
		*level = 2;
cleanup:
	PQclear(res);
	tl_buf_release(&name);
	return rc;
}

int tl_pg__durability_warning(tl_conn *target, char **out, tl_error *err)
{
	static const char sql[] = "SELECT current_setting('fsync'), current_setting('full_page_writes')";
	tl_buf msg = TL_BUF_INIT;
	PGresult *res = NULL;
	int fsync_off, fpw_off, rc;

	*out = NULL;
	if ((rc = tl_pg__exec(target, sql, 0, NULL, &res, "cannot read the durability settings", err)))
		return tl_error_prefix(err, "pg at %s", target->where);
	fsync_off = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "off") == 0;
	fpw_off = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 1), "off") == 0;
	PQclear(res);
	if (!fsync_off && !fpw_off)
		return 0;
	tl_buf_init(&msg, 0);
	rc = tl_buf_printf(&msg, err, "commits on pg at %s are not durable:%s%s%s (a crash of its machine can lose "
				      "committed rows a checkpoint already points past, or corrupt the cluster); set "
				      "fsync=on and full_page_writes=on, or run verify after a target crash",
			   target->where, fsync_off ? " fsync=off" : "", fsync_off && fpw_off ? "," : "",
			   fpw_off ? " full_page_writes=off" : "");
	if (!rc)
		*out = tl_buf_detach(&msg);
	tl_buf_release(&msg);
	return rc;
}
