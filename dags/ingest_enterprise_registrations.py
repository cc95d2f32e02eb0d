"""
### 企业登记事件 — enterprise registrations

Ingests the market-supervision registry's daily extract (``<landing>/registrations/<YYYY-MM-DD>/``,
CSV in UTF-8 or GB18030, or XLSX), validates every row with the Great Expectations suite
``expectations/registrations.json``, quarantines failing rows in ``ops.quarantine`` with file,
row, column, value and reason, loads valid rows to ``raw`` and ``staging`` with lineage, and
rebuilds ``core.fct_registration_events``, ``core.dim_enterprise`` (SCD2) and the marts
``mart.daily_new_tech_enterprises``, ``mart.new_tech_per_day_windows`` and
``mart.kpi_target_progress``.

**Schedule**: daily at 10:00 Asia/Shanghai; the run covers the delivery day of its data
interval's end (the extract is due by 09:00). **Catch-up**: trigger one run with params
``delivery_from`` and ``delivery_to`` (inclusive): a year is one run, not 365.

Reruns are idempotent: a file version already loaded is skipped, the same bytes under another
name are loaded once, a corrected file (same name, new bytes) replaces the older version.
Every file's accounting (received = loaded + quarantined) is in ``ops.file_audit``.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, Param, dag, task

WAREHOUSE_WRITER_POOL = "warehouse_writer"


@dag(
    dag_id="ingest_enterprise_registrations",
    schedule=CronDataIntervalTimetable("0 10 * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "data-platform",
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=2),
        "retry_exponential_backoff": True,
    },
    params={
        "delivery_from": Param(
            None,
            type=["null", "string"],
            format="date",
            description="First delivery day to load (YYYY-MM-DD); empty: the data interval's",
        ),
        "delivery_to": Param(
            None,
            type=["null", "string"],
            format="date",
            description="Last delivery day to load, inclusive (YYYY-MM-DD)",
        ),
    },
    tags=["parkops", "ingest", "registrations"],
    doc_md=__doc__,
)
def ingest_enterprise_registrations():
    @task
    def resolve_delivery_range(**context) -> dict[str, str]:
        from parkops.pipeline import registrations

        params = context["params"]
        return registrations.resolve_delivery_range(
            params.get("delivery_from"),
            params.get("delivery_to"),
            context.get("data_interval_start"),
            context.get("data_interval_end"),
        )

    @task(pool=WAREHOUSE_WRITER_POOL)
    def load_reference_data() -> dict[str, int]:
        from parkops.pipeline import registrations

        return registrations.load_reference_data()

    @task
    def discover_files(delivery_range: dict[str, str]) -> list[dict]:
        from parkops.pipeline import registrations

        return registrations.discover_files(delivery_range)

    @task(pool=WAREHOUSE_WRITER_POOL)
    def ingest_files(files: list[dict], **context) -> dict[str, object]:
        from parkops.pipeline import registrations

        return registrations.ingest_files(files, context["run_id"])

    @task(pool=WAREHOUSE_WRITER_POOL)
    def build_core() -> dict[str, int]:
        from parkops.pipeline import registrations

        return registrations.build_core()

    @task(pool=WAREHOUSE_WRITER_POOL, outlets=[Asset("parkops://mart/registrations")])
    def build_marts() -> dict[str, int]:
        from parkops.pipeline import registrations

        return registrations.build_marts()

    files = discover_files(resolve_delivery_range())
    loaded = ingest_files(files)
    load_reference_data() >> loaded
    loaded >> build_core() >> build_marts()


ingest_enterprise_registrations()
