"""
### 数据集市 — core and mart rebuild, data-aware

Rebuilds ``core`` (facts and dimensions) and ``mart`` (the analysts' tables and
``mart.kpi_target_progress``) when a feed's staging tables were updated: the DAG is scheduled on
the assets ``parkops://staging/<feed>`` that the ingest DAGs update, not on a clock. The first
task reads the triggering asset events and rebuilds only the families whose inputs changed (an
ingest run that found nothing new asks for nothing); a manual run rebuilds everything.

The rebuild runs in **one transaction** (on PostgreSQL at REPEATABLE READ), so every core and
mart table is computed from the same snapshot of staging, and readers see the old marts or the
new ones, never a mix. On success it updates the asset ``parkops://mart/all``, which report DAGs
wait for. Definitions: ``docs/measures.md``; tables: ``docs/warehouse.md``.

Then it builds the Great Expectations **Data Docs** (``build_data_docs``): the suites and the
validation results of each feed's latest 30 runs, counts only (no row values), served in the UI
at ``/parkops/data-docs/`` (folder ``PARKOPS_DATA_DOCS_DIR``, default ``data/data_docs``).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, AssetAny, dag, task

from parkops.assets import MARTS_ASSET_URI
from parkops.dag_factory import DEFAULT_ARGS, WAREHOUSE_WRITER_POOL, ops_links
from parkops.feeds import FEEDS


@dag(
    dag_id="build_marts",
    schedule=AssetAny(*(Asset(each.asset_uri) for each in FEEDS)),
    start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["parkops", "mart"],
    doc_md=__doc__ + ops_links(),
)
def build_marts():
    @task
    def plan_rebuild(**context) -> list[str]:
        from parkops.pipeline import tasks

        events = [
            (getattr(asset, "uri", str(asset)), dict(event.extra or {}))
            for asset, asset_events in (context.get("triggering_asset_events") or {}).items()
            for event in asset_events
        ]
        return tasks.plan_families(events)

    @task(pool=WAREHOUSE_WRITER_POOL, outlets=[Asset(MARTS_ASSET_URI)])
    def rebuild(families: list[str]) -> dict[str, int]:
        from airflow.sdk.exceptions import AirflowSkipException

        from parkops.pipeline import tasks

        if not families:
            raise AirflowSkipException("no feed changed: the marts are up to date")
        return tasks.rebuild(families)

    @task(pool=WAREHOUSE_WRITER_POOL)
    def build_data_docs() -> str:
        # Every load that validated files triggers a rebuild; skipped with it when nothing changed.
        # In the pool: the site is read from the warehouse, which DuckDB refuses while a writer works.
        from parkops.pipeline import tasks

        return tasks.build_data_docs()

    rebuild(plan_rebuild()) >> build_data_docs()


build_marts()
