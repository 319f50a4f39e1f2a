/*
 * ticker-decode: what decoding one Kafka message costs, by each of ticker_decode's readers.
 *
 * Every consumer (bridge, aggregator, API server) decodes every message; this times the
 * compact reader (the producer's exact form, no JSON parser) against the JSON reader
 * (jansson, any form) on the same message in the same run, and prints both and their ratio.
 *
 *   ticker-decode [ITERATIONS=2000000]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ticker.h"
#include "timestamp.h"

static const char MESSAGE[] = "{\"name\":\"ticker_07\",\"value\":-3,\"time\":\"2026-11-23T12:34:56.789012Z\"}";

/* Nanoseconds per call of one reader over `iterations` calls; -1 if it ever fails. */
static double time_reader(int compact, long iterations)
{
    struct ticker ticker;
    struct error err;
    int64_t started_us = timestamp_now_us();
    for (long i = 0; i < iterations; i++) {
        int ok = compact ? ticker_decode_compact(MESSAGE, sizeof MESSAGE - 1, &ticker) == 1
                         : ticker_decode_json(MESSAGE, sizeof MESSAGE - 1, &ticker, &err) == 0;
        if (!ok || ticker.value != -3)
            return -1;
    }
    return (double)(timestamp_now_us() - started_us) * 1000.0 / (double)iterations;
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? atol(argv[1]) : 2000000;
    if (iterations < 1) {
        fprintf(stderr, "usage: ticker-decode [ITERATIONS]\n");
        return 2;
    }
    double json_ns = time_reader(0, iterations), compact_ns = time_reader(1, iterations);
    if (json_ns < 0 || compact_ns < 0) {
        fprintf(stderr, "ticker-decode: a reader failed on the message\n");
        return 1;
    }
    printf("message_bytes %zu\niterations %ld\n", sizeof MESSAGE - 1, iterations);
    printf("json_reader_ns_per_message %.0f\ncompact_reader_ns_per_message %.0f\n", json_ns, compact_ns);
    printf("ratio json/compact %.1f\n", json_ns / compact_ns);
    return 0;
}
