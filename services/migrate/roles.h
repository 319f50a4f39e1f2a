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

/* With `manage`, creates each role that is missing (LOGIN, nothing else) and sets its
 * password; then, in one transaction, grants every role its privileges on the current
 * database. Idempotent. `owner` is a connection of the schema's owner (with CREATEROLE to
 * manage roles). ERROR_PERMANENT when the owner may not do it. */
int roles_apply(PGconn *owner, const struct migrate_settings *settings, struct error *err);

#endif
