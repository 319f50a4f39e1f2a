/*
 * Timestamps are int64 microseconds since the Unix epoch, UTC. On the wire they are
 * RFC 3339 text; tickerflow writes "2026-11-23T12:34:56.789012Z" (UTC, six digits).
 */
#ifndef TICKERFLOW_TIMESTAMP_H
#define TICKERFLOW_TIMESTAMP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" plus NUL */
#define TIMESTAMP_TEXT_SIZE 28

/* Earliest and latest instants accepted: years 0001 to 9999. */
#define TIMESTAMP_MIN_US (-62135596800LL * 1000000LL)
#define TIMESTAMP_MAX_US (253402300799LL * 1000000LL + 999999LL)

/* The current wall-clock time. */
int64_t timestamp_now_us(void);

/* Milliseconds on a clock that never jumps (CLOCK_MONOTONIC): for timeouts and durations. */
int64_t timestamp_monotonic_ms(void);

/* The same clock in microseconds. */
int64_t timestamp_monotonic_us(void);

/* Writes the canonical form of `microseconds` into out (TIMESTAMP_TEXT_SIZE bytes).
 * Returns the text length, or -1 when the instant is outside years 0001..9999. */
int timestamp_format(int64_t microseconds, char out[TIMESTAMP_TEXT_SIZE]);

/* Parses RFC 3339 "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" ('t'/'z' and a
 * space for 'T' accepted, as RFC 3339 allows). Fractions beyond microseconds are
 * truncated. The text need not be NUL-terminated. */
int timestamp_parse(const char *text, size_t length, int64_t *microseconds, struct error *err);

#endif
