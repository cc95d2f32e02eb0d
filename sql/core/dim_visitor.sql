-- Service staff as seen in the visit logs (the feed has no roster): attributes of each visitor's
-- latest visit, by visit_date then delivery order. No name: it never leaves staging.
with visits as (
    select * from core.fct_visits
),

ordered as (
    select
        visits.*,
        row_number() over (
            partition by visitor_id
            order by visit_date desc, delivery_date desc, source_file desc, source_row_number desc
        ) as recency,
        min(visit_date) over (partition by visitor_id) as first_visit_date,
        count(*) over (partition by visitor_id) as visits
    from visits
),

final as (
    select
        visitor_id,
        visitor_role,
        area,
        park_code,
        first_visit_date,
        visit_date as last_visit_date,
        cast(visits as integer) as visits
    from ordered
    where recency = 1
)

select * from final
