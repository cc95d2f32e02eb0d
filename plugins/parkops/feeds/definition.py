"""What a feed is, as data: the ``Feed`` every feed package under ``parkops.feeds`` defines.

Standard library only: DAG files read the registry at parse time.

**Reading convention**: the code that reads a feed's files lives in the module ``reading`` of
the feed's package (``parkops.feeds.<name>.reading``), imported when a task first reads a file
(it may import pandas and the warehouse driver). It defines

- ``prepare(path, delivery_date, inputs, data)`` -> ``PreparedFile`` (required; see
  ``parkops.ingest.prepared.Preparer``);
- ``cross_check(connection, pending)`` -> new failures per file position (optional): rules no
  single row can decide, such as a visit id already loaded from another file;
- ``suite_parameters(connection)`` -> extra suite parameters read from the warehouse (optional),
  such as the KPI codes a manual statistic may name.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from parkops.ingest.prepared import CrossCheck, PreparedFile, ValidationInputs

Cadence = Literal["daily", "monthly"]
ReportKind = Literal["weekly", "monthly"]


class Kind(Enum):
    TEXT = "text"
    CODE = "code"
    DATE = "date"
    NUMBER = "number"
    TAGS = "tags"
    INDUSTRY = "industry"
    #: Lower-case identifiers (KPI codes): trimmed, full-width folded, lower-cased.
    KEY = "key"
    MONTH = "month"
    BOOLEAN = "boolean"
    #: 是/否 only (incubator reports): -> true/false.
    YES_NO = "yes_no"


@dataclass(frozen=True)
class Column:
    """A column of a source file as the contract (sources.md) names it: header (or JSON key), canonical name, kind."""

    header: str
    name: str
    kind: Kind
    required_column: bool = True
    default: str | None = None


@dataclass(frozen=True)
class TableContract:
    """A table a feed writes: ``staging.<name>``, validated by the suite ``expectations/<name>.json``.

    ``columns``: the source's columns that fill it (the contract). ``raw``: whether it has a
    ``raw.<name>`` too (visit needs do not: their text is in their visit's raw line).
    """

    name: str
    columns: tuple[Column, ...]
    raw: bool = True

    @property
    def canonical_names(self) -> list[str]:
        return [column.name for column in self.columns]


@dataclass(frozen=True)
class Feed:
    #: Identifier: landing folder ``<landing>/<name>/``, ``ops.file_audit.feed``, config keys.
    name: str
    #: The name people read (alerts, reports, UI).
    label_cn: str
    #: Place in pipeline order (ingest order, build order of the table families, report tables):
    #: feeds sort by it; unique. A feed comes after the feeds whose core tables it reads.
    order: int
    #: The ingest DAG (file ``dags/<dag_id>.py``).
    dag_id: str
    #: "daily": delivery folders <YYYY-MM-DD>; "monthly": folders <YYYY-MM> (delivery date = first day).
    cadence: Cadence
    #: The ingest DAG's cron expression, Asia/Shanghai.
    schedule: str
    #: The ingest DAG's tags.
    tags: tuple[str, ...]
    #: Tables the feed writes, in write order.
    table_contracts: tuple[TableContract, ...]
    #: Models (``sql/core/<model>.sql``, ``sql/mart/<model>.sql``) built from the feed, in build order.
    core_models: tuple[str, ...]
    mart_models: tuple[str, ...]
    #: Feeds whose core tables this feed's core models read: rebuilding one of those rebuilds this one.
    reads_core_of: tuple[str, ...] = ()
    #: Personal columns (as ``ops.quarantine.column_name`` names them) -> the label people know.
    personal_columns: Mapping[str, str] = field(default_factory=dict)
    #: The reports that wait for this feed to cover their period.
    required_by_reports: frozenset[ReportKind] = frozenset()
    #: The feed's package (``__name__`` of its ``__init__``); its reading module is ``<package>.reading``.
    package: str = ""

    @property
    def asset_uri(self) -> str:
        """The staging asset an ingest run updates (``build_marts`` is scheduled on it)."""
        return f"parkops://staging/{self.name}"

    @property
    def landing_folder(self) -> str:
        return self.name

    @property
    def tables(self) -> tuple[str, ...]:
        """The ``raw``/``staging`` tables written, in write order; each has a suite of the same name."""
        return tuple(table.name for table in self.table_contracts)

    @property
    def raw_tables(self) -> tuple[str, ...]:
        """Of ``tables``, those that have a ``raw.<table>``."""
        return tuple(table.name for table in self.table_contracts if table.raw)

    def contract(self, table: str) -> TableContract:
        for contract in self.table_contracts:
            if contract.name == table:
                return contract
        raise KeyError(f"feed {self.name!r} writes no table {table!r}; it writes {', '.join(self.tables)}")

    @property
    def reading(self) -> ModuleType:
        """The feed's reading module (imported on first use, at execute time)."""
        return importlib.import_module(f"{self.package}.reading")

    def prepare(
        self, path: Path, delivery_date: str, inputs: ValidationInputs, data: bytes | None = None
    ) -> PreparedFile:
        return self.reading.prepare(path, delivery_date, inputs, data)

    @property
    def cross_check(self) -> CrossCheck | None:
        return getattr(self.reading, "cross_check", None)

    def suite_parameters(self, connection: Connection) -> dict[str, object]:
        read = getattr(self.reading, "suite_parameters", None)
        return read(connection) if read is not None else {}
