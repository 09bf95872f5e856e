/*
 * filter.h - which tables a task copies ([filter] do_dbs / ignore_dbs / do_tbs /
 * ignore_tbs, docs/ape-dts-resume.md §1.5).
 *
 * Lists are comma-separated; in table lists '.' separates database and table. '*' and
 * '?' are wildcards; a part wrapped in the source's quote character (` for MySQL, " for
 * PostgreSQL) matches literally, with the quote doubled inside; r#…# is a POSIX
 * extended regular expression. A table is kept when it matches do_tbs or its database
 * matches do_dbs, and neither ignore list matches.
 */
#ifndef TL_FILTER_H
#define TL_FILTER_H

#include "tideline/error.h"

typedef struct tl_filter tl_filter;

/* quote: the identifier quote of the source ('`', '"' or 0). Lists may be NULL. */
int tl_filter_new(tl_filter **out, char quote, const char *do_dbs, const char *ignore_dbs,
		  const char *do_tbs, const char *ignore_tbs, tl_error *err) TL_MUST_CHECK;
void tl_filter_free(tl_filter *f);
int tl_filter_keep(const tl_filter *f, const char *db, const char *tb);

#endif
