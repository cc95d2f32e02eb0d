"""Who sees personal data, against the real Airflow api-server and a real DAG run.

A visits delivery whose needs are free text with a name, a mobile number and an ID number
(tests/support/personal_data.py) is loaded by ``airflow dags test ingest_visit_logs``: the quality
gate holds it, and the failure alert reaches two chat robots on loopback. Then the api-server
(simple auth manager, users of roles ``viewer`` and ``admin``) serves the ``parkops`` plugin on the
warehouse of that run: the viewer gets 403 on the quarantined rows and sees no personal value on
any plugin page; the admin sees the rows with their values.
"""

from __future__ import annotations

import html
import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import PROJECT_DIR
from support.chat_robots import robot_server
from support.personal_data import DELIVERY, FREE_TEXT_NEEDS, PERSONAL, write_personal_landing
from support.topology import Component, Topology, free_port

pytestmark = pytest.mark.airflow

OPERATIONS = """
alerts:
  sender: "张江高新区数据平台 <parkops@zjpark.example.cn>"
  webhooks:
    - kind: wecom
      url_env: PARKOPS_WECOM_WEBHOOK_URL
    - kind: dingtalk
      url_env: PARKOPS_DINGTALK_WEBHOOK_URL
  airflow_base_url: http://airflow.zjpark.example.cn
"""
USERS = {"wang_viewer": "viewer", "chen_admin": "admin"}
STARTUP_TIMEOUT = 150  # s
PLUGIN_PAGES = (
    "/parkops/health",
    "/parkops/health.json",
    "/parkops/quarantine",
    "/parkops/quarantine?feed=visits",
    f"/parkops/quarantine?feed=visits&day={DELIVERY.isoformat()}&rule=needs_not_a_list",
)
ROW_PAGES = ("/parkops/quarantine/rows", "/parkops/quarantine/rows?feed=visits&limit=1000")


def leaked(text: str) -> list[str]:
    """The personal values found in ``text`` (as written or HTML-escaped)."""
    return [value for value in PERSONAL if value in text or html.escape(value) in text]


@pytest.fixture(scope="module")
def held_visits(airflow_home: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The environment of a run of ingest_visit_logs whose batch was held, and what the robots got."""
    root = tmp_path_factory.mktemp("personal_data")
    operations = root / "operations.yaml"
    operations.write_text(OPERATIONS, encoding="utf-8")
    env = {
        **airflow_home,
        "PARKOPS_LANDING_DIR": str(write_personal_landing(root / "landing")),
        "PARKOPS_WAREHOUSE_URL": f"duckdb:///{root / 'warehouse.duckdb'}",
        "PARKOPS_OPERATIONS_CONFIG": str(operations),
    }
    conf = {"delivery_from": DELIVERY.isoformat(), "delivery_to": DELIVERY.isoformat()}
    command = [str(Path(sys.executable).with_name("airflow")), "dags", "test", "ingest_visit_logs"]
    with robot_server() as robots:
        robot_urls = {
            "PARKOPS_WECOM_WEBHOOK_URL": robots.url("/wecom?key=k"),
            "PARKOPS_DINGTALK_WEBHOOK_URL": robots.url("/dingtalk?access_token=t"),
        }
        completed = subprocess.run(
            [*command, "--conf", json.dumps(conf)],
            env={**env, **robot_urls},
            capture_output=True,
            text=True,
            check=False,
            cwd=PROJECT_DIR,
        )
    assert completed.returncode != 0, "the quality gate should hold the delivery"
    return {"env": env, "root": root, "robots": robots, "output": completed.stdout + completed.stderr}


def test_the_chat_robot_message_of_a_held_batch_carries_no_personal_value(held_visits):
    robots = held_visits["robots"]
    (wecom,) = robots.at("/wecom")
    (dingtalk,) = robots.at("/dingtalk")
    for text in (wecom.payload["markdown"]["content"], dingtalk.payload["markdown"]["text"]):
        assert "质量闸门扣留 走访记录（visits）1 个批次" in text, text
        assert "样例：visits/2025-03-10/" in text, text  # the samples are shown, masked
        assert leaked(text) == [], text


@pytest.fixture(scope="module")
def api_server(held_visits: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The api-server (simple auth manager: a viewer and an admin) on the held run's warehouse."""
    home = tmp_path_factory.mktemp("api_server")
    passwords = {user: secrets.token_hex(8) for user in USERS}
    (home / "passwords.json").write_text(json.dumps(passwords), encoding="utf-8")
    port = free_port()
    env = {
        **held_visits["env"],
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{user}:{role}" for user, role in USERS.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
    }
    airflow = str(Path(sys.executable).with_name("airflow"))
    command = [airflow, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    topology = Topology()
    try:
        server = topology.start(Component("api-server", command, home / "api-server.log"), env, home)
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if not server.running() or time.monotonic() > deadline:
                pytest.fail(f"api-server not ready\n{topology.diagnostics()}")
            try:
                if httpx.get(f"{base_url}/api/v2/monitor/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(1)
        yield base_url, passwords
    finally:
        topology.stop(grace_seconds=20)
        assert not topology.leftovers()


def logged_in(api_server: tuple[str, dict[str, str]], user: str) -> httpx.Client:
    base_url, passwords = api_server
    token = httpx.post(f"{base_url}/auth/token", json={"username": user, "password": passwords[user]}, timeout=10)
    assert token.status_code == 201, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return httpx.Client(base_url=base_url, headers=headers, timeout=30)


def test_a_viewer_is_refused_the_rows_and_sees_no_personal_value(api_server):
    with logged_in(api_server, "wang_viewer") as viewer:
        for path in ROW_PAGES:
            response = viewer.get(path)
            assert response.status_code == 403, (path, response.status_code)
            assert leaked(response.text) == [], path
        for path in PLUGIN_PAGES:
            response = viewer.get(path)
            assert response.status_code == 200, (path, response.text[:300])
            assert leaked(response.text) == [], path
        # The overview still counts what is quarantined, for everybody.
        assert 'id="total-rows">6<' in viewer.get("/parkops/quarantine?feed=visits").text


def test_an_admin_sees_the_quarantined_rows_with_their_values(api_server):
    with logged_in(api_server, "chen_admin") as admin:
        response = admin.get("/parkops/quarantine/rows", params={"feed": "visits", "limit": 1000})
        assert response.status_code == 200, response.text[:300]
        assert response.text.count(html.escape(FREE_TEXT_NEEDS)) == 6
        overview = admin.get("/parkops/quarantine", params={"feed": "visits"})
        assert overview.status_code == 200 and "needs (诉求): must be a list of objects" in overview.text
