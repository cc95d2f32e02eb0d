"""Feed freshness: has each feed's latest due delivery arrived, and loaded? Incidents kept as data, alerts once.

**Rules** (``config/operations.yaml``, section ``freshness``; times are Asia/Shanghai):

- a **daily** feed (``due_time: "HH:MM"``): the delivery folder of day D (holding the data of
  day D - 1) is due to *arrive* by ``due_time`` on D, and to be *loaded* ``load_grace_minutes``
  later (default 120: the ingest DAGs run after the arrival deadlines, e.g. registrations due
  09:00, loaded at 10:00). At ``now`` the latest delivery whose due time has passed must be
  loaded (``ops.file_audit`` has a file with status ``loaded`` for that delivery date or a later
  one), or have landed files while its load grace runs. A rejected file, or a duplicate of a file
  already loaded, does not make a delivery loaded.
- **incubator_reports** (``due_day``, ``due_time``, ``load_grace_minutes``): reports for month M
  arrive in the delivery folder of M + 1 and are due by day ``due_day`` of M + 1 at ``due_time``;
  late then if nothing has landed, and after the load grace (default 120; the monthly ingest runs
  on the 11th at 11:00, so the shipped configuration gives it a day and a half) if, for the month
  whose due time has passed, not every incubator that reported for the month before has a
  report for the month in ``staging.incubator_reports`` (the current report versions, so the
  check does not wait for a mart rebuild; when none reported the month before, at least one
  report is needed). An incubator that stops reporting keeps the incident open for one month: the next
  month no longer expects it.

A feed absent from the section is not monitored.

**Files that never settle** (kind ``unsettled_file``): a landing file that ingestion left
because it was not completely uploaded (``ops.unsettled_files``, ``parkops.pipeline.settle``)
and that is still unsettled ``unsettled_alert_minutes`` (section ``landing``, default 60) after
it was first seen opens an incident of its feed: its delivery's batch waits, unpublished, until
the file settles and a run takes it. Checked for every feed with such files, monitored in
``freshness`` or not; resolved by the first check that finds none left over time.

**Incidents** (``ops.feed_incidents``): a check that finds a feed late and no incident open
for it opens one (kind ``late_delivery``, the first delivery missing and its due time); later
checks while the feed is still late change nothing, however many more deliveries are missed;
the first check that finds it caught up resolves it. At most one incident per feed is open
(the table's unique ``open_feed``). Opening and resolving happen in one transaction; the alerts
go out after it commits, and their delivery is recorded (``alerted_at``,
``recovery_alerted_at``). An alert not delivered is sent again by the next check, so every
incident is announced once it can be, and never twice. An incident resolved before its opening
alert could be delivered is announced by its recovery alert alone.

**Modules**: ``rules`` (the configuration, due times and the landing area's delivery folders),
``observations`` (what the warehouse and the landing area show of each feed), ``incidents``
(``ops.feed_incidents``: opened, resolved, listed), ``announcements`` (the alerts' titles and
texts), ``monitor`` (the check itself and the ``monitor_feed_freshness`` task).
"""
