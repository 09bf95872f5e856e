/*
 * schema_steps.h - the store's DDL, compiled in from schema/NNNN_*.sql.
 *
 * tools/embed_schema.cmake generates the array; step i (0-based) brings a store from
 * PRAGMA user_version i to i+1. Only src/store/ includes this header.
 */
#ifndef TL_STORE_SCHEMA_STEPS_H
#define TL_STORE_SCHEMA_STEPS_H

struct tl_store_step {
	const char *name; /* file name, e.g. "0001_init.sql" */
	const char *sql;  /* the whole file */
};

extern const struct tl_store_step tl_schema_steps[]; /* terminated by {NULL, NULL} */
extern const int tl_schema_nsteps;

#endif
