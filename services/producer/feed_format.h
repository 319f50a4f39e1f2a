/*
 * The trade feeds the producer reads, frame by frame, mapped to trade records (trade.h):
 *
 *   CoinCap  wss://ws.coincap.io/trades/<exchange>: one trade per frame, in the record's
 *            own shape ({"exchange","base","quote","direction","price","volume",
 *            "timestamp","priceUsd"}); fields it may add later are ignored.
 *   Binance  wss://stream.binance.com:9443/ws/<symbol>@trade, or combined streams
 *            (.../stream?streams=a@trade/b@trade, each event wrapped as {"stream","data"}):
 *            {"e":"trade","s":"BTCUSDT","t":id,"p":"97431.25","q":"0.0012","T":ms,"m":bool}.
 *            The symbol is split into base and quote with a table of quote assets and named
 *            as CoinCap names assets (BTC -> bitcoin, USDT -> tether; an asset the table
 *            does not know keeps its symbol, lower case). `m` true means the buyer was the
 *            maker, so the aggressor sold: direction "sell"; false: "buy".
 *
 * Numbers keep the text the feed sent. Pure: unit-tested (tests/unit/test_feed_format.c).
 */
#ifndef PRODUCER_FEED_FORMAT_H
#define PRODUCER_FEED_FORMAT_H

#include <stddef.h>

#include "error.h"
#include "trade.h"

enum feed_format {
    FEED_COINCAP,
    FEED_BINANCE,
};

enum feed_result {
    FEED_TRADE,   /* *trade holds the frame's trade */
    FEED_OTHER,   /* a frame of the protocol that is not a trade (a subscription's answer) */
    FEED_INVALID, /* malformed: err says why */
};

/* The format a URL's host and path name ("auto"), or -1 when neither can be told. */
int feed_format_of_url(const char *host, const char *path);

/* Reads one frame. `exchange` is the exchange the URL names (CoinCap's path), used when a
 * CoinCap frame has none; Binance's trades are binance's. */
enum feed_result feed_parse_frame(enum feed_format format, const char *frame, size_t length, const char *exchange,
                                  struct trade *trade, struct error *err);

/* Splits a Binance symbol ("BTCUSDT") into CoinCap-style base and quote ids. Fails when no
 * known quote asset ends it. */
int feed_binance_symbol(const char *symbol, char base[TRADE_NAME_MAX + 1], char quote[TRADE_NAME_MAX + 1],
                        struct error *err);

#endif
