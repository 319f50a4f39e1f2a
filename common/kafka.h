/*
 * Kafka client set-up shared by the daemons: one place that turns settings into a
 * librdkafka handle whose logs and errors go through log.h.
 */
#ifndef TICKERFLOW_KAFKA_H
#define TICKERFLOW_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

/* Creates a client of `type` for `brokers`, applying `properties`, a NULL-terminated
 * list of librdkafka name/value pairs ({"acks", "all", NULL}; a pair with a NULL value is
 * skipped). Returns NULL with err set on an invalid property. The caller owns the
 * handle: rd_kafka_destroy it. */
rd_kafka_t *kafka_client_new(rd_kafka_type_t type, const char *brokers, const char *const *properties,
                             void *opaque, void (*prepare)(rd_kafka_conf_t *conf), struct error *err);

typedef void kafka_rebalance_fn(rd_kafka_t *consumer, rd_kafka_resp_err_t code,
                                rd_kafka_topic_partition_list_t *partitions, void *opaque);

/* A consumer group member that keeps its positions in PostgreSQL (the bridge, the
 * aggregator). All strings must outlive the call only. */
struct kafka_group_member {
    const char *brokers;
    const char *topic;
    const char *client_id;
    const struct group_settings *group;
    int message_bytes; /* a message's usual size on the wire, which sizes fetches; 0: 100 (a tick) */
};

/* Creates the member's consumer, subscribed to its topic, with `rebalance` (called from
 * inside rd_kafka_consumer_poll with `opaque`). Nothing is committed or stored
 * automatically: the caller seeks to the positions it keeps and commits to Kafka only for
 * monitoring (failed commits are logged at debug); a group new to Kafka starts at the
 * earliest offset. Returns NULL with err set. The caller owns the consumer: close and
 * destroy it. */
rd_kafka_t *kafka_group_consumer_new(const struct kafka_group_member *member, kafka_rebalance_fn *rebalance,
                                     void *opaque, struct error *err);

/* Leaves the group, closes and destroys the consumer, waiting about `deadline_ms` (plus up
 * to 2 s for the destroy): with the broker away, librdkafka 2.0's close waits for a
 * pending offset commit for as long as the broker stays away (librdkafka issue #3740), and
 * its destroy can hang on a topic deleted under it. A consumer not gone by then is left to
 * its threads, which end with the process: call this only when stopping. The revoke the
 * close makes goes to `rebalance` (the consumer's own callback; NULL for a consumer that
 * assigns its partitions itself). NULL does nothing. */
void kafka_consumer_close(rd_kafka_t *consumer, int deadline_ms, kafka_rebalance_fn *rebalance);

/* How many times a client of this process was told a topic does not exist (librdkafka's
 * error callback, which carries no topic): when it grows, a reader asks the cluster whether
 * its own topic is still there (kafka_partition_count). Any thread. */
int64_t kafka_unknown_topic_reports(void);

/* The number of partitions of `topic`, asking the cluster with a deadline. Returns -1
 * with err set when the topic does not exist (ERROR_PERMANENT: the cluster answered) or
 * the cluster does not answer (ERROR_FAILED). */
int kafka_partition_count(rd_kafka_t *client, const char *topic, int timeout_ms, struct error *err);

/* librdkafka 2.0 stops fetching a partition once its local queue reaches
 * queued.min.messages and looks at it again only when something else wakes its broker
 * thread, at the latest after a second (librdkafka issue #2879; fetch.queue.backoff.ms
 * came in 2.1). A consumer that drains a backlog faster than that empties its queues and
 * then waits: gaps of 350-800 ms every two seconds in bench/bridge-drain.
 *
 * Call this when a poll found nothing while messages were flowing. `positions` lists the
 * assigned partitions with, as offset, the next one the caller expects (partitions with a
 * negative offset are skipped: their first fetch is on its way). If the broker holds more
 * of any (its high watermark as of the last fetch), every listed partition is sought to
 * where it stands, asynchronously, which wakes the fetcher at once. The queues are empty
 * then, so nothing is fetched twice; a message arriving meanwhile is dropped by the seek
 * and fetched again. Returns how many partitions were behind (0: nothing was sought). */
int kafka_wake_starved_fetcher(rd_kafka_t *consumer, const rd_kafka_topic_partition_list_t *positions);

/* Moves each partition of `targets` (paused by the caller while it found out where to
 * read) to its offset and resumes fetching it, waiting up to `timeout_ms` for the seeks.
 * Resumed before the seek: with librdkafka 2.0 the first fetch after seeking a paused
 * partition waited about a second. Nothing fetched before the seek is delivered after it
 * (the seek outdates it). On failure the partitions are paused again and err says which
 * failed. */
int kafka_seek_and_resume(rd_kafka_t *consumer, rd_kafka_topic_partition_list_t *targets, int timeout_ms,
                          struct error *err);

/* The first offset the broker still holds of `topic`'s `partition` (a request, waiting up
 * to `timeout_ms`): where a reader with no position of its own starts. */
int kafka_first_offset(rd_kafka_t *consumer, const char *topic, int32_t partition, int timeout_ms, int64_t *offset,
                       struct error *err);

/* How many messages the broker holds beyond `positions` (each partition's offset: the next
 * one the caller has not processed; negative offsets are skipped), from the high watermarks
 * of the last fetches: no request is made. For a lag gauge. */
int64_t kafka_lag(rd_kafka_t *consumer, const rd_kafka_topic_partition_list_t *positions);

#endif
