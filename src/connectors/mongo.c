/*
 * mongo.c - the MongoDB connector's ops table (include/tideline/driver.h).
 *
 * The work is done in mongo_conn.c, mongo_read.c and mongo_write.c (see mongo_int.h for
 * the table model: one "_doc" cell per row, "_id" as a pseudo key column). This file only
 * wires the slots; it must not hold logic or state. Collections are never split (no
 * next_bound: chunk mode is refused), but _id RANGE reads serve verify's and check tasks'
 * ranges; delete_after serves only the bulk path of a resumed collection (every
 * document has an _id, so copies are idempotent upserts anyway). mongo_route.c: projected
 * (renamed) collections, the server's identity, field-by-field document diffs.
 */
#include "mongo_int.h"
#include "mongo_schema_int.h"

static const char *const mongo_aliases[] = {"mongodb", NULL};

const struct tl_driver_ops tl_driver_mongo = {
	.version = TL_DRIVER_VERSION,
	.name = "mongo",
	.aliases = mongo_aliases,
	.caps = TL_CAP_DOCUMENTS | TL_CAP_APE_STORE | TL_CAP_BULK_EMPTY | TL_CAP_SCHEMA,
	.quote = 0,
	.connect = tl_mongo__connect,
	.disconnect = tl_mongo__disconnect,
	.list_tables = tl_mongo__list_tables,
	.describe = tl_mongo__describe,
	.describe_many = tl_mongo__describe_many,
	.free_table = tl_mongo__free_table,
	.count_rows = tl_mongo__count_rows,
	.live_rows_many = tl_mongo__live_rows_many,
	.open_reader = tl_mongo__open_reader,
	.read_batch = tl_mongo__read_batch,
	.close_reader = tl_mongo__close_reader,
	.row_key = tl_mongo__row_key,
	.check_target = tl_mongo__check_target,
	.write_batch = tl_mongo__write_batch,
	.delete_after = tl_mongo__delete_after,
	.ape_store_init = tl_mongo__ape_store_init,
	.ape_store_load = tl_mongo__ape_store_load,
	.ape_store_put = tl_mongo__ape_store_put,
	.ape_store_forget = tl_mongo__ape_store_forget,
	.checksum = tl_mongo__checksum,
	.schema_extract = tl_mongo__schema_extract,
	.schema_probe = tl_mongo__schema_probe,
	.schema_apply = tl_mongo__schema_apply,
	.key_exists = tl_mongo__key_exists,
	.claim = tl_mongo__claim,
	.release = tl_mongo__release,
	.flush_commits = tl_mongo__flush_commits,
	.project = tl_mongo__project,
	.server_id = tl_mongo__server_id,
	.value_type = tl_mongo__value_type,
	.doc_diff = tl_mongo__doc_diff,
};
