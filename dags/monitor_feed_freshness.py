"""
### 数据到达监控 — feed freshness monitor

Every 30 minutes, checks that each feed's latest due delivery has arrived and loaded, by the
deadlines of ``config/operations.yaml`` (section ``freshness``, Asia/Shanghai): 企业登记 of
day D by 09:00 on D + 1, 走访记录 by 10:00 on D + 1, incubator reports of month M by the 10th of
M + 1 at 23:59; what arrived must then be loaded within ``load_grace_minutes`` (the ingest DAGs
run after those deadlines). A missed deadline opens an incident in ``ops.feed_incidents`` and alerts the data
engineers once (e-mail and group robots, section ``alerts``): what is missing, and what there is
(files landed but not loaded, files rejected, nothing landed, the latest delivery loaded). While
the feed stays late, later checks send nothing; the check that finds it caught up closes the
incident and sends one recovery alert saying how late it was. Rules and incident model:
``parkops.ops.freshness``; ``python -m parkops.cli health`` shows the open incidents.

**Why a monitoring DAG, not Airflow deadline alerts**: a deadline alert fires when a DAG *run*
has not finished by a time; the deadline here is about *data arriving*, which no run's duration
measures. An ingest run that finds no delivery folder succeeds on time (a missing folder is not
its error), one whose only file is rejected succeeds too, and a late delivery is often loaded by
a manual catch-up run rather than the scheduled one. The monitor instead checks the warehouse's
own record of loads (``ops.file_audit``) against the deadlines, and keeps incidents as data, so
"alerted once", "recovered" and "how late" survive retries and restarts and can be queried.

**Schedule**: ``*/30 * * * *`` Asia/Shanghai (a point-in-time check, ``CronTriggerTimetable``);
no catch-up: a missed check is made up by the next one. **Check time**: the run's logical
(scheduled) time, so a retry judges the same moment and ``airflow dags test
monitor_feed_freshness 2025-03-11T09:30:00+08:00`` checks as of that time; the param
``check_at`` (``YYYY-MM-DDTHH:MM``, Asia/Shanghai) overrides it for a manual run; a manual run
without a logical date checks as of its trigger time. The task writes ``ops.feed_incidents``, so
it takes the ``warehouse_writer`` pool (DuckDB admits one writer process). An alert that could
not be delivered fails the run without retrying; the next check sends it again.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, task

from parkops.dag_factory import DEFAULT_ARGS, WAREHOUSE_WRITER_POOL, ops_links


@dag(
    dag_id="monitor_feed_freshness",
    schedule=CronTriggerTimetable("*/30 * * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "check_at": Param(
            None,
            type=["null", "string"],
            description="Check as of this time (YYYY-MM-DDTHH:MM, Asia/Shanghai); empty: the run's logical time",
        )
    },
    tags=["parkops", "ops"],
    doc_md=__doc__ + ops_links(),
)
def monitor_feed_freshness():
    @task(pool=WAREHOUSE_WRITER_POOL)
    def check_freshness(**context) -> dict[str, object]:
        from parkops.ops.freshness.monitor import run_monitor
        from parkops.pipeline.errors import retry_only_transient

        dag_run = context.get("dag_run")
        scheduled_at = context.get("logical_date") or getattr(dag_run, "run_after", None)
        return retry_only_transient(run_monitor)(context["params"].get("check_at"), scheduled_at)

    check_freshness()


monitor_feed_freshness()
