"""Shared fixtures: warehouses on both engines, each test on its own fresh database.

PostgreSQL tests connect to ``PARKOPS_TEST_POSTGRES_URL`` (default: postgres on 127.0.0.1:5432)
and create a database of their own, dropped afterwards. Without a reachable server they are
skipped with a loud reason, except when ``CI=true``: then absence is a failure.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

PROJECT_DIR = Path(__file__).resolve().parents[1]

POSTGRES_ADMIN_URL = os.environ.get("PARKOPS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"
#: Names this test run (the databases its workers share end with it).
TEST_RUN_VARIABLE = "PARKOPS_TEST_RUN"

# Tests write landing files and load them at once: a file counts as completely uploaded as soon
# as it is there (parkops.pipeline.settle; the tests of settling set their own interval). Set in
# the environment, so the Airflow processes of the e2e tests inherit it.
os.environ.setdefault("PARKOPS_LANDING_SETTLE_SECONDS", "0")


def _postgres_admin_engine() -> sa.Engine:
    url = sa.make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg")
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def postgres_available() -> str | None:
    """None when the server answers, else the reason it does not."""
    try:
        with _postgres_admin_engine().connect() as connection:
            connection.execute(sa.text("select 1"))
    except sa.exc.OperationalError as error:
        return str(error).splitlines()[0]
    return None


#: Modules whose tests take minutes (Airflow runs, prepared warehouses), slowest first. Under
#: pytest-xdist each worker takes the next module in collection order, so these go first: a long
#: module started last would leave the other worker idle at the end.
SLOW_MODULES = (
    "tests/e2e/test_airflow_feeds.py",
    "tests/e2e/test_native_topology.py",
    "tests/e2e/test_personal_data_access.py",
    "tests/e2e/test_report_dags.py",
    "tests/integration/test_readme_commands.py",
    "tests/integration/test_concurrent_loads.py",
    "tests/integration/test_faults.py",
    "tests/integration/test_ops_views.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow modules first; the others, and every module's tests, in collection order.

    ``--dist loadfile`` keeps a module's tests on one worker, in file order, so its module-scoped
    fixtures (an Airflow home, a loaded warehouse) are set up once, as without xdist. (Not
    ``loadgroup``: pytest-xdist 3.8 groups by rewriting ``item._nodeid``, which pytest 9.2 no
    longer reads, so every test would be scheduled on its own.)
    """

    def rank(item: pytest.Item) -> int:
        module = item.nodeid.split("::", 1)[0]  # relative to the checkout: tests/e2e/...
        return SLOW_MODULES.index(module) if module in SLOW_MODULES else len(SLOW_MODULES)

    items.sort(key=rank)  # stable


@pytest.fixture(scope="session")
def postgres_server() -> str:
    reason = postgres_available()
    if reason is not None:
        message = f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable: {reason}"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: PostgreSQL is mandatory)")
        pytest.skip(f"!!! SKIPPED: {message}")
    return POSTGRES_ADMIN_URL


def create_postgres_database(prefix: str = "parkops_test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with _postgres_admin_engine().connect() as connection:
        connection.execute(sa.text(f'create database "{name}"'))
    return sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = sa.make_url(url).database
    with _postgres_admin_engine().connect() as connection:
        connection.execute(sa.text(f'drop database if exists "{name}" with (force)'))


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty warehouse on each engine."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def reference_template(postgres_server: str, shared_dir: Path) -> str:
    """The run's PostgreSQL database holding what load_reference_data writes (the DDL and the seeds),
    built once for the workers of the run: clone it, never use it."""
    from parkops.pipeline.reference import load_reference_data
    from parkops.warehouse import create_warehouse_engine

    template = shared_database_name("reference_template")
    done = shared_dir / "reference_template.done"
    with exclusively(shared_dir / "reference_template.lock"):
        if not done.exists():
            url = sa.make_url(POSTGRES_ADMIN_URL).set(database=template).render_as_string(hide_password=False)
            drop_postgres_database(url)  # a worker that failed half-way
            with _postgres_admin_engine().connect() as connection:
                connection.execute(sa.text(f'create database "{template}"'))
            engine = create_warehouse_engine(url)
            try:
                load_reference_data(engine)
            finally:
                engine.dispose()
            done.touch()
    return template


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def reference_warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A warehouse on each engine for tests that load the reference data first: on PostgreSQL a copy
    of the run's template that holds it already (their load then replaces the seeds with the same
    rows, ~2 s less than DDL on an empty database), on DuckDB a fresh file (the DDL costs as much
    on an empty file as on a loaded one)."""
    if request.param == "duckdb":
        yield f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
        return
    url = clone_postgres_database(request.getfixturevalue("reference_template"), "parkops_test")
    try:
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture
def use_warehouse(warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the pipeline's configuration at the test warehouse."""
    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", warehouse_url)
    return warehouse_url


def airflow_environment(home: Path) -> dict[str, str]:
    """The environment of Airflow commands on the home ``home``."""
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_DIR / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "GX_ANALYTICS_ENABLED": "False",
        # build_marts builds the Data Docs site: into the test's folder, not the checkout's data/.
        "PARKOPS_DATA_DOCS_DIR": str(home / "data_docs"),
    }


@pytest.fixture(scope="session")
def migrated_airflow_db(shared_dir: Path) -> Path:
    """The run's Airflow metadata database (SQLite), migrated, with the warehouse_writer pool: built
    once for the workers of the run; copy it, never use it."""
    home = shared_dir / "airflow_home_template"
    done = shared_dir / "airflow_home_template.done"
    with exclusively(shared_dir / "airflow_home_template.lock"):
        if not done.exists():
            shutil.rmtree(home, ignore_errors=True)  # a worker that failed half-way
            home.mkdir()
            env = airflow_environment(home)
            airflow = str(Path(sys.executable).with_name("airflow"))
            subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
            pool = [airflow, "pools", "set", "warehouse_writer", "1", "test"]
            subprocess.run(pool, env=env, check=True, capture_output=True)
            done.touch()
    return home / "airflow.db"


# End-to-end tests: a fresh Airflow home (metadata DB and pool) per test module.
@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory, migrated_airflow_db: Path) -> dict[str, str]:
    home = tmp_path_factory.mktemp("airflow_home")
    # The database only: the airflow.cfg Airflow writes names its home's database by absolute path.
    shutil.copyfile(migrated_airflow_db, home / "airflow.db")
    return airflow_environment(home)


# Five weeks of generated feeds loaded once per engine and test run, for the tests that only read.
# Under pytest-xdist the workers share them: the first worker to need one builds it in the run's
# shared folder, under a file lock; each worker reads a copy of its own (DuckDB admits one process
# per file; PostgreSQL clones the run's template database).
@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder the workers of this test run share (the base temp folder without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def exclusively(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock`` (created if missing) across the processes of the run."""
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def five_week_landing(shared_dir: Path) -> Path:
    from support.pipeline import FIVE_WEEKS, generate_landing

    root = shared_dir / "five_week_landing"
    done = shared_dir / "five_week_landing.done"
    with exclusively(shared_dir / "five_week_landing.lock"):
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)  # a worker that failed half-way
            generate_landing(root, *FIVE_WEEKS)
            done.touch()
    return root


def shared_database_name(purpose: str) -> str:
    """A PostgreSQL database of this test run shared by its workers (dropped at the end of the run)."""
    return f"parkops_{purpose}_{os.environ[TEST_RUN_VARIABLE]}"


def clone_postgres_database(template: str, prefix: str) -> str:
    """A new database copied from ``template``; returns its URL. Sessions still connected to the
    template (its builder's pooled connections) are ended first: PostgreSQL copies none in use."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with _postgres_admin_engine().connect() as connection:
        connection.execute(
            sa.text("select pg_terminate_backend(pid) from pg_stat_activity where datname = :template"),
            {"template": template},
        )
        connection.execute(sa.text(f'create database "{name}" template "{template}"'))
    return sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def five_week_duckdb(five_week_landing: Path, shared_dir: Path) -> Path:
    """The run's DuckDB file holding the five weeks: never open it, open a copy (``copy_duckdb``)."""
    from support.pipeline import FIVE_WEEKS, load_feeds

    built = shared_dir / "five_week_duckdb" / "warehouse.duckdb"
    done = shared_dir / "five_week_duckdb.done"
    with exclusively(shared_dir / "five_week_duckdb.lock"):
        if not done.exists():
            shutil.rmtree(built.parent, ignore_errors=True)  # a worker that failed half-way
            load_feeds(f"duckdb:///{built}", five_week_landing, *FIVE_WEEKS)
            done.touch()
    return built


def copy_duckdb(built: Path, folder: Path) -> str:
    """The URL of a copy of the DuckDB file ``built`` in ``folder``."""
    copy = folder / "warehouse.duckdb"
    shutil.copyfile(built, copy)
    return f"duckdb:///{copy}"


@pytest.fixture(scope="session", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def five_week_warehouse(
    request: pytest.FixtureRequest, shared_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A warehouse on each engine holding the five weeks: read it, never write to it."""
    if request.param == "duckdb":
        yield copy_duckdb(request.getfixturevalue("five_week_duckdb"), tmp_path_factory.mktemp("five_week_duckdb"))
        return
    from support.pipeline import FIVE_WEEKS, load_feeds

    request.getfixturevalue("postgres_server")
    five_week_landing = request.getfixturevalue("five_week_landing")
    template = shared_database_name("five_weeks_template")
    done = shared_dir / "five_week_postgresql.done"
    with exclusively(shared_dir / "five_week_postgresql.lock"):
        if not done.exists():
            template_url = sa.make_url(POSTGRES_ADMIN_URL).set(database=template).render_as_string(hide_password=False)
            drop_postgres_database(template_url)  # a worker that failed half-way
            with _postgres_admin_engine().connect() as connection:
                connection.execute(sa.text(f'create database "{template}"'))
            load_feeds(template_url, five_week_landing, *FIVE_WEEKS)
            done.touch()
        url = clone_postgres_database(template, "parkops_five_weeks")
    try:
        yield url
    finally:
        drop_postgres_database(url)


def pytest_configure(config: pytest.Config) -> None:
    # The controller (or the only process) names the test run; xdist workers inherit it.
    if not hasattr(config, "workerinput"):
        os.environ[TEST_RUN_VARIABLE] = uuid.uuid4().hex[:10]


def pytest_sessionfinish(session: pytest.Session) -> None:
    # The controller drops the databases its workers shared, once every worker is done.
    if hasattr(session.config, "workerinput") or TEST_RUN_VARIABLE not in os.environ:
        return
    if postgres_available() is not None:
        return
    with _postgres_admin_engine().connect() as connection:
        names = connection.execute(
            sa.text("select datname from pg_database where datname like :pattern"),
            {"pattern": f"parkops_%_{os.environ[TEST_RUN_VARIABLE]}"},
        ).scalars()
        for name in list(names):
            connection.execute(sa.text(f'drop database if exists "{name}" with (force)'))
