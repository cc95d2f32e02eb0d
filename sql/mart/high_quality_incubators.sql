-- 高质量孵化器数量 as of each month M (docs/measures.md): an incubator counts with its latest report
-- with report_month <= M (an incubator that skipped a month keeps its last status), in the park of
-- that report. Months run from the first to the latest report month.
with reports as (
    select
        incubator_id,
        report_month,
        is_high_quality,
        park_code,
        lead(report_month) over (partition by incubator_id order by report_month) as next_report_month
    from core.fct_incubator_reports
),

bounds as (
    select min(report_month) as first_month, max(report_month) as last_month from reports
),

months as (
    select cast(series.month as date) as month
    from bounds,
        generate_series(cast(bounds.first_month as timestamp), cast(bounds.last_month as timestamp), interval '1 month')
            as series (month)
),

-- The report in force in month M: report_month <= M < next report_month.
in_force as (
    select
        months.month,
        reports.incubator_id,
        reports.is_high_quality,
        reports.park_code,
        reports.report_month = months.month as reported_this_month
    from months
    inner join reports
        on reports.report_month <= months.month
        and (reports.next_report_month is null or reports.next_report_month > months.month)
),

park_counts as (
    select
        month,
        park_code,
        count(*) as incubators,
        sum(case when is_high_quality then 1 else 0 end) as high_quality_incubators,
        sum(case when reported_this_month then 1 else 0 end) as reporting_incubators
    from in_force
    where park_code is not null
    group by month, park_code
),

zone_counts as (
    select
        month,
        count(*) as incubators,
        sum(case when is_high_quality then 1 else 0 end) as high_quality_incubators,
        sum(case when reported_this_month then 1 else 0 end) as reporting_incubators
    from in_force
    group by month
),

parks as (
    select park_code, park_name from core.dim_park
),

final as (
    select
        park_counts.month,
        park_counts.park_code,
        parks.park_name,
        cast(park_counts.incubators as integer) as incubators,
        cast(park_counts.high_quality_incubators as integer) as high_quality_incubators,
        cast(park_counts.reporting_incubators as integer) as reporting_incubators
    from park_counts
    inner join parks on parks.park_code = park_counts.park_code
    union all
    select
        months.month,
        'all' as park_code,
        '全区' as park_name,
        cast(coalesce(zone_counts.incubators, 0) as integer),
        cast(coalesce(zone_counts.high_quality_incubators, 0) as integer),
        cast(coalesce(zone_counts.reporting_incubators, 0) as integer)
    from months
    left join zone_counts on zone_counts.month = months.month
)

select * from final
