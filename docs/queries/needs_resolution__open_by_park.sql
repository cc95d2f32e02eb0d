-- Open needs per park and status, with the oldest still open
-- From mart.need_status (one row per need, current state): needs not yet 已办结.
select park_code, status, count(*) as open_needs, min(raised_date) as oldest_raised_date
from mart.need_status
where not is_resolved
group by park_code, status
order by open_needs desc, park_code, status;
