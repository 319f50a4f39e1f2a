#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "record_batch.h"
#include "row_format.h"
#include "ticker.h"

static struct record_origin origin(int32_t partition, int64_t offset, const char *payload)
{
    return (struct record_origin){partition, offset, -1, payload, strlen(payload)};
}

/* Adds the ticker's message the way the bridge does: its row in TICKER_ROWS' format. */
static int add_ticker(struct record_batch *batch, struct ticker ticker, const struct record_origin *origin)
{
    char json[TICKER_JSON_MAX], row[ROW_FORMAT_ROW_MAX];
    int length = ticker_encode(&ticker, json, sizeof json, NULL);
    assert_true(length > 0);
    int row_length = TICKER_ROWS.encode_row(json, (size_t)length, 0, 0, row, NULL);
    assert_true(row_length > 0);
    return record_batch_add_row(batch, row, (size_t)row_length, origin, NULL);
}

static const struct record_batch_offset *offset_of(const struct record_batch *batch, int32_t partition)
{
    size_t count;
    const struct record_batch_offset *offsets = record_batch_offsets(batch, &count);
    for (size_t i = 0; i < count; i++) {
        if (offsets[i].partition == partition)
            return &offsets[i];
    }
    return NULL;
}

static void rows_become_binary_copy_data_and_ranges(void **unused)
{
    struct record_batch *batch = record_batch_new(NULL);
    struct ticker a = {.name = "ticker_07", .value = -3, .time_us = 1795437296789012LL};
    struct ticker b = {.name = "t8", .value = 2147483647, .time_us = 946684800000000LL}; /* Postgres' epoch */
    struct record_origin oa = origin(0, 10, "a"), ob = origin(1, 4, "b");
    assert_int_equal(add_ticker(batch, a, &oa), 0);
    assert_int_equal(add_ticker(batch, b, &ob), 0);

    /* Row a: 3 fields; name "ticker_07"; time = microseconds since 2000-01-01, big-endian;
     * value -3 as a big-endian int32. */
    const unsigned char row_a[] = {0, 3,
                                   0, 0, 0, 9, 't', 'i', 'c', 'k', 'e', 'r', '_', '0', '7',
                                   0, 0, 0, 8, 0x00, 0x03, 0x03, 0xef, 0x97, 0x12, 0xc6, 0x14,
                                   0, 0, 0, 4, 0xff, 0xff, 0xff, 0xfd};
    const unsigned char row_b[] = {0, 3, 0, 0, 0, 2, 't', '8', 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0,
                                   0, 0, 0, 4, 0x7f, 0xff, 0xff, 0xff};
    size_t length;
    const char *data = record_batch_row_data(batch, 0, 1, &length);
    assert_int_equal(length, sizeof row_a);
    assert_memory_equal(data, row_a, sizeof row_a);
    data = record_batch_row_data(batch, 1, 1, &length);
    assert_int_equal(length, sizeof row_b);
    assert_memory_equal(data, row_b, sizeof row_b);
    record_batch_row_data(batch, 0, 2, &length);
    assert_int_equal(length, sizeof row_a + sizeof row_b);
    record_batch_row_data(batch, 1, 0, &length);
    assert_int_equal(length, 0);
    assert_int_equal(record_batch_rows(batch), 2);
    assert_int_equal(record_batch_messages(batch), 2);

    assert_int_equal(TICKER_ROWS.header_length, 19);
    assert_memory_equal(TICKER_ROWS.header, "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19);
    assert_int_equal(TICKER_ROWS.trailer_length, 2);
    assert_memory_equal(TICKER_ROWS.trailer, "\xff\xff", 2);
    record_batch_destroy(batch);
}

static void offsets_span_each_partition(void **unused)
{
    struct record_batch *batch = record_batch_new(NULL);
    struct ticker t = {.name = "x", .value = 1, .time_us = 0};
    struct record_origin o1 = origin(3, 100, "{}"), o2 = origin(3, 101, "{}"), o3 = origin(5, 7, "{}");
    struct record_origin bad1 = origin(3, 102, "junk"), bad2 = origin(9, 0, "");
    add_ticker(batch, t, &o1);
    add_ticker(batch, t, &o2);
    add_ticker(batch, t, &o3);
    record_batch_reject(batch, &bad1, "invalid JSON", NULL);
    record_batch_reject(batch, &bad2, "empty", NULL);
    size_t count;
    record_batch_offsets(batch, &count);
    assert_int_equal(count, 3);
    assert_int_equal(offset_of(batch, 3)->first_offset, 100);
    assert_int_equal(offset_of(batch, 3)->next_offset, 103);
    assert_int_equal(offset_of(batch, 5)->first_offset, 7);
    assert_int_equal(offset_of(batch, 5)->next_offset, 8);
    assert_int_equal(offset_of(batch, 9)->next_offset, 1);
    assert_int_equal(record_batch_rows(batch), 3);
    assert_int_equal(record_batch_dead_letters(batch), 2);
    assert_int_equal(record_batch_messages(batch), 5);
    record_batch_destroy(batch);
}

static void dead_letters_keep_raw_bytes_and_escape_text(void **unused)
{
    struct record_batch *batch = record_batch_new(NULL);
    const char payload[] = {'a', '\t', '\\', (char)0xff, '\n'};
    struct record_origin raw = {2, 42, 1795437296789LL, payload, sizeof payload};
    assert_int_equal(record_batch_reject(batch, &raw, "bad\ttab\\slash\nline", NULL), 0);
    struct record_origin empty = {2, 43, -1, NULL, 0};
    assert_int_equal(record_batch_reject(batch, &empty, "invalid JSON: empty message", NULL), 0);
    size_t length;
    const char *text = record_batch_dead_letter_text(batch, "tickers", &length, NULL);
    const char expected[] = "tickers\t2\t42\t2026-11-23T12:34:56.789000Z\t\\\\x61095cff0a\tbad\\ttab\\\\slash\\nline\n"
                            "tickers\t2\t43\t\\N\t\\\\x\tinvalid JSON: empty message\n";
    assert_int_equal(length, sizeof expected - 1);
    assert_memory_equal(text, expected, length);
    record_batch_destroy(batch);
}

static void refused_rows_become_dead_letters_with_their_original_bytes(void **unused)
{
    struct record_batch *batch = record_batch_new(NULL);
    struct ticker t = {.name = "ok", .value = 666, .time_us = 0};
    struct record_origin o = origin(0, 5, "{\"original\":true}");
    add_ticker(batch, t, &o);
    struct error err;
    assert_int_equal(record_batch_reject_row(batch, 1, "x", &err), -1);
    assert_int_equal(record_batch_reject_row(batch, 0, "refused by PostgreSQL: check", &err), 0);
    assert_int_equal(record_batch_dead_letters(batch), 1);
    assert_int_equal(record_batch_messages(batch), 1); /* still one message, now a dead letter */
    size_t length;
    const char *text = record_batch_dead_letter_text(batch, "t", &length, NULL);
    assert_non_null(strstr(text, "\\\\x7b226f726967696e616c223a747275657d\trefused by PostgreSQL: check\n"));
    record_batch_destroy(batch);
}

static void clear_forgets_everything_and_buffers_grow(void **unused)
{
    struct record_batch *batch = record_batch_new(NULL);
    struct ticker t = {.name = "abcdefghij", .value = -2147483647 - 1, .time_us = 253402300799999999LL};
    for (int i = 0; i < 5000; i++) { /* past the first buffers */
        struct record_origin o = origin(i % 6, i, "payload-bytes");
        assert_int_equal(add_ticker(batch, t, &o), 0);
    }
    size_t length, count;
    record_batch_row_data(batch, 0, record_batch_rows(batch), &length);
    assert_int_equal(length, 5000 * (2 + 4 + 10 + 4 + 8 + 4 + 4));
    record_batch_clear(batch);
    assert_int_equal(record_batch_rows(batch), 0);
    assert_int_equal(record_batch_messages(batch), 0);
    assert_int_equal(record_batch_dead_letters(batch), 0);
    record_batch_offsets(batch, &count);
    assert_int_equal(count, 0);
    record_batch_dead_letter_text(batch, "t", &length, NULL);
    assert_int_equal(length, 0);
    record_batch_destroy(batch);
    record_batch_destroy(NULL);
}

static void a_message_that_does_not_decode_makes_no_row(void **unused)
{
    char row[ROW_FORMAT_ROW_MAX];
    struct error err = {0};
    assert_int_equal(TICKER_ROWS.encode_row("{\"name\":\"x\"}", 12, 0, 0, row, &err), -1);
    assert_non_null(strstr(err.message, "missing field"));
    assert_int_equal(TRADE_ROWS.encode_row("{\"name\":\"x\"}", 12, 0, 0, row, &err), -1);
    assert_non_null(strstr(err.message, "unknown field 'name'"));
    assert_ptr_equal(row_format_of("tickers"), &TICKER_ROWS);
    assert_ptr_equal(row_format_of("trades"), &TRADE_ROWS);
    assert_null(row_format_of("quotes"));
}

static void trades_become_text_rows_with_their_numbers_as_received(void **unused)
{
    const char with_id[] = "{\"exchange\":\"binance\",\"base\":\"bitcoin\",\"quote\":\"tether\",\"direction\":\"sell\","
                           "\"price\":97431.25000000,\"volume\":0.00012000,\"timestamp\":1764000000123,\"tradeId\":77}";
    const char without[] = "{\"exchange\":\"bitso\",\"base\":\"xrp\",\"quote\":\"tether\",\"direction\":\"buy\","
                           "\"price\":0.6174,\"volume\":180,\"timestamp\":1651686997237,\"priceUsd\":0.6178606418423568}";
    char row[ROW_FORMAT_ROW_MAX];
    int length = TRADE_ROWS.encode_row(with_id, strlen(with_id), 3, 81234, row, NULL);
    const char want_with_id[] = "binance\tbitcoin\ttether\tsell\t97431.25000000\t0.00012000\t\\N\t"
                                "2025-11-24T16:00:00.123000Z\t77\t3\t81234\n";
    assert_int_equal(length, (int)strlen(want_with_id));
    assert_memory_equal(row, want_with_id, (size_t)length);
    length = TRADE_ROWS.encode_row(without, strlen(without), 0, 0, row, NULL);
    const char want_without[] = "bitso\txrp\ttether\tbuy\t0.6174\t180\t0.6178606418423568\t"
                                "2022-05-04T17:56:37.237000Z\t\\N\t0\t0\n";
    assert_int_equal(length, (int)strlen(want_without));
    assert_memory_equal(row, want_without, (size_t)length);
    assert_null(TRADE_ROWS.header);
    assert_non_null(strstr(TRADE_ROWS.copy_sql, "COPY trades ("));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_become_binary_copy_data_and_ranges),
        cmocka_unit_test(offsets_span_each_partition),
        cmocka_unit_test(dead_letters_keep_raw_bytes_and_escape_text),
        cmocka_unit_test(refused_rows_become_dead_letters_with_their_original_bytes),
        cmocka_unit_test(clear_forgets_everything_and_buffers_grow),
        cmocka_unit_test(a_message_that_does_not_decode_makes_no_row),
        cmocka_unit_test(trades_become_text_rows_with_their_numbers_as_received),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
