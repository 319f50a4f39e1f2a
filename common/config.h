/*
 * Configuration from one table of options per daemon.
 *
 * Each row names an option once; everything else derives from it:
 *   key "kafka.brokers"  ->  config.yaml  kafka: { brokers: ... }
 *                        ->  environment  KAFKA_BROKERS  (upper case, '.' -> '_')
 *   flag "kafka-brokers" ->  command line --kafka-brokers=VALUE or --kafka-brokers VALUE
 * Precedence: default < config file < environment < command line. An empty environment
 * variable counts as unset (Compose passes unset variables as empty strings).
 *
 * The config file is --config PATH, else $TICKERFLOW_CONFIG, else ./config.yaml if it
 * exists. Sections that belong to other daemons (CONFIG_DAEMON_SECTIONS) are skipped; any
 * other unknown key is an error, so a typo never silently falls back to a default.
 */
#ifndef TICKERFLOW_CONFIG_H
#define TICKERFLOW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "log.h"

enum config_type {
    CONFIG_STRING, /* char * field of at least `min` bytes, owned by the settings (config_free frees it) */
    CONFIG_INT,    /* long long field within [min, max] */
    CONFIG_BOOL,   /* bool field: true/false, yes/no, on/off, 1/0; a bare --flag means true */
    CONFIG_CHOICE, /* char * field holding one of `choices` */
};

struct config_option {
    const char *key;
    const char *flag;
    enum config_type type;
    size_t offset; /* offsetof the field in the caller's settings struct */
    const char *default_value; /* text, parsed like any other source */
    long long min, max;        /* CONFIG_INT bounds; CONFIG_STRING: min is the shortest length */
    const char *const *choices; /* CONFIG_CHOICE only, NULL-terminated */
    const char *help;
};

struct config_spec {
    const char *program; /* e.g. "tickerflow-bridge" */
    const char *summary; /* one sentence for --help */
    const char *section; /* this daemon's config.yaml section, e.g. "bridge" */
    const struct config_option *options;
    size_t option_count;
    const char *const *unused_sections; /* shared sections it has no option of (skipped); NULL-terminated or NULL */
};

/* config.yaml top-level sections owned by one daemon each. */
extern const char *const CONFIG_DAEMON_SECTIONS[];

/* Settings every daemon shares; embed as a member of the daemon's settings struct and
 * list CONFIG_SHARED_OPTIONS(settings_type, member) in its option table. */
struct shared_settings {
    char *log_level;
    char *kafka_brokers;
    char *kafka_topic;
    char *database_url;
    long long retry_backoff_max_ms;
};

#define CONFIG_SHARED_OPTIONS(type, member)                                                                     \
    {"log_level", "log-level", CONFIG_CHOICE, offsetof(type, member.log_level), "info", 0, 0,                   \
     LOG_LEVEL_NAMES, "lowest level of log lines written to stderr"},                                  \
    {"kafka.brokers", "kafka-brokers", CONFIG_STRING, offsetof(type, member.kafka_brokers), "localhost:9092", 1, \
     0, NULL, "Kafka bootstrap servers, host:port[,host:port...]"},                                             \
    {"kafka.topic", "kafka-topic", CONFIG_STRING, offsetof(type, member.kafka_topic), "tickers", 1, 0, NULL,     \
     "Kafka topic carrying ticker messages"},                                                                   \
    {"database.url", "database-url", CONFIG_STRING, offsetof(type, member.database_url),                        \
     "postgresql://tickerflow:tickerflow@localhost:5432/tickerflow", 1, 0, NULL,                                \
     "PostgreSQL connection URI or key=value string (libpq syntax)"},                                          \
    {"retry_backoff_max_ms", "retry-backoff-max-ms", CONFIG_INT, offsetof(type, member.retry_backoff_max_ms),  \
     "8000", 250, 300000, NULL,                                                                                 \
     "longest wait between attempts to reach PostgreSQL or Kafka (waits double from 250 ms, with jitter)"}

/* What a member of a Kafka consumer group that keeps its positions in PostgreSQL (the
 * bridge, the aggregator) is configured with; embed as a member of the daemon's settings
 * and list CONFIG_GROUP_OPTIONS(settings_type, member, "section", "bridge", ...) in its
 * option table. */
struct group_settings {
    char *group_id;
    char *instance_id; /* static membership; "" for dynamic */
    long long session_timeout_ms;
    long long prefetch_messages; /* queued per partition */
};

#define CONFIG_GROUP_OPTIONS(type, member, section, who, default_group, default_prefetch, prefetch_help)          \
    {section ".group_id", "group-id", CONFIG_STRING, offsetof(type, member.group_id), default_group, 1, 0, NULL,    \
     "Kafka consumer group; " who "s in one group split the partitions (positions in PostgreSQL are kept per "     \
     "group)"},                                                                                                    \
    {section ".instance_id", "instance-id", CONFIG_STRING, offsetof(type, member.instance_id), "", 0, 0, NULL,     \
     "static group membership: a " who " restarted with the same id takes its partitions back at once, without " \
     "a rebalance (empty: dynamic membership)"},                                                                   \
    {section ".session_timeout_ms", "session-timeout-ms", CONFIG_INT, offsetof(type, member.session_timeout_ms),   \
     "45000", 6000, 300000, NULL,                                                                                  \
     "how long the group waits for a silent " who " before giving its partitions to the others"},                \
    {section ".prefetch_messages", "prefetch-messages", CONFIG_INT, offsetof(type, member.prefetch_messages),      \
     default_prefetch, 100, 1000000, NULL, prefetch_help}

enum config_result {
    CONFIG_READY,        /* settings are complete and valid: run */
    CONFIG_EXIT_SUCCESS, /* --help or --version was printed: exit 0 */
    CONFIG_EXIT_USAGE,   /* err says what is wrong: print it and exit 2 */
};

/* Fills `settings` (zeroed by the caller) from all sources. --help and --version are
 * printed to `out`. Whatever the result, release the settings with config_free. */
enum config_result config_load(const struct config_spec *spec, int argc, char *const argv[], void *settings,
                               FILE *out, struct error *err);

/* For main(): config_load plus what every daemon does with its result. Prints help,
 * version or the usage error, and starts logging (log_init) as `log_name` at the level of
 * shared->log_level. Returns true when the daemon should run; otherwise sets *exit_code
 * (0 after --help or --version, 2 after a usage error) and has freed the settings. */
bool config_load_daemon(const struct config_spec *spec, int argc, char *const argv[], void *settings,
                        const struct shared_settings *shared, const char *log_name, int *exit_code);

/* Releases the strings the settings own; the struct itself stays the caller's. */
void config_free(const struct config_spec *spec, void *settings);

/* The steps of config_load, exposed for tests. */
int config_apply_defaults(const struct config_spec *spec, void *settings, struct error *err);
int config_apply_yaml(const struct config_spec *spec, const char *text, size_t length, const char *origin,
                      void *settings, struct error *err);
int config_apply_environment(const struct config_spec *spec, void *settings, struct error *err);
int config_set(const struct config_option *option, const char *text, void *settings, struct error *err);

/* The environment variable of a key: "kafka.brokers" -> "KAFKA_BROKERS". */
void config_environment_name(const char *key, char *out, size_t out_size);

void config_print_help(const struct config_spec *spec, FILE *out);

#endif
