"""The report's Excel attachment: one sheet per :class:`DetailTable`, after a sheet "说明".

Cells hold values, never formatted text: numbers stay numbers and dates stay dates, shown through
Excel number formats, so the recipient can sort, filter and compute with them. Each sheet has its
title merged across the table, a bold wrapped header row, frozen panes below it and an autofilter.

The same content gives the same bytes: the document properties and the zip entries' timestamps are
set from ``content.generated_at`` instead of the time of writing, so a re-run archives an identical
file.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from parkops.report import formatting as fmt
from parkops.report.content import DetailTable, ReportContent
from parkops.report.naming import report_title
from parkops.xlsx import freeze_xlsx

README_SHEET = "说明"
MAX_SHEET_NAME = 31
_INVALID_SHEET_CHARACTERS = re.compile(r"[\[\]:*?/\\]")

MIN_COLUMN_WIDTH = 6
MAX_COLUMN_WIDTH = 40
COLUMN_PADDING = 2
DATE_WIDTH = 10  # yyyy-mm-dd

TITLE_FONT = Font(bold=True, size=13, color="17426E")
HEADER_FONT = Font(bold=True, color="17426E")
HEADER_FILL = PatternFill("solid", fgColor="EEF3F9")
HEADER_BORDER = Border(bottom=Side(style="thin", color="C9D6E5"))
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)
BANNER_FONT = Font(bold=True, size=12, color="B42318")
BANNER_REASON_FONT = Font(color="B42318")
BANNER_FILL = PatternFill("solid", fgColor="FDE4E1")
BANNER_ALIGNMENT = Alignment(vertical="top", wrap_text=True)

# China has kept UTC+8 without daylight saving since 1991; document properties are stored in UTC.
SHANGHAI_OFFSET = dt.timedelta(hours=8)


def display_width(text: str) -> int:
    """Columns ``text`` takes in a fixed-width rendering: East Asian wide characters count two, and so
    do ambiguous ones such as “ ” and ×, which Chinese fonts draw full width.

    >>> display_width("园区")
    4
    >>> display_width("P01")
    3
    >>> display_width("“独角兽”")
    10
    """
    return sum(2 if unicodedata.east_asian_width(character) in ("W", "F", "A") else 1 for character in text)


def _shown_text(value: object, number_format: str | None) -> str:
    """Roughly what Excel shows for ``value`` in ``number_format``: only its width matters."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, dt.date):
        return "0" * DATE_WIDTH
    if isinstance(value, bool):
        return "FALSE" if not value else "TRUE"
    if isinstance(value, int | float):
        if number_format and "%" in number_format:
            places = number_format.split(".")[1].count("0") if "." in number_format else 0
            return f"{value * 100:,.{places}f}%"
        if number_format and "." in number_format:
            places = number_format.split(".")[1].count("0")
            return f"{value:,.{places}f}"
        if number_format and "0" in number_format:
            return f"{value:,.0f}"
        return repr(value)
    return str(value)


# Text Excel could take for a formula: "=" always, "+", "-" and "@" when the cell is typed or re-entered,
# and a leading tab or CR (which CSV-minded sanitisers look for) hiding such a character.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _put(sheet: Worksheet, row: int, column: int, value: object) -> Cell:
    """Write ``value`` into a cell; text is always a text cell, never a formula.

    Values come from the warehouse, i.e. from landed files (an enterprise or incubator name could
    read ``=HYPERLINK(...)``). openpyxl stores any str starting with "=" as a formula, so such text
    is forced to a string cell, and ``quotePrefix`` (Excel's leading apostrophe, not part of the
    value and not displayed) keeps it text when a reader edits the cell. The text shown is unchanged.
    """
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def _check_sheet_name(name: str, taken: set[str]) -> None:
    if not name or len(name) > MAX_SHEET_NAME or _INVALID_SHEET_CHARACTERS.search(name):
        raise ValueError(f"sheet name {name!r}: 1 to {MAX_SHEET_NAME} characters, none of []:*?/\\")
    if name.casefold() in taken:  # Excel compares sheet names case-insensitively
        raise ValueError(f"sheet name {name!r} is used twice")
    taken.add(name.casefold())


def _write_readme(sheet: Worksheet, content: ReportContent) -> None:
    sheet.title = README_SHEET
    _put(sheet, 1, 1, report_title(content))
    sheet["A1"].font = TITLE_FONT
    row = 3
    readiness = content.readiness
    headline = readiness.banner_headline if readiness else None
    if readiness and headline:
        # The first thing a reader of the attachment sees: the figures below are not the period's.
        for text, font in [
            (headline, BANNER_FONT),
            *((f"· {reason}", BANNER_REASON_FONT) for reason in readiness.banner_reasons),
        ]:
            cell = _put(sheet, row, 1, text)
            cell.font, cell.fill, cell.alignment = font, BANNER_FILL, BANNER_ALIGNMENT
            sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
            # Merged cells do not grow with wrapped text: about 36 wide characters fit a line of A:B.
            sheet.row_dimensions[row].height = 16 * max(1, -(-display_width(text) // 72))
            row += 1
        row += 1
    lines: list[tuple[str, object, str | None]] = [
        ("报告期", f"{content.period.label}（{content.period.span_label}）", None),
        ("开始日期", content.period.start, "yyyy-mm-dd"),
        ("结束日期", content.period.end, "yyyy-mm-dd"),
        ("生成时间", content.generated_at, "yyyy-mm-dd hh:mm"),
    ]
    for label, value, number_format in lines:
        _put(sheet, row, 1, label).font = Font(bold=True)
        cell = _put(sheet, row, 2, value)
        cell.alignment = Alignment(horizontal="left")
        if number_format:
            cell.number_format = number_format
        row += 1
    row += 1
    sheet.cell(row=row, column=1, value="工作表").font = HEADER_FONT
    sheet.cell(row=row, column=2, value="内容").font = HEADER_FONT
    for column in (1, 2):
        sheet.cell(row=row, column=column).fill = HEADER_FILL
    for table in content.details:
        row += 1
        _put(sheet, row, 1, table.sheet_name)
        _put(sheet, row, 2, f"{table.title}（{fmt.count(len(table.rows))}行）")
    row += 2
    sheet.cell(row=row, column=1, value="单元格为数值与日期，可直接筛选、排序和计算；时间为北京时间。").font = Font(
        color="616E7C"
    )
    sheet.column_dimensions["A"].width = 14
    sheet.column_dimensions["B"].width = 60


def _write_table(sheet: Worksheet, table: DetailTable) -> None:
    columns = len(table.headers)
    if len(table.number_formats) != columns:
        raise ValueError(f"{table.sheet_name}: {columns} headers but {len(table.number_formats)} number formats")
    for index, row in enumerate(table.rows, start=1):
        if len(row) != columns:
            raise ValueError(f"{table.sheet_name}: row {index} has {len(row)} values for {columns} columns")

    _put(sheet, 1, 1, table.title).font = TITLE_FONT
    sheet.cell(row=1, column=1).alignment = Alignment(vertical="center")
    if columns > 1:
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=columns)
    sheet.row_dimensions[1].height = 24

    for column, header in enumerate(table.headers, start=1):
        cell = _put(sheet, 2, column, header)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.border = HEADER_BORDER
        cell.alignment = HEADER_ALIGNMENT

    row_formats = table.row_number_formats or [table.number_formats] * len(table.rows)
    if len(row_formats) != len(table.rows) or any(len(formats) != columns for formats in row_formats):
        raise ValueError(
            f"{table.sheet_name}: row number formats do not match {len(table.rows)} rows of {columns} columns"
        )
    widths = [display_width(header) for header in table.headers]
    for row_number, (values, formats) in enumerate(zip(table.rows, row_formats, strict=True), start=3):
        for column, (value, number_format) in enumerate(zip(values, formats, strict=True), start=1):
            cell = _put(sheet, row_number, column, value)
            if number_format:
                cell.number_format = number_format
            widths[column - 1] = max(widths[column - 1], display_width(_shown_text(value, number_format)))

    for column, width in enumerate(widths, start=1):
        shown = min(MAX_COLUMN_WIDTH, max(MIN_COLUMN_WIDTH, width + COLUMN_PADDING))
        sheet.column_dimensions[get_column_letter(column)].width = shown

    last_row = 2 + len(table.rows)
    sheet.freeze_panes = "A3"
    sheet.auto_filter.ref = f"A2:{get_column_letter(columns)}{last_row}"
    # Printing: landscape, as wide as one page, the header row repeated on every page.
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "2:2"


def build_workbook(content: ReportContent) -> bytes:
    """The .xlsx attachment of ``content``: sheet "说明", then one sheet per ``content.details`` table."""
    workbook = Workbook()
    taken = {README_SHEET.casefold()}
    _write_readme(workbook.active, content)
    for table in content.details:
        _check_sheet_name(table.sheet_name, taken)
        _write_table(workbook.create_sheet(table.sheet_name), table)

    generated_utc = content.generated_at - SHANGHAI_OFFSET
    workbook.properties.title = report_title(content)
    workbook.properties.creator = "parkops"
    workbook.properties.created = generated_utc
    workbook.properties.modified = generated_utc
    buffer = io.BytesIO()
    workbook.save(buffer)
    # Nothing in the file depends on when it was written: re-rendering a period gives the same bytes.
    return freeze_xlsx(buffer.getvalue(), entry_time=content.generated_at, modified_utc=generated_utc)
