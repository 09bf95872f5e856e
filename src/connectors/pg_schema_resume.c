/*
 * pg_schema_resume.c - resuming a table tideline created without its keys (the
 * delete_after_key slot): a table loaded before its primary / unique key exists cannot
 * take upserts (nothing to conflict on), so a resumed copy removes the rows past the
 * checkpoint - compared as a row, exactly as the keyed reader orders and skips them, so
 * composite keys resume at the right row - and loads the rest in bulk (docs/schema.md).
 */
#include <stdlib.h>
#include <string.h>
#include "pg_schema_int.h"

int tl_pg__delete_after_key(tl_conn *target, const tl_table *src, const tl_keyvals *after, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT, tmp = TL_BUF_INIT;
	char **vals = NULL;
	const char **pv = NULL;
	size_t i, *cols = NULL;
	int rc = 0, conds = 0;
	char label[600];

	tl_pg__table_label(label, sizeof(label), src->schema, src->name);
	if (src->nkeys == 0)
		return tl_error_set(err, TL_ERR_INTERNAL, "delete past a key of %s, which has no key", label);
	if (after && after->n != src->nkeys)
		return tl_error_set(err, TL_ERR_INTERNAL, "resume key of %s has %zu values, the key has %zu columns", label,
				    after->n, src->nkeys);
	vals = calloc(src->nkeys, sizeof(*vals));
	pv = calloc(src->nkeys, sizeof(*pv));
	cols = calloc(src->nkeys, sizeof(*cols));
	if (!vals || !pv || !cols) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory deleting from %s", label);
		goto cleanup;
	}
	rc = tl_buf_puts(&sql, "DELETE FROM ", err);
	if (!rc)
		rc = tl_pg__quote_table(&sql, src->schema, src->name, err);
	if (!rc && after) {
		rc = tl_buf_puts(&sql, src->nkeys > 1 ? " WHERE (" : " WHERE ", err);
		for (i = 0; !rc && i < src->nkeys; i++) {
			rc = i ? tl_buf_puts(&sql, ", ", err) : 0;
			if (!rc)
				rc = tl_pg__quote_ident(&sql, src->cols[src->key_idx[i]].name, err);
		}
		if (!rc)
			rc = tl_buf_puts(&sql, src->nkeys > 1 ? ") > (" : " > ", err);
		for (i = 0; !rc && i < src->nkeys; i++) {
			const char *cast = tl_pg__cast(src, src->key_idx[i]);
			if (!after->vals[i]) {
				rc = tl_error_set(err, TL_ERR_MISMATCH, "resume key of %s has a NULL in column \"%s\"", label,
						  src->cols[src->key_idx[i]].name);
				break;
			}
			tl_buf_reset(&tmp);
			rc = tl_pg__pos_param(src, src->key_idx[i], after->vals[i], &tmp, err);
			if (!rc && !(vals[i] = tl_buf_detach(&tmp)))
				rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory deleting from %s", label);
			pv[i] = vals[i];
			cols[i] = src->key_idx[i];
			if (!rc)
				rc = cast ? tl_buf_printf(&sql, err, "%s$%zu::%s", i ? ", " : "", i + 1, cast)
					  : tl_buf_printf(&sql, err, "%s$%zu", i ? ", " : "", i + 1);
		}
		if (!rc && src->nkeys > 1)
			rc = tl_buf_putc(&sql, ')', err);
		conds = 1;
		/* rows with a NULL key column sort nowhere: the NULL pass copies them again */
		for (i = 0; !rc && i < src->nkeys; i++) {
			if (!src->cols[src->key_idx[i]].nullable)
				continue;
			rc = tl_buf_puts(&sql, " OR ", err);
			if (!rc)
				rc = tl_pg__quote_ident(&sql, src->cols[src->key_idx[i]].name, err);
			if (!rc)
				rc = tl_buf_puts(&sql, " IS NULL", err);
		}
	}
	if (!rc) {
		PGresult *res = PQexecParams(target->pg, tl_buf_cstr(&sql), conds ? (int)src->nkeys : 0, NULL,
					     conds ? pv : NULL, NULL, NULL, 0);
		if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
			const char *st = tl_pg__sqlstate(res);
			rc = tl_pg__res_error(err, res, target->pg, "cannot delete from %s", label);
			if (conds && st[0] == '2' && st[1] == '2')
				rc = tl_pg__blame_values(target, src, cols, (const char *const *)after->vals, src->nkeys, err);
		}
		PQclear(res);
	}
cleanup:
	for (i = 0; vals && i < src->nkeys; i++)
		free(vals[i]);
	free(vals);
	free(pv);
	free(cols);
	tl_buf_release(&sql);
	tl_buf_release(&tmp);
	return rc;
}
