/*
 * The ticker message: what the producer publishes to Kafka and every consumer reads.
 *
 *   {"name": "ticker_07", "value": -3, "time": "2026-11-23T12:34:56.789012Z"}
 *
 * The format and every rejection rule are documented in docs/message-format.md.
 */
#ifndef TICKERFLOW_TICKER_H
#define TICKERFLOW_TICKER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Longest name in bytes: it must fit records.name VARCHAR(10). */
#define TICKER_NAME_MAX 10

/* Large enough for any encoded message (longest name, value and time). */
#define TICKER_JSON_MAX 96

/* A decoded message: plain data, owned by whoever holds it. */
struct ticker {
    char name[TICKER_NAME_MAX + 1]; /* NUL-terminated, valid per ticker_validate_name */
    int32_t value;
    int64_t time_us; /* microseconds since the epoch, UTC */
};

/* Checks a name: 1..TICKER_NAME_MAX bytes of [A-Za-z0-9_]. `name` need not be
 * NUL-terminated. */
int ticker_validate_name(const char *name, size_t length, struct error *err);

/* Encodes `ticker` as compact JSON into out (at least TICKER_JSON_MAX bytes, NUL-terminated).
 * Returns the length written, or -1 with err set if the ticker is not valid. */
int ticker_encode(const struct ticker *ticker, char *out, size_t out_size, struct error *err);

/* Strictly decodes one message of `length` bytes (need not be NUL-terminated).
 * Rejects: invalid JSON or UTF-8, a non-object, duplicate or unknown keys, a missing
 * field, a field of the wrong type, an invalid name, a value outside int32, a time that
 * is not RFC 3339. On failure *ticker is unspecified and err says which rule failed. */
int ticker_decode(const char *data, size_t length, struct ticker *ticker, struct error *err);

/* The two readers ticker_decode tries in turn, exposed for the tests that check they agree.
 *
 * ticker_decode_compact reads only the exact form ticker_encode writes (no whitespace, keys
 * in order name, value, time, no escapes) without a JSON parser: 1 with *ticker filled, or
 * 0 when the input is not in that form. It never rejects, so every error still comes from
 * ticker_decode_json, which reads any JSON (jansson) and applies every rule above. */
int ticker_decode_compact(const char *data, size_t length, struct ticker *ticker);
int ticker_decode_json(const char *data, size_t length, struct ticker *ticker, struct error *err);

#endif
