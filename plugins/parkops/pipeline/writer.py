"""The loader's writes: its transactions, and in them the audit, raw, staging and quarantine rows.

Every write transaction begins under the file's locks (``parkops.pipeline.versions``): the
version is decided again and the versions it replaces are superseded before its rows go in; a
version found outdated or a duplicate then gets that audit row instead (0 rows loaded). What a
file writes is planned before its transaction opens (``parkops.pipeline.write_plan``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import pandas as pd
from sqlalchemy.engine import Connection, Engine

from parkops import warehouse
from parkops.feeds import Feed
from parkops.ingest.readers import FileRejected
from parkops.pipeline import versions
from parkops.pipeline.discovery import LandedFile
from parkops.pipeline.write_plan import (
    FileOutcome,
    FileWrite,
    audit_values,
    quarantine_rows,
    rejected_file_quarantine,
)

log = logging.getLogger(__name__)


class FileWriter:
    """Writes the files of one feed for one run (``parkops.pipeline.ingest.FileLoader``)."""

    def __init__(self, engine: Engine, landing_feed: Feed, run_id: str):
        self.engine = engine
        self.feed = landing_feed
        self.run_id = run_id
        #: The load's one connection while ``FileLoader.load_all`` runs; None: one per transaction.
        self.connection: Connection | None = None
        #: Delivery dates of the versions superseded, whose batches the quality gate decides again.
        self.superseded_deliveries: set[str] = set()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A transaction on the load's one connection (or a fresh one outside ``load_all``).

        One connection for the whole load matters on DuckDB: opening the file and checkpointing
        it on close cost ~70 ms, twice per file otherwise. Every write group commits on its own.
        """
        if self.connection is None:
            with self.engine.begin() as connection:
                yield connection
        else:
            with self.connection.begin():
                yield self.connection

    def record_not_loaded(self, landed: LandedFile, started: float) -> FileOutcome | None:
        """Audit a file version the pre-check found outdated or a duplicate (0 rows, never read),
        once, deciding again under its locks; None when it must be read and loaded after all."""
        with self.transaction() as connection:
            return self._decide_under_lock(connection, landed, started)

    def write_rejected(self, landed: LandedFile, rejection: FileRejected, started: float) -> FileOutcome:
        """A file refused whole: every row it holds is received and quarantined with the file's reason."""
        rows = len(rejection.received_rows)
        quarantine = rejected_file_quarantine(rejection)
        with self.transaction() as connection:
            not_written = self._begin_write(connection, landed, started)
            if not_written is not None:
                return not_written
            self._insert_quarantine(connection, landed, quarantine)
            warehouse.bulk_insert(
                connection,
                "ops",
                "file_audit",
                self._audit_row(
                    landed,
                    started,
                    status="rejected",
                    rows_received=rows,
                    rows_loaded=0,
                    rows_quarantined=rows,
                    rows_counted_by=rejection.counted_by,
                    reason=rejection.reason,
                ),
            )
        log.warning("%s rejected: %s", landed.source_file, rejection.reason)
        return FileOutcome(landed.source_file, "rejected", rows, 0, rows, rejection.reason)

    def write_group(self, file_writes: list[FileWrite]) -> list[FileOutcome]:
        """Write validated files in one transaction, one insert per table and column layout.

        Frames are concatenated only when their columns and dtypes match (a raw file with an
        extra column, or a column typed differently, gets an insert of its own): concatenating
        unlike frames would turn integers into floats and change what lands in ``raw``.
        """
        outcomes: list[FileOutcome] = []
        with self.transaction() as connection:
            inserts: dict[tuple, list[pd.DataFrame]] = {}
            audits = []
            for file_write in file_writes:
                # A file found outdated or a duplicate under its locks gets that audit row instead.
                not_written = self._begin_write(connection, file_write.pending.landed, file_write.pending.started)
                if not_written is not None:
                    outcomes.append(not_written)
                    continue
                outcomes.append(file_write.outcome)
                audits.append(file_write.audit)
                for schema, table, frame in file_write.writes:
                    if not frame.empty:
                        layout = (schema, table, tuple(frame.columns), tuple(str(dtype) for dtype in frame.dtypes))
                        inserts.setdefault(layout, []).append(frame)
            for (schema, table, *_), frames in inserts.items():
                combined = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
                warehouse.bulk_insert(connection, schema, table, combined)
            if audits:
                warehouse.bulk_insert(connection, "ops", "file_audit", pd.DataFrame(audits))
        for file_write, outcome in zip(file_writes, outcomes, strict=True):
            unknown = file_write.pending.prepared.unknown_columns
            if outcome.status == "loaded" and unknown:
                log.warning(
                    "%s: unknown columns kept in raw, ignored downstream: %s",
                    outcome.source_file,
                    ", ".join(unknown),
                )
        return outcomes

    def _decide_under_lock(self, connection: Connection, landed: LandedFile, started: float) -> FileOutcome | None:
        """:func:`versions.decide_under_lock`, its audit row inserted here (outdated, duplicate);
        None: write the file."""
        not_written = versions.decide_under_lock(connection, landed)
        if not_written is None:
            return None
        if not_written.audit_status is None:
            return FileOutcome(landed.source_file, not_written.outcome)
        audit = self._audit_row(
            landed,
            started,
            status=not_written.audit_status,
            rows_received=0,
            rows_loaded=0,
            rows_quarantined=0,
            duplicate_of=not_written.duplicate_of,
            reason=not_written.reason,
        )
        warehouse.bulk_insert(connection, "ops", "file_audit", audit)
        log.info("%s: %s", landed.source_file, not_written.reason)
        return FileOutcome(landed.source_file, not_written.outcome, reason=not_written.reason)

    def _begin_write(self, connection: Connection, landed: LandedFile, started: float) -> FileOutcome | None:
        """Lock, decide again (:meth:`_decide_under_lock`) and supersede older versions of the file.

        None: write this version, in this transaction. Otherwise the file is not written and this
        is its outcome.
        """
        not_written = self._decide_under_lock(connection, landed, started)
        if not_written is not None:
            return not_written
        for old_file, old_sha, old_delivery in versions.older_versions(connection, landed):
            self.superseded_deliveries.add(str(old_delivery))
            versions.supersede(
                connection,
                landed.feed,
                old_file,
                old_sha,
                raw_tables=self.feed.raw_tables,
                staging_tables=self.feed.tables,
                reason=f"replaced by {landed.source_file} ({landed.sha256[:12]})",
                earlier_records_too=True,
            )
            log.info("%s (%s) replaced by %s (%s)", old_file, old_sha[:12], landed.source_file, landed.sha256[:12])
        return None

    def _audit_row(self, landed: LandedFile, started: float, **values: object) -> pd.DataFrame:
        return pd.DataFrame([audit_values(landed, started, self.run_id, **values)])

    def _insert_quarantine(self, connection: Connection, landed: LandedFile, quarantine: pd.DataFrame) -> None:
        if not quarantine.empty:
            warehouse.bulk_insert(connection, "ops", "quarantine", quarantine_rows(landed, quarantine, self.run_id))
