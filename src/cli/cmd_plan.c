/*
 * cmd_plan.c - `tideline plan TASK.ini [--store PATH] [--json] [--recopy-lost]`: what a
 * run (with the same options) would do with every selected table (skip / resume after a
 * key / start), where the record came from, why records were ignored, what the target
 * holds against the checkpoints (lost rows, and what the run does about them), whether
 * the target's commits are durable, and every definition step (create, exists, done,
 * after data) with what on the target may get in the way (docs/schema.md). The plan is
 * built by tl_migrate_plan, exactly as a
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

/* What plan says a run does with a definition step. */
static const char *def_action(const tl_def *x, const tl_schema_step *s)
{
	switch (x->state) {
	case TL_DEF_DONE: return "done";
	case TL_DEF_EXISTS:
	case TL_DEF_SKIPPED: return "exists";
	default: return s->phase == TL_PHASE_PRE_DATA ? "create" : "after data";
	}
}

/* The definition steps of plan item `item` (TL_SCHEMA_NO_OWNER: those of no table). */
static void print_defs(const tl_defs *d, size_t item, cJSON *obj)
{
	cJSON *arr = NULL;
	size_t i, skipped = 0;

	if (!d)
		return;
	if (obj)
		arr = cJSON_AddArrayToObject(obj, "definitions");
	for (i = 0; i < d->list.n; i++) {
		const tl_schema_step *s = &d->list.items[i];
		const tl_def *x = &d->d[i];
		if (s->owner != item)
			continue;
		if (arr) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "id", s->id);
			cJSON_AddStringToObject(o, "kind", tl_schema_kind_word(s->kind));
			cJSON_AddStringToObject(o, "phase", tl_schema_phase_name(s->phase));
			cJSON_AddStringToObject(o, "action", def_action(x, s));
			cJSON_AddStringToObject(o, "state", tl_def_state_name(x->state));
			cJSON_AddItemToArray(arr, o);
			continue;
		}
		/* a table that existed: one line says its definitions are left alone */
		if (x->state == TL_DEF_SKIPPED) {
			skipped++;
			continue;
		}
		printf("       %-10s %-10s %s\n", def_action(x, s), tl_schema_phase_name(s->phase), s->id);
	}
	if (skipped)
		printf("       %-10s %-10s %zu definition%s of a table that exists on the target, left as they are\n",
		       "exists", "", skipped, skipped == 1 ? "" : "s");
}

static void print_item(const tl_plan *p, size_t idx, cJSON *arr)
{
	const tl_plan_item *it = &p->items[idx];
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
		if (p->defs) {
			cJSON_AddStringToObject(o, "target", it->create ? "create" : it->ours ? "created" : "exists");
			print_defs(p->defs, idx, o);
		}
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
		printf("%-6s %s  [%s mode, ~%lld rows%s]%s%s\n", "start", nm, tl_plan_mode_name(it->mode),
		       (long long)it->est_rows, it->create ? ", table created first" : "", it->ignored ? "  " : "",
		       it->ignored ? it->ignored : "");
	print_defs(p->defs, idx, NULL);
}

/* The definitions of no table (schemas, types, views, ...), and what may get in the way. */
static void print_other_defs(const tl_plan *p, cJSON *arr)
{
	const tl_defs *d = p->defs;
	size_t i;

	if (!d)
		return;
	if (arr) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "action", "define");
		cJSON_AddBoolToObject(o, "foreign_key_checks", d->fk_checks);
		cJSON_AddBoolToObject(o, "triggers_fire", d->triggers);
		print_defs(d, TL_SCHEMA_NO_OWNER, o);
		cJSON_AddItemToArray(arr, o);
		for (i = 0; i < d->nnotes; i++) {
			cJSON *w = cJSON_CreateObject();
			cJSON_AddStringToObject(w, "action", "warn");
			cJSON_AddStringToObject(w, "warning", d->notes[i]);
			cJSON_AddItemToArray(arr, w);
		}
		return;
	}
	printf("%-6s definitions of no single table; target sessions write rows %s\n", "define",
	       !d->fk_checks && !d->triggers ? "without foreign key checks and triggers"
	       : !d->fk_checks		   ? "without foreign key checks (triggers fire)"
					   : "with foreign key checks and triggers");
	print_defs(d, TL_SCHEMA_NO_OWNER, NULL);
	for (i = 0; i < d->nnotes; i++)
		printf("%-6s %s\n", "WARN", d->notes[i]);
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
	tl_plan p = {0, NULL, NULL, NULL};
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
		print_item(&p, (size_t)i, arr);
	print_other_defs(&p, arr);
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
