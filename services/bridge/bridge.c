#include "bridge.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "group_reader.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "record_batch.h"
#include "record_writer.h"
#include "retry.h"
#include "row_format.h"
#include "store_worker.h"
#include "timestamp.h"

#define REPORT_INTERVAL_MS 60000
#define IDLE_POLL_MS 100
#define COMMITTED_TIMEOUT_MS 10000
/* Rows handed to Postgres at a time while a batch fills (see record_writer_stream). */
#define STREAM_ROWS 1000
/* While the store worker holds a batch, how often to look whether it is done. */
#define COLLECT_EVERY_MS 5

/* Histogram buckets: batch sizes up to bridge.batch_max_rows' bound; latencies around
 * batch_max_wait_ms (100 ms), with room for a slow database. */
static const int64_t BATCH_SIZE_BOUNDS[] = {1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000};
static const int64_t BATCH_LATENCY_BOUNDS[] = {5, 10, 25, 50, 100, 150, 200, 300, 500, 1000, 2500, 5000, 10000};

/* The bridge's counters, served on /metrics and summed up in the log. */
struct bridge_metrics {
    struct metric *stored;       /* rows committed to Postgres */
    struct metric *dead_letters; /* messages stored in dead_letters */
    struct metric *batches;
    struct metric *dropped;      /* messages of failed batches, read again afterwards */
    struct metric *waiting;      /* 1 while paused until Postgres says where to resume */
    struct metric *fetcher_wakes; /* see kafka_wake_starved_fetcher */
    struct metric *lag;           /* messages in Kafka beyond what is stored */
    struct metric *batch_messages;   /* histogram: messages per batch stored */
    struct metric *batch_latency_ms; /* histogram: from a batch's first message arriving to its commit */
};

/* What the last report showed, to log the differences. */
struct totals {
    int64_t stored, dead_letters, batches, dropped;
};

/* What this bridge knows of one assigned partition. */
struct position {
    int32_t partition;
    int64_t stored;   /* next offset according to bridge_offsets, or RECORD_WRITER_NO_OFFSET */
    int64_t expected; /* offset of the next message to accept, -1 to accept the first that comes */
};

/* A batch and the connection its rows stream to. The bridge has two, used in turn:
 * messages go to one while the store worker commits the other. */
struct lane {
    struct record_batch *batch;
    struct record_writer *writer;
    int64_t started_ms;    /* when the first message of the batch arrived */
    int64_t submitted_ms;  /* when it went to the store worker */
    int64_t *expected;     /* the stored offsets of its partitions, as the store expects them */
    size_t refused_before; /* its dead letters when submitted: more afterwards are refused rows */
};

struct bridge {
    const struct bridge_settings *settings;
    const struct row_format *format; /* what the topic's messages become */
    struct group_reader *reader;
    struct lane lanes[2];
    struct lane *filling;  /* the lane new messages go to */
    struct lane *storing;  /* the lane the store worker holds, NULL when it holds none */
    struct store_worker *worker;

    struct position *positions; /* of the current assignment */
    size_t position_count;

    struct bridge_metrics metrics;
    struct totals reported;
    int64_t last_report_ms;
};

static struct position *position_of(struct bridge *bridge, int32_t partition)
{
    for (size_t i = 0; i < bridge->position_count; i++) {
        if (bridge->positions[i].partition == partition)
            return &bridge->positions[i];
    }
    return NULL;
}

/* Kafka's committed offsets follow Postgres, for lag monitoring only. */
static void commit_to_kafka(struct bridge *bridge, const struct record_batch *batch)
{
    size_t count;
    const struct record_batch_offset *offsets = record_batch_offsets(batch, &count);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)count);
    for (size_t i = 0; i < count; i++)
        rd_kafka_topic_partition_list_add(list, bridge->settings->shared.kafka_topic, offsets[i].partition)->offset =
            offsets[i].next_offset;
    rd_kafka_commit(group_reader_consumer(bridge->reader), list, 1);
    rd_kafka_topic_partition_list_destroy(list);
}

/* Drops a lane's batch: nothing of it is stored; its messages will be read again. */
static void drop_lane(struct bridge *bridge, struct lane *lane)
{
    metric_add(bridge->metrics.dropped, (int64_t)record_batch_messages(lane->batch));
    record_writer_abandon(lane->writer);
    record_batch_clear(lane->batch);
}

static void drop_both_lanes(struct bridge *bridge)
{
    drop_lane(bridge, &bridge->lanes[0]);
    drop_lane(bridge, &bridge->lanes[1]);
}

/* Hands the filling batch to the store worker, with the offsets its partitions have in
 * Postgres (the previous batch is collected by now), and starts filling the other lane.
 * Only while the worker holds nothing. */
static int submit_filling(struct bridge *bridge, struct error *err)
{
    struct lane *lane = bridge->filling;
    size_t count;
    const struct record_batch_offset *offsets = record_batch_offsets(lane->batch, &count);
    int64_t *expected = realloc(lane->expected, (count + 1) * sizeof *expected);
    if (expected == NULL)
        return error_set(err, "out of memory");
    lane->expected = expected;
    for (size_t i = 0; i < count; i++) {
        struct position *position = position_of(bridge, offsets[i].partition);
        expected[i] = position != NULL ? position->stored : RECORD_WRITER_NO_OFFSET;
    }
    lane->refused_before = record_batch_dead_letters(lane->batch);
    lane->submitted_ms = timestamp_monotonic_ms();
    store_worker_submit(bridge->worker, lane->writer, lane->batch, bridge->settings->shared.kafka_topic, expected);
    bridge->storing = lane;
    bridge->filling = lane == &bridge->lanes[0] ? &bridge->lanes[1] : &bridge->lanes[0];
    return 0;
}

/* Counts a committed batch, moves the positions on and empties its lane. */
static void account_stored(struct bridge *bridge, struct lane *lane, int64_t store_ms)
{
    struct record_batch *batch = lane->batch;
    log_debug("stored %zu messages: batch filled in %" PRId64 " ms, written in %" PRId64 " ms (%" PRId64
              " ms after it was filled)",
              record_batch_messages(batch), lane->submitted_ms - lane->started_ms, store_ms,
              timestamp_monotonic_ms() - lane->submitted_ms);
    size_t count;
    const struct record_batch_offset *offsets = record_batch_offsets(batch, &count);
    size_t refused_rows = record_batch_dead_letters(batch) - lane->refused_before;
    metric_add(bridge->metrics.stored, (int64_t)(record_batch_rows(batch) - refused_rows));
    metric_add(bridge->metrics.dead_letters, (int64_t)record_batch_dead_letters(batch));
    metric_add(bridge->metrics.batches, 1);
    for (size_t i = 0; i < count; i++) {
        struct position *position = position_of(bridge, offsets[i].partition);
        if (position != NULL)
            position->stored = offsets[i].next_offset;
    }
    metric_observe(bridge->metrics.batch_messages, (int64_t)record_batch_messages(batch));
    metric_observe(bridge->metrics.batch_latency_ms, timestamp_monotonic_ms() - lane->started_ms);
    rd_kafka_topic_partition_list_t *stored = rd_kafka_topic_partition_list_new((int)bridge->position_count + 1);
    for (size_t i = 0; i < bridge->position_count; i++)
        rd_kafka_topic_partition_list_add(stored, bridge->settings->shared.kafka_topic, bridge->positions[i].partition)
            ->offset = bridge->positions[i].stored;
    metric_set(bridge->metrics.lag, kafka_lag(group_reader_consumer(bridge->reader), stored));
    rd_kafka_topic_partition_list_destroy(stored);
    commit_to_kafka(bridge, batch);
    record_batch_clear(batch);
}

/* Waits for the batch the store worker holds, if any. On failure the batch stays in its
 * lane, for forget_positions to drop. */
static int collect_stored(struct bridge *bridge, struct error *err)
{
    struct lane *lane = bridge->storing;
    if (lane == NULL)
        return 0;
    int64_t store_ms;
    int rc = store_worker_collect(bridge->worker, &store_ms, err);
    bridge->storing = NULL;
    if (rc < 0) {
        log_warn("batch of %zu messages not stored (%s); pausing until PostgreSQL says where to resume",
                 record_batch_messages(lane->batch), err->message);
        return -1;
    }
    account_stored(bridge, lane, store_ms);
    return 0;
}

/* Stores the batch in the worker and then the filling one, waiting for both. */
static int store_everything(struct bridge *bridge, struct error *err)
{
    if (collect_stored(bridge, err) < 0)
        return -1;
    if (record_batch_messages(bridge->filling->batch) == 0)
        return 0;
    if (submit_filling(bridge, err) < 0)
        return -1;
    return collect_stored(bridge, err);
}

/* Drops every lane's batch (once the worker is done with its own) and stops consuming until
 * resolve_positions has read where to resume from Postgres. */
static void forget_positions(struct bridge *bridge)
{
    struct error err;
    collect_stored(bridge, &err); /* stored or not, Postgres will tell */
    drop_both_lanes(bridge);
    group_reader_restart(bridge->reader);
}

/* ---- the group reader's handlers (see group_reader.h) ---------------------------------- */

static int on_assigned(void *daemon, const rd_kafka_topic_partition_list_t *partitions)
{
    struct bridge *bridge = daemon;
    struct position *positions = realloc(bridge->positions, ((size_t)partitions->cnt + 1) * sizeof *positions);
    if (positions == NULL)
        return -1;
    bridge->positions = positions;
    bridge->position_count = (size_t)partitions->cnt;
    for (int i = 0; i < partitions->cnt; i++)
        positions[i] = (struct position){partitions->elems[i].partition, RECORD_WRITER_NO_OFFSET, -1};
    return 0;
}

static void on_revoked(void *daemon)
{
    /* Store what we hold before another bridge takes over; if that fails, the batch is
     * dropped and the next owner reads it from the offsets in Postgres. */
    struct bridge *bridge = daemon;
    struct error err;
    if (group_reader_resumed(bridge->reader) && store_everything(bridge, &err) < 0)
        log_warn("could not store the batches before the rebalance (%s); the next owner reads them again",
                 err.message);
    drop_both_lanes(bridge); /* what could not be stored */
    bridge->position_count = 0;
}

static int64_t next_offset(void *daemon, int32_t partition)
{
    struct position *position = position_of(daemon, partition);
    return position != NULL ? position->expected : -1;
}

/* The seek target of each assigned partition: its offset in Postgres; without one, the
 * group's committed offset in Kafka; without that, the first offset the broker holds.
 * Always a real offset, never "beginning": the bridge then knows where every partition
 * stands before its first message, and the fetcher wake-up (group_reader.c) can restart any of them (a
 * partition that had delivered nothing was left out, and a backlog in a fresh database
 * drained with one-second stalls, partitions one after another). */
static int choose_targets(struct bridge *bridge, rd_kafka_topic_partition_list_t *targets, struct error *err)
{
    struct stored_offset *stored = NULL;
    size_t stored_count = 0;
    if (record_writer_load_offsets(bridge->filling->writer, bridge->settings->shared.kafka_topic, &stored,
                                   &stored_count, err) < 0)
        return -1;
    rd_kafka_topic_partition_list_t *unknown = rd_kafka_topic_partition_list_new(1);
    for (size_t i = 0; i < bridge->position_count; i++) {
        struct position *position = &bridge->positions[i];
        position->stored = RECORD_WRITER_NO_OFFSET;
        for (size_t j = 0; j < stored_count; j++) {
            if (stored[j].partition == position->partition)
                position->stored = stored[j].next_offset;
        }
        position->expected = position->stored;
        if (position->stored == RECORD_WRITER_NO_OFFSET)
            rd_kafka_topic_partition_list_add(unknown, bridge->settings->shared.kafka_topic, position->partition);
        rd_kafka_topic_partition_list_add(targets, bridge->settings->shared.kafka_topic, position->partition)->offset =
            position->stored;
    }
    free(stored);

    rd_kafka_t *consumer = group_reader_consumer(bridge->reader);
    int rc = 0;
    if (unknown->cnt > 0) {
        rd_kafka_resp_err_t code = rd_kafka_committed(consumer, unknown, COMMITTED_TIMEOUT_MS);
        if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
            rc = error_set(err, "reading committed offsets from Kafka: %s", rd_kafka_err2str(code));
        for (int i = 0; rc == 0 && i < unknown->cnt; i++) {
            rd_kafka_topic_partition_t *target =
                rd_kafka_topic_partition_list_find(targets, unknown->elems[i].topic, unknown->elems[i].partition);
            target->offset = unknown->elems[i].offset;
            if (target->offset < 0)
                rc = kafka_first_offset(consumer, bridge->settings->shared.kafka_topic, target->partition,
                                        COMMITTED_TIMEOUT_MS, &target->offset, err);
            position_of(bridge, target->partition)->expected = target->offset;
        }
    }
    rd_kafka_topic_partition_list_destroy(unknown);
    return rc;
}

/* Says where every assigned partition resumes: the offsets stored in Postgres. */
static int restore(void *daemon, rd_kafka_topic_partition_list_t *targets, struct error *err)
{
    struct bridge *bridge = daemon;
    if (choose_targets(bridge, targets, err) < 0)
        return -1;
    for (size_t i = 0; i < bridge->position_count; i++)
        log_debug("partition %d resumes at %" PRId64 " (stored in PostgreSQL: %" PRId64 ")",
                  bridge->positions[i].partition, bridge->positions[i].expected, bridge->positions[i].stored);
    return 0;
}

static struct group_reader *open_reader(struct bridge *bridge, struct error *err)
{
    const struct group_reader_settings settings = {
        .member = {
            .brokers = bridge->settings->shared.kafka_brokers,
            .topic = bridge->settings->shared.kafka_topic,
            .client_id = "tickerflow-bridge",
            .group = &bridge->settings->group,
            .message_bytes = bridge->format->message_bytes,
        },
        .seek_timeout_ms = COMMITTED_TIMEOUT_MS,
        .resumes_from = "the positions stored in PostgreSQL",
        .waiting = bridge->metrics.waiting,
        .fetcher_wakes = bridge->metrics.fetcher_wakes,
    };
    const struct group_reader_handlers handlers = {bridge, on_assigned, on_revoked, restore, next_offset};
    return group_reader_new(&settings, &handlers, err);
}

static int connect_lanes(void *context, struct error *err)
{
    struct bridge *bridge = context;
    for (size_t i = 0; i < 2; i++) {
        if (record_writer_connect(bridge->lanes[i].writer, err) < 0)
            return -1;
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
    bridge->format = row_format_of(settings->kind);
    bridge->last_report_ms = timestamp_monotonic_ms();
    bridge->metrics = (struct bridge_metrics){
        .stored = metrics_counter("tickerflow_bridge_rows_stored_total", "Rows committed (to records, or trades)"),
        .dead_letters = metrics_counter("tickerflow_bridge_dead_letters_total",
                                        "Messages stored in dead_letters (malformed, or refused by PostgreSQL)"),
        .batches = metrics_counter("tickerflow_bridge_batches_total", "Transactions committed"),
        .dropped = metrics_counter("tickerflow_bridge_messages_reread_total",
                                   "Messages of batches that failed to commit and are read again"),
        .waiting = metrics_gauge("tickerflow_bridge_waiting_for_database",
                                 "1 while consumption is paused until PostgreSQL answers"),
        .fetcher_wakes = metrics_counter("tickerflow_bridge_fetcher_wakes_total",
                                         "Seeks that restarted fetching of partitions librdkafka left idle"),
        .lag = metrics_gauge("tickerflow_bridge_lag_messages",
                             "Messages in Kafka not yet stored, over the assigned partitions (at the last commit)"),
        .batch_messages = metrics_histogram("tickerflow_bridge_batch_messages", "Messages per batch stored",
                                            BATCH_SIZE_BOUNDS, sizeof BATCH_SIZE_BOUNDS / sizeof BATCH_SIZE_BOUNDS[0]),
        .batch_latency_ms = metrics_histogram_ms("tickerflow_bridge_batch_latency_seconds",
                                              "From the arrival of a batch's first message to its commit",
                                              BATCH_LATENCY_BOUNDS,
                                              sizeof BATCH_LATENCY_BOUNDS / sizeof BATCH_LATENCY_BOUNDS[0]),
    };
    bridge->filling = &bridge->lanes[0];
    for (size_t i = 0; i < 2; i++) {
        if ((bridge->lanes[i].batch = record_batch_new(err)) == NULL ||
            (bridge->lanes[i].writer = record_writer_new(settings->shared.database_url, bridge->format, err)) == NULL)
            goto fail;
    }
    if ((bridge->worker = store_worker_start(err)) == NULL)
        goto fail;
    /* Both connections now, so a bad URL or password shows at start. */
    if (retry_until("connecting to PostgreSQL", connect_lanes, bridge, NULL, err) < 0)
        goto fail;
    if ((bridge->reader = open_reader(bridge, err)) == NULL)
        goto fail;
    return bridge;

fail:
    bridge_close(bridge);
    return NULL;
}

/* Accepts the message if it is the next one of its partition; drops what was fetched
 * before a seek (older than expected). */
static bool is_next(struct bridge *bridge, const rd_kafka_message_t *message)
{
    struct position *position = position_of(bridge, message->partition);
    if (position == NULL)
        return false;
    if (position->expected >= 0 && message->offset < position->expected)
        return false;
    position->expected = message->offset + 1;
    return true;
}

/* Batches one message. Returns -1 with err set when it cannot: out of memory (permanent:
 * the bridge stops, and the message is read again by the next start) or a failed stream
 * to PostgreSQL (the batch is dropped and read again). */
static int handle_message(struct bridge *bridge, const rd_kafka_message_t *message, struct error *err)
{
    if (!group_reader_resumed(bridge->reader) || !is_next(bridge, message))
        return 0;
    struct lane *lane = bridge->filling;
    if (record_batch_messages(lane->batch) == 0)
        lane->started_ms = timestamp_monotonic_ms();

    rd_kafka_timestamp_type_t timestamp_type;
    int64_t timestamp_ms = rd_kafka_message_timestamp(message, &timestamp_type);
    struct record_origin origin = {message->partition, message->offset, timestamp_ms, message->payload, message->len};
    char row[ROW_FORMAT_ROW_MAX];
    int row_length = bridge->format->encode_row(message->payload, message->len, message->partition, message->offset, row, err);
    int rc;
    bool added_row = false;
    if (row_length >= 0) {
        rc = record_batch_add_row(lane->batch, row, (size_t)row_length, &origin, err);
        added_row = rc == 0;
    } else {
        log_warn("dead-lettered malformed message at %s/%" PRId32 "@%" PRId64 ": %s",
                 rd_kafka_topic_name(message->rkt), message->partition, message->offset, err->message);
        rc = record_batch_reject(lane->batch, &origin, err->message, err);
    }
    if (rc < 0) {
        error_wrap(err, "cannot batch the message at %" PRId32 "@%" PRId64, message->partition, message->offset);
        return error_make_permanent(err);
    }
    /* Hand rows to Postgres while the batch fills, so it inserts while we decode. */
    if (added_row && record_batch_rows(lane->batch) % STREAM_ROWS == 0 &&
        record_writer_stream(lane->writer, lane->batch, err) < 0) {
        log_warn("batch of %zu messages not stored (%s); pausing until PostgreSQL says where to resume",
                 record_batch_messages(lane->batch), err->message);
        forget_positions(bridge);
        return -1;
    }
    return 0;
}

/* After a failed write: drops what is held and reads the positions again; a failure no
 * retry mends (the bridge's role lost a privilege, a table is gone) stops the bridge. */
static int recover_from(struct bridge *bridge, const struct error *failure, struct error *err)
{
    forget_positions(bridge);
    if (failure->kind != ERROR_PERMANENT)
        return 0;
    *err = *failure;
    return -1;
}

int bridge_poll(struct bridge *bridge, int timeout_ms, struct error *err)
{
    struct error failure;
    if (bridge->storing != NULL && store_worker_finished(bridge->worker) && collect_stored(bridge, &failure) < 0)
        return recover_from(bridge, &failure, err);
    if (bridge->storing != NULL && timeout_ms > COLLECT_EVERY_MS)
        timeout_ms = COLLECT_EVERY_MS;
    rd_kafka_message_t *message;
    if (group_reader_poll(bridge->reader, timeout_ms, &message, err) < 0)
        return -1;
    if (message == NULL)
        return 0;
    int rc = handle_message(bridge, message, &failure);
    rd_kafka_message_destroy(message);
    if (rc < 0 && failure.kind == ERROR_PERMANENT) {
        *err = failure;
        return -1;
    }
    return 0;
}

int bridge_time_to_flush_ms(const struct bridge *bridge)
{
    const struct lane *lane = bridge->filling;
    size_t messages = record_batch_messages(lane->batch);
    if (messages == 0)
        return IDLE_POLL_MS;
    if (messages >= (size_t)bridge->settings->batch_max_rows)
        return 0;
    int64_t due_ms = lane->started_ms + bridge->settings->batch_max_wait_ms - timestamp_monotonic_ms();
    return due_ms > 0 ? (int)due_ms : 0;
}

int bridge_flush(struct bridge *bridge, struct error *err)
{
    struct error failure;
    if (record_batch_messages(bridge->filling->batch) == 0)
        return 0;
    /* The previous batch first (waiting, if Postgres is the slower): this one's expected
     * offsets are those it stores. */
    if (collect_stored(bridge, &failure) < 0)
        return recover_from(bridge, &failure, err);
    if (submit_filling(bridge, &failure) < 0) {
        log_warn("batch of %zu messages not stored (%s); pausing until PostgreSQL says where to resume",
                 record_batch_messages(bridge->filling->batch), failure.message);
        return recover_from(bridge, &failure, err);
    }
    return 0;
}

static struct totals current_totals(const struct bridge *bridge)
{
    return (struct totals){metric_value(bridge->metrics.stored), metric_value(bridge->metrics.dead_letters),
                           metric_value(bridge->metrics.batches), metric_value(bridge->metrics.dropped)};
}

void bridge_report(struct bridge *bridge)
{
    int64_t now_ms = timestamp_monotonic_ms();
    if (now_ms - bridge->last_report_ms < REPORT_INTERVAL_MS)
        return;
    struct totals t = current_totals(bridge), *r = &bridge->reported;
    if (t.batches != r->batches || t.dropped != r->dropped)
        log_info("last minute: stored %" PRId64 " rows and %" PRId64 " dead letters in %" PRId64
                 " batches (since start: %" PRId64 " rows, %" PRId64 " dead letters)",
                 t.stored - r->stored, t.dead_letters - r->dead_letters, t.batches - r->batches, t.stored,
                 t.dead_letters);
    bridge->reported = t;
    bridge->last_report_ms = now_ms;
}

bool bridge_is_healthy(const struct bridge *bridge, char *reason, size_t size)
{
    if (metric_value(bridge->metrics.waiting) == 0)
        return true;
    snprintf(reason, size, "paused: waiting for PostgreSQL to say where to resume");
    return false;
}

void bridge_close(struct bridge *bridge)
{
    if (bridge == NULL)
        return;
    if (bridge->reader != NULL) {
        struct error err;
        if (group_reader_resumed(bridge->reader) && store_everything(bridge, &err) < 0)
            log_warn("last batches not stored (%s); they will be read again", err.message);
        group_reader_destroy(bridge->reader);
        struct totals t = current_totals(bridge);
        log_info("stored %" PRId64 " rows and %" PRId64 " dead letters in %" PRId64 " batches", t.stored,
                 t.dead_letters, t.batches);
    }
    store_worker_stop(bridge->worker); /* waits for a batch it still holds */
    for (size_t i = 0; i < 2; i++) {
        record_writer_destroy(bridge->lanes[i].writer);
        record_batch_destroy(bridge->lanes[i].batch);
        free(bridge->lanes[i].expected);
    }
    free(bridge->positions);
    free(bridge);
}
