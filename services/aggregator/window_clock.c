#include "window_clock.h"

int window_clock_init(struct window_clock *clock, const struct window_rules *rules, struct error *err)
{
    if (rules->length_us <= 0 || rules->out_of_orderness_us < 0 || rules->allowed_lateness_us < 0)
        return error_set(err, "window length must be positive, out-of-orderness and lateness not negative");
    clock->rules = *rules;
    clock->newest_us = WINDOW_BOOK_NO_TIME;
    return 0;
}

void window_clock_advance(struct window_clock *clock, int64_t newest_us)
{
    if (clock->newest_us == WINDOW_BOOK_NO_TIME || newest_us > clock->newest_us)
        clock->newest_us = newest_us;
}

int64_t window_clock_watermark(const struct window_clock *clock)
{
    if (clock->newest_us == WINDOW_BOOK_NO_TIME)
        return WINDOW_BOOK_NO_TIME;
    return clock->newest_us - clock->rules.out_of_orderness_us;
}

bool window_clock_closed(const struct window_clock *clock, int64_t start_us)
{
    int64_t watermark = window_clock_watermark(clock);
    return watermark != WINDOW_BOOK_NO_TIME && start_us + clock->rules.length_us <= watermark;
}

bool window_clock_purged(const struct window_clock *clock, int64_t start_us)
{
    int64_t watermark = window_clock_watermark(clock);
    return watermark != WINDOW_BOOK_NO_TIME &&
           start_us + clock->rules.length_us + clock->rules.allowed_lateness_us <= watermark;
}
