#!/bin/sh
# Entry point of the pgadmin service in docker-compose.yaml: registers the tickerflow
# database (servers.json) with its password (a pgpass file) from the same variables the
# postgres service uses, then starts pgAdmin's own entry point. pgAdmin imports
# servers.json on its first start, so nobody has to "add server" by hand.
set -eu
umask 077
printf 'postgres:5432:*:%s:%s\n' "$POSTGRES_USER" "$POSTGRES_PASSWORD" >/tmp/pgpass
cat >/tmp/servers.json <<JSON
{
  "Servers": {
    "1": {
      "Name": "tickerflow",
      "Group": "Servers",
      "Host": "postgres",
      "Port": 5432,
      "MaintenanceDB": "$POSTGRES_DB",
      "Username": "$POSTGRES_USER",
      "PassFile": "/tmp/pgpass",
      "SSLMode": "prefer",
      "Comment": "docker-compose.yaml's PostgreSQL; table records holds every ticker change"
    }
  }
}
JSON
export PGADMIN_SERVER_JSON_FILE=/tmp/servers.json
exec /entrypoint.sh "$@"
