/*
 * bench_store_fleet.c - what the store costs a fleet (#17), run by tools/bench_store.sh,
 * never by ctest:
 *
 *   bench_store_fleet claims STORE WORKERS CHUNKS
 *       CHUNKS work items claimed and finished by WORKERS processes, each with its own
 *       connection (claim + end(DONE): two transactions per chunk); prints claims/s and
 *       checks that no chunk was claimed twice.
 *   bench_store_fleet record STORE N
 *       N position records the way the recorder writes them (begin, put_position,
 *       commit; plus a fence under a lease, as a fleet worker would), prints the time per
 *       record: the store's share of a checkpoint, SQLite against PostgreSQL.
 *
 * STORE is a file path (SQLite) or a postgres:// URL; the bench uses task ids of its own
 * and forgets them afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tideline/store.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, const tl_error *err)
{
	fprintf(stderr, "bench_store_fleet: %s: %s\n", what, err->message);
	return 1;
}

static int add_chunks(tl_store *s, const char *task, long n, tl_error *err)
{
	tl_store_item *items = calloc((size_t)n, sizeof(*items));
	char (*keys)[16] = calloc((size_t)n, sizeof(*keys));
	long i;
	int rc;

	if (!items || !keys) {
		free(items);
		free(keys);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
	for (i = 0; i < n; i++) {
		snprintf(keys[i], sizeof(keys[0]), "%08ld", i);
		items[i].kind = "chunk";
		items[i].key = keys[i];
		items[i].schema = "bench";
		items[i].tb = "big";
	}
	rc = tl_store_items_add(s, task, items, (size_t)n, err);
	free(items);
	free(keys);
	return rc;
}

static int claims(const char *store, int workers, long chunks)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	int (*fds)[2] = calloc((size_t)workers, sizeof(*fds)), i, status = 1;
	pid_t *kids = calloc((size_t)workers, sizeof(*kids));
	unsigned char *seen = calloc((size_t)chunks, 1);
	long got = 0, dup = 0, min = -1, max = 0;
	double t0, t1;

	if (!fds || !kids || !seen)
		return 1;
	if (tl_store_open(&s, store, 0, &err) || tl_store_forget_task(s, "bench-claims", &err) ||
	    add_chunks(s, "bench-claims", chunks, &err)) {
		status = fail("setting up", &err);
		goto cleanup;
	}
	tl_store_close(s);
	s = NULL;
	t0 = now();
	for (i = 0; i < workers; i++) {
		if (pipe(fds[i]) != 0)
			return 1;
		kids[i] = fork();
		if (kids[i] == 0) {
			tl_store_lease l;
			char name[16];
			FILE *f = fdopen(fds[i][1], "w");
			long *mine = calloc((size_t)chunks, sizeof(*mine)), nmine = 0, k;
			int busy, rc;

			/* keys are written at the end: a full pipe must not stall a worker mid-run */
			if (!mine)
				_exit(3);
			memset(&l, 0, sizeof(l));
			snprintf(name, sizeof(name), "w%d", i);
			if (!f || tl_store_open(&s, store, 0, &err))
				_exit(3);
			for (;;) {
				rc = tl_store_claim(s, "bench-claims", "chunk", name, 60, &l, &busy, &err);
				if (rc == TL_ERR_NOTFOUND && busy == 0)
					break;
				if (rc == TL_ERR_NOTFOUND)
					continue;
				if (rc || tl_store_end(s, &l, TL_STORE_DONE, NULL, &err)) {
					fprintf(stderr, "worker %d: %s\n", i, err.message);
					_exit(4);
				}
				mine[nmine++] = strtol(l.key, NULL, 10);
				tl_store_lease_clear(&l);
			}
			tl_store_close(s);
			for (k = 0; k < nmine; k++)
				fprintf(f, "%ld\n", mine[k]);
			fclose(f);
			_exit(0);
		}
		close(fds[i][1]);
	}
	for (i = 0; i < workers; i++) {
		FILE *f = fdopen(fds[i][0], "r");
		char line[64];
		long mine = 0;

		while (f && fgets(line, sizeof(line), f)) {
			long k = strtol(line, NULL, 10);
			if (k >= 0 && k < chunks && seen[k]++)
				dup++;
			mine++;
		}
		if (f)
			fclose(f);
		got += mine;
		if (min < 0 || mine < min)
			min = mine;
		if (mine > max)
			max = mine;
	}
	status = 0;
	for (i = 0; i < workers; i++) {
		int st = 0;
		waitpid(kids[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			status = 1;
	}
	t1 = now();
	printf("claims: %s: %ld chunks by %d workers in %.2f s = %.0f claims/s (claim + finish: 2 transactions each); "
	       "per worker %ld..%ld; %ld claimed, %ld twice\n",
	       tl_store_is_url(store) ? "postgresql" : "sqlite", chunks, workers, t1 - t0, (double)chunks / (t1 - t0), min,
	       max, got, dup);
	if (got != chunks || dup)
		status = 1;
	if (tl_store_open(&s, store, 0, &err) == 0 && tl_store_forget_task(s, "bench-claims", &err))
		status = fail("cleaning up", &err);
cleanup:
	tl_store_close(s);
	free(fds);
	free(kids);
	free(seen);
	return status;
}

static int record(const char *store, long n)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	tl_store_lease l;
	tl_position p = TL_POSITION_INIT;
	char val[32];
	const char *cols[1] = {"id"}, *vals[1] = {val};
	double t0, t1, t2;
	long i;
	int busy, status = 1;

	memset(&l, 0, sizeof(l));
	if (tl_store_open(&s, store, 0, &err) || tl_store_forget_task(s, "bench-rec", &err) ||
	    add_chunks(s, "bench-rec", 1, &err) ||
	    tl_store_claim(s, "bench-rec", "chunk", "w", 600, &l, &busy, &err)) {
		status = fail("setting up", &err);
		goto cleanup;
	}
	/* the recorder's transaction: begin, put_position, commit */
	t0 = now();
	for (i = 0; i < n; i++) {
		snprintf(val, sizeof(val), "%ld", (i + 1) * 200);
		if (tl_pos_set(&p, TL_POS_RDB_SNAPSHOT, "pg", "bench", "big", TL_KEY_SINGLE, 1, cols, vals, &err) ||
		    tl_store_begin(s, &err) ||
		    tl_store_put_position(s, "bench-rec", &p, 1, NULL, "run", 0, (i + 1) * 200, &err) ||
		    tl_store_commit(s, &err)) {
			status = fail("recording", &err);
			goto cleanup;
		}
	}
	t1 = now();
	/* the same under a lease: begin, fence, put_position, commit */
	for (i = 0; i < n; i++) {
		snprintf(val, sizeof(val), "%ld", (n + i + 1) * 200);
		if (tl_pos_set(&p, TL_POS_RDB_SNAPSHOT, "pg", "bench", "big", TL_KEY_SINGLE, 1, cols, vals, &err) ||
		    tl_store_begin(s, &err) || tl_store_fence(s, &l, &err) ||
		    tl_store_put_position(s, "bench-rec", &p, 1, NULL, "run", 0, (n + i + 1) * 200, &err) ||
		    tl_store_commit(s, &err)) {
			status = fail("recording under a lease", &err);
			goto cleanup;
		}
	}
	t2 = now();
	printf("record: %s: %ld positions: %.1f us each (begin, put_position, commit); %.1f us each with a fence\n",
	       tl_store_is_url(store) ? "postgresql" : "sqlite", n, (t1 - t0) * 1e6 / (double)n,
	       (t2 - t1) * 1e6 / (double)n);
	status = tl_store_forget_task(s, "bench-rec", &err) ? fail("cleaning up", &err) : 0;
cleanup:
	tl_store_lease_clear(&l);
	tl_pos_clear(&p);
	tl_store_close(s);
	return status;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "claims") == 0)
		return claims(argv[2], atoi(argv[3]), strtol(argv[4], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "record") == 0)
		return record(argv[2], strtol(argv[3], NULL, 10));
	fprintf(stderr, "usage: bench_store_fleet claims STORE WORKERS CHUNKS | record STORE N\n");
	return 2;
}
