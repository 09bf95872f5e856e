/* mysql.c - placeholder until the mysql connector lands. */
#include "tideline/driver.h"
const struct tl_driver_ops tl_driver_mysql = { .version = TL_DRIVER_VERSION, .name = "mysql" };
