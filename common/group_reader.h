/*
 * A member of a Kafka consumer group whose read positions live in PostgreSQL, written in
 * the same transactions as its data (the bridge's records, the aggregator's candles);
 * Kafka's committed offsets are only for monitoring.
 *
 * The reader owns the consumer and the life cycle the two daemons share:
 *   1. partitions arrive paused; the daemon makes room for their state (handlers.assigned);
 *   2. the daemon says where each one resumes, from PostgreSQL (handlers.restore), retried
 *      with backoff while PostgreSQL is away; the reader then seeks there and resumes;
 *   3. messages come out of group_reader_poll; when librdkafka leaves a fetcher asleep with
 *      more on the broker, the reader wakes it (kafka_wake_starved_fetcher), using the
 *      offsets the daemon expects next (handlers.next_offset);
 *   4. when the daemon cannot store, it drops what it holds and calls group_reader_restart:
 *      everything is paused and step 2 runs again;
 *   5. before the partitions go to another member, handlers.revoked stores what it can.
 *
 * Errors the consumer reports are logged here (librdkafka retries them), except one that
 * no retry mends: the topic deleted after the reader was first assigned. Then, and when the
 * daemon cannot hold an assignment (out of memory), group_reader_poll fails with the reason
 * (ERROR_PERMANENT) for the daemon to stop. A topic that does not exist yet is waited for.
 *
 * Everything runs on the daemon's thread: librdkafka calls the rebalance steps (1 and 5)
 * from inside group_reader_poll and group_reader_destroy.
 */
#ifndef TICKERFLOW_GROUP_READER_H
#define TICKERFLOW_GROUP_READER_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "kafka.h"
#include "metrics.h"

struct group_reader;

/* The daemon's side of the life cycle; each handler gets `daemon`. */
struct group_reader_handlers {
    void *daemon;
    /* Step 1: `partitions` (paused) replace any earlier assignment. 0, or -1 when the daemon
     * cannot hold them (out of memory): the process then stops. */
    int (*assigned)(void *daemon, const rd_kafka_topic_partition_list_t *partitions);
    /* Step 5: store what can be stored, then drop all per-partition state. group_reader_resumed
     * is still true here if it was before. */
    void (*revoked)(void *daemon);
    /* Step 2: add each assigned partition to `targets` with the offset it resumes from,
     * read from PostgreSQL. 0, or -1 with err set (retried later; may be called again). */
    int (*restore)(void *daemon, rd_kafka_topic_partition_list_t *targets, struct error *err);
    /* Step 3: the offset of the next message the daemon expects from `partition`, or -1. */
    int64_t (*next_offset)(void *daemon, int32_t partition);
};

struct group_reader_settings {
    struct kafka_group_member member;
    int seek_timeout_ms;         /* for the seeks of step 2 */
    const char *resumes_from;    /* for the log: "the positions stored in PostgreSQL" */
    struct metric *waiting;      /* gauge, 1 while paused until step 2 succeeds */
    struct metric *fetcher_wakes; /* counter of step 3's wake-ups that found partitions behind */
};

/* Joins the group. `settings` and `handlers` are copied (the strings they point to must
 * outlive the reader). Returns NULL with err set. Destroy with group_reader_destroy. */
struct group_reader *group_reader_new(const struct group_reader_settings *settings,
                                      const struct group_reader_handlers *handlers, struct error *err);

/* Serves the group for at most timeout_ms (less while messages flow, to notice a sleeping
 * fetcher) and sets *message to the next message, or NULL: none yet, or still restoring.
 * The caller owns the message: rd_kafka_message_destroy it. Returns 0, or -1 with err set
 * (ERROR_PERMANENT) when the reader cannot go on (see above). */
int group_reader_poll(struct group_reader *reader, int timeout_ms, rd_kafka_message_t **message, struct error *err);

/* True once every assigned partition was restored and resumed (step 2 done). */
bool group_reader_resumed(const struct group_reader *reader);

/* True when the last poll found nothing and no partition was behind the broker's end:
 * everything there is has been read. */
bool group_reader_caught_up(const struct group_reader *reader);

/* Step 4: the daemon dropped what it held; pause every partition and restore again. */
void group_reader_restart(struct group_reader *reader);

/* The consumer, for commits and lag; owned by the reader. */
rd_kafka_t *group_reader_consumer(const struct group_reader *reader);

/* Leaves the group (handlers.revoked runs first while partitions are held), waiting at
 * most GROUP_READER_CLOSE_MS for the broker, and frees the reader. NULL does nothing. */
#define GROUP_READER_CLOSE_MS 3000
void group_reader_destroy(struct group_reader *reader);

#endif
