/*
 * store_copy.c - a consistent copy of a store (either backend) into a new SQLite store
 * file (tl_store_copy, store.h): what `plan` works on when the store is the shared
 * PostgreSQL one (it imports the text sources into its private copy, never into the
 * shared store), and a way to take a PostgreSQL store home as one file.
 *
 * Works like this: the source is read in one read transaction (PostgreSQL: repeatable
 * read, so every table is copied as of one moment while workers write), table by table
 * with SELECT *; the copy is created by tl_store_open at the same schema version, so the
 * columns are the same in the same order (schema/ and schema/pg/ keep them so), and is
 * written in one transaction. A failed copy removes the new file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "store/store_int.h"
#include "tideline/buf.h"

/* The tables a copy carries, in dependency-free order. */
static const char *const copy_tables[] = {
	"position", "finished", "task_seq", "task_table", "rate_sample", "import_source", "task_lock", "other_record",
	"work_item", "worker", "schema_step",
};

/* Copies one table's rows (of one task, or all when task_id is NULL). */
static int copy_table(tl_store *src, tl_store *dst, const char *table, const char *task_id, size_t *rows,
		      tl_error *err)
{
	tl_buf sel = TL_BUF_INIT, ins = TL_BUF_INIT;
	tl_sdb_stmt *from = NULL, *to = NULL;
	int rc, step, n = 0, i;

	/* table names come from copy_tables above, never from outside */
	if ((rc = tl_buf_printf(&sel, err, "SELECT * FROM %s WHERE CAST(?1 AS TEXT) IS NULL OR task_id = ?1", table)) ||
	    (rc = tl_store__prepare(src, tl_buf_cstr(&sel), NULL, &from, err)) ||
	    (rc = tl_store__bind_text(src, from, 1, task_id, err)))
		goto cleanup;
	while ((step = tl_store__step(src, from, "reading for a copy", err)) == 1) {
		if (!to) {
			n = src->ops->col_count(from);
			if ((rc = tl_buf_printf(&ins, err, "INSERT INTO %s VALUES (", table)))
				goto cleanup;
			for (i = 1; i <= n; i++)
				if ((rc = tl_buf_printf(&ins, err, "%s?%d", i > 1 ? ", " : "", i)))
					goto cleanup;
			if ((rc = tl_buf_putc(&ins, ')', err)) ||
			    (rc = tl_store__prepare(dst, tl_buf_cstr(&ins), NULL, &to, err)))
				goto cleanup;
		}
		for (i = 0; i < n && rc == 0; i++) {
			size_t len = 0;
			const char *t;

			switch (src->ops->col_type(from, i)) {
			case TL_SDB_NULL: rc = dst->ops->bind_null(to, i + 1, err); break;
			case TL_SDB_INT: rc = dst->ops->bind_i64(to, i + 1, src->ops->col_i64(from, i), err); break;
			case TL_SDB_REAL: rc = dst->ops->bind_double(to, i + 1, src->ops->col_double(from, i), err); break;
			default:
				t = src->ops->col_text(from, i, &len);
				rc = dst->ops->bind_text(to, i + 1, t, len, err);
			}
		}
		if (rc) {
			rc = tl_store__fail(dst, "binding a parameter", err);
			goto cleanup;
		}
		if ((rc = tl_store__done(dst, to, "writing the copy", NULL, err)))
			goto cleanup;
		(*rows)++;
	}
	rc = step < 0 ? step : 0;
cleanup:
	tl_store__finalize(src, from);
	tl_store__finalize(dst, to);
	tl_buf_release(&sel);
	tl_buf_release(&ins);
	return rc;
}

static void remove_store_files(const char *dest)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[4200];
	size_t i;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", dest, suffix[i]);
		(void)unlink(p);
	}
}

int tl_store_copy(tl_store *s, const char *dest, const char *task_id, size_t *rows, tl_error *err)
{
	tl_store *d = NULL;
	size_t i, n = 0;
	int rc, owned = 0;

	if (rows)
		*rows = 0;
	if (tl_store_is_url(dest))
		return tl_error_set(err, TL_ERR_UNSUPPORTED, "a store copy is an SQLite file, not '%s'", dest);
	if (access(dest, F_OK) == 0)
		return tl_error_set(err, TL_ERR_IO, "cannot copy store '%s' to '%s': the file exists", s->display, dest);
	if ((rc = tl_store_open(&d, dest, 0, err)))
		return rc;
	if ((rc = tl_store__read_enter(s, &owned, err)))
		goto cleanup;
	if ((rc = tl_store_begin(d, err)))
		goto cleanup;
	for (i = 0; i < sizeof(copy_tables) / sizeof(copy_tables[0]) && rc == 0; i++)
		rc = copy_table(s, d, copy_tables[i], task_id, &n, err);
	if (rc)
		tl_store_rollback(d);
	else
		rc = tl_store_commit(d, err);
cleanup:
	tl_store__read_leave(s, owned);
	tl_store_close(d);
	if (rc) {
		remove_store_files(dest);
		return tl_error_prefix(err, "cannot copy store '%s' to '%s'", s->display, dest);
	}
	if (rows)
		*rows = n;
	return 0;
}
