/*
 * cli.h - the subcommand table. Each src/cli/cmd_<name>.c exports one
 * `const struct tl_command tl_cmd_<name>`; main.c lists them. Only src/cli/ prints
 * to stdout/stderr for the user and turns errors into exit statuses:
 *   0 ok, 1 failure (a tl_error), 2 usage error, 3 verify found differences.
 */
#ifndef TL_CLI_H
#define TL_CLI_H

#include "tideline/error.h"

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

#endif
