/*
 * Fuzz target: the ticker message decoder, which reads every Kafka message the bridge,
 * the aggregator and the API server consume (common/ticker.c).
 *
 * Beyond "no crash": whatever the decoder accepts must be a valid ticker that encodes,
 * and decoding that encoding must give the same ticker back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ticker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ticker decoded;
    struct error err;
    if (ticker_decode((const char *)data, size, &decoded, &err) < 0) {
        if (err.message[0] == '\0')
            abort(); /* every rejection says why */
        return 0;
    }
    char encoded[TICKER_JSON_MAX];
    int length = ticker_encode(&decoded, encoded, sizeof encoded, &err);
    if (length < 0)
        abort(); /* accepted, yet not a valid ticker */
    struct ticker again;
    if (ticker_decode(encoded, (size_t)length, &again, &err) < 0)
        abort();
    if (strcmp(again.name, decoded.name) != 0 || again.value != decoded.value || again.time_us != decoded.time_us)
        abort();
    return 0;
}
