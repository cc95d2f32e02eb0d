-- Current count of unicorn / hidden-champion enterprises, by park
-- From the current version of every enterprise: active ones only, each enterprise once.
select park_code, count(*) as unicorn_or_champion_enterprises
from core.dim_enterprise_current
where is_active and is_unicorn_or_champion
group by park_code
order by unicorn_or_champion_enterprises desc, park_code;
