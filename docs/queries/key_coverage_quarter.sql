-- Latest progress of 重点企业走访覆盖率 (key_coverage_quarter)
-- Zone-wide share (%) of key enterprises visited in the quarter to date (visits feed, plus 独角兽/隐形冠军 from registrations). Shows the latest as-of date with data.
select as_of_date, kpi_name, actual, target, target_upper, unit, direction, attainment, on_track, data_status
from mart.kpi_target_progress
where kpi_code = 'key_coverage_quarter'
  and as_of_date = coalesce(
      (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'key_coverage_quarter' and data_status = 'ok'),
      (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'key_coverage_quarter')
  );
