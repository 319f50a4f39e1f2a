#include "send_queue.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_CAPACITY 8

void send_queue_init(struct send_queue *queue, size_t limit)
{
    limit = limit < 4 ? 4 : limit;
    *queue = (struct send_queue){.limit = limit, .byte_limit = limit * SEND_QUEUE_BYTES_PER_FRAME};
}

static struct frame **slot(struct send_queue *queue, size_t index)
{
    return &queue->ring[(queue->head + index) % queue->capacity];
}

/* Doubles the ring (up to limit), keeping the order. Returns false when at the limit or
 * out of memory. */
static bool grow(struct send_queue *queue)
{
    if (queue->capacity >= queue->limit)
        return false;
    size_t capacity = queue->capacity == 0 ? INITIAL_CAPACITY : queue->capacity * 2;
    if (capacity > queue->limit)
        capacity = queue->limit;
    struct frame **ring = malloc(capacity * sizeof *ring);
    if (ring == NULL)
        return false;
    for (size_t i = 0; i < queue->count; i++)
        ring[i] = *slot(queue, i);
    free(queue->ring);
    queue->ring = ring;
    queue->head = 0;
    queue->capacity = capacity;
    return true;
}

/* What coalescing learns about one ticker present in the queue. */
struct ticker_tally {
    int ticker_id;
    size_t newest;   /* queue index of its newest tick */
    bool leaving;    /* some of its frames are left out: its gap's fields follow */
    int64_t after_us, missed; /* what its gap frame will say (missed -1: unknown) */
};

static struct ticker_tally *tally_of(struct ticker_tally *tallies, size_t *count, int ticker_id)
{
    for (size_t i = 0; i < *count; i++) {
        if (tallies[i].ticker_id == ticker_id)
            return &tallies[i];
    }
    tallies[*count] = (struct ticker_tally){.ticker_id = ticker_id, .newest = SIZE_MAX};
    return &tallies[(*count)++];
}

/* Keeps every control frame and each ticker's newest tick; the ticks and gaps left out
 * become one gap frame per ticker, placed just before that ticker's kept tick. */
static void coalesce(struct send_queue *queue)
{
    size_t count = queue->count;
    struct ticker_tally *tallies = malloc(count * sizeof *tallies);
    struct frame **kept = malloc(2 * count * sizeof *kept);
    if (tallies == NULL || kept == NULL) {
        free(tallies);
        free(kept);
        return;
    }
    size_t tally_count = 0;
    for (size_t i = 0; i < count; i++) {
        struct frame *frame = *slot(queue, i);
        if (frame->kind == FRAME_CONTROL)
            continue;
        struct ticker_tally *tally = tally_of(tallies, &tally_count, frame->ticker_id);
        if (frame->kind == FRAME_TICK)
            tally->newest = i;
    }
    size_t kept_count = 0;
    for (size_t i = 0; i < count; i++) {
        struct frame *frame = *slot(queue, i);
        if (frame->kind == FRAME_CONTROL) {
            kept[kept_count++] = frame;
            continue;
        }
        struct ticker_tally *tally = tally_of(tallies, &tally_count, frame->ticker_id);
        if (frame->kind == FRAME_TICK && tally->newest == i) {
            if (tally->leaving) {
                struct frame *gap = frame_new_gap(tally->ticker_id, frame->pair, frame->key, tally->after_us, frame->position,
                                                  tally->missed);
                if (gap != NULL)
                    kept[kept_count++] = gap;
            }
            kept[kept_count++] = frame;
            continue;
        }
        /* Left out: an older tick, or an earlier gap (merged into the new one). Frames of
         * a ticker are in time order, so the first one left out says where the gap starts.
         * A gap after the ticker's newest tick cannot happen: gaps go just before a tick. */
        int64_t missed = frame->kind == FRAME_GAP ? frame->gap_missed : 1;
        if (!tally->leaving) {
            tally->leaving = true;
            tally->after_us = frame->previous;
        }
        tally->missed = tally->missed < 0 || missed < 0 ? -1 : tally->missed + missed;
        if (frame->kind == FRAME_TICK)
            queue->coalesced++;
        frame_release(frame);
    }
    /* kept_count <= count: each kept tick's gap replaces at least one frame left out. */
    for (size_t i = 0; i < kept_count; i++)
        queue->ring[i] = kept[i];
    queue->head = 0;
    queue->count = kept_count;
    free(tallies);
    free(kept);
}

/* ---- coalescing a batched client's queue ---------------------------------------------- */
/*
 * A client with batched frames in its queue: the messages inside them are coalesced the same
 * way (each ticker keeps its newest value, its newest live candle, and says what it left
 * out), into one batch frame placed where the last of them was. A value that stood for
 * several (conflated) keeps standing for them: a conflating client gets the newest value with
 * the count of all it replaces, another gets a gap and the value.
 */

/* One message of the queue, inside a batch or not. */
struct unit {
    struct frame *frame; /* no reference of its own */
    int64_t count, after;
    bool conflated;
};

struct batch_tally {
    int ticker_id;
    size_t newest, candle; /* unit indexes of its newest tick and candle; SIZE_MAX when none */
    int64_t missed, after; /* values left out before the newest (missed -1: unknown), and where they start */
    bool leaving;
};

static struct batch_tally *batch_tally_of(struct batch_tally *tallies, size_t *count, int ticker_id)
{
    for (size_t i = 0; i < *count; i++) {
        if (tallies[i].ticker_id == ticker_id)
            return &tallies[i];
    }
    tallies[*count] = (struct batch_tally){.ticker_id = ticker_id, .newest = SIZE_MAX, .candle = SIZE_MAX};
    return &tallies[(*count)++];
}

/* `unit` (a value standing for `missed` values, or a gap of them) is left out. */
static void tally_leave(struct batch_tally *tally, const struct unit *unit, int64_t missed)
{
    if (!tally->leaving) {
        tally->leaving = true;
        tally->after = unit->after;
    }
    tally->missed = tally->missed < 0 || missed < 0 ? -1 : tally->missed + missed;
}

/* The queue's messages, batches opened up. */
static struct unit *units_of(struct send_queue *queue, size_t *count)
{
    size_t total = 0;
    for (size_t i = 0; i < queue->count; i++) {
        struct frame *frame = *slot(queue, i);
        total += frame->kind == FRAME_BATCH ? frame->item_count : 1;
    }
    struct unit *units = malloc((total ? total : 1) * sizeof *units);
    if (units == NULL)
        return NULL;
    size_t at = 0;
    for (size_t i = 0; i < queue->count; i++) {
        struct frame *frame = *slot(queue, i);
        if (frame->kind != FRAME_BATCH) {
            units[at++] = (struct unit){frame, frame->kind == FRAME_GAP ? frame->gap_missed : 1, frame->previous, false};
            continue;
        }
        for (size_t j = 0; j < frame->item_count; j++) {
            const struct batch_item *item = &frame->items[j];
            units[at++] = (struct unit){item->frame, item->count, item->after, item->conflated};
        }
    }
    *count = total;
    return units;
}

/* Adds up, per ticker, what will be left out before its newest value. */
static size_t tally_units(const struct unit *units, size_t count, struct batch_tally *tallies, size_t *last_data)
{
    size_t tally_count = 0;
    *last_data = SIZE_MAX;
    for (size_t i = 0; i < count; i++) {
        const struct frame *frame = units[i].frame;
        if (frame->ticker_id < 0)
            continue; /* a reply, error or heartbeat: kept as it is */
        *last_data = i;
        struct batch_tally *tally = batch_tally_of(tallies, &tally_count, frame->ticker_id);
        if (frame->kind == FRAME_CONTROL) {
            tally->candle = i;
        } else if (frame->kind == FRAME_TICK) {
            if (tally->newest != SIZE_MAX)
                tally_leave(tally, &units[tally->newest], units[tally->newest].count);
            tally->newest = i;
        } else { /* a gap */
            tally_leave(tally, &units[i], units[i].count);
        }
    }
    return tally_count;
}

/* The batch of what each ticker keeps: gap (or count), newest value, newest candle. */
static struct frame *coalesced_batch(struct send_queue *queue, const struct unit *units, struct batch_tally *tallies,
                                     size_t tally_count)
{
    struct batch_item *items = malloc((tally_count ? 3 * tally_count : 1) * sizeof *items);
    if (items == NULL)
        return NULL;
    size_t count = 0;
    for (size_t t = 0; t < tally_count; t++) {
        struct batch_tally *tally = &tallies[t];
        if (tally->newest != SIZE_MAX) {
            const struct unit *newest = &units[tally->newest];
            struct frame *tick = newest->frame;
            int64_t after = tally->leaving ? tally->after : newest->after;
            int64_t missed = tally->leaving ? tally->missed : 0;
            if (newest->conflated) { /* it says itself what it stands for */
                int64_t total = missed < 0 ? -1 : missed + newest->count;
                items[count++] = (struct batch_item){frame_ref(tick), total < 0 ? newest->count : total, after, true, NULL};
            } else {
                if (tally->leaving) {
                    struct frame *gap = frame_new_gap(tally->ticker_id, tick->pair, tick->key, after, tick->position, missed);
                    if (gap != NULL)
                        items[count++] = (struct batch_item){gap, missed, after, false, NULL};
                }
                items[count++] = (struct batch_item){frame_ref(tick), 1, tick->previous, false, NULL};
            }
            queue->coalesced += (uint64_t)(missed > 0 ? missed : 0);
        }
        if (tally->candle != SIZE_MAX)
            items[count++] = (struct batch_item){frame_ref(units[tally->candle].frame), 1, INT64_MIN, false, NULL};
    }
    return frame_new_batch(items, count);
}

static void coalesce_batched(struct send_queue *queue)
{
    size_t unit_count, last_data;
    struct unit *units = units_of(queue, &unit_count);
    struct batch_tally *tallies = units != NULL ? malloc((unit_count ? unit_count : 1) * sizeof *tallies) : NULL;
    struct frame **kept = malloc((queue->count + 1) * sizeof *kept);
    if (units == NULL || tallies == NULL || kept == NULL) {
        free(units);
        free(tallies);
        free(kept);
        return;
    }
    size_t tally_count = tally_units(units, unit_count, tallies, &last_data);
    struct frame *batch = last_data != SIZE_MAX ? coalesced_batch(queue, units, tallies, tally_count) : NULL;
    size_t kept_count = 0;
    for (size_t i = 0; i < unit_count && kept_count < queue->count + 1; i++) {
        if (units[i].frame->ticker_id < 0)
            kept[kept_count++] = frame_ref(units[i].frame);
        if (i == last_data && batch != NULL)
            kept[kept_count++] = batch;
    }
    /* The old frames go (what was kept holds references of its own). */
    for (size_t i = 0; i < queue->count; i++)
        frame_release(*slot(queue, i));
    if (kept_count > queue->capacity) { /* only replies were queued: nothing to gain */
        for (size_t i = queue->capacity; i < kept_count; i++)
            frame_release(kept[i]);
        kept_count = queue->capacity;
    }
    for (size_t i = 0; i < kept_count; i++)
        queue->ring[i] = kept[i];
    queue->head = 0;
    queue->count = kept_count;
    free(units);
    free(tallies);
    free(kept);
}

static bool holds_batches(struct send_queue *queue)
{
    for (size_t i = 0; i < queue->count; i++) {
        if ((*slot(queue, i))->kind == FRAME_BATCH)
            return true;
    }
    return false;
}

static void count_bytes(struct send_queue *queue)
{
    queue->bytes = 0;
    for (size_t i = 0; i < queue->count; i++)
        queue->bytes += (*slot(queue, i))->length;
}

/* Would `frame` take the queue past its bytes? (A frame alone always fits: batches can be big.) */
static bool over_bytes(const struct send_queue *queue, const struct frame *frame)
{
    return queue->count > 0 && queue->bytes + frame->length > queue->byte_limit;
}

enum send_result send_queue_push(struct send_queue *queue, struct frame *frame)
{
    enum send_result result = SEND_QUEUED;
    if (over_bytes(queue, frame) || (queue->count == queue->capacity && !grow(queue))) {
        if (holds_batches(queue))
            coalesce_batched(queue);
        else
            coalesce(queue);
        count_bytes(queue);
        result = SEND_COALESCED;
        if (queue->count == queue->capacity || over_bytes(queue, frame)) {
            frame_release(frame);
            return SEND_FULL;
        }
    }
    *slot(queue, queue->count) = frame;
    queue->count++;
    queue->bytes += frame->length;
    return result;
}

struct frame *send_queue_pop(struct send_queue *queue)
{
    if (queue->count == 0)
        return NULL;
    struct frame *frame = queue->ring[queue->head];
    queue->head = (queue->head + 1) % queue->capacity;
    queue->count--;
    queue->bytes -= frame->length;
    return frame;
}

void send_queue_clear(struct send_queue *queue)
{
    for (size_t i = 0; i < queue->count; i++)
        frame_release(*slot(queue, i));
    free(queue->ring);
    queue->ring = NULL;
    queue->head = queue->count = queue->capacity = queue->bytes = 0;
}
