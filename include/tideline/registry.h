/*
 * registry.h - which database kinds tideline knows, and the one check that makes a
 * driver table usable.
 *
 * A registry is an immutable list of driver tables (struct tl_driver_ops, driver.h) that
 * may chain to another: tl_registry_builtin() lists the drivers compiled into tideline;
 * unit tests put the fake driver (tests/fakes/) in front of it without any global state.
 * Lookups match db_type against a driver's name and aliases, case-insensitively, and
 * check the driver once (tl_driver_check) before handing it out, so the engine may call
 * every mandatory slot without testing for NULL. Config validation, the run, plan and
 * verify all find their drivers here; nothing else keeps a list of database kinds.
 */
#ifndef TL_REGISTRY_H
#define TL_REGISTRY_H

#include "tideline/buf.h"
#include "tideline/driver.h"
#include "tideline/error.h"

typedef struct tl_registry {
	const struct tl_driver_ops *const *drivers; /* NULL-terminated */
	const struct tl_registry *next;             /* consulted after this one, or NULL */
} tl_registry;

/* The drivers compiled into tideline (static, never freed). */
const tl_registry *tl_registry_builtin(void);

/*
 * Finds the driver for db_type (name or alias, case-insensitive; r NULL = the built-ins)
 * and checks it. TL_ERR_NOTFOUND when no driver has that name ("… is not supported
 * (mysql, pg or mongo)"), TL_ERR_INTERNAL when the driver fails tl_driver_check.
 * *out is static, never freed.
 */
int tl_registry_find(const tl_registry *r, const char *db_type, const struct tl_driver_ops **out,
		     tl_error *err) TL_MUST_CHECK;

/* Appends the kinds of r for messages: "mysql, pg or mongo" (names, not aliases). */
int tl_registry_kinds(const tl_registry *r, tl_buf *out, tl_error *err) TL_MUST_CHECK;

/*
 * Is ops a usable driver: version TL_DRIVER_VERSION, a name, every Mandatory slot set,
 * the ape-dts store slots all or none (and all with TL_CAP_APE_STORE), the three schema
 * slots all or none (and all with TL_CAP_SCHEMA), split_kinds only with next_bound?
 * TL_ERR_INTERNAL naming the driver and the first problem.
 */
int tl_driver_check(const struct tl_driver_ops *ops, tl_error *err) TL_MUST_CHECK;

#endif
