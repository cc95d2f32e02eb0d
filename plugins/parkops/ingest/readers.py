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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from parkops.ingest.limits import IngestLimits, cap_text, ingest_limits
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


#: An oversized text file is counted by its lines up to this many; past it, as one uncountable row.
MAX_COUNTED_LINES = 1_000_000


def _oversized_text_rows(path: Path, *, header: bool, data: bytes | None = None) -> list[ReceivedRow] | None:
    """Line numbers of the non-empty lines of a file too large to read (less the header), streamed a
    chunk at a time and without their text; None when there are more than ``MAX_COUNTED_LINES``.

    Lines end at LF, as :func:`text_line_rows` splits them; a line is empty when it holds only ASCII
    whitespace, NUL and byte order marks (bytes, as the file is not decoded).
    """
    numbers: list[int] = []
    number, filled = 1, False
    with path.open("rb") if data is None else io.BytesIO(data) as handle:
        while chunk := handle.read(1 << 20):
            pieces = chunk.split(b"\n")
            for position, piece in enumerate(pieces):
                if position:  # an LF ended the line before this piece
                    if filled:
                        numbers.append(number)
                        if len(numbers) > MAX_COUNTED_LINES + header:
                            return None
                    number, filled = number + 1, False
                filled = filled or bool(piece.replace(b"\xef\xbb\xbf", b"").strip(b" \t\r\x0b\x0c\x00"))
    if filled:
        numbers.append(number)
    if len(numbers) > MAX_COUNTED_LINES + header:
        return None
    return [(None, line, None) for line in numbers[1 if header else 0 :]]


def _check_file_size(
    path: Path, limits: IngestLimits, *, data: bytes | None = None, text_header: bool | None = None
) -> None:
    """Refuse a file larger than ``max_file_mb`` (on disk, or its bytes ``data`` read by the loader)
    before parsing it. A text file (``text_header`` not None) counts its lines, streamed; a
    workbook counts as one row."""
    size = path.stat().st_size if data is None else len(data)
    if size <= limits.max_bytes("max_file_mb"):
        return
    reason = f"the file is {size:,} bytes, over the cap {cap_text('max_file_mb', limits)}"
    rejection = FileRejected(reason, rule="file_too_large")
    if text_header is None:
        rejection.reason += "; its rows were not counted (that would inflate it), so it counts as one row"
        raise rejection
    rows = _oversized_text_rows(path, header=text_header, data=data)
    if rows is None:
        rejection.reason += (
            f"; it has more than {MAX_COUNTED_LINES:,} non-empty lines, so it was not counted and counts as one row"
        )
        raise rejection
    rejection.reason += "; its rows are its non-empty lines (their text is not kept)"
    raise rejection.with_rows(rows, COUNTED_TEXT_LINES)


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


#: A line as ``io.StringIO(text, newline="")`` reads it: up to and including CR LF, CR or LF.
_TEXT_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
#: Distinct cell texts a read shares between equal cells (bounds the sharing table itself).
_SHARED_CELLS = 100_000


def _text_lines(text: str) -> Iterator[str]:
    """The lines of ``text`` one at a time: unlike ``io.StringIO``, which copies the whole text
    into four bytes a character, only the line being parsed exists besides the text."""
    for match in _TEXT_LINE.finditer(text):
        yield match.group()


def read_csv_text(text: str) -> tuple[list[str], list[tuple[int, list[str]]], list[MalformedRow]]:
    """Parse CSV text; a record with a different number of fields than the header is malformed.

    Equal cells share one string (dates, parks, event types repeat on every row): a row of
    fifteen short strings costs about a kilobyte, several times its bytes in the file.
    """
    reader = csv.reader(_text_lines(text), strict=False, skipinitialspace=True)
    shared: dict[str, str] = {}
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
            record = [_shared_cell(shared, cell) for cell in record]
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


def _shared_cell(shared: dict[str, str], cell: str) -> str:
    kept = shared.get(cell)
    if kept is None:
        kept = cell
        if len(shared) < _SHARED_CELLS:
            shared[cell] = cell
    return kept


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


_XML_ATTRIBUTE = re.compile(r'([\w:]+)\s*=\s*"([^"]*)"')
_XML_SHEET = re.compile(r"<(?:\w+:)?sheet\b([^>]*)>")
_XML_RELATIONSHIP = re.compile(r"<(?:\w+:)?Relationship\b([^>]*)>")
#: In a sheet's XML (bytes): a row's start tag (its attributes); a row number; a value that is not blank.
_XML_ROW_START = re.compile(rb"<(?:\w+:)?row\b([^>]*)>")
_XML_ROW_NUMBER = re.compile(rb"""\br\s*=\s*["'](\d+)""")
_XML_NONBLANK_VALUE = re.compile(rb"<(?:\w+:)?[vt]\b[^>]*>\s*[^<\s]")
#: A cell reference (``r="ALL1048576"``, any quotes and spacing): where calamine and openpyxl put
#: the cell, whatever its row element says. Column letters and row digits apart: few distinct.
_XML_CELL_COLUMN = re.compile(rb"""\sr\s*=\s*["']([A-Z]+)\d""")
_XML_CELL_ROW = re.compile(rb"""\sr\s*=\s*["'][A-Z]+(\d+)""")
_XML_ERROR_CELL = re.compile(rb"""\st\s*=\s*["']e["']""")
#: Deflate's largest possible inflation (a 258-byte match per bit or so): 1032 to 1.
_DEFLATE_MAX_RATIO = 1032
_BOUNDED_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
#: Bytes of a workbook part inflated at a time while it is checked.
_INFLATE_CHUNK = 1 << 20
#: Errors of an archive that is not a readable workbook (zipfile, zlib, an unsupported method).
_ARCHIVE_ERRORS = (zipfile.BadZipFile, KeyError, OSError, EOFError, zlib.error, NotImplementedError, ValueError)


def _attributes(text: str) -> dict[str, str]:
    return {name.split(":")[-1]: value for name, value in _XML_ATTRIBUTE.findall(text)}


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


@dataclass
class SheetExtent:
    """What a worksheet part holds, found by scanning its XML as it inflates (nothing parsed)."""

    #: The farthest row and column a row or cell is placed at (A1 = 1, 1).
    last_row: int = 0
    last_column: int = 0
    has_error_cells: bool = False
    #: Rows holding a non-blank value, in order (only when counting a rejected workbook's rows).
    value_rows: list[int] = field(default_factory=list)
    #: The row being scanned (a row without ``r`` follows the one before it).
    current_row: int = 0


def _scan_sheet_xml(region: bytes, extent: SheetExtent, *, count_rows: bool) -> None:
    """Fold a region of a sheet's XML that ends before a tag (so holds whole tags) into ``extent``."""
    starts = list(_XML_ROW_START.finditer(region))
    if count_rows and extent.current_row:  # the row the region before ended in may go on here
        _note_value_row(region, 0, starts[0].start() if starts else len(region), extent)
    for position, row in enumerate(starts):
        number = _XML_ROW_NUMBER.search(row[1])
        extent.current_row = int(number[1]) if number else extent.current_row + 1
        extent.last_row = max(extent.last_row, extent.current_row)
        if count_rows and not row[1].endswith(b"/"):
            row_end = starts[position + 1].start() if position + 1 < len(starts) else len(region)
            _note_value_row(region, row.end(), row_end, extent)
    if count_rows:
        return
    columns = set(_XML_CELL_COLUMN.findall(region))
    if columns:
        extent.last_column = max(extent.last_column, *map(_column_number, columns))
    cell_rows = set(_XML_CELL_ROW.findall(region))
    if cell_rows:
        extent.last_row = max(extent.last_row, *map(int, cell_rows))
    extent.has_error_cells = extent.has_error_cells or _XML_ERROR_CELL.search(region) is not None


def _note_value_row(region: bytes, start: int, end: int, extent: SheetExtent) -> None:
    if _XML_NONBLANK_VALUE.search(region, start, end) and extent.value_rows[-1:] != [extent.current_row]:
        extent.value_rows.append(extent.current_row)


def _inflate(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, extent: SheetExtent | None, *, count_rows: bool
) -> None:
    """Inflate a part a chunk at a time (zipfile stops at the declared size and checks the CRC),
    scanning it into ``extent`` when it is a worksheet."""
    carry = b""
    with archive.open(member) as stream:
        while chunk := stream.read(_INFLATE_CHUNK):
            if extent is None:
                continue
            buffer = carry + chunk
            cut = max(buffer.rfind(b"<"), 0)  # what precedes the last tag is whole tags and text
            _scan_sheet_xml(buffer[:cut], extent, count_rows=count_rows)
            carry = buffer[cut:]
    if extent is not None:
        _scan_sheet_xml(carry, extent, count_rows=count_rows)


def _is_worksheet(name: str) -> bool:
    return name.startswith("xl/worksheets/") and name.endswith(".xml")


@dataclass
class WorkbookCheck:
    """A workbook whose parts were inflated once, within the caps, and its worksheets' extents."""

    path: Path
    extents: dict[str, SheetExtent]
    #: Sheet name as written (untrimmed) -> its worksheet part; None when the map cannot be read.
    sheet_parts: dict[str, str] | None
    #: The workbook's bytes when the loader read them (nothing is read from ``path`` then).
    data: bytes | None = None


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str] | None:
    """The worksheet part of each sheet, in workbook order, from workbook.xml and its relationships."""
    try:
        sheets = [_attributes(match) for match in _XML_SHEET.findall(archive.read("xl/workbook.xml").decode())]
        rels = archive.read("xl/_rels/workbook.xml.rels").decode()
        targets = {
            attributes.get("Id"): attributes.get("Target", "")
            for attributes in map(_attributes, _XML_RELATIONSHIP.findall(rels))
        }
        parts = {}
        for sheet in sheets:
            target = targets[sheet["id"]]
            parts[sheet.get("name", "")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        return parts
    except (*_ARCHIVE_ERRORS, UnicodeDecodeError):
        return None


def _workbook_source(path: Path, data: bytes | None) -> Path | io.BytesIO:
    """What a workbook reader opens: the bytes already read (a fresh stream each time), else the path."""
    return path if data is None else io.BytesIO(data)


def check_workbook(path: Path, limits: IngestLimits, data: bytes | None = None) -> WorkbookCheck:
    """Check a workbook against the caps before any reader opens it.

    The archive's directory gives each part's inflated size; a part or the whole over its cap is
    refused before anything inflates. The worksheets, and every part that could inflate past a
    cap whatever its declared size, are then inflated once, a chunk at a time and discarded:
    zipfile stops at the declared size and checks the CRC, so a directory that lies about a size
    fails here, not inside calamine. Worksheets are scanned as they inflate for the farthest row
    and column a row or cell is placed at. Rejections of the archive itself count one uncountable
    row: counting its rows would mean inflating it.
    """
    try:
        archive = zipfile.ZipFile(_workbook_source(path, data))
    except _ARCHIVE_ERRORS as error:
        raise FileRejected(f"not a readable XLSX workbook: {error}", rule="file_unparseable") from error
    with archive:
        members = archive.infolist()
        member_cap = limits.max_bytes("max_workbook_member_mb")
        for member in members:
            if member.file_size > member_cap:
                raise _uncounted_workbook(
                    f"its part {member.filename} inflates to {member.file_size:,} bytes, over the cap "
                    f"{cap_text('max_workbook_member_mb', limits)}"
                )
        total = sum(member.file_size for member in members)
        if total > limits.max_bytes("max_workbook_inflated_mb"):
            raise _uncounted_workbook(
                f"its parts inflate to {total:,} bytes together, over the cap "
                f"{cap_text('max_workbook_inflated_mb', limits)}"
            )
        extents: dict[str, SheetExtent] = {}
        unscanned = [member for member in members if not _is_worksheet(member.filename)]
        bounded = [member for member in unscanned if member.compress_type in _BOUNDED_METHODS]
        worst_case = sum(member.compress_size * _DEFLATE_MAX_RATIO for member in bounded)
        # A deflated part cannot inflate past 1032 times its compressed size, whatever its declared
        # size: when even that stays within the caps it need not be inflated to be checked.
        skipped = {
            member.filename
            for member in bounded
            if member.compress_size * _DEFLATE_MAX_RATIO <= member_cap
            and worst_case + total <= limits.max_bytes("max_workbook_inflated_mb")
        }
        try:
            for member in members:
                if member.filename in skipped:
                    continue
                extent = SheetExtent() if _is_worksheet(member.filename) else None
                _inflate(archive, member, extent, count_rows=False)
                if extent is not None:
                    extents[member.filename] = extent
        except _ARCHIVE_ERRORS as error:
            raise FileRejected(f"not a readable XLSX workbook: {error}", rule="file_unparseable") from error
        return WorkbookCheck(path, extents, _sheet_parts(archive), data)


def _uncounted_workbook(why: str) -> FileRejected:
    return FileRejected(
        f"the workbook is too large to read: {why}; its rows were not counted (that would inflate it), "
        "so it counts as one row",
        rule="workbook_too_large",
    )


def _chosen_sheets(check: WorkbookCheck, wanted: set[str] | None) -> dict[str, str]:
    """Name as written -> worksheet part of the sheets a reader will read (the first, or those wanted)."""
    parts = check.sheet_parts or {}
    if wanted is None:
        return dict(list(parts.items())[:1])
    return {name: part for name, part in parts.items() if name.strip() in wanted}


def _check_sheet_extents(check: WorkbookCheck, wanted: set[str] | None, limits: IngestLimits) -> None:
    """Refuse a sheet to be read whose farthest cell lies beyond the row, column or cell caps:
    the readers hold every cell from A1 to it. Its rows are counted from its XML (bounded)."""
    chosen = _chosen_sheets(check, wanted) if check.sheet_parts is not None else {part: part for part in check.extents}
    for name, part in chosen.items():
        extent = check.extents.get(part)
        if extent is None:
            continue
        rows, columns = extent.last_row, extent.last_column
        over = None
        if rows > limits.max_sheet_rows:
            over = f"its last row is {rows:,}, over the cap {cap_text('max_sheet_rows', limits)}"
        elif columns > limits.max_sheet_columns:
            over = f"its last column is {columns:,}, over the cap {cap_text('max_sheet_columns', limits)}"
        elif rows * columns > limits.max_sheet_cells:
            over = (
                f"its range A1 to row {rows:,}, column {columns:,} holds {rows * columns:,} cells, over the cap "
                f"{cap_text('max_sheet_cells', limits)}"
            )
        if over is not None:
            raise _with_sheet_rows(
                FileRejected(f"sheet {name.strip()} is too large to read: {over}", rule="sheet_too_large"),
                check,
                wanted,
            )


def _with_sheet_rows(rejection: FileRejected, check: WorkbookCheck, wanted: set[str] | None) -> FileRejected:
    """The rejection with the non-empty rows, less the header, of the sheets a reader would have
    read, found in their XML (the parts passed the caps, so inflating them again is bounded);
    one uncountable row when the workbook has no sheet map or a sheet's part cannot be read."""
    if check.sheet_parts is None:
        return rejection
    rows: list[ReceivedRow] = []
    try:
        with zipfile.ZipFile(_workbook_source(check.path, check.data)) as archive:
            for name, part in _chosen_sheets(check, wanted).items():
                extent = SheetExtent()
                _inflate(archive, archive.getinfo(part), extent, count_rows=True)
                sheet = None if wanted is None else name.strip()
                rows += [(sheet, number, None) for number in extent.value_rows[1:]]
    except _ARCHIVE_ERRORS:
        return rejection
    return rejection.with_rows(rows, COUNTED_SHEET_ROWS)


def _xlsx_sheets_calamine(
    path: Path, wanted: set[str] | None, data: bytes | None = None
) -> dict[str, list[list[object]]]:
    from python_calamine import CalamineWorkbook

    opened = CalamineWorkbook.from_path(str(path)) if data is None else CalamineWorkbook.from_filelike(io.BytesIO(data))
    with opened as workbook:
        names = workbook.sheet_names
        if not names:
            raise FileRejected("the workbook has no sheet", rule="file_empty").with_rows([])
        chosen = [names[0]] if wanted is None else [name for name in names if name.strip() in wanted]
        return {name.strip(): workbook.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in chosen}


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


def _workbook_cells(
    path: Path, wanted: set[str] | None, limits: IngestLimits | None = None, data: bytes | None = None
) -> dict[str, list[list[object]]]:
    """Cells of the first sheet (``wanted`` None) or of the sheets named in ``wanted`` that exist.

    The workbook is first checked against the caps (:func:`check_workbook`). calamine (Rust)
    reads ~25x faster than openpyxl but turns error cells (#N/A, #DIV/0!) into empty strings,
    which would make an error look like a missing value. Workbooks holding an error cell are
    therefore read with openpyxl, which keeps the error text for the suite to reject.

    With ``data`` (the file's bytes, read once by the loader) nothing is read from disk, so an
    ``OSError`` here comes from the content, not from the file system.
    """
    from python_calamine import CalamineError

    limits = limits or ingest_limits()
    _check_file_size(path, limits, data=data)
    check = check_workbook(path, limits, data)
    _check_sheet_extents(check, wanted, limits)
    with_errors = any(extent.has_error_cells for extent in check.extents.values())
    try:
        if with_errors:
            return _xlsx_sheets_openpyxl(path, wanted, data)
        return _xlsx_sheets_calamine(path, wanted, data)
    except (*_ARCHIVE_ERRORS, CalamineError) as error:
        rejection = FileRejected(f"not a readable XLSX workbook: {error}", rule="file_unparseable")
        raise _with_sheet_rows(rejection, check, wanted) from error


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
    path: Path, data: bytes | None = None, limits: IngestLimits | None = None
) -> tuple[list[str], list[tuple[int, list[str]]], list[MalformedRow]]:
    """First sheet of a workbook; cell values (not formulas) converted to text."""
    (cells,) = _workbook_cells(path, None, limits, data).values()
    return shape_sheet(cells)


def read_workbook_sheets(
    path: Path, sheet_names: set[str], data: bytes | None = None, limits: IngestLimits | None = None
) -> dict[str, RawTable]:
    """The named sheets of a workbook that exist (names compared after trimming), as tables.

    A sheet that exists but is empty comes back without headers or rows; deciding which sheets
    are required, and what an empty one means, is the feed's business.
    """
    if path.suffix.lower() != ".xlsx":
        raise FileRejected(
            f"unsupported file type '{path.suffix}': the feed accepts .xlsx", rule="file_unsupported_type"
        )
    tables = {}
    for name, cells in _workbook_cells(path, sheet_names, limits, data).items():
        if not any(_cell_text(value).strip() for row in cells for value in row):
            tables[name] = RawTable([], [], "xlsx", None)  # an empty sheet: no header, no rows
            continue
        headers, rows, malformed = shape_sheet(cells, f"sheet {name}", name)
        tables[name] = RawTable(headers, rows, "xlsx", None, malformed)
    return tables


def read_json_lines(
    path: Path, data: bytes | None = None, limits: IngestLimits | None = None
) -> tuple[list[tuple[int, str]], str]:
    """Non-blank lines of a JSON Lines file as (line number, text), and the encoding found.

    The file is decoded as a whole (strict UTF-8 with or without BOM, else GB18030), like CSV,
    once its size is within ``max_file_mb``. Parsing each line is the feed's job: an invalid
    line is a row error, not a file error.
    """
    if path.suffix.lower() != ".jsonl":
        raise FileRejected(
            f"unsupported file type '{path.suffix}': the feed accepts .jsonl", rule="file_unsupported_type"
        )
    _check_file_size(path, limits or ingest_limits(), data=data, text_header=False)
    if data is None:
        data = path.read_bytes()
    try:
        text, encoding = decode_text(data)
    except FileRejected as rejection:
        raise rejection.with_text_lines(data, header=False) from None
    del data  # the text alone from here on
    # Lines end at LF only (a trailing CR dropped): str.splitlines() would also break at U+2028,
    # U+0085, form feed and others, which JSON allows unescaped inside strings.
    lines = [(number, line.removesuffix("\r")) for number, line in enumerate(text.split("\n"), start=1) if line.strip()]
    # An export without lines is a day without records, not a broken file: it loads with 0 rows.
    return lines, encoding


def read_table(path: Path, data: bytes | None = None, limits: IngestLimits | None = None) -> RawTable:
    """Read a CSV or XLSX file; raise ``FileRejected`` when it cannot be read as a whole
    (over a cap of ``limits``, by default those of ``config/operations.yaml``, included)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        _check_file_size(path, limits or ingest_limits(), data=data, text_header=True)
        if data is None:
            data = path.read_bytes()
        try:
            text, encoding = decode_text(data)
        except FileRejected as rejection:
            raise rejection.with_text_lines(data, header=True) from None
        del data  # the text alone from here on: a file's bytes and its rows are never held together
        headers, rows, malformed = read_csv_text(text)
        return RawTable(headers, rows, "csv", encoding, malformed)
    if suffix == ".xlsx":
        headers, rows, malformed = read_xlsx(path, data, limits)
        return RawTable(headers, rows, "xlsx", None, malformed)
    raise FileRejected(
        f"unsupported file type '{path.suffix}': the feed accepts {', '.join(sorted(SUPPORTED_SUFFIXES))}",
        rule="file_unsupported_type",
    )
