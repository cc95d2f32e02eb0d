-- Manual statistics: one row per KPI, period and park; the latest delivery wins (delivery day,
-- then source_file, then row), as for a corrected figure sent again.
with statistics as (
    select * from staging.manual_statistics
    -- only what the quality gate published (ops.published_files): never a held batch
    where source_sha256 in (
        select source_sha256 from ops.published_files where feed = 'manual_statistics'
    )
),

parks as (
    select park_code, park_name from core.dim_park
),

with_parks as (
    select statistics.*, parks.park_code
    from statistics
    left join parks on parks.park_name = statistics.park_name
),

versions as (
    select
        with_parks.*,
        row_number() over (
            partition by kpi_code, period_start, period_end, park_code
            order by delivery_date desc, source_file desc, source_row_number desc
        ) as recency,
        count(*) over (partition by kpi_code, period_start, period_end, park_code) as delivery_count
    from with_parks
),

final as (
    select
        kpi_code,
        period_start,
        period_end,
        period_label,
        -- The kind follows from the dates, whatever spelling the period arrived in.
        case
            when extract(month from period_start) = 1 and extract(day from period_start) = 1
                and period_end = cast(period_start + interval '1 year' - interval '1 day' as date) then 'year'
            when extract(month from period_start) in (1, 4, 7, 10) and extract(day from period_start) = 1
                and period_end = cast(period_start + interval '3 months' - interval '1 day' as date) then 'quarter'
            when extract(day from period_start) = 1
                and period_end = cast(period_start + interval '1 month' - interval '1 day' as date) then 'month'
            else 'other'
        end as period_kind,
        park_code,
        value,
        source,
        note,
        cast(delivery_count as integer) as delivery_count,
        delivery_date,
        source_file,
        source_sha256,
        source_row_number,
        run_id
    from versions
    where recency = 1
)

select * from final
