/*
 * common.c - helpers shared by the subcommands: error output, usage and --help.
 */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"

int tl_cli_fail(const tl_error *err)
{
	fprintf(stderr, "tideline: error: %s\n", err->message[0] ? err->message : tl_code_name(err->code));
	return err->code == TL_ERR_USAGE ? 2 : 1;
}

int tl_cli_usage(const struct tl_command *cmd, const char *problem)
{
	if (problem)
		fprintf(stderr, "tideline %s: %s\n", cmd->name, problem);
	fprintf(stderr, "usage: %s\n", cmd->usage);
	return 2;
}

int tl_cli_wants_help(const struct tl_command *cmd, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: %s\n\n%s\n", cmd->usage, cmd->summary);
			return 1;
		}
	return 0;
}
