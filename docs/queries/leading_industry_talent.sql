-- Latest progress of 三大先导产业人才规模 (leading_industry_talent)
-- Insured employees of active enterprises in 集成电路, 生物医药 and 人工智能.
select as_of_date, actual, target, unit, attainment, on_track, data_status
from mart.kpi_target_progress
where kpi_code = 'leading_industry_talent'
  and as_of_date = (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'leading_industry_talent');
