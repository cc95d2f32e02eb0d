-- New enterprises per event date and park: every day between the first 设立/迁入 event date loaded
-- (or the first delivered day, if earlier) and the latest delivered day (or the last event date, if
-- later), for every park, zeros included (a dense grid is what charts and sums want).
with new_enterprise_events as (
    select * from core.fct_registration_events where is_new_enterprise
),

-- Days the published deliveries cover (the day before each delivery): a delivery without any
-- new enterprise (an empty file) still contributes its zero day.
delivered_days as (
    select
        cast(min(delivery_date) - interval '1 day' as date) as first_day,
        cast(max(delivery_date) - interval '1 day' as date) as last_day
    from ops.published_files
    where feed = 'registrations'
),

event_days as (
    select min(event_date) as first_day, max(event_date) as last_day from new_enterprise_events
),

-- Either side may be empty: each coalesces to the other (least/greatest treat NULL differently
-- on the two engines).
bounds as (
    select
        least(
            coalesce(event_days.first_day, delivered_days.first_day),
            coalesce(delivered_days.first_day, event_days.first_day)
        ) as first_day,
        greatest(
            coalesce(event_days.last_day, delivered_days.last_day),
            coalesce(delivered_days.last_day, event_days.last_day)
        ) as last_day
    from event_days
    cross join delivered_days
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
