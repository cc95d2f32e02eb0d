"""What the warehouse and the landing area show of each monitored feed at a check."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from parkops.ops.freshness.rules import (
    INGEST_DAG_IDS,
    MONTHLY_FEED,
    FreshnessRule,
    delivery_name,
    due_at,
    first_missing_delivery,
    format_minute,
    incubator_reports_late,
    landed_file_names,
    latest_due_delivery,
    missing_incubators,
    previous_month,
    reporting_month,
    utc_naive_to_shanghai,
)

if TYPE_CHECKING:
    import sqlalchemy as sa

#: Deliveries described one by one in an alert; older missing ones are counted.
DESCRIBED_DELIVERIES = 3
#: Missing incubators named in an alert; the rest are counted.
NAMED_INCUBATORS = 20


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
        loaded_at = f"（最近一次成功加载于 {format_minute(self.latest_load_at)}）" if self.latest_load_at else ""
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
        f"应于 {format_minute(due_at(rule, missing_from))} 前到达、"
        f"{format_minute(due_at(rule, missing_from) + rule.load_grace)} 前加载"
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
        f"应于 {format_minute(due_at(rule, due_delivery))} 前报齐"
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
