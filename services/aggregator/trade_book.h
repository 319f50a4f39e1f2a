/*
 * The candlestick math of market trades: event-time tumbling windows over the currency
 * pairs of one Kafka partition, with exactly the time rules of window_book.h (watermark =
 * newest event time - out-of-orderness, a window closes when the watermark reaches its end,
 * takes corrections for the allowed lateness, then is purged; a trade for a purged window
 * is too late; the caller bounds how far one trade moves the newest time). Pure (no I/O),
 * unit-tested (tests/unit/test_trade_book.c).
 *
 * Per pair and window, in exact decimals (decimal.h), over its trades:
 *   open / close   the price of the first / last trade in event-time order (equal times:
 *                  partition order, i.e. offset order, as the bridge stores them),
 *   high / low     the largest / smallest price (among equal ones, the first to arrive),
 *   volume_buy     the sum of the volumes of the trades whose direction is buy ("0" when none;
 *   volume_sell    the sum's scale is NUMERIC's, so it equals sum(volume) over `trades`),
 *   trades, trades_buy, trades_sell   how many.
 * No trade is kept, only these sums: a window costs the same whatever its traffic.
 *
 * Restarts: as window_book.h: restore the newest time, re-add from the replay offset.
 */
#ifndef AGGREGATOR_TRADE_BOOK_H
#define AGGREGATOR_TRADE_BOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decimal.h"
#include "error.h"
#include "trade.h"
#include "window_book.h"

/* One pair's candlestick and volumes of one window: plain data. */
struct trade_candle {
    char pair[TRADE_PAIR_MAX + 1];
    int64_t start_us, end_us;
    struct decimal open, high, low, close, volume_buy, volume_sell;
    int64_t trades, trades_buy, trades_sell;
};

struct trade_book;

/* rules.max_tickers bounds the pairs held, rules.max_ticks the trades counted in held
 * windows. NULL (err set) for rules that make no sense or when out of memory. */
struct trade_book *trade_book_new(const struct window_rules *rules, struct error *err);
void trade_book_destroy(struct trade_book *book);

/* As window_book_advance_newest. */
void trade_book_advance_newest(struct trade_book *book, int64_t newest_event_us);

/* Adds one trade (valid: trade_validate) with its price and volume as decimals
 * (trade_decode_numbers), read at `offset`; as window_book_add. Fails only when out of
 * memory. A trade whose volume would take its window's sum past 38 significant digits
 * (decimal.h) is not applied: WINDOW_INVALID, err says why. */
int trade_book_add(struct trade_book *book, const struct trade *trade, const struct trade_numbers *numbers,
                   int64_t offset, int64_t newest_limit_us, enum window_verdict *verdict, struct error *err);

int64_t trade_book_newest_us(const struct trade_book *book);
int64_t trade_book_watermark_us(const struct trade_book *book);

/* Emits every closed window that changed since the last flush (oldest first per pair), then
 * purges the windows past their lateness. A non-zero return of `on_candle` stops the flush and
 * is passed on; the book must then be rebuilt from the saved state. */
typedef int trade_candle_fn(void *context, const struct trade_candle *candle);
int trade_book_flush(struct trade_book *book, trade_candle_fn *on_candle, void *context);

/* As window_book_replay_offset. */
int64_t trade_book_replay_offset(const struct trade_book *book, int64_t otherwise);

size_t trade_book_windows(const struct trade_book *book);
size_t trade_book_trades(const struct trade_book *book); /* counted in held windows */
size_t trade_book_pairs(const struct trade_book *book);

#endif
