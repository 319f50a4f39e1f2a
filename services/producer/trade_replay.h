/*
 * Plays a recorded trade file back as if it were a live feed, for a machine with no
 * internet (this one, CI, a laptop on a train): one trade record per line (the trades
 * topic's own format, docs/message-format.md), in time order, such as the sample in
 * services/producer/samples/. Each trade is due when as much time has passed since the
 * pass began as passed in the file since its first trade, divided by the speed; it is then
 * stamped with that moment, so the trades are always dated now. At the end the file starts
 * over (a new pass, its trade ids moved past the last pass's), for as long as the producer
 * runs. A line that is not a valid record is counted, logged and skipped.
 *
 * One thread.
 */
#ifndef PRODUCER_TRADE_REPLAY_H
#define PRODUCER_TRADE_REPLAY_H

#include <stdint.h>

#include "error.h"
#include "trade.h"

struct trade_replay;

/* Opens `path` and checks that it holds at least one valid record; `speed` >= 1 (1: as
 * recorded; 60: an hour in a minute). Destroy with trade_replay_close. */
struct trade_replay *trade_replay_open(const char *path, long long speed, struct error *err);
void trade_replay_close(struct trade_replay *replay);

/* The next trade, dated and numbered for this pass, and the monotonic time (ms) it is due
 * at. `now_ms` is the monotonic clock and `wall_now_ms` the wall clock now. Returns -1
 * (ERROR_PERMANENT) when the file can no longer be read. */
int trade_replay_next(struct trade_replay *replay, int64_t now_ms, int64_t wall_now_ms, struct trade *trade,
                      int64_t *due_ms, struct error *err);

/* Lines skipped because they were not valid records, so far. */
int64_t trade_replay_skipped(const struct trade_replay *replay);

#endif
