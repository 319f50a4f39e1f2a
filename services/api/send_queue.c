#include "send_queue.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_CAPACITY 8

void send_queue_init(struct send_queue *queue, size_t limit)
{
    *queue = (struct send_queue){.limit = limit < 4 ? 4 : limit};
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

enum send_result send_queue_push(struct send_queue *queue, struct frame *frame)
{
    enum send_result result = SEND_QUEUED;
    if (queue->count == queue->capacity && !grow(queue)) {
        coalesce(queue);
        result = SEND_COALESCED;
        if (queue->count == queue->capacity) {
            frame_release(frame);
            return SEND_FULL;
        }
    }
    *slot(queue, queue->count) = frame;
    queue->count++;
    return result;
}

struct frame *send_queue_pop(struct send_queue *queue)
{
    if (queue->count == 0)
        return NULL;
    struct frame *frame = queue->ring[queue->head];
    queue->head = (queue->head + 1) % queue->capacity;
    queue->count--;
    return frame;
}

void send_queue_clear(struct send_queue *queue)
{
    for (size_t i = 0; i < queue->count; i++)
        frame_release(*slot(queue, i));
    free(queue->ring);
    queue->ring = NULL;
    queue->head = queue->count = queue->capacity = 0;
}
