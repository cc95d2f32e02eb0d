-- One row per validated registration event, ordered per enterprise (event_sequence).
with events as (
    select * from staging.registrations
    -- only what the quality gate published (ops.published_files): never a held batch
    where source_sha256 in (
        select source_sha256 from ops.published_files where feed = 'registrations'
    )
),

industry_classes as (
    select class_code, is_tech from core.dim_industry_class
),

parks as (
    select park_code, park_name from core.dim_park
),

tech_tags as (
    select tag from core.dim_qualification_tag where makes_tech_enterprise
),

events_with_tech_tag as (
    select distinct events.source_sha256, events.source_row_number
    from events
    inner join tech_tags
        on ';' || events.qualification_tags || ';' like '%;' || tech_tags.tag || ';%'
),

classified as (
    select
        events.*,
        parks.park_code,
        (coalesce(industry_classes.is_tech, false) or events_with_tech_tag.source_sha256 is not null) as is_tech,
        events.event_type in ('设立', '迁入') as is_new_enterprise,
        events.event_type in ('注销', '吊销', '迁出') as ends_enterprise
    from events
    left join industry_classes on industry_classes.class_code = events.industry_code
    left join parks on parks.park_name = events.park_name
    left join events_with_tech_tag
        on events_with_tech_tag.source_sha256 = events.source_sha256
        and events_with_tech_tag.source_row_number = events.source_row_number
),

final as (
    select
        source_sha256 || ':' || cast(source_row_number as text) as event_key,
        uscc,
        event_type,
        event_date,
        delivery_date,
        cast(row_number() over (
            partition by uscc
            order by event_date, delivery_date, source_file, source_row_number
        ) as integer) as event_sequence,
        enterprise_name,
        park_code,
        industry_code,
        is_tech,
        is_new_enterprise,
        is_new_enterprise and is_tech as is_new_tech_enterprise,
        ends_enterprise,
        source_file,
        source_sha256,
        source_row_number,
        run_id
    from classified
)

select * from final
