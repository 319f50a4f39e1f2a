#include "query_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct worker {
    struct query_pool *pool;
    pthread_t thread;
    void *answerer; /* guarded by the pool's lock while it is set or cleared */
};

struct query_pool {
    struct query_answerer answerer;
    void (*wake)(void *context);
    void *wake_context;
    struct worker *workers;
    int worker_count;
    size_t max_pending;
    bool joined; /* the workers were joined */

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t work_ready;
    bool stopping;
    struct query_job *pending_head, *pending_tail;
    size_t pending;
    struct query_job *done;
};

static void *run_worker(void *argument)
{
    struct worker *worker = argument;
    struct query_pool *pool = worker->pool;
    void *answerer = pool->answerer.open(pool->answerer.context);
    pthread_mutex_lock(&pool->lock);
    worker->answerer = answerer;
    for (;;) {
        while (!pool->stopping && pool->pending_head == NULL)
            pthread_cond_wait(&pool->work_ready, &pool->lock);
        if (pool->stopping)
            break;
        struct query_job *job = pool->pending_head;
        pool->pending_head = job->next;
        if (pool->pending_head == NULL)
            pool->pending_tail = NULL;
        pool->pending--;
        pthread_mutex_unlock(&pool->lock);

        if (answerer != NULL)
            pool->answerer.answer(answerer, job);
        else
            job->status = 503;

        pthread_mutex_lock(&pool->lock);
        job->next = pool->done;
        pool->done = job;
        pool->wake(pool->wake_context);
    }
    worker->answerer = NULL;
    pthread_mutex_unlock(&pool->lock);
    if (answerer != NULL)
        pool->answerer.close(answerer);
    return NULL;
}

struct query_pool *query_pool_start(int threads, size_t max_pending, const struct query_answerer *answerer,
                                    void (*wake)(void *context), void *wake_context, struct error *err)
{
    struct query_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL || (pool->workers = calloc((size_t)threads, sizeof *pool->workers)) == NULL) {
        free(pool);
        error_set(err, "out of memory");
        return NULL;
    }
    pool->answerer = *answerer;
    pool->wake = wake;
    pool->wake_context = wake_context;
    pool->max_pending = max_pending;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work_ready, NULL);
    for (; pool->worker_count < threads; pool->worker_count++) {
        struct worker *worker = &pool->workers[pool->worker_count];
        worker->pool = pool;
        int rc = pthread_create(&worker->thread, NULL, run_worker, worker);
        if (rc != 0) {
            error_set(err, "cannot start a query thread: %s", strerror(rc));
            query_pool_destroy(pool);
            return NULL;
        }
    }
    return pool;
}

int query_pool_submit(struct query_pool *pool, struct query_job *job)
{
    pthread_mutex_lock(&pool->lock);
    if (pool->stopping || pool->pending >= pool->max_pending) {
        pthread_mutex_unlock(&pool->lock);
        return -1;
    }
    job->next = NULL;
    if (pool->pending_tail != NULL)
        pool->pending_tail->next = job;
    else
        pool->pending_head = job;
    pool->pending_tail = job;
    pool->pending++;
    pthread_cond_signal(&pool->work_ready);
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

struct query_job *query_pool_take_done(struct query_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    struct query_job *done = pool->done;
    pool->done = NULL;
    pthread_mutex_unlock(&pool->lock);
    /* Workers push at the front: reverse so jobs come out in completion order. */
    struct query_job *ordered = NULL;
    while (done != NULL) {
        struct query_job *next = done->next;
        done->next = ordered;
        ordered = done;
        done = next;
    }
    return ordered;
}

void query_pool_stop_workers(struct query_pool *pool)
{
    if (pool == NULL || pool->joined)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->work_ready);
    /* A worker in the middle of a query holds no lock: cancel the query so it returns now
     * rather than at its statement timeout. Its answerer stays set until it leaves. */
    for (int i = 0; i < pool->worker_count; i++) {
        if (pool->workers[i].answerer != NULL)
            pool->answerer.interrupt(pool->workers[i].answerer);
    }
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->worker_count; i++)
        pthread_join(pool->workers[i].thread, NULL);
    pool->joined = true;
}

void query_pool_destroy(struct query_pool *pool)
{
    if (pool == NULL)
        return;
    query_pool_stop_workers(pool);
    query_job_free_list(pool->pending_head);
    query_job_free_list(pool->done);
    pthread_cond_destroy(&pool->work_ready);
    pthread_mutex_destroy(&pool->lock);
    free(pool->workers);
    free(pool);
}
