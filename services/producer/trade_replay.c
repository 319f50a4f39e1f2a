#include "trade_replay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct trade_replay {
    FILE *file;
    char *path;
    long long speed;
    char *line;
    size_t line_capacity;
    int64_t line_number;
    int64_t skipped;
    /* This pass: where it began (both clocks) and the file's first trade's time and id. */
    int64_t pass_monotonic_ms, pass_wall_ms;
    int64_t first_ms;
    int64_t id_shift;         /* added to every trade id of this pass */
    int64_t first_id, last_id; /* of the file, as read so far (TRADE_NO_ID: none yet) */
    int64_t last_due_ms;      /* the last trade's, for the next pass */
    bool pass_started;
};

void trade_replay_close(struct trade_replay *replay)
{
    if (replay == NULL)
        return;
    if (replay->file != NULL)
        fclose(replay->file);
    free(replay->line);
    free(replay->path);
    free(replay);
}

/* Reads the next valid record of the file, starting it over at its end; counts and logs
 * the lines it skips. Returns 1 at the end of a pass with no record read, else 0 or -1. */
static int read_record(struct trade_replay *replay, struct trade *trade, struct error *err)
{
    for (;;) {
        errno = 0;
        ssize_t length = getline(&replay->line, &replay->line_capacity, replay->file);
        if (length < 0) {
            if (ferror(replay->file))
                return error_permanent(err, "reading %s: %s", replay->path, strerror(errno));
            return 1;
        }
        replay->line_number++;
        while (length > 0 && (replay->line[length - 1] == '\n' || replay->line[length - 1] == '\r'))
            length--;
        if (length == 0)
            continue;
        struct error line_error;
        if (trade_decode(replay->line, (size_t)length, trade, &line_error) == 0)
            return 0;
        replay->skipped++;
        if (replay->skipped <= 10 || replay->skipped % 1000 == 0)
            log_warn("%s:%" PRId64 ": not a trade record, skipped (%" PRId64 " so far): %s", replay->path,
                     replay->line_number, replay->skipped, line_error.message);
    }
}

struct trade_replay *trade_replay_open(const char *path, long long speed, struct error *err)
{
    struct trade_replay *replay = calloc(1, sizeof *replay);
    if (replay == NULL || (replay->path = strdup(path)) == NULL) {
        free(replay);
        error_set(err, "out of memory");
        return NULL;
    }
    replay->speed = speed < 1 ? 1 : speed;
    replay->first_id = replay->last_id = TRADE_NO_ID;
    replay->file = fopen(path, "r");
    if (replay->file == NULL) {
        error_permanent(err, "cannot open the replay file %s: %s", path, strerror(errno));
        trade_replay_close(replay);
        return NULL;
    }
    struct trade first;
    int rc = read_record(replay, &first, err);
    if (rc != 0) {
        if (rc > 0)
            error_permanent(err, "the replay file %s holds no valid trade record", path);
        trade_replay_close(replay);
        return NULL;
    }
    rewind(replay->file);
    replay->line_number = 0;
    replay->skipped = 0;
    return replay;
}

int trade_replay_next(struct trade_replay *replay, int64_t now_ms, int64_t wall_now_ms, struct trade *trade,
                      int64_t *due_ms, struct error *err)
{
    int rc = read_record(replay, trade, err);
    if (rc < 0)
        return -1;
    if (rc > 0) {
        /* The end: the next pass begins a moment after the last trade of this one, its ids
         * after this pass's last. */
        rewind(replay->file);
        replay->line_number = 0;
        int64_t gap_ms = 1000 / replay->speed + 1;
        replay->pass_wall_ms += replay->last_due_ms - replay->pass_monotonic_ms + gap_ms;
        replay->pass_monotonic_ms = replay->last_due_ms + gap_ms;
        if (replay->first_id != TRADE_NO_ID)
            replay->id_shift += replay->last_id - replay->first_id + 1;
        replay->pass_started = false;
        replay->first_id = replay->last_id = TRADE_NO_ID;
        if (read_record(replay, trade, err) != 0)
            return error_permanent(err, "the replay file %s no longer holds a valid trade record", replay->path);
        log_info("replaying %s again", replay->path);
    }
    if (!replay->pass_started) {
        if (replay->pass_monotonic_ms == 0) {
            replay->pass_monotonic_ms = now_ms;
            replay->pass_wall_ms = wall_now_ms;
        }
        replay->first_ms = trade->timestamp_ms;
        replay->pass_started = true;
    }
    int64_t since_first_ms = (trade->timestamp_ms - replay->first_ms) / replay->speed;
    if (since_first_ms < 0)
        since_first_ms = 0; /* a trade earlier than the first: due at once */
    *due_ms = replay->pass_monotonic_ms + since_first_ms;
    replay->last_due_ms = *due_ms;
    trade->timestamp_ms = replay->pass_wall_ms + since_first_ms;
    if (trade->trade_id != TRADE_NO_ID) {
        if (replay->first_id == TRADE_NO_ID || trade->trade_id < replay->first_id)
            replay->first_id = trade->trade_id;
        if (replay->last_id == TRADE_NO_ID || trade->trade_id > replay->last_id)
            replay->last_id = trade->trade_id;
        trade->trade_id += replay->id_shift;
    }
    return 0;
}

int64_t trade_replay_skipped(const struct trade_replay *replay)
{
    return replay->skipped;
}
