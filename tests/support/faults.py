"""Fault injection for the pipeline's tests: real processes, real locks, real kills, no mocks.

Two ways to stop a load *inside* one file's write transaction, deterministically (no sleeps):

- PostgreSQL, from outside (:class:`MidFileTrap`): the test holds the advisory lock the loader
  takes for one file, so the loader commits the files before it and waits there; the test then
  locks ``ops.file_audit`` against inserts and lets the loader go: it writes that file's raw,
  staging, quarantine and validation rows in its open transaction and waits again on the audit
  insert. The test sees both waits in ``pg_stat_activity``/``pg_locks`` and kills the backend or
  the process at that point.
- DuckDB admits no second process, so nothing outside can watch or block the writer: the task
  process itself pauses before its N-th insert into ``ops.file_audit`` through a SQLAlchemy
  event listener (a public hook, no library code patched), writes a marker file naming the
  tables already written in that open transaction, and waits to be killed.

The task process (:func:`start_ingest_task`) runs ``parkops.pipeline.tasks.ingest_files``, the
callable of every ingest DAG's ``ingest_files`` task, with the arguments Airflow gives it (the
files from ``discover_files`` and the run id; a retry has the same run id).

Warehouses are compared with :func:`comparable_snapshot`: every table and view of the pipeline's
schemas, leaving out only what says *when* or *by which run* a row was written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import multiprocessing
import multiprocessing.context
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

T = TypeVar("T")

#: Columns saying when or by which run a row was written: a retried or concurrent load differs
#: from a clean run there by design, and nowhere else (decided_at, logged_at: the quality gate's).
VOLATILE_COLUMNS = frozenset({"run_id", "processed_at", "duration_seconds", "decided_at", "logged_at"})
#: Views aggregating ops.file_audit / ops.validation_results per run id: a retried or concurrent
#: load spreads its files over runs differently; the tables under them are compared row by row.
PER_RUN_VIEWS = frozenset({"ops.load_runs", "ops.validation_history"})
#: A run log growing with every rebuild (see support.pipeline.RUN_LOG_TABLES).
RUN_LOGS = frozenset({"ops.mart_builds"})


# --- waiting on state ---------------------------------------------------------------------------


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 90.0, interval: float = 0.05) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def with_application_name(url: str, name: str) -> str:
    """The PostgreSQL URL with ``application_name`` set, so the test finds that client's backend."""
    return sa.make_url(url).update_query_dict({"application_name": name}).render_as_string(hide_password=False)


def admin_engine(url: str) -> sa.Engine:
    """An autocommit engine on the test database for the test's own sessions (observer, locks)."""
    parsed = sa.make_url(url).set(drivername="postgresql+psycopg")
    parsed = parsed.update_query_dict({"application_name": "parkops_fault_observer"})
    return sa.create_engine(parsed, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def backends(observer: sa.Connection, application_name: str) -> list[dict[str, Any]]:
    """Backends of a client: pid, state and what they wait on."""
    result = observer.execute(
        sa.text(
            "select pid, state, wait_event_type, wait_event from pg_stat_activity "
            "where application_name = :name and datname = current_database()"
        ),
        {"name": application_name},
    )
    return [dict(row._mapping) for row in result]


def waiting_on_lock(observer: sa.Connection, application_name: str, kind: str) -> int | None:
    """The pid of the client's backend while it waits on a lock of ``kind`` (advisory, relation)."""
    for backend in backends(observer, application_name):
        if backend["wait_event_type"] == "Lock" and backend["wait_event"] == kind:
            return backend["pid"]
    return None


def relation_locks(observer: sa.Connection, pid: int) -> list[tuple[str, str, bool]]:
    """(relation, mode, granted) of the table locks a backend holds or waits for."""
    result = observer.execute(
        sa.text(
            "select relation::regclass::text, mode, granted from pg_locks "
            "where pid = :pid and locktype = 'relation' and database = "
            "(select oid from pg_database where datname = current_database())"
        ),
        {"pid": pid},
    )
    return [tuple(row) for row in result]


def backend_gone(observer: sa.Connection, pid: int) -> bool:
    return not observer.execute(sa.text("select 1 from pg_stat_activity where pid = :pid"), {"pid": pid}).first()


def file_lock_key(feed: str, file_name: str) -> str:
    """The key ``parkops.pipeline.versions.lock_file`` locks a file's writes under.

    Should it change, the trap below never sees the loader wait and fails on its timeout.
    """
    return f"{feed}:{file_name}"


def lock_table(engine: sa.Engine, table: str, mode: str) -> sa.Connection:
    """A connection holding ``lock table <table> in <mode> mode`` until it is rolled back."""
    connection = engine.connect().execution_options(isolation_level="READ COMMITTED")
    connection.begin()
    connection.execute(sa.text(f"lock table {table} in {mode} mode"))
    return connection


class MidFileTrap:
    """Stops a PostgreSQL loader inside the write transaction of one file (see the module doc).

    Enter before the loader starts; :meth:`wait_at_file` returns the loader backend's pid once it
    has committed the files before and waits for this one; :meth:`wait_inside_file` lets it write
    the file's rows and returns when it waits on the audit insert, uncommitted. Leaving releases
    every lock the test holds.
    """

    def __init__(self, url: str, feed: str, file_name: str):
        self.engine = admin_engine(url)
        self.key = file_lock_key(feed, file_name)
        self._file_lock: sa.Connection | None = None
        self._audit_lock: sa.Connection | None = None
        self.observer: sa.Connection | None = None

    def __enter__(self) -> MidFileTrap:
        self.observer = self.engine.connect()
        self._file_lock = self.engine.connect()
        self._file_lock.execute(sa.text("select pg_advisory_lock(hashtext(:key))"), {"key": self.key})
        return self

    def wait_at_file(self, application_name: str) -> int:
        return wait_for(
            f"{application_name} to wait for the lock of {self.key}",
            lambda: waiting_on_lock(self.observer, application_name, "advisory"),
        )

    def wait_inside_file(self, application_name: str, staging_table: str) -> int:
        """Let the loader write the file's rows; return its pid once it waits on the audit insert."""
        # EXCLUSIVE admits the loader's reads of ops.file_audit, not its insert (ROW EXCLUSIVE).
        self._audit_lock = lock_table(self.engine, "ops.file_audit", "exclusive")
        self.release_file()
        pid = wait_for(
            f"{application_name} to wait on its insert into ops.file_audit",
            lambda: waiting_on_lock(self.observer, application_name, "relation"),
        )
        locks = relation_locks(self.observer, pid)
        assert ("ops.file_audit", "RowExclusiveLock", False) in locks, locks
        # The rows of the file are in the open transaction: it holds the staging table for writing.
        assert (staging_table, "RowExclusiveLock", True) in locks, locks
        return pid

    def release_file(self) -> None:
        if self._file_lock is not None:
            self._file_lock.execute(sa.text("select pg_advisory_unlock(hashtext(:key))"), {"key": self.key})
            self._file_lock.close()
            self._file_lock = None

    def release_audit(self) -> None:
        if self._audit_lock is not None:
            self._audit_lock.rollback()
            self._audit_lock.close()
            self._audit_lock = None

    def __exit__(self, *exc_info: object) -> None:
        self.release_audit()
        self.release_file()
        if self.observer is not None:
            self.observer.close()
        self.engine.dispose()


# --- the task process ---------------------------------------------------------------------------

#: What a task process has imported before it starts, like an Airflow worker's forked task
#: runner: loading GX takes ~10 s of a 2-core machine, which every task process would pay again.
PRELOADED = ("parkops.pipeline.tasks", "great_expectations", "parkops.quality.uscc_expectation", "support.faults")


def _task_context() -> multiprocessing.context.ForkServerContext:
    """Task processes are forked from a fresh server process (never from the test process, whose
    database connections and threads a fork would copy), which imported :data:`PRELOADED` once."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOADED))
    return context


def start_ingest_task(
    work: Path,
    name: str,
    url: str,
    landing: Path,
    feed: str,
    files: list[dict],
    run_id: str,
    *,
    pause_at_audit_insert: int | None = None,
    duckdb_write_group_rows: int | None = None,
) -> multiprocessing.Process:
    """Start a process running the ``ingest_files`` task callable; its files go under ``work/name.*``.

    With ``pause_at_audit_insert`` = N it stops before its N-th insert into ``ops.file_audit``
    (inside that write group's transaction: one file on PostgreSQL, deliveries on DuckDB) and
    writes ``work/name.paused``. ``duckdb_write_group_rows`` sets the loader's
    ``DUCKDB_WRITE_GROUP_ROWS`` in the process (1: every delivery is a group of its own).
    """
    work.mkdir(parents=True, exist_ok=True)
    for suffix in ("result.json", "paused", "log"):
        (work / f"{name}.{suffix}").unlink(missing_ok=True)
    process = _task_context().Process(
        target=run_ingest_task,
        args=(work, name, url, landing, feed, files, run_id, pause_at_audit_insert, duckdb_write_group_rows),
        name=name,
    )
    process.start()
    return process


def finish_task(process: multiprocessing.Process, work: Path, name: str, timeout: float = 120.0) -> dict[str, Any]:
    """Wait for a task process; its summary, or an assertion error with the end of its log."""
    process.join(timeout)
    if process.exitcode is None:
        process.kill()
        process.join()
        raise AssertionError(f"task {name} still running after {timeout:.0f} s:\n{task_log(work, name)}")
    assert process.exitcode == 0, f"task {name} exited with {process.exitcode}:\n{task_log(work, name)}"
    return json.loads((work / f"{name}.result.json").read_text(encoding="utf-8"))


def kill_task(process: multiprocessing.Process) -> int:
    """SIGKILL a task process (the OOM killer, a lost worker node); its exit code."""
    process.kill()
    process.join(30)
    assert process.exitcode is not None, f"task process {process.pid} survived SIGKILL"
    return process.exitcode


def task_log(work: Path, name: str, lines: int = 40) -> str:
    path = work / f"{name}.log"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]) if path.exists() else ""


@contextlib.contextmanager
def killed_on_exit(*processes: multiprocessing.Process | subprocess.Popen) -> Iterator[None]:
    """Never leave a process behind when a test fails half-way."""
    try:
        yield
    finally:
        for process in processes:
            if isinstance(process, subprocess.Popen):
                if process.poll() is None:
                    process.kill()
                    process.wait()
            elif process.exitcode is None:
                process.kill()
                process.join()


_INSERT = re.compile(r'^\s*insert\s+into\s+"?(?P<schema>\w+)"?\."?(?P<table>\w+)"?', re.IGNORECASE)


def _pause_before_audit_insert(number: int, marker: Path) -> None:
    """Before the ``number``-th insert into ops.file_audit: write ``marker`` and wait to be killed.

    The marker names the tables written since the previous audit insert, i.e. in this write
    group's open transaction. Statements sent through SQLAlchemy only (DuckDB's bulk path; PostgreSQL's
    COPY bypasses it, which is why PostgreSQL tests use :class:`MidFileTrap`).
    """
    from sqlalchemy import event

    state = {"audits": 0, "written": []}

    @event.listens_for(sa.Engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        match = _INSERT.match(statement)
        if match is None:
            return
        table = f"{match['schema']}.{match['table']}"
        if table != "ops.file_audit":
            state["written"].append(table)
            return
        state["audits"] += 1
        if state["audits"] == number:
            marker.write_text(json.dumps(state["written"]), encoding="utf-8")
            # Bounded, so a test that fails before killing leaves no process for ever.
            time.sleep(300)
            raise SystemExit("paused task was not killed")
        state["written"] = []


def run_ingest_task(
    work: Path,
    name: str,
    url: str,
    landing: Path,
    feed: str,
    files: list[dict],
    run_id: str,
    pause_at_audit_insert: int | None,
    duckdb_write_group_rows: int | None = None,
) -> None:
    """The task process: ``tasks.ingest_files`` as the DAG's ingest_files task calls it."""
    import logging

    from parkops.pipeline import tasks, write_plan

    if duckdb_write_group_rows is not None:
        write_plan.DUCKDB_WRITE_GROUP_ROWS = duckdb_write_group_rows

    log = (work / f"{name}.log").open("w", encoding="utf-8")
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    logging.basicConfig(level=logging.INFO, force=True)
    os.environ["PARKOPS_WAREHOUSE_URL"] = url
    os.environ["PARKOPS_LANDING_DIR"] = str(landing)
    if pause_at_audit_insert is not None:
        _pause_before_audit_insert(pause_at_audit_insert, work / f"{name}.paused")
    summary = tasks.ingest_files(feed, files, run_id)
    (work / f"{name}.result.json").write_text(json.dumps(summary), encoding="utf-8")


# --- reading the warehouse back -----------------------------------------------------------------


def comparable_snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table and view of the pipeline's schemas, without the volatile columns.

    Left out: the run log ``ops.mart_builds``, the per-run views and the columns of
    :data:`VOLATILE_COLUMNS`; everything else must be equal between a faulted and a clean run.
    """
    from support.pipeline import _sort_key, connect

    with connect(url) as connection:
        tables = connection.execute(
            sa.text(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema in ('raw', 'staging', 'core', 'mart', 'ops') order by 1, 2"
            )
        ).all()
        content: dict[str, list[tuple[Any, ...]]] = {}
        for schema, table in tables:
            name = f"{schema}.{table}"
            if name in RUN_LOGS | PER_RUN_VIEWS:
                continue
            columns = connection.execute(
                sa.text(
                    "select column_name from information_schema.columns "
                    "where table_schema = :schema and table_name = :table order by ordinal_position"
                ),
                {"schema": schema, "table": table},
            ).scalars()
            kept = ", ".join(f'"{column}"' for column in columns if column not in VOLATILE_COLUMNS)
            result = connection.execute(sa.text(f'select {kept} from "{schema}"."{table}"'))
            content[name] = sorted((tuple(row) for row in result), key=_sort_key)
    return content


def accounting_problems(url: str, feed: str, staging_table: str, raw_table: str) -> list[str]:
    """What breaks the load's accounting; empty when it holds.

    Every audit row: received = loaded + quarantined; one current audit row per file; every
    loaded file's staging and raw rows number its rows_loaded, none twice; no row of raw,
    staging, quarantine or validation results without a current audit row (a partial file).
    """
    from support.pipeline import rows

    problems: list[str] = []
    audit = rows(url, "select * from ops.file_audit where feed = :feed", {"feed": feed})
    for row in audit:
        if row["rows_received"] != row["rows_loaded"] + row["rows_quarantined"]:
            problems.append(f"audit of {row['source_file']}: received != loaded + quarantined: {row}")
    current: dict[tuple[str, str], dict[str, Any]] = {}
    for row in audit:
        if row["status"] == "superseded":
            continue
        key = (row["source_file"], row["source_sha256"])
        if key in current or any(source == row["source_file"] for source, _ in current):
            problems.append(f"{row['source_file']} has two current audit rows")
        current[key] = row
    loaded = {key: row for key, row in current.items() if row["status"] == "loaded"}
    for table in (staging_table, raw_table):
        counts = rows(
            url,
            f"select source_file, source_sha256, count(*) as n, count(distinct source_row_number) as distinct_rows "
            f"from {table} group by source_file, source_sha256",
        )
        seen = {(row["source_file"], row["source_sha256"]): row for row in counts}
        for key, row in seen.items():
            if key not in loaded:
                problems.append(f"{table} holds {row['n']} rows of {key[0]}, which has no loaded audit row")
            elif row["n"] != row["distinct_rows"]:
                problems.append(
                    f"{table} holds rows of {key[0]} twice ({row['n']} rows, {row['distinct_rows']} distinct)"
                )
            elif row["n"] != loaded[key]["rows_loaded"]:
                problems.append(
                    f"{table} holds {row['n']} rows of {key[0]}, its audit says {loaded[key]['rows_loaded']}"
                )
        for key, row in loaded.items():
            if key not in seen and row["rows_loaded"]:
                problems.append(f"{table} has none of the {row['rows_loaded']} rows loaded from {key[0]}")
    for table in ("ops.quarantine", "ops.validation_results"):
        for row in rows(
            url, f"select distinct source_file, source_sha256 from {table} where feed = :feed", {"feed": feed}
        ):
            if (row["source_file"], row["source_sha256"]) not in current:
                problems.append(f"{table} has rows of {row['source_file']}, which has no current audit row")
    quarantined = {
        (row["source_file"], row["source_sha256"]): row["n"]
        for row in rows(
            url,
            "select source_file, source_sha256, "
            "count(distinct coalesce(sheet_name, '') || ':' || cast(row_number as text)) as n from ops.quarantine "
            "where feed = :feed group by source_file, source_sha256",
            {"feed": feed},
        )
    }
    for key, row in current.items():
        if quarantined.get(key, 0) != row["rows_quarantined"]:
            problems.append(
                f"{key[0]}: {quarantined.get(key, 0)} rows in ops.quarantine, audit says {row['rows_quarantined']}"
            )
    return problems


def audited_files(url: str, feed: str) -> list[str]:
    from support.pipeline import rows

    query = "select source_file from ops.file_audit where feed = :feed order by source_file"
    return [row["source_file"] for row in rows(url, query, {"feed": feed})]


def rows_of_file(url: str, tables: tuple[str, ...], source_file: str) -> dict[str, int]:
    """Rows of one source file in each table (a partial file shows up here)."""
    from support.pipeline import scalar

    return {
        table: scalar(
            url, f"select count(*) from {table} where source_file = :source_file", {"source_file": source_file}
        )
        for table in tables
    }


# --- racing task processes ----------------------------------------------------------------------


def _hold_before_first_file_lock(barrier: Any, then_wait_for: Path | None) -> None:
    """Before the loader takes its first file lock (its pre-checks done, nothing written yet):
    wait for the other racer at ``barrier``, then, with ``then_wait_for``, until that path exists
    (the other task finished). Matches the lock statement of ``parkops.pipeline.versions.lock_file``
    through a SQLAlchemy event listener (no library code patched); PostgreSQL only."""
    from sqlalchemy import event

    state = {"held": False}

    @event.listens_for(sa.Engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        if state["held"] or "pg_advisory_xact_lock" not in statement:
            return
        state["held"] = True
        barrier.wait(120)
        if then_wait_for is not None:
            wait_for(f"{then_wait_for} to exist", then_wait_for.exists, timeout=120)


def start_racing_ingest_task(
    work: Path,
    name: str,
    url: str,
    landing: Path,
    feed: str,
    files: list[dict],
    run_id: str,
    start: Any,
    *,
    before_file_lock: Any = None,
    then_wait_for: Path | None = None,
) -> multiprocessing.Process:
    """Start the ``ingest_files`` task callable in a process that waits at the barrier ``start``
    before it begins (so two racers start together) and retries transient failures as Airflow
    would (e.g. DuckDB's file held by the other racer). ``before_file_lock`` (a barrier) and
    ``then_wait_for``: see :func:`_hold_before_first_file_lock`. Barriers come from
    :func:`racing_barrier`. Its result (``finish_task``): ``summary``, ``attempts``."""
    work.mkdir(parents=True, exist_ok=True)
    for suffix in ("result.json", "log"):
        (work / f"{name}.{suffix}").unlink(missing_ok=True)
    process = _task_context().Process(
        target=run_racing_ingest_task,
        args=(work, name, url, landing, feed, files, run_id, start, before_file_lock, then_wait_for),
        name=name,
    )
    process.start()
    return process


def racing_barrier(parties: int = 2) -> Any:
    """A barrier the racing task processes can share."""
    return _task_context().Barrier(parties)


def run_racing_ingest_task(
    work: Path,
    name: str,
    url: str,
    landing: Path,
    feed: str,
    files: list[dict],
    run_id: str,
    start: Any,
    before_file_lock: Any,
    then_wait_for: Path | None,
) -> None:
    import logging

    from parkops.pipeline import tasks
    from parkops.pipeline.errors import is_transient

    log = (work / f"{name}.log").open("w", encoding="utf-8")
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    logging.basicConfig(level=logging.INFO, force=True)
    os.environ["PARKOPS_WAREHOUSE_URL"] = url
    os.environ["PARKOPS_LANDING_DIR"] = str(landing)
    if before_file_lock is not None:
        _hold_before_first_file_lock(before_file_lock, then_wait_for)
    start.wait(120)
    attempts = 0
    while True:
        attempts += 1
        try:
            summary = tasks.ingest_files(feed, files, run_id)
            break
        except Exception as error:
            # Airflow retries a transient failure (the other racer holding DuckDB's file); bounded.
            if not is_transient(error) or attempts >= 60:
                raise
            logging.getLogger(name).warning("attempt %d failed, retried: %s", attempts, error)
            time.sleep(0.5)
    result = {"summary": summary, "attempts": attempts, "finished_at": time.time()}
    (work / f"{name}.result.json").write_text(json.dumps(result), encoding="utf-8")


@contextlib.contextmanager
def pipeline_env(url: str, landing: Path) -> Iterator[None]:
    """The task callables' environment: this warehouse and landing area."""
    import pytest

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PARKOPS_WAREHOUSE_URL", url)
        patch.setenv("PARKOPS_LANDING_DIR", str(landing))
        yield


def discovered(landing: Path, first: dt.date, last: dt.date, feed: str = "registrations") -> list[dict]:
    """What the DAG's discover_files task hands ingest_files (its XCom)."""
    from parkops.pipeline import tasks

    with pipeline_env("duckdb:///:memory:", landing):
        return tasks.discover_files(feed, {"first": first.isoformat(), "last": last.isoformat()})
