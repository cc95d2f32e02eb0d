-- 诉求办结率 / 办结时长 by month raised, park and category, with totals over parks ('all'), over
-- categories ('全部') and both, from grouping sets over the needs themselves: a median of
-- medians is not a median. Status as currently loaded; a need counts in its raised month.
with needs as (
    select * from mart.need_status
),

parks as (
    select park_code, park_name from core.dim_park
),

grouped as (
    select
        raised_month,
        case when grouping(park_code) = 1 then 'all' else park_code end as park_code,
        case when grouping(category) = 1 then '全部' else category end as category,
        count(*) as needs_raised,
        sum(case when is_resolved then 1 else 0 end) as needs_resolved,
        percentile_cont(0.5) within group (order by days_to_resolve) as median_days_to_resolve
    from needs
    group by grouping sets (
        (raised_month, park_code, category),
        (raised_month, park_code),
        (raised_month, category),
        (raised_month)
    )
),

final as (
    select
        grouped.raised_month,
        grouped.park_code,
        case when grouped.park_code = 'all' then '全区' else parks.park_name end as park_name,
        grouped.category,
        cast(grouped.needs_raised as integer) as needs_raised,
        cast(grouped.needs_resolved as integer) as needs_resolved,
        cast(cast(grouped.needs_resolved as numeric(20, 4)) * 100 / grouped.needs_raised as numeric(20, 4))
            as resolution_rate,
        cast(grouped.median_days_to_resolve as numeric(20, 4)) as median_days_to_resolve
    from grouped
    -- A need whose park is unknown counts in the 'all' rows only.
    left join parks on parks.park_code = grouped.park_code
    where grouped.park_code is not null
)

select * from final
