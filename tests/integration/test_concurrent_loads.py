"""Nothing lost, nothing leaked: concurrent ingest runs and files unreadable at read time.

Real task processes (``support.faults``: the ``ingest_files`` task callable, forked from a
preloaded server) race on one warehouse, on both engines:

1. the same bytes delivered under two names on two days (``reg_A.csv`` on 03-04, ``reg_B.csv``
   on 03-05), each loaded by its own run: the rows must be loaded once, the other file recorded as
   a ``duplicate`` of it;
2. an older and a newer delivery of one file (``reg_N.csv``: 25 rows on 03-04, corrected to 20
   rows on 03-05), each loaded by its own run: the newer delivery must win, whichever finishes
   first.

On PostgreSQL both runs do their pre-checks, meet at a barrier before their first file lock
(the window the checks used to leave open) and one then waits until the other has finished: each
order is run. DuckDB admits one writer process: the racers start together, the one that does not
get the file retries as Airflow would, and the order they happen to finish in is checked.

3. a file moved away (or rewritten) between discovery and read: the run loads the other files,
   records nothing for it, fails with a transient error naming it; once the file is back, the
   retry loads it.

After each fault the whole warehouse, marts included, must equal a clean sequential run's in the
same order (``support.faults.comparable_snapshot``).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from conftest import create_postgres_database, drop_postgres_database
from support.faults import (
    accounting_problems,
    comparable_snapshot,
    discovered,
    finish_task,
    killed_on_exit,
    pipeline_env,
    racing_barrier,
    start_racing_ingest_task,
)
from support.landing import write_registration_delivery
from support.pipeline import rows, scalar, snapshot_diff

from parkops.pipeline import tasks
from parkops.pipeline.errors import SourceFilesUnread, is_transient

FEED = "registrations"
STAGING, RAW = "staging.registrations", "raw.registrations"
OLDER, NEWER = dt.date(2025, 3, 4), dt.date(2025, 3, 5)

pytestmark = pytest.mark.timeout(600)


def prepare(url: str, landing: Path) -> None:
    with pipeline_env(url, landing):
        tasks.load_reference_data()


def rebuild(url: str, landing: Path) -> None:
    with pipeline_env(url, landing):
        tasks.rebuild(tasks.plan_families([]))


@contextlib.contextmanager
def fresh_warehouse(engine: str, tmp_path: Path, name: str) -> Iterator[str]:
    if engine == "duckdb":
        yield f"duckdb:///{tmp_path / f'{name}.duckdb'}"
        return
    url = create_postgres_database(f"parkops_{name}")
    try:
        yield url
    finally:
        drop_postgres_database(url)


def clean_sequential_run(engine: str, tmp_path: Path, landing: Path, runs: list[list[dict]]) -> dict:
    """The comparable snapshot of the runs' files loaded one run after the other, then rebuilt."""
    with fresh_warehouse(engine, tmp_path, "clean") as url:
        prepare(url, landing)
        for number, files in enumerate(runs):
            with pipeline_env(url, landing):
                tasks.ingest_files(FEED, files, f"manual__clean_{number}")
        rebuild(url, landing)
        return comparable_snapshot(url)


def engine_of(url: str) -> str:
    return "duckdb" if url.startswith("duckdb") else "postgresql"


# --- the two races ------------------------------------------------------------------------------


def same_bytes_under_two_names(landing: Path) -> list[list[dict]]:
    """reg_A.csv on 03-04 and reg_B.csv on 03-05, byte for byte the same: a run each."""
    original = write_registration_delivery(landing, OLDER, "reg_A.csv", range(1, 26))
    copy = landing / FEED / NEWER.isoformat() / "reg_B.csv"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(original, copy)
    return [discovered(landing, OLDER, OLDER), discovered(landing, NEWER, NEWER)]


def older_and_newer_delivery(landing: Path) -> list[list[dict]]:
    """reg_N.csv: 25 rows delivered on 03-04, corrected to 20 other rows on 03-05: a run each."""
    write_registration_delivery(landing, OLDER, "reg_N.csv", range(1, 26))
    write_registration_delivery(landing, NEWER, "reg_N.csv", range(101, 121))
    return [discovered(landing, OLDER, OLDER), discovered(landing, NEWER, NEWER)]


SCENARIOS = {"same_bytes_under_two_names": same_bytes_under_two_names, "older_and_newer": older_and_newer_delivery}


def race(url: str, landing: Path, work: Path, runs: list[list[dict]], first: int | None) -> list[int]:
    """Both runs as task processes started together; the order (run indexes) they finished in.

    ``first`` (PostgreSQL): both runs pass their pre-checks and meet before their first file
    lock; run ``first`` goes on, the other waits until it has finished. None (DuckDB): no hold.
    """
    start = racing_barrier()
    at_lock = racing_barrier() if first is not None else None
    names = [f"run{index}" for index in range(len(runs))]
    processes = [
        start_racing_ingest_task(
            work,
            names[index],
            url,
            landing,
            FEED,
            files,
            f"manual__race_{index}",
            start,
            before_file_lock=at_lock,
            then_wait_for=None if first in (None, index) else work / f"{names[first]}.result.json",
        )
        for index, files in enumerate(runs)
    ]
    with killed_on_exit(*processes):
        results = [
            finish_task(process, work, name, timeout=300) for process, name in zip(processes, names, strict=True)
        ]
    return sorted(range(len(runs)), key=lambda index: results[index]["finished_at"])


def assert_race_outcome(url: str, scenario: str, runs: list[list[dict]], order: list[int]) -> None:
    """What a sequential load in ``order`` leaves: the first run's file loaded once, the other one
    recorded as a duplicate (same bytes) or the newer delivery loaded and the older superseded."""
    older_file, newer_file = (files[0]["source_file"] for files in runs)
    # A superseded version keeps its validation results by design (the history of what it was judged on).
    kept_history = f"ops.validation_results has rows of {older_file}, which has no current audit row"
    assert [problem for problem in accounting_problems(url, FEED, STAGING, RAW) if problem != kept_history] == []
    audit = {row["source_file"]: row for row in rows(url, "select * from ops.file_audit where feed = 'registrations'")}
    assert len(audit) == 2, audit
    if scenario == "same_bytes_under_two_names":
        winner, other = (runs[order[0]][0]["source_file"], runs[order[1]][0]["source_file"])
        assert (audit[winner]["status"], audit[other]["status"]) == ("loaded", "duplicate"), audit
        assert audit[other]["duplicate_of"] == winner
        assert scalar(url, f"select count(*) from {STAGING}") == 25
        assert scalar(url, "select count(*) from core.fct_registration_events") == 25
    else:
        assert audit[newer_file]["status"] == "loaded", audit
        assert audit[older_file]["status"] == "superseded", audit
        assert scalar(url, f"select count(*) from {STAGING} where source_file = :f", {"f": newer_file}) == 20
        assert scalar(url, f"select count(*) from {STAGING}") == 20
        assert scalar(url, "select count(*) from core.fct_registration_events") == 20


@pytest.mark.postgres
@pytest.mark.parametrize("first", [0, 1], ids=["older_day_first", "newer_day_first"])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_postgres_racing_runs_load_once_and_the_later_delivery_wins(
    postgres_url: str, tmp_path: Path, scenario: str, first: int
) -> None:
    landing = tmp_path / "landing"
    runs = SCENARIOS[scenario](landing)
    prepare(postgres_url, landing)

    order = race(postgres_url, landing, tmp_path / "work", runs, first)

    assert order[0] == first
    rebuild(postgres_url, landing)
    assert_race_outcome(postgres_url, scenario, runs, order)
    clean = clean_sequential_run("postgresql", tmp_path, landing, [runs[index] for index in order])
    assert snapshot_diff(clean, comparable_snapshot(postgres_url)) == []


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_duckdb_racing_runs_take_turns_and_the_outcome_matches_their_order(tmp_path: Path, scenario: str) -> None:
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    landing = tmp_path / "landing"
    runs = SCENARIOS[scenario](landing)
    prepare(url, landing)

    order = race(url, landing, tmp_path / "work", runs, None)

    rebuild(url, landing)
    assert_race_outcome(url, scenario, runs, order)
    clean = clean_sequential_run("duckdb", tmp_path, landing, [runs[index] for index in order])
    assert snapshot_diff(clean, comparable_snapshot(url)) == []


# --- a file unreadable at read time -------------------------------------------------------------


def write_registration_workbook(landing: Path, delivery: dt.date, name: str, numbers: range) -> Path:
    """The rows :func:`write_registration_delivery` writes, as an XLSX workbook."""
    text = write_registration_delivery(landing, delivery, f"{name}.csv", numbers)
    with text.open(encoding="utf-8", newline="") as handle:
        records = list(csv.reader(handle))
    text.unlink()
    workbook = openpyxl.Workbook()
    for record in records:
        workbook.active.append(record)
    path = text.with_name(name)
    workbook.save(path)
    return path


@pytest.mark.parametrize("fault", ["moved_away", "rewritten"])
def test_a_file_unreadable_at_read_time_fails_the_run_loudly_and_the_retry_loads_it(
    warehouse_url: str, tmp_path: Path, fault: str
) -> None:
    url = warehouse_url
    landing = tmp_path / "landing"
    write_registration_delivery(landing, OLDER, "reg_1.csv", range(1, 31))
    workbook = write_registration_workbook(landing, OLDER, "reg_2.xlsx", range(31, 56))
    write_registration_delivery(landing, NEWER, "reg_3.csv", range(61, 81))
    files = discovered(landing, OLDER, NEWER)
    clean = clean_sequential_run(engine_of(url), tmp_path, landing, [files])
    prepare(url, landing)
    delivered = workbook.read_bytes()
    if fault == "moved_away":  # e.g. the sender's tool moving it away and back, or a share unmounted
        workbook.rename(tmp_path / "reg_2.xlsx.aside")
    else:  # rewritten in place after discovery (still being written, or replaced)
        write_registration_workbook(landing, OLDER, "reg_2.xlsx", range(31, 40))

    with pipeline_env(url, landing), pytest.raises(SourceFilesUnread) as failure:
        tasks.ingest_files(FEED, files, "manual__unread")

    assert is_transient(failure.value)  # Airflow retries it
    unread = f"{FEED}/{OLDER.isoformat()}/reg_2.xlsx"
    assert list(failure.value.unread) == [unread]
    assert unread in str(failure.value)
    expected = "FileNotFoundError" if fault == "moved_away" else "changed since discovery"
    assert expected in str(failure.value)
    # Nothing recorded for it; the other files are loaded; its delivery is left undecided.
    statuses = {row["file_name"]: row["status"] for row in rows(url, "select * from ops.file_audit")}
    assert statuses == {"reg_1.csv": "loaded", "reg_3.csv": "loaded"}
    assert scalar(url, "select count(*) from ops.quarantine where source_file = :f", {"f": unread}) == 0
    decided = [str(row["delivery_date"]) for row in rows(url, "select delivery_date from ops.quality_gate_batches")]
    assert decided == [NEWER.isoformat()]

    workbook.write_bytes(delivered)
    (tmp_path / "reg_2.xlsx.aside").unlink(missing_ok=True)
    with pipeline_env(url, landing):
        retry = tasks.ingest_files(FEED, files, "manual__unread")
    assert (retry["files_loaded"], retry["files_unchanged"]) == (1, 2), retry
    rebuild(url, landing)
    assert accounting_problems(url, FEED, STAGING, RAW) == []
    assert snapshot_diff(clean, comparable_snapshot(url)) == []
