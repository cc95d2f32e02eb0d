-- Latest progress of 人均周走访数 (visits_per_staff_week)
-- Visits per 片长 in the latest complete ISO week (target 3). Shows the latest as-of date with data.
select as_of_date, kpi_name, actual, target, target_upper, unit, direction, attainment, on_track, data_status
from mart.kpi_target_progress
where kpi_code = 'visits_per_staff_week'
  and as_of_date = coalesce(
      (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'visits_per_staff_week' and data_status = 'ok'),
      (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'visits_per_staff_week')
  );
