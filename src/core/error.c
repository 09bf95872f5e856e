/*
 * error.c - setting, prefixing and naming tl_error values (see include/tideline/error.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "tideline/error.h"

int tl_error_set(tl_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	err->native = 0;
	err->sqlstate[0] = '\0';
	err->flags = 0;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

int tl_error_prefix(tl_error *err, const char *fmt, ...)
{
	char head[512];
	char old[sizeof(err->message)];
	va_list ap;

	if (!err)
		return TL_ERR_INTERNAL;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, err->message, sizeof(old));
	snprintf(err->message, sizeof(err->message), "%s: %s", head, old);
	if (err->code == TL_OK)
		err->code = TL_ERR_INTERNAL;
	return err->code;
}

void tl_error_clear(tl_error *err)
{
	if (!err)
		return;
	err->code = TL_OK;
	err->native = 0;
	err->sqlstate[0] = '\0';
	err->message[0] = '\0';
	err->flags = 0;
}

void tl_error_add_flags(tl_error *err, unsigned flags)
{
	if (err)
		err->flags |= flags;
}

int tl_error_is_transient(const tl_error *err)
{
	return err && err->code != TL_OK && (err->flags & TL_ERRF_TRANSIENT) != 0;
}

const char *tl_code_name(int code)
{
	switch (code) {
	case TL_OK: return "ok";
	case TL_ERR_NOMEM: return "nomem";
	case TL_ERR_IO: return "io";
	case TL_ERR_PARSE: return "parse";
	case TL_ERR_CONFIG: return "config";
	case TL_ERR_DB: return "db";
	case TL_ERR_STORE: return "store";
	case TL_ERR_NOTFOUND: return "notfound";
	case TL_ERR_MISMATCH: return "mismatch";
	case TL_ERR_INTERRUPTED: return "interrupted";
	case TL_ERR_LOCKED: return "locked";
	case TL_ERR_USAGE: return "usage";
	case TL_ERR_UNSUPPORTED: return "unsupported";
	default: return "internal";
	}
}
