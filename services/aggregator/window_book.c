#include "window_book.h"

#include <stdlib.h>
#include <string.h>

/* One tick as a window keeps it. */
struct tick {
    int64_t time_us;
    int64_t offset;
    int32_t value;
};

/* One ticker's window: its ticks in event-time order (equal times in offset order). */
struct window {
    int64_t start_us;
    struct tick *ticks;
    size_t count, capacity;
    int64_t oldest_offset; /* the smallest offset among its ticks */
    bool dirty;            /* changed since its candle was last emitted */
};

/* A ticker's windows (by start, oldest first) and its anchor: the last tick of its purged
 * windows, which the first move of its oldest window is measured from. */
struct ticker_windows {
    char name[TICKER_NAME_MAX + 1];
    struct window *windows;
    size_t count, capacity;
    bool anchored;
    bool anchor_moved; /* since the last flush */
    struct tick anchor;
};

struct window_book {
    struct window_clock clock;
    struct ticker_windows **tickers; /* in order of first appearance */
    size_t ticker_count, ticker_capacity;
    size_t *slots; /* open addressing by name hash: index + 1 into tickers, 0 = empty */
    size_t slot_count;  /* a power of two, at least twice ticker_count */
    size_t held_ticks;  /* over all windows: bounded by rules.max_ticks */
};

struct window_book *window_book_new(const struct window_rules *rules, struct error *err)
{
    struct window_clock clock;
    if (window_clock_init(&clock, rules, err) < 0)
        return NULL;
    struct window_book *book = calloc(1, sizeof *book);
    if (book == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    book->clock = clock;
    return book;
}

static void free_window(struct window *window)
{
    free(window->ticks);
}

void window_book_destroy(struct window_book *book)
{
    if (book == NULL)
        return;
    for (size_t i = 0; i < book->ticker_count; i++) {
        struct ticker_windows *ticker = book->tickers[i];
        for (size_t w = 0; w < ticker->count; w++)
            free_window(&ticker->windows[w]);
        free(ticker->windows);
        free(ticker);
    }
    free(book->tickers);
    free(book->slots);
    free(book);
}

/* ---- tickers by name -------------------------------------------------------------------- */

static size_t hash_name(const char *name)
{
    size_t hash = 2166136261u; /* FNV-1a */
    for (; *name != '\0'; name++)
        hash = (hash ^ (unsigned char)*name) * 16777619u;
    return hash;
}

static size_t *slot_of(const struct window_book *book, const char *name)
{
    size_t mask = book->slot_count - 1;
    for (size_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
        size_t *slot = &book->slots[i];
        if (*slot == 0 || strcmp(book->tickers[*slot - 1]->name, name) == 0)
            return slot;
    }
}

static struct ticker_windows *find_ticker(const struct window_book *book, const char *name)
{
    if (book->slot_count == 0)
        return NULL;
    size_t index = *slot_of(book, name);
    return index == 0 ? NULL : book->tickers[index - 1];
}

static int grow_slots(struct window_book *book, struct error *err)
{
    size_t count = book->slot_count == 0 ? 64 : book->slot_count * 2;
    size_t *slots = calloc(count, sizeof *slots);
    if (slots == NULL)
        return error_set(err, "out of memory");
    free(book->slots);
    book->slots = slots;
    book->slot_count = count;
    for (size_t i = 0; i < book->ticker_count; i++)
        *slot_of(book, book->tickers[i]->name) = i + 1;
    return 0;
}

static struct ticker_windows *add_ticker(struct window_book *book, const char *name, struct error *err)
{
    if ((book->ticker_count + 1) * 2 > book->slot_count && grow_slots(book, err) < 0)
        return NULL;
    if (book->ticker_count == book->ticker_capacity) {
        size_t capacity = book->ticker_capacity == 0 ? 16 : book->ticker_capacity * 2;
        struct ticker_windows **grown = realloc(book->tickers, capacity * sizeof *grown);
        if (grown == NULL) {
            error_set(err, "out of memory");
            return NULL;
        }
        book->tickers = grown;
        book->ticker_capacity = capacity;
    }
    struct ticker_windows *ticker = calloc(1, sizeof *ticker);
    if (ticker == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    strncpy(ticker->name, name, TICKER_NAME_MAX);
    book->tickers[book->ticker_count++] = ticker;
    *slot_of(book, name) = book->ticker_count;
    return ticker;
}

static struct ticker_windows *ticker_named(struct window_book *book, const char *name, struct error *err)
{
    struct ticker_windows *ticker = find_ticker(book, name);
    return ticker != NULL ? ticker : add_ticker(book, name, err);
}

/* ---- time ------------------------------------------------------------------------------- */

static int64_t window_start(const struct window_book *book, int64_t time_us)
{
    return candle_window_start(time_us, book->clock.rules.length_us);
}

int64_t window_book_newest_us(const struct window_book *book)
{
    return book->clock.newest_us;
}

int64_t window_book_watermark_us(const struct window_book *book)
{
    return window_clock_watermark(&book->clock);
}

static bool is_closed(const struct window_book *book, int64_t start_us)
{
    return window_clock_closed(&book->clock, start_us);
}

static bool is_purged(const struct window_book *book, int64_t start_us)
{
    return window_clock_purged(&book->clock, start_us);
}

/* ---- restoring -------------------------------------------------------------------------- */

void window_book_advance_newest(struct window_book *book, int64_t newest_event_us)
{
    window_clock_advance(&book->clock, newest_event_us);
}

int window_book_restore_anchor(struct window_book *book, const char *name, int64_t time_us, int32_t value,
                               struct error *err)
{
    struct ticker_windows *ticker = ticker_named(book, name, err);
    if (ticker == NULL)
        return -1;
    ticker->anchored = true;
    ticker->anchor = (struct tick){time_us, -1, value};
    return 0;
}

/* ---- adding ----------------------------------------------------------------------------- */

/* The ticker's window starting at start_us, created in place if it has none. */
static struct window *window_at(struct ticker_windows *ticker, int64_t start_us, struct error *err)
{
    size_t at = ticker->count;
    while (at > 0 && ticker->windows[at - 1].start_us >= start_us) {
        if (ticker->windows[at - 1].start_us == start_us)
            return &ticker->windows[at - 1];
        at--;
    }
    if (ticker->count == ticker->capacity) {
        size_t capacity = ticker->capacity == 0 ? 4 : ticker->capacity * 2;
        struct window *grown = realloc(ticker->windows, capacity * sizeof *grown);
        if (grown == NULL) {
            error_set(err, "out of memory");
            return NULL;
        }
        ticker->windows = grown;
        ticker->capacity = capacity;
    }
    memmove(&ticker->windows[at + 1], &ticker->windows[at], (ticker->count - at) * sizeof *ticker->windows);
    ticker->windows[at] = (struct window){.start_us = start_us, .oldest_offset = INT64_MAX};
    ticker->count++;
    return &ticker->windows[at];
}

/* Inserts in event-time order, after ticks of the same time; returns its index. */
static int insert_tick(struct window *window, struct tick tick, size_t *index, struct error *err)
{
    if (window->count == window->capacity) {
        size_t capacity = window->capacity == 0 ? 64 : window->capacity * 2;
        struct tick *grown = realloc(window->ticks, capacity * sizeof *grown);
        if (grown == NULL)
            return error_set(err, "out of memory");
        window->ticks = grown;
        window->capacity = capacity;
    }
    size_t at = window->count;
    while (at > 0 && window->ticks[at - 1].time_us > tick.time_us)
        at--;
    memmove(&window->ticks[at + 1], &window->ticks[at], (window->count - at) * sizeof tick);
    window->ticks[at] = tick;
    window->count++;
    if (tick.offset < window->oldest_offset)
        window->oldest_offset = tick.offset;
    *index = at;
    return 0;
}

int window_book_add(struct window_book *book, const struct ticker *tick, int64_t offset, int64_t newest_limit_us,
                    enum window_verdict *verdict, struct error *err)
{
    int64_t moves_to_us = tick->time_us < newest_limit_us ? tick->time_us : newest_limit_us;
    int64_t start_us = window_start(book, tick->time_us);
    if (is_purged(book, start_us)) {
        *verdict = WINDOW_TOO_LATE;
        return 0;
    }
    struct ticker_windows *ticker = find_ticker(book, tick->name);
    const struct window_rules *rules = &book->clock.rules;
    if ((ticker == NULL && rules->max_tickers > 0 && book->ticker_count >= rules->max_tickers) ||
        (rules->max_ticks > 0 && book->held_ticks >= rules->max_ticks)) {
        /* Its time still moves the watermark: a full book must go on closing and purging
         * windows, or it would stay full for good. */
        window_book_advance_newest(book, moves_to_us);
        *verdict = WINDOW_OVER_LIMIT;
        return 0;
    }
    if (ticker == NULL && (ticker = add_ticker(book, tick->name, err)) == NULL)
        return -1;
    struct window *window = window_at(ticker, start_us, err);
    size_t index = 0;
    if (window == NULL || insert_tick(window, (struct tick){tick->time_us, offset, tick->value}, &index, err) < 0)
        return -1;
    book->held_ticks++;
    window->dirty = true;
    /* A new last tick moves the first move of the ticker's next window. */
    size_t position = (size_t)(window - ticker->windows);
    if (index == window->count - 1 && position + 1 < ticker->count)
        ticker->windows[position + 1].dirty = true;
    window_book_advance_newest(book, moves_to_us);
    *verdict = WINDOW_ACCEPTED;
    return 0;
}

/* ---- emitting --------------------------------------------------------------------------- */

/* The tick before window `position` of the ticker: the last of an earlier window, else the anchor. */
static const struct tick *tick_before(const struct ticker_windows *ticker, size_t position)
{
    for (size_t w = position; w > 0; w--) {
        const struct window *earlier = &ticker->windows[w - 1];
        if (earlier->count > 0)
            return &earlier->ticks[earlier->count - 1];
    }
    return ticker->anchored ? &ticker->anchor : NULL;
}

static void compute_candle(const struct window_book *book, const struct ticker_windows *ticker, size_t position,
                           struct candle *candle)
{
    const struct window *window = &ticker->windows[position];
    candle_start(candle, ticker->name, window->start_us, book->clock.rules.length_us);
    const struct tick *before = tick_before(ticker, position);
    for (size_t i = 0; i < window->count; i++) {
        candle_add(candle, window->ticks[i].value, before != NULL ? &before->value : NULL);
        before = &window->ticks[i];
    }
}

static int emit_closed(struct window_book *book, struct ticker_windows *ticker, window_candle_fn *on_candle,
                       void *context)
{
    for (size_t w = 0; w < ticker->count && is_closed(book, ticker->windows[w].start_us); w++) {
        struct window *window = &ticker->windows[w];
        if (!window->dirty || window->count == 0)
            continue;
        struct candle candle;
        compute_candle(book, ticker, w, &candle);
        int rc = on_candle(context, &candle);
        if (rc != 0)
            return rc;
        window->dirty = false;
    }
    return 0;
}

/* Drops the windows past their lateness (all closed and emitted by now), oldest first. */
static void purge_expired(struct window_book *book, struct ticker_windows *ticker)
{
    size_t purged = 0;
    while (purged < ticker->count && is_purged(book, ticker->windows[purged].start_us)) {
        struct window *window = &ticker->windows[purged];
        if (window->count > 0) {
            ticker->anchor = window->ticks[window->count - 1];
            ticker->anchored = true;
            ticker->anchor_moved = true;
        }
        book->held_ticks -= window->count;
        free_window(window);
        purged++;
    }
    memmove(ticker->windows, &ticker->windows[purged], (ticker->count - purged) * sizeof *ticker->windows);
    ticker->count -= purged;
}

int window_book_flush(struct window_book *book, window_candle_fn *on_candle, window_anchor_fn *on_anchor,
                      void *context)
{
    for (size_t i = 0; i < book->ticker_count; i++) {
        struct ticker_windows *ticker = book->tickers[i];
        int rc = emit_closed(book, ticker, on_candle, context);
        if (rc != 0)
            return rc;
        purge_expired(book, ticker);
        if (ticker->anchor_moved) {
            rc = on_anchor(context, ticker->name, ticker->anchor.time_us, ticker->anchor.value);
            if (rc != 0)
                return rc;
            ticker->anchor_moved = false;
        }
    }
    return 0;
}

int64_t window_book_replay_offset(const struct window_book *book, int64_t otherwise)
{
    int64_t oldest = otherwise;
    for (size_t i = 0; i < book->ticker_count; i++) {
        const struct ticker_windows *ticker = book->tickers[i];
        for (size_t w = 0; w < ticker->count; w++) {
            if (ticker->windows[w].oldest_offset < oldest)
                oldest = ticker->windows[w].oldest_offset;
        }
    }
    return oldest;
}

size_t window_book_windows(const struct window_book *book)
{
    size_t windows = 0;
    for (size_t i = 0; i < book->ticker_count; i++)
        windows += book->tickers[i]->count;
    return windows;
}

size_t window_book_ticks(const struct window_book *book)
{
    return book->held_ticks;
}

size_t window_book_tickers(const struct window_book *book)
{
    return book->ticker_count;
}
