-- Latest progress of 共性诉求 (recurring_needs)
-- Number of 共性诉求 episodes (unit 起) with a hot day in the 30 days ending on the as-of date, as known then (a detection rule: reported, not judged; target_value is the rule, 5 enterprises within 7 days). Shows the latest as-of date with data.
select as_of_date, kpi_name, actual, target, target_upper, unit, direction, attainment, on_track, data_status
from mart.kpi_target_progress
where kpi_code = 'recurring_needs'
  and as_of_date = coalesce(
      (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'recurring_needs' and data_status = 'ok'),
      (select max(as_of_date) from mart.kpi_target_progress where kpi_code = 'recurring_needs')
  );
