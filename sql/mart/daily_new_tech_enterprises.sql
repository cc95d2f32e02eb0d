-- New enterprises per event date and park: every day between the first and the last 设立/迁入
-- event date loaded, for every park, zeros included (a dense grid is what charts and sums want).
with new_enterprise_events as (
    select * from core.fct_registration_events where is_new_enterprise
),

bounds as (
    select min(event_date) as first_day, max(event_date) as last_day from new_enterprise_events
),

days as (
    select cast(series.day as date) as date
    from bounds,
        generate_series(cast(bounds.first_day as timestamp), cast(bounds.last_day as timestamp), interval '1 day')
            as series (day)
),

parks as (
    select park_code, park_name from core.dim_park
),

counts as (
    select
        event_date as date,
        park_code,
        count(distinct case when is_tech then uscc end) as new_tech_enterprises,
        count(distinct case when is_tech and event_type = '设立' then uscc end) as new_tech_established,
        count(distinct case when is_tech and event_type = '迁入' then uscc end) as new_tech_moved_in,
        count(distinct uscc) as new_enterprises
    from new_enterprise_events
    group by event_date, park_code
),

final as (
    select
        days.date,
        parks.park_code,
        parks.park_name,
        cast(coalesce(counts.new_tech_enterprises, 0) as integer) as new_tech_enterprises,
        cast(coalesce(counts.new_tech_established, 0) as integer) as new_tech_established,
        cast(coalesce(counts.new_tech_moved_in, 0) as integer) as new_tech_moved_in,
        cast(coalesce(counts.new_enterprises, 0) as integer) as new_enterprises
    from days
    cross join parks
    left join counts on counts.date = days.date and counts.park_code = parks.park_code
)

select * from final
