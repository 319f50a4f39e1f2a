/*
 * PostgreSQL helpers shared by the daemons.
 */
#ifndef TICKERFLOW_DB_H
#define TICKERFLOW_DB_H

#include <libpq-fe.h>

#include "error.h"

/* db/init.sql, compiled in. */
extern const char DB_SCHEMA_SQL[];

/* Opens a connection (5 s connect timeout) named `application` in pg_stat_activity.
 * Returns NULL with err set. The caller owns the connection: PQfinish it. */
PGconn *db_connect(const char *url, const char *application, struct error *err);

/* Applies db/init.sql. Every statement there is idempotent; an advisory lock serialises
 * daemons that start at the same moment. */
int db_ensure_schema(PGconn *connection, struct error *err);

/* Runs a statement that returns no rows (BEGIN, COMMIT, ...). */
int db_exec(PGconn *connection, const char *sql, struct error *err);

/* Formats the server's message of a failed result or connection as the err reason
 * (first line only) and returns -1. `result` may be NULL; it is not cleared. */
int db_error(PGconn *connection, const PGresult *result, const char *what, struct error *err);

#endif
