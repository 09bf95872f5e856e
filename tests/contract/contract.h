/*
 * contract.h - the driver contract suite (tests/contract/): one set of test cases
 * (contract.c) run against every database kind, and the fixture each kind provides.
 *
 * contract.c tests the documented contract of every slot of struct tl_driver_ops
 * (include/tideline/driver.h) through the tl_driver_<verb>() wrappers
 * (include/tideline/driver_call.h), against a source and a target server of one kind.
 * It knows no database: what it runs is decided by the driver table (caps, the optional
 * slots, split_kinds, quote), and a case whose slot or capability the kind lacks is
 * reported "n/a" with the reason (after checking that the wrapper answers
 * TL_ERR_UNSUPPORTED, so a missing slot is never silently passed).
 *
 * A kind takes part by one file tests/contract/fixture_<kind>.c defining ct_fixture:
 * how to reach its two servers and how to create, fill, read back and drop the test
 * tables with the kind's own client library or SQL - never through its tideline driver,
 * so the suite checks the driver against an independent view of the data. Nothing else:
 * no expectations, no test logic. tests/CMakeLists.txt builds contract.c with each
 * fixture file into contract_<kind> and registers it as ctest test contract.<kind>.
 *
 * Test tables are given in a neutral form (struct ct_table, from a spec string such as
 * "id int key, v text null; unique u1 (v)") and rows as text cells (ct_type says the
 * form). A fixture that cannot represent a table (a kind without composite keys, a
 * column type it lacks, a name its server refuses) answers TL_ERR_UNSUPPORTED with the
 * reason; the case that needed the table is then n/a on that kind.
 *
 * Documents (a kind with TL_CAP_DOCUMENTS): the one key column of a test table is the
 * document's _id, the other columns are fields of the same names; an int column is a
 * 64-bit integer (BSON Int64), text a string, bin binary of subtype 0; a NULL cell is a
 * BSON null.
 *
 * Test code: errors go to tl_error like everywhere else; the fixture's state is the
 * opaque `fx` it creates in open.
 */
#ifndef TL_CONTRACT_H
#define TL_CONTRACT_H

#include <stddef.h>
#include "tideline/driver_call.h"

#define CT_MAX_COLS 8
#define CT_MAX_UNIQUE 4

/* The column types of the test tables and the text form of their cells. */
enum ct_type {
	CT_INT = 0, /* 64-bit signed integer; cells in decimal ("-12") */
	CT_TEXT,    /* a UTF-8 string of up to 200 bytes, compared by the server's collation */
	CT_BIN      /* bytes of up to 64; cells in lowercase hex ("00ff") */
};

typedef struct ct_col {
	char name[64];
	enum ct_type type;
	int nullable; /* NOT NULL unless the spec says null */
} ct_col;

typedef struct ct_key {
	char name[64];        /* the constraint's name (key choice breaks ties by it, §3.3) */
	size_t n;
	size_t col[CT_MAX_COLS]; /* column indexes, in key order */
} ct_key;

/* A test table: columns, primary key, unique keys. */
typedef struct ct_table {
	const char *schema;   /* borrowed */
	const char *name;     /* borrowed */
	size_t ncols;
	ct_col cols[CT_MAX_COLS];
	ct_key pk;            /* pk.n == 0: no primary key */
	size_t nuniq;
	ct_key uniq[CT_MAX_UNIQUE];
} ct_table;

/* Rows read back by a fixture: nrows * ncols cells in the ct_type text forms (NULL = NULL). */
typedef struct ct_rows {
	size_t ncols, nrows, cap;
	char **cells;
} ct_rows;

/* Appends a row of ncols cells (copied). */
int ct_rows_add(ct_rows *r, const char *const *cells, tl_error *err) TL_MUST_CHECK;
void ct_rows_clear(ct_rows *r);

enum ct_side { CT_SRC = 0, CT_DST = 1 };

/*
 * What a kind provides. Every function returns 0 or a negative tl_code with err set;
 * TL_ERR_UNSUPPORTED means "this kind cannot do that" (the case is then n/a).
 */
struct ct_fixture {
	const char *kind;               /* the db_type the suite binds */
	const tl_registry *registry;    /* where the driver is found, NULL = the built-ins */
	int checks_credentials;         /* the servers refuse an unknown user */
	/* Names with as many special characters as the kind stores (quotes, dots, '$', '@'
	 * where allowed): a schema / database, a table / collection, and a column. */
	const char *hostile_schema, *hostile_table, *hostile_column;

	/*
	 * Opens the fixture's own connections to both servers. > 0: not run here (a server
	 * variable is unset; tl_test_require_env has marked the test skipped, or failed it
	 * under CI).
	 */
	int (*open)(void **fx, tl_error *err);
	void (*close)(void *fx);
	/* The URL of a side's server, as a task file would give it (lent, lives with fx). */
	const char *(*url)(void *fx, enum ct_side side);
	/* Drops a schema / database with everything in it (nothing when absent). */
	int (*drop_schema)(void *fx, enum ct_side side, const char *schema, tl_error *err);
	/*
	 * Drops t->schema.t->name if it exists and creates it empty as t says (creating the
	 * schema / database when needed). Documents: creates the collection (empty).
	 */
	int (*create)(void *fx, enum ct_side side, const ct_table *t, tl_error *err);
	/* Drops the table / collection (nothing when absent). */
	int (*drop)(void *fx, enum ct_side side, const char *schema, const char *name, tl_error *err);
	/*
	 * Inserts n rows (n * t->ncols cells, text forms of ct_type) as they are, then makes
	 * the server's statistics current (ANALYZE or what the kind has), so that describe's
	 * estimate and live row counts are exact for small tables.
	 */
	int (*insert)(void *fx, enum ct_side side, const ct_table *t, const char *const *cells, size_t n,
		      tl_error *err);
	/* Every row of the table in any order, one cell per column of t. */
	int (*fetch)(void *fx, enum ct_side side, const ct_table *t, ct_rows *out, tl_error *err);
	/*
	 * Optional (NULL: the lost-connection case is n/a). Ends from the server side, as an
	 * administrator's KILL or a failover would, the sessions a client opened on a side's
	 * server with this application name (tl_endpoint.app_name), never the fixture's own.
	 * A fixture whose server cannot tell sessions by name says in its file what it ends.
	 */
	int (*kill_sessions)(void *fx, enum ct_side side, const char *app_name, tl_error *err);
};

/* The fixture of the kind this executable tests (tests/contract/fixture_<kind>.c). */
extern const struct ct_fixture ct_fixture;

#endif
