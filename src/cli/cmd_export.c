/* cmd_export.c - placeholder for 'tideline export' until it lands. */
#include <stdio.h>
#include "cli/cli.h"
static int run_export(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "tideline: error: 'export' is not implemented yet\n"); return 1; }
const struct tl_command tl_cmd_export = { "export", "tideline export", "(not implemented yet)", run_export };
