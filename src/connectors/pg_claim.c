/*
 * pg_claim.c - PostgreSQL connector: checking what a checkpoint claims on the target
 * (key_exists) and claiming a target table while it is written (claim, release).
 *
 * A claim is a session-level advisory lock, pg_try_advisory_lock(bigint), whose key is
 * tl_claim_key(database, schema, table), so every task writing the table asks for the
 * same lock. It does not end with a transaction, only with pg_advisory_unlock or the
 * session (the server ends it when it notices that a crashed client is gone). The owner
 * line is set as the session's application_name first, so that whoever is refused finds
 * it in pg_stat_activity beside the holder's pid and client address (pg_locks: a bigint
 * key shows as classid = high 32 bits, objid = low 32 bits, objsubid = 1). The keys held
 * are kept on the connection: asking again for a lock the session holds would nest it.
 *
 * flush_commits commits, with synchronous_commit on, a transaction whose only WAL is a
 * transactional logical message (prefix 'tideline': logical decoding plugins skip it
 * unless asked for messages; a transaction that writes no WAL would not wait for a flush),
 * so the server flushes WAL through its commit, and with it every commit acknowledged
 * before. Callable by every role since 9.6.
 *
 * Must not write any row: these are reads, session locks and a WAL message only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pg_int.h"

/* Index of the data column of t named `name`, or -1. */
static long col_index(const tl_table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return (long)i;
	return -1;
}

int tl_pg__key_exists(tl_conn *c, const tl_table *src, const tl_keyvals *key, int *exists, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT, tmp = TL_BUF_INIT;
	PGresult *res = NULL;
	char **vals = NULL, label[600];
	const char **pv = NULL, **raw = NULL;
	size_t i, *cols = NULL;
	int rc = 0, np = 0;

	*exists = 0;
	tl_pg__table_label(label, sizeof(label), src->schema, src->name);
	if (!key || key->n == 0)
		return tl_error_set(err, TL_ERR_INTERNAL, "key lookup in %s without key columns", label);
	vals = calloc(key->n, sizeof(*vals));
	pv = calloc(key->n, sizeof(*pv));
	raw = calloc(key->n, sizeof(*raw));
	cols = calloc(key->n, sizeof(*cols));
	if (!vals || !pv || !raw || !cols) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory looking up a row of %s", label);
		goto cleanup;
	}
	rc = tl_buf_puts(&sql, "SELECT 1 FROM ", err);
	if (!rc)
		rc = tl_pg__quote_table(&sql, src->schema, src->name, err);
	if (!rc)
		rc = tl_buf_puts(&sql, " WHERE ", err);
	for (i = 0; !rc && i < key->n; i++) {
		long col = col_index(src, key->cols[i]);
		const char *cast;

		if (col < 0) {
			rc = tl_error_set(err, TL_ERR_INTERNAL, "key lookup in %s: no column \"%s\"", label, key->cols[i]);
			break;
		}
		rc = i ? tl_buf_puts(&sql, " AND ", err) : 0;
		if (!rc)
			rc = tl_pg__quote_ident(&sql, key->cols[i], err);
		if (rc)
			break;
		if (!key->vals[i]) {
			rc = tl_buf_puts(&sql, " IS NULL", err);
			continue;
		}
		tl_buf_reset(&tmp);
		if ((rc = tl_pg__pos_param(src, (size_t)col, key->vals[i], &tmp, err)))
			break;
		if (!(vals[np] = tl_buf_detach(&tmp))) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory looking up a row of %s", label);
			break;
		}
		pv[np] = vals[np];
		raw[np] = key->vals[i];
		cols[np] = (size_t)col;
		cast = tl_pg__cast(src, (size_t)col);
		np++;
		rc = cast ? tl_buf_printf(&sql, err, " = $%d::%s", np, cast) : tl_buf_printf(&sql, err, " = $%d", np);
	}
	if (!rc)
		rc = tl_buf_puts(&sql, " LIMIT 1", err);
	if (rc)
		goto cleanup;
	if ((rc = tl_pg__run(c, tl_buf_cstr(&sql), np, pv, &res, err))) {
		tl_error_prefix(err, "cannot look up a row of target table %s", label);
		goto cleanup;
	}
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		*exists = PQntuples(res) > 0;
	} else {
		const char *st = tl_pg__sqlstate(res);

		if (strcmp(st, "42P01") == 0) {
			rc = tl_error_set(err, TL_ERR_NOTFOUND, "target table %s does not exist", label);
		} else {
			rc = tl_pg__res_error(err, res, c->pg, "cannot look up a row of target table %s", label);
			if (st[0] == '2' && st[1] == '2') /* which value does not fit its column */
				rc = tl_pg__blame_values(c, src, cols, raw, (size_t)np, err);
		}
	}
cleanup:
	PQclear(res);
	for (i = 0; vals && i < key->n; i++)
		free(vals[i]);
	free(vals);
	free(pv);
	free(raw);
	free(cols);
	tl_buf_release(&sql);
	tl_buf_release(&tmp);
	return rc;
}

static int64_t claim_key(tl_conn *c, const tl_table *src)
{
	return (int64_t)tl_claim_key(PQdb(c->pg), src->schema, src->name);
}

static long held_at(const tl_conn *c, int64_t key)
{
	size_t i;

	for (i = 0; i < c->nclaims; i++)
		if (c->claims[i] == key)
			return (long)i;
	return -1;
}

/* TL_ERR_LOCKED naming src's target table and the session holding the lock. */
static int refuse(tl_conn *c, const tl_table *src, int64_t key, const char *label, tl_error *err)
{
	static const char sql[] =
		"SELECT l.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'a local socket'), "
		"coalesce(date_trunc('second', a.backend_start)::text, '?'), coalesce(a.usename::text, '?') "
		"FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
		"WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
		"AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()) "
		"AND l.classid = $1::oid AND l.objid = $2::oid LIMIT 1";
	char hi[16], lo[16];
	const char *p[2] = {hi, lo};
	PGresult *res = NULL;
	char who[900];
	uint64_t k = (uint64_t)key;

	snprintf(hi, sizeof(hi), "%u", (unsigned)(k >> 32));
	snprintf(lo, sizeof(lo), "%u", (unsigned)(k & 0xffffffffu));
	snprintf(who, sizeof(who), "another session (it left meanwhile, or pg_locks cannot be read)");
	/* best effort: a holder that left meanwhile only makes the message shorter */
	if (tl_pg__exec(c, sql, 2, p, &res, "cannot read pg_locks", NULL) == 0 && PQntuples(res) > 0)
		snprintf(who, sizeof(who), "'%s' (pg backend pid %s, user %s, from %s, connected since %s UTC)",
			 PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 2),
			 PQgetvalue(res, 0, 3));
	PQclear(res);
	(void)src;
	return tl_error_set(err, TL_ERR_LOCKED,
			    "target table %s is being written by another task: %s holds advisory lock %lld; wait for "
			    "it to finish or stop it (the lock ends with its session)",
			    label, who, (long long)key);
}

int tl_pg__claim(tl_conn *c, const tl_table *src, const char *owner, tl_error *err)
{
	int64_t key = claim_key(c, src), *grown;
	char keytext[32], label[600];
	const char *p[2] = {"application_name", owner ? owner : "tideline"};
	PGresult *res = NULL;
	int rc;

	tl_pg__table_label(label, sizeof(label), src->schema, src->name);
	if (held_at(c, key) >= 0)
		return 0;
	grown = realloc(c->claims, (c->nclaims + 1) * sizeof(*grown));
	if (!grown)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory claiming %s", label);
	c->claims = grown;
	/* the owner line where the refused one looks: pg_stat_activity.application_name */
	if ((rc = tl_pg__exec(c, "SELECT pg_catalog.set_config($1, $2, false)", 2, p, NULL,
			      "cannot set application_name", err)))
		return tl_error_prefix(err, "cannot claim target table %s", label);
	snprintf(keytext, sizeof(keytext), "%lld", (long long)key);
	p[0] = keytext;
	if ((rc = tl_pg__exec(c, "SELECT pg_catalog.pg_try_advisory_lock($1::bigint)", 1, p, &res,
			      "cannot take an advisory lock", err))) {
		tl_error_prefix(err, "cannot claim target table %s", label);
		goto cleanup;
	}
	if (PQntuples(res) != 1 || PQgetvalue(res, 0, 0)[0] != 't') {
		rc = refuse(c, src, key, label, err);
		goto cleanup;
	}
	c->claims[c->nclaims++] = key;
cleanup:
	PQclear(res);
	return rc;
}

int tl_pg__release(tl_conn *c, const tl_table *src, tl_error *err)
{
	int64_t key = claim_key(c, src);
	char keytext[32], label[600];
	const char *p[1] = {keytext};
	long at = held_at(c, key);
	int rc;

	if (at < 0)
		return 0;
	c->claims[at] = c->claims[--c->nclaims];
	snprintf(keytext, sizeof(keytext), "%lld", (long long)key);
	rc = tl_pg__exec(c, "SELECT pg_catalog.pg_advisory_unlock($1::bigint)", 1, p, NULL,
			 "cannot release an advisory lock", err);
	if (rc) {
		tl_pg__table_label(label, sizeof(label), src->schema, src->name);
		tl_error_prefix(err, "cannot release the claim on target table %s", label);
	}
	return rc;
}

int tl_pg__flush_commits(tl_conn *c, const tl_table *src, tl_error *err)
{
	static const char sql[] = "BEGIN; SET LOCAL synchronous_commit = on; "
				  "SELECT pg_catalog.pg_logical_emit_message(true, 'tideline', 'flush'); COMMIT";
	char label[600];
	int rc;

	if (!c->async_commit)
		return 0; /* every commit of these sessions waited for its WAL flush */
	if (c->in_reader)
		return tl_error_set(err, TL_ERR_INTERNAL, "flushing commits on a connection with an open reader");
	if ((rc = tl_pg__exec(c, sql, 0, NULL, NULL, "cannot make the commits durable", err))) {
		tl_pg__rollback(c);
		tl_pg__table_label(label, sizeof(label), src->schema, src->name);
		tl_error_prefix(err, "before recording a position of %s", label);
	}
	return rc;
}
