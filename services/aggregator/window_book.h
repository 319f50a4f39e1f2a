/*
 * The candle math of the aggregator: event-time tumbling windows over the tickers of one
 * Kafka partition. Pure (no I/O), so it is unit-tested on its own.
 *
 * A tick at event time t belongs to its window (common/candle.h: windows aligned to the
 * Unix epoch); per window and ticker the book keeps the ticks in event-time order (ticks
 * with equal times keep their order in the partition) and computes the candle with
 * candle.h's arithmetic, each move measured from the ticker's tick before in event time,
 * which may lie in an earlier window.
 *
 * The watermark is the newest event time seen in the partition minus the allowed
 * out-of-orderness. A window closes (its candle is emitted) once the watermark reaches its
 * end. It is kept for `allowed_lateness` more: a tick arriving meanwhile corrects it, and
 * the corrected candle is emitted again. After that the window is purged and a tick for it
 * is too late: refused, never applied.
 *
 * How far one tick may move the newest time is the caller's to bound (a limit per tick):
 * a tick dated past the limit (a producer with a wrong clock) is held in its window like
 * any other, but moves the newest time only to the limit, so it cannot close the windows
 * of the real ticks that follow it.
 *
 * Restarts: everything the book holds can be rebuilt by restoring the watermark and the
 * anchors (the last tick of each ticker's purged windows) and re-adding the messages from
 * window_book_replay_offset on. Because a window is never re-created once purged and the
 * restored watermark is the newest, the replay rebuilds exactly the windows the book held,
 * and a restarted aggregator emits the same candles as one that never stopped.
 */
#ifndef AGGREGATOR_WINDOW_BOOK_H
#define AGGREGATOR_WINDOW_BOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "candle.h"
#include "error.h"
#include "ticker.h"
#include "window_clock.h"

enum window_verdict {
    WINDOW_ACCEPTED,
    WINDOW_TOO_LATE,   /* its window was already purged: the tick is not applied */
    WINDOW_OVER_LIMIT, /* the book holds max_ticks ticks, or max_tickers and this is a new
                        * one: not applied, but its time moves the watermark (so windows go on
                        * closing and being purged). A restart may then rebuild other windows
                        * than the book held (the replay meets the limit at other moments). */
    WINDOW_INVALID,    /* cannot be applied (a trade book's sum would outgrow its digits): err
                        * says why; its time does not move the watermark */
};

struct window_book;

/* Returns NULL (err set) for rules that make no sense or when out of memory.
 * Destroy with window_book_destroy. */
struct window_book *window_book_new(const struct window_rules *rules, struct error *err);
void window_book_destroy(struct window_book *book);

/* Restoring a saved state, before the first window_book_add: each ticker's anchor (its last
 * tick before any window it holds); the newest event time goes through
 * window_book_advance_newest. */
int window_book_restore_anchor(struct window_book *book, const char *name, int64_t time_us, int32_t value,
                               struct error *err);

/* Moves the newest event time forward to `newest_event_us` (never back), as if a tick of
 * that time had arrived: to restore a saved state, and for a partition gone quiet, whose
 * last minute would otherwise never close. WINDOW_BOOK_NO_TIME changes nothing. */
void window_book_advance_newest(struct window_book *book, int64_t newest_event_us);

/* No bound on how far a tick moves the newest event time. */
#define WINDOW_BOOK_NO_LIMIT INT64_MAX

/* Adds one tick, read at `offset` of the partition (offsets only grow between restores).
 * The newest event time moves to the tick's time, but no further than `newest_limit_us`
 * (WINDOW_BOOK_NO_LIMIT: no bound; WINDOW_BOOK_NO_TIME: not at all, for a replay).
 * Fails only when out of memory; *verdict says whether the tick was applied. */
int window_book_add(struct window_book *book, const struct ticker *tick, int64_t offset, int64_t newest_limit_us,
                    enum window_verdict *verdict, struct error *err);

/* The newest event time seen, and the watermark; WINDOW_BOOK_NO_TIME before any. */
int64_t window_book_newest_us(const struct window_book *book);
int64_t window_book_watermark_us(const struct window_book *book);

/* Called by window_book_flush; a non-zero return stops the flush and is passed on. */
typedef int window_candle_fn(void *context, const struct candle *candle);
typedef int window_anchor_fn(void *context, const char *name, int64_t time_us, int32_t value);

/* Emits the candle of every closed window that changed since the last flush (oldest
 * first per ticker), then purges the windows past their lateness and reports each
 * ticker whose anchor moved. After a failed callback the book's state is undefined:
 * rebuild it from the last saved state. */
int window_book_flush(struct window_book *book, window_candle_fn *on_candle, window_anchor_fn *on_anchor,
                      void *context);

/* The offset of the oldest tick any window still holds, or `otherwise` when it holds none:
 * where a replay must start to rebuild the book. */
int64_t window_book_replay_offset(const struct window_book *book, int64_t otherwise);

/* Windows held (open, or closed but still taking corrections), and the ticks they hold. */
size_t window_book_windows(const struct window_book *book);
size_t window_book_ticks(const struct window_book *book);
size_t window_book_tickers(const struct window_book *book);

#endif
