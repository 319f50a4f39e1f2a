#include "candle_store.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "log.h"

/* One column of a checkpoint, as the text of a Postgres array literal. Every element is a
 * number, NULL, a ticker name ([A-Za-z0-9_]) or a currency pair ([a-z0-9._-] and '/'), so
 * nothing needs quoting. */
struct column {
    char *text;
    size_t length, capacity;
};

enum { CANDLE_COLUMNS = 10, TRADE_CANDLE_COLUMNS = 12, ANCHOR_COLUMNS = 4, PARTITION_COLUMNS = 5 };

struct candle_store {
    char *database_url;
    char *group;
    char *topic;
    PGconn *connection;
    struct column candles[CANDLE_COLUMNS];
    struct column trade_candles[TRADE_CANDLE_COLUMNS];
    struct column anchors[ANCHOR_COLUMNS];
    struct column partitions[PARTITION_COLUMNS];
    size_t candle_count, trade_candle_count, anchor_count, partition_count;
};

#define EPOCH_PLUS(us) "timestamptz 'epoch' + " us " * interval '1 microsecond'"
#define MICROSECONDS(column) "(extract(epoch FROM " column ") * 1000000)::bigint"

/* Duplicates of one (minute, ticker) could only come from a ticker found in two partitions;
 * the last one added wins. Sorted, so two aggregators lock rows in the same order. */
static const char UPSERT_CANDLES_SQL[] =
    "INSERT INTO candles_1m AS c (ts_start, ts_end, name, open, high, low, close, up_moves, down_moves, ticks)"
    " SELECT DISTINCT ON (s, n) " EPOCH_PLUS("s") ", " EPOCH_PLUS("e") ", n, o, h, l, cl, u, d, t"
    " FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[],"
    "             $9::int[], $10::int[]) WITH ORDINALITY AS i(s, e, n, o, h, l, cl, u, d, t, k)"
    " ORDER BY s, n, k DESC"
    " ON CONFLICT (ts_start, name) DO UPDATE SET ts_end = EXCLUDED.ts_end, open = EXCLUDED.open,"
    "  high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, up_moves = EXCLUDED.up_moves,"
    "  down_moves = EXCLUDED.down_moves, ticks = EXCLUDED.ticks, updated_at = now()";

/* Prices and volumes arrive as NUMERIC's own text, so they are stored digit for digit. */
static const char UPSERT_CANDLESTICKS_SQL[] =
    "INSERT INTO candlesticks AS c (ts_start, ts_end, currency_pair, price_open, price_max, price_min, price_close,"
    "  trades)"
    " SELECT DISTINCT ON (s, p) " EPOCH_PLUS("s") ", " EPOCH_PLUS("e") ", p, o, h, l, cl, t"
    " FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[],"
    "             $7::numeric[], $8::int[]) WITH ORDINALITY AS i(s, e, p, o, h, l, cl, t, k)"
    " ORDER BY s, p, k DESC"
    " ON CONFLICT (ts_start, ts_end, currency_pair) DO UPDATE SET price_open = EXCLUDED.price_open,"
    "  price_max = EXCLUDED.price_max, price_min = EXCLUDED.price_min, price_close = EXCLUDED.price_close,"
    "  trades = EXCLUDED.trades, updated_at = now()";

static const char UPSERT_VOLUMES_SQL[] =
    "INSERT INTO volumes AS v (ts_start, ts_end, currency_pair, volume_buy, volume_sell, trades_buy, trades_sell)"
    " SELECT DISTINCT ON (s, p) " EPOCH_PLUS("s") ", " EPOCH_PLUS("e") ", p, b, se, tb, ts"
    " FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::numeric[], $5::numeric[], $6::int[], $7::int[])"
    "      WITH ORDINALITY AS i(s, e, p, b, se, tb, ts, k)"
    " ORDER BY s, p, k DESC"
    " ON CONFLICT (ts_start, ts_end, currency_pair) DO UPDATE SET volume_buy = EXCLUDED.volume_buy,"
    "  volume_sell = EXCLUDED.volume_sell, trades_buy = EXCLUDED.trades_buy, trades_sell = EXCLUDED.trades_sell,"
    "  updated_at = now()";

static const char UPSERT_ANCHORS_SQL[] =
    "INSERT INTO aggregator_anchors AS a (group_id, topic, partition, name, tick_time, value)"
    " SELECT DISTINCT ON (p, n) $1, $2, p, n, " EPOCH_PLUS("t") ", v"
    " FROM unnest($3::int[], $4::text[], $5::bigint[], $6::int[]) WITH ORDINALITY AS i(p, n, t, v, k)"
    " ORDER BY p, n, k DESC"
    " ON CONFLICT (group_id, topic, partition, name) DO UPDATE SET tick_time = EXCLUDED.tick_time,"
    "  value = EXCLUDED.value";

/* Moves each partition's row from the expected next offset (or inserts it when none was
 * expected) in one statement; the number of rows touched tells whether all matched. */
static const char STORE_PARTITIONS_SQL[] =
    "WITH input AS (SELECT * FROM unnest($3::int[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])"
    "               AS i(p, expected, next, replay, newest))"
    " INSERT INTO aggregator_offsets AS a (group_id, topic, partition, next_offset, replay_offset, newest_event)"
    " SELECT $1, $2, p, next, replay, " EPOCH_PLUS("newest") " FROM input"
    " ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset,"
    "  replay_offset = EXCLUDED.replay_offset, newest_event = EXCLUDED.newest_event, updated_at = now()"
    " WHERE a.next_offset = (SELECT expected FROM input WHERE input.p = EXCLUDED.partition)";

static const char LOAD_PARTITIONS_SQL[] =
    "SELECT partition, next_offset, replay_offset, " MICROSECONDS("newest_event")
    " FROM aggregator_offsets WHERE group_id = $1 AND topic = $2 AND partition = ANY($3::int[])";

static const char LOAD_ANCHORS_SQL[] =
    "SELECT partition, name, " MICROSECONDS("tick_time") ", value"
    " FROM aggregator_anchors WHERE group_id = $1 AND topic = $2 AND partition = ANY($3::int[])";

/* ---- columns ---------------------------------------------------------------------------- */

static int column_append(struct column *column, const char *format, ...) __attribute__((format(printf, 2, 3)));

static int column_append(struct column *column, const char *format, ...)
{
    char element[DECIMAL_TEXT_MAX + TRADE_PAIR_MAX + 8]; /* the longest: a pair, a decimal's text */
    va_list args;
    va_start(args, format);
    int length = vsnprintf(element, sizeof element, format, args);
    va_end(args);
    size_t needed = column->length + (size_t)length + 3; /* separator, closing brace, NUL */
    if (needed > column->capacity) {
        size_t capacity = column->capacity == 0 ? 256 : column->capacity;
        while (capacity < needed)
            capacity *= 2;
        char *grown = realloc(column->text, capacity);
        if (grown == NULL)
            return -1;
        column->text = grown;
        column->capacity = capacity;
    }
    char separator = column->length == 0 ? '{' : ',';
    column->text[column->length++] = separator;
    memcpy(column->text + column->length, element, (size_t)length + 1);
    column->length += (size_t)length;
    return 0;
}

/* The array literal; valid until the column is appended to or cleared. */
static const char *column_literal(struct column *column)
{
    if (column->length == 0)
        return "{}";
    column->text[column->length] = '}';
    column->text[column->length + 1] = '\0';
    return column->text;
}

static void clear_columns(struct column *columns, size_t count)
{
    for (size_t i = 0; i < count; i++)
        columns[i].length = 0;
}

static void free_columns(struct column *columns, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(columns[i].text);
}

/* ---- life cycle ------------------------------------------------------------------------- */

struct candle_store *candle_store_new(const char *database_url, const char *group, const char *topic,
                                      struct error *err)
{
    struct candle_store *store = calloc(1, sizeof *store);
    if (store == NULL || (store->database_url = strdup(database_url)) == NULL ||
        (store->group = strdup(group)) == NULL || (store->topic = strdup(topic)) == NULL) {
        candle_store_destroy(store);
        error_set(err, "out of memory");
        return NULL;
    }
    return store;
}

static void disconnect(struct candle_store *store)
{
    PQfinish(store->connection);
    store->connection = NULL;
}

void candle_store_destroy(struct candle_store *store)
{
    if (store == NULL)
        return;
    disconnect(store);
    free_columns(store->candles, CANDLE_COLUMNS);
    free_columns(store->trade_candles, TRADE_CANDLE_COLUMNS);
    free_columns(store->anchors, ANCHOR_COLUMNS);
    free_columns(store->partitions, PARTITION_COLUMNS);
    free(store->database_url);
    free(store->group);
    free(store->topic);
    free(store);
}

int candle_store_connect(struct candle_store *store, struct error *err)
{
    if (store->connection != NULL && PQstatus(store->connection) == CONNECTION_OK)
        return 0;
    disconnect(store);
    store->connection = db_connect(store->database_url, "tickerflow-aggregator", err);
    if (store->connection == NULL)
        return -1;
    if (db_check_schema(store->connection, err) < 0) {
        disconnect(store);
        return -1;
    }
    log_info("connected to PostgreSQL");
    return 0;
}

/* ---- loading ---------------------------------------------------------------------------- */

/* Runs a parameterized query that returns rows; NULL (err set, connection dropped) on failure. */
static PGresult *query(struct candle_store *store, const char *sql, int count, const char *const *params,
                       const char *what, struct error *err)
{
    PGresult *result = PQexecParams(store->connection, sql, count, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(result) == PGRES_TUPLES_OK)
        return result;
    db_error(store->connection, result, what, err);
    PQclear(result);
    disconnect(store);
    return NULL;
}

static int64_t integer_or(const PGresult *result, int row, int column, int64_t otherwise)
{
    return PQgetisnull(result, row, column) ? otherwise : strtoll(PQgetvalue(result, row, column), NULL, 10);
}

static void read_partitions(const PGresult *result, struct saved_partition *saved, size_t count)
{
    for (int row = 0; row < PQntuples(result); row++) {
        int32_t partition = (int32_t)integer_or(result, row, 0, -1);
        for (size_t i = 0; i < count; i++) {
            if (saved[i].partition == partition)
                saved[i] = (struct saved_partition){partition, integer_or(result, row, 1, 0),
                                                    integer_or(result, row, 2, 0),
                                                    integer_or(result, row, 3, WINDOW_BOOK_NO_TIME)};
        }
    }
}

static int read_anchors(const PGresult *result, struct saved_anchor **anchors, size_t *anchor_count,
                        struct error *err)
{
    int rows = PQntuples(result);
    *anchors = calloc((size_t)rows + 1, sizeof **anchors);
    if (*anchors == NULL)
        return error_set(err, "out of memory");
    for (int row = 0; row < rows; row++) {
        struct saved_anchor *anchor = &(*anchors)[row];
        anchor->partition = (int32_t)integer_or(result, row, 0, -1);
        snprintf(anchor->name, sizeof anchor->name, "%s", PQgetvalue(result, row, 1));
        anchor->time_us = integer_or(result, row, 2, 0);
        anchor->value = (int32_t)integer_or(result, row, 3, 0);
    }
    *anchor_count = (size_t)rows;
    return 0;
}

int candle_store_load(struct candle_store *store, const int32_t *partitions, size_t count,
                      struct saved_partition *saved, struct saved_anchor **anchors, size_t *anchor_count,
                      struct error *err)
{
    *anchors = NULL;
    *anchor_count = 0;
    struct column list = {0};
    for (size_t i = 0; i < count; i++) {
        saved[i] = (struct saved_partition){partitions[i], CANDLE_STORE_NO_OFFSET, 0, WINDOW_BOOK_NO_TIME};
        if (column_append(&list, "%" PRId32, partitions[i]) < 0) {
            free(list.text);
            return error_set(err, "out of memory");
        }
    }
    if (candle_store_connect(store, err) < 0) {
        free(list.text);
        return -1;
    }
    const char *params[] = {store->group, store->topic, column_literal(&list)};
    int rc = -1;
    PGresult *offsets = NULL, *anchor_rows = NULL;
    /* One snapshot: offsets and anchors saved by the same checkpoint. */
    if (db_exec(store->connection, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err) == 0 &&
        (offsets = query(store, LOAD_PARTITIONS_SQL, 3, params, "reading aggregator_offsets", err)) != NULL &&
        (anchor_rows = query(store, LOAD_ANCHORS_SQL, 3, params, "reading aggregator_anchors", err)) != NULL &&
        db_exec(store->connection, "COMMIT", err) == 0) {
        read_partitions(offsets, saved, count);
        rc = read_anchors(anchor_rows, anchors, anchor_count, err);
    } else if (store->connection != NULL) {
        disconnect(store); /* whatever failed, start over on a fresh connection */
    }
    PQclear(offsets);
    PQclear(anchor_rows);
    free(list.text);
    return rc;
}

/* ---- checkpoints ------------------------------------------------------------------------ */

int candle_store_add_candle(struct candle_store *store, const struct candle *c, struct error *err)
{
    struct column *col = store->candles;
    if (column_append(&col[0], "%" PRId64, c->start_us) < 0 || column_append(&col[1], "%" PRId64, c->end_us) < 0 ||
        column_append(&col[2], "%s", c->name) < 0 || column_append(&col[3], "%" PRId32, c->open) < 0 ||
        column_append(&col[4], "%" PRId32, c->high) < 0 || column_append(&col[5], "%" PRId32, c->low) < 0 ||
        column_append(&col[6], "%" PRId32, c->close) < 0 || column_append(&col[7], "%" PRId64, c->up_moves) < 0 ||
        column_append(&col[8], "%" PRId64, c->down_moves) < 0 || column_append(&col[9], "%" PRId64, c->ticks) < 0)
        return error_set(err, "out of memory");
    store->candle_count++;
    return 0;
}

/* Appends a decimal's NUMERIC text to a column. */
static int append_decimal(struct column *column, const struct decimal *value)
{
    char text[DECIMAL_TEXT_MAX];
    decimal_format(value, text, sizeof text);
    return column_append(column, "%s", text);
}

int candle_store_add_trade_candle(struct candle_store *store, const struct trade_candle *c, struct error *err)
{
    struct column *col = store->trade_candles;
    if (column_append(&col[0], "%" PRId64, c->start_us) < 0 || column_append(&col[1], "%" PRId64, c->end_us) < 0 ||
        column_append(&col[2], "%s", c->pair) < 0 || append_decimal(&col[3], &c->open) < 0 ||
        append_decimal(&col[4], &c->high) < 0 || append_decimal(&col[5], &c->low) < 0 ||
        append_decimal(&col[6], &c->close) < 0 || append_decimal(&col[7], &c->volume_buy) < 0 ||
        append_decimal(&col[8], &c->volume_sell) < 0 || column_append(&col[9], "%" PRId64, c->trades) < 0 ||
        column_append(&col[10], "%" PRId64, c->trades_buy) < 0 ||
        column_append(&col[11], "%" PRId64, c->trades_sell) < 0)
        return error_set(err, "out of memory");
    store->trade_candle_count++;
    return 0;
}

int candle_store_add_anchor(struct candle_store *store, int32_t partition, const char *name, int64_t time_us,
                            int32_t value, struct error *err)
{
    struct column *col = store->anchors;
    if (column_append(&col[0], "%" PRId32, partition) < 0 || column_append(&col[1], "%s", name) < 0 ||
        column_append(&col[2], "%" PRId64, time_us) < 0 || column_append(&col[3], "%" PRId32, value) < 0)
        return error_set(err, "out of memory");
    store->anchor_count++;
    return 0;
}

int candle_store_add_partition(struct candle_store *store, int32_t partition, int64_t expected,
                               const struct saved_partition *state, struct error *err)
{
    struct column *col = store->partitions;
    int rc = column_append(&col[0], "%" PRId32, partition) | column_append(&col[1], "%" PRId64, expected) |
             column_append(&col[2], "%" PRId64, state->next_offset) |
             column_append(&col[3], "%" PRId64, state->replay_offset);
    if (state->newest_us == WINDOW_BOOK_NO_TIME)
        rc |= column_append(&col[4], "NULL");
    else
        rc |= column_append(&col[4], "%" PRId64, state->newest_us);
    if (rc < 0)
        return error_set(err, "out of memory");
    store->partition_count++;
    return 0;
}

size_t candle_store_pending_candles(const struct candle_store *store)
{
    return store->candle_count + store->trade_candle_count;
}

void candle_store_discard(struct candle_store *store)
{
    clear_columns(store->candles, CANDLE_COLUMNS);
    clear_columns(store->trade_candles, TRADE_CANDLE_COLUMNS);
    clear_columns(store->anchors, ANCHOR_COLUMNS);
    clear_columns(store->partitions, PARTITION_COLUMNS);
    store->candle_count = store->trade_candle_count = store->anchor_count = store->partition_count = 0;
}

/* Runs a parameterized statement that returns no rows; *touched gets the rows it touched. */
static int execute(struct candle_store *store, const char *sql, int count, const char *const *params,
                   const char *what, unsigned long long *touched, struct error *err)
{
    PGresult *result = PQexecParams(store->connection, sql, count, NULL, params, NULL, NULL, 0);
    int rc = 0;
    if (PQresultStatus(result) != PGRES_COMMAND_OK)
        rc = db_error(store->connection, result, what, err);
    else if (touched != NULL)
        *touched = strtoull(PQcmdTuples(result), NULL, 10);
    PQclear(result);
    return rc;
}

static int write_trade_candles(struct candle_store *store, struct error *err)
{
    struct column *col = store->trade_candles;
    const char *candlesticks[] = {column_literal(&col[0]), column_literal(&col[1]), column_literal(&col[2]),
                                  column_literal(&col[3]), column_literal(&col[4]), column_literal(&col[5]),
                                  column_literal(&col[6]), column_literal(&col[9])};
    if (execute(store, UPSERT_CANDLESTICKS_SQL, 8, candlesticks, "upserting candlesticks", NULL, err) < 0)
        return -1;
    const char *volumes[] = {column_literal(&col[0]), column_literal(&col[1]), column_literal(&col[2]),
                             column_literal(&col[7]), column_literal(&col[8]), column_literal(&col[10]),
                             column_literal(&col[11])};
    return execute(store, UPSERT_VOLUMES_SQL, 7, volumes, "upserting volumes", NULL, err);
}

static int write_checkpoint(struct candle_store *store, struct error *err)
{
    const char *partitions[PARTITION_COLUMNS + 2] = {store->group, store->topic};
    for (int i = 0; i < PARTITION_COLUMNS; i++)
        partitions[i + 2] = column_literal(&store->partitions[i]);
    unsigned long long touched = 0;
    /* The offsets first: a conflict fails fast, before any candle is sent. */
    if (execute(store, STORE_PARTITIONS_SQL, PARTITION_COLUMNS + 2, partitions, "storing aggregator_offsets",
                &touched, err) < 0)
        return -1;
    if (touched != store->partition_count) {
        error_set(err, "another aggregator of group %s saved partitions of %s since this one read them",
                  store->group, store->topic);
        return CANDLE_STORE_CONFLICT;
    }
    if (store->candle_count > 0) {
        const char *candles[CANDLE_COLUMNS];
        for (int i = 0; i < CANDLE_COLUMNS; i++)
            candles[i] = column_literal(&store->candles[i]);
        if (execute(store, UPSERT_CANDLES_SQL, CANDLE_COLUMNS, candles, "upserting candles_1m", NULL, err) < 0)
            return -1;
    }
    if (store->trade_candle_count > 0 && write_trade_candles(store, err) < 0)
        return -1;
    if (store->anchor_count > 0) {
        const char *anchors[ANCHOR_COLUMNS + 2] = {store->group, store->topic};
        for (int i = 0; i < ANCHOR_COLUMNS; i++)
            anchors[i + 2] = column_literal(&store->anchors[i]);
        if (execute(store, UPSERT_ANCHORS_SQL, ANCHOR_COLUMNS + 2, anchors, "storing aggregator_anchors", NULL,
                    err) < 0)
            return -1;
    }
    return 0;
}

int candle_store_save(struct candle_store *store, struct error *err)
{
    int rc = candle_store_connect(store, err);
    if (rc == 0 && (rc = db_exec(store->connection, "BEGIN", err)) == 0) {
        rc = write_checkpoint(store, err);
        if (rc == 0)
            rc = db_exec(store->connection, "COMMIT", err);
        else
            PQclear(PQexec(store->connection, "ROLLBACK"));
    }
    if (rc == -1)
        disconnect(store); /* the connection may be broken: start the next one afresh */
    candle_store_discard(store);
    return rc;
}
