"""The Data Docs site of the suites: one page per suite, swapped in whole."""

from __future__ import annotations

import json

from parkops.config import expectations_dir
from parkops.quality.data_docs import build_data_docs


def test_data_docs_have_a_page_per_suite_with_its_columns(tmp_path):
    target = tmp_path / "data_docs"
    (target / "stale").mkdir(parents=True)  # a site built before: replaced, not merged
    assert build_data_docs(target) == target
    assert (target / "index.html").is_file() and not (target / "stale").exists()
    suites = sorted(path.stem for path in expectations_dir().glob("*.json"))
    assert sorted(path.stem for path in (target / "expectations").glob("*.html")) == suites
    registrations = json.loads((expectations_dir() / "registrations.json").read_text(encoding="utf-8"))
    page = (target / "expectations" / "registrations.html").read_text(encoding="utf-8")
    columns = {spec["kwargs"]["column"] for spec in registrations["expectations"] if "column" in spec["kwargs"]}
    assert columns and all(column in page for column in columns)
    index = (target / "index.html").read_text(encoding="utf-8")
    assert all(f"expectations/{suite}.html" in index for suite in suites)
    assert not list(tmp_path.glob(".data_docs*")), "scratch folders left behind"
