-- One row per visit. visitor_name stays in staging (personal data); visitor_id is a staff number.
-- visit_id is unique across the feed (ingestion quarantines a repeated id), so the row_number
-- below only guards the grain: should a repeat ever reach staging, the first loaded line wins,
-- as ingestion would have decided.
with visits as (
    select * from staging.visits
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

ordered as (
    select
        visits.*,
        row_number() over (
            partition by visits.visit_id
            order by visits.delivery_date, visits.source_file, visits.source_row_number
        ) as line_order
    from visits
),

final as (
    select
        ordered.visit_id,
        ordered.visit_date,
        cast(extract(isoyear from ordered.visit_date) as integer) as iso_year,
        cast(extract(week from ordered.visit_date) as integer) as iso_week,
        cast(date_trunc('week', ordered.visit_date) as date) as week_start,
        ordered.visitor_id,
        ordered.visitor_role,
        ordered.area,
        parks.park_code,
        ordered.uscc,
        ordered.enterprise_name,
        known_enterprises.uscc is not null as enterprise_known,
        ordered.channel,
        ordered.is_key_enterprise,
        ordered.need_count,
        ordered.delivery_date,
        ordered.source_file,
        ordered.source_sha256,
        ordered.source_row_number,
        ordered.run_id
    from ordered
    left join parks on parks.park_name = ordered.park_name
    left join known_enterprises on known_enterprises.uscc = ordered.uscc
    where ordered.line_order = 1
)

select * from final
