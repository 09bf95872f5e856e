/*
 * pg_schema_extract.c - PostgreSQL definitions from the catalogs (the schema_extract
 * slot): the extraction context, the selected tables and their partitions, their
 * columns and check constraints, keys, indexes (and partition index attachments),
 * foreign keys and triggers. pg_schema_objects.c adds everything else a table needs or
 * its schema holds (see pg_schema_int.h for the approach, docs/schema.md for why the
 * catalogs and not pg_dump).
 *
 * Steps follow pg_dump's split: tables are created bare (columns, defaults, identity,
 * NOT NULL, valid CHECK constraints, partitioning), their primary / unique / exclusion
 * constraints and indexes come in TABLE_POST (one step each, so that they build in
 * parallel), foreign keys and triggers in POST_DATA. Reads only; never writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pg_schema_int.h"

/* ---- small helpers shared with pg_schema_objects.c ------------------------------------ */

int tl_pgs__query(struct tl_pgs_ctx *x, const char *sql, int np, const char *const *params, PGresult **res,
		  const char *what, tl_error *err)
{
	return tl_pg__exec(x->c, sql, np, params, res, what, err);
}

const char *tl_pgs__val(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

unsigned long tl_pgs__oid(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoul(PQgetvalue(r, row, col), NULL, 10);
}

int tl_pgs__flag(const PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

static int cmp_map(const void *a, const void *b)
{
	const struct tl_pgs_map_e *x = a, *y = b;

	return x->oid < y->oid ? -1 : x->oid > y->oid;
}

int tl_pgs__map_put(struct tl_pgs_map *m, unsigned long oid, size_t obj, tl_error *err)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 64;
		struct tl_pgs_map_e *ne = realloc(m->e, cap * sizeof(*ne));
		if (!ne)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading pg definitions");
		m->e = ne;
		m->cap = cap;
	}
	m->e[m->n].oid = oid;
	m->e[m->n].obj = obj;
	m->n++;
	m->sorted = 0;
	return 0;
}

size_t tl_pgs__map_get(struct tl_pgs_map *m, unsigned long oid)
{
	struct tl_pgs_map_e key = {oid, 0}, *hit;

	if (m->n == 0)
		return TL_PGS_NONE;
	if (!m->sorted) {
		qsort(m->e, m->n, sizeof(*m->e), cmp_map);
		m->sorted = 1;
	}
	hit = bsearch(&key, m->e, m->n, sizeof(*m->e), cmp_map);
	return hit ? hit->obj : TL_PGS_NONE;
}

static void map_release(struct tl_pgs_map *m)
{
	free(m->e);
	memset(m, 0, sizeof(*m));
}

int tl_pgs__obj_add(struct tl_pgs_ctx *x, struct tl_pgs_map *m, char cls, unsigned long oid, const char *snsp,
		    const char *sname, size_t *out, tl_error *err)
{
	struct tl_pgs_obj *o;
	int rc;

	if (x->nobjs == x->capobjs) {
		size_t cap = x->capobjs ? 2 * x->capobjs : 128;
		struct tl_pgs_obj *no = realloc(x->objs, cap * sizeof(*no));
		if (!no)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading pg definitions");
		x->objs = no;
		x->capobjs = cap;
	}
	o = &x->objs[x->nobjs];
	memset(o, 0, sizeof(*o));
	o->cls = cls;
	o->oid = oid;
	o->owner = TL_SCHEMA_NO_OWNER;
	o->step = TL_PGS_NONE;
	o->snsp = tl_strdup(snsp ? snsp : "");
	o->sname = tl_strdup(sname ? sname : "");
	o->tnsp = tl_strdup(snsp ? tl_pgs__map_schema(x, snsp) : "");
	o->tname = tl_strdup(sname ? sname : "");
	if (!o->snsp || !o->sname || !o->tnsp || !o->tname) {
		free(o->snsp);
		free(o->sname);
		free(o->tnsp);
		free(o->tname);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading pg definitions");
	}
	x->nobjs++;
	*out = x->nobjs - 1;
	rc = m ? tl_pgs__map_put(m, oid, x->nobjs - 1, err) : 0;
	return rc;
}

const char *tl_pgs__map_schema(const struct tl_pgs_ctx *x, const char *snsp)
{
	size_t i;

	for (i = 0; i < x->nmap; i++)
		if (strcmp(x->map_src[i], snsp) == 0)
			return x->map_dst[i];
	return snsp;
}

/* The distinct schema renames of opts->targets (the first selected table of a schema decides). */
static int build_map(struct tl_pgs_ctx *x, tl_error *err)
{
	size_t i, k;

	if (!x->opts->targets || x->n == 0)
		return 0;
	x->map_src = calloc(x->n, sizeof(*x->map_src));
	x->map_dst = calloc(x->n, sizeof(*x->map_dst));
	if (!x->map_src || !x->map_dst)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading pg definitions");
	for (i = 0; i < x->n; i++) {
		const char *dst = x->opts->targets[i].schema ? x->opts->targets[i].schema : x->names[i].schema;
		for (k = 0; k < x->nmap && strcmp(x->map_src[k], x->names[i].schema) != 0; k++)
			;
		if (k < x->nmap)
			continue;
		x->map_src[x->nmap] = x->names[i].schema;
		x->map_dst[x->nmap++] = dst;
		if (strcmp(dst, x->names[i].schema) != 0)
			x->renames = 1;
	}
	return 0;
}

int tl_pgs__check_not_renamed(const struct tl_pgs_ctx *x, const char *snsp, const char *what, const char *name,
			      tl_error *err)
{
	if (strcmp(tl_pgs__map_schema(x, snsp), snsp) == 0)
		return 0;
	return tl_error_set(err, TL_ERR_UNSUPPORTED,
			    "%s \"%s\".\"%s\" cannot follow the rename of schema \"%s\" to \"%s\" (its definition "
			    "names objects of the schema in text tideline does not rewrite): map the schema to "
			    "itself, or leave this kind out of do_structures",
			    what, snsp, name, snsp, tl_pgs__map_schema(x, snsp));
}

int tl_pgs__oid_append(tl_buf *arr, unsigned long oid, tl_error *err)
{
	if (arr->len == 0)
		return tl_buf_printf(arr, err, "{%lu}", oid);
	arr->len--; /* reopen the closing brace */
	return tl_buf_printf(arr, err, ",%lu}", oid);
}

int tl_pgs__splice(tl_buf *out, const char *text, const char *from, const char *to, const char *what,
		   tl_error *err)
{
	const char *hit = strstr(text, from);
	int rc;

	if (!hit || strstr(hit + 1, from))
		return tl_error_set(err, TL_ERR_UNSUPPORTED,
				    "cannot rename within the definition of %s: \"%s\" does not occur exactly once", what,
				    from);
	rc = tl_buf_put(out, text, (size_t)(hit - text), err);
	if (!rc)
		rc = tl_buf_puts(out, to, err);
	if (!rc)
		rc = tl_buf_puts(out, hit + strlen(from), err);
	return rc;
}

int tl_pgs__want(const struct tl_pgs_ctx *x, enum tl_schema_kind kind, enum tl_schema_phase phase)
{
	return (x->opts->structures & tl_schema_kind_structure(kind)) && (x->opts->phases & (1u << phase));
}

int tl_pgs__push(struct tl_pgs_ctx *x, enum tl_schema_kind kind, const char *schema, const char *table,
		 const char *name, size_t owner, const char *sql, size_t *out, tl_error *err)
{
	tl_schema_step *s;
	int rc;

	*out = TL_PGS_NONE;
	rc = tl_schema_list_push(x->out, kind, schema, table, name, owner, &s, err);
	if (rc)
		return rc;
	s->sql = tl_strdup(sql);
	if (!s->sql)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading pg definitions");
	*out = x->out->n - 1;
	return 0;
}

int tl_pgs__dep(struct tl_pgs_ctx *x, size_t step, size_t dep, tl_error *err)
{
	if (step == TL_PGS_NONE || dep == TL_PGS_NONE || step == dep)
		return 0;
	return tl_schema_step_add_dep(&x->out->items[step], dep, err);
}

int tl_pgs__schema_step(struct tl_pgs_ctx *x, const char *snsp, size_t *out, tl_error *err)
{
	tl_buf sql = TL_BUF_INIT;
	size_t i, oi;
	int rc;

	*out = TL_PGS_NONE;
	for (i = 0; i < x->nnsp; i++)
		if (strcmp(x->objs[x->nsp_objs[i]].snsp, snsp) == 0) {
			*out = x->objs[x->nsp_objs[i]].step;
			return 0;
		}
	if ((x->nnsp & (x->nnsp - 1)) == 0) { /* capacity: the next power of two */
		size_t *nn = realloc(x->nsp_objs, (x->nnsp ? 2 * x->nnsp : 1) * sizeof(*nn));
		if (!nn)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading pg definitions");
		x->nsp_objs = nn;
	}
	rc = tl_pgs__obj_add(x, NULL, 'n', 0, snsp, snsp, &oi, err);
	if (!rc)
		x->nsp_objs[x->nnsp++] = oi;
	if (rc || !tl_pgs__want(x, TL_SK_SCHEMA, TL_PHASE_PRE_DATA))
		return rc;
	rc = tl_buf_puts(&sql, "CREATE SCHEMA IF NOT EXISTS ", err);
	if (!rc)
		rc = tl_pg__quote_ident(&sql, x->objs[oi].tnsp, err);
	if (!rc)
		rc = tl_buf_puts(&sql, ";", err);
	if (!rc)
		rc = tl_pgs__push(x, TL_SK_SCHEMA, x->objs[oi].tnsp, NULL, NULL, TL_SCHEMA_NO_OWNER, tl_buf_cstr(&sql),
				  &x->objs[oi].step, err);
	if (!rc) {
		x->out->items[x->objs[oi].step].name = tl_strdup(x->objs[oi].tnsp);
		if (!x->out->items[x->objs[oi].step].name)
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading pg definitions");
		*out = x->objs[oi].step;
	}
	tl_buf_release(&sql);
	return rc;
}

/* ---- the selected tables and their partitions ----------------------------------------- */

static int resolve_tables(struct tl_pgs_ctx *x, tl_error *err)
{
	static const char sql[] = "SELECT w.i, c.oid, c.relispartition, n.nspname, c.relname " NAMES_TO_CLASS
				  "WHERE c.relkind IN ('r', 'p') ORDER BY w.i";
	static const char parts_sql[] =
		"SELECT p.relid::pg_catalog.oid, p.parentrelid::pg_catalog.oid, w.i, n.nspname, c.relname "
		"FROM unnest($1::pg_catalog.oid[]) WITH ORDINALITY AS w(o, i) "
		"CROSS JOIN LATERAL pg_catalog.pg_partition_tree(w.o) p "
		"JOIN pg_catalog.pg_class c ON c.oid = p.relid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		"WHERE p.level > 0 ORDER BY w.i, p.level, c.relname";
	PGresult *res = NULL;
	size_t i, oi, at;
	int r, rc;
	const char *p[1];

	rc = tl_pg__exec_names(x->c, sql, x->names, x->n, &res, "cannot look up pg tables", err);
	if (rc)
		return rc;
	for (i = 0, r = 0; i < x->n; i++) {
		if (r >= PQntuples(res) || strtoul(PQgetvalue(res, r, 0), NULL, 10) != i + 1) {
			rc = tl_error_set(err, TL_ERR_NOTFOUND, "source table \"%s\".\"%s\" does not exist", x->names[i].schema,
					  x->names[i].name);
			goto cleanup;
		}
		if (tl_pgs__flag(res, r, 2)) {
			rc = tl_error_set(err, TL_ERR_UNSUPPORTED,
					  "source table \"%s\".\"%s\" is a partition: select its partitioned table instead",
					  x->names[i].schema, x->names[i].name);
			goto cleanup;
		}
		rc = tl_pgs__obj_add(x, &x->rels, 'r', tl_pgs__oid(res, r, 1), PQgetvalue(res, r, 3),
				     PQgetvalue(res, r, 4), &oi, err);
		if (!rc && x->opts->targets && x->opts->targets[i].name) {
			free(x->objs[oi].tname);
			x->objs[oi].tname = tl_strdup(x->opts->targets[i].name);
			if (x->opts->targets[i].schema) {
				free(x->objs[oi].tnsp);
				x->objs[oi].tnsp = tl_strdup(x->opts->targets[i].schema);
			}
			if (!x->objs[oi].tname || !x->objs[oi].tnsp)
				rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading pg definitions");
		}
		if (!rc)
			rc = tl_pgs__oid_append(&x->rel_oids, x->objs[oi].oid, err);
		if (rc)
			goto cleanup;
		x->objs[oi].owner = i;
		r++;
	}
	PQclear(res);
	res = NULL;
	if (x->rel_oids.len == 0)
		return 0;
	p[0] = tl_buf_cstr(&x->rel_oids);
	rc = tl_pgs__query(x, parts_sql, 1, p, &res, "cannot list pg partitions", err);
	for (r = 0; !rc && r < PQntuples(res); r++) {
		at = strtoul(PQgetvalue(res, r, 2), NULL, 10) - 1;
		rc = tl_pgs__obj_add(x, &x->rels, 'r', tl_pgs__oid(res, r, 0), PQgetvalue(res, r, 3), PQgetvalue(res, r, 4),
				     &oi, err);
		if (rc)
			break;
		x->objs[oi].owner = at;
		x->objs[oi].parent = tl_pgs__oid(res, r, 1);
		rc = tl_pgs__oid_append(&x->rel_oids, x->objs[oi].oid, err);
	}
cleanup:
	PQclear(res);
	return rc;
}

/* The rel obj for an oid (tables and partitions copied), or NULL. */
static struct tl_pgs_obj *rel_obj(struct tl_pgs_ctx *x, unsigned long oid)
{
	size_t oi = tl_pgs__map_get(&x->rels, oid);

	return oi == TL_PGS_NONE ? NULL : &x->objs[oi];
}

static int put_target(tl_buf *b, const struct tl_pgs_obj *o, tl_error *err)
{
	return tl_pg__quote_table(b, o->tnsp, o->tname, err);
}

/* ---- tables ------------------------------------------------------------------------- */

enum {
	REL_OID, REL_KIND, REL_PERSIST, REL_OPTS, REL_PARTKEY, REL_BOUND, REL_TYPED, REL_AM, REL_REPLIDENT,
	REL_RLS, REL_FORCE_RLS, REL_INHERITS, REL_POLICIES
};

enum {
	COL_REL, COL_NAME, COL_TYPE, COL_NOTNULL, COL_DEFAULT, COL_IDENTITY, COL_GENERATED, COL_COLLATE, COL_STORAGE,
	COL_COMPRESSION, COL_STATS, COL_SEQNSP, COL_SEQNAME, COL_START, COL_INCR, COL_MIN, COL_MAX, COL_CACHE,
	COL_CYCLE
};

/* One column's definition; extra statements (storage, ...) go to *more. */
static int column_sql(struct tl_pgs_ctx *x, const struct tl_pgs_obj *t, const PGresult *cr, int r, tl_buf *b,
		      tl_buf *more, tl_error *err)
{
	const char *def = tl_pgs__val(cr, r, COL_DEFAULT), *ident = tl_pgs__val(cr, r, COL_IDENTITY);
	const char *gen = tl_pgs__val(cr, r, COL_GENERATED), *v;
	int rc;

	rc = tl_buf_puts(b, "    ", err);
	if (!rc)
		rc = tl_pg__quote_ident(b, PQgetvalue(cr, r, COL_NAME), err);
	if (!rc)
		rc = tl_buf_printf(b, err, " %s", PQgetvalue(cr, r, COL_TYPE));
	if (!rc && (v = tl_pgs__val(cr, r, COL_COLLATE)) != NULL)
		rc = tl_buf_printf(b, err, " COLLATE %s", v);
	if (!rc && gen && *gen == 's')
		rc = tl_buf_printf(b, err, " GENERATED ALWAYS AS (%s) STORED", def ? def : "NULL");
	else if (!rc && ident && *ident) {
		rc = tl_buf_printf(b, err, " GENERATED %s AS IDENTITY (SEQUENCE NAME ",
				   *ident == 'a' ? "ALWAYS" : "BY DEFAULT");
		if (!rc)
			rc = tl_pg__quote_table(b, tl_pgs__map_schema(x, PQgetvalue(cr, r, COL_SEQNSP)),
						PQgetvalue(cr, r, COL_SEQNAME), err);
		if (!rc)
			rc = tl_buf_printf(b, err, " START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s%s)",
					   PQgetvalue(cr, r, COL_START), PQgetvalue(cr, r, COL_INCR), PQgetvalue(cr, r, COL_MIN),
					   PQgetvalue(cr, r, COL_MAX), PQgetvalue(cr, r, COL_CACHE),
					   tl_pgs__flag(cr, r, COL_CYCLE) ? " CYCLE" : "");
	} else if (!rc && def) {
		rc = tl_buf_printf(b, err, " DEFAULT %s", def);
	}
	if (!rc && tl_pgs__flag(cr, r, COL_NOTNULL))
		rc = tl_buf_puts(b, " NOT NULL", err);
	/* per-column settings pg_dump also restores */
	if (!rc && (v = tl_pgs__val(cr, r, COL_STORAGE)) != NULL) {
		const char *st = *v == 'p' ? "PLAIN" : *v == 'e' ? "EXTERNAL" : *v == 'm' ? "MAIN" : "EXTENDED";
		rc = tl_buf_puts(more, "\nALTER TABLE ONLY ", err);
		if (!rc)
			rc = put_target(more, t, err);
		if (!rc)
			rc = tl_buf_puts(more, " ALTER COLUMN ", err);
		if (!rc)
			rc = tl_pg__quote_ident(more, PQgetvalue(cr, r, COL_NAME), err);
		if (!rc)
			rc = tl_buf_printf(more, err, " SET STORAGE %s;", st);
	}
	if (!rc && (v = tl_pgs__val(cr, r, COL_COMPRESSION)) != NULL) {
		rc = tl_buf_puts(more, "\nALTER TABLE ONLY ", err);
		if (!rc)
			rc = put_target(more, t, err);
		if (!rc)
			rc = tl_buf_puts(more, " ALTER COLUMN ", err);
		if (!rc)
			rc = tl_pg__quote_ident(more, PQgetvalue(cr, r, COL_NAME), err);
		if (!rc)
			rc = tl_buf_printf(more, err, " SET COMPRESSION %s;", *v == 'l' ? "lz4" : "pglz");
	}
	if (!rc && (v = tl_pgs__val(cr, r, COL_STATS)) != NULL) {
		rc = tl_buf_puts(more, "\nALTER TABLE ONLY ", err);
		if (!rc)
			rc = put_target(more, t, err);
		if (!rc)
			rc = tl_buf_puts(more, " ALTER COLUMN ", err);
		if (!rc)
			rc = tl_pg__quote_ident(more, PQgetvalue(cr, r, COL_NAME), err);
		if (!rc)
			rc = tl_buf_printf(more, err, " SET STATISTICS %s;", v);
	}
	return rc;
}

/*
 * Serial defaults print the sequence's source name ("nextval('s.seq'::regclass)"); when
 * the schema is renamed, that exact text is the one thing rewritten in an expression.
 */
static int default_rename(struct tl_pgs_ctx *x, tl_buf *b, size_t from, tl_error *err)
{
	size_t i;
	int rc = 0;

	if (!x->renames || !strstr(b->data + from, "nextval('"))
		return 0;
	for (i = 0; !rc && i < x->nobjs; i++) {
		const struct tl_pgs_obj *o = &x->objs[i];
		tl_buf a = TL_BUF_INIT, t = TL_BUF_INIT, out = TL_BUF_INIT;
		const char *hit;
		if (o->cls != 'r' || o->relkind != 'S' || strcmp(o->snsp, o->tnsp) == 0)
			continue;
		rc = tl_buf_puts(&a, "nextval('", err);
		if (!rc)
			rc = tl_pg__quote_table(&a, o->snsp, o->sname, err);
		if (!rc)
			rc = tl_buf_puts(&t, "nextval('", err);
		if (!rc)
			rc = tl_pg__quote_table(&t, o->tnsp, o->tname, err);
		while (!rc && (hit = strstr(b->data + from, tl_buf_cstr(&a))) != NULL) {
			tl_buf_reset(&out);
			rc = tl_buf_put(&out, b->data, (size_t)(hit - b->data), err);
			if (!rc)
				rc = tl_buf_puts(&out, tl_buf_cstr(&t), err);
			if (!rc)
				rc = tl_buf_puts(&out, hit + a.len, err);
			if (!rc) {
				from = (size_t)(hit - b->data) + t.len;
				tl_buf_reset(b);
				rc = tl_buf_put(b, out.data, out.len, err);
			}
		}
		tl_buf_release(&a);
		tl_buf_release(&t);
		tl_buf_release(&out);
	}
	return rc;
}

static int tables(struct tl_pgs_ctx *x, tl_error *err)
{
	static const char rel_sql[] =
		"SELECT c.oid, c.relkind, c.relpersistence, pg_catalog.array_to_string(c.reloptions, ', '), "
		"CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END, "
		"CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END, "
		"c.reloftype <> 0, (SELECT a.amname FROM pg_catalog.pg_am a WHERE a.oid = c.relam AND a.amname <> 'heap'), "
		"c.relreplident, c.relrowsecurity, c.relforcerowsecurity, "
		"EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE (h.inhparent = c.oid AND c.relkind = 'r') "
		"OR (h.inhrelid = c.oid AND NOT c.relispartition)), "
		"EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid) "
		"FROM pg_catalog.pg_class c WHERE c.oid = ANY ($1::pg_catalog.oid[]) "
		"ORDER BY pg_catalog.array_position($1::pg_catalog.oid[], c.oid)";
	static const char col_head[] =
		"SELECT a.attrelid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, "
		"pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, "
		"CASE WHEN a.attcollation <> t.typcollation THEN pg_catalog.quote_ident(cn.nspname) || '.' || "
		"pg_catalog.quote_ident(co.collname) END, "
		"CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage END, ";
	static const char col_compression[] = "CASE WHEN a.attcompression <> '' THEN a.attcompression END, ";
	static const char col_tail[] =
		"CASE WHEN a.attstattarget >= 0 THEN a.attstattarget END, "
		"sn.nspname, sc.relname, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle "
		"FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
		"LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
		"LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation "
		"LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace "
		"LEFT JOIN pg_catalog.pg_depend dd ON a.attidentity <> '' "
		"AND dd.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
		"AND dd.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
		"AND dd.refobjid = a.attrelid AND dd.refobjsubid = a.attnum AND dd.deptype = 'i' "
		"LEFT JOIN pg_catalog.pg_sequence s ON s.seqrelid = dd.objid "
		"LEFT JOIN pg_catalog.pg_class sc ON sc.oid = s.seqrelid "
		"LEFT JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace "
		"WHERE a.attrelid = ANY ($1::pg_catalog.oid[]) AND a.attnum > 0 AND NOT a.attisdropped "
		"ORDER BY pg_catalog.array_position($1::pg_catalog.oid[], a.attrelid), a.attnum";
	static const char chk_sql[] =
		"SELECT co.conrelid, co.conname, pg_catalog.pg_get_constraintdef(co.oid), co.convalidated "
		"FROM pg_catalog.pg_constraint co WHERE co.conrelid = ANY ($1::pg_catalog.oid[]) AND co.contype = 'c' "
		"AND co.conislocal ORDER BY pg_catalog.array_position($1::pg_catalog.oid[], co.conrelid), co.conname";
	PGresult *rel = NULL, *cols = NULL, *chk = NULL;
	tl_buf sql = TL_BUF_INIT, more = TL_BUF_INIT, csql = TL_BUF_INIT;
	const char *p[1];
	int r, cr = 0, kr = 0, rc, nelem;
	size_t dep;

	if (x->rel_oids.len == 0)
		return 0;
	p[0] = tl_buf_cstr(&x->rel_oids);
	rc = tl_pgs__query(x, rel_sql, 1, p, &rel, "cannot read pg tables", err);
	if (!rc)
		rc = tl_buf_printf(&csql, err, "%s%s%s", col_head, x->version >= 140000 ? col_compression : "NULL, ",
				   col_tail);
	if (!rc)
		rc = tl_pgs__query(x, tl_buf_cstr(&csql), 1, p, &cols, "cannot read pg columns", err);
	if (!rc)
		rc = tl_pgs__query(x, chk_sql, 1, p, &chk, "cannot read pg check constraints", err);
	for (r = 0; !rc && r < PQntuples(rel); r++) {
		struct tl_pgs_obj *t = rel_obj(x, tl_pgs__oid(rel, r, REL_OID)), *parent;
		const char *v;
		if (!t) {
			rc = tl_error_set(err, TL_ERR_INTERNAL, "pg table %s read but not selected", PQgetvalue(rel, r, 0));
			break;
		}
		t->relkind = PQgetvalue(rel, r, REL_KIND)[0];
		if (tl_pgs__flag(rel, r, REL_TYPED) || tl_pgs__flag(rel, r, REL_INHERITS) || tl_pgs__flag(rel, r, REL_POLICIES)) {
			rc = tl_error_set(err, TL_ERR_UNSUPPORTED, "table \"%s\".\"%s\" %s: tideline does not copy that definition",
					  t->snsp, t->sname,
					  tl_pgs__flag(rel, r, REL_TYPED)	? "is a typed table (OF type)"
					  : tl_pgs__flag(rel, r, REL_INHERITS) ? "uses table inheritance (INHERITS)"
									      : "has row-level security policies");
			break;
		}
		parent = t->parent ? rel_obj(x, t->parent) : NULL;
		tl_buf_reset(&sql);
		tl_buf_reset(&more);
		rc = tl_buf_printf(&sql, err, "CREATE %sTABLE ", PQgetvalue(rel, r, REL_PERSIST)[0] == 'u' ? "UNLOGGED " : "");
		if (!rc)
			rc = put_target(&sql, t, err);
		if (!rc && parent) {
			rc = tl_buf_puts(&sql, " PARTITION OF ", err);
			if (!rc)
				rc = put_target(&sql, parent, err);
		}
		if (!rc)
			rc = tl_buf_puts(&sql, " (\n", err);
		nelem = 0;
		while (!rc && cr < PQntuples(cols) && tl_pgs__oid(cols, cr, COL_REL) == t->oid) {
			if (!parent) {
				size_t from = sql.len;
				if (nelem++)
					rc = tl_buf_puts(&sql, ",\n", err);
				if (!rc)
					rc = column_sql(x, t, cols, cr, &sql, &more, err);
				if (!rc)
					rc = default_rename(x, &sql, from, err);
			}
			cr++;
		}
		while (!rc && kr < PQntuples(chk) && tl_pgs__oid(chk, kr, 0) == t->oid) {
			if (tl_pgs__flag(chk, kr, 3)) {
				if (nelem++)
					rc = tl_buf_puts(&sql, ",\n", err);
				if (!rc)
					rc = tl_buf_puts(&sql, "    CONSTRAINT ", err);
				if (!rc)
					rc = tl_pg__quote_ident(&sql, PQgetvalue(chk, kr, 1), err);
				if (!rc)
					rc = tl_buf_printf(&sql, err, " %s", PQgetvalue(chk, kr, 2));
			} else if (tl_pgs__want(x, TL_SK_CHECK, TL_PHASE_POST_DATA)) {
				tl_buf ck = TL_BUF_INIT;
				size_t st = TL_PGS_NONE;
				rc = tl_buf_puts(&ck, "ALTER TABLE ONLY ", err);
				if (!rc)
					rc = put_target(&ck, t, err);
				if (!rc)
					rc = tl_buf_puts(&ck, " ADD CONSTRAINT ", err);
				if (!rc)
					rc = tl_pg__quote_ident(&ck, PQgetvalue(chk, kr, 1), err);
				if (!rc)
					rc = tl_buf_printf(&ck, err, " %s;", PQgetvalue(chk, kr, 2));
				if (!rc)
					rc = tl_pgs__push(x, TL_SK_CHECK, t->tnsp, t->tname, PQgetvalue(chk, kr, 1), t->owner,
							  tl_buf_cstr(&ck), &st, err);
				if (!rc)
					x->out->items[st].flags |= TL_STEP_SLOW;
				tl_buf_release(&ck);
			}
			kr++;
		}
		if (rc)
			break;
		if (parent && nelem == 0) {
			sql.len -= 3; /* no " (\n" list for a partition without local constraints */
			sql.data[sql.len] = '\0';
		} else {
			rc = tl_buf_puts(&sql, "\n)", err);
		}
		if (!rc && parent)
			rc = tl_buf_printf(&sql, err, " %s", PQgetvalue(rel, r, REL_BOUND));
		if (!rc && (v = tl_pgs__val(rel, r, REL_PARTKEY)) != NULL)
			rc = tl_buf_printf(&sql, err, " PARTITION BY %s", v);
		if (!rc && (v = tl_pgs__val(rel, r, REL_AM)) != NULL)
			rc = tl_buf_printf(&sql, err, " USING %s", v);
		if (!rc && (v = tl_pgs__val(rel, r, REL_OPTS)) != NULL && *v)
			rc = tl_buf_printf(&sql, err, " WITH (%s)", v);
		if (!rc)
			rc = tl_buf_puts(&sql, ";", err);
		v = PQgetvalue(rel, r, REL_REPLIDENT);
		if (!rc && (*v == 'f' || *v == 'n')) {
			rc = tl_buf_puts(&more, "\nALTER TABLE ONLY ", err);
			if (!rc)
				rc = put_target(&more, t, err);
			if (!rc)
				rc = tl_buf_printf(&more, err, " REPLICA IDENTITY %s;", *v == 'f' ? "FULL" : "NOTHING");
		}
		if (!rc && tl_pgs__flag(rel, r, REL_RLS)) {
			rc = tl_buf_puts(&more, "\nALTER TABLE ONLY ", err);
			if (!rc)
				rc = put_target(&more, t, err);
			if (!rc)
				rc = tl_buf_puts(&more, " ENABLE ROW LEVEL SECURITY;", err);
		}
		if (!rc && tl_pgs__flag(rel, r, REL_FORCE_RLS)) {
			rc = tl_buf_puts(&more, "\nALTER TABLE ONLY ", err);
			if (!rc)
				rc = put_target(&more, t, err);
			if (!rc)
				rc = tl_buf_puts(&more, " FORCE ROW LEVEL SECURITY;", err);
		}
		if (!rc && more.len)
			rc = tl_buf_put(&sql, more.data, more.len, err);
		if (rc)
			break;
		if (!parent)
			rc = tl_pgs__oid_append(&x->top_oids, t->oid, err);
		if (!rc && tl_pgs__want(x, TL_SK_TABLE, TL_PHASE_PRE_DATA)) {
			rc = tl_pgs__push(x, TL_SK_TABLE, t->tnsp, parent ? parent->tname : NULL, t->tname, t->owner,
					  tl_buf_cstr(&sql), &t->step, err);
			if (!rc)
				rc = tl_pgs__schema_step(x, t->snsp, &dep, err);
			if (!rc)
				rc = tl_pgs__dep(x, t->step, dep, err);
			if (!rc && parent)
				rc = tl_pgs__dep(x, t->step, parent->step, err);
		}
	}
	PQclear(rel);
	PQclear(cols);
	PQclear(chk);
	tl_buf_release(&sql);
	tl_buf_release(&more);
	tl_buf_release(&csql);
	return rc;
}

/* ---- keys and indexes --------------------------------------------------------------- */

enum {
	IX_REL, IX_OID, IX_NAME, IX_KIND, IX_VALID, IX_REPLIDENT, IX_CLUSTERED, IX_CONTYPE, IX_CONNAME, IX_CONDEF,
	IX_DEF, IX_PREFIX, IX_PARENT, IX_DEFERRABLE
};

/* "CREATE [UNIQUE] INDEX name ON [ONLY] <target> <the server's rest>;" */
static int index_sql(tl_buf *sql, const char *def, const char *prefix, const struct tl_pgs_obj *t,
		     const struct tl_pgs_obj *io, tl_error *err)
{
	int rc;

	if (strncmp(def, prefix, strlen(prefix)) != 0)
		return tl_error_set(err, TL_ERR_UNSUPPORTED, "cannot read the definition of index \"%s\".\"%s\": %s", t->snsp,
				    io->sname, def);
	rc = tl_buf_printf(sql, err, "CREATE %sINDEX ", strstr(prefix, "UNIQUE ") == prefix + 7 ? "UNIQUE " : "");
	if (!rc)
		rc = tl_pg__quote_ident(sql, io->tname, err);
	if (!rc)
		rc = tl_buf_printf(sql, err, " ON %s", t->relkind == 'p' ? "ONLY " : "");
	if (!rc)
		rc = put_target(sql, t, err);
	if (!rc)
		rc = tl_buf_printf(sql, err, " %s;", def + strlen(prefix));
	return rc;
}

int tl_pgs__indexes(struct tl_pgs_ctx *x, const char *rel_oids, enum tl_schema_phase phase, tl_error *err)
{
	static const char sql_text[] =
		"SELECT i.indrelid, i.indexrelid, ic.relname, ic.relkind, i.indisvalid, i.indisreplident, i.indisclustered, "
		"co.contype, co.conname, CASE WHEN co.oid IS NOT NULL THEN pg_catalog.pg_get_constraintdef(co.oid) END, "
		"pg_catalog.pg_get_indexdef(i.indexrelid), "
		"'CREATE ' || CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX ' || "
		"pg_catalog.quote_ident(ic.relname) || ' ON ' || CASE WHEN c.relkind = 'p' THEN 'ONLY ' ELSE '' END || "
		"pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) || ' ', "
		"(SELECT h.inhparent FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid), "
		"COALESCE(co.condeferrable, false) "
		"FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
		"JOIN pg_catalog.pg_class c ON c.oid = i.indrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		"LEFT JOIN pg_catalog.pg_constraint co ON co.conindid = i.indexrelid AND co.conrelid = i.indrelid "
		"AND co.contype IN ('p', 'u', 'x') "
		"WHERE i.indrelid = ANY ($1::pg_catalog.oid[]) AND (i.indisvalid OR ic.relkind = 'I') "
		"ORDER BY pg_catalog.array_position($1::pg_catalog.oid[], i.indrelid), ic.relname";
	PGresult *res = NULL;
	tl_buf sql = TL_BUF_INIT;
	size_t *attach_step = NULL, first_obj = x->nobjs, i, oi;
	const char *p[1] = {rel_oids};
	int r, rc;

	if (!rel_oids || !*rel_oids)
		return 0;
	rc = tl_pgs__query(x, sql_text, 1, p, &res, "cannot read pg indexes", err);
	for (r = 0; !rc && r < PQntuples(res); r++) {
		struct tl_pgs_obj *t = rel_obj(x, tl_pgs__oid(res, r, IX_REL));
		const char *contype = tl_pgs__val(res, r, IX_CONTYPE);
		enum tl_schema_kind kind = !contype ? TL_SK_INDEX
					   : *contype == 'p' ? TL_SK_PRIMARY_KEY
					   : *contype == 'u' ? TL_SK_UNIQUE
							     : TL_SK_EXCLUSION;
		const char *def = PQgetvalue(res, r, IX_DEF), *prefix = PQgetvalue(res, r, IX_PREFIX);
		struct tl_pgs_obj *io;
		size_t idx_step = TL_PGS_NONE;
		int two_step;
		if (!t) {
			rc = tl_error_set(err, TL_ERR_INTERNAL, "pg index %s of an unknown table", PQgetvalue(res, r, IX_NAME));
			break;
		}
		rc = tl_pgs__obj_add(x, &x->rels, 'r', tl_pgs__oid(res, r, IX_OID), t->snsp, PQgetvalue(res, r, IX_NAME),
				     &oi, err);
		if (rc)
			break;
		io = &x->objs[oi];
		t = rel_obj(x, tl_pgs__oid(res, r, IX_REL)); /* objs may have moved */
		io->relkind = PQgetvalue(res, r, IX_KIND)[0];
		io->owner = t->owner;
		io->parent = tl_pgs__oid(res, r, IX_PARENT);
		free(io->tnsp);
		io->tnsp = tl_strdup(t->tnsp);
		if (!io->tnsp) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading pg definitions");
			break;
		}
		rc = tl_pgs__oid_append(&x->more_oids, io->oid, err);
		if (rc || !tl_pgs__want(x, kind, phase))
			continue;
		tl_buf_reset(&sql);
		/*
		 * A primary / unique key of a plain table: its index first, as an index (a SHARE lock,
		 * so it builds alongside the table's other indexes; ADD CONSTRAINT would lock them
		 * out), then the constraint takes it over (USING INDEX: no second pass over the rows).
		 */
		two_step = (kind == TL_SK_PRIMARY_KEY || kind == TL_SK_UNIQUE) && t->relkind == 'r' &&
			   !tl_pgs__flag(res, r, IX_DEFERRABLE);
		if (kind == TL_SK_INDEX || two_step)
			rc = index_sql(&sql, def, prefix, t, io, err);
		if (!rc && two_step) {
			size_t ist;
			rc = tl_pgs__push(x, TL_SK_INDEX, t->tnsp, t->tname, io->tname, t->owner, tl_buf_cstr(&sql), &ist, err);
			if (!rc) {
				x->out->items[ist].phase = phase;
				x->out->items[ist].flags |= TL_STEP_SLOW;
				rc = tl_pgs__dep(x, ist, t->step, err);
				idx_step = ist;
			}
			tl_buf_reset(&sql);
			if (!rc)
				rc = tl_buf_puts(&sql, "ALTER TABLE ONLY ", err);
			if (!rc)
				rc = put_target(&sql, t, err);
			if (!rc)
				rc = tl_buf_puts(&sql, " ADD CONSTRAINT ", err);
			if (!rc)
				rc = tl_pg__quote_ident(&sql, PQgetvalue(res, r, IX_CONNAME), err);
			if (!rc)
				rc = tl_buf_printf(&sql, err, " %s USING INDEX ",
						   kind == TL_SK_PRIMARY_KEY ? "PRIMARY KEY" : "UNIQUE");
			if (!rc)
				rc = tl_pg__quote_ident(&sql, io->tname, err);
			if (!rc)
				rc = tl_buf_puts(&sql, ";", err);
		} else if (!rc && kind != TL_SK_INDEX) {
			rc = tl_buf_puts(&sql, "ALTER TABLE ONLY ", err);
			if (!rc)
				rc = put_target(&sql, t, err);
			if (!rc)
				rc = tl_buf_puts(&sql, " ADD CONSTRAINT ", err);
			if (!rc)
				rc = tl_pg__quote_ident(&sql, PQgetvalue(res, r, IX_CONNAME), err);
			if (!rc)
				rc = tl_buf_printf(&sql, err, " %s;", PQgetvalue(res, r, IX_CONDEF));
		}
		if (!rc && tl_pgs__flag(res, r, IX_REPLIDENT)) {
			rc = tl_buf_puts(&sql, "\nALTER TABLE ONLY ", err);
			if (!rc)
				rc = put_target(&sql, t, err);
			if (!rc)
				rc = tl_buf_puts(&sql, " REPLICA IDENTITY USING INDEX ", err);
			if (!rc)
				rc = tl_pg__quote_ident(&sql, io->tname, err);
			if (!rc)
				rc = tl_buf_puts(&sql, ";", err);
		}
		if (!rc && tl_pgs__flag(res, r, IX_CLUSTERED)) {
			rc = tl_buf_puts(&sql, "\nALTER TABLE ", err);
			if (!rc)
				rc = put_target(&sql, t, err);
			if (!rc)
				rc = tl_buf_puts(&sql, " CLUSTER ON ", err);
			if (!rc)
				rc = tl_pg__quote_ident(&sql, io->tname, err);
			if (!rc)
				rc = tl_buf_puts(&sql, ";", err);
		}
		if (!rc)
			rc = tl_pgs__push(x, kind, t->tnsp, t->tname, kind == TL_SK_INDEX ? io->tname : PQgetvalue(res, r, IX_CONNAME),
					  t->owner, tl_buf_cstr(&sql), &io->step, err);
		if (rc)
			break;
		x->out->items[io->step].phase = phase;
		x->out->items[io->step].flags |= two_step ? 0 : TL_STEP_SLOW;
		rc = tl_pgs__dep(x, io->step, t->step, err); /* a materialized view's (same phase) */
		if (!rc && two_step) {
			x->out->items[io->step].ref = tl_strdup(io->tname); /* the index it takes over */
			if (!x->out->items[io->step].ref)
				rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading pg definitions");
			if (!rc)
				rc = tl_pgs__dep(x, io->step, idx_step, err);
		}
	}
	/* partition indexes join their parent's: after both exist, and after their own children joined */
	if (!rc && x->nobjs > first_obj) {
		attach_step = malloc((x->nobjs - first_obj) * sizeof(*attach_step));
		if (!attach_step)
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading pg definitions");
	}
	for (i = first_obj; !rc && i < x->nobjs; i++) {
		struct tl_pgs_obj *c = &x->objs[i];
		size_t pi = c->parent ? tl_pgs__map_get(&x->rels, c->parent) : TL_PGS_NONE;
		struct tl_pgs_obj *pa = pi == TL_PGS_NONE ? NULL : &x->objs[pi];
		attach_step[i - first_obj] = TL_PGS_NONE;
		if (!pa || c->step == TL_PGS_NONE || pa->step == TL_PGS_NONE)
			continue;
		tl_buf_reset(&sql);
		rc = tl_buf_puts(&sql, "ALTER INDEX ", err);
		if (!rc)
			rc = tl_pg__quote_table(&sql, pa->tnsp, pa->tname, err);
		if (!rc)
			rc = tl_buf_puts(&sql, " ATTACH PARTITION ", err);
		if (!rc)
			rc = tl_pg__quote_table(&sql, c->tnsp, c->tname, err);
		if (!rc)
			rc = tl_buf_puts(&sql, ";", err);
		if (!rc)
			rc = tl_pgs__push(x, TL_SK_INDEX_ATTACH, c->tnsp, x->out->items[c->step].table, c->tname, c->owner,
					  tl_buf_cstr(&sql), &attach_step[i - first_obj], err);
		if (!rc) {
			tl_schema_step *s = &x->out->items[attach_step[i - first_obj]];
			tl_buf ref = TL_BUF_INIT;
			s->phase = phase;
			rc = tl_pg__quote_table(&ref, pa->tnsp, pa->tname, err);
			s->ref = rc ? NULL : tl_buf_detach(&ref);
			if (!rc && !s->ref)
				rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory reading pg definitions");
			tl_buf_release(&ref);
		}
		if (!rc)
			rc = tl_pgs__dep(x, attach_step[i - first_obj], c->step, err);
		if (!rc)
			rc = tl_pgs__dep(x, attach_step[i - first_obj], pa->step, err);
	}
	for (i = first_obj; !rc && attach_step && i < x->nobjs; i++) {
		size_t pi = x->objs[i].parent ? tl_pgs__map_get(&x->rels, x->objs[i].parent) : TL_PGS_NONE;
		if (attach_step[i - first_obj] == TL_PGS_NONE || pi == TL_PGS_NONE || pi < first_obj)
			continue;
		/* the parent's own attachment waits for this one */
		rc = tl_pgs__dep(x, attach_step[pi - first_obj], attach_step[i - first_obj], err);
	}
	free(attach_step);
	PQclear(res);
	tl_buf_release(&sql);
	return rc;
}

/* ---- foreign keys and triggers ------------------------------------------------------- */

static int foreign_keys(struct tl_pgs_ctx *x, tl_error *err)
{
	static const char sql_text[] =
		"SELECT co.conrelid, co.conname, pg_catalog.pg_get_constraintdef(co.oid), co.confrelid, rn.nspname, "
		"rc.relname, pg_catalog.quote_ident(rn.nspname) || '.' || pg_catalog.quote_ident(rc.relname) "
		"FROM pg_catalog.pg_constraint co JOIN pg_catalog.pg_class rc ON rc.oid = co.confrelid "
		"JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace "
		"WHERE co.conrelid = ANY ($1::pg_catalog.oid[]) AND co.contype = 'f' AND co.conparentid = 0 "
		"ORDER BY pg_catalog.array_position($1::pg_catalog.oid[], co.conrelid), co.conname";
	PGresult *res = NULL;
	tl_buf sql = TL_BUF_INIT, from = TL_BUF_INIT, to = TL_BUF_INIT;
	const char *p[1];
	size_t st;
	int r, rc;

	if (x->rel_oids.len == 0 || !tl_pgs__want(x, TL_SK_FOREIGN_KEY, TL_PHASE_POST_DATA))
		return 0;
	p[0] = tl_buf_cstr(&x->rel_oids);
	rc = tl_pgs__query(x, sql_text, 1, p, &res, "cannot read pg foreign keys", err);
	for (r = 0; !rc && r < PQntuples(res); r++) {
		struct tl_pgs_obj *t = rel_obj(x, tl_pgs__oid(res, r, 0)), *ref = rel_obj(x, tl_pgs__oid(res, r, 3));
		const char *rnsp = PQgetvalue(res, r, 4), *rname = PQgetvalue(res, r, 5);
		tl_buf_reset(&sql);
		tl_buf_reset(&from);
		tl_buf_reset(&to);
		rc = tl_buf_printf(&sql, err, "ALTER TABLE %s", t->relkind == 'p' ? "" : "ONLY ");
		if (!rc)
			rc = put_target(&sql, t, err);
		if (!rc)
			rc = tl_buf_puts(&sql, " ADD CONSTRAINT ", err);
		if (!rc)
			rc = tl_pg__quote_ident(&sql, PQgetvalue(res, r, 1), err);
		if (!rc)
			rc = tl_buf_puts(&sql, " ", err);
		if (!rc)
			rc = tl_buf_printf(&from, err, " REFERENCES %s(", PQgetvalue(res, r, 6));
		if (!rc)
			rc = tl_buf_puts(&to, " REFERENCES ", err);
		if (!rc)
			rc = ref ? put_target(&to, ref, err) : tl_pg__quote_table(&to, tl_pgs__map_schema(x, rnsp), rname, err);
		if (!rc)
			rc = tl_buf_puts(&to, "(", err);
		if (!rc && strcmp(from.data, to.data) != 0)
			rc = tl_pgs__splice(&sql, PQgetvalue(res, r, 2), from.data, to.data, "a foreign key", err);
		else if (!rc)
			rc = tl_buf_puts(&sql, PQgetvalue(res, r, 2), err);
		if (!rc)
			rc = tl_buf_puts(&sql, ";", err);
		if (!rc)
			rc = tl_pgs__push(x, TL_SK_FOREIGN_KEY, t->tnsp, t->tname, PQgetvalue(res, r, 1), t->owner,
					  tl_buf_cstr(&sql), &st, err);
		if (!rc)
			x->out->items[st].flags |= TL_STEP_SLOW;
	}
	PQclear(res);
	tl_buf_release(&sql);
	tl_buf_release(&from);
	tl_buf_release(&to);
	return rc;
}

static int triggers(struct tl_pgs_ctx *x, tl_error *err)
{
	static const char head[] =
		"SELECT t.tgrelid, t.tgname, pg_catalog.pg_get_triggerdef(t.oid), t.tgenabled, "
		"' ON ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) || ' ' "
		"FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid "
		"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		"WHERE t.tgrelid = ANY ($1::pg_catalog.oid[]) AND NOT t.tgisinternal ";
	static const char tail[] = "ORDER BY pg_catalog.array_position($1::pg_catalog.oid[], t.tgrelid), t.tgname";
	PGresult *res = NULL;
	tl_buf sql = TL_BUF_INIT, q = TL_BUF_INIT, to = TL_BUF_INIT, oids = TL_BUF_INIT;
	const char *p[1];
	size_t st, i;
	int r, rc = 0;

	if (!tl_pgs__want(x, TL_SK_TRIGGER, TL_PHASE_POST_DATA))
		return 0;
	/* tables, partitions (their own triggers), views (INSTEAD OF) */
	for (i = 0; !rc && i < x->nobjs; i++)
		if (x->objs[i].cls == 'r' && x->objs[i].relkind != 'i' && x->objs[i].relkind != 'I' &&
		    x->objs[i].relkind != 'S' && (x->objs[i].relkind != 'v' || x->objs[i].step != TL_PGS_NONE))
			rc = tl_pgs__oid_append(&oids, x->objs[i].oid, err);
	if (rc || oids.len == 0)
		goto cleanup;
	rc = tl_buf_printf(&q, err, "%s%s%s", head, x->version >= 130000 ? "AND t.tgparentid = 0 " : "", tail);
	p[0] = tl_buf_cstr(&oids);
	if (!rc)
		rc = tl_pgs__query(x, tl_buf_cstr(&q), 1, p, &res, "cannot read pg triggers", err);
	for (r = 0; !rc && r < PQntuples(res); r++) {
		struct tl_pgs_obj *t = rel_obj(x, tl_pgs__oid(res, r, 0));
		const char *en = PQgetvalue(res, r, 3);
		if (!t)
			continue;
		tl_buf_reset(&sql);
		tl_buf_reset(&to);
		rc = tl_buf_puts(&to, " ON ", err);
		if (!rc)
			rc = put_target(&to, t, err);
		if (!rc)
			rc = tl_buf_puts(&to, " ", err);
		if (!rc && strcmp(to.data, PQgetvalue(res, r, 4)) != 0)
			rc = tl_pgs__splice(&sql, PQgetvalue(res, r, 2), PQgetvalue(res, r, 4), to.data, "a trigger", err);
		else if (!rc)
			rc = tl_buf_puts(&sql, PQgetvalue(res, r, 2), err);
		if (!rc)
			rc = tl_buf_puts(&sql, ";", err);
		if (!rc && *en != 'O') {
			rc = tl_buf_puts(&sql, "\nALTER TABLE ", err);
			if (!rc)
				rc = put_target(&sql, t, err);
			if (!rc)
				rc = tl_buf_puts(&sql, *en == 'D' ? " DISABLE TRIGGER " : *en == 'R' ? " ENABLE REPLICA TRIGGER "
												       : " ENABLE ALWAYS TRIGGER ",
						 err);
			if (!rc)
				rc = tl_pg__quote_ident(&sql, PQgetvalue(res, r, 1), err);
			if (!rc)
				rc = tl_buf_puts(&sql, ";", err);
		}
		if (!rc)
			rc = tl_pgs__push(x, TL_SK_TRIGGER, t->tnsp, t->tname, PQgetvalue(res, r, 1), t->owner,
					  tl_buf_cstr(&sql), &st, err);
		if (!rc && t->relkind == 'v')
			rc = tl_pgs__dep(x, st, t->step, err);
	}
cleanup:
	PQclear(res);
	tl_buf_release(&sql);
	tl_buf_release(&q);
	tl_buf_release(&to);
	tl_buf_release(&oids);
	return rc;
}

/* ---- the slot ------------------------------------------------------------------------ */

static void ctx_release(struct tl_pgs_ctx *x)
{
	size_t i;

	for (i = 0; i < x->nobjs; i++) {
		free(x->objs[i].snsp);
		free(x->objs[i].sname);
		free(x->objs[i].tnsp);
		free(x->objs[i].tname);
		free(x->objs[i].args);
	}
	free(x->objs);
	map_release(&x->rels);
	map_release(&x->types);
	map_release(&x->procs);
	map_release(&x->nsps);
	map_release(&x->exts);
	free(x->map_src);
	free(x->map_dst);
	free(x->nsp_objs);
	tl_buf_release(&x->rel_oids);
	tl_buf_release(&x->top_oids);
	tl_buf_release(&x->nsp_oids);
	tl_buf_release(&x->view_oids);
	tl_buf_release(&x->more_oids);
	tl_buf_release(&x->type_oids);
	tl_buf_release(&x->proc_oids);
}

/* The oids of the selected tables' schemas. */
static int schemas(struct tl_pgs_ctx *x, tl_error *err)
{
	static const char sql[] = "SELECT DISTINCT c.relnamespace, n.nspname FROM pg_catalog.pg_class c "
				  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
				  "WHERE c.oid = ANY ($1::pg_catalog.oid[]) ORDER BY n.nspname";
	PGresult *res = NULL;
	const char *p[1];
	size_t st;
	int r, rc;

	if (x->rel_oids.len == 0)
		return 0;
	p[0] = tl_buf_cstr(&x->rel_oids);
	rc = tl_pgs__query(x, sql, 1, p, &res, "cannot read pg schemas", err);
	for (r = 0; !rc && r < PQntuples(res); r++) {
		rc = tl_pgs__oid_append(&x->nsp_oids, tl_pgs__oid(res, r, 0), err);
		if (!rc)
			rc = tl_pgs__schema_step(x, PQgetvalue(res, r, 1), &st, err);
		if (!rc)
			x->objs[x->nobjs - 1].oid = tl_pgs__oid(res, r, 0);
		if (!rc)
			rc = tl_pgs__map_put(&x->nsps, tl_pgs__oid(res, r, 0), x->nobjs - 1, err);
	}
	PQclear(res);
	return rc;
}

int tl_pg__schema_extract(tl_conn *src, const tl_name *names, size_t n, const tl_schema_opts *opts,
			  tl_schema_list *out, tl_error *err)
{
	static const tl_schema_opts all = TL_SCHEMA_OPTS_INIT;
	struct tl_pgs_ctx x;
	int rc, in_tx = 0;

	memset(&x, 0, sizeof(x));
	x.c = src;
	x.names = names;
	x.n = n;
	x.opts = opts ? opts : &all;
	x.out = out;
	x.version = PQserverVersion(src->pg);
	if (src->in_reader)
		return tl_error_set(err, TL_ERR_INTERNAL, "pg connection is busy with a reader");
	if (x.version < 120000)
		return tl_error_set(err, TL_ERR_UNSUPPORTED,
				    "copying definitions needs PostgreSQL 12 or later on the source (it runs %d.%d)",
				    x.version / 10000, x.version % 10000 / 100);
	rc = tl_pg__exec(src, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, NULL,
			 "cannot start reading pg definitions", err);
	if (!rc) {
		in_tx = 1;
		/* qualified names everywhere; no JIT: compiling these catalog queries took 2 s of a 2 ms run */
		rc = tl_pg__exec(src, "SET LOCAL search_path = pg_catalog; SET LOCAL jit = off", 0, NULL, NULL,
				 "cannot read pg definitions", err);
	}
	if (!rc)
		rc = build_map(&x, err);
	if (!rc)
		rc = resolve_tables(&x, err);
	if (!rc)
		rc = schemas(&x, err);
	if (!rc)
		rc = tl_pgs__functions(&x, err);
	if (!rc)
		rc = tl_pgs__sequences(&x, err);
	if (!rc)
		rc = tables(&x, err);
	if (!rc)
		rc = tl_pgs__sequence_owners(&x, err);
	if (!rc)
		rc = tl_pgs__types(&x, err);
	if (!rc)
		rc = tl_pgs__indexes(&x, tl_buf_cstr(&x.rel_oids), TL_PHASE_TABLE_POST, err);
	if (!rc)
		rc = foreign_keys(&x, err);
	if (!rc)
		rc = tl_pgs__views(&x, err);
	if (!rc)
		rc = triggers(&x, err);
	if (!rc)
		rc = tl_pgs__statistics(&x, err);
	if (!rc)
		rc = tl_pgs__dependencies(&x, err);
	if (!rc)
		rc = tl_pgs__comments(&x, err);
	if (!rc)
		rc = tl_pgs__values(&x, err);
	if (!rc)
		rc = tl_schema_list_finish(out, err);
	if (in_tx) {
		tl_error e2 = TL_ERROR_INIT;
		int rc2 = tl_pg__exec(src, rc ? "ROLLBACK" : "COMMIT", 0, NULL, NULL, "cannot end reading pg definitions", &e2);
		if (rc2 && !rc) {
			rc = rc2;
			if (err)
				*err = e2;
		}
	}
	ctx_release(&x);
	return rc;
}
