"""What a load writes, planned without a database: the rows of each file and its write groups.

From a file prepared and validated (:class:`PendingFile` plus its unit failures) this builds its
:class:`FileWrite`: the raw and staging rows kept (lineage columns added), the quarantine rows,
the per-expectation validation results and the ``ops.file_audit`` row; and from a refused file
its quarantine rows. :func:`write_groups` decides which files share a write transaction.
``parkops.pipeline.writer`` writes the plans.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from parkops.ingest.prepared import PreparedFile, UnitFailure
from parkops.ingest.readers import COUNTED_PARSED, FileRejected
from parkops.pipeline.discovery import LandedFile
from parkops.quality.personal_data import is_personal, mask

#: On DuckDB, validated files are written in groups of whole deliveries up to this many rows,
#: one transaction and one insert per table a group (see :func:`write_groups`).
DUCKDB_WRITE_GROUP_ROWS = 50_000


@dataclass
class FileOutcome:
    source_file: str
    status: str  # loaded | rejected | duplicate | outdated | unchanged | unread (transient: nothing recorded)
    rows_received: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None


@dataclass
class PendingFile:
    """A file read and prepared, waiting for validation and its write transaction."""

    landed: LandedFile
    prepared: PreparedFile
    started: float


@dataclass
class FileWrite:
    """Everything one validated file writes, built before its transaction opens."""

    pending: PendingFile
    writes: list[tuple[str, str, pd.DataFrame]]
    audit: dict[str, object]
    outcome: FileOutcome


def audit_values(landed: LandedFile, started: float, run_id: str, **values: object) -> dict[str, object]:
    """The ``ops.file_audit`` row of a file version."""
    row = {
        "feed": landed.feed,
        "delivery_date": landed.delivery_date,
        "source_file": landed.source_file,
        "file_name": landed.file_name,
        "source_sha256": landed.sha256,
        "size_bytes": landed.size_bytes,
        "file_format": Path(landed.file_name).suffix.lower().lstrip("."),
        "encoding": None,
        "unknown_columns": None,
        "reason": None,
        "duplicate_of": None,
        "rows_counted_by": None,
        "run_id": run_id,
        "processed_at": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" "),
        "duration_seconds": round(time.monotonic() - started, 3),
    }
    row.update(values)
    return row


def quarantine_rows(landed: LandedFile, quarantine: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """``quarantine`` with the file's lineage, as ``ops.quarantine`` holds it."""
    return quarantine.assign(
        feed=landed.feed,
        delivery_date=landed.delivery_date,
        source_file=landed.source_file,
        source_sha256=landed.sha256,
        run_id=run_id,
    )


def rejected_file_quarantine(rejection: FileRejected) -> pd.DataFrame:
    """A file refused whole: every row it holds quarantined with the file's reason (rows as the
    rejection counted them: parsed, text lines, sheet rows, or the file as one row)."""
    rows = rejection.received_rows
    return pd.DataFrame(
        {
            "sheet_name": [sheet for sheet, _, _ in rows],
            "row_number": [number for _, number, _ in rows],
            "column_name": None,
            "value": None,
            "rule": rejection.rule,
            "reason": f"file rejected: {rejection.reason}",
            "record_json": [record for _, _, record in rows],
        }
    )


def plan_file_write(
    pending: PendingFile,
    failures: list[UnitFailure],
    batch_results: dict[str, pd.DataFrame],
    raw_tables: Collection[str],
    run_id: str,
) -> FileWrite:
    """The raw, staging, quarantine, validation and audit rows of one validated file."""
    landed, prepared = pending.landed, pending.prepared
    failed = failed_units(prepared, failures)
    lineage = {
        "source_file": landed.source_file,
        "source_sha256": landed.sha256,
        "delivery_date": landed.delivery_date,
        "run_id": run_id,
    }
    unit_rows = np.asarray(prepared.unit_rows, dtype=np.int64)
    writes: list[tuple[str, str, pd.DataFrame]] = []
    for part in prepared.parts:
        keep = ~np.isin(part.unit, list(failed)) if failed else np.ones(len(part.unit), dtype=bool)
        row_numbers = unit_rows[part.unit[keep]] if len(part.unit) else np.array([], dtype=np.int64)
        if part.raw is not None and part.table in raw_tables:
            raw = kept_rows(part.raw, keep)
            writes.append(("raw", part.table, with_lineage(raw, row_numbers, lineage)))
        staging = kept_rows(part.normalised.drop(columns=list(part.helper_columns)), keep)
        writes.append(("staging", part.table, with_lineage(staging, row_numbers, lineage)))
    quarantine = quarantine_frame(prepared, failures, failed)
    if not quarantine.empty:
        writes.append(("ops", "quarantine", quarantine_rows(landed, quarantine, run_id)))
    results = file_results(landed, prepared, failures, batch_results, run_id)
    if not results.empty:
        writes.append(("ops", "validation_results", results))
    rows_received = prepared.unit_count
    rows_quarantined = len(failed)
    rows_loaded = rows_received - rows_quarantined
    audit = audit_values(
        landed,
        pending.started,
        run_id,
        status="loaded",
        encoding=prepared.encoding,
        rows_received=rows_received,
        rows_loaded=rows_loaded,
        rows_quarantined=rows_quarantined,
        rows_counted_by=COUNTED_PARSED,
        unknown_columns=json.dumps(prepared.unknown_columns, ensure_ascii=False) if prepared.unknown_columns else None,
    )
    outcome = FileOutcome(landed.source_file, "loaded", rows_received, rows_loaded, rows_quarantined)
    return FileWrite(pending, writes, audit, outcome)


def file_results(
    landed: LandedFile,
    prepared: PreparedFile,
    failures: list[UnitFailure],
    batch_results: dict[str, pd.DataFrame],
    run_id: str,
) -> pd.DataFrame:
    """Per-expectation results of this file, derived from the batch validations."""
    unexpected: dict[str, int] = {}
    for failure in failures:
        unexpected[failure.rule] = unexpected.get(failure.rule, 0) + 1
    # Built from lists in one constructor: per-column inserts into a pandas 3 frame cost
    # ~0.5 ms each, which made this ~8 ms a file (an incubator catch-up has thousands).
    columns: dict[str, list] = {
        "expectation_type": [],
        "column_name": [],
        "rule": [],
        "suite_name": [],
        "unexpected_count": [],
        "success": [],
        "element_count": [],
    }
    for table, results in batch_results.items():
        if results.empty or not has_part(prepared, table):
            continue
        element_count = len(prepared.part(table).normalised)
        for expectation_type, column, rule, suite_name in zip(
            results["expectation_type"], results["column"], results["rule"], results["suite_name"], strict=True
        ):
            count = unexpected.get(rule, 0)
            columns["expectation_type"].append(expectation_type)
            columns["column_name"].append(column)
            columns["rule"].append(rule)
            columns["suite_name"].append(suite_name)
            columns["unexpected_count"].append(count)
            columns["success"].append(count == 0)
            columns["element_count"].append(element_count)
    if not columns["rule"]:
        return pd.DataFrame()
    lineage = {"feed": landed.feed, "source_file": landed.source_file, "source_sha256": landed.sha256}
    return pd.DataFrame({**columns, **lineage, "run_id": run_id})


def write_groups(file_writes: list[tuple[int, FileWrite]], dialect: str) -> Iterator[list[tuple[int, FileWrite]]]:
    """The write transactions of a validated batch: one file each, or on DuckDB whole deliveries.

    PostgreSQL commits every file on its own: concurrent loaders then hold a file's lock for
    one short transaction, and a lost connection costs one file. DuckDB has a single writer
    process (the pool serialises loads), and there a transaction and an insert cost ~10 ms
    each whatever their size: written one by one, a 3-year catch-up spent most of its time
    committing small files. So consecutive deliveries are written together, up to
    ``DUCKDB_WRITE_GROUP_ROWS`` rows (a delivery is never split, so a group holds at least
    one whole delivery of the batch). A group is all-or-nothing, like a file: a failure
    leaves its files untouched for the retry. Two versions of one file never share a group,
    so the later one supersedes the earlier one's committed rows, as it would a day later.
    """
    if dialect != "duckdb":
        for file_write in file_writes:
            yield [file_write]
        return
    group: list[tuple[int, FileWrite]] = []
    group_rows = 0
    names: set[str] = set()
    for position, file_write in file_writes:
        landed = file_write.pending.landed
        delivery_changes = bool(group) and landed.delivery_date != group[-1][1].pending.landed.delivery_date
        if group and (landed.file_name in names or (delivery_changes and group_rows >= DUCKDB_WRITE_GROUP_ROWS)):
            yield group
            group, group_rows, names = [], 0, set()
        group.append((position, file_write))
        group_rows += file_write.pending.prepared.unit_count
        names.add(landed.file_name)
    if group:
        yield group


def kept_rows(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The rows of ``frame`` to write, indexed 0..n-1 (no copy of the rows when all are kept)."""
    if keep.all():
        return frame.reset_index(drop=True)
    return frame.loc[keep].reset_index(drop=True)


def with_lineage(frame: pd.DataFrame, row_numbers: np.ndarray, lineage: dict[str, object]) -> pd.DataFrame:
    """``frame`` plus ``source_row_number`` and the lineage columns, added in one concat
    (``DataFrame.assign`` inserts them one by one, ~0.5 ms each with pandas 3)."""
    extra = pd.DataFrame({"source_row_number": row_numbers, **lineage}, index=frame.index)
    replaced = [column for column in extra.columns if column in frame.columns]  # as assign would
    return pd.concat([frame.drop(columns=replaced) if replaced else frame, extra], axis=1)


def has_part(prepared: PreparedFile, table: str) -> bool:
    return any(part.table == table for part in prepared.parts)


def failed_units(prepared: PreparedFile, failures: list[UnitFailure]) -> set[int]:
    """Units failing a rule, plus units whose parent fails (tenants of a quarantined report)."""
    failed = {failure.unit for failure in failures}
    if prepared.unit_parents is not None and failed:
        failed |= {unit for unit, parent in enumerate(prepared.unit_parents) if parent in failed}
    return failed


def quarantine_frame(prepared: PreparedFile, failures: list[UnitFailure], failed: set[int]) -> pd.DataFrame:
    """One row per (unit, failed rule); a unit quarantined only through its parent gets one row saying so."""
    rows = []
    for failure in failures:
        value = None if failure.value is None else str(failure.value)
        reason = failure.reason
        if value and is_personal(None, failure.column):
            # A reason names the column, never a personal value (the value column keeps it): a
            # rule whose reason quoted one anyway would carry it to pages and alerts.
            reason = mask(reason, [value])
        rows.append((failure.unit, failure.column, value, failure.rule, reason))
    failing = {failure.unit for failure in failures}
    for unit in sorted(failed - failing):
        parent = prepared.unit_parents[unit]
        through_parent = UnitFailure(
            unit,
            rule="parent_row_quarantined",
            reason=f"{prepared.sheet_of(parent) or 'row'} row {prepared.unit_rows[parent]} of this file was "
            "quarantined; this row belongs to it",
        )
        rows.append((unit, None, None, through_parent.rule, through_parent.reason))
    if not rows:
        return pd.DataFrame()
    rows.sort(key=lambda row: row[0])
    records = {unit: prepared.unit_record(unit) for unit in {row[0] for row in rows}}
    return pd.DataFrame(
        {
            "sheet_name": [prepared.sheet_of(row[0]) for row in rows],
            "row_number": [prepared.unit_rows[row[0]] for row in rows],
            "column_name": [row[1] for row in rows],
            "value": [row[2] for row in rows],
            "rule": [row[3] for row in rows],
            "reason": [row[4] for row in rows],
            "record_json": [records[row[0]] for row in rows],
        }
    )
