"""The alerts announcing an incident opened or resolved: titles and texts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from parkops.ops.freshness.incidents import UNSETTLED_KIND, Incident
from parkops.ops.freshness.observations import FeedObservation
from parkops.ops.freshness.rules import INGEST_DAG_IDS, MONTHLY_FEED, feed_label, format_duration, format_minute

if TYPE_CHECKING:
    from parkops.ops.alerts import Alert, AlertSettings

Change = Literal["opened", "resolved"]


def opening_title(incident: Incident) -> str:
    if incident.kind == UNSETTLED_KIND:
        return (
            f"【文件未传完】{feed_label(incident.feed)}：{incident.delivery_text()}有文件逾期仍未传完"
            f"（应于 {format_minute(incident.due_at)} 前传完），该批次暂缓发布"
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

    found = f"发现于 {format_minute(incident.opened_at)} 的检查（monitor_feed_freshness）"
    lines = [*incident.detail.splitlines(), f"{found}；迟到期间不再重复告警，补齐后另发恢复通知"]
    return Alert(title=opening_title(incident), lines=lines, severity="warning", link=_link(settings, incident.feed))


def recovery_alert(incident: Incident, observation: FeedObservation | None, settings: AlertSettings) -> Alert:
    from parkops.ops.alerts import Alert

    assert incident.resolved_at is not None
    lines = [
        f"{incident.delivery_text()}应于 {format_minute(incident.due_at)} 前到齐；"
        f"{format_minute(incident.resolved_at)} 的检查发现已补齐，"
        f"迟到约 {format_duration(incident.lateness)}（按检查时间计）",
    ]
    if observation is not None:
        lines.append(observation.latest_loaded_line())
    if incident.alerted_at is None:
        lines.append("迟到告警当时未能送达：本通知一并说明")
    lines.append(f"事件始于 {format_minute(incident.opened_at)} 的检查（ops.feed_incidents）")
    return Alert(title=recovery_title(incident), lines=lines, severity="resolved", link=_link(settings, incident.feed))
