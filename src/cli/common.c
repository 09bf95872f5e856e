/*
 * common.c - helpers shared by the subcommands: error output, usage and --help, loading
 * a task file, and the debug hooks of the environment (the only getenv of tideline's
 * debug variables: the engine gets them as an object).
 */
#include <stdio.h>
#include <stdlib.h>
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

int tl_cli_load_task(const char *path, tl_config **cfg, tl_logger **log, tl_error *err)
{
	enum tl_log_level level = TL_LOG_INFO;
	size_t i;
	int rc;

	if ((rc = tl_config_load(path, cfg, err)))
		return rc;
	if (tl_log_level_parse((*cfg)->log_level, &level) != 0)
		fprintf(stderr, "tideline: warning: %s: [runtime] log_level=%s unknown, using info\n", path,
			(*cfg)->log_level);
	for (i = 0; i < (*cfg)->nwarnings; i++)
		fprintf(stderr, "tideline: warning: %s\n", (*cfg)->warnings[i]);
	if (log && (rc = tl_logger_new(log, level, level <= TL_LOG_NOTICE ? TL_LOG_NOTICE : level, err))) {
		tl_config_free(*cfg);
		*cfg = NULL;
	}
	return rc;
}

int tl_cli_debug_hooks(tl_fault **fault, int *trace, tl_error *err)
{
	const char *t = getenv("TL_DEBUG_TRACE");

	*trace = t && *t && strcmp(t, "0") != 0;
	return tl_fault_new(fault, getenv("TL_DEBUG_CRASH"), getenv("TL_DEBUG_FAIL"), err);
}
