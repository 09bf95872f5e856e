/*
 * cmd_plan.c - `tideline plan TASK.ini [--store PATH] [--json] [--recopy-lost]`: what a
 * run (with the same options) would do with every selected table (skip / resume after a
 * key / start), where the record came from, why records were ignored, what the target
 * holds against the checkpoints (lost rows, and what the run does about them) and
 * whether the target's commits are durable. The plan is built by tl_migrate_plan, exactly as a
 * run builds it, but on a private copy of the store (snapshot_store: a consistent
 * snapshot even while a run writes), so the real store, logs and servers are left as
 * they are.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "migrate/migrate.h"

static void print_item(const tl_plan_item *it, cJSON *arr)
{
	char key[1024] = "", nm[1200];
	size_t i;
	int routed = it->dst_schema && it->dst_tb && (strcmp(it->dst_schema, it->schema) || strcmp(it->dst_tb, it->tb));

	if (it->action == TL_ACT_RESUME && it->after.n) {
		size_t off = 0;
		off += (size_t)snprintf(key + off, sizeof(key) - off, "(");
		for (i = 0; i < it->after.n && off < sizeof(key); i++)
			off += (size_t)snprintf(key + off, sizeof(key) - off, "%s%s", i ? "," : "", it->after.cols[i]);
		if (off < sizeof(key))
			off += (size_t)snprintf(key + off, sizeof(key) - off, ")=(");
		for (i = 0; i < it->after.n && off < sizeof(key); i++)
			off += (size_t)snprintf(key + off, sizeof(key) - off, "%s%s", i ? "," : "",
						it->after.vals[i] ? it->after.vals[i] : "NULL");
		if (off < sizeof(key))
			snprintf(key + off, sizeof(key) - off, ")");
	} else if (it->action == TL_ACT_RESUME && it->split_after) {
		snprintf(key, sizeof(key), "(%s)=(%s)", tl_table_part(it->table)->name, it->split_after);
	}
	if (arr) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "schema", it->schema);
		cJSON_AddStringToObject(o, "tb", it->tb);
		if (routed) {
			cJSON_AddStringToObject(o, "target_schema", it->dst_schema);
			cJSON_AddStringToObject(o, "target_tb", it->dst_tb);
		}
		cJSON_AddStringToObject(o, "action", tl_plan_action_name(it->action));
		if (it->action != TL_ACT_SKIP)
			cJSON_AddStringToObject(o, "mode", tl_plan_mode_name(it->mode));
		if (key[0])
			cJSON_AddStringToObject(o, "after", key);
		if (it->origin)
			cJSON_AddStringToObject(o, "source", it->origin);
		if (it->ignored)
			cJSON_AddStringToObject(o, "ignored", it->ignored);
		if (it->warning)
			cJSON_AddStringToObject(o, "warning", it->warning);
		cJSON_AddNumberToObject(o, "est_rows", (double)it->est_rows);
		cJSON_AddNumberToObject(o, "rows_done", (double)it->rows_done);
		cJSON_AddItemToArray(arr, o);
		return;
	}
	/* the table as the store knows it (source names), and where it goes when routed */
	if (routed)
		snprintf(nm, sizeof(nm), "%s.%s -> %s.%s", it->schema, it->tb, it->dst_schema, it->dst_tb);
	else
		snprintf(nm, sizeof(nm), "%s.%s", it->schema, it->tb);
	if (it->warning)
		printf("%-6s %s  %s\n", it->refuse ? "REFUSE" : "WARN", nm, it->warning);
	if (it->action == TL_ACT_SKIP)
		printf("%-6s %s  %s\n", "skip", nm, it->reason);
	else if (it->action == TL_ACT_RESUME)
		printf("%-6s %s  after %s  [%s mode, from %s, ~%lld rows left]\n", "resume", nm, key,
		       tl_plan_mode_name(it->mode), it->origin ? it->origin : "store",
		       (long long)(it->est_rows >= 0 && it->rows_done >= 0 && it->est_rows > it->rows_done
					   ? it->est_rows - it->rows_done
					   : it->est_rows));
	else
		printf("%-6s %s  [%s mode, ~%lld rows]%s%s\n", "start", nm, tl_plan_mode_name(it->mode),
		       (long long)it->est_rows, it->ignored ? "  " : "", it->ignored ? it->ignored : "");
}

/* Records in the store for tables the plan does not contain: say they are ignored, and why.
 * `sorted` holds the plan's items ordered by (schema, tb), so each record is one bsearch. */
struct orphan_ctx {
	const tl_plan_item **sorted;
	size_t n;
	cJSON *arr;
	char last[1024];
};

static int cmp_item_names(const char *schema, const char *tb, const tl_plan_item *it)
{
	int c = strcmp(schema, it->schema);

	return c ? c : strcmp(tb, it->tb);
}

static int cmp_items(const void *a, const void *b)
{
	const tl_plan_item *y = *(const tl_plan_item *const *)b;
	const tl_plan_item *x = *(const tl_plan_item *const *)a;

	return cmp_item_names(x->schema, x->tb, y);
}

/* bsearch key: a (schema, tb) name */
struct name_key {
	const char *schema, *tb;
};

static int key_cmp(const void *k, const void *e)
{
	const struct name_key *key = k;

	return cmp_item_names(key->schema, key->tb, *(const tl_plan_item *const *)e);
}

static int in_plan(const struct orphan_ctx *o, const char *schema, const char *tb)
{
	struct name_key key = {schema, tb};

	return o->n && bsearch(&key, o->sorted, o->n, sizeof(*o->sorted), key_cmp) != NULL;
}

static int on_record(void *vctx, const tl_store_row *row, tl_error *err)
{
	struct orphan_ctx *o = vctx;
	char key[1024];

	(void)err;
	if (in_plan(o, row->schema, row->tb))
		return 0;
	snprintf(key, sizeof(key), "%s\x1f%s", row->schema, row->tb);
	if (strcmp(key, o->last) == 0)
		return 0;
	snprintf(o->last, sizeof(o->last), "%s", key);
	if (o->arr) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "schema", row->schema);
		cJSON_AddStringToObject(j, "tb", row->tb);
		cJSON_AddStringToObject(j, "action", "ignore");
		cJSON_AddStringToObject(j, "ignored", "the record names a table that does not exist on the source or is not selected by [filter]");
		cJSON_AddStringToObject(j, "source", row->source ? row->source : "store");
		cJSON_AddItemToArray(o->arr, j);
	} else {
		printf("%-6s %s.%s  %s record from %s: the table does not exist on the source or is not selected by [filter]\n",
		       "ignore", row->schema, row->tb, row->kind, row->source ? row->source : "store");
	}
	return 0;
}

/* Prints the store's records of tables the plan does not contain. */
static int print_orphans(tl_store *store, const char *task_id, const tl_plan *p, cJSON *arr, tl_error *err)
{
	struct orphan_ctx o;
	size_t k;
	int rc;

	memset(&o, 0, sizeof(o));
	o.arr = arr;
	o.n = p->n;
	o.sorted = malloc((p->n ? p->n : 1) * sizeof(*o.sorted));
	if (!o.sorted)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	for (k = 0; k < p->n; k++)
		o.sorted[k] = &p->items[k];
	qsort(o.sorted, o.n, sizeof(*o.sorted), cmp_items);
	if (!(rc = tl_store_foreach_position(store, task_id, on_record, &o, err)))
		rc = tl_store_foreach_finished(store, task_id, on_record, &o, err);
	free(o.sorted);
	return rc;
}

/*
 * The private copy plan works on, consistent even while a run writes the store: a store
 * file is copied with VACUUM INTO (whatever its schema version), the shared PostgreSQL
 * store's rows of this task with tl_store_copy. TL_ERR_NOTFOUND when there is no store
 * yet (the plan then starts from a fresh one).
 */
static int snapshot_store(const char *store_path, const char *copy, const char *task_id, tl_error *err)
{
	tl_store *shared = NULL;
	int rc;

	if (!tl_store_is_url(store_path))
		return tl_store_backup(store_path, copy, err);
	if ((rc = tl_store_open(&shared, store_path, TL_STORE_READONLY | TL_STORE_NOCREATE, err)))
		return rc;
	rc = tl_store_copy(shared, copy, task_id, NULL, err);
	tl_store_close(shared);
	return rc;
}

static int plan(int argc, char **argv)
{
	tl_config *cfg = NULL;
	tl_error err = TL_ERROR_INIT;
	tl_migrate_opts opts;
	tl_migrate_env env;
	tl_fault *fault = NULL;
	tl_plan p = {0, NULL, NULL};
	const char *task = NULL, *store_path = NULL;
	char tmpdir[] = "/tmp/tideline-plan-XXXXXX";
	char copy[4096], side[4160];
	int json = 0, have_tmp = 0, i, rc, status = 1;
	unsigned flags = TL_PLAN_IMPORT;
	cJSON *arr = NULL;

	memset(&opts, 0, sizeof(opts));
	memset(&env, 0, sizeof(env));
	if (tl_cli_wants_help(&tl_cmd_plan, argc, argv))
		return 0;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--recopy-lost") == 0)
			flags |= TL_PLAN_RECOPY_LOST;
		else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
			store_path = argv[++i];
		else if (argv[i][0] == '-')
			return tl_cli_usage(&tl_cmd_plan, "unknown option");
		else if (!task)
			task = argv[i];
		else
			return tl_cli_usage(&tl_cmd_plan, "only one task file");
	}
	if (!task)
		return tl_cli_usage(&tl_cmd_plan, "missing TASK.ini");
	if (tl_cli_debug_hooks(&fault, &opts.trace, &err) || tl_cli_load_task(task, &cfg, NULL, &err))
		goto cleanup;
	opts.fault = fault;
	if (!store_path)
		store_path = cfg->store_path;
	if (!mkdtemp(tmpdir)) {
		tl_error_set(&err, TL_ERR_IO, "cannot create a temporary directory: %s", strerror(errno));
		goto cleanup;
	}
	have_tmp = 1;
	snprintf(copy, sizeof(copy), "%s/checkpoint.db", tmpdir);
	if ((rc = snapshot_store(store_path, copy, cfg->task_id, &err)) && rc != TL_ERR_NOTFOUND)
		goto cleanup;
	if (tl_migrate_env_bind(&env, cfg, &opts, &err) || tl_store_open(&env.store, copy, 0, &err) ||
	    tl_migrate_env_ape_open(&env, &err) || tl_migrate_plan(&env, flags, &p, &err))
		goto cleanup;
	/* what run --recopy-lost does with finished tables that lost rows (on the store's copy) */
	if ((flags & TL_PLAN_RECOPY_LOST) && tl_target_recopy(&env, &p, 0, &err))
		goto cleanup;
	if (json)
		arr = cJSON_CreateArray();
	if (p.durability_warning && json)
		fprintf(stderr, "tideline: warning: %s\n", p.durability_warning);
	else if (p.durability_warning)
		printf("%-6s %s\n", "WARN", p.durability_warning);
	for (i = 0; i < (int)p.n; i++)
		print_item(&p.items[i], arr);
	if (print_orphans(env.store, cfg->task_id, &p, arr, &err))
		goto cleanup;
	if (arr) {
		char *s = cJSON_Print(arr);
		if (s)
			printf("%s\n", s);
		free(s);
	}
	status = 0;
cleanup:
	if (status)
		status = tl_cli_fail(&err);
	cJSON_Delete(arr);
	tl_plan_clear(&p, &env.src);
	tl_migrate_env_release(&env);
	if (have_tmp) {
		unlink(copy);
		snprintf(side, sizeof(side), "%s-wal", copy);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", copy);
		unlink(side);
		rmdir(tmpdir);
	}
	tl_config_free(cfg);
	tl_fault_free(fault);
	return status;
}

const struct tl_command tl_cmd_plan = {
	"plan",
	"tideline plan TASK.ini [--store PATH] [--json] [--recopy-lost]",
	"show what a run would do with every table (skip, resume after a key, start); changes nothing",
	plan,
};
