"""File versions: what ``ops.file_audit`` records of a landed file, its locks, and superseding.

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
again inside it, under the file's locks (:func:`decide_under_lock`, called by
``parkops.pipeline.writer`` as each write transaction begins): on PostgreSQL advisory
transaction locks on its name and on its content (SHA-256), taken in key order, so two runs
holding the same name or the same bytes take turns, and under them the audit is read again:
this version recorded already -> nothing; a later delivery of the name recorded -> this one is
``superseded`` (outdated); the same bytes loaded under another name -> ``duplicate``; otherwise
it is written, superseding only versions of its name delivered no later than itself
(:func:`older_versions`, :func:`supersede`). A later delivery therefore wins whichever run
finishes first. DuckDB admits one writer process, which holds the warehouse for a whole load
(the ``warehouse_writer`` pool serialises the tasks).

:func:`supersede` is also how the quality gate prepares a held batch's rerun
(``parkops.pipeline.gate.forget_batch``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from parkops import warehouse
from parkops.pipeline.discovery import LandedFile


@dataclass(frozen=True)
class RecordedState:
    """What ``ops.file_audit`` says of a landed file version before it is read."""

    status: str | None  # its own audit status, superseded records left out
    status_any: str | None  # the same, superseded records included
    newer_delivery: str | None  # the current version of its name, from a later delivery day
    loaded_elsewhere: str | None  # a loaded file with the same bytes under another name or day


def recorded_state(connection: Connection, landed: LandedFile) -> RecordedState:
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
    return RecordedState(*row)


def lock_file(connection: Connection, landed: LandedFile) -> None:
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


@dataclass(frozen=True)
class NotWritten:
    """A file version found under its locks not to be written, and the audit row it gets."""

    outcome: str  # unchanged | outdated | duplicate
    audit_status: str | None = None  # superseded (outdated) | duplicate; None: already recorded
    reason: str | None = None
    duplicate_of: str | None = None


def decide_under_lock(connection: Connection, landed: LandedFile) -> NotWritten | None:
    """Lock the file (name and bytes) and decide from what is recorded now; None: write it.

    The loader's pre-checks (:func:`recorded_state` before the lock) may be stale: a concurrent
    run may since have recorded this version, a later delivery of the name, or the same bytes
    under another name. The caller records the outcome in this transaction.
    """
    lock_file(connection, landed)
    recorded = recorded_state(connection, landed)
    if recorded.status is not None:
        return NotWritten("unchanged")
    if recorded.newer_delivery is not None:
        if recorded.status_any is not None:
            return NotWritten("unchanged")
        reason = f"a newer delivery of this file is loaded ({recorded.newer_delivery}); this older one is not"
        return NotWritten("outdated", "superseded", reason)
    if recorded.loaded_elsewhere is not None:
        reason = f"same bytes as {recorded.loaded_elsewhere}, already loaded; not loaded twice"
        return NotWritten("duplicate", "duplicate", reason, duplicate_of=recorded.loaded_elsewhere)
    return None


def older_versions(connection: Connection, landed: LandedFile) -> list[sa.Row]:
    """(source_file, source_sha256, delivery_date) of the versions of the file's name that this
    version replaces: other bytes, delivered no later than it (a later delivery is ruled out under
    the lock first). In the same delivery folder the bytes on disk are the newest, an earlier
    folder is older."""
    return connection.execute(
        sa.text(
            "select source_file, source_sha256, delivery_date from ops.file_audit "
            "where feed = :feed and file_name = :file_name "
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


def supersede(
    connection: Connection,
    feed_name: str,
    source_file: str,
    source_sha256: str,
    *,
    raw_tables: Iterable[str],
    staging_tables: Iterable[str],
    reason: str,
    earlier_records_too: bool = False,
) -> None:
    """Mark a file version ``superseded`` (with ``reason``) and delete its raw, staging and
    quarantine rows, in the caller's transaction.

    Its audit rows and ``ops.validation_results`` stay: the history of what every version was
    judged on. Only its loaded or rejected audit row is marked (a held batch's rerun), unless
    ``earlier_records_too`` (a replacement by a new version): then every audit row of the version
    is, a ``duplicate`` one included, and rows superseded before (the same bytes loaded again
    after a rerun) take this reason too.
    """
    keys = {"source_file": source_file, "source_sha256": source_sha256}
    for table in raw_tables:
        warehouse.delete_where(connection, "raw", table, keys)
    for table in staging_tables:
        warehouse.delete_where(connection, "staging", table, keys)
    warehouse.delete_where(connection, "ops", "quarantine", {"feed": feed_name, **keys})
    current_only = "" if earlier_records_too else " and status in ('loaded', 'rejected')"
    connection.execute(
        sa.text(
            "update ops.file_audit set status = 'superseded', reason = :reason where feed = :feed "
            f"and source_file = :source_file and source_sha256 = :source_sha256{current_only}"
        ),
        {"feed": feed_name, "reason": reason, **keys},
    )
