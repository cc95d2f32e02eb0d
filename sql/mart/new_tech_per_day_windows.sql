-- 日均新增科技企业 per as-of date in the four windows of kpis.md. As-of dates run from the day
-- before the first delivery to the day before the latest delivery (events of day D arrive on D+1):
-- published deliveries (ops.published_files), so a delivery without events still counts its zero.
with events as (
    select * from core.fct_registration_events
),

bounds as (
    select
        cast(min(delivery_date) - interval '1 day' as date) as first_day,
        cast(max(delivery_date) - interval '1 day' as date) as last_day
    from ops.published_files
    where feed = 'registrations'
),

as_of_dates as (
    select cast(series.day as date) as as_of_date
    from bounds,
        generate_series(cast(bounds.first_day as timestamp), cast(bounds.last_day as timestamp), interval '1 day')
            as series (day)
),

daily_new_tech as (
    select event_date as day, count(distinct uscc) as new_tech
    from events
    where is_new_tech_enterprise
    group by event_date
),

windows as (
    select as_of_date, 'day' as window_code, as_of_date as window_start from as_of_dates
    union all
    select as_of_date, 'rolling_30d', cast(as_of_date - interval '29 days' as date) from as_of_dates
    union all
    select as_of_date, 'month_to_date', cast(date_trunc('month', as_of_date) as date) from as_of_dates
    union all
    select as_of_date, 'year_to_date', cast(date_trunc('year', as_of_date) as date) from as_of_dates
),

target as (
    select target_value from core.dim_kpi_target where kpi_code = 'new_tech_per_day'
),

counted as (
    select
        windows.as_of_date,
        windows.window_code,
        windows.window_start,
        cast(windows.as_of_date - windows.window_start as integer) + 1 as calendar_days,
        cast(coalesce(sum(daily_new_tech.new_tech), 0) as integer) as new_tech_enterprises
    from windows
    left join daily_new_tech
        on daily_new_tech.day between windows.window_start and windows.as_of_date
    group by windows.as_of_date, windows.window_code, windows.window_start
),

final as (
    select
        counted.as_of_date,
        counted.window_code,
        counted.window_start,
        counted.calendar_days,
        counted.new_tech_enterprises,
        cast(counted.new_tech_enterprises as numeric(20, 4)) / counted.calendar_days as new_tech_per_day,
        target.target_value as target,
        cast(counted.new_tech_enterprises as numeric(20, 4)) / counted.calendar_days
            / nullif(target.target_value, 0) as attainment
    from counted
    left join target on true
)

select * from final
