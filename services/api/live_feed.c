#include "live_feed.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "retry.h"

/* How long a metadata request may take when a consumer error may mean the topic is gone. */
#define TOPIC_CHECK_TIMEOUT_MS 5000
/* At a stop, how long the consumer may take to close with the broker away. */
#define CLOSE_DEADLINE_MS 2000
/* Between looks for a topic that may never exist (the trades topic). */
#define OPTIONAL_TOPIC_WAIT_MS 3000

struct live_feed {
    enum live_feed_kind kind;
    rd_kafka_t *consumer;
    char *topic;
    void (*wake)(void *context);
    void *wake_context;
    pthread_t thread;
    atomic_bool stopping;

    pthread_mutex_t lock; /* guards the queue, the dropped tickers and the failure below */
    struct live_tick *head, *tail;
    size_t queued;
    struct dropped *dropped; /* per key, the newest message dropped since the last take */
    size_t dropped_count, dropped_capacity;
    bool failed;
    struct error failure;
    size_t queue_limit;
    int64_t backfill;
    int partitions;

    struct metric *received, *rejected, *overflowed;
};

/* ---- dropped keys: key -> newest dropped position (open addressing, lock held) ---------- */

struct dropped {
    char name[LIVE_KEY_MAX + 1]; /* "" when the slot is free */
    int64_t position;
};

static size_t hash_name(const char *name)
{
    size_t hash = 2166136261u; /* FNV-1a */
    for (; *name != '\0'; name++)
        hash = (hash ^ (unsigned char)*name) * 16777619u;
    return hash;
}

static struct dropped *dropped_slot(struct dropped *slots, size_t capacity, const char *name)
{
    for (size_t i = hash_name(name) & (capacity - 1);; i = (i + 1) & (capacity - 1)) {
        if (slots[i].name[0] == '\0' || strcmp(slots[i].name, name) == 0)
            return &slots[i];
    }
}

/* Remembers that `tick` was dropped. Returns -1 when out of memory (then the tick's
 * key will not be told: its next message's prev cannot reveal the hole). */
static int remember_dropped(struct live_feed *feed, const struct live_tick *tick)
{
    if ((feed->dropped_count + 1) * 2 > feed->dropped_capacity) {
        size_t capacity = feed->dropped_capacity ? feed->dropped_capacity * 2 : 64;
        struct dropped *grown = calloc(capacity, sizeof *grown);
        if (grown == NULL)
            return -1;
        for (size_t i = 0; i < feed->dropped_capacity; i++) {
            if (feed->dropped[i].name[0] != '\0')
                *dropped_slot(grown, capacity, feed->dropped[i].name) = feed->dropped[i];
        }
        free(feed->dropped);
        feed->dropped = grown;
        feed->dropped_capacity = capacity;
    }
    struct dropped *slot = dropped_slot(feed->dropped, feed->dropped_capacity, tick->key);
    if (slot->name[0] == '\0') {
        memcpy(slot->name, tick->key, sizeof slot->name);
        slot->position = tick->position;
        feed->dropped_count++;
    } else if (tick->position > slot->position) {
        slot->position = tick->position;
    }
    return 0;
}

/* The dropped tickers as `skipped` markers in front of `ticks`; forgets them. */
static struct live_tick *prepend_skipped(struct live_feed *feed, struct live_tick *ticks)
{
    for (size_t i = 0; i < feed->dropped_capacity && feed->dropped_count > 0; i++) {
        struct dropped *slot = &feed->dropped[i];
        if (slot->name[0] == '\0')
            continue;
        struct live_tick *marker = calloc(1, sizeof *marker);
        if (marker == NULL)
            return ticks; /* the rest are kept for the next take */
        marker->skipped = true;
        memcpy(marker->key, slot->name, sizeof marker->key);
        marker->position = slot->position;
        if (feed->kind == LIVE_FEED_TICKERS) {
            snprintf(marker->ticker.name, sizeof marker->ticker.name, "%s", slot->name);
            marker->ticker.time_us = slot->position;
        }
        marker->partition = -1;
        marker->next = ticks;
        ticks = marker;
        slot->name[0] = '\0';
        feed->dropped_count--;
    }
    return ticks;
}

static void push_tick(struct live_feed *feed, struct live_tick *tick)
{
    struct live_tick *dropped = NULL;
    pthread_mutex_lock(&feed->lock);
    if (feed->tail != NULL)
        feed->tail->next = tick;
    else
        feed->head = tick;
    feed->tail = tick;
    /* The service thread is stuck if this fills: shed the oldest rather than grow, and
     * remember whose, so that the next value of that ticker can say a value went missing. */
    if (++feed->queued > feed->queue_limit) {
        dropped = feed->head;
        feed->head = dropped->next;
        feed->queued--;
        if (remember_dropped(feed, dropped) < 0)
            log_error("live feed: out of memory remembering a dropped message of %s", dropped->key);
    }
    pthread_mutex_unlock(&feed->lock);
    if (dropped != NULL) {
        free(dropped);
        metric_add(feed->overflowed, 1);
        if (metric_value(feed->overflowed) % 1000 == 1)
            log_warn("live queue full (%zu messages): dropped %" PRId64 " so far", feed->queue_limit,
                     metric_value(feed->overflowed));
    }
}

/* The feed cannot go on: says why to the service thread and wakes it. */
static void fail(struct live_feed *feed, const struct error *err)
{
    pthread_mutex_lock(&feed->lock);
    feed->failed = true;
    feed->failure = *err;
    pthread_mutex_unlock(&feed->lock);
    feed->wake(feed->wake_context);
}

/* Asks the cluster whether the topic is still there, after librdkafka said a topic was
 * unknown: one that no longer exists will send nothing again. Returns -1 then. */
static int check_topic(struct live_feed *feed)
{
    struct error err;
    if (kafka_partition_count(feed->consumer, feed->topic, TOPIC_CHECK_TIMEOUT_MS, &err) >= 0 ||
        err.kind != ERROR_PERMANENT)
        return 0;
    error_permanent(&err, "live feed: topic %s was deleted while it was being read", feed->topic);
    fail(feed, &err);
    return -1;
}

/* An error the consumer reported instead of a message: librdkafka retries what can be
 * retried. Returns -1 when the feed cannot go on. */
static int handle_consumer_error(struct live_feed *feed, const rd_kafka_message_t *message)
{
    rd_kafka_resp_err_t code = message->err;
    if (code == RD_KAFKA_RESP_ERR__PARTITION_EOF)
        return 0;
    log_warn("live feed: %s", rd_kafka_message_errstr(message));
    if (code == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || code == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
        return check_topic(feed);
    return 0;
}

/* Decodes a message of the feed's kind into `tick`, with its key and position. */
static int decode(struct live_feed *feed, const rd_kafka_message_t *message, struct live_tick *tick, struct error *err)
{
    if (feed->kind == LIVE_FEED_TICKERS) {
        if (ticker_decode(message->payload, message->len, &tick->ticker, err) < 0)
            return -1;
        memcpy(tick->key, tick->ticker.name, sizeof tick->ticker.name);
        tick->position = tick->ticker.time_us;
        return 0;
    }
    struct live_trade *market = tick->market;
    if (trade_decode_numbers(message->payload, message->len, &market->trade, &market->numbers, err) < 0)
        return -1;
    trade_pair(&market->trade, tick->key);
    tick->position = message->offset;
    return 0;
}

static void handle_message(struct live_feed *feed, const rd_kafka_message_t *message)
{
    metric_add(feed->received, 1);
    struct live_tick *tick = calloc(1, sizeof *tick + (feed->kind == LIVE_FEED_TRADES ? sizeof(struct live_trade) : 0));
    if (tick == NULL) {
        log_error("live feed: out of memory, dropping a message");
        return;
    }
    struct error err;
    if (decode(feed, message, tick, &err) < 0) {
        free(tick);
        metric_add(feed->rejected, 1);
        log_warn("live feed skipped malformed message at %s/%" PRId32 "@%" PRId64 " (%" PRId64 " so far): %s",
                 feed->topic, message->partition, message->offset, metric_value(feed->rejected), err.message);
        return;
    }
    tick->partition = message->partition;
    tick->offset = message->offset;
    push_tick(feed, tick);
    feed->wake(feed->wake_context);
}

/* Where to start reading `partition`: `backfill` messages before its end, to fill the
 * recent windows; at the end when the offsets cannot be had (the windows fill as it runs). */
static int64_t start_offset(struct live_feed *feed, int32_t partition)
{
    int64_t low, high;
    rd_kafka_resp_err_t code = rd_kafka_query_watermark_offsets(feed->consumer, feed->topic, partition, &low, &high, 5000);
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_warn("live feed: no offsets for %s/%" PRId32 " (%s): starting at its end", feed->topic, partition,
                 rd_kafka_err2str(code));
        return RD_KAFKA_OFFSET_END;
    }
    return high - feed->backfill > low ? high - feed->backfill : low;
}

/* One look for the topic: until it exists (a topic created after the server started
 * is worth waiting for), the count is an ordinary failure, retried. */
static int count_partitions(void *context, struct error *err)
{
    struct live_feed *feed = context;
    int partitions = kafka_partition_count(feed->consumer, feed->topic, 5000, err);
    if (partitions < 0) {
        err->kind = ERROR_FAILED;
        return -1;
    }
    feed->partitions = partitions;
    return 0;
}

/* The trades topic exists only where trades are produced (a compose profile): until it
 * does, look for it every few seconds without a warning each time. */
static int wait_for_optional_topic(struct live_feed *feed, struct error *err)
{
    for (bool told = false;; told = true) {
        if (count_partitions(feed, err) == 0)
            return 0;
        if (err->kind != ERROR_FAILED)
            return -1;
        if (!told)
            log_info("live feed: topic %s not found (%s); its pairs are served once it exists", feed->topic,
                     err->message);
        for (int waited_ms = 0; waited_ms < OPTIONAL_TOPIC_WAIT_MS; waited_ms += 100) {
            if (atomic_load(&feed->stopping))
                return error_stopped(err, "waiting for the trades topic");
            struct timespec pause = {.tv_nsec = 100 * 1000000L};
            nanosleep(&pause, NULL);
        }
    }
}

/* Assigns every partition of the topic near its end, waiting while the topic does not exist. */
static int assign_from_end(struct live_feed *feed, struct error *err)
{
    if (feed->kind == LIVE_FEED_TRADES ? wait_for_optional_topic(feed, err) < 0
                                       : retry_until("live feed: looking for the topic", count_partitions, feed,
                                                     &feed->stopping, err) < 0)
        return -1;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(feed->partitions);
    for (int p = 0; p < feed->partitions; p++)
        rd_kafka_topic_partition_list_add(list, feed->topic, p)->offset = start_offset(feed, p);
    rd_kafka_resp_err_t code = rd_kafka_assign(feed->consumer, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
        return error_permanent(err, "live feed cannot assign %s: %s", feed->topic, rd_kafka_err2str(code));
    log_info("live feed reading %d partitions of %s from %" PRId64 " messages before their end", feed->partitions,
             feed->topic, feed->backfill);
    return 0;
}

static void *run_feed(void *argument)
{
    struct live_feed *feed = argument;
    struct error err;
    if (assign_from_end(feed, &err) < 0) {
        if (err.kind != ERROR_STOPPED)
            fail(feed, &err);
        return NULL;
    }
    int64_t unknown_topic_reports = kafka_unknown_topic_reports();
    while (!atomic_load(&feed->stopping)) {
        rd_kafka_message_t *message = rd_kafka_consumer_poll(feed->consumer, 100);
        /* Unknown topics are mostly reported through the error callback, not as messages. */
        if (kafka_unknown_topic_reports() != unknown_topic_reports) {
            unknown_topic_reports = kafka_unknown_topic_reports();
            if (check_topic(feed) < 0) {
                if (message != NULL)
                    rd_kafka_message_destroy(message);
                break;
            }
        }
        if (message == NULL)
            continue;
        int rc = message->err == RD_KAFKA_RESP_ERR_NO_ERROR ? (handle_message(feed, message), 0)
                                                            : handle_consumer_error(feed, message);
        rd_kafka_message_destroy(message);
        if (rc < 0)
            break;
    }
    log_info("live feed stopped: %" PRId64 " messages, %" PRId64 " malformed", metric_value(feed->received),
             metric_value(feed->rejected));
    return NULL;
}

struct live_feed *live_feed_start(enum live_feed_kind kind, const char *brokers, const char *topic,
                                  size_t queue_limit, int64_t backfill, void (*wake)(void *context), void *context,
                                  struct error *err)
{
    struct live_feed *feed = calloc(1, sizeof *feed);
    if (feed == NULL || (feed->topic = strdup(topic)) == NULL) {
        free(feed);
        error_set(err, "out of memory");
        return NULL;
    }
    feed->kind = kind;
    feed->wake = wake;
    feed->wake_context = context;
    feed->queue_limit = queue_limit;
    feed->backfill = backfill;
    if (kind == LIVE_FEED_TICKERS) {
        feed->received = metrics_counter("tickerflow_api_live_messages_total", "Messages read from Kafka");
        feed->rejected = metrics_counter("tickerflow_api_live_malformed_total", "Malformed messages skipped");
        feed->overflowed = metrics_counter("tickerflow_api_live_queue_dropped_total",
                                           "Frames dropped because the WebSocket thread fell behind");
    } else {
        feed->received = metrics_counter("tickerflow_api_live_trades_total", "Trades read from Kafka");
        feed->rejected = metrics_counter("tickerflow_api_live_trades_malformed_total", "Malformed trades skipped");
        feed->overflowed = metrics_counter("tickerflow_api_live_trades_queue_dropped_total",
                                           "Trades dropped because the WebSocket thread fell behind");
    }
    pthread_mutex_init(&feed->lock, NULL);

    /* group.id is never joined (assign, not subscribe) and nothing is committed. */
    const char *const properties[] = {
        "group.id", "tickerflow-api-live",
        "enable.auto.commit", "false",
        "enable.auto.offset.store", "false",
        "client.id", "tickerflow-api",
        "socket.nagle.disable", "true", /* live path: no small request waits for an ACK */
        /* Prefetch: librdkafka keeps up to queued.min.messages per partition, each costing
         * some hundred bytes beside its payload (100,000 and 64 MB by default: a burst in
         * the topic grew the server by 60 MB and more). The feed only follows the live edge
         * (1,000 messages/s for 100 tickers at 10 Hz); once a partition's queue is full,
         * librdkafka 2.0 pauses its fetches for a second, so 5,000 per partition still
         * catches up at 30,000 messages/s. The ws_protocol slow-client test measures this. */
        "queued.min.messages", "5000",
        "queued.max.messages.kbytes", "16384",
        NULL,
    };
    feed->consumer = kafka_client_new(RD_KAFKA_CONSUMER, brokers, properties, feed, NULL, err);
    if (feed->consumer == NULL)
        goto fail;
    rd_kafka_poll_set_consumer(feed->consumer);
    int rc = pthread_create(&feed->thread, NULL, run_feed, feed);
    if (rc != 0) {
        error_set(err, "cannot start the live feed thread: %s", strerror(rc));
        goto fail;
    }
    return feed;

fail:
    if (feed->consumer != NULL)
        rd_kafka_destroy(feed->consumer);
    pthread_mutex_destroy(&feed->lock);
    free(feed->topic);
    free(feed);
    return NULL;
}

struct live_tick *live_feed_take(struct live_feed *feed)
{
    pthread_mutex_lock(&feed->lock);
    struct live_tick *ticks = feed->head;
    feed->head = feed->tail = NULL;
    feed->queued = 0;
    if (feed->dropped_count > 0)
        ticks = prepend_skipped(feed, ticks);
    pthread_mutex_unlock(&feed->lock);
    return ticks;
}

bool live_feed_failed(struct live_feed *feed, struct error *err)
{
    pthread_mutex_lock(&feed->lock);
    bool failed = feed->failed;
    if (failed)
        *err = feed->failure;
    pthread_mutex_unlock(&feed->lock);
    return failed;
}

void live_feed_stop(struct live_feed *feed)
{
    if (feed == NULL)
        return;
    atomic_store(&feed->stopping, true);
    pthread_join(feed->thread, NULL);
    kafka_consumer_close(feed->consumer, CLOSE_DEADLINE_MS, NULL);
    for (struct live_tick *tick = live_feed_take(feed), *next; tick != NULL; tick = next) {
        next = tick->next;
        free(tick);
    }
    pthread_mutex_destroy(&feed->lock);
    free(feed->dropped);
    free(feed->topic);
    free(feed);
}
