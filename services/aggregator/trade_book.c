#include "trade_book.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candle.h"

/* One pair's window: the running candle, and where its first and last trades stand in
 * event-time order (time, then offset). */
struct trade_window {
    struct trade_candle candle;
    int64_t first_time_us, first_offset;
    int64_t last_time_us, last_offset;
    int64_t oldest_offset;
    bool dirty; /* changed since it was last emitted */
};

/* A pair's windows, by start, oldest first. */
struct pair_windows {
    char pair[TRADE_PAIR_MAX + 1];
    uint32_t hash;
    struct trade_window *windows;
    size_t count, capacity;
};

struct trade_book {
    struct window_clock clock;
    struct pair_windows *pairs;
    size_t pair_count, pair_capacity;
    size_t held_trades;
};

struct trade_book *trade_book_new(const struct window_rules *rules, struct error *err)
{
    struct window_clock clock;
    if (window_clock_init(&clock, rules, err) < 0)
        return NULL;
    struct trade_book *book = calloc(1, sizeof *book);
    if (book == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    book->clock = clock;
    return book;
}

void trade_book_destroy(struct trade_book *book)
{
    if (book == NULL)
        return;
    for (size_t i = 0; i < book->pair_count; i++)
        free(book->pairs[i].windows);
    free(book->pairs);
    free(book);
}

/* ---- time (window_clock.h, as window_book's) ---------------------------------------------- */

int64_t trade_book_newest_us(const struct trade_book *book)
{
    return book->clock.newest_us;
}

int64_t trade_book_watermark_us(const struct trade_book *book)
{
    return window_clock_watermark(&book->clock);
}

void trade_book_advance_newest(struct trade_book *book, int64_t newest_event_us)
{
    window_clock_advance(&book->clock, newest_event_us);
}

/* ---- pairs and windows ---------------------------------------------------------------------- */

static uint32_t hash_pair(const char *pair)
{
    uint32_t hash = 2166136261u; /* FNV-1a */
    for (; *pair != '\0'; pair++)
        hash = (hash ^ (unsigned char)*pair) * 16777619u;
    return hash;
}

/* A partition carries a handful of pairs (they are its keys): a scan comparing hashes first
 * costs less than a hash table's upkeep. */
static struct pair_windows *find_pair(struct trade_book *book, const char *pair, uint32_t hash)
{
    for (size_t i = 0; i < book->pair_count; i++) {
        if (book->pairs[i].hash == hash && strcmp(book->pairs[i].pair, pair) == 0)
            return &book->pairs[i];
    }
    return NULL;
}

static struct pair_windows *add_pair(struct trade_book *book, const char *pair, uint32_t hash, struct error *err)
{
    if (book->pair_count == book->pair_capacity) {
        size_t capacity = book->pair_capacity == 0 ? 8 : book->pair_capacity * 2;
        struct pair_windows *grown = realloc(book->pairs, capacity * sizeof *grown);
        if (grown == NULL) {
            error_set(err, "out of memory");
            return NULL;
        }
        book->pairs = grown;
        book->pair_capacity = capacity;
    }
    struct pair_windows *added = &book->pairs[book->pair_count++];
    *added = (struct pair_windows){.hash = hash};
    snprintf(added->pair, sizeof added->pair, "%s", pair);
    return added;
}

/* The pair's window starting at start_us, created in place (empty) if it has none. */
static struct trade_window *window_at(const struct trade_book *book, struct pair_windows *pair, int64_t start_us,
                                      struct error *err)
{
    size_t at = pair->count;
    while (at > 0 && pair->windows[at - 1].candle.start_us >= start_us) {
        if (pair->windows[at - 1].candle.start_us == start_us)
            return &pair->windows[at - 1];
        at--;
    }
    if (pair->count == pair->capacity) {
        size_t capacity = pair->capacity == 0 ? 4 : pair->capacity * 2;
        struct trade_window *grown = realloc(pair->windows, capacity * sizeof *grown);
        if (grown == NULL) {
            error_set(err, "out of memory");
            return NULL;
        }
        pair->windows = grown;
        pair->capacity = capacity;
    }
    memmove(&pair->windows[at + 1], &pair->windows[at], (pair->count - at) * sizeof *pair->windows);
    struct trade_window *window = &pair->windows[at];
    *window = (struct trade_window){.oldest_offset = INT64_MAX};
    snprintf(window->candle.pair, sizeof window->candle.pair, "%s", pair->pair);
    window->candle.start_us = start_us;
    window->candle.end_us = start_us + book->clock.rules.length_us;
    window->candle.volume_buy = window->candle.volume_sell = decimal_zero(0);
    pair->count++;
    return window;
}

/* Applies one trade to its window; the window is unchanged when it fails. */
static int apply(struct trade_window *window, const struct trade *trade, const struct trade_numbers *numbers,
                 int64_t time_us, int64_t offset, struct error *err)
{
    const struct decimal price = numbers->price, volume = numbers->volume;
    struct trade_candle *candle = &window->candle;
    struct decimal *side = trade->direction == TRADE_BUY ? &candle->volume_buy : &candle->volume_sell;
    struct decimal summed = *side;
    if (decimal_add(&summed, &volume, err) < 0)
        return -1;
    *side = summed;
    if (candle->trades == 0) {
        candle->open = candle->high = candle->low = candle->close = price;
        window->first_time_us = window->last_time_us = time_us;
        window->first_offset = window->last_offset = offset;
    } else {
        if (time_us < window->first_time_us || (time_us == window->first_time_us && offset < window->first_offset)) {
            candle->open = price;
            window->first_time_us = time_us;
            window->first_offset = offset;
        }
        if (time_us > window->last_time_us || (time_us == window->last_time_us && offset > window->last_offset)) {
            candle->close = price;
            window->last_time_us = time_us;
            window->last_offset = offset;
        }
        if (decimal_compare(&price, &candle->high) > 0)
            candle->high = price;
        if (decimal_compare(&price, &candle->low) < 0)
            candle->low = price;
    }
    candle->trades++;
    if (trade->direction == TRADE_BUY)
        candle->trades_buy++;
    else
        candle->trades_sell++;
    if (offset < window->oldest_offset)
        window->oldest_offset = offset;
    window->dirty = true;
    return 0;
}

int trade_book_add(struct trade_book *book, const struct trade *trade, const struct trade_numbers *numbers,
                   int64_t offset, int64_t newest_limit_us, enum window_verdict *verdict, struct error *err)
{
    int64_t time_us = trade->timestamp_ms * 1000;
    int64_t moves_to_us = time_us < newest_limit_us ? time_us : newest_limit_us;
    int64_t start_us = candle_window_start(time_us, book->clock.rules.length_us);
    if (window_clock_purged(&book->clock, start_us)) {
        *verdict = WINDOW_TOO_LATE;
        return 0;
    }
    char name[TRADE_PAIR_MAX + 1];
    trade_pair(trade, name);
    uint32_t hash = hash_pair(name);
    struct pair_windows *pair = find_pair(book, name, hash);
    const struct window_rules *rules = &book->clock.rules;
    if ((pair == NULL && rules->max_tickers > 0 && book->pair_count >= rules->max_tickers) ||
        (rules->max_ticks > 0 && book->held_trades >= rules->max_ticks)) {
        trade_book_advance_newest(book, moves_to_us); /* a full book goes on closing windows */
        *verdict = WINDOW_OVER_LIMIT;
        return 0;
    }
    if (pair == NULL && (pair = add_pair(book, name, hash, err)) == NULL)
        return -1;
    struct trade_window *window = window_at(book, pair, start_us, err);
    if (window == NULL)
        return -1;
    struct error why;
    if (apply(window, trade, numbers, time_us, offset, &why) < 0) {
        if (window->candle.trades == 0) { /* just created: take it out again */
            size_t at = (size_t)(window - pair->windows);
            memmove(window, window + 1, (pair->count - at - 1) * sizeof *window);
            pair->count--;
        }
        error_set(err, "cannot be added to the window of %s: %s", name, why.message);
        *verdict = WINDOW_INVALID;
        return 0;
    }
    book->held_trades++;
    trade_book_advance_newest(book, moves_to_us);
    *verdict = WINDOW_ACCEPTED;
    return 0;
}

/* ---- emitting ------------------------------------------------------------------------------- */

int trade_book_flush(struct trade_book *book, trade_candle_fn *on_candle, void *context)
{
    for (size_t i = 0; i < book->pair_count; i++) {
        struct pair_windows *pair = &book->pairs[i];
        for (size_t w = 0; w < pair->count && window_clock_closed(&book->clock, pair->windows[w].candle.start_us); w++) {
            struct trade_window *window = &pair->windows[w];
            if (!window->dirty)
                continue;
            int rc = on_candle(context, &window->candle);
            if (rc != 0)
                return rc;
            window->dirty = false;
        }
        size_t purged = 0;
        while (purged < pair->count && window_clock_purged(&book->clock, pair->windows[purged].candle.start_us))
            book->held_trades -= (size_t)pair->windows[purged++].candle.trades;
        memmove(pair->windows, &pair->windows[purged], (pair->count - purged) * sizeof *pair->windows);
        pair->count -= purged;
    }
    return 0;
}

int64_t trade_book_replay_offset(const struct trade_book *book, int64_t otherwise)
{
    int64_t oldest = otherwise;
    for (size_t i = 0; i < book->pair_count; i++) {
        for (size_t w = 0; w < book->pairs[i].count; w++) {
            if (book->pairs[i].windows[w].oldest_offset < oldest)
                oldest = book->pairs[i].windows[w].oldest_offset;
        }
    }
    return oldest;
}

size_t trade_book_windows(const struct trade_book *book)
{
    size_t windows = 0;
    for (size_t i = 0; i < book->pair_count; i++)
        windows += book->pairs[i].count;
    return windows;
}

size_t trade_book_trades(const struct trade_book *book)
{
    return book->held_trades;
}

size_t trade_book_pairs(const struct trade_book *book)
{
    return book->pair_count;
}
