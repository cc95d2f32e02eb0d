"""Whether a report may go out: its data has arrived, loaded, and the marts were rebuilt from it.

A report is never built on stale or failed data. For a period ending on day E it needs:

- **delivered**: each daily feed it reads (``Feed.required_by_reports``) has a loaded delivery for day
  E + 1 or later (data of day D arrives on D + 1; every day has a delivery folder, an empty
  export included). A rejected file does not count as delivered; a later delivery does.
- **rebuilt**: for each feed it reads, the latest rebuild in ``ops.mart_builds`` saw every file
  version of the feed loaded so far (``ops.file_audit``): a load after the rebuild, or a rebuild
  that failed, leaves the marts stale for that feed.
- **not held**: no delivery of the period is held by the quality gate (``ops.quality_gate_batches``),
  and no delivery released since the latest rebuild is missing from the marts.
- **not waiting**: no delivery of the period has a file still being uploaded
  (``ops.unsettled_files``, parkops.pipeline.settle): the gate keeps such a delivery waiting.
- **has data**: the period does not end before the first day any required feed has data for (a
  preview of a week before the warehouse's first delivery is a report of nothing).
- **incubator reports** (monthly reports only): every incubator that reported for the month
  before has reported for the month (``complete``), or the configured cut-off day of the
  following month has come (``cutoff``: the report says how many are missing).

While something is missing the run waits (its sensor pokes again); past the configured time it
alerts the data engineers with :attr:`Readiness.problems` instead of sending.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

import sqlalchemy as sa

from parkops.feeds import MONTHLY_FEEDS, feed_label_cn, feeds_required_by
from parkops.report import formatting as fmt
from parkops.report.periods import ReportPeriod

IncubatorBasis = Literal["complete", "cutoff", "latest"]


@dataclass(frozen=True)
class IncubatorCompleteness:
    report_month: dt.date
    expected: tuple[str, ...]  # incubator ids that reported for the month before
    reported: tuple[str, ...]  # incubator ids with a report for report_month

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.expected) - set(self.reported)))

    @property
    def complete(self) -> bool:
        return bool(self.reported) and not self.missing


@dataclass(frozen=True)
class Readiness:
    period: ReportPeriod
    problems: list[str] = field(default_factory=list)  # why it must not go out (stale or failed data)
    waiting_for: list[str] = field(default_factory=list)  # what it still waits for before the cut-off
    incubator_basis: IncubatorBasis = "latest"
    cutoff_date: dt.date | None = None
    has_data: bool = True  # False when the period ends before the first day any required feed has data for
    first_data_day: dt.date | None = None  # that first day (None when nothing is loaded yet)

    @property
    def ready(self) -> bool:
        return not self.problems and not self.waiting_for

    @property
    def banner_headline(self) -> str | None:
        """The warning a report of this period opens with (HTML, workbook, plain text), or None when ready."""
        if not self.has_data:
            since = (
                f"数据自{fmt.date_long(self.first_data_day)}起，本期早于此日期"
                if self.first_data_day
                else "尚无已加载的数据"
            )
            return f"本期没有数据：{since}。"
        if self.ready:
            return None
        return "数据未就绪：以下输入被扣留、缺失或滞后，本报告的数字不完整，不能作为正式报告发送。"

    @property
    def banner_reasons(self) -> list[str]:
        """The reasons under :attr:`banner_headline`, one per input."""
        return [] if self.ready else [*self.problems, *self.waiting_for]

    def as_dict(self) -> dict:
        return {
            "period": self.period.key,
            "ready": self.ready,
            "problems": self.problems,
            "waiting_for": self.waiting_for,
            "incubator_basis": self.incubator_basis,
            "cutoff_date": self.cutoff_date.isoformat() if self.cutoff_date else None,
            "has_data": self.has_data,
        }


def cutoff_date(period: ReportPeriod, cutoff_day: int) -> dt.date:
    """The cut-off day in the month after a monthly period."""
    following = period.end + dt.timedelta(days=1)
    return following.replace(day=cutoff_day)


def _latest_loaded_delivery(connection: sa.Connection, feed: str) -> dt.date | None:
    return connection.execute(
        sa.text("select max(delivery_date) from ops.file_audit where feed = :feed and status = 'loaded'"),
        {"feed": feed},
    ).scalar_one()


def _earliest_loaded_delivery(connection: sa.Connection, feed: str) -> dt.date | None:
    """The first delivery whose data went in (a file since replaced by a corrected one included)."""
    return connection.execute(
        sa.text(
            "select min(delivery_date) from ops.file_audit where feed = :feed and status in ('loaded', 'superseded')"
        ),
        {"feed": feed},
    ).scalar_one()


def _rebuild_gap(connection: sa.Connection, feed: str) -> tuple[int, int | None]:
    """(file versions loaded now, file versions the latest rebuild including the feed saw)."""
    loaded_now = connection.execute(
        sa.text("select count(*) from ops.file_audit where feed = :feed and status in ('loaded', 'superseded')"),
        {"feed": feed},
    ).scalar_one()
    seen = connection.execute(
        sa.text(
            "select loaded_file_versions from ops.mart_builds where feed = :feed "
            "order by started_at desc, loaded_file_versions desc limit 1"
        ),
        {"feed": feed},
    ).scalar_one_or_none()
    return int(loaded_now), seen


def _held_deliveries(
    connection: sa.Connection, feed: str, first: dt.date, last: dt.date
) -> list[tuple[dt.date, float | None]]:
    """Deliveries of the period the quality gate holds (ops.quality_gate_batches)."""
    rows = connection.execute(
        sa.text(
            "select delivery_date, quarantine_share from ops.quality_gate_batches where feed = :feed "
            "and status = 'held' and delivery_date between :first and :last order by delivery_date"
        ),
        {"feed": feed, "first": first, "last": last},
    ).all()
    return [(row.delivery_date, row.quarantine_share) for row in rows]


def _unsettled_deliveries(
    connection: sa.Connection, feed: str, first: dt.date, last: dt.date
) -> list[tuple[dt.date, int]]:
    """Deliveries of the period with files still being uploaded (ops.unsettled_files): the quality
    gate keeps them waiting, so what the marts hold of them is not the whole delivery."""
    rows = connection.execute(
        sa.text(
            "select delivery_date, count(*) as files from ops.unsettled_files where feed = :feed "
            "and delivery_date between :first and :last group by delivery_date order by delivery_date"
        ),
        {"feed": feed, "first": first, "last": last},
    ).all()
    return [(row.delivery_date, row.files) for row in rows]


def _released_since_rebuild(connection: sa.Connection, feed: str) -> dt.date | None:
    """A delivery released after the latest rebuild of the feed (which therefore lacks it)."""
    return connection.execute(
        sa.text(
            "select min(delivery_date) from ops.quality_gate_batches where feed = :feed and status = 'released' "
            "and released_at > coalesce((select max(started_at) from ops.mart_builds where feed = :feed), "
            "cast('1900-01-01' as timestamp))"
        ),
        {"feed": feed},
    ).scalar_one_or_none()


def incubator_completeness(connection: sa.Connection, report_month: dt.date) -> IncubatorCompleteness:
    previous_month = (report_month - dt.timedelta(days=1)).replace(day=1)
    query = sa.text("select distinct incubator_id from core.fct_incubator_reports where report_month = :month")
    expected = connection.execute(query, {"month": previous_month}).scalars().all()
    reported = connection.execute(query, {"month": report_month}).scalars().all()
    return IncubatorCompleteness(report_month, tuple(sorted(expected)), tuple(sorted(reported)))


def assess(
    connection: sa.Connection,
    period: ReportPeriod,
    *,
    now: dt.datetime,
    cutoff_day: int | None = None,
) -> Readiness:
    """What stands between ``period``'s report and sending it, as of ``now`` (Asia/Shanghai, naive)."""
    problems: list[str] = []
    waiting_for: list[str] = []
    needed_delivery = period.end + dt.timedelta(days=1)
    feeds = feeds_required_by(period.kind)
    daily_feeds = [feed for feed in feeds if feed not in MONTHLY_FEEDS]
    for feed in daily_feeds:
        latest = _latest_loaded_delivery(connection, feed)
        if latest is None or latest < needed_delivery:
            got = f"已加载的交付截至 {latest.isoformat()}" if latest else "尚无已加载的交付"
            problems.append(
                f"{feed_label_cn(feed)}（{feed}）：{got}，本期数据需要 {needed_delivery.isoformat()} 的交付"
                f"（{period.end.isoformat()} 的数据）"
            )
    # Data of day D arrives on D + 1: the first delivery carries the day before it.
    first_deliveries = [
        first for first in (_earliest_loaded_delivery(connection, feed) for feed in daily_feeds) if first
    ]
    first_data_day = min(first_deliveries) - dt.timedelta(days=1) if first_deliveries else None
    has_data = first_data_day is not None and period.end >= first_data_day
    if first_data_day is not None and not has_data:
        problems.append(
            f"本期（{period.start.isoformat()} 至 {period.end.isoformat()}）没有数据：最早的交付为 "
            f"{min(first_deliveries).isoformat()}（{first_data_day.isoformat()} 的数据）"
        )
    for feed in feeds:
        loaded_now, seen = _rebuild_gap(connection, feed)
        if loaded_now and seen != loaded_now:
            seen_text = "从未重建" if seen is None else f"最近一次重建只包含 {seen} 个"
            problems.append(
                f"{feed_label_cn(feed)}（{feed}）：集市表未包含最新加载的数据（已加载 {loaded_now} 个文件版本，"
                f"{seen_text}）：build_marts 未运行或运行失败"
            )
    for feed in feeds:
        for day, share in _held_deliveries(connection, feed, period.start + dt.timedelta(days=1), needed_delivery):
            share_text = f"{share:.1%} 的行被隔离" if share is not None else "被扣留"
            problems.append(
                f"{feed_label_cn(feed)}（{feed}）：{day.isoformat()} 的交付被质量闸门扣留（{share_text}），"
                "未进入集市表：放行或重跑（DAG release_held_batch）后再发送"
            )
        for day, files in _unsettled_deliveries(connection, feed, period.start + dt.timedelta(days=1), needed_delivery):
            problems.append(
                f"{feed_label_cn(feed)}（{feed}）：{day.isoformat()} 的交付还有 {files} 个文件未传完，"
                "该交付等待中、未进入集市表：文件传完并加载后再发送"
            )
        released_after = _released_since_rebuild(connection, feed)
        if released_after is not None:
            problems.append(
                f"{feed_label_cn(feed)}（{feed}）：{released_after.isoformat()} 的交付已放行，集市表尚未重建："
                "build_marts 未运行或运行失败"
            )
    basis: IncubatorBasis = "latest"
    cutoff = None
    if period.kind == "monthly":
        if cutoff_day is None:
            raise ValueError("a monthly report needs the cut-off day")
        cutoff = cutoff_date(period, cutoff_day)
        completeness = incubator_completeness(connection, period.start)
        if completeness.complete:
            basis = "complete"
        elif now.date() >= cutoff:
            basis = "cutoff"
        else:
            waiting_for.append(
                f"孵化器月报：{period.label}已报送 {len(completeness.reported)} 家，"
                f"上月报送的 {len(completeness.expected)} 家中尚缺 {len(completeness.missing)} 家；"
                f"最迟于截止日 {cutoff.isoformat()} 按已报送数据发送"
            )
    return Readiness(period, problems, waiting_for, basis, cutoff, has_data, first_data_day if not has_data else None)
