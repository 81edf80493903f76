#!/bin/sh
# The official postgres image's first start, in short: an empty PGDATA gets a cluster (UTF-8; an
# SQL_ASCII one makes psycopg return bytes) whose superuser is POSTGRES_USER with POSTGRES_PASSWORD,
# and the database POSTGRES_DB; other hosts connect with a password, the local socket is trusted.
# Then postgres runs as the postgres user.
set -eu
if [ "${1:-}" = postgres ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  chmod 2775 /var/run/postgresql
  as_postgres="setpriv --reuid=postgres --regid=postgres --init-groups"
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set for the first start}"
    user=${POSTGRES_USER:-postgres}
    database=${POSTGRES_DB:-$user}
    secret=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$secret"
    chown postgres "$secret"
    $as_postgres initdb -D "$PGDATA" -U "$user" -E UTF8 --locale=C.UTF-8 --pwfile="$secret" \
      --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$secret"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    if [ "$database" != postgres ]; then
      # A server on a private socket and no TCP: the healthcheck (pg_isready on the default
      # socket) does not see it, so nobody connects before the database exists.
      private=$(mktemp -d)
      chown postgres "$private"
      $as_postgres pg_ctl -D "$PGDATA" -w -s -o "-c listen_addresses='' -c unix_socket_directories=$private" start
      $as_postgres psql -h "$private" -U "$user" -d postgres -v ON_ERROR_STOP=1 -q \
        -c "CREATE DATABASE \"$database\""
      $as_postgres pg_ctl -D "$PGDATA" -w -s -m fast stop
      rm -rf "$private"
    fi
    echo "docker-entrypoint.sh: cluster initialised in $PGDATA (user $user, database $database)" >&2
  fi
  exec $as_postgres "$@"
fi
exec "$@"
