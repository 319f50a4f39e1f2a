/*
 * Fuzz target: the ticker message decoder, which reads every Kafka message the bridge,
 * the aggregator and the API server consume (common/ticker.c).
 *
 * Beyond "no crash": whatever the decoder accepts must be a valid ticker that encodes,
 * and decoding that encoding must give the same ticker back. Its two readers must agree:
 * what the compact reader takes, the JSON reader (jansson) takes with the same result, and
 * every accepted ticker's encoding is read by the compact reader, as the producer's are.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ticker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ticker decoded, compact;
    struct error err;
    int taken_by_compact = ticker_decode_compact((const char *)data, size, &compact);
    if (ticker_decode_json((const char *)data, size, &decoded, &err) < 0) {
        if (err.message[0] == '\0' || taken_by_compact)
            abort(); /* every rejection says why; the compact reader took what JSON refuses */
        return 0;
    }
    if (taken_by_compact && (strcmp(compact.name, decoded.name) != 0 || compact.value != decoded.value ||
                             compact.time_us != decoded.time_us))
        abort();
    char encoded[TICKER_JSON_MAX];
    int length = ticker_encode(&decoded, encoded, sizeof encoded, &err);
    if (length < 0)
        abort(); /* accepted, yet not a valid ticker */
    struct ticker again;
    if (ticker_decode_compact(encoded, (size_t)length, &again) != 1)
        abort();
    if (strcmp(again.name, decoded.name) != 0 || again.value != decoded.value || again.time_us != decoded.time_us)
        abort();
    return 0;
}
