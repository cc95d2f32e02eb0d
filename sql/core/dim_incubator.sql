-- Incubators: attributes of each incubator's latest report month (current versions).
with reports as (
    select * from core.fct_incubator_reports
),

ordered as (
    select
        reports.*,
        row_number() over (partition by incubator_id order by report_month desc) as recency,
        min(report_month) over (partition by incubator_id) as first_report_month,
        count(*) over (partition by incubator_id) as months_reported
    from reports
),

final as (
    select
        incubator_id,
        incubator_name,
        level,
        is_high_quality,
        park_code,
        first_report_month,
        report_month as last_report_month,
        cast(months_reported as integer) as months_reported
    from ordered
    where recency = 1
)

select * from final
