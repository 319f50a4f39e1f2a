#include "frame.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timestamp.h"
#include "error.h"
#include "utf8.h"

static struct frame *frame_alloc(enum frame_kind kind, const char *payload, size_t length)
{
    struct frame *frame = malloc(sizeof *frame + LWS_PRE + length);
    if (frame == NULL)
        return NULL;
    *frame = (struct frame){.kind = kind, .references = 1, .ticker_id = -1, .previous = INT64_MIN,
                            .length = length};
    memcpy(frame_payload(frame), payload, length);
    return frame;
}

struct frame *frame_new(const char *payload, size_t length)
{
    return frame_alloc(FRAME_CONTROL, payload, length);
}

/* A JSON string of a time, or null for INT64_MIN. */
static void format_optional_time(int64_t microseconds, char out[TIMESTAMP_TEXT_SIZE + 2])
{
    char text[TIMESTAMP_TEXT_SIZE];
    if (microseconds == INT64_MIN || timestamp_format(microseconds, text) < 0)
        strcpy(out, "null");
    else
        snprintf(out, TIMESTAMP_TEXT_SIZE + 2, "\"%s\"", text);
}

struct frame *frame_new_tick(int ticker_id, const struct ticker *ticker, const struct tick_origin *origin)
{
    char time_text[TIMESTAMP_TEXT_SIZE], previous[TIMESTAMP_TEXT_SIZE + 2], position[64] = "";
    char json[256];
    timestamp_format(ticker->time_us, time_text);
    format_optional_time(origin->previous, previous);
    if (origin->partition >= 0)
        snprintf(position, sizeof position, ",\"partition\":%" PRId32 ",\"offset\":%" PRId64, origin->partition,
                 origin->offset);
    /* The name is [A-Za-z0-9_] (validated on decode): nothing to escape. */
    int length = snprintf(json, sizeof json, "{\"type\":\"tick\",\"name\":\"%s\",\"value\":%d,\"time\":\"%s\",\"prev\":%s%s}",
                          ticker->name, (int)ticker->value, time_text, previous, position);
    struct frame *frame = frame_alloc(FRAME_TICK, json, (size_t)length);
    if (frame != NULL) {
        frame->ticker_id = ticker_id;
        memcpy(frame->key, ticker->name, sizeof ticker->name);
        frame->position = ticker->time_us;
        frame->previous = origin->previous;
    }
    return frame;
}

/* A JSON integer, or null for INT64_MIN. */
static void format_optional_integer(int64_t value, char out[24])
{
    if (value == INT64_MIN)
        strcpy(out, "null");
    else
        snprintf(out, 24, "%" PRId64, value);
}

struct frame *frame_new_trade(int ticker_id, const struct trade *trade, const struct tick_origin *origin)
{
    char pair[TRADE_PAIR_MAX + 1], time_text[TIMESTAMP_TEXT_SIZE], trade_id[24], previous[24], json[768];
    trade_pair(trade, pair);
    timestamp_format(trade->timestamp_ms * 1000, time_text);
    format_optional_integer(trade->trade_id == TRADE_NO_ID ? INT64_MIN : trade->trade_id, trade_id);
    format_optional_integer(origin->previous, previous);
    /* Names and numbers were validated on decode ([a-z0-9._-], JSON numbers): nothing to escape. */
    int length = snprintf(json, sizeof json,
                          "{\"type\":\"trade\",\"pair\":\"%s\",\"time\":\"%s\",\"exchange\":\"%s\",\"direction\":\"%s\","
                          "\"price\":%s,\"volume\":%s,\"price_usd\":%s,\"trade_id\":%s,\"partition\":%" PRId32
                          ",\"offset\":%" PRId64 ",\"prev\":%s}",
                          pair, time_text, trade->exchange, trade_direction_name(trade->direction), trade->price,
                          trade->volume, trade->price_usd[0] != '\0' ? trade->price_usd : "null", trade_id,
                          origin->partition, origin->offset, previous);
    if (length < 0 || (size_t)length >= sizeof json)
        return NULL;
    struct frame *frame = frame_alloc(FRAME_TICK, json, (size_t)length);
    if (frame != NULL) {
        frame->ticker_id = ticker_id;
        frame->pair = true;
        memcpy(frame->key, pair, sizeof pair);
        frame->position = origin->offset;
        frame->previous = origin->previous;
    }
    return frame;
}

struct frame *frame_new_gap(int ticker_id, bool pair, const char *key, int64_t after, int64_t before, int64_t missed)
{
    char after_text[TIMESTAMP_TEXT_SIZE + 2], before_text[TIMESTAMP_TEXT_SIZE + 2], missed_text[24], json[256];
    if (pair) {
        format_optional_integer(after, after_text);
        format_optional_integer(before, before_text);
    } else {
        format_optional_time(after, after_text);
        format_optional_time(before, before_text);
    }
    format_optional_integer(missed < 0 ? INT64_MIN : missed, missed_text);
    int length = snprintf(json, sizeof json, "{\"type\":\"gap\",\"%s\":\"%s\",\"after\":%s,\"before\":%s,\"missed\":%s}",
                          pair ? "pair" : "name", key, after_text, before_text, missed_text);
    struct frame *frame = frame_alloc(FRAME_GAP, json, (size_t)length);
    if (frame != NULL) {
        frame->ticker_id = ticker_id;
        frame->pair = pair;
        snprintf(frame->key, sizeof frame->key, "%s", key);
        frame->position = before;
        frame->previous = after;
        frame->gap_missed = missed;
    }
    return frame;
}

static struct frame *frame_from_json(json_t *object)
{
    if (object == NULL)
        return NULL;
    char *json = json_dumps(object, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(object);
    if (json == NULL)
        return NULL;
    struct frame *frame = frame_new(json, strlen(json));
    free(json);
    return frame;
}

struct frame *frame_new_reply(const char *type, const char *key, const char *text)
{
    return frame_from_json(json_pack("{s:s, s:s}", "type", type, key, text));
}

struct frame *frame_new_error(const char *code, const char *reason, const char *key)
{
    /* The reason may quote the client's bytes: made valid UTF-8, or JSON would refuse it
     * and the client would get no error at all. */
    char valid_reason[ERROR_MESSAGE_MAX], valid_key[ERROR_MESSAGE_MAX];
    utf8_copy_valid(valid_reason, sizeof valid_reason, reason);
    json_t *object = json_pack("{s:s, s:s, s:s}", "type", "error", "code", code, "error", valid_reason);
    if (object != NULL && key != NULL) {
        utf8_copy_valid(valid_key, sizeof valid_key, key);
        json_object_set_new(object, strchr(key, '/') != NULL ? "pair" : "ticker", json_string(valid_key));
    }
    return frame_from_json(object);
}

struct frame *frame_new_candle(const char *name, const struct live_candle *live)
{
    char start[TIMESTAMP_TEXT_SIZE], end[TIMESTAMP_TEXT_SIZE], json[384];
    const struct candle *candle = &live->candle;
    timestamp_format(candle->start_us, start);
    timestamp_format(candle->end_us, end);
    int length = snprintf(json, sizeof json,
                          "{\"type\":\"candle\",\"name\":\"%s\",\"start\":\"%s\",\"end\":\"%s\",\"open\":%d,"
                          "\"high\":%d,\"low\":%d,\"close\":%d,\"up_moves\":%" PRId64 ",\"down_moves\":%" PRId64
                          ",\"ticks\":%" PRId64 ",\"partial\":%s}",
                          name, start, end, (int)candle->open, (int)candle->high, (int)candle->low, (int)candle->close,
                          candle->up_moves, candle->down_moves, candle->ticks, live->partial ? "true" : "false");
    return frame_new(json, (size_t)length);
}

struct frame *frame_new_market_candle(const char *pair, const struct market_candle *candle)
{
    char start[TIMESTAMP_TEXT_SIZE], end[TIMESTAMP_TEXT_SIZE], json[1024];
    char open[DECIMAL_TEXT_MAX], high[DECIMAL_TEXT_MAX], low[DECIMAL_TEXT_MAX], close[DECIMAL_TEXT_MAX];
    char bought[DECIMAL_TEXT_MAX], sold[DECIMAL_TEXT_MAX];
    timestamp_format(candle->start_us, start);
    timestamp_format(candle->start_us + MARKET_CANDLE_LENGTH_US, end);
    decimal_format(&candle->open, open, sizeof open);
    decimal_format(&candle->high, high, sizeof high);
    decimal_format(&candle->low, low, sizeof low);
    decimal_format(&candle->close, close, sizeof close);
    decimal_format(&candle->volume_buy, bought, sizeof bought);
    decimal_format(&candle->volume_sell, sold, sizeof sold);
    int length = snprintf(json, sizeof json,
                          "{\"type\":\"candle\",\"pair\":\"%s\",\"start\":\"%s\",\"end\":\"%s\",\"open\":%s,"
                          "\"high\":%s,\"low\":%s,\"close\":%s,\"volume_buy\":%s,\"volume_sell\":%s,\"trades\":%" PRId64
                          ",\"partial\":%s}",
                          pair, start, end, open, high, low, close, bought, sold, candle->trades,
                          candle->partial ? "true" : "false");
    if (length < 0 || (size_t)length >= sizeof json)
        return NULL;
    return frame_new(json, (size_t)length);
}

static void release_items(struct batch_item *items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        frame_release(items[i].frame);
    free(items);
}

void frame_release(struct frame *frame)
{
    if (frame != NULL && --frame->references == 0) {
        release_items(frame->items, frame->item_count);
        free(frame);
    }
}

#define BATCH_HEAD "{\"type\":\"ticks\",\"ticks\":["
#define COUNT_TEXT_MAX 32 /* ,"count":<int64>} */

struct frame *frame_new_batch(struct batch_item *items, size_t count)
{
    size_t length = sizeof BATCH_HEAD - 1 + 2; /* the head, "]}" */
    for (size_t i = 0; i < count; i++)
        length += items[i].frame->length + 1 + (items[i].conflated ? COUNT_TEXT_MAX : 0);
    struct frame *frame = malloc(sizeof *frame + LWS_PRE + length);
    if (frame == NULL) {
        release_items(items, count);
        return NULL;
    }
    *frame = (struct frame){.kind = FRAME_BATCH, .references = 1, .ticker_id = -1, .previous = INT64_MIN,
                            .items = items, .item_count = count};
    /* The items' own bytes, copied: each was encoded once, for every client that gets it. */
    char *out = (char *)frame_payload(frame);
    size_t at = sizeof BATCH_HEAD - 1;
    memcpy(out, BATCH_HEAD, at);
    for (size_t i = 0; i < count; i++) {
        const struct frame *message = items[i].frame;
        if (i > 0)
            out[at++] = ',';
        if (items[i].conflated && message->kind == FRAME_TICK) { /* the object's '}' becomes ,"count":N} */
            memcpy(out + at, frame_payload((struct frame *)message), message->length - 1);
            at += message->length - 1;
            at += (size_t)snprintf(out + at, COUNT_TEXT_MAX + 1, ",\"count\":%" PRId64 "}", items[i].count);
        } else {
            memcpy(out + at, frame_payload((struct frame *)message), message->length);
            at += message->length;
        }
    }
    out[at++] = ']';
    out[at++] = '}';
    frame->length = at;
    return frame;
}
