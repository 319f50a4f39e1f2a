/*
 * A thread that finishes and commits one batch at a time (record_writer_store), so the
 * bridge's main thread goes on filling the next batch meanwhile.
 *
 * Committing a batch means waiting for Postgres to insert the rows still in flight, run
 * the rollup trigger, store the offsets and flush the WAL: about 40% of each cycle when
 * the main thread waited for it (docs/benchmarks.md). Each batch streams its rows on a
 * connection of its own, so while the worker commits one, Postgres already inserts the
 * next one's rows on another backend.
 *
 * One job at a time: the caller collects it before submitting the next, so batches
 * commit in order and each one's expected offsets are those the previous one stored.
 * Two jobs queued (three connections) drained slower in bench/bridge-drain (160-183k
 * rows/s against 182-211k) and held more memory: the backends inserting at once
 * contend with each other and the rest for two cores.
 */
#ifndef BRIDGE_STORE_WORKER_H
#define BRIDGE_STORE_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "record_batch.h"
#include "record_writer.h"

struct store_worker;

/* Starts the thread. Destroy with store_worker_stop. */
struct store_worker *store_worker_start(struct error *err);

/* Hands over a job: record_writer_store(writer, batch, topic, expected). The worker owns
 * writer, batch and expected until store_worker_collect returns; `topic` must outlive the
 * worker. Only when no job is pending. */
void store_worker_submit(struct store_worker *worker, struct record_writer *writer, struct record_batch *batch,
                         const char *topic, const int64_t *expected);

/* True once the pending job has finished (collecting it will not wait). Lock-free: the
 * bridge asks on every poll. */
bool store_worker_finished(const struct store_worker *worker);

/* Waits for the pending job and returns record_writer_store's result (with err), and in
 * *store_ms how long the store took. Ownership of the job's writer, batch and expected
 * returns to the caller. Only when a job is pending. */
int store_worker_collect(struct store_worker *worker, int64_t *store_ms, struct error *err);

/* Lets a pending job finish (its result is lost: collect it first if it matters) and
 * ends the thread. NULL does nothing. */
void store_worker_stop(struct store_worker *worker);

#endif
