-- The four windows of 日均新增科技企业 on the latest as-of date
-- day, rolling_30d, month_to_date and year_to_date, as defined in kpis.md.
select as_of_date, window_code, window_start, calendar_days, new_tech_enterprises, new_tech_per_day, target, attainment
from mart.new_tech_per_day_windows
where as_of_date = (select max(as_of_date) from mart.new_tech_per_day_windows)
order by case window_code
    when 'day' then 1
    when 'rolling_30d' then 2
    when 'month_to_date' then 3
    when 'year_to_date' then 4
end;
