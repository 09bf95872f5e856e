/*
 * cmd_status.c - `tideline status [--store PATH | TASK.ini] [--task-id ID] [--json]`:
 * per table state, phase (when the task creates definitions: creating, waiting, copying,
 * indexing, done; status_defs.c), rows copied, last key, estimated total, percent, rate
 * (rows/s over the last minute), ETA and last update, then a total line per task, the
 * definition steps left (post-data objects by kind, failures) and, for a task run
 * by a fleet of workers (#17), each worker: host, pid, state, leases held, rows, rate and
 * last heartbeat.
 *
 * The store is opened read-only and read in one snapshot (WAL), so status works while
 * a run writes. With TASK.ini the store and task id come from the task file; with
 * --store and no --task-id every task in the store is shown. --json prints one JSON
 * document (cJSON) instead of the tables.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "cli/cli.h"
#include "cli/status_defs.h"
#include "tideline/buf.h"
#include "tideline/config.h"
#include "tideline/logfmt.h"
#include "tideline/store.h"

#define KEY_DISPLAY_MAX 40

/* One table's row, copied out of the store. */
struct srow {
	char *task_id, *schema, *tb, *state, *last_key, *last_update, *finished_at;
	char *dst_schema, *dst_tb; /* the target table when [router] of the TASK.ini moves it, else NULL */
	int64_t rows, est;
	double percent, rate, eta; /* < 0 unknown */
	const char *phase;         /* definitions: creating, waiting, copying, indexing, done; NULL none */
	int64_t keys_left;         /* its key and index steps not done, -1 unknown */
};

struct srows {
	struct srow *v;
	size_t n, cap;
};

static void srows_free(struct srows *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		struct srow *x = &r->v[i];

		free(x->task_id); free(x->schema); free(x->tb); free(x->state);
		free(x->last_key); free(x->last_update); free(x->finished_at);
		free(x->dst_schema); free(x->dst_tb);
	}
	free(r->v);
}

static int dup_field(char **out, const char *s, tl_error *err)
{
	*out = NULL;
	if (s && !(*out = tl_strdup(s)))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading progress");
	return 0;
}

static int is_finished(const struct srow *x)
{
	return x->state && strcmp(x->state, "finished") == 0;
}

static int collect(void *vctx, const tl_store_progress *p, tl_error *err)
{
	struct srows *r = vctx;
	struct srow *x;
	int rc;

	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 64;
		struct srow *nv = realloc(r->v, ncap * sizeof(*nv));

		if (!nv)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading progress");
		r->v = nv;
		r->cap = ncap;
	}
	x = &r->v[r->n];
	memset(x, 0, sizeof(*x));
	r->n++;
	if ((rc = dup_field(&x->task_id, p->task_id, err)) || (rc = dup_field(&x->schema, p->schema, err)) ||
	    (rc = dup_field(&x->tb, p->tb, err)) || (rc = dup_field(&x->state, p->state, err)) ||
	    (rc = dup_field(&x->last_key, p->last_key, err)) || (rc = dup_field(&x->last_update, p->last_update, err)) ||
	    (rc = dup_field(&x->finished_at, p->finished_at, err)))
		return rc;
	x->rows = p->rows_copied;
	x->est = p->est_rows;
	x->percent = p->percent;
	/* a rate and an ETA only while a run copies the table (not failed, stopped, interrupted) */
	x->rate = x->state && strcmp(x->state, "running") == 0 ? p->rate : -1.0;
	x->eta = -1.0;
	if (x->rate > 0 && x->est >= 0 && x->rows >= 0)
		x->eta = x->est > x->rows ? (double)(x->est - x->rows) / x->rate : 0.0;
	return 0;
}

/* Totals of the rows [from, to) of one task. */
struct total {
	size_t tables, finished;
	int64_t rows, est, remaining;
	int rows_known, est_known;
	double rate, eta, percent;
};

/*
 * fleet_rate (< 0: none) is the live workers' own rate together: a task copied by a fleet
 * goes at least that fast, also while its tables have no recent rate samples (chunks are
 * recorded as they end).
 */
static void sum_rows(const struct srows *r, size_t from, size_t to, double fleet_rate, struct total *t)
{
	int64_t done_of_est = 0;
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = from; i < to; i++) {
		const struct srow *x = &r->v[i];

		t->tables++;
		if (is_finished(x))
			t->finished++;
		if (x->rows >= 0) {
			t->rows += x->rows;
			t->rows_known = 1;
		}
		if (x->est >= 0) {
			t->est += x->est;
			t->est_known = 1;
			if (is_finished(x))
				done_of_est += x->est;
			else if (x->rows >= 0)
				done_of_est += x->rows < x->est ? x->rows : x->est;
			if (!is_finished(x))
				t->remaining += x->rows >= 0 && x->rows < x->est ? x->est - x->rows : (x->rows < 0 ? x->est : 0);
		}
		if (x->rate > 0)
			t->rate += x->rate;
	}
	if (fleet_rate > t->rate && t->finished < t->tables)
		t->rate = fleet_rate;
	t->percent = t->est > 0 ? 100.0 * (double)done_of_est / (double)t->est
		     : (t->tables && t->finished == t->tables ? 100.0 : -1.0);
	t->eta = t->finished == t->tables ? 0.0 : (t->rate > 0 && t->est_known ? (double)t->remaining / t->rate : -1.0);
}

/* Human form of an order_key JSON: id=6, or a=1,b=30; long values are shortened. */
static void key_text(const char *order_key, char *out, size_t outsz)
{
	cJSON *root = NULL, *arr, *pair;
	tl_buf b = TL_BUF_INIT;
	int first = 1, ok = 1;

	snprintf(out, outsz, "-");
	if (!order_key)
		return;
	root = cJSON_Parse(order_key);
	if (!root || !cJSON_IsObject(root) || !root->child) {
		snprintf(out, outsz, "%s", order_key);
		goto cleanup;
	}
	arr = root->child;
	if (arr->string && strcmp(arr->string, "single") == 0) {
		cJSON *c = cJSON_GetArrayItem(arr, 0), *v = cJSON_GetArrayItem(arr, 1);

		ok = tl_buf_printf(&b, NULL, "%s=%s", cJSON_IsString(c) ? c->valuestring : "?",
				   cJSON_IsString(v) ? v->valuestring : "NULL") == 0;
	} else {
		cJSON_ArrayForEach(pair, arr)
		{
			cJSON *c = cJSON_GetArrayItem(pair, 0), *v = cJSON_GetArrayItem(pair, 1);

			ok = ok && tl_buf_printf(&b, NULL, "%s%s=%s", first ? "" : ",",
						 cJSON_IsString(c) ? c->valuestring : "?",
						 cJSON_IsString(v) ? v->valuestring : "NULL") == 0;
			first = 0;
		}
	}
	if (ok && b.data) {
		if (b.len > KEY_DISPLAY_MAX)
			snprintf(out, outsz, "%.*s...", KEY_DISPLAY_MAX - 3, b.data);
		else
			snprintf(out, outsz, "%s", b.data);
	}
cleanup:
	tl_buf_release(&b);
	cJSON_Delete(root);
}

static void fmt_i64(int64_t v, char *out, size_t n)
{
	if (v < 0)
		snprintf(out, n, "-");
	else
		snprintf(out, n, "%lld", (long long)v);
}

static void fmt_pct(double v, char *out, size_t n)
{
	if (v < 0)
		snprintf(out, n, "-");
	else
		snprintf(out, n, "%.1f%%", v);
}

static void fmt_rate(double v, char *out, size_t n)
{
	if (v < 0)
		snprintf(out, n, "-");
	else
		snprintf(out, n, "%.0f/s", v);
}

static void fmt_eta(double secs, char *out, size_t n)
{
	long long s;

	if (secs < 0) {
		snprintf(out, n, "-");
		return;
	}
	s = (long long)ceil(secs);
	if (s >= 86400)
		snprintf(out, n, "%lldd%02lldh", s / 86400, (s % 86400) / 3600);
	else if (s >= 3600)
		snprintf(out, n, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
	else if (s >= 60)
		snprintf(out, n, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(out, n, "%llds", s);
}

enum { C_TABLE, C_STATE, C_PHASE, C_ROWS, C_TOTAL, C_PCT, C_RATE, C_ETA, C_KEY, C_UPDATE, NCOLS };
static const char *const col_names[NCOLS] = {"TABLE", "STATE", "PHASE", "ROWS", "TOTAL", "PERCENT", "RATE", "ETA",
					     "LAST KEY", "LAST UPDATE"};

/* The cells of one row, formatted. */
static void cells(const struct srow *x, char c[NCOLS][256])
{
	if (x->dst_schema)
		snprintf(c[C_TABLE], 256, "%s.%s -> %s.%s", x->schema ? x->schema : "", x->tb ? x->tb : "", x->dst_schema,
			 x->dst_tb);
	else
		snprintf(c[C_TABLE], 256, "%s.%s", x->schema ? x->schema : "", x->tb ? x->tb : "");
	snprintf(c[C_STATE], 256, "%s", x->state ? x->state : "-");
	if (x->phase && x->keys_left > 0)
		snprintf(c[C_PHASE], 256, "%s (%lld left)", x->phase, (long long)x->keys_left);
	else
		snprintf(c[C_PHASE], 256, "%s", x->phase ? x->phase : "-");
	fmt_i64(x->rows, c[C_ROWS], 256);
	fmt_i64(x->est, c[C_TOTAL], 256);
	fmt_pct(x->percent, c[C_PCT], 256);
	fmt_rate(x->rate, c[C_RATE], 256);
	fmt_eta(x->eta, c[C_ETA], 256);
	key_text(x->last_key, c[C_KEY], 256);
	snprintf(c[C_UPDATE], 256, "%s", x->last_update ? x->last_update : "-");
}

static void print_task(const char *store_path, const struct srows *r, size_t from, size_t to,
		       const tl_status_defs *defs, double fleet_rate)
{
	static char c[NCOLS][256];
	size_t w[NCOLS], i, j;
	struct total t;
	char a[64], b[64], p[64], rt[64], eta[64];
	int phases = 0;

	for (i = from; i < to; i++)
		phases |= r->v[i].phase != NULL;
	for (j = 0; j < NCOLS; j++)
		w[j] = strlen(col_names[j]);
	for (i = from; i < to; i++) {
		cells(&r->v[i], c);
		for (j = 0; j < NCOLS; j++)
			if (strlen(c[j]) > w[j])
				w[j] = strlen(c[j]);
	}
	printf("task '%s' (store %s)\n", r->v[from].task_id, store_path);
	for (j = 0; j + 1 < NCOLS; j++)
		if (j != C_PHASE || phases)
			printf("%-*s  ", (int)w[j], col_names[j]);
	printf("%s\n", col_names[NCOLS - 1]);
	for (i = from; i < to; i++) {
		cells(&r->v[i], c);
		for (j = 0; j < NCOLS; j++) {
			int right = j == C_ROWS || j == C_TOTAL || j == C_PCT || j == C_RATE || j == C_ETA;

			if (j == C_PHASE && !phases)
				continue;
			if (j + 1 == NCOLS)
				printf("%s\n", c[j]);
			else
				printf(right ? "%*s  " : "%-*s  ", (int)w[j], c[j]);
		}
	}
	sum_rows(r, from, to, fleet_rate, &t);
	fmt_i64(t.rows_known ? t.rows : -1, a, sizeof(a));
	fmt_i64(t.est_known ? t.est : -1, b, sizeof(b));
	fmt_pct(t.percent, p, sizeof(p));
	fmt_rate(t.rate > 0 ? t.rate : -1, rt, sizeof(rt));
	fmt_eta(t.eta, eta, sizeof(eta));
	printf("total: %zu table%s, %zu finished; %s rows copied of %s estimated (%s); rate %s; ETA %s\n", t.tables,
	       t.tables == 1 ? "" : "s", t.finished, a, b, p, rt, eta);
	tl_status_defs_print(defs, r->v[from].task_id);
}

/* Adds a number, or null when negative (unknown). */
static int add_num(cJSON *o, const char *name, double v)
{
	return (v < 0 ? cJSON_AddNullToObject(o, name) : cJSON_AddNumberToObject(o, name, v)) != NULL;
}

static int add_str(cJSON *o, const char *name, const char *v)
{
	return (v ? cJSON_AddStringToObject(o, name, v) : cJSON_AddNullToObject(o, name)) != NULL;
}

/* ---- the fleet of a task (#17): its workers and what each holds ----------------------- */

struct held {
	char *kind, *key;
	double left; /* seconds of its lease (negative: expired) */
};

struct wrow {
	char *name, *host, *state; /* state: running, gone (no heartbeat within its lease), stopped, failed */
	long pid;
	int alive;
	int64_t rows;
	double rate, age; /* rate < 0 unknown */
	struct held *held;
	size_t nheld;
};

struct fleet {
	struct wrow *v;
	size_t n, cap;
	double rate; /* of the live workers together, < 0 unknown */
};

static void fleet_free(struct fleet *f)
{
	size_t i, j;

	for (i = 0; i < f->n; i++) {
		for (j = 0; j < f->v[i].nheld; j++) {
			free(f->v[i].held[j].kind);
			free(f->v[i].held[j].key);
		}
		free(f->v[i].held);
		free(f->v[i].name);
		free(f->v[i].host);
		free(f->v[i].state);
	}
	free(f->v);
	memset(f, 0, sizeof(*f));
	f->rate = -1;
}

static int collect_worker(void *vctx, const tl_store_worker *w, tl_error *err)
{
	struct fleet *f = vctx;
	struct wrow *x;
	const char *state = w->alive ? "running" : (w->state && strcmp(w->state, "running") != 0 ? w->state : "gone");
	int rc;

	if (f->n == f->cap) {
		size_t ncap = f->cap ? 2 * f->cap : 16;
		struct wrow *nv = realloc(f->v, ncap * sizeof(*nv));

		if (!nv)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading the workers");
		f->v = nv;
		f->cap = ncap;
	}
	x = &f->v[f->n++];
	memset(x, 0, sizeof(*x));
	if ((rc = dup_field(&x->name, w->name, err)) || (rc = dup_field(&x->host, w->host, err)) ||
	    (rc = dup_field(&x->state, state, err)))
		return rc;
	x->pid = w->pid;
	x->alive = w->alive;
	x->rows = w->rows_copied;
	x->rate = w->alive ? w->rate : -1.0;
	x->age = w->heartbeat_age;
	if (x->rate >= 0)
		f->rate = (f->rate < 0 ? 0 : f->rate) + x->rate;
	return 0;
}

static int collect_lease(void *vctx, const tl_store_item_state *it, tl_error *err)
{
	struct fleet *f = vctx;
	struct held *nv, *h;
	size_t i;
	int rc;

	for (i = 0; i < f->n; i++)
		if (it->owner && strcmp(f->v[i].name, it->owner) == 0)
			break;
	if (i == f->n)
		return 0;
	if (!(nv = realloc(f->v[i].held, (f->v[i].nheld + 1) * sizeof(*nv))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory reading the leases");
	f->v[i].held = nv;
	h = &nv[f->v[i].nheld++];
	memset(h, 0, sizeof(*h));
	h->left = it->seconds_left;
	if ((rc = dup_field(&h->kind, it->kind, err)) || (rc = dup_field(&h->key, it->key, err)))
		return rc;
	return 0;
}

static int load_fleet(tl_store *store, const char *task_id, struct fleet *f, tl_error *err)
{
	int rc;

	memset(f, 0, sizeof(*f));
	f->rate = -1;
	if ((rc = tl_store_foreach_worker(store, task_id, collect_worker, f, err)))
		return rc;
	return f->n ? tl_store_foreach_lease(store, task_id, collect_lease, f, err) : 0;
}

/* What a worker holds, in one cell: "chunk s.t#0000000003 (12 s left)", "+N more". */
static void held_text(const struct wrow *w, char *out, size_t n)
{
	if (!w->nheld) {
		snprintf(out, n, "-");
		return;
	}
	if (w->nheld == 1)
		snprintf(out, n, "%s %s (%.0f s left)", w->held[0].kind, w->held[0].key, w->held[0].left);
	else
		snprintf(out, n, "%s %s (%.0f s left), +%zu more", w->held[0].kind, w->held[0].key, w->held[0].left,
			 w->nheld - 1);
}

static void print_fleet(const struct fleet *f)
{
	char rate[64], lease[300];
	size_t i, lw = strlen("LEASE");

	if (!f->n)
		return;
	for (i = 0; i < f->n; i++) {
		held_text(&f->v[i], lease, sizeof(lease));
		if (strlen(lease) > lw)
			lw = strlen(lease);
	}
	printf("workers:\n%-16s %-20s %8s %-8s %-*s %12s %10s  %s\n", "NAME", "HOST", "PID", "STATE", (int)lw, "LEASE",
	       "ROWS", "RATE", "LAST HEARTBEAT");
	for (i = 0; i < f->n; i++) {
		const struct wrow *w = &f->v[i];

		fmt_rate(w->rate, rate, sizeof(rate));
		held_text(w, lease, sizeof(lease));
		printf("%-16s %-20s %8ld %-8s %-*s %12lld %10s  %.0f s ago\n", w->name, w->host, w->pid, w->state, (int)lw,
		       lease, (long long)w->rows, rate, w->age);
	}
}

static int json_fleet(cJSON *task, const struct fleet *f)
{
	cJSON *arr = cJSON_AddArrayToObject(task, "workers");
	size_t i, j;

	if (!arr)
		return 0;
	for (i = 0; i < f->n; i++) {
		const struct wrow *w = &f->v[i];
		cJSON *o = cJSON_CreateObject(), *held;

		if (!o || !cJSON_AddItemToArray(arr, o))
			return cJSON_Delete(o), 0;
		if (!add_str(o, "name", w->name) || !add_str(o, "host", w->host) || !add_num(o, "pid", (double)w->pid) ||
		    !add_str(o, "state", w->state) || !add_num(o, "leases", (double)w->nheld) ||
		    !add_num(o, "rows_copied", (double)w->rows) || !add_num(o, "rate", w->rate) ||
		    !add_num(o, "heartbeat_age_seconds", w->age) || !(held = cJSON_AddArrayToObject(o, "held")))
			return 0;
		for (j = 0; j < w->nheld; j++) {
			cJSON *h = cJSON_CreateObject();

			if (!h || !cJSON_AddItemToArray(held, h))
				return cJSON_Delete(h), 0;
			if (!add_str(h, "kind", w->held[j].kind) || !add_str(h, "key", w->held[j].key) ||
			    !cJSON_AddNumberToObject(h, "seconds_left", w->held[j].left))
				return 0;
		}
	}
	return 1;
}

static int json_task(cJSON *tasks, const struct srows *r, size_t from, size_t to, const tl_status_defs *defs,
		     const struct fleet *f)
{
	cJSON *task = cJSON_CreateObject(), *tables, *tot;
	struct total t;
	size_t i;
	int ok;

	if (!task || !cJSON_AddItemToArray(tasks, task))
		return cJSON_Delete(task), 0;
	ok = add_str(task, "task_id", r->v[from].task_id) && (tables = cJSON_AddArrayToObject(task, "tables")) != NULL;
	for (i = from; ok && i < to; i++) {
		const struct srow *x = &r->v[i];
		cJSON *o = cJSON_CreateObject(), *key = NULL;

		if (!o || !cJSON_AddItemToArray(tables, o))
			return cJSON_Delete(o), 0;
		ok = add_str(o, "schema", x->schema) && add_str(o, "tb", x->tb) &&
		     (!x->dst_schema || (add_str(o, "target_schema", x->dst_schema) && add_str(o, "target_tb", x->dst_tb))) &&
		     add_str(o, "state", x->state) &&
		     (!x->phase || (add_str(o, "phase", x->phase) && add_num(o, "keys_left", (double)x->keys_left))) &&
		     add_num(o, "rows_copied", (double)x->rows) && add_num(o, "est_rows", (double)x->est) &&
		     add_num(o, "percent", x->percent) && add_num(o, "rate", x->rate) &&
		     add_num(o, "eta_seconds", x->eta >= 0 ? ceil(x->eta) : -1);
		if (!ok)
			return 0;
		/* the order_key as JSON (the stored text is JSON; kept as a string if it is not) */
		if (x->last_key) {
			key = cJSON_Parse(x->last_key);
			if (!key)
				key = cJSON_CreateString(x->last_key);
		} else {
			key = cJSON_CreateNull();
		}
		if (!key || !cJSON_AddItemToObject(o, "last_key", key))
			return cJSON_Delete(key), 0;
		ok = add_str(o, "last_update", x->last_update) && add_str(o, "finished_at", x->finished_at);
	}
	if (!ok)
		return 0;
	sum_rows(r, from, to, f->rate, &t);
	if (!tl_status_defs_json(defs, r->v[from].task_id, task) || !json_fleet(task, f))
		return 0;
	tot = cJSON_AddObjectToObject(task, "total");
	return tot && add_num(tot, "tables", (double)t.tables) && add_num(tot, "finished", (double)t.finished) &&
	       add_num(tot, "rows_copied", t.rows_known ? (double)t.rows : -1) &&
	       add_num(tot, "est_rows", t.est_known ? (double)t.est : -1) && add_num(tot, "percent", t.percent) &&
	       add_num(tot, "rate", t.rate > 0 ? t.rate : -1) &&
	       add_num(tot, "eta_seconds", t.eta >= 0 ? ceil(t.eta) : -1);
}

static int print_json(tl_store *store, const char *store_path, const struct srows *r, const tl_status_defs *defs,
		      tl_error *err)
{
	cJSON *root = cJSON_CreateObject(), *tasks;
	char now[32], *text = NULL;
	struct fleet f = {NULL, 0, 0, -1};
	size_t from = 0, to;
	int rc = 0;

	tl_logfmt_now(now);
	if (!root || !add_str(root, "store", store_path) || !add_str(root, "generated_at", now) ||
	    !(tasks = cJSON_AddArrayToObject(root, "tasks")))
		goto nomem;
	while (from < r->n) {
		for (to = from + 1; to < r->n && strcmp(r->v[to].task_id, r->v[from].task_id) == 0; to++)
			;
		if ((rc = load_fleet(store, r->v[from].task_id, &f, err)))
			goto cleanup;
		if (!json_task(tasks, r, from, to, defs, &f))
			goto nomem;
		fleet_free(&f);
		from = to;
	}
	text = cJSON_PrintUnformatted(root);
	if (!text)
		goto nomem;
	printf("%s\n", text);
	goto cleanup;
nomem:
	rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory writing the status document");
cleanup:
	fleet_free(&f);
	cJSON_free(text);
	cJSON_Delete(root);
	return rc;
}

/* ---- definitions (status_defs.c): a phase per table, and tables not copied yet ---------- */

static int cmp_srow(const void *a, const void *b)
{
	const struct srow *x = a, *y = b;
	int c = strcmp(x->task_id, y->task_id);

	if (!c)
		c = strcmp(x->schema ? x->schema : "", y->schema ? y->schema : "");
	return c ? c : strcmp(x->tb ? x->tb : "", y->tb ? y->tb : "");
}

struct def_rows {
	struct srows *r;
	size_t n0; /* the progress rows, sorted: the ones a table may already have */
};

static int add_def_row(void *vctx, const char *task_id, const char *schema, const char *tb, tl_error *err)
{
	struct def_rows *c = vctx;
	struct srow key;
	tl_store_progress p;

	memset(&key, 0, sizeof(key));
	key.task_id = (char *)task_id;
	key.schema = (char *)schema;
	key.tb = (char *)tb;
	if (c->n0 && bsearch(&key, c->r->v, c->n0, sizeof(*c->r->v), cmp_srow))
		return 0;
	memset(&p, 0, sizeof(p));
	p.task_id = task_id;
	p.schema = schema;
	p.tb = tb;
	p.state = "pending";
	p.rows_copied = p.est_rows = -1;
	p.percent = p.rate = -1;
	return collect(c->r, &p, err);
}

/* Rows for the tables known only by their definitions, then every row's phase. */
static int with_definitions(struct srows *r, const tl_status_defs *defs, const char *task_id, tl_error *err)
{
	struct def_rows c = {r, r->n};
	size_t i;
	int rc;

	if (!defs)
		return 0;
	if ((rc = tl_status_defs_foreach_table(defs, task_id, add_def_row, &c, err)))
		return rc;
	if (r->n > c.n0)
		qsort(r->v, r->n, sizeof(*r->v), cmp_srow);
	for (i = 0; i < r->n; i++)
		r->v[i].phase = tl_status_defs_phase(defs, r->v[i].task_id, r->v[i].schema, r->v[i].tb, r->v[i].state,
						     &r->v[i].keys_left);
	return 0;
}

static double now_unix(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return (double)time(NULL);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The store keeps source names; with a TASK.ini its [router] says where each table went. */
static int routed_names(const tl_config *cfg, struct srows *r, tl_error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < r->n; i++) {
		struct srow *x = &r->v[i];
		const char *ds, *dt;
		if (!x->schema || !x->tb || !tl_route_table_moves(cfg->route, x->schema, x->tb))
			continue;
		tl_route_table(cfg->route, x->schema, x->tb, &ds, &dt);
		if ((rc = dup_field(&x->dst_schema, ds, err)) || (rc = dup_field(&x->dst_tb, dt, err)))
			return rc;
	}
	return 0;
}

static int run_status(int argc, char **argv)
{
	tl_error err = TL_ERROR_INIT;
	tl_config *cfg = NULL;
	tl_store *store = NULL;
	tl_status_defs *defs = NULL;
	struct srows rows = {NULL, 0, 0};
	const char *store_path = NULL, *task_id = NULL, *task_file = NULL;
	int as_json = 0, status = 1, i;
	size_t from, to;

	if (tl_cli_wants_help(&tl_cmd_status, argc, argv))
		return 0;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--json") == 0) {
			as_json = 1;
		} else if (strcmp(a, "--store") == 0 || strcmp(a, "--task-id") == 0) {
			if (i + 1 >= argc)
				return tl_cli_usage(&tl_cmd_status, "option needs a value");
			if (a[2] == 's')
				store_path = argv[++i];
			else
				task_id = argv[++i];
		} else if (strncmp(a, "--store=", 8) == 0) {
			store_path = a + 8;
		} else if (strncmp(a, "--task-id=", 10) == 0) {
			task_id = a + 10;
		} else if (a[0] == '-') {
			fprintf(stderr, "tideline status: unknown option '%s'\n", a);
			return tl_cli_usage(&tl_cmd_status, NULL);
		} else if (!task_file) {
			task_file = a;
		} else {
			return tl_cli_usage(&tl_cmd_status, "only one TASK.ini may be given");
		}
	}
	if (!store_path && !task_file)
		return tl_cli_usage(&tl_cmd_status, "give --store PATH or a TASK.ini");
	if (store_path && task_file)
		return tl_cli_usage(&tl_cmd_status, "give either --store PATH or a TASK.ini, not both");
	if (task_id && !*task_id)
		return tl_cli_usage(&tl_cmd_status, "--task-id must not be empty");
	if (task_file) {
		if (tl_config_load(task_file, &cfg, &err))
			goto fail;
		store_path = cfg->store_path;
		if (!task_id)
			task_id = cfg->task_id ? cfg->task_id : "default";
	}
	if (tl_store_open(&store, store_path, TL_STORE_READONLY, &err) ||
	    tl_store_foreach_progress(store, task_id, now_unix(), collect, &rows, &err) ||
	    tl_status_defs_load(store, task_id, &defs, &err) || with_definitions(&rows, defs, task_id, &err))
		goto fail;
	store_path = tl_store_path(store); /* a store URL without its password */
	if (cfg && routed_names(cfg, &rows, &err))
		goto fail;
	if (as_json) {
		if (print_json(store, store_path, &rows, defs, &err))
			goto fail;
	} else if (rows.n == 0) {
		if (task_id)
			printf("task '%s' has no progress in store %s\n", task_id, store_path);
		else
			printf("store %s has no progress records\n", store_path);
	} else {
		for (from = 0; from < rows.n; from = to) {
			for (to = from + 1; to < rows.n && strcmp(rows.v[to].task_id, rows.v[from].task_id) == 0; to++)
				;
			struct fleet f;

			if (load_fleet(store, rows.v[from].task_id, &f, &err)) {
				fleet_free(&f);
				goto fail;
			}
			if (from)
				printf("\n");
			print_task(store_path, &rows, from, to, defs, f.rate);
			print_fleet(&f);
			fleet_free(&f);
		}
	}
	if (fflush(stdout) != 0) {
		tl_error_set(&err, TL_ERR_IO, "cannot write the status to standard output");
		goto fail;
	}
	status = 0;
	goto cleanup;
fail:
	status = tl_cli_fail(&err);
cleanup:
	srows_free(&rows);
	tl_status_defs_free(defs);
	tl_store_close(store);
	tl_config_free(cfg);
	return status;
}

const struct tl_command tl_cmd_status = {
	"status",
	"tideline status [--store PATH | TASK.ini] [--task-id ID] [--json]",
	"show per-table progress: state, rows, last key, total, percent, rate, ETA, last update",
	run_status,
};
