/*
 * What an aggregator aggregates (aggregator.kind): the messages it reads and the book that
 * turns them into event-time windows, whose closed windows become rows of the checkpoint.
 *   ticker_kind.c  ticker messages -> window_book.h -> candles_1m (and anchors)
 *   trade_kind.c   trade records   -> trade_book.h  -> candlesticks and volumes
 * aggregator.c does the rest the same way for both: partitions, the clock's limit on the
 * watermark, checkpoints with their offsets, restores. A new kind is a new file of this shape.
 */
#ifndef AGGREGATOR_BOOK_KIND_H
#define AGGREGATOR_BOOK_KIND_H

#include <stddef.h>
#include <stdint.h>

#include "candle_store.h"
#include "error.h"
#include "ticker.h"
#include "trade.h"
#include "window_book.h"

/* One message, decoded. */
union book_item {
    struct ticker tick;
    struct {
        struct trade trade;
        struct trade_numbers numbers; /* its price and volume, read once by the decoder */
    };
};

struct book_kind {
    const char *name; /* "tickers", "trades": aggregator.kind */
    const char *item; /* "tick", "trade": for logs */
    const char *keys_name; /* "tickers", "pairs": what items are grouped by, for logs */
    const char *rows; /* what a checkpoint writes, for logs: "candles_1m" */
    int message_bytes; /* a message's usual size on the wire (sizes the consumer's fetches) */
    /* Strictly decodes one message; sets *time_us to its event time. */
    int (*decode)(const void *payload, size_t length, union book_item *item, int64_t *time_us, struct error *err);
    /* The item's key (ticker name, currency pair), for logs. */
    void (*describe)(const union book_item *item, char *out, size_t size);

    void *(*create)(const struct window_rules *rules, struct error *err);
    void (*destroy)(void *book);
    int (*add)(void *book, const union book_item *item, int64_t offset, int64_t newest_limit_us,
               enum window_verdict *verdict, struct error *err);
    /* Restores one saved anchor (kinds without anchors ignore them). */
    int (*restore_anchor)(void *book, const struct saved_anchor *anchor, struct error *err);
    /* Adds the closed windows that changed (and moved anchors) to the store's checkpoint. */
    int (*flush)(void *book, struct candle_store *store, int32_t partition, struct error *err);
    void (*advance_newest)(void *book, int64_t newest_us);
    int64_t (*newest_us)(const void *book);
    int64_t (*watermark_us)(const void *book);
    int64_t (*replay_offset)(const void *book, int64_t otherwise);
    size_t (*windows)(const void *book);
    size_t (*held)(const void *book); /* items counted in held windows */
    size_t (*keys)(const void *book); /* tickers or pairs held */
};

extern const struct book_kind TICKER_KIND;
extern const struct book_kind TRADE_KIND;

/* The kind named `name`, NULL for none. */
const struct book_kind *book_kind_named(const char *name);

#endif
