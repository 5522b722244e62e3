#!/bin/sh
# One role and one database per service, each database owned by its service's role and closed to
# every other role. The PostgreSQL image runs this once, when it initialises an empty data
# directory (/docker-entrypoint-initdb.d); the passwords are the same secrets the services get.
# The migrations then run as each service's role (the owner may create its tables), never as the
# superuser. The gateway has no database (it keeps no state), so no role either.
set -eu

secrets_dir=${ALLIANCE_SECRETS_DIR:-/run/secrets}
for service in registry tickets events notifications; do
  password_file="$secrets_dir/postgres_${service}_password"
  if [ ! -r "$password_file" ]; then
    echo "init-databases: $password_file is missing" >&2
    exit 1
  fi
  # psql quotes :"name" as an identifier and :'name' as a literal: no password reaches SQL raw.
  psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v service="$service" -v database="alliance_$service" -v password="$(cat "$password_file")" <<'SQL'
CREATE ROLE :"service" LOGIN PASSWORD :'password';
CREATE DATABASE :"database" OWNER :"service";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
SQL
  echo "init-databases: database alliance_$service owned by role $service"
done
