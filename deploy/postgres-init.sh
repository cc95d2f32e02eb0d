#!/usr/bin/env bash
# Runs once when the compose PostgreSQL volume is created (as the superuser): the warehouse's
# group roles (sql/security/10_roles.sql), the pipeline's login role, member of
# parkops_pipeline and running as it, and the warehouse database owned by the group.
# Credentials come from the environment; the airflow-init service then applies the DDL, the
# seeds and the grants (python -m parkops.deploy init-warehouse / grant-roles).
# tests/integration/test_compose_init.py runs this script as compose does, on a throwaway cluster.
set -euo pipefail
security_sql_dir="${PARKOPS_SECURITY_SQL_DIR:-/parkops/sql/security}"
case "$WAREHOUSE_USER" in
  parkops_pipeline | parkops_analyst | parkops_reporting)
    echo "postgres-init: WAREHOUSE_USER=$WAREHOUSE_USER names a group role, which cannot log in;" \
      "set WAREHOUSE_USER in .env to the pipeline's own login role (e.g. parkops_etl)" >&2
    exit 1
    ;;
esac
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -f "$security_sql_dir/10_roles.sql"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v warehouse_user="$WAREHOUSE_USER" -v warehouse_password="$WAREHOUSE_PASSWORD" <<'SQL'
select format('create role %I login password %L in role parkops_pipeline', :'warehouse_user', :'warehouse_password')
where not exists (select from pg_roles where rolname = :'warehouse_user') \gexec
-- A role of that name made earlier (by hand, or a previous volume's dump) must still be able to
-- log in with this password and run as the pipeline's group.
select format('alter role %I login password %L', :'warehouse_user', :'warehouse_password') \gexec
select format('grant parkops_pipeline to %I', :'warehouse_user') \gexec
select format('alter role %I set role = parkops_pipeline', :'warehouse_user') \gexec
select 'create database warehouse owner parkops_pipeline'
where not exists (select from pg_database where datname = 'warehouse') \gexec
SQL
