/*
 * error.h - the one error type of tideline.
 *
 * Every function that can fail returns int: 0 on success, a negative enum tl_code on
 * failure, and takes `tl_error *err` as its last parameter. The lowest layer that knows
 * what went wrong writes the message; higher layers return the code unchanged and may
 * only *prefix* context (tl_error_prefix), never replace the message. `err` may be NULL
 * everywhere. Only src/cli/ turns an error into output and an exit status.
 */
#ifndef TL_ERROR_H
#define TL_ERROR_H

#include <stddef.h>

#if defined(__GNUC__)
#define TL_MUST_CHECK __attribute__((warn_unused_result))
#define TL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TL_MUST_CHECK
#define TL_PRINTF(a, b)
#endif

/* Stable codes; docs/errors.md maps them to exit statuses. */
enum tl_code {
	TL_OK = 0,
	TL_ERR_NOMEM = -1,       /* allocation failed or a size cap was hit */
	TL_ERR_IO = -2,          /* file system: open/read/write/fsync/rename */
	TL_ERR_PARSE = -3,       /* bad input text: a log line, JSON, a value */
	TL_ERR_CONFIG = -4,      /* bad task file or command-line option */
	TL_ERR_DB = -5,          /* a source/target server reported an error */
	TL_ERR_STORE = -6,       /* the SQLite checkpoint store failed */
	TL_ERR_NOTFOUND = -7,    /* a table, file or record that must exist does not */
	TL_ERR_MISMATCH = -8,    /* schema mismatch, a value that does not fit a column */
	TL_ERR_INTERRUPTED = -9, /* stopped by a signal (clean stop) */
	TL_ERR_LOCKED = -10,     /* another run holds the task */
	TL_ERR_USAGE = -11,      /* wrong command-line usage */
	TL_ERR_UNSUPPORTED = -12,/* valid but not supported */
	TL_ERR_INTERNAL = -13    /* a bug */
};

/*
 * What a caller may do about an error, beyond its code. A driver sets these from the
 * client library's codes (each driver's classify function lists them); tl_error_set
 * clears them, tl_error_prefix keeps them, so they survive every layer that adds context.
 */
enum tl_error_flags {
	/* Worth a retry after closing the connections and reconnecting: connection lost or
	 * refused, silence past the I/O timeout, server shutting down or starting up, too
	 * many connections, lock wait timeout, deadlock, serialization failure, failover
	 * (read-only / not primary), Mongo retryable write or cursor lost. Never set for
	 * syntax, permission, missing object, type mismatch, constraint or disk-full errors. */
	TL_ERRF_TRANSIENT = 1u << 0,
	/* The connection is unusable (closed, reset, timed out): reconnect before anything else. */
	TL_ERRF_CONN_LOST = 1u << 1,
	/* The connection was lost during or around the COMMIT of a write (for MongoDB: any
	 * failed bulk write): the batch may or may not be applied, wholly or in part. */
	TL_ERRF_COMMIT_UNKNOWN = 1u << 2
};

typedef struct tl_error {
	int code;           /* enum tl_code, TL_OK when clear */
	int native;         /* server's own code (MySQL errno, mongoc code), 0 if none */
	char sqlstate[6];   /* PostgreSQL/MySQL SQLSTATE when known, else "" */
	char message[1024]; /* lowercase, no final full stop, subject in quotes */
	unsigned flags;     /* enum tl_error_flags */
} tl_error;

#define TL_ERROR_INIT {0, 0, {0}, {0}, 0}

/* Sets code and message (native, sqlstate and flags cleared); returns `code` so callers
 * can `return tl_error_set(...)`. */
int tl_error_set(tl_error *err, int code, const char *fmt, ...) TL_PRINTF(3, 4);
/* Prepends "context: " to the existing message (code, native, sqlstate and flags kept);
 * returns err->code (or TL_ERR_INTERNAL). */
int tl_error_prefix(tl_error *err, const char *fmt, ...) TL_PRINTF(2, 3);
void tl_error_clear(tl_error *err);
/* Adds flags (enum tl_error_flags) to err; accepts NULL. */
void tl_error_add_flags(tl_error *err, unsigned flags);
/* True when err is set and carries TL_ERRF_TRANSIENT. */
int tl_error_is_transient(const tl_error *err);
/* Short stable name of a code, e.g. "parse". */
const char *tl_code_name(int code);

#endif
