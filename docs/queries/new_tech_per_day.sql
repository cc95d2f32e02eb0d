-- Latest progress of 日均新增科技企业 (new_tech_per_day)
-- actual is the year-to-date average per calendar day; on_track compares the last-30-day run rate with the target.
select as_of_date, actual, target, unit, attainment, on_track, projected_at_due_date, due_date
from mart.kpi_target_progress
where kpi_code = 'new_tech_per_day'
  and as_of_date = (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'new_tech_per_day');
