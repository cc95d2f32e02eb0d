"""Fault injection, for real: killed connections and processes, concurrent runs, held locks.

Every scenario loads the registrations generated for four delivery days (7 files), breaks the
load (in the middle of a file's write transaction where it is killed: some files committed, not
all), checks what the fault left (committed files whole, the interrupted one absent, the
accounting intact), runs the retry Airflow would run (same task callable, same files, same run
id) and compares the whole warehouse, marts included, with a clean single run's
(``support.faults.comparable_snapshot``):

1. PostgreSQL: the loader's backend terminated (``pg_terminate_backend``) mid-file; a lock wait
   timing out inside a file's COPY;
2. the task process SIGKILLed mid-file, on PostgreSQL and on DuckDB (WAL recovery);
3. PostgreSQL: two runs over overlapping delivery ranges at once, then two rebuilds at once;
4. DuckDB: the file held open read-write by another process.

How the load is stopped mid-file without sleeps: ``support.faults`` (module docstring).
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from conftest import create_postgres_database, drop_postgres_database
from support.faults import (
    MidFileTrap,
    accounting_problems,
    admin_engine,
    audited_files,
    backend_gone,
    comparable_snapshot,
    discovered,
    finish_task,
    kill_task,
    killed_on_exit,
    lock_table,
    pipeline_env,
    rows_of_file,
    start_ingest_task,
    task_log,
    wait_for,
    waiting_on_lock,
    with_application_name,
)
from support.pipeline import generate_landing, snapshot, snapshot_diff

from parkops.dag_factory import DEFAULT_ARGS
from parkops.pipeline import tasks, transform
from parkops.pipeline.errors import is_transient
from parkops.warehouse import create_warehouse_engine

FEED = "registrations"
STAGING, RAW = "staging.registrations", "raw.registrations"
LINEAGE_TABLES = (RAW, STAGING, "ops.quarantine", "ops.validation_results")
#: Four delivery days: 7 registration files (3 on the first day), 1,765 rows.
FIRST, LAST = dt.date(2025, 3, 3), dt.date(2025, 3, 6)
#: Overlapping ranges of the concurrent runs: days 1-3 and 2-4.
RANGE_A, RANGE_B = (FIRST, dt.date(2025, 3, 5)), (dt.date(2025, 3, 4), LAST)
RUN_ID = "manual__fault"

pytestmark = pytest.mark.timeout(300)


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_landing(tmp_path_factory.mktemp("fault_landing"), FIRST, LAST)


@pytest.fixture(scope="module")
def landed_files(landing: Path) -> list[dict]:
    return discovered(landing, FIRST, LAST)


@pytest.fixture(scope="module")
def kill_at(landed_files: list[dict]) -> int:
    """Position of the file whose write transaction is interrupted: the second day's first file."""
    position = next(index for index, file in enumerate(landed_files) if file["delivery_date"] != FIRST.isoformat())
    assert 1 <= position <= len(landed_files) - 2, "the generated range no longer has files before and after"
    return position


def prepare(url: str, landing: Path) -> None:
    """The DAG's load_reference_data task: DDL and seeds, before any ingest."""
    with pipeline_env(url, landing):
        tasks.load_reference_data()


def rebuild(url: str, landing: Path) -> dict[str, int]:
    """build_marts' rebuild task (a manual run: every family)."""
    with pipeline_env(url, landing):
        return tasks.rebuild(tasks.plan_families([]))


@pytest.fixture(scope="module")
def clean_state(
    landing: Path, landed_files: list[dict], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], dict[str, list[tuple]]]:
    """The comparable snapshot of a clean single run per engine, built on first use."""
    cache: dict[str, dict[str, list[tuple]]] = {}

    def state(engine: str) -> dict[str, list[tuple]]:
        if engine not in cache:
            if engine == "duckdb":
                url = f"duckdb:///{tmp_path_factory.mktemp('clean') / 'warehouse.duckdb'}"
            else:
                url = create_postgres_database("parkops_faults_clean")
            try:
                prepare(url, landing)
                with pipeline_env(url, landing):
                    summary = tasks.ingest_files(FEED, landed_files, "manual__clean")
                assert summary["files_loaded"] == len(landed_files), summary
                rebuild(url, landing)
                assert accounting_problems(url, FEED, STAGING, RAW) == []
                cache[engine] = comparable_snapshot(url)
            finally:
                if engine == "postgresql":
                    drop_postgres_database(url)
        return cache[engine]

    return state


def assert_equals_clean_run(url: str, clean: dict[str, list[tuple]]) -> None:
    state = comparable_snapshot(url)
    # The comparison means something only if the clean run published rows up to the marts.
    assert clean["core.fct_registration_events"] and clean["mart.daily_new_tech_enterprises"]
    assert snapshot_diff(clean, state) == []


def assert_stopped_mid_load(url: str, landed_files: list[dict], kill_at: int) -> None:
    """The files before the interrupted one committed whole, the interrupted one and later absent
    (on DuckDB the interrupted transaction holds the interrupted file's whole delivery)."""
    assert audited_files(url, FEED) == [file["source_file"] for file in landed_files[:kill_at]]
    for later in landed_files[kill_at:]:
        assert rows_of_file(url, LINEAGE_TABLES, later["source_file"]) == dict.fromkeys(LINEAGE_TABLES, 0), later
    assert accounting_problems(url, FEED, STAGING, RAW) == []


def causes(error: BaseException | None) -> Iterator[BaseException]:
    """The error and the ones it was raised from or while handling."""
    while error is not None:
        yield error
        error = error.__cause__ or error.__context__


def assert_retry_completed(summary: dict[str, Any], landed_files: list[dict], kill_at: int) -> None:
    assert summary["files_unchanged"] == kill_at, summary
    assert summary["files_loaded"] == len(landed_files) - kill_at, summary


# --- 1. PostgreSQL connection killed mid-load ---------------------------------------------------


@pytest.mark.postgres
def test_postgres_backend_terminated_mid_file_fails_transient_and_the_retry_equals_a_clean_run(
    postgres_url: str,
    landing: Path,
    landed_files: list[dict],
    kill_at: int,
    clean_state: Callable[[str], dict],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = postgres_url
    prepare(url, landing)
    loader = "parkops_fault_loader"
    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", with_application_name(url, loader))
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(landing))
    target = landed_files[kill_at]
    # The trap leaves first (releasing its locks), then the pool waits for the load: a failing
    # test cannot leave the load blocked.
    with ThreadPoolExecutor(1) as pool, MidFileTrap(url, FEED, target["file_name"]) as trap:
        load = pool.submit(tasks.ingest_files, FEED, landed_files, RUN_ID)
        trap.wait_at_file(loader)
        assert len(audited_files(url, FEED)) == kill_at
        pid = trap.wait_inside_file(loader, STAGING)
        assert trap.observer.execute(sa.text("select pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
        trap.release_audit()
        error = load.exception(timeout=60)
        wait_for("the terminated backend to go", lambda: backend_gone(trap.observer, pid))

    # The task fails with an error Airflow retries, not AirflowFailException.
    assert isinstance(error, sa.exc.OperationalError), repr(error)
    # The kill surfaces as AdminShutdown inside the COPY, then "connection lost" on the rollback.
    assert any(isinstance(cause, psycopg.errors.AdminShutdown) for cause in causes(error)), list(causes(error))
    assert is_transient(error)
    assert_stopped_mid_load(url, landed_files, kill_at)

    summary = tasks.ingest_files(FEED, landed_files, RUN_ID)  # the retry: same files, same run id
    assert_retry_completed(summary, landed_files, kill_at)
    rebuild(url, landing)
    assert accounting_problems(url, FEED, STAGING, RAW) == []
    assert_equals_clean_run(url, clean_state("postgresql"))


@pytest.mark.postgres
def test_postgres_lock_wait_timeout_inside_a_file_is_transient_and_leaves_nothing(
    postgres_url: str,
    landing: Path,
    landed_files: list[dict],
    clean_state: Callable[[str], dict],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A writer holding a table the load writes, with a lock_timeout set (a usual production guard).

    The wait times out inside the first file's COPY, i.e. in psycopg, outside SQLAlchemy: the
    error must still be transient (a lock held by another writer passes), and nothing is written.
    """
    url = postgres_url
    prepare(url, landing)
    loader_url = sa.make_url(with_application_name(url, "parkops_fault_loader")).update_query_dict(
        {"options": "-c lock_timeout=1000"}
    )
    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", loader_url.render_as_string(hide_password=False))
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(landing))
    engine = admin_engine(url)
    holder = lock_table(engine, "ops.file_audit", "exclusive")
    try:
        with pytest.raises(Exception) as failure:  # noqa: PT011 (the type is what is checked below)
            tasks.ingest_files(FEED, landed_files, RUN_ID)
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    error = failure.value
    assert any(isinstance(cause, psycopg.errors.LockNotAvailable) for cause in causes(error)), repr(error)
    assert is_transient(error), f"a lock wait timeout is not retried: {error!r}"
    assert audited_files(url, FEED) == []
    assert rows_of_file(url, LINEAGE_TABLES, landed_files[0]["source_file"]) == dict.fromkeys(LINEAGE_TABLES, 0)

    summary = tasks.ingest_files(FEED, landed_files, RUN_ID)  # the retry, once the lock is released
    assert summary["files_loaded"] == len(landed_files), summary
    rebuild(url, landing)
    assert accounting_problems(url, FEED, STAGING, RAW) == []
    assert_equals_clean_run(url, clean_state("postgresql"))


# --- 2. task process SIGKILLed mid-load, then retried -------------------------------------------


@pytest.mark.postgres
def test_postgres_task_process_killed_mid_file_then_retried_equals_a_clean_run(
    postgres_url: str,
    landing: Path,
    landed_files: list[dict],
    kill_at: int,
    clean_state: Callable[[str], dict],
    tmp_path: Path,
) -> None:
    url = postgres_url
    prepare(url, landing)
    name = "parkops_fault_task"
    target = landed_files[kill_at]
    with MidFileTrap(url, FEED, target["file_name"]) as trap:
        task = start_ingest_task(
            tmp_path, "try1", with_application_name(url, name), landing, FEED, landed_files, RUN_ID
        )
        with killed_on_exit(task):
            trap.wait_at_file(name)
            assert len(audited_files(url, FEED)) == kill_at
            pid = trap.wait_inside_file(name, STAGING)
            assert kill_task(task) == -signal.SIGKILL
        # Let the orphaned backend run on: it reads the end of its dead client and rolls back.
        trap.release_audit()
        wait_for("the killed task's backend to go", lambda: backend_gone(trap.observer, pid), timeout=60)
    assert_stopped_mid_load(url, landed_files, kill_at)

    retry = start_ingest_task(tmp_path, "try2", url, landing, FEED, landed_files, RUN_ID)
    with killed_on_exit(retry):
        summary = finish_task(retry, tmp_path, "try2")
    assert_retry_completed(summary, landed_files, kill_at)
    rebuild(url, landing)
    assert accounting_problems(url, FEED, STAGING, RAW) == []
    assert_equals_clean_run(url, clean_state("postgresql"))


def test_duckdb_task_process_killed_mid_file_recovers_from_the_wal_then_the_retry_equals_a_clean_run(
    landing: Path,
    landed_files: list[dict],
    kill_at: int,
    clean_state: Callable[[str], dict],
    tmp_path: Path,
) -> None:
    database = tmp_path / "warehouse.duckdb"
    url = f"duckdb:///{database}"
    prepare(url, landing)
    # Every delivery a write group of its own: the first day commits, the task is killed inside
    # the second day's transaction, whose first file is landed_files[kill_at].
    task = start_ingest_task(
        tmp_path, "try1", url, landing, FEED, landed_files, RUN_ID, pause_at_audit_insert=2, duckdb_write_group_rows=1
    )
    with killed_on_exit(task):
        paused = wait_for(
            "the task to pause inside a file's write transaction",
            lambda: (tmp_path / "try1.paused").exists() or task.exitcode is not None,
        )
        assert paused and task.exitcode is None, task_log(tmp_path, "try1")
        written = (tmp_path / "try1.paused").read_text(encoding="utf-8")
        assert STAGING in written and RAW in written, written  # the file's rows are in the open transaction
        assert kill_task(task) == -signal.SIGKILL

    # The committed files are in the write-ahead log only (the load's connection never closed);
    # opening the file replays it, and must not replay any of the interrupted file.
    wal = Path(f"{database}.wal")
    assert wal.exists() and wal.stat().st_size > 0, "no WAL left by the killed writer: recovery is not exercised"
    assert_stopped_mid_load(url, landed_files, kill_at)

    retry = start_ingest_task(tmp_path, "try2", url, landing, FEED, landed_files, RUN_ID)
    with killed_on_exit(retry):
        summary = finish_task(retry, tmp_path, "try2")
    assert_retry_completed(summary, landed_files, kill_at)
    rebuild(url, landing)
    assert accounting_problems(url, FEED, STAGING, RAW) == []
    assert_equals_clean_run(url, clean_state("duckdb"))


# --- 3. concurrent runs over overlapping ranges, concurrent rebuilds ------------------------------


@pytest.mark.postgres
def test_postgres_concurrent_loads_of_overlapping_ranges_and_concurrent_rebuilds_equal_a_clean_run(
    postgres_url: str,
    landing: Path,
    landed_files: list[dict],
    clean_state: Callable[[str], dict],
    tmp_path: Path,
) -> None:
    url = postgres_url
    prepare(url, landing)
    files_a, files_b = discovered(landing, *RANGE_A), discovered(landing, *RANGE_B)
    shared = [file for file in files_a if file in files_b]
    assert shared and len(shared) < len(files_b)
    # Both runs wait on the first file they share, then race for it (and for the next ones).
    with MidFileTrap(url, FEED, shared[0]["file_name"]) as trap:
        run_a = start_ingest_task(tmp_path, "a", with_application_name(url, "run_a"), landing, FEED, files_a, "run_a")
        run_b = start_ingest_task(tmp_path, "b", with_application_name(url, "run_b"), landing, FEED, files_b, "run_b")
        with killed_on_exit(run_a, run_b):
            trap.wait_at_file("run_a")
            trap.wait_at_file("run_b")
            trap.release_file()
            summary_a = finish_task(run_a, tmp_path, "a")
            summary_b = finish_task(run_b, tmp_path, "b")
    # Each shared file was written by one run; the other found it loaded after taking its lock.
    assert summary_a["files_loaded"] + summary_b["files_loaded"] == len(landed_files), (summary_a, summary_b)
    assert summary_a["files_unchanged"] + summary_b["files_unchanged"] == len(shared), (summary_a, summary_b)
    assert accounting_problems(url, FEED, STAGING, RAW) == []

    # Two build_marts rebuilds of every family at once, on a warehouse never rebuilt (empty core
    # and mart tables): held at the first core table until both are under way, then let go.
    rebuilders = ("rebuild_1", "rebuild_2")
    engines = [create_warehouse_engine(with_application_name(url, name)) for name in rebuilders]
    test_engine = admin_engine(url)
    # The pool is left last: the gate is released before it waits for the rebuilds.
    with ThreadPoolExecutor(2) as pool, test_engine.connect() as observer:
        gate = lock_table(test_engine, "core.fct_registration_events", "access exclusive")
        try:
            builds = [pool.submit(transform.build_families, engine, list(transform.FAMILIES)) for engine in engines]
            for name in rebuilders:
                wait_for(
                    f"{name} to wait on a lock",
                    lambda name=name: (
                        waiting_on_lock(observer, name, "relation") or waiting_on_lock(observer, name, "advisory")
                    ),
                )
        finally:
            gate.rollback()
            gate.close()
        errors = [build.exception(timeout=120) for build in builds]
    test_engine.dispose()
    for engine in engines:
        engine.dispose()
    # A rebuild may lose a serialisation race: that must be transient, and Airflow retries it.
    assert all(error is None or is_transient(error) for error in errors), errors
    if any(errors):
        rebuild(url, landing)
    assert_equals_clean_run(url, clean_state("postgresql"))


# --- 4. a DuckDB writer lock held by another process ----------------------------------------------


HOLDER = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.readline()
connection.close()
"""


def test_duckdb_lock_held_by_another_process_fails_transient_writes_nothing_and_the_retry_equals_a_clean_run(
    landing: Path,
    landed_files: list[dict],
    clean_state: Callable[[str], dict],
    tmp_path: Path,
) -> None:
    database = tmp_path / "warehouse.duckdb"
    url = f"duckdb:///{database}"
    prepare(url, landing)
    before = snapshot(url)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(database)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    with killed_on_exit(holder):
        assert holder.stdout.readline().strip() == "holding"
        with pipeline_env(url, landing), pytest.raises(sa.exc.OperationalError) as failure:
            tasks.ingest_files(FEED, landed_files, RUN_ID)
        holder.stdin.close()
        assert holder.wait(timeout=30) == 0
    error = failure.value
    assert is_transient(error)
    assert DEFAULT_ARGS["retries"] >= 1 and DEFAULT_ARGS["retry_exponential_backoff"]  # so Airflow retries it
    # Clear enough for the engineer on call: which file, and which process holds it.
    message = str(error)
    assert str(database) in message and f"PID {holder.pid}" in message, message
    assert snapshot_diff(before, snapshot(url)) == []

    with pipeline_env(url, landing):
        summary = tasks.ingest_files(FEED, landed_files, RUN_ID)  # the retry, once the holder is gone
    assert summary["files_loaded"] == len(landed_files), summary
    rebuild(url, landing)
    assert accounting_problems(url, FEED, STAGING, RAW) == []
    assert_equals_clean_run(url, clean_state("duckdb"))
