"""The quality gate on both engines: a held batch reaches nothing downstream; release, rerun, correction.

Three registration deliveries written here: 03-10 clean, 03-11 with 6 of 20 rows failing the USCC
check in one file (30 %, held) beside a clean file, 03-12 clean. Each step goes through the task
callables the DAGs call (reference data, discover, ingest, check_quality_gate, rebuild).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from support.landing import write_registration_delivery
from support.pipeline import rows, run_pipeline, scalar

from parkops.pipeline import tasks

CLEAN_DAY, HELD_DAY, LATER_DAY = dt.date(2025, 3, 10), dt.date(2025, 3, 11), dt.date(2025, 3, 12)
BAD_ROWS = 6


def write_delivery(landing: Path, delivery: dt.date, name: str, numbers: range, bad: set[int] = frozenset()) -> Path:
    return write_registration_delivery(landing, delivery, name, numbers, bad=bad)


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "landing"
    write_delivery(root, CLEAN_DAY, "reg_20250310_01.csv", range(1, 21))
    write_delivery(root, HELD_DAY, "reg_20250311_01.csv", range(101, 121), bad=set(range(101, 101 + BAD_ROWS)))
    write_delivery(root, HELD_DAY, "reg_20250311_02.csv", range(201, 211))
    write_delivery(root, LATER_DAY, "reg_20250312_01.csv", range(301, 311))
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(root))
    monkeypatch.delenv("PARKOPS_OPERATIONS_CONFIG", raising=False)
    return root


def events_by_delivery(url: str, table: str = "core.fct_registration_events") -> dict[str, int]:
    query = f"select cast(delivery_date as text) as day, count(*) as n from {table} group by delivery_date"
    return {row["day"]: row["n"] for row in rows(url, query)}


def new_firms_by_day(url: str) -> int:
    return scalar(url, "select coalesce(sum(new_enterprises), 0) from mart.daily_new_tech_enterprises")


def test_a_held_batch_reaches_nothing_downstream_until_released(use_warehouse, landing):
    url = use_warehouse
    summary = run_pipeline("run-1", CLEAN_DAY, LATER_DAY)
    assert [(batch["delivery_date"], batch["rows_quarantined"]) for batch in summary["held"]] == [
        (HELD_DAY.isoformat(), BAD_ROWS)
    ]
    assert summary["batches_published"] == 2

    # Staging keeps the held batch's valid rows (nothing is lost); core and mart have none of them.
    assert events_by_delivery(url, "staging.registrations") == {"2025-03-10": 20, "2025-03-11": 24, "2025-03-12": 10}
    assert events_by_delivery(url) == {"2025-03-10": 20, "2025-03-12": 10}
    assert scalar(url, "select count(*) from core.dim_enterprise") == 30
    assert new_firms_by_day(url) == 30
    held = rows(
        url, "select feed, cast(delivery_date as text) as day, rows_received, rows_quarantined from ops.held_batches"
    )
    assert held == [{"feed": "registrations", "day": "2025-03-11", "rows_received": 30, "rows_quarantined": 6}]

    # The run fails (a data error) with the batch's counts, top failing rule and sample rows.
    with pytest.raises(tasks.QualityGateHeld) as raised:
        tasks.check_quality_gate("registrations", summary)
    assert "2025-03-11" in str(raised.value) and "release_held_batch" in str(raised.value)
    lines = raised.value.alert_lines
    assert lines[0].startswith("2025-03-11：6/30 行被隔离（20.0%，上限 5%），2 个文件")
    assert lines[1] == "主要失败规则：统一社会信用代码无效 6 行"  # the rule's Chinese label, not its id
    samples = [line for line in lines if line.startswith("样例：")]
    assert len(samples) == 3
    assert samples[0].startswith("样例：registrations/2025-03-11/reg_20250311_01.csv 第 2 行 uscc=")

    # A rerun of the same interval changes nothing and is held again (no duplicate decision).
    again = run_pipeline("run-2", CLEAN_DAY, LATER_DAY)
    assert [batch["delivery_date"] for batch in again["held"]] == ["2025-03-11"]
    assert scalar(url, "select count(*) from ops.quality_gate_log where action = 'held'") == 1
    assert events_by_delivery(url) == {"2025-03-10": 20, "2025-03-12": 10}

    # Released by a person: the 24 valid rows publish at the next rebuild; the 6 stay quarantined.
    released = tasks.release_or_rerun("registrations", "2025-03-11", "release", "张工", "规则无误，其余行可用", "rel-1")
    assert released["held"] == []
    tasks.rebuild(["registrations"])
    assert events_by_delivery(url) == {"2025-03-10": 20, "2025-03-11": 24, "2025-03-12": 10}
    assert new_firms_by_day(url) == 54
    assert scalar(url, "select count(*) from ops.quarantine where cast(delivery_date as text) = '2025-03-11'") == 6
    log = rows(url, "select action, actor, note from ops.quality_gate_log order by logged_at")
    assert [entry["action"] for entry in log] == ["published", "held", "published", "released"]
    assert log[-1]["actor"] == "张工" and log[-1]["note"] == "规则无误，其余行可用"
    # A released batch stays released when its files are seen again unchanged.
    run_pipeline("run-3", HELD_DAY, HELD_DAY)
    assert scalar(url, "select status from ops.quality_gate_batches where delivery_date = '2025-03-11'") == "released"

    with pytest.raises(Exception, match="not held"):
        tasks.release_or_rerun("registrations", "2025-03-11", "release", "张工", "again", "rel-2")


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)  # the gate's SQL runs on both in the first test
def test_a_corrected_file_delivered_later_re_decides_the_held_batch(use_warehouse, landing):
    url = use_warehouse
    run_pipeline("run-1", CLEAN_DAY, HELD_DAY)
    assert events_by_delivery(url) == {"2025-03-10": 20}
    # The supplier sends the file again, corrected, with the next delivery (same name).
    write_delivery(landing, LATER_DAY, "reg_20250311_01.csv", range(101, 121))
    summary = run_pipeline("run-2", LATER_DAY, LATER_DAY)
    assert summary["held"] == []
    decisions = rows(
        url, "select cast(delivery_date as text) as day, status, rows_quarantined from ops.quality_gate_batches"
    )
    assert sorted((row["day"], row["status"], row["rows_quarantined"]) for row in decisions) == [
        ("2025-03-10", "published", 0),
        ("2025-03-11", "published", 0),  # only reg_20250311_02.csv is left in it
        ("2025-03-12", "published", 0),
    ]
    assert events_by_delivery(url) == {"2025-03-10": 20, "2025-03-11": 10, "2025-03-12": 30}


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)  # the gate's SQL runs on both in the first test
def test_a_rerun_after_a_fix_reads_the_batch_again(use_warehouse, landing, tmp_path, monkeypatch):
    url = use_warehouse
    run_pipeline("run-1", HELD_DAY, HELD_DAY)
    first_versions = scalar(url, "select count(*) from ops.file_audit where status = 'loaded'")
    assert first_versions == 2
    # The fix here is the configuration (this feed's share may be 25 %); a code fix reruns the same way.
    config = tmp_path / "operations.yaml"
    config.write_text(
        "quality_gate:\n  feeds:\n    registrations:\n      max_quarantine_share: 0.25\n", encoding="utf-8"
    )
    monkeypatch.setenv("PARKOPS_OPERATIONS_CONFIG", str(config))
    summary = tasks.release_or_rerun("registrations", "2025-03-11", "rerun", "李工", "阈值调整后重跑", "rerun-1")
    assert summary["files_loaded"] == 2 and summary["held"] == []
    tasks.rebuild(["registrations"])
    assert events_by_delivery(url) == {"2025-03-11": 24}
    audit = rows(url, "select status, count(*) as n from ops.file_audit group by status order by status")
    assert audit == [{"status": "loaded", "n": 2}, {"status": "superseded", "n": 2}]
    # No row twice anywhere: staging and quarantine hold exactly one copy of the delivery.
    assert scalar(url, "select count(*) from staging.registrations") == 24
    assert scalar(url, "select count(*) from ops.quarantine") == BAD_ROWS
    assert tasks.check_quality_gate("registrations", summary) == {"held": 0, "published": 1}


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)  # the gate's SQL runs on both in the first test
def test_a_batch_loaded_but_not_yet_decided_is_not_published(use_warehouse, landing):
    """A file version the gate has not decided (loaded after the decision) stays out of core."""
    url = use_warehouse
    run_pipeline("run-1", CLEAN_DAY, CLEAN_DAY)
    from parkops.pipeline import discovery, ingest
    from parkops.warehouse import create_warehouse_engine

    # Load a new file into the decided delivery without the gate deciding (as if the process died
    # between the load's commit and the gate's).
    path = write_delivery(landing, CLEAN_DAY, "reg_20250310_02.csv", range(401, 406))
    loader = ingest.FileLoader(create_warehouse_engine(), "registrations", "run-2")
    loader._load_all(
        [
            discovery.LandedFile(
                "registrations",
                "2025-03-10",
                "registrations/2025-03-10/reg_20250310_02.csv",
                str(path),
                path.name,
                discovery.sha256_of(path),
                path.stat().st_size,
            )
        ]
    )
    tasks.rebuild(["registrations"])
    assert events_by_delivery(url) == {"2025-03-10": 20}
    run_pipeline("run-3", CLEAN_DAY, CLEAN_DAY)
    assert events_by_delivery(url) == {"2025-03-10": 25}


def test_gate_settings_come_from_the_configuration(tmp_path, monkeypatch):
    from parkops.ops.config import OperationsConfigError
    from parkops.pipeline.gate import GateSettings, load_gate_settings

    monkeypatch.delenv("PARKOPS_OPERATIONS_CONFIG", raising=False)
    assert load_gate_settings("registrations") == GateSettings(0.05, 5)
    assert load_gate_settings("manual_statistics") == GateSettings(0.05, 2)
    config = tmp_path / "operations.yaml"
    monkeypatch.setenv("PARKOPS_OPERATIONS_CONFIG", str(config))
    config.write_text("alerts: {}\n", encoding="utf-8")
    assert load_gate_settings("visits") == GateSettings()
    config.write_text("quality_gate:\n  max_quarantine_share: 5\n", encoding="utf-8")
    with pytest.raises(OperationsConfigError, match=r"quality_gate.max_quarantine_share: expected a share"):
        load_gate_settings("visits")
    config.write_text("quality_gate:\n  feeds:\n    visits:\n      min_rows: 3\n", encoding="utf-8")
    with pytest.raises(OperationsConfigError, match=r"quality_gate.feeds.visits: unknown keys \['min_rows'\]"):
        load_gate_settings("visits")


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_the_health_page_and_the_cli_list_the_held_batch(use_warehouse, landing):
    from fastapi.testclient import TestClient

    from parkops import cli
    from parkops.ui.app import create_app
    from parkops.ui.auth import airflow_user

    run_pipeline("run-1", HELD_DAY, HELD_DAY, transform=False)
    report = cli.pipeline_health()
    assert report["held_batches"] == [
        {
            "feed": "registrations",
            "delivery_date": "2025-03-11",
            "files": 2,
            "rows_received": 30,
            "rows_quarantined": BAD_ROWS,
            "quarantine_share": 0.2,
            "max_quarantine_share": 0.05,
            "run_id": "run-1",
            "decided_at": report["held_batches"][0]["decided_at"],
            "top_rules": [{"rule": "uscc_invalid", "label": "统一社会信用代码无效", "rows": BAD_ROWS}],
        }
    ]
    assert [feed["held_batches"] for feed in report["feeds"]] == [1, 0, 0, 0]
    assert "- registrations 2025-03-11：6/30 行被隔离（20.0%，上限 5%），2 个文件" in cli.format_health(report)
    app = create_app("/parkops")
    app.dependency_overrides[airflow_user] = lambda: "test-user"
    with TestClient(app) as client:
        page = client.get("/health").text
    assert '<li data-feed="registrations" data-delivery="2025-03-11">' in page
    assert "6/30 行被隔离（20.0%，上限 5%）" in page
    assert (
        '主要失败规则：<a href="/quarantine?feed=registrations&amp;day=2025-03-11&amp;rule=uscc_invalid">'
        '<span data-field="rule" title="uscc_invalid">统一社会信用代码无效</span></a> 6 行'
    ) in page
    assert 'href="/quarantine?feed=registrations&amp;day=2025-03-11"' in page
    assert 'href="/dags/release_held_batch"' in page
    assert '<span class="status bad">有扣留批次</span>' in page
