-- Latest progress of 首席代办员代办次数 (agent_services)
-- Visits logged by 首席代办员 in the year up to the as-of date (visits feed). Shows the latest as-of date with data; data_status 'no data' while the feed has not delivered.
select as_of_date, kpi_name, actual, target, target_upper, unit, direction, attainment, on_track, data_status
from mart.kpi_target_progress
where kpi_code = 'agent_services'
  and as_of_date = coalesce(
      (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'agent_services' and data_status = 'ok'),
      (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'agent_services')
  );
