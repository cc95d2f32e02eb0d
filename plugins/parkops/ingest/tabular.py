"""Tabular files (CSV, a worksheet) against a contract: the columns of a ``TableContract``.

``prepare_table`` turns a file's text cells into two frames indexed by row number: ``raw``
(as received, canonical column names, for the raw layer and the quarantine) and
``normalised`` (common rules applied per column kind, input to the expectation suite).
``tabular_part`` gives the loader's ``PreparedPart`` of such a table; the feeds' reading modules
assemble their ``PreparedFile`` from it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from parkops.feeds.definition import Column, Kind
from parkops.ingest import normalise
from parkops.ingest.prepared import PreparedFile, PreparedPart, UnitFailure, ValidationInputs
from parkops.ingest.readers import FileRejected, MalformedRow, RawTable, read_table, row_record, table_rows


def _header_key(header: str) -> str:
    """Headers compare after trimming and folding full-width ASCII, but keep Chinese brackets.

    Exports write 注册资本（万元） with full-width or ASCII parentheses; both mean the same column.
    """
    return normalise.fold_fullwidth(header.strip().lstrip("\ufeff")).replace(" ", "")


@dataclass
class PreparedTable:
    raw: pd.DataFrame
    normalised: pd.DataFrame
    unknown_columns: list[str]
    malformed_rows: list[MalformedRow]


def map_headers(columns: tuple[Column, ...], headers: list[str]) -> tuple[dict[int, str], dict[int, str]]:
    """Positions of contract columns and of unknown columns; reject missing or repeated columns."""
    known = {_header_key(column.header): column for column in columns}
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
    missing = [column.header for column in columns if column.required_column and column.name not in present]
    if missing:
        raise FileRejected(
            f"required column{'s' if len(missing) > 1 else ''} missing: {', '.join(missing)}",
            rule="missing_required_column",
        )
    return contract_positions, unknown_positions


def prepare_table(
    columns: tuple[Column, ...], table: RawTable, delivery_date: str, division_sections: dict[str, str]
) -> PreparedTable:
    """Map headers, keep the raw text and build the normalised frame (index = row number)."""
    contract_positions, unknown_positions = map_headers(columns, table.headers)
    row_numbers = [number for number, _ in table.rows]
    raw_columns: dict[str, list[str | None]] = {column.name: [None] * len(row_numbers) for column in columns}
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
    for column in columns:
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


def read_single_table(
    columns: tuple[Column, ...], path: Path, data: bytes | None, delivery_date: str, inputs: ValidationInputs
) -> tuple[RawTable, PreparedTable]:
    """A one-table file (CSV or a workbook's first sheet) read and prepared against ``columns``.

    A file refused whole (unknown headers, a required column missing) says how many rows it held.
    """
    table = read_table(path, data)
    try:
        return table, prepare_table(columns, table, delivery_date, inputs.division_sections)
    except FileRejected as rejection:
        raise rejection.with_rows(table_rows(table)) from None


def single_part_file(
    table: RawTable,
    prepared: PreparedTable,
    part: tuple[PreparedPart, list[int], list[UnitFailure], Callable[[int], str]],
) -> PreparedFile:
    """The ``PreparedFile`` of a one-table file from its :func:`tabular_part`."""
    prepared_part, unit_rows, failures, record = part
    return PreparedFile(
        parts=[prepared_part],
        unit_rows=unit_rows,
        unit_record=record,
        failures=failures,
        unknown_columns=prepared.unknown_columns,
        encoding=table.encoding,
    )
