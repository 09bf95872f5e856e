/*
 * conn_lib.h - helpers shared by the connection tests (test_conn_mysql.c, test_conn_pg.c,
 * test_conn_mongo.c): a private throwaway server of one kind started with the scripts of
 * tools/servers/ in the test's temporary directory on a port of the test's own range
 * (the shared source server's port + an offset: the range tools/servers.sh leaves free),
 * signals to it (SIGKILL, SIGSTOP/SIGCONT of the server and its children only: pids from
 * its own pid file; a SIGSTOP waits until every thread is stopped), a monotonic clock and
 * URL rewriting. Restarting or freezing the shared servers would disturb other tests, so
 * those faults always use a private server.
 * Header-only (static functions): each test file is its own executable.
 */
#ifndef TL_CONN_LIB_H
#define TL_CONN_LIB_H

#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include "tideline/driver.h"
#include "tl_test.h"

static inline double conn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs a shell command (output to the test's log); returns its exit status. */
static inline int conn_sh(const char *fmt, ...) TL_PRINTF(1, 2);
static inline int conn_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* The port of the URL in environment variable `env`, 0 when unset or without one. */
static inline int conn_env_port(const char *env)
{
	tl_url u;
	int port = 0;

	if (!getenv(env) || tl_url_parse(getenv(env), &u, NULL) != 0)
		return 0;
	port = u.port;
	tl_url_clear(&u);
	return port;
}

/* A copy of url with its first "from" replaced by "to" (static buffer: one at a time). */
static inline const char *conn_url_sub(const char *url, const char *from, const char *to)
{
	static char out[2048];
	const char *p = strstr(url, from);

	if (!p)
		snprintf(out, sizeof(out), "%s", url);
	else
		snprintf(out, sizeof(out), "%.*s%s%s", (int)(p - url), url, to, p + strlen(from));
	return out;
}

/* A private server: which script, its directory and port. */
struct conn_server {
	const char *script; /* "mariadb", "postgres", "mongo" (tools/servers/<script>.sh) */
	char dir[4096];
	int port;
};

/* Starts a private server of `script` kind in DIR/srv on port; 0 on success. */
static inline int conn_server_start(struct conn_server *s, const char *script, int port)
{
	s->script = script;
	s->port = port;
	snprintf(s->dir, sizeof(s->dir), "%s/srv", tl_test_tmpdir());
	/* postgres.sh runs the server as user postgres when we are root: it must reach DIR */
	(void)chmod(tl_test_tmpdir(), 0755);
	return conn_sh("bash '%s/../tools/servers/%s.sh' start '%s' %d >>'%s/srv-%s.log' 2>&1", tl_test_srcdir(),
		       script, s->dir, port, tl_test_tmpdir(), script);
}

static inline void conn_server_stop(struct conn_server *s)
{
	if (s->script)
		(void)conn_sh("bash '%s/../tools/servers/%s.sh' stop '%s' >/dev/null 2>&1", tl_test_srcdir(), s->script,
			      s->dir);
}

/* The server's main pid from its pid file, 0 when unknown. */
static inline pid_t conn_server_pid(const struct conn_server *s)
{
	char path[4200];
	FILE *f;
	long pid = 0;

	if (strcmp(s->script, "mariadb") == 0)
		snprintf(path, sizeof(path), "%s/mariadb-%d/pid", s->dir, s->port);
	else if (strcmp(s->script, "postgres") == 0)
		snprintf(path, sizeof(path), "%s/pg-%d/postmaster.pid", s->dir, s->port);
	else
		snprintf(path, sizeof(path), "%s/mongo-%d/pid", s->dir, s->port);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

/* The pids of pid's children (PostgreSQL's backends), at most cap of them; how many. */
static inline int conn_children(pid_t pid, pid_t *out, int cap)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	while (d && n < cap && (e = readdir(d)) != NULL) {
		char path[300], buf[512], *p;
		long ppid = 0;
		FILE *f;
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 2, "%*c %ld", &ppid) == 1 && ppid == (long)pid)
			out[n++] = (pid_t)strtol(e->d_name, NULL, 10);
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/*
 * True when no thread of pid can run: each is stopped (T), or pid is gone. A stop sent to
 * a process wakes ONE of its threads, and the others go on running until that one is
 * scheduled and stops them all: a multi-threaded server (the Python Mongo test server,
 * mariadbd, FerretDB) answers requests on open connections for a while after kill()
 * has returned, on a busy machine for as long as a test's reads and writes take.
 */
static inline int conn_all_stopped(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	int stopped = 1;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	if (!(d = opendir(path)))
		return 1;
	while (stopped && (e = readdir(d)) != NULL) {
		char file[128], buf[512], *p;
		FILE *f;
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(file, sizeof(file), "/proc/%ld/task/%s/stat", (long)pid, e->d_name);
		if (!(f = fopen(file, "r")))
			continue; /* the thread ended */
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) != NULL && p[1] == ' ')
			stopped = p[2] == 'T' || p[2] == 'Z' || p[2] == 'X';
		fclose(f);
	}
	closedir(d);
	return stopped;
}

/*
 * Sends sig to the server's main process and to its children (PostgreSQL's backends).
 * SIGSTOP returns only once every thread of them all is stopped (see conn_all_stopped;
 * -1 when that takes over 10 s), so that what the test does next meets a frozen server.
 */
static inline int conn_server_signal(const struct conn_server *s, int sig)
{
	pid_t pid = conn_server_pid(s), kids[256];
	double until = conn_now() + 10;
	int n, i, stopped = 0;

	if (pid <= 0)
		return -1;
	if (sig == SIGSTOP || sig == SIGKILL) /* the parent first, so it cannot start new children */
		(void)kill(pid, sig);
	n = conn_children(pid, kids, 256);
	for (i = 0; i < n; i++)
		(void)kill(kids[i], sig);
	if (sig != SIGSTOP && sig != SIGKILL)
		(void)kill(pid, sig);
	if (sig != SIGSTOP)
		return 0;
	while (!stopped && conn_now() < until) {
		stopped = conn_all_stopped(pid);
		for (i = 0; stopped && i < n; i++)
			stopped = conn_all_stopped(kids[i]);
		if (!stopped)
			usleep(1000);
	}
	if (!stopped)
		tl_test_fail(__FILE__, __LINE__, "the private server (pid %ld) was not stopped 10 s after SIGSTOP",
			     (long)pid);
	return stopped ? 0 : -1;
}

/* True while pid runs (a zombie no longer does: it only waits for its parent to reap it). */
static inline int conn_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	int alive = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) != NULL) {
		alive = fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] != 'Z' &&
			p[2] != 'X';
		fclose(f);
	}
	return alive;
}

/*
 * Crashes the server: SIGKILL to it and its children, then waits until they are gone. Here
 * the dead processes may stay zombies for a while (the container's init reaps late), which
 * PostgreSQL's lock files would take for a live postmaster: they are removed, as a reboot
 * would have (mongo.sh takes a zombie for a live server too).
 */
static inline int conn_server_crash(const struct conn_server *s)
{
	pid_t pid = conn_server_pid(s);
	char path[4300];
	int i;

	if (pid <= 0 || conn_server_signal(s, SIGKILL))
		return -1;
	for (i = 0; i < 100 && conn_alive(pid); i++)
		usleep(50000);
	usleep(200000); /* the children notice their parent's death */
	if (strcmp(s->script, "postgres") == 0) {
		snprintf(path, sizeof(path), "%s/pg-%d/postmaster.pid", s->dir, s->port);
		(void)unlink(path);
		snprintf(path, sizeof(path), "%s/pg-%d/.s.PGSQL.%d.lock", s->dir, s->port, s->port);
		(void)unlink(path);
	} else if (strcmp(s->script, "mongo") == 0) {
		snprintf(path, sizeof(path), "%s/mongo-%d/pid", s->dir, s->port);
		(void)unlink(path);
	}
	return conn_alive(pid) ? -1 : 0;
}

/* The flags of err as text, for failure messages. */
static inline const char *conn_flags(const tl_error *err)
{
	static char out[80];

	snprintf(out, sizeof(out), "%s%s%s%s", err->flags & TL_ERRF_TRANSIENT ? "transient " : "",
		 err->flags & TL_ERRF_CONN_LOST ? "conn_lost " : "",
		 err->flags & TL_ERRF_COMMIT_UNKNOWN ? "commit_unknown " : "", err->flags ? "" : "none");
	return out;
}

#endif
