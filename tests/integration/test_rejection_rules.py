"""Every rejection rule of sources.md section 1 (registrations), one tiny landing folder each.

Each row-level case writes one UTF-8 CSV holding a good row (row 2) and its variants (rows 3...),
runs reference data -> discover -> ingest on DuckDB, and checks that a bad variant is in
ops.quarantine with its row number, column, original value, rule id and a reason naming the
column, while the good row and every accepted variant reach staging with the normalised value.
The same cases, all in one file, run once on PostgreSQL. Case data is also checked against the
independent classifier (support.independent), so the expectations here cannot drift from it.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from support.independent import LABELS, USCC_CHARSET, build_uscc, expect_file, final_check, org_check
from support.pipeline import rows, run_pipeline, scalar

DELIVERY = date(2025, 3, 10)
FOLDER = f"registrations/{DELIVERY.isoformat()}"


def uscc(number: int) -> str:
    """A valid code: market supervision (9), enterprise (1), 浦东 (310115), body MA + 6 digits."""
    return build_uscc(f"91310115MA{number:06d}")


VALID = uscc(424242)
FULL_WIDTH = str.maketrans({chr(code): chr(code + 0xFEE0) for code in range(0x21, 0x7F)})

GOOD_ROW = {
    "统一社会信用代码": uscc(1),
    "企业名称": "上海张江测试科技有限公司",
    "事件类型": "设立",
    "事件日期": "2025-03-08",
    "成立日期": "2025-03-08",
    "企业类型": "有限责任公司（自然人投资或控股）",
    "注册资本（万元）": "500",
    "币种": "人民币",
    "行业代码": "6520",
    "所属园区": "张江核心园",
    "注册地址": "上海市浦东新区张江路1号",
    "法定代表人": "张三",
    "联系电话": "13800000000",
    "资质标签": "高新技术企业",
    "参保人数": "12",
}
HEADERS = list(GOOD_ROW)


@dataclass(frozen=True)
class Bad:
    """The row must be quarantined by exactly this rule, on this column, with this original value."""

    column: str
    rule: str
    value: str | None
    reason_has: tuple[str, ...] = ()


@dataclass(frozen=True)
class Good:
    """The row must be loaded; ``staging`` lists expected values of staging.registrations."""

    staging: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Variant:
    cells: dict[str, str]
    outcome: Bad | Good


def _with_checks(first16: str, org: str | None = None, final: str | None = None) -> str:
    first17 = first16 + (org or org_check(first16[8:16]))
    return first17 + (final or final_check(first17))


def _wrong(char: str, pool: str) -> str:
    return next(candidate for candidate in pool if candidate != char)


def _required(header: str, column: str) -> list[Variant]:
    return [Variant({header: value}, Bad(column, f"{column}_missing", None)) for value in ("", "   ", "\u3000")]


def _dated(event: str) -> dict[str, str]:
    return {"事件日期": event, "成立日期": "2020-01-02"}


_BODY = VALID[:16]
TWO_TAGS = "科技型中小企业;高新技术企业"
FOUR_TAGS = "专精特新;小巨人;独角兽;隐形冠军"
CASES: dict[str, list[Variant]] = {
    "uscc_length": [
        Variant({"统一社会信用代码": VALID[:17]}, Bad("uscc", "uscc_invalid", VALID[:17], ("18",))),
        Variant({"统一社会信用代码": VALID + "1"}, Bad("uscc", "uscc_invalid", VALID + "1", ("18",))),
    ],
    "uscc_charset": [
        Variant({"统一社会信用代码": VALID[:10] + char + VALID[11:]}, Bad("uscc", "uscc_invalid", None, (char,)))
        for char in "IOZSV"
    ],
    "uscc_authority_type_pair": [
        Variant({"统一社会信用代码": code}, Bad("uscc", "uscc_invalid", code, ("authority",)))
        for code in (
            _with_checks("95" + _BODY[2:]),  # 工商 issues types 1, 2, 3 only
            _with_checks("Y2" + _BODY[2:]),  # 其他 issues type 1 only
            _with_checks("B1" + _BODY[2:]),  # no authority B
        )
    ],
    "uscc_position_17_check": [
        Variant(
            {"统一社会信用代码": (code := _with_checks(_BODY, org=_wrong(VALID[16], "0123456789X")))},
            Bad("uscc", "uscc_invalid", code, ("17",)),
        )
    ],
    "uscc_position_18_check": [
        Variant(
            {"统一社会信用代码": (code := VALID[:17] + _wrong(VALID[17], USCC_CHARSET))},
            Bad("uscc", "uscc_invalid", code, ("18",)),
        )
    ],
    "uscc_full_width_and_spaces_normalised": [
        Variant({"统一社会信用代码": VALID.translate(FULL_WIDTH)}, Good({"uscc": VALID})),
        Variant({"统一社会信用代码": f" {VALID}\t"}, Good({"uscc": VALID})),
    ],
    "uscc_missing": _required("统一社会信用代码", "uscc"),
    "enterprise_name_missing": _required("企业名称", "enterprise_name"),
    "event_type_missing": _required("事件类型", "event_type"),
    "event_date_missing": _required("事件日期", "event_date"),
    "established_date_missing": _required("成立日期", "established_date"),
    "industry_code_missing": _required("行业代码", "industry_code"),
    "park_name_missing": _required("所属园区", "park_name"),
    "event_type_not_in_list": [
        Variant({"事件类型": "合并"}, Bad("event_type", "event_type_unknown", "合并", ("设立", "迁出"))),
        Variant({"事件类型": "设立登记"}, Bad("event_type", "event_type_unknown", "设立登记")),
        *(Variant({"事件类型": kind}, Good({"event_type": kind})) for kind in ("变更", "注销", "吊销", "迁入", "迁出")),
        Variant({"事件类型": " 迁入 "}, Good({"event_type": "迁入"})),
    ],
    "date_formats_accepted": [
        Variant(_dated(text), Good({"event_date": date(2025, 3, 5), "established_date": date(2020, 1, 2)}))
        for text in ("2025-03-05", "2025/3/5", "2025/03/05", "20250305", "2025年3月5日")
    ]
    + [
        Variant({"成立日期": text}, Good({"established_date": date(2019, 11, 2)}))
        for text in ("2019-11-02", "2019/11/2", "20191102", "2019年11月2日")
    ],
    "date_invalid": [
        *(
            Variant({"事件日期": text}, Bad("event_date", "event_date_format", text))
            for text in ("2025-02-30", "03/05/2025", "2025.3.5", "昨天", "2025-13-05", "2025年3月")
        ),
        Variant({"成立日期": "2019/2/29"}, Bad("established_date", "established_date_format", "2019/2/29")),
    ],
    "event_date_after_delivery_day": [
        Variant({"事件日期": "2025-03-11"}, Bad("event_date", "event_date_after_delivery", "2025-03-11")),
        Variant({"事件日期": "2025年4月1日"}, Bad("event_date", "event_date_after_delivery", "2025年4月1日")),
        Variant({"事件日期": "2025/3/10"}, Good({"event_date": DELIVERY})),
    ],
    "established_date_after_event_date": [
        Variant({"成立日期": "2025-03-09"}, Bad("established_date", "established_date_after_event", "2025-03-09")),
        Variant({"成立日期": "20250308"}, Good({"established_date": date(2025, 3, 8)})),
    ],
    "registered_capital_invalid": [
        Variant({"注册资本（万元）": text}, Bad("registered_capital_10k", "registered_capital_invalid", text))
        for text in ("-5", "-1,000.50", "十万", "5万", "abc")
    ],
    "numbers_normalised": [
        Variant({"注册资本（万元）": "40,642.59"}, Good({"registered_capital_10k": Decimal("40642.59")})),
        Variant({"注册资本（万元）": "１２３"}, Good({"registered_capital_10k": Decimal(123)})),
        Variant({"注册资本（万元）": " 1,000 "}, Good({"registered_capital_10k": Decimal(1000)})),
        Variant({"注册资本（万元）": "0"}, Good({"registered_capital_10k": Decimal(0)})),
        Variant({"注册资本（万元）": ""}, Good({"registered_capital_10k": None})),
        Variant({"参保人数": "1,200"}, Good({"insured_employees": 1200})),
        Variant({"参保人数": "１２"}, Good({"insured_employees": 12})),
        Variant({"参保人数": " 0 "}, Good({"insured_employees": 0})),
        Variant({"参保人数": ""}, Good({"insured_employees": None})),
    ],
    "currency": [
        Variant({"币种": "卢布"}, Bad("currency", "currency_unknown", "卢布", ("人民币",))),
        Variant({"币种": "RMB"}, Bad("currency", "currency_unknown", "RMB")),
        Variant({"币种": ""}, Good({"currency": "人民币"})),
        Variant({"币种": " "}, Good({"currency": "人民币"})),
        *(Variant({"币种": name}, Good({"currency": name})) for name in ("美元", "欧元", "港元", "日元")),
    ],
    "industry_code": [
        Variant({"行业代码": "9999"}, Bad("industry_code", "industry_code_unknown", "9999")),
        Variant({"行业代码": "65201"}, Bad("industry_code", "industry_code_unknown", "65201")),
        Variant({"行业代码": "C6520"}, Bad("industry_code", "industry_code_unknown", "C6520")),
        Variant({"行业代码": "I9999"}, Bad("industry_code", "industry_code_unknown", "I9999")),
        Variant({"行业代码": "I6520"}, Good({"industry_code": "6520"})),
        Variant({"行业代码": "Ｉ６５２０"}, Good({"industry_code": "6520"})),
        Variant({"行业代码": "C2710"}, Good({"industry_code": "2710"})),
        Variant({"行业代码": "0111"}, Good({"industry_code": "0111"})),
    ],
    "park_unknown": [
        Variant({"所属园区": "张江西园"}, Bad("park_name", "park_name_unknown", "张江西园")),
        Variant({"所属园区": "张江"}, Bad("park_name", "park_name_unknown", "张江")),
        Variant({"所属园区": " 金桥园 "}, Good({"park_name": "金桥园"})),
    ],
    "qualification_tags": [
        Variant(
            {"资质标签": "瞪羚企业"}, Bad("qualification_tags", "qualification_tags_unknown", "瞪羚企业", ("瞪羚企业",))
        ),
        Variant(
            {"资质标签": "高新技术企业、雏鹰企业"},
            Bad("qualification_tags", "qualification_tags_unknown", "高新技术企业、雏鹰企业", ("雏鹰企业",)),
        ),
        *(
            Variant({"资质标签": f"科技型中小企业{separator}高新技术企业"}, Good({"qualification_tags": TWO_TAGS}))
            for separator in (";", "；", ",", "、", "; ", " 、 ")
        ),
        Variant({"资质标签": "专精特新、小巨人、独角兽、隐形冠军"}, Good({"qualification_tags": FOUR_TAGS})),
        Variant({"资质标签": ""}, Good({"qualification_tags": None})),
    ],
    "text_kept_verbatim": [
        Variant({"企业名称": name}, Good({"enterprise_name": name}))
        for name in ('上海"引号",逗号科技有限公司', "反斜杠\\N\\科技", "两行\n名称有限公司", "NULL", "分号;名称")
    ],
    "insured_employees_invalid": [
        Variant({"参保人数": text}, Bad("insured_employees", "insured_employees_invalid", text))
        for text in ("-3", "12.5", "约50", "50人")
    ],
}


# --- landing and warehouse helpers ------------------------------------------------------------------


@dataclass
class Site:
    url: str
    landing: Path

    @property
    def folder(self) -> Path:
        path = self.landing / FOLDER
        path.mkdir(parents=True, exist_ok=True)
        return path


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    """A fresh DuckDB warehouse and an empty landing root, both set in the environment."""
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    landing = tmp_path / "landing"
    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", url)
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(landing))
    return Site(url, landing)


@pytest.fixture
def postgres_site(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    landing = tmp_path / "landing"
    monkeypatch.setenv("PARKOPS_WAREHOUSE_URL", postgres_url)
    monkeypatch.setenv("PARKOPS_LANDING_DIR", str(landing))
    return Site(postgres_url, landing)


def variant_rows(variants: list[Variant], first_number: int = 2) -> list[dict[str, str]]:
    """The variants as full rows, each with its own valid USCC unless the variant sets one."""
    return [
        {**GOOD_ROW, "统一社会信用代码": uscc(first_number + index), **variant.cells}
        for index, variant in enumerate(variants)
    ]


def csv_bytes(records: list[list[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(records)
    return buffer.getvalue().encode(encoding)


def write_csv(
    site: Site,
    table: list[dict[str, str]],
    name: str = "reg_20250310_01.csv",
    encoding: str = "utf-8",
    headers: list[str] | None = None,
) -> Path:
    headers = headers or list(table[0])
    path = site.folder / name
    path.write_bytes(csv_bytes([headers] + [[row.get(header, "") for header in headers] for row in table], encoding))
    return path


def ingest(run_id: str = "rules") -> dict:
    return run_pipeline(run_id, DELIVERY, DELIVERY, transform=False)


def audit(site: Site, path: Path) -> dict:
    (row,) = rows(site.url, "select * from ops.file_audit where file_name = :name", {"name": path.name})
    return row


def quarantine_by_row(site: Site, path: Path) -> dict[int | None, list[dict]]:
    found: dict[int | None, list[dict]] = {}
    for row in rows(site.url, "select * from ops.quarantine where source_file = :f", {"f": f"{FOLDER}/{path.name}"}):
        found.setdefault(row["row_number"], []).append(row)
    return found


def staging_by_row(site: Site, path: Path) -> dict[int, dict]:
    table = rows(site.url, "select * from staging.registrations where source_file = :f", {"f": f"{FOLDER}/{path.name}"})
    return {row["source_row_number"]: row for row in table}


def assert_record_kept(quarantined: dict, source_row: dict[str, str]) -> None:
    """record_json keeps the row as received: every non-empty cell is in it."""
    assert quarantined["record_json"], f"row {quarantined['row_number']}: record_json is empty, the row is lost"
    record = json.loads(quarantined["record_json"])
    kept = {str(value).strip() for value in record.values()} if isinstance(record, dict) else set(map(str, record))
    missing = {cell.strip() for cell in source_row.values() if cell.strip()} - kept
    assert not missing, f"row {quarantined['row_number']}: record_json lacks {missing}: {record}"


def assert_outcomes(site: Site, path: Path, table: list[dict[str, str]], outcomes: list[Bad | Good]) -> None:
    """Row i + 2 of the file is table[i], with outcomes[i]; checks quarantine, staging and audit."""
    quarantine = quarantine_by_row(site, path)
    staging = staging_by_row(site, path)
    independent = expect_file(path, site.landing)
    for index, (source_row, outcome) in enumerate(zip(table, outcomes, strict=True)):
        number = index + 2
        if isinstance(outcome, Good):
            assert number not in independent.failures, (number, source_row, independent.failures.get(number))
            assert number not in quarantine, f"row {number} {source_row} wrongly quarantined: {quarantine.get(number)}"
            assert number in staging, f"row {number} {source_row} not loaded"
            for column, value in outcome.staging.items():
                assert staging[number][column] == value, (number, column, staging[number][column], value)
            continue
        assert independent.failures.get(number) == {(outcome.rule, outcome.column)}, (number, source_row)
        assert number not in staging, f"row {number} {source_row} loaded although it breaks {outcome.rule}"
        entries = quarantine.get(number, [])
        assert [(entry["rule"], entry["column_name"]) for entry in entries] == [(outcome.rule, outcome.column)], (
            number,
            source_row,
            entries,
        )
        (entry,) = entries
        if outcome.value is not None or outcome.rule.endswith("_missing"):
            assert entry["value"] == outcome.value, (number, entry)
        else:
            assert entry["value"] == source_row[LABELS[outcome.column]].strip(), (number, entry)
        reason = entry["reason"] or ""
        assert LABELS[outcome.column] in reason, f"row {number}: the reason does not name the column: {reason}"
        for text in outcome.reason_has:
            assert text in reason, f"row {number}: the reason should mention {text!r}: {reason}"
        assert entry["delivery_date"] == DELIVERY
        assert_record_kept(entry, source_row)
    row = audit(site, path)
    bad = sum(isinstance(outcome, Bad) for outcome in outcomes)
    assert row["status"] == "loaded"
    assert (row["rows_received"], row["rows_loaded"], row["rows_quarantined"]) == (len(table), len(table) - bad, bad)
    assert scalar(site.url, "select count(*) from raw.registrations") == len(table) - bad


# --- row-level rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_row_rule(site: Site, case: str):
    variants = CASES[case]
    table = [dict(GOOD_ROW), *variant_rows(variants, first_number=3)]
    path = write_csv(site, table)
    summary = ingest()
    assert summary["files_loaded"] == 1
    assert_outcomes(site, path, table, [Good({"uscc": GOOD_ROW["统一社会信用代码"]}), *(v.outcome for v in variants)])


def test_excel_date_and_number_cells_in_xlsx(site: Site):
    """XLSX accepted: real date cells, number cells (capital, employees, industry code), text cells."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    good = {
        **GOOD_ROW,
        "事件日期": datetime(2025, 3, 5),
        "成立日期": date(2019, 1, 31),
        "注册资本（万元）": 40642.59,
        "参保人数": 25,
        "行业代码": 6520,
    }
    text_dates = {**GOOD_ROW, "统一社会信用代码": uscc(3), "事件日期": "2025年3月6日", "成立日期": "2019/2/1"}
    bad = {
        **GOOD_ROW,
        "统一社会信用代码": uscc(4),
        "事件日期": datetime(2025, 3, 5),
        "成立日期": datetime(2019, 1, 31),
        "参保人数": -3,
    }
    for row in (good, text_dates, bad):
        sheet.append([row[header] for header in HEADERS])
    path = site.folder / "reg_20250310_01.xlsx"
    workbook.save(path)
    ingest()

    staging = staging_by_row(site, path)
    assert set(staging) == {2, 3}
    assert (staging[2]["event_date"], staging[2]["established_date"]) == (date(2025, 3, 5), date(2019, 1, 31))
    assert staging[2]["registered_capital_10k"] == Decimal("40642.59")
    assert (staging[2]["insured_employees"], staging[2]["industry_code"]) == (25, "6520")
    assert (staging[3]["event_date"], staging[3]["established_date"]) == (date(2025, 3, 6), date(2019, 2, 1))
    entries = quarantine_by_row(site, path)[4]
    assert [(entry["rule"], entry["column_name"], entry["value"]) for entry in entries] == [
        ("insured_employees_invalid", "insured_employees", "-3")
    ]
    row = audit(site, path)
    assert (row["status"], row["file_format"], row["rows_received"], row["rows_loaded"]) == ("loaded", "xlsx", 3, 2)


# --- file-level rules ----------------------------------------------------------------------------------


def test_undecodable_file_is_rejected_whole(site: Site):
    good = write_csv(site, [GOOD_ROW], name="reg_20250310_01.csv")
    broken = site.folder / "reg_20250310_02.csv"
    data = csv_bytes([HEADERS, list(variant_rows([Variant({}, Good())])[0].values())])
    broken.write_bytes(data[:-10] + b"\xff\xfe" + data[-10:])
    summary = ingest()
    assert summary["files_rejected"] == 1
    row = audit(site, broken)
    assert row["status"] == "rejected"
    assert "UTF-8" in row["reason"]
    assert "GB18030" in row["reason"]
    assert row["rows_loaded"] == 0
    assert row["rows_received"] == row["rows_quarantined"]
    assert staging_by_row(site, broken) == {}
    assert set(staging_by_row(site, good)) == {2}


@pytest.mark.parametrize(
    "missing", ["统一社会信用代码", "企业名称", "事件类型", "事件日期", "成立日期", "行业代码", "所属园区"]
)
def test_missing_required_column_rejects_the_file(site: Site, missing: str):
    table = [dict(GOOD_ROW), *variant_rows([Variant({}, Good())], first_number=3)]
    path = write_csv(site, table, headers=[header for header in HEADERS if header != missing])
    ingest()
    row = audit(site, path)
    assert row["status"] == "rejected"
    assert missing in row["reason"]
    assert (row["rows_received"], row["rows_loaded"], row["rows_quarantined"]) == (2, 0, 2)
    quarantine = quarantine_by_row(site, path)
    assert set(quarantine) == {2, 3}
    for number, (entry,) in quarantine.items():
        assert entry["rule"] == "missing_required_column"
        assert missing in entry["reason"]
        assert_record_kept(entry, {k: v for k, v in table[number - 2].items() if k != missing})
    assert scalar(site.url, "select count(*) from staging.registrations") == 0


def test_optional_columns_may_be_absent(site: Site):
    required = ["统一社会信用代码", "企业名称", "事件类型", "事件日期", "成立日期", "行业代码", "所属园区"]
    path = write_csv(site, [GOOD_ROW], headers=required)
    ingest()
    assert audit(site, path)["status"] == "loaded"
    staged = staging_by_row(site, path)[2]
    assert staged["currency"] == "人民币"
    assert staged["enterprise_type"] is None


def test_duplicate_column_rejects_the_file(site: Site):
    headers = [*HEADERS, "企业名称"]
    path = site.folder / "reg_20250310_01.csv"
    path.write_bytes(csv_bytes([headers, [*GOOD_ROW.values(), "另一个名称"]]))
    ingest()
    row = audit(site, path)
    assert row["status"] == "rejected"
    assert "企业名称" in row["reason"]
    assert scalar(site.url, "select count(*) from staging.registrations") == 0
    assert [entry["rule"] for entry in quarantine_by_row(site, path)[2]] == ["duplicate_column"]


@pytest.mark.parametrize("name", ["reg_20250310_01.xls", "reg_20250310_01.txt", "reg_20250310_01.json"])
def test_unsupported_file_type_is_rejected(site: Site, name: str):
    path = site.folder / name
    path.write_bytes(csv_bytes([HEADERS, list(GOOD_ROW.values())]))
    summary = ingest()
    assert summary["files_rejected"] == 1
    row = audit(site, path)
    assert row["status"] == "rejected"
    assert Path(name).suffix in row["reason"]
    assert row["rows_received"] == row["rows_loaded"] + row["rows_quarantined"]


def test_rows_with_the_wrong_number_of_fields_are_quarantined(site: Site):
    table = [dict(GOOD_ROW), *variant_rows([Variant({}, Good())] * 3, first_number=3)]
    records = [HEADERS] + [list(row.values()) for row in table]
    records[2] = records[2][:-1]  # row 3: one field short
    records[3] = [*records[3], "多出来的值"]  # row 4: one field too many
    path = site.folder / "reg_20250310_01.csv"
    path.write_bytes(csv_bytes(records))
    ingest()
    quarantine = quarantine_by_row(site, path)
    assert set(quarantine) == {3, 4}
    for number in (3, 4):
        (entry,) = quarantine[number]
        assert entry["rule"] == "row_field_count"
        assert str(len(HEADERS)) in entry["reason"]
    assert set(staging_by_row(site, path)) == {2, 5}
    row = audit(site, path)
    assert (row["status"], row["rows_received"], row["rows_loaded"], row["rows_quarantined"]) == ("loaded", 4, 2, 2)


def test_rows_with_the_wrong_number_of_fields_keep_their_content(site: Site):
    table = [dict(GOOD_ROW), *variant_rows([Variant({}, Good())] * 2, first_number=3)]
    records = [HEADERS] + [list(row.values()) for row in table]
    records[2] = records[2][:-1]
    path = site.folder / "reg_20250310_01.csv"
    path.write_bytes(csv_bytes(records))
    ingest()
    (entry,) = quarantine_by_row(site, path)[3]
    assert_record_kept(entry, dict(zip(HEADERS, records[2], strict=False)))


def test_gb18030_file_is_accepted(site: Site):
    name = "上海浦东龘鑫生物医药有限公司"
    table = [dict(GOOD_ROW), *variant_rows([Variant({"企业名称": name}, Good())], first_number=3)]
    path = write_csv(site, table, encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    ingest()
    row = audit(site, path)
    assert (row["status"], row["encoding"], row["rows_loaded"]) == ("loaded", "gb18030", 2)
    assert staging_by_row(site, path)[3]["enterprise_name"] == name


def test_utf8_with_bom_is_accepted(site: Site):
    path = site.folder / "reg_20250310_01.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_bytes([HEADERS, list(GOOD_ROW.values())]))
    ingest()
    row = audit(site, path)
    assert (row["status"], row["encoding"], row["rows_loaded"]) == ("loaded", "utf-8-sig", 1)


def test_unknown_column_is_kept_in_raw_and_reported(site: Site):
    headers = ["序号", *HEADERS[:5], "备注", *HEADERS[5:]]
    second = variant_rows([Variant({}, Good())], 3)[0]
    table = [{**GOOD_ROW, "序号": "1", "备注": "补录"}, {**second, "序号": "2", "备注": ""}]
    path = write_csv(site, table, headers=headers)
    ingest()
    row = audit(site, path)
    assert row["status"] == "loaded"
    assert json.loads(row["unknown_columns"]) == ["序号", "备注"]
    extras = {
        entry["source_row_number"]: json.loads(entry["extra_columns"])
        for entry in rows(site.url, "select source_row_number, extra_columns from raw.registrations")
    }
    assert extras[2] == {"序号": "1", "备注": "补录"}
    assert extras[3].get("序号") == "2"
    staging_columns = set(staging_by_row(site, path)[2])
    assert not {"序号", "备注", "extra_columns"} & staging_columns


def test_header_order_does_not_matter(site: Site):
    headers = list(reversed(HEADERS))
    path = site.folder / "reg_20250310_01.csv"
    path.write_bytes(csv_bytes([headers, [GOOD_ROW[header] for header in headers]]))
    ingest()
    assert audit(site, path)["status"] == "loaded"
    assert staging_by_row(site, path)[2]["uscc"] == GOOD_ROW["统一社会信用代码"]


def test_xlsx_cell_beyond_the_header_is_not_dropped_silently(site: Site):
    """A value in a column without a header: like a CSV row with too many fields, it must not vanish."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append(list(GOOD_ROW.values()))
    sheet.append([*variant_rows([Variant({}, Good())], 3)[0].values(), "无表头的值"])
    path = site.folder / "reg_20250310_01.xlsx"
    workbook.save(path)
    ingest()
    raw_extra = rows(site.url, "select source_row_number, extra_columns from raw.registrations")
    kept = any("无表头的值" in (entry["extra_columns"] or "") for entry in raw_extra)
    quarantined = any(
        "无表头的值" in (entry["record_json"] or "") or entry["row_number"] == 3
        for entries in quarantine_by_row(site, path).values()
        for entry in entries
    )
    assert kept or quarantined, "the value in the unnamed 16th column disappeared without trace"


# --- all row-level cases at once, on PostgreSQL -----------------------------------------------------------


@pytest.mark.postgres
def test_every_row_rule_on_postgresql(postgres_site: Site):
    variants = [variant for case in sorted(CASES) for variant in CASES[case]]
    table = [dict(GOOD_ROW), *variant_rows(variants, first_number=3)]
    path = write_csv(postgres_site, table)
    summary = ingest("rules-postgresql")
    assert summary["files_loaded"] == 1
    assert_outcomes(postgres_site, path, table, [Good(), *(variant.outcome for variant in variants)])


def test_corrected_file_replaces_a_rejected_one(site: Site):
    """Missing column -> rejected; the same name delivered again with the column -> loaded, old entries gone."""
    table = [dict(GOOD_ROW), *variant_rows([Variant({}, Good())], first_number=3)]
    path = write_csv(site, table, headers=[header for header in HEADERS if header != "成立日期"])
    ingest("run-1")
    rejected_sha = audit(site, path)["source_sha256"]
    write_csv(site, table)
    summary = ingest("run-2")
    assert summary["files_loaded"] == 1
    versions = {row["source_sha256"]: row["status"] for row in rows(site.url, "select * from ops.file_audit")}
    assert versions[rejected_sha] == "superseded"
    assert sorted(versions.values()) == ["loaded", "superseded"]
    assert quarantine_by_row(site, path) == {}
    assert set(staging_by_row(site, path)) == {2, 3}


def test_header_only_file_is_loaded_empty(site: Site):
    """A delivery day without events: the export holds just the header."""
    path = write_csv(site, [GOOD_ROW], name="reg_20250310_01.csv")
    path.write_bytes(csv_bytes([HEADERS]))
    summary = ingest()
    assert summary["files_loaded"] == 1
    row = audit(site, path)
    assert (row["status"], row["rows_received"], row["rows_loaded"], row["rows_quarantined"]) == ("loaded", 0, 0, 0)


def test_empty_file_is_rejected_with_a_reason(site: Site):
    path = site.folder / "reg_20250310_01.csv"
    path.write_bytes(b"")
    write_csv(site, [GOOD_ROW], name="reg_20250310_02.csv")
    summary = ingest()
    assert (summary["files_rejected"], summary["files_loaded"]) == (1, 1)
    row = audit(site, path)
    assert row["status"] == "rejected"
    assert row["reason"]


@pytest.mark.parametrize(
    ("header", "column", "text"),
    [
        ("参保人数", "insured_employees", "13800000000"),  # a phone number pasted into the column
        ("注册资本（万元）", "registered_capital_10k", "123456789012345678901234"),
    ],
    ids=["employees", "capital"],
)
def test_values_too_large_for_the_warehouse_do_not_break_the_load(site: Site, header: str, column: str, text: str):
    """Contract-valid (integer >= 0 / decimal >= 0) but huge: loaded exactly or quarantined, never a failed run."""
    table = [dict(GOOD_ROW), *variant_rows([Variant({header: text}, Good())], first_number=3)]
    path = write_csv(site, table)
    ingest()
    staging = staging_by_row(site, path)
    assert 2 in staging
    quarantine = quarantine_by_row(site, path)
    if 3 in staging:
        assert Decimal(str(staging[3][column])) == Decimal(text)
    else:
        assert [entry["column_name"] for entry in quarantine[3]] == [column]


def land_original_and_correction(landing: Path) -> tuple[date, str, list[dict[str, str]]]:
    """A registrations file delivered the day before DELIVERY, and its corrected version (one
    name changed) delivered again under the same name on DELIVERY; returns (earlier day, file
    name, corrected rows)."""
    earlier = DELIVERY - timedelta(days=1)
    name = f"reg_{earlier:%Y%m%d}_01.csv"
    table = [dict(GOOD_ROW), *variant_rows([Variant({}, Good())], first_number=3)]
    corrected = [dict(row) for row in table]
    corrected[1]["企业名称"] += "（更正）"
    for day, content in ((earlier, table), (DELIVERY, corrected)):
        folder = landing / "registrations" / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(csv_bytes([HEADERS] + [[row[header] for header in HEADERS] for row in content]))
    return earlier, name, corrected


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_an_older_delivery_met_after_the_newer_one_is_recorded_and_never_loaded(
    engine: str, request: pytest.FixtureRequest
):
    """A rerun of an old range after the corrected file of a later day is loaded: the old bytes
    are audited as superseded (0 rows), the corrected rows stay, and a second rerun changes nothing."""
    target: Site = request.getfixturevalue("site" if engine == "duckdb" else "postgres_site")
    earlier, name, corrected = land_original_and_correction(target.landing)
    assert run_pipeline("run-new", DELIVERY, DELIVERY, transform=False)["files_loaded"] == 1

    summary = run_pipeline("run-old", earlier, earlier, transform=False)
    assert (summary["files_outdated"], summary["files_loaded"]) == (1, 0), summary
    audit = rows(
        target.url,
        "select status, rows_received, reason from ops.file_audit where source_file = :file",
        {"file": f"registrations/{earlier.isoformat()}/{name}"},
    )
    assert [(row["status"], row["rows_received"]) for row in audit] == [("superseded", 0)]
    assert f"registrations/{DELIVERY.isoformat()}/{name}" in audit[0]["reason"]
    staged = rows(target.url, "select enterprise_name from staging.registrations")
    assert sorted(row["enterprise_name"] for row in staged) == sorted(row["企业名称"] for row in corrected)

    again = run_pipeline("run-old-again", earlier, earlier, transform=False)
    assert (again["files_unchanged"], again["files_outdated"]) == (1, 0), again


def test_corrected_file_delivered_in_a_later_folder_replaces_the_original(site: Site):
    earlier, _, corrected = land_original_and_correction(site.landing)
    run_pipeline("run", earlier, DELIVERY, transform=False)
    staged = rows(site.url, "select uscc, enterprise_name from staging.registrations")
    assert sorted((row["uscc"], row["enterprise_name"]) for row in staged) == sorted(
        (row["统一社会信用代码"], row["企业名称"]) for row in corrected
    )
