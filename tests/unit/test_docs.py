"""docs/warehouse.md: generated from the DDL comments, fresh, complete, with working example queries."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from parkops.warehouse import apply_ddl, create_warehouse_engine
from parkops_tools import docs

#: Columns of mart and core without a comment in sql/ddl (view columns inherit their base table's).
#: Shrink this list as comments are added; test_mart_and_core_fully_documented turns green when it is empty.


def test_committed_doc_is_fresh() -> None:
    committed = docs.DOC_PATH.read_text(encoding="utf-8") if docs.DOC_PATH.exists() else ""
    assert committed == docs.render_warehouse_doc(), (
        "docs/warehouse.md is stale (the DDL comments or docs/queries changed): run make docs"
    )


def test_rendering_is_deterministic() -> None:
    assert docs.render_warehouse_doc() == docs.render_warehouse_doc()


def test_check_flags_a_stale_doc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    stale = tmp_path / "docs" / "warehouse.md"
    stale.parent.mkdir()
    stale.write_text("# old\n", encoding="utf-8")
    monkeypatch.setattr(docs, "DOC_PATH", stale)
    assert docs.main(["--check"]) == 1
    assert "run make docs" in capsys.readouterr().err
    assert docs.main(["--write"]) == 0
    assert docs.main(["--check"]) == 0


def test_catalog_reads_ddl_comments() -> None:
    relations = {relation.qualified_name: relation for relation in docs.catalog()}
    progress = relations["mart.kpi_target_progress"]
    assert "Grain: as_of_date x kpi_code" in progress.comment
    assert {column.name: column.comment for column in progress.columns}["attainment"].startswith(
        "actual / target as a ratio"
    )
    current = relations["core.dim_enterprise_current"]
    assert current.kind == "view" and current.comment
    is_active = next(column for column in current.columns if column.name == "is_active")
    assert is_active.inherited_from == "core.dim_enterprise" and is_active.comment
    for name in docs.ANALYST_CORE_OBJECTS:
        assert name in relations, f"{name} is listed for analysts but not in the DDL"


def test_doc_orders_schemas_and_states_access() -> None:
    text = docs.render_warehouse_doc()
    positions = [text.index(f"## Schema `{schema}`") for schema in docs.SCHEMA_ORDER]
    assert positions == sorted(positions)
    assert "### `raw.registrations`\n\n*table; readable by: pipeline only*" in text
    assert "### `core.dim_park`\n\n*table; readable by: analysts*" in text


def _undocumented_message(missing: list[str]) -> str:
    return f"{len(missing)} tables/columns in mart and core have no comment in sql/ddl:\n" + "\n".join(missing)


def test_mart_and_core_fully_documented() -> None:
    missing = docs.undocumented(("mart", "core"))
    assert not missing, _undocumented_message(missing)


def test_every_kpi_has_an_example_query() -> None:
    files = {path.stem for path in docs.QUERIES_DIR.glob("*.sql")}
    missing = [kpi["kpi_code"] for kpi in docs.kpis() if kpi["kpi_code"] not in files]
    assert not missing, f"no docs/queries/<kpi_code>.sql for: {missing}"


def _queries() -> list[docs.Query]:
    queries = docs.example_queries()
    assert queries, "no example queries in docs/queries"
    return queries


def test_example_queries_run_on_duckdb(tmp_path: Path) -> None:
    """As analysts run them: the duckdb module on a read-only warehouse file with the DDL applied."""
    path = tmp_path / "warehouse.duckdb"
    engine = create_warehouse_engine(f"duckdb:///{path}")
    with engine.begin() as connection:
        apply_ddl(connection)
    engine.dispose()
    connection = duckdb.connect(str(path), read_only=True)
    try:
        for query in _queries():
            sql = query.path.read_text(encoding="utf-8")
            try:
                connection.sql(sql).fetchall()
            except duckdb.Error as error:
                pytest.fail(f"{query.path.name} fails on DuckDB: {error}")
    finally:
        connection.close()


@pytest.mark.postgres
def test_example_queries_run_on_postgresql(postgres_url: str) -> None:
    engine = create_warehouse_engine(postgres_url)
    try:
        with engine.begin() as connection:
            apply_ddl(connection)
        for query in _queries():
            sql = query.path.read_text(encoding="utf-8")
            with engine.connect() as connection:
                cursor = connection.connection.driver_connection.cursor()
                try:
                    cursor.execute(sql)
                    cursor.fetchall()
                except Exception as error:  # noqa: BLE001 - report the file that failed
                    pytest.fail(f"{query.path.name} fails on PostgreSQL: {error}")
    finally:
        engine.dispose()
