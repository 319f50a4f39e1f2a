/* The candlesticks and volumes of market trades (services/aggregator/trade_book.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "trade_book.h"

#define SECOND 1000000LL
#define MINUTE (60 * SECOND)
#define T0_MS 1764000000000LL /* a minute's start: 1764000000 is a multiple of 60 */

/* The latest candle emitted per (pair, start), and how many emissions in all. */
struct emitted {
    struct trade_candle candles[256];
    size_t count, emissions;
};

static int on_candle(void *context, const struct trade_candle *candle)
{
    struct emitted *out = context;
    out->emissions++;
    for (size_t i = 0; i < out->count; i++) {
        if (out->candles[i].start_us == candle->start_us && strcmp(out->candles[i].pair, candle->pair) == 0) {
            out->candles[i] = *candle;
            return 0;
        }
    }
    out->candles[out->count++] = *candle;
    return 0;
}

static const struct trade_candle *candle_of(const struct emitted *out, const char *pair, int64_t start_us)
{
    for (size_t i = 0; i < out->count; i++) {
        if (out->candles[i].start_us == start_us && strcmp(out->candles[i].pair, pair) == 0)
            return &out->candles[i];
    }
    return NULL;
}

static struct trade make(const char *base, const char *price, const char *volume, enum trade_direction direction,
                         int64_t time_ms)
{
    struct trade trade = {.direction = direction, .timestamp_ms = time_ms, .trade_id = TRADE_NO_ID};
    snprintf(trade.exchange, sizeof trade.exchange, "binance");
    snprintf(trade.base, sizeof trade.base, "%s", base);
    snprintf(trade.quote, sizeof trade.quote, "tether");
    snprintf(trade.price, sizeof trade.price, "%s", price);
    snprintf(trade.volume, sizeof trade.volume, "%s", volume);
    return trade;
}

/* trade_book_add with the trade's numbers read as the decoder reads them. */
static int book_add(struct trade_book *book, const struct trade *trade, int64_t offset, int64_t newest_limit_us,
                    enum window_verdict *verdict, struct error *err)
{
    struct trade_numbers numbers;
    assert_int_equal(decimal_parse(trade->price, strlen(trade->price), &numbers.price, NULL), 0);
    assert_int_equal(decimal_parse(trade->volume, strlen(trade->volume), &numbers.volume, NULL), 0);
    return trade_book_add(book, trade, &numbers, offset, newest_limit_us, verdict, err);
}

static enum window_verdict add(struct trade_book *book, struct trade trade, int64_t offset)
{
    enum window_verdict verdict;
    struct error err;
    assert_int_equal(book_add(book, &trade, offset, WINDOW_BOOK_NO_LIMIT, &verdict, &err), 0);
    return verdict;
}

static void assert_decimal(const struct decimal *value, const char *text)
{
    char out[DECIMAL_TEXT_MAX];
    decimal_format(value, out, sizeof out);
    assert_string_equal(out, text);
}

static const struct window_rules RULES = {MINUTE, 2 * SECOND, 60 * SECOND, 1000, 1000000};

static void a_minute_holds_open_high_low_close_and_exact_volumes(void **unused)
{
    struct trade_book *book = trade_book_new(&RULES, &(struct error){0});
    /* Out of order: the open is the earliest trade, equal times go by offset. */
    add(book, make("bitcoin", "97000.10", "0.5", TRADE_BUY, T0_MS + 3000), 10);
    add(book, make("bitcoin", "96999.9", "0.25", TRADE_SELL, T0_MS + 1000), 11);
    add(book, make("bitcoin", "97001", "1.125", TRADE_BUY, T0_MS + 1000), 12);
    add(book, make("bitcoin", "97100.00", "0.00000001", TRADE_BUY, T0_MS + 59999), 13);
    add(book, make("bitcoin", "97050", "2", TRADE_SELL, T0_MS + 59999), 14);
    struct emitted out = {0};
    trade_book_flush(book, on_candle, &out);
    assert_int_equal(out.count, 0); /* not closed yet */
    add(book, make("bitcoin", "97060", "1", TRADE_BUY, T0_MS + 62000), 15); /* the watermark reaches the end */
    trade_book_flush(book, on_candle, &out);
    assert_int_equal(out.count, 1);
    const struct trade_candle *c = candle_of(&out, "bitcoin/tether", T0_MS * 1000);
    assert_non_null(c);
    assert_int_equal(c->end_us - c->start_us, MINUTE);
    assert_decimal(&c->open, "96999.9");
    assert_decimal(&c->close, "97050");
    assert_decimal(&c->high, "97100.00");
    assert_decimal(&c->low, "96999.9");
    assert_decimal(&c->volume_buy, "1.62500001");
    assert_decimal(&c->volume_sell, "2.25");
    assert_int_equal(c->trades, 5);
    assert_int_equal(c->trades_buy, 3);
    assert_int_equal(c->trades_sell, 2);
    trade_book_destroy(book);
}

static void no_buys_is_a_zero_volume_and_pairs_are_apart(void **unused)
{
    struct trade_book *book = trade_book_new(&RULES, &(struct error){0});
    add(book, make("bitcoin", "1", "3.50", TRADE_SELL, T0_MS), 1);
    add(book, make("ethereum", "2", "1", TRADE_BUY, T0_MS + 5), 2);
    add(book, make("ethereum", "2", "1", TRADE_BUY, T0_MS + 90000), 3);
    struct emitted out = {0};
    trade_book_flush(book, on_candle, &out);
    assert_int_equal(out.count, 2);
    assert_decimal(&candle_of(&out, "bitcoin/tether", T0_MS * 1000)->volume_buy, "0");
    assert_decimal(&candle_of(&out, "bitcoin/tether", T0_MS * 1000)->volume_sell, "3.50");
    assert_int_equal(candle_of(&out, "ethereum/tether", T0_MS * 1000)->trades, 1);
    assert_int_equal(trade_book_pairs(book), 2);
    trade_book_destroy(book);
}

static void a_late_trade_corrects_then_is_too_late(void **unused)
{
    struct trade_book *book = trade_book_new(&RULES, &(struct error){0});
    struct emitted out = {0};
    add(book, make("bitcoin", "10", "1", TRADE_BUY, T0_MS + 10000), 1);
    add(book, make("bitcoin", "11", "1", TRADE_BUY, T0_MS + 70000), 2);
    trade_book_flush(book, on_candle, &out);
    assert_int_equal(out.emissions, 1);
    /* Within the lateness: a new open and low, emitted again. */
    assert_int_equal(add(book, make("bitcoin", "9", "1", TRADE_SELL, T0_MS + 5000), 3), WINDOW_ACCEPTED);
    assert_int_equal(trade_book_replay_offset(book, 99), 1);
    trade_book_flush(book, on_candle, &out);
    assert_int_equal(out.emissions, 2);
    const struct trade_candle *c = candle_of(&out, "bitcoin/tether", T0_MS * 1000);
    assert_decimal(&c->open, "9");
    assert_decimal(&c->low, "9");
    assert_decimal(&c->close, "10");
    /* Past the lateness (the end + 60 s + 2 s of out-of-orderness): purged, and too late. */
    add(book, make("bitcoin", "12", "1", TRADE_BUY, T0_MS + 122000), 4);
    trade_book_flush(book, on_candle, &out);
    assert_int_equal(add(book, make("bitcoin", "1", "1", TRADE_BUY, T0_MS + 1000), 5), WINDOW_TOO_LATE);
    assert_int_equal(trade_book_replay_offset(book, 99), 2);
    trade_book_destroy(book);
}

static void a_trade_dated_ahead_moves_the_watermark_only_to_the_limit(void **unused)
{
    struct trade_book *book = trade_book_new(&RULES, &(struct error){0});
    enum window_verdict verdict;
    struct error err;
    add(book, make("bitcoin", "10", "1", TRADE_BUY, T0_MS + 1000), 1);
    struct trade future = make("bitcoin", "99", "1", TRADE_BUY, T0_MS + 3600000);
    assert_int_equal(book_add(book, &future, 2, (T0_MS + 2000) * 1000, &verdict, &err), 0);
    assert_int_equal(verdict, WINDOW_ACCEPTED);
    assert_true(trade_book_newest_us(book) == (T0_MS + 2000) * 1000);
    add(book, make("bitcoin", "11", "1", TRADE_BUY, T0_MS + 30000), 3);
    struct emitted out = {0};
    trade_book_flush(book, on_candle, &out);
    assert_int_equal(out.count, 0); /* the real minute is still open */
    assert_int_equal(trade_book_windows(book), 2);
    trade_book_destroy(book);
}

static void limits_and_overflowing_sums_refuse_without_harm(void **unused)
{
    struct window_rules rules = RULES;
    rules.max_tickers = 1;
    struct trade_book *book = trade_book_new(&rules, &(struct error){0});
    add(book, make("bitcoin", "10", "1", TRADE_BUY, T0_MS), 1);
    assert_int_equal(add(book, make("ethereum", "10", "1", TRADE_BUY, T0_MS + 1000), 2), WINDOW_OVER_LIMIT);
    assert_true(trade_book_newest_us(book) == (T0_MS + 1000) * 1000); /* still moves time */
    /* 38 digits at scale 37 plus a 3-digit integer part needs 40: refused, the window unchanged. */
    enum window_verdict verdict;
    struct error err;
    struct trade tiny = make("bitcoin", "10", "0.0000000000000000000000000000000000001", TRADE_BUY, T0_MS + 2);
    struct trade big = make("bitcoin", "10", "100", TRADE_BUY, T0_MS + 3);
    assert_int_equal(book_add(book, &tiny, 3, WINDOW_BOOK_NO_LIMIT, &verdict, &err), 0);
    assert_int_equal(verdict, WINDOW_ACCEPTED);
    assert_int_equal(book_add(book, &big, 4, WINDOW_BOOK_NO_LIMIT, &verdict, &err), 0);
    assert_int_equal(verdict, WINDOW_INVALID);
    assert_non_null(strstr(err.message, "bitcoin/tether"));
    add(book, make("bitcoin", "10", "1", TRADE_BUY, T0_MS + 70000), 5);
    struct emitted out = {0};
    trade_book_flush(book, on_candle, &out);
    const struct trade_candle *c = candle_of(&out, "bitcoin/tether", T0_MS * 1000);
    assert_int_equal(c->trades, 2);
    assert_decimal(&c->volume_buy, "1.0000000000000000000000000000000000001");
    trade_book_destroy(book);
}

/* A restart: a book restored from (newest time, replay offset) and fed the messages from
 * that offset on emits the same candles as the book that never stopped. */
static void a_replay_from_the_saved_state_rebuilds_the_same_windows(void **unused)
{
    struct trade trades[400];
    for (int i = 0; i < 400; i++) {
        char price[32], volume[32];
        snprintf(price, sizeof price, "%d.%02d", 100 + (i * 37) % 50, i % 100);
        snprintf(volume, sizeof volume, "0.%03d", (i * 101) % 1000 + 1);
        /* mostly in order, every 7th up to 20 s late */
        int64_t time_ms = T0_MS + i * 1000LL - (i % 7 == 0 ? 20000 : 0);
        trades[i] = make(i % 3 == 0 ? "ethereum" : "bitcoin", price, volume, i % 4 == 0 ? TRADE_SELL : TRADE_BUY,
                         time_ms);
    }
    for (int cut = 50; cut < 400; cut += 61) {
        struct trade_book *whole = trade_book_new(&RULES, &(struct error){0});
        struct trade_book *first = trade_book_new(&RULES, &(struct error){0});
        struct emitted expected = {0}, got = {0};
        for (int i = 0; i < 400; i++) {
            add(whole, trades[i], i);
            if (i % 10 == 9)
                trade_book_flush(whole, on_candle, &expected);
        }
        trade_book_flush(whole, on_candle, &expected);
        for (int i = 0; i < cut; i++) {
            add(first, trades[i], i);
            if (i % 10 == 9)
                trade_book_flush(first, on_candle, &got);
        }
        trade_book_flush(first, on_candle, &got); /* the checkpoint */
        int64_t newest = trade_book_newest_us(first), replay = trade_book_replay_offset(first, cut);
        trade_book_destroy(first);
        struct trade_book *second = trade_book_new(&RULES, &(struct error){0});
        trade_book_advance_newest(second, newest);
        for (int i = (int)replay; i < 400; i++) {
            enum window_verdict verdict;
            struct error err;
            assert_int_equal(book_add(second, &trades[i], i, i < cut ? WINDOW_BOOK_NO_TIME : WINDOW_BOOK_NO_LIMIT,
                                            &verdict, &err), 0);
            if (i % 10 == 9)
                trade_book_flush(second, on_candle, &got);
        }
        trade_book_flush(second, on_candle, &got);
        assert_int_equal(got.count, expected.count);
        for (size_t i = 0; i < expected.count; i++) {
            const struct trade_candle *want = &expected.candles[i];
            const struct trade_candle *have = candle_of(&got, want->pair, want->start_us);
            assert_non_null(have);
            assert_true(have->end_us == want->end_us);
            assert_true(have->trades == want->trades && have->trades_buy == want->trades_buy);
            const struct decimal *a[] = {&have->open, &have->high, &have->low, &have->close, &have->volume_buy,
                                         &have->volume_sell};
            const struct decimal *b[] = {&want->open, &want->high, &want->low, &want->close, &want->volume_buy,
                                         &want->volume_sell};
            for (size_t k = 0; k < 6; k++) {
                char text[DECIMAL_TEXT_MAX];
                decimal_format(b[k], text, sizeof text);
                assert_decimal(a[k], text);
            }
        }
        trade_book_destroy(whole);
        trade_book_destroy(second);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_minute_holds_open_high_low_close_and_exact_volumes),
        cmocka_unit_test(no_buys_is_a_zero_volume_and_pairs_are_apart),
        cmocka_unit_test(a_late_trade_corrects_then_is_too_late),
        cmocka_unit_test(a_trade_dated_ahead_moves_the_watermark_only_to_the_limit),
        cmocka_unit_test(limits_and_overflowing_sums_refuse_without_harm),
        cmocka_unit_test(a_replay_from_the_saved_state_rebuilds_the_same_windows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
