/*
 * select.c - which tables a run, plan, verify or check task works on and under which
 * names (migrate.h): the source's tables through [filter], the [router] maps checked
 * against them, the refusal of a run that would write what it reads (source and target
 * the same server), and the read and write forms of one described table ([router]
 * col_map, [filter] ignore_cols) through the driver's project slot.
 *
 * Names: everything a run records (the store, position.log, finished.log, ape-dts' table)
 * keeps the SOURCE names, as ape-dts does; only what is read from or written to the
 * target uses the routed ones (docs/guide.md "Routing").
 */
#include <stdlib.h>
#include <string.h>
#include "migrate/migrate.h"
#include "tideline/filter.h"

/* The [filter] keys that are set, for a message: "do_dbs=wrld, ignore_tbs=a.b". */
static void filter_text(const tl_config *cfg, char *out, size_t n)
{
	const char *const keys[4] = {"do_dbs", "ignore_dbs", "do_tbs", "ignore_tbs"};
	const char *const vals[4] = {cfg->do_dbs, cfg->ignore_dbs, cfg->do_tbs, cfg->ignore_tbs};
	size_t i, off = 0;

	out[0] = '\0';
	for (i = 0; i < 4 && off < n; i++)
		if (vals[i])
			off += (size_t)snprintf(out + off, n - off, "%s%s=%.200s", off ? ", " : "", keys[i], vals[i]);
	if (!out[0])
		snprintf(out, n, "no [filter] keys");
}

/* Nothing selected: say what the source has, so that a typo is easy to see. */
static int nothing_selected(const tl_config *cfg, const tl_name_list *all, tl_error *err)
{
	char filt[1000], dbs[600];
	size_t i, off = 0, ndb = 0;

	filter_text(cfg, filt, sizeof(filt));
	if (!cfg->do_dbs && !cfg->do_tbs)
		return tl_error_set(err, TL_ERR_NOTFOUND,
				    "%s: the task selects no table: [filter] do_dbs and do_tbs are not set (as in ape-dts, "
				    "only the databases and tables they name are copied)",
				    cfg->path);
	if (all->n == 0)
		return tl_error_set(err, TL_ERR_NOTFOUND,
				    "%s: the source lists no table at all (%s): its databases are empty, or the source "
				    "user may not see them (privileges)",
				    cfg->path, filt);
	dbs[0] = '\0';
	for (i = 0; i < all->n && off < sizeof(dbs); i++) {
		if (i > 0 && strcmp(all->items[i].schema, all->items[i - 1].schema) == 0)
			continue;
		if (++ndb > 10) {
			off += (size_t)snprintf(dbs + off, sizeof(dbs) - off, ", …");
			break;
		}
		off += (size_t)snprintf(dbs + off, sizeof(dbs) - off, "%s%.60s", ndb > 1 ? ", " : "",
					all->items[i].schema);
	}
	return tl_error_set(err, TL_ERR_NOTFOUND,
			    "%s: the [filter] selects none of the source's %zu tables (%s); the source has databases "
			    "%s",
			    cfg->path, all->n, filt, dbs);
}

int tl_migrate_select(const tl_config *cfg, const tl_driver *src, tl_conn *c, tl_name_list *out, tl_error *err)
{
	tl_name_list all = {0, NULL};
	tl_filter *filter = NULL;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = tl_filter_new(&filter, src->ops->quote, cfg->do_dbs, cfg->ignore_dbs, cfg->do_tbs, cfg->ignore_tbs,
				err)))
		goto cleanup;
	if ((rc = tl_driver_list_tables(src, c, &all, err))) {
		tl_error_prefix(err, "source");
		goto cleanup;
	}
	out->items = calloc(all.n ? all.n : 1, sizeof(*out->items));
	if (!out->items) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < all.n; i++) {
		if (!tl_filter_keep(filter, all.items[i].schema, all.items[i].name))
			continue;
		out->items[out->n++] = all.items[i]; /* the names move */
		all.items[i].schema = all.items[i].name = NULL;
	}
	if (out->n == 0) {
		/* the names of the source back for the message */
		rc = nothing_selected(cfg, &all, err);
		goto cleanup;
	}
	if ((rc = tl_route_validate(cfg->route, out->items, out->n, err)))
		tl_error_prefix(err, "%s", cfg->path);
cleanup:
	tl_name_list_clear(&all);
	tl_filter_free(filter);
	if (rc)
		tl_name_list_clear(out);
	return rc;
}

int tl_migrate_same_server(const tl_config *cfg, const tl_driver *src, tl_conn *sc, const tl_driver *dst,
			   tl_conn *dc, const tl_name *sel, size_t n, tl_error *err)
{
	char *a = NULL, *b = NULL;
	int rc = 0;

	/* a server that cannot say who it is is taken as another server (nothing to refuse) */
	if (src->ops->server_id && dst->ops->server_id && tl_driver_server_id(src, sc, &a, NULL) == 0 &&
	    tl_driver_server_id(dst, dc, &b, NULL) == 0 && strcmp(a, b) == 0 &&
	    (rc = tl_route_check_same_server(cfg->route, sel, n, err)))
		tl_error_prefix(err, "%s", cfg->path);
	free(a);
	free(b);
	return rc;
}

int tl_migrate_project(const tl_config *cfg, const tl_driver *d, tl_table *t, tl_table **rt, tl_table **wt,
		       tl_error *err)
{
	tl_route_cols rc_cols = TL_ROUTE_COLS_INIT;
	const char *dschema, *dtb;
	int moves, rc;

	*rt = *wt = t;
	tl_route_table(cfg->route, t->schema, t->name, &dschema, &dtb);
	moves = strcmp(dschema, t->schema) != 0 || strcmp(dtb, t->name) != 0;
	if ((rc = tl_route_project(cfg->route, t, &rc_cols, err))) {
		tl_error_prefix(err, "%s", cfg->path);
		goto cleanup;
	}
	if (!moves && !rc_cols.renamed && !rc_cols.subset)
		goto cleanup;
	if (!d->ops->project) {
		rc = tl_error_set(err, TL_ERR_UNSUPPORTED, "%s: [router] / ignore_cols: the %s connector cannot route tables",
				  cfg->path, d->ops->name);
		goto cleanup;
	}
	if (rc_cols.subset &&
	    (rc = tl_driver_project(d, t, t->schema, t->name, rc_cols.src_idx, NULL, rc_cols.n, rt, err)))
		goto cleanup;
	rc = tl_driver_project(d, t, dschema, dtb, rc_cols.src_idx, (const char *const *)rc_cols.dst_name, rc_cols.n,
			       wt, err);
cleanup:
	if (rc) {
		if (*rt != t)
			tl_driver_free_table(d, *rt);
		*rt = *wt = t;
	}
	tl_route_cols_clear(&rc_cols);
	return rc;
}

void tl_migrate_unproject(const tl_driver *d, tl_table *t, tl_table **rt, tl_table **wt)
{
	if (*wt && *wt != t && *wt != *rt)
		tl_driver_free_table(d, *wt);
	if (*rt && *rt != t)
		tl_driver_free_table(d, *rt);
	*rt = *wt = NULL;
}

int tl_migrate_targets(const tl_config *cfg, const tl_name *sel, size_t n, tl_name **out, tl_error *err)
{
	size_t i;

	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		const char *ds, *dt;
		tl_route_table(cfg->route, sel[i].schema, sel[i].name, &ds, &dt);
		/* lent: the route's strings or sel's own */
		(*out)[i].schema = (char *)ds;
		(*out)[i].name = (char *)dt;
	}
	return 0;
}
