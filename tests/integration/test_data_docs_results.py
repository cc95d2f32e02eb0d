"""Data Docs of what the pipeline validated: two registration runs loaded by the task callables, on both engines.

run-clean loads 2025-03-10 (two clean files, 10 + 5 rows); run-bad loads 2025-03-11 (one file of
10 rows, 2 with a USCC whose check character is wrong). The site must list both runs with their
outcome, show the failing expectation's count, and hold none of the rows' values.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from fastapi.testclient import TestClient
from support.landing import numbered_uscc, write_registration_delivery
from support.pipeline import rows, run_pipeline

from parkops.quality.data_docs import CDN_ASSETS, VENDOR_DIR, build_data_docs

CLEAN_DAY, BAD_DAY = dt.date(2025, 3, 10), dt.date(2025, 3, 11)
BAD_NUMBERS = {101, 102}

_INDEX_ENTRY = re.compile(
    r"'run_name': '(?P<run>[^']*)'.*?'_table_row_link_path': '(?P<path>[^']*)', "
    r"'_validation_success_text': '(?P<status>\w+)', 'asset_name': '(?P<feed>[^']*)'",
    re.DOTALL,
)


def uscc(number: int) -> str:
    return numbered_uscc(number, bad=number in BAD_NUMBERS)


def enterprise(number: int) -> str:
    return f"上海张江文档{number}科技有限公司"


def write_delivery(landing: Path, delivery: dt.date, name: str, numbers: range) -> None:
    write_registration_delivery(
        landing,
        delivery,
        name,
        numbers,
        bad=BAD_NUMBERS & set(numbers),
        enterprise_name="上海张江文档{number}科技有限公司",
    )


def index_entries(site: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(feed, run) -> (Success/Failed, the page's link as the index has it)."""
    index = (site / "index.html").read_text(encoding="utf-8")
    return {(match["feed"], match["run"]): (match["status"], match["path"]) for match in _INDEX_ENTRY.finditer(index)}


def page_text(path: Path) -> str:
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


@pytest.fixture
def loaded(use_warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    landing = tmp_path / "landing"
    write_delivery(landing, CLEAN_DAY, "reg_20250310_01.csv", range(1, 11))
    write_delivery(landing, CLEAN_DAY, "reg_20250310_02.csv", range(11, 16))
    write_delivery(landing, BAD_DAY, "reg_20250311_01.csv", range(101, 111))
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(landing))
    monkeypatch.delenv("PARKOPS_OPERATIONS_CONFIG", raising=False)
    run_pipeline("run-clean", CLEAN_DAY, CLEAN_DAY, transform=False)
    run_pipeline("run-bad", BAD_DAY, BAD_DAY, transform=False)
    return use_warehouse


def test_the_site_shows_each_runs_results_without_row_values(loaded, tmp_path, monkeypatch):
    url = loaded
    planted = sorted(uscc(number) for number in BAD_NUMBERS)
    # The quarantine holds the bad codes: their absence from the site below means something.
    quarantined = rows(url, "select value from ops.quarantine where rule = 'uscc_invalid' order by value")
    assert [row["value"] for row in quarantined] == planted

    site = build_data_docs(tmp_path / "data_docs", warehouse_url=url)
    entries = index_entries(site)
    assert {key: status for key, (status, _) in entries.items()} == {
        ("registrations", "run-clean"): "Success",
        ("registrations", "run-bad"): "Failed",
    }
    bad = page_text(site / unquote(entries[("registrations", "run-bad")][1]))
    assert "2 unexpected values found. 20% of 10 total rows." in bad
    assert "ingest run run-bad" in bad and "deliveries 2025-03-11" in bad and "files validated 1" in bad
    clean = page_text(site / unquote(entries[("registrations", "run-clean")][1]))
    assert "files validated 2" in clean and "deliveries 2025-03-10" in clean and "Unsuccessful Expectations 0" in clean

    # No value of any row, quarantined or loaded, in any file of the site.
    values = [*planted, uscc(103), uscc(1), enterprise(101), enterprise(1)]
    for path in (path for path in site.rglob("*") if path.is_file()):
        content = path.read_bytes()
        leaked = [value for value in values if value.encode("utf-8") in content]
        assert not leaked, f"{path.relative_to(site)} holds {leaked}"

    # Served by the UI plugin, links and vendored files resolve as they do from the file system.
    from parkops.ui.app import create_app
    from parkops.ui.auth import airflow_user, personal_data_reader, quarantine_row_reader

    monkeypatch.setenv("PARKOPS_DATA_DOCS_DIR", str(site))
    app = create_app()
    app.dependency_overrides[airflow_user] = lambda: "test-user"
    app.dependency_overrides[quarantine_row_reader] = lambda: None
    app.dependency_overrides[personal_data_reader] = lambda: True
    with TestClient(app) as client:
        assert "run-bad" in client.get("/data-docs/").text
        page_link = entries[("registrations", "run-bad")][1]
        response = client.get(f"/data-docs/{page_link}")
        assert response.status_code == 200 and "unexpected values found" in response.text
        bootstrap = CDN_ASSETS["https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"]
        stylesheet = client.get(f"/data-docs/{VENDOR_DIR}/{quote(bootstrap)}")
        assert stylesheet.status_code == 200 and stylesheet.headers["content-type"].startswith("text/css")
        font = client.get(f"/data-docs/{VENDOR_DIR}/fontawesome-free-6.6.0/webfonts/fa-solid-900.woff2")
        assert font.status_code == 200 and font.content[:4] == b"wOF2"

    # Only the latest run is kept when asked for one; ops.validation_results still has both.
    latest = build_data_docs(tmp_path / "latest", warehouse_url=url, latest_runs=1)
    assert {key: status for key, (status, _) in index_entries(latest).items()} == {
        ("registrations", "run-bad"): "Failed"
    }
    assert rows(url, "select count(distinct run_id) as runs from ops.validation_results") == [{"runs": 2}]
