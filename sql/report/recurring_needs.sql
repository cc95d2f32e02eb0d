-- 共性诉求 episodes (mart.recurring_needs) whose span overlaps the period.
with episodes as (
    select * from mart.recurring_needs
    where episode_start <= :period_end and last_hot_day >= :period_start
),

final as (
    select category, episode_start, first_hot_day, last_hot_day, enterprises, needs, parks
    from episodes
)

select * from final order by episode_start, category
