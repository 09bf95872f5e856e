/*
 * log.h - leveled logging to sinks installed by the CLI.
 *
 * Core code never prints: it logs through a tl_logger passed down in its context. The
 * logger writes "YYYY-MM-DD HH:MM:SS.ffffff - LEVEL - [PID] - message" lines (the seed's
 * default.log form) to an optional file and, filtered by level, to stderr. Passwords in
 * URLs are masked by the callers with tl_url_redact before logging. A logger is safe to
 * use from several threads (one mutex around each write).
 */
#ifndef TL_LOG_H
#define TL_LOG_H

#include <stdio.h>
#include "tideline/error.h"

enum tl_log_level { TL_LOG_DEBUG = 0, TL_LOG_INFO, TL_LOG_NOTICE, TL_LOG_WARN, TL_LOG_ERROR, TL_LOG_OFF };

typedef struct tl_logger tl_logger;

/* stderr_level: lines at or above it also go to stderr (TL_LOG_OFF for none). */
int tl_logger_new(tl_logger **out, enum tl_log_level file_level, enum tl_log_level stderr_level, tl_error *err) TL_MUST_CHECK;
/* Opens (appending) the file sink; replaces a previous one. */
int tl_logger_open_file(tl_logger *lg, const char *path, tl_error *err) TL_MUST_CHECK;
void tl_logger_free(tl_logger *lg);
int tl_logger_enabled(const tl_logger *lg, enum tl_log_level level);
void tl_log_write(tl_logger *lg, enum tl_log_level level, const char *fmt, ...) TL_PRINTF(3, 4);
/* Whether a file sink is open. */
int tl_logger_has_file(const tl_logger *lg);
/* Writes one line to the file sink only, whatever the levels (a fatal error that the CLI
 * prints itself); nothing without a file sink. */
void tl_log_write_file(tl_logger *lg, enum tl_log_level level, const char *fmt, ...) TL_PRINTF(3, 4);
/* Parses "debug", "info", "warn", … */
int tl_log_level_parse(const char *s, enum tl_log_level *out);

/* Checks the level before evaluating the arguments. lg may be NULL (no output). */
#define tl_log(lg, level, ...) \
	do { if ((lg) && tl_logger_enabled((lg), (level))) tl_log_write((lg), (level), __VA_ARGS__); } while (0)

#endif
