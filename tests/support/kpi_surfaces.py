"""Every KPI as each surface shows it: the CLI's progress table, the report's cards (HTML view),
its plain-text summary, the weekly summary sentence of 共性诉求, and the Excel attachment's cells.

The strings are read from what each surface produces (the printed table, the view the template
lays out, the text part, the workbook file), never rebuilt from the mart, so a test comparing them
sees what a reader sees.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from parkops import cli
from parkops.report import html
from parkops.report.content import ReportContent
from parkops.report.text import render_text
from parkops.report.workbook import build_workbook

NO_DATA = ("无数据", "暂无数据")


@dataclass(frozen=True)
class Shown:
    value: str  # the number as shown, without its unit ("95.7%", "11.7万", "1"); "no data" when none
    attainment: str | None  # "14.6%", or None where the surface shows none


def cli_progress(url: str, as_of: str) -> dict[str, Shown]:
    """``python -m parkops.cli progress --as-of`` parsed: KPI name -> (实际, 达成率)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PARKOPS_WAREHOUSE_URL", url)
        output = cli.progress(as_of)
    lines = output.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("指标  ") or line.startswith("指标 ")))
    shown: dict[str, Shown] = {}
    for line in lines[header + 2 :]:
        if not line.strip():
            break
        name, actual, _target, _unit, attainment, _on_track = re.split(r"\s{2,}", line.strip())
        shown[name] = Shown("no data" if actual in NO_DATA else actual, None if attainment == "—" else attainment)
    return shown


def report_cards(content: ReportContent) -> dict[str, Shown]:
    """The HTML report's cards (the view its template lays out): name -> (value, 达成率)."""
    view = html._view(content, [])
    shown = {}
    for group in view["kpi_groups"]:
        for card in group.cards:
            found = re.search(r"达成率 ([^ ·]+)", card.target_line)
            value = card.value if card.has_data else "no data"
            shown[card.name] = Shown(value, found.group(1) if found else None)
    return shown


def report_card_units(content: ReportContent) -> dict[str, str]:
    """The value with its unit as a card shows it ("1 起", "11.7万人")."""
    view = html._view(content, [])
    return {card.name: card.value + card.unit for group in view["kpi_groups"] for card in group.cards}


def summary_sentence(content: ReportContent, label: str = "企业诉求") -> str:
    return dict(html._view(content, [])["summary_lines"])[label]


def text_summary(content: ReportContent) -> dict[str, Shown]:
    """The plain-text part's target lines: ``- 名称：值（目标 …，达成率 …，…）``."""
    shown = {}
    for line in render_text(content).splitlines():
        found = re.match(r"^- (.+?)：(.+?)(?:（目标 .+?，达成率 (.+?)，较上期.*)?$", line)
        if not found or found.group(1) not in {card.kpi_name for card in content.kpis}:
            continue
        value, attainment = found.group(2), found.group(3)
        shown[found.group(1)] = Shown(
            "no data" if value in NO_DATA else value, None if attainment in (None, "—") else attainment
        )
    return shown


@dataclass(frozen=True)
class Cells:
    actual: Decimal | None
    attainment: Decimal | None
    attainment_format: str


def workbook_cells(content: ReportContent) -> dict[str, Cells]:
    """Sheet 目标进度 of the attachment: KPI name -> its 实际值 and 达成率 cells."""
    sheet = load_workbook(io.BytesIO(build_workbook(content)))["目标进度"]
    headers = [cell.value for cell in sheet[2]]
    name, actual, attainment = headers.index("指标"), headers.index("实际值"), headers.index("达成率")

    def number(value: object) -> Decimal | None:
        return None if value is None else Decimal(repr(value))

    return {
        row[name].value: Cells(number(row[actual].value), number(row[attainment].value), row[attainment].number_format)
        for row in sheet.iter_rows(min_row=3)
        if row[name].value
    }
