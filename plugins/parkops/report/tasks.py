"""Callables of ``send_weekly_report`` and ``send_monthly_report``, run by their tasks.

``wait_for_data`` (a sensor in reschedule mode) pokes :func:`poke_readiness` until the period's
data is in and the marts are rebuilt from it (:mod:`parkops.report.readiness`); past the
configured deadline it fails without retrying, with the reasons, and the failure alert every DAG
has (:class:`parkops.ops.notifier.FailureNotifier`) tells the data engineers, once.
``send_report`` checks again (nothing may have changed in between without it knowing), builds,
archives and sends the report.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pendulum

from parkops.feeds import feeds_required_by
from parkops.report.periods import PeriodKind, ReportPeriod
from parkops.report.readiness import Readiness
from parkops.report.settings import ReportSettings, ScheduleSettings, load_settings

log = logging.getLogger(__name__)

ZONE_TIMEZONE = "Asia/Shanghai"
REPORT_NAMES = {"weekly": "园区运行周报", "monthly": "园区运行月报"}


class ReportNotReady(RuntimeError):
    """The report's data is stale or failed: nothing goes to leadership (a data error: no retry)."""


def shanghai_now() -> dt.datetime:
    return pendulum.now(ZONE_TIMEZONE).naive()


def report_period(kind: PeriodKind, period_key: str | None, data_interval_end: dt.datetime | None) -> ReportPeriod:
    """The period asked for (``period`` param of a manual run), else the one before the interval's end."""
    if period_key:
        period = ReportPeriod.parse(period_key)
        if period.kind != kind:
            raise ValueError(f"period {period_key!r} is not a {kind} period (weekly: 2025-W10, monthly: 2025-03)")
        return period
    if data_interval_end is None:
        raise ValueError("no period given and no data interval: pass period, e.g. 2025-W10 or 2025-03")
    local_end = pendulum.instance(data_interval_end).in_timezone(ZONE_TIMEZONE)
    return ReportPeriod.covering_before(kind, local_end.date())


def deadline(period: ReportPeriod, schedule: ScheduleSettings) -> dt.datetime:
    """Until when a run waits for fresh data: weekly, the Monday after the week at ``wait_until``;
    monthly, the cut-off day of the following month at ``wait_until``."""
    from parkops.report.readiness import cutoff_date

    if period.kind == "weekly":
        day = period.end + dt.timedelta(days=1)
    else:
        assert schedule.cutoff_day is not None  # validated by load_settings for monthly
        day = cutoff_date(period, schedule.cutoff_day)
    return dt.datetime.combine(day, schedule.wait_until)


def assess_period(period: ReportPeriod, schedule: ScheduleSettings, now: dt.datetime) -> Readiness:
    from parkops.report.readiness import assess
    from parkops.warehouse import create_warehouse_engine

    with create_warehouse_engine(read_only=True).connect() as connection:
        return assess(connection, period, now=now, cutoff_day=schedule.cutoff_day)


def poke_readiness(
    kind: PeriodKind,
    period_key: str | None,
    data_interval_end: dt.datetime | None,
    *,
    now: dt.datetime | None = None,
) -> tuple[bool, dict | None]:
    """One poke: (done, readiness as a dict). Past the deadline and still not ready: raise."""
    settings = load_settings()
    schedule = settings.for_kind(kind)
    period = report_period(kind, period_key, data_interval_end)
    now = now or shanghai_now()
    readiness = assess_period(period, schedule, now)
    if readiness.ready:
        log.info("%s %s is ready (incubator reports: %s)", kind, period.key, readiness.incubator_basis)
        return True, readiness.as_dict()
    waits_until = deadline(period, schedule)
    if now >= waits_until:
        raise ReportNotReady(
            f"{period.key}（{period.label}）未发送：截至 {waits_until:%Y-%m-%d %H:%M}（等待期限）数据仍未就绪："
            f"{'；'.join(readiness.problems + readiness.waiting_for)}"
        )
    log.info(
        "%s %s waits until %s: %s", kind, period.key, waits_until, "; ".join(readiness.problems + readiness.waiting_for)
    )
    return False, None


def archive_folder(settings: ReportSettings, period: ReportPeriod, *, preview: bool) -> Path:
    base = settings.archive_dir / "previews" if preview else settings.archive_dir
    return base / period.kind / period.key


def build_report(period: ReportPeriod, settings: ReportSettings, now: dt.datetime):
    """(rendered report, its readiness) from the warehouse as it stands."""
    from parkops.report.assemble import assemble
    from parkops.report.delivery import render_report
    from parkops.report.readiness import assess
    from parkops.warehouse import create_warehouse_engine

    schedule = settings.for_kind(period.kind)
    with create_warehouse_engine(read_only=True).connect() as connection:
        readiness = assess(connection, period, now=now, cutoff_day=schedule.cutoff_day)
        content = assemble(connection, period, readiness, zone_name=settings.zone_name, generated_at=now)
    return render_report(content), readiness


def send_report(kind: PeriodKind, period_key: str, *, run_id: str | None) -> str:
    """Build, archive and send the report of ``period_key``; returns the archive folder."""
    from parkops.report.delivery import archive_report, build_message, record_send, send_message

    settings = load_settings()
    schedule = settings.for_kind(kind)
    period = report_period(kind, period_key, None)
    report, readiness = build_report(period, settings, shanghai_now())
    if not readiness.ready:
        # The sensor saw it ready a moment ago: a load or a failed rebuild came in between.
        reasons = "；".join(readiness.problems + readiness.waiting_for)
        raise ReportNotReady(f"{period.key}（{period.label}）未发送：数据不再就绪：{reasons}")
    recipients = list(schedule.recipients)
    message = build_message(report, sender=settings.sender, recipients=recipients, cc=list(schedule.cc))
    folder = archive_report(report, message, archive_folder(settings, period, preview=False))
    everyone = recipients + list(schedule.cc)
    send_message(message, smtp_conn_id=settings.smtp_conn_id, recipients=everyone)
    record_send(folder, recipients=everyone, smtp_conn_id=settings.smtp_conn_id, run_id=run_id)
    log.info("%s %s sent and archived in %s", kind, period.key, folder)
    return str(folder)


def preview_report(period_key: str, *, now: dt.datetime | None = None) -> tuple[Path, Readiness]:
    """Render ``period_key`` into the previews archive without sending (``make report``)."""
    from parkops.report.delivery import archive_report, build_message

    settings = load_settings()
    period = ReportPeriod.parse(period_key)
    schedule = settings.for_kind(period.kind)
    report, readiness = build_report(period, settings, now or shanghai_now())
    message = build_message(report, sender=settings.sender, recipients=list(schedule.recipients), cc=list(schedule.cc))
    return archive_report(report, message, archive_folder(settings, period, preview=True)), readiness


def latest_ready_period(kind: PeriodKind, *, now: dt.datetime | None = None, lookback: int = 12) -> str | None:
    """The latest period of ``kind`` whose report could go out now (``make demo`` sends these)."""
    import sqlalchemy as sa

    from parkops.report.readiness import assess
    from parkops.warehouse import create_warehouse_engine

    schedule = load_settings().for_kind(kind)
    now = now or shanghai_now()
    with create_warehouse_engine(read_only=True).connect() as connection:
        # The first feed the report waits for sets the clock: its latest loaded delivery.
        last_delivery = connection.execute(
            sa.text("select max(delivery_date) from ops.file_audit where feed = :feed and status = 'loaded'"),
            {"feed": feeds_required_by(kind)[0]},
        ).scalar_one()
        if last_delivery is None:
            return None
        period = ReportPeriod.covering_before(kind, last_delivery)
        for _ in range(lookback):
            if assess(connection, period, now=now, cutoff_day=schedule.cutoff_day).ready:
                return period.key
            period = period.previous()
    return None
