#ifndef MIGRATE_SETTINGS_H
#define MIGRATE_SETTINGS_H

#include "config.h"

/* A daemon's database role: its name and, when tickerflow-migrate manages roles, the
 * password it is given. */
struct role_setting {
    char *name;
    char *password;
};

struct migrate_settings {
    struct shared_settings shared; /* database.url is the owner's */
    bool manage_roles;
    struct role_setting producer, bridge, aggregator, api, reader;
};

extern const struct config_spec MIGRATE_CONFIG;

#endif
