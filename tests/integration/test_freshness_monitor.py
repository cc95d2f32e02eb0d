"""The freshness monitor on a warehouse loaded from generated feeds, alerts through a real SMTP server.

Deliveries 2025-03-01..2025-03-14 are generated; visits are loaded through 2025-03-14 and
registrations through 2025-03-13, so on 2025-03-14 registrations miss their 09:00 deadline
while their files sit in the landing area.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.pipeline import generate_landing, load_feeds, rows
from support.smtp import Inbox, free_port, smtp_server

from parkops import cli
from parkops.ops.freshness.monitor import FreshnessAlertsNotDelivered, check_freshness
from parkops.warehouse import create_warehouse_engine

FIRST, LAST = dt.date(2025, 3, 1), dt.date(2025, 3, 14)
ON_CALL = "oncall-test@example.cn"
LATE_TITLE = "【数据迟到】企业登记（registrations）：2025-03-14 的交付逾期未加载（应于 09:00 前到达）"
RECOVERY_TITLE = "【已恢复】企业登记（registrations）：2025-03-14 的交付已加载，迟到约 3 小时 30 分钟"

OPERATIONS_YAML = f"""
alerts:
  email: [{ON_CALL}]
  sender: "数据平台测试 <parkops-test@example.cn>"
  smtp_conn_id: smtp_default
  webhooks: []
  airflow_base_url: http://airflow.test:8080
freshness:
  registrations:
    due_time: "09:00"
  visits:
    due_time: "10:00"
"""


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"2025-03-14T{text}")


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_landing(tmp_path_factory.mktemp("landing"), FIRST, LAST)


def load_until_late(url: str, landing: Path, first: dt.date) -> None:
    load_feeds(url, landing, first, LAST, feeds=("visits",), rebuild=False)
    load_feeds(url, landing, first, LAST - dt.timedelta(days=1), feeds=("registrations",), rebuild=False)


def load_missing_delivery(url: str, landing: Path) -> None:
    load_feeds(url, landing, LAST, LAST, feeds=("registrations",), rebuild=False)


@pytest.fixture(scope="module")
def late_warehouse(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two weeks loaded but registrations' last delivery, once; each test works on a copy."""
    path = tmp_path_factory.mktemp("template") / "warehouse.duckdb"
    load_until_late(f"duckdb:///{path}", landing, FIRST)
    return path


@pytest.fixture
def duckdb_url(late_warehouse: Path, tmp_path: Path) -> str:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(late_warehouse, copy)
    return f"duckdb:///{copy}"


@pytest.fixture
def inbox(tmp_path: Path, landing: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    config = tmp_path / "operations.yaml"
    config.write_text(OPERATIONS_YAML, encoding="utf-8")
    monkeypatch.setenv("PARKOPS_OPERATIONS_CONFIG", str(config))
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(landing))
    with smtp_server() as server:
        for name, value in server.connection_env().items():
            monkeypatch.setenv(name, value)
        yield server


def check(url: str, when: str, **options) -> list:
    engine = create_warehouse_engine(url)
    try:
        return check_freshness(engine, at(when), **options)
    finally:
        engine.dispose()


def subjects(inbox: Inbox) -> list[str]:
    return [str(received.message["Subject"]) for received in inbox.received]


def body(received) -> str:
    return received.message.get_body(("html",)).get_content()


def incidents(url: str) -> list[dict]:
    return rows(url, "select * from ops.feed_incidents order by opened_at")


def independent_quarantine_share(url: str, feed: str) -> float:
    """Quarantined / received rows of the file versions in effect (loaded or rejected), summed in Python."""
    audit = rows(
        url, "select status, rows_received, rows_quarantined from ops.file_audit where feed = :feed", {"feed": feed}
    )
    in_effect = [row for row in audit if row["status"] in ("loaded", "rejected")]
    return sum(row["rows_quarantined"] for row in in_effect) / sum(row["rows_received"] for row in in_effect)


def test_late_delivery_alerts_once_then_recovers(
    duckdb_url: str, landing: Path, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", duckdb_url)

    assert check(duckdb_url, "08:30") == [], "before 09:00 the 2025-03-13 delivery is the one due, and it is loaded"
    # 2025-03-14 has landed by its 09:00 deadline: not late while the ingest has its two hours.
    assert check(duckdb_url, "09:30") == []
    assert inbox.received == [] and incidents(duckdb_url) == []

    (opened,) = check(duckdb_url, "11:30")
    assert opened.change == "opened" and opened.incident.feed == "registrations"
    assert subjects(inbox) == [LATE_TITLE]
    assert inbox.received[0].rcpt_tos == [ON_CALL]
    text = body(inbox.received[0])
    assert "落地区已有 3 个文件" in text and "尚未加载" in text and "11:00 前加载" in text
    assert "已加载的最新交付：2025-03-13" in text
    (incident,) = incidents(duckdb_url)
    assert incident["expected_delivery"] == dt.date(2025, 3, 14)
    assert incident["due_at"] == at("09:00") and incident["opened_at"] == at("11:30")
    assert incident["alerted_at"] is not None and incident["resolved_at"] is None
    assert incident["open_feed"] == "registrations"

    # Still late, and visits' deadline passes with their delivery loaded: nothing more.
    assert check(duckdb_url, "12:00") == []
    assert check(duckdb_url, "12:15") == []
    assert subjects(inbox) == [LATE_TITLE]

    shown = cli.health()
    assert "未关闭的迟到事件（1 个" in shown and LATE_TITLE in shown
    report = json.loads(cli.health(as_json=True))
    assert report["warehouse"] == "loaded"
    assert [item["feed"] for item in report["open_incidents"]] == ["registrations"]
    by_feed = {item["feed"]: item for item in report["feeds"]}
    assert by_feed["registrations"]["latest_landed_delivery"] == "2025-03-14"
    assert by_feed["registrations"]["latest_loaded_delivery"] == "2025-03-13"
    assert by_feed["registrations"]["open_incidents"] == 1
    for feed in ("registrations", "visits"):
        assert by_feed[feed]["quarantine_share"] == pytest.approx(independent_quarantine_share(duckdb_url, feed))
        assert f"{by_feed[feed]['quarantine_share'] * 100:.1f}%" in shown
    loaded = rows(
        duckdb_url, "select sum(rows_loaded) as n from ops.file_audit where feed = 'visits' and status = 'loaded'"
    )
    assert by_feed["visits"]["rows_loaded"] == loaded[0]["n"]

    load_missing_delivery(duckdb_url, landing)
    (resolved,) = check(duckdb_url, "12:30")
    assert resolved.change == "resolved"
    assert subjects(inbox) == [LATE_TITLE, RECOVERY_TITLE]
    assert "已加载的最新交付：2025-03-14" in body(inbox.received[1])
    (incident,) = incidents(duckdb_url)
    assert incident["resolved_at"] == at("12:30") and incident["recovery_alerted_at"] is not None
    assert incident["open_feed"] is None

    assert check(duckdb_url, "13:00") == []
    assert len(inbox.received) == 2
    assert "未关闭的迟到事件：无" in cli.health()


def test_undelivered_alert_is_sent_by_the_next_check(
    duckdb_url: str, inbox: Inbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nothing_landed = tmp_path / "empty_landing"
    nothing_landed.mkdir()
    working_smtp = inbox.connection_env()["AIRFLOW_CONN_SMTP_DEFAULT"]
    unreachable = json.loads(working_smtp) | {"port": free_port()}
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(unreachable))
    with pytest.raises(FreshnessAlertsNotDelivered, match="email"):
        check(duckdb_url, "09:30", landing=nothing_landed)
    (incident,) = incidents(duckdb_url)
    assert incident["alerted_at"] is None and incident["resolved_at"] is None

    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", working_smtp)
    (retried,) = check(duckdb_url, "10:00", landing=nothing_landed)
    assert retried.change == "opened"
    assert subjects(inbox) == [LATE_TITLE]
    assert "落地区没有该交付的文件（registrations/2025-03-14/）" in body(inbox.received[0])
    assert incidents(duckdb_url)[0]["alerted_at"] is not None
    assert check(duckdb_url, "10:15", landing=nothing_landed) == []
    assert len(inbox.received) == 1


def test_empty_warehouse_says_so(tmp_path: Path, landing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(landing))
    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", f"duckdb:///{tmp_path / 'none.duckdb'}")
    assert "仓库尚未创建" in cli.health()
    engine = create_warehouse_engine(f"duckdb:///{tmp_path / 'none.duckdb'}")
    with engine.begin() as connection:
        connection.execute(sa.text("create schema ops"))
    engine.dispose()
    shown = cli.health()
    assert "仓库中还没有加载记录" in shown and "未关闭的迟到事件：无" in shown
    assert json.loads(cli.health(as_json=True))["warehouse"] == "empty"


@pytest.mark.postgres
def test_late_delivery_on_postgresql(postgres_url: str, landing: Path, inbox: Inbox) -> None:
    load_until_late(postgres_url, landing, LAST - dt.timedelta(days=2))
    assert check(postgres_url, "08:30") == []
    assert check(postgres_url, "09:30") == []  # landed, within the load grace
    assert [transition.change for transition in check(postgres_url, "11:30")] == ["opened"]
    assert check(postgres_url, "11:45") == []
    assert subjects(inbox) == [LATE_TITLE]
    load_missing_delivery(postgres_url, landing)
    assert [transition.change for transition in check(postgres_url, "12:30")] == ["resolved"]
    assert subjects(inbox) == [LATE_TITLE, RECOVERY_TITLE]
    (incident,) = incidents(postgres_url)
    assert incident["resolved_at"] == at("12:30") and incident["open_feed"] is None
