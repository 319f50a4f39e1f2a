/*
 * Fuzz target: WebSocket client messages (services/api/request.c, client_message_parse),
 * the text every browser sends the API server.
 *
 * Beyond "no crash": a rejection names one of the documented error codes and a reason
 * that makes an error frame;
 * an accepted message holds only valid, distinct ticker names and currency pairs (a pair's
 * position an offset, never negative), within the limit, and batching options in their
 * documented range (conflation only with an interval; none on unsubscribe or ping).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const ERROR_CODES[] = {"invalid_json",  "invalid_message",  "unknown_op",   "invalid_ticker",
                                          "invalid_since", "too_many_tickers", "invalid_pair",
                                          "invalid_batch", NULL};

static int documented_code(const char *code)
{
    for (int i = 0; code != NULL && ERROR_CODES[i] != NULL; i++)
        if (strcmp(code, ERROR_CODES[i]) == 0)
            return 1;
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The message is large (CLIENT_TICKERS_MAX names), as the API server's is: one, reused. */
    static struct client_message message;
    const char *code = NULL;
    struct error err;
    if (client_message_parse((const char *)data, size, &message, &code, &err) < 0) {
        if (!documented_code(code) || err.message[0] == '\0')
            abort();
        /* The error frame the client gets must exist whatever bytes the reason quotes. */
        struct frame *frame = frame_new_error(code, err.message, NULL);
        if (frame == NULL)
            abort();
        frame_release(frame);
        return 0;
    }
    if (message.count > CLIENT_TICKERS_MAX || (message.all && message.count != 0))
        abort();
    if (message.batch_ms != 0 && (message.batch_ms < CLIENT_BATCH_MIN_MS || message.batch_ms > CLIENT_BATCH_MAX_MS))
        abort();
    if ((message.conflate && message.batch_ms == 0) ||
        ((message.op == CLIENT_UNSUBSCRIBE || message.op == CLIENT_PING) && (message.batch_ms != 0 || message.conflate)))
        abort();
    static const char *names[CLIENT_TICKERS_MAX];
    for (size_t i = 0; i < message.count; i++) {
        const struct client_ticker *named = &message.tickers[i];
        names[i] = named->name;
        const char *slash = strchr(named->name, '/');
        if (named->pair != (slash != NULL))
            abort();
        if (!named->pair && ticker_validate_name(names[i], strlen(names[i]), NULL) < 0)
            abort();
        if (named->pair && (trade_validate_name(named->name, (size_t)(slash - named->name), "base", NULL) < 0 ||
                            trade_validate_name(slash + 1, strlen(slash + 1), "quote", NULL) < 0 ||
                            (named->since != CLIENT_NO_SINCE && named->since < 0)))
            abort();
        if (message.op != CLIENT_RESUME && named->pair != message.pairs)
            abort(); /* a subscribe or unsubscribe names one kind */
    }
    qsort(names, message.count, sizeof names[0], compare_names);
    for (size_t i = 1; i < message.count; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            abort(); /* duplicates are merged */
    return 0;
}
