"""Freshness rules: the ``freshness`` configuration, due times, time formats and the landing area's delivery
folders (no warehouse)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from parkops.feeds import FEED_NAMES, FEEDS, MONTHLY_FEEDS, feed_label_cn
from parkops.ops.config import OperationsConfigError, load_section

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: The monthly feed (its completeness is judged per incubator, observations); one today.
(MONTHLY_FEED,) = MONTHLY_FEEDS
DAILY_KEYS = {"due_time", "load_grace_minutes"}
MONTHLY_KEYS = {"due_day", "due_time", "load_grace_minutes"}
#: Minutes after the arrival deadline by which a delivery that arrived must be loaded.
DEFAULT_LOAD_GRACE_MINUTES = 120
#: The due day must exist in every month.
LATEST_DUE_DAY = 28

#: feed -> the DAG that ingests it (where to look when files landed but were not loaded).
INGEST_DAG_IDS = {each.name: each.dag_id for each in FEEDS}

Cadence = Literal["daily", "monthly"]


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


def format_minute(moment: dt.datetime) -> str:
    """``2025-03-11 09:00``: a time as the alerts show it."""
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
