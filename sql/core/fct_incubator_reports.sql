-- The current report per incubator and month: the version delivered last, ordered by delivery
-- month, then source_file, then row in sheet 月报 (staging keeps no load timestamp; a corrected
-- redelivery of the same file replaces its rows in staging already). A resubmission for an
-- earlier month replaces that month's report; version_count says how many were received.
with reports as (
    select * from staging.incubator_reports
    -- only what the quality gate published (ops.published_files): never a held batch
    where source_sha256 in (
        select source_sha256 from ops.published_files where feed = 'incubator_reports'
    )
),

parks as (
    select park_code, park_name from core.dim_park
),

versions as (
    select
        reports.*,
        row_number() over (
            partition by incubator_id, report_month
            order by delivery_date desc, source_file desc, source_row_number desc
        ) as recency,
        count(*) over (partition by incubator_id, report_month) as version_count
    from reports
),

final as (
    select
        versions.incubator_id,
        versions.report_month,
        versions.incubator_name,
        versions.level,
        versions.is_high_quality,
        parks.park_code,
        versions.incubation_area_m2,
        versions.incubatees,
        versions.new_incubatees,
        versions.graduated,
        versions.graduated_cumulative,
        versions.funded_incubatees,
        versions.funding_10k,
        versions.ip_granted,
        versions.incubatee_employees,
        versions.incubatee_revenue_10k,
        versions.has_tenant_list,
        cast(versions.version_count as integer) as version_count,
        versions.delivery_date,
        -- Reports are due in the month after the report month; delivery_date is the first day
        -- of the delivery month, so a later month means late.
        versions.delivery_date > cast(versions.report_month + interval '1 month' as date) as is_late,
        versions.source_file,
        versions.source_sha256,
        versions.source_row_number,
        versions.run_id
    from versions
    left join parks on parks.park_name = versions.park_name
    where versions.recency = 1
)

select * from final
