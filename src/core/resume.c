/*
 * resume.c - the ape-dts merge of progress records (include/tideline/resume.h, §3.2).
 *
 * How it works: every table (exact schema, tb) gets one heap-allocated entry holding the
 * last "current" position, the last "checkpoint" position and the finished record, each
 * with its origin. Entries are kept in an array in the order tables were first seen and
 * found through an open-addressing hash table (linear probing, power-of-two size, load
 * at most 1/2) whose slots hold array indices, so a million records over a hundred
 * thousand tables cost one hash and a few string compares each. Source paths are
 * interned once per set, not copied per record. Entries are allocated one by one so the
 * pointers lent by tl_resume_at and tl_resume_lookup stay valid as the set grows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tideline/logfmt.h"
#include "tideline/resume.h"

struct rs_entry {
	tl_resume_entry pub; /* what callers see; its pointers point into this entry */
	char *schema;
	char *tb;
	uint64_t hash;
	tl_position finished_pos;
	tl_position current;
	tl_position checkpoint;
};

struct rs_other {
	tl_resume_other pub;
	tl_position pos;
};

struct tl_resume_set {
	struct rs_entry **entries; /* insertion order */
	size_t n, cap;
	uint32_t *slots;           /* index + 1 into entries; 0 = empty */
	size_t nslots;             /* power of two */
	char **sources;            /* interned origin names */
	size_t nsources, capsources;
	size_t other;
	struct rs_other **kept;    /* TL_POS_OTHER records, reading order */
	size_t nkept, capkept;
};

static uint64_t hash_key(const char *schema, const char *tb)
{
	uint64_t h = 1469598103934665603ULL;
	const unsigned char *p;

	for (p = (const unsigned char *)schema; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h = (h ^ 0xffu) * 1099511628211ULL; /* separator between the two names */
	for (p = (const unsigned char *)tb; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h ^ (h >> 29);
}

int tl_resume_set_new(tl_resume_set **out, tl_error *err)
{
	tl_resume_set *s;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory creating a resume set");
	s->nslots = 64;
	s->slots = calloc(s->nslots, sizeof(*s->slots));
	if (!s->slots) {
		free(s);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory creating a resume set");
	}
	*out = s;
	return 0;
}

void tl_resume_set_free(tl_resume_set *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		struct rs_entry *e = s->entries[i];

		tl_pos_clear(&e->finished_pos);
		tl_pos_clear(&e->current);
		tl_pos_clear(&e->checkpoint);
		free(e->schema);
		free(e->tb);
		free(e);
	}
	for (i = 0; i < s->nkept; i++) {
		tl_pos_clear(&s->kept[i]->pos);
		free(s->kept[i]);
	}
	free(s->kept);
	for (i = 0; i < s->nsources; i++)
		free(s->sources[i]);
	free(s->sources);
	free(s->entries);
	free(s->slots);
	free(s);
}

static struct rs_entry *find(const tl_resume_set *s, const char *schema, const char *tb, uint64_t h,
			     size_t *slot)
{
	size_t mask = s->nslots - 1, i = (size_t)h & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t v = s->slots[i];
		struct rs_entry *e;

		if (!v) {
			*slot = i;
			return NULL;
		}
		e = s->entries[v - 1];
		if (e->hash == h && strcmp(e->schema, schema) == 0 && strcmp(e->tb, tb) == 0) {
			*slot = i;
			return e;
		}
	}
}

static int grow_slots(tl_resume_set *s, tl_error *err)
{
	size_t nslots = s->nslots * 2, i;
	uint32_t *slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory growing a resume set");
	for (i = 0; i < s->n; i++) {
		size_t j = (size_t)s->entries[i]->hash & (nslots - 1);

		while (slots[j])
			j = (j + 1) & (nslots - 1);
		slots[j] = (uint32_t)(i + 1);
	}
	free(s->slots);
	s->slots = slots;
	s->nslots = nslots;
	return 0;
}

static int get_entry(tl_resume_set *s, const char *schema, const char *tb, struct rs_entry **out, tl_error *err)
{
	uint64_t h = hash_key(schema, tb);
	struct rs_entry *e;
	size_t slot;
	int rc;

	e = find(s, schema, tb, h, &slot);
	if (e) {
		*out = e;
		return 0;
	}
	if (s->n >= UINT32_MAX - 1)
		return tl_error_set(err, TL_ERR_NOMEM, "too many tables in a resume set");
	if ((s->n + 1) * 2 > s->nslots) {
		if ((rc = grow_slots(s, err)))
			return rc;
		find(s, schema, tb, h, &slot);
	}
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		struct rs_entry **ne = realloc(s->entries, ncap * sizeof(*ne));

		if (!ne)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory growing a resume set");
		s->entries = ne;
		s->cap = ncap;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory growing a resume set");
	e->schema = strdup(schema);
	e->tb = strdup(tb);
	if (!e->schema || !e->tb) {
		free(e->schema);
		free(e->tb);
		free(e);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory growing a resume set");
	}
	e->hash = h;
	tl_pos_init(&e->finished_pos);
	tl_pos_init(&e->current);
	tl_pos_init(&e->checkpoint);
	e->pub.schema = e->schema;
	e->pub.tb = e->tb;
	s->entries[s->n++] = e;
	s->slots[slot] = (uint32_t)s->n;
	*out = e;
	return 0;
}

/* Returns the set's own copy of a source name (interned). */
static int intern_source(tl_resume_set *s, const char *source, const char **out, tl_error *err)
{
	size_t i;
	char *copy;

	*out = NULL;
	if (!source)
		return 0;
	for (i = s->nsources; i-- > 0;) {
		if (strcmp(s->sources[i], source) == 0) {
			*out = s->sources[i];
			return 0;
		}
	}
	if (s->nsources == s->capsources) {
		size_t ncap = s->capsources ? s->capsources * 2 : 8;
		char **ns = realloc(s->sources, ncap * sizeof(*ns));

		if (!ns)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory in a resume set");
		s->sources = ns;
		s->capsources = ncap;
	}
	copy = strdup(source);
	if (!copy)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory in a resume set");
	/* keep the most recent source last so the search above finds it first */
	s->sources[s->nsources++] = copy;
	*out = copy;
	return 0;
}

int tl_resume_add(tl_resume_set *s, const tl_position *p, int is_current, const char *source, long line,
		  tl_error *err)
{
	tl_position copy = TL_POSITION_INIT;
	struct rs_entry *e = NULL;
	tl_position *slot;
	tl_origin *from;
	const char *src = NULL;
	int rc = 0;

	if (p->type != TL_POS_RDB_SNAPSHOT && p->type != TL_POS_RDB_SNAPSHOT_FINISHED) {
		struct rs_other *o;
		s->other++;
		if (p->type != TL_POS_OTHER)
			return 0; /* {"type":"None"} carries nothing */
		if (s->nkept == s->capkept) {
			size_t ncap = s->capkept ? 2 * s->capkept : 16;
			struct rs_other **nk = realloc(s->kept, ncap * sizeof(*nk));
			if (!nk)
				return tl_error_set(err, TL_ERR_NOMEM, "out of memory keeping a record");
			s->kept = nk;
			s->capkept = ncap;
		}
		o = calloc(1, sizeof(*o));
		if (!o)
			return tl_error_set(err, TL_ERR_NOMEM, "out of memory keeping a record");
		tl_pos_init(&o->pos);
		if ((rc = intern_source(s, source, &src, err)) || (rc = tl_pos_copy(&o->pos, p, err))) {
			tl_pos_clear(&o->pos);
			free(o);
			return rc;
		}
		o->pub.pos = &o->pos;
		o->pub.is_current = is_current;
		o->pub.from.source = src;
		o->pub.from.line = line;
		s->kept[s->nkept++] = o;
		return 0;
	}
	if (!p->schema || !p->tb)
		return tl_error_set(err, TL_ERR_PARSE, "%s record has no schema or table",
				    p->type == TL_POS_RDB_SNAPSHOT ? "RdbSnapshot" : "RdbSnapshotFinished");
	if ((rc = intern_source(s, source, &src, err)) || (rc = tl_pos_copy(&copy, p, err)) ||
	    (rc = get_entry(s, p->schema, p->tb, &e, err)))
		goto cleanup;
	if (p->type == TL_POS_RDB_SNAPSHOT_FINISHED) {
		slot = &e->finished_pos;
		from = &e->pub.finished_from;
		e->pub.finished = 1;
		e->pub.finished_pos = slot;
	} else if (is_current) {
		slot = &e->current;
		from = &e->pub.current_from;
		e->pub.current = slot;
	} else {
		slot = &e->checkpoint;
		from = &e->pub.checkpoint_from;
		e->pub.checkpoint = slot;
	}
	tl_pos_clear(slot);
	*slot = copy;
	tl_pos_init(&copy);
	from->source = src;
	from->line = line;
cleanup:
	tl_pos_clear(&copy);
	return rc;
}

struct add_file_ctx {
	tl_resume_set *s;
	int lenient;
	size_t nbad;
};

static int add_rec(void *vctx, const tl_logrec *rec, tl_error *err)
{
	struct add_file_ctx *ctx = vctx;
	int rc = tl_resume_add(ctx->s, &rec->pos, rec->is_current, rec->path, (long)rec->line_no, err);

	if (rc == TL_ERR_PARSE) {
		if (ctx->lenient) {
			ctx->nbad++;
			tl_error_clear(err);
			return 0;
		}
		return tl_error_prefix(err, "%s:%zu", rec->path, rec->line_no);
	}
	return rc;
}

static int count_bad(void *vctx, const char *path, size_t line_no, const char *reason, tl_error *err)
{
	struct add_file_ctx *ctx = vctx;

	ctx->nbad++;
	return 0;
}

int tl_resume_add_file(tl_resume_set *s, const char *path, int lenient, size_t *nbad, tl_error *err)
{
	struct add_file_ctx ctx;
	int rc;

	ctx.s = s;
	ctx.lenient = lenient;
	ctx.nbad = 0;
	rc = tl_logfmt_read_file(path, add_rec, lenient ? count_bad : NULL, &ctx, err);
	if (nbad)
		*nbad = ctx.nbad;
	return rc;
}

enum tl_resume_state tl_resume_lookup(const tl_resume_set *s, const char *schema, const char *tb,
				      int checkpoint_only, const tl_position **pos, tl_origin *from)
{
	const struct rs_entry *e;
	size_t slot;

	if (pos)
		*pos = NULL;
	if (from) {
		from->source = NULL;
		from->line = 0;
	}
	if (!s || !schema || !tb)
		return TL_RESUME_NONE;
	e = find(s, schema, tb, hash_key(schema, tb), &slot);
	if (!e)
		return TL_RESUME_NONE;
	if (e->pub.finished) {
		if (pos)
			*pos = e->pub.finished_pos;
		if (from)
			*from = e->pub.finished_from;
		return TL_RESUME_FINISHED;
	}
	if (!checkpoint_only && e->pub.current) {
		if (pos)
			*pos = e->pub.current;
		if (from)
			*from = e->pub.current_from;
		return TL_RESUME_POSITION;
	}
	if (e->pub.checkpoint) {
		if (pos)
			*pos = e->pub.checkpoint;
		if (from)
			*from = e->pub.checkpoint_from;
		return TL_RESUME_POSITION;
	}
	return TL_RESUME_NONE;
}

size_t tl_resume_count(const tl_resume_set *s)
{
	return s ? s->n : 0;
}

size_t tl_resume_kept_count(const tl_resume_set *s)
{
	return s ? s->nkept : 0;
}

const tl_resume_other *tl_resume_kept_at(const tl_resume_set *s, size_t i)
{
	return i < s->nkept ? &s->kept[i]->pub : NULL;
}

size_t tl_resume_other_count(const tl_resume_set *s)
{
	return s ? s->other : 0;
}

const tl_resume_entry *tl_resume_at(const tl_resume_set *s, size_t i)
{
	if (!s || i >= s->n)
		return NULL;
	return &s->entries[i]->pub;
}
