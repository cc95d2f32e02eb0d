-- 片长 below the weekly visit target, the last four ISO weeks
-- Staff numbers (visitor_id) only: names never reach the mart. The latest week may still be running; staff with no visit at all in a week do not appear (the feed has no roster).
select week_start, visitor_id, visits, target
from mart.staff_week_visits
where meets_target = false
  and week_start >= (select cast(max(week_start) - interval '21 days' as date) from mart.staff_week_visits)
order by week_start desc, visits, visitor_id;
