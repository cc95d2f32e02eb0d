"""Hostile file names and cell values are data: loaded or quarantined verbatim, escaped when shown.

A registrations file whose name carries quotes, a semicolon, SQL, Jinja and HTML lands next to
one whose cells do. Both load normally on each engine: the text reaches raw/staging (a valid row)
or ops.quarantine (an invalid one) exactly as received, no statement runs from it, and the
quarantine browser of the Airflow UI plugin shows it escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.independent import build_uscc
from support.pipeline import rows, run_pipeline, scalar

from parkops.ui.app import create_app
from parkops.ui.auth import airflow_user, personal_data_reader, quarantine_row_reader

DELIVERY = "2025-03-10"
HOSTILE_NAME = (
    "'; drop table staging.registrations; -- {{ 7*7 }} <script>alert(1)<script> ..名单.csv"  # no "/" in a name
)
SQL = "'; drop table staging.registrations; --"
JINJA = "{{ 7*7 }}{% if true %}x{% endif %}"
SCRIPT = "<script>alert('x')</script>"
TRAVERSAL = "../../etc/passwd"
FORMULA = '=HYPERLINK("http://evil.example","点我")'
VALID = build_uscc("91310115MA000777")
HEADER = "统一社会信用代码,企业名称,事件类型,事件日期,成立日期,注册地址,法定代表人,所属园区,行业代码\n"
PARK_AND_CLASS = ("张江核心园", "6520")


def csv_line(*cells: str) -> str:
    return ",".join('"' + cell.replace('"', '""') + '"' for cell in cells) + "\n"


@pytest.fixture
def landed(use_warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    landing = tmp_path / "landing"
    folder = landing / "registrations" / DELIVERY
    folder.mkdir(parents=True)
    body = HEADER
    body += csv_line(VALID, SQL, "设立", "2025-03-05", "2025-03-05", TRAVERSAL, FORMULA, *PARK_AND_CLASS)  # valid
    body += csv_line(SCRIPT, JINJA, "设立", "2025-03-05", "2025-03-05", "", "", *PARK_AND_CLASS)  # invalid USCC
    (folder / HOSTILE_NAME).write_text(body, encoding="utf-8")
    hostile_code = csv_line(f"{SQL}{SCRIPT}", "x", "设立", "", "", "", "", *PARK_AND_CLASS)
    (folder / "名..单..csv").write_text(HEADER + hostile_code, "utf-8")
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(landing))
    day = dt.date.fromisoformat(DELIVERY)
    summary = run_pipeline("hostile", day, day, transform=False)
    return {"url": use_warehouse, "summary": summary, "landing": landing}


def test_hostile_names_and_cells_load_verbatim(landed: dict) -> None:
    url = landed["url"]
    assert landed["summary"]["files_loaded"] == 2, landed["summary"]
    audit = {row["file_name"]: row for row in rows(url, "select * from ops.file_audit")}
    assert set(audit) == {HOSTILE_NAME, "名..单..csv"}
    assert audit[HOSTILE_NAME]["source_file"] == f"registrations/{DELIVERY}/{HOSTILE_NAME}"
    assert (audit[HOSTILE_NAME]["rows_received"], audit[HOSTILE_NAME]["rows_loaded"]) == (2, 1)

    (raw,) = rows(url, "select * from raw.registrations")
    assert (raw["enterprise_name"], raw["address"], raw["legal_representative"]) == (SQL, TRAVERSAL, FORMULA)
    assert raw["source_file"].endswith(HOSTILE_NAME)
    assert scalar(url, "select enterprise_name from staging.registrations") == SQL

    quarantined = rows(url, "select * from ops.quarantine where column_name = 'uscc' order by value")
    values = {row["value"] for row in quarantined}
    assert SCRIPT in values and f"{SQL}{SCRIPT}" in values
    record = json.loads(next(row for row in quarantined if row["value"] == SCRIPT)["record_json"])
    assert record["enterprise_name"] == JINJA
    # Nothing ran: every table is still there, reference data included.
    assert scalar(url, "select count(*) from core.dim_park") > 0


def test_quarantine_browser_escapes_hostile_text(landed: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app()
    app.dependency_overrides[airflow_user] = lambda: "test-user"
    app.dependency_overrides[quarantine_row_reader] = lambda: None
    app.dependency_overrides[personal_data_reader] = lambda: True
    client = TestClient(app)
    for path in ("/quarantine", "/quarantine/rows"):
        response = client.get(path, params={"feed": "registrations"})
        assert response.status_code == 200, response.text
        page = response.text
        assert "<script>alert" not in page, f"{path}: a script tag from the data reached the page"
    rows_page = client.get("/quarantine/rows", params={"feed": "registrations"}).text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in rows_page  # the value, escaped
    assert html.escape(HOSTILE_NAME) in rows_page  # the file name, escaped, Jinja braces shown as text


def test_files_built_to_exhaust_memory_are_rejected_whole(use_warehouse: str, tmp_path: Path) -> None:
    """A far-cell workbook, a zip bomb and an oversized CSV land beside a good file. The run, in a
    child whose address space is capped (a regression fails it, not the test runner), rejects each
    whole with the cap named, counts their rows, audits them and holds the delivery."""
    import os
    import resource
    import subprocess
    import sys

    from support.bombs import config_with_limits, far_cell_workbook, registrations_csv, zip_bomb_workbook
    from support.landing import write_registration_delivery

    url = use_warehouse
    landing = tmp_path / "landing"
    day = dt.date(2025, 3, 11)
    write_registration_delivery(landing, day, "reg_good.csv", range(1, 41))
    folder = landing / "registrations" / day.isoformat()
    far_cell_workbook(folder / "reg_far.xlsx", rows=[["统一社会信用代码", "企业名称"], [VALID, "测试"]])
    zip_bomb_workbook(folder / "reg_bomb.xlsx", inflated_mb=60)
    registrations_csv(folder / "reg_big.csv", rows=4_000)  # about 1 MB, 4,001 lines
    config = config_with_limits(tmp_path, max_file_mb=0.5, max_workbook_member_mb=5)

    def cap_address_space() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, 6 * 2**30))

    env = {**os.environ, "PARKOPS_LANDING_DIR": str(landing), "PARKOPS_OPERATIONS_CONFIG": str(config)}
    script = (
        "import datetime as dt, json; from support.pipeline import run_pipeline; "
        f"day = dt.date.fromisoformat('{day}'); print(json.dumps(run_pipeline('bombs', day, day, transform=False)))"
    )
    tests_dir = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tests_dir), env.get("PYTHONPATH")]))
    child = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=cap_address_space,
    )
    assert child.returncode == 0, f"the run died (exit {child.returncode}): {child.stderr[-2000:]}"

    audit = {row["file_name"]: row for row in rows(url, "select * from ops.file_audit where feed = 'registrations'")}
    assert {name: (row["status"], row["rows_received"], row["rows_quarantined"]) for name, row in audit.items()} == {
        "reg_good.csv": ("loaded", 40, 0),
        "reg_far.xlsx": ("rejected", 2, 2),  # rows 2 and 1048576 (the header is row 1)
        "reg_bomb.xlsx": ("rejected", 1, 1),  # not counted: one row
        "reg_big.csv": ("rejected", 4_000, 4_000),  # its lines less the header
    }
    assert {name: row["rows_counted_by"] for name, row in audit.items() if row["status"] == "rejected"} == {
        "reg_far.xlsx": "sheet_rows",
        "reg_bomb.xlsx": "uncountable",
        "reg_big.csv": "text_lines",
    }
    assert "ingest_limits.max_sheet_rows = 200,000" in audit["reg_far.xlsx"]["reason"]
    assert "ingest_limits.max_workbook_member_mb = 5" in audit["reg_bomb.xlsx"]["reason"]
    assert "ingest_limits.max_file_mb = 0.5" in audit["reg_big.csv"]["reason"]
    rules = {
        (row["file_name"], row["rule"])
        for row in rows(
            url,
            "select distinct f.file_name, q.rule from ops.quarantine q "
            "join ops.file_audit f on f.source_file = q.source_file",
        )
    }
    assert rules == {
        ("reg_far.xlsx", "sheet_too_large"),
        ("reg_bomb.xlsx", "workbook_too_large"),
        ("reg_big.csv", "file_too_large"),
    }
    # 4,003 of 4,043 rows quarantined: the delivery is held, nothing of it published.
    assert scalar(url, "select status from ops.quality_gate_batches where feed = 'registrations'") == "held"
