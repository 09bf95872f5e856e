/* cmd_plan.c - placeholder for 'tideline plan' until it lands. */
#include <stdio.h>
#include "cli/cli.h"
static int run_plan(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "tideline: error: 'plan' is not implemented yet\n"); return 1; }
const struct tl_command tl_cmd_plan = { "plan", "tideline plan", "(not implemented yet)", run_plan };
