-- Latest progress of 高质量孵化器数量 (hq_incubators)
-- Incubators whose latest monthly report up to the month before the as-of date says 高质量孵化器 (incubator reports). Shows the latest as-of date with data; 'no data' before the first delivery month.
select as_of_date, kpi_name, actual, target, target_upper, unit, direction, attainment, on_track, data_status
from mart.kpi_target_progress
where kpi_code = 'hq_incubators'
  and as_of_date = coalesce(
      (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'hq_incubators' and data_status = 'ok'),
      (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'hq_incubators')
  );
