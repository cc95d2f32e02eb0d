"""File ingestion for a feed: discover -> read -> validate -> quarantine / raw + staging, per file.

:class:`FileLoader` orchestrates one load: each file is read once and prepared, files are
validated together (one GX call per table for a batch of files, then the feed's cross-row
check), then written, and the quality gate decides the deliveries' batches. The parts live in
their own modules: finding files, ``parkops.pipeline.discovery``; what a file version is and
the rules for concurrent runs, ``parkops.pipeline.versions``; what a file writes,
``parkops.pipeline.write_plan``; the writes, ``parkops.pipeline.writer``; the quality gate,
``parkops.pipeline.gate``.

A file that cannot be read (``OSError``: moved away, permission, I/O error) or whose bytes are no
longer those discovered is not the file's fault: nothing is recorded for it, the other files
load, the quality gate leaves its delivery undecided and the load then raises
``SourceFilesUnread`` naming it (transient: Airflow retries). The bytes are read once, checked
against the discovered SHA-256 and parsed from memory, so the recorded hash is that of the bytes
parsed.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from parkops.feeds import Feed, feed
from parkops.ingest.prepared import PendingCheck, UnitFailure, ValidationInputs
from parkops.ingest.readers import FileRejected
from parkops.pipeline.discovery import LandedFile
from parkops.pipeline.errors import SourceFilesUnread
from parkops.pipeline.gate import BatchDecision, GateSettings, decide, load_gate_settings
from parkops.pipeline.versions import recorded_state
from parkops.pipeline.write_plan import FileOutcome, PendingFile, failed_units, has_part, plan_file_write, write_groups
from parkops.pipeline.writer import FileWriter

log = logging.getLogger(__name__)

#: Files are validated together up to this many rows: GX has a fixed cost of ~0.5 s per
#: validation call, which would dominate a catch-up of thousands of small daily files.
VALIDATION_BATCH_ROWS = 200_000


def read_validation_inputs(connection: Connection, landing_feed: Feed) -> ValidationInputs:
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
            **landing_feed.suite_parameters(connection),
        },
        division_sections={row.division_code: row.section_code for row in classes},
    )


class FileChangedSinceDiscovery(OSError):
    """A landed file's bytes are no longer those discovered (still being written, replaced)."""


def _read_as_discovered(landed: LandedFile) -> bytes | None:
    """The file's bytes, read once: they are parsed from memory, so the SHA-256 recorded is that
    of the bytes parsed. Raises ``OSError`` when it cannot be read or its bytes changed.

    None for a file over the size cap (``ingest_limits.max_file_mb``): it is not read into memory;
    the reader refuses it from its path, counting its lines streamed.
    """
    from parkops.ingest.limits import ingest_limits

    if landed.size_bytes > ingest_limits().max_bytes("max_file_mb"):
        return None
    data = Path(landed.path).read_bytes()
    read_sha256 = hashlib.sha256(data).hexdigest()
    if read_sha256 != landed.sha256:
        raise FileChangedSinceDiscovery(
            f"its bytes changed since discovery (SHA-256 {landed.sha256[:12]} then, {read_sha256[:12]} when read); "
            "a new run discovers and loads the current bytes"
        )
    return data


class FileLoader:
    """Loads the files of one feed for one run; holds the per-run reference inputs."""

    def __init__(
        self, engine: Engine, landing_feed: Feed | str, run_id: str, gate_settings: GateSettings | None = None
    ):
        self.engine = engine
        self.feed = feed(landing_feed) if isinstance(landing_feed, str) else landing_feed
        self.run_id = run_id
        self.gate_settings = gate_settings or load_gate_settings(self.feed.name)
        #: The quality gate's decisions of the last ``load_all`` (parkops.pipeline.gate).
        self.gate_decisions: list[BatchDecision] = []
        self.writer = FileWriter(engine, self.feed, run_id)
        #: Files of the current load that could not be read: source file -> what went wrong.
        self._unread: dict[str, str] = {}
        with engine.begin() as connection:
            self.inputs = read_validation_inputs(connection, self.feed)

    def load_all(self, files: list[LandedFile]) -> list[FileOutcome]:
        """Load files in order; outcomes in the same order as ``files``.

        Each file is read and prepared (a file rejected whole is recorded at once), files are
        validated in batches of up to ``VALIDATION_BATCH_ROWS`` rows in one GX call, and then
        written: each file in its own transaction on PostgreSQL, whole deliveries together on
        DuckDB (``parkops.pipeline.write_plan.write_groups``). A failure leaves every file either
        fully loaded or untouched.

        Then the quality gate decides, in one transaction, the batch of every delivery the files
        belong to and of every delivery whose file version a new one replaced
        (:attr:`gate_decisions`); only published batches reach ``core``.

        A file that could not be read is left unrecorded and its delivery undecided; once the
        others are loaded and the gate has decided, :class:`SourceFilesUnread` names them.
        """
        self.writer.superseded_deliveries = set()
        self._unread = {}
        with self.engine.connect() as connection:
            self.writer.connection = connection
            try:
                outcomes = self._load_all(files)
                unread_deliveries = {landed.delivery_date for landed in files if landed.source_file in self._unread}
                deliveries = {landed.delivery_date for landed in files} | self.writer.superseded_deliveries
                with self.writer.transaction() as gate_connection:
                    self.gate_decisions = decide(
                        gate_connection, self.feed.name, deliveries - unread_deliveries, self.run_id, self.gate_settings
                    )
            finally:
                self.writer.connection = None
        if self._unread:
            raise SourceFilesUnread(self._unread)
        return outcomes

    def _load_all(self, files: list[LandedFile]) -> list[FileOutcome]:
        outcomes: dict[int, FileOutcome] = {}
        todo = list(enumerate(files))
        while todo:
            todo = self._load_pass(todo, outcomes)
        return [outcomes[position] for position in range(len(files))]

    def _load_pass(
        self, files: list[tuple[int, LandedFile]], outcomes: dict[int, FileOutcome]
    ) -> list[tuple[int, LandedFile]]:
        """Load ``files`` (position, file) into ``outcomes``; return the files left for another pass.

        A file with the same bytes as one of the validation batch still unwritten waits for the
        next pass: only once that one is written can the lock-protected check tell whether it is
        a duplicate (the other may yet turn out outdated or a duplicate itself, under its locks).
        """
        batch: list[tuple[int, PendingFile]] = []
        batch_rows = 0
        shas_in_batch: set[str] = set()
        deferred: list[tuple[int, LandedFile]] = []
        for position, landed in files:
            started = time.monotonic()
            with self.writer.transaction() as connection:
                recorded = recorded_state(connection, landed)
            if recorded.status is not None or (recorded.newer_delivery is not None and recorded.status_any is not None):
                outcomes[position] = FileOutcome(landed.source_file, "unchanged")
                continue
            if landed.sha256 in shas_in_batch:
                deferred.append((position, landed))
                continue
            if recorded.newer_delivery is not None or recorded.loaded_elsewhere is not None:
                # Fast path, decided again under the file's locks (None: it must be read after all).
                not_loaded = self.writer.record_not_loaded(landed, started)
                if not_loaded is not None:
                    outcomes[position] = not_loaded
                    continue
            try:
                data = _read_as_discovered(landed)
                prepared = self.feed.prepare(Path(landed.path), landed.delivery_date, self.inputs, data)
            except FileRejected as rejection:
                outcomes[position] = self.writer.write_rejected(landed, rejection, started)
                continue
            except OSError as error:  # transient: recorded nowhere, named when the load ends
                outcomes[position] = self._unread_file(landed, error)
                continue
            batch.append((position, PendingFile(landed, prepared, started)))
            shas_in_batch.add(landed.sha256)
            batch_rows += prepared.unit_count
            if batch_rows >= VALIDATION_BATCH_ROWS:
                outcomes.update(self._validate_and_write(batch))
                batch, batch_rows, shas_in_batch = [], 0, set()
        if batch:
            outcomes.update(self._validate_and_write(batch))
        return deferred

    def _unread_file(self, landed: LandedFile, error: OSError) -> FileOutcome:
        problem = f"{type(error).__name__}: {error}"
        self._unread[landed.source_file] = problem
        log.error("%s could not be read, nothing recorded for it (transient, retried): %s", landed.source_file, problem)
        return FileOutcome(landed.source_file, "unread", reason=problem)

    def _validate_and_write(self, batch: list[tuple[int, PendingFile]]) -> dict[int, FileOutcome]:
        """One GX validation per table for the whole batch, then the feed's cross-row check.

        Failures are split back per file by position and turned into failed units; a unit
        fails whole (all its rows in every table) and takes its dependent units with it.
        """
        from parkops.quality.validation import validate_frame  # heavy: GX is imported at execute time only

        failures: dict[int, list[UnitFailure]] = {
            index: list(pending.prepared.failures) for index, (_, pending) in enumerate(batch)
        }
        results_by_table: dict[str, pd.DataFrame] = {}
        for table in self.feed.tables:
            parts = [
                (index, pending.prepared.part(table))
                for index, (_, pending) in enumerate(batch)
                if has_part(pending.prepared, table)
            ]
            frames = [part.normalised for _, part in parts]
            if not frames:
                continue
            owners = np.repeat([index for index, _ in parts], [len(frame) for frame in frames])
            local_rows = np.concatenate([np.arange(len(frame)) for frame in frames])
            combined = pd.concat(frames, ignore_index=True)
            report = validate_frame(combined, table, self.inputs.suite_parameters)
            results_by_table[table] = pd.DataFrame(report.expectation_results).assign(suite_name=table)
            row_failures = report.row_failures
            if row_failures.empty:
                continue
            positions = row_failures["row_number"].to_numpy()
            part_of = dict(parts)
            for owner, row, column, value, rule, reason in zip(
                owners[positions],
                local_rows[positions],
                row_failures["column"],
                row_failures["value"],
                row_failures["rule"],
                row_failures["reason"],
                strict=True,
            ):
                part = part_of[int(owner)]
                shown = part.column_aliases.get(column, column)
                original = (
                    part.originals.iat[int(row), part.originals.columns.get_loc(shown)]
                    if shown in part.originals.columns
                    else value
                )
                failures[int(owner)].append(
                    UnitFailure(int(part.unit[int(row)]), str(rule), str(reason), column=shown, value=original)
                )
        if self.feed.cross_check is not None:
            checks = [
                PendingCheck(
                    pending.landed.source_file,
                    pending.landed.file_name,
                    pending.landed.delivery_date,
                    pending.prepared,
                    failed_units(pending.prepared, failures[index]),
                )
                for index, (_, pending) in enumerate(batch)
            ]
            with self.writer.transaction() as connection:
                for index, extra in self.feed.cross_check(connection, checks).items():
                    failures[index].extend(extra)
        file_writes = [
            (position, plan_file_write(pending, failures[index], results_by_table, self.feed.raw_tables, self.run_id))
            for index, (position, pending) in enumerate(batch)
        ]
        outcomes = {}
        for group in write_groups(file_writes, self.engine.dialect.name):
            written = self.writer.write_group([file_write for _, file_write in group])
            outcomes.update({position: outcome for (position, _), outcome in zip(group, written, strict=True)})
        return outcomes


def outcome_summary(outcomes: list[FileOutcome]) -> dict[str, object]:
    summary: dict[str, object] = {"files": len(outcomes)}
    for status in ("loaded", "rejected", "duplicate", "outdated", "unchanged"):
        summary[f"files_{status}"] = sum(1 for outcome in outcomes if outcome.status == status)
    for field in ("rows_received", "rows_loaded", "rows_quarantined"):
        summary[field] = sum(getattr(outcome, field) for outcome in outcomes)
    summary["rejected"] = [asdict(outcome) for outcome in outcomes if outcome.status == "rejected"]
    return summary


def gate_summary(decisions: list[BatchDecision]) -> dict[str, object]:
    """The quality gate's decisions of a load, for XCom and the asset event."""
    return {
        "batches_published": sum(1 for decision in decisions if decision.status == "published"),
        "batches_released": sum(1 for decision in decisions if decision.status == "released"),
        "held": [decision.as_dict() for decision in decisions if decision.status == "held"],
        "waiting": [decision.delivery_date for decision in decisions if decision.status == "waiting"],
    }
