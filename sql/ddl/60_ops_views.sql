-- Operations tables derived from core (rebuilt with the core layer by parkops.pipeline.transform),
-- kept apart from 50_ops.sql, which holds the tables the ingestion writes.
create table if not exists ops.unknown_enterprise_references (
    feed text not null,
    uscc text not null,
    first_seen_date date not null,
    last_seen_date date not null,
    row_count integer not null,
    sample_source_file text not null
);
comment on table ops.unknown_enterprise_references is 'USCCs referenced by visits or incubator tenant lists that are not in core.dim_enterprise_current: kept in core (enterprise_known = false), listed here for follow-up with the registry. Grain: feed x uscc.';
comment on column ops.unknown_enterprise_references.feed is 'visits or incubator_reports (在孵企业名单 of the current report versions)';
comment on column ops.unknown_enterprise_references.uscc is 'USCC as loaded';
comment on column ops.unknown_enterprise_references.first_seen_date is 'Earliest visit_date (visits) or report_month (incubator_reports) referencing it';
comment on column ops.unknown_enterprise_references.last_seen_date is 'Latest visit_date or report_month referencing it';
comment on column ops.unknown_enterprise_references.row_count is 'Rows referencing it in core.fct_visits or core.fct_incubator_tenants';
comment on column ops.unknown_enterprise_references.sample_source_file is 'One landed file referencing it (the first by name), to start the follow-up from';
