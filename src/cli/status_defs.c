/*
 * status_defs.c - the definition part of `tideline status` (cmd_status.c, docs/schema.md):
 * from the store's definition steps, each table's phase (creating, copying, indexing,
 * done) and the steps still to run per task (keys and indexes, post-data objects by
 * kind, final values, failures with their error).
 *
 * Read in one pass over the task's steps (tl_store_foreach_def_step), grouped in memory
 * by table; a store older than the definition steps has none (status then shows no
 * phase, as before).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/status_defs.h"
#include "tideline/buf.h"

struct dtable {
	char *task_id, *schema, *tb;
	int has_table;     /* a "table" step of its own */
	int table_waits;   /* ... not yet made (pending, running, failed) */
	size_t keys_left;  /* table-post steps not done */
};

struct dkind {
	const char *kind; /* static kind word */
	size_t n;
};

struct dtask {
	char *task_id;
	size_t steps, done, pre_left, keys_left, post_left, final_left, failed;
	struct dkind post[32]; /* post-data steps left, by kind */
	size_t npost;
	tl_buf failures;       /* "id: error" lines (the first few) */
	size_t nfailures;
};

struct tl_status_defs {
	struct dtable *t;
	size_t nt, capt;
	struct dtask *k;
	size_t nk, capk;
};

static int left_state(const char *state)
{
	return strcmp(state, "pending") == 0 || strcmp(state, "running") == 0 || strcmp(state, "failed") == 0;
}

static struct dtask *task_of(tl_status_defs *d, const char *task_id, tl_error *err)
{
	struct dtask *k;

	if (d->nk && strcmp(d->k[d->nk - 1].task_id, task_id) == 0)
		return &d->k[d->nk - 1];
	if (d->nk == d->capk) {
		size_t cap = d->capk ? 2 * d->capk : 4;
		struct dtask *nv = realloc(d->k, cap * sizeof(*nv));
		if (!nv)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading definition steps"), NULL;
		d->k = nv;
		d->capk = cap;
	}
	k = &d->k[d->nk];
	memset(k, 0, sizeof(*k));
	tl_buf_init(&k->failures, 0);
	if (!(k->task_id = tl_strdup(task_id)))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading definition steps"), NULL;
	d->nk++;
	return k;
}

/* The table of a step's owner (steps come ordered by task then list order: search back). */
static struct dtable *table_of(tl_status_defs *d, const char *task_id, const char *schema, const char *tb,
			       tl_error *err)
{
	struct dtable *t;
	size_t i;

	for (i = d->nt; i-- > 0;) {
		t = &d->t[i];
		if (strcmp(t->task_id, task_id) != 0)
			break;
		if (strcmp(t->schema, schema) == 0 && strcmp(t->tb, tb) == 0)
			return t;
	}
	if (d->nt == d->capt) {
		size_t cap = d->capt ? 2 * d->capt : 64;
		struct dtable *nv = realloc(d->t, cap * sizeof(*nv));
		if (!nv)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading definition steps"), NULL;
		d->t = nv;
		d->capt = cap;
	}
	t = &d->t[d->nt];
	memset(t, 0, sizeof(*t));
	t->task_id = tl_strdup(task_id);
	t->schema = tl_strdup(schema);
	t->tb = tl_strdup(tb);
	if (!t->task_id || !t->schema || !t->tb) {
		free(t->task_id);
		free(t->schema);
		free(t->tb);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading definition steps"), NULL;
	}
	d->nt++;
	return t;
}

static int on_step(void *ctx, const char *task_id, const tl_store_def_step *s, tl_error *err)
{
	tl_status_defs *d = ctx;
	struct dtask *k = task_of(d, task_id, err);
	int left = left_state(s->state), ph_pre = strcmp(s->phase, "pre-data") == 0;
	int ph_keys = strcmp(s->phase, "table-post") == 0, ph_post = strcmp(s->phase, "post-data") == 0;
	size_t i;

	if (!k)
		return err ? err->code : TL_ERR_NOMEM;
	k->steps++;
	k->done += !left;
	k->pre_left += left && ph_pre;
	k->keys_left += left && ph_keys;
	k->post_left += left && ph_post;
	k->final_left += left && strcmp(s->phase, "final") == 0;
	if (strcmp(s->state, "failed") == 0) {
		k->failed++;
		if (k->nfailures++ < 5 &&
		    tl_buf_printf(&k->failures, err, "  failed: %s: %s\n", s->step_id, s->error ? s->error : "?") != 0)
			return TL_ERR_NOMEM;
	}
	if (left && ph_post) {
		for (i = 0; i < k->npost && strcmp(k->post[i].kind, s->kind) != 0; i++)
			;
		if (i == k->npost && k->npost < sizeof(k->post) / sizeof(k->post[0])) {
			/* s->kind is static here (on_step_copy) */
			k->post[k->npost].kind = s->kind;
			k->post[k->npost++].n = 0;
		}
		if (i < k->npost)
			k->post[i].n++;
	}
	if (s->owner_schema && s->owner_tb) {
		struct dtable *t = table_of(d, task_id, s->owner_schema, s->owner_tb, err);
		if (!t)
			return err ? err->code : TL_ERR_NOMEM;
		if (strcmp(s->kind, "table") == 0 || strcmp(s->kind, "collection") == 0) {
			if (!t->has_table || left)
				t->table_waits = left;
			t->has_table = 1;
		}
		t->keys_left += left && ph_keys;
	}
	return 0;
}

/* The kind words of the listing are lent for one callback: keep copies. */
static const char *const kind_words[] = {
	"schema", "database", "extension", "type", "function", "procedure", "sequence", "table", "collection",
	"sequence owner", "primary key", "unique", "exclusion", "index", "indexes", "index attach", "check",
	"foreign key", "trigger", "view", "materialized view", "refresh", "statistics", "event", "comment",
	"sequence value", "auto_increment",
};

static int on_step_copy(void *ctx, const char *task_id, const tl_store_def_step *s, tl_error *err)
{
	tl_store_def_step c = *s;
	size_t i;

	for (i = 0; i < sizeof(kind_words) / sizeof(kind_words[0]); i++)
		if (strcmp(s->kind, kind_words[i]) == 0) {
			c.kind = kind_words[i];
			break;
		}
	if (i == sizeof(kind_words) / sizeof(kind_words[0]))
		c.kind = "other";
	return on_step(ctx, task_id, &c, err);
}

static int cmp_table(const void *a, const void *b)
{
	const struct dtable *x = a, *y = b;
	int c = strcmp(x->task_id, y->task_id);

	if (!c)
		c = strcmp(x->schema, y->schema);
	return c ? c : strcmp(x->tb, y->tb);
}

int tl_status_defs_load(tl_store *s, const char *task_id, tl_status_defs **out, tl_error *err)
{
	tl_status_defs *d = calloc(1, sizeof(*d));
	tl_error e = TL_ERROR_INIT;

	*out = NULL;
	if (!d)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	/* a store from before the definition steps (read-only status never upgrades it) has
	 * no such table: it has no definitions to show */
	if (tl_store_foreach_def_step(s, task_id, on_step_copy, d, &e) != 0) {
		tl_status_defs_free(d);
		if (e.code == TL_ERR_NOMEM)
			return tl_error_set(err, TL_ERR_NOMEM, "%s", e.message);
		return 0;
	}
	if (d->nt)
		qsort(d->t, d->nt, sizeof(*d->t), cmp_table);
	*out = d;
	return 0;
}

void tl_status_defs_free(tl_status_defs *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nt; i++) {
		free(d->t[i].task_id);
		free(d->t[i].schema);
		free(d->t[i].tb);
	}
	for (i = 0; i < d->nk; i++) {
		free(d->k[i].task_id);
		tl_buf_release(&d->k[i].failures);
	}
	free(d->t);
	free(d->k);
	free(d);
}

static const struct dtable *find_table(const tl_status_defs *d, const char *task_id, const char *schema,
				       const char *tb)
{
	struct dtable key;

	if (!d || !d->nt)
		return NULL;
	key.task_id = (char *)task_id;
	key.schema = (char *)schema;
	key.tb = (char *)tb;
	return bsearch(&key, d->t, d->nt, sizeof(*d->t), cmp_table);
}

static const struct dtask *find_task(const tl_status_defs *d, const char *task_id)
{
	size_t i;

	for (i = 0; d && i < d->nk; i++)
		if (strcmp(d->k[i].task_id, task_id) == 0)
			return &d->k[i];
	return NULL;
}

const char *tl_status_defs_phase(const tl_status_defs *d, const char *task_id, const char *schema, const char *tb,
				 const char *state, int64_t *keys_left)
{
	const struct dtable *t = find_table(d, task_id, schema, tb);
	int finished = state && strcmp(state, "finished") == 0;

	*keys_left = t ? (int64_t)t->keys_left : -1;
	if (!find_task(d, task_id))
		return NULL;
	if (t && t->has_table && t->table_waits && !finished)
		return "creating";
	if (finished)
		return t && t->keys_left ? "indexing" : "done";
	if (!state || strcmp(state, "pending") == 0)
		return "waiting";
	return "copying";
}

int tl_status_defs_foreach_table(const tl_status_defs *d, const char *task_id,
				 int (*fn)(void *ctx, const char *task_id, const char *schema, const char *tb,
					   tl_error *err),
				 void *ctx, tl_error *err)
{
	size_t i;
	int rc;

	for (i = 0; d && i < d->nt; i++)
		if ((!task_id || strcmp(d->t[i].task_id, task_id) == 0) &&
		    (rc = fn(ctx, d->t[i].task_id, d->t[i].schema, d->t[i].tb, err)))
			return rc;
	return 0;
}

void tl_status_defs_print(const tl_status_defs *d, const char *task_id)
{
	const struct dtask *k = find_task(d, task_id);
	size_t i;

	if (!k)
		return;
	printf("definitions: %zu of %zu steps done; left: %zu before the rows, %zu keys and indexes, %zu post-data", k->done,
	       k->steps, k->pre_left, k->keys_left, k->post_left);
	for (i = 0; i < k->npost; i++)
		printf("%s%zu %s", i ? ", " : " (", k->post[i].n, k->post[i].kind);
	printf("%s, %zu final values; %zu failed\n", k->npost ? ")" : "", k->final_left, k->failed);
	if (k->failures.len)
		fputs(tl_buf_cstr(&k->failures), stdout);
}

int tl_status_defs_json(const tl_status_defs *d, const char *task_id, cJSON *task)
{
	const struct dtask *k = find_task(d, task_id);
	cJSON *o, *post;
	size_t i;

	if (!k)
		return 1;
	if (!(o = cJSON_AddObjectToObject(task, "definitions")) || !cJSON_AddNumberToObject(o, "steps", (double)k->steps) ||
	    !cJSON_AddNumberToObject(o, "done", (double)k->done) ||
	    !cJSON_AddNumberToObject(o, "pre_data_left", (double)k->pre_left) ||
	    !cJSON_AddNumberToObject(o, "keys_left", (double)k->keys_left) ||
	    !cJSON_AddNumberToObject(o, "post_data_left", (double)k->post_left) ||
	    !cJSON_AddNumberToObject(o, "final_left", (double)k->final_left) ||
	    !cJSON_AddNumberToObject(o, "failed", (double)k->failed) ||
	    !(post = cJSON_AddObjectToObject(o, "post_data_left_by_kind")))
		return 0;
	for (i = 0; i < k->npost; i++)
		if (!cJSON_AddNumberToObject(post, k->post[i].kind, (double)k->post[i].n))
			return 0;
	return 1;
}
