#include "settings.h"

#include <stddef.h>

#define FIELD(name) offsetof(struct migrate_settings, name)

/* The name and password options of one role. */
#define ROLE_OPTIONS(who, field, what)                                                                       \
    {"migrate." who "_role", who "-role", CONFIG_STRING, FIELD(field.name), "tickerflow_" who, 1, 0, NULL,      \
     "database role of " what},                                                                              \
    {"migrate." who "_password", who "-password", CONFIG_STRING, FIELD(field.password), "tickerflow_" who, 0, \
     0, NULL, "its password (set when migrate.manage_roles is true; the default is a local one: change it)"}

static const struct config_option OPTIONS[] = {
    {"log_level", "log-level", CONFIG_CHOICE, FIELD(shared.log_level), "info", 0, 0, LOG_LEVEL_NAMES,
     "lowest level of log lines written to stderr"},
    {"database.url", "database-url", CONFIG_STRING, FIELD(shared.database_url),
     "postgresql://tickerflow:tickerflow@localhost:5432/tickerflow", 1, 0, NULL,
     "PostgreSQL URI or key=value string of the role that owns the schema (it applies db/init.sql and "
     "grants the daemons' roles what they need)"},
    {"retry_backoff_max_ms", "retry-backoff-max-ms", CONFIG_INT, FIELD(shared.retry_backoff_max_ms), "8000", 250,
     300000, NULL, "longest wait between attempts to reach PostgreSQL (waits double from 250 ms, with jitter)"},
    {"migrate.manage_roles", "manage-roles", CONFIG_BOOL, FIELD(manage_roles), "true", 0, 0, NULL,
     "create the daemons' login roles that are missing and set their passwords (needs CREATEROLE); false: "
     "only grant privileges to roles an administrator created"},
    ROLE_OPTIONS("producer", producer, "tickerflow-producer (reads records)"),
    ROLE_OPTIONS("bridge", bridge, "tickerflow-bridge (writes records, records_10s, bridge_offsets, dead_letters)"),
    ROLE_OPTIONS("aggregator", aggregator,
                 "tickerflow-aggregator (writes candles_1m, aggregator_offsets, aggregator_anchors)"),
    ROLE_OPTIONS("api", api, "tickerflow-api (reads records, records_10s, candles_1m)"),
    ROLE_OPTIONS("reader", reader, "read-only tools such as Grafana (reads every table)"),
};

static const char *const UNUSED_SECTIONS[] = {"kafka", NULL};

const struct config_spec MIGRATE_CONFIG = {
    .program = "tickerflow-migrate",
    .summary = "Applies the tickerflow schema (db/init.sql) with the owner's role and gives each daemon's role "
               "the privileges it needs, and no more. Safe to run at every start.",
    .section = "migrate",
    .unused_sections = UNUSED_SECTIONS,
    .options = OPTIONS,
    .option_count = sizeof OPTIONS / sizeof OPTIONS[0],
};
