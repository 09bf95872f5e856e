/* cmd_import.c - placeholder for 'tideline import' until it lands. */
#include <stdio.h>
#include "cli/cli.h"
static int run_import(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "tideline: error: 'import' is not implemented yet\n"); return 1; }
const struct tl_command tl_cmd_import = { "import", "tideline import", "(not implemented yet)", run_import };
