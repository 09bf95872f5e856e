/*
 * registry.c - finds a connector by the db_type of a task. Adding a database kind means
 * adding one line here and one tl_driver_<kind> table.
 */
#include <string.h>
#include <strings.h>
#include "tideline/driver.h"

const struct tl_driver_ops *tl_driver_find(const char *db_type)
{
	if (!db_type)
		return NULL;
	if (strcasecmp(db_type, "mysql") == 0 || strcasecmp(db_type, "mariadb") == 0)
		return &tl_driver_mysql;
	if (strcasecmp(db_type, "pg") == 0 || strcasecmp(db_type, "postgres") == 0 ||
	    strcasecmp(db_type, "postgresql") == 0)
		return &tl_driver_pg;
	if (strcasecmp(db_type, "mongo") == 0 || strcasecmp(db_type, "mongodb") == 0)
		return &tl_driver_mongo;
	return NULL;
}
