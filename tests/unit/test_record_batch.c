#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "record_batch.h"

static int64_t next_offset_of(const struct record_batch *batch, int32_t partition)
{
    size_t count;
    const struct record_batch_offset *offsets = record_batch_offsets(batch, &count);
    for (size_t i = 0; i < count; i++) {
        if (offsets[i].partition == partition)
            return offsets[i].next_offset;
    }
    return -1;
}

static void rows_become_copy_text(void **unused)
{
    struct record_batch *batch = record_batch_new(NULL);
    struct ticker a = {.name = "ticker_07", .value = -3, .time_us = 1795437296789012LL};
    struct ticker b = {.name = "ticker_08", .value = 2147483647, .time_us = 0};
    assert_int_equal(record_batch_add(batch, &a, 0, 10, NULL), 0);
    assert_int_equal(record_batch_add(batch, &b, 1, 4, NULL), 0);
    size_t length;
    const char *text = record_batch_copy_text(batch, &length);
    const char expected[] = "ticker_07\t2026-11-23T12:34:56.789012Z\t-3\n"
                            "ticker_08\t1970-01-01T00:00:00.000000Z\t2147483647\n";
    assert_int_equal(length, sizeof expected - 1);
    assert_memory_equal(text, expected, length);
    assert_int_equal(record_batch_rows(batch), 2);
    assert_int_equal(record_batch_messages(batch), 2);
    record_batch_destroy(batch);
}

static void offsets_are_the_next_to_read_per_partition(void **unused)
{
    struct record_batch *batch = record_batch_new(NULL);
    struct ticker t = {.name = "x", .value = 1, .time_us = 0};
    record_batch_add(batch, &t, 3, 100, NULL);
    record_batch_add(batch, &t, 3, 101, NULL);
    record_batch_add(batch, &t, 5, 7, NULL);
    record_batch_skip(batch, 3, 102, NULL); /* malformed: no row, but consumed */
    record_batch_skip(batch, 9, 0, NULL);
    size_t count;
    record_batch_offsets(batch, &count);
    assert_int_equal(count, 3);
    assert_int_equal(next_offset_of(batch, 3), 103);
    assert_int_equal(next_offset_of(batch, 5), 8);
    assert_int_equal(next_offset_of(batch, 9), 1);
    assert_int_equal(record_batch_rows(batch), 3);
    assert_int_equal(record_batch_messages(batch), 5);
    record_batch_destroy(batch);
}

static void clear_forgets_everything_and_buffers_grow(void **unused)
{
    struct record_batch *batch = record_batch_new(NULL);
    struct ticker t = {.name = "abcdefghij", .value = -2147483647 - 1, .time_us = 253402300799999999LL};
    for (int i = 0; i < 5000; i++) /* past the first 64 KiB buffer */
        assert_int_equal(record_batch_add(batch, &t, i % 6, i, NULL), 0);
    size_t length, count;
    record_batch_copy_text(batch, &length);
    assert_int_equal(length, 5000 * strlen("abcdefghij\t9999-12-31T23:59:59.999999Z\t-2147483648\n"));
    record_batch_clear(batch);
    assert_int_equal(record_batch_rows(batch), 0);
    assert_int_equal(record_batch_messages(batch), 0);
    record_batch_copy_text(batch, &length);
    assert_int_equal(length, 0);
    record_batch_offsets(batch, &count);
    assert_int_equal(count, 0);
    record_batch_destroy(batch);
    record_batch_destroy(NULL);
}

static void refuses_times_it_cannot_store(void **unused)
{
    struct record_batch *batch = record_batch_new(NULL);
    struct ticker t = {.name = "x", .value = 1, .time_us = INT64_MAX};
    struct error err;
    assert_int_equal(record_batch_add(batch, &t, 0, 0, &err), -1);
    assert_int_equal(record_batch_rows(batch), 0);
    assert_int_equal(record_batch_messages(batch), 0);
    record_batch_destroy(batch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_become_copy_text),
        cmocka_unit_test(offsets_are_the_next_to_read_per_partition),
        cmocka_unit_test(clear_forgets_everything_and_buffers_grow),
        cmocka_unit_test(refuses_times_it_cannot_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
