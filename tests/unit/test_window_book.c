#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "window_book.h"

#define SECOND 1000000LL
#define MINUTE (60 * SECOND)

/* What the flushes emitted: the latest candle per (name, start), and every anchor report. */
#define MAX_CANDLES 4096
struct emitted {
    struct candle candles[MAX_CANDLES];
    size_t count;
    size_t emissions; /* candles emitted, counting re-emissions */
    char anchor_names[256][TICKER_NAME_MAX + 1];
    int64_t anchor_times[256];
    int32_t anchor_values[256];
    size_t anchors;
};

static struct candle *candle_of(struct emitted *out, const char *name, int64_t start_us)
{
    for (size_t i = 0; i < out->count; i++) {
        if (out->candles[i].start_us == start_us && strcmp(out->candles[i].name, name) == 0)
            return &out->candles[i];
    }
    return NULL;
}

static int on_candle(void *context, const struct candle *candle)
{
    struct emitted *out = context;
    struct candle *slot = candle_of(out, candle->name, candle->start_us);
    if (slot == NULL) {
        assert_true(out->count < MAX_CANDLES);
        slot = &out->candles[out->count++];
    }
    *slot = *candle;
    out->emissions++;
    return 0;
}

static int on_anchor(void *context, const char *name, int64_t time_us, int32_t value)
{
    struct emitted *out = context;
    size_t i = 0;
    while (i < out->anchors && strcmp(out->anchor_names[i], name) != 0)
        i++;
    if (i == out->anchors) {
        assert_true(out->anchors < 256);
        out->anchors++;
    }
    strcpy(out->anchor_names[i], name);
    out->anchor_times[i] = time_us;
    out->anchor_values[i] = value;
    return 0;
}

static const struct window_rules RULES = {MINUTE, 2 * SECOND, 30 * SECOND, 0, 0}; /* no memory limits */

static struct window_book *new_book(const struct window_rules *rules)
{
    struct window_book *book = window_book_new(rules, NULL);
    assert_non_null(book);
    return book;
}

static enum window_verdict add_limited(struct window_book *book, const char *name, int64_t time_us, int32_t value,
                                       int64_t offset, int64_t newest_limit_us)
{
    struct ticker tick = {.value = value, .time_us = time_us};
    strcpy(tick.name, name);
    enum window_verdict verdict;
    assert_int_equal(window_book_add(book, &tick, offset, newest_limit_us, &verdict, NULL), 0);
    return verdict;
}

static enum window_verdict add(struct window_book *book, const char *name, int64_t time_us, int32_t value,
                               int64_t offset)
{
    return add_limited(book, name, time_us, value, offset, WINDOW_BOOK_NO_LIMIT);
}

static void flush(struct window_book *book, struct emitted *out)
{
    assert_int_equal(window_book_flush(book, on_candle, on_anchor, out), 0);
}

static void assert_candle(const struct candle *c, int32_t open, int32_t high, int32_t low, int32_t close,
                          int64_t up, int64_t down, int64_t ticks)
{
    assert_non_null(c);
    assert_int_equal(c->open, open);
    assert_int_equal(c->high, high);
    assert_int_equal(c->low, low);
    assert_int_equal(c->close, close);
    assert_int_equal(c->up_moves, up);
    assert_int_equal(c->down_moves, down);
    assert_int_equal(c->ticks, ticks);
}

static void window_boundaries_and_closing_by_watermark(void **unused)
{
    struct window_book *book = new_book(&RULES);
    struct emitted *out = calloc(1, sizeof *out);
    const int64_t t0 = 1800000000LL * SECOND; /* a minute boundary: 30,000,000 minutes */
    add(book, "a", t0, 1, 0);
    add(book, "a", t0 + MINUTE - 1, 2, 1); /* the last microsecond of the first minute */
    add(book, "a", t0 + MINUTE, 3, 2);     /* the first of the next */
    flush(book, out);
    assert_int_equal(out->count, 0); /* watermark t0 + 58 s: nothing closed */

    add(book, "a", t0 + MINUTE + 2 * SECOND - 1, 4, 3);
    flush(book, out);
    assert_int_equal(out->count, 0); /* watermark one microsecond short of the end */
    add(book, "a", t0 + MINUTE + 2 * SECOND, 3, 4);
    flush(book, out);
    assert_int_equal(out->count, 1);
    const struct candle *c = candle_of(out, "a", t0);
    assert_candle(c, 1, 2, 1, 2, 1, 0, 2); /* the first tick ever has no move */
    assert_int_equal(c->end_us, t0 + MINUTE);

    /* Before the epoch, windows still start at multiples of the length. */
    struct window_book *old = new_book(&RULES);
    add(old, "b", -1, 7, 0);
    add(old, "b", 5 * MINUTE, 8, 1);
    flush(old, out);
    c = candle_of(out, "b", -MINUTE);
    assert_candle(c, 7, 7, 7, 7, 0, 0, 1);
    window_book_destroy(old);
    window_book_destroy(book);
    free(out);
}

static void moves_count_from_the_tick_before_even_in_an_earlier_window(void **unused)
{
    struct window_book *book = new_book(&RULES);
    struct emitted *out = calloc(1, sizeof *out);
    const int64_t t0 = 1800000000LL * SECOND;
    int32_t value = 0;
    int64_t offset = 0;
    /* Three minutes of a walk, one tick a second: +1 twice, -1 once, repeated. */
    for (int s = 0; s < 180; s++) {
        value += s % 3 == 2 ? -1 : 1;
        add(book, "w", t0 + s * SECOND, value, offset++);
    }
    add(book, "w", t0 + 10 * MINUTE, value, offset++); /* closes and purges all three */
    flush(book, out);
    int64_t up = 0, down = 0, ticks = 0;
    for (int m = 0; m < 3; m++) {
        const struct candle *c = candle_of(out, "w", t0 + m * MINUTE);
        assert_non_null(c);
        up += c->up_moves;
        down += c->down_moves;
        ticks += c->ticks;
        if (m > 0) /* the minute's first tick moved from the previous minute's last */
            assert_int_equal(c->up_moves + c->down_moves, c->ticks);
    }
    assert_int_equal(ticks, 180);
    assert_int_equal(up, 119); /* 120 rises, but the very first tick has no predecessor */
    assert_int_equal(down, 60);
    /* The anchor is the last tick of the purged windows. */
    assert_int_equal(out->anchors, 1);
    assert_int_equal(out->anchor_times[0], t0 + 179 * SECOND);
    assert_int_equal(out->anchor_values[0], value);
    window_book_destroy(book);
    free(out);
}

static void out_of_order_ticks_give_the_in_order_candle(void **unused)
{
    const int64_t t0 = 1800000000LL * SECOND;
    const int32_t values[6] = {5, 6, 5, 4, 5, 6};
    const int order[6] = {0, 2, 1, 4, 3, 5};
    struct emitted *in_order = calloc(1, sizeof *in_order), *shuffled = calloc(1, sizeof *shuffled);
    struct window_book *a = new_book(&RULES), *b = new_book(&RULES);
    for (int i = 0; i < 6; i++) {
        add(a, "x", t0 + i * SECOND, values[i], i);
        add(b, "x", t0 + order[i] * SECOND, values[order[i]], i);
    }
    add(a, "x", t0 + 2 * MINUTE, 0, 6);
    add(b, "x", t0 + 2 * MINUTE, 0, 6);
    flush(a, in_order);
    flush(b, shuffled);
    assert_candle(candle_of(in_order, "x", t0), 5, 6, 4, 6, 3, 2, 6);
    assert_candle(candle_of(shuffled, "x", t0), 5, 6, 4, 6, 3, 2, 6);

    /* Equal times keep the partition's order: open is the first read, close the last. */
    struct window_book *c = new_book(&RULES);
    add(c, "y", t0 + SECOND, 1, 0);
    add(c, "y", t0 + SECOND, 2, 1);
    add(c, "y", t0, 3, 2);
    add(c, "y", t0 + 2 * MINUTE, 0, 3);
    flush(c, shuffled);
    assert_candle(candle_of(shuffled, "y", t0), 3, 3, 1, 2, 1, 1, 3);
    window_book_destroy(a);
    window_book_destroy(b);
    window_book_destroy(c);
    free(in_order);
    free(shuffled);
}

static void a_late_tick_corrects_the_emitted_candle_and_the_next(void **unused)
{
    struct window_book *book = new_book(&RULES);
    struct emitted *out = calloc(1, sizeof *out);
    const int64_t t0 = 1800000000LL * SECOND;
    add(book, "z", t0 + 10 * SECOND, 1, 0);
    add(book, "z", t0 + 20 * SECOND, 2, 1);
    add(book, "z", t0 + MINUTE + 5 * SECOND, 3, 2);
    add(book, "z", t0 + 2 * MINUTE + 5 * SECOND, 4, 3); /* watermark t0 + 2:03: two minutes closed */
    flush(book, out);
    assert_candle(candle_of(out, "z", t0), 1, 2, 1, 2, 1, 0, 2);
    assert_candle(candle_of(out, "z", t0 + MINUTE), 3, 3, 3, 3, 1, 0, 1);
    size_t before = out->emissions;

    /* Late for minute 0, but within its 30 s of lateness? No: minute 0 ended 63 s before
     * the watermark, so it is purged... */
    assert_int_equal(add(book, "z", t0 + 30 * SECOND, 9, 4), WINDOW_TOO_LATE);
    flush(book, out);
    assert_int_equal(out->emissions, before);
    assert_candle(candle_of(out, "z", t0), 1, 2, 1, 2, 1, 0, 2);

    /* ... while minute 1 ended 3 s ago and still takes corrections: a new last tick, which
     * also changes the first move of minute 2 once that closes. */
    assert_int_equal(add(book, "z", t0 + MINUTE + 50 * SECOND, 1, 5), WINDOW_ACCEPTED);
    flush(book, out);
    assert_int_equal(out->emissions, before + 1);
    assert_candle(candle_of(out, "z", t0 + MINUTE), 3, 3, 1, 1, 1, 1, 2);
    assert_null(candle_of(out, "z", t0 + 2 * MINUTE)); /* still open */
    add(book, "z", t0 + 3 * MINUTE + 2 * SECOND, 5, 6);
    flush(book, out);
    assert_candle(candle_of(out, "z", t0 + 2 * MINUTE), 4, 4, 4, 4, 1, 0, 1);
    window_book_destroy(book);
    free(out);
}

static void replay_offset_is_the_oldest_tick_held(void **unused)
{
    struct window_book *book = new_book(&RULES);
    struct emitted *out = calloc(1, sizeof *out);
    const int64_t t0 = 1800000000LL * SECOND;
    assert_int_equal(window_book_replay_offset(book, 42), 42);
    add(book, "p", t0 + 5 * SECOND, 1, 100);
    add(book, "q", t0 + 1 * SECOND, 1, 101);
    add(book, "p", t0 + MINUTE, 2, 102);
    assert_int_equal(window_book_replay_offset(book, 103), 100);
    assert_int_equal(window_book_windows(book), 3);
    add(book, "q", t0 + 2 * MINUTE + 31 * SECOND, 2, 103); /* watermark 2:29: only minute 0 purged */
    flush(book, out);
    assert_int_equal(window_book_windows(book), 2);
    assert_int_equal(window_book_replay_offset(book, 104), 102);
    window_book_destroy(book);
    free(out);
}

static void advancing_the_newest_time_closes_a_quiet_partition(void **unused)
{
    struct window_book *book = new_book(&RULES);
    struct emitted *out = calloc(1, sizeof *out);
    const int64_t t0 = 1800000000LL * SECOND;
    add(book, "q", t0 + 58 * SECOND, 1, 0);
    add(book, "q", t0 + 59 * SECOND, 2, 1);
    flush(book, out);
    assert_int_equal(out->count, 0);
    window_book_advance_newest(book, t0 + 61 * SECOND); /* watermark 0:59: not yet */
    flush(book, out);
    assert_int_equal(out->count, 0);
    window_book_advance_newest(book, t0 + 62 * SECOND);
    flush(book, out);
    assert_candle(candle_of(out, "q", t0), 1, 2, 1, 2, 1, 0, 2);
    window_book_advance_newest(book, t0); /* never back */
    assert_int_equal(window_book_newest_us(book), t0 + 62 * SECOND);
    /* Past the lateness the window is purged: a tick for it is now too late. */
    window_book_advance_newest(book, t0 + 92 * SECOND);
    flush(book, out);
    assert_int_equal(window_book_windows(book), 0);
    assert_int_equal(add(book, "q", t0 + 30 * SECOND, 5, 2), WINDOW_TOO_LATE);
    window_book_destroy(book);
    free(out);
}

static void bad_rules_are_refused(void **unused)
{
    struct error err;
    struct window_rules rules = {0, 0, 0, 0, 0};
    assert_null(window_book_new(&rules, &err));
    assert_non_null(strstr(err.message, "positive"));
}

/* ---- restart equivalence ----------------------------------------------------------------- */

struct message {
    char name[TICKER_NAME_MAX + 1];
    int64_t time_us;
    int32_t value;
};

/* A partition's messages: four tickers walking one step a second, with event times
 * jittered back by up to 3 s (some beyond the out-of-orderness) and now and then one
 * 40-100 s late (some within the lateness, some too late). */
static struct message *make_messages(size_t count, unsigned seed)
{
    struct message *messages = calloc(count, sizeof *messages);
    int32_t values[4] = {0};
    const int64_t t0 = 1800000000LL * SECOND;
    srand(seed);
    for (size_t i = 0; i < count; i++) {
        int k = (int)(i % 4);
        values[k] += rand() % 2 ? 1 : -1;
        int64_t time_us = t0 + (int64_t)(i / 4) * SECOND - (rand() % 3000) * 1000;
        if (rand() % 50 == 0)
            time_us -= (40 + rand() % 60) * SECOND;
        snprintf(messages[i].name, sizeof messages[i].name, "t%d", k);
        messages[i].time_us = time_us;
        messages[i].value = values[k];
    }
    return messages;
}

static void feed(struct window_book *book, const struct message *messages, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        add(book, messages[i].name, messages[i].time_us, messages[i].value, (int64_t)i);
}

/* What an aggregator saves at a checkpoint, and the candles it wrote. */
struct saved {
    struct emitted written;
    int64_t newest_us;
    int64_t replay_offset;
};

static void checkpoint(struct window_book *book, struct saved *saved, size_t next_offset)
{
    flush(book, &saved->written);
    saved->newest_us = window_book_newest_us(book);
    saved->replay_offset = window_book_replay_offset(book, (int64_t)next_offset);
}

static struct window_book *restore(const struct saved *saved)
{
    struct window_book *book = new_book(&RULES);
    window_book_advance_newest(book, saved->newest_us);
    for (size_t i = 0; i < saved->written.anchors; i++)
        assert_int_equal(window_book_restore_anchor(book, saved->written.anchor_names[i],
                                                    saved->written.anchor_times[i],
                                                    saved->written.anchor_values[i], NULL),
                         0);
    return book;
}

static void restarts_at_any_checkpoint_write_the_same_candles(void **unused)
{
    const size_t COUNT = 4000; /* 1,000 s of four tickers */
    struct message *messages = make_messages(COUNT, 7);

    struct saved *clean = calloc(1, sizeof *clean);
    struct window_book *book = new_book(&RULES);
    for (size_t at = 0; at < COUNT; at += 100) {
        feed(book, messages, at, at + 100);
        checkpoint(book, clean, at + 100);
    }
    window_book_destroy(book);
    assert_true(clean->written.count > 50);

    for (size_t crash = 100; crash < COUNT; crash += 300) {
        /* Checkpoints up to `crash`, then messages after it that are lost with the process. */
        struct saved *saved = calloc(1, sizeof *saved);
        book = new_book(&RULES);
        for (size_t at = 0; at < crash; at += 100) {
            feed(book, messages, at, at + 100);
            checkpoint(book, saved, at + 100);
        }
        feed(book, messages, crash, crash + 57);
        window_book_destroy(book);

        /* Restart: restore and replay from the saved replay offset to the end. */
        assert_true(saved->replay_offset <= (int64_t)crash);
        book = restore(saved);
        for (size_t at = (size_t)saved->replay_offset; at < COUNT; at += 100) {
            size_t to = at + 100 < COUNT ? at + 100 : COUNT;
            feed(book, messages, at, to);
            checkpoint(book, saved, to);
        }
        window_book_destroy(book);

        assert_int_equal(saved->written.count, clean->written.count);
        for (size_t i = 0; i < clean->written.count; i++) {
            const struct candle *want = &clean->written.candles[i];
            const struct candle *got = candle_of(&saved->written, want->name, want->start_us);
            assert_non_null(got);
            assert_int_equal(got->end_us, want->end_us);
            assert_candle(got, want->open, want->high, want->low, want->close, want->up_moves, want->down_moves,
                          want->ticks);
        }
        free(saved);
    }
    free(clean);
    free(messages);
}

static void memory_limits_refuse_ticks_until_windows_are_purged(void **unused)
{
    struct window_rules rules = RULES;
    rules.max_tickers = 2;
    rules.max_ticks = 4;
    struct window_book *book = new_book(&rules);
    assert_int_equal(add(book, "a", 1 * SECOND, 1, 0), WINDOW_ACCEPTED);
    assert_int_equal(add(book, "b", 2 * SECOND, 1, 1), WINDOW_ACCEPTED);
    assert_int_equal(add(book, "c", 3 * SECOND, 1, 2), WINDOW_OVER_LIMIT); /* a third ticker */
    assert_int_equal(add(book, "a", 4 * SECOND, 2, 3), WINDOW_ACCEPTED);
    assert_int_equal(add(book, "b", 5 * SECOND, 2, 4), WINDOW_ACCEPTED);
    assert_int_equal(window_book_ticks(book), 4);
    assert_int_equal(add(book, "a", 6 * SECOND, 3, 5), WINDOW_OVER_LIMIT); /* a fifth tick */
    assert_int_equal(window_book_tickers(book), 2);
    /* A refused tick still moves event time, or a full book could never close a window. */
    assert_int_equal(add(book, "a", MINUTE + 2 * SECOND, 9, 6), WINDOW_OVER_LIMIT);
    assert_int_equal(window_book_newest_us(book), MINUTE + 2 * SECOND);

    /* The refused tick changed nothing: the candle is that of the accepted ones. */
    struct emitted out = {0};
    flush(book, &out);
    assert_int_equal(out.count, 2);
    assert_candle(&out.candles[0], 1, 2, 1, 2, 1, 0, 2);

    /* Once the minute is purged (closed + lateness), its ticks no longer count. */
    window_book_advance_newest(book, MINUTE + 2 * SECOND + 30 * SECOND);
    flush(book, &out);
    assert_int_equal(window_book_ticks(book), 0);
    assert_int_equal(add(book, "a", 2 * MINUTE, 3, 7), WINDOW_ACCEPTED);
    assert_int_equal(add(book, "c", 2 * MINUTE, 1, 8), WINDOW_OVER_LIMIT); /* tickers stay: their anchors */
    window_book_destroy(book);
}

/* ---- ticks dated ahead of the clock ------------------------------------------------------ */

/* Two tickers tick every second for `seconds` from t0 (read at that moment: the clock);
 * after `bad_after` of them, one message of ticker "a" dated `ahead` past the clock. */
struct timed_tick {
    char name[4];
    int64_t time_us, clock_us;
    int32_t value;
};

static size_t make_skewed(struct timed_tick *ticks, int64_t t0, int seconds, size_t bad_after, int64_t ahead_us)
{
    size_t count = 0;
    int32_t values[2] = {0, 0};
    for (int second = 0; second < seconds; second++) {
        for (int k = 0; k < 2; k++) {
            values[k] += (second * 7 + k) % 3 == 0 ? -1 : 1;
            int64_t now = t0 + second * SECOND + k * 1000;
            ticks[count++] = (struct timed_tick){{(char)('a' + k), 0}, now, now, values[k]};
            if (count == bad_after)
                ticks[count++] = (struct timed_tick){"a", now + ahead_us, now, 1000};
        }
    }
    return count;
}

/* The candle of (name, minute) computed from every tick at once: the reference. */
static bool reference_candle(const struct timed_tick *ticks, size_t count, const char *name, int64_t start_us,
                             struct candle *c)
{
    /* The ticker's ticks in time order (insertion sort of indexes; stable for equal times). */
    size_t order[1024], n = 0;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(ticks[i].name, name) != 0)
            continue;
        size_t at = n++;
        while (at > 0 && ticks[order[at - 1]].time_us > ticks[i].time_us) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = i;
    }
    bool found = false;
    for (size_t j = 0; j < n; j++) {
        const struct timed_tick *t = &ticks[order[j]];
        int64_t start = t->time_us / MINUTE * MINUTE;
        if (start != start_us)
            continue;
        if (!found)
            *c = (struct candle){.open = t->value, .high = t->value, .low = t->value};
        found = true;
        c->high = t->value > c->high ? t->value : c->high;
        c->low = t->value < c->low ? t->value : c->low;
        c->close = t->value;
        c->ticks++;
        if (j > 0) {
            c->up_moves += t->value > ticks[order[j - 1]].value;
            c->down_moves += t->value < ticks[order[j - 1]].value;
        }
    }
    return found;
}

static void assert_candles_are_the_reference(const struct emitted *out, const struct timed_tick *ticks, size_t count)
{
    for (size_t i = 0; i < out->count; i++) {
        const struct candle *got = &out->candles[i];
        struct candle want;
        assert_true(reference_candle(ticks, count, got->name, got->start_us, &want));
        assert_candle(got, want.open, want.high, want.low, want.close, want.up_moves, want.down_moves, want.ticks);
    }
}

static void a_tick_dated_ahead_of_the_clock_is_held_without_closing_the_minutes_before_it(void **unused)
{
    const int64_t t0 = 1800000000LL * SECOND;
    const int64_t limit_us = 1 * SECOND; /* how far past the clock a tick may move the newest time */
    struct timed_tick *ticks = calloc(1024, sizeof *ticks);
    size_t count = make_skewed(ticks, t0, 400, 41, 3 * MINUTE); /* at t0 + 20 s, a tick dated t0 + 3:20 */

    struct window_book *book = new_book(&RULES);
    struct emitted *out = calloc(1, sizeof *out);
    for (size_t i = 0; i < count; i++) {
        enum window_verdict verdict =
            add_limited(book, ticks[i].name, ticks[i].time_us, ticks[i].value, (int64_t)i, ticks[i].clock_us + limit_us);
        assert_int_equal(verdict, WINDOW_ACCEPTED); /* no real tick is too late */
        assert_true(window_book_newest_us(book) <= ticks[i].clock_us + limit_us);
        if (i % 10 == 0)
            flush(book, out);
    }
    flush(book, out);
    /* Every minute the watermark closed, the future tick's included, equals the reference. */
    assert_int_equal(out->count, 2 * 6);
    assert_candles_are_the_reference(out, ticks, count);
    assert_int_equal(candle_of(out, "a", t0 + 3 * MINUTE)->high, 1000);

    /* Without the limit, the same sequence loses the real ticks that follow the bad one. */
    struct window_book *unbounded = new_book(&RULES);
    size_t too_late = 0;
    for (size_t i = 0; i < count; i++)
        too_late += add(unbounded, ticks[i].name, ticks[i].time_us, ticks[i].value, (int64_t)i) == WINDOW_TOO_LATE;
    assert_true(too_late > 100);
    window_book_destroy(unbounded);
    window_book_destroy(book);
    free(out);
    free(ticks);
}

static void a_replay_does_not_move_the_newest_time_again(void **unused)
{
    /* Restored at its saved newest time, a book that replays messages (limit NO_TIME: they were
     * counted before) ends where the one that never stopped did, whatever the clock says now. */
    const int64_t t0 = 1800000000LL * SECOND;
    struct timed_tick *ticks = calloc(1024, sizeof *ticks);
    size_t count = make_skewed(ticks, t0, 200, 41, 3 * MINUTE);
    struct saved *clean = calloc(1, sizeof *clean), *restarted = calloc(1, sizeof *restarted);

    struct window_book *book = new_book(&RULES);
    for (size_t i = 0; i < count; i++)
        add_limited(book, ticks[i].name, ticks[i].time_us, ticks[i].value, (int64_t)i, ticks[i].clock_us + SECOND);
    checkpoint(book, clean, count);
    window_book_destroy(book);
    assert_int_equal(clean->written.count, 2 * 3);

    /* The same messages up to 150, a checkpoint, and a crash. */
    book = new_book(&RULES);
    for (size_t i = 0; i <= 150; i++)
        add_limited(book, ticks[i].name, ticks[i].time_us, ticks[i].value, (int64_t)i, ticks[i].clock_us + SECOND);
    checkpoint(book, restarted, 151);
    window_book_destroy(book);

    /* Restart after message 150, replaying from the saved replay offset: the held future
     * tick pinned it before 150, so the replay reads it again. */
    assert_true(restarted->replay_offset <= 41);
    book = restore(restarted);
    for (size_t i = (size_t)restarted->replay_offset; i < count; i++)
        add_limited(book, ticks[i].name, ticks[i].time_us, ticks[i].value, (int64_t)i,
                    i <= 150 ? WINDOW_BOOK_NO_TIME : ticks[i].clock_us + SECOND);
    checkpoint(book, restarted, count);
    assert_int_equal(window_book_newest_us(book), clean->newest_us);
    window_book_destroy(book);
    assert_int_equal(restarted->written.count, clean->written.count);
    assert_candles_are_the_reference(&restarted->written, ticks, count);

    /* Had the replay judged those messages by today's clock (no limit: the clock is past the
     * future tick by now), it would have moved the watermark and lost real ticks. */
    book = new_book(&RULES);
    size_t too_late = 0;
    for (size_t i = 0; i < count; i++)
        too_late += add_limited(book, ticks[i].name, ticks[i].time_us, ticks[i].value, (int64_t)i,
                                i <= 150 ? WINDOW_BOOK_NO_LIMIT : ticks[i].clock_us + SECOND) == WINDOW_TOO_LATE;
    window_book_destroy(book);
    assert_true(too_late > 0);
    free(clean);
    free(restarted);
    free(ticks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(window_boundaries_and_closing_by_watermark),
        cmocka_unit_test(moves_count_from_the_tick_before_even_in_an_earlier_window),
        cmocka_unit_test(out_of_order_ticks_give_the_in_order_candle),
        cmocka_unit_test(a_late_tick_corrects_the_emitted_candle_and_the_next),
        cmocka_unit_test(replay_offset_is_the_oldest_tick_held),
        cmocka_unit_test(advancing_the_newest_time_closes_a_quiet_partition),
        cmocka_unit_test(bad_rules_are_refused),
        cmocka_unit_test(restarts_at_any_checkpoint_write_the_same_candles),
        cmocka_unit_test(memory_limits_refuse_ticks_until_windows_are_purged),
        cmocka_unit_test(a_tick_dated_ahead_of_the_clock_is_held_without_closing_the_minutes_before_it),
        cmocka_unit_test(a_replay_does_not_move_the_newest_time_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
