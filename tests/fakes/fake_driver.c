/*
 * fake_driver.c - the in-memory database kind of fake_driver.h, for unit tests of the
 * engine (plan, copy, recorder, sources) without servers. It implements every slot the
 * engine uses with the semantics of driver.h, counts calls and fails on request; see the
 * header for the model. Test code: the list of fake servers is a process-global (the
 * driver's connect only gets an endpoint), guarded by its own mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fakes/fake_driver.h"

#define MAX_COLS 16
#define MAX_FAULTS 128
#define MAX_DBS 16
#define MAX_CLAIMS 32
#define MAX_STOPS 4

struct fcol {
	char *name;
	enum tl_col_kind kind; /* TL_COL_INT or TL_COL_TEXT */
	int nullable;
};

struct ftable {
	char *schema, *name;
	size_t ncols;
	struct fcol cols[MAX_COLS];
	size_t nkeys;
	size_t key_idx[MAX_COLS];
	size_t nrows, cap;
	char **cells; /* nrows * ncols */
	int64_t est;  /* estimate to report; -2: the exact count */
};

struct ffault {
	enum tl_slot slot;
	char table[64]; /* only calls about this table count ("" = any) */
	long nth;       /* fails at the nth matching call since it was set */
	long seen;
	int code;
	int after;
	unsigned flags; /* error.h flags the error carries (a transient failure) */
	int stall;      /* the call waits until a connection of this server is interrupted */
};

struct fape {
	char *table; /* "schema.table" */
	char *task_id, *type, *key, *data;
};

/* A claim on a table (claim / release): held by one connection. */
struct fclaim {
	char table[130]; /* "schema.name" */
	const tl_conn *holder;
	char owner[200];
};

/* The rows of one table at the last durable point (asynchronous-commit model). */
struct fsnap {
	char *schema, *name;
	size_t ncols, nrows;
	char **cells;
};

/* tl_fake_stop_at: when the nth call of slot has returned, *flag = 1. */
struct fstop {
	enum tl_slot slot;
	long nth, seen;
	volatile sig_atomic_t *flag;
};

struct tl_fake_db {
	char *name;
	pthread_mutex_t mu;
	pthread_cond_t cv;            /* interrupts wake stalled calls */
	long interrupts;              /* interrupt calls on its connections */
	struct ftable *tables;
	size_t ntables;
	long calls[TL_SLOT__COUNT];
	struct ffault faults[MAX_FAULTS];
	size_t nfaults;
	struct fape *ape;
	size_t nape;
	long rows_read, rows_written; /* rows handed out by read_batch, rows applied by write_batch */
	struct fclaim claims[MAX_CLAIMS];
	int async;           /* commits are durable only at TL_WRITE_DURABLE writes and flush_commits */
	struct fsnap *snap;  /* ... the tables as of the last such point */
	size_t nsnap;
	long durable_writes; /* write_batch calls with TL_WRITE_DURABLE */
	char *dwarn;         /* durability_warning's answer, or NULL */
	struct fstop stops[MAX_STOPS];
	size_t nstops;
};

struct tl_conn {
	tl_fake_db *db;
	int interrupted; /* under db->mu: the interrupt slot gave it up, every later call fails */
};

struct tl_reader {
	tl_fake_db *db;
	tl_conn *conn; /* the connection it reads on */
	char table[64];
	size_t ncols;
	char **cells; /* selected rows, copied */
	size_t nrows, next, batch_rows;
};

/* tl_table.impl of a described fake table */
struct fimpl {
	tl_fake_db *db;
};

/* ---- the fake servers ---------------------------------------------------------------- */

static pthread_mutex_t dbs_mu = PTHREAD_MUTEX_INITIALIZER;
static tl_fake_db *dbs[MAX_DBS];

tl_fake_db *tl_fake_db_new(const char *name)
{
	tl_fake_db *db = calloc(1, sizeof(*db));
	size_t i;

	if (!db || !(db->name = strdup(name))) {
		free(db);
		return NULL;
	}
	pthread_mutex_init(&db->mu, NULL);
	pthread_cond_init(&db->cv, NULL);
	pthread_mutex_lock(&dbs_mu);
	for (i = 0; i < MAX_DBS && dbs[i]; i++)
		;
	if (i < MAX_DBS)
		dbs[i] = db;
	pthread_mutex_unlock(&dbs_mu);
	if (i == MAX_DBS) {
		free(db->name);
		free(db);
		return NULL;
	}
	return db;
}

static void table_free(struct ftable *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	for (i = 0; i < t->ncols; i++)
		free(t->cols[i].name);
	free(t->schema);
	free(t->name);
}

void tl_fake_db_free(tl_fake_db *db)
{
	size_t i;

	if (!db)
		return;
	pthread_mutex_lock(&dbs_mu);
	for (i = 0; i < MAX_DBS; i++)
		if (dbs[i] == db)
			dbs[i] = NULL;
	pthread_mutex_unlock(&dbs_mu);
	for (i = 0; i < db->ntables; i++)
		table_free(&db->tables[i]);
	free(db->tables);
	for (i = 0; i < db->nape; i++) {
		free(db->ape[i].table);
		free(db->ape[i].task_id);
		free(db->ape[i].type);
		free(db->ape[i].key);
		free(db->ape[i].data);
	}
	free(db->ape);
	for (i = 0; i < db->nsnap; i++) {
		size_t k;
		for (k = 0; k < db->snap[i].nrows * db->snap[i].ncols; k++)
			free(db->snap[i].cells[k]);
		free(db->snap[i].cells);
		free(db->snap[i].schema);
		free(db->snap[i].name);
	}
	free(db->snap);
	free(db->dwarn);
	pthread_mutex_destroy(&db->mu);
	pthread_cond_destroy(&db->cv);
	free(db->name);
	free(db);
}

static tl_fake_db *find_db(const char *url)
{
	tl_fake_db *db = NULL;
	size_t i;

	if (!url || strncmp(url, "fake://", 7) != 0)
		return NULL;
	pthread_mutex_lock(&dbs_mu);
	for (i = 0; i < MAX_DBS; i++)
		if (dbs[i] && strcmp(dbs[i]->name, url + 7) == 0)
			db = dbs[i];
	pthread_mutex_unlock(&dbs_mu);
	return db;
}

/* Under db->mu. */
static struct ftable *find_table(tl_fake_db *db, const char *schema, const char *name)
{
	size_t i;

	for (i = 0; i < db->ntables; i++)
		if (strcmp(db->tables[i].schema, schema) == 0 && strcmp(db->tables[i].name, name) == 0)
			return &db->tables[i];
	return NULL;
}

/*
 * A stalled call (under db->mu): waits until a connection of db is interrupted (at most
 * 60 s, a test that never interrupts must not hang), then fails as a lost connection.
 */
/*
 * Tables are reached by column name: a table the engine projected (project slot: renamed,
 * some columns left out) or a target with extra columns maps its columns onto the fake
 * table's by name. Index of the fake column `name`, or TL_NO_COL.
 */
static size_t ft_col(const struct ftable *ft, const char *name)
{
	size_t i;

	for (i = 0; i < ft->ncols; i++)
		if (strcmp(ft->cols[i].name, name) == 0)
			return i;
	return TL_NO_COL;
}

/* map[i] = the fake column of t's column i; TL_ERR_MISMATCH naming a column ft lacks. */
static int colmap(const struct ftable *ft, const tl_table *t, size_t *map, tl_error *err)
{
	size_t i;

	if (t->ncols > MAX_COLS)
		return tl_error_set(err, TL_ERR_INTERNAL, "fake: too many columns");
	for (i = 0; i < t->ncols; i++)
		if ((map[i] = ft_col(ft, t->cols[i].name)) == TL_NO_COL)
			return tl_error_set(err, TL_ERR_MISMATCH, "table %s.%s has no column %s", t->schema, t->name,
					    t->cols[i].name);
	return 0;
}

static int stall(tl_fake_db *db, enum tl_slot slot, tl_error *err)
{
	long seen = db->interrupts;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	while (db->interrupts == seen)
		if (pthread_cond_timedwait(&db->cv, &db->mu, &until) != 0)
			break;
	tl_error_set(err, TL_ERR_DB, "fake %s: %s stalled, %s", db->name, tl_slot_name(slot),
		     db->interrupts == seen ? "never interrupted (60 s)" : "connection interrupted");
	tl_error_add_flags(err, TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST);
	return TL_ERR_DB;
}

/*
 * Counts a call of slot (about table `tb`, or NULL) on db and says whether it fails now
 * (before the work: the error) or after it (*after: 1 + the index of the fault, else 0).
 */
static int count_call(tl_fake_db *db, enum tl_slot slot, const char *tb, int *after, tl_error *err)
{
	size_t i;
	int rc = 0;

	*after = 0;
	pthread_mutex_lock(&db->mu);
	db->calls[slot]++;
	for (i = 0; i < db->nfaults; i++) {
		struct ffault *f = &db->faults[i];
		if (f->slot != slot || (f->table[0] && (!tb || strcmp(f->table, tb) != 0)) || ++f->seen != f->nth)
			continue;
		if (f->after) {
			*after = (int)i + 1;
		} else if (!rc && f->stall) {
			rc = stall(db, slot, err);
		} else if (!rc) {
			rc = tl_error_set(err, f->code, "fake %s: injected failure of %s call %ld%s%s", db->name,
					  tl_slot_name(slot), f->nth, tb ? " on " : "", tb ? tb : "");
			tl_error_add_flags(err, f->flags);
		}
	}
	pthread_mutex_unlock(&db->mu);
	return rc;
}

/* count_call for a call on connection c: after c was interrupted, every call fails as a lost connection. */
static int conn_call(tl_conn *c, enum tl_slot slot, const char *tb, int *after, tl_error *err)
{
	int rc = count_call(c->db, slot, tb, after, err), lost;

	pthread_mutex_lock(&c->db->mu);
	lost = c->interrupted;
	pthread_mutex_unlock(&c->db->mu);
	if (rc || !lost)
		return rc;
	*after = 0;
	tl_error_set(err, TL_ERR_DB, "fake %s: %s on an interrupted connection", c->db->name, tl_slot_name(slot));
	tl_error_add_flags(err, TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST);
	return TL_ERR_DB;
}

static int after_fault(tl_fake_db *db, enum tl_slot slot, int after, int rc, tl_error *err)
{
	int code;
	unsigned flags;
	size_t i;

	pthread_mutex_lock(&db->mu);
	for (i = 0; i < db->nstops; i++)
		if (db->stops[i].slot == slot && ++db->stops[i].seen == db->stops[i].nth)
			*db->stops[i].flag = 1;
	pthread_mutex_unlock(&db->mu);
	if (rc || !after)
		return rc;
	pthread_mutex_lock(&db->mu);
	code = db->faults[after - 1].code;
	flags = db->faults[after - 1].flags;
	pthread_mutex_unlock(&db->mu);
	rc = tl_error_set(err, code, "fake %s: injected failure after %s (the work is done)", db->name,
			  tl_slot_name(slot));
	tl_error_add_flags(err, flags);
	return rc;
}

long tl_fake_calls(tl_fake_db *db, enum tl_slot slot)
{
	long n;

	pthread_mutex_lock(&db->mu);
	n = db->calls[slot];
	pthread_mutex_unlock(&db->mu);
	return n;
}

void tl_fake_reset_calls(tl_fake_db *db)
{
	pthread_mutex_lock(&db->mu);
	memset(db->calls, 0, sizeof(db->calls));
	db->nfaults = 0;
	db->nstops = 0;
	db->durable_writes = 0;
	db->rows_read = db->rows_written = 0;
	pthread_mutex_unlock(&db->mu);
}

long tl_fake_rows_read(tl_fake_db *db)
{
	long n;

	pthread_mutex_lock(&db->mu);
	n = db->rows_read;
	pthread_mutex_unlock(&db->mu);
	return n;
}

long tl_fake_rows_written(tl_fake_db *db)
{
	long n;

	pthread_mutex_lock(&db->mu);
	n = db->rows_written;
	pthread_mutex_unlock(&db->mu);
	return n;
}

/* Adds a fault (under no lock); stall: the call waits for an interrupt instead. */
static void add_fault(tl_fake_db *db, enum tl_slot slot, const char *tb, long nth, int code, int after,
		      unsigned flags, int stall_call)
{
	pthread_mutex_lock(&db->mu);
	if (db->nfaults < MAX_FAULTS) {
		struct ffault *f = &db->faults[db->nfaults++];
		memset(f, 0, sizeof(*f));
		f->slot = slot;
		snprintf(f->table, sizeof(f->table), "%s", tb ? tb : "");
		f->nth = nth;
		f->code = code;
		f->after = after;
		f->flags = flags;
		f->stall = stall_call;
	}
	pthread_mutex_unlock(&db->mu);
}

void tl_fake_fail_table(tl_fake_db *db, enum tl_slot slot, const char *tb, long nth, int code, int after)
{
	add_fault(db, slot, tb, nth, code, after, 0, 0);
}

void tl_fake_fail_at(tl_fake_db *db, enum tl_slot slot, long nth, int code, int after)
{
	add_fault(db, slot, NULL, nth, code, after, 0, 0);
}

void tl_fake_fail_flags(tl_fake_db *db, enum tl_slot slot, const char *tb, long nth, int code, int after,
			unsigned flags)
{
	add_fault(db, slot, tb, nth, code, after, flags, 0);
}

void tl_fake_stall_at(tl_fake_db *db, enum tl_slot slot, long nth)
{
	add_fault(db, slot, NULL, nth, TL_ERR_DB, 0, 0, 1);
}

long tl_fake_interrupts(tl_fake_db *db)
{
	long n;

	pthread_mutex_lock(&db->mu);
	n = db->interrupts;
	pthread_mutex_unlock(&db->mu);
	return n;
}

void tl_fake_clear_faults(tl_fake_db *db)
{
	pthread_mutex_lock(&db->mu);
	db->nfaults = 0;
	pthread_mutex_unlock(&db->mu);
}

/* ---- tables ---------------------------------------------------------------------------- */

static int add_row(struct ftable *t, const char *const *cells)
{
	size_t i;

	if (t->nrows == t->cap) {
		size_t ncap = t->cap ? 2 * t->cap : 64;
		char **nc = realloc(t->cells, ncap * t->ncols * sizeof(*nc));
		if (!nc)
			return -1;
		t->cells = nc;
		t->cap = ncap;
	}
	for (i = 0; i < t->ncols; i++) {
		char *v = NULL;
		if (cells[i] && !(v = strdup(cells[i]))) {
			while (i-- > 0)
				free(t->cells[t->nrows * t->ncols + i]);
			return -1;
		}
		t->cells[t->nrows * t->ncols + i] = v;
	}
	t->nrows++;
	return 0;
}

static void del_row(struct ftable *t, size_t r)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		free(t->cells[r * t->ncols + i]);
	memmove(&t->cells[r * t->ncols], &t->cells[(r + 1) * t->ncols], (t->nrows - r - 1) * t->ncols * sizeof(char *));
	t->nrows--;
}

int tl_fake_add_table(tl_fake_db *db, const char *schema, const char *name, const char *spec)
{
	struct ftable t, *nt;
	char *copy = strdup(spec), *save = NULL, *part;
	int rc = -1;

	memset(&t, 0, sizeof(t));
	t.est = -2;
	if (!copy)
		return -1;
	for (part = strtok_r(copy, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
		char *ws = NULL, *word;
		struct fcol *c;
		int n = 0;

		if (t.ncols == MAX_COLS)
			goto cleanup;
		c = &t.cols[t.ncols];
		for (word = strtok_r(part, " ", &ws); word; word = strtok_r(NULL, " ", &ws), n++) {
			if (n == 0 && !(c->name = strdup(word)))
				goto cleanup;
			else if (n == 1 && strcmp(word, "int") == 0)
				c->kind = TL_COL_INT;
			else if (n == 1 && strcmp(word, "text") == 0)
				c->kind = TL_COL_TEXT;
			else if (n == 1)
				goto cleanup;
			else if (strcmp(word, "key") == 0)
				t.key_idx[t.nkeys++] = t.ncols;
			else if (strcmp(word, "null") == 0)
				c->nullable = 1;
			else if (n > 1)
				goto cleanup;
		}
		t.ncols++;
		if (n < 2)
			goto cleanup;
	}
	if (!(t.schema = strdup(schema)) || !(t.name = strdup(name)))
		goto cleanup;
	pthread_mutex_lock(&db->mu);
	nt = find_table(db, schema, name) ? NULL : realloc(db->tables, (db->ntables + 1) * sizeof(*nt));
	if (nt) {
		db->tables = nt;
		nt[db->ntables++] = t;
		rc = 0;
	}
	pthread_mutex_unlock(&db->mu);
cleanup:
	if (rc)
		table_free(&t);
	free(copy);
	return rc;
}

int tl_fake_insert(tl_fake_db *db, const char *schema, const char *name, const char *const *cells)
{
	struct ftable *t;
	int rc = -1;

	pthread_mutex_lock(&db->mu);
	if ((t = find_table(db, schema, name)))
		rc = add_row(t, cells);
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int tl_fake_truncate(tl_fake_db *db, const char *schema, const char *name)
{
	struct ftable *t;

	pthread_mutex_lock(&db->mu);
	t = find_table(db, schema, name);
	while (t && t->nrows)
		del_row(t, t->nrows - 1);
	pthread_mutex_unlock(&db->mu);
	return t ? 0 : -1;
}

int64_t tl_fake_count(tl_fake_db *db, const char *schema, const char *name)
{
	struct ftable *t;
	int64_t n;

	pthread_mutex_lock(&db->mu);
	t = find_table(db, schema, name);
	n = t ? (int64_t)t->nrows : -1;
	pthread_mutex_unlock(&db->mu);
	return n;
}

void tl_fake_set_estimate(tl_fake_db *db, const char *schema, const char *name, int64_t est)
{
	struct ftable *t;

	pthread_mutex_lock(&db->mu);
	if ((t = find_table(db, schema, name)))
		t->est = est;
	pthread_mutex_unlock(&db->mu);
}

int tl_fake_drop(tl_fake_db *db, const char *schema, const char *name)
{
	size_t i;

	pthread_mutex_lock(&db->mu);
	for (i = db->ntables; i-- > 0;) {
		struct ftable *t = &db->tables[i];
		if (strcmp(t->schema, schema) != 0 || (name && strcmp(t->name, name) != 0))
			continue;
		table_free(t);
		memmove(t, t + 1, (db->ntables - i - 1) * sizeof(*t));
		db->ntables--;
	}
	pthread_mutex_unlock(&db->mu);
	return 0;
}

void tl_fake_cells_free(char **cells, size_t n)
{
	size_t i;

	for (i = 0; cells && i < n; i++)
		free(cells[i]);
	free(cells);
}

int tl_fake_cells(tl_fake_db *db, const char *schema, const char *name, char ***out, size_t *ncols, size_t *nrows)
{
	const struct ftable *t;
	size_t i, n = 0;
	int rc = -1;

	*out = NULL;
	*ncols = *nrows = 0;
	pthread_mutex_lock(&db->mu);
	t = find_table(db, schema, name);
	if (t && (*out = calloc(t->nrows * t->ncols + 1, sizeof(char *)))) {
		n = t->nrows * t->ncols;
		for (i = 0, rc = 0; i < n && !rc; i++)
			if (t->cells[i] && !((*out)[i] = strdup(t->cells[i])))
				rc = -1;
		*ncols = t->ncols;
		*nrows = t->nrows;
	}
	pthread_mutex_unlock(&db->mu);
	if (rc) {
		tl_fake_cells_free(*out, n);
		*out = NULL;
		*ncols = *nrows = 0;
	}
	return rc;
}

int tl_fake_copy_shape(tl_fake_db *from, tl_fake_db *to, const char *schema, const char *name)
{
	char spec[1024] = "";
	struct ftable *t;
	size_t i, k, off = 0;

	pthread_mutex_lock(&from->mu);
	t = find_table(from, schema, name);
	for (i = 0; t && i < t->ncols; i++) {
		int key = 0;
		for (k = 0; k < t->nkeys; k++)
			key |= t->key_idx[k] == i;
		off += (size_t)snprintf(spec + off, sizeof(spec) - off, "%s%s %s%s%s", i ? "," : "", t->cols[i].name,
					t->cols[i].kind == TL_COL_INT ? "int" : "text", key ? " key" : "",
					t->cols[i].nullable ? " null" : "");
	}
	pthread_mutex_unlock(&from->mu);
	/* key order is the order of the columns here: enough for the tests' tables */
	return t ? tl_fake_add_table(to, schema, name, spec) : -1;
}

/* ---- values ---------------------------------------------------------------------------- */

static int cmp_val(enum tl_col_kind kind, const char *a, const char *b)
{
	if (kind == TL_COL_INT) {
		long long x = strtoll(a, NULL, 10), y = strtoll(b, NULL, 10);
		return x < y ? -1 : x > y;
	}
	return strcmp(a, b);
}

static int is_int(const char *v)
{
	char *end = NULL;

	if (!v || !*v)
		return 0;
	errno = 0;
	(void)strtoll(v, &end, 10);
	return errno == 0 && *end == '\0';
}

/* A resume value for column c: TL_ERR_MISMATCH when it does not fit (like the real drivers). */
static int check_val(const tl_table *t, const tl_column *c, const char *v, tl_error *err)
{
	if (v && c->kind == TL_COL_INT && !is_int(v))
		return tl_error_set(err, TL_ERR_MISMATCH, "table %s.%s: value '%s' does not fit column %s (int)",
				    t->schema, t->name, v, c->name);
	return 0;
}

/* ---- the slots ------------------------------------------------------------------------- */

static int fk_connect(const tl_endpoint *ep, tl_conn **out, tl_error *err)
{
	tl_fake_db *db = find_db(ep->url);
	tl_url u;
	int after, rc;

	*out = NULL;
	if (!db) {
		/* as the real drivers: "<kind> at host[:port]", never the URL (it may hold a password) */
		if (!ep->url || tl_url_parse(ep->url, &u, NULL))
			return tl_error_set(err, TL_ERR_DB, "cannot connect to fake: not a fake:// URL");
		if (u.port)
			rc = tl_error_set(err, TL_ERR_DB, "cannot connect to fake at %s:%d: no such fake server", u.host, u.port);
		else
			rc = tl_error_set(err, TL_ERR_DB, "cannot connect to fake at %s: no such fake server", u.host);
		tl_error_add_flags(err, TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST); /* as a refused connection */
		tl_url_clear(&u);
		return rc;
	}
	if ((rc = count_call(db, TL_SLOT_CONNECT, NULL, &after, err)))
		return rc;
	if (!(*out = calloc(1, sizeof(**out))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	(*out)->db = db;
	if ((rc = after_fault(db, TL_SLOT_CONNECT, after, 0, err))) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

static void fk_disconnect(tl_conn *c)
{
	size_t i;

	if (!c)
		return;
	/* a closed session takes its claims with it */
	pthread_mutex_lock(&c->db->mu);
	for (i = 0; i < MAX_CLAIMS; i++)
		if (c->db->claims[i].holder == c)
			c->db->claims[i].holder = NULL;
	pthread_mutex_unlock(&c->db->mu);
	free(c);
}

/* Gives c up: wakes the stalled calls of the server (they fail as a lost connection), and
 * every later call on c fails the same way (conn_call). */
static void fk_interrupt(tl_conn *c)
{
	pthread_mutex_lock(&c->db->mu);
	c->interrupted = 1;
	c->db->interrupts++;
	pthread_cond_broadcast(&c->db->cv);
	pthread_mutex_unlock(&c->db->mu);
}

static int cmp_names(const void *a, const void *b)
{
	const tl_name *x = a, *y = b;
	int c = strcmp(x->schema, y->schema);

	return c ? c : strcmp(x->name, y->name);
}

static int fk_list_tables(tl_conn *c, tl_name_list *out, tl_error *err)
{
	size_t i;
	int after, rc;

	if ((rc = conn_call(c, TL_SLOT_LIST_TABLES, NULL, &after, err)))
		return rc;
	pthread_mutex_lock(&c->db->mu);
	for (i = 0; i < c->db->ntables && !rc; i++)
		rc = tl_name_list_add(out, c->db->tables[i].schema, c->db->tables[i].name, err);
	pthread_mutex_unlock(&c->db->mu);
	if (!rc && out->n)
		qsort(out->items, out->n, sizeof(*out->items), cmp_names);
	return after_fault(c->db, TL_SLOT_LIST_TABLES, after, rc, err);
}

static void fk_free_table(tl_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; t->cols && i < t->ncols; i++) {
		free(t->cols[i].name);
		free(t->cols[i].type);
	}
	free(t->cols);
	free(t->keys);
	free(t->key_idx);
	free(t->impl);
	free(t->schema);
	free(t->name);
	free(t);
}

/* Builds the tl_table of ft; under db->mu. */
static int describe_locked(tl_fake_db *db, const struct ftable *ft, tl_table **out, tl_error *err)
{
	tl_table *t = calloc(1, sizeof(*t));
	struct fimpl *impl = calloc(1, sizeof(*impl));
	size_t i;

	*out = NULL;
	if (!t || !impl) {
		free(t);
		free(impl);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
	impl->db = db;
	t->impl = impl;
	t->schema = strdup(ft->schema);
	t->name = strdup(ft->name);
	t->cols = calloc(ft->ncols, sizeof(*t->cols));
	t->key_idx = calloc(ft->nkeys ? ft->nkeys : 1, sizeof(*t->key_idx));
	if (!t->schema || !t->name || !t->cols || !t->key_idx)
		goto nomem;
	t->ncols = ft->ncols;
	for (i = 0; i < ft->ncols; i++) {
		t->cols[i].name = strdup(ft->cols[i].name);
		t->cols[i].type = strdup(ft->cols[i].kind == TL_COL_INT ? "int" : "text");
		t->cols[i].kind = ft->cols[i].kind;
		t->cols[i].nullable = ft->cols[i].nullable;
		if (!t->cols[i].name || !t->cols[i].type)
			goto nomem;
	}
	t->nkeys = ft->nkeys;
	memcpy(t->key_idx, ft->key_idx, ft->nkeys * sizeof(size_t));
	t->key_kind = ft->nkeys ? TL_KEYK_PRIMARY : TL_KEYK_NONE;
	for (i = 0; i < ft->nkeys; i++)
		if (ft->cols[ft->key_idx[i]].nullable)
			t->key_kind = TL_KEYK_UNIQUE_NULLABLE;
	t->part_idx = ft->nkeys ? ft->key_idx[0] : 0;
	t->est_rows = ft->est == -2 ? (int64_t)ft->nrows : ft->est;
	if (tl_table_link_keys(t, err))
		goto nomem;
	*out = t;
	return 0;
nomem:
	fk_free_table(t);
	return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
}

static int fk_describe(tl_conn *c, const char *schema, const char *name, tl_table **out, tl_error *err)
{
	const struct ftable *ft;
	int after, rc;

	*out = NULL;
	if ((rc = conn_call(c, TL_SLOT_DESCRIBE, name, &after, err)))
		return rc;
	pthread_mutex_lock(&c->db->mu);
	ft = find_table(c->db, schema, name);
	rc = ft ? describe_locked(c->db, ft, out, err)
		: tl_error_set(err, TL_ERR_NOTFOUND, "table %s.%s does not exist on fake://%s", schema, name, c->db->name);
	pthread_mutex_unlock(&c->db->mu);
	if ((rc = after_fault(c->db, TL_SLOT_DESCRIBE, after, rc, err)) && *out) {
		fk_free_table(*out);
		*out = NULL;
	}
	return rc;
}

static int fk_describe_many(tl_conn *c, const tl_name *names, size_t n, tl_table **out, tl_error *err)
{
	size_t i;
	int after, rc;

	for (i = 0; i < n; i++)
		out[i] = NULL;
	if ((rc = conn_call(c, TL_SLOT_DESCRIBE_MANY, NULL, &after, err)))
		return rc;
	pthread_mutex_lock(&c->db->mu);
	for (i = 0; i < n && !rc; i++) {
		const struct ftable *ft = find_table(c->db, names[i].schema, names[i].name);
		if (ft)
			rc = describe_locked(c->db, ft, &out[i], err);
	}
	pthread_mutex_unlock(&c->db->mu);
	if ((rc = after_fault(c->db, TL_SLOT_DESCRIBE_MANY, after, rc, err)))
		for (i = 0; i < n; i++) {
			fk_free_table(out[i]);
			out[i] = NULL;
		}
	return rc;
}

static int fk_count_rows(tl_conn *c, const tl_table *t, int64_t *out, tl_error *err)
{
	const struct ftable *ft;
	int after, rc;

	if ((rc = conn_call(c, TL_SLOT_COUNT_ROWS, t->name, &after, err)))
		return rc;
	pthread_mutex_lock(&c->db->mu);
	ft = find_table(c->db, t->schema, t->name);
	if (ft)
		*out = (int64_t)ft->nrows;
	else
		rc = tl_error_set(err, TL_ERR_NOTFOUND, "table %s.%s does not exist on fake://%s", t->schema, t->name,
				  c->db->name);
	pthread_mutex_unlock(&c->db->mu);
	return after_fault(c->db, TL_SLOT_COUNT_ROWS, after, rc, err);
}

static int fk_count_many(tl_conn *c, const tl_table *const *t, size_t n, int64_t *out, tl_error *err)
{
	size_t i;
	int after, rc;

	if ((rc = conn_call(c, TL_SLOT_COUNT_MANY, NULL, &after, err)))
		return rc;
	pthread_mutex_lock(&c->db->mu);
	for (i = 0; i < n; i++) {
		const struct ftable *ft = find_table(c->db, t[i]->schema, t[i]->name);
		out[i] = ft ? (int64_t)ft->nrows : 0;
	}
	pthread_mutex_unlock(&c->db->mu);
	return after_fault(c->db, TL_SLOT_COUNT_MANY, after, rc, err);
}

/* [filter] where_conditions in the fake: "COL OP INT" with OP one of < <= > >= = (or none). */
struct where {
	size_t col;
	char op[3];
	long long v;
	int on;
};

static int parse_where(const tl_table *t, const char *w, struct where *out, tl_error *err)
{
	char col[64];
	const char *sp, *num;
	char *end = NULL;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!w)
		return 0;
	/* test code: a tiny grammar, enough to see the condition reach the reader */
	sp = strchr(w, ' ');
	n = sp ? (size_t)(sp - w) : 0;
	if (!sp || n == 0 || n >= sizeof(col))
		goto bad;
	memcpy(col, w, n);
	col[n] = '\0';
	for (n = 0, sp++; n < 2 && (sp[n] == '<' || sp[n] == '>' || sp[n] == '='); n++)
		out->op[n] = sp[n];
	num = sp + n;
	if (n == 0 || *num != ' ')
		goto bad;
	errno = 0;
	out->v = strtoll(num + 1, &end, 10);
	if (errno || !end || end == num + 1 || *end || (out->col = tl_table_col_index(t, col)) == TL_NO_COL)
		goto bad;
	out->on = 1;
	return 0;
bad:
	return tl_error_set(err, TL_ERR_DB, "fake: cannot apply the condition '%s' to %s.%s", w, t->schema, t->name);
}

static int where_keeps(const struct where *w, char *const *row)
{
	long long x;

	if (!w->on)
		return 1;
	if (!row[w->col])
		return 0;
	x = strtoll(row[w->col], NULL, 10);
	if (strcmp(w->op, "<") == 0)
		return x < w->v;
	if (strcmp(w->op, "<=") == 0)
		return x <= w->v;
	if (strcmp(w->op, ">") == 0)
		return x > w->v;
	if (strcmp(w->op, ">=") == 0)
		return x >= w->v;
	return x == w->v;
}

/* Order of selected rows: by these columns (NULLs never compared: such rows are filtered). */
struct order {
	const tl_table *t;
	const size_t *idx;
	size_t n;
};

static int cmp_rows(const void *a, const void *b, void *ctx)
{
	const struct order *o = ctx;
	char *const *x = *(char *const *const *)a, *const *y = *(char *const *const *)b;
	size_t i;

	for (i = 0; i < o->n; i++) {
		size_t c = o->idx[i];
		int r = cmp_val(o->t->cols[c].kind, x[c], y[c]);
		if (r)
			return r;
	}
	return 0;
}

/* Is row past `after` in key order (tuple comparison)? */
static int past(const tl_table *t, char *const *row, const tl_keyvals *after)
{
	size_t i;

	for (i = 0; i < t->nkeys; i++) {
		int r = cmp_val(t->keys[i]->kind, row[t->key_idx[i]], after->vals[i]);
		if (r)
			return r > 0;
	}
	return 0;
}

static int fk_open_reader(tl_conn *c, const tl_table *t, const tl_read_spec *spec, tl_reader **out, tl_error *err)
{
	const struct ftable *ft;
	tl_reader *r = NULL;
	char ***sel = NULL, **vrows = NULL;
	size_t i, k, n = 0, p = t->part_idx, map[MAX_COLS];
	struct where w;
	int after, rc;

	*out = NULL;
	if ((rc = conn_call(c, TL_SLOT_OPEN_READER, t->name, &after, err)))
		return rc;
	if ((rc = parse_where(t, spec->where, &w, err)))
		return rc;
	if (spec->mode == TL_READ_KEYED && spec->after)
		for (i = 0; i < t->nkeys && !rc; i++)
			rc = check_val(t, t->keys[i], spec->after->vals[i], err);
	if (spec->mode == TL_READ_RANGE)
		if ((rc = check_val(t, &t->cols[p], spec->lo, err)) || (rc = check_val(t, &t->cols[p], spec->hi, err)))
			return rc;
	if (rc)
		return rc;
	pthread_mutex_lock(&c->db->mu);
	ft = find_table(c->db, t->schema, t->name);
	if (!ft) {
		rc = tl_error_set(err, TL_ERR_NOTFOUND, "table %s.%s does not exist on fake://%s", t->schema, t->name,
				  c->db->name);
		goto unlock;
	}
	if ((rc = colmap(ft, t, map, err)))
		goto unlock;
	r = calloc(1, sizeof(*r));
	sel = calloc(ft->nrows ? ft->nrows : 1, sizeof(*sel));
	vrows = calloc(ft->nrows * t->ncols + 1, sizeof(*vrows));
	if (!r || !sel || !vrows) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto unlock;
	}
	for (i = 0; i < ft->nrows; i++) {
		/* the row as t's columns (borrowed cells) */
		char **row = &vrows[i * t->ncols];
		int keep, anynull = 0;

		for (k = 0; k < t->ncols; k++)
			row[k] = ft->cells[i * ft->ncols + map[k]];
		keep = where_keeps(&w, row);

		for (k = 0; k < t->nkeys; k++)
			anynull |= row[t->key_idx[k]] == NULL;
		switch (spec->mode) {
		case TL_READ_KEYED:
			if (anynull)
				keep = 0;
			else if (spec->after) {
				for (k = 0; k < t->nkeys; k++)
					if (!spec->after->vals[k])
						keep = 0; /* k > NULL matches nothing */
				keep = keep && past(t, row, spec->after);
			}
			break;
		case TL_READ_KEY_NULLS:
			keep = keep && anynull;
			break;
		case TL_READ_RANGE:
			keep = keep && row[p] && (!spec->lo || cmp_val(t->cols[p].kind, row[p], spec->lo) > 0) &&
			       (!spec->hi || cmp_val(t->cols[p].kind, row[p], spec->hi) <= 0);
			break;
		case TL_READ_PART_NULLS:
			keep = keep && !row[p];
			break;
		default:
			break;
		}
		if (keep)
			sel[n++] = row;
	}
	if (spec->mode == TL_READ_KEYED || spec->mode == TL_READ_RANGE) {
		struct order o;
		o.t = t;
		o.idx = spec->mode == TL_READ_KEYED ? t->key_idx : &t->part_idx;
		o.n = spec->mode == TL_READ_KEYED ? t->nkeys : 1;
		qsort_r(sel, n, sizeof(*sel), cmp_rows, &o);
	}
	r->db = c->db;
	r->conn = c;
	snprintf(r->table, sizeof(r->table), "%s", t->name);
	r->ncols = t->ncols;
	r->batch_rows = spec->batch_rows;
	r->cells = calloc(n * t->ncols + 1, sizeof(char *));
	if (!r->cells) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		goto unlock;
	}
	for (i = 0; i < n; i++)
		for (k = 0; k < t->ncols; k++)
			if (sel[i][k] && !(r->cells[i * t->ncols + k] = strdup(sel[i][k]))) {
				r->nrows = i + 1;
				rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
				goto unlock;
			}
	r->nrows = n;
unlock:
	pthread_mutex_unlock(&c->db->mu);
	free(sel);
	free(vrows);
	rc = after_fault(c->db, TL_SLOT_OPEN_READER, after, rc, err);
	if (rc) {
		if (r) {
			for (i = 0; r->cells && i < r->nrows * r->ncols; i++)
				free(r->cells[i]);
			free(r->cells);
			free(r);
		}
		return rc;
	}
	*out = r;
	return 0;
}

static int fk_read_batch(tl_reader *r, tl_batch *b, tl_error *err)
{
	size_t i, k;
	int after, rc;

	if ((rc = conn_call(r->conn, TL_SLOT_READ_BATCH, r->table, &after, err)))
		return rc;
	for (i = 0; r->next < r->nrows && i < r->batch_rows && !tl_batch_full(b); i++, r->next++) {
		for (k = 0; k < r->ncols && !rc; k++) {
			const char *v = r->cells[r->next * r->ncols + k];
			rc = tl_batch_push(b, v, v ? strlen(v) : 0, v == NULL, err);
		}
		if (rc || (rc = tl_batch_end_row(b, err)))
			return rc;
	}
	pthread_mutex_lock(&r->db->mu);
	r->db->rows_read += (long)i;
	pthread_mutex_unlock(&r->db->mu);
	return after_fault(r->db, TL_SLOT_READ_BATCH, after, 0, err);
}

static void fk_close_reader(tl_reader *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nrows * r->ncols; i++)
		free(r->cells[i]);
	free(r->cells);
	free(r);
}

static int fk_row_key(const tl_table *t, const tl_batch *b, size_t row, const size_t *idx, size_t n, tl_keyvals *out,
		      tl_error *err)
{
	tl_fake_db *db = ((const struct fimpl *)t->impl)->db;
	const char *cols[MAX_COLS], *vals[MAX_COLS];
	size_t i;
	int after, rc;

	if ((rc = count_call(db, TL_SLOT_ROW_KEY, t->name, &after, err)))
		return rc;
	if (n > MAX_COLS)
		return tl_error_set(err, TL_ERR_INTERNAL, "fake: too many key columns");
	for (i = 0; i < n; i++) {
		cols[i] = t->cols[idx[i]].name;
		vals[i] = tl_batch_cell(b, row, idx[i], NULL);
	}
	rc = tl_keyvals_set(out, n, cols, vals, err);
	return after_fault(db, TL_SLOT_ROW_KEY, after, rc, err);
}

/* The sorted non-NULL values of column p of ft greater than after (malloc'd array of borrowed strings). */
static const char **part_values(const struct ftable *ft, const tl_table *t, const char *after, size_t *n)
{
	const char **v = calloc(ft->nrows ? ft->nrows : 1, sizeof(*v));
	size_t i, p = t->part_idx, fp = ft_col(ft, t->cols[p].name), m = 0;

	if (!v || fp == TL_NO_COL) {
		free(v);
		return NULL;
	}
	for (i = 0; i < ft->nrows; i++) {
		const char *x = ft->cells[i * ft->ncols + fp];
		if (x && (!after || cmp_val(t->cols[p].kind, x, after) > 0))
			v[m++] = x;
	}
	/* insertion sort: tests' tables are small */
	for (i = 1; i < m; i++) {
		const char *x = v[i];
		size_t j = i;
		while (j > 0 && cmp_val(t->cols[p].kind, v[j - 1], x) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
	*n = m;
	return v;
}

static int fk_next_bound(tl_conn *c, const tl_table *t, const char *after, size_t step, char **hi_out, tl_error *err)
{
	const struct ftable *ft;
	const char **v = NULL;
	size_t n = 0;
	int after_code, rc;

	*hi_out = NULL;
	if ((rc = conn_call(c, TL_SLOT_NEXT_BOUND, t->name, &after_code, err)))
		return rc;
	if ((rc = check_val(t, &t->cols[t->part_idx], after, err)))
		return rc;
	pthread_mutex_lock(&c->db->mu);
	ft = find_table(c->db, t->schema, t->name);
	if (ft && !(v = part_values(ft, t, after, &n)))
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	if (!rc && n && !(*hi_out = strdup(v[(n < step ? n : step) - 1])))
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	pthread_mutex_unlock(&c->db->mu);
	free(v);
	rc = after_fault(c->db, TL_SLOT_NEXT_BOUND, after_code, rc, err);
	if (rc) {
		free(*hi_out);
		*hi_out = NULL;
	}
	return rc;
}

static int fk_part_minmax(tl_conn *c, const tl_table *t, char **min_out, char **max_out, tl_error *err)
{
	const struct ftable *ft;
	const char **v = NULL;
	size_t n = 0;
	int after, rc;

	*min_out = *max_out = NULL;
	if ((rc = conn_call(c, TL_SLOT_PART_MINMAX, t->name, &after, err)))
		return rc;
	pthread_mutex_lock(&c->db->mu);
	ft = find_table(c->db, t->schema, t->name);
	if (ft && (v = part_values(ft, t, NULL, &n)) && n) {
		*min_out = strdup(v[0]);
		*max_out = strdup(v[n - 1]);
	}
	pthread_mutex_unlock(&c->db->mu);
	free(v);
	return after_fault(c->db, TL_SLOT_PART_MINMAX, after, rc, err);
}

static int fk_check_target(tl_conn *target, const tl_table *src, int *is_empty, tl_error *err)
{
	const struct ftable *ft;
	size_t i;
	int after, rc;

	if ((rc = conn_call(target, TL_SLOT_CHECK_TARGET, src->name, &after, err)))
		return rc;
	pthread_mutex_lock(&target->db->mu);
	ft = find_table(target->db, src->schema, src->name);
	if (!ft)
		rc = tl_error_set(err, TL_ERR_NOTFOUND, "target table %s.%s does not exist on fake://%s", src->schema,
				  src->name, target->db->name);
	for (i = 0; !rc && i < src->ncols; i++)
		if (ft_col(ft, src->cols[i].name) == TL_NO_COL)
			rc = tl_error_set(err, TL_ERR_MISMATCH, "target table %s.%s has no column %s", src->schema, src->name,
					  src->cols[i].name);
	/* columns not written ([filter] ignore_cols) take their default, NULL in the fake */
	for (i = 0; !rc && i < ft->ncols; i++)
		if (tl_table_col_index(src, ft->cols[i].name) == TL_NO_COL && !ft->cols[i].nullable)
			rc = tl_error_set(err, TL_ERR_MISMATCH,
					  "target table %s.%s has column %s, which is not copied and is NOT NULL without a "
					  "default",
					  src->schema, src->name, ft->cols[i].name);
	if (!rc)
		*is_empty = ft->nrows == 0;
	pthread_mutex_unlock(&target->db->mu);
	return after_fault(target->db, TL_SLOT_CHECK_TARGET, after, rc, err);
}

/* The row of ft with the same non-NULL key as row (cells of a batch row), or -1. */
static long find_key(const struct ftable *ft, const tl_table *src, const tl_batch *b, size_t row)
{
	size_t r, k;

	for (k = 0; k < src->nkeys; k++)
		if (!tl_batch_cell(b, row, src->key_idx[k], NULL))
			return -1; /* a NULL key conflicts with nothing */
	for (r = 0; src->nkeys && r < ft->nrows; r++) {
		for (k = 0; k < src->nkeys; k++) {
			const char *x = ft->cells[r * ft->ncols + ft_col(ft, src->keys[k]->name)];
			if (!x || strcmp(x, tl_batch_cell(b, row, src->key_idx[k], NULL)) != 0)
				break;
		}
		if (k == src->nkeys)
			return (long)r;
	}
	return -1;
}

/* ---- the asynchronous-commit model ------------------------------------------------------ */

static void snap_free(tl_fake_db *db)
{
	size_t i, k;

	for (i = 0; i < db->nsnap; i++) {
		for (k = 0; k < db->snap[i].nrows * db->snap[i].ncols; k++)
			free(db->snap[i].cells[k]);
		free(db->snap[i].cells);
		free(db->snap[i].schema);
		free(db->snap[i].name);
	}
	free(db->snap);
	db->snap = NULL;
	db->nsnap = 0;
}

/* Under db->mu: every commit so far is durable (the tables as they are now). */
static void snap_take(tl_fake_db *db)
{
	size_t i, k;

	snap_free(db);
	if (!(db->snap = calloc(db->ntables ? db->ntables : 1, sizeof(*db->snap))))
		abort();
	for (i = 0; i < db->ntables; i++) {
		struct ftable *t = &db->tables[i];
		struct fsnap *sn = &db->snap[i];
		sn->schema = strdup(t->schema);
		sn->name = strdup(t->name);
		sn->ncols = t->ncols;
		sn->nrows = t->nrows;
		sn->cells = calloc(t->nrows * t->ncols + 1, sizeof(char *));
		if (!sn->schema || !sn->name || !sn->cells)
			abort();
		for (k = 0; k < t->nrows * t->ncols; k++)
			if (t->cells[k] && !(sn->cells[k] = strdup(t->cells[k])))
				abort();
	}
	db->nsnap = db->ntables;
}

void tl_fake_set_async(tl_fake_db *db, int on)
{
	pthread_mutex_lock(&db->mu);
	db->async = on;
	if (on)
		snap_take(db);
	else
		snap_free(db);
	pthread_mutex_unlock(&db->mu);
}

void tl_fake_crash(tl_fake_db *db)
{
	size_t i, k, r;

	pthread_mutex_lock(&db->mu);
	for (i = 0; db->async && i < db->nsnap; i++) {
		struct fsnap *sn = &db->snap[i];
		struct ftable *t = find_table(db, sn->schema, sn->name);
		if (!t)
			continue;
		while (t->nrows > 0)
			del_row(t, t->nrows - 1);
		for (r = 0; r < sn->nrows; r++) {
			const char *cells[MAX_COLS];
			for (k = 0; k < sn->ncols; k++)
				cells[k] = sn->cells[r * sn->ncols + k];
			if (add_row(t, cells) != 0)
				abort();
		}
	}
	pthread_mutex_unlock(&db->mu);
}

long tl_fake_durable_writes(tl_fake_db *db)
{
	long n;

	pthread_mutex_lock(&db->mu);
	n = db->durable_writes;
	pthread_mutex_unlock(&db->mu);
	return n;
}

void tl_fake_set_durability_warning(tl_fake_db *db, const char *text)
{
	pthread_mutex_lock(&db->mu);
	free(db->dwarn);
	db->dwarn = text ? strdup(text) : NULL;
	pthread_mutex_unlock(&db->mu);
}

void tl_fake_stop_at(tl_fake_db *db, enum tl_slot slot, long nth, volatile sig_atomic_t *flag)
{
	pthread_mutex_lock(&db->mu);
	if (db->nstops < MAX_STOPS) {
		struct fstop *f = &db->stops[db->nstops++];
		f->slot = slot;
		f->nth = nth;
		f->seen = 0;
		f->flag = flag;
	}
	pthread_mutex_unlock(&db->mu);
}

static int fk_write_batch(tl_conn *target, const tl_table *src, const tl_batch *b, unsigned flags, tl_error *err)
{
	struct ftable *ft;
	const char *cells[MAX_COLS];
	size_t row, k, i;
	int after, rc;
	/* a plain insert, or a bulk write into a target said to be empty, fails on a key the
	 * target holds (as a PK does): the engine must never send such a row there */
	int strict = !(flags & TL_WRITE_UPSERT) || (flags & TL_WRITE_TARGET_EMPTY);

	if ((rc = conn_call(target, TL_SLOT_WRITE_BATCH, src->name, &after, err)))
		return rc;
	if (b->form != TL_BATCH_CELLS)
		return tl_error_set(err, TL_ERR_INTERNAL, "fake: native batch forms are not supported");
	pthread_mutex_lock(&target->db->mu);
	ft = find_table(target->db, src->schema, src->name);
	if (!ft) {
		rc = tl_error_set(err, TL_ERR_NOTFOUND, "target table %s.%s does not exist", src->schema, src->name);
		goto unlock;
	}
	/* one transaction: check every row first, then apply them all */
	for (row = 0; strict && row < b->nrows && !rc; row++) {
		if (find_key(ft, src, b, row) >= 0)
			rc = tl_error_set(err, TL_ERR_DB, "fake: duplicate key in %s.%s (row %zu of the batch, %s write)",
					  src->schema, src->name, row,
					  flags & TL_WRITE_UPSERT ? "bulk" : "insert");
		for (i = 0; !rc && src->nkeys && i < row; i++) {
			for (k = 0; k < src->nkeys; k++) {
				const char *x = tl_batch_cell(b, i, src->key_idx[k], NULL);
				const char *y = tl_batch_cell(b, row, src->key_idx[k], NULL);
				if (!x || !y || strcmp(x, y) != 0)
					break;
			}
			if (k == src->nkeys)
				rc = tl_error_set(err, TL_ERR_DB, "fake: duplicate key within a batch of %s.%s", src->schema,
						  src->name);
		}
	}
	for (row = 0; !rc && row < b->nrows; row++) {
		long at = (flags & TL_WRITE_UPSERT) ? find_key(ft, src, b, row) : -1;

		for (k = 0; k < ft->ncols; k++) {
			size_t c = tl_table_col_index(src, ft->cols[k].name);
			cells[k] = c == TL_NO_COL ? NULL : tl_batch_cell(b, row, c, NULL);
		}
		if (at >= 0)
			del_row(ft, (size_t)at);
		if (add_row(ft, cells) != 0)
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
		else
			target->db->rows_written++;
	}
	if (!rc && (flags & TL_WRITE_DURABLE)) {
		target->db->durable_writes++;
		if (target->db->async)
			snap_take(target->db);
	}
unlock:
	pthread_mutex_unlock(&target->db->mu);
	return after_fault(target->db, TL_SLOT_WRITE_BATCH, after, rc, err);
}

static int fk_delete_after(tl_conn *target, const tl_table *src, const char *after, int nulls, tl_error *err)
{
	struct ftable *ft;
	size_t r, k, p = src->part_idx, map[MAX_COLS];
	int after_code, rc;

	if ((rc = conn_call(target, TL_SLOT_DELETE_AFTER, src->name, &after_code, err)))
		return rc;
	if ((rc = check_val(src, &src->cols[p], after, err)))
		return rc;
	pthread_mutex_lock(&target->db->mu);
	ft = find_table(target->db, src->schema, src->name);
	if (ft && (rc = colmap(ft, src, map, err)))
		ft = NULL;
	for (r = ft ? ft->nrows : 0; r-- > 0;) {
		char **row = &ft->cells[r * ft->ncols];
		int del;

		if (nulls == TL_DELETE_KEY_NULLS) {
			for (del = 0, k = 0; k < src->nkeys; k++)
				del |= row[map[src->key_idx[k]]] == NULL;
		} else if (nulls == TL_DELETE_PART_NULLS) {
			del = row[map[p]] == NULL;
		} else {
			del = !after || (row[map[p]] && cmp_val(src->cols[p].kind, row[map[p]], after) > 0);
		}
		if (del)
			del_row(ft, r);
	}
	pthread_mutex_unlock(&target->db->mu);
	return after_fault(target->db, TL_SLOT_DELETE_AFTER, after_code, rc, err);
}

/* ---- ape-dts' database store ------------------------------------------------------------ */

static int ape_add(tl_fake_db *db, const char *table, const char *task_id, const char *type, const char *key,
		   const char *data)
{
	struct fape *na;
	size_t i;

	for (i = 0; i < db->nape; i++) {
		struct fape *a = &db->ape[i];
		if (strcmp(a->table, table) == 0 && strcmp(a->task_id, task_id) == 0 && strcmp(a->type, type) == 0 &&
		    strcmp(a->key, key) == 0) {
			char *d = data ? strdup(data) : NULL;
			if (data && !d)
				return -1;
			free(a->data);
			a->data = d;
			return 0;
		}
	}
	if (!(na = realloc(db->ape, (db->nape + 1) * sizeof(*na))))
		return -1;
	db->ape = na;
	na = &db->ape[db->nape];
	memset(na, 0, sizeof(*na));
	na->table = strdup(table);
	na->task_id = strdup(task_id);
	na->type = strdup(type);
	na->key = strdup(key);
	na->data = data ? strdup(data) : NULL;
	db->nape++;
	return na->table && na->task_id && na->type && na->key && (!data || na->data) ? 0 : -1;
}

int tl_fake_ape_put(tl_fake_db *db, const char *schema, const char *table, const char *task_id,
		    const char *resumer_type, const char *position_key, const char *position_data)
{
	char full[512];
	int rc;

	snprintf(full, sizeof(full), "%s.%s", schema, table);
	pthread_mutex_lock(&db->mu);
	rc = ape_add(db, full, task_id, resumer_type, position_key, position_data);
	pthread_mutex_unlock(&db->mu);
	return rc;
}

size_t tl_fake_ape_rows(tl_fake_db *db, const char *task_id)
{
	size_t i, n = 0;

	pthread_mutex_lock(&db->mu);
	for (i = 0; i < db->nape; i++)
		n += strcmp(db->ape[i].task_id, task_id) == 0;
	pthread_mutex_unlock(&db->mu);
	return n;
}

static int fk_ape_init(tl_conn *c, const char *schema, const char *table, tl_error *err)
{
	int after, rc = conn_call(c, TL_SLOT_APE_STORE_INIT, NULL, &after, err);

	(void)schema;
	(void)table;
	return rc ? rc : after_fault(c->db, TL_SLOT_APE_STORE_INIT, after, 0, err);
}

static int fk_ape_load(tl_conn *c, const char *schema, const char *table, const char *task_id, tl_ape_row_fn fn,
		       void *ctx, tl_error *err)
{
	char full[512];
	size_t i, n = 0;
	struct fape *copy = NULL;
	int after, rc;

	if ((rc = conn_call(c, TL_SLOT_APE_STORE_LOAD, NULL, &after, err)))
		return rc;
	snprintf(full, sizeof(full), "%s.%s", schema, table);
	/* the callback may write the store: call it outside the lock, on a copy */
	pthread_mutex_lock(&c->db->mu);
	copy = calloc(c->db->nape + 1, sizeof(*copy));
	for (i = 0; copy && i < c->db->nape; i++)
		if (strcmp(c->db->ape[i].table, full) == 0 && strcmp(c->db->ape[i].task_id, task_id) == 0)
			copy[n++] = c->db->ape[i];
	for (i = 0; copy && i < n; i++) {
		copy[i].type = strdup(copy[i].type);
		copy[i].key = strdup(copy[i].key);
		copy[i].data = copy[i].data ? strdup(copy[i].data) : NULL;
	}
	pthread_mutex_unlock(&c->db->mu);
	if (!copy)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	for (i = 0; i < n && !rc; i++) {
		tl_ape_row row = {copy[i].type, copy[i].key, copy[i].data};
		rc = fn(ctx, &row, err);
	}
	for (i = 0; i < n; i++) {
		free(copy[i].type);
		free(copy[i].key);
		free(copy[i].data);
	}
	free(copy);
	return after_fault(c->db, TL_SLOT_APE_STORE_LOAD, after, rc, err);
}

static int fk_ape_put(tl_conn *c, const char *schema, const char *table, const char *task_id, const tl_ape_row *row,
		      tl_error *err)
{
	char full[512];
	int after, rc;

	if ((rc = conn_call(c, TL_SLOT_APE_STORE_PUT, NULL, &after, err)))
		return rc;
	snprintf(full, sizeof(full), "%s.%s", schema, table);
	pthread_mutex_lock(&c->db->mu);
	if (ape_add(c->db, full, task_id, row->resumer_type, row->position_key, row->position_data) != 0)
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	pthread_mutex_unlock(&c->db->mu);
	return after_fault(c->db, TL_SLOT_APE_STORE_PUT, after, rc, err);
}

static int fk_ape_forget(tl_conn *c, const char *schema, const char *table, const char *task_id, tl_error *err)
{
	char full[512];
	size_t i;
	int after, rc;

	if ((rc = conn_call(c, TL_SLOT_APE_STORE_FORGET, NULL, &after, err)))
		return rc;
	snprintf(full, sizeof(full), "%s.%s", schema, table);
	pthread_mutex_lock(&c->db->mu);
	for (i = c->db->nape; i-- > 0;) {
		struct fape *a = &c->db->ape[i];
		if (strcmp(a->table, full) != 0 || strcmp(a->task_id, task_id) != 0)
			continue;
		free(a->table);
		free(a->task_id);
		free(a->type);
		free(a->key);
		free(a->data);
		memmove(a, a + 1, (c->db->nape - i - 1) * sizeof(*a));
		c->db->nape--;
	}
	pthread_mutex_unlock(&c->db->mu);
	return after_fault(c->db, TL_SLOT_APE_STORE_FORGET, after, 0, err);
}

/* ---- comparison -------------------------------------------------------------------------- */

/* A row as one string, cells separated by \x1f, NULL as \x1e. */
static char *row_text(const struct ftable *t, size_t r)
{
	tl_buf b = TL_BUF_INIT;
	size_t k;
	int rc = 0;

	for (k = 0; k < t->ncols && !rc; k++) {
		const char *v = t->cells[r * t->ncols + k];
		rc = tl_buf_printf(&b, NULL, "%s%s", k ? "\x1f" : "", v ? v : "\x1e");
	}
	if (rc) {
		tl_buf_release(&b);
		return NULL;
	}
	return b.data ? tl_buf_detach(&b) : strdup("");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **sorted_rows(tl_fake_db *db, const char *schema, const char *name, size_t *n)
{
	const struct ftable *t;
	char **rows = NULL;
	size_t r;

	*n = 0;
	pthread_mutex_lock(&db->mu);
	t = find_table(db, schema, name);
	if (t && (rows = calloc(t->nrows + 1, sizeof(*rows))))
		for (r = 0; r < t->nrows; r++)
			rows[(*n)++] = row_text(t, r);
	pthread_mutex_unlock(&db->mu);
	if (rows)
		qsort(rows, *n, sizeof(*rows), cmp_str);
	return rows;
}

static void printable(const char *row, char *out, size_t n)
{
	size_t i;

	for (i = 0; row[i] && i + 1 < n; i++)
		out[i] = row[i] == '\x1f' ? '|' : row[i] == '\x1e' ? '~' : row[i];
	out[i] = '\0';
}

int tl_fake_same_rows(tl_fake_db *a, tl_fake_db *b, const char *schema, const char *name, char *why, size_t n)
{
	size_t na = 0, nb = 0, i = 0, j = 0;
	char **ra = sorted_rows(a, schema, name, &na), **rb = sorted_rows(b, schema, name, &nb);
	char text[200];
	int same = ra && rb;

	snprintf(why, n, "%s", same ? "" : "a table is missing");
	while (same && (i < na || j < nb)) {
		int c = i == na ? 1 : j == nb ? -1 : strcmp(ra[i], rb[j]);
		if (c == 0) {
			i++;
			j++;
			continue;
		}
		printable(c < 0 ? ra[i] : rb[j], text, sizeof(text));
		snprintf(why, n, "%s.%s: %zu rows on fake://%s, %zu on fake://%s; row (%s) %s", schema, name, na, a->name,
			 nb, b->name, text, c < 0 ? "missing (or fewer times) on the second" : "extra on the second");
		same = 0;
	}
	for (i = 0; ra && i < na; i++)
		free(ra[i]);
	for (j = 0; rb && j < nb; j++)
		free(rb[j]);
	free(ra);
	free(rb);
	return same;
}

/* ---- target checks, claims, durability ---------------------------------------------------- */

static int fk_live_rows_many(tl_conn *c, const tl_name *names, size_t n, int64_t *out, tl_error *err)
{
	size_t i;
	int after, rc;

	if ((rc = conn_call(c, TL_SLOT_LIVE_ROWS_MANY, NULL, &after, err)))
		return rc;
	pthread_mutex_lock(&c->db->mu);
	for (i = 0; i < n; i++) {
		const struct ftable *ft = find_table(c->db, names[i].schema, names[i].name);
		/* the statistics: the estimate when one is set (tl_fake_set_estimate), else exact */
		out[i] = !ft ? -1 : ft->est >= -1 ? ft->est : (int64_t)ft->nrows;
	}
	pthread_mutex_unlock(&c->db->mu);
	return after_fault(c->db, TL_SLOT_LIVE_ROWS_MANY, after, rc, err);
}

static int fk_key_exists(tl_conn *c, const tl_table *src, const tl_keyvals *key, int *exists, tl_error *err)
{
	const struct ftable *ft;
	size_t r, i, col[MAX_COLS], fcol[MAX_COLS];
	int after, rc;

	*exists = 0;
	if ((rc = conn_call(c, TL_SLOT_KEY_EXISTS, src->name, &after, err)))
		return rc;
	for (i = 0; i < key->n && !rc; i++) {
		col[i] = tl_table_col_index(src, key->cols[i]);
		if (col[i] == TL_NO_COL || i >= MAX_COLS)
			rc = tl_error_set(err, TL_ERR_INTERNAL, "fake: key lookup in %s.%s: no column %s", src->schema, src->name,
					  key->cols[i]);
		else
			rc = check_val(src, &src->cols[col[i]], key->vals[i], err);
	}
	if (rc)
		return rc;
	pthread_mutex_lock(&c->db->mu);
	ft = find_table(c->db, src->schema, src->name);
	if (!ft)
		rc = tl_error_set(err, TL_ERR_NOTFOUND, "target table %s.%s does not exist on fake://%s", src->schema,
				  src->name, c->db->name);
	/* the fake table's columns by name (src may be a routed, projected table) */
	for (i = 0; ft && !rc && i < key->n; i++)
		if ((fcol[i] = ft_col(ft, key->cols[i])) == TL_NO_COL)
			rc = tl_error_set(err, TL_ERR_MISMATCH, "table %s.%s has no column %s", src->schema, src->name,
					  key->cols[i]);
	for (r = 0; ft && !rc && r < ft->nrows && !*exists; r++) {
		for (i = 0; i < key->n; i++) {
			const char *v = ft->cells[r * ft->ncols + fcol[i]];
			if (!v != !key->vals[i] || (v && cmp_val(src->cols[col[i]].kind, v, key->vals[i]) != 0))
				break;
		}
		*exists = i == key->n;
	}
	pthread_mutex_unlock(&c->db->mu);
	return after_fault(c->db, TL_SLOT_KEY_EXISTS, after, rc, err);
}

static int fk_claim(tl_conn *c, const tl_table *src, const char *owner, tl_error *err)
{
	char name[130];
	size_t i, free_at = MAX_CLAIMS;
	int after, rc;

	if ((rc = conn_call(c, TL_SLOT_CLAIM, src->name, &after, err)))
		return rc;
	snprintf(name, sizeof(name), "%s.%s", src->schema, src->name);
	pthread_mutex_lock(&c->db->mu);
	for (i = 0; i < MAX_CLAIMS && !rc; i++) {
		struct fclaim *cl = &c->db->claims[i];
		if (!cl->holder) {
			if (free_at == MAX_CLAIMS)
				free_at = i;
			continue;
		}
		if (strcmp(cl->table, name) != 0)
			continue;
		if (cl->holder != c)
			rc = tl_error_set(err, TL_ERR_LOCKED, "target table %s is being written by another task: '%s' holds it",
					  name, cl->owner);
		free_at = MAX_CLAIMS + 1; /* held: nothing to add */
		break;
	}
	if (!rc && free_at < MAX_CLAIMS) {
		struct fclaim *cl = &c->db->claims[free_at];
		snprintf(cl->table, sizeof(cl->table), "%s", name);
		snprintf(cl->owner, sizeof(cl->owner), "%s", owner);
		cl->holder = c;
	} else if (!rc && free_at == MAX_CLAIMS) {
		rc = tl_error_set(err, TL_ERR_NOMEM, "fake: too many claims");
	}
	pthread_mutex_unlock(&c->db->mu);
	return after_fault(c->db, TL_SLOT_CLAIM, after, rc, err);
}

static int fk_release(tl_conn *c, const tl_table *src, tl_error *err)
{
	char name[130];
	size_t i;
	int after, rc;

	if ((rc = conn_call(c, TL_SLOT_RELEASE, src->name, &after, err)))
		return rc;
	snprintf(name, sizeof(name), "%s.%s", src->schema, src->name);
	pthread_mutex_lock(&c->db->mu);
	for (i = 0; i < MAX_CLAIMS; i++)
		if (c->db->claims[i].holder == c && strcmp(c->db->claims[i].table, name) == 0)
			c->db->claims[i].holder = NULL;
	pthread_mutex_unlock(&c->db->mu);
	return after_fault(c->db, TL_SLOT_RELEASE, after, rc, err);
}

int tl_fake_claimed(tl_fake_db *db, const char *schema, const char *name)
{
	char t[130];
	size_t i;
	int n = 0;

	snprintf(t, sizeof(t), "%s.%s", schema, name);
	pthread_mutex_lock(&db->mu);
	for (i = 0; i < MAX_CLAIMS; i++)
		n += db->claims[i].holder && strcmp(db->claims[i].table, t) == 0;
	pthread_mutex_unlock(&db->mu);
	return n;
}

static int fk_flush_commits(tl_conn *c, const tl_table *src, tl_error *err)
{
	int after, rc;

	if ((rc = conn_call(c, TL_SLOT_FLUSH_COMMITS, src->name, &after, err)))
		return rc;
	pthread_mutex_lock(&c->db->mu);
	if (c->db->async)
		snap_take(c->db);
	pthread_mutex_unlock(&c->db->mu);
	return after_fault(c->db, TL_SLOT_FLUSH_COMMITS, after, rc, err);
}

static int fk_durability_warning(tl_conn *c, char **out, tl_error *err)
{
	int after, rc;

	*out = NULL;
	if ((rc = conn_call(c, TL_SLOT_DURABILITY_WARNING, NULL, &after, err)))
		return rc;
	pthread_mutex_lock(&c->db->mu);
	if (c->db->dwarn && !(*out = strdup(c->db->dwarn)))
		rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	pthread_mutex_unlock(&c->db->mu);
	return after_fault(c->db, TL_SLOT_DURABILITY_WARNING, after, rc, err);
}

/* A projected table: the common part, and the fake's impl (which fake server it is on). */
static int fk_project(const tl_table *src, const char *schema, const char *name, const size_t *cols,
		      const char *const *names, size_t n, tl_table **out, tl_error *err)
{
	tl_fake_db *db = ((const struct fimpl *)src->impl)->db;
	struct fimpl *impl;
	int after, rc;

	*out = NULL;
	if ((rc = count_call(db, TL_SLOT_PROJECT, src->name, &after, err)))
		return rc;
	if ((rc = tl_table_project_base(src, schema, name, cols, names, n, out, err)))
		return after_fault(db, TL_SLOT_PROJECT, after, rc, err);
	if (!(impl = calloc(1, sizeof(*impl)))) {
		fk_free_table(*out);
		*out = NULL;
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	}
	impl->db = db;
	(*out)->impl = impl;
	return after_fault(db, TL_SLOT_PROJECT, after, 0, err);
}

static const char *const fake_aliases[] = {"fakedb", NULL};

const struct tl_driver_ops tl_fake_driver = {
	.version = TL_DRIVER_VERSION,
	.name = "fake",
	.aliases = fake_aliases,
	.caps = TL_CAP_SQL | TL_CAP_APE_STORE | TL_CAP_BULK_EMPTY,
	.quote = '"',
	.split_kinds = TL_KIND_BIT(TL_COL_INT) | TL_KIND_BIT(TL_COL_TEXT),
	.connect = fk_connect,
	.disconnect = fk_disconnect,
	.interrupt = fk_interrupt,
	.list_tables = fk_list_tables,
	.describe = fk_describe,
	.describe_many = fk_describe_many,
	.free_table = fk_free_table,
	.count_rows = fk_count_rows,
	.count_many = fk_count_many,
	.open_reader = fk_open_reader,
	.read_batch = fk_read_batch,
	.close_reader = fk_close_reader,
	.row_key = fk_row_key,
	.next_bound = fk_next_bound,
	.part_minmax = fk_part_minmax,
	.check_target = fk_check_target,
	.write_batch = fk_write_batch,
	.delete_after = fk_delete_after,
	.project = fk_project,
	.ape_store_init = fk_ape_init,
	.ape_store_load = fk_ape_load,
	.ape_store_put = fk_ape_put,
	.ape_store_forget = fk_ape_forget,
	.live_rows_many = fk_live_rows_many,
	.key_exists = fk_key_exists,
	.claim = fk_claim,
	.release = fk_release,
	.flush_commits = fk_flush_commits,
	.durability_warning = fk_durability_warning,
};

static const struct tl_driver_ops *const fake_list[] = {&tl_fake_driver, NULL};

const tl_registry tl_fake_registry = {fake_list, NULL};
