-- 共性诉求 episodes (mart.recurring_needs) the KPI counts on the period's last day
-- (mart.kpi_target_progress, recurring_needs; docs/measures.md): a hot day in the 30 days ending
-- on :as_of_date, as known then (first_hot_day <= :as_of_date). The list is that figure's detail,
-- so the report's list, card and summary show one number.
with episodes as (
    select * from mart.recurring_needs
    where first_hot_day <= :as_of_date
        and last_hot_day >= cast(cast(:as_of_date as date) - interval '29 days' as date)
),

final as (
    select category, episode_start, first_hot_day, last_hot_day, enterprises, needs, parks
    from episodes
)

select * from final order by episode_start, category
