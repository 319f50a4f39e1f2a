#include "store_worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "timestamp.h"

struct store_worker {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a job was submitted or finished, or stopping was set */
    bool submitted;         /* a job waits or runs */
    atomic_bool finished;   /* it ran; its result is below */
    bool stopping;

    /* The job, owned by the worker from submit to collect. */
    struct record_writer *writer;
    struct record_batch *batch;
    const char *topic;
    const int64_t *expected;

    /* Its result. */
    int result;
    int64_t store_ms;
    struct error err;
};

static void *run_jobs(void *context)
{
    struct store_worker *worker = context;
    pthread_mutex_lock(&worker->lock);
    for (;;) {
        while (!worker->submitted && !worker->stopping)
            pthread_cond_wait(&worker->changed, &worker->lock);
        if (!worker->submitted)
            break; /* stopping, and nothing left to do */
        pthread_mutex_unlock(&worker->lock);

        /* Nobody else touches the job until it is collected. */
        int64_t started_ms = timestamp_monotonic_ms();
        struct error err = {0};
        int result = record_writer_store(worker->writer, worker->batch, worker->topic, worker->expected, &err);

        pthread_mutex_lock(&worker->lock);
        worker->result = result;
        worker->err = err;
        worker->store_ms = timestamp_monotonic_ms() - started_ms;
        worker->submitted = false;
        atomic_store(&worker->finished, true);
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

void store_worker_submit(struct store_worker *worker, struct record_writer *writer, struct record_batch *batch,
                         const char *topic, const int64_t *expected)
{
    pthread_mutex_lock(&worker->lock);
    worker->writer = writer;
    worker->batch = batch;
    worker->topic = topic;
    worker->expected = expected;
    worker->submitted = true;
    atomic_store(&worker->finished, false);
    pthread_cond_broadcast(&worker->changed);
    pthread_mutex_unlock(&worker->lock);
}

bool store_worker_finished(const struct store_worker *worker)
{
    return atomic_load(&worker->finished);
}

int store_worker_collect(struct store_worker *worker, int64_t *store_ms, struct error *err)
{
    pthread_mutex_lock(&worker->lock);
    while (!atomic_load(&worker->finished))
        pthread_cond_wait(&worker->changed, &worker->lock);
    int result = worker->result;
    if (result < 0 && err != NULL)
        *err = worker->err;
    if (store_ms != NULL)
        *store_ms = worker->store_ms;
    atomic_store(&worker->finished, false);
    worker->writer = NULL;
    worker->batch = NULL;
    worker->expected = NULL;
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
