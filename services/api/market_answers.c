#include "market_answers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_text.h"

/* Distinct pairs by skipping through trades_pair_time_idx (one probe per pair), then per
 * pair: the last trade due ($1: the clock plus api.max_ahead_ms), the reference price 24 h
 * before it (the last trade at or before $1 - 24 h, else the first one after), and the
 * 24 hours' volume and trade count. */
static const char MARKETS_SQL[] =
    "WITH RECURSIVE pairs AS ("
    "  (SELECT currency_pair AS p FROM trades ORDER BY currency_pair LIMIT 1)"
    "  UNION ALL"
    "  SELECT (SELECT t.currency_pair FROM trades t WHERE t.currency_pair > pairs.p ORDER BY t.currency_pair LIMIT 1)"
    "  FROM pairs WHERE pairs.p IS NOT NULL)"
    " SELECT p, last.base, last.quote, last.price, (extract(epoch FROM last.time) * 1000000)::bigint,"
    "   last.price - coalesce(before.price, first_of_day.price),"
    "   round((last.price - coalesce(before.price, first_of_day.price)) * 100"
    "         / coalesce(before.price, first_of_day.price), 4),"
    "   day.volume, day.volume_buy, day.volume_sell, day.trades"
    " FROM pairs"
    " CROSS JOIN LATERAL (SELECT base, quote, price, time FROM trades WHERE currency_pair = p AND time <= $1"
    "   ORDER BY time DESC, id DESC LIMIT 1) last"
    " LEFT JOIN LATERAL (SELECT price FROM trades WHERE currency_pair = p AND time <= $1::timestamptz - interval '1 day'"
    "   ORDER BY time DESC, id DESC LIMIT 1) before ON true"
    " LEFT JOIN LATERAL (SELECT price FROM trades WHERE currency_pair = p AND time > $1::timestamptz - interval '1 day'"
    "   ORDER BY time, id LIMIT 1) first_of_day ON true"
    " CROSS JOIN LATERAL (SELECT coalesce(sum(volume), 0) AS volume,"
    "   coalesce(sum(volume) FILTER (WHERE direction = 'buy'), 0) AS volume_buy,"
    "   coalesce(sum(volume) FILTER (WHERE direction = 'sell'), 0) AS volume_sell, count(*) AS trades"
    "   FROM trades WHERE currency_pair = p AND time > $1::timestamptz - interval '1 day' AND time <= $1) day"
    " WHERE p IS NOT NULL ORDER BY p";

/* candlesticks and volumes rolled up in SQL (db/init.sql): $2 is the interval, e.g. "300 seconds". */
static const char CANDLES_SQL[] =
    "SELECT (extract(epoch FROM ts_start) * 1000000)::bigint, price_open, price_max, price_min, price_close, trades,"
    "   coalesce(volume_buy, 0), coalesce(volume_sell, 0)"
    " FROM candlesticks_rollup($1, $2::interval, $3::timestamptz, $4::timestamptz)";

/* The newest $4 trades of the range (one more, to tell whether it was truncated), oldest first. */
static const char TRADES_SQL[] =
    "SELECT (extract(epoch FROM time) * 1000000)::bigint, exchange, direction, price, volume, price_usd, trade_id,"
    " kafka_partition, kafka_offset FROM"
    " (SELECT * FROM trades WHERE currency_pair = $1 AND time >= $2 AND time <= $3"
    "  ORDER BY time DESC, id DESC LIMIT $4 + 1) newest"
    " ORDER BY time, id";

/* A resume: the newest $3 + 1 trades from offset $2 on (one more to tell truncation; the
 * trade at exactly $2, if stored, is the client's last one), in offset order. */
static const char RESUME_SQL[] =
    "SELECT kafka_offset, kafka_partition, exchange, base, quote, direction, price, volume, price_usd,"
    " (extract(epoch FROM time) * 1000)::bigint, trade_id FROM"
    " (SELECT * FROM trades WHERE currency_pair = $1 AND kafka_offset >= $2"
    "  ORDER BY kafka_offset DESC LIMIT $3 + 2) newest"
    " ORDER BY kafka_offset";

static const char PAIR_EXISTS_SQL[] =
    "SELECT EXISTS (SELECT 1 FROM trades WHERE currency_pair = $1)"
    "    OR EXISTS (SELECT 1 FROM candlesticks WHERE currency_pair = $1)";

/* A NUMERIC column as a JSON number, or null. */
static const char *number_or_null(const PGresult *result, int row, int column)
{
    return PQgetisnull(result, row, column) ? "null" : PQgetvalue(result, row, column);
}

static void answer_markets(struct history_store *store, struct query_job *job)
{
    char until[TIMESTAMP_TEXT_SIZE];
    json_text_time(history_store_due_until_us(store), until);
    const char *const params[] = {until};
    PGresult *result = history_store_query(store, MARKETS_SQL, 1, params);
    if (result == NULL) {
        query_job_fail(job, 503, "database unavailable");
        return;
    }
    struct json_text text = {0};
    json_text_append(&text, "{\"markets\":[");
    for (int row = 0; row < PQntuples(result); row++) {
        char time_text[TIMESTAMP_TEXT_SIZE];
        json_text_time(strtoll(PQgetvalue(result, row, 4), NULL, 10), time_text);
        /* Pairs, bases and quotes passed trade_validate_name: [a-z0-9._-] and '/', nothing to escape. */
        json_text_append(&text,
                         "%s{\"pair\":\"%s\",\"base\":\"%s\",\"quote\":\"%s\",\"price\":%s,\"time\":\"%s\","
                         "\"change_24h\":%s,\"change_24h_percent\":%s,\"volume_24h\":%s,\"volume_buy_24h\":%s,"
                         "\"volume_sell_24h\":%s,\"trades_24h\":%s}",
                         row ? "," : "", PQgetvalue(result, row, 0), PQgetvalue(result, row, 1),
                         PQgetvalue(result, row, 2), PQgetvalue(result, row, 3), time_text,
                         number_or_null(result, row, 5), number_or_null(result, row, 6), PQgetvalue(result, row, 7),
                         PQgetvalue(result, row, 8), PQgetvalue(result, row, 9), PQgetvalue(result, row, 10));
    }
    json_text_append(&text, "]}");
    PQclear(result);
    query_job_answer(job, &text);
}

/* Runs a range query of the job's pair: NULL once the job is answered (503, or 404 for a
 * pair with no rows at all). */
static PGresult *query_pair_range(struct history_store *store, struct query_job *job, const char *sql,
                                  const char *const params[4])
{
    PGresult *result = history_store_query(store, sql, 4, params);
    if (result == NULL) {
        query_job_fail(job, 503, "database unavailable");
        return NULL;
    }
    if (PQntuples(result) > 0)
        return result;
    const char *const pair[] = {job->pair};
    PGresult *exists = history_store_query(store, PAIR_EXISTS_SQL, 1, pair);
    if (exists == NULL || PQgetvalue(exists, 0, 0)[0] != 't') {
        query_job_fail(job, exists == NULL ? 503 : 404, exists == NULL ? "database unavailable" : "unknown currency pair");
        PQclear(exists);
        PQclear(result);
        return NULL;
    }
    PQclear(exists);
    return result;
}

static void answer_candles(struct history_store *store, struct query_job *job)
{
    const struct candles_query *query = &job->candles;
    char from_text[TIMESTAMP_TEXT_SIZE], to_text[TIMESTAMP_TEXT_SIZE], interval[32];
    json_text_time(query->from_us, from_text);
    json_text_time(query->to_us, to_text);
    snprintf(interval, sizeof interval, "%" PRId64 " seconds", query->interval_s);
    const char *const params[] = {job->pair, interval, from_text, to_text};
    PGresult *result = query_pair_range(store, job, CANDLES_SQL, params);
    if (result == NULL)
        return;
    struct json_text text = {0};
    json_text_append(&text, "{\"pair\":\"%s\",\"interval\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"candles\":[",
                     job->pair, query->interval, from_text, to_text);
    for (int row = 0; row < PQntuples(result); row++) {
        int64_t start_us = strtoll(PQgetvalue(result, row, 0), NULL, 10);
        char start[TIMESTAMP_TEXT_SIZE], end[TIMESTAMP_TEXT_SIZE];
        json_text_time(start_us, start);
        json_text_time(start_us + query->interval_s * 1000000, end);
        json_text_append(&text,
                         "%s{\"start\":\"%s\",\"end\":\"%s\",\"open\":%s,\"high\":%s,\"low\":%s,\"close\":%s,"
                         "\"trades\":%s,\"volume_buy\":%s,\"volume_sell\":%s}",
                         row ? "," : "", start, end, PQgetvalue(result, row, 1), PQgetvalue(result, row, 2),
                         PQgetvalue(result, row, 3), PQgetvalue(result, row, 4), PQgetvalue(result, row, 5),
                         PQgetvalue(result, row, 6), PQgetvalue(result, row, 7));
    }
    json_text_append(&text, "]}");
    PQclear(result);
    query_job_answer(job, &text);
}

static void answer_trades(struct history_store *store, struct query_job *job)
{
    const struct history_query *query = &job->history;
    char from_text[TIMESTAMP_TEXT_SIZE], to_text[TIMESTAMP_TEXT_SIZE], count_text[16];
    json_text_time(query->from_us, from_text);
    /* Without `to`: what is due now (a trade dated past the clock is not shown before its time). */
    json_text_time(query->to_us == INT64_MAX ? history_store_due_until_us(store) : query->to_us, to_text);
    snprintf(count_text, sizeof count_text, "%d", query->limit);
    const char *const params[] = {job->pair, from_text, to_text, count_text};
    PGresult *result = query_pair_range(store, job, TRADES_SQL, params);
    if (result == NULL)
        return;
    int rows = PQntuples(result);
    bool truncated = rows > query->limit;
    int first = truncated ? 1 : 0; /* the extra row is the oldest one: leave it out */
    struct json_text text = {0};
    char position[TIMESTAMP_TEXT_SIZE + 2] = "null";
    if (rows > first) {
        char time_text[TIMESTAMP_TEXT_SIZE];
        json_text_time(strtoll(PQgetvalue(result, rows - 1, 0), NULL, 10), time_text);
        snprintf(position, sizeof position, "\"%s\"", time_text);
    }
    /* The newest offset shown: a WebSocket subscription to the pair with this "since" goes on
     * with the trades the answer does not hold, none twice (docs/api.md). */
    int64_t last_offset = -1;
    for (int row = first; row < rows; row++) {
        if (!PQgetisnull(result, row, 8) && strtoll(PQgetvalue(result, row, 8), NULL, 10) > last_offset)
            last_offset = strtoll(PQgetvalue(result, row, 8), NULL, 10);
    }
    char last_offset_text[24] = "null";
    if (last_offset >= 0)
        snprintf(last_offset_text, sizeof last_offset_text, "%" PRId64, last_offset);
    json_text_append(&text, "{\"pair\":\"%s\",\"position\":%s,\"last_offset\":%s,\"truncated\":%s,\"trades\":[",
                     job->pair, position, last_offset_text, truncated ? "true" : "false");
    for (int row = first; row < rows; row++) {
        char time_text[TIMESTAMP_TEXT_SIZE];
        json_text_time(strtoll(PQgetvalue(result, row, 0), NULL, 10), time_text);
        json_text_append(&text,
                         "%s{\"time\":\"%s\",\"exchange\":\"%s\",\"direction\":\"%s\",\"price\":%s,\"volume\":%s,"
                         "\"price_usd\":%s,\"trade_id\":%s,\"partition\":%s,\"offset\":%s}",
                         row > first ? "," : "", time_text, PQgetvalue(result, row, 1), PQgetvalue(result, row, 2),
                         PQgetvalue(result, row, 3), PQgetvalue(result, row, 4), number_or_null(result, row, 5),
                         number_or_null(result, row, 6), number_or_null(result, row, 7),
                         number_or_null(result, row, 8));
    }
    json_text_append(&text, "]}");
    PQclear(result);
    query_job_answer(job, &text);
}

void market_answer(struct history_store *store, struct query_job *job)
{
    if (job->route == API_ROUTE_MARKETS)
        answer_markets(store, job);
    else if (job->route == API_ROUTE_MARKET_CANDLES)
        answer_candles(store, job);
    else
        answer_trades(store, job);
}

/* A stored trade as the record the live feed decodes. */
static void trade_of_row(const PGresult *result, int row, struct trade *trade)
{
    snprintf(trade->exchange, sizeof trade->exchange, "%s", PQgetvalue(result, row, 2));
    snprintf(trade->base, sizeof trade->base, "%s", PQgetvalue(result, row, 3));
    snprintf(trade->quote, sizeof trade->quote, "%s", PQgetvalue(result, row, 4));
    trade->direction = strcmp(PQgetvalue(result, row, 5), "buy") == 0 ? TRADE_BUY : TRADE_SELL;
    snprintf(trade->price, sizeof trade->price, "%s", PQgetvalue(result, row, 6));
    snprintf(trade->volume, sizeof trade->volume, "%s", PQgetvalue(result, row, 7));
    snprintf(trade->price_usd, sizeof trade->price_usd, "%s", PQgetvalue(result, row, 8)); /* "" when NULL */
    trade->timestamp_ms = strtoll(PQgetvalue(result, row, 9), NULL, 10);
    trade->trade_id = PQgetisnull(result, row, 10) ? TRADE_NO_ID : strtoll(PQgetvalue(result, row, 10), NULL, 10);
}

void market_resume(struct history_store *store, struct query_job *job)
{
    const struct resume_query *query = &job->resume;
    struct resume_rows *rows = &job->rows;
    char since_text[24], limit_text[16];
    snprintf(since_text, sizeof since_text, "%" PRId64, query->since);
    snprintf(limit_text, sizeof limit_text, "%d", query->limit);
    const char *const params[] = {query->name, since_text, limit_text};
    PGresult *result = history_store_query(store, RESUME_SQL, 3, params);
    if (result == NULL) {
        rows->failed = true;
        return;
    }
    int count = PQntuples(result), first = history_store_resume_first(result, 0, query, rows);
    size_t room = (size_t)(count - first + 1);
    rows->positions = malloc(room * sizeof *rows->positions);
    rows->partitions = malloc(room * sizeof *rows->partitions);
    rows->trades = malloc(room * sizeof *rows->trades);
    if (rows->positions == NULL || rows->partitions == NULL || rows->trades == NULL) {
        rows->failed = true;
        PQclear(result);
        return;
    }
    for (int row = first; row < count; row++) {
        trade_of_row(result, row, &rows->trades[rows->count]);
        rows->partitions[rows->count] = (int32_t)strtol(PQgetvalue(result, row, 1), NULL, 10);
        rows->positions[rows->count++] = strtoll(PQgetvalue(result, row, 0), NULL, 10);
    }
    PQclear(result);
}
