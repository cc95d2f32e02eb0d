"""The one shape of every ingest DAG, so each DAG file states only what differs (feed, schedule, docs).

Imported at DAG parse time: only ``airflow.sdk``, ``pendulum``, ``parkops.feeds`` and
``parkops.ops.notifier`` (which reads its configuration only when a task fails); every task
imports its callables from ``parkops.pipeline.tasks`` when it runs.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, Param, dag, task

from parkops.feeds import Feed
from parkops.ops.notifier import failure_callbacks

WAREHOUSE_WRITER_POOL = "warehouse_writer"
OWNER = "data-platform"

DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=2),
    "retry_exponential_backoff": True,
    # Once a task has failed for good (data errors at once, transient ones after the retries):
    # alert the data engineers by e-mail and chat robot (config/operations.yaml, section alerts).
    "on_failure_callback": failure_callbacks(),
}


def ops_links(feed_name: str | None = None) -> str:
    """Markdown links to the parkops UI plugin's pages (served by the api-server under /parkops)."""
    quarantine = f"/parkops/quarantine?feed={feed_name}" if feed_name else "/parkops/quarantine"
    return (
        "\n\n**Operations**: [pipeline health](/parkops/health) · "
        f"[quarantined rows]({quarantine}) · [Data Docs](/parkops/data-docs/) · "
        "a batch held by the quality gate: [release or rerun it](/dags/release_held_batch) · "
        'alerts and runbook: README, "Operations" and "Runbook: a held batch".\n'
    )


def delivery_params(unit: str) -> dict[str, Param]:
    return {
        "delivery_from": Param(
            None,
            type=["null", "string"],
            description=f"First delivery {unit} to load; empty: the data interval's",
        ),
        "delivery_to": Param(None, type=["null", "string"], description=f"Last delivery {unit} to load, inclusive"),
    }


def quality_gate_outcome(feed_name: str, summary: dict[str, object]) -> dict[str, int]:
    """``tasks.check_quality_gate`` as a task: held batches fail as a data error (no retry), and
    the failure alert carries the batches' details (``alert_lines``)."""
    from airflow.sdk.exceptions import AirflowFailException

    from parkops.pipeline import tasks

    try:
        return tasks.check_quality_gate(feed_name, summary)
    except tasks.QualityGateHeld as held:
        failure = AirflowFailException(str(held))
        failure.alert_lines = held.alert_lines
        raise failure from held


#: What ``delivery_from``/``delivery_to`` take, per cadence.
DELIVERY_UNITS = {"daily": "day (YYYY-MM-DD)", "monthly": "month (YYYY-MM) or day (YYYY-MM-DD)"}


def ingest_dag(feed: Feed, *, doc_md: str, catchup: bool = False) -> DAG:
    """resolve range, reference data (DDL) -> discover -> ingest, updating the feed's staging asset.

    DAG id, schedule (Asia/Shanghai) and tags are the feed's (``parkops.feeds``).
    """
    feed_name = feed.name
    feed_asset = Asset(feed.asset_uri)

    @dag(
        dag_id=feed.dag_id,
        schedule=CronDataIntervalTimetable(feed.schedule, timezone="Asia/Shanghai"),
        start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Shanghai"),
        catchup=catchup,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        params=delivery_params(DELIVERY_UNITS[feed.cadence]),
        tags=list(feed.tags),
        doc_md=doc_md + ops_links(feed_name),
    )
    def ingest():
        @task
        def resolve_delivery_range(**context) -> dict[str, str]:
            from parkops.pipeline import tasks

            params = context["params"]
            return tasks.resolve_delivery_range(
                params.get("delivery_from"),
                params.get("delivery_to"),
                context.get("data_interval_start"),
                context.get("data_interval_end"),
            )

        @task(pool=WAREHOUSE_WRITER_POOL)
        def load_reference_data() -> dict[str, int]:
            from parkops.pipeline import tasks

            return tasks.load_reference_data()

        # Reads and records ops.unsettled_files (files not completely uploaded yet): a writer.
        @task(pool=WAREHOUSE_WRITER_POOL)
        def discover_files(delivery_range: dict[str, str]) -> list[dict]:
            from parkops.pipeline import tasks

            return tasks.discover_files(feed_name, delivery_range)

        @task(pool=WAREHOUSE_WRITER_POOL, outlets=[feed_asset])
        def ingest_files(files: list[dict], **context) -> dict[str, object]:
            from parkops.pipeline import tasks

            summary = tasks.ingest_files(feed_name, files, context["run_id"])
            # build_marts reads this to skip a rebuild when nothing changed.
            context["outlet_events"][feed_asset].extra = {
                "changed": tasks.feed_changed(summary),
                "files_loaded": summary["files_loaded"],
                "rows_loaded": summary["rows_loaded"],
                "rows_quarantined": summary["rows_quarantined"],
                "batches_held": len(summary["held"]),
            }
            return summary

        @task
        def check_quality_gate(summary: dict[str, object]) -> dict[str, int]:
            # After the asset event: the published batches of the run go on to build_marts
            # while a held one fails the run (no retry) and alerts, with its failing rules.
            return quality_gate_outcome(feed_name, summary)

        reference = load_reference_data()
        files = discover_files(resolve_delivery_range())
        # Discovery after the DDL: on a new warehouse it records into ops.unsettled_files.
        reference >> files
        loaded = ingest_files(files)
        reference >> loaded
        check_quality_gate(loaded)

    return ingest()


def report_dag(*, dag_id: str, kind: str, doc_md: str, tags: list[str], catchup: bool = False) -> DAG:
    """wait_for_data (sensor, reschedule mode) -> send_report, on the schedule of config/reports.yaml.

    Both tasks read the warehouse, so they take the ``warehouse_writer`` pool too: DuckDB refuses
    a reader process while another process writes (the slot is free between the sensor's pokes).
    """
    from parkops.report.settings import report_timing

    cron, poke_minutes = report_timing(kind)

    @dag(
        dag_id=dag_id,
        schedule=CronDataIntervalTimetable(cron, timezone="Asia/Shanghai"),
        start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Shanghai"),
        catchup=catchup,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        params={
            "period": Param(
                None,
                type=["null", "string"],
                description="Report period to (re)send, e.g. 2025-W10 or 2025-03; empty: the one before the run",
            )
        },
        tags=tags,
        doc_md=doc_md + ops_links(),
    )
    def report():
        @task.sensor(
            poke_interval=dt.timedelta(minutes=poke_minutes),
            mode="reschedule",
            # A backstop only: the callable fails at the configured deadline, after alerting.
            timeout=dt.timedelta(days=31),
            pool=WAREHOUSE_WRITER_POOL,
        )
        def wait_for_data(**context):
            from airflow.sdk import PokeReturnValue
            from airflow.sdk.exceptions import AirflowFailException

            from parkops.report import tasks

            try:
                done, readiness = tasks.poke_readiness(
                    kind,
                    context["params"].get("period"),
                    context.get("data_interval_end"),
                )
            except tasks.ReportNotReady as error:
                # Stale or failed data is not transient: no retry; the failure alert says why, once.
                raise AirflowFailException(str(error)) from error
            return PokeReturnValue(is_done=done, xcom_value=readiness)

        @task(pool=WAREHOUSE_WRITER_POOL)
        def send_report(readiness: dict, **context) -> str:
            from airflow.sdk.exceptions import AirflowFailException

            from parkops.report import tasks

            try:
                return tasks.send_report(
                    kind,
                    readiness["period"],
                    run_id=context["run_id"],
                )
            except tasks.ReportNotReady as error:
                raise AirflowFailException(str(error)) from error

        send_report(wait_for_data())

    return report()
