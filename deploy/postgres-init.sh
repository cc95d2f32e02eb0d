#!/usr/bin/env bash
# Runs once when the compose PostgreSQL volume is created (as the superuser): the warehouse's
# group roles (sql/security/10_roles.sql), the pipeline's login role, member of
# parkops_pipeline and running as it, and the warehouse database owned by the group.
# Credentials come from the environment; the airflow-init service then applies the DDL, the
# seeds and the grants (python -m parkops.deploy init-warehouse / grant-roles).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -f /parkops/sql/security/10_roles.sql
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v warehouse_user="$WAREHOUSE_USER" -v warehouse_password="$WAREHOUSE_PASSWORD" <<'SQL'
select format('create role %I login password %L in role parkops_pipeline', :'warehouse_user', :'warehouse_password')
where not exists (select from pg_roles where rolname = :'warehouse_user') \gexec
select format('alter role %I set role = parkops_pipeline', :'warehouse_user') \gexec
select 'create database warehouse owner parkops_pipeline'
where not exists (select from pg_database where datname = 'warehouse') \gexec
SQL
