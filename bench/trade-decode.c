/*
 * trade-decode: what one trade record costs the aggregator before any I/O: decoding it
 * (trade_decode: the flat JSON reader and every rule, numbers kept as text) and adding it to
 * a trade book (exact decimal sums), each timed on its own over the same records.
 *
 *   trade-decode [ITERATIONS=2000000]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timestamp.h"
#include "trade.h"
#include "trade_book.h"

static const char *const RECORDS[] = {
    "{\"exchange\":\"binance\",\"base\":\"bitcoin\",\"quote\":\"tether\",\"direction\":\"buy\",\"price\":97128.30,"
    "\"volume\":0.39075552,\"timestamp\":1796276300018,\"tradeId\":890634759}",
    "{\"exchange\":\"binance\",\"base\":\"ethereum\",\"quote\":\"tether\",\"direction\":\"sell\",\"price\":3402.00,"
    "\"volume\":7.85470,\"timestamp\":1796276300018,\"priceUsd\":3402.3653929827,\"tradeId\":718781134}",
    "{\"exchange\":\"kraken\",\"base\":\"solana\",\"quote\":\"usd-coin\",\"direction\":\"sell\",\"price\":185.303,"
    "\"volume\":55.9,\"timestamp\":1796276300019,\"tradeId\":760353444}",
    "{\"exchange\":\"bitso\",\"base\":\"xrp\",\"quote\":\"tether\",\"direction\":\"buy\",\"price\":0.6174,"
    "\"volume\":180,\"timestamp\":1796276300020,\"priceUsd\":0.6178606418423568}",
};
#define RECORD_COUNT (sizeof RECORDS / sizeof RECORDS[0])

static int count_candle(void *context, const struct trade_candle *candle)
{
    (void)candle;
    (*(size_t *)context)++;
    return 0;
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? atol(argv[1]) : 2000000;
    if (iterations < 1) {
        fprintf(stderr, "usage: trade-decode [ITERATIONS]\n");
        return 2;
    }
    size_t lengths[RECORD_COUNT];
    struct trade trades[RECORD_COUNT];
    struct trade_numbers numbers[RECORD_COUNT];
    for (size_t i = 0; i < RECORD_COUNT; i++)
        lengths[i] = strlen(RECORDS[i]);

    struct error err;
    int64_t started_us = timestamp_now_us();
    for (long i = 0; i < iterations; i++) {
        size_t k = (size_t)i % RECORD_COUNT;
        if (trade_decode_numbers(RECORDS[k], lengths[k], &trades[k], &numbers[k], &err) < 0) {
            fprintf(stderr, "record %zu: %s\n", k, err.message);
            return 1;
        }
    }
    double decode_ns = (double)(timestamp_now_us() - started_us) * 1000.0 / (double)iterations;

    /* One-minute windows, the trades moving on 10 ms each (100 a second, as in
     * bench/aggregator-drain), flushed every 1000 trades. */
    const struct window_rules rules = {60000000, 2000000, 60000000, 100000, 1000000};
    struct trade_book *book = trade_book_new(&rules, &err);
    if (book == NULL)
        return 1;
    size_t emitted = 0;
    started_us = timestamp_now_us();
    for (long i = 0; i < iterations; i++) {
        struct trade trade = trades[(size_t)i % RECORD_COUNT];
        trade.timestamp_ms += i * 10;
        enum window_verdict verdict;
        if (trade_book_add(book, &trade, &numbers[(size_t)i % RECORD_COUNT], i, WINDOW_BOOK_NO_LIMIT, &verdict, &err) < 0 ||
            verdict != WINDOW_ACCEPTED) {
            fprintf(stderr, "trade %ld not added\n", i);
            return 1;
        }
        if (i % 1000 == 999)
            trade_book_flush(book, count_candle, &emitted);
    }
    double add_ns = (double)(timestamp_now_us() - started_us) * 1000.0 / (double)iterations;
    trade_book_destroy(book);
    printf("records                 %ld (%zu kinds, 130 to 160 bytes)\n", iterations, RECORD_COUNT);
    printf("trade_decode            %.0f ns a record\n", decode_ns);
    printf("trade_book_add          %.0f ns a trade (with a flush every 1000; %zu candles emitted)\n", add_ns, emitted);
    return 0;
}
