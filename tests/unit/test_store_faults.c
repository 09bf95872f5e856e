/*
 * test_store_faults.c - an SQLite store whose files fail under it ends the call with an
 * error naming the file, never a signal (#18), and keeps what it had committed:
 *   - its -shm file truncated under the live mapping (the SIGBUS of an immutable or
 *     vanished page: the guard of src/store/db_sqlite.c);
 *   - an I/O error and a full device while writing the -wal;
 *   - a -shm that cannot grow (a reader holds the WAL, so it outgrows one index block);
 *   - a failed commit inside an explicit transaction leaves the previous record.
 * Faults are injected at the operating-system interface of SQLite's own unix VFS
 * (xSetSystemCall, as SQLite's test suite does): the real SQLite runs over them. Real
 * runs with immutable files, a read-only mount and a full tmpfs are in
 * tests/integration/store_faults.sh. The injection switch is file-level state of this
 * test program only (the VFS hook has no context argument).
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include "tideline/store.h"
#include "tl_test.h"

/* pwrite64 of the unix VFS, and what the injected one does: fail writes to files ending in fail_suffix. */
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
static pwrite_fn real_pwrite;
static int fail_errno;
static const char *fail_suffix;
static off_t fail_from; /* only writes at or after this offset */
static int fail_count;  /* writes refused */

static int fd_ends_with(int fd, const char *suffix)
{
	char link[64], path[4096];
	ssize_t n;
	size_t k = strlen(suffix);

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return 0;
	path[n] = '\0';
	return (size_t)n >= k && strcmp(path + n - (ssize_t)k, suffix) == 0;
}

static ssize_t inj_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (fail_errno && off >= fail_from && fd_ends_with(fd, fail_suffix)) {
		fail_count++;
		errno = fail_errno;
		return -1;
	}
	return real_pwrite(fd, buf, n, off);
}

/* Starts (e != 0) or ends injecting; returns the writes refused since the last call. */
static int inject(int e, const char *suffix, off_t from)
{
	sqlite3_vfs *u = sqlite3_vfs_find("unix");
	int refused = fail_count;

	if (!real_pwrite)
		real_pwrite = (pwrite_fn)u->xGetSystemCall(u, "pwrite64");
	fail_errno = e;
	fail_suffix = suffix;
	fail_from = from;
	fail_count = 0;
	if (u->xSetSystemCall(u, "pwrite64", e ? (sqlite3_syscall_ptr)inj_pwrite : (sqlite3_syscall_ptr)real_pwrite) !=
	    SQLITE_OK)
		tl_test_fail(__FILE__, __LINE__, "cannot hook pwrite64 of the unix VFS");
	return refused;
}

static int put(tl_store *s, const char *tb, long v, tl_error *err)
{
	tl_position p = TL_POSITION_INIT;
	char val[32];
	const char *cols[1] = {"id"}, *vals[1] = {val};
	int rc;

	snprintf(val, sizeof(val), "%ld", v);
	rc = tl_pos_set(&p, TL_POS_RDB_SNAPSHOT, "mysql", "shop", tb, TL_KEY_SINGLE, 1, cols, vals, err);
	if (!rc)
		rc = tl_store_put_position(s, "t", &p, 1, NULL, "run", 0, v, err);
	tl_pos_clear(&p);
	return rc;
}

/* The stored key value of shop.TB, or -1. */
static long stored(const char *path, const char *tb)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	tl_store_hit hit;
	long v = -1;

	if (tl_store_open(&s, path, TL_STORE_READONLY, &err)) {
		tl_test_fail(__FILE__, __LINE__, "reopening: %s", err.message);
		return -1;
	}
	if (tl_store_lookup(s, "t", "shop", tb, 0, &hit, &err) == 0) {
		if (hit.state == TL_RESUME_POSITION && hit.pos.nkeys == 1)
			v = strtol(hit.pos.keys[0].val, NULL, 10);
		tl_store_hit_clear(&hit);
	}
	tl_store_close(s);
	return v;
}

TL_TEST(faults_shm_truncated_is_an_error_not_sigbus)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	char path[4096], shm[4200];
	int rc;

	snprintf(path, sizeof(path), "%s/s.db", tl_test_tmpdir());
	snprintf(shm, sizeof(shm), "%s-shm", path);
	TL_CHECK_OK(tl_store_open(&s, path, 0, &err), &err);
	TL_CHECK_OK(put(s, "a", 1, &err), &err);
	/* someone cuts the -shm under the live mapping: any access beyond its end is SIGBUS */
	TL_CHECK(truncate(shm, 0) == 0);
	rc = put(s, "a", 2, &err);
	TL_CHECK_EQ_INT(rc, TL_ERR_STORE);
	TL_CHECK_MSG(strstr(err.message, shm) != NULL, "message names the -shm: %s", err.message);
	TL_CHECK_MSG(strstr(err.message, path) == err.message + strlen("store '"), "message names the store: %s",
		     err.message);
	/* and everything after: the connection is not used again */
	TL_CHECK_EQ_INT(put(s, "b", 3, &err), TL_ERR_STORE);
	TL_CHECK_EQ_INT(tl_store_begin(s, &err), TL_ERR_STORE);
	tl_store_close(s);
	/* what was committed before is there */
	TL_CHECK_EQ_INT(stored(path, "a"), 1);
}

TL_TEST(faults_io_error_and_full_device_on_the_wal)
{
	static const struct {
		int e;
		const char *says;
	} cases[] = {{EIO, "disk I/O error"}, {ENOSPC, "disk is full"}};
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	char path[4096];
	size_t i;

	snprintf(path, sizeof(path), "%s/w.db", tl_test_tmpdir());
	TL_CHECK_OK(tl_store_open(&s, path, 0, &err), &err);
	TL_CHECK_OK(put(s, "a", 10, &err), &err);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		inject(cases[i].e, "-wal", 0);
		TL_CHECK_EQ_INT(put(s, "a", 20, &err), TL_ERR_STORE);
		TL_CHECK(inject(0, NULL, 0) > 0);
		TL_CHECK_MSG(strstr(err.message, cases[i].says) != NULL, "%s: %s", cases[i].says, err.message);
		TL_CHECK_MSG(strstr(err.message, path) != NULL, "names the store: %s", err.message);
		TL_CHECK_EQ_INT(stored(path, "a"), 10);
		/* the fault gone, the same handle writes again */
		TL_CHECK_OK(put(s, "a", 11, &err), &err);
		TL_CHECK_EQ_INT(stored(path, "a"), 11);
		TL_CHECK_OK(put(s, "a", 10, &err), &err);
	}
	/* a failed commit of an explicit transaction: rolled back, the previous record stays */
	TL_CHECK_OK(tl_store_begin(s, &err), &err);
	TL_CHECK_OK(put(s, "a", 30, &err), &err);
	inject(EIO, "-wal", 0);
	TL_CHECK_EQ_INT(tl_store_commit(s, &err), TL_ERR_STORE);
	TL_CHECK(inject(0, NULL, 0) > 0);
	TL_CHECK(strstr(err.message, "committing") != NULL);
	TL_CHECK_EQ_INT(stored(path, "a"), 10);
	TL_CHECK_OK(put(s, "a", 31, &err), &err);
	tl_store_close(s);
	TL_CHECK_EQ_INT(stored(path, "a"), 31);
}

TL_TEST(faults_shm_cannot_grow)
{
	tl_error err = TL_ERROR_INIT;
	tl_store *s = NULL;
	sqlite3 *reader = NULL;
	char path[4096];
	long i, last_ok = -1;
	int rc = 0, refused;

	snprintf(path, sizeof(path), "%s/g.db", tl_test_tmpdir());
	TL_CHECK_OK(tl_store_open(&s, path, 0, &err), &err);
	TL_CHECK_OK(put(s, "a", 0, &err), &err);
	/* a reader holding its snapshot keeps every frame in the WAL: the index must grow past 32 KiB */
	TL_CHECK(sqlite3_open_v2(path, &reader, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
	TL_CHECK(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM position;", NULL, NULL, NULL) == SQLITE_OK);
	inject(ENOSPC, "-shm", 32768);
	for (i = 1; i < 20000 && rc == 0; i++) {
		rc = put(s, i % 2 ? "a" : "b", i, &err);
		if (rc == 0)
			last_ok = i;
	}
	refused = inject(0, NULL, 0);
	TL_CHECK_EQ_INT(rc, TL_ERR_STORE);
	TL_CHECK_MSG(refused > 0, "the -shm never had to grow (%ld records): %s", i, err.message);
	TL_CHECK_MSG(strstr(err.message, "cannot grow its shared-memory file") != NULL && strstr(err.message, "-shm"),
		     "%s", err.message);
	sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(reader);
	tl_store_close(s);
	/* the last record that succeeded is there */
	TL_CHECK_EQ_INT(stored(path, last_ok % 2 ? "a" : "b"), last_ok);
}
