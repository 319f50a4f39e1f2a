#include "group_reader.h"

#include <stdlib.h>

#include "backoff.h"
#include "log.h"
#include "retry.h"
#include "timestamp.h"

/* While messages flow, an empty poll this long means the local queues ran dry. With batched
 * reads a queue is empty when the poll starts, so every millisecond waited is a millisecond
 * of stall: 5 ms made a ticks drain ~15% slower (docs/benchmarks.md). */
#define STARVED_AFTER_MS 1
/* A seek drops a fetch in flight: not more often than a fetch takes. */
#define WAKE_FETCHER_EVERY_MS 20
/* How long a metadata request may take when a consumer error may mean the topic is gone. */
#define TOPIC_CHECK_TIMEOUT_MS 5000
/* Messages taken from librdkafka's queue at once while they flow: one lock of the queue it
 * shares with the fetcher thread per batch rather than per message (the per-message poll,
 * its lock and the fetcher's wake-ups were a tenth of the aggregator's time). */
#define READ_BATCH 512

struct group_reader {
    struct group_reader_settings settings;
    struct group_reader_handlers handlers;
    rd_kafka_t *consumer;

    int32_t *partitions; /* of the current assignment */
    size_t partition_count;
    bool resumed;        /* false: paused until handlers.restore says where to read */
    int64_t next_restore_ms;
    struct backoff restore_backoff;
    bool flowing;        /* the last poll returned a message */
    bool behind;         /* the broker held more than the daemon had read, at the last look */
    int64_t last_wake_ms;
    bool ever_assigned;  /* the topic existed: an unknown topic now means it was deleted */
    int64_t unknown_topic_reports; /* kafka_unknown_topic_reports() when last looked at */
    bool failed;         /* the reader cannot go on; `failure` says why */
    struct error failure;

    rd_kafka_queue_t *queue;             /* the consumer's queue (owned reference) */
    rd_kafka_message_t *batch[READ_BATCH]; /* taken from the queue, not handed out yet */
    size_t batch_count, batch_next;
    unsigned generation;                 /* +1 at every (re)assignment, revocation and restart */
};

/* Forgets the messages taken but not handed out: after a rebalance or a seek they belong to
 * positions the daemon no longer reads from (librdkafka drops its own queued ones then). */
static void drop_batch(struct group_reader *reader)
{
    while (reader->batch_next < reader->batch_count)
        rd_kafka_message_destroy(reader->batch[reader->batch_next++]);
    reader->batch_count = reader->batch_next = 0;
    reader->generation++;
}

/* ---- rebalances (called by librdkafka from inside a poll or the close) ------------------ */

static void on_assign(struct group_reader *reader, rd_kafka_topic_partition_list_t *partitions)
{
    drop_batch(reader);
    log_info("assigned %d partitions; resuming from %s", partitions->cnt, reader->settings.resumes_from);
    int32_t *ids = realloc(reader->partitions, ((size_t)partitions->cnt + 1) * sizeof *ids);
    if (ids != NULL)
        reader->partitions = ids;
    if (ids == NULL || reader->handlers.assigned(reader->handlers.daemon, partitions) < 0) {
        /* Not assigned: the partitions go back to the group when the daemon stops. */
        error_permanent(&reader->failure, "out of memory taking %d partitions", partitions->cnt);
        reader->failed = true;
        return;
    }
    reader->partition_count = (size_t)partitions->cnt;
    for (int i = 0; i < partitions->cnt; i++)
        ids[i] = partitions->elems[i].partition;
    rd_kafka_assign(reader->consumer, partitions);
    rd_kafka_pause_partitions(reader->consumer, partitions);
    reader->resumed = false;
    reader->ever_assigned = true;
    reader->next_restore_ms = 0;
    metric_set(reader->settings.waiting, 1);
}

static void on_revoke(struct group_reader *reader, rd_kafka_topic_partition_list_t *partitions)
{
    drop_batch(reader);
    log_info("revoked %d partitions", partitions->cnt);
    reader->handlers.revoked(reader->handlers.daemon);
    rd_kafka_assign(reader->consumer, NULL);
    reader->partition_count = 0;
    reader->resumed = false;
    metric_set(reader->settings.waiting, 0); /* nothing assigned: nothing to wait for */
}

static void on_rebalance(rd_kafka_t *consumer, rd_kafka_resp_err_t code, rd_kafka_topic_partition_list_t *partitions,
                         void *opaque)
{
    (void)consumer;
    if (code == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
        on_assign(opaque, partitions);
    else
        on_revoke(opaque, partitions);
}

/* ---- restoring (step 2) ----------------------------------------------------------------- */

static int restore_and_resume(struct group_reader *reader, struct error *err)
{
    drop_batch(reader);
    rd_kafka_topic_partition_list_t *targets = rd_kafka_topic_partition_list_new((int)reader->partition_count + 1);
    int rc = reader->handlers.restore(reader->handlers.daemon, targets, err);
    if (rc == 0)
        rc = kafka_seek_and_resume(reader->consumer, targets, reader->settings.seek_timeout_ms, err);
    if (rc == 0)
        log_info("reading %d partitions from %s", targets->cnt, reader->settings.resumes_from);
    rd_kafka_topic_partition_list_destroy(targets);
    return rc;
}

static void try_restore(struct group_reader *reader, int timeout_ms)
{
    int64_t now_ms = timestamp_monotonic_ms();
    if (now_ms < reader->next_restore_ms) {
        /* Keep serving the group (heartbeats, rebalances) while waiting to retry. */
        rd_kafka_message_t *message = rd_kafka_consumer_poll(reader->consumer, timeout_ms);
        if (message != NULL)
            rd_kafka_message_destroy(message); /* paused: a stray message is read again later */
        return;
    }
    struct error err;
    if (restore_and_resume(reader, &err) == 0) {
        reader->resumed = true;
        /* The first fetch after a seek can wait a second like a starved one (librdkafka
         * 2.0): watch from the start, so the wake-up covers it too. */
        reader->behind = true;
        backoff_reset(&reader->restore_backoff);
        metric_set(reader->settings.waiting, 0);
        return;
    }
    if (err.kind == ERROR_PERMANENT) {
        reader->failure = err;
        error_wrap(&reader->failure, "cannot read %s", reader->settings.resumes_from);
        reader->failed = true;
        return;
    }
    int wait_ms = backoff_next_ms(&reader->restore_backoff);
    log_warn("cannot read %s (retrying in %d ms): %s", reader->settings.resumes_from, wait_ms, err.message);
    reader->next_restore_ms = now_ms + wait_ms;
}

/* ---- reading (step 3) ------------------------------------------------------------------- */

/* A poll found nothing while messages flowed: the fetcher may be asleep with more on the
 * broker (see kafka_wake_starved_fetcher). */
static void wake_starved_fetcher(struct group_reader *reader)
{
    int64_t now_ms = timestamp_monotonic_ms();
    if (now_ms - reader->last_wake_ms < WAKE_FETCHER_EVERY_MS) {
        reader->behind = true; /* not looked yet: keep watching until we do */
        return;
    }
    reader->last_wake_ms = now_ms;
    rd_kafka_topic_partition_list_t *positions = rd_kafka_topic_partition_list_new((int)reader->partition_count + 1);
    for (size_t i = 0; i < reader->partition_count; i++)
        rd_kafka_topic_partition_list_add(positions, reader->settings.member.topic, reader->partitions[i])->offset =
            reader->handlers.next_offset(reader->handlers.daemon, reader->partitions[i]);
    reader->behind = kafka_wake_starved_fetcher(reader->consumer, positions) > 0;
    if (reader->behind)
        metric_add(reader->settings.fetcher_wakes, 1);
    rd_kafka_topic_partition_list_destroy(positions);
}

/* Asks the cluster whether the topic is still there, after librdkafka said a topic was
 * unknown. A topic that existed before and is gone was deleted, which nothing mends. */
static void check_topic(struct group_reader *reader)
{
    struct error err;
    const char *topic = reader->settings.member.topic;
    if (kafka_partition_count(reader->consumer, topic, TOPIC_CHECK_TIMEOUT_MS, &err) >= 0 ||
        err.kind != ERROR_PERMANENT)
        return;
    if (reader->ever_assigned) {
        error_permanent(&reader->failure, "topic %s was deleted while it was being read", topic);
        reader->failed = true;
    } else {
        log_warn("waiting for topic %s to be created", topic);
    }
}

/* An error the consumer reported instead of a message: librdkafka retries what can be
 * retried. */
static void handle_consumer_error(struct group_reader *reader, const rd_kafka_message_t *message)
{
    rd_kafka_resp_err_t code = message->err;
    if (code == RD_KAFKA_RESP_ERR__PARTITION_EOF)
        return;
    log_warn("kafka: %s", rd_kafka_message_errstr(message));
    if (code == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || code == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
        check_topic(reader);
}

/* The next message: from the batch taken, else a new batch of what the queue holds now,
 * else the first to come within wait_ms (a blocking poll, which also serves rebalances). A
 * batch taken while a rebalance ran inside the call is dropped whole: its messages predate
 * the positions the daemon restores. */
static rd_kafka_message_t *next_message(struct group_reader *reader, int wait_ms)
{
    if (reader->batch_next == reader->batch_count) {
        unsigned generation = reader->generation;
        ssize_t count = rd_kafka_consume_batch_queue(reader->queue, 0, reader->batch, READ_BATCH);
        reader->batch_next = 0;
        reader->batch_count = count > 0 ? (size_t)count : 0;
        if (reader->generation != generation)
            drop_batch(reader);
    }
    if (reader->batch_next < reader->batch_count)
        return reader->batch[reader->batch_next++];
    return rd_kafka_consumer_poll(reader->consumer, wait_ms);
}

int group_reader_poll(struct group_reader *reader, int timeout_ms, rd_kafka_message_t **message, struct error *err)
{
    *message = NULL;
    if (!reader->failed && !reader->resumed && reader->partition_count > 0) {
        try_restore(reader, timeout_ms);
    } else if (!reader->failed) {
        /* Behind the broker, or reading: look again soon, and wake the fetcher if it sleeps. */
        bool watching = reader->flowing || reader->behind;
        int wait_ms = watching && timeout_ms > STARVED_AFTER_MS ? STARVED_AFTER_MS : timeout_ms;
        *message = next_message(reader, wait_ms);
        reader->flowing = *message != NULL;
        if (*message == NULL && watching)
            wake_starved_fetcher(reader);
        if (*message != NULL && (*message)->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            handle_consumer_error(reader, *message);
            rd_kafka_message_destroy(*message);
            *message = NULL;
        }
    }
    /* Unknown topics are mostly reported through the error callback, not as messages. */
    int64_t reports = kafka_unknown_topic_reports();
    if (!reader->failed && reports != reader->unknown_topic_reports) {
        reader->unknown_topic_reports = reports;
        check_topic(reader);
    }
    if (!reader->failed)
        return 0;
    if (err != NULL)
        *err = reader->failure;
    return -1;
}

/* ---- the rest of the life cycle --------------------------------------------------------- */

bool group_reader_caught_up(const struct group_reader *reader)
{
    return reader->resumed && !reader->failed && !reader->flowing && !reader->behind;
}

bool group_reader_resumed(const struct group_reader *reader)
{
    return reader->resumed;
}

void group_reader_restart(struct group_reader *reader)
{
    rd_kafka_topic_partition_list_t *assignment = NULL;
    if (rd_kafka_assignment(reader->consumer, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_pause_partitions(reader->consumer, assignment);
        rd_kafka_topic_partition_list_destroy(assignment);
    }
    drop_batch(reader);
    reader->resumed = false;
    metric_set(reader->settings.waiting, 1);
}

rd_kafka_t *group_reader_consumer(const struct group_reader *reader)
{
    return reader->consumer;
}

struct group_reader *group_reader_new(const struct group_reader_settings *settings,
                                      const struct group_reader_handlers *handlers, struct error *err)
{
    struct group_reader *reader = calloc(1, sizeof *reader);
    if (reader == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    reader->settings = *settings;
    reader->handlers = *handlers;
    backoff_init(&reader->restore_backoff, retry_seed());
    reader->consumer = kafka_group_consumer_new(&reader->settings.member, on_rebalance, reader, err);
    if (reader->consumer == NULL) {
        free(reader);
        return NULL;
    }
    reader->queue = rd_kafka_queue_get_consumer(reader->consumer);
    if (reader->queue == NULL) {
        rd_kafka_destroy(reader->consumer);
        free(reader);
        error_set(err, "the consumer has no queue");
        return NULL;
    }
    return reader;
}

void group_reader_destroy(struct group_reader *reader)
{
    if (reader == NULL)
        return;
    drop_batch(reader);
    rd_kafka_queue_destroy(reader->queue);
    kafka_consumer_close(reader->consumer, GROUP_READER_CLOSE_MS, on_rebalance);
    free(reader->partitions);
    free(reader);
}
