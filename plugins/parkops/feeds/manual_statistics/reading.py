"""Reading a manual statistics CSV, and the KPI codes its suite accepts (the reading convention:
``parkops.feeds.definition``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from parkops.feeds.manual_statistics import FEED
from parkops.ingest import normalise
from parkops.ingest.prepared import PreparedFile, ValidationInputs
from parkops.ingest.tabular import read_single_table, single_part_file, tabular_part

CONTRACT = FEED.contract("manual_statistics")


def prepare(path: Path, delivery_date: str, inputs: ValidationInputs, data: bytes | None = None) -> PreparedFile:
    """The period becomes first day, last day and label for staging.

    An unreadable period keeps its text in ``period_start`` so the suite's date check rejects
    it with the value as received.
    """
    table, prepared = read_single_table(CONTRACT.columns, path, data, delivery_date, inputs)
    normalised = prepared.normalised
    periods = [normalise.normalise_period(value) for value in normalised["period"]]
    normalised["period_start"] = [
        period[0] if period else None if original is None else normalise.UNRECOGNISED + original
        for period, original in zip(periods, normalised["period"], strict=True)
    ]
    normalised["period_end"] = [period[1] if period else None for period in periods]
    normalised["period_label"] = [period[2] if period else None for period in periods]
    normalised["value_number"] = pd.to_numeric(normalised["value"], errors="coerce")
    part = tabular_part(
        CONTRACT.name, prepared, table.headers, helper_columns=("delivery_date", "period", "value_number")
    )
    part[0].column_aliases = {"period_start": "period", "value_number": "value"}
    return single_part_file(table, prepared, part)


def suite_parameters(connection: Connection) -> dict[str, object]:
    """``manual_kpi_codes``: the KPI targets whose figures come from this feed (core.dim_kpi_target)."""
    manual_kpis = (
        connection.execute(
            sa.text("select kpi_code from core.dim_kpi_target where source = :feed"), {"feed": FEED.name}
        )
        .scalars()
        .all()
    )
    return {"manual_kpi_codes": sorted(manual_kpis)}
