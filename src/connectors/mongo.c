/* mongo.c - placeholder until the mongo connector lands. */
#include "tideline/driver.h"
const struct tl_driver_ops tl_driver_mongo = { .version = TL_DRIVER_VERSION, .name = "mongo" };
