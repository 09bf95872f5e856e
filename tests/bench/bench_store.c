/*
 * bench_store.c - checkpoint store throughput (run by tools/bench_store.sh, never by
 * ctest): writes 1,000,000 position.log lines over 100,000 tables to a temporary file,
 * imports them the way `tideline import` and a run's start do (tl_resume_add_file into
 * a tl_resume_set, then tl_store_import_set in one transaction) and prints lines/s; then
 * looks every table up with tl_store_lookup and prints the total seconds.
 * Goals (docs/tideline.md §6): >= 500k lines/s import, <= 1 s for all lookups.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tideline/resume.h"
#include "tideline/store.h"

#define NTABLES 100000L
#define NROUNDS 10L

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, const tl_error *err)
{
	fprintf(stderr, "bench_store: %s: %s\n", what, err->message);
	return 1;
}

int main(int argc, char **argv)
{
	tl_error err = TL_ERROR_INIT;
	tl_resume_set *set = NULL;
	tl_store *store = NULL;
	char dir[] = "/tmp/tl_bench_store_XXXXXX", logpath[256], dbpath[256], schema[32], tb[32], tail[256];
	FILE *f;
	long r, i, found = 0;
	size_t nbad = 0;
	double t0, t1, t2, t3, t4, c0, c1, c2, c3, c4;
	int status = 1;

	(void)argc;
	(void)argv;
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(logpath, sizeof(logpath), "%s/position.log", dir);
	snprintf(dbpath, sizeof(dbpath), "%s/checkpoint.db", dir);
	f = fopen(logpath, "w");
	if (!f) {
		perror(logpath);
		return 1;
	}
	for (r = 0; r < NROUNDS; r++)
		for (i = 0; i < NTABLES; i++)
			fprintf(f,
				"2024-10-10 04:%02ld:%02ld.%06ld | %s | {\"type\":\"RdbSnapshot\",\"db_type\":\"mysql\","
				"\"schema\":\"db_%ld\",\"tb\":\"t_%06ld\",\"order_key\":{\"single\":[\"id\",\"%ld\"]}}\n",
				r, (i / 10000) % 60, i % 1000000, (r % 2) ? "checkpoint_position" : "current_position",
				i % 100, i, r * 1000 + i);
	if (fclose(f) != 0) {
		perror(logpath);
		return 1;
	}
	printf("generated %ld lines over %ld tables in %s\n", NROUNDS * NTABLES, NTABLES, logpath);

	t0 = now();
	c0 = cpu();
	if (tl_resume_set_new(&set, &err) || tl_resume_add_file(set, logpath, 0, &nbad, &err)) {
		status = fail("reading position.log", &err);
		goto cleanup;
	}
	t1 = now();
	c1 = cpu();
	if (tl_store_open(&store, dbpath, 0, &err) || tl_store_import_set(store, "default", set, &err)) {
		status = fail("importing", &err);
		goto cleanup;
	}
	t2 = now();
	c2 = cpu();
	printf("parse+merge: %.3f s wall, %.3f s cpu (%.0f lines/s); store import of %zu tables: %.3f s wall, "
	       "%.3f s cpu\n",
	       t1 - t0, c1 - c0, (double)(NROUNDS * NTABLES) / (t1 - t0), tl_resume_count(set), t2 - t1, c2 - c1);
	printf("import total: %.3f s wall = %.0f lines/s; %.3f s cpu = %.0f lines/s (goal >= 500000)\n", t2 - t0,
	       (double)(NROUNDS * NTABLES) / (t2 - t0), c2 - c0, (double)(NROUNDS * NTABLES) / (c2 - c0));

	/* lookups through a fresh handle, as a run's start would */
	tl_store_close(store);
	store = NULL;
	if (tl_store_open(&store, dbpath, 0, &err)) {
		status = fail("reopening", &err);
		goto cleanup;
	}
	t3 = now();
	c3 = cpu();
	for (i = 0; i < NTABLES; i++) {
		tl_store_hit hit;

		snprintf(schema, sizeof(schema), "db_%ld", i % 100);
		snprintf(tb, sizeof(tb), "t_%06ld", i);
		if (tl_store_lookup(store, "default", schema, tb, 0, &hit, &err)) {
			status = fail("lookup", &err);
			goto cleanup;
		}
		if (hit.state == TL_RESUME_POSITION && hit.is_current)
			found++;
		tl_store_hit_clear(&hit);
	}
	t4 = now();
	c4 = cpu();
	snprintf(tail, sizeof(tail), "%s", found == NTABLES ? "all found" : "MISSING SOME");
	printf("lookups: %ld tables in %.3f s wall, %.3f s cpu (%.1f us each; goal <= 1 s total), %s\n", NTABLES,
	       t4 - t3, c4 - c3, (t4 - t3) * 1e6 / (double)NTABLES, tail);
	status = found == NTABLES ? 0 : 1;
cleanup:
	tl_store_close(store);
	tl_resume_set_free(set);
	unlink(logpath);
	unlink(dbpath);
	{
		char p[300];

		snprintf(p, sizeof(p), "%s-wal", dbpath);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", dbpath);
		unlink(p);
	}
	rmdir(dir);
	return status;
}
