/* cmd_verify.c - placeholder for 'tideline verify' until it lands. */
#include <stdio.h>
#include "cli/cli.h"
static int run_verify(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "tideline: error: 'verify' is not implemented yet\n"); return 1; }
const struct tl_command tl_cmd_verify = { "verify", "tideline verify", "(not implemented yet)", run_verify };
