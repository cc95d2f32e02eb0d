"""Chinese number and date conventions of the leadership reports: pure functions, one rule each.

Every number the HTML report shows goes through this module, so the same value reads the same in
the headline cards, the tables and the text lines. The rules:

* **Counts** (:func:`count`): whole numbers with thousands separators below 10万 (``12,345``);
  from 100,000 in 万 with at most one decimal, dropped when it is ``.0`` (``11.7万``, ``80万``);
  from 1亿 in 亿 with at most two decimals (``1.23亿``, ``2亿``). The scale is chosen *after*
  rounding, so 99,999.6 reads ``10万`` and 99,999,990 reads ``1亿``, never ``100,000`` or ``10000万``.
* **Decimals** (:func:`decimal`): a fixed number of places with separators (``1,234.5``); ``trim``
  drops trailing zeros, for targets that are round by nature (``≥3``, not ``≥3.0``).
* **Rounding** is half-up on the decimal digits as written (``0.125`` → ``0.13``, ``2.675`` →
  ``2.68``), which is what readers do by hand; Python's ``round`` would give ``0.12`` and ``2.67``.
* **Negative numbers** carry an ASCII hyphen-minus (``-12,345``), which survives copying into
  Excel; a value that rounds to zero never shows as ``-0``.
* **Unknown values** (``None``) read ``—`` (an em dash) everywhere.
* **Values with a KPI unit** (:func:`kpi_value`): percent units print as ``99.7%``; the rate units
  家/日 and 次/人/周 with one decimal (``122.2 家/日``, ``3.2 次/人/周``); the count units 家, 人, 个,
  次 and 起 (共性诉求 episodes) by the count rule. A space separates Arabic digits from the Chinese unit (the usual
  spacing between digits and Chinese characters), none follows 万 or 亿, which are Chinese
  characters already: ``17 家``, ``11.7万人``.
* **Attainment** (:func:`percent_from_ratio` of ``mart.kpi_target_progress.attainment``): the mart
  computes it once (actual / target); every surface shows it as a percentage with one decimal,
  half-up on the ratio's decimal digits times 100 (0.1455 → ``14.6%``), never re-derived from
  rounded figures. :func:`kpi_shown` and :func:`attainment_shown` give the numbers as shown, for
  cells that hold numbers (the Excel attachment), so a cell can never display another rounding.
* **Changes** (:func:`change`): ``▲ 3.2`` / ``▼ 1.5`` in the unit's precision, ``持平`` when the
  change rounds to zero, ``—`` when unknown; percent KPIs change by ``个百分点``. The result carries
  a tone (good / bad / flat / unknown) from whether up is good, for colouring.
* **Dates**: ``2025年3月10日``, ``3月10日``, ``2025年3月``, ``2025年3月10日 08:30`` (no zero padding
  in dates, as Chinese official documents write them; minutes are padded).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

DASH = "—"

WAN = 10_000
YI = 100_000_000

PERCENT_UNITS = frozenset({"%"})
RATE_UNITS = frozenset({"家/日", "次/人/周"})  # averages: one decimal
COUNT_UNITS = frozenset({"家", "人", "个", "次", "起"})

Tone = Literal["good", "bad", "flat", "unknown"]


def _exact(value: float | Decimal) -> Decimal:
    """``value`` as written: a Decimal (a numeric column of the marts) as is, a float from its
    shortest decimal representation (``0.1455``, not the binary ``0.14549999…``)."""
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))


def _rounded(value: float | Decimal, places: int) -> Decimal:
    """``value`` rounded half-up to ``places`` decimals, from its decimal digits as written."""
    quantum = Decimal(1).scaleb(-places)
    rounded = _exact(value).quantize(quantum, rounding=ROUND_HALF_UP)
    return rounded.copy_abs() if rounded.is_zero() else rounded  # no "-0.0"


def _digits(number: Decimal, places: int, trim: bool) -> str:
    """A rounded Decimal with thousands separators; ``trim`` drops zeros after the decimal point."""
    text = f"{number:,.{places}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def decimal(value: float | None, places: int = 1, *, trim: bool = False) -> str:
    """A number with ``places`` decimals and thousands separators.

    >>> decimal(1234.56)
    '1,234.6'
    >>> decimal(3, 1)
    '3.0'
    >>> decimal(3, 1, trim=True)
    '3'
    >>> decimal(-0.04)
    '0.0'
    >>> decimal(2.675, 2)
    '2.68'
    >>> decimal(None)
    '—'
    """
    if value is None:
        return DASH
    return _digits(_rounded(value, places), places, trim)


def count(value: float | None) -> str:
    """A count in the Chinese scale: separators below 10万, then 万 (one decimal), then 亿 (two).

    >>> count(12345)
    '12,345'
    >>> count(99999)
    '99,999'
    >>> count(100000)
    '10万'
    >>> count(116568)
    '11.7万'
    >>> count(800000)
    '80万'
    >>> count(123456789)
    '1.23亿'
    >>> count(-250000)
    '-25万'
    >>> count(None)
    '—'
    """
    if value is None:
        return DASH
    whole = _rounded(value, 0)
    sign = "-" if whole < 0 else ""
    magnitude = whole.copy_abs()
    if magnitude < WAN * 10:
        return f"{sign}{magnitude:,.0f}"
    in_wan = _rounded(float(magnitude) / WAN, 1)
    if in_wan < WAN:
        return f"{sign}{_digits(in_wan, 1, trim=True)}万"
    in_yi = _rounded(float(magnitude) / YI, 2)
    return f"{sign}{_digits(in_yi, 2, trim=True)}亿"


def percent_from_ratio(ratio: float | None, places: int = 1) -> str:
    """A ratio as a percentage: ``0.611`` → ``61.1%``.

    >>> percent_from_ratio(0.611)
    '61.1%'
    >>> percent_from_ratio(1.25, 0)
    '125%'
    >>> percent_from_ratio(0.1455)
    '14.6%'
    >>> percent_from_ratio(None)
    '—'
    """
    if ratio is None:
        return DASH
    # Scaled in decimal, never in binary: 0.1455 * 100 is 14.549999… as a float and would read 14.5%.
    return f"{_digits(_rounded(_exact(ratio) * 100, places), places, trim=False)}%"


def percent(value: float | None, places: int = 1, *, trim: bool = False) -> str:
    """A number that already is a percentage: ``99.7`` → ``99.7%``.

    >>> percent(99.7)
    '99.7%'
    >>> percent(85, trim=True)
    '85%'
    >>> percent(None)
    '—'
    """
    if value is None:
        return DASH
    return f"{decimal(value, places, trim=trim)}%"


def kpi_number(value: float | None, unit: str, *, trim: bool = False) -> str:
    """A KPI value in its unit's precision, without the unit word (percent units keep their ``%``).

    Rate units (家/日, 次/人/周) get one decimal, percent units one decimal and ``%``, every other
    unit the count rule. ``trim`` is for targets: ``≥3`` rather than ``≥3.0``.

    >>> kpi_number(122.2, "家/日")
    '122.2'
    >>> kpi_number(116568, "人")
    '11.7万'
    >>> kpi_number(99.7, "%")
    '99.7%'
    >>> kpi_number(85, "%", trim=True)
    '85%'
    >>> kpi_number(None, "家")
    '—'
    """
    if unit in PERCENT_UNITS:
        return percent(value, 1, trim=trim)
    if unit in RATE_UNITS:
        return decimal(value, 1, trim=trim)
    return count(value)


def kpi_places(unit: str) -> int:
    """Decimals a KPI value in ``unit`` shows: one for percent and rate units, none for counts.

    >>> kpi_places("%"), kpi_places("家/日"), kpi_places("人")
    (1, 1, 0)
    """
    return 1 if unit in PERCENT_UNITS or unit in RATE_UNITS else 0


def kpi_shown(value: float | Decimal | None, unit: str) -> Decimal | None:
    """A KPI value rounded as :func:`kpi_number` shows it (counts whole, before any 万/亿 scaling).

    >>> kpi_shown(95.65, "%"), kpi_shown(116568, "人"), kpi_shown(None, "家")
    (Decimal('95.7'), Decimal('116568'), None)
    """
    return None if value is None else _rounded(value, kpi_places(unit))


def attainment_shown(ratio: float | Decimal | None) -> Decimal | None:
    """An attainment ratio rounded as :func:`percent_from_ratio` shows it (0.1 percent).

    >>> attainment_shown(0.1455), attainment_shown(None)
    (Decimal('0.146'), None)
    """
    return None if ratio is None else _rounded(ratio, 3)


def kpi_unit_suffix(number_text: str, unit: str) -> str:
    """The unit as it follows ``number_text``: nothing for percent units (the ``%`` is in the number),
    no space after 万/亿, else a space before the unit.

    >>> kpi_unit_suffix("122.2", "家/日")
    ' 家/日'
    >>> kpi_unit_suffix("11.7万", "人")
    '人'
    >>> kpi_unit_suffix("99.7%", "%")
    ''
    """
    if unit in PERCENT_UNITS or not unit or number_text == DASH:
        return ""
    if number_text.endswith(("万", "亿")):
        return unit
    return f" {unit}"


def kpi_value(value: float | None, unit: str) -> str:
    """A KPI value with its unit.

    >>> kpi_value(122.2, "家/日")
    '122.2 家/日'
    >>> kpi_value(17, "家")
    '17 家'
    >>> kpi_value(116568, "人")
    '11.7万人'
    >>> kpi_value(99.7, "%")
    '99.7%'
    >>> kpi_value(3.2, "次/人/周")
    '3.2 次/人/周'
    >>> kpi_value(None, "家")
    '—'
    """
    number = kpi_number(value, unit)
    return number + kpi_unit_suffix(number, unit)


@dataclass(frozen=True)
class ChangeText:
    """A change as shown (``▲ 3.2``) and its tone for colouring."""

    text: str
    tone: Tone


def change(delta: float | None, unit: str = "", *, higher_is_better: bool = True) -> ChangeText:
    """A change against the previous period: arrow and magnitude in the unit's precision.

    Percent units change by percentage points (``个百分点``). A change that rounds to zero in the
    shown precision is ``持平`` (flat), so the arrow never points at a ``0.0``.

    >>> change(3.2, "家/日")
    ChangeText(text='▲ 3.2', tone='good')
    >>> change(-1.5, "次/人/周")
    ChangeText(text='▼ 1.5', tone='bad')
    >>> change(-2, "家", higher_is_better=False)
    ChangeText(text='▼ 2', tone='good')
    >>> change(0.3, "%")
    ChangeText(text='▲ 0.3个百分点', tone='good')
    >>> change(0.04, "家/日")
    ChangeText(text='持平', tone='flat')
    >>> change(None)
    ChangeText(text='—', tone='unknown')
    """
    if delta is None:
        return ChangeText(DASH, "unknown")
    if unit in PERCENT_UNITS:
        magnitude = decimal(abs(delta), 1)
        shown = f"{magnitude}个百分点"
    else:
        magnitude = kpi_number(abs(delta), unit) if unit else decimal(abs(delta), 1, trim=True)
        shown = magnitude
    if set(magnitude) <= set("0.,"):
        return ChangeText("持平", "flat")
    rising = delta > 0
    tone: Tone = "good" if rising == higher_is_better else "bad"
    return ChangeText(f"{'▲' if rising else '▼'} {shown}", tone)


def target_text(
    direction: str, target: float | None, target_upper: float | None, unit: str, *, window_days: int | None = None
) -> str:
    """A KPI's target as a short expression: ``≥200``, ``>100``, ``3–5``, ``阈值 5家/7日``, ``—``.

    Numbers follow the unit (``≥80万``, ``≥85%``) with trailing zeros dropped. A threshold is a
    detection rule, not a goal in the KPI's unit: the 共性诉求 rule counts enterprises within
    ``window_days`` days (the KPI counts the episodes, 起).

    >>> target_text("at_least", 200, None, "家/日")
    '≥200'
    >>> target_text("more_than", 100, None, "家")
    '>100'
    >>> target_text("between", 3, 5, "个")
    '3–5'
    >>> target_text("threshold", 5, None, "起", window_days=7)
    '阈值 5家/7日'
    >>> target_text("threshold", 5, None, "起")
    '阈值 5家'
    >>> target_text("at_least", 800000, None, "人")
    '≥80万'
    >>> target_text("none", None, None, "次")
    '—'
    """

    def shown(value: float | None) -> str:
        return kpi_number(value, unit, trim=True)

    if target is None or direction == "none":
        return DASH
    if direction == "at_least":
        return f"≥{shown(target)}"
    if direction == "more_than":
        return f">{shown(target)}"
    if direction == "between":
        if target_upper is None:
            return f"≥{shown(target)}"
        lower, upper = shown(target), shown(target_upper)
        if unit in PERCENT_UNITS:
            lower = lower.removesuffix("%")  # 80–90%, not 80%–90%
        return f"{lower}–{upper}"
    if direction == "threshold":
        rule = f"阈值 {count(target)}家"
        return f"{rule}/{window_days}日" if window_days else rule
    raise ValueError(f"unknown KPI direction {direction!r}")


def amount_10k_yuan(value_10k: float | None) -> str:
    """An amount given in 万元: ``3,456.7万元``; from 1亿元 on in 亿元 with two decimals.

    >>> amount_10k_yuan(3456.72)
    '3,456.7万元'
    >>> amount_10k_yuan(12345)
    '1.23亿元'
    >>> amount_10k_yuan(0)
    '0万元'
    >>> amount_10k_yuan(None)
    '—'
    """
    if value_10k is None:
        return DASH
    if abs(_rounded(value_10k, 1)) >= WAN:
        return f"{decimal(value_10k / WAN, 2, trim=True)}亿元"
    return f"{decimal(value_10k, 1, trim=True)}万元"


def days(value: float | None) -> str:
    """A number of days with one decimal where it matters: ``3.5天``, ``4天``.

    >>> days(3.5)
    '3.5天'
    >>> days(4.0)
    '4天'
    >>> days(None)
    '—'
    """
    if value is None:
        return DASH
    return f"{decimal(value, 1, trim=True)}天"


def date_long(day: dt.date | None) -> str:
    """``2025年3月10日``.

    >>> date_long(dt.date(2025, 3, 10))
    '2025年3月10日'
    >>> date_long(None)
    '—'
    """
    if day is None:
        return DASH
    return f"{day.year}年{day.month}月{day.day}日"


def date_short(day: dt.date | None) -> str:
    """``3月10日``.

    >>> date_short(dt.date(2025, 3, 10))
    '3月10日'
    """
    if day is None:
        return DASH
    return f"{day.month}月{day.day}日"


def month_label(day: dt.date | None) -> str:
    """The month holding ``day``: ``2025年3月``.

    >>> month_label(dt.date(2025, 3, 1))
    '2025年3月'
    """
    if day is None:
        return DASH
    return f"{day.year}年{day.month}月"


def date_span(start: dt.date | None, end: dt.date | None) -> str:
    """``3月3日—3月12日``; the years show only when the two differ.

    >>> date_span(dt.date(2025, 3, 3), dt.date(2025, 3, 12))
    '3月3日—3月12日'
    >>> date_span(dt.date(2024, 12, 30), dt.date(2025, 1, 5))
    '2024年12月30日—2025年1月5日'
    """
    if start is None or end is None:
        return DASH
    if start.year != end.year:
        return f"{date_long(start)}—{date_long(end)}"
    return f"{date_short(start)}—{date_short(end)}"


def datetime_long(moment: dt.datetime | None) -> str:
    """``2025年3月10日 08:30`` (no seconds: a report's reader needs the minute at most).

    >>> datetime_long(dt.datetime(2025, 3, 10, 8, 30, 59))
    '2025年3月10日 08:30'
    """
    if moment is None:
        return DASH
    return f"{date_long(moment.date())} {moment:%H:%M}"


def datetime_short(moment: dt.datetime | None) -> str:
    """``3月10日 08:30``.

    >>> datetime_short(dt.datetime(2025, 3, 10, 8, 5))
    '3月10日 08:05'
    """
    if moment is None:
        return DASH
    return f"{date_short(moment.date())} {moment:%H:%M}"


# --- Excel number formats: the same precision rules for the workbook's cells --------------------

EXCEL_COUNT = "#,##0"
EXCEL_DECIMAL = "#,##0.0"


def kpi_excel_format(unit: str, value: float | None = None, *, trim: bool = False) -> str:
    """The Excel number format of a KPI value in ``unit``, by the rules of :func:`kpi_number`: counts
    whole, rates and percent numbers with one decimal (the unit stands in its own column); ``trim``
    shows a whole-valued target whole, as ``≥200`` rather than ``≥200.0``.

    >>> kpi_excel_format("家"), kpi_excel_format("家/日"), kpi_excel_format("%")
    ('#,##0', '#,##0.0', '#,##0.0')
    >>> kpi_excel_format("家/日", 200, trim=True), kpi_excel_format("家/日", 3.5, trim=True)
    ('#,##0', '#,##0.0')
    """
    if unit in COUNT_UNITS:
        return EXCEL_COUNT
    if trim and value is not None and float(value).is_integer():
        return EXCEL_COUNT
    return EXCEL_DECIMAL
