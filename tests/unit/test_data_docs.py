"""The Data Docs site: a page per suite, a page per recent run's validation results, offline, swapped in whole.

The run results come from a DuckDB warehouse whose ``ops.validation_results`` and
``ops.file_audit`` rows are written here directly (the pipeline writing them is
tests/integration/test_data_docs_results.py), so each figure on the pages is known.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import pytest

from parkops.config import expectations_dir
from parkops.quality.data_docs import ASSETS_DIR, CDN_ASSETS, VENDOR_DIR, build_data_docs, vendored_paths
from parkops.quality.rule_labels import RULE_LABELS
from parkops.warehouse import apply_ddl, bulk_insert, create_warehouse_engine

SUITES = sorted(path.stem for path in expectations_dir().glob("*.json"))
GX_TEMPLATES = Path(pytest.importorskip("great_expectations").__file__).parent / "render" / "view" / "templates"

_INDEX_ENTRY = re.compile(
    r"'run_name': '(?P<run>[^']*)'.*?'_table_row_link_path': '(?P<path>[^']*)', "
    r"'_validation_success_text': '(?P<status>\w+)', 'asset_name': '(?P<feed>[^']*)'",
    re.DOTALL,
)
_RESOURCE = re.compile(r"<(?:script|link|img)\b[^>]*\b(?:src|href)=\"(?P<url>[^\"]+)\"", re.IGNORECASE)


def index_entries(site: Path) -> dict[tuple[str, str, str], tuple[str, Path]]:
    """The index's validation results: (feed, run, suite) -> (Success/Failed, page)."""
    index = (site / "index.html").read_text(encoding="utf-8")
    entries = {}
    for match in _INDEX_ENTRY.finditer(index):
        suite = match["path"].split("/")[1]
        entries[(match["feed"], match["run"], suite)] = (match["status"], site / unquote(match["path"]))
    return entries


def page_text(path: Path) -> str:
    """The words a reader sees (tags, scripts and styles removed, whitespace collapsed)."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.DOTALL)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


def suite_rules(name: str) -> list[tuple[str, str]]:
    document = json.loads((expectations_dir() / f"{name}.json").read_text(encoding="utf-8"))
    return [(spec["meta"]["rule"], spec["type"]) for spec in document["expectations"]]


def file_version(feed, run_id, delivery, name, at, suite, rows, unexpected=None, extra_rules=()):
    """One file version's audit row and validation results (every rule of ``suite``, plus ``extra_rules``)."""
    unexpected = unexpected or {}
    source_file = f"{feed}/{delivery}/{name}"
    sha = f"{run_id}-{name}"
    audit = {
        "feed": feed,
        "delivery_date": delivery,
        "source_file": source_file,
        "file_name": name,
        "source_sha256": sha,
        "size_bytes": 100,
        "file_format": "csv",
        "encoding": "utf-8",
        "status": "loaded",
        "rows_received": rows,
        "rows_loaded": rows - sum(unexpected.values()),
        "rows_quarantined": sum(unexpected.values()),
        "unknown_columns": None,
        "reason": None,
        "duplicate_of": None,
        "run_id": run_id,
        "processed_at": at,
        "duration_seconds": 0.5,
    }
    results = [
        {
            "feed": feed,
            "source_file": source_file,
            "source_sha256": sha,
            "suite_name": suite,
            "expectation_type": expectation_type,
            "column_name": None,
            "rule": rule,
            "success": unexpected.get(rule, 0) == 0,
            "element_count": rows,
            "unexpected_count": unexpected.get(rule, 0),
            "run_id": run_id,
        }
        for rule, expectation_type in [*suite_rules(suite), *extra_rules]
    ]
    return audit, results


D1, D2 = dt.date(2025, 3, 10), dt.date(2025, 3, 11)
T0 = dt.datetime(2025, 3, 11, 2, 0)
FILE_VERSIONS = [
    # run-a: the oldest registrations run, clean; left out when only 2 runs are kept.
    ("registrations", "run-a", D1, "reg_01.csv", T0, "registrations", 10, {}, ()),
    # run-b: two files, uscc_invalid broken 3 + 1 times; the same run id also ran visits.
    (
        "registrations",
        "run-b",
        D1,
        "reg_02.csv",
        T0 + dt.timedelta(hours=1),
        "registrations",
        20,
        {"uscc_invalid": 3},
        (),
    ),
    (
        "registrations",
        "run-b",
        D2,
        "reg_03.csv",
        T0 + dt.timedelta(hours=1),
        "registrations",
        30,
        {"uscc_invalid": 1},
        (),
    ),
    ("visits", "run-b", D2, "visits_01.csv", T0 + dt.timedelta(hours=1), "visits", 7, {}, ()),
    # run-c: the newest; a rule the suite no longer has failed once.
    (
        "registrations",
        "run-c",
        D2,
        "reg_04.csv",
        T0 + dt.timedelta(hours=2),
        "registrations",
        5,
        {"retired_rule": 1},
        (("retired_rule", "expect_column_values_to_not_be_null"),),
    ),
]


def write_warehouse(path: Path) -> str:
    url = f"duckdb:///{path}"
    audits, results = [], []
    for spec in FILE_VERSIONS:
        audit, rows = file_version(*spec)
        audits.append(audit)
        results.extend(rows)
    engine = create_warehouse_engine(url)
    try:
        with engine.begin() as connection:
            apply_ddl(connection)
            bulk_insert(connection, "ops", "file_audit", pd.DataFrame(audits))
            bulk_insert(connection, "ops", "validation_results", pd.DataFrame(results))
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site of the warehouse above, keeping each feed's 2 latest runs."""
    root = tmp_path_factory.mktemp("data_docs")
    url = write_warehouse(root / "warehouse.duckdb")
    return build_data_docs(root / "data_docs", warehouse_url=url, latest_runs=2)


def test_suites_only_without_a_warehouse_and_the_site_is_replaced_whole(tmp_path):
    target = tmp_path / "data_docs"
    (target / "stale").mkdir(parents=True)  # a site built before: replaced, not merged
    missing = f"duckdb:///{tmp_path / 'not_yet' / 'warehouse.duckdb'}"
    assert build_data_docs(target, warehouse_url=missing) == target
    assert not (tmp_path / "not_yet").exists(), "a read-only build must not create the warehouse's folder"
    assert (target / "index.html").is_file() and not (target / "stale").exists()
    assert sorted(path.stem for path in (target / "expectations").glob("*.html")) == SUITES
    registrations = json.loads((expectations_dir() / "registrations.json").read_text(encoding="utf-8"))
    page = (target / "expectations" / "registrations.html").read_text(encoding="utf-8")
    columns = {spec["kwargs"]["column"] for spec in registrations["expectations"] if "column" in spec["kwargs"]}
    assert columns and all(column in page for column in columns)
    # Every expectation's notes name its rule in Chinese, with the id.
    rules = [spec["meta"]["rule"] for spec in registrations["expectations"]]
    missing = [rule for rule in rules if f"规则：{RULE_LABELS[rule]}（{rule}）" not in html.unescape(page)]
    assert missing == []
    index = (target / "index.html").read_text(encoding="utf-8")
    assert all(f"expectations/{suite}.html" in index for suite in SUITES)
    assert not (target / "validations").exists() and index_entries(target) == {}
    assert not list(tmp_path.glob(".data_docs*")), "scratch folders left behind"


def test_a_warehouse_without_ops_tables_gives_the_suites(tmp_path):
    import duckdb

    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    target = build_data_docs(tmp_path / "data_docs", warehouse_url=f"duckdb:///{path}")
    assert sorted(path.stem for path in (target / "expectations").glob("*.html")) == SUITES
    assert not (target / "validations").exists()


def test_the_index_lists_the_latest_runs_per_feed_with_their_outcome(site):
    entries = {key: status for key, (status, _) in index_entries(site).items()}
    assert entries == {
        ("registrations", "run-b", "registrations"): "Failed",
        ("registrations", "run-c", "registrations"): "Failed",
        ("visits", "run-b", "visits"): "Success",  # same run id, another feed: a result of its own
    }
    assert all(page.is_file() for _, page in index_entries(site).values())
    assert len(list((site / "validations").rglob("*.html"))) == 3, "run-a is beyond the 2 latest runs"


def test_a_run_page_sums_its_file_versions(site):
    _, page = index_entries(site)[("registrations", "run-b", "registrations")]
    text = page_text(page)
    # uscc_invalid: 3 + 1 of 20 + 30 rows; every other expectation of the suite passed.
    assert "4 unexpected values found. 8% of 50 total rows." in text
    rules = suite_rules("registrations")
    assert f"Evaluated Expectations {len(rules)} Successful Expectations {len(rules) - 1}" in text
    assert "Unsuccessful Expectations 1" in text
    # The run, the feed, the files and the deliveries (the page's "Show more info...").
    assert "ingest run run-b" in text and "Data asset: registrations" in text
    assert "files validated 2" in text and "deliveries 2025-03-10 .. 2025-03-11" in text
    assert "unexpected_list" not in page.read_text(encoding="utf-8")

    _, visits = index_entries(site)[("visits", "run-b", "visits")]
    assert "files validated 1" in page_text(visits) and "deliveries 2025-03-11" in page_text(visits)


def test_a_rule_no_longer_in_the_suite_still_fails_the_run_and_is_named(site):
    status, page = index_entries(site)[("registrations", "run-c", "registrations")]
    assert status == "Failed"
    text = page_text(page)
    assert "rules no longer in the suite retired_rule (expect_column_values_to_not_be_null): 1 of 5 unexpected" in text
    # Every expectation the suite has passed: only the retired rule failed the run.
    rules = suite_rules("registrations")
    assert f"Successful Expectations {len(rules)}" in text


def test_every_page_loads_its_styles_and_scripts_from_the_site(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) == 1 + len(SUITES) + 3
    loaded = set()
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "amazonaws.com" not in text, f"{page}: GX's logo from S3"
        for match in _RESOURCE.finditer(text):
            url = match["url"]
            assert not re.match(r"(https?:)?//", url), f"{page.relative_to(site)} loads {url}"
            resolved = (page.parent / unquote(url.split("?")[0])).resolve()
            assert resolved.is_file() and resolved.is_relative_to(site.resolve()), f"{page}: {url} missing"
            loaded.add(resolved)
    vendored = {(site / VENDOR_DIR / relative).resolve() for relative in CDN_ASSETS.values()}
    assert vendored <= loaded, f"vendored but never loaded: {sorted(vendored - loaded)}"
    assert not any("crossorigin" in page.read_text(encoding="utf-8") for page in pages), "file:// refuses CORS loads"
    # Font Awesome's stylesheet loads its woff2 fonts relative to itself.
    stylesheet = (
        site / VENDOR_DIR / CDN_ASSETS["https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css"]
    )
    fonts = re.findall(r"url\(([^)]+)\)", stylesheet.read_text(encoding="utf-8"))
    assert fonts and all(font.endswith(".woff2") and (stylesheet.parent / font).is_file() for font in fonts)


def test_the_vendored_files_cover_every_cdn_file_gx_loads():
    referenced = set()
    for template in GX_TEMPLATES.glob("*.j2"):
        referenced |= set(re.findall(r"https://[^\"' ]+\.(?:css|js)(?=[\"' ])", template.read_text(encoding="utf-8")))
    assert referenced and referenced == set(CDN_ASSETS), "a GX upgrade changed its CDN files: vendor them"
    assert all(path.is_file() for path in vendored_paths().values())
    for package in (path for path in ASSETS_DIR.iterdir() if path.is_dir()):
        assert list(package.glob("LICENSE*")), f"{package.name} has no licence file"
    fonts = sorted(path.name for path in ASSETS_DIR.rglob("*") if path.suffix in (".ttf", ".woff", ".eot", ".svg"))
    assert fonts == [], "woff2 fonts only"
