-- 共性诉求 episodes, latest first
-- One row per episode (a run of days on which at least 5 enterprises raised a need of the category within 7 days): its span, the enterprises and needs in it and the parks concerned, to answer as one class of problems. The needs themselves are the rows of mart.need_status with is_recurring.
select category, episode_start, first_hot_day, last_hot_day, hot_days, enterprises, needs,
    peak_enterprises_7d, parks
from mart.recurring_needs
order by last_hot_day desc, category
limit 20;
