/*
 * sql_fixture.h - what the contract fixtures of the SQL kinds (fixture_mysql.c,
 * fixture_pg.c) share: the two servers' URLs from the environment, quoted names, and the
 * statements that drop a schema or table and create a test table from its neutral form
 * (ct_table), written in the words each kind gives (struct sqlfx_kind) and run through
 * the kind's own client library (its callbacks: connect, disconnect, run). Inserting,
 * reading rows back and ending sessions use the client library and stay in each
 * fixture's file, as do the callbacks.
 *
 * A fixture's state (the `fx` of contract.h) starts with a struct sqlfx, so that
 * sqlfx_close, sqlfx_url, sqlfx_drop_schema, sqlfx_drop and sqlfx_create serve as its
 * ct_fixture slots directly (open: sqlfx_open with the kind). Header-only (static
 * functions), like tests/integration/conn_lib.h: every fixture is built into an
 * executable of its own (tests/CMakeLists.txt globs fixture_*.c, so this file is no kind).
 */
#ifndef TL_CT_SQL_FIXTURE_H
#define TL_CT_SQL_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "contract/contract.h"
#include "tl_test.h"

/* A SQL kind: its servers, its client library's callbacks, and how it writes the statements. */
struct sqlfx_kind {
	size_t fx_size;            /* the size of the kind's fx (a struct sqlfx first) */
	const char *src_env, *dst_env; /* the environment variables with the servers' URLs */
	/* Connects fx's side (its URL in fx->url[side]); 0 or a negative tl_code with err set. */
	int (*connect)(void *fx, enum ct_side side, tl_error *err);
	/* Closes fx's connection to a side if it has one. */
	void (*disconnect)(void *fx, enum ct_side side);
	/* Runs sql on a side's server, any result discarded. */
	int (*run)(void *fx, enum ct_side side, const char *sql, tl_error *err);

	char quote;                /* the identifier quote ('`', '"'), doubled inside a name */
	const char *schema_word;   /* what holds tables: "DATABASE", "SCHEMA" */
	const char *schema_opts;   /* after CREATE <schema_word> IF NOT EXISTS name ("" for none) */
	const char *drop_opts;     /* after DROP ... IF EXISTS name: "", " CASCADE" */
	const char *types[3];      /* the column types of CT_INT, CT_TEXT, CT_BIN */
	const char *nullable;      /* after the type of a nullable column: " NULL", "" */
	const char *unique;        /* a unique key's words: "UNIQUE KEY", "UNIQUE" */
	int constraint_names;      /* 1: keys named "CONSTRAINT <table>_<name>" (names unique
				    * per schema); 0: "<unique> <name>" */
	const char *table_opts;    /* after CREATE TABLE's closing parenthesis ("" for none) */
	const char *analyze;       /* what makes a table's statistics current: "ANALYZE TABLE " */
};

/* The first member of a SQL fixture's state. */
struct sqlfx {
	const struct sqlfx_kind *d;
	const char *url[2]; /* the source's and the target's (from the environment) */
};

static inline void sqlfx_close(void *p)
{
	struct sqlfx *fx = p;

	if (!fx)
		return;
	fx->d->disconnect(fx, CT_SRC);
	fx->d->disconnect(fx, CT_DST);
	free(fx);
}

/*
 * contract.h's open for kind d: a zeroed fx of d->fx_size connected to the servers of
 * d->src_env and d->dst_env. 1 when one is unset (tl_test_require_env marked the test
 * skipped, or failed it under CI).
 */
static inline int sqlfx_open(const struct sqlfx_kind *d, void **out, tl_error *err)
{
	struct sqlfx *fx = calloc(1, d->fx_size);
	int i, rc = 0;

	*out = NULL;
	if (!fx)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	fx->d = d;
	fx->url[0] = tl_test_require_env(d->src_env);
	fx->url[1] = fx->url[0] ? tl_test_require_env(d->dst_env) : NULL;
	if (!fx->url[0] || !fx->url[1]) {
		free(fx);
		return 1;
	}
	for (i = 0; i < 2 && !rc; i++)
		rc = d->connect(fx, (enum ct_side)i, err);
	if (rc) {
		sqlfx_close(fx);
		return rc;
	}
	*out = fx;
	return 0;
}

static inline const char *sqlfx_url(void *p, enum ct_side side)
{
	return ((struct sqlfx *)p)->url[side];
}

/* `name` quoted as an identifier. */
static inline int sqlfx_ident(const struct sqlfx_kind *d, tl_buf *b, const char *name, tl_error *err)
{
	const char *p;
	int rc = tl_buf_putc(b, d->quote, err);

	for (p = name; !rc && *p; p++)
		rc = *p == d->quote ? tl_buf_printf(b, err, "%c%c", d->quote, d->quote) : tl_buf_putc(b, *p, err);
	return rc ? rc : tl_buf_putc(b, d->quote, err);
}

/* schema.name, both quoted. */
static inline int sqlfx_qname(const struct sqlfx_kind *d, tl_buf *b, const char *schema, const char *name,
			      tl_error *err)
{
	int rc = sqlfx_ident(d, b, schema, err);

	rc = rc ? rc : tl_buf_putc(b, '.', err);
	return rc ? rc : sqlfx_ident(d, b, name, err);
}

/* Runs "<head><schema.name or schema><tail>" on a side (name NULL: the schema alone). */
static inline int sqlfx_run_on(struct sqlfx *fx, enum ct_side side, const char *head, const char *schema,
			       const char *name, const char *tail, tl_error *err)
{
	tl_buf q = TL_BUF_INIT;
	int rc = tl_buf_puts(&q, head, err);

	rc = rc ? rc : name ? sqlfx_qname(fx->d, &q, schema, name, err) : sqlfx_ident(fx->d, &q, schema, err);
	rc = rc ? rc : tl_buf_puts(&q, tail, err);
	rc = rc ? rc : fx->d->run(fx, side, q.data, err);
	tl_buf_release(&q);
	return rc;
}

static inline int sqlfx_drop_schema(void *p, enum ct_side side, const char *schema, tl_error *err)
{
	struct sqlfx *fx = p;
	char head[64];

	snprintf(head, sizeof(head), "DROP %s IF EXISTS ", fx->d->schema_word);
	return sqlfx_run_on(fx, side, head, schema, NULL, fx->d->drop_opts, err);
}

static inline int sqlfx_drop(void *p, enum ct_side side, const char *schema, const char *name, tl_error *err)
{
	struct sqlfx *fx = p;

	return sqlfx_run_on(fx, side, "DROP TABLE IF EXISTS ", schema, name, fx->d->drop_opts, err);
}

/* Makes the statistics of t current (ANALYZE). */
static inline int sqlfx_analyze(struct sqlfx *fx, enum ct_side side, const ct_table *t, tl_error *err)
{
	return sqlfx_run_on(fx, side, fx->d->analyze, t->schema, t->name, "", err);
}

/* ", PRIMARY KEY (a, b)" or a unique key, named as the dialect names keys. */
static inline int sqlfx_key(const struct sqlfx_kind *d, tl_buf *q, const ct_table *t, const ct_key *k,
			    const char *what, tl_error *err)
{
	size_t i;
	int rc = tl_buf_puts(q, ", ", err);

	if (!rc && *k->name && d->constraint_names) {
		char name[200];
		snprintf(name, sizeof(name), "%s_%s", t->name, k->name);
		rc = tl_buf_puts(q, "CONSTRAINT ", err);
		rc = rc ? rc : sqlfx_ident(d, q, name, err);
		rc = rc ? rc : tl_buf_putc(q, ' ', err);
	}
	rc = rc ? rc : tl_buf_printf(q, err, "%s ", what);
	if (!rc && *k->name && !d->constraint_names) {
		rc = sqlfx_ident(d, q, k->name, err);
		rc = rc ? rc : tl_buf_putc(q, ' ', err);
	}
	rc = rc ? rc : tl_buf_putc(q, '(', err);
	for (i = 0; !rc && i < k->n; i++) {
		rc = i ? tl_buf_puts(q, ", ", err) : 0;
		rc = rc ? rc : sqlfx_ident(d, q, t->cols[k->col[i]].name, err);
	}
	return rc ? rc : tl_buf_putc(q, ')', err);
}

/* contract.h's create: the schema when missing, then the table dropped and created as t says. */
static inline int sqlfx_create(void *p, enum ct_side side, const ct_table *t, tl_error *err)
{
	struct sqlfx *fx = p;
	const struct sqlfx_kind *d = fx->d;
	tl_buf q = TL_BUF_INIT;
	char head[64];
	size_t i;
	int rc;

	snprintf(head, sizeof(head), "CREATE %s IF NOT EXISTS ", d->schema_word);
	rc = sqlfx_run_on(fx, side, head, t->schema, NULL, d->schema_opts, err);
	rc = rc ? rc : sqlfx_drop(fx, side, t->schema, t->name, err);
	rc = rc ? rc : tl_buf_puts(&q, "CREATE TABLE ", err);
	rc = rc ? rc : sqlfx_qname(d, &q, t->schema, t->name, err);
	for (i = 0; !rc && i < t->ncols; i++) {
		rc = tl_buf_puts(&q, i ? ", " : " (", err);
		rc = rc ? rc : sqlfx_ident(d, &q, t->cols[i].name, err);
		rc = rc ? rc : tl_buf_printf(&q, err, " %s%s", d->types[t->cols[i].type],
					     t->cols[i].nullable ? d->nullable : " NOT NULL");
	}
	if (!rc && t->pk.n)
		rc = sqlfx_key(d, &q, t, &t->pk, "PRIMARY KEY", err);
	for (i = 0; !rc && i < t->nuniq; i++)
		rc = sqlfx_key(d, &q, t, &t->uniq[i], d->unique, err);
	rc = rc ? rc : tl_buf_putc(&q, ')', err);
	rc = rc ? rc : tl_buf_puts(&q, d->table_opts, err);
	rc = rc ? rc : d->run(fx, side, q.data, err);
	tl_buf_release(&q);
	return rc;
}

#endif
