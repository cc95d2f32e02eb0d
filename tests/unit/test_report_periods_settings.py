"""Report periods (Chinese week labels), the report configuration, and the waiting deadline."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from parkops.report.periods import ReportPeriod
from parkops.report.settings import ReportConfigError, load_settings, report_timing
from parkops.report.tasks import deadline, report_period


@pytest.mark.parametrize(
    ("key", "start", "end", "label"),
    [
        ("2025-W10", dt.date(2025, 3, 3), dt.date(2025, 3, 9), "2025年3月第1周"),
        ("2025-W11", dt.date(2025, 3, 10), dt.date(2025, 3, 16), "2025年3月第2周"),
        # Thursday 2 January 2025: the first week of January although it starts in December.
        ("2025-W01", dt.date(2024, 12, 30), dt.date(2025, 1, 5), "2025年1月第1周"),
        # Thursday 27 February: still February's fourth week.
        ("2025-W09", dt.date(2025, 2, 24), dt.date(2025, 3, 2), "2025年2月第4周"),
        ("2026-W53", dt.date(2026, 12, 28), dt.date(2027, 1, 3), "2026年12月第5周"),
        ("2025-03", dt.date(2025, 3, 1), dt.date(2025, 3, 31), "2025年3月"),
        ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29), "2024年2月"),
        ("2025-12", dt.date(2025, 12, 1), dt.date(2025, 12, 31), "2025年12月"),
    ],
)
def test_periods_parse_and_label(key, start, end, label):
    period = ReportPeriod.parse(key)
    assert (period.start, period.end, period.label, period.key) == (start, end, label, key)


@pytest.mark.parametrize("key", ["2025-W54", "2025-W00", "2025-13", "2025/03", "W10", ""])
def test_bad_period_keys_say_what_is_expected(key):
    with pytest.raises(ValueError, match=r"2025-W10|ISO week|month must be"):
        ReportPeriod.parse(key)


def test_previous_periods_and_the_period_a_run_covers():
    assert ReportPeriod.parse("2025-W01").previous().key == "2024-W52"
    assert ReportPeriod.parse("2025-01").previous().key == "2024-12"
    # A Monday 08:30 run covers the ISO week before; a run on the 1st covers the month before.
    assert ReportPeriod.covering_before("weekly", dt.date(2025, 3, 17)).key == "2025-W11"
    assert ReportPeriod.covering_before("weekly", dt.date(2025, 3, 16)).key == "2025-W10"
    assert ReportPeriod.covering_before("monthly", dt.date(2025, 4, 1)).key == "2025-03"
    interval_end = dt.datetime(2025, 3, 17, 0, 30, tzinfo=dt.UTC)  # 08:30 in Shanghai
    assert report_period("weekly", None, interval_end).key == "2025-W11"
    with pytest.raises(ValueError, match="not a weekly period"):
        report_period("weekly", "2025-03", None)


def test_the_repository_configuration_loads():
    settings = load_settings()
    assert settings.weekly.schedule == "30 8 * * 1" and report_timing("weekly") == ("30 8 * * 1", 10)
    assert settings.monthly.cutoff_day == 15 and settings.monthly.recipients
    assert settings.smtp_conn_id == "smtp_default"


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reports.yaml"
    path.write_text(text, encoding="utf-8")
    return path


VALID = """
sender: "平台 <p@example.cn>"
weekly: {schedule: "30 8 * * 1", recipients: [a@example.cn], wait_until: "14:00"}
monthly: {schedule: "0 9 1 * *", recipients: [a@example.cn], cutoff_day: 15, wait_until: "12:30"}
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[a@example.cn]", "[not-an-address]"), "weekly.recipients: not an e-mail address: not-an-address"),
        (("cutoff_day: 15", "cutoff_day: 31"), "monthly.cutoff_day must be a day of the month from 1 to 28"),
        (('"30 8 * * 1"', '"30 8 * *"'), "weekly.schedule must be a five-field cron expression"),
        (('"12:30"', '"noon"'), "monthly.wait_until must be HH:MM"),
        (
            ("recipients: [a@example.cn], cutoff_day", "recipients: [], cutoff_day"),
            "monthly.recipients needs at least one address",
        ),
    ],
)
def test_invalid_configuration_names_file_and_key(tmp_path, change, message):
    path = write_config(tmp_path, VALID.replace(*change, 1))
    with pytest.raises(ReportConfigError) as raised:
        load_settings(path)
    assert str(path) in str(raised.value) and message in str(raised.value)


def test_the_run_waits_until_the_configured_time(tmp_path, monkeypatch):
    settings = load_settings(write_config(tmp_path, VALID))
    week = ReportPeriod.parse("2025-W11")
    assert deadline(week, settings.weekly) == dt.datetime(2025, 3, 17, 14, 0)
    month = ReportPeriod.parse("2025-02")
    assert deadline(month, settings.monthly) == dt.datetime(2025, 3, 15, 12, 30)
    monkeypatch.setenv("PARKOPS_REPORT_ARCHIVE_DIR", str(tmp_path / "archive"))
    assert load_settings(write_config(tmp_path, VALID)).archive_dir == tmp_path / "archive"
