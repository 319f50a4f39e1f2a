/*
 * The market routes of the HTTP API (docs/api.md), read from `trades`, `candlesticks` and
 * `volumes` through a history store's connection, on its worker thread:
 *   GET /api/markets                              every pair: last price, 24 h change, volume
 *   GET /api/markets/{base}/{quote}/candles       candlesticks and volumes, rolled up
 *   GET /api/markets/{base}/{quote}/trades        the newest trades of a range
 * Prices and volumes are written as JSON numbers with NUMERIC's own digits.
 */
#ifndef API_MARKET_ANSWERS_H
#define API_MARKET_ANSWERS_H

#include "history_store.h"
#include "query_job.h"

/* Sets job->status and job->body: 200, 404 for a pair with no trade and no candlestick,
 * 503 when the database is unavailable. */
void market_answer(struct history_store *store, struct query_job *job);

/* Fills job->rows for a WebSocket resume of a pair (job->resume.pair): its stored trades
 * after the offset job->resume.since, in the topic's order (rows->failed when the database
 * is unavailable). */
void market_resume(struct history_store *store, struct query_job *job);

#endif
