#include "backoff.h"

#include <stdatomic.h>

static atomic_int configured_max_ms = BACKOFF_DEFAULT_MAX_MS;

void backoff_set_max_ms(int max_ms)
{
    atomic_store(&configured_max_ms, max_ms < BACKOFF_INITIAL_MS ? BACKOFF_INITIAL_MS : max_ms);
}

void backoff_init(struct backoff *backoff, uint64_t seed)
{
    /* splitmix64 of the seed: any seed, even 0, gives a usable xorshift state. */
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    *backoff = (struct backoff){
        .base_ms = BACKOFF_INITIAL_MS,
        .max_ms = atomic_load(&configured_max_ms),
        .random = z != 0 ? z : 1,
    };
}

/* xorshift64: enough for jitter. */
static uint64_t next_random(struct backoff *backoff)
{
    uint64_t x = backoff->random;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    backoff->random = x;
    return x;
}

int backoff_next_ms(struct backoff *backoff)
{
    int base = backoff->base_ms;
    int half = base / 2;
    int wait = half + (int)(next_random(backoff) % (uint64_t)(base - half + 1));
    backoff->base_ms = base > backoff->max_ms / 2 ? backoff->max_ms : base * 2;
    return wait;
}

void backoff_reset(struct backoff *backoff)
{
    backoff->base_ms = BACKOFF_INITIAL_MS;
}
