#include "frame.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timestamp.h"

struct frame *frame_new(const char *ticker, const char *payload, size_t length)
{
    struct frame *frame = malloc(sizeof *frame + LWS_PRE + length);
    if (frame == NULL)
        return NULL;
    frame->next = NULL;
    frame->references = 1;
    snprintf(frame->ticker, sizeof frame->ticker, "%s", ticker);
    frame->length = length;
    memcpy(frame_payload(frame), payload, length);
    return frame;
}

struct frame *frame_new_tick(const struct ticker *ticker)
{
    char time_text[TIMESTAMP_TEXT_SIZE];
    char json[160];
    timestamp_format(ticker->time_us, time_text);
    /* The name is [A-Za-z0-9_] (validated on decode): nothing to escape. */
    int length = snprintf(json, sizeof json, "{\"type\":\"tick\",\"name\":\"%s\",\"value\":%d,\"time\":\"%s\"}",
                          ticker->name, (int)ticker->value, time_text);
    return frame_new(ticker->name, json, (size_t)length);
}

struct frame *frame_new_reply(const char *type, const char *key, const char *text)
{
    json_t *object = json_pack("{s:s, s:s}", "type", type, key, text);
    if (object == NULL)
        return NULL;
    char *json = json_dumps(object, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(object);
    if (json == NULL)
        return NULL;
    struct frame *frame = frame_new("", json, strlen(json));
    free(json);
    return frame;
}

void frame_release(struct frame *frame)
{
    if (frame != NULL && --frame->references == 0)
        free(frame);
}
