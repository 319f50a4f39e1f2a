/* aggregator.kind trades: trade records into per-pair candlesticks and volumes (trade_book.h). */
#include <stdio.h>

#include "book_kind.h"
#include "trade_book.h"

static int decode(const void *payload, size_t length, union book_item *item, int64_t *time_us, struct error *err)
{
    if (trade_decode_numbers(payload, length, &item->trade, &item->numbers, err) < 0)
        return -1;
    *time_us = item->trade.timestamp_ms * 1000;
    return 0;
}

static void describe(const union book_item *item, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", item->trade.base, item->trade.quote);
}

static void *create(const struct window_rules *rules, struct error *err)
{
    return trade_book_new(rules, err);
}

static void destroy(void *book)
{
    trade_book_destroy(book);
}

static int add(void *book, const union book_item *item, int64_t offset, int64_t newest_limit_us,
               enum window_verdict *verdict, struct error *err)
{
    return trade_book_add(book, &item->trade, &item->numbers, offset, newest_limit_us, verdict, err);
}

static int restore_anchor(void *book, const struct saved_anchor *anchor, struct error *err)
{
    (void)book, (void)anchor, (void)err; /* a candlestick's open is its own first trade: no anchors */
    return 0;
}

struct flush_target {
    struct candle_store *store;
    struct error *err;
};

static int add_candle(void *context, const struct trade_candle *candle)
{
    struct flush_target *target = context;
    return candle_store_add_trade_candle(target->store, candle, target->err);
}

static int flush(void *book, struct candle_store *store, int32_t partition, struct error *err)
{
    (void)partition;
    struct flush_target target = {store, err};
    return trade_book_flush(book, add_candle, &target);
}

static void advance_newest(void *book, int64_t newest_us)
{
    trade_book_advance_newest(book, newest_us);
}

static int64_t newest_us(const void *book)
{
    return trade_book_newest_us(book);
}

static int64_t watermark_us(const void *book)
{
    return trade_book_watermark_us(book);
}

static int64_t replay_offset(const void *book, int64_t otherwise)
{
    return trade_book_replay_offset(book, otherwise);
}

static size_t windows(const void *book)
{
    return trade_book_windows(book);
}

static size_t held(const void *book)
{
    return trade_book_trades(book);
}

static size_t keys(const void *book)
{
    return trade_book_pairs(book);
}

const struct book_kind TRADE_KIND = {
    .name = "trades", .item = "trade", .keys_name = "pairs", .message_bytes = 250, .rows = "candlesticks and volumes",
    .decode = decode, .describe = describe, .create = create, .destroy = destroy, .add = add,
    .restore_anchor = restore_anchor, .flush = flush, .advance_newest = advance_newest, .newest_us = newest_us,
    .watermark_us = watermark_us, .replay_offset = replay_offset, .windows = windows, .held = held, .keys = keys,
};
