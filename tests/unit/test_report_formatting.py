"""Chinese number and date conventions of the reports (parkops.report.formatting)."""

from __future__ import annotations

import datetime as dt
import doctest
from decimal import Decimal

import pytest

from parkops.report import formatting as fmt


def test_docstring_examples_hold() -> None:
    failures, attempted = doctest.testmod(fmt, optionflags=doctest.ELLIPSIS)
    assert attempted > 40, "the module's examples are part of its specification"
    assert failures == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (7, "7"),
        (999, "999"),
        (1000, "1,000"),
        (12345, "12,345"),
        (99_999, "99,999"),
        (99_999.4, "99,999"),
        (99_999.5, "10万"),  # rounds to 100,000 first, so it is shown in 万
        (100_000, "10万"),
        (116_568, "11.7万"),
        (116_500, "11.7万"),  # half-up: 11.65 → 11.7
        (116_449, "11.6万"),
        (800_000, "80万"),
        (1_000_000, "100万"),
        (12_345_678, "1,234.6万"),
        (99_994_999, "9,999.5万"),
        (99_999_999, "1亿"),  # 9999.99999万 rounds to 10000.0万: shown as 1亿, never 10000万
        (100_000_000, "1亿"),
        (123_456_789, "1.23亿"),
        (150_000_000, "1.5亿"),
        (1_234_567_890_123, "12,345.68亿"),
        (-5, "-5"),
        (-12_345, "-12,345"),
        (-250_000, "-25万"),
        (-123_456_789, "-1.23亿"),
        (-0.4, "0"),  # never "-0"
        (2.5, "3"),  # half-up, not banker's rounding
        (None, "—"),
    ],
)
def test_count(value: float | None, expected: str) -> None:
    assert fmt.count(value) == expected


@pytest.mark.parametrize(
    ("value", "places", "trim", "expected"),
    [
        (1234.56, 1, False, "1,234.6"),
        (1234.56, 0, False, "1,235"),
        (0.125, 2, False, "0.13"),  # half-up on the written digits (float 0.125 is exact)
        (2.675, 2, False, "2.68"),  # float 2.675 is 2.67499…; the written value rounds up
        (1.05, 1, False, "1.1"),
        (3, 1, False, "3.0"),
        (3, 1, True, "3"),
        (3.10, 2, True, "3.1"),
        (-0.04, 1, False, "0.0"),
        (-1234.56, 1, False, "-1,234.6"),
        (None, 1, False, "—"),
    ],
)
def test_decimal(value: float | None, places: int, trim: bool, expected: str) -> None:
    assert fmt.decimal(value, places, trim=trim) == expected


def test_percents() -> None:
    assert fmt.percent_from_ratio(0.611) == "61.1%"
    assert fmt.percent_from_ratio(0.6105) == "61.1%"
    assert fmt.percent_from_ratio(1) == "100.0%"
    assert fmt.percent_from_ratio(0.0004) == "0.0%"
    assert fmt.percent_from_ratio(-0.052) == "-5.2%"
    assert fmt.percent_from_ratio(None) == "—"
    # Scaled in decimal: 0.1455 * 100 is 14.549999… as a float, 14.55 as written: half-up 14.6.
    assert fmt.percent_from_ratio(0.1455) == "14.6%"
    assert fmt.percent_from_ratio(Decimal("0.145500")) == "14.6%"
    assert fmt.attainment_shown(0.1455) == Decimal("0.146")
    assert fmt.kpi_shown(Decimal("95.6500"), "%") == Decimal("95.7")
    assert fmt.kpi_number(Decimal("95.6500"), "%") == "95.7%"
    assert fmt.percent(99.7) == "99.7%"
    assert fmt.percent(100) == "100.0%"
    assert fmt.percent(85, trim=True) == "85%"
    assert fmt.percent(None) == "—"


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (122.2, "家/日", "122.2 家/日"),
        (122.24, "家/日", "122.2 家/日"),
        (122, "家/日", "122.0 家/日"),
        (17, "家", "17 家"),
        (23, "家", "23 家"),
        (116_568, "人", "11.7万人"),
        (99_999, "人", "99,999 人"),
        (81.3, "%", "81.3%"),
        (99.7, "%", "99.7%"),
        (3, "个", "3 个"),
        (455, "次", "455 次"),
        (3.2, "次/人/周", "3.2 次/人/周"),
        (1, "起", "1 起"),
        (None, "家", "—"),
        (None, "%", "—"),
    ],
)
def test_kpi_value(value: float | None, unit: str, expected: str) -> None:
    assert fmt.kpi_value(value, unit) == expected


@pytest.mark.parametrize(
    ("delta", "unit", "higher_is_better", "text", "tone"),
    [
        (3.2, "家/日", True, "▲ 3.2", "good"),
        (-1.5, "家/日", True, "▼ 1.5", "bad"),
        (-1.5, "家/日", False, "▼ 1.5", "good"),
        (1.5, "家/日", False, "▲ 1.5", "bad"),
        (0, "家/日", True, "持平", "flat"),
        (0.04, "家/日", True, "持平", "flat"),  # rounds to 0.0 in the unit's precision
        (-0.04, "家/日", True, "持平", "flat"),
        (0.05, "家/日", True, "▲ 0.1", "good"),
        (666, "人", True, "▲ 666", "good"),
        (250_000, "人", True, "▲ 25万", "good"),
        (0.4, "家", True, "持平", "flat"),
        (-2, "起", True, "▼ 2", "bad"),
        (1.6, "%", True, "▲ 1.6个百分点", "good"),
        (-0.25, "%", True, "▼ 0.3个百分点", "bad"),
        (None, "家", True, "—", "unknown"),
    ],
)
def test_change(delta: float | None, unit: str, higher_is_better: bool, text: str, tone: str) -> None:
    assert fmt.change(delta, unit, higher_is_better=higher_is_better) == fmt.ChangeText(text, tone)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("direction", "target", "upper", "unit", "expected"),
    [
        ("at_least", 200, None, "家/日", "≥200"),
        ("at_least", 20, None, "家", "≥20"),
        ("at_least", 800_000, None, "人", "≥80万"),
        ("at_least", 85, None, "%", "≥85%"),
        ("at_least", 3, None, "次/人/周", "≥3"),
        ("at_least", 2.5, None, "次/人/周", "≥2.5"),
        ("more_than", 100, None, "家", ">100"),
        ("between", 3, 5, "个", "3–5"),
        ("between", 80, 90, "%", "80–90%"),
        ("threshold", 5, None, "起", "阈值 5家"),
        ("none", None, None, "%", "—"),
        ("at_least", None, None, "家", "—"),
    ],
)
def test_target_text(direction: str, target: float | None, upper: float | None, unit: str, expected: str) -> None:
    assert fmt.target_text(direction, target, upper, unit) == expected


def test_a_threshold_names_its_window() -> None:
    # 共性诉求: the KPI counts episodes (起); its rule counts enterprises within the window.
    assert fmt.target_text("threshold", 5, None, "起", window_days=7) == "阈值 5家/7日"


def test_target_text_rejects_an_unknown_direction() -> None:
    with pytest.raises(ValueError, match="sideways"):
        fmt.target_text("sideways", 1, None, "家")


def test_amounts_and_days() -> None:
    assert fmt.amount_10k_yuan(3456.72) == "3,456.7万元"
    assert fmt.amount_10k_yuan(9999.94) == "9,999.9万元"
    assert fmt.amount_10k_yuan(9999.96) == "1亿元"
    assert fmt.amount_10k_yuan(12_850.5) == "1.29亿元"
    assert fmt.amount_10k_yuan(None) == "—"
    assert fmt.days(7.0) == "7天"
    assert fmt.days(9.5) == "9.5天"
    assert fmt.days(None) == "—"


def test_dates() -> None:
    day = dt.date(2025, 3, 10)
    assert fmt.date_long(day) == "2025年3月10日"
    assert fmt.date_short(day) == "3月10日"
    assert fmt.date_short(dt.date(2025, 12, 1)) == "12月1日"
    assert fmt.month_label(day) == "2025年3月"
    assert fmt.datetime_long(dt.datetime(2025, 3, 10, 8, 30)) == "2025年3月10日 08:30"
    assert fmt.datetime_long(dt.datetime(2025, 3, 10, 18, 5, 59)) == "2025年3月10日 18:05"
    assert fmt.datetime_short(dt.datetime(2025, 3, 10, 8, 5)) == "3月10日 08:05"
    assert fmt.date_span(dt.date(2025, 3, 3), dt.date(2025, 3, 12)) == "3月3日—3月12日"
    assert fmt.date_span(dt.date(2024, 12, 30), dt.date(2025, 1, 5)) == "2024年12月30日—2025年1月5日"
    for shown in (fmt.date_long, fmt.date_short, fmt.month_label, fmt.datetime_long, fmt.datetime_short):
        assert shown(None) == "—"
