-- Every park: its evaluation of :year as of the period's end (mart.park_evaluation; the latest
-- as-of date up to :period_end when the data ends earlier) and its figures of the period.
with parks as (
    select park_code, park_name from core.dim_park
),

evaluation_day as (
    select max(as_of_date) as as_of_date
    from mart.park_evaluation
    where year = :year and as_of_date <= :period_end
),

evaluation as (
    select park_evaluation.*
    from mart.park_evaluation
    inner join evaluation_day on evaluation_day.as_of_date = park_evaluation.as_of_date
),

new_tech as (
    select park_code, sum(new_tech_enterprises) as new_tech_in_period
    from mart.daily_new_tech_enterprises
    where date between :period_start and :period_end
    group by park_code
),

needs_raised as (
    select park_code, count(*) as needs_raised_in_period
    from mart.need_status
    where raised_date between :period_start and :period_end
    group by park_code
),

needs_resolved as (
    select park_code, count(*) as needs_resolved_in_period
    from mart.need_status
    where resolved_date between :period_start and :period_end
    group by park_code
),

final as (
    select
        evaluation_day.as_of_date as evaluated_as_of,
        evaluation.rank,
        parks.park_code,
        parks.park_name,
        evaluation.score,
        evaluation.status,
        coalesce(evaluation.components_scored, 0) as components_scored,
        coalesce(evaluation.too_many_leading_industries, false) as too_many_leading_industries,
        coalesce(new_tech.new_tech_in_period, 0) as new_tech_in_period,
        coalesce(needs_raised.needs_raised_in_period, 0) as needs_raised_in_period,
        coalesce(needs_resolved.needs_resolved_in_period, 0) as needs_resolved_in_period
    from parks
    cross join evaluation_day
    left join evaluation on parks.park_code = evaluation.park_code
    left join new_tech on parks.park_code = new_tech.park_code
    left join needs_raised on parks.park_code = needs_raised.park_code
    left join needs_resolved on parks.park_code = needs_resolved.park_code
)

select * from final order by rank nulls last, new_tech_in_period desc, park_code
