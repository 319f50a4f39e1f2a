#include "roles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"

/* What each role may do: GRANT statements, each completed with " TO <role>". Tables the
 * rollup trigger writes count as the bridge's: a trigger runs with its invoker's rights. */
static const char *const PRODUCER_GRANTS[] = {
    "GRANT SELECT ON records",
    NULL,
};
static const char *const BRIDGE_GRANTS[] = {
    "GRANT INSERT ON records, dead_letters, trades",
    "GRANT USAGE ON SEQUENCE records_id_seq, dead_letters_id_seq, trades_id_seq",
    "GRANT SELECT, INSERT, UPDATE ON records_10s, bridge_offsets",
    NULL,
};
static const char *const AGGREGATOR_GRANTS[] = {
    "GRANT SELECT, INSERT, UPDATE ON candles_1m, candlesticks, volumes, aggregator_offsets, aggregator_anchors",
    NULL,
};
static const char *const API_GRANTS[] = {
    "GRANT SELECT ON records, records_10s, candles_1m, trades, candlesticks, volumes",
    NULL,
};
static const char *const READER_GRANTS[] = {
    "GRANT SELECT ON ALL TABLES IN SCHEMA public",
    NULL,
};
/* Every role: to see the schema and check its version (and CONNECT, see grant()). */
static const char *const COMMON_GRANTS[] = {
    "GRANT USAGE ON SCHEMA public",
    "GRANT SELECT ON schema_version",
    NULL,
};

struct role {
    const struct role_setting *setting;
    const char *const *grants;
};

static int run(PGconn *owner, const char *sql, struct error *err)
{
    log_debug("%s", sql);
    return db_exec(owner, sql, err);
}

/* Creates the role if it is missing, and sets its password. */
static int ensure_role(PGconn *owner, const struct role_setting *role, struct error *err)
{
    char *name = PQescapeIdentifier(owner, role->name, strlen(role->name));
    char *literal = PQescapeLiteral(owner, role->name, strlen(role->name));
    char *password = PQescapeLiteral(owner, role->password, strlen(role->password));
    int rc = name != NULL && literal != NULL && password != NULL ? 0 : error_set(err, "out of memory");
    char sql[1024];
    if (rc == 0) {
        snprintf(sql, sizeof sql, "SELECT 1 FROM pg_roles WHERE rolname = %s", literal);
        PGresult *result = PQexec(owner, sql);
        if (PQresultStatus(result) != PGRES_TUPLES_OK)
            rc = db_error(owner, result, "looking up a role", err);
        bool exists = rc == 0 && PQntuples(result) > 0;
        PQclear(result);
        if (rc == 0 && !exists) {
            snprintf(sql, sizeof sql, "CREATE ROLE %s LOGIN", name);
            rc = run(owner, sql, err);
            if (rc == 0)
                log_info("created role %s", role->name);
        }
    }
    if (rc == 0 && role->password[0] != '\0') {
        /* Not logged: it holds the password. */
        snprintf(sql, sizeof sql, "ALTER ROLE %s PASSWORD %s", name, password);
        rc = db_exec(owner, sql, err);
    }
    if (rc < 0)
        error_wrap(err, "role %s", role->name);
    PQfreemem(name);
    PQfreemem(literal);
    PQfreemem(password);
    return rc;
}

static int grant(PGconn *owner, const struct role *role, const char *database, struct error *err)
{
    char *name = PQescapeIdentifier(owner, role->setting->name, strlen(role->setting->name));
    if (name == NULL)
        return error_set(err, "out of memory");
    char sql[512];
    snprintf(sql, sizeof sql, "GRANT CONNECT ON DATABASE %s TO %s", database, name);
    int rc = run(owner, sql, err);
    const char *const *lists[] = {COMMON_GRANTS, role->grants};
    for (size_t list = 0; list < 2; list++) {
        for (const char *const *statement = lists[list]; rc == 0 && *statement != NULL; statement++) {
            snprintf(sql, sizeof sql, "%s TO %s", *statement, name);
            rc = run(owner, sql, err);
        }
    }
    PQfreemem(name);
    if (rc < 0)
        error_wrap(err, "granting role %s its privileges", role->setting->name);
    return rc;
}

/* The roles and what each may do. */
static size_t roles_of(const struct migrate_settings *settings, struct role roles[5])
{
    roles[0] = (struct role){&settings->producer, PRODUCER_GRANTS};
    roles[1] = (struct role){&settings->bridge, BRIDGE_GRANTS};
    roles[2] = (struct role){&settings->aggregator, AGGREGATOR_GRANTS};
    roles[3] = (struct role){&settings->api, API_GRANTS};
    roles[4] = (struct role){&settings->reader, READER_GRANTS};
    return 5;
}

int roles_ensure(PGconn *owner, const struct migrate_settings *settings, struct error *err)
{
    struct role roles[5];
    size_t count = roles_of(settings, roles);
    for (size_t i = 0; settings->manage_roles && i < count; i++) {
        if (ensure_role(owner, roles[i].setting, err) < 0)
            return -1;
    }
    return 0;
}

int roles_grant(PGconn *owner, const struct migrate_settings *settings, struct error *err)
{
    struct role roles[5];
    size_t count = roles_of(settings, roles);
    char *database = PQescapeIdentifier(owner, PQdb(owner), strlen(PQdb(owner)));
    if (database == NULL)
        return error_set(err, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = grant(owner, &roles[i], database, err);
    PQfreemem(database);
    return rc;
}
