-- 首席代办员代办次数: visits logged under the role 首席代办员, per month and park.
with services as (
    select * from core.fct_visits where visitor_role = '首席代办员'
),

parks as (
    select park_code, park_name from core.dim_park
),

monthly as (
    select
        cast(date_trunc('month', visit_date) as date) as month,
        park_code,
        count(*) as services,
        count(distinct visitor_id) as agents,
        count(distinct uscc) as enterprises,
        sum(need_count) as needs_reported
    from services
    group by cast(date_trunc('month', visit_date) as date), park_code
),

final as (
    select
        monthly.month,
        monthly.park_code,
        parks.park_name,
        cast(monthly.services as integer) as services,
        cast(monthly.agents as integer) as agents,
        cast(monthly.enterprises as integer) as enterprises,
        cast(monthly.needs_reported as integer) as needs_reported
    from monthly
    inner join parks on parks.park_code = monthly.park_code
)

select * from final
