-- Feed freshness incidents, written by the monitor_feed_freshness DAG (parkops.ops.freshness):
-- incidents are data, so "was it alerted, when did it recover" survives task retries and restarts.
create table if not exists ops.feed_incidents (
    feed text not null,
    kind text not null,
    expected_delivery date not null,
    due_at timestamp not null,
    opened_at timestamp not null,
    alerted_at timestamp,
    resolved_at timestamp,
    recovery_alerted_at timestamp,
    detail text not null,
    open_feed text unique,
    primary key (feed, kind, expected_delivery)
);
comment on table ops.feed_incidents is 'One row per incident of a feed missing its delivery deadline (config/operations.yaml, section freshness), from the check that found it late until the check that found it caught up. A feed late several days is one incident; at most one incident per feed is open (open_feed). Times are Asia/Shanghai local. Pipeline role only.';
comment on column ops.feed_incidents.feed is 'Feed name as in ops.file_audit (registrations, visits, incubator_reports, ...)';
comment on column ops.feed_incidents.kind is 'late_delivery: the delivery due by due_at was not loaded (incubator_reports: not every incubator due had reported); unsettled_file: a file of expected_delivery was still not completely uploaded at due_at (first seen unsettled + landing.unsettled_alert_minutes), its batch waiting (ops.unsettled_files)';
comment on column ops.feed_incidents.expected_delivery is 'First delivery found missing: the delivery folder date (YYYY-MM-DD; for incubator_reports the first day of the delivery month, whose reports are for the month before)';
comment on column ops.feed_incidents.due_at is 'When expected_delivery was due loaded (Asia/Shanghai local)';
comment on column ops.feed_incidents.opened_at is 'Time of the check that found the feed late (Asia/Shanghai local; a scheduled check uses its scheduled time)';
comment on column ops.feed_incidents.alerted_at is 'When the late-delivery alert was delivered (Asia/Shanghai local, wall clock); empty while not delivered: the next check sends it again';
comment on column ops.feed_incidents.resolved_at is 'Time of the check that found the feed caught up (Asia/Shanghai local); empty while the incident is open';
comment on column ops.feed_incidents.recovery_alerted_at is 'When the recovery alert was delivered (Asia/Shanghai local, wall clock); empty until then';
comment on column ops.feed_incidents.detail is 'What the opening check saw, one fact per line (files landed but not loaded, nothing landed, rejected files, latest loaded delivery): the lines of the late-delivery alert';
comment on column ops.feed_incidents.open_feed is 'While the incident is open: the feed (late_delivery) or <feed>:unsettled_file; empty once resolved. Its unique key makes one open incident per feed and kind a rule of the table on both engines (DuckDB has no partial unique index)';
