/*
 * pg_schema_objects.c - PostgreSQL definitions other than tables and their indexes:
 * functions and procedures, types (enum, domain, composite, range), sequences (and which
 * column owns them), views and materialized views, extended statistics, the extensions
 * all of these need, the dependencies between them (pg_depend), comments, and the
 * sequence values of the FINAL phase. Part of the schema_extract slot
 * (pg_schema_extract.c holds the context and the order of the calls).
 *
 * What is copied besides the selected tables: every function, type, view and standalone
 * sequence of their schemas (views only when every relation they read is copied too),
 * and what those tables need from other schemas. Extensions are created, never their
 * member objects. Reads only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pg_schema_int.h"

#define REGCLASS(c) "'pg_catalog." c "'::pg_catalog.regclass"
#define NOT_EXT(cls, oidexpr)                                                                  \
	"NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = " REGCLASS(cls) " " \
	"AND e.objid = " oidexpr " AND e.deptype = 'e')"

/* each_oid callback: step needs the step of the object oid names in map (when there is one). */
struct oid_deps {
	struct tl_pgs_ctx *x;
	struct tl_pgs_map *map;
	size_t step;
};

static int oid_dep(void *ctx, unsigned long oid, tl_error *err)
{
	struct oid_deps *d = ctx;
	size_t oi = tl_pgs__map_get(d->map, oid);

	return oi == TL_PGS_NONE ? 0 : tl_pgs__dep(d->x, d->step, d->x->objs[oi].step, err);
}

/* Parses "{1,2,3}" (a text-cast oid array) calling fn for each. */
static int each_oid(const char *arr, int (*fn)(void *ctx, unsigned long oid, tl_error *err), void *ctx, tl_error *err)
{
	const char *p = arr;
	char *end;
	int rc = 0;

	if (!p)
		return 0;
	while (!rc && *p) {
		unsigned long v;
		if (*p < '0' || *p > '9') {
			p++;
			continue;
		}
		v = strtoul(p, &end, 10);
		p = end;
		rc = fn(ctx, v, err);
	}
	return rc;
}

static int set_args(struct tl_pgs_obj *o, const char *args, tl_error *err)
{
	free(o->args);
	o->args = tl_strdup(args ? args : "");
	return o->args ? 0 : tl_error_set(err, TL_ERR_NOMEM, "out of memory reading pg definitions");
}

/* ---- functions ------------------------------------------------------------------------ */

int tl_pgs__functions(struct tl_pgs_ctx *x, tl_error *err)
{
	static const char sql[] =
		"WITH rels AS (SELECT pg_catalog.unnest($1::pg_catalog.oid[]) AS oid), "
		"needed AS (SELECT d.refobjid AS oid FROM pg_catalog.pg_depend d "
		"WHERE d.refclassid = " REGCLASS("pg_proc") " AND ("
		"(d.classid = " REGCLASS("pg_attrdef") " AND d.objid IN (SELECT ad.oid FROM pg_catalog.pg_attrdef ad "
		"WHERE ad.adrelid IN (SELECT oid FROM rels))) "
		"OR (d.classid = " REGCLASS("pg_constraint") " AND d.objid IN (SELECT co.oid FROM pg_catalog.pg_constraint co "
		"WHERE co.conrelid IN (SELECT oid FROM rels))) "
		"OR (d.classid = " REGCLASS("pg_class") " AND d.objid IN (SELECT i.indexrelid FROM pg_catalog.pg_index i "
		"WHERE i.indrelid IN (SELECT oid FROM rels))) "
		"OR (d.classid = " REGCLASS("pg_trigger") " AND d.objid IN (SELECT t.oid FROM pg_catalog.pg_trigger t "
		"WHERE t.tgrelid IN (SELECT oid FROM rels))) "
		"OR (d.classid = " REGCLASS("pg_rewrite") " AND d.objid IN (SELECT r.oid FROM pg_catalog.pg_rewrite r "
		"JOIN pg_catalog.pg_class v ON v.oid = r.ev_class WHERE v.relnamespace = ANY ($2::pg_catalog.oid[]))))) "
		"SELECT p.oid, n.nspname, p.proname, p.prokind, pg_catalog.oidvectortypes(p.proargtypes), "
		"CASE WHEN p.prokind <> 'a' THEN pg_catalog.pg_get_functiondef(p.oid) END "
		"FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
		"WHERE (p.pronamespace = ANY ($2::pg_catalog.oid[]) OR p.oid IN (SELECT oid FROM needed)) "
		"AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND " NOT_EXT("pg_proc", "p.oid") " "
		"AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i WHERE i.classid = " REGCLASS("pg_proc") " "
		"AND i.objid = p.oid AND i.deptype = 'i') " /* made with something else (a multirange's constructors) */
		"ORDER BY n.nspname, p.proname, 5";
	PGresult *res = NULL;
	tl_buf text = TL_BUF_INIT, id = TL_BUF_INIT;
	const char *p[2];
	size_t oi, dep;
	int r, rc;

	if (x->rel_oids.len == 0)
		return 0;
	p[0] = tl_buf_cstr(&x->rel_oids);
	p[1] = tl_buf_cstr(&x->nsp_oids);
	rc = tl_pgs__query(x, sql, 2, p, &res, "cannot read pg functions", err);
	for (r = 0; !rc && r < PQntuples(res); r++) {
		const char *nsp = PQgetvalue(res, r, 1), *name = PQgetvalue(res, r, 2), *def = tl_pgs__val(res, r, 5);
		struct tl_pgs_obj *o;
		tl_schema_step *s;
		if (PQgetvalue(res, r, 3)[0] == 'a') {
			rc = tl_error_set(err, TL_ERR_UNSUPPORTED,
					  "aggregate \"%s\".\"%s\"(%s) is not copied: create it on the target first, or "
					  "leave udf out of do_structures",
					  nsp, name, PQgetvalue(res, r, 4));
			break;
		}
		rc = tl_pgs__obj_add(x, &x->procs, 'f', tl_pgs__oid(res, r, 0), nsp, name, &oi, err);
		if (!rc)
			rc = set_args(&x->objs[oi], PQgetvalue(res, r, 4), err);
		if (!rc)
			rc = tl_pgs__oid_append(&x->proc_oids, x->objs[oi].oid, err);
		if (rc || !tl_pgs__want(x, TL_SK_FUNCTION, TL_PHASE_PRE_DATA))
			continue;
		rc = tl_pgs__check_not_renamed(x, nsp, "function", name, err);
		if (rc)
			break;
		o = &x->objs[oi];
		o->relkind = PQgetvalue(res, r, 3)[0];
		tl_buf_reset(&text);
		tl_buf_reset(&id);
		rc = tl_buf_printf(&text, err, "%s;", def ? def : "");
		if (!rc)
			rc = tl_pgs__push(x, TL_SK_FUNCTION, o->tnsp, NULL, o->tname, TL_SCHEMA_NO_OWNER, tl_buf_cstr(&text),
					  &o->step, err);
		if (rc)
			break;
		s = &x->out->items[o->step];
		s->ref = tl_strdup(o->args);
		rc = s->ref ? 0 : tl_error_set(err, TL_ERR_NOMEM, "out of memory reading pg definitions");
		if (!rc)
			rc = tl_schema_qname(&id, o->tnsp, NULL, o->tname, err);
		if (!rc)
			rc = tl_schema_step_set_id(s, err, "function %s(%s)", tl_buf_cstr(&id), o->args);
		if (!rc)
			rc = tl_pgs__schema_step(x, nsp, &dep, err);
		if (!rc)
			rc = tl_pgs__dep(x, x->objs[oi].step, dep, err);
	}
	PQclear(res);
	tl_buf_release(&text);
	tl_buf_release(&id);
	return rc;
}

/* ---- types -------------------------------------------------------------------------- */

enum { TY_OID, TY_NSP, TY_NAME, TY_TYPE, TY_RELKIND, TY_EXT, TY_ALIAS, TY_DEPS, TY_RELID, TY_BODY };


int tl_pgs__types(struct tl_pgs_ctx *x, tl_error *err)
{
	static const char head[] =
		"WITH RECURSIVE d(oid, dep) AS ("
		"SELECT ty.oid, ty.typelem FROM pg_catalog.pg_type ty WHERE ty.typelem <> 0 AND EXISTS "
		"(SELECT 1 FROM pg_catalog.pg_type e WHERE e.oid = ty.typelem AND e.typarray = ty.oid) "
		"UNION ALL SELECT ty.oid, ty.typbasetype FROM pg_catalog.pg_type ty WHERE ty.typtype = 'd' "
		"UNION ALL SELECT ty.oid, a.atttypid FROM pg_catalog.pg_type ty "
		"JOIN pg_catalog.pg_class c ON c.oid = ty.typrelid AND c.relkind = 'c' "
		"JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
		"UNION ALL SELECT r.rngtypid, r.rngsubtype FROM pg_catalog.pg_range r ";
	static const char multirange_edge[] = "UNION ALL SELECT r.rngmultitypid, r.rngtypid FROM pg_catalog.pg_range r ";
	static const char middle[] =
		"), s(oid) AS ("
		"SELECT a.atttypid FROM pg_catalog.pg_attribute a WHERE a.attrelid = ANY ($1::pg_catalog.oid[]) "
		"AND a.attnum > 0 AND NOT a.attisdropped "
		"UNION SELECT ty.oid FROM pg_catalog.pg_type ty LEFT JOIN pg_catalog.pg_class c ON c.oid = ty.typrelid "
		"WHERE ty.typnamespace = ANY ($2::pg_catalog.oid[]) AND (ty.typtype IN ('e', 'd', 'r') OR c.relkind = 'c') "
		"UNION SELECT dd.refobjid FROM pg_catalog.pg_depend dd WHERE dd.classid = " REGCLASS("pg_proc") " "
		"AND dd.objid = ANY ($3::pg_catalog.oid[]) AND dd.refclassid = " REGCLASS("pg_type") "), "
		"t(oid) AS (SELECT oid FROM s UNION SELECT d.dep FROM t JOIN d ON d.oid = t.oid) "
		"SELECT ty.oid, n.nspname, ty.typname, ty.typtype, c.relkind, "
		"NOT " NOT_EXT("pg_type", "ty.oid") ", "
		"CASE WHEN ty.typtype = 'm' OR EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.oid = ty.typelem "
		"AND e.typarray = ty.oid) THEN (SELECT d.dep FROM d WHERE d.oid = ty.oid LIMIT 1) END, "
		"ARRAY(SELECT d.dep FROM d WHERE d.oid = ty.oid)::pg_catalog.text, ty.typrelid, "
		"CASE ty.typtype "
		"WHEN 'e' THEN 'AS ENUM (' || COALESCE((SELECT pg_catalog.string_agg(pg_catalog.quote_literal(e.enumlabel), "
		"', ' ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = ty.oid), '') || ')' "
		"WHEN 'r' THEN (SELECT 'AS RANGE (subtype = ' || pg_catalog.format_type(r.rngsubtype, NULL) "
		"|| CASE WHEN NOT oc.opcdefault THEN ', subtype_opclass = ' || pg_catalog.quote_ident(ocn.nspname) || '.' "
		"|| pg_catalog.quote_ident(oc.opcname) ELSE '' END "
		"|| CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> st.typcollation THEN ', collation = ' "
		"|| pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) ELSE '' END "
		"|| CASE WHEN r.rngcanonical <> 0 THEN ', canonical = ' || r.rngcanonical::pg_catalog.regproc::pg_catalog.text "
		"ELSE '' END "
		"|| CASE WHEN r.rngsubdiff <> 0 THEN ', subtype_diff = ' || r.rngsubdiff::pg_catalog.regproc::pg_catalog.text "
		"ELSE '' END ";
	static const char multirange_name[] =
		"|| ', multirange_type_name = ' || r.rngmultitypid::pg_catalog.regtype::pg_catalog.text ";
	static const char tail[] =
		"|| ')' FROM pg_catalog.pg_range r JOIN pg_catalog.pg_opclass oc ON oc.oid = r.rngsubopc "
		"JOIN pg_catalog.pg_namespace ocn ON ocn.oid = oc.opcnamespace "
		"JOIN pg_catalog.pg_type st ON st.oid = r.rngsubtype "
		"LEFT JOIN pg_catalog.pg_collation co ON co.oid = r.rngcollation "
		"LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE r.rngtypid = ty.oid) "
		"WHEN 'c' THEN 'AS (' || COALESCE((SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) || ' ' "
		"|| pg_catalog.format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attcollation <> at.typcollation "
		"THEN ' COLLATE ' || pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) "
		"ELSE '' END, ', ' ORDER BY a.attnum) FROM pg_catalog.pg_attribute a "
		"JOIN pg_catalog.pg_type at ON at.oid = a.atttypid "
		"LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation "
		"LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace "
		"WHERE a.attrelid = ty.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '') || ')' "
		"WHEN 'd' THEN 'AS ' || pg_catalog.format_type(ty.typbasetype, ty.typtypmod) "
		"|| CASE WHEN ty.typcollation <> (SELECT b.typcollation FROM pg_catalog.pg_type b WHERE b.oid = ty.typbasetype) "
		"THEN ' COLLATE ' || (SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) "
		"FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace "
		"WHERE co.oid = ty.typcollation) ELSE '' END "
		"|| COALESCE(' DEFAULT ' || pg_catalog.pg_get_expr(ty.typdefaultbin, 0), '') "
		"|| CASE WHEN ty.typnotnull THEN ' NOT NULL' ELSE '' END "
		"|| COALESCE((SELECT pg_catalog.string_agg(' CONSTRAINT ' || pg_catalog.quote_ident(co.conname) || ' ' "
		"|| pg_catalog.pg_get_constraintdef(co.oid), '' ORDER BY co.conname) FROM pg_catalog.pg_constraint co "
		"WHERE co.contypid = ty.oid AND co.contype = 'c'), '') END "
		"FROM t JOIN pg_catalog.pg_type ty ON ty.oid = t.oid "
		"JOIN pg_catalog.pg_namespace n ON n.oid = ty.typnamespace "
		"LEFT JOIN pg_catalog.pg_class c ON c.oid = ty.typrelid "
		"WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
		"ORDER BY n.nspname, ty.typname";
	PGresult *res = NULL;
	tl_buf q = TL_BUF_INIT, sql = TL_BUF_INIT;
	const char *p[3];
	size_t oi, dep, *steps = NULL;
	int r, rc, mr = x->version >= 140000;

	rc = tl_buf_printf(&q, err, "%s%s%s%s%s", head, mr ? multirange_edge : "", middle, mr ? multirange_name : "",
			   tail);
	p[0] = x->top_oids.len ? tl_buf_cstr(&x->top_oids) : "{}";
	p[1] = x->nsp_oids.len ? tl_buf_cstr(&x->nsp_oids) : "{}";
	p[2] = x->proc_oids.len ? tl_buf_cstr(&x->proc_oids) : "{}";
	if (!rc)
		rc = tl_pgs__query(x, tl_buf_cstr(&q), 3, p, &res, "cannot read pg types", err);
	if (!rc && PQntuples(res) > 0) {
		steps = malloc((size_t)PQntuples(res) * sizeof(*steps));
		if (!steps)
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading pg types");
	}
	/* first our own types, then what answers for the others (arrays, multiranges, row types) */
	for (r = 0; !rc && r < PQntuples(res); r++) {
		const char *nsp = PQgetvalue(res, r, TY_NSP), *name = PQgetvalue(res, r, TY_NAME);
		char tt = PQgetvalue(res, r, TY_TYPE)[0];
		const char *rk = tl_pgs__val(res, r, TY_RELKIND);
		struct tl_pgs_obj *o;
		steps[r] = TL_PGS_NONE;
		if (tl_pgs__flag(res, r, TY_EXT) || tl_pgs__val(res, r, TY_ALIAS) || tt == 'p' || tt == 'm')
			continue;
		if (tt == 'c' && rk && *rk != 'c')
			continue;
		if (tt == 'b') {
			rc = tl_error_set(err, TL_ERR_UNSUPPORTED,
					  "base type \"%s\".\"%s\" is not copied (it is made of C functions): create it on "
					  "the target first, or put it in an extension",
					  nsp, name);
			break;
		}
		rc = tl_pgs__obj_add(x, &x->types, 't', tl_pgs__oid(res, r, TY_OID), nsp, name, &oi, err);
		if (!rc)
			rc = tl_pgs__oid_append(&x->type_oids, x->objs[oi].oid, err);
		if (rc || !tl_pgs__want(x, TL_SK_TYPE, TL_PHASE_PRE_DATA))
			continue;
		rc = tl_pgs__check_not_renamed(x, nsp, "type", name, err);
		if (rc)
			break;
		o = &x->objs[oi];
		o->relkind = tt;
		tl_buf_reset(&sql);
		rc = tl_buf_puts(&sql, tt == 'd' ? "CREATE DOMAIN " : "CREATE TYPE ", err);
		if (!rc)
			rc = tl_pg__quote_table(&sql, o->tnsp, o->tname, err);
		if (!rc)
			rc = tl_buf_printf(&sql, err, " %s;", PQgetvalue(res, r, TY_BODY));
		if (!rc)
			rc = tl_pgs__push(x, TL_SK_TYPE, o->tnsp, NULL, o->tname, TL_SCHEMA_NO_OWNER, tl_buf_cstr(&sql), &o->step,
					  err);
		if (!rc)
			steps[r] = o->step;
		if (!rc)
			rc = tl_pgs__schema_step(x, nsp, &dep, err);
		if (!rc)
			rc = tl_pgs__dep(x, steps[r], dep, err);
	}
	for (r = 0; !rc && r < PQntuples(res); r++) {
		unsigned long alias = tl_pgs__oid(res, r, TY_ALIAS), target = 0;
		const char *rk = tl_pgs__val(res, r, TY_RELKIND);
		if (alias)
			target = alias;
		else if (PQgetvalue(res, r, TY_TYPE)[0] == 'c' && rk && *rk != 'c')
			target = tl_pgs__oid(res, r, TY_RELID); /* a table's row type: the table */
		if (!target)
			continue;
		oi = alias ? tl_pgs__map_get(&x->types, target) : tl_pgs__map_get(&x->rels, target);
		if (oi != TL_PGS_NONE)
			rc = tl_pgs__map_put(&x->types, tl_pgs__oid(res, r, TY_OID), oi, err);
	}
	for (r = 0; !rc && r < PQntuples(res); r++) {
		struct oid_deps td = {x, &x->types, steps[r]};
		if (steps[r] != TL_PGS_NONE)
			rc = each_oid(PQgetvalue(res, r, TY_DEPS), oid_dep, &td, err);
	}
	free(steps);
	PQclear(res);
	tl_buf_release(&q);
	tl_buf_release(&sql);
	return rc;
}

/* ---- sequences ---------------------------------------------------------------------- */

enum { SQ_OID, SQ_NSP, SQ_NAME, SQ_TYPE, SQ_START, SQ_INCR, SQ_MIN, SQ_MAX, SQ_CACHE, SQ_CYCLE, SQ_OWNER, SQ_COL, SQ_DEPTYPE };

int tl_pgs__sequences(struct tl_pgs_ctx *x, tl_error *err)
{
	static const char sql[] =
		"SELECT s.seqrelid, n.nspname, c.relname, pg_catalog.format_type(s.seqtypid, NULL), s.seqstart, "
		"s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle, o.refobjid, o.attname, o.deptype "
		"FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid "
		"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		"LEFT JOIN LATERAL (SELECT d.refobjid, a.attname, d.deptype FROM pg_catalog.pg_depend d "
		"JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
		"WHERE d.classid = " REGCLASS("pg_class") " AND d.objid = s.seqrelid "
		"AND d.refclassid = " REGCLASS("pg_class") " AND d.deptype IN ('a', 'i') LIMIT 1) o ON true "
		"WHERE CASE WHEN o.refobjid IS NOT NULL THEN o.refobjid = ANY ($1::pg_catalog.oid[]) "
		"ELSE c.relnamespace = ANY ($2::pg_catalog.oid[]) OR s.seqrelid IN (SELECT d.refobjid "
		"FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_attrdef ad ON d.classid = " REGCLASS("pg_attrdef") " "
		"AND d.objid = ad.oid WHERE ad.adrelid = ANY ($1::pg_catalog.oid[]) "
		"AND d.refclassid = " REGCLASS("pg_class") ") END "
		"AND " NOT_EXT("pg_class", "s.seqrelid") " ORDER BY n.nspname, c.relname";
	PGresult *res = NULL;
	tl_buf text = TL_BUF_INIT;
	const char *p[2];
	size_t oi, dep;
	int r, rc;

	if (x->rel_oids.len == 0)
		return 0;
	p[0] = tl_buf_cstr(&x->rel_oids);
	p[1] = tl_buf_cstr(&x->nsp_oids);
	rc = tl_pgs__query(x, sql, 2, p, &res, "cannot read pg sequences", err);
	for (r = 0; !rc && r < PQntuples(res); r++) {
		const char *dt = tl_pgs__val(res, r, SQ_DEPTYPE);
		struct tl_pgs_obj *o;
		rc = tl_pgs__obj_add(x, &x->rels, 'r', tl_pgs__oid(res, r, SQ_OID), PQgetvalue(res, r, SQ_NSP),
				     PQgetvalue(res, r, SQ_NAME), &oi, err);
		if (rc)
			break;
		o = &x->objs[oi];
		o->relkind = 'S';
		o->parent = tl_pgs__oid(res, r, SQ_OWNER);
		if (dt && (rc = set_args(o, PQgetvalue(res, r, SQ_COL), err)) != 0)
			break;
		if (o->parent) {
			size_t ti = tl_pgs__map_get(&x->rels, o->parent);
			o = &x->objs[oi];
			o->owner = ti == TL_PGS_NONE ? TL_SCHEMA_NO_OWNER : x->objs[ti].owner;
		}
		if (dt && *dt == 'i')
			continue; /* an identity's: created with its table */
		rc = tl_pgs__oid_append(&x->more_oids, o->oid, err);
		if (rc || !tl_pgs__want(x, TL_SK_SEQUENCE, TL_PHASE_PRE_DATA))
			continue;
		tl_buf_reset(&text);
		rc = tl_buf_puts(&text, "CREATE SEQUENCE ", err);
		if (!rc)
			rc = tl_pg__quote_table(&text, o->tnsp, o->tname, err);
		if (!rc)
			rc = tl_buf_printf(&text, err, " AS %s START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s%s;",
					   PQgetvalue(res, r, SQ_TYPE), PQgetvalue(res, r, SQ_START), PQgetvalue(res, r, SQ_INCR),
					   PQgetvalue(res, r, SQ_MIN), PQgetvalue(res, r, SQ_MAX), PQgetvalue(res, r, SQ_CACHE),
					   tl_pgs__flag(res, r, SQ_CYCLE) ? " CYCLE" : " NO CYCLE");
		if (!rc)
			rc = tl_pgs__push(x, TL_SK_SEQUENCE, o->tnsp, NULL, o->tname, o->owner, tl_buf_cstr(&text), &o->step, err);
		if (!rc)
			rc = tl_pgs__schema_step(x, PQgetvalue(res, r, SQ_NSP), &dep, err);
		if (!rc)
			rc = tl_pgs__dep(x, x->objs[oi].step, dep, err);
	}
	PQclear(res);
	tl_buf_release(&text);
	return rc;
}

int tl_pgs__sequence_owners(struct tl_pgs_ctx *x, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT;
	size_t i, st;
	int rc = 0;

	if (!tl_pgs__want(x, TL_SK_SEQUENCE_OWNER, TL_PHASE_PRE_DATA))
		return 0;
	for (i = 0; !rc && i < x->nobjs; i++) {
		struct tl_pgs_obj *s = &x->objs[i], *t;
		size_t ti;
		if (s->cls != 'r' || s->relkind != 'S' || !s->parent || s->step == TL_PGS_NONE)
			continue;
		ti = tl_pgs__map_get(&x->rels, s->parent);
		if (ti == TL_PGS_NONE || x->objs[ti].step == TL_PGS_NONE)
			continue;
		s = &x->objs[i];
		t = &x->objs[ti];
		tl_buf_reset(&sql);
		rc = tl_buf_puts(&sql, "ALTER SEQUENCE ", err);
		if (!rc)
			rc = tl_pg__quote_table(&sql, s->tnsp, s->tname, err);
		if (!rc)
			rc = tl_buf_puts(&sql, " OWNED BY ", err);
		if (!rc)
			rc = tl_pg__quote_table(&sql, t->tnsp, t->tname, err);
		if (!rc)
			rc = tl_buf_putc(&sql, '.', err);
		if (!rc)
			rc = tl_pg__quote_ident(&sql, s->args, err);
		if (!rc)
			rc = tl_buf_puts(&sql, ";", err);
		if (!rc)
			rc = tl_pgs__push(x, TL_SK_SEQUENCE_OWNER, s->tnsp, t->tname, s->tname, t->owner, tl_buf_cstr(&sql), &st,
					  err);
		if (!rc) {
			x->out->items[st].flags |= TL_STEP_RERUN;
			rc = tl_pgs__dep(x, st, x->objs[i].step, err);
		}
		if (!rc)
			rc = tl_pgs__dep(x, st, x->objs[ti].step, err);
	}
	tl_buf_release(&sql);
	return rc;
}

/* ---- views and materialized views ---------------------------------------------------- */

enum { VW_OID, VW_NSP, VW_NAME, VW_KIND, VW_DEF, VW_OPTS, VW_POPULATED, VW_REFS };

struct view_refs {
	struct tl_pgs_ctx *x;
	const PGresult *res;
	const unsigned char *in; /* per row: still included */
	int ok;
};

/* A view may be copied when every relation it reads is copied (or is a system one). */
static int view_ref_ok(void *ctx, unsigned long oid, tl_error *err)
{
	struct view_refs *v = ctx;
	size_t oi = tl_pgs__map_get(&v->x->rels, oid);
	int r;

	(void)err;
	if (oi != TL_PGS_NONE)
		return 0;
	for (r = 0; r < PQntuples(v->res); r++)
		if (tl_pgs__oid(v->res, r, VW_OID) == oid) {
			if (!v->in[r])
				v->ok = 0;
			return 0;
		}
	v->ok = 0;
	return 0;
}


struct view_rename {
	struct tl_pgs_ctx *x;
	const char *view_nsp, *view;
};

/* A view's text names its relations by their source names: it cannot follow a rename. */
static int view_ref_renamed(void *ctx, unsigned long oid, tl_error *err)
{
	struct view_rename *v = ctx;
	size_t oi = tl_pgs__map_get(&v->x->rels, oid);
	const struct tl_pgs_obj *o = oi == TL_PGS_NONE ? NULL : &v->x->objs[oi];

	if (!o || (strcmp(o->snsp, o->tnsp) == 0 && strcmp(o->sname, o->tname) == 0))
		return 0;
	return tl_error_set(err, TL_ERR_UNSUPPORTED,
			    "view \"%s\".\"%s\" reads \"%s\".\"%s\", which is renamed to \"%s\".\"%s\": its text "
			    "names the source table (leave view out of do_structures, or do not rename the table)",
			    v->view_nsp, v->view, o->snsp, o->sname, o->tnsp, o->tname);
}

int tl_pgs__views(struct tl_pgs_ctx *x, tl_error *err)
{
	static const char sql[] =
		"SELECT c.oid, n.nspname, c.relname, c.relkind, pg_catalog.pg_get_viewdef(c.oid), "
		"pg_catalog.array_to_string(c.reloptions, ', '), c.relispopulated, "
		"ARRAY(SELECT DISTINCT d.refobjid FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_depend d "
		"ON d.classid = " REGCLASS("pg_rewrite") " AND d.objid = r.oid AND d.refclassid = " REGCLASS("pg_class") " "
		"WHERE r.ev_class = c.oid AND d.refobjid <> c.oid AND d.refobjid >= 16384 AND " NOT_EXT("pg_class", "d.refobjid")
		")::pg_catalog.text "
		"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		"WHERE c.relkind IN ('v', 'm') AND c.relnamespace = ANY ($1::pg_catalog.oid[]) AND " NOT_EXT("pg_class", "c.oid")
		" ORDER BY n.nspname, c.relname";
	PGresult *res = NULL;
	unsigned char *in = NULL;
	tl_buf text = TL_BUF_INIT, mv = TL_BUF_INIT;
	const char *p[1];
	size_t oi, st, dep;
	int r, rc, changed;

	if (x->nsp_oids.len == 0 || !tl_pgs__want(x, TL_SK_VIEW, TL_PHASE_POST_DATA))
		return 0;
	p[0] = tl_buf_cstr(&x->nsp_oids);
	rc = tl_pgs__query(x, sql, 1, p, &res, "cannot read pg views", err);
	if (!rc && PQntuples(res) > 0) {
		in = malloc((size_t)PQntuples(res));
		if (!in)
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading pg views");
		else
			memset(in, 1, (size_t)PQntuples(res));
	}
	do { /* leave out views reading what is not copied, and views on those */
		changed = 0;
		for (r = 0; !rc && r < PQntuples(res); r++) {
			struct view_refs v = {x, res, in, 1};
			if (!in[r])
				continue;
			rc = each_oid(PQgetvalue(res, r, VW_REFS), view_ref_ok, &v, err);
			if (!v.ok) {
				in[r] = 0;
				changed = 1;
			}
		}
	} while (!rc && changed);
	for (r = 0; !rc && r < PQntuples(res); r++) {
		struct tl_pgs_obj *o;
		char *def;
		size_t dl;
		int mat = PQgetvalue(res, r, VW_KIND)[0] == 'm';
		const char *opts = tl_pgs__val(res, r, VW_OPTS);
		struct view_rename vr = {x, PQgetvalue(res, r, VW_NSP), PQgetvalue(res, r, VW_NAME)};
		if (!in[r])
			continue;
		rc = tl_pgs__check_not_renamed(x, PQgetvalue(res, r, VW_NSP), mat ? "materialized view" : "view",
					       PQgetvalue(res, r, VW_NAME), err);
		if (!rc)
			rc = each_oid(PQgetvalue(res, r, VW_REFS), view_ref_renamed, &vr, err);
		if (!rc)
			rc = tl_pgs__obj_add(x, &x->rels, 'r', tl_pgs__oid(res, r, VW_OID), PQgetvalue(res, r, VW_NSP),
					     PQgetvalue(res, r, VW_NAME), &oi, err);
		if (rc)
			break;
		o = &x->objs[oi];
		o->relkind = mat ? 'm' : 'v';
		def = PQgetvalue(res, r, VW_DEF);
		dl = strlen(def);
		while (dl > 0 && (def[dl - 1] == ';' || def[dl - 1] == ' ' || def[dl - 1] == '\n'))
			dl--;
		tl_buf_reset(&text);
		rc = tl_buf_printf(&text, err, "CREATE %sVIEW ", mat ? "MATERIALIZED " : "");
		if (!rc)
			rc = tl_pg__quote_table(&text, o->tnsp, o->tname, err);
		if (!rc && opts && *opts)
			rc = tl_buf_printf(&text, err, " WITH (%s)", opts);
		if (!rc)
			rc = tl_buf_printf(&text, err, " AS\n%.*s%s;", (int)dl, def, mat ? "\n  WITH NO DATA" : "");
		if (!rc)
			rc = tl_pgs__oid_append(&x->view_oids, o->oid, err);
		if (!rc)
			rc = tl_pgs__push(x, mat ? TL_SK_MATVIEW : TL_SK_VIEW, o->tnsp, NULL, o->tname, TL_SCHEMA_NO_OWNER,
					  tl_buf_cstr(&text), &o->step, err);
		if (rc)
			break;
		if (!rc)
			rc = tl_pgs__schema_step(x, PQgetvalue(res, r, VW_NSP), &dep, err);
		if (!rc)
			rc = tl_pgs__dep(x, x->objs[oi].step, dep, err);
	}
	/* dependencies once all are known (a view may read one listed after it) */
	for (r = 0; !rc && r < PQntuples(res); r++) {
		struct oid_deps vd = {x, &x->rels, TL_PGS_NONE};
		if (!in[r])
			continue;
		oi = tl_pgs__map_get(&x->rels, tl_pgs__oid(res, r, VW_OID));
		vd.step = x->objs[oi].step;
		rc = each_oid(PQgetvalue(res, r, VW_REFS), oid_dep, &vd, err);
	}
	/* materialized views: filled once everything they read is, then indexed */
	for (r = 0; !rc && r < PQntuples(res); r++) {
		if (!in[r] || PQgetvalue(res, r, VW_KIND)[0] != 'm')
			continue;
		oi = tl_pgs__map_get(&x->rels, tl_pgs__oid(res, r, VW_OID));
		rc = tl_pgs__oid_append(&mv, x->objs[oi].oid, err);
		if (rc || !tl_pgs__flag(res, r, VW_POPULATED))
			continue;
		tl_buf_reset(&text);
		rc = tl_buf_puts(&text, "REFRESH MATERIALIZED VIEW ", err);
		if (!rc)
			rc = tl_pg__quote_table(&text, x->objs[oi].tnsp, x->objs[oi].tname, err);
		if (!rc)
			rc = tl_buf_puts(&text, ";", err);
		if (!rc)
			rc = tl_pgs__push(x, TL_SK_REFRESH, x->objs[oi].tnsp, NULL, x->objs[oi].tname, TL_SCHEMA_NO_OWNER,
					  tl_buf_cstr(&text), &st, err);
		if (rc)
			break;
		x->out->items[st].flags |= TL_STEP_RERUN | TL_STEP_SLOW;
		rc = tl_pgs__dep(x, st, x->objs[oi].step, err);
		/* what reads it waits for the refresh: hand its readers the refresh step */
		if (!rc)
			x->objs[oi].step = st;
	}
	if (!rc && mv.len)
		rc = tl_pgs__indexes(x, tl_buf_cstr(&mv), TL_PHASE_POST_DATA, err);
	free(in);
	PQclear(res);
	tl_buf_release(&text);
	tl_buf_release(&mv);
	return rc;
}

/* ---- extended statistics -------------------------------------------------------------- */

int tl_pgs__statistics(struct tl_pgs_ctx *x, tl_error *err)
{
	static const char sql[] =
		"SELECT s.oid, s.stxrelid, n.nspname, s.stxname, pg_catalog.pg_get_statisticsobjdef(s.oid), "
		"'CREATE STATISTICS ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(s.stxname) || ' ', "
		"' FROM ' || pg_catalog.quote_ident(rn.nspname) || '.' || pg_catalog.quote_ident(rc.relname) "
		"FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace "
		"JOIN pg_catalog.pg_class rc ON rc.oid = s.stxrelid JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace "
		"WHERE s.stxrelid = ANY ($1::pg_catalog.oid[]) ORDER BY n.nspname, s.stxname";
	PGresult *res = NULL;
	tl_buf text = TL_BUF_INIT;
	const char *p[1];
	size_t oi;
	int r, rc;

	if (x->rel_oids.len == 0)
		return 0;
	p[0] = tl_buf_cstr(&x->rel_oids);
	rc = tl_pgs__query(x, sql, 1, p, &res, "cannot read pg statistics objects", err);
	for (r = 0; !rc && r < PQntuples(res); r++) {
		const char *def = PQgetvalue(res, r, 4), *pre = PQgetvalue(res, r, 5), *suf = PQgetvalue(res, r, 6);
		size_t dl = strlen(def), pl = strlen(pre), sl = strlen(suf), ti = tl_pgs__map_get(&x->rels, tl_pgs__oid(res, r, 1));
		struct tl_pgs_obj *o, *t;
		rc = tl_pgs__obj_add(x, NULL, 'x', tl_pgs__oid(res, r, 0), PQgetvalue(res, r, 2), PQgetvalue(res, r, 3), &oi,
				     err);
		if (rc || !tl_pgs__want(x, TL_SK_STATISTICS, TL_PHASE_POST_DATA))
			continue;
		if (dl < pl + sl || strncmp(def, pre, pl) != 0 || strcmp(def + dl - sl, suf) != 0) {
			rc = tl_error_set(err, TL_ERR_UNSUPPORTED, "cannot read the definition of statistics \"%s\".\"%s\": %s",
					  PQgetvalue(res, r, 2), PQgetvalue(res, r, 3), def);
			break;
		}
		o = &x->objs[oi];
		t = &x->objs[ti];
		tl_buf_reset(&text);
		rc = tl_buf_puts(&text, "CREATE STATISTICS ", err);
		if (!rc)
			rc = tl_pg__quote_table(&text, o->tnsp, o->tname, err);
		if (!rc)
			rc = tl_buf_printf(&text, err, " %.*s FROM ", (int)(dl - pl - sl), def + pl);
		if (!rc)
			rc = tl_pg__quote_table(&text, t->tnsp, t->tname, err);
		if (!rc)
			rc = tl_buf_puts(&text, ";", err);
		if (!rc)
			rc = tl_pgs__push(x, TL_SK_STATISTICS, o->tnsp, t->tname, o->tname, t->owner, tl_buf_cstr(&text), &o->step,
					  err);
		if (!rc)
			rc = tl_pgs__oid_append(&x->more_oids, o->oid, err);
	}
	PQclear(res);
	tl_buf_release(&text);
	return rc;
}

/* ---- dependencies and the extensions they reveal ---------------------------------------- */

/* The step that creates an object of a catalog (by the catalog's oid), or TL_PGS_NONE. */
static size_t step_of(struct tl_pgs_ctx *x, const char *catalog, unsigned long oid)
{
	struct tl_pgs_map *m = strcmp(catalog, "pg_class") == 0  ? &x->rels
			       : strcmp(catalog, "pg_type") == 0 ? &x->types
			       : strcmp(catalog, "pg_proc") == 0 ? &x->procs
								  : NULL;
	size_t oi = m ? tl_pgs__map_get(m, oid) : TL_PGS_NONE;

	return oi == TL_PGS_NONE ? TL_PGS_NONE : x->objs[oi].step;
}

static int extensions(struct tl_pgs_ctx *x, const char *ext_oids, tl_error *err)
{
	static const char sql[] = "SELECT e.oid, e.extname, n.nspname FROM pg_catalog.pg_extension e "
				  "JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
				  "WHERE e.oid = ANY ($1::pg_catalog.oid[]) ORDER BY e.extname";
	PGresult *res = NULL;
	tl_buf text = TL_BUF_INIT;
	const char *p[1] = {ext_oids};
	size_t oi, dep;
	int r, rc;

	rc = tl_pgs__query(x, sql, 1, p, &res, "cannot read pg extensions", err);
	for (r = 0; !rc && r < PQntuples(res); r++) {
		const char *name = PQgetvalue(res, r, 1), *nsp = PQgetvalue(res, r, 2);
		rc = tl_pgs__obj_add(x, &x->exts, 'e', tl_pgs__oid(res, r, 0), nsp, name, &oi, err);
		if (rc || !tl_pgs__want(x, TL_SK_EXTENSION, TL_PHASE_PRE_DATA))
			continue;
		tl_buf_reset(&text);
		rc = tl_buf_puts(&text, "CREATE EXTENSION IF NOT EXISTS ", err);
		if (!rc)
			rc = tl_pg__quote_ident(&text, name, err);
		if (!rc)
			rc = tl_buf_puts(&text, " WITH SCHEMA ", err);
		if (!rc)
			rc = tl_pg__quote_ident(&text, x->objs[oi].tnsp, err);
		if (!rc)
			rc = tl_buf_puts(&text, " CASCADE;", err);
		if (!rc)
			rc = tl_pgs__push(x, TL_SK_EXTENSION, NULL, NULL, name, TL_SCHEMA_NO_OWNER, tl_buf_cstr(&text),
					  &x->objs[oi].step, err);
		if (!rc)
			rc = tl_pgs__schema_step(x, nsp, &dep, err);
		if (!rc)
			rc = tl_pgs__dep(x, x->objs[tl_pgs__map_get(&x->exts, tl_pgs__oid(res, r, 0))].step, dep, err);
	}
	PQclear(res);
	tl_buf_release(&text);
	return rc;
}

int tl_pgs__dependencies(struct tl_pgs_ctx *x, tl_error *err)
{
	/* every 'n' dependency of what is created (sub-objects answer for their owner); types
	 * named through their array type count as the element type */
	static const char sql[] =
		"WITH sub(cls, oid, ocls, ooid) AS ("
		"SELECT " REGCLASS("pg_class") ", o, " REGCLASS("pg_class") ", o FROM pg_catalog.unnest($1::pg_catalog.oid[]) o "
		"UNION ALL SELECT " REGCLASS("pg_type") ", o, " REGCLASS("pg_type") ", o FROM pg_catalog.unnest($2::pg_catalog.oid[]) o "
		"UNION ALL SELECT " REGCLASS("pg_proc") ", o, " REGCLASS("pg_proc") ", o FROM pg_catalog.unnest($3::pg_catalog.oid[]) o "
		"UNION ALL SELECT " REGCLASS("pg_attrdef") ", ad.oid, " REGCLASS("pg_class") ", ad.adrelid "
		"FROM pg_catalog.pg_attrdef ad WHERE ad.adrelid = ANY ($1::pg_catalog.oid[]) "
		"UNION ALL SELECT " REGCLASS("pg_constraint") ", co.oid, " REGCLASS("pg_class") ", co.conrelid "
		"FROM pg_catalog.pg_constraint co WHERE co.conrelid = ANY ($1::pg_catalog.oid[]) AND co.contype IN ('c', 'x') "
		"UNION ALL SELECT " REGCLASS("pg_constraint") ", co.oid, " REGCLASS("pg_type") ", co.contypid "
		"FROM pg_catalog.pg_constraint co WHERE co.contypid = ANY ($2::pg_catalog.oid[]) "
		"UNION ALL SELECT " REGCLASS("pg_trigger") ", t.oid, " REGCLASS("pg_class") ", t.tgrelid "
		"FROM pg_catalog.pg_trigger t WHERE t.tgrelid = ANY ($1::pg_catalog.oid[]) AND NOT t.tgisinternal "
		"UNION ALL SELECT " REGCLASS("pg_rewrite") ", r.oid, " REGCLASS("pg_class") ", r.ev_class "
		"FROM pg_catalog.pg_rewrite r WHERE r.ev_class = ANY ($1::pg_catalog.oid[])), "
		"dep AS (SELECT s.ocls, s.ooid, d.refclassid, CASE WHEN d.refclassid = " REGCLASS("pg_type") " THEN "
		"COALESCE((SELECT e.oid FROM pg_catalog.pg_type e WHERE e.typarray = d.refobjid), d.refobjid) "
		"ELSE d.refobjid END AS ref "
		"FROM sub s JOIN pg_catalog.pg_depend d ON d.classid = s.cls AND d.objid = s.oid AND d.deptype = 'n') "
		"SELECT DISTINCT dep.ocls::pg_catalog.regclass::pg_catalog.text, dep.ooid, "
		"dep.refclassid::pg_catalog.regclass::pg_catalog.text, dep.ref, x.refobjid "
		"FROM dep LEFT JOIN pg_catalog.pg_depend x ON x.classid = dep.refclassid AND x.objid = dep.ref "
		"AND x.refclassid = " REGCLASS("pg_extension") " AND x.deptype = 'e'";
	PGresult *res = NULL;
	tl_buf all = TL_BUF_INIT, exts = TL_BUF_INIT;
	struct tl_pgs_map seen = {NULL, 0, 0, 0};
	const char *p[3];
	size_t oi, i;
	int r, rc = 0;

	/* every pg_class object created: tables, partitions, sequences, indexes, views, statistics */
	for (i = 0; !rc && i < x->nobjs; i++)
		if (x->objs[i].cls == 'r')
			rc = tl_pgs__oid_append(&all, x->objs[i].oid, err);
	if (rc || all.len == 0)
		goto cleanup;
	p[0] = tl_buf_cstr(&all);
	p[1] = x->type_oids.len ? tl_buf_cstr(&x->type_oids) : "{}";
	p[2] = x->proc_oids.len ? tl_buf_cstr(&x->proc_oids) : "{}";
	rc = tl_pgs__query(x, sql, 3, p, &res, "cannot read pg dependencies", err);
	/* the extensions first (they have no step yet) */
	for (r = 0; !rc && r < PQntuples(res); r++) {
		unsigned long e = tl_pgs__oid(res, r, 4);
		if (!e || tl_pgs__map_get(&seen, e) != TL_PGS_NONE)
			continue;
		rc = tl_pgs__map_put(&seen, e, 0, err);
		if (!rc)
			rc = tl_pgs__oid_append(&exts, e, err);
	}
	if (!rc && exts.len)
		rc = extensions(x, tl_buf_cstr(&exts), err);
	for (r = 0; !rc && r < PQntuples(res); r++) {
		size_t own = step_of(x, PQgetvalue(res, r, 0), tl_pgs__oid(res, r, 1)), ref;
		unsigned long e = tl_pgs__oid(res, r, 4);
		if (own == TL_PGS_NONE)
			continue;
		if (e) {
			oi = tl_pgs__map_get(&x->exts, e);
			ref = oi == TL_PGS_NONE ? TL_PGS_NONE : x->objs[oi].step;
		} else {
			ref = step_of(x, PQgetvalue(res, r, 2), tl_pgs__oid(res, r, 3));
		}
		if (ref == TL_PGS_NONE || x->out->items[ref].phase > x->out->items[own].phase)
			continue;
		rc = tl_pgs__dep(x, own, ref, err);
	}
cleanup:
	PQclear(res);
	free(seen.e);
	tl_buf_release(&all);
	tl_buf_release(&exts);
	return rc;
}

/* ---- comments ------------------------------------------------------------------------- */

enum { CM_WHAT, CM_OID, CM_SUB, CM_OTHER, CM_TEXT };

/* COMMENT ON <what> <object> IS <literal>: one step after the object's. */
static int push_comment(struct tl_pgs_ctx *x, const char *word, const char *idpart, const char *target,
			const char *lit, size_t objstep, size_t owner, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT;
	size_t st;
	int rc;

	rc = tl_buf_printf(&sql, err, "COMMENT ON %s %s IS %s;", word, target, lit);
	if (!rc)
		rc = tl_pgs__push(x, TL_SK_COMMENT, NULL, NULL, NULL, owner, tl_buf_cstr(&sql), &st, err);
	if (!rc) {
		x->out->items[st].flags |= TL_STEP_RERUN;
		rc = tl_schema_step_set_id(&x->out->items[st], err, "comment %s", idpart);
	}
	if (!rc && x->out->items[objstep].phase <= TL_PHASE_POST_DATA)
		rc = tl_pgs__dep(x, st, objstep, err);
	tl_buf_release(&sql);
	return rc;
}

int tl_pgs__comments(struct tl_pgs_ctx *x, tl_error *err)
{
	static const char sql[] =
		"SELECT 'class', d.objoid, d.objsubid, (SELECT a.attname FROM pg_catalog.pg_attribute a "
		"WHERE a.attrelid = d.objoid AND a.attnum = d.objsubid), pg_catalog.quote_literal(d.description) "
		"FROM pg_catalog.pg_description d WHERE d.classoid = " REGCLASS("pg_class") " AND d.objoid = ANY ($1::pg_catalog.oid[]) "
		"UNION ALL SELECT 'type', d.objoid, 0, NULL, pg_catalog.quote_literal(d.description) FROM pg_catalog.pg_description d "
		"WHERE d.classoid = " REGCLASS("pg_type") " AND d.objoid = ANY ($2::pg_catalog.oid[]) "
		"UNION ALL SELECT 'proc', d.objoid, 0, NULL, pg_catalog.quote_literal(d.description) FROM pg_catalog.pg_description d "
		"WHERE d.classoid = " REGCLASS("pg_proc") " AND d.objoid = ANY ($3::pg_catalog.oid[]) "
		"UNION ALL SELECT 'nsp', d.objoid, 0, n.nspname, pg_catalog.quote_literal(d.description) "
		"FROM pg_catalog.pg_description d JOIN pg_catalog.pg_namespace n ON n.oid = d.objoid "
		"WHERE d.classoid = " REGCLASS("pg_namespace") " AND d.objoid = ANY ($4::pg_catalog.oid[]) "
		"UNION ALL SELECT CASE WHEN co.contypid <> 0 THEN 'domcon' ELSE 'con' END, "
		"CASE WHEN co.contypid <> 0 THEN co.contypid ELSE co.conrelid END, 0, co.conname, "
		"pg_catalog.quote_literal(d.description) FROM pg_catalog.pg_description d "
		"JOIN pg_catalog.pg_constraint co ON co.oid = d.objoid WHERE d.classoid = " REGCLASS("pg_constraint") " "
		"AND (co.conrelid = ANY ($1::pg_catalog.oid[]) OR co.contypid = ANY ($2::pg_catalog.oid[])) "
		"UNION ALL SELECT 'trg', t.tgrelid, 0, t.tgname, pg_catalog.quote_literal(d.description) "
		"FROM pg_catalog.pg_description d JOIN pg_catalog.pg_trigger t ON t.oid = d.objoid "
		"WHERE d.classoid = " REGCLASS("pg_trigger") " AND t.tgrelid = ANY ($1::pg_catalog.oid[]) "
		"UNION ALL SELECT 'stx', d.objoid, 0, NULL, pg_catalog.quote_literal(d.description) FROM pg_catalog.pg_description d "
		"WHERE d.classoid = " REGCLASS("pg_statistic_ext") " AND d.objoid = ANY ($1::pg_catalog.oid[]) "
		"ORDER BY 1, 2, 3, 4";
	PGresult *res = NULL;
	tl_buf all = TL_BUF_INIT, target = TL_BUF_INIT, idp = TL_BUF_INIT;
	const char *p[4];
	size_t i;
	int r, rc = 0;

	if (!tl_pgs__want(x, TL_SK_COMMENT, TL_PHASE_POST_DATA))
		return 0;
	for (i = 0; !rc && i < x->nobjs; i++)
		if (x->objs[i].cls == 'r' || x->objs[i].cls == 'x')
			rc = tl_pgs__oid_append(&all, x->objs[i].oid, err);
	if (rc || all.len == 0)
		goto cleanup;
	p[0] = tl_buf_cstr(&all);
	p[1] = x->type_oids.len ? tl_buf_cstr(&x->type_oids) : "{}";
	p[2] = x->proc_oids.len ? tl_buf_cstr(&x->proc_oids) : "{}";
	p[3] = x->nsp_oids.len ? tl_buf_cstr(&x->nsp_oids) : "{}";
	rc = tl_pgs__query(x, sql, 4, p, &res, "cannot read pg comments", err);
	for (r = 0; !rc && r < PQntuples(res); r++) {
		const char *what = PQgetvalue(res, r, CM_WHAT), *other = tl_pgs__val(res, r, CM_OTHER);
		const char *lit = PQgetvalue(res, r, CM_TEXT), *word = NULL;
		unsigned long oid = tl_pgs__oid(res, r, CM_OID);
		size_t oi = TL_PGS_NONE, k;
		struct tl_pgs_obj *o;
		tl_buf_reset(&target);
		tl_buf_reset(&idp);
		if (strcmp(what, "class") == 0 || strcmp(what, "con") == 0 || strcmp(what, "trg") == 0)
			oi = tl_pgs__map_get(&x->rels, oid);
		else if (strcmp(what, "type") == 0 || strcmp(what, "domcon") == 0)
			oi = tl_pgs__map_get(&x->types, oid);
		else if (strcmp(what, "proc") == 0)
			oi = tl_pgs__map_get(&x->procs, oid);
		else if (strcmp(what, "nsp") == 0)
			oi = tl_pgs__map_get(&x->nsps, oid);
		else if (strcmp(what, "stx") == 0)
			for (k = 0; k < x->nobjs; k++)
				if (x->objs[k].cls == 'x' && x->objs[k].oid == oid)
					oi = k;
		if (oi == TL_PGS_NONE)
			continue;
		o = &x->objs[oi];
		if (o->step == TL_PGS_NONE || (o->cls == 't' && o->oid != oid))
			continue; /* not created here (or a row type standing in for its table) */
		if (strcmp(what, "class") == 0 && other) {
			word = "COLUMN";
			rc = tl_pg__quote_table(&target, o->tnsp, o->tname, err);
			if (!rc)
				rc = tl_buf_putc(&target, '.', err);
			if (!rc)
				rc = tl_pg__quote_ident(&target, other, err);
			if (!rc)
				rc = tl_buf_puts(&idp, "column ", err);
			if (!rc)
				rc = tl_schema_qname(&idp, o->tnsp, o->tname, other, err);
		} else if (strcmp(what, "con") == 0 || strcmp(what, "trg") == 0 || strcmp(what, "domcon") == 0) {
			int dom = strcmp(what, "domcon") == 0;
			word = what[0] == 't' ? "TRIGGER" : "CONSTRAINT";
			rc = tl_pg__quote_ident(&target, other, err);
			if (!rc)
				rc = tl_buf_puts(&target, dom ? " ON DOMAIN " : " ON ", err);
			if (!rc)
				rc = tl_pg__quote_table(&target, o->tnsp, o->tname, err);
			if (!rc)
				rc = tl_buf_printf(&idp, err, "%s ", what[0] == 't' ? "trigger" : "constraint");
			if (!rc)
				rc = tl_schema_qname(&idp, o->tnsp, o->tname, other, err);
		} else if (strcmp(what, "nsp") == 0) {
			word = "SCHEMA";
			rc = tl_pg__quote_ident(&target, o->tnsp, err);
			if (!rc)
				rc = tl_buf_puts(&idp, "schema ", err);
			if (!rc)
				rc = tl_schema_qname(&idp, o->tnsp, NULL, NULL, err);
		} else {
			if (strcmp(what, "proc") == 0)
				word = o->relkind == 'p' ? "PROCEDURE" : "FUNCTION";
			else if (strcmp(what, "type") == 0)
				word = o->relkind == 'd' ? "DOMAIN" : "TYPE";
			else if (strcmp(what, "stx") == 0)
				word = "STATISTICS";
			else
				word = o->relkind == 'v'			   ? "VIEW"
				       : o->relkind == 'm'		   ? "MATERIALIZED VIEW"
				       : o->relkind == 'i' || o->relkind == 'I' ? "INDEX"
				       : o->relkind == 'S'		   ? "SEQUENCE"
										   : "TABLE";
			rc = tl_pg__quote_table(&target, o->tnsp, o->tname, err);
			if (!rc && o->cls == 'f')
				rc = tl_buf_printf(&target, err, "(%s)", o->args);
			if (!rc)
				rc = tl_buf_printf(&idp, err, "%s ", strcmp(word, "MATERIALIZED VIEW") == 0 ? "materialized view"
								      : strcmp(word, "PROCEDURE") == 0	   ? "function"
													   : word);
			for (k = 0; !rc && idp.data[k]; k++)
				if (idp.data[k] >= 'A' && idp.data[k] <= 'Z')
					idp.data[k] = (char)(idp.data[k] - 'A' + 'a');
			if (!rc)
				rc = tl_schema_qname(&idp, o->tnsp, NULL, o->tname, err);
			if (!rc && o->cls == 'f')
				rc = tl_buf_printf(&idp, err, "(%s)", o->args);
		}
		if (!rc)
			rc = push_comment(x, word, tl_buf_cstr(&idp), tl_buf_cstr(&target), lit, x->objs[oi].step,
					  x->objs[oi].owner, err);
	}
cleanup:
	PQclear(res);
	tl_buf_release(&all);
	tl_buf_release(&target);
	tl_buf_release(&idp);
	return rc;
}

/* ---- sequence values (FINAL) ------------------------------------------------------------- */

int tl_pgs__values(struct tl_pgs_ctx *x, tl_error *err)
{
	tl_buf q = TL_BUF_INIT, lit = TL_BUF_INIT, sql = TL_BUF_INIT;
	PGresult *res = NULL;
	size_t i, j, start, st, *idx = NULL, nseq = 0;
	int r, rc = 0;
	char *esc;

	if (!tl_pgs__want(x, TL_SK_SEQUENCE_VALUE, TL_PHASE_FINAL))
		return 0;
	idx = malloc((x->nobjs + 1) * sizeof(*idx));
	if (!idx)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading pg sequence values");
	for (i = 0; i < x->nobjs; i++)
		if (x->objs[i].cls == 'r' && x->objs[i].relkind == 'S')
			idx[nseq++] = i;
	/* a few hundred sequences per statement: one round trip each */
	for (start = 0; !rc && start < nseq; start += 256) {
		size_t end = start + 256 < nseq ? start + 256 : nseq;
		tl_buf_reset(&q);
		for (j = start; !rc && j < end; j++) {
			rc = tl_buf_printf(&q, err, "%sSELECT %zu, last_value, is_called FROM ", j > start ? " UNION ALL " : "", j);
			if (!rc)
				rc = tl_pg__quote_table(&q, x->objs[idx[j]].snsp, x->objs[idx[j]].sname, err);
		}
		if (!rc)
			rc = tl_pgs__query(x, tl_buf_cstr(&q), 0, NULL, &res, "cannot read pg sequence values", err);
		for (r = 0; !rc && r < PQntuples(res); r++) {
			struct tl_pgs_obj *o = &x->objs[idx[strtoul(PQgetvalue(res, r, 0), NULL, 10)]];
			tl_buf_reset(&lit);
			tl_buf_reset(&sql);
			rc = tl_pg__quote_table(&lit, o->tnsp, o->tname, err);
			esc = rc ? NULL : PQescapeLiteral(x->c->pg, lit.data, lit.len);
			if (!rc && !esc)
				rc = tl_error_set(err, TL_ERR_NOMEM, "cannot quote a pg sequence name");
			if (!rc && esc)
				rc = tl_buf_printf(&sql, err, "SELECT pg_catalog.setval(%s, %s, %s);", esc, PQgetvalue(res, r, 1),
						   tl_pgs__flag(res, r, 2) ? "true" : "false");
			if (esc)
				PQfreemem(esc);
			if (!rc)
				rc = tl_pgs__push(x, TL_SK_SEQUENCE_VALUE, o->tnsp, NULL, o->tname, o->owner, tl_buf_cstr(&sql), &st,
						  err);
			if (!rc)
				x->out->items[st].flags |= TL_STEP_RERUN;
		}
		PQclear(res);
		res = NULL;
	}
	free(idx);
	tl_buf_release(&q);
	tl_buf_release(&lit);
	tl_buf_release(&sql);
	return rc;
}
