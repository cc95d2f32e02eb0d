-- 诉求办结率 and median days to resolve per category, zone-wide, the last three months raised
-- Rows of mart.needs_resolution for all parks (park_code 'all'); category '全部' is the total. Medians are computed from the needs themselves, never averaged.
select raised_month, category, needs_raised, needs_resolved, resolution_rate, median_days_to_resolve
from mart.needs_resolution
where park_code = 'all'
  and raised_month >= (select cast(max(raised_month) - interval '2 months' as date) from mart.needs_resolution)
order by raised_month desc, category;
