-- 高质量孵化器 per park, latest month
-- Each incubator counts with its latest report up to the month (reporting_incubators: those that reported for that month itself); the 'all' row is the zone.
select month, park_code, park_name, incubators, high_quality_incubators, reporting_incubators
from mart.high_quality_incubators
where month = (select max(month) from mart.high_quality_incubators)
order by case when park_code = 'all' then 0 else 1 end, high_quality_incubators desc, park_code;
