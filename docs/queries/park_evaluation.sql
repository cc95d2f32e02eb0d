-- 园区考核评估: park ranking of the latest year, as of its latest day
-- Composite score (0-100) from the component scores with the weights of core.dim_park_evaluation_weight, rescaled over the components with data; status 通报 (failing band this year) or 摘牌 (two years running). The mart holds the evaluation as of every day (as_of_date, from the data dated up to it); is_latest_of_year picks each year's last day (31 December, or the latest day of data). For another day, filter on as_of_date instead. Parks without any component have no score and come last.
select year, as_of_date, rank, park_code, park_name, score, status, components_scored, new_tech_score,
    incubator_quality_score, needs_resolution_score, key_coverage_score, too_many_leading_industries
from mart.park_evaluation
where is_latest_of_year and year = (select max(year) from mart.park_evaluation)
order by rank nulls last, park_code;
