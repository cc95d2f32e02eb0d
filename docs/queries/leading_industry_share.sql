-- Latest progress of 三大先导产业规模占全市比重 (leading_industry_share)
-- Its feed (manual statistics input) is not built yet: the row shows data_status 'no data' and a null actual until the feed arrives.
select as_of_date, kpi_name, actual, target, target_upper, unit, direction, attainment, on_track, data_status
from mart.kpi_target_progress
where kpi_code = 'leading_industry_share'
  and as_of_date = (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'leading_industry_share');
