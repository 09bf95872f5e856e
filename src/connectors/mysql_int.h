/*
 * mysql_int.h - internals shared by the MySQL/MariaDB connector files (mysql_*.c).
 *
 * The connector is split by concern: mysql.c (ops table, connect, SQL helpers),
 * mysql_meta.c (tables, columns, key choice, target checks), mysql_read.c (streaming
 * reads, position values, split bounds, checksums), mysql_write.c (batched writes,
 * deletes), mysql_claim.c (target checks and claims), mysql_ape.c (ape-dts' database
 * store) and mysql_route.c (projected tables, the server's identity, ape-dts' value
 * types). Only these files include
 * <mysql.h>; nothing outside src/connectors/mysql_*.c may include this header.
 */
#ifndef TL_MYSQL_INT_H
#define TL_MYSQL_INT_H

#include <mysql.h>
#include <stdint.h>
#include "tideline/driver.h"

/* Prepared INSERT statements kept per connection, keyed by (table, flags, rows). */
#define TL_MYSQL_STMT_CACHE 8

struct tl_mysql_stmt_slot {
	char *key;            /* "`db`.`tb`|ncols|upsert|nrows", NULL when free */
	MYSQL_STMT *stmt;
	unsigned long used;   /* LRU tick */
};

/* What a connection was opened with (kept for the side connections: KILL QUERY). */
struct tl_mysql_params {
	char *host;
	int port;
	char *user;
	char *password;
	char *db;
	char *app;
	char *socket;       /* unix socket path (URL ?socket=), else NULL: TCP */
	int ssl_mode;       /* enum tl_ssl_mode */
	char *ssl_ca;       /* CA file, NULL = none (verify modes: the system's CA directory) */
	char *ssl_cert;     /* client certificate and key (URL ?ssl-cert= / ?ssl-key=) */
	char *ssl_key;
	char *collation;    /* URL ?collation= (a utf8mb4 collation), else NULL */
	unsigned connect_timeout, io_timeout, lock_wait; /* seconds, defaults applied */
	int fk_checks;      /* session foreign_key_checks (tl_endpoint.foreign_key_checks ON), else 0 */
	unsigned dead_peer;                              /* TCP_USER_TIMEOUT seconds (io_timeout when unset) */
};

struct tl_conn {
	MYSQL *my;
	struct tl_mysql_params p;
	int is_mariadb;                /* server says "MariaDB" (error 4031 means another thing) */
	int busy;                      /* a reader is streaming on this connection */
	int watch_fd;                  /* a dup of the socket for interrupt (from another thread), -1 none */
	unsigned long max_packet;      /* server's max_allowed_packet */
	unsigned long tick;
	struct tl_mysql_stmt_slot cache[TL_MYSQL_STMT_CACHE];
	char **claims;                 /* named locks this session holds (mysql_claim.c) */
	size_t nclaims;
};

/* Per-column facts kept in tl_table.impl. */
struct tl_mysql_col {
	char *data_type;  /* information_schema DATA_TYPE, lowercase ("bigint") */
	int is_unsigned;
	int frac;         /* DATETIME_PRECISION (time/datetime/timestamp), else 0 */
	int generated;    /* VIRTUAL/STORED generated column: read, never written */
};

struct tl_mysql_table {
	struct tl_mysql_col *cols; /* t->ncols entries */
	char *qname;               /* `db`.`tb`, backticks doubled */
};

/* Row callback of tl_mysql__query: vals[i] NUL-terminated or NULL for SQL NULL. */
typedef int (*tl_mysql_row_fn)(void *ctx, unsigned ncols, char **vals, unsigned long *lens, tl_error *err);

/* mysql.c */
/*
 * Error classification (enum tl_error_flags) of a client or server error number and its
 * SQLSTATE: connection lost/refused/killed, server shutdown, too many connections, lock
 * wait timeout, deadlock, read-only after a failover are TL_ERRF_TRANSIENT (the lost
 * connections also TL_ERRF_CONN_LOST); everything else 0. 4031 is MySQL's inactivity
 * disconnect but a trigger error on MariaDB (is_mariadb). Pure: no connection needed.
 */
unsigned tl_mysql__classify(unsigned errnum, const char *sqlstate, int is_mariadb);
/* Sets err->native, err->sqlstate and adds the classification flags (err may be NULL). */
void tl_mysql__set_native(tl_error *err, unsigned errnum, const char *sqlstate, int is_mariadb);
int tl_mysql__fail(tl_conn *c, tl_error *err, const char *fmt, ...) TL_PRINTF(3, 4);
/* Like tl_mysql__fail for an error reported on a statement handle (falls back to the
 * connection's error, as a lost connection is reported there). */
int tl_mysql__stmt_fail(tl_conn *c, MYSQL_STMT *st, tl_error *err, const char *fmt, ...) TL_PRINTF(4, 5);
/*
 * After a lock wait timeout (1205) on c: appends to err's message the sessions with open
 * transactions that may hold the lock (INNODB_TRX + PROCESSLIST; nothing when the user
 * may not read them). Call after the rollback.
 */
void tl_mysql__blame_lock(tl_conn *c, tl_error *err);
int tl_mysql__ready(tl_conn *c, tl_error *err);
int tl_mysql__qident(tl_buf *b, const char *name, tl_error *err) TL_MUST_CHECK;
int tl_mysql__qtable(tl_buf *b, const char *schema, const char *name, tl_error *err) TL_MUST_CHECK;
int tl_mysql__qstring(tl_conn *c, tl_buf *b, const char *s, size_t n, tl_error *err) TL_MUST_CHECK;
int tl_mysql__exec(tl_conn *c, const char *sql, tl_error *err) TL_MUST_CHECK;
/* Runs a prepared statement with string parameters (NULL = SQL NULL); rows go to fn. */
int tl_mysql__query(tl_conn *c, const char *sql, unsigned nparams, const char *const *params,
		    tl_mysql_row_fn fn, void *ctx, tl_error *err) TL_MUST_CHECK;
/* Runs a text-protocol query whose result fits in memory (one row of aggregates). */
int tl_mysql__query_text(tl_conn *c, const char *sql, tl_mysql_row_fn fn, void *ctx, tl_error *err) TL_MUST_CHECK;
/* Stops a statement streaming on c from a short side connection (KILL QUERY). */
void tl_mysql__kill_query(tl_conn *c);
void tl_mysql__stmt_cache_clear(tl_conn *c);

/* mysql_meta.c */
int tl_mysql__list_tables(tl_conn *c, tl_name_list *out, tl_error *err);
int tl_mysql__describe(tl_conn *c, const char *schema, const char *name, tl_table **out, tl_error *err);
int tl_mysql__describe_many(tl_conn *c, const tl_name *names, size_t n, tl_table **out, tl_error *err);
int tl_mysql__count_many(tl_conn *c, const tl_table *const *t, size_t n, int64_t *out, tl_error *err);
void tl_mysql__free_table(tl_table *t);
int tl_mysql__count_rows(tl_conn *c, const tl_table *t, int64_t *out, tl_error *err);
int tl_mysql__check_target(tl_conn *c, const tl_table *src, int *is_empty, tl_error *err);
const char *tl_mysql__qname(const tl_table *t);
const struct tl_mysql_col *tl_mysql__col(const tl_table *t, size_t i);

/* mysql_route.c */
int tl_mysql__project(const tl_table *src, const char *schema, const char *name, const size_t *cols,
		      const char *const *names, size_t n, tl_table **out, tl_error *err);
int tl_mysql__server_id(tl_conn *c, char **out, tl_error *err);
const char *tl_mysql__value_type(const tl_table *t, size_t col);

/* mysql_read.c */
int tl_mysql__select_expr(tl_buf *b, const tl_table *t, size_t col, tl_error *err) TL_MUST_CHECK;
int tl_mysql__literal(tl_conn *c, const tl_table *t, size_t col, const char *val, tl_buf *out,
		      tl_error *err) TL_MUST_CHECK;
int tl_mysql__pos_text(const tl_table *t, size_t col, const char *cell, size_t len, char **out,
		       tl_error *err) TL_MUST_CHECK;
int tl_mysql__open_reader(tl_conn *c, const tl_table *t, const tl_read_spec *spec, tl_reader **out, tl_error *err);
int tl_mysql__read_batch(tl_reader *r, tl_batch *b, tl_error *err);
void tl_mysql__close_reader(tl_reader *r);
int tl_mysql__row_key(const tl_table *t, const tl_batch *b, size_t row, const size_t *idx, size_t n,
		      tl_keyvals *out, tl_error *err);
int tl_mysql__next_bound(tl_conn *c, const tl_table *t, const char *after, size_t step, char **hi_out, tl_error *err);
int tl_mysql__part_minmax(tl_conn *c, const tl_table *t, char **min_out, char **max_out, tl_error *err);
int tl_mysql__checksum(tl_conn *c, const tl_table *t, const char *lo, const char *hi, int64_t *rows,
		       uint64_t *sum, tl_error *err);

/* mysql_write.c */
int tl_mysql__write_batch(tl_conn *c, const tl_table *src, const tl_batch *b, unsigned flags, tl_error *err);
int tl_mysql__durability_warning(tl_conn *c, char **out, tl_error *err);
/*
 * Finds the column and the statement row a strict-mode data error names ("... for column
 * 'c' at row 3", "Column 'c' cannot be null"): *col = its name (malloc'd), *row = the
 * 1-based row or 0 when the message has none. 0 on success, -1 when the message names
 * no column. Pure.
 */
int tl_mysql__data_error_at(const char *msg, char **col, size_t *row);
int tl_mysql__delete_after(tl_conn *c, const tl_table *src, const char *after, int nulls, tl_error *err);

/* mysql_claim.c */
int tl_mysql__key_exists(tl_conn *c, const tl_table *src, const tl_keyvals *key, int *exists, tl_error *err);
int tl_mysql__claim(tl_conn *c, const tl_table *src, const char *owner, tl_error *err);
int tl_mysql__release(tl_conn *c, const tl_table *src, tl_error *err);

/* mysql_ape.c */
int tl_mysql__ape_init(tl_conn *c, const char *schema, const char *table, tl_error *err);
int tl_mysql__ape_load(tl_conn *c, const char *schema, const char *table, const char *task_id,
		       tl_ape_row_fn fn, void *ctx, tl_error *err);
int tl_mysql__ape_put(tl_conn *c, const char *schema, const char *table, const char *task_id,
		      const tl_ape_row *row, tl_error *err);
int tl_mysql__ape_forget(tl_conn *c, const char *schema, const char *table, const char *task_id, tl_error *err);

#endif
