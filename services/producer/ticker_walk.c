#include "ticker_walk.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ticker_walk {
    size_t count;
    uint64_t random_state;
    char (*names)[TICKER_NAME_MAX + 1];
    int32_t *values;
};

void ticker_walk_name(size_t index, size_t count, char out[TICKER_NAME_MAX + 1])
{
    int width = 2;
    for (size_t limit = 100; count > limit; limit *= 10)
        width++;
    snprintf(out, TICKER_NAME_MAX + 1, "ticker_%0*zu", width, index);
}

struct ticker_walk *ticker_walk_new(size_t count, uint64_t seed, struct error *err)
{
    if (count < 1 || count > TICKER_WALK_MAX) {
        error_set(err, "ticker count %zu is outside 1..%d", count, TICKER_WALK_MAX);
        return NULL;
    }
    struct ticker_walk *walk = calloc(1, sizeof *walk);
    if (walk == NULL)
        goto out_of_memory;
    walk->names = calloc(count, sizeof *walk->names);
    walk->values = calloc(count, sizeof *walk->values);
    if (walk->names == NULL || walk->values == NULL)
        goto out_of_memory;
    walk->count = count;
    walk->random_state = seed != 0 ? seed : 0x9e3779b97f4a7c15ULL; /* xorshift must not start at 0 */
    for (size_t i = 0; i < count; i++)
        ticker_walk_name(i, count, walk->names[i]);
    return walk;

out_of_memory:
    ticker_walk_destroy(walk);
    error_set(err, "out of memory");
    return NULL;
}

void ticker_walk_destroy(struct ticker_walk *walk)
{
    if (walk == NULL)
        return;
    free(walk->names);
    free(walk->values);
    free(walk);
}

size_t ticker_walk_count(const struct ticker_walk *walk)
{
    return walk->count;
}

const char *ticker_walk_name_of(const struct ticker_walk *walk, size_t index)
{
    return walk->names[index];
}

int32_t ticker_walk_value(const struct ticker_walk *walk, size_t index)
{
    return walk->values[index];
}

void ticker_walk_set_value(struct ticker_walk *walk, size_t index, int32_t value)
{
    walk->values[index] = value;
}

/* xorshift64*: fast, good enough for a coin flip, reproducible from the seed. */
static uint64_t next_random(struct ticker_walk *walk)
{
    uint64_t x = walk->random_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    walk->random_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

void ticker_walk_step(struct ticker_walk *walk, size_t index, int64_t time_us, struct ticker *out)
{
    int32_t value = walk->values[index];
    bool up = (next_random(walk) >> 63) != 0;
    if (value == INT32_MAX)
        up = false;
    else if (value == INT32_MIN)
        up = true;
    value += up ? 1 : -1;
    walk->values[index] = value;

    memcpy(out->name, walk->names[index], sizeof out->name);
    out->value = value;
    out->time_us = time_us;
}
