-- SCD type 2: every event opens a version of the enterprise, valid until the next event's date.
-- Each event row carries the enterprise's registered attributes as of that event (sources.md:
-- the latest event defines the current state), so a version copies its event's attributes.
with events as (
    select * from core.fct_registration_events
),

staged as (
    select
        source_sha256,
        source_row_number,
        enterprise_type,
        established_date,
        registered_capital_10k,
        currency,
        qualification_tags,
        insured_employees
    from staging.registrations
    -- only what the quality gate published (ops.published_files): never a held batch
    where source_sha256 in (
        select source_sha256 from ops.published_files where feed = 'registrations'
    )
),

industry_classes as (
    select class_code, leading_industry from core.dim_industry_class
),

champion_tags as (
    select tag from core.dim_qualification_tag where counts_for_unicorn_champions
),

versions as (
    select
        events.*,
        staged.enterprise_type,
        staged.established_date,
        staged.registered_capital_10k,
        staged.currency,
        staged.qualification_tags,
        staged.insured_employees,
        lead(events.event_date) over (partition by events.uscc order by events.event_sequence) as next_event_date
    from events
    inner join staged
        on staged.source_sha256 = events.source_sha256
        and staged.source_row_number = events.source_row_number
),

champion_versions as (
    select distinct versions.event_key
    from versions
    inner join champion_tags
        on ';' || versions.qualification_tags || ';' like '%;' || champion_tags.tag || ';%'
),

final as (
    select
        versions.uscc,
        versions.event_sequence as version,
        versions.event_date as valid_from,
        versions.next_event_date as valid_to,
        versions.next_event_date is null as is_current,
        versions.enterprise_name,
        versions.enterprise_type,
        versions.established_date,
        versions.registered_capital_10k,
        versions.currency,
        versions.industry_code,
        versions.park_code,
        versions.qualification_tags,
        versions.insured_employees,
        versions.is_tech,
        industry_classes.leading_industry,
        champion_versions.event_key is not null as is_unicorn_or_champion,
        versions.event_type as last_event_type,
        not versions.ends_enterprise as is_active,
        versions.event_key
    from versions
    left join industry_classes on industry_classes.class_code = versions.industry_code
    left join champion_versions on champion_versions.event_key = versions.event_key
)

select * from final
