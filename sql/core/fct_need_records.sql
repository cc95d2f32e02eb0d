-- Every record of every need, ordered per need (docs/measures.md): visit_date, delivery_date,
-- source_file, source_row_number, need_position. The latest record defines the current state
-- (is_latest, view core.need_current). The free-text description is left in staging: it may
-- name people or give phone numbers, and core carries no personal data.
with needs as (
    select * from staging.visit_needs
    -- only what the quality gate published (ops.published_files): never a held batch
    where source_sha256 in (
        select source_sha256 from ops.published_files where feed = 'visits'
    )
),

visits as (
    select
        source_sha256,
        source_row_number,
        visit_id,
        visit_date,
        park_name,
        uscc
    from staging.visits
    -- only what the quality gate published (ops.published_files): never a held batch
    where source_sha256 in (
        select source_sha256 from ops.published_files where feed = 'visits'
    )
),

parks as (
    select park_code, park_name from core.dim_park
),

known_enterprises as (
    select distinct uscc from core.dim_enterprise_current
),

records as (
    select
        needs.need_id,
        needs.visit_id,
        visits.visit_date,
        needs.delivery_date,
        needs.need_position,
        needs.category,
        needs.status,
        needs.raised_date,
        needs.resolved_date,
        needs.satisfaction,
        parks.park_code,
        visits.uscc,
        known_enterprises.uscc is not null as enterprise_known,
        needs.source_file,
        needs.source_sha256,
        needs.source_row_number,
        needs.run_id
    from needs
    -- The visit line that carried the record (same file version and line).
    inner join visits
        on visits.source_sha256 = needs.source_sha256
        and visits.source_row_number = needs.source_row_number
        and visits.visit_id = needs.visit_id
    left join parks on parks.park_name = visits.park_name
    left join known_enterprises on known_enterprises.uscc = visits.uscc
),

sequenced as (
    select
        records.*,
        row_number() over (
            partition by need_id
            order by visit_date, delivery_date, source_file, source_row_number, need_position
        ) as record_sequence,
        count(*) over (partition by need_id) as record_count,
        min(visit_date) over (partition by need_id) as first_visit_date
    from records
),

final as (
    select
        need_id,
        cast(record_sequence as integer) as record_sequence,
        record_sequence = record_count as is_latest,
        first_visit_date,
        visit_id,
        visit_date,
        delivery_date,
        need_position,
        category,
        status,
        raised_date,
        resolved_date,
        satisfaction,
        park_code,
        uscc,
        enterprise_known,
        source_file,
        source_sha256,
        source_row_number,
        run_id
    from sequenced
)

select * from final
