/*
 * defs.c - the definition steps of a run (migrate.h, docs/schema.md): which steps the
 * run applies, which it finds done, which belong to tables that existed on the target,
 * and the scheduler run.c's workers take them from.
 *
 * Planning (tl_defs_plan) is three reads and one decision per step:
 *   1. schema_extract on the source for every selected table (all the plan's items, so
 *      that a table finished by an earlier run still gets its keys built);
 *   2. schema_probe on the target for every step, and the store's records of this task;
 *   3. per table: its table step found on the target and not recorded as this task's
 *      (created, or running when a run died) -> the table existed: it and what it owns
 *      are used as they are (skipped), except its counter values (FINAL), which are
 *      still set, a failure there being only a warning; otherwise the table is this
 *      task's (create / ours in the plan). Per other step: found on the target -> done
 *      (exists when it belongs to no table and this task did not create it); a step the
 *      target cannot show (a value, a comment: TL_SCHEMA_UNKNOWN) -> done when recorded
 *      done, else pending; absent or half done -> pending.
 * The probe decides over the store for what it can see, so a definition dropped on the
 * target since is made again, and a step whose record was lost in a crash is found done.
 *
 * Scheduling: PRE_DATA and TABLE_POST open together (run.c copies a table as soon as
 * its PRE_DATA steps are done: tl_defs_item_made), POST_DATA and FINAL each once the
 * phases before are finished. A step is ready when the steps of open phases it depends
 * on are applied (deps) and, for TABLE_POST, when its table's rows are in and its
 * table's PRE_DATA steps are done (a table with no rows to copy is "in" at once). Workers take ready steps in list order (tl_defs_next), apply them
 * on their own target connection (tl_defs_apply) and release their dependents.
 *
 * Records: a table step is written "running" to the store before its CREATE (so a table
 * made by a run killed right after is still known as this task's); other records are
 * buffered and written in batches (every 64 steps, every second, at the end of a phase):
 * for what the target can show the probe finds the truth again, and the rest reruns
 * harmlessly. A fleet's worker (env->fleet, run.c) writes its plan's steps only where
 * nothing is recorded (another worker may have applied them meanwhile), flushes a
 * step's record before its fleet item is done, and takes the steps other workers applied
 * as done (tl_defs_done_elsewhere).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "migrate/migrate.h"

#define NONE TL_SCHEMA_NO_OWNER
#define FLUSH_STEPS 64
#define FLUSH_SECS 1.0

/* Step indices waiting to be written to the store. */
struct tl_def_buf {
	size_t *idx;
	size_t n, cap;
	const tl_plan_item *items; /* owners' names (lent by the plan) */
	size_t nitems;
	size_t *post;              /* TABLE_POST steps grouped by owner item ... */
	size_t *post_at;           /* ... item i's are post[post_at[i] .. post_at[i + 1]) */
	unsigned char *item_ready; /* the item's rows are in */
	size_t *pre_left;          /* per item: its PRE_DATA steps not finished (it may not be copied yet) */
};

const char *tl_def_state_name(enum tl_def_state s)
{
	static const char *const names[] = {"pending", "running", "done", "exists", "skipped", "failed"};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static const char *found_name(enum tl_schema_state s)
{
	static const char *const names[] = {"absent", "present", "partial", "unknown"};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : NULL;
}

/* 64-bit FNV-1a of a step's SQL, as 16 hex digits. */
static void sql_hash(const char *sql, char out[17])
{
	uint64_t h = 1469598103934665603ull;
	const unsigned char *p = (const unsigned char *)(sql ? sql : "");

	for (; *p; p++) {
		h ^= *p;
		h *= 1099511628211ull;
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static int is_table_kind(enum tl_schema_kind k)
{
	return k == TL_SK_TABLE || k == TL_SK_COLLECTION;
}

/* The target name of a plan item ([router] db_map / tb_map: plan.c routes every item). */
static void target_name(const tl_plan_item *it, const char **schema, const char **tb)
{
	*schema = it->dst_schema ? it->dst_schema : it->schema;
	*tb = it->dst_tb ? it->dst_tb : it->tb;
}

/*
 * The source names of the plan's items and their target names (tl_migrate_targets: what
 * tl_schema_opts.targets takes). Both arrays are malloc'd, their strings lent.
 */
static int plan_names(const tl_migrate_env *env, const tl_plan *plan, tl_name **srcnames, tl_name **targets,
		      tl_error *err)
{
	size_t i;

	*targets = NULL;
	if (!(*srcnames = calloc(plan->n ? plan->n : 1, sizeof(**srcnames))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	for (i = 0; i < plan->n; i++) {
		(*srcnames)[i].schema = plan->items[i].schema;
		(*srcnames)[i].name = plan->items[i].tb;
	}
	return tl_migrate_targets(env->cfg, *srcnames, plan->n, targets, err);
}

/*
 * [filter] ignore_cols and [router] col_map change a table's columns (its write form
 * has other columns than the source table): its definition would have to be rewritten
 * (columns, keys, indexes and checks naming them), which is not done. Such a table is
 * refused when it is to be created; one that exists on the target is written as usual.
 */
static int columns_changed(const tl_plan_item *it)
{
	size_t i;

	if (!it->table || !it->wtable || it->wtable == it->table)
		return 0;
	if (it->wtable->ncols != it->table->ncols)
		return 1;
	for (i = 0; i < it->table->ncols; i++)
		if (strcmp(it->wtable->cols[i].name, it->table->cols[i].name) != 0)
			return 1;
	return 0;
}

static int refuse_changed_columns(tl_plan_item *it, tl_error *err)
{
	tl_buf b = TL_BUF_INIT;
	const char *s, *t;
	int rc;

	target_name(it, &s, &t);
	if ((rc = tl_buf_printf(&b, err,
				"[filter] ignore_cols or [router] col_map change the columns of this table, and tideline "
				"does not create a table with columns left out or renamed: create %s.%s on the target "
				"first (then only its rows are copied), or copy its columns as they are",
				s, t)))
		return rc;
	free(it->warning);
	it->warning = tl_buf_detach(&b);
	it->refuse = 1;
	return 0;
}

void tl_defs_free(tl_defs *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; d->d && i < d->list.n; i++)
		free(d->d[i].error);
	for (i = 0; d->rdeps && i < d->list.n; i++)
		free(d->rdeps[i]);
	for (i = 0; i < d->nnotes; i++)
		free(d->notes[i]);
	if (d->buf) {
		free(d->buf->idx);
		free(d->buf->post);
		free(d->buf->post_at);
		free(d->buf->item_ready);
		free(d->buf->pre_left);
		free(d->buf);
	}
	free(d->notes);
	free(d->rdeps);
	free(d->nrdeps);
	free(d->ready);
	free(d->item_table);
	free(d->d);
	tl_schema_list_clear(&d->list);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	free(d);
}

/* ---- what earlier runs recorded ---------------------------------------------------------- */

struct rec {
	char *id;
	char *hash;
	enum tl_def_state state;
	int created;
};

struct recs {
	struct rec *v;
	size_t n, cap;
};

static enum tl_def_state state_of(const char *s)
{
	static const char *const names[] = {"pending", "running", "done", "exists", "skipped", "failed"};
	size_t i;

	for (i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (enum tl_def_state)i;
	return TL_DEF_PENDING;
}

static int on_rec(void *ctx, const char *task_id, const tl_store_def_step *s, tl_error *err)
{
	struct recs *r = ctx;
	struct rec *x;

	(void)task_id;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 256;
		struct rec *nv = realloc(r->v, cap * sizeof(*nv));
		if (!nv)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading definition steps");
		r->v = nv;
		r->cap = cap;
	}
	x = &r->v[r->n];
	x->id = tl_strdup(s->step_id);
	x->hash = s->sql_hash ? tl_strdup(s->sql_hash) : NULL;
	x->state = state_of(s->state);
	x->created = s->created;
	if (!x->id || (s->sql_hash && !x->hash)) {
		free(x->id);
		free(x->hash);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading definition steps");
	}
	r->n++;
	return 0;
}

static int cmp_rec(const void *a, const void *b)
{
	return strcmp(((const struct rec *)a)->id, ((const struct rec *)b)->id);
}

static const struct rec *find_rec(const struct recs *r, const char *id)
{
	struct rec key;

	key.id = (char *)id;
	return r->n ? bsearch(&key, r->v, r->n, sizeof(*r->v), cmp_rec) : NULL;
}

static void recs_clear(struct recs *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->v[i].id);
		free(r->v[i].hash);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* ---- planning ------------------------------------------------------------------------------- */

static int add_note(tl_defs *d, tl_error *err, const char *fmt, ...) TL_PRINTF(3, 4);

static int add_note(tl_defs *d, tl_error *err, const char *fmt, ...)
{
	tl_buf b = TL_BUF_INIT;
	char **nv;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = tl_buf_vprintf(&b, err, fmt, ap);
	va_end(ap);
	if (rc)
		return rc;
	nv = realloc(d->notes, (d->nnotes + 1) * sizeof(*nv));
	if (!nv) {
		tl_buf_release(&b);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
	d->notes = nv;
	d->notes[d->nnotes++] = tl_buf_detach(&b);
	return 0;
}

/*
 * Objects on tables that existed on the target which can get in the way of the load:
 * foreign keys checked while rows arrive (a child row before its parent fails) and
 * triggers that fire for every copied row. Read from the target itself with
 * schema_extract; an answer the driver cannot give is a note, not a failure.
 */
static int check_existing(const tl_migrate_env *env, tl_conn *dst, tl_defs *d, const tl_plan *plan, const size_t *pre,
			  size_t npre, tl_error *err)
{
	tl_schema_opts opts = TL_SCHEMA_OPTS_INIT;
	tl_schema_list l = TL_SCHEMA_LIST_INIT;
	tl_name *names = NULL;
	tl_error e = TL_ERROR_INIT;
	size_t i;
	int rc = 0;

	if (npre == 0 || (!d->fk_checks && !d->triggers))
		return 0;
	if (!(names = calloc(npre, sizeof(*names))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	for (i = 0; i < npre; i++) {
		const char *s, *t;
		target_name(&plan->items[pre[i]], &s, &t);
		names[i].schema = (char *)s;
		names[i].name = (char *)t;
	}
	opts.structures = (d->fk_checks ? TL_ST_CONSTRAINT : 0) | (d->triggers ? TL_ST_TRIGGER : 0);
	opts.phases = 1u << TL_PHASE_POST_DATA;
	if (tl_driver_schema_extract(&env->dst, dst, names, npre, &opts, &l, &e) != 0) {
		rc = add_note(d, err, "could not read the foreign keys and triggers of the tables that exist on the target "
				      "(%s): they are not checked",
			      e.message);
		goto cleanup;
	}
	for (i = 0; i < l.n && !rc; i++) {
		const tl_schema_step *s = &l.items[i];
		if (s->kind == TL_SK_FOREIGN_KEY && d->fk_checks)
			rc = add_note(d, err,
				      "%s on %s.%s (the table exists on the target) is checked while rows are loaded: a row "
				      "copied before its parent row fails. Run as a user that may set "
				      "session_replication_role (a superuser) with [sinker] disable_foreign_key_checks=true "
				      "(the default), or drop the constraint before the copy and add it again after: %s",
				      s->id, s->schema ? s->schema : "", s->table ? s->table : "", s->sql);
		else if (s->kind == TL_SK_TRIGGER && d->triggers)
			rc = add_note(d, err,
				      "%s on %s.%s (the table exists on the target) fires for every copied row: disable or "
				      "drop it for the copy if it must not",
				      s->id, s->schema ? s->schema : "", s->table ? s->table : "");
	}
cleanup:
	tl_schema_list_clear(&l);
	free(names);
	return rc;
}

/* The store record of one step as it stands. */
static void def_record(const tl_defs *d, size_t i, tl_store_def_step *out)
{
	const tl_schema_step *s = &d->list.items[i];
	const tl_def *x = &d->d[i];
	const struct tl_def_buf *b = d->buf;

	memset(out, 0, sizeof(*out));
	out->step_id = s->id;
	out->ord = (int64_t)i;
	out->kind = tl_schema_kind_word(s->kind);
	out->phase = tl_schema_phase_name(s->phase);
	out->level = (int)s->level;
	out->schema = s->schema;
	out->tb = s->table;
	out->name = s->name;
	if (s->owner != NONE && s->owner < b->nitems) {
		out->owner_schema = b->items[s->owner].schema;
		out->owner_tb = b->items[s->owner].tb;
	}
	out->state = tl_def_state_name(x->state);
	out->found = x->state == TL_DEF_PENDING ? NULL : found_name(x->found);
	out->created = x->created;
	out->sql_hash = x->hash;
	out->error = x->error;
	out->seconds = x->seconds;
}

/* Dependents of each step within its phase, and TABLE_POST steps grouped by table. */
static int index_steps(tl_defs *d, size_t nitems, tl_error *err)
{
	struct tl_def_buf *b = d->buf;
	size_t i, k, n = d->list.n;

	d->rdeps = calloc(n ? n : 1, sizeof(*d->rdeps));
	d->nrdeps = calloc(n ? n : 1, sizeof(*d->nrdeps));
	d->ready = calloc(n ? n : 1, sizeof(*d->ready));
	b->post_at = calloc(nitems + 2, sizeof(*b->post_at));
	b->post = calloc(n ? n : 1, sizeof(*b->post));
	b->item_ready = calloc(nitems ? nitems : 1, 1);
	b->pre_left = calloc(nitems ? nitems : 1, sizeof(*b->pre_left));
	if (!d->rdeps || !d->nrdeps || !d->ready || !b->post_at || !b->post || !b->item_ready || !b->pre_left)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		const tl_schema_step *s = &d->list.items[i];
		for (k = 0; k < s->ndeps; k++) {
			size_t j = s->deps[k];
			size_t *nv;
			/* every phase's dependents: PRE_DATA and TABLE_POST are open together */
			if (j >= n)
				continue;
			nv = realloc(d->rdeps[j], (d->nrdeps[j] + 1) * sizeof(*nv));
			if (!nv)
				return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
			d->rdeps[j] = nv;
			nv[d->nrdeps[j]++] = i;
		}
		if (s->phase == TL_PHASE_TABLE_POST && s->owner != NONE && s->owner < nitems)
			b->post_at[s->owner + 2]++;
	}
	/* counting sort: post_at[i + 1] is where item i's run starts while filling */
	for (i = 0; i < nitems; i++)
		b->post_at[i + 2] += b->post_at[i + 1];
	for (i = 0; i < n; i++) {
		const tl_schema_step *s = &d->list.items[i];
		if (s->phase == TL_PHASE_TABLE_POST && s->owner != NONE && s->owner < nitems)
			b->post[b->post_at[s->owner + 1]++] = i;
	}
	return 0;
}

/* Decides every step's state (the rules at the top of this file); marks the plan's items. */
static int decide(const tl_migrate_env *env, tl_defs *d, tl_plan *plan, const enum tl_schema_state *probe,
		  const struct recs *recs, size_t **pre_out, size_t *npre_out, tl_error *err)
{
	unsigned char *existed = calloc(plan->n ? plan->n : 1, 1);
	size_t *pre = calloc(plan->n ? plan->n : 1, sizeof(*pre));
	size_t i, o, npre = 0, changed = 0;
	const char *changed_id = NULL;
	int rc;

	if (!existed || !pre) {
		free(existed);
		free(pre);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
	for (o = 0; o < plan->n; o++) {
		size_t t = d->item_table[o];
		const struct rec *r;
		tl_def *x;

		if (t == NONE)
			continue;
		x = &d->d[t];
		r = find_rec(recs, d->list.items[t].id);
		x->created = r && r->created;
		if (probe[t] == TL_SCHEMA_PRESENT && !(r && (r->created || r->state == TL_DEF_RUNNING))) {
			x->state = TL_DEF_EXISTS;
			existed[o] = 1;
			pre[npre++] = o;
			continue;
		}
		plan->items[o].ours = 1;
		if (probe[t] == TL_SCHEMA_PRESENT) {
			x->state = TL_DEF_DONE;
			x->created = 1;
		} else {
			x->state = TL_DEF_PENDING;
			plan->items[o].create = 1;
			if (columns_changed(&plan->items[o]) && (rc = refuse_changed_columns(&plan->items[o], err))) {
				free(existed);
				free(pre);
				return rc;
			}
		}
	}
	for (i = 0; i < d->list.n; i++) {
		const tl_schema_step *s = &d->list.items[i];
		const struct rec *r = find_rec(recs, s->id);
		tl_def *x = &d->d[i];

		x->found = probe[i];
		x->seconds = -1;
		sql_hash(s->sql, x->hash);
		if (r && r->hash && strcmp(r->hash, x->hash) != 0 && r->state == TL_DEF_DONE) {
			changed++;
			changed_id = s->id;
		}
		o = s->owner;
		if (o != NONE && o < plan->n && d->item_table[o] == i)
			continue; /* a table step: decided above */
		x->created = r && r->created;
		if (o != NONE && o < plan->n && existed[o]) {
			if (s->phase == TL_PHASE_FINAL) {
				x->state = TL_DEF_PENDING;
				x->tolerant = 1;
			} else {
				x->state = TL_DEF_SKIPPED;
			}
			continue;
		}
		if (probe[i] == TL_SCHEMA_UNKNOWN)
			x->state = r && r->state == TL_DEF_DONE ? TL_DEF_DONE : TL_DEF_PENDING;
		else if (probe[i] == TL_SCHEMA_PRESENT)
			/* a step this task was applying when a run failed made it, most likely */
			x->state = o != NONE || x->created ||
					   (r && (r->state == TL_DEF_RUNNING || r->state == TL_DEF_FAILED))
				   ? TL_DEF_DONE
				   : TL_DEF_EXISTS;
		else
			x->state = TL_DEF_PENDING;
	}
	for (i = 0; i < d->list.n; i++)
		if (d->d[i].state == TL_DEF_DONE)
			d->stats.done_before++;
	if (changed)
		tl_log(env->log, TL_LOG_WARN,
		       "%zu definition%s changed on the source since an earlier run of this task created them on the target "
		       "(e.g. %s); the target keeps what was created then",
		       changed, changed == 1 ? "" : "s", changed_id);
	free(existed);
	*pre_out = pre;
	*npre_out = npre;
	return 0;
}

int tl_defs_plan(const tl_migrate_env *env, tl_conn *src, tl_conn *dst, tl_plan *plan, int record, tl_error *err)
{
	const tl_config *cfg = env->cfg;
	tl_schema_opts opts = TL_SCHEMA_OPTS_INIT;
	tl_name *srcnames = NULL, *targets = NULL;
	enum tl_schema_state *probe = NULL;
	struct recs recs = {NULL, 0, 0};
	tl_store_def_step *rows = NULL;
	size_t *pre = NULL, npre = 0, i;
	tl_defs *d = NULL;
	int rc = 0;

	/* a check task compares rows: it creates nothing, and plans nothing to create */
	if (!cfg->create_schema || cfg->sink_type == TL_SINK_CHECK || !(env->dst.ops->caps & TL_CAP_SCHEMA) ||
	    plan->n == 0)
		return 0;
	if (!(d = calloc(1, sizeof(*d))) || !(d->buf = calloc(1, sizeof(*d->buf)))) {
		free(d);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	d->buf->items = plan->items;
	d->buf->nitems = plan->n;
	/* definitions are created under the names the rows are written to ([router]) */
	if ((rc = plan_names(env, plan, &srcnames, &targets, err)))
		goto cleanup;
	if (!(d->item_table = malloc(plan->n * sizeof(*d->item_table)))) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < plan->n; i++)
		d->item_table[i] = NONE;
	opts.structures = cfg->structures;
	opts.targets = targets;
	if ((rc = tl_driver_schema_extract(&env->src, src, srcnames, plan->n, &opts, &d->list, err))) {
		tl_error_prefix(err, "reading the definitions of the selected tables");
		goto cleanup;
	}
	for (i = 0; i < d->list.n; i++) {
		const tl_schema_step *s = &d->list.items[i];
		if (is_table_kind(s->kind) && s->owner != NONE && s->owner < plan->n && s->schema && s->name &&
		    strcmp(s->schema, targets[s->owner].schema) == 0 && strcmp(s->name, targets[s->owner].name) == 0)
			d->item_table[s->owner] = i;
	}
	d->d = calloc(d->list.n ? d->list.n : 1, sizeof(*d->d));
	probe = calloc(d->list.n ? d->list.n : 1, sizeof(*probe));
	if (!d->d || !probe) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	if (d->list.n && (rc = tl_driver_schema_probe(&env->dst, dst, d->list.items, d->list.n, probe, err))) {
		tl_error_prefix(err, "looking for the definitions on the target");
		goto cleanup;
	}
	if ((rc = tl_store_foreach_def_step(env->store, cfg->task_id, on_rec, &recs, err)))
		goto cleanup;
	if (recs.n)
		qsort(recs.v, recs.n, sizeof(*recs.v), cmp_rec);
	if ((rc = decide(env, d, plan, probe, &recs, &pre, &npre, err)) || (rc = index_steps(d, plan->n, err)))
		goto cleanup;
	if ((rc = tl_driver_write_checks(&env->dst, dst, &d->fk_checks, &d->triggers, err)) ||
	    (rc = check_existing(env, dst, d, plan, pre, npre, err)))
		goto cleanup;
	if (record && d->list.n) {
		if (!(rows = calloc(d->list.n, sizeof(*rows)))) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
			goto cleanup;
		}
		for (i = 0; i < d->list.n; i++)
			def_record(d, i, &rows[i]);
		/* a fleet's worker writes only the steps nothing is recorded for: other workers may
		 * have applied and recorded steps since it read the records (a step it decided is
		 * still run through its work item, which records it: tl_fleet_reopen_steps) */
		rc = env->fleet ? tl_store_def_steps_add(env->store, cfg->task_id, rows, d->list.n, err)
				: tl_store_def_steps_put(env->store, cfg->task_id, rows, d->list.n, err);
		if (rc)
			goto cleanup;
	}
	plan->defs = d;
	d = NULL;
cleanup:
	free(rows);
	free(pre);
	recs_clear(&recs);
	free(probe);
	free(srcnames);
	free(targets);
	if (d) {
		for (i = 0; i < plan->n; i++)
			plan->items[i].create = plan->items[i].ours = 0;
	}
	tl_defs_free(d);
	return rc;
}

/* ---- scheduling --------------------------------------------------------------------------- */

/*
 * Puts step i on the ready queue (d->mu held). A step is in the queue at most once at a
 * time (tl_defs_requeue puts back one that was taken), so there is room: at the front,
 * when the end is reached.
 */
static void push_ready(tl_defs *d, size_t i)
{
	if (d->nready == d->list.n && d->ready_at > 0) {
		memmove(d->ready, d->ready + d->ready_at, (d->nready - d->ready_at) * sizeof(*d->ready));
		d->nready -= d->ready_at;
		d->ready_at = 0;
	}
	d->ready[d->nready++] = i;
}

void tl_defs_open(tl_defs *d, enum tl_schema_phase p)
{
	size_t i, k;

	pthread_mutex_lock(&d->mu);
	d->open[p] = 1;
	d->left[p] = 0;
	d->opened_at[p] = tl_migrate__now();
	for (i = 0; i < d->list.n; i++) {
		const tl_schema_step *s = &d->list.items[i];
		tl_def *x = &d->d[i];
		if (s->phase != p || x->state != TL_DEF_PENDING)
			continue;
		d->left[p]++;
		if (p == TL_PHASE_PRE_DATA && s->owner != NONE && s->owner < d->buf->nitems)
			d->buf->pre_left[s->owner]++;
		x->waiting = 0;
		for (k = 0; k < s->ndeps; k++) {
			const tl_def *y = &d->d[s->deps[k]];
			enum tl_schema_phase q = d->list.items[s->deps[k]].phase;
			/* a step of an open phase not applied yet (one that failed was tolerated) */
			if ((q == p || d->open[q]) && (y->state == TL_DEF_PENDING || y->state == TL_DEF_RUNNING))
				x->waiting++;
		}
		x->gated = p == TL_PHASE_TABLE_POST && s->owner != NONE && s->owner < d->buf->nitems &&
			   (!d->buf->item_ready[s->owner] || d->buf->pre_left[s->owner]);
		if (!x->waiting && !x->gated)
			push_ready(d, i);
	}
	if (!d->left[p])
		d->stats.seconds[p] = 0;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

int tl_defs_is_open(tl_defs *d, enum tl_schema_phase p)
{
	int open;

	pthread_mutex_lock(&d->mu);
	open = d->open[p];
	pthread_mutex_unlock(&d->mu);
	return open;
}

int tl_defs_item_made(tl_defs *d, size_t item)
{
	int made;

	pthread_mutex_lock(&d->mu);
	made = item >= d->buf->nitems || (d->open[TL_PHASE_PRE_DATA] && d->buf->pre_left[item] == 0);
	pthread_mutex_unlock(&d->mu);
	return made;
}

/* Item's TABLE_POST steps may run once its rows are in and its PRE_DATA steps are done (d->mu held). */
static void ungate(tl_defs *d, size_t item)
{
	struct tl_def_buf *b = d->buf;
	size_t k;

	if (!b->item_ready[item] || b->pre_left[item])
		return;
	for (k = b->post_at[item]; k < b->post_at[item + 1]; k++) {
		tl_def *x = &d->d[b->post[k]];
		if (x->state != TL_DEF_PENDING || !x->gated)
			continue;
		x->gated = 0;
		if (!x->waiting && d->open[TL_PHASE_TABLE_POST])
			push_ready(d, b->post[k]);
	}
}

void tl_defs_table_ready(tl_defs *d, size_t item)
{
	struct tl_def_buf *b = d->buf;

	if (item >= b->nitems)
		return;
	pthread_mutex_lock(&d->mu);
	if (!b->item_ready[item]) {
		b->item_ready[item] = 1;
		ungate(d, item);
		pthread_cond_broadcast(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
}

size_t tl_defs_left(tl_defs *d, enum tl_schema_phase p)
{
	size_t n;

	pthread_mutex_lock(&d->mu);
	n = d->left[p];
	pthread_mutex_unlock(&d->mu);
	return n;
}

void tl_defs_wake(tl_defs *d)
{
	pthread_mutex_lock(&d->mu);
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

size_t tl_defs_next(tl_defs *d)
{
	size_t i = NONE;

	pthread_mutex_lock(&d->mu);
	if (d->ready_at < d->nready) {
		i = d->ready[d->ready_at++];
		d->d[i].state = TL_DEF_RUNNING;
	}
	pthread_mutex_unlock(&d->mu);
	return i;
}

size_t tl_defs_ready(tl_defs *d)
{
	size_t n;

	pthread_mutex_lock(&d->mu);
	n = d->nready - d->ready_at;
	pthread_mutex_unlock(&d->mu);
	return n;
}

void tl_defs_requeue(tl_defs *d, size_t i)
{
	pthread_mutex_lock(&d->mu);
	d->d[i].state = TL_DEF_PENDING;
	push_ready(d, i);
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

/* Steps of the open phases not finished yet (d->mu held). */
static size_t outstanding(const tl_defs *d)
{
	size_t p, left = 0;

	for (p = 0; p < TL_PHASE_COUNT; p++)
		if (d->open[p])
			left += d->left[p];
	return left;
}

size_t tl_defs_outstanding(tl_defs *d)
{
	size_t n;

	pthread_mutex_lock(&d->mu);
	n = outstanding(d);
	pthread_mutex_unlock(&d->mu);
	return n;
}

void tl_defs_wait(tl_defs *d)
{
	struct timespec until;

	pthread_mutex_lock(&d->mu);
	if (d->ready_at == d->nready) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&d->cv, &d->mu, &until);
	}
	pthread_mutex_unlock(&d->mu);
}

/* ---- applying ------------------------------------------------------------------------------ */

/* Writes the buffered records when due (force: whatever there is). */
static int flush(tl_defs *d, tl_recorder *rec, int force, tl_error *err)
{
	struct tl_def_buf *b = d->buf;
	tl_store_def_step *rows = NULL;
	size_t *idx = NULL, n, i;
	int rc;

	pthread_mutex_lock(&d->mu);
	n = b->n;
	if (n == 0 || (!force && n < FLUSH_STEPS && tl_migrate__now() - d->flushed_at < FLUSH_SECS)) {
		pthread_mutex_unlock(&d->mu);
		return 0;
	}
	idx = b->idx;
	b->idx = NULL;
	b->n = b->cap = 0;
	rows = calloc(n, sizeof(*rows));
	for (i = 0; rows && i < n; i++)
		def_record(d, idx[i], &rows[i]);
	d->flushed_at = tl_migrate__now();
	pthread_mutex_unlock(&d->mu);
	rc = rows ? tl_recorder_def_steps(rec, rows, n, err) : tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	free(rows);
	free(idx);
	return rc;
}

int tl_defs_flush(tl_defs *d, tl_recorder *rec, const char *task_id, tl_error *err)
{
	(void)task_id;
	return d ? flush(d, rec, 1, err) : 0;
}

/* Queues step i's record (d->mu held). */
static int buffer(tl_defs *d, size_t i)
{
	struct tl_def_buf *b = d->buf;

	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		size_t *nv = realloc(b->idx, cap * sizeof(*nv));
		if (!nv)
			return -1;
		b->idx = nv;
		b->cap = cap;
	}
	b->idx[b->n++] = i;
	return 0;
}

/*
 * Step i is over (d->mu held): its phase has one step less to go, and when it is done
 * (applied: `freed`) the steps waiting for it may run, as may its table's TABLE_POST steps
 * after its last PRE_DATA one.
 */
static void release(tl_defs *d, size_t i, int freed)
{
	const tl_schema_step *s = &d->list.items[i];
	size_t k;

	if (freed) {
		for (k = 0; k < d->nrdeps[i]; k++) {
			tl_def *y = &d->d[d->rdeps[i][k]];
			if (y->state == TL_DEF_PENDING && y->waiting > 0 && --y->waiting == 0 && !y->gated)
				push_ready(d, d->rdeps[i][k]);
		}
	}
	if (d->left[s->phase] > 0 && --d->left[s->phase] == 0)
		d->stats.seconds[s->phase] = tl_migrate__now() - d->opened_at[s->phase];
	if (s->phase == TL_PHASE_PRE_DATA && s->owner != NONE && s->owner < d->buf->nitems &&
	    d->buf->pre_left[s->owner] > 0 && --d->buf->pre_left[s->owner] == 0)
		ungate(d, s->owner);
}

void tl_defs_done_elsewhere(tl_defs *d, size_t i)
{
	pthread_mutex_lock(&d->mu);
	d->d[i].state = TL_DEF_DONE;
	d->d[i].created = 1;
	d->stats.elsewhere++;
	release(d, i, 1);
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

int tl_defs_apply(const tl_migrate_env *env, tl_defs *d, tl_recorder *rec, tl_conn *dst, size_t i, tl_error *err)
{
	const tl_schema_step *s = &d->list.items[i];
	tl_def *x = &d->d[i];
	enum tl_schema_state before = TL_SCHEMA_UNKNOWN;
	tl_error e = TL_ERROR_INIT;
	double t0;
	int rc, buffered;

	/* a table is recorded as this task's before it exists, so a kill right after CREATE
	 * leaves a table the next run knows to be its own (and loads without upserts) */
	if (is_table_kind(s->kind)) {
		tl_store_def_step row;
		if ((rc = flush(d, rec, 1, err)))
			return rc;
		pthread_mutex_lock(&d->mu);
		x->created = 1; /* from now on the table may be there, and it is this task's */
		def_record(d, i, &row);
		pthread_mutex_unlock(&d->mu);
		if ((rc = tl_recorder_def_steps(rec, &row, 1, err)))
			return rc;
		tl_fault_crash_point(env->fault, "schema_before_create");
	}
	t0 = tl_migrate__now();
	rc = tl_driver_schema_apply(&env->dst, dst, s, &before, &e);
	tl_fault_crash_point(env->fault, "schema_after_apply");
	pthread_mutex_lock(&d->mu);
	x->seconds = tl_migrate__now() - t0;
	if (rc == 0) {
		x->found = before;
		x->state = TL_DEF_DONE;
		if (before == TL_SCHEMA_ABSENT || before == TL_SCHEMA_PARTIAL)
			x->created = 1;
		if (before == TL_SCHEMA_PRESENT) {
			d->stats.found++;
		} else {
			if (before == TL_SCHEMA_UNKNOWN)
				d->stats.set++;
			else
				d->stats.created++;
			d->stats.kinds[s->kind]++;
		}
	} else {
		free(x->error);
		x->error = tl_strdup(e.message);
		x->state = TL_DEF_FAILED;
		if (x->tolerant)
			d->stats.warned++;
		else
			d->stats.failed++;
	}
	release(d, i, rc == 0 || x->tolerant);
	buffered = buffer(d, i);
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);

	if (rc == 0)
		tl_log(env->log, (s->flags & TL_STEP_SLOW) || x->seconds >= 1.0 ? TL_LOG_INFO : TL_LOG_DEBUG,
		       "definitions: %s %s in %.2f s", s->id,
		       before == TL_SCHEMA_PRESENT ? "found on the target" : before == TL_SCHEMA_PARTIAL ? "finished"
		       : before == TL_SCHEMA_UNKNOWN ? "set" : "created",
		       x->seconds);
	else if (x->tolerant)
		tl_log(env->log, TL_LOG_WARN, "definitions: %s of a table that existed on the target not set: %s", s->id,
		       e.message);
	if (buffered != 0)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	if (rc && !x->tolerant) {
		tl_error e2 = TL_ERROR_INIT;
		(void)flush(d, rec, 1, &e2);
		if (err)
			*err = e;
		return rc;
	}
	return flush(d, rec, 0, err);
}

/* ---- FINAL: values read again ------------------------------------------------------------ */

struct by_id {
	const char *id;
	size_t i;
};

static int cmp_by_id(const void *a, const void *b)
{
	return strcmp(((const struct by_id *)a)->id, ((const struct by_id *)b)->id);
}

int tl_defs_refresh_final(const tl_migrate_env *env, tl_defs *d, const tl_plan *plan, tl_conn *src, tl_error *err)
{
	tl_schema_opts opts = TL_SCHEMA_OPTS_INIT;
	tl_schema_list fresh = TL_SCHEMA_LIST_INIT;
	tl_name *srcnames = NULL, *targets = NULL;
	size_t i, pending = 0, replaced = 0;
	int rc = 0;

	for (i = 0; i < d->list.n; i++)
		if (d->list.items[i].phase == TL_PHASE_FINAL && d->d[i].state == TL_DEF_PENDING)
			pending++;
	if (!pending)
		return 0;
	if ((rc = plan_names(env, plan, &srcnames, &targets, err)))
		goto cleanup;
	opts.structures = env->cfg->structures;
	opts.phases = 1u << TL_PHASE_FINAL;
	opts.targets = targets;
	if ((rc = tl_driver_schema_extract(&env->src, src, srcnames, plan->n, &opts, &fresh, err))) {
		tl_error_prefix(err, "reading the sequence and counter values again");
		goto cleanup;
	}
	/* the fresh values replace the planned ones, matched by id */
	{
		struct by_id *byid = malloc((d->list.n ? d->list.n : 1) * sizeof(*byid)), key, *hit;
		size_t n = 0;
		if (!byid) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
			goto cleanup;
		}
		for (i = 0; i < d->list.n; i++)
			if (d->list.items[i].phase == TL_PHASE_FINAL) {
				byid[n].id = d->list.items[i].id;
				byid[n++].i = i;
			}
		qsort(byid, n, sizeof(*byid), cmp_by_id);
		for (i = 0; i < fresh.n; i++) {
			key.id = fresh.items[i].id;
			if (n && (hit = bsearch(&key, byid, n, sizeof(*byid), cmp_by_id)) != NULL) {
				tl_schema_step *old = &d->list.items[hit->i];
				char *t = old->sql;
				old->sql = fresh.items[i].sql;
				fresh.items[i].sql = t;
				replaced++;
			}
		}
		free(byid);
	}
	tl_log(env->log, TL_LOG_INFO, "definitions: %zu sequence / counter values read again from the source", replaced);
cleanup:
	tl_schema_list_clear(&fresh);
	free(srcnames);
	free(targets);
	return rc;
}
