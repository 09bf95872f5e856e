/*
 * pg_route.c - what routing and check tasks need from the PostgreSQL connector: projected
 * tables (renamed, a subset of the columns: [router], [filter] ignore_cols; the COPY
 * statements list the projected columns, so rows still stream through unchanged), the
 * server identity (a run must not write what it reads) and ape-dts' value type names
 * for check logs.
 */
#include <stdlib.h>
#include <string.h>
#include "connectors/pg_int.h"
#include "tideline/buf.h"

int tl_pg__project(const tl_table *src, const char *schema, const char *name, const size_t *cols,
		   const char *const *names, size_t n, tl_table **out, tl_error *err)
{
	const struct tl_pg_table *sim = src->impl;
	struct tl_pg_table *im = NULL;
	tl_table *t = NULL;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = tl_table_project_base(src, schema, name, cols, names, n, &t, err)))
		return rc;
	im = calloc(1, sizeof(*im));
	if (im) {
		t->impl = im;
		im->magic = TL_PG_TABLE_MAGIC;
		im->cast = calloc(n, sizeof(char *));
		im->identity_always = calloc(n, 1);
	}
	if (!im || !im->cast || !im->identity_always)
		goto nomem;
	for (i = 0; i < n; i++) {
		const char *cast = sim && sim->magic == TL_PG_TABLE_MAGIC && sim->cast ? sim->cast[cols[i]] : NULL;
		if (cast && !(im->cast[i] = tl_strdup(cast)))
			goto nomem;
		im->identity_always[i] = (unsigned char)tl_pg__identity_always(src, cols[i]);
	}
	*out = t;
	return 0;
nomem:
	tl_pg__free_table(t);
	return tl_error_set(err, TL_ERR_NOMEM, "out of memory projecting a pg table");
}

/*
 * A postmaster is named by its start time and port; schemas live in a database, so two
 * connections to different databases of one cluster see different objects.
 */
int tl_pg__server_id(tl_conn *c, char **out, tl_error *err)
{
	PGresult *res = NULL;
	tl_buf b = TL_BUF_INIT;
	int rc;

	*out = NULL;
	rc = tl_pg__exec(c,
			 "SELECT pg_catalog.pg_postmaster_start_time()::text, "
			 "coalesce(pg_catalog.inet_server_port(), 0)::text, pg_catalog.current_database()",
			 0, NULL, &res, "cannot identify the pg server", err);
	if (rc)
		return rc;
	rc = tl_buf_printf(&b, err, "%s|%s|%s", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	PQclear(res);
	if (!rc && !(*out = tl_buf_detach(&b)))
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	tl_buf_release(&b);
	return rc;
}

/* ape-dts' ColValue of a PostgreSQL column (dt-common pg_col_value_convertor.rs from_query). */
const char *tl_pg__value_type(const tl_table *t, size_t col)
{
	static const struct {
		const char *typ, *name;
	} map[] = {
		{"bool", "Bool"},         {"int2", "Short"},        {"int4", "Long"},        {"int8", "LongLong"},
		{"oid", "LongLong"},      {"float4", "Float"},      {"float8", "Double"},    {"bytea", "Blob"},
		{"numeric", "Decimal"},   {"timestamptz", "Timestamp"}, {"timestamp", "DateTime"},
		{"time", "Time"},         {"json", "Json2"},        {"jsonb", "Json2"},
	};
	const char *cast = tl_pg__cast(t, col);
	size_t i, n;

	if (!cast)
		return NULL;
	if (strncmp(cast, "pg_catalog.", 11) != 0)
		return "String"; /* a user's type (domain, enum, …) */
	/* pg_catalog.int4, or pg_catalog."numeric" (quote_ident quotes keywords) */
	cast += 11;
	n = strlen(cast);
	if (n >= 2 && cast[0] == '"' && cast[n - 1] == '"') {
		cast++;
		n -= 2;
	}
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i].typ) == n && strncmp(cast, map[i].typ, n) == 0)
			return map[i].name;
	return "String"; /* arrays, dates, text, uuid, … are strings for ape-dts */
}
