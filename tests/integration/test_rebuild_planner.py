"""The PostgreSQL rebuild plans without nested loops, and only inside its own transaction.

At 3-year scale a daily rebuild of core.fct_need_records chose a nested loop from a one-row
estimate of a join on correlated lineage keys and ran for over eight minutes (1.8 s with hash
joins); the data to show it takes an hour to load, so this pins the setting instead.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from parkops import warehouse
from parkops.pipeline import transform
from parkops.pipeline.reference import load_reference_data


@pytest.mark.postgres
def test_postgres_rebuild_statements_run_without_nested_loops_and_the_setting_ends_with_it(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
):
    engine = warehouse.create_warehouse_engine(postgres_url)
    load_reference_data(engine)
    seen: list[tuple[str, str]] = []
    rebuild_table = warehouse.rebuild_table

    def recording(connection: sa.Connection, schema: str, table: str, params=None) -> int:
        seen.append((f"{schema}.{table}", connection.exec_driver_sql("show enable_nestloop").scalar_one()))
        return rebuild_table(connection, schema, table, params)

    monkeypatch.setattr(warehouse, "rebuild_table", recording)
    transform.build_families(engine, ["manual_statistics", "visits"])

    assert seen and {setting for _, setting in seen} == {"off"}, seen
    # set local: the pooled connection a later statement gets is planned as usual again.
    with engine.connect() as connection:
        assert connection.exec_driver_sql("show enable_nestloop").scalar_one() == "on"
    engine.dispose()
