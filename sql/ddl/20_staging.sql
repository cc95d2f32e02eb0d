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

create table if not exists staging.visits (
    source_file text not null,
    source_sha256 text not null,
    source_row_number integer not null,
    delivery_date date not null,
    run_id text not null,
    visit_id text not null,
    visit_date date not null,
    visitor_id text not null,
    visitor_name text,
    visitor_role text not null,
    area text,
    park_name text not null,
    uscc text not null,
    enterprise_name text,
    channel text not null,
    is_key_enterprise boolean not null,
    need_count integer not null
);
comment on table staging.visits is 'Validated visits, one row per valid JSON line, lineage as in raw. Contains personal data (visitor_name): pipeline role only.';
comment on column staging.visits.need_count is 'Number of needs reported in the visit (rows in staging.visit_needs)';

create table if not exists staging.visit_needs (
    source_file text not null,
    source_sha256 text not null,
    source_row_number integer not null,
    delivery_date date not null,
    run_id text not null,
    visit_id text not null,
    need_position integer not null,
    need_id text not null,
    category text not null,
    description text,
    status text not null,
    raised_date date not null,
    resolved_date date,
    satisfaction integer
);
comment on table staging.visit_needs is 'Needs reported in visits, one row per need record as received (the same need_id recurs as its status moves); source_row_number is the line of the visit';
comment on column staging.visit_needs.need_position is 'Position of the need in the visit''s needs array (1 = first)';

create table if not exists staging.incubator_reports (
    source_file text not null,
    source_sha256 text not null,
    source_row_number integer not null,
    delivery_date date not null,
    run_id text not null,
    incubator_id text not null,
    incubator_name text not null,
    level text not null,
    is_high_quality boolean not null,
    park_name text not null,
    report_month date not null,
    incubation_area_m2 numeric(20, 4) not null,
    incubatees integer not null,
    new_incubatees integer not null,
    graduated integer not null,
    graduated_cumulative integer not null,
    funded_incubatees integer not null,
    funding_10k numeric(20, 4) not null,
    ip_granted integer not null,
    incubatee_employees integer not null,
    incubatee_revenue_10k numeric(20, 4) not null,
    has_tenant_list boolean not null
);
comment on table staging.incubator_reports is 'Validated monthly reports, one row per workbook version that loaded (a resubmission adds a row; core keeps the latest per incubator and month)';
comment on column staging.incubator_reports.report_month is 'First day of the reporting month';
comment on column staging.incubator_reports.has_tenant_list is 'Whether the workbook had the sheet 在孵企业名单';

create table if not exists staging.incubator_tenants (
    source_file text not null,
    source_sha256 text not null,
    source_row_number integer not null,
    delivery_date date not null,
    run_id text not null,
    incubator_id text not null,
    report_month date not null,
    uscc text not null
);
comment on table staging.incubator_tenants is 'Validated rows of 在孵企业名单: the enterprises incubated at month end, per workbook version';

create table if not exists staging.manual_statistics (
    source_file text not null,
    source_sha256 text not null,
    source_row_number integer not null,
    delivery_date date not null,
    run_id text not null,
    kpi_code text not null,
    period_start date not null,
    period_end date not null,
    period_label text not null,
    park_name text,
    value numeric(20, 4) not null,
    source text not null,
    note text
);
comment on table staging.manual_statistics is 'Validated manual statistics (kpi_code, period, optional park, value, source); a later delivery for the same kpi, period and park replaces the earlier one in core';
