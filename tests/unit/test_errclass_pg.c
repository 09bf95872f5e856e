/*
 * test_errclass_pg.c - which SQLSTATEs, connection states and connect-failure messages the
 * PostgreSQL driver classifies as TL_ERRF_TRANSIENT / TL_ERRF_CONN_LOST (tl_pg__classify,
 * tl_pg__classify_connect), without a server.
 */
#include <stdlib.h>
#include <string.h>
#include "connectors/pg_int.h"
#include "tl_test.h"

#define LOST (TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST)

TL_TEST(test_errclass__pg)
{
	static const struct {
		const char *state;
		int bad;
		unsigned want;
	} cases[] = {
		{"08000", 0, LOST}, {"08003", 0, LOST}, {"08006", 0, LOST}, {"08001", 0, LOST}, {"08004", 0, LOST},
		{"57P01", 0, LOST}, {"57P02", 0, LOST}, {"57P03", 0, LOST}, {"57P05", 0, LOST},
		{"40001", 0, TL_ERRF_TRANSIENT}, {"40P01", 0, TL_ERRF_TRANSIENT}, {"53300", 0, TL_ERRF_TRANSIENT},
		{"55P03", 0, TL_ERRF_TRANSIENT}, {"25006", 0, TL_ERRF_TRANSIENT},
		/* a connection that went bad, whatever the result says (CONNECTION_BAD) */
		{"", 1, LOST}, {NULL, 1, LOST}, {"42601", 1, LOST},
		/* fail at once */
		{"42601", 0, 0}, {"42501", 0, 0}, {"42P01", 0, 0}, {"42804", 0, 0}, {"22001", 0, 0}, {"22P02", 0, 0},
		{"23505", 0, 0}, {"23502", 0, 0}, {"23503", 0, 0}, {"53100", 0, 0}, {"57014", 0, 0}, {"57P04", 0, 0},
		{"28P01", 0, 0}, {"3D000", 0, 0}, {"XX000", 0, 0}, {"", 0, 0}, {NULL, 0, 0}, {"0800", 0, 0},
	};
	static const struct {
		const char *msg;
		unsigned want;
	} connects[] = {
		{"connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server running on "
		 "that host and accepting TCP/IP connections?", LOST},
		{"connection to server at \"10.0.0.1\", port 5432 failed: timeout expired", LOST},
		{"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  the database system is starting up",
		 LOST},
		{"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  the database system is shutting down",
		 LOST},
		{"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  sorry, too many clients already", LOST},
		{"connection to server at \"127.0.0.1\", port 5432 failed: server closed the connection unexpectedly",
		 LOST},
		{"connection to server on socket \"/tmp/.s.PGSQL.5432\" failed: No such file or directory", LOST},
		{"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for "
		 "user \"x\"", 0},
		{"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  database \"nope\" does not exist", 0},
		{"connection to server at \"127.0.0.1\", port 5432 failed: server certificate for \"localhost\" does not "
		 "match host name \"127.0.0.1\"", 0},
		{"connection to server at \"127.0.0.1\", port 5432 failed: SSL error: certificate verify failed", 0},
		{"connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  no pg_hba.conf entry for host", 0},
		{"invalid URI query parameter: \"ssl-mode\"", 0},
		{NULL, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		TL_CHECK_MSG(tl_pg__classify(cases[i].state, cases[i].bad) == cases[i].want, "pg %s (bad %d): got %u, want %u",
			     cases[i].state ? cases[i].state : "(null)", cases[i].bad,
			     tl_pg__classify(cases[i].state, cases[i].bad), cases[i].want);
	for (i = 0; i < sizeof(connects) / sizeof(connects[0]); i++)
		TL_CHECK_MSG(tl_pg__classify_connect(connects[i].msg) == connects[i].want, "pg connect '%s': got %u",
			     connects[i].msg ? connects[i].msg : "(null)", tl_pg__classify_connect(connects[i].msg));
}
