-- 首席代办员代办次数 per month and park
-- Services (visits logged by 首席代办员), agents, enterprises served and needs reported.
select month, park_code, park_name, services, agents, enterprises, needs_reported
from mart.agent_services
order by month desc, services desc, park_code;
