#!/bin/sh
# Creates Temporal's two databases in Postgres and applies their schemas.
# Runs once in the temporal-admin-tools container; safe to run again.
set -eu
# The password comes from SQL_PASSWORD (postgres.env), never the command line.
for db in temporal temporal_visibility; do
  case $db in
    temporal) schema=temporal ;;
    *) schema=visibility ;;
  esac
  tool="temporal-sql-tool --plugin postgres12 --ep postgresql -p 5432 -u $POSTGRES_USER --db $db"
  $tool create || true
  $tool setup-schema -v 0.0 || true
  $tool update-schema -d /etc/temporal/schema/postgresql/v12/$schema/versioned
done
echo "temporal databases ready"
