-- Top 10 parks by new tech enterprises, year to date (2025)
-- 设立 and 迁入 shown apart and together.
select park_code, park_name,
    sum(new_tech_enterprises) as new_tech_enterprises,
    sum(new_tech_established) as new_tech_established,
    sum(new_tech_moved_in) as new_tech_moved_in
from mart.daily_new_tech_enterprises
where date >= date '2025-01-01' and date < date '2026-01-01'
group by park_code, park_name
order by new_tech_enterprises desc, park_code
limit 10;
