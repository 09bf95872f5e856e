/*
 * fuzz_config.c - libFuzzer target for the task-file loader (inih + config table) and
 * the [filter] compiler: any bytes must give a config or a clean error, never a crash,
 * a leak or undefined behaviour. The input is handed over through a memfd so the loader
 * reads it as the file it expects.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include "tideline/config.h"
#include "tideline/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	tl_config *cfg = NULL;
	tl_filter *f = NULL;
	tl_error err = TL_ERROR_INIT;
	int fd = memfd_create("task.ini", 0);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (tl_config_load(path, &cfg, &err) == 0) {
		if (tl_filter_new(&f, '`', cfg->do_dbs, cfg->ignore_dbs, cfg->do_tbs, cfg->ignore_tbs, &err) == 0) {
			(void)tl_filter_keep(f, "test_db_1", "t*$1");
			tl_filter_free(f);
		}
		tl_config_free(cfg);
	}
	close(fd);
	return 0;
}
