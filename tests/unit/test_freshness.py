"""Freshness rules: due times, month boundaries, the incubator due day, configuration errors, alert texts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from parkops.ops.config import OperationsConfigError
from parkops.ops.freshness import announcements, observations, rules
from parkops.ops.freshness.incidents import Incident
from parkops.ops.freshness.rules import FreshnessRule

REGISTRATIONS = FreshnessRule("registrations", "daily", dt.time(9, 0))
VISITS = FreshnessRule("visits", "daily", dt.time(10, 0))
INCUBATORS = FreshnessRule(
    "incubator_reports", "monthly", dt.time(23, 59), due_day=10, load_grace=dt.timedelta(minutes=1440)
)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("rule", "now", "due_delivery"),
    [
        (REGISTRATIONS, "2025-03-11T08:59", "2025-03-10"),
        (REGISTRATIONS, "2025-03-11T09:00", "2025-03-11"),
        (REGISTRATIONS, "2025-03-11T23:59", "2025-03-11"),
        (VISITS, "2025-03-11T09:30", "2025-03-10"),
        (VISITS, "2025-03-11T10:00", "2025-03-11"),
        # Month, leap-year and year boundaries: before the due time the day before is due.
        (REGISTRATIONS, "2025-03-01T08:00", "2025-02-28"),
        (REGISTRATIONS, "2024-03-01T08:00", "2024-02-29"),
        (REGISTRATIONS, "2025-01-01T00:00", "2024-12-31"),
    ],
)
def test_daily_due_delivery(rule: FreshnessRule, now: str, due_delivery: str) -> None:
    assert rules.latest_due_delivery(rule, at(now)) == dt.date.fromisoformat(due_delivery)


def test_daily_due_time_is_on_the_delivery_day() -> None:
    assert rules.due_at(REGISTRATIONS, dt.date(2025, 3, 11)) == at("2025-03-11T09:00")


@pytest.mark.parametrize(
    ("now", "delivery_month", "reports_for"),
    [
        # Reports for February are due by 2025-03-10 23:59 (delivery folder 2025-03).
        ("2025-03-10T23:58", "2025-02-01", "2025-01-01"),
        ("2025-03-10T23:59", "2025-03-01", "2025-02-01"),
        ("2025-03-31T12:00", "2025-03-01", "2025-02-01"),
        ("2025-04-01T00:00", "2025-03-01", "2025-02-01"),
        # Year boundary: in early January the November reports (folder 2024-12) are the latest due.
        ("2025-01-05T12:00", "2024-12-01", "2024-11-01"),
        ("2025-01-11T00:00", "2025-01-01", "2024-12-01"),
    ],
)
def test_incubator_reports_due_month(now: str, delivery_month: str, reports_for: str) -> None:
    delivery = rules.latest_due_delivery(INCUBATORS, at(now))
    assert delivery == dt.date.fromisoformat(delivery_month)
    assert rules.reporting_month(delivery) == dt.date.fromisoformat(reports_for)


def test_incubator_due_day_of_the_delivery_month() -> None:
    assert rules.due_at(INCUBATORS, dt.date(2025, 3, 1)) == at("2025-03-10T23:59")
    assert rules.due_at(INCUBATORS, dt.date(2025, 1, 1)) == at("2025-01-10T23:59")


@pytest.mark.parametrize(
    ("latest_loaded", "first_missing"),
    [
        (None, "2025-03-11"),  # never loaded: the due delivery is missing
        ("2025-03-11", None),
        ("2025-03-12", None),  # a later delivery loaded counts
        ("2025-03-10", "2025-03-11"),
        ("2025-03-08", "2025-03-09"),  # several days late: missing since the day after the last load
    ],
)
def test_first_missing_delivery(latest_loaded: str | None, first_missing: str | None) -> None:
    loaded = dt.date.fromisoformat(latest_loaded) if latest_loaded else None
    expected = dt.date.fromisoformat(first_missing) if first_missing else None
    assert rules.first_missing_delivery(dt.date(2025, 3, 11), loaded) == expected


@pytest.mark.parametrize(
    ("expected", "reported", "late"),
    [
        ({"INC01", "INC02"}, {"INC01"}, True),
        ({"INC01", "INC02"}, {"INC01", "INC02"}, False),
        ({"INC01"}, {"INC01", "INC03"}, False),  # a new incubator is welcome, not awaited
        (set(), set(), True),  # nobody reported: late even with no history
        (set(), {"INC01"}, False),
    ],
)
def test_incubator_reports_late(expected: set[str], reported: set[str], late: bool) -> None:
    assert rules.incubator_reports_late(expected, reported) is late


def test_format_duration() -> None:
    assert rules.format_duration(dt.timedelta(minutes=90)) == "1 小时 30 分钟"
    assert rules.format_duration(dt.timedelta(days=1, hours=2)) == "1 天 2 小时"
    assert rules.format_duration(dt.timedelta(seconds=20)) == "0 分钟"
    assert rules.format_duration(dt.timedelta(minutes=-5)) == "0 分钟"


def test_aware_times_are_taken_in_shanghai() -> None:
    utc = dt.datetime(2025, 3, 11, 1, 30, tzinfo=dt.UTC)
    assert rules.shanghai_naive(utc) == at("2025-03-11T09:30")
    assert rules.utc_naive_to_shanghai(at("2025-03-10T16:00")) == at("2025-03-11T00:00")


# --- configuration ----------------------------------------------------------------------------


def test_shipped_configuration() -> None:
    shipped = {rule.feed: rule for rule in rules.load_freshness_rules()}
    assert shipped["registrations"] == REGISTRATIONS
    assert shipped["visits"] == VISITS
    assert shipped["incubator_reports"] == INCUBATORS


def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, freshness_yaml: str) -> Path:
    path = tmp_path / "operations.yaml"
    path.write_text(f"freshness:\n{freshness_yaml}", encoding="utf-8")
    monkeypatch.setenv("PARKOPS_OPERATIONS_CONFIG", str(path))
    return path


@pytest.mark.parametrize(
    ("freshness_yaml", "key", "says"),
    [
        ("  visits:\n    due_time: 10:00\n", "freshness.visits.due_time", "quoted"),
        ('  visits:\n    due_time: "10am"\n', "freshness.visits.due_time", "HH:MM"),
        ('  visits:\n    due_time: "25:00"\n', "freshness.visits.due_time", "HH:MM"),
        ("  visits: {}\n", "freshness.visits.due_time", "missing"),
        ('  visits:\n    due_time: "10:00"\n    due_day: 3\n', "freshness.visits", "unknown keys ['due_day']"),
        ('  vistis:\n    due_time: "10:00"\n', "freshness.vistis", "unknown feed"),
        ('  visits: "10:00"\n', "freshness.visits", "mapping"),
        ('  incubator_reports:\n    due_day: 31\n    due_time: "23:59"\n', "freshness.incubator_reports.due_day", "28"),
        ('  incubator_reports:\n    due_time: "23:59"\n', "freshness.incubator_reports.due_day", "None"),
    ],
)
def test_configuration_errors_name_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, freshness_yaml: str, key: str, says: str
) -> None:
    path = write_config(tmp_path, monkeypatch, freshness_yaml)
    with pytest.raises(OperationsConfigError) as raised:
        rules.load_freshness_rules()
    message = str(raised.value)
    assert str(path) in message and key in message and says in message


def test_missing_section_names_file_and_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "operations.yaml"
    path.write_text("alerts: {}\n", encoding="utf-8")
    monkeypatch.setenv("PARKOPS_OPERATIONS_CONFIG", str(path))
    with pytest.raises(OperationsConfigError, match="freshness") as raised:
        rules.load_freshness_rules()
    assert str(path) in str(raised.value)


# --- what an alert says -----------------------------------------------------------------------


def incident(**changes) -> Incident:
    values = {
        "feed": "registrations",
        "kind": "late_delivery",
        "expected_delivery": dt.date(2025, 3, 11),
        "due_at": at("2025-03-11T09:00"),
        "opened_at": at("2025-03-11T09:30"),
        "detail": "应到：…",
    }
    return Incident(**(values | changes))


def test_alert_titles() -> None:
    assert (
        announcements.opening_title(incident())
        == "【数据迟到】企业登记（registrations）：2025-03-11 的交付逾期未加载（应于 09:00 前到达）"
    )
    resolved = incident(resolved_at=at("2025-03-12T10:30"))
    assert announcements.recovery_title(resolved) == (
        "【已恢复】企业登记（registrations）：2025-03-11 的交付已加载，迟到约 1 天 1 小时 30 分钟"
    )
    monthly = incident(feed="incubator_reports", expected_delivery=dt.date(2025, 3, 1), due_at=at("2025-03-10T23:59"))
    assert announcements.opening_title(monthly) == (
        "【数据迟到】孵化器月报（incubator_reports）：2025-02 的月报未在 2025-03-10 23:59 前报齐"
    )


def test_describe_a_missing_delivery() -> None:
    day = dt.date(2025, 3, 11)
    nothing = observations.describe_delivery(REGISTRATIONS, day, [], [])
    assert nothing.startswith("2025-03-11：落地区没有该交付的文件（registrations/2025-03-11/）")
    landed = observations.describe_delivery(REGISTRATIONS, day, ["a.csv", "b.csv"], [])
    assert "落地区已有 2 个文件" in landed and "尚未加载" in landed and "ingest_enterprise_registrations" in landed
    rejected = observations.describe_delivery(
        REGISTRATIONS, day, ["a.csv"], [("a.csv", "rejected", "required column missing: 事件日期")]
    )
    assert rejected == "2025-03-11：文件被拒收：a.csv（required column missing: 事件日期）"


def test_latest_landed_delivery_skips_empty_and_foreign_folders(tmp_path: Path) -> None:
    for folder in ("2025-03-10", "2025-03-11", "2025-03-12", "notes"):
        (tmp_path / "registrations" / folder).mkdir(parents=True)
    (tmp_path / "registrations" / "2025-03-10" / "reg.csv").write_text("x", encoding="utf-8")
    (tmp_path / "registrations" / "2025-03-11" / "reg.csv").write_text("x", encoding="utf-8")
    (tmp_path / "registrations" / "2025-03-12" / "~$reg.xlsx").write_text("lock", encoding="utf-8")
    (tmp_path / "registrations" / "notes" / "readme.txt").write_text("x", encoding="utf-8")
    assert rules.latest_landed_delivery(tmp_path, "registrations", "daily") == dt.date(2025, 3, 11)
    assert rules.latest_landed_delivery(tmp_path, "visits", "daily") is None
