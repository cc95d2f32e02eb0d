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
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from parkops.feeds import FEED_NAMES, FEEDS, MONTHLY_FEEDS, feed_label_cn
from parkops.ops.config import OperationsConfigError, load_section

if TYPE_CHECKING:
    import sqlalchemy as sa

    from parkops.ops.alerts import Alert, AlertSettings

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
INCIDENT_KIND = "late_delivery"
UNSETTLED_KIND = "unsettled_file"
#: Unsettled files named in an alert; the rest are counted.
NAMED_UNSETTLED_FILES = 5
#: The monthly feed (its completeness is judged per incubator, below); one today.
(MONTHLY_FEED,) = MONTHLY_FEEDS
DAILY_KEYS = {"due_time", "load_grace_minutes"}
MONTHLY_KEYS = {"due_day", "due_time", "load_grace_minutes"}
#: Minutes after the arrival deadline by which a delivery that arrived must be loaded.
DEFAULT_LOAD_GRACE_MINUTES = 120
#: The due day must exist in every month.
LATEST_DUE_DAY = 28
#: Deliveries described one by one in an alert; older missing ones are counted.
DESCRIBED_DELIVERIES = 3
#: Missing incubators named in an alert; the rest are counted.
NAMED_INCUBATORS = 20

#: feed -> the DAG that ingests it (where to look when files landed but were not loaded).
INGEST_DAG_IDS = {each.name: each.dag_id for each in FEEDS}

Cadence = Literal["daily", "monthly"]
Change = Literal["opened", "resolved"]


class FreshnessAlertsNotDelivered(RuntimeError):
    """Some alerts did not reach every channel; the undelivered ones are sent again by the next check."""


# --- rules: configuration and due times (pure) -----------------------------------------------


@dataclass(frozen=True)
class FreshnessRule:
    feed: str
    cadence: Cadence
    due_time: dt.time
    #: monthly: the day of the month after the reporting month by which its reports are due
    due_day: int | None = None
    #: a delivery that arrived by its due time must be loaded this much later
    load_grace: dt.timedelta = dt.timedelta(minutes=DEFAULT_LOAD_GRACE_MINUTES)


def feed_label(feed: str) -> str:
    """``企业登记（registrations）``: the Chinese name for people, the identifier as it is."""
    return f"{feed_label_cn(feed)}（{feed}）"


def _due_time(path: Path, key: str, value: object) -> dt.time:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 10:00 as the base-60 number 600.
        raise OperationsConfigError(f'{path}: {key} must be a quoted "HH:MM" string (unquoted {value} is a number)')
    if not isinstance(value, str):
        raise OperationsConfigError(f'{path}: {key} must be a time "HH:MM" (24-hour), got {value!r}')
    try:
        parsed = dt.datetime.strptime(value.strip(), "%H:%M").time()
    except ValueError:
        raise OperationsConfigError(f'{path}: {key} must be a time "HH:MM" (24-hour), got {value!r}') from None
    return parsed


def parse_freshness_rules(path: Path, section: dict) -> list[FreshnessRule]:
    """The rules of a ``freshness`` section, in file order; an invalid entry is an error naming ``path`` and its key."""
    rules = []
    for name, entry in section.items():
        key = f"freshness.{name}"
        if name not in FEED_NAMES:
            raise OperationsConfigError(f"{path}: {key}: unknown feed (known: {', '.join(FEED_NAMES)})")
        cadence: Cadence = "monthly" if name in MONTHLY_FEEDS else "daily"
        allowed = MONTHLY_KEYS if cadence == "monthly" else DAILY_KEYS
        if not isinstance(entry, dict):
            raise OperationsConfigError(f"{path}: {key} must be a mapping with {', '.join(sorted(allowed))}")
        unknown = sorted(set(entry) - allowed)
        if unknown:
            raise OperationsConfigError(
                f"{path}: {key}: unknown keys {unknown} (a {cadence} feed takes {sorted(allowed)})"
            )
        if "due_time" not in entry:
            raise OperationsConfigError(f'{path}: {key}.due_time is missing ("HH:MM", Asia/Shanghai)')
        due_time = _due_time(path, f"{key}.due_time", entry["due_time"])
        due_day = None
        if cadence == "monthly":
            due_day = entry.get("due_day")
            if not isinstance(due_day, int) or isinstance(due_day, bool) or not 1 <= due_day <= LATEST_DUE_DAY:
                raise OperationsConfigError(
                    f"{path}: {key}.due_day must be a day of the month from 1 to {LATEST_DUE_DAY}, got {due_day!r}"
                )
        grace = entry.get("load_grace_minutes", DEFAULT_LOAD_GRACE_MINUTES)
        if not isinstance(grace, int) or isinstance(grace, bool) or grace < 0:
            raise OperationsConfigError(f"{path}: {key}.load_grace_minutes must be a whole number of minutes >= 0")
        rules.append(FreshnessRule(name, cadence, due_time, due_day, dt.timedelta(minutes=grace)))
    return rules


def load_freshness_rules() -> list[FreshnessRule]:
    """The ``freshness`` section of the operations configuration, validated."""
    path, section = load_section("freshness")
    return parse_freshness_rules(path, section)


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def previous_month(month_start: dt.date) -> dt.date:
    return _month_start(month_start - dt.timedelta(days=1))


def reporting_month(delivery: dt.date) -> dt.date:
    """The month whose incubator reports a monthly delivery folder holds: the month before it."""
    return previous_month(_month_start(delivery))


def due_at(rule: FreshnessRule, delivery: dt.date) -> dt.datetime:
    """When ``delivery`` (a day, or a monthly folder's first day) is due loaded, Asia/Shanghai."""
    if rule.cadence == "monthly":
        assert rule.due_day is not None  # parse_freshness_rules requires it for monthly feeds
        return dt.datetime.combine(_month_start(delivery).replace(day=rule.due_day), rule.due_time)
    return dt.datetime.combine(delivery, rule.due_time)


def latest_due_delivery(rule: FreshnessRule, now: dt.datetime) -> dt.date:
    """The latest delivery whose due time has passed at ``now`` (due at 09:00: from 09:00 on)."""
    if rule.cadence == "monthly":
        this_month = _month_start(now.date())
        return this_month if now >= due_at(rule, this_month) else previous_month(this_month)
    today = now.date()
    return today if now >= due_at(rule, today) else today - dt.timedelta(days=1)


def first_missing_delivery(due_delivery: dt.date, latest_loaded: dt.date | None) -> dt.date | None:
    """Daily feeds: the first delivery not loaded up to ``due_delivery`` (None: on time).

    Loaded means that day or a later one loaded. A feed never loaded misses ``due_delivery``
    (how far back it should start is not known).
    """
    if latest_loaded is not None and latest_loaded >= due_delivery:
        return None
    return latest_loaded + dt.timedelta(days=1) if latest_loaded is not None else due_delivery


def missing_incubators(expected: set[str], reported: set[str]) -> list[str]:
    return sorted(expected - reported)


def incubator_reports_late(expected: set[str], reported: set[str]) -> bool:
    """Late while an incubator that reported the month before has not, or (none expected) nobody has."""
    return not reported or bool(expected - reported)


def shanghai_naive(moment: dt.datetime) -> dt.datetime:
    """``moment`` as a naive Asia/Shanghai time; a naive ``moment`` is taken to be one already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(SHANGHAI).replace(tzinfo=None)


def utc_naive_to_shanghai(moment: dt.datetime) -> dt.datetime:
    """``ops.file_audit.processed_at`` (UTC, naive) as naive Asia/Shanghai time."""
    return moment.replace(tzinfo=dt.UTC).astimezone(SHANGHAI).replace(tzinfo=None)


def format_duration(delta: dt.timedelta) -> str:
    """``1 天 2 小时 5 分钟``; whole minutes, never negative."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = ([f"{days} 天"] if days else []) + ([f"{hours} 小时"] if hours else [])
    if minutes or not parts:
        parts.append(f"{minutes} 分钟")
    return " ".join(parts)


def _minute(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def delivery_name(cadence: Cadence, delivery: dt.date) -> str:
    """The delivery folder's name: ``YYYY-MM-DD``, or ``YYYY-MM`` for a monthly feed."""
    return delivery.strftime("%Y-%m") if cadence == "monthly" else delivery.isoformat()


def landed_file_names(landing: Path, feed: str, cadence: Cadence, delivery: dt.date) -> list[str]:
    """Files in a delivery folder that ingestion would pick up (hidden and Office lock files, and
    completion markers ``*.done``, excluded)."""
    folder = landing / feed / delivery_name(cadence, delivery)
    if not folder.is_dir():
        return []
    return sorted(
        path.name
        for path in folder.iterdir()
        if path.is_file() and not path.name.startswith((".", "~$")) and not path.name.endswith(".done")
    )


def latest_landed_delivery(landing: Path, feed: str, cadence: Cadence) -> dt.date | None:
    """The latest delivery folder of ``feed`` in the landing area holding at least one file."""
    root = landing / feed
    if not root.is_dir():
        return None
    pattern = "%Y-%m" if cadence == "monthly" else "%Y-%m-%d"
    deliveries = []
    for folder in root.iterdir():
        try:
            delivery = dt.datetime.strptime(folder.name, pattern).date()
        except ValueError:
            continue  # not a delivery folder (a README, a tool's working folder)
        deliveries.append(delivery)
    for delivery in sorted(deliveries, reverse=True):
        if landed_file_names(landing, feed, cadence, delivery):
            return delivery
    return None


# --- what the warehouse and the landing area show ---------------------------------------------


@dataclass(frozen=True)
class FeedObservation:
    """One check's view of one feed."""

    rule: FreshnessRule
    due_delivery: dt.date
    #: The first delivery found missing; None when the feed is on time.
    missing_from: dt.date | None
    latest_loaded_delivery: dt.date | None
    #: Asia/Shanghai
    latest_load_at: dt.datetime | None
    #: What is there, one fact per line (empty when on time).
    facts: tuple[str, ...] = ()

    @property
    def late(self) -> bool:
        return self.missing_from is not None

    def latest_loaded_line(self) -> str:
        if self.latest_loaded_delivery is None:
            return "已加载的最新交付：尚无（ops.file_audit 中没有状态为 loaded 的文件）"
        name = delivery_name(self.rule.cadence, self.latest_loaded_delivery)
        loaded_at = f"（最近一次成功加载于 {_minute(self.latest_load_at)}）" if self.latest_load_at else ""
        return f"已加载的最新交付：{name}{loaded_at}"


def _latest_load(connection: sa.Connection, feed: str) -> tuple[dt.date | None, dt.datetime | None]:
    import sqlalchemy as sa

    latest_delivery, latest_processed = connection.execute(
        sa.text(
            "select max(delivery_date), max(processed_at) from ops.file_audit where feed = :feed and status = 'loaded'"
        ),
        {"feed": feed},
    ).one()
    return latest_delivery, utc_naive_to_shanghai(latest_processed) if latest_processed else None


def describe_delivery(
    rule: FreshnessRule, delivery: dt.date, landed: list[str], audit: list[tuple[str, str, str | None]]
) -> str:
    """What there is of one missing delivery: its landed files and their audit (file, status, reason)."""
    name = delivery_name(rule.cadence, delivery)
    folder = f"{rule.feed}/{name}/"
    audited = {file_name for file_name, _, _ in audit}
    pending = [file_name for file_name in landed if file_name not in audited]
    loaded = [file_name for file_name, status, _ in audit if status == "loaded"]
    facts = [f"已加载 {len(loaded)} 个文件"] if loaded else []
    if pending:
        facts.append(
            f"落地区已有 {len(pending)} 个文件（{folder}：{'、'.join(pending[:5])}{' 等' if len(pending) > 5 else ''}）"
            f"但尚未加载：查看 {INGEST_DAG_IDS.get(rule.feed, 'ingest')} 的运行"
        )
    for file_name, status, reason in audit:
        if status == "rejected":
            facts.append(f"文件被拒收：{file_name}（{reason}）")
        elif status == "duplicate":
            facts.append(f"文件与已加载的文件字节相同，未再次加载：{file_name}（{reason}）")
        elif status == "superseded":
            facts.append(f"文件被更新版本取代且新版本尚未加载：{file_name}")
    if not landed and not audit:
        facts.append(f"落地区没有该交付的文件（{folder}）：请向数据提供方确认是否已导出")
    return f"{name}：" + "；".join(facts)


def _audit_of(connection: sa.Connection, feed: str, deliveries: list[dt.date]) -> dict[dt.date, list]:
    import sqlalchemy as sa

    rows = connection.execute(
        sa.text(
            "select delivery_date, file_name, status, reason from ops.file_audit "
            "where feed = :feed and delivery_date between :first and :last order by delivery_date, file_name"
        ),
        {"feed": feed, "first": min(deliveries), "last": max(deliveries)},
    ).all()
    audit: dict[dt.date, list] = {delivery: [] for delivery in deliveries}
    for delivery, file_name, status, reason in rows:
        audit.setdefault(delivery, []).append((file_name, status, reason))
    return audit


def _delivery_facts(connection: sa.Connection, rule: FreshnessRule, landing: Path, missing: list[dt.date]) -> list[str]:
    """One line per missing delivery, the latest ``DESCRIBED_DELIVERIES`` of them; the others counted."""
    described = missing[-DESCRIBED_DELIVERIES:]
    audit = _audit_of(connection, rule.feed, described)
    facts = [
        describe_delivery(
            rule, delivery, landed_file_names(landing, rule.feed, rule.cadence, delivery), audit.get(delivery, [])
        )
        for delivery in reversed(described)
    ]
    if len(missing) > len(described):
        facts.append(f"更早缺少的交付还有 {len(missing) - len(described)} 个（自 {missing[0].isoformat()} 起）")
    return facts


def observation_on_time(observation: FeedObservation) -> FeedObservation:
    return replace(observation, missing_from=None, facts=())


def observe_daily(connection: sa.Connection, rule: FreshnessRule, now: dt.datetime, landing: Path) -> FeedObservation:
    due_delivery = latest_due_delivery(rule, now)
    latest_delivery, latest_load_at = _latest_load(connection, rule.feed)
    missing_from = first_missing_delivery(due_delivery, latest_delivery)
    observation = FeedObservation(rule, due_delivery, missing_from, latest_delivery, latest_load_at)
    if missing_from is None:
        return observation
    missing = [missing_from + dt.timedelta(days=offset) for offset in range((due_delivery - missing_from).days + 1)]
    # A delivery that arrived on time is not late while the ingest still has its grace to load it.
    missing = [
        delivery
        for delivery in missing
        if now >= due_at(rule, delivery) + rule.load_grace
        or not landed_file_names(landing, rule.feed, rule.cadence, delivery)
    ]
    if not missing:
        return observation_on_time(observation)
    missing_from = missing[0]
    observation = replace(observation, missing_from=missing_from)
    data_day = missing_from - dt.timedelta(days=1)
    facts = [
        f"应到：{missing_from.isoformat()} 的交付（{data_day.isoformat()} 的数据），"
        f"应于 {_minute(due_at(rule, missing_from))} 前到达、"
        f"{_minute(due_at(rule, missing_from) + rule.load_grace)} 前加载"
    ]
    if len(missing) > 1:
        facts.append(f"缺少的交付：{missing[0].isoformat()} 至 {missing[-1].isoformat()}，共 {len(missing)} 个")
    facts += _delivery_facts(connection, rule, landing, missing)
    facts.append(observation.latest_loaded_line())
    return replace(observation, facts=tuple(facts))


def incubators_reported(connection: sa.Connection, month: dt.date) -> set[str]:
    import sqlalchemy as sa

    query = sa.text("select distinct incubator_id from staging.incubator_reports where report_month = :month")
    return set(connection.execute(query, {"month": month}).scalars().all())


def observe_incubator_reports(
    connection: sa.Connection, rule: FreshnessRule, now: dt.datetime, landing: Path
) -> FeedObservation:
    due_delivery = latest_due_delivery(rule, now)
    month = reporting_month(due_delivery)
    expected = incubators_reported(connection, previous_month(month))
    reported = incubators_reported(connection, month)
    latest_delivery, latest_load_at = _latest_load(connection, rule.feed)
    landed = landed_file_names(landing, rule.feed, rule.cadence, due_delivery)
    # Workbooks that arrived by the due day are judged once the monthly ingest had its grace.
    judged = now >= due_at(rule, due_delivery) + rule.load_grace or not landed
    late = judged and incubator_reports_late(expected, reported)
    observation = FeedObservation(rule, due_delivery, due_delivery if late else None, latest_delivery, latest_load_at)
    if not late:
        return observation
    month_name = month.strftime("%Y-%m")
    facts = [
        f"应到：{month_name} 的孵化器月报（交付目录 {delivery_name('monthly', due_delivery)}），"
        f"应于 {_minute(due_at(rule, due_delivery))} 前报齐"
    ]
    missing = missing_incubators(expected, reported)
    before = previous_month(month).strftime("%Y-%m")
    if not reported:
        history = f"（{before} 报送 {len(expected)} 家）" if expected else ""
        facts.append(f"{month_name} 尚无任何孵化器的月报{history}")
    else:
        named = "、".join(missing[:NAMED_INCUBATORS]) + (" 等" if len(missing) > NAMED_INCUBATORS else "")
        facts.append(
            f"{before} 报送 {len(expected)} 家；{month_name} 已报送 {len(reported)} 家，尚缺 {len(missing)} 家：{named}"
        )
    facts += _delivery_facts(connection, rule, landing, [due_delivery])
    facts.append(observation.latest_loaded_line())
    return replace(observation, facts=tuple(facts))


def observe(connection: sa.Connection, rule: FreshnessRule, now: dt.datetime, landing: Path) -> FeedObservation:
    if rule.feed == MONTHLY_FEED:
        return observe_incubator_reports(connection, rule, now, landing)
    return observe_daily(connection, rule, now, landing)


# --- incidents --------------------------------------------------------------------------------


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


def opening_title(incident: Incident) -> str:
    if incident.kind == UNSETTLED_KIND:
        return (
            f"【文件未传完】{feed_label(incident.feed)}：{incident.delivery_text()}有文件逾期仍未传完"
            f"（应于 {_minute(incident.due_at)} 前传完），该批次暂缓发布"
        )
    when = incident.due_at.strftime("%H:%M" if incident.feed != MONTHLY_FEED else "%Y-%m-%d %H:%M")
    if incident.feed == MONTHLY_FEED:
        return f"【数据迟到】{feed_label(incident.feed)}：{incident.delivery_text()}未在 {when} 前报齐"
    # Late either way: nothing arrived by the deadline, or what arrived was not loaded in its grace.
    return f"【数据迟到】{feed_label(incident.feed)}：{incident.delivery_text()}逾期未加载（应于 {when} 前到达）"


def recovery_title(incident: Incident) -> str:
    if incident.kind == UNSETTLED_KIND:
        return (
            f"【已恢复】{feed_label(incident.feed)}：{incident.delivery_text()}的文件已传完，"
            f"迟到约 {format_duration(incident.lateness)}"
        )
    verb = "已报齐" if incident.feed == MONTHLY_FEED else "已加载"
    return (
        f"【已恢复】{feed_label(incident.feed)}：{incident.delivery_text()}{verb}，"
        f"迟到约 {format_duration(incident.lateness)}"
    )


@dataclass(frozen=True)
class Transition:
    """An incident opened or resolved, with the alert announcing it."""

    change: Change
    incident: Incident
    alert: Alert


def _link(settings: AlertSettings, feed: str) -> str:
    return f"{settings.airflow_base_url}/dags/{INGEST_DAG_IDS.get(feed, 'monitor_feed_freshness')}"


def opening_alert(incident: Incident, settings: AlertSettings) -> Alert:
    from parkops.ops.alerts import Alert

    found = f"发现于 {_minute(incident.opened_at)} 的检查（monitor_feed_freshness）"
    lines = [*incident.detail.splitlines(), f"{found}；迟到期间不再重复告警，补齐后另发恢复通知"]
    return Alert(title=opening_title(incident), lines=lines, severity="warning", link=_link(settings, incident.feed))


def recovery_alert(incident: Incident, observation: FeedObservation | None, settings: AlertSettings) -> Alert:
    from parkops.ops.alerts import Alert

    assert incident.resolved_at is not None
    lines = [
        f"{incident.delivery_text()}应于 {_minute(incident.due_at)} 前到齐；{_minute(incident.resolved_at)} 的检查"
        f"发现已补齐，迟到约 {format_duration(incident.lateness)}（按检查时间计）",
    ]
    if observation is not None:
        lines.append(observation.latest_loaded_line())
    if incident.alerted_at is None:
        lines.append("迟到告警当时未能送达：本通知一并说明")
    lines.append(f"事件始于 {_minute(incident.opened_at)} 的检查（ops.feed_incidents）")
    return Alert(title=recovery_title(incident), lines=lines, severity="resolved", link=_link(settings, incident.feed))


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
    return f"现为 {stat.st_size} 字节，最后修改于 {_minute(modified)}"


def unsettled_file_facts(rows: list, landing: Path, alert_after: dt.timedelta) -> list[str]:
    """One line per file unsettled too long (the first few), then what that means for the delivery."""
    facts = []
    for row in rows[:NAMED_UNSETTLED_FILES]:
        reason = _UNSETTLED_REASONS.get(row.reason, row.reason)
        if row.reason == "marker_missing":
            reason += f"（{Path(row.source_file).name}.done）"
        facts.append(
            f"{row.source_file}：自 {_minute(utc_naive_to_shanghai(row.first_seen_at))} 起未传完（{reason}；"
            f"上次检查时 {row.size_bytes} 字节，修改于 {_minute(utc_naive_to_shanghai(row.modified_at))}；"
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


def _record_delivery(engine: sa.Engine, transition: Transition) -> None:
    import sqlalchemy as sa

    column = "alerted_at" if transition.change == "opened" else "recovery_alerted_at"
    incident = transition.incident
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                f"update ops.feed_incidents set {column} = :sent_at "
                "where feed = :feed and kind = :kind and expected_delivery = :expected_delivery"
            ),
            {
                "sent_at": shanghai_naive(dt.datetime.now(dt.UTC)),
                "feed": incident.feed,
                "kind": incident.kind,
                "expected_delivery": incident.expected_delivery,
            },
        )


def check_freshness(
    engine: sa.Engine,
    now: dt.datetime,
    *,
    rules: list[FreshnessRule] | None = None,
    alert_settings: AlertSettings | None = None,
    landing: Path | None = None,
) -> list[Transition]:
    """Check every monitored feed at ``now`` (Asia/Shanghai; naive, or aware and converted).

    Opens and resolves incidents in one transaction, then sends the alerts: for the incidents
    opened or resolved now, and for earlier ones whose alert was not delivered. Returns those
    transitions. Raises :class:`FreshnessAlertsNotDelivered` after trying them all when an alert
    reached no channel (it stays pending) or not every channel (recorded as delivered: people
    were told; the error makes the broken channel visible).
    """
    from parkops.config import landing_dir
    from parkops.ops.alerts import AlertDeliveryError, load_alert_settings, send_alert
    from parkops.warehouse import apply_ddl

    now = shanghai_naive(now)
    rules = load_freshness_rules() if rules is None else rules
    # Loaded on every check, not only when an incident occurs: a broken alert configuration
    # must fail the monitor now, not on the day a feed is late.
    settings = alert_settings or load_alert_settings()
    landing = landing or landing_dir()
    with engine.begin() as connection:
        # The monitor may be the first writer of a new warehouse, or of one predating ops.feed_incidents.
        apply_ddl(connection)
    with engine.begin() as connection:
        observations = {rule.feed: observe(connection, rule, now, landing) for rule in rules}
        update_incidents(connection, list(observations.values()), now)
        update_unsettled_incidents(connection, now, landing)
        announce = incidents_to_announce(connection)
    transitions = [
        Transition("opened", incident, opening_alert(incident, settings))
        if incident.is_open
        else Transition(
            "resolved",
            incident,
            recovery_alert(
                incident, observations.get(incident.feed) if incident.kind == INCIDENT_KIND else None, settings
            ),
        )
        for incident in announce
    ]
    failures: list[str] = []
    for transition in transitions:
        try:
            channels = send_alert(transition.alert, settings)
        except AlertDeliveryError as error:
            failures.append(f"{transition.alert.title}: {error}")
            if not error.delivered:
                continue
            channels = error.delivered
        _record_delivery(engine, transition)
        log.info("%s alert delivered by %s: %s", transition.change, ", ".join(channels), transition.alert.title)
    if failures:
        raise FreshnessAlertsNotDelivered("; ".join(failures))
    return transitions


def run_monitor(check_at: str | None, scheduled_at: dt.datetime | None) -> dict[str, object]:
    """The ``monitor_feed_freshness`` task: check at ``check_at`` (ISO, Asia/Shanghai) if given,
    else at the run's scheduled time, else now; a summary for the task's XCom."""
    from parkops.warehouse import create_warehouse_engine

    if check_at:
        now = shanghai_naive(dt.datetime.fromisoformat(check_at))
    elif scheduled_at is not None:
        now = shanghai_naive(scheduled_at)
    else:
        now = shanghai_naive(dt.datetime.now(dt.UTC))
    engine = create_warehouse_engine()
    try:
        transitions = check_freshness(engine, now)
        with engine.connect() as connection:
            still_open = [incident.feed for incident in open_incidents(connection)]
    finally:
        engine.dispose()
    log.info("freshness checked at %s: open incidents %s", now, still_open or "none")
    return {
        "checked_at": now.isoformat(timespec="minutes"),
        "opened": [t.incident.feed for t in transitions if t.change == "opened"],
        "resolved": [t.incident.feed for t in transitions if t.change == "resolved"],
        "open_incidents": still_open,
    }
