/*
 * Where the producer's messages go: the Kafka topic (keyed by ticker name or currency pair,
 * idempotent, acks=all), or stdout as JSON lines in --dry-run mode.
 */
#ifndef PRODUCER_PUBLISHER_H
#define PRODUCER_PUBLISHER_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "settings.h"
#include "ticker.h"

struct publisher;

/* Creates the publisher the settings ask for. For Kafka, waits (logging, with backoff)
 * until the topic exists or a stop is requested (ERROR_STOPPED). Destroy with
 * publisher_close. */
struct publisher *publisher_open(const struct producer_settings *settings, struct error *err);

/* Queues one message. Blocks while Kafka's local queue is full (the broker is away) so
 * nothing is dropped; returns -1 with err set if a stop is requested meanwhile
 * (ERROR_STOPPED), a delivery failed (see publisher_poll) or the message cannot be
 * encoded. */
int publisher_send(struct publisher *publisher, const struct ticker *ticker, struct error *err);

/* The same for any message: `json` (`length` bytes, copied) keyed by `key` (a string). */
int publisher_send_message(struct publisher *publisher, const char *key, const char *json, size_t length,
                           struct error *err);

/* Serves delivery reports for up to `timeout_ms`. Returns -1 with err set (ERROR_PERMANENT)
 * once Kafka has refused a message for good: the producer, which never gives a message
 * up by itself, cannot go on without it. */
int publisher_poll(struct publisher *publisher, int timeout_ms, struct error *err);

/* Serves delivery reports until `due_ms` (the monotonic clock), noticing a stop within
 * 100 ms (then returns 0 early: the caller checks shutdown_requested). */
int publisher_wait_until(struct publisher *publisher, int64_t due_ms, struct error *err);

/* Flushes what is in flight for up to `flush_timeout_ms`, logs what could not be
 * delivered and the totals, and frees everything. NULL does nothing. */
void publisher_close(struct publisher *publisher, int flush_timeout_ms);

#endif
