-- Status history per need: a record counts when its status differs from the need's previous
-- record (the first record always counts), so 待处理, 待处理, 处理中 gives two rows.
with records as (
    select
        records.*,
        lag(status) over (partition by need_id order by record_sequence) as previous_status
    from core.fct_need_records as records
),

changes as (
    select * from records
    where previous_status is null or previous_status <> status
),

final as (
    select
        need_id,
        cast(row_number() over (partition by need_id order by record_sequence) as integer) as change_sequence,
        status,
        previous_status,
        visit_date as changed_on,
        visit_id,
        record_sequence,
        category,
        park_code,
        uscc,
        source_file,
        source_row_number
    from changes
)

select * from final
