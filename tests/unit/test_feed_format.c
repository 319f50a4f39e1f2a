/* The trade feeds' frames (services/producer/feed_format.c) and the replay of a recorded
 * file (trade_replay.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "feed_format.h"
#include "trade_replay.h"

static enum feed_result parse(enum feed_format format, const char *frame, struct trade *trade, struct error *err)
{
    return feed_parse_frame(format, frame, strlen(frame), "binance", trade, err);
}

static void a_coincap_frame_is_a_trade_as_sent(void **unused)
{
    struct trade trade;
    struct error err = {0};
    const char frame[] = "{\"exchange\":\"bitso\",\"base\":\"xrp\",\"quote\":\"tether\",\"direction\":\"buy\",\"price\":0.6174,"
                         "\"volume\":180,\"timestamp\":1651686997237,\"priceUsd\":0.6178606418423568,\"new\":[1]}";
    assert_int_equal(parse(FEED_COINCAP, frame, &trade, &err), FEED_TRADE);
    assert_string_equal(trade.exchange, "bitso");
    assert_string_equal(trade.price, "0.6174");
    assert_string_equal(trade.price_usd, "0.6178606418423568");
    assert_int_equal(trade.direction, TRADE_BUY);
    assert_true(trade.trade_id == TRADE_NO_ID);
    /* No exchange in the frame: the URL's. Numbers as strings are taken too. */
    const char bare[] = "{\"base\":\"bitcoin\",\"quote\":\"tether\",\"direction\":\"sell\",\"price\":\"97000.10\","
                        "\"volume\":\"0.5\",\"timestamp\":1651686997237}";
    assert_int_equal(feed_parse_frame(FEED_COINCAP, bare, strlen(bare), "kraken", &trade, &err), FEED_TRADE);
    assert_string_equal(trade.exchange, "kraken");
    assert_string_equal(trade.price, "97000.10");
    const char *bad[] = {"garbage", "{\"base\":\"x\"}", "{\"base\":\"b\",\"quote\":\"q\",\"direction\":\"up\",\"price\":1,"
                                                        "\"volume\":1,\"timestamp\":1651686997237}"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(parse(FEED_COINCAP, bad[i], &trade, &err), FEED_INVALID);
        assert_true(err.message[0] != '\0');
    }
}

static void a_binance_trade_maps_its_symbol_and_aggressor(void **unused)
{
    struct trade trade;
    struct error err = {0};
    const char raw[] = "{\"e\":\"trade\",\"E\":1764000000124,\"s\":\"BTCUSDT\",\"t\":12345,\"p\":\"97431.25000000\","
                       "\"q\":\"0.00012000\",\"T\":1764000000123,\"m\":true,\"M\":true}";
    assert_int_equal(parse(FEED_BINANCE, raw, &trade, &err), FEED_TRADE);
    assert_string_equal(trade.exchange, "binance");
    assert_string_equal(trade.base, "bitcoin");
    assert_string_equal(trade.quote, "tether");
    assert_string_equal(trade.price, "97431.25000000");
    assert_string_equal(trade.volume, "0.00012000");
    assert_int_equal(trade.timestamp_ms, 1764000000123LL);
    assert_int_equal(trade.trade_id, 12345);
    assert_int_equal(trade.direction, TRADE_SELL); /* the buyer was the maker: the aggressor sold */
    const char combined[] = "{\"stream\":\"ethfdusd@trade\",\"data\":{\"e\":\"trade\",\"s\":\"ETHFDUSD\",\"t\":9,"
                            "\"p\":\"3400.1\",\"q\":\"2\",\"T\":1764000000000,\"m\":false}}";
    assert_int_equal(parse(FEED_BINANCE, combined, &trade, &err), FEED_TRADE);
    assert_string_equal(trade.base, "ethereum");
    assert_string_equal(trade.quote, "first-digital-usd");
    assert_int_equal(trade.direction, TRADE_BUY);
    /* Protocol frames are not trades, and not errors. */
    assert_int_equal(parse(FEED_BINANCE, "{\"result\":null,\"id\":1}", &trade, &err), FEED_OTHER);
    assert_int_equal(parse(FEED_BINANCE, "{\"e\":\"aggTrade\",\"s\":\"BTCUSDT\"}", &trade, &err), FEED_OTHER);
    const char no_maker[] = "{\"e\":\"trade\",\"s\":\"BTCUSDT\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1764000000000}";
    assert_int_equal(parse(FEED_BINANCE, no_maker, &trade, &err), FEED_INVALID);
    assert_non_null(strstr(err.message, "'m'"));
    /* Ids beyond 64 bits, or with a fraction, are refused, not clamped or truncated. */
    const char huge_id[] = "{\"e\":\"trade\",\"s\":\"BTCUSDT\",\"t\":99999999999999999999,\"p\":\"1\",\"q\":\"1\","
                           "\"T\":1764000000000,\"m\":true}";
    assert_int_equal(parse(FEED_BINANCE, huge_id, &trade, &err), FEED_INVALID);
    assert_non_null(strstr(err.message, "field 't' is outside the 64-bit range"));
    const char fraction_time[] = "{\"e\":\"trade\",\"s\":\"BTCUSDT\",\"t\":1,\"p\":\"1\",\"q\":\"1\","
                                 "\"T\":1764000000000.5,\"m\":true}";
    assert_int_equal(parse(FEED_BINANCE, fraction_time, &trade, &err), FEED_INVALID);
    assert_non_null(strstr(err.message, "field 'T' must be an integer"));
    char base[TRADE_NAME_MAX + 1], quote[TRADE_NAME_MAX + 1];
    assert_int_equal(feed_binance_symbol("PEPEUSDC", base, quote, &err), 0);
    assert_string_equal(base, "pepe");
    assert_string_equal(quote, "usd-coin");
    assert_int_equal(feed_binance_symbol("ABCXYZ", base, quote, &err), -1);
    assert_int_equal(feed_format_of_url("ws.coincap.io", "/trades/binance"), FEED_COINCAP);
    assert_int_equal(feed_format_of_url("stream.binance.com", "/ws/btcusdt@trade"), FEED_BINANCE);
    assert_int_equal(feed_format_of_url("127.0.0.1", "/stream?streams=btcusdt@trade"), FEED_BINANCE);
    assert_int_equal(feed_format_of_url("example.com", "/"), -1);
}

static void a_replay_dates_its_trades_now_and_starts_over(void **unused)
{
    char path[] = "/tmp/tickerflow-replay-XXXXXX";
    int fd = mkstemp(path);
    FILE *file = fdopen(fd, "w");
    fputs("{\"exchange\":\"e\",\"base\":\"b\",\"quote\":\"q\",\"direction\":\"buy\",\"price\":1.50,\"volume\":2,"
          "\"timestamp\":1700000000000,\"tradeId\":10}\n"
          "not a record\n\n"
          "{\"exchange\":\"e\",\"base\":\"b\",\"quote\":\"q\",\"direction\":\"sell\",\"price\":1.25,\"volume\":3,"
          "\"timestamp\":1700000060000,\"tradeId\":12}\n",
          file);
    fclose(file);
    struct trade_replay *replay = trade_replay_open(path, 60, NULL);
    assert_non_null(replay);
    struct trade trade;
    int64_t due;
    /* The first trade is due at once, dated now; the second a minute later in the file, a
     * second later at speed 60. */
    assert_int_equal(trade_replay_next(replay, 5000, 1800000000000LL, &trade, &due, NULL), 0);
    assert_int_equal(due, 5000);
    assert_int_equal(trade.timestamp_ms, 1800000000000LL);
    assert_string_equal(trade.price, "1.50");
    assert_int_equal(trade.trade_id, 10);
    assert_int_equal(trade_replay_next(replay, 5000, 1800000000000LL, &trade, &due, NULL), 0);
    assert_int_equal(due, 6000);
    assert_int_equal(trade.timestamp_ms, 1800000001000LL);
    assert_int_equal(trade.trade_id, 12);
    assert_int_equal(trade_replay_skipped(replay), 1);
    /* Again from the top, just after, with ids past the last pass's. */
    assert_int_equal(trade_replay_next(replay, 6000, 1800000001000LL, &trade, &due, NULL), 0);
    assert_int_equal(due, 6017);
    assert_int_equal(trade.timestamp_ms, 1800000001017LL);
    assert_int_equal(trade.trade_id, 13);
    trade_replay_close(replay);
    /* A file with no record at all is refused at once. */
    file = fopen(path, "w");
    fputs("nothing here\n", file);
    fclose(file);
    struct error err = {0};
    assert_null(trade_replay_open(path, 1, &err));
    assert_non_null(strstr(err.message, "holds no valid trade record"));
    assert_null(trade_replay_open("/nonexistent/trades.jsonl", 1, &err));
    assert_int_equal(err.kind, ERROR_PERMANENT);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_coincap_frame_is_a_trade_as_sent),
        cmocka_unit_test(a_binance_trade_maps_its_symbol_and_aggressor),
        cmocka_unit_test(a_replay_dates_its_trades_now_and_starts_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
