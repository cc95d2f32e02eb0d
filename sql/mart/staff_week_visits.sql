-- Visits per staff member and ISO week (Monday to Sunday), every channel. A visit counts under
-- the role logged with it; the 人均周走访数 target applies to 片长 only (kpis.md).
with visits as (
    select * from core.fct_visits
),

target as (
    select target_value from core.dim_kpi_target where kpi_code = 'visits_per_staff_week'
),

weekly as (
    select
        iso_year,
        iso_week,
        week_start,
        visitor_id,
        visitor_role,
        count(*) as visits
    from visits
    group by iso_year, iso_week, week_start, visitor_id, visitor_role
),

final as (
    select
        weekly.iso_year,
        weekly.iso_week,
        weekly.week_start,
        weekly.visitor_id,
        weekly.visitor_role,
        cast(weekly.visits as integer) as visits,
        case when weekly.visitor_role = '片长' then target.target_value end as target,
        case when weekly.visitor_role = '片长' then weekly.visits >= target.target_value end as meets_target
    from weekly
    left join target on true
)

select * from final
