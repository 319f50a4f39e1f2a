/*
 * Worker threads that answer API queries, so no query ever runs on the service thread
 * (which must keep streaming live frames). The pool knows nothing of what answers a job:
 * each worker opens its own answerer (server.c gives it history_store's functions).
 *
 * Threads: submit, take_done, stop_workers and destroy run on the service thread (or main,
 * once the service loop has ended); each worker thread runs `answer` on its own
 * answerer and calls `wake` after finishing a job. `interrupt` is called from the thread
 * that stops the pool.
 */
#ifndef API_QUERY_POOL_H
#define API_QUERY_POOL_H

#include <stddef.h>

#include "error.h"
#include "query_job.h"

/* What answers jobs, one per worker thread. */
struct query_answerer {
    /* Creates a worker's answerer (NULL when out of memory: that worker answers 503s). */
    void *(*open)(void *context);
    /* Fills the job's answer. Runs on the worker's thread. */
    void (*answer)(void *answerer, struct query_job *job);
    /* Makes an answer under way return soon (cancels its query). Any thread. */
    void (*interrupt)(void *answerer);
    void (*close)(void *answerer);
    void *context;
};

struct query_pool;

/* Starts `threads` workers. `answerer` is copied. */
struct query_pool *query_pool_start(int threads, size_t max_pending, const struct query_answerer *answerer,
                                    void (*wake)(void *context), void *wake_context, struct error *err);

/* Queues a job; the pool owns it until query_pool_take_done returns it. Returns -1 (the
 * caller keeps the job) when max_pending jobs already wait, or once the workers stopped. */
int query_pool_submit(struct query_pool *pool, struct query_job *job);

/* Takes every finished job, as a list linked by job->next; the caller owns them. */
struct query_job *query_pool_take_done(struct query_pool *pool);

/* Interrupts the queries under way and joins the workers: afterwards no worker runs and
 * `wake` is never called again. The jobs the pool holds stay allocated (sessions may still
 * point at them) until query_pool_destroy. Idempotent. */
void query_pool_stop_workers(struct query_pool *pool);

/* Stops the workers if need be and frees the pool and every job it still owns. NULL does
 * nothing. */
void query_pool_destroy(struct query_pool *pool);

#endif
