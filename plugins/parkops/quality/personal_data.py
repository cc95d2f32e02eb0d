"""Personal data in the feeds: which columns hold it, and the one way to mask it for display.

**Personal columns** (each feed's ``personal_columns`` in ``parkops.feeds``; the feed contracts there,
the suites in ``expectations/`` and README name the same columns): a person's name, phone number or free text a
person wrote about themselves or others. Their values live in ``raw``, ``staging`` and
``ops.quarantine`` (pipeline role only) and on the quarantined-row pages of the UI plugin, which
need the personal-data permission (README, "Who sees personal data"). They never appear in a
quarantine reason (a reason names the column, not the value) nor in an alert.

**Masking** (:func:`mask`): alerts and any other message that shows row values pass them through
it. It hides the given values of personal columns and, in any text, whatever looks like a mainland
mobile number (``1[3-9]`` and 9 digits, optionally ``+86``) or a resident ID number (17 digits and
a digit or X): a phone typed into an address or a need description is hidden as well.

Light on purpose (``re`` and the feed registry only): the alerts and the UI plugin import it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from parkops.feeds import FEEDS

#: feed -> personal column (as ``ops.quarantine.column_name`` names it) -> the contract's header.
PERSONAL_COLUMNS: dict[str, dict[str, str]] = {each.name: dict(each.personal_columns) for each in FEEDS}

#: Every personal column name, for code that knows the column but not the feed (a suite's table).
PERSONAL_COLUMN_NAMES: frozenset[str] = frozenset(name for columns in PERSONAL_COLUMNS.values() for name in columns)

#: What a hidden value is replaced with.
MASK = "＊＊＊"

# Digit-bounded: a longer number (a timestamp, an account) is not a phone or an ID number.
MOBILE_NUMBER = re.compile(r"(?<!\d)(?:\+?86[-\s]?)?1[3-9]\d(?:[-\s]?\d{4}){2}(?!\d)")
ID_NUMBER = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")


def is_personal(feed: str | None, column: str | None) -> bool:
    """True for a personal column of ``feed`` (of any feed when ``feed`` is None)."""
    if column is None:
        return False
    if feed is None:
        return column in PERSONAL_COLUMN_NAMES
    return column in PERSONAL_COLUMNS.get(feed, {})


def mask(text: object, hidden: Iterable[object] = ()) -> str:
    """``text`` with each of the ``hidden`` values (the values of personal columns), mobile numbers
    and ID numbers replaced by :data:`MASK`; None gives the empty string.

    >>> mask("张三 13812345678 / 11010519491231002X", hidden=["张三"])
    '＊＊＊ ＊＊＊ / ＊＊＊'
    """
    result = "" if text is None else str(text)
    # Longest first: a value containing another is hidden whole.
    for value in sorted({str(value) for value in hidden if value not in (None, "")}, key=len, reverse=True):
        result = result.replace(value, MASK)
    result = MOBILE_NUMBER.sub(MASK, result)
    return ID_NUMBER.sub(MASK, result)


def masked_row_value(feed: str | None, column: str | None, value: object) -> tuple[str | None, list[object]]:
    """(what to show of a quarantined row's value, the values to hide in its reason).

    A personal column's value is hidden whole; any other value keeps what is not a phone or an ID;
    None (no value) stays None.
    """
    if value is None:
        return None, []
    if is_personal(feed, column) and value != "":
        return MASK, [value]
    return mask(value), []
