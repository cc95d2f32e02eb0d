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
