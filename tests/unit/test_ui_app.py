"""The pages of the ``parkops`` Airflow UI plugin (parkops.ui.app), through FastAPI's TestClient.

Authentication is Airflow's (the api-server's auth manager), which a bare app has not: the tests
override the auth dependencies (user, personal-data permission); tests/e2e/test_native_topology.py
and tests/e2e/test_personal_data_access.py check the real thing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support.pipeline import FEEDS, rows, scalar

from parkops import cli
from parkops.quality.rule_labels import RULE_LABELS, rule_label
from parkops.ui.app import create_app
from parkops.ui.auth import airflow_user, personal_data_reader, quarantine_row_reader
from parkops.ui.queries import WAREHOUSE_BUSY_MESSAGE

PROJECT = Path(__file__).resolve().parents[2]
#: The tables (and suites) of each feed, as README's feed table lists them.
FEED_TABLES = {
    "registrations": {"registrations"},
    "visits": {"visits", "visit_needs"},
    "incubator_reports": {"incubator_reports", "incubator_tenants"},
    "manual_statistics": {"manual_statistics"},
}


class FieldCells(HTMLParser):
    """Text of the ``<td data-field=...>`` cells of each ``<tr data-feed=...>``, and of elements with an id."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[str, dict[str, str]] = {}
        self.by_id: dict[str, str] = {}
        self._feed: str | None = None
        self._open: tuple[str, str] | None = None  # ("cell", field) or ("id", id)
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "tr" and attributes.get("data-feed"):
            self._feed = attributes["data-feed"]
            self.cells.setdefault(self._feed, {})
        elif tag == "td" and self._feed and attributes.get("data-field"):
            self._open, self._text = ("cell", attributes["data-field"]), []
        elif attributes.get("id"):
            self._open, self._text = ("id", attributes["id"]), []

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag in ("td", "strong", "span", "div"):
            kind, name = self._open
            if kind == "cell" and self._feed:
                self.cells[self._feed][name] = "".join(self._text).strip()
            else:
                self.by_id[name] = "".join(self._text).strip()
            self._open = None
        if tag == "tr":
            self._feed = None


def parse(page: str) -> FieldCells:
    parser = FieldCells()
    parser.feed(page)
    return parser


def unauthenticated_client() -> TestClient:
    """The app with Airflow's authentication replaced by "anyone is the test user"."""
    app = create_app()
    app.dependency_overrides[airflow_user] = lambda: "test-user"
    app.dependency_overrides[quarantine_row_reader] = lambda: None
    app.dependency_overrides[personal_data_reader] = lambda: True
    return TestClient(app)


@pytest.fixture
def client(five_week_warehouse: str, five_week_landing: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", five_week_warehouse)
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(five_week_landing))
    with unauthenticated_client() as test_client:
        yield test_client


def test_health_json_is_the_cli_document(client):
    response = client.get("/health.json")
    assert response.status_code == 200
    expected = json.loads(cli.health(as_json=True))
    report = response.json()
    assert report["warehouse"] == "loaded"
    assert report["feeds"] == expected["feeds"]
    assert report["open_incidents"] == expected["open_incidents"]
    assert [feed["feed"] for feed in report["feeds"]] == list(FEEDS)


def test_health_page_lists_every_feed_with_the_cli_numbers(client):
    response = client.get("/health")
    assert response.status_code == 200
    page = response.text
    assert '<meta http-equiv="refresh" content="60">' in page
    cells = parse(page).cells
    expected = json.loads(cli.health(as_json=True))
    assert list(cells) == [feed["feed"] for feed in expected["feeds"]] == list(FEEDS)
    for feed in expected["feeds"]:
        row = cells[feed["feed"]]
        share = feed["quarantine_share"]
        assert row == {
            "name": feed["name"],
            "latest_landed_delivery": feed["latest_landed_delivery"] or "—",
            "latest_loaded_delivery": feed["latest_loaded_delivery"] or "—",
            "last_successful_load_at": (feed["last_successful_load_at"] or "—").replace("T", " "),
            "rows_loaded": cli.format_number(feed["rows_loaded"]),
            "quarantine_share": "—" if share is None else f"{share * 100:.1f}%",
            "rejected_files": str(feed["rejected_files"]),
            "held_batches": str(feed["held_batches"]),
            "open_incidents": str(feed["open_incidents"]),
        }, feed["feed"]
        assert feed["rows_loaded"] > 0
        assert f'href="/dags/{feed_dag(feed["feed"])}"' in page
        assert f'href="/quarantine?feed={feed["feed"]}"' in page
    assert 'href="/data-docs/"' in page
    assert "record_json" not in page


def feed_dag(feed: str) -> str:
    from parkops.ops.freshness.rules import INGEST_DAG_IDS

    return INGEST_DAG_IDS[feed]


def test_quarantine_totals_are_the_quarantined_rows_of_the_feed(client, five_week_warehouse):
    everything = parse(client.get("/quarantine").text).by_id
    assert everything["total-rows"] == f"{scalar(five_week_warehouse, 'select count(*) from ops.quarantine'):,}"
    quarantined_feeds = 0
    for feed in FEEDS:
        response = client.get("/quarantine", params={"feed": feed})
        assert response.status_code == 200
        expected = scalar(five_week_warehouse, "select count(*) from ops.quarantine where feed = :feed", {"feed": feed})
        assert parse(response.text).by_id["total-rows"] == f"{expected:,}", feed
        quarantined_feeds += expected > 0
    assert quarantined_feeds >= 2  # the sample data's defects reach more than one feed


def test_quarantine_filters_by_day_and_rule(client, five_week_warehouse):
    group = rows(five_week_warehouse, "select * from ops.quarantine_by_rule order by rows_quarantined desc limit 1")[0]
    day = group["delivery_date"].isoformat()
    response = client.get("/quarantine", params={"feed": group["feed"], "day": day, "rule": group["rule"]})
    expected = scalar(
        five_week_warehouse,
        "select count(*) from ops.quarantine where feed = :feed and delivery_date = :day and rule = :rule",
        {"feed": group["feed"], "day": group["delivery_date"], "rule": group["rule"]},
    )
    assert parse(response.text).by_id["total-rows"] == f"{expected:,}"
    assert f'<option value="{group["rule"]}" title="{group["rule"]}" selected>{rule_label(group["rule"])}</option>' in (
        response.text
    )
    assert f'value="{day}"' in response.text


class VisibleText(HTMLParser):
    """What a reader sees of a page (text, not tags or attributes), and the ``title`` of every rule cell."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.rule_titles: dict[str, str] = {}  # id on hover -> the label shown
        self._rule: str | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self._skip += tag in ("style", "title")
        if attributes.get("data-field") == "rule":
            self._rule = attributes.get("title")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "title")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._rule is not None:
            self.rule_titles[self._rule] = data
            self._rule = None


@pytest.mark.parametrize("path", ["/quarantine", "/quarantine/rows"])
def test_quarantine_pages_name_rules_in_chinese_with_the_id_on_hover(client, five_week_warehouse, path):
    quarantined = {row["rule"] for row in rows(five_week_warehouse, "select distinct rule from ops.quarantine")}
    assert len(quarantined) >= 5  # the sample's defects break rules of readers and of the suites
    response = client.get(path, params={"limit": 1000} if path.endswith("rows") else {})
    assert response.status_code == 200
    page = VisibleText()
    page.feed(response.text)
    visible = "\n".join(page.text)
    shown = set(page.rule_titles)
    # Every rule in the table (the rows page shows the first 1000 rows) carries its label.
    assert shown and shown <= quarantined
    if path == "/quarantine":
        assert shown == quarantined
    assert {rule: page.rule_titles[rule] for rule in shown} == {rule: RULE_LABELS[rule] for rule in shown}
    leaked = sorted(rule for rule in quarantined if re.search(rf"(?<![a-z_]){rule}(?![a-z_])", visible))
    assert leaked == [], f"rule ids shown as text on {path}"
    # The filter lists every quarantined rule by its label; its value is the id.
    for rule in quarantined:
        assert f'<option value="{rule}" title="{rule}">{RULE_LABELS[rule]}</option>' in response.text


def test_quarantine_columns_show_the_header_a_supplier_writes(client, five_week_warehouse):
    # The Chinese headers of the contract, as the suites record them for their reasons.
    headers = {
        feed: {
            column: label
            for path in (PROJECT / "expectations").glob("*.json")
            if path.stem in FEED_TABLES[feed]
            for column, label in json.loads(path.read_text(encoding="utf-8"))["meta"]["column_labels"].items()
        }
        for feed in FEEDS
    }
    groups = rows(five_week_warehouse, "select distinct feed, column_name from ops.quarantine_by_rule")
    page = client.get("/quarantine").text
    cells = re.findall(
        r'<tr data-feed="([^"]+)"(?:(?!<tr ).)*?<td><span data-field="column" title="([^"]+)">([^<]+)</span>', page
    )
    shown = {(feed, column): label for feed, column, label in cells}
    expected = {
        (group["feed"], group["column_name"]): headers[group["feed"]][group["column_name"]]
        for group in groups
        if group["column_name"] in headers[group["feed"]]
    }
    assert len(expected) >= 10 and shown == expected


def test_quarantine_rows_show_the_sample_row(client, five_week_warehouse):
    # A group from one file: its sample file and lowest row number are those of one quarantined row.
    group = rows(
        five_week_warehouse,
        "select * from ops.quarantine_by_rule where files = 1 and sample_row_number is not null "
        "order by feed, delivery_date, rule, column_name limit 1",
    )[0]
    params = {"feed": group["feed"], "day": group["delivery_date"].isoformat(), "rule": group["rule"], "limit": 1000}
    response = client.get("/quarantine/rows", params=params)
    assert response.status_code == 200
    page = response.text
    # The sample file's row: its cells follow one another in the table row.
    file_cell = f'data-path="{group["sample_file"]}"'
    row_cell = f'<td class=num data-field="row_number">{group["sample_row_number"]}</td>'
    assert any(file_cell in row and row_cell in row for row in page.split("<tr ")), group
    assert group["sample_reason"] in page
    assert "record_json" not in page.replace("（record_json）", "")  # named in the explanation only
    record = scalar(
        five_week_warehouse,
        "select record_json from ops.quarantine where feed = :feed and source_file = :file and row_number = :row "
        "and rule = :rule limit 1",
        {"feed": group["feed"], "file": group["sample_file"], "row": group["sample_row_number"], "rule": group["rule"]},
    )
    assert record and record not in page


def test_quarantine_rows_are_limited(client, five_week_warehouse):
    total = scalar(five_week_warehouse, "select count(*) from ops.quarantine")
    page = client.get("/quarantine/rows", params={"limit": 5}).text
    assert page.count("<tr data-feed=") == 5
    assert parse(page).by_id["total-rows"] == f"{total:,}"
    assert client.get("/quarantine/rows", params={"limit": 0}).status_code == 422


@pytest.mark.parametrize(
    "params",
    [
        {"feed": "registrations' or '1'='1"},
        {"feed": "registrations", "rule": "x' or 1=1 --"},
        {"rule": "uscc_invalid'; drop table ops.quarantine; --"},
        {"day": "2025-03-03' or '1'='1"},
        {"day": "1; select 1"},
    ],
)
def test_injection_looking_filters_match_nothing(client, five_week_warehouse, params):
    before = scalar(five_week_warehouse, "select count(*) from ops.quarantine")
    for path in ("/quarantine", "/quarantine/rows"):
        response = client.get(path, params=params)
        assert response.status_code == 200, response.text
        assert parse(response.text).by_id["total-rows"] == "0"
        assert "<tr data-feed=" not in response.text
    assert scalar(five_week_warehouse, "select count(*) from ops.quarantine") == before > 0


def test_data_docs_serves_the_site_and_refuses_traversal(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "validations").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("outside the site", encoding="utf-8")
    monkeypatch.setenv("PARKOPS_DATA_DOCS_DIR", str(site))
    with unauthenticated_client() as client:
        missing = client.get("/data-docs/")
        assert missing.status_code == 404
        assert "数据文档尚未生成" in missing.text and "make data-docs" in missing.text and str(site) in missing.text

        (site / "index.html").write_text("<html><body>GX Data Docs index</body></html>", encoding="utf-8")
        (site / "validations" / "run.html").write_text("<p>validation result</p>", encoding="utf-8")
        assert "GX Data Docs index" in client.get("/data-docs/").text
        assert client.get("/data-docs/validations/run.html").text == "<p>validation result</p>"
        redirect = client.get("/data-docs", follow_redirects=False)
        assert redirect.status_code in (307, 308) and redirect.headers["location"].endswith("/data-docs/")
        assert client.get("/data-docs/validations/missing.html").status_code == 404
        for attempt in ("/data-docs/..%2Fsecret.txt", "/data-docs/validations/..%2F..%2Fsecret.txt"):
            response = client.get(attempt)
            assert response.status_code == 404, attempt
            assert "outside the site" not in response.text
        # A client that does not normalise the path (httpx would): the raw request path.
        raw = client.request("GET", "http://testserver/data-docs/../secret.txt")
        assert "outside the site" not in raw.text


def test_missing_warehouse_says_so(tmp_path, monkeypatch):
    database = tmp_path / "nowhere" / "warehouse.duckdb"
    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", f"duckdb:///{database}")
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(tmp_path / "landing"))
    with unauthenticated_client() as client:
        health = client.get("/health")
        assert health.status_code == 200
        assert "仓库尚未创建" in health.text and "make run" in health.text
        assert list(parse(health.text).cells) == list(FEEDS)
        assert client.get("/health.json").json()["warehouse"] == "missing"
        for path in ("/quarantine", "/quarantine/rows"):
            response = client.get(path)
            assert response.status_code == 200 and "仓库尚未创建" in response.text, path
    assert not database.exists()  # a reader never creates the warehouse


def test_empty_warehouse_says_so(tmp_path, monkeypatch):
    import duckdb

    database = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(database)).close()
    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", f"duckdb:///{database}")
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(tmp_path / "landing"))
    with unauthenticated_client() as client:
        health = client.get("/health")
        assert health.status_code == 200 and "还没有加载记录" in health.text
        for path in ("/quarantine", "/quarantine/rows"):
            response = client.get(path)
            assert response.status_code == 200 and "还没有隔离数据表" in response.text, path


def test_a_warehouse_being_written_asks_to_refresh_later(tmp_path, monkeypatch):
    database = tmp_path / "warehouse.duckdb"
    writer_code = (
        "import duckdb, sys; connection = duckdb.connect(sys.argv[1]); "
        "connection.execute('create table t (a int)'); print('locked', flush=True); sys.stdin.read()"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", writer_code, str(database)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout.readline().strip() == "locked"
        monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", f"duckdb:///{database}")
        with unauthenticated_client() as client:
            for path in ("/health", "/quarantine", "/quarantine/rows"):
                response = client.get(path)
                assert response.status_code == 503, path
                assert WAREHOUSE_BUSY_MESSAGE in response.text and response.headers["retry-after"] == "15"
            busy = client.get("/health.json")
            assert busy.status_code == 503
            assert busy.json() == {"warehouse": "busy", "message": WAREHOUSE_BUSY_MESSAGE}
    finally:
        writer.stdin.close()
        writer.wait(timeout=30)


def test_the_plugin_registers_the_app_and_menu_entries_and_imports_light():
    script = f"""
import json, sys
import airflow.sdk
baseline = set(sys.modules)
sys.path.insert(0, {str(PROJECT / "plugins")!r})
import parkops_ui
plugin = parkops_ui.ParkopsUiPlugin
new_top = sorted({{name.split('.')[0] for name in set(sys.modules) - baseline}})
print(json.dumps({{
    "name": plugin.name,
    "prefixes": [app["url_prefix"] for app in plugin.fastapi_apps],
    "hrefs": [view["href"] for view in plugin.external_views],
    "new": new_top,
}}))
"""
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=PROJECT)
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["name"] == "parkops"
    assert result["prefixes"] == ["/parkops"]
    # Relative to the Airflow UI's <base href>: no leading slash.
    assert result["hrefs"] == ["parkops/health", "parkops/quarantine", "parkops/data-docs/"]
    heavy = {"pandas", "sqlalchemy", "duckdb", "great_expectations", "psycopg", "openpyxl"} & set(result["new"])
    assert not heavy, f"loading the plugin imported {heavy}"


def test_plugins_folder_ignore_keeps_the_plugin_and_skips_the_package():
    from airflow._shared.module_loading import find_path_from_directory

    found = {
        Path(path).relative_to(PROJECT / "plugins")
        for path in find_path_from_directory(PROJECT / "plugins", ".airflowignore", "glob")
    }
    assert Path("parkops_ui.py") in found
    assert not [path for path in found if path.parts[0] == "parkops"]


def test_links_follow_the_mount_prefix_and_the_api_servers_base_path(tmp_path, monkeypatch):
    """Mounted as the api-server does (its [api] base_url path as root_path), links keep both prefixes."""
    from fastapi import FastAPI

    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(tmp_path / "landing"))
    plugin_app = create_app("/parkops")
    plugin_app.dependency_overrides[airflow_user] = lambda: "test-user"
    api_server = FastAPI(root_path="/airflow")
    api_server.mount("/parkops", plugin_app)
    with TestClient(api_server) as client:
        page = client.get("/airflow/parkops/health").text
    assert 'href="/airflow/dags/ingest_enterprise_registrations"' in page
    assert 'href="/airflow/parkops/quarantine?feed=registrations"' in page
    assert 'href="/airflow/parkops/data-docs/"' in page
