"""Load the CSV seeds into ``core.dim_*`` (replaced whole, one transaction) on every run."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import Engine

from parkops import warehouse
from parkops.reference import seed_path

#: seed name -> core table it replaces.
SEED_TABLES = {
    "parks": "dim_park",
    "industry_classes": "dim_industry_class",
    "qualification_tags": "dim_qualification_tag",
    "kpi_targets": "dim_kpi_target",
    "park_evaluation_weights": "dim_park_evaluation_weight",
    "park_evaluation_rules": "dim_park_evaluation_rule",
}


def seed_frame(name: str) -> pd.DataFrame:
    frame = pd.read_csv(seed_path(name), dtype=str, keep_default_na=False, encoding="utf-8")
    frame = frame.apply(lambda column: column.str.strip()).replace({"": None})
    if name == "parks":
        frame["leading_industry_count"] = [
            len([part for part in (value or "").split(";") if part.strip()]) for value in frame["leading_industries"]
        ]
    return frame


def load_reference_data(engine: Engine) -> dict[str, int]:
    """Apply the DDL, then replace every reference table from its seed; returns rows per table."""
    frames = {table: seed_frame(name) for name, table in SEED_TABLES.items()}
    counts: dict[str, int] = {}
    with engine.begin() as connection:
        warehouse.apply_ddl(connection)
        for table, frame in frames.items():
            columns = warehouse.table_columns(connection, "core", table)
            unexpected = sorted(set(frame.columns) - set(columns))
            if unexpected:
                raise ValueError(f"seed for core.{table} has columns the table lacks: {', '.join(unexpected)}")
            connection.exec_driver_sql(f"delete from core.{table}")
            counts[table] = warehouse.bulk_insert(connection, "core", table, frame)
    return counts
