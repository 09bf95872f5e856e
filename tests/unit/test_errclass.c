/*
 * test_errclass.c - error classification without servers: the tl_error flags and
 * tl_error_prefix keeping them, which MySQL/MariaDB client and server codes
 * tl_mysql__classify marks TL_ERRF_TRANSIENT / TL_ERRF_CONN_LOST, MySQL's strict-mode
 * message parsing (the column and "at row N") and the URL query / ssl_mode helpers.
 * test_errclass_pg.c and test_errclass_mongo.c do the same for the other drivers (each
 * driver's private header defines its own struct tl_conn); tests/integration/test_conn_*.c
 * produce these errors on real servers.
 */
#include <stdlib.h>
#include <string.h>
#include "connectors/mysql_int.h"
#include "tl_test.h"

#define LOST (TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST)

TL_TEST(test_errclass__flags_survive_prefix)
{
	tl_error err = TL_ERROR_INIT;

	tl_error_set(&err, TL_ERR_DB, "server closed the connection");
	TL_CHECK_EQ_INT(err.flags, 0);
	tl_error_add_flags(&err, LOST);
	TL_CHECK(tl_error_is_transient(&err));
	tl_error_prefix(&err, "writing %s", "\"public\".\"t\"");
	TL_CHECK_EQ_INT(err.flags, LOST);
	TL_CHECK_EQ_INT(err.code, TL_ERR_DB);
	TL_CHECK(strstr(err.message, "writing \"public\".\"t\": server closed") != NULL);
	tl_error_set(&err, TL_ERR_DB, "another error");
	TL_CHECK_EQ_INT(err.flags, 0);
	TL_CHECK(!tl_error_is_transient(&err));
	tl_error_add_flags(&err, TL_ERRF_TRANSIENT);
	tl_error_clear(&err);
	TL_CHECK_EQ_INT(err.flags, 0);
	TL_CHECK(!tl_error_is_transient(&err));
	tl_error_add_flags(NULL, TL_ERRF_TRANSIENT); /* accepts NULL */
	TL_CHECK(!tl_error_is_transient(NULL));
}

TL_TEST(test_errclass__mysql)
{
	static const struct {
		unsigned no;
		const char *state;
		int mariadb;
		unsigned want;
	} cases[] = {
		/* connections lost, refused, killed, timed out */
		{2002, "HY000", 1, LOST}, {2003, "HY000", 1, LOST}, {2006, "HY000", 1, LOST},
		{2012, "HY000", 1, LOST}, {2013, "HY000", 1, LOST}, {2055, "HY000", 1, LOST},
		{5013, "HY000", 1, LOST}, {5014, "HY000", 1, LOST}, {1053, "08S01", 1, LOST},
		{1152, "08S01", 1, LOST}, {1158, "08S01", 1, LOST}, {1159, "08S01", 1, LOST},
		{1160, "08S01", 1, LOST}, {1161, "08S01", 1, LOST}, {1184, "08S01", 1, LOST},
		{1927, "70100", 1, LOST},
		{4031, "HY000", 0, LOST}, /* MySQL 8: disconnected for inactivity */
		{4031, "HY000", 1, 0},    /* MariaDB: ER_REFERENCED_TRG_DOES_NOT_EXIST */
		/* worth a retry on a fresh connection */
		{1040, "08004", 1, TL_ERRF_TRANSIENT}, /* too many connections, at connect */
		{1203, "42000", 1, TL_ERRF_TRANSIENT}, {1205, "HY000", 1, TL_ERRF_TRANSIENT},
		{1213, "40001", 1, TL_ERRF_TRANSIENT}, {1317, "70100", 1, TL_ERRF_TRANSIENT},
		{1614, "XA102", 1, TL_ERRF_TRANSIENT}, {1637, "HY000", 1, TL_ERRF_TRANSIENT},
		{1689, "HY000", 1, TL_ERRF_TRANSIENT}, {1290, "HY000", 1, TL_ERRF_TRANSIENT},
		{1836, "HY000", 1, TL_ERRF_TRANSIENT},
		{9999, "40001", 1, TL_ERRF_TRANSIENT}, /* any serialization failure */
		{9999, "08S01", 1, LOST},             /* any connection exception */
		/* fail at once: syntax, permissions, missing objects, values, constraints, disk */
		{1064, "42000", 1, 0}, {1044, "42000", 1, 0}, {1045, "28000", 1, 0}, {1142, "42000", 1, 0},
		{1146, "42S02", 1, 0}, {1049, "42000", 1, 0}, {1054, "42S22", 1, 0}, {1406, "22001", 1, 0},
		{1366, "22007", 1, 0}, {1292, "22007", 1, 0}, {1264, "22003", 1, 0}, {1048, "23000", 1, 0},
		{1062, "23000", 1, 0}, {1452, "23000", 1, 0}, {1021, "HY000", 1, 0}, {1114, "HY000", 1, 0},
		{1969, "70100", 1, 0}, /* max_statement_time: the same statement would time out again */
		{2026, "HY000", 1, 0}, /* TLS: a wrong CA stays wrong */
		{2005, "HY000", 1, 0}, /* unknown host: a typo */
		{2000, "HY000", 1, 0}, {2014, "HY000", 1, 0}, {0, "", 1, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		TL_CHECK_MSG(tl_mysql__classify(cases[i].no, cases[i].state, cases[i].mariadb) == cases[i].want,
			     "mysql %u/%s (mariadb %d): got %u, want %u", cases[i].no, cases[i].state, cases[i].mariadb,
			     tl_mysql__classify(cases[i].no, cases[i].state, cases[i].mariadb), cases[i].want);
	{
		tl_error err = TL_ERROR_INIT;
		tl_error_set(&err, TL_ERR_DB, "cannot write: Lost connection");
		tl_mysql__set_native(&err, 2013, "HY000", 1);
		TL_CHECK_EQ_INT(err.native, 2013);
		TL_CHECK_EQ_STR(err.sqlstate, "HY000");
		TL_CHECK_EQ_INT(err.flags, LOST);
	}
}

TL_TEST(test_errclass__mysql_data_error_at)
{
	static const struct {
		const char *msg;
		const char *col;
		size_t row;
	} cases[] = {
		{"Data too long for column 'Name' at row 3", "Name", 3},
		{"Incorrect integer value: 'abc' for column `db`.`t`.`n` at row 12", "n", 12},
		{"Out of range value for column 'x''y' at row 1", "x", 1}, /* stops at the first quote */
		{"Column 'c' cannot be null", "c", 0},
		{"Incorrect datetime value: '2020-13-45' for column `d`.`t`.`when` at row 2", "when", 2},
		{"Data truncated for column 'e' at row 7", "e", 7},
	};
	size_t i, row;
	char *col = NULL;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TL_CHECK_MSG(tl_mysql__data_error_at(cases[i].msg, &col, &row) == 0, "no column in '%s'", cases[i].msg);
		TL_CHECK_EQ_STR(col, cases[i].col);
		TL_CHECK_EQ_INT(row, cases[i].row);
		free(col);
		col = NULL;
	}
	TL_CHECK(tl_mysql__data_error_at("Duplicate entry '1' for key 'PRIMARY'", &col, &row) == -1);
	TL_CHECK(col == NULL);
	TL_CHECK(tl_mysql__data_error_at("Column 'unterminated", &col, &row) == -1);
}

TL_TEST(test_errclass__url_params)
{
	tl_error err = TL_ERROR_INIT;
	tl_url_param *p = NULL;
	size_t n = 0;

	TL_CHECK_OK(tl_url_params("ssl-mode=VERIFY_CA&ssl-ca=%2Ftmp%2Fca.pem&options[statement_timeout]=10s&flag&&a=b+c",
				  &p, &n, &err), &err);
	TL_CHECK_EQ_INT(n, 5);
	if (n == 5) {
		TL_CHECK_EQ_STR(p[0].key, "ssl-mode");
		TL_CHECK_EQ_STR(p[0].value, "VERIFY_CA");
		TL_CHECK_EQ_STR(p[1].value, "/tmp/ca.pem");
		TL_CHECK_EQ_STR(p[2].key, "options[statement_timeout]");
		TL_CHECK_EQ_STR(p[2].value, "10s");
		TL_CHECK_EQ_STR(p[3].key, "flag");
		TL_CHECK_EQ_STR(p[3].value, "");
		TL_CHECK_EQ_STR(p[4].value, "b c");
	}
	tl_url_params_free(p, n);
	TL_CHECK_OK(tl_url_params(NULL, &p, &n, &err), &err);
	TL_CHECK_EQ_INT(n, 0);
	tl_url_params_free(p, n);
	TL_CHECK_EQ_INT(tl_url_params("=x", &p, &n, &err), TL_ERR_CONFIG);
	TL_CHECK(p == NULL);

	TL_CHECK_EQ_INT(tl_ssl_mode_parse(NULL), TL_SSL_DEFAULT);
	TL_CHECK_EQ_INT(tl_ssl_mode_parse(""), TL_SSL_DEFAULT);
	TL_CHECK_EQ_INT(tl_ssl_mode_parse("disable"), TL_SSL_DISABLE);
	TL_CHECK_EQ_INT(tl_ssl_mode_parse("DISABLED"), TL_SSL_DISABLE);
	TL_CHECK_EQ_INT(tl_ssl_mode_parse("preferred"), TL_SSL_PREFER);
	TL_CHECK_EQ_INT(tl_ssl_mode_parse("require"), TL_SSL_REQUIRE);
	TL_CHECK_EQ_INT(tl_ssl_mode_parse("REQUIRED"), TL_SSL_REQUIRE);
	TL_CHECK_EQ_INT(tl_ssl_mode_parse("verify_ca"), TL_SSL_VERIFY_CA);
	TL_CHECK_EQ_INT(tl_ssl_mode_parse("VERIFY_CA"), TL_SSL_VERIFY_CA);
	TL_CHECK_EQ_INT(tl_ssl_mode_parse("verify-ca"), TL_SSL_VERIFY_CA);
	TL_CHECK_EQ_INT(tl_ssl_mode_parse("verify_full"), TL_SSL_VERIFY_FULL);
	TL_CHECK_EQ_INT(tl_ssl_mode_parse("verify-full"), TL_SSL_VERIFY_FULL);
	TL_CHECK_EQ_INT(tl_ssl_mode_parse("VERIFY_IDENTITY"), TL_SSL_VERIFY_FULL);
	TL_CHECK_EQ_INT(tl_ssl_mode_parse("verify"), -1);
	TL_CHECK_EQ_INT(tl_ssl_mode_parse("on"), -1);
}
