"""Every rule of sources.md section 3 (incubator monthly reports), on tiny landing folders.

Each case variant is one workbook, built with openpyxl: sheet 月报 (header + the report row,
row 2) and, when the case has tenants, sheet 在孵企业名单 (rows 2...). All workbooks of the row
cases sit in one delivery folder (2025-04) and load in one run on DuckDB; each case then checks
ops.quarantine (sheet, row number, column, value as received, rule id, a reason naming the
column), staging.incubator_reports / staging.incubator_tenants (normalised values) and
ops.file_audit. Workbooks refused whole (missing sheet or column, wrong row count, corrupt file)
are checked in the same run. The same workbooks load once more on PostgreSQL. Each run is also
compared, file by file and row by row, with the independent reading of the contract
(support.independent_feeds). Rules across months (累计毕业企业数 never decreases, resubmissions)
get their own landings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from support.independent import USCC_CHARSET, build_uscc
from support.independent_feeds import INCUBATOR_HEADERS, read_incubator_reports
from support.pipeline import rows, run_pipeline

DELIVERY = date(2025, 4, 1)
REPORT_SHEET = "月报"
TENANT_SHEET = "在孵企业名单"
TENANT_HEADER = "统一社会信用代码"
MISSING = object()


def uscc(number: int) -> str:
    return build_uscc(f"91310115MA{number:06d}")


VALID = uscc(424242)
BAD_CHECK = VALID[:17] + next(char for char in USCC_CHARSET if char != VALID[17])
FULL_WIDTH = str.maketrans({chr(code): chr(code + 0xFEE0) for code in range(0x21, 0x7F)})

#: header -> canonical column, in the order of sources.md (the independent reading's copy of the contract)
COLUMNS = INCUBATOR_HEADERS
HEADERS = list(COLUMNS)
LABELS = {column: header for header, column in COLUMNS.items()}

GOOD_REPORT: dict[str, object] = {
    "孵化器编号": "INC-GOOD",
    "孵化器名称": "张江药谷孵化器",
    "级别": "国家级",
    "高质量孵化器": "是",
    "所属园区": "张江核心园",
    "报告期": "2025-03",
    "孵化场地面积（平方米）": "12,000.5",
    "在孵企业数": "120",
    "当期新增在孵企业数": "5",
    "当期毕业企业数": "2",
    "累计毕业企业数": "30",
    "当期获投融资企业数": "10",
    "当期融资金额（万元）": "1,500",
    "知识产权授权数": "8",
    "在孵企业从业人员数": "900",
    "在孵企业营业收入（万元）": "40,642.59",
}
GOOD_STAGED = {
    "incubator_name": "张江药谷孵化器",
    "level": "国家级",
    "is_high_quality": True,
    "park_name": "张江核心园",
    "report_month": date(2025, 3, 1),
    "incubation_area_m2": Decimal("12000.5"),
    "incubatees": 120,
    "new_incubatees": 5,
    "graduated": 2,
    "graduated_cumulative": 30,
    "funded_incubatees": 10,
    "funding_10k": Decimal(1500),
    "ip_granted": 8,
    "incubatee_employees": 900,
    "incubatee_revenue_10k": Decimal("40642.59"),
}


@dataclass(frozen=True)
class Bad:
    """A row quarantined by this rule, on this column, with this value as received."""

    column: str | None
    rule: str
    value: str | None = None
    reason_has: tuple[str, ...] = ()


@dataclass(frozen=True)
class Good:
    """The row loads; ``staging`` lists expected values of its staging row."""

    staging: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Tenant:
    cell: object
    outcome: Good | Bad


@dataclass(frozen=True)
class Report:
    """One workbook: GOOD_REPORT with ``cells`` changed (MISSING: an empty cell), its tenants, its header text."""

    cells: dict[str, object]
    outcome: Good | Bad | tuple[Bad, ...]
    tenants: tuple[Tenant, ...] | None = None
    #: Header as written -> contract header, in sheet order (default: HEADERS as is).
    headers: tuple[tuple[str, str], ...] | None = None


def _ascii_brackets(header: str) -> str:
    return header.replace("（", "(").replace("）", ")")


def _bad_number(header: str, text: str) -> Report:
    column = COLUMNS[header]
    return Report({header: text}, Bad(column, f"{column}_invalid", text))


GOOD_TENANTS = (Tenant(uscc(1), Good({"uscc": uscc(1)})), Tenant(uscc(2), Good({"uscc": uscc(2)})))

CASES: dict[str, list[Report]] = {
    "good_with_tenants": [
        Report(
            {},
            Good({**GOOD_STAGED, "has_tenant_list": True}),
            tenants=(
                *GOOD_TENANTS,
                Tenant(uscc(3).translate(FULL_WIDTH), Good({"uscc": uscc(3)})),
                Tenant(f" {uscc(4).lower()} ", Good({"uscc": uscc(4)})),
            ),
        )
    ],
    "good_without_tenants": [Report({}, Good({**GOOD_STAGED, "has_tenant_list": False}))],
    "header_only_tenant_list": [Report({}, Good({"has_tenant_list": True}), tenants=())],
    "headers_in_another_order": [
        Report({}, Good(GOOD_STAGED), headers=tuple((header, header) for header in reversed(HEADERS)))
    ],
    "ascii_parentheses_in_headers": [
        Report({}, Good(GOOD_STAGED), headers=tuple((_ascii_brackets(header), header) for header in HEADERS))
    ],
    "numeric_cells": [
        Report(
            {
                "报告期": 202503,
                "孵化场地面积（平方米）": 12000.5,
                "在孵企业数": 120,
                "当期新增在孵企业数": 5.0,
                "累计毕业企业数": 30,
                "当期融资金额（万元）": 1500,
                "在孵企业营业收入（万元）": 40642.59,
            },
            Good(GOOD_STAGED),
        )
    ],
    "numbers_normalised": [
        Report(
            {"在孵企业数": "１２０", "孵化场地面积（平方米）": " 12,000.50 ", "当期融资金额（万元）": "1,500.0"},
            Good({"incubatees": 120, "incubation_area_m2": Decimal("12000.5"), "funding_10k": Decimal(1500)}),
        ),
        Report({"在孵企业数": "1,200", "当期获投融资企业数": "0"}, Good({"incubatees": 1200, "funded_incubatees": 0})),
    ],
    "report_month_formats_accepted": [
        *(
            Report({"报告期": text}, Good({"report_month": date(2025, 3, 1)}))
            for text in ("2025-03", "202503", "2025年3月", "２０２５年３月", " 2025-03 ")
        ),
        Report({"报告期": datetime(2025, 3, 1)}, Good({"report_month": date(2025, 3, 1)})),
        Report({"报告期": "2025年1月"}, Good({"report_month": date(2025, 1, 1)})),  # a late report
    ],
    "report_month_format": [
        Report({"报告期": text}, Bad("report_month", "report_month_format", text, ("2025-03",)))
        for text in ("2025/03", "2025.03", "三月", "2025-13", "2025年13月", "25-03")
    ],
    "report_month_not_before_delivery": [
        Report({"报告期": text}, Bad("report_month", "report_month_not_before_delivery", text))
        for text in ("2025-04", "2025年5月", "202604")
    ],
    "level": [
        Report({"级别": "省级"}, Bad("level", "level_unknown", "省级", ("国家级",))),
        Report({"级别": "国家"}, Bad("level", "level_unknown", "国家")),
        *(Report({"级别": level}, Good({"level": level})) for level in ("市级", "区级")),
    ],
    "is_high_quality": [
        Report({"高质量孵化器": "Y"}, Bad("is_high_quality", "is_high_quality_invalid", "Y")),
        Report({"高质量孵化器": "是的"}, Bad("is_high_quality", "is_high_quality_invalid", "是的")),
        Report({"高质量孵化器": "否"}, Good({"is_high_quality": False})),
        Report({"高质量孵化器": " 是 "}, Good({"is_high_quality": True})),
    ],
    "park_name_unknown": [
        Report({"所属园区": "张江西园"}, Bad("park_name", "park_name_unknown", "张江西园")),
        Report({"所属园区": " 金桥园 "}, Good({"park_name": "金桥园"})),
    ],
    "amount_negative": [
        _bad_number("孵化场地面积（平方米）", "-1"),
        _bad_number("当期融资金额（万元）", "-5"),
        _bad_number("在孵企业营业收入（万元）", "-0.5"),
        _bad_number("当期融资金额（万元）", "五百"),
        Report({"当期融资金额（万元）": "0"}, Good({"funding_10k": Decimal(0)})),
    ],
    "count_not_a_non_negative_integer": [
        _bad_number("在孵企业数", "120.5"),
        _bad_number("当期毕业企业数", "两"),
        _bad_number("知识产权授权数", "-1"),
        _bad_number("在孵企业从业人员数", "900人"),
        _bad_number("当期新增在孵企业数", "1e2"),
        _bad_number("累计毕业企业数", "-3"),
    ],
    "funded_exceeds_incubatees": [
        Report(
            {"当期获投融资企业数": "121"},
            Bad("funded_incubatees", "funded_exceeds_incubatees", "121", ("incubatees", "在孵企业数")),
        ),
        Report({"当期获投融资企业数": "120"}, Good({"funded_incubatees": 120})),
    ],
    "value_missing": [
        Report({header: value}, Bad(COLUMNS[header], f"{COLUMNS[header]}_missing", None))
        for header, value in zip(HEADERS, [MISSING, " "] * 8, strict=True)
    ],
    "two_rules_on_one_report": [
        Report(
            {"级别": "省级", "所属园区": "张江西园"},
            (Bad("level", "level_unknown", "省级"), Bad("park_name", "park_name_unknown", "张江西园")),
            tenants=GOOD_TENANTS,
        )
    ],
    "tenant_uscc_invalid": [
        Report(
            {},
            Good({"has_tenant_list": True}),
            tenants=(
                Tenant(uscc(1), Good({"uscc": uscc(1)})),
                Tenant(BAD_CHECK, Bad("uscc", "uscc_invalid", BAD_CHECK, ("18",))),
                Tenant(VALID[:17], Bad("uscc", "uscc_invalid", VALID[:17])),
                Tenant(uscc(2), Good({"uscc": uscc(2)})),
            ),
        )
    ],
    "tenant_uscc_repeated": [
        Report(
            {},
            Good(),
            tenants=(
                *GOOD_TENANTS,
                Tenant(uscc(1).translate(FULL_WIDTH), Bad("uscc", "tenant_uscc_repeated", uscc(1), (TENANT_SHEET,))),
            ),
        )
    ],
    "report_row_fails_with_its_tenants": [
        Report(
            {"级别": "省级"},
            Bad("level", "level_unknown", "省级"),
            tenants=(*GOOD_TENANTS, Tenant(BAD_CHECK, Bad("uscc", "uscc_invalid", BAD_CHECK))),
        ),
        Report(
            {"当期获投融资企业数": "500"}, Bad("funded_incubatees", "funded_exceeds_incubatees", "500"), GOOD_TENANTS
        ),
    ],
}


# --- workbooks -----------------------------------------------------------------------------------------


def workbook(
    path: Path,
    report: dict[str, object] | None = None,
    tenants: list[object] | None = None,
    *,
    headers: list[tuple[str, str]] | None = None,
    extra_report_rows: list[dict[str, object]] = (),
    report_sheet: str = REPORT_SHEET,
    tenant_header: str = TENANT_HEADER,
) -> Path:
    """Write a workbook: sheet 月报 (unless ``report`` is None) and, when ``tenants`` is given, 在孵企业名单."""
    book = openpyxl.Workbook()
    first = book.active
    if report is not None:
        first.title = report_sheet
        order = headers or [(header, header) for header in HEADERS]
        first.append([written for written, _ in order])
        for row in (report, *extra_report_rows):
            first.append([None if row.get(header) is MISSING else row.get(header) for _, header in order])
    else:
        first.title = "说明"
        first.append(["本工作簿仅含在孵企业名单"])
    if tenants is not None:
        sheet = book.create_sheet(TENANT_SHEET)
        sheet.append([tenant_header])
        for cell in tenants:
            sheet.append([cell])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def report_cells(incubator_id: str, changes: dict[str, object]) -> dict[str, object]:
    return {**GOOD_REPORT, "孵化器编号": incubator_id, **changes}


@dataclass
class Site:
    """A warehouse and a landing root; tables are read once after each run and filtered in Python."""

    url: str
    landing: Path
    cache: dict[str, list[dict]] = field(default_factory=dict)

    def folder(self, month: date = DELIVERY) -> Path:
        path = self.landing / "incubator_reports" / f"{month:%Y-%m}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def ingest(self, run_id: str = "rules", first: date = DELIVERY, last: date = DELIVERY) -> dict:
        self.cache.clear()
        return run_pipeline(run_id, first, last, transform=False, feed="incubator_reports")

    def table(self, name: str) -> list[dict]:
        if name not in self.cache:
            self.cache[name] = rows(self.url, f"select * from {name}")
        return self.cache[name]

    def of(self, name: str, path: Path) -> list[dict]:
        source = source_of(self, path)
        return [row for row in self.table(name) if row["source_file"] == source]


def _site(url: str, landing: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", url)
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(landing))
    return Site(url, landing)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    return _site(f"duckdb:///{tmp_path / 'warehouse.duckdb'}", tmp_path / "landing", monkeypatch)


def source_of(site: Site, path: Path) -> str:
    return path.relative_to(site.landing).as_posix()


def audit(site: Site, path: Path) -> dict:
    (row,) = site.of("ops.file_audit", path)
    return row


def quarantine_by_row(site: Site, path: Path) -> dict[tuple[str | None, int | None], list[dict]]:
    found: dict[tuple[str | None, int | None], list[dict]] = {}
    for row in sorted(site.of("ops.quarantine", path), key=lambda row: row["rule"]):
        found.setdefault((row["sheet_name"], row["row_number"]), []).append(row)
    return found


def staged(site: Site, table: str, path: Path) -> dict[int, dict]:
    return {row["source_row_number"]: row for row in site.of(f"staging.{table}", path)}


def raw_count(site: Site, table: str, path: Path) -> int:
    return len(site.of(f"raw.{table}", path))


# --- checks ------------------------------------------------------------------------------------------------


def _bads(outcome: Good | Bad | tuple[Bad, ...]) -> tuple[Bad, ...]:
    if isinstance(outcome, Good):
        return ()
    return outcome if isinstance(outcome, tuple) else (outcome,)


def _assert_entry(entry: dict, bad: Bad, where: object, label: str) -> None:
    assert entry["value"] == bad.value, (where, entry)
    reason = entry["reason"] or ""
    if bad.column is not None:
        assert bad.column in reason and label in reason, f"{where}: the reason does not name the column: {reason}"
    for snippet in bad.reason_has:
        assert snippet in reason, f"{where}: the reason should mention {snippet!r}: {reason}"
    assert entry["delivery_date"] == DELIVERY
    assert entry["record_json"], f"{where}: the row as received is lost"


def assert_report(site: Site, path: Path, report: Report, incubator_id: str) -> None:
    """The workbook loaded (file status) and its report and tenant rows went where ``report`` says."""
    quarantine = quarantine_by_row(site, path)
    reports = staged(site, "incubator_reports", path)
    tenants = staged(site, "incubator_tenants", path)
    report_bads = _bads(report.outcome)
    entries = quarantine.pop((REPORT_SHEET, 2), [])
    if report_bads:
        assert reports == {} and tenants == {}, f"{path.name}: the failed report (or its tenants) reached staging"
        assert raw_count(site, "incubator_reports", path) == 0
        assert sorted((e["rule"], e["column_name"]) for e in entries) == sorted((b.rule, b.column) for b in report_bads)
        for bad in report_bads:
            (entry,) = [entry for entry in entries if entry["rule"] == bad.rule]
            _assert_entry(entry, bad, (path.name, REPORT_SHEET, 2), LABELS.get(bad.column, ""))
            assert json.loads(entry["record_json"]).get("incubator_id") == incubator_id
    else:
        assert entries == [], f"{path.name}: report wrongly quarantined: {entries}"
        assert set(reports) == {2}, f"{path.name}: report not loaded"
        staged_report = reports[2]
        assert staged_report["incubator_id"] == incubator_id
        assert staged_report["has_tenant_list"] is (report.tenants is not None)
        for column, value in report.outcome.staging.items():
            assert staged_report[column] == value, (path.name, column, staged_report[column], value)
    quarantined_tenants = 0
    for number, tenant in enumerate(report.tenants or (), start=2):
        tenant_entries = quarantine.pop((TENANT_SHEET, number), [])
        where = (path.name, TENANT_SHEET, number)
        if isinstance(tenant.outcome, Bad):
            quarantined_tenants += 1
            assert [(e["rule"], e["column_name"]) for e in tenant_entries] == [
                (tenant.outcome.rule, tenant.outcome.column)
            ], (where, tenant_entries)
            _assert_entry(tenant_entries[0], tenant.outcome, where, TENANT_HEADER)
            assert number not in tenants
        elif report_bads:
            quarantined_tenants += 1
            assert [(e["rule"], e["column_name"], e["value"]) for e in tenant_entries] == [
                ("parent_row_quarantined", None, None)
            ], (where, tenant_entries)
            assert f"{REPORT_SHEET} row 2" in tenant_entries[0]["reason"]
            assert json.loads(tenant_entries[0]["record_json"]) == {"uscc": str(tenant.cell).strip()}
        else:
            assert tenant_entries == [], (where, tenant_entries)
            assert tenants[number]["uscc"] == tenant.outcome.staging["uscc"]
            assert (tenants[number]["incubator_id"], tenants[number]["report_month"]) == (
                incubator_id,
                reports[2]["report_month"],
            )
    assert quarantine == {}, f"{path.name}: unexpected quarantine rows {quarantine}"
    received = 1 + len(report.tenants or ())
    quarantined = bool(report_bads) + quarantined_tenants
    row = audit(site, path)
    assert (row["status"], row["file_format"]) == ("loaded", "xlsx")
    assert (row["rows_received"], row["rows_loaded"], row["rows_quarantined"]) == (
        received,
        received - quarantined,
        quarantined,
    )


def assert_rejected(site: Site, path: Path, rule: str, reason_has: tuple[str, ...], received: list[tuple[str, int]]):
    """Refused whole: audit says so with a reason; every row read is quarantined with the file's rule."""
    row = audit(site, path)
    assert row["status"] == "rejected", (path.name, row)
    for snippet in reason_has:
        assert snippet in row["reason"], (path.name, row["reason"])
    assert (row["rows_received"], row["rows_loaded"], row["rows_quarantined"]) == (len(received), 0, len(received))
    quarantine = quarantine_by_row(site, path)
    assert sorted(quarantine) == sorted(received), (path.name, sorted(quarantine))
    for entries in quarantine.values():
        assert [entry["rule"] for entry in entries] == [rule]
        for snippet in reason_has:
            assert snippet in entries[0]["reason"]
        assert entries[0]["record_json"] or entries[0]["row_number"] is None  # an uncountable file: no record
    assert staged(site, "incubator_reports", path) == {}
    assert staged(site, "incubator_tenants", path) == {}


def assert_matches_independent(site: Site, first: date, last: date) -> None:
    """File statuses, row counts and quarantined rows agree with the independent reading."""
    truth = read_incubator_reports(site.landing, first, last)
    audits = {row["source_file"]: row for row in site.table("ops.file_audit")}
    assert set(audits) == set(truth.files), (sorted(audits), sorted(truth.files))
    quarantined: dict[str, set[tuple[str, int]]] = {}
    for entry in site.table("ops.quarantine"):
        quarantined.setdefault(entry["source_file"], set()).add((entry["sheet_name"], entry["row_number"]))
    for source_file, account in truth.files.items():
        row = audits[source_file]
        assert row["status"] == account.status, (source_file, row["status"], account.status, account.reject_rule)
        if account.status != "loaded":
            continue
        expected = (
            account.rows_received + account.tenant_rows_received,
            account.rows_loaded + account.tenant_rows_loaded,
            account.rows_quarantined + account.tenant_rows_quarantined,
        )
        assert (row["rows_received"], row["rows_loaded"], row["rows_quarantined"]) == expected, source_file
        failing = {(REPORT_SHEET, number) for number in account.failures}
        failing |= {(TENANT_SHEET, number) for number in account.tenant_failures}
        assert quarantined.get(source_file, set()) == failing, (source_file, account.failures, account.tenant_failures)


def assert_accounting(site: Site) -> None:
    for row in site.table("ops.file_audit"):
        assert row["rows_received"] == row["rows_loaded"] + row["rows_quarantined"], row


# --- workbooks refused whole ---------------------------------------------------------------------------------

TENANTS = [uscc(1), uscc(2)]


@dataclass(frozen=True)
class FileCase:
    write: Callable[[Path], Path]
    rule: str
    reason_has: tuple[str, ...]
    received: tuple[tuple[str | None, int | None], ...]


def _without(header: str) -> FileCase:
    order = [(written, written) for written in HEADERS if written != header]
    return FileCase(
        lambda folder: workbook(
            folder / f"missing_{COLUMNS[header]}.xlsx", report_cells("INC-MISS", {}), TENANTS, headers=order
        ),
        "missing_required_column",
        (REPORT_SHEET, header),
        ((REPORT_SHEET, 2), (TENANT_SHEET, 2), (TENANT_SHEET, 3)),
    )


def _corrupt(folder: Path) -> Path:
    path = workbook(folder / "corrupt.xlsx", report_cells("INC-CORRUPT", {}))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _copy_as(name: str) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        source = workbook(folder.parent / "scratch" / "report.xlsx", report_cells("INC-TYPE", {}))
        target = folder / name
        target.write_bytes(source.read_bytes())
        return target

    return write


FILE_CASES: dict[str, FileCase] = {
    "report_sheet_missing": FileCase(
        lambda folder: workbook(folder / "no_report_sheet.xlsx", None, TENANTS),
        "report_sheet_missing",
        (REPORT_SHEET,),
        ((TENANT_SHEET, 2), (TENANT_SHEET, 3)),
    ),
    "report_sheet_misnamed": FileCase(
        lambda folder: workbook(folder / "sheet_misnamed.xlsx", report_cells("INC-NAME", {}), report_sheet="月报表"),
        "report_sheet_missing",
        (REPORT_SHEET,),
        (),
    ),
    "two_report_rows": FileCase(
        lambda folder: workbook(
            folder / "two_rows.xlsx",
            report_cells("INC-TWO", {}),
            TENANTS,
            extra_report_rows=[report_cells("INC-TWO-B", {})],
        ),
        "report_row_count",
        (REPORT_SHEET, "found 2"),
        ((REPORT_SHEET, 2), (REPORT_SHEET, 3), (TENANT_SHEET, 2), (TENANT_SHEET, 3)),
    ),
    "empty_report_sheet": FileCase(
        lambda folder: _empty_report_sheet(folder / "empty_report_sheet.xlsx"),
        "file_empty",
        (REPORT_SHEET, "empty"),
        ((TENANT_SHEET, 2), (TENANT_SHEET, 3)),
    ),
    "no_report_row": FileCase(
        lambda folder: _header_only(folder / "no_row.xlsx"),
        "report_row_count",
        (REPORT_SHEET, "found 0"),
        (),
    ),
    **{f"missing_{COLUMNS[header]}": _without(header) for header in HEADERS},
    "tenant_column_missing": FileCase(
        lambda folder: workbook(
            folder / "tenant_column.xlsx", report_cells("INC-TCOL", {}), TENANTS, tenant_header="企业名称"
        ),
        "missing_required_column",
        (TENANT_SHEET, TENANT_HEADER),
        ((REPORT_SHEET, 2), (TENANT_SHEET, 2), (TENANT_SHEET, 3)),
    ),
    "duplicate_column": FileCase(
        lambda folder: workbook(
            folder / "duplicate_column.xlsx",
            report_cells("INC-DUP", {}),
            headers=[*((header, header) for header in HEADERS), ("级别", "级别")],
        ),
        "duplicate_column",
        ("级别",),
        ((REPORT_SHEET, 2),),
    ),
    # Nothing in these can be counted: each holds one row, the file itself (no sheet, no row number).
    "corrupt": FileCase(_corrupt, "file_unparseable", ("XLSX",), ((None, None),)),
    "xls": FileCase(_copy_as("report.xls"), "file_unsupported_type", (".xls", ".xlsx"), ((None, None),)),
    "csv": FileCase(_copy_as("report.csv"), "file_unsupported_type", (".csv",), ((None, None),)),
}


def _blank_tenant_sheet(path: Path) -> Path:
    """A good report and a sheet 在孵企业名单 left blank: a list with no tenants."""
    book = openpyxl.Workbook()
    book.active.title = REPORT_SHEET
    book.active.append(HEADERS)
    book.active.append([GOOD_REPORT[header] for header in HEADERS])
    book.create_sheet(TENANT_SHEET)
    book.save(path)
    return path


def _empty_report_sheet(path: Path) -> Path:
    book = openpyxl.Workbook()
    book.active.title = REPORT_SHEET
    tenants = book.create_sheet(TENANT_SHEET)
    for cell in (TENANT_HEADER, *TENANTS):
        tenants.append([cell])
    book.save(path)
    return path


def _header_only(path: Path) -> Path:
    book = openpyxl.Workbook()
    book.active.title = REPORT_SHEET
    book.active.append(HEADERS)
    book.save(path)
    return path


# --- row cases and file cases: one folder, one run ------------------------------------------------------------


@dataclass
class Loaded:
    site: Site
    reports: dict[str, list[tuple[Path, Report, str]]]
    files: dict[str, Path]


def write_cases(site: Site) -> Loaded:
    folder = site.folder()
    reports: dict[str, list[tuple[Path, Report, str]]] = {}
    for index, (case, variants) in enumerate(sorted(CASES.items())):
        for number, report in enumerate(variants, start=1):
            incubator_id = f"INC-{index:02d}-{number:02d}"
            cells = report_cells(incubator_id, report.cells)
            if report.cells.get("孵化器编号", "") is MISSING:
                incubator_id = None
            tenants = None if report.tenants is None else [tenant.cell for tenant in report.tenants]
            headers = list(report.headers) if report.headers else None
            path = workbook(folder / f"{case}_{number}.xlsx", cells, tenants, headers=headers)
            reports.setdefault(case, []).append((path, report, incubator_id))
    files = {case: spec.write(folder) for case, spec in FILE_CASES.items()}
    files["blank_tenant_sheet"] = _blank_tenant_sheet(folder / "blank_tenant_sheet.xlsx")
    return Loaded(site, reports, files)


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    base = tmp_path_factory.mktemp("incubator_rules")
    with pytest.MonkeyPatch.context() as monkeypatch:
        site = _site(f"duckdb:///{base / 'warehouse.duckdb'}", base / "landing", monkeypatch)
        loaded = write_cases(site)
        summary = site.ingest()
        assert summary["files_rejected"] == len(FILE_CASES), summary["rejected"]
        yield loaded


@pytest.mark.parametrize("case", sorted(CASES))
def test_report_rule(cases: Loaded, case: str):
    for path, report, incubator_id in cases.reports[case]:
        assert_report(cases.site, path, report, incubator_id)


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_workbook_refused_whole(cases: Loaded, case: str):
    spec = FILE_CASES[case]
    assert_rejected(cases.site, cases.files[case], spec.rule, spec.reason_has, list(spec.received))


def assert_blank_tenant_sheet_loads(loaded: Loaded) -> None:
    path = loaded.files["blank_tenant_sheet"]
    row = audit(loaded.site, path)
    assert (row["status"], row["rows_received"], row["rows_loaded"], row["rows_quarantined"]) == ("loaded", 1, 1, 0)
    report = staged(loaded.site, "incubator_reports", path)[2]
    assert (report["incubator_id"], report["has_tenant_list"]) == ("INC-GOOD", True)
    assert staged(loaded.site, "incubator_tenants", path) == {}


def test_blank_tenant_sheet_is_a_list_with_no_tenants(cases: Loaded):
    assert_blank_tenant_sheet_loads(cases)


def test_sheet_name_is_set_in_the_quarantine(cases: Loaded):
    found = [row for row in cases.site.table("ops.quarantine") if row["row_number"] is not None]  # rows, not files
    assert {row["sheet_name"] for row in found} == {REPORT_SHEET, TENANT_SHEET}
    assert {row["rule"] for row in found if row["sheet_name"] == TENANT_SHEET} >= {
        "uscc_invalid",
        "tenant_uscc_repeated",
        "parent_row_quarantined",
    }


def test_cases_agree_with_the_independent_reading(cases: Loaded):
    assert_matches_independent(cases.site, DELIVERY, DELIVERY)
    assert_accounting(cases.site)


@pytest.mark.postgres
def test_every_case_on_postgresql(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    loaded = write_cases(_site(postgres_url, tmp_path / "landing", monkeypatch))
    summary = loaded.site.ingest("rules-postgresql")
    assert summary["files_rejected"] == len(FILE_CASES)
    for case in sorted(CASES):
        for path, report, incubator_id in loaded.reports[case]:
            assert_report(loaded.site, path, report, incubator_id)
    for case, spec in FILE_CASES.items():
        assert_rejected(loaded.site, loaded.files[case], spec.rule, spec.reason_has, list(spec.received))
    assert_blank_tenant_sheet_loads(loaded)
    assert_matches_independent(loaded.site, DELIVERY, DELIVERY)
    assert_accounting(loaded.site)


# --- 累计毕业企业数 across months, resubmissions ------------------------------------------------------------------

MARCH, APRIL, MAY = date(2025, 3, 1), date(2025, 4, 1), date(2025, 5, 1)


def monthly(site: Site, folder_month: date, name: str, incubator_id: str, month: str, cumulative: int, **cells):
    changes = {"报告期": month, "累计毕业企业数": str(cumulative), **cells}
    return workbook(site.folder(folder_month) / name, report_cells(incubator_id, changes))


def test_graduated_cumulative_decrease_across_runs(site: Site):
    monthly(site, MARCH, "A_202502.xlsx", "INC-A", "2025-02", 30)
    monthly(site, MARCH, "B_202502.xlsx", "INC-B", "2025-02", 10, 级别="省级")  # quarantined: does not count
    site.ingest("run-1", MARCH, MARCH)
    a = monthly(site, APRIL, "A_202503.xlsx", "INC-A", "2025-03", 25)
    b = monthly(site, APRIL, "B_202503.xlsx", "INC-B", "2025-03", 5)
    same = monthly(site, APRIL, "C_202503.xlsx", "INC-A", "202503", 30)  # a second report of INC-A for March
    site.ingest("run-2", APRIL, APRIL)

    (entry,) = quarantine_by_row(site, a)[(REPORT_SHEET, 2)]
    assert (entry["rule"], entry["column_name"], entry["value"]) == (
        "graduated_cumulative_decreased",
        "graduated_cumulative",
        "25",
    )
    assert "30" in entry["reason"] and "2025-02" in entry["reason"] and "累计毕业企业数" in entry["reason"]
    assert staged(site, "incubator_reports", a) == {}
    assert staged(site, "incubator_reports", b)[2]["graduated_cumulative"] == 5
    assert staged(site, "incubator_reports", same)[2]["graduated_cumulative"] == 30
    assert_matches_independent(site, MARCH, APRIL)
    assert_accounting(site)


def test_graduated_cumulative_decrease_within_one_batch(site: Site):
    monthly(site, MARCH, "A_202502.xlsx", "INC-A", "2025-02", 30)
    monthly(site, MARCH, "D_202502.xlsx", "INC-D", "2025-02", 12)
    a = monthly(site, APRIL, "A_202503.xlsx", "INC-A", "2025年3月", 29)
    d = monthly(site, APRIL, "D_202503.xlsx", "INC-D", "2025-03", 12)
    summary = site.ingest("one-run", MARCH, APRIL)
    assert summary["files_loaded"] == 4
    (entry,) = quarantine_by_row(site, a)[(REPORT_SHEET, 2)]
    assert (entry["rule"], entry["value"]) == ("graduated_cumulative_decreased", "29")
    assert "30" in entry["reason"] and "2025-02" in entry["reason"]
    assert staged(site, "incubator_reports", d)[2]["graduated_cumulative"] == 12
    assert_matches_independent(site, MARCH, APRIL)


def test_resubmission_in_a_later_month_loads_as_a_second_version(site: Site):
    first = monthly(site, APRIL, "INC-R_202503.xlsx", "INC-R", "2025-03", 30, 高质量孵化器="否")
    site.ingest("run-1", APRIL, APRIL)
    second = monthly(site, MAY, "INC-R_202503_更正.xlsx", "INC-R", "2025-03", 31, 高质量孵化器="是")
    site.ingest("run-2", MAY, MAY)
    versions = rows(
        site.url,
        "select source_file, delivery_date, report_month, is_high_quality, graduated_cumulative "
        "from staging.incubator_reports where incubator_id = 'INC-R' order by delivery_date",
    )
    assert [(v["source_file"], v["delivery_date"], v["report_month"], v["is_high_quality"]) for v in versions] == [
        (source_of(site, first), APRIL, MARCH, False),
        (source_of(site, second), MAY, MARCH, True),
    ]
    assert [audit(site, path)["status"] for path in (first, second)] == ["loaded", "loaded"]
    assert site.table("ops.quarantine") == []
    assert_matches_independent(site, APRIL, MAY)


# --- what looks like bugs ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def contested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Workbooks the contract refuses (or accepts) and the pipeline judges otherwise, in one run."""
    base = tmp_path_factory.mktemp("incubator_contested")
    with pytest.MonkeyPatch.context() as monkeypatch:
        site = _site(f"duckdb:///{base / 'warehouse.duckdb'}", base / "landing", monkeypatch)
        folder = site.folder()
        workbook(folder / "day_in_month.xlsx", report_cells("INC-DAY", {"报告期": "2025-03-15"}))
        workbook(folder / "true_text.xlsx", report_cells("INC-TRUE", {"高质量孵化器": "true"}))
        site.ingest("contested")
        yield site


def test_report_month_with_a_day_is_not_loaded_as_is(contested: Site):
    path = contested.folder() / "day_in_month.xlsx"
    loaded = staged(contested, "incubator_reports", path)
    assert loaded == {} or loaded[2]["report_month"] == MARCH, loaded
    if not loaded:
        (entry,) = quarantine_by_row(contested, path)[(REPORT_SHEET, 2)]
        assert (entry["rule"], entry["value"]) == ("report_month_format", "2025-03-15")


def test_is_high_quality_accepts_only_yes_no(contested: Site):
    path = contested.folder() / "true_text.xlsx"
    assert staged(contested, "incubator_reports", path) == {}
    (entry,) = quarantine_by_row(contested, path)[(REPORT_SHEET, 2)]
    assert (entry["rule"], entry["column_name"], entry["value"]) == (
        "is_high_quality_invalid",
        "is_high_quality",
        "true",
    )
