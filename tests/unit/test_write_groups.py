"""Which validated files share a write transaction (``parkops.pipeline.write_plan.write_groups``).

The warehouse contents do not depend on the grouping (the integration and e2e consistency tests
compare DuckDB, written in groups, with PostgreSQL, written file by file, and with independent
recounts); these tests pin the rules that keep a group safe: whole deliveries, the row budget,
and never two versions of one file in one group.
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
import sqlalchemy as sa

from parkops import warehouse
from parkops.pipeline import write_plan
from parkops.pipeline.discovery import LandedFile
from parkops.pipeline.writer import FileWriter


def file_write(day: str, name: str, rows: int) -> write_plan.FileWrite:
    landed = LandedFile("registrations", day, f"{day}/{name}", f"/landing/{day}/{name}", name, name, 1)
    pending = write_plan.PendingFile(landed, SimpleNamespace(unit_count=rows, unknown_columns=[]), 0.0)
    return write_plan.FileWrite(pending, [], None, write_plan.FileOutcome(landed.source_file, "loaded"))


def grouped(dialect: str, files: list[tuple[str, str, int]]) -> list[list[str]]:
    writes = [(position, file_write(*spec)) for position, spec in enumerate(files)]
    return [
        [write.pending.landed.source_file for _, write in group] for group in write_plan.write_groups(writes, dialect)
    ]


def test_postgresql_writes_every_file_in_a_transaction_of_its_own():
    files = [("2025-03-01", "a.csv", 10), ("2025-03-01", "b.csv", 10), ("2025-03-02", "a2.csv", 10)]
    assert grouped("postgresql", files) == [["2025-03-01/a.csv"], ["2025-03-01/b.csv"], ["2025-03-02/a2.csv"]]


def test_duckdb_groups_whole_deliveries_up_to_the_row_budget(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(write_plan, "DUCKDB_WRITE_GROUP_ROWS", 100)
    files = [
        ("2025-03-01", "a.csv", 60),
        ("2025-03-01", "b.csv", 60),  # over the budget, but a delivery is never split
        ("2025-03-02", "c.csv", 30),
        ("2025-03-03", "d.csv", 30),
        ("2025-03-04", "e.csv", 30),
        ("2025-03-05", "f.csv", 30),  # 90 rows so far: still under the budget, so it joins
        ("2025-03-06", "g.csv", 5),
    ]
    assert grouped("duckdb", files) == [
        ["2025-03-01/a.csv", "2025-03-01/b.csv"],
        ["2025-03-02/c.csv", "2025-03-03/d.csv", "2025-03-04/e.csv", "2025-03-05/f.csv"],
        ["2025-03-06/g.csv"],
    ]


def test_duckdb_budget_of_one_row_makes_every_delivery_a_group(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(write_plan, "DUCKDB_WRITE_GROUP_ROWS", 1)
    files = [("2025-03-01", "a.csv", 5), ("2025-03-01", "b.csv", 5), ("2025-03-02", "c.csv", 5)]
    assert grouped("duckdb", files) == [["2025-03-01/a.csv", "2025-03-01/b.csv"], ["2025-03-02/c.csv"]]


def test_duckdb_never_puts_two_versions_of_one_file_in_a_group():
    """The later version must see the earlier one committed, to supersede it as it would a day later."""
    files = [
        ("2025-03-01", "reg.csv", 5),
        ("2025-03-01", "other.csv", 5),
        ("2025-03-02", "reg.csv", 5),  # a corrected version, delivered the next day
        ("2025-03-02", "more.csv", 5),
    ]
    assert grouped("duckdb", files) == [
        ["2025-03-01/reg.csv", "2025-03-01/other.csv"],
        ["2025-03-02/reg.csv", "2025-03-02/more.csv"],
    ]


def test_a_duckdb_group_writes_one_insert_per_table_and_keeps_unlike_frames_apart(tmp_path):
    """Frames with other columns or dtypes are not concatenated: integers must not become floats."""
    engine = warehouse.create_warehouse_engine(f"duckdb:///{tmp_path / 'w.duckdb'}")
    with engine.begin() as connection:
        connection.execute(sa.text("create schema ops"))
        connection.execute(sa.text("create schema raw"))
        connection.execute(sa.text("create table raw.t (source_file varchar, n varchar, extra varchar)"))
        connection.execute(
            sa.text("create table ops.file_audit (feed varchar, source_file varchar, source_sha256 varchar)")
        )
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    writer = FileWriter(engine, SimpleNamespace(name="registrations"), "run")
    writer._begin_write = lambda connection, landed, started: None

    writes = []
    for day, frame in (
        ("2025-03-01", pd.DataFrame({"source_file": ["x"], "n": [7]})),
        ("2025-03-02", pd.DataFrame({"source_file": ["y", "z"], "n": [8, 9]})),
        ("2025-03-03", pd.DataFrame({"source_file": ["w"], "n": [10], "extra": ["kept"]})),
    ):
        write = file_write(day, f"{day}.csv", len(frame))
        write.writes = [("raw", "t", frame)]
        write.audit = {"feed": "registrations", "source_file": day, "source_sha256": "s"}
        writes.append(write)
    outcomes = writer.write_group(writes)

    assert [outcome.status for outcome in outcomes] == ["loaded"] * 3
    inserts = [statement for statement in statements if statement.lstrip().lower().startswith("insert")]
    assert len([statement for statement in inserts if "raw" in statement]) == 2, inserts
    assert len([statement for statement in inserts if "file_audit" in statement]) == 1, inserts
    with engine.connect() as connection:
        assert connection.execute(sa.text("select source_file, n, extra from raw.t order by n::int")).all() == [
            ("x", "7", None),
            ("y", "8", None),
            ("z", "9", None),
            ("w", "10", "kept"),
        ]
        assert connection.execute(sa.text("select count(*) from ops.file_audit")).scalar_one() == 3
    engine.dispose()
