#include "seed.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "shutdown.h"

/* One round trip for all tickers; each lookup walks records_name_time_idx backwards. */
static const char LATEST_VALUES_SQL[] =
    "SELECT n.name, r.value FROM unnest($1::text[]) AS n(name) "
    "CROSS JOIN LATERAL (SELECT value FROM records WHERE records.name = n.name "
    "ORDER BY time DESC, id DESC LIMIT 1) AS r";

/* Postgres array literal {"ticker_00","ticker_01",...}; names are [A-Za-z0-9_] only. */
static char *names_array(const struct ticker_walk *walk)
{
    size_t count = ticker_walk_count(walk);
    char *text = malloc(count * (TICKER_NAME_MAX + 3) + 3);
    if (text == NULL)
        return NULL;
    size_t used = 0;
    text[used++] = '{';
    for (size_t i = 0; i < count; i++) {
        const char *name = ticker_walk_name_of(walk, i);
        size_t length = strlen(name);
        if (i > 0)
            text[used++] = ',';
        memcpy(text + used, name, length);
        used += length;
    }
    text[used++] = '}';
    text[used] = '\0';
    return text;
}

static size_t index_of(const struct ticker_walk *walk, const char *name)
{
    for (size_t i = 0; i < ticker_walk_count(walk); i++) {
        if (strcmp(ticker_walk_name_of(walk, i), name) == 0)
            return i;
    }
    return (size_t)-1;
}

static int load_latest(PGconn *connection, struct ticker_walk *walk, struct error *err)
{
    char *names = names_array(walk);
    if (names == NULL)
        return error_set(err, "out of memory");
    const char *params[] = {names};
    PGresult *result = PQexecParams(connection, LATEST_VALUES_SQL, 1, NULL, params, NULL, NULL, 0);
    free(names);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
        db_error(connection, result, "reading the latest values", err);
        PQclear(result);
        return -1;
    }
    int rows = PQntuples(result);
    for (int row = 0; row < rows; row++) {
        size_t index = index_of(walk, PQgetvalue(result, row, 0));
        if (index != (size_t)-1)
            ticker_walk_set_value(walk, index, (int32_t)strtol(PQgetvalue(result, row, 1), NULL, 10));
    }
    PQclear(result);
    log_info("seeded %d of %zu tickers from records; the others start at 0", rows, ticker_walk_count(walk));
    return 0;
}

int seed_from_database(struct ticker_walk *walk, const char *database_url, struct error *err)
{
    unsigned backoff_s = 1;
    while (!shutdown_requested()) {
        PGconn *connection = db_connect(database_url, "tickerflow-producer", err);
        int rc = -1;
        if (connection != NULL && db_ensure_schema(connection, err) == 0)
            rc = load_latest(connection, walk, err);
        PQfinish(connection);
        if (rc == 0)
            return 0;
        log_warn("cannot seed from PostgreSQL (retrying in %us): %s", backoff_s, err->message);
        shutdown_sleep_ms((int)backoff_s * 1000);
        backoff_s = backoff_s < 30 ? backoff_s * 2 : 30;
    }
    return error_set(err, "shutdown requested while seeding");
}
