-- Latest progress of “独角兽”“隐形冠军”企业 (unicorn_champions)
-- Target: more than 100 active enterprises tagged 独角兽 or 隐形冠军, each counted once.
select as_of_date, actual, target, unit, direction, attainment, on_track, data_status
from mart.kpi_target_progress
where kpi_code = 'unicorn_champions'
  and as_of_date = (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'unicorn_champions');
