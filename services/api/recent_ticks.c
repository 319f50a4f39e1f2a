#include "recent_ticks.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct window {
    char ticker[TICKER_NAME_MAX + 1]; /* "" for a free slot */
    size_t head, count;
    struct frame **frames; /* ring of per_ticker frames */
};

struct recent_ticks {
    size_t per_ticker;
    size_t max_tickers, tickers;
    size_t capacity; /* slots, a power of two, at least twice max_tickers */
    struct window *windows;
    bool full_reported;
};

static uint32_t hash_name(const char *name)
{
    uint32_t hash = 2166136261u; /* FNV-1a */
    for (; *name != '\0'; name++)
        hash = (hash ^ (uint8_t)*name) * 16777619u;
    return hash;
}

/* The window of `ticker`, or the free slot where it belongs. */
static struct window *find_slot(const struct recent_ticks *recent, const char *ticker)
{
    size_t mask = recent->capacity - 1;
    for (size_t i = hash_name(ticker) & mask;; i = (i + 1) & mask) {
        struct window *window = &recent->windows[i];
        if (window->ticker[0] == '\0' || strcmp(window->ticker, ticker) == 0)
            return window;
    }
}

struct recent_ticks *recent_ticks_new(size_t per_ticker, size_t max_tickers, struct error *err)
{
    struct recent_ticks *recent = calloc(1, sizeof *recent);
    if (recent == NULL)
        goto out_of_memory;
    recent->per_ticker = per_ticker;
    recent->max_tickers = max_tickers;
    for (recent->capacity = 16; recent->capacity < max_tickers * 2; recent->capacity *= 2)
        ;
    recent->windows = calloc(recent->capacity, sizeof *recent->windows);
    if (recent->windows == NULL)
        goto out_of_memory;
    return recent;

out_of_memory:
    recent_ticks_destroy(recent);
    error_set(err, "out of memory");
    return NULL;
}

void recent_ticks_destroy(struct recent_ticks *recent)
{
    if (recent == NULL)
        return;
    for (size_t i = 0; recent->windows != NULL && i < recent->capacity; i++) {
        struct window *window = &recent->windows[i];
        for (size_t j = 0; j < window->count; j++)
            frame_release(window->frames[(window->head + j) % recent->per_ticker]);
        free(window->frames);
    }
    free(recent->windows);
    free(recent);
}

void recent_ticks_remember(struct recent_ticks *recent, struct frame *frame)
{
    if (recent->per_ticker == 0)
        return;
    struct window *window = find_slot(recent, frame->ticker);
    if (window->ticker[0] == '\0') {
        if (recent->tickers == recent->max_tickers) {
            if (!recent->full_reported)
                log_warn("more than %zu distinct tickers: new ones get no replay window", recent->max_tickers);
            recent->full_reported = true;
            return;
        }
        window->frames = calloc(recent->per_ticker, sizeof *window->frames);
        if (window->frames == NULL)
            return; /* only the replay of this ticker is lost */
        memcpy(window->ticker, frame->ticker, sizeof window->ticker);
        recent->tickers++;
    }
    if (window->count == recent->per_ticker) {
        frame_release(window->frames[window->head]);
        window->head = (window->head + 1) % recent->per_ticker;
        window->count--;
    }
    window->frames[(window->head + window->count) % recent->per_ticker] = frame_ref(frame);
    window->count++;
}

size_t recent_ticks_of(const struct recent_ticks *recent, const char *ticker, struct frame **out, size_t max)
{
    if (recent->per_ticker == 0)
        return 0;
    const struct window *window = find_slot(recent, ticker);
    size_t count = window->count < max ? window->count : max;
    size_t skip = window->count - count; /* keep the newest when `max` is smaller */
    for (size_t i = 0; i < count; i++)
        out[i] = window->frames[(window->head + skip + i) % recent->per_ticker];
    return count;
}
