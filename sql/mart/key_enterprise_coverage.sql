-- 重点企业走访覆盖率 per quarter and park (docs/measures.md). Key enterprises of quarter Q: flagged
-- key in any visit up to the end of Q (the platform's list only grows), united with enterprises
-- active and tagged 独角兽/隐形冠军 at the end of Q (SCD2 version valid then). Quarters run from the
-- earliest to the latest day the visits feed covers: before the visits feed starts, coverage would be a meaningless 0.
-- Rows exist only where there are key enterprises (zone-wide or in the park), so coverage_pct
-- always has a denominator.
with visits as (
    select * from core.fct_visits
),

-- Quarters from the earliest to the latest day seen: visit dates, and the days the published visits
-- deliveries cover (the day before each delivery; an empty delivery covers its day too).
delivered_days as (
    select
        cast(min(delivery_date) - interval '1 day' as date) as first_day,
        cast(max(delivery_date) - interval '1 day' as date) as last_day
    from ops.published_files
    where feed = 'visits'
),

visit_days_seen as (
    select min(visit_date) as first_day, max(visit_date) as last_day from visits
),

-- Either side may be empty: each coalesces to the other (least/greatest treat NULL differently
-- on the two engines).
bounds as (
    select
        cast(date_trunc('quarter', least(
            coalesce(visit_days_seen.first_day, delivered_days.first_day),
            coalesce(delivered_days.first_day, visit_days_seen.first_day)
        )) as date) as first_quarter,
        cast(date_trunc('quarter', greatest(
            coalesce(visit_days_seen.last_day, delivered_days.last_day),
            coalesce(delivered_days.last_day, visit_days_seen.last_day)
        )) as date) as last_quarter
    from visit_days_seen
    cross join delivered_days
),

quarters as (
    select
        cast(series.quarter_start as date) as quarter_start,
        cast(series.quarter_start + interval '3 months' - interval '1 day' as date) as quarter_end
    from bounds,
        generate_series(
            cast(bounds.first_quarter as timestamp), cast(bounds.last_quarter as timestamp), interval '3 months'
        ) as series (quarter_start)
),

first_flags as (
    select uscc, min(visit_date) as first_flagged_on
    from visits
    where is_key_enterprise
    group by uscc
),

tagged_versions as (
    select uscc, valid_from, valid_to, park_code
    from core.dim_enterprise
    where is_active and is_unicorn_or_champion
),

dimension_versions as (
    select uscc, valid_from, valid_to, park_code from core.dim_enterprise
),

key_candidates as (
    select quarters.quarter_start, quarters.quarter_end, first_flags.uscc, true as is_flagged, false as is_tagged
    from quarters
    inner join first_flags on first_flags.first_flagged_on <= quarters.quarter_end
    union all
    select quarters.quarter_start, quarters.quarter_end, tagged_versions.uscc, false, true
    from quarters
    inner join tagged_versions
        on tagged_versions.valid_from <= quarters.quarter_end
        and (tagged_versions.valid_to is null or tagged_versions.valid_to > quarters.quarter_end)
),

key_enterprises as (
    select quarter_start, quarter_end, uscc, bool_or(is_flagged) as is_flagged, bool_or(is_tagged) as is_tagged
    from key_candidates
    group by quarter_start, quarter_end, uscc
),

-- The firm's park: that of its latest visit up to the end of the quarter, else its registered park then.
latest_visit_parks as (
    select quarter_start, uscc, park_code
    from (
        select
            key_enterprises.quarter_start,
            key_enterprises.uscc,
            visits.park_code,
            row_number() over (
                partition by key_enterprises.quarter_start, key_enterprises.uscc
                order by visits.visit_date desc, visits.delivery_date desc, visits.source_file desc,
                    visits.source_row_number desc
            ) as recency
        from key_enterprises
        inner join visits
            on visits.uscc = key_enterprises.uscc
            and visits.visit_date <= key_enterprises.quarter_end
    ) as ranked
    where recency = 1
),

visited as (
    select distinct key_enterprises.quarter_start, key_enterprises.uscc
    from key_enterprises
    inner join visits
        on visits.uscc = key_enterprises.uscc
        and visits.visit_date between key_enterprises.quarter_start and key_enterprises.quarter_end
),

located as (
    select
        key_enterprises.quarter_start,
        key_enterprises.uscc,
        key_enterprises.is_flagged,
        key_enterprises.is_tagged,
        coalesce(latest_visit_parks.park_code, dimension_versions.park_code) as park_code,
        visited.uscc is not null as is_visited
    from key_enterprises
    left join latest_visit_parks
        on latest_visit_parks.quarter_start = key_enterprises.quarter_start
        and latest_visit_parks.uscc = key_enterprises.uscc
    left join dimension_versions
        on dimension_versions.uscc = key_enterprises.uscc
        and dimension_versions.valid_from <= key_enterprises.quarter_end
        and (dimension_versions.valid_to is null or dimension_versions.valid_to > key_enterprises.quarter_end)
    left join visited
        on visited.quarter_start = key_enterprises.quarter_start
        and visited.uscc = key_enterprises.uscc
),

park_counts as (
    select
        quarter_start,
        park_code,
        count(*) as key_enterprises,
        sum(case when is_flagged then 1 else 0 end) as flagged_key_enterprises,
        sum(case when is_tagged then 1 else 0 end) as tagged_key_enterprises,
        sum(case when is_visited then 1 else 0 end) as visited_key_enterprises
    from located
    where park_code is not null
    group by quarter_start, park_code
),

zone_counts as (
    select
        quarter_start,
        count(*) as key_enterprises,
        sum(case when is_flagged then 1 else 0 end) as flagged_key_enterprises,
        sum(case when is_tagged then 1 else 0 end) as tagged_key_enterprises,
        sum(case when is_visited then 1 else 0 end) as visited_key_enterprises
    from located
    group by quarter_start
),

parks as (
    select park_code, park_name from core.dim_park
),

counts as (
    select park_counts.*, parks.park_name
    from park_counts
    inner join parks on parks.park_code = park_counts.park_code
    union all
    select
        quarter_start,
        'all' as park_code,
        key_enterprises,
        flagged_key_enterprises,
        tagged_key_enterprises,
        visited_key_enterprises,
        '全区' as park_name
    from zone_counts
),

final as (
    select
        quarters.quarter_start,
        quarters.quarter_end,
        cast(cast(extract(year from quarters.quarter_start) as integer) as text)
            || 'Q' || cast(cast(extract(quarter from quarters.quarter_start) as integer) as text) as quarter_label,
        counts.park_code,
        counts.park_name,
        cast(counts.key_enterprises as integer) as key_enterprises,
        cast(counts.flagged_key_enterprises as integer) as flagged_key_enterprises,
        cast(counts.tagged_key_enterprises as integer) as tagged_key_enterprises,
        cast(counts.visited_key_enterprises as integer) as visited_key_enterprises,
        cast(
            cast(counts.visited_key_enterprises as numeric(20, 4)) * 100 / nullif(counts.key_enterprises, 0)
            as numeric(20, 4)
        ) as coverage_pct
    from counts
    inner join quarters on quarters.quarter_start = counts.quarter_start
)

select * from final
