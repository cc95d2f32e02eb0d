-- Landing files not completely uploaded yet (parkops.pipeline.settle; config/operations.yaml,
-- section landing). Discovery takes a file only once its size and modification time have not
-- changed for the settle interval (and its <file>.done marker exists, for a feed with markers);
-- the files it leaves are listed here, and every later discovery of the feed revisits their
-- delivery days. A row leaves when its file settles (it is then loaded) or disappears. While a
-- delivery has a row here, the quality gate keeps its batch waiting (nothing newly loaded of it
-- is published); monitor_feed_freshness alerts on a file unsettled too long.
create table if not exists ops.unsettled_files (
    feed text not null,
    delivery_date date not null,
    source_file text not null,
    size_bytes bigint not null,
    modified_at timestamp not null,
    stable_since timestamp not null,
    first_seen_at timestamp not null,
    last_seen_at timestamp not null,
    reason text not null,
    primary key (feed, source_file)
);
comment on table ops.unsettled_files is 'Landing files seen but not taken yet because they are not completely uploaded: size or modification time changed within the settle interval, or the feed''s <file>.done marker is missing. Their delivery days are revisited by every later ingest run of the feed; their batches wait. Current state only: a row leaves when its file settles or disappears. Pipeline role only.';
comment on column ops.unsettled_files.delivery_date is 'Delivery folder date (incubator_reports: the first day of the delivery month)';
comment on column ops.unsettled_files.source_file is 'Path under the landing root, as ops.file_audit.source_file';
comment on column ops.unsettled_files.size_bytes is 'Size at the latest observation';
comment on column ops.unsettled_files.modified_at is 'Modification time at the latest observation (UTC)';
comment on column ops.unsettled_files.stable_since is 'First observation with this size and modification time (UTC): the file settles once unchanged for the settle interval since then, or since modified_at';
comment on column ops.unsettled_files.first_seen_at is 'First observation of the file not settled (UTC): monitor_feed_freshness alerts once it is unsettled_alert_minutes old';
comment on column ops.unsettled_files.last_seen_at is 'Latest observation (UTC)';
comment on column ops.unsettled_files.reason is 'changing: written to within the settle interval; marker_missing: the feed takes a file only with its <file>.done marker, not there yet';
