/*
 * PostgreSQL helpers shared by the daemons.
 *
 * The schema (db/init.sql) is applied by tickerflow-migrate with the owner's role; each
 * daemon connects with a role of its own that may only read and write what it needs
 * (docs/architecture.md, "Database roles"), and checks at connect time that the schema
 * it was built for is there.
 */
#ifndef TICKERFLOW_DB_H
#define TICKERFLOW_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "error.h"

/* db/init.sql, compiled in. */
extern const char DB_SCHEMA_SQL[];

/* The schema version this build needs; tickerflow-migrate records it in schema_version
 * after applying db/init.sql. Raise it with every change to db/init.sql that a daemon
 * depends on. */
#define DB_SCHEMA_VERSION 5

/* Opens a connection (5 s connect timeout) named `application` in pg_stat_activity.
 * Returns NULL with err set: ERROR_PERMANENT when the server answered and refused (a
 * password or role it rejects, a database that does not exist), ERROR_FAILED when it
 * could not be reached. The caller owns the connection: PQfinish it. */
PGconn *db_connect(const char *url, const char *application, struct error *err);

/* Checks that the database holds the schema this build needs (schema_version, written
 * by tickerflow-migrate). ERROR_FAILED when it does not (yet): the caller waits for the
 * migration; ERROR_PERMANENT when this role may not even look. */
int db_check_schema(PGconn *connection, struct error *err);

/* Within the caller's transaction, takes the schema's advisory lock (held to its end:
 * two migrations started at once run one after the other), applies db/init.sql and records
 * DB_SCHEMA_VERSION, which the daemons look for: so commit only once everything they need
 * (their roles' privileges too) is in the same transaction. For tickerflow-migrate, with a
 * role that owns the schema. */
int db_apply_schema(PGconn *connection, struct error *err);

/* Runs a statement that returns no rows (BEGIN, COMMIT, ...). */
int db_exec(PGconn *connection, const char *sql, struct error *err);

/* Formats the server's message of a failed result or connection as the err reason
 * (first line only) and returns -1. The kind is ERROR_PERMANENT for SQLSTATEs no retry
 * mends (insufficient privilege, undefined table or column, invalid authorization),
 * ERROR_FAILED otherwise. `result` may be NULL; it is not cleared. */
int db_error(PGconn *connection, const PGresult *result, const char *what, struct error *err);

/* True when `sqlstate` (5 characters, or NULL) names a condition that trying again
 * cannot mend. */
bool db_state_is_permanent(const char *sqlstate);

#endif
