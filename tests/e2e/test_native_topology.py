"""The production topology, natively: api-server, scheduler, dag-processor and a Celery worker.

Each Airflow component is a process of its own (as in ``docker-compose.yml``), with a fresh
PostgreSQL metadata database, the CeleryExecutor on a Redis broker (a Redis database of this
test's own, flushed afterwards), a fresh PostgreSQL warehouse and ports picked at run time. A run
of ``ingest_enterprise_registrations`` is triggered through REST API v2 with a JWT from the simple
auth manager, must succeed with every task executed by the Celery worker; the asset it updates
must make the scheduler trigger ``build_marts`` (data-aware scheduling, no clock), whose rebuild
must leave marts that match the independent recount of the landing files. The api-server also
serves the ``parkops`` UI plugin: its pages need an Airflow user and show the CLI's numbers.

PostgreSQL and Redis on loopback are required: without them the test is skipped with a loud
reason, except when ``CI=true`` where their absence is a failure.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from conftest import IN_CI, create_postgres_database, drop_postgres_database
from support.independent import expected_landing
from support.landing import generate_registrations
from support.topology import (
    Component,
    Topology,
    claim_empty_redis_db,
    flush_redis_db,
    free_port,
    redis_unavailable,
)

from parkops import cli

PROJECT = Path(__file__).resolve().parents[2]
DAG_ID = "ingest_enterprise_registrations"
FIRST, LAST = dt.date(2025, 3, 3), dt.date(2025, 3, 7)  # 5 delivery days
TASK_IDS = {"resolve_delivery_range", "load_reference_data", "discover_files", "ingest_files", "check_quality_gate"}
MARTS_DAG_ID = "build_marts"
MARTS_TASK_IDS = {"plan_rebuild", "rebuild", "build_data_docs"}
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
STARTUP_TIMEOUT = 150  # s: api-server healthy and the DAG parsed
RUN_TIMEOUT = 360  # s: the DAG run reaches a terminal state
TERMINAL_STATES = {"success", "failed"}

pytestmark = [pytest.mark.airflow, pytest.mark.postgres]


@dataclass
class NativeAirflow:
    topology: Topology
    base_url: str
    client: httpx.Client
    landing: Path
    warehouse_url: str
    queue: str
    worker: Component


def _airflow(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("airflow")), *args]


def _environment(
    home: Path, metadata_url: str, warehouse_url: str, landing: Path, api_port: int, redis_db: int, queue: str
) -> dict[str, str]:
    metadata = sa.make_url(metadata_url)
    inherited = {
        key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW_", "AIRFLOW__", "PARKOPS_"))
    }
    passwords = home / "passwords.json"
    passwords.write_text('{"parkops": "%s"}\n' % secrets.token_hex(12), encoding="utf-8")  # noqa: UP031
    base_url = f"http://127.0.0.1:{api_port}"
    return {
        **inherited,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "NO_COLOR": "1",
        "GX_ANALYTICS_ENABLED": "False",
        "PARKOPS_HOME": str(PROJECT),
        # build_marts writes the Data Docs site here; the plugin serves it from here.
        "PARKOPS_DATA_DOCS_DIR": str(home / "data_docs"),
        "PARKOPS_LANDING_DIR": str(landing),
        "PARKOPS_WAREHOUSE_URL": warehouse_url,
        "AIRFLOW_CONN_PARKOPS_WAREHOUSE": warehouse_url,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "parkops:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata.set(drivername="postgresql+psycopg").render_as_string(
            hide_password=False
        ),
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+"
        + metadata.set(drivername="postgresql+psycopg").render_as_string(hide_password=False),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        # The scheduler must create runs from schedules: build_marts' runs come from asset events.
        # Unpausing the ingest DAG also adds its latest scheduled run (today's delivery folder,
        # empty here), whose asset event says nothing changed.
    }


def _wait_until_ready(topology: Topology, base_url: str, credentials: dict[str, str]) -> httpx.Client:
    """Poll until the api-server is healthy, a token is issued and the DAG is parsed."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    client = httpx.Client(base_url=base_url, timeout=10)
    stage = "api-server health"
    last = ""
    while time.monotonic() < deadline:
        dead = [component.name for component in topology.components if not component.running()]
        if dead:
            raise RuntimeError(f"component(s) exited during start-up: {dead}")
        try:
            if stage == "api-server health":
                response = client.get("/api/v2/monitor/health")
                last = f"{response.status_code} {response.text[:300]}"
                if response.status_code == 200:
                    stage = "token"
            if stage == "token":
                response = client.post("/auth/token", json=credentials)
                last = f"{response.status_code} {response.text[:300]}"
                if response.status_code == 201:
                    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
                    stage = "dag parsed"
            if stage == "dag parsed":
                response = client.get(f"/api/v2/dags/{DAG_ID}")
                last = f"{response.status_code} {response.text[:300]}"
                if response.status_code == 200:
                    return client
        except httpx.TransportError as error:
            last = f"{type(error).__name__}: {error}"
        time.sleep(1)
    client.close()
    raise TimeoutError(f"not ready after {STARTUP_TIMEOUT} s, waiting for {stage}; last answer: {last}")


@pytest.fixture
def native_airflow(postgres_server: str, tmp_path: Path) -> Iterator[NativeAirflow]:
    reason = redis_unavailable(REDIS_HOST, REDIS_PORT)
    if reason is not None:
        message = f"Redis at {REDIS_HOST}:{REDIS_PORT} is not reachable: {reason}"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: Redis is mandatory)")
        pytest.skip(f"!!! SKIPPED: {message}")

    topology = Topology()
    databases: list[str] = []
    redis_db: int | None = None
    client: httpx.Client | None = None
    try:
        databases.append(metadata_url := create_postgres_database("parkops_airflow"))
        databases.append(warehouse_url := create_postgres_database("parkops_wh"))
        redis_db = claim_empty_redis_db(REDIS_HOST, REDIS_PORT)
        landing = tmp_path / "landing"
        generate_registrations(landing, FIRST, LAST)

        home = tmp_path / "airflow_home"
        home.mkdir()
        queue = f"parkops_e2e_{secrets.token_hex(4)}"
        api_port = free_port()
        env = _environment(home, metadata_url, warehouse_url, landing, api_port, redis_db, queue)
        for command in (
            _airflow("db", "migrate"),
            _airflow("pools", "set", "warehouse_writer", "1", "Serialises warehouse writers"),
        ):
            completed = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
            assert completed.returncode == 0, f"{command} failed:\n{completed.stdout[-3000:]}{completed.stderr[-3000:]}"

        logs = tmp_path / "logs"
        logs.mkdir()
        for name, command in (
            ("api-server", _airflow("api-server", "--host", "127.0.0.1", "--port", str(api_port), "--workers", "1")),
            ("scheduler", _airflow("scheduler")),
            ("dag-processor", _airflow("dag-processor")),
            (
                "celery-worker",
                _airflow(
                    "celery",
                    "worker",
                    "--concurrency",
                    "2",
                    "--queues",
                    queue,
                    "--celery-hostname",
                    f"{queue}@%h",
                    "--without-mingle",
                    "--without-gossip",
                ),
            ),
        ):
            topology.start(Component(name, command, logs / f"{name}.log"), env, tmp_path)
        worker = topology.components[-1]

        password = (home / "passwords.json").read_text(encoding="utf-8").split('"')[3]
        try:
            client = _wait_until_ready(
                topology, f"http://127.0.0.1:{api_port}", {"username": "parkops", "password": password}
            )
        except (RuntimeError, TimeoutError) as error:
            pytest.fail(f"{error}\n{topology.diagnostics()}")

        yield NativeAirflow(topology, f"http://127.0.0.1:{api_port}", client, landing, warehouse_url, queue, worker)
    finally:
        if client is not None:
            client.close()
        topology.stop(grace_seconds=20)
        leftovers = topology.leftovers()
        for url in databases:
            drop_postgres_database(url)
        if redis_db is not None:
            flush_redis_db(redis_db, REDIS_HOST, REDIS_PORT)
        assert not leftovers, f"processes left after teardown: {[(p.pid, p.name()) for p in leftovers]}"


def _await_run(client: httpx.Client, run_id: str, dag_id: str = DAG_ID) -> dict:
    deadline = time.monotonic() + RUN_TIMEOUT
    run: dict = {}
    while time.monotonic() < deadline:
        response = client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
        response.raise_for_status()
        run = response.json()
        if run["state"] in TERMINAL_STATES:
            return run
        time.sleep(2)
    raise TimeoutError(f"run {run_id} not finished after {RUN_TIMEOUT} s: {run.get('state')}")


def _task_instances(client: httpx.Client, run_id: str, dag_id: str = DAG_ID) -> list[dict]:
    response = client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
    response.raise_for_status()
    return response.json()["task_instances"]


def _await_asset_triggered_rebuild(client: httpx.Client, dag_id: str) -> tuple[dict, dict[str, str]]:
    """A run of ``dag_id`` the scheduler created from asset events whose rebuild ran, and its task states.

    The ingest DAG's own scheduled run (empty delivery folder) may trigger a run of its own,
    whose rebuild is skipped because nothing changed; the manual run's event must lead to one
    that rebuilds.
    """
    deadline = time.monotonic() + RUN_TIMEOUT
    seen: dict[str, dict[str, str]] = {}
    while time.monotonic() < deadline:
        response = client.get(f"/api/v2/dags/{dag_id}/dagRuns")
        response.raise_for_status()
        for run in response.json()["dag_runs"]:
            if run["run_type"] != "asset_triggered" or run["state"] not in TERMINAL_STATES:
                continue
            states = {ti["task_id"]: ti["state"] for ti in _task_instances(client, run["dag_run_id"], dag_id)}
            seen[run["dag_run_id"]] = states
            if states.get("rebuild") != "skipped":
                return run, states
        time.sleep(2)
    raise TimeoutError(f"no asset-triggered rebuild of {dag_id} after {RUN_TIMEOUT} s; runs seen: {seen}")


def _warehouse_tables(warehouse_url: str) -> dict[str, list[tuple]]:
    engine = sa.create_engine(
        sa.make_url(warehouse_url).set(drivername="postgresql+psycopg"), poolclass=sa.pool.NullPool
    )
    try:
        with engine.connect() as connection:
            return {
                table: [tuple(row) for row in connection.execute(sa.text(f"select * from {table}")).all()]
                for table in ("mart.daily_new_tech_enterprises", "ops.file_audit")
            }
    finally:
        engine.dispose()


def _check_parkops_pages(native_airflow: NativeAirflow, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``parkops`` plugin's pages, served by this api-server, against this warehouse."""
    client = native_airflow.client
    response = client.get("/api/v2/plugins")
    assert response.status_code == 200, response.text
    (plugin,) = [plugin for plugin in response.json()["plugins"] if plugin["name"] == "parkops"]
    assert [app["url_prefix"] for app in plugin["fastapi_apps"]] == ["/parkops"]
    assert {view["href"] for view in plugin["external_views"]} == {
        "parkops/health",
        "parkops/quarantine",
        "parkops/data-docs/",
    }

    # Mounted plugin apps get no protection from the api-server: the app asks for an Airflow user.
    with httpx.Client(base_url=native_airflow.base_url, timeout=10) as anonymous:
        assert anonymous.get("/parkops/health.json").status_code == 401
        assert anonymous.get("/parkops/quarantine/rows").status_code == 401
        browser = anonymous.get("/parkops/health", headers={"Accept": "text/html"})
        assert browser.status_code == 303 and browser.headers["location"].startswith("/auth/login?next="), (
            browser.status_code,
            browser.headers,
        )

    # The Data Docs build_marts built after its rebuild: the run's registrations validation result.
    docs = client.get("/parkops/data-docs/")
    assert docs.status_code == 200 and "registrations_2025-03-03" in docs.text, docs.text[:2000]

    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", native_airflow.warehouse_url)
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(native_airflow.landing))
    expected = json.loads(cli.health(as_json=True))
    response = client.get("/parkops/health.json")
    assert response.status_code == 200, response.text
    assert response.json()["feeds"] == expected["feeds"]
    assert response.json()["open_incidents"] == expected["open_incidents"]
    (registrations,) = [feed for feed in expected["feeds"] if feed["feed"] == "registrations"]
    assert registrations["rows_loaded"] > 100 and registrations["latest_loaded_delivery"] == LAST.isoformat()

    page = client.get("/parkops/health")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'data-field="rows_loaded">{cli.format_number(registrations["rows_loaded"])}</td>' in page.text

    engine = sa.create_engine(
        sa.make_url(native_airflow.warehouse_url).set(drivername="postgresql+psycopg"), poolclass=sa.pool.NullPool
    )
    try:
        with engine.connect() as connection:
            rule = connection.execute(sa.text("select min(rule) from ops.quarantine")).scalar_one()
    finally:
        engine.dispose()
    assert rule, "the sample registrations have defects that are quarantined"
    quarantine = client.get("/parkops/quarantine")
    assert quarantine.status_code == 200 and rule in quarantine.text


@pytest.mark.timeout(600)
def test_celery_topology_runs_the_dag_through_rest_api(
    native_airflow: NativeAirflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    client = native_airflow.client
    try:
        for dag_id in (DAG_ID, MARTS_DAG_ID):
            response = client.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False})
            assert response.status_code == 200, response.text
        conf = {"delivery_from": FIRST.isoformat(), "delivery_to": LAST.isoformat()}
        response = client.post(f"/api/v2/dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": conf})
        assert response.status_code == 200, response.text
        run_id = response.json()["dag_run_id"]

        run = _await_run(client, run_id)
        task_instances = _task_instances(client, run_id)
        states = {ti["task_id"]: ti["state"] for ti in task_instances}
        assert run["state"] == "success", f"run {run_id}: {run['state']}; task states {states}"
        assert states == dict.fromkeys(TASK_IDS, "success")

        # Executed by the Celery worker: queued on this test's Celery queue (served by that
        # worker alone), run in a task process with a pid, and received by the worker.
        worker_log = native_airflow.worker.log_path.read_text(encoding="utf-8", errors="replace")
        executed = [line for line in worker_log.splitlines() if "Executing workload in Celery" in line]
        for ti in task_instances:
            assert ti["queue"] == native_airflow.queue, ti
            assert ti["hostname"] and ti["pid"], ti
            assert ti["try_number"] == 1, ti
            assert any(f"task_id='{ti['task_id']}'" in line and run_id in line for line in executed), (
                ti["task_id"],
                executed,
            )
        scheduler_log = native_airflow.topology.components[1].log_path.read_text(encoding="utf-8", errors="replace")
        assert any("Loaded executor" in line and "CeleryExecutor" in line for line in scheduler_log.splitlines())

        # Data-aware scheduling: the ingest run's asset event makes the scheduler run build_marts.
        marts_run, marts_states = _await_asset_triggered_rebuild(client, MARTS_DAG_ID)
        assert marts_run["state"] == "success", f"{MARTS_DAG_ID}: {marts_run['state']}; task states {marts_states}"
        assert marts_states == dict.fromkeys(MARTS_TASK_IDS, "success")

        tables = _warehouse_tables(native_airflow.warehouse_url)
        expected = expected_landing(native_airflow.landing, FIRST, LAST)
        mart = {(row[0], row[1]): (row[3], row[4], row[5], row[6]) for row in tables["mart.daily_new_tech_enterprises"]}
        assert mart == {key: tuple(counts) for key, counts in expected.daily.items()}
        assert sum(counts.new_tech_enterprises for counts in expected.daily.values()) > 100

        # ops.file_audit: one row per file with the expected status, and nothing lost.
        audit = {row[2]: (row[8], row[9], row[10], row[11]) for row in tables["ops.file_audit"]}
        assert len(audit) == len(tables["ops.file_audit"])
        assert all(received == loaded + quarantined for _, received, loaded, quarantined in audit.values())
        assert audit == {
            name: (file.status, file.rows_received, file.rows_loaded, file.rows_quarantined)
            for name, file in expected.files.items()
        }

        pages_started = time.monotonic()
        _check_parkops_pages(native_airflow, monkeypatch)
        print(f"native topology: parkops plugin pages checked in {time.monotonic() - pages_started:.1f} s")
    except BaseException:
        print(native_airflow.topology.diagnostics(lines=80))
        raise
    finally:
        print(f"native topology: DAG run phase took {time.monotonic() - started:.1f} s")
