-- 人均周走访数 per ISO week and role, the last twelve weeks
-- Staff who made no visit in a week are not counted in it (the feed has no roster); the target (3) and visitors_meeting_target apply to 片长 only.
select iso_year, iso_week, week_start, visitor_role, visitors, visits, visits_per_visitor, target,
    visitors_meeting_target
from mart.visits_per_staff_week
where week_start >= (select cast(max(week_start) - interval '77 days' as date) from mart.visits_per_staff_week)
order by week_start desc, visitor_role;
