-- The current reports of one report month (mart.incubator_monthly), one row per incubator.
with reports as (
    select * from mart.incubator_monthly where report_month = :report_month
),

parks as (
    select park_code, park_name from core.dim_park
),

final as (
    select
        reports.incubator_id,
        reports.incubator_name,
        reports.level,
        parks.park_name,
        reports.is_high_quality,
        reports.incubatees,
        reports.new_incubatees,
        reports.graduated,
        reports.graduated_cumulative,
        reports.funded_incubatees,
        reports.funding_10k,
        reports.incubatee_revenue_10k,
        reports.is_late,
        reports.version_count
    from reports
    left join parks on reports.park_code = parks.park_code
)

select * from final order by incubator_id
