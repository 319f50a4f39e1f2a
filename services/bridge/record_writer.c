#include "record_writer.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"

struct record_writer {
    char *database_url;
    PGconn *connection; /* NULL until connected, and again after a failure */
};

struct record_writer *record_writer_new(const char *database_url, struct error *err)
{
    struct record_writer *writer = calloc(1, sizeof *writer);
    if (writer == NULL || (writer->database_url = strdup(database_url)) == NULL) {
        free(writer);
        error_set(err, "out of memory");
        return NULL;
    }
    return writer;
}

void record_writer_destroy(struct record_writer *writer)
{
    if (writer == NULL)
        return;
    PQfinish(writer->connection);
    free(writer->database_url);
    free(writer);
}

static void disconnect(struct record_writer *writer)
{
    PQfinish(writer->connection);
    writer->connection = NULL;
}

int record_writer_connect(struct record_writer *writer, struct error *err)
{
    if (writer->connection != NULL)
        return 0;
    writer->connection = db_connect(writer->database_url, "tickerflow-bridge", err);
    if (writer->connection == NULL)
        return -1;
    if (db_ensure_schema(writer->connection, err) < 0) {
        disconnect(writer);
        return -1;
    }
    log_info("connected to PostgreSQL");
    return 0;
}

static int copy_rows(PGconn *connection, const struct record_batch *batch, struct error *err)
{
    PGresult *result = PQexec(connection, RECORD_BATCH_COPY_SQL);
    int status = PQresultStatus(result);
    PQclear(result);
    if (status != PGRES_COPY_IN)
        return db_error(connection, NULL, "starting COPY", err);

    size_t length;
    const char *text = record_batch_copy_text(batch, &length);
    if (PQputCopyData(connection, text, (int)length) != 1 || PQputCopyEnd(connection, NULL) != 1)
        return db_error(connection, NULL, "sending COPY data", err);

    int rc = 0;
    while ((result = PQgetResult(connection)) != NULL) {
        if (PQresultStatus(result) != PGRES_COMMAND_OK && rc == 0)
            rc = db_error(connection, result, "COPY into records", err);
        PQclear(result);
    }
    return rc;
}

int record_writer_write(struct record_writer *writer, const struct record_batch *batch, struct error *err)
{
    if (record_batch_rows(batch) == 0)
        return 0;
    if (record_writer_connect(writer, err) < 0)
        return -1;
    if (db_exec(writer->connection, "BEGIN", err) == 0 && copy_rows(writer->connection, batch, err) == 0 &&
        db_exec(writer->connection, "COMMIT", err) == 0)
        return 0;
    /* Whatever failed, the transaction did not commit; a fresh connection is the simplest
     * known state to retry from. */
    disconnect(writer);
    return -1;
}
