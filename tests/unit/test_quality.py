"""Tests for parkops.quality: the registrations suite, the custom expectations and the report mapping.

Each contract rule of sources.md section 1 gets a bad value placed at a known, non-contiguous
source row number among clean rows; the report must name that row, the column, the rule id
and a reason naming the column -- and nothing else must fail for that row.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
import warnings

import pandas as pd
import pytest

from parkops.quality import ROW_FAILURE_COLUMNS, ValidationReport, load_suite, validate_frame
from parkops.quality.validation import suite_path
from parkops.uscc import check_uscc, is_valid_uscc, make_uscc

SUITE = "registrations"

QUALIFICATION_TAGS = ["科技型中小企业", "高新技术企业", "专精特新", "小巨人", "独角兽", "隐形冠军"]
PARAMETERS: dict[str, object] = {
    "industry_codes": {"6520", "7320", "3911"},
    "park_names": ["张江核心园", "临港园"],
    "qualification_tags": QUALIFICATION_TAGS,
}

CLEAN_ROW: dict[str, str | None] = {
    "uscc": "91310115MA1K3BTP2B",
    "enterprise_name": "上海示例科技有限公司",
    "event_type": "设立",
    "event_date": "2025-03-05",
    "established_date": "2025-03-01",
    "enterprise_type": "有限责任公司（自然人投资或控股）",
    "registered_capital_10k": "40642.59",
    "currency": "人民币",
    "industry_code": "6520",
    "park_name": "张江核心园",
    "address": "上海市浦东新区张江路1号",
    "legal_representative": "张三",
    "contact_phone": "021-12345678",
    "qualification_tags": "高新技术企业;专精特新",
    "insured_employees": "12",
    "delivery_date": "2025-03-06",
}

#: Source row numbers as a person sees them (header = row 1), deliberately with gaps.
ROW_NUMBERS = [2, 3, 7, 10]
BAD_ROW = 7


def make_frame(overrides_by_row: dict[int, dict[str, str | None]] | None = None) -> pd.DataFrame:
    """Clean rows at ROW_NUMBERS, with per-row overrides, all columns as strings like the readers produce."""
    overrides_by_row = overrides_by_row or {}
    rows = [{**CLEAN_ROW, **overrides_by_row.get(number, {})} for number in ROW_NUMBERS]
    return pd.DataFrame(rows, index=pd.Index(ROW_NUMBERS), dtype="string")


def failures_of(report: ValidationReport, row_number: int) -> pd.DataFrame:
    return report.row_failures[report.row_failures["row_number"] == row_number]


# (rule, column, Chinese header, overrides for the bad row)
RULE_CASES = [
    ("uscc_missing", "uscc", "统一社会信用代码", {"uscc": None}),
    ("enterprise_name_missing", "enterprise_name", "企业名称", {"enterprise_name": None}),
    ("event_type_missing", "event_type", "事件类型", {"event_type": None}),
    ("event_date_missing", "event_date", "事件日期", {"event_date": None}),
    ("established_date_missing", "established_date", "成立日期", {"established_date": None}),
    ("industry_code_missing", "industry_code", "行业代码", {"industry_code": None}),
    ("park_name_missing", "park_name", "所属园区", {"park_name": None}),
    ("uscc_invalid", "uscc", "统一社会信用代码", {"uscc": "91110000600037341N"}),
    ("uscc_invalid", "uscc", "统一社会信用代码", {"uscc": "9131011SMA1K3BTP2B"}),
    ("event_type_unknown", "event_type", "事件类型", {"event_type": "成立"}),
    ("event_date_format", "event_date", "事件日期", {"event_date": "2025-02-30"}),
    ("event_date_format", "event_date", "事件日期", {"event_date": "3/5/2025"}),
    ("event_date_format", "event_date", "事件日期", {"event_date": "2025-3-5"}),
    ("established_date_format", "established_date", "成立日期", {"established_date": "2025年13月1日"}),
    ("event_date_after_delivery", "event_date", "事件日期", {"event_date": "2025-03-07"}),
    ("established_date_after_event", "established_date", "成立日期", {"established_date": "2025-03-06"}),
    ("registered_capital_invalid", "registered_capital_10k", "注册资本（万元）", {"registered_capital_10k": "-5"}),
    ("registered_capital_invalid", "registered_capital_10k", "注册资本（万元）", {"registered_capital_10k": "abc"}),
    ("currency_unknown", "currency", "币种", {"currency": "卢布"}),
    ("industry_code_unknown", "industry_code", "行业代码", {"industry_code": "9999"}),
    ("industry_code_unknown", "industry_code", "行业代码", {"industry_code": "X6520"}),
    ("park_name_unknown", "park_name", "所属园区", {"park_name": "不存在园区"}),
    ("qualification_tags_unknown", "qualification_tags", "资质标签", {"qualification_tags": "高新技术企业;独角兽企业"}),
    ("insured_employees_invalid", "insured_employees", "参保人数", {"insured_employees": "-3"}),
    ("insured_employees_invalid", "insured_employees", "参保人数", {"insured_employees": "1.5"}),
]


@pytest.mark.parametrize(("rule", "column", "header", "overrides"), RULE_CASES, ids=[case[0] for case in RULE_CASES])
def test_each_rule_catches_its_bad_value(rule: str, column: str, header: str, overrides: dict[str, str | None]) -> None:
    frame = make_frame({BAD_ROW: overrides})

    report = validate_frame(frame, SUITE, PARAMETERS)

    assert not report.success
    assert list(report.row_failures.columns) == list(ROW_FAILURE_COLUMNS)
    assert report.failed_row_numbers == [BAD_ROW], report.row_failures.to_dict("records")
    (failure,) = failures_of(report, BAD_ROW).to_dict("records")  # exactly one rule fires, no double reporting
    assert failure["rule"] == rule
    assert failure["column"] == column
    assert failure["value"] == overrides[column]
    assert f"{header} ({column})" in failure["reason"]
    summary = next(item for item in report.expectation_results if item["rule"] == rule)
    assert summary["success"] is False
    assert summary["unexpected_count"] == 1


def test_clean_frame_passes_and_results_are_json_serialisable() -> None:
    report = validate_frame(make_frame(), SUITE, PARAMETERS)

    assert report.success
    assert report.row_failures.empty
    assert list(report.row_failures.columns) == list(ROW_FAILURE_COLUMNS)
    assert report.row_failures["row_number"].dtype == "int64"
    assert len(report.expectation_results) == len(load_suite(SUITE).expectations)
    assert all(item["success"] and item["element_count"] == len(ROW_NUMBERS) for item in report.expectation_results)
    json.dumps(report.expectation_results)


def test_optional_columns_may_be_missing_and_currency_and_tags_accept_all_contract_values() -> None:
    optional_empty = dict.fromkeys(
        [
            "enterprise_type",
            "registered_capital_10k",
            "address",
            "legal_representative",
            "contact_phone",
            "qualification_tags",
            "insured_employees",
        ]
    )
    frame = make_frame(
        {
            2: optional_empty,
            3: {"currency": "日元", "qualification_tags": ";".join(QUALIFICATION_TAGS), "insured_employees": "0"},
            10: {"event_type": "迁出", "registered_capital_10k": "0", "established_date": "2025-03-05"},
        }
    )

    report = validate_frame(frame, SUITE, PARAMETERS)

    assert report.success, report.row_failures.to_dict("records")


def test_row_numbers_map_to_non_contiguous_index_labels() -> None:
    frame = make_frame({7: {"currency": "卢布"}, 10: {"currency": "英镑"}, 3: {"park_name": "火星园"}})

    report = validate_frame(frame, SUITE, PARAMETERS)

    currency = report.row_failures[report.row_failures["rule"] == "currency_unknown"]
    assert currency["row_number"].tolist() == [7, 10]
    assert currency["value"].tolist() == ["卢布", "英镑"]
    park = report.row_failures[report.row_failures["rule"] == "park_name_unknown"]
    assert park["row_number"].tolist() == [3]
    assert report.failed_row_numbers == [3, 7, 10]


def as_dtype(frame: pd.DataFrame, dtype: str) -> pd.DataFrame:
    """The same frame as object columns holding None, as pandas' default ``str`` dtype, or as ``string``."""
    as_objects = frame.astype(object).where(frame.notna(), None)
    if dtype == "object":
        return as_objects
    if dtype == "default":
        return pd.DataFrame(as_objects.to_dict("list"), index=frame.index)
    return frame


@pytest.mark.parametrize("dtype", ["object", "default", "string"])
def test_a_row_failing_several_rules_gets_one_line_per_rule(dtype: str) -> None:
    frame = as_dtype(make_frame({10: {"uscc": None, "event_date": "2025-02-30", "insured_employees": "abc"}}), dtype)

    report = validate_frame(frame, SUITE, PARAMETERS)

    row = failures_of(report, 10)
    assert sorted(row["rule"]) == ["event_date_format", "insured_employees_invalid", "uscc_missing"]
    missing = row[row["rule"] == "uscc_missing"].iloc[0]
    assert missing["value"] is None
    assert row["row_number"].tolist() == [10, 10, 10]
    assert report.failed_row_numbers == [10]


def test_empty_frame_passes() -> None:
    empty = pd.DataFrame({column: pd.Series([], dtype=object) for column in CLEAN_ROW})

    report = validate_frame(empty, SUITE, PARAMETERS)

    assert report.success
    assert report.row_failures.empty


@pytest.mark.parametrize("code", ["91310115MA1K3BTP2B", "91310112087994932F", "91110000600037341L"])
def test_public_uscc_vectors_are_valid(code: str) -> None:
    assert is_valid_uscc(code)
    report = validate_frame(make_frame({BAD_ROW: {"uscc": code}}), SUITE, PARAMETERS)
    assert report.success, report.row_failures.to_dict("records")


def test_uscc_failure_reason_names_the_failed_gb32100_rule() -> None:
    assert not is_valid_uscc("91110000600037341N")

    report = validate_frame(make_frame({BAD_ROW: {"uscc": "91110000600037341N"}}), SUITE, PARAMETERS)

    (failure,) = failures_of(report, BAD_ROW).to_dict("records")
    assert failure["expectation"] == "expect_column_values_to_be_valid_uscc"
    assert failure["reason"] == "统一社会信用代码 (uscc): final check character (position 18) is 'N', expected 'L'"
    assert check_uscc("91110000600037341N").reason in failure["reason"]


def test_unknown_tag_reason_names_the_tag() -> None:
    report = validate_frame(make_frame({BAD_ROW: {"qualification_tags": "专精特新;独角兽企业"}}), SUITE, PARAMETERS)

    (failure,) = failures_of(report, BAD_ROW).to_dict("records")
    assert "'独角兽企业'" in failure["reason"]
    assert "'专精特新'" not in failure["reason"]


def test_reference_sets_are_suite_parameters_not_baked_into_the_json() -> None:
    suite = load_suite(SUITE)
    document = json.loads(suite_path(SUITE).read_text(encoding="utf-8"))

    assert set(suite.suite_parameter_options) == {"industry_codes", "park_names", "qualification_tags"}
    reference_columns = {"industry_code", "park_name", "qualification_tags"}
    for spec in document["expectations"]:
        assert spec["meta"]["rule"]
        assert spec["meta"]["reason"]
        if spec["kwargs"].get("column") in reference_columns and "value_set" in spec["kwargs"]:
            assert set(spec["kwargs"]["value_set"]) == {"$PARAMETER"}

    other_parks = {**PARAMETERS, "park_names": ["不存在园区"]}
    report = validate_frame(make_frame({BAD_ROW: {"park_name": "不存在园区"}}), SUITE, other_parks)
    assert set(report.row_failures["rule"]) == {"park_name_unknown"}
    assert report.failed_row_numbers == [2, 3, 10]


def test_missing_or_empty_parameters_and_missing_columns_are_refused() -> None:
    frame = make_frame()
    without_parks = {key: value for key, value in PARAMETERS.items() if key != "park_names"}
    with pytest.raises(ValueError, match="park_names"):
        validate_frame(frame, SUITE, without_parks)
    with pytest.raises(ValueError, match="industry_codes"):
        validate_frame(frame, SUITE, {**PARAMETERS, "industry_codes": []})
    with pytest.raises(ValueError, match="insured_employees"):
        validate_frame(frame.drop(columns=["insured_employees"]), SUITE, PARAMETERS)
    with pytest.raises(ValueError, match="unique"):
        validate_frame(frame.set_axis([2, 2, 7, 10]), SUITE, PARAMETERS)


def test_validation_leaves_logging_quiet_and_unchanged(capfd: pytest.CaptureFixture[str]) -> None:
    gx_logger = logging.getLogger("great_expectations")
    level_before, showwarning_before = gx_logger.level, warnings.showwarning

    validate_frame(make_frame({BAD_ROW: {"currency": "卢布"}}), SUITE, PARAMETERS)

    captured = capfd.readouterr()
    assert "Calculating Metrics" not in captured.err  # GX's tqdm progress bar
    assert gx_logger.level == level_before
    assert warnings.showwarning is showwarning_before  # GX's logging.captureWarnings(True) undone


def test_importing_the_package_does_not_import_great_expectations() -> None:
    code = (
        "import sys\n"
        "import parkops.quality, parkops.quality.validation\n"
        "loaded = sorted(name for name in sys.modules if name.split('.')[0] == 'great_expectations')\n"
        "assert not loaded, loaded\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr


def test_timing_200k_rows(capsys: pytest.CaptureFixture[str]) -> None:
    """Not an assertion on speed: prints the figure so regressions are visible in the test log."""
    count = 200_000
    frame = pd.DataFrame(
        {
            **{column: [value] * count for column, value in CLEAN_ROW.items()},
            "uscc": [make_uscc("9", "1", "310115", f"{number:08d}") for number in range(count)],
        },
        index=pd.RangeIndex(2, count + 2),
        dtype="string",
    )
    frame.loc[frame.index % 1000 == 0, "event_date"] = "2025-02-30"
    validate_frame(make_frame(), SUITE, PARAMETERS)  # GX import and context set-up are not part of the figure

    started = time.perf_counter()
    report = validate_frame(frame, SUITE, PARAMETERS)
    elapsed = time.perf_counter() - started

    assert len(report.row_failures) == count // 1000
    expectations = len(report.expectation_results)
    with capsys.disabled():
        print(f"\nvalidate_frame: {count} registrations rows x {expectations} expectations in {elapsed:.2f} s")


def test_named_index_still_maps_to_row_numbers() -> None:
    """The readers name the index ``row_number``; GX must still report plain row numbers."""
    frame = make_frame({BAD_ROW: {"uscc": None}}).rename_axis("row_number")
    report = validate_frame(frame, SUITE, PARAMETERS)
    assert report.row_failures["row_number"].tolist() == [BAD_ROW]
