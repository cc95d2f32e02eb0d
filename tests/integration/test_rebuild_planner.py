"""The PostgreSQL rebuild plans without nested loops and without JIT, only inside its own transaction.

At 3-year scale a daily rebuild of core.fct_need_records chose a nested loop from a one-row
estimate of a join on correlated lineage keys and ran for over eight minutes (1.8 s with hash
joins); the data to show it takes an hour to load, so this pins the setting instead. With nested
loops disabled, a plan that cannot avoid one carries a cost of 1e10 and was JIT-compiled (0.5 to
2.4 s of LLVM a statement, on empty tables too): the plans are checked to have no JIT.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import PROJECT_DIR

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
        settings = connection.exec_driver_sql(
            "select current_setting('enable_nestloop') || ' ' || current_setting('jit')"
        )
        seen.append((f"{schema}.{table}", settings.scalar_one()))
        return rebuild_table(connection, schema, table, params)

    monkeypatch.setattr(warehouse, "rebuild_table", recording)
    transform.build_families(engine, ["manual_statistics", "visits"])

    assert seen and {setting for _, setting in seen} == {"off off"}, seen
    # set local: the pooled connection a later statement gets is planned as usual again.
    with engine.connect() as connection:
        assert connection.exec_driver_sql("show enable_nestloop").scalar_one() == "on"
        assert connection.exec_driver_sql("show jit").scalar_one() == "on"
    engine.dispose()


@pytest.mark.postgres
def test_no_mart_statement_is_jit_compiled_under_the_rebuild_settings(postgres_url: str):
    engine = warehouse.create_warehouse_engine(postgres_url)
    load_reference_data(engine)
    transform.build_families(engine, list(transform.FAMILIES))
    compiled = []
    with engine.connect() as connection:
        assert connection.exec_driver_sql("select pg_jit_available()").scalar_one(), "this server has no JIT"
        connection.commit()
        for path in sorted((PROJECT_DIR / "sql" / "mart").glob("*.sql")):
            with connection.begin():
                for setting in transform.POSTGRES_REBUILD_SETTINGS:
                    connection.exec_driver_sql(f"set local {setting}")
                plan = connection.exec_driver_sql("explain (analyze) " + path.read_text(encoding="utf-8")).scalars()
                if any(line.startswith("JIT:") for line in plan):
                    compiled.append(path.stem)
    assert compiled == []
    engine.dispose()
