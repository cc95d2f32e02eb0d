"""File ingestion for a feed: discover -> read -> validate -> quarantine / raw + staging, per file.

A file is identified by its feed and file name; a version of it by its path and SHA-256.
- a version already recorded in ``ops.file_audit`` is not read again (a rerun changes nothing);
- the same bytes under another name or day are recorded as ``duplicate`` and not loaded twice;
- a new version of a file (same name, new bytes, in the same or a later delivery folder)
  replaces the current one: its raw, staging, quarantine and validation rows are deleted and its
  audit row is marked ``superseded``, in the same transaction that loads the new version;
- an older delivery met after a newer one (a rerun of an old range) is recorded as
  ``superseded`` and never loaded.
Reading and validation happen before the write transaction, so locks are held only briefly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from parkops import warehouse
from parkops.ingest.feeds import FeedSpec, PreparedFile, prepare_table
from parkops.ingest.readers import FileRejected, MalformedRow, RawTable, read_table, row_record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LandedFile:
    feed: str
    delivery_date: str
    source_file: str
    path: str
    file_name: str
    sha256: str
    size_bytes: int


@dataclass
class FileOutcome:
    source_file: str
    status: str  # loaded | rejected | duplicate | outdated | unchanged
    rows_received: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None


def delivery_days(first: dt.date, last: dt.date) -> list[dt.date]:
    if last < first:
        raise ValueError(f"delivery range is empty: {first} is after {last}")
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def discover_files(landing: Path, spec: FeedSpec, days: list[dt.date]) -> list[LandedFile]:
    """Every non-hidden file in the delivery folders of ``days``, in delivery order.

    Files of an unsupported type are listed too: they are rejected with a reason rather than
    silently ignored. A missing delivery folder is not an error here (freshness is checked
    elsewhere); it simply contributes no file.
    """
    files: list[LandedFile] = []
    for day in days:
        folder = landing / spec.landing_folder / day.isoformat()
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.name.startswith((".", "~$")) or not path.is_file():
                continue
            files.append(
                LandedFile(
                    feed=spec.name,
                    delivery_date=day.isoformat(),
                    source_file=path.relative_to(landing).as_posix(),
                    path=str(path),
                    file_name=path.name,
                    sha256=sha256_of(path),
                    size_bytes=path.stat().st_size,
                )
            )
    return files


@dataclass
class ValidationInputs:
    """Reference values the suite checks against, read from the warehouse once per run."""

    suite_parameters: dict[str, object]
    division_sections: dict[str, str]


def read_validation_inputs(connection: Connection) -> ValidationInputs:
    classes = connection.execute(
        sa.text("select class_code, division_code, section_code from core.dim_industry_class")
    ).all()
    parks = connection.execute(sa.text("select park_name from core.dim_park")).scalars().all()
    tags = connection.execute(sa.text("select tag from core.dim_qualification_tag")).scalars().all()
    return ValidationInputs(
        suite_parameters={
            "industry_codes": sorted(row.class_code for row in classes),
            "park_names": sorted(parks),
            "qualification_tags": sorted(tags),
        },
        division_sections={row.division_code: row.section_code for row in classes},
    )


def _audit_status(connection: Connection, landed: LandedFile, *, include_superseded: bool = False) -> str | None:
    """Status recorded for this file version; superseded records count only when asked."""
    return connection.execute(
        sa.text(
            "select min(status) from ops.file_audit where feed = :feed and source_file = :source_file "
            "and source_sha256 = :sha256 and (status <> 'superseded' or :include_superseded)"
        ),
        {
            "feed": landed.feed,
            "source_file": landed.source_file,
            "sha256": landed.sha256,
            "include_superseded": include_superseded,
        },
    ).scalar_one_or_none()


def _loaded_elsewhere(connection: Connection, landed: LandedFile) -> str | None:
    return connection.execute(
        sa.text(
            "select min(source_file) from ops.file_audit where feed = :feed and source_sha256 = :sha256 "
            "and status = 'loaded' and source_file <> :source_file"
        ),
        {"feed": landed.feed, "sha256": landed.sha256, "source_file": landed.source_file},
    ).scalar_one_or_none()


def _newer_delivery_of_same_file(connection: Connection, landed: LandedFile) -> str | None:
    """The current version of this file name, when it was delivered on a later day than ``landed``.

    A file is identified by its feed and name (sources.md: a corrected file is delivered again
    later under the same name and replaces the older). Within one delivery folder the bytes on
    disk are the newest; across folders, the later delivery day wins.
    """
    return connection.execute(
        sa.text(
            "select max(source_file) from ops.file_audit where feed = :feed and file_name = :file_name "
            "and status in ('loaded', 'rejected', 'duplicate') and delivery_date > :delivery_date"
        ),
        {"feed": landed.feed, "file_name": landed.file_name, "delivery_date": landed.delivery_date},
    ).scalar_one_or_none()


def _lock_file(connection: Connection, landed: LandedFile) -> None:
    """Serialise concurrent loads of the same file on PostgreSQL (DuckDB has one writer anyway)."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            sa.text("select pg_advisory_xact_lock(hashtext(:key))"), {"key": f"{landed.feed}:{landed.file_name}"}
        )


def _record_json(raw: pd.DataFrame, row_number: int) -> str:
    record = {key: value for key, value in raw.loc[row_number].items() if value is not None and key != "extra_columns"}
    extra = raw.at[row_number, "extra_columns"]
    if extra:
        record["extra_columns"] = json.loads(extra)
    return json.dumps(record, ensure_ascii=False)


def _malformed_quarantine(
    headers: list[str], malformed_rows: list[MalformedRow], rule: str, prefix: str = ""
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row_number": [row.row_number for row in malformed_rows],
            "column_name": None,
            "value": None,
            "rule": rule,
            "reason": [prefix + row.reason for row in malformed_rows],
            "record_json": [json.dumps(row_record(headers, row.cells), ensure_ascii=False) for row in malformed_rows],
        }
    )


@dataclass
class _PendingFile:
    """A file read and prepared, waiting for validation and its write transaction."""

    landed: LandedFile
    table: RawTable
    prepared: PreparedFile
    started: float


#: Files are validated together up to this many rows: GX has a fixed cost of ~0.5 s per
#: validation call, which would dominate a catch-up of thousands of small daily files.
VALIDATION_BATCH_ROWS = 200_000


class FileLoader:
    """Loads the files of one feed for one run; holds the per-run reference inputs."""

    def __init__(self, engine: Engine, spec: FeedSpec, run_id: str):
        self.engine = engine
        self.spec = spec
        self.run_id = run_id
        with engine.begin() as connection:
            self.inputs = read_validation_inputs(connection)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A transaction on the load's one connection (or a fresh one outside ``load_all``).

        One connection for the whole load matters on DuckDB: opening the file and checkpointing
        it on close cost ~70 ms, twice per file otherwise. Every file still commits on its own.
        """
        if self._connection is None:
            with self.engine.begin() as connection:
                yield connection
        else:
            with self._connection.begin():
                yield self._connection

    def load(self, landed: LandedFile) -> FileOutcome:
        return self.load_all([landed])[0]

    def load_all(self, files: list[LandedFile]) -> list[FileOutcome]:
        """Load files in order; outcomes in the same order as ``files``.

        Each file is read and prepared (a file rejected whole is recorded at once), files are
        validated in batches of up to ``VALIDATION_BATCH_ROWS`` rows in one GX call, and each
        file is then written in its own transaction, so a failure leaves every file either
        fully loaded or untouched.
        """
        with self.engine.connect() as connection:
            self._connection = connection
            try:
                return self._load_all(files)
            finally:
                self._connection = None

    def _load_all(self, files: list[LandedFile]) -> list[FileOutcome]:
        outcomes: dict[int, FileOutcome] = {}
        batch: list[tuple[int, _PendingFile]] = []
        batch_rows = 0
        shas_in_batch: dict[str, str] = {}
        for position, landed in enumerate(files):
            started = time.monotonic()
            with self._transaction() as connection:
                if _audit_status(connection, landed) is not None:
                    outcomes[position] = FileOutcome(landed.source_file, "unchanged")
                    continue
                newer = _newer_delivery_of_same_file(connection, landed)
                if newer is not None:
                    if _audit_status(connection, landed, include_superseded=True) is not None:
                        outcomes[position] = FileOutcome(landed.source_file, "unchanged")
                    else:
                        outcomes[position] = self._write_outdated(landed, newer, started)
                    continue
                duplicate_of = _loaded_elsewhere(connection, landed) or shas_in_batch.get(landed.sha256)
            if duplicate_of is not None:
                outcomes[position] = self._write_duplicate(landed, duplicate_of, started)
                continue
            table: RawTable | None = None
            try:
                table = read_table(Path(landed.path))
                prepared = prepare_table(self.spec, table, landed.delivery_date, self.inputs.division_sections)
            except FileRejected as rejection:
                outcomes[position] = self._write_rejected(landed, rejection, table, started)
                continue
            batch.append((position, _PendingFile(landed, table, prepared, started)))
            shas_in_batch[landed.sha256] = landed.source_file
            batch_rows += len(prepared.normalised)
            if batch_rows >= VALIDATION_BATCH_ROWS:
                outcomes.update(self._validate_and_write(batch))
                batch, batch_rows = [], 0
        if batch:
            outcomes.update(self._validate_and_write(batch))
        return [outcomes[position] for position in range(len(files))]

    # -- validation ----------------------------------------------------------------------------

    def _validate_and_write(self, batch: list[tuple[int, _PendingFile]]) -> dict[int, FileOutcome]:
        """One GX validation for the whole batch; failures are split back per file by position."""
        from parkops.quality.validation import validate_frame  # heavy: GX is imported at execute time only

        frames = [pending.prepared.normalised for _, pending in batch]
        owners = np.repeat(np.arange(len(batch)), [len(frame) for frame in frames])
        row_numbers = np.concatenate([frame.index.to_numpy() for frame in frames]) if frames else np.array([])
        combined = pd.concat(frames, ignore_index=True)
        report = validate_frame(combined, self.spec.suite_name, self.inputs.suite_parameters)
        failures = report.row_failures
        failures_by_file: dict[int, pd.DataFrame] = {}
        if not failures.empty:
            positions = failures["row_number"].to_numpy()
            failures = failures.assign(file_index=owners[positions], row_number=row_numbers[positions])
            failures_by_file = {int(index): group for index, group in failures.groupby("file_index")}
        results = pd.DataFrame(report.expectation_results)
        outcomes = {}
        for batch_index, (position, pending) in enumerate(batch):
            file_failures = failures_by_file.get(batch_index, failures.iloc[0:0])
            outcomes[position] = self._write_loaded(pending, file_failures, results, report.suite_name)
        return outcomes

    # -- writing -------------------------------------------------------------------------------

    def _begin_write(self, connection: Connection, landed: LandedFile) -> bool:
        """Lock, re-check and supersede an older version; False when there is nothing to do."""
        _lock_file(connection, landed)
        if _audit_status(connection, landed) is not None:
            return False
        older = connection.execute(
            sa.text(
                "select source_file, source_sha256 from ops.file_audit where feed = :feed and file_name = :file_name "
                "and status in ('loaded', 'rejected', 'duplicate') and source_sha256 <> :sha256"
            ),
            {"feed": landed.feed, "file_name": landed.file_name, "sha256": landed.sha256},
        ).all()
        for old_file, old_sha in older:
            keys = {"source_file": old_file, "source_sha256": old_sha}
            for schema, table in (("raw", self.spec.name), ("staging", self.spec.name)):
                warehouse.delete_where(connection, schema, table, keys)
            warehouse.delete_where(connection, "ops", "quarantine", {"feed": landed.feed, **keys})
            warehouse.delete_where(connection, "ops", "validation_results", {"feed": landed.feed, **keys})
            connection.execute(
                sa.text(
                    "update ops.file_audit set status = 'superseded', reason = :reason where feed = :feed "
                    "and source_file = :source_file and source_sha256 = :source_sha256"
                ),
                {"feed": landed.feed, "reason": f"replaced by {landed.source_file} ({landed.sha256[:12]})", **keys},
            )
            log.info("%s (%s) replaced by %s (%s)", old_file, old_sha[:12], landed.source_file, landed.sha256[:12])
        return True

    def _audit_row(self, landed: LandedFile, started: float, **values: object) -> pd.DataFrame:
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
            "run_id": self.run_id,
            "processed_at": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" "),
            "duration_seconds": round(time.monotonic() - started, 3),
        }
        row.update(values)
        return pd.DataFrame([row])

    def _write_rejected(
        self, landed: LandedFile, rejection: FileRejected, table: RawTable | None, started: float
    ) -> FileOutcome:
        quarantine = pd.DataFrame()
        rows_received = 0
        if table is not None:
            rows_received = len(table.rows) + len(table.malformed_rows)
            readable = [MalformedRow(number, rejection.reason, cells) for number, cells in table.rows]
            quarantine = _malformed_quarantine(
                table.headers,
                sorted([*readable, *table.malformed_rows], key=lambda row: row.row_number),
                rejection.rule,
                prefix="file rejected: ",
            )
        with self._transaction() as connection:
            if not self._begin_write(connection, landed):
                return FileOutcome(landed.source_file, "unchanged")
            self._insert_quarantine(connection, landed, quarantine)
            warehouse.bulk_insert(
                connection,
                "ops",
                "file_audit",
                self._audit_row(
                    landed,
                    started,
                    status="rejected",
                    encoding=table.encoding if table is not None else None,
                    rows_received=rows_received,
                    rows_loaded=0,
                    rows_quarantined=rows_received,
                    reason=rejection.reason,
                ),
            )
        log.warning("%s rejected: %s", landed.source_file, rejection.reason)
        return FileOutcome(landed.source_file, "rejected", rows_received, 0, rows_received, rejection.reason)

    def _insert_quarantine(self, connection: Connection, landed: LandedFile, quarantine: pd.DataFrame) -> None:
        if quarantine.empty:
            return
        frame = quarantine.assign(
            feed=landed.feed,
            delivery_date=landed.delivery_date,
            source_file=landed.source_file,
            source_sha256=landed.sha256,
            run_id=self.run_id,
        )
        warehouse.bulk_insert(connection, "ops", "quarantine", frame)

    def _write_loaded(
        self, pending: _PendingFile, failures: pd.DataFrame, batch_results: pd.DataFrame, suite_name: str
    ) -> FileOutcome:
        landed, table, prepared = pending.landed, pending.table, pending.prepared
        raw = prepared.raw
        if not failures.empty:
            failures = failures.assign(
                value=[
                    raw.at[number, column] if column in raw.columns else value
                    for number, column, value in zip(
                        failures["row_number"], failures["column"], failures["value"], strict=True
                    )
                ],
                record_json=[_record_json(raw, number) for number in failures["row_number"]],
            ).rename(columns={"column": "column_name"})[
                ["row_number", "column_name", "value", "rule", "reason", "record_json"]
            ]
        malformed = _malformed_quarantine(table.headers, prepared.malformed_rows, "row_field_count")
        parts = [frame for frame in (failures, malformed) if not frame.empty]
        quarantine = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        failed_rows = set(failures["row_number"].tolist()) if not failures.empty else set()
        valid = [number for number in raw.index if number not in failed_rows]
        rows_received = len(raw) + len(prepared.malformed_rows)
        rows_quarantined = len(failed_rows) + len(prepared.malformed_rows)

        lineage = {
            "source_file": landed.source_file,
            "source_sha256": landed.sha256,
            "delivery_date": landed.delivery_date,
            "run_id": self.run_id,
        }
        raw_frame = raw.loc[valid].reset_index().rename(columns={"row_number": "source_row_number"}).assign(**lineage)
        staging_frame = (
            prepared.normalised.loc[valid]
            .drop(columns=["delivery_date"])
            .reset_index()
            .rename(columns={"row_number": "source_row_number"})
            .assign(**lineage)
        )
        results = self._file_results(landed, failures, batch_results, suite_name, len(raw))

        with self._transaction() as connection:
            if not self._begin_write(connection, landed):
                return FileOutcome(landed.source_file, "unchanged")
            warehouse.bulk_insert(connection, "raw", self.spec.name, raw_frame)
            warehouse.bulk_insert(connection, "staging", self.spec.name, staging_frame)
            self._insert_quarantine(connection, landed, quarantine)
            warehouse.bulk_insert(connection, "ops", "validation_results", results)
            warehouse.bulk_insert(
                connection,
                "ops",
                "file_audit",
                self._audit_row(
                    landed,
                    pending.started,
                    status="loaded",
                    encoding=table.encoding,
                    rows_received=rows_received,
                    rows_loaded=len(valid),
                    rows_quarantined=rows_quarantined,
                    unknown_columns=json.dumps(prepared.unknown_columns, ensure_ascii=False)
                    if prepared.unknown_columns
                    else None,
                ),
            )
        if prepared.unknown_columns:
            log.warning(
                "%s: unknown columns kept in raw, ignored downstream: %s",
                landed.source_file,
                ", ".join(prepared.unknown_columns),
            )
        return FileOutcome(landed.source_file, "loaded", rows_received, len(valid), rows_quarantined)

    def _file_results(
        self, landed: LandedFile, failures: pd.DataFrame, batch_results: pd.DataFrame, suite_name: str, rows: int
    ) -> pd.DataFrame:
        """Per-expectation results of this file, derived from the batch validation."""
        if batch_results.empty:
            return batch_results
        unexpected = failures.groupby("rule").size() if not failures.empty else pd.Series(dtype="int64")
        results = batch_results.rename(columns={"column": "column_name"})[
            ["expectation_type", "column_name", "rule"]
        ].copy()
        results["unexpected_count"] = [int(unexpected.get(rule, 0)) for rule in results["rule"]]
        results["success"] = results["unexpected_count"] == 0
        results["element_count"] = rows
        return results.assign(
            feed=landed.feed,
            source_file=landed.source_file,
            source_sha256=landed.sha256,
            suite_name=suite_name,
            run_id=self.run_id,
        )

    def _write_outdated(self, landed: LandedFile, newer: str, started: float) -> FileOutcome:
        """An older delivery of a file whose newer delivery is loaded: recorded, never loaded."""
        reason = f"a newer delivery of this file is loaded ({newer}); this older one is not"
        return self._record_not_loaded(landed, started, "superseded", "outdated", reason, include_superseded=True)

    def _write_duplicate(self, landed: LandedFile, duplicate_of: str, started: float) -> FileOutcome:
        reason = f"same bytes as {duplicate_of}, already loaded; not loaded twice"
        return self._record_not_loaded(landed, started, "duplicate", "duplicate", reason, duplicate_of=duplicate_of)

    def _record_not_loaded(
        self,
        landed: LandedFile,
        started: float,
        status: str,
        outcome: str,
        reason: str,
        *,
        duplicate_of: str | None = None,
        include_superseded: bool = False,
    ) -> FileOutcome:
        """Audit a file version that is deliberately not read (0 rows), once."""
        with self._transaction() as connection:
            _lock_file(connection, landed)
            if _audit_status(connection, landed, include_superseded=include_superseded) is not None:
                return FileOutcome(landed.source_file, "unchanged")
            audit = self._audit_row(
                landed,
                started,
                status=status,
                rows_received=0,
                rows_loaded=0,
                rows_quarantined=0,
                duplicate_of=duplicate_of,
                reason=reason,
            )
            warehouse.bulk_insert(connection, "ops", "file_audit", audit)
        log.info("%s: %s", landed.source_file, reason)
        return FileOutcome(landed.source_file, outcome, reason=reason)


def outcome_summary(outcomes: list[FileOutcome]) -> dict[str, object]:
    summary: dict[str, object] = {"files": len(outcomes)}
    for status in ("loaded", "rejected", "duplicate", "outdated", "unchanged"):
        summary[f"files_{status}"] = sum(1 for outcome in outcomes if outcome.status == status)
    for field in ("rows_received", "rows_loaded", "rows_quarantined"):
        summary[field] = sum(getattr(outcome, field) for outcome in outcomes)
    summary["rejected"] = [asdict(outcome) for outcome in outcomes if outcome.status == "rejected"]
    return summary
