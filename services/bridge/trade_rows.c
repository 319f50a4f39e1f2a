/* The trades topic -> trades, as text COPY rows (row_format.h). The prices and volumes go
 * in as the decimal text the feed sent: NUMERIC reads it without a binary round trip. */
#include <inttypes.h>
#include <stdio.h>

#include "row_format.h"
#include "timestamp.h"
#include "trade.h"

/* One text row: exchange, base, quote, direction, price, volume, price_usd, time, trade_id,
 * and the message's place in the topic (the position a WebSocket subscription to the pair
 * resumes from, docs/api.md). Names and numbers were validated (no tab, newline or
 * backslash): nothing to escape. */
static int encode_row(const char *payload, size_t length, int32_t partition, int64_t offset, char *row,
                      struct error *err)
{
    struct trade trade;
    if (trade_decode(payload, length, &trade, err) < 0)
        return -1;
    char time_text[TIMESTAMP_TEXT_SIZE], trade_id[24] = "\\N";
    timestamp_format(trade.timestamp_ms * 1000, time_text);
    if (trade.trade_id != TRADE_NO_ID)
        snprintf(trade_id, sizeof trade_id, "%" PRId64, trade.trade_id);
    int written = snprintf(row, ROW_FORMAT_ROW_MAX, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%" PRId32 "\t%" PRId64 "\n",
                           trade.exchange, trade.base, trade.quote, trade_direction_name(trade.direction), trade.price, trade.volume,
                           trade.price_usd[0] != '\0' ? trade.price_usd : "\\N", time_text, trade_id, partition, offset);
    if (written < 0 || written >= ROW_FORMAT_ROW_MAX)
        return error_set(err, "the trade's row is longer than %d bytes", ROW_FORMAT_ROW_MAX);
    return written;
}

const struct row_format TRADE_ROWS = {
    .kind = "trades",
    .table = "trades", .message_bytes = 250,
    .copy_sql = "COPY trades (exchange, base, quote, direction, price, volume, price_usd, time, trade_id, "
                "kafka_partition, kafka_offset) FROM STDIN",
    .encode_row = encode_row,
};
