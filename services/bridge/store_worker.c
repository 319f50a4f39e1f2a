#include "store_worker.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "timestamp.h"

struct store_job {
    /* Owned by the worker from submit to collect. */
    struct record_writer *writer;
    struct record_batch *batch;
    const char *topic;
    const int64_t *expected;
    /* The result. */
    bool finished;
    int result;
    int64_t store_ms;
    struct error err;
};

struct store_worker {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a job was submitted or finished, or stopping was set */
    struct store_job jobs[STORE_WORKER_QUEUE];
    size_t oldest;          /* index of the oldest job not yet collected */
    size_t submitted;       /* jobs not yet collected, finished or not */
    size_t started;         /* of those, how many the thread has begun or finished */
    bool stopping;
};

static void *run_jobs(void *context)
{
    struct store_worker *worker = context;
    pthread_mutex_lock(&worker->lock);
    for (;;) {
        while (worker->started == worker->submitted && !worker->stopping)
            pthread_cond_wait(&worker->changed, &worker->lock);
        if (worker->started == worker->submitted)
            break; /* stopping, and nothing left to do */
        struct store_job *job = &worker->jobs[(worker->oldest + worker->started) % STORE_WORKER_QUEUE];
        worker->started++;
        pthread_mutex_unlock(&worker->lock);

        /* Nobody else touches a started job until it is collected. */
        int64_t started_ms = timestamp_monotonic_ms();
        struct error err = {{0}};
        int result = record_writer_store(job->writer, job->batch, job->topic, job->expected, &err);

        pthread_mutex_lock(&worker->lock);
        job->result = result;
        job->err = err;
        job->store_ms = timestamp_monotonic_ms() - started_ms;
        job->finished = true;
        pthread_cond_broadcast(&worker->changed);
    }
    pthread_mutex_unlock(&worker->lock);
    return NULL;
}

struct store_worker *store_worker_start(struct error *err)
{
    struct store_worker *worker = calloc(1, sizeof *worker);
    if (worker == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&worker->lock, NULL);
    pthread_cond_init(&worker->changed, NULL);
    int code = pthread_create(&worker->thread, NULL, run_jobs, worker);
    if (code != 0) {
        pthread_cond_destroy(&worker->changed);
        pthread_mutex_destroy(&worker->lock);
        free(worker);
        error_set(err, "starting the store thread: %s", strerror(code));
        return NULL;
    }
    return worker;
}

size_t store_worker_pending(struct store_worker *worker)
{
    pthread_mutex_lock(&worker->lock);
    size_t pending = worker->submitted;
    pthread_mutex_unlock(&worker->lock);
    return pending;
}

void store_worker_submit(struct store_worker *worker, struct record_writer *writer, struct record_batch *batch,
                         const char *topic, const int64_t *expected)
{
    pthread_mutex_lock(&worker->lock);
    struct store_job *job = &worker->jobs[(worker->oldest + worker->submitted) % STORE_WORKER_QUEUE];
    *job = (struct store_job){.writer = writer, .batch = batch, .topic = topic, .expected = expected};
    worker->submitted++;
    pthread_cond_broadcast(&worker->changed);
    pthread_mutex_unlock(&worker->lock);
}

bool store_worker_finished(struct store_worker *worker)
{
    pthread_mutex_lock(&worker->lock);
    bool finished = worker->submitted > 0 && worker->jobs[worker->oldest].finished;
    pthread_mutex_unlock(&worker->lock);
    return finished;
}

int store_worker_collect(struct store_worker *worker, int64_t *store_ms, struct error *err)
{
    pthread_mutex_lock(&worker->lock);
    if (worker->submitted == 0) {
        pthread_mutex_unlock(&worker->lock);
        return 0;
    }
    struct store_job *job = &worker->jobs[worker->oldest];
    while (!job->finished)
        pthread_cond_wait(&worker->changed, &worker->lock);
    int result = job->result;
    if (result < 0 && err != NULL)
        *err = job->err;
    if (store_ms != NULL)
        *store_ms = job->store_ms;
    *job = (struct store_job){0};
    worker->oldest = (worker->oldest + 1) % STORE_WORKER_QUEUE;
    worker->submitted--;
    worker->started--;
    pthread_mutex_unlock(&worker->lock);
    return result;
}

void store_worker_stop(struct store_worker *worker)
{
    if (worker == NULL)
        return;
    pthread_mutex_lock(&worker->lock);
    worker->stopping = true;
    pthread_cond_broadcast(&worker->changed);
    pthread_mutex_unlock(&worker->lock);
    pthread_join(worker->thread, NULL);
    pthread_cond_destroy(&worker->changed);
    pthread_mutex_destroy(&worker->lock);
    free(worker);
}
