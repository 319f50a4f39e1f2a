#include "record_writer.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "row_format.h"

struct record_writer {
    char *database_url;
    const struct row_format *format;
    char *begin_sql;    /* BEGIN, a savepoint and the rows' COPY, in one round trip */
    PGconn *connection; /* NULL until connected, and again after a failure */
    bool copying;       /* a transaction is open with the rows' COPY in progress */
    bool failed;        /* a stream call failed: the batch cannot be stored */
    size_t rows_sent;   /* rows of the current batch already sent */
    char failure[ERROR_MESSAGE_MAX];
    char *arrays;       /* reused text of the offset arrays */
    size_t arrays_capacity;
};

/* Moves each partition's offset from the expected value (or inserts it when none was
 * expected) in one statement; the number of rows touched tells whether all matched. */
static const char STORE_OFFSETS_SQL[] =
    "WITH input AS (SELECT * FROM unnest($2::int[], $3::bigint[], $4::bigint[]) AS i(partition, expected, next))"
    " INSERT INTO bridge_offsets AS b (topic, partition, next_offset)"
    " SELECT $1, partition, next FROM input"
    " ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()"
    " WHERE b.next_offset = (SELECT expected FROM input WHERE input.partition = EXCLUDED.partition)";

static const char LOAD_OFFSETS_SQL[] = "SELECT partition, next_offset FROM bridge_offsets WHERE topic = $1";

struct record_writer *record_writer_new(const char *database_url, const struct row_format *format,
                                        struct error *err)
{
    struct record_writer *writer = calloc(1, sizeof *writer);
    if (writer == NULL || (writer->database_url = strdup(database_url)) == NULL ||
        asprintf(&writer->begin_sql, "BEGIN; SAVEPOINT rows; %s", format->copy_sql) < 0) {
        if (writer != NULL)
            free(writer->database_url);
        free(writer);
        error_set(err, "out of memory");
        return NULL;
    }
    writer->format = format;
    return writer;
}

void record_writer_destroy(struct record_writer *writer)
{
    if (writer == NULL)
        return;
    PQfinish(writer->connection);
    free(writer->database_url);
    free(writer->begin_sql);
    free(writer->arrays);
    free(writer);
}

static void disconnect(struct record_writer *writer)
{
    PQfinish(writer->connection);
    writer->connection = NULL;
    writer->copying = false;
}

int record_writer_connect(struct record_writer *writer, struct error *err)
{
    if (writer->connection != NULL && PQstatus(writer->connection) == CONNECTION_OK)
        return 0;
    disconnect(writer);
    writer->connection = db_connect(writer->database_url, "tickerflow-bridge", err);
    if (writer->connection == NULL)
        return -1;
    if (db_check_schema(writer->connection, err) < 0) {
        disconnect(writer);
        return -1;
    }
    log_info("connected to PostgreSQL");
    return 0;
}

int record_writer_load_offsets(struct record_writer *writer, const char *topic, struct stored_offset **offsets,
                               size_t *count, struct error *err)
{
    if (record_writer_connect(writer, err) < 0)
        return -1;
    const char *params[] = {topic};
    PGresult *result = PQexecParams(writer->connection, LOAD_OFFSETS_SQL, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        db_error(writer->connection, result, "reading bridge_offsets", err);
        PQclear(result);
        disconnect(writer);
        return -1;
    }
    int rows = PQntuples(result);
    *offsets = calloc((size_t)rows + 1, sizeof **offsets);
    if (*offsets == NULL) {
        PQclear(result);
        return error_set(err, "out of memory");
    }
    for (int row = 0; row < rows; row++) {
        (*offsets)[row].partition = (int32_t)strtol(PQgetvalue(result, row, 0), NULL, 10);
        (*offsets)[row].next_offset = strtoll(PQgetvalue(result, row, 1), NULL, 10);
    }
    *count = (size_t)rows;
    PQclear(result);
    return 0;
}

/* Reads the results of a finished COPY; on failure fills err and the SQLSTATE. */
static int finish_copy(PGconn *connection, char sqlstate[6], struct error *err)
{
    sqlstate[0] = '\0';
    if (PQputCopyEnd(connection, NULL) != 1)
        return db_error(connection, NULL, "ending COPY", err);
    int rc = 0;
    PGresult *result;
    while ((result = PQgetResult(connection)) != NULL) {
        if (PQresultStatus(result) != PGRES_COMMAND_OK && rc == 0) {
            rc = db_error(connection, result, "COPY", err);
            const char *state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
            snprintf(sqlstate, 6, "%s", state != NULL ? state : "");
        }
        PQclear(result);
    }
    return rc;
}

static int put_copy_data(PGconn *connection, const char *data, size_t length, struct error *err)
{
    if (length > 0 && PQputCopyData(connection, data, (int)length) != 1)
        return db_error(connection, NULL, "sending COPY data", err);
    return 0;
}

static int start_copy(PGconn *connection, const char *sql, char sqlstate[6], struct error *err)
{
    sqlstate[0] = '\0';
    PGresult *result = PQexec(connection, sql);
    int status = PQresultStatus(result);
    PQclear(result);
    if (status != PGRES_COPY_IN)
        return db_error(connection, NULL, "starting COPY", err);
    return 0;
}

/* COPYs rows [first, first + count) as one COPY statement. */
static int copy_rows(PGconn *connection, const struct row_format *format, const struct record_batch *batch,
                     size_t first, size_t count, char sqlstate[6], struct error *err)
{
    if (start_copy(connection, format->copy_sql, sqlstate, err) < 0)
        return -1;
    size_t length;
    const char *data = record_batch_row_data(batch, first, count, &length);
    if (put_copy_data(connection, format->header, format->header_length, err) < 0 ||
        put_copy_data(connection, data, length, err) < 0 ||
        put_copy_data(connection, format->trailer, format->trailer_length, err) < 0)
        return -1;
    return finish_copy(connection, sqlstate, err);
}

/* Runs one text COPY ... FROM STDIN of `text`. */
static int copy_text(PGconn *connection, const char *sql, const char *text, size_t length, char sqlstate[6],
                     struct error *err)
{
    if (start_copy(connection, sql, sqlstate, err) < 0)
        return -1;
    if (put_copy_data(connection, text, length, err) < 0)
        return -1;
    return finish_copy(connection, sqlstate, err);
}

/* Errors that belong to the data (SQLSTATE classes 22 and 23: a bad value, a violated
 * constraint), as opposed to the connection or the server. */
static bool is_data_error(const char *sqlstate)
{
    return strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "23", 2) == 0;
}

/* COPYs rows [first, first + count) inside a savepoint. If Postgres refuses the data, the
 * range is halved until each refused row stands alone; those rows become dead letters
 * and their neighbours are stored. */
static int store_rows(PGconn *connection, const struct row_format *format, struct record_batch *batch, size_t first,
                      size_t count, struct error *err)
{
    if (count == 0)
        return 0;
    if (db_exec(connection, "SAVEPOINT rows", err) < 0)
        return -1;
    char sqlstate[6];
    if (copy_rows(connection, format, batch, first, count, sqlstate, err) == 0)
        return db_exec(connection, "RELEASE SAVEPOINT rows", err);
    if (!is_data_error(sqlstate))
        return -1;
    if (db_exec(connection, "ROLLBACK TO SAVEPOINT rows", err) < 0 ||
        db_exec(connection, "RELEASE SAVEPOINT rows", err) < 0)
        return -1;
    if (count == 1) {
        char reason[ERROR_MESSAGE_MAX + 32];
        snprintf(reason, sizeof reason, "refused by PostgreSQL: %s", err->message);
        log_warn("row %zu of the batch %s; dead-lettered", first, reason);
        return record_batch_reject_row(batch, first, reason, err);
    }
    size_t half = count / 2;
    if (store_rows(connection, format, batch, first, half, err) < 0)
        return -1;
    return store_rows(connection, format, batch, first + half, count - half, err);
}

static int store_dead_letters(PGconn *connection, struct record_batch *batch, const char *topic, struct error *err)
{
    if (record_batch_dead_letters(batch) == 0)
        return 0;
    size_t length;
    const char *text = record_batch_dead_letter_text(batch, topic, &length, err);
    char sqlstate[6];
    if (text == NULL || copy_text(connection, RECORD_BATCH_DEAD_LETTER_SQL, text, length, sqlstate, err) < 0)
        return error_wrap(err, "storing dead letters");
    return 0;
}

/* Writes "{a,b,c}": the partitions (which 0), expected offsets (1) or next offsets (2).
 * Returns the bytes written, NUL included. */
static size_t append_array(char *out, const struct record_batch_offset *offsets, const int64_t *expected,
                           size_t count, int which)
{
    size_t used = 0;
    out[used++] = '{';
    for (size_t i = 0; i < count; i++) {
        long long value = which == 0 ? offsets[i].partition : which == 1 ? expected[i] : offsets[i].next_offset;
        used += (size_t)sprintf(out + used, "%s%lld", i ? "," : "", value);
    }
    out[used++] = '}';
    out[used++] = '\0';
    return used;
}

/* Returns 0, -1 (database error) or RECORD_WRITER_CONFLICT. */
static int store_offsets(struct record_writer *writer, const struct record_batch *batch, const char *topic,
                         const int64_t *expected, struct error *err)
{
    size_t count;
    const struct record_batch_offset *offsets = record_batch_offsets(batch, &count);
    size_t needed = 3 * (count * 22 + 3);
    if (needed > writer->arrays_capacity) {
        char *grown = realloc(writer->arrays, needed);
        if (grown == NULL)
            return error_set(err, "out of memory");
        writer->arrays = grown;
        writer->arrays_capacity = needed;
    }
    char *partitions = writer->arrays;
    char *expecteds = partitions + append_array(partitions, offsets, expected, count, 0);
    char *nexts = expecteds + append_array(expecteds, offsets, expected, count, 1);
    append_array(nexts, offsets, expected, count, 2);

    const char *params[] = {topic, partitions, expecteds, nexts};
    PGresult *result = PQexecParams(writer->connection, STORE_OFFSETS_SQL, 4, NULL, params, NULL, NULL, 0);
    int rc = 0;
    if (PQresultStatus(result) != PGRES_COMMAND_OK)
        rc = db_error(writer->connection, result, "storing offsets", err);
    else if (strtoull(PQcmdTuples(result), NULL, 10) != count) {
        error_set(err, "another bridge stored offsets of %s since this one read them", topic);
        rc = RECORD_WRITER_CONFLICT;
    }
    PQclear(result);
    return rc;
}

/* Opens the batch's transaction and starts the rows' COPY, in one round trip. */
static int begin_copy(struct record_writer *writer, struct error *err)
{
    if (record_writer_connect(writer, err) < 0)
        return -1;
    if (!PQsendQuery(writer->connection, writer->begin_sql))
        return db_error(writer->connection, NULL, "starting the batch", err);
    PGresult *result;
    int rc = -1;
    while ((result = PQgetResult(writer->connection)) != NULL) {
        int status = PQresultStatus(result);
        if (status == PGRES_COPY_IN) {
            PQclear(result);
            rc = 0;
            break;
        }
        if (status != PGRES_COMMAND_OK) {
            db_error(writer->connection, result, "starting the batch", err);
            PQclear(result);
            break;
        }
        PQclear(result);
    }
    if (rc < 0) {
        if (err->message[0] == '\0')
            error_set(err, "starting the batch: no COPY");
        return -1;
    }
    writer->copying = true;
    writer->rows_sent = 0;
    return put_copy_data(writer->connection, writer->format->header, writer->format->header_length, err);
}

static int stream_rows(struct record_writer *writer, const struct record_batch *batch, struct error *err)
{
    if (!writer->copying && begin_copy(writer, err) < 0)
        return -1;
    size_t rows = record_batch_rows(batch), length;
    const char *data = record_batch_row_data(batch, writer->rows_sent, rows - writer->rows_sent, &length);
    if (put_copy_data(writer->connection, data, length, err) < 0)
        return -1;
    writer->rows_sent = rows;
    return 0;
}

int record_writer_stream(struct record_writer *writer, const struct record_batch *batch, struct error *err)
{
    if (writer->failed)
        return error_set(err, "%s", writer->failure);
    if (stream_rows(writer, batch, err) == 0)
        return 0;
    writer->failed = true;
    snprintf(writer->failure, sizeof writer->failure, "%s", err->message);
    disconnect(writer);
    return -1;
}

void record_writer_abandon(struct record_writer *writer)
{
    writer->failed = false;
    writer->rows_sent = 0;
    if (!writer->copying)
        return;
    struct error err;
    /* Ending the COPY with an error message makes the server discard it. */
    if (PQputCopyEnd(writer->connection, "batch abandoned") == 1) {
        PGresult *result;
        while ((result = PQgetResult(writer->connection)) != NULL)
            PQclear(result);
        writer->copying = false;
        if (db_exec(writer->connection, "ROLLBACK", &err) == 0)
            return;
    }
    disconnect(writer);
}

/* Ends the rows' COPY. If Postgres refused data, isolates the refused rows. */
static int finish_rows(struct record_writer *writer, struct record_batch *batch, struct error *err)
{
    if (stream_rows(writer, batch, err) < 0 ||
        put_copy_data(writer->connection, writer->format->trailer, writer->format->trailer_length, err) < 0)
        return -1;
    writer->copying = false;
    char sqlstate[6];
    if (finish_copy(writer->connection, sqlstate, err) == 0)
        return db_exec(writer->connection, "RELEASE SAVEPOINT rows", err);
    if (!is_data_error(sqlstate))
        return -1;
    log_info("PostgreSQL refused a row of the batch (%s); isolating it", err->message);
    if (db_exec(writer->connection, "ROLLBACK TO SAVEPOINT rows", err) < 0 ||
        db_exec(writer->connection, "RELEASE SAVEPOINT rows", err) < 0)
        return -1;
    return store_rows(writer->connection, writer->format, batch, 0, record_batch_rows(batch), err);
}

int record_writer_store(struct record_writer *writer, struct record_batch *batch, const char *topic,
                        const int64_t *expected, struct error *err)
{
    if (writer->failed) {
        error_set(err, "%s", writer->failure);
        record_writer_abandon(writer);
        return -1;
    }
    if (record_batch_messages(batch) == 0)
        return 0;
    int rc;
    if ((rc = finish_rows(writer, batch, err)) == 0 &&
        (rc = store_dead_letters(writer->connection, batch, topic, err)) == 0 &&
        (rc = store_offsets(writer, batch, topic, expected, err)) == 0 &&
        (rc = db_exec(writer->connection, "COMMIT", err)) == 0) {
        writer->rows_sent = 0;
        return 0;
    }
    writer->rows_sent = 0;
    if (rc == RECORD_WRITER_CONFLICT) {
        struct error rollback_error;
        if (db_exec(writer->connection, "ROLLBACK", &rollback_error) == 0)
            return rc;
    }
    /* Whatever failed, nothing committed (or, if COMMIT's answer was lost, the stored
     * offsets will tell): start again from a fresh connection. */
    disconnect(writer);
    return rc;
}
