/*
 * Retrying an operation that waits for PostgreSQL or Kafka, with the one backoff policy
 * (backoff.h), until it succeeds, fails for good, or the daemon is asked to stop.
 * Any thread.
 */
#ifndef TICKERFLOW_RETRY_H
#define TICKERFLOW_RETRY_H

#include <stdatomic.h>
#include <stdbool.h>

#include "backoff.h"
#include "error.h"

typedef int retry_attempt_fn(void *context, struct error *err);

/* Calls attempt(context, err) until it returns 0, waiting a backoff between failures and
 * logging each at warn: "<what> failed (retrying in N ms): reason". Returns 0, or -1 with
 * err (not NULL) set: the attempt's error when it is not ERROR_FAILED (an ERROR_PERMANENT
 * one is not retried), or ERROR_STOPPED once a stop is requested (shutdown_requested, or
 * `*cancel` when not NULL). */
int retry_until(const char *what, retry_attempt_fn *attempt, void *context, const atomic_bool *cancel,
                struct error *err);

/* A seed for backoff_init that differs between processes and calls. */
uint64_t retry_seed(void);

#endif
