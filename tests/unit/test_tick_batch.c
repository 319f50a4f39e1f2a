/* A batch of messages for one "ticks" frame: order, conflation by slot, candles replaced,
 * slots cleared when the batch goes out, and the frame's JSON text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tick_batch.h"

static struct frame *tick(int id, int value, int64_t time_us, int64_t previous_us)
{
    struct ticker ticker = {.value = value, .time_us = time_us};
    snprintf(ticker.name, sizeof ticker.name, "t%d", id);
    struct tick_origin origin = {.partition = -1, .previous = previous_us};
    return frame_new_tick(id, &ticker, &origin);
}

static const char *payload(struct frame *frame)
{
    static char text[2048];
    snprintf(text, sizeof text, "%.*s", (int)frame->length, (const char *)frame_payload(frame));
    return text;
}

#define T(us) "\"1970-01-01T00:00:00.00000" #us "Z\""

static void keeps_every_message_in_order(void **unused)
{
    struct tick_batch batch;
    tick_batch_init(&batch);
    assert_null(tick_batch_take(&batch));
    tick_batch_add_tick(&batch, tick(0, 1, 1, 0), 1, 0, false, NULL);
    tick_batch_add_tick(&batch, tick(1, 5, 2, INT64_MIN), 1, INT64_MIN, false, NULL);
    tick_batch_add_tick(&batch, tick(0, 2, 3, 1), 1, 1, false, NULL);
    tick_batch_due_by(&batch, 500);
    tick_batch_due_by(&batch, 700); /* a later deadline does not move it */
    assert_int_equal(batch.deadline_us, 500);
    struct frame *frame = tick_batch_take(&batch);
    assert_int_equal(frame->kind, FRAME_BATCH);
    assert_int_equal(frame->item_count, 3);
    assert_string_equal(payload(frame),
                        "{\"type\":\"ticks\",\"ticks\":["
                        "{\"type\":\"tick\",\"name\":\"t0\",\"value\":1,\"time\":" T(1) ",\"prev\":" T(0) "},"
                        "{\"type\":\"tick\",\"name\":\"t1\",\"value\":5,\"time\":" T(2) ",\"prev\":null},"
                        "{\"type\":\"tick\",\"name\":\"t0\",\"value\":2,\"time\":" T(3) ",\"prev\":" T(1) "}]}");
    assert_int_equal(batch.count, 0);
    assert_int_equal(batch.deadline_us, INT64_MAX);
    frame_release(frame);
    tick_batch_clear(&batch);
}

static void conflates_by_slot_counting_what_each_value_stands_for(void **unused)
{
    struct tick_batch batch;
    tick_batch_init(&batch);
    uint32_t slot0 = 0, slot1 = 0;
    tick_batch_add_tick(&batch, tick(0, 1, 1, 0), 1, 0, true, &slot0);
    tick_batch_add_tick(&batch, tick(1, 7, 2, 1), 1, 1, true, &slot1);
    tick_batch_add_tick(&batch, tick(0, 2, 3, 1), 1, 1, true, &slot0);
    tick_batch_add_tick(&batch, tick(0, 3, 4, 3), 2, 3, true, &slot0); /* itself standing for two */
    assert_int_equal(batch.count, 2);
    assert_int_equal(slot0, 1);
    assert_int_equal(batch.items[0].count, 4);
    assert_int_equal(batch.items[0].after, 0); /* the first value's predecessor */
    struct frame *frame = tick_batch_take(&batch);
    assert_string_equal(payload(frame),
                        "{\"type\":\"ticks\",\"ticks\":["
                        "{\"type\":\"tick\",\"name\":\"t0\",\"value\":3,\"time\":" T(4) ",\"prev\":" T(3) ",\"count\":4},"
                        "{\"type\":\"tick\",\"name\":\"t1\",\"value\":7,\"time\":" T(2) ",\"prev\":" T(1) ",\"count\":1}]}");
    assert_int_equal(slot0, 0); /* the next batch starts afresh */
    assert_int_equal(slot1, 0);
    frame_release(frame);
    tick_batch_add_tick(&batch, tick(0, 4, 5, 4), 1, 4, true, &slot0);
    assert_int_equal(slot0, 1);
    tick_batch_forget(&batch, &slot0); /* its owner leaves: the item stays, unmerged */
    assert_int_equal(slot0, 0);
    tick_batch_add_tick(&batch, tick(0, 5, 6, 5), 1, 5, true, &slot0);
    assert_int_equal(batch.count, 2);
    tick_batch_clear(&batch);
    assert_int_equal(slot0, 0);
}

static void a_candle_replaces_its_earlier_one_in_place(void **unused)
{
    struct tick_batch batch;
    tick_batch_init(&batch);
    uint32_t candle_slot = 0;
    tick_batch_add_tick(&batch, tick(0, 1, 1, 0), 1, 0, false, NULL);
    tick_batch_add_latest(&batch, frame_new("{\"c\":1}", 7), &candle_slot);
    tick_batch_add_tick(&batch, tick(0, 2, 2, 1), 1, 1, false, NULL);
    tick_batch_add_latest(&batch, frame_new("{\"c\":2}", 7), &candle_slot);
    tick_batch_add(&batch, frame_new("{\"g\":1}", 7));
    struct frame *frame = tick_batch_take(&batch);
    assert_non_null(strstr(payload(frame), ",{\"c\":2},{\"type\":\"tick\""));
    assert_null(strstr(payload(frame), "{\"c\":1}"));
    assert_non_null(strstr(payload(frame), ",{\"g\":1}]}"));
    assert_int_equal(frame->item_count, 4);
    frame_release(frame);
    tick_batch_clear(&batch);
}

static void a_full_batch_says_so(void **unused)
{
    struct tick_batch batch;
    tick_batch_init(&batch);
    for (int i = 0; i < TICK_BATCH_MAX_ITEMS; i++) {
        assert_false(tick_batch_full(&batch));
        tick_batch_add_tick(&batch, tick(0, i, i + 1, i), 1, i, false, NULL);
    }
    assert_true(tick_batch_full(&batch));
    struct frame *frame = tick_batch_take(&batch);
    assert_int_equal(frame->item_count, TICK_BATCH_MAX_ITEMS);
    frame_release(frame);
    tick_batch_clear(&batch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keeps_every_message_in_order),
        cmocka_unit_test(conflates_by_slot_counting_what_each_value_stands_for),
        cmocka_unit_test(a_candle_replaces_its_earlier_one_in_place),
        cmocka_unit_test(a_full_batch_says_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
