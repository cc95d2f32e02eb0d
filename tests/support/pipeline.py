"""Driving the ingest and rebuild task callables and reading the warehouse back, for integration tests.

The callables read ``PARKOPS_LANDING_DIR`` and ``PARKOPS_WAREHOUSE_URL`` at call time; tests set
both (``use_warehouse`` / monkeypatch) before calling :func:`run_pipeline`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from parkops.pipeline import tasks
from parkops.warehouse import create_warehouse_engine
from support.independent import read_seed_csv

#: Every schema the pipeline writes.
SCHEMAS = ("raw", "staging", "core", "mart", "ops")

#: seed -> (core table, key column)
SEED_TABLES = {
    "parks": ("dim_park", "park_code"),
    "industry_classes": ("dim_industry_class", "class_code"),
    "qualification_tags": ("dim_qualification_tag", "tag"),
    "kpi_targets": ("dim_kpi_target", "kpi_code"),
}


def run_pipeline(
    run_id: str, first: dt.date, last: dt.date, *, transform: bool = True, feed: str = "registrations"
) -> dict[str, Any]:
    """One feed's DAG task order (reference data, discover, ingest), then build_marts' rebuild.

    Returns the ingest summary.
    """
    tasks.load_reference_data()
    files = tasks.discover_files(feed, {"first": first.isoformat(), "last": last.isoformat()})
    summary = tasks.ingest_files(feed, files, run_id)
    if transform:
        tasks.rebuild(tasks.plan_families([]))
    return summary


#: Five weeks of generated feeds whose landing files cover a month end and a month of incubator reports.
FIVE_WEEKS = (dt.date(2025, 2, 3), dt.date(2025, 3, 9))
FEEDS = ("registrations", "visits", "incubator_reports", "manual_statistics")


def generate_landing(root: Path, first: dt.date, last: dt.date) -> Path:
    """Every feed's sample landing files for deliveries ``first``..``last`` (the generator's CLI, default seed)."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "parkops_tools.generator", "all", "--landing", str(root)]
    command += ["--from", first.isoformat(), "--to", last.isoformat()]
    subprocess.run(command, check=True, capture_output=True, cwd=Path(__file__).resolve().parents[2])
    return root


#: Who releases the sample's held batches in :func:`load_feeds` (kept in ops.quality_gate_log).
SAMPLE_RELEASER = "tests"


def load_feeds(
    url: str,
    landing: Path,
    first: dt.date,
    last: dt.date,
    *,
    feeds: tuple[str, ...] = FEEDS,
    rebuild: bool = True,
    release_held: bool = True,
) -> list[tuple[str, str]]:
    """Each feed's ingest task callables against ``url``, then (``rebuild``) one rebuild of everything.

    The generated sample plants whole-file defects, so the quality gate holds a delivery now and
    then (the five weeks: registrations 2025-03-01). With ``release_held`` those batches are
    released before the rebuild, as the on-call engineer would after reading the alert, so the
    marts hold every valid row, which is what the independent recomputations count. Returns the
    (feed, delivery date) of the batches released.
    """
    import pytest

    released: list[tuple[str, str]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PARKOPS_WAREHOUSE_URL", url)
        patch.setenv("PARKOPS_LANDING_DIR", str(landing))
        for feed in feeds:
            summary = run_pipeline(f"run-{feed}", first, last, transform=False, feed=feed)
            if release_held:
                for batch in summary["held"]:
                    tasks.release_or_rerun(
                        feed,
                        batch["delivery_date"],
                        "release",
                        SAMPLE_RELEASER,
                        "sample data's planted defects",
                        f"release-{feed}",
                    )
                    released.append((feed, batch["delivery_date"]))
        if rebuild:
            tasks.rebuild(tasks.plan_families([]))
    return released


@contextmanager
def connect(url: str) -> Iterator[sa.Connection]:
    engine = create_warehouse_engine(url)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def rows(url: str, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with connect(url) as connection:
        return [dict(row._mapping) for row in connection.execute(sa.text(query), params or {})]


def scalar(url: str, query: str, params: dict[str, Any] | None = None) -> Any:
    with connect(url) as connection:
        return connection.execute(sa.text(query), params or {}).scalar_one()


def _sort_key(row: tuple[Any, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple((value is None, repr(value)) for value in row)


#: Logs that grow with every run by design (each rebuild notes what it saw): not state a rerun keeps.
RUN_LOG_TABLES = frozenset({"ops.mart_builds"})


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table and view of the pipeline's schemas (but the run logs), as sorted tuples."""
    with connect(url) as connection:
        tables = connection.execute(
            sa.text(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema in ('raw', 'staging', 'core', 'mart', 'ops') order by 1, 2"
            )
        ).all()
        content: dict[str, list[tuple[Any, ...]]] = {}
        for schema, table in tables:
            if f"{schema}.{table}" in RUN_LOG_TABLES:
                continue
            result = connection.execute(sa.text(f'select * from "{schema}"."{table}"'))
            content[f"{schema}.{table}"] = sorted((tuple(row) for row in result), key=_sort_key)
    return content


def snapshot_diff(before: dict[str, list[tuple]], after: dict[str, list[tuple]], limit: int = 5) -> list[str]:
    """Human-readable differences between two snapshots (empty when identical)."""
    lines = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, []), after.get(table, [])
        if old == new:
            continue
        gone = [row for row in old if row not in new][:limit]
        added = [row for row in new if row not in old][:limit]
        lines.append(f"{table}: {len(old)} -> {len(new)} rows; gone {gone}; added {added}")
    return lines


def _same_value(text: str, value: Any) -> bool:
    if value is None:
        return text == ""
    if isinstance(value, bool):
        return text == ("true" if value else "false")
    if isinstance(value, Decimal | int | float):
        return text != "" and Decimal(text) == Decimal(str(value))
    if isinstance(value, dt.date):
        return text != "" and dt.date.fromisoformat(text) == value
    return text == value


def dims_versus_seeds(url: str, seeds_dir: Path | None = None) -> list[str]:
    """Differences between core.dim_* and the seed CSVs (read with the csv module); empty if equal."""
    problems: list[str] = []
    for seed, (table, key) in SEED_TABLES.items():
        expected = {row[key]: row for row in read_seed_csv(seed, seeds_dir)}
        actual = {row[key]: row for row in rows(url, f"select * from core.{table}")}
        if set(expected) != set(actual):
            problems.append(f"core.{table} keys differ: {sorted(set(expected) ^ set(actual))[:10]}")
            continue
        for code, seed_row in expected.items():
            for column, text in seed_row.items():
                if not _same_value(text, actual[code].get(column)):
                    problems.append(f"core.{table}[{code}].{column} = {actual[code].get(column)!r}, seed has {text!r}")
        if table == "dim_park":
            for code, seed_row in expected.items():
                count = len([part for part in seed_row["leading_industries"].split(";") if part.strip()])
                if actual[code]["leading_industry_count"] != count:
                    problems.append(f"core.dim_park[{code}].leading_industry_count != {count}")
    return problems
