"""Tabular feed contracts (sources.md) as data: headers, canonical names, required columns, value kinds.

``prepare_table`` turns a file's text cells into two frames indexed by row number: ``raw``
(as received, canonical column names, for the raw layer and the quarantine) and
``normalised`` (common rules applied, input to the expectation suite). ``prepare_registrations``
and ``prepare_manual_statistics`` wrap it into the loader's ``PreparedFile``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from parkops.ingest import normalise
from parkops.ingest.prepared import PreparedFile, PreparedPart, UnitFailure
from parkops.ingest.readers import FileRejected, MalformedRow, RawTable, read_table, row_record, table_rows

if TYPE_CHECKING:
    from parkops.ingest.catalogue import ValidationInputs


class Kind(Enum):
    TEXT = "text"
    CODE = "code"
    DATE = "date"
    NUMBER = "number"
    TAGS = "tags"
    INDUSTRY = "industry"
    #: Lower-case identifiers (KPI codes): trimmed, full-width folded, lower-cased.
    KEY = "key"
    MONTH = "month"
    BOOLEAN = "boolean"
    #: 是/否 only (incubator reports): -> true/false.
    YES_NO = "yes_no"


@dataclass(frozen=True)
class Column:
    header: str
    name: str
    kind: Kind
    required_column: bool = True
    default: str | None = None


@dataclass(frozen=True)
class FeedSpec:
    name: str
    landing_folder: str
    suite_name: str
    columns: tuple[Column, ...]

    @property
    def canonical_names(self) -> list[str]:
        return [column.name for column in self.columns]


REGISTRATIONS = FeedSpec(
    name="registrations",
    landing_folder="registrations",
    suite_name="registrations",
    columns=(
        Column("统一社会信用代码", "uscc", Kind.CODE),
        Column("企业名称", "enterprise_name", Kind.TEXT),
        Column("事件类型", "event_type", Kind.TEXT),
        Column("事件日期", "event_date", Kind.DATE),
        Column("成立日期", "established_date", Kind.DATE),
        # 行业代码 and 所属园区 are required as well (sources.md: every KPI is per park, and the tech
        # and leading-industry definitions read the class); the other columns may be absent.
        Column("企业类型", "enterprise_type", Kind.TEXT, required_column=False),
        Column("注册资本（万元）", "registered_capital_10k", Kind.NUMBER, required_column=False),
        Column("币种", "currency", Kind.TEXT, required_column=False, default="人民币"),
        Column("行业代码", "industry_code", Kind.INDUSTRY),
        Column("所属园区", "park_name", Kind.TEXT),
        Column("注册地址", "address", Kind.TEXT, required_column=False),
        Column("法定代表人", "legal_representative", Kind.TEXT, required_column=False),
        Column("联系电话", "contact_phone", Kind.CODE, required_column=False),
        Column("资质标签", "qualification_tags", Kind.TAGS, required_column=False),
        Column("参保人数", "insured_employees", Kind.NUMBER, required_column=False),
    ),
)


def _header_key(header: str) -> str:
    """Headers compare after trimming and folding full-width ASCII, but keep Chinese brackets.

    Exports write 注册资本（万元） with full-width or ASCII parentheses; both mean the same column.
    """
    return normalise.fold_fullwidth(header.strip().lstrip("\ufeff")).replace(" ", "")


MANUAL_STATISTICS = FeedSpec(
    name="manual_statistics",
    landing_folder="manual_statistics",
    suite_name="manual_statistics",
    columns=(
        Column("指标代码", "kpi_code", Kind.KEY),
        Column("期间", "period", Kind.TEXT),
        Column("园区", "park_name", Kind.TEXT, required_column=False),
        Column("数值", "value", Kind.NUMBER),
        Column("来源", "source", Kind.TEXT),
        Column("备注", "note", Kind.TEXT, required_column=False),
    ),
)


@dataclass
class PreparedTable:
    raw: pd.DataFrame
    normalised: pd.DataFrame
    unknown_columns: list[str]
    malformed_rows: list[MalformedRow]


def map_headers(spec: FeedSpec, headers: list[str]) -> tuple[dict[int, str], dict[int, str]]:
    """Positions of contract columns and of unknown columns; reject missing or repeated columns."""
    known = {_header_key(column.header): column for column in spec.columns}
    contract_positions: dict[int, str] = {}
    unknown_positions: dict[int, str] = {}
    seen: dict[str, int] = {}
    for position, header in enumerate(headers):
        key = _header_key(header)
        if not key:
            unknown_positions[position] = f"(unnamed column {position + 1})"
            continue
        if key in seen:
            raise FileRejected(
                f"column '{header.strip()}' appears twice (columns {seen[key] + 1} and {position + 1})",
                rule="duplicate_column",
            )
        seen[key] = position
        if key in known:
            contract_positions[position] = known[key].name
        else:
            unknown_positions[position] = header.strip()
    present = set(contract_positions.values())
    missing = [column.header for column in spec.columns if column.required_column and column.name not in present]
    if missing:
        raise FileRejected(
            f"required column{'s' if len(missing) > 1 else ''} missing: {', '.join(missing)}",
            rule="missing_required_column",
        )
    return contract_positions, unknown_positions


def prepare_table(
    spec: FeedSpec, table: RawTable, delivery_date: str, division_sections: dict[str, str]
) -> PreparedTable:
    """Map headers, keep the raw text and build the normalised frame (index = row number)."""
    contract_positions, unknown_positions = map_headers(spec, table.headers)
    row_numbers = [number for number, _ in table.rows]
    raw_columns: dict[str, list[str | None]] = {name: [None] * len(row_numbers) for name in spec.canonical_names}
    for position, name in contract_positions.items():
        raw_columns[name] = [normalise.clean_text(cells[position]) for _, cells in table.rows]
    raw = pd.DataFrame(raw_columns, index=pd.Index(row_numbers, name="row_number"), dtype=object)
    if unknown_positions:
        raw["extra_columns"] = [
            json.dumps({header: cells[position] for position, header in unknown_positions.items()}, ensure_ascii=False)
            for _, cells in table.rows
        ]
    else:
        raw["extra_columns"] = None

    normalised = pd.DataFrame(index=raw.index)
    for column in spec.columns:
        values = raw[column.name].tolist()
        if column.kind is Kind.DATE:
            values = [normalise.normalise_date(value) for value in values]
        elif column.kind is Kind.NUMBER:
            values = [normalise.normalise_number(value) for value in values]
        elif column.kind is Kind.CODE:
            values = [normalise.normalise_code(value) for value in values]
        elif column.kind is Kind.TAGS:
            values = [normalise.normalise_tags(value) for value in values]
        elif column.kind is Kind.INDUSTRY:
            values = [normalise.normalise_industry_code(value, division_sections) for value in values]
        elif column.kind is Kind.KEY:
            values = [None if value is None else normalise.fold_fullwidth(value).strip().lower() for value in values]
        elif column.kind is Kind.MONTH:
            values = [normalise.normalise_month(value) for value in values]
        elif column.kind is Kind.BOOLEAN:
            values = [normalise.normalise_boolean(value) for value in values]
        elif column.kind is Kind.YES_NO:
            values = [normalise.normalise_yes_no(value) for value in values]
        if column.default is not None:
            values = [column.default if value is None else value for value in values]
        normalised[column.name] = pd.Series(values, index=raw.index, dtype=object)
    normalised["delivery_date"] = delivery_date
    return PreparedTable(raw, normalised, list(unknown_positions.values()), table.malformed_rows)


def _record_json(raw: pd.DataFrame, position: int) -> str:
    row = raw.iloc[position]
    record = {key: value for key, value in row.items() if value is not None and key != "extra_columns"}
    if row.get("extra_columns"):
        record["extra_columns"] = json.loads(row["extra_columns"])
    return json.dumps(record, ensure_ascii=False)


def tabular_part(
    table_name: str,
    prepared: PreparedTable,
    headers: list[str],
    *,
    sheet_name: str | None = None,
    helper_columns: tuple[str, ...] = ("delivery_date",),
    first_unit: int = 0,
) -> tuple[PreparedPart, list[int], list[UnitFailure], Callable[[int], str]]:
    """One table's rows as a part whose units are its rows, then its malformed rows.

    Returns the part, the unit row numbers, the malformed rows' failures and the function giving
    a unit's whole record as JSON (by position relative to ``first_unit``; called only for the
    units that are quarantined), for the caller to assemble a ``PreparedFile``.
    """
    raw = prepared.raw.reset_index()
    row_numbers = raw.pop("row_number").tolist()
    count = len(row_numbers)
    originals = raw.drop(columns=["extra_columns"])
    part = PreparedPart(
        table=table_name,
        normalised=prepared.normalised.reset_index(drop=True),
        originals=originals,
        unit=np.arange(first_unit, first_unit + count),
        raw=raw,
        helper_columns=helper_columns,
        sheet_name=sheet_name,
    )
    malformed = prepared.malformed_rows
    failures = [
        UnitFailure(first_unit + count + offset, "row_field_count", row.reason) for offset, row in enumerate(malformed)
    ]

    def record(position: int) -> str:
        if position < count:
            return _record_json(raw, position)
        return json.dumps(row_record(headers, malformed[position - count].cells), ensure_ascii=False)

    return part, row_numbers + [row.row_number for row in malformed], failures, record


def prepare_registrations(
    path: Path, delivery_date: str, inputs: ValidationInputs, data: bytes | None = None
) -> PreparedFile:
    table = read_table(path, data)
    try:
        prepared = prepare_table(REGISTRATIONS, table, delivery_date, inputs.division_sections)
    except FileRejected as rejection:
        raise rejection.with_rows(table_rows(table)) from None
    part, unit_rows, failures, record = tabular_part("registrations", prepared, table.headers)
    return PreparedFile(
        parts=[part],
        unit_rows=unit_rows,
        unit_record=record,
        failures=failures,
        unknown_columns=prepared.unknown_columns,
        encoding=table.encoding,
    )


def prepare_manual_statistics(
    path: Path, delivery_date: str, inputs: ValidationInputs, data: bytes | None = None
) -> PreparedFile:
    """Manual statistics CSV: the period becomes first day, last day and label for staging.

    An unreadable period keeps its text in ``period_start`` so the suite's date check rejects
    it with the value as received.
    """
    table = read_table(path, data)
    try:
        prepared = prepare_table(MANUAL_STATISTICS, table, delivery_date, inputs.division_sections)
    except FileRejected as rejection:
        raise rejection.with_rows(table_rows(table)) from None
    normalised = prepared.normalised
    periods = [normalise.normalise_period(value) for value in normalised["period"]]
    normalised["period_start"] = [
        period[0] if period else None if original is None else normalise.UNRECOGNISED + original
        for period, original in zip(periods, normalised["period"], strict=True)
    ]
    normalised["period_end"] = [period[1] if period else None for period in periods]
    normalised["period_label"] = [period[2] if period else None for period in periods]
    normalised["value_number"] = pd.to_numeric(normalised["value"], errors="coerce")
    part, unit_rows, failures, record = tabular_part(
        "manual_statistics", prepared, table.headers, helper_columns=("delivery_date", "period", "value_number")
    )
    part.column_aliases = {"period_start": "period", "value_number": "value"}
    return PreparedFile(
        parts=[part],
        unit_rows=unit_rows,
        unit_record=record,
        failures=failures,
        unknown_columns=prepared.unknown_columns,
        encoding=table.encoding,
    )
