#include "db.h"

#include <string.h>

#include "log.h"

/* An arbitrary constant shared by every daemon: the key of the schema advisory lock. */
#define SCHEMA_LOCK_KEY "7318420113"

static void forward_notice(void *unused, const char *message)
{
    /* "relation already exists, skipping" from IF NOT EXISTS: noise unless debugging. */
    log_debug("postgres: %.*s", (int)strcspn(message, "\n"), message);
}

int db_error(PGconn *connection, const PGresult *result, const char *what, struct error *err)
{
    const char *message = result != NULL ? PQresultErrorMessage(result) : "";
    if (message[0] == '\0')
        message = PQerrorMessage(connection);
    return error_set(err, "%s: %.*s", what, (int)strcspn(message, "\n"), message);
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

int db_ensure_schema(PGconn *connection, struct error *err)
{
    if (db_exec(connection, "SELECT pg_advisory_lock(" SCHEMA_LOCK_KEY ")", err) < 0)
        return -1;
    /* PQexec runs the whole multi-statement script in one implicit transaction. */
    int rc = db_exec(connection, DB_SCHEMA_SQL, err);
    if (rc < 0)
        error_wrap(err, "applying db/init.sql");
    struct error unlock_error;
    if (db_exec(connection, "SELECT pg_advisory_unlock(" SCHEMA_LOCK_KEY ")", &unlock_error) < 0)
        log_warn("releasing the schema lock: %s", unlock_error.message);
    return rc;
}
