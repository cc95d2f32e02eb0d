-- 园区考核评估 per park as of every day of a year, from the data dated up to that day
-- (docs/measures.md). Four components scored 0-100, weighted with core.dim_park_evaluation_weight;
-- a component without data for the park is left out and the other weights are rescaled (the
-- weighted sum is divided by the weights present). Failing band and the leading-industry limit
-- come from core.dim_park_evaluation_rule.
-- A year is evaluated as of D once both daily feeds (registrations and visits) have data dated
-- in it up to D: a year seen only through late events, late incubator reports or statistics would
-- judge every park on one component, and a 通报 there would turn the next year's into a 摘牌.
-- Axis: every day from then to 31 December, or to the latest day the daily feeds cover.
with feed_years as (
    select cast(extract(year from event_date) as integer) as year, min(event_date) as first_day
    from core.fct_registration_events
    group by cast(extract(year from event_date) as integer)
    union all
    select cast(extract(year from visit_date) as integer), min(visit_date)
    from core.fct_visits
    group by cast(extract(year from visit_date) as integer)
),

judged_years as (
    select year, max(first_day) as judged_from
    from feed_years
    group by year
    having count(*) = 2
),

-- The latest day the daily feeds cover: data of day D arrives on D + 1.
data_end as (
    select max(last_day) as last_day
    from (
        select cast(max(delivery_date) - interval '1 day' as date) as last_day from core.fct_registration_events
        union all
        select cast(max(delivery_date) - interval '1 day' as date) from core.fct_visits
    ) as feed_ends
),

-- Every day from 1 January of the first judged year: the running sums start on 1 January even
-- when the year is judged from a later day.
bounds as (
    select
        cast(date_trunc('year', min(judged_years.judged_from)) as date) as first_day,
        max(data_end.last_day) as last_day
    from judged_years
    cross join data_end
),

calendar as (
    select
        cast(series.day as date) as as_of_date,
        cast(extract(year from series.day) as integer) as year,
        -- the latest month ended on or before the day (the day itself may end it)
        cast(date_trunc('month', series.day + interval '1 day') - interval '1 month' as date) as ended_month
    from bounds,
        generate_series(cast(bounds.first_day as timestamp), cast(bounds.last_day as timestamp), interval '1 day')
            as series (day)
),

-- Months of the day's own year only (none before the year's first one ends).
days as (
    select
        as_of_date,
        year,
        case when extract(year from ended_month) = year then ended_month end as complete_month
    from calendar
),

parks as (
    select park_code, park_name, leading_industry_count from core.dim_park
),

-- new_tech: new tech enterprises from 1 January to D (sum of the daily distinct counts, as for
-- 日均新增科技企业); zero for a park without any.
new_tech_days as (
    select date, park_code, new_tech_enterprises from mart.daily_new_tech_enterprises
),

-- needs_resolution: needs (current record, in its park) raised from 1 January to D; resolved by D
-- when 已办结 with resolved_date <= D (counted from the later of the two dates, within the year).
needs_raised_days as (
    select raised_date as day, park_code, count(*) as needs_raised
    from mart.need_status
    where park_code is not null
    group by raised_date, park_code
),

needs_resolved_days as (
    select day, park_code, count(*) as needs_resolved
    from (
        select
            case when resolved_date > raised_date then resolved_date else raised_date end as day,
            raised_date,
            park_code
        from mart.need_status
        where is_resolved and resolved_date is not null and park_code is not null
    ) as resolved
    where extract(year from day) = extract(year from raised_date)
    group by day, park_code
),

running as (
    select
        days.as_of_date,
        days.year,
        days.complete_month,
        parks.park_code,
        parks.park_name,
        parks.leading_industry_count,
        sum(coalesce(new_tech_days.new_tech_enterprises, 0)) over year_to_date as new_tech_enterprises,
        sum(coalesce(needs_raised_days.needs_raised, 0)) over year_to_date as needs_raised,
        sum(coalesce(needs_resolved_days.needs_resolved, 0)) over year_to_date as needs_resolved
    from days
    cross join parks
    left join new_tech_days on new_tech_days.date = days.as_of_date and new_tech_days.park_code = parks.park_code
    left join needs_raised_days
        on needs_raised_days.day = days.as_of_date and needs_raised_days.park_code = parks.park_code
    left join needs_resolved_days
        on needs_resolved_days.day = days.as_of_date and needs_resolved_days.park_code = parks.park_code
    window year_to_date as (
        partition by parks.park_code, days.year order by days.as_of_date rows between unbounded preceding and current row
    )
),

park_days as (
    select running.*
    from running
    inner join judged_years
        on judged_years.year = running.year
        and running.as_of_date >= judged_years.judged_from
),

new_tech_scored as (
    select
        as_of_date,
        park_code,
        cast(
            cast(new_tech_enterprises as numeric(20, 4)) * 100
            / nullif(max(new_tech_enterprises) over (partition by as_of_date), 0)
            as numeric(20, 4)
        ) as new_tech_score
    from park_days
),

-- incubator_quality: as of D, each incubator's latest report of D's year among the months ended by
-- D, in that report's park (a month's report describes the whole month).
evaluation_months as (
    select distinct complete_month as month from park_days where complete_month is not null
),

latest_reports as (
    select month, incubator_id, park_code, is_high_quality
    from (
        select
            evaluation_months.month,
            reports.incubator_id,
            reports.park_code,
            reports.is_high_quality,
            row_number() over (
                partition by evaluation_months.month, reports.incubator_id order by reports.report_month desc
            ) as recency
        from evaluation_months
        inner join core.fct_incubator_reports as reports
            on reports.report_month <= evaluation_months.month
            and reports.report_month >= cast(date_trunc('year', evaluation_months.month) as date)
    ) as ranked
    where recency = 1
),

incubator_quality as (
    select
        month,
        park_code,
        count(*) as incubators,
        cast(
            cast(sum(case when is_high_quality then 1 else 0 end) as numeric(20, 4)) * 100 / count(*)
            as numeric(20, 4)
        ) as incubator_quality_score
    from latest_reports
    where park_code is not null
    group by month, park_code
),

-- key_coverage: as of D, the mean over the quarters of D's year up to D's own, with key firms in the
-- park, of the quarter's coverage counting the data dated up to D: an ended quarter as
-- mart.key_enterprise_coverage has it, D's quarter to date (its definition applied to the data up
-- to D). D's quarter counts once a visit is dated in it by D, as the coverage mart's quarters run
-- to the latest visit.
evaluation_quarters as (
    select distinct
        cast(date_trunc('quarter', as_of_date) as date) as quarter,
        cast(date_trunc('year', as_of_date) as date) as year_start
    from park_days
),

ended_coverage as (
    select
        evaluation_quarters.quarter,
        coverage.park_code,
        count(*) as quarters,
        sum(coverage.coverage_pct) as coverage_sum
    from evaluation_quarters
    inner join mart.key_enterprise_coverage as coverage
        on coverage.quarter_start < evaluation_quarters.quarter
        and coverage.quarter_start >= evaluation_quarters.year_start
    where coverage.park_code <> 'all' and coverage.key_enterprises > 0
    group by evaluation_quarters.quarter, coverage.park_code
),

quarter_first_visits as (
    select cast(date_trunc('quarter', visit_date) as date) as quarter, min(visit_date) as first_visit_date
    from core.fct_visits
    group by cast(date_trunc('quarter', visit_date) as date)
),

to_date_days as (
    select distinct park_days.as_of_date, quarter_first_visits.quarter
    from park_days
    inner join quarter_first_visits
        on quarter_first_visits.quarter = cast(date_trunc('quarter', park_days.as_of_date) as date)
        and quarter_first_visits.first_visit_date <= park_days.as_of_date
),

first_flags as (
    select uscc, min(visit_date) as first_flagged_on
    from core.fct_visits
    where is_key_enterprise
    group by uscc
),

-- Key firms known by D: flagged in a visit dated up to D, or active and tagged in the version valid
-- on D (whose park counts for a firm never visited).
key_candidates as (
    select to_date_days.as_of_date, to_date_days.quarter, first_flags.uscc, cast(null as text) as tagged_park_code
    from to_date_days
    inner join first_flags on first_flags.first_flagged_on <= to_date_days.as_of_date
    union all
    select to_date_days.as_of_date, to_date_days.quarter, tagged.uscc, tagged.park_code
    from to_date_days
    inner join core.dim_enterprise as tagged
        on tagged.is_active and tagged.is_unicorn_or_champion
        and tagged.valid_from <= to_date_days.as_of_date
        and (tagged.valid_to is null or tagged.valid_to > to_date_days.as_of_date)
),

key_firms_to_date as (
    select as_of_date, quarter, uscc, max(tagged_park_code) as tagged_park_code
    from key_candidates
    group by as_of_date, quarter, uscc
),

-- A firm's park as of D is that of its latest visit up to D: each visit day's last visit holds from
-- that day to the firm's next visit day (exclusive).
visit_day_parks as (
    select uscc, visit_date, park_code
    from (
        select
            uscc,
            visit_date,
            park_code,
            row_number() over (
                partition by uscc, visit_date
                order by delivery_date desc, source_file desc, source_row_number desc
            ) as recency
        from core.fct_visits
    ) as ranked
    where recency = 1
),

visit_park_spans as (
    select
        uscc,
        park_code,
        visit_date as valid_from,
        lead(visit_date) over (partition by uscc order by visit_date) as valid_to
    from visit_day_parks
),

quarter_first_firm_visits as (
    select uscc, cast(date_trunc('quarter', visit_date) as date) as quarter, min(visit_date) as first_visit_date
    from core.fct_visits
    group by uscc, cast(date_trunc('quarter', visit_date) as date)
),

located_to_date as (
    select
        key_firms_to_date.as_of_date,
        coalesce(visit_park_spans.park_code, key_firms_to_date.tagged_park_code) as park_code,
        quarter_first_firm_visits.uscc is not null as is_visited
    from key_firms_to_date
    left join visit_park_spans
        on visit_park_spans.uscc = key_firms_to_date.uscc
        and visit_park_spans.valid_from <= key_firms_to_date.as_of_date
        and (visit_park_spans.valid_to is null or visit_park_spans.valid_to > key_firms_to_date.as_of_date)
    left join quarter_first_firm_visits
        on quarter_first_firm_visits.uscc = key_firms_to_date.uscc
        and quarter_first_firm_visits.quarter = key_firms_to_date.quarter
        and quarter_first_firm_visits.first_visit_date <= key_firms_to_date.as_of_date
),

-- Rounded as the coverage mart rounds coverage_pct, so the quarter's last day gives its figure.
coverage_to_date as (
    select
        as_of_date,
        park_code,
        cast(
            cast(sum(case when is_visited then 1 else 0 end) as numeric(20, 4)) * 100 / count(*)
            as numeric(20, 4)
        ) as coverage_pct
    from located_to_date
    where park_code is not null
    group by as_of_date, park_code
),

key_coverage as (
    select
        park_days.as_of_date,
        park_days.park_code,
        coalesce(ended_coverage.quarters, 0)
            + case when coverage_to_date.coverage_pct is not null then 1 else 0 end as key_coverage_quarters,
        cast(
            (coalesce(ended_coverage.coverage_sum, 0) + coalesce(coverage_to_date.coverage_pct, 0))
            / nullif(
                coalesce(ended_coverage.quarters, 0)
                    + case when coverage_to_date.coverage_pct is not null then 1 else 0 end,
                0
            )
            as numeric(20, 4)
        ) as key_coverage_score
    from park_days
    left join ended_coverage
        on ended_coverage.quarter = cast(date_trunc('quarter', park_days.as_of_date) as date)
        and ended_coverage.park_code = park_days.park_code
    left join coverage_to_date
        on coverage_to_date.as_of_date = park_days.as_of_date
        and coverage_to_date.park_code = park_days.park_code
    where ended_coverage.quarters is not null or coverage_to_date.coverage_pct is not null
),

components as (
    select
        park_days.as_of_date,
        park_days.year,
        park_days.park_code,
        park_days.park_name,
        park_days.leading_industry_count,
        park_days.new_tech_enterprises,
        new_tech_scored.new_tech_score,
        incubator_quality.incubators,
        incubator_quality.incubator_quality_score,
        case when park_days.needs_raised > 0 then park_days.needs_raised end as needs_raised,
        case
            when park_days.needs_raised > 0
                then cast(
                    cast(park_days.needs_resolved as numeric(20, 4)) * 100 / park_days.needs_raised
                    as numeric(20, 4)
                )
        end as needs_resolution_score,
        key_coverage.key_coverage_quarters,
        key_coverage.key_coverage_score
    from park_days
    inner join new_tech_scored
        on new_tech_scored.as_of_date = park_days.as_of_date and new_tech_scored.park_code = park_days.park_code
    left join incubator_quality
        on incubator_quality.month = park_days.complete_month
        and incubator_quality.park_code = park_days.park_code
    left join key_coverage
        on key_coverage.as_of_date = park_days.as_of_date
        and key_coverage.park_code = park_days.park_code
),

component_scores as (
    select as_of_date, park_code, 'new_tech' as component, new_tech_score as component_score from components
    union all
    select as_of_date, park_code, 'incubator_quality', incubator_quality_score from components
    union all
    select as_of_date, park_code, 'needs_resolution', needs_resolution_score from components
    union all
    select as_of_date, park_code, 'key_coverage', key_coverage_score from components
),

weights as (
    select component, weight from core.dim_park_evaluation_weight
),

-- Weights of the components with data are rescaled to sum to 1: divide by their sum.
scores as (
    select
        component_scores.as_of_date,
        component_scores.park_code,
        count(component_scores.component_score) as components_scored,
        cast(
            sum(weights.weight * component_scores.component_score)
            / nullif(sum(case when component_scores.component_score is not null then weights.weight end), 0)
            as numeric(20, 4)
        ) as score
    from component_scores
    inner join weights on weights.component = component_scores.component
    group by component_scores.as_of_date, component_scores.park_code
),

ranks as (
    select as_of_date, park_code, rank() over (partition by as_of_date order by score desc) as score_rank
    from scores
    where score is not null
),

rules as (
    select
        max(case when rule_code = 'failing_score_below' then rule_value end) as failing_score_below,
        max(case when rule_code = 'max_leading_industries' then rule_value end) as max_leading_industries
    from core.dim_park_evaluation_rule
),

year_ends as (
    select year, max(as_of_date) as last_as_of_date from park_days group by year
),

banded as (
    select
        components.*,
        components.as_of_date = year_ends.last_as_of_date as is_latest_of_year,
        cast(coalesce(scores.components_scored, 0) as integer) as components_scored,
        scores.score,
        cast(ranks.score_rank as integer) as score_rank,
        scores.score < rules.failing_score_below as in_failing_band,
        components.leading_industry_count > rules.max_leading_industries as too_many_leading_industries
    from components
    cross join rules
    inner join year_ends on year_ends.year = components.year
    left join scores on scores.as_of_date = components.as_of_date and scores.park_code = components.park_code
    left join ranks on ranks.as_of_date = components.as_of_date and ranks.park_code = components.park_code
),

final as (
    select
        banded.year,
        banded.as_of_date,
        banded.is_latest_of_year,
        banded.park_code,
        banded.park_name,
        cast(banded.new_tech_enterprises as integer) as new_tech_enterprises,
        banded.new_tech_score,
        cast(banded.incubators as integer) as incubators,
        banded.incubator_quality_score,
        cast(banded.needs_raised as integer) as needs_raised,
        banded.needs_resolution_score,
        cast(banded.key_coverage_quarters as integer) as key_coverage_quarters,
        banded.key_coverage_score,
        banded.components_scored,
        banded.score,
        banded.score_rank as rank,
        banded.in_failing_band,
        -- 一次通报、两次摘牌: the previous calendar year's final evaluation decides between the two.
        case
            when banded.score is null then null
            when banded.in_failing_band and coalesce(previous_year.in_failing_band, false) then '摘牌'
            when banded.in_failing_band then '通报'
            else '正常'
        end as status,
        banded.leading_industry_count,
        coalesce(banded.too_many_leading_industries, false) as too_many_leading_industries
    from banded
    left join banded as previous_year
        on previous_year.park_code = banded.park_code
        and previous_year.year = banded.year - 1
        and previous_year.is_latest_of_year
)

select * from final
