-- Latest progress of 诉求办结率/办结时长 (needs_resolution)
-- Resolution rate (%) of needs raised since 1 January, status as currently loaded (visits feed); no target. Shows the latest as-of date with data.
select as_of_date, kpi_name, actual, target, target_upper, unit, direction, attainment, on_track, data_status
from mart.kpi_target_progress
where kpi_code = 'needs_resolution'
  and as_of_date = coalesce(
      (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'needs_resolution' and data_status = 'ok'),
      (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'needs_resolution')
  );
