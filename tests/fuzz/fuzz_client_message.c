/*
 * Fuzz target: WebSocket client messages (services/api/request.c, client_message_parse),
 * the text every browser sends the API server.
 *
 * Beyond "no crash": a rejection names one of the documented error codes and a reason
 * that makes an error frame;
 * an accepted message holds only valid, distinct ticker names, within the limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const ERROR_CODES[] = {"invalid_json",  "invalid_message", "unknown_op",      "invalid_ticker",
                                          "invalid_since", "too_many_tickers", NULL};

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
    static const char *names[CLIENT_TICKERS_MAX];
    for (size_t i = 0; i < message.count; i++) {
        names[i] = message.tickers[i].name;
        if (ticker_validate_name(names[i], strlen(names[i]), NULL) < 0)
            abort();
    }
    qsort(names, message.count, sizeof names[0], compare_names);
    for (size_t i = 1; i < message.count; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            abort(); /* duplicates are merged */
    return 0;
}
