-- USCCs that visits or tenant lists reference but the registry feed has never shown: kept in core
-- (enterprise_known = false) and listed here, once per feed and USCC, for follow-up.
with references_seen as (
    select 'visits' as feed, uscc, visit_date as seen_date, source_file
    from core.fct_visits
    where not enterprise_known
    union all
    select 'incubator_reports' as feed, uscc, report_month as seen_date, source_file
    from core.fct_incubator_tenants
    where not enterprise_known
),

final as (
    select
        feed,
        uscc,
        min(seen_date) as first_seen_date,
        max(seen_date) as last_seen_date,
        cast(count(*) as integer) as row_count,
        min(source_file) as sample_source_file
    from references_seen
    group by feed, uscc
)

select * from final
