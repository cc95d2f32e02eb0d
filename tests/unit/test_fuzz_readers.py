"""Property-based fuzzing of the landing-file readers and normalisers, through each feed's ``prepare``.

The property: whatever bytes land, ``feed(name).prepare`` either returns a ``PreparedFile`` whose
every unit is loaded or failed with a reason and whose every value can be stored as text, or
raises ``FileRejected`` with a rule and a reason. Any other exception fails the test. The
``@example`` inputs are the bugs these tests found, kept as regressions.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from support import fuzz

from parkops.feeds import feed
from parkops.ingest import normalise
from parkops.ingest.readers import FileRejected

INPUTS = fuzz.seed_validation_inputs()

# Registration CSV bodies found by fuzzing (see the regression examples below).
_HEADER = ",".join(fuzz.REGISTRATION_HEADERS[:5]) + "\n"
_NUL_IN_CELL = (_HEADER + 'x,"a\x00b",设立,2025-03-05,2025-03-05\n').encode()
_UTF16 = "uscc,name\n".encode("utf-16-le")  # ASCII as UTF-16 is valid UTF-8 with a NUL after every letter
_HUGE_FIELD = (_HEADER + "91310115MA1K4QWE0X,ok,设立,2025-03-05,2025-03-05\n" + 'x,"' + "y" * 140_000).encode()


def prepare(feed_name: str, tmp_path: Path, name: str, data: bytes):
    """Land ``data`` as ``name`` and prepare it; return the prepared file or the rejection, checked."""
    path = tmp_path / name
    path.write_bytes(data)
    try:
        prepared = feed(feed_name).prepare(path, fuzz.DELIVERY_DATE, INPUTS)
    except FileRejected as rejection:
        fuzz.check_rejected(rejection, path)
        return rejection
    fuzz.check_prepared(prepared, path)
    return prepared


def _tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=60)
@given(data=fuzz.csv_files(fuzz.REGISTRATION_HEADERS))
@example(data=_NUL_IN_CELL)
@example(data=_UTF16)
@example(data=_HUGE_FIELD)
@example(data=b"\xef\xbb\xbf")
@example(data=b"")
def test_registration_csv_prepares_or_is_rejected(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    prepare("registrations", _tmp(tmp_path_factory), "registrations.csv", data)


@settings(max_examples=30)
@given(data=fuzz.xlsx_files(fuzz.REGISTRATION_HEADERS))
def test_registration_xlsx_prepares_or_is_rejected(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    prepare("registrations", _tmp(tmp_path_factory), "registrations.xlsx", data)


@settings(max_examples=50)
@given(data=fuzz.csv_files(fuzz.MANUAL_STATISTICS_HEADERS))
@example(data="指标代码,期间,数值,来源\nk,9999Q4,1,统计局\nk,0000,1,统计局\nk,0000-01,1,统计局\n".encode())
def test_manual_statistics_csv_prepares_or_is_rejected(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    prepare("manual_statistics", _tmp(tmp_path_factory), "statistics.csv", data)


@settings(max_examples=30)
@given(data=fuzz.incubator_workbooks())
def test_incubator_workbook_prepares_or_is_rejected(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    prepare("incubator_reports", _tmp(tmp_path_factory), "incubator.xlsx", data)


@settings(max_examples=60)
@given(data=fuzz.jsonl_files())
@example(data=b"[" * 100_000 + b"\n")  # RecursionError escaped json.loads
@example(data=b'{"visit_id": "\\ud800", "needs": [{"need_id": "\\u0000"}]}\n')  # unstorable escapes
@example(data='{"visit_id": "V1", "enterprise_name": "a\u2028b"}\n'.encode())  # split inside a string
def test_visit_lines_prepare_or_are_rejected(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    prepare("visits", _tmp(tmp_path_factory), "visits.jsonl", data)


@settings(max_examples=10)
@given(data=st.binary(max_size=200), suffix=st.sampled_from((".csv", ".xlsx", ".jsonl", ".txt", "")))
def test_any_bytes_under_any_name(tmp_path_factory: pytest.TempPathFactory, data: bytes, suffix: str) -> None:
    directory = _tmp(tmp_path_factory)
    for feed_name in ("registrations", "manual_statistics", "incubator_reports", "visits"):
        prepare(feed_name, directory, f"landed{suffix}", data)


# --- the normalisers on their own: any text in, text or None out, never an exception ------------


@settings(max_examples=300)
@given(value=st.one_of(fuzz.cell_values, st.none()))
@example(value="9999Q4")  # the quarter's end fell in year 10000: ValueError
@example(value="0000年第1季度")  # year 0: ValueError
@example(value="9999-12")
def test_normalisers_never_raise(value: str | None) -> None:
    for normaliser in (
        normalise.clean_text,
        normalise.normalise_code,
        normalise.normalise_date,
        normalise.normalise_number,
        normalise.normalise_tags,
        normalise.normalise_month,
        normalise.normalise_yes_no,
        normalise.normalise_boolean,
    ):
        result = normaliser(value)
        assert result is None or isinstance(result, str), f"{normaliser.__name__}({value!r}) gave {result!r}"
    assert normalise.normalise_industry_code(value, INPUTS.division_sections) is None or isinstance(
        normalise.normalise_industry_code(value, INPUTS.division_sections), str
    )
    period = normalise.normalise_period(value)
    if period is not None:
        first, last, _ = period
        assert dt.date.fromisoformat(first) <= dt.date.fromisoformat(last), f"{value!r} gave {period}"
    month = normalise.normalise_month(value)
    if month is not None and not month.startswith(normalise.UNRECOGNISED):
        assert dt.date.fromisoformat(month).day == 1, f"{value!r} gave {month}"


@settings(max_examples=200)
@given(value=st.one_of(st.integers(-(10**30), 10**30), st.floats(allow_nan=True, allow_infinity=True)))
def test_number_cells_become_text(value: float) -> None:
    assert isinstance(normalise.number_cell_to_text(value), str)


# --- the bugs, pinned down ---------------------------------------------------------------------


def test_jsonl_lines_end_at_line_feed_only(tmp_path: Path) -> None:
    """U+2028 and NEL are legal inside JSON strings; the line must stay whole and load."""
    line = json.dumps({"visit_id": "V1", "enterprise_name": "张江\u2028科技\x85公司"}, ensure_ascii=False)
    prepared = prepare("visits", tmp_path, "visits.jsonl", (line + "\r\n" + line + "\n").encode())
    assert prepared.unit_rows == [1, 2]
    assert not [failure for failure in prepared.failures if failure.rule == "line_invalid_json"]
    assert prepared.part("visits").normalised["enterprise_name"].tolist() == ["张江\u2028科技\x85公司"] * 2


def test_unstorable_json_escapes_quarantine_the_line(tmp_path: Path) -> None:
    good = json.dumps({"visit_id": "V1"})
    data = "\n".join([good, '{"visit_id": "V\\u0000"}', '{"needs": [{"description": "\\udc80"}]}']).encode()
    prepared = prepare("visits", tmp_path, "visits.jsonl", data)
    failures = {failure.unit: failure for failure in prepared.failures}
    assert {unit: failure.rule for unit, failure in failures.items()} == {
        1: "line_invalid_character",
        2: "line_invalid_character",
    }
    assert "NUL" in failures[1].reason and "\\udc80" in failures[2].reason
    assert json.loads(prepared.unit_record(1)) == {"line_text": '{"visit_id": "V\\u0000"}'}


def test_deeply_nested_json_is_an_invalid_line(tmp_path: Path) -> None:
    prepared = prepare("visits", tmp_path, "visits.jsonl", b"[" * 50_000 + b"\n" + b'{"visit_id": "V1"}\n')
    assert [(failure.unit, failure.rule) for failure in prepared.failures] == [(0, "line_invalid_json")]
    assert "nested" in prepared.failures[0].reason


@pytest.mark.parametrize(
    ("data", "says"),
    [(_NUL_IN_CELL, "NUL character (U+0000) on line 2"), (_UTF16, "NUL character (U+0000) on line 1")],
)
def test_nul_in_text_rejects_the_file(tmp_path: Path, data: bytes, says: str) -> None:
    rejection = prepare("registrations", tmp_path, "registrations.csv", data)
    assert isinstance(rejection, FileRejected) and rejection.rule == "file_undecodable"
    assert says in rejection.reason


def test_nul_escape_in_xlsx_cell_rejects_the_file_keeping_its_rows(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(fuzz.REGISTRATION_HEADERS[:5])
    workbook.active.append(["91310115MA1K4QWE0X", "张江_x0000_科技", "设立", "2025-03-05", "2025-03-05"])
    workbook.save(tmp_path / "registrations.xlsx")
    rejection = prepare("registrations", tmp_path, "registrations.xlsx", (tmp_path / "registrations.xlsx").read_bytes())
    assert isinstance(rejection, FileRejected)
    assert "row 2, column 2 holds a NUL character" in rejection.reason
    assert [(sheet, number) for sheet, number, _ in rejection.received_rows] == [(None, 2)]
    assert json.loads(rejection.received_rows[0][2])["企业名称"] == "张江\x00科技"


def test_huge_field_rejects_the_file_keeping_its_lines(tmp_path: Path) -> None:
    """Past an unterminated quote records are unreliable, lines are not: every line after the
    header is a received row, quarantined with its text."""
    rejection = prepare("registrations", tmp_path, "registrations.csv", _HUGE_FIELD)
    assert isinstance(rejection, FileRejected) and rejection.rule == "file_unparseable"
    assert "field larger than field limit" in rejection.reason and "unterminated quote" in rejection.reason
    assert rejection.counted_by == "text_lines"
    assert [number for _, number, _ in rejection.received_rows] == [2, 3]
    first_line = "91310115MA1K4QWE0X,ok,设立,2025-03-05,2025-03-05"
    assert json.loads(rejection.received_rows[0][2]) == {"_line_text": first_line}


@pytest.mark.parametrize("text", ["9999Q4", "9999年第4季度", "0000", "0000Q1", "0000-01", "9999-12"])
def test_periods_outside_the_calendar_are_unrecognised(text: str) -> None:
    assert normalise.normalise_period(text) is None


def test_month_zero_year_is_unrecognised() -> None:
    assert normalise.normalise_month("0000-03") == normalise.UNRECOGNISED + "0000-03"
    assert normalise.normalise_period("2024") == ("2024-01-01", "2024-12-31", "2024")


def test_incubator_report_row_wider_than_its_header_quarantines_the_tenants_with_it(tmp_path: Path) -> None:
    """The one 月报 row is malformed (values beyond the header): the report has no identity to give
    its tenants, which are quarantined with it (found by the workbook fuzz: an IndexError)."""
    from openpyxl import Workbook

    from parkops.feeds.incubator_reports import REPORTS
    from parkops.feeds.incubator_reports.reading import REPORT_SHEET, TENANT_SHEET

    workbook = Workbook()
    workbook.active.title = REPORT_SHEET
    headers = [column.header for column in REPORTS.columns]
    workbook.active.append(headers)
    workbook.active.append(["x"] * (len(headers) + 1))
    tenants = workbook.create_sheet(TENANT_SHEET)
    tenants.append(["统一社会信用代码"])
    tenants.append(["91310115MA1K4QWE0X"])
    workbook.save(tmp_path / "report.xlsx")
    prepared = prepare("incubator_reports", tmp_path, "report.xlsx", (tmp_path / "report.xlsx").read_bytes())
    assert [(failure.unit, failure.rule) for failure in prepared.failures] == [(0, "row_field_count")]
    assert prepared.unit_parents == [-1, 0]
