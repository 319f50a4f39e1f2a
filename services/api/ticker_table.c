#include "ticker_table.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct ticker_table {
    size_t window;
    bool pairs;
    int first_id;
    size_t max_tickers, count;
    struct ticker_entry **entries; /* by id */
    size_t slot_count;             /* a power of two, at least twice max_tickers */
    struct ticker_entry **slots;   /* open addressing by name */
    bool full_reported;
};

static uint32_t hash_name(const char *name)
{
    uint32_t hash = 2166136261u; /* FNV-1a */
    for (; *name != '\0'; name++)
        hash = (hash ^ (uint8_t)*name) * 16777619u;
    return hash;
}

/* The slot holding `name`, or the empty slot where it belongs. */
static struct ticker_entry **find_slot(const struct ticker_table *table, const char *name)
{
    size_t mask = table->slot_count - 1;
    for (size_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
        struct ticker_entry **slot = &table->slots[i];
        if (*slot == NULL || strcmp((*slot)->name, name) == 0)
            return slot;
    }
}

struct ticker_table *ticker_table_new(size_t window, size_t max_tickers, bool pairs, int first_id, struct error *err)
{
    struct ticker_table *table = calloc(1, sizeof *table);
    if (table == NULL)
        goto out_of_memory;
    table->window = window;
    table->pairs = pairs;
    table->first_id = first_id;
    table->max_tickers = max_tickers;
    for (table->slot_count = 16; table->slot_count < max_tickers * 2; table->slot_count *= 2)
        ;
    table->slots = calloc(table->slot_count, sizeof *table->slots);
    table->entries = calloc(max_tickers, sizeof *table->entries);
    if (table->slots == NULL || table->entries == NULL)
        goto out_of_memory;
    return table;

out_of_memory:
    ticker_table_destroy(table);
    error_set(err, "out of memory");
    return NULL;
}

void ticker_table_destroy(struct ticker_table *table)
{
    if (table == NULL)
        return;
    for (size_t id = 0; id < table->count; id++) {
        struct ticker_entry *entry = table->entries[id];
        for (size_t i = 0; i < entry->window_count; i++)
            frame_release(ticker_window_at(table, entry, i));
        free(entry->window);
        free(entry->subscribers);
        free(entry->subscriber_indexes);
        free(entry);
    }
    free(table->entries);
    free(table->slots);
    free(table);
}

struct ticker_entry *ticker_table_find(const struct ticker_table *table, const char *name)
{
    return *find_slot(table, name);
}

struct ticker_entry *ticker_table_add(struct ticker_table *table, const char *name)
{
    struct ticker_entry **slot = find_slot(table, name);
    if (*slot != NULL)
        return *slot;
    if (table->count == table->max_tickers) {
        if (!table->full_reported)
            log_warn("more than api.max_tickers (%zu) distinct %s: new ones are not served", table->max_tickers,
                     table->pairs ? "currency pairs" : "tickers");
        table->full_reported = true;
        return NULL;
    }
    struct ticker_entry *entry = calloc(1, sizeof *entry);
    if (entry == NULL)
        return NULL;
    if (table->window > 0 && (entry->window = calloc(table->window, sizeof *entry->window)) == NULL) {
        free(entry);
        return NULL;
    }
    entry->id = table->first_id + (int)table->count;
    entry->pair = table->pairs;
    snprintf(entry->name, sizeof entry->name, "%s", name);
    entry->last_position = INT64_MIN;
    if (entry->pair)
        market_candle_init(&entry->market);
    else
        live_candle_init(&entry->candle);
    table->entries[table->count++] = entry;
    *slot = entry;
    return entry;
}

struct ticker_entry *ticker_table_at(const struct ticker_table *table, size_t index)
{
    return table->entries[index];
}

size_t ticker_table_count(const struct ticker_table *table)
{
    return table->count;
}

void ticker_table_remember(struct ticker_table *table, struct ticker_entry *entry, struct frame *frame)
{
    entry->last_position = frame->position;
    if (table->window == 0)
        return;
    if (entry->window_count == table->window) {
        frame_release(entry->window[entry->window_head]);
        entry->window_head = (entry->window_head + 1) % table->window;
        entry->window_count--;
    }
    entry->window[(entry->window_head + entry->window_count) % table->window] = frame_ref(frame);
    entry->window_count++;
}

void ticker_table_skip(struct ticker_entry *entry, int64_t position)
{
    if (position <= entry->last_position)
        return;
    entry->last_position = position;
    if (entry->pair)
        market_candle_skip(&entry->market);
    else
        live_candle_skip(&entry->candle, position);
}

struct frame *ticker_window_at(const struct ticker_table *table, const struct ticker_entry *entry, size_t i)
{
    return entry->window[(entry->window_head + i) % table->window];
}

int ticker_entry_subscribe(struct ticker_entry *entry, struct subscription *subscription, size_t *index)
{
    if (entry->subscriber_count == entry->subscriber_capacity) {
        size_t capacity = entry->subscriber_capacity ? entry->subscriber_capacity * 2 : 4;
        struct subscription **grown = realloc(entry->subscribers, capacity * sizeof *grown);
        if (grown == NULL)
            return -1;
        entry->subscribers = grown;
        size_t **grown_indexes = realloc(entry->subscriber_indexes, capacity * sizeof *grown_indexes);
        if (grown_indexes == NULL)
            return -1;
        entry->subscriber_indexes = grown_indexes;
        entry->subscriber_capacity = capacity;
    }
    *index = entry->subscriber_count;
    entry->subscriber_indexes[entry->subscriber_count] = index;
    entry->subscribers[entry->subscriber_count++] = subscription;
    return 0;
}

void ticker_entry_unsubscribe(struct ticker_entry *entry, size_t *index)
{
    size_t at = *index, last = --entry->subscriber_count;
    entry->subscribers[at] = entry->subscribers[last];
    entry->subscriber_indexes[at] = entry->subscriber_indexes[last];
    *entry->subscriber_indexes[at] = at;
}
