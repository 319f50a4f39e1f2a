/* The per-client send queue: order, growth, coalescing into gap frames, and its limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "send_queue.h"
#include "tick_batch.h"

static struct frame *tick(int id, int64_t time_us, int64_t previous_us)
{
    struct ticker ticker = {.value = 1, .time_us = time_us};
    snprintf(ticker.name, sizeof ticker.name, "t%d", id);
    struct tick_origin origin = {.partition = 0, .offset = time_us, .previous = previous_us};
    return frame_new_tick(id, &ticker, &origin);
}

static struct frame *control(const char *text)
{
    return frame_new(text, strlen(text));
}

/* The payload of `frame` as a string (frames are not NUL-terminated). */
static const char *payload(struct frame *frame)
{
    static char text[4096];
    snprintf(text, sizeof text, "%.*s", (int)frame->length, (const char *)frame_payload(frame));
    return text;
}

static void keeps_order_and_grows_on_demand(void **unused)
{
    struct send_queue queue;
    send_queue_init(&queue, 100);
    assert_null(queue.ring); /* a quiet client costs nothing */
    for (int i = 1; i <= 50; i++)
        assert_int_equal(send_queue_push(&queue, tick(0, i, i - 1)), SEND_QUEUED);
    assert_true(queue.capacity >= 50 && queue.capacity <= 100);
    for (int i = 1; i <= 50; i++) {
        struct frame *frame = send_queue_pop(&queue);
        assert_int_equal(frame->position, i);
        frame_release(frame);
    }
    assert_null(send_queue_pop(&queue));
    send_queue_clear(&queue);
}

static void coalesces_to_newest_per_ticker_with_gaps(void **unused)
{
    struct send_queue queue;
    send_queue_init(&queue, 8);
    /* t0: 1..4, t1: 1..2, and a reply in the middle. */
    send_queue_push(&queue, tick(0, 1, 0));
    send_queue_push(&queue, tick(1, 1, 0));
    send_queue_push(&queue, tick(0, 2, 1));
    send_queue_push(&queue, control("{\"type\":\"subscribed\"}"));
    send_queue_push(&queue, tick(0, 3, 2));
    send_queue_push(&queue, tick(1, 2, 1));
    send_queue_push(&queue, tick(0, 4, 3));
    send_queue_push(&queue, tick(0, 5, 4));
    assert_int_equal(queue.count, 8);
    assert_int_equal(send_queue_push(&queue, tick(1, 3, 2)), SEND_COALESCED);
    assert_int_equal(queue.coalesced, 5); /* t0 1..4 and t1 1: the newest of each stays */

    const char *expected[] = {
        "{\"type\":\"subscribed\"}",
        "{\"type\":\"gap\",\"name\":\"t1\",\"after\":\"1970-01-01T00:00:00.000000Z\",\"before\":\"1970-01-01T00:00:00.000002Z\",\"missed\":1}",
        "{\"type\":\"tick\",\"name\":\"t1\",\"value\":1,\"time\":\"1970-01-01T00:00:00.000002Z\",\"prev\":\"1970-01-01T00:00:00.000001Z\",\"partition\":0,\"offset\":2}",
        "{\"type\":\"gap\",\"name\":\"t0\",\"after\":\"1970-01-01T00:00:00.000000Z\",\"before\":\"1970-01-01T00:00:00.000005Z\",\"missed\":4}",
        "{\"type\":\"tick\",\"name\":\"t0\",\"value\":1,\"time\":\"1970-01-01T00:00:00.000005Z\",\"prev\":\"1970-01-01T00:00:00.000004Z\",\"partition\":0,\"offset\":5}",
        "{\"type\":\"tick\",\"name\":\"t1\",\"value\":1,\"time\":\"1970-01-01T00:00:00.000003Z\",\"prev\":\"1970-01-01T00:00:00.000002Z\",\"partition\":0,\"offset\":3}",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        struct frame *frame = send_queue_pop(&queue);
        assert_non_null(frame);
        assert_string_equal(payload(frame), expected[i]);
        frame_release(frame);
    }
    assert_null(send_queue_pop(&queue));
    send_queue_clear(&queue);
}

static void merges_an_earlier_gap_into_the_next(void **unused)
{
    struct send_queue queue;
    send_queue_init(&queue, 4);
    for (int i = 1; i <= 4; i++)
        send_queue_push(&queue, tick(0, i, i - 1));
    assert_int_equal(send_queue_push(&queue, tick(0, 5, 4)), SEND_COALESCED); /* gap(0..4) t4 t5 */
    send_queue_push(&queue, tick(0, 6, 5));                                    /* gap t4 t5 t6: full */
    assert_int_equal(send_queue_push(&queue, tick(0, 7, 6)), SEND_COALESCED); /* gap(0..6) t6 t7 */
    struct frame *gap = send_queue_pop(&queue);
    assert_int_equal(gap->kind, FRAME_GAP);
    assert_int_equal(gap->previous, 0); /* after: where the client's sequence stopped */
    assert_int_equal(gap->position, 6);     /* before: the next value it gets */
    assert_int_equal(gap->gap_missed, 5);  /* 1, 2, 3, then 4 and 5 */
    frame_release(gap);
    struct frame *next = send_queue_pop(&queue);
    assert_int_equal(next->position, 6);
    frame_release(next);
    send_queue_clear(&queue);
}

static void full_of_control_frames_refuses(void **unused)
{
    struct send_queue queue;
    send_queue_init(&queue, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(send_queue_push(&queue, control("{\"type\":\"heartbeat\"}")), SEND_QUEUED);
    assert_int_equal(send_queue_push(&queue, tick(0, 1, 0)), SEND_FULL);
    assert_int_equal(queue.count, 4);
    send_queue_clear(&queue);
}

/* A batch frame of ticks of tickers 0 and 1 (time = i, prev = i - 1), with ticker 0's candle. */
static struct frame *batch_of(int from, int to, bool conflated)
{
    struct tick_batch batch;
    tick_batch_init(&batch);
    uint32_t slots[2] = {0, 0}, candle = 0;
    for (int i = from; i <= to; i++) {
        tick_batch_add_tick(&batch, tick(i % 2, i, i - 2), 1, i - 2, conflated, conflated ? &slots[i % 2] : NULL);
        if (i % 2 == 0) {
            char text[32];
            struct frame *frame = frame_new(text, (size_t)snprintf(text, sizeof text, "{\"candle\":%d}", i));
            frame->ticker_id = 0;
            tick_batch_add_latest(&batch, frame, &candle);
        }
    }
    struct frame *frame = tick_batch_take(&batch);
    tick_batch_clear(&batch);
    return frame;
}

static void coalesces_batches_into_one_saying_what_was_left_out(void **unused)
{
    struct send_queue queue;
    send_queue_init(&queue, 4);
    send_queue_push(&queue, batch_of(2, 5, false));
    send_queue_push(&queue, control("{\"type\":\"subscribed\"}"));
    send_queue_push(&queue, batch_of(6, 9, false));
    send_queue_push(&queue, control("{\"type\":\"pong\"}"));
    assert_int_equal(send_queue_push(&queue, batch_of(10, 11, false)), SEND_COALESCED);
    /* reply, one batch (where the last data was), pong, the new batch */
    assert_int_equal(queue.count, 4);
    struct frame *reply = send_queue_pop(&queue);
    assert_string_equal(payload(reply), "{\"type\":\"subscribed\"}");
    struct frame *merged = send_queue_pop(&queue);
    assert_int_equal(merged->kind, FRAME_BATCH);
    /* per ticker: gap (after its first value's prev, missed 3), its newest value, its candle */
    assert_int_equal(merged->item_count, 5);
    assert_int_equal(merged->items[0].frame->kind, FRAME_GAP);
    assert_int_equal(merged->items[0].frame->previous, 0); /* after: the first left out's prev (2 - 2) */
    assert_int_equal(merged->items[0].frame->position, 8);
    assert_int_equal(merged->items[0].frame->gap_missed, 3); /* 2, 4, 6 */
    assert_int_equal(merged->items[1].frame->position, 8);
    assert_string_equal(payload(merged->items[2].frame), "{\"candle\":8}");
    assert_int_equal(merged->items[3].frame->gap_missed, 3); /* 3, 5, 7 */
    assert_int_equal(merged->items[4].frame->position, 9);
    assert_int_equal(queue.coalesced, 6);
    frame_release(reply);
    frame_release(merged);
    send_queue_clear(&queue);
}

static void coalesces_conflated_batches_adding_up_their_counts(void **unused)
{
    struct send_queue queue;
    send_queue_init(&queue, 4);
    for (int i = 0; i < 4; i++)
        send_queue_push(&queue, batch_of(2 + 4 * i, 5 + 4 * i, true)); /* each: t0 twice, t1 twice */
    assert_int_equal(send_queue_push(&queue, batch_of(18, 19, true)), SEND_COALESCED);
    struct frame *merged = send_queue_pop(&queue);
    assert_int_equal(merged->item_count, 3); /* t0 (count 8), its candle, t1 (count 8): no gaps */
    assert_int_equal(merged->items[0].count, 8);
    assert_true(merged->items[0].conflated);
    assert_int_equal(merged->items[0].after, 0);
    assert_int_equal(merged->items[0].frame->position, 16);
    assert_int_equal(merged->items[2].count, 8);
    assert_non_null(strstr(payload(merged), "\"count\":8}"));
    frame_release(merged);
    send_queue_clear(&queue);
}

static void bounds_the_bytes_too(void **unused)
{
    struct send_queue queue;
    send_queue_init(&queue, 4); /* 4 frames, 4 kB */
    char big[1500];
    memset(big, ' ', sizeof big);
    big[0] = '{';
    big[sizeof big - 1] = '}';
    assert_int_equal(send_queue_push(&queue, frame_new(big, sizeof big)), SEND_QUEUED);
    assert_int_equal(send_queue_push(&queue, frame_new(big, sizeof big)), SEND_QUEUED);
    assert_int_equal(queue.bytes, 3000);
    /* A third would make 4.5 kB: replies are never dropped, so it does not fit. */
    assert_int_equal(send_queue_push(&queue, frame_new(big, sizeof big)), SEND_FULL);
    assert_int_equal(queue.count, 2);
    frame_release(send_queue_pop(&queue));
    assert_int_equal(queue.bytes, 1500);
    send_queue_clear(&queue);
    assert_int_equal(queue.bytes, 0);
    /* Alone, a frame bigger than the bound still goes (a batch can be). */
    char huge[5000];
    memset(huge, ' ', sizeof huge);
    assert_int_equal(send_queue_push(&queue, frame_new(huge, sizeof huge)), SEND_QUEUED);
    send_queue_clear(&queue);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keeps_order_and_grows_on_demand),
        cmocka_unit_test(coalesces_to_newest_per_ticker_with_gaps),
        cmocka_unit_test(merges_an_earlier_gap_into_the_next),
        cmocka_unit_test(full_of_control_frames_refuses),
        cmocka_unit_test(coalesces_batches_into_one_saying_what_was_left_out),
        cmocka_unit_test(coalesces_conflated_batches_adding_up_their_counts),
        cmocka_unit_test(bounds_the_bytes_too),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
