-- Latest progress of 万亿级产业规模园区 (trillion_parks)
-- Parks whose 产业规模 reaches 10,000 亿元 in the latest year of manual statistics; target 3 to 5. Shows the latest as-of date with data.
select as_of_date, kpi_name, actual, target, target_upper, unit, direction, attainment, on_track, data_status
from mart.kpi_target_progress
where kpi_code = 'trillion_parks'
  and as_of_date = coalesce(
      (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'trillion_parks' and data_status = 'ok'),
      (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'trillion_parks')
  );
