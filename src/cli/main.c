/*
 * main.c - tideline's entry point: the table of subcommands and nothing else.
 */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"

static const struct tl_command *const commands[] = {
	&tl_cmd_run, &tl_cmd_plan, &tl_cmd_status, &tl_cmd_import, &tl_cmd_export, &tl_cmd_verify,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: tideline COMMAND [OPTIONS]\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\n'tideline COMMAND --help' shows a command's options.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("tideline 0.1.0\n");
		return 0;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i]->name) == 0)
			return commands[i]->run(argc - 1, argv + 1);
	fprintf(stderr, "tideline: error: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
