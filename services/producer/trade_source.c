/*
 * Market trades: each trade of a live WebSocket feed (trade_feed.h) or of a recorded file
 * (trade_replay.h) is published as a trade record (common/trade.h), keyed by its currency
 * pair so that a pair's trades keep their order in one partition.
 */
#include <inttypes.h>
#include <stdio.h>

#include "log.h"
#include "shutdown.h"
#include "source.h"
#include "timestamp.h"
#include "trade.h"
#include "trade_feed.h"
#include "trade_replay.h"

/* A trade_sink_fn: the context is the publisher. A trade that cannot be encoded (the feed's
 * reader lets none through) is logged and skipped rather than stopping the feed. */
static int publish_trade(void *context, const struct trade *trade, struct error *err)
{
    struct publisher *publisher = context;
    char json[TRADE_JSON_MAX], pair[TRADE_PAIR_MAX + 1];
    struct error invalid;
    int length = trade_encode(trade, json, sizeof json, &invalid);
    if (length < 0) {
        log_warn("trade of %s/%s not published: %s", trade->base, trade->quote, invalid.message);
        return 0;
    }
    trade_pair(trade, pair);
    return publisher_send_message(publisher, pair, json, (size_t)length, err);
}

static int run_replay(const struct producer_settings *settings, struct publisher *publisher,
                      struct source_health *health, struct error *err)
{
    struct trade_replay *replay = trade_replay_open(settings->replay_file, settings->replay_speed, err);
    if (replay == NULL)
        return -1;
    log_info("replaying %s at %lld times the recorded speed, dated now, looping%s", settings->replay_file,
             settings->replay_speed, settings->dry_run ? " (dry run: printing to stdout)" : "");
    char reason[320];
    snprintf(reason, sizeof reason, "replaying %s", settings->replay_file);
    source_health_set(health, true, reason);

    int rc = 0;
    while (rc == 0 && !shutdown_requested()) {
        struct trade trade;
        int64_t due_ms;
        rc = trade_replay_next(replay, timestamp_monotonic_ms(), timestamp_now_us() / 1000, &trade, &due_ms, err);
        if (rc == 0)
            rc = publisher_wait_until(publisher, due_ms, err);
        if (rc == 0 && !shutdown_requested())
            rc = publish_trade(publisher, &trade, err);
    }
    if (trade_replay_skipped(replay) > 0)
        log_warn("%" PRId64 " lines of %s were not trade records", trade_replay_skipped(replay), settings->replay_file);
    trade_replay_close(replay);
    return rc;
}

static int run_feed(const struct producer_settings *settings, struct publisher *publisher,
                    struct source_health *health, struct error *err)
{
    struct trade_feed_settings feed_settings = {
        .url = settings->feed_url,
        .format = settings->feed_format,
        .api_key = settings->feed_api_key,
        .silence_ms = (int)settings->feed_silence_ms,
    };
    struct trade_feed *feed = trade_feed_open(&feed_settings, publish_trade, publisher, err);
    if (feed == NULL)
        return -1;
    log_info("reading trades from %s%s", settings->feed_url, settings->dry_run ? " (dry run: printing to stdout)" : "");
    int rc = 0;
    char reason[320];
    while (rc == 0 && !shutdown_requested()) {
        rc = trade_feed_service(feed, 100, err);
        if (rc == 0)
            rc = publisher_poll(publisher, 0, err);
        bool connected = trade_feed_connected(feed, reason, sizeof reason);
        source_health_set(health, connected, reason);
    }
    trade_feed_close(feed);
    return rc;
}

int trade_source_run(const struct producer_settings *settings, struct publisher *publisher,
                     struct source_health *health, struct error *err)
{
    if (settings->replay_file[0] != '\0')
        return run_replay(settings, publisher, health, err);
    return run_feed(settings, publisher, health, err);
}
