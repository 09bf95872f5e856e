/*
 * pg.c - the PostgreSQL connector's ops table (include/tideline/driver.h).
 *
 * The work is done in pg_conn.c, pg_meta.c, pg_read.c, pg_write.c, pg_store.c and
 * pg_route.c (see pg_int.h). This file only wires the slots; it must not hold logic or state.
 */
#include "pg_schema_int.h"

static const char *const pg_aliases[] = {"postgres", "postgresql", NULL};

const struct tl_driver_ops tl_driver_pg = {
	.version = TL_DRIVER_VERSION,
	.name = "pg",
	.aliases = pg_aliases,
	.caps = TL_CAP_SQL | TL_CAP_APE_STORE | TL_CAP_BULK_EMPTY | TL_CAP_SCHEMA,
	.quote = '"',
	/* next_bound walks these kinds in the server's own order */
	.split_kinds = TL_KIND_BIT(TL_COL_INT) | TL_KIND_BIT(TL_COL_UINT) | TL_KIND_BIT(TL_COL_DECIMAL) |
		       TL_KIND_BIT(TL_COL_FLOAT) | TL_KIND_BIT(TL_COL_TEXT) | TL_KIND_BIT(TL_COL_DATE),
	.connect = tl_pg__connect,
	.disconnect = tl_pg__disconnect,
	.interrupt = tl_pg__interrupt,
	.list_tables = tl_pg__list_tables,
	.describe = tl_pg__describe,
	.free_table = tl_pg__free_table,
	.count_rows = tl_pg__count_rows,
	.open_reader = tl_pg__open_reader,
	.read_batch = tl_pg__read_batch,
	.close_reader = tl_pg__close_reader,
	.row_key = tl_pg__row_key,
	.next_bound = tl_pg__next_bound,
	.part_minmax = tl_pg__part_minmax,
	.check_target = tl_pg__check_target,
	.native_form = tl_pg__native_form,
	.write_batch = tl_pg__write_batch,
	.delete_after = tl_pg__delete_after,
	.ape_store_init = tl_pg__ape_store_init,
	.ape_store_load = tl_pg__ape_store_load,
	.ape_store_put = tl_pg__ape_store_put,
	.ape_store_forget = tl_pg__ape_store_forget,
	.checksum = tl_pg__checksum,
	.describe_many = tl_pg__describe_many,
	.count_many = tl_pg__count_many,
	.live_rows_many = tl_pg__live_rows_many,
	.describe_batch = 2000, /* larger calls get slower catalog plans (10,000: ~1.5x the time) */
	.durability_warning = tl_pg__durability_warning,
	.schema_extract = tl_pg__schema_extract,
	.schema_probe = tl_pg__schema_probe,
	.schema_apply = tl_pg__schema_apply,
	.delete_after_key = tl_pg__delete_after_key,
	.key_exists = tl_pg__key_exists,
	.claim = tl_pg__claim,
	.release = tl_pg__release,
	.flush_commits = tl_pg__flush_commits,
	.project = tl_pg__project,
	.server_id = tl_pg__server_id,
	.value_type = tl_pg__value_type,
};
