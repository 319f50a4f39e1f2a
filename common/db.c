#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

/* An arbitrary constant shared by every migration: the key of the schema advisory lock. */
#define SCHEMA_LOCK_KEY "7318420113"

static void forward_notice(void *unused, const char *message)
{
    /* "relation already exists, skipping" from IF NOT EXISTS: noise unless debugging. */
    log_debug("postgres: %.*s", (int)strcspn(message, "\n"), message);
}

bool db_state_is_permanent(const char *sqlstate)
{
    if (sqlstate == NULL || strlen(sqlstate) != 5)
        return false;
    return strncmp(sqlstate, "28", 2) == 0      /* invalid authorization */
           || strcmp(sqlstate, "3D000") == 0    /* invalid catalog name: no such database */
           || strcmp(sqlstate, "42501") == 0    /* insufficient privilege */
           || strcmp(sqlstate, "42P01") == 0    /* undefined table */
           || strcmp(sqlstate, "42703") == 0    /* undefined column */
           || strcmp(sqlstate, "42883") == 0;   /* undefined function */
}

int db_error(PGconn *connection, const PGresult *result, const char *what, struct error *err)
{
    const char *message = result != NULL ? PQresultErrorMessage(result) : "";
    if (message[0] == '\0')
        message = PQerrorMessage(connection);
    const char *state = result != NULL ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
    if (db_state_is_permanent(state))
        return error_permanent(err, "%s: %.*s", what, (int)strcspn(message, "\n"), message);
    return error_set(err, "%s: %.*s", what, (int)strcspn(message, "\n"), message);
}

/* libpq gives no SQLSTATE for a failed connection. The server refused it (rather than
 * being out of reach) when a password was sent and the connection still failed, or when
 * its message says a role, database or host entry is wrong (PostgreSQL's own words,
 * in the English its messages are in unless lc_messages says otherwise). */
static bool connection_refused_for_good(PGconn *connection)
{
    if (PQconnectionUsedPassword(connection))
        return true;
    const char *message = PQerrorMessage(connection);
    static const char *const REFUSALS[] = {"authentication failed", "does not exist", "no pg_hba.conf entry",
                                           "permission denied", NULL};
    for (int i = 0; REFUSALS[i] != NULL; i++) {
        if (strcasestr(message, REFUSALS[i]) != NULL)
            return true;
    }
    return false;
}

PGconn *db_connect(const char *url, const char *application, struct error *err)
{
    const char *const keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *const values[] = {url, "5", application, NULL};
    /* expand_dbname = 1: the url may be a URI or key=value string; it wins over the rest. */
    PGconn *connection = PQconnectdbParams(keys, values, 1);
    if (connection == NULL) {
        error_set(err, "cannot connect to PostgreSQL: out of memory");
        return NULL;
    }
    if (PQstatus(connection) != CONNECTION_OK) {
        db_error(connection, NULL, "cannot connect to PostgreSQL", err);
        if (connection_refused_for_good(connection))
            error_make_permanent(err);
        PQfinish(connection);
        return NULL;
    }
    PQsetNoticeProcessor(connection, forward_notice, NULL);
    return connection;
}

int db_exec(PGconn *connection, const char *sql, struct error *err)
{
    PGresult *result = PQexec(connection, sql);
    int status = PQresultStatus(result);
    int rc = 0;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        rc = db_error(connection, result, "statement failed", err);
    PQclear(result);
    return rc;
}

int db_check_schema(PGconn *connection, struct error *err)
{
    PGresult *result = PQexec(connection, "SELECT coalesce(max(version), 0) FROM schema_version");
    int rc = 0;
    if (PQresultStatus(result) == PGRES_TUPLES_OK) {
        int version = atoi(PQgetvalue(result, 0, 0));
        if (version < DB_SCHEMA_VERSION)
            rc = error_set(err, "the database holds schema version %d, this build needs %d: run tickerflow-migrate",
                           version, DB_SCHEMA_VERSION);
    } else {
        const char *state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
        if (state != NULL && strcmp(state, "42P01") == 0) /* no schema_version: nothing applied yet */
            rc = error_set(err, "the database has no tickerflow schema yet: run tickerflow-migrate");
        else
            rc = db_error(connection, result, "checking the schema version", err);
    }
    PQclear(result);
    return rc;
}

int db_apply_schema(PGconn *connection, struct error *err)
{
    if (db_exec(connection, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ")", err) < 0)
        return -1;
    /* PQexec runs the multi-statement script inside the caller's transaction. */
    if (db_exec(connection, DB_SCHEMA_SQL, err) < 0)
        return error_wrap(err, "applying db/init.sql");
    char record_version[160];
    snprintf(record_version, sizeof record_version,
             "INSERT INTO schema_version (version) SELECT %d WHERE NOT EXISTS "
             "(SELECT FROM schema_version WHERE version = %d)",
             DB_SCHEMA_VERSION, DB_SCHEMA_VERSION);
    return db_exec(connection, record_version, err);
}
