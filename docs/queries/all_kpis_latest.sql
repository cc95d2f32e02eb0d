-- Progress of every KPI and service measure on the latest as-of date
-- One row per kpi_code; data_status is 'no data' (and actual null) for targets whose feed has not arrived yet.
select as_of_date, category, kpi_code, kpi_name, actual, target, target_upper, unit, attainment, on_track, data_status
from mart.kpi_target_progress
where as_of_date = (select max(as_of_date) from mart.kpi_target_progress)
order by category, kpi_code;
