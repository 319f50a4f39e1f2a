/*
 * Kafka client set-up shared by the daemons: one place that turns settings into a
 * librdkafka handle whose logs and errors go through log.h.
 */
#ifndef TICKERFLOW_KAFKA_H
#define TICKERFLOW_KAFKA_H

#include <librdkafka/rdkafka.h>

#include "error.h"

/* Creates a client of `type` for `brokers`, applying `properties`, a NULL-terminated
 * list of librdkafka name/value pairs ({"acks", "all", NULL}). Returns NULL with err set
 * on an invalid property. The caller owns the handle: rd_kafka_destroy it. */
rd_kafka_t *kafka_client_new(rd_kafka_type_t type, const char *brokers, const char *const *properties,
                             void *opaque, void (*prepare)(rd_kafka_conf_t *conf), struct error *err);

/* The number of partitions of `topic`, asking the cluster with a deadline. Returns -1
 * with err set when the topic does not exist or the cluster does not answer. */
int kafka_partition_count(rd_kafka_t *client, const char *topic, int timeout_ms, struct error *err);

#endif
