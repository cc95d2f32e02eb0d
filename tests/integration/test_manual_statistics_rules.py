"""Every rule of the manual statistics input (docs/measures.md, "Manual statistics"), on tiny landings.

Each case is one CSV in one delivery folder: a good row (row 2) and its variants (rows 3...). All
case files load in one run on DuckDB; each case checks ops.quarantine (row number, column, value
as received, rule id, a reason naming the column) and staging.manual_statistics (kpi_code,
period_start / period_end / period_label, park, value) for the accepted variants. The same rows,
all in one file, load once on PostgreSQL. Every run is compared, file by file and row by row,
with the independent reading (support.independent_feeds.read_manual_statistics).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from support.independent_feeds import read_manual_statistics
from support.pipeline import rows, run_pipeline

DELIVERY = date(2025, 4, 10)
HEADERS = ["指标代码", "期间", "园区", "数值", "来源", "备注"]
COLUMNS = dict(zip(HEADERS, ["kpi_code", "period", "park_name", "value", "source", "note"], strict=True))
LABELS = {column: header for header, column in COLUMNS.items()}
SHARE, TRILLION = "leading_industry_share", "trillion_parks"

GOOD_ROW = {"指标代码": SHARE, "期间": "2024", "园区": "", "数值": "85.5", "来源": "市统计局", "备注": "年报"}
GOOD_STAGED = {
    "kpi_code": SHARE,
    "period_start": date(2024, 1, 1),
    "period_end": date(2024, 12, 31),
    "period_label": "2024",
    "park_name": None,
    "value": Decimal("85.5"),
    "source": "市统计局",
    "note": "年报",
}
PARK_ROW = {"指标代码": TRILLION, "园区": "张江核心园", "数值": "12,000.5"}


@dataclass(frozen=True)
class Bad:
    column: str
    rule: str
    value: str | None
    reason_has: tuple[str, ...] = ()


@dataclass(frozen=True)
class Good:
    staging: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Variant:
    cells: dict[str, str]
    outcome: Good | Bad | tuple[Bad, ...]


def _period(text: str, start: date, end: date, label: str) -> Variant:
    return Variant({"期间": text}, Good({"period_start": start, "period_end": end, "period_label": label}))


def _value_invalid(text: str, **cells: str) -> Variant:
    return Variant({**cells, "数值": text}, Bad("value", "value_invalid", text))


CASES: dict[str, list[Variant]] = {
    "periods_accepted": [
        _period("2024", date(2024, 1, 1), date(2024, 12, 31), "2024"),
        _period("2024年", date(2024, 1, 1), date(2024, 12, 31), "2024"),
        _period(" ２０２４年 ", date(2024, 1, 1), date(2024, 12, 31), "2024"),
        _period("2025Q1", date(2025, 1, 1), date(2025, 3, 31), "2025Q1"),
        _period("2025q2", date(2025, 4, 1), date(2025, 6, 30), "2025Q2"),
        _period("2024Q4", date(2024, 10, 1), date(2024, 12, 31), "2024Q4"),
        _period("2025年第1季度", date(2025, 1, 1), date(2025, 3, 31), "2025Q1"),
        _period("2025-03", date(2025, 3, 1), date(2025, 3, 31), "2025-03"),
        _period("202502", date(2025, 2, 1), date(2025, 2, 28), "2025-02"),
        _period("2024年2月", date(2024, 2, 1), date(2024, 2, 29), "2024-02"),
        _period("2024年12月", date(2024, 12, 1), date(2024, 12, 31), "2024-12"),
    ],
    "period_format": [
        *(
            Variant({"期间": text}, Bad("period", "period_format", text, ("2025Q1",)))
            for text in ("2025Q5", "2025/03", "25年", "2025-13", "上半年", "2025H1", "2025年第5季度", "2025年13月")
        ),
        Variant({"期间": ""}, Bad("period", "period_missing", None)),
    ],
    "kpi_code": [
        Variant({"指标代码": "new_tech_per_day"}, Bad("kpi_code", "kpi_code_unknown", "new_tech_per_day")),
        Variant({"指标代码": "gdp_share"}, Bad("kpi_code", "kpi_code_unknown", "gdp_share")),
        Variant({"指标代码": ""}, Bad("kpi_code", "kpi_code_missing", None)),
        Variant({"指标代码": f" {SHARE} "}, Good({"kpi_code": SHARE})),
    ],
    "value": [
        _value_invalid("-5"),
        _value_invalid("-0.1", **PARK_ROW),
        _value_invalid("abc"),
        _value_invalid("85%"),
        _value_invalid("八十五"),
        Variant({"数值": ""}, Bad("value", "value_missing", None)),
        Variant({"数值": "８５"}, Good({"value": Decimal(85)})),
        Variant({"数值": " 85.50 "}, Good({"value": Decimal("85.5")})),
        Variant({"数值": "0"}, Good({"value": Decimal(0)})),
    ],
    "share_above_100": [
        Variant({"数值": "100.5"}, Bad("value", "share_above_100", "100.5", ("100",))),
        Variant({"数值": "1,000"}, Bad("value", "share_above_100", "1,000")),
        Variant({"数值": "100"}, Good({"value": Decimal(100)})),
        Variant({**PARK_ROW, "数值": "20,000"}, Good({"kpi_code": TRILLION, "value": Decimal(20000)})),
    ],
    "source_missing": [
        Variant({"来源": ""}, Bad("source", "source_missing", None)),
        Variant({"来源": "   "}, Bad("source", "source_missing", None)),
        Variant({"备注": ""}, Good({"note": None})),
    ],
    "trillion_parks": [
        Variant(PARK_ROW, Good({"kpi_code": TRILLION, "park_name": "张江核心园", "value": Decimal("12000.5")})),
        Variant(
            {**PARK_ROW, "园区": " 金桥园 ", "期间": "2024年"}, Good({"park_name": "金桥园", "period_label": "2024"})
        ),
        Variant({**PARK_ROW, "园区": ""}, Bad("park_name", "park_name_missing", None, (TRILLION,))),
        Variant({**PARK_ROW, "园区": "张江西园"}, Bad("park_name", "park_name_unknown", "张江西园")),
    ],
    "park_on_a_zone_wide_statistic": [
        Variant({"园区": "张江核心园"}, Bad("park_name", "park_name_unexpected", "张江核心园")),
        Variant(
            {"园区": "张江西园"},
            (Bad("park_name", "park_name_unexpected", "张江西园"), Bad("park_name", "park_name_unknown", "张江西园")),
        ),
    ],
    "two_rules_on_one_row": [
        Variant(
            {"数值": "-1", "来源": ""},
            (Bad("value", "value_invalid", "-1"), Bad("source", "source_missing", None)),
        ),
    ],
}


# --- landing and warehouse helpers ------------------------------------------------------------------


@dataclass
class Site:
    url: str
    landing: Path
    cache: dict[str, list[dict]] = field(default_factory=dict)

    def folder(self, day: date = DELIVERY) -> Path:
        path = self.landing / "manual_statistics" / day.isoformat()
        path.mkdir(parents=True, exist_ok=True)
        return path

    def ingest(self, run_id: str = "rules", first: date = DELIVERY, last: date = DELIVERY) -> dict:
        self.cache.clear()
        return run_pipeline(run_id, first, last, transform=False, feed="manual_statistics")

    def table(self, name: str) -> list[dict]:
        if name not in self.cache:
            self.cache[name] = rows(self.url, f"select * from {name}")
        return self.cache[name]

    def of(self, name: str, path: Path) -> list[dict]:
        source = path.relative_to(self.landing).as_posix()
        return [row for row in self.table(name) if row["source_file"] == source]


def _site(url: str, landing: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", url)
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(landing))
    return Site(url, landing)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    return _site(f"duckdb:///{tmp_path / 'warehouse.duckdb'}", tmp_path / "landing", monkeypatch)


def write_csv(path: Path, table: list[dict[str, str]], headers: list[str] = HEADERS) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows([row.get(header, "") for header in headers] for row in table)
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    return path


def case_table(variants: list[Variant]) -> tuple[list[dict[str, str]], list]:
    return [dict(GOOD_ROW), *({**GOOD_ROW, **v.cells} for v in variants)], [
        Good(GOOD_STAGED),
        *(v.outcome for v in variants),
    ]


def audit(site: Site, path: Path) -> dict:
    (row,) = site.of("ops.file_audit", path)
    return row


def assert_outcomes(site: Site, path: Path, table: list[dict[str, str]], outcomes: list) -> None:
    quarantine: dict[int, list[dict]] = {}
    for entry in site.of("ops.quarantine", path):
        quarantine.setdefault(entry["row_number"], []).append(entry)
    staged = {row["source_row_number"]: row for row in site.of("staging.manual_statistics", path)}
    raw = {row["source_row_number"]: row for row in site.of("raw.manual_statistics", path)}
    for number, (source_row, outcome) in enumerate(zip(table, outcomes, strict=True), start=2):
        if isinstance(outcome, Good):
            assert number not in quarantine, (number, source_row, quarantine.get(number))
            assert number in staged, f"row {number} {source_row} not loaded"
            assert raw[number]["period"] == source_row["期间"].strip()
            for column, value in outcome.staging.items():
                assert staged[number][column] == value, (number, column, staged[number][column], value)
            continue
        bads = outcome if isinstance(outcome, tuple) else (outcome,)
        assert number not in staged and number not in raw, f"row {number} {source_row} loaded, breaks {bads}"
        entries = quarantine.get(number, [])
        assert sorted((e["rule"], e["column_name"]) for e in entries) == sorted((b.rule, b.column) for b in bads), (
            number,
            source_row,
            entries,
        )
        for bad in bads:
            (entry,) = [entry for entry in entries if entry["rule"] == bad.rule]
            assert entry["value"] == bad.value, (number, entry)
            reason = entry["reason"] or ""
            assert bad.column in reason and LABELS[bad.column] in reason, f"row {number}: {reason}"
            for snippet in bad.reason_has:
                assert snippet in reason, f"row {number}: the reason should mention {snippet!r}: {reason}"
            assert entry["delivery_date"] == DELIVERY
            assert entry["record_json"]
    row = audit(site, path)
    bad = sum(not isinstance(outcome, Good) for outcome in outcomes)
    assert (row["status"], row["file_format"]) == ("loaded", "csv")
    assert (row["rows_received"], row["rows_loaded"], row["rows_quarantined"]) == (len(table), len(table) - bad, bad)


def assert_matches_independent(site: Site, first: date, last: date) -> None:
    truth = read_manual_statistics(site.landing, first, last)
    audits = {row["source_file"]: row for row in site.table("ops.file_audit")}
    assert set(audits) == set(truth.files), (sorted(audits), sorted(truth.files))
    quarantined: dict[str, set[int]] = {}
    for entry in site.table("ops.quarantine"):
        quarantined.setdefault(entry["source_file"], set()).add(entry["row_number"])
    for source_file, account in truth.files.items():
        row = audits[source_file]
        expected = (account.status, account.rows_received, account.rows_loaded, account.rows_quarantined)
        assert (row["status"], row["rows_received"], row["rows_loaded"], row["rows_quarantined"]) == expected, (
            source_file,
            account.failures,
        )
        if account.status == "loaded":
            assert quarantined.get(source_file, set()) == set(account.failures), (source_file, account.failures)
    for row in audits.values():
        assert row["rows_received"] == row["rows_loaded"] + row["rows_quarantined"], row


# --- all row cases: one folder, one run ----------------------------------------------------------------------

OPTIONAL_ABSENT = ["指标代码", "期间", "数值", "来源"]


@dataclass
class Loaded:
    site: Site
    files: dict[str, tuple[Path, list[dict[str, str]], list]]


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    base = tmp_path_factory.mktemp("manual_rules")
    with pytest.MonkeyPatch.context() as monkeypatch:
        site = _site(f"duckdb:///{base / 'warehouse.duckdb'}", base / "landing", monkeypatch)
        files = {}
        for case, variants in sorted(CASES.items()):
            table, outcomes = case_table(variants)
            files[case] = (write_csv(site.folder() / f"{case}.csv", table), table, outcomes)
        for header in OPTIONAL_ABSENT:
            headers = [name for name in HEADERS if name != header]
            write_csv(site.folder() / f"missing_{COLUMNS[header]}.csv", [GOOD_ROW], headers)
        write_csv(site.folder() / "optional_columns_absent.csv", [GOOD_ROW], OPTIONAL_ABSENT)
        write_csv(site.folder() / "statistics.txt", [GOOD_ROW])
        site.ingest()
        yield Loaded(site, files)


@pytest.mark.parametrize("case", sorted(CASES))
def test_row_rule(cases: Loaded, case: str):
    path, table, outcomes = cases.files[case]
    assert_outcomes(cases.site, path, table, outcomes)


@pytest.mark.parametrize("header", OPTIONAL_ABSENT)
def test_missing_required_column_rejects_the_file(cases: Loaded, header: str):
    path = cases.site.folder() / f"missing_{COLUMNS[header]}.csv"
    row = audit(cases.site, path)
    assert row["status"] == "rejected"
    assert header in row["reason"]
    assert (row["rows_received"], row["rows_loaded"], row["rows_quarantined"]) == (1, 0, 1)
    (entry,) = cases.site.of("ops.quarantine", path)
    assert (entry["row_number"], entry["rule"]) == (2, "missing_required_column")
    assert header in entry["reason"]
    assert cases.site.of("staging.manual_statistics", path) == []


def test_optional_columns_may_be_absent(cases: Loaded):
    path = cases.site.folder() / "optional_columns_absent.csv"
    assert audit(cases.site, path)["status"] == "loaded"
    (staged,) = cases.site.of("staging.manual_statistics", path)
    assert (staged["park_name"], staged["note"], staged["value"]) == (None, None, Decimal("85.5"))


def test_unsupported_file_type_is_rejected(cases: Loaded):
    row = audit(cases.site, cases.site.folder() / "statistics.txt")
    assert (row["status"], row["rows_loaded"]) == ("rejected", 0)
    assert ".txt" in row["reason"]


def test_cases_agree_with_the_independent_reading(cases: Loaded):
    assert_matches_independent(cases.site, DELIVERY, DELIVERY)


@pytest.mark.postgres
def test_every_row_rule_on_postgresql(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    site = _site(postgres_url, tmp_path / "landing", monkeypatch)
    variants = [variant for case in sorted(CASES) for variant in CASES[case]]
    table, outcomes = case_table(variants)
    path = write_csv(site.folder() / "manual_20250410.csv", table)
    summary = site.ingest("rules-postgresql")
    assert summary["files_loaded"] == 1
    assert_outcomes(site, path, table, outcomes)
    assert_matches_independent(site, DELIVERY, DELIVERY)


# --- what looks like bugs ------------------------------------------------------------------------------------


def test_a_day_as_period_is_quarantined_not_a_crash(site: Site):
    path = write_csv(site.folder() / "day_period.csv", [GOOD_ROW, {**GOOD_ROW, "期间": "2025-03-05"}])
    site.ingest()
    (entry,) = site.of("ops.quarantine", path)
    assert (entry["row_number"], entry["rule"], entry["column_name"], entry["value"]) == (
        3,
        "period_format",
        "period",
        "2025-03-05",
    )
    assert [row["source_row_number"] for row in site.of("staging.manual_statistics", path)] == [2]


def test_a_first_day_date_is_read_as_its_month(site: Site):
    """``2025-03-01`` is how a spreadsheet writes a month-formatted date cell: read as the month 2025-03."""
    path = write_csv(
        site.folder() / "first_day_period.csv", [GOOD_ROW, {**GOOD_ROW, "期间": "2025-03-01", "数值": "80"}]
    )
    site.ingest()
    staged = site.of("staging.manual_statistics", path)
    assert [(row["source_row_number"], row["period_label"]) for row in staged][1:] == [(3, "2025-03")]
    assert site.of("ops.quarantine", path) == []
