/*
 * log.c - leveled, thread-safe logging to a file sink and stderr (include/tideline/log.h).
 * Lines look like the seed's default.log:
 *   2024-10-18 06:51:10.161794 - INFO - [1180981] - resumer, get resume value, ...
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "tideline/log.h"
#include "tideline/logfmt.h"

struct tl_logger {
	pthread_mutex_t mu;
	enum tl_log_level file_level;
	enum tl_log_level stderr_level;
	FILE *file;
};

static const char *level_name(enum tl_log_level l)
{
	switch (l) {
	case TL_LOG_DEBUG: return "DEBUG";
	case TL_LOG_INFO: return "INFO";
	case TL_LOG_NOTICE: return "INFO";
	case TL_LOG_WARN: return "WARN";
	default: return "ERROR";
	}
}

int tl_logger_new(tl_logger **out, enum tl_log_level file_level, enum tl_log_level stderr_level, tl_error *err)
{
	tl_logger *lg = calloc(1, sizeof(*lg));

	if (!lg)
		return tl_error_set(err, TL_ERR_NOMEM, "out of memory creating logger");
	pthread_mutex_init(&lg->mu, NULL);
	lg->file_level = file_level;
	lg->stderr_level = stderr_level;
	*out = lg;
	return 0;
}

int tl_logger_open_file(tl_logger *lg, const char *path, tl_error *err)
{
	FILE *f = fopen(path, "a");

	if (!f)
		return tl_error_set(err, TL_ERR_IO, "cannot open log file '%s': %m", path);
	pthread_mutex_lock(&lg->mu);
	if (lg->file)
		fclose(lg->file);
	lg->file = f;
	pthread_mutex_unlock(&lg->mu);
	return 0;
}

void tl_logger_free(tl_logger *lg)
{
	if (!lg)
		return;
	if (lg->file)
		fclose(lg->file);
	pthread_mutex_destroy(&lg->mu);
	free(lg);
}

int tl_logger_enabled(const tl_logger *lg, enum tl_log_level level)
{
	return (lg->file && level >= lg->file_level) || level >= lg->stderr_level;
}

void tl_log_write(tl_logger *lg, enum tl_log_level level, const char *fmt, ...)
{
	char ts[32];
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tl_logfmt_now(ts);
	pthread_mutex_lock(&lg->mu);
	if (lg->file && level >= lg->file_level) {
		fprintf(lg->file, "%s - %s - [%ld] - %s\n", ts, level_name(level), (long)getpid(), msg);
		fflush(lg->file);
	}
	if (level >= lg->stderr_level)
		fprintf(stderr, "tideline: %s%s\n",
			level >= TL_LOG_ERROR ? "error: " : level == TL_LOG_WARN ? "warning: " : "", msg);
	pthread_mutex_unlock(&lg->mu);
}

int tl_logger_has_file(const tl_logger *lg)
{
	return lg && lg->file != NULL;
}

void tl_log_write_file(tl_logger *lg, enum tl_log_level level, const char *fmt, ...)
{
	char ts[32];
	char msg[4096];
	va_list ap;

	if (!lg)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tl_logfmt_now(ts);
	pthread_mutex_lock(&lg->mu);
	if (lg->file) {
		fprintf(lg->file, "%s - %s - [%ld] - %s\n", ts, level_name(level), (long)getpid(), msg);
		fflush(lg->file);
	}
	pthread_mutex_unlock(&lg->mu);
}

int tl_log_level_parse(const char *s, enum tl_log_level *out)
{
	static const struct { const char *name; enum tl_log_level l; } t[] = {
		{"trace", TL_LOG_DEBUG}, {"debug", TL_LOG_DEBUG}, {"info", TL_LOG_INFO},
		{"notice", TL_LOG_NOTICE}, {"warn", TL_LOG_WARN}, {"warning", TL_LOG_WARN},
		{"error", TL_LOG_ERROR}, {"off", TL_LOG_OFF},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcasecmp(s, t[i].name) == 0) {
			*out = t[i].l;
			return 0;
		}
	return -1;
}
