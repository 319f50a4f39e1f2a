/*
 * Fuzz target: the trade record decoder (common/trade.c) and the flat JSON reader under it
 * (common/flat_json.c), which read every message of the trades topic and every frame of a
 * trade feed.
 *
 * Beyond "no crash": every rejection says why; whatever is accepted is a valid trade that
 * encodes, and decoding that encoding gives the same trade back, numbers to the last
 * character; its price and volume are exact decimals whose NUMERIC text is stable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "trade.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_or_abort(const struct trade *a, const struct trade *b)
{
    if (strcmp(a->exchange, b->exchange) != 0 || strcmp(a->base, b->base) != 0 || strcmp(a->quote, b->quote) != 0 ||
        a->direction != b->direction || strcmp(a->price, b->price) != 0 || strcmp(a->volume, b->volume) != 0 ||
        strcmp(a->price_usd, b->price_usd) != 0 || a->timestamp_ms != b->timestamp_ms || a->trade_id != b->trade_id)
        abort();
}

/* A number's NUMERIC text parses back to the same text. */
static void stable_or_abort(const char *text)
{
    struct decimal value, again;
    char formatted[DECIMAL_TEXT_MAX], reformatted[DECIMAL_TEXT_MAX];
    if (decimal_parse(text, strlen(text), &value, NULL) < 0)
        abort();
    decimal_format(&value, formatted, sizeof formatted);
    if (decimal_parse(formatted, strlen(formatted), &again, NULL) < 0 || decimal_compare(&value, &again) != 0)
        abort();
    decimal_format(&again, reformatted, sizeof reformatted);
    if (strcmp(formatted, reformatted) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trade decoded, again;
    struct error err = {0};
    if (trade_decode((const char *)data, size, &decoded, &err) < 0) {
        if (err.message[0] == '\0')
            abort();
        return 0;
    }
    char encoded[TRADE_JSON_MAX];
    int length = trade_encode(&decoded, encoded, sizeof encoded, &err);
    if (length < 0 || trade_decode(encoded, (size_t)length, &again, &err) < 0)
        abort();
    same_or_abort(&decoded, &again);
    stable_or_abort(decoded.price);
    stable_or_abort(decoded.volume);
    /* The numbers read while decoding are the text's, digit and scale. */
    struct trade_numbers numbers;
    struct decimal price, volume;
    if (trade_decode_numbers((const char *)data, size, &again, &numbers, &err) < 0 ||
        decimal_parse(decoded.price, strlen(decoded.price), &price, NULL) < 0 ||
        decimal_parse(decoded.volume, strlen(decoded.volume), &volume, NULL) < 0 ||
        decimal_compare(&numbers.price, &price) != 0 || numbers.price.scale != price.scale ||
        decimal_compare(&numbers.volume, &volume) != 0 || numbers.volume.scale != volume.scale)
        abort();
    return 0;
}
