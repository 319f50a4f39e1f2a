/*
 * A thread that finishes and commits batches (record_writer_store) one after another, in
 * the order they were submitted, so the bridge's main thread goes on filling the next
 * batch meanwhile.
 *
 * Committing a batch means waiting for Postgres to insert the rows still in flight, run
 * the rollup trigger, store the offsets and flush the WAL: about 40% of each cycle when
 * the main thread waited for it (docs/benchmarks.md). Each batch streams its rows on a
 * connection of its own, so while the worker commits one, Postgres already inserts the
 * next one's rows on another backend, and the two cores both work.
 *
 * Up to STORE_WORKER_QUEUE jobs may be pending. The caller collects results oldest first.
 */
#ifndef BRIDGE_STORE_WORKER_H
#define BRIDGE_STORE_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "record_batch.h"
#include "record_writer.h"

/* One batch stored while the next fills. Two queued (three lanes) drained slower in
 * bench/bridge-drain (160-183k rows/s against 182-211k) and held more memory: the
 * backends inserting at once contend with each other and the rest for two cores. */
#define STORE_WORKER_QUEUE 1

struct store_worker;

/* Starts the thread. Destroy with store_worker_stop. */
struct store_worker *store_worker_start(struct error *err);

/* Queues a job: record_writer_store(writer, batch, topic, expected). The worker owns
 * writer, batch and expected until the job is collected; `topic` must outlive the worker.
 * Only while fewer than STORE_WORKER_QUEUE jobs are pending. */
void store_worker_submit(struct store_worker *worker, struct record_writer *writer, struct record_batch *batch,
                         const char *topic, const int64_t *expected);

/* Jobs submitted and not yet collected. */
size_t store_worker_pending(struct store_worker *worker);

/* True once the oldest pending job has finished (collecting it will not wait). */
bool store_worker_finished(struct store_worker *worker);

/* Waits for the oldest pending job and returns record_writer_store's result (with err),
 * and in *store_ms how long the store took. Ownership of the job's writer, batch and
 * expected returns to the caller. Returns 0 at once when nothing is pending. */
int store_worker_collect(struct store_worker *worker, int64_t *store_ms, struct error *err);

/* Lets pending jobs finish (their results are lost: collect them first if they matter)
 * and ends the thread. NULL does nothing. */
void store_worker_stop(struct store_worker *worker);

#endif
