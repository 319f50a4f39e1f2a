#include "query_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "history_store.h"
#include "log.h"
#include "metrics.h"

struct query_pool {
    char *database_url;
    int query_timeout_ms;
    void (*wake)(void *context);
    void *wake_context;
    pthread_t *threads;
    int thread_count;
    size_t max_pending;
    struct metric *timeouts; /* registered here, on the main thread; updated by the workers */

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t work_ready;
    bool stopping;
    struct query_job *pending_head, *pending_tail;
    size_t pending;
    struct query_job *done;
};

struct query_job *query_job_new(void)
{
    return calloc(1, sizeof(struct query_job));
}

void query_job_free(struct query_job *job)
{
    if (job == NULL)
        return;
    free(job->body);
    free(job->rows.times_us);
    free(job->rows.values);
    free(job);
}

static void free_list(struct query_job *job)
{
    while (job != NULL) {
        struct query_job *next = job->next;
        query_job_free(job);
        job = next;
    }
}

static void *run_worker(void *argument)
{
    struct query_pool *pool = argument;
    struct history_store *store = history_store_new(pool->database_url, pool->query_timeout_ms, pool->timeouts);
    pthread_mutex_lock(&pool->lock);
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

        history_store_answer(store, job);

        pthread_mutex_lock(&pool->lock);
        job->next = pool->done;
        pool->done = job;
        pool->wake(pool->wake_context);
    }
    pthread_mutex_unlock(&pool->lock);
    history_store_destroy(store);
    return NULL;
}

struct query_pool *query_pool_start(const char *database_url, int threads, size_t max_pending, int query_timeout_ms,
                                    void (*wake)(void *context), void *context, struct error *err)
{
    struct query_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL || (pool->database_url = strdup(database_url)) == NULL ||
        (pool->threads = calloc((size_t)threads, sizeof *pool->threads)) == NULL) {
        if (pool != NULL)
            free(pool->database_url);
        free(pool);
        error_set(err, "out of memory");
        return NULL;
    }
    pool->wake = wake;
    pool->wake_context = context;
    pool->max_pending = max_pending;
    pool->query_timeout_ms = query_timeout_ms;
    pool->timeouts = metrics_counter("tickerflow_api_query_timeouts_total",
                                     "History and candle queries cancelled at api.query_timeout_ms (answered 503)");
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work_ready, NULL);
    for (; pool->thread_count < threads; pool->thread_count++) {
        int rc = pthread_create(&pool->threads[pool->thread_count], NULL, run_worker, pool);
        if (rc != 0) {
            error_set(err, "cannot start a query thread: %s", strerror(rc));
            query_pool_stop(pool);
            return NULL;
        }
    }
    return pool;
}

int query_pool_submit(struct query_pool *pool, struct query_job *job)
{
    pthread_mutex_lock(&pool->lock);
    if (pool->pending >= pool->max_pending) {
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

void query_pool_stop(struct query_pool *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->thread_count; i++)
        pthread_join(pool->threads[i], NULL);
    free_list(pool->pending_head);
    free_list(pool->done);
    pthread_cond_destroy(&pool->work_ready);
    pthread_mutex_destroy(&pool->lock);
    free(pool->threads);
    free(pool->database_url);
    free(pool);
}
