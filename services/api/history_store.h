/*
 * The API's reads of `records` and `candles_1m`: the ticker list with latest values, a
 * ticker's history and its candles, and WebSocket resumes; the market routes are answered
 * by market_answers.c through the same connection. Each store owns one Postgres
 * connection and is used by one query-pool worker thread (history_store_interrupt may be
 * called from any thread). SQL is parameterised; the answer is an HTTP status and a JSON
 * body, or rows.
 *
 * Values dated more than `max_ahead_ms` past the clock (a producer with a wrong clock) are
 * not due yet: the latest values, a history without `to` and resumes stop at the clock
 * plus that margin, so no answer puts a client's position ahead of the live stream.
 */
#ifndef API_HISTORY_STORE_H
#define API_HISTORY_STORE_H

#include <stdint.h>

#include <libpq-fe.h>

#include "error.h"
#include "metrics.h"
#include "query_job.h"

struct history_store_settings {
    const char *database_url;
    int query_timeout_ms;   /* PostgreSQL cancels a query running longer (answered 503) */
    int64_t max_ahead_ms;   /* see above */
    struct metric *timeouts; /* counts those cancellations; registered by the caller (may be NULL) */
};

struct history_store;

/* Does not connect yet; the first query does. `settings` must outlive the store. NULL
 * when out of memory. */
struct history_store *history_store_new(const struct history_store_settings *settings);
void history_store_destroy(struct history_store *store);

/* Runs the job's query and sets job->status and job->body (200 with data, 404 for an
 * unknown ticker, 503 when the database is unavailable or the store was interrupted), or
 * job->rows for a resume. Reconnects once on a broken connection. */
void history_store_answer(struct history_store *store, struct query_job *job);

/* For the answerers of other routes (market_answers.c), on the store's worker thread: runs
 * a parameterised query that returns rows, reconnecting once on a broken connection;
 * NULL (logged) when the database is unavailable or the store interrupted. The caller
 * PQclears the result. */
PGresult *history_store_query(struct history_store *store, const char *sql, int count, const char *const *params);

/* A resume's answer (rows from the query's position on, oldest first, up to limit + 2):
 * sets rows->anchored when the first row is at exactly the position asked (the client's last
 * one) and rows->truncated when more than query->limit follow it, and returns the index of the
 * first row to send. `position_column` holds each row's position. */
int history_store_resume_first(const PGresult *result, int position_column, const struct resume_query *query,
                               struct resume_rows *rows);

/* The newest time an answer may show: the clock plus max_ahead_ms. */
int64_t history_store_due_until_us(const struct history_store *store);

/* Cancels the query under way, if any, and makes every later answer a 503 at once: for
 * a stop. Any thread. */
void history_store_interrupt(struct history_store *store);

/* One connection at start-up, to tell a setting that can never work (credentials
 * rejected, no such database: ERROR_PERMANENT) from a database that is only away
 * (ERROR_FAILED: the server starts anyway and answers 503 until it is back). */
int history_store_check(const struct history_store_settings *settings, struct error *err);

#endif
