/*
 * store_backup.c - a consistent copy of a checkpoint store file (tl_store_backup,
 * store.h), for `tideline plan`, which works on a private copy so that the real store is
 * left as it is.
 *
 * VACUUM INTO reads the store in one read transaction, so the copy is the store exactly
 * as of one commit, WAL content included, even while a run checkpoints into it; copying
 * the .db and -wal files byte by byte is not (a checkpoint between the two reads, or
 * during either, tears them). The store is opened read-only and nothing of it changes.
 * Unlike tl_store_copy (store_copy.c, either backend, rows of the current schema), the
 * file is copied whatever its schema version, so `plan` still works on a store an older
 * tideline wrote. Self-contained: it uses sqlite3 directly and nothing of the other
 * store files.
 */
#include <errno.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>
#include "tideline/store.h"

#define BACKUP_BUSY_MS 10000

int tl_store_backup(const char *path, const char *dest, tl_error *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (access(path, F_OK) != 0)
		return tl_error_set(err, errno == ENOENT ? TL_ERR_NOTFOUND : TL_ERR_IO, "cannot read store '%s': %s", path,
				    strerror(errno));
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, BACKUP_BUSY_MS) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, dest, -1, SQLITE_TRANSIENT) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		rc = tl_error_set(err, TL_ERR_STORE, "store '%s': cannot copy it to '%s': %s", path, dest,
				  db ? sqlite3_errmsg(db) : "out of memory");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}
