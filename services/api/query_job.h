/*
 * A query the API server hands to a worker thread: an HTTP request under /api, or a
 * WebSocket resume, with the answer the worker fills in.
 *
 * Ownership: the service thread creates a job and submits it to the query pool, which owns
 * it until query_pool_take_done hands it back; then the service thread frees it.
 */
#ifndef API_QUERY_JOB_H
#define API_QUERY_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json_text.h"
#include "request.h"

/* A WebSocket resume: one ticker's stored values after a time, or one pair's stored trades
 * after an offset. */
struct resume_query {
    char name[API_KEY_MAX + 1];
    bool pair;
    int64_t since; /* a time (ticker), an offset (pair) */
    int limit;     /* the most values returned: the newest ones when there are more */
};

struct resume_rows {
    bool failed;        /* the database was unavailable */
    bool anchored;      /* a value at exactly `since` is stored (the client's last one) */
    bool truncated;     /* more than `limit` values: the oldest were left out */
    size_t count;
    int64_t *positions; /* owned, oldest first: times (ticker), offsets (pair) */
    int32_t *values;    /* owned: a ticker's values */
    struct trade *trades;  /* owned: a pair's trades */
    int32_t *partitions;   /* owned: where a pair's trades were read */
};

enum query_kind {
    QUERY_HTTP,   /* GET /api/...: answered with an HTTP status and a JSON body */
    QUERY_RESUME, /* answered with rows */
};

struct query_job {
    struct query_job *next;
    enum query_kind kind;
    enum api_route route;         /* QUERY_HTTP */
    struct history_query history; /* QUERY_HTTP, API_ROUTE_HISTORY and API_ROUTE_MARKET_TRADES */
    struct candles_query candles; /* QUERY_HTTP, API_ROUTE_CANDLES and API_ROUTE_MARKET_CANDLES */
    char pair[API_KEY_MAX + 1];   /* QUERY_HTTP, the market routes that name one */
    struct resume_query resume;   /* QUERY_RESUME */

    /* The answer, filled by a worker: HTTP status and a JSON body the job owns, or rows. */
    int status;
    char *body;
    size_t body_length;
    struct resume_rows rows;

    /* Service thread only: who waits for this job (an HTTP session or a WebSocket
     * subscription), NULL once it has gone. */
    void *session;
};

/* Answers the job with an error: `status` and {"error": message}. */
void query_job_fail(struct query_job *job, int status, const char *message);

/* Answers the job 200 with the text (taken over), or 500 if building it ran out of memory. */
void query_job_answer(struct query_job *job, struct json_text *text);

/* Returns a zeroed job, or NULL. Free with query_job_free (also frees the body and rows). */
struct query_job *query_job_new(void);
void query_job_free(struct query_job *job);

/* Frees a list of jobs linked by `next`. */
void query_job_free_list(struct query_job *job);

#endif
