/* cmd_status.c - placeholder for 'tideline status' until it lands. */
#include <stdio.h>
#include "cli/cli.h"
static int run_status(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "tideline: error: 'status' is not implemented yet\n"); return 1; }
const struct tl_command tl_cmd_status = { "status", "tideline status", "(not implemented yet)", run_status };
