/* The per-client send queue: order, growth, coalescing into gap frames, and its limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "send_queue.h"

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
    static char text[512];
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keeps_order_and_grows_on_demand),
        cmocka_unit_test(coalesces_to_newest_per_ticker_with_gaps),
        cmocka_unit_test(merges_an_earlier_gap_into_the_next),
        cmocka_unit_test(full_of_control_frames_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
