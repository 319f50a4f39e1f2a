/* The tickers topic -> records, as binary COPY rows (row_format.h). */
#include <stdint.h>
#include <string.h>

#include "row_format.h"
#include "ticker.h"
#include "timestamp.h"

/* PostgreSQL counts timestamps from 2000-01-01 00:00:00 UTC. */
#define POSTGRES_EPOCH_US (946684800LL * 1000000LL)

static const char HEADER[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
static const char TRAILER[2] = {'\xff', '\xff'};

static char *put_be16(char *out, uint16_t value)
{
    out[0] = (char)(value >> 8);
    out[1] = (char)value;
    return out + 2;
}

static char *put_be32(char *out, uint32_t value)
{
    for (int shift = 24; shift >= 0; shift -= 8)
        *out++ = (char)(value >> shift);
    return out;
}

static char *put_be64(char *out, uint64_t value)
{
    for (int shift = 56; shift >= 0; shift -= 8)
        *out++ = (char)(value >> shift);
    return out;
}

/* A binary row: field count, then (length, bytes) for name, time and value. */
static int encode_row(const char *payload, size_t length, int32_t partition, int64_t offset, char *row,
                      struct error *err)
{
    (void)partition, (void)offset; /* records keep no Kafka position */
    struct ticker ticker;
    if (ticker_decode(payload, length, &ticker, err) < 0)
        return -1;
    if (ticker.time_us < TIMESTAMP_MIN_US || ticker.time_us > TIMESTAMP_MAX_US)
        return error_set(err, "time outside years 0001..9999");
    size_t name_length = strlen(ticker.name);
    char *out = row;
    out = put_be16(out, 3);
    out = put_be32(out, (uint32_t)name_length);
    memcpy(out, ticker.name, name_length);
    out += name_length;
    out = put_be32(out, 8);
    out = put_be64(out, (uint64_t)(ticker.time_us - POSTGRES_EPOCH_US));
    out = put_be32(out, 4);
    out = put_be32(out, (uint32_t)ticker.value);
    return (int)(out - row);
}

const struct row_format TICKER_ROWS = {
    .kind = "tickers",
    .table = "records", .message_bytes = 100,
    .copy_sql = "COPY records (name, time, value) FROM STDIN (FORMAT binary)",
    .header = HEADER,
    .header_length = sizeof HEADER,
    .trailer = TRAILER,
    .trailer_length = sizeof TRAILER,
    .encode_row = encode_row,
};

const struct row_format *row_format_of(const char *kind)
{
    if (strcmp(kind, TICKER_ROWS.kind) == 0)
        return &TICKER_ROWS;
    if (strcmp(kind, TRADE_ROWS.kind) == 0)
        return &TRADE_ROWS;
    return NULL;
}
