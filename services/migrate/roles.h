/*
 * The database roles of tickerflow (least privilege): the owner of the schema applies
 * migrations; each daemon connects with a role of its own that may read and write what
 * that daemon needs, and nothing else (no DDL, no DELETE, nothing of the others' tables).
 */
#ifndef MIGRATE_ROLES_H
#define MIGRATE_ROLES_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "error.h"
#include "settings.h"

/* With settings->manage_roles, creates each role that is missing (LOGIN, nothing else)
 * and sets its password. Idempotent. `owner` is a connection of the schema's owner, with
 * CREATEROLE. */
int roles_ensure(PGconn *owner, const struct migrate_settings *settings, struct error *err);

/* Grants every role its privileges on the current database, within the caller's
 * transaction. Idempotent. */
int roles_grant(PGconn *owner, const struct migrate_settings *settings, struct error *err);

#endif
