-- Latest progress of 万亿级产业规模园区 (trillion_parks)
-- Its feed (manual statistics input) is not built yet: the row shows data_status 'no data' and a null actual until the feed arrives.
select as_of_date, kpi_name, actual, target, target_upper, unit, direction, attainment, on_track, data_status
from mart.kpi_target_progress
where kpi_code = 'trillion_parks'
  and as_of_date = (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'trillion_parks');
