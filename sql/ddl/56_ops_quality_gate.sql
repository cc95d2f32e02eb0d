-- Quality gate per feed (parkops.pipeline.gate; config/operations.yaml, section quality_gate).
-- A batch is one delivery of a feed: the files of a delivery day (a delivery month for the
-- incubator reports). Every load decides each batch it touched: published, or held when too
-- much of it was quarantined. core reads staging only through ops.published_files, so a held
-- batch (and a file loaded but not yet decided) reaches neither core nor mart.
create table if not exists ops.quality_gate_batches (
    feed text not null,
    delivery_date date not null,
    status text not null,
    files integer not null,
    rows_received integer not null,
    rows_quarantined integer not null,
    quarantine_share double precision,
    max_quarantine_share double precision not null,
    min_quarantined_rows integer not null,
    run_id text not null,
    decided_at timestamp not null,
    released_by text,
    release_reason text,
    released_at timestamp,
    primary key (feed, delivery_date)
);
comment on table ops.quality_gate_batches is 'The quality gate''s current decision per batch (feed x delivery): published, held (more than max_quarantine_share of its rows quarantined, and at least min_quarantined_rows) or released (held, then let through by a person). Rows of a held batch reach neither core nor mart. History: ops.quality_gate_log. Pipeline role only.';
comment on column ops.quality_gate_batches.delivery_date is 'Delivery folder date (incubator_reports: the first day of the delivery month)';
comment on column ops.quality_gate_batches.status is 'published | held | released';
comment on column ops.quality_gate_batches.files is 'Current file versions of the delivery the decision covered (loaded or rejected; ops.quality_gate_files lists them)';
comment on column ops.quality_gate_batches.rows_received is 'Rows those files delivered (a rejected file''s rows included)';
comment on column ops.quality_gate_batches.rows_quarantined is 'Of which quarantined (a rejected file''s rows all are)';
comment on column ops.quality_gate_batches.quarantine_share is 'rows_quarantined / rows_received; empty when no row was received';
comment on column ops.quality_gate_batches.max_quarantine_share is 'Threshold the decision applied (configuration at the time)';
comment on column ops.quality_gate_batches.min_quarantined_rows is 'Fewer quarantined rows than this never hold a batch (a single bad line of a 12-line Sunday delivery is not a failed batch)';
comment on column ops.quality_gate_batches.run_id is 'Run that made the decision';
comment on column ops.quality_gate_batches.decided_at is 'When the decision was made (UTC)';
comment on column ops.quality_gate_batches.released_by is 'Who released a held batch (release_held_batch DAG or parkops.cli gate release)';
comment on column ops.quality_gate_batches.release_reason is 'Why it was released, as given';
comment on column ops.quality_gate_batches.released_at is 'When it was released (UTC)';

create table if not exists ops.quality_gate_files (
    feed text not null,
    delivery_date date not null,
    source_file text not null,
    source_sha256 text not null,
    -- Two rejected files can share their bytes (two empty files): a version is its name and bytes.
    primary key (feed, source_file, source_sha256)
);
comment on table ops.quality_gate_files is 'File versions each batch decision covered. A file version loaded after the decision is not covered, so it is not published until the next decision.';

create table if not exists ops.quality_gate_log (
    feed text not null,
    delivery_date date not null,
    action text not null,
    files integer,
    rows_received integer,
    rows_quarantined integer,
    quarantine_share double precision,
    run_id text,
    actor text,
    note text,
    logged_at timestamp not null
);
comment on table ops.quality_gate_log is 'Every gate decision and every release or rerun, in order: the history behind ops.quality_gate_batches. Kept in full (one row per decision).';
comment on column ops.quality_gate_log.action is 'published | held | released | rerun';
comment on column ops.quality_gate_log.actor is 'Person or process behind a release or rerun (a decision: the gate)';
comment on column ops.quality_gate_log.note is 'Reason given for a release or rerun; the thresholds for a decision';

create or replace view ops.published_files as
select
    audit.feed,
    audit.delivery_date,
    audit.source_file,
    audit.source_sha256
from ops.file_audit as audit
inner join ops.quality_gate_files as covered
    on covered.feed = audit.feed
    and covered.source_file = audit.source_file
    and covered.source_sha256 = audit.source_sha256
inner join ops.quality_gate_batches as batches
    on batches.feed = covered.feed
    and batches.delivery_date = covered.delivery_date
where audit.status = 'loaded'
    and batches.status in ('published', 'released');
comment on view ops.published_files is 'Loaded file versions whose batch the quality gate published or a person released: the only staging rows core reads.';

create or replace view ops.held_batches as
select
    feed,
    delivery_date,
    files,
    rows_received,
    rows_quarantined,
    quarantine_share,
    max_quarantine_share,
    run_id,
    decided_at
from ops.quality_gate_batches
where status = 'held';
comment on view ops.held_batches is 'Batches the quality gate holds now: what the on-call engineer releases or reruns (README, "Runbook: a held batch").';
