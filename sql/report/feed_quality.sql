-- Per feed: the latest loaded delivery, and the files and rows of the deliveries between
-- :delivery_from and :delivery_to (monthly feeds: :monthly_delivery_from .. :monthly_delivery_to).
with audit as (
    select * from ops.file_audit
),

windowed as (
    select audit.*
    from audit
    where
        (audit.feed <> 'incubator_reports' and audit.delivery_date between :delivery_from and :delivery_to)
        or (
            audit.feed = 'incubator_reports'
            and audit.delivery_date between :monthly_delivery_from and :monthly_delivery_to
        )
),

latest as (
    select feed, max(delivery_date) as last_delivery, max(processed_at) as last_loaded_at
    from audit
    where status = 'loaded'
    group by feed
),

period_counts as (
    select
        feed,
        sum(case when status = 'loaded' then 1 else 0 end) as files_loaded,
        sum(case when status = 'rejected' then 1 else 0 end) as files_rejected,
        sum(case when status = 'loaded' then rows_loaded else 0 end) as rows_loaded,
        -- A file rejected whole has every row it holds quarantined (ops.file_audit.rows_counted_by).
        sum(case when status in ('loaded', 'rejected') then rows_quarantined else 0 end) as rows_quarantined
    from windowed
    group by feed
),

feeds as (
    select feed from latest
    union
    select feed from period_counts
),

final as (
    select
        feeds.feed,
        latest.last_delivery,
        latest.last_loaded_at,
        coalesce(period_counts.files_loaded, 0) as files_loaded,
        coalesce(period_counts.files_rejected, 0) as files_rejected,
        coalesce(period_counts.rows_loaded, 0) as rows_loaded,
        coalesce(period_counts.rows_quarantined, 0) as rows_quarantined
    from feeds
    left join latest on feeds.feed = latest.feed
    left join period_counts on feeds.feed = period_counts.feed
)

select * from final
