-- Warehouse security, step 1: the three group roles (PostgreSQL only).
--
-- DuckDB has no roles or privileges: an embedded DuckDB file is protected by file-system
-- permissions alone, so parkops.warehouse.security.apply_security skips sql/security/ there.
--
-- The role names are fixed (not configurable) so that grants, dashboards and runbooks can
-- name them:
--   parkops_pipeline   owns the schemas raw, staging, core, mart, ops and everything in them.
--   parkops_analyst    reads mart and a documented list of core objects without personal data.
--   parkops_reporting  reads mart and ops.file_audit (data-quality footers); writes nothing.
-- All three are NOLOGIN groups: people and services log in as their own LOGIN roles, made
-- members of a group (GRANT parkops_analyst TO alice). Pipeline logins must also run as the
-- group, so that what they create belongs to it and follows its default privileges:
--   CREATE ROLE airflow_etl LOGIN IN ROLE parkops_pipeline;
--   ALTER ROLE airflow_etl SET role = parkops_pipeline;
--
-- Roles are cluster-wide: several databases of one server (and parallel test runs) share
-- them, so creation tolerates a role that already exists, including one created concurrently
-- by another session (unique_violation on pg_authid while both transactions were open).
-- Every statement is idempotent; statements end with ';' at the end of a line outside $$
-- quotes (parkops.warehouse.security.split_sql_script respects dollar quoting).

do $$
declare
    group_role text;
begin
    foreach group_role in array array['parkops_pipeline', 'parkops_analyst', 'parkops_reporting'] loop
        if not exists (select from pg_catalog.pg_roles where rolname = group_role) then
            begin
                execute format('create role %I nologin', group_role);
            exception
                when duplicate_object or unique_violation then
                    null;
            end;
        end if;
    end loop;
end
$$;

-- Commenting on a role needs CREATEROLE: a superuser's run (deploy/postgres-init.sh) sets the
-- comments; the pipeline's own later runs (python -m parkops.deploy grant-roles) skip them.
do $$
begin
    if (select rolcreaterole or rolsuper from pg_catalog.pg_roles where rolname = current_user) then
        comment on role parkops_pipeline is 'parkops: owns the warehouse schemas raw, staging, core, mart, ops (sql/security)';
        comment on role parkops_analyst is 'parkops: reads mart and the core objects without personal data listed in sql/security/30_grants.sql';
        comment on role parkops_reporting is 'parkops: reads mart and ops.file_audit; writes nothing';
    end if;
end
$$;
