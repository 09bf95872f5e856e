/*
 * test_schema_common.h - what the definition tests of every kind share (header-only:
 * each test is its own executable): copying one table's rows through a driver, and
 * running a step list phase by phase as the engine will (PRE_DATA, the rows of every
 * table, TABLE_POST, POST_DATA, FINAL), checking what schema_apply reports.
 */
#ifndef TL_TEST_SCHEMA_COMMON_H
#define TL_TEST_SCHEMA_COMMON_H

#include <stdio.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>
#include "tideline/driver.h"
#include "tideline/schema.h"
#include "tl_test.h"

/* Copies every row of src table schema.name into the same-named target table (bulk path). */
static int schema_copy_rows(const struct tl_driver_ops *ops, tl_conn *src, tl_conn *dst, const char *schema,
			    const char *name)
{
	tl_error err = TL_ERROR_INIT;
	tl_table *t = NULL;
	tl_reader *r = NULL;
	tl_batch b;
	tl_read_spec spec;
	int rc = -1;

	memset(&spec, 0, sizeof(spec));
	spec.mode = TL_READ_SCAN;
	spec.batch_rows = 500;
	if (ops->describe(src, schema, name, &t, &err) != 0) {
		tl_test_fail(__FILE__, __LINE__, "describe %s.%s: %s", schema, name, err.message);
		return -1;
	}
	tl_batch_init(&b, t->ncols, 1 << 20);
	if (ops->open_reader(src, t, &spec, &r, &err) != 0) {
		tl_test_fail(__FILE__, __LINE__, "open_reader %s.%s: %s", schema, name, err.message);
		goto cleanup;
	}
	for (;;) {
		tl_batch_reset(&b);
		if (ops->read_batch(r, &b, &err) != 0) {
			tl_test_fail(__FILE__, __LINE__, "read_batch %s.%s: %s", schema, name, err.message);
			goto cleanup;
		}
		if (b.nrows == 0)
			break;
		if (ops->write_batch(dst, t, &b, TL_WRITE_TARGET_EMPTY, &err) != 0) {
			tl_test_fail(__FILE__, __LINE__, "write_batch %s.%s: %s", schema, name, err.message);
			goto cleanup;
		}
	}
	rc = 0;
cleanup:
	ops->close_reader(r);
	tl_batch_release(&b);
	ops->free_table(t);
	return rc;
}

/*
 * Applies the steps of one phase in list order. want_before: bits (1u << state) that
 * schema_apply may report as found first; anything else fails the test. Returns the
 * number of steps applied, -1 on failure.
 */
static int schema_apply_phase(const struct tl_driver_ops *ops, tl_conn *dst, const tl_schema_list *l,
			      enum tl_schema_phase phase, unsigned want_before)
{
	tl_error err = TL_ERROR_INIT;
	enum tl_schema_state before;
	size_t i;
	int n = 0;

	for (i = 0; i < l->n; i++) {
		const tl_schema_step *s = &l->items[i];
		if (s->phase != phase)
			continue;
		if (ops->schema_apply(dst, s, &before, &err) != 0) {
			tl_test_fail(__FILE__, __LINE__, "apply %s: %s\n      %s", s->id, err.message, s->sql);
			return -1;
		}
		/* a new server already has schema public and extension plpgsql */
		if (!(want_before & (1u << before)) &&
		    !(before == TL_SCHEMA_PRESENT && (s->kind == TL_SK_SCHEMA || s->kind == TL_SK_EXTENSION))) {
			tl_test_fail(__FILE__, __LINE__, "apply %s found state %d first", s->id, (int)before);
			return -1;
		}
		n++;
	}
	return n;
}

#define SCHEMA_FRESH ((1u << TL_SCHEMA_ABSENT) | (1u << TL_SCHEMA_UNKNOWN))
#define SCHEMA_DONE ((1u << TL_SCHEMA_PRESENT) | (1u << TL_SCHEMA_UNKNOWN))

/* The engine's order: definitions, rows of names[0..n), keys and indexes, the rest, values. */
static int schema_apply_all(const struct tl_driver_ops *ops, tl_conn *src, tl_conn *dst, const tl_schema_list *l,
			    const tl_name *names, size_t n, unsigned want_before)
{
	size_t i;

	if (schema_apply_phase(ops, dst, l, TL_PHASE_PRE_DATA, want_before) < 0)
		return -1;
	for (i = 0; src && i < n; i++)
		if (schema_copy_rows(ops, src, dst, names[i].schema, names[i].name) != 0)
			return -1;
	if (schema_apply_phase(ops, dst, l, TL_PHASE_TABLE_POST, want_before) < 0 ||
	    schema_apply_phase(ops, dst, l, TL_PHASE_POST_DATA, want_before) < 0 ||
	    schema_apply_phase(ops, dst, l, TL_PHASE_FINAL, want_before) < 0)
		return -1;
	return 0;
}

/* Checks the list's order contract: phases ascend, deps point backwards, levels follow deps. */
static void schema_check_order(const tl_schema_list *l)
{
	size_t i, k;

	for (i = 0; i < l->n; i++) {
		const tl_schema_step *s = &l->items[i];
		unsigned lv = 0;
		TL_CHECK_MSG(i == 0 || l->items[i - 1].phase <= s->phase, "%s comes after a later phase", s->id);
		TL_CHECK_MSG(s->sql && *s->sql, "%s has no SQL", s->id);
		for (k = 0; k < s->ndeps; k++) {
			const tl_schema_step *d = &l->items[s->deps[k]];
			TL_CHECK_MSG(s->deps[k] < i, "%s needs %s, listed after it", s->id, d->id);
			if (d->phase == s->phase && d->level + 1 > lv)
				lv = d->level + 1;
		}
		TL_CHECK_MSG(s->level == lv, "%s has level %u, expected %u", s->id, s->level, lv);
	}
}

/* With TL_SCHEMA_DUMP set, prints the list (to read what a driver extracted). */
static void schema_dump(const tl_schema_list *l)
{
	size_t i, k;

	if (!getenv("TL_SCHEMA_DUMP"))
		return;
	for (i = 0; i < l->n; i++) {
		const tl_schema_step *s = &l->items[i];
		printf("[%zu] %s  phase=%s level=%u owner=%zd deps=", i, s->id, tl_schema_phase_name(s->phase), s->level,
		       s->owner == TL_SCHEMA_NO_OWNER ? (ssize_t)-1 : (ssize_t)s->owner);
		for (k = 0; k < s->ndeps; k++)
			printf("%s%zu", k ? "," : "", s->deps[k]);
		printf("\n    %s\n", s->sql);
		for (k = 0; k < s->nparts; k++)
			printf("    part %s: %s\n", s->parts[k].name, s->parts[k].sql);
	}
}

/* Index of the step with this id (fails the test when absent). */
static const tl_schema_step *schema_step(const tl_schema_list *l, const char *id)
{
	size_t i = tl_schema_list_find(l, id);

	if (i == TL_SCHEMA_NO_OWNER) {
		tl_test_fail(__FILE__, __LINE__, "no step \"%s\"", id);
		return NULL;
	}
	return &l->items[i];
}

#endif
