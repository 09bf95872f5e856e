/*
 * mysql_schema_resume.c - resuming a table tideline created without its secondary
 * unique keys (the delete_after_key slot): rows past the checkpoint, compared as a row
 * exactly as the keyed reader skips them, are removed before the copy goes on in bulk,
 * and rows with a NULL key column too (the NULL pass copies them again). See
 * docs/schema.md, "resuming a table tideline created".
 */
#include <string.h>
#include "connectors/mysql_schema_int.h"

int tl_mysql__delete_after_key(tl_conn *c, const tl_table *src, const tl_keyvals *after, tl_error *err)
{
	tl_buf q = TL_BUF_INIT;
	size_t i;
	int rc;

	rc = tl_mysql__ready(c, err);
	if (rc)
		return rc;
	if (src->nkeys == 0)
		return tl_error_set(err, TL_ERR_INTERNAL, "delete past a key of %s, which has no key", tl_mysql__qname(src));
	if (after && after->n != src->nkeys)
		return tl_error_set(err, TL_ERR_INTERNAL, "resume key of %s has %zu values, the key has %zu columns",
				    tl_mysql__qname(src), after->n, src->nkeys);
	rc = tl_buf_printf(&q, err, "DELETE FROM %s", tl_mysql__qname(src));
	if (!rc && after) {
		rc = tl_buf_puts(&q, src->nkeys > 1 ? " WHERE (" : " WHERE ", err);
		for (i = 0; !rc && i < src->nkeys; i++) {
			rc = i ? tl_buf_puts(&q, ", ", err) : 0;
			if (!rc)
				rc = tl_mysql__qident(&q, src->cols[src->key_idx[i]].name, err);
		}
		if (!rc)
			rc = tl_buf_puts(&q, src->nkeys > 1 ? ") > (" : " > ", err);
		for (i = 0; !rc && i < src->nkeys; i++) {
			if (!after->vals[i]) {
				rc = tl_error_set(err, TL_ERR_MISMATCH, "resume key of %s has a NULL in column `%s`",
						  tl_mysql__qname(src), src->cols[src->key_idx[i]].name);
				break;
			}
			rc = i ? tl_buf_puts(&q, ", ", err) : 0;
			if (!rc)
				rc = tl_mysql__literal(c, src, src->key_idx[i], after->vals[i], &q, err);
		}
		if (!rc && src->nkeys > 1)
			rc = tl_buf_putc(&q, ')', err);
		for (i = 0; !rc && i < src->nkeys; i++) {
			if (!src->cols[src->key_idx[i]].nullable)
				continue;
			rc = tl_buf_puts(&q, " OR ", err);
			if (!rc)
				rc = tl_mysql__qident(&q, src->cols[src->key_idx[i]].name, err);
			if (!rc)
				rc = tl_buf_puts(&q, " IS NULL", err);
		}
	}
	if (!rc) {
		rc = tl_mysql__exec(c, tl_buf_cstr(&q), err);
		if (rc)
			tl_error_prefix(err, "cannot delete from %s", tl_mysql__qname(src));
	}
	tl_buf_release(&q);
	return rc;
}
