"""End to end through Airflow: `airflow dags test` runs of ingest_enterprise_registrations, then build_marts.

Each run is a real DAG run in a fresh Airflow metadata database (tasks in process), on generated
landing files, against a DuckDB and a PostgreSQL warehouse. The mart is compared with an
independent recount from the landing files, and a second run must change no table.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from support.independent import expected_landing
from support.landing import generate_registrations
from support.pipeline import rows, snapshot, snapshot_diff

PROJECT = Path(__file__).resolve().parents[2]
FIRST, LAST = dt.date(2025, 3, 3), dt.date(2025, 3, 14)  # 12 days: every file-level defect occurs once
SCHEMAS = ("raw", "staging", "core", "mart", "ops")

pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_registrations(tmp_path_factory.mktemp("landing"), FIRST, LAST)


def run_dag(env: dict[str, str], landing: Path, warehouse_url: str, first: dt.date, last: dt.date) -> str:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "parkops_tools.run_dag",
            "ingest_enterprise_registrations",
            "build_marts",
            "--from",
            first.isoformat(),
            "--to",
            last.isoformat(),
            "--continue-on-held",
        ],
        env={**env, "PARKOPS_LANDING_DIR": str(landing), "PARKOPS_WAREHOUSE_URL": warehouse_url},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "succeeded" in completed.stdout
    return completed.stdout + completed.stderr


def test_dag_run_matches_independent_recount_and_rerun_changes_nothing(airflow_home, landing, warehouse_url):
    output = run_dag(airflow_home, landing, warehouse_url, FIRST, LAST)

    expected = expected_landing(landing, FIRST, LAST)
    # The quality gate holds the deliveries the independent rule says, and the run says so.
    assert expected.held, "the sample should hold a delivery (a file refused whole)"
    held = rows(warehouse_url, "select delivery_date from ops.held_batches where feed = 'registrations'")
    assert {row["delivery_date"] for row in held} == expected.held
    assert f"质量闸门扣留 企业登记（registrations）{len(expected.held)} 个批次" in output
    before = snapshot(warehouse_url)
    mart = {(row[0], row[1]): (row[3], row[4], row[5], row[6]) for row in before["mart.daily_new_tech_enterprises"]}
    assert mart == {key: tuple(counts) for key, counts in expected.daily.items()}
    assert sum(counts.new_tech_enterprises for counts in expected.daily.values()) > 500

    audit_statuses = sorted(row[8] for row in before["ops.file_audit"])
    assert audit_statuses.count("rejected") == 2
    assert audit_statuses.count("duplicate") == 1
    assert len(before["staging.registrations"]) == expected.valid_row_count

    # The same range again (DuckDB; PostgreSQL's reruns are covered by the integration tests, each
    # Airflow run costs ~20 s), and an overlapping one: through Airflow, nothing may change.
    if warehouse_url.startswith("duckdb"):
        run_dag(airflow_home, landing, warehouse_url, FIRST, LAST)
    run_dag(airflow_home, landing, warehouse_url, FIRST + dt.timedelta(days=4), LAST)
    assert snapshot_diff(before, snapshot(warehouse_url)) == []
