/*
 * bench_plan.c - where the time of `tideline plan` goes (run by tools/bench_plan.sh, never
 * by ctest): `bench_plan TASK.ini [NAMES_PER_CALL]` loads the task and times, each on its
 * own, listing the source tables, describing them all (describe_many in plan-sized chunks
 * or NAMES_PER_CALL, else describe one by one), loading the store snapshot and looking every table up in it, then the
 * whole tl_plan_build and tl_plan_check_targets as `plan` runs them. The store is opened
 * read-only where the task keeps it (a temporary empty one when there is none), so
 * nothing is written; the import of text logs is not timed (plan imports only files it
 * has not seen before).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "migrate/migrate.h"
#include "tideline/filter.h"

/* names per describe_many call: argv[2], else the source driver's describe_batch, else 2000 */
static size_t CHUNK = 0;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void line(const char *what, double secs, size_t n)
{
	printf("%-34s %8.3f s", what, secs);
	if (n)
		printf("  (%zu tables, %.2f us/table)", n, secs * 1e6 / (double)n);
	printf("\n");
}

int main(int argc, char **argv)
{
	tl_error err = TL_ERROR_INIT;
	tl_config *cfg = NULL;
	tl_store *store = NULL;
	tl_store_snapshot *snap = NULL;
	tl_conn *src = NULL, *dst = NULL;
	const struct tl_driver_ops *ops = NULL, *dops = NULL;
	tl_name_list names = {0, NULL};
	tl_table **tables = NULL;
	tl_plan plan = {0, NULL, NULL, NULL};
	tl_migrate_env env;
	char tmp[] = "/tmp/tl-bench-plan-XXXXXX";
	char tmpdb[64] = "";
	double t0, total = 0;
	size_t i, found = 0;
	int status = 1;

	if (argc == 3)
		CHUNK = (size_t)strtoul(argv[2], NULL, 10);
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: bench_plan TASK.ini\n");
		return 2;
	}
	memset(&env, 0, sizeof(env));
	if (tl_config_load(argv[1], &cfg, &err) || tl_migrate_env_bind(&env, cfg, NULL, &err))
		goto fail;
	ops = tl_driver_find(cfg->src_db_type);
	dops = tl_driver_find(cfg->dst_db_type);
	if (!ops || !dops) {
		fprintf(stderr, "bench_plan: unknown db_type\n");
		goto cleanup;
	}
	if (access(cfg->store_path, F_OK) == 0) {
		if (tl_store_open(&store, cfg->store_path, TL_STORE_READONLY, &err))
			goto fail;
	} else {
		if (!mkdtemp(tmp)) {
			perror("mkdtemp");
			goto cleanup;
		}
		snprintf(tmpdb, sizeof(tmpdb), "%s/s.db", tmp);
		if (tl_store_open(&store, tmpdb, 0, &err))
			goto fail;
	}
	{
		tl_endpoint ep = tl_config_source(cfg);
		t0 = now();
		if (ops->connect(&ep, &src, &err))
			goto fail;
		line("connect (source)", now() - t0, 0);
	}
	t0 = now();
	if (ops->list_tables(src, &names, &err))
		goto fail;
	line("list_tables", now() - t0, names.n);

	if (CHUNK == 0) /* as plan does; the target's lost-rows check below uses the same size */
		CHUNK = ops->describe_batch ? ops->describe_batch : 2000;
	if (!(tables = calloc(CHUNK, sizeof(*tables))))
		goto cleanup;
	t0 = now();
	for (i = 0; i < names.n; i += CHUNK) {
		size_t j, n = names.n - i < CHUNK ? names.n - i : CHUNK;
		if (ops->describe_many) {
			if (ops->describe_many(src, names.items + i, n, tables, &err))
				goto fail;
		} else {
			for (j = 0; j < n; j++)
				if (ops->describe(src, names.items[i + j].schema, names.items[i + j].name, &tables[j], &err))
					goto fail;
		}
		for (j = 0; j < n; j++) {
			found += tables[j] != NULL;
			ops->free_table(tables[j]);
			tables[j] = NULL;
		}
	}
	line(ops->describe_many ? "describe_many (all, in chunks)" : "describe (one by one)", now() - t0, found);

	t0 = now();
	if (tl_store_snapshot_load(store, cfg->task_id, &snap, &err))
		goto fail;
	line("store snapshot load", now() - t0, tl_store_snapshot_count(snap));
	t0 = now();
	for (i = 0; i < names.n; i++) {
		tl_store_hit hit;
		if (tl_store_snapshot_lookup(snap, names.items[i].schema, names.items[i].name, 0, &hit, &err))
			goto fail;
		tl_store_hit_clear(&hit);
	}
	line("store snapshot lookups", now() - t0, names.n);

	t0 = now();
	env.store = store; /* lent: closed below, not by the env */
	if (tl_plan_build(&env, src, &plan, &err))
		goto fail;
	total = now() - t0;
	line("tl_plan_build (all of the above)", total, plan.n);
	{
		tl_endpoint ep = tl_config_target(cfg);
		t0 = now();
		if (dops->connect(&ep, &dst, &err))
			goto fail;
		line("connect (target)", now() - t0, 0);
	}
	/* the finished tables' lost-rows check, in its two parts */
	if (dops->describe_many && dops->count_many) {
		size_t j, m = 0, nd = 0;
		double td = 0, tc = 0;
		tl_name *fin = calloc(plan.n ? plan.n : 1, sizeof(*fin));
		const tl_table **have = calloc(CHUNK, sizeof(*have));
		int64_t *counts = calloc(CHUNK, sizeof(*counts));
		if (!fin || !have || !counts)
			goto cleanup;
		for (i = 0; i < plan.n; i++)
			if (plan.items[i].action == TL_ACT_SKIP && plan.items[i].target_rows_at_finish > 0) {
				fin[m].schema = plan.items[i].schema;
				fin[m++].name = plan.items[i].tb;
			}
		for (i = 0; i < m; i += CHUNK) {
			size_t n = m - i < CHUNK ? m - i : CHUNK, k = 0;
			t0 = now();
			if (dops->describe_many(dst, fin + i, n, tables, &err))
				goto fail;
			td += now() - t0;
			for (j = 0; j < n; j++)
				if (tables[j])
					have[k++] = tables[j];
			t0 = now();
			if (dops->count_many(dst, have, k, counts, &err))
				goto fail;
			tc += now() - t0;
			nd += k;
			for (j = 0; j < n; j++) {
				dops->free_table(tables[j]);
				tables[j] = NULL;
			}
		}
		line("  target describe_many (finished)", td, nd);
		line("  target count_many (finished)", tc, nd);
		free(fin);
		free(have);
		free(counts);
	}
	t0 = now();
	if (tl_plan_check_targets(&env, dst, &plan, 0, &err))
		goto fail;
	{
		size_t nskip = 0, nwarn = 0;
		for (i = 0; i < plan.n; i++) {
			nskip += plan.items[i].action == TL_ACT_SKIP;
			nwarn += plan.items[i].warning != NULL;
		}
		line("tl_plan_check_targets", now() - t0, 0);
		printf("%-34s %zu skipped (finished), %zu warnings\n", "", nskip, nwarn);
	}
	status = 0;
	goto cleanup;
fail:
	fprintf(stderr, "bench_plan: %s\n", err.message);
cleanup:
	tl_plan_clear(&plan, &env.src);
	tl_store_snapshot_free(snap);
	free(tables);
	tl_name_list_clear(&names);
	if (src)
		ops->disconnect(src);
	if (dst)
		dops->disconnect(dst);
	tl_store_close(store);
	if (tmpdb[0]) {
		char side[80];
		unlink(tmpdb);
		snprintf(side, sizeof(side), "%s-wal", tmpdb);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", tmpdb);
		unlink(side);
		rmdir(tmp);
	}
	tl_config_free(cfg);
	return status;
}
