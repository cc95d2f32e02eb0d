create table if not exists ops.file_audit (
    feed text not null,
    delivery_date date not null,
    source_file text not null,
    file_name text not null,
    source_sha256 text not null,
    size_bytes bigint not null,
    file_format text,
    encoding text,
    status text not null,
    rows_received integer not null,
    rows_loaded integer not null,
    rows_quarantined integer not null,
    unknown_columns text,
    reason text,
    duplicate_of text,
    run_id text not null,
    processed_at timestamp not null,
    duration_seconds double precision not null,
    rows_counted_by text
);
-- Warehouses created before the column existed get it here (create table if not exists leaves them).
alter table ops.file_audit add column if not exists rows_counted_by text;
comment on table ops.file_audit is 'One row per distinct file version seen (feed, source_file, sha256). rows_received = rows_loaded + rows_quarantined for every row; a file rejected whole has all its rows quarantined (rows_counted_by says how they were counted).';
comment on column ops.file_audit.status is 'loaded; rejected (whole file refused, reason says why); duplicate (same bytes already loaded as duplicate_of, not read again); superseded (a newer version of the same file replaced it)';
comment on column ops.file_audit.rows_counted_by is 'How rows_received was counted: parsed (the rows read: CSV records, sheet rows, JSON lines; every loaded file and a file rejected after reading, e.g. a missing column); text_lines (a text file that does not decode or parse: its non-empty lines less the CSV header, each quarantined with its line number and text); sheet_rows (a workbook the readers refuse: the non-empty rows of the sheet it would have read, less the header, from the sheet''s XML); uncountable (not a workbook archive, an unsupported file type: counted as one row so it can never pass the quality gate unnoticed); empty for files not read (duplicate, superseded before reading) and rows audited before this column existed';
comment on column ops.file_audit.unknown_columns is 'Headers not in the contract, kept in raw.extra_columns and ignored downstream (JSON list)';

create table if not exists ops.quarantine (
    feed text not null,
    delivery_date date not null,
    source_file text not null,
    source_sha256 text not null,
    sheet_name text,
    row_number integer,
    column_name text,
    value text,
    rule text not null,
    reason text not null,
    record_json text,
    run_id text not null
);
comment on table ops.quarantine is 'Rows that failed a contract rule: one row per (source row, failed rule); record_json keeps the whole row as received so nothing is lost. Contains personal data: pipeline role only.';
comment on column ops.quarantine.row_number is 'Row number as seen in a spreadsheet (header = 1); for JSON Lines the line number (first line = 1)';
comment on column ops.quarantine.sheet_name is 'Worksheet of the row for workbooks with several sheets (月报, 在孵企业名单); empty otherwise';
comment on column ops.quarantine.rule is 'Stable rule id, e.g. uscc_invalid, event_date_after_delivery, missing_required_column';

create table if not exists ops.validation_results (
    feed text not null,
    source_file text not null,
    source_sha256 text not null,
    suite_name text not null,
    expectation_type text not null,
    column_name text,
    rule text,
    success boolean not null,
    element_count integer,
    unexpected_count integer,
    run_id text not null
);
comment on table ops.validation_results is 'Great Expectations results per file version and expectation (history kept per file version)';

create table if not exists ops.mart_builds (
    build_id text not null,
    feed text not null,
    started_at timestamp not null,
    loaded_file_versions integer not null,
    latest_load_at timestamp
);
comment on table ops.mart_builds is 'One row per core/mart rebuild (parkops.pipeline.transform.build_families) and feed whose tables it rebuilt, written in the rebuild''s own transaction: what the rebuild saw of that feed. The marts are fresh for a feed when its latest row''s loaded_file_versions equals the feed''s loaded and superseded file versions in ops.file_audit now (the leadership reports check this before sending).';
comment on column ops.mart_builds.build_id is 'Identifier of the rebuild (one transaction)';
comment on column ops.mart_builds.feed is 'Feed whose family of core and mart tables the rebuild included';
comment on column ops.mart_builds.started_at is 'When the rebuild began (UTC)';
comment on column ops.mart_builds.loaded_file_versions is 'File versions of the feed with status loaded or superseded in ops.file_audit as the rebuild saw them (its snapshot)';
comment on column ops.mart_builds.latest_load_at is 'Latest processed_at among those file versions (UTC)';
