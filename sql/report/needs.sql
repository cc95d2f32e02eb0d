-- Needs raised up to the period's end (mart.need_status, status as currently loaded): the report
-- counts those raised, resolved and still open, and the median days to resolve, per category.
with needs as (
    select * from mart.need_status where raised_date <= :period_end
),

final as (
    select need_id, category, park_code, raised_date, resolved_date, is_resolved, days_to_resolve
    from needs
)

select * from final order by need_id
