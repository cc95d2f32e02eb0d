"""The report's Excel attachment (parkops.report.workbook)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import replace

import openpyxl
import pytest
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from support.report_content import sample_content

from parkops.report.content import DetailTable, ReportContent
from parkops.report.readiness import Readiness
from parkops.report.workbook import MAX_COLUMN_WIDTH, README_SHEET, build_workbook, display_width


@pytest.fixture(scope="module")
def weekly() -> ReportContent:
    return sample_content("weekly")


@pytest.fixture(scope="module")
def workbook(weekly: ReportContent) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(build_workbook(weekly)))


def as_written(value: object) -> object:
    """openpyxl reads every date cell back as a datetime at midnight."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    return value


def test_sheets_are_the_readme_then_the_detail_tables(workbook: openpyxl.Workbook, weekly: ReportContent) -> None:
    assert workbook.sheetnames == [README_SHEET, *(table.sheet_name for table in weekly.details)]
    assert len(weekly.details) >= 3


def test_readme_sheet(workbook: openpyxl.Workbook, weekly: ReportContent) -> None:
    sheet = workbook[README_SHEET]
    cells = [value for row in sheet.iter_rows(values_only=True) for value in row if value is not None]
    assert cells[0] == "张江高新区 园区运行周报 · 2025年3月第2周"
    assert "2025年3月第2周（3月10日—3月16日）" in cells
    assert dt.datetime(2025, 3, 10) in cells and dt.datetime(2025, 3, 16) in cells
    assert weekly.generated_at in cells
    for table in weekly.details:
        assert table.sheet_name in cells
        assert f"{table.title}（{len(table.rows)}行）" in cells


@pytest.mark.parametrize("index", range(4))
def test_detail_sheet_holds_the_table(workbook: openpyxl.Workbook, weekly: ReportContent, index: int) -> None:
    table = weekly.details[index]
    sheet: Worksheet = workbook[table.sheet_name]
    columns = len(table.headers)

    assert sheet["A1"].value == table.title
    assert sheet["A1"].font.bold
    if columns > 1:
        assert [str(merged) for merged in sheet.merged_cells.ranges] == [f"A1:{get_column_letter(columns)}1"]

    header = [cell for cell in sheet[2]][:columns]
    assert [cell.value for cell in header] == table.headers
    for cell in header:
        assert cell.font.bold and cell.alignment.wrap_text and cell.fill.fgColor.rgb.endswith("EEF3F9"), cell

    rows = list(sheet.iter_rows(min_row=3, max_col=columns, values_only=True))
    # Excel keeps 15 significant digits, as openpyxl writes them: floats compare to that precision.
    assert rows == [
        tuple(pytest.approx(value, rel=1e-14) if isinstance(value, float) else as_written(value) for value in row)
        for row in table.rows
    ]
    assert sheet.max_row == 2 + len(table.rows)

    for column, number_format in enumerate(table.number_formats, start=1):
        for row in range(3, sheet.max_row + 1):
            cell = sheet.cell(row, column)
            if cell.value is None:
                continue
            if number_format is not None:
                assert cell.number_format == number_format, (cell.coordinate, cell.number_format)
            assert not (isinstance(cell.value, str) and cell.value[:1].isdigit()), "numbers stay numbers"

    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == f"A2:{get_column_letter(columns)}{2 + len(table.rows)}"


def test_values_keep_their_types(workbook: openpyxl.Workbook) -> None:
    daily = workbook["每日新增科技企业"]
    first = [cell for cell in daily[3]]
    assert isinstance(first[0].value, dt.datetime) and first[0].is_date
    assert first[0].number_format == "yyyy-mm-dd"
    assert isinstance(first[1].value, int)
    assert first[2].value is None  # no rolling average before 30 days of data: an empty cell, not "—"
    last = [cell for cell in daily[daily.max_row]]
    assert isinstance(last[2].value, float)

    progress = workbook["目标进度"]
    assert progress["G3"].value == pytest.approx(0.611)  # a ratio shown as 61.1% by its format
    assert progress["G3"].number_format == "0.0%"
    assert progress["D6"].value == 116_568


def test_column_widths_follow_the_text(workbook: openpyxl.Workbook) -> None:
    assert display_width("三大先导产业规模占全市比重") == 26
    assert display_width("“独角兽”") == 10  # Chinese fonts draw the curly quotes full width
    assert display_width("2025-03-16") == 10
    parks = workbook["园区考核"]
    name_width = parks.column_dimensions["B"].width
    assert name_width >= display_width("张江核心园")
    progress = workbook["目标进度"]
    # The KPI names are the widest text of column A; the column fits them, capped.
    assert progress.column_dimensions["A"].width >= display_width("三大先导产业规模占全市比重")
    assert all(dimension.width <= MAX_COLUMN_WIDTH for dimension in progress.column_dimensions.values())


def test_long_text_is_capped(weekly: ReportContent) -> None:
    long_table = DetailTable("长文本", "长文本", ["说明"], [None], [("很长的说明" * 30,)])
    book = openpyxl.load_workbook(io.BytesIO(build_workbook(replace(weekly, details=[long_table]))))
    assert book["长文本"].column_dimensions["A"].width == MAX_COLUMN_WIDTH


def test_same_content_gives_the_same_bytes(weekly: ReportContent) -> None:
    first, second = build_workbook(weekly), build_workbook(weekly)
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {entry.date_time for entry in archive.infolist()} == {(2025, 3, 17, 8, 30, 0)}
    properties = openpyxl.load_workbook(io.BytesIO(first)).properties
    # Stored in UTC: generated 08:30 in Shanghai.
    assert properties.created == dt.datetime(2025, 3, 17, 0, 30)
    assert properties.modified == dt.datetime(2025, 3, 17, 0, 30)


def test_monthly_workbook(weekly: ReportContent) -> None:
    monthly = sample_content("monthly")
    book = openpyxl.load_workbook(io.BytesIO(build_workbook(monthly)))
    assert book[README_SHEET]["A1"].value == "张江高新区 园区运行月报 · 2025年3月"
    assert book["每日新增科技企业"].max_row == 2 + len(monthly.daily.points)


@pytest.mark.parametrize("name", ["说明", "目标/进度", "a" * 32, "", "园区考核"])
def test_bad_sheet_names_are_refused(weekly: ReportContent, name: str) -> None:
    # "园区考核" is already a sheet of the sample; "说明" is the readme sheet.
    extra = DetailTable(name, "标题", ["列"], [None], [(1,)])
    with pytest.raises(ValueError, match="sheet name"):
        build_workbook(replace(weekly, details=[*weekly.details, extra]))


def test_rows_must_match_the_headers(weekly: ReportContent) -> None:
    ragged = DetailTable("参差", "标题", ["甲", "乙"], [None, None], [(1, 2), (3,)])
    with pytest.raises(ValueError, match="row 2 has 1 values for 2 columns"):
        build_workbook(replace(weekly, details=[ragged]))
    formats = DetailTable("格式", "标题", ["甲", "乙"], [None], [(1, 2)])
    with pytest.raises(ValueError, match="2 headers but 1 number formats"):
        build_workbook(replace(weekly, details=[formats]))


def _readme_texts(book: openpyxl.Workbook) -> list[str]:
    sheet = book.worksheets[0]
    return [value for row in sheet.iter_rows(values_only=True) for value in row if isinstance(value, str)]


@pytest.mark.parametrize("has_data", [True, False], ids=["held", "no-data"])
def test_a_report_not_ready_opens_its_first_sheet_with_the_banner(weekly: ReportContent, has_data: bool) -> None:
    held = "企业登记（registrations）：2025-03-09 的交付被质量闸门扣留（18.1% 的行被隔离）"
    readiness = Readiness(weekly.period, problems=[held], has_data=has_data, first_data_day=None)
    book = openpyxl.load_workbook(io.BytesIO(build_workbook(replace(weekly, readiness=readiness))))
    assert book.sheetnames[0] == README_SHEET
    texts = _readme_texts(book)
    headline = readiness.banner_headline
    assert headline and texts[1] == headline  # right under the title, before the period and the sheet list
    assert ("数据未就绪" in headline) == has_data and ("本期没有数据" in headline) != has_data
    assert texts[2] == f"· {held}"
    banner = book.worksheets[0]["A3"]
    assert banner.font.bold and banner.font.color.rgb.endswith("B42318") and banner.fill.fgColor.rgb.endswith("FDE4E1")
    assert "A3:B3" in {str(merged) for merged in book.worksheets[0].merged_cells.ranges}


def test_a_ready_report_has_no_banner(weekly: ReportContent, workbook: openpyxl.Workbook) -> None:
    ready = openpyxl.load_workbook(io.BytesIO(build_workbook(replace(weekly, readiness=Readiness(weekly.period)))))
    assert _readme_texts(ready) == _readme_texts(workbook)
    assert not any("数据未就绪" in text or "本期没有数据" in text for text in _readme_texts(ready))


def test_row_number_formats_replace_the_columns_per_row(weekly: ReportContent) -> None:
    table = DetailTable(
        "按行格式",
        "标题",
        ["指标", "值"],
        [None, "#,##0.0"],
        [("园区", 3), ("日均", 122.24)],
        row_number_formats=[[None, "#,##0"], [None, "#,##0.0"]],
    )
    sheet = openpyxl.load_workbook(io.BytesIO(build_workbook(replace(weekly, details=[table]))))["按行格式"]
    assert [(sheet["B3"].value, sheet["B3"].number_format), (sheet["B4"].value, sheet["B4"].number_format)] == [
        (3, "#,##0"),
        (pytest.approx(122.24), "#,##0.0"),
    ]
    short = replace(table, row_number_formats=[[None, "#,##0"]])
    with pytest.raises(ValueError, match="row number formats"):
        build_workbook(replace(weekly, details=[short]))
