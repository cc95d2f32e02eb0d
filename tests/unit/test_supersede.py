"""Superseding a file version (``parkops.pipeline.versions.supersede``), the loader's and the gate's way.

A new version of a file replacing the current one (the loader) and the rerun of a held batch (the
quality gate) both take a version out: its raw, staging and quarantine rows go, its audit row
becomes ``superseded``, its validation results stay. On DuckDB (one file, the real ops DDL).
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd
import pytest
import sqlalchemy as sa

from parkops import warehouse
from parkops.pipeline import gate
from parkops.pipeline.discovery import LandedFile
from parkops.pipeline.writer import FileWriter

FEED = "registrations"
HELD_DAY = "2025-03-10"
#: (source_file, sha256, delivery date) of the version taken out, and of one left alone.
REPLACED = ("registrations/2025-03-10/reg.csv", "a" * 64, HELD_DAY)
KEPT = ("registrations/2025-03-11/other.csv", "b" * 64, "2025-03-11")
#: The tables a version has rows in: minimal raw and staging tables, the real ops ones.
ROW_TABLES = ("raw.t", "staging.t", "ops.quarantine", "ops.validation_results")
EARLIER_REASON = "read again: rerun of the held batch by an earlier operator"


def audit_row(version: tuple[str, str, str], status: str, reason: str | None) -> dict[str, object]:
    source_file, sha256, delivery_date = version
    return {
        "feed": FEED,
        "delivery_date": delivery_date,
        "source_file": source_file,
        "file_name": source_file.rsplit("/", 1)[1],
        "source_sha256": sha256,
        "size_bytes": 10,
        "status": status,
        "rows_received": 1,
        "rows_loaded": 1,
        "rows_quarantined": 0,
        "reason": reason,
        "run_id": "run-1",
        "processed_at": "2025-03-11 08:00:00",
        "duration_seconds": 0.1,
    }


@pytest.fixture
def engine(tmp_path):
    """Two loaded versions with rows everywhere; the replaced one was read once before (a rerun)."""
    engine = warehouse.create_warehouse_engine(f"duckdb:///{tmp_path / 'w.duckdb'}")
    with engine.begin() as connection:
        warehouse.apply_ddl(connection)
        connection.execute(sa.text("create table raw.t (source_file varchar, source_sha256 varchar)"))
        connection.execute(sa.text("create table staging.t (source_file varchar, source_sha256 varchar)"))
        for source_file, sha256, delivery_date in (REPLACED, KEPT):
            lineage = {"source_file": [source_file], "source_sha256": [sha256]}
            warehouse.bulk_insert(connection, "raw", "t", pd.DataFrame(lineage))
            warehouse.bulk_insert(connection, "staging", "t", pd.DataFrame(lineage))
            extra = {"feed": FEED, "rule": "uscc_invalid", "run_id": "run-1"}
            quarantine = {**lineage, **extra, "delivery_date": [delivery_date], "reason": "bad"}
            warehouse.bulk_insert(connection, "ops", "quarantine", pd.DataFrame(quarantine))
            results = {**lineage, **extra, "suite_name": FEED, "expectation_type": "x", "success": False}
            warehouse.bulk_insert(connection, "ops", "validation_results", pd.DataFrame(results))
        audits = [
            audit_row(REPLACED, "superseded", EARLIER_REASON),
            audit_row(REPLACED, "loaded", None),
            audit_row(KEPT, "loaded", None),
        ]
        warehouse.bulk_insert(connection, "ops", "file_audit", pd.DataFrame(audits))
        connection.execute(
            sa.text(
                "insert into ops.quality_gate_batches (feed, delivery_date, status, files, rows_received, "
                "rows_quarantined, max_quarantine_share, min_quarantined_rows, run_id, decided_at) "
                "values (:feed, :day, 'held', 1, 1, 1, 0.05, 1, 'run-1', now())"
            ),
            {"feed": FEED, "day": dt.date.fromisoformat(HELD_DAY)},
        )
    yield engine
    engine.dispose()


def versions_in(connection: sa.Connection) -> dict[str, list[tuple[str, str]]]:
    """(source_file, sha256) of the rows of every row table."""
    return {
        table: sorted(
            tuple(row) for row in connection.execute(sa.text(f"select source_file, source_sha256 from {table}"))
        )
        for table in ROW_TABLES
    }


def audit_of_replaced(connection: sa.Connection) -> list[tuple[str, str]]:
    return sorted(
        tuple(row)
        for row in connection.execute(
            sa.text("select status, reason from ops.file_audit where source_file = :source_file"),
            {"source_file": REPLACED[0]},
        )
    )


def expected_rows() -> dict[str, list[tuple[str, str]]]:
    """The replaced version's rows are gone but for its validation results."""
    replaced, kept = REPLACED[:2], KEPT[:2]
    return {
        "raw.t": [kept],
        "staging.t": [kept],
        "ops.quarantine": [kept],
        "ops.validation_results": sorted([replaced, kept]),
    }


def test_a_new_version_of_a_file_supersedes_the_loaded_one(engine):
    """The loader's write of a new version of reg.csv, at the start of its transaction."""
    new_version = LandedFile(FEED, HELD_DAY, REPLACED[0], f"/landing/{REPLACED[0]}", "reg.csv", "c" * 64, 12)
    writer = FileWriter(engine, SimpleNamespace(name=FEED, raw_tables=("t",), tables=("t",)), "run-2")
    with engine.begin() as connection:
        assert writer._begin_write(connection, new_version, 0.0) is None  # written, in this transaction
    assert writer.superseded_deliveries == {HELD_DAY}
    with engine.connect() as connection:
        assert versions_in(connection) == expected_rows()
        # As the loader always did: the record of the earlier read takes the replacement's reason too.
        replaced_by = f"replaced by {REPLACED[0]} ({'c' * 12})"
        assert audit_of_replaced(connection) == [("superseded", replaced_by), ("superseded", replaced_by)]


def test_a_rerun_of_a_held_batch_supersedes_its_files_the_same_way(engine):
    with engine.begin() as connection:
        files = gate.forget_batch(connection, FEED, HELD_DAY, ["t"], ["t"], "operator", "normaliser fixed")
    assert files == 1
    with engine.connect() as connection:
        assert versions_in(connection) == expected_rows()
        rerun = "read again: rerun of the held batch by operator"
        assert audit_of_replaced(connection) == sorted([("superseded", EARLIER_REASON), ("superseded", rerun)])
