/*
 * tickerflow-migrate: brings a database up to the schema this build needs, with the role
 * that owns it, and gives each daemon's role what it needs. Runs once per start of the
 * stack (compose's init-db service, scripts/run, the tests) before the daemons, which
 * wait for it; safe to run again and from two places at once (an advisory lock
 * serialises the schema; grants are idempotent).
 *
 * Exit codes: 0 done, 1 failed (the reason is logged: credentials rejected, a statement
 * the owner may not run, ...), 2 usage error.
 */
#include <stdlib.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "retry.h"
#include "roles.h"
#include "settings.h"
#include "shutdown.h"

struct migration {
    const struct migrate_settings *settings;
    PGconn *owner;
};

/* Waits for PostgreSQL to accept the owner; the credentials or database it refuses end
 * the wait (ERROR_PERMANENT). */
static int connect_owner(void *context, struct error *err)
{
    struct migration *migration = context;
    migration->owner = db_connect(migration->settings->shared.database_url, "tickerflow-migrate", err);
    return migration->owner != NULL ? 0 : -1;
}

static int migrate(const struct migrate_settings *settings, struct error *err)
{
    struct migration migration = {settings, NULL};
    if (retry_until("connecting to PostgreSQL", connect_owner, &migration, NULL, err) < 0)
        return -1;
    /* The roles first (they are the cluster's, not this database's); then the schema, the
     * privileges and the version the daemons look for, in one transaction: a daemon sees
     * all of it or none. */
    int rc = roles_ensure(migration.owner, settings, err);
    if (rc == 0)
        rc = db_exec(migration.owner, "BEGIN", err);
    if (rc == 0 && (rc = db_apply_schema(migration.owner, err)) == 0 &&
        (rc = roles_grant(migration.owner, settings, err)) == 0)
        rc = db_exec(migration.owner, "COMMIT", err);
    if (rc < 0)
        db_exec(migration.owner, "ROLLBACK", NULL);
    if (rc == 0)
        log_info("schema version %d applied to database %s; roles %s, %s, %s, %s and %s granted their privileges",
                 DB_SCHEMA_VERSION, PQdb(migration.owner), settings->producer.name, settings->bridge.name,
                 settings->aggregator.name, settings->api.name, settings->reader.name);
    /* Whatever failed was refused by the server: running again changes nothing. */
    if (rc < 0 && err->kind == ERROR_FAILED)
        err->kind = ERROR_PERMANENT;
    PQfinish(migration.owner);
    return rc;
}

int main(int argc, char **argv)
{
    struct migrate_settings settings = {0};
    int exit_code;
    if (!config_load_daemon(&MIGRATE_CONFIG, argc, argv, &settings, &settings.shared, "migrate", &exit_code))
        return exit_code;
    struct error err = {0};
    exit_code = EXIT_SUCCESS;
    if (shutdown_init(NULL, NULL, SHUTDOWN_DEADLINE_MS, &err) < 0 || migrate(&settings, &err) < 0)
        exit_code = shutdown_exit_code(&err);
    config_free(&MIGRATE_CONFIG, &settings);
    return exit_code;
}
