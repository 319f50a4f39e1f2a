/*
 * The API's reads of `records` and `candles_1m`: the ticker list with latest values, a
 * ticker's history and its candles. Each store owns one Postgres connection and is used by one worker thread.
 * SQL is parameterised; the answer is an HTTP status and a JSON body.
 */
#ifndef API_HISTORY_STORE_H
#define API_HISTORY_STORE_H

#include "metrics.h"
#include "query_pool.h"

struct history_store;

/* Does not connect yet; the first query does. `database_url` is copied. Queries running
 * longer than `query_timeout_ms` are cancelled (answered 503) and counted in `timeouts`
 * (registered by the caller on the main thread; may be NULL). */
struct history_store *history_store_new(const char *database_url, int query_timeout_ms, struct metric *timeouts);
void history_store_destroy(struct history_store *store);

/* Runs the job's query and sets job->status and job->body (200 with data, 404 for an
 * unknown ticker, 503 when the database is unavailable). Reconnects once on a broken
 * connection. */
void history_store_answer(struct history_store *store, struct query_job *job);

#endif
