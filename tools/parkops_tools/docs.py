"""``python -m parkops_tools.docs [--check | --write]``: the analysts' guide ``docs/warehouse.md``.

The guide is generated, never edited by hand: the DDL (``sql/ddl/*.sql``) is applied to a fresh
in-memory DuckDB and the table, view and column comments are read back from the catalog
(``duckdb_tables()``, ``duckdb_views()``, ``duckdb_columns()``). The example queries are the files
``docs/queries/*.sql`` (one per KPI code of ``seeds/kpi_targets.csv`` at least, named
``<kpi_code>.sql`` or ``<kpi_code>__<variant>.sql``); their leading ``--`` lines are the title and
the explanation. Output is deterministic: sorted, no timestamps.

- no option: print the rendering on stdout;
- ``--write``: write ``docs/warehouse.md`` (``make docs``);
- ``--check``: exit 1 when ``docs/warehouse.md`` differs from the rendering.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from parkops.config import PROJECT_DIR, seeds_dir
from parkops.warehouse import apply_ddl, create_warehouse_engine

DOC_PATH = PROJECT_DIR / "docs" / "warehouse.md"
QUERIES_DIR = PROJECT_DIR / "docs" / "queries"

#: Schemas in the order the guide documents them.
SCHEMA_ORDER = ("mart", "core", "ops", "staging", "raw")
SCHEMA_INTROS = {
    "mart": "The analysts' interface: stable, documented, free of personal data.",
    "core": (
        "Conformed dimensions and facts, free of personal data. Analysts read the objects marked "
        "*analysts* below; the others are the pipeline's working tables."
    ),
    "ops": "Pipeline operations: file audit, quarantine, validation results. Pipeline role only.",
    "staging": "Validated, typed source rows. Contains personal data: pipeline role only.",
    "raw": "Source rows exactly as received, with lineage. Contains personal data: pipeline role only.",
}
#: Personal-data-free ``core`` objects analysts may read (besides all of ``mart``).
ANALYST_CORE_OBJECTS = (
    "core.dim_enterprise_current",
    "core.dim_park",
    "core.dim_industry_class",
    "core.dim_kpi_target",
    "core.dim_qualification_tag",
    "core.fct_registration_events",
)
#: Catalog types shown as written in the DDL.
TYPE_NAMES = {"VARCHAR": "text", "DOUBLE": "double precision"}


@dataclass
class Column:
    name: str
    data_type: str
    comment: str | None
    inherited_from: str | None = None


@dataclass
class Relation:
    schema: str
    name: str
    kind: str  # "table" or "view"
    comment: str | None
    columns: list[Column] = field(default_factory=list)

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def analysts_read(self) -> bool:
        return self.schema == "mart" or self.qualified_name in ANALYST_CORE_OBJECTS


@dataclass
class Query:
    path: Path
    title: str
    explanation: list[str]
    sql: str


def _clean(comment: object) -> str | None:
    text = str(comment).strip() if comment is not None else ""
    return text or None


def _type_name(data_type: str) -> str:
    if data_type.startswith("DECIMAL"):
        return "numeric" + data_type[len("DECIMAL") :].replace(",", ", ")
    return TYPE_NAMES.get(data_type, data_type.lower())


def catalog() -> list[Relation]:
    """Tables and views of the DDL with their comments, read from a fresh in-memory DuckDB.

    A view column without a comment of its own takes the comment of the same-named column of
    the table the view selects from (``inherited_from``).
    """
    engine = create_warehouse_engine("duckdb:///:memory:")
    with engine.begin() as connection:
        apply_ddl(connection)
        tables = connection.exec_driver_sql(
            "select schema_name, table_name, 'table', comment from duckdb_tables() "
            "where database_name = current_database() and not internal and not temporary"
        ).all()
        views = connection.exec_driver_sql(
            "select schema_name, view_name, 'view', comment, sql from duckdb_views() "
            "where database_name = current_database() and not internal and not temporary"
        ).all()
        columns = connection.exec_driver_sql(
            "select schema_name, table_name, column_name, data_type, comment from duckdb_columns() "
            "where database_name = current_database() and not internal order by column_index"
        ).all()
    engine.dispose()
    relations = {
        (schema, name): Relation(schema, name, kind, _clean(comment)) for schema, name, kind, comment, *_ in tables
    }
    view_sources: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, name, kind, comment, sql in views:
        relations[(schema, name)] = Relation(schema, name, kind, _clean(comment))
        view_sources[(schema, name)] = re.findall(r"\b(?:from|join)\s+(\w+)\.(\w+)", sql or "", flags=re.IGNORECASE)
    for schema, table, column, data_type, comment in columns:
        if (schema, table) in relations:
            relations[(schema, table)].columns.append(Column(column, _type_name(data_type), _clean(comment)))
    for key, sources in view_sources.items():
        for column in relations[key].columns:
            if column.comment is not None:
                continue
            for source in sources:
                match = next((c for c in getattr(relations.get(source), "columns", []) if c.name == column.name), None)
                if match is not None and match.comment is not None:
                    column.comment, column.inherited_from = match.comment, ".".join(source)
                    break
    order = {schema: index for index, schema in enumerate(SCHEMA_ORDER)}
    return sorted(relations.values(), key=lambda r: (order.get(r.schema, len(order)), r.schema, r.name))


def undocumented(schemas: tuple[str, ...] = ("mart", "core")) -> list[str]:
    """``schema.table`` and ``schema.table.column`` names without a comment, in those schemas."""
    missing = []
    for relation in catalog():
        if relation.schema not in schemas:
            continue
        if relation.comment is None:
            missing.append(relation.qualified_name)
        missing += [f"{relation.qualified_name}.{c.name}" for c in relation.columns if c.comment is None]
    return missing


def kpis() -> list[dict[str, str]]:
    with (seeds_dir() / "kpi_targets.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_query(path: Path) -> Query:
    lines = path.read_text(encoding="utf-8").strip().splitlines()
    header = []
    while lines and lines[0].startswith("--"):
        header.append(lines.pop(0)[2:].strip())
    if not header:
        raise ValueError(f"{path}: an example query starts with a '-- title' line")
    return Query(path, header[0], header[1:], "\n".join(lines).strip())


def example_queries() -> list[Query]:
    return [read_query(path) for path in sorted(QUERIES_DIR.glob("*.sql"))]


def query_kpi_code(query: Query) -> str:
    """``new_tech_per_day__windows.sql`` -> ``new_tech_per_day``."""
    return query.path.stem.split("__")[0]


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _grain(comment: str | None) -> str | None:
    match = re.search(r"Grain:\s*(.+?)\.(?:\s|$)", comment or "")
    return match.group(1) if match else None


def _relation_section(relation: Relation) -> list[str]:
    lines = [f"### `{relation.qualified_name}`", ""]
    audience = "analysts" if relation.analysts_read else "pipeline only"
    lines.append(f"*{relation.kind}; readable by: {audience}*")
    lines.append("")
    lines.append(relation.comment or "_(no description in the DDL)_")
    grain = _grain(relation.comment)
    if grain:
        lines += ["", f"**Grain:** {grain}"]
    lines += ["", "| column | type | description |", "|---|---|---|"]
    for column in relation.columns:
        description = _cell(column.comment)
        if column.inherited_from:
            description += f" (from `{column.inherited_from}`)"
        lines.append(f"| `{column.name}` | {column.data_type} | {description} |")
    return [*lines, ""]


def _run_instructions() -> list[str]:
    return [
        "## How to run the example queries",
        "",
        "Every query below is in `docs/queries/<name>.sql`, is portable SQL and runs unchanged on",
        "PostgreSQL (production) and DuckDB (the embedded default); run them from the checkout.",
        "",
        "PostgreSQL, with `psql` (`PARKOPS_WAREHOUSE_URL` as `postgresql://user@host:5432/db`;",
        "drop a `+psycopg` driver suffix if the URL has one):",
        "",
        "```sh",
        'psql "$PARKOPS_WAREHOUSE_URL" -f docs/queries/all_kpis_latest.sql',
        'psql "$PARKOPS_WAREHOUSE_URL" -c "select kpi_code, actual, target, data_status from mart.kpi_target_progress"',
        "```",
        "",
        "DuckDB (`data/warehouse/parkops.duckdb`; open it read-only, and not while a pipeline run",
        "is writing: DuckDB admits one writer process). With the DuckDB CLI, if installed:",
        "",
        "```sh",
        "duckdb -readonly data/warehouse/parkops.duckdb < docs/queries/all_kpis_latest.sql",
        "```",
        "",
        "or with the Python in the project's virtualenv:",
        "",
        "```sh",
        ".venv/bin/python -c \"import duckdb; print(duckdb.connect('data/warehouse/parkops.duckdb', "
        "read_only=True).sql(open('docs/queries/all_kpis_latest.sql').read()))\"",
        "```",
        "",
    ]


def _query_section(query: Query, level: str = "####") -> list[str]:
    relative = query.path.relative_to(PROJECT_DIR).as_posix()
    lines = [f"{level} {query.title}", ""]
    if query.explanation:
        lines += [" ".join(query.explanation), ""]
    lines += [f"`{relative}`", "", "```sql", query.sql, "```", ""]
    return lines


def _examples_section() -> list[str]:
    queries = example_queries()
    codes = [kpi["kpi_code"] for kpi in kpis()]
    lines = ["## Example queries", ""]
    general = [query for query in queries if query_kpi_code(query) not in codes]
    if general:
        lines += ["### All KPIs", ""]
        for query in general:
            lines += _query_section(query)
    for kpi in kpis():
        code = kpi["kpi_code"]
        lines += [f"### `{code}`: {kpi['kpi_name']} ({kpi['category']})", "", _cell(kpi["definition"]), ""]
        mine = [query for query in queries if query_kpi_code(query) == code]
        if not mine:
            lines += ["_(no example query yet)_", ""]
        for query in mine:
            lines += _query_section(query)
    return lines


def render_warehouse_doc() -> str:
    relations = catalog()
    analyst_objects = [r.qualified_name for r in relations if r.analysts_read]
    lines = [
        "# Warehouse guide for analysts",
        "",
        "<!-- Generated by `make docs` (python -m parkops_tools.docs) from the comments in sql/ddl/*.sql",
        "     and the queries in docs/queries/. Do not edit by hand: edit those and run `make docs`. -->",
        "",
        "The warehouse has one schema per layer: `raw` (source rows as received, with lineage) ->",
        "`staging` (validated, typed) -> `core` (dimensions `dim_*` and facts `fct_*`) -> `mart`",
        "(tables for analysts and reports), plus `ops` (file audit, quarantine, validation results).",
        "It runs on DuckDB (embedded default) and PostgreSQL (production) with the same tables.",
        "KPI definitions and targets are data in `core.dim_kpi_target` (seed `seeds/kpi_targets.csv`).",
        "",
        "## Who may read what",
        "",
        "Analysts read schema `mart` and these personal-data-free `core` objects:",
        "",
        *[f"- `{name}`" for name in analyst_objects],
        "",
        "`raw`, `staging` and `ops` are for the pipeline only: they hold personal data (法定代表人, 联系电话)",
        "and operational detail. Personal data never reaches `core` or `mart`.",
        "",
        "Types are shown as written in the DDL; DuckDB reports `text` as `VARCHAR` and",
        "`numeric(p, s)` as `DECIMAL(p,s)`.",
        "",
    ]
    for schema in SCHEMA_ORDER:
        members = [r for r in relations if r.schema == schema]
        if not members:
            continue
        lines += [f"## Schema `{schema}`", "", SCHEMA_INTROS[schema], ""]
        for relation in members:
            lines += _relation_section(relation)
    others = [r for r in relations if r.schema not in SCHEMA_ORDER]
    for relation in others:
        lines += _relation_section(relation)
    lines += _run_instructions()
    lines += _examples_section()
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m parkops_tools.docs", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help=f"exit 1 when {DOC_PATH.name} is stale")
    mode.add_argument("--write", action="store_true", help="write docs/warehouse.md")
    args = parser.parse_args(argv)
    rendered = render_warehouse_doc()
    relative = DOC_PATH.relative_to(PROJECT_DIR) if DOC_PATH.is_relative_to(PROJECT_DIR) else DOC_PATH
    if args.check:
        current = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else None
        if current != rendered:
            state = "is missing" if current is None else "is stale (differs from the DDL comments and queries)"
            print(f"{relative} {state}: run make docs", file=sys.stderr)
            return 1
        print(f"{relative} is up to date")
        return 0
    if args.write:
        DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
        DOC_PATH.write_text(rendered, encoding="utf-8")
        print(f"wrote {relative}", file=sys.stderr)
        return 0
    sys.stdout.write(rendered)
    return 0


if __name__ == "__main__":
    sys.exit(main())
