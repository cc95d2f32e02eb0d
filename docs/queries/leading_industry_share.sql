-- Latest progress of 三大先导产业规模占全市比重 (leading_industry_share)
-- The manual statistic of the latest period ending on or before the as-of date (%). Shows the latest as-of date with data.
select as_of_date, kpi_name, actual, target, target_upper, unit, direction, attainment, on_track, data_status
from mart.kpi_target_progress
where kpi_code = 'leading_industry_share'
  and as_of_date = coalesce(
      (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'leading_industry_share' and data_status = 'ok'),
      (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'leading_industry_share')
  );
