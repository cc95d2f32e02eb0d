-- Views for the data engineer on call over what the ingestion records (50_ops.sql): per run,
-- per day and rule, per expectation. Retention: ops.file_audit, ops.validation_results and
-- ops.mart_builds keep every row (they are small: one row per file version, per expectation and
-- file version, per rebuild and feed); ops.quarantine keeps the rows of the current file versions
-- (a superseded version's quarantined rows leave with it; its audit row and validation results
-- stay). See README, "Operations".

create or replace view ops.load_runs as
select
    feed,
    run_id,
    min(delivery_date) as first_delivery,
    max(delivery_date) as last_delivery,
    count(*) as file_versions,
    sum(case when status in ('loaded', 'superseded') then 1 else 0 end) as files_loaded,
    sum(case when status = 'rejected' then 1 else 0 end) as files_rejected,
    sum(case when status = 'duplicate' then 1 else 0 end) as files_duplicate,
    sum(rows_received) as rows_received,
    sum(rows_loaded) as rows_loaded,
    sum(rows_quarantined) as rows_quarantined,
    min(processed_at) as started_at,
    max(processed_at) as last_file_at
from ops.file_audit
group by feed, run_id;
comment on view ops.load_runs is 'Load audit per ingest run and feed (from ops.file_audit): files loaded, rejected and duplicate, rows received, loaded and quarantined, when it started and ended. Grain: feed x run_id.';
comment on column ops.load_runs.first_delivery is 'Earliest delivery folder the run processed';
comment on column ops.load_runs.last_delivery is 'Latest delivery folder the run processed';
comment on column ops.load_runs.file_versions is 'File versions the run recorded (any status)';
comment on column ops.load_runs.files_loaded is 'Of which loaded (superseded later or not)';
comment on column ops.load_runs.files_rejected is 'Of which refused whole (ops.file_audit.reason says why)';
comment on column ops.load_runs.files_duplicate is 'Of which the same bytes as a file already loaded';
comment on column ops.load_runs.started_at is 'When the run processed its first file (UTC)';
comment on column ops.load_runs.last_file_at is 'When it processed its last file (UTC)';

create or replace view ops.quarantine_by_rule as
select
    feed,
    delivery_date,
    rule,
    column_name,
    count(*) as rows_quarantined,
    count(distinct source_file) as files,
    min(source_file) as sample_file,
    min(row_number) as sample_row_number,
    min(reason) as sample_reason
from ops.quarantine
group by feed, delivery_date, rule, column_name;
comment on view ops.quarantine_by_rule is 'Quarantined rows per feed, delivery day, rule and column, with a sample to start from (browse: where feed = ... and delivery_date = ...; the rows themselves in ops.quarantine). Grain: feed x delivery_date x rule x column_name.';
comment on column ops.quarantine_by_rule.rows_quarantined is 'Rows failing the rule (a row failing two rules counts under each)';
comment on column ops.quarantine_by_rule.files is 'Files those rows came from';
comment on column ops.quarantine_by_rule.sample_file is 'One of those files (the first by name)';
comment on column ops.quarantine_by_rule.sample_row_number is 'Lowest row (or line) number among the rows';
comment on column ops.quarantine_by_rule.sample_reason is 'One reason as recorded (the first in sort order)';

create or replace view ops.validation_history as
select
    results.feed,
    results.run_id,
    results.suite_name,
    results.expectation_type,
    results.column_name,
    results.rule,
    count(*) as file_versions,
    sum(case when results.success then 0 else 1 end) as file_versions_failed,
    sum(results.element_count) as elements,
    sum(results.unexpected_count) as unexpected
from ops.validation_results as results
group by results.feed, results.run_id, results.suite_name, results.expectation_type, results.column_name, results.rule;
comment on view ops.validation_history is 'Great Expectations results per run and expectation, kept for every file version ever validated (superseded ones included). Grain: feed x run_id x suite x expectation x column x rule.';
comment on column ops.validation_history.file_versions is 'File versions validated against the expectation in the run';
comment on column ops.validation_history.file_versions_failed is 'Of which it failed on';
comment on column ops.validation_history.elements is 'Rows (elements) checked, summed over the files';
comment on column ops.validation_history.unexpected is 'Rows that broke it, summed over the files';
