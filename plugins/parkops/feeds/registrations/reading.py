"""Reading a registrations file: one table, one unit per row (the reading convention: ``parkops.feeds.definition``)."""

from __future__ import annotations

from pathlib import Path

from parkops.feeds.registrations import FEED
from parkops.ingest.prepared import PreparedFile, ValidationInputs
from parkops.ingest.tabular import read_single_table, single_part_file, tabular_part

CONTRACT = FEED.contract("registrations")


def prepare(path: Path, delivery_date: str, inputs: ValidationInputs, data: bytes | None = None) -> PreparedFile:
    table, prepared = read_single_table(CONTRACT.columns, path, data, delivery_date, inputs)
    return single_part_file(table, prepared, tabular_part(CONTRACT.name, prepared, table.headers))
