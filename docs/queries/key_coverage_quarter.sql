-- Latest progress of 重点企业走访覆盖率 (key_coverage_quarter)
-- Its feed (visits) is not built yet: the row shows data_status 'no data' and a null actual until the feed arrives.
select as_of_date, kpi_name, actual, target, target_upper, unit, direction, attainment, on_track, data_status
from mart.kpi_target_progress
where kpi_code = 'key_coverage_quarter'
  and as_of_date = (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'key_coverage_quarter');
