-- Parks flagged by the evaluation: 通报, 摘牌, or more than 3 leading industries
-- Each year's final (or, for the current year, latest) evaluation; 摘牌 means in the failing band this year and the previous one ("一次通报、两次摘牌").
select year, as_of_date, park_code, park_name, score, rank, status, in_failing_band, leading_industry_count,
    too_many_leading_industries
from mart.park_evaluation
where is_latest_of_year and (status in ('通报', '摘牌') or too_many_leading_industries)
order by year desc, status, score, park_code;
