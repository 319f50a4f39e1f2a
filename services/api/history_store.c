#include "history_store.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucket_grid.h"
#include "db.h"
#include "log.h"
#include "market_answers.h"
#include "timestamp.h"

struct history_store {
    const struct history_store_settings *settings;
    PGconn *connection;
    pthread_mutex_t lock; /* guards the two below, which history_store_interrupt reads */
    PGcancel *cancel;     /* of `connection`, while there is one */
    bool interrupted;
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
    "  (SELECT value, time FROM records WHERE records.name = n.name AND time <= $1"
    "   ORDER BY time DESC, id DESC LIMIT 1) l"
    " WHERE n.name IS NOT NULL ORDER BY n.name";

/* The newest $4 points of the range (one more, to tell whether it was truncated),
 * returned oldest first. */
static const char HISTORY_SQL[] =
    "SELECT value, (extract(epoch FROM time) * 1000000)::bigint FROM"
    " (SELECT time, value, id FROM records WHERE name = $1 AND time >= $2 AND time <= $3"
    "  ORDER BY time DESC, id DESC LIMIT $4 + 1) newest"
    " ORDER BY time, id";

/* A resume: the newest $3 + 1 values from $2 to $4 (one more to tell truncation; the
 * value at exactly $2, if stored, is the client's last one), oldest first. */
static const char RESUME_SQL[] =
    "SELECT value, (extract(epoch FROM time) * 1000000)::bigint FROM"
    " (SELECT time, value, id FROM records WHERE name = $1 AND time >= $2 AND time <= $4"
    "  ORDER BY time DESC, id DESC LIMIT $3 + 2) newest"
    " ORDER BY time, id";
static const char EXISTS_SQL[] = "SELECT EXISTS (SELECT 1 FROM records WHERE name = $1)";
/* Known to the candles endpoint: stored by the bridge or aggregated (run without a bridge). */
static const char CANDLES_EXIST_SQL[] =
    "SELECT EXISTS (SELECT 1 FROM records WHERE name = $1) OR EXISTS (SELECT 1 FROM candles_1m WHERE name = $1)";

/* Downsampling, in two steps. First the range's first and last stored times (two index
 * probes); from them bucket_grid_plan() picks the grid. Then one of two queries gives each
 * non-empty bucket's start (microseconds), min, max, last value and count, the bucket of a
 * time being date_bin($5, time, $4): [origin + k * width, origin + (k + 1) * width).
 * date_bin works in integer microseconds; computing the bucket through extract(epoch)
 * (numeric) took three quarters of a day-long query. */
static const char BOUNDS_SQL[] =
    "SELECT (extract(epoch FROM min(time)) * 1000000)::bigint, (extract(epoch FROM max(time)) * 1000000)::bigint"
    " FROM records WHERE name = $1 AND time >= $2 AND time <= $3";

/* Buckets narrower than the rollup's 10 seconds: one pass over the range's raw rows. */
static const char DOWNSAMPLE_RAW_SQL[] =
    "SELECT (extract(epoch FROM b.start) * 1000000)::bigint, min(r.value), max(r.value),"
    "   (array_agg(r.value ORDER BY r.time DESC, r.id DESC))[1], count(*)"
    " FROM records r CROSS JOIN LATERAL (SELECT date_bin($5::interval, r.time, $4::timestamptz) AS start) b"
    " WHERE r.name = $1 AND r.time >= $2 AND r.time <= $3"
    " GROUP BY b.start ORDER BY b.start";

/* Buckets of whole multiples of 10 seconds, aligned on 10 seconds: the 10-second rollup
 * rows (records_10s, db/init.sql) lying wholly inside the range, [$6, $7), plus the raw
 * rows of the partial 10 seconds at either end. Each rollup row falls into exactly one
 * bucket, so minima, maxima, last values and counts stay exact. */
static const char DOWNSAMPLE_ROLLUP_SQL[] =
    "SELECT (extract(epoch FROM b.start) * 1000000)::bigint, min(p.min_value), max(p.max_value),"
    "   (array_agg(p.last_value ORDER BY p.last_time DESC, p.last_id DESC))[1], sum(p.count)::bigint"
    " FROM ("
    "   SELECT bucket AS time, min_value, max_value, last_time, last_id, last_value, count FROM records_10s"
    "   WHERE name = $1 AND bucket >= $6 AND bucket < $7"
    "   UNION ALL"
    "   SELECT time, value, value, time, id, value, 1 FROM records WHERE name = $1 AND time >= $2 AND time < $6"
    "   UNION ALL"
    "   SELECT time, value, value, time, id, value, 1 FROM records WHERE name = $1 AND time >= $7 AND time <= $3"
    " ) p CROSS JOIN LATERAL (SELECT date_bin($5::interval, p.time, $4::timestamptz) AS start) b"
    " GROUP BY b.start ORDER BY b.start";

/* candles_1m rolled up in SQL (db/init.sql): $2 is the interval, e.g. "300 seconds". */
static const char CANDLES_SQL[] =
    "SELECT (extract(epoch FROM ts_start) * 1000000)::bigint, open, high, low, close, up_moves, down_moves, ticks"
    " FROM candles_rollup($1, $2::interval, $3::timestamptz, $4::timestamptz)";

struct history_store *history_store_new(const struct history_store_settings *settings)
{
    struct history_store *store = calloc(1, sizeof *store);
    if (store == NULL)
        return NULL;
    store->settings = settings;
    pthread_mutex_init(&store->lock, NULL);
    return store;
}

/* The newest time an answer may reach: values dated later are not due yet. */
int64_t history_store_due_until_us(const struct history_store *store)
{
    return timestamp_now_us() + store->settings->max_ahead_ms * 1000;
}

/* A runaway query must not hold a worker: Postgres cancels it after the timeout. */
static int limit_query_time(struct history_store *store, struct error *err)
{
    char timeout[24];
    snprintf(timeout, sizeof timeout, "%d", store->settings->query_timeout_ms);
    const char *params[] = {timeout};
    PGresult *result = PQexecParams(store->connection, "SELECT set_config('statement_timeout', $1, false)", 1,
                                    NULL, params, NULL, NULL, 0);
    int rc = PQresultStatus(result) == PGRES_TUPLES_OK ? 0 : -1;
    if (rc < 0)
        db_error(store->connection, result, "setting statement_timeout", err);
    PQclear(result);
    return rc;
}

static void disconnect(struct history_store *store)
{
    pthread_mutex_lock(&store->lock);
    PQfreeCancel(store->cancel);
    store->cancel = NULL;
    pthread_mutex_unlock(&store->lock);
    PQfinish(store->connection);
    store->connection = NULL;
}

static int connect_store(struct history_store *store, struct error *err)
{
    store->connection = db_connect(store->settings->database_url, "tickerflow-api", err);
    if (store->connection == NULL || db_check_schema(store->connection, err) < 0 || limit_query_time(store, err) < 0) {
        disconnect(store);
        return -1;
    }
    pthread_mutex_lock(&store->lock);
    store->cancel = PQgetCancel(store->connection);
    pthread_mutex_unlock(&store->lock);
    return 0;
}

void history_store_destroy(struct history_store *store)
{
    if (store == NULL)
        return;
    disconnect(store);
    pthread_mutex_destroy(&store->lock);
    free(store);
}

void history_store_interrupt(struct history_store *store)
{
    pthread_mutex_lock(&store->lock);
    store->interrupted = true;
    char reason[256];
    if (store->cancel != NULL && !PQcancel(store->cancel, reason, sizeof reason))
        log_debug("cancelling a query at stop: %s", reason);
    pthread_mutex_unlock(&store->lock);
}

static bool is_interrupted(struct history_store *store)
{
    pthread_mutex_lock(&store->lock);
    bool interrupted = store->interrupted;
    pthread_mutex_unlock(&store->lock);
    return interrupted;
}

int history_store_check(const struct history_store_settings *settings, struct error *err)
{
    struct history_store *store = history_store_new(settings);
    if (store == NULL)
        return error_set(err, "out of memory");
    int rc = connect_store(store, err);
    history_store_destroy(store);
    return rc;
}

/* Runs a query, reconnecting once if the connection was lost. Returns NULL (and logs)
 * when the database is unavailable. */
PGresult *history_store_query(struct history_store *store, const char *sql, int count, const char *const *params)
{
    for (int attempt = 0; attempt < 2 && !is_interrupted(store); attempt++) {
        struct error err;
        if (store->connection == NULL && connect_store(store, &err) < 0) {
            log_warn("query: %s", err.message);
            return NULL;
        }
        PGresult *result = PQexecParams(store->connection, sql, count, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(result) == PGRES_TUPLES_OK)
            return result;
        db_error(store->connection, result, "query", &err);
        const char *state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
        if (is_interrupted(store)) {
            PQclear(result);
            return NULL; /* cancelled for a stop: nobody waits for the answer */
        }
        if (state != NULL && strcmp(state, "57014") == 0) { /* query_canceled: the statement timeout */
            metric_add(store->settings->timeouts, 1);
            error_wrap(&err, "over api.query_timeout_ms (%d ms)", store->settings->query_timeout_ms);
        }
        PQclear(result);
        log_warn("%s", err.message);
        if (PQstatus(store->connection) == CONNECTION_OK)
            return NULL;
        disconnect(store);
    }
    return NULL;
}

static void answer_tickers(struct history_store *store, struct query_job *job)
{
    char until[TIMESTAMP_TEXT_SIZE];
    json_text_time(history_store_due_until_us(store), until);
    const char *const params[] = {until};
    PGresult *result = history_store_query(store, TICKERS_SQL, 1, params);
    if (result == NULL) {
        query_job_fail(job, 503, "database unavailable");
        return;
    }
    struct json_text text = {0};
    json_text_append(&text, "{\"tickers\":[");
    for (int row = 0; row < PQntuples(result); row++) {
        char time_text[TIMESTAMP_TEXT_SIZE];
        json_text_time(strtoll(PQgetvalue(result, row, 2), NULL, 10), time_text);
        /* Stored names passed the bridge's validation: [A-Za-z0-9_] only. */
        json_text_append(&text, "%s{\"name\":\"%s\",\"value\":%s,\"time\":\"%s\"}", row ? "," : "",
                         PQgetvalue(result, row, 0), PQgetvalue(result, row, 1), time_text);
    }
    json_text_append(&text, "]}");
    PQclear(result);
    query_job_answer(job, &text);
}

/* With no row in the range: 404 if the ticker has no row at all. Returns true when the
 * job has been answered (404 or 503). */
static bool answer_if_unknown(struct history_store *store, struct query_job *job)
{
    const char *const params[] = {job->history.name};
    const char *sql = job->route == API_ROUTE_CANDLES ? CANDLES_EXIST_SQL : EXISTS_SQL;
    PGresult *result = history_store_query(store, sql, 1, params);
    if (result == NULL) {
        query_job_fail(job, 503, "database unavailable");
        return true;
    }
    bool known = PQgetvalue(result, 0, 0)[0] == 't';
    PQclear(result);
    if (!known)
        query_job_fail(job, 404, "unknown ticker");
    return !known;
}

/* Runs a range query of the job's ticker. Returns the result (no rows: a known ticker with
 * nothing in the range), or NULL once the job is answered 503 or 404. */
static PGresult *query_range(struct history_store *store, struct query_job *job, const char *sql,
                             const char *const params[4])
{
    PGresult *result = history_store_query(store, sql, 4, params);
    if (result == NULL) {
        query_job_fail(job, 503, "database unavailable");
        return NULL;
    }
    if (PQntuples(result) == 0 && answer_if_unknown(store, job)) {
        PQclear(result);
        return NULL;
    }
    return result;
}

/* The range's first and last stored times; false (job answered, or a known ticker with
 * nothing in the range: *found false) when there are none. */
static bool find_bounds(struct history_store *store, struct query_job *job, const char *const params[3],
                        int64_t *first_us, int64_t *last_us, bool *found)
{
    *found = false;
    PGresult *result = history_store_query(store, BOUNDS_SQL, 3, params);
    if (result == NULL) {
        query_job_fail(job, 503, "database unavailable");
        return false;
    }
    if (PQgetisnull(result, 0, 0)) {
        PQclear(result);
        return !answer_if_unknown(store, job);
    }
    *first_us = strtoll(PQgetvalue(result, 0, 0), NULL, 10);
    *last_us = strtoll(PQgetvalue(result, 0, 1), NULL, 10);
    *found = true;
    PQclear(result);
    return true;
}

/* The buckets of [first, last] on `grid`: one result row per non-empty bucket. */
static PGresult *query_buckets(struct history_store *store, const char *name, int64_t first_us, int64_t last_us,
                               const struct bucket_grid *grid)
{
    char first[TIMESTAMP_TEXT_SIZE], last[TIMESTAMP_TEXT_SIZE], rollup_from[TIMESTAMP_TEXT_SIZE],
        rollup_to[TIMESTAMP_TEXT_SIZE], origin[TIMESTAMP_TEXT_SIZE], width[48];
    json_text_time(first_us, first);
    json_text_time(last_us, last);
    json_text_time(grid->rollup_from_us, rollup_from);
    json_text_time(grid->rollup_to_us, rollup_to);
    json_text_time(grid->origin_us, origin);
    snprintf(width, sizeof width, "%" PRId64 " microseconds", grid->width_us);
    const char *const params[] = {name, first, last, origin, width, rollup_from, rollup_to};
    if (grid->from_rollup)
        return history_store_query(store, DOWNSAMPLE_ROLLUP_SQL, 7, params);
    return history_store_query(store, DOWNSAMPLE_RAW_SQL, 5, params);
}

static void answer_downsampled(struct history_store *store, struct query_job *job, const char *const params[4])
{
    int64_t first_us = 0, last_us = 0;
    bool found;
    if (!find_bounds(store, job, params, &first_us, &last_us, &found))
        return;
    struct bucket_grid grid = {.width_us = 0};
    PGresult *result = NULL;
    if (found) {
        grid = bucket_grid_plan(first_us, last_us, job->history.max_points);
        /* Bounded by [first, last], not [from, to]: rows stored meanwhile after `last`
         * cannot add a bucket beyond max_points or move the answer's position. */
        result = query_buckets(store, job->history.name, first_us, last_us, &grid);
        if (result == NULL) {
            query_job_fail(job, 503, "database unavailable");
            return;
        }
    }
    int rows = result != NULL ? PQntuples(result) : 0;
    struct json_text text = {0};
    char position[TIMESTAMP_TEXT_SIZE + 2] = "null";
    if (found) {
        char time_text[TIMESTAMP_TEXT_SIZE];
        json_text_time(last_us, time_text);
        snprintf(position, sizeof position, "\"%s\"", time_text);
    }
    json_text_append(&text, "{\"name\":\"%s\",\"position\":%s,\"bucket_us\":%" PRId64 ",\"buckets\":[",
                     job->history.name, position, grid.width_us);
    for (int row = 0; row < rows; row++) {
        char time_text[TIMESTAMP_TEXT_SIZE];
        json_text_time(strtoll(PQgetvalue(result, row, 0), NULL, 10), time_text);
        json_text_append(&text, "%s{\"time\":\"%s\",\"min\":%s,\"max\":%s,\"last\":%s,\"count\":%s}", row ? "," : "",
                         time_text, PQgetvalue(result, row, 1), PQgetvalue(result, row, 2), PQgetvalue(result, row, 3),
                         PQgetvalue(result, row, 4));
    }
    json_text_append(&text, "]}");
    PQclear(result);
    query_job_answer(job, &text);
}

static void answer_history(struct history_store *store, struct query_job *job)
{
    const struct history_query *query = &job->history;
    char from_text[TIMESTAMP_TEXT_SIZE], to_text[TIMESTAMP_TEXT_SIZE], count_text[16];
    json_text_time(query->from_us, from_text);
    /* Without `to`: what is due now (a value dated past the clock comes live, in its time). */
    json_text_time(query->to_us == INT64_MAX ? history_store_due_until_us(store) : query->to_us, to_text);
    snprintf(count_text, sizeof count_text, "%d", query->max_points > 0 ? query->max_points : query->limit);
    const char *const params[] = {query->name, from_text, to_text, count_text};
    if (query->max_points > 0) {
        answer_downsampled(store, job, params);
        return;
    }

    PGresult *result = query_range(store, job, HISTORY_SQL, params);
    if (result == NULL)
        return;
    int rows = PQntuples(result);
    bool truncated = rows > query->limit;
    int first = truncated ? 1 : 0; /* the extra row is the oldest one: leave it out */
    struct json_text text = {0};
    char position[TIMESTAMP_TEXT_SIZE + 2] = "null";
    if (rows > first) {
        char time_text[TIMESTAMP_TEXT_SIZE];
        json_text_time(strtoll(PQgetvalue(result, rows - 1, 1), NULL, 10), time_text);
        snprintf(position, sizeof position, "\"%s\"", time_text);
    }
    json_text_append(&text, "{\"name\":\"%s\",\"position\":%s,\"truncated\":%s,\"points\":[", query->name, position,
                     truncated ? "true" : "false");
    for (int row = first; row < rows; row++) {
        char time_text[TIMESTAMP_TEXT_SIZE];
        json_text_time(strtoll(PQgetvalue(result, row, 1), NULL, 10), time_text);
        json_text_append(&text, "%s{\"time\":\"%s\",\"value\":%s}", row > first ? "," : "", time_text,
                         PQgetvalue(result, row, 0));
    }
    json_text_append(&text, "]}");
    PQclear(result);
    query_job_answer(job, &text);
}

/* Candles of the range; a ticker with neither records nor candles is unknown (404), a
 * known one with no closed minute in the range gets an empty list. */
static void answer_candles(struct history_store *store, struct query_job *job)
{
    const struct candles_query *query = &job->candles;
    char from_text[TIMESTAMP_TEXT_SIZE], to_text[TIMESTAMP_TEXT_SIZE], interval[32];
    json_text_time(query->from_us, from_text);
    json_text_time(query->to_us, to_text);
    snprintf(interval, sizeof interval, "%" PRId64 " seconds", query->interval_s);
    const char *const params[] = {query->name, interval, from_text, to_text};
    memcpy(job->history.name, query->name, sizeof job->history.name); /* for answer_if_unknown */
    PGresult *result = query_range(store, job, CANDLES_SQL, params);
    if (result == NULL)
        return;
    struct json_text text = {0};
    json_text_append(&text, "{\"name\":\"%s\",\"interval\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"candles\":[",
                     query->name, query->interval, from_text, to_text);
    for (int row = 0; row < PQntuples(result); row++) {
        int64_t start_us = strtoll(PQgetvalue(result, row, 0), NULL, 10);
        char start[TIMESTAMP_TEXT_SIZE], end[TIMESTAMP_TEXT_SIZE];
        json_text_time(start_us, start);
        json_text_time(start_us + query->interval_s * 1000000, end);
        json_text_append(&text,
                         "%s{\"start\":\"%s\",\"end\":\"%s\",\"open\":%s,\"high\":%s,\"low\":%s,\"close\":%s,"
                         "\"up_moves\":%s,\"down_moves\":%s,\"ticks\":%s}",
                         row ? "," : "", start, end, PQgetvalue(result, row, 1), PQgetvalue(result, row, 2),
                         PQgetvalue(result, row, 3), PQgetvalue(result, row, 4), PQgetvalue(result, row, 5),
                         PQgetvalue(result, row, 6), PQgetvalue(result, row, 7));
    }
    json_text_append(&text, "]}");
    PQclear(result);
    query_job_answer(job, &text);
}

int history_store_resume_first(const PGresult *result, int position_column, const struct resume_query *query,
                               struct resume_rows *rows)
{
    int count = PQntuples(result), first = 0;
    if (count > 0 && strtoll(PQgetvalue(result, 0, position_column), NULL, 10) == query->since) {
        rows->anchored = true;
        first = 1;
    }
    if (count - first > query->limit) {
        rows->truncated = true;
        first = count - query->limit;
    }
    return first;
}

/* Fills job->rows: the ticker's stored values after the time resume.since, oldest first. */
static void answer_resume(struct history_store *store, struct query_job *job)
{
    const struct resume_query *query = &job->resume;
    struct resume_rows *rows = &job->rows;
    char since_text[TIMESTAMP_TEXT_SIZE], limit_text[16], until_text[TIMESTAMP_TEXT_SIZE];
    json_text_time(query->since, since_text);
    snprintf(limit_text, sizeof limit_text, "%d", query->limit);
    json_text_time(history_store_due_until_us(store), until_text);
    const char *const params[] = {query->name, since_text, limit_text, until_text};
    PGresult *result = history_store_query(store, RESUME_SQL, 4, params);
    if (result == NULL) {
        rows->failed = true;
        return;
    }
    int count = PQntuples(result), first = history_store_resume_first(result, 1, query, rows);
    rows->positions = malloc((size_t)(count - first + 1) * sizeof *rows->positions);
    rows->values = malloc((size_t)(count - first + 1) * sizeof *rows->values);
    if (rows->positions == NULL || rows->values == NULL) {
        rows->failed = true;
        PQclear(result);
        return;
    }
    for (int row = first; row < count; row++) {
        rows->values[rows->count] = (int32_t)strtol(PQgetvalue(result, row, 0), NULL, 10);
        rows->positions[rows->count++] = strtoll(PQgetvalue(result, row, 1), NULL, 10);
    }
    PQclear(result);
}

void history_store_answer(struct history_store *store, struct query_job *job)
{
    if (store == NULL) {
        query_job_fail(job, 500, "out of memory");
        job->rows.failed = true;
        return;
    }
    if (job->kind == QUERY_RESUME && job->resume.pair)
        market_resume(store, job);
    else if (job->kind == QUERY_RESUME)
        answer_resume(store, job);
    else if (job->route == API_ROUTE_TICKERS)
        answer_tickers(store, job);
    else if (job->route == API_ROUTE_CANDLES)
        answer_candles(store, job);
    else if (job->route == API_ROUTE_MARKETS || job->route == API_ROUTE_MARKET_CANDLES ||
             job->route == API_ROUTE_MARKET_TRADES)
        market_answer(store, job);
    else
        answer_history(store, job);
}
