-- 园区考核评估 at each month's end: how each park's score and rank moved through the latest year
-- The evaluation as of the last day of every month of the latest year (and as of its latest day), as the monthly reports show it.
select as_of_date, park_code, park_name, score, rank, status, components_scored
from mart.park_evaluation
where year = (select max(year) from mart.park_evaluation)
    and (is_latest_of_year or as_of_date = cast(date_trunc('month', as_of_date) + interval '1 month' - interval '1 day' as date))
order by as_of_date, rank nulls last, park_code;
