-- Every need in its current state (latest record wins), its history size and whether it falls in
-- a 共性诉求 episode's span (same category, raised_date within [episode_start, last_hot_day]).
with needs as (
    select * from core.need_current
),

status_changes as (
    select need_id, count(*) as status_changes
    from core.fct_need_status_changes
    group by need_id
),

episodes as (
    select category, episode_start, last_hot_day from mart.recurring_needs
),

recurring as (
    select distinct needs.need_id
    from needs
    inner join episodes
        on episodes.category = needs.category
        and needs.raised_date between episodes.episode_start and episodes.last_hot_day
),

final as (
    select
        needs.need_id,
        needs.category,
        needs.status,
        needs.status = '已办结' as is_resolved,
        needs.raised_date,
        cast(date_trunc('month', needs.raised_date) as date) as raised_month,
        needs.resolved_date,
        case when needs.status = '已办结' then cast(needs.resolved_date - needs.raised_date as integer) end
            as days_to_resolve,
        needs.satisfaction,
        needs.park_code,
        needs.uscc,
        needs.enterprise_known,
        needs.first_visit_date,
        needs.visit_date as last_visit_date,
        needs.records,
        cast(coalesce(status_changes.status_changes, 0) as integer) as status_changes,
        recurring.need_id is not null as is_recurring
    from needs
    left join status_changes on status_changes.need_id = needs.need_id
    left join recurring on recurring.need_id = needs.need_id
)

select * from final
