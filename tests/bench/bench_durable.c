/*
 * bench_durable.c - the cost of TL_WRITE_DURABLE on a PostgreSQL copy (issue #19; run by
 * hand, never by ctest): writes ROWS rows of (id bigint, pad text) in batches of BATCH
 * through the pg driver into an empty table, as a fresh copy does (COPY, TARGET_EMPTY),
 * three ways: no batch durable, one durable batch per second (what the engine does when a
 * checkpoint is due every second) and every batch durable, and prints rows/s and the
 * ratio to the first (median of 5 interleaved rounds, each on a fresh table after a
 * CHECKPOINT). Point it at a server with fsync=on and synchronous_commit=off (the
 * case the flag exists for); the test servers of tools/servers/ run fsync=off, where a
 * flush costs nothing.
 *
 *   bench_durable URL [ROWS] [BATCH]      (defaults 200000 and 200: the sinker's batch)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "connectors/pg_int.h"
#include "tideline/batch.h"
#include "tideline/driver.h"

#define ROUNDS 5

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, const tl_error *err)
{
	fprintf(stderr, "bench_durable: %s: %s\n", what, err->message);
	return 1;
}

/* One policy: 0 none durable, 1 one per second, 2 every batch. Returns rows/s, < 0 on error. */
static double run(const struct tl_driver_ops *d, tl_conn *c, const tl_table *t, long rows, long batch, int policy,
		  long *durable, tl_error *err)
{
	char id[32], pad[101];
	tl_batch b;
	double t0, last = 0;
	long done = 0, i;

	memset(pad, 'x', 100);
	pad[100] = '\0';
	*durable = 0;
	tl_batch_init(&b, 2, 64 << 20);
	t0 = now();
	while (done < rows) {
		unsigned flags = TL_WRITE_TARGET_EMPTY;
		tl_batch_reset(&b);
		for (i = 0; i < batch && done + i < rows; i++) {
			int n = snprintf(id, sizeof(id), "%ld", done + i + 1);
			if (tl_batch_push(&b, id, (size_t)n, 0, err) || tl_batch_push(&b, pad, 100, 0, err) ||
			    tl_batch_end_row(&b, err))
				goto fail;
		}
		if (policy == 2 || (policy == 1 && now() - last >= 1.0)) {
			flags |= TL_WRITE_DURABLE;
			last = now();
			(*durable)++;
		}
		if (d->write_batch(c, t, &b, flags, err))
			goto fail;
		done += i;
	}
	tl_batch_release(&b);
	return (double)rows / (now() - t0);
fail:
	tl_batch_release(&b);
	return -1;
}

int main(int argc, char **argv)
{
	const struct tl_driver_ops *d = tl_driver_find("pg");
	static const char *const names[] = {"no durable batch", "durable once a second", "every batch durable"};
	tl_endpoint ep = {.db_type = "pg", .app_name = "bench_durable"};
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL;
	tl_table *t = NULL;
	long rows = argc > 2 ? strtol(argv[2], NULL, 10) : 200000, batch = argc > 3 ? strtol(argv[3], NULL, 10) : 200;
	double rate[3][ROUNDS];
	long durable[3];
	int p, round;

	if (argc < 2 || rows <= 0 || batch <= 0) {
		fprintf(stderr, "usage: bench_durable URL [ROWS] [BATCH]\n");
		return 2;
	}
	ep.url = argv[1];
	if (d->connect(&ep, &c, &err))
		return fail("connect", &err);
	for (round = 0; round < ROUNDS; round++)
		for (p = 0; p < 3; p++) {
			/* a fresh table and a checkpoint first: each run starts from the same state */
			d->free_table(t);
			t = NULL;
			if (tl_pg__exec(c, "DROP TABLE IF EXISTS bench_durable; CREATE TABLE bench_durable (id bigint, pad text); "
					   "CHECKPOINT", 0, NULL, NULL, "create the table", &err) ||
			    d->describe(c, "public", "bench_durable", &t, &err))
				return fail("prepare", &err);
			rate[p][round] = run(d, c, t, rows, batch, p, &durable[p], &err);
			fflush(stdout);
			if (rate[p][round] < 0)
				return fail("write", &err);
		}
	for (p = 0; p < 3; p++)
		qsort(rate[p], ROUNDS, sizeof(double), cmp_double);
	printf("%ld rows in batches of %ld (COPY into an empty table)\n", rows, batch);
	for (p = 0; p < 3; p++)
		printf("  %-24s %10.0f rows/s  %5.3f  (%ld durable commits; median of %d, range %.0f-%.0f)\n", names[p],
		       rate[p][ROUNDS / 2], rate[p][ROUNDS / 2] / rate[0][ROUNDS / 2], durable[p], ROUNDS, rate[p][0],
		       rate[p][ROUNDS - 1]);
	d->free_table(t);
	d->disconnect(c);
	return 0;
}
