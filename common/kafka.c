#include "kafka.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "timestamp.h"

/* Runs on librdkafka's internal threads; log.h is thread-safe. */
static void forward_log(const rd_kafka_t *client, int syslog_level, const char *facility, const char *text)
{
    /* librdkafka logs a refused connection at LOG_ERR and retries it; errors that need a
     * person reach forward_error. So its own lines are warnings at most. */
    enum log_level level = syslog_level <= 4 ? LOG_WARN : syslog_level <= 6 ? LOG_INFO : LOG_DEBUG;
    log_message(level, "kafka %s: %s", facility, text);
}

static atomic_llong unknown_topic_reports;

int64_t kafka_unknown_topic_reports(void)
{
    return atomic_load(&unknown_topic_reports);
}

static void forward_error(rd_kafka_t *client, int code, const char *reason, void *opaque)
{
    if (code == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || code == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
        atomic_fetch_add(&unknown_topic_reports, 1);
    /* Broker down and similar errors are retried by librdkafka itself: a warning, not fatal. */
    if (rd_kafka_fatal_error(client, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR)
        log_error("kafka fatal error: %s", reason);
    else
        log_warn("kafka: %s (%s)", reason, rd_kafka_err2name((rd_kafka_resp_err_t)code));
}

/* Kafka's committed offsets are a monitoring aid here: a failed commit is only worth a debug line. */
static void log_commit_result(rd_kafka_t *consumer, rd_kafka_resp_err_t code,
                              rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR && code != RD_KAFKA_RESP_ERR__NO_OFFSET)
        log_debug("committing offsets to Kafka (monitoring only) failed: %s", rd_kafka_err2str(code));
}

/* A client with our logging, `properties` applied and, for a group member, its rebalance
 * callback and the commit-result logger. */
static rd_kafka_t *create_client(rd_kafka_type_t type, const char *brokers, const char *const *properties,
                                 void *opaque, void (*prepare)(rd_kafka_conf_t *conf), kafka_rebalance_fn *rebalance,
                                 struct error *err)
{
    char reason[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, reason, sizeof reason) != RD_KAFKA_CONF_OK)
        goto invalid;
    /* librdkafka's reconnect backoff doubles up to 10 s: after a broker restart, clients
     * came back up to ~8 s after the broker did (tests/faults). Retrying a down broker once
     * a second costs nothing. A caller's property can still override it. */
    if (rd_kafka_conf_set(conf, "reconnect.backoff.max.ms", "1000", reason, sizeof reason) != RD_KAFKA_CONF_OK)
        goto invalid;
    /* librdkafka's own debug log (contexts such as "cgrp,consumer,broker"), for a person
     * chasing a problem: TICKERFLOW_KAFKA_DEBUG, read here so every client gets it. */
    const char *debug = getenv("TICKERFLOW_KAFKA_DEBUG");
    if (debug != NULL && debug[0] != '\0' &&
        rd_kafka_conf_set(conf, "debug", debug, reason, sizeof reason) != RD_KAFKA_CONF_OK)
        goto invalid;
    for (const char *const *pair = properties; pair != NULL && pair[0] != NULL; pair += 2) {
        if (pair[1] != NULL && rd_kafka_conf_set(conf, pair[0], pair[1], reason, sizeof reason) != RD_KAFKA_CONF_OK)
            goto invalid;
    }
    rd_kafka_conf_set_log_cb(conf, forward_log);
    rd_kafka_conf_set_error_cb(conf, forward_error);
    rd_kafka_conf_set_opaque(conf, opaque);
    if (prepare != NULL)
        prepare(conf);
    if (rebalance != NULL) {
        rd_kafka_conf_set_rebalance_cb(conf, rebalance);
        rd_kafka_conf_set_offset_commit_cb(conf, log_commit_result);
    }

    /* rd_kafka_new takes ownership of conf only when it succeeds. */
    rd_kafka_t *client = rd_kafka_new(type, conf, reason, sizeof reason);
    if (client == NULL)
        goto invalid;
    return client;

invalid:
    rd_kafka_conf_destroy(conf);
    error_set(err, "kafka configuration: %s", reason);
    return NULL;
}

rd_kafka_t *kafka_client_new(rd_kafka_type_t type, const char *brokers, const char *const *properties,
                             void *opaque, void (*prepare)(rd_kafka_conf_t *conf), struct error *err)
{
    return create_client(type, brokers, properties, opaque, prepare, NULL, err);
}

rd_kafka_t *kafka_group_consumer_new(const struct kafka_group_member *member, kafka_rebalance_fn *rebalance,
                                     void *opaque, struct error *err)
{
    const struct group_settings *group = member->group;
    char session_timeout[24], prefetch_messages[24], fetch_bytes[24];
    snprintf(session_timeout, sizeof session_timeout, "%lld", group->session_timeout_ms);
    snprintf(prefetch_messages, sizeof prefetch_messages, "%lld", group->prefetch_messages);
    /* Fetch about a queue's worth per request (~100 bytes a tick on the wire: JSON, key and
     * record header; ~250 a trade). Smaller fetches leave the queue refilling in steps, with
     * stalls between (trades fetched at a tick's size drained at 0.29x kcat instead of
     * 0.5x); twice that held up to two queues' worth per partition in fetch buffers
     * (bench/bridge-drain: ~2 MB more peak RSS for the same drain rate). */
    long long bytes = group->prefetch_messages * (member->message_bytes > 0 ? member->message_bytes : 100);
    snprintf(fetch_bytes, sizeof fetch_bytes, "%lld", bytes < 65536 ? 65536 : bytes > 4194304 ? 4194304 : bytes);
    const char *properties[] = {
        "group.id", group->group_id,
        "group.instance.id", group->instance_id[0] != '\0' ? group->instance_id : NULL,
        "client.id", member->client_id,
        "session.timeout.ms", session_timeout,
        /* Positions live in PostgreSQL, with the data; Kafka's committed offsets are written
         * by hand, for monitoring only. */
        "enable.auto.commit", "false",
        "enable.auto.offset.store", "false",
        "auto.offset.reset", "earliest",
        /* Prefetch: each queued message costs several hundred bytes beside its payload, so
         * the queues stay small; see kafka_wake_starved_fetcher for what librdkafka 2.0
         * does once one is full. */
        "queued.min.messages", prefetch_messages,
        "queued.max.messages.kbytes", "65536",
        "max.partition.fetch.bytes", fetch_bytes,
        "fetch.wait.max.ms", "100", /* only matters when idle: how long the broker holds a fetch */
        NULL,
    };
    rd_kafka_t *consumer =
        create_client(RD_KAFKA_CONSUMER, member->brokers, properties, opaque, NULL, rebalance, err);
    if (consumer == NULL)
        return NULL;
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, member->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t code = rd_kafka_subscribe(consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_destroy(consumer);
        error_set(err, "subscribing to %s: %s", member->topic, rd_kafka_err2str(code));
        return NULL;
    }
    log_info("consuming topic %s in group %s", member->topic, group->group_id);
    return consumer;
}

int kafka_partition_count(rd_kafka_t *client, const char *topic, int timeout_ms, struct error *err)
{
    rd_kafka_topic_t *handle = rd_kafka_topic_new(client, topic, NULL);
    if (handle == NULL)
        return error_set(err, "cannot create a handle for topic %s", topic);
    const struct rd_kafka_metadata *metadata = NULL;
    rd_kafka_resp_err_t code = rd_kafka_metadata(client, 0, handle, &metadata, timeout_ms);
    rd_kafka_topic_destroy(handle);
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
        return error_set(err, "metadata for topic %s: %s", topic, rd_kafka_err2str(code));

    int count = -1;
    if (metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        count = metadata->topics[0].partition_cnt;
    else if (metadata->topic_cnt == 1 && (metadata->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                                          metadata->topics[0].err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC))
        error_permanent(err, "topic %s does not exist", topic);
    else if (metadata->topic_cnt == 1)
        error_set(err, "topic %s: %s", topic, rd_kafka_err2str(metadata->topics[0].err));
    else
        error_permanent(err, "topic %s does not exist", topic);
    rd_kafka_metadata_destroy(metadata);
    return count;
}

/* rd_kafka_destroy on a thread of its own, so the caller can stop waiting for it. */
struct destruction {
    rd_kafka_t *client;
    pthread_mutex_t lock;
    pthread_cond_t done_changed;
    bool done, abandoned; /* the last of the two threads to get there frees this */
};

static void *destroy_client(void *argument)
{
    struct destruction *destruction = argument;
    rd_kafka_destroy(destruction->client);
    pthread_mutex_lock(&destruction->lock);
    destruction->done = true;
    bool abandoned = destruction->abandoned;
    pthread_cond_signal(&destruction->done_changed);
    pthread_mutex_unlock(&destruction->lock);
    if (abandoned)
        free(destruction);
    return NULL;
}

/* Destroys `client`, waiting until `give_up_ms` (monotonic) at most. librdkafka 2.0 can wait
 * in rd_kafka_destroy for as long as a broker stays away, or forever for a topic deleted
 * under its consumer: then the client is left to its thread, which ends with the process
 * (call this only when stopping). */
static void destroy_within(rd_kafka_t *client, int64_t give_up_ms)
{
    struct destruction *destruction = calloc(1, sizeof *destruction);
    pthread_t thread;
    if (destruction == NULL) {
        rd_kafka_destroy(client);
        return;
    }
    destruction->client = client;
    pthread_mutex_init(&destruction->lock, NULL);
    pthread_cond_init(&destruction->done_changed, NULL);
    if (pthread_create(&thread, NULL, destroy_client, destruction) != 0) {
        free(destruction);
        rd_kafka_destroy(client);
        return;
    }
    pthread_detach(thread);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    int64_t wait_ms = give_up_ms - timestamp_monotonic_ms();
    wait_ms = wait_ms < 100 ? 100 : wait_ms;
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&destruction->lock);
    while (!destruction->done && pthread_cond_timedwait(&destruction->done_changed, &destruction->lock, &until) == 0)
        ;
    bool done = destruction->done;
    destruction->abandoned = !done;
    pthread_mutex_unlock(&destruction->lock);
    if (done) {
        pthread_cond_destroy(&destruction->done_changed);
        pthread_mutex_destroy(&destruction->lock);
        free(destruction);
    } else {
        log_warn("librdkafka did not finish closing its consumer in time: leaving it to end with the process");
    }
}

void kafka_consumer_close(rd_kafka_t *consumer, int deadline_ms, kafka_rebalance_fn *rebalance)
{
    if (consumer == NULL)
        return;
    rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(consumer);
    rd_kafka_error_t *error = rd_kafka_consumer_close_queue(consumer, queue);
    bool closing = error == NULL;
    if (error != NULL) {
        log_warn("closing the Kafka consumer: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    int64_t give_up_ms = timestamp_monotonic_ms() + deadline_ms;
    while (closing && !rd_kafka_consumer_closed(consumer) && timestamp_monotonic_ms() < give_up_ms) {
        /* Polled as events, the revoke comes as one rather than through the callback:
         * hand it to the callback, which must assign(NULL) for the close to go on. */
        rd_kafka_event_t *event = rd_kafka_queue_poll(queue, 100);
        if (event != NULL && rd_kafka_event_type(event) == RD_KAFKA_EVENT_REBALANCE && rebalance != NULL)
            rebalance(consumer, rd_kafka_event_error(event), rd_kafka_event_topic_partition_list(event),
                      rd_kafka_opaque(consumer));
        else if (event != NULL && rd_kafka_event_type(event) == RD_KAFKA_EVENT_REBALANCE)
            rd_kafka_assign(consumer, NULL);
        if (event != NULL)
            rd_kafka_event_destroy(event);
    }
    if (closing && !rd_kafka_consumer_closed(consumer))
        log_warn("the Kafka consumer did not close within %d ms (a commit waits for a broker that is away?)",
                 deadline_ms);
    rd_kafka_queue_destroy(queue);
    /* A second or two more for the destroy itself: it stops the consumer's threads. */
    destroy_within(consumer, give_up_ms + 2000);
}

int kafka_wake_starved_fetcher(rd_kafka_t *consumer, const rd_kafka_topic_partition_list_t *positions)
{
    rd_kafka_topic_partition_list_t *started = rd_kafka_topic_partition_list_new(positions->cnt + 1);
    int behind = 0;
    for (int i = 0; i < positions->cnt; i++) {
        const rd_kafka_topic_partition_t *position = &positions->elems[i];
        int64_t low, high;
        if (position->offset < 0)
            continue;
        rd_kafka_topic_partition_list_add(started, position->topic, position->partition)->offset = position->offset;
        if (rd_kafka_get_watermark_offsets(consumer, position->topic, position->partition, &low, &high) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            high > position->offset)
            behind++;
    }
    /* All of them, not only those behind: a partition's cached high watermark can be older
     * than its backlog, and a seek to where a partition stands costs one fetch at most. */
    if (behind > 0) {
        log_debug("no message while %d of %d partitions are behind: seeking them where they stand to wake the "
                  "fetcher", behind, started->cnt);
        rd_kafka_error_t *error = rd_kafka_seek_partitions(consumer, started, 0); /* 0: asynchronous */
        if (error != NULL)
            rd_kafka_error_destroy(error); /* the fetcher wakes by itself within a second anyway */
    }
    rd_kafka_topic_partition_list_destroy(started);
    return behind;
}

int64_t kafka_lag(rd_kafka_t *consumer, const rd_kafka_topic_partition_list_t *positions)
{
    int64_t lag = 0;
    for (int i = 0; i < positions->cnt; i++) {
        const rd_kafka_topic_partition_t *position = &positions->elems[i];
        int64_t low, high;
        if (position->offset >= 0 &&
            rd_kafka_get_watermark_offsets(consumer, position->topic, position->partition, &low, &high) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            high > position->offset)
            lag += high - position->offset;
    }
    return lag;
}

int kafka_seek_and_resume(rd_kafka_t *consumer, rd_kafka_topic_partition_list_t *targets, int timeout_ms,
                          struct error *err)
{
    if (targets->cnt == 0)
        return 0;
    rd_kafka_resume_partitions(consumer, targets);
    int rc = 0;
    rd_kafka_error_t *error = rd_kafka_seek_partitions(consumer, targets, timeout_ms);
    if (error != NULL) {
        rc = error_set(err, "seeking: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    for (int i = 0; rc == 0 && i < targets->cnt; i++) {
        if (targets->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR)
            rc = error_set(err, "seeking partition %d: %s", (int)targets->elems[i].partition,
                           rd_kafka_err2str(targets->elems[i].err));
    }
    if (rc < 0)
        rd_kafka_pause_partitions(consumer, targets);
    return rc;
}

int kafka_first_offset(rd_kafka_t *consumer, const char *topic, int32_t partition, int timeout_ms, int64_t *offset,
                       struct error *err)
{
    int64_t high;
    rd_kafka_resp_err_t code = rd_kafka_query_watermark_offsets(consumer, topic, partition, offset, &high, timeout_ms);
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
        return error_set(err, "reading the first offset of partition %d: %s", (int)partition, rd_kafka_err2str(code));
    return 0;
}
