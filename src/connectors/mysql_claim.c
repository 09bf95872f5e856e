/*
 * mysql_claim.c - MySQL/MariaDB connector: checking what a checkpoint claims on the target
 * (key_exists) and claiming a target table while it is written (claim, release).
 *
 * A claim is a named lock of the session, GET_LOCK('tideline:<tl_claim_key hex>', 0):
 * server-wide, so every task writing the table asks for the same name whatever its
 * database; the name is a hash because lock names are at most 64 characters and may be
 * compared without regard to case, while table names are not. MariaDB >= 10.0.2 and
 * MySQL >= 5.7 let one session hold several named locks; a session asking again for a
 * lock it holds would nest it, so the names held are kept on the connection and asked
 * for once. The server releases them when the session ends, including when it notices
 * that a crashed client is gone. The holder is named from IS_USED_LOCK (its connection
 * id), the process list (user, client address) and, where performance_schema is on, its
 * connect attributes (program_name: the owner line the engine connects with; _pid).
 *
 * Must not write any row: these are reads and session locks only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mysql_int.h"

#define MY_ER_NO_SUCH_TABLE 1146

static int flag_row(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	(void)nf;
	(void)v;
	(void)lens;
	(void)err;
	*(int *)ctx = 1;
	return 0;
}

/* Index of the data column of t named `name`, or -1. */
static long col_index(const tl_table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return (long)i;
	return -1;
}

int tl_mysql__key_exists(tl_conn *c, const tl_table *src, const tl_keyvals *key, int *exists, tl_error *err)
{
	tl_buf q = TL_BUF_INIT;
	size_t i;
	int rc, found = 0;

	*exists = 0;
	if ((rc = tl_mysql__ready(c, err)))
		return rc;
	if (!key || key->n == 0)
		return tl_error_set(err, TL_ERR_INTERNAL, "key lookup in %s without key columns", tl_mysql__qname(src));
	rc = tl_buf_printf(&q, err, "SELECT 1 FROM %s WHERE ", tl_mysql__qname(src));
	for (i = 0; !rc && i < key->n; i++) {
		long col = col_index(src, key->cols[i]);

		if (col < 0) {
			rc = tl_error_set(err, TL_ERR_INTERNAL, "key lookup in %s: no column `%s`", tl_mysql__qname(src),
					  key->cols[i]);
			break;
		}
		rc = i ? tl_buf_puts(&q, " AND ", err) : 0;
		if (!rc)
			rc = tl_mysql__qident(&q, key->cols[i], err);
		if (!rc && !key->vals[i])
			rc = tl_buf_puts(&q, " IS NULL", err);
		else if (!rc)
			rc = tl_buf_puts(&q, " = ", err);
		if (!rc && key->vals[i])
			rc = tl_mysql__literal(c, src, (size_t)col, key->vals[i], &q, err);
	}
	if (!rc)
		rc = tl_buf_puts(&q, " LIMIT 1", err);
	if (!rc && (rc = tl_mysql__query_text(c, tl_buf_cstr(&q), flag_row, &found, err))) {
		if (err && err->native == MY_ER_NO_SUCH_TABLE)
			rc = tl_error_set(err, TL_ERR_NOTFOUND, "target table %s does not exist", tl_mysql__qname(src));
		else
			tl_error_prefix(err, "cannot look up a row of target table %s", tl_mysql__qname(src));
	}
	if (!rc)
		*exists = found;
	tl_buf_release(&q);
	return rc;
}

/* The lock name of src's target table ("tideline:" + 16 hex digits: 25 characters). */
static void lock_name(const tl_table *src, char *out, size_t n)
{
	snprintf(out, n, "tideline:%016llx", (unsigned long long)tl_claim_key(NULL, src->schema, src->name));
}

static long held_at(const tl_conn *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nclaims; i++)
		if (strcmp(c->claims[i], name) == 0)
			return (long)i;
	return -1;
}

static int first_text(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	char **out = ctx;

	(void)lens;
	if (nf < 1 || *out)
		return 0;
	if (v[0] && !(*out = tl_strdup(v[0])))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	return 0;
}

struct holder {
	char who[160];   /* user@host from the process list */
	char idle[32];
	char program[300];
	char pid[32];
};

static int process_row(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	struct holder *h = ctx;

	(void)lens;
	(void)err;
	if (nf >= 3) {
		snprintf(h->who, sizeof(h->who), "%s@%s", v[0] ? v[0] : "?", v[1] ? v[1] : "?");
		snprintf(h->idle, sizeof(h->idle), "%s", v[2] ? v[2] : "?");
	}
	return 0;
}

static int attr_row(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	struct holder *h = ctx;

	(void)lens;
	(void)err;
	if (nf < 2 || !v[0] || !v[1])
		return 0;
	if (strcmp(v[0], "program_name") == 0)
		snprintf(h->program, sizeof(h->program), "%s", v[1]);
	else if (strcmp(v[0], "_pid") == 0)
		snprintf(h->pid, sizeof(h->pid), "%s", v[1]);
	return 0;
}

/* Appends printf output to out[0..n) at *len, clipped (for a message). */
static void add(char *out, size_t n, size_t *len, const char *fmt, ...) TL_PRINTF(4, 5);
static void add(char *out, size_t n, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*len >= n)
		return;
	va_start(ap, fmt);
	w = vsnprintf(out + *len, n - *len, fmt, ap);
	va_end(ap);
	if (w > 0)
		*len = *len + (size_t)w < n ? *len + (size_t)w : n;
}

/* TL_ERR_LOCKED naming src's target table and, as far as this user may see, the holder. */
static int refuse(tl_conn *c, const tl_table *src, const char *name, tl_error *err)
{
	static const char *const proc_sql =
		"SELECT USER, HOST, TIME FROM information_schema.PROCESSLIST WHERE ID = ?";
	static const char *const attr_sql =
		"SELECT ATTR_NAME, ATTR_VALUE FROM performance_schema.session_connect_attrs "
		"WHERE PROCESSLIST_ID = ? AND ATTR_NAME IN ('program_name', '_pid')";
	const char *p[1] = {name};
	char *id = NULL, who[800];
	struct holder h;
	size_t len = 0;

	memset(&h, 0, sizeof(h));
	/* every lookup is best effort: a holder that left meanwhile, or rights the user lacks,
	 * only make the message shorter */
	if (tl_mysql__query(c, "SELECT IS_USED_LOCK(?)", 1, p, first_text, &id, NULL) == 0 && id) {
		p[0] = id;
		if (tl_mysql__query(c, proc_sql, 1, p, process_row, &h, NULL) != 0)
			h.who[0] = '\0';
		if (tl_mysql__query(c, attr_sql, 1, p, attr_row, &h, NULL) != 0)
			h.program[0] = h.pid[0] = '\0'; /* no performance_schema */
	}
	who[0] = '\0';
	if (h.program[0])
		add(who, sizeof(who), &len, "'%s'%s%s%s, ", h.program, h.pid[0] ? " (client pid " : "", h.pid,
		    h.pid[0] ? ")" : "");
	add(who, sizeof(who), &len, "mysql connection %s", id ? id : "(gone meanwhile)");
	if (h.who[0])
		add(who, sizeof(who), &len, " of %s, idle %s s", h.who, h.idle);
	if (!h.program[0])
		add(who, sizeof(who), &len, " (its task shows in performance_schema.session_connect_attrs where "
					    "performance_schema is on)");
	free(id);
	return tl_error_set(err, TL_ERR_LOCKED,
			    "target table %s is being written by another task: %s holds the lock '%s'; wait for it "
			    "to finish or stop it (the lock ends with its connection)",
			    tl_mysql__qname(src), who, name);
}

int tl_mysql__claim(tl_conn *c, const tl_table *src, const char *owner, tl_error *err)
{
	char name[64], *got = NULL, **grown;
	const char *p[1] = {name};
	int rc, found = 0;

	(void)owner; /* shown through the connect attributes (driver.h) */
	if ((rc = tl_mysql__ready(c, err)))
		return rc;
	lock_name(src, name, sizeof(name));
	if (held_at(c, name) >= 0)
		return 0;
	grown = realloc(c->claims, (c->nclaims + 1) * sizeof(*grown));
	if (!grown)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory claiming %s", tl_mysql__qname(src));
	c->claims = grown;
	if ((rc = tl_mysql__query(c, "SELECT GET_LOCK(?, 0)", 1, p, first_text, &got, err))) {
		tl_error_prefix(err, "cannot claim target table %s", tl_mysql__qname(src));
		goto cleanup;
	}
	if (!got || strcmp(got, "1") != 0) {
		rc = refuse(c, src, name, err);
		goto cleanup;
	}
	if (!(c->claims[c->nclaims] = tl_strdup(name))) {
		/* keep the books right: the session holds the lock, give it back (else it ends
		 * with the session) */
		if (tl_mysql__query(c, "SELECT RELEASE_LOCK(?)", 1, p, flag_row, &found, NULL) != 0)
			found = 0;
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory claiming %s", tl_mysql__qname(src));
		goto cleanup;
	}
	c->nclaims++;
cleanup:
	free(got);
	return rc;
}

int tl_mysql__release(tl_conn *c, const tl_table *src, tl_error *err)
{
	char name[64], *got = NULL;
	const char *p[1] = {name};
	long at;
	int rc;

	lock_name(src, name, sizeof(name));
	if ((at = held_at(c, name)) < 0)
		return 0;
	if ((rc = tl_mysql__ready(c, err)))
		return rc;
	free(c->claims[at]);
	c->claims[at] = c->claims[--c->nclaims];
	rc = tl_mysql__query(c, "SELECT RELEASE_LOCK(?)", 1, p, first_text, &got, err);
	if (rc)
		tl_error_prefix(err, "cannot release the claim on target table %s", tl_mysql__qname(src));
	free(got);
	return rc;
}
