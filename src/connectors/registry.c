/*
 * registry.c - the database kinds tideline is built with, found by a task's db_type, and
 * the check every driver passes before the engine uses it (include/tideline/registry.h).
 * Adding a database kind means adding its tl_driver_<kind> table to `builtin` below; its
 * name, aliases, quote character and splittable column kinds come from that table.
 */
#include <string.h>
#include <strings.h>
#include "tideline/registry.h"

static const struct tl_driver_ops *const builtin_drivers[] = {
	&tl_driver_mysql,
	&tl_driver_pg,
	&tl_driver_mongo,
	NULL,
};

static const tl_registry builtin = {builtin_drivers, NULL};

const tl_registry *tl_registry_builtin(void)
{
	return &builtin;
}

int tl_driver_check(const struct tl_driver_ops *ops, tl_error *err)
{
	const char *name = ops && ops->name ? ops->name : "(unnamed)";
	const char *missing = NULL;
	int ape, schema;

	if (!ops || !ops->name || !*ops->name)
		return tl_error_set(err, TL_ERR_INTERNAL, "driver %s has no name", name);
	if (ops->version != TL_DRIVER_VERSION)
		return tl_error_set(err, TL_ERR_INTERNAL, "driver %s has interface version %u, this build needs %u",
				    name, ops->version, (unsigned)TL_DRIVER_VERSION);
	if (!ops->connect)
		missing = "connect";
	else if (!ops->disconnect)
		missing = "disconnect";
	else if (!ops->list_tables)
		missing = "list_tables";
	else if (!ops->describe)
		missing = "describe";
	else if (!ops->free_table)
		missing = "free_table";
	else if (!ops->count_rows)
		missing = "count_rows";
	else if (!ops->open_reader)
		missing = "open_reader";
	else if (!ops->read_batch)
		missing = "read_batch";
	else if (!ops->close_reader)
		missing = "close_reader";
	else if (!ops->row_key)
		missing = "row_key";
	else if (!ops->check_target)
		missing = "check_target";
	else if (!ops->write_batch)
		missing = "write_batch";
	if (missing)
		return tl_error_set(err, TL_ERR_INTERNAL, "driver %s lacks the mandatory slot %s", name, missing);
	ape = (ops->ape_store_init != NULL) + (ops->ape_store_load != NULL) + (ops->ape_store_put != NULL) +
	      (ops->ape_store_forget != NULL);
	if (ape != 0 && ape != 4)
		return tl_error_set(err, TL_ERR_INTERNAL, "driver %s sets only %d of the 4 ape_store slots", name, ape);
	if (((ops->caps & TL_CAP_APE_STORE) != 0) != (ape == 4))
		return tl_error_set(err, TL_ERR_INTERNAL, "driver %s: TL_CAP_APE_STORE and the ape_store slots disagree",
				    name);
	if (!ops->claim != !ops->release)
		return tl_error_set(err, TL_ERR_INTERNAL, "driver %s sets only one of claim and release", name);
	if (ops->split_kinds && !ops->next_bound)
		return tl_error_set(err, TL_ERR_INTERNAL, "driver %s has split_kinds but no next_bound", name);
	schema = (ops->schema_extract != NULL) + (ops->schema_probe != NULL) + (ops->schema_apply != NULL);
	if ((schema != 0 && schema != 3) || ((ops->caps & TL_CAP_SCHEMA) != 0) != (schema == 3))
		return tl_error_set(err, TL_ERR_INTERNAL,
				    "driver %s: TL_CAP_SCHEMA needs all three schema slots and they need it (%d set)", name,
				    schema);
	return 0;
}

static int names_kind(const struct tl_driver_ops *ops, const char *db_type)
{
	const char *const *a;

	if (strcasecmp(ops->name, db_type) == 0)
		return 1;
	for (a = ops->aliases; a && *a; a++)
		if (strcasecmp(*a, db_type) == 0)
			return 1;
	return 0;
}

int tl_registry_kinds(const tl_registry *r, tl_buf *out, tl_error *err)
{
	const struct tl_driver_ops *const *d;
	size_t n = 0, i = 0;
	const tl_registry *it;
	int rc = 0;

	if (!r)
		r = &builtin;
	for (it = r; it; it = it->next)
		for (d = it->drivers; *d; d++)
			n++;
	for (it = r; it && !rc; it = it->next)
		for (d = it->drivers; *d && !rc; d++, i++)
			rc = tl_buf_printf(out, err, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", (*d)->name);
	return rc;
}

int tl_registry_find(const tl_registry *r, const char *db_type, const struct tl_driver_ops **out, tl_error *err)
{
	const struct tl_driver_ops *const *d;
	const tl_registry *it;
	tl_buf kinds = TL_BUF_INIT;
	int rc;

	*out = NULL;
	if (!r)
		r = &builtin;
	for (it = r; db_type && it; it = it->next)
		for (d = it->drivers; *d; d++)
			if (names_kind(*d, db_type)) {
				if ((rc = tl_driver_check(*d, err)))
					return rc;
				*out = *d;
				return 0;
			}
	if ((rc = tl_registry_kinds(r, &kinds, err)) == 0)
		rc = tl_error_set(err, TL_ERR_NOTFOUND, "db_type %s is not supported (%s)", db_type ? db_type : "(none)",
				  tl_buf_cstr(&kinds));
	tl_buf_release(&kinds);
	return rc;
}

const struct tl_driver_ops *tl_driver_find(const char *db_type)
{
	const struct tl_driver_ops *ops = NULL;

	return tl_registry_find(&builtin, db_type, &ops, NULL) == 0 ? ops : NULL;
}
