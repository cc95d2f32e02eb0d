"""A landed file after reading and normalising, before validation: the shape every feed hands the loader.

A file delivers **units**, the rows a person counts as received: a CSV or sheet row, or a JSON
line. Accounting is per unit (``rows_received = rows_loaded + rows_quarantined``): a unit is
loaded whole or quarantined whole. A unit may feed several target tables (**parts**): a visit
line gives one visit row and one need row per need; a failure in any of them
quarantines the whole line. A unit may also depend on another (``parent``): the tenants of an
incubator workbook are quarantined with the workbook's report row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


@dataclass
class PreparedPart:
    """Rows of one target table (``raw.<table>``/``staging.<table>``, suite ``<table>``).

    ``normalised`` is what the suite validates and staging receives (minus ``helper_columns``,
    which exist only for validation); ``originals`` holds the values as received, for the
    quarantine; ``raw`` the rows for the raw table (None when the feed keeps its raw text in
    another part's table). All share a 0..n-1 index; ``unit`` gives each row's unit position.
    """

    table: str
    normalised: pd.DataFrame
    originals: pd.DataFrame
    unit: np.ndarray
    raw: pd.DataFrame | None = None
    helper_columns: tuple[str, ...] = ()
    sheet_name: str | None = None
    #: Validation column -> the column a person knows (a failure on ``period_start`` is
    #: reported on ``period``, with the value as received).
    column_aliases: dict[str, str] = field(default_factory=dict)


@dataclass
class UnitFailure:
    """A rule a unit fails, found while reading (e.g. invalid JSON) or by a cross-row check."""

    unit: int
    rule: str
    reason: str
    column: str | None = None
    value: object = None


@dataclass
class PreparedFile:
    parts: list[PreparedPart]
    #: Row number of each unit as a person sees it (spreadsheet row, header = 1; JSON line).
    unit_rows: list[int]
    #: The whole unit as received, JSON text, computed only for units that are quarantined.
    unit_record: Callable[[int], str]
    #: Worksheet of each unit (None for single-table formats).
    unit_sheets: list[str | None] | None = None
    #: Unit whose quarantine also quarantines this one (-1: none).
    unit_parents: list[int] | None = None
    failures: list[UnitFailure] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    encoding: str | None = None

    @property
    def unit_count(self) -> int:
        return len(self.unit_rows)

    def part(self, table: str) -> PreparedPart:
        for part in self.parts:
            if part.table == table:
                return part
        raise KeyError(table)

    def sheet_of(self, unit: int) -> str | None:
        return self.unit_sheets[unit] if self.unit_sheets is not None else None


def positions(count: int) -> pd.RangeIndex:
    return pd.RangeIndex(count)


@dataclass
class ValidationInputs:
    """Reference values the suites check against, read from the warehouse once per run."""

    suite_parameters: dict[str, object]
    division_sections: dict[str, str]


@dataclass
class PendingCheck:
    """A file awaiting its cross-row check: what it holds and which units already failed."""

    source_file: str
    file_name: str
    delivery_date: str
    prepared: PreparedFile
    failed_units: set[int] = field(default_factory=set)


#: A feed's ``reading.cross_check``: (connection, files of the batch in load order) -> new failures per file position.
CrossCheck = Callable[["Connection", list[PendingCheck]], dict[int, list[UnitFailure]]]
#: A feed's ``reading.prepare``: (path, delivery date, inputs, the file's bytes when already read:
#: parsed instead of the path) -> prepared file.
Preparer = Callable[[Path, str, ValidationInputs, bytes | None], PreparedFile]
