-- 园区考核评估 per year and park (docs/measures.md). Four components scored 0-100, weighted with
-- core.dim_park_evaluation_weight; a component without data for the park is left out and the
-- other weights are rescaled (the weighted sum is divided by the weights present). Failing band
-- and the leading-industry limit come from core.dim_park_evaluation_rule.
-- A year is evaluated once both daily feeds (registrations and visits) have data in it: a year
-- seen only through late events, late incubator reports or statistics would judge every park on
-- one component, and a 通报 there would turn the next year's into a 摘牌.
with years as (
    select distinct cast(extract(year from event_date) as integer) as year from core.fct_registration_events
    intersect
    select distinct cast(extract(year from visit_date) as integer) from core.fct_visits
),

parks as (
    select park_code, park_name, leading_industry_count from core.dim_park
),

park_years as (
    select years.year, parks.park_code, parks.park_name, parks.leading_industry_count
    from years
    cross join parks
),

-- new_tech: new tech enterprises in the year (sum of the daily distinct counts, as for 日均新增科技企业),
-- zero for a park without any in a year with registration data.
registration_years as (
    select distinct cast(extract(year from event_date) as integer) as year from core.fct_registration_events
),

daily_new_tech as (
    select event_date, park_code, count(distinct uscc) as new_tech
    from core.fct_registration_events
    where is_new_tech_enterprise and park_code is not null
    group by event_date, park_code
),

yearly_new_tech as (
    select cast(extract(year from event_date) as integer) as year, park_code, sum(new_tech) as new_tech
    from daily_new_tech
    group by cast(extract(year from event_date) as integer), park_code
),

new_tech as (
    select
        park_years.year,
        park_years.park_code,
        coalesce(yearly_new_tech.new_tech, 0) as new_tech_enterprises
    from park_years
    inner join registration_years on registration_years.year = park_years.year
    left join yearly_new_tech
        on yearly_new_tech.year = park_years.year
        and yearly_new_tech.park_code = park_years.park_code
),

new_tech_scored as (
    select
        year,
        park_code,
        new_tech_enterprises,
        cast(
            cast(new_tech_enterprises as numeric(20, 4)) * 100
            / nullif(max(new_tech_enterprises) over (partition by year), 0)
            as numeric(20, 4)
        ) as new_tech_score
    from new_tech
),

-- incubator_quality: each incubator's latest report of the year, in that report's park.
latest_reports_of_year as (
    select year, incubator_id, park_code, is_high_quality
    from (
        select
            cast(extract(year from report_month) as integer) as year,
            incubator_id,
            park_code,
            is_high_quality,
            row_number() over (
                partition by incubator_id, cast(extract(year from report_month) as integer)
                order by report_month desc
            ) as recency
        from core.fct_incubator_reports
    ) as ranked
    where recency = 1
),

incubator_quality as (
    select
        year,
        park_code,
        count(*) as incubators,
        cast(
            cast(sum(case when is_high_quality then 1 else 0 end) as numeric(20, 4)) * 100 / count(*)
            as numeric(20, 4)
        ) as incubator_quality_score
    from latest_reports_of_year
    where park_code is not null
    group by year, park_code
),

-- needs_resolution: needs raised in the year, status as currently loaded.
needs as (
    select
        cast(extract(year from raised_date) as integer) as year,
        park_code,
        count(*) as needs_raised,
        cast(
            cast(sum(case when is_resolved then 1 else 0 end) as numeric(20, 4)) * 100 / count(*) as numeric(20, 4)
        ) as needs_resolution_score
    from mart.need_status
    where park_code is not null
    group by cast(extract(year from raised_date) as integer), park_code
),

-- key_coverage: mean of the quarterly coverage over the quarters in which the park has key firms.
key_coverage as (
    select
        cast(extract(year from quarter_start) as integer) as year,
        park_code,
        count(*) as key_coverage_quarters,
        cast(avg(coverage_pct) as numeric(20, 4)) as key_coverage_score
    from mart.key_enterprise_coverage
    where park_code <> 'all' and key_enterprises > 0
    group by cast(extract(year from quarter_start) as integer), park_code
),

components as (
    select
        park_years.*,
        new_tech_scored.new_tech_enterprises,
        new_tech_scored.new_tech_score,
        incubator_quality.incubators,
        incubator_quality.incubator_quality_score,
        needs.needs_raised,
        needs.needs_resolution_score,
        key_coverage.key_coverage_quarters,
        key_coverage.key_coverage_score
    from park_years
    left join new_tech_scored
        on new_tech_scored.year = park_years.year and new_tech_scored.park_code = park_years.park_code
    left join incubator_quality
        on incubator_quality.year = park_years.year and incubator_quality.park_code = park_years.park_code
    left join needs
        on needs.year = park_years.year and needs.park_code = park_years.park_code
    left join key_coverage
        on key_coverage.year = park_years.year and key_coverage.park_code = park_years.park_code
),

component_scores as (
    select year, park_code, 'new_tech' as component, new_tech_score as component_score from components
    union all
    select year, park_code, 'incubator_quality', incubator_quality_score from components
    union all
    select year, park_code, 'needs_resolution', needs_resolution_score from components
    union all
    select year, park_code, 'key_coverage', key_coverage_score from components
),

weights as (
    select component, weight from core.dim_park_evaluation_weight
),

-- Weights of the components with data are rescaled to sum to 1: divide by their sum.
scores as (
    select
        component_scores.year,
        component_scores.park_code,
        count(component_scores.component_score) as components_scored,
        cast(
            sum(weights.weight * component_scores.component_score)
            / nullif(sum(case when component_scores.component_score is not null then weights.weight end), 0)
            as numeric(20, 4)
        ) as score
    from component_scores
    inner join weights on weights.component = component_scores.component
    group by component_scores.year, component_scores.park_code
),

ranks as (
    select year, park_code, rank() over (partition by year order by score desc) as score_rank
    from scores
    where score is not null
),

rules as (
    select
        max(case when rule_code = 'failing_score_below' then rule_value end) as failing_score_below,
        max(case when rule_code = 'max_leading_industries' then rule_value end) as max_leading_industries
    from core.dim_park_evaluation_rule
),

banded as (
    select
        components.*,
        cast(coalesce(scores.components_scored, 0) as integer) as components_scored,
        scores.score,
        cast(ranks.score_rank as integer) as score_rank,
        scores.score < rules.failing_score_below as in_failing_band,
        components.leading_industry_count > rules.max_leading_industries as too_many_leading_industries
    from components
    cross join rules
    left join scores on scores.year = components.year and scores.park_code = components.park_code
    left join ranks on ranks.year = components.year and ranks.park_code = components.park_code
),

final as (
    select
        banded.year,
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
        -- 一次通报、两次摘牌: the previous calendar year's band decides between the two.
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
)

select * from final
