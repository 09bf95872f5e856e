/*
 * fake_task.c - the task helpers of fake_task.h: fake servers with the standard tables,
 * task files, and running or planning a task with the fake registry. Test code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fakes/fake_task.h"
#include "tl_test.h"

const char *const ft_tables[] = {"keyed", "comp", "nuk", "nokey", "tkey", NULL};

int ft_setup(ft_env *e)
{
	static int seq;

	memset(e, 0, sizeof(*e));
	seq++;
	snprintf(e->src_url, sizeof(e->src_url), "fake://src%d-%d", (int)getpid(), seq);
	snprintf(e->dst_url, sizeof(e->dst_url), "fake://dst%d-%d", (int)getpid(), seq);
	/* a directory of its own: several environments may live in one test */
	snprintf(e->dir, sizeof(e->dir), "%s/env%d", tl_test_tmpdir(), seq);
	if (mkdir(e->dir, 0777) != 0)
		return -1;
	e->src = tl_fake_db_new(e->src_url + 7);
	e->dst = tl_fake_db_new(e->dst_url + 7);
	return e->src && e->dst ? 0 : -1;
}

void ft_teardown(ft_env *e)
{
	tl_fake_db_free(e->src);
	tl_fake_db_free(e->dst);
	e->src = e->dst = NULL;
}

static int both(ft_env *e, const char *name, const char *cols)
{
	return tl_fake_add_table(e->src, "s", name, cols) || tl_fake_add_table(e->dst, "s", name, cols) ? -1 : 0;
}

int ft_standard_tables(ft_env *e, int n)
{
	char a[32], b[32], v[32];
	int i, rc = 0;

	if (both(e, "keyed", "id int key, v text null") || both(e, "comp", "a int key, b int key, v text") ||
	    both(e, "nuk", "u int key null, v text") || both(e, "nokey", "x int null, v text") ||
	    both(e, "tkey", "k text key, v int"))
		return -1;
	for (i = 1; i <= n && !rc; i++) {
		const char *row[3];

		snprintf(a, sizeof(a), "%d", i);
		snprintf(v, sizeof(v), "v%d", i);
		row[0] = a;
		row[1] = i % 7 ? v : NULL;
		rc |= tl_fake_insert(e->src, "s", "keyed", row);
		snprintf(a, sizeof(a), "%d", (i - 1) / 10 + 1);
		snprintf(b, sizeof(b), "%d", (i - 1) % 10 + 1);
		row[0] = a;
		row[1] = b;
		row[2] = v;
		rc |= tl_fake_insert(e->src, "s", "comp", row);
		snprintf(a, sizeof(a), "%d", i);
		row[0] = a;
		row[1] = v;
		rc |= tl_fake_insert(e->src, "s", "nuk", row);
		snprintf(a, sizeof(a), "%d", i % (n / 3 + 1));
		row[0] = i % 9 ? a : NULL;
		rc |= tl_fake_insert(e->src, "s", "nokey", row);
		snprintf(a, sizeof(a), "k%04d", i);
		snprintf(b, sizeof(b), "%d", i * 3);
		row[0] = a;
		row[1] = b;
		rc |= tl_fake_insert(e->src, "s", "tkey", row);
	}
	for (i = 0; i <= n / 8 && !rc; i++) {
		const char *row[2] = {NULL, v};
		snprintf(v, sizeof(v), "null%d", i);
		rc |= tl_fake_insert(e->src, "s", "nuk", row);
	}
	return rc ? -1 : 0;
}

int ft_empty_target(ft_env *e, int n, const char *extra)
{
	char ini[2048];
	size_t i;

	if (ft_setup(e) || ft_standard_tables(e, n))
		return -1;
	for (i = 0; ft_tables[i]; i++)
		if (tl_fake_drop_table(e->dst, "s", ft_tables[i]) != 0)
			return -1;
	snprintf(ini, sizeof(ini), "[extractor]\ndb_type=fakeddl\n[sinker]\ndb_type=fakeddl\n%s", extra ? extra : "");
	return ft_task(e, ini) ? 0 : -1;
}

const char *ft_task(ft_env *e, const char *extra)
{
	FILE *f;

	snprintf(e->ini, sizeof(e->ini), "%s/task.ini", e->dir);
	f = fopen(e->ini, "w");
	if (!f)
		return NULL;
	fprintf(f,
		"[global]\ntask_id=t1\n"
		"[extractor]\ndb_type=fake\nurl=%s\nbatch_size=7\n"
		"[sinker]\ndb_type=fake\nurl=%s\n"
		"[filter]\ndo_dbs=s\n"
		"[pipeline]\ncheckpoint_interval_secs=0\n"
		"[runtime]\nlog_dir=%s/logs\n"
		"[resumer]\nresume_type=from_log\n%s",
		e->src_url, e->dst_url, e->dir, extra ? extra : "");
	if (fclose(f) != 0)
		return NULL;
	return e->ini;
}

int ft_run(ft_env *e, tl_fault *fault, tl_error *err)
{
	tl_config *cfg = NULL;
	tl_migrate_opts opts;
	int rc;

	memset(&opts, 0, sizeof(opts));
	opts.registry = &tl_fake_registry;
	opts.fault = fault;
	opts.retry_base_secs = 0.002; /* retries after transient failures wait milliseconds, not seconds */
	opts.idle_nap_secs = 0.002;   /* and so does a worker with no table left while others copy */
	if ((rc = tl_config_load_with(e->ini, &tl_fake_registry, &cfg, err)))
		return rc;
	rc = tl_migrate_run(cfg, &opts, err);
	tl_config_free(cfg);
	return rc;
}

int ft_run_opts(ft_env *e, tl_migrate_opts *opts, tl_error *err)
{
	tl_config *cfg = NULL;
	int rc;

	opts->registry = &tl_fake_registry;
	if ((rc = tl_config_load_with(e->ini, &tl_fake_registry, &cfg, err)))
		return rc;
	rc = tl_migrate_run(cfg, opts, err);
	tl_config_free(cfg);
	return rc;
}

int ft_run_worker(ft_env *e, const char *worker, volatile sig_atomic_t *stop, tl_error *err)
{
	tl_config *cfg = NULL;
	tl_migrate_opts opts;
	char *dir;
	size_t n;
	int rc;

	memset(&opts, 0, sizeof(opts));
	opts.registry = &tl_fake_registry;
	opts.worker = worker;
	opts.stop = stop;
	if ((rc = tl_config_load_with(e->ini, &tl_fake_registry, &cfg, err)))
		return rc;
	/* as `run --worker` does: the worker's text logs in <log_dir>/<worker> */
	n = strlen(cfg->log_dir) + strlen(worker) + 2;
	if (!(dir = malloc(n))) {
		tl_config_free(cfg);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
	snprintf(dir, n, "%s/%s", cfg->log_dir, worker);
	free(cfg->log_dir);
	cfg->log_dir = dir;
	rc = tl_migrate_run(cfg, &opts, err);
	tl_config_free(cfg);
	return rc;
}

int ft_plan(ft_env *e, tl_plan *out, tl_config **cfg_out, tl_error *err)
{
	tl_migrate_opts opts;
	tl_migrate_env env;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&opts, 0, sizeof(opts));
	memset(&env, 0, sizeof(env));
	opts.registry = &tl_fake_registry;
	*cfg_out = NULL;
	if ((rc = tl_config_load_with(e->ini, &tl_fake_registry, cfg_out, err)) ||
	    (rc = tl_migrate_env_bind(&env, *cfg_out, &opts, err)) ||
	    (rc = tl_migrate__mkdir_p((*cfg_out)->log_dir, err)) ||
	    (rc = tl_store_open(&env.store, (*cfg_out)->store_path, 0, err)) ||
	    (rc = tl_migrate_env_ape_open(&env, err)))
		goto cleanup;
	rc = tl_migrate_plan(&env, TL_PLAN_IMPORT, out, err);
cleanup:
	tl_migrate_env_release(&env);
	if (rc) {
		tl_config_free(*cfg_out);
		*cfg_out = NULL;
	}
	return rc;
}

void ft_plan_free(tl_plan *p, tl_config *cfg)
{
	tl_driver d = {&tl_fake_driver, NULL, NULL};

	tl_plan_clear(p, &d);
	tl_config_free(cfg);
}

int ft_all_same(ft_env *e, char *why, size_t n)
{
	size_t i;

	for (i = 0; ft_tables[i]; i++)
		if (!tl_fake_same_rows(e->src, e->dst, "s", ft_tables[i], why, n))
			return 0;
	return 1;
}

const char *ft_write(ft_env *e, const char *name, const char *text)
{
	static char path[4300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", e->dir, name);
	if (!(f = fopen(path, "w")))
		return NULL;
	fputs(text, f);
	return fclose(f) == 0 ? path : NULL;
}

int ft_setup_routed(ft_env *e, int rows, const char *extra)
{
	char id[16], a[16], b[16];
	int i, rc = 0;

	if (ft_setup(e) || tl_fake_add_table(e->src, "s", "r", "id int key, a text, b int null, c text null") ||
	    tl_fake_add_table(e->dst, "d", "rr", "id int key, aa text null, b int null, c text null"))
		return -1;
	for (i = 1; i <= rows && !rc; i++) {
		const char *row[4] = {id, a, b, "secret"};
		snprintf(id, sizeof(id), "%d", i);
		snprintf(a, sizeof(a), "a%d", i);
		snprintf(b, sizeof(b), "%d", i * 2);
		rc = tl_fake_insert(e->src, "s", "r", row);
	}
	return rc || !ft_task(e, extra) ? -1 : 0;
}

int ft_routed_same(ft_env *e, int rows, char *why, size_t n)
{
	tl_fake_db *want = tl_fake_db_new("want_rr");
	char id[16], a[16], b[16];
	int i, ok;

	if (!want || tl_fake_add_table(want, "d", "rr", "id int key, aa text null, b int null, c text null"))
		return 0;
	for (i = 1; i <= rows; i++) {
		const char *row[4] = {id, a, b, NULL};
		snprintf(id, sizeof(id), "%d", i);
		snprintf(a, sizeof(a), "a%d", i);
		snprintf(b, sizeof(b), "%d", i * 2);
		if (tl_fake_insert(want, "d", "rr", row))
			return 0;
	}
	ok = tl_fake_same_rows(want, e->dst, "d", "rr", why, n);
	tl_fake_db_free(want);
	return ok;
}
