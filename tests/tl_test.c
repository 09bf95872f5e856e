/*
 * tl_test.c - runner for tl_test.h: runs every registered case (or those named on the
 * command line), prints one line per case (ok, FAIL, skip, n/a) and closes with "N passed,
 * N failed, N skipped" (and "N not applicable" when there are such cases).
 */
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include "tl_test.h"

#define MAX_TESTS 512

static struct { const char *name; tl_test_fn fn; } tests[MAX_TESTS];
static int ntests;
static int cur_failed;
static int cur_skipped;
static int cur_na;
static char tmpdir[4096];

void tl_test_register(const char *name, tl_test_fn fn)
{
	if (ntests < MAX_TESTS) {
		tests[ntests].name = name;
		tests[ntests].fn = fn;
		ntests++;
	}
}

void tl_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cur_failed = 1;
}

int tl_test_failed(void) { return cur_failed; }

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

/*
 * Where tl_test_tmpdir() makes its directory: TL_TEST_TMPDIR when it is a writable
 * directory with 512 MB free (tests/CMakeLists.txt points the unit tests at /dev/shm:
 * the fsyncs of their hundreds of SQLite stores took longer than the tests themselves),
 * else TMPDIR, else /tmp.
 */
static const char *tmp_base(void)
{
	const char *fast = getenv("TL_TEST_TMPDIR");
	struct statvfs sv;

	if (fast && *fast && access(fast, W_OK) == 0 && statvfs(fast, &sv) == 0 &&
	    (unsigned long long)sv.f_bavail * sv.f_frsize >= 512ULL << 20)
		return fast;
	return getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
}

const char *tl_test_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "%s/tl_test_XXXXXX", tmp_base());
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(2);
		}
	}
	return tmpdir;
}

const char *tl_test_srcdir(void)
{
	return TL_TEST_SRCDIR;
}

const char *tl_test_require_env(const char *name)
{
	const char *v = getenv(name);

	if (v && *v)
		return v;
	if (getenv("CI") && *getenv("CI")) {
		tl_test_fail(__FILE__, __LINE__, "%s is not set but CI is: the test server did not start", name);
		return NULL;
	}
	fprintf(stderr, "    skipped: %s is not set (start servers with tools/servers.sh)\n", name);
	cur_skipped = 1;
	return NULL;
}

void tl_test_na(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "    n/a: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cur_na = 1;
}

const char *tl_test_conformance_dir(void)
{
	static char path[4096];
	const char *env = getenv("TL_CONFORMANCE_DIR");

	if (env && *env)
		snprintf(path, sizeof(path), "%s", env);
	else
		snprintf(path, sizeof(path), "%s/../../shared/conformance", TL_TEST_SRCDIR);
	return access(path, R_OK) == 0 ? path : NULL;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0, skipped = 0, na = 0, i, j;

	for (i = 0; i < ntests; i++) {
		int selected = argc < 2;
		for (j = 1; j < argc; j++)
			if (strcmp(argv[j], tests[i].name) == 0)
				selected = 1;
		if (!selected)
			continue;
		cur_failed = 0;
		cur_skipped = 0;
		cur_na = 0;
		tmpdir[0] = '\0';
		tests[i].fn();
		if (tmpdir[0])
			nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
		printf("%s %s\n", cur_failed ? "FAIL" : cur_skipped ? "skip" : cur_na ? "n/a " : "ok  ", tests[i].name);
		fflush(stdout); /* in order with the cases' stderr notes, and visible when a case hangs */
		if (cur_failed)
			failed++;
		else if (cur_skipped)
			skipped++;
		else if (cur_na)
			na++;
		else
			passed++;
	}
	if (na)
		printf("%d passed, %d failed, %d skipped, %d not applicable\n", passed, failed, skipped, na);
	else
		printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	if (failed)
		return 1;
	return (skipped && !passed) ? 77 : 0;
}
