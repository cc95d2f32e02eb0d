"""Hypothesis strategies for hostile landing files, and the invariants every prepared file must keep.

The strategies build whole files as bytes: CSV (any of the contract's encodings, or broken
bytes), XLSX written with openpyxl (error cells, formulas, escapes), JSON Lines for visits. Cell
values mix plausible contract values with the odd ones sources actually send: full-width text,
stray quotes, embedded newlines, huge fields, NUL, lone surrogates, spreadsheet error texts,
SQL, Jinja and HTML fragments.

``check_prepared`` / ``check_rejected`` state what "handled" means: a file prepares (each unit is
loaded or carries a failure with a reason, and every value can be stored as text) or is refused
with ``FileRejected`` and a reason; nothing else may escape.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from parkops.feeds import feed
from parkops.feeds.incubator_reports import REPORTS
from parkops.feeds.incubator_reports.reading import REPORT_SHEET, TENANT_SHEET
from parkops.ingest.prepared import PreparedFile, ValidationInputs
from parkops.ingest.readers import FileRejected
from parkops.pipeline.reference import seed_frame

# CI runs the same examples every time (derandomize); locally each run explores new ones.
settings.register_profile(
    "parkops",
    deadline=None,
    derandomize=os.environ.get("CI", "").lower() == "true",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    print_blob=True,
)
settings.load_profile("parkops")

DELIVERY_DATE = "2025-03-10"

#: Values that have broken readers elsewhere, or that must pass through as plain data.
HOSTILE_VALUES = (
    "'; drop table staging.registrations; --",
    'Robert"); drop table ops.quarantine;--',
    "{{ 7 * 7 }}{% raw %}",
    "<script>alert('x')</script>",
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    '=HYPERLINK("http://evil.example","点击")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "#N/A",
    "#REF!",
    "#DIV/0!",
    "#VALUE!",
    "NULL",
    "None",
    "nan",
    '"',
    '""',
    "'",
    "a,b",
    "a\nb",
    "a\r\nb",
    "a\rb",
    "line\u2028sep",
    "next\x85line",
    "\ufeff",
    "\u200b",
    "\u3000",
    "９１３１０１１５ＭＡ１ＡＢＣＤＥＦ",
    "注册资本（万元）",
    "２０２５年３月５日",
    "0000-01-01",
    "9999Q4",
    "0000",
    "_x0000_",
    "_xD800_",
    "1e400",
    "-0",
    "１２３,４５６.７８",
    "\x00",
    "\ud800",
    "\udfff",
    "\x1a",
    "\x7f",
)

PLAUSIBLE_VALUES = (
    "91310115MA1K4QWE0X",
    "上海张江测试科技有限公司",
    "设立",
    "迁入",
    "2025-03-05",
    "2025/3/5",
    "20250305",
    "2025年3月5日",
    "2025-03",
    "2025Q1",
    "2024",
    "100",
    "40,642.59",
    "人民币",
    "I6520",
    "6520",
    "张江核心园",
    "金桥园",
    "高新技术企业；科技型中小企业",
    "是",
    "否",
    "true",
    "new_tech_per_day",
    "统计局",
)

_text = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()),  # every code point, surrogates included
    max_size=20,
)

cell_values = st.one_of(
    st.sampled_from(PLAUSIBLE_VALUES),
    st.sampled_from(HOSTILE_VALUES),
    _text,
    st.just(""),
    # Huge fields: over the csv module's 128 KiB field limit, and over Excel's 32767 characters.
    st.sampled_from(("x" * 140_000, "长" * 40_000)),
)


def headers_strategy(spec_headers: list[str]) -> st.SearchStrategy[list[str]]:
    """The contract's headers, sometimes shuffled, thinned, repeated, folded or joined by odd ones."""
    return st.one_of(
        st.just(spec_headers),
        st.permutations(spec_headers).map(list),
        st.lists(st.sampled_from([*spec_headers, *HOSTILE_VALUES[:8], " 企业名称 ", "", "备注"]), max_size=10),
        st.just([f" {header}\u3000" for header in spec_headers]),
    )


ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "utf-16", "bom-only", "empty")


@st.composite
def csv_files(draw: st.DrawFn, spec_headers: list[str]) -> bytes:
    """A CSV file's bytes: header and rows of cell values, encoded (or broken) in some way."""
    encoding = draw(st.sampled_from(ENCODINGS))
    if encoding == "empty":
        return b""
    if encoding == "bom-only":
        return b"\xef\xbb\xbf"
    headers = draw(headers_strategy(spec_headers))
    width = max(len(headers), 1)
    rows = draw(
        st.lists(
            st.lists(cell_values, min_size=0, max_size=width + 2),
            max_size=6,
        )
    )
    buffer = io.StringIO(newline="")
    if draw(st.booleans()):
        quoting = draw(st.sampled_from((csv.QUOTE_MINIMAL, csv.QUOTE_ALL)))
        writer = csv.writer(buffer, quoting=quoting, lineterminator=draw(st.sampled_from(("\n", "\r\n"))))
        writer.writerow(headers)
        writer.writerows(rows)
    else:  # hand-joined, as a careless export does: stray quotes and separators stay as they are
        buffer.write("\n".join(",".join(line) for line in [headers, *rows]))
    text = buffer.getvalue()
    # utf-8 may carry lone surrogates as bytes (invalid UTF-8); gb18030 cannot encode them at all.
    errors = "surrogatepass" if encoding.startswith("utf-8") else "replace"
    data = text.encode(encoding, errors=errors)
    if draw(st.booleans()):  # a few stray bytes somewhere: invalid UTF-8, maybe valid GB18030
        position = draw(st.integers(0, len(data)))
        data = data[:position] + draw(st.binary(min_size=1, max_size=4)) + data[position:]
    return data


def _xlsx_cell(value: object) -> object:
    if isinstance(value, str):
        # openpyxl refuses control characters (XML cannot hold them) and lone surrogates.
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        return value.encode("utf-8", "ignore").decode("utf-8")
    return value


xlsx_values = st.one_of(
    cell_values,
    st.none(),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1)),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
    st.booleans(),
    st.sampled_from(("=1/0", "=NA()", "=A1&B1", "=1+1")),  # formulas without cached values
)
ERROR_CELLS = ("#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!")


@st.composite
def sheet_rows(draw: st.DrawFn, spec_headers: list[str], max_rows: int = 5) -> list[list[object]]:
    headers = draw(headers_strategy(spec_headers))
    width = max(len(headers), 1)
    rows = draw(st.lists(st.lists(xlsx_values, max_size=width + 2), max_size=max_rows))
    if draw(st.booleans()):  # a very long row
        rows.append([draw(cell_values) for _ in range(300)])
    return [headers, *rows]


def _write_sheet(sheet, rows: list[list[object]], error_cells: list[tuple[int, int, str]]) -> None:
    for row in rows:
        sheet.append([_xlsx_cell(value) for value in row])
    for row, column, text in error_cells:
        cell = sheet.cell(row=row, column=column)
        cell.value = text
        cell.data_type = "e"  # a real error cell (t="e"), as Excel writes #N/A


@st.composite
def error_cells(draw: st.DrawFn, rows: int) -> list[tuple[int, int, str]]:
    return draw(
        st.lists(
            st.tuples(st.integers(1, max(rows, 1) + 1), st.integers(1, 6), st.sampled_from(ERROR_CELLS)), max_size=3
        )
    )


def _workbook_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@st.composite
def xlsx_files(draw: st.DrawFn, spec_headers: list[str]) -> bytes:
    """A one-sheet workbook (registrations), or bytes that only pretend to be one."""
    kind = draw(st.sampled_from(("workbook", "workbook", "workbook", "empty", "garbage")))
    if kind == "empty":
        return b""
    if kind == "garbage":
        return b"PK\x03\x04" + draw(st.binary(max_size=64))
    rows = draw(sheet_rows(spec_headers))
    workbook = Workbook()
    _write_sheet(workbook.active, rows, draw(error_cells(len(rows))))
    return _workbook_bytes(workbook)


@st.composite
def incubator_workbooks(draw: st.DrawFn) -> bytes:
    """An incubator report: a 月报 sheet (maybe renamed, empty or with extra rows), maybe a tenant list."""
    workbook = Workbook()
    report_title = draw(st.sampled_from((REPORT_SHEET, f" {REPORT_SHEET} ", "Sheet1", "月报2")))
    report = workbook.active
    report.title = report_title
    report_headers = [column.header for column in REPORTS.columns]
    rows = draw(sheet_rows(report_headers, max_rows=2))
    if draw(st.booleans()):
        rows = rows[:2]  # the usual shape: header and one report row
    _write_sheet(report, rows, draw(error_cells(len(rows))))
    if draw(st.booleans()):
        tenants = workbook.create_sheet(draw(st.sampled_from((TENANT_SHEET, f"{TENANT_SHEET} "))))
        tenant_rows = draw(sheet_rows(["统一社会信用代码"], max_rows=6))
        if draw(st.booleans()):
            tenant_rows = []  # an empty tenant list
        _write_sheet(tenants, tenant_rows, draw(error_cells(len(tenant_rows))))
    return _workbook_bytes(workbook)


VISIT_KEYS = (
    "visit_id",
    "visit_date",
    "visitor_id",
    "visitor_name",
    "visitor_role",
    "area",
    "park_name",
    "uscc",
    "enterprise_name",
    "channel",
    "is_key_enterprise",
)
NEED_KEYS = ("need_id", "category", "description", "status", "raised_date", "resolved_date", "satisfaction")

json_scalars = st.one_of(
    cell_values,
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
)
json_values = st.recursive(
    json_scalars, lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children, max_size=3)
)


@st.composite
def visit_lines(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(("visit", "visit", "visit", "garbage", "nested", "scalar")))
    if kind == "garbage":
        return draw(st.sampled_from((*HOSTILE_VALUES, '{"visit_id": ', "{", "}", '{"a":1}{"b":2}')))
    if kind == "nested":
        depth = draw(st.sampled_from((5, 2000, 100_000)))
        return "[" * depth + "]" * draw(st.sampled_from((0, depth)))
    if kind == "scalar":
        return json.dumps(draw(json_scalars), ensure_ascii=draw(st.booleans()), allow_nan=True)
    visit = {key: draw(json_values) for key in draw(st.lists(st.sampled_from(VISIT_KEYS), unique=True))}
    if draw(st.booleans()):
        visit["needs"] = draw(
            st.one_of(
                st.lists(
                    st.fixed_dictionaries({}, optional={key: json_values for key in NEED_KEYS}),
                    max_size=3,
                ),
                json_values,
            )
        )
    if draw(st.booleans()):
        visit[draw(_text)] = draw(json_values)  # an unknown key
    # ensure_ascii=True turns lone surrogates and NUL into \\uXXXX escapes: valid JSON, unstorable text.
    return json.dumps(visit, ensure_ascii=draw(st.booleans()), allow_nan=True)


@st.composite
def jsonl_files(draw: st.DrawFn) -> bytes:
    encoding = draw(st.sampled_from(ENCODINGS))
    if encoding == "empty":
        return b""
    if encoding == "bom-only":
        return b"\xef\xbb\xbf"
    lines = draw(st.lists(visit_lines(), max_size=5))
    separator = draw(st.sampled_from(("\n", "\r\n", "\n\n")))
    text = separator.join(lines)
    errors = "surrogatepass" if encoding.startswith("utf-8") else "replace"
    data = text.encode(encoding, errors=errors)
    if draw(st.booleans()):
        position = draw(st.integers(0, len(data)))
        data = data[:position] + draw(st.binary(min_size=1, max_size=4)) + data[position:]
    return data


REGISTRATION_HEADERS = [column.header for column in feed("registrations").contract("registrations").columns]
MANUAL_STATISTICS_HEADERS = [
    column.header for column in feed("manual_statistics").contract("manual_statistics").columns
]


def seed_validation_inputs() -> ValidationInputs:
    """What ``read_validation_inputs`` reads from core.dim_* after the seeds load, from the seeds directly."""
    classes = seed_frame("industry_classes")
    targets = seed_frame("kpi_targets")
    return ValidationInputs(
        suite_parameters={
            "industry_codes": sorted(classes["class_code"]),
            "park_names": sorted(seed_frame("parks")["park_name"]),
            "qualification_tags": sorted(seed_frame("qualification_tags")["tag"]),
            "manual_kpi_codes": sorted(targets.loc[targets["source"] == "manual_statistics", "kpi_code"]),
        },
        division_sections=dict(zip(classes["division_code"], classes["section_code"], strict=True)),
    )


# --- invariants ---------------------------------------------------------------------------------


def storable(value: object) -> bool:
    """Whether a value can go into a text column of both engines: no NUL, encodable as UTF-8."""
    if value is None or not isinstance(value, str):
        return True
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _assert_frame_storable(frame, where: str) -> None:
    for column in frame.columns:
        for row, value in enumerate(frame[column].tolist()):
            assert storable(value), f"{where}: column {column}, row {row} holds unstorable text {value!r}"


def check_prepared(prepared: PreparedFile, path: Path) -> None:
    """Every unit ends loaded or failed with a reason; every value reaching a table is storable."""
    count = prepared.unit_count
    assert all(isinstance(number, int) and number >= 1 for number in prepared.unit_rows), (
        f"{path.name}: row numbers must be positive: {prepared.unit_rows}"
    )
    for name in ("unit_sheets", "unit_parents"):
        values = getattr(prepared, name)
        assert values is None or len(values) == count, f"{path.name}: {name} has {len(values)} entries for {count}"
    in_parts: set[int] = set()
    for part in prepared.parts:
        rows = len(part.normalised)
        assert len(part.originals) == rows == len(part.unit), f"{path.name}: {part.table} parts disagree in length"
        assert part.raw is None or len(part.raw) == rows, f"{path.name}: raw.{part.table} has a different length"
        assert all(0 <= unit < count for unit in part.unit.tolist()), f"{path.name}: {part.table} unit out of range"
        in_parts.update(part.unit.tolist())
        _assert_frame_storable(part.normalised, f"{path.name} staging.{part.table}")
        _assert_frame_storable(part.originals, f"{path.name} originals of {part.table}")
        if part.raw is not None:
            _assert_frame_storable(part.raw, f"{path.name} raw.{part.table}")
    failed: set[int] = set()
    for failure in prepared.failures:
        assert 0 <= failure.unit < count, f"{path.name}: failure on unit {failure.unit} of {count}"
        assert failure.rule and failure.reason and failure.reason.strip(), f"{path.name}: failure without reason"
        assert storable(failure.reason) and storable(failure.value) and storable(failure.column), (
            f"{path.name}: unstorable failure {failure}"
        )
        failed.add(failure.unit)
    missing = set(range(count)) - in_parts - failed
    assert not missing, f"{path.name}: units {sorted(missing)} are neither in a table nor failed"
    for unit in range(count):
        record = prepared.unit_record(unit)
        assert storable(record), f"{path.name}: record of unit {unit} is unstorable"
        json.loads(record)


def check_rejected(rejection: FileRejected, path: Path) -> None:
    assert rejection.rule, f"{path.name}: rejection without rule"
    assert rejection.reason and rejection.reason.strip(), f"{path.name}: rejection without reason"
    assert storable(rejection.reason), f"{path.name}: unstorable reason {rejection.reason!r}"
    if rejection.counted_by == "uncountable":  # the file itself, as one row
        assert rejection.received_rows == [(None, None, None)], f"{path.name}: uncountable with rows"
        return
    for sheet, number, record in rejection.received_rows:
        assert isinstance(number, int) and number >= 1, f"{path.name}: received row number {number}"
        assert storable(sheet) and storable(record), f"{path.name}: unstorable received row {number}"
        # Rows counted without being read (sheet rows found in the XML, lines of a file over the size
        # cap) carry no record; rows that were read carry theirs.
        if record is not None or rejection.counted_by == "parsed":
            json.loads(record)
