-- 园区考核评估: park ranking of the latest year
-- Composite score (0-100) from the component scores with the weights of core.dim_park_evaluation_weight, rescaled over the components with data; status 通报 (failing band this year) or 摘牌 (two years running). Parks without any component have no score and come last.
select year, rank, park_code, park_name, score, status, components_scored, new_tech_score,
    incubator_quality_score, needs_resolution_score, key_coverage_score, too_many_leading_industries
from mart.park_evaluation
where year = (select max(year) from mart.park_evaluation)
order by rank nulls last, park_code;
