#include "seed.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "kafka.h"
#include "log.h"
#include "retry.h"
#include "shutdown.h"
#include "ticker.h"
#include "timestamp.h"

/* One round trip for all tickers; each lookup walks records_name_time_idx backwards. */
static const char LATEST_VALUES_SQL[] =
    "SELECT n.name, r.value FROM unnest($1::text[]) AS n(name) "
    "CROSS JOIN LATERAL (SELECT value FROM records WHERE records.name = n.name "
    "ORDER BY time DESC, id DESC LIMIT 1) AS r";

/* Postgres array literal {"ticker_00","ticker_01",...}; names are [A-Za-z0-9_] only. */
static char *names_array(const struct ticker_walk *walk)
{
    size_t count = ticker_walk_count(walk);
    char *text = malloc(count * (TICKER_NAME_MAX + 3) + 3);
    if (text == NULL)
        return NULL;
    size_t used = 0;
    text[used++] = '{';
    for (size_t i = 0; i < count; i++) {
        const char *name = ticker_walk_name_of(walk, i);
        size_t length = strlen(name);
        if (i > 0)
            text[used++] = ',';
        memcpy(text + used, name, length);
        used += length;
    }
    text[used++] = '}';
    text[used] = '\0';
    return text;
}

static size_t index_of(const struct ticker_walk *walk, const char *name)
{
    for (size_t i = 0; i < ticker_walk_count(walk); i++) {
        if (strcmp(ticker_walk_name_of(walk, i), name) == 0)
            return i;
    }
    return (size_t)-1;
}

static int load_latest(PGconn *connection, struct ticker_walk *walk, struct error *err)
{
    char *names = names_array(walk);
    if (names == NULL)
        return error_set(err, "out of memory");
    const char *params[] = {names};
    PGresult *result = PQexecParams(connection, LATEST_VALUES_SQL, 1, NULL, params, NULL, NULL, 0);
    free(names);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        db_error(connection, result, "reading the latest values", err);
        PQclear(result);
        return -1;
    }
    int rows = PQntuples(result);
    for (int row = 0; row < rows; row++) {
        size_t index = index_of(walk, PQgetvalue(result, row, 0));
        if (index != (size_t)-1)
            ticker_walk_set_value(walk, index, (int32_t)strtol(PQgetvalue(result, row, 1), NULL, 10));
    }
    PQclear(result);
    log_info("seeded %d of %zu tickers from records; the others start at 0", rows, ticker_walk_count(walk));
    return 0;
}

struct database_seed {
    struct ticker_walk *walk;
    const char *database_url;
};

static int try_seed_from_database(void *context, struct error *err)
{
    struct database_seed *seed = context;
    PGconn *connection = db_connect(seed->database_url, "tickerflow-producer", err);
    int rc = -1;
    if (connection != NULL && db_check_schema(connection, err) == 0)
        rc = load_latest(connection, seed->walk, err);
    PQfinish(connection);
    return rc;
}

int seed_from_database(struct ticker_walk *walk, const char *database_url, struct error *err)
{
    struct database_seed seed = {walk, database_url};
    return retry_until("seeding from PostgreSQL", try_seed_from_database, &seed, NULL, err);
}

/* ---- the topic's tail ---- */

enum { TAIL_TIMEOUT_MS = 10000 };

/* Where each partition's tail starts: at most `per_partition` messages before its end.
 * Partitions with nothing to read are left out. Returns NULL with err set. */
static rd_kafka_topic_partition_list_t *tail_ranges(rd_kafka_t *consumer, const char *topic, int64_t per_partition,
                                                    struct error *err)
{
    int partitions = kafka_partition_count(consumer, topic, TAIL_TIMEOUT_MS, err);
    if (partitions < 0)
        return NULL;
    rd_kafka_topic_partition_list_t *ranges = rd_kafka_topic_partition_list_new(partitions);
    for (int32_t partition = 0; partition < partitions; partition++) {
        int64_t low, high;
        rd_kafka_resp_err_t code =
            rd_kafka_query_watermark_offsets(consumer, topic, partition, &low, &high, TAIL_TIMEOUT_MS);
        if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
            error_set(err, "reading the end of partition %d: %s", (int)partition, rd_kafka_err2str(code));
            rd_kafka_topic_partition_list_destroy(ranges);
            return NULL;
        }
        if (high > low)
            rd_kafka_topic_partition_list_add(ranges, topic, partition)->offset =
                high - per_partition > low ? high - per_partition : low;
    }
    return ranges;
}

/* Reads every range to the partition's end (librdkafka's end-of-partition event, so a
 * last offset that holds no message, such as a transaction marker, cannot keep us
 * waiting), applying each ticker message to the walk in offset order: the last one wins.
 * Returns the number of tickers found, or -1 with err set. */
static int read_tails(rd_kafka_t *consumer, rd_kafka_topic_partition_list_t *ranges, struct ticker_walk *walk,
                      struct error *err)
{
    rd_kafka_resp_err_t code = rd_kafka_assign(consumer, ranges);
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
        return error_set(err, "assigning the topic's tail: %s", rd_kafka_err2str(code));
    bool *found = calloc(ticker_walk_count(walk), sizeof *found);
    if (found == NULL)
        return error_set(err, "out of memory");
    int remaining = ranges->cnt, tickers_found = 0, skipped = 0, rc = 0;
    int64_t deadline_ms = timestamp_monotonic_ms() + TAIL_TIMEOUT_MS;
    while (remaining > 0) {
        if (shutdown_requested()) {
            rc = error_stopped(err, "reading the topic's tail");
            break;
        }
        if (timestamp_monotonic_ms() > deadline_ms) {
            rc = error_set(err, "timed out while reading the topic's tail (%d partitions left)", remaining);
            break;
        }
        rd_kafka_message_t *message = rd_kafka_consumer_poll(consumer, 100);
        if (message == NULL)
            continue;
        if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* Reported again if more arrives later: count each partition once. */
            rd_kafka_topic_partition_t *range =
                rd_kafka_topic_partition_list_find(ranges, rd_kafka_topic_name(message->rkt), message->partition);
            if (range != NULL && range->opaque == NULL) {
                range->opaque = range; /* done */
                remaining--;
            }
        } else if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            log_warn("reading the topic's tail: %s", rd_kafka_message_errstr(message));
        } else {
            struct ticker ticker;
            size_t index;
            if (ticker_decode(message->payload, message->len, &ticker, NULL) < 0)
                skipped++;
            else if ((index = index_of(walk, ticker.name)) != (size_t)-1) {
                ticker_walk_set_value(walk, index, ticker.value);
                tickers_found += !found[index];
                found[index] = true;
            }
        }
        rd_kafka_message_destroy(message);
    }
    free(found);
    rd_kafka_assign(consumer, NULL);
    if (rc == 0 && skipped > 0)
        log_info("skipped %d messages of the topic's tail that are not ticker messages", skipped);
    return rc == 0 ? tickers_found : -1;
}

static int load_tail(struct ticker_walk *walk, const char *brokers, const char *topic, struct error *err)
{
    const char *properties[] = {
        "client.id", "tickerflow-producer-seed",
        /* librdkafka's assign needs a group id; this reader never joins the group (assign
         * is local) and never commits. */
        "group.id", "tickerflow-producer-seed",
        "enable.auto.commit", "false",
        "enable.partition.eof", "true", /* how read_tails knows a partition is read */
        NULL,
    };
    rd_kafka_t *consumer = kafka_client_new(RD_KAFKA_CONSUMER, brokers, properties, NULL, NULL, err);
    if (consumer == NULL)
        return -1;
    int64_t per_partition = (int64_t)ticker_walk_count(walk) * 4;
    if (per_partition < SEED_TAIL_MESSAGES)
        per_partition = SEED_TAIL_MESSAGES;
    int found = -1;
    rd_kafka_topic_partition_list_t *ranges = tail_ranges(consumer, topic, per_partition, err);
    if (ranges != NULL) {
        found = ranges->cnt > 0 ? read_tails(consumer, ranges, walk, err) : 0;
        rd_kafka_topic_partition_list_destroy(ranges);
    }
    rd_kafka_destroy(consumer);
    if (found < 0)
        return -1;
    log_info("resumed %d of %zu tickers from the last values in topic %s", found, ticker_walk_count(walk), topic);
    return 0;
}

struct topic_seed {
    struct ticker_walk *walk;
    const char *brokers, *topic;
};

static int try_seed_from_topic(void *context, struct error *err)
{
    struct topic_seed *seed = context;
    return load_tail(seed->walk, seed->brokers, seed->topic, err);
}

int seed_from_topic(struct ticker_walk *walk, const char *brokers, const char *topic, struct error *err)
{
    struct topic_seed seed = {walk, brokers, topic};
    return retry_until("reading the topic's tail", try_seed_from_topic, &seed, NULL, err);
}
