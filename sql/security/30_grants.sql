-- Warehouse security, step 3: privileges of the group roles in this database (PostgreSQL only;
-- see 10_roles.sql). Grants are per database: run this in every warehouse database.
--
-- Declarative: each role's table privileges in a schema are first revoked, then granted as
-- listed here, so re-running converges on this file (a grant removed from it is removed from
-- the database on the next run). The pipeline owns everything (20_ownership.sql), so it needs
-- no table grants.
--
-- Personal data lives only in raw.registrations and staging.registrations (legal_representative,
-- contact_phone) and ops.quarantine (record_json, value): analysts and reporting get no access
-- to raw, staging or ops.quarantine. core and mart hold no personal data.

-- Database: connect for all three; create for the pipeline (its DDL runs
-- "create schema if not exists", which PostgreSQL checks against the database's CREATE
-- privilege even when the schema exists).
do $$
begin
    execute format('grant connect on database %I to parkops_pipeline, parkops_analyst, parkops_reporting', current_database());
    execute format('grant create, temporary on database %I to parkops_pipeline', current_database());
end
$$;

-- Schemas holding personal data or operations tables: no implicit access for anybody.
revoke all on schema raw, staging, ops from public;
revoke all on all tables in schema raw, staging, core, mart, ops from public;
revoke all on schema raw, staging from parkops_analyst, parkops_reporting;
revoke all on all tables in schema raw, staging, ops from parkops_analyst, parkops_reporting;
revoke all on schema ops from parkops_analyst;

-- parkops_pipeline: owner (20_ownership.sql); explicit usage/create for clarity.
grant usage, create on schema raw, staging, core, mart, ops to parkops_pipeline;

-- mart: read-only for analysts and reporting, now and for tables the pipeline creates later.
grant usage on schema mart to parkops_analyst, parkops_reporting;
revoke create on schema mart from parkops_analyst, parkops_reporting;
revoke all on all tables in schema mart from parkops_analyst, parkops_reporting;
grant select on all tables in schema mart to parkops_analyst, parkops_reporting;
alter default privileges for role parkops_pipeline in schema mart
    grant select on tables to parkops_analyst, parkops_reporting;

-- core: analysts read an explicit list of objects without personal data; no default
-- privileges, so a new core table stays private until it is reviewed and listed here.
--   core.dim_enterprise_current   current version of each enterprise (view; runs with its
--                                 owner's rights, so core.dim_enterprise itself is not granted:
--                                 the SCD2 history stays internal)
--   core.dim_park                 seed: parks
--   core.dim_industry_class       seed: GB/T 4754 classes
--   core.dim_kpi_target           seed: policy targets
--   core.dim_qualification_tag    seed: qualification tags
--   core.fct_registration_events  registration events: enterprise-level, no personal columns
grant usage on schema core to parkops_analyst;
revoke create on schema core from parkops_analyst;
revoke all on schema core from parkops_reporting;
revoke all on all tables in schema core from parkops_analyst, parkops_reporting;
grant select on
    core.dim_enterprise_current,
    core.dim_park,
    core.dim_industry_class,
    core.dim_kpi_target,
    core.dim_qualification_tag,
    core.fct_registration_events
to parkops_analyst;

-- ops: reporting reads the file audit for data-quality footers, nothing else (not quarantine).
grant usage on schema ops to parkops_reporting;
revoke create on schema ops from parkops_reporting;
grant select on ops.file_audit to parkops_reporting;
