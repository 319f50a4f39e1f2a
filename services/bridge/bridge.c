#include "bridge.h"

#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "kafka.h"
#include "log.h"
#include "record_batch.h"
#include "record_writer.h"
#include "shutdown.h"
#include "ticker.h"

#define REPORT_INTERVAL_MS 60000
#define IDLE_POLL_MS 100

struct totals {
    uint64_t stored;   /* rows committed to Postgres */
    uint64_t rejected; /* malformed messages skipped */
    uint64_t batches;
};

struct bridge {
    const struct bridge_settings *settings;
    rd_kafka_t *consumer;
    struct record_batch *batch;
    struct record_writer *writer;
    int64_t batch_started_ms; /* when the first message of the batch arrived */
    bool paused;              /* consumption paused while Postgres is away */
    struct totals totals;
    struct totals reported;
    int64_t last_report_ms;
};

static int64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static int commit_offsets(struct bridge *bridge, bool synchronous, struct error *err)
{
    size_t count;
    const struct record_batch_offset *offsets = record_batch_offsets(bridge->batch, &count);
    if (count == 0)
        return 0;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)count);
    for (size_t i = 0; i < count; i++)
        rd_kafka_topic_partition_list_add(list, bridge->settings->shared.kafka_topic, offsets[i].partition)->offset =
            offsets[i].next_offset;
    rd_kafka_resp_err_t code = rd_kafka_commit(bridge->consumer, list, synchronous ? 0 : 1);
    rd_kafka_topic_partition_list_destroy(list);
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
        return error_set(err, "committing offsets: %s", rd_kafka_err2str(code));
    return 0;
}

/* One attempt: store the rows, then commit their offsets. */
static int store_batch(struct bridge *bridge, bool synchronous_commit, struct error *err)
{
    if (record_writer_write(bridge->writer, bridge->batch, err) < 0)
        return -1;
    bridge->totals.stored += record_batch_rows(bridge->batch);
    bridge->totals.batches++;
    /* The rows are safe; a failed commit only means they may be delivered again. */
    struct error commit_error;
    if (commit_offsets(bridge, synchronous_commit, &commit_error) < 0)
        log_warn("%s (rows are stored; they may be re-delivered)", commit_error.message);
    record_batch_clear(bridge->batch);
    return 0;
}

static void set_paused(struct bridge *bridge, bool paused)
{
    rd_kafka_topic_partition_list_t *assignment = NULL;
    if (rd_kafka_assignment(bridge->consumer, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (paused)
            rd_kafka_pause_partitions(bridge->consumer, assignment);
        else
            rd_kafka_resume_partitions(bridge->consumer, assignment);
        rd_kafka_topic_partition_list_destroy(assignment);
    }
    bridge->paused = paused;
}

static void on_rebalance(rd_kafka_t *consumer, rd_kafka_resp_err_t code, rd_kafka_topic_partition_list_t *partitions,
                         void *opaque)
{
    struct bridge *bridge = opaque;
    if (code == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log_info("assigned %d partitions", partitions->cnt);
        rd_kafka_assign(consumer, partitions);
        if (bridge->paused)
            rd_kafka_pause_partitions(consumer, partitions);
        return;
    }
    /* Revoked: store what we hold for these partitions before another bridge reads them.
     * If Postgres is away, drop the batch: its offsets are uncommitted, so the next owner
     * re-reads those messages and nothing is lost. */
    log_info("revoked %d partitions", partitions->cnt);
    struct error err;
    if (record_batch_messages(bridge->batch) > 0 && store_batch(bridge, true, &err) < 0) {
        log_warn("could not store %zu messages before the rebalance (%s); they will be re-read", record_batch_messages(bridge->batch),
                 err.message);
        record_batch_clear(bridge->batch);
    }
    rd_kafka_assign(consumer, NULL);
}

static void on_commit(rd_kafka_t *consumer, rd_kafka_resp_err_t code, rd_kafka_topic_partition_list_t *offsets,
                      void *opaque)
{
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR && code != RD_KAFKA_RESP_ERR__NO_OFFSET)
        log_warn("offset commit failed: %s (the rows are stored; they may be re-delivered)", rd_kafka_err2str(code));
}

static void prepare_consumer(rd_kafka_conf_t *conf)
{
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(conf, on_commit);
}

static rd_kafka_t *open_consumer(struct bridge *bridge, struct error *err)
{
    /* No auto commit and no auto offset store: offsets are committed by store_batch only. */
    const char *const properties[] = {
        "group.id", bridge->settings->group_id,
        "enable.auto.commit", "false",
        "enable.auto.offset.store", "false",
        "auto.offset.reset", "earliest",
        "client.id", "tickerflow-bridge",
        NULL,
    };
    rd_kafka_t *consumer = kafka_client_new(RD_KAFKA_CONSUMER, bridge->settings->shared.kafka_brokers, properties,
                                            bridge, prepare_consumer, err);
    if (consumer == NULL)
        return NULL;
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, bridge->settings->shared.kafka_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t code = rd_kafka_subscribe(consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_destroy(consumer);
        error_set(err, "subscribing to %s: %s", bridge->settings->shared.kafka_topic, rd_kafka_err2str(code));
        return NULL;
    }
    log_info("consuming topic %s in group %s", bridge->settings->shared.kafka_topic, bridge->settings->group_id);
    return consumer;
}

/* Sleeps `delay_ms` in short steps so shutdown is noticed, serving Kafka meanwhile so the
 * group membership stays alive (partitions are paused, so no message should arrive). */
static void wait_serving_kafka(struct bridge *bridge, int delay_ms)
{
    for (int waited = 0; waited < delay_ms && !shutdown_requested(); waited += IDLE_POLL_MS)
        bridge_poll(bridge, IDLE_POLL_MS);
}

static int connect_database(struct bridge *bridge, struct error *err)
{
    int backoff_ms = 500;
    while (record_writer_connect(bridge->writer, err) < 0) {
        if (shutdown_requested())
            return -1;
        log_warn("PostgreSQL unavailable (retrying in %d ms): %s", backoff_ms, err->message);
        for (int waited = 0; waited < backoff_ms && !shutdown_requested(); waited += IDLE_POLL_MS)
            nanosleep(&(struct timespec){0, IDLE_POLL_MS * 1000000L}, NULL);
        backoff_ms = backoff_ms < 8000 ? backoff_ms * 2 : 8000;
    }
    return 0;
}

struct bridge *bridge_open(const struct bridge_settings *settings, struct error *err)
{
    struct bridge *bridge = calloc(1, sizeof *bridge);
    if (bridge == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    bridge->settings = settings;
    bridge->last_report_ms = monotonic_ms();
    if ((bridge->batch = record_batch_new(err)) == NULL ||
        (bridge->writer = record_writer_new(settings->shared.database_url, err)) == NULL ||
        connect_database(bridge, err) < 0 || (bridge->consumer = open_consumer(bridge, err)) == NULL) {
        bridge_close(bridge);
        return NULL;
    }
    return bridge;
}

static void handle_message(struct bridge *bridge, const rd_kafka_message_t *message)
{
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* Broker outages and the like: librdkafka retries by itself. */
        log_warn("kafka: %s", rd_kafka_message_errstr(message));
        return;
    }
    if (record_batch_messages(bridge->batch) == 0)
        bridge->batch_started_ms = monotonic_ms();

    struct ticker ticker;
    struct error err;
    int rc;
    if (ticker_decode(message->payload, message->len, &ticker, &err) == 0) {
        rc = record_batch_add(bridge->batch, &ticker, message->partition, message->offset, &err);
    } else {
        bridge->totals.rejected++;
        log_warn("skipped malformed message at %s/%" PRId32 "@%" PRId64 ": %s", rd_kafka_topic_name(message->rkt),
                 message->partition, message->offset, err.message);
        rc = record_batch_skip(bridge->batch, message->partition, message->offset, &err);
    }
    if (rc < 0) {
        log_error("cannot batch message at %" PRId32 "@%" PRId64 ": %s; stopping", message->partition,
                  message->offset, err.message);
        shutdown_request();
    }
}

void bridge_poll(struct bridge *bridge, int timeout_ms)
{
    rd_kafka_message_t *message = rd_kafka_consumer_poll(bridge->consumer, timeout_ms);
    if (message == NULL)
        return;
    handle_message(bridge, message);
    rd_kafka_message_destroy(message);
}

int bridge_time_to_flush_ms(const struct bridge *bridge)
{
    size_t messages = record_batch_messages(bridge->batch);
    if (messages == 0)
        return IDLE_POLL_MS;
    if (messages >= (size_t)bridge->settings->batch_max_rows)
        return 0;
    int64_t due_ms = bridge->batch_started_ms + bridge->settings->batch_max_wait_ms - monotonic_ms();
    return due_ms > 0 ? (int)due_ms : 0;
}

int bridge_flush(struct bridge *bridge)
{
    struct error err;
    int backoff_ms = 250;
    while (record_batch_messages(bridge->batch) > 0 && store_batch(bridge, false, &err) < 0) {
        if (shutdown_requested()) {
            log_error("giving up on %zu unstored messages at shutdown (%s); their offsets are not committed, so "
                      "they will be consumed again",
                      record_batch_messages(bridge->batch), err.message);
            return -1;
        }
        if (!bridge->paused) {
            log_warn("cannot store batch, pausing consumption until PostgreSQL is back: %s", err.message);
            set_paused(bridge, true);
        } else {
            log_warn("PostgreSQL still unavailable (retrying in %d ms): %s", backoff_ms, err.message);
        }
        wait_serving_kafka(bridge, backoff_ms);
        backoff_ms = backoff_ms < 8000 ? backoff_ms * 2 : 8000;
    }
    if (bridge->paused) {
        log_info("PostgreSQL is back: resuming consumption");
        set_paused(bridge, false);
    }
    return 0;
}

void bridge_report(struct bridge *bridge)
{
    int64_t now_ms = monotonic_ms();
    if (now_ms - bridge->last_report_ms < REPORT_INTERVAL_MS)
        return;
    struct totals *t = &bridge->totals, *r = &bridge->reported;
    if (t->stored != r->stored || t->rejected != r->rejected)
        log_info("last minute: stored %" PRIu64 " rows in %" PRIu64 " batches, skipped %" PRIu64
                 " malformed messages (since start: %" PRIu64 " stored, %" PRIu64 " skipped)",
                 t->stored - r->stored, t->batches - r->batches, t->rejected - r->rejected, t->stored, t->rejected);
    bridge->reported = bridge->totals;
    bridge->last_report_ms = now_ms;
}

void bridge_close(struct bridge *bridge)
{
    if (bridge == NULL)
        return;
    if (bridge->consumer != NULL) {
        struct error err;
        if (record_batch_messages(bridge->batch) > 0 && store_batch(bridge, true, &err) < 0)
            log_error("final batch of %zu messages not stored (%s); it will be consumed again",
                      record_batch_messages(bridge->batch), err.message);
        rd_kafka_consumer_close(bridge->consumer);
        rd_kafka_destroy(bridge->consumer);
        log_info("stored %" PRIu64 " rows in %" PRIu64 " batches, skipped %" PRIu64 " malformed messages",
                 bridge->totals.stored, bridge->totals.batches, bridge->totals.rejected);
    }
    record_writer_destroy(bridge->writer);
    record_batch_destroy(bridge->batch);
    free(bridge);
}
