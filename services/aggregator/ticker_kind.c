/* aggregator.kind tickers: ticker messages into one-minute candles (window_book.h, candles_1m). */
#include <stdio.h>

#include "book_kind.h"

static int decode(const void *payload, size_t length, union book_item *item, int64_t *time_us, struct error *err)
{
    if (ticker_decode(payload, length, &item->tick, err) < 0)
        return -1;
    *time_us = item->tick.time_us;
    return 0;
}

static void describe(const union book_item *item, char *out, size_t size)
{
    snprintf(out, size, "%s", item->tick.name);
}

static void *create(const struct window_rules *rules, struct error *err)
{
    return window_book_new(rules, err);
}

static void destroy(void *book)
{
    window_book_destroy(book);
}

static int add(void *book, const union book_item *item, int64_t offset, int64_t newest_limit_us,
               enum window_verdict *verdict, struct error *err)
{
    return window_book_add(book, &item->tick, offset, newest_limit_us, verdict, err);
}

static int restore_anchor(void *book, const struct saved_anchor *anchor, struct error *err)
{
    return window_book_restore_anchor(book, anchor->name, anchor->time_us, anchor->value, err);
}

struct flush_target {
    struct candle_store *store;
    int32_t partition;
    struct error *err;
};

static int add_candle(void *context, const struct candle *candle)
{
    struct flush_target *target = context;
    return candle_store_add_candle(target->store, candle, target->err);
}

static int add_anchor(void *context, const char *name, int64_t time_us, int32_t value)
{
    struct flush_target *target = context;
    return candle_store_add_anchor(target->store, target->partition, name, time_us, value, target->err);
}

static int flush(void *book, struct candle_store *store, int32_t partition, struct error *err)
{
    struct flush_target target = {store, partition, err};
    return window_book_flush(book, add_candle, add_anchor, &target);
}

static void advance_newest(void *book, int64_t newest_us)
{
    window_book_advance_newest(book, newest_us);
}

static int64_t newest_us(const void *book)
{
    return window_book_newest_us(book);
}

static int64_t watermark_us(const void *book)
{
    return window_book_watermark_us(book);
}

static int64_t replay_offset(const void *book, int64_t otherwise)
{
    return window_book_replay_offset(book, otherwise);
}

static size_t windows(const void *book)
{
    return window_book_windows(book);
}

static size_t held(const void *book)
{
    return window_book_ticks(book);
}

static size_t keys(const void *book)
{
    return window_book_tickers(book);
}

const struct book_kind TICKER_KIND = {
    .name = "tickers", .item = "tick", .keys_name = "tickers", .message_bytes = 100, .rows = "candles_1m",
    .decode = decode, .describe = describe, .create = create, .destroy = destroy, .add = add,
    .restore_anchor = restore_anchor, .flush = flush, .advance_newest = advance_newest, .newest_us = newest_us,
    .watermark_us = watermark_us, .replay_offset = replay_offset, .windows = windows, .held = held, .keys = keys,
};
