/*
 * test_errclass_mongo.c - which libmongoc domains, server codes and error labels the MongoDB
 * driver classifies as TL_ERRF_TRANSIENT / TL_ERRF_CONN_LOST (tl_mongo__classify,
 * tl_mongo__error), without a server.
 */
#include <stdlib.h>
#include <string.h>
#include "connectors/mongo_int.h"
#include "tl_test.h"

#define LOST (TL_ERRF_TRANSIENT | TL_ERRF_CONN_LOST)

TL_TEST(test_errclass__mongo)
{
	static const struct {
		uint32_t domain, code;
		const char *msg;
		int label;
		unsigned want;
	} cases[] = {
		{MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET, "Failed to read 4 bytes: socket error or timeout", 0, LOST},
		{MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_CONNECT, "Failed to connect to target host", 0, LOST},
		{MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_NOT_ESTABLISHED, "connection closed", 0, LOST},
		{MONGOC_ERROR_SERVER_SELECTION, MONGOC_ERROR_SERVER_SELECTION_FAILURE, "No suitable servers found", 0, LOST},
		{MONGOC_ERROR_SERVER, 91, "ShutdownInProgress", 0, LOST},
		{MONGOC_ERROR_SERVER, 11600, "interrupted at shutdown", 0, LOST},
		{MONGOC_ERROR_SERVER, 10107, "not primary", 0, TL_ERRF_TRANSIENT},
		{MONGOC_ERROR_COMMAND, 10107, "not primary", 0, TL_ERRF_TRANSIENT},
		{MONGOC_ERROR_SERVER, 189, "PrimarySteppedDown", 0, TL_ERRF_TRANSIENT},
		{MONGOC_ERROR_SERVER, 6, "HostUnreachable", 0, TL_ERRF_TRANSIENT},
		{MONGOC_ERROR_SERVER, 7, "HostNotFound", 0, TL_ERRF_TRANSIENT},
		{MONGOC_ERROR_SERVER, 89, "NetworkTimeout", 0, TL_ERRF_TRANSIENT},
		{MONGOC_ERROR_SERVER, 9001, "SocketException", 0, TL_ERRF_TRANSIENT},
		{MONGOC_ERROR_SERVER, 11602, "InterruptedDueToReplStateChange", 0, TL_ERRF_TRANSIENT},
		{MONGOC_ERROR_SERVER, 13435, "NotPrimaryNoSecondaryOk", 0, TL_ERRF_TRANSIENT},
		{MONGOC_ERROR_SERVER, 13436, "NotPrimaryOrSecondary", 0, TL_ERRF_TRANSIENT},
		{MONGOC_ERROR_SERVER, 262, "ExceededTimeLimit", 0, TL_ERRF_TRANSIENT},
		{MONGOC_ERROR_SERVER, 112, "WriteConflict", 0, TL_ERRF_TRANSIENT},
		{MONGOC_ERROR_CURSOR, 43, "cursor id 123 not found", 0, TL_ERRF_TRANSIENT},
		{MONGOC_ERROR_SERVER, 43, "CursorNotFound", 0, TL_ERRF_TRANSIENT},
		{MONGOC_ERROR_WRITE_CONCERN, 64, "waiting for replication timed out", 0, TL_ERRF_TRANSIENT},
		{MONGOC_ERROR_SERVER, 12345, "some error", 1, TL_ERRF_TRANSIENT}, /* RetryableWriteError label */
		/* fail at once */
		{MONGOC_ERROR_SERVER, 11000, "E11000 duplicate key", 0, 0},
		{MONGOC_ERROR_SERVER, 13, "Unauthorized", 0, 0},
		{MONGOC_ERROR_SERVER, 121, "Document failed validation", 0, 0},
		{MONGOC_ERROR_SERVER, 14031, "Not enough disk space", 0, 0},
		{MONGOC_ERROR_SERVER, 2, "BadValue", 0, 0},
		{MONGOC_ERROR_CLIENT, MONGOC_ERROR_CLIENT_AUTHENTICATE, "Authentication failed", 0, 0},
		{MONGOC_ERROR_CLIENT, MONGOC_ERROR_CLIENT_TOO_BIG, "too big", 1, 0},
		{MONGOC_ERROR_PROTOCOL, MONGOC_ERROR_PROTOCOL_INVALID_REPLY, "invalid reply", 0, 0},
		{MONGOC_ERROR_BSON, MONGOC_ERROR_BSON_INVALID, "invalid bson", 0, 0},
		{MONGOC_ERROR_SERVER_SELECTION, MONGOC_ERROR_SERVER_SELECTION_FAILURE,
		 "No suitable servers found: [TLS handshake failed: certificate verify failed (20): unable to get local "
		 "issuer certificate calling hello on '127.0.0.1:27017']", 0, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		TL_CHECK_MSG(tl_mongo__classify(cases[i].domain, cases[i].code, cases[i].msg, cases[i].label) == cases[i].want,
			     "mongo %u/%u '%s': got %u, want %u", cases[i].domain, cases[i].code, cases[i].msg,
			     tl_mongo__classify(cases[i].domain, cases[i].code, cases[i].msg, cases[i].label), cases[i].want);
	{
		tl_error err = TL_ERROR_INIT;
		bson_error_t e;
		memset(&e, 0, sizeof(e));
		e.domain = MONGOC_ERROR_SERVER;
		e.code = 10107;
		snprintf(e.message, sizeof(e.message), "not primary");
		TL_CHECK_EQ_INT(tl_mongo__error(&err, &e, "cannot write to '%s'", "db.c"), TL_ERR_DB);
		TL_CHECK_EQ_INT(err.native, 10107);
		TL_CHECK_EQ_INT(err.flags, TL_ERRF_TRANSIENT);
		TL_CHECK_EQ_STR(err.message, "cannot write to 'db.c': not primary");
	}
}
