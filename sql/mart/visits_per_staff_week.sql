-- 人均周走访数 per ISO week and role: staff without a visit in a week are not in it (the feed has
-- no roster), so the mean is over staff who visited at least once.
with staff_weeks as (
    select * from mart.staff_week_visits
),

final as (
    select
        iso_year,
        iso_week,
        week_start,
        cast(week_start + 6 as date) as week_end,
        visitor_role,
        cast(count(*) as integer) as visitors,
        cast(sum(visits) as integer) as visits,
        cast(cast(sum(visits) as numeric(20, 4)) / count(*) as numeric(20, 4)) as visits_per_visitor,
        max(target) as target,
        cast(case when max(target) is not null then sum(case when meets_target then 1 else 0 end) end as integer)
            as visitors_meeting_target
    from staff_weeks
    group by iso_year, iso_week, week_start, visitor_role
)

select * from final
