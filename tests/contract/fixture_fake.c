/*
 * fixture_fake.c - the contract suite's fixture for the in-memory fake driver
 * (tests/fakes/): two fake servers made in-process, tables built with tl_fake_add_table.
 * It proves the suite is kind-neutral and keeps the fake honest to the contract the
 * engine's unit tests rely on. The fake has int and text columns and one key (its
 * columns in table order; nullable makes it a nullable unique key): other tables are
 * TL_ERR_UNSUPPORTED, and the cases needing them report n/a.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "contract/contract.h"
#include "fakes/fake_driver.h"

struct fx {
	tl_fake_db *db[2];
	char url[2][32];
};

static int fx_open(void **out, tl_error *err)
{
	struct fx *f = calloc(1, sizeof(*f));
	int i;

	*out = NULL;
	if (!f)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	for (i = 0; i < 2; i++) {
		snprintf(f->url[i], sizeof(f->url[i]), "fake://%s", i ? "ct_dst" : "ct_src");
		if (!(f->db[i] = tl_fake_db_new(f->url[i] + 7))) {
			tl_fake_db_free(f->db[0]);
			free(f);
			return tl_error_set(err, TL_ERR_NOMEM, "cannot make a fake server");
		}
	}
	*out = f;
	return 0;
}

static void fx_close(void *p)
{
	struct fx *f = p;

	if (!f)
		return;
	tl_fake_db_free(f->db[0]);
	tl_fake_db_free(f->db[1]);
	free(f);
}

static const char *fx_url(void *p, enum ct_side side)
{
	return ((struct fx *)p)->url[side];
}

static int fx_drop_schema(void *p, enum ct_side side, const char *schema, tl_error *err)
{
	(void)err;
	return tl_fake_drop(((struct fx *)p)->db[side], schema, NULL);
}

static int fx_drop(void *p, enum ct_side side, const char *schema, const char *name, tl_error *err)
{
	(void)err;
	return tl_fake_drop(((struct fx *)p)->db[side], schema, name);
}

static int fx_create(void *p, enum ct_side side, const ct_table *t, tl_error *err)
{
	struct fx *f = p;
	const ct_key *key = t->pk.n ? &t->pk : NULL;
	char spec[1024] = "";
	size_t i, k, off = 0;
	int nullable = 0;

	if (!t->pk.n && t->nuniq == 1)
		key = &t->uniq[0];
	else if (t->nuniq)
		return tl_error_set(err, TL_ERR_UNSUPPORTED, "the fake has one key per table");
	for (i = 0; key && i < key->n; i++) {
		if (i && key->col[i] <= key->col[i - 1])
			return tl_error_set(err, TL_ERR_UNSUPPORTED, "the fake's key columns are in table order");
		nullable |= t->cols[key->col[i]].nullable;
	}
	if (key == &t->uniq[0] && !nullable)
		return tl_error_set(err, TL_ERR_UNSUPPORTED, "the fake has no unique key besides a nullable one");
	for (i = 0; i < t->ncols; i++) {
		int in_key = 0;
		if (strpbrk(t->cols[i].name, " ,"))
			return tl_error_set(err, TL_ERR_UNSUPPORTED, "the fake's column names have no blanks or commas");
		if (t->cols[i].type == CT_BIN)
			return tl_error_set(err, TL_ERR_UNSUPPORTED, "the fake has no binary columns");
		for (k = 0; key && k < key->n; k++)
			in_key |= key->col[k] == i;
		off += (size_t)snprintf(spec + off, sizeof(spec) - off, "%s%s %s%s%s", i ? "," : "", t->cols[i].name,
					t->cols[i].type == CT_INT ? "int" : "text", in_key ? " key" : "",
					t->cols[i].nullable ? " null" : "");
	}
	tl_fake_drop(f->db[side], t->schema, t->name);
	if (tl_fake_add_table(f->db[side], t->schema, t->name, spec))
		return tl_error_set(err, TL_ERR_INTERNAL, "cannot add fake table %s.%s (%s)", t->schema, t->name, spec);
	return 0;
}

static int fx_insert(void *p, enum ct_side side, const ct_table *t, const char *const *cells, size_t n, tl_error *err)
{
	struct fx *f = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (tl_fake_insert(f->db[side], t->schema, t->name, cells + i * t->ncols))
			return tl_error_set(err, TL_ERR_INTERNAL, "cannot insert into fake table %s.%s", t->schema, t->name);
	return 0;
}

static int fx_fetch(void *p, enum ct_side side, const ct_table *t, ct_rows *out, tl_error *err)
{
	struct fx *f = p;
	char **cells = NULL;
	size_t ncols = 0, nrows = 0, i;
	int rc = 0;

	if (tl_fake_cells(f->db[side], t->schema, t->name, &cells, &ncols, &nrows))
		return tl_error_set(err, TL_ERR_NOTFOUND, "fake table %s.%s does not exist", t->schema, t->name);
	if (ncols < t->ncols)
		rc = tl_error_set(err, TL_ERR_MISMATCH, "fake table %s.%s has %zu columns", t->schema, t->name, ncols);
	for (i = 0; !rc && i < nrows; i++)
		rc = ct_rows_add(out, (const char *const *)cells + i * ncols, err);
	tl_fake_cells_free(cells, ncols * nrows);
	return rc;
}

const struct ct_fixture ct_fixture = {
	.kind = "fake",
	.registry = &tl_fake_registry,
	.checks_credentials = 0,
	.hostile_schema = "tl_ct_@*$.\"x\"",
	.hostile_table = "a\"b'c`;--",
	.hostile_column = "p.k",
	.open = fx_open,
	.close = fx_close,
	.url = fx_url,
	.drop_schema = fx_drop_schema,
	.create = fx_create,
	.drop = fx_drop,
	.insert = fx_insert,
	.fetch = fx_fetch,
};
