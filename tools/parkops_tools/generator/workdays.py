"""Working-day calendar for China, so that Spring Festival and 调休 weekends look right.

``chinese_calendar`` ships official schedules for 2004-2026 only; outside them we fall back
to Monday-Friday rather than fail, because a multi-year sample must still be generable.
"""

from __future__ import annotations

from datetime import date

import chinese_calendar


def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # year outside the library's published schedules
        return day.weekday() < 5
