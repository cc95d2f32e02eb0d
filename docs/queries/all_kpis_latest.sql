-- Progress of every KPI and service measure, each on its latest as-of date with data
-- One row per kpi_code. Feeds deliver on different days, so each KPI is shown on its own latest as-of date with data_status 'ok'; a KPI whose feed has never delivered shows its latest row ('no data', null actual).
with latest as (
    select
        kpi_code,
        coalesce(max(case when data_status = 'ok' then as_of_date end), max(as_of_date)) as as_of_date
    from mart.kpi_target_progress
    group by kpi_code
)
select progress.as_of_date, progress.category, progress.kpi_code, progress.kpi_name, progress.actual,
    progress.target, progress.target_upper, progress.unit, progress.attainment, progress.on_track,
    progress.data_status
from mart.kpi_target_progress as progress
inner join latest on latest.kpi_code = progress.kpi_code and latest.as_of_date = progress.as_of_date
order by progress.category, progress.kpi_code;
