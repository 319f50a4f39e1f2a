#include "live_feed.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kafka.h"
#include "log.h"
#include "metrics.h"

struct live_feed {
    rd_kafka_t *consumer;
    char *topic;
    void (*wake)(void *context);
    void *wake_context;
    pthread_t thread;
    atomic_bool stopping;

    pthread_mutex_t lock; /* guards the queue below */
    struct live_tick *head, *tail;
    size_t queued;
    size_t queue_limit;
    int64_t backfill;

    struct metric *received, *rejected, *overflowed;
};

static void push_tick(struct live_feed *feed, struct live_tick *tick)
{
    struct live_tick *dropped = NULL;
    pthread_mutex_lock(&feed->lock);
    if (feed->tail != NULL)
        feed->tail->next = tick;
    else
        feed->head = tick;
    feed->tail = tick;
    /* The service thread is stuck if this fills: shed the oldest rather than grow. */
    if (++feed->queued > feed->queue_limit) {
        dropped = feed->head;
        feed->head = dropped->next;
        feed->queued--;
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

static void handle_message(struct live_feed *feed, const rd_kafka_message_t *message)
{
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_warn("live feed: %s", rd_kafka_message_errstr(message));
        return;
    }
    metric_add(feed->received, 1);
    struct live_tick *tick = calloc(1, sizeof *tick);
    if (tick == NULL) {
        log_error("live feed: out of memory, dropping a message");
        return;
    }
    struct error err;
    if (ticker_decode(message->payload, message->len, &tick->ticker, &err) < 0) {
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

/* Assigns every partition of the topic near its end, waiting while the topic does not exist. */
static int assign_from_end(struct live_feed *feed)
{
    struct error err;
    unsigned backoff_s = 1;
    int partitions;
    while ((partitions = kafka_partition_count(feed->consumer, feed->topic, 5000, &err)) <= 0) {
        if (atomic_load(&feed->stopping))
            return -1;
        log_warn("live feed waiting for topic %s (retrying in %us): %s", feed->topic, backoff_s, err.message);
        for (unsigned i = 0; i < backoff_s * 10 && !atomic_load(&feed->stopping); i++)
            rd_kafka_poll(feed->consumer, 100);
        backoff_s = backoff_s < 16 ? backoff_s * 2 : 16;
    }
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(list, feed->topic, p)->offset = start_offset(feed, p);
    rd_kafka_resp_err_t code = rd_kafka_assign(feed->consumer, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_error("live feed cannot assign %s: %s", feed->topic, rd_kafka_err2str(code));
        return -1;
    }
    log_info("live feed reading %d partitions of %s from %" PRId64 " messages before their end", partitions, feed->topic, feed->backfill);
    return 0;
}

static void *run_feed(void *argument)
{
    struct live_feed *feed = argument;
    if (assign_from_end(feed) < 0)
        return NULL;
    while (!atomic_load(&feed->stopping)) {
        rd_kafka_message_t *message = rd_kafka_consumer_poll(feed->consumer, 100);
        if (message != NULL) {
            handle_message(feed, message);
            rd_kafka_message_destroy(message);
        }
    }
    log_info("live feed stopped: %" PRId64 " messages, %" PRId64 " malformed", metric_value(feed->received),
             metric_value(feed->rejected));
    return NULL;
}

struct live_feed *live_feed_start(const char *brokers, const char *topic, size_t queue_limit, int64_t backfill,
                                  void (*wake)(void *context), void *context, struct error *err)
{
    struct live_feed *feed = calloc(1, sizeof *feed);
    if (feed == NULL || (feed->topic = strdup(topic)) == NULL) {
        free(feed);
        error_set(err, "out of memory");
        return NULL;
    }
    feed->wake = wake;
    feed->wake_context = context;
    feed->queue_limit = queue_limit;
    feed->backfill = backfill;
    feed->received = metrics_counter("tickerflow_api_live_messages_total", "Messages read from Kafka");
    feed->rejected = metrics_counter("tickerflow_api_live_malformed_total", "Malformed messages skipped");
    feed->overflowed = metrics_counter("tickerflow_api_live_queue_dropped_total",
                                       "Frames dropped because the WebSocket thread fell behind");
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
    pthread_mutex_unlock(&feed->lock);
    return ticks;
}

void live_feed_stop(struct live_feed *feed)
{
    if (feed == NULL)
        return;
    atomic_store(&feed->stopping, true);
    pthread_join(feed->thread, NULL);
    rd_kafka_consumer_close(feed->consumer);
    rd_kafka_destroy(feed->consumer);
    for (struct live_tick *tick = live_feed_take(feed), *next; tick != NULL; tick = next) {
        next = tick->next;
        free(tick);
    }
    pthread_mutex_destroy(&feed->lock);
    free(feed->topic);
    free(feed);
}
