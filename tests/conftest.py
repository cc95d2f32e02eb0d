"""Shared fixtures: warehouses on both engines, each test on its own fresh database.

PostgreSQL tests connect to ``PARKOPS_TEST_POSTGRES_URL`` (default: postgres on 127.0.0.1:5432)
and create a database of their own, dropped afterwards. Without a reachable server they are
skipped with a loud reason, except when ``CI=true``: then absence is a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

PROJECT_DIR = Path(__file__).resolve().parents[1]

POSTGRES_ADMIN_URL = os.environ.get("PARKOPS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"

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


@pytest.fixture
def use_warehouse(warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the pipeline's configuration at the test warehouse."""
    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", warehouse_url)
    return warehouse_url


# End-to-end tests: a fresh Airflow home (metadata DB and pool) per test module.
@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("airflow_home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_DIR / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "GX_ANALYTICS_ENABLED": "False",
        # build_marts builds the Data Docs site: into the test's folder, not the checkout's data/.
        "PARKOPS_DATA_DOCS_DIR": str(home / "data_docs"),
    }
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([airflow, "pools", "set", "warehouse_writer", "1", "test"], env=env, check=True, capture_output=True)
    return env


# Five weeks of generated feeds loaded once per engine and session, for the tests that only read.
@pytest.fixture(scope="session")
def five_week_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from support.pipeline import FIVE_WEEKS, generate_landing

    return generate_landing(tmp_path_factory.mktemp("five_week_landing"), *FIVE_WEEKS)


@pytest.fixture(scope="session", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def five_week_warehouse(
    request: pytest.FixtureRequest, five_week_landing: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A warehouse on each engine holding the five weeks: read it, never write to it."""
    from support.pipeline import FIVE_WEEKS, load_feeds

    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path_factory.mktemp('five_week_duckdb') / 'warehouse.duckdb'}"
    else:
        request.getfixturevalue("postgres_server")
        url = create_postgres_database("parkops_five_weeks")
    try:
        load_feeds(url, five_week_landing, *FIVE_WEEKS)
        yield url
    finally:
        if request.param == "postgresql":
            drop_postgres_database(url)
