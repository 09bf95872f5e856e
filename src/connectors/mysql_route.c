/*
 * mysql_route.c - what routing and check tasks need from the MySQL/MariaDB connector:
 * projected tables (renamed, a subset of the columns: [router], [filter] ignore_cols),
 * the server identity (a run must not write what it reads) and ape-dts' value type names
 * for check logs. Part of the connector (includes mysql_int.h); nothing here talks SQL
 * except server_id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "connectors/mysql_int.h"
#include "tideline/buf.h"

int tl_mysql__project(const tl_table *src, const char *schema, const char *name, const size_t *cols,
		      const char *const *names, size_t n, tl_table **out, tl_error *err)
{
	const struct tl_mysql_table *sim = src->impl;
	struct tl_mysql_table *im = NULL;
	tl_table *t = NULL;
	tl_buf q = TL_BUF_INIT;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = tl_table_project_base(src, schema, name, cols, names, n, &t, err)))
		return rc;
	/* free_table walks im->cols over t->ncols: allocate them zeroed first */
	if (!(im = calloc(1, sizeof(*im))) || !(im->cols = calloc(n, sizeof(*im->cols)))) {
		free(im);
		tl_mysql__free_table(t);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory projecting a mysql table");
	}
	t->impl = im;
	for (i = 0; i < n; i++) {
		im->cols[i] = sim->cols[cols[i]];
		if (!(im->cols[i].data_type = tl_strdup(sim->cols[cols[i]].data_type))) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory projecting a mysql table");
			goto cleanup;
		}
	}
	if ((rc = tl_mysql__qtable(&q, schema, name, err)))
		goto cleanup;
	if (!(im->qname = tl_buf_detach(&q))) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory projecting a mysql table");
		goto cleanup;
	}
	*out = t;
	t = NULL;
cleanup:
	tl_buf_release(&q);
	tl_mysql__free_table(t);
	return rc;
}

static int id_row(void *ctx, unsigned nf, char **v, unsigned long *lens, tl_error *err)
{
	tl_buf *b = ctx;
	unsigned i;
	int rc = 0;

	(void)lens;
	for (i = 0; i < nf && !rc; i++)
		rc = tl_buf_printf(b, err, "%s%s", i ? "|" : "", v[i] ? v[i] : "");
	return rc;
}

/*
 * MariaDB has no server_uuid: host name, port and data directory name one running
 * server; databases are the namespace, so nothing more is needed.
 */
int tl_mysql__server_id(tl_conn *c, char **out, tl_error *err)
{
	tl_buf b = TL_BUF_INIT;
	int rc;

	*out = NULL;
	if ((rc = tl_mysql__ready(c, err)))
		return rc;
	rc = tl_mysql__query_text(c, "SELECT @@hostname, @@port, @@datadir", id_row, &b, err);
	if (rc) {
		tl_buf_release(&b);
		return tl_error_prefix(err, "cannot identify the mysql server");
	}
	if (!(*out = tl_buf_detach(&b)))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	return 0;
}

/* ape-dts' ColValue of a MySQL column (dt-common mysql_col_value_convertor.rs from_query). */
const char *tl_mysql__value_type(const tl_table *t, size_t col)
{
	static const struct {
		const char *dt, *sig, *uns;
	} map[] = {
		{"tinyint", "Tiny", "UnsignedTiny"},   {"smallint", "Short", "UnsignedShort"},
		{"mediumint", "Long", "UnsignedLong"}, {"int", "Long", "UnsignedLong"},
		{"integer", "Long", "UnsignedLong"},   {"bigint", "LongLong", "UnsignedLongLong"},
		{"float", "Float", "Float"},           {"double", "Double", "Double"},
		{"real", "Double", "Double"},          {"decimal", "Decimal", "Decimal"},
		{"numeric", "Decimal", "Decimal"},     {"time", "Time", "Time"},
		{"date", "Date", "Date"},              {"datetime", "DateTime", "DateTime"},
		{"timestamp", "Timestamp", "Timestamp"}, {"year", "Year", "Year"},
		{"bit", "Bit", "Bit"},                 {"set", "Set2", "Set2"},
		{"enum", "Enum2", "Enum2"},            {"json", "Json2", "Json2"},
	};
	const struct tl_mysql_col *c;
	size_t i;

	if (!t->impl || col >= t->ncols)
		return NULL;
	c = tl_mysql__col(t, col);
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(c->data_type, map[i].dt) == 0)
			return c->is_unsigned ? map[i].uns : map[i].sig;
	switch (t->cols[col].kind) {
	case TL_COL_TEXT: return "String";
	case TL_COL_BINARY: return "Blob";
	default: return strstr(c->data_type, "char") || strstr(c->data_type, "text") ? "String" : "Blob";
	}
}
