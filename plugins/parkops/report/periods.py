"""Report periods: an ISO week (weekly report) or a calendar month (monthly report).

Chinese week labels follow the convention leadership reads in the zone's own bulletins: an ISO
week (Monday to Sunday) belongs to the month that holds its Thursday (so to the year that holds it,
as ISO 8601 has it), and is that month's n-th such week: 2025-W11 (10 to 16 March) is
``2025年3月第2周``; 2025-W01 (30 December 2024 to 5 January 2025) is ``2025年1月第1周``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

PeriodKind = Literal["weekly", "monthly"]

_WEEK_KEY = re.compile(r"^(\d{4})-W(\d{1,2})$")
_MONTH_KEY = re.compile(r"^(\d{4})-(\d{1,2})$")


@dataclass(frozen=True, order=True)
class ReportPeriod:
    """A report's period: ``start`` and ``end`` are inclusive dates."""

    kind: PeriodKind
    start: dt.date
    end: dt.date

    @classmethod
    def week(cls, year: int, week: int) -> ReportPeriod:
        start = dt.date.fromisocalendar(year, week, 1)
        return cls("weekly", start, start + dt.timedelta(days=6))

    @classmethod
    def month(cls, year: int, month: int) -> ReportPeriod:
        start = dt.date(year, month, 1)
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        return cls("monthly", start, following - dt.timedelta(days=1))

    @classmethod
    def parse(cls, key: str) -> ReportPeriod:
        """``2025-W10`` (ISO week) or ``2025-03`` (month)."""
        text = key.strip().upper()
        if match := _WEEK_KEY.match(text):
            year, week = int(match.group(1)), int(match.group(2))
            try:
                return cls.week(year, week)
            except ValueError:
                raise ValueError(f"{key!r}: {year} has no ISO week {week}") from None
        if match := _MONTH_KEY.match(text):
            year, month = int(match.group(1)), int(match.group(2))
            if not 1 <= month <= 12:
                raise ValueError(f"{key!r}: month must be 01 to 12")
            return cls.month(year, month)
        raise ValueError(f"{key!r}: expected a week like 2025-W10 or a month like 2025-03")

    @classmethod
    def covering_before(cls, kind: PeriodKind, day: dt.date) -> ReportPeriod:
        """The last whole period that ends before ``day``: the previous ISO week or month."""
        if kind == "weekly":
            year, week, _ = (day - dt.timedelta(days=day.isoweekday())).isocalendar()
            return cls.week(year, week)
        last_month_end = day.replace(day=1) - dt.timedelta(days=1)
        return cls.month(last_month_end.year, last_month_end.month)

    @property
    def key(self) -> str:
        if self.kind == "weekly":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        """2025年3月第2周 or 2025年3月."""
        if self.kind == "weekly":
            thursday = self.start + dt.timedelta(days=3)
            return f"{thursday.year}年{thursday.month}月第{(thursday.day - 1) // 7 + 1}周"
        return f"{self.start.year}年{self.start.month}月"

    @property
    def span_label(self) -> str:
        """3月10日—3月16日 (years only when they differ from the end's)."""
        start = f"{self.start.month}月{self.start.day}日"
        if self.start.year != self.end.year:
            start = f"{self.start.year}年{start}"
        return f"{start}—{self.end.month}月{self.end.day}日"

    @property
    def report_name(self) -> str:
        """周报 or 月报."""
        return "周报" if self.kind == "weekly" else "月报"

    def previous(self) -> ReportPeriod:
        return ReportPeriod.covering_before(self.kind, self.start)
