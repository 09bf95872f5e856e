/*
 * mongo_schema_int.h - the MongoDB definition slots (mongo_schema.c), for the ops table
 * in mongo.c. Nothing outside src/connectors/mongo*.c may include this header.
 */
#ifndef TL_MONGO_SCHEMA_INT_H
#define TL_MONGO_SCHEMA_INT_H

#include "tideline/driver.h"

int tl_mongo__schema_extract(tl_conn *src, const tl_name *names, size_t n, const tl_schema_opts *opts,
			     tl_schema_list *out, tl_error *err);
int tl_mongo__schema_probe(tl_conn *dst, const tl_schema_step *steps, size_t n, enum tl_schema_state *out,
			   tl_error *err);
int tl_mongo__schema_apply(tl_conn *dst, const tl_schema_step *step, enum tl_schema_state *before, tl_error *err);

#endif
