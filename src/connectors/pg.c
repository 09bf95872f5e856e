/* pg.c - placeholder until the pg connector lands. */
#include "tideline/driver.h"
const struct tl_driver_ops tl_driver_pg = { .version = TL_DRIVER_VERSION, .name = "pg" };
