/*
 * target_lib.h - what the target tests of the SQL kinds (test_target_mysql.c,
 * test_target_pg.c) share: connecting through the kind's driver, describe, key_exists
 * of n columns, and the two claim scenarios whose logic is the same on both servers
 * (driver.h claim/release, session locks): a holder's claims (several per session,
 * claiming again does not nest, release, a disconnect ends them all) and a holder that
 * dies without disconnecting or whose session the server ends; and key_exists' errors. What differs comes from
 * the kind (struct tgt_kind): its driver, its target's URL, and callbacks that run
 * through its own client library (end a session as a DBA would; what a transaction's end
 * must not change). Setup SQL and the kind's own cases stay in each test file.
 * Header-only (static functions), like conn_lib.h: each test file is its own executable.
 */
#ifndef TL_TARGET_LIB_H
#define TL_TARGET_LIB_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tideline/driver.h"
#include "tl_test.h"

/* The owner lines of the first and the second task's claims. */
#define TGT_OWNER "tideline task 't-first' (pid 4242 on test-host)"
#define TGT_SECOND "tideline task 't-second'"

/* A kind's target, for the shared scenarios. */
struct tgt_kind {
	const struct tl_driver_ops *d;
	const char *db_type; /* tl_endpoint.db_type */
	const char *url;     /* the target's, from the environment */
	void *ctx;           /* the callbacks' (the test's admin connection) */
	/* Runs setup SQL on ctx; 0, or -1 with the test failed. */
	int (*run)(void *ctx, const char *sql);
	/* Ends from the server side, as a DBA would, the session of a (which holds claims as
	 * TGT_OWNER); 0, or -1 with the test failed. */
	int (*end_session)(void *ctx, tl_conn *a);
	/* Optional: runs, while a holds claims, what must not release them (PostgreSQL: a
	 * transaction's end on another session); 0, or -1 with the test failed. */
	int (*meanwhile)(void *ctx);
};

static inline tl_conn *tgt_open(const struct tgt_kind *k, const char *url, const char *app)
{
	tl_endpoint ep = {.db_type = k->db_type, .url = url, .username = "", .password = "", .app_name = app};
	tl_error err = TL_ERROR_INIT;
	tl_conn *c = NULL;

	if (k->d->connect(&ep, &c, &err) != 0) {
		tl_test_fail(__FILE__, __LINE__, "connect %s: %s", url, err.message);
		return NULL;
	}
	return c;
}

static inline tl_table *tgt_describe(const struct tgt_kind *k, tl_conn *c, const char *schema, const char *name)
{
	tl_error err = TL_ERROR_INIT;
	tl_table *t = NULL;

	if (k->d->describe(c, schema, name, &t, &err) != 0)
		tl_test_fail(__FILE__, __LINE__, "describe %s.%s: %s", schema, name, err.message);
	return t;
}

/* key_exists of n columns (cols[i] = vals[i]); -1 on error (err kept). */
static inline int tgt_exists(const struct tgt_kind *k, tl_conn *c, const tl_table *t, size_t n,
			     const char *const *cols, const char *const *vals, tl_error *err)
{
	tl_keyvals kv = {0};
	int found = -1;

	tl_error_clear(err);
	if (tl_keyvals_set(&kv, n, cols, vals, err) == 0 && k->d->key_exists(c, t, &kv, &found, err) != 0)
		found = -1;
	tl_keyvals_clear(&kv);
	return found;
}

/*
 * key_exists on t, tl_tgt.kc (a int, b text, c binary; PRIMARY KEY (a, b, c); v int null,
 * w a timestamp) holding (1, 'x', 00ff, 10, w_at), (2, 'y', 01, NULL, NULL) and
 * (3, 'z''q', empty, 30, NULL): whole keys (a quote in one, an empty binary), a split
 * table's bound (the partition column alone), columns without an index, NULL, and the
 * timestamp w_at (found) and w_not (not), both spelled as the kind spells them.
 */
static inline void tgt_check_exists_found(const struct tgt_kind *k, tl_conn *c, const tl_table *t, const char *w_at,
					  const char *w_not)
{
	const char *const abc[] = {"a", "b", "c"};
	const char *const k1[] = {"1", "x", "00ff"}, *const k1b[] = {"1", "x", "01"}, *const k3[] = {"3", "z'q", ""};
	const char *const part_col[] = {"a"}, *const two[] = {"2"}, *const four[] = {"4"};
	const char *const vcol[] = {"v"}, *const null_val[] = {NULL}, *const ten[] = {"10"};
	const char *const wcol[] = {"w"}, *const w1[] = {w_at}, *const w2[] = {w_not};
	tl_error err = TL_ERROR_INIT;

	TL_CHECK_EQ_INT(tgt_exists(k, c, t, 3, abc, k1, &err), 1);
	TL_CHECK_EQ_INT(tgt_exists(k, c, t, 3, abc, k1b, &err), 0);
	TL_CHECK_EQ_INT(tgt_exists(k, c, t, 3, abc, k3, &err), 1); /* quote in a key, empty binary */
	/* a split table's bound: the partition column alone */
	TL_CHECK_EQ_INT(tgt_exists(k, c, t, 1, part_col, two, &err), 1);
	TL_CHECK_EQ_INT(tgt_exists(k, c, t, 1, part_col, four, &err), 0);
	/* columns without an index, NULL */
	TL_CHECK_EQ_INT(tgt_exists(k, c, t, 1, vcol, null_val, &err), 1);
	TL_CHECK_EQ_INT(tgt_exists(k, c, t, 1, vcol, ten, &err), 1);
	TL_CHECK_EQ_INT(tgt_exists(k, c, t, 1, wcol, w1, &err), 1);
	TL_CHECK_EQ_INT(tgt_exists(k, c, t, 1, wcol, w2, &err), 0);
}

/*
 * key_exists on t (tl_tgt.kc, whose int column a holds 1) refuses what it cannot look up:
 * a value that does not fit (TL_ERR_MISMATCH, naming it and the table), an unknown column
 * (TL_ERR_INTERNAL), the table dropped under the run (TL_ERR_NOTFOUND, naming it as
 * `quoted`); recreated empty (the kind's `recreate` statement), the key is gone, and the
 * connection stays usable after the errors.
 */
static inline void tgt_check_exists_errors(const struct tgt_kind *k, tl_conn *c, const tl_table *t,
					   const char *quoted, const char *recreate)
{
	const char *const acol[] = {"a"}, *const bad[] = {"zz"}, *const one[] = {"1"};
	const char *const nocol[] = {"nope"};
	tl_error err = TL_ERROR_INIT;

	TL_CHECK_EQ_INT(tgt_exists(k, c, t, 1, acol, bad, &err), -1);
	TL_CHECK_EQ_INT(err.code, TL_ERR_MISMATCH);
	TL_CHECK_MSG(strstr(err.message, "zz") && strstr(err.message, "kc"), "message: %s", err.message);
	TL_CHECK_EQ_INT(tgt_exists(k, c, t, 1, nocol, one, &err), -1);
	TL_CHECK_EQ_INT(err.code, TL_ERR_INTERNAL);
	if (k->run(k->ctx, "DROP TABLE tl_tgt.kc"))
		return;
	TL_CHECK_EQ_INT(tgt_exists(k, c, t, 1, acol, one, &err), -1);
	TL_CHECK_EQ_INT(err.code, TL_ERR_NOTFOUND);
	TL_CHECK_MSG(strstr(err.message, quoted) != NULL, "message: %s", err.message);
	if (k->run(k->ctx, recreate))
		return;
	TL_CHECK_EQ_INT(tgt_exists(k, c, t, 1, acol, one, &err), 0);
	TL_CHECK_EQ_INT(tgt_exists(k, c, t, 1, acol, one, &err), 0);
}

/* A claim of t as TGT_OWNER. */
static inline int tgt_claim(const struct tgt_kind *k, tl_conn *c, const tl_table *t, tl_error *err)
{
	tl_error_clear(err);
	return k->d->claim(c, t, TGT_OWNER, err);
}

/* The second task claims until it succeeds or `secs` pass: the server ends a closed or
 * dead client's session soon, not at once. */
static inline int tgt_claim_within(const struct tgt_kind *k, tl_conn *c, const tl_table *t, int secs, tl_error *err)
{
	int i, rc = -1;

	for (i = 0; i < secs * 10; i++) {
		tl_error_clear(err);
		if ((rc = k->d->claim(c, t, TGT_SECOND, err)) != TL_ERR_LOCKED)
			return rc;
		usleep(100000);
	}
	return rc;
}

/*
 * The claims of one session (*a holds kc's claim, refused to b, when called): several
 * claims per session; claiming again does not nest (one release frees it); what the
 * kind's `meanwhile` runs leaves them held; releasing what one does not hold is nothing;
 * a disconnect ends every claim of the session (*a is disconnected and set NULL).
 */
static inline void tgt_check_session_claims(const struct tgt_kind *k, tl_conn **a, tl_conn *b, const tl_table *kc,
					    const tl_table *kc2, const tl_table *kc3)
{
	tl_error err = TL_ERROR_INIT;

	TL_CHECK_OK(tgt_claim(k, *a, kc2, &err), &err);
	TL_CHECK_OK(tgt_claim(k, *a, kc3, &err), &err);
	TL_CHECK_OK(tgt_claim(k, *a, kc, &err), &err);
	if (k->meanwhile && k->meanwhile(k->ctx))
		return;
	TL_CHECK_EQ_INT(tgt_claim(k, b, kc2, &err), TL_ERR_LOCKED);
	TL_CHECK_OK(k->d->release(*a, kc, &err), &err);
	TL_CHECK_OK(tgt_claim(k, b, kc, &err), &err);
	TL_CHECK_EQ_INT(tgt_claim(k, *a, kc, &err), TL_ERR_LOCKED);
	TL_CHECK_OK(k->d->release(*a, kc, &err), &err); /* not held: nothing */
	TL_CHECK_EQ_INT(tgt_claim(k, *a, kc, &err), TL_ERR_LOCKED);
	k->d->disconnect(*a);
	*a = NULL;
	TL_CHECK_OK(tgt_claim_within(k, b, kc2, 10, &err), &err);
	TL_CHECK_OK(tgt_claim(k, b, kc3, &err), &err);
}

/*
 * A holder's claim ends with it: a process that claims kc (connected as child_app) and
 * dies without disconnecting, as SIGKILL leaves it, holds it until the server ends its
 * session; then a session the server ends (the kind's end_session) loses its claims too.
 * b is the second task's connection.
 */
static inline void tgt_check_dead_holder(const struct tgt_kind *k, const char *child_app, tl_conn *b,
					 const tl_table *kc)
{
	tl_error err = TL_ERROR_INIT;
	tl_conn *a = NULL;
	int fds[2] = {-1, -1}, status = 0;
	char byte = 0;
	pid_t child;

	if (pipe(fds) != 0) {
		tl_test_fail(__FILE__, __LINE__, "pipe failed");
		return;
	}
	child = fork();
	if (child == 0) {
		tl_conn *x = tgt_open(k, k->url, child_app);
		tl_error e = TL_ERROR_INIT;
		char ok = (x && k->d->claim(x, kc, TGT_OWNER, &e) == 0) ? 'y' : 'n';
		if (write(fds[1], &ok, 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	TL_CHECK(child > 0);
	if (child <= 0 || read(fds[0], &byte, 1) != 1)
		goto cleanup;
	TL_CHECK_EQ_INT(byte, 'y');
	TL_CHECK_EQ_INT(tgt_claim(k, b, kc, &err), TL_ERR_LOCKED);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	TL_CHECK_OK(tgt_claim_within(k, b, kc, 10, &err), &err);
	/* a session the server ends (a DBA's KILL, pg_terminate_backend) loses its claims too */
	TL_CHECK_OK(k->d->release(b, kc, &err), &err);
	if (!(a = tgt_open(k, k->url, child_app)))
		goto cleanup;
	TL_CHECK_OK(tgt_claim(k, a, kc, &err), &err);
	if (k->end_session(k->ctx, a))
		goto cleanup;
	TL_CHECK_OK(tgt_claim_within(k, b, kc, 10, &err), &err);
cleanup:
	close(fds[0]);
	close(fds[1]);
	k->d->disconnect(a);
}

#endif
