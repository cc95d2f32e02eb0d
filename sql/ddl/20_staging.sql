create table if not exists staging.registrations (
    source_file text not null,
    source_sha256 text not null,
    source_row_number integer not null,
    delivery_date date not null,
    run_id text not null,
    uscc text not null,
    enterprise_name text not null,
    event_type text not null,
    event_date date not null,
    established_date date not null,
    enterprise_type text,
    registered_capital_10k numeric(20, 4),
    currency text not null,
    industry_code text,
    park_name text,
    address text,
    legal_representative text,
    contact_phone text,
    qualification_tags text,
    insured_employees integer
);
comment on table staging.registrations is 'Validated, normalised and typed registration events (one row per valid source row), lineage as in raw. Contains personal data: pipeline role only.';
comment on column staging.registrations.qualification_tags is 'Tags joined by ";" after normalising the separators ; ； , 、';
comment on column staging.registrations.industry_code is 'GB/T 4754-2017 class, 4 digits (section letter removed)';
