"""Read landed files into header + rows of text, or reject the whole file with a reason.

A reader never guesses silently: a text file must decode strictly as UTF-8 (with or without
BOM) or as GB18030, the two encodings of the contract, and the decoded text must look like
text; otherwise the file is rejected whole. Row numbers are those a person sees when the
file is opened in a spreadsheet: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from parkops.ingest.normalise import date_cell_to_text, number_cell_to_text

#: How a rejected file's rows were counted (``ops.file_audit.rows_counted_by``).
COUNTED_PARSED = "parsed"  # the rows read (a CSV record, a sheet row): the file's own parse
COUNTED_TEXT_LINES = "text_lines"  # text that could not be parsed: non-empty lines less the header
COUNTED_SHEET_ROWS = "sheet_rows"  # a workbook the normal reader refused: non-empty rows less the header
COUNTED_UNCOUNTABLE = "uncountable"  # nothing to count (not a workbook, an unsupported type): one row

#: One received row of a rejected file, as (sheet, row number, record JSON); the quarantine keeps
#: it with the file's reason. Row number and record are None only for an uncountable file.
ReceivedRow = tuple[str | None, int | None, str | None]


class FileRejected(Exception):
    """The file as a whole cannot be accepted; ``reason`` is meant for a person to act on.

    It carries the rows the file holds (:attr:`received_rows`) and how they were counted
    (:attr:`counted_by`): they are received and quarantined with the file's reason, so a
    rejected file loses nothing it delivered and counts in the quality gate. An uncountable
    file holds one row (the file itself), so it can never pass unnoticed.
    """

    def __init__(self, reason: str, rule: str):
        super().__init__(reason)
        self.reason = reason
        self.rule = rule
        self.received_rows: list[ReceivedRow] = [(None, None, None)]
        self.counted_by = COUNTED_UNCOUNTABLE

    def with_rows(self, rows: list[ReceivedRow], counted_by: str = COUNTED_PARSED) -> FileRejected:
        self.received_rows = rows
        self.counted_by = counted_by
        return self

    def with_text_lines(self, data: bytes | str, *, header: bool) -> FileRejected:
        """The file's non-empty lines (less the first, when it is a header) as its received rows."""
        return self.with_rows(text_line_rows(data, header=header), COUNTED_TEXT_LINES)


def _line_text(line: bytes) -> str:
    """A line of a file that did not decode as a whole: UTF-8, else GB18030, else UTF-8 with U+FFFD
    for the bytes that are not (a visible replacement)."""
    for encoding in ("utf-8", "gb18030"):
        try:
            text = line.decode(encoding)
        except UnicodeDecodeError:
            continue
        break
    else:
        text = line.decode("utf-8", errors="replace")
    return text


def text_line_rows(data: bytes | str, *, header: bool) -> list[ReceivedRow]:
    """(None, line number, ``{"_line_text": text}``) for each non-empty line of a text file.

    Lines end at LF, which is unambiguous in UTF-8 and GB18030 (no multi-byte sequence holds
    0x0A), so a file that does not decode still has countable lines; a line of only whitespace
    (or NUL, as UTF-16 line ends leave) is empty. With ``header`` the first non-empty line is the
    header and not a row.
    """
    lines = data.split(b"\n") if isinstance(data, bytes) else data.split("\n")
    rows: list[ReceivedRow] = []
    for number, line in enumerate(lines, start=1):
        text = (_line_text(line) if isinstance(line, bytes) else line).removesuffix("\r")
        if not text.replace("\x00", "").replace("\ufeff", "").strip():
            continue
        # NUL shown as U+FFFD: no database text column stores it.
        rows.append((None, number, json.dumps({"_line_text": text.replace("\x00", "\ufffd")}, ensure_ascii=False)))
    return rows[1:] if header else rows


@dataclass(frozen=True)
class MalformedRow:
    """A row whose shape is broken; its cells are kept so the quarantine loses nothing."""

    row_number: int
    reason: str
    cells: list[str]


def row_record(headers: list[str], cells: list[str]) -> dict[str, object]:
    """A row as a header -> cell mapping (empty cells left out); surplus cells under ``_extra_fields``."""
    record: dict[str, object] = {
        header: cell for header, cell in zip(headers, cells, strict=False) if cell != "" and header != ""
    }
    surplus = [cell for cell in cells[len(headers) :] if cell != ""]
    if surplus:
        record["_extra_fields"] = surplus
    return record


def table_rows(table: RawTable, sheet: str | None = None) -> list[tuple[str | None, int, str]]:
    """Every row of a table (well-formed and malformed) as (sheet, row number, record JSON)."""
    rows = [(number, cells) for number, cells in table.rows]
    rows += [(row.row_number, row.cells) for row in table.malformed_rows]
    return [
        (sheet, number, json.dumps(row_record(table.headers, cells), ensure_ascii=False))
        for number, cells in sorted(rows, key=lambda item: item[0])
    ]


@dataclass
class RawTable:
    """A file's content as text cells: ``rows`` holds (row_number, cells) for non-empty rows."""

    headers: list[str]
    rows: list[tuple[int, list[str]]]
    file_format: str
    encoding: str | None
    #: Rows whose shape is broken (more or fewer fields than the header).
    malformed_rows: list[MalformedRow] = field(default_factory=list)


SUPPORTED_SUFFIXES = {".csv", ".xlsx"}


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode strictly: UTF-8 (BOM optional) first, then GB18030; reject anything else.

    UTF-8 goes first because GB18030-encoded Chinese is practically never valid UTF-8, while
    the converse is not true. GB18030 maps almost every byte sequence, so a GB18030 result is
    additionally checked for control and private-use characters, the mark of a wrong guess.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as utf8_error:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as gb_error:
            raise FileRejected(
                "cannot decode the file as UTF-8 (byte "
                f"{utf8_error.start}: {utf8_error.reason}) nor as GB18030 (byte {gb_error.start}: "
                f"{gb_error.reason}); re-export it as UTF-8 or GB18030",
                rule="file_undecodable",
            ) from gb_error
        suspicious = _first_suspicious_char(text)
        if suspicious is not None:
            position, char = suspicious
            raise FileRejected(
                "the file is not valid UTF-8 and decoding it as GB18030 gives an unexpected "
                f"character U+{ord(char):04X} at character {position}; re-export it as UTF-8 or GB18030",
                rule="file_undecodable",
            ) from utf8_error
        return text, "gb18030"
    if text.startswith("\ufeff"):
        text, encoding = text[1:], "utf-8-sig"
    else:
        encoding = "utf-8"
    # Valid UTF-8 may still hold NUL: a UTF-16 export of ASCII text decodes as UTF-8 with a NUL
    # after every letter, and PostgreSQL refuses NUL in text, so the file would break the load.
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise FileRejected(
            f"the file holds a NUL character (U+0000) on line {line}: it is not plain text "
            "(a UTF-16 export or a damaged file?); re-export it as UTF-8 or GB18030",
            rule="file_undecodable",
        )
    return text, encoding


def _first_suspicious_char(text: str) -> tuple[int, str] | None:
    # Fast path in C: printable text (after removing line controls) has no character of the
    # categories below. Only text with separators or format characters (U+3000, U+200B, ...)
    # is walked character by character.
    if text.replace("\r", "").replace("\n", "").replace("\t", "").isprintable():
        return None
    for position, char in enumerate(text):
        if char in "\r\n\t":
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Co", "Cn", "Cs"):
            return position, char
    return None


def read_csv_text(text: str) -> tuple[list[str], list[tuple[int, list[str]]], list[MalformedRow]]:
    """Parse CSV text; a record with a different number of fields than the header is malformed."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=False, skipinitialspace=True)
    headers: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    malformed: list[MalformedRow] = []
    record_number = 0
    try:
        for record in reader:
            record_number += 1
            if headers is None:
                if not any(cell.strip() for cell in record):
                    continue  # leading blank lines before the header
                headers = record
                record_number = 1
                continue
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(headers):
                if len(record) > len(headers) and not any(cell.strip() for cell in record[len(headers) :]):
                    record = record[: len(headers)]  # trailing empty cells from spreadsheet exports
                else:
                    reason = f"row has {len(record)} fields but the header has {len(headers)}"
                    malformed.append(MalformedRow(record_number, reason, record))
                    continue
            rows.append((record_number, record))
    except csv.Error as error:
        # With strict=False the error met in practice is a field over the size limit (128 KiB),
        # in practice an unterminated quote swallowing the rest of the file. Records are no longer
        # reliable past it, lines are: the file's rows are counted as its lines.
        raise FileRejected(
            f"CSV syntax error near record {record_number + 1}: {error} (an unterminated quote?)",
            rule="file_unparseable",
        ).with_text_lines(text, header=True) from error
    if headers is None:
        raise FileRejected("the file is empty: no header row", rule="file_empty").with_rows([])
    return headers, rows, malformed


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        return date_cell_to_text(value)
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return number_cell_to_text(value)
    return str(value)


def _workbook_source(path: Path, data: bytes | None) -> Path | io.BytesIO:
    """What a workbook reader opens: the bytes already read (a fresh stream each time), else the path."""
    return path if data is None else io.BytesIO(data)


def _has_error_cells(path: Path, data: bytes | None = None) -> bool:
    """Whether any worksheet holds an Excel error value (#N/A, #DIV/0!, ...): cells of type ``e``."""
    with zipfile.ZipFile(_workbook_source(path, data)) as archive:
        return any(
            b't="e"' in archive.read(name)
            for name in archive.namelist()
            if name.startswith("xl/worksheets/") and name.endswith(".xml")
        )


def _xlsx_sheets_calamine(
    path: Path, wanted: set[str] | None, data: bytes | None = None
) -> dict[str, list[list[object]]]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        opened = (
            CalamineWorkbook.from_path(str(path)) if data is None else CalamineWorkbook.from_filelike(io.BytesIO(data))
        )
        with opened as workbook:
            names = workbook.sheet_names
            if not names:
                raise FileRejected("the workbook has no sheet", rule="file_empty").with_rows([])
            chosen = [names[0]] if wanted is None else [name for name in names if name.strip() in wanted]
            return {name.strip(): workbook.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in chosen}
    except CalamineError as error:
        raise _unreadable_workbook(path, wanted, error, data) from error


def _xlsx_sheets_openpyxl(
    path: Path, wanted: set[str] | None, data: bytes | None = None
) -> dict[str, list[list[object]]]:
    from openpyxl import load_workbook

    workbook = load_workbook(_workbook_source(path, data), read_only=True, data_only=True)
    try:
        if not workbook.worksheets:
            raise FileRejected("the workbook has no sheet", rule="file_empty").with_rows([])
        chosen = (
            [workbook.worksheets[0]]
            if wanted is None
            else [sheet for sheet in workbook.worksheets if sheet.title.strip() in wanted]
        )
        return {sheet.title.strip(): [list(values) for values in sheet.iter_rows(values_only=True)] for sheet in chosen}
    finally:
        workbook.close()


def _workbook_cells(path: Path, wanted: set[str] | None, data: bytes | None = None) -> dict[str, list[list[object]]]:
    """Cells of the first sheet (``wanted`` None) or of the sheets named in ``wanted`` that exist.

    calamine (Rust) reads ~25x faster than openpyxl but turns error cells (#N/A, #DIV/0!) into
    empty strings, which would make an error look like a missing value. Workbooks holding an
    error cell are therefore read with openpyxl, which keeps the error text for the suite to reject.

    With ``data`` (the file's bytes, read once by the loader) nothing is read from disk, so an
    ``OSError`` here comes from the content, not from the file system.
    """
    try:
        with_errors = _has_error_cells(path, data)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, zlib.error) as error:
        raise _unreadable_workbook(path, wanted, error, data) from error
    try:
        if with_errors:
            return _xlsx_sheets_openpyxl(path, wanted, data)
        return _xlsx_sheets_calamine(path, wanted, data)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError, zlib.error) as error:
        raise _unreadable_workbook(path, wanted, error, data) from error


_XML_ATTRIBUTE = re.compile(r'([\w:]+)\s*=\s*"([^"]*)"')
_XML_SHEET = re.compile(r"<(?:\w+:)?sheet\b([^>]*)>")
_XML_RELATIONSHIP = re.compile(r"<(?:\w+:)?Relationship\b([^>]*)>")
_XML_ROW = re.compile(r"<(?:\w+:)?row\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?row>)", re.DOTALL)
_XML_VALUE = re.compile(r"<(?:\w+:)?[vt]\b[^>]*>\s*[^<\s]")


def _attributes(text: str) -> dict[str, str]:
    return {name.split(":")[-1]: value for name, value in _XML_ATTRIBUTE.findall(text)}


def _unreadable_workbook(
    path: Path, wanted: set[str] | None, error: Exception, data: bytes | None = None
) -> FileRejected:
    """The rejection of a workbook the readers refuse, with the rows its sheets hold when the
    archive opens: the non-empty rows (a cell with a value) of the sheet it would have read,
    found in the sheet's XML itself, less the header; otherwise one uncountable row."""
    rejection = FileRejected(f"not a readable XLSX workbook: {error}", rule="file_unparseable")
    try:
        with zipfile.ZipFile(_workbook_source(path, data)) as archive:
            sheets = [_attributes(match) for match in _XML_SHEET.findall(archive.read("xl/workbook.xml").decode())]
            rels = archive.read("xl/_rels/workbook.xml.rels").decode()
            targets = {
                attributes.get("Id"): attributes.get("Target", "")
                for attributes in map(_attributes, _XML_RELATIONSHIP.findall(rels))
            }
            chosen = (
                sheets[:1] if wanted is None else [sheet for sheet in sheets if sheet.get("name", "").strip() in wanted]
            )
            rows: list[ReceivedRow] = []
            for sheet in chosen:
                target = targets[sheet["id"]]
                member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                xml = archive.read(member).decode()
                numbers: list[int] = []
                for attributes, body in _XML_ROW.findall(xml):
                    number = int(_attributes(attributes).get("r", (numbers[-1] if numbers else 0) + 1))
                    if body and _XML_VALUE.search(body):
                        numbers.append(number)
                name = None if wanted is None else sheet["name"].strip()
                rows += [(name, number, None) for number in numbers[1:]]
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError):
        return rejection  # not an archive of a workbook: one uncountable row
    return rejection.with_rows(rows, COUNTED_SHEET_ROWS)


def shape_sheet(
    cells: list[list[object]], sheet_label: str = "the first sheet", sheet_name: str | None = None
) -> tuple[list[str], list[tuple[int, list[str]]], list[MalformedRow]]:
    """Header (first non-empty row) and data rows of a sheet as text; wider rows are malformed."""
    headers: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for row_number, values in enumerate(cells, start=1):
        texts = [_cell_text(value) for value in values]
        if not any(text.strip() for text in texts):
            continue
        if headers is None:
            headers = texts
            continue
        rows.append((row_number, texts))
    if headers is None:
        raise FileRejected(f"{sheet_label} is empty: no header row", rule="file_empty").with_rows([])
    _reject_nul_cells(headers, rows, sheet_label, sheet_name)
    width = len(headers)
    while width and not headers[width - 1].strip():
        width -= 1
    headers = headers[:width]
    shaped: list[tuple[int, list[str]]] = []
    malformed: list[MalformedRow] = []
    for number, cells_text in rows:
        if any(cell.strip() for cell in cells_text[width:]):
            reason = f"row has values beyond the header's {width} columns (in columns {width + 1} and after)"
            malformed.append(MalformedRow(number, reason, cells_text))
        else:
            shaped.append((number, (cells_text + [""] * width)[:width]))
    return headers, shaped, malformed


def _reject_nul_cells(
    headers: list[str], rows: list[tuple[int, list[str]]], sheet_label: str, sheet_name: str | None
) -> None:
    """Refuse a sheet whose cells hold NUL, keeping its rows for the quarantine.

    XML cannot carry NUL, but a cell may hold the escape ``_x0000_``, which calamine decodes to
    it; no database text column stores NUL, so loading such a cell would fail the whole run.
    """
    numbered = [(1, headers), *rows]
    for number, cells in numbered:
        for column, cell in enumerate(cells, start=1):
            if "\x00" in cell:
                raise FileRejected(
                    f"{sheet_label}, row {number}, column {column} holds a NUL character (U+0000, "
                    "written _x0000_ in the file), which cannot be stored; remove it and re-deliver the file",
                    rule="file_undecodable",
                ).with_rows(
                    [
                        (sheet_name, row, json.dumps(row_record(headers, values), ensure_ascii=False))
                        for row, values in rows
                    ]
                )


def read_xlsx(
    path: Path, data: bytes | None = None
) -> tuple[list[str], list[tuple[int, list[str]]], list[MalformedRow]]:
    """First sheet of a workbook; cell values (not formulas) converted to text."""
    (cells,) = _workbook_cells(path, None, data).values()
    return shape_sheet(cells)


def read_workbook_sheets(path: Path, sheet_names: set[str], data: bytes | None = None) -> dict[str, RawTable]:
    """The named sheets of a workbook that exist (names compared after trimming), as tables.

    A sheet that exists but is empty comes back without headers or rows; deciding which sheets
    are required, and what an empty one means, is the feed's business.
    """
    if path.suffix.lower() != ".xlsx":
        raise FileRejected(
            f"unsupported file type '{path.suffix}': the feed accepts .xlsx", rule="file_unsupported_type"
        )
    tables = {}
    for name, cells in _workbook_cells(path, sheet_names, data).items():
        if not any(_cell_text(value).strip() for row in cells for value in row):
            tables[name] = RawTable([], [], "xlsx", None)  # an empty sheet: no header, no rows
            continue
        headers, rows, malformed = shape_sheet(cells, f"sheet {name}", name)
        tables[name] = RawTable(headers, rows, "xlsx", None, malformed)
    return tables


def read_json_lines(path: Path, data: bytes | None = None) -> tuple[list[tuple[int, str]], str]:
    """Non-blank lines of a JSON Lines file as (line number, text), and the encoding found.

    The file is decoded as a whole (strict UTF-8 with or without BOM, else GB18030), like CSV.
    Parsing each line is the feed's job: an invalid line is a row error, not a file error.
    """
    if path.suffix.lower() != ".jsonl":
        raise FileRejected(
            f"unsupported file type '{path.suffix}': the feed accepts .jsonl", rule="file_unsupported_type"
        )
    data = path.read_bytes() if data is None else data
    try:
        text, encoding = decode_text(data)
    except FileRejected as rejection:
        raise rejection.with_text_lines(data, header=False) from None
    # Lines end at LF only (a trailing CR dropped): str.splitlines() would also break at U+2028,
    # U+0085, form feed and others, which JSON allows unescaped inside strings.
    lines = [(number, line.removesuffix("\r")) for number, line in enumerate(text.split("\n"), start=1) if line.strip()]
    # An export without lines is a day without visits, not a broken file: it loads with 0 rows.
    return lines, encoding


def read_table(path: Path, data: bytes | None = None) -> RawTable:
    """Read a CSV or XLSX file; raise ``FileRejected`` when it cannot be read as a whole."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        data = path.read_bytes() if data is None else data
        try:
            text, encoding = decode_text(data)
        except FileRejected as rejection:
            raise rejection.with_text_lines(data, header=True) from None
        headers, rows, malformed = read_csv_text(text)
        return RawTable(headers, rows, "csv", encoding, malformed)
    if suffix == ".xlsx":
        headers, rows, malformed = read_xlsx(path, data)
        return RawTable(headers, rows, "xlsx", None, malformed)
    raise FileRejected(
        f"unsupported file type '{path.suffix}': the feed accepts {', '.join(sorted(SUPPORTED_SUFFIXES))}",
        rule="file_unsupported_type",
    )
