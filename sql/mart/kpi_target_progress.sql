-- Progress of every target in core.dim_kpi_target for every as-of date (docs/measures.md).
--
-- As-of dates run over the union of the feeds' deliveries (published files, an empty one
-- included), each feed contributing the dates its data covers: daily feeds (registrations, visits, manual statistics) from the day before their first
-- delivery to the day before their latest (data of day D arrives on D+1); incubator reports from
-- the first day of their first to the first day of their latest delivery month (reports for month
-- M arrive during M+1). A KPI has figures only on dates its feed covers (incubator reports: up to
-- the end of the latest delivery month; manual statistics: whenever a period has ended), else
-- data_status 'no data' and null figures, never zero.
--
-- new_tech_per_day: actual = year-to-date average per calendar day; projected = the year's
--   average if the last 30 days' rate holds until 31 December.
-- unicorn_champions, leading_industry_talent: levels on the as-of date from the SCD2 dimension
--   (each version adds its value on valid_from and removes it on valid_to); projected = level
--   plus the last 30 days' change per day times the days left to the due date.
-- The other KPIs are judged as they stand (no projection): see docs/measures.md for each.
with targets as (
    select * from core.dim_kpi_target
),

rate_windows as (
    select * from mart.new_tech_per_day_windows
),

registration_dates as (
    select distinct as_of_date from rate_windows
),

-- Deliveries of each feed the marts read: published file versions (ops.published_files). An empty
-- file (a day without visits) is a delivery with no rows, so the axis comes from the deliveries,
-- never from the earliest or latest row of a fact.
published_deliveries as (
    select feed, min(delivery_date) as first_delivery, max(delivery_date) as last_delivery
    from ops.published_files
    group by feed
),

-- Coverage of each feed: first_day..last_day (as-of dates), axis_last_day (how far it extends the axis).
feed_coverage as (
    select
        'registrations' as feed,
        min(as_of_date) as first_day,
        max(as_of_date) as last_day,
        max(as_of_date) as axis_last_day
    from registration_dates
    union all
    select
        feed,
        cast(first_delivery - interval '1 day' as date),
        cast(last_delivery - interval '1 day' as date),
        cast(last_delivery - interval '1 day' as date)
    from published_deliveries
    where feed in ('visits', 'manual_statistics')
    union all
    select
        feed,
        first_delivery,
        cast(last_delivery + interval '1 month' - interval '1 day' as date),
        last_delivery
    from published_deliveries
    where feed = 'incubator_reports'
),

axis_bounds as (
    select min(first_day) as first_day, max(axis_last_day) as last_day from feed_coverage
),

as_of_dates as (
    select cast(series.day as date) as as_of_date
    from axis_bounds,
        generate_series(cast(axis_bounds.first_day as timestamp), cast(axis_bounds.last_day as timestamp), interval '1 day')
            as series (day)
),

covered_dates as (
    select as_of_dates.as_of_date, feed_coverage.feed
    from as_of_dates
    inner join feed_coverage
        on as_of_dates.as_of_date between feed_coverage.first_day and feed_coverage.last_day
),

visit_dates as (
    select as_of_date from covered_dates where feed = 'visits'
),

incubator_dates as (
    select as_of_date from covered_dates where feed = 'incubator_reports'
),

-- Registrations (unchanged): rate and levels on the registration feed's dates.
first_as_of as (
    select min(as_of_date) as first_day from registration_dates
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
        registration_dates.as_of_date,
        coalesce(sum(daily_level_changes.champions), 0) as champions,
        coalesce(sum(daily_level_changes.talent), 0) as talent
    from registration_dates
    left join daily_level_changes on daily_level_changes.day <= registration_dates.as_of_date
    group by registration_dates.as_of_date
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

-- 人均周走访数: visits per 片长 in the latest complete ISO week (Monday to Sunday) ending on or before D.
staff_week_actuals as (
    select visit_dates.as_of_date, 'visits_per_staff_week' as kpi_code, weeks.visits_per_visitor as actual
    from visit_dates
    inner join mart.visits_per_staff_week as weeks
        on weeks.visitor_role = '片长'
        and weeks.week_start = cast(cast(date_trunc('week', visit_dates.as_of_date + 1) as date) - 7 as date)
),

-- 重点企业走访覆盖率, quarter to date: key firms known by D (flagged in a visit up to D, or active and
-- tagged 独角兽/隐形冠军 on D), visited between the first day of D's quarter and D.
first_flags as (
    select uscc, min(visit_date) as first_flagged_on
    from core.fct_visits
    where is_key_enterprise
    group by uscc
),

key_enterprises_on as (
    select visit_dates.as_of_date, first_flags.uscc
    from visit_dates
    inner join first_flags on first_flags.first_flagged_on <= visit_dates.as_of_date
    union
    select visit_dates.as_of_date, versions.uscc
    from visit_dates
    inner join core.dim_enterprise as versions
        on versions.is_active
        and versions.is_unicorn_or_champion
        and versions.valid_from <= visit_dates.as_of_date
        and (versions.valid_to is null or versions.valid_to > visit_dates.as_of_date)
),

visit_days as (
    select distinct uscc, visit_date from core.fct_visits
),

key_visited as (
    select distinct key_enterprises_on.as_of_date, key_enterprises_on.uscc
    from key_enterprises_on
    inner join visit_days
        on visit_days.uscc = key_enterprises_on.uscc
        and visit_days.visit_date between cast(date_trunc('quarter', key_enterprises_on.as_of_date) as date)
            and key_enterprises_on.as_of_date
),

coverage_actuals as (
    select
        key_enterprises_on.as_of_date,
        'key_coverage_quarter' as kpi_code,
        cast(count(key_visited.uscc) as numeric(20, 4)) * 100 / count(*) as actual
    from key_enterprises_on
    left join key_visited
        on key_visited.as_of_date = key_enterprises_on.as_of_date
        and key_visited.uscc = key_enterprises_on.uscc
    group by key_enterprises_on.as_of_date
),

-- 诉求办结率: needs raised from 1 January of D's year to D, status as currently loaded.
daily_needs as (
    select
        raised_date,
        count(*) as raised,
        sum(case when is_resolved then 1 else 0 end) as resolved
    from mart.need_status
    group by raised_date
),

resolution_actuals as (
    select
        visit_dates.as_of_date,
        'needs_resolution' as kpi_code,
        cast(sum(daily_needs.resolved) as numeric(20, 4)) * 100 / sum(daily_needs.raised) as actual
    from visit_dates
    inner join daily_needs
        on daily_needs.raised_date between cast(date_trunc('year', visit_dates.as_of_date) as date)
            and visit_dates.as_of_date
    group by visit_dates.as_of_date
),

-- 共性诉求: episodes with a hot day in the 30 days ending on D, as known on D (an episode still
-- running on D counts; hot days up to D depend only on needs raised up to D).
recurring_actuals as (
    select
        visit_dates.as_of_date,
        'recurring_needs' as kpi_code,
        count(episodes.first_hot_day) as actual
    from visit_dates
    left join mart.recurring_needs as episodes
        on episodes.first_hot_day <= visit_dates.as_of_date
        and episodes.last_hot_day >= cast(visit_dates.as_of_date - interval '29 days' as date)
    group by visit_dates.as_of_date
),

-- 首席代办员代办次数: services in D's year up to D (zero is a real zero on a covered date).
daily_services as (
    select visit_date, count(*) as services
    from core.fct_visits
    where visitor_role = '首席代办员'
    group by visit_date
),

agent_actuals as (
    select
        visit_dates.as_of_date,
        'agent_services' as kpi_code,
        coalesce(sum(daily_services.services), 0) as actual
    from visit_dates
    left join daily_services
        on daily_services.visit_date between cast(date_trunc('year', visit_dates.as_of_date) as date)
            and visit_dates.as_of_date
    group by visit_dates.as_of_date
),

-- 高质量孵化器数量: as of the month before D's month (the latest month whose reports were due by
-- D), incubators whose latest report up to that month says 高质量孵化器.
incubator_reports as (
    select
        incubator_id,
        report_month,
        is_high_quality,
        lead(report_month) over (partition by incubator_id order by report_month) as next_report_month
    from core.fct_incubator_reports
),

incubator_months as (
    select
        as_of_date,
        cast(cast(date_trunc('month', as_of_date) as date) - interval '1 month' as date) as report_month
    from incubator_dates
),

hq_actuals as (
    select
        incubator_months.as_of_date,
        'hq_incubators' as kpi_code,
        sum(case when incubator_reports.is_high_quality then 1 else 0 end) as actual
    from incubator_months
    inner join incubator_reports
        on incubator_reports.report_month <= incubator_months.report_month
        and (
            incubator_reports.next_report_month is null
            or incubator_reports.next_report_month > incubator_months.report_month
        )
    group by incubator_months.as_of_date
),

-- Manual statistics: the latest period ending on or before D; when several end that day (2024,
-- 2024Q4, 2024-12) the shortest, i.e. the latest-starting one: the most recent observation.
share_actuals as (
    select as_of_date, 'leading_industry_share' as kpi_code, value as actual
    from (
        select
            as_of_dates.as_of_date,
            statistics.value,
            row_number() over (
                partition by as_of_dates.as_of_date
                order by statistics.period_end desc, statistics.period_start desc
            ) as recency
        from as_of_dates
        inner join core.fct_manual_statistics as statistics
            on statistics.kpi_code = 'leading_industry_share'
            and statistics.park_code is null
            and statistics.period_end <= as_of_dates.as_of_date
    ) as ranked
    where recency = 1
),

-- 万亿级产业规模园区: parks whose 产业规模 (亿元) reaches qualifying_value in the latest year with data.
park_years as (
    select period_end, park_code, value
    from core.fct_manual_statistics
    where kpi_code = 'trillion_parks' and period_kind = 'year' and park_code is not null
),

latest_park_years as (
    select as_of_dates.as_of_date, max(park_years.period_end) as period_end
    from as_of_dates
    inner join park_years on park_years.period_end <= as_of_dates.as_of_date
    group by as_of_dates.as_of_date
),

trillion_actuals as (
    select
        latest_park_years.as_of_date,
        'trillion_parks' as kpi_code,
        sum(case when park_years.value >= targets.qualifying_value then 1 else 0 end) as actual
    from latest_park_years
    inner join park_years on park_years.period_end = latest_park_years.period_end
    inner join targets on targets.kpi_code = 'trillion_parks'
    group by latest_park_years.as_of_date
),

actuals as (
    select as_of_date, kpi_code, actual, projected from new_tech_rate
    union all
    select as_of_date, kpi_code, actual, projected from level_progress
    union all
    select as_of_date, kpi_code, actual, null from staff_week_actuals
    union all
    select as_of_date, kpi_code, actual, null from coverage_actuals
    union all
    select as_of_date, kpi_code, actual, null from resolution_actuals
    union all
    select as_of_date, kpi_code, actual, null from recurring_actuals
    union all
    select as_of_date, kpi_code, actual, null from agent_actuals
    union all
    select as_of_date, kpi_code, actual, null from hq_actuals
    union all
    select as_of_date, kpi_code, actual, null from share_actuals
    union all
    select as_of_date, kpi_code, actual, null from trillion_actuals
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
        -- A threshold (detection rule) or an untargeted figure has nothing to attain.
        case when direction not in ('threshold', 'none') then actual / nullif(target_value, 0) end as attainment,
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
