/*
 * db_sqlite.c - the SQLite side of the store's SQL layer (store_db.h): the default
 * store, one file in WAL mode, plus the guard that turns a fault of its shared-memory
 * file into an error instead of a signal. With db_pg.c, the only code that includes
 * sqlite3.h besides the unit tests.
 *
 * Why a guard. In WAL mode SQLite keeps the wal-index in the "-shm" file beside the
 * database and maps it into memory (MAP_SHARED), so that readers in other processes
 * (status, the sqlite3 shell) see the writer's commits. A write into that mapping is a
 * plain memory store: when the file cannot take it - `chattr +i` (ext4 refuses the page
 * fault of an immutable file), a file truncated by someone else, a page that cannot be
 * allocated - the kernel answers with SIGBUS, which killed tideline (#18). There is no
 * setting that keeps concurrent readers without that mapping: a heap wal-index needs
 * locking_mode=EXCLUSIVE (no readers), the rollback journal gives up WAL (the spec's
 * concurrent reads and one-transaction checkpoints). The main database file is never
 * mapped (PRAGMA mmap_size = 0, also SQLite's default), so the -shm is the only mapping.
 *
 * How it works. Stores open through a VFS shim, "tideline-guard", that wraps the default
 * unix VFS and forwards everything; it only notes each -shm region SQLite maps (address,
 * length, file offset) in a fixed table, and keeps its own read-only descriptor of the
 * -shm file. A SIGBUS handler (installed once, chaining to whatever handler was there
 * before) looks the faulting address up in that table. Not ours: the previous handler
 * or the default action, exactly as before. Ours: the page is replaced by a private
 * anonymous page (MAP_FIXED) filled with the file's current content by pread, the
 * connection is marked faulted, and the interrupted store instruction is retried on the
 * private page and succeeds. Every call of this layer checks the mark afterwards: a
 * faulted connection fails that call (the store reports "cannot write its shared-memory
 * file", naming it) and every later one, and is closed without a checkpoint, so nothing
 * computed from the private page ever reaches the database file. Only mmap, pread and
 * atomic stores run in the handler. The table is process-wide state by necessity (a
 * signal handler has no other way to find it); it is written only by the shim.
 *
 * Other failures (EACCES, EROFS, EPERM on the WAL, ENOSPC, EIO) come back from SQLite as
 * errors; their messages carry the system error (sqlite3_system_errno).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "store/store_db.h"
#include "tideline/buf.h"

/*
 * How long a statement waits for another connection's write lock, polling every 1-3 ms:
 * SQLite's own handler backs off to 100 ms sleeps, which under many writers (a fleet on
 * one host: claims) lets a few connections take the lock again and again while others
 * time out.
 */
#define BUSY_MS 30000
/* setting WAL on a fresh file needs a moment alone with it: retried this long */
#define WAL_SWITCH_MS 10000
#define GUARD_VFS "tideline-guard"
#define GUARD_SLOTS 4096

extern const struct tl_store_step tl_schema_steps[];

/* ---- the -shm guard ---------------------------------------------------------------- */

struct guard_file {
	sqlite3_file base;   /* pMethods: guard_io, or NULL when the real open failed */
	sqlite3_file *real;  /* the unix VFS's file, placed right after this struct */
	const char *name;    /* database path (SQLite keeps it valid until xClose) */
	int is_main;         /* the main database file (owner of the -shm) */
	int shm_fd;          /* read-only descriptor of NAME-shm for the handler, -1 */
	atomic_int faulted;  /* set by the SIGBUS handler */
};

/* One mapped -shm region. base 0 = free slot; the other fields are written before base. */
struct guard_slot {
	_Atomic uintptr_t base;
	_Atomic size_t len;
	_Atomic long long off;
	struct guard_file *_Atomic owner;
};

static struct guard_slot guard_slots[GUARD_SLOTS];
static sqlite3_vfs guard_vfs;
static sqlite3_io_methods guard_io;
static struct sigaction guard_prev;
static size_t guard_pagesz;
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;
static int guard_ready; /* written once under guard_once */

#define GUARD_REAL_OFF ((sizeof(struct guard_file) + 15u) & ~(size_t)15u)

static sqlite3_vfs *real_vfs(void)
{
	return (sqlite3_vfs *)guard_vfs.pAppData;
}

static void guard_unregister(struct guard_file *g)
{
	size_t i;

	for (i = 0; i < GUARD_SLOTS; i++)
		if (atomic_load(&guard_slots[i].base) > 1 && atomic_load(&guard_slots[i].owner) == g)
			atomic_store(&guard_slots[i].base, 0);
}

static int guard_register(struct guard_file *g, void *p, size_t len, off_t off)
{
	size_t i;

	for (i = 0; i < GUARD_SLOTS; i++) {
		uintptr_t expect = 0;
		struct guard_slot *s = &guard_slots[i];

		if (atomic_load(&s->base) != 0)
			continue;
		/* claim the slot with a sentinel, fill it, then publish the address */
		if (!atomic_compare_exchange_strong(&s->base, &expect, (uintptr_t)1))
			continue;
		atomic_store(&s->len, len);
		atomic_store(&s->off, (long long)off);
		atomic_store(&s->owner, g);
		atomic_store(&s->base, (uintptr_t)p);
		return 0;
	}
	return -1;
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	int ours = 0;
	size_t i;

	if (si->si_code > 0) { /* a fault, not kill() */
		for (i = 0; i < GUARD_SLOTS; i++) {
			struct guard_slot *s = &guard_slots[i];
			uintptr_t b = atomic_load(&s->base);
			struct guard_file *owner;

			if (b <= 1 || a < b || a >= b + atomic_load(&s->len))
				continue;
			owner = atomic_load(&s->owner);
			if (!ours) {
				uintptr_t page = a & ~(uintptr_t)(guard_pagesz - 1);
				void *p = mmap((void *)page, guard_pagesz, PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

				if (p == MAP_FAILED)
					break;
				if (owner->shm_fd >= 0 &&
				    pread(owner->shm_fd, p, guard_pagesz, (off_t)atomic_load(&s->off) + (off_t)(page - b)) < 0)
					memset(p, 0, guard_pagesz);
				ours = 1;
			}
			/* every connection of this process shares the mapping: mark them all */
			atomic_store(&owner->faulted, 1);
		}
	}
	if (ours)
		return;
	if (guard_prev.sa_flags & SA_SIGINFO) {
		if (guard_prev.sa_sigaction) {
			guard_prev.sa_sigaction(sig, si, uc);
			return;
		}
	} else if (guard_prev.sa_handler != SIG_DFL && guard_prev.sa_handler != SIG_IGN) {
		guard_prev.sa_handler(sig);
		return;
	}
	/* the default action: returning re-runs the faulting instruction, which ends the process */
	signal(SIGBUS, SIG_DFL);
}

static int g_close(sqlite3_file *f)
{
	struct guard_file *g = (struct guard_file *)f;
	int rc;

	guard_unregister(g);
	if (g->shm_fd >= 0)
		close(g->shm_fd);
	g->shm_fd = -1;
	rc = g->real->pMethods->xClose(g->real);
	g->base.pMethods = NULL;
	return rc;
}

#define FWD(g) (((struct guard_file *)(g))->real)
static int g_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) { return FWD(f)->pMethods->xRead(FWD(f), b, n, o); }
static int g_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o) { return FWD(f)->pMethods->xWrite(FWD(f), b, n, o); }
static int g_truncate(sqlite3_file *f, sqlite3_int64 n) { return FWD(f)->pMethods->xTruncate(FWD(f), n); }
static int g_sync(sqlite3_file *f, int fl) { return FWD(f)->pMethods->xSync(FWD(f), fl); }
static int g_size(sqlite3_file *f, sqlite3_int64 *n) { return FWD(f)->pMethods->xFileSize(FWD(f), n); }
static int g_lock(sqlite3_file *f, int l) { return FWD(f)->pMethods->xLock(FWD(f), l); }
static int g_unlock(sqlite3_file *f, int l) { return FWD(f)->pMethods->xUnlock(FWD(f), l); }
static int g_check(sqlite3_file *f, int *o) { return FWD(f)->pMethods->xCheckReservedLock(FWD(f), o); }
static int g_sector(sqlite3_file *f) { return FWD(f)->pMethods->xSectorSize(FWD(f)); }
static int g_devchar(sqlite3_file *f) { return FWD(f)->pMethods->xDeviceCharacteristics(FWD(f)); }
static int g_shmlock(sqlite3_file *f, int o, int n, int fl) { return FWD(f)->pMethods->xShmLock(FWD(f), o, n, fl); }
static void g_barrier(sqlite3_file *f) { FWD(f)->pMethods->xShmBarrier(FWD(f)); }
static int g_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp) { return FWD(f)->pMethods->xFetch(FWD(f), o, n, pp); }
static int g_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p) { return FWD(f)->pMethods->xUnfetch(FWD(f), o, p); }

static int g_fcntl(sqlite3_file *f, int op, void *arg)
{
	return FWD(f)->pMethods->xFileControl(FWD(f), op, arg);
}

static int g_shmmap(sqlite3_file *f, int region, int size, int extend, void volatile **pp)
{
	struct guard_file *g = (struct guard_file *)f;
	int rc = FWD(f)->pMethods->xShmMap(FWD(f), region, size, extend, pp);

	if (rc != SQLITE_OK || !*pp)
		return rc;
	if (g->shm_fd < 0 && g->name) {
		char path[4096];

		snprintf(path, sizeof(path), "%s-shm", g->name);
		g->shm_fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (guard_register(g, (void *)*pp, (size_t)size, (off_t)region * size) != 0)
		return SQLITE_IOERR_SHMMAP; /* no room to guard it: refuse rather than risk a signal */
	return SQLITE_OK;
}

static int g_shmunmap(sqlite3_file *f, int del)
{
	guard_unregister((struct guard_file *)f);
	return FWD(f)->pMethods->xShmUnmap(FWD(f), del);
}

static int g_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *outflags)
{
	struct guard_file *g = (struct guard_file *)f;
	sqlite3_vfs *rv = real_vfs();
	int rc;

	(void)vfs;
	memset(g, 0, sizeof(*g));
	g->real = (sqlite3_file *)((char *)g + GUARD_REAL_OFF);
	g->shm_fd = -1;
	g->name = name;
	g->is_main = (flags & SQLITE_OPEN_MAIN_DB) != 0;
	rc = rv->xOpen(rv, name, g->real, flags, outflags);
	/* the unix VFS's methods are version 3, as guard_io */
	if (g->real->pMethods)
		g->base.pMethods = &guard_io;
	return rc;
}

#define VFWD(name, ...) (real_vfs()->name(real_vfs(), __VA_ARGS__))
static int v_delete(sqlite3_vfs *v, const char *n, int s) { (void)v; return VFWD(xDelete, n, s); }
static int v_access(sqlite3_vfs *v, const char *n, int fl, int *o) { (void)v; return VFWD(xAccess, n, fl, o); }
static int v_full(sqlite3_vfs *v, const char *n, int k, char *o) { (void)v; return VFWD(xFullPathname, n, k, o); }
static void *v_dlopen(sqlite3_vfs *v, const char *n) { (void)v; return VFWD(xDlOpen, n); }
static void v_dlerror(sqlite3_vfs *v, int k, char *o) { (void)v; VFWD(xDlError, k, o); }
static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *s))(void) { (void)v; return VFWD(xDlSym, h, s); }
static void v_dlclose(sqlite3_vfs *v, void *h) { (void)v; VFWD(xDlClose, h); }
static int v_random(sqlite3_vfs *v, int n, char *o) { (void)v; return VFWD(xRandomness, n, o); }
static int v_sleep(sqlite3_vfs *v, int us) { (void)v; return VFWD(xSleep, us); }
static int v_time(sqlite3_vfs *v, double *o) { (void)v; return VFWD(xCurrentTime, o); }
static int v_lasterr(sqlite3_vfs *v, int n, char *o) { (void)v; return VFWD(xGetLastError, n, o); }
static int v_time64(sqlite3_vfs *v, sqlite3_int64 *o) { (void)v; return VFWD(xCurrentTimeInt64, o); }

static void guard_install(void)
{
	sqlite3_vfs *rv = sqlite3_vfs_find(NULL);
	struct sigaction sa;
	long pg = sysconf(_SC_PAGESIZE);

	if (!rv || rv->iVersion < 2 || strcmp(rv->zName, "unix") != 0 || pg <= 0)
		return;
	guard_pagesz = (size_t)pg;
	guard_io = (sqlite3_io_methods){3,	   g_close,   g_read,	g_write,   g_truncate,	 g_sync,
					 g_size,   g_lock,    g_unlock, g_check,   g_fcntl,	 g_sector,
					 g_devchar, g_shmmap, g_shmlock, g_barrier, g_shmunmap, g_fetch,
					 g_unfetch};
	memset(&guard_vfs, 0, sizeof(guard_vfs));
	guard_vfs.iVersion = 2;
	guard_vfs.szOsFile = (int)(GUARD_REAL_OFF + (size_t)rv->szOsFile);
	guard_vfs.mxPathname = rv->mxPathname;
	guard_vfs.zName = GUARD_VFS;
	guard_vfs.pAppData = rv;
	guard_vfs.xOpen = g_open;
	guard_vfs.xDelete = v_delete;
	guard_vfs.xAccess = v_access;
	guard_vfs.xFullPathname = v_full;
	guard_vfs.xDlOpen = v_dlopen;
	guard_vfs.xDlError = v_dlerror;
	guard_vfs.xDlSym = v_dlsym;
	guard_vfs.xDlClose = v_dlclose;
	guard_vfs.xRandomness = v_random;
	guard_vfs.xSleep = v_sleep;
	guard_vfs.xCurrentTime = v_time;
	guard_vfs.xGetLastError = v_lasterr;
	guard_vfs.xCurrentTimeInt64 = v_time64;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sqlite3_vfs_register(&guard_vfs, 0) != SQLITE_OK)
		return;
	if (sigaction(SIGBUS, &sa, &guard_prev) != 0)
		return;
	guard_ready = 1;
}

/* ---- the connection ---------------------------------------------------------------- */

struct tl_sdb {
	sqlite3 *db;
	char *path;
	struct guard_file *main; /* the shim's main file, NULL when not guarded */
	int faulted;             /* reported once; every later call fails */
};

struct tl_sdb_stmt {
	sqlite3_stmt *st;
	tl_sdb *db;
	int64_t changes;
};

/* A faulted -shm ends the connection's use: 1 (with err set) when so. */
static int faulted(tl_sdb *d, tl_error *err)
{
	if (!d->faulted && d->main && atomic_load(&d->main->faulted))
		d->faulted = 1;
	if (!d->faulted)
		return 0;
	tl_error_set(err, TL_ERR_STORE,
		     "cannot write its shared-memory file '%s-shm' (immutable, read-only, truncated or out of "
		     "space?); nothing more is recorded",
		     d->path);
	return 1;
}

/*
 * Which of the store's files (or its directory) this process cannot write, as
 * "PATH: reason" in out; "" when all can be (or the reason is elsewhere). SQLite's own
 * message ("disk I/O error", "unable to open database file") does not say which file,
 * and its errno is often not the cause's (a read-only retry's ENOENT).
 */
static void why_unwritable(const char *path, char *out, size_t n)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	char f[4200], *slash;
	size_t i;

	out[0] = '\0';
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(f, sizeof(f), "%s%s", path, suffix[i]);
		if (access(f, F_OK) == 0 && access(f, W_OK) != 0) {
			snprintf(out, n, "%s: %s", f, strerror(errno));
			return;
		}
	}
	snprintf(f, sizeof(f), "%s", path);
	slash = strrchr(f, '/');
	if (slash == f)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(f, sizeof(f), ".");
	if (access(f, W_OK) != 0)
		snprintf(out, n, "directory %s: %s", f, strerror(errno));
}

/* The last error of the connection, with the system error behind an I/O failure. */
static int fail(tl_sdb *d, int rc, tl_error *err)
{
	int code = sqlite3_extended_errcode(d->db), sys = sqlite3_system_errno(d->db);
	int primary = (rc ? rc : code) & 0xff;
	char why[600] = "";

	if (faulted(d, err))
		return TL_ERR_STORE;
	if (code == SQLITE_IOERR_SHMSIZE || code == SQLITE_IOERR_SHMOPEN || code == SQLITE_IOERR_SHMMAP)
		tl_error_set(err, TL_ERR_STORE, "cannot %s its shared-memory file '%s-shm'%s%s%s",
			     code == SQLITE_IOERR_SHMSIZE ? "grow" : code == SQLITE_IOERR_SHMOPEN ? "open" : "map", d->path,
			     sys ? " (" : "", sys ? strerror(sys) : "", sys ? ")" : "");
	else if (primary == SQLITE_NOTADB)
		tl_error_set(err, TL_ERR_STORE, "not an SQLite database (%s)", sqlite3_errmsg(d->db));
	else if ((primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY ||
		  primary == SQLITE_PERM) && (why_unwritable(d->path, why, sizeof(why)), why[0]))
		tl_error_set(err, TL_ERR_STORE, "%s (cannot write %s)", sqlite3_errmsg(d->db), why);
	else if ((primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY ||
		  primary == SQLITE_FULL || primary == SQLITE_PERM) && sys)
		tl_error_set(err, TL_ERR_STORE, "%s (%s)", sqlite3_errmsg(d->db), strerror(sys));
	else
		tl_error_set(err, TL_ERR_STORE, "%s", sqlite3_errmsg(d->db));
	if (err)
		err->native = code;
	return TL_ERR_STORE;
}

static int s_exec(tl_sdb *d, const char *sql, tl_error *err)
{
	int rc;

	if (faulted(d, err))
		return TL_ERR_STORE;
	rc = sqlite3_exec(d->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return fail(d, rc, err);
	return faulted(d, err) ? TL_ERR_STORE : 0;
}

static void tl_now_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct timespec ts;

	(void)argc;
	(void)argv;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
		sqlite3_result_double(ctx, (double)time(NULL));
		return;
	}
	sqlite3_result_double(ctx, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static int on_busy(void *arg, int count)
{
	tl_sdb *d = arg;
	struct timespec ts;

	(void)d;
	/* count sleeps of ~2 ms on average: give up after BUSY_MS */
	if (count >= BUSY_MS / 2)
		return 0;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(1000000 + (count * 7919 % 2000000));
	nanosleep(&ts, NULL);
	return 1;
}

/* Runs a PRAGMA; *out (may be NULL) gets the first column of its first row. */
static int pragma(tl_sdb *d, const char *sql, char *out, size_t outsz, tl_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, step;

	if (out && outsz)
		out[0] = '\0';
	if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = fail(d, 0, err);
		goto cleanup;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		if (out && outsz && !out[0] && sqlite3_column_text(st, 0))
			snprintf(out, outsz, "%s", (const char *)sqlite3_column_text(st, 0));
	if (step != SQLITE_DONE)
		rc = fail(d, step, err);
cleanup:
	sqlite3_finalize(st);
	return rc;
}

/*
 * Switching a fresh file to WAL needs the database to itself for a moment; a second
 * process opening the same new store at that instant gets SQLITE_BUSY, or the old mode
 * back, without the busy handler being asked (#19). Retry for a while: the switch is
 * persistent, so whichever process wins, the other then finds WAL already set.
 */
static int set_wal(tl_sdb *d, tl_error *err)
{
	char mode[32];
	int waited = 0, rc;

	if ((rc = pragma(d, "PRAGMA journal_mode", mode, sizeof(mode), err)))
		return rc;
	while (strcmp(mode, "wal") != 0) {
		rc = pragma(d, "PRAGMA journal_mode = WAL", mode, sizeof(mode), err);
		if (rc == 0 && strcmp(mode, "wal") == 0)
			break;
		if (rc && (sqlite3_errcode(d->db) & 0xff) != SQLITE_BUSY && (sqlite3_errcode(d->db) & 0xff) != SQLITE_LOCKED)
			return rc;
		if (waited >= WAL_SWITCH_MS)
			return rc ? rc
				  : tl_error_set(err, TL_ERR_STORE, "cannot switch to WAL mode (journal mode stays %s)", mode);
		usleep(20000);
		waited += 20;
	}
	return 0;
}

static void s_close(tl_sdb *d)
{
	if (!d)
		return;
	if (d->db) {
		if (!sqlite3_get_autocommit(d->db))
			(void)sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
		/* a faulted wal-index must not drive a checkpoint into the database file */
		if (d->faulted || (d->main && atomic_load(&d->main->faulted)))
			(void)sqlite3_db_config(d->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
		/* the store finalizes its statements first, so close cannot be busy */
		(void)sqlite3_close(d->db);
	}
	free(d->path);
	free(d);
}

static int s_open(const char *path, const char *display, unsigned flags, tl_sdb **out, tl_error *err)
{
	tl_sdb *d = NULL;
	struct stat sb;
	sqlite3_file *mf = NULL;
	char probe[32];
	int rc = 0, oflags;

	(void)display; /* a path has no secret: messages name it as given */
	*out = NULL;
	if (stat(path, &sb) != 0) {
		if (errno != ENOENT)
			return tl_error_set(err, TL_ERR_IO, "store '%s': %s", path, strerror(errno));
		if (flags & (TL_SDB_READONLY | TL_SDB_NOCREATE))
			return tl_error_set(err, TL_ERR_NOTFOUND, "store '%s' does not exist", path);
	} else if (S_ISDIR(sb.st_mode)) {
		return tl_error_set(err, TL_ERR_STORE, "store '%s' is a directory, not an SQLite file", path);
	}
	pthread_once(&guard_once, guard_install);
	d = calloc(1, sizeof(*d));
	if (!d || !(d->path = tl_strdup(path))) {
		free(d);
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory opening store '%s'", path);
	}
	oflags = (flags & TL_SDB_READONLY) ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if (sqlite3_open_v2(path, &d->db, oflags | SQLITE_OPEN_NOMUTEX, guard_ready ? GUARD_VFS : NULL) != SQLITE_OK) {
		if (!d->db) {
			rc = tl_error_set(err, TL_ERR_NOMEM, "out of memory opening store '%s'", path);
			goto cleanup;
		}
		fail(d, 0, err);
		rc = tl_error_prefix(err, "store '%s': cannot open", path);
		goto cleanup;
	}
	if (guard_ready && sqlite3_file_control(d->db, "main", SQLITE_FCNTL_FILE_POINTER, &mf) == SQLITE_OK && mf &&
	    mf->pMethods == &guard_io)
		d->main = (struct guard_file *)mf;
	if (sqlite3_extended_result_codes(d->db, 1) != SQLITE_OK || sqlite3_busy_handler(d->db, on_busy, d) != SQLITE_OK ||
	    sqlite3_create_function(d->db, "tl_now", 0, SQLITE_UTF8, NULL, tl_now_fn, NULL, NULL) != SQLITE_OK) {
		fail(d, 0, err);
		rc = tl_error_prefix(err, "store '%s': configuring the connection", path);
		goto cleanup;
	}
	/* the first read tells a non-SQLite file apart */
	if ((rc = pragma(d, "PRAGMA user_version", probe, sizeof(probe), err))) {
		rc = tl_error_prefix(err, "store '%s'", path);
		goto cleanup;
	}
	/* never map the database file itself (see the top of this file) */
	rc = pragma(d, "PRAGMA mmap_size = 0", NULL, 0, err);
	if (!rc && (flags & TL_SDB_READONLY)) {
		rc = pragma(d, "PRAGMA query_only = ON", NULL, 0, err);
	} else if (!rc) {
		/* only takes effect on a new file: larger pages suit the wide WITHOUT ROWID rows */
		rc = pragma(d, "PRAGMA page_size = 8192", NULL, 0, err);
		if (!rc)
			rc = set_wal(d, err);
		if (!rc)
			rc = pragma(d, "PRAGMA synchronous = NORMAL", NULL, 0, err);
	}
	if (!rc)
		rc = pragma(d, "PRAGMA foreign_keys = OFF", NULL, 0, err);
	if (!rc)
		rc = pragma(d, "PRAGMA cache_size = -16384", NULL, 0, err);
	if (rc) {
		rc = tl_error_prefix(err, "store '%s'", path);
		goto cleanup;
	}
	*out = d;
	d = NULL;
cleanup:
	s_close(d);
	return rc;
}

static int s_get_version(tl_sdb *d, int *out, tl_error *err)
{
	char v[32];
	int rc = pragma(d, "PRAGMA user_version", v, sizeof(v), err);

	if (rc == 0)
		*out = (int)strtol(v, NULL, 10);
	return rc;
}

static int s_set_version(tl_sdb *d, int version, tl_error *err)
{
	char sql[64];

	/* PRAGMA takes no parameters; the value is an int formatted here */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
	return pragma(d, sql, NULL, 0, err);
}

static int s_lock_schema(tl_sdb *d, tl_error *err)
{
	(void)d;
	(void)err;
	return 0; /* BEGIN IMMEDIATE already excludes every other writer */
}

static int s_prepare(tl_sdb *d, const char *sql, int cached, tl_sdb_stmt **out, tl_error *err)
{
	tl_sdb_stmt *st;

	*out = NULL;
	if (faulted(d, err))
		return TL_ERR_STORE;
	st = calloc(1, sizeof(*st));
	if (!st)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory preparing a statement");
	st->db = d;
	if (sqlite3_prepare_v3(d->db, sql, -1, cached ? SQLITE_PREPARE_PERSISTENT : 0, &st->st, NULL) != SQLITE_OK) {
		free(st);
		return fail(d, 0, err);
	}
	*out = st;
	return 0;
}

static void s_finalize(tl_sdb_stmt *st)
{
	if (!st)
		return;
	sqlite3_finalize(st->st);
	free(st);
}

static int bound(tl_sdb_stmt *st, int rc, tl_error *err)
{
	return rc == SQLITE_OK ? 0 : fail(st->db, rc, err);
}

static int s_bind_text(tl_sdb_stmt *st, int i, const char *v, size_t n, tl_error *err)
{
	if (!v)
		return bound(st, sqlite3_bind_null(st->st, i), err);
	/* static: the store steps a statement while the values it bound live (store_db.h) */
	return bound(st, sqlite3_bind_text(st->st, i, v, (int)n, SQLITE_STATIC), err);
}

static int s_bind_i64(tl_sdb_stmt *st, int i, int64_t v, tl_error *err)
{
	return bound(st, sqlite3_bind_int64(st->st, i, (sqlite3_int64)v), err);
}

static int s_bind_double(tl_sdb_stmt *st, int i, double v, tl_error *err)
{
	return bound(st, sqlite3_bind_double(st->st, i, v), err);
}

static int s_bind_null(tl_sdb_stmt *st, int i, tl_error *err)
{
	return bound(st, sqlite3_bind_null(st->st, i), err);
}

static int s_step(tl_sdb_stmt *st, tl_error *err)
{
	int rc;

	if (faulted(st->db, err))
		return TL_ERR_STORE;
	rc = sqlite3_step(st->st);
	if (faulted(st->db, err))
		return TL_ERR_STORE;
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE) {
		st->changes = sqlite3_changes64(st->db->db);
		return 0;
	}
	return fail(st->db, rc, err);
}

static void s_reset(tl_sdb_stmt *st)
{
	/* reset's return repeats the last step's error, which was already reported */
	(void)sqlite3_reset(st->st);
	(void)sqlite3_clear_bindings(st->st);
}

static int s_col_count(tl_sdb_stmt *st)
{
	return sqlite3_column_count(st->st);
}

static enum tl_sdb_type s_col_type(tl_sdb_stmt *st, int col)
{
	switch (sqlite3_column_type(st->st, col)) {
	case SQLITE_NULL: return TL_SDB_NULL;
	case SQLITE_INTEGER: return TL_SDB_INT;
	case SQLITE_FLOAT: return TL_SDB_REAL;
	default: return TL_SDB_TEXT;
	}
}

static const char *s_col_text(tl_sdb_stmt *st, int col, size_t *len)
{
	const char *t = (const char *)sqlite3_column_text(st->st, col);

	if (len)
		*len = t ? (size_t)sqlite3_column_bytes(st->st, col) : 0;
	return t;
}

static int64_t s_col_i64(tl_sdb_stmt *st, int col)
{
	return (int64_t)sqlite3_column_int64(st->st, col);
}

static double s_col_double(tl_sdb_stmt *st, int col)
{
	return sqlite3_column_double(st->st, col);
}

static int64_t s_changes(tl_sdb_stmt *st)
{
	return st->changes;
}

static int s_in_tx(tl_sdb *d)
{
	return !sqlite3_get_autocommit(d->db);
}

static int s_begin(tl_sdb *d, enum tl_sdb_tx kind, tl_error *err)
{
	return s_exec(d, kind == TL_SDB_TX_WRITE ? "BEGIN IMMEDIATE" : "BEGIN", err);
}

static void s_rollback(tl_sdb *d)
{
	if (!sqlite3_get_autocommit(d->db))
		(void)sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}

static int s_commit(tl_sdb *d, tl_error *err)
{
	int rc = s_exec(d, "COMMIT", err);

	if (rc)
		s_rollback(d);
	return rc;
}

static int s_broken(tl_sdb *d, tl_error *err)
{
	return faulted(d, err);
}

const struct tl_sdb_ops tl_sdb_sqlite = {
	"sqlite",     tl_schema_steps, s_open,	   s_close,	s_get_version, s_set_version, s_lock_schema,
	s_exec,	      s_prepare,       s_finalize, s_bind_text, s_bind_i64,    s_bind_double, s_bind_null,
	s_step,	      s_reset,	       s_col_count, s_col_type, s_col_text,	s_col_i64,     s_col_double,  s_changes,
	s_begin,      s_commit,	       s_rollback, s_in_tx,	s_broken,      NULL,	     NULL,
};
