/*
 * bench_schema.c - how long copying definitions takes (never run by ctest):
 * `bench_schema KIND SRC_URL DST_URL SCHEMA [PARALLEL]` lists the source tables of
 * SCHEMA (a PG schema, a MySQL / Mongo database), times schema_extract of all of them,
 * then applies the steps to DST phase by phase without copying rows (PRE_DATA, TABLE_POST,
 * POST_DATA, FINAL) and prints the time of each, the steps per kind and the widest level
 * (how many steps could run at once). PARALLEL > 1 applies each level of TABLE_POST and
 * POST_DATA on that many connections at once. The target is expected to be empty.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tideline/driver.h"
#include "tideline/schema.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct worker {
	const struct tl_driver_ops *ops;
	tl_conn *c;
	const tl_schema_list *l;
	size_t *next, *end;
	pthread_mutex_t *mu;
	const size_t *idx;
	int rc;
	tl_error err;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		size_t i;
		pthread_mutex_lock(w->mu);
		i = *w->next < *w->end ? (*w->next)++ : (size_t)-1;
		pthread_mutex_unlock(w->mu);
		if (i == (size_t)-1 || w->rc)
			break;
		w->rc = w->ops->schema_apply(w->c, &w->l->items[w->idx[i]], NULL, &w->err);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	tl_endpoint se = {.app_name = "tideline-bench"}, de = {.app_name = "tideline-bench"};
	const struct tl_driver_ops *ops;
	tl_conn *src = NULL, *dst[16] = {NULL};
	tl_name_list all = {0, NULL}, sel = {0, NULL};
	tl_schema_list l = TL_SCHEMA_LIST_INIT;
	tl_error err = TL_ERROR_INIT;
	size_t i, k, per_kind[TL_SK_COUNT] = {0}, *idx = NULL;
	int par = argc > 5 ? atoi(argv[5]) : 1, rc = 1, p;
	double t0;

	if (argc < 5) {
		fprintf(stderr, "usage: %s KIND SRC_URL DST_URL SCHEMA [PARALLEL]\n", argv[0]);
		return 2;
	}
	if (par < 1 || par > 16)
		par = 1;
	ops = tl_driver_find(argv[1]);
	if (!ops || !(ops->caps & TL_CAP_SCHEMA)) {
		fprintf(stderr, "no schema-capable driver %s\n", argv[1]);
		return 2;
	}
	se.db_type = de.db_type = argv[1];
	se.url = argv[2];
	de.url = argv[3];
	if (ops->connect(&se, &src, &err) || ops->list_tables(src, &all, &err))
		goto fail;
	for (p = 0; p < par; p++)
		if (ops->connect(&de, &dst[p], &err))
			goto fail;
	for (i = 0; i < all.n; i++)
		if (strcmp(all.items[i].schema, argv[4]) == 0 && tl_name_list_add(&sel, all.items[i].schema, all.items[i].name, &err))
			goto fail;
	t0 = now();
	if (ops->schema_extract(src, sel.items, sel.n, NULL, &l, &err))
		goto fail;
	printf("%-12s %8.3f s  (%zu tables, %zu steps)\n", "extract", now() - t0, sel.n, l.n);
	idx = malloc((l.n + 1) * sizeof(*idx));
	if (!idx)
		goto fail;
	for (p = TL_PHASE_PRE_DATA; p <= TL_PHASE_FINAL; p++) {
		unsigned lv, maxlv = 0;
		size_t widest = 0;
		t0 = now();
		for (i = 0; i < l.n; i++)
			if (l.items[i].phase == (enum tl_schema_phase)p && l.items[i].level > maxlv)
				maxlv = l.items[i].level;
		for (lv = 0; lv <= maxlv; lv++) {
			size_t n = 0, next = 0;
			pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
			struct worker w[16];
			pthread_t th[16];
			int use = (p == TL_PHASE_PRE_DATA || p == TL_PHASE_FINAL) ? 1 : par;
			for (i = 0; i < l.n; i++)
				if (l.items[i].phase == (enum tl_schema_phase)p && l.items[i].level == lv)
					idx[n++] = i;
			if (n > widest)
				widest = n;
			for (k = 0; k < (size_t)use; k++) {
				memset(&w[k], 0, sizeof(w[k]));
				w[k].ops = ops;
				w[k].c = dst[k];
				w[k].l = &l;
				w[k].next = &next;
				w[k].end = &n;
				w[k].mu = &mu;
				w[k].idx = idx;
				pthread_create(&th[k], NULL, work, &w[k]);
			}
			for (k = 0; k < (size_t)use; k++)
				pthread_join(th[k], NULL);
			for (k = 0; k < (size_t)use; k++)
				if (w[k].rc) {
					err = w[k].err;
					goto fail;
				}
		}
		printf("%-12s %8.3f s  (levels %u, widest level %zu steps)\n", tl_schema_phase_name((enum tl_schema_phase)p),
		       now() - t0, maxlv + 1, widest);
	}
	for (i = 0; i < l.n; i++)
		per_kind[l.items[i].kind]++;
	for (k = 0; k < TL_SK_COUNT; k++)
		if (per_kind[k])
			printf("  %-18s %zu\n", tl_schema_kind_word((enum tl_schema_kind)k), per_kind[k]);
	rc = 0;
	goto cleanup;
fail:
	fprintf(stderr, "bench_schema: %s\n", err.message);
cleanup:
	free(idx);
	tl_schema_list_clear(&l);
	tl_name_list_clear(&all);
	tl_name_list_clear(&sel);
	ops->disconnect(src);
	for (p = 0; p < 16; p++)
		if (dst[p])
			ops->disconnect(dst[p]);
	return rc;
}
