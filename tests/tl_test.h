/*
 * tl_test.h - the tiny unit-test harness: TL_TEST(name) { ... } registers a case,
 * TL_CHECK / TL_CHECK_EQ_STR / TL_CHECK_EQ_INT fail it with file:line. Each test file is
 * its own executable (linked with tl_test.c); ctest runs them all. A test may call
 * tl_test_tmpdir() for a fresh directory that is removed afterwards, and tl_test_na() to
 * report itself not applicable.
 */
#ifndef TL_TEST_H
#define TL_TEST_H

#include <stdio.h>
#include <string.h>

typedef void (*tl_test_fn)(void);
void tl_test_register(const char *name, tl_test_fn fn);
void tl_test_fail(const char *file, int line, const char *fmt, ...);
int tl_test_failed(void);
/* A fresh empty directory for the running test (removed after it). */
const char *tl_test_tmpdir(void);
/* Directory of the source tree's tests/ folder (for data files). */
const char *tl_test_srcdir(void);
/*
 * Returns getenv(name) or, when unset, marks the running test skipped and returns NULL
 * (the test should return). Under CI (env CI set) a missing variable is a failure, so a
 * server that did not start can never pass silently. A run where every test was
 * skipped exits 77 (ctest: skipped).
 */
const char *tl_test_require_env(const char *name);
/*
 * Marks the running test "not applicable" with a reason (printf-style), printed as
 * "    n/a: reason" and reported as "n/a" (the driver contract suite: a kind without the
 * slot or capability a case tests). Unlike a skip it is no failure under CI; a test
 * that also failed is reported failed.
 */
void tl_test_na(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* ../shared/conformance if it exists, else NULL. */
const char *tl_test_conformance_dir(void);

#define TL_TEST(name)                                                           \
	static void name(void);                                                 \
	__attribute__((constructor)) static void name##_register(void)         \
	{                                                                       \
		tl_test_register(#name, name);                                  \
	}                                                                       \
	static void name(void)

#define TL_CHECK(cond)                                                          \
	do {                                                                    \
		if (!(cond))                                                    \
			tl_test_fail(__FILE__, __LINE__, "check failed: %s", #cond); \
	} while (0)

#define TL_CHECK_MSG(cond, ...)                                                 \
	do {                                                                    \
		if (!(cond))                                                    \
			tl_test_fail(__FILE__, __LINE__, __VA_ARGS__);          \
	} while (0)

#define TL_CHECK_EQ_INT(a, b)                                                   \
	do {                                                                    \
		long long _a = (long long)(a), _b = (long long)(b);             \
		if (_a != _b)                                                   \
			tl_test_fail(__FILE__, __LINE__, "%s == %lld, expected %lld", #a, _a, _b); \
	} while (0)

#define TL_CHECK_EQ_STR(a, b)                                                   \
	do {                                                                    \
		const char *_a = (a), *_b = (b);                                \
		if (!_a || !_b || strcmp(_a, _b) != 0)                          \
			tl_test_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, \
				     _a ? _a : "(null)", _b ? _b : "(null)");   \
	} while (0)

/* Stops the current test if a call failed (prints the error message). */
#define TL_CHECK_OK(call, errp)                                                 \
	do {                                                                    \
		int _rc = (call);                                               \
		if (_rc != 0) {                                                 \
			tl_test_fail(__FILE__, __LINE__, "%s failed (%d): %s", #call, _rc, (errp)->message); \
			return;                                                 \
		}                                                               \
	} while (0)

#endif
