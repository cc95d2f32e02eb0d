-- Tenants (在孵企业名单) of the current report versions only: a resubmission's list replaces the
-- earlier one with the rest of the report. A USCC listed twice in one list counts once.
with tenants as (
    select * from staging.incubator_tenants
    -- only what the quality gate published (ops.published_files): never a held batch
    where source_sha256 in (
        select source_sha256 from ops.published_files where feed = 'incubator_reports'
    )
),

current_reports as (
    select incubator_id, report_month, park_code, source_file, source_sha256
    from core.fct_incubator_reports
),

known_enterprises as (
    select distinct uscc from core.dim_enterprise_current
),

listed as (
    select distinct
        current_reports.incubator_id,
        current_reports.report_month,
        tenants.uscc,
        current_reports.park_code,
        current_reports.source_file,
        current_reports.source_sha256
    from tenants
    inner join current_reports
        on current_reports.source_sha256 = tenants.source_sha256
        and current_reports.incubator_id = tenants.incubator_id
        and current_reports.report_month = tenants.report_month
),

final as (
    select
        listed.incubator_id,
        listed.report_month,
        listed.uscc,
        known_enterprises.uscc is not null as enterprise_known,
        listed.park_code,
        listed.source_file,
        listed.source_sha256
    from listed
    left join known_enterprises on known_enterprises.uscc = listed.uscc
)

select * from final
