"""Incidents (``ops.feed_incidents``): opened for a late feed or a file that never settles, resolved, listed."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from parkops.ops.freshness.observations import FeedObservation
from parkops.ops.freshness.rules import (
    INGEST_DAG_IDS,
    MONTHLY_FEED,
    due_at,
    format_duration,
    format_minute,
    reporting_month,
    utc_naive_to_shanghai,
)

if TYPE_CHECKING:
    import sqlalchemy as sa

log = logging.getLogger(__name__)

INCIDENT_KIND = "late_delivery"
UNSETTLED_KIND = "unsettled_file"
#: Unsettled files named in an alert; the rest are counted.
NAMED_UNSETTLED_FILES = 5


@dataclass(frozen=True)
class Incident:
    """A row of ``ops.feed_incidents``; times Asia/Shanghai, naive."""

    feed: str
    kind: str
    expected_delivery: dt.date
    due_at: dt.datetime
    opened_at: dt.datetime
    detail: str
    alerted_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    recovery_alerted_at: dt.datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def lateness(self) -> dt.timedelta:
        """How late the feed was: from the due time to the check that found it caught up (while open: that found
        it late)."""
        return (self.resolved_at or self.opened_at) - self.due_at

    def delivery_text(self) -> str:
        if self.feed == MONTHLY_FEED and self.kind == UNSETTLED_KIND:
            return f"交付目录 {self.expected_delivery.strftime('%Y-%m')} "
        if self.feed == MONTHLY_FEED:
            return f"{reporting_month(self.expected_delivery).strftime('%Y-%m')} 的月报"
        return f"{self.expected_delivery.isoformat()} 的交付"


INCIDENT_COLUMNS = (
    "feed, kind, expected_delivery, due_at, opened_at, detail, alerted_at, resolved_at, recovery_alerted_at"
)


def _resolve(connection: sa.Connection, incident: Incident, now: dt.datetime) -> Incident:
    """Mark an open incident resolved at ``now`` (freeing its feed's open slot); the resolved incident."""
    import sqlalchemy as sa

    connection.execute(
        sa.text(
            "update ops.feed_incidents set resolved_at = :now, open_feed = null "
            "where feed = :feed and kind = :kind and expected_delivery = :expected_delivery"
        ),
        {"now": now, "feed": incident.feed, "kind": incident.kind, "expected_delivery": incident.expected_delivery},
    )
    return replace(incident, resolved_at=now)


def _incidents(connection: sa.Connection, where: str) -> list[Incident]:
    import sqlalchemy as sa

    rows = connection.execute(
        sa.text(f"select {INCIDENT_COLUMNS} from ops.feed_incidents where {where} order by opened_at, feed")
    ).all()
    return [Incident(*row) for row in rows]


def open_incidents(connection: sa.Connection) -> list[Incident]:
    return _incidents(connection, "resolved_at is null")


def incidents_to_announce(connection: sa.Connection) -> list[Incident]:
    """Open incidents whose alert was not delivered, resolved ones whose recovery alert was not."""
    return _incidents(
        connection,
        "(resolved_at is null and alerted_at is null) or (resolved_at is not null and recovery_alerted_at is null)",
    )


def update_incidents(
    connection: sa.Connection, observations: list[FeedObservation], now: dt.datetime
) -> list[Incident]:
    """Open an incident for each late feed without one, resolve the open incident of each feed on time.

    Run inside the caller's transaction. Returns the incidents opened or resolved.
    """
    import sqlalchemy as sa

    open_by_feed = {
        incident.feed: incident for incident in open_incidents(connection) if incident.kind == INCIDENT_KIND
    }
    changed: list[Incident] = []
    for observation in observations:
        feed = observation.rule.feed
        incident = open_by_feed.get(feed)
        if observation.late and incident is None:
            assert observation.missing_from is not None
            opened = Incident(
                feed=feed,
                kind=INCIDENT_KIND,
                expected_delivery=observation.missing_from,
                due_at=due_at(observation.rule, observation.missing_from),
                opened_at=now,
                detail="\n".join(observation.facts),
            )
            connection.execute(
                sa.text(
                    "insert into ops.feed_incidents "
                    "(feed, kind, expected_delivery, due_at, opened_at, detail, open_feed) "
                    "values (:feed, :kind, :expected_delivery, :due_at, :opened_at, :detail, :feed)"
                ),
                {
                    "feed": feed,
                    "kind": opened.kind,
                    "expected_delivery": opened.expected_delivery,
                    "due_at": opened.due_at,
                    "opened_at": opened.opened_at,
                    "detail": opened.detail,
                },
            )
            log.warning("%s late: incident opened for %s", feed, opened.delivery_text())
            changed.append(opened)
        elif not observation.late and incident is not None:
            if now < incident.opened_at:
                # A check run for an earlier time (a manual run for a past date) cannot end a later incident.
                log.info("%s: check at %s is before the incident opened (%s); left open", feed, now, incident.opened_at)
                continue
            log.info("%s caught up: incident of %s resolved", feed, incident.delivery_text())
            changed.append(_resolve(connection, incident, now))
    return changed


_UNSETTLED_REASONS = {
    "changing": "大小或修改时间仍在变化",
    "marker_missing": "尚无完成标记",
}


def _on_disk_now(landing: Path, source_file: str) -> str:
    path = landing / source_file
    if not path.is_file():
        return "现已不在落地区"
    stat = path.stat()
    modified = utc_naive_to_shanghai(dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).replace(tzinfo=None))
    return f"现为 {stat.st_size} 字节，最后修改于 {format_minute(modified)}"


def unsettled_file_facts(rows: list, landing: Path, alert_after: dt.timedelta) -> list[str]:
    """One line per file unsettled too long (the first few), then what that means for the delivery."""
    facts = []
    for row in rows[:NAMED_UNSETTLED_FILES]:
        reason = _UNSETTLED_REASONS.get(row.reason, row.reason)
        if row.reason == "marker_missing":
            reason += f"（{Path(row.source_file).name}.done）"
        facts.append(
            f"{row.source_file}：自 {format_minute(utc_naive_to_shanghai(row.first_seen_at))} 起未传完（{reason}；"
            f"上次检查时 {row.size_bytes} 字节，修改于 {format_minute(utc_naive_to_shanghai(row.modified_at))}；"
            f"{_on_disk_now(landing, row.source_file)}）"
        )
    if len(rows) > NAMED_UNSETTLED_FILES:
        facts.append(f"另有 {len(rows) - NAMED_UNSETTLED_FILES} 个文件未传完：见 ops.unsettled_files")
    dag_id = INGEST_DAG_IDS.get(rows[0].feed, "ingest")
    facts.append(
        f"超过 {format_duration(alert_after)} 仍未传完：未加载，所在交付的质量闸门批次暂缓发布；"
        f"文件传完后由 {dag_id} 的下一次运行加载（可手动触发该 DAG），若上传已中断请联系数据提供方重传"
    )
    return facts


def update_unsettled_incidents(connection: sa.Connection, now: dt.datetime, landing: Path) -> list[Incident]:
    """Open an ``unsettled_file`` incident for each feed with a file unsettled too long, resolve
    the open one of each feed with none left. Run inside the caller's transaction."""
    import sqlalchemy as sa

    from parkops.pipeline.settle import load_landing_settings

    rows = connection.execute(
        sa.text(
            "select feed, delivery_date, source_file, size_bytes, modified_at, first_seen_at, reason "
            "from ops.unsettled_files order by feed, first_seen_at, source_file"
        )
    ).all()
    overdue: dict[str, list] = {}
    alert_after: dict[str, dt.timedelta] = {}
    for row in rows:
        if row.feed not in alert_after:
            alert_after[row.feed] = dt.timedelta(minutes=load_landing_settings(row.feed).unsettled_alert_minutes)
        if utc_naive_to_shanghai(row.first_seen_at) + alert_after[row.feed] <= now:
            overdue.setdefault(row.feed, []).append(row)
    open_by_feed = {
        incident.feed: incident for incident in open_incidents(connection) if incident.kind == UNSETTLED_KIND
    }
    changed: list[Incident] = []
    for feed, stuck in overdue.items():
        if feed in open_by_feed:
            continue
        first = min(stuck, key=lambda row: (row.first_seen_at, row.delivery_date))
        opened = Incident(
            feed=feed,
            kind=UNSETTLED_KIND,
            expected_delivery=first.delivery_date,
            due_at=utc_naive_to_shanghai(first.first_seen_at) + alert_after[feed],
            opened_at=now,
            detail="\n".join(unsettled_file_facts(stuck, landing, alert_after[feed])),
        )
        keys = {"feed": feed, "kind": UNSETTLED_KIND, "expected_delivery": opened.expected_delivery}
        # The same delivery stuck again (a file uploaded anew after an earlier incident): the
        # incident of that delivery opens again rather than clash with its key.
        connection.execute(
            sa.text(
                "delete from ops.feed_incidents where feed = :feed and kind = :kind "
                "and expected_delivery = :expected_delivery and resolved_at is not null"
            ),
            keys,
        )
        connection.execute(
            sa.text(
                "insert into ops.feed_incidents (feed, kind, expected_delivery, due_at, opened_at, detail, open_feed) "
                "values (:feed, :kind, :expected_delivery, :due_at, :opened_at, :detail, :open_feed)"
            ),
            {
                "feed": feed,
                "kind": UNSETTLED_KIND,
                "expected_delivery": opened.expected_delivery,
                "due_at": opened.due_at,
                "opened_at": now,
                "detail": opened.detail,
                # One open incident per feed and kind: the late-delivery one keeps the bare feed.
                "open_feed": f"{feed}:{UNSETTLED_KIND}",
            },
        )
        log.warning("%s: %d files unsettled too long: incident opened", feed, len(stuck))
        changed.append(opened)
    for feed, incident in open_by_feed.items():
        if feed in overdue or now < incident.opened_at:
            continue
        log.info("%s: no file unsettled too long any more: incident resolved", feed)
        changed.append(_resolve(connection, incident, now))
    return changed
