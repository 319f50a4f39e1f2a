/*
 * Worker threads that answer API queries from Postgres, so no query ever runs on the
 * service thread (which must keep streaming live frames).
 *
 * Threads: submit and take_done run on the service thread; each worker owns one
 * Postgres connection and calls `wake` (lws_cancel_service) after finishing a job.
 */
#ifndef API_QUERY_POOL_H
#define API_QUERY_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "request.h"

/* A WebSocket resume: one ticker's stored values after a time. */
struct resume_query {
    char name[TICKER_NAME_MAX + 1];
    int64_t since_us;
    int limit; /* the most values returned: the newest ones when there are more */
};

struct resume_rows {
    bool failed;       /* the database was unavailable */
    bool anchored;     /* a value at exactly since_us is stored (the client's last one) */
    bool truncated;    /* more than `limit` values: the oldest were left out */
    size_t count;
    int64_t *times_us; /* owned, oldest first */
    int32_t *values;   /* owned */
};

enum query_kind {
    QUERY_HTTP,   /* GET /api/...: answered with an HTTP status and a JSON body */
    QUERY_RESUME, /* answered with rows */
};

struct query_job {
    struct query_job *next;
    enum query_kind kind;
    enum api_route route;         /* QUERY_HTTP */
    struct history_query history; /* QUERY_HTTP, API_ROUTE_HISTORY */
    struct candles_query candles; /* QUERY_HTTP, API_ROUTE_CANDLES */
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

/* Returns a zeroed job, or NULL. Free with query_job_free (also frees the body). */
struct query_job *query_job_new(void);
void query_job_free(struct query_job *job);

struct query_pool;

/* Starts `threads` workers. A query over `query_timeout_ms` is cancelled and answered 503. */
struct query_pool *query_pool_start(const char *database_url, int threads, size_t max_pending, int query_timeout_ms,
                                    void (*wake)(void *context), void *context, struct error *err);

/* Queues a job; the pool owns it until query_pool_take_done returns it. Returns -1 (the
 * caller keeps the job) when max_pending jobs already wait. */
int query_pool_submit(struct query_pool *pool, struct query_job *job);

/* Takes every finished job, as a list linked by job->next; the caller owns them. */
struct query_job *query_pool_take_done(struct query_pool *pool);

/* Stops and joins the workers and frees every job the pool still owns. NULL does nothing. */
void query_pool_stop(struct query_pool *pool);

#endif
