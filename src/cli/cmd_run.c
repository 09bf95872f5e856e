/*
 * cmd_run.c - `tideline run TASK.ini [--store PATH] [--init | --recopy-lost] [--worker NAME]`:
 * runs a snapshot task and resumes according to [resumer]; --recopy-lost copies again the
 * tables whose target lost rows (docs/guide.md). SIGINT/SIGTERM stop cleanly: workers finish
 * their batch, record their position, and the command exits 130. With --worker the run is
 * one worker of a fleet sharing the task through the store (docs/fleet.md).
 */
#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "migrate/migrate.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int worker_name_ok(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return 0;
	return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/*
 * With --worker NAME the run's text logs (default.log, position.log, finished.log) go to
 * <log_dir>/NAME: each worker keeps its own ape-dts-compatible logs, also when several run
 * on one host from one task file. The store (the shared one) is not moved.
 */
static int worker_log_dir(tl_config *cfg, const char *worker, tl_error *err)
{
	size_t n = strlen(cfg->log_dir) + strlen(worker) + 2;
	char *dir = malloc(n);

	if (!dir)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory");
	snprintf(dir, n, "%s/%s", cfg->log_dir, worker);
	free(cfg->log_dir);
	cfg->log_dir = dir;
	return 0;
}

static int run(int argc, char **argv)
{
	tl_config *cfg = NULL;
	tl_logger *log = NULL;
	tl_fault *fault = NULL;
	tl_migrate_opts opts;
	tl_error err = TL_ERROR_INIT;
	const char *task = NULL;
	struct sigaction sa;
	int i, rc;

	if (tl_cli_wants_help(&tl_cmd_run, argc, argv))
		return 0;
	memset(&opts, 0, sizeof(opts));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--init") == 0)
			opts.init = 1;
		else if (strcmp(argv[i], "--recopy-lost") == 0)
			opts.recopy_lost = 1;
		else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
			opts.store_path = argv[++i];
		else if (strcmp(argv[i], "--worker") == 0 && i + 1 < argc)
			opts.worker = argv[++i];
		else if (argv[i][0] == '-')
			return tl_cli_usage(&tl_cmd_run, "unknown option");
		else if (!task)
			task = argv[i];
		else
			return tl_cli_usage(&tl_cmd_run, "only one task file");
	}
	if (!task)
		return tl_cli_usage(&tl_cmd_run, "missing TASK.ini");
	if (opts.init && opts.recopy_lost)
		return tl_cli_usage(&tl_cmd_run, "--init forgets every table: --recopy-lost goes without it");
	if (opts.worker && !worker_name_ok(opts.worker))
		return tl_cli_usage(&tl_cmd_run, "--worker NAME: 1 to 64 letters, digits, '.', '_' or '-'");
	/* the fleet's items of those tables are done: they would never be claimed again */
	if (opts.worker && opts.recopy_lost)
		return tl_cli_usage(&tl_cmd_run,
				    "--recopy-lost goes without --worker: run it once alone (no worker running), then start "
				    "the workers");
	if ((rc = tl_cli_debug_hooks(&fault, &opts.trace, &err)))
		return tl_cli_fail(&err);
	if ((rc = tl_cli_load_task(task, &cfg, &log, &err))) {
		tl_fault_free(fault);
		return tl_cli_fail(&err);
	}
	opts.fault = fault;
	/* a worker's text logs are its own: workers of one host must not share a position.log */
	if (opts.worker && (rc = worker_log_dir(cfg, opts.worker, &err))) {
		tl_logger_free(log);
		tl_config_free(cfg);
		tl_fault_free(fault);
		return tl_cli_fail(&err);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART; /* blocking client-library reads must not fail with EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	opts.log = log;
	opts.stop = &stop_requested;
	opts.progress_tty = isatty(2);
	rc = tl_migrate_run(cfg, &opts, &err);
	if (rc == TL_ERR_INTERRUPTED) {
		fprintf(stderr, "tideline: %s\n", err.message);
		rc = 130;
	} else if (rc) {
		tl_log(log, TL_LOG_DEBUG, "run failed: %s", err.message);
		rc = tl_cli_fail(&err);
	}
	tl_logger_free(log);
	tl_config_free(cfg);
	tl_fault_free(fault);
	return rc;
}

const struct tl_command tl_cmd_run = {
	"run",
	"tideline run TASK.ini [--store PATH] [--init | --recopy-lost] [--worker NAME]",
	"copy every selected table, resuming where an earlier run stopped",
	run,
};
