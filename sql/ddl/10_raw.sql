create table if not exists raw.registrations (
    source_file text not null,
    source_sha256 text not null,
    source_row_number integer not null,
    delivery_date date not null,
    run_id text not null,
    uscc text,
    enterprise_name text,
    event_type text,
    event_date text,
    established_date text,
    enterprise_type text,
    registered_capital_10k text,
    currency text,
    industry_code text,
    park_name text,
    address text,
    legal_representative text,
    contact_phone text,
    qualification_tags text,
    insured_employees text,
    extra_columns text
);
comment on table raw.registrations is 'Enterprise registration rows exactly as received (text), one row per valid source row, with lineage. Contains personal data: pipeline role only.';
comment on column raw.registrations.source_file is 'Path of the landed file relative to the landing root, e.g. registrations/2025-03-05/reg_20250305_01.csv';
comment on column raw.registrations.source_sha256 is 'SHA-256 of the file bytes that were loaded';
comment on column raw.registrations.source_row_number is 'Row number as seen in a spreadsheet (header = 1)';
comment on column raw.registrations.delivery_date is 'Delivery day: the landing folder name';
comment on column raw.registrations.run_id is 'Airflow run id of the run that loaded these bytes';
comment on column raw.registrations.extra_columns is 'JSON object of columns not in the contract, kept as received';

create table if not exists raw.visits (
    source_file text not null,
    source_sha256 text not null,
    source_row_number integer not null,
    delivery_date date not null,
    run_id text not null,
    line_text text not null
);
comment on table raw.visits is 'Visit-log lines (JSON Lines) exactly as received, one row per line that loaded, with lineage. Contains personal data (visitor names): pipeline role only.';
comment on column raw.visits.source_row_number is 'Line number in the file (first line = 1)';
comment on column raw.visits.line_text is 'The JSON line as received (decoded text, unknown keys included)';

create table if not exists raw.incubator_reports (
    source_file text not null,
    source_sha256 text not null,
    source_row_number integer not null,
    delivery_date date not null,
    run_id text not null,
    incubator_id text,
    incubator_name text,
    level text,
    is_high_quality text,
    park_name text,
    report_month text,
    incubation_area_m2 text,
    incubatees text,
    new_incubatees text,
    graduated text,
    graduated_cumulative text,
    funded_incubatees text,
    funding_10k text,
    ip_granted text,
    incubatee_employees text,
    incubatee_revenue_10k text,
    extra_columns text
);
comment on table raw.incubator_reports is 'Rows of sheet 月报 of incubator workbooks exactly as received (text), with lineage.';
comment on column raw.incubator_reports.source_row_number is 'Row number in sheet 月报 (header = 1)';
comment on column raw.incubator_reports.delivery_date is 'First day of the delivery month (the landing folder YYYY-MM)';

create table if not exists raw.incubator_tenants (
    source_file text not null,
    source_sha256 text not null,
    source_row_number integer not null,
    delivery_date date not null,
    run_id text not null,
    uscc text,
    extra_columns text
);
comment on table raw.incubator_tenants is 'Rows of the optional sheet 在孵企业名单 exactly as received, with lineage';
comment on column raw.incubator_tenants.source_row_number is 'Row number in sheet 在孵企业名单 (header = 1)';

create table if not exists raw.manual_statistics (
    source_file text not null,
    source_sha256 text not null,
    source_row_number integer not null,
    delivery_date date not null,
    run_id text not null,
    kpi_code text,
    period text,
    park_name text,
    value text,
    source text,
    note text,
    extra_columns text
);
comment on table raw.manual_statistics is 'Manual statistics rows (CSV) exactly as received, with lineage';
