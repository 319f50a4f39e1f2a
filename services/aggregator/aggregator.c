#include "aggregator.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "book_kind.h"
#include "candle_store.h"
#include "group_reader.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "retry.h"
#include "timestamp.h"

#define WINDOW_LENGTH_US 60000000LL /* one-minute candles of either kind */
#define REPORT_INTERVAL_MS 60000
#define IDLE_POLL_MS 100
#define WATERMARK_TIMEOUT_MS 10000
/* Caught up with the broker with at least this many messages not checkpointed (the end of a
 * backlog): checkpoint now rather than at the interval's end. Live traffic never gathers so
 * many within an interval, so it keeps one transaction per interval. */
#define CAUGHT_UP_CHECKPOINT_MESSAGES 10000

struct aggregator_metrics {
    struct metric *ticks;       /* applied to a window */
    struct metric *late;        /* too late: their minute no longer takes corrections */
    struct metric *over_limit;  /* refused at max_tickers or max_held_ticks */
    struct metric *rejected;    /* malformed, or dated too far ahead */
    struct metric *ahead;       /* dated past the clock: held without moving the watermark past it */
    struct metric *candles;     /* candle rows written (first writes and corrections) */
    struct metric *checkpoints;
    struct metric *windows;     /* held in memory */
    struct metric *watermark_delay_ms;
    struct metric *waiting;
    struct metric *fetcher_wakes;
    struct metric *lag;         /* messages in Kafka beyond the last checkpoint */
    struct metric *checkpoint_ms; /* histogram: how long each checkpoint's transaction took */
};

static const int64_t CHECKPOINT_BOUNDS[] = {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000};

struct totals {
    int64_t ticks, late, rejected, candles, checkpoints;
};

/* What this aggregator holds of one assigned partition. */
struct partition_state {
    int32_t partition;
    void *book;               /* of the aggregator's kind; NULL until restored from Postgres */
    int64_t saved_next;       /* next offset in aggregator_offsets, or CANDLE_STORE_NO_OFFSET */
    int64_t next;             /* the next offset to accept; -1 accepts the first that comes */
    int64_t replayed_until;   /* below this, messages were counted before the restore: don't count again */
    bool changed;             /* read messages (or went idle) since the last checkpoint */
    int64_t last_message_ms;  /* monotonic time of its last message; 0 before the first */
    int64_t newest_at_last_us; /* the book's newest event time then */
};

struct aggregator {
    const struct aggregator_settings *settings;
    const struct book_kind *kind;
    struct window_rules rules;
    struct group_reader *reader;
    struct candle_store *store;

    struct partition_state *partitions; /* of the current assignment */
    size_t partition_count;
    int64_t checkpoint_due_ms; /* 0: nothing to checkpoint */
    /* The clock, read once per poll (every message read the clock several times: an eighth of
     * the aggregator's time per trade), and the wall clock as an offset from it, set again at
     * every checkpoint. */
    int64_t now_ms;
    int64_t wall_offset_us;
    int64_t unsaved_messages;  /* read since the last checkpoint */

    struct aggregator_metrics metrics;
    struct totals reported;
    int64_t last_report_ms;
};

static struct partition_state *state_of(struct aggregator *aggregator, int32_t partition)
{
    for (size_t i = 0; i < aggregator->partition_count; i++) {
        if (aggregator->partitions[i].partition == partition)
            return &aggregator->partitions[i];
    }
    return NULL;
}

static void drop_books(struct aggregator *aggregator)
{
    for (size_t i = 0; i < aggregator->partition_count; i++) {
        if (aggregator->partitions[i].book != NULL)
            aggregator->kind->destroy(aggregator->partitions[i].book);
        aggregator->partitions[i].book = NULL;
        aggregator->partitions[i].changed = false;
    }
    if (aggregator->store != NULL)
        candle_store_discard(aggregator->store);
    aggregator->checkpoint_due_ms = 0;
    aggregator->unsaved_messages = 0;
}

/* Drops what is in memory and stops consuming until resolve_positions has restored it. */
static void forget_positions(struct aggregator *aggregator)
{
    drop_books(aggregator);
    group_reader_restart(aggregator->reader);
}

/* ---- checkpoints ------------------------------------------------------------------------ */

/* Adds every changed partition's candles, anchors and position to the checkpoint. */
static int build_checkpoint(struct aggregator *aggregator, struct error *err)
{
    for (size_t i = 0; i < aggregator->partition_count; i++) {
        struct partition_state *state = &aggregator->partitions[i];
        if (!state->changed)
            continue;
        const struct book_kind *kind = aggregator->kind;
        if (kind->flush(state->book, aggregator->store, state->partition, err) != 0)
            return -1;
        struct saved_partition saved = {state->partition, state->next, kind->replay_offset(state->book, state->next),
                                        kind->newest_us(state->book)};
        if (candle_store_add_partition(aggregator->store, state->partition, state->saved_next, &saved, err) < 0)
            return -1;
    }
    return 0;
}

/* Kafka's committed offsets follow Postgres, for lag monitoring only. */
static void commit_to_kafka(struct aggregator *aggregator)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)aggregator->partition_count + 1);
    for (size_t i = 0; i < aggregator->partition_count; i++) {
        if (aggregator->partitions[i].saved_next >= 0)
            rd_kafka_topic_partition_list_add(list, aggregator->settings->shared.kafka_topic,
                                              aggregator->partitions[i].partition)
                ->offset = aggregator->partitions[i].saved_next;
    }
    if (list->cnt > 0)
        rd_kafka_commit(group_reader_consumer(aggregator->reader), list, 1);
    rd_kafka_topic_partition_list_destroy(list);
}

/* After a commit: the saved offsets moved, and the gauges show the books' state. */
static void account_checkpoint(struct aggregator *aggregator, size_t candles)
{
    int64_t windows = 0, oldest_watermark = WINDOW_BOOK_NO_TIME;
    for (size_t i = 0; i < aggregator->partition_count; i++) {
        struct partition_state *state = &aggregator->partitions[i];
        if (state->changed)
            state->saved_next = state->next;
        state->changed = false;
        if (state->book == NULL)
            continue;
        windows += (int64_t)aggregator->kind->windows(state->book);
        int64_t watermark = aggregator->kind->watermark_us(state->book);
        if (watermark != WINDOW_BOOK_NO_TIME &&
            (oldest_watermark == WINDOW_BOOK_NO_TIME || watermark < oldest_watermark))
            oldest_watermark = watermark;
    }
    rd_kafka_topic_partition_list_t *saved = rd_kafka_topic_partition_list_new((int)aggregator->partition_count + 1);
    for (size_t i = 0; i < aggregator->partition_count; i++)
        rd_kafka_topic_partition_list_add(saved, aggregator->settings->shared.kafka_topic,
                                          aggregator->partitions[i].partition)
            ->offset = aggregator->partitions[i].saved_next;
    metric_set(aggregator->metrics.lag, kafka_lag(group_reader_consumer(aggregator->reader), saved));
    rd_kafka_topic_partition_list_destroy(saved);
    metric_add(aggregator->metrics.candles, (int64_t)candles);
    metric_add(aggregator->metrics.checkpoints, 1);
    metric_set(aggregator->metrics.windows, windows);
    aggregator->wall_offset_us = timestamp_now_us() - timestamp_monotonic_ms() * 1000;
    aggregator->unsaved_messages = 0;
    if (oldest_watermark != WINDOW_BOOK_NO_TIME)
        metric_set(aggregator->metrics.watermark_delay_ms, (timestamp_now_us() - oldest_watermark) / 1000);
    commit_to_kafka(aggregator);
}

/* Returns 0 when committed (or when nothing was read since the last checkpoint). */
static int checkpoint(struct aggregator *aggregator, struct error *err)
{
    aggregator->checkpoint_due_ms = 0;
    bool changed = false;
    for (size_t i = 0; i < aggregator->partition_count; i++)
        changed = changed || aggregator->partitions[i].changed;
    if (!group_reader_resumed(aggregator->reader) || !changed)
        return 0;
    if (build_checkpoint(aggregator, err) < 0)
        return -1;
    size_t candles = candle_store_pending_candles(aggregator->store);
    int64_t started_ms = timestamp_monotonic_ms();
    if (candle_store_save(aggregator->store, err) != 0)
        return -1;
    int64_t took_ms = timestamp_monotonic_ms() - started_ms;
    log_debug("checkpoint: %zu candles in %" PRId64 " ms", candles, took_ms);
    metric_observe(aggregator->metrics.checkpoint_ms, took_ms);
    account_checkpoint(aggregator, candles);
    return 0;
}

int aggregator_time_to_checkpoint_ms(const struct aggregator *aggregator)
{
    if (aggregator->checkpoint_due_ms == 0)
        return IDLE_POLL_MS;
    int64_t due_ms = aggregator->checkpoint_due_ms - aggregator->now_ms;
    return due_ms > 0 ? (int)due_ms : 0;
}

int aggregator_checkpoint(struct aggregator *aggregator, struct error *err)
{
    struct error failure;
    if (checkpoint(aggregator, &failure) == 0)
        return 0;
    log_warn("checkpoint not stored (%s); restoring the state saved in PostgreSQL", failure.message);
    forget_positions(aggregator);
    if (failure.kind != ERROR_PERMANENT)
        return 0;
    *err = failure; /* the aggregator's role may not write, a table is gone: retrying cannot help */
    return -1;
}

/* ---- assignment ------------------------------------------------------------------------- */

static int on_assigned(void *daemon, const rd_kafka_topic_partition_list_t *partitions)
{
    struct aggregator *aggregator = daemon;
    struct partition_state *states = calloc((size_t)partitions->cnt + 1, sizeof *states);
    if (states == NULL)
        return -1;
    drop_books(aggregator);
    free(aggregator->partitions);
    aggregator->partitions = states;
    aggregator->partition_count = (size_t)partitions->cnt;
    for (int i = 0; i < partitions->cnt; i++)
        states[i] = (struct partition_state){.partition = partitions->elems[i].partition,
                                            .saved_next = CANDLE_STORE_NO_OFFSET, .next = -1,
                                            .newest_at_last_us = WINDOW_BOOK_NO_TIME};
    return 0;
}

static void on_revoked(void *daemon)
{
    /* Save what we hold before another aggregator takes over; if that fails, the next
     * owner replays it from the state in Postgres. */
    struct aggregator *aggregator = daemon;
    struct error err;
    if (checkpoint(aggregator, &err) < 0)
        log_warn("could not checkpoint before the rebalance (%s); the next owner reads again from the last one",
                 err.message);
    drop_books(aggregator);
    aggregator->partition_count = 0;
}

static int64_t next_offset(void *daemon, int32_t partition)
{
    struct partition_state *state = state_of(daemon, partition);
    return state != NULL ? state->next : -1;
}

/* ---- restoring -------------------------------------------------------------------------- */

/* Rebuilds a partition's book from its saved state and says where to read from. */
static int restore_partition(struct aggregator *aggregator, struct partition_state *state,
                             const struct saved_partition *saved, const struct saved_anchor *anchors,
                             size_t anchor_count, int64_t *target, struct error *err)
{
    if ((state->book = aggregator->kind->create(&aggregator->rules, err)) == NULL)
        return -1;
    state->saved_next = saved->next_offset;
    if (saved->next_offset == CANDLE_STORE_NO_OFFSET) {
        /* Never aggregated: from the first message the broker still holds. */
        rd_kafka_t *consumer = group_reader_consumer(aggregator->reader);
        if (kafka_first_offset(consumer, aggregator->settings->shared.kafka_topic, state->partition,
                               WATERMARK_TIMEOUT_MS, target, err) < 0)
            return -1;
        state->replayed_until = *target;
    } else {
        aggregator->kind->advance_newest(state->book, saved->newest_us);
        for (size_t i = 0; i < anchor_count; i++) {
            if (anchors[i].partition == state->partition &&
                aggregator->kind->restore_anchor(state->book, &anchors[i], err) < 0)
                return -1;
        }
        *target = saved->replay_offset;
        state->replayed_until = saved->next_offset;
    }
    state->next = *target;
    state->changed = false;
    state->last_message_ms = 0;
    state->newest_at_last_us = WINDOW_BOOK_NO_TIME;
    log_debug("partition %d resumes at %" PRId64 " (saved next offset %" PRId64 ")", (int)state->partition,
              *target, saved->next_offset);
    return 0;
}

static int choose_targets(struct aggregator *aggregator, rd_kafka_topic_partition_list_t *targets,
                          struct error *err)
{
    size_t count = aggregator->partition_count;
    int32_t *partitions = calloc(count + 1, sizeof *partitions);
    struct saved_partition *saved = calloc(count + 1, sizeof *saved);
    struct saved_anchor *anchors = NULL;
    size_t anchor_count = 0;
    int rc = partitions != NULL && saved != NULL ? 0 : error_set(err, "out of memory");
    for (size_t i = 0; rc == 0 && i < count; i++)
        partitions[i] = aggregator->partitions[i].partition;
    if (rc == 0)
        rc = candle_store_load(aggregator->store, partitions, count, saved, &anchors, &anchor_count, err);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        int64_t target;
        rc = restore_partition(aggregator, &aggregator->partitions[i], &saved[i], anchors, anchor_count, &target,
                               err);
        if (rc == 0)
            rd_kafka_topic_partition_list_add(targets, aggregator->settings->shared.kafka_topic, partitions[i])
                ->offset = target;
    }
    free(partitions);
    free(saved);
    free(anchors);
    return rc;
}

/* Restores every assigned partition from Postgres and says where its replay starts. */
static int restore(void *daemon, rd_kafka_topic_partition_list_t *targets, struct error *err)
{
    struct aggregator *aggregator = daemon;
    drop_books(aggregator); /* of an earlier try whose seek failed */
    if (choose_targets(aggregator, targets, err) == 0)
        return 0;
    drop_books(aggregator);
    return -1;
}

static struct group_reader *open_reader(struct aggregator *aggregator, struct error *err)
{
    const struct group_reader_settings settings = {
        .member = {
            .brokers = aggregator->settings->shared.kafka_brokers,
            .topic = aggregator->settings->shared.kafka_topic,
            .client_id = "tickerflow-aggregator",
            .group = &aggregator->settings->group,
            .message_bytes = aggregator->kind->message_bytes,
        },
        .seek_timeout_ms = WATERMARK_TIMEOUT_MS,
        .resumes_from = "the state saved in PostgreSQL",
        .waiting = aggregator->metrics.waiting,
        .fetcher_wakes = aggregator->metrics.fetcher_wakes,
    };
    const struct group_reader_handlers handlers = {aggregator, on_assigned, on_revoked, restore, next_offset};
    return group_reader_new(&settings, &handlers, err);
}

/* ---- messages --------------------------------------------------------------------------- */

/* Decodes and checks a message; false (err set) for one to refuse. */
static bool accept_item(struct aggregator *aggregator, const rd_kafka_message_t *message, union book_item *item,
                        int64_t *time_us, struct error *err)
{
    if (aggregator->kind->decode(message->payload, message->len, item, time_us, err) < 0)
        return false;
    rd_kafka_timestamp_type_t type;
    int64_t timestamp_ms = rd_kafka_message_timestamp(message, &type);
    if (timestamp_ms >= 0 && *time_us / 1000 - timestamp_ms > aggregator->settings->max_future_ms) {
        error_set(err, "its time is %" PRId64 " s past its Kafka timestamp (aggregator.max_future_ms)",
                  (*time_us / 1000 - timestamp_ms) / 1000);
        return false;
    }
    return true;
}

/* How far a message may move its partition's newest event time: the clock, the earlier of
 * this aggregator's and the message's Kafka timestamp (the producer's clock, or the
 * broker's; under a backlog the wall clock is far ahead of the messages), plus
 * aggregator.max_ahead_ms. A message dated later (a producer or an exchange with a wrong
 * clock) is held in its minute without closing the minutes of the real ones that follow. */
static int64_t newest_limit_us(const struct aggregator *aggregator, const rd_kafka_message_t *message)
{
    int64_t clock_us = aggregator->now_ms * 1000 + aggregator->wall_offset_us;
    rd_kafka_timestamp_type_t type;
    int64_t timestamp_ms = rd_kafka_message_timestamp(message, &type);
    if (timestamp_ms >= 0 && timestamp_ms * 1000 < clock_us)
        clock_us = timestamp_ms * 1000;
    return clock_us + aggregator->settings->max_ahead_ms * 1000;
}

static void report_ahead(struct aggregator *aggregator, const rd_kafka_message_t *message,
                         const union book_item *item, int64_t time_us, int64_t limit_us)
{
    metric_add(aggregator->metrics.ahead, 1);
    int64_t so_far = metric_value(aggregator->metrics.ahead);
    char key[TRADE_PAIR_MAX + 1];
    if (so_far <= 10 || so_far % 1000 == 0) {
        aggregator->kind->describe(item, key, sizeof key);
        log_warn("%s of %s at %s/%" PRId32 "@%" PRId64 " is dated %" PRId64 " ms past the clock: held in its minute, "
                 "it moves the watermark no further than aggregator.max_ahead_ms past the clock (%" PRId64 " so far)",
                 aggregator->kind->item, key, rd_kafka_topic_name(message->rkt), message->partition, message->offset,
                 (int64_t)((time_us - limit_us) / 1000 + aggregator->settings->max_ahead_ms), so_far);
    }
}

static void refuse(struct aggregator *aggregator, const rd_kafka_message_t *message, const char *why)
{
    metric_add(aggregator->metrics.rejected, 1);
    log_warn("refused message at %s/%" PRId32 "@%" PRId64 ": %s", rd_kafka_topic_name(message->rkt),
             message->partition, message->offset, why);
}

/* Counts (and logs) what the book did with a message read for the first time. */
static void account_verdict(struct aggregator *aggregator, const struct partition_state *state,
                            const rd_kafka_message_t *message, const union book_item *item,
                            enum window_verdict verdict, const struct error *why)
{
    const struct book_kind *kind = aggregator->kind;
    char key[TRADE_PAIR_MAX + 1] = "";
    if (verdict != WINDOW_ACCEPTED) /* named in the logs below */
        kind->describe(item, key, sizeof key);
    switch (verdict) {
    case WINDOW_TOO_LATE:
        metric_add(aggregator->metrics.late, 1);
        log_debug("dropped a %s of %s at %" PRId32 "@%" PRId64 ": its minute no longer takes corrections", kind->item,
                  key, message->partition, message->offset);
        break;
    case WINDOW_OVER_LIMIT:
        metric_add(aggregator->metrics.over_limit, 1);
        if (metric_value(aggregator->metrics.over_limit) % 1000 == 1)
            log_warn("refused a %s of %s at %" PRId32 "@%" PRId64 ": partition holds %zu %ss of %zu %s "
                     "(limits aggregator.max_held_ticks %lld, aggregator.max_tickers %lld; %" PRId64 " refused so far)",
                     kind->item, key, message->partition, message->offset, kind->held(state->book), kind->item,
                     kind->keys(state->book), kind->keys_name, aggregator->settings->max_held_ticks,
                     aggregator->settings->max_tickers,
                     metric_value(aggregator->metrics.over_limit));
        break;
    case WINDOW_INVALID:
        refuse(aggregator, message, why->message);
        break;
    case WINDOW_ACCEPTED:
        metric_add(aggregator->metrics.ticks, 1);
        break;
    }
}

static void handle_message(struct aggregator *aggregator, const rd_kafka_message_t *message)
{
    struct partition_state *state = state_of(aggregator, message->partition);
    /* Drop what was fetched before a seek (older than expected). */
    if (state == NULL || state->book == NULL || (state->next >= 0 && message->offset < state->next))
        return;
    state->next = message->offset + 1;
    state->changed = true;
    aggregator->unsaved_messages++;
    state->last_message_ms = aggregator->now_ms;
    if (aggregator->checkpoint_due_ms == 0)
        aggregator->checkpoint_due_ms = aggregator->now_ms + aggregator->settings->checkpoint_interval_ms;
    bool first_reading = message->offset >= state->replayed_until;

    union book_item item;
    int64_t time_us;
    struct error err;
    if (!accept_item(aggregator, message, &item, &time_us, &err)) {
        if (first_reading)
            refuse(aggregator, message, err.message);
        return;
    }
    const struct book_kind *kind = aggregator->kind;
    /* A replayed message was counted before the restore, and the newest time restored covers
     * it: it must not move the watermark again (the clock has moved on since). */
    int64_t limit_us = first_reading ? newest_limit_us(aggregator, message) : WINDOW_BOOK_NO_TIME;
    if (first_reading && time_us > limit_us)
        report_ahead(aggregator, message, &item, time_us, limit_us);
    enum window_verdict verdict;
    if (kind->add(state->book, &item, message->offset, limit_us, &verdict, &err) < 0) {
        log_error("cannot add the message at %" PRId32 "@%" PRId64 ": %s; restoring from PostgreSQL",
                  message->partition, message->offset, err.message);
        forget_positions(aggregator);
        return;
    }
    state->newest_at_last_us = kind->newest_us(state->book);
    if (first_reading)
        account_verdict(aggregator, state, message, &item, verdict, &err);
}

/* A partition silent for aggregator.idle_timeout_ms moves on in event time like the clock
 * since its last message: without it, the last minutes before the producer stops would never
 * close. The advanced time is checkpointed like any other, so a restart keeps it. */
static void advance_idle_partitions(struct aggregator *aggregator)
{
    int64_t now_ms = aggregator->now_ms;
    int64_t idle_ms = aggregator->settings->idle_timeout_ms;
    for (size_t i = 0; idle_ms > 0 && i < aggregator->partition_count; i++) {
        struct partition_state *state = &aggregator->partitions[i];
        int64_t silent_ms = now_ms - state->last_message_ms;
        if (state->book == NULL || state->last_message_ms == 0 || silent_ms < idle_ms ||
            state->newest_at_last_us == WINDOW_BOOK_NO_TIME || aggregator->kind->windows(state->book) == 0)
            continue;
        int64_t newest_us = state->newest_at_last_us + silent_ms * 1000;
        if (newest_us - aggregator->kind->newest_us(state->book) < 1000000)
            continue; /* a second at a time is enough: windows are a minute long */
        log_debug("partition %d silent for %" PRId64 " ms: its event time moves on to the clock's pace",
                  (int)state->partition, silent_ms);
        aggregator->kind->advance_newest(state->book, newest_us);
        state->changed = true;
        if (aggregator->checkpoint_due_ms == 0)
            aggregator->checkpoint_due_ms = now_ms;
    }
}

int aggregator_poll(struct aggregator *aggregator, int timeout_ms, struct error *err)
{
    rd_kafka_message_t *message;
    int rc = group_reader_poll(aggregator->reader, timeout_ms, &message, err);
    aggregator->now_ms = timestamp_monotonic_ms();
    if (rc < 0)
        return -1;
    if (message == NULL) {
        if (group_reader_resumed(aggregator->reader))
            advance_idle_partitions(aggregator);
        if (aggregator->unsaved_messages >= CAUGHT_UP_CHECKPOINT_MESSAGES && group_reader_caught_up(aggregator->reader))
            aggregator->checkpoint_due_ms = aggregator->now_ms;
        return 0;
    }
    handle_message(aggregator, message);
    rd_kafka_message_destroy(message);
    return 0;
}

/* ---- life cycle ------------------------------------------------------------------------- */

static int connect_store(void *store, struct error *err)
{
    return candle_store_connect(store, err);
}

struct aggregator *aggregator_open(const struct aggregator_settings *settings, struct error *err)
{
    struct aggregator *aggregator = calloc(1, sizeof *aggregator);
    if (aggregator == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    aggregator->settings = settings;
    aggregator->kind = book_kind_named(settings->kind);
    aggregator->rules = (struct window_rules){WINDOW_LENGTH_US, settings->out_of_orderness_ms * 1000,
                                              settings->allowed_lateness_ms * 1000, (size_t)settings->max_tickers,
                                              (size_t)settings->max_held_ticks};
    aggregator->now_ms = aggregator->last_report_ms = timestamp_monotonic_ms();
    aggregator->wall_offset_us = timestamp_now_us() - aggregator->now_ms * 1000;
    aggregator->metrics = (struct aggregator_metrics){
        .ticks = metrics_counter("tickerflow_aggregator_ticks_total", "Ticks (trades, for aggregator.kind trades) applied to a one-minute window"),
        .late = metrics_counter("tickerflow_aggregator_late_ticks_total",
                                "Ticks dropped because their minute no longer takes corrections"),
        .over_limit = metrics_counter("tickerflow_aggregator_over_limit_total",
                                      "Ticks refused because a partition's windows held aggregator.max_held_ticks "
                                      "ticks or aggregator.max_tickers tickers"),
        .rejected = metrics_counter("tickerflow_aggregator_rejected_total",
                                    "Messages refused: malformed, or dated too far past their Kafka timestamp"),
        .ahead = metrics_counter("tickerflow_aggregator_ahead_ticks_total",
                                 "Ticks dated more than aggregator.max_ahead_ms past the clock: held in their minute "
                                 "without moving the watermark past the clock"),
        .candles = metrics_counter("tickerflow_aggregator_candles_written_total",
                                   "Candle rows written to candles_1m (first writes and corrections)"),
        .checkpoints = metrics_counter("tickerflow_aggregator_checkpoints_total", "Checkpoints committed"),
        .windows = metrics_gauge("tickerflow_aggregator_windows", "Windows (of a ticker or a currency pair) held in memory"),
        .watermark_delay_ms = metrics_gauge_ms("tickerflow_aggregator_watermark_delay_seconds",
                                            "Wall clock minus the oldest partition watermark, at the last checkpoint"),
        .waiting = metrics_gauge("tickerflow_aggregator_waiting_for_database",
                                 "1 while consumption is paused until the state is restored from PostgreSQL"),
        .fetcher_wakes = metrics_counter("tickerflow_aggregator_fetcher_wakes_total",
                                         "Seeks that restarted fetching of partitions librdkafka left idle"),
        .lag = metrics_gauge("tickerflow_aggregator_lag_messages",
                             "Messages in Kafka beyond the last checkpoint, over the assigned partitions"),
        .checkpoint_ms = metrics_histogram_ms("tickerflow_aggregator_checkpoint_seconds",
                                           "How long each checkpoint's transaction took", CHECKPOINT_BOUNDS,
                                           sizeof CHECKPOINT_BOUNDS / sizeof CHECKPOINT_BOUNDS[0]),
    };
    if ((aggregator->store = candle_store_new(settings->shared.database_url, settings->group.group_id,
                                              settings->shared.kafka_topic, err)) == NULL)
        goto fail;
    if (retry_until("connecting to PostgreSQL", connect_store, aggregator->store, NULL, err) < 0)
        goto fail;
    if ((aggregator->reader = open_reader(aggregator, err)) == NULL)
        goto fail;
    log_info("computing one-minute %s of topic %s into %s (aggregator.kind %s)",
             aggregator->kind == &TRADE_KIND ? "candlesticks and volumes of each pair" : "candles of each ticker",
             settings->shared.kafka_topic, aggregator->kind->rows, aggregator->kind->name);
    return aggregator;

fail:
    aggregator_close(aggregator);
    return NULL;
}

static struct totals current_totals(const struct aggregator *aggregator)
{
    const struct aggregator_metrics *m = &aggregator->metrics;
    return (struct totals){metric_value(m->ticks), metric_value(m->late), metric_value(m->rejected),
                           metric_value(m->candles), metric_value(m->checkpoints)};
}

void aggregator_report(struct aggregator *aggregator)
{
    int64_t now_ms = aggregator->now_ms;
    if (now_ms - aggregator->last_report_ms < REPORT_INTERVAL_MS)
        return;
    struct totals t = current_totals(aggregator), *r = &aggregator->reported;
    if (t.checkpoints != r->checkpoints || t.rejected != r->rejected)
        log_info("last minute: %" PRId64 " %ss, %" PRId64 " too late, %" PRId64 " refused; wrote %" PRId64
                 " candles in %" PRId64 " checkpoints",
                 t.ticks - r->ticks, aggregator->kind->item, t.late - r->late, t.rejected - r->rejected, t.candles - r->candles,
                 t.checkpoints - r->checkpoints);
    aggregator->reported = t;
    aggregator->last_report_ms = now_ms;
}

bool aggregator_is_healthy(const struct aggregator *aggregator, char *reason, size_t size)
{
    if (metric_value(aggregator->metrics.waiting) == 0)
        return true;
    snprintf(reason, size, "paused: restoring the state saved in PostgreSQL");
    return false;
}

void aggregator_close(struct aggregator *aggregator)
{
    if (aggregator == NULL)
        return;
    if (aggregator->reader != NULL) {
        struct error err;
        if (checkpoint(aggregator, &err) < 0)
            log_warn("last checkpoint not stored (%s); the next start reads again from the one before", err.message);
        group_reader_destroy(aggregator->reader);
        struct totals t = current_totals(aggregator);
        log_info("applied %" PRId64 " %ss (%" PRId64 " too late, %" PRId64 " refused); wrote %" PRId64
                 " candles to %s in %" PRId64 " checkpoints",
                 t.ticks, aggregator->kind->item, t.late, t.rejected, t.candles, aggregator->kind->rows, t.checkpoints);
    }
    drop_books(aggregator);
    candle_store_destroy(aggregator->store);
    free(aggregator->partitions);
    free(aggregator);
}
