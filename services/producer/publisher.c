#include "publisher.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "retry.h"
#include "shutdown.h"
#include "timestamp.h"

struct publisher {
    rd_kafka_t *kafka; /* NULL in dry-run mode */
    char *topic;
    struct metric *sent, *delivered, *failed;
    struct error refusal; /* the first delivery failure (kind ERROR_PERMANENT), when failed > 0 */
};

/* Runs inside rd_kafka_poll and rd_kafka_flush, on the caller's thread. The producer is
 * idempotent and never times a message out (message.timeout.ms=0), so a failed delivery is
 * one no retry mends: the topic deleted, the message refused. The walk cannot go on
 * without a value, so the producer stops; a restart resumes from the last value the
 * topic holds. */
static void on_delivery(rd_kafka_t *kafka, const rd_kafka_message_t *message, void *opaque)
{
    struct publisher *publisher = opaque;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        metric_add(publisher->delivered, 1);
        return;
    }
    if (metric_value(publisher->failed) == 0)
        error_permanent(&publisher->refusal, "Kafka refused the message for %.*s for good: %s",
                        (int)message->key_len, (const char *)message->key, rd_kafka_err2str(message->err));
    metric_add(publisher->failed, 1);
}

static void set_delivery_callback(rd_kafka_conf_t *conf)
{
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
}

/* One look for the topic; one that does not exist yet is worth waiting for at start. */
static int find_topic(void *context, struct error *err)
{
    struct publisher *publisher = context;
    int partitions = kafka_partition_count(publisher->kafka, publisher->topic, 5000, err);
    if (partitions < 0) {
        err->kind = ERROR_FAILED;
        return -1;
    }
    log_info("publishing to topic %s (%d partitions)", publisher->topic, partitions);
    return 0;
}

static int wait_for_topic(struct publisher *publisher, struct error *err)
{
    return retry_until("waiting for the Kafka topic", find_topic, publisher, NULL, err);
}

struct publisher *publisher_open(const struct producer_settings *settings, struct error *err)
{
    struct publisher *publisher = calloc(1, sizeof *publisher);
    if (publisher == NULL || (publisher->topic = strdup(settings->shared.kafka_topic)) == NULL) {
        free(publisher);
        error_set(err, "out of memory");
        return NULL;
    }
    publisher->sent = metrics_counter("tickerflow_producer_messages_total", "Messages published (or printed)");
    publisher->delivered =
        metrics_counter("tickerflow_producer_delivered_total", "Messages acknowledged by Kafka");
    publisher->failed =
        metrics_counter("tickerflow_producer_delivery_failures_total", "Messages Kafka did not acknowledge");
    if (settings->dry_run) {
        setvbuf(stdout, NULL, _IOLBF, 0); /* one whole line at a time, also into pipes */
        return publisher;
    }

    /* Idempotence gives acks=all and ordered, duplicate-free retries. A message timeout of
     * 0 means never give up: while the broker is away messages wait in the local queue and,
     * once it is full, publisher_send blocks instead of dropping values. */
    const char *const properties[] = {
        "enable.idempotence", "true",
        "acks", "all",
        "message.timeout.ms", "0",
        "linger.ms", "5",
        /* Nagle would hold a small produce request back while the previous one is unacknowledged:
         * tens of milliseconds on the live path whenever the broker is slow to answer. */
        "socket.nagle.disable", "true",
        "client.id", "tickerflow-producer",
        NULL,
    };
    publisher->kafka = kafka_client_new(RD_KAFKA_PRODUCER, settings->shared.kafka_brokers, properties, publisher,
                                        set_delivery_callback, err);
    if (publisher->kafka == NULL || wait_for_topic(publisher, err) < 0) {
        publisher_close(publisher, 0);
        return NULL;
    }
    return publisher;
}

int publisher_send_message(struct publisher *publisher, const char *key, const char *json, size_t length,
                           struct error *err)
{
    metric_add(publisher->sent, 1);
    if (publisher->kafka == NULL) {
        printf("%.*s\n", (int)length, json);
        return 0;
    }
    for (;;) {
        rd_kafka_resp_err_t code = rd_kafka_producev(
            publisher->kafka, RD_KAFKA_V_TOPIC(publisher->topic), RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE((void *)json, length), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (code == RD_KAFKA_RESP_ERR_NO_ERROR)
            return 0;
        if (code != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            metric_add(publisher->sent, -1);
            return error_set(err, "cannot queue message for %s: %s", key, rd_kafka_err2str(code));
        }
        if (shutdown_requested()) {
            metric_add(publisher->sent, -1);
            return error_stopped(err, "waiting for room in the local queue");
        }
        if (publisher_poll(publisher, 100, err) < 0)
            return -1;
    }
}

int publisher_send(struct publisher *publisher, const struct ticker *ticker, struct error *err)
{
    char json[TICKER_JSON_MAX];
    int length = ticker_encode(ticker, json, sizeof json, err);
    if (length < 0)
        return -1;
    return publisher_send_message(publisher, ticker->name, json, (size_t)length, err);
}

int publisher_poll(struct publisher *publisher, int timeout_ms, struct error *err)
{
    if (publisher->kafka == NULL) {
        usleep((useconds_t)timeout_ms * 1000);
        return 0;
    }
    rd_kafka_poll(publisher->kafka, timeout_ms);
    if (metric_value(publisher->failed) == 0)
        return 0;
    *err = publisher->refusal;
    return -1;
}

int publisher_wait_until(struct publisher *publisher, int64_t due_ms, struct error *err)
{
    for (int64_t now_ms = timestamp_monotonic_ms(); now_ms < due_ms && !shutdown_requested();
         now_ms = timestamp_monotonic_ms()) {
        int64_t wait_ms = due_ms - now_ms;
        if (publisher_poll(publisher, wait_ms < 100 ? (int)wait_ms : 100, err) < 0)
            return -1;
    }
    return 0;
}

void publisher_close(struct publisher *publisher, int flush_timeout_ms)
{
    if (publisher == NULL)
        return;
    if (publisher->kafka != NULL) {
        rd_kafka_flush(publisher->kafka, flush_timeout_ms);
        int left = rd_kafka_outq_len(publisher->kafka);
        if (left > 0)
            log_warn("%d messages not acknowledged by Kafka within %d ms were not published (a ticker's next "
                     "start resumes from the last value the topic holds)", left, flush_timeout_ms);
        log_info("published %" PRId64 " messages: %" PRId64 " delivered, %" PRId64 " refused",
                 metric_value(publisher->sent), metric_value(publisher->delivered), metric_value(publisher->failed));
        rd_kafka_destroy(publisher->kafka);
    } else {
        fflush(stdout);
    }
    free(publisher->topic);
    free(publisher);
}
