-- Progress of every target in core.dim_kpi_target for every as-of date.
-- new_tech_per_day: actual = year-to-date average per calendar day; projected = the year's
--   average if the last 30 days' rate holds until 31 December.
-- unicorn_champions, leading_industry_talent: levels on the as-of date from the SCD2 dimension
--   (each version adds its value on valid_from and removes it on valid_to); projected = level
--   plus the last 30 days' change per day times the days left to the due date.
-- Targets whose feed has not delivered yet (incubators, visits, manual statistics) get
-- data_status 'no data' and null figures, never zero.
with targets as (
    select * from core.dim_kpi_target
),

rate_windows as (
    select * from mart.new_tech_per_day_windows
),

as_of_dates as (
    select distinct as_of_date from rate_windows
),

first_as_of as (
    select min(as_of_date) as first_day from as_of_dates
),

new_tech_rate as (
    select
        year_to_date.as_of_date,
        'new_tech_per_day' as kpi_code,
        year_to_date.new_tech_per_day as actual,
        case
            when rolling.window_start >= first_as_of.first_day then
                (year_to_date.new_tech_enterprises
                    + rolling.new_tech_per_day * (year_end.last_day - year_to_date.as_of_date))
                / (year_end.last_day - year_to_date.window_start + 1)
        end as projected
    from rate_windows as year_to_date
    inner join rate_windows as rolling
        on rolling.as_of_date = year_to_date.as_of_date
        and rolling.window_code = 'rolling_30d'
    cross join first_as_of
    cross join lateral (
        select cast(date_trunc('year', year_to_date.as_of_date) + interval '1 year' - interval '1 day' as date)
            as last_day
    ) as year_end
    where year_to_date.window_code = 'year_to_date'
),

enterprise_versions as (
    select
        valid_from,
        valid_to,
        case when is_active and is_unicorn_or_champion then 1 else 0 end as champions,
        case when is_active and leading_industry is not null then coalesce(insured_employees, 0) else 0 end as talent
    from core.dim_enterprise
),

level_changes as (
    select valid_from as day, champions, talent from enterprise_versions
    union all
    select valid_to as day, -champions, -talent from enterprise_versions where valid_to is not null
),

daily_level_changes as (
    select day, sum(champions) as champions, sum(talent) as talent
    from level_changes
    group by day
),

levels as (
    select
        as_of_dates.as_of_date,
        coalesce(sum(daily_level_changes.champions), 0) as champions,
        coalesce(sum(daily_level_changes.talent), 0) as talent
    from as_of_dates
    left join daily_level_changes on daily_level_changes.day <= as_of_dates.as_of_date
    group by as_of_dates.as_of_date
),

level_actuals as (
    select as_of_date, 'unicorn_champions' as kpi_code, champions as actual from levels
    union all
    select as_of_date, 'leading_industry_talent' as kpi_code, talent as actual from levels
),

level_progress as (
    select
        current_level.as_of_date,
        current_level.kpi_code,
        current_level.actual,
        current_level.actual
            + (current_level.actual - earlier_level.actual) / 30.0
            * (targets.due_date - current_level.as_of_date) as projected
    from level_actuals as current_level
    inner join targets on targets.kpi_code = current_level.kpi_code
    left join level_actuals as earlier_level
        on earlier_level.kpi_code = current_level.kpi_code
        and earlier_level.as_of_date = cast(current_level.as_of_date - interval '30 days' as date)
),

actuals as (
    select as_of_date, kpi_code, actual, projected from new_tech_rate
    union all
    select as_of_date, kpi_code, actual, projected from level_progress
),

measured as (
    select
        as_of_dates.as_of_date,
        targets.*,
        cast(actuals.actual as numeric(20, 4)) as actual,
        cast(actuals.projected as numeric(20, 4)) as projected,
        case
            when actuals.projected is null
                or (targets.due_date is not null and as_of_dates.as_of_date >= targets.due_date)
                then cast(actuals.actual as numeric(20, 4))
            else cast(actuals.projected as numeric(20, 4))
        end as judged_value
    from as_of_dates
    cross join targets
    left join actuals
        on actuals.as_of_date = as_of_dates.as_of_date
        and actuals.kpi_code = targets.kpi_code
),

final as (
    select
        as_of_date,
        kpi_code,
        kpi_name,
        category,
        actual,
        target_value as target,
        target_upper,
        unit,
        direction,
        actual / nullif(target_value, 0) as attainment,
        case
            when actual is null then null
            when direction = 'at_least' then judged_value >= target_value
            when direction = 'more_than' then judged_value > target_value
            when direction = 'between' then judged_value between target_value and target_upper
        end as on_track,
        case when actual is null then 'no data' else 'ok' end as data_status,
        due_date,
        projected as projected_at_due_date
    from measured
)

select * from final
