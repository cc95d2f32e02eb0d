"""The feeds the pipeline ingests, as data: where they land, which tables they fill, how a file is read.

Every feed goes through the same loader (``parkops.pipeline.ingest.FileLoader``): file identity
and versions, batch validation with the suite named after each table, quarantine, lineage and
accounting are the loader's; what differs per feed is here: the preparer (bytes to
``PreparedFile``) and an optional cross-row check that needs the warehouse (rules no single
row can decide, such as a visit id already loaded from another file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from parkops.ingest.prepared import PreparedFile, UnitFailure


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


#: (connection, files of the batch in load order) -> new failures per file position.
CrossCheck = Callable[["Connection", list[PendingCheck]], dict[int, list["UnitFailure"]]]
#: (path, delivery date, inputs, the file's bytes when already read: parsed instead of the path) -> prepared file.
Preparer = Callable[[Path, str, ValidationInputs, bytes | None], "PreparedFile"]


@dataclass(frozen=True)
class Feed:
    name: str
    landing_folder: str
    #: "daily": folders <YYYY-MM-DD>; "monthly": folders <YYYY-MM> (delivery date = first day).
    cadence: str
    #: raw/staging tables the feed writes, in write order; each has a suite of the same name.
    tables: tuple[str, ...]
    #: Of those, the ones that have a raw.<table> (visit needs keep their raw text in raw.visits).
    raw_tables: tuple[str, ...]
    prepare: Preparer
    cross_check: CrossCheck | None = None


def _registrations() -> Feed:
    from parkops.ingest.feeds import prepare_registrations

    return Feed(
        name="registrations",
        landing_folder="registrations",
        cadence="daily",
        tables=("registrations",),
        raw_tables=("registrations",),
        prepare=prepare_registrations,
    )


def _visits() -> Feed:
    from parkops.ingest.visits import check_visit_ids, prepare_visits

    return Feed(
        name="visits",
        landing_folder="visits",
        cadence="daily",
        tables=("visits", "visit_needs"),
        raw_tables=("visits",),
        prepare=prepare_visits,
        cross_check=check_visit_ids,
    )


def _incubator_reports() -> Feed:
    from parkops.ingest.incubators import check_cumulative_graduates, prepare_incubator_report

    return Feed(
        name="incubator_reports",
        landing_folder="incubator_reports",
        cadence="monthly",
        tables=("incubator_reports", "incubator_tenants"),
        raw_tables=("incubator_reports", "incubator_tenants"),
        prepare=prepare_incubator_report,
        cross_check=check_cumulative_graduates,
    )


def _manual_statistics() -> Feed:
    from parkops.ingest.feeds import prepare_manual_statistics

    return Feed(
        name="manual_statistics",
        landing_folder="manual_statistics",
        cadence="daily",
        tables=("manual_statistics",),
        raw_tables=("manual_statistics",),
        prepare=prepare_manual_statistics,
    )


_FACTORIES: dict[str, Callable[[], Feed]] = {
    "registrations": _registrations,
    "visits": _visits,
    "incubator_reports": _incubator_reports,
    "manual_statistics": _manual_statistics,
}

FEED_NAMES = tuple(_FACTORIES)


def feed(name: str) -> Feed:
    """The feed called ``name`` (its modules are imported on first use, at execute time)."""
    try:
        return _FACTORIES[name]()
    except KeyError:
        raise KeyError(f"unknown feed {name!r}; known: {', '.join(FEED_NAMES)}") from None
