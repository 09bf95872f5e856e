/*
 * cmd_run.c - `tideline run TASK.ini [--store PATH] [--init | --recopy-lost] [--worker NAME]`:
 * runs a snapshot task and resumes according to [resumer]; --recopy-lost copies again the
 * tables whose target lost rows (docs/guide.md). SIGINT/SIGTERM stop cleanly: workers finish
 * their batch, record their position, and the command exits 130. With --worker the run is
 * one worker of a fleet sharing the task through the store (docs/fleet.md). A check task
 * ([sinker] sink_type=check) compares instead (check.c): exit 0 consistent, 3 not.
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

/*
 * How a run ended is the last line of default.log too, also when it failed before the
 * log was opened (a connection refused, a filter that selects nothing, a locked task).
 */
static void last_line(const tl_config *cfg, tl_logger *log, enum tl_log_level level, const tl_error *err)
{
	char path[4096];

	if (!log)
		return;
	if (!tl_logger_has_file(log) && tl_migrate__mkdir_p(cfg->log_dir, NULL) == 0) {
		snprintf(path, sizeof(path), "%s/default.log", cfg->log_dir);
		if (tl_logger_open_file(log, path, NULL) != 0)
			return; /* no log dir to write to: stderr has the message */
	}
	tl_log_write_file(log, level, "%s", err->message[0] ? err->message : tl_code_name(err->code));
}

/* check_result_stdout_only: the result lines, as ape-dts prints them. */
static void print_line(void *ctx, const char *logger, const char *line)
{
	(void)ctx;
	printf("%s - %s\n", logger, line);
}

/*
 * [sinker] sink_type=check: compare, write the check logs, print verify's report.
 * Returns 0 (consistent), 3 (not), or a negative tl_code.
 */
static int run_check(const tl_config *cfg, const tl_migrate_opts *opts, tl_error *err)
{
	tl_verify_report rep;
	int consistent = 0, rc;

	if ((rc = tl_migrate_check(cfg, opts, print_line, NULL, &rep, &consistent, err)))
		return rc;
	if (!cfg->check_result_stdout_only) {
		tl_cli_print_verify(&rep);
		printf("check logs in %s: %s\n", cfg->check_log_dir, consistent ? "consistent" : "not consistent");
	}
	tl_verify_report_clear(&rep);
	if (fflush(stdout) != 0)
		return tl_error_set(err, TL_ERR_IO, "cannot write the report");
	tl_log(opts->log, TL_LOG_NOTICE, "check finished: %s (exit %d)", consistent ? "consistent" : "not consistent",
	       consistent ? 0 : 3);
	return consistent ? 0 : 3;
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
	if (cfg->sink_type == TL_SINK_CHECK && (opts.init || opts.recopy_lost)) {
		/* nothing to forget or copy again: a check never writes */
		rc = tl_error_set(&err, TL_ERR_CONFIG, "%s: a check task ([sinker] sink_type=check) writes nothing: %s does "
				  "not apply", cfg->path, opts.init ? "--init" : "--recopy-lost");
	} else if (cfg->sink_type == TL_SINK_CHECK && opts.worker) {
		/* a fleet shares copies; a check compares the whole task in one process */
		rc = tl_error_set(&err, TL_ERR_CONFIG, "%s: a check task ([sinker] sink_type=check) is not shared by a fleet: "
				  "--worker does not apply; run it once without --worker", cfg->path);
	} else if (cfg->sink_type == TL_SINK_CHECK) {
		rc = run_check(cfg, &opts, &err);
	} else {
		rc = tl_migrate_run(cfg, &opts, &err);
	}
	if (rc > 0) {
		/* a check task's result: 0 consistent, 3 not */
	} else if (rc == TL_ERR_INTERRUPTED) {
		last_line(cfg, log, TL_LOG_WARN, &err);
		fprintf(stderr, "tideline: %s\n", err.message);
		rc = 130;
	} else if (rc) {
		last_line(cfg, log, TL_LOG_ERROR, &err);
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
