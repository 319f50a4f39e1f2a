#include "history_store.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "timestamp.h"

struct history_store {
    char *database_url;
    PGconn *connection;
};

/* Distinct names by skipping through records_name_time_idx (one index probe per ticker,
 * not a scan of every row), then each ticker's latest row through the same index. */
static const char TICKERS_SQL[] =
    "WITH RECURSIVE names AS ("
    "  (SELECT name FROM records ORDER BY name LIMIT 1)"
    "  UNION ALL"
    "  SELECT (SELECT r.name FROM records r WHERE r.name > names.name ORDER BY r.name LIMIT 1)"
    "  FROM names WHERE names.name IS NOT NULL)"
    " SELECT n.name, l.value, (extract(epoch FROM l.time) * 1000000)::bigint"
    " FROM names n CROSS JOIN LATERAL"
    "  (SELECT value, time FROM records WHERE records.name = n.name ORDER BY time DESC, id DESC LIMIT 1) l"
    " WHERE n.name IS NOT NULL ORDER BY n.name";

/* The newest $4 points of the range (one more, to tell whether it was truncated),
 * returned oldest first. */
static const char HISTORY_SQL[] =
    "SELECT value, (extract(epoch FROM time) * 1000000)::bigint FROM"
    " (SELECT time, value, id FROM records WHERE name = $1 AND time >= $2 AND time <= $3"
    "  ORDER BY time DESC, id DESC LIMIT $4 + 1) newest"
    " ORDER BY time, id";

static const char EXISTS_SQL[] = "SELECT EXISTS (SELECT 1 FROM records WHERE name = $1)";

/* A growing text buffer for JSON bodies. */
struct text {
    char *data;
    size_t length, capacity;
    bool failed;
};

static void text_append(struct text *text, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void text_append(struct text *text, const char *format, ...)
{
    if (text->failed)
        return;
    for (;;) {
        va_list args;
        va_start(args, format);
        int needed = vsnprintf(text->data + text->length, text->capacity - text->length, format, args);
        va_end(args);
        if (needed < 0) {
            text->failed = true;
            return;
        }
        if ((size_t)needed < text->capacity - text->length) {
            text->length += (size_t)needed;
            return;
        }
        size_t capacity = (text->capacity + (size_t)needed + 1) * 2;
        char *grown = realloc(text->data, capacity);
        if (grown == NULL) {
            text->failed = true;
            return;
        }
        text->data = grown;
        text->capacity = capacity;
    }
}

static void set_error(struct query_job *job, int status, const char *message)
{
    free(job->body);
    job->body = api_error_body(message);
    job->body_length = job->body ? strlen(job->body) : 0;
    job->status = status;
}

static void set_body(struct query_job *job, struct text *text)
{
    if (text->failed) {
        free(text->data);
        set_error(job, 500, "out of memory");
        return;
    }
    job->status = 200;
    job->body = text->data;
    job->body_length = text->length;
}

struct history_store *history_store_new(const char *database_url)
{
    struct history_store *store = calloc(1, sizeof *store);
    if (store != NULL && (store->database_url = strdup(database_url)) == NULL) {
        free(store);
        store = NULL;
    }
    return store;
}

void history_store_destroy(struct history_store *store)
{
    if (store == NULL)
        return;
    PQfinish(store->connection);
    free(store->database_url);
    free(store);
}

static void format_time(int64_t microseconds, char out[TIMESTAMP_TEXT_SIZE])
{
    if (timestamp_format(microseconds, out) < 0)
        strcpy(out, microseconds < 0 ? "-infinity" : "infinity");
}

/* Runs a query, reconnecting once if the connection was lost. Returns NULL (and logs)
 * when the database is unavailable. */
static PGresult *run_query(struct history_store *store, const char *sql, int count, const char *const *params)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        struct error err;
        if (store->connection == NULL) {
            store->connection = db_connect(store->database_url, "tickerflow-api", &err);
            if (store->connection == NULL || db_ensure_schema(store->connection, &err) < 0) {
                log_warn("query: %s", err.message);
                PQfinish(store->connection);
                store->connection = NULL;
                return NULL;
            }
        }
        PGresult *result = PQexecParams(store->connection, sql, count, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(result) == PGRES_TUPLES_OK)
            return result;
        db_error(store->connection, result, "query", &err);
        PQclear(result);
        log_warn("%s", err.message);
        if (PQstatus(store->connection) == CONNECTION_OK)
            return NULL;
        PQfinish(store->connection);
        store->connection = NULL;
    }
    return NULL;
}

static void answer_tickers(struct history_store *store, struct query_job *job)
{
    PGresult *result = run_query(store, TICKERS_SQL, 0, NULL);
    if (result == NULL) {
        set_error(job, 503, "database unavailable");
        return;
    }
    struct text text = {0};
    text_append(&text, "{\"tickers\":[");
    for (int row = 0; row < PQntuples(result); row++) {
        char time_text[TIMESTAMP_TEXT_SIZE];
        format_time(strtoll(PQgetvalue(result, row, 2), NULL, 10), time_text);
        /* Stored names passed the bridge's validation: [A-Za-z0-9_] only. */
        text_append(&text, "%s{\"name\":\"%s\",\"value\":%s,\"time\":\"%s\"}", row ? "," : "",
                    PQgetvalue(result, row, 0), PQgetvalue(result, row, 1), time_text);
    }
    text_append(&text, "]}");
    PQclear(result);
    set_body(job, &text);
}

static void answer_history(struct history_store *store, struct query_job *job)
{
    const struct history_query *query = &job->history;
    char from_text[TIMESTAMP_TEXT_SIZE], to_text[TIMESTAMP_TEXT_SIZE], limit_text[16];
    format_time(query->from_us, from_text);
    format_time(query->to_us, to_text);
    snprintf(limit_text, sizeof limit_text, "%d", query->limit);
    const char *const params[] = {query->name, from_text, to_text, limit_text};

    PGresult *result = run_query(store, HISTORY_SQL, 4, params);
    if (result == NULL) {
        set_error(job, 503, "database unavailable");
        return;
    }
    int rows = PQntuples(result);
    if (rows == 0) {
        PQclear(result);
        result = run_query(store, EXISTS_SQL, 1, params);
        if (result == NULL) {
            set_error(job, 503, "database unavailable");
            return;
        }
        bool known = PQgetvalue(result, 0, 0)[0] == 't';
        PQclear(result);
        if (!known) {
            set_error(job, 404, "unknown ticker");
            return;
        }
        result = NULL;
    }
    bool truncated = rows > query->limit;
    int first = truncated ? 1 : 0; /* the extra row is the oldest one: leave it out */
    struct text text = {0};
    text_append(&text, "{\"name\":\"%s\",\"truncated\":%s,\"points\":[", query->name, truncated ? "true" : "false");
    for (int row = first; row < rows; row++) {
        char time_text[TIMESTAMP_TEXT_SIZE];
        format_time(strtoll(PQgetvalue(result, row, 1), NULL, 10), time_text);
        text_append(&text, "%s{\"time\":\"%s\",\"value\":%s}", row > first ? "," : "", time_text,
                    PQgetvalue(result, row, 0));
    }
    text_append(&text, "]}");
    PQclear(result);
    set_body(job, &text);
}

void history_store_answer(struct history_store *store, struct query_job *job)
{
    if (store == NULL) {
        set_error(job, 500, "out of memory");
        return;
    }
    if (job->route == API_ROUTE_TICKERS)
        answer_tickers(store, job);
    else
        answer_history(store, job);
}
