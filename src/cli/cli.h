/*
 * cli.h - the subcommand table. Each src/cli/cmd_<name>.c exports one
 * `const struct tl_command tl_cmd_<name>`; main.c lists them. Only src/cli/ prints
 * to stdout/stderr for the user and turns errors into exit statuses:
 *   0 ok, 1 failure (a tl_error), 2 usage error, 3 verify found differences.
 */
#ifndef TL_CLI_H
#define TL_CLI_H

#include "tideline/config.h"
#include "tideline/error.h"
#include "tideline/fault.h"
#include "tideline/log.h"

struct tl_command {
	const char *name;
	const char *usage;   /* "tideline import --store PATH [--task-id ID] [--lenient] FILE..." */
	const char *summary; /* one line for `tideline --help` */
	/* argv[0] is the command name. Returns the exit status. */
	int (*run)(int argc, char **argv);
};

extern const struct tl_command tl_cmd_run, tl_cmd_plan, tl_cmd_status, tl_cmd_import, tl_cmd_export, tl_cmd_verify;

/* Prints "tideline: error: <message>" to stderr and returns 1 (2 for usage errors). */
int tl_cli_fail(const tl_error *err);
/* Prints usage of cmd to stderr and returns 2. */
int tl_cli_usage(const struct tl_command *cmd, const char *problem);
/* True if argv contains -h/--help; prints usage to stdout. */
int tl_cli_wants_help(const struct tl_command *cmd, int argc, char **argv);

/*
 * Loads a task file and prints its warnings to stderr; with log, also a logger at the
 * task's log_level. On failure nothing is left to free.
 */
int tl_cli_load_task(const char *path, tl_config **cfg, tl_logger **log, tl_error *err);

/*
 * The debug hooks of this process, read from the environment once, here and nowhere else
 * (TL_DEBUG_CRASH, TL_DEBUG_FAIL: fault.h; TL_DEBUG_TRACE=1: log every driver call).
 * *fault is NULL when none is set (else tl_fault_free); *trace 0 or 1.
 */
int tl_cli_debug_hooks(tl_fault **fault, int *trace, tl_error *err);

/* Prints a verify report as `tideline verify` does (one line per table, its ranges). */
struct tl_verify_report;
void tl_cli_print_verify(const struct tl_verify_report *rep);

#endif
