-- 共性诉求 episodes (docs/measures.md). Day D is hot for category C when at least target_value
-- distinct enterprises raised a need of C with raised_date in [D - window_days + 1, D]
-- (core.dim_kpi_target, recurring_needs). An episode is a maximal run of consecutive hot days; its
-- span starts window_days - 1 days before its first hot day. Needs in their current state.
with needs as (
    select need_id, category, raised_date, uscc, park_code from core.need_current
),

rule as (
    select target_value as min_enterprises, window_days
    from core.dim_kpi_target
    where kpi_code = 'recurring_needs'
),

offsets as (
    select cast(series.day_offset as integer) as day_offset
    from rule, generate_series(0, rule.window_days - 1) as series (day_offset)
),

-- A need raised on day R lies in the windows of days R .. R + window_days - 1.
need_windows as (
    select needs.category, cast(needs.raised_date + offsets.day_offset as date) as window_day, needs.uscc
    from needs
    cross join offsets
),

window_counts as (
    select category, window_day, count(distinct uscc) as enterprises
    from need_windows
    group by category, window_day
),

hot_days as (
    select window_counts.*
    from window_counts
    cross join rule
    where window_counts.enterprises >= rule.min_enterprises
),

-- Consecutive days minus their position in the run give the same date: one key per run.
runs as (
    select
        hot_days.*,
        cast(
            window_day - cast(row_number() over (partition by category order by window_day) as integer) as date
        ) as run_key
    from hot_days
),

episodes as (
    select
        category,
        min(window_day) as first_hot_day,
        max(window_day) as last_hot_day,
        count(*) as hot_days,
        max(enterprises) as peak_enterprises_7d
    from runs
    group by category, run_key
),

spans as (
    select episodes.*, cast(episodes.first_hot_day - (rule.window_days - 1) as date) as episode_start
    from episodes
    cross join rule
),

members as (
    select spans.category, spans.first_hot_day, needs.need_id, needs.uscc, needs.park_code
    from spans
    inner join needs
        on needs.category = spans.category
        and needs.raised_date between spans.episode_start and spans.last_hot_day
),

member_counts as (
    select
        category,
        first_hot_day,
        count(distinct uscc) as enterprises,
        count(distinct need_id) as needs,
        string_agg(distinct park_code, ';' order by park_code) as parks
    from members
    group by category, first_hot_day
),

final as (
    select
        spans.category,
        spans.episode_start,
        spans.first_hot_day,
        spans.last_hot_day,
        cast(spans.hot_days as integer) as hot_days,
        cast(member_counts.enterprises as integer) as enterprises,
        cast(member_counts.needs as integer) as needs,
        cast(spans.peak_enterprises_7d as integer) as peak_enterprises_7d,
        member_counts.parks
    from spans
    inner join member_counts
        on member_counts.category = spans.category
        and member_counts.first_hot_day = spans.first_hot_day
)

select * from final
