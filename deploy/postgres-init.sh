#!/usr/bin/env bash
# Runs once when the compose PostgreSQL volume is created: the warehouse database and its
# pipeline role, next to Airflow's metadata database. Credentials come from the environment.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v warehouse_user="$WAREHOUSE_USER" -v warehouse_password="$WAREHOUSE_PASSWORD" <<'SQL'
select format('create role %I login password %L', :'warehouse_user', :'warehouse_password')
where not exists (select from pg_roles where rolname = :'warehouse_user') \gexec
select format('create database warehouse owner %I', :'warehouse_user')
where not exists (select from pg_database where datname = 'warehouse') \gexec
SQL
