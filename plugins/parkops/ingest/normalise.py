"""Value normalisers for the common rules of sources.md (pure functions, no I/O).

Every normaliser returns either the canonical text of a value or, when the value cannot be
understood, the original (trimmed) text unchanged. Deciding that a value is *wrong* is the job
of the Great Expectations suite, which then quarantines the row with the original value and a
reason; normalisers never drop or invent data.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

# Full-width ASCII (U+FF01..U+FF5E) -> ASCII, and the ideographic space -> space.
_FULLWIDTH_TABLE = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULLWIDTH_TABLE[0x3000] = 0x20
# Zero-width characters and the BOM that spreadsheet exports leave inside cells.
_INVISIBLE_TABLE = dict.fromkeys([0x200B, 0x200C, 0x200D, 0xFEFF], None)


def fold_fullwidth(text: str) -> str:
    """``９１３１`` -> ``9131``: full-width letters, digits and punctuation to ASCII."""
    return text.translate(_FULLWIDTH_TABLE)


def clean_text(value: object) -> str | None:
    """Trim; strip invisible characters; empty string means missing (None)."""
    if value is None:
        return None
    text = str(value).translate(_INVISIBLE_TABLE).strip()
    return text or None


def normalise_code(value: object) -> str | None:
    """Codes (USCC, industry codes): fold full-width characters, drop inner spaces, upper-case."""
    text = clean_text(value)
    if text is None:
        return None
    return re.sub(r"\s+", "", fold_fullwidth(text)).upper()


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)
# Excel exports of date cells read as text sometimes carry a midnight time.
_MIDNIGHT_SUFFIX = re.compile(r"[ T]00:00(:00(\.0+)?)?$")


@lru_cache(maxsize=65536)
def normalise_date(value: str | None) -> str | None:
    """Accepted: ``2025-03-05``, ``2025/3/5``, ``20250305``, ``2025年3月5日`` -> ``2025-03-05``.

    Anything else (including impossible dates such as 2025-02-30) is returned as given, so the
    suite rejects it with the original value in the quarantine.
    """
    text = clean_text(value)
    if text is None:
        return None
    folded = _MIDNIGHT_SUFFIX.sub("", fold_fullwidth(text).strip())
    for pattern in _DATE_PATTERNS:
        match = pattern.match(folded)
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                return dt.date(year, month, day).isoformat()
            except ValueError:
                return text
    return text


def date_cell_to_text(value: dt.date | dt.datetime) -> str:
    """An Excel date cell becomes ISO text; a time of day other than midnight is kept visible."""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    return value.isoformat()


@lru_cache(maxsize=65536)
def normalise_number(value: str | None) -> str | None:
    """``" 40,642.59 "`` -> ``40642.59``; ``１２３`` -> ``123``; ``1.50`` -> ``1.5``.

    Sign is kept (negative amounts are rejected by the suite, not here). Text that is not a
    plain decimal number is returned as given.
    """
    text = clean_text(value)
    if text is None:
        return None
    folded = fold_fullwidth(text).replace(",", "").replace(" ", "")
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", folded):
        return text
    try:
        number = Decimal(folded)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        return text
    canonical = format(number.normalize(), "f")
    return "0" if canonical in ("-0", "+0") else canonical


def number_cell_to_text(value: int | float) -> str:
    """Excel stores every number as a float: 100.0 -> ``100``, 1.25 -> ``1.25``."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)).normalize(), "f")


TAG_SEPARATORS = re.compile(r"[;；,，、]")


def normalise_tags(value: str | None) -> str | None:
    """Split on ``;`` ``；`` ``,`` ``、`` (and full-width comma), trim, de-duplicate keeping order."""
    text = clean_text(value)
    if text is None:
        return None
    tags: list[str] = []
    for part in TAG_SEPARATORS.split(text):
        tag = part.strip()
        if tag and tag not in tags:
            tags.append(tag)
    return ";".join(tags) or None


_INDUSTRY_CODE = re.compile(r"^([A-T])?(\d{4})$")


def normalise_industry_code(value: str | None, division_sections: dict[str, str]) -> str | None:
    """``I6520`` -> ``6520`` when ``I`` is the section of division ``65``; plain 4 digits kept.

    A prefix letter that does not match the division's section is left in place so that the
    suite rejects the code instead of silently accepting a contradictory value.
    """
    code = normalise_code(value)
    if code is None:
        return None
    match = _INDUSTRY_CODE.match(code)
    if not match:
        return code
    section, digits = match.groups()
    if section is None:
        return digits
    if division_sections.get(digits[:2]) == section:
        return digits
    return code


_MONTH_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})$"),
    # An Excel date cell formatted as a month holds its first day (read as 2025-03-01).
    re.compile(r"^(\d{4})-(\d{2})-01$"),
    re.compile(r"^(\d{4})(\d{2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月$"),
)


#: Prefix of a value a normaliser could not read, where the original text could pass a later
#: check by accident (``2025-03-15`` is a valid ISO date but not a reporting month). The
#: quarantine shows the value as received, never this marked text.
UNRECOGNISED = "unrecognised: "


def _month_parts(text: str) -> tuple[int, int] | None:
    folded = fold_fullwidth(text).replace(" ", "")
    for pattern in _MONTH_PATTERNS:
        match = pattern.match(folded)
        if match:
            year, month = (int(part) for part in match.groups())
            return (year, month) if 1 <= month <= 12 and year >= 1 else None  # there is no year 0
    return None


def normalise_month(value: object) -> str | None:
    """Reporting month ``2025-03``, ``202503`` or ``2025年3月`` -> ``2025-03-01`` (first day).

    A date on the first of a month (``2025-03-01``) is also the month: it is how a spreadsheet
    stores a cell formatted as a month. Anything else (a day such as ``2025-03-15``, month 13)
    comes back marked ``UNRECOGNISED`` for the suite to reject.
    """
    text = clean_text(value)
    if text is None:
        return None
    parts = _month_parts(text)
    if parts is None:
        return UNRECOGNISED + text
    return f"{parts[0]:04d}-{parts[1]:02d}-01"


_PERIOD_YEAR = re.compile(r"^(\d{4})年?$")
_PERIOD_QUARTER = re.compile(r"^(\d{4})(?:Q|年第)([1-4])(?:季度)?$")


def normalise_period(value: object) -> tuple[str, str, str] | None:
    """A statistics period as (first day, last day, label): year, quarter or month.

    ``2024`` / ``2024年`` -> 2024-01-01..2024-12-31 (label ``2024``); ``2025Q1`` /
    ``2025年第1季度`` -> 2025-01-01..2025-03-31 (``2025Q1``); a month in any accepted month format
    -> its first and last day (``2025-03``). None when the text is none of these.
    """
    text = clean_text(value)
    if text is None:
        return None
    try:
        return _period_bounds(text)
    except ValueError:
        return None  # a year outside 1..9999 (0000, 9999Q4 ends in 10000): no period to name


def _period_bounds(text: str) -> tuple[str, str, str] | None:
    folded = fold_fullwidth(text).replace(" ", "").upper()
    match = _PERIOD_YEAR.match(folded)
    if match:
        year = dt.date(int(match.group(1)), 1, 1).year  # raises for year 0
        return f"{year:04d}-01-01", f"{year:04d}-12-31", f"{year:04d}"
    match = _PERIOD_QUARTER.match(folded)
    if match:
        year, quarter = int(match.group(1)), int(match.group(2))
        first = dt.date(year, 3 * quarter - 2, 1)
        last = (dt.date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)) - dt.timedelta(days=1)
        return first.isoformat(), last.isoformat(), f"{year:04d}Q{quarter}"
    parts = _month_parts(text)
    if parts is not None:
        first = dt.date(parts[0], parts[1], 1)
        following = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
        return first.isoformat(), (following - dt.timedelta(days=1)).isoformat(), first.isoformat()[:7]
    return None


_TRUE_TEXTS = frozenset({"true", "是"})
_FALSE_TEXTS = frozenset({"false", "否"})


def normalise_yes_no(value: object) -> str | None:
    """``是``/``否`` -> ``true``/``false``; anything else (``true``, ``Y``) marked ``UNRECOGNISED``."""
    text = clean_text(value)
    if text is None:
        return None
    return {"是": "true", "否": "false"}.get(text, UNRECOGNISED + text)


def normalise_boolean(value: object) -> str | None:
    """JSON true/false, or the text ``true``/``false`` (any case) / ``是``/``否`` -> ``true``/``false``.

    Other values (numbers, ``maybe``, ``Y``) are returned as text for the suite to reject: the
    contracts define no other spelling, and guessing one would silently invent data.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    text = clean_text(value)
    if text is None:
        return None
    folded = fold_fullwidth(text).strip().lower()
    if folded in _TRUE_TEXTS:
        return "true"
    if folded in _FALSE_TEXTS:
        return "false"
    return text
