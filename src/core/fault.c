/*
 * fault.c - the debug hooks of include/tideline/fault.h: parses TL_DEBUG_CRASH and
 * TL_DEBUG_FAIL specs (handed over by the CLI, never read from the environment here) and
 * counts crash points and driver calls with atomic counters, so the worker threads of a
 * run share one tl_fault without a lock and without any global state.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tideline/buf.h"
#include "tideline/fault.h"

#define MAX_FAILS 16

struct fail {
	enum tl_slot slot;
	long n;        /* the n-th call fails */
	int code;      /* enum tl_code */
	int transient; /* SQLSTATE 08006 */
	int after;     /* fail after a successful driver call */
	long calls;    /* calls seen (atomic) */
};

struct tl_fault {
	char *crash_point; /* NULL: none */
	long crash_left;   /* passes until the crash (atomic) */
	size_t nfails;
	struct fail fails[MAX_FAILS];
};

static const int codes[] = {TL_ERR_NOMEM,    TL_ERR_IO,          TL_ERR_PARSE,  TL_ERR_CONFIG,
			    TL_ERR_DB,       TL_ERR_STORE,       TL_ERR_NOTFOUND, TL_ERR_MISMATCH,
			    TL_ERR_INTERRUPTED, TL_ERR_LOCKED,   TL_ERR_USAGE,  TL_ERR_UNSUPPORTED,
			    TL_ERR_INTERNAL};

/* A positive decimal count of n bytes; -1 when it is not one. */
static long parse_count(const char *s, size_t n)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 9)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v > 0 ? v : -1;
}

static int parse_code(const char *s, size_t n, struct fail *f)
{
	size_t i;

	if (n == 9 && strncmp(s, "transient", 9) == 0) {
		f->code = TL_ERR_DB;
		f->transient = 1;
		return 0;
	}
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *name = tl_code_name(codes[i]);
		if (strlen(name) == n && strncmp(s, name, n) == 0) {
			f->code = codes[i];
			return 0;
		}
	}
	return -1;
}

/* SLOT:N[:ERROR[:after]] of n bytes into f. */
static int parse_fail(const char *s, size_t n, struct fail *f, tl_error *err)
{
	const char *part[4];
	size_t len[4], k = 0, i, start = 0;

	for (i = 0; i <= n && k < 4; i++)
		if (i == n || s[i] == ':') {
			part[k] = s + start;
			len[k++] = i - start;
			start = i + 1;
		}
	if (i <= n)
		return tl_error_set(err, TL_ERR_USAGE, "TL_DEBUG_FAIL: '%.*s' has more than 4 parts", (int)n, s);
	memset(f, 0, sizeof(*f));
	f->code = TL_ERR_DB;
	if (k < 2 || tl_slot_parse(part[0], len[0], &f->slot) != 0)
		return tl_error_set(err, TL_ERR_USAGE, "TL_DEBUG_FAIL: '%.*s' must start with a driver slot name and ':N'",
				    (int)n, s);
	if ((f->n = parse_count(part[1], len[1])) < 0)
		return tl_error_set(err, TL_ERR_USAGE, "TL_DEBUG_FAIL: '%.*s': '%.*s' is not a call count (1, 2, …)",
				    (int)n, s, (int)len[1], part[1]);
	if (k > 2 && len[2] && parse_code(part[2], len[2], f) != 0)
		return tl_error_set(err, TL_ERR_USAGE,
				    "TL_DEBUG_FAIL: '%.*s': unknown error '%.*s' (transient, db, io, mismatch, …)", (int)n,
				    s, (int)len[2], part[2]);
	if (k > 3) {
		if (len[3] != 5 || strncmp(part[3], "after", 5) != 0)
			return tl_error_set(err, TL_ERR_USAGE, "TL_DEBUG_FAIL: '%.*s': the 4th part can only be 'after'",
					    (int)n, s);
		f->after = 1;
	}
	return 0;
}

static int parse_crash(tl_fault *f, const char *spec, tl_error *err)
{
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);

	if (n == 0)
		return tl_error_set(err, TL_ERR_USAGE, "TL_DEBUG_CRASH=%s: no crash point name", spec);
	f->crash_left = 1;
	if (colon && (f->crash_left = parse_count(colon + 1, strlen(colon + 1))) < 0)
		return tl_error_set(err, TL_ERR_USAGE, "TL_DEBUG_CRASH=%s: '%s' is not a count (1, 2, …)", spec, colon + 1);
	if (!(f->crash_point = tl_strndup(spec, n)))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	return 0;
}

int tl_fault_new(tl_fault **out, const char *crash_spec, const char *fail_spec, tl_error *err)
{
	tl_fault *f;
	int rc = 0;

	*out = NULL;
	if ((!crash_spec || !*crash_spec) && (!fail_spec || !*fail_spec))
		return 0;
	if (!(f = calloc(1, sizeof(*f))))
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	if (crash_spec && *crash_spec)
		rc = parse_crash(f, crash_spec, err);
	while (!rc && fail_spec && *fail_spec) {
		const char *comma = strchr(fail_spec, ',');
		size_t n = comma ? (size_t)(comma - fail_spec) : strlen(fail_spec);

		if (f->nfails == MAX_FAILS)
			rc = tl_error_set(err, TL_ERR_USAGE, "TL_DEBUG_FAIL: more than %d faults", MAX_FAILS);
		else
			rc = parse_fail(fail_spec, n, &f->fails[f->nfails++], err);
		fail_spec = comma ? comma + 1 : NULL;
	}
	if (rc) {
		tl_fault_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

void tl_fault_free(tl_fault *f)
{
	if (!f)
		return;
	free(f->crash_point);
	free(f);
}

void tl_fault_crash_point(tl_fault *f, const char *point)
{
	if (!f || !f->crash_point || strcmp(f->crash_point, point) != 0)
		return;
	/* exactly one pass brings the count to 0; later ones go below it */
	if (__atomic_sub_fetch(&f->crash_left, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	fprintf(stderr, "tideline: debug crash at %s\n", point);
	fflush(stderr);
	kill(getpid(), SIGKILL);
}

/*
 * The injected error. "transient" looks like a lost connection as the drivers classify
 * one (error.h): SQLSTATE 08006, TL_ERRF_TRANSIENT and TL_ERRF_CONN_LOST, and, for a
 * write that went through (":after"), TL_ERRF_COMMIT_UNKNOWN.
 */
static int inject(const struct fail *fl, long call, tl_error *err)
{
	int rc = tl_error_set(err, fl->code, "injected %sfault: %s call %ld (TL_DEBUG_FAIL)", fl->transient ? "transient " : "",
			      tl_slot_name(fl->slot), call);

	if (fl->transient && err) {
		memcpy(err->sqlstate, "08006", 6);
		tl_error_add_flags(err, TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST |
						(fl->after && fl->slot == TL_SLOT_WRITE_BATCH ? TL_ERRF_COMMIT_UNKNOWN : 0));
	}
	return rc;
}

/* Counts this call on every fault of `slot` with the given timing; the first one due fires. */
static int count(tl_fault *f, enum tl_slot slot, int after, tl_error *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < f->nfails; i++) {
		struct fail *fl = &f->fails[i];
		long call;

		if (fl->slot != slot || fl->after != after)
			continue;
		call = __atomic_add_fetch(&fl->calls, 1, __ATOMIC_ACQ_REL);
		if (call == fl->n && !rc)
			rc = inject(fl, call, err);
	}
	return rc;
}

int tl_fault_before(tl_fault *f, enum tl_slot slot, tl_error *err)
{
	return f && f->nfails ? count(f, slot, 0, err) : 0;
}

int tl_fault_after(tl_fault *f, enum tl_slot slot, int rc, tl_error *err)
{
	int frc;

	if (!f || !f->nfails)
		return rc;
	frc = count(f, slot, 1, rc ? NULL : err);
	return rc ? rc : frc;
}
