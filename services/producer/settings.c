#include "settings.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static const char *const SOURCES[] = {"walk", "trades", NULL};
static const char *const FEED_FORMATS[] = {"auto", "coincap", "binance", NULL};

static const struct config_option OPTIONS[] = {
    CONFIG_SHARED_OPTIONS(struct producer_settings, shared),
    {"producer.source", "source", CONFIG_CHOICE, offsetof(struct producer_settings, source), "walk", 0, 0, SOURCES,
     "what is published: walk (the random walk of the tickers) or trades (market trades from a live feed, "
     "producer.feed_url, or a recorded file, producer.replay_file; give it its own topic, e.g. trades)"},
    {"producer.tickers", "tickers", CONFIG_INT, offsetof(struct producer_settings, tickers), "100", 1, 1000, NULL,
     "number of tickers, named ticker_00, ticker_01, ..."},
    {"producer.interval_ms", "interval-ms", CONFIG_INT, offsetof(struct producer_settings, interval_ms), "1000", 10,
     3600000, NULL, "milliseconds between two moves of every ticker"},
    {"producer.spread_moves", "spread-moves", CONFIG_BOOL, offsetof(struct producer_settings, spread_moves), "true", 0,
     0, NULL,
     "spread the tickers' moves evenly over each interval, each stamped with its own time (false: all at once, "
     "with one time)"},
    {"producer.dry_run", "dry-run", CONFIG_BOOL, offsetof(struct producer_settings, dry_run), "false", 0, 0, NULL,
     "print the JSON messages to stdout instead of publishing them to Kafka"},
    {"producer.seed_from_database", "seed-from-database", CONFIG_BOOL,
     offsetof(struct producer_settings, seed_from_database), "true", 0, 0, NULL,
     "start each ticker from its last value: the newest in the Kafka topic's tail, else in the records table "
     "(false: start at 0)"},
    {"producer.random_seed", "random-seed", CONFIG_INT, offsetof(struct producer_settings, random_seed), "0", 0,
     INT64_MAX, NULL, "seed of the random walk; 0 picks a new one at every start"},
    {"producer.flush_timeout_ms", "flush-timeout-ms", CONFIG_INT,
     offsetof(struct producer_settings, flush_timeout_ms), "5000", 0, 600000, NULL,
     "at shutdown, how long to wait for Kafka to acknowledge messages in flight (a stop takes at most this plus "
     "4 s)"},
    {"producer.admin_port", "admin-port", CONFIG_INT, offsetof(struct producer_settings, admin_port), "9101", 0, 65535,
     NULL, "port of /healthz and /metrics (0: off)"},
    {"producer.feed_url", "url", CONFIG_STRING, offsetof(struct producer_settings, feed_url), "", 0, 0, NULL,
     "source trades: the trade feed's WebSocket URL, e.g. wss://ws.coincap.io/trades/binance or "
     "wss://stream.binance.com:9443/stream?streams=btcusdt@trade/ethusdt@trade"},
    {"producer.feed_format", "feed-format", CONFIG_CHOICE, offsetof(struct producer_settings, feed_format), "auto", 0,
     0, FEED_FORMATS, "source trades: the feed's format; auto tells it from the URL (binance hosts and @trade "
     "streams are binance, the rest coincap)"},
    {"producer.feed_api_key", "api-key", CONFIG_STRING, offsetof(struct producer_settings, feed_api_key), "", 0, 0,
     NULL, "source trades: an API key for feeds that need one, sent as the URL's apiKey parameter (empty: none)"},
    {"producer.feed_silence_ms", "silence-ms", CONFIG_INT, offsetof(struct producer_settings, feed_silence_ms),
     "30000", 1000, 3600000, NULL,
     "source trades: a feed that sends no frame for this long is taken for dead and connected to again"},
    {"producer.replay_file", "replay", CONFIG_STRING, offsetof(struct producer_settings, replay_file), "", 0, 0, NULL,
     "source trades: replay this file of trade records (one per line, in time order; e.g. "
     "services/producer/samples/trades-sample.jsonl) instead of a live feed, looping, dated now"},
    {"producer.replay_speed", "speed", CONFIG_INT, offsetof(struct producer_settings, replay_speed), "1", 1, 100000,
     NULL, "source trades: how many times faster than recorded the file is replayed (60: an hour a minute)"},
};

int producer_settings_check(const struct producer_settings *settings, struct error *err)
{
    bool trades = strcmp(settings->source, "trades") == 0;
    bool has_url = settings->feed_url[0] != '\0', has_file = settings->replay_file[0] != '\0';
    if (!trades && (has_url || has_file))
        return error_permanent(err, "--%s is for --source trades (the source is %s)", has_url ? "url" : "replay",
                               settings->source);
    if (trades && has_url == has_file)
        return error_permanent(err, "--source trades needs exactly one of --url (a live feed) and --replay (a "
                                    "recorded file)");
    if (has_url && strncmp(settings->feed_url, "ws://", 5) != 0 && strncmp(settings->feed_url, "wss://", 6) != 0)
        return error_permanent(err, "--url %s is not a WebSocket URL (ws://... or wss://...)", settings->feed_url);
    if (trades && !settings->dry_run && strcmp(settings->shared.kafka_topic, "tickers") == 0)
        return error_permanent(err, "--source trades would publish trades to the topic tickers, which carries "
                                    "ticker messages; give trades their own topic (--kafka-topic trades)");
    return 0;
}

const struct config_spec PRODUCER_CONFIG = {
    .program = "tickerflow-producer",
    .summary = "Moves every ticker one step up or down each interval and publishes each change to Kafka; or, with "
               "--source trades, publishes market trades from a live WebSocket feed or a recorded file.",
    .section = "producer",
    .options = OPTIONS,
    .option_count = sizeof OPTIONS / sizeof OPTIONS[0],
};
