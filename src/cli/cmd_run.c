/* cmd_run.c - placeholder for 'tideline run' until it lands. */
#include <stdio.h>
#include "cli/cli.h"
static int run_run(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "tideline: error: 'run' is not implemented yet\n"); return 1; }
const struct tl_command tl_cmd_run = { "run", "tideline run", "(not implemented yet)", run_run };
