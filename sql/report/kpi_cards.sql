-- Headline cards of a report: every target of core.dim_kpi_target as of the period's end, with
-- its actual as of the previous period's end (a target without figures on a date is 'no data').
with targets as (
    select * from core.dim_kpi_target
),

current_figures as (
    select * from mart.kpi_target_progress where as_of_date = :as_of_date
),

previous_figures as (
    select kpi_code, actual from mart.kpi_target_progress where as_of_date = :previous_as_of_date
),

final as (
    select
        targets.kpi_code,
        targets.kpi_name,
        targets.category,
        targets.unit,
        targets.direction,
        coalesce(current_figures.data_status, 'no data') as data_status,
        current_figures.actual,
        targets.target_value as target,
        targets.target_upper,
        current_figures.attainment,
        current_figures.on_track,
        targets.due_date,
        targets.window_days,
        current_figures.projected_at_due_date,
        previous_figures.actual as previous_actual
    from targets
    left join current_figures on targets.kpi_code = current_figures.kpi_code
    left join previous_figures on targets.kpi_code = previous_figures.kpi_code
)

select * from final
