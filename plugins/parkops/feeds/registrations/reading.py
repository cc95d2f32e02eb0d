"""Reading a registrations file: one table, one unit per row (the reading convention: ``parkops.feeds.definition``)."""

from __future__ import annotations

from pathlib import Path

from parkops.feeds.registrations import FEED
from parkops.ingest.prepared import PreparedFile, ValidationInputs
from parkops.ingest.readers import FileRejected, read_table, table_rows
from parkops.ingest.tabular import prepare_table, tabular_part

CONTRACT = FEED.contract("registrations")


def prepare(path: Path, delivery_date: str, inputs: ValidationInputs, data: bytes | None = None) -> PreparedFile:
    table = read_table(path, data)
    try:
        prepared = prepare_table(CONTRACT.columns, table, delivery_date, inputs.division_sections)
    except FileRejected as rejection:
        raise rejection.with_rows(table_rows(table)) from None
    part, unit_rows, failures, record = tabular_part(CONTRACT.name, prepared, table.headers)
    return PreparedFile(
        parts=[part],
        unit_rows=unit_rows,
        unit_record=record,
        failures=failures,
        unknown_columns=prepared.unknown_columns,
        encoding=table.encoding,
    )
