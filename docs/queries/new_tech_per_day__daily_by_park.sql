-- Daily new tech enterprises by park for one month (March 2025)
-- Every day x park of the loaded range has a row, zeros included; change the two dates for another month.
select date, park_code, park_name, new_tech_enterprises, new_tech_established, new_tech_moved_in, new_enterprises
from mart.daily_new_tech_enterprises
where date >= date '2025-03-01' and date < date '2025-04-01'
order by date, park_code;
