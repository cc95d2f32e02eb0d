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

Concurrent runs (two ingest tasks at once, e.g. a rerun of an old range beside the daily run):
the checks above run first as a fast path, but what a file's write transaction does is decided
again inside it, under the file's locks (:meth:`FileLoader._begin_write`): on PostgreSQL
advisory transaction locks on its name and on its content (SHA-256), taken in key order, so two
runs holding the same name or the same bytes take turns, and under them the audit is read again:
this version recorded already -> nothing; a later delivery of the name recorded -> this one is
``superseded`` (outdated); the same bytes loaded under another name -> ``duplicate``; otherwise
it is written, superseding only versions of its name delivered no later than itself. A later
delivery therefore wins whichever run finishes first. DuckDB admits one writer process, which
holds the warehouse for a whole load (the ``warehouse_writer`` pool serialises the tasks).

A file that cannot be read (``OSError``: moved away, permission, I/O error) or whose bytes are no
longer those discovered is not the file's fault: nothing is recorded for it, the other files
load, the quality gate leaves its delivery undecided and the load then raises
``SourceFilesUnread`` naming it (transient: Airflow retries). The bytes are read once, checked
against the discovered SHA-256 and parsed from memory, so the recorded hash is that of the bytes
parsed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from parkops import warehouse
from parkops.feeds import Feed, feed
from parkops.ingest.prepared import PendingCheck, PreparedFile, UnitFailure, ValidationInputs
from parkops.ingest.readers import COUNTED_PARSED, FileRejected
from parkops.pipeline.errors import SourceFilesUnread
from parkops.pipeline.gate import BatchDecision, GateSettings, decide, load_gate_settings
from parkops.quality.personal_data import is_personal, mask

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
    status: str  # loaded | rejected | duplicate | outdated | unchanged | unread (transient: nothing recorded)
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


def delivery_folders(landing_feed: Feed, days: list[dt.date]) -> list[tuple[str, dt.date]]:
    """(folder name, delivery date) of the delivery folders covering ``days``, in order.

    Daily feeds have a folder per day; monthly feeds (incubator reports) one per month, named
    ``YYYY-MM``, whose delivery date is the month's first day.
    """
    if landing_feed.cadence == "daily":
        return [(day.isoformat(), day) for day in days]
    months = sorted({day.replace(day=1) for day in days})
    return [(month.strftime("%Y-%m"), month) for month in months]


#: A source system's "this file is complete" marker, ``<file>.done``: never a data file.
MARKER_SUFFIX = ".done"


def discover_files(
    landing: Path,
    landing_feed: Feed,
    days: list[dt.date],
    *,
    take: Callable[[Path, dt.date], bool] | None = None,
) -> list[LandedFile]:
    """Every non-hidden file in the delivery folders covering ``days``, in delivery order.

    Files of an unsupported type are listed too: they are rejected with a reason rather than
    silently ignored. A missing delivery folder is not an error here (freshness is checked
    elsewhere); it simply contributes no file. Completion markers (``*.done``) are not data
    files. ``take`` (path, delivery date), when given, decides which files are taken, before
    they are read (``parkops.pipeline.settle``: only files completely uploaded).
    """
    files: list[LandedFile] = []
    for folder_name, delivery in delivery_folders(landing_feed, days):
        folder = landing / landing_feed.landing_folder / folder_name
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.name.startswith((".", "~$")) or path.name.endswith(MARKER_SUFFIX) or not path.is_file():
                continue
            if take is not None and not take(path, delivery):
                continue
            files.append(
                LandedFile(
                    feed=landing_feed.name,
                    delivery_date=delivery.isoformat(),
                    source_file=path.relative_to(landing).as_posix(),
                    path=str(path),
                    file_name=path.name,
                    sha256=sha256_of(path),
                    size_bytes=path.stat().st_size,
                )
            )
    return files


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


@dataclass(frozen=True)
class _RecordedState:
    """What ``ops.file_audit`` says of a landed file version before it is read."""

    status: str | None  # its own audit status, superseded records left out
    status_any: str | None  # the same, superseded records included
    newer_delivery: str | None  # the current version of its name, from a later delivery day
    loaded_elsewhere: str | None  # a loaded file with the same bytes under another name or day


def _recorded_state(connection: Connection, landed: LandedFile) -> _RecordedState:
    """Its own audit status (both ways), a newer delivery of its name and the same bytes loaded
    elsewhere, in one statement: a catch-up asks them of thousands of files, and
    on DuckDB a statement costs ~2 ms whatever it reads."""
    row = connection.execute(
        sa.text(
            "select "
            "(select min(status) from ops.file_audit where feed = :feed and source_file = :source_file "
            " and source_sha256 = :sha256 and status <> 'superseded'), "
            "(select min(status) from ops.file_audit where feed = :feed and source_file = :source_file "
            " and source_sha256 = :sha256), "
            "(select max(source_file) from ops.file_audit where feed = :feed and file_name = :file_name "
            " and status in ('loaded', 'rejected', 'duplicate') and delivery_date > :delivery_date), "
            "(select min(source_file) from ops.file_audit where feed = :feed and source_sha256 = :sha256 "
            " and status = 'loaded' and source_file <> :source_file)"
        ),
        {
            "feed": landed.feed,
            "source_file": landed.source_file,
            "sha256": landed.sha256,
            "file_name": landed.file_name,
            "delivery_date": landed.delivery_date,
        },
    ).one()
    return _RecordedState(*row)


def _lock_file(connection: Connection, landed: LandedFile) -> None:
    """Serialise concurrent writes of the same file name or the same bytes on PostgreSQL, until
    the transaction ends (DuckDB has one writer process anyway).

    Two advisory locks, on the name and on the content, always taken in ascending key order: a
    run writing (name A, bytes X) and one writing (name B, bytes X) wait on X, two versions of A
    wait on A, and no two transactions can each hold one key the other waits for.
    """
    if connection.dialect.name != "postgresql":
        return
    keys = connection.execute(
        sa.text("select hashtext(:name), hashtext(:content)"),
        {"name": f"{landed.feed}:{landed.file_name}", "content": f"{landed.feed}:sha256:{landed.sha256}"},
    ).one()
    for key in sorted(set(keys)):
        connection.execute(sa.text("select pg_advisory_xact_lock(:key)"), {"key": key})


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


@dataclass
class _PendingFile:
    """A file read and prepared, waiting for validation and its write transaction."""

    landed: LandedFile
    prepared: PreparedFile
    started: float


#: Files are validated together up to this many rows: GX has a fixed cost of ~0.5 s per
#: validation call, which would dominate a catch-up of thousands of small daily files.
VALIDATION_BATCH_ROWS = 200_000

#: On DuckDB, validated files are written in groups of whole deliveries up to this many rows,
#: one transaction and one insert per table a group (see :meth:`FileLoader._write_groups`).
DUCKDB_WRITE_GROUP_ROWS = 50_000


@dataclass
class _FileWrite:
    """Everything one validated file writes, built before its transaction opens."""

    pending: _PendingFile
    writes: list[tuple[str, str, pd.DataFrame]]
    audit: dict[str, object]
    outcome: FileOutcome


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
        self._connection: Connection | None = None
        self._superseded_deliveries: set[str] = set()
        #: Files of the current load that could not be read: source file -> what went wrong.
        self._unread: dict[str, str] = {}
        with engine.begin() as connection:
            self.inputs = read_validation_inputs(connection, self.feed)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A transaction on the load's one connection (or a fresh one outside ``load_all``).

        One connection for the whole load matters on DuckDB: opening the file and checkpointing
        it on close cost ~70 ms, twice per file otherwise. Every write group commits on its own.
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
        validated in batches of up to ``VALIDATION_BATCH_ROWS`` rows in one GX call, and then
        written: each file in its own transaction on PostgreSQL, whole deliveries together on
        DuckDB (:meth:`_write_groups`). A failure leaves every file either fully loaded or
        untouched.

        Then the quality gate decides, in one transaction, the batch of every delivery the files
        belong to and of every delivery whose file version a new one replaced
        (:attr:`gate_decisions`); only published batches reach ``core``.

        A file that could not be read is left unrecorded and its delivery undecided; once the
        others are loaded and the gate has decided, :class:`SourceFilesUnread` names them.
        """
        self._superseded_deliveries = set()
        self._unread = {}
        with self.engine.connect() as connection:
            self._connection = connection
            try:
                outcomes = self._load_all(files)
                unread_deliveries = {landed.delivery_date for landed in files if landed.source_file in self._unread}
                deliveries = {landed.delivery_date for landed in files} | self._superseded_deliveries
                with self._transaction() as gate_connection:
                    self.gate_decisions = decide(
                        gate_connection, self.feed.name, deliveries - unread_deliveries, self.run_id, self.gate_settings
                    )
            finally:
                self._connection = None
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
        batch: list[tuple[int, _PendingFile]] = []
        batch_rows = 0
        shas_in_batch: set[str] = set()
        deferred: list[tuple[int, LandedFile]] = []
        for position, landed in files:
            started = time.monotonic()
            with self._transaction() as connection:
                recorded = _recorded_state(connection, landed)
            if recorded.status is not None or (recorded.newer_delivery is not None and recorded.status_any is not None):
                outcomes[position] = FileOutcome(landed.source_file, "unchanged")
                continue
            if landed.sha256 in shas_in_batch:
                deferred.append((position, landed))
                continue
            if recorded.newer_delivery is not None or recorded.loaded_elsewhere is not None:
                # Fast path, decided again under the file's locks (None: it must be read after all).
                not_loaded = self._record_not_loaded(landed, started)
                if not_loaded is not None:
                    outcomes[position] = not_loaded
                    continue
            try:
                data = _read_as_discovered(landed)
                prepared = self.feed.prepare(Path(landed.path), landed.delivery_date, self.inputs, data)
            except FileRejected as rejection:
                outcomes[position] = self._write_rejected(landed, rejection, started)
                continue
            except OSError as error:  # transient: recorded nowhere, named when the load ends
                outcomes[position] = self._unread_file(landed, error)
                continue
            batch.append((position, _PendingFile(landed, prepared, started)))
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

    # -- validation ----------------------------------------------------------------------------

    def _validate_and_write(self, batch: list[tuple[int, _PendingFile]]) -> dict[int, FileOutcome]:
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
                if _has_part(pending.prepared, table)
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
                    _failed_units(pending.prepared, failures[index]),
                )
                for index, (_, pending) in enumerate(batch)
            ]
            with self._transaction() as connection:
                for index, extra in self.feed.cross_check(connection, checks).items():
                    failures[index].extend(extra)
        file_writes = [
            (position, self._file_write(pending, failures[index], results_by_table))
            for index, (position, pending) in enumerate(batch)
        ]
        outcomes = {}
        for group in self._write_groups(file_writes):
            written = self._write_group([file_write for _, file_write in group])
            outcomes.update({position: outcome for (position, _), outcome in zip(group, written, strict=True)})
        return outcomes

    def _write_groups(self, file_writes: list[tuple[int, _FileWrite]]) -> Iterator[list[tuple[int, _FileWrite]]]:
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
        if self.engine.dialect.name != "duckdb":
            for file_write in file_writes:
                yield [file_write]
            return
        group: list[tuple[int, _FileWrite]] = []
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

    # -- writing -------------------------------------------------------------------------------

    def _decide_under_lock(self, connection: Connection, landed: LandedFile, started: float) -> FileOutcome | None:
        """Lock the file (name and bytes) and decide from what is recorded now; None: write it.

        The pre-checks of :meth:`_load_pass` ran before the lock and may be stale: a concurrent
        run may since have recorded this version, a later delivery of the name, or the same
        bytes under another name. Otherwise the outcome: ``unchanged``, or ``outdated`` /
        ``duplicate`` with its audit row inserted here, in the caller's transaction.
        """
        _lock_file(connection, landed)
        recorded = _recorded_state(connection, landed)
        if recorded.status is not None:
            return FileOutcome(landed.source_file, "unchanged")
        if recorded.newer_delivery is not None:
            if recorded.status_any is not None:
                return FileOutcome(landed.source_file, "unchanged")
            reason = f"a newer delivery of this file is loaded ({recorded.newer_delivery}); this older one is not"
            return self._insert_not_loaded(connection, landed, started, "superseded", "outdated", reason)
        if recorded.loaded_elsewhere is not None:
            reason = f"same bytes as {recorded.loaded_elsewhere}, already loaded; not loaded twice"
            return self._insert_not_loaded(
                connection, landed, started, "duplicate", "duplicate", reason, duplicate_of=recorded.loaded_elsewhere
            )
        return None

    def _begin_write(self, connection: Connection, landed: LandedFile, started: float) -> FileOutcome | None:
        """Lock, decide again (:meth:`_decide_under_lock`) and supersede older versions of the file.

        None: write this version, in this transaction. Only versions delivered no later than this
        one are superseded (a later delivery was ruled out under the lock just before): in the
        same delivery folder the bytes on disk are the newest, an earlier folder is older.
        Otherwise the file is not written and this is its outcome.
        """
        not_written = self._decide_under_lock(connection, landed, started)
        if not_written is not None:
            return not_written
        older = connection.execute(
            sa.text(
                "select source_file, source_sha256 from ops.file_audit where feed = :feed and file_name = :file_name "
                "and status in ('loaded', 'rejected', 'duplicate') and source_sha256 <> :sha256 "
                "and delivery_date <= :delivery_date"
            ),
            {
                "feed": landed.feed,
                "file_name": landed.file_name,
                "sha256": landed.sha256,
                "delivery_date": landed.delivery_date,
            },
        ).all()
        for old_file, old_sha in older:
            self._superseded_deliveries.update(
                str(day)
                for day in connection.execute(
                    sa.text(
                        "select delivery_date from ops.file_audit where feed = :feed and source_file = :source_file "
                        "and source_sha256 = :source_sha256"
                    ),
                    {"feed": landed.feed, "source_file": old_file, "source_sha256": old_sha},
                ).scalars()
            )
            keys = {"source_file": old_file, "source_sha256": old_sha}
            for table in self.feed.raw_tables:
                warehouse.delete_where(connection, "raw", table, keys)
            for table in self.feed.tables:
                warehouse.delete_where(connection, "staging", table, keys)
            warehouse.delete_where(connection, "ops", "quarantine", {"feed": landed.feed, **keys})
            # ops.validation_results stays: it is the history of what every version was judged on.
            connection.execute(
                sa.text(
                    "update ops.file_audit set status = 'superseded', reason = :reason where feed = :feed "
                    "and source_file = :source_file and source_sha256 = :source_sha256"
                ),
                {"feed": landed.feed, "reason": f"replaced by {landed.source_file} ({landed.sha256[:12]})", **keys},
            )
            log.info("%s (%s) replaced by %s (%s)", old_file, old_sha[:12], landed.source_file, landed.sha256[:12])
        return None

    def _audit_row(self, landed: LandedFile, started: float, **values: object) -> pd.DataFrame:
        return pd.DataFrame([self._audit_values(landed, started, **values)])

    def _audit_values(self, landed: LandedFile, started: float, **values: object) -> dict[str, object]:
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
            "run_id": self.run_id,
            "processed_at": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" "),
            "duration_seconds": round(time.monotonic() - started, 3),
        }
        row.update(values)
        return row

    def _write_rejected(self, landed: LandedFile, rejection: FileRejected, started: float) -> FileOutcome:
        """A file refused whole: every row it holds is received and quarantined with the file's reason
        (rows as the rejection counted them: parsed, text lines, sheet rows, or the file as one row)."""
        rows = rejection.received_rows
        quarantine = pd.DataFrame(
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
        with self._transaction() as connection:
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
                    rows_received=len(rows),
                    rows_loaded=0,
                    rows_quarantined=len(rows),
                    rows_counted_by=rejection.counted_by,
                    reason=rejection.reason,
                ),
            )
        log.warning("%s rejected: %s", landed.source_file, rejection.reason)
        return FileOutcome(landed.source_file, "rejected", len(rows), 0, len(rows), rejection.reason)

    def _quarantine_rows(self, landed: LandedFile, quarantine: pd.DataFrame) -> pd.DataFrame:
        return quarantine.assign(
            feed=landed.feed,
            delivery_date=landed.delivery_date,
            source_file=landed.source_file,
            source_sha256=landed.sha256,
            run_id=self.run_id,
        )

    def _insert_quarantine(self, connection: Connection, landed: LandedFile, quarantine: pd.DataFrame) -> None:
        if not quarantine.empty:
            warehouse.bulk_insert(connection, "ops", "quarantine", self._quarantine_rows(landed, quarantine))

    def _file_write(
        self, pending: _PendingFile, failures: list[UnitFailure], batch_results: dict[str, pd.DataFrame]
    ) -> _FileWrite:
        """The raw, staging, quarantine, validation and audit rows of one validated file."""
        landed, prepared = pending.landed, pending.prepared
        failed_units = _failed_units(prepared, failures)
        lineage = {
            "source_file": landed.source_file,
            "source_sha256": landed.sha256,
            "delivery_date": landed.delivery_date,
            "run_id": self.run_id,
        }
        unit_rows = np.asarray(prepared.unit_rows, dtype=np.int64)
        writes: list[tuple[str, str, pd.DataFrame]] = []
        for part in prepared.parts:
            keep = ~np.isin(part.unit, list(failed_units)) if failed_units else np.ones(len(part.unit), dtype=bool)
            row_numbers = unit_rows[part.unit[keep]] if len(part.unit) else np.array([], dtype=np.int64)
            if part.raw is not None and part.table in self.feed.raw_tables:
                raw = _kept_rows(part.raw, keep)
                writes.append(("raw", part.table, _with_lineage(raw, row_numbers, lineage)))
            staging = _kept_rows(part.normalised.drop(columns=list(part.helper_columns)), keep)
            writes.append(("staging", part.table, _with_lineage(staging, row_numbers, lineage)))
        quarantine = _quarantine_frame(prepared, failures, failed_units)
        if not quarantine.empty:
            writes.append(("ops", "quarantine", self._quarantine_rows(landed, quarantine)))
        results = self._file_results(landed, prepared, failures, batch_results)
        if not results.empty:
            writes.append(("ops", "validation_results", results))
        rows_received = prepared.unit_count
        rows_quarantined = len(failed_units)
        rows_loaded = rows_received - rows_quarantined
        audit = self._audit_values(
            landed,
            pending.started,
            status="loaded",
            encoding=prepared.encoding,
            rows_received=rows_received,
            rows_loaded=rows_loaded,
            rows_quarantined=rows_quarantined,
            rows_counted_by=COUNTED_PARSED,
            unknown_columns=json.dumps(prepared.unknown_columns, ensure_ascii=False)
            if prepared.unknown_columns
            else None,
        )
        outcome = FileOutcome(landed.source_file, "loaded", rows_received, rows_loaded, rows_quarantined)
        return _FileWrite(pending, writes, audit, outcome)

    def _write_group(self, file_writes: list[_FileWrite]) -> list[FileOutcome]:
        """Write validated files in one transaction, one insert per table and column layout.

        Frames are concatenated only when their columns and dtypes match (a raw file with an
        extra column, or a column typed differently, gets an insert of its own): concatenating
        unlike frames would turn integers into floats and change what lands in ``raw``.
        """
        outcomes: list[FileOutcome] = []
        with self._transaction() as connection:
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

    def _file_results(
        self,
        landed: LandedFile,
        prepared: PreparedFile,
        failures: list[UnitFailure],
        batch_results: dict[str, pd.DataFrame],
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
            if results.empty or not _has_part(prepared, table):
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
        return pd.DataFrame({**columns, **lineage, "run_id": self.run_id})

    def _record_not_loaded(self, landed: LandedFile, started: float) -> FileOutcome | None:
        """Audit a file version the pre-check found outdated or a duplicate (0 rows, never read),
        once, deciding again under its locks; None when it must be read and loaded after all."""
        with self._transaction() as connection:
            return self._decide_under_lock(connection, landed, started)

    def _insert_not_loaded(
        self,
        connection: Connection,
        landed: LandedFile,
        started: float,
        status: str,
        outcome: str,
        reason: str,
        *,
        duplicate_of: str | None = None,
    ) -> FileOutcome:
        """The audit row of a file version deliberately not read (0 rows), in the caller's transaction."""
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


def _kept_rows(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The rows of ``frame`` to write, indexed 0..n-1 (no copy of the rows when all are kept)."""
    if keep.all():
        return frame.reset_index(drop=True)
    return frame.loc[keep].reset_index(drop=True)


def _with_lineage(frame: pd.DataFrame, row_numbers: np.ndarray, lineage: dict[str, object]) -> pd.DataFrame:
    """``frame`` plus ``source_row_number`` and the lineage columns, added in one concat
    (``DataFrame.assign`` inserts them one by one, ~0.5 ms each with pandas 3)."""
    extra = pd.DataFrame({"source_row_number": row_numbers, **lineage}, index=frame.index)
    replaced = [column for column in extra.columns if column in frame.columns]  # as assign would
    return pd.concat([frame.drop(columns=replaced) if replaced else frame, extra], axis=1)


def _has_part(prepared: PreparedFile, table: str) -> bool:
    return any(part.table == table for part in prepared.parts)


def _failed_units(prepared: PreparedFile, failures: list[UnitFailure]) -> set[int]:
    """Units failing a rule, plus units whose parent fails (tenants of a quarantined report)."""
    failed = {failure.unit for failure in failures}
    if prepared.unit_parents is not None and failed:
        failed |= {unit for unit, parent in enumerate(prepared.unit_parents) if parent in failed}
    return failed


def _quarantine_frame(prepared: PreparedFile, failures: list[UnitFailure], failed_units: set[int]) -> pd.DataFrame:
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
    for unit in sorted(failed_units - failing):
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
